"""The window's Align menu: align a transcript, walk the review queue, re-align around a boundary, media offsets.

A mixin of `MainWindow` (as `window_edit` and `window_playback` are). Alignment and re-alignment
run on the device worker (the thread that owns the torch device) and come back as undoable
commands; the review queue is a dock (`review_panel.ReviewPanel`) whose items select and play the
word in its tier track.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDockWidget

from ..core.tiers import IntervalTier
from .review_panel import ReviewPanel
from .sync_dialog import SyncDialog

if TYPE_CHECKING:
    from .main_window import MainWindow


class AlignMixin:
    def init_align(self: MainWindow) -> None:
        self.review_panel = ReviewPanel()
        self.review_panel.activated.connect(self._on_review_activated)
        self.review_dock = QDockWidget("Review queue", self)
        self.review_dock.setObjectName("ReviewDock")
        self.review_dock.setWidget(self.review_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.review_dock)
        self.review_dock.hide()
        self.review_dock.visibilityChanged.connect(self._on_review_visible)

    def _align_session_changed(self: MainWindow) -> None:
        old = getattr(self, "_align_watched", None)
        if old is not None and old() is not None:
            old().undo_stack.pushed.disconnect(self._align_on_pushed)
        import weakref

        self._align_watched = weakref.ref(self.session)
        self.session.undo_stack.pushed.connect(self._align_on_pushed)
        if hasattr(self, "review_panel"):
            self.review_panel.set_session(self.session)

    # -- align ----------------------------------------------------------------------------------
    def act_align_transcript(self: MainWindow) -> None:
        self.open_align_dialog("transcript")

    def act_align_recordings(self: MainWindow) -> None:
        self.open_align_dialog("recordings")

    def act_align_tiers(self: MainWindow) -> None:
        self.open_align_dialog("tiers")

    def open_align_dialog(self: MainWindow, kind: str) -> Any:
        """The Align dialog (`align_all.AlignAllDialog`) on the page of `kind`; its job when accepted.
        In test mode the dialog is only made (its pages kept as ``_last_align_dialog``,
        ``_last_streams_dialog`` and ``_last_tier_dialog`` for tests to drive)."""
        from .align_all import AlignAllDialog, start_chosen

        dlg = AlignAllDialog(self.session, self, kind)
        self._last_align_all = dlg
        self._last_align_dialog = dlg.pages["transcript"]
        self._last_streams_dialog = dlg.pages["recordings"]
        self._last_tier_dialog = dlg.pages["tiers"]
        if self.dialogs.test_mode:  # tests drive the dialog themselves (exec would block)
            return None
        if dlg.exec() == QDialog.DialogCode.Accepted:
            return start_chosen(self, dlg)
        return None

    def act_media_offsets(self: MainWindow) -> None:
        dlg = SyncDialog(self.session, self.runner, self)
        if self.dialogs.test_mode:
            self._last_sync_dialog = dlg
            return
        dlg.exec()

    # -- review ---------------------------------------------------------------------------------
    def act_show_review(self: MainWindow, on: bool) -> None:
        self.review_dock.setVisible(on)
        if on:
            tier = self.current_tier()
            if tier is not None and any(getattr(a, "confidence", None) is not None for a in tier):
                self.review_panel.set_tier(tier.name)

    def _on_review_visible(self: MainWindow, visible: bool) -> None:
        a = self.actions_by_id.get("show_review")
        if a is not None and a.isChecked() != visible and not getattr(self, "_closing", False):
            a.blockSignals(True)
            a.setChecked(visible)
            a.blockSignals(False)

    def _review_step(self: MainWindow, step: int) -> None:
        if not self.review_dock.isVisible():
            self.action("show_review").setChecked(True)
        if self.review_panel.next_item(step) is None:
            self.show_status("nothing to review on this tier (no word under the confidence threshold)")

    def act_next_low_confidence(self: MainWindow) -> None:
        self._review_step(+1)

    def act_previous_low_confidence(self: MainWindow) -> None:
        self._review_step(-1)

    def _on_review_activated(self: MainWindow, tier_name: str, ann_id: str) -> None:
        track = self.track_for_tier(tier_name)
        if track is None or not self.session.has_tier(tier_name):
            return
        try:
            ann = self.session.tier(tier_name).get(ann_id)
        except KeyError:
            return
        self.timeline.set_current(track)
        track.select(ann.id)
        self.view.ensure_visible(ann.start, ann.end)
        self.play_range(ann.start, ann.end)

    # -- re-align around a boundary ------------------------------------------------------------
    def act_realign_around(self: MainWindow) -> None:
        """Re-align the words next to the selected word's start, that boundary held where it is."""
        sel = self.selected_annotation()
        if sel is None or not isinstance(sel[0], IntervalTier):
            self.show_status("select a word whose start boundary is right (after moving it)")
            return
        tier, ann = sel
        k = next(i for i, a in enumerate(tier) if a.id == ann.id) - 1
        if k < 0:
            self.show_status("the first word has no boundary before it to hold")
            return
        self.realign_around(tier, k, ann.start, ann.label)

    def act_realign_on_move(self: MainWindow, on: bool) -> None:
        """The toggle: a boundary moved on a tier with confidences re-aligns its neighbours."""
        self.show_status(
            "moving a word boundary now re-aligns its neighbours" if on else "re-align on move: off"
        )

    def _align_on_pushed(self: MainWindow, cmd: Any, merged: bool) -> None:
        from ..core.commands import MoveBoundary

        a = self.actions_by_id.get("realign_on_move")
        if (
            merged
            or a is None
            or not a.isChecked()
            or not isinstance(cmd, MoveBoundary)
            or cmd.edge == "time"
        ):
            return
        if not self.session.has_tier(cmd.tier):
            return
        tier = self.session.tier(cmd.tier)
        if not isinstance(tier, IntervalTier) or not any(x.confidence is not None for x in tier):
            return  # not an aligned tier
        ids = [x.id for x in tier]
        if cmd.annotation_id not in ids:
            return
        i = ids.index(cmd.annotation_id)
        k = i - 1 if cmd.edge == "start" else i
        if 0 <= k < len(ids) - 1:
            self.realign_around(tier, k, cmd.time, tier.get(cmd.annotation_id).label)

    def realign_around(self: MainWindow, tier: IntervalTier, k: int, boundary_time: float, what: str) -> Any:
        """Re-align the words around the boundary after word `k` of `tier`, held at `boundary_time`."""
        media = [m for m in self.session.media if m.kind in ("audio", "video")]
        if not media:
            self.show_status("the session has no recording")
            return None
        path, offset = media[0].path, media[0].offset
        words = [(a.start - offset, a.end - offset, a.label) for a in tier]
        boundary = boundary_time - offset
        phones = next(
            (
                t.name
                for t in self.session.tiers
                if getattr(t, "parent", None) == tier.name and isinstance(t, IntervalTier)
            ),
            None,
        )
        session = self.session

        def task() -> Any:
            from ..align.realign import realign_around_task
            from ..media.audio import open_audio

            with open_audio(path) as a:
                x = a.resampled(16000, mono=True).load().reshape(-1)
            return (yield from realign_around_task(x, 16000, words, k, boundary))

        def done(result: Any) -> None:
            from ..align.realign import realign_commands

            if self.session is not session or not session.has_tier(tier.name):
                return
            if [(a.start, a.end) for a in tier] != [(s + offset, e + offset) for s, e, _ in words]:
                self.show_status("the words changed while re-aligning: result dropped")
                return
            for w in result:
                w.start, w.end = w.start + offset, w.end + offset
                w.phones = [(s + offset, e + offset, p) for s, e, p in w.phones]
            cmds = realign_commands(session, tier.name, result, phones_tier=phones)
            with session.undo_stack.macro("Re-align around a boundary"):
                for c in cmds:
                    session.undo_stack.push(c)
            self.show_status(f"re-aligned {len(result)} words around {what!r}")

        def failed(message: str, details: str) -> None:
            self.dialogs.error("Re-alignment failed", message, details)

        self.realign_job = self.device_worker.submit(
            task, name="Re-align around a boundary", group="realign", on_result=done, on_error=failed
        )
        return self.realign_job
