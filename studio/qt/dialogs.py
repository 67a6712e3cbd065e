"""Every question and message the window puts to the user, in one place, with a test mode.

In test mode (tests, `STUDIO_TEST_MODE=1`) nothing modal opens: each call is recorded in `log`
as ``(kind, title, text)`` and answered from `answers` (queued by the test) or with the default.
This is how mne-qt-browser keeps dialogs from blocking a test run (see ../shared/STYLE.md).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

__all__ = ["Dialogs"]

_BUTTONS = {
    "Save": QMessageBox.StandardButton.Save,
    "Discard": QMessageBox.StandardButton.Discard,
    "Cancel": QMessageBox.StandardButton.Cancel,
    "Yes": QMessageBox.StandardButton.Yes,
    "No": QMessageBox.StandardButton.No,
    "OK": QMessageBox.StandardButton.Ok,
}


class Dialogs:
    def __init__(self, parent: QWidget | None = None, test_mode: bool | None = None) -> None:
        self.parent = parent
        self.test_mode = bool(os.environ.get("STUDIO_TEST_MODE")) if test_mode is None else test_mode
        self.log: list[tuple[str, str, str]] = []
        self.answers: deque[Any] = deque()

    def _answer(self, kind: str, title: str, text: str, default: Any) -> Any:
        self.log.append((kind, title, text))
        return self.answers.popleft() if self.answers else default

    def messages(self, kind: str | None = None) -> list[tuple[str, str, str]]:
        return [m for m in self.log if kind is None or m[0] == kind]

    # -- messages -------------------------------------------------------------------------------
    def error(self, title: str, text: str, details: str = "") -> None:
        """An error the user must see; `details` (e.g. a traceback) is selectable and copyable."""
        if self.test_mode:
            self._answer("error", title, text + ("\n" + details if details else ""), None)
            return
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self.parent)
        if details:
            box.setDetailedText(details)
        box.exec()

    def info(self, title: str, text: str) -> None:
        if self.test_mode:
            self._answer("info", title, text, None)
            return
        QMessageBox.information(self.parent, title, text)

    def ask(self, title: str, text: str, buttons: Sequence[str] = ("Yes", "No"), default: str = "Yes") -> str:
        """One of `buttons` (their names as given)."""
        if self.test_mode:
            return str(self._answer("ask", title, text, default))
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self.parent)
        for b in buttons:
            box.addButton(_BUTTONS[b])
        box.setDefaultButton(_BUTTONS[default])
        pressed = box.exec()
        for b in buttons:
            if pressed == _BUTTONS[b]:
                return b
        return "Cancel" if "Cancel" in buttons else buttons[-1]

    # -- input ----------------------------------------------------------------------------------
    def open_files(self, title: str, filters: str, directory: str = "") -> list[str]:
        if self.test_mode:
            return list(self._answer("open", title, filters, []))
        files, _ = QFileDialog.getOpenFileNames(self.parent, title, directory, filters)
        return files

    def save_file(self, title: str, suggested: str, filters: str) -> str | None:
        if self.test_mode:
            return self._answer("save", title, suggested, None)
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filters)
        return path or None

    def text(self, title: str, label: str, default: str = "") -> str | None:
        if self.test_mode:
            return self._answer("text", title, label, default or None)
        value, ok = QInputDialog.getText(self.parent, title, label, text=default)
        return value if ok else None

    def choice(self, title: str, label: str, items: Sequence[str], current: int = 0) -> str | None:
        if self.test_mode:
            return self._answer("choice", title, label, items[current] if items else None)
        value, ok = QInputDialog.getItem(self.parent, title, label, list(items), current, False)
        return value if ok else None
