"""The window's Align ▸ Inspect alignment: the alignment inspector dock and its edits.

A mixin of `MainWindow`. Building the view and re-aligning between pins run on the device worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from ..core.tiers import IntervalTier

if TYPE_CHECKING:
    from .main_window import MainWindow


class InspectMixin:
    """Align ▸ Inspect alignment: the transcript's synthetic speech against the recording."""

    def act_inspect_alignment(self: MainWindow) -> None:
        from ..align.inspect import cost_view_task

        tier = self.current_tier()
        if not isinstance(tier, IntervalTier) or not any(a.label.strip() for a in tier):
            tier = next(
                (
                    t
                    for t in self.session.tiers
                    if isinstance(t, IntervalTier) and any(a.label.strip() for a in t)
                ),
                None,
            )
        media = [m for m in self.session.media if m.kind in ("audio", "video")]
        if tier is None or not media:
            self.show_status("inspecting needs a recording and a tier with the transcript")
            return
        path, offset = media[0].path, media[0].offset
        lines = [a.label for a in tier if a.label.strip()]

        def task() -> Any:
            from ..align.text import tokenize
            from ..align.tts_dtw import _synthesize, features_for_alignment
            from ..media.audio import open_audio

            with open_audio(path) as a:
                x = a.resampled(16000, mono=True).load().reshape(-1)
            spoken = [
                [p for w in ln.words if w.spoken for p in w.parts] for ln in tokenize("\n".join(lines)).lines
            ]
            syn, sr, _, _ = _synthesize([s for s in spoken if s], "en", 0.05, 0.3)
            X = features_for_alignment(x, 16000, "logmel")
            Y = features_for_alignment(syn, sr, "logmel")
            return (
                yield from cost_view_task(
                    X,
                    Y,
                    hx=0.01,
                    hy=0.01,
                    metric="cosine",
                    label_a="recording",
                    label_b="espeak (transcript)",
                )
            )

        def done(view: Any) -> None:
            insp = self._inspector()
            insp.set_view(view)
            self._inspect_offset = offset
            self.inspector_dock.show()
            self.inspector_dock.raise_()

        self.inspect_job = self.device_worker.submit(
            task,
            name="Inspect alignment",
            group="inspect",
            on_result=done,
            on_error=lambda m, d: self.dialogs.error("Inspecting failed", m, d),
        )

    def _inspector(self: MainWindow) -> Any:
        if getattr(self, "inspector", None) is None:
            from .inspector import AlignmentInspector

            self.inspector = AlignmentInspector()
            self.inspector_dock = QDockWidget("Alignment inspector", self)
            self.inspector_dock.setObjectName("InspectorDock")
            self.inspector_dock.setWidget(self.inspector)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.inspector_dock)
            self.inspector.play_requested.connect(
                lambda a, _b: self.play_range(a + self._inspect_offset, a + self._inspect_offset + 0.6)
            )
            self.view.playhead_changed.connect(
                lambda t: (
                    self.inspector.set_cursor_a(t - self._inspect_offset)
                    if self.inspector_dock.isVisible()
                    else None
                )
            )
            self.inspector.realign_requested.connect(self._inspector_realign)
            # the inspector's own undo: (before, after) snapshots of its pins and path; Ctrl+Z while
            # it has the focus undoes there (act_undo), not in the session
            self.inspector_undo: list[list[Any]] = []
            self.inspector_redo: list[list[Any]] = []
            self._insp_pending: Any = None
            self.inspector.edit_started.connect(self._inspector_edit_started)
            self.inspector.pins_changed.connect(self._inspector_pins_changed)
        return self.inspector

    def _inspector_edit_started(self: MainWindow) -> None:
        if self._insp_pending is None:
            self._insp_pending = self.inspector.state()

    def _inspector_pins_changed(self: MainWindow, _pins: Any) -> None:
        if self._insp_pending is not None:
            self.inspector_undo.append([self._insp_pending, None])  # "after" is taken when undone
            self.inspector_redo.clear()
            self._insp_pending = None
            self._update_undo()

    def inspector_has_focus(self: MainWindow) -> bool:
        insp = getattr(self, "inspector", None)
        return insp is not None and self.inspector_dock.isVisible() and insp.hasFocus()

    def inspector_step(self: MainWindow, undo: bool) -> bool:
        """Undo (or redo) the inspector's last pin edit or re-alignment; False if there is none."""
        src, dst = (
            (self.inspector_undo, self.inspector_redo) if undo else (self.inspector_redo, self.inspector_undo)
        )
        if not src:
            return False
        before, after = src.pop()
        now = self.inspector.state()
        if undo:
            self.inspector.restore(before)
            dst.append([before, after or now])
        else:
            self.inspector.restore(after)
            dst.append([before, after])
        self._update_undo()
        return True

    def _inspector_realign(self: MainWindow) -> None:
        before = self.inspector.state()

        def done(result: Any) -> None:
            self.inspector.apply_realign(result)
            self.inspector_undo.append([before, self.inspector.state()])
            self.inspector_redo.clear()
            self._update_undo()

        self.inspect_realign_job = self.device_worker.submit(
            self.inspector.realign_task(),
            name="Re-align between pins",
            group="inspect",
            on_result=done,
            on_error=lambda m, d: self.dialogs.error("Re-alignment failed", m, d),
        )
