"""Reading ELAN `.eaf` files into a Session (the mapping is described in `studio.io.eaf`).

Pass 1 parses the file as a stream (lxml's pull parser, fed 64 KB at a time): each TIME_SLOT and
annotation becomes plain Python values (a tuple per annotation) when its element ends, and after
each batch the elements read are dropped, so the XML tree never holds more than a sliver of the
document (a 100k-annotation file is read in about a third of the memory of pympi-ling, which keeps
the whole tree). The small top-level elements (header, types, vocabularies, ...) are read whole as
each one ends. Pass 2 gives every annotation its times (aligned slots, interpolated unaligned
slots, references) and builds the tiers.

Errors come in the order a whole-document parse gives them: malformed XML anywhere in the file
first, then the first problem in document order, then the problems found while placing times.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from lxml import etree

from ..core.annotations import Interval
from ..core.session import ControlledVocabulary, MediaRef, Session, VocabularyEntry
from ..core.tiers import IntervalTier
from ._eaf_names import ANN_KEYS, TIER_KEYS
from .errors import EafError

__all__ = ["EafReader"]

_PARSER_OPTIONS: dict[str, Any] = dict(
    # No entity substitution, no DTD loading, no network, default size limits: an XML bomb or an
    # external entity cannot make us hang, fetch or read other files.
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)
_CHUNK = 1 << 16  # small enough for the new part of the tree to stay in the CPU cache
_ANNOTATION_TAGS = ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION")  # indexed by is_ref
_SIMPLE = {  # top-level elements kept as their raw attributes, in these lists of the metadata
    "LINGUISTIC_TYPE": "linguistic_types",
    "LOCALE": "locales",
    "LANGUAGE": "languages",
    "CONSTRAINT": "constraints",
    "LEXICON_REF": "lexicon_refs",
    "EXTERNAL_REF": "external_refs",
}
# The elements the parser reports when they end; the other top-level elements (of newer EAF
# versions) are picked up by the next one that is reported.
_EVENT_TAGS = (
    "TIME_SLOT",
    *_ANNOTATION_TAGS,
    "HEADER",
    "TIME_ORDER",
    "TIER",
    "CONTROLLED_VOCABULARY",
    "REF_LINK_SET",
    "LICENSE",
    *_SIMPLE,
)

# A record, one per annotation:
# (id, is_ref, slot1|annotation_ref, slot2|previous, label, extra attrs|None, line)
_ID, _ISREF, _R1, _R2, _LABEL, _EXTRA, _LINE = range(7)
_Rec = tuple[str, bool, str, str | None, str, dict[str, Any] | None, int | None]


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
        self.recs: list[_Rec] = []
        self.index = index


class EafReader:
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
        self.root: etree._Element | None = None
        self.failure: EafError | None = None  # the first problem, raised once the file has parsed
        self.tier_el: etree._Element | None = None  # the TIER being read, and what it became
        self.tier: _RawTier | None = None
        self.last_top: etree._Element | None = None  # the last top-level element read (cleared)
        # The last TIME_SLOT read and its TIME_ORDER, the element holding the last annotation read
        # and its TIER: what comes before them is dropped after each batch of events.
        self.last_slot: tuple[etree._Element, etree._Element] | None = None
        self.last_holder: tuple[etree._Element, etree._Element] | None = None
        self.handlers = {
            "HEADER": self._header,
            "TIME_ORDER": lambda el: None,  # its TIME_SLOTs were read as they ended
            "TIER": self._tier_end,
            "CONTROLLED_VOCABULARY": self._vocabulary,
            "REF_LINK_SET": self._ref_link_set,
        }

    def error(self, problem: str, el: etree._Element | None = None, line: int | None = None) -> EafError:
        if el is not None:
            return EafError(self.path, problem, line=el.sourceline, element=el.tag)
        return EafError(self.path, problem, line=line)

    def rec_error(self, problem: str, rec: _Rec) -> EafError:
        return EafError(self.path, problem, line=rec[_LINE], element=_ANNOTATION_TAGS[rec[_ISREF]])

    # --- pass 1: collect ------------------------------------------------------------------
    def read(self) -> Session:
        self._parse()
        if self.failure is not None:
            raise self.failure
        meta = self.meta
        for k in [k for k, v in meta.items() if v == []]:
            del meta[k]
        return self._build()

    def _parse(self) -> None:
        parser = etree.XMLPullParser(events=("end",), tag=_EVENT_TAGS, **_PARSER_OPTIONS)
        try:
            with open(self.path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    parser.feed(chunk)
                    self._take(parser.read_events())
                root = parser.close()
            self._take(parser.read_events())
        except etree.XMLSyntaxError as e:
            e = self._whole_document_error() or e
            raise EafError(self.path, f"not well-formed XML: {e.msg}", line=e.lineno or None) from None
        if root is None:
            raise EafError(self.path, "the file holds no XML element")
        if self.failure is None:
            try:
                if self.root is None:  # no element with an event: check the root now
                    self._root(root)
                self._unknown_before(None)
            except EafError as e:
                self.failure = e

    def _whole_document_error(self) -> etree.XMLSyntaxError | None:
        """The error of parsing the malformed file in one go: libxml2 words some problems better
        that way than when fed in chunks (e.g. "Document is empty" at line 1 for an empty file)."""
        try:
            etree.fromstring(self.path.read_bytes(), etree.XMLParser(**_PARSER_OPTIONS))
        except etree.XMLSyntaxError as e:
            return e
        return None

    def _take(self, events: Iterator[tuple[str, etree._Element]]) -> None:
        if self.failure is None:
            try:
                self._handle(events)
            except EafError as e:
                self.failure = e  # malformed XML further on is reported first, as before
            self._drop_read()
        for _, el in events:  # after a failure: parse on to the end, dropping all that has ended
            el.clear(keep_tail=True)
            parent = el.getparent()
            while parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
                el, parent = parent, parent.getparent()

    def _handle(self, events: Iterator[tuple[str, etree._Element]]) -> None:
        root = self.root
        order = self.last_slot[0] if self.last_slot else None  # the top-level TIME_ORDER
        for _, el in events:
            if root is None:
                root = self._root(el)
            parent = el.getparent()
            if parent is root:  # a top-level element: read it whole, then drop it
                self._unknown_before(el)
                self._top(el)
                el.clear(keep_tail=True)
                self.last_top = el
                continue
            if parent is None:  # the root itself
                continue
            tag = el.tag
            if tag == "TIME_SLOT":
                if parent is order or (parent.tag == "TIME_ORDER" and parent.getparent() is root):
                    order = parent
                    self._time_slot(el)
                    self.last_slot = (parent, el)
            elif tag == "ALIGNABLE_ANNOTATION" or tag == "REF_ANNOTATION":
                self._annotation(el, tag == "REF_ANNOTATION", parent)

    def _drop_read(self) -> None:
        """Drop what comes before the last TIME_SLOT and the last annotation read, a batch of
        events at a time (one call into lxml instead of one per element). The last ones stay: the
        parser may still be adding to their tails, as lxml's documentation warns."""
        for last in (self.last_slot, self.last_holder):
            if last is not None and last[1].getparent() is last[0]:
                parent, el = last
                k = parent.index(el)
                if k:
                    del parent[:k]

    def _unknown_before(self, el: etree._Element | None) -> None:
        """Keep the top-level elements before `el` (all the rest when None) that had no event of
        their own (elements of a newer EAF version), then drop everything before `el`."""
        root = self.root
        assert root is not None
        for c in root:
            if c is el:
                break
            if c is not self.last_top and isinstance(c.tag, str):
                self._top(c)
        if el is not None:
            while el.getprevious() is not None:
                del root[0]

    def _root(self, el: etree._Element) -> etree._Element:
        root = el
        while (up := root.getparent()) is not None:
            root = up
        self.root = root
        if root.tag != "ANNOTATION_DOCUMENT":
            raise EafError(
                self.path,
                f"not an ELAN file: the root element is <{root.tag}>, expected <ANNOTATION_DOCUMENT>",
                line=root.sourceline,
            )
        meta = self.meta
        meta["document"] = _attrs(root)
        for key in ("licenses", "linguistic_types", "locales", "languages", "constraints"):
            meta[key] = []
        for key in ("lexicon_refs", "ref_link_sets", "external_refs", "unknown_elements"):
            meta[key] = []
        return root

    def _top(self, el: etree._Element) -> None:
        tag = el.tag
        meta = self.meta
        if tag in self.handlers:
            self.handlers[tag](el)
        elif tag in _SIMPLE:
            meta[_SIMPLE[tag]].append(_attrs(el))
        elif tag == "LICENSE":
            meta["licenses"].append({"url": el.get("LICENSE_URL"), "text": _text(el)})
        else:  # a newer EAF version: keep it so the writer can say it was not written
            meta["unknown_elements"].append(etree.tostring(el, encoding="unicode", with_tail=False))

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

    def _time_slot(self, ts: etree._Element) -> None:
        slots = self.slots
        sid = ts.get("TIME_SLOT_ID")
        if not sid:
            raise self.error("TIME_SLOT without TIME_SLOT_ID", ts)
        if sid in slots:
            raise self.error(f"time slot id {sid!r} is used twice", ts)
        v = ts.get("TIME_VALUE")
        if v is None:
            slots[sid] = None
            return
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

    def _open_tier(self, el: etree._Element) -> _RawTier:
        """A TIER, from its attributes (read when its first annotation ends, or when it ends)."""
        a = _attrs(el)
        name = a.get("TIER_ID")
        if not name or not name.strip():
            raise self.error("TIER without TIER_ID", el)
        if not a.get("LINGUISTIC_TYPE_REF"):
            raise self.error(f"tier {name!r} has no LINGUISTIC_TYPE_REF", el)
        tier = _RawTier(name, a, el.sourceline, len(self.tiers))
        self.tiers.append(tier)
        self.tier_el, self.tier = el, tier
        return tier

    def _tier_end(self, el: etree._Element) -> None:
        if el is not self.tier_el:  # a tier without annotations
            self._open_tier(el)
        self.tier_el = self.tier = None

    def _annotation(self, x: etree._Element, is_ref: bool, parent: etree._Element) -> None:
        """An ALIGNABLE_ANNOTATION or REF_ANNOTATION anywhere inside a top-level TIER; once read,
        it is dropped with the next batch."""
        holder, top = parent, parent.getparent()  # top: the top-level element holding x
        if top is not self.tier_el or top is None:  # not the usual TIER > ANNOTATION > x
            root = self.root
            holder, top = x, parent
            while (up := top.getparent()) is not root:
                if up is None:
                    return
                holder, top = top, up
            if top.tag != "TIER":
                return
        tier = self.tier if top is self.tier_el else self._open_tier(top)
        assert tier is not None
        k1, k2 = ("ANNOTATION_REF", "PREVIOUS_ANNOTATION") if is_ref else ("TIME_SLOT_REF1", "TIME_SLOT_REF2")
        aid = x.get("ANNOTATION_ID")
        if not aid:
            raise self.error(f"tier {tier.name!r}: annotation without ANNOTATION_ID", x)
        owner = self.ann_tier
        if aid in owner:
            raise self.error(f"annotation id {aid!r} is used twice", x)
        owner[aid] = tier
        r1 = x.get(k1)
        r2 = x.get(k2)
        if r1 is None or (r2 is None and not is_ref):
            raise self.error(f"annotation {aid!r} has no {k2 if r1 else k1}", x)
        extra = None
        if len(x.attrib) > 2 + (r2 is not None):  # more than the id and references
            extra = {}
            for k, v in x.items():
                key = ANN_KEYS.get(k)
                if key is not None:
                    extra[key] = v
                elif not k.startswith("{") and k not in ("ANNOTATION_ID", k1, k2):
                    extra.setdefault("eaf_attributes", {})[k] = v
        label = ""
        if len(x):
            v = x[0]  # ANNOTATION_VALUE is the first (only) child in every real file
            if v.tag != "ANNOTATION_VALUE":
                v = next((c for c in x if c.tag == "ANNOTATION_VALUE"), None)
            if v is not None:
                label = v.text or ""
                if len(v):  # unresolved entities or stray elements inside: take all the text
                    label = _text(v)
        tier.recs.append((aid, is_ref, r1, r2, label, extra or None, x.sourceline))
        self.last_holder = (top, holder)

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
                key = TIER_KEYS.get(k)
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
                    raise self.rec_error(f"tier {t.name!r}, annotation {aid!r}: {e}", rec) from None
            kw: dict[str, Any] = dict(parent=t.parent, vocabulary=cv, attrs=attrs)
            try:
                tier = IntervalTier(t.name, intervals, **kw)
            except ValueError:
                # ELAN shows overlapping annotations of one tier (other tools write them); keep them.
                tier = IntervalTier(t.name, intervals, allow_overlap=True, **kw)
            out.append(tier)
            t.recs = []  # free each tier's records as soon as its intervals exist
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

    def _slot(self, sid: str, rec: _Rec) -> float | None:
        try:
            ms = self.slots[sid]
        except KeyError:
            raise self.rec_error(
                f"annotation {rec[_ID]!r}: time slot {sid!r} is not in the TIME_ORDER", rec
            ) from None
        if ms is None:
            return self.slot_known.get(sid)
        return ms / 1000.0

    def _resolve(self, t: _RawTier) -> None:
        times, slots = self.times, self.slots
        pending = []
        groups: dict[str, list[_Rec]] = {}
        for rec in t.recs:
            if rec[_ISREF]:
                groups.setdefault(rec[_R1], []).append(rec)
                continue
            ms1, ms2 = slots.get(rec[_R1]), slots.get(rec[_R2])
            if ms1 is not None and ms2 is not None:  # both aligned: the usual case
                times[rec[_ID]] = (ms1 / 1000.0, ms2 / 1000.0)
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

    def _interpolate(self, t: _RawTier, pending: list[_Rec]) -> None:
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

    def _parent_span(self, t: _RawTier, rec: _Rec, t0: float | None, t1: float | None) -> tuple[float, float]:
        """Fallback for a chain that does not reach aligned slots: the parent annotation's edges."""
        parent = self.by_name.get(t.parent) if t.parent is not None else None
        if parent is not None and (t0 is not None or t1 is not None):
            for r in parent.recs:
                ps, pe = self.times.get(r[_ID], (0.0, -1.0))
                if (t0 is not None and ps <= t0 < pe) or (t0 is None and ps < t1 <= pe):
                    return (ps if t0 is None else t0, pe if t1 is None else t1)
        raise self.rec_error(
            f"annotation {rec[_ID]!r} on tier {t.name!r}: its unaligned time slots cannot be placed "
            "(no aligned neighbour and no parent annotation)",
            rec,
        )

    def _resolve_refs(self, t: _RawTier, parent_id: str, children: list[_Rec]) -> None:
        span = self.times.get(parent_id)
        if span is None:
            first = children[0]
            owner = self.ann_tier.get(parent_id)
            if owner is None:
                raise self.rec_error(
                    f"annotation {first[_ID]!r}: ANNOTATION_REF {parent_id!r} names no annotation", first
                )
            raise self.rec_error(
                f"annotation {first[_ID]!r} on tier {t.name!r} refers to {parent_id!r} on tier "
                f"{owner.name!r}, which is not an ancestor of {t.name!r}",
                first,
            )
        if len(children) > 1:
            children = self._ordered(children)
        t0, t1 = span
        n = len(children)
        step = (t1 - t0) / n
        for k, r in enumerate(children):
            self.times[r[_ID]] = (t0 + k * step, t1 if k == n - 1 else t0 + (k + 1) * step)

    def _ordered(self, children: list[_Rec]) -> list[_Rec]:
        """Siblings in PREVIOUS_ANNOTATION order (document order where the chain is broken)."""
        by_prev: dict[str | None, _Rec] = {}
        for r in children:
            prev = r[_R2]
            if prev is not None and prev not in self.ann_tier:
                raise self.rec_error(
                    f"annotation {r[_ID]!r}: PREVIOUS_ANNOTATION {prev!r} names no annotation", r
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
