"""Helpers shared by the window tests: a window in test mode, waiting for its media, closing it."""

from __future__ import annotations

from studio.qt.dialogs import Dialogs
from studio.qt.main_window import MainWindow
from studio.qt.settings import Settings


def make_window(qtbot, session=None, size: tuple[int, int] = (1200, 800)) -> MainWindow:
    """A shown window: dialogs in test mode (recorded, answered from `dialogs.answers`), the clock silent."""
    win = MainWindow(session, dialogs=Dialogs(test_mode=True), settings=Settings(), clock_output="silent")
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def wait_loaded(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win.media is not None and not win.media.loading, timeout=20000)
    qtbot.waitUntil(lambda: win.ready_for_screenshot(), timeout=20000)


def close(win: MainWindow, *answers: str) -> None:
    """Close, answering the unsaved-changes question (Discard unless told otherwise)."""
    win.dialogs.answers.extend(answers or ("Discard",) * 3)
    win.close()
