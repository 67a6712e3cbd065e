"""Align ▸ Align…: one dialog for every kind of alignment, chosen at its top.

What to align: a transcript (text or a tier) to a recording (`align_dialog.AlignDialog`: phone
HMM, TTS + DTW, CTC), two recordings (`streams_dialog.StreamsDialog`: DTW, soft-DTW, CTW, GCTW,
deep CTW; the result can drive B's playback), or two tiers (`tier_align_dialog.TierAlignDialog`:
by labels or by time). Each kind keeps its own form (the three dialogs, embedded as pages, their
own buttons hidden) and its own `problem()` check; OK starts the chosen kind's job on the device
worker (`start_chosen`), whose result arrives as one undo step.

The Align menu's three entries open this dialog on their page, so the forms are the same wherever
a user starts from.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QStackedWidget,
    QWidget,
)

from .align_dialog import accept_unless_problem

__all__ = ["AlignAllDialog", "KINDS", "start_chosen"]

#: (key, label) of the pages, in order
KINDS = (
    ("transcript", "A transcript to a recording (words and phones)"),
    ("recordings", "Two recordings (a time map; B can play in sync)"),
    ("tiers", "Two tiers (A's labels on B's times)"),
)


class AlignAllDialog(QDialog):
    def __init__(self, session: Any, parent: QWidget | None = None, kind: str = "transcript") -> None:
        from .align_dialog import AlignDialog, form_dialog_layout
        from .streams_dialog import StreamsDialog
        from .tier_align_dialog import TierAlignDialog

        super().__init__(parent)
        self.setWindowTitle("Align")
        self.kind_box = QComboBox()
        for key, label in KINDS:
            self.kind_box.addItem(label, key)
        self.pages: dict[str, QDialog] = {
            "transcript": AlignDialog(session, self),
            "recordings": StreamsDialog(session, self),
            "tiers": TierAlignDialog(session, self),
        }
        self.stack = QStackedWidget()
        for key, _ in KINDS:
            page = self.pages[key]
            page.setWindowFlags(Qt.WindowType.Widget)  # a page of this dialog, not a window
            for box in page.findChildren(QDialogButtonBox):
                box.hide()  # this dialog's buttons serve every page
            self.stack.addWidget(page)
        form = QFormLayout()
        form.addRow("What to align", self.kind_box)
        form.addRow(self.stack)
        self.error = form_dialog_layout(self, form)
        self.kind_box.currentIndexChanged.connect(self._show_kind)
        self.set_kind(kind)

    def kind(self) -> str:
        return str(self.kind_box.currentData())

    def page(self) -> Any:
        return self.pages[self.kind()]

    def set_kind(self, kind: str) -> None:
        self.kind_box.setCurrentIndex(max(self.kind_box.findData(kind), 0))
        self._show_kind()

    def _show_kind(self, *_: Any) -> None:
        self.stack.setCurrentWidget(self.page())
        self.error.clear()

    def problem(self) -> str | None:
        return self.page().problem()

    def _accept(self) -> None:
        accept_unless_problem(self)


def start_chosen(window: Any, dlg: AlignAllDialog) -> Any:
    """Start the job of the dialog's chosen kind (its page's request); returns the job."""
    kind, page = dlg.kind(), dlg.page()
    if kind == "transcript":
        from .align_dialog import start_alignment

        window.align_job = start_alignment(window, page.request())
        return window.align_job
    if kind == "recordings":
        from .streams_dialog import start_stream_alignment

        ia, ib, method, params = page.request()
        window.streams_job = start_stream_alignment(
            window, ia, ib, method, play_in_sync=page.play_in_sync.isChecked(), **params
        )
        return window.streams_job
    from .tier_align_dialog import start_tier_alignment

    window.tier_align_job = start_tier_alignment(
        window, str(page.a.currentData()), str(page.b.currentData()), str(page.mode.currentData())
    )
    return window.tier_align_job
