"""The bundled phone-frame model (`studio.models.phone_frames`) and its training (`train_phones`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soxr

from studio.align import espeak
from studio.models import train_phones as tp
from studio.models.phone_frames import (
    PHONES,
    SILENCE,
    PhoneFrameModel,
    bundled_phone_path,
    load_bundled_phones,
    load_phone_model,
    phone_class,
)
from studio.tasks.base import run

SENTENCE = "the weather was pleasant so we walked along the river until evening"
MIN_FRAME_ACCURACY = 0.6  # measured below; an untrained model scores about 1/41


@pytest.fixture(scope="module")
def model() -> PhoneFrameModel:
    return load_bundled_phones("cpu")


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, np.ndarray]:
    syn = espeak.synthesize(SENTENCE.split(), voice="en-us", rate=160)
    x = soxr.resample(syn.samples, syn.sample_rate, 16000).astype(np.float32)
    lab = tp.frame_labels(x.size, [(p.start, p.end, phone_class(p.symbol)) for p in syn.phones])
    return x, lab


def test_phone_classes_fold_espeak_symbols() -> None:
    assert PHONES[SILENCE] == "sil" and len(PHONES) == 41 and len(set(PHONES)) == 41
    for sym, name in [("iː", "iy"), ("ɪ", "ih"), ("tʃ", "ch"), ("ɹ", "r"), ("əʊ", "ow"), ("oʊ", "ow"),
                      ("ŋ", "ng"), ("ð", "dh"), ("θ", "th"), ("ɾ", "d"), ("ɑːɹ", "aa"), ("eɪ", "ey")]:  # fmt: skip
        assert PHONES[phone_class(sym)] == name, sym
    assert PHONES[phone_class("kʰ")] == "k"  # unknown: folded by its first letter
    assert PHONES[phone_class("ʏ")] == "ax"  # unknown vowel
    # every phone the English voices use has a class of its own kind (none folds into silence)
    for voice in ("en", "en-us", "en-gb-scotland", "en-029"):
        syn = espeak.synthesize(SENTENCE.split() + ["thought", "judge", "pleasure", "hour"], voice=voice)
        assert all(phone_class(p.symbol) != SILENCE for p in syn.phones)


def test_frame_labels_follow_the_phones(speech) -> None:
    x, lab = speech
    assert lab.size == -(-x.size // 160)
    assert lab[0] == SILENCE and lab[-1] == SILENCE  # espeak's own lead-in and tail
    assert (lab != SILENCE).mean() > 0.7
    shifted = tp.frame_labels(x.size + 1600, [(0.5, 0.6, 3)], offset=0.1)
    assert set(np.flatnonzero(shifted == 3)) == set(range(59, 69))


def test_stop_closures_are_labelled_as_the_stop() -> None:
    syn = espeak.synthesize("set white with p two soon".split(), voice="en")
    ph = [(p.start, p.end, phone_class(p.symbol)) for p in syn.phones]
    moved = tp.closures_to_stops(syn.samples, syn.sample_rate, ph)
    assert len(moved) == len(ph)
    names = [PHONES[c] for _, _, c in ph]
    for k, ((a0, _b0, _c), (a1, b1, _)) in enumerate(zip(ph, moved)):
        if names[k] in ("t", "p") and k > 0 and names[k - 1] != "sil":
            assert 0.02 < a0 - a1 <= 0.15  # the silent closure now belongs to the stop
            seg = syn.samples[int(a1 * syn.sample_rate) : int(a0 * syn.sample_rate)]
            assert np.sqrt(np.mean(seg.astype(np.float64) ** 2)) < 1e-3
        else:
            assert a1 == pytest.approx(a0)
        assert b1 > a1
    assert all(
        moved[k][1] == pytest.approx(moved[k + 1][0])
        for k in range(len(moved) - 1)
        if ph[k][1] == ph[k + 1][0]
    )


def test_bundled_model_recognises_phones_of_an_unseen_sentence(model, speech) -> None:
    x, lab = speech
    lp = run(model.log_posteriors_task(x))
    assert lp.shape == (lab.size, len(PHONES))
    assert np.allclose(np.exp(lp).sum(1), 1.0, atol=1e-4)
    acc = float((lp.argmax(1) == lab).mean())
    assert acc >= MIN_FRAME_ACCURACY, acc
    cfg = json.loads((bundled_phone_path() / "config.json").read_text())
    assert cfg["phones"] == list(PHONES) and abs(sum(cfg["priors"]) - 1) < 1e-3
    size = sum(f.stat().st_size for f in bundled_phone_path().iterdir())
    assert size < 20e6


def test_chunks_equal_the_whole_recording(model, speech) -> None:
    x, _ = speech
    whole = run(model.log_posteriors_task(x))
    chunked = run(
        PhoneFrameModel(model.net, np.exp(model.log_priors), "cpu", chunk_seconds=0.5).log_posteriors_task(x)
    )
    assert np.allclose(whole, chunked, atol=1e-4)


def test_bad_input(model) -> None:
    with pytest.raises(ValueError, match="NaN"):
        run(model.log_posteriors_task(np.full(8000, np.nan, np.float32)))
    with pytest.raises(ValueError, match="ms long"):
        run(model.log_posteriors_task(np.zeros(100, np.float32)))
    with pytest.raises(ValueError, match="chunk_seconds"):
        PhoneFrameModel(model.net, None, "cpu", chunk_seconds=0)
    with pytest.raises(ValueError, match="priors"):
        PhoneFrameModel(model.net, np.zeros(len(PHONES)), "cpu")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json and model.pt"):
        load_phone_model(tmp_path / "nothing")
    bad = tmp_path / "bad"
    shutil.copytree(bundled_phone_path(), bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["phones"] = cfg["phones"][::-1]
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="phones"):
        load_phone_model(bad)
    shutil.copy(bundled_phone_path() / "config.json", bad / "config.json")
    (bad / "model.pt").write_bytes(b"not a state dict")
    with pytest.raises(ValueError, match="cannot load"):
        load_phone_model(bad)


def test_training_batches_are_deterministic_and_labelled() -> None:
    data = tp.Batches(seed=3, batch=2, real=[], real_share=0.0)
    (xa, ya), (_xb, yb), (_, yc) = data[5], data[5], data[6]
    assert xa.shape[1] == 80 and ya.shape[0] == 2
    assert abs(ya.shape[1] - yb.shape[1]) <= 1
    n = min(ya.shape[1], yb.shape[1])
    assert (ya[:, :n] == yb[:, :n]).float().mean() > 0.99  # espeak's carried phase aside, the same batch
    assert not (ya.shape == yc.shape and bool((ya == yc).all()))
    valid = ya[ya >= 0]
    assert int(valid.max()) < len(PHONES) and (valid != SILENCE).any() and (valid == SILENCE).any()


def test_training_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "m"
    tp.main(["--out", str(out), "--steps", "2", "--rounds", "1", "--batch", "2"]
            + ["--channels", "16", "--blocks", "1", "--kernel", "3"])  # fmt: skip
    cfg = json.loads((out.with_name("m.round1") / "config.json").read_text())
    assert cfg["training"]["steps_run"] == 2
    m = load_phone_model(out.with_name("m.round1"), "cpu")
    assert m.net.receptive_radius == 3
    assert run(m.log_posteriors_task(np.zeros(3200, np.float32))).shape == (20, len(PHONES))
