"""Kill -9 in the middle of editing, start again, recover every edit (the autosave journal)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from studio.qt.dialogs import Dialogs
from studio.qt.main_window import MainWindow
from studio.qt.settings import Settings

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from studio.qt.dialogs import Dialogs
    from studio.qt.main_window import MainWindow
    win = MainWindow(dialogs=Dialogs(test_mode=True), clock_output="silent")
    if len(sys.argv) > 1:
        win.open_paths([sys.argv[1]])
        win.timeline.set_current(win.track_for_tier("words"))
        for t in (0.6, 0.9, 1.2):
            win.view.set_playhead(t)
            win.trigger("split")
    win.dialogs.answers.append("notes")
    win.trigger("new_tier")
    win.view.set_selection(0.1, 0.4)
    win.trigger("create")
    track = win.track_for_tier("notes")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    track.editor.setText("typed before the crash")
    QTest.keyClick(track.editor, Qt.Key.Key_Return)
    assert win.session.tier("notes")[0].label == "typed before the crash"
    print("edited", len(win.session.undo_stack), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _crash(*args: str) -> None:
    r = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=60,
                       env=os.environ.copy())  # fmt: skip
    assert r.returncode == -9, r.stderr[-2000:]
    assert "edited" in r.stdout


def _window(qtbot, answers):
    d = Dialogs(test_mode=True)
    d.answers.extend(answers)
    win = MainWindow(dialogs=d, settings=Settings(), clock_output="silent", check_recovery=True)
    qtbot.addWidget(win)
    return win


@pytest.mark.timeout(120)
def test_kill_and_recover_a_file(qtbot, tmp_path, demo_dir):
    for name in ("demo.studio", "swwp2s.mpg"):
        shutil.copy2(demo_dir / name, tmp_path / name)
    session_file = tmp_path / "demo.studio"
    _crash(str(session_file))
    win = _window(qtbot, ["Yes"])
    qtbot.waitUntil(lambda: win.session.has_tier("notes"), timeout=20000)
    asked = win.dialogs.messages("ask")
    assert asked and "demo.studio" in asked[0][2]
    words = win.session.tier("words")
    assert len(words) == 9  # 6 words + 3 splits
    assert [a.label for a in win.session.tier("notes")] == ["typed before the crash"]
    assert win.isWindowModified()
    assert any("Recovered" in m[2] for m in win.dialogs.messages("info"))
    win.dialogs.answers.append("Discard")
    win.close()


@pytest.mark.timeout(120)
def test_kill_and_recover_an_unsaved_session(qtbot):
    _crash()
    win = _window(qtbot, ["Yes"])
    qtbot.waitUntil(lambda: win.session.has_tier("notes"), timeout=20000)
    notes = win.session.tier("notes")
    assert [(a.start, a.end, a.label) for a in notes] == [(0.1, 0.4, "typed before the crash")]
    # a second crash before saving must not lose it either: the journal is still there
    from studio.io.journal import pending_journals

    assert pending_journals()
    win.dialogs.answers.append("Discard")
    win.close()
    assert not pending_journals()


def test_declining_recovery_keeps_the_journal_aside(qtbot):
    _crash()
    win = _window(qtbot, ["No"])
    qtbot.waitUntil(lambda: bool(win.dialogs.messages("ask")), timeout=10000)
    assert not win.session.has_tier("notes")
    from studio.io.journal import journal_dir, pending_journals

    assert not pending_journals()
    assert list(journal_dir().glob("*.declined-*"))
    win.close()


def test_journal_of_a_deleted_file_is_kept_aside_once(qtbot, tmp_path, demo_dir):
    for name in ("demo.studio", "swwp2s.mpg"):
        shutil.copy2(demo_dir / name, tmp_path / name)
    _crash(str(tmp_path / "demo.studio"))
    (tmp_path / "demo.studio").unlink()
    win = _window(qtbot, [])
    qtbot.waitUntil(lambda: bool(win.dialogs.messages("info")), timeout=10000)
    kind, title, text = win.dialogs.messages("info")[0]
    assert "demo.studio" in text and "gone" in text
    assert not win.dialogs.messages("ask")
    from studio.io.journal import journal_dir, pending_journals

    assert not pending_journals()  # not offered again at the next start
    assert list(journal_dir().glob("*.orphaned-*"))
    win.close()
