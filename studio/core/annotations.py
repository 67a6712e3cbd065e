"""Annotations: the immutable values that tiers hold.

An `Interval` spans [start, end) seconds, a `Point` marks one instant. Both carry a label, an
optional confidence in [0, 1], the source that made them ("human" or a model's name), free
attributes, and an id that is stable for the life of the session (commands, the journal and
formats with annotation ids, like ELAN, refer to it).

They are never changed in place: an edit makes a new value with `replace()` and a command puts it
into the tier, so undo only has to keep the old value.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

__all__ = ["Interval", "Point", "new_id", "check_time"]

_counter = itertools.count(1)
_prefix = f"a{os.getpid():x}{os.urandom(3).hex()}"


def new_id() -> str:
    """A fresh annotation id, unique within this process and very unlikely to collide across runs."""
    return f"{_prefix}_{next(_counter)}"


def check_time(value: Any, what: str, where: str = "") -> float:
    """Return `value` as a finite float, or raise a ValueError that says what and where."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}{what} {value!r} is not a number") from None
    if not math.isfinite(t):
        raise ValueError(f"{where}{what} {value!r} is not a finite time")
    return t


def _check_confidence(confidence: Any, where: str) -> float | None:
    if confidence is None:
        return None
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"{where}confidence {confidence!r} is not a number") from None
    if not (0.0 <= c <= 1.0):
        raise ValueError(f"{where}confidence {confidence!r} is outside [0, 1]")
    return c


class Interval:
    """A labelled time span [start, end) in seconds; start < end."""

    __slots__ = ("start", "end", "label", "confidence", "source", "attrs", "id")

    start: float
    end: float
    label: str
    confidence: float | None
    source: str
    attrs: dict[str, Any]
    id: str

    def __init__(
        self,
        start: float,
        end: float,
        label: str = "",
        confidence: float | None = None,
        source: str = "human",
        attrs: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> None:
        if type(start) is not float or type(end) is not float or not (start < end):
            start = check_time(start, "start")
            end = check_time(end, "end")
            if not start < end:
                raise ValueError(f"interval {label!r}: start {start:.6f} s is not before end {end:.6f} s")
        if start != start or end != end or start == -math.inf or end == math.inf:
            raise ValueError(f"interval {label!r}: times must be finite (got {start}, {end})")
        s = object.__setattr__
        s(self, "start", start)
        s(self, "end", end)
        s(self, "label", label if type(label) is str else str(label))
        s(
            self,
            "confidence",
            None if confidence is None else _check_confidence(confidence, f"interval {label!r}: "),
        )
        s(self, "source", source)
        s(self, "attrs", attrs if attrs is not None else {})
        s(self, "id", id if id else new_id())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("annotations are immutable: use replace() and a command")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)

    def replace(self, **changes: Any) -> Interval:
        """A copy with some fields changed; keeps the id unless `id` is given."""
        d = {k: getattr(self, k) for k in self.__slots__}
        d.update(changes)
        return Interval(**d)

    def same_content(self, other: Interval) -> bool:
        return (
            isinstance(other, Interval)
            and self.start == other.start
            and self.end == other.end
            and self.label == other.label
            and self.confidence == other.confidence
            and self.source == other.source
            and self.attrs == other.attrs
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interval) and self.id == other.id and self.same_content(other)

    def __hash__(self) -> int:
        return hash((self.id, self.start, self.end, self.label))

    def __repr__(self) -> str:
        extra = "" if self.confidence is None else f", confidence={self.confidence:.3g}"
        return f"Interval({self.start:.6g}, {self.end:.6g}, {self.label!r}{extra})"

    def to_list(self) -> list[Any]:
        """Compact JSON form used by the session file and the journal."""
        out: list[Any] = [self.start, self.end, self.label, self.id]
        if self.confidence is not None or self.source != "human" or self.attrs:
            out += [self.confidence, self.source]
            if self.attrs:
                out.append(self.attrs)
        return out

    @classmethod
    def from_list(cls, data: list[Any]) -> Interval:
        start, end, label, id_ = data[:4]
        conf = data[4] if len(data) > 4 else None
        source = data[5] if len(data) > 5 else "human"
        attrs = data[6] if len(data) > 6 else None
        return cls(start, end, label, conf, source, attrs, id_)


class Point:
    """A labelled instant in seconds."""

    __slots__ = ("time", "label", "confidence", "source", "attrs", "id")

    time: float
    label: str
    confidence: float | None
    source: str
    attrs: dict[str, Any]
    id: str

    def __init__(
        self,
        time: float,
        label: str = "",
        confidence: float | None = None,
        source: str = "human",
        attrs: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> None:
        time = check_time(time, "time", f"point {label!r}: ")
        s = object.__setattr__
        s(self, "time", time)
        s(self, "label", label if type(label) is str else str(label))
        s(self, "confidence", _check_confidence(confidence, f"point {label!r}: "))
        s(self, "source", source)
        s(self, "attrs", attrs if attrs is not None else {})
        s(self, "id", id if id else new_id())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("annotations are immutable: use replace() and a command")

    # Points sort and bisect like intervals of zero length.
    @property
    def start(self) -> float:
        return self.time

    @property
    def end(self) -> float:
        return self.time

    def replace(self, **changes: Any) -> Point:
        d = {k: getattr(self, k) for k in self.__slots__}
        d.update(changes)
        return Point(**d)

    def same_content(self, other: Point) -> bool:
        return (
            isinstance(other, Point)
            and self.time == other.time
            and self.label == other.label
            and self.confidence == other.confidence
            and self.source == other.source
            and self.attrs == other.attrs
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self.id == other.id and self.same_content(other)

    def __hash__(self) -> int:
        return hash((self.id, self.time, self.label))

    def __repr__(self) -> str:
        return f"Point({self.time:.6g}, {self.label!r})"

    def to_list(self) -> list[Any]:
        out: list[Any] = [self.time, self.label, self.id]
        if self.confidence is not None or self.source != "human" or self.attrs:
            out += [self.confidence, self.source]
            if self.attrs:
                out.append(self.attrs)
        return out

    @classmethod
    def from_list(cls, data: list[Any]) -> Point:
        time, label, id_ = data[:3]
        conf = data[3] if len(data) > 3 else None
        source = data[4] if len(data) > 4 else "human"
        attrs = data[5] if len(data) > 5 else None
        return cls(time, label, conf, source, attrs, id_)
