"""The window's editing commands and search.

Each command reads what the user means from the view (current tier, selection, playhead, the
selected annotation), asks `studio.core.editing` for the core command (which also checks it makes
sense: no overlap, no zero-length interval), and pushes it on the session's undo stack. A refusal
is a status-bar message naming the tier and times, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core import editing
from studio.core.commands import AddTier, RemoveTier, RenameTier
from studio.core.tiers import IntervalTier, PointTier, Tier

if TYPE_CHECKING:  # pragma: no cover
    from .main_window import MainWindow
    from .track import Track

__all__ = ["EditMixin", "FindPanel"]


class FindPanel(QDockWidget):
    """Search labels across tiers; Enter searches, a result (click or Enter) jumps to it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("Find", window)
        self.setObjectName("FindPanel")
        self.window_ = window
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("label text or regular expression — Enter searches")
        self.regex = QCheckBox("Regex")
        self.case = QCheckBox("Match case")
        row.addWidget(self.query, 1)
        row.addWidget(self.regex)
        row.addWidget(self.case)
        lay.addLayout(row)
        self.results = QListWidget()
        lay.addWidget(self.results, 1)
        self.setWidget(body)
        self.matches: list[Any] = []
        self.index = -1
        self.query.returnPressed.connect(self.run)
        self.results.itemActivated.connect(self._activated)
        self.results.itemClicked.connect(self._activated)

    def run(self) -> list[Any]:
        text = self.query.text()
        self.results.clear()
        self.matches, self.index = [], -1
        if not text:
            return []
        try:
            self.matches = editing.search(
                self.window_.session, text, regex=self.regex.isChecked(), case=self.case.isChecked()
            )
        except ValueError as exc:
            self.window_.show_status(str(exc))
            return []
        for m in self.matches:
            item = QListWidgetItem(f"{m.tier}   {m.start:.3f}–{m.end:.3f}   {m.label}")
            self.results.addItem(item)
        self.window_.show_status(f"{len(self.matches)} match(es) for {text!r}")
        if self.matches:
            self.go(0)
        return self.matches

    def go(self, i: int) -> None:
        if not self.matches:
            return
        self.index = i % len(self.matches)
        self.results.setCurrentRow(self.index)
        self.window_.jump_to(self.matches[self.index])

    def _activated(self, item: QListWidgetItem) -> None:
        self.go(self.results.row(item))


class EditMixin:
    """Mixed into MainWindow."""

    def init_edit(self: MainWindow) -> None:
        self.segmenter = editing.Segmenter(lag=float(self.settings["segmentation_lag"]))
        self.find_panel = FindPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.find_panel)
        self.find_panel.hide()

    # -- what the user means --------------------------------------------------------------------
    def current_tier_track(self: MainWindow) -> Track | None:
        t = self.timeline.current
        return t if t is not None and getattr(t, "tier", None) is not None else None

    def current_tier(self: MainWindow) -> Tier | None:
        t = self.current_tier_track()
        return t.tier if t is not None else None

    def selected_annotation(self: MainWindow) -> tuple[Tier, Any] | None:
        track = self.current_tier_track()
        if track is None or getattr(track, "selected_id", None) is None:
            return None
        try:
            return track.tier, track.tier.get(track.selected_id)
        except KeyError:
            return None

    def selected_span(self: MainWindow) -> tuple[float, float] | None:
        sel = self.selected_annotation()
        if sel is None or not isinstance(sel[0], IntervalTier):
            return None
        return sel[1].start, sel[1].end

    def _need_tier(self: MainWindow, kinds: tuple[type, ...] = (IntervalTier, PointTier)) -> Tier | None:
        tier = self.current_tier()
        if tier is None or not isinstance(tier, kinds):
            what = " or ".join(k.__name__.replace("Tier", "").lower() for k in kinds)
            self.show_status(
                f"choose a{'n' if what[0] in 'aeiou' else ''} {what} tier first (click its header)"
            )
            return None
        return tier

    def push(self: MainWindow, make: Any) -> Any:
        """Build a command with `make()` and push it; a ValueError is shown, not raised."""
        try:
            cmd = make()
            if cmd is None:
                return None
            return self.session.undo_stack.push(cmd)
        except (ValueError, KeyError) as exc:
            self.show_status(str(exc).strip("'\""))
            return None

    # -- undo -----------------------------------------------------------------------------------
    def act_undo(self: MainWindow) -> None:
        cmd = self.session.undo_stack.undo()
        if cmd is not None:
            self.show_status(f"undone: {cmd.text}")

    def act_redo(self: MainWindow) -> None:
        cmd = self.session.undo_stack.redo()
        if cmd is not None:
            self.show_status(f"redone: {cmd.text}")

    # -- annotations ----------------------------------------------------------------------------
    def act_create(self: MainWindow) -> None:
        tier = self._need_tier()
        if tier is None:
            return
        if self.playing:  # ELAN-style segmentation: each keystroke marks a boundary
            cmd = self.push(lambda: self.segmenter.mark(self.session, tier.name, self.clock.position))
            if cmd is None and self.segmenter.open_at is not None:
                self.show_status(
                    f"segment started at {self.segmenter.open_at:.3f} s; press Enter again to close it"
                )
            return
        if isinstance(tier, PointTier):
            cmd = self.push(lambda: editing.create_point(self.session, tier.name, self.view.playhead))
        else:
            sel = self.view.selection
            if sel is None:
                self.show_status("select a time span first (drag on any track), then press Enter")
                return
            cmd = self.push(lambda: editing.create_interval(self.session, tier.name, sel[0], sel[1]))
        if cmd is not None:
            ann = getattr(cmd, "annotation", None)
            track = self.current_tier_track()
            if ann is not None and track is not None:
                self.view.set_selection(None)
                track.select(ann.id)
                track.edit_label(ann.id)

    def act_edit_label(self: MainWindow) -> None:
        track = self.current_tier_track()
        if track is None:
            self.show_status("choose a tier first")
            return
        if getattr(track, "selected_id", None) is None:
            tier = track.tier
            ann = tier.at(self.view.playhead) if isinstance(tier, IntervalTier) else None
            if ann is None:
                self.show_status("select an annotation first")
                return
            track.select(ann.id)
        track.edit_label(track.selected_id)

    def act_split(self: MainWindow) -> None:
        tier = self._need_tier((IntervalTier,))
        if tier is not None:
            self.push(lambda: editing.split_at(self.session, tier.name, self.view.playhead))

    def act_merge(self: MainWindow) -> None:
        sel = self.selected_annotation()
        if sel is None or not isinstance(sel[0], IntervalTier):
            self.show_status("select an interval to merge with the next one")
            return
        self.push(lambda: editing.merge_with_next(self.session, sel[0].name, sel[1].id))

    def act_delete(self: MainWindow) -> None:
        sel = self.selected_annotation()
        if sel is None:
            self.show_status("select an annotation to delete")
            return
        track = self.current_tier_track()
        if self.push(lambda: editing.delete(self.session, sel[0].name, sel[1].id)) is not None and track:
            track.select(None)

    def _edge_to_playhead(self: MainWindow, edge: str) -> None:
        sel = self.selected_annotation()
        if sel is None or not isinstance(sel[0], IntervalTier):
            self.show_status("select an interval first")
            return
        self.push(
            lambda: editing.move_boundary(self.session, sel[0].name, sel[1].id, edge, self.view.playhead)
        )

    def act_start_to_playhead(self: MainWindow) -> None:
        self._edge_to_playhead("start")

    def act_end_to_playhead(self: MainWindow) -> None:
        self._edge_to_playhead("end")

    def _step_annotation(self: MainWindow, direction: int) -> None:
        track = self.current_tier_track()
        if track is None:
            self.show_status("choose a tier first")
            return
        tier = track.tier
        if getattr(track, "selected_id", None) is not None:
            nxt = editing.neighbour_annotation(tier, track.selected_id, direction)
        else:
            items = [
                a
                for a in tier
                if (a.start >= self.view.playhead if direction > 0 else a.start < self.view.playhead)
            ]
            nxt = (items[0] if direction > 0 else items[-1]) if items else None
        if nxt is None:
            self.show_status("no more annotations on this tier")
            return
        track.select(nxt.id)
        self.view.ensure_visible(nxt.start, nxt.end)
        if isinstance(tier, IntervalTier):
            self.play_range(nxt.start, nxt.end)
        else:
            self.view.set_playhead(nxt.start)

    def act_next_annotation(self: MainWindow) -> None:
        self._step_annotation(+1)

    def act_previous_annotation(self: MainWindow) -> None:
        self._step_annotation(-1)

    def act_tier_up(self: MainWindow) -> None:
        self.timeline.step_current(-1)

    def act_tier_down(self: MainWindow) -> None:
        self.timeline.step_current(+1)

    def jump_boundary(self: MainWindow, direction: int) -> None:
        tier = self.current_tier()
        if tier is None or not isinstance(tier, (IntervalTier, PointTier)):
            tiers = self.session.interval_tiers()
            tier = tiers[0] if tiers else None
        if tier is None:
            return
        t = editing.next_boundary(tier, self.view.playhead, direction)
        if t is not None:
            self.pause()
            self.view.set_playhead(t)
            self.view.ensure_visible(t)

    def act_previous_boundary(self: MainWindow) -> None:
        self.jump_boundary(-1)

    def act_next_boundary(self: MainWindow) -> None:
        self.jump_boundary(+1)

    def _on_annotation_selected(self: MainWindow, track: Track, ann_id: str | None) -> None:
        if ann_id is None:
            return
        if track is not self.timeline.current:
            self.timeline.set_current(track)
        for t in self.tier_tracks():  # one selected annotation in the window
            if t is not track and getattr(t, "selected_id", None) is not None:
                t.select(None)

    # -- snapping -------------------------------------------------------------------------------
    def act_snap(self: MainWindow, on: bool) -> None:
        self.settings["snap"] = on

    def snap_time(self: MainWindow, t: float, tolerance: float, tier_name: str) -> float | None:
        """Where a dragged boundary at `t` snaps: another tier's boundary, a video frame start, or
        an audio zero crossing — the nearest within `tolerance`, boundaries first."""
        if not self.settings["snap"]:
            return None
        hit = editing.snap(t, editing.boundary_times(self.session, exclude_tier=tier_name), tolerance)
        if hit is not None:
            return hit
        candidates = []
        frames = self.frame_times()
        if frames is not None:
            f = editing.snap(t, frames, tolerance)
            if f is not None:
                candidates.append(f)
        lm = self.media.first_audio() if self.media is not None else None
        if lm is not None and tolerance < 0.05:  # only zoomed in: zero crossings are dense
            off = float(lm.media.to_session_time(0.0))  # a warp is near-linear over a snap tolerance
            a = max(t - off - tolerance, 0.0)
            try:
                samples = lm.audio.read_time(a, t - off + tolerance)
            except Exception:  # noqa: BLE001 - snapping must never break a drag
                samples = None
            if samples is not None and len(samples):
                mono = samples.mean(axis=1) if samples.ndim == 2 else samples
                z = editing.zero_crossing_near(mono, lm.audio.sample_rate, a, t - off, tolerance)
                if z is not None:
                    candidates.append(z + off)
        if not candidates:
            return None
        return min(candidates, key=lambda c: abs(c - t))

    # -- tiers ----------------------------------------------------------------------------------
    def _new_tier(self: MainWindow, cls: type) -> None:
        name = self.dialogs.text("New tier", "Tier name:", self.session.unique_tier_name("tier"))
        if not name:
            return
        if self.session.has_tier(name):
            self.show_status(f"there is already a tier named {name!r}")
            return
        cur = self.current_tier()
        index = self.session.tier_index(cur.name) + 1 if cur is not None else len(self.session.tiers)
        self.push(lambda: AddTier(cls(name), index))
        track = self.track_for_tier(name)
        if track is not None:
            self.timeline.set_current(track)

    def act_new_tier(self: MainWindow) -> None:
        self._new_tier(IntervalTier)

    def act_new_point_tier(self: MainWindow) -> None:
        self._new_tier(PointTier)

    def act_rename_tier(self: MainWindow) -> None:
        tier = self.current_tier()
        if tier is None:
            self.show_status("choose a tier first")
            return
        name = self.dialogs.text("Rename tier", "New name:", tier.name)
        if name and name != tier.name:
            self.push(lambda: RenameTier(tier.name, name))

    def act_delete_tier(self: MainWindow) -> None:
        tier = self.current_tier()
        if tier is None:
            self.show_status("choose a tier first")
            return
        self.push(lambda: RemoveTier(tier.name))

    # -- find -----------------------------------------------------------------------------------
    def act_find(self: MainWindow) -> None:
        if self.find_panel.isHidden():  # a strip under the tracks, not half the window
            self.resizeDocks([self.find_panel], [170], Qt.Orientation.Vertical)
        self.find_panel.show()
        self.find_panel.raise_()
        self.find_panel.query.setFocus()
        self.find_panel.query.selectAll()

    def act_find_next(self: MainWindow) -> None:
        if not self.find_panel.matches:
            self.find_panel.run()
        else:
            self.find_panel.go(self.find_panel.index + 1)

    def act_find_previous(self: MainWindow) -> None:
        if self.find_panel.matches:
            self.find_panel.go(self.find_panel.index - 1)

    def jump_to(self: MainWindow, match: Any) -> None:
        track = self.track_for_tier(match.tier)
        self.pause()
        self.view.ensure_visible(match.start, match.end)
        self.view.set_playhead(match.start)
        if track is not None:
            self.timeline.set_current(track)
            track.select(match.annotation_id)
