"""Session <-> plain JSON-able dicts (used by the native `.studio` file and the journal).

Media paths are written relative to `base_dir` when given (the session file's folder), so a
project folder can be moved or shared as a whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .annotations import Interval, Point
from .session import Alignment, ControlledVocabulary, MediaRef, Session, VocabularyEntry, WarpPath
from .tiers import CurveTier, IntervalTier, PointTier, Tier

__all__ = [
    "SCHEMA_VERSION",
    "session_to_dict",
    "session_from_dict",
    "tier_header",
    "tier_to_dict",
    "tier_from_dict",
    "media_to_dict",
    "media_from_dict",
    "alignment_to_dict",
    "alignment_from_dict",
]

SCHEMA_VERSION = 1


def tier_header(t: Tier) -> dict[str, Any]:
    """A tier's name, type and properties (not its content), as both JSON formats write them."""
    d: dict[str, Any] = {"name": t.name, "type": t.kind}
    if t.parent is not None:
        d["parent"] = t.parent
    if t.vocabulary is not None:
        d["vocabulary"] = t.vocabulary
    if t.attrs:
        d["attrs"] = t.attrs
    if isinstance(t, IntervalTier) and t.allow_overlap:
        d["allow_overlap"] = True
    return d


def tier_to_dict(t: Tier) -> dict[str, Any]:
    d = tier_header(t)
    if isinstance(t, IntervalTier):
        d["intervals"] = [a.to_list() for a in t]
    elif isinstance(t, PointTier):
        d["points"] = [a.to_list() for a in t]
    elif isinstance(t, CurveTier):
        d["unit"] = t.unit
        d["values"] = t.values.tolist()
        if t.rate is not None:
            d["rate"] = t.rate
            d["start"] = t.start
        else:
            d["times"] = t.times.tolist()
    else:  # pragma: no cover
        raise TypeError(f"cannot serialize {type(t).__name__}")
    return d


def tier_from_dict(d: dict[str, Any]) -> Tier:
    kind = d.get("type")
    common = {"parent": d.get("parent"), "vocabulary": d.get("vocabulary"), "attrs": d.get("attrs")}
    name = d.get("name")
    if kind == "interval":
        return IntervalTier(
            name,
            [Interval.from_list(x) for x in d.get("intervals", [])],
            allow_overlap=d.get("allow_overlap", False),
            **common,
        )
    if kind == "point":
        return PointTier(name, [Point.from_list(x) for x in d.get("points", [])], **common)
    if kind == "curve":
        vals = np.asarray(d.get("values", []), dtype=float)
        if "rate" in d:
            return CurveTier(
                name, vals, rate=d["rate"], start=d.get("start", 0.0), unit=d.get("unit", ""), **common
            )
        return CurveTier(name, vals, times=d.get("times", []), unit=d.get("unit", ""), **common)
    raise ValueError(f"tier {name!r}: unknown tier type {kind!r}")


def media_to_dict(m: MediaRef, base_dir: Path | None) -> dict[str, Any]:
    path = m.path
    if base_dir is not None:
        try:
            path = os.path.relpath(os.path.abspath(m.path), os.path.abspath(base_dir))
        except ValueError:  # another drive on Windows
            path = os.path.abspath(m.path)
    d: dict[str, Any] = {"path": Path(path).as_posix(), "kind": m.kind, "offset": m.offset, "name": m.name}
    if m.mime_type:
        d["mime_type"] = m.mime_type
    if m.attrs:
        d["attrs"] = m.attrs
    if m.warp is not None:
        d["warp"] = m.warp.to_dict()
    return d


def media_from_dict(d: dict[str, Any], base_dir: Path | None) -> MediaRef:
    path = d["path"]
    if base_dir is not None and not os.path.isabs(path):
        path = os.path.normpath(os.path.join(base_dir, path))
    return MediaRef(
        path=path,
        kind=d.get("kind", "audio"),
        offset=d.get("offset", 0.0),
        name=d.get("name", ""),
        mime_type=d.get("mime_type", ""),
        attrs=d.get("attrs", {}),
        warp=WarpPath.from_dict(d["warp"]) if d.get("warp") else None,
    )


def _entry_to_dict(e: VocabularyEntry) -> dict[str, Any]:
    d: dict[str, Any] = {"value": e.value}
    if e.description:
        d["description"] = e.description
    if e.id:
        d["id"] = e.id
    if e.attrs:
        d["attrs"] = e.attrs
    return d


def vocabulary_to_dict(v: ControlledVocabulary) -> dict[str, Any]:
    d: dict[str, Any] = {"name": v.name, "entries": [_entry_to_dict(e) for e in v.entries]}
    if v.description:
        d["description"] = v.description
    if v.attrs:
        d["attrs"] = v.attrs
    return d


def vocabulary_from_dict(d: dict[str, Any]) -> ControlledVocabulary:
    return ControlledVocabulary(
        name=d["name"],
        entries=[
            VocabularyEntry(e["value"], e.get("description", ""), e.get("id", ""), e.get("attrs", {}))
            for e in d.get("entries", [])
        ],
        description=d.get("description", ""),
        attrs=d.get("attrs", {}),
    )


def alignment_to_dict(a: Alignment) -> dict[str, Any]:
    return {"name": a.name, "warp": a.warp.to_dict(), "method": a.method, "cost": a.cost, "attrs": a.attrs}


def alignment_from_dict(d: dict[str, Any]) -> Alignment:
    return Alignment(
        name=d["name"],
        warp=WarpPath.from_dict(d["warp"]),
        method=d.get("method", ""),
        cost=d.get("cost"),
        attrs=d.get("attrs", {}),
    )


def session_to_dict(s: Session, base_dir: Path | None = None) -> dict[str, Any]:
    return {
        "format": "studio-session",
        "schema": SCHEMA_VERSION,
        "metadata": s.metadata,
        "media": [media_to_dict(m, base_dir) for m in s.media],
        "vocabularies": [vocabulary_to_dict(v) for v in s.vocabularies.values()],
        "tiers": [tier_to_dict(t) for t in s.tiers],
        "alignments": [alignment_to_dict(a) for a in s.alignments.values()],
    }


def session_from_dict(d: dict[str, Any], base_dir: Path | None = None) -> Session:
    return Session(
        tiers=[tier_from_dict(t) for t in d.get("tiers", [])],
        media=[media_from_dict(m, base_dir) for m in d.get("media", [])],
        vocabularies=[vocabulary_from_dict(v) for v in d.get("vocabularies", [])],
        alignments=[alignment_from_dict(a) for a in d.get("alignments", [])],
        metadata=d.get("metadata", {}),
    )
