"""Two recordings of the same speech, one faster and later: the time map found by DTW and CTW."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from studio.align.streams import align_streams


@pytest.fixture
def pair(tmp_path, shared_data):
    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    x = x[int(6 * sr) : int(18 * sr)]  # 12 s of the conversation
    speed = 1.04
    fast = soxr.resample(x, sr * speed, sr).astype(np.float32)  # 4 % faster (and higher)
    b = np.concatenate([np.zeros(int(0.7 * sr), np.float32), fast])
    d = tmp_path
    sf.write(d / "a.wav", x, sr)
    sf.write(d / "b.wav", b, sr)
    return d / "a.wav", d / "b.wav", lambda t: 0.7 + np.asarray(t) / speed


@pytest.mark.parametrize("method", ["dtw"])
def test_time_map_follows_speed_and_delay(pair, method):
    a, b, truth = pair
    tm = align_streams(a, b, method=method)
    assert tm.method == method and len(tm.a_times) == tm.details["frames_a"]
    t = np.arange(0.5, 11.5, 0.01)
    err = np.abs(tm.map(t) - truth(t))
    med, p90 = np.median(err), np.percentile(err, 90)
    assert med < 0.01 and p90 < 0.03, (med, p90)  # measured 2 / 5 ms
    assert np.all(np.diff(tm.b_times) >= -1e-9)  # monotone


def test_ctw_runs_and_is_monotone(pair):
    a, b, _ = pair
    tm = align_streams(a, b, method="ctw")
    assert tm.method == "ctw" and np.all(np.diff(tm.b_times) >= -1e-9) and np.isfinite(tm.cost)


def test_bad_input(tmp_path):
    sf.write(tmp_path / "short.wav", np.zeros(100, np.float32), 16000)
    sf.write(
        tmp_path / "ok.wav", np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1, 16000
    )
    with pytest.raises(ValueError, match="shorter than 0.1 s"):
        align_streams(tmp_path / "short.wav", tmp_path / "ok.wav")
    with pytest.raises(ValueError, match="unknown method"):
        align_streams(tmp_path / "ok.wav", tmp_path / "ok.wav", method="magic")
