"""Spectrogram tiles (seamless, cached, stale-aware, thread-safe), pitch and intensity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from studio.media.audio import open_audio
from studio.media.spectrogram import (
    SpectrogramService,
    TileKey,
    compute_tile,
    intensity,
    pitch,
    pitch_task,
    stitch,
)
from studio.tasks.base import Progress, run

N_FFT, HOP = 512, 160


def write(path: Path, x: np.ndarray, rate: int) -> Path:
    sf.write(path, np.atleast_2d(x).T, rate, subtype="FLOAT")
    return path


def chirp(rate: int, seconds: float, f0: float = 200.0, f1: float = 3000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(0)
    k = (f1 - f0) / seconds
    return (0.4 * np.sin(2 * np.pi * (f0 * t + k / 2 * t**2)) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def tone(rate: int, seconds: float, hz: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def reference_db(y: np.ndarray, hop: int, mel: np.ndarray | None = None) -> np.ndarray:
    """The whole-signal spectrogram by librosa, in the service's units (dBFS power, -120 floor)."""
    spec = librosa.stft(y, n_fft=N_FFT, hop_length=hop, window="hann", center=True, pad_mode="constant")
    power = np.abs(spec) ** 2 * (2 / np.hanning(N_FFT + 1)[:-1].sum()) ** 2
    if mel is not None:
        power = mel @ power
    return 10 * np.log10(np.maximum(power, 1e-12))


def all_tiles(svc: SpectrogramService, level: int):
    n = svc.params.n_frames(level, svc.view.frames)
    return [svc.result(TileKey(level, i)) for i in range(-(-n // svc.params.tile_frames))]


@pytest.fixture(scope="module")
def chirp16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("spec") / "chirp16.wav", chirp(16000, 4.013), 16000)


@pytest.mark.parametrize("level", [0, 1, 3])  # level 3: hop 1280 > 2 n_fft, frames read one by one
def test_stitched_tiles_equal_the_whole_signal_spectrogram(chirp16: Path, level: int):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src, tile_frames=37)  # many seams
        times, freqs, db = stitch(all_tiles(svc, level))
        ref = reference_db(src.read()[0], HOP << level)
        assert db.shape == ref.shape
        np.testing.assert_allclose(db, ref, atol=2e-3)
        np.testing.assert_allclose(times, np.arange(ref.shape[1]) * (HOP << level) / 16000)
        np.testing.assert_allclose(freqs, np.fft.rfftfreq(N_FFT, 1 / 16000))


def test_mel_tiles_equal_the_whole_signal_mel_spectrogram(chirp16: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src, kind="mel", n_mels=64, fmin=50.0, fmax=7000.0, tile_frames=50)
        _, freqs, db = stitch(all_tiles(svc, 0))
        mel = librosa.filters.mel(sr=16000, n_fft=N_FFT, n_mels=64, fmin=50.0, fmax=7000.0)
        ref = reference_db(src.read()[0], HOP, mel)
        np.testing.assert_allclose(db, ref, atol=2e-3)
        assert freqs.shape == (64,) and 50 < freqs[0] < freqs[-1] < 7000


def test_resampled_stereo_source_is_seamless_too(tmp_path: Path):
    y = chirp(44100, 3.3)
    p = write(tmp_path / "c44.wav", np.stack([y, 0.5 * y]), 44100)
    with open_audio(p) as src:
        svc = SpectrogramService(src, tile_frames=40)
        _, _, db = stitch(all_tiles(svc, 0))
        whole = svc.view.read()[0]  # the 16 kHz mono analysis signal, resampled in one go
        ref = reference_db(whole, HOP)
        loud = ref > -60
        np.testing.assert_allclose(db[loud], ref[loud], atol=5e-3)
        assert np.abs(db - ref).max() < 1.0


def test_chirp_peak_moves_up_and_tone_reads_in_dbfs(chirp16: Path, tmp_path: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src)
        times, freqs, db = stitch(svc.tiles(0, src.duration))
        peak = freqs[np.argmax(db, axis=0)]
        inner = (times > 0.1) & (times < 3.9)
        expected = 200 + (3000 - 200) / 4.013 * times[inner]
        np.testing.assert_allclose(peak[inner], expected, atol=2 * 16000 / N_FFT)
        assert np.all(np.diff(peak[inner]) >= -16000 / N_FFT)
    p = write(tmp_path / "t.wav", tone(16000, 1.0, 1000.0, amp=0.5), 16000)
    with open_audio(p) as src:
        _, freqs, db = stitch(SpectrogramService(src).tiles(0, 1))
        assert freqs[np.argmax(db[:, 50])] == pytest.approx(1000, abs=16000 / N_FFT)
        assert db[:, 50].max() == pytest.approx(20 * np.log10(0.5), abs=1.5)  # -6 dBFS


def test_requests_cache_and_stale_tags(chirp16: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src, tile_frames=50)
        first = svc.request(0.0, 1.5, "view-1")
        assert svc.latest_tag == "view-1" and svc.is_current("view-1")
        assert first.ready == [] and first.missing == first.keys
        assert [k.index for k in first.keys] == [0, 1, 2, 3]  # 1.5 s = 150 frames + half a hop
        # the user scrolls on before the tiles arrive
        second = svc.request(2.0, 3.0, "view-2")
        done = [run(svc.tile_task(k, first.tag)) for k in first.missing]
        assert all(r.tag == "view-1" for r in done)
        assert not any(svc.is_current(r.tag) for r in done)  # stale: the caller drops them
        assert svc.is_current(second.tag)
        # ... but they were cached: going back costs nothing
        again = svc.request(0.0, 1.5, "view-3")
        assert again.missing == [] and [r.key for r in again.ready] == first.keys
        assert all(r.tag == "view-3" for r in again.ready)
        for r, d in zip(again.ready, done):
            np.testing.assert_array_equal(r.db, d.db)
            assert r.t0 == pytest.approx(r.times[0] - 0.005) and r.t1 > r.t0
        auto = svc.request(0.0, 0.1)
        assert auto.tag is not None and svc.is_current(auto.tag) and not svc.is_current("view-3")


def test_tile_task_shape_and_cancel(chirp16: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src)
        task = svc.tile_task(TileKey(0, 1), "t")
        assert isinstance(next(task), Progress)
        task.close()  # cancelled before it computed anything
        assert svc.cached_keys() == []
        seen: list[Progress] = []
        result = run(svc.tile_task(TileKey(0, 1), "t"), on_progress=seen.append)
        assert len(seen) == 1 and result.key == TileKey(0, 1) and svc.cached_keys() == [TileKey(0, 1)]


def test_lru_cache_is_bounded_by_bytes(chirp16: Path):
    with open_audio(chirp16) as src:
        tile_bytes = 257 * 20 * 4
        svc = SpectrogramService(src, tile_frames=20, cache_bytes=3 * tile_bytes)
        for i in range(6):
            svc.result(TileKey(0, i))
            assert svc.cached_bytes <= 3 * tile_bytes
        assert svc.cached_keys() == [TileKey(0, 3), TileKey(0, 4), TileKey(0, 5)]
        svc.result(TileKey(0, 3))  # a hit refreshes it
        svc.result(TileKey(0, 0))
        assert svc.cached_keys() == [TileKey(0, 5), TileKey(0, 3), TileKey(0, 0)]


def test_tiles_from_worker_threads_match(chirp16: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src, tile_frames=16)
        keys = [TileKey(0, i) for i in range(20)] + [TileKey(2, i) for i in range(6)]
        expected = [compute_tile(svc.view, svc.params, k.level, k.index) for k in keys]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda k: run(svc.tile_task(k, "x")), keys))
        for e, g in zip(expected, got):
            np.testing.assert_array_equal(e, g.db)


def test_level_follows_the_zoom(chirp16: Path):
    with open_audio(chirp16) as src:
        svc = SpectrogramService(src, tile_frames=32)
        assert svc.level_for(0, 4, None) == 0
        assert svc.level_for(0, 0.5, 2000) == 0  # 4 samples per pixel: finest
        for seconds, pixels in [(4.0, 100), (4.0, 30), (2.0, 60)]:
            level = svc.level_for(0, seconds, pixels)
            frames = seconds * 16000 / (HOP << level)
            assert level > 0 and pixels <= frames < 2 * pixels
        assert svc.level_for(0, 4.0, 1) == svc.max_level
        assert svc.params.n_frames(svc.max_level, svc.view.frames) <= 32
        with pytest.raises(ValueError, match="pixels"):
            svc.level_for(0, 1, 0)
        assert svc.tile_keys(5.0, 6.0, 0) == [] and svc.tile_keys(2.0, 1.0, 0) == []
        with pytest.raises(IndexError):
            compute_tile(svc.view, svc.params, 0, 10_000)


def test_bad_parameters(chirp16: Path):
    with open_audio(chirp16) as src:
        with pytest.raises(ValueError, match="kind"):
            SpectrogramService(src, kind="cqt")
        with pytest.raises(ValueError, match="fmax"):
            SpectrogramService(src, kind="mel", fmax=9000.0)
        with pytest.raises(ValueError, match="method"):
            pitch(src, method="crepe")
        with pytest.raises(ValueError, match="fmin"):
            pitch(src, fmin=300, fmax=200)
        with pytest.raises(ValueError, match="positive"):
            intensity(src, min_pitch=0)


# -- pitch -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def burst(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Silence 0-0.6 s, a 220 Hz tone 0.6-1.4 s, silence to 2 s; 22.05 kHz stereo."""
    rate = 22050
    x = np.zeros(2 * rate, np.float32)
    x[int(0.6 * rate) : int(1.4 * rate)] = tone(rate, 0.8, 220.0)[: int(1.4 * rate) - int(0.6 * rate)]
    return write(tmp_path_factory.mktemp("burst") / "burst.wav", np.stack([x, x]), rate)


@pytest.mark.parametrize("method", ["yin", "pyin"])
def test_pitch_of_a_tone_burst(burst: Path, method: str):
    with open_audio(burst) as src:
        times, f0, prob = pitch(src, method=method)
        assert times.shape == f0.shape == prob.shape and times[0] == 0.0
        np.testing.assert_allclose(np.diff(times), 0.01)
        inside = (times > 0.7) & (times < 1.3)
        outside = (times < 0.5) | (times > 1.5)
        np.testing.assert_allclose(f0[inside], 220.0, rtol=0.01)
        assert np.all(prob[inside] > 0.5)
        assert np.all(np.isnan(f0[outside])) and np.all(prob[outside] < 0.45)


def test_pitch_of_a_range_is_on_the_global_grid(tmp_path: Path):
    rate = 16000
    t = np.arange(int(rate * 65)) / rate  # 65 s: three 30 s chunks
    f = 150 + 50 * np.sin(2 * np.pi * 0.05 * t)
    x = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / rate)
    p = write(tmp_path / "glide.wav", x, rate)
    with open_audio(p) as src:
        seen: list[Progress] = []
        times, f0, _ = run(pitch_task(src, method="yin"), on_progress=seen.append)
        assert len(seen) == 3 and seen[-1].fraction == 1.0
        expected = np.interp(times, t, f)
        voiced = ~np.isnan(f0)
        assert voiced.mean() > 0.99
        np.testing.assert_allclose(f0[voiced], expected[voiced], rtol=0.02)
        # a sub-range gives the same frames, at the same times
        sub_t, sub_f0, _ = pitch(src, 29.503, 31.2, method="yin")
        i = int(round(sub_t[0] * 100))
        assert sub_t[0] == pytest.approx(29.51) and sub_t[-1] == pytest.approx(31.2)
        np.testing.assert_allclose(sub_t, times[i : i + sub_t.size])
        np.testing.assert_allclose(sub_f0, f0[i : i + sub_t.size], rtol=1e-4)
        empty_t, empty_f0, _ = pitch(src, 30.001, 30.002, method="yin")
        assert empty_t.size == empty_f0.size == 0


def test_pitch_of_a_male_grid_speaker(shared_data: Path):
    clip = shared_data / "grid" / "swwp2s.mpg"
    words = [line.split() for line in (shared_data / "grid" / "swwp2s.align").read_text().split("\n") if line]
    with open_audio(clip) as src:
        times, f0, prob = pitch(src, method="pyin")
        voiced = ~np.isnan(f0)
        assert 0.2 < voiced.mean() < 0.8
        assert np.mean((f0[voiced] > 70) & (f0[voiced] < 250)) > 0.95
        assert 80 < np.nanmedian(f0) < 160
        # voicing falls in the words, not in the leading and trailing silences (units of 1/25000 s)
        in_sil = np.zeros(times.size, bool)
        for start, end, word in words:
            if word == "sil":
                in_sil |= (times >= int(start) / 25000 + 0.05) & (times < int(end) / 25000 - 0.05)
        assert voiced[in_sil].mean() < 0.1 < voiced[~in_sil].mean()
        _, f0_yin, _ = pitch(src, method="yin")
        assert 80 < np.nanmedian(f0_yin) < 160


# -- intensity ---------------------------------------------------------------------------------


def test_intensity_is_high_only_during_the_burst(burst: Path):
    with open_audio(burst) as src:
        times, db = intensity(src)
        np.testing.assert_allclose(np.diff(times), 0.01)
        assert times[0] >= 0.032 and times[-1] <= 2 - 0.032  # whole 64 ms windows only
        inside = (times > 0.65) & (times < 1.35)
        outside = (times < 0.55) | (times > 1.45)
        # a 0.5-amplitude sine: mean square 0.125 Pa^2 -> 10 log10(0.125 / 4e-10) = 84.95 dB
        np.testing.assert_allclose(db[inside], 10 * np.log10(0.125 / 4e-10), atol=0.05)
        assert np.all(db[outside] == -100.0)  # digital silence reads the floor
        rising = (times > 0.55) & (times < 0.65)
        assert np.all(np.diff(db[rising]) > 0)


def test_intensity_averages_channel_power_and_ranges(tmp_path: Path):
    rate = 16000
    x = np.stack([tone(rate, 1.0, 300.0, amp=0.5), np.zeros(rate, np.float32)])
    p = write(tmp_path / "lr.wav", x, rate)
    with open_audio(p) as src:
        times, db = intensity(src)
        np.testing.assert_allclose(db, 10 * np.log10(0.125 / 2 / 4e-10), atol=0.05)
        sub_t, sub_db = intensity(src, 0.2, 0.3)
        assert sub_t[0] == pytest.approx(0.2) and sub_t[-1] == pytest.approx(0.3) and sub_t.size == 11
        i = int(round(0.2 * 100 - times[0] * 100))
        np.testing.assert_allclose(sub_db, db[i : i + 11])
        t_long, _ = intensity(src, min_pitch=50)
        assert times.size - t_long.size == 6  # a 128 ms window fits in fewer places
    dc = tone(rate, 1.0, 300.0, amp=0.1) + np.float32(0.2)
    with open_audio(write(tmp_path / "dc.wav", dc, rate)) as src:
        _, without_dc = intensity(src)
        _, with_dc = intensity(src, subtract_mean=False)
        np.testing.assert_allclose(without_dc, 10 * np.log10(0.005 / 4e-10), atol=0.05)
        np.testing.assert_allclose(with_dc, 10 * np.log10(0.045 / 4e-10), atol=0.05)
