"""Multiscale DTW: exact where the optimal path stays in the projected band, linear memory, auto switch."""

from __future__ import annotations

import numpy as np
import pytest

import studio.align.dtw as dtw_module
from studio.align.dtw import dtw
from studio.align.multiscale import downsample, multiscale_dtw, multiscale_dtw_task, project_path
from studio.tasks.base import Cancelled, run


def warped_pair(n, m, d=12, seed=0, noise=0.2):
    """Smooth features X and a smoothly time-warped, noisy copy Y (a realistic synchronisation task)."""
    rng = np.random.default_rng(seed)
    X = np.cumsum(rng.standard_normal((n, d)), axis=0) / 4 + rng.standard_normal((n, d))
    rates = np.exp(rng.normal(0, 0.3, max(4, n // 100)))
    rates = np.interp(np.linspace(0, len(rates) - 1, m), np.arange(len(rates)), rates)
    pos = np.cumsum(rates)
    pos = (pos - pos[0]) / (pos[-1] - pos[0]) * (n - 1)
    Y = np.stack([np.interp(pos, np.arange(n), X[:, k]) for k in range(d)], 1)
    return X, Y + noise * rng.standard_normal(Y.shape)


@pytest.mark.parametrize("seed", range(4))
def test_equals_exact_dtw_on_warped_sequences(seed):
    X, Y = warped_pair(1500 + 200 * seed, 1700 - 150 * seed, seed=seed)
    exact = dtw(X, Y, method="exact")
    ms = multiscale_dtw(X, Y, radius=16, min_size=100)
    assert ms.method == "multiscale"
    assert ms.cost == exact.cost and np.array_equal(ms.path, ms.path)
    assert np.array_equal(ms.path, exact.path)
    # a far smaller window than the full matrix
    assert ms.window.area < 0.1 * len(X) * len(Y)


def test_never_below_exact_and_levels_zero_is_exact():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((700, 5)), rng.standard_normal((650, 5))  # unrelated: an erratic path
    exact = dtw(X, Y)
    ms = multiscale_dtw(X, Y, radius=2, min_size=64)
    assert ms.cost >= exact.cost
    p = ms.path
    assert tuple(p[0]) == (0, 0) and tuple(p[-1]) == (699, 649) and np.all(np.diff(p, axis=0) >= 0)
    zero = multiscale_dtw(X, Y, levels=0)
    assert zero.cost == exact.cost and np.array_equal(zero.path, exact.path)


def test_memory_is_linear_in_length():
    areas = []
    for n in (2000, 8000):
        X, Y = warped_pair(n, n, d=4, seed=n)
        res = multiscale_dtw(X, Y, radius=8, min_size=256)
        areas.append(res.window.area)
        assert res.storage_nbytes < 64 * 2 * n * 8  # O(n): nowhere near n·m
    assert areas[1] / areas[0] < 4 * 1.3  # 4x longer, ~4x the cells (n·m would be 16x)


def test_open_ends_steps_and_torch_backend():
    X, Y = warped_pair(600, 900, seed=3)
    for kw in ({"subsequence": True}, {"open_end": True}, {"step": "symmetric2"}, {"band": 0.3}):
        exact = dtw(X, Y, method="exact", **kw)
        ms = multiscale_dtw(X, Y, min_size=100, **kw)
        assert ms.cost == exact.cost and np.array_equal(ms.path, exact.path)
    a = multiscale_dtw(X[:300], Y[:400], min_size=64, radius=4, backend="numba")
    b = multiscale_dtw(X[:300], Y[:400], min_size=64, radius=4, backend="torch")
    assert a.cost == b.cost and np.array_equal(a.path, b.path)


@pytest.mark.parametrize("band", [1, 2, 6])
def test_band_in_frames_stays_feasible_at_every_level(band):
    # a band of a few frames is under one coarse frame: it must not be read as a fraction there,
    # and the projected path must be kept inside the band without leaving empty rows
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((304, 2)), rng.standard_normal((380, 2))
    exact = dtw(X, Y, band=band, method="exact")
    for radius in (0, 2):
        ms = multiscale_dtw(X, Y, band=band, min_size=8, radius=radius)
        assert ms.cost >= exact.cost
        assert all(exact.window.contains(int(i), int(j)) for i, j in ms.path)


def test_auto_method_switches_above_the_threshold(monkeypatch):
    X, Y = warped_pair(800, 800, seed=4)
    assert dtw(X, Y).method == "exact"
    monkeypatch.setattr(dtw_module, "EXACT_MAX_CELLS", 10_000)
    res = dtw(X, Y)
    assert res.method == "multiscale"
    assert dtw(X, Y, method="exact").method == "exact"
    assert dtw(X, Y, anchors=[(400, 400)]).method == "exact"  # custom constraints stay exact
    assert dtw(X, Y, method="multiscale").method == "multiscale"
    with pytest.raises(ValueError, match="multiscale DTW takes"):
        dtw(np.ones((5, 5)), method="multiscale")


def test_downsample_and_projection():
    X = np.arange(10.0)[:, None]
    assert np.allclose(downsample(X, 4)[:, 0], [1.5, 5.5, 8.5])
    coarse = np.array([[0, 0], [1, 1], [1, 2], [2, 3]])
    w = project_path(coarse, 6, 8, 2, 1)
    # coarse row r covers fine rows 2r, 2r+1 and the columns of its path cells; then one frame more
    # in each direction (rows and columns)
    assert list(w.lo) == [0, 0, 0, 1, 1, 5] and list(w.hi) == [3, 7, 7, 8, 8, 8]


def test_task_progress_cancel_and_errors():
    X, Y = warped_pair(3000, 3000, d=3, seed=5)
    seen = []
    res = run(multiscale_dtw_task(X, Y, min_size=200), on_progress=seen.append)
    fr = [p.fraction for p in seen]
    assert fr == sorted(fr) and fr[-1] == pytest.approx(1.0) and len(fr) > 3
    assert res.cost == multiscale_dtw(X, Y, min_size=200).cost
    later = []
    with pytest.raises(Cancelled):
        run(multiscale_dtw_task(X, Y, min_size=200), on_progress=later.append, cancel=lambda: len(later) >= 2)
    assert len(later) == 2
    for kw, msg in [({"radius": -1}, "radius"), ({"factor": 1}, "factor"), ({"min_size": 1}, "min_size"),
                    ({"levels": -2}, "levels")]:  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            multiscale_dtw(X, Y, **kw)
    with pytest.raises(ValueError, match="not a cost matrix"):
        multiscale_dtw(np.ones((4, 4)), None)
    with pytest.raises(ValueError, match="NaN"):
        multiscale_dtw(np.full((40, 3), np.nan), Y[:40])
