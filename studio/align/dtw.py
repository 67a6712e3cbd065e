"""Dynamic time warping: exact, banded, windowed, anchored and (via `multiscale`) linear-memory DTW.

    res = dtw(X, Y)                          # X (n, d), Y (m, d); or dtw(C) with a cost matrix C (n, m)
    res.cost, res.normalized_cost, res.path  # path: (k, 2) index pairs from (0, 0) to (n-1, m-1)
    dtw(X, Y, band=0.1, step="symmetric2")   # Sakoe-Chiba band of 10 % of the longer length
    dtw(X, Y, anchors=[(120, 131)])          # the path passes through (120, 131)

Conventions. With the defaults (squared euclidean local cost, ``symmetric1``), ``res.cost`` is
bit-for-bit ``librosa.sequence.dtw(X.T, Y.T, metric="sqeuclidean")[0][-1, -1]`` and the path is
librosa's (reversed to run forwards): every candidate is ``D[pred] + w·c`` compared with strict
``<`` in the step pattern's move order (diagonal first), local costs are summed in the same order
as ``scipy.spatial.distance.cdist``, and nothing uses fast-math.

Step patterns (Sakoe & Chiba 1978, "Dynamic programming algorithm optimization for spoken word
recognition", IEEE TASSP 26(1); the tables follow Giorgino 2009, "Computing and visualizing dynamic
time warping alignments in R: the dtw package", J. Stat. Softw. 31(7)): ``symmetric1`` (unit
weights; normalized by path length), ``symmetric2`` (= ``symmetricP0``: diagonal weight 2;
normalized by n + m), ``asymmetric`` (every step advances X by one frame; normalized by n) and the
slope-constrained ``symmetricP05/P1/P2`` (normalized by n + m) and ``asymmetricP05/P1/P2``
(normalized by n). A multi-cell step's intermediate cells are part of the path. The start cell
costs its local cost once.

Global constraints are `Window`s, one column range ``[lo[i], hi[i])`` per row, monotone: a
Sakoe-Chiba band (``band``: a radius in frames, or a fraction of the longer length when < 1,
measured along the longer axis around the diagonal from (0, 0) to (n-1, m-1)), the Itakura
parallelogram (Itakura 1975, "Minimum prediction residual principle applied to speech
recognition", IEEE TASSP 23(1)) or any boolean mask (its cells within the per-row hull). Generated
bands are widened by the few cells that keep them connected, so a path always exists. The kernels
keep one byte per window cell (the step code) plus a few rows, so memory is proportional to the
window's area — `DTWResult.storage_nbytes` reports it.

``open_begin`` / ``open_end`` free the start / end along Y (row 0 / row n-1); ``subsequence`` is
both (X found inside Y; Müller 2015, *Fundamentals of Music Processing*, §7.2). The free end is
the column with the least accumulated cost, as in librosa.

Anchors pin the path: the alignment is solved segment by segment between them, each segment
starting with the accumulated cost carried in from the previous one, so when the anchors lie on
the exact optimal path the result is the exact one, bit for bit. An anchor is a step end point
(for multi-cell steps, a cell crossed mid-step does not count).

Backends: ``"numba"`` (row-by-row CPU kernel, `_dtw_numba`) and ``"torch"`` (anti-diagonal
wavefront, batched, float32 or float64, `_dtw_torch`); ``"auto"`` picks torch for CUDA tensors or
a CUDA ``device`` and numba otherwise. In float64 both give identical costs and paths.

``method="auto"`` (the default) switches to `studio.align.multiscale.multiscale_dtw` when the
exact window would exceed `EXACT_MAX_CELLS` cells (400 M: 400 MB of step codes, a 20k x 20k
full alignment) and the inputs are feature sequences without a custom window or anchors; the
result's ``method`` says which ran. ``method="exact"`` never switches.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run

__all__ = [
    "STEP_PATTERNS",
    "EXACT_MAX_CELLS",
    "StepPattern",
    "Window",
    "DTWResult",
    "step_pattern",
    "sakoe_chiba_window",
    "itakura_window",
    "mask_window",
    "dtw",
    "dtw_task",
    "dtw_batch",
]

EXACT_MAX_CELLS = 400_000_000
_CHUNK_CELLS = 1 << 22  # rows per kernel call: ~4 M cells (~20-50 ms) between progress reports


# --- step patterns -------------------------------------------------------------------------
@dataclass(frozen=True)
class StepPattern:
    """A DTW step pattern: moves from a predecessor cell to (i, j) through weighted sub-cells.

    ``moves[k] = (di, dj, cells)``: the predecessor is (i - di, j - dj); ``cells`` lists
    ``(ci, cj, w)`` — cell (i - ci, j - cj) costs ``w`` times its local cost — from the
    predecessor's side to (i, j) itself, which comes last as (0, 0, w). ``norm`` is "path" (divide
    by path length), "n" (by the rows spanned) or "n+m" (by rows + columns spanned).
    """

    name: str
    moves: tuple[tuple[int, int, tuple[tuple[int, int, float], ...]], ...]
    norm: str = "path"

    def __post_init__(self) -> None:
        if self.norm not in ("path", "n", "n+m"):
            raise ValueError(f"step pattern {self.name!r}: norm must be 'path', 'n' or 'n+m'")
        if not self.moves or len(self.moves) > 250:
            raise ValueError(f"step pattern {self.name!r}: needs 1 to 250 moves")
        for di, dj, cells in self.moves:
            if di < 0 or dj < 0 or di + dj == 0:
                raise ValueError(f"step pattern {self.name!r}: move ({di}, {dj}) must go forwards")
            if not cells or tuple(cells[-1][:2]) != (0, 0):
                raise ValueError(f"step pattern {self.name!r}: a move's last cell must be (0, 0)")
            prev = (di, dj)
            for ci, cj, w in cells:
                if not (0 <= ci <= prev[0] and 0 <= cj <= prev[1] and (ci, cj) != prev):
                    raise ValueError(
                        f"step pattern {self.name!r}: cells must run from ({di}, {dj}) to (0, 0)"
                    )
                if not (math.isfinite(w) and w > 0):
                    raise ValueError(f"step pattern {self.name!r}: weights must be positive and finite")
                prev = (ci, cj)

    @classmethod
    def from_steps(
        cls, steps: Sequence[tuple[int, int]], weights: Sequence[float] | None = None, *, name: str = "custom",
        norm: str = "path",
    ) -> StepPattern:  # fmt: skip
        """Single-cell moves, as librosa's ``step_sizes_sigma`` / ``weights_mul``."""
        w = [1.0] * len(steps) if weights is None else [float(x) for x in weights]
        if len(w) != len(steps):
            raise ValueError("one weight per step")
        return cls(name, tuple((int(a), int(b), ((0, 0, x),)) for (a, b), x in zip(steps, w)), norm)

    @property
    def max_di(self) -> int:
        return max(m[0] for m in self.moves)

    def three_move_weights(self) -> tuple[float, float, float] | None:
        """(w_diag, w_left, w_up) when the moves are exactly (1,1), (0,1), (1,0), single-cell."""
        if [(m[0], m[1], len(m[2])) for m in self.moves] == [(1, 1, 1), (0, 1, 1), (1, 0, 1)]:
            return tuple(float(m[2][0][2]) for m in self.moves)  # type: ignore[return-value]
        return None

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(mpi, mpj, sstart, sci, scj, sw): the flat form the kernels read (cached, read-only)."""
        return _pattern_arrays(self.moves)


@functools.lru_cache(maxsize=64)
def _pattern_arrays(moves: tuple) -> tuple[np.ndarray, ...]:
    mpi = np.array([m[0] for m in moves], np.int64)
    mpj = np.array([m[1] for m in moves], np.int64)
    cells = [c for m in moves for c in m[2]]
    sstart = np.concatenate([[0], np.cumsum([len(m[2]) for m in moves])]).astype(np.int64)
    sci = np.array([c[0] for c in cells], np.int64)
    scj = np.array([c[1] for c in cells], np.int64)
    sw = np.array([c[2] for c in cells], np.float64)
    out = (mpi, mpj, sstart, sci, scj, sw)
    for a in out:
        a.flags.writeable = False
    return out


def _from_r(name: str, norm: str, table: Sequence[float]) -> StepPattern:
    """A pattern from the dtw R package's table: rows (move, di, dj, weight or -1 for the predecessor).

    The diagonal move (1, 1) is put first so that ties prefer it (librosa's order).
    """
    rows = np.asarray(table, float).reshape(-1, 4)
    moves = []
    for k in np.unique(rows[:, 0]):
        r = rows[rows[:, 0] == k]
        di, dj = int(r[0, 1]), int(r[0, 2])
        moves.append((di, dj, tuple((int(a), int(b), float(w)) for _, a, b, w in r[1:])))
    moves.sort(key=lambda m: (m[0], m[1], len(m[2])) != (1, 1, 1))
    return StepPattern(name, tuple(moves), norm)


_T = 1 / 3
STEP_PATTERNS: dict[str, StepPattern] = {
    p.name: p
    for p in [
        _from_r("symmetric1", "path", [1, 0, 1, -1, 1, 0, 0, 1, 2, 1, 1, -1, 2, 0, 0, 1, 3, 1, 0, -1, 3, 0, 0, 1]),
        _from_r("symmetric2", "n+m", [1, 0, 1, -1, 1, 0, 0, 1, 2, 1, 1, -1, 2, 0, 0, 2, 3, 1, 0, -1, 3, 0, 0, 1]),
        _from_r("asymmetric", "n", [1, 1, 0, -1, 1, 0, 0, 1, 2, 1, 1, -1, 2, 0, 0, 1, 3, 1, 2, -1, 3, 0, 0, 1]),
        _from_r("symmetricP05", "n+m", [
            1, 1, 3, -1, 1, 0, 2, 2, 1, 0, 1, 1, 1, 0, 0, 1,  2, 1, 2, -1, 2, 0, 1, 2, 2, 0, 0, 1,
            3, 1, 1, -1, 3, 0, 0, 2,  4, 2, 1, -1, 4, 1, 0, 2, 4, 0, 0, 1,
            5, 3, 1, -1, 5, 2, 0, 2, 5, 1, 0, 1, 5, 0, 0, 1]),
        _from_r("asymmetricP05", "n", [
            1, 1, 3, -1, 1, 0, 2, _T, 1, 0, 1, _T, 1, 0, 0, _T,  2, 1, 2, -1, 2, 0, 1, .5, 2, 0, 0, .5,
            3, 1, 1, -1, 3, 0, 0, 1,  4, 2, 1, -1, 4, 1, 0, 1, 4, 0, 0, 1,
            5, 3, 1, -1, 5, 2, 0, 1, 5, 1, 0, 1, 5, 0, 0, 1]),
        _from_r("symmetricP1", "n+m", [
            1, 1, 2, -1, 1, 0, 1, 2, 1, 0, 0, 1,  2, 1, 1, -1, 2, 0, 0, 2,  3, 2, 1, -1, 3, 1, 0, 2, 3, 0, 0, 1]),
        _from_r("asymmetricP1", "n", [
            1, 1, 2, -1, 1, 0, 1, .5, 1, 0, 0, .5,  2, 1, 1, -1, 2, 0, 0, 1,  3, 2, 1, -1, 3, 1, 0, 1, 3, 0, 0, 1]),
        _from_r("symmetricP2", "n+m", [
            1, 2, 3, -1, 1, 1, 2, 2, 1, 0, 1, 2, 1, 0, 0, 1,  2, 1, 1, -1, 2, 0, 0, 2,
            3, 3, 2, -1, 3, 2, 1, 2, 3, 1, 0, 2, 3, 0, 0, 1]),
        _from_r("asymmetricP2", "n", [
            1, 2, 3, -1, 1, 1, 2, 2 * _T, 1, 0, 1, 2 * _T, 1, 0, 0, 2 * _T,  2, 1, 1, -1, 2, 0, 0, 1,
            3, 3, 2, -1, 3, 2, 1, 1, 3, 1, 0, 1, 3, 0, 0, 1]),
    ]
}  # fmt: skip
STEP_PATTERNS["symmetricP0"] = STEP_PATTERNS["symmetric2"]


def step_pattern(step: str | StepPattern) -> StepPattern:
    if isinstance(step, StepPattern):
        return step
    try:
        return STEP_PATTERNS[step]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown step pattern {step!r}; known: {', '.join(sorted(STEP_PATTERNS))}"
        ) from None


# --- windows -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Window:
    """Allowed cells: row i may use columns ``[lo[i], hi[i])``; both bounds non-decreasing.

    ``mask`` (optional, (n, m) bool) further forbids cells inside those ranges.
    """

    lo: np.ndarray
    hi: np.ndarray
    m: int
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        lo = np.ascontiguousarray(self.lo, dtype=np.int64)
        hi = np.ascontiguousarray(self.hi, dtype=np.int64)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        if lo.ndim != 1 or lo.shape != hi.shape or lo.size == 0:
            raise ValueError("window: lo and hi must be 1-D arrays of one entry per row")
        if lo.min() < 0 or hi.max() > self.m or np.any(hi < lo):
            raise ValueError(f"window: need 0 <= lo <= hi <= m = {self.m}")
        if np.any(np.diff(lo) < 0) or np.any(np.diff(hi) < 0):
            raise ValueError("window: lo and hi must be non-decreasing (use mask_window for other shapes)")
        if self.mask is not None:
            mask = np.ascontiguousarray(self.mask, dtype=bool)
            if mask.shape != (lo.size, self.m):
                raise ValueError("window: mask shape does not match")
            object.__setattr__(self, "mask", mask)

    @classmethod
    def _trusted(cls, lo: np.ndarray, hi: np.ndarray, m: int, mask: np.ndarray | None = None) -> Window:
        """A window whose bounds are valid by construction (skips the checks: ~20 us per call)."""
        w = object.__new__(cls)
        object.__setattr__(w, "lo", np.ascontiguousarray(lo, dtype=np.int64))
        object.__setattr__(w, "hi", np.ascontiguousarray(hi, dtype=np.int64))
        object.__setattr__(w, "m", int(m))
        object.__setattr__(w, "mask", mask)
        return w

    @property
    def n(self) -> int:
        return int(self.lo.size)

    @property
    def area(self) -> int:
        return int((self.hi - self.lo).sum())

    @classmethod
    def full(cls, n: int, m: int) -> Window:
        return cls._trusted(np.zeros(n, np.int64), np.full(n, m, np.int64), m)

    def contains(self, i: int, j: int) -> bool:
        if not (0 <= i < self.n and self.lo[i] <= j < self.hi[i]):
            return False
        return self.mask is None or bool(self.mask[i, j])

    def to_mask(self) -> np.ndarray:
        """The allowed cells as a dense (n, m) bool array (for plots and tests; n·m bytes)."""
        cols = np.arange(self.m)
        out = (cols >= self.lo[:, None]) & (cols < self.hi[:, None])
        return out if self.mask is None else out & self.mask

    def __and__(self, other: Window) -> Window:
        if (self.n, self.m) != (other.n, other.m):
            raise ValueError("cannot intersect windows of different shapes")
        lo = np.maximum(self.lo, other.lo)
        hi = np.maximum(np.minimum(self.hi, other.hi), lo)
        masks = [w.mask for w in (self, other) if w.mask is not None]
        mask = None if not masks else (masks[0] if len(masks) == 1 else masks[0] & masks[1])
        return Window._trusted(lo, hi, self.m, mask)

    def sub(self, r0: int, r1: int, c0: int, c1: int) -> Window:
        """The window restricted to rows [r0, r1) and columns [c0, c1), re-indexed from (0, 0)."""
        lo = np.clip(self.lo[r0:r1], c0, c1) - c0
        hi = np.clip(self.hi[r0:r1], c0, c1) - c0
        mask = None if self.mask is None else np.ascontiguousarray(self.mask[r0:r1, c0:c1])
        return Window._trusted(lo, hi, c1 - c0, mask)


def _connected(lo: np.ndarray, hi: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen per-row ranges minimally so that they are monotone, non-empty and form a staircase."""
    lo = np.minimum.accumulate(np.clip(lo, 0, m - 1)[::-1])[::-1].astype(np.int64)
    hi = np.maximum.accumulate(np.clip(hi, 1, m)).astype(np.int64)
    hi = np.maximum(hi, lo + 1)
    # row i - 1 must reach column lo[i] - 1 so that (i, lo[i]) has a predecessor
    hi[:-1] = np.maximum(hi[:-1], lo[1:])
    return lo, hi


def sakoe_chiba_window(n: int, m: int, radius: float) -> Window:
    """Cells within ``radius`` frames of the diagonal (0, 0)-(n-1, m-1), measured along the longer axis."""
    if not (radius >= 0 and math.isfinite(radius)):
        raise ValueError(f"band radius must be a finite number >= 0, not {radius!r}")
    if n == 1 or m == 1:
        return Window.full(n, m)
    s = (m - 1) / (n - 1)
    r = radius * min(1.0, s)  # radius in columns
    centre = np.arange(n) * s
    lo = np.ceil(centre - r - 1e-9)
    hi = np.floor(centre + r + 1e-9) + 1
    return Window._trusted(*_connected(lo, hi, m), m)


def itakura_window(n: int, m: int, max_slope: float = 2.0) -> Window:
    """The Itakura parallelogram: local slopes between 1/max_slope and max_slope (lengths normalised)."""
    if not (max_slope > 1 and math.isfinite(max_slope)):
        raise ValueError(f"itakura max_slope must be > 1, not {max_slope!r}")
    if n == 1 or m == 1:
        return Window.full(n, m)
    s = (m - 1) / (n - 1)
    i = np.arange(n)
    lo = np.maximum(i * s / max_slope, (m - 1) - max_slope * s * (n - 1 - i))
    hi = np.minimum(max_slope * s * i, (m - 1) - s * (n - 1 - i) / max_slope)
    return Window._trusted(*_connected(np.ceil(lo - 1e-9), np.floor(hi + 1e-9) + 1, m), m)


def mask_window(mask: Any) -> Window:
    """A window from a boolean (n, m) mask: its cells, within monotone per-row ranges."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != bool:
        raise ValueError("a window mask must be a 2-D boolean array")
    n, m = mask.shape
    if not mask.any(axis=1).all():
        raise ValueError("window mask: every row needs at least one allowed cell")
    first = mask.argmax(axis=1)
    last = m - mask[:, ::-1].argmax(axis=1)
    lo = np.minimum.accumulate(first[::-1])[::-1]
    hi = np.maximum.accumulate(last)
    return Window(lo, hi, m, np.ascontiguousarray(mask))


# --- inputs ----------------------------------------------------------------------------------
_METRICS = ("sqeuclidean", "euclidean", "manhattan", "cosine")


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _as_array(A: Any, name: str) -> np.ndarray:
    if _is_tensor(A):
        A = A.detach().cpu().numpy()
    A = np.asarray(A)
    if not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
        raise ValueError(f"{name} must be numeric, not {A.dtype}")
    if np.iscomplexobj(A):
        raise ValueError(f"{name} must be real-valued, not {A.dtype}")
    return A


def _as_tensor(A: Any, name: str) -> Any:
    if A.is_complex():
        raise ValueError(f"{name} must be real-valued, not {A.dtype}")
    return A.detach()  # DTW's path is not differentiable; keeping the graph breaks .numpy()


@dataclass
class _Problem:
    """Validated inputs in the kernels' layout: features (float64) or a cost matrix."""

    n: int
    m: int
    metric: str
    X: Any = None  # (n, d) features, or None with a cost matrix
    Y: Any = None
    C: Any = None  # (n, m) cost matrix

    def sub(self, r0: int, r1: int, c0: int, c1: int) -> _Problem:
        if self.C is not None:
            return _Problem(r1 - r0, c1 - c0, self.metric, C=self.C[r0:r1, c0:c1])
        return _Problem(r1 - r0, c1 - c0, self.metric, self.X[r0:r1], self.Y[c0:c1])


def _problem(X: Any, Y: Any, metric: str, keep_tensors: bool = False) -> _Problem:
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(_METRICS)}")
    tensors = keep_tensors and _is_tensor(X) and (Y is None or _is_tensor(Y))
    conv = _as_tensor if tensors else _as_array
    if Y is None:
        C = conv(X, "the cost matrix")
        if C.ndim != 2 or C.shape[0] == 0 or C.shape[1] == 0:
            raise ValueError(f"a cost matrix must be 2-D and non-empty, got shape {tuple(C.shape)}")
        Cn = C.detach().cpu().numpy() if tensors else C
        if np.isnan(Cn).any():
            raise ValueError("the cost matrix contains NaN")
        if np.isneginf(Cn).any():
            raise ValueError("the cost matrix contains -inf")
        if not tensors:
            C = np.ascontiguousarray(C, dtype=np.float64)
        return _Problem(int(C.shape[0]), int(C.shape[1]), "precomputed", C=C)
    A, B = conv(X, "X"), conv(Y, "Y")
    if A.ndim == 1:
        A = A[:, None]
    if B.ndim == 1:
        B = B[:, None]
    for M, name in ((A, "X"), (B, "Y")):
        if M.ndim != 2:
            raise ValueError(f"{name} must be (frames, dims) or 1-D, got shape {tuple(M.shape)}")
        if M.shape[0] == 0:
            raise ValueError(f"{name} is empty (no frames)")
        if M.shape[1] == 0:
            raise ValueError(f"{name} has no feature dimensions")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"X and Y have different feature dimensions: {A.shape[1]} and {B.shape[1]}")
    for M, name in ((A, "X"), (B, "Y")):
        Mn = M.detach().cpu().numpy() if tensors else M
        if not np.isfinite(Mn).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if metric == "cosine" and not (np.abs(Mn).sum(axis=1) > 0).all():
            raise ValueError(f"the cosine metric needs non-zero frames; {name} has an all-zero frame")
    if not tensors:
        A = np.ascontiguousarray(A, dtype=np.float64)
        B = np.ascontiguousarray(B, dtype=np.float64)
    return _Problem(int(A.shape[0]), int(B.shape[0]), metric, A, B)


def _window(n: int, m: int, band: float | None, window: Any) -> Window:
    w: Window | None = None
    if window is not None:
        if isinstance(window, str):
            if window != "itakura":
                raise ValueError(f"unknown window {window!r}; use 'itakura', a Window or a boolean mask")
            w = itakura_window(n, m)
        elif isinstance(window, Window):
            w = window
        else:
            w = mask_window(_as_array(window, "window"))
        if (w.n, w.m) != (n, m):
            raise ValueError(f"the window is {w.n} x {w.m} but the alignment is {n} x {m}")
    if band is not None:
        if not (
            isinstance(band, (int, float, np.integer, np.floating)) and band >= 0 and math.isfinite(band)
        ):
            raise ValueError(f"band must be a number >= 0, not {band!r}")
        radius = float(band) * max(n, m) if band < 1 else float(band)
        b = sakoe_chiba_window(n, m, radius)
        w = b if w is None else w & b
    return Window.full(n, m) if w is None else w


# --- results ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DTWResult:
    """An alignment. ``accumulated`` (dense (n, m), +inf outside the window) only with return_matrix."""

    cost: float
    normalized_cost: float
    path: np.ndarray
    window: Window
    storage_nbytes: int
    accumulated: np.ndarray | None = None
    method: str = "exact"
    backend: str = "numba"


@dataclass
class _Raw:
    cost: float
    path: np.ndarray
    nbytes: int
    acc: np.ndarray | None  # band layout (rows of the window), when kept


def _normalized(cost: float, pattern: StepPattern, path: np.ndarray) -> float:
    if pattern.norm == "path":
        return cost / len(path)
    rows = int(path[-1, 0] - path[0, 0] + 1)
    if pattern.norm == "n":
        return cost / rows
    return cost / (rows + int(path[-1, 1] - path[0, 1] + 1))


def _no_path(what: str = "") -> ValueError:
    return ValueError(
        "no warping path fits the constraints" + (f" ({what})" if what else "")
        + ": widen the band or window, or use another step pattern"
    )  # fmt: skip


def _overflow(prob: _Problem) -> ValueError | None:
    """An infinite total cost from finite but huge local costs is an overflow, not a missing path."""
    if prob.C is not None:
        top = float(np.abs(prob.C[np.isfinite(prob.C)]).max(initial=0.0))
        big, what = top, f"local costs up to {top:.3g}"
    else:
        top = max(float(np.abs(prob.X).max(initial=0.0)), float(np.abs(prob.Y).max(initial=0.0)))
        big, what = top * top * prob.X.shape[1] * 4, f"feature values up to {top:.3g}"
    if big * (prob.n + prob.m) * 2 < 1e300:
        return None
    return ValueError(f"the DTW cost overflows float64 ({what}): scale or standardise the features")


def _numba_task(
    prob: _Problem, pattern: StepPattern, win: Window, open_begin: bool, open_end: bool,
    start_value: float, keep_acc: bool,
) -> Task[_Raw]:  # fmt: skip
    from . import _dtw_numba as K

    n, m = prob.n, prob.m
    if np.any(win.hi <= win.lo):
        raise _no_path(f"row {int(np.argmax(win.hi <= win.lo))} of the window is empty")
    metric = K.METRICS[prob.metric]
    dummy1 = np.zeros(1)
    dummy2 = np.zeros((1, 1))
    X = prob.X if prob.X is not None else dummy2
    YT = np.ascontiguousarray(prob.Y.T) if prob.Y is not None else dummy2
    C = np.ascontiguousarray(prob.C) if prob.C is not None else dummy2
    xn = K.row_norms(X) if prob.metric == "cosine" else dummy1
    yn = K.row_norms(prob.Y) if prob.metric == "cosine" else dummy1
    mask = win.mask if win.mask is not None else np.zeros((1, 1), bool)
    lo, hi = win.lo, win.hi
    roff = np.zeros(n + 1, np.int64)
    np.cumsum(hi - lo, out=roff[1:])
    codes = np.empty(int(roff[-1]), np.uint8)
    acc = np.empty(int(roff[-1]) if keep_acc else 1)
    sv = float(start_value)
    three = pattern.three_move_weights()
    if three is not None:
        ring = np.full((3, m + 1), np.inf)
        cbuf = np.empty((2, m))
        bufs = [ring, cbuf]
    else:
        arrays = pattern.arrays()
        ring = np.full((pattern.max_di + 1, m), np.inf)
        cring = np.full((int(arrays[3].max()) + 1, m), np.inf)
        bufs = [ring, cring]
    i0 = 0
    while i0 < n:
        i1 = int(np.searchsorted(roff, roff[i0] + _CHUNK_CELLS, side="right"))
        i1 = min(max(i1, i0 + 1), n)
        args = (metric, X, YT, C, xn, yn, mask, win.mask is not None, lo, hi, roff)
        if three is not None:
            K.sym_rows(*args, *three, open_begin, sv, i0, i1, ring, cbuf, codes, acc, keep_acc)
        else:
            K.gen_rows(*args, *arrays, open_begin, sv, i0, i1, ring, cring, codes, acc, keep_acc)
        i0 = i1
        yield Progress(float(roff[i0]) / max(1, roff[-1]), "aligning")
    last = ring[(n - 1) % ring.shape[0]]
    last = last[1:] if three is not None else last
    j_end = _end_column(last, lo[n - 1], hi[n - 1], m, open_end)
    cost = float(last[j_end])
    if not math.isfinite(cost):
        raise _overflow(prob) or _no_path()
    mpi, mpj, sstart, sci, scj, _ = pattern.arrays()
    path = K.backtrack(codes, roff, lo, False, n - 1, j_end, mpi, mpj, sstart, sci, scj)
    if path.shape[0] == 0 or path[0, 0] != 0 or (not open_begin and path[0, 1] != 0):
        raise RuntimeError("DTW backtracking failed (corrupt step codes)")  # pragma: no cover
    nbytes = codes.nbytes + roff.nbytes + sum(b.nbytes for b in bufs) + (acc.nbytes if keep_acc else 0)
    return _Raw(cost, path, nbytes, acc if keep_acc else None)


def _end_column(last: np.ndarray, lo: int, hi: int, m: int, open_end: bool) -> int:
    if open_end:
        return int(lo + np.argmin(last[lo:hi]))
    if hi < m:
        raise _no_path("the window excludes the end cell")
    return m - 1


def _exact_task(
    prob: _Problem, pattern: StepPattern, win: Window, open_begin: bool, open_end: bool,
    start_value: float, keep_acc: bool, backend: str, device: Any, dtype: Any,
) -> Task[_Raw]:  # fmt: skip
    if backend == "torch":
        from . import _dtw_torch

        raws = yield from _dtw_torch.dtw_torch_task(
            prob, pattern, win, open_begin, open_end, start_value, keep_acc, device, dtype
        )
        return raws[0]
    return (yield from _numba_task(prob, pattern, win, open_begin, open_end, start_value, keep_acc))


def _anchored_task(
    prob: _Problem, pattern: StepPattern, win: Window, anchors: np.ndarray, open_begin: bool,
    open_end: bool, backend: str, device: Any, dtype: Any,
) -> Task[_Raw]:  # fmt: skip
    """Segment-wise DTW through the anchors, carrying the accumulated cost across each anchor."""
    n, m = prob.n, prob.m
    points = [(0, 0)] + [tuple(a) for a in anchors] + [(n - 1, m - 1)]
    paths: list[np.ndarray] = []
    nbytes = 0
    carried = math.nan
    segments = len(points) - 1
    for s in range(segments):
        (r0, c0), (r1, c1) = points[s], points[s + 1]
        first, final = s == 0, s == segments - 1
        c0 = 0 if first else c0
        c1 = m - 1 if final else c1
        if (r1, c1) == (r0, c0) and not first:
            continue
        sub = prob.sub(r0, r1 + 1, c0, c1 + 1)
        sw = win.sub(r0, r1 + 1, c0, c1 + 1)
        try:
            raw = yield from _exact_task(
                sub,
                pattern,
                sw,
                open_begin and first,
                open_end and final,
                carried,
                False,
                backend,
                device,
                dtype,
            )
        except ValueError as exc:
            where = "the start" if first else f"anchor {points[s]}"
            to = "the end" if final else f"anchor {points[s + 1]}"
            raise ValueError(f"no warping path from {where} to {to}: {exc}") from None
        p = raw.path + np.array([r0, c0])
        paths.append(p if not paths else p[1:])
        carried = raw.cost
        nbytes = max(nbytes, raw.nbytes)
    return _Raw(carried, np.concatenate(paths), nbytes, None)


def _check_anchors(anchors: Any, win: Window) -> np.ndarray:
    a = np.asarray(anchors)
    if a.size == 0:
        return np.zeros((0, 2), np.int64)
    if a.ndim != 2 or a.shape[1] != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError("anchors must be a sequence of (i, j) integer pairs")
    a = a.astype(np.int64)
    for i, j in a:
        if not win.contains(int(i), int(j)):
            raise ValueError(f"anchor ({i}, {j}) lies outside the sequences or the window")
    if np.any(np.diff(a, axis=0) < 0):
        raise ValueError("anchors must be sorted, with both coordinates non-decreasing")
    return a


def _backend(backend: str, device: Any, *inputs: Any) -> str:
    if backend not in ("auto", "numba", "torch"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'torch', not {backend!r}")
    on_cuda = device is not None and str(device).startswith("cuda")
    on_cuda = on_cuda or any(_is_tensor(x) and x.is_cuda for x in inputs if x is not None)
    if backend == "numba" and on_cuda:
        raise ValueError("the numba backend runs on the CPU; use backend='torch' for a CUDA device")
    if backend == "auto":
        return "torch" if on_cuda else "numba"
    return backend


def dtw_task(
    X: Any, Y: Any = None, *, metric: str = "sqeuclidean", step: str | StepPattern = "symmetric1",
    band: float | None = None, window: Any = None, open_begin: bool = False, open_end: bool = False,
    subsequence: bool = False, anchors: Any = None, return_matrix: bool = False, method: str = "auto",
    backend: str = "auto", device: Any = None, dtype: Any = None,
) -> Task[DTWResult]:  # fmt: skip
    """`dtw` as a task (yields `Progress` every few million cells; close it to cancel)."""
    if method not in ("auto", "exact", "multiscale"):
        raise ValueError(f"method must be 'auto', 'exact' or 'multiscale', not {method!r}")
    pattern = step_pattern(step)
    be = _backend(backend, device, X, Y)
    open_begin = bool(open_begin or subsequence)
    open_end = bool(open_end or subsequence)
    prob = _problem(X, Y, metric, keep_tensors=be == "torch")
    n, m = prob.n, prob.m
    simple = Y is not None and window is None and anchors is None and not return_matrix
    if method == "multiscale" or (method == "auto" and simple and _band_area(n, m, band) > EXACT_MAX_CELLS):
        if not simple:
            raise ValueError(
                "multiscale DTW takes feature sequences, without window, anchors or return_matrix"
            )
        from .multiscale import multiscale_dtw_task

        return (yield from multiscale_dtw_task(
            prob.X, prob.Y, metric=metric, step=pattern, band=band, open_begin=open_begin,
            open_end=open_end, backend=be, device=device, dtype=dtype,
        ))  # fmt: skip
    win = _window(n, m, band, window)
    a = None if anchors is None else _check_anchors(anchors, win)
    if a is not None and len(a):
        if return_matrix:
            raise ValueError("return_matrix is not available with anchors (each segment is solved apart)")
        raw = yield from _anchored_task(prob, pattern, win, a, open_begin, open_end, be, device, dtype)
    else:
        raw = yield from _exact_task(
            prob, pattern, win, open_begin, open_end, math.nan, return_matrix, be, device, dtype
        )
    acc = None
    if return_matrix and raw.acc is not None:
        acc = np.full((n, m), np.inf)
        rows = np.repeat(np.arange(n), win.hi - win.lo)
        cols = np.arange(win.area) - np.repeat(
            np.cumsum(win.hi - win.lo) - (win.hi - win.lo) - win.lo, win.hi - win.lo
        )
        acc[rows, cols] = raw.acc
    return DTWResult(
        float(raw.cost), float(_normalized(raw.cost, pattern, raw.path)), raw.path, win, int(raw.nbytes), acc,
        "exact", be,
    )  # fmt: skip


def _band_area(n: int, m: int, band: float | None) -> float:
    if band is None:
        return float(n) * m
    r = band * max(n, m) if band < 1 else band
    return float(max(n, m)) * (2 * r + 1 + max(n, m) / min(n, m))


def dtw(
    X: Any, Y: Any = None, *, metric: str = "sqeuclidean", step: str | StepPattern = "symmetric1",
    band: float | None = None, window: Any = None, open_begin: bool = False, open_end: bool = False,
    subsequence: bool = False, anchors: Any = None, return_matrix: bool = False, method: str = "auto",
    backend: str = "auto", device: Any = None, dtype: Any = None,
) -> DTWResult:  # fmt: skip
    """Align X (n, d) and Y (m, d) — or, with Y omitted, a precomputed (n, m) cost matrix X.

    metric: "sqeuclidean" (default), "euclidean", "manhattan" or "cosine" (ignored for a cost
    matrix). step: a name from `STEP_PATTERNS` or a `StepPattern`. band: Sakoe-Chiba radius
    (frames, or a fraction of the longer length when < 1). window: "itakura", a `Window` or a
    boolean (n, m) mask (intersected with the band). anchors: (i, j) cells the path must pass
    through, sorted. return_matrix: also return the accumulated cost matrix (dense, n·m floats).
    backend / device / dtype: see the module docstring (dtype applies to the torch backend; the
    numba kernel always accumulates in float64). Raises ValueError for bad input or when no path
    fits the constraints.
    """
    return run(
        dtw_task(
            X, Y, metric=metric, step=step, band=band, window=window, open_begin=open_begin,
            open_end=open_end, subsequence=subsequence, anchors=anchors, return_matrix=return_matrix,
            method=method, backend=backend, device=device, dtype=dtype,
        )
    )  # fmt: skip


def dtw_batch(
    X: Any, Y: Any = None, *, metric: str = "sqeuclidean", step: str | StepPattern = "symmetric1",
    band: float | None = None, window: Any = None, open_begin: bool = False, open_end: bool = False,
    subsequence: bool = False, backend: str = "auto", device: Any = None, dtype: Any = None,
) -> list[DTWResult]:  # fmt: skip
    """Align B pairs of equal shapes at once: X (B, n, d) with Y (B, m, d), or cost matrices X (B, n, m).

    The torch backend runs all pairs in one wavefront (one kernel launch per anti-diagonal for the
    whole batch); the numba backend aligns them one after the other.
    """
    be = _backend(backend, device, X, Y)
    if len(X) == 0 or (Y is not None and len(Y) != len(X)):
        raise ValueError("dtw_batch needs a non-empty batch, X and Y of the same batch size")
    kw = dict(metric=metric, step=step, band=band, window=window, open_begin=open_begin, open_end=open_end,
              subsequence=subsequence)  # fmt: skip
    if be == "numba":
        return [
            dtw(X[b], None if Y is None else Y[b], method="exact", backend="numba", **kw)
            for b in range(len(X))
        ]
    from . import _dtw_torch

    pattern = step_pattern(step)
    probs = [_problem(X[b], None if Y is None else Y[b], metric, keep_tensors=True) for b in range(len(X))]
    if len({(p.n, p.m) for p in probs}) != 1:
        raise ValueError("dtw_batch: all pairs must have the same shapes")
    win = _window(probs[0].n, probs[0].m, band, window)
    ob, oe = bool(open_begin or subsequence), bool(open_end or subsequence)
    raws = run(_dtw_torch.dtw_torch_task(probs, pattern, win, ob, oe, math.nan, False, device, dtype))
    return [
        DTWResult(r.cost, _normalized(r.cost, pattern, r.path), r.path, win, r.nbytes, None, "exact", "torch")
        for r in raws
    ]
