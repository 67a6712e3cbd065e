"""The torch wavefront kernel against the numba kernel: identical in float64, close in float32, batched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.align.dtw import STEP_PATTERNS, dtw, dtw_batch, dtw_task
from studio.tasks.base import Cancelled, run


def both(X, Y=None, **kw):
    return dtw(X, Y, backend="numba", **kw), dtw(X, Y, backend="torch", **kw)


@settings(max_examples=50, deadline=None)
@given(
    name=st.sampled_from(sorted(STEP_PATTERNS)),
    n=st.integers(1, 14),
    m=st.integers(1, 14),
    constraint=st.sampled_from(["none", "band", "itakura", "mask"]),
    metric=st.sampled_from(["sqeuclidean", "euclidean", "manhattan", "cosine"]),
    ob=st.booleans(),
    oe=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_torch_equals_numba_exactly_in_float64(name, n, m, constraint, metric, ob, oe, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
    kw = dict(step=name, metric=metric, open_begin=ob, open_end=oe)
    if constraint == "band":
        kw["band"] = int(rng.integers(0, 4))
    elif constraint == "itakura":
        kw["window"] = "itakura"
    elif constraint == "mask":
        mask = rng.random((n, m)) < 0.85
        mask[np.arange(n), rng.integers(0, m, n)] = True
        mask[0, 0] = mask[-1, -1] = True
        kw["window"] = mask
    try:
        a = dtw(X, Y, backend="numba", **kw)
    except ValueError as exc:
        with pytest.raises(ValueError, match="no warping path"):
            dtw(X, Y, backend="torch", **kw)
        assert "no warping path" in str(exc)
        return
    b = dtw(X, Y, backend="torch", **kw)
    assert b.backend == "torch" and a.backend == "numba"
    assert a.cost == b.cost
    assert np.array_equal(a.path, b.path)
    assert a.normalized_cost == b.normalized_cost


def test_torch_cost_matrix_return_matrix_and_anchors():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((60, 8)), rng.standard_normal((45, 8))
    a, b = both(X, Y, band=10, return_matrix=True)
    assert np.array_equal(a.accumulated, b.accumulated)
    C = rng.random((30, 50))
    C[4, 4:9] = np.inf  # forbidden cells in a cost matrix
    a, b = both(C, step="symmetricP05")
    assert a.cost == b.cost and np.array_equal(a.path, b.path)
    exact = dtw(X, Y)
    anchors = exact.path[[10, 40]]
    a, b = both(X, Y, anchors=anchors)
    assert a.cost == b.cost == exact.cost and np.array_equal(b.path, exact.path)


def test_torch_tensor_inputs_and_dtypes():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((70, 20)), rng.standard_normal((90, 20))
    ref = dtw(X, Y, backend="numba")
    t64 = dtw(torch.from_numpy(X), torch.from_numpy(Y), backend="torch")
    assert t64.cost == ref.cost and np.array_equal(t64.path, ref.path)
    t32 = dtw(torch.from_numpy(X).float(), torch.from_numpy(Y).float(), backend="torch")
    assert t32.cost == pytest.approx(ref.cost, rel=1e-5)
    # the same path except where float32 rounding flips a near tie: nearly all cells shared
    shared = len({tuple(c) for c in t32.path} & {tuple(c) for c in ref.path})
    assert shared >= 0.95 * len(ref.path)
    assert dtw(X, Y, backend="torch", dtype="float32").cost == pytest.approx(ref.cost, rel=1e-5)
    # numba takes CPU tensors too (as float64)
    assert dtw(torch.from_numpy(X), torch.from_numpy(Y)).cost == ref.cost
    with pytest.raises(ValueError, match="float32 or float64"):
        dtw(X, Y, backend="torch", dtype=torch.float16)
    # tensors that require grad (features from a model) and complex tensors
    Xg = torch.from_numpy(X).requires_grad_()
    assert dtw(Xg, torch.from_numpy(Y), backend="torch").cost == ref.cost
    with pytest.raises(ValueError, match="X must be real"):
        dtw(torch.from_numpy(X) * 1j, torch.from_numpy(Y) * 1j, backend="torch")
    with pytest.raises(ValueError, match="cost matrix must be real"):
        dtw(torch.ones(3, 4, dtype=torch.complex64), backend="torch")


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(2)
    B, n, m = 5, 33, 41
    X, Y = rng.standard_normal((B, n, 6)), rng.standard_normal((B, m, 6))
    batched = dtw_batch(torch.from_numpy(X), torch.from_numpy(Y), backend="torch", band=6, step="symmetric2")
    looped = dtw_batch(X, Y, backend="numba", band=6, step="symmetric2")
    assert len(batched) == len(looped) == B
    for b, (r1, r2) in enumerate(zip(batched, looped)):
        single = dtw(X[b], Y[b], band=6, step="symmetric2")
        assert r1.cost == r2.cost == single.cost
        assert np.array_equal(r1.path, single.path) and np.array_equal(r2.path, single.path)
    C = rng.random((3, 12, 9))
    for r, c in zip(dtw_batch(C, backend="torch", subsequence=True), C):
        assert r.cost == dtw(c, subsequence=True).cost
    with pytest.raises(ValueError, match="same batch size"):
        dtw_batch(X, Y[:2])


def test_auto_backend_and_task_cancel():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((400, 4)), rng.standard_normal((400, 4))
    assert dtw(X, Y).backend == "numba"
    assert dtw(torch.from_numpy(X), torch.from_numpy(Y)).backend == "numba"  # CPU tensors: numba
    for backend in ("numba", "torch"):
        seen = []
        with pytest.raises(Cancelled):
            big = np.random.default_rng(4).standard_normal((3000, 4))
            run(
                dtw_task(big, big[::-1].copy(), backend=backend),
                on_progress=seen.append,
                cancel=lambda seen=seen: len(seen) >= 1,
            )
        assert seen and 0 < seen[0].fraction < 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_equals_cpu():  # pragma: no cover - runs where a GPU is present
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((300, 20)), rng.standard_normal((280, 20))
    ref = dtw(X, Y, band=0.2)
    gpu = dtw(torch.from_numpy(X).cuda(), torch.from_numpy(Y).cuda(), band=0.2)
    assert gpu.backend == "torch" and gpu.cost == ref.cost and np.array_equal(gpu.path, ref.path)
