"""Align ▸ Align two recordings: the time map from one recording to another, as a curve tier.

Asks for recording A, recording B and the method (DTW; CTW); runs `studio.align.streams` as a job
on the device worker; the result arrives as a curve tier "B at A": for every 10 ms of A (on the
session's time line), the matching time in B's own clock -- and as a stored alignment
(`session.alignments`, the same name; see `studio.align.streams.time_map_alignment`), in one undo step. A straight line of slope
1 means the two only differ by an offset (Align ▸ Media offsets sets it); a bent one shows where
one recording runs faster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QWidget

from ..core.session import Session
from .align_dialog import accept_unless_problem, form_dialog_layout


class StreamsDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Align two recordings")
        self.session = session
        form = QFormLayout()
        self.a, self.b = QComboBox(), QComboBox()
        for i, m in enumerate(session.media):
            if m.kind in ("audio", "video"):
                for box in (self.a, self.b):
                    box.addItem(m.name or Path(m.path).name, i)
        if self.b.count() > 1:
            self.b.setCurrentIndex(1)
        self.method = QComboBox()
        self.method.addItem("DTW on log-mel (multiscale when long)", "dtw")
        self.method.addItem("CTW (canonical time warping; recordings of different kinds)", "ctw")
        form.addRow("Recording A", self.a)
        form.addRow("Recording B", self.b)
        form.addRow("Method", self.method)
        self.error = form_dialog_layout(self, form)

    def problem(self) -> str | None:
        if self.a.count() < 2:
            return "The session needs two recordings (File ▸ Add media)."
        if self.a.currentData() == self.b.currentData():
            return "Choose two different recordings."
        return None

    def _accept(self) -> None:
        accept_unless_problem(self)


def unique_alignment_name(session: Session, base: str) -> str:
    name, k = base, 2
    while name in session.alignments:
        name, k = f"{base} ({k})", k + 1
    return name


def start_stream_alignment(window: Any, ia: int, ib: int, method: str) -> Any:
    """Align media `ia` to media `ib` of the window's session on its device worker; the time map
    arrives as a curve tier (one undo step)."""
    from ..align.streams import time_map_alignment
    from ..core.commands import SetAlignment
    from ..core.editing import add_tiers
    from ..core.tiers import CurveTier

    session = window.session
    ma, mb = session.media[ia], session.media[ib]

    def task() -> Any:
        from ..align.streams import align_streams_task

        return (yield from align_streams_task(ma.path, mb.path, method=method))

    def done(tm: Any) -> None:
        if window.session is not session:
            return
        name_a, name_b = Path(ma.path).name, Path(mb.path).name
        tier = CurveTier(
            f"{name_b} at {name_a}",
            tm.b_times,
            rate=100.0,
            start=ma.offset,
            unit="s",
            attrs={"time_map": {"a": name_a, "b": name_b, "method": tm.method, "cost": round(tm.cost, 6)}},
        )
        cmds = add_tiers(session, [tier], suffix=tm.method)
        alignment = time_map_alignment(tm, ma.name, mb.name, name=unique_alignment_name(session, tier.name))
        with session.undo_stack.macro("Align two recordings"):
            for c in cmds:
                session.undo_stack.push(c)
            session.undo_stack.push(SetAlignment(alignment.name, alignment))
        window.show_status(f"time map of {name_b} against {name_a} added ({tm.method})")

    def failed(message: str, details: str) -> None:
        window.dialogs.error("Aligning the recordings failed", message, details)

    worker = getattr(window, "device_worker", None) or window.runner
    return worker.submit(task, name="Align two recordings", group="streams", on_result=done, on_error=failed)
