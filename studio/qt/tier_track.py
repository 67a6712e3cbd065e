"""Interval and point tier tracks: where annotators spend the day (ELAN, Praat, Aegisub habits).

A tier track draws one tier of the session and edits it only through commands from
`studio.core.editing`, so every gesture is one undo step and the rules live in one tested place.

Drawing is built for tiers of tens of thousands of annotations: the tier is copied into numpy
arrays once per change, the visible ones are found by binary search, and when more of them are
visible than there are pixels the track draws columns (coverage, boundaries, lowest confidence)
instead of annotations. Labels are drawn only where they fit. The picture is cached by the base
class; the selection, the hovered boundary and a drag preview are painted over it each frame.

Mouse: a click selects (and still moves the playhead); dragging within 7 px of a boundary (or a
point) moves it, previewed without touching the model and pushed as ONE command on release;
Escape cancels; Shift turns snapping off. A double click, or `edit_label()`, opens an inline
editor with completion: Enter commits, Escape cancels, Ctrl+Enter commits and moves on (and asks
for playback, as Aegisub), Tab/Shift+Tab commit and move; leaving the editor commits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, QStringListModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QApplication, QCompleter, QLineEdit, QWidget

from studio.core import Interval, IntervalTier, Point, PointTier, Relabel, Session, editing

from .label_editor import LabelEditor
from .timeview import TimeView
from .track import COLORS, HEADER_WIDTH, Track

__all__ = ["IntervalTierTrack", "PointTierTrack", "track_for", "HIT_PX", "SNAP_PX", "TIER_COLORS"]

#: how near (px) a boundary must be to grab it
HIT_PX = 7
#: how near (px) a snap target must be
SNAP_PX = 8
#: intervals narrower than this (px) are drawn as columns, not one by one
DENSE_PX = 2.0
#: narrowest interval (px) that gets a label
LABEL_MIN_PX = 14
#: overlapping tiers are drawn in at most this many lanes
MAX_LANES = 4
#: seconds played around a point on commit-and-next
POINT_CONTEXT = 0.5

TIER_COLORS = {
    "fill": QColor(50, 60, 76),
    "empty": QColor(78, 84, 94),
    "boundary": QColor(176, 184, 196),
    "label": COLORS["text"],
    "selected_fill": QColor(255, 196, 70, 50),
    "selected_edge": COLORS["accent"],
    "hover": QColor(255, 255, 255, 200),
    "drag": COLORS["accent"],
    "drag_shade": QColor(255, 196, 70, 40),
    "snap": QColor(80, 220, 255),
    "low_confidence": QColor(235, 90, 60),
}


@dataclass
class _Drag:
    ann_id: str
    edge: str  # "start", "end" (intervals) or "time" (points)
    orig: float  # the boundary's time when the drag began
    grab: float  # press time minus orig, so the boundary does not jump to the pointer
    x0: float
    t: float
    active: bool = False
    snapped: float | None = None


class _Data:
    """The tier as arrays, rebuilt once per change: what drawing and hit testing read."""

    def __init__(self, tier: Any) -> None:
        items = tier.items
        n = len(items)
        self.items = items
        self.starts = np.fromiter((a.start for a in items), float, n)
        self.ends = np.fromiter((a.end for a in items), float, n)
        self.conf = np.fromiter((math.nan if a.confidence is None else a.confidence for a in items), float, n)
        self.empty = np.fromiter((not a.label for a in items), bool, n)
        self.reach = np.maximum.accumulate(self.ends) if n else self.ends  # sorted even if overlapping
        self.lanes = np.zeros(n, dtype=np.int16)
        self.nlanes = 1
        if getattr(tier, "allow_overlap", False) and n:
            lane_end = [-math.inf] * MAX_LANES
            for i in range(n):
                s = self.starts[i]
                k = next((j for j in range(MAX_LANES) if lane_end[j] <= s), MAX_LANES - 1)
                lane_end[k] = max(lane_end[k], self.ends[i])
                self.lanes[i] = k
            self.nlanes = int(self.lanes.max()) + 1

    def visible(self, t0: float, t1: float) -> np.ndarray:
        """Indices of the annotations that touch [t0, t1]."""
        lo = int(np.searchsorted(self.reach, t0, side="left"))
        hi = int(np.searchsorted(self.starts, t1, side="right"))
        idx = np.arange(lo, max(hi, lo))
        if self.nlanes > 1 or (idx.size and np.any(self.ends[idx] < t0)):
            idx = idx[self.ends[idx] >= t0]
        return idx


class _TierTrack(Track):
    """What interval and point tracks share: the tier subscription, selection, drag, label editor.

    Subclasses implement annotation_at, boundary_at, render_content, _move_command (the editing
    command for a dragged edge), _play_span (what commit-and-next plays) and _paint_selected."""

    #: (track, annotation id or None)
    annotation_selected = Signal(object, object)
    #: (t0, t1) — play this span (commit-and-next)
    play_requested = Signal(float, float)
    #: a user-facing problem, for the status bar
    error = Signal(str)

    kind = "tier"
    default_height = 44
    min_height = 24

    def __init__(self, view: TimeView, session: Session, tier: Any, parent: QWidget | None = None) -> None:
        super().__init__(view, tier.name, parent)
        self.session = session
        self.tier = tier
        self.selected_id: str | None = None
        #: (time, tolerance s, tier name) -> snapped time or None; the window may replace it
        self.snapper: Callable[[float, float, str], float | None] | None = self._snap_to_other_tiers
        self._version = 0
        self._data_cache: tuple[int, _Data] | None = None
        self._snap_cache: np.ndarray | None = None
        self._drag: _Drag | None = None
        self._hover: tuple[str, str, float] | None = None
        self._editor: LabelEditor | None = None
        self._editing_id: str | None = None
        self._focus_before: QWidget | None = None
        self._connections = [
            (tier.inserted, self._on_items),
            (tier.removed, self._on_items),
            (tier.replaced, self._on_items),
            (tier.changed, self._on_header),
            (tier.renamed, self._on_header),
        ]
        for sig, slot in self._connections:
            sig.connect(slot)
        view.range_changed.connect(self._place_editor)
        self._update_subtitle()

    # -- model ----------------------------------------------------------------------------------
    def detach(self) -> None:
        """Stop following the tier (call before dropping the track); an open editor commits first."""
        if self._editor is not None:
            self._editor._finish()
        self._cancel_drag()
        for sig, slot in self._connections:
            sig.disconnect(slot)
        self._connections = []

    def _alive(self) -> bool:
        if shiboken6.isValid(self):
            return True
        self.detach()  # the widget went away without detach(): stop listening
        return False

    def _on_items(self, tier: Any, index: int, *anns: Any) -> None:
        if not self._alive():
            return
        self._version += 1
        self._update_subtitle()
        if self.selected_id is not None and self.selected_id not in self.tier:
            self.select(None)
        if self._drag is not None and self._drag.ann_id not in self.tier:
            self._cancel_drag()
        if self._editor is not None and self._editing_id not in self.tier:
            self._editor_lost()
        self._place_editor()
        self.invalidate()

    def _on_header(self, tier: Any, *_: Any) -> None:  # renamed, or parent/vocabulary changed
        if self._alive():
            self.title = tier.name
            self._update_subtitle()
            self.update()

    def _update_subtitle(self) -> None:
        parts = [self.tier.kind, str(len(self.tier))]
        if self.tier.parent:
            parts.append(f"⊂ {self.tier.parent}")
        self.subtitle = " · ".join(parts)

    def content_key(self) -> tuple:
        return (self._version,)

    def data(self) -> _Data:
        if self._data_cache is None or self._data_cache[0] != self._version:
            self._data_cache = (self._version, _Data(self.tier))
        return self._data_cache[1]

    # -- selection ------------------------------------------------------------------------------
    def select(self, ann_id: str | None) -> None:
        """Select an annotation (None: nothing); emits annotation_selected when it changes."""
        if ann_id is not None and ann_id not in self.tier:
            raise KeyError(f"tier {self.tier.name!r} has no annotation {ann_id!r}")
        if ann_id != self.selected_id:
            self.selected_id = ann_id
            self.update()
            self.annotation_selected.emit(self, ann_id)

    def selected_annotation(self) -> Any:
        return self.tier.get(self.selected_id) if self.selected_id is not None else None

    def confidence_tint(self, confidence: float) -> QColor | None:
        """The colour laid over an annotation of this confidence (None: no tint). Lower is redder."""
        if not confidence < 0.999:
            return None
        c = QColor(TIER_COLORS["low_confidence"])
        c.setAlpha(int(50 + 150 * (1.0 - max(confidence, 0.0))))
        return c

    # -- geometry (subclasses) ------------------------------------------------------------------
    def annotation_at(self, t: float, y: float | None = None) -> Any:
        raise NotImplementedError

    def boundary_at(self, x: float, y: float) -> tuple[str, str, float] | None:
        """(annotation id, edge, time) of the boundary within HIT_PX of widget x, nearest first."""
        raise NotImplementedError

    # -- snapping -------------------------------------------------------------------------------
    def _snap_to_other_tiers(self, t: float, tolerance: float, tier_name: str) -> float | None:
        cand = self._snap_cache
        if cand is None:
            cand = editing.boundary_times(self.session, exclude_tier=tier_name)
            if self._drag is not None:  # the other tiers do not change during a drag
                self._snap_cache = cand
        return editing.snap(t, cand, tolerance)

    # -- mouse ----------------------------------------------------------------------------------
    def canvas_press(self, event: QMouseEvent, t: float) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if self._editor is not None:
            self._editor._finish()
        pos = event.position()
        hit = self.boundary_at(pos.x(), pos.y())
        if hit is not None:
            ann_id, edge, bt = hit
            self._drag = _Drag(ann_id, edge, bt, t - bt, pos.x(), bt)
            self._snap_cache = None
            QApplication.instance().installEventFilter(self)
            self.select(ann_id)
            self.setCursor(Qt.CursorShape.SizeHorCursor)
            return True
        ann = self.annotation_at(t, pos.y())
        self.select(ann.id if ann is not None else None)
        return False  # the base still moves the playhead / starts a time selection

    def canvas_move(self, event: QMouseEvent, t: float) -> bool:
        drag = self._drag
        if drag is not None:
            x = event.position().x()
            if not drag.active and abs(x - drag.x0) < 2:
                return True  # a click, not yet a drag
            drag.active = True
            e0, e1 = self.view.extent
            raw = min(max(t - drag.grab, e0), e1)
            snapped = None
            if self.snapper is not None and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                snapped = self.snapper(raw, SNAP_PX * self.seconds_per_pixel(), self.tier.name)
                if snapped is not None:
                    raw = snapped
            try:
                drag.t = self._move_command(drag.ann_id, drag.edge, raw).time
            except (ValueError, KeyError) as e:
                self._cancel_drag()
                self.error.emit(str(e))
                return True
            drag.snapped = snapped if snapped is not None and abs(drag.t - snapped) < 1e-12 else None
            self.update()
            return True
        if event.buttons() == Qt.MouseButton.NoButton:
            pos = event.position()
            hit = self.boundary_at(pos.x(), pos.y()) if pos.x() >= HEADER_WIDTH else None
            if hit != self._hover:
                self._hover = hit
                if hit is None:
                    self.unsetCursor()
                else:
                    self.setCursor(Qt.CursorShape.SizeHorCursor)
                self.update()
        return False

    def canvas_release(self, event: QMouseEvent, t: float) -> bool:
        drag = self._drag
        if drag is None:
            return False
        self._cancel_drag()
        if not drag.active:
            self.view.set_playhead(drag.orig)  # a click on a boundary puts the cursor on it (Praat)
            return True
        if drag.t == drag.orig:
            return True
        try:
            cmd = self._move_command(drag.ann_id, drag.edge, drag.t)
            stack = self.session.undo_stack
            stack.break_merge()  # one drag, one undo step, even right after another drag
            stack.push(cmd)
        except (ValueError, KeyError) as e:
            self.error.emit(str(e))
        return True

    def canvas_double_click(self, event: QMouseEvent, t: float) -> bool:
        ann = self.annotation_at(t, event.position().y())
        if ann is None:
            return False
        self.edit_label(ann.id)
        return True

    def leaveEvent(self, event: QEvent) -> None:
        if self._hover is not None and self._drag is None:
            self._hover = None
            self.unsetCursor()
            self.update()
        super().leaveEvent(event)

    def cancel_drag(self) -> bool:
        """Abandon a boundary drag in progress (nothing changes); True if there was one."""
        had = self._drag is not None
        self._cancel_drag()
        return had

    def _cancel_drag(self) -> None:
        if self._drag is None:
            return
        self._drag = None
        self._snap_cache = None
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if shiboken6.isValid(self):
            if self._hover is None:
                self.unsetCursor()
            self.update()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Installed on the application only while dragging: Escape cancels wherever the focus is.
        if self._drag is not None and event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            if event.key() == Qt.Key.Key_Escape:
                if event.type() == QEvent.Type.ShortcutOverride:
                    event.accept()  # not a shortcut: the key press comes to us
                else:
                    self._cancel_drag()
                return True
        return False

    # -- label editor ---------------------------------------------------------------------------
    @property
    def editor(self) -> QLineEdit | None:
        """The open inline label editor, if any."""
        return self._editor

    def edit_label(self, ann_id: str | None = None) -> bool:
        """Open the inline editor on an annotation (default: the selected one, else the one at the
        playhead), scrolled into view. False (and an error) if there is nothing to label."""
        if ann_id is None:
            ann_id = self.selected_id
        if ann_id is None:
            ann = self.annotation_at(self.view.playhead)
            ann_id = ann.id if ann is not None else None
        if ann_id is None or ann_id not in self.tier:
            self.error.emit(f"tier {self.tier.name!r}: no annotation to label here")
            return False
        if self._editor is not None:
            self._editor._finish()
        ann = self.tier.get(ann_id)
        self.select(ann_id)
        v0, v1 = self.view.range
        if ann.end - ann.start < 0.8 * (v1 - v0):
            self.view.ensure_visible(ann.start, ann.end)
        elif not v0 <= ann.start <= v1:
            self.view.ensure_visible(ann.start)
        fw = QApplication.focusWidget()
        self._focus_before = fw if fw is not None and fw is not self._editor else self._focus_before
        ed = LabelEditor(self)
        comp = QCompleter(QStringListModel(editing.completions(self.session, self.tier.name, ""), ed), ed)
        comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        comp.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        comp.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        comp.setMaxVisibleItems(10)
        ed.setCompleter(comp)
        ed.watch_popup()
        ed.setText(ann.label)
        ed.setProperty("original_label", ann.label)
        ed.selectAll()
        ed.committed.connect(self._on_committed)
        ed.cancelled.connect(self._close_editor)
        self._editor, self._editing_id = ed, ann_id
        self._place_editor()
        ed.show()
        ed.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def _place_editor(self, *_: Any) -> None:
        ed = self._editor
        if ed is None or self._editing_id not in self.tier or not shiboken6.isValid(ed):
            return
        ann = self.tier.get(self._editing_id)
        w = self.width()
        x0, x1 = self.x_of(ann.start), self.x_of(ann.end)
        if x1 - x0 < 160:
            mid = (x0 + x1) / 2 if x1 > x0 else x0 + 80
            x0, x1 = mid - 80, mid + 80
        x0, x1 = max(x0, HEADER_WIDTH + 1), min(x1, w - 1)
        if x1 - x0 < 160:
            x0 = max(HEADER_WIDTH + 1, min(x0, w - 161))
            x1 = min(x0 + 160, w - 1)
        eh = min(ed.sizeHint().height(), self.height() - 2)
        ed.setGeometry(int(x0), int((self.height() - eh) / 2), int(x1 - x0), int(eh))

    def _editor_lost(self) -> None:
        """The annotation being labelled went away underneath (undo, a script): close the editor
        rather than leave it floating over nothing, and say what was typed if it is lost."""
        ed = self._editor
        typed = ed.text() if ed is not None and shiboken6.isValid(ed) else ""
        original = ed.property("original_label") if ed is not None and shiboken6.isValid(ed) else None
        self._close_editor()
        if typed != original:
            self.error.emit(
                f"tier {self.tier.name!r}: the annotation being labelled is gone; {typed!r} was not saved"
            )

    def _close_editor(self) -> None:
        ed, self._editor, self._editing_id = self._editor, None, None
        if ed is None or not shiboken6.isValid(ed):
            return
        ed.done = True
        had_focus = ed.hasFocus()
        if ed.completer() is not None:
            ed.completer().popup().hide()
        ed.hide()
        ed.deleteLater()
        back = self._focus_before
        self._focus_before = None
        if had_focus and back is not None and shiboken6.isValid(back) and back.isVisible():
            back.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_committed(self, text: str, move: int, play: bool) -> None:
        ann_id = self._editing_id
        self._close_editor()
        if ann_id is None or not self._alive():
            return
        if ann_id not in self.tier:
            self.error.emit(
                f"tier {self.tier.name!r}: the annotation being labelled is gone; {text!r} was not saved"
            )
            return
        ann = self.tier.get(ann_id)
        if text != ann.label:
            try:
                self.session.undo_stack.push(Relabel(self.tier.name, ann_id, text))
            except (ValueError, KeyError) as e:
                self.error.emit(str(e))
                return
            cv = self.session.vocabularies.get(self.tier.vocabulary) if self.tier.vocabulary else None
            if cv is not None and text and text not in cv:
                self.error.emit(f"tier {self.tier.name!r}: {text!r} is not in vocabulary {cv.name!r}")
        if move:
            nxt = editing.neighbour_annotation(self.tier, ann_id, move)
            if nxt is not None:
                self.edit_label(nxt.id)
                if play:
                    self.play_requested.emit(*self._play_span(nxt))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place_editor()

    # -- overlay --------------------------------------------------------------------------------
    def paint_overlay(self, p: QPainter, w: int, h: int) -> None:
        vx = self.view.x_of
        sel = self.selected_annotation() if self.selected_id in self.tier else None
        if sel is not None:
            self._paint_selected(p, sel, w, h)
        if self._hover is not None and self._drag is None:
            x = round(vx(self._hover[2], w)) + 0.5
            p.setPen(QPen(TIER_COLORS["hover"], 2))
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        drag = self._drag
        if drag is not None and drag.active:
            xo, xn = (min(max(vx(t, w), -4.0), w + 4.0) for t in (drag.orig, drag.t))
            p.fillRect(QRectF(min(xo, xn), 0, abs(xn - xo), h), TIER_COLORS["drag_shade"])
            if drag.snapped is not None:
                pen = QPen(TIER_COLORS["snap"], 1, Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.drawLine(QPointF(xn, 0), QPointF(xn, h))
            p.setPen(QPen(TIER_COLORS["snap"] if drag.snapped is not None else TIER_COLORS["drag"], 2))
            p.drawLine(QPointF(xn, 2), QPointF(xn, h - 2))
            text = f"{drag.t:.3f} s"
            fm = QFontMetricsF(p.font())
            tw = fm.horizontalAdvance(text) + 6
            tx = xn + 4 if xn + 4 + tw < w else xn - 4 - tw
            box = QRectF(tx, 1, tw, fm.height() + 2)
            p.fillRect(box, QColor(20, 22, 26, 220))
            p.setPen(TIER_COLORS["drag"])
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


class IntervalTierTrack(_TierTrack):
    """An interval tier on the timeline (see the module doc)."""

    def _move_command(self, ann_id: str, edge: str, t: float) -> Any:
        return editing.move_boundary(self.session, self.tier.name, ann_id, edge, t)

    def _play_span(self, ann: Interval) -> tuple[float, float]:
        return (ann.start, ann.end)

    def _lane_at(self, y: float | None, d: _Data) -> int | None:
        if y is None or d.nlanes == 1:
            return None
        return min(int(y / ((self.height() - 1) / d.nlanes)), d.nlanes - 1)

    def annotation_at(self, t: float, y: float | None = None) -> Interval | None:
        d = self.data()
        lane = self._lane_at(y, d)
        for i in d.visible(t, t)[::-1]:
            if d.starts[i] <= t < d.ends[i] and (lane is None or d.lanes[i] == lane):
                return d.items[i]
        return None

    def boundary_at(self, x: float, y: float) -> tuple[str, str, float] | None:
        d = self.data()
        if not len(d.items):
            return None
        t = self.t_of(x)
        dt = HIT_PX * self.seconds_per_pixel()
        lane = self._lane_at(y, d)
        best: tuple[tuple[float, int], tuple[str, str, float]] | None = None
        for i in d.visible(t - dt, t + dt):
            if lane is not None and d.lanes[i] != lane:
                continue
            for edge, bt in (("start", d.starts[i]), ("end", d.ends[i])):
                dist = abs(self.x_of(bt) - x)
                if dist > HIT_PX:
                    continue
                # at a shared boundary, take the interval on the pointer's side
                side = 0 if (edge == "start") == (x >= self.x_of(bt)) else 1
                key = (dist, side)
                if best is None or key < best[0]:
                    best = (key, (d.items[i].id, edge, float(bt)))
        return best[1] if best is not None else None

    def render_content(self, p: QPainter, w: int, h: int) -> None:
        d = self.data()
        t0, t1 = self.view.range
        idx = d.visible(t0, t1)
        if not idx.size:
            return
        k = w / (t1 - t0)
        xs0 = (d.starts[idx] - t0) * k
        xs1 = (d.ends[idx] - t0) * k
        lane_h = (h - 1) / d.nlanes
        pad = 3.0 if lane_h > 16 else 1.0
        narrow = (xs1 - xs0) < DENSE_PX
        if narrow.any():
            self._render_dense(p, d, idx[narrow], xs0[narrow], xs1[narrow], w, lane_h, pad)
        wide = np.flatnonzero(~narrow)
        hatch = QBrush(TIER_COLORS["empty"], Qt.BrushStyle.BDiagPattern)
        fm = QFontMetricsF(self.font())
        labels: list[tuple[QRectF, str]] = []
        for j in wide.tolist():
            i = int(idx[j])
            x0, x1 = max(float(xs0[j]), -2.0), min(float(xs1[j]), w + 2.0)
            y0 = float(d.lanes[i]) * lane_h
            rect = QRectF(x0, y0 + pad, x1 - x0, lane_h - 2 * pad)
            p.fillRect(rect, hatch if d.empty[i] else TIER_COLORS["fill"])
            c = d.conf[i]
            if c == c:
                tint = self.confidence_tint(float(c))
                if tint is not None:
                    p.fillRect(rect, tint)
            if x1 - x0 >= LABEL_MIN_PX and not d.empty[i]:
                text = fm.elidedText(
                    d.items[i].label.replace("\n", " "), Qt.TextElideMode.ElideRight, x1 - x0 - 6
                )
                if text and text != "…":
                    labels.append((rect, text))
        # boundaries: one line per pixel column and lane, whatever the number of intervals
        grid = np.zeros((d.nlanes, w + 1), dtype=bool)
        for xs in (xs0, xs1):
            cols = np.round(xs).astype(np.int64)
            keep = (cols >= 0) & (cols <= w)
            grid[d.lanes[idx][keep], cols[keep]] = True
        bc = QColor(TIER_COLORS["boundary"])
        if idx.size > w / 4:
            bc.setAlpha(120)
        p.setPen(QPen(bc, 1))
        lanes, cols = np.nonzero(grid)
        lines = [
            QLineF(c + 0.5, ln * lane_h, c + 0.5, (ln + 1) * lane_h)
            for ln, c in zip(lanes.tolist(), cols.tolist())
        ]
        p.drawLines(lines)
        p.setPen(TIER_COLORS["label"])
        p.setFont(self.font())
        for rect, text in labels:
            r = rect.intersected(QRectF(0, rect.y(), w, rect.height()))
            p.drawText(r.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignCenter, text)

    def _render_dense(self, p: QPainter, d: _Data, idx, xs0, xs1, w: int, lane_h: float, pad: float) -> None:
        """Intervals narrower than DENSE_PX, as coloured pixel columns: covered, empty, confidence."""
        c0 = np.clip(np.floor(xs0).astype(np.int64), 0, w)
        c1 = np.clip(np.maximum(np.ceil(xs1).astype(np.int64), c0 + 1), 0, w)
        for lane in range(d.nlanes):
            m = d.lanes[idx] == lane if d.nlanes > 1 else slice(None)
            a, b = c0[m], c1[m]
            if not a.size:
                continue
            diff = np.zeros(w + 2, dtype=np.int64)
            np.add.at(diff, a, 1)
            np.add.at(diff, b, -1)
            covered = np.cumsum(diff)[: w + 1] > 0
            labelled = np.zeros(w + 1, dtype=bool)
            full = ~d.empty[idx][m]
            mids = np.clip((a + b) // 2, 0, w)
            labelled[mids[full]] = True
            conf = np.full(w + 1, np.inf)
            np.minimum.at(conf, mids, np.nan_to_num(d.conf[idx][m], nan=np.inf))
            y0 = lane * lane_h + pad
            hh = lane_h - 2 * pad
            for run_start, run_end, value in _runs(np.where(covered, np.where(labelled, 2, 1), 0)):
                if value:
                    color = TIER_COLORS["fill"] if value == 2 else TIER_COLORS["empty"]
                    p.fillRect(QRectF(run_start, y0, run_end - run_start, hh), color)
            for x in np.flatnonzero(np.isfinite(conf)).tolist():
                tint = self.confidence_tint(float(conf[x]))
                if tint is not None:
                    p.fillRect(QRectF(x, y0, 1, hh), tint)

    def _paint_selected(self, p: QPainter, ann: Interval, w: int, h: int) -> None:
        d = self.data()
        try:
            i = self.tier.index(ann)
        except KeyError:
            return
        lane_h = (h - 1) / d.nlanes
        y0 = float(d.lanes[i]) * lane_h
        # clamped to just outside the canvas: at a deep zoom the far edge is 1e10 px away
        x0, x1 = (min(max(self.view.x_of(t, w), -4.0), w + 4.0) for t in (ann.start, ann.end))
        rect = QRectF(x0, y0 + 1, max(x1 - x0, 2.0), lane_h - 2)
        p.fillRect(rect, TIER_COLORS["selected_fill"])
        p.setPen(QPen(TIER_COLORS["selected_edge"], 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect.adjusted(1, 1, -1, -1))


class PointTierTrack(_TierTrack):
    """A point tier on the timeline: each point a line with its label beside it."""

    def _move_command(self, ann_id: str, edge: str, t: float) -> Any:
        return editing.move_point(self.session, self.tier.name, ann_id, t)

    def _play_span(self, ann: Point) -> tuple[float, float]:
        return (max(ann.time - POINT_CONTEXT, self.view.extent[0]), ann.time + POINT_CONTEXT)

    def annotation_at(self, t: float, y: float | None = None) -> Point | None:
        return self.tier.at(t, tolerance=HIT_PX * self.seconds_per_pixel())

    def boundary_at(self, x: float, y: float) -> tuple[str, str, float] | None:
        pt = self.tier.at(self.t_of(x), tolerance=HIT_PX * self.seconds_per_pixel())
        if pt is None or abs(self.x_of(pt.time) - x) > HIT_PX:
            return None
        return (pt.id, "time", pt.time)

    def render_content(self, p: QPainter, w: int, h: int) -> None:
        d = self.data()
        t0, t1 = self.view.range
        idx = d.visible(t0, t1)
        if not idx.size:
            return
        xs = (d.starts[idx] - t0) * (w / (t1 - t0))
        cols = np.unique(np.round(xs).astype(np.int64))
        bc = QColor(TIER_COLORS["boundary"])
        if idx.size > w / 4:
            bc.setAlpha(120)
            p.setPen(QPen(bc, 1))
            p.drawLines([QLineF(c + 0.5, 0, c + 0.5, h) for c in cols.tolist()])
            return
        fm = QFontMetricsF(self.font())
        p.setFont(self.font())
        for j in range(idx.size):
            i = int(idx[j])
            x = round(float(xs[j])) + 0.5
            color = QColor(TIER_COLORS["boundary"])
            c = d.conf[i]
            tint = self.confidence_tint(float(c)) if c == c else None
            if tint is not None:
                color = QColor(tint)
                color.setAlpha(255)
            style = Qt.PenStyle.DashLine if d.empty[i] else Qt.PenStyle.SolidLine
            p.setPen(QPen(color, 1, style))
            p.drawLine(QPointF(x, 0), QPointF(x, h))
            p.setBrush(color)
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPolygon([QPointF(x - 4, 0), QPointF(x + 4, 0), QPointF(x, 6)])
            if d.empty[i]:
                continue
            room = (float(xs[j + 1]) if j + 1 < idx.size else w) - x - 8
            if room >= LABEL_MIN_PX:
                text = fm.elidedText(d.items[i].label.replace("\n", " "), Qt.TextElideMode.ElideRight, room)
                p.setPen(TIER_COLORS["label"])
                p.drawText(
                    QRectF(x + 4, 0, room, h),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    text,
                )

    def _paint_selected(self, p: QPainter, ann: Point, w: int, h: int) -> None:
        x = self.view.x_of(ann.time, w)
        if not -5 <= x <= w + 5:
            return
        p.fillRect(QRectF(x - 4, 0, 8, h), TIER_COLORS["selected_fill"])
        p.setPen(QPen(TIER_COLORS["selected_edge"], 2))
        p.drawLine(QPointF(x, 0), QPointF(x, h))


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, value) of the runs of equal values in a 1-D integer array."""
    if not values.size:
        return []
    edges = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [values.size]])
    return list(zip(starts.tolist(), ends.tolist(), values[starts].tolist()))


def track_for(view: TimeView, session: Session, tier: Any, parent: QWidget | None = None) -> _TierTrack:
    """The track class that shows this tier (interval or point)."""
    if isinstance(tier, IntervalTier):
        return IntervalTierTrack(view, session, tier, parent)
    if isinstance(tier, PointTier):
        return PointTierTrack(view, session, tier, parent)
    raise TypeError(f"tier {tier.name!r} is a {tier.kind} tier; tier tracks show interval and point tiers")
