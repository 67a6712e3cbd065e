"""Acoustic models: a tiny randomly initialised wav2vec2 CTC model saved as a Hugging Face folder and loaded
back with `load_acoustic_model` (real transformers, real torch); vocabulary mapping; errors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from studio.models.acoustic import (  # noqa: E402
    HF_MISSING,
    Vocabulary,
    default_device,
    load_acoustic_model,
    vocabulary_from_tokens,
)

LETTERS = "abcdefghijklmnopqrstuvwxyz'"


def make_tiny_wav2vec2(
    folder: Path,
    *,
    letters: str = LETTERS,
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2),
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2),
    local: bool = False,
    seed: int = 0,
    architecture: str = "ctc",
) -> Path:
    """A wav2vec2 CTC model of ~170 kB with a character vocabulary, saved as a Hugging Face folder.

    ``local``: the self-attention output projections are zeroed, so each output frame depends only on
    the audio within the convolutions' reach (a model for testing chunking exactly)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2}
    for c in letters:
        vocab[c] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = transformers.Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    fe = transformers.Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )
    cfg = transformers.Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * len(conv_stride),
        conv_stride=conv_stride,
        conv_kernel=conv_kernel,
        num_feat_extract_layers=len(conv_stride),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    cls = transformers.Wav2Vec2ForCTC if architecture == "ctc" else transformers.Wav2Vec2ForPreTraining
    model = cls(cfg)
    if local:
        with torch.no_grad():
            for layer in model.wav2vec2.encoder.layers:
                layer.attention.out_proj.weight.zero_()
                layer.attention.out_proj.bias.zero_()
    transformers.utils.logging.disable_progress_bar()
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    fe.save_pretrained(str(folder))
    return folder


def conv_frames(n: int, kernels, strides) -> int:
    for k, s in zip(kernels, strides):
        n = (n - k) // s + 1
    return n


def noise(seconds: float, seed: int = 1, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (
        0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
        + 0.05 * rng.standard_normal(t.size)
    ).astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_wav2vec2(tmp_path_factory.mktemp("w2v") / "tiny", local=True)


def test_load_geometry_and_shapes(tiny):
    m = load_acoustic_model(tiny, device="cpu")
    assert m.sample_rate == 16000 and m.device.type == "cpu"
    assert m.frame_duration == pytest.approx(320 / 16000)
    assert m.receptive_field == 400
    v = m.vocabulary
    assert len(v) == 3 + len(LETTERS) and v.tokens[v.blank] == "<pad>" and v.tokens[v.delimiter] == "|"
    assert v.case == "lower" and v.tokens.index("<unk>") in v.special
    x = noise(1.37)
    lp = m.log_probs(x, sample_rate=16000)
    T = conv_frames(x.size, (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2))
    assert tuple(lp.shape) == (T, len(v)) and lp.dtype == torch.float32
    assert torch.allclose(lp.exp().sum(1), torch.ones(T), atol=1e-5)
    # a model is deterministic and depends on its input
    assert torch.equal(lp, m.log_probs(x))
    assert not torch.allclose(lp, m.log_probs(noise(1.37, seed=2)))


def test_frame_duration_follows_the_conv_stack(tmp_path):
    folder = make_tiny_wav2vec2(tmp_path / "m", conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4))
    m = load_acoustic_model(folder, device="cpu")
    assert (
        m.frame_duration == pytest.approx(80 / 16000)
        and m.receptive_field == 10 + (4 - 1) * 5 + (4 - 1) * 5 * 4
    )
    x = noise(0.5)
    assert m.log_probs(x).shape[0] == conv_frames(x.size, (10, 4, 4), (5, 4, 4))


def test_chunked_log_probs_equal_the_whole_file(tiny):
    x = noise(7.3)
    whole = load_acoustic_model(tiny, device="cpu", chunk_seconds=100.0)
    chunked = load_acoustic_model(tiny, device="cpu", chunk_seconds=1.0, context_seconds=0.5)
    T = whole.num_frames(x.size)
    assert len(list(chunked._chunks(T, x.size))) == 8 and len(list(whole._chunks(T, x.size))) == 1
    a, b = whole.log_probs(x), chunked.log_probs(x)
    assert a.shape == b.shape
    assert float((a - b).abs().max()) < 1e-4
    # without context the chunk edges differ: the comparison above can see a seam
    bare = load_acoustic_model(tiny, device="cpu", chunk_seconds=1.0, context_seconds=0.0)
    assert float((a - bare.log_probs(x)).abs().max()) > 1e-3


def test_vocabulary_mapping():
    up = vocabulary_from_tokens(["<pad>", "|", "<unk>", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'"])
    assert up.case == "upper"
    enc = up.encode("Don't!")
    assert [up.tokens[i] for i in enc.ids] == list("DON'T") and enc.dropped == ["!"]
    enc = up.encode("café")
    assert (
        [up.tokens[i] for i in enc.ids] == list("CAFE") and enc.replaced == [("É", "E")] and not enc.dropped
    )
    enc = up.encode("forty two")  # spoken parts: the delimiter between them
    assert "".join(up.tokens[i] for i in enc.ids) == "FORTY|TWO"
    enc = up.encode("ωμέγα")
    assert enc.ids == [] and enc.dropped == list("ΩΜΈΓΑ")
    # multi-character units: longest match first
    v = Vocabulary(("<b>", "s", "h", "sh", "i"), blank=0)
    assert [v.tokens[i] for i in v.encode("shish").ids] == ["sh", "i", "sh"]
    with pytest.raises(ValueError, match="blank id"):
        Vocabulary(("a", "b"), blank=5)
    with pytest.raises(ValueError, match="no token"):
        Vocabulary(("<pad>", "|"), blank=0, delimiter=1)


def test_words_with_no_known_character(tiny):
    m = load_acoustic_model(tiny, device="cpu")
    enc = m.encode("ωμ")
    assert enc.ids == [] and enc.dropped == ["ω", "μ"]
    assert m.tokenize("Naïve") == [m.vocabulary.tokens.index(c) for c in "naive"]


def test_bad_samples(tiny):
    m = load_acoustic_model(tiny, device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        m.log_probs(np.array([0.0, np.nan] * 400, np.float32))
    with pytest.raises(ValueError, match="mono"):
        m.log_probs(np.zeros((2, 1600), np.float32))
    with pytest.raises(ValueError, match="at least 25.0 ms"):
        m.log_probs(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="44100 Hz"):
        m.log_probs(np.zeros(16000, np.float32), sample_rate=44100)
    with pytest.raises(ValueError, match="no samples"):
        m.log_probs(np.zeros(0, np.float32))


def test_default_device(tiny):
    assert default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert load_acoustic_model(tiny).device.type == default_device()


def test_missing_and_wrong_folders(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_acoustic_model(tmp_path / "nowhere")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="file.bin.*folder"):
        load_acoustic_model(tmp_path / "file.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: not a Hugging Face model folder"):
        load_acoustic_model(tmp_path / "empty")
    bert = tmp_path / "bert"
    transformers.BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    ).save_pretrained(str(bert))
    shutil.copy(tiny / "model.safetensors", bert)
    shutil.copy(tiny / "vocab.json", bert)
    with pytest.raises(ValueError, match="bert: not a CTC speech model"):
        load_acoustic_model(bert)
    no_vocab = tmp_path / "novocab"
    shutil.copytree(tiny, no_vocab)
    (no_vocab / "vocab.json").unlink()
    with pytest.raises(ValueError, match="novocab: no vocab.json"):
        load_acoustic_model(no_vocab)


def test_pretrained_only_model_is_not_a_ctc_model(tmp_path):
    folder = make_tiny_wav2vec2(tmp_path / "pre", architecture="pretraining")
    with pytest.raises(ValueError, match="pre: not a CTC model: the weights have no CTC output layer"):
        load_acoustic_model(folder)


def test_corrupt_or_missing_weights(tmp_path, tiny):
    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="bad: cannot read the model weights"):
        load_acoustic_model(bad)
    (bad / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="bad: no model weights"):
        load_acoustic_model(bad)


def test_transformers_missing(monkeypatch, tiny):
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` now fails
    with pytest.raises(ImportError, match=r"install studio\[hf\] \(transformers\)"):
        load_acoustic_model(tiny)
    assert "studio[hf]" in HF_MISSING


def test_studio_align_with_a_users_model(tiny, tmp_path, capsys):
    """`studio align --method ctc --model DIR` end to end: the tiny (untrained) model's times mean
    nothing, but every word gets an interval, in order, inside the recording, written as a TextGrid."""
    import soundfile as sf

    from studio import io
    from studio.align import espeak
    from studio.cli import main

    syn = espeak.synthesize("the cat sat on the mat", voice="en-us")
    sf.write(tmp_path / "rec.wav", syn.samples, syn.sample_rate)
    (tmp_path / "t.txt").write_text("The cat sat on the mat.\n", encoding="utf-8")
    out = tmp_path / "out.TextGrid"
    rc = main(["align", str(tmp_path / "rec.wav"), str(tmp_path / "t.txt"), "-o", str(out),
               "--method", "ctc", "--model", str(tiny), "-q"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    words = [iv for iv in io.read(out).tier("words") if iv.label]
    assert [iv.label for iv in words] == ["The", "cat", "sat", "on", "the", "mat"]
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))
    assert words[-1].end <= syn.duration + 0.05
    # without --model: Studio's bundled model
    args = [
        "align",
        str(tmp_path / "rec.wav"),
        str(tmp_path / "t.txt"),
        "-o",
        str(out),
        "--method",
        "ctc",
        "-q",
    ]
    assert main(args) == 0, capsys.readouterr().err
    words = [iv for iv in io.read(out).tier("words") if iv.label]
    assert [iv.label for iv in words] == ["The", "cat", "sat", "on", "the", "mat"]
