"""Every edit of a session as an undoable, journal-able command.

Commands name tiers by name and annotations by id, so they can be written to the journal and
replayed after a crash. Each validates before it changes anything: a command that fails leaves
the session as it was.

Use them through the stack: ``session.undo_stack.push(AddAnnotation("words", Interval(1, 2, "hi")))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .annotations import Interval, Point, check_time, new_id
from .media_commands import AddMedia, RemoveMedia, SetMediaOffset, SetMediaWarp
from .tiers import CurveTier, IntervalTier, Tier, _AnnotationTier
from .undo import Command, register_command

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "AddAnnotation",
    "DeleteAnnotation",
    "ReplaceAnnotation",
    "MoveBoundary",
    "Relabel",
    "SplitInterval",
    "MergeIntervals",
    "AddTier",
    "RemoveTier",
    "RenameTier",
    "MoveTier",
    "SetTierProperty",
    "SetMediaOffset",
    "SetMediaWarp",
    "AddMedia",
    "RemoveMedia",
    "SetCurveValues",
    "SetMetadata",
    "SetAlignment",
    "annotation_to_dict",
    "annotation_from_dict",
]


def annotation_to_dict(a: Interval | Point) -> dict[str, Any]:
    kind = "interval" if isinstance(a, Interval) else "point"
    return {"kind": kind, "data": a.to_list()}


def annotation_from_dict(d: dict[str, Any]) -> Interval | Point:
    return (Interval if d["kind"] == "interval" else Point).from_list(d["data"])


def _ann_tier(session: Session, name: str) -> _AnnotationTier:
    tier = session.tier(name)
    if not isinstance(tier, _AnnotationTier):
        raise TypeError(f"tier {name!r} is a {tier.kind} tier; it holds no intervals or points")
    return tier


def _interval_tier(session: Session, name: str) -> IntervalTier:
    tier = session.tier(name)
    if not isinstance(tier, IntervalTier):
        raise TypeError(f"tier {name!r} is a {tier.kind} tier, not an interval tier")
    return tier


@register_command
class AddAnnotation(Command):
    type_name = "add_annotation"

    def __init__(self, tier: str, annotation: Interval | Point) -> None:
        self.tier = tier
        self.annotation = annotation
        self.text = f"Add {annotation.label!r} to {tier}"

    def redo(self, session: Session) -> None:
        _ann_tier(session, self.tier).insert(self.annotation)

    def undo(self, session: Session) -> None:
        _ann_tier(session, self.tier).remove(self.annotation.id)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "tier": self.tier, "annotation": annotation_to_dict(self.annotation)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AddAnnotation:
        return cls(d["tier"], annotation_from_dict(d["annotation"]))


@register_command
class DeleteAnnotation(Command):
    type_name = "delete_annotation"

    def __init__(self, tier: str, annotation_id: str) -> None:
        self.tier = tier
        self.annotation_id = annotation_id
        self._removed: Interval | Point | None = None
        self.text = f"Delete from {tier}"

    def redo(self, session: Session) -> None:
        _, self._removed = _ann_tier(session, self.tier).remove(self.annotation_id)
        self.text = f"Delete {self._removed.label!r} from {self.tier}"

    def undo(self, session: Session) -> None:
        assert self._removed is not None
        _ann_tier(session, self.tier).insert(self._removed)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "tier": self.tier, "id": self.annotation_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeleteAnnotation:
        return cls(d["tier"], d["id"])


def _corrected(ann: Any) -> dict[str, Any]:
    """A person relabelled or moved an annotation a model or an aligner made (it has a confidence
    under 1): it is now certain -- confidence 1 -- so it leaves the review queue and counts as a
    label when a model is trained again. Undo gives the old confidence back."""
    if ann.confidence is not None and ann.confidence < 1.0:
        return {"confidence": 1.0}
    return {}


@register_command
class ReplaceAnnotation(Command):
    """Change any fields of one annotation (times, label, confidence, attrs) in one step."""

    type_name = "replace_annotation"

    def __init__(self, tier: str, annotation_id: str, **changes: Any) -> None:
        if "id" in changes:
            raise ValueError("an annotation's id cannot be changed")
        self.tier = tier
        self.annotation_id = annotation_id
        self.changes = changes
        self._old: Interval | Point | None = None
        self.text = f"Edit annotation in {tier}"

    def redo(self, session: Session) -> None:
        tier = _ann_tier(session, self.tier)
        old = tier.get(self.annotation_id)
        new = old.replace(**self.changes)
        tier.replace(old, new)
        self._old = old

    def undo(self, session: Session) -> None:
        assert self._old is not None
        tier = _ann_tier(session, self.tier)
        tier.replace(tier.get(self.annotation_id), self._old)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "tier": self.tier, "id": self.annotation_id, "changes": self.changes}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplaceAnnotation:
        return cls(d["tier"], d["id"], **d["changes"])


@register_command
class Relabel(ReplaceAnnotation):
    type_name = "relabel"

    def __init__(self, tier: str, annotation_id: str, label: str) -> None:
        super().__init__(tier, annotation_id, label=label)
        self.text = f"Relabel to {label!r}"

    def redo(self, session: Session) -> None:
        tier = _ann_tier(session, self.tier)
        old = tier.get(self.annotation_id)
        tier.replace(old, old.replace(**self.changes, **_corrected(old)))
        self._old = old

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "tier": self.tier,
            "id": self.annotation_id,
            "label": self.changes["label"],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Relabel:
        return cls(d["tier"], d["id"], d["label"])


@register_command
class MoveBoundary(Command):
    """Move the start or end of an interval (or a point's time) to a new time.

    With `linked=True` (the default, as in Praat) a neighbour that shares the boundary moves too,
    so contiguous intervals stay contiguous. Consecutive moves of the same boundary merge into one
    undo step, so a whole drag undoes at once.
    """

    type_name = "move_boundary"

    def __init__(self, tier: str, annotation_id: str, edge: str, time: float, linked: bool = True) -> None:
        if edge not in ("start", "end", "time"):
            raise ValueError(f"edge must be 'start', 'end' or 'time', got {edge!r}")
        self.tier = tier
        self.annotation_id = annotation_id
        self.edge = edge
        self.time = check_time(time, "boundary time", f"tier {tier!r}: ")
        self.linked = linked
        self._before: list[Interval | Point] = []
        self._neighbour_id: str | None = None
        self.text = f"Move boundary in {tier}"

    def redo(self, session: Session) -> None:
        tier = _ann_tier(session, self.tier)
        ann = tier.get(self.annotation_id)
        if isinstance(ann, Point):
            if self.edge != "time":
                raise ValueError(f"tier {self.tier!r}: a point has only a 'time' edge")
            self._before = [ann]
            tier.replace(ann, ann.replace(time=self.time, **_corrected(ann)))
            return
        assert isinstance(tier, IntervalTier)
        if self.edge == "time":
            raise ValueError(f"tier {self.tier!r}: an interval has 'start' and 'end' edges")
        old_t = getattr(ann, self.edge)
        nb = None
        if self.linked and not tier.allow_overlap:
            prev, nxt = tier.neighbours(ann)
            if self.edge == "start" and prev is not None and prev.end == old_t:
                nb = prev
            elif self.edge == "end" and nxt is not None and nxt.start == old_t:
                nb = nxt
        new_ann = ann.replace(**{self.edge: self.time}, **_corrected(ann))  # validates start < end
        changes: list[tuple[Interval, Interval]] = [(ann, new_ann)]
        if nb is not None:
            other = "end" if self.edge == "start" else "start"
            changes.append((nb, nb.replace(**{other: self.time})))  # validates too
        elif not tier.allow_overlap:
            # Moving freely must not run into the neighbour.
            prev, nxt = tier.neighbours(ann)
            if self.edge == "start" and prev is not None and self.time < prev.end:
                raise ValueError(
                    f"tier {self.tier!r}: start {self.time:.6f} s would overlap {prev.label!r} (ends {prev.end:.6f} s)"
                )
            if self.edge == "end" and nxt is not None and self.time > nxt.start:
                raise ValueError(
                    f"tier {self.tier!r}: end {self.time:.6f} s would overlap {nxt.label!r} (starts {nxt.start:.6f} s)"
                )
        # Apply: shrink first so the intermediate state never overlaps.
        order = changes if (self.edge == "end") == (self.time < old_t) else list(reversed(changes))
        self._before = [a for a, _ in changes]
        self._neighbour_id = nb.id if nb is not None else None
        for old, new in order:
            tier.replace(old, new)

    def undo(self, session: Session) -> None:
        tier = _ann_tier(session, self.tier)
        current = [tier.get(a.id) for a in self._before]
        pairs = list(zip(current, self._before))
        # Undo in the order that never overlaps: shrink whichever grew first.
        if len(pairs) == 2 and isinstance(pairs[0][0], Interval):
            moved_start = self.edge == "start"
            grew = (
                (pairs[0][0].start < pairs[0][1].start)
                if moved_start
                else (pairs[0][0].end > pairs[0][1].end)
            )
            if not grew:
                pairs.reverse()
        for cur, old in pairs:
            tier.replace(cur, old)

    def merge_key(self) -> Any:
        return ("move_boundary", self.tier, self.annotation_id, self.edge, self.linked)

    def merge(self, later: Command) -> bool:
        assert isinstance(later, MoveBoundary)
        # The first move's "before" stays; the time becomes the latest one.
        self.time = later.time
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "tier": self.tier,
            "id": self.annotation_id,
            "edge": self.edge,
            "time": self.time,
            "linked": self.linked,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MoveBoundary:
        return cls(d["tier"], d["id"], d["edge"], d["time"], d.get("linked", True))


@register_command
class SplitInterval(Command):
    """Split an interval at time t: the left part keeps the id and label, the right part gets
    `right_label` (default: the same label) and a new id."""

    type_name = "split_interval"

    def __init__(
        self,
        tier: str,
        annotation_id: str,
        time: float,
        right_label: str | None = None,
        new_id_: str | None = None,
    ) -> None:
        self.tier = tier
        self.annotation_id = annotation_id
        self.time = check_time(time, "split time", f"tier {tier!r}: ")
        self.right_label = right_label
        self.new_id = new_id_ or new_id()
        self._old: Interval | None = None
        self.text = f"Split in {tier}"

    def redo(self, session: Session) -> None:
        tier = _interval_tier(session, self.tier)
        ann = tier.get(self.annotation_id)
        if not ann.start < self.time < ann.end:
            raise ValueError(
                f"tier {self.tier!r}: split time {self.time:.6f} s is not inside {ann.label!r} "
                f"[{ann.start:.6f}, {ann.end:.6f}]"
            )
        left = ann.replace(end=self.time)
        right = ann.replace(
            start=self.time, id=self.new_id, label=ann.label if self.right_label is None else self.right_label
        )
        self._old = ann
        tier.replace(ann, left)
        tier.insert(right)

    def undo(self, session: Session) -> None:
        tier = _interval_tier(session, self.tier)
        assert self._old is not None
        tier.remove(self.new_id)
        tier.replace(tier.get(self.annotation_id), self._old)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "tier": self.tier,
            "id": self.annotation_id,
            "time": self.time,
            "right_label": self.right_label,
            "new_id": self.new_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitInterval:
        return cls(d["tier"], d["id"], d["time"], d.get("right_label"), d["new_id"])


@register_command
class MergeIntervals(Command):
    """Merge an interval with the next one in its tier: one interval from the first's start to the
    second's end, labels joined with `separator`. Keeps the first one's id."""

    type_name = "merge_intervals"

    def __init__(self, tier: str, first_id: str, separator: str = " ") -> None:
        self.tier = tier
        self.first_id = first_id
        self.separator = separator
        self._old: tuple[Interval, Interval] | None = None
        self.text = f"Merge in {tier}"

    def redo(self, session: Session) -> None:
        tier = _interval_tier(session, self.tier)
        first = tier.get(self.first_id)
        _, second = tier.neighbours(first)
        if second is None:
            raise ValueError(f"tier {self.tier!r}: {first.label!r} has no following interval to merge with")
        label = self.separator.join(x for x in (first.label, second.label) if x)
        conf = None
        if first.confidence is not None or second.confidence is not None:
            conf = min(c for c in (first.confidence, second.confidence) if c is not None)
        merged = first.replace(end=second.end, label=label, confidence=conf)
        self._old = (first, second)
        tier.remove(second.id)
        tier.replace(first, merged)

    def undo(self, session: Session) -> None:
        tier = _interval_tier(session, self.tier)
        assert self._old is not None
        first, second = self._old
        tier.replace(tier.get(first.id), first)
        tier.insert(second)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "tier": self.tier, "id": self.first_id, "separator": self.separator}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MergeIntervals:
        return cls(d["tier"], d["id"], d.get("separator", " "))


@register_command
class AddTier(Command):
    type_name = "add_tier"

    def __init__(self, tier: Tier, index: int | None = None) -> None:
        self.tier = tier
        self.index = index
        self.text = f"Add tier {tier.name}"

    def redo(self, session: Session) -> None:
        i = len(session.tiers) if self.index is None else self.index
        session._insert_tier(i, self.tier)

    def undo(self, session: Session) -> None:
        session._remove_tier(self.tier.name)

    def to_dict(self) -> dict[str, Any]:
        from .serialize import tier_to_dict

        return {"type": self.type_name, "tier": tier_to_dict(self.tier), "index": self.index}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AddTier:
        from .serialize import tier_from_dict

        return cls(tier_from_dict(d["tier"]), d.get("index"))


@register_command
class RemoveTier(Command):
    type_name = "remove_tier"

    def __init__(self, name: str) -> None:
        self.name = name
        self._removed: tuple[int, Tier] | None = None
        self._orphans: list[str] = []
        self.text = f"Remove tier {name}"

    def redo(self, session: Session) -> None:
        self._removed = session._remove_tier(self.name)
        # Children lose their parent rather than pointing at nothing.
        self._orphans = [t.name for t in session.tiers if t.parent == self.name]
        for n in self._orphans:
            t = session.tier(n)
            t.parent = None
            t.changed.emit(t, "parent")

    def undo(self, session: Session) -> None:
        assert self._removed is not None
        i, tier = self._removed
        session._insert_tier(i, tier)
        for n in self._orphans:
            t = session.tier(n)
            t.parent = self.name
            t.changed.emit(t, "parent")

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RemoveTier:
        return cls(d["name"])


@register_command
class RenameTier(Command):
    type_name = "rename_tier"

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new
        self.text = f"Rename tier {old} to {new}"

    def redo(self, session: Session) -> None:
        session._rename_tier(self.old, self.new)

    def undo(self, session: Session) -> None:
        session._rename_tier(self.new, self.old)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "old": self.old, "new": self.new}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenameTier:
        return cls(d["old"], d["new"])


@register_command
class MoveTier(Command):
    type_name = "move_tier"

    def __init__(self, name: str, index: int) -> None:
        self.name = name
        self.index = index
        self._old_index: int | None = None
        self.text = f"Move tier {name}"

    def redo(self, session: Session) -> None:
        if not 0 <= self.index < len(session.tiers):
            raise IndexError(f"tier position {self.index} is out of range (0..{len(session.tiers) - 1})")
        self._old_index = session._move_tier(self.name, self.index)

    def undo(self, session: Session) -> None:
        assert self._old_index is not None
        session._move_tier(self.name, self._old_index)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "name": self.name, "index": self.index}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MoveTier:
        return cls(d["name"], d["index"])


@register_command
class SetTierProperty(Command):
    """Set a tier's parent, vocabulary or one of its attrs."""

    type_name = "set_tier_property"
    _FIELDS = ("parent", "vocabulary")

    def __init__(self, tier: str, key: str, value: Any) -> None:
        self.tier = tier
        self.key = key
        self.value = value
        self._old: Any = None
        self._had: bool = True
        self.text = f"Set {key} of {tier}"

    def redo(self, session: Session) -> None:
        t = session.tier(self.tier)
        if self.key in self._FIELDS:
            if self.key == "parent" and self.value is not None:
                if self.value == self.tier:
                    raise ValueError(f"tier {self.tier!r} cannot be its own parent")
                session.tier(self.value)  # must exist
            self._old = getattr(t, self.key)
            setattr(t, self.key, self.value)
        else:
            self._had = self.key in t.attrs
            self._old = t.attrs.get(self.key)
            t.attrs[self.key] = self.value
        t.changed.emit(t, self.key)

    def undo(self, session: Session) -> None:
        t = session.tier(self.tier)
        if self.key in self._FIELDS:
            setattr(t, self.key, self._old)
        elif self._had:
            t.attrs[self.key] = self._old
        else:
            t.attrs.pop(self.key, None)
        t.changed.emit(t, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "tier": self.tier, "key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetTierProperty:
        return cls(d["tier"], d["key"], d["value"])


@register_command
class SetCurveValues(Command):
    type_name = "set_curve_values"

    def __init__(
        self, tier: str, values: Any, *, rate: float | None = None, start: float = 0.0, times: Any = None
    ):
        self.tier = tier
        self.values = values
        self.rate = rate
        self.start = start
        self.times = times
        self._old: dict[str, Any] | None = None
        self.text = f"Set values of {tier}"

    def _curve(self, session: Session) -> CurveTier:
        t = session.tier(self.tier)
        if not isinstance(t, CurveTier):
            raise TypeError(f"tier {self.tier!r} is not a curve tier")
        return t

    def redo(self, session: Session) -> None:
        t = self._curve(session)
        self._old = t.state()
        t._replace_values(self.values, rate=self.rate, start=self.start, times=self.times)

    def undo(self, session: Session) -> None:
        assert self._old is not None
        self._curve(session)._replace_values(**self._old)

    def to_dict(self) -> dict[str, Any]:
        import numpy as np

        return {
            "type": self.type_name,
            "tier": self.tier,
            "values": np.asarray(self.values, dtype=float).tolist(),
            "rate": self.rate,
            "start": self.start,
            "times": None if self.times is None else np.asarray(self.times, dtype=float).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetCurveValues:
        return cls(
            d["tier"], d["values"], rate=d.get("rate"), start=d.get("start", 0.0), times=d.get("times")
        )


_MISSING = object()


@register_command
class SetMetadata(Command):
    type_name = "set_metadata"

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value
        self._old: Any = _MISSING
        self.text = f"Set {key}"

    def redo(self, session: Session) -> None:
        self._old = session.metadata.get(self.key, _MISSING)
        session.metadata[self.key] = self.value
        session.metadata_changed.emit(session, self.key)

    def undo(self, session: Session) -> None:
        if self._old is _MISSING:
            session.metadata.pop(self.key, None)
        else:
            session.metadata[self.key] = self._old
        session.metadata_changed.emit(session, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetMetadata:
        return cls(d["key"], d["value"])


@register_command
class SetAlignment(Command):
    """Add, replace or (with alignment=None) remove a named alignment."""

    type_name = "set_alignment"

    def __init__(self, name: str, alignment: Any) -> None:
        self.name = name
        self.alignment = alignment
        self._old: Any = None
        self.text = f"Set alignment {name}"

    def redo(self, session: Session) -> None:
        self._old = session.alignments.get(self.name)
        if self.alignment is None:
            session.alignments.pop(self.name, None)
        else:
            session.alignments[self.name] = self.alignment
        session.alignment_changed.emit(session, self.name)

    def undo(self, session: Session) -> None:
        if self._old is None:
            session.alignments.pop(self.name, None)
        else:
            session.alignments[self.name] = self._old
        session.alignment_changed.emit(session, self.name)

    def to_dict(self) -> dict[str, Any]:
        from .serialize import alignment_to_dict

        return {
            "type": self.type_name,
            "name": self.name,
            "alignment": None if self.alignment is None else alignment_to_dict(self.alignment),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetAlignment:
        from .serialize import alignment_from_dict

        a = d.get("alignment")
        return cls(d["name"], None if a is None else alignment_from_dict(a))
