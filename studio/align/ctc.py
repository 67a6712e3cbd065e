"""CTC forced alignment: Viterbi over the CTC trellis in torch (CPU or CUDA), batched, and windowed for long audio.

Given frame log-posteriors ``log_probs`` (T, C) of a CTC acoustic model and a transcript ``targets``
(S token ids, no blanks), find the single best CTC path that emits exactly the transcript
(Graves et al. 2006; the same problem as ``torchaudio.functional.forced_align`` and the aligner of
MMS, Pratap et al. 2024, "Scaling speech technology to 1,000+ languages").

Topology. The usual extended sequence of L = 2S + 1 states: gap 0, token 0, gap 1, token 1, ...,
token S-1, gap S. A gap state emits blank; a token state emits its token and may repeat over
several frames. A path starts in gap 0 or token 0, ends in token S-1 or gap S, and at each frame
stays, moves one state on, or skips a gap between two *different* tokens (never between two
equal tokens: CTC collapses ``a a`` to one ``a``, so a repeat needs a blank between them).

Star token. With ``star=<id>`` (a garbage / "any other speech" output of the model) or
``star_penalty=p`` (a synthetic one: per frame, the best non-blank log-posterior minus p — the
wildcard ``<star>`` of Pratap et al. 2024, §5, which torchaudio's MMS tutorial adds as an extra
emission column), a gap frame may emit the star instead of blank. Every gap, including the
ones before the first and after the last token and the one between two equal tokens, may thus
absorb speech that the transcript does not contain; inside the Viterbi recursion a gap state's
emission is simply ``max(blank, star)``, and ``CTCAlignment.star_frames`` marks the gap frames where
the star won. (A larger penalty makes the star rarer; p → ∞ is plain CTC.)

Kernel. The recursion is vectorised over the states and the batch: a Python loop over the T
frames runs ~8 in-place tensor operations on (B, L) rows (the two predecessors are views into a
padded score row, the skip mask an additive 0 / -inf row), so the same code runs on CUDA. The
backpointer of each cell is an ``int8`` move code (0 stay, 1 from the previous state, 2 skip):
``T × (2S + 1)`` bytes for one alignment — the same order as torchaudio's, which is the memory
bound of any exact Viterbi with a full traceback. Emissions are gathered a block of frames at a
time. The traceback runs on the CPU (numpy). Ties are broken towards staying, then moving by one.

Long recordings. One hour at 50 frames/s with ~40 000 tokens would need 180 000 × 80 001 bytes
= 14 GB of backpointers. `forced_align_windowed` instead runs the exact Viterbi on windows of
``window_frames`` frames, each restricted to the 2·window_frames + 1 states a path can reach from
its start, and commits the window's path up to ``overlap_frames`` before its end; the next window
starts from the committed state (the classic fixed-lag traceback of streaming Viterbi decoders,
e.g. Rabiner 1989 §IV; Bahl et al. 1975 "path merging"). The window's end is open but limited to
states from which the rest of the transcript still fits in the remaining frames, so a path
always exists and the last window closes it exactly. Memory: window_frames × (2·window_frames + 3)
bytes of backpointers, window_frames × (C + 2) floats of emissions and a few (T,) vectors —
independent of S (32 MB of backpointers for the default 4 000-frame window). It is exact within each window; the whole path equals the global
Viterbi path whenever the paths merge within the overlap, which the tests check on peaked,
model-like posteriors (it is not a guarantee for adversarial inputs, e.g. uniform posteriors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CTCAlignment", "forced_align", "forced_align_batch", "forced_align_windowed"]

_BLOCK_ELEMS = 1 << 21  # gathered emissions per block (16 MB in float64)


@dataclass(frozen=True)
class CTCAlignment:
    """The best CTC path of one (log_probs, targets) pair.

    ``spans`` (S, 2) int64: first and last frame (inclusive) of each token. ``scores`` (S,) float64:
    mean log-posterior of the token over its frames; ``confidence`` = exp(scores). ``path`` (T,) int64:
    per frame the token index (0..S-1) or -1 for blank / star. ``star_frames`` (T,) bool: gap frames
    that the star absorbed (all False without a star). ``log_prob``: total log-probability of the
    path (sum of the emitted log-posteriors; a star frame counts with its, possibly penalised, value).
    """

    spans: np.ndarray
    scores: np.ndarray
    confidence: np.ndarray
    path: np.ndarray
    star_frames: np.ndarray
    log_prob: float

    @property
    def num_frames(self) -> int:
        return int(self.path.shape[0])

    def times(self, frame_duration: float, offset: float = 0.0) -> np.ndarray:
        """(S, 2) start and end time of each token in seconds: [first·d, (last + 1)·d) + offset."""
        if not (frame_duration > 0 and math.isfinite(frame_duration)):
            raise ValueError(f"frame_duration must be a positive number of seconds, not {frame_duration!r}")
        return offset + np.stack([self.spans[:, 0], self.spans[:, 1] + 1], axis=1) * float(frame_duration)


# ----------------------------------------------------------------------------------------- checks


def _as_log_probs(log_probs: Any, device: Any) -> Any:
    import torch

    lp = log_probs if isinstance(log_probs, torch.Tensor) else torch.as_tensor(np.asarray(log_probs))
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be 2-D (frames T, classes C), not of shape {tuple(lp.shape)}")
    if lp.shape[0] < 1 or lp.shape[1] < 2:
        raise ValueError(f"log_probs needs at least 1 frame and 2 classes, got shape {tuple(lp.shape)}")
    if not lp.is_floating_point():
        raise ValueError(f"log_probs must be floating point log-posteriors, not {lp.dtype}")
    if lp.dtype not in (torch.float32, torch.float64):
        lp = lp.float()
    dev = torch.device(device) if device is not None else lp.device
    lp = lp.detach().to(dev)
    if bool(torch.isnan(lp).any()):
        raise ValueError("log_probs contains NaN")
    if bool(torch.isposinf(lp).any()):
        raise ValueError("log_probs contains +inf")
    return lp


def _as_targets(targets: Any, C: int, blank: int, star: int | None) -> np.ndarray:
    import torch

    t = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    if t.ndim != 1:
        raise ValueError(f"targets must be 1-D token ids, not of shape {t.shape}")
    if t.size == 0:
        raise ValueError("targets is empty: nothing to align")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be integer token ids, not {t.dtype}")
    t = t.astype(np.int64)
    if t.min() < 0 or t.max() >= C:
        raise ValueError(f"targets must be token ids in [0, {C}), got values {t.min()}..{t.max()}")
    if (t == blank).any():
        raise ValueError(f"targets contain the blank id {blank}")
    if star is not None and (t == star).any():
        raise ValueError(f"targets contain the star id {star}")
    return t


def _check_ids(C: int, blank: int, star: int | None, star_penalty: float | None) -> None:
    if not (isinstance(blank, (int, np.integer)) and 0 <= blank < C):
        raise ValueError(f"blank must be a class id in [0, {C}), not {blank!r}")
    if star is not None and star_penalty is not None:
        raise ValueError("give either star (a class id) or star_penalty (a synthetic star), not both")
    if star is not None and not (isinstance(star, (int, np.integer)) and 0 <= star < C and star != blank):
        raise ValueError(f"star must be a class id in [0, {C}) other than blank {blank}, not {star!r}")
    if star_penalty is not None and not math.isfinite(float(star_penalty)):
        raise ValueError(f"star_penalty must be a finite number, not {star_penalty!r}")


def _min_frames(t: np.ndarray) -> int:
    return int(t.size + np.count_nonzero(t[1:] == t[:-1]))


def _check_fits(T: int, t: np.ndarray, where: str = "") -> None:
    need = _min_frames(t)
    if need > T:
        reps = need - t.size
        raise ValueError(
            f"{where}targets do not fit: S = {t.size} tokens with {reps} repeats need at least {need} frames, "
            f"but log_probs has T = {T}"
        )


# --------------------------------------------------------------------------------- trellis pieces


def _star_column(lp: Any, blank: int, star: int | None, star_penalty: float | None) -> Any:
    """Per-frame log-probability of the star (T,): the star class, or the best non-blank class minus the
    penalty; None without a star."""
    if star is not None:
        return lp[:, star]
    if star_penalty is None:
        return None
    not_blank = lp.index_fill(1, _index([blank], lp.device), -math.inf)
    return not_blank.max(dim=1).values - float(star_penalty)


def _index(values: list[int], device: Any) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.long, device=device)


def _augment(lp: Any, blank: int, star_col: Any) -> Any:
    """(T, C + 2) log_probs: column C = gap emission (blank, or max(blank, star)), column C + 1 = -inf."""
    import torch

    gap = lp[:, blank] if star_col is None else torch.maximum(lp[:, blank], star_col)
    ninf = torch.full((lp.shape[0], 1), -math.inf, dtype=lp.dtype, device=lp.device)
    return torch.cat([lp, gap[:, None], ninf], dim=1)


def _states(t: np.ndarray, C: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extended states of a transcript: label column (into the augmented log_probs), skip-allowed mask,
    and the minimal number of further frames needed after a frame spent in each state."""
    S = t.size
    L = 2 * S + 1
    ext = np.full(L, C, dtype=np.int64)
    ext[1::2] = t
    skip = np.zeros(L, dtype=bool)
    skip[3::2] = t[1:] != t[:-1]
    rep = np.concatenate([(t[1:] == t[:-1]).astype(np.int64), [0]])  # rep[k]: tokens k, k+1 equal
    rep_after = np.concatenate([np.cumsum(rep[::-1])[::-1], [0]])  # repeats among pairs k.. (k, k+1)...
    k = np.arange(S)
    need = np.zeros(L, dtype=np.int64)
    # token k: tokens k+1..S-1 remain, plus a blank for each repeat from pair (k, k+1) on
    need[1::2] = (S - 1 - k) + rep_after[k]
    # gap before token k (k = 0..S-1): tokens k..S-1 remain, repeats from pair (k, k+1) on
    need[0:-1:2] = (S - k) + rep_after[k]
    need[-1] = 0
    return ext, skip, need


def _viterbi(lpa: Any, ext: Any, skip: Any, t_len: Any, start_ok: Any, end_ok: Any) -> tuple[Any, Any, Any]:
    """Batched Viterbi. lpa (B, T, C2) augmented log-probs; ext (B, L) long; skip, start_ok, end_ok (B, L)
    bool; t_len (B,) long (frames beyond an item's length freeze its scores). Returns the backpointers
    (T, B, L) int8, the best end state (B,) and its score (B,), on the device."""
    import torch

    B, T, _ = lpa.shape
    L = ext.shape[1]
    dev, dt = lpa.device, lpa.dtype
    ninf = -math.inf
    skip_add = torch.zeros((B, L), dtype=dt, device=dev).masked_fill_(~skip, ninf)
    bp = torch.zeros((T, B, L), dtype=torch.int8, device=dev)
    buf = torch.full((B, L + 2), ninf, dtype=dt, device=dev)
    cur, p1, p2raw = buf[:, 2:], buf[:, 1:-1], buf[:, :-2]
    a = torch.empty((B, L), dtype=dt, device=dev)
    m = torch.empty_like(a)
    p2 = torch.empty_like(a)
    c1 = torch.empty((B, L), dtype=torch.bool, device=dev)
    c2 = torch.empty_like(c1)
    t_min = int(t_len.min())
    blk = max(1, _BLOCK_ELEMS // max(1, B * L))
    E_buf = torch.empty((B, min(blk, T), L), dtype=dt, device=dev)
    for b0 in range(0, T, blk):
        b1 = min(T, b0 + blk)
        E = E_buf[:, : b1 - b0]
        for b in range(B):
            torch.index_select(lpa[b, b0:b1], 1, ext[b], out=E[b])  # (blk, L) emissions
        for t in range(b0, b1):
            e = E[:, t - b0]
            if t == 0:
                cur.copy_(torch.where(start_ok, e, torch.full_like(e, ninf)))
                continue
            torch.maximum(cur, p1, out=a)
            torch.gt(p1, cur, out=c1)
            torch.add(p2raw, skip_add, out=p2)
            torch.maximum(a, p2, out=m)
            torch.gt(p2, a, out=c2)
            row = bp[t]
            row.copy_(c1)
            row.masked_fill_(c2, 2)
            m.add_(e)
            if t >= t_min:
                active = (t_len > t)[:, None]
                row.masked_fill_(~active, 0)
                torch.where(active, m, cur, out=m)
            cur.copy_(m)
    final = torch.where(end_ok, cur, torch.full_like(cur, ninf))
    best, j = final.max(dim=1)
    return bp, j, best


def _backtrack(bp: np.ndarray, j_end: np.ndarray, t_len: np.ndarray) -> list[np.ndarray]:
    """State sequences (one per batch item) from int8 move codes (T, B, L)."""
    out = []
    for b in range(bp.shape[1]):
        n = int(t_len[b])
        states = np.empty(n, dtype=np.int64)
        j = int(j_end[b])
        col = bp[:n, b]
        for t in range(n - 1, 0, -1):
            states[t] = j
            j -= int(col[t, j])
        states[0] = j
        out.append(states)
    return out


def _result(lp: Any, star_col: Any, blank: int, t: np.ndarray, states: np.ndarray) -> CTCAlignment:
    """The alignment from a state sequence; only (T,) vectors of log_probs are copied to the CPU."""
    import torch

    T = states.size
    S = t.size
    path = np.where(states % 2 == 1, (states - 1) // 2, -1).astype(np.int64)
    frames = np.arange(T)
    tok = path >= 0
    labels = np.where(tok, t[np.maximum(path, 0)], blank)
    lab = torch.as_tensor(labels, device=lp.device)[:, None]
    emitted = lp.gather(1, lab)[:, 0].detach().cpu().double().numpy()
    star_frames = np.zeros(T, dtype=bool)
    if star_col is not None:
        star_np = star_col.detach().cpu().double().numpy()
        gap = ~tok
        star_frames[gap] = star_np[gap] > emitted[gap]
        emitted[gap] = np.maximum(emitted[gap], star_np[gap])
    tf = frames[tok]
    tp = path[tok]
    firsts = np.searchsorted(tp, np.arange(S), side="left")
    lasts = np.searchsorted(tp, np.arange(S), side="right") - 1
    if not (np.all(lasts >= firsts) and tp.size and np.all(np.diff(tp) >= 0)):
        raise AssertionError("internal error: the Viterbi path does not visit every token in order")
    spans = np.stack([tf[firsts], tf[lasts]], axis=1).astype(np.int64)
    sums = np.add.reduceat(emitted[tok], firsts)
    scores = sums / (lasts - firsts + 1)
    return CTCAlignment(
        spans=spans,
        scores=scores,
        confidence=np.exp(scores),
        path=path,
        star_frames=star_frames,
        log_prob=float(emitted.sum()),
    )


def _prepare(
    log_probs: Any,
    targets: Any,
    blank: int,
    star: int | None,
    star_penalty: float | None,
    device: Any,
    where: str = "",
) -> tuple[Any, np.ndarray]:
    lp = _as_log_probs(log_probs, device)
    _check_ids(lp.shape[1], blank, star, star_penalty)
    t = _as_targets(targets, lp.shape[1], blank, star)
    _check_fits(lp.shape[0], t, where)
    return lp, t


def _no_path(where: str = "") -> ValueError:
    return ValueError(f"{where}no CTC path has a finite log-probability (the needed classes are all -inf)")


# ------------------------------------------------------------------------------------------- API


def forced_align(
    log_probs: Any,
    targets: Any,
    *,
    blank: int = 0,
    star: int | None = None,
    star_penalty: float | None = None,
    device: Any = None,
) -> CTCAlignment:
    """Exact CTC forced alignment (Viterbi) of ``targets`` (S,) to ``log_probs`` (T, C).

    ``log_probs``: torch tensor or array of log-softmax outputs (float32 / float64; computed in that
    precision, other floats in float32). ``blank``: the blank id. ``star`` / ``star_penalty``: optional
    wildcard that gap frames may emit (see the module docstring). ``device``: where the recursion
    runs (default: the tensor's device). Memory: T × (2S + 1) bytes of backpointers; for long
    recordings use `forced_align_windowed`.
    """
    return forced_align_batch(
        [(log_probs, targets)], blank=blank, star=star, star_penalty=star_penalty, device=device
    )[0]


def forced_align_batch(
    items: Sequence[tuple[Any, Any]],
    *,
    blank: int = 0,
    star: int | None = None,
    star_penalty: float | None = None,
    device: Any = None,
) -> list[CTCAlignment]:
    """`forced_align` of several (log_probs, targets) pairs in one recursion, padded to the longest T and S.

    All pairs must have the same number of classes; the computation runs in float64 if any input
    is float64, else float32. Results are identical to aligning one by one.
    """
    import torch

    if len(items) == 0:
        raise ValueError("forced_align_batch needs at least one (log_probs, targets) pair")
    prepared = []
    for i, it in enumerate(items):
        if not (isinstance(it, (tuple, list)) and len(it) == 2):
            raise ValueError(f"item {i} must be a (log_probs, targets) pair")
        where = f"item {i}: " if len(items) > 1 else ""
        prepared.append(_prepare(it[0], it[1], blank, star, star_penalty, device, where))
    C = prepared[0][0].shape[1]
    dev = prepared[0][0].device
    for i, (lp, _) in enumerate(prepared):
        if lp.shape[1] != C:
            raise ValueError(f"item {i} has {lp.shape[1]} classes, item 0 has {C}: all must have the same C")
        if lp.device != dev:
            raise ValueError(f"item {i} is on {lp.device}, item 0 on {dev}: pass device= to move them")
    dt = torch.float64 if any(lp.dtype == torch.float64 for lp, _ in prepared) else torch.float32
    B = len(prepared)
    T = max(lp.shape[0] for lp, _ in prepared)
    L = max(2 * t.size + 1 for _, t in prepared)
    lpa = torch.full((B, T, C + 2), -math.inf, dtype=dt, device=dev)
    ext = np.full((B, L), C + 1, dtype=np.int64)
    skip = np.zeros((B, L), dtype=bool)
    start_ok = np.zeros((B, L), dtype=bool)
    end_ok = np.zeros((B, L), dtype=bool)
    t_len = np.empty(B, dtype=np.int64)
    star_cols = []
    for b, (lp, t) in enumerate(prepared):
        star_col = _star_column(lp, blank, star, star_penalty)
        star_cols.append(star_col)
        lpa[b, : lp.shape[0]] = _augment(lp.to(dt), blank, None if star_col is None else star_col.to(dt))
        e, s, _ = _states(t, C)
        n = e.size
        ext[b, :n], skip[b, :n] = e, s
        start_ok[b, :2] = True
        end_ok[b, n - 2 : n] = True
        t_len[b] = lp.shape[0]

    def tt(x: np.ndarray) -> Any:
        return torch.as_tensor(x, device=dev)

    bp, j_end, best = _viterbi(lpa, tt(ext), tt(skip), tt(t_len), tt(start_ok), tt(end_ok))
    best_np = best.cpu().numpy()
    for b in range(B):
        if not np.isfinite(best_np[b]):
            raise _no_path(f"item {b}: " if B > 1 else "")
    states = _backtrack(bp.cpu().numpy(), j_end.cpu().numpy(), t_len)
    return [_result(prepared[b][0], star_cols[b], blank, prepared[b][1], states[b]) for b in range(B)]


def forced_align_windowed(
    log_probs: Any,
    targets: Any,
    *,
    blank: int = 0,
    star: int | None = None,
    star_penalty: float | None = None,
    device: Any = None,
    window_frames: int = 4000,
    overlap_frames: int | None = None,
) -> CTCAlignment:
    """CTC forced alignment of long recordings in bounded memory (fixed-lag windows; module docstring).

    Windows of ``window_frames`` frames (default 4 000 = 80 s at 50 frames/s); each commits all but its
    last ``overlap_frames`` (default window_frames // 4). Backpointer memory: window_frames ×
    (2·window_frames + 3) bytes, whatever T and S. Same arguments and result as `forced_align`, to
    which it is identical when T <= window_frames.
    """
    import torch

    if not (isinstance(window_frames, (int, np.integer)) and window_frames >= 2):
        raise ValueError(f"window_frames must be an integer >= 2, not {window_frames!r}")
    if overlap_frames is None:
        overlap_frames = window_frames // 4
    if not (isinstance(overlap_frames, (int, np.integer)) and 0 <= overlap_frames < window_frames):
        raise ValueError(f"overlap_frames must be an integer in [0, window_frames), not {overlap_frames!r}")
    lp, t = _prepare(log_probs, targets, blank, star, star_penalty, device)
    T, C = lp.shape
    dev = lp.device
    star_col = None if star is None and star_penalty is None else torch.empty(T, dtype=lp.dtype, device=dev)
    ext_g, skip_g, need_g = _states(t, C)
    L = ext_g.size
    states = np.empty(T, dtype=np.int64)
    f0, j0 = 0, 0
    while True:
        f1 = min(T, f0 + window_frames)
        n = f1 - f0
        j1 = min(L, j0 + 2 * n + 1)
        ext = ext_g[j0:j1]
        start_ok = np.zeros(j1 - j0, dtype=bool)
        start_ok[: 2 if f0 == 0 else 1] = True
        if f1 == T:
            end_ok = np.arange(j0, j1) >= L - 2
        else:
            end_ok = need_g[j0:j1] <= T - f1
        sc = _star_column(lp[f0:f1], blank, star, star_penalty)
        if sc is not None:
            star_col[f0:f1] = sc
        bp, j_end, best = _viterbi(
            _augment(lp[f0:f1], blank, sc)[None],
            torch.as_tensor(ext[None], device=dev),
            torch.as_tensor(skip_g[None, j0:j1], device=dev),
            torch.as_tensor(np.array([n]), device=dev),
            torch.as_tensor(start_ok[None], device=dev),
            torch.as_tensor(end_ok[None], device=dev),
        )
        if not math.isfinite(float(best[0])):
            raise _no_path()
        local = _backtrack(bp.cpu().numpy(), j_end.cpu().numpy(), np.array([n]))[0] + j0
        if f1 == T:
            states[f0:] = local
            break
        cut = max(1, n - overlap_frames)
        states[f0 : f0 + cut] = local[:cut]
        f0, j0 = f0 + cut, int(local[cut])
    return _result(lp, star_col, blank, t, states)
