"""Help ▸ Keyboard shortcuts: every command with its keys, filterable (from `shortcuts.ACTIONS`)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from . import shortcuts

__all__ = ["ShortcutsDialog"]


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(760, 560)
        lay = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (e.g. split, Ctrl, boundary)")
        self.filter.setClearButtonEnabled(True)
        lay.addWidget(self.filter)
        rows = [
            (", ".join(a.keys) or "—", a.text.replace("&", ""), a.menu, a.help) for a in shortcuts.ACTIONS
        ]
        rows += [(g, d, "Mouse", "") for g, d in shortcuts.MOUSE]
        self.table = QTableWidget(len(rows), 4)
        self.table.setHorizontalHeaderLabels(["Keys", "Command", "Menu", "What it does"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        self.table.setWordWrap(True)
        lay.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.filter.textChanged.connect(self.apply_filter)

    def apply_filter(self, text: str) -> int:
        """Hide rows not matching `text`; returns how many stay visible."""
        needle = text.lower().strip()
        shown = 0
        for r in range(self.table.rowCount()):
            hay = " ".join(self.table.item(r, c).text().lower() for c in range(4))
            hide = bool(needle) and needle not in hay
            self.table.setRowHidden(r, hide)
            shown += not hide
        return shown
