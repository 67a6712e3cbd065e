"""Audio features and the `Features` type: values against librosa, known content, streaming, files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.media import features_audio
from studio.media.features import Features, combine, extract, extract_many, extract_task
from studio.media.probe import MediaError
from studio.tasks.base import Cancelled, Progress, run

SR = 16000
HOP = 0.01


def _noise_and_tone(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR) + 77  # not a whole number of hops
    y = (rng.standard_normal(n) * 0.05).astype(np.float32)
    t = np.arange(len(y[SR // 2 : 3 * SR // 2])) / SR
    y[SR // 2 : 3 * SR // 2] += (0.4 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 3 * t) ** 2).astype(
        np.float32
    )
    return y


def _write(path: Path, y: np.ndarray, rate: int = SR) -> Path:
    sf.write(str(path), y, rate, subtype="FLOAT")
    return path


# -- against librosa -------------------------------------------------------------------------------


def test_logmel_and_mfcc_with_deltas_match_librosa() -> None:
    import librosa

    y = _noise_and_tone()
    f = extract_many(y, ["logmel", "mfcc"], sample_rate=SR, deltas=2)
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=400, hop_length=160, n_mels=80)
    db = librosa.power_to_db(mel, top_db=None)
    cep = librosa.feature.mfcc(S=db, n_mfcc=13)
    ref = np.concatenate([cep, librosa.feature.delta(cep), librosa.feature.delta(cep, order=2)]).T
    assert f["logmel"].values.shape == db.T.shape == (1 + len(y) // 160, 80)
    np.testing.assert_allclose(f["logmel"].values, db.T, atol=2e-3)
    assert f["mfcc"].values.shape == (db.shape[1], 39)
    assert (
        f["mfcc"].names[:2] == ("c0", "c1") and f["mfcc"].names[13] == "d0" and f["mfcc"].names[-1] == "dd12"
    )
    np.testing.assert_allclose(f["mfcc"].values, ref, atol=2e-2)


def test_rms_and_chroma_match_librosa() -> None:
    import librosa

    y = _noise_and_tone(seed=1)
    f = extract_many(y, ["rms", "chroma"], sample_rate=SR)
    rms = librosa.feature.rms(y=y, frame_length=400, hop_length=160)[0]
    chroma = librosa.feature.chroma_stft(y=y, sr=SR, n_fft=4096, hop_length=160, tuning=0.0)
    np.testing.assert_allclose(f["rms"].values[:, 0], rms, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(f["chroma"].values, chroma.T, atol=1e-4)


def test_mfcc_without_deltas_and_other_settings() -> None:
    y = _noise_and_tone(1.0)
    f = extract(y, "mfcc", sample_rate=SR, n_mfcc=20, n_mels=40, win=0.032, hop=0.02)
    assert f.values.shape == (1 + len(y) // 320, 20)
    assert f.hop == pytest.approx(0.02) and f.params["n_fft"] == 512
    np.testing.assert_allclose(f.times, np.arange(len(f)) * 0.02)


# -- known content ---------------------------------------------------------------------------------


def test_tone_between_silences_is_found_at_the_right_times(tmp_path: Path) -> None:
    rate = 44100  # the file is resampled to the 16 kHz analysis rate on the way
    y = np.zeros(3 * rate, np.float32)
    t = np.arange(rate) / rate
    y[rate : 2 * rate] = 0.5 * np.sin(2 * np.pi * 1000 * t)
    path = _write(tmp_path / "tone.wav", y, rate)
    f = extract_many(path, ["rms", "logmel"])
    mel_energy = 10 * np.log10((10 ** (f["logmel"].values / 10)).sum(axis=1))  # dB of the summed mel power
    for kind, values in (("rms", f["rms"].values[:, 0]), ("logmel", mel_energy)):
        times = f[kind].times
        above = times[values > (values.max() + values.min()) / 2]
        assert above[0] == pytest.approx(1.0, abs=HOP * 1.001), kind
        assert above[-1] == pytest.approx(2.0, abs=HOP * 1.001), kind
        assert len(above) == pytest.approx(101, abs=2), kind  # one block, no holes
    rms = f["rms"].values[:, 0]
    assert rms[(f["rms"].times > 1.05) & (f["rms"].times < 1.95)] == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert rms[f["rms"].times < 0.95].max() < 1e-4 and rms[f["rms"].times > 2.05].max() < 1e-4


def test_onset_strength_peaks_at_clicks() -> None:
    clicks = [0.31, 0.8, 1.255, 1.9, 2.47]
    rng = np.random.default_rng(3)
    y = (rng.standard_normal(3 * SR) * 0.002).astype(np.float32)
    for c in clicks:
        i = int(c * SR)
        y[i : i + 32] += np.hanning(32).astype(np.float32) * 0.8
    f = extract(y, "onset", sample_rate=SR)
    v = f.values[:, 0]
    assert v[0] == 0 and (v >= 0).all()
    peaks = [i for i in range(1, len(v) - 1) if v[i] >= v[i - 1] and v[i] > v[i + 1]]
    top = sorted(sorted(peaks, key=lambda i: -v[i])[: len(clicks)])
    np.testing.assert_allclose(f.times[top], clicks, atol=2 * HOP)
    assert v[top].min() > 5 * np.median(v)


@pytest.mark.parametrize(("freq", "pitch_class"), [(440.0, "A"), (261.63, "C"), (392.0, "G")])
def test_chroma_of_a_tone_peaks_at_its_pitch_class(freq: float, pitch_class: str) -> None:
    t = np.arange(SR) / SR
    y = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    f = extract(y, "chroma", sample_rate=SR)
    assert f.names == features_audio.CHROMA_NAMES
    middle = f.slice(0.2, 0.8).values
    assert (middle.argmax(axis=1) == f.names.index(pitch_class)).all()
    assert np.median(np.sort(middle, axis=1)[:, -2]) < 0.5  # one clear peak


# -- time base, streaming, sources -----------------------------------------------------------------


def test_streamed_in_tiny_blocks_equals_whole_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    y = _noise_and_tone(2.0, seed=5)
    kinds = ["logmel", "mfcc", "rms", "onset", "chroma"]
    whole = extract_many(y, kinds, sample_rate=SR, deltas=2)
    monkeypatch.setattr(features_audio, "READ_BLOCK", 997)  # not a multiple of the hop, shorter than a window
    monkeypatch.setattr(features_audio, "FRAME_BUDGET", 1)  # batches of 64 frames
    path = _write(tmp_path / "x.wav", y)
    streamed = extract_many(path, kinds, deltas=2)
    for k in kinds:
        np.testing.assert_allclose(streamed[k].values, whole[k].values, rtol=1e-6, atol=1e-5, err_msg=k)
        np.testing.assert_array_equal(streamed[k].times, whole[k].times)
        assert streamed[k].source == str(path) and whole[k].source is None


def test_resampled_stream_agrees_with_resampling_the_whole_signal(tmp_path: Path) -> None:
    import soxr

    rate = 22050
    rng = np.random.default_rng(9)
    y = (rng.standard_normal(20 * rate) * 0.1).astype(np.float32)  # > 1 block of the resampled stream
    stereo = np.stack([y, 0.5 * y], axis=1)
    path = _write(tmp_path / "s.wav", stereo, rate)
    f = extract(path, "logmel")
    ref = extract(soxr.resample(y * 0.75, rate, SR, quality="HQ"), "logmel", sample_rate=SR)
    assert len(f) == 1 + int(round(len(y) * SR / rate)) // 160
    np.testing.assert_allclose(f.values[: len(ref)], ref.values[: len(f)], atol=0.05)


def test_times_follow_the_centred_frame_convention() -> None:
    for n in (1, 159, 160, 161, 16000, 16077):
        f = extract(np.ones(n, np.float32), "rms", sample_rate=SR)
        assert len(f) == 1 + n // 160
        np.testing.assert_array_equal(f.times, np.arange(len(f)) * 0.01)
    y = np.zeros(SR, np.float32)
    y[8000] = 1.0  # an impulse at 0.5 s is in the windows of the frames centred within 12.5 ms of it
    f = extract(y, "rms", sample_rate=SR)
    hit = f.times[f.values[:, 0] > 0]
    np.testing.assert_allclose(hit, [0.49, 0.5, 0.51])


def test_audio_source_objects_and_video_containers(tmp_path: Path) -> None:
    from studio.media.audio import open_audio

    y = _noise_and_tone(1.0)
    path = _write(tmp_path / "a.wav", y)
    with open_audio(path) as src:
        a = extract(src, "logmel")
        b = extract(src.resampled(SR, mono=True), "logmel")
        c = extract(src.resampled(8000), "logmel")  # a view at another rate: features still at 16 kHz
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_allclose(a.values[:, :40], c.values[:, :40], atol=30)  # low bands survive 8 kHz
    assert a.source == str(path)


def test_progress_and_cancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features_audio, "FRAME_BUDGET", 1)
    path = _write(tmp_path / "p.wav", _noise_and_tone(2.0))
    seen: list[Progress] = []
    f = extract(path, "mfcc", on_progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert len(fractions) > 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "mfcc of p.wav" in seen[0].message
    stop = threading.Event()
    task = extract_task(path, "mfcc", cache=False)  # the first run cached it
    with pytest.raises(Cancelled):
        run(task, on_progress=lambda p: stop.set(), cancel=stop)
    assert len(f) == 1 + (2 * SR + 77) // 160


def test_bad_input_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="nope.wav: no such file"):
        extract(tmp_path / "nope.wav", "rms")
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio at all " * 20)
    with pytest.raises(MediaError, match="bad.wav"):
        extract(bad, "rms")
    y = np.zeros(1000, np.float32)
    with pytest.raises(ValueError, match="unknown feature kind 'mel'"):
        extract(y, "mel", sample_rate=SR)
    with pytest.raises(TypeError, match="unknown feature parameter"):
        extract(y, "rms", sample_rate=SR, n_melz=4)
    with pytest.raises(TypeError, match="sample_rate"):
        extract(y, "rms")
    with pytest.raises(ValueError, match="non-empty"):
        extract(np.zeros(0, np.float32), "rms", sample_rate=SR)
    with pytest.raises(ValueError, match="deltas"):
        extract(y, "mfcc", sample_rate=SR, deltas=3)
    with pytest.raises(ValueError, match="fmax"):
        extract(y, "logmel", sample_rate=SR, fmax=9000)
    with pytest.raises(ValueError, match="n_mfcc"):
        extract(y, "mfcc", sample_rate=SR, n_mels=10, n_mfcc=13)


# -- the Features type -----------------------------------------------------------------------------


def _ramp(n: int = 50, hop: float = 0.04, dims: int = 2) -> Features:
    t = np.arange(n) * hop
    values = np.stack([t * (d + 1) for d in range(dims)], axis=1)
    return Features(values, t, hop, "ramp", [f"v{d}" for d in range(dims)], {"a": 1}, "/x/clip.mp4")


def test_lookup_and_slice() -> None:
    f = _ramp()
    assert f.index(-3) == 0 and f.index(0.05) == 1 and f.index(0.061) == 2 and f.index(99) == 49
    np.testing.assert_allclose(f.at(0.41), [0.4, 0.8], atol=1e-6)
    s = f.slice(0.4, 0.8)
    np.testing.assert_allclose(s.times, np.arange(10, 20) * 0.04)
    assert s.kind == "ramp" and s.names == ("v0", "v1") and s.source == "/x/clip.mp4"
    assert len(f.slice(5, 6)) == 0
    np.testing.assert_array_equal(f.column("v1"), f.values[:, 1])
    with pytest.raises(KeyError, match="v9"):
        f.column("v9")
    with pytest.raises(ValueError):
        Features(np.zeros((3, 2)), np.zeros(4), 0.1, "k", ["a", "b"])
    with pytest.raises(ValueError):
        Features(np.zeros((3, 2)), np.zeros(3), 0.1, "k", ["a"])


def test_resample_to_finer_and_coarser_grids() -> None:
    f = _ramp()  # 25 fps ramp, value = t
    fine = f.resample(0.01)
    assert fine.hop == 0.01 and len(fine) == 197
    np.testing.assert_allclose(fine.times, np.arange(197) * 0.01)
    np.testing.assert_allclose(fine.values[:, 0], fine.times, atol=1e-6)  # linear: exact on a ramp
    audio = Features(np.arange(300.0), np.arange(300) * 0.01, 0.01, "a", ["x"])
    coarse = audio.resample(0.04)  # mean over [t - 20 ms, t + 20 ms): frames k-2 .. k+1
    np.testing.assert_allclose(coarse.values[1:-1, 0], np.arange(1, 75)[:-1] * 4 - 0.5)
    assert coarse.values[0, 0] == pytest.approx(0.5)  # only frames 0 and 1 at the start
    nearest = f.interp([0.0, 0.019, 0.021, 5.0], "nearest")
    np.testing.assert_allclose(nearest.values[:, 0], [0.0, 0.0, 0.04, 1.96], atol=1e-6)
    with pytest.raises(ValueError, match="method"):
        f.interp([0.0], "cubic")


def test_nan_frames_are_skipped_by_mean_and_kept_by_linear() -> None:
    v = np.arange(20.0)
    v[5:15] = np.nan  # e.g. no face in these frames
    f = Features(v, np.arange(20) * 0.04, 0.04, "face", ["x"])
    coarse = f.resample(0.16)
    assert np.isfinite(coarse.values[0, 0]) and np.isnan(coarse.values[2, 0])
    fine = f.resample(0.02)
    assert np.isnan(fine.values[(fine.times > 0.2) & (fine.times < 0.56)]).all()
    assert np.isfinite(fine.values[fine.times < 0.16]).all()


def test_combine_puts_audio_and_video_rates_on_one_grid() -> None:
    y = _noise_and_tone(2.0)
    f = extract_many(y, ["rms", "mfcc"], sample_rate=SR)
    video = Features(np.ones(50), 0.02 + np.arange(50) / 25.0, 0.04, "motion", ["motion"])
    both = combine([f["rms"], f["mfcc"], video], 0.04)
    assert both.names[0] == "rms.rms" and both.names[1] == "mfcc.c0" and both.names[-1] == "motion.motion"
    assert both.values.shape == (50, 15)
    np.testing.assert_allclose(both.times, np.arange(50) * 0.04)
    k = 30
    window = f["rms"].values[
        (f["rms"].times >= k * 0.04 - 0.02 - 1e-9) & (f["rms"].times < k * 0.04 + 0.02 - 1e-9), 0
    ]
    assert both.values[k, 0] == pytest.approx(window.mean(), rel=1e-5)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    f = extract(_noise_and_tone(1.0), "mfcc", sample_rate=SR, deltas=1)
    written = f.save(tmp_path / "out" / "feat.npy")
    assert written == tmp_path / "out" / "feat.npy"
    assert sorted(p.name for p in written.parent.iterdir()) == ["feat.json", "feat.npy", "feat.times.npy"]
    np.testing.assert_array_equal(np.load(written), f.values)  # plain numpy reads the values
    meta = json.loads((tmp_path / "out" / "feat.json").read_text())
    assert meta["kind"] == "mfcc" and meta["frames"] == len(f) and meta["params"]["deltas"] == 1
    g = Features.load(written)
    np.testing.assert_array_equal(g.values, f.values)
    np.testing.assert_array_equal(g.times, f.times)
    assert (g.kind, g.names, g.hop, g.params) == (f.kind, f.names, f.hop, f.params)
    h = f.save_npy(tmp_path / "noext")
    assert h.name == "noext.npy" and Features.load(tmp_path / "noext").names == f.names


def test_load_reports_missing_and_broken_parts(tmp_path: Path) -> None:
    f = _ramp()
    path = f.save(tmp_path / "r.npy")
    (tmp_path / "r.times.npy").unlink()
    with pytest.raises(MediaError, match=r"r\.times\.npy: no such file"):
        Features.load(path)
    f.save(path)
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(MediaError, match=r"r\.json: is not readable"):
        Features.load(path)
    f.save(path)
    np.save(tmp_path / "r.times.npy", np.zeros(3))
    with pytest.raises(MediaError, match="inconsistent"):
        Features.load(path)
    (tmp_path / "r.npy").write_bytes(b"junk")
    with pytest.raises(MediaError, match=r"r\.npy: is not a readable"):
        Features.load(path)


# -- real speech -----------------------------------------------------------------------------------


def read_align(path: Path) -> list[tuple[float, float, str]]:
    """GRID .align: ``start end word`` in units of 1/25000 s (a 3 s clip ends at 75000)."""
    rows = []
    for line in path.read_text().splitlines():
        start, end, word = line.split()
        rows.append((int(start) / 25000, int(end) / 25000, word))
    return rows


def test_grid_rms_is_higher_in_words_than_in_silence(shared_data: Path) -> None:
    grid = shared_data / "grid"
    words = read_align(grid / "swwp2s.align")
    assert words[-1][1] == pytest.approx(2.98) and words[0][2] == "sil"
    f = extract_many(grid / "swwp2s.mpg", ["rms", "logmel", "onset"])
    rms = f["rms"]
    assert rms.duration == pytest.approx(3.0, abs=0.1)
    speech = np.concatenate([rms.slice(a, b).values[:, 0] for a, b, w in words if w != "sil"])
    silence = np.concatenate([rms.slice(a, b).values[:, 0] for a, b, w in words if w == "sil"])
    assert speech.mean() > 3 * silence.mean()
    energy = f["logmel"].values.mean(axis=1)
    in_words = np.zeros(len(rms), bool)
    for a, b, w in words:
        if w != "sil":
            in_words |= (rms.times >= a) & (rms.times < b)
    assert energy[in_words].mean() > energy[~in_words].mean() + 10  # dB
    np.testing.assert_array_equal(f["onset"].times, rms.times)


def test_features_of_a_file_are_cached_per_kind_and_parameters(tmp_path):
    import soundfile as sf

    from studio.media.cache import cache_dir
    from studio.tasks.base import run

    rate = 16000
    x = (0.3 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)).astype(np.float32)
    p = tmp_path / "tone.wav"
    sf.write(p, x, rate)
    steps: list = []
    first = run(extract_task(p, "mfcc", deltas=1), on_progress=steps.append)
    assert steps  # computed
    steps.clear()
    again = run(extract_task(p, "mfcc", deltas=1), on_progress=steps.append)
    assert steps == []  # read from the cache: nothing to compute
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.times, first.times)
    assert again.params == first.params
    run(extract_task(p, "mfcc", deltas=2), on_progress=steps.append)
    assert steps  # other parameters: another entry
    steps.clear()
    run(extract_task(p, "mfcc", deltas=1, cache=False), on_progress=steps.append)
    assert steps
    assert len(list(cache_dir("features").glob("*.times.npy"))) == 2
    sf.write(p, x * 0.5, rate)  # the file changes: the old entries no longer apply
    steps.clear()
    changed = run(extract_task(p, "mfcc", deltas=1), on_progress=steps.append)
    assert steps and not np.array_equal(changed.values, first.values)
