"""torchaudio wav2vec2 checkpoints loaded without torchaudio: the fixtures in tests/data/models were made by
real torchaudio 2.11.1 (make_torchaudio_tiny.py, with torchaudio's emissions saved beside them); here
only torch and transformers run (real, no mocks)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from studio.models.acoustic import HFAcousticModel, load_acoustic_model  # noqa: E402
from studio.models.torchaudio_ckpt import load_torchaudio_wav2vec2  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
TINY = MODELS / "torchaudio_tiny.pth"  # layer_norm extractor, 3 conv layers, pre-norm, sidecar
TINY7 = (
    MODELS / "torchaudio_tiny7.pth"
)  # standard 7-layer extractor, group_norm, 32-row fairseq output, no sidecar
BASE_NAME = "wav2vec2_fairseq_base_ls960_asr_ls960.pth"  # WAV2VEC2_ASR_BASE_960H's file


def _maker():
    spec = importlib.util.spec_from_file_location("make_torchaudio_tiny", MODELS / "make_torchaudio_tiny.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # module level imports numpy only (torchaudio inside main())
    return mod


@pytest.fixture(scope="module")
def maker():
    return _maker()


@pytest.fixture(scope="module")
def tiny():
    return load_torchaudio_wav2vec2(TINY, "cpu")


@pytest.fixture
def base_named(tmp_path):
    """The 7-layer fixture under the file name of torchaudio's WAV2VEC2_ASR_BASE_960H bundle."""
    dst = tmp_path / BASE_NAME
    shutil.copy(TINY7, dst)
    return dst


def test_reproduces_torchaudio_emissions(tiny, maker):
    x = maker.signal()
    expected = np.load(MODELS / "torchaudio_tiny_expected.npy")
    assert isinstance(tiny, HFAcousticModel) and tiny.stride == 20 and tiny.sample_rate == 16000
    assert tiny.normalize and tiny.model.config.do_stable_layer_norm
    # the network itself: torchaudio's input normalisation (layer_norm, eps 1e-5) done here -> exact
    tiny.normalize = False
    try:
        xn = torch.nn.functional.layer_norm(torch.from_numpy(x), x.shape).numpy()
        got = tiny.log_probs(xn).numpy()
    finally:
        tiny.normalize = True
    assert got.shape == expected.shape == (799, 29)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # Studio's own normalisation (eps 1e-7): a tiny, bounded difference
    got = tiny.log_probs(x).numpy()
    assert np.abs(got - expected).max() < 3e-3


def test_standard_bundle_file_needs_no_sidecar(base_named, maker):
    """Known file name: 12 heads, the LibriSpeech labels, fairseq rows 1-3 dropped, raw input;
    7 conv layers: the standard strides (320 samples = 20 ms per frame)."""
    m = load_torchaudio_wav2vec2(base_named, "cpu")
    assert m.frame_duration == pytest.approx(0.02) and list(m.model.config.conv_stride) == [
        5,
        2,
        2,
        2,
        2,
        2,
        2,
    ]
    assert m.model.config.num_attention_heads == 12 and not m.normalize
    assert m.model.config.feat_extract_norm == "group" and not m.model.config.do_stable_layer_norm
    assert len(m.vocabulary) == 29 and m.vocabulary.tokens[:3] == ("-", "|", "E")
    assert m.blank == 0 and m.vocabulary.delimiter == 1 and m.vocabulary.case == "upper"
    got = m.log_probs(maker.signal()).numpy()
    np.testing.assert_allclose(got, np.load(MODELS / "torchaudio_tiny7_expected.npy"), atol=2e-5)
    # lower-case text is written in the upper-case labels
    assert m.tokenize("it's ok") == [m.vocabulary.tokens.index(c) for c in "IT'S|OK"]


def test_weight_norm_forms_and_wrappers(tmp_path, tiny, maker):
    """Older torch saves the positional conv as weight_g/weight_v, a model with weight norm removed
    as plain weight; a dict may wrap the state dict; torchaudio's normalising wrapper adds 'model.'."""
    sd = torch.load(TINY, weights_only=True)
    pos = "encoder.transformer.pos_conv_embed.conv."
    g, v = (
        sd.pop(pos + "parametrizations.weight.original0"),
        sd.pop(pos + "parametrizations.weight.original1"),
    )
    x = maker.signal()
    ref = tiny.log_probs(x).numpy()
    side = TINY.with_name(TINY.name + ".json").read_text(encoding="utf-8")
    plain = g * v / torch.linalg.vector_norm(v, dim=(0, 1), keepdim=True)
    variants = {
        "gv.pth": {**sd, pos + "weight_g": g, pos + "weight_v": v},
        "plain.pt": {**sd, pos + "weight": plain},
        "wrapped.pth": {
            "state_dict": {
                "model." + k: t for k, t in {**sd, pos + "weight_g": g, pos + "weight_v": v}.items()
            }
        },
    }
    for name, obj in variants.items():
        torch.save(obj, tmp_path / name)
        (tmp_path / f"{name}.json").write_text(side, encoding="utf-8")
        got = load_acoustic_model(tmp_path / name, "cpu").log_probs(x).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-5, err_msg=name)


def test_load_acoustic_model_dispatches_on_the_suffix(base_named):
    m = load_acoustic_model(base_named, "cpu", chunk_seconds=7.0, context_seconds=1.0)
    assert isinstance(m, HFAcousticModel) and m.path == str(base_named)
    assert (m.chunk_seconds, m.context_seconds) == (7.0, 1.0)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_acoustic_model(base_named.with_name("absent.pth"))


def test_ctc_align_runs_on_speech(base_named):
    """The random model's times mean nothing; the aligner must still give every word an ordered span."""
    from studio.align import espeak
    from studio.align.ctc_aligner import ctc_align

    syn = espeak.synthesize("the cat sat on the mat", voice="en-us")
    m = load_acoustic_model(base_named, "cpu")
    res = ctc_align((syn.samples, syn.sample_rate), [["the", "cat", "sat", "on", "the", "mat"]], m)
    assert [w.index for w in res.words] == list(range(6))
    assert all(0 <= w.start <= w.end <= syn.duration + 0.05 for w in res.words)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(res.words, res.words[1:]))
    assert np.isfinite(res.cost)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(TINY7.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"corrupt\.pth: not a readable torch state dict"):
        load_acoustic_model(bad)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint", encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes\.pt: not a readable torch state dict"):
        load_acoustic_model(text)
    # a state dict of another network
    other = tmp_path / "linear.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(ValueError, match=r"linear\.pth: not a torchaudio wav2vec2 state dict"):
        load_acoustic_model(other)
    # a Hugging Face pytorch_model.bin given as a file
    hf = tmp_path / "pytorch_model.bin"
    torch.save({"wav2vec2." + k: t for k, t in torch.load(TINY, weights_only=True).items()}, hf)
    with pytest.raises(ValueError, match="Hugging Face checkpoint"):
        load_acoustic_model(hf)
    # a pretrained-only model: no output layer
    sd = torch.load(TINY7, weights_only=True)
    head = {k: sd.pop(k) for k in ("aux.weight", "aux.bias")}
    torch.save(sd, tmp_path / BASE_NAME)
    with pytest.raises(ValueError, match="not a CTC model"):
        load_acoustic_model(tmp_path / BASE_NAME)
    # an unknown file name and no sidecar: the labels cannot be known
    unknown = tmp_path / "my_model.pth"
    torch.save({**sd, **head}, unknown)
    with pytest.raises(ValueError, match=r"my_model\.pth: the output labels .* write .*my_model\.pth\.json"):
        load_acoustic_model(unknown)
    # a sidecar whose labels do not fit the 32 output rows
    side = unknown.with_name("my_model.pth.json")
    side.write_text(json.dumps({"labels": list("-|ab")}), encoding="utf-8")
    with pytest.raises(ValueError, match="32 output classes but 4 labels"):
        load_acoustic_model(unknown)
    # ... or contradicts the tensors, or has a typo, or is not JSON
    for content, msg in (
        ({"labels": ["-"] * 32, "encoder_embed_dim": 48}, "encoder_embed_dim=48 but the tensors"),
        ({"lables": ["-"] * 32}, "unknown key"),
        ({"labels": list("-|" + "abcdefghijklmnopqrstuvwxyz'.,@"), "num_heads": 5}, "5 attention heads"),
    ):
        side.write_text(json.dumps(content), encoding="utf-8")
        with pytest.raises(ValueError, match=msg):
            load_acoustic_model(unknown)
    side.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable JSON file"):
        load_acoustic_model(unknown)


def test_nonstandard_extractor_needs_its_strides(tmp_path):
    """3 conv layers: no standard strides to assume; the sidecar without them is refused."""
    dst = tmp_path / "tiny.pth"
    shutil.copy(TINY, dst)
    side = json.loads(TINY.with_name(TINY.name + ".json").read_text(encoding="utf-8"))
    del side["extractor_conv_layer_config"]
    dst.with_name("tiny.pth.json").write_text(json.dumps(side), encoding="utf-8")
    with pytest.raises(ValueError, match="3 conv layers, not the standard 7"):
        load_torchaudio_wav2vec2(dst)
    side["extractor_conv_layer_config"] = [[16, 10, 5], [16, 5, 2], [16, 3, 2]]  # wrong kernel
    dst.with_name("tiny.pth.json").write_text(json.dumps(side), encoding="utf-8")
    with pytest.raises(ValueError, match="does not match the file's conv layers"):
        load_torchaudio_wav2vec2(dst)
