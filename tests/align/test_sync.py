"""Stream sync on real speech: GRID clips and AMI meeting audio shifted and stretched by known amounts."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from studio.align.sync import pearson_lags, sync_audio, sync_av, xcorr_offset
from studio.cli import main
from studio.media.audio import open_audio

RATE = 16000


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def shifted(x: np.ndarray, delay: float, seed: int = 0) -> np.ndarray:
    """`x` delayed by `delay` seconds (silence prepended) or advanced (start cut), with a little noise."""
    k = int(round(abs(delay) * RATE))
    y = np.concatenate([np.zeros(k, np.float32), x]) if delay > 0 else x[k:]
    return y + 0.003 * np.random.default_rng(seed).standard_normal(len(y)).astype(np.float32)


def test_xcorr_offset_finds_a_fractional_lag():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(500)
    b = np.interp(np.arange(500) + 7.5, np.arange(500), a)  # b[i] = a[i + 7.5]: lag +7.5 frames
    lag, peak, conf = xcorr_offset(a, b, hop=0.01)
    assert lag == pytest.approx(0.075, abs=0.003)
    assert peak > 0.5 and conf > 0.3
    with pytest.raises(ValueError, match="too short"):
        xcorr_offset(a[:2], b, 0.01)
    for bad in (-1.0, float("nan")):  # were "argmax of an empty sequence" / "cannot convert NaN"
        with pytest.raises(ValueError, match="max_offset must be"):
            xcorr_offset(a, b, 0.01, max_lag=bad)
    assert xcorr_offset(a, b, 0.01, max_lag=float("inf"))[0] == lag  # inf: every lag


def test_pearson_lags_is_each_overlap_correlation():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(60)
    b = a[5:] * 3 + 10  # a[i] = (b[i - 5] - 10) / 3
    vals = pearson_lags(a, b, np.arange(-8, 9), min_overlap=20)
    assert np.argmax(vals) == 8 + 5 and vals[13] == pytest.approx(1.0)


@pytest.mark.parametrize("clip", ["swwp2s", "bbaf2n", "lwbsza"])
def test_grid_audio_against_itself_shifted(shared_data: Path, tmp_path: Path, clip: str):
    x = open_audio(shared_data / "grid" / f"{clip}.mpg").load(RATE, mono=True)[0]
    a = tmp_path / "a.wav"
    sf.write(a, x, RATE)
    for delay in (0.2, -0.2, 1.0, -1.0):
        b = tmp_path / "b.wav"
        sf.write(b, shifted(x, delay), RATE)
        r = sync_audio(a, b)
        assert r.offset == pytest.approx(-delay, abs=0.04), (delay, r)
        assert r.confidence > 0.1
        assert "not estimated" in r.details["drift"]  # 3 s is too short to measure drift


def test_drift_and_offset_on_six_minutes_of_meeting_audio(shared_data: Path, tmp_path: Path):
    parts = [sf.read(f, dtype="float32")[0] for f in sorted((shared_data / "ami").glob("*.wav"))]
    x = np.concatenate([p if p.ndim == 1 else p.mean(1) for p in parts])
    assert len(x) > 120 * RATE
    a = tmp_path / "a.wav"
    sf.write(a, x, RATE)
    for ppm, delay in ((100.0, 0.7), (-250.0, -1.3)):
        # B's clock runs `ppm` fast: B time = true time * (1 + ppm), then B starts `delay` late
        b = tmp_path / "b.wav"
        sf.write(b, shifted(soxr.resample(x, RATE, RATE * (1 + ppm * 1e-6)), delay), RATE)
        r = sync_audio(a, b)
        assert r.offset == pytest.approx(-delay, abs=0.01)
        expected = (1 / (1 + ppm * 1e-6) - 1) * 1e6
        assert r.drift_ppm == pytest.approx(expected, abs=5)
        # an event 300 s into B maps onto A within a few ms
        true_ta = (300 - delay) / (1 + ppm * 1e-6)
        assert float(r.map_time(300)) == pytest.approx(true_ta, abs=0.005)


def test_audio_of_unrelated_recordings_has_low_confidence(shared_data: Path):
    r = sync_audio(shared_data / "grid" / "swwp2s.mpg", shared_data / "grid" / "bbaf2n.mpg")
    same = sync_audio(shared_data / "grid" / "swwp2s.mpg", shared_data / "grid" / "swwp2s.mpg")
    assert same.offset == pytest.approx(0, abs=0.005)
    assert r.confidence < same.confidence / 2


def test_unrelated_recordings_say_drift_was_not_estimated(shared_data: Path, tmp_path: Path):
    # enough overlap for a drift estimate, but no window of B matches A: the result must not
    # present 0 ppm as a measurement
    files = sorted((shared_data / "ami").glob("*.wav"))
    for name, chosen in (("a.wav", files[:2]), ("b.wav", files[2:4])):
        sf.write(tmp_path / name, np.concatenate([sf.read(f, dtype="float32")[0] for f in chosen]), RATE)
    r = sync_audio(tmp_path / "a.wav", tmp_path / "b.wav")
    assert "drift_windows" not in r.details
    assert r.details["drift"].startswith("not estimated")


def test_av_lip_sync_of_grid_clip_and_shifted_audio(shared_data: Path, tmp_path: Path):
    clip = shared_data / "grid" / "swwp2s.mpg"
    own = sync_av(clip)
    assert own.offset == pytest.approx(0.0, abs=0.08)  # GRID clips are in sync (two video frames)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lags past the clip's ends are skipped without NaN warnings
        assert sync_av(clip, max_offset=float("inf")).offset == own.offset
    with pytest.raises(ValueError, match="max_offset must be"):
        sync_av(clip, max_offset=-1.0)
    x = open_audio(clip).load(RATE, mono=True)[0]
    for delay in (0.2, -0.2, 1.0):
        b = tmp_path / "b.wav"
        sf.write(b, shifted(x, delay), RATE)
        r = sync_av(clip, b)
        assert r.offset == pytest.approx(-delay, abs=0.08), (delay, r)


def test_av_without_a_face_is_an_error_not_an_offset(tmp_path: Path):
    # a video where no face is ever found used to give the search range's edge (-2 s) as the offset
    import subprocess

    video = tmp_path / "gray.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=25:d=2", "-f", "lavfi",
         "-i", "sine=f=300:d=2", "-shortest", "-c:a", "aac", str(video)],
        check=True,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"gray\.mp4: no face"):
        sync_av(video)


def test_pearson_lags_skips_frames_without_a_value():
    rng = np.random.default_rng(3)
    a = rng.standard_normal(80)
    b = a[4:] * 2.0
    a_gaps = a.copy()
    a_gaps[::3] = np.nan  # frames where no face was found
    vals = pearson_lags(a_gaps, b, np.arange(-8, 9), min_overlap=20)
    assert np.argmax(vals) == 8 + 4 and vals[12] == pytest.approx(1.0)


def test_cli_json_and_warp(shared_data: Path, tmp_path: Path, capsys):
    x = open_audio(shared_data / "grid" / "swwp2s.mpg").load(RATE, mono=True)[0]
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(a, x, RATE)
    sf.write(b, shifted(x, 0.5), RATE)
    warp = tmp_path / "warp.csv"
    assert main(["sync", str(a), str(b), "--json", "--warp", str(warp)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"offset", "drift_ppm", "confidence"}
    assert d["offset"] == pytest.approx(-0.5, abs=0.02)
    rows = warp.read_text().splitlines()
    assert rows[0] == "t_b,t_a" and len(rows) == 1 + 4
    tb, ta = map(float, rows[2].split(","))
    assert ta - tb == pytest.approx(-0.5, abs=0.02)
    assert main(["sync", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "B time + offset = A time" in out
    # 3 s cannot show drift: the text says so instead of printing a 0 ppm that was never measured
    assert "drift       not estimated: overlap" in out and "ppm" not in out
    assert main(["sync", str(a), str(tmp_path / "missing.wav")]) == 1
    assert "missing.wav: no such file" in capsys.readouterr().err


def test_xcorr_values_are_the_pearson_correlation_of_each_overlap():
    rng = np.random.default_rng(3)
    a = np.cumsum(rng.standard_normal(300)) + np.linspace(
        0, 40, 300
    )  # drifting level: global z-scores mislead
    b = a[40:200] * 0.3 + rng.standard_normal(160) * 0.5
    lag, peak, _ = xcorr_offset(a, b, hop=1.0)
    assert lag == pytest.approx(40, abs=0.5)
    lags = np.arange(-159, 300)
    direct = pearson_lags(a, b, lags, min_overlap=40)
    assert peak == pytest.approx(np.max(direct), abs=1e-9) and peak <= 1.0


def _lag_at(a: np.ndarray, b: np.ndarray, t: float, sr: int = RATE, span: float = 2.0) -> float:
    """Seconds by which `b` lags `a` around time `t` (cross-correlation of a window, ±50 ms)."""
    i, n, k = int(t * sr), int(span * sr), int(0.05 * sr)
    wa = a[i : i + n]
    scores = [float(np.dot(wa, b[i + d : i + d + n])) for d in range(-k, k + 1)]
    return (int(np.argmax(scores)) - k) / sr


def test_drift_applied_to_playback_keeps_two_recorders_in_sync(shared_data: Path, tmp_path: Path):
    """Two recorders, one 400 ppm fast and 1.1 s late: with the computed offset only they drift 40 ms
    apart in 100 s; with the drift warp applied (`MediaRef.warp`, played by the clock) they stay
    within a few milliseconds of each other."""
    from studio.align.sync import drift_warp
    from studio.core.session import MediaRef
    from studio.media.clock import PlaybackClock

    parts = [sf.read(f, dtype="float32")[0] for f in sorted((shared_data / "ami").glob("*.wav"))]
    x = np.concatenate([p if p.ndim == 1 else p.mean(1) for p in parts])[: 110 * RATE]
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(a, x, RATE)
    sf.write(b, shifted(soxr.resample(x, RATE, RATE * (1 + 400e-6)), 1.1), RATE)
    r = sync_audio(a, b)
    ma = MediaRef(str(a))
    mb = MediaRef(str(b), offset=r.offset)
    lags = {}
    for label, warp in (("offset only", None), ("drift corrected", drift_warp(r.drift_ppm, name=mb.name))):
        mb.warp = warp
        with PlaybackClock(output="silent") as clock:
            for m in (ma, mb):
                clock.add_stream(open_audio(m.path), offset=m.offset, warp=m.warp)
            clock.streams[0].mute = True
            yb = clock.render(0, 105, RATE, 1)[0]
            clock.streams[0].mute, clock.streams[1].mute = False, True
            ya = clock.render(0, 105, RATE, 1)[0]
        lags[label] = [_lag_at(ya, yb, t) for t in (10.0, 50.0, 100.0)]
        # the media model says the same as what was heard
        assert float(mb.to_session_time(mb.to_media_time(60.0))) == pytest.approx(60.0, abs=1e-9)
    assert abs(lags["offset only"][2]) > 0.03, lags  # 400 ppm of 100 s = 40 ms
    # measured: -3.2, -1.9, -0.3 ms (the few ms are sync_audio's estimate, not the playback)
    assert max(abs(v) for v in lags["drift corrected"]) <= 0.005, lags
    assert abs(lags["drift corrected"][2]) < abs(lags["offset only"][2]) / 5, lags


def test_playback_warp_smooths_a_frame_level_time_map():
    from studio.align.sync import playback_warp
    from studio.core.session import WarpPath

    a = np.arange(0, 20, 0.01)
    truth = 0.5 + a / 1.05
    b = np.round(truth / 0.01) * 0.01  # DTW's whole-frame steps
    b[700:720] = b[700]  # a short stall of the path
    w = playback_warp(WarpPath(np.c_[a, b], "A", "B"))
    assert (w.source, w.target) == ("A", "B") and len(w.pairs) < 50
    assert np.abs(w.map(a) - truth).max() < 0.008
    rates = np.diff(w.pairs[:, 1]) / np.diff(w.pairs[:, 0])
    assert rates.min() >= 1 / 1.25 - 1e-9 and rates.max() <= 1.25 + 1e-9
    # a wild jump of the path is taken at a bounded rate, not as a stop or a leap
    b2 = a.copy()
    b2[1000:] += 3.0
    r2 = np.diff(playback_warp(WarpPath(np.c_[a, b2])).pairs, axis=0)
    assert (r2[:, 1] / r2[:, 0]).max() <= 1.25 + 1e-9


def test_cli_session_places_and_drift_corrects_b(shared_data: Path, tmp_path: Path, capsys):
    """`studio sync A B --session S.studio`: a session where B plays in sync with A (offset and drift
    warp), created or updated in place; the window opens it as is."""
    from studio.io.native import read_session_file

    parts = [sf.read(f, dtype="float32")[0] for f in sorted((shared_data / "ami").glob("*.wav"))]
    x = np.concatenate([p if p.ndim == 1 else p.mean(1) for p in parts])[: 90 * RATE]
    a, b = tmp_path / "room.wav", tmp_path / "lapel.wav"
    sf.write(a, x, RATE)
    sf.write(b, shifted(soxr.resample(x, RATE, RATE * (1 - 300e-6)), -0.8), RATE)  # 300 ppm slow, 0.8 s early
    out = tmp_path / "take.studio"
    assert main(["sync", str(a), str(b), "--session", str(out)]) == 0
    said = capsys.readouterr().out.splitlines()[-1]
    assert said.startswith(f"session     {out}: lapel.wav at offset +0.") and said.endswith("ppm corrected")
    s = read_session_file(out)
    ma, mb = s.media
    assert (ma.name, ma.offset, ma.warp) == ("room.wav", 0.0, None)
    assert mb.offset == pytest.approx(0.8, abs=0.01) and mb.warp is not None
    # 60 s into A (session time 60) B plays what it recorded then: (60 - 0.8) * (1 - 300 ppm) of its own time
    assert float(mb.to_media_time(60.0)) == pytest.approx((60 - 0.8) * (1 - 300e-6), abs=0.005)
    # updated in place: A moved in the session, B follows it; the old file is kept as a backup
    from studio.core import SetMediaOffset
    from studio.io.native import write_session_file

    s.undo_stack.push(SetMediaOffset("room.wav", 5.0))
    write_session_file(s, out)
    assert main(["sync", str(a), str(b), "--session", str(out), "--no-drift"]) == 0
    s2 = read_session_file(out)
    # (offset only: the whole overlap's best single lag, 13 ms from the start's)
    assert (
        len(s2.media) == 2 and s2.media[1].offset == pytest.approx(5.8, abs=0.03) and s2.media[1].warp is None
    )
    assert out.with_name("take.studio.bak").exists()


def test_follow_map_composes_with_a_warped_reference():
    """B follows a time map from A's own time; when A itself plays along a drift warp, B's warp is
    the composition, so both still meet at every session time."""
    from studio.align.sync import drift_warp, follow_map
    from studio.core.session import MediaRef, WarpPath

    a = np.arange(0, 60, 0.01)
    time_map = WarpPath(np.c_[a, 0.3 + a * 0.98], "a.wav", "b.wav")
    for a_warp in (None, drift_warp(500.0, name="a.wav")):
        ma = MediaRef("/r/a.wav", offset=1.5, warp=a_warp)
        warp, offset = follow_map(ma, time_map)
        mb = MediaRef("/r/b.wav", offset=offset, warp=warp)
        s = np.linspace(3, 55, 40)
        np.testing.assert_allclose(mb.to_media_time(s), 0.3 + 0.98 * ma.to_media_time(s), atol=1e-6)
        assert warp.target == "b.wav" and warp.source == "time map a.wav"
