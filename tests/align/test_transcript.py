"""Transcript alignment by synthesis + DTW, on real speech with a reference made outside this project
(GRID's own word alignment of swwp2s) and on espeak speech with exact word times."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from studio import io
from studio.align import espeak
from studio.align.transcript import align_transcript, align_transcript_task
from studio.cli import main
from studio.tasks.base import Cancelled, run


def _errors(tier, ref):
    got = [(iv.start, iv.end) for iv in tier]
    return np.array(
        [abs(g[0] - r[0]) for g, r in zip(got, ref)] + [abs(g[1] - r[1]) for g, r in zip(got, ref)]
    )


def test_grid_words_against_the_corpus_alignment(grid):
    media, ref = grid
    s = align_transcript(media, " ".join(w for _, _, w in ref), level="phone", method="tts-dtw")
    words = s.tier("words")
    assert [iv.label for iv in words] == [w for _, _, w in ref]
    err = _errors(words, ref)
    assert err.mean() < 0.08 and err.max() < 0.2, err  # measured: 51 ms mean (bench/align_accuracy.py)
    assert all(0 <= iv.confidence <= 1 for iv in words)
    phones = s.tier("phones")
    assert phones.parent == "words" and len(phones) >= 15
    for ph in phones:  # every phone inside its word
        w = words.at(ph.mid)
        assert w is not None and w.start - 1e-6 <= ph.start and ph.end <= w.end + 1e-6


def test_numbers_keep_the_users_words(grid):
    media, ref = grid
    s = align_transcript(media, "Set white with P 2 soon.")
    words = s.tier("words")
    assert [iv.label for iv in words] == ["Set", "white", "with", "P", "2", "soon"]  # case kept
    two = words[4]
    assert abs(two.start - ref[4][0]) < 0.1  # "2" is spoken "two" and found where "two" is


def test_espeak_speech_with_exact_word_times(tmp_path):
    lines = [["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"],
             ["studio", "aligns", "transcripts", "to", "speech", "in", "many", "languages"]]  # fmt: skip
    syn = espeak.synthesize(lines, voice="en-us", rate=140, line_gap=0.6)
    lead = 0.5
    x = np.concatenate([np.zeros(int(lead * syn.sample_rate), np.float32), syn.samples])
    sf.write(tmp_path / "rec.wav", x, syn.sample_rate)
    ref = [(w.start + lead, w.end + lead) for w in syn.words]
    s = align_transcript(tmp_path / "rec.wav", "\n".join(" ".join(line) for line in lines), method="tts-dtw")
    err = _errors(s.tier("words"), ref)
    assert err.mean() < 0.03 and err.max() < 0.1, err  # another voice and rate than the aligner's
    assert [iv.label for iv in s.tier("lines")] == [" ".join(line) for line in lines]


def test_bad_transcripts(grid, tmp_path):
    media, _ = grid
    with pytest.raises(ValueError, match="no words"):
        align_transcript(media, "   \n  ")
    with pytest.raises(ValueError, match="no words to align"):
        align_transcript(media, "[laughter] (coughs)")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt: not UTF-8"):
        align_transcript(media, bad)
    with pytest.raises(ValueError, match="unknown method"):
        align_transcript(media, "set white", method="magic")


def test_cancel(grid):
    media, ref = grid
    task = align_transcript_task(media, " ".join(w for _, _, w in ref))
    with pytest.raises(Cancelled):
        run(task, cancel=lambda: True)


def test_cli_align_writes_a_textgrid_and_reads_a_tier(grid, tmp_path, capsys):
    media, ref = grid
    txt = tmp_path / "t.txt"
    txt.write_text(" ".join(w for _, _, w in ref) + "\n", encoding="utf-8")
    out = tmp_path / "out.TextGrid"
    assert main(["align", str(media), str(txt), "-o", str(out), "-q"]) == 0
    s = io.read(out)
    assert [iv.label for iv in s.tier("words") if iv.label] == [w for _, _, w in ref]
    # a transcript tier of an annotation file
    eaf = tmp_path / "in.eaf"
    io.write(io.read(out, "textgrid"), eaf)
    doc = io.read(tmp_path / "in.eaf")
    assert main(["align", str(media), str(eaf), "--tier", "nope", "-o", str(tmp_path / "x.json")]) == 1
    assert "no tier named 'nope'" in capsys.readouterr().err
    del doc
    assert main(["align", str(tmp_path / "missing.wav"), str(txt), "-o", str(out)]) == 1


def test_conversation_utterances_with_long_pauses(shared_data, tmp_path):
    """Spontaneous telephone speech, two speakers, timed transcript made outside this project; played
    twice with its 7 s of leading silence, so the second copy starts after a long pause: without
    compacting long pauses the path stretched words over them (3 s mean error on three copies)."""
    conv = shared_data / "conversation"
    rows = [line.split(None, 5) for line in (conv / "sample.stm").read_text().splitlines() if line.strip()]
    x, sr = sf.read(conv / "sample.wav", dtype="float32")
    sf.write(tmp_path / "twice.wav", np.tile(x, 2), sr)
    period = len(x) / sr
    ref = [(float(r[3]) + k * period, float(r[4]) + k * period) for k in range(2) for r in rows]
    s = align_transcript(tmp_path / "twice.wav", "\n".join([r[5] for r in rows] * 2), method="tts-dtw")
    lines = s.tier("lines")
    assert len(lines) == len(ref)
    err = _errors(lines, ref)
    assert err.mean() < 0.3 and np.mean(err <= 0.25) > 0.6, err  # measured: 177 ms, 72 % within 250 ms


def test_features_in_chunks_equal_one_pass():
    import librosa

    from studio.align.tts_dtw import _mel_chunked, _rms_chunked

    rng = np.random.default_rng(0)
    for n in (400, 401, 48017, 16000 * 20 + 5):
        y = (rng.standard_normal(n) * 0.1).astype(np.float32)
        ref = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=40)
        got = _mel_chunked(y, block=700)
        assert got.shape == ref.shape
        assert np.allclose(got, ref, rtol=1e-6, atol=1e-12)
        ref_rms = librosa.feature.rms(y=y, frame_length=400, hop_length=160)[0]
        got_rms = _rms_chunked(y, block=700)
        assert got_rms.shape == ref_rms.shape and np.allclose(got_rms, ref_rms, rtol=1e-5, atol=1e-9)
