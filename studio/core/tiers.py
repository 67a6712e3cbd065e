"""Tiers: named, evented, time-ordered collections of annotations.

- `IntervalTier`: intervals sorted by start; they may not overlap unless the tier says
  `allow_overlap=True` (subtitle tracks and label tracks can overlap, ELAN/Praat tiers cannot).
  An optional `parent` names the tier it refines (utterance > word > phone).
- `PointTier`: points sorted by time.
- `CurveTier`: sampled values (a model's confidence, pitch, ...) on a uniform rate or explicit times.

Every tier has a `vocabulary` (name of a controlled vocabulary in the session, or None) and free
`attrs` (format-specific facts such as ELAN's linguistic type or participant, kept for round trips).

Views subscribe to the psygnal signals; edits should go through `studio.core.commands` so they
can be undone. The tier methods here are the primitive operations those commands use.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from psygnal import Signal

from .annotations import Interval, Point, check_time

__all__ = ["Tier", "IntervalTier", "PointTier", "CurveTier"]


class Tier:
    """Common part of all tiers."""

    kind: ClassVar[str] = "tier"

    #: (tier, old_name)
    renamed = Signal(object, str)
    #: (tier, key) — parent, vocabulary or attrs changed
    changed = Signal(object, str)

    def __init__(
        self,
        name: str,
        *,
        parent: str | None = None,
        vocabulary: str | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"tier name must be a non-empty string, got {name!r}")
        self._name = name
        self.parent = parent
        self.vocabulary = vocabulary
        self.attrs: dict[str, Any] = dict(attrs or {})

    @property
    def name(self) -> str:
        return self._name

    def _set_name(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"tier name must be a non-empty string, got {name!r}")
        old, self._name = self._name, name
        self.renamed.emit(self, old)

    def time_range(self) -> tuple[float, float] | None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} items)"


class _AnnotationTier(Tier):
    """Shared machinery for interval and point tiers: a sorted list plus an id index."""

    _item_type: ClassVar[type]

    #: (tier, index, annotation)
    inserted = Signal(object, int, object)
    #: (tier, index, annotation)
    removed = Signal(object, int, object)
    #: (tier, index, old, new)
    replaced = Signal(object, int, object, object)

    def __init__(self, name: str, items: Iterable[Any] = (), **kw: Any) -> None:
        super().__init__(name, **kw)
        self._items: list[Any] = []
        self._keys: list[tuple[float, float]] = []
        self._by_id: dict[str, Any] = {}
        self._bulk_load(items)

    # --- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __getitem__(self, i: int) -> Any:
        return self._items[i]

    @property
    def items(self) -> Sequence[Any]:
        """The annotations in time order (a read-only view; do not modify)."""
        return tuple(self._items)

    def get(self, annotation_id: str) -> Any:
        """The annotation with this id; KeyError naming the tier if there is none."""
        try:
            return self._by_id[annotation_id]
        except KeyError:
            raise KeyError(f"tier {self.name!r} has no annotation with id {annotation_id!r}") from None

    def __contains__(self, annotation: object) -> bool:
        aid = getattr(annotation, "id", annotation)
        return aid in self._by_id

    def index(self, annotation: Any) -> int:
        """Position of an annotation (or annotation id) in the tier."""
        ann = self._by_id.get(getattr(annotation, "id", annotation))
        if ann is None:
            raise KeyError(f"tier {self.name!r} has no annotation {annotation!r}")
        key = self._key(ann)
        i = bisect.bisect_left(self._keys, key)
        while i < len(self._items) and self._items[i] is not ann:
            i += 1
        if i == len(self._items):  # pragma: no cover - index and list disagree
            raise RuntimeError(f"tier {self.name!r}: index out of sync")
        return i

    def time_range(self) -> tuple[float, float] | None:
        if not self._items:
            return None
        return (
            self._items[0].start,
            max(a.end for a in self._items) if self._overlapping() else self._items[-1].end,
        )

    def _overlapping(self) -> bool:
        return False

    def in_range(self, t0: float, t1: float) -> list[Any]:
        """Annotations that touch [t0, t1]."""
        if self._overlapping():
            return [a for a in self._items if a.end >= t0 and a.start <= t1]
        i = bisect.bisect_left(self._keys, (t0, -math.inf))
        if i > 0 and self._items[i - 1].end >= t0:
            i -= 1
        j = bisect.bisect_right(self._keys, (t1, math.inf))
        return self._items[i:j]

    # --- primitive edits (used by commands) ----------------------------------------------
    def _key(self, ann: Any) -> tuple[float, float]:
        return (ann.start, ann.end)

    def _check_type(self, ann: Any) -> None:
        if not isinstance(ann, self._item_type):
            raise TypeError(f"tier {self.name!r} holds {self._item_type.__name__}s, not {type(ann).__name__}")

    def _check_fits(self, ann: Any, i: int, ignore: Any = None) -> None:
        """Raise if `ann` inserted at position i breaks the tier's rules."""

    def insert(self, ann: Any) -> int:
        """Insert an annotation at its place in time; returns its index."""
        self._check_type(ann)
        if ann.id in self._by_id:
            raise ValueError(f"tier {self.name!r} already has an annotation with id {ann.id!r}")
        key = self._key(ann)
        i = bisect.bisect_right(self._keys, key)
        self._check_fits(ann, i)
        self._items.insert(i, ann)
        self._keys.insert(i, key)
        self._by_id[ann.id] = ann
        self.inserted.emit(self, i, ann)
        return i

    def remove(self, annotation: Any) -> tuple[int, Any]:
        """Remove an annotation (or id); returns (index it had, the annotation)."""
        i = self.index(annotation)
        ann = self._items.pop(i)
        del self._keys[i]
        del self._by_id[ann.id]
        self.removed.emit(self, i, ann)
        return i, ann

    def replace(self, old: Any, new: Any) -> int:
        """Put `new` in place of `old` (same id or not); re-sorts if the time changed."""
        self._check_type(new)
        i = self.index(old)
        old = self._items[i]
        if new.id != old.id and new.id in self._by_id:
            raise ValueError(f"tier {self.name!r} already has an annotation with id {new.id!r}")
        key = self._key(new)
        if key == self._keys[i]:
            self._items[i] = new
            del self._by_id[old.id]
            self._by_id[new.id] = new
            self.replaced.emit(self, i, old, new)
            return i
        # Check where it would land with the old one taken out, before changing anything.
        del self._items[i]
        del self._keys[i]
        j = bisect.bisect_right(self._keys, key)
        try:
            self._check_fits(new, j)
        except ValueError:
            self._items.insert(i, old)
            self._keys.insert(i, self._key(old))
            raise
        self._items.insert(j, new)
        self._keys.insert(j, key)
        del self._by_id[old.id]
        self._by_id[new.id] = new
        if i == j:
            self.replaced.emit(self, i, old, new)
        else:
            self.removed.emit(self, i, old)
            self.inserted.emit(self, j, new)
        return j

    def _bulk_load(self, items: Iterable[Any]) -> None:
        items = list(items)
        for a in items:
            self._check_type(a)
        items.sort(key=self._key)
        self._validate_sorted(items)
        by_id: dict[str, Any] = {}
        for a in items:
            if a.id in by_id:
                raise ValueError(f"tier {self.name!r}: two annotations share the id {a.id!r}")
            by_id[a.id] = a
        self._items = items
        self._keys = [self._key(a) for a in items]
        self._by_id = by_id

    def _validate_sorted(self, items: list[Any]) -> None:
        pass


class IntervalTier(_AnnotationTier):
    """Intervals in time order; non-overlapping unless `allow_overlap` (True, or "auto": only if the
    intervals given at construction overlap)."""

    kind = "interval"
    _item_type = Interval

    def __init__(
        self,
        name: str,
        intervals: Iterable[Interval] = (),
        *,
        parent: str | None = None,
        vocabulary: str | None = None,
        attrs: dict[str, Any] | None = None,
        allow_overlap: bool | str = False,
    ) -> None:
        # "auto": allow overlap only if the given intervals overlap (readers of formats that
        # may or may not overlap, e.g. RTTM turns, use it).
        if allow_overlap != "auto":
            allow_overlap = bool(allow_overlap)
        self.allow_overlap = allow_overlap
        super().__init__(name, intervals, parent=parent, vocabulary=vocabulary, attrs=attrs)

    def _overlapping(self) -> bool:
        return self.allow_overlap

    def _validate_sorted(self, items: list[Interval]) -> None:
        if self.allow_overlap == "auto":
            self.allow_overlap = any(b.start < a.end for a, b in zip(items, items[1:]))
        if self.allow_overlap:
            return
        for a, b in zip(items, items[1:]):
            if b.start < a.end:
                raise ValueError(
                    f"tier {self.name!r}: interval {b.label!r} [{b.start:.6f}, {b.end:.6f}] overlaps "
                    f"{a.label!r} [{a.start:.6f}, {a.end:.6f}]"
                )

    def _check_fits(self, ann: Interval, i: int, ignore: Any = None) -> None:
        if self.allow_overlap:
            return
        items = self._items
        if i > 0 and items[i - 1].end > ann.start:
            p = items[i - 1]
            raise ValueError(
                f"tier {self.name!r}: interval {ann.label!r} [{ann.start:.6f}, {ann.end:.6f}] overlaps "
                f"{p.label!r} [{p.start:.6f}, {p.end:.6f}]"
            )
        if i < len(items) and items[i].start < ann.end:
            n = items[i]
            raise ValueError(
                f"tier {self.name!r}: interval {ann.label!r} [{ann.start:.6f}, {ann.end:.6f}] overlaps "
                f"{n.label!r} [{n.start:.6f}, {n.end:.6f}]"
            )

    def at(self, t: float) -> Interval | None:
        """The interval that contains time t (the first one, if the tier overlaps)."""
        if self.allow_overlap:
            return next((a for a in self._items if a.start <= t < a.end), None)
        i = bisect.bisect_right(self._keys, (t, math.inf)) - 1
        if i >= 0 and self._items[i].start <= t < self._items[i].end:
            return self._items[i]
        return None

    def neighbours(self, ann: Interval) -> tuple[Interval | None, Interval | None]:
        i = self.index(ann)
        return (
            self._items[i - 1] if i > 0 else None,
            self._items[i + 1] if i + 1 < len(self._items) else None,
        )

    def boundaries(self) -> np.ndarray:
        """All distinct start and end times, sorted (for snapping)."""
        if not self._items:
            return np.empty(0)
        arr = np.asarray(self._keys, dtype=float).ravel()
        return np.unique(arr)


class PointTier(_AnnotationTier):
    """Points in time order."""

    kind = "point"
    _item_type = Point

    def __init__(
        self,
        name: str,
        points: Iterable[Point] = (),
        *,
        parent: str | None = None,
        vocabulary: str | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name, points, parent=parent, vocabulary=vocabulary, attrs=attrs)

    def _key(self, ann: Point) -> tuple[float, float]:
        return (ann.time, ann.time)

    def at(self, t: float, tolerance: float = 0.0) -> Point | None:
        """The point nearest to t within `tolerance` seconds."""
        i = bisect.bisect_left(self._keys, (t, t))
        best = None
        for j in (i - 1, i):
            if 0 <= j < len(self._items):
                d = abs(self._items[j].time - t)
                if d <= tolerance and (best is None or d < abs(best.time - t)):
                    best = self._items[j]
        return best

    def boundaries(self) -> np.ndarray:
        return np.asarray([k[0] for k in self._keys], dtype=float)


class CurveTier(Tier):
    """Sampled values over time: either `rate` (Hz) and `start`, or explicit `times`.

    `values` is (n,) or (n, channels), float. NaN marks a gap (e.g. unvoiced pitch).
    """

    kind = "curve"

    #: (tier,)
    values_changed = Signal(object)

    def __init__(
        self,
        name: str,
        values: Any,
        *,
        rate: float | None = None,
        start: float = 0.0,
        times: Any = None,
        unit: str = "",
        parent: str | None = None,
        vocabulary: str | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name, parent=parent, vocabulary=vocabulary, attrs=attrs)
        self.unit = unit
        self._set(values, rate=rate, start=start, times=times)

    def _set(self, values: Any, *, rate: float | None, start: float, times: Any) -> None:
        vals = np.asarray(values, dtype=float)
        if vals.ndim not in (1, 2):
            raise ValueError(f"tier {self.name!r}: curve values must be 1-D or 2-D, got shape {vals.shape}")
        if (rate is None) == (times is None):
            raise ValueError(f"tier {self.name!r}: give either a sample rate or a time per sample")
        if rate is not None:
            rate = check_time(rate, "rate", f"tier {self.name!r}: ")
            if rate <= 0:
                raise ValueError(f"tier {self.name!r}: sample rate must be positive, got {rate}")
            self.rate: float | None = rate
            self.start = check_time(start, "start", f"tier {self.name!r}: ")
            self._times = None
        else:
            t = np.asarray(times, dtype=float)
            if t.shape != (vals.shape[0],):
                raise ValueError(
                    f"tier {self.name!r}: {t.size} times for {vals.shape[0]} samples; they must match"
                )
            if not np.all(np.isfinite(t)):
                raise ValueError(f"tier {self.name!r}: sample times must be finite")
            if t.size > 1 and np.any(np.diff(t) <= 0):
                k = int(np.argmax(np.diff(t) <= 0))
                raise ValueError(
                    f"tier {self.name!r}: sample times must increase (sample {k + 1} at {t[k + 1]:.6f} s "
                    f"follows {t[k]:.6f} s)"
                )
            self.rate = None
            self.start = float(t[0]) if t.size else 0.0
            self._times = t
        self._values = vals

    @property
    def values(self) -> np.ndarray:
        v = self._values.view()
        v.flags.writeable = False
        return v

    @property
    def times(self) -> np.ndarray:
        if self._times is not None:
            t = self._times.view()
        else:
            t = self.start + np.arange(self._values.shape[0]) / self.rate
        t.flags.writeable = False
        return t

    def __len__(self) -> int:
        return int(self._values.shape[0])

    def time_range(self) -> tuple[float, float] | None:
        if len(self) == 0:
            return None
        t = self.times
        end = t[-1] + (1.0 / self.rate if self.rate else 0.0)
        return (float(t[0]), float(end))

    def value_at(self, t: float) -> np.ndarray | float:
        """Linear interpolation (NaN outside the sampled range)."""
        ts = self.times
        if self._values.ndim == 1:
            return float(np.interp(t, ts, self._values, left=np.nan, right=np.nan))
        return np.array([np.interp(t, ts, c, left=np.nan, right=np.nan) for c in self._values.T])

    def _replace_values(self, values: Any, *, rate: float | None, start: float, times: Any) -> None:
        self._set(values, rate=rate, start=start, times=times)
        self.values_changed.emit(self)

    def state(self) -> dict[str, Any]:
        return {
            "values": self._values.copy(),
            "rate": self.rate,
            "start": self.start,
            "times": None if self._times is None else self._times.copy(),
        }
