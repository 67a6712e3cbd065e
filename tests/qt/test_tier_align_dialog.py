"""Align two tiers from the window: the dialog, the job on the device worker, the timed tier and the
stored time map in one undo step."""

from __future__ import annotations

import pytest

from studio.core.annotations import Interval
from studio.core.commands import AddTier
from studio.core.tiers import IntervalTier
from studio.qt.tier_align_dialog import open_tier_align_dialog, start_tier_alignment


@pytest.fixture
def window(demo_window):
    """The demo window plus "asr": the GRID words 30 ms late, "white" heard as "wide", "with" missed."""
    s = demo_window.session
    words = [iv for iv in s.tier("words") if iv.label != "with"]
    asr = [
        Interval(iv.start + 0.03, iv.end + 0.03, "wide" if iv.label == "white" else iv.label, source="asr")
        for iv in words
    ]
    s.undo_stack.push(AddTier(IntervalTier("asr", asr)))
    return demo_window


def test_dialog_checks_the_choice(window, qtbot):
    assert open_tier_align_dialog(window) is None  # test mode: the dialog is made, not run
    window._last_tier_dialog = None
    window.action("align_tiers").trigger()  # Align ▸ Align two tiers… opens the same dialog
    assert window._last_tier_dialog is not None
    dlg = window._last_tier_dialog
    names = [dlg.a.itemData(i) for i in range(dlg.a.count())]
    assert names == ["transcript", "words", "asr"]
    dlg.a.setCurrentIndex(1)
    dlg.b.setCurrentIndex(1)
    dlg._accept()
    assert "two different tiers" in dlg.error.text() and dlg.result() == 0
    dlg.b.setCurrentIndex(2)
    dlg.mode.setCurrentIndex(1)
    assert dlg.problem() is None and dlg.mode.currentData() == "times"
    window.session.undo_stack.push(AddTier(IntervalTier("blank", [Interval(0.0, 1.0, " ")])))
    dlg2 = open_tier_align_dialog(window) or window._last_tier_dialog
    dlg2.b.setCurrentIndex(dlg2.b.findData("blank"))
    assert dlg2.problem() == "Tier B (blank) has no labelled intervals."


def test_transcript_timed_by_asr_one_undo_step(window, qtbot):
    s = window.session
    job = start_tier_alignment(window, "transcript", "asr", "labels")
    qtbot.waitUntil(lambda: s.has_tier("transcript timed by asr"), timeout=20000)
    assert job.state == "finished"
    timed = s.tier("transcript timed by asr")
    assert [iv.label for iv in timed] == ["set", "white", "with", "p", "two", "soon"]
    asr = s.tier("asr")
    assert (timed[0].start, timed[0].end) == (asr[0].start, asr[0].end)
    conf = [iv.confidence for iv in timed]
    assert conf[0] == 1.0 and 1.0 > conf[1] > conf[2] > 0  # match > substitution > interpolated
    assert timed[2].start == asr[1].end and timed[2].end == asr[2].start  # "with" in the gap
    al = s.alignments["transcript timed by asr"]
    assert al.method == "tiers-labels" and al.attrs["kind"] == "tiers"
    assert (al.attrs["a"], al.attrs["b"]) == ("transcript", "asr")
    assert (al.attrs["matched"], al.attrs["substituted"], al.attrs["deleted"]) == (4, 1, 1)
    assert al.warp.map(0.49) == pytest.approx(0.52)  # the transcript's start -> the first ASR word's
    qtbot.waitUntil(
        lambda: "4 matched, 1 substituted, 0 inserted, 1 deleted" in window.statusBar().currentMessage()
    )
    s.undo_stack.undo()
    assert not s.has_tier("transcript timed by asr") and "transcript timed by asr" not in s.alignments
    assert s.has_tier("asr")


def test_two_segmentations_by_times(window, qtbot):
    s = window.session
    job = start_tier_alignment(window, "words", "asr", "times")
    qtbot.waitUntil(lambda: s.has_tier("words timed by asr"), timeout=20000)
    assert job.state == "finished"
    al = s.alignments["words timed by asr"]
    assert al.method == "tiers-times"
    assert al.attrs["boundary_median"] == pytest.approx(0.03)  # the ASR tier is 30 ms late
    assert "boundaries differ by 30 ms median" in window.statusBar().currentMessage()
