"""The synthetic benchmark of canonical time warping, with known ground-truth warps.

Zhou & De la Torre ("Canonical time warping for alignment of human behavior", NIPS 2009, sec. 5.1)
validate CTW on a 2-D curve that is time-warped at random and transformed in space, so the true
alignment is known and two sequences that "look" different feature by feature still share a latent
trajectory.  This module generates that kind of data, deterministically from a seed:

* a latent 2-D curve ``z(u)``, ``u`` in [0, 1]: ``"spiral"`` (two turns, radius growing from 0.2 to
  1.2, as in the paper's figure) or ``"sine"`` (a Lissajous curve, two sines of different frequency);
* per sequence, a random strictly increasing warp ``w_k: frame -> u`` with ``w_k(0) = 0`` and
  ``w_k(n_k - 1) = 1``: the integral of ``exp(s(u))`` where ``s`` is a random smooth function (three
  random sinusoids, normalised to unit standard deviation) times ``warp``, normalised.  Local
  speeds mostly stay within ``exp(-2 warp)`` and ``exp(2 warp)`` times the mean (0.55x-1.8x for
  the default 0.3), and with lengths drawn in [80, 160] uniform time scaling is off by about 5
  frames on average - close enough that a local method such as CTW can descend from it;
* per sequence, the curve at its warped times plus ``d_k - 2`` *nuisance* channels (smooth random
  signals of 0.5-3 cycles per sequence, the curve's own bandwidth, independent of everything
  else, of scale ``nuisance``), mixed by a random well-conditioned ``d_k x d_k`` matrix (rotation,
  scales in [0.5, 1.5], rotation), plus white noise of standard deviation ``noise``.  The paper
  added a third spatial dimension of noise to the 2-D curve in the same spirit.  Different
  sequences get different mixing matrices, so DTW on the raw features (when dimensions match) and
  DTW after PCA (whose axes are arbitrary rotations) both fail, while CCA recovers the shared 2-D
  subspace.  Smooth nuisance is the hard case for CTW: after warping, combinations of it
  correlate by chance with the residual of a misaligned curve.  ``nonlinear=True`` adds ``tanh``
  after the mixing (the setting meant for deep CTW).

Sequences are ``(n_frames, n_features)`` arrays, the convention of `studio.align`.

Ground truth and the error measure.  Frame ``i`` of sequence ``a`` shows the latent time
``w_a(i)``; the frame of ``b`` showing the same instant is the fractional index
``j*(i) = w_b^{-1}(w_a(i))`` (linear interpolation; the warps are strictly increasing).  For an
estimated path (pairs ``(i, j)``) let ``ĵ(i)`` be the mean of the ``j`` paired with ``i`` (a path
covers every frame) and ``î(j)`` likewise.  The *path error*, in frames, is symmetric:

    err = ( mean_i |ĵ(i) - j*(i)|  +  mean_j |î(j) - i*(j)| ) / 2.

The GTW paper (Zhou & De la Torre 2012) measures the same thing as the area between the estimated
and the true paths normalised by their lengths; ours is the mean horizontal and vertical distance
between them, which reads directly as "frames off".  A perfect path scores below 0.5 (the truth
is fractional, a path is not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticSet", "make_synthetic", "latent_curve", "random_warp", "path_error", "true_path"]

CURVES = ("spiral", "sine")


def latent_curve(kind: str, u: np.ndarray) -> np.ndarray:
    """The 2-D latent curve at parameters `u` in [0, 1], as a ``(len(u), 2)`` array."""
    u = np.asarray(u, dtype=np.float64)
    if kind == "spiral":
        theta = 4.0 * np.pi * u
        r = 0.2 + u
        return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    if kind == "sine":
        return np.stack([np.sin(2.0 * np.pi * 1.5 * u), np.sin(2.0 * np.pi * 2.5 * u + 0.7)], axis=1)
    raise ValueError(f"unknown curve {kind!r}; expected one of {', '.join(CURVES)}")


def random_warp(n: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A strictly increasing map from frames ``0..n-1`` onto [0, 1] (both ends included)."""
    if n < 2:
        raise ValueError(f"a warp needs at least 2 frames, got {n}")
    grid = np.linspace(0.0, 1.0, n)
    log_speed = np.zeros(n)
    for _ in range(3):
        freq = rng.uniform(0.5, 2.5)
        log_speed += np.sin(2.0 * np.pi * freq * grid + rng.uniform(0.0, 2.0 * np.pi))
    log_speed *= strength / np.sqrt(1.5)  # unit standard deviation before scaling
    speed = np.exp(log_speed)
    # trapezoidal integral of the speed, normalised to end at 1
    w = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]))])
    return w / w[-1]


def _smooth_signals(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` smooth random unit-scale channels over `n` frames (sums of random low sinusoids)."""
    grid = np.linspace(0.0, 1.0, n)[:, None]
    out = np.zeros((n, count))
    for _ in range(3):
        freq = rng.uniform(0.5, 3.0, size=count)
        phase = rng.uniform(0.0, 2.0 * np.pi, size=count)
        out += np.sin(2.0 * np.pi * freq * grid + phase)
    return out / np.sqrt(1.5)


def _random_mixing(d: int, rng: np.random.Generator) -> np.ndarray:
    """A random well-conditioned ``d x d`` map: rotation, scales in [0.5, 1.5], rotation."""
    q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
    q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q1 @ np.diag(rng.uniform(0.5, 1.5, size=d)) @ q2


@dataclass(frozen=True)
class SyntheticSet:
    """Sequences sharing one latent curve, with their ground-truth warps."""

    sequences: list[np.ndarray]
    """Each ``(n_k, d_k)``."""
    warps: list[np.ndarray]
    """Each ``(n_k,)``: the latent time in [0, 1] of every frame (strictly increasing)."""
    latents: list[np.ndarray]
    """Each ``(n_k, 2)``: the noiseless latent curve at the frames' times."""
    maps: list[np.ndarray]
    """Each ``(d_k, d_k)``: the mixing matrix applied to [curve, nuisance] (rows are features)."""
    curve: str

    def true_index(self, a: int, b: int) -> np.ndarray:
        """For every frame of sequence `a`, the fractional frame of `b` showing the same instant."""
        wb = self.warps[b]
        return np.interp(self.warps[a], wb, np.arange(len(wb), dtype=np.float64))

    def true_path(self, a: int = 0, b: int = 1) -> np.ndarray:
        """The ground truth as an integer warping path (``(k, 2)``, steps (1,0), (0,1), (1,1))."""
        return true_path(self.warps[a], self.warps[b])

    def path_error(self, path: np.ndarray, a: int = 0, b: int = 1) -> float:
        """Symmetric mean frame error of `path` (pairs ``(i in a, j in b)``), see the module doc."""
        return path_error(path, self.true_index(a, b), self.true_index(b, a))


def make_synthetic(
    dims: tuple[int, ...] = (3, 5),
    lengths: tuple[int, ...] | None = None,
    *,
    curve: str = "spiral",
    warp: float = 0.3,
    noise: float = 0.05,
    nuisance: float = 1.0,
    nonlinear: bool = False,
    seed: int = 0,
) -> SyntheticSet:
    """Generate ``len(dims)`` sequences of the CTW benchmark (see the module docstring).

    `dims` are the feature dimensions (each >= 2); `lengths` the frame counts (default: random in
    [80, 160]).  `warp` is the log-amplitude of the speed variations, `noise` the white noise
    standard deviation, `nuisance` the scale of the ``d - 2`` unshared smooth channels (the curve
    has a radius of about 1).
    """
    if curve not in CURVES:
        raise ValueError(f"unknown curve {curve!r}; expected one of {', '.join(CURVES)}")
    if len(dims) < 2:
        raise ValueError(f"need at least two sequences, got dims={dims}")
    if any(d < 2 for d in dims):
        raise ValueError(f"every dimension must be >= 2 (the latent curve is 2-D), got {dims}")
    rng = np.random.default_rng(seed)
    if lengths is None:
        lengths = tuple(int(n) for n in rng.integers(80, 161, size=len(dims)))
    if len(lengths) != len(dims):
        raise ValueError(f"{len(lengths)} lengths for {len(dims)} sequences")
    if any(n < 2 for n in lengths):
        raise ValueError(f"every sequence needs at least 2 frames, got {lengths}")
    if warp < 0 or noise < 0 or nuisance < 0:
        raise ValueError("warp, noise and nuisance must be >= 0")

    sequences, warps, latents, maps = [], [], [], []
    for d, n in zip(dims, lengths):
        w = random_warp(n, warp, rng)
        z = latent_curve(curve, w)
        source = np.concatenate([z, nuisance * _smooth_signals(n, d - 2, rng)], axis=1)
        mix = _random_mixing(d, rng)
        x = source @ mix.T
        if nonlinear:
            x = np.tanh(1.5 * x)
        x = x + noise * rng.normal(size=x.shape)
        sequences.append(x)
        warps.append(w)
        latents.append(z)
        maps.append(mix)
    return SyntheticSet(sequences=sequences, warps=warps, latents=latents, maps=maps, curve=curve)


def true_path(wa: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """The warping path closest to the correspondence of two strictly increasing warps.

    Walks from ``(0, 0)`` to the last frames, stepping at each move to whichever of the three
    neighbours ``(i+1, j)``, ``(i, j+1)``, ``(i+1, j+1)`` shows the closest latent times.
    """
    wa = np.asarray(wa, dtype=np.float64)
    wb = np.asarray(wb, dtype=np.float64)
    n, m = len(wa), len(wb)
    i = j = 0
    out = [(0, 0)]
    while i < n - 1 or j < m - 1:
        if i == n - 1:
            j += 1
        elif j == m - 1:
            i += 1
        else:
            options = ((i + 1, j + 1), (i + 1, j), (i, j + 1))
            i, j = min(options, key=lambda ij: abs(wa[ij[0]] - wb[ij[1]]))
        out.append((i, j))
    return np.asarray(out, dtype=np.int64)


def _mean_partner(first: np.ndarray, second: np.ndarray, n: int) -> np.ndarray:
    total = np.bincount(first, weights=second.astype(np.float64), minlength=n)
    count = np.bincount(first, minlength=n)
    if np.any(count[:n] == 0):
        missing = int(np.flatnonzero(count[:n] == 0)[0])
        raise ValueError(f"the path skips frame {missing}: a warping path must cover every frame")
    return total[:n] / count[:n]


def path_error(path: np.ndarray, true_ab: np.ndarray, true_ba: np.ndarray) -> float:
    """Symmetric mean frame distance between `path` and the true correspondence.

    `true_ab[i]` is the true (fractional) frame of the second sequence for frame ``i`` of the
    first, `true_ba` the converse.  See the module docstring for the definition.
    """
    path = np.asarray(path)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"a path is a non-empty (k, 2) array of index pairs, got shape {path.shape}")
    n, m = len(true_ab), len(true_ba)
    i, j = path[:, 0].astype(np.int64), path[:, 1].astype(np.int64)
    if i.min() < 0 or j.min() < 0 or i.max() >= n or j.max() >= m:
        raise ValueError(f"path indices out of range for sequences of {n} and {m} frames")
    j_hat = _mean_partner(i, j, n)
    i_hat = _mean_partner(j, i, m)
    return 0.5 * float(np.mean(np.abs(j_hat - true_ab)) + np.mean(np.abs(i_hat - true_ba)))
