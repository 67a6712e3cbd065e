"""Torch DTW kernel: an anti-diagonal wavefront, batched, float32 or float64, on CUDA or the CPU.

All cells of an anti-diagonal t = i + j depend only on earlier anti-diagonals, so each diagonal
is one vectorised step over every cell of it and every pair of the batch — the standard way to
run DTW's dynamic programme on a GPU (e.g. Xiao et al. 2013, "Parallelizing dynamic time warping
algorithm using prefix computations on GPU"; Maghoumi et al. 2021, "DeepNAG" for the soft-DTW
variant). The layout mirrors the numba kernel's:

* only the window's cells are stored: diagonal t holds the cells with i in ``[dlo[t], dhi[t])``
  (an interval because the window's bounds are monotone), the step codes of all diagonals are
  concatenated (``uint8``, offsets ``doff``), so memory is proportional to the window's area;
* accumulated and local costs of the last few diagonals live in rings indexed by i;
* local costs are computed a block of diagonals at a time, summing the d terms in order k = 0..d-1
  with separate multiply and add operations, exactly like the numba kernel, so in float64 both
  give the same costs bit for bit; each candidate is ``D[pred] + w·c`` compared with strict ``<``
  in move order, as there.

The paths are backtracked on the CPU from the codes (`_dtw_numba.backtrack`, diagonal layout).
A Python-level loop launches a few kernels per diagonal and move: on a GPU that is ~0.1 ms per
diagonal for the whole batch, so this backend pays off for batches of alignments, or for long
ones when the CPU is slow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task

__all__ = ["dtw_torch_task"]

_BLOCK_ELEMS = 1 << 23  # gathered feature values per cost block (64 MB in float64)


def _resolve(probs: list[Any], device: Any, dtype: Any) -> tuple[Any, Any]:
    import torch

    first = probs[0].C if probs[0].C is not None else probs[0].X
    is_t = isinstance(first, torch.Tensor)
    dev = torch.device(device) if device is not None else (first.device if is_t else torch.device("cpu"))
    if dtype is None:
        dt = first.dtype if is_t and first.dtype in (torch.float32, torch.float64) else torch.float64
    else:
        dt = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if dt not in (torch.float32, torch.float64):
            raise ValueError(f"the torch kernel computes in float32 or float64, not {dtype!r}")
    return dev, dt


def _stack(arrs: list[Any], dev: Any, dt: Any) -> Any:
    import torch

    return torch.stack([torch.as_tensor(a).to(device=dev, dtype=dt) for a in arrs]).contiguous()


def _seq_norms(AT: Any) -> Any:
    """sqrt of the sum of squares over the leading (feature) axis, summed in order."""
    s = AT[0] * AT[0]
    for k in range(1, AT.shape[0]):
        s = s + AT[k] * AT[k]
    return _sqrt(s)


def _sqrt(x: Any) -> Any:
    """Correctly rounded square root. torch's CPU kernel (Sleef, <= 0.5001 ulp) is not, and then
    the euclidean costs would differ from the numba kernel's in the last bit; CUDA's sqrt is."""
    if x.device.type == "cpu":
        import torch

        return torch.from_numpy(np.sqrt(x.numpy()))
    return x.sqrt()


def dtw_torch_task(
    probs: Any, pattern: Any, win: Any, open_begin: bool, open_end: bool, start_value: float,
    keep_acc: bool, device: Any = None, dtype: Any = None,
) -> Task[list[Any]]:  # fmt: skip
    """Align every problem of ``probs`` (same n, m; one `_Problem` or a list) in one wavefront."""
    import torch

    from . import _dtw_numba as K
    from .dtw import _end_column, _no_path, _overflow, _Problem, _Raw

    if isinstance(probs, _Problem):
        probs = [probs]
    n, m, B = probs[0].n, probs[0].m, len(probs)
    lo, hi = win.lo, win.hi
    if np.any(hi <= lo):
        raise _no_path(f"row {int(np.argmax(hi <= lo))} of the window is empty")
    dev, dt = _resolve(probs, device, dtype)
    metric = probs[0].metric
    if metric == "precomputed":
        Cs = _stack([p.C for p in probs], dev, dt)  # (B, n, m)
    else:
        XT = _stack([p.X for p in probs], dev, dt).permute(2, 0, 1).contiguous()  # (d, B, n)
        YT = _stack([p.Y for p in probs], dev, dt).permute(2, 0, 1).contiguous()  # (d, B, m)
        if metric == "cosine":
            nx, ny = _seq_norms(XT), _seq_norms(YT)
    mask = None if win.mask is None else torch.as_tensor(win.mask, device=dev)

    # the window by anti-diagonals: cells (i, t - i) for i in [dlo[t], dhi[t])
    T = n + m - 1
    ar = np.arange(n)
    ts = np.arange(T)
    dlo = np.searchsorted(hi + ar, ts, side="right").astype(np.int64)
    dhi = np.searchsorted(lo + ar, ts, side="right").astype(np.int64)
    widths = np.maximum(dhi - dlo, 0)
    doff = np.zeros(T + 1, np.int64)
    np.cumsum(widths, out=doff[1:])
    area = int(doff[-1])

    moves = [(di, dj, cells) for di, dj, cells in pattern.moves]
    R = max(di + dj for di, dj, _ in moves) + 1
    P = max(di for di, _, _ in moves)
    R2 = max(ci + cj for _, _, cells in moves for ci, cj, _ in cells) + 1
    P2 = max(ci for _, _, cells in moves for ci, _, _ in cells)
    inf = math.inf
    Dring = torch.full((R, B, n + P), inf, dtype=dt, device=dev)
    Cring = torch.full((R2, B, n + P2), inf, dtype=dt, device=dev) if R2 > 1 else None
    d_range = [(0, 0)] * R
    c_range = [(0, 0)] * R2
    codes = torch.empty((B, area), dtype=torch.uint8, device=dev)
    accs = torch.empty((B, area), dtype=dt, device=dev) if keep_acc else None
    last = torch.full((B, m), inf, dtype=dt, device=dev)
    has_start = start_value == start_value
    per_block = max(1, _BLOCK_ELEMS // (B * (1 if metric == "precomputed" else XT.shape[0])))

    t0 = 0
    while t0 < T:
        # local costs of a block of diagonals [t0, t1)
        t1 = int(np.searchsorted(doff, doff[t0] + per_block, side="right")) - 1
        t1 = min(max(t1, t0 + 1), T)
        q0 = int(doff[t0])
        nq = int(doff[t1]) - q0
        iq = np.repeat(dlo[t0:t1], widths[t0:t1]) + (
            np.arange(nq) - np.repeat(doff[t0:t1] - q0, widths[t0:t1])
        )
        jq = np.repeat(ts[t0:t1], widths[t0:t1]) - iq
        ii = torch.as_tensor(iq, device=dev)
        jj = torch.as_tensor(jq, device=dev)
        if metric == "precomputed":
            blk = Cs[:, ii, jj]
        else:
            blk = None
            for k in range(XT.shape[0]):
                xk, yk = XT[k][:, ii], YT[k][:, jj]
                if metric in ("sqeuclidean", "euclidean"):
                    diff = xk - yk
                    term = diff * diff
                elif metric == "manhattan":
                    term = (xk - yk).abs()
                else:
                    term = xk * yk
                blk = term if blk is None else blk + term
            if metric == "euclidean":
                blk = _sqrt(blk)
            elif metric == "cosine":
                blk = 1.0 - blk / (nx[:, ii] * ny[:, jj])
        if mask is not None:
            blk = torch.where(mask[ii, jj], blk, torch.full_like(blk, inf))

        for t in range(t0, t1):
            a, b = int(dlo[t]), int(dhi[t])
            w = max(b - a, 0)
            s = t % R
            pa, pb = d_range[s]
            Dring[s, :, pa + P : pb + P] = inf
            d_range[s] = (a, a + w)
            if Cring is not None:
                s2 = t % R2
                pa, pb = c_range[s2]
                Cring[s2, :, pa + P2 : pb + P2] = inf
                c_range[s2] = (a, a + w)
            if w == 0:
                continue
            off = int(doff[t]) - q0
            c = blk[:, off : off + w]
            if Cring is not None:
                Cring[t % R2, :, a + P2 : a + w + P2] = c
            best = torch.full((B, w), inf, dtype=dt, device=dev)
            code = torch.full((B, w), K.NONE, dtype=torch.uint8, device=dev)
            if a == 0 and (t == 0 or open_begin):
                best[:, 0] = start_value if (t == 0 and has_start) else c[:, 0]
                code[:, 0] = K.START
            for k, (di, dj, cells) in enumerate(moves):
                lag = di + dj
                if lag > t:
                    continue
                v = Dring[(t - lag) % R, :, a - di + P : b - di + P]
                for ci, cj, wt in cells:
                    if ci == 0 and cj == 0:
                        cc = c
                    else:
                        cc = Cring[(t - ci - cj) % R2, :, a - ci + P2 : b - ci + P2]  # type: ignore[index]
                    v = v + wt * cc
                code.masked_fill_(v < best, k)
                best = torch.minimum(best, v)
            Dring[s, :, a + P : b + P] = best
            codes[:, doff[t] : doff[t] + w] = code
            if accs is not None:
                accs[:, doff[t] : doff[t] + w] = best
            if b == n:
                last[:, t - (n - 1)] = best[:, n - 1 - a]
        t0 = t1
        yield Progress(float(doff[t1]) / max(1, area), "aligning")

    codes_np = codes.cpu().numpy()
    last_np = last.cpu().double().numpy()
    arrays = pattern.arrays()
    mpi, mpj, sstart, sci, scj, _ = arrays
    nbytes_dev = (
        codes.numel() + Dring.numel() * Dring.element_size() + last.numel() * last.element_size()
        + (0 if Cring is None else Cring.numel() * Cring.element_size())
        + (0 if accs is None else accs.numel() * accs.element_size())
    )  # fmt: skip
    acc_rows = None
    if accs is not None:
        roff = np.zeros(n + 1, np.int64)
        np.cumsum(hi - lo, out=roff[1:])
        iq = np.repeat(dlo, widths) + (np.arange(area) - np.repeat(doff[:-1], widths))
        jq = np.repeat(ts, widths) - iq
        acc_rows = np.empty((B, area))
        acc_rows[:, roff[iq] + jq - lo[iq]] = accs.cpu().double().numpy()
    out = []
    for bi in range(B):
        j_end = _end_column(last_np[bi], int(lo[n - 1]), int(hi[n - 1]), m, open_end)
        cost = float(last_np[bi, j_end])
        if not math.isfinite(cost):
            raise _overflow(probs[bi]) or (_no_path() if B == 1 else _no_path(f"pair {bi} of the batch"))
        path = K.backtrack(codes_np[bi], doff, dlo, True, n - 1, j_end, mpi, mpj, sstart, sci, scj)
        if path.shape[0] == 0 or path[0, 0] != 0 or (not open_begin and path[0, 1] != 0):
            raise RuntimeError("DTW backtracking failed (corrupt step codes)")  # pragma: no cover
        out.append(_Raw(cost, path, nbytes_dev // B, None if acc_rows is None else acc_rows[bi]))
    return out
