"""The Live panel on the demo window: a real model file, run as the recording plays; devices absent."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from studio.qt.live_panel import LivePanel, bundled_model_path, open_live_panel

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A small fusion model trained for a few epochs on the demo's words (speech vs "-")."""
    from studio import io
    from studio.models.framedata import frame_data, union_tier
    from studio.models.fusion import FusionModel

    words = io.read(DEMO / "demo.studio").tier("words")
    data = frame_data(DEMO / "swwp2s.mpg", labels=union_tier([(w.start, w.end) for w in words]))
    assert data.classes == ["-", "speech"]
    model = FusionModel("early", data.dims(), classes=data.classes, hidden=8)
    model.fit([data], epochs=2)
    return model.save(tmp_path_factory.mktemp("live") / "words.pt")


def _wait_devices(qtbot, panel: LivePanel) -> None:
    qtbot.waitUntil(lambda: panel.devices is not None, timeout=5000)


def test_live_on_the_recording_draws_a_rolling_track(demo_window, qtbot, model_file) -> None:
    win = demo_window
    panel = open_live_panel(win)
    assert open_live_panel(win) is panel  # one dock
    _wait_devices(qtbot, panel)
    with qtbot.waitSignal(panel.model_changed, timeout=5000):
        panel.model_edit.setText(str(model_file))
        panel.load_model(str(model_file))
    assert panel.model_label.text() == "early: audio + video → -, speech"
    panel.set_source("recording")
    assert panel.start_button.isEnabled()
    win.view.set_playhead(0.0)
    panel.start()
    assert panel.running and panel.start_button.text() == "Stop"
    assert panel.track is not None and win.timeline.find("live:prediction") is panel.track
    assert len(panel.track.times) == 0
    win.play_range(0.0)
    # ~1.2 s of playback (more on a loaded machine: the window's own jobs share the cores)
    qtbot.waitUntil(lambda: len(panel.track.times) >= 30, timeout=10000)
    times = panel.track.times
    assert np.allclose(np.diff(times), 0.04)  # every frame, in order, from the start
    assert np.isclose(times[0], 0.0)
    assert times[-1] <= win.view.playhead + 0.1 + 0.04 + 1e-6  # never (much) ahead of the playhead
    assert panel.track.style == "confidence" and panel.track.names == ["speech"]  # P(speech), not "-"
    assert ((panel.track.values >= 0) & (panel.track.values <= 1)).all()
    assert "ms mean" in panel.latency_label.text() and "p95" in panel.latency_label.text()
    win.resize(1400, 800)
    win.grab().save("/tmp/live_panel.png")
    panel.stop()
    win.pause()
    assert not panel.running and panel.start_button.text() == "Start"
    alive = [t.name for t in threading.enumerate() if t.name in ("live-predictor", "recording")]
    assert not alive  # stop() joined the source and the predictor (what was queued is dropped)
    n = len(panel.track.times)
    assert n >= 30  # the track stays after stop


def test_missing_devices_and_model_are_said(demo_window, qtbot, tmp_path) -> None:
    import sounddevice as sd
    from PySide6.QtWidgets import QDockWidget

    demo_window.action("live_predictions").trigger()  # Models ▸ Live predictions… opens the dock
    dock = demo_window.findChild(QDockWidget, "LiveDock")
    assert dock is not None and dock.isVisible()
    panel = open_live_panel(demo_window)
    assert panel is dock.widget()
    _wait_devices(qtbot, panel)
    if not any(d["max_input_channels"] > 0 for d in sd.query_devices()):
        assert not panel.choice_enabled("microphone")
        assert panel.choice_tooltip("microphone").startswith("no microphone:")
    if not Path("/dev/video0").exists():
        assert not panel.choice_enabled("camera")
        assert panel.choice_tooltip("camera") == "no camera: /dev/video0 does not exist on this machine"
    if not bundled_model_path().exists():
        assert "not installed" in panel.model_label.text()
        assert not panel.start_button.isEnabled() and panel.status_label.text() == "Choose a model first."
    missing = tmp_path / "nothing.pt"
    panel.load_model(str(missing))
    assert panel.model_label.text() == f"No model: {missing} does not exist."
    assert not panel.start_button.isEnabled()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    panel.model_edit.setText(str(broken))
    panel.load_model(str(broken))
    qtbot.waitUntil(lambda: panel.model_label.text().startswith("Cannot load broken.pt"), timeout=5000)


def _reference_speech() -> tuple[float, float]:
    """The sentence in swwp2s.align (GRID units, 25000 per second): from the first word to the last."""
    rows = [line.split() for line in (DEMO / "swwp2s.align").read_text().splitlines() if line.strip()]
    words = [(int(a) / 25000, int(b) / 25000) for a, b, w in rows if w != "sil"]
    return words[0][0], words[-1][1]


def _overlap_f1(tier, r0: float, r1: float) -> float:
    """F1 of the time `tier`'s intervals cover against the span [r0, r1]."""
    overlap = sum(max(0.0, min(iv.end, r1) - max(iv.start, r0)) for iv in tier)
    predicted = sum(iv.end - iv.start for iv in tier)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / (r1 - r0)
    return 2 * precision * recall / (precision + recall)


def test_keep_as_tier_adds_both_tiers_in_one_undo_step(demo_window, qtbot) -> None:
    """The shipped model live over the whole demo, kept: "speech" over the sentence, one undo."""
    from studio.core.tiers import CurveTier, IntervalTier

    win = demo_window
    panel = open_live_panel(win)
    _wait_devices(qtbot, panel)
    assert bundled_model_path().exists()  # tracked in git: resources/models/speech_activity
    qtbot.waitUntil(lambda: panel.model_label.text().startswith("speech-activity:"), timeout=10000)
    panel.set_source("recording")
    assert panel.timebase_label.text().startswith("session time")
    assert not panel.keep_button.isEnabled()  # nothing predicted yet
    assert panel.keep() == []
    before = list(win.session.tier_names())
    depth = win.session.undo_stack.index
    win.view.set_playhead(0.0)
    panel.start()
    assert not panel.keep_button.isEnabled()
    win.play_range(0.0)
    end = win.media.first_audio().media.to_session_time(2.9)
    qtbot.waitUntil(lambda: len(panel.track.times) and panel.track.times[-1] >= end, timeout=12000)
    assert panel.keep_button.isEnabled()  # keeping is allowed while it runs, too
    panel.stop()
    win.pause()
    names = panel.keep()
    model = panel._run["model"]
    assert names == [f"{model} (live)", f"{model} (live) confidence"]
    s = win.session
    pred, conf = s.tier(names[0]), s.tier(names[1])
    assert isinstance(pred, IntervalTier) and isinstance(conf, CurveTier)
    assert pred.attrs["live"] == {"source": "recording", "started_at": 0.0, "time_base": "session"}
    assert {iv.label for iv in pred} == {"speech"}  # the background class is a gap
    assert all(0.0 <= iv.confidence <= 1.0 for iv in pred)
    v = conf.values[np.isfinite(conf.values)]
    assert len(v) >= 70 and ((v >= 0) & (v <= 1)).all()
    assert np.allclose(conf.times, panel.track.times)  # where the track was drawn
    r0, r1 = _reference_speech()
    assert (r0, r1) == (0.49, 2.21)
    f1 = _overlap_f1(pred, r0, r1)
    assert f1 > 0.7, (f1, [(iv.start, iv.end) for iv in pred])
    assert "one undo step" in panel.status_label.text()
    assert panel.keep_button.isEnabled()
    s.undo_stack.undo()  # one step removes both
    assert list(s.tier_names()) == before
    assert s.undo_stack.index == depth
    s.undo_stack.redo()
    assert s.has_tier(names[0]) and s.has_tier(names[1])
    assert panel.keep() == [f"{model} (live) (kept)", f"{model} (live) confidence (kept)"]  # unique names


def test_a_device_run_is_placed_at_the_start_playhead(demo_window, qtbot) -> None:
    """A device's times are seconds since start + the playhead where the run started (said in the
    panel and in the kept tiers); the demo file played as a device stands in for a microphone."""
    from studio.models.live import RecordingSource

    win = demo_window
    panel = open_live_panel(win)
    _wait_devices(qtbot, panel)
    qtbot.waitUntil(lambda: panel.model_label.text().startswith("speech-activity:"), timeout=10000)
    panel.set_source("microphone")
    assert panel.timebase_label.text() == "seconds since start, placed at the playhead"
    win.view.set_playhead(1.0)
    device = RecordingSource(DEMO / "swwp2s.mpg", realtime=False, streams=("audio", "video"))
    panel.start(device)
    assert panel.timebase_label.text() == "seconds since start, placed at the playhead (1.00 s)"
    qtbot.waitUntil(lambda: device.finished.is_set() and len(panel.track.times) >= 70, timeout=10000)
    panel.stop()
    times = panel.track.times
    assert np.isclose(times[0], 1.0) and np.allclose(np.diff(times), 0.04)
    pred_name, conf_name = panel.keep()
    pred, conf = win.session.tier(pred_name), win.session.tier(conf_name)
    assert pred.attrs["live"] == {"source": "device", "started_at": 1.0, "time_base": "since start"}
    assert np.allclose(conf.times, times)
    r0, r1 = _reference_speech()
    assert _overlap_f1(pred, 1.0 + r0, 1.0 + r1) > 0.7  # the sentence, 1 s later
    assert _overlap_f1(pred, r0, r1) < 0.7
