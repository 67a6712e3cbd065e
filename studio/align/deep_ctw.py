"""Deep canonical time warping: CTW with the linear projections replaced by small neural encoders.

Trigeorgis, Nicolaou, Schuller & Zafeiriou, "Deep canonical time warping for simultaneous
alignment and representation learning of sequences", TPAMI 2018 (CVPR 2016): two encoders
``f(X)``, ``g(Y)`` map the frames of each sequence to a ``k``-dimensional space; they are trained
with the deep CCA objective (Andrew, Arora, Bilmes & Livescu, "Deep canonical correlation
analysis", ICML 2013) on the pairs of the current warping path, alternating with DTW on the
encoded sequences.

Design decisions:

* **Encoders.**  ``f(x) = A x + B tanh(C x)`` on standardised inputs (per-feature z-score): a
  linear map plus one hidden ``tanh`` layer (`hidden` units).  The linear part starts at the
  linear CCA of the initial path and ``B`` at zero, so training starts from CTW's first spatial
  step; an L2 `penalty` on ``B`` and ``C`` (default 0.1) keeps the nonlinear branch from
  absorbing misalignment - without these, the encoders reached a total correlation of 1.99 of 2
  on the misaligned pairs of the uniform path and DTW then had nothing to correct; with a penalty
  of 0.01 deep CTW ended 0.8 frames behind CTW on the nonlinear synthetic set (docs/alignment.md).
  float64 by default (the Cholesky factors of the loss are then well conditioned); `device` is
  any torch device.
* **Loss.**  DCCA: minus the sum of the ``k`` canonical correlations of the centred outputs,
  with ``reg * I`` added to both auto-covariances.  Computed differentiably as the singular
  values of ``L1^-1 S12 L2^-T`` (``L``: Cholesky factors), taken as square roots of the
  eigenvalues of ``T' T`` - `torch.linalg.eigvalsh` has a stable gradient even for repeated
  eigenvalues, which `torch.linalg.svdvals` does not.  Full-batch Adam (the pairs of one path
  fit in memory), `epochs` steps per alternation, warm-started from the previous alternation.
* **Temporal step.**  As in DCTW, the DTW space is the linear CCA of the encoder outputs on the
  current path (DCCA's final linear layer): DTW (`studio.align.dtw`) between
  ``(f(X) - mu) Wf`` and ``(g(Y) - mu) Wg``.
* **Objective and stopping** follow `studio.align.ctw`: after each training round the CTW
  objective (mean squared canonical distance per path step and component) is recorded on the
  path the encoders were trained on; the loop stops when it improves by less than `tol`
  relatively and returns the best iterate with its encoders.  ``init`` is ``"uniform"``
  (uniform time scaling, the papers' default), ``"dtw"`` or a path; a CTW path is a good start.
* **Determinism.**  Parameters are drawn under `torch.random.fork_rng` seeded with `seed` (the
  global generator is left as it was) and training is full-batch, so a seed and device give the
  same path every run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from studio.align.ctw import CCA, cca, check_sequence, components_by_energy, initial_path, path_objective
from studio.align.dtw import dtw
from studio.tasks.base import Progress, Task, run

__all__ = ["Encoder", "DeepCTWResult", "dcca_loss", "deep_ctw", "deep_ctw_task"]


class Encoder(nn.Module):
    """``f(x) = A x + B tanh(C x)``: a linear map plus one hidden tanh layer."""

    def __init__(self, d_in: int, d_out: int, hidden: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.hidden = nn.Linear(d_in, hidden)
        self.out = nn.Linear(hidden, d_out, bias=False)

    def penalty(self) -> torch.Tensor:
        """Squared norm of the nonlinear branch's weights (zero: a linear encoder)."""
        return self.hidden.weight.square().sum() + self.out.weight.square().sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.out(torch.tanh(self.hidden(x)))


def dcca_loss(H1: torch.Tensor, H2: torch.Tensor, reg: float = 1e-3) -> torch.Tensor:
    """Minus the sum of the canonical correlations of paired rows of `H1` and `H2` (Andrew et al. 2013)."""
    n = H1.shape[0]
    if n < 2 or H2.shape[0] != n:
        raise ValueError(f"dcca_loss needs at least 2 paired rows, got {H1.shape[0]} and {H2.shape[0]}")
    H1 = H1 - H1.mean(dim=0)
    H2 = H2 - H2.mean(dim=0)
    eye1 = torch.eye(H1.shape[1], dtype=H1.dtype, device=H1.device)
    eye2 = torch.eye(H2.shape[1], dtype=H2.dtype, device=H2.device)
    S11 = H1.T @ H1 / (n - 1) + reg * eye1
    S22 = H2.T @ H2 / (n - 1) + reg * eye2
    S12 = H1.T @ H2 / (n - 1)
    L1 = torch.linalg.cholesky(S11)
    L2 = torch.linalg.cholesky(S22)
    T = torch.linalg.solve_triangular(L1, S12, upper=False)
    T = torch.linalg.solve_triangular(L2, T.T, upper=False).T
    eig = torch.linalg.eigvalsh(T.T @ T)
    return -torch.sqrt(torch.clamp(eig, min=1e-12)).sum()


@dataclass(frozen=True)
class DeepCTWResult:
    """The alignment found by `deep_ctw`."""

    path: np.ndarray
    """``(k, 2)`` index pairs ``(i in X, j in Y)``."""
    objective: list[float]
    """CTW objective after each training round (the first after training on the initial path)."""
    losses: list[float]
    """The DCCA loss after every epoch of every round."""
    n_iter: int
    """Alternations (training, then DTW) run."""
    cost: float
    encoder_x: Encoder = field(repr=False)
    encoder_y: Encoder = field(repr=False)
    projection: CCA = field(repr=False)
    """The linear CCA of the encoder outputs that defines the DTW space (``b`` kept components)."""
    scale_x: tuple[np.ndarray, np.ndarray] = field(repr=False)
    """Input standardisation ``(mean, std)`` of X."""
    scale_y: tuple[np.ndarray, np.ndarray] = field(repr=False)
    converged: bool = False

    def _encode(self, enc: Encoder, scale: tuple[np.ndarray, np.ndarray], Z: np.ndarray) -> np.ndarray:
        param = next(enc.parameters())
        z = torch.as_tensor((np.asarray(Z, dtype=np.float64) - scale[0]) / scale[1], dtype=param.dtype)
        with torch.no_grad():
            return enc(z.to(param.device)).cpu().double().numpy()

    def transform_x(self, X: np.ndarray) -> np.ndarray:
        H = self._encode(self.encoder_x, self.scale_x, X)
        return (H - self.projection.mean_a) @ self.projection.Wa

    def transform_y(self, Y: np.ndarray) -> np.ndarray:
        H = self._encode(self.encoder_y, self.scale_y, Y)
        return (H - self.projection.mean_b) @ self.projection.Wb


def _standardise(X: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd = np.where(sd > 1e-12 * max(float(np.abs(X).max()), 1.0), sd, 1.0)
    return (X - mu) / sd, (mu, sd)


def deep_ctw_task(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    n_components: int | None = None,
    hidden: int = 32,
    epochs: int = 60,
    lr: float = 1e-2,
    reg: float = 1e-3,
    penalty: float = 0.1,
    energy: float = 0.9,
    max_iter: int = 10,
    tol: float = 1e-4,
    init: str | np.ndarray = "uniform",
    band: float | int | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> Task[DeepCTWResult]:
    """`deep_ctw` as a task: yields a `Progress` every epoch (cancel with ``close()``)."""
    X = check_sequence(X, "X")
    Y = check_sequence(Y, "Y")
    for name, value in (("hidden", hidden), ("epochs", epochs), ("max_iter", max_iter)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if lr <= 0 or reg <= 0:
        raise ValueError(f"lr and reg must be > 0, got {lr} and {reg}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    d_max = min(X.shape[1], Y.shape[1])
    if n_components is not None and not 1 <= n_components <= d_max:
        raise ValueError(
            f"n_components must be in [1, {d_max}] for features of {X.shape[1]} and {Y.shape[1]}"
        )
    device = torch.device(device)
    path = initial_path(X, Y, init, band)
    if n_components is None:
        n_components = components_by_energy(cca(X[path[:, 0]], Y[path[:, 1]], reg=reg).correlations, energy)
    k = n_components

    Xn, scale_x = _standardise(X)
    Yn, scale_y = _standardise(Y)
    tx = torch.as_tensor(Xn, dtype=dtype, device=device)
    ty = torch.as_tensor(Yn, dtype=dtype, device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fx = Encoder(X.shape[1], k, hidden)
        fy = Encoder(Y.shape[1], k, hidden)
    # start from the linear CCA of the initial path, with the nonlinear branch switched off
    start = cca(Xn[path[:, 0]], Yn[path[:, 1]], reg=reg)
    with torch.no_grad():
        for enc, W, mu in ((fx, start.Wa[:, :k], start.mean_a), (fy, start.Wb[:, :k], start.mean_b)):
            enc.linear.weight.copy_(torch.as_tensor(W.T))
            enc.linear.bias.copy_(torch.as_tensor(-mu @ W))
            enc.out.weight.zero_()
    fx = fx.to(device=device, dtype=dtype)
    fy = fy.to(device=device, dtype=dtype)
    opt = torch.optim.Adam([*fx.parameters(), *fy.parameters()], lr=lr)

    losses: list[float] = []
    objective: list[float] = []
    best: tuple[float, np.ndarray, dict, dict, CCA] | None = None
    converged = False
    n_iter = 0
    total = (max_iter + 1) * epochs
    while True:
        pi = torch.as_tensor(path[:, 0], device=device)
        pj = torch.as_tensor(path[:, 1], device=device)
        for epoch in range(epochs):
            opt.zero_grad()
            loss = dcca_loss(fx(tx[pi]), fy(ty[pj]), reg)
            total_loss = loss + penalty * (fx.penalty() + fy.penalty())
            total_loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            step = n_iter * epochs + epoch + 1
            yield Progress(
                step / total, f"deep CTW: round {n_iter + 1}, epoch {epoch + 1}, loss {losses[-1]:.4g}"
            )
        with torch.no_grad():
            Hx = fx(tx).cpu().double().numpy()
            Hy = fy(ty).cpu().double().numpy()
        model = cca(Hx[path[:, 0]], Hy[path[:, 1]], reg=reg)
        P = (Hx - model.mean_a) @ model.Wa
        Q = (Hy - model.mean_b) @ model.Wb
        J = path_objective(P, Q, path) / k
        objective.append(J)
        if best is not None and J >= best[0] * (1.0 - tol):
            converged = True
            if J < best[0]:
                best = (J, path, copy.deepcopy(fx.state_dict()), copy.deepcopy(fy.state_dict()), model)
            break
        best = (J, path, copy.deepcopy(fx.state_dict()), copy.deepcopy(fy.state_dict()), model)
        if n_iter >= max_iter:
            break
        new_path = np.asarray(dtw(P, Q, band=band).path, dtype=np.int64)
        n_iter += 1
        if np.array_equal(new_path, path):
            converged = True
            break
        path = new_path

    J, path, state_x, state_y, model = best
    fx.load_state_dict(state_x)
    fy.load_state_dict(state_y)
    fx.eval()
    fy.eval()
    return DeepCTWResult(
        path=path,
        objective=objective,
        losses=losses,
        n_iter=n_iter,
        cost=J,
        encoder_x=fx,
        encoder_y=fy,
        projection=model,
        scale_x=scale_x,
        scale_y=scale_y,
        converged=converged,
    )


def deep_ctw(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    n_components: int | None = None,
    hidden: int = 32,
    epochs: int = 60,
    lr: float = 1e-2,
    reg: float = 1e-3,
    penalty: float = 0.1,
    energy: float = 0.9,
    max_iter: int = 10,
    tol: float = 1e-4,
    init: str | np.ndarray = "uniform",
    band: float | int | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> DeepCTWResult:
    """Deep CTW of `X` (``n_x x d_x``) and `Y` (``n_y x d_y``); see the module docstring.

    `n_components` is the encoders' output dimension (default: by `energy` of the linear CCA on
    the initial path); `epochs` Adam steps of learning rate `lr` per alternation; `reg` the DCCA
    covariance regularisation; `band` is passed to `dtw`.
    """
    return run(
        deep_ctw_task(
            X,
            Y,
            n_components=n_components,
            hidden=hidden,
            epochs=epochs,
            lr=lr,
            reg=reg,
            penalty=penalty,
            energy=energy,
            max_iter=max_iter,
            tol=tol,
            init=init,
            band=band,
            device=device,
            dtype=dtype,
            seed=seed,
        )
    )
