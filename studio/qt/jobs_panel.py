"""The jobs panel: what runs in the background, how far it is, how long it has left, and what failed.

It lists the jobs of any number of *sources* — objects with a ``jobs_changed`` signal and a ``jobs``
list of the jobs queued or running (`device_worker.DeviceWorker`, `jobs.JobRunner`) — one row per
job: its name, a progress bar, the task's message, the time left (extrapolated from the progress
made since it started; "—" until that can be told) and a cancel button.

* Rows follow the jobs by polling their ``state``/``fraction``/``message`` five times a second
  while something is listed (cheap, and it needs no signal per progress step), and on every
  ``jobs_changed``.
* Short-lived media jobs (spectrogram tiles, video frames) would flicker: a source added with
  ``min_visible_s`` lists a job only once it has run that long, or when it failed.
* Finished and cancelled jobs stay listed for ``keep_finished_s`` seconds; failed ones stay until
  dismissed (✕ or "Clear finished"). A failure shows its message; "Details…" opens the full
  traceback in a read-only box with a Copy button. Nothing here raises into the window.
* Rows are removed with ``deleteLater`` from the timer, never from inside a click on them.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["JobsPanel", "JobRow", "TracebackDialog", "time_left", "format_time_left"]

_TICK_MS = 200
_MIN_FRACTION = 0.01  # below this an extrapolation is noise
_MIN_ELAPSED = 0.5

_STYLE = """
QFrame#jobRow { border: none; border-bottom: 1px solid palette(midlight); }
QLabel#jobName { font-weight: 600; }
QLabel#jobSource, QLabel#jobMessage { color: palette(placeholder-text); }
QLabel#jobError { color: #c0392b; }
QProgressBar { max-height: 8px; border: 1px solid palette(mid); border-radius: 3px; background: palette(base); }
QProgressBar::chunk { background: #3d8fd6; border-radius: 2px; }
QProgressBar[state="finished"]::chunk { background: #3aa55d; }
QProgressBar[state="failed"]::chunk { background: #c0392b; }
QProgressBar[state="cancelled"]::chunk { background: #9a9a9a; }
"""


def time_left(job: Any, now: float | None = None) -> float | None:
    """Seconds left for a running job, from its progress rate so far; None while unknown."""
    f, started = getattr(job, "fraction", None), getattr(job, "started_at", None)
    if job.state != "running" or f is None or started is None or f < _MIN_FRACTION or f >= 1.0:
        return None
    elapsed = (time.monotonic() if now is None else now) - started
    if elapsed < _MIN_ELAPSED:
        return None
    return elapsed * (1.0 - f) / f


def format_time_left(seconds: float | None) -> str:
    """ "—", "7 s left", "2 min 05 s left", "1 h 02 min left"."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s left"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s // 3600} h {s % 3600 // 60:02d} min left"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds) // 60} min {int(seconds) % 60:02d} s"


class TracebackDialog(QDialog):
    """A failed job: its message and the full traceback, read-only and copyable."""

    def __init__(self, title: str, message: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QPlainTextEdit(details or "(no traceback was recorded)")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy the message and traceback (to paste in a bug report)")
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.message)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(f"{self.message.text()}\n\n{self.text.toPlainText()}")


class JobRow(QFrame):
    """One job: name, source, progress bar, message or error, time left, cancel (or dismiss)."""

    def __init__(self, panel: JobsPanel, job: Any, source: str) -> None:
        super().__init__()
        self.panel = panel
        self.job = job
        self.ended_at: float | None = None
        self.dismissed = False
        self.setObjectName("jobRow")
        self.name = QLabel(job.name)
        self.name.setObjectName("jobName")
        self.source = QLabel(source)
        self.source.setObjectName("jobSource")
        self.status = QLabel()
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setRange(0, 1000)
        self.percent = QLabel()
        self.percent.setMinimumWidth(34)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.message = QLabel()
        self.message.setObjectName("jobMessage")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPushButton("Details…")
        self.details.setToolTip("Show the full traceback")
        self.details.clicked.connect(lambda: self.panel.show_details(self.job))
        self.details.hide()
        self.cancel = QToolButton()
        self.cancel.setText("✕")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(self._on_cancel)

        grid = QGridLayout(self)
        grid.setContentsMargins(8, 5, 4, 6)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.name)
        top.addWidget(self.source)
        top.addStretch(1)
        top.addWidget(self.status)
        grid.addLayout(top, 0, 0, 1, 2)
        grid.addWidget(self.cancel, 0, 2)
        grid.addWidget(self.bar, 1, 0)
        grid.addWidget(self.percent, 1, 1)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.details)
        grid.addLayout(bottom, 2, 0, 1, 3)
        grid.setColumnStretch(0, 1)
        self.refresh(time.monotonic())

    def _on_cancel(self) -> None:
        if self.job.active:
            self.job.cancel()
        else:
            self.dismissed = True
        self.panel.schedule_refresh()

    def _set_bar_state(self, state: str) -> None:
        if self.bar.property("state") != state:
            self.bar.setProperty("state", state)
            self.bar.style().unpolish(self.bar)
            self.bar.style().polish(self.bar)

    def refresh(self, now: float) -> None:
        job = self.job
        state = job.state
        if not job.active and self.ended_at is None:
            self.ended_at = getattr(job, "ended_at", None) or now
        f = job.fraction
        if state == "running" and f is None:
            self.bar.setRange(0, 0)  # busy: the task cannot tell how far it is
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * (1.0 if state == "finished" else min(max(f or 0.0, 0.0), 1.0))))
        self.percent.setText("" if f is None and state != "finished" else f"{self.bar.value() // 10} %")
        self._set_bar_state(state)
        self.cancel.setToolTip("Cancel this job" if job.active else "Remove from the list")
        if state == "waiting":
            self.status.setText("queued")
        elif state == "running":
            self.status.setText(format_time_left(time_left(job, now)))
        elif state == "finished":
            took = (self.ended_at or now) - (job.started_at or now)
            self.status.setText(f"done in {_duration(took)}")
        else:
            self.status.setText(state)
        if state == "failed":
            lines = self.panel.traceback_of(job).strip().splitlines()
            self.message.setText(job.error or "failed")
            self.message.setToolTip(lines[-1] if lines else "")
            self.details.show()
        else:
            self.message.setText(job.message or ("waiting for the worker" if state == "waiting" else ""))
        name = "jobError" if state == "failed" else "jobMessage"
        if self.message.objectName() != name:
            self.message.setObjectName(name)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)


class JobsPanel(QWidget):
    """See the module doc. `keep_finished_s`: how long finished/cancelled jobs stay listed."""

    def __init__(self, parent: QWidget | None = None, *, keep_finished_s: float = 10.0) -> None:
        super().__init__(parent)
        self.setObjectName("JobsPanel")
        self.setStyleSheet(_STYLE)
        self.keep_finished_s = keep_finished_s
        self.details_dialog: TracebackDialog | None = None
        self._sources: list[tuple[QObject, str, float]] = []
        self._tracked: dict[int, tuple[Any, str, float, float]] = {}  # id -> job, source, min, seen
        self._tracebacks: dict[int, str] = {}
        self._rows: dict[int, JobRow] = {}

        self.summary = QLabel()
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setToolTip("Remove finished, cancelled and failed jobs from the list")
        self.clear_button.clicked.connect(self.clear_finished)
        head = QHBoxLayout()
        head.setContentsMargins(8, 4, 4, 4)
        head.addWidget(self.summary, 1)
        head.addWidget(self.clear_button)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(0)
        self.placeholder = QLabel("No background jobs")
        self.placeholder.setObjectName("jobMessage")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._list_layout.addWidget(self.placeholder)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(_TICK_MS)
        self._timer.timeout.connect(self.refresh)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self.refresh)
        self.refresh()

    # -- sources --------------------------------------------------------------------------------
    def add_source(self, source: QObject, label: str | None = None, *, min_visible_s: float = 0.0) -> None:
        """List the jobs of `source` (a DeviceWorker or JobRunner), named `label` in each row."""
        name = label or str(getattr(source, "label", "") or type(source).__name__)
        self._sources.append((source, name, min_visible_s))
        source.jobs_changed.connect(self._sync)  # type: ignore[attr-defined]
        self._sync()

    @Slot()
    def _sync(self) -> None:
        now = time.monotonic()
        for source, name, min_visible in self._sources:
            for job in source.jobs:  # type: ignore[attr-defined]
                if job.id not in self._tracked:
                    self._tracked[job.id] = (job, name, min_visible, now)
                    job.failed.connect(self._on_failed)
        self.refresh()

    @Slot(str, str)
    def _on_failed(self, message: str, tb: str) -> None:
        job = self.sender()
        if job is not None:
            self._tracebacks[job.id] = tb  # type: ignore[attr-defined]
            self.schedule_refresh()

    def traceback_of(self, job: Any) -> str:
        return str(getattr(job, "traceback", "") or self._tracebacks.get(job.id, ""))

    # -- rows -----------------------------------------------------------------------------------
    @property
    def rows(self) -> list[JobRow]:
        """The rows listed, oldest job first."""
        return [self._rows[k] for k in sorted(self._rows)]

    def row_for(self, job: Any) -> JobRow | None:
        return self._rows.get(job.id)

    def schedule_refresh(self) -> None:
        self._soon.start()

    @Slot()
    def refresh(self) -> None:
        now = time.monotonic()
        for key, (job, source, min_visible, seen) in list(self._tracked.items()):
            row = self._rows.get(key)
            if row is None:
                shown_long_enough = job.active and now - seen >= min_visible
                if shown_long_enough or job.state == "failed" or (not job.active and min_visible <= 0):
                    row = self._add_row(key, job, source)
                elif not job.active:
                    del self._tracked[key]
                    continue
                else:
                    continue
            row.refresh(now)
            expired = (
                row.ended_at is not None
                and job.state != "failed"
                and now - row.ended_at >= self.keep_finished_s
            )
            if row.dismissed or expired:
                self._remove_row(key)
        self._update_summary()
        active = any(job.active for job, *_ in self._tracked.values())
        if (active or self._rows) and not self._timer.isActive():
            self._timer.start()
        elif not active and not any(r.ended_at is not None and r.job.state != "failed" for r in self.rows):
            self._timer.stop()

    def _add_row(self, key: int, job: Any, source: str) -> JobRow:
        row = JobRow(self, job, source)
        later = [k for k in self._rows if k > key]
        index = self._list_layout.indexOf(self._rows[min(later)]) if later else len(self._rows)
        self._list_layout.insertWidget(index, row)
        self._rows[key] = row
        self.placeholder.hide()
        return row

    def _remove_row(self, key: int) -> None:
        row = self._rows.pop(key)
        self._tracked.pop(key, None)
        self._tracebacks.pop(key, None)
        self._list_layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self.placeholder.setVisible(not self._rows)

    def clear_finished(self) -> None:
        for key, row in list(self._rows.items()):
            if not row.job.active:
                self._remove_row(key)
        self._update_summary()

    def _update_summary(self) -> None:
        states = [r.job.state for r in self._rows.values()]
        parts = [f"{states.count(s)} {word}" for s, word in
                 (("running", "running"), ("waiting", "queued"), ("failed", "failed")) if states.count(s)]  # fmt: skip
        self.summary.setText(" · ".join(parts) if parts else "Idle")
        self.clear_button.setEnabled(any(s not in ("running", "waiting") for s in states))

    # -- errors ---------------------------------------------------------------------------------
    def show_details(self, job: Any) -> TracebackDialog:
        """The traceback of a failed job, in a dialog (not modal: the app keeps running)."""
        if self.details_dialog is not None:
            self.details_dialog.close()
            self.details_dialog.deleteLater()
        dlg = TracebackDialog(f"{job.name} failed", job.error or "failed", self.traceback_of(job), self)
        self.details_dialog = dlg
        dlg.show()
        return dlg

    def shutdown(self) -> None:
        """Stop the refresh timer and close the details dialog (the window calls it on close)."""
        self._timer.stop()
        self._soon.stop()
        if self.details_dialog is not None:
            self.details_dialog.close()
