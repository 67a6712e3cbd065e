"""The editing logic of the timeline, without Qt: what a key press or a drag on a tier means.

Each edit function looks at the session, decides what the user's gesture should do (clip a new
interval to the free time, clamp a dragged boundary between its neighbours, ...) and returns a
command ready for ``session.undo_stack.push``; it changes nothing itself. When the gesture cannot
be done it raises a ValueError whose message names the tier and the times, because the window
shows that message to the user as it is.

Keeping this out of the widgets means the rules (Praat's split keeps the label on the left,
ELAN's one-keystroke-per-boundary segmentation, no overlap on ordinary tiers) are tested without
a display, and the keyboard, the mouse and scripts all edit through the same functions.

Also here: snapping (to other tiers' boundaries, to zero crossings), boundary navigation, search
over labels and label completion.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from .annotations import Interval, Point, check_time
from .commands import AddAnnotation, AddTier, DeleteAnnotation, MergeIntervals, MoveBoundary, SplitInterval
from .session import Session
from .tiers import IntervalTier, PointTier, Tier, _AnnotationTier

__all__ = [
    "MIN_DURATION",
    "Match",
    "Segmenter",
    "boundary_limits",
    "boundary_times",
    "completions",
    "create_interval",
    "create_point",
    "delete",
    "free_spans",
    "merge_with_next",
    "move_boundary",
    "move_point",
    "neighbour_annotation",
    "next_boundary",
    "search",
    "snap",
    "split_at",
    "zero_crossing_near",
]

#: the shortest interval an edit may leave (and the closest two points may come), seconds
MIN_DURATION = 1e-3


def _fmt(t: float) -> str:
    return f"{t:.3f} s"


def _tier(session: Session, name: str) -> Tier:
    try:
        return session.tier(name)
    except KeyError as e:
        raise ValueError(str(e.args[0]) if e.args else f"no tier named {name!r}") from None


def _interval_tier(session: Session, name: str, doing: str) -> IntervalTier:
    tier = _tier(session, name)
    if not isinstance(tier, IntervalTier):
        raise ValueError(f"tier {name!r} is a {tier.kind} tier: cannot {doing} (that needs an interval tier)")
    return tier


def _point_tier(session: Session, name: str, doing: str) -> PointTier:
    tier = _tier(session, name)
    if not isinstance(tier, PointTier):
        raise ValueError(f"tier {name!r} is a {tier.kind} tier: cannot {doing} (that needs a point tier)")
    return tier


def _annotation(tier: _AnnotationTier, ann_id: str) -> Any:
    try:
        return tier.get(ann_id)
    except KeyError:
        raise ValueError(f"tier {tier.name!r} has no annotation with id {ann_id!r} (deleted?)") from None


# --- creating --------------------------------------------------------------------------------
def free_spans(tier: IntervalTier, t0: float, t1: float) -> list[tuple[float, float]]:
    """The parts of [t0, t1] that no interval of `tier` covers (all of it if the tier may overlap)."""
    if tier.allow_overlap:
        return [(t0, t1)] if t1 > t0 else []
    spans = []
    cursor = t0
    for a in tier.in_range(t0, t1):
        if a.start > cursor:
            spans.append((cursor, min(a.start, t1)))
        cursor = max(cursor, a.end)
        if cursor >= t1:
            break
    if cursor < t1:
        spans.append((cursor, t1))
    return [(a, b) for a, b in spans if b > a]


def create_interval(session: Session, tier_name: str, t0: float, t1: float, label: str = "") -> AddAnnotation:
    """A new interval over [t0, t1] (either order). On a tier without overlap it is clipped to the
    largest free part of that span; an error if nothing of at least MIN_DURATION is free."""
    tier = _interval_tier(session, tier_name, "add an interval")
    t0 = check_time(t0, "start", f"tier {tier_name!r}: ")
    t1 = check_time(t1, "end", f"tier {tier_name!r}: ")
    if t1 < t0:
        t0, t1 = t1, t0
    if t1 - t0 < MIN_DURATION:
        raise ValueError(
            f"tier {tier_name!r}: an interval from {_fmt(t0)} to {_fmt(t1)} is too short "
            f"(at least {MIN_DURATION * 1000:g} ms)"
        )
    spans = free_spans(tier, t0, t1)
    if not spans:
        raise ValueError(f"tier {tier_name!r}: {_fmt(t0)} to {_fmt(t1)} is already covered by intervals")
    a, b = max(spans, key=lambda s: s[1] - s[0])  # max() keeps the earliest of equal spans
    if b - a < MIN_DURATION:
        raise ValueError(
            f"tier {tier_name!r}: the free time between {_fmt(t0)} and {_fmt(t1)} is shorter than "
            f"{MIN_DURATION * 1000:g} ms"
        )
    return AddAnnotation(tier_name, Interval(a, b, label))


def create_point(session: Session, tier_name: str, t: float, label: str = "") -> AddAnnotation:
    """A new point at t; an error if another point is closer than MIN_DURATION."""
    tier = _point_tier(session, tier_name, "add a point")
    t = check_time(t, "time", f"tier {tier_name!r}: ")
    near = tier.at(t, tolerance=MIN_DURATION)
    if near is not None:
        raise ValueError(
            f"tier {tier_name!r}: there is already a point ({near.label!r}) at {_fmt(near.time)}"
        )
    return AddAnnotation(tier_name, Point(t, label))


# --- splitting, merging, deleting -----------------------------------------------------------
def split_at(session: Session, tier_name: str, t: float) -> SplitInterval:
    """Split the interval under t in two at t. As in Praat the label stays on the left part and
    the right part starts empty."""
    tier = _interval_tier(session, tier_name, "split")
    t = check_time(t, "split time", f"tier {tier_name!r}: ")
    ann = tier.at(t)
    if ann is None:
        raise ValueError(f"tier {tier_name!r}: no interval at {_fmt(t)} to split")
    if t - ann.start < MIN_DURATION or ann.end - t < MIN_DURATION:
        raise ValueError(
            f"tier {tier_name!r}: {_fmt(t)} is too close to an edge of {ann.label!r} "
            f"[{_fmt(ann.start)}, {_fmt(ann.end)}] to split there"
        )
    return SplitInterval(tier_name, ann.id, t, right_label="")


def merge_with_next(session: Session, tier_name: str, ann_id: str) -> MergeIntervals:
    """Merge an interval with the one after it (labels joined by a space)."""
    tier = _interval_tier(session, tier_name, "merge")
    ann = _annotation(tier, ann_id)
    _, nxt = tier.neighbours(ann)
    if nxt is None:
        raise ValueError(
            f"tier {tier_name!r}: {ann.label!r} [{_fmt(ann.start)}, {_fmt(ann.end)}] is the last interval; "
            "nothing follows it to merge with"
        )
    if nxt.end < ann.end:
        raise ValueError(
            f"tier {tier_name!r}: {nxt.label!r} [{_fmt(nxt.start)}, {_fmt(nxt.end)}] lies inside "
            f"{ann.label!r} [{_fmt(ann.start)}, {_fmt(ann.end)}]; delete it instead of merging"
        )
    return MergeIntervals(tier_name, ann.id)


def delete(session: Session, tier_name: str, ann_id: str) -> DeleteAnnotation:
    """Delete one interval or point."""
    tier = _tier(session, tier_name)
    if not isinstance(tier, _AnnotationTier):
        raise ValueError(f"tier {tier_name!r} is a {tier.kind} tier; it has no annotations to delete")
    _annotation(tier, ann_id)
    return DeleteAnnotation(tier_name, ann_id)


# --- moving ----------------------------------------------------------------------------------
def boundary_limits(tier: IntervalTier, ann: Interval, edge: str) -> tuple[float, float]:
    """How far an edge of `ann` may move: (lo, hi). A neighbour that touches it moves with it (and
    keeps MIN_DURATION); one that does not is a wall. The interval itself keeps MIN_DURATION."""
    if edge == "start":
        lo, hi = -math.inf, ann.end - MIN_DURATION
        if not tier.allow_overlap:
            prev, _ = tier.neighbours(ann)
            if prev is not None:
                lo = prev.start + MIN_DURATION if prev.end == ann.start else prev.end
    elif edge == "end":
        lo, hi = ann.start + MIN_DURATION, math.inf
        if not tier.allow_overlap:
            _, nxt = tier.neighbours(ann)
            if nxt is not None:
                hi = nxt.end - MIN_DURATION if nxt.start == ann.end else nxt.start
    else:
        raise ValueError(f"tier {tier.name!r}: edge must be 'start' or 'end', got {edge!r}")
    return lo, hi


def move_boundary(session: Session, tier_name: str, ann_id: str, edge: str, t: float) -> MoveBoundary:
    """Move the start or end of an interval to t, clamped so nothing overlaps or gets shorter than
    MIN_DURATION. A neighbour sharing the boundary moves with it. The command's `time` is the
    clamped time (equal to the current one when the boundary cannot move that way)."""
    tier = _interval_tier(session, tier_name, "move a boundary")
    ann = _annotation(tier, ann_id)
    t = check_time(t, "boundary time", f"tier {tier_name!r}: ")
    lo, hi = boundary_limits(tier, ann, edge)
    if lo > hi:
        raise ValueError(
            f"tier {tier_name!r}: the {edge} of {ann.label!r} [{_fmt(ann.start)}, {_fmt(ann.end)}] "
            "has no room to move"
        )
    return MoveBoundary(tier_name, ann.id, edge, min(max(t, lo), hi))


def move_point(session: Session, tier_name: str, ann_id: str, t: float) -> MoveBoundary:
    """Move a point to t, clamped between its neighbours (points keep their order)."""
    tier = _point_tier(session, tier_name, "move a point")
    ann = _annotation(tier, ann_id)
    t = check_time(t, "time", f"tier {tier_name!r}: ")
    i = tier.index(ann)
    lo = tier[i - 1].time + MIN_DURATION if i > 0 else -math.inf
    hi = tier[i + 1].time - MIN_DURATION if i + 1 < len(tier) else math.inf
    if lo > hi:
        raise ValueError(
            f"tier {tier_name!r}: the point {ann.label!r} at {_fmt(ann.time)} has no room to move"
        )
    return MoveBoundary(tier_name, ann.id, "time", min(max(t, lo), hi))


# --- segmentation during playback -------------------------------------------------------------
class Segmenter:
    """ELAN-style segmentation while listening: one keystroke per boundary.

    The first `mark` opens a segment, each next one closes it (returning the AddAnnotation to push)
    and opens the next segment at the same time. `lag` (s) is taken off the time the key was hit,
    for the listener's reaction time. `finish` closes without opening another; `cancel` forgets
    the open segment.
    """

    def __init__(self, lag: float = 0.2) -> None:
        if not (math.isfinite(lag) and lag >= 0):
            raise ValueError(f"segmentation lag must be a non-negative number of seconds, got {lag!r}")
        self.lag = float(lag)
        self.tier_name: str | None = None
        self.open_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.open_at is not None

    def _time(self, t_heard: float) -> float:
        return max(check_time(t_heard, "mark time") - self.lag, 0.0)

    def mark(self, session: Session, tier_name: str, t_heard: float) -> AddAnnotation | None:
        """A boundary heard at `t_heard`: opens a segment, or closes the open one and opens the next.

        A mark on another tier than the open segment's starts over on that tier. A mark too close to
        the open boundary raises and leaves the segment open where it was. A mark before the open
        boundary (playback was stopped and restarted earlier) starts over there: the time between
        was not listened to in one go, so it is not made a segment."""
        _interval_tier(session, tier_name, "segment")
        t = self._time(t_heard)
        if self.open_at is None or self.tier_name != tier_name:
            self.tier_name, self.open_at = tier_name, t
            return None
        if abs(t - self.open_at) < MIN_DURATION:
            raise ValueError(
                f"tier {tier_name!r}: a boundary at {_fmt(t)} is too close to the open one at {_fmt(self.open_at)}"
            )
        if t < self.open_at:
            self.open_at = t
            return None
        start, self.open_at = self.open_at, t
        return create_interval(session, tier_name, start, t)

    def finish(self, session: Session, t_heard: float) -> AddAnnotation | None:
        """Close the open segment at `t_heard` without opening another (None if none is open, or
        if `t_heard` comes before the open boundary: nothing was listened to in between)."""
        if self.open_at is None or self.tier_name is None:
            return None
        start, name = self.open_at, self.tier_name
        self.cancel()
        end = self._time(t_heard)
        if end < start:
            return None
        return create_interval(session, name, start, end)

    def cancel(self) -> None:
        self.tier_name = None
        self.open_at = None


# --- snapping and navigation -------------------------------------------------------------------
def boundary_times(session: Session, exclude_tier: str | None = None) -> np.ndarray:
    """Every interval boundary and point time of the session's tiers (but `exclude_tier`), sorted
    and distinct: the candidates a dragged boundary snaps to."""
    parts = [
        t.boundaries()
        for t in session.tiers
        if isinstance(t, (IntervalTier, PointTier)) and t.name != exclude_tier and len(t)
    ]
    if not parts:
        return np.empty(0)
    return np.unique(np.concatenate(parts))


def snap(t: float, candidates: np.ndarray, tolerance: float) -> float | None:
    """The candidate nearest to t if it is within `tolerance` (s); candidates sorted ascending."""
    c = np.asarray(candidates, dtype=float)
    if c.size == 0 or not tolerance >= 0:
        return None
    i = int(np.searchsorted(c, t))
    best = None
    for j in (i - 1, i):
        if 0 <= j < c.size and abs(c[j] - t) <= tolerance and (best is None or abs(c[j] - t) < abs(best - t)):
            best = float(c[j])
    return best


def zero_crossing_near(
    samples: np.ndarray, sr: float, t_start: float, t: float, tolerance: float
) -> float | None:
    """The time of the zero crossing nearest to t within `tolerance` (s), or None.

    `samples` start at session time `t_start`; several channels ((n, ch) arrays) are averaged.
    A crossing is where the sign changes between two samples; its time is that of the one of the
    two closer to zero (to the sample, as Praat's "move to nearest zero crossing")."""
    x = np.asarray(samples, dtype=float)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1 or x.size < 2 or sr <= 0 or not tolerance >= 0:
        return None
    lo = max(int(math.floor((t - tolerance - t_start) * sr)), 0)
    hi = min(int(math.ceil((t + tolerance - t_start) * sr)) + 1, x.size)
    if hi - lo < 2:
        return None
    seg = x[lo:hi]
    neg = seg < 0
    i = np.flatnonzero(neg[1:] != neg[:-1])
    if i.size == 0:
        return None
    k = np.where(np.abs(seg[i]) <= np.abs(seg[i + 1]), i, i + 1) + lo
    times = t_start + k / sr
    d = np.abs(times - t)
    j = int(np.argmin(d))
    return float(times[j]) if d[j] <= tolerance + 0.5 / sr else None


def next_boundary(tier: Tier, t: float, direction: int) -> float | None:
    """The first boundary (interval edge or point) strictly after t (direction > 0) or before it
    (direction < 0); None at the end of the tier."""
    if direction == 0:
        raise ValueError("direction must be positive (next) or negative (previous)")
    if not isinstance(tier, (IntervalTier, PointTier)):
        return None
    b = tier.boundaries()
    if b.size == 0:
        return None
    eps = 1e-9
    if direction > 0:
        i = int(np.searchsorted(b, t + eps, side="right"))
        return float(b[i]) if i < b.size else None
    i = int(np.searchsorted(b, t - eps, side="left")) - 1
    return float(b[i]) if i >= 0 else None


def neighbour_annotation(tier: Tier, ann_id: str, direction: int) -> Any:
    """The annotation after (direction > 0) or before (direction < 0) the given one, or None."""
    if direction == 0:
        raise ValueError("direction must be positive (next) or negative (previous)")
    if not isinstance(tier, _AnnotationTier):
        return None
    i = tier.index(_annotation(tier, ann_id)) + (1 if direction > 0 else -1)
    return tier[i] if 0 <= i < len(tier) else None


# --- search and completion -------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """One annotation whose label matched a search."""

    tier: str
    annotation_id: str
    start: float
    end: float
    label: str


def search(
    session: Session, text: str, *, regex: bool = False, case: bool = False, tiers: Any = None
) -> list[Match]:
    """Annotations whose label contains `text` (or matches the regular expression), ordered by
    time, then by tier order. Empty plain text finds nothing (use the regex ``^$`` for empty labels)."""
    flags = 0 if case else re.IGNORECASE
    if regex:
        try:
            pattern = re.compile(text, flags)
        except re.error as e:
            raise ValueError(f"bad regular expression {text!r}: {e}") from None
    elif not text:
        return []
    else:
        pattern = re.compile(re.escape(text), flags)
    names = session.tier_names()
    if tiers is None:
        chosen = [t for t in session.tiers if isinstance(t, _AnnotationTier)]
    else:
        if isinstance(tiers, str):
            tiers = [tiers]
        chosen = []
        for name in tiers:
            t = _tier(session, name)
            if isinstance(t, _AnnotationTier):
                chosen.append(t)
    found: list[tuple[float, int, float, Match]] = []
    for t in chosen:
        order = names.index(t.name)
        for a in t:
            if pattern.search(a.label):
                found.append((a.start, order, a.end, Match(t.name, a.id, a.start, a.end, a.label)))
    found.sort(key=lambda f: f[:3])
    return [f[3] for f in found]


def completions(session: Session, tier_name: str, prefix: str) -> list[str]:
    """Labels to offer while typing on a tier: its controlled vocabulary's values first (in the
    vocabulary's order), then labels already used on the tier, most frequent first. Case-insensitive
    prefix match; no duplicates; never the empty label."""
    tier = _tier(session, tier_name)
    p = prefix.casefold()
    out: list[str] = []
    seen: set[str] = set()
    cv = session.vocabularies.get(tier.vocabulary) if tier.vocabulary else None
    if cv is not None:
        for v in cv.complete(prefix):
            if v and v not in seen:
                seen.add(v)
                out.append(v)
    if isinstance(tier, _AnnotationTier):
        counts = Counter(a.label for a in tier if a.label)
        # most_common keeps first-seen order among equal counts (time order on the tier)
        for label, _ in counts.most_common():
            if label not in seen and label.casefold().startswith(p):
                seen.add(label)
                out.append(label)
    return out


def add_tiers(session: Session, tiers: list[Tier], suffix: str = "aligned") -> list[AddTier]:
    """Commands adding `tiers` (e.g. an alignment's words/phones/lines) to `session`, renamed where a
    name is taken ("words" → "words (aligned)", "words (aligned 2)", ...) with their parent links
    renamed alike. Push them in one `UndoStack.macro` so a single undo removes the result."""
    taken = set(session.tier_names())
    renames: dict[str, str] = {}
    for t in tiers:
        name, k = t.name, 1
        while name in taken:
            k += 1
            name = f"{t.name} ({suffix})" if k == 2 else f"{t.name} ({suffix} {k - 1})"
        taken.add(name)
        renames[t.name] = name
    out = []
    for t in tiers:
        t._set_name(renames[t.name])  # the tiers are not in a session yet
        parent = getattr(t, "parent", None)
        if parent in renames:
            t.parent = renames[parent]
        out.append(AddTier(t))
    return out


def review_items(tier: Tier, threshold: float = 0.5) -> list[Any]:
    """The annotations of `tier` to check after an alignment or a model's first pass: those flagged
    missing and those whose confidence is under `threshold`, lowest confidence first (missing ones
    first of all), ties in time order. Annotations without a confidence are not listed."""
    items = []
    for a in tier:
        conf = getattr(a, "confidence", None)
        missing = bool(getattr(a, "attrs", {}).get("missing"))
        if missing or (conf is not None and conf < threshold):
            items.append(
                (
                    0 if missing else 1,
                    conf if conf is not None else 0.0,
                    a.start if hasattr(a, "start") else a.time,
                    a,
                )
            )
    items.sort(key=lambda x: x[:3])
    return [x[3] for x in items]
