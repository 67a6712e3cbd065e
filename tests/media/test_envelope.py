"""Envelope pyramid: exact against brute force, spikes survive every zoom, cache, cancel, bad input."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.media.audio import open_audio
from studio.media.cache import cache_dir
from studio.media.envelope import (
    BASE,
    FACTOR,
    build_envelope_task,
    envelope,
    envelope_path,
    load_envelope,
    load_or_build_envelope_task,
)
from studio.tasks.base import Cancelled, Progress, run

RATE = 8000
FRAMES = 300_037  # not a multiple of any bucket: every level ends in a partial bucket
CLICK = 123_457


def noise(frames: int = FRAMES, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((channels, frames)) * 0.05).astype(np.float32)
    x[0, CLICK] = 0.9  # a one-sample click on channel 0
    x[-1, CLICK + 1000] = -0.8
    return x


@pytest.fixture(params=["PCM_16", "FLOAT"])
def wav(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    p = tmp_path / f"noise_{request.param}.wav"
    sf.write(p, noise().T, RATE, subtype=request.param)
    return p


def brute_level(x: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    n = math.ceil(x.shape[1] / bucket)
    pad = n * bucket - x.shape[1]
    lo = np.pad(x, ((0, 0), (0, pad)), constant_values=np.inf).reshape(x.shape[0], n, bucket).min(axis=2)
    hi = np.pad(x, ((0, 0), (0, pad)), constant_values=-np.inf).reshape(x.shape[0], n, bucket).max(axis=2)
    return lo, hi


def tasks_progress(task) -> tuple[list[Progress], object]:
    seen: list[Progress] = []
    result = run(task, on_progress=seen.append)
    return seen, result


def test_every_level_is_exact(wav: Path):
    with open_audio(wav) as src:
        x = src.read()
        env = run(build_envelope_task(src, block=10_000))  # blocks not a multiple of BASE
        assert env.data.dtype == (np.int16 if "PCM_16" in wav.name else np.float32)
        assert env.levels >= 5 and env.sizes[-1] == 1
        for k in range(env.levels):
            lo, hi = env.level(k)
            blo, bhi = brute_level(x, BASE * FACTOR**k)
            np.testing.assert_array_equal(lo, blo)
            np.testing.assert_array_equal(hi, bhi)


def test_query_columns_match_brute_force(wav: Path):
    """Each column's min/max lies between the true min/max of the column shrunk and grown by one
    bucket (columns snap to bucket edges); and the whole line spans the view's true extremes."""
    rng = np.random.default_rng(1)
    with open_audio(wav) as src:
        x = src.read()
        env = envelope(src)
        dur = src.duration
        for _ in range(60):
            span = dur * 10 ** rng.uniform(-3.5, 0.3)
            t0 = rng.uniform(-0.2 * span, max(-0.1 * span, dur - 0.8 * span))
            pixels = int(rng.integers(50, 2500))
            times, values = env.query(t0, t0 + span, pixels)
            level = env.level_for(t0, t0 + span, pixels)
            spp = span * RATE / pixels
            assert values.shape == (2, times.size)
            assert np.all(times >= 0) and np.all(times <= dur) and np.all(np.diff(times) >= 0)
            if level < 0 and times.size and times.size == np.unique(times).size:
                idx = np.round(times * RATE).astype(int)  # raw samples themselves
                np.testing.assert_array_equal(values, x[:, idx])
                continue
            snap = 1 if level < 0 else env.buckets[level]
            assert times.size % 2 == 0 and np.all(times[::2] == times[1::2])
            assert times.size <= 2 * pixels
            first = max(0, math.floor(-t0 * RATE / spp))
            for j, col in enumerate(range(first, first + times.size // 2)):
                a, b = t0 * RATE + col * spp, t0 * RATE + (col + 1) * spp
                outer = x[:, max(0, math.floor(a) - snap) : min(FRAMES, math.ceil(b) + snap)]
                inner = x[:, max(0, math.ceil(a) + snap) : max(0, min(FRAMES, math.floor(b) - snap))]
                lo, hi = values[:, 2 * j], values[:, 2 * j + 1]
                assert np.all(lo >= outer.min(axis=1)) and np.all(hi <= outer.max(axis=1))
                if inner.shape[1]:
                    assert np.all(lo <= inner.min(axis=1)) and np.all(hi >= inner.max(axis=1))


def test_click_is_visible_at_every_zoom(wav: Path):
    with open_audio(wav) as src:
        env = envelope(src)
        t_click = CLICK / RATE
        for span in [src.duration * 3, src.duration, 10.0, 1.0, 0.2, 0.05, 0.01, 0.001]:
            for offset in (0.1, 0.5, 0.93):
                t0 = t_click - offset * span
                for pixels in (1920, 333, 7):
                    times, values = env.query(t0, t0 + span, pixels, channel=0)
                    assert values.ndim == 1
                    peak = int(np.argmax(values))
                    assert values[peak] == pytest.approx(0.9, abs=1 / 32768)
                    pixel = span / pixels
                    assert abs(times[peak] - t_click) <= pixel + env.buckets[0] / RATE
                    # channel 1's negative click is there too, in the all-channel query
                    t_neg = (CLICK + 1000) / RATE
                    if t0 <= t_neg <= t0 + span:
                        _, both = env.query(t0, t0 + span, pixels)
                        assert both[1].min() == pytest.approx(-0.8, abs=1 / 32768)
                        np.testing.assert_array_equal(both[0], values)


def test_edges_and_bad_arguments(tmp_path: Path):
    p = tmp_path / "short.wav"
    sf.write(p, noise(frames=200_000, channels=1).T, RATE, subtype="PCM_16")
    with open_audio(p) as src:
        env = envelope(src)
        for t0, t1 in [(1.0, 1.0), (2.0, 1.0), (-5.0, -1.0), (30.0, 40.0), (25.0, 26.0)]:
            times, values = env.query(t0, t1, 100)
            assert times.size == 0 and values.shape == (1, 0)
        with pytest.raises(ValueError, match="pixels"):
            env.query(0, 1, 0)
        with pytest.raises(ValueError, match="pixels"):
            env.query(0, 1, -3)
        with pytest.raises(ValueError, match="channel"):
            env.query(0, 1, 100, channel=1)
        # a view hanging over both ends: only the file's part has points, and all of it
        times, values = env.query(-10.0, 35.0, 900)
        assert times[0] >= 0 and times[-1] <= src.duration
        assert 0.3 * 900 < times.size / 2 < 0.6 * 900
        assert values.max() == pytest.approx(0.9, abs=1 / 32768)


def test_file_shorter_than_one_bucket(tmp_path: Path):
    p = tmp_path / "tiny.wav"
    x = np.array([[0.1, -0.5, 0.25, 0.0, 0.75]], np.float32)
    sf.write(p, x.T, RATE, subtype="FLOAT")
    with open_audio(p) as src:
        env = envelope(src)
        assert env.sizes == [1]
        lo, hi = env.level(0)
        assert (lo[0, 0], hi[0, 0]) == (-0.5, 0.75)
        times, values = env.query(0, 5 / RATE, 1000)  # fewer samples than pixels: the samples
        np.testing.assert_array_equal(values, x)
        np.testing.assert_array_equal(times, np.arange(5) / RATE)
        times, values = env.query(0, 1.0, 1000)  # all five in one 8-sample column: its min, max
        np.testing.assert_array_equal(values, [[-0.5, 0.75]])
        assert times[0] == times[1] == pytest.approx(2.5 / RATE)


def test_cache_hit_reads_nothing_and_is_identical(wav: Path):
    with open_audio(wav) as src:
        progress, first = tasks_progress(load_or_build_envelope_task(src))
        assert progress and progress[-1].fraction is not None and progress[-1].fraction > 0.9
        path = envelope_path(src)
        assert path.exists() and path.parent == cache_dir("envelope")
        assert [f.name for f in path.parent.iterdir()] == [path.name]
    with open_audio(wav) as again:
        progress, second = tasks_progress(load_or_build_envelope_task(again))
        assert progress == []  # no block was read
        assert isinstance(second.data, np.memmap)
        np.testing.assert_array_equal(np.asarray(second.data), first.data)
        np.testing.assert_array_equal(second.query(1, 20, 500)[1], first.query(1, 20, 500)[1])


def test_cancel_mid_build_leaves_nothing(wav: Path):
    with open_audio(wav) as src:
        task = build_envelope_task(src, block=4096)
        for _ in range(5):
            next(task)
        task.close()
        assert list(cache_dir("envelope").iterdir()) == []
        calls = 0

        def cancel() -> bool:
            nonlocal calls
            calls += 1
            return calls > 10

        with pytest.raises(Cancelled):
            run(build_envelope_task(src, block=4096), cancel=cancel)
        assert list(cache_dir("envelope").iterdir()) == []
        assert load_envelope(src) is None


def test_changed_file_gets_a_new_key(tmp_path: Path):
    p = tmp_path / "a.wav"
    sf.write(p, noise().T, RATE, subtype="PCM_16")
    with open_audio(p) as src:
        old_key = envelope_path(src)
        envelope(src)
    quiet = noise() * 0.1
    sf.write(p, quiet[:, :-5].T, RATE, subtype="PCM_16")
    with open_audio(p) as src:
        assert envelope_path(src) != old_key
        progress, env = tasks_progress(load_or_build_envelope_task(src))
        assert progress  # rebuilt, not the stale entry
        assert env.frames == FRAMES - 5
        assert env.level(env.levels - 1)[1].max() == pytest.approx(0.09, abs=1 / 32768)


def test_damaged_cache_entry_is_rebuilt(wav: Path):
    with open_audio(wav) as src:
        good = np.array(envelope(src).data)
        path = envelope_path(src)
        path.write_bytes(b"not an npy file at all")
        progress, env = tasks_progress(load_or_build_envelope_task(src))
        assert progress
        np.testing.assert_array_equal(env.data, good)
        with open(path, "r+b") as f:  # truncated entry
            f.truncate(os.path.getsize(path) // 2)
        assert load_envelope(src) is None and not path.exists()


def test_resampled_view_streams_blocks(tmp_path: Path):
    p = tmp_path / "r.wav"
    sf.write(p, noise().T, RATE, subtype="PCM_16")
    with open_audio(p) as src:
        view = src.resampled(4000, mono=True)
        env = envelope(view)
        assert env.data.dtype == np.float32 and env.channels == 1
        lo, hi = env.level(2)
        blo, bhi = brute_level(view.load(), BASE * FACTOR**2)
        np.testing.assert_allclose(lo, blo, atol=1e-5)
        np.testing.assert_allclose(hi, bhi, atol=1e-5)
        assert envelope_path(view) != envelope_path(src)


def test_nan_and_inf_samples_never_reach_the_drawn_line(tmp_path):
    from studio.media.envelope import envelope

    x = np.zeros((2, 48000), np.float32)
    x[0, 1000] = np.nan
    x[1, 2000] = np.inf
    x[0, 30000] = 0.5
    p = tmp_path / "damaged.wav"
    sf.write(p, x.T, 48000, subtype="FLOAT")
    with open_audio(p) as a:
        env = envelope(a)
        for t1 in (1.0, 0.05):  # a pyramid level and raw samples
            _, values = env.query(0.0, t1, 200)
            assert np.isfinite(values).all()
        _, values = env.query(0.0, 1.0, 200, channel=0)
        assert values.max() == pytest.approx(0.5)
