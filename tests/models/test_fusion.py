"""The fusion model zoo (studio.models.fusion) on synthetic tasks where fusion must matter.

The XOR task: modality A carries a bit a(t) in one dimension, B a bit b(t) in another, each piecewise
constant over 6-20 frames and buried in noise; the frame class is a XOR b. Either modality alone says
nothing about the class (chance), both together say everything, and late fusion (a mix of
per-modality decisions, weighted per frame by gates on each modality's own encoding) sees only a
little of the interaction.

Measured here (2 modalities x 4 dims, hidden 16, 4000 training frames with 10 % unlabelled, 1 CPU
thread, up to 30 epochs, patience 6; macro F1 on a separate test file):

    ============ ====== ======= ====== ========
    kind         params train s epochs F1 (XOR)
    ============ ====== ======= ====== ========
    early         2418    1.46    21    0.973
    late          4072     --     --    0.717  (with per-frame gates; 0.543 without)
    tfn           4010    0.77    30    0.976
    lmf           5910    0.71    22    0.978
    mult          6226    2.05    30    0.983
    unimodal-A    2018    0.14    11    0.510
    unimodal-B    2018    0.14    11    0.477
    ============ ====== ======= ====== ========

At the size of a real recording (audio 41 + video 20 + text 64 dims, hidden 32, 15 000 frames = 10
minutes at 25 fps, 1 thread, a shared CPU so +-50 %): parameters / seconds per epoch -- early 26.8 k /
0.1, late 39.4 k / 0.2, tfn 60.3 k / 0.5, lmf 49.8 k / 0.3, mult 68.0 k / 0.7, unimodal (audio)
13.0 k / 0.06; so 60 epochs stay under 60 s on a CPU. Predicting the 10 minutes: < 0.3 s.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from studio.models import fusion
from studio.models.framedata import FrameData
from studio.models.fusion import KINDS, FusionModel, ModelCard, evaluate
from studio.tasks.base import Cancelled, run

XOR_CLASSES = ["same", "diff"]
DIMS = {"A": 4, "B": 4}
FUSED = ("early", "tfn", "lmf", "mult")


def bits(rng: np.random.Generator, T: int) -> np.ndarray:
    out = np.zeros(T, np.int64)
    t = 0
    while t < T:
        n = int(rng.integers(6, 20))
        out[t : t + n] = rng.integers(2)
        t += n
    return out


def two_bits(seed: int, T: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = bits(rng, T), bits(rng, T)
    A = rng.normal(0, 0.5, (T, 4)).astype(np.float32)
    B = rng.normal(0, 0.5, (T, 4)).astype(np.float32)
    A[:, 0] += 2 * a - 1
    B[:, 1] += 2 * b - 1
    return rng, a, b, A, B


def frame_data(
    A: np.ndarray, B: np.ndarray, labels: np.ndarray, classes: list[str] | None, source: str
) -> FrameData:
    T = len(A)
    return FrameData(
        {"A": A, "B": B},
        {"A": np.ones(T, bool), "B": np.ones(T, bool)},
        0.04,
        labels=labels,
        classes=classes,
        source=source,
    )


def xor_data(seed: int, T: int, source: str) -> FrameData:
    rng, a, b, A, B = two_bits(seed, T)
    y = a ^ b
    y[rng.random(T) < 0.1] = -1  # unlabelled frames
    return frame_data(A, B, y, XOR_CLASSES, source)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: one intra-op thread is faster than two fighting over small tensors
    (and steadier when other processes share the cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def xor() -> dict[str, FrameData]:
    return {
        "train": xor_data(1, 4000, "train.wav"),
        "val": xor_data(2, 1000, "val.wav"),
        "test": xor_data(3, 1000, "test.wav"),
    }


@pytest.fixture(scope="module")
def trained(xor: dict[str, FrameData]) -> dict[str, FusionModel]:
    models = {}
    for kind, modality in [(k, None) for k in (*FUSED, "late")] + [("unimodal", "A"), ("unimodal", "B")]:
        m = FusionModel(kind, DIMS, classes=XOR_CLASSES, modality=modality, hidden=16)
        m.fit([xor["train"]], val=[xor["val"]], epochs=30, patience=6)
        models[m.card.name] = m
    return models


def test_fusion_learns_the_interaction_no_single_modality_can(trained, xor):
    f1 = {name: evaluate(m, [xor["test"]])["macro_f1"] for name, m in trained.items()}
    for kind in FUSED:
        assert f1[kind] > 0.9, f1
    for name in ("unimodal-A", "unimodal-B"):  # XOR is invisible to one modality
        assert f1[name] < 0.62, f1
    # a gated mix of two decisions sees a little of it (each modality's gate moves its weight per
    # frame: measured 0.72), far from what fusing the features does
    assert f1["late"] < 0.85 and f1["late"] < min(f1[k] for k in FUSED) - 0.1, f1


def test_training_history_card_and_metrics(trained, xor):
    m = trained["mult"]
    assert [h["epoch"] for h in m.history] == list(range(1, len(m.history) + 1))
    assert all(h["val_loss"] is not None and np.isfinite(h["train_loss"]) for h in m.history)
    assert m.history[-1]["val_loss"] < m.history[0]["val_loss"]
    card = m.card
    assert (
        card.kind == "mult" and card.inputs == DIMS and card.classes == XOR_CLASSES and card.task == "frames"
    )
    assert card.training_data == ["train.wav"] and card.params == m.parameters_count() > 0
    assert card.metrics["macro_f1"] == pytest.approx(evaluate(m, [xor["val"]])["macro_f1"])
    assert ModelCard.from_dict(card.to_dict()) == card
    md = card.to_markdown()
    assert "# mult" in md and "A (4 dims)" in md and "macro_f1" in md and "train.wav" in md


def test_early_stopping_restores_the_best_weights(xor):
    m = FusionModel("unimodal", DIMS, classes=XOR_CLASSES, modality="A", hidden=8)
    result = m.fit([xor["train"]], val=[xor["val"]], epochs=40, patience=3)
    assert result["stopped_early"] and result["epochs"] == result["best_epoch"] + 3
    best = min(h["val_loss"] for h in m.history)
    assert result["best_val_loss"] == pytest.approx(best)
    recomputed = run(
        fusion._val_loss(
            m,
            fusion._prepare(m, [xor["val"]], "val"),
            fusion._class_weights(m, fusion._prepare(m, [xor["train"]], "t")),
        )
    )
    assert recomputed == pytest.approx(best, rel=1e-5)


def test_training_is_deterministic_with_a_seed(xor):
    def train(seed: int) -> np.ndarray:
        m = FusionModel("early", DIMS, classes=XOR_CLASSES, hidden=8, seed=seed)
        m.fit([xor["train"]], epochs=2)
        return m.predict(xor["test"])

    a, b, c = train(0), train(0), train(1)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_late_fusion_weights_move_to_the_informative_modality():
    data = []
    for seed, T in ((11, 3000), (12, 800)):
        _, a, _, A, B = two_bits(seed, T)
        B = np.random.default_rng(seed + 100).normal(0, 1, B.shape).astype(np.float32)  # B: pure noise
        data.append(frame_data(A, B, a.copy(), XOR_CLASSES, f"late{seed}"))
    m = FusionModel("late", DIMS, classes=XOR_CLASSES, hidden=8)
    assert m.late_weights() == pytest.approx({"A": 0.5, "B": 0.5})
    m.fit([data[0]], val=[data[1]], epochs=25)
    w = m.late_weights()
    assert w["A"] > 0.9 > 0.1 > w["B"], w
    assert evaluate(m, [data[1]])["macro_f1"] > 0.9


def test_missing_modality_is_ignored_and_the_other_carries_the_prediction():
    def data(seed: int, T: int) -> FrameData:
        rng, a, _, A, B = two_bits(seed, T)
        B[:, 1] = (2 * a - 1) + rng.normal(0, 0.5, T)  # both modalities carry the class
        return frame_data(A, B, a.copy(), XOR_CLASSES, "m")

    train, test = data(21, 3000), data(22, 800)
    m = FusionModel("early", DIMS, classes=XOR_CLASSES, hidden=8)
    m.fit([train], epochs=15, modality_dropout=0.4)
    for gone in ("A", "B"):
        absent = FrameData(
            {k: v.copy() for k, v in test.features.items()},
            {k: np.full(test.T, k != gone) for k in test.present},
            test.hop,
            labels=test.labels,
            classes=test.classes,
        )
        assert evaluate(m, [absent])["macro_f1"] > 0.85, gone
        # what an absent modality's features hold does not matter
        garbage = FrameData(
            {k: (v if k != gone else np.full_like(v, 1e6)) for k, v in absent.features.items()},
            absent.present,
            test.hop,
        )
        assert np.array_equal(m.predict(absent), m.predict(garbage))


@pytest.mark.parametrize("name", ["early", "late", "tfn", "lmf", "mult", "unimodal-B"])
def test_absent_frames_do_not_depend_on_their_values(trained, xor, name):
    test = xor["test"]
    present = {"A": np.ones(test.T, bool), "B": np.ones(test.T, bool)}
    present["B"][100:300] = False
    B2 = test.features["B"].copy()
    B2[100:300] = np.nan  # nan frames are absent too
    m = trained[name]
    p1 = m.predict(FrameData(dict(test.features), present, test.hop))
    p2 = m.predict(FrameData({"A": test.features["A"], "B": B2}, dict(test.present), test.hop))
    assert np.allclose(p1, p2, atol=1e-6)
    assert np.isfinite(p1).all() and np.allclose(p1.sum(1), 1.0, atol=1e-5)


def test_regression_of_a_curve():
    def data(seed: int, T: int) -> FrameData:
        rng = np.random.default_rng(seed)
        t = np.arange(T)
        u = np.sin(t / 9.0 + seed) + 0.3 * np.sin(t / 3.1)
        v = np.cos(t / 13.0 + 2 * seed)
        A = np.column_stack([u, rng.normal(0, 1, (T, 3))]).astype(np.float32)
        B = np.column_stack([rng.normal(0, 1, (T, 1)), v, rng.normal(0, 1, (T, 2))]).astype(np.float32)
        y = (10 + 3 * u + 2 * v).astype(np.float32)
        y[rng.random(T) < 0.2] = np.nan
        return frame_data(A, B, y, None, f"curve{seed}")

    train, val, test = data(31, 3000), data(32, 600), data(33, 800)
    m = FusionModel("early", DIMS, task="regression", hidden=16)
    m.fit([train], val=[val], epochs=25)
    got = evaluate(m, [test])
    base = np.nanmean(np.abs(test.labels - np.nanmean(train.labels)))
    assert got["r"] > 0.95 and got["mae"] < 0.25 * base, got
    assert got["frames"] == int(np.isfinite(test.labels).sum())
    assert m.predict(test).shape == (test.T,) and "mae" in m.card.metrics
    uni = FusionModel("unimodal", DIMS, task="regression", modality="B", hidden=16)
    uni.fit([train], val=[val], epochs=25)
    assert evaluate(uni, [test])["r"] < got["r"] - 0.1


def test_save_load_round_trip(trained, xor, tmp_path):
    for name in ("mult", "late", "unimodal-A"):
        m = trained[name]
        path = m.save(tmp_path / f"{name}.pt")
        back = FusionModel.load(path, device="cpu")
        assert back.config() == m.config() and back.card == m.card
        assert np.array_equal(back.predict(xor["test"]), m.predict(xor["test"]))
    blob = torch.load(tmp_path / "mult.pt", weights_only=True)
    assert set(blob) >= {"config", "state_dict", "card"}


def test_load_errors_name_the_file(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="notes.pt.*not a Studio fusion model"):
        FusionModel.load(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="other.pt.*not a Studio fusion model"):
        FusionModel.load(other)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        FusionModel.load(tmp_path / "missing.pt")


def test_predict_window_equals_predict_away_from_the_edges(trained, xor):
    test = xor["test"]
    for name in ("early", "mult", "late"):
        m = trained[name]
        whole = m.predict(test)
        s, e, c = 200, 328, m.context
        win = m.predict_window(
            {k: v[s:e] for k, v in test.features.items()}, {k: v[s:e] for k, v in test.present.items()}
        )
        assert win.shape == (e - s, 2)
        assert np.allclose(win[c : e - s - c], whole[s + c : e - c], atol=1e-5), name
        assert np.allclose(m.predict_window({k: v[s:e] for k, v in test.features.items()}), win)


def test_chunked_prediction_is_exact_for_long_inputs(trained, monkeypatch):
    rng, a, b, A, B = two_bits(5, 30_000)  # 20 minutes at 25 fps
    long = frame_data(A, B, a ^ b, XOR_CLASSES, "long")
    for name in ("mult", "tfn"):
        m = trained[name]
        whole = m.predict(long)
        monkeypatch.setattr(fusion, "CHUNK", 777)
        chunked = m.predict(long)
        monkeypatch.setattr(fusion, "CHUNK", 4096)
        assert np.allclose(chunked, whole, atol=1e-5)
        assert evaluate(m, [long])["macro_f1"] > 0.9


def test_cancel_stops_within_one_step(xor):
    m = FusionModel("mult", DIMS, classes=XOR_CLASSES, hidden=16)
    before = {k: v.clone() for k, v in m.net.state_dict().items()}
    seen: list[float] = []

    def on_progress(p) -> None:
        seen.append(time.perf_counter())

    with pytest.raises(Cancelled):
        run(
            m.fit_task([xor["train"]], val=[xor["val"]], epochs=50),
            on_progress=on_progress,
            cancel=lambda: len(seen) >= 3,
        )
    assert len(seen) == 3 and m.history == []
    assert max(np.diff(seen)) < 0.2
    after = m.net.state_dict()  # the best weights so far: before any epoch ended, the initial ones
    assert all(torch.equal(before[k], after[k]) for k in before if "norm" not in k and not k.startswith("y_"))


def test_progress_carries_epoch_losses_and_yields_often(xor):
    m = FusionModel("tfn", DIMS, classes=XOR_CLASSES, hidden=16)
    stamps, rows = [], []

    def on_progress(p) -> None:
        stamps.append(time.perf_counter())
        if p.data is not None:
            rows.append(p.data)
            assert m.history[-1] == p.data  # the history is there before the yield

    run(m.fit_task([xor["train"]], val=[xor["val"]], epochs=3), on_progress=on_progress)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and all(
        set(r) == {"epoch", "train_loss", "val_loss"} for r in rows
    )
    assert max(np.diff(stamps)) < 0.2


def test_device_parameter(xor):
    m = FusionModel("lmf", DIMS, classes=XOR_CLASSES, hidden=8)
    m.fit([xor["train"]], epochs=1, device="cpu")
    p = m.predict(xor["test"], device=torch.device("cpu"))
    assert p.shape == (xor["test"].T, 2) and m.device.type == "cpu"
    with pytest.raises(ValueError, match="device"):
        m.predict(xor["test"], device="warp-drive")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(trained, xor, tmp_path):
    for name in ("mult", "early"):
        cpu = trained[name].predict(xor["test"])
        gpu = FusionModel.load(trained[name].save(tmp_path / "m.pt"), device="cuda")
        assert np.allclose(gpu.predict(xor["test"]), cpu, atol=1e-4)
    m = FusionModel("tfn", DIMS, classes=XOR_CLASSES, hidden=16)
    m.fit([xor["train"]], val=[xor["val"]], epochs=30, patience=6, device="cuda")
    assert evaluate(m, [xor["test"]])["macro_f1"] > 0.9


def test_bad_inputs_say_what_is_wrong(xor):
    with pytest.raises(ValueError, match="unknown model kind 'transformer'.*early"):
        FusionModel("transformer", DIMS, classes=XOR_CLASSES)
    with pytest.raises(ValueError, match="unknown task"):
        FusionModel("early", DIMS, classes=XOR_CLASSES, task="segments")
    with pytest.raises(ValueError, match="needs classes"):
        FusionModel("early", DIMS)
    with pytest.raises(ValueError, match="no classes"):
        FusionModel("early", DIMS, classes=XOR_CLASSES, task="regression")
    with pytest.raises(ValueError, match="modality= one of"):
        FusionModel("unimodal", DIMS, classes=XOR_CLASSES, modality="C")
    with pytest.raises(ValueError, match="at least one input"):
        FusionModel("early", {}, classes=XOR_CLASSES)
    m = FusionModel("early", DIMS, classes=XOR_CLASSES, hidden=8)
    with pytest.raises(ValueError, match=r"'B' features must be \(T, 4\), got shape \(10, 3\)"):
        m.predict_window({"A": np.zeros((10, 4)), "B": np.zeros((10, 3))})
    with pytest.raises(ValueError, match=r"\(T, 4\), got shape \(10,\)"):
        m.predict_window({"A": np.zeros(10), "B": np.zeros((10, 4))})
    with pytest.raises(ValueError, match="'B' is missing"):
        m.predict_window({"A": np.zeros((10, 4))})
    with pytest.raises(ValueError, match="'B' has 9 frames"):
        m.predict_window({"A": np.zeros((10, 4)), "B": np.zeros((9, 4))})
    d = xor["test"]
    wrong_hop = FrameData(
        dict(d.features), dict(d.present), 0.01, labels=d.labels, classes=d.classes, source="x.wav"
    )
    with pytest.raises(ValueError, match="x.wav: frame hop 0.01"):
        m.predict(wrong_hop)
    other = FrameData(
        dict(d.features), dict(d.present), d.hop, labels=d.labels, classes=["a", "b"], source="y.wav"
    )
    with pytest.raises(ValueError, match="y.wav: classes"):
        m.fit([other], epochs=1)
    unlabelled = FrameData(dict(d.features), dict(d.present), d.hop, source="z.wav")
    with pytest.raises(ValueError, match="z.wav: no labels"):
        m.fit([unlabelled], epochs=1)
    with pytest.raises(TypeError, match="list of frame data"):
        m.fit(d, epochs=1)
    assert set(KINDS) == {"early", "late", "tfn", "lmf", "mult", "unimodal"}
