"""Align ▸ Align…: one dialog, the kind of alignment chosen at its top, each kind's own form and checks."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from studio.qt.align_all import AlignAllDialog, start_chosen


def test_one_dialog_three_kinds(demo_window, qtbot):
    win = demo_window
    s = win.session
    win.action("align_tiers").trigger()  # the menu's entries open it on their page
    dlg = win._last_align_all
    qtbot.addWidget(dlg)
    assert dlg.kind() == "tiers" and dlg.stack.currentWidget() is win._last_tier_dialog
    assert all(not b.isVisibleTo(dlg) for p in dlg.pages.values() for b in p.findChildren(QDialogButtonBox))
    dlg.set_kind("recordings")
    assert dlg.stack.currentWidget() is dlg.pages["recordings"]
    dlg._accept()  # the demo has one recording: the page's own check, said in the dialog
    assert "two recordings" in dlg.error.text() and dlg.result() == 0
    dlg.kind_box.setCurrentIndex(0)  # a transcript to the recording: the demo's transcript tier
    assert dlg.kind() == "transcript" and dlg.error.text() == ""
    page = dlg.pages["transcript"]
    assert page.problem() is None
    dlg._accept()
    assert dlg.result() == 1
    job = start_chosen(win, dlg)
    qtbot.waitUntil(lambda: s.has_tier("words (aligned)"), timeout=30000)
    assert job.state == "finished" and win.align_job is job


def test_standalone_construction_picks_the_page(qtbot, demo_window):
    dlg = AlignAllDialog(demo_window.session, None, "recordings")
    qtbot.addWidget(dlg)
    assert dlg.kind() == "recordings" and dlg.kind_box.count() == 3
    dlg.set_kind("nonsense")  # an unknown kind: the first page
    assert dlg.kind() == "transcript"
