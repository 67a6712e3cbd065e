"""Writing a Session as an ELAN EAF 3.0 file (the mapping is described in `studio.io.eaf`).

The annotations of each tier are formatted first (time slots are named only once all of them are
known, in time order), then the document is written to the file piece by piece, a tier at a time,
so it never exists as one string.
"""

from __future__ import annotations

import bisect
import datetime
import mimetypes
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..core.annotations import Interval
from ..core.session import ControlledVocabulary, MediaRef, Session
from ..core.tiers import CurveTier, IntervalTier, PointTier
from ._eaf_names import ANN_KEYS, STEREOTYPES, TIER_KEYS

__all__ = ["EafWriter"]

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
_OWN_INTERVAL_KEYS = {
    *ANN_KEYS.values(),
    "annotation_ref",
    "unaligned_start",
    "unaligned_end",
    "eaf_attributes",
}
_OWN_TIER_KEYS = {*TIER_KEYS.values(), "constraint", "eaf_attributes"}

_NCNAME = re.compile(r"^[^\W\d][\w.\-]*$")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR_SPECIAL = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]')
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR_TABLE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_TEXT_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


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
        # What to write, in order: (interval, id, start slot, end slot) for time-alignable lanes,
        # (interval, id, referred id, previous id or "") for symbolic ones.
        self.rows: list[tuple[Interval, str, Any, Any]] = []
        self.symbolic = False


class EafWriter:
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
        self.tier_losses: dict[str, list[str]] = {}

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def warn_tier(self, what: str, tier: str) -> None:
        """Collect a per-tier loss; `_flush_tier_warnings` makes one warning per kind of loss."""
        self.tier_losses.setdefault(what, []).append(tier)

    def _flush_tier_warnings(self) -> None:
        for what, tiers in self.tier_losses.items():
            shown = ", ".join(map(repr, tiers[:6])) + (
                f" and {len(tiers) - 6} more" if len(tiers) > 6 else ""
            )
            self.warn(f"{what} (tier{'s' if len(tiers) > 1 else ''} {shown}): not written")
        self.tier_losses.clear()

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
            self.warn_tier("ELAN cannot hold confidences or sources", t.name)
        foreign = {k for a in items if a.attrs for k in a.attrs if k not in _OWN_INTERVAL_KEYS}
        if foreign:
            self.warn_tier(f"annotation attributes {sorted(foreign)} have no place in ELAN", t.name)
        foreign = {k for k in t.attrs if k not in _OWN_TIER_KEYS}
        if foreign:
            self.warn_tier(f"tier attributes {sorted(foreign)} have no place in ELAN", t.name)

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
        for raw, key in ANN_KEYS.items():
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
            out += [(k, v) for k, v in raw.items() if _NCNAME.match(str(k)) and k not in ANN_KEYS]
        return "".join(f' {k}="{self.attr(v)}"' for k, v in sorted(out))

    def _write_lane(self, ln: _Lane, parent: _Lane | None) -> None:
        if ln.constraint in _SYMBOLIC and parent is not None:
            self._write_refs(ln, parent)
            return
        ids, rows = self.ids, ln.rows
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
            rows.append((a, aid, s_slot, e_slot))
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
        ln.symbolic = True
        for pk in sorted(groups):
            ref, prev = parent.written[pk][0], ""
            for a in groups[pk]:
                aid = self.ids[id(a)]
                ln.index_by_id[aid] = len(ln.written)
                ln.written.append((aid, a.start, a.end, -1, -1))
                ln.starts.append(a.start)
                ln.rows.append((a, aid, ref, prev))
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
    def write(self, fh: IO[str]) -> None:
        """Write the whole document to `fh`."""
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

        w = fh.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        doc = self._dict("document")
        date = datetime.datetime.now().astimezone().replace(microsecond=0).isoformat()
        w(
            f'<ANNOTATION_DOCUMENT AUTHOR="{self.attr(doc.get("AUTHOR", ""))}" DATE="{date}" FORMAT="3.0" '
            'VERSION="3.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">\n'
        )
        for lic in self._list("licenses"):
            w(self.element("    ", "LICENSE", {"LICENSE_URL": lic.get("url")}, lic.get("text") or ""))
        fh.writelines(self._header())
        w("    <TIME_ORDER>\n")
        slot_ms = self.slot_ms
        _write_batched(
            w,
            (
                f'        <TIME_SLOT TIME_SLOT_ID="{names[k]}" TIME_VALUE="{slot_ms[k]}"/>\n'
                if slot_ms[k] is not None
                else f'        <TIME_SLOT TIME_SLOT_ID="{names[k]}"/>\n'
                for k in order
            ),
        )
        w("    </TIME_ORDER>\n")
        del order
        for ln in lanes:
            attrs = self._tier_attrs(ln)
            if ln.rows:
                w(f"    <TIER{self.attrs(attrs)}>\n")
                _write_batched(w, self._annotations(ln, names))
                w("    </TIER>\n")
            else:
                w(f"    <TIER{self.attrs(attrs)}/>\n")
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
            w(self.element("    ", "LINGUISTIC_TYPE", lt))
        for loc in self.locales:
            w(self.element("    ", "LOCALE", loc))
        cv_xml = [self._vocabulary(cv) for cv in self.session.vocabularies.values()]
        if self.need_und and "und" not in self.lang_ids:
            languages.append(dict(_UND))
        for lang in languages:
            w(self.element("    ", "LANGUAGE", lang))
        for st in STEREOTYPES:
            w(self.element("    ", "CONSTRAINT", {"DESCRIPTION": _CONSTRAINT_TEXT[st], "STEREOTYPE": st}))
        fh.writelines(cv_xml)
        for lex in lexicons:
            w(self.element("    ", "LEXICON_REF", lex))
        fh.writelines(self._link_sets(link_sets))
        for ext in ext_refs:
            w(self.element("    ", "EXTERNAL_REF", ext))
        w("</ANNOTATION_DOCUMENT>\n")
        self._flush_tier_warnings()
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

    def _annotations(self, ln: _Lane, names: list[str]) -> Iterator[str]:
        """The lane's ANNOTATION elements, one string each."""
        text, ann_attrs = self.text, self._ann_attrs
        if ln.symbolic:
            for a, aid, ref, prev in ln.rows:
                p = f' PREVIOUS_ANNOTATION="{prev}"' if prev else ""
                yield (
                    f'        <ANNOTATION>\n            <REF_ANNOTATION ANNOTATION_ID="{aid}"'
                    f'{ann_attrs(a, False)} ANNOTATION_REF="{ref}"{p}>\n'
                    f"                <ANNOTATION_VALUE>{text(a.label)}</ANNOTATION_VALUE>\n"
                    "            </REF_ANNOTATION>\n        </ANNOTATION>\n"
                )
            return
        for a, aid, s_slot, e_slot in ln.rows:
            yield (
                f'        <ANNOTATION>\n            <ALIGNABLE_ANNOTATION ANNOTATION_ID="{aid}"'
                f'{ann_attrs(a, True)} TIME_SLOT_REF1="{names[s_slot]}" TIME_SLOT_REF2="{names[e_slot]}">\n'
                f"                <ANNOTATION_VALUE>{text(a.label)}</ANNOTATION_VALUE>\n"
                "            </ALIGNABLE_ANNOTATION>\n        </ANNOTATION>\n"
            )

    def _tier_attrs(self, ln: _Lane) -> dict[str, Any]:
        attrs: dict[str, Any] = {"TIER_ID": ln.name, "LINGUISTIC_TYPE_REF": ln.lt, "PARENT_REF": ln.parent}
        src = ln.source.attrs
        locales = {x["LANGUAGE_CODE"] for x in self.locales}
        for raw, key in TIER_KEYS.items():
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
        if m.warp is not None:
            self.warn(
                f"media {m.name!r}: ELAN has offsets only; its warp ({m.warp.source or 'drift or time map'}) "
                "was not written (keep the .studio session)"
            )
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


def _write_batched(write: Any, pieces: Iterable[str], size: int = 2000) -> None:
    """Write many small strings in a few calls, without joining them all into one."""
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) >= size:
            write("".join(batch))
            batch.clear()
    write("".join(batch))
