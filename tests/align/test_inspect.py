"""The inspector's Qt-free model: the downsampled cost image against brute force, re-alignment
between pins against anchored DTW, and the CTC posterior view; on real speech (the GRID demo clip
against espeak saying its sentence) where the data matters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from studio.align import inspect as ins
from studio.align.dtw import dtw
from studio.align.inspect import (
    block_edges,
    cost_image,
    cost_view,
    ctc_view,
    pins_to_frames,
    realign_with_pins,
)
from studio.tasks.base import run

SCIPY = {"sqeuclidean": "sqeuclidean", "euclidean": "euclidean", "cosine": "cosine", "manhattan": "cityblock"}
REDUCE = {"min": np.min, "max": np.max, "mean": np.mean}


@pytest.fixture(scope="module")
def speech(demo_speech):
    return demo_speech


def brute(C: np.ndarray, ae: np.ndarray, be: np.ndarray, how: str) -> np.ndarray:
    f = REDUCE[how]
    return np.array(
        [[f(C[ae[r] : ae[r + 1], be[c] : be[c + 1]]) for c in range(len(be) - 1)] for r in range(len(ae) - 1)]
    )


def test_block_edges_cover_all_frames_in_near_equal_blocks():
    for n, k in [(10, 3), (1000, 1024), (20000, 1024), (7, 7), (5, 100)]:
        e = block_edges(n, k)
        assert e[0] == 0 and e[-1] == n and len(e) == min(n, k) + 1
        d = np.diff(e)
        assert d.min() >= 1 and d.max() - d.min() <= 1


@pytest.mark.parametrize("metric", sorted(SCIPY))
@pytest.mark.parametrize("how", sorted(REDUCE))
def test_downsampled_image_matches_brute_force(speech, metric, how):
    A, B = speech[0][:203], speech[1][:151]
    image, ae, be = run(cost_image(A, B, metric=metric, reduce=how, max_cells=37))
    assert image.shape == (37, 37)
    C = cdist(A.astype(np.float64), B.astype(np.float64), SCIPY[metric])
    np.testing.assert_allclose(image, brute(C, ae, be, how), rtol=1e-9, atol=1e-9)


def test_full_resolution_image_is_the_cost_matrix(speech):
    A, B = speech
    image, ae, be = run(cost_image(A, B, metric="cosine"))
    assert np.array_equal(ae, np.arange(len(A) + 1)) and np.array_equal(be, np.arange(len(B) + 1))
    np.testing.assert_allclose(image, cdist(A.astype(np.float64), B.astype(np.float64), "cosine"), atol=1e-12)


@pytest.mark.parametrize("how", sorted(REDUCE))
def test_chunked_computation_equals_one_chunk(speech, monkeypatch, how):
    A, B = speech
    whole = run(cost_image(A, B, reduce=how, max_cells=64))[0]
    monkeypatch.setattr(ins, "_CHUNK", 1)  # one block per chunk: 4096 chunks
    steps = []
    task = cost_image(A, B, reduce=how, max_cells=64)
    chunked = run(task, on_progress=steps.append)[0]
    assert len(steps) == 64 * 64 and steps[-1].fraction == 1.0
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)


def test_detail_range_is_the_same_cells(speech):
    A, B = speech
    full = cdist(A.astype(np.float64), B.astype(np.float64))
    image, ae, be = run(
        cost_image(A, B, metric="euclidean", reduce="mean", a_range=(50, 140), b_range=(20, 90), max_cells=16)
    )
    assert ae[0] == 50 and ae[-1] == 140 and be[0] == 20 and be[-1] == 90
    np.testing.assert_allclose(image, brute(full, ae, be, "mean"), rtol=1e-9)


def test_cost_view_times_and_linked_cursor(speech):
    A, B = speech
    v = cost_view(A, B, hx=0.01, hy=0.01, metric="cosine", b_start=0.5)
    path = dtw(A, B, metric="cosine").path
    assert np.array_equal(v.path, path)
    assert v.a_extent == (0.0, len(A) * 0.01) and v.b_extent == (0.5, 0.5 + len(B) * 0.01)
    np.testing.assert_allclose(v.path_times[:, 1], 0.5 + (path[:, 1] + 0.5) * 0.01)
    # where A frame i is matched to a single B frame j, b_at gives j's centre; a_at inverts it
    i, counts = np.unique(path[:, 0], return_counts=True)
    for k in np.nonzero(counts == 1)[0][::7]:
        j = path[path[:, 0] == i[k], 1][0]
        assert v.b_at(v.a_time(i[k])) == pytest.approx(v.b_time(j))
    assert v.b_at(-5.0) == pytest.approx(v.b_time(path[0, 1]))  # clamped at the ends
    b = np.array([v.b_at(t) for t in np.linspace(0, 3, 200)])
    assert np.all(np.diff(b) >= -1e-12)  # monotone
    lo, hi = v.value_range()
    assert lo < hi and lo >= v.image.min() and hi <= v.image.max()


def test_realign_without_pins_is_plain_dtw(speech):
    A, B = speech
    plain = dtw(A, B, metric="cosine").path
    fresh = realign_with_pins(A, B, None, [], hx=0.01, hy=0.01, metric="cosine")
    assert np.array_equal(fresh.path, plain) and fresh.recomputed == [0]
    kept = realign_with_pins(A, B, plain, [], hx=0.01, hy=0.01, metric="cosine")
    assert np.array_equal(kept.path, plain) and kept.recomputed == []


def passes(path, cell):
    return bool(np.any((path[:, 0] == cell[0]) & (path[:, 1] == cell[1])))


def test_realign_through_pins_recomputes_only_changed_segments(speech):
    A, B = speech
    kw = dict(hx=0.01, hy=0.01, metric="cosine")
    plain = dtw(A, B, metric="cosine").path
    # a pin on the current path changes nothing
    on = plain[len(plain) // 2]
    r = realign_with_pins(A, B, plain, [((on[0] + 0.5) * 0.01, (on[1] + 0.5) * 0.01)], **kw)
    assert r.recomputed == [] and np.array_equal(r.path, plain)
    # a pin off the path: both segments are solved; the result is anchored DTW through it
    p1 = (1.005, 0.305)
    assert not passes(plain, (100, 30))
    r1 = realign_with_pins(A, B, plain, [p1], **kw)
    assert r1.recomputed == [0, 1] and np.array_equal(r1.pins, [[100, 30]]) and passes(r1.path, (100, 30))
    assert np.array_equal(r1.path, dtw(A, B, metric="cosine", anchors=[(100, 30)]).path)
    # a second pin later: the first segment is kept as it was
    p2 = (2.105, 0.905)  # the path is near B = 1.4 s there
    assert not passes(r1.path, (210, 90))
    r2 = realign_with_pins(A, B, r1.path, [p1, p2], old_pins=[p1], **kw)
    assert r2.recomputed == [1, 2] and passes(r2.path, (210, 90))
    k = int(np.nonzero((r2.path[:, 0] == 100) & (r2.path[:, 1] == 30))[0][0])
    assert np.array_equal(r2.path[: k + 1], r1.path[: k + 1])
    assert np.array_equal(r2.path, dtw(A, B, metric="cosine", anchors=[(100, 30), (210, 90)]).path)
    # moving the second pin re-solves its two neighbouring segments only
    assert not passes(r2.path, (200, 70))
    r3 = realign_with_pins(A, B, r2.path, [p1, (2.005, 0.705)], old_pins=[p1, p2], **kw)
    assert r3.recomputed == [1, 2] and passes(r3.path, (200, 70))
    # removing the first pin merges its segments: that span is solved again, the tail is kept
    r4 = realign_with_pins(A, B, r3.path, [(2.005, 0.705)], old_pins=[p1, (2.005, 0.705)], **kw)
    assert r4.recomputed == [0]
    assert np.array_equal(r4.path, dtw(A, B, metric="cosine", anchors=[(200, 70)]).path)
    assert len(r4.segments) == 2 and r4.segments[0][2:] == (200, 70)
    k = int(np.nonzero((r3.path[:, 0] == 200) & (r3.path[:, 1] == 70))[0][0])
    assert np.array_equal(r4.path[-(len(r3.path) - k) :], r3.path[k:])  # the tail kept as it was


def test_realign_task_reports_progress_and_open_ends(speech):
    A, B = speech
    steps = []
    res = run(
        ins.realign_with_pins_task(B, A, None, [(0.805, 1.605)], hx=0.01, hy=0.01, metric="cosine",
                                   step="asymmetric", subsequence=True),
        on_progress=steps.append,
    )  # fmt: skip
    assert steps and steps[-1].fraction == 1.0
    assert passes(res.path, (80, 160)) and res.path[0, 0] == 0 and res.path[-1, 0] == len(B) - 1
    assert res.path[0, 1] > 0  # open begin: the recording's leading silence is skipped


def test_pins_that_cross_are_refused():
    with pytest.raises(ValueError, match="cross"):
        pins_to_frames([(1.0, 2.0), (2.0, 1.0)], 300, 300, 0.01, 0.01)
    assert pins_to_frames([(2.0, 2.0), (1.0, 1.0), (1.001, 1.001)], 300, 300, 0.01, 0.01).tolist() == [
        [100, 100],
        [200, 200],
    ]
    with pytest.raises(ValueError, match="monotone"):
        realign_with_pins(np.zeros((5, 1)), np.zeros((5, 1)), [[0, 0], [2, 3], [1, 4]], [])


def test_ctc_posterior_view():
    import torch

    from studio.align.ctc import forced_align

    g = torch.Generator().manual_seed(3)
    T, C = 2500, 12
    targets = [3, 5, 5, 7, 1, 9, 2, 4]
    logits = torch.randn(T, C, generator=g)
    # make the targets likely in order, so the path has structure
    for k, tok in enumerate(targets):
        logits[k * T // len(targets) : (k + 1) * T // len(targets), tok] += 4.0
    lp = torch.log_softmax(logits, dim=-1).double()
    ali = forced_align(lp, torch.tensor(targets))
    labels = [f"t{k}" for k in targets]
    v = ctc_view(lp.numpy(), ali.path, hop=0.02, targets=targets, labels=labels, log=True)
    assert v.kind == "ctc" and v.image.shape == (1024, len(targets)) and v.b_labels == labels
    P = np.exp(lp.numpy()[:, targets])
    np.testing.assert_allclose(v.image, brute(P, v.a_edges, v.b_edges, "max"), rtol=1e-12)
    frames = np.nonzero(ali.path >= 0)[0]
    assert np.array_equal(v.path[:, 0], frames) and np.array_equal(v.path[:, 1], ali.path[frames])
    # the B axis counts tokens: at each token's middle frame, b_at is inside that token's row
    for s, (f0, f1) in enumerate(ali.spans):
        assert v.b_frame(v.b_at(v.a_time((f0 + f1) // 2))) == s
    assert v.a_extent == (0.0, T * 0.02)
    with pytest.raises(ValueError, match="non-decreasing"):
        ctc_view(P, np.r_[ali.path[1:], 0][::-1], hop=0.02)


def test_ctc_transcript_view_is_the_aligners_path():
    """The GRID demo clip and its sentence: the view's B axis is the aligner's units and each unit's
    first path frame is where `align_transcript(method="ctc")` starts that letter."""
    from pathlib import Path

    from studio.align.ctc_aligner import ctc_align
    from studio.models.small_ctc import load_bundled

    clip = Path(__file__).resolve().parents[2] / "resources" / "demo" / "swwp2s.mpg"
    words = [["set"], ["white"], ["with"], ["p"], ["two", "soon"]]
    model = load_bundled("cpu")
    v, owner = run(ins.ctc_transcript_view_task(str(clip), words, model=model, label_a="clip"))
    assert v.kind == "ctc" and v.label_a == "clip" and "".join(v.b_labels) == "set|white|with|p|two|soon"
    assert list(owner) == [0] * 3 + [-1] + [1] * 5 + [-1] + [2] * 4 + [-1, 3, -1] + [4] * 3 + [-1] + [4] * 4
    assert np.all(np.diff(v.path, axis=0) >= 0) and set(v.path[:, 1]) == set(range(v.m))
    assert v.image.shape == (v.n, v.m) and np.all((v.image >= 0) & (v.image <= 1))
    from studio.media.audio import open_audio

    with open_audio(clip) as src:
        al = ctc_align(src, [[p for w in words for p in w]], model)
    phones = [ph for w in al.words for ph in w.phones]
    letters = [j for j in range(v.m) if owner[j] >= 0]
    assert [ph[2] for ph in phones] == [v.b_labels[j] for j in letters]
    starts = [v.path[v.path[:, 1] == j][0, 0] * v.hx for j in letters]
    np.testing.assert_allclose(starts, [ph[0] for ph in phones], atol=1e-9)
    # the image is the model's posteriors of those units, frame by frame
    from studio.align.ctc_aligner import ctc_targets, read_samples

    with open_audio(clip) as src:
        lp = np.asarray(model.log_probs(read_samples(src, model.sample_rate)))
    targets = ctc_targets([[p for w in words for p in w]], model)[0]
    np.testing.assert_allclose(v.image, np.exp(lp[:, targets]), rtol=1e-6)
    with pytest.raises(ValueError, match="spoken parts"):
        run(ins.ctc_transcript_view_task(str(clip), [[]], model=model))
