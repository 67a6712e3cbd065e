"""Align ▸ Align two tiers: which annotations of two interval tiers correspond, and A's labels on B's times.

Asks for tier A (e.g. a corrected transcript with rough times), tier B (e.g. an ASR or forced-
alignment word tier with good times) and how to pair them: by labels (a weighted edit distance on
normalised words) or by times (largest overlap, for two annotators' segmentations); runs
`studio.align.tiers.align_tiers_task` as a job on the device worker. The result arrives in one undo
step as a new tier "A timed by B" (each interval with a confidence, so the review queue lists the
doubtful ones) and a stored alignment (`session.alignments`, the same name): the time map of the
matched boundaries, with the counts in its attrs. The status bar says what matched.

The tiers are copied on the UI thread before the job starts (annotations are immutable, so a copy
of the list is a snapshot): the worker never reads a tier the user may be editing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QDialog, QFormLayout, QLabel, QWidget

from ..core.session import Alignment, Session
from ..core.tiers import IntervalTier
from .align_dialog import accept_unless_problem, form_dialog_layout
from .streams_dialog import unique_alignment_name

MODES = (
    ("labels", "By labels (transcript ↔ ASR words: edit distance on the words)"),
    ("times", "By times (two annotators: largest overlap)"),
)


class TierAlignDialog(QDialog):
    """Choose tier A, tier B (interval tiers) and the mode; read them from `a`, `b`, `mode`."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Align two tiers")
        self.session = session
        form = QFormLayout()
        self.a, self.b = QComboBox(), QComboBox()
        for t in session.tiers:
            if isinstance(t, IntervalTier):
                for box in (self.a, self.b):
                    box.addItem(f"{t.name}  ({len(t)})", t.name)
        if self.b.count() > 1:
            self.b.setCurrentIndex(1)
        self.mode = QComboBox()
        for key, text in MODES:
            self.mode.addItem(text, key)
        hint = QLabel(
            "A's labels get B's times: A is the tier whose words you trust, B the one whose times you trust."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid)")
        form.addRow("Tier A (labels)", self.a)
        form.addRow("Tier B (times)", self.b)
        form.addRow("Pair by", self.mode)
        form.addRow(hint)
        self.error = form_dialog_layout(self, form)

    def problem(self) -> str | None:
        if self.a.count() < 2:
            return "The session needs two interval tiers."
        if self.a.currentData() == self.b.currentData():
            return "Choose two different tiers."
        for box, which in ((self.a, "A"), (self.b, "B")):
            tier = self.session.tier(box.currentData())
            if not any(iv.label.strip() for iv in tier):
                return f"Tier {which} ({tier.name}) has no labelled intervals."
        return None

    def _accept(self) -> None:
        accept_unless_problem(self)


def _snapshot(tier: IntervalTier) -> IntervalTier:
    return IntervalTier(tier.name, list(tier), allow_overlap=tier.allow_overlap)


def start_tier_alignment(window: Any, a_name: str, b_name: str, by: str = "labels") -> Any:
    """Align tier `a_name` to tier `b_name` of the window's session on its device worker; the timed
    tier and the time map arrive in one undo step, the counts in the status bar."""
    from ..core.commands import SetAlignment
    from ..core.editing import add_tiers

    session = window.session
    a, b = _snapshot(session.tier(a_name)), _snapshot(session.tier(b_name))

    def task() -> Any:
        from ..align.tiers import align_tiers_task

        return (yield from align_tiers_task(a, b, by=by))

    def done(result: Any) -> None:
        if window.session is not session:
            return
        tier = result.timed
        cmds = add_tiers(session, [tier], suffix=f"tiers {by}")
        attrs = {"kind": "tiers", "a": a_name, "b": b_name, **result.summary}
        alignment = Alignment(
            unique_alignment_name(session, tier.name), result.warp, method=f"tiers-{by}", attrs=attrs
        )
        with session.undo_stack.macro("Align two tiers"):
            for c in cmds:
                session.undo_stack.push(c)
            session.undo_stack.push(SetAlignment(alignment.name, alignment))
        window.show_status(f"{tier.name}: {result.describe()}")

    def failed(message: str, details: str) -> None:
        window.dialogs.error("Aligning the tiers failed", message, details)

    worker = getattr(window, "device_worker", None) or window.runner
    return worker.submit(task, name="Align two tiers", group="tiers", on_result=done, on_error=failed)


def open_tier_align_dialog(window: Any) -> Any:
    """Align ▸ Align two tiers: show the dialog (kept as ``window._last_tier_dialog``) and start the
    job when accepted; returns the job, or None. In the window's test mode the dialog is only made."""
    dlg = TierAlignDialog(window.session, window)
    window._last_tier_dialog = dlg
    if window.dialogs.test_mode:
        return None
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    window.tier_align_job = start_tier_alignment(
        window, str(dlg.a.currentData()), str(dlg.b.currentData()), str(dlg.mode.currentData())
    )
    return window.tier_align_job
