"""The CTC transcript aligner: on posteriors made from espeak-ng's exact word times (a model that hears
perfectly, so the times it must find are known), and end to end with a tiny wav2vec2 model loaded from a
Hugging Face folder (plumbing: its random outputs mean nothing)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")

from studio.align import espeak  # noqa: E402
from studio.align.ctc_aligner import ctc_align, ctc_align_task, ctc_targets  # noqa: E402
from studio.media.audio import open_audio  # noqa: E402
from studio.models.acoustic import AcousticModel, vocabulary_from_tokens  # noqa: E402
from studio.tasks.base import Progress  # noqa: E402

RATE = 16000
HOP = 320  # 20 ms frames, as wav2vec2's
TOKENS = ["<pad>", "<unk>", "|", *"abcdefghijklmnopqrstuvwxyz'"]


class HearingModel(AcousticModel):
    """A CTC "model" that hears the words of an espeak synthesis exactly.

    Within each synthesized word, the word's letters share its span evenly and each frame's posterior
    peaks (0.9) on the letter whose share holds the frame's centre; outside words the blank peaks,
    with the delimiter second (0.3); in the frame that holds the boundary between two touching words
    the delimiter is as likely as the letter. Every other class gets 1e-4 before normalisation."""

    def __init__(self, syn: espeak.Synthesis):
        super().__init__(vocabulary_from_tokens(TOKENS), RATE, HOP / RATE, "cpu")
        self.words = [(w.start, w.end, w.text) for w in syn.words]

    def log_probs_task(self, samples):
        x = self.check_samples(samples)
        T = x.size // HOP
        v = self.vocabulary
        p = np.full((T, len(v)), 1e-4)
        d = self.frame_duration
        centres = (np.arange(T) + 0.5) * d
        p[:, v.blank] = 0.6
        p[:, v.delimiter] = 0.3
        for s, e, text in self.words:
            ids = self.tokenize(text)
            inside = (centres >= s) & (centres < e)
            j = np.minimum(((centres[inside] - s) / (e - s) * len(ids)).astype(int), len(ids) - 1)
            rows = np.nonzero(inside)[0]
            p[rows] = 1e-4
            p[rows, np.asarray(ids)[j]] = 0.9
        for (_, e, _), (s, _, _) in zip(self.words, self.words[1:]):
            if abs(s - e) < 1e-6 and int(e / d) < T:  # touching words: the delimiter in the boundary frame
                p[int(e / d), v.delimiter] = p[int(e / d)].max()
        yield Progress(0.5, "hearing")
        return torch.log(torch.as_tensor(p / p.sum(1, keepdims=True), dtype=torch.float32))


def _record(lines):
    syn = espeak.synthesize(lines, voice="en")
    import soxr

    return syn, soxr.resample(syn.samples, syn.sample_rate, RATE).astype(np.float32)


def _errors(result, syn, which):
    ref = [syn.words[i] for i in which]
    got = [result.words[k] for k in range(len(which))]
    return np.array(
        [abs(g.start - r.start) for g, r in zip(got, ref)] + [abs(g.end - r.end) for g, r in zip(got, ref)]
    )


LINES = [["the", "quick", "brown", "fox", "jumps"], ["over", "the", "lazy", "dog"]]


def test_word_times_from_exact_posteriors():
    syn, x = _record(LINES)
    res = ctc_align((x, RATE), LINES, HearingModel(syn))
    assert res.method == "ctc" and len(res.words) == 9
    err = _errors(res, syn, range(9))
    assert err.max() < 0.02, err
    for w, text in zip(res.words, [t for line in LINES for t in line]):
        assert not w.missing and w.confidence > 0.5
        assert "".join(ph[2] for ph in w.phones) == text
        assert w.phones[0][0] == w.start and w.phones[-1][1] == w.end
        assert all(a[1] <= b[0] for a, b in zip(w.phones, w.phones[1:]))
    assert all(a.end <= b.start for a, b in zip(res.words, res.words[1:]))


def test_star_absorbs_speech_not_in_the_transcript():
    # "this is" and "that" are spoken but not transcribed; their letters t, h (and s) are the next words'
    spoken = [["this", "is", "the", "quick", "brown", "fox", "that", "jumps"], ["over", "the", "lazy", "dog"]]
    syn, x = _record(spoken)
    which = [2, 3, 4, 5, 7, 8, 9, 10, 11]
    res = ctc_align((x, RATE), LINES, HearingModel(syn))
    err = _errors(res, syn, which)
    assert err.max() < 0.02, err
    untranscribed = sum(syn.words[i].end - syn.words[i].start for i in (0, 1, 6))
    assert abs(res.details["star_frames"] * 0.02 - untranscribed) < 0.1
    assert not any(w.missing for w in res.words)
    # plain CTC (no star) starts "the" on the t and h of "this", and "jumps" in "that"
    plain = ctc_align((x, RATE), LINES, HearingModel(syn), star_penalty=None)
    assert plain.words[0].start < syn.words[0].start + 0.05
    assert _errors(plain, syn, which).max() > 0.2
    assert plain.details["star_frames"] == 0


def test_a_word_the_recording_lacks_is_flagged():
    syn, x = _record(LINES)
    transcript = [["the", "quick", "brown", "fox", "jumps"], ["purple", "over", "the", "lazy", "dog"]]
    res = ctc_align((x, RATE), transcript, HearingModel(syn))
    flagged = [w.index for w in res.words if w.missing]
    assert flagged == [5] and res.words[5].confidence == 0.0
    others = [w for w in res.words if w.index != 5]
    assert all(w.confidence > 0.5 for w in others)
    assert all(a.end <= b.start for a, b in zip(res.words, res.words[1:]))


def test_characters_outside_the_vocabulary():
    syn, x = _record([["the", "cafe", "is", "open"]])
    transcript = [["the", "café", "is!", "open", "ωμ"]]
    targets, owner, labels, untok, report = ctc_targets(transcript, HearingModel(syn))
    assert "".join(labels) == "the|cafe|is|open" and untok == [4]
    assert report == {"dropped": {"!": 1, "ω": 1, "μ": 1}, "replaced": {"é": "e"}}
    assert list(owner[:4]) == [0, 0, 0, -1]
    res = ctc_align((x, RATE), transcript, HearingModel(syn))
    assert _errors(res, syn, range(4)).max() < 0.02
    last = res.words[4]
    assert last.missing and last.start == last.end == res.words[3].end and last.phones == []
    assert res.details["untokenizable"] == [4] and res.details["dropped"]["!"] == 1


def test_windowed_alignment_of_a_long_recording_matches_the_exact_one():
    lines = LINES * 3
    syn, x = _record(lines)
    model = HearingModel(syn)
    exact = ctc_align((x, RATE), lines, model)
    win = ctc_align((x, RATE), lines, model, max_exact_bytes=0, window_frames=150)
    assert win.details["windowed"] and not exact.details["windowed"]
    assert win.details["frames"] > 3 * 150
    assert [(w.start, w.end) for w in win.words] == [(w.start, w.end) for w in exact.words]
    assert _errors(win, syn, range(len(win.words))).max() < 0.02


def test_bad_input():
    syn, x = _record(LINES)
    model = HearingModel(syn)
    with pytest.raises(ValueError, match="no words"):
        ctc_align((x, RATE), [[], []], model)
    with pytest.raises(ValueError, match="no word of the transcript can be written"):
        ctc_align((x, RATE), [["ωμ"]], model)
    with pytest.raises(ValueError, match="too short for the transcript"):
        ctc_align((x[:4000], RATE), LINES, model)
    with pytest.raises(ValueError, match="NaN"):
        ctc_align((np.full(16000, np.nan, np.float32), RATE), LINES, model)
    with pytest.raises(ValueError, match="star_penalty"):
        ctc_align((x, RATE), LINES, model, star_penalty=math.inf)
    with pytest.raises(ValueError, match="word 1 is int"):
        ctc_align((x, RATE), [["the", 3]], model)


# ------------------------------------------------------------------------------ a real (tiny) model


def _tiny_wav2vec2(folder: Path) -> Path:
    transformers = pytest.importorskip("transformers")
    folder.mkdir()
    vocab = {t: i for i, t in enumerate(TOKENS)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>")
    fe = transformers.Wav2Vec2FeatureExtractor(sampling_rate=RATE, do_normalize=True)
    cfg = transformers.Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, feat_extract_norm="layer", do_stable_layer_norm=True, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.utils.logging.disable_progress_bar()
    transformers.Wav2Vec2ForCTC(cfg).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    fe.save_pretrained(str(folder))
    return folder


def test_tiny_wav2vec2_on_an_espeak_recording(tmp_path):
    from studio.models.acoustic import load_acoustic_model

    model = load_acoustic_model(
        _tiny_wav2vec2(tmp_path / "tiny"), device="cpu", chunk_seconds=1.0, context_seconds=0.5
    )
    syn = espeak.synthesize(LINES, voice="en")
    wav = tmp_path / "speech.wav"
    sf.write(wav, syn.samples, syn.sample_rate)  # 22050 Hz: the aligner resamples to the model's 16 kHz
    with open_audio(wav) as source:
        progress = []
        task = ctc_align_task(source, LINES, model)
        try:
            while True:
                progress.append(next(task))
        except StopIteration as stop:
            res = stop.value
        duration = source.duration
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("chunk 2 of" in p.message for p in progress)
    words = [t for line in LINES for t in line]
    assert [w.index for w in res.words] == list(range(len(words)))
    d = model.frame_duration
    for w, text in zip(res.words, words):
        assert 0 <= w.start < w.end <= duration + d
        assert [ph[2] for ph in w.phones] == list(text)  # one unit per letter, each at least one frame
        assert all(ph[1] - ph[0] >= d - 1e-9 for ph in w.phones)
        assert 0.0 <= w.confidence <= 1.0
    assert all(a.end <= b.start for a, b in zip(res.words, res.words[1:]))
    assert res.details["frames"] == model.num_frames(round(duration * RATE))
    assert math.isfinite(res.cost) and res.cost > 0
