"""Media offsets: see, edit and compute how the session's recordings line up.

Several cameras and microphones of one event start at different moments. Each media of a session
has an offset (seconds added to its own time to get session time); this dialog shows them, lets
the user type one (an undoable `SetMediaOffset`), and computes one from the audio: the offset of a
recording relative to the reference by onset-envelope cross-correlation (`studio.align.sync`),
run as a job off the UI thread, applied as an undoable command, with the match's confidence and
the drift it measured shown.

The Timing column says how each recording's own clock maps onto the session and lets the user
change it (one undoable `SetMediaWarp` each): its own clock; its clock corrected for the drift the
last computation measured ("Correct drift too", on by default, applies it with the offset); or a
time map stored by Align ▸ Align two recordings (that map, smoothed by
`studio.align.sync.playback_warp` to a knot every 0.5 s, is put on the recording B, and B gets A's
offset) -- playback then resamples the audio along it and picks the video frames through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.commands import SetMediaOffset, SetMediaWarp
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
        self.resize(720, 260)
        self.session, self.runner = session, runner
        self.reference = QComboBox()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["media", "offset (s)", "", "timing"])
        self.table.verticalHeader().hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Reference"))
        top.addWidget(self.reference, 1)
        self.correct_drift = QCheckBox("Correct drift too")
        self.correct_drift.setChecked(True)
        self.correct_drift.setToolTip(
            "When syncing, also resample the recording for the clock drift measured"
        )
        top.addWidget(self.correct_drift)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.spins: list[QDoubleSpinBox] = []
        self.sync_buttons: list[QPushButton] = []
        self.timings: list[QComboBox] = []
        self.drifts: dict[int, tuple[float, float]] = {}  # media -> (drift ppm, offset) last computed
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
            label = QLabel(name)
            label.setContentsMargins(6, 0, 6, 0)
            self.table.setCellWidget(i, 0, label)
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
            timing = QComboBox()
            timing.activated.connect(lambda _k, i=i: self._timing_chosen(i))
            self.table.setCellWidget(i, 3, timing)
            self.timings.append(timing)
            self._fill_timing(i)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.resizeRowsToContents()

    def timing_choices(self, i: int) -> list[tuple[str, Any]]:
        """What media `i`'s clock can be: (label, key); key None = its own clock, ("drift", ppm),
        ("map", alignment name), ("current", None) for a warp applied otherwise."""
        m = self.session.media[i]
        out: list[tuple[str, Any]] = [("own clock", None)]
        if m.warp is not None:
            out.append((f"{m.warp.source or 'warped'} (applied)", ("current", None)))
        if i in self.drifts and self.drifts[i][0]:
            out.append((f"drift {self.drifts[i][0]:+.1f} ppm corrected", ("drift", self.drifts[i][0])))
        for name, al in self.session.alignments.items():
            if al.attrs.get("kind") == "streams" and al.warp.target == m.name:
                out.append((f"time map: {name}", ("map", name)))
        return out

    def _fill_timing(self, i: int) -> None:
        box = self.timings[i]
        box.blockSignals(True)
        box.clear()
        for label, key in self.timing_choices(i):
            box.addItem(label, key)
        box.setCurrentIndex(1 if self.session.media[i].warp is not None else 0)
        box.blockSignals(False)

    def _timing_chosen(self, i: int) -> None:
        self.set_timing(i, self.timings[i].currentData())

    def set_timing(self, i: int, key: Any) -> None:
        """Apply a timing choice (see `timing_choices`) to media `i`: one undoable step."""
        from ..align.sync import drift_warp, follow_map

        m = self.session.media[i]
        if key is None:
            if m.warp is not None:
                self.session.undo_stack.push(SetMediaWarp(m.path, None))
            return
        kind, value = key
        if kind == "drift":
            warp = drift_warp(value, name=m.name)
            self.session.undo_stack.push(SetMediaWarp(m.path, warp))
        elif kind == "map":
            al = self.session.alignments[value]
            a = next((x for x in self.session.media if x.name == al.warp.source), None)
            if a is None:
                self.status.setText(
                    f"The time map {value!r} is from {al.warp.source}, which is not in the session."
                )
                return
            warp, offset = follow_map(a, al.warp, f"time map {value}")
            self.session.undo_stack.push(SetMediaWarp(m.path, warp, offset=offset))
            self.status.setText(f"{m.name} now plays along the time map {value!r}.")

    def _on_media_changed(self, _session: Any, i: int, media: Any) -> None:
        if i < len(self.spins) and abs(self.spins[i].value() - media.offset) > 5e-4:
            self.spins[i].blockSignals(True)
            self.spins[i].setValue(media.offset)
            self.spins[i].blockSignals(False)
        if i < len(self.timings):
            self._fill_timing(i)

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
            self.drifts[i] = (float(res.drift_ppm), new)
            fix = bool(res.drift_ppm) and self.correct_drift.isChecked()
            if fix:
                from ..align.sync import drift_warp

                warp = drift_warp(res.drift_ppm, name=other.name)
                self.session.undo_stack.push(SetMediaWarp(other.path, warp, offset=new))
            else:
                self.session.undo_stack.push(SetMediaOffset(other.path, new))
            self._fill_timing(i)
            drift = (
                f", drift {res.drift_ppm:+.0f} ppm ({'corrected' if fix else 'not applied'})"
                if res.drift_ppm
                else ""
            )
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
