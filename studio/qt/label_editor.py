"""The inline label editor of tier tracks: a QLineEdit that says how it was left.

It is a widget of its own because the keys it acts on (Enter, Escape, Tab, Up/Down) are also the
window's shortcuts: while a label is typed they must reach the editor, and Tab must commit and move
on instead of moving the focus. Leaving it any other way (a click elsewhere) commits, as in ELAN;
the completer's popup taking the focus does not. Labels of any length are kept whole (QLineEdit
would cut them at 32 767 characters).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

__all__ = ["LabelEditor"]

# Up/Down too: while typing they must not switch the current tier under the editor
_EDITOR_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab,
                Qt.Key.Key_Up, Qt.Key.Key_Down)  # fmt: skip


class LabelEditor(QLineEdit):
    """The inline label editor; says how it was left: committed(text, move, play) or cancelled()."""

    committed = Signal(str, int, bool)
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.done = False
        self.setMaxLength(2**31 - 1)  # never truncate a long label on commit
        self.setStyleSheet(
            "QLineEdit { background: #15171a; color: #eef0f3; border: 1px solid #ffc446;"
            " border-radius: 2px; padding: 0 3px; }"
        )

    def _finish(self, move: int = 0, play: bool = False, cancel: bool = False) -> None:
        if self.done:
            return
        self.done = True
        if cancel:
            self.cancelled.emit()
        else:
            self.committed.emit(self.text(), move, play)

    def event(self, e: QEvent) -> bool:
        # The keys the editor acts on are the editor's, not the window's shortcuts (Enter, Escape...)
        if e.type() == QEvent.Type.ShortcutOverride and e.key() in _EDITOR_KEYS:
            e.accept()
            return True
        # Tab must not move the focus: it commits and goes on (QCompleter forwards it here too).
        if e.type() == QEvent.Type.KeyPress and e.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            back = e.key() == Qt.Key.Key_Backtab or bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._finish(-1 if back else 1)
            return True
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Escape:
            self._finish(cancel=True)
        elif e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ctrl = bool(e.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self._finish(1 if ctrl else 0, play=ctrl)
        else:
            super().keyPressEvent(e)

    def watch_popup(self) -> None:
        """Escape in the completer's list closes the list, not the editor (ours runs first)."""
        self.completer().popup().installEventFilter(self)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:
        if e.type() == QEvent.Type.KeyPress and e.key() == Qt.Key.Key_Escape:
            obj.hide()
            return True
        return False

    def focusOutEvent(self, e: QFocusEvent) -> None:
        super().focusOutEvent(e)
        # The completer's popup takes the focus while it shows; anything else commits.
        if e.reason() != Qt.FocusReason.PopupFocusReason:
            popup = self.completer().popup() if self.completer() else None
            if popup is None or not popup.isVisible():
                self._finish()
