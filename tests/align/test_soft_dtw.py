"""Soft-DTW: values and gradients against brute-force recursions, exact DTW, tslearn and gradcheck."""

from __future__ import annotations

import math
import re

import librosa
import numpy as np
import pytest
import torch

from studio.align.soft_dtw import (
    SoftDTWLoss,
    band_mask,
    pairwise_cost,
    soft_alignment,
    soft_alignment_from_cost,
    soft_dtw,
    soft_dtw_divergence,
    soft_dtw_from_cost,
)

BACKENDS = ["torch", "numba"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These problems are tiny: torch's spinning OpenMP workers only slow them (10x on a loaded machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def brute_soft_dtw(cost: np.ndarray, gamma: float, mask: np.ndarray | None = None) -> float:
    """The recursion of Cuturi & Blondel (2017), cell by cell in plain Python floats."""
    n, m = cost.shape
    r = [[math.inf] * (m + 1) for _ in range(n + 1)]
    r[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if mask is not None and not mask[i - 1, j - 1]:
                continue
            prev = [r[i - 1][j - 1], r[i - 1][j], r[i][j - 1]]
            low = min(prev)
            if low == math.inf:
                continue
            soft = low - gamma * math.log(sum(math.exp(-(p - low) / gamma) for p in prev))
            r[i][j] = float(cost[i - 1, j - 1]) + soft
    return r[n][m]


def exact_dtw(cost: np.ndarray, mask: np.ndarray | None = None) -> float:
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if mask is None or mask[i - 1, j - 1]:
                acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return float(acc[n, m])


def naive_torch_soft_dtw(cost: torch.Tensor, gamma: float, mask: np.ndarray | None = None) -> torch.Tensor:
    """Autograd through a Python loop: the gradient reference for the custom backward."""
    n, m = cost.shape
    inf = cost.new_tensor(math.inf)
    r = [[inf] * (m + 1) for _ in range(n + 1)]
    r[0][0] = cost.new_tensor(0.0)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if mask is not None and not mask[i - 1, j - 1]:
                continue
            prev = torch.stack([r[i - 1][j - 1], r[i - 1][j], r[i][j - 1]])
            r[i][j] = cost[i - 1, j - 1] - gamma * torch.logsumexp(-prev / gamma, dim=0)
    return r[n][m]


def sqeuclidean(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


# ------------------------------------------------------------------------------------------ values


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 6), (5, 1), (6, 6), (7, 4), (3, 9)])
@pytest.mark.parametrize("gamma", [0.1, 1.0, 10.0])
def test_value_matches_brute_force(backend, n, m, gamma):
    g = rng(n * 100 + m)
    x, y = g.normal(size=(n, 3)), g.normal(size=(m, 3))
    cost = sqeuclidean(x, y)
    got = soft_dtw(torch.from_numpy(x), torch.from_numpy(y), gamma, backend=backend)
    assert got.shape == ()
    assert got.item() == pytest.approx(brute_soft_dtw(cost, gamma), rel=1e-12, abs=1e-12)
    from_cost = soft_dtw_from_cost(torch.from_numpy(cost), gamma, backend=backend)
    assert from_cost.item() == pytest.approx(got.item(), rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("n", "m", "band"), [(8, 8, 1), (8, 8, 0), (9, 6, 2), (5, 12, 3), (10, 10, 0.2)])
def test_banded_value_matches_brute_force(backend, n, m, band):
    cost = rng(7).random((n, m)) * 3
    mask = band_mask(n, m, band)
    got = soft_dtw_from_cost(torch.from_numpy(cost), 0.5, band=band, backend=backend).item()
    want = brute_soft_dtw(cost, 0.5, mask)
    assert math.isfinite(want)
    assert got == pytest.approx(want, rel=1e-12)
    assert got > soft_dtw_from_cost(torch.from_numpy(cost), 0.5, backend=backend).item()


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_gamma_tends_to_exact_dtw(backend):
    g = rng(3)
    x, y = g.normal(size=(30, 2)), g.normal(size=(22, 2))
    cost = sqeuclidean(x, y)
    acc, path = librosa.sequence.dtw(C=cost)
    exact = float(acc[-1, -1])
    assert exact == pytest.approx(exact_dtw(cost))
    value = soft_dtw_from_cost(torch.from_numpy(cost), 1e-3, backend=backend).item()
    # min^γ <= min, and exceeds it by at most γ log 3 per step of the path
    assert value <= exact + 1e-12
    assert value == pytest.approx(exact, abs=1e-3 * math.log(3) * (30 + 22))
    # ... and the expected alignment becomes the optimal path
    e = soft_alignment_from_cost(torch.from_numpy(cost), 1e-3, backend=backend).numpy()
    hard = np.zeros_like(cost)
    hard[path[:, 0], path[:, 1]] = 1.0
    np.testing.assert_allclose(e, hard, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_gamma_banded_tends_to_banded_dtw(backend):
    cost = rng(4).random((20, 14))
    mask = band_mask(20, 14, 2)
    value = soft_dtw_from_cost(torch.from_numpy(cost), 1e-4, band=2, backend=backend).item()
    assert value == pytest.approx(exact_dtw(cost, mask), abs=1e-4 * math.log(3) * 34)
    assert value > exact_dtw(cost) + 1e-3  # this band really excludes the unconstrained best path


def test_agrees_with_tslearn():
    """Values and expected alignments against tslearn's numba SoftDTW (Cuturi & Blondel's code)."""
    from tslearn.metrics import SoftDTW

    g = rng(5)
    for n, m, gamma in [(12, 12, 1.0), (15, 9, 0.1), (6, 20, 5.0), (1, 4, 1.0)]:
        x, y = g.normal(size=(n, 4)), g.normal(size=(m, 4))
        peer = SoftDTW(sqeuclidean(x, y), gamma=gamma)
        want = peer.compute()
        want_e = peer.grad()
        for backend in BACKENDS:
            got = soft_dtw(torch.from_numpy(x), torch.from_numpy(y), gamma, backend=backend).item()
            assert got == pytest.approx(want, rel=1e-6)
            e = soft_alignment(torch.from_numpy(x), torch.from_numpy(y), gamma, backend=backend)
            np.testing.assert_allclose(e.numpy(), want_e, rtol=1e-6, atol=1e-12)


@pytest.mark.slow  # tslearn compiles its numba kernels on every run (~7 s)
def test_band_agrees_with_tslearn_soft_dtw():
    from tslearn.metrics import soft_dtw as ts_soft_dtw

    g = rng(6)
    x, y = g.normal(size=(16, 2)), g.normal(size=(16, 2))  # equal lengths: band = Sakoe-Chiba radius
    unbanded = soft_dtw(torch.from_numpy(x), torch.from_numpy(y), 0.5).item()
    for radius in (0, 1, 3):
        want = ts_soft_dtw(x, y, gamma=0.5, global_constraint="sakoe_chiba", sakoe_chiba_radius=radius)
        for backend in BACKENDS:
            got = soft_dtw(torch.from_numpy(x), torch.from_numpy(y), 0.5, band=radius, backend=backend).item()
            assert got == pytest.approx(want, rel=1e-6)
            assert got >= unbanded  # a band only removes paths
            if radius == 0:
                assert got > unbanded + 1  # ... and the diagonal alone is a much worse one


@pytest.mark.parametrize(("n", "m", "band"), [(40, 40, 5), (60, 17, 4), (13, 50, 0.3), (33, 29, None)])
def test_backends_agree(n, m, band):
    g = torch.Generator().manual_seed(n + m)
    cost = torch.rand(5, n, m, generator=g, dtype=torch.float64) * 4
    cost[2, n // 2, :] = math.inf  # a forbidden row cut: no path, value inf, for this item only
    values = {b: soft_dtw_from_cost(cost, 0.7, band=band, backend=b) for b in BACKENDS}
    torch.testing.assert_close(values["torch"], values["numba"], rtol=1e-12, atol=0)
    assert math.isinf(values["torch"][2]) and torch.isfinite(values["torch"][[0, 1, 3, 4]]).all()
    ok = [0, 1, 3, 4]
    e = {b: soft_alignment_from_cost(cost[ok], 0.7, band=band, backend=b) for b in BACKENDS}
    torch.testing.assert_close(e["torch"], e["numba"], rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("shape", "band"), [((3, 5, 4), None), ((2, 6, 6), 1), ((3, 7, 4), 2), ((1, 1, 3), None)]
)
def test_gradcheck_cost(backend, shape, band):
    g = torch.Generator().manual_seed(11)
    cost = (torch.rand(*shape, generator=g, dtype=torch.float64) * 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda d: soft_dtw_from_cost(d, 0.6, band=band, backend=backend), (cost,))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("band", [None, 2])
def test_gradcheck_sequences(backend, band):
    g = torch.Generator().manual_seed(12)
    x = torch.randn(2, 6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    for normalize in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, b, normalize=normalize: soft_dtw(
                a, b, 0.8, band=band, normalize=normalize, backend=backend
            ),
            (x, y),
        )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("band", [None, 1.5])
def test_gradient_matches_autograd_through_naive_loop(backend, band):
    g = torch.Generator().manual_seed(13)
    x = torch.randn(7, 2, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(9, 2, generator=g, dtype=torch.float64, requires_grad=True)
    mask = None if band is None else band_mask(7, 9, band)
    naive = naive_torch_soft_dtw(pairwise_cost(x[None], y[None])[0], 0.4, mask)
    gx, gy = torch.autograd.grad(naive, (x, y))
    value = soft_dtw(x, y, 0.4, band=band, backend=backend)
    assert value.item() == pytest.approx(naive.item(), rel=1e-12)
    hx, hy = torch.autograd.grad(value, (x, y))
    torch.testing.assert_close(hx, gx, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(hy, gy, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_soft_alignment_is_gradient_and_a_valid_expectation(backend):
    g = torch.Generator().manual_seed(14)
    x = torch.randn(3, 12, 2, generator=g, dtype=torch.float64)
    y = torch.randn(3, 9, 2, generator=g, dtype=torch.float64)
    cost = pairwise_cost(x, y).requires_grad_()
    soft_dtw_from_cost(cost, 0.5, band=4, backend=backend).sum().backward()
    e = soft_alignment(x, y, 0.5, band=4, backend=backend)
    torch.testing.assert_close(e, cost.grad, rtol=1e-12, atol=1e-14)
    assert e.shape == (3, 12, 9)
    assert torch.all(e >= 0) and torch.all(e <= 1 + 1e-12)
    assert torch.allclose(e[:, 0, 0], torch.ones(3, dtype=e.dtype))
    assert torch.allclose(e[:, -1, -1], torch.ones(3, dtype=e.dtype))
    # every alignment visits every row and every column at least once
    assert torch.all(e.sum(2) >= 1 - 1e-9) and torch.all(e.sum(1) >= 1 - 1e-9)
    outside = ~torch.from_numpy(band_mask(12, 9, 4))
    assert torch.all(e[:, outside] == 0)
    assert soft_alignment(x[0], y[0], 0.5, band=4, backend=backend).shape == (12, 9)


# ------------------------------------------------------------------------------ divergence and loss


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_zero_on_equal_and_nonnegative(backend):
    g = torch.Generator().manual_seed(15)
    x = torch.randn(6, 11, 3, generator=g, dtype=torch.float64)
    assert torch.all(soft_dtw_divergence(x, x, 1.0, backend=backend).abs() < 1e-12)
    assert torch.all(soft_dtw(x, x, 1.0, backend=backend) < 0)  # why the divergence exists
    for gamma in (0.01, 1.0, 10.0):
        y = torch.randn(6, 8, 3, generator=g, dtype=torch.float64)
        div = soft_dtw_divergence(x, y, gamma, backend=backend)
        assert torch.all(div >= 0)
        want = soft_dtw(x, y, gamma) - 0.5 * (soft_dtw(x, x, gamma) + soft_dtw(y, y, gamma))
        torch.testing.assert_close(div, want)
        near = soft_dtw_divergence(x, x + 1e-3 * torch.randn(x.shape, generator=g, dtype=x.dtype), gamma)
        assert torch.all(near < div)


def test_training_under_soft_dtw_loss():
    """A sequence optimised to match a time-shifted target: the divergence falls by > 95%."""
    t = torch.linspace(0, 2 * math.pi, 40, dtype=torch.float32)
    target = torch.stack([torch.sin(t + 0.7), torch.cos(2 * t)], dim=1)[None]
    g = torch.Generator().manual_seed(16)
    x = (0.5 * torch.randn(1, 30, 2, generator=g)).requires_grad_()
    loss_fn = SoftDTWLoss(gamma=0.1, normalize=True)
    opt = torch.optim.Adam([x], lr=0.05)
    first = loss_fn(x, target).item()
    for _ in range(150):
        opt.zero_grad()
        loss = loss_fn(x, target)
        loss.backward()
        opt.step()
    last = loss_fn(x, target).item()
    assert last < 0.05 * first
    # the optimised sequence traces the target's shape: every target frame has a close frame in x
    dist = torch.cdist(target[0], x.detach()[0])
    assert dist.min(dim=1).values.max() < 0.3


def test_loss_reductions_and_module():
    g = torch.Generator().manual_seed(17)
    x, y = torch.randn(4, 6, 2, generator=g), torch.randn(4, 7, 2, generator=g)
    per_item = SoftDTWLoss(0.5, reduction="none")(x, y)
    assert per_item.shape == (4,)
    assert SoftDTWLoss(0.5)(x, y).item() == pytest.approx(per_item.mean().item())
    assert SoftDTWLoss(0.5, reduction="sum")(x, y).item() == pytest.approx(per_item.sum().item())
    assert "gamma=0.5" in repr(SoftDTWLoss(0.5))
    with pytest.raises(ValueError, match="reduction"):
        SoftDTWLoss(reduction="max")
    with pytest.raises(ValueError, match="gamma"):
        SoftDTWLoss(gamma=0)


# ----------------------------------------------------------------------------- dtypes, devices, API


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32(backend):
    g = torch.Generator().manual_seed(18)
    x = torch.randn(4, 50, 5, generator=g, requires_grad=True)
    y = torch.randn(4, 40, 5, generator=g)
    value = soft_dtw(x, y, 0.5, backend=backend)
    assert value.dtype == torch.float32
    value.sum().backward()
    assert x.grad.dtype == torch.float32
    x64 = x.detach().double().requires_grad_()
    ref = soft_dtw(x64, y.double(), 0.5, backend=backend)
    ref.sum().backward()
    torch.testing.assert_close(value.double(), ref.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(x.grad.double(), x64.grad, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_gradient_accuracy_on_long_sequences(backend):
    """R/γ ~ 1.5e4: per-cell normalised weights keep float32 gradients within 0.1% of float64."""
    g = torch.Generator().manual_seed(22)
    x = torch.randn(1, 400, 20, generator=g, dtype=torch.float64)
    y = torch.randn(1, 400, 20, generator=g, dtype=torch.float64)
    grads = {}
    for dtype in (torch.float64, torch.float32):
        xx = x.to(dtype).requires_grad_()
        (grads[dtype],) = torch.autograd.grad(soft_dtw(xx, y.to(dtype), 1.0, backend=backend).sum(), xx)
    error = (grads[torch.float32].double() - grads[torch.float64]).abs().max() / grads[
        torch.float64
    ].abs().max()
    assert error < 1e-3


def test_large_costs_small_gamma():
    """R/γ ~ 1e9: the log-domain recursion stays finite; float64 recovers DTW and its gradient."""
    g = torch.Generator().manual_seed(19)
    x = 100 * torch.randn(120, 3, generator=g, dtype=torch.float64)
    y = 100 * torch.randn(90, 3, generator=g, dtype=torch.float64)
    cost = pairwise_cost(x[None], y[None])[0].numpy()
    exact = exact_dtw(cost)
    _, path = librosa.sequence.dtw(C=cost)
    hard_grad = torch.zeros_like(x)  # d/dx of sum over the path of |x_i - y_j|^2
    for i, j in path:
        hard_grad[i] += 2 * (x[i] - y[j])
    for backend in BACKENDS:
        for dtype, rel in ((torch.float64, 1e-9), (torch.float32, 1e-5)):
            xx = x.to(dtype).requires_grad_()
            value = soft_dtw(xx, y.to(dtype), 0.01, backend=backend)
            (grad,) = torch.autograd.grad(value, xx)
            assert torch.isfinite(value) and torch.isfinite(grad).all()
            assert value.item() == pytest.approx(exact, rel=rel)
            if dtype == torch.float64:
                torch.testing.assert_close(grad, hard_grad, rtol=1e-6, atol=1e-6)


def test_follows_input_device_and_auto_backend():
    x, y = torch.randn(5, 2, device="cpu"), torch.randn(6, 2, device="cpu")
    assert soft_dtw(x, y).device == x.device
    assert soft_alignment(x, y).device == x.device
    # float16 is not a numba type: auto falls back to the torch wavefront, numba refuses
    half = soft_dtw_from_cost(torch.rand(5, 6).half(), 1.0)
    assert half.dtype == torch.float16 and torch.isfinite(half)
    with pytest.raises(ValueError, match="numba backend"):
        soft_dtw_from_cost(torch.rand(5, 6).half(), 1.0, backend="numba")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    g = torch.Generator().manual_seed(20)
    x = torch.randn(8, 64, 4, generator=g, dtype=torch.float64)
    y = torch.randn(8, 50, 4, generator=g, dtype=torch.float64)
    xc = x.cuda().requires_grad_()
    value = soft_dtw(xc, y.cuda(), 0.5, band=10)
    assert value.device.type == "cuda"
    (gc,) = torch.autograd.grad(value.sum(), xc)
    xr = x.clone().requires_grad_()
    ref = soft_dtw(xr, y, 0.5, band=10, backend="numba")
    (gr,) = torch.autograd.grad(ref.sum(), xr)
    torch.testing.assert_close(value.cpu(), ref.detach())
    torch.testing.assert_close(gc.cpu(), gr)


def test_shapes_broadcasting_and_inputs():
    a = np.sin(np.linspace(0, 3, 9))
    b = np.sin(np.linspace(0.2, 3, 7))
    one = soft_dtw(a, b, 0.3)  # 1-D numpy: univariate sequences
    assert one.shape == () and one.dtype == torch.float64
    assert one.item() == pytest.approx(brute_soft_dtw((a[:, None] - b[None, :]) ** 2, 0.3), rel=1e-12)
    xs = torch.randn(3, 9, 2)
    y = torch.randn(7, 2)
    batch = soft_dtw(xs, y, 0.3)
    assert batch.shape == (3,)
    torch.testing.assert_close(batch[1], soft_dtw(xs[1], y, 0.3))
    ints = soft_dtw(np.arange(5), np.arange(5) + 1, 0.3)
    assert ints.dtype == torch.get_default_dtype()
    assert soft_dtw(torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2)).dtype == torch.float64


def test_metrics():
    g = torch.Generator().manual_seed(21)
    x, y = torch.randn(2, 8, 3, generator=g, dtype=torch.float64), torch.randn(2, 6, 3, generator=g)
    y = y.double()
    cos = 1 - torch.nn.functional.cosine_similarity(x[:, :, None], y[:, None], dim=-1)
    torch.testing.assert_close(soft_dtw(x, y, 0.2, metric="cosine"), soft_dtw_from_cost(cos, 0.2))

    def l1(a, b):
        return (a[:, :, None] - b[:, None]).abs().sum(-1)

    torch.testing.assert_close(soft_dtw(x, y, 0.2, metric=l1), soft_dtw_from_cost(l1(x, y), 0.2))
    with pytest.raises(ValueError, match="metric returned"):
        soft_dtw(x, y, metric=lambda a, b: a.sum())
    with pytest.raises(ValueError, match="metric must be"):
        soft_dtw(x, y, metric="manhattan")


# -------------------------------------------------------------------------------------------- band


def reachable(mask: np.ndarray) -> bool:
    n, m = mask.shape
    ok = np.zeros((n, m), dtype=bool)
    for i in range(n):
        for j in range(m):
            if not mask[i, j]:
                continue
            ok[i, j] = (i == 0 and j == 0) or any(
                0 <= a and 0 <= b and ok[a, b] for a, b in ((i - 1, j - 1), (i - 1, j), (i, j - 1))
            )
    return bool(ok[-1, -1])


def test_band_mask_convention():
    n = 10
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    for r in (0, 1, 3):
        np.testing.assert_array_equal(band_mask(n, n, r), np.abs(i - j) <= r)
    np.testing.assert_array_equal(band_mask(n, n, 0.25), np.abs(i - j) <= 2.5)  # fraction of 10
    assert band_mask(n, n, None).all()
    wide = band_mask(6, 12, 2)  # radius along the longer (12-frame) axis around the stretched diagonal
    for row in range(6):
        cols = np.flatnonzero(wide[row])
        centre = row * 11 / 5
        assert cols.min() == max(0, math.ceil(centre - 2 - 1e-9)) and cols.max() == min(
            11, math.floor(centre + 2)
        )
    np.testing.assert_array_equal(band_mask(12, 6, 2), wide.T)


def test_band_is_the_dtw_engines_band():
    """Same ``band`` argument, same cells as studio.align.dtw (which widens bands we reject)."""
    dtw = pytest.importorskip("studio.align.dtw")
    checked = 0
    for n in range(1, 19):
        for m in range(1, 19):
            for band in (0, 0.1, 0.3, 1, 1.5, 2, 3, 7):
                try:
                    ours = band_mask(n, m, band)
                except ValueError:
                    continue
                window = dtw.sakoe_chiba_window(n, m, band * max(n, m) if band < 1 else band)
                j = np.arange(m)
                theirs = (j[None] >= window.lo[:, None]) & (j[None] < window.hi[:, None])
                np.testing.assert_array_equal(ours, theirs, err_msg=f"{n} x {m}, band {band}")
                checked += 1
    assert checked > 1500


@pytest.mark.parametrize(("n", "m"), [(5, 5), (6, 11), (11, 6), (3, 17), (1, 8), (8, 1), (20, 13)])
def test_band_too_narrow_iff_no_path(n, m):
    for band in (0, 0.5, 0.05, 0.1, 1, 1.5, 2, 3, 4.5):
        frames = band * max(n, m) if band < 1 else band
        centre_dist = np.abs(np.arange(m)[None] * (n - 1) - np.arange(n)[:, None] * (m - 1))
        candidate = (
            centre_dist <= frames * min(n - 1, m - 1) + 1e-9 if min(n, m) > 1 else np.ones((n, m), bool)
        )
        if reachable(candidate):
            mask = band_mask(n, m, band)
            np.testing.assert_array_equal(mask, candidate)
            cost = torch.rand(n, m, dtype=torch.float64)
            assert math.isfinite(soft_dtw_from_cost(cost, 0.5, band=band).item())
        else:
            with pytest.raises(ValueError, match="too narrow") as err:
                band_mask(n, m, band)
            enough = float(re.search(r"a band of ([0-9.]+) frames is wide enough", str(err.value))[1])
            assert reachable(band_mask(n, m, enough))
            with pytest.raises(ValueError, match="too narrow"):
                soft_dtw_from_cost(torch.rand(n, m), 0.5, band=band)


# -------------------------------------------------------------------------------------- bad input


def test_bad_input():
    x = torch.randn(5, 2)
    cases = [
        (lambda: soft_dtw(torch.randn(0, 2), x), "empty"),
        (lambda: soft_dtw(x, torch.randn(3, 0, 2)), "empty"),
        (lambda: soft_dtw(x, torch.tensor([[0.0, math.nan]])), "NaN"),
        (lambda: soft_dtw(x, torch.randn(4, 3)), "feature dimensions"),
        (lambda: soft_dtw(torch.randn(2, 5, 2), torch.randn(3, 5, 2)), "batch sizes"),
        (lambda: soft_dtw(torch.randn(1, 2, 5, 2), x), "shape"),
        (lambda: soft_dtw(x, x, 0.0), "gamma"),
        (lambda: soft_dtw(x, x, math.nan), "gamma"),
        (lambda: soft_dtw(x, x, band=-1), "band"),
        (lambda: soft_dtw(x, x, band="wide"), "band"),
        (lambda: soft_dtw(x, x, backend="cuda"), "backend"),
        (lambda: soft_dtw(x, x.to(torch.complex64)), "real-valued"),
        (lambda: soft_dtw_from_cost(torch.tensor([[1.0, -math.inf]]), 1.0), "-inf"),
        (lambda: soft_dtw_from_cost(torch.ones(3), 1.0), "shape"),
        (lambda: soft_dtw_from_cost(torch.ones(2, 0, 3), 1.0), "empty"),
        (lambda: band_mask(0, 3, 1), "empty"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
