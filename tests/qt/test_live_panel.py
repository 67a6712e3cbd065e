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
