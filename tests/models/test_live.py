"""Live prediction: a recording played as a device, streaming vs offline features, devices, a real model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from studio.models import live
from studio.models.live import (
    AudioFeatureStream,
    DeviceUnavailable,
    LivePredictor,
    MicrophoneSource,
    RecordingSource,
    probe_devices,
)

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
MPG = DEMO / "swwp2s.mpg"
HOP = 0.04


def loudness(features: dict[str, np.ndarray], present: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """A real (if simple) speech-activity model: logistic of standardised RMS dB with a little context."""
    z = features["audio"][:, -1].astype(np.float64)
    smooth = np.convolve(np.pad(z, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return 1.0 / (1.0 + np.exp(-2.0 * smooth))


def offline_raw() -> tuple[np.ndarray, np.ndarray]:
    """Unstandardised log-mel 40 + RMS dB on the grid, the way studio.models.framedata computes them."""
    from studio.media.features import extract_many

    got = extract_many(MPG, ["logmel", "rms"], n_mels=40, cache=False)
    mel = got["logmel"].resample(HOP).values
    rms = got["rms"].resample(HOP).values[:, 0]
    audio = np.column_stack([mel, 20 * np.log10(np.maximum(rms, 1e-5))])
    return audio, got["logmel"].times


def play_through(pred: LivePredictor) -> LivePredictor:
    """The demo delivered as fast as it is taken, every frame predicted, the predictor stopped."""
    source = RecordingSource(MPG, realtime=False)
    pred.start(source)
    assert source.finished.wait(10)
    deadline = time.perf_counter() + 5
    while pred.latency()["count"] < 75 and time.perf_counter() < deadline:
        time.sleep(0.01)
    pred.stop()
    return pred


def test_recording_in_real_time_predicts_every_frame_promptly() -> None:
    got: list[float] = []
    pred = LivePredictor(loudness, modalities=("audio",), on_prediction=lambda t, row, lat: got.append(t))
    source = RecordingSource(MPG, realtime=True)
    assert source.modalities == ("audio", "video")
    t0 = time.perf_counter()
    pred.start(source)
    assert source.finished.wait(10)
    played = time.perf_counter() - t0
    deadline = time.perf_counter() + 2
    while pred.latency()["count"] < 75 and time.perf_counter() < deadline:  # the last blocks' frames
        time.sleep(0.005)
    t1 = time.perf_counter()
    pred.stop()
    assert time.perf_counter() - t1 < 0.5 and not pred.running and not source.running
    assert pred.error is None and source.error is None
    assert 2.9 < played < 4.0  # paced by the clock, as a device delivers: not faster
    times, rows = pred.results()
    assert np.allclose(times, np.arange(75) * HOP) and got == list(times)  # every grid frame, in order
    lat = pred.latency()
    print("latency ms", {k: round(v * 1000, 2) for k, v in lat.items() if k != "count"})
    assert lat["count"] == 75 and lat["mean"] < 0.1 and lat["p95"] < 0.1
    # the same model on the offline, per-file standardised features: live agrees once the running
    # statistics have seen most of the file (speech/silence decisions in the last second)
    from studio.models.framedata import audio_block

    offline = loudness({"audio": audio_block(MPG)[0]})
    late = times >= 2.0
    assert np.abs(rows[late] - offline[late]).max() < 0.15
    assert rows.max() > 0.8 and rows.min() < 0.2  # speech and silence both happen in the demo


def test_streaming_features_equal_offline() -> None:
    from studio.media.audio import open_audio
    from studio.models.framedata import audio_block, video_block

    raw, _ = offline_raw()
    with open_audio(MPG) as src:
        signal = src.resampled(16000, mono=True).load()[0]
    stream = AudioFeatureStream(HOP)
    rows = []
    for i in range(0, len(signal), 333):  # odd block size: frames straddle blocks
        rows += stream.push(signal[i : i + 333])
    rows += stream.flush()
    assert [k for k, _ in rows] == list(range(len(raw)))
    streamed = np.stack([r for _, r in rows])
    assert (
        np.abs(streamed - raw).max() < 5e-3
    )  # dB: float32 rounding (features_audio: ≤ 3e-3 dB in quiet bands)

    # through the predictor, video included: fixed whole-file statistics reproduce framedata exactly;
    # running statistics converge to them
    identity = lambda f, p: np.concatenate([f["audio"], f["video"]], axis=1)  # noqa: E731
    v_off, v_present = video_block(MPG)
    a_off = audio_block(MPG)[0]
    runs = {}
    for name, stats in (("fixed", {"audio": (raw.mean(0), raw.std(0))}), ("running", None)):
        pred = play_through(LivePredictor(identity, stats=stats))
        runs[name] = pred.results()[1]
    fixed, running = runs["fixed"], runs["running"]
    assert fixed.shape == (75, 45)
    assert np.abs(fixed[:, :41] - a_off).max() < 1e-2
    assert np.abs(running[-25:, :41] - a_off[-25:]).max() < 0.35  # last second: stats of ~2 s of speech
    both = v_present & (np.abs(running[:, 41:]).sum(1) > 0)
    assert both.sum() > 60  # the face is found live in nearly every frame
    for d in range(2):  # mouth and face motion: causal face-box smoothing, otherwise the same measure
        r = np.corrcoef(running[both, 41 + d], v_off[both, d])[0, 1]
        assert r > 0.9, (d, r)


def test_no_devices_are_reported_with_a_reason() -> None:
    import sounddevice as sd

    found = probe_devices()
    has_input = any(d["max_input_channels"] > 0 for d in sd.query_devices())
    assert found["microphone"]["available"] == has_input
    if not has_input:
        assert found["microphone"]["reason"].startswith("no microphone:")
        with pytest.raises(DeviceUnavailable, match="no microphone: PortAudio reports no input device"):
            MicrophoneSource()
    has_camera = Path("/dev/video0").exists()
    if not has_camera:
        assert not found["camera"]["available"]
        assert found["camera"]["reason"] == "no camera: /dev/video0 does not exist on this machine"
        with pytest.raises(DeviceUnavailable, match="no camera"):
            live.CameraSource(0)


def test_follow_mode_delivers_up_to_the_playhead_and_restarts_after_a_seek() -> None:
    pred = LivePredictor(loudness, modalities=("audio", "video"))
    source = RecordingSource(MPG, follow=True, lead=0.0)
    pred.start(source)
    try:
        source.advance_to(1.0)
        deadline = time.perf_counter() + 5
        while (not len(pred.results()[0]) or pred.results()[0][-1] < 0.9) and time.perf_counter() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # nothing more comes while the playhead stands still
        times = pred.results()[0]
        assert 0.9 <= times[-1] <= 1.0 and np.allclose(times, np.arange(len(times)) * HOP)
        source.advance_to(2.5)  # a seek: restart there, no frames in between
        while source.position < 2.5 and time.perf_counter() < deadline:
            time.sleep(0.01)
        source.advance_to(2.7)  # then play on
        n = len(times)
        while pred.results()[0][-1] < 2.6 and time.perf_counter() < deadline:
            time.sleep(0.01)
        after = pred.results(n)[0]
        assert np.isclose(after[0], 2.52) and 2.6 <= after[-1] <= 2.7  # the first grid frame after 2.5 s
        assert np.allclose(np.diff(after), HOP)
    finally:
        pred.stop()
    assert pred.error is None and source.error is None


def test_following_a_playing_playhead_never_restarts() -> None:
    """Delivery runs `lead` ahead of the playhead: that must not read as a seek back (it did: a
    restart every few ms, 1.5 s of latency in the window)."""
    got: list[object] = []
    source = RecordingSource(MPG, follow=True)  # the default lead, 0.1 s
    source.start(got.append)
    try:
        t, deadline = 0.0, time.perf_counter() + 10
        while t < 3.1 and time.perf_counter() < deadline:
            t += 0.02
            source.advance_to(t)
            while source.position < min(t, 2.95) and time.perf_counter() < deadline:
                time.sleep(0.002)
        time.sleep(0.05)
    finally:
        source.stop()
    kinds = [type(c).__name__ for c in got]
    assert "Reset" not in kinds
    frames = [c.t for c in got if type(c).__name__ == "VideoChunk"]
    assert len(frames) == 75 and np.all(np.diff(frames) > 0)  # every frame once, in order


def test_a_trained_fusion_model_runs_live() -> None:
    from studio import io
    from studio.models.framedata import frame_data
    from studio.models.fusion import FusionModel

    data = frame_data(MPG, labels=io.read(DEMO / "demo.studio").tier("words"), background="-")
    model = FusionModel("early", data.dims(), classes=data.classes, hidden=16)
    model.fit([data], epochs=3)
    pred = play_through(LivePredictor(model.predict_window, modalities=tuple(model.inputs)))
    assert pred.error is None
    times, rows = pred.results()
    assert len(times) == 75 and rows.shape == (75, len(data.classes))
    assert np.allclose(rows.sum(1), 1.0, atol=1e-4)
