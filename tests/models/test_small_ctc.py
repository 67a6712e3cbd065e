"""The bundled small CTC model (real weights, real torch, real espeak-ng): geometry, recognition and
alignment of espeak speech it was not trained on, chunking, errors; the training data pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
soxr = pytest.importorskip("soxr")

from studio.align import espeak  # noqa: E402
from studio.align.ctc_aligner import ctc_align  # noqa: E402
from studio.models import train_acoustic as ta  # noqa: E402
from studio.models.small_ctc import (  # noqa: E402
    TOKENS,
    SmallCTCModel,
    bundled_path,
    load_bundled,
    load_small_ctc,
    num_output_frames,
)

# Written here, never produced by the training generator (whose sentences are random draws).
SENTENCE = "the weather was pleasant so we walked along the river until evening"
# Measured on the bundled model (see resources/models/README.md); bounds leave a margin over them.
MAX_CER = 0.25  # measured 0.18 (en-us, 160 wpm)
MAX_MEAN_BOUNDARY_MS = 45.0  # measured 30 ms


@pytest.fixture(scope="module")
def model() -> SmallCTCModel:
    return load_bundled("cpu")


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, espeak.Synthesis]:
    syn = espeak.synthesize(SENTENCE.split(), voice="en-us", rate=160)
    x = soxr.resample(syn.samples, syn.sample_rate, 16000).astype(np.float32)
    return x, syn


def test_bundled_model_geometry(model: SmallCTCModel) -> None:
    cfg = json.loads((bundled_path() / "config.json").read_text())
    assert model.sample_rate == 16000
    assert model.frame_duration == pytest.approx(0.02)
    assert model.vocabulary.tokens == TOKENS
    assert model.vocabulary.blank == 0 and model.vocabulary.delimiter == 1
    n = sum(p.numel() for p in model.net.parameters())
    assert n == cfg["parameters"] and 2e5 < n < 4e6
    size = sum(f.stat().st_size for f in bundled_path().iterdir())
    assert size < 20e6
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.01
    lp = model.log_probs(x)
    assert tuple(lp.shape) == (50, len(TOKENS)) == (num_output_frames(16000), 29)
    assert torch.allclose(torch.logsumexp(lp, -1), torch.zeros(50), atol=1e-4)
    assert model.tokenize("Don't go") == [TOKENS.index(c) for c in "don't|go"]


def test_greedy_transcription_of_unseen_sentence(model: SmallCTCModel, speech) -> None:
    x, _ = speech
    hyp = ta.greedy(model.log_probs(x, 16000))
    d, n = ta.cer(SENTENCE, hyp)
    assert d / n < MAX_CER, hyp


def test_ctc_alignment_word_boundaries(model: SmallCTCModel, speech) -> None:
    x, syn = speech
    res = ctc_align((x, 16000), [SENTENCE.split()], model)
    assert [w.index for w in res.words] == list(range(len(syn.words)))
    assert not any(w.missing for w in res.words)
    err = [abs(w.start - s.start) for w, s in zip(res.words, syn.words)]
    err += [abs(w.end - s.end) for w, s in zip(res.words, syn.words)]
    assert np.mean(err) * 1000 < MAX_MEAN_BOUNDARY_MS, np.round(err, 3)
    starts = [w.start for w in res.words]
    assert starts == sorted(starts)


def test_chunks_equal_the_whole_recording(model: SmallCTCModel, speech) -> None:
    x, _ = speech
    whole = model.log_probs(x)
    chunked = SmallCTCModel(model.net, "cpu", chunk_seconds=0.5).log_probs(x)
    assert whole.shape == chunked.shape
    assert torch.allclose(whole, chunked, atol=1e-4)


def test_bad_input(model: SmallCTCModel) -> None:
    with pytest.raises(ValueError, match="NaN"):
        model.log_probs(np.full(8000, np.nan, np.float32))
    with pytest.raises(ValueError, match="ms long"):
        model.log_probs(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="resample"):
        model.log_probs(np.zeros(8000, np.float32), 8000)
    with pytest.raises(ValueError, match="mono"):
        model.log_probs(np.zeros((2, 8000), np.float32))
    with pytest.raises(ValueError, match="chunk_seconds"):
        SmallCTCModel(model.net, "cpu", chunk_seconds=0)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json and model.pt"):
        load_small_ctc(tmp_path / "nothing")
    bad = tmp_path / "bad"
    shutil.copytree(bundled_path(), bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["tokens"] = cfg["tokens"][::-1]
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="tokens"):
        load_small_ctc(bad)
    shutil.copy(bundled_path() / "config.json", bad / "config.json")
    (bad / "model.pt").write_bytes(b"not a state dict")
    with pytest.raises(ValueError, match="cannot load"):
        load_small_ctc(bad)


def test_training_batches_are_deterministic() -> None:
    # the words, voices and augmentation of a batch follow from (seed, step); the audio itself only up to
    # the phase espeak-ng's wave generator carries from one call to the next (a fresh worker process
    # makes the same calls in the same order, so a training run repeats exactly)
    data = ta.Batches(seed=3, batch=2, real_share=0.0)
    a, b, c = data[5], data[5], data[6]
    assert torch.equal(a[1], b[1]) and torch.equal(a[3], b[3])
    assert abs(a[0].shape[2] - b[0].shape[2]) <= 1
    assert not (a[1].shape == c[1].shape and torch.equal(a[1], c[1]))
    X, targets, in_lens, tgt_lens = a
    assert X.shape[1] == 80 and int(tgt_lens.sum()) == targets.numel()
    assert bool((in_lens >= 2 * tgt_lens).all())
    assert int(targets.min()) > 0  # never the blank


def test_scoring_helpers() -> None:
    assert ta.cer("kitten", "sitting") == (3, 6)
    a, bar, b = TOKENS.index("a"), TOKENS.index("|"), TOKENS.index("b")
    lp = torch.full((7, 29), -9.0)
    for t, i in enumerate([a, a, 0, a, bar, bar, b]):
        lp[t, i] = 0.0
    assert ta.greedy(lp) == "aa b"
    assert ta.encode_words(["it's", "a"]) == [TOKENS.index(c) for c in "it's|a"]
    assert ta.clean_words("Press 2 now") == ["press", "two", "now"]
    assert ta.clean_words("un café") is None


def test_training_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "m"
    ta.main(
        ["--out", str(out), "--steps", "20", "--stop-after", "2", "--batch", "2", "--real-share", "0"]
        + ["--channels", "16", "--blocks", "1", "--kernel", "3", "--no-float16"]
    )
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["steps_run"] == 2 and cfg["training"]["steps_planned"] == 20
    m = load_small_ctc(out, "cpu")
    assert m.net.receptive_radius == 2
    assert tuple(m.log_probs(np.zeros(3200, np.float32)).shape) == (10, 29)
