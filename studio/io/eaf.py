"""ELAN `.eaf` files (EAF 2.7 to 3.0): read into a Session, write EAF 3.0.

Why our own reader/writer instead of pympi-ling: pympi keeps unaligned time slots as `None`
instead of giving them times, flattens REF_ANNOTATION chains (PREVIOUS_ANNOTATION) into its own
dicts, drops or re-creates parts of the header, reports malformed files as bare KeyErrors, and is
not faster. We need every EAF fact kept for a lossless round trip, errors that name the element
and line, and a parser that cannot be abused (no entity expansion, no network, no huge trees).

Mapping
- Each TIER becomes an `IntervalTier` (name = TIER_ID, parent = PARENT_REF). `tier.attrs` holds
  `linguistic_type`, `participant`, `annotator`, `default_locale`, `lang_ref`, `ext_ref` and
  `constraint` (the linguistic type's stereotype, for other formats to read; the writer goes by
  the linguistic type). Unknown TIER attributes are kept raw in `attrs["eaf_attributes"]`.
- ANNOTATION_ID becomes the Interval `id`, unchanged. EXT_REF/CVE_REF/LANG_REF/SVG_REF go in the
  interval's attrs as `ext_ref`, `cve_ref`, `lang_ref`, `svg_ref`.
- Times are integer milliseconds in the file and seconds in the session; the writer rounds to ms.
- Time_Subdivision (and Included_In) tiers may use time slots without TIME_VALUE. Such a slot gets
  its time by dividing evenly the stretch between the aligned slots on either side of the chain of
  annotations that share it; the interval remembers it in `attrs["unaligned_start"]` /
  `attrs["unaligned_end"]` (the interpolated time). The writer writes that edge unaligned again
  as long as the time still equals the remembered one (a moved edge is written as aligned).
- REF_ANNOTATIONs (Symbolic_Association / Symbolic_Subdivision) take their times from the
  annotation they refer to: one child spans its parent, several children (ordered by their
  PREVIOUS_ANNOTATION chain) divide it evenly. `attrs["annotation_ref"]` keeps the reference;
  the writer writes REF_ANNOTATIONs back with the same ids and references (PREVIOUS_ANNOTATION
  follows the time order of the siblings).
- MEDIA_DESCRIPTORs become `MediaRef`s; the raw descriptor stays in `media.attrs["eaf"]`.
  ELAN's TIME_ORIGIN (ms into the media where the document's time 0 lies) becomes
  `offset = -TIME_ORIGIN / 1000` (session_time = media_time + offset).
- CONTROLLED_VOCABULARY (2.7 CV_ENTRY and 2.8+ CV_ENTRY_ML) becomes `session.vocabularies`; an
  entry's value/description are those of its first language, all languages are kept in
  `entry.attrs["values"]`. A tier's vocabulary is its linguistic type's CONTROLLED_VOCABULARY_REF.
- Everything else needed to write the file back (document attributes, licences, linked files,
  properties, linguistic types, locales, languages, constraints, lexicon refs, reference link
  sets, external refs) goes in `session.metadata["eaf"]` as JSON-able dicts of the raw attributes.

Writing sessions that did not come from ELAN
- Tiers get a linguistic type: "default-lt" for top-level tiers; a tier with a parent gets the
  stereotype its `attrs["constraint"]` names (Included_In when it names none). References of
  symbolic tiers go to the parent annotation containing the child's midpoint.
- Overlapping intervals (allow_overlap tiers) are split into extra tiers "<tier> (2)", ... (ELAN
  tiers cannot overlap) with a warning.
- Point tiers: ELAN has no points. ELAN's own Praat import turns points into short annotations,
  and users expect to see their points in ELAN rather than lose them, so each point is written as
  an annotation starting at the point (to the ms) and lasting `point_duration` seconds (default
  1 ms, the least EAF can hold, cut short before the next point), with a warning. Curve tiers are
  dropped with a warning.
- Reading is lenient where ELAN is: a tier whose annotations overlap (other tools write such
  files and ELAN shows them) is read with `allow_overlap=True`; writing it splits it as above.
- ELAN has no confidence or source per annotation: they are dropped with one warning per tier.
"""

from __future__ import annotations

import bisect
import datetime
import mimetypes
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from lxml import etree

from ..core.annotations import Interval
from ..core.session import ControlledVocabulary, MediaRef, Session, VocabularyEntry
from ..core.tiers import CurveTier, IntervalTier, PointTier
from .atomic import atomic_write_text
from .errors import EafError
from .registry import Format, register

__all__ = ["read_eaf", "write_eaf", "STEREOTYPES"]

STEREOTYPES = ("Time_Subdivision", "Symbolic_Subdivision", "Symbolic_Association", "Included_In")
_SYMBOLIC = ("Symbolic_Subdivision", "Symbolic_Association")
_CONSTRAINT_TEXT = {
    "Time_Subdivision": "Time subdivision of parent annotation's time interval, no time gaps allowed "
    "within this interval",
    "Symbolic_Subdivision": "Symbolic subdivision of a parent annotation. Annotations refering to the "
    "same parent are ordered",
    "Symbolic_Association": "1-1 association with a parent annotation",
    "Included_In": "Time alignable annotations within the parent annotation's time interval, gaps are allowed",
}
_UND = {
    "LANG_DEF": "http://cdb.iso.org/lg/CDB-00130975-001",
    "LANG_ID": "und",
    "LANG_LABEL": "undetermined (und)",
}

# TIER attribute <-> tier.attrs key
_TIER_KEYS = {
    "LINGUISTIC_TYPE_REF": "linguistic_type",
    "PARTICIPANT": "participant",
    "ANNOTATOR": "annotator",
    "DEFAULT_LOCALE": "default_locale",
    "LANG_REF": "lang_ref",
    "EXT_REF": "ext_ref",
}
# annotation attribute <-> interval attrs key (besides ids, slots and references)
_ANN_KEYS = {"EXT_REF": "ext_ref", "CVE_REF": "cve_ref", "LANG_REF": "lang_ref", "SVG_REF": "svg_ref"}
_ALIGN_FIXED = ("ANNOTATION_ID", "TIME_SLOT_REF1", "TIME_SLOT_REF2")
_REF_FIXED = ("ANNOTATION_ID", "ANNOTATION_REF", "PREVIOUS_ANNOTATION")
_OWN_INTERVAL_KEYS = {
    *_ANN_KEYS.values(),
    "annotation_ref",
    "unaligned_start",
    "unaligned_end",
    "eaf_attributes",
}
_OWN_TIER_KEYS = {*_TIER_KEYS.values(), "constraint", "eaf_attributes"}


# ======================================================================================
# reading
# ======================================================================================


def _sniff(head: bytes) -> bool:
    return b"ANNOTATION_DOCUMENT" in head


def _parse(path: Path) -> etree._Element:
    # No entity substitution, no DTD loading, no network, default size limits: an XML bomb or an
    # external entity cannot make us hang, fetch or read other files.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    data = path.read_bytes()  # parsing from a file object reports bad encodings as OSError
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise EafError(path, f"not well-formed XML: {e.msg}", line=e.lineno or None) from None
    if root is None:
        raise EafError(path, "the file holds no XML element")
    if root.tag != "ANNOTATION_DOCUMENT":
        raise EafError(
            path,
            f"not an ELAN file: the root element is <{root.tag}>, expected <ANNOTATION_DOCUMENT>",
            line=root.sourceline,
        )
    return root


def _attrs(el: etree._Element) -> dict[str, str]:
    """Plain (not namespaced) attributes of an element."""
    return {k: v for k, v in el.attrib.items() if not k.startswith("{")}


def _text(el: etree._Element) -> str:
    if len(el):  # unresolved entities or stray elements inside: take all the text
        return "".join(t for t in el.itertext() if isinstance(t, str))
    return el.text or ""


def _elements(parent: etree._Element) -> Iterable[etree._Element]:
    return (c for c in parent if isinstance(c.tag, str))


class _RawTier:
    __slots__ = ("name", "attrs", "parent", "lt", "line", "recs", "index")

    def __init__(self, name: str, attrs: dict[str, str], line: int | None, index: int) -> None:
        self.name = name
        self.attrs = attrs
        self.parent = attrs.get("PARENT_REF")
        self.lt = attrs.get("LINGUISTIC_TYPE_REF")
        self.line = line
        self.recs: list[list[Any]] = []
        self.index = index


# A record: [id, is_ref, slot1|annotation_ref, slot2|previous, label, extra attrs|None, element]
_ID, _ISREF, _R1, _R2, _LABEL, _EXTRA, _EL = range(7)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.slots: dict[str, int | None] = {}
        self.tiers: list[_RawTier] = []
        self.ann_tier: dict[str, _RawTier] = {}
        self.times: dict[str, tuple[float, float]] = {}
        self.flags: dict[str, dict[str, Any]] = {}
        self.slot_known: dict[str, float] = {}  # unaligned slots given a time so far
        self.meta: dict[str, Any] = {}
        self.media: list[MediaRef] = []
        self.vocabularies: list[ControlledVocabulary] = []

    def error(self, problem: str, el: etree._Element | None = None, line: int | None = None) -> EafError:
        if el is not None:
            return EafError(self.path, problem, line=el.sourceline, element=el.tag)
        return EafError(self.path, problem, line=line)

    # --- pass 1: collect ------------------------------------------------------------------
    def read(self) -> Session:
        root = _parse(self.path)
        meta = self.meta
        meta["document"] = _attrs(root)
        for key in ("licenses", "linguistic_types", "locales", "languages", "constraints"):
            meta[key] = []
        for key in ("lexicon_refs", "ref_link_sets", "external_refs", "unknown_elements"):
            meta[key] = []
        handlers = {
            "HEADER": self._header,
            "TIME_ORDER": self._time_order,
            "TIER": self._tier,
            "CONTROLLED_VOCABULARY": self._vocabulary,
            "REF_LINK_SET": self._ref_link_set,
        }
        simple = {
            "LINGUISTIC_TYPE": "linguistic_types",
            "LOCALE": "locales",
            "LANGUAGE": "languages",
            "CONSTRAINT": "constraints",
            "LEXICON_REF": "lexicon_refs",
            "EXTERNAL_REF": "external_refs",
        }
        for el in _elements(root):
            tag = el.tag
            if tag in handlers:
                handlers[tag](el)
            elif tag in simple:
                meta[simple[tag]].append(_attrs(el))
            elif tag == "LICENSE":
                meta["licenses"].append({"url": el.get("LICENSE_URL"), "text": _text(el)})
            else:  # a newer EAF version: keep it so the writer can say it was not written
                meta["unknown_elements"].append(etree.tostring(el, encoding="unicode"))
        for k in [k for k, v in meta.items() if v == []]:
            del meta[k]
        return self._build()

    def _header(self, el: etree._Element) -> None:
        header: dict[str, Any] = {"attrs": _attrs(el), "linked_files": [], "properties": []}
        for c in _elements(el):
            if c.tag == "MEDIA_DESCRIPTOR":
                self.media.append(self._media(c))
            elif c.tag == "LINKED_FILE_DESCRIPTOR":
                header["linked_files"].append(_attrs(c))
            elif c.tag == "PROPERTY":
                header["properties"].append([c.get("NAME"), _text(c)])
        self.meta["header"] = header

    def _media(self, el: etree._Element) -> MediaRef:
        a = _attrs(el)
        url = a.get("MEDIA_URL", "")
        rel = a.get("RELATIVE_MEDIA_URL")
        absolute = _url_to_path(url) if url else ""
        relative = os.path.normpath(self.path.parent / _url_to_path(rel)) if rel else ""
        # ELAN tries the absolute URL first, then the relative one; when neither file exists the
        # relative one is the better guess on another machine.
        if absolute and os.path.exists(absolute):
            path = absolute
        elif relative and os.path.exists(relative):
            path = relative
        else:
            path = relative or absolute or url
        mime = a.get("MIME_TYPE", "")
        kind = "audio" if mime.startswith("audio") else "video" if mime.startswith("video") else "other"
        offset = 0.0
        if a.get("TIME_ORIGIN"):
            try:
                offset = -float(a["TIME_ORIGIN"]) / 1000.0
            except ValueError:
                raise self.error(f"TIME_ORIGIN {a['TIME_ORIGIN']!r} is not a number", el) from None
        try:
            return MediaRef(
                path=path, kind=kind, offset=offset, mime_type=mime, attrs={"eaf": a, "eaf_path": path}
            )
        except ValueError as e:
            raise self.error(str(e), el) from None

    def _time_order(self, el: etree._Element) -> None:
        slots = self.slots
        for ts in _elements(el):
            if ts.tag != "TIME_SLOT":
                continue
            sid = ts.get("TIME_SLOT_ID")
            if not sid:
                raise self.error("TIME_SLOT without TIME_SLOT_ID", ts)
            if sid in slots:
                raise self.error(f"time slot id {sid!r} is used twice", ts)
            v = ts.get("TIME_VALUE")
            if v is None:
                slots[sid] = None
                continue
            try:
                ms = int(v)
            except ValueError:
                try:
                    ms = round(float(v))  # lenient: some tools write "1234.0"
                except (ValueError, OverflowError):
                    raise self.error(f"time slot {sid!r}: TIME_VALUE {v!r} is not a number", ts) from None
            if ms < 0:
                raise self.error(f"time slot {sid!r}: TIME_VALUE {v!r} is negative", ts)
            slots[sid] = ms

    def _tier(self, el: etree._Element) -> None:
        a = _attrs(el)
        name = a.get("TIER_ID")
        if not name or not name.strip():
            raise self.error("TIER without TIER_ID", el)
        if not a.get("LINGUISTIC_TYPE_REF"):
            raise self.error(f"tier {name!r} has no LINGUISTIC_TYPE_REF", el)
        tier = _RawTier(name, a, el.sourceline, len(self.tiers))
        self.tiers.append(tier)
        recs = tier.recs
        owner = self.ann_tier
        align_keys = _ALIGN_FIXED[1:]
        ref_keys = _REF_FIXED[1:]
        # iter() with tag names and items() run in C: the fastest way through lxml for big files.
        for x in el.iter("ALIGNABLE_ANNOTATION", "REF_ANNOTATION"):
            is_ref = x.tag == "REF_ANNOTATION"
            k1, k2 = ref_keys if is_ref else align_keys
            a = dict(x.items())
            aid = a.pop("ANNOTATION_ID", None)
            if not aid:
                raise self.error(f"tier {name!r}: annotation without ANNOTATION_ID", x)
            if aid in owner:
                raise self.error(f"annotation id {aid!r} is used twice", x)
            owner[aid] = tier
            r1 = a.pop(k1, None)
            r2 = a.pop(k2, None)
            if r1 is None or (r2 is None and not is_ref):
                raise self.error(f"annotation {aid!r} has no {k2 if r1 else k1}", x)
            extra = None
            if a:
                extra = {}
                for k, v in a.items():
                    key = _ANN_KEYS.get(k)
                    if key is not None:
                        extra[key] = v
                    elif not k.startswith("{"):
                        extra.setdefault("eaf_attributes", {})[k] = v
            label = ""
            for v in x:  # ANNOTATION_VALUE is the first (only) child in every real file
                if v.tag == "ANNOTATION_VALUE":
                    label = v.text or ""
                    if len(v):  # unresolved entities or stray elements inside: take all the text
                        label = _text(v)
                    break
            recs.append([aid, is_ref, r1, r2, label, extra or None, x])

    def _vocabulary(self, el: etree._Element) -> None:
        a = _attrs(el)
        name = a.get("CV_ID")
        if not name:
            raise self.error("CONTROLLED_VOCABULARY without CV_ID", el)
        cv_attrs: dict[str, Any] = {k.lower(): v for k, v in a.items() if k not in ("CV_ID", "DESCRIPTION")}
        description = a.get("DESCRIPTION", "")
        descriptions = []
        entries = []
        for c in _elements(el):
            if c.tag == "DESCRIPTION":  # 2.8+: one per language
                descriptions.append({"lang_ref": c.get("LANG_REF"), "text": _text(c)})
            elif c.tag == "CV_ENTRY":  # 2.7: one value, description as attribute
                e_attrs = {k.lower(): v for k, v in _attrs(c).items() if k not in ("DESCRIPTION", "CVE_ID")}
                entries.append(
                    VocabularyEntry(_text(c), c.get("DESCRIPTION", ""), c.get("CVE_ID", ""), e_attrs)
                )
            elif c.tag == "CV_ENTRY_ML":
                values = [
                    {
                        "lang_ref": v.get("LANG_REF"),
                        "value": _text(v),
                        "description": v.get("DESCRIPTION", ""),
                    }
                    for v in _elements(c)
                    if v.tag == "CVE_VALUE"
                ]
                e_attrs = {k.lower(): v for k, v in _attrs(c).items() if k != "CVE_ID"}
                e_attrs["values"] = values
                first = values[0] if values else {"value": "", "description": ""}
                entries.append(
                    VocabularyEntry(first["value"], first["description"], c.get("CVE_ID", ""), e_attrs)
                )
        if descriptions:
            cv_attrs["descriptions"] = descriptions
            description = next((d["text"] for d in descriptions if d["text"]), "")
        self.vocabularies.append(ControlledVocabulary(name, entries, description, cv_attrs))

    def _ref_link_set(self, el: etree._Element) -> None:
        links = [{"tag": c.tag, "attrs": _attrs(c), "text": _text(c)} for c in _elements(el)]
        self.meta["ref_link_sets"].append({"attrs": _attrs(el), "links": links})

    # --- pass 2: times --------------------------------------------------------------------
    def _build(self) -> Session:
        lts = {lt.get("LINGUISTIC_TYPE_ID"): lt for lt in self.meta.get("linguistic_types", [])}
        by_name: dict[str, _RawTier] = {}
        for t in self.tiers:
            if t.name in by_name:
                raise self.error(f"tier id {t.name!r} is used twice", line=t.line)
            by_name[t.name] = t
        for t in self.tiers:
            if t.lt not in lts:
                raise self.error(
                    f"tier {t.name!r}: LINGUISTIC_TYPE_REF {t.lt!r} names no LINGUISTIC_TYPE", line=t.line
                )
            if t.parent is not None and t.parent not in by_name:
                raise self.error(f"tier {t.name!r}: PARENT_REF {t.parent!r} names no tier", line=t.line)
        self.by_name = by_name
        for t in self._parents_first(by_name):
            self._resolve(t)

        out = []
        for t in self.tiers:
            lt = lts[t.lt]
            attrs: dict[str, Any] = {}
            for k, v in t.attrs.items():
                if k in ("TIER_ID", "PARENT_REF"):
                    continue
                key = _TIER_KEYS.get(k)
                if key is not None:
                    attrs[key] = v
                else:
                    attrs.setdefault("eaf_attributes", {})[k] = v
            if lt.get("CONSTRAINTS"):
                attrs["constraint"] = lt["CONSTRAINTS"]
            cv = lt.get("CONTROLLED_VOCABULARY_REF")
            intervals = []
            times, flags = self.times, self.flags
            for rec in t.recs:
                aid = rec[_ID]
                start, end = times[aid]
                extra = rec[_EXTRA]
                fl = flags.get(aid)
                if rec[_ISREF] or fl:
                    extra = dict(extra) if extra else {}
                    if rec[_ISREF]:
                        extra["annotation_ref"] = rec[_R1]
                    if fl:
                        extra.update(fl)
                try:
                    intervals.append(Interval(start, end, rec[_LABEL], attrs=extra, id=aid))
                except ValueError as e:
                    raise self.error(f"tier {t.name!r}, annotation {aid!r}: {e}", rec[_EL]) from None
            kw: dict[str, Any] = dict(parent=t.parent, vocabulary=cv, attrs=attrs)
            try:
                tier = IntervalTier(t.name, intervals, **kw)
            except ValueError:
                # ELAN shows overlapping annotations of one tier (other tools write them); keep them.
                tier = IntervalTier(t.name, intervals, allow_overlap=True, **kw)
            out.append(tier)
        return Session(out, self.media, vocabularies=self.vocabularies, metadata={"eaf": self.meta})

    def _parents_first(self, by_name: dict[str, _RawTier]) -> list[_RawTier]:
        order: list[_RawTier] = []
        state: dict[str, int] = {}
        for t in self.tiers:
            chain = []
            cur: _RawTier | None = t
            while cur is not None and state.get(cur.name) is None:
                state[cur.name] = 1
                chain.append(cur)
                cur = by_name.get(cur.parent) if cur.parent is not None else None
            if cur is not None and state.get(cur.name) == 1:
                raise self.error(f"tier {cur.name!r} is its own ancestor (PARENT_REF cycle)", line=cur.line)
            for c in reversed(chain):
                state[c.name] = 2
                order.append(c)
        return order

    def _slot(self, sid: str, rec: list[Any]) -> float | None:
        try:
            ms = self.slots[sid]
        except KeyError:
            raise self.error(
                f"annotation {rec[_ID]!r}: time slot {sid!r} is not in the TIME_ORDER", rec[_EL]
            ) from None
        if ms is None:
            return self.slot_known.get(sid)
        return ms / 1000.0

    def _resolve(self, t: _RawTier) -> None:
        times = self.times
        pending = []
        groups: dict[str, list[list[Any]]] = {}
        for rec in t.recs:
            if rec[_ISREF]:
                groups.setdefault(rec[_R1], []).append(rec)
                continue
            s = self._slot(rec[_R1], rec)
            e = self._slot(rec[_R2], rec)
            if s is None or e is None:
                pending.append(rec)
            else:
                times[rec[_ID]] = (s, e)
        if pending:
            self._interpolate(t, pending)
        for parent_id, children in groups.items():
            self._resolve_refs(t, parent_id, children)

    def _interpolate(self, t: _RawTier, pending: list[list[Any]]) -> None:
        """Give unaligned slots times: spread each chain of annotations (linked by shared slots)
        evenly between the aligned (or already placed) slots at its two ends."""
        alignable = [r for r in t.recs if not r[_ISREF]]
        starts = {r[_R1]: r for r in alignable}
        ends = {r[_R2]: r for r in alignable}
        done: set[str] = set()
        for rec in pending:
            if rec[_ID] in done:
                continue
            head, seen = rec, {rec[_ID]}
            while self._slot(head[_R1], head) is None:
                prev = ends.get(head[_R1])
                if prev is None or prev[_ID] in seen:
                    break
                seen.add(prev[_ID])
                head = prev
            chain, ids = [head], {head[_ID]}
            while self._slot(chain[-1][_R2], chain[-1]) is None:
                nxt = starts.get(chain[-1][_R2])
                if nxt is None or nxt[_ID] in ids:
                    break
                chain.append(nxt)
                ids.add(nxt[_ID])
            t0 = self._slot(head[_R1], head)
            t1 = self._slot(chain[-1][_R2], chain[-1])
            if t0 is None or t1 is None:
                t0, t1 = self._parent_span(t, head, t0, t1)
            n = len(chain)
            step = (t1 - t0) / n
            for k, r in enumerate(chain):
                s = t0 + k * step
                e = t1 if k == n - 1 else t0 + (k + 1) * step
                self.times[r[_ID]] = (s, e)
                fl = {}
                if self.slots.get(r[_R1], 0) is None:
                    fl["unaligned_start"] = s
                    self.slot_known[r[_R1]] = s
                if self.slots.get(r[_R2], 0) is None:
                    fl["unaligned_end"] = e
                    self.slot_known[r[_R2]] = e
                if fl:
                    self.flags[r[_ID]] = fl
                done.add(r[_ID])

    def _parent_span(
        self, t: _RawTier, rec: list[Any], t0: float | None, t1: float | None
    ) -> tuple[float, float]:
        """Fallback for a chain that does not reach aligned slots: the parent annotation's edges."""
        parent = self.by_name.get(t.parent) if t.parent is not None else None
        if parent is not None and (t0 is not None or t1 is not None):
            for r in parent.recs:
                ps, pe = self.times.get(r[_ID], (0.0, -1.0))
                if (t0 is not None and ps <= t0 < pe) or (t0 is None and ps < t1 <= pe):
                    return (ps if t0 is None else t0, pe if t1 is None else t1)
        raise self.error(
            f"annotation {rec[_ID]!r} on tier {t.name!r}: its unaligned time slots cannot be placed "
            "(no aligned neighbour and no parent annotation)",
            rec[_EL],
        )

    def _resolve_refs(self, t: _RawTier, parent_id: str, children: list[list[Any]]) -> None:
        span = self.times.get(parent_id)
        if span is None:
            el = children[0][_EL]
            owner = self.ann_tier.get(parent_id)
            if owner is None:
                raise self.error(
                    f"annotation {children[0][_ID]!r}: ANNOTATION_REF {parent_id!r} names no annotation", el
                )
            raise self.error(
                f"annotation {children[0][_ID]!r} on tier {t.name!r} refers to {parent_id!r} on tier "
                f"{owner.name!r}, which is not an ancestor of {t.name!r}",
                el,
            )
        if len(children) > 1:
            children = self._ordered(children)
        t0, t1 = span
        n = len(children)
        step = (t1 - t0) / n
        for k, r in enumerate(children):
            self.times[r[_ID]] = (t0 + k * step, t1 if k == n - 1 else t0 + (k + 1) * step)

    def _ordered(self, children: list[list[Any]]) -> list[list[Any]]:
        """Siblings in PREVIOUS_ANNOTATION order (document order where the chain is broken)."""
        by_prev: dict[str | None, list[Any]] = {}
        for r in children:
            prev = r[_R2]
            if prev is not None and prev not in self.ann_tier:
                raise self.error(
                    f"annotation {r[_ID]!r}: PREVIOUS_ANNOTATION {prev!r} names no annotation", r[_EL]
                )
            by_prev.setdefault(prev, r)
        ordered, seen = [], set()
        cur = by_prev.get(None)
        while cur is not None and cur[_ID] not in seen:
            ordered.append(cur)
            seen.add(cur[_ID])
            cur = by_prev.get(cur[_ID])
        if len(ordered) != len(children):
            ordered += [r for r in children if r[_ID] not in seen]
        return ordered


def _url_to_path(url: str) -> str:
    """A MEDIA_URL / RELATIVE_MEDIA_URL as a local path (other URLs, e.g. http:, stay as they are)."""
    p = urlparse(url)
    if p.scheme == "file":
        path = unquote(p.path)
    elif p.scheme and len(p.scheme) > 1:  # a one-letter scheme is a Windows drive
        return url
    else:
        path = unquote(url)
    if re.match(r"^/[A-Za-z]:/", path):  # file:///C:/x -> C:/x, on every OS
        path = path[1:]
    return url2pathname(path) if os.name == "nt" else path


def read_eaf(path: str | os.PathLike[str], **options: Any) -> Session:
    """Read an ELAN .eaf file (EAF 2.7 to 3.0) into a Session."""
    return _Reader(Path(path)).read()


# ======================================================================================
# writing
# ======================================================================================

_NCNAME = re.compile(r"^[^\W\d][\w.\-]*$")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR_SPECIAL = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]')
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR_TABLE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_TEXT_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_SLOT_REF = re.compile("\0(\\d+)\0")


class _Lane:
    """One tier as it will be written (an overlapping tier becomes several lanes)."""

    def __init__(self, name: str, intervals: list[Interval], source: Any, parent: str | None) -> None:
        self.name = name
        self.intervals = intervals
        self.source = source
        self.parent = parent
        self.lt = ""
        self.constraint: str | None = None
        # Filled while writing, for child tiers to find their parent annotations:
        # (id, start, end, start slot, end slot) in start order.
        self.written: list[tuple[str, float, float, int, int]] = []
        self.starts: list[float] = []
        self.index_by_id: dict[str, int] = {}
        self.xml: list[str] = []


class _Writer:
    def __init__(self, session: Session, path: Path, point_duration: float) -> None:
        self.session = session
        self.path = path
        self.point_duration = max(float(point_duration), 0.001)
        self.warnings: list[str] = []
        meta = session.metadata.get("eaf")
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        self.bad_chars = 0
        self.bad_refs = 0
        self.need_und = False
        self.slot_ms: list[int | None] = []
        self.slot_key: list[float] = []
        self.lts: dict[str, dict[str, str]] = {}
        self.ids: dict[int, str] = {}
        self.taken: set[str] = set()  # every xsd:ID value in the document
        self.last_id = 0

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def _list(self, key: str) -> list[dict[str, Any]]:
        v = self.meta.get(key)
        return [dict(x) for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    def _dict(self, key: str) -> dict[str, Any]:
        v = self.meta.get(key)
        return v if isinstance(v, dict) else {}

    # --- escaping -------------------------------------------------------------------------
    def attr(self, value: Any) -> str:
        s = value if type(value) is str else str(value)
        if _ATTR_SPECIAL.search(s) is None:
            return s
        if _BAD_CHARS.search(s):
            self.bad_chars += 1
            s = _BAD_CHARS.sub("", s)
        return s.translate(_ATTR_TABLE)

    def text(self, value: str) -> str:
        if _TEXT_SPECIAL.search(value) is None:
            return value
        if _BAD_CHARS.search(value):
            self.bad_chars += 1
            value = _BAD_CHARS.sub("", value)
        return value.translate(_TEXT_TABLE)

    def attrs(self, attrs: dict[str, Any]) -> str:
        # ELAN writes attributes in alphabetical order; so do we, for small diffs.
        return "".join(f' {k}="{self.attr(v)}"' for k, v in sorted(attrs.items()) if v is not None)

    def element(
        self, indent: str, tag: str, attrs: dict[str, Any], text: str | None = None, empty: bool = True
    ) -> str:
        """One element on one line; `<tag/>` when it has no text, unless `empty` is False."""
        if not text and empty:
            return f"{indent}<{tag}{self.attrs(attrs)}/>\n"
        return f"{indent}<{tag}{self.attrs(attrs)}>{self.text(text or '')}</{tag}>\n"

    # --- preparing tiers ------------------------------------------------------------------
    def _lanes(self) -> list[_Lane]:
        lanes: list[_Lane] = []
        used = {t.name for t in self.session.tiers}
        for t in self.session.tiers:
            if isinstance(t, CurveTier):
                self.warn(f"tier {t.name!r}: ELAN has no curve tiers; its {len(t)} samples were not written")
            elif isinstance(t, PointTier):
                lanes.append(_Lane(t.name, self._points(t), t, t.parent))
            elif not isinstance(t, IntervalTier):
                self.warn(f"tier {t.name!r}: a {type(t).__name__} cannot be written to ELAN; left out")
            else:
                items = list(t)
                self._check_content(t, items)
                parts = self._split(items) if t.allow_overlap else [items]
                names = [t.name]
                for k in range(2, len(parts) + 1):
                    n, j = f"{t.name} ({k})", k
                    while n in used:
                        j += 1
                        n = f"{t.name} ({j})"
                    used.add(n)
                    names.append(n)
                for n, part in zip(names, parts):
                    lanes.append(_Lane(n, part, t, t.parent))
                if len(parts) > 1:
                    self.warn(
                        f"tier {t.name!r}: ELAN tiers cannot overlap; its overlapping intervals were split "
                        f"over tiers {', '.join(repr(n) for n in names)}"
                    )
        return lanes

    @staticmethod
    def _split(items: list[Interval]) -> list[list[Interval]]:
        """Greedy: each interval goes to the first lane whose last interval has ended."""
        parts: list[list[Interval]] = []
        ends: list[float] = []
        for a in sorted(items, key=lambda a: (a.start, a.end)):
            for k, e in enumerate(ends):
                if e <= a.start:
                    parts[k].append(a)
                    ends[k] = a.end
                    break
            else:
                parts.append([a])
                ends.append(a.end)
        return parts or [[]]

    def _points(self, t: PointTier) -> list[Interval]:
        pts = list(t)
        # Work in ms, as the file will: of points on the same ms the first one is kept.
        kept = [(round(p.time * 1000), p) for p in pts if p.time >= 0]
        kept = [kp for k, kp in enumerate(kept) if k == 0 or kp[0] != kept[k - 1][0]]
        dur = max(1, round(self.point_duration * 1000))
        out = []
        for k, (ms, p) in enumerate(kept):
            end = ms + dur if k + 1 == len(kept) else min(ms + dur, kept[k + 1][0])
            attrs = {k2: v for k2, v in p.attrs.items() if k2 in _OWN_INTERVAL_KEYS}
            out.append(Interval(ms / 1000, end / 1000, p.label, attrs=attrs, id=p.id))
        dropped = len(pts) - len(out)
        msg = (
            f"tier {t.name!r}: ELAN has no point tiers; its {len(out)} points were written as "
            f"{round(self.point_duration * 1000)} ms annotations"
        )
        if dropped:
            msg += f" ({dropped} points before 0 s or on the same millisecond as another were left out)"
        self.warn(msg)
        self._check_content(t, pts)
        return out

    def _check_content(self, t: Any, items: list[Any]) -> None:
        if any(a.confidence is not None or a.source != "human" for a in items):
            self.warn(f"tier {t.name!r}: ELAN cannot hold confidences or sources; they were not written")
        foreign = {k for a in items if a.attrs for k in a.attrs if k not in _OWN_INTERVAL_KEYS}
        if foreign:
            self.warn(
                f"tier {t.name!r}: annotation attributes {sorted(foreign)} have no place in ELAN; not written"
            )
        foreign = {k for k in t.attrs if k not in _OWN_TIER_KEYS}
        if foreign:
            self.warn(
                f"tier {t.name!r}: tier attributes {sorted(foreign)} have no place in ELAN; not written"
            )

    # --- linguistic types -----------------------------------------------------------------
    def _types(self, lanes: list[_Lane]) -> None:
        for lt in self._list("linguistic_types"):
            if lt.get("LINGUISTIC_TYPE_ID"):
                self.lts[str(lt["LINGUISTIC_TYPE_ID"])] = {k: str(v) for k, v in lt.items() if v is not None}
        names = {ln.name for ln in lanes}
        for ln in lanes:
            attrs = ln.source.attrs
            if ln.parent is not None and ln.parent not in names:
                self.warn(
                    f"tier {ln.name!r}: its parent tier {ln.parent!r} is not written; written as a top-level tier"
                )
                ln.parent = None
            lt = self.lts.get(attrs.get("linguistic_type"))
            if lt is not None:
                constraint = lt.get("CONSTRAINTS") or None
            else:
                constraint = attrs.get("constraint")
                if constraint not in STEREOTYPES:
                    constraint = "Included_In" if ln.parent is not None else None
            if ln.parent is None and constraint is not None:
                constraint, lt = None, None
            if isinstance(ln.source, PointTier) and constraint in _SYMBOLIC:
                constraint, lt = "Included_In", None
            self._set_type(ln, lt if lt is not None else self._type_for(constraint), constraint)

    def _set_type(self, ln: _Lane, lt: dict[str, str], constraint: str | None) -> None:
        vocab = ln.source.vocabulary
        if vocab is not None and vocab not in self.session.vocabularies:
            self.warn(f"tier {ln.name!r}: vocabulary {vocab!r} is not in the session; not linked")
            vocab = None
        if (lt.get("CONTROLLED_VOCABULARY_REF") or None) != vocab:
            lt = self._type_with_vocab(lt, vocab)
        ln.lt = lt["LINGUISTIC_TYPE_ID"]
        ln.constraint = constraint

    def _new_type_id(self, base: str) -> str:
        name, k = base, 2
        while name in self.lts:
            name, k = f"{base}-{k}", k + 1
        return name

    def _type_for(self, constraint: str | None) -> dict[str, str]:
        for lt in self.lts.values():
            if (lt.get("CONSTRAINTS") or None) == constraint and not lt.get("CONTROLLED_VOCABULARY_REF"):
                return lt
        base = "default-lt" if constraint is None else constraint.lower().replace("_", "-")
        lt = {"LINGUISTIC_TYPE_ID": self._new_type_id(base), "GRAPHIC_REFERENCES": "false"}
        lt["TIME_ALIGNABLE"] = "false" if constraint in _SYMBOLIC else "true"
        if constraint:
            lt["CONSTRAINTS"] = constraint
        self.lts[lt["LINGUISTIC_TYPE_ID"]] = lt
        return lt

    def _type_with_vocab(self, base: dict[str, str], vocab: str | None) -> dict[str, str]:
        """A linguistic type like `base` but with this vocabulary (ELAN ties vocabularies to types)."""
        for lt in self.lts.values():
            if (lt.get("CONSTRAINTS") or None) == (base.get("CONSTRAINTS") or None) and (
                lt.get("CONTROLLED_VOCABULARY_REF") or None
            ) == vocab:
                return lt
        lt = {k: v for k, v in base.items() if k != "CONTROLLED_VOCABULARY_REF"}
        lt["LINGUISTIC_TYPE_ID"] = self._new_type_id(f"{base['LINGUISTIC_TYPE_ID']}-{vocab or 'free'}")
        if vocab is not None:
            lt["CONTROLLED_VOCABULARY_REF"] = vocab
        self.lts[lt["LINGUISTIC_TYPE_ID"]] = lt
        return lt

    def _parents_first(self, lanes: list[_Lane]) -> list[_Lane]:
        by_name = {ln.name: ln for ln in lanes}
        order: list[_Lane] = []
        state: dict[str, int] = {}
        for ln in lanes:
            chain: list[_Lane] = []
            cur: _Lane | None = ln
            while cur is not None and cur.name not in state:
                state[cur.name] = 1
                chain.append(cur)
                cur = by_name.get(cur.parent) if cur.parent else None
            if cur is not None and state[cur.name] == 1:  # a parent cycle: cut it here
                self.warn(f"tier {cur.name!r}: its parents form a cycle; written as a top-level tier")
                cur.parent = None
                self._set_type(cur, self._type_for(None), None)
            for c in reversed(chain):
                state[c.name] = 2
                order.append(c)
        return order

    # --- ids ------------------------------------------------------------------------------
    def _ids(self, lanes: list[_Lane]) -> None:
        """Keep annotation ids that are valid XML ids and unique; number the rest after ELAN's
        lastUsedAnnotationId (xsd:ID values share one space with time slots, languages, ...)."""
        taken = self.taken
        last = 0
        todo = []
        for ln in lanes:
            for a in ln.intervals:
                aid = a.id
                if _NCNAME.match(aid) and aid not in taken:
                    taken.add(aid)
                    self.ids[id(a)] = aid
                    if aid[0] == "a" and aid[1:].isdigit():
                        last = max(last, int(aid[1:]))
                else:
                    todo.append(a)
        for name, value in self._properties():
            if name == "lastUsedAnnotationId" and value.strip().isdigit():
                last = max(last, int(value))
        for a in todo:
            last += 1
            while f"a{last}" in taken:
                last += 1
            taken.add(f"a{last}")
            self.ids[id(a)] = f"a{last}"
        self.last_id = last

    def _properties(self) -> list[tuple[str | None, str]]:
        props = self._dict("header").get("properties")
        out = []
        for p in props if isinstance(props, list) else []:
            if isinstance(p, (list, tuple)) and len(p) == 2:
                out.append((None if p[0] is None else str(p[0]), str(p[1])))
        return out

    # --- annotations ----------------------------------------------------------------------
    def _new_slot(self, ms: int | None, key: float) -> int:
        self.slot_ms.append(ms)
        self.slot_key.append(key)
        return len(self.slot_ms) - 1

    @staticmethod
    def _parent_of(parent: _Lane, a: Interval, ref: Any = None) -> int | None:
        """Index in parent.written of the annotation holding `a`: the one it refers to if that
        still holds its midpoint, else the one holding its midpoint."""
        mid = a.mid
        if isinstance(ref, str):
            k = parent.index_by_id.get(ref)
            if k is not None and parent.written[k][1] <= mid <= parent.written[k][2]:
                return k
        k = bisect.bisect_right(parent.starts, mid) - 1
        for j in (k, k - 1):
            if j >= 0 and parent.written[j][1] <= mid <= parent.written[j][2]:
                return j
        return None

    def _ann_attrs(self, a: Interval, alignable: bool) -> str:
        """CVE_REF, EXT_REF, LANG_REF (and SVG_REF) when they point at something that exists."""
        attrs = a.attrs
        if not attrs:
            return ""
        out = []
        for raw, key in _ANN_KEYS.items():
            v = attrs.get(key)
            if v is None or (raw == "SVG_REF" and not alignable):
                continue
            if (raw == "EXT_REF" and not all(x in self.ext_ids for x in str(v).split())) or (
                raw == "LANG_REF" and v not in self.lang_ids
            ):
                self.bad_refs += 1
                continue
            out.append((raw, v))
        raw = attrs.get("eaf_attributes")
        if isinstance(raw, dict):
            out += [(k, v) for k, v in raw.items() if _NCNAME.match(str(k)) and k not in _ANN_KEYS]
        return "".join(f' {k}="{self.attr(v)}"' for k, v in sorted(out))

    def _write_lane(self, ln: _Lane, parent: _Lane | None) -> None:
        if ln.constraint in _SYMBOLIC and parent is not None:
            self._write_refs(ln, parent)
            return
        ids, xml = self.ids, ln.xml
        share = ln.constraint == "Time_Subdivision" and parent is not None
        dropped = 0
        prev: tuple[int, int | None, int] | None = None  # (end ms, parent index, end slot)
        for a in sorted(ln.intervals, key=lambda a: (a.start, a.end)):
            s_ms, e_ms = round(a.start * 1000), round(a.end * 1000)
            if s_ms < 0 or e_ms <= s_ms:
                dropped += 1
                continue
            un_s = un_e = False
            if a.attrs:
                u = a.attrs.get("unaligned_start")
                un_s = isinstance(u, float) and abs(u - a.start) < 5e-4
                u = a.attrs.get("unaligned_end")
                un_e = isinstance(u, float) and abs(u - a.end) < 5e-4
            s_slot = e_slot = pk = None
            if share:
                # Time subdivisions share time slots with their parent's edges and each other, as ELAN does.
                pk = self._parent_of(parent, a)
                if prev is not None and prev[0] == s_ms and prev[1] == pk:
                    s_slot = prev[2]
                elif pk is not None and round(parent.written[pk][1] * 1000) == s_ms:
                    s_slot = parent.written[pk][3]
                if pk is not None and round(parent.written[pk][2] * 1000) == e_ms:
                    e_slot = parent.written[pk][4]
            if s_slot is None:
                s_slot = self._new_slot(None if un_s else s_ms, a.start * 1000)
            if e_slot is None:
                e_slot = self._new_slot(None if un_e else e_ms, a.end * 1000)
            prev = (e_ms, pk, e_slot)
            aid = ids[id(a)]
            ln.index_by_id[aid] = len(ln.written)
            ln.written.append((aid, a.start, a.end, s_slot, e_slot))
            ln.starts.append(a.start)
            xml.append(
                f'        <ANNOTATION>\n            <ALIGNABLE_ANNOTATION ANNOTATION_ID="{aid}"'
                f'{self._ann_attrs(a, True)} TIME_SLOT_REF1="\0{s_slot}\0" TIME_SLOT_REF2="\0{e_slot}\0">\n'
                f"                <ANNOTATION_VALUE>{self.text(a.label)}</ANNOTATION_VALUE>\n"
                "            </ALIGNABLE_ANNOTATION>\n        </ANNOTATION>\n"
            )
        if dropped:
            self.warn(
                f"tier {ln.name!r}: {dropped} intervals shorter than 1 ms or before 0 s cannot be "
                "written in ELAN's milliseconds; left out"
            )

    def _write_refs(self, ln: _Lane, parent: _Lane) -> None:
        groups: dict[int, list[Interval]] = {}
        orphans = surplus = 0
        for a in sorted(ln.intervals, key=lambda a: (a.start, a.end)):
            pk = self._parent_of(parent, a, a.attrs.get("annotation_ref") if a.attrs else None)
            if pk is None:
                orphans += 1
                continue
            g = groups.setdefault(pk, [])
            if g and ln.constraint == "Symbolic_Association":
                surplus += 1
                continue
            g.append(a)
        for pk in sorted(groups):
            ref, prev = parent.written[pk][0], ""
            for a in groups[pk]:
                aid = self.ids[id(a)]
                ln.index_by_id[aid] = len(ln.written)
                ln.written.append((aid, a.start, a.end, -1, -1))
                ln.starts.append(a.start)
                p = f' PREVIOUS_ANNOTATION="{prev}"' if prev else ""
                ln.xml.append(
                    f'        <ANNOTATION>\n            <REF_ANNOTATION ANNOTATION_ID="{aid}"'
                    f'{self._ann_attrs(a, False)} ANNOTATION_REF="{ref}"{p}>\n'
                    f"                <ANNOTATION_VALUE>{self.text(a.label)}</ANNOTATION_VALUE>\n"
                    "            </REF_ANNOTATION>\n        </ANNOTATION>\n"
                )
                prev = aid
        if orphans:
            self.warn(
                f"tier {ln.name!r}: {orphans} intervals lie in no annotation of parent tier "
                f"{parent.name!r}, so they cannot refer to one; left out"
            )
        if surplus:
            self.warn(
                f"tier {ln.name!r}: Symbolic_Association allows one annotation per parent annotation; "
                f"{surplus} more were left out"
            )

    # --- the document ---------------------------------------------------------------------
    def build(self) -> str:
        lanes = self._lanes()
        self._types(lanes)
        languages = [x for x in self._list("languages") if x.get("LANG_ID")]
        self.lang_ids = {str(x["LANG_ID"]) for x in languages}
        ext_refs = [x for x in self._list("external_refs") if x.get("EXT_REF_ID")]
        self.ext_ids = {str(x["EXT_REF_ID"]) for x in ext_refs}
        self.locales = [x for x in self._list("locales") if x.get("LANGUAGE_CODE")]
        lexicons = [x for x in self._list("lexicon_refs") if x.get("LEX_REF_ID")]
        link_sets = self._list("ref_link_sets")
        taken = self.taken
        taken |= self.lang_ids | self.ext_ids | set(STEREOTYPES) | {"und"}
        taken |= {str(x["LANGUAGE_CODE"]) for x in self.locales} | {str(x["LEX_REF_ID"]) for x in lexicons}
        for ls in link_sets:
            taken.add(str((ls.get("attrs") or {}).get("LINK_SET_ID", "")))
            for link in ls.get("links") or []:
                taken.add(str((link.get("attrs") or {}).get("REF_LINK_ID", "")))
        self._ids(lanes)

        by_name = {ln.name: ln for ln in lanes}
        for ln in self._parents_first(lanes):
            self._write_lane(ln, by_name.get(ln.parent) if ln.parent else None)

        # Time slots in time order (unaligned ones where they were interpolated), numbered ts1, ts2...
        order = sorted(range(len(self.slot_ms)), key=lambda k: (self.slot_key[k], k))
        names = [""] * len(order)
        n = 0
        for k in order:
            n += 1
            while f"ts{n}" in taken:
                n += 1
            names[k] = f"ts{n}"

        out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        doc = self._dict("document")
        date = datetime.datetime.now().astimezone().replace(microsecond=0).isoformat()
        out.append(
            f'<ANNOTATION_DOCUMENT AUTHOR="{self.attr(doc.get("AUTHOR", ""))}" DATE="{date}" FORMAT="3.0" '
            'VERSION="3.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">\n'
        )
        for lic in self._list("licenses"):
            out.append(
                self.element("    ", "LICENSE", {"LICENSE_URL": lic.get("url")}, lic.get("text") or "")
            )
        out += self._header()
        out.append("    <TIME_ORDER>\n")
        for k in order:
            ms = self.slot_ms[k]
            v = "" if ms is None else f' TIME_VALUE="{ms}"'
            out.append(f'        <TIME_SLOT TIME_SLOT_ID="{names[k]}"{v}/>\n')
        out.append("    </TIME_ORDER>\n")
        for ln in lanes:
            attrs = self._tier_attrs(ln)
            if ln.xml:
                out.append(f"    <TIER{self.attrs(attrs)}>\n")
                out.append(_SLOT_REF.sub(lambda m: names[int(m.group(1))], "".join(ln.xml)))
                out.append("    </TIER>\n")
            else:
                out.append(f"    <TIER{self.attrs(attrs)}/>\n")
        lex_ids = {x["LEX_REF_ID"] for x in lexicons}
        for lt in self.lts.values():
            lt = dict(lt)
            cv = lt.get("CONTROLLED_VOCABULARY_REF")
            if cv and cv not in self.session.vocabularies:
                self.warn(
                    f"linguistic type {lt['LINGUISTIC_TYPE_ID']!r}: vocabulary {cv!r} is not in the session; "
                    "link removed"
                )
                del lt["CONTROLLED_VOCABULARY_REF"]
            if lt.get("EXT_REF") and not all(x in self.ext_ids for x in lt["EXT_REF"].split()):
                del lt["EXT_REF"]
            if lt.get("LEXICON_REF") and lt["LEXICON_REF"] not in lex_ids:
                del lt["LEXICON_REF"]
            out.append(self.element("    ", "LINGUISTIC_TYPE", lt))
        for loc in self.locales:
            out.append(self.element("    ", "LOCALE", loc))
        cv_xml = [self._vocabulary(cv) for cv in self.session.vocabularies.values()]
        if self.need_und and "und" not in self.lang_ids:
            languages.append(dict(_UND))
        for lang in languages:
            out.append(self.element("    ", "LANGUAGE", lang))
        for st in STEREOTYPES:
            out.append(
                self.element("    ", "CONSTRAINT", {"DESCRIPTION": _CONSTRAINT_TEXT[st], "STEREOTYPE": st})
            )
        out += cv_xml
        for lex in lexicons:
            out.append(self.element("    ", "LEXICON_REF", lex))
        out += self._link_sets(link_sets)
        for ext in ext_refs:
            out.append(self.element("    ", "EXTERNAL_REF", ext))
        out.append("</ANNOTATION_DOCUMENT>\n")
        unknown = self.meta.get("unknown_elements")
        if isinstance(unknown, list) and unknown:
            self.warn(
                f"{len(unknown)} elements of a newer EAF version cannot be written in EAF 3.0; left out"
            )
        if self.bad_chars:
            self.warn(f"{self.bad_chars} labels or names held characters XML cannot hold; those were removed")
        if self.bad_refs:
            self.warn(
                f"{self.bad_refs} annotation references to missing languages or external refs were removed"
            )
        return "".join(out)

    def _tier_attrs(self, ln: _Lane) -> dict[str, Any]:
        attrs: dict[str, Any] = {"TIER_ID": ln.name, "LINGUISTIC_TYPE_REF": ln.lt, "PARENT_REF": ln.parent}
        src = ln.source.attrs
        locales = {x["LANGUAGE_CODE"] for x in self.locales}
        for raw, key in _TIER_KEYS.items():
            v = src.get(key)
            if raw == "LINGUISTIC_TYPE_REF" or v is None:
                continue
            v = str(v)
            if (
                (key == "default_locale" and v not in locales)
                or (key == "lang_ref" and v not in self.lang_ids)
                or (key == "ext_ref" and not all(x in self.ext_ids for x in v.split()))
            ):
                self.bad_refs += 1
                continue
            attrs[raw] = v
        raw_extra = src.get("eaf_attributes")
        if isinstance(raw_extra, dict):
            for k, v in raw_extra.items():
                if _NCNAME.match(str(k)) and k not in attrs:
                    attrs[k] = v
        return attrs

    def _header(self) -> list[str]:
        header = self._dict("header")
        attrs = dict(header.get("attrs") or {})
        attrs.setdefault("MEDIA_FILE", "")
        attrs["TIME_UNITS"] = "milliseconds"
        lines = [f"    <HEADER{self.attrs(attrs)}>\n"]
        for m in self.session.media:
            lines.append(self.element("        ", "MEDIA_DESCRIPTOR", self._media(m)))
        for lf in header.get("linked_files") or []:
            if isinstance(lf, dict) and lf.get("LINK_URL"):
                lines.append(self.element("        ", "LINKED_FILE_DESCRIPTOR", lf))
        has_last = False
        for name, value in self._properties():
            if name == "lastUsedAnnotationId":
                value, has_last = str(self.last_id), True
            lines.append(self.element("        ", "PROPERTY", {"NAME": name}, value, empty=False))
        if not has_last:
            lines.append(f'        <PROPERTY NAME="lastUsedAnnotationId">{self.last_id}</PROPERTY>\n')
        lines.append("    </HEADER>\n")
        return lines

    def _media(self, m: MediaRef) -> dict[str, Any]:
        raw = m.attrs.get("eaf")
        if isinstance(raw, dict) and m.attrs.get("eaf_path") == m.path and raw.get("MEDIA_URL"):
            d = dict(raw)  # unchanged since it was read: write it back as it was
        else:
            p = m.path
            if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]+:", p):  # already a URL (a drive letter is one letter)
                d = {"MEDIA_URL": p}
            else:
                absolute = os.path.abspath(p if os.path.isabs(p) else self.path.parent / p)
                d = {"MEDIA_URL": Path(absolute).as_uri()}
                try:
                    rel = os.path.relpath(absolute, os.path.abspath(self.path.parent))
                    d["RELATIVE_MEDIA_URL"] = "./" + Path(rel).as_posix()
                except ValueError:  # on another drive (Windows)
                    pass
            mime = m.mime_type or mimetypes.guess_type(p)[0] or ""
            if mime in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"):
                mime = "audio/x-wav"  # what ELAN writes
            d["MIME_TYPE"] = mime or "unknown"
        d.pop("TIME_ORIGIN", None)
        if m.offset:
            d["TIME_ORIGIN"] = str(round(-m.offset * 1000))
        return d

    def _lang(self, lang: Any) -> str:
        if isinstance(lang, str) and lang in self.lang_ids:
            return lang
        self.need_und = True  # CVE_VALUE and DESCRIPTION need a language: ELAN uses "und"
        return "und"

    def _vocabulary(self, cv: ControlledVocabulary) -> str:
        a = cv.attrs if isinstance(cv.attrs, dict) else {}
        attrs: dict[str, Any] = {"CV_ID": cv.name}
        if a.get("ext_ref") and all(x in self.ext_ids for x in str(a["ext_ref"]).split()):
            attrs["EXT_REF"] = a["ext_ref"]
        body = []
        descriptions = [dict(d) for d in a.get("descriptions") or [] if isinstance(d, dict)]
        if descriptions:
            k = next((i for i, d in enumerate(descriptions) if d.get("text")), 0)
            descriptions[k]["text"] = cv.description
        elif cv.description:
            descriptions = [{"lang_ref": None, "text": cv.description}]
        for d in descriptions:
            body.append(
                self.element(
                    "        ", "DESCRIPTION", {"LANG_REF": self._lang(d.get("lang_ref"))}, d.get("text")
                )
            )
        used = {e.id for e in cv.entries if e.id}
        n = 0
        for e in cv.entries:
            eid = e.id
            if not eid:
                while f"cveid{n}" in used:
                    n += 1
                eid = f"cveid{n}"
                used.add(eid)
            ea = e.attrs if isinstance(e.attrs, dict) else {}
            values = [dict(v) for v in ea.get("values") or [] if isinstance(v, dict)]
            if values:  # the entry's value and description are those of its first language
                values[0]["value"], values[0]["description"] = e.value, e.description
            else:
                values = [{"lang_ref": None, "value": e.value, "description": e.description}]
            eattrs: dict[str, Any] = {"CVE_ID": eid}
            if ea.get("ext_ref") and all(x in self.ext_ids for x in str(ea["ext_ref"]).split()):
                eattrs["EXT_REF"] = ea["ext_ref"]
            body.append(f"        <CV_ENTRY_ML{self.attrs(eattrs)}>\n")
            for v in values:
                va = {"LANG_REF": self._lang(v.get("lang_ref")), "DESCRIPTION": v.get("description") or None}
                body.append(self.element("            ", "CVE_VALUE", va, v.get("value"), empty=False))
            body.append("        </CV_ENTRY_ML>\n")
        if not body:
            return f"    <CONTROLLED_VOCABULARY{self.attrs(attrs)}/>\n"
        return (
            f"    <CONTROLLED_VOCABULARY{self.attrs(attrs)}>\n{''.join(body)}    </CONTROLLED_VOCABULARY>\n"
        )

    def _link_sets(self, link_sets: list[dict[str, Any]]) -> list[str]:
        known = set(self.ids.values())
        known |= {
            str((lk.get("attrs") or {}).get("REF_LINK_ID"))
            for ls in link_sets
            for lk in ls.get("links") or []
        }
        out, dropped = [], 0
        for ls in link_sets:
            attrs = {k: v for k, v in (ls.get("attrs") or {}).items() if v is not None}
            if not attrs.get("LINK_SET_ID"):
                continue
            body = []
            for link in ls.get("links") or []:
                la = {k: v for k, v in (link.get("attrs") or {}).items() if v is not None}
                tag = link.get("tag")
                if tag == "CROSS_REF_LINK":
                    refs = [la.get("REF1"), la.get("REF2")]
                elif tag == "GROUP_REF_LINK":
                    refs = str(la.get("REFS", "")).split()
                else:
                    continue
                if not refs or not all(r in known for r in refs):
                    dropped += 1
                    continue
                body.append(self.element("        ", tag, la, link.get("text"), empty=False))
            if body:
                out.append(f"    <REF_LINK_SET{self.attrs(attrs)}>\n{''.join(body)}    </REF_LINK_SET>\n")
            else:
                out.append(f"    <REF_LINK_SET{self.attrs(attrs)}/>\n")
        if dropped:
            self.warn(f"{dropped} referential links point at annotations that are not written; left out")
        return out


def write_eaf(session: Session, path: str | os.PathLike[str], **options: Any) -> list[str]:
    """Write a session as an EAF 3.0 file; returns warnings about what ELAN cannot hold.

    Options: `point_duration` (seconds, default 0.001): the length of the annotations that stand
    for the points of point tiers."""
    w = _Writer(session, Path(path), options.get("point_duration", 0.001))
    text = w.build()
    atomic_write_text(path, text, encoding="utf-8", newline="\n")
    return w.warnings


register(
    Format(
        name="eaf",
        suffixes=(".eaf",),
        description="ELAN annotation file",
        read=read_eaf,
        write=write_eaf,
        sniff=_sniff,
        aliases=("elan",),
    )
)
