"""Align a transcript from the window: the dialog, the background job, one undo step, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.tiers import IntervalTier
from studio.qt.align_dialog import AlignDialog, AlignRequest, start_alignment


@pytest.fixture
def window(demo_window):
    return demo_window


def test_dialog_offers_the_sessions_recording_and_tiers(window, qtbot):
    dlg = AlignDialog(window.session, window)
    qtbot.addWidget(dlg)
    assert dlg.media.count() == 1 and Path(dlg.media.currentData()).name == "swwp2s.mpg"
    assert dlg.from_tier.isChecked() and dlg.tier.currentText() == "transcript"
    req = dlg.request()
    assert isinstance(req.transcript, IntervalTier) and req.transcript is not window.session.tier(
        "transcript"
    )
    assert (req.method, req.level, req.language, req.model) == ("auto", "word", "en", None)
    dlg.from_text.setChecked(True)
    assert "transcript" in dlg.problem().lower()  # nothing typed
    dlg.text.setPlainText("set white with p two soon")
    dlg.method.setCurrentIndex(1)  # hmm
    dlg.language.setText("de")
    assert "English phone model" in dlg.problem()
    dlg._accept()
    assert dlg.error.text() and dlg.result() == 0  # stays open with the reason


def test_align_from_the_window_adds_tiers_in_one_undo_step(window, qtbot):
    s = window.session
    before = s.tier_names()
    dlg = AlignDialog(s, window)
    qtbot.addWidget(dlg)
    dlg.level.setCurrentIndex(1)  # words and phones
    job = start_alignment(window, dlg.request())
    qtbot.waitUntil(lambda: s.has_tier("words (aligned)"), timeout=30000)
    assert job.state == "finished"
    assert s.tier_names() == [*before, "words (aligned)", "phones"]
    words = s.tier("words (aligned)")
    assert [iv.label for iv in words] == "set white with p two soon".split()
    assert s.tier("phones").parent == "words (aligned)"  # the parent link follows the rename
    ref = s.tier("words")  # the demo's words tier: GRID's own alignment
    err = [abs(a.start - b.start) for a, b in zip(words, ref)]
    assert max(err) < 0.1
    assert window.isWindowModified()
    s.undo_stack.undo()
    assert s.tier_names() == before
    s.undo_stack.redo()
    assert s.has_tier("phones")


def test_a_failing_alignment_shows_an_error_and_changes_nothing(window, qtbot):
    s = window.session
    before = s.tier_names()
    req = AlignRequest(
        media=str(Path(s.media[0].path)), transcript="set white", method="tts-dtw", language="xx-nope"
    )
    start_alignment(window, req)
    qtbot.waitUntil(lambda: bool(window.dialogs.messages("error")), timeout=30000)
    _, title, text = window.dialogs.messages("error")[-1]
    assert "Alignment failed" in title and "xx-nope" in text
    assert s.tier_names() == before
