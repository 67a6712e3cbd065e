"""Media offsets: see, edit and compute how the session's recordings line up.

Several cameras and microphones of one event start at different moments. Each media of a session
has an offset (seconds added to its own time to get session time); this dialog shows them, lets
the user type one (an undoable `SetMediaOffset`), and computes one from the audio: the offset of a
recording relative to the reference by onset-envelope cross-correlation (`studio.align.sync`),
run as a job off the UI thread, applied as an undoable command, with the match's confidence and
the drift it measured shown. Drift is reported, not applied (media play at one rate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.commands import SetMediaOffset
from ..core.session import Session
from ..tasks.base import Progress


def sync_task(reference: str, other: str) -> Any:
    """A task computing `other`'s offset relative to `reference` (a `SyncResult`)."""
    from ..align.sync import sync_audio

    yield Progress(None, f"syncing {Path(other).name} to {Path(reference).name}")
    return sync_audio(reference, other)


class SyncDialog(QDialog):
    """One row per media: name, offset (editable), a button computing it from the audio."""

    def __init__(self, session: Session, runner: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Media offsets")
        self.session, self.runner = session, runner
        self.reference = QComboBox()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["media", "offset (s)", ""])
        self.table.verticalHeader().hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Reference"))
        top.addWidget(self.reference, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.spins: list[QDoubleSpinBox] = []
        self.sync_buttons: list[QPushButton] = []
        self.jobs: list[Any] = []
        session.media_changed.connect(self._on_media_changed)
        self.finished.connect(lambda _r: session.media_changed.disconnect(self._on_media_changed))
        self._fill()

    def _fill(self) -> None:
        media = self.session.media
        self.reference.clear()
        self.table.setRowCount(len(media))
        for i, m in enumerate(media):
            name = m.name or Path(m.path).name
            self.reference.addItem(name, i)
            self.table.setCellWidget(i, 0, QLabel(name))
            spin = QDoubleSpinBox()
            spin.setDecimals(3)
            spin.setRange(-86400.0, 86400.0)
            spin.setSingleStep(0.01)
            spin.setValue(m.offset)
            spin.editingFinished.connect(lambda i=i: self._typed(i))
            self.table.setCellWidget(i, 1, spin)
            btn = QPushButton("Sync to reference")
            btn.clicked.connect(lambda _c=False, i=i: self.compute(i))
            self.table.setCellWidget(i, 2, btn)
            self.spins.append(spin)
            self.sync_buttons.append(btn)
        self.table.resizeColumnsToContents()

    def _on_media_changed(self, _session: Any, i: int, media: Any) -> None:
        if i < len(self.spins) and abs(self.spins[i].value() - media.offset) > 5e-4:
            self.spins[i].blockSignals(True)
            self.spins[i].setValue(media.offset)
            self.spins[i].blockSignals(False)

    def _typed(self, i: int) -> None:
        m = self.session.media[i]
        value = self.spins[i].value()
        if abs(value - m.offset) > 5e-4:
            self.session.undo_stack.push(SetMediaOffset(m.path, value))

    def compute(self, i: int) -> Any:
        """Start computing media `i`'s offset relative to the reference; returns the job."""
        r = int(self.reference.currentData())
        if r == i:
            self.status.setText("That is the reference.")
            return None
        ref, other = self.session.media[r], self.session.media[i]
        self.status.setText(f"Syncing {Path(other.path).name} ...")

        def done(res: Any) -> None:
            new = ref.offset + res.offset
            self.session.undo_stack.push(SetMediaOffset(other.path, new))
            drift = f", drift {res.drift_ppm:+.0f} ppm (not applied)" if res.drift_ppm else ""
            self.status.setText(
                f"{Path(other.path).name}: offset {new:+.3f} s (confidence {res.confidence:.2f}{drift})"
            )

        def failed(message: str, _details: str) -> None:
            self.status.setText(f"Could not sync {Path(other.path).name}: {message}")

        job = self.runner.submit(
            lambda: sync_task(ref.path, other.path),
            name="Sync media",
            group=f"sync {i}",
            on_result=done,
            on_error=failed,
        )
        self.jobs.append(job)
        return job
