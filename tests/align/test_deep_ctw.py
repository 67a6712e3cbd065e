"""Deep CTW: the DCCA loss against the textbook canonical correlations, gradcheck, alignment gains, determinism."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from studio.align.ctw import path_objective, uniform_path
from studio.align.deep_ctw import DeepCTWResult, Encoder, dcca_loss, deep_ctw, deep_ctw_task
from studio.align.synthetic import make_synthetic
from studio.tasks.base import Cancelled, Progress, run

FAST = dict(n_components=2, epochs=20, max_iter=4)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny problems: torch's spinning OpenMP workers only slow them on a loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def brute_correlations(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    A = A - A.mean(0)
    B = B - B.mean(0)
    M = np.linalg.solve(A.T @ A, A.T @ B) @ np.linalg.solve(B.T @ B, B.T @ A)
    return np.sqrt(np.sort(np.linalg.eigvals(M).real)[::-1])


def test_dcca_loss_is_minus_the_sum_of_canonical_correlations():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(400, 2))
    A = shared @ rng.normal(size=(2, 3)) + 0.4 * rng.normal(size=(400, 3))
    B = shared @ rng.normal(size=(2, 3)) + 0.4 * rng.normal(size=(400, 3))
    loss = dcca_loss(torch.as_tensor(A), torch.as_tensor(B), reg=1e-10)
    assert -float(loss) == pytest.approx(brute_correlations(A, B).sum(), rel=1e-6)
    # regularisation lowers the correlations; invariance to invertible linear maps
    assert -float(dcca_loss(torch.as_tensor(A), torch.as_tensor(B), reg=1.0)) < -float(loss)
    M = torch.as_tensor(rng.normal(size=(3, 3)))
    moved = dcca_loss(torch.as_tensor(A) @ M + 5.0, torch.as_tensor(B), reg=1e-10)
    assert float(moved) == pytest.approx(float(loss), rel=1e-6)


def test_dcca_loss_gradient():
    rng = np.random.default_rng(1)
    A = torch.tensor(rng.normal(size=(12, 3)), requires_grad=True)
    B = torch.tensor(rng.normal(size=(12, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: dcca_loss(a, b, reg=1e-2), (A, B))


def test_encoder_starts_linear_when_its_branch_is_off():
    torch.manual_seed(0)
    enc = Encoder(3, 2, hidden=8).double()
    with torch.no_grad():
        enc.out.weight.zero_()
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(enc(x), enc.linear(x))
    assert float(enc.penalty().detach()) > 0


def test_deep_ctw_improves_on_its_initial_alignment():
    """Seeds 0-2, 2-D curves, from uniform time scaling (the papers' start); measured 4.30 -> 2.22 frames."""
    before, after = [], []
    for seed in range(3):
        data = make_synthetic((2, 2), seed=seed)
        X, Y = data.sequences
        r = deep_ctw(X, Y, seed=seed, **FAST)
        assert r.n_iter >= 1 and r.cost == min(r.objective)
        assert r.losses[-1] < r.losses[0]
        before.append(data.path_error(uniform_path(len(X), len(Y))))
        after.append(data.path_error(r.path))
    assert np.mean(after) < 0.7 * np.mean(before)


def test_deep_ctw_result_is_consistent():
    data = make_synthetic((3, 5), seed=4)
    X, Y = data.sequences
    r = deep_ctw(X, Y, **FAST)
    assert isinstance(r, DeepCTWResult)
    P, Q = r.transform_x(X), r.transform_y(Y)
    assert P.shape == (len(X), 2) and Q.shape == (len(Y), 2)
    assert path_objective(P, Q, r.path) / 2 == pytest.approx(r.cost, rel=1e-6)
    assert len(r.losses) == 20 * (len(r.objective))


def test_deep_ctw_is_deterministic_and_leaves_the_global_generator_alone():
    X, Y = make_synthetic((2, 4), seed=2).sequences
    state = torch.random.get_rng_state()
    a = deep_ctw(X, Y, seed=7, **FAST)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = deep_ctw(X, Y, seed=7, **FAST)
    np.testing.assert_array_equal(a.path, b.path)
    assert a.losses == b.losses
    c = deep_ctw(X, Y, seed=8, **FAST)
    assert c.losses != a.losses


def test_deep_ctw_task_progress_and_cancel():
    X, Y = make_synthetic((3, 5), seed=0).sequences
    seen: list[Progress] = []
    r = run(deep_ctw_task(X, Y, **FAST), on_progress=seen.append)
    assert len(seen) == len(r.losses)
    assert all(0 < p.fraction <= 1 for p in seen)
    stop = threading.Event()

    def stop_in_round_two(p: Progress) -> None:
        if "round 2" in p.message:
            stop.set()

    with pytest.raises(Cancelled):
        run(deep_ctw_task(X, Y, **FAST), on_progress=stop_in_round_two, cancel=stop)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_deep_ctw_on_cuda_matches_cpu():
    X, Y = make_synthetic((3, 5), seed=1).sequences
    cpu = deep_ctw(X, Y, device="cpu", **FAST)
    gpu = deep_ctw(X, Y, device="cuda", **FAST)
    assert next(gpu.encoder_x.parameters()).device.type == "cuda"
    np.testing.assert_allclose(gpu.losses, cpu.losses, rtol=1e-6)
    np.testing.assert_array_equal(gpu.path, cpu.path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=0), "epochs"),
        (dict(hidden=0), "hidden"),
        (dict(lr=0.0), "lr"),
        (dict(n_components=4), "n_components"),
        (dict(init="linear"), "init"),
    ],
)
def test_deep_ctw_bad_arguments(kwargs, message):
    X, Y = make_synthetic((3, 5), seed=0).sequences
    with pytest.raises(ValueError, match=message):
        deep_ctw(X, Y, **kwargs)


def test_deep_ctw_bad_sequences():
    good = np.ones((10, 3))
    with pytest.raises(ValueError, match="empty"):
        deep_ctw(np.zeros((0, 3)), good)
    with pytest.raises(ValueError, match="NaN"):
        deep_ctw(good, np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="frames"):
        deep_ctw(good[:2], good)
    with pytest.raises(ValueError, match="at least 2 paired rows"):
        dcca_loss(torch.zeros(1, 2), torch.zeros(1, 2))
