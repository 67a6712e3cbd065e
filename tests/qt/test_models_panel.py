"""The Models dock: annotate part, train (live loss curve, metrics table), predict the rest, accept,
retrain — on the demo recording, real features and real torch models."""

from __future__ import annotations

import pytest

from studio.core.annotations import Interval
from studio.core.commands import AddTier
from studio.core.tiers import IntervalTier


@pytest.fixture
def window(demo_window):
    """The demo plus a "talk" tier: speech (the union of the words) annotated in the first 2 s only."""
    s = demo_window.session
    words = [iv for iv in s.tier("words") if iv.label.strip() and iv.label != "sil"]
    a, b = words[0].start, words[-1].end
    s.undo_stack.push(AddTier(IntervalTier("talk", [Interval(a, min(b, 2.0), "speech")])))
    return demo_window


def test_train_compare_predict_accept_and_retrain(window, qtbot):
    s = window.session
    window.action("show_models").trigger()
    panel = window.models_panel()
    assert window.models_dock.isVisible()
    panel.tier.setCurrentText("talk")
    panel.set_checked(["Late fusion (learned weights)", "Audio only"])
    window.view.set_selection(0.0, 1.6)  # the part annotated
    job = panel.train()
    assert job is not None and not panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: job.state in ("finished", "failed", "cancelled"), timeout=60000)
    assert job.state == "finished", (panel.status.text(), window.dialogs.messages())
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    assert len(panel.loss.history) >= 2 and panel.loss.title in (
        "Late fusion (learned weights)",
        "Audio only",
    )
    labels = [panel.table.item(r, 0).text() for r in range(2)]
    assert labels == ["Late fusion (learned weights)", "Audio only"]
    assert all(0.0 <= float(panel.table.item(r, 3).text()) <= 1.0 for r in range(2))
    assert panel.predict_button.isEnabled() and "best on the held-out part" in panel.status.text()
    # predict the rest: a tier of the frames after the selection, with confidences, one undo step
    depth = len(s.undo_stack)
    pj = panel.predict()
    qtbot.waitUntil(lambda: s.has_tier("talk (predicted)"), timeout=30000)
    assert pj.state == "finished" and len(s.undo_stack) == depth + 1
    pred = s.tier("talk (predicted)")
    assert s.has_tier("talk (predicted) confidence")
    assert len(pred) >= 1 and all(iv.start >= 1.6 - 1e-6 and 0.0 <= iv.confidence <= 1.0 for iv in pred), [
        (iv.start, iv.end, iv.label, iv.confidence) for iv in pred
    ]
    assert window.review_panel.tier_box.currentText() == "talk (predicted)"
    s.undo_stack.undo()
    assert not s.has_tier("talk (predicted)")
    s.undo_stack.redo()
    # accept (Ctrl+Return on the selected annotation) or correct: confidence 1; retraining learns from them
    pred = s.tier("talk (predicted)")
    assert len(pred) >= 1
    track = window.track_for_tier("talk (predicted)")
    window.timeline.set_current(track)
    track.select(pred[0].id)
    if pred[0].confidence < 1.0:
        window.action("accept_annotation").trigger()
    assert s.tier("talk (predicted)")[0].confidence == 1.0 and panel._accepted()
    job2 = panel.train()
    qtbot.waitUntil(lambda: job2.state in ("finished", "failed"), timeout=60000)
    assert job2.state == "finished"
    # save: a model file studio predict can run
    out = panel.save(str(window.session.path.parent / "talk.pt"))
    from studio.models.fusion import FusionModel

    assert FusionModel.load(out).card.classes == ["-", "speech"]


def test_problems_are_said_not_raised(window, qtbot):
    panel = window.models_panel()
    panel.tier.setCurrentText("talk")
    panel.set_checked([])
    assert panel.train() is None and "Check at least one model" in panel.status.text()
    panel.set_checked(["Late fusion (learned weights)"])
    panel.video.setChecked(False)
    assert panel.train() is None and "fuses inputs" in panel.status.text()
    panel.set_checked(["Video only"])
    assert panel.train() is None and "needs the video input" in panel.status.text()


def test_a_curve_tier_is_learned_by_regression(window, qtbot):
    """Labels from a curve tier: the models regress its values; the table shows r and MAE; Predict
    adds a curve of values for the rest."""
    import numpy as np

    from studio.core.tiers import CurveTier
    from studio.models.framedata import frame_data

    s = window.session
    fd = frame_data(s.media[0].path, modalities=("audio",))
    s.undo_stack.push(AddTier(CurveTier("loudness", fd.features["audio"][:, -1].astype(float), rate=25.0)))
    panel = window.models_panel()
    panel.tier.setCurrentText("loudness")
    panel.video.setChecked(False)
    panel.set_checked(["Audio only"])
    window.view.set_selection(0.0, 2.0)
    job = panel.train()
    qtbot.waitUntil(lambda: job.state in ("finished", "failed"), timeout=60000)
    assert job.state == "finished", panel.status.text()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5000)
    assert panel.table.horizontalHeaderItem(3).text() == "r" and "MAE" in panel.status.text()
    pj = panel.predict()
    qtbot.waitUntil(lambda: s.has_tier("loudness (predicted)"), timeout=30000)
    assert pj.state == "finished"
    values = s.tier("loudness (predicted)").values
    assert np.isfinite(values).sum() == round(len(values) - 50) and np.isnan(values[:50]).all()


def test_predict_one_label_per_interval_of_a_tier(window, qtbot):
    """Segment classification in the loop: the words after the annotated part each get a label."""
    s = window.session
    panel = window.models_panel()
    panel.tier.setCurrentText("talk")
    panel.set_checked(["Audio only"])
    window.view.set_selection(0.0, 1.6)
    job = panel.train()
    qtbot.waitUntil(lambda: job.state in ("finished", "failed"), timeout=60000)
    assert job.state == "finished", panel.status.text()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=5000)  # "finished" comes before the result
    panel.segments.setCurrentText("one label per interval of words")
    pj = panel.predict()
    assert pj is not None, panel.status.text()
    qtbot.waitUntil(lambda: s.has_tier("talk (predicted)"), timeout=30000)
    assert pj.state == "finished"
    words = [iv for iv in s.tier("words") if (iv.start + iv.end) / 2 >= 1.6]
    got = s.tier("talk (predicted)")
    assert [(iv.start, iv.end) for iv in got] == [(iv.start, iv.end) for iv in words]  # the words after 1.6 s
    assert all(iv.label in ("-", "speech") and 0.0 <= iv.confidence <= 1.0 for iv in got)
    assert "labelled intervals" in panel.status.text()


def test_an_audio_recording_trains_without_the_video_input(qtbot, tmp_path, shared_data):
    """A WAV has no mouth to see: the dock starts with video unchecked, says so if it is checked,
    and a model of the audio trains and predicts."""
    from windowkit import make_window, wait_loaded

    from studio import io

    win = make_window(qtbot)
    try:
        assert win.open_paths([shared_data / "conversation" / "sample.wav"])
        wait_loaded(qtbot, win)
        s = win.session
        for t in io.read(shared_data / "conversation" / "sample.rttm").interval_tiers():
            s.undo_stack.push(AddTier(t))
        win.action("show_models").trigger()
        panel = win.models_panel()
        assert not panel.video.isChecked()
        panel.video.setChecked(True)
        panel.set_checked(["Audio only"])
        assert panel.train() is None and "sample.wav has no video" in panel.status.text()
        panel.video.setChecked(False)
        panel.tier.setCurrentText("speaker90")
        win.view.set_selection(0.0, 15.0)
        job = panel.train()
        qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
        assert job.state == "finished" and panel.table.rowCount() == 1
        pj = panel.predict()
        qtbot.waitUntil(lambda: s.has_tier("speaker90 (predicted)"), timeout=30000)
        assert pj.state == "finished" and all(
            iv.start >= 15.0 - 1e-6 for iv in s.tier("speaker90 (predicted)")
        )
    finally:
        win.runner.cancel_all()
        win.dialogs.answers.extend(["Discard"] * 3)
        win.close()


def test_cancel_training_halfway(window, qtbot):
    panel = window.models_panel()
    panel.tier.setCurrentText("talk")
    panel.set_checked(["Late fusion (learned weights)", "Early fusion", "Audio only"])
    window.view.set_selection(0.0, 1.6)
    job = panel.train()
    assert panel.cancel_button.isEnabled() and not panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: "epoch" in panel.status.text(), timeout=30000)  # training, not just features
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: panel.train_button.isEnabled(), timeout=5000)
    assert "cancelled" in panel.status.text() and panel.table.rowCount() == 0 and panel.result is None
    assert not panel.predict_button.isEnabled()
