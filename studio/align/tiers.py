"""Tier to tier alignment: which annotations of two interval tiers correspond, A's labels on B's times.

Two tiers often describe the same speech with different strengths: a corrected transcript (right
words, rough or made-up times, maybe one interval per utterance) and an ASR or forced-alignment word
tier (good times, some wrong words); or two annotators' segmentations of one recording.
`align_tiers(a, b, by=...)` returns a `TierAlignment`:

* ``pairs``: ``(ia, ib, op, score)`` in order, indexes into ``a_units``/``b_units`` (None on the
  side that has nothing), ``op`` one of ``"match"``, ``"substitution"``, ``"deletion"`` (an A unit
  B lacks), ``"insertion"`` (a B unit A lacks) -- the reference/hypothesis terms of word error
  rates, A being the reference;
* ``timed``: a new interval tier "A timed by B": A's labels carrying B's times. A matched unit takes
  its B partner's times; a run of A units between two matched ones shares the span between them in
  proportion to label length. Every interval has ``confidence`` (the attribute
  `studio.core.editing.review_items` reads, as `studio.align.transcript` sets it): 1 for an exact
  match, 0.4-0.9 for a substitution (by character similarity; under 0.5, so listed for review,
  only when the labels have almost nothing in common), 0.3 for an interpolated unit and 0.15 for one
  squeezed into a neighbour's span because the gap between matches was empty; ``attrs["op"]`` says
  which, ``attrs["a_index"]`` is the A annotation it came from;
* ``warp``: a `WarpPath` from A's time line to B's through the matched boundary pairs (start with
  start, end with end), non-decreasing;
* ``summary``: counts and agreement figures (median/mean absolute boundary difference of matched
  units in seconds; in "times" mode the mean intersection-over-union of matched pairs).

**by="labels"** aligns the two label sequences by a weighted edit distance. Labels are normalised
with `studio.align.text.tokenize` (case folded, punctuation stripped, numbers spelled: "42" and
"forty two" match). First the exact matches on a least-edits path are found (Levenshtein with unit
costs, searched in a band around the diagonal from (0, 0) to (n, m), half-width |n - m| + max(250,
n/10) units, so a stretch one tier lacks entirely is still inside it; row by row in numpy). Each
stretch between two exact matches is then aligned by a dynamic programme whose substitution cost
falls with character similarity (``difflib`` ratio: 0.5 + (1 - ratio), below the 2 of a deletion
plus an insertion, so aligned mismatches are substitutions as in WER scoring) plus a tie-breaker of
at most 0.05 for the distance between the units' mid times. The similarity is only computed inside
those stretches, so the cost grows with n times the band, not with n·m: 10 000 words against
10 000 with 5 % substitutions, 5 % deletions and 5 % insertions take 0.8-1.0 s, with GRID's
51-word vocabulary (exact matches everywhere: plain ``difflib`` anchoring took 79 s there) as with
a 3000-word one, and 1500 words missing at the start of one tier cost nothing more (measured on the
development machine; tests/align/test_tier_align.py checks the counts and a 10 s ceiling). A
stretch over `MAX_CELLS` cells (tiers with almost nothing in common) is cut along its diagonal
into pieces of that size.

``split_words``: with ``"auto"`` (default) a tier where more than 10 % of the labels hold several
words is split into one unit per word when the other tier is word-level, each word getting
a share of its interval in proportion to its length; True splits both, False neither. When A is
split, ``timed`` has one interval per word of A.

**by="times"** matches by time overlap, for two segmentations of one recording: each A interval
is paired with the B interval that overlaps it most, and each B interval with the A interval it
overlaps most -- among those with the same label first (overlapping speakers' turns pair by
speaker), then among the ones still unpaired (so one-to-many pairs show merges and splits). A
pair is "match" when the normalised labels agree and "substitution" otherwise, and those pairs give the
boundary differences and the time map (each B interval with its best A interval). Intervals overlapping nothing are deletions (A) and
insertions (B). Confidence in ``timed`` is the label confidence times the pair's intersection over
union. 10 000 intervals take 0.27 s.

Blank labels and the silence marks in ``skip`` ("sil", "sp", ...) are not aligned and not copied.
"""

from __future__ import annotations

import difflib
import functools
import statistics
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.annotations import Interval
from ..core.session import WarpPath
from ..core.tiers import IntervalTier
from ..tasks.base import Progress, run
from .text import tokenize

__all__ = ["TierAlignment", "Unit", "align_tiers", "align_tiers_task", "MAX_CELLS", "SKIP"]

#: labels that mark silence in forced aligners' output (MFA, Kaldi, HTK, GRID); not aligned
SKIP = frozenset({"sil", "sp", "spn", "<sil>", "<eps>", "sil_s", "<s>", "</s>"})
#: largest stretch (cells of the dynamic programme) aligned in one piece
MAX_CELLS = 4_000_000
#: least half-width of the band (in units) around the diagonal searched for exact matches
BAND = 250
#: most cells of the banded search (the band narrows for very long tiers)
MAX_BAND_CELLS = 60_000_000
CONF_INTERPOLATED = 0.3
CONF_SQUEEZED = 0.15
_TIME_SCALE = 1.0  # s: mid-time distance at which the tie-breaker reaches its maximum
_TIE = 0.05


@dataclass(frozen=True)
class Unit:
    """One aligned item: an annotation, or one word of it when its tier was split."""

    label: str  # as written (the word, or the whole label)
    key: str  # normalised, what is compared
    start: float
    end: float
    index: int  # the annotation's index in its tier
    word: int | None = None  # the word's index within the annotation when split


@dataclass
class TierAlignment:
    a_name: str
    b_name: str
    by: str
    a_units: list[Unit]
    b_units: list[Unit]
    pairs: list[tuple[int | None, int | None, str, float]]
    timed: IntervalTier
    warp: WarpPath
    summary: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for a status bar: "42 matched, 3 substituted, ...; boundaries differ by 18 ms median"."""
        s = self.summary
        text = (
            f"{s['matched']} matched, {s['substituted']} substituted, "
            f"{s['inserted']} inserted, {s['deleted']} deleted"
        )
        if s.get("boundary_median") is not None:
            text += f"; boundaries differ by {1000 * s['boundary_median']:.0f} ms median"
        if s.get("overlap") is not None:
            text += f"; overlap {s['overlap']:.2f}"
        return text


# -- units -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def _words(label: str, language: str) -> tuple[tuple[str, str], ...]:
    """(text, norm) of each spoken word of `label`."""
    if not label.strip():
        return ()
    try:
        t = tokenize(label, language)
    except ValueError:
        return ()
    return tuple((w.text, w.norm) for w in t.words if w.norm)


def _key(text: str) -> str:
    return " ".join(text.split())


def _labelled(tier: IntervalTier, skip: frozenset[str]) -> list[tuple[int, Interval]]:
    return [
        (i, iv) for i, iv in enumerate(tier) if iv.label.strip() and iv.label.strip().casefold() not in skip
    ]


def _multiword(items: list[tuple[int, Interval]], language: str) -> bool:
    """More than 10 % of the labels hold several words."""
    if not items:
        return False
    many = sum(1 for _, iv in items if len(iv.label.split()) > 1 and len(_words(iv.label, language)) > 1)
    return many > 0.1 * len(items)


def _units(items: list[tuple[int, Interval]], split: bool, language: str) -> list[Unit]:
    out: list[Unit] = []
    for i, iv in items:
        words = _words(iv.label, language)
        if not words:
            # nothing speakable ("[laughter]", "..."): compare the casefolded label itself
            out.append(Unit(iv.label, iv.label.strip().casefold(), iv.start, iv.end, i))
            continue
        if not split or len(words) == 1:
            out.append(Unit(iv.label, _key(" ".join(n for _, n in words)), iv.start, iv.end, i))
            continue
        weights = np.array([len(t) + 1 for t, _ in words], dtype=float)
        edges = iv.start + (iv.end - iv.start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        edges[-1] = iv.end
        for k, (t, n) in enumerate(words):
            out.append(Unit(t, _key(n), float(edges[k]), float(edges[k + 1]), i, k))
    return out


def _check(tier: IntervalTier, which: str, skip: frozenset[str]) -> list[tuple[int, Interval]]:
    if not isinstance(tier, IntervalTier):
        raise ValueError(f"tier {which} ({getattr(tier, 'name', tier)!r}) is not an interval tier")
    items = _labelled(tier, skip)
    if not items:
        raise ValueError(f"tier {which} ({tier.name!r}) has no labelled intervals to align")
    return items


# -- by labels ---------------------------------------------------------------------------------
class _Sim:
    """Character similarity of two keys (difflib ratio), cached per pair of keys."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], float] = {}

    def __call__(self, x: str, y: str) -> float:
        if x == y:
            return 1.0
        r = self.cache.get((x, y))
        if r is None:
            r = difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
            self.cache[(x, y)] = r
        return r


def _gap_dp(a: list[Unit], b: list[Unit], sim: _Sim, use_time: bool) -> list[tuple[int | None, int | None]]:
    """Weighted edit distance between two short unit runs: (i, j) pairs, None for a gap."""
    n, m = len(a), len(b)
    if n == 0:
        return [(None, j) for j in range(m)]
    if m == 0:
        return [(i, None) for i in range(n)]
    ka = sorted({u.key for u in a})
    kb = sorted({u.key for u in b})
    ia = {k: x for x, k in enumerate(ka)}
    ib = {k: x for x, k in enumerate(kb)}
    if len(ka) * len(kb) <= 200_000:
        table = np.array([[sim(x, y) for y in kb] for x in ka], dtype=float).reshape(len(ka), len(kb))
    else:  # too many distinct pairs to compare characters: equality only
        table = np.zeros((len(ka), len(kb)))
        for k, x in ia.items():
            if k in ib:
                table[x, ib[k]] = 1.0
    ratio = table[np.array([ia[u.key] for u in a])][:, np.array([ib[u.key] for u in b])]
    sub = np.where(ratio >= 1.0, 0.0, 0.5 + (1.0 - ratio))
    if use_time:
        ma = np.array([(u.start + u.end) / 2 for u in a])
        mb = np.array([(u.start + u.end) / 2 for u in b])
        sub = sub + _TIE * np.minimum(1.0, np.abs(ma[:, None] - mb[None, :]) / _TIME_SCALE)
    # D[i, j]: cost of a[:i] against b[:j]; deletions and insertions cost 1
    back = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 diag, 1 up (deletion), 2 left (insertion)
    back[0, 1:] = 2
    back[1:, 0] = 1
    prev = np.arange(m + 1, dtype=float)
    js = np.arange(m + 1, dtype=float)
    for i in range(1, n + 1):
        diag = prev[:-1] + sub[i - 1]
        up = prev[1:] + 1.0
        cand = np.empty(m + 1)
        cand[0] = i
        cand[1:] = np.minimum(diag, up)
        choice = np.zeros(m + 1, dtype=np.int8)
        choice[1:] = np.where(diag <= up, 0, 1)
        choice[0] = 1
        # insertions along the row: row[j] = min_k<=j cand[k] + (j - k)
        run_min = np.minimum.accumulate(cand - js) + js
        row = np.minimum(cand, run_min)
        choice = np.where(run_min < cand, 2, choice).astype(np.int8)
        back[i] = choice
        prev = row
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        c = back[i, j]
        if c == 0:
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif c == 1:
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((None, j - 1))
            j -= 1
    out.reverse()
    return out


def _banded_matches(ka: np.ndarray, kb: np.ndarray, w: int) -> list[tuple[int, int]]:
    """The exact matches (i, j) on a least-edits path (Levenshtein, unit costs) within `w` units of
    the diagonal from (0, 0) to (n, m). Row by row in numpy: a row's insertions are a running
    minimum (row[j] = min over k <= j of cand[k] + j - k), so no Python loop over cells."""
    n, m = len(ka), len(kb)
    centre = np.arange(n + 1) * (m / max(n, 1))
    los = np.clip(np.floor(centre).astype(int) - w, 0, m)
    his = np.clip(np.ceil(centre).astype(int) + w, 0, m)
    backs: list[np.ndarray] = []
    prev = np.arange(los[0], his[0] + 1, dtype=float)  # row 0: insertions only
    backs.append(np.full(len(prev), 2, dtype=np.int8))
    for i in range(1, n + 1):
        lo, hi, plo = los[i], his[i], los[i - 1]
        js = np.arange(lo, hi + 1)
        k = js - 1 - plo  # diagonal predecessor's place in prev
        ok = (k >= 0) & (k < len(prev))
        eq = np.zeros(len(js), dtype=bool)
        inner = js >= 1
        eq[inner] = kb[np.maximum(js[inner] - 1, 0)] == ka[i - 1]
        diag = np.where(ok, prev[np.clip(k, 0, len(prev) - 1)] + np.where(eq, 0.0, 1.0), np.inf)
        k = js - plo
        ok = (k >= 0) & (k < len(prev))
        up = np.where(ok, prev[np.clip(k, 0, len(prev) - 1)] + 1.0, np.inf)
        if lo == 0:
            diag[0] = np.inf
        cand = np.minimum(diag, up)
        choice = np.where(diag <= up, 0, 1).astype(np.int8)
        run_min = np.minimum.accumulate(cand - js) + js
        choice[run_min < cand] = 2
        prev = np.minimum(cand, run_min)
        backs.append(choice)
    out: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 or j > 0:
        c = backs[i][j - los[i]] if los[i] <= j <= his[i] else (1 if i > 0 else 2)
        if c == 0:
            if ka[i - 1] == kb[j - 1]:
                out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif c == 1:
            i -= 1
        else:
            j -= 1
    out.reverse()
    return out


def _label_pairs(
    a: list[Unit], b: list[Unit], use_time: bool
) -> Generator[Progress, None, list[tuple[int | None, int | None, str, float]]]:
    ids: dict[str, int] = {}
    ka = np.array([ids.setdefault(u.key, len(ids)) for u in a])
    kb = np.array([ids.setdefault(u.key, len(ids)) for u in b])
    n, m = len(a), len(b)
    w = abs(n - m) + max(BAND, max(n, m) // 10)  # a stretch one side lacks shifts the path by n - m
    w = max(min(w, MAX_BAND_CELLS // (2 * n + 2)), 10)
    matches = _banded_matches(ka, kb, w)
    yield Progress(0.5, "anchoring exact matches")
    sim = _Sim()
    raw: list[tuple[int | None, int | None]] = []
    i0 = j0 = 0
    for k, (i1, j1) in enumerate([*matches, (n, m)]):
        ga, gb = i1 - i0, j1 - j0
        if ga and gb and ga * gb > MAX_CELLS:
            pieces = int(np.ceil(ga * gb / MAX_CELLS))
            cuts_a = np.linspace(i0, i1, pieces + 1).round().astype(int)
            cuts_b = np.linspace(j0, j1, pieces + 1).round().astype(int)
            for p in range(pieces):
                sa, sb = int(cuts_a[p]), int(cuts_b[p])
                for x, y in _gap_dp(a[sa : cuts_a[p + 1]], b[sb : cuts_b[p + 1]], sim, use_time):
                    raw.append((None if x is None else sa + x, None if y is None else sb + y))
                yield Progress(0.5 + 0.4 * k / (len(matches) + 1), "aligning labels")
        elif ga or gb:
            for x, y in _gap_dp(a[i0:i1], b[j0:j1], sim, use_time):
                raw.append((None if x is None else i0 + x, None if y is None else j0 + y))
        if i1 < n:
            raw.append((i1, j1))
        i0, j0 = i1 + 1, j1 + 1
        if k % 500 == 0:
            yield Progress(0.5 + 0.4 * k / (len(matches) + 1), "aligning labels")
    pairs: list[tuple[int | None, int | None, str, float]] = []
    for x, y in raw:
        if x is None:
            pairs.append((None, y, "insertion", 0.0))
        elif y is None:
            pairs.append((x, None, "deletion", 0.0))
        else:
            r = sim(a[x].key, b[y].key)
            pairs.append((x, y, "match" if r >= 1.0 else "substitution", r))
    return pairs


# -- by times ----------------------------------------------------------------------------------
def _time_pairs(a: list[Unit], b: list[Unit]) -> list[tuple[int | None, int | None, str, float]]:
    bs = np.array([u.start for u in b])
    be = np.maximum.accumulate(np.array([u.end for u in b]))  # sorted even if b overlaps itself
    cands: list[tuple[int, int, float]] = []
    for i, u in enumerate(a):
        lo = int(np.searchsorted(be, u.start, side="right"))
        hi = int(np.searchsorted(bs, u.end, side="left"))
        for j in range(lo, hi):
            ov = min(u.end, b[j].end) - max(u.start, b[j].start)
            if ov > 0:
                cands.append((i, j, ov))
    best_b = [-1] * len(a)
    best_a = [-1] * len(b)
    # same labels first (overlapping speakers' turns pair by speaker), then what is left by overlap
    for same in (True, False):
        free_a, free_b = [x < 0 for x in best_b], [x < 0 for x in best_a]
        ov_a = [0.0] * len(a)
        ov_b = [0.0] * len(b)
        for i, j, ov in cands:
            if (a[i].key == b[j].key) != same:
                continue
            if free_a[i] and (same or free_b[j]) and ov > ov_a[i]:
                ov_a[i], best_b[i] = ov, j
            if free_b[j] and (same or free_a[i]) and ov > ov_b[j]:
                ov_b[j], best_a[j] = ov, i
    found: set[tuple[int, int]] = {(i, j) for i, j in enumerate(best_b) if j >= 0}
    found |= {(i, j) for j, i in enumerate(best_a) if i >= 0}
    pairs: list[tuple[int | None, int | None, str, float]] = []
    for i, j in found:
        u, v = a[i], b[j]
        iou = (min(u.end, v.end) - max(u.start, v.start)) / (max(u.end, v.end) - min(u.start, v.start))
        pairs.append((i, j, "match" if u.key == v.key else "substitution", float(iou)))
    pairs += [(i, None, "deletion", 0.0) for i, j in enumerate(best_b) if j < 0]
    pairs += [(None, j, "insertion", 0.0) for j, i in enumerate(best_a) if i < 0]

    def when(p: tuple[int | None, int | None, str, float]) -> tuple[float, float]:
        i, j = p[0], p[1]
        t = a[i].start if i is not None else b[j].start  # type: ignore[index]
        return (t, b[j].start if j is not None else t)

    pairs.sort(key=when)
    return pairs


# -- results -----------------------------------------------------------------------------------
def _warp(a: list[Unit], b: list[Unit], anchors: list[tuple[int, int]], names: tuple[str, str]) -> WarpPath:
    pts: list[tuple[float, float]] = []
    for i, j in anchors:
        pts += [(a[i].start, b[j].start), (a[i].end, b[j].end)]
    pts.sort()
    kept: list[tuple[float, float]] = []
    for x, y in pts:  # keep it non-decreasing in B as well (A's made-up times may cross)
        if not kept or y >= kept[-1][1]:
            kept.append((x, y))
    if not kept:
        kept = [(a[0].start, b[0].start)]
    return WarpPath(np.array(kept), source=names[0], target=names[1])


def _share(lo: float, hi: float, units: list[Unit]) -> list[tuple[float, float]]:
    w = np.array([max(1, len(u.label)) for u in units], dtype=float)
    edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    edges[-1] = hi
    return [(float(edges[k]), float(edges[k + 1])) for k in range(len(units))]


def _timed(
    name: str,
    a: list[Unit],
    spans: dict[int, tuple[float, float, float, str, str]],
    warp: WarpPath,
    source: str,
    overlap: bool,
) -> IntervalTier:
    """A's units on B's times: `spans` maps an anchored unit to (start, end, confidence, op, b label);
    the others are spread over the gaps between anchors."""
    n = len(a)
    out: list[tuple[float, float, float, str, str] | None] = [None] * n
    order = sorted(spans)
    # anchored units must not overlap (B may overlap itself): clip, or demote to interpolated
    last_end = -np.inf
    kept: list[int] = []
    for i in order:
        s, e, c, op, bl = spans[i]
        if not overlap:
            s = max(s, last_end)
        if e - s > 1e-6:
            out[i] = (s, e, c, op, bl)
            kept.append(i)
            last_end = e
    min_len = 0.01
    k = 0
    while k < n:
        if out[k] is not None:
            k += 1
            continue
        r0 = k
        while k < n and out[k] is None:
            k += 1
        run = list(range(r0, k))
        prev = r0 - 1 if r0 > 0 else None
        nxt = k if k < n else None
        lo = out[prev][1] if prev is not None else max(0.0, float(warp.map(a[r0].start)))  # type: ignore[index]
        hi = out[nxt][0] if nxt is not None else float(warp.map(a[k - 1].end))  # type: ignore[index]
        if prev is None and nxt is not None:
            lo = min(lo, hi)
        if nxt is None and prev is not None:
            hi = max(hi, lo)
        if prev is None and nxt is None:
            lo, hi = max(0.0, float(warp.map(a[0].start))), float(warp.map(a[-1].end))
            hi = max(hi, lo + min_len * len(run))
        if hi - lo >= min_len * len(run):
            for u, (s, e) in zip(run, _share(lo, hi, [a[x] for x in run])):
                out[u] = (s, e, CONF_INTERPOLATED, "interpolated", "")
            continue
        # no room between the matches: share the neighbour's span (the previous one if any)
        host = prev if prev is not None else nxt
        assert host is not None
        hs, he, hc, hop, hbl = out[host]  # type: ignore[misc]
        group = [host, *run] if host == prev else [*run, host]
        for u, (s, e) in zip(group, _share(min(hs, lo), max(he, hi), [a[x] for x in group])):
            out[u] = (s, e, hc, hop, hbl) if u == host else (s, e, CONF_SQUEEZED, "squeezed", "")
    tier = IntervalTier(name, attrs={"aligned_by": source}, allow_overlap=overlap)
    items = []
    for u, o in zip(a, out):
        assert o is not None
        s, e, c, op, bl = o
        attrs: dict[str, Any] = {"op": op, "a_index": u.index}
        if u.word is not None:
            attrs["word"] = u.word
        if bl and op == "substitution":
            attrs["b_label"] = bl
        items.append(Interval(s, e, u.label, confidence=round(float(c), 4), source=source, attrs=attrs))
    tier._bulk_load(items)
    return tier


def align_tiers_task(
    a: IntervalTier,
    b: IntervalTier,
    *,
    by: str = "labels",
    split_words: bool | str = "auto",
    language: str = "en",
    skip: Iterable[str] = SKIP,
    use_time: bool = True,
    name: str | None = None,
) -> Generator[Progress, None, TierAlignment]:
    """The task behind `align_tiers` (for the worker): yields `Progress`, returns a `TierAlignment`."""
    if by not in ("labels", "times"):
        raise ValueError(f"by must be 'labels' or 'times', not {by!r}")
    if split_words not in (True, False, "auto"):
        raise ValueError(f"split_words must be True, False or 'auto', not {split_words!r}")
    skip_set = frozenset(s.casefold() for s in skip)
    ia, ib = _check(a, "A", skip_set), _check(b, "B", skip_set)
    yield Progress(0.05, "reading labels")
    if by == "times":
        split_a = split_b = False
    elif split_words == "auto":
        ma, mb = _multiword(ia, language), _multiword(ib, language)
        split_a, split_b = ma and not mb, mb and not ma
    else:
        split_a = split_b = bool(split_words)
    au, bu = _units(ia, split_a, language), _units(ib, split_b, language)
    yield Progress(0.2, "aligning")
    if by == "labels":
        pairs = yield from _label_pairs(au, bu, use_time)
    else:
        pairs = _time_pairs(au, bu)
    yield Progress(0.9, "building the timed tier")
    if by == "labels":
        anchors = [(p[0], p[1]) for p in pairs if p[0] is not None and p[1] is not None]
    else:
        best: dict[int, list[int]] = {}
        for i, j, _, _ in pairs:
            if i is not None and j is not None:
                best.setdefault(j, []).append(i)
        # mutual best partners only: B's best A for each B unit, A's best B among those
        anchors = []
        score = {(p[0], p[1]): p[3] for p in pairs if p[0] is not None and p[1] is not None}
        by_a: dict[int, list[int]] = {}
        for j, iss in best.items():
            i = max(iss, key=lambda x: score[(x, j)])
            by_a.setdefault(i, []).append(j)
        anchors = sorted((i, j) for i, js in by_a.items() for j in js)
    warp = _warp(au, bu, anchors, (a.name, b.name))
    spans: dict[int, tuple[float, float, float, str, str]] = {}
    ops = {(p[0], p[1]): (p[2], p[3]) for p in pairs}
    for i, j in anchors:
        op, sc = ops[(i, j)]
        ratio = 1.0 if op == "match" else difflib.SequenceMatcher(None, au[i].key, bu[j].key).ratio()
        conf = 1.0 if op == "match" else 0.4 + 0.5 * ratio
        if by == "times":
            conf *= sc
        s, e = bu[j].start, bu[j].end
        if i in spans:  # several B units for one A unit: their whole span
            s0, e0, c0, op0, bl0 = spans[i]
            s, e, conf = min(s, s0), max(e, e0), min(conf, c0)
            op = op0 if op0 == op else "substitution"
        spans[i] = (s, e, conf, op, bu[j].label)
    source = f"tiers-{by}"
    overlap = bool(a.allow_overlap) or (by == "times" and bool(b.allow_overlap))
    timed = _timed(name or f"{a.name} timed by {b.name}", au, spans, warp, source, overlap)
    diffs = [abs(au[i].start - bu[j].start) for i, j in anchors]
    diffs += [abs(au[i].end - bu[j].end) for i, j in anchors]
    counts = {op: 0 for op in ("match", "substitution", "insertion", "deletion")}
    for p in pairs:
        counts[p[2]] += 1
    summary: dict[str, Any] = {
        "by": by,
        "matched": counts["match"],
        "substituted": counts["substitution"],
        "inserted": counts["insertion"],
        "deleted": counts["deletion"],
        "interpolated": sum(1 for iv in timed if iv.attrs["op"] in ("interpolated", "squeezed")),
        "a_units": len(au),
        "b_units": len(bu),
        "split_a": split_a,
        "split_b": split_b,
        "boundary_median": round(statistics.median(diffs), 6) if diffs else None,
        "boundary_mean": round(statistics.fmean(diffs), 6) if diffs else None,
    }
    if by == "times":
        ious = [ops[(i, j)][1] for i, j in anchors]
        summary["overlap"] = round(statistics.fmean(ious), 6) if ious else 0.0
    yield Progress(1.0, "done")
    return TierAlignment(a.name, b.name, by, au, bu, pairs, timed, warp, summary)


def align_tiers(a: IntervalTier, b: IntervalTier, *, by: str = "labels", **options: Any) -> TierAlignment:
    """Align tier `a` to tier `b` (see the module docstring); options as `align_tiers_task`."""
    return run(align_tiers_task(a, b, by=by, **options))
