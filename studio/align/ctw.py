"""Canonical time warping (CTW): DTW and CCA, alternated, for sequences that differ in space and time.

Zhou & De la Torre, "Canonical time warping for alignment of human behavior", NIPS 2009.  Two
sequences ``X`` (``n_x x d_x``) and ``Y`` (``n_y x d_y``; rows are frames, dimensions may differ)
are aligned by minimising

    J(Vx, Vy, path) = 1/(L b)  sum_{(i, j) in path}  || (x_i - mu_x) Vx  -  (y_j - mu_y) Vy ||^2

over a warping path of length ``L`` and projections ``Vx`` (``d_x x b``), ``Vy`` (``d_y x b``)
onto a ``b``-dimensional canonical space, under the CCA constraints ``Vx' Sxx Vx = Vy' Syy Vy = I``
(covariances of the warped, centred pairs).  The paper writes the same with warping matrices,
``||Vx' X Wx - Vy' Y Wy||_F^2``; here the path plays the role of ``Wx, Wy`` and the sum is divided
by its length and by ``b`` so that values from paths of different lengths, and with different
``b``, compare (for plain CCA, ``J = 2 - 2 mean(rho)``).

Alternation (the paper's algorithm):

1. **Initial path.**  When the dimensions differ there is no common space to run DTW in, so the
   paper starts from uniform time scaling: the straight path from ``(0, 0)`` to the last frames
   (`uniform_path`).  That is the default (``init="uniform"``).  ``init="dtw"`` starts from DTW on
   the raw features (dimensions equal) or on each sequence's PCA to ``min(d_x, d_y)`` components;
   an explicit path is accepted too.
2. **Spatial step.**  Regularised CCA on the pairs of the current path.  Regularisation adds
   ``reg * trace(S) / d`` to each auto-covariance ``S`` (scale free; it also makes CCA defined when
   ``d`` exceeds the number of distinct frames).  ``b`` is `n_components`, or the fewest
   components holding `energy` of the squared canonical correlations, re-estimated at every step
   and never increased (a component dropped as noise does not come back).  On the synthetic
   benchmark the automatic ``b`` often keeps a nuisance component that chance-correlates after
   warping; pass ``n_components`` when the shared dimension is known.
3. **Temporal step.**  DTW (`studio.align.dtw.dtw`, squared Euclidean local cost, symmetric steps,
   optional `band`) between the projected sequences ``(X - mu_x) Vx`` and ``(Y - mu_y) Vy``; with
   ``V`` fixed it minimises the un-normalised sum above over paths.
4. Repeat 2-3 while the objective (recorded after each spatial step) decreases by more than
   ``tol`` relatively.  The CCA constraint depends on the path, so the alternation is not provably
   monotone; when an iteration makes the objective worse we stop and return the best iterate, so
   the returned solution is the minimum of `CTWResult.objective`.

CTW is a local method: from uniform time scaling it descends to the nearest minimum, and on
curves that look alike after a rotation and a time shift (a spiral) that minimum can sit a few
frames off the truth even without noise, while started at the truth it stays there (see the
tests and docs/alignment.md for measured figures).

tslearn's ``ctw_path`` compares the path with itself to detect convergence
(``np.array_equal(current_path, current_path)``, tslearn issue #728), so it stops after a single
CCA; the tests here check that our loop really iterates and improves on DTW.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.align.dtw import dtw
from studio.tasks.base import Progress, Task, run

__all__ = [
    "CCA",
    "CTWResult",
    "cca",
    "ctw",
    "ctw_task",
    "pca",
    "uniform_path",
    "check_sequence",
    "check_path",
    "components_by_energy",
]

MIN_FRAMES = 3


def check_sequence(X: object, name: str = "X", min_frames: int = MIN_FRAMES) -> np.ndarray:
    """`X` as a finite float64 ``(n_frames, n_features)`` array (a 1-D input is one feature)."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a (frames, features) array, got {arr.ndim} dimensions")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.shape[0] < min_frames:
        raise ValueError(
            f"{name} has {arr.shape[0]} frames; canonical time warping needs at least {min_frames}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_path(path: object, n: int, m: int) -> np.ndarray:
    """`path` as a valid warping path between sequences of `n` and `m` frames, or ValueError."""
    p = np.asarray(path)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
        raise ValueError(f"a path is a non-empty (k, 2) array of index pairs, got shape {p.shape}")
    p = p.astype(np.int64)
    if tuple(p[0]) != (0, 0) or tuple(p[-1]) != (n - 1, m - 1):
        raise ValueError(f"a path must run from (0, 0) to ({n - 1}, {m - 1})")
    steps = np.diff(p, axis=0)
    if np.any(steps < 0) or np.any(steps > 1) or np.any(steps.sum(axis=1) == 0):
        raise ValueError("a path must advance by (1, 0), (0, 1) or (1, 1) at every step")
    return p


def uniform_path(n: int, m: int) -> np.ndarray:
    """Uniform time scaling as a warping path: the staircase closest to the straight line."""
    if n < 1 or m < 1:
        raise ValueError(f"uniform_path needs positive lengths, got {n} and {m}")
    k = max(n, m)
    t = np.arange(k, dtype=np.float64)
    denom = max(k - 1, 1)
    i = np.rint(t * (n - 1) / denom).astype(np.int64)
    j = np.rint(t * (m - 1) / denom).astype(np.int64)
    return np.stack([i, j], axis=1)


def pca(X: np.ndarray, n_components: int) -> np.ndarray:
    """`X` centred and projected on its first `n_components` principal axes (``n x k``)."""
    Xc = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ vt[:n_components].T


def components_by_energy(values: np.ndarray, energy: float) -> int:
    """Fewest leading components holding the fraction `energy` of ``sum(values**2)`` (at least 1)."""
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    sq = np.clip(np.asarray(values, dtype=np.float64), 0.0, None) ** 2
    total = sq.sum()
    if total <= 0.0:
        return 1
    return int(min(np.searchsorted(np.cumsum(sq) / total, energy - 1e-12) + 1, len(sq)))


@dataclass(frozen=True)
class CCA:
    """A fitted (regularised) CCA: ``(A - mean_a) @ Wa`` and ``(B - mean_b) @ Wb`` are canonical."""

    Wa: np.ndarray
    Wb: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    correlations: np.ndarray
    """All ``min(d_a, d_b)`` canonical correlations, decreasing (regularised, so below 1)."""


def _regularised_cov(A: np.ndarray, reg: float) -> np.ndarray:
    C = A.T @ A / len(A)
    scale = np.trace(C) / C.shape[0]
    return C + (reg * scale + 1e-12 * max(scale, 1.0)) * np.eye(C.shape[0])


def cca(A: np.ndarray, B: np.ndarray, *, n_components: int | None = None, reg: float = 1e-3) -> CCA:
    """Regularised CCA of paired samples (rows of `A` and `B`), all components if `n_components` is None.

    Solved by whitening with Cholesky factors and an SVD of ``La^-1 Sab Lb^-T``; the weights satisfy
    ``Wa' (Saa + r) Wa = I`` (likewise for ``b``).
    """
    if len(A) != len(B):
        raise ValueError(f"CCA needs paired samples, got {len(A)} and {len(B)} rows")
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    mean_a, mean_b = A.mean(axis=0), B.mean(axis=0)
    Ac, Bc = A - mean_a, B - mean_b
    # inverse Cholesky factors: the matrices are d x d with d small, and numpy's inv avoids the
    # per-call overhead scipy's triangular solver showed here (~15 ms a call under load)
    La_inv = np.linalg.inv(np.linalg.cholesky(_regularised_cov(Ac, reg)))
    Lb_inv = np.linalg.inv(np.linalg.cholesky(_regularised_cov(Bc, reg)))
    Sab = Ac.T @ Bc / len(A)
    T = La_inv @ Sab @ Lb_inv.T
    U, s, Vt = np.linalg.svd(T, full_matrices=False)
    k = len(s) if n_components is None else n_components
    if not 1 <= k <= len(s):
        raise ValueError(f"n_components must be in [1, {len(s)}], got {k}")
    Wa = La_inv.T @ U[:, :k]
    Wb = Lb_inv.T @ Vt[:k].T
    return CCA(Wa=Wa, Wb=Wb, mean_a=mean_a, mean_b=mean_b, correlations=s)


@dataclass(frozen=True)
class CTWResult:
    """The alignment found by `ctw`."""

    path: np.ndarray
    """``(k, 2)`` index pairs ``(i in X, j in Y)`` from ``(0, 0)`` to the last frames."""
    Vx: np.ndarray
    """``(d_x, b)`` projection of X (after subtracting `mean_x`) onto the canonical space."""
    Vy: np.ndarray
    objective: list[float]
    """J after each spatial step (the first is on the initial path); the result is the minimum."""
    n_iter: int
    """Alternations (CCA then DTW) run."""
    cost: float
    """J of the returned (path, Vx, Vy): mean squared canonical distance per path step."""
    mean_x: np.ndarray = field(repr=False)
    mean_y: np.ndarray = field(repr=False)
    correlations: np.ndarray = field(repr=False)
    """Canonical correlations of the kept components on the returned path."""
    converged: bool = False
    """False when `max_iter` stopped the loop while it was still improving."""

    def transform_x(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_x) @ self.Vx

    def transform_y(self, Y: np.ndarray) -> np.ndarray:
        return (np.asarray(Y, dtype=np.float64) - self.mean_y) @ self.Vy


def path_objective(P: np.ndarray, Q: np.ndarray, path: np.ndarray) -> float:
    """Mean squared distance between ``P[i]`` and ``Q[j]`` over the pairs of `path`."""
    d = P[path[:, 0]] - Q[path[:, 1]]
    return float(np.einsum("ij,ij->", d, d) / len(path))


def initial_path(
    X: np.ndarray, Y: np.ndarray, init: str | np.ndarray, band: float | int | None = None
) -> np.ndarray:
    """The starting path: ``"uniform"`` (time scaling), ``"dtw"`` (raw or PCA features) or a path."""
    n, m = len(X), len(Y)
    if isinstance(init, str):
        if init == "uniform":
            return uniform_path(n, m)
        if init == "dtw":
            if X.shape[1] == Y.shape[1]:
                return np.asarray(dtw(X, Y, band=band).path, dtype=np.int64)
            k = min(X.shape[1], Y.shape[1])
            return np.asarray(dtw(pca(X, k), pca(Y, k), band=band).path, dtype=np.int64)
        raise ValueError(f"init must be 'uniform', 'dtw' or a path, got {init!r}")
    return check_path(init, n, m)


@dataclass
class _Run:
    objective: list[float]
    path: np.ndarray
    model: CCA
    b: int
    cost: float
    n_iter: int
    converged: bool


def _ctw_run(
    X: np.ndarray,
    Y: np.ndarray,
    path: np.ndarray,
    *,
    n_components: int | None,
    energy: float,
    reg: float,
    max_iter: int,
    tol: float,
    band: float | int | None,
) -> Task[_Run]:
    """One CTW descent from `path`; yields before every DTW step."""
    dims = _Dims(n_components, energy)

    def fit(path: np.ndarray) -> tuple[float, Any]:
        model = cca(X[path[:, 0]], Y[path[:, 1]], reg=reg)
        b = dims.update(model.correlations)
        P = (X - model.mean_a) @ model.Wa[:, :b]
        Q = (Y - model.mean_b) @ model.Wb[:, :b]
        return path_objective(P, Q, path) / b, (model, b, P, Q)

    def warp(path: np.ndarray, state: Any) -> np.ndarray:
        _, _, P, Q = state
        return np.asarray(dtw(P, Q, band=band).path, dtype=np.int64)

    alt = yield from alternate(path, fit, warp, max_iter=max_iter, tol=tol, label="canonical time warping")
    model, b, _, _ = alt.state
    return _Run(alt.objective, alt.path, model, b, alt.cost, alt.n_iter, alt.converged)


class _Dims:
    """The canonical dimension b: given, or by correlation energy (re-estimated, never increased)."""

    def __init__(self, n_components: int | None, energy: float) -> None:
        self.fixed = n_components is not None
        self.b = n_components
        self.energy = energy

    def update(self, correlations: np.ndarray) -> int:
        if not self.fixed:
            b_new = components_by_energy(correlations, self.energy)
            self.b = b_new if self.b is None else min(self.b, b_new)
        assert self.b is not None
        return self.b


@dataclass
class Alternation:
    path: np.ndarray  # the best iterate's path (or joint path)
    state: Any  # what `fit` returned with it
    cost: float
    objective: list[float]
    n_iter: int
    converged: bool


def alternate(
    path: np.ndarray,
    fit: Callable[[np.ndarray], tuple[float, Any]],
    warp: Callable[[np.ndarray, Any], np.ndarray],
    *,
    max_iter: int,
    tol: float,
    label: str,
) -> Task[Alternation]:
    """The CTW family's coordinate descent: `fit` the spatial model on the current path (returns the
    objective and a state), then `warp` (the temporal step) to a new path, until the objective
    improves by less than `tol` (relative), the path stops changing, or `max_iter` warps. The best
    iterate is returned, so ``cost == min(objective)``. Shared by CTW and GCTW."""
    best: tuple[float, np.ndarray, Any] | None = None
    objective: list[float] = []
    converged = False
    n_iter = 0
    while True:
        J, state = fit(path)
        objective.append(J)
        if best is not None and J >= best[0] * (1.0 - tol):
            converged = True
            if J < best[0]:
                best = (J, path, state)
            break
        best = (J, path, state)
        if n_iter >= max_iter:
            break
        yield Progress(n_iter / max_iter, f"{label}: iteration {n_iter + 1}, J = {J:.4g}")
        new_path = warp(path, state)
        n_iter += 1
        if np.array_equal(new_path, path):
            converged = True  # a fixed point: the next fit would repeat this one
            break
        path = new_path
    J, path, state = best
    return Alternation(path, state, J, objective, n_iter, converged)


def ctw_task(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    n_components: int | None = None,
    energy: float = 0.9,
    reg: float = 1e-3,
    max_iter: int = 30,
    tol: float = 1e-4,
    init: str | np.ndarray = "uniform",
    band: float | int | None = None,
) -> Task[CTWResult]:
    """`ctw` as a task: yields a `Progress` per iteration (cancel with ``close()``)."""
    X = check_sequence(X, "X")
    Y = check_sequence(Y, "Y")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    d_max = min(X.shape[1], Y.shape[1])
    if n_components is not None and not 1 <= n_components <= d_max:
        raise ValueError(
            f"n_components must be in [1, {d_max}] for features of {X.shape[1]} and {Y.shape[1]}"
        )
    path0 = initial_path(X, Y, init, band)
    yield Progress(0.0, "canonical time warping: initial path")
    runner = _ctw_run(
        X, Y, path0, n_components=n_components, energy=energy, reg=reg, max_iter=max_iter, tol=tol, band=band
    )
    best = yield from runner
    b, model = best.b, best.model
    return CTWResult(
        path=best.path,
        Vx=model.Wa[:, :b],
        Vy=model.Wb[:, :b],
        objective=best.objective,
        n_iter=best.n_iter,
        cost=best.cost,
        mean_x=model.mean_a,
        mean_y=model.mean_b,
        correlations=model.correlations[:b],
        converged=best.converged,
    )


def ctw(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    n_components: int | None = None,
    energy: float = 0.9,
    reg: float = 1e-3,
    max_iter: int = 30,
    tol: float = 1e-4,
    init: str | np.ndarray = "uniform",
    band: float | int | None = None,
) -> CTWResult:
    """Canonical time warping of `X` (``n_x x d_x``) and `Y` (``n_y x d_y``); see the module doc.

    `n_components` fixes the canonical dimension ``b`` (default: by `energy` of the squared
    correlations on the first CCA); `reg` regularises the covariances; `band` is passed to `dtw`.
    """
    return run(
        ctw_task(
            X,
            Y,
            n_components=n_components,
            energy=energy,
            reg=reg,
            max_iter=max_iter,
            tol=tol,
            init=init,
            band=band,
        )
    )
