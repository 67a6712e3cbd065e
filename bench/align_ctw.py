"""Benchmark: the canonical time warping family on the CTW paper's synthetic data (known warps).

    python bench/align_ctw.py [--seeds 10] [--no-deep]

Data: `studio.align.synthetic.make_synthetic` - a 2-D spiral (Zhou & De la Torre 2009, sec. 5.1),
randomly time-warped per sequence (warp 0.3: local speed between about 0.55x and 1.8x), each
sequence 80-160 frames, with ``d - 2`` smooth nuisance channels of the curve's scale, mixed by a
random well-conditioned ``d x d`` map per sequence, white noise 0.05.  "nonlinear" applies tanh
after the mixing.  Seeds 0..N-1; each scenario's seeds draw new curves' warps, lengths and maps.

Error: mean frame distance between the estimated path and the true correspondence, symmetric
(`studio.align.synthetic.path_error`; a perfect path scores ~0.2).  Table cells are mean ± std
over the seeds; for three sequences, each seed's figure is the mean over the three pairs.

Methods (all CCA-based ones keep b = 2 canonical components, the latent dimension, except
"CTW b=auto", which chooses b by 90 % of the squared-correlation energy):
  uniform      uniform time scaling (the CTW initialisation) - no alignment at all
  DTW raw      studio.align.dtw.dtw(X, Y) on the raw features (only where dimensions match)
  DTW PCA      DTW on each sequence's projection onto its first min(d) principal components
  tslearn CTW  tslearn.metrics.ctw_path(X, Y, n_components=2): stops after one CCA (issue #728)
  CTW          studio.align.ctw.ctw(X, Y, n_components=2)
  GCTW         studio.align.gctw.gctw([X, Y, ...], n_components=2) (equals CTW for two sequences)
  deep CTW     studio.align.deep_ctw.deep_ctw(X, Y, n_components=2, seed=seed) (CPU, float64)
Runtime: mean seconds per alignment on this machine (one thread for torch), after warm-up calls
(numba compilation and torch's lazy imports are not counted).
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from studio.align.ctw import ctw, pca, uniform_path
from studio.align.deep_ctw import deep_ctw
from studio.align.dtw import dtw
from studio.align.gctw import gctw
from studio.align.synthetic import SyntheticSet, make_synthetic

SCENARIOS = [
    ("2-D curve, dims 2/2", dict(dims=(2, 2))),
    ("dims 4/4 (+2 nuisance)", dict(dims=(4, 4))),
    ("dims 3/5 (+1/+3 nuisance)", dict(dims=(3, 5))),
    ("dims 3/5, nonlinear", dict(dims=(3, 5), nonlinear=True)),
    ("3 sequences, dims 3/4/5", dict(dims=(3, 4, 5))),
]


def tslearn_ctw(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    from tslearn.metrics import ctw_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path, _, _ = ctw_path(X, Y, n_components=2)
    return np.asarray(path)


def pairwise(method: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[[SyntheticSet], float]:
    """Error of a two-sequence method, averaged over all pairs of the set."""

    def score(data: SyntheticSet) -> float:
        pairs = itertools.combinations(range(len(data.sequences)), 2)
        return float(
            np.mean([data.path_error(method(data.sequences[a], data.sequences[b]), a, b) for a, b in pairs])
        )

    return score


def joint(data: SyntheticSet) -> float:
    result = gctw(data.sequences, n_components=2)
    pairs = itertools.combinations(range(len(data.sequences)), 2)
    return float(np.mean([data.path_error(result.pair_path(a, b), a, b) for a, b in pairs]))


def methods(seed: int, deep: bool) -> dict[str, Callable[[SyntheticSet], float] | None]:
    def dtw_raw(data: SyntheticSet) -> float | None:
        if len({X.shape[1] for X in data.sequences}) > 1:
            return None
        return pairwise(lambda X, Y: dtw(X, Y).path)(data)

    def dtw_pca(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        k = min(X.shape[1], Y.shape[1])
        return dtw(pca(X, k), pca(Y, k)).path

    table: dict[str, Callable[[SyntheticSet], float] | None] = {
        "uniform": pairwise(lambda X, Y: uniform_path(len(X), len(Y))),
        "DTW raw": dtw_raw,
        "DTW PCA": pairwise(dtw_pca),
        "tslearn CTW": pairwise(tslearn_ctw),
        "CTW b=auto": pairwise(lambda X, Y: ctw(X, Y).path),
        "CTW": pairwise(lambda X, Y: ctw(X, Y, n_components=2).path),
        "GCTW": joint,
        "deep CTW": pairwise(lambda X, Y: deep_ctw(X, Y, n_components=2, seed=seed).path) if deep else None,
    }
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--no-deep", action="store_true", help="skip deep CTW (the slow column)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dtw(np.zeros((5, 1)), np.zeros((5, 1)))  # numba warm-up, not timed
    warm = make_synthetic((2, 2), lengths=(20, 20))
    tslearn_ctw(*warm.sequences)  # tslearn compiles its numba kernels on first use (~8 s), not timed
    deep_ctw(*warm.sequences, epochs=1, max_iter=1)  # torch.optim's first step imports torch._dynamo

    names = list(methods(0, not args.no_deep))
    errors: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for title, kwargs in SCENARIOS:
        for seed in range(args.seeds):
            data = make_synthetic(seed=seed, **kwargs)
            for name, score in methods(seed, not args.no_deep).items():
                if score is None:
                    continue
                t0 = time.perf_counter()
                err = score(data)
                elapsed = time.perf_counter() - t0
                if err is None:
                    continue
                errors.setdefault((title, name), []).append(err)
                n_pairs = len(data.sequences) * (len(data.sequences) - 1) // 2
                seconds.setdefault(name, []).append(elapsed / (1 if name == "GCTW" else n_pairs))

    print(f"Mean path error in frames (mean ± std over {args.seeds} seeds; lower is better)\n")
    print("| scenario | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for title, _ in SCENARIOS:
        cells = []
        for name in names:
            v = errors.get((title, name))
            cells.append("—" if not v else f"{np.mean(v):.2f} ± {np.std(v):.2f}")
        print(f"| {title} | " + " | ".join(cells) + " |")
    print("\nMean seconds per alignment (GCTW: per joint alignment)\n")
    print("| " + " | ".join(names) + " |")
    print("|" + "---:|" * len(names))
    print("| " + " | ".join(f"{np.mean(seconds[n]):.3f}" if n in seconds else "—" for n in names) + " |")


if __name__ == "__main__":
    main()
