"""The session: what a user has open — media, tiers, vocabularies, alignments and metadata.

Everything here is plain Python (no Qt). The window, the aligners and the models share one
`Session`; views subscribe to its signals and to its tiers' signals, and change it through
commands on `session.undo_stack` (see `studio.core.commands`).

Times are seconds everywhere. A media stream's `offset` maps its own time onto session time:
``session_time = media_time + offset``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal

from .tiers import CurveTier, IntervalTier, PointTier, Tier
from .undo import UndoStack

__all__ = [
    "MediaRef",
    "VocabularyEntry",
    "ControlledVocabulary",
    "WarpPath",
    "media_time_of",
    "session_time_of",
    "Alignment",
    "Session",
]

MEDIA_KINDS = ("audio", "video", "other")


class WarpPath:
    """A monotonic map between two time bases (e.g. two streams aligned by DTW).

    `pairs` is a (k, 2) array of (source_time, target_time), non-decreasing in both columns.
    """

    def __init__(self, pairs: Any, source: str = "", target: str = "") -> None:
        p = np.asarray(pairs, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 1:
            raise ValueError(f"warp path {source!r}->{target!r}: pairs must be a (k, 2) array, got {p.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError(f"warp path {source!r}->{target!r}: times must be finite")
        d = np.diff(p, axis=0)
        if np.any(d < 0):
            k = int(np.argmax(np.any(d < 0, axis=1)))
            raise ValueError(
                f"warp path {source!r}->{target!r}: not monotonic at pair {k + 1} "
                f"({p[k].tolist()} -> {p[k + 1].tolist()})"
            )
        self.pairs = p
        self.source = source
        self.target = target
        self._fwd: tuple[np.ndarray, np.ndarray] | None = None  # knots of map / inverse_map, made once
        self._inv: tuple[np.ndarray, np.ndarray] | None = None

    def map(self, t: Any) -> Any:
        """Source time(s) -> target time(s), linear between pairs, extrapolated with slope 1."""
        if self._fwd is None:
            self._fwd = self._knots(self.pairs[:, 0], self.pairs[:, 1])
        return self._interp(t, *self._fwd)

    def inverse_map(self, t: Any) -> Any:
        if self._inv is None:
            self._inv = self._knots(self.pairs[:, 1], self.pairs[:, 0])
        return self._interp(t, *self._inv)

    @staticmethod
    def _knots(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Where x repeats (a vertical step of the path), np.interp takes the last y; use the mean
        # of the run instead so the map sits in the middle of the step.
        ux, inv = np.unique(x, return_inverse=True)
        uy = np.bincount(inv, weights=y) / np.bincount(inv)
        return ux, uy

    @staticmethod
    def _interp(t: Any, ux: np.ndarray, uy: np.ndarray) -> Any:
        t_arr = np.asarray(t, dtype=float)
        out = np.interp(t_arr, ux, uy)
        out = np.where(t_arr < ux[0], uy[0] + (t_arr - ux[0]), out)
        out = np.where(t_arr > ux[-1], uy[-1] + (t_arr - ux[-1]), out)
        return float(out) if out.ndim == 0 else out

    def inverse(self) -> WarpPath:
        return WarpPath(self.pairs[:, ::-1].copy(), self.target, self.source)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "pairs": self.pairs.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarpPath:
        return cls(d["pairs"], d.get("source", ""), d.get("target", ""))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WarpPath)
            and self.source == other.source
            and self.target == other.target
            and np.array_equal(self.pairs, other.pairs)
        )

    def __repr__(self) -> str:
        return f"WarpPath({self.source!r} -> {self.target!r}, {len(self.pairs)} pairs)"


@dataclass
class MediaRef:
    """A media file the session plays. `path` is absolute in memory; the session file stores it
    relative to itself. `offset` (s) shifts this stream onto session time.

    `warp` (optional `WarpPath`) corrects a stream whose clock drifts or whose timing differs
    locally (another take, a camera with a cheap clock): it maps the *shifted* time
    ``session_time - offset`` to the media's own time. Without a warp the media plays at its own
    rate, ``media_time = session_time - offset``. Playback resamples the audio along the warp
    (varispeed) and picks video frames through it; the views draw the media through it."""

    path: str
    kind: str = "audio"
    offset: float = 0.0
    name: str = ""
    mime_type: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    warp: WarpPath | None = None

    def __post_init__(self) -> None:
        if self.kind not in MEDIA_KINDS:
            raise ValueError(f"media {self.path!r}: kind must be one of {MEDIA_KINDS}, got {self.kind!r}")
        self.offset = float(self.offset)
        if not np.isfinite(self.offset):
            raise ValueError(f"media {self.path!r}: offset must be finite")
        if self.warp is not None and not isinstance(self.warp, WarpPath):
            raise TypeError(f"media {self.path!r}: warp must be a WarpPath, got {type(self.warp).__name__}")
        if not self.name:
            self.name = Path(self.path).name

    def to_session_time(self, media_time: Any) -> Any:
        return session_time_of(media_time, self.offset, self.warp)

    def to_media_time(self, session_time: Any) -> Any:
        return media_time_of(session_time, self.offset, self.warp)


def media_time_of(session_time: Any, offset: float, warp: WarpPath | None) -> Any:
    """A stream's own time at `session_time`, given its offset and warp (see `MediaRef`)."""
    if warp is not None:
        return warp.map(np.asarray(session_time, dtype=float) - offset)
    return session_time - offset


def session_time_of(media_time: Any, offset: float, warp: WarpPath | None) -> Any:
    """The session time at which a stream (offset, warp) plays its `media_time`."""
    if warp is not None:
        return warp.inverse_map(media_time) + offset
    return media_time + offset


@dataclass
class VocabularyEntry:
    value: str
    description: str = ""
    id: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ControlledVocabulary:
    """The labels a tier may use (ELAN's controlled vocabularies)."""

    name: str
    entries: list[VocabularyEntry] = field(default_factory=list)
    description: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)

    def values(self) -> list[str]:
        return [e.value for e in self.entries]

    def __contains__(self, value: object) -> bool:
        return any(e.value == value for e in self.entries)

    def complete(self, prefix: str) -> list[str]:
        """Entries that start with `prefix` (case-insensitive), for label completion."""
        p = prefix.casefold()
        return [e.value for e in self.entries if e.value.casefold().startswith(p)]


@dataclass
class Alignment:
    """The result of aligning two things (streams, tiers): a named warp plus how it was made."""

    name: str
    warp: WarpPath
    method: str = ""
    cost: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


class Session:
    """Media, tiers, vocabularies and alignments, evented and with an undo stack."""

    #: (session, index, tier)
    tier_added = Signal(object, int, object)
    #: (session, index, tier)
    tier_removed = Signal(object, int, object)
    #: (session, old_index, new_index)
    tier_moved = Signal(object, int, int)
    #: (session, index, media)
    media_added = Signal(object, int, object)
    #: (session, index, media)
    media_removed = Signal(object, int, object)
    #: (session, index, media) — e.g. offset changed
    media_changed = Signal(object, int, object)
    #: (session, name)
    alignment_changed = Signal(object, str)
    #: (session, key)
    metadata_changed = Signal(object, str)

    def __init__(
        self,
        tiers: Iterable[Tier] = (),
        media: Iterable[MediaRef] = (),
        *,
        vocabularies: Iterable[ControlledVocabulary] = (),
        alignments: Iterable[Alignment] = (),
        metadata: dict[str, Any] | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._tiers: list[Tier] = []
        self.media: list[MediaRef] = list(media)
        self.vocabularies: dict[str, ControlledVocabulary] = {v.name: v for v in vocabularies}
        self.alignments: dict[str, Alignment] = {a.name: a for a in alignments}
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.path: Path | None = Path(path) if path is not None else None
        self.undo_stack = UndoStack(self)
        #: Set when opening replayed an autosave journal: what was recovered, for the user.
        self.recovery_note: str | None = None
        for t in tiers:
            self._insert_tier(len(self._tiers), t, emit=False)

    # --- tiers ---------------------------------------------------------------------------
    @property
    def tiers(self) -> tuple[Tier, ...]:
        return tuple(self._tiers)

    def tier_names(self) -> list[str]:
        return [t.name for t in self._tiers]

    def tier(self, name: str) -> Tier:
        for t in self._tiers:
            if t.name == name:
                return t
        raise KeyError(f"no tier named {name!r} (tiers: {', '.join(self.tier_names()) or 'none'})")

    def has_tier(self, name: str) -> bool:
        return any(t.name == name for t in self._tiers)

    def tier_index(self, name: str) -> int:
        for i, t in enumerate(self._tiers):
            if t.name == name:
                return i
        raise KeyError(f"no tier named {name!r}")

    def children(self, name: str) -> list[Tier]:
        return [t for t in self._tiers if t.parent == name]

    def interval_tiers(self) -> list[IntervalTier]:
        return [t for t in self._tiers if isinstance(t, IntervalTier)]

    def point_tiers(self) -> list[PointTier]:
        return [t for t in self._tiers if isinstance(t, PointTier)]

    def curve_tiers(self) -> list[CurveTier]:
        return [t for t in self._tiers if isinstance(t, CurveTier)]

    def unique_tier_name(self, base: str) -> str:
        if not self.has_tier(base):
            return base
        k = 2
        while self.has_tier(f"{base} ({k})"):
            k += 1
        return f"{base} ({k})"

    def _insert_tier(self, index: int, tier: Tier, emit: bool = True) -> None:
        if not isinstance(tier, Tier):
            raise TypeError(f"expected a Tier, got {type(tier).__name__}")
        if self.has_tier(tier.name):
            raise ValueError(f"the session already has a tier named {tier.name!r}")
        if tier.parent is not None and tier.parent == tier.name:
            raise ValueError(f"tier {tier.name!r} cannot be its own parent")
        self._tiers.insert(index, tier)
        if emit:
            self.tier_added.emit(self, index, tier)

    def _remove_tier(self, name: str) -> tuple[int, Tier]:
        i = self.tier_index(name)
        tier = self._tiers.pop(i)
        self.tier_removed.emit(self, i, tier)
        return i, tier

    def _move_tier(self, name: str, new_index: int) -> int:
        i = self.tier_index(name)
        tier = self._tiers.pop(i)
        self._tiers.insert(new_index, tier)
        self.tier_moved.emit(self, i, new_index)
        return i

    def _rename_tier(self, old: str, new: str) -> None:
        if old == new:
            return
        if self.has_tier(new):
            raise ValueError(f"the session already has a tier named {new!r}")
        tier = self.tier(old)
        tier._set_name(new)
        for t in self._tiers:
            if t.parent == old:
                t.parent = new
                t.changed.emit(t, "parent")

    # --- time ----------------------------------------------------------------------------
    def time_range(self) -> tuple[float, float] | None:
        """Earliest start and latest end over all tiers (and the stored range, if any)."""
        ranges = [r for r in (t.time_range() for t in self._tiers) if r is not None]
        stored = self.metadata.get("time_range")
        if stored:
            ranges.append((float(stored[0]), float(stored[1])))
        dur = self.metadata.get("media_duration")
        if dur:
            ranges.append((0.0, float(dur)))
        if not ranges:
            return None
        return (min(r[0] for r in ranges), max(r[1] for r in ranges))

    def validate(self) -> list[str]:
        """Problems a user should know about: missing parents, intervals outside their parent,
        labels outside the tier's vocabulary. Empty when all is well."""
        problems: list[str] = []
        for t in self._tiers:
            if t.parent is not None and not self.has_tier(t.parent):
                problems.append(f"tier {t.name!r}: parent tier {t.parent!r} does not exist")
            if t.vocabulary is not None:
                cv = self.vocabularies.get(t.vocabulary)
                if cv is None:
                    problems.append(f"tier {t.name!r}: vocabulary {t.vocabulary!r} does not exist")
                elif isinstance(t, (IntervalTier, PointTier)):
                    allowed = set(cv.values())
                    bad = sorted({a.label for a in t if a.label and a.label not in allowed})
                    if bad:
                        problems.append(
                            f"tier {t.name!r}: labels not in vocabulary {t.vocabulary!r}: {bad[:5]}"
                        )
            if isinstance(t, IntervalTier) and t.parent is not None and self.has_tier(t.parent):
                parent = self.tier(t.parent)
                if isinstance(parent, IntervalTier) and not parent.allow_overlap:
                    for a in t:
                        p = parent.at(a.mid)
                        if p is None or a.start < p.start - 1e-9 or a.end > p.end + 1e-9:
                            problems.append(
                                f"tier {t.name!r}: {a.label!r} [{a.start:.3f}, {a.end:.3f}] is not inside "
                                f"an interval of parent tier {t.parent!r}"
                            )
                            break
        return problems

    # --- media ---------------------------------------------------------------------------
    def media_index(self, media: MediaRef | str) -> int:
        for i, m in enumerate(self.media):
            if m is media or m.name == media or m.path == media:
                return i
        raise KeyError(f"no media {media!r} in the session")

    def __repr__(self) -> str:
        return f"Session({len(self._tiers)} tiers, {len(self.media)} media, path={str(self.path) if self.path else None!r})"

    def __iter__(self) -> Iterator[Tier]:
        return iter(self._tiers)
