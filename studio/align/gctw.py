"""Generalised canonical time warping (GCTW) of several sequences onto one common time axis.

Zhou & De la Torre ("Generalized time warping for multi-modal alignment of human motion", CVPR
2012; "Generalized canonical time warping", TPAMI 2016) extend CTW to ``m >= 2`` sequences
``X_k`` (``n_k x d_k``, dimensions may all differ) by minimising the sum of the pairwise CTW
objectives over warps to a common time axis ``t = 0..L-1`` and projections ``V_k``:

    J = 1/(m L b)  sum_t sum_k || (x_{k, i_k(t)} - mu_k) V_k  -  z(t) ||^2,   z(t) = mean_k of the same,

which equals ``1/(m^2 L b) sum_{k<l} sum_t ||a_k(t) - a_l(t)||^2`` (``a_k(t)``: sequence ``k``'s
projected frame at common time ``t``).  Each sequence contributes exactly one frame per common
time step, as with the papers' warping matrices, so the common axis is an ``m``-dimensional
warping path: the *joint path*, an ``(L, m)`` array whose rows advance every index by 0 or 1 from
``(0, ..., 0)`` to the last frames.  For ``m = 2`` it is an ordinary DTW path and GCTW is CTW.

**Formulation chosen.**  The papers parameterise each warp as a non-negative combination of
monotonic basis functions and optimise it by Gauss-Newton (linear time, smooth warps).  We keep
their spatial step and replace the temporal one by exact DTW coordinate descent, reusing
`studio.align.dtw`:

* *Spatial step* - multi-set CCA (`mcca`) of the frames paired by the joint path, in the
  SUMCOR-like generalised-eigenvalue form of the GTW paper (Kettenring 1971, Nielsen 2002):
  ``C v = lambda D v`` with ``C`` all (cross-)covariances and ``D`` the block diagonal of the
  auto-covariances, each regularised by ``reg * trace(S) / d``.  The top ``b`` eigenvectors
  minimise ``J`` for a fixed path under ``sum_k V_k' S_kk V_k = m I``.  An eigenvalue is
  ``1 + (m - 1) rho`` for an average pairwise correlation ``rho``; ``b`` is `n_components` or the
  fewest components holding `energy` of ``sum(rho**2)``, re-estimated at each step and never
  increased (as in `studio.align.ctw`).
* *Temporal step* - a Gauss-Seidel sweep over the sequences: the others' rows of the joint path
  (consecutive repeats dropped) give the mean of their projected frames, ``z_{-k}``; DTW of
  sequence ``k``'s projection against ``z_{-k}`` re-warps ``k`` alone (the terms of ``J`` that
  involve ``k`` are ``(m - 1) ||a_k - z_{-k}||^2`` plus a constant), and the joint path is
  rebuilt from that DTW path.  This is the "each sequence against the mean of the others"
  scheme of Procrustes alignment; unlike DBA's barycenter (Petitjean et al. 2011) it does not
  pull a sequence towards itself, which in our measurements stalled the descent early.

Warps start at uniform time scaling (the straight joint path of ``max(n_k)`` steps); the
alternation stops when ``J`` improves by less than `tol` relatively, and the best iterate is
returned.  DTW costs ``O(L n_k)`` per sequence and sweep where the papers' basis is linear; at the
lengths of this project (hundreds to a few thousand frames) that is what we accept for an exact
temporal step with no second optimiser.  `GCTWResult.pair_path` reads any pairwise alignment off
the joint path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import eigh

from studio.align.ctw import _Dims, _regularised_cov, alternate, check_sequence
from studio.align.dtw import dtw
from studio.tasks.base import Progress, Task, run

__all__ = ["MCCA", "GCTWResult", "mcca", "gctw", "gctw_task", "uniform_joint_path"]


@dataclass(frozen=True)
class MCCA:
    """A multi-set CCA: ``(X_k - means[k]) @ weights[k]`` are the shared components."""

    weights: list[np.ndarray]
    means: list[np.ndarray]
    correlations: np.ndarray
    """Decreasing; the average pairwise correlation of each component, ``(lambda - 1) / (m - 1)``."""


def mcca(blocks: Sequence[np.ndarray], *, reg: float = 1e-3) -> MCCA:
    """Multi-set CCA of paired samples: `blocks[k]` is ``(T, d_k)``, row ``t`` paired across blocks.

    Returns all ``min(d_k)`` components, scaled so that ``sum_k W_k' (S_kk + r) W_k = m I`` (unit
    variance per block on average).  For two blocks the directions and correlations are CCA's.
    """
    m = len(blocks)
    if m < 2:
        raise ValueError(f"multi-set CCA needs at least two blocks, got {m}")
    blocks = [np.asarray(B, dtype=np.float64) for B in blocks]
    T = len(blocks[0])
    if any(B.ndim != 2 or len(B) != T for B in blocks):
        raise ValueError(f"multi-set CCA needs paired 2-D blocks, got shapes {[B.shape for B in blocks]}")
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    means = [B.mean(axis=0) for B in blocks]
    centred = np.concatenate([B - mu for B, mu in zip(blocks, means)], axis=1)
    offsets = np.cumsum([0] + [B.shape[1] for B in blocks])
    C = centred.T @ centred / T
    D = np.zeros_like(C)
    for k in range(m):
        lo, hi = offsets[k], offsets[k + 1]
        D[lo:hi, lo:hi] = _regularised_cov(centred[:, lo:hi], reg)
        C[lo:hi, lo:hi] = D[lo:hi, lo:hi]  # the ridge acts in C too: two blocks give regularised CCA exactly
    values, vectors = eigh(0.5 * (C + C.T), D)
    keep = min(B.shape[1] for B in blocks)
    order = np.argsort(values)[::-1][:keep]
    values, vectors = values[order], vectors[:, order] * np.sqrt(m)
    weights = [vectors[offsets[k] : offsets[k + 1]] for k in range(m)]
    return MCCA(weights=weights, means=means, correlations=(values - 1.0) / (m - 1))


def uniform_joint_path(lengths: Sequence[int]) -> np.ndarray:
    """Uniform time scaling of all sequences: ``(max(n), m)`` rows, each index the rounded straight line."""
    L = max(lengths)
    t = np.arange(L, dtype=np.float64) / max(L - 1, 1)
    return np.stack([np.rint(t * (n - 1)).astype(np.int64) for n in lengths], axis=1)


def _drop_repeats(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`rows` without consecutive duplicates, and for each kept row its first index in `rows`."""
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = np.any(rows[1:] != rows[:-1], axis=1)
    return rows[keep], np.flatnonzero(keep)


def _rewarp(joint: np.ndarray, k: int, P: Sequence[np.ndarray], band: float | int | None) -> np.ndarray:
    """Re-warp sequence `k` against the mean of the others along the joint path (one Gauss-Seidel move)."""
    others = [o for o in range(joint.shape[1]) if o != k]
    rows, _ = _drop_repeats(joint[:, others])
    z = np.mean([P[o][rows[:, c]] for c, o in enumerate(others)], axis=0)
    path = np.asarray(dtw(z, P[k], band=band).path, dtype=np.int64)
    out = np.empty((len(path), joint.shape[1]), dtype=np.int64)
    out[:, others] = rows[path[:, 0]]
    out[:, k] = path[:, 1]
    return out


@dataclass(frozen=True)
class GCTWResult:
    """The joint alignment found by `gctw`."""

    joint_path: np.ndarray
    """``(L, m)``: row ``t`` holds the frame of every sequence at common time ``t``."""
    projections: list[np.ndarray]
    """Per sequence, ``(d_k, b)``: ``(X_k - means[k]) @ projections[k]`` is in the shared space."""
    means: list[np.ndarray]
    objective: list[float]
    """J after each spatial step (the first on the initial warps); the result is the minimum."""
    n_iter: int
    """Alternations (MCCA then a sweep of DTW re-warps) run."""
    cost: float
    correlations: np.ndarray
    """Average pairwise correlation of each kept component."""
    converged: bool

    @property
    def n_common(self) -> int:
        return len(self.joint_path)

    def transform(self, k: int, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.means[k]) @ self.projections[k]

    def barycenter(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """``(L, b)``: the mean over sequences of the projected frames at each common time."""
        return np.mean([self.transform(k, X)[self.joint_path[:, k]] for k, X in enumerate(sequences)], axis=0)

    def pair_path(self, a: int, b: int) -> np.ndarray:
        """The warping path between sequences `a` and `b` (pairs ``(i in a, j in b)``)."""
        return _drop_repeats(self.joint_path[:, [a, b]])[0]


def gctw_task(
    sequences: Sequence[np.ndarray],
    *,
    n_components: int | None = None,
    energy: float = 0.9,
    reg: float = 1e-3,
    max_iter: int = 30,
    tol: float = 1e-4,
    band: float | int | None = None,
) -> Task[GCTWResult]:
    """`gctw` as a task: yields a `Progress` per iteration (cancel with ``close()``)."""
    if len(sequences) < 2:
        raise ValueError(f"generalised CTW needs at least two sequences, got {len(sequences)}")
    Xs = [check_sequence(X, f"sequence {k}") for k, X in enumerate(sequences)]
    m = len(Xs)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    d_max = min(X.shape[1] for X in Xs)
    if n_components is not None and not 1 <= n_components <= d_max:
        raise ValueError(f"n_components must be in [1, {d_max}] (the smallest feature dimension)")
    joint = uniform_joint_path([len(X) for X in Xs])
    yield Progress(0.0, "generalised canonical time warping: initial warps")

    dims = _Dims(n_components, energy)

    def fit(joint: np.ndarray) -> tuple[float, Any]:
        model = mcca([X[joint[:, k]] for k, X in enumerate(Xs)], reg=reg)
        b = dims.update(model.correlations)
        P = [(X - mu) @ W[:, :b] for X, mu, W in zip(Xs, model.means, model.weights)]
        A = np.stack([Pk[joint[:, k]] for k, Pk in enumerate(P)])
        return float(np.sum((A - A.mean(axis=0)) ** 2) / (m * len(joint) * b)), (model, b, P)

    def warp(joint: np.ndarray, state: Any) -> np.ndarray:
        P = state[2]
        for k in range(m):
            joint = _rewarp(joint, k, P, band)
        return joint

    alt = yield from alternate(
        joint, fit, warp, max_iter=max_iter, tol=tol, label="generalised canonical time warping"
    )
    model, b, _ = alt.state
    J, joint, objective, n_iter, converged = alt.cost, alt.path, alt.objective, alt.n_iter, alt.converged
    return GCTWResult(
        joint_path=joint,
        projections=[W[:, :b] for W in model.weights],
        means=model.means,
        objective=objective,
        n_iter=n_iter,
        cost=J,
        correlations=model.correlations[:b],
        converged=converged,
    )


def gctw(
    sequences: Sequence[np.ndarray],
    *,
    n_components: int | None = None,
    energy: float = 0.9,
    reg: float = 1e-3,
    max_iter: int = 30,
    tol: float = 1e-4,
    band: float | int | None = None,
) -> GCTWResult:
    """Align ``m >= 2`` sequences (``n_k x d_k`` each) jointly to a common time axis; see the module doc.

    `n_components` fixes the shared dimension (default: by `energy`); `reg` regularises the
    covariances; `band` is passed to every `dtw` call (a sequence against the mean of the others).
    """
    return run(
        gctw_task(
            sequences,
            n_components=n_components,
            energy=energy,
            reg=reg,
            max_iter=max_iter,
            tol=tol,
            band=band,
        )
    )
