"""Hybrid HMM forced alignment: transcript phones placed on per-frame phone posteriors (Qt-free).

The transcript becomes a left-to-right chain of segments: an optional silence, then each word's
phones, an optional silence between words, and an optional silence at the end. Each phone segment
is `min_frames` states (no self-loop until the last), so a phone lasts at least that long; a
silence may be skipped. The emission of a state for frame ``t`` is the model's scaled likelihood
``log p(class | x_t) - prior_weight * log p(class)`` (Bourlard & Morgan 1994). The best path
(Viterbi) gives every phone's first and last frame.

Long recordings: every word may be given a window of frames it must lie in (the tts-dtw
alignment's span widened by a second on each side, see `studio.align.transcript`); the states
active at a frame are then a contiguous range, and the trellis stores one byte per active
(state, frame) cell -- about 20 MB for an hour of speech -- instead of ``states x frames``.

Confidence of a word: ``exp`` of the mean over its frames of ``log p(assigned) - max log p``
(a goodness-of-pronunciation score, Witt & Young 2000): 1 when the model's best class is the
aligned phone on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..tasks.base import Progress, Task, run, scaled

__all__ = ["viterbi_segments", "align_phones", "align_phones_task", "PhoneAlignment", "HMMWord"]

_NEG = -1e30


@njit(cache=True, nogil=True)
def _viterbi(emit, st_class, st_self, st_src, st_pen, st_lo, st_hi, finals, final_pen):  # pragma: no cover
    """Banded Viterbi over a chain of states. State ``s`` at frame ``t`` comes from ``s`` (if
    ``st_self[s]``) or from ``st_src[s, k]`` at cost ``st_pen[s, k]`` (-1: none, -2: the path may
    start in ``s``). ``st_lo/st_hi``: frames state ``s`` may occupy, both nondecreasing in ``s``;
    every source of ``s`` is a state before it. Returns (state per frame, best score); states -1
    when no path exists."""
    T = emit.shape[0]
    S, K = st_src.shape
    a = np.zeros(T, np.int64)  # active states at frame t: [a[t], b[t])
    b = np.zeros(T, np.int64)
    lo_ptr = 0
    hi_ptr = 0
    for t in range(T):
        while lo_ptr < S and st_hi[lo_ptr] <= t:
            lo_ptr += 1
        while hi_ptr < S and st_lo[hi_ptr] <= t:
            hi_ptr += 1
        a[t] = lo_ptr
        b[t] = max(hi_ptr, lo_ptr)
    off = np.zeros(T + 1, np.int64)
    for t in range(T):
        off[t + 1] = off[t] + (b[t] - a[t])
    bp = np.zeros(off[T], np.int8)
    prev = np.full(S, _NEG)
    cur = np.full(S, _NEG)
    for s in range(a[0], b[0]):
        for k in range(K):
            if st_src[s, k] == -2:
                v = emit[0, st_class[s]] - st_pen[s, k]
                if v > cur[s]:
                    cur[s] = v
    pa, pb = a[0], b[0]
    for t in range(1, T):
        prev, cur = cur, prev  # prev: frame t-1 over [pa, pb); reads outside it are guarded
        for s in range(a[t], b[t]):
            best = _NEG
            code = 0
            if st_self[s] and s >= pa and s < pb:
                best = prev[s]
            for k in range(K):
                q = st_src[s, k]
                if q >= pa and q < pb:
                    v = prev[q] - st_pen[s, k]
                    if v > best:
                        best = v
                        code = k + 1
            if best > _NEG / 2:
                cur[s] = best + emit[t, st_class[s]]
            else:
                cur[s] = _NEG
            bp[off[t] + s - a[t]] = code
        pa, pb = a[t], b[t]
    best = _NEG
    end = -1
    for i in range(finals.shape[0]):
        f = finals[i]
        if f >= pa and f < pb and cur[f] - final_pen[i] > best:
            best = cur[f] - final_pen[i]
            end = f
    path = np.full(T, -1, np.int64)
    if end < 0 or best < _NEG / 2:
        return path, best
    s = end
    for t in range(T - 1, -1, -1):
        path[t] = s
        if t == 0:
            break
        code = bp[off[t] + s - a[t]]
        if code > 0:
            s = st_src[s, code - 1]
    return path, best


def viterbi_segments(
    emit: np.ndarray,
    classes: np.ndarray,
    optional: np.ndarray,
    min_frames: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
    skips: list[tuple[int, int, float]] | None = None,
    enter: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Best placement of a chain of segments on `emit` (T, C) scores.

    Segment ``g`` has class ``classes[g]``, lasts at least ``min_frames[g]`` frames, may be skipped
    when ``optional[g]`` (never two optional segments in a row), and must lie in frames
    ``[lo[g], hi[g])``. `skips`: groups (first, last, penalty) of segments that may be left out
    together at that cost (a word the recording does not contain; groups neither overlap nor
    touch, and a path leaves out at most one group between two segments it visits). `enter`: a
    cost per segment paid when the path enters it (e.g. a pause between words). Returns
    (starts, ends) per segment, ``start == end`` for a left-out one, and the path's total score
    (penalties subtracted). Raises ValueError when no placement fits."""
    emit = np.ascontiguousarray(emit, dtype=np.float32)
    if emit.ndim != 2 or emit.shape[0] == 0 or emit.shape[1] == 0:
        raise ValueError(
            f"emit must be (frames, classes) scores with at least one frame, not shape {emit.shape}"
        )
    if not np.all(np.isfinite(emit)):
        raise ValueError("emit contains NaN or infinite scores")
    T = emit.shape[0]
    classes = np.asarray(classes, np.int64).reshape(-1)
    G = len(classes)
    optional = np.asarray(optional, bool).reshape(-1)
    mins = np.maximum(1, np.asarray(min_frames, np.int64).reshape(-1))
    if G == 0:
        raise ValueError("nothing to align")
    for name, arr in (("optional", optional), ("min_frames", mins), ("lo", lo), ("hi", hi), ("enter", enter)):
        if arr is not None and np.size(arr) != G:
            raise ValueError(f"{name} has {np.size(arr)} entries for {G} segments")
    if classes.min() < 0 or classes.max() >= emit.shape[1]:
        raise ValueError(
            f"segment classes must be in [0, {emit.shape[1]}), got {classes.min()}..{classes.max()}"
        )
    if np.any(optional[1:] & optional[:-1]):
        raise ValueError("two optional segments in a row")
    lo = np.zeros(G, np.int64) if lo is None else np.clip(np.asarray(lo, np.int64), 0, T)
    hi = np.full(G, T, np.int64) if hi is None else np.clip(np.asarray(hi, np.int64), 0, T)
    lo = np.maximum.accumulate(lo)
    hi = np.minimum.accumulate(hi[::-1])[::-1]
    n_st = mins.copy()
    first = np.concatenate([[0], np.cumsum(n_st)[:-1]])
    last = first + n_st - 1
    S = int(n_st.sum())
    seg_of = np.repeat(np.arange(G), n_st)

    # predecessors of segment g (g == G: the end of the path); -1 is the start of the path
    def pred0(g: int) -> list[tuple[int, float]]:
        out = [(g - 1, 0.0)]
        if g >= 1 and optional[g - 1]:
            out.append((g - 2, 0.0))
        return out

    group_ending = {int(e): (int(f), float(pen)) for f, e, pen in (skips or [])}

    def pred(g: int) -> list[tuple[int, float]]:
        out = pred0(g)
        for end in (g - 1, g - 2 if g >= 2 and optional[g - 1] else None):
            if end is not None and end in group_ending:
                f, pen = group_ending[end]
                out += [(q, c + pen) for q, c in pred0(f)]
        best: dict[int, float] = {}
        for q, c in out:
            best[q] = min(c, best.get(q, np.inf))
        return list(best.items())

    K = 6
    st_src = np.full((S, K), -1, np.int64)
    st_pen = np.zeros((S, K), np.float32)
    for s in range(S):
        st_src[s, 0] = s - 1
    for g in range(G):
        for k, (q, c) in enumerate(pred(g)):
            st_src[first[g], k] = last[q] if q >= 0 else -2
            st_pen[first[g], k] = c + (float(enter[g]) if enter is not None else 0.0)
    st_self = np.zeros(S, np.bool_)
    st_self[last] = True
    fin = pred(G)
    finals = np.array([last[q] for q, _ in fin if q >= 0], np.int64)
    final_pen = np.array([c for q, c in fin if q >= 0], np.float32)
    path, score = _viterbi(
        emit, classes[seg_of], st_self, st_src, st_pen, lo[seg_of], hi[seg_of], finals, final_pen
    )
    if path[0] < 0:
        raise ValueError(
            "no alignment fits the transcript in the recording (too many phones for its length?)"
        )
    segs = seg_of[path]
    starts = np.zeros(G, np.int64)
    ends = np.zeros(G, np.int64)
    # a segment's frames are contiguous; skipped ones get an empty span where they would be
    change = np.flatnonzero(np.diff(segs)) + 1
    bounds = np.concatenate([[0], change, [T]])
    seen = np.zeros(G, bool)
    for k in range(len(bounds) - 1):
        g = segs[bounds[k]]
        starts[g], ends[g] = bounds[k], bounds[k + 1]
        seen[g] = True
    nxt = T
    for g in range(G - 1, -1, -1):
        if not seen[g]:
            starts[g] = ends[g] = nxt
        nxt = starts[g]
    return starts, ends, float(score)


@dataclass
class HMMWord:
    index: int
    start: float  # seconds
    end: float
    confidence: float
    frames: list[tuple[int, int, int]] = field(default_factory=list)  # (first, end, class) per phone
    missing: bool = False


@dataclass
class PhoneAlignment:
    words: list[HMMWord]
    frame_duration: float
    score: float
    silences: list[tuple[int, int]] = field(default_factory=list)  # frames of the silences placed


def align_phones_task(
    audio: Any,
    lines: list[list[list[int]]],
    model: Any,
    *,
    windows: list[tuple[float, float]] | None = None,
    posteriors: np.ndarray | None = None,
    prior_weight: float = 0.0,
    min_frames: int = 3,
    silence_penalty: float = 1.0,
    skip_penalty: float | None = 8.0,
    min_pause: float = 0.0,
) -> Task[PhoneAlignment]:
    """Align `lines` (per line, per word, the word's phone classes of `phone_frames.PHONES`) to
    `audio` (mono float32 samples at the model's 16 kHz) with `model` (a `PhoneFrameModel`).

    `windows`: per word (start s, end s) it must lie in; `posteriors`: the model's log posteriors
    if already computed (then `audio` may be None). `skip_penalty` (per phone of the word): what
    leaving a word out costs, in the units of the log scores; a word the recording does not contain
    costs more than that when forced in, so it is left out and flagged missing instead of squeezed
    (None: every word is placed)."""
    from ..models.phone_frames import SILENCE

    words = [w for line in lines for w in line]
    if not words:
        raise ValueError("the transcript has no words")
    if posteriors is None:
        posteriors = yield from scaled(model.log_posteriors_task(audio), 0.0, 0.8)
    lp = np.asarray(posteriors, np.float32)
    emit = lp - np.float32(prior_weight) * np.asarray(model.log_priors, np.float32)[None, :]
    fd = float(model.frame_duration)
    T = len(lp)
    yield Progress(0.85, "placing the phones")
    classes: list[int] = [SILENCE]
    optional: list[bool] = [True]
    mins: list[int] = [1]
    owner: list[int] = [-1]  # word index per segment (-1: silence)
    lo: list[int] = [0]
    hi: list[int] = [T]
    for k, phones in enumerate(words):
        ph = list(phones) or [SILENCE]  # a word espeak gave no phones: one short segment
        if windows is not None:
            w0 = max(0, int(np.floor(windows[k][0] / fd)))
            w1 = min(T, int(np.ceil(windows[k][1] / fd)))
        else:
            w0, w1 = 0, T
        for c in ph:
            classes.append(int(c))
            optional.append(False)
            mins.append(min_frames if c != SILENCE else 1)
            owner.append(k)
            lo.append(w0)
            hi.append(w1)
        classes.append(SILENCE)
        optional.append(True)
        mins.append(1 if k == len(words) - 1 else max(1, int(round(min_pause / fd))))
        owner.append(-1)
        lo.append(0)  # made monotone by viterbi_segments: from this word's window to the next's
        hi.append(T)
    skips = None
    if skip_penalty is not None:
        span: dict[int, list[int]] = {}
        for g, o in enumerate(owner):
            if o >= 0:
                span.setdefault(o, [g, g])[1] = g
        skips = [(f, e, float(skip_penalty) * (e - f + 1)) for f, e in (span[k] for k in range(len(words)))]
    # a pause between two words of a line costs `silence_penalty` per frame (a stop's silent closure
    # is then cheaper as part of the stop); pauses between lines and the silences before the first
    # and after the last word cost nothing, so words are not pulled into long pauses.
    # The inter-word pause gets its own score column.
    emit = np.concatenate([emit, emit[:, SILENCE : SILENCE + 1] - np.float32(silence_penalty)], axis=1)
    seg_class = np.array(classes)
    line_end = set(np.cumsum([len(line) for line in lines]) - 1)  # word indexes that end a line
    inner = [g for g in range(1, len(classes) - 1) if owner[g] < 0 and owner[g - 1] not in line_end]
    seg_class[inner] = emit.shape[1] - 1
    starts, ends, score = viterbi_segments(
        emit, seg_class, np.array(optional), np.array(mins), np.array(lo), np.array(hi), skips
    )
    best = lp.max(axis=1)
    out: list[HMMWord] = []
    per_word: list[list[int]] = [[] for _ in words]
    silences = []
    for g, k in enumerate(owner):
        if k >= 0:
            per_word[k].append(g)
        elif ends[g] > starts[g]:
            silences.append((int(starts[g]), int(ends[g])))
    for k, segs in enumerate(per_word):
        f0, f1 = int(starts[segs[0]]), int(ends[segs[-1]])
        gop = [lp[starts[g] : ends[g], classes[g]] - best[starts[g] : ends[g]] for g in segs]
        cat = np.concatenate(gop) if gop else np.zeros(1, np.float32)
        conf = float(np.exp(cat.mean())) if cat.size else 0.0
        out.append(
            HMMWord(
                k,
                f0 * fd,
                f1 * fd,
                conf,
                [(int(starts[g]), int(ends[g]), int(classes[g])) for g in segs],
                missing=f1 == f0,
            )
        )
    yield Progress(1.0, "done")
    return PhoneAlignment(out, fd, score, silences)


def align_phones(audio: Any, lines: list[list[list[int]]], model: Any, **kw: Any) -> PhoneAlignment:
    return run(align_phones_task(audio, lines, model, **kw))
