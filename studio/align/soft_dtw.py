"""Soft-DTW in torch: a differentiable alignment cost, its expected alignment, and the soft-DTW divergence.

Soft-DTW (Cuturi & Blondel, "Soft-DTW: a Differentiable Loss Function for Time-Series", ICML 2017)
replaces the min of the DTW recursion by the soft-min ``min^γ(a) = -γ log Σ exp(-a_i/γ)``::

    R[i, j] = D[i, j] + min^γ(R[i-1, j-1], R[i-1, j], R[i, j-1]),    sdtw = R[n-1, m-1]

Its gradient with respect to the cost matrix D is the *expected alignment* E: the average of all
alignment matrices under the Gibbs distribution ``p(A) ∝ exp(-<A, D>/γ)``. E is computed by the
backward recursion of the paper (Algorithm 2), again O(nm); the gradient with respect to the
sequences flows through D(x, y), which is plain torch, so autograd handles any cost.

Design decisions:

* **Log domain.** Both recursions run on ``V = -R/γ`` and ``Dn = -D/γ``, where the soft-min is a
  ``logaddexp`` of the three predecessors. ``torch.logaddexp`` is exact for ``-inf`` operands, so
  band-excluded cells (cost ``+inf``, ``Dn = -inf``) and the borders need no special casing and
  produce no NaN.
* **Normalised backward weights.** Algorithm 2 weighs predecessor p of cell s by
  ``exp((R_s - D_s - R_p)/γ)``. In float32 at large R/γ the rounding of R_s scales all three
  weights of s by the same wrong factor, so E gains or loses mass at every one of the n + m steps
  (tslearn's float32 gradients are off by ~1% at n = 1024; this form gave 18%). We write the same
  weight as the softmax of s's three predecessors, whose weights sum to 1 to rounding: 0.07% at
  n = 1024. E then needs only V, not D.
* **Anti-diagonal wavefront.** Cells on one anti-diagonal ``i + j = k`` depend only on diagonals
  k-1 and k-2, so each step is three vectorised torch ops over (batch × diagonal). The matrices are
  stored skewed, ``S[b, k, i] = M[b, i, k-i]``, so every step reads and writes contiguous slices;
  the skew and unskew are one gather each with cached indices. This is the GPU-friendly schedule of
  the CUDA soft-DTW kernels (Maghoumi, "pytorch-softdtw-cuda") expressed in ordinary torch ops, so
  it runs on any device torch supports without a custom kernel.
* **Custom backward.** `torch.autograd.Function` runs the E recursion as a wavefront too (weights
  for all cells computed at once, then three fused multiply-adds per diagonal), instead of autograd
  through the O(n + m) loop, which would store every intermediate and be far slower. It saves only V.
* **CPU kernel.** On CPU a numba kernel (one sequential O(nm) sweep per batch item, items in
  parallel) beats the wavefront, whose per-diagonal op overhead dominates on short diagonals (figures
  in bench/align_soft_dtw.py). ``backend="auto"`` picks numba on CPU for float32/float64 and the torch
  wavefront elsewhere; both are tested against each other and against brute-force references.
* **Band.** A Sakoe–Chiba band of ``band`` frames around the straight line from (0, 0) to
  (n-1, m-1), measured along the longer sequence's axis (so for equal lengths it is the usual
  ``|i - j| <= band``); ``0 < band < 1`` is a fraction of the longer length: the same cells as
  `studio.align.dtw`'s ``band`` (tested). Cells outside get cost ``+inf``. A band through which no
  path fits is a ValueError (the error names a width that fits), not a silent ``inf``; the DTW
  engine instead widens such a band, which a loss should not do behind the caller's back.
* **Divergence.** ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2`` (Blondel, Mensch & Vert,
  "Differentiable Divergences Between Time Series", AISTATS 2021): zero for x = y and non-negative
  for the squared Euclidean cost, so it is the better training loss (soft-DTW itself can be < 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

try:  # numba ships with librosa; the torch wavefront covers its absence.
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a librosa dependency
    njit = None

__all__ = [
    "SoftDTWLoss",
    "band_mask",
    "pairwise_cost",
    "soft_alignment",
    "soft_alignment_from_cost",
    "soft_dtw",
    "soft_dtw_divergence",
    "soft_dtw_from_cost",
]

Metric = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BACKENDS = ("auto", "torch", "numba")
_NEG_INF = float("-inf")


# --------------------------------------------------------------------------------------------- band


def _band_rows(n: int, m: int, band: float) -> tuple[np.ndarray, np.ndarray]:
    """First and last allowed column of every row of the Sakoe–Chiba band."""
    if band < 1:
        band = band * max(n, m)
    if n == 1 or m == 1:
        return np.zeros(n, dtype=np.int64), np.full(n, m - 1, dtype=np.int64)
    # |j (n-1) - i (m-1)| <= band * min(n-1, m-1): distance along the longer axis; the tolerance
    # keeps integer radii exact for equal lengths despite the division.
    i = np.arange(n, dtype=np.float64)
    centre = i * (m - 1) / (n - 1)
    half = band * min(n - 1, m - 1) / (n - 1)
    lo = np.maximum(np.ceil(centre - half - 1e-9), 0).astype(np.int64)
    hi = np.minimum(np.floor(centre + half + 1e-9), m - 1).astype(np.int64)
    return lo, hi


def _check_band(band: float | None) -> float | None:
    if band is None:
        return None
    if isinstance(band, bool) or not isinstance(band, (int, float, np.integer, np.floating)):
        raise ValueError(f"band must be a number of frames (or a fraction < 1), got {band!r}")
    band = float(band)
    if not math.isfinite(band) or band < 0:
        raise ValueError(f"band must be a finite number >= 0, got {band}")
    return band


def band_mask(n: int, m: int, band: float | None) -> np.ndarray:
    """Boolean (n, m) mask of the cells inside the band (all True when ``band`` is None).

    Raises ValueError when no monotone path from (0, 0) to (n-1, m-1) stays inside the band.
    """
    band = _check_band(band)
    if n < 1 or m < 1:
        raise ValueError(f"sequences must not be empty (lengths {n} and {m})")
    if band is None:
        return np.ones((n, m), dtype=bool)
    return _band_mask(n, m, band).copy()


@lru_cache(maxsize=32)
def _band_mask(n: int, m: int, band: float) -> np.ndarray:
    lo, hi = _band_rows(n, m, band)
    # Rows are intervals whose ends never decrease, so a path exists iff every row is non-empty and
    # each row starts at most one column right of where the previous one ends.
    if np.any(lo > hi) or np.any(lo[1:] > hi[:-1] + 1):
        # (slope + 1) / 2 frames always fit: consecutive rows' intervals then overlap or touch
        slope = (max(n, m) - 1) / (min(n, m) - 1)
        enough = math.ceil((slope + 1) / 2 * 100) / 100
        raise ValueError(
            f"band {band:g} is too narrow for any warping path between lengths {n} and {m}; "
            f"a band of {enough:g} frames is wide enough"
        )
    j = np.arange(m)
    mask = (j[None, :] >= lo[:, None]) & (j[None, :] <= hi[:, None])
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=32)
def _band_tensor(n: int, m: int, band: float, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(_band_mask(n, m, band).copy()).to(device)


# ---------------------------------------------------------------------------------- torch wavefront


@lru_cache(maxsize=32)
def _skew_indices(n: int, m: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather indices between (n, m) matrices and their skewed, padded forms.

    The padded grid has an extra row and column 0 (the recursion's boundary); diagonal k of the
    skewed buffer holds the padded cells (i, k - i), i = 0..n. ``forward`` maps the skewed buffer
    (n+m+1, n+1) to flat (n, m) indices, with n*m standing for "no cell". ``back`` maps a real cell
    (i, j) to its place in a (n+m+3, n+2) buffer (two extra diagonals and one extra index of zeros
    so the backward recursion never reads out of bounds).
    """
    k = np.arange(n + m + 1)[:, None]
    i = np.arange(n + 1)[None, :]
    j = k - i
    real = (i >= 1) & (j >= 1) & (j <= m)
    forward = np.where(real, (i - 1) * m + (j - 1), n * m)
    ii, jj = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    back = (ii + jj + 2) * (n + 2) + (ii + 1)
    return (
        torch.from_numpy(forward.astype(np.int64)).to(device),
        torch.from_numpy(back.reshape(-1).astype(np.int64)).to(device),
    )


def _torch_forward(dn: torch.Tensor) -> torch.Tensor:
    """Skewed V = -R/γ, shape (B, n+m+1, n+1), from Dn = -D/γ (B, n, m) by anti-diagonals."""
    b, n, m = dn.shape
    fwd, _ = _skew_indices(n, m, dn.device)
    flat = torch.cat([dn.reshape(b, n * m), dn.new_full((b, 1), _NEG_INF)], dim=1)
    dns = flat[:, fwd]  # (B, n+m+1, n+1); -inf outside the grid
    v = torch.full_like(dns, _NEG_INF)
    v[:, 0, 0] = 0.0
    for k in range(2, n + m + 1):
        lo, hi = max(1, k - m), min(n, k - 1)
        # predecessors of padded (i, k-i): (i-1, j-1) on k-2; (i-1, j) and (i, j-1) on k-1
        lse = torch.logaddexp(v[:, k - 2, lo - 1 : hi], v[:, k - 1, lo - 1 : hi])
        lse = torch.logaddexp(lse, v[:, k - 1, lo : hi + 1])
        torch.add(lse, dns[:, k, lo : hi + 1], out=v[:, k, lo : hi + 1])
    return v


def _torch_backward(v: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Expected alignment E (B, n, m) from the skewed V of `_torch_forward`."""
    b = v.shape[0]
    p = n + m + 1
    vp = torch.nn.functional.pad(v, (0, 1, 0, 2), value=_NEG_INF)  # (B, P+2, n+2)
    # Share of each predecessor (diagonal, up, left) in every cell's soft-min: a softmax, so the three
    # weights of a cell sum to 1 to rounding even where |V| is huge (float32, small γ) and no bias
    # compounds over the n + m steps. All three unreachable: NaN, set to 0.
    preds = torch.stack([vp[:, :-2, :-1], vp[:, 1:-1, :-1], vp[:, 1:-1, 1:]])
    weights = torch.nn.functional.pad(torch.softmax(preds, dim=0).nan_to_num_(nan=0.0), (1, 0, 2, 0))
    w_diag_of, w_up_of, w_left_of = weights  # each (B, P+2, n+2), indexed by the successor
    w_right = w_left_of[:, 1 : p + 1, 0 : n + 1]  # (i, j+1): diagonal k+1, index i
    w_down = w_up_of[:, 1 : p + 1, 1 : n + 2]  # (i+1, j): diagonal k+1, index i+1
    w_diag = w_diag_of[:, 2 : p + 2, 1 : n + 2]  # (i+1, j+1): diagonal k+2, index i+1
    e = v.new_zeros((b, p + 2, n + 2))
    e[:, p - 1, n] = 1.0
    for k in range(p - 2, 1, -1):
        lo, hi = max(1, k - m), min(n, k - 1)
        acc = w_right[:, k, lo : hi + 1] * e[:, k + 1, lo : hi + 1]
        acc.addcmul_(w_down[:, k, lo : hi + 1], e[:, k + 1, lo + 1 : hi + 2])
        torch.addcmul(acc, w_diag[:, k, lo : hi + 1], e[:, k + 2, lo + 1 : hi + 2], out=e[:, k, lo : hi + 1])
    _, back = _skew_indices(n, m, v.device)
    return e.reshape(b, -1)[:, back].reshape(b, n, m)


# ------------------------------------------------------------------------------------- numba kernel

# Batches with at least this many cells in all run their items on parallel threads; below it the
# thread pool's wake-up (~0.5 ms) costs more than it saves.
_PARALLEL_CELLS = 1 << 17

if njit is not None:

    @njit(cache=True, nogil=True)
    def _numba_forward_item(dn, v):  # pragma: no cover - compiled
        n, m = dn.shape
        ninf = -np.inf
        v[0, 0] = 0.0
        for j in range(1, m + 1):
            v[0, j] = ninf
        for i in range(1, n + 1):
            v[i, 0] = ninf
            for j in range(1, m + 1):
                d = dn[i - 1, j - 1]
                a = v[i - 1, j - 1]
                u = v[i - 1, j]
                c = v[i, j - 1]
                mx = max(a, max(u, c))
                if d == ninf or mx == ninf:
                    v[i, j] = ninf
                else:
                    v[i, j] = d + mx + np.log(np.exp(a - mx) + np.exp(u - mx) + np.exp(c - mx))

    @njit(cache=True, nogil=True)
    def _numba_backward_item(v, e):  # pragma: no cover - compiled
        # Reverse row-major order finishes E[i, j] before it is visited (its successors come later in
        # row-major order); it is then pushed to the predecessors with the softmax weights of this
        # cell's soft-min, which sum to 1 (see _torch_backward).
        n, m = e.shape
        e[:, :] = 0.0
        if v[n, m] == -np.inf:
            return
        e[n - 1, m - 1] = 1.0
        for i in range(n - 1, -1, -1):
            for j in range(m - 1, -1, -1):
                g = e[i, j]
                if g == 0.0 or (i == 0 and j == 0):
                    continue
                a = v[i, j]  # V of the predecessors, in padded coordinates
                u = v[i, j + 1]
                c = v[i + 1, j]
                mx = max(a, max(u, c))
                ea = np.exp(a - mx)
                eu = np.exp(u - mx)
                ec = np.exp(c - mx)
                scale = g / (ea + eu + ec)
                if i > 0 and j > 0:
                    e[i - 1, j - 1] += scale * ea
                if i > 0:
                    e[i - 1, j] += scale * eu
                if j > 0:
                    e[i, j - 1] += scale * ec

    @njit(cache=True, nogil=True)
    def _numba_forward_serial(dn, v):  # pragma: no cover - compiled
        for t in range(dn.shape[0]):
            _numba_forward_item(dn[t], v[t])

    @njit(cache=True, nogil=True)
    def _numba_backward_serial(v, e):  # pragma: no cover - compiled
        for t in range(e.shape[0]):
            _numba_backward_item(v[t], e[t])

    @njit(cache=True, nogil=True, parallel=True)
    def _numba_forward_parallel(dn, v):  # pragma: no cover - compiled
        for t in prange(dn.shape[0]):
            _numba_forward_item(dn[t], v[t])

    @njit(cache=True, nogil=True, parallel=True)
    def _numba_backward_parallel(v, e):  # pragma: no cover - compiled
        for t in prange(e.shape[0]):
            _numba_backward_item(v[t], e[t])


def _parallel(shape: torch.Size) -> bool:
    b, n, m = shape
    return b > 1 and b * n * m >= _PARALLEL_CELLS


def _resolve_backend(backend: str, d: torch.Tensor) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    numba_ok = njit is not None and d.device.type == "cpu" and d.dtype in (torch.float32, torch.float64)
    if backend == "numba" and not numba_ok:
        raise ValueError(f"the numba backend needs a float32/float64 CPU tensor, got {d.dtype} on {d.device}")
    if backend == "auto":
        return "numba" if numba_ok else "torch"
    return backend


def _forward(dn: torch.Tensor, backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(V state for the backward, value V[n, m] per batch item)."""
    _, n, m = dn.shape
    if backend == "numba":
        dn = dn.contiguous()
        v = dn.new_empty((dn.shape[0], n + 1, m + 1))
        kernel = _numba_forward_parallel if _parallel(dn.shape) else _numba_forward_serial
        kernel(dn.numpy(), v.numpy())
        return v, v[:, n, m]
    # The skewed buffer has n + 1 slots per diagonal: skew along the shorter sequence (soft-DTW is
    # symmetric under transposing the cost) so a long-by-short alignment stays O(nm) in memory.
    v = _torch_forward(dn.transpose(1, 2) if n > m else dn)
    return v, v[:, n + m, min(n, m)]


def _backward(v: torch.Tensor, shape: torch.Size, backend: str) -> torch.Tensor:
    """Expected alignment E (B, n, m) from the forward's V (all the backward needs)."""
    b, n, m = shape
    if backend == "numba":
        e = v.new_empty((b, n, m))
        kernel = _numba_backward_parallel if _parallel(shape) else _numba_backward_serial
        kernel(v.numpy(), e.numpy())
        return e
    if n > m:
        return _torch_backward(v, m, n).transpose(1, 2)
    return _torch_backward(v, n, m)


class _SoftDTWFunction(torch.autograd.Function):
    """Soft-DTW value of a batch of cost matrices; backward = expected alignment (Algorithm 2)."""

    @staticmethod
    def forward(ctx, d, gamma, mask, backend):
        dn = d / -gamma
        if mask is not None:
            dn = dn.masked_fill(~mask, _NEG_INF)
        v, value = _forward(dn, backend)
        ctx.save_for_backward(v)
        ctx.shape = d.shape
        ctx.backend = backend
        return value * -gamma

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        e = _backward(v, ctx.shape, ctx.backend)
        return grad[:, None, None] * e, None, None, None


# ------------------------------------------------------------------------------------ input checks


def _check_gamma(gamma: float) -> float:
    if isinstance(gamma, torch.Tensor):
        gamma = gamma.item()
    gamma = float(gamma)
    if not math.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"gamma must be a finite number > 0, got {gamma}")
    return gamma


def _as_float_tensor(a, name: str) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must be real-valued, got {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


def _prepare_cost(d, band: float | None) -> tuple[torch.Tensor, bool, torch.Tensor | None]:
    d = _as_float_tensor(d, "cost")
    if d.ndim not in (2, 3):
        raise ValueError(f"cost must have shape (n, m) or (batch, n, m), got {tuple(d.shape)}")
    batched = d.ndim == 3
    if not batched:
        d = d.unsqueeze(0)
    b, n, m = d.shape
    if b == 0 or n == 0 or m == 0:
        raise ValueError(f"cost must not be empty, got shape {tuple(d.shape)}")
    if torch.isnan(d).any() or torch.isneginf(d).any():
        raise ValueError("cost contains NaN or -inf")
    band = _check_band(band)
    mask = None if band is None else _band_tensor(n, m, band, d.device)
    return d, batched, mask


def _prepare_pair(x, y) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate two sequences or batches, returning (B, n, d) and (B, m, d) tensors."""
    x, y = _as_float_tensor(x, "x"), _as_float_tensor(y, "y")
    if x.device != y.device:
        raise ValueError(f"x and y are on different devices ({x.device} and {y.device})")
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)
    for name, t in (("x", x), ("y", y)):
        if t.ndim not in (1, 2, 3):
            raise ValueError(f"{name} must have shape (n,), (n, d) or (batch, n, d), got {tuple(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
        if torch.isnan(t).any() or torch.isinf(t).any():
            raise ValueError(f"{name} contains NaN or inf")
    batched = x.ndim == 3 or y.ndim == 3
    x = x.reshape(1, -1, 1) if x.ndim == 1 else x
    y = y.reshape(1, -1, 1) if y.ndim == 1 else y
    x = x.unsqueeze(0) if x.ndim == 2 else x
    y = y.unsqueeze(0) if y.ndim == 2 else y
    if x.shape[2] != y.shape[2]:
        raise ValueError(f"x and y have different feature dimensions ({x.shape[2]} and {y.shape[2]})")
    bx, by = x.shape[0], y.shape[0]
    if bx != by:
        if bx != 1 and by != 1:
            raise ValueError(f"x and y have different batch sizes ({bx} and {by})")
        size = max(bx, by)
        x, y = x.expand(size, -1, -1), y.expand(size, -1, -1)
    return x, y, batched


def pairwise_cost(x: torch.Tensor, y: torch.Tensor, metric: Metric = "sqeuclidean") -> torch.Tensor:
    """Cost matrices (B, n, m) between batches x (B, n, d) and y (B, m, d), differentiable by autograd.

    ``"sqeuclidean"`` uses ``|x|² + |y|² - 2 x·y`` (one matmul, no (B, n, m, d) temporary), clamped
    at 0 against rounding; ``"cosine"`` is ``1 - cos(x_i, y_j)``; a callable gets (x, y) and returns
    the (B, n, m) costs itself.
    """
    if callable(metric):
        d = metric(x, y)
        expected = (x.shape[0], x.shape[1], y.shape[1])
        if not isinstance(d, torch.Tensor) or tuple(d.shape) != expected:
            got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
            raise ValueError(f"metric returned {got}, expected a tensor of shape {expected}")
        return d
    if metric == "sqeuclidean":
        xx = (x * x).sum(-1)
        yy = (y * y).sum(-1)
        return (xx[:, :, None] + yy[:, None, :] - 2.0 * torch.bmm(x, y.transpose(1, 2))).clamp_min(0.0)
    if metric == "cosine":
        xn = torch.nn.functional.normalize(x, dim=-1, eps=1e-12)
        yn = torch.nn.functional.normalize(y, dim=-1, eps=1e-12)
        return 1.0 - torch.bmm(xn, yn.transpose(1, 2))
    raise ValueError(f"metric must be 'sqeuclidean', 'cosine' or a callable, got {metric!r}")


# ---------------------------------------------------------------------------------------- public API


def soft_dtw_from_cost(
    cost, gamma: float = 1.0, *, band: float | None = None, backend: str = "auto"
) -> torch.Tensor:
    """Soft-DTW value of a cost matrix (n, m) → scalar, or of a batch (B, n, m) → (B,).

    Differentiable with respect to ``cost``: its gradient is the expected alignment matrix. Cells
    may be ``+inf`` (forbidden); ``band`` forbids the cells outside a Sakoe–Chiba band.
    """
    gamma = _check_gamma(gamma)
    d, batched, mask = _prepare_cost(cost, band)
    value = _SoftDTWFunction.apply(d, gamma, mask, _resolve_backend(backend, d))
    return value if batched else value[0]


def soft_dtw(
    x,
    y,
    gamma: float = 1.0,
    *,
    band: float | None = None,
    metric: Metric = "sqeuclidean",
    normalize: bool = False,
    backend: str = "auto",
) -> torch.Tensor:
    """Soft-DTW between sequences x (n, d) and y (m, d), or batches (B, n, d) and (B, m, d).

    1-D inputs are univariate sequences; a batch of 1 broadcasts against a batch of B. Returns a
    scalar for two unbatched inputs, else (B,). The result lives on the inputs' device and is
    differentiable with respect to both. ``normalize=True`` returns the soft-DTW divergence.
    """
    gamma = _check_gamma(gamma)
    x, y, batched = _prepare_pair(x, y)
    if normalize:
        value = _divergence(x, y, gamma, band, metric, backend)
    else:
        value = soft_dtw_from_cost(pairwise_cost(x, y, metric), gamma, band=band, backend=backend)
    return value if batched else value[0]


def _divergence(x, y, gamma, band, metric, backend) -> torch.Tensor:
    def sdtw(a, b):
        return soft_dtw_from_cost(pairwise_cost(a, b, metric), gamma, band=band, backend=backend)

    return sdtw(x, y) - 0.5 * (sdtw(x, x) + sdtw(y, y))


def soft_dtw_divergence(
    x,
    y,
    gamma: float = 1.0,
    *,
    band: float | None = None,
    metric: Metric = "sqeuclidean",
    backend: str = "auto",
) -> torch.Tensor:
    """``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``: 0 when x == y, ≥ 0 for the squared Euclidean cost."""
    return soft_dtw(x, y, gamma, band=band, metric=metric, normalize=True, backend=backend)


def soft_alignment_from_cost(
    cost, gamma: float = 1.0, *, band: float | None = None, backend: str = "auto"
) -> torch.Tensor:
    """Expected alignment E (same shape as ``cost``): the gradient of soft-DTW with respect to it.

    ``E[i, j]`` is the probability-weighted share of alignments that match frame i to frame j; as
    γ → 0 it tends to the 0/1 matrix of the optimal DTW path.
    """
    gamma = _check_gamma(gamma)
    d, batched, mask = _prepare_cost(cost, band)
    backend = _resolve_backend(backend, d)
    with torch.no_grad():
        dn = d / -gamma
        if mask is not None:
            dn = dn.masked_fill(~mask, _NEG_INF)
        v, _ = _forward(dn, backend)
        e = _backward(v, dn.shape, backend)
    return e if batched else e[0]


def soft_alignment(
    x,
    y,
    gamma: float = 1.0,
    *,
    band: float | None = None,
    metric: Metric = "sqeuclidean",
    backend: str = "auto",
) -> torch.Tensor:
    """Expected alignment matrix (n, m), or (B, n, m), between sequences x and y (see soft_dtw)."""
    x, y, batched = _prepare_pair(x, y)
    with torch.no_grad():
        e = soft_alignment_from_cost(pairwise_cost(x, y, metric), gamma, band=band, backend=backend)
    return e if batched else e[0]


class SoftDTWLoss(nn.Module):
    """Soft-DTW (or, with ``normalize=True``, the soft-DTW divergence) as a training loss.

    ``loss(prediction, target)`` takes (B, n, d) and (B, m, d) batches (or single sequences) and
    reduces the per-item values by ``reduction``: "mean" (default), "sum" or "none".
    """

    def __init__(
        self,
        gamma: float = 1.0,
        *,
        band: float | None = None,
        metric: Metric = "sqeuclidean",
        normalize: bool = False,
        reduction: str = "mean",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.gamma = _check_gamma(gamma)
        self.band = _check_band(band)
        self.metric = metric
        self.normalize = normalize
        self.reduction = reduction
        self.backend = backend

    def forward(self, prediction, target) -> torch.Tensor:
        value = soft_dtw(
            prediction,
            target,
            self.gamma,
            band=self.band,
            metric=self.metric,
            normalize=self.normalize,
            backend=self.backend,
        )
        if self.reduction == "mean":
            return value.mean()
        if self.reduction == "sum":
            return value.sum()
        return value

    def extra_repr(self) -> str:
        return (
            f"gamma={self.gamma}, band={self.band}, normalize={self.normalize}, reduction={self.reduction!r}"
        )
