"""Studio labels JSON (`.json`): a plain, documented interchange file for scripts and web tools.

It holds everything a Session's tiers hold, so a round trip is exact (floats are written with
Python's shortest exact repr). It is NOT the native `.studio` session file (see `native.py`):
no undo journal, no view state. Layout::

    {
      "format": "studio-labels",               # optional when reading
      "version": 1,                            # optional; newer versions are refused
      "time_range": [0.0, 12.5],               # optional: the declared time range
      "media": [{"path": "a.wav", "kind": "audio", "offset": 0.0, "name": "a.wav"}],
      "vocabularies": [{"name": "pos", "description": "",
                        "entries": [{"value": "NOUN", "description": "", "id": ""}]}],
      "metadata": {...},                       # optional free JSON object
      "tiers": [
        {"name": "words", "type": "interval", "parent": "utterances", "vocabulary": null,
         "allow_overlap": false, "attrs": {},
         "annotations": [{"start": 0.1, "end": 0.5, "label": "hello", "confidence": 0.9,
                          "source": "whisper", "attrs": {}, "id": "w1"}]},
        {"name": "beats", "type": "point", "annotations": [{"time": 1.0, "label": "x"}]},
        {"name": "f0", "type": "curve", "unit": "Hz", "rate": 100.0, "start": 0.0,
         "values": [120.0, null, 121.5]},      # or "times": [...] instead of rate/start
      ]
    }

Only `tiers`, each tier's `name` and `type`, and each annotation's times are required; other
keys default (label "", confidence null, source "human", new id). Curve values may be 2-D
(a list per sample); `null` stands for NaN. Media paths are written relative to the JSON file
and resolved against its folder when read. Unknown keys are ignored (forward compatibility).

Errors name the line for JSON syntax errors and the JSON path (e.g.
`tiers[2].annotations[5].end`) for values that are wrong.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import Interval, Point
from ..core.serialize import media_to_dict, tier_header, vocabulary_to_dict
from ..core.session import ControlledVocabulary, MediaRef, Session, VocabularyEntry
from ..core.tiers import CurveTier, IntervalTier, PointTier, Tier
from .atomic import atomic_write_text
from .errors import JsonFormatError
from .registry import Format, register
from .text import read_text

__all__ = ["read_json", "write_json", "FORMAT_TAG", "VERSION"]

FORMAT_TAG = "studio-labels"
VERSION = 1


class _Reader:
    """Checks values while building the session, so every error can name its JSON path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> JsonFormatError:
        return JsonFormatError(self.path, problem, element=where)

    def get(
        self, obj: dict[str, Any], key: str, where: str, kinds: tuple[type, ...], default: Any = ...
    ) -> Any:
        if key not in obj or (obj[key] is None and default is not ...):
            if default is ...:
                raise self.fail(f"{where}.{key}" if where else key, "is missing")
            return default
        v = obj[key]
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            names = " or ".join(k.__name__.replace("str", "string").replace("dict", "object") for k in kinds)
            raise self.fail(f"{where}.{key}" if where else key, f"must be {names}, got {json.dumps(v)[:40]}")
        return v

    def time(self, obj: dict[str, Any], key: str, where: str, default: Any = ...) -> float:
        v = self.get(obj, key, where, (int, float), default)
        if v is None:
            return v
        try:
            t = float(v)
        except OverflowError:
            t = math.inf
        if not math.isfinite(t):
            raise self.fail(f"{where}.{key}", f"{v!r} is not a finite number")
        return t

    def obj(self, v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(where, f"must be an object, got {json.dumps(v)[:40]}")
        return v

    def items(self, obj: dict[str, Any], key: str, where: str) -> list[Any]:
        return self.get(obj, key, where, (list,), [])

    # --- the parts -----------------------------------------------------------------------
    def session(self, data: Any) -> Session:
        data = self.obj(data, "(top level)")
        tag = data.get("format", FORMAT_TAG)
        if tag != FORMAT_TAG:
            raise self.fail("format", f"is {tag!r}, not {FORMAT_TAG!r}: not a Studio labels file")
        version = self.get(data, "version", "", (int,), VERSION)
        if version > VERSION:
            raise self.fail("version", f"is {version}; this Studio reads version {VERSION} or older")
        if "tiers" not in data:
            raise self.fail("tiers", "is missing: not a Studio labels file")
        tiers: list[Tier] = []
        names: set[str] = set()
        for i, td in enumerate(self.get(data, "tiers", "", (list,))):
            tier = self.tier(td, f"tiers[{i}]")
            if tier.name in names:
                raise self.fail(f"tiers[{i}].name", f"a second tier is named {tier.name!r}")
            names.add(tier.name)
            tiers.append(tier)
        metadata = dict(self.get(data, "metadata", "", (dict,), {}))
        if "time_range" in data and data["time_range"] is not None:
            tr = self.get(data, "time_range", "", (list,))
            if len(tr) != 2:
                raise self.fail("time_range", "must be [start, end]")
            a = self.time({"0": tr[0]}, "0", "time_range")
            b = self.time({"1": tr[1]}, "1", "time_range")
            metadata["time_range"] = [a, b]
        media = [self.media(m, f"media[{i}]") for i, m in enumerate(self.items(data, "media", ""))]
        vocabs = [
            self.vocabulary(v, f"vocabularies[{i}]")
            for i, v in enumerate(self.items(data, "vocabularies", ""))
        ]
        try:
            return Session(tiers, media, vocabularies=vocabs, metadata=metadata)
        except ValueError as exc:  # e.g. a tier that is its own parent
            raise self.fail("tiers", str(exc)) from None

    def tier(self, td: Any, where: str) -> Tier:
        td = self.obj(td, where)
        name = self.get(td, "name", where, (str,))
        kind = self.get(td, "type", where, (str,))
        common = {
            "parent": self.get(td, "parent", where, (str,), None),
            "vocabulary": self.get(td, "vocabulary", where, (str,), None),
            "attrs": self.get(td, "attrs", where, (dict,), None),
        }
        try:
            if kind == "interval":
                anns = [
                    self.annotation(a, f"{where}.annotations[{j}]", True)
                    for j, a in enumerate(self.items(td, "annotations", where))
                ]
                overlap = self.get(td, "allow_overlap", where, (bool,), False)
                return IntervalTier(name, anns, allow_overlap=overlap, **common)
            if kind == "point":
                anns = [
                    self.annotation(a, f"{where}.annotations[{j}]", False)
                    for j, a in enumerate(self.items(td, "annotations", where))
                ]
                return PointTier(name, anns, **common)
            if kind == "curve":
                return self.curve(td, where, name, common)
        except ValueError as exc:  # overlaps, duplicate ids, bad curve shapes
            if isinstance(exc, JsonFormatError):
                raise
            raise self.fail(where, str(exc)) from None
        raise self.fail(f"{where}.type", f"is {kind!r}; expected 'interval', 'point' or 'curve'")

    def annotation(self, ad: Any, where: str, interval: bool) -> Interval | Point:
        ad = self.obj(ad, where)
        label = self.get(ad, "label", where, (str,), "")
        conf = self.get(ad, "confidence", where, (int, float), None)
        if conf is not None and not 0.0 <= conf <= 1.0:
            raise self.fail(f"{where}.confidence", f"{conf!r} is outside [0, 1]")
        source = self.get(ad, "source", where, (str,), "human")
        attrs = self.get(ad, "attrs", where, (dict,), None)
        ann_id = self.get(ad, "id", where, (str,), None)
        if not interval:
            return Point(self.time(ad, "time", where), label, conf, source, attrs, ann_id)
        start = self.time(ad, "start", where)
        end = self.time(ad, "end", where)
        if not start < end:
            raise self.fail(f"{where}.end", f"end {end!r} is not after start {start!r}")
        return Interval(start, end, label, conf, source, attrs, ann_id)

    def curve(self, td: dict[str, Any], where: str, name: str, common: dict[str, Any]) -> CurveTier:
        raw = self.get(td, "values", where, (list,))
        try:
            values = np.array(_nan_in(raw), dtype=float)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise self.fail(
                f"{where}.values", "must be numbers (or null), or lists of them of equal length"
            ) from None
        unit = self.get(td, "unit", where, (str,), "")
        if "times" in td and td["times"] is not None:
            times = self.get(td, "times", where, (list,))
            if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
                raise self.fail(f"{where}.times", "must be a list of numbers")
            return CurveTier(name, values, times=times, unit=unit, **common)
        rate = self.time(td, "rate", where)
        start = self.time(td, "start", where, 0.0)
        return CurveTier(name, values, rate=rate, start=start, unit=unit, **common)

    def media(self, md: Any, where: str) -> MediaRef:
        md = self.obj(md, where)
        p = self.get(md, "path", where, (str,))
        full = p if os.path.isabs(p) else os.path.normpath(os.path.join(self.path.parent, p))
        try:
            return MediaRef(
                full,
                kind=self.get(md, "kind", where, (str,), "audio"),
                offset=self.time(md, "offset", where, 0.0),
                name=self.get(md, "name", where, (str,), ""),
                mime_type=self.get(md, "mime_type", where, (str,), ""),
                attrs=self.get(md, "attrs", where, (dict,), {}),
            )
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def vocabulary(self, vd: Any, where: str) -> ControlledVocabulary:
        vd = self.obj(vd, where)
        entries = []
        for j, e in enumerate(self.items(vd, "entries", where)):
            w = f"{where}.entries[{j}]"
            if isinstance(e, str):  # a bare list of values is accepted too
                entries.append(VocabularyEntry(e))
                continue
            e = self.obj(e, w)
            entries.append(
                VocabularyEntry(
                    self.get(e, "value", w, (str,)),
                    self.get(e, "description", w, (str,), ""),
                    self.get(e, "id", w, (str,), ""),
                    self.get(e, "attrs", w, (dict,), {}),
                )
            )
        return ControlledVocabulary(
            self.get(vd, "name", where, (str,)),
            entries,
            self.get(vd, "description", where, (str,), ""),
            self.get(vd, "attrs", where, (dict,), {}),
        )


def _nan_in(v: Any) -> Any:
    if v is None:
        return math.nan
    if isinstance(v, list):
        return [_nan_in(x) for x in v]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("not a number")
    return v


def read_json(path: str | os.PathLike[str], **options: Any) -> Session:
    path = Path(path)
    text, _enc = read_text(path, JsonFormatError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFormatError(
            path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from None
    except RecursionError:
        raise JsonFormatError(path, "not valid JSON: nested too deeply") from None
    return _Reader(path).session(data)


# --- writing ---------------------------------------------------------------------------------
def _ann_dict(a: Interval | Point) -> dict[str, Any]:
    d: dict[str, Any] = {"time": a.time} if isinstance(a, Point) else {"start": a.start, "end": a.end}
    d["label"] = a.label
    if a.confidence is not None:
        d["confidence"] = a.confidence
    if a.source != "human":
        d["source"] = a.source
    if a.attrs:
        d["attrs"] = a.attrs
    d["id"] = a.id
    return d


def _values_out(v: np.ndarray) -> tuple[Any, int]:
    """Curve values as JSON lists (NaN -> null); also how many infinities had to become null."""
    inf = int(np.isinf(v).sum())
    obj = np.where(np.isfinite(v), v, np.nan).astype(object)
    obj[np.isnan(v) | np.isinf(v)] = None
    return obj.tolist(), inf


def _tier_dict(t: Tier, warnings: list[str]) -> dict[str, Any]:
    d = tier_header(t)
    if isinstance(t, IntervalTier):
        d["annotations"] = [_ann_dict(a) for a in t]
    elif isinstance(t, PointTier):
        d["annotations"] = [_ann_dict(a) for a in t]
    elif isinstance(t, CurveTier):
        if t.unit:
            d["unit"] = t.unit
        if t.rate is not None:
            d["rate"] = t.rate
            d["start"] = t.start
        else:
            d["times"] = t.times.tolist()
        d["values"], inf = _values_out(np.asarray(t.values))
        if inf:
            warnings.append(
                f"curve tier {t.name!r}: {inf} infinite values written as null (read back as NaN)"
            )
    return d


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def write_json(session: Session, path: str | os.PathLike[str], *, indent: int | None = 1) -> list[str]:
    """Write the session's tiers (and media, vocabularies, metadata); returns warnings."""
    path = Path(path)
    warnings: list[str] = []
    out: dict[str, Any] = {"format": FORMAT_TAG, "version": VERSION}
    meta = dict(session.metadata)
    tr = meta.pop("time_range", None)
    if tr is not None:
        out["time_range"] = [float(tr[0]), float(tr[1])]
    if session.media:
        out["media"] = [media_to_dict(m, path.parent.resolve()) for m in session.media]
    if session.vocabularies:
        out["vocabularies"] = [vocabulary_to_dict(v) for v in session.vocabularies.values()]
    bad = [k for k, v in meta.items() if not _jsonable(v)]
    for k in bad:
        del meta[k]
    if bad:
        warnings.append(f"metadata entries that are not plain JSON left out: {bad}")
    if meta:
        out["metadata"] = meta
    if session.alignments:
        warnings.append(
            f"alignments left out ({', '.join(session.alignments)}): keep them in a .studio session file"
        )
    out["tiers"] = [_tier_dict(t, warnings) for t in session.tiers]
    converted: list[str] = []

    def as_text(v: Any) -> Any:  # attribute values JSON cannot hold (numpy numbers, dates...)
        if isinstance(v, np.generic):
            return v.item()
        converted.append(type(v).__name__)
        return str(v)

    try:
        text = json.dumps(out, ensure_ascii=False, indent=indent, allow_nan=False, default=as_text)
    except ValueError:  # NaN or infinity inside attributes
        text = json.dumps(out, ensure_ascii=False, indent=indent, default=as_text)
        warnings.append("attributes hold NaN or infinite numbers, written as NaN/Infinity (not strict JSON)")
    if converted:
        warnings.append(
            f"{len(converted)} attribute values of types {sorted(set(converted))} written as text"
        )
    atomic_write_text(path, text + "\n")
    return warnings


def _sniff(head: bytes) -> bool:
    return FORMAT_TAG.encode() in head or b'"tiers"' in head


register(
    Format(
        "json",
        (".json",),
        "Studio labels JSON (tiers, annotations, curves)",
        read=read_json,
        write=write_json,
        sniff=_sniff,
        aliases=("studio-labels",),
    )
)
