"""CTC forced alignment: brute force on small cases, CTC topology, star token, batch, windowed, errors."""

from __future__ import annotations

import importlib.util
import itertools
import os

import numpy as np
import pytest
import torch

from studio.align.ctc import CTCAlignment, forced_align, forced_align_batch, forced_align_windowed


def _log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def _brute_force(
    lp: np.ndarray, targets: list[int], blank: int, separators: set[int]
) -> tuple[float, list[int]]:
    """Best frame labelling that CTC-collapses to targets, by enumerating all C**T labellings.

    Collapse = merge runs of equal labels, then drop blank and the separator labels (the star). Returns
    (score, per-frame token index or -1)."""
    T, C = lp.shape
    best, best_path = -np.inf, None
    for labels in itertools.product(range(C), repeat=T):
        path, k, prev = [], -1, None
        ok = True
        for lab in labels:
            if lab == blank or lab in separators:
                path.append(-1)
            else:
                if lab != prev:
                    k += 1
                    if k >= len(targets) or targets[k] != lab:
                        ok = False
                        break
                path.append(k)
            prev = lab
        if not ok or k != len(targets) - 1:
            continue
        score = float(lp[np.arange(T), list(labels)].sum())
        if score > best:
            best, best_path = score, path
    return best, best_path


def _peaky(
    S: int,
    C: int,
    rng: np.random.Generator,
    noise: float = 1.5,
    strength: float = 6.0,
    star_class: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model-like posteriors: a random true segmentation (token runs of 1-4 frames, gaps of 0-6 blanks),
    logits = strength at the true label + gaussian noise. Returns (log_probs, targets, true path)."""
    vocab = [c for c in range(1, C) if c != star_class]
    targets = rng.choice(vocab, size=S)
    labels, path = [], []
    for k, tok in enumerate(targets):
        gap = rng.integers(0, 7)
        if k > 0 and targets[k - 1] == tok:
            gap = max(gap, 1)
        labels += [0] * gap
        path += [-1] * gap
        d = rng.integers(1, 5)
        labels += [tok] * d
        path += [k] * d
    labels += [0] * rng.integers(0, 7)
    path += [-1] * (len(labels) - len(path))
    x = rng.normal(scale=noise, size=(len(labels), C))
    x[np.arange(len(labels)), labels] += strength
    return _log_softmax(x), targets, np.array(path)


def _check_result(r: CTCAlignment, lp: np.ndarray, targets) -> None:
    """Spans, scores and log_prob are consistent with the path."""
    targets = np.asarray(targets)
    for k, (a, b) in enumerate(r.spans):
        frames = np.flatnonzero(r.path == k)
        assert frames[0] == a and frames[-1] == b and frames.size == b - a + 1
        assert r.scores[k] == pytest.approx(lp[a : b + 1, targets[k]].mean(), abs=1e-6)
    np.testing.assert_allclose(r.confidence, np.exp(r.scores))


@pytest.mark.parametrize("seed", range(12))
def test_equals_brute_force_float64(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(3, 8))
    C = int(rng.integers(2, 5))
    S = int(rng.integers(1, 4))
    targets = list(rng.integers(1, C, size=S))
    if S + sum(a == b for a, b in zip(targets, targets[1:])) > T:
        targets = targets[:1]
    lp = _log_softmax(rng.normal(scale=2.0, size=(T, C)))
    score, path = _brute_force(lp, targets, 0, set())
    r = forced_align(torch.tensor(lp), torch.tensor(targets))
    assert r.log_prob == pytest.approx(score, abs=1e-12)
    assert r.path.tolist() == path
    assert not r.star_frames.any()
    _check_result(r, lp, targets)


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_float32_and_star(seed):
    rng = np.random.default_rng(100 + seed)
    T, C = 6, 4
    targets = [1, 1, 2] if seed % 2 else [2, 1]
    lp = _log_softmax(rng.normal(scale=2.0, size=(T, C)))
    # float32 on plain CTC
    score, path = _brute_force(lp, targets, 0, set())
    r = forced_align(torch.tensor(lp, dtype=torch.float32), targets)
    assert r.log_prob == pytest.approx(score, abs=1e-5)
    assert r.path.tolist() == path
    # class 3 as the star: may fill gaps (also between the repeated 1s), never a token
    score, path = _brute_force(lp, targets, 0, {3})
    r = forced_align(lp, targets, star=3)
    assert r.log_prob == pytest.approx(score, abs=1e-12)
    assert r.path.tolist() == path
    gaps = r.path == -1
    np.testing.assert_array_equal(r.star_frames[gaps], lp[gaps, 3] > lp[gaps, 0])
    assert not r.star_frames[~gaps].any()
    # synthetic star from a penalty = brute force over an extra column
    pen = 1.0
    star_col = np.where(np.arange(C) == 0, -np.inf, lp).max(axis=1) - pen
    lp5 = np.concatenate([lp, star_col[:, None]], axis=1)
    score, path = _brute_force(lp5, targets, 0, {4})
    r = forced_align(lp, targets, star_penalty=pen)
    assert r.log_prob == pytest.approx(score, abs=1e-12)
    assert r.path.tolist() == path


def test_repeated_tokens_need_a_blank():
    # every frame prefers token 1 strongly: "1 1" still needs a blank frame between the two tokens
    T = 6
    lp = np.log(np.tile([0.05, 0.9, 0.05], (T, 1)))
    r = forced_align(lp, [1, 1])
    assert (r.path == -1).sum() == 1
    gap = int(np.flatnonzero(r.path == -1)[0])
    assert r.spans[0, 1] == gap - 1 and r.spans[1, 0] == gap + 1
    # different tokens may follow each other directly
    r = forced_align(np.log(np.tile([0.02, 0.49, 0.49], (T, 1))), [1, 2])
    assert (r.path == -1).sum() == 0
    # T = 2 fits "1 2" but not "1 1"
    forced_align(lp[:2], [1, 2])
    with pytest.raises(ValueError, match=r"S = 2 tokens with 1 repeats.*T = 2"):
        forced_align(lp[:2], [1, 1])


def test_star_absorbs_inserted_speech():
    rng = np.random.default_rng(7)
    C = 8  # class 7: a word the transcript lacks
    lp, targets, truth = _peaky(40, 7, rng, noise=0.5)
    T = lp.shape[0]
    # insert 25 frames of confident "other speech" in the middle of token 20's right gap
    at = int(np.flatnonzero(truth == 20)[-1]) + 1
    ins = rng.normal(scale=0.5, size=(25, C))
    ins[:, 7] += 6.0  # confident speech of a class the transcript does not contain
    full = np.concatenate(
        [
            np.pad(lp, ((0, 0), (0, 1)), constant_values=-30.0)[:at],
            ins,
            np.pad(lp, ((0, 0), (0, 1)), constant_values=-30.0)[at:],
        ]
    )
    full = _log_softmax(full)
    truth_full = np.concatenate([truth[:at], np.full(25, -1), truth[at:]])
    assert full.shape[0] == T + 25
    plain = forced_align(full, targets)
    star = forced_align(full, targets, star_penalty=1.0)
    # with the star, the inserted frames are star frames and the tokens keep their true frames
    assert star.star_frames[at : at + 25].all()
    np.testing.assert_array_equal(star.path, truth_full)
    # without it, neighbouring tokens are dragged onto the inserted frames
    assert (plain.path[at : at + 25] >= 0).any()
    assert not np.array_equal(plain.path, truth_full)
    # a real star class of the model works the same
    x = np.concatenate([full, np.full((full.shape[0], 1), -20.0)], axis=1)
    x[at : at + 25, -1] = -0.5
    star_id = forced_align(x, targets, star=C)
    np.testing.assert_array_equal(star_id.path, truth_full)
    assert star_id.star_frames[at : at + 25].all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_equals_one_by_one(dtype):
    rng = np.random.default_rng(3)
    items = []
    for S in (5, 17, 1, 9):
        lp, targets, _ = _peaky(S, 6, rng, noise=2.0)
        items.append((torch.tensor(lp, dtype=dtype), torch.tensor(targets)))
    batch = forced_align_batch(items)
    for (lp, t), rb in zip(items, batch):
        r1 = forced_align(lp, t)
        np.testing.assert_array_equal(rb.path, r1.path)
        np.testing.assert_array_equal(rb.spans, r1.spans)
        assert rb.log_prob == pytest.approx(r1.log_prob, rel=1e-6)
        _check_result(rb, lp.double().numpy(), t.numpy())


def test_windowed_equals_exact_on_medium_cases():
    rng = np.random.default_rng(11)
    for S, noise, kw in [(600, 1.5, {}), (400, 2.5, {}), (500, 1.5, {"star_penalty": 2.0})]:
        lp, targets, _ = _peaky(S, 12, rng, noise=noise)
        lpt = torch.tensor(lp, dtype=torch.float32)
        exact = forced_align(lpt, targets, **kw)
        win = forced_align_windowed(lpt, targets, window_frames=300, overlap_frames=80, **kw)
        np.testing.assert_array_equal(win.path, exact.path)
        np.testing.assert_array_equal(win.star_frames, exact.star_frames)
        assert win.log_prob == pytest.approx(exact.log_prob, rel=1e-9)
    # one window: identical by construction, also for the smallest T
    lp, targets, _ = _peaky(30, 5, rng)
    a, b = forced_align(lp, targets), forced_align_windowed(lp, targets, window_frames=lp.shape[0])
    np.testing.assert_array_equal(a.path, b.path)


def test_windowed_tight_end_still_fits():
    # speech crammed at the end: the open window ends must leave room for the rest of the transcript
    rng = np.random.default_rng(5)
    lp, targets, _ = _peaky(200, 6, rng)
    silence = _log_softmax(np.tile([5.0, 0, 0, 0, 0, 0], (2000, 1)))
    full = np.concatenate([silence, lp])
    exact = forced_align(full, targets)
    win = forced_align_windowed(full, targets, window_frames=250, overlap_frames=50)
    np.testing.assert_array_equal(win.path, exact.path)
    # a transcript that exactly fills the frames (a token per frame plus the repeats' blanks)
    t = np.array([1, 2, 2, 3, 1, 1] * 50)
    T = t.size + int((t[1:] == t[:-1]).sum())
    w = forced_align_windowed(np.log(np.full((T, 4), 0.25)), t, window_frames=40, overlap_frames=10)
    assert (w.path >= 0).sum() == t.size


def _peak_rss_delta(fn) -> int:
    """Peak RSS growth during fn(), via /proc/self/clear_refs (resets VmHWM)."""

    def hwm() -> int:
        with open("/proc/self/status") as f:
            return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmHWM"))

    def rss() -> int:
        with open("/proc/self/status") as f:
            return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS"))

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = rss()
    fn()
    return hwm() - before


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc/self/clear_refs"
)
def test_windowed_memory_is_bounded_on_a_long_case():
    rng = np.random.default_rng(2)
    lp, targets, truth = _peaky(6000, 30, rng, noise=1.0)
    lpt = torch.tensor(lp, dtype=torch.float32)
    T, L = lp.shape[0], 2 * targets.size + 1
    assert T * L > 300e6  # the exact alignment's backpointers alone: > 300 MB
    out = {}
    delta = _peak_rss_delta(
        lambda: out.setdefault("r", forced_align_windowed(lpt, targets, window_frames=1000))
    )
    # bound: 1000 x 2003 B of backpointers + (T, C + 2) emissions + numpy copies, well under 60 MB
    assert delta < 60e6, f"peak RSS grew by {delta / 1e6:.0f} MB"
    r = out["r"]
    # the peaky posteriors determine the alignment: every token lands on its true frames
    np.testing.assert_array_equal(r.path, truth)


def test_errors():
    lp = np.log(np.full((5, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"S = 5 tokens with 2 repeats need at least 7 frames.*T = 5"):
        forced_align(lp, [1, 2, 2, 1, 1])
    with pytest.raises(ValueError, match="S = 6"):
        forced_align(lp, [1, 2, 1, 2, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        forced_align(np.where(np.eye(5, 3) > 0, np.nan, lp), [1])
    with pytest.raises(ValueError, match="2-D"):
        forced_align(lp[None], [1])
    with pytest.raises(ValueError, match="1-D"):
        forced_align(lp, [[1]])
    with pytest.raises(ValueError, match="empty"):
        forced_align(lp, [])
    with pytest.raises(ValueError, match="blank"):
        forced_align(lp, [1, 0])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        forced_align(lp, [3])
    with pytest.raises(ValueError, match="integer"):
        forced_align(lp, [1.0])
    with pytest.raises(ValueError, match="floating"):
        forced_align(torch.zeros(5, 3, dtype=torch.int64), [1])
    with pytest.raises(ValueError, match="not both"):
        forced_align(lp, [1], star=2, star_penalty=1.0)
    with pytest.raises(ValueError, match="star id"):
        forced_align(lp, [2], star=2)
    with pytest.raises(ValueError, match="star must"):
        forced_align(lp, [1], star=0)
    with pytest.raises(ValueError, match="finite"):
        forced_align(np.full((3, 3), -np.inf), [1])
    with pytest.raises(ValueError, match="item 1"):
        forced_align_batch([(lp, [1]), (lp[:1], [1, 2])])
    with pytest.raises(ValueError, match="same C"):
        forced_align_batch([(lp, [1]), (np.zeros((4, 4)), [1])])
    with pytest.raises(ValueError, match="window_frames"):
        forced_align_windowed(lp, [1], window_frames=1)
    with pytest.raises(ValueError, match="overlap_frames"):
        forced_align_windowed(lp, [1], window_frames=4, overlap_frames=4)


def test_times_and_device_argument():
    rng = np.random.default_rng(4)
    lp, targets, truth = _peaky(10, 5, rng, noise=0.3)
    r = forced_align(lp, targets, device="cpu")
    np.testing.assert_array_equal(r.path, truth)
    times = r.times(0.02, offset=1.0)
    np.testing.assert_allclose(times[:, 0], 1.0 + r.spans[:, 0] * 0.02)
    np.testing.assert_allclose(times[:, 1], 1.0 + (r.spans[:, 1] + 1) * 0.02)
    with pytest.raises(ValueError, match="frame_duration"):
        r.times(0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_equals_cpu():
    rng = np.random.default_rng(9)
    lp, targets, _ = _peaky(300, 20, rng, noise=2.0)
    a = forced_align(torch.tensor(lp), targets)
    b = forced_align(torch.tensor(lp), targets, device="cuda")
    np.testing.assert_array_equal(a.path, b.path)
    c = forced_align_windowed(torch.tensor(lp), targets, device="cuda", window_frames=200)
    np.testing.assert_array_equal(a.path, c.path)


@pytest.mark.skipif(importlib.util.find_spec("torchaudio") is None, reason="torchaudio is not installed")
def test_equals_torchaudio():
    import torchaudio.functional as F

    rng = np.random.default_rng(8)
    for S in (5, 40, 120):
        lp, targets, _ = _peaky(S, 10, rng, noise=2.0)
        lpt = torch.tensor(lp, dtype=torch.float32)
        ta_labels, _ = F.forced_align(lpt[None], torch.tensor(targets, dtype=torch.int32)[None], blank=0)
        r = forced_align(lpt, targets)
        ta = ta_labels[0].numpy()
        ours = np.where(r.path >= 0, targets[np.maximum(r.path, 0)], 0)
        np.testing.assert_array_equal(ours, ta)
