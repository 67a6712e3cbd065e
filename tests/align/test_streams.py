"""Two recordings of the same speech, one faster and later (and one through another "microphone"):
the time map found by each method, against the figures measured in `studio.align.streams`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy import signal

from studio.align.streams import (
    CTW_MAX_CELLS,
    SOFT_DTW_MAX_CELLS,
    STREAM_METHODS,
    align_streams,
    size_problem,
)

SPEED, DELAY = 1.04, 0.7
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's shared_data


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    if not (SHARED / "conversation").is_dir():
        pytest.skip(f"no shared data at {SHARED}")
    x, sr = sf.read(SHARED / "conversation" / "sample.wav", dtype="float32")
    x = x[int(6 * sr) : int(18 * sr)]  # 12 s of the conversation
    fast = soxr.resample(x, sr * SPEED, sr).astype(np.float32)  # 4 % faster (and higher)
    b = np.concatenate([np.zeros(int(DELAY * sr), np.float32), fast])
    # "another microphone": telephone band, a strong tilt, white noise at 10 dB SNR
    c = signal.sosfilt(signal.butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos"), b)
    c = signal.lfilter([1, -0.95], [1], c)
    power = np.mean(c[int(DELAY * sr) :] ** 2)
    c = c + np.random.default_rng(0).standard_normal(c.size) * np.sqrt(power / 10)
    d = tmp_path_factory.mktemp("streams")
    sf.write(d / "a.wav", x, sr)
    sf.write(d / "same.wav", b, sr)
    sf.write(d / "mic.wav", (0.5 * c / np.abs(c).max()).astype(np.float32), sr)
    return d


# measured median / 90th percentile (ms) of |map - truth|; the test allows ~2.5x
MEASURED = {
    ("dtw", "same"): (2.5, 5.0),
    ("dtw", "mic"): (5.4, 16.9),
    ("soft-dtw", "same"): (1.7, 4.3),
    ("soft-dtw", "mic"): (3.8, 9.4),
    ("ctw", "same"): (2.3, 4.6),
    ("ctw", "mic"): (3.5, 11.5),
    ("gctw", "same"): (2.3, 4.6),
    ("gctw", "mic"): (3.7, 12.7),
    ("deep-ctw", "same"): (2.3, 4.6),
    ("deep-ctw", "mic"): (3.5, 12.0),
}


@pytest.mark.parametrize(("method", "case"), sorted(set(MEASURED) - {("deep-ctw", "same")}))  # slow, = CTW
def test_time_map_follows_speed_and_delay(pair, method, case):
    kw = {"epochs": 30} if method == "deep-ctw" else {}  # the figures hold with half the default epochs
    tm = align_streams(pair / "a.wav", pair / f"{case}.wav", method=method, **kw)
    assert tm.method == method and len(tm.a_times) == tm.details["frames_a"] and np.isfinite(tm.cost)
    t = np.arange(0.5, 11.5, 0.01)
    err = 1000 * np.abs(tm.map(t) - (DELAY + t / SPEED))
    med, p90 = np.median(err), np.percentile(err, 90)
    m_med, m_p90 = MEASURED[method, case]
    assert med < 2.5 * m_med + 1 and p90 < 2.5 * m_p90 + 1, (med, p90)
    assert np.all(np.diff(tm.b_times) >= -1e-9)  # monotone


def test_parameters_reach_the_engines(pair):
    a, b = pair / "a.wav", pair / "mic.wav"
    assert align_streams(a, b, method="ctw", dims=5).details["dims"] == 5
    assert align_streams(a, b, method="gctw", dims=4).details["dims"] == 4
    # a 0.1 s band cannot hold the 0.7 s delay: the map is pulled off the truth at the start
    t = np.arange(0.5, 2.0, 0.01)
    free = align_streams(a, b, band=0.0).map(t)
    tight = align_streams(a, b, band=0.1).map(t)
    assert np.median(np.abs(free - (DELAY + t / SPEED))) < 0.02
    assert np.median(np.abs(tight - (DELAY + t / SPEED))) > 0.1
    # a low temperature makes soft-DTW's expected alignment (nearly) the DTW path: rows sum to ~1
    hot = align_streams(a, b, method="soft-dtw", gamma=3.0).details["mean_row_mass"]
    cold = align_streams(a, b, method="soft-dtw", gamma=0.01).details["mean_row_mass"]
    assert cold < 1.2 < 1.5 < hot


def test_size_limits():
    assert size_problem("dtw", 7200, 7200) is None
    side = np.sqrt(CTW_MAX_CELLS) * 0.01
    for method in ("ctw", "gctw", "deep-ctw"):
        assert size_problem(method, side * 0.9, side * 0.9) is None
        assert "too large" in size_problem(method, side * 1.1, side * 1.1)
    side = np.sqrt(SOFT_DTW_MAX_CELLS) * 0.01
    assert size_problem("soft-dtw", side * 0.9, side * 0.9) is None
    assert "expected-alignment" in size_problem("soft-dtw", side * 1.1, side * 1.1)


def test_bad_input(tmp_path):
    sf.write(tmp_path / "short.wav", np.zeros(100, np.float32), 16000)
    sf.write(
        tmp_path / "ok.wav", np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1, 16000
    )
    ok = tmp_path / "ok.wav"
    with pytest.raises(ValueError, match="shorter than 0.1 s"):
        align_streams(tmp_path / "short.wav", ok)
    with pytest.raises(ValueError, match="unknown method"):
        align_streams(ok, ok, method="magic")
    for kw, match in (
        ({"band": -1.0}, "band"),
        ({"method": "soft-dtw", "gamma": 0.0}, "gamma"),
        ({"method": "ctw", "dims": 41}, "dims"),
        ({"method": "deep-ctw", "hidden": 10_000}, "hidden"),
    ):
        with pytest.raises(ValueError, match=match):
            align_streams(ok, ok, **kw)
    assert set(STREAM_METHODS) == {m for m, _ in MEASURED}
