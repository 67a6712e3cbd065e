"""The alignment inspector: the cost (or CTC posterior) image of two streams with the warping path.

    insp = AlignmentInspector()
    insp.set_view(cost_view(X, Y, hx=0.01, hy=0.01))      # studio.align.inspect, built in a job
    insp.play_requested.connect(lambda a, b: ...)        # a click: play A at a and B at b
    insp.set_cursor_a(t)                                 # A is playing at t -> cursor_b_changed(b)
    runner.submit(insp.realign_task(), on_result=insp.apply_realign)   # after pins_changed

What the user does: hover to read the pair of times (A, B) under the pointer (a crosshair and the
readout above the plot); click to hear both sides there; wheel to zoom around the pointer, drag to
pan, double-click or Home to see everything; Shift+click (or click in pin mode, P) to pin the cell
under the pointer; drag a pin to move it; Delete removes the selected pin. "Re-align" then solves
DTW again only between the pins whose neighbouring segments changed (`realign_with_pins_task`).
A CTC view (``view.kind == "ctc"``: a model's posteriors of the transcript's units, B = units,
with its forced path) is read-only: hover reads the time, the unit and its posterior, a click
plays there; pins and R are refused with a message (they re-solve DTW, which a CTC view has not).

Why it is built this way: the data is an `AlignmentView` (Qt-free, `studio.align.inspect`), already
reduced to at most ~1024 x 1024 cells, so the widget only colours it once into a cached `QImage`
and lets QPainter scale the visible part; the path is a polyline decimated to the pixels on screen.
Long work (building the view, re-aligning) is never done here: `realign_task` hands the window a
`studio.tasks` generator to run in its `JobRunner`, and `apply_realign` applies the result.

Undo. The inspector keeps no history of its own: it is a view of a stored session alignment
(`studio.core.session.Alignment`). A user edit of the pins emits `pins_edited` and a re-alignment's
result comes back to the window, which stores either as one `SetAlignment` on the session's undo
stack (so it is journaled and Ctrl+Z undoes it like any other edit); when the stored alignment
changes (that push, an undo, a redo) the window puts its pins and path back with `restore`.
`restore` and `set_pins` emit `pins_changed` and `path_changed` but never `pins_edited`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.align.inspect import AlignmentView, RealignResult, realign_with_pins_task
from studio.tasks.base import Task

from .spectrogram_view import COLORMAPS
from .track import COLORS

__all__ = ["AlignmentInspector", "InspectorState"]

_PATH = QColor(80, 230, 255)
_PIN = QColor(255, 196, 70)
_CURSOR = QColor(120, 255, 140)
_LEFT, _BOTTOM, _TOP, _RIGHT = 64, 44, 28, 78  # margins around the plot (px)
_PIN_HIT = 9.0  # px
_DRAG = 4.0  # px of movement before a press becomes a drag
_CTC_READ_ONLY = "a CTC view has no pins: pins and re-alignment are for the DTW views"


@dataclass(frozen=True)
class InspectorState:
    """What the stored alignment holds for the inspector: the pins (A, B seconds), the path
    (frames), and the pins the path was computed through (so re-alignment knows which segments it
    can reuse)."""

    pins: tuple[tuple[float, float], ...]
    path: np.ndarray
    aligned_pins: tuple[tuple[float, float], ...]


def nice_step(span: float, target: int) -> float:
    """A 1-2-5 step giving about `target` ticks over `span`."""
    raw = span / max(target, 1)
    if not (raw > 0 and math.isfinite(raw)):
        return 1.0
    e = 10 ** math.floor(math.log10(raw))
    return next(k * e for k in (1, 2, 5, 10) if k * e >= raw)


def _fmt(t: float, step: float) -> str:
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    return f"{t:.{digits}f}"


class AlignmentInspector(QWidget):
    """The inspector (see the module doc). Empty until `set_view`."""

    #: a click: play A at the first time and B at the second (seconds; B in tokens for a CTC view)
    play_requested = Signal(float, float)
    #: the linked cursor moved: where B is along the path for the A time given to `set_cursor_a`
    cursor_b_changed = Signal(float)
    #: the pins changed (list of (A, B) seconds): after an add, a finished drag, a delete, a restore
    pins_changed = Signal(list)
    #: the path changed (`set_path`, `apply_realign`, `restore`)
    path_changed = Signal()
    #: the pointer moved over the plot: (A, B) of the cell under it
    hovered = Signal(float, float)
    #: the user edited the pins (add, finished drag, delete): the list of (A, B) seconds
    pins_edited = Signal(list)
    #: the user asked to re-align (R): the window runs `realign_task()` in its job runner
    realign_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, colormap: str = "magma") -> None:
        super().__init__(parent)
        self.view: AlignmentView | None = None
        self._lut = COLORMAPS[colormap]
        self._qimage: QImage | None = None
        self._vrange = (0.0, 1.0)
        self._vis = (0.0, 1.0, 0.0, 1.0)  # visible A0, A1, B0, B1
        self._pins: list[tuple[float, float]] = []
        self._aligned_pins: tuple[tuple[float, float], ...] = ()
        self.selected_pin: int | None = None
        self.pin_mode = False
        self.cursor_a: float | None = None
        self.cursor_b: float | None = None
        self.hover: tuple[float, float] | None = None
        self.message = ""
        self._press: dict[str, Any] | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.resize(720, 560)

    # -- data -------------------------------------------------------------------------------------
    def set_view(self, view: AlignmentView) -> None:
        """Show `view` (pins are cleared; the whole plane becomes visible)."""
        self.view = view
        self._pins, self._aligned_pins, self.selected_pin = [], (), None
        self.cursor_a = self.cursor_b = self.hover = None
        lo, hi = view.value_range()
        self._vrange = (lo, hi)
        norm = np.clip((view.image - lo) / (hi - lo), 0.0, 1.0)
        norm[~np.isfinite(view.image)] = 0.0
        idx = np.round(norm * 255).astype(np.uint8)
        # QImage x = A (image rows), y = B from the top (so flip: B grows upwards)
        argb = np.ascontiguousarray(self._lut[idx.T[::-1]])
        self._argb = argb  # the QImage borrows this buffer
        h, w = argb.shape
        self._qimage = QImage(argb.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self.reset_zoom()
        self.pins_changed.emit(self.pins)
        self.path_changed.emit()

    def set_path(self, path: Any, aligned_pins: Any = None) -> None:
        """Replace the path ((K, 2) frames); `aligned_pins`: the pins it was computed through."""
        if self.view is None:
            raise RuntimeError("set_view first")
        p = np.asarray(path, dtype=np.int64)
        if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
            raise ValueError("a path is a non-empty (K, 2) array of frames")
        self.view.path = p
        if aligned_pins is not None:
            self._aligned_pins = tuple((float(a), float(b)) for a, b in aligned_pins)
        if self.cursor_a is not None:
            self.set_cursor_a(self.cursor_a)
        self.path_changed.emit()
        self.update()

    @property
    def pins(self) -> list[tuple[float, float]]:
        return list(self._pins)

    def set_pins(self, pins: Any) -> None:
        self._pins = sorted((float(a), float(b)) for a, b in pins)
        self.selected_pin = None
        self.pins_changed.emit(self.pins)
        self.update()

    def state(self) -> InspectorState:
        assert self.view is not None
        return InspectorState(tuple(self._pins), self.view.path.copy(), self._aligned_pins)

    def restore(self, state: InspectorState) -> None:
        """Show `state` (the stored alignment's, after a change, an undo or a redo)."""
        self._pins = list(state.pins)
        self.selected_pin = None
        self.set_path(state.path.copy(), state.aligned_pins)
        self.pins_changed.emit(self.pins)

    def clear(self, message: str = "") -> None:
        """Show nothing (the alignment was removed, or another session was opened)."""
        self.view, self._qimage = None, None
        self._pins, self._aligned_pins, self.selected_pin = [], (), None
        self.cursor_a = self.cursor_b = self.hover = None
        self.message = message
        self.update()

    # -- re-alignment -----------------------------------------------------------------------------
    def realign_task(self) -> Task[RealignResult]:
        """A task re-aligning through the current pins (run it in a `JobRunner`; give its result to
        `apply_realign`). It works on a snapshot, so edits made while it runs do not race it."""
        v = self.view
        if v is None or v.X is None or v.Y is None:
            raise ValueError("re-alignment needs a cost view built from features (not a CTC view)")
        return realign_with_pins_task(
            v.X, v.Y, v.path.copy(), list(self._pins), hx=v.hx, hy=v.hy, a_start=v.a_start,
            b_start=v.b_start, old_pins=list(self._aligned_pins), **dict(v.dtw_kwargs),
        )  # fmt: skip

    def apply_realign(self, result: RealignResult) -> None:
        assert self.view is not None
        v = self.view
        pins = [(float(v.a_time(i)), float(v.b_time(j))) for i, j in result.pins]
        n = len(result.recomputed)
        self.message = f"re-aligned {n} of {len(result.segments)} segment{'s' * (len(result.segments) != 1)}"
        self.set_path(result.path, pins)

    # -- linked cursor ----------------------------------------------------------------------------
    def set_cursor_a(self, t: float | None) -> None:
        """A is at `t` (e.g. its playback position): mark it and where B is along the path."""
        self.cursor_a = t
        if t is None or self.view is None:
            self.cursor_b = None
        else:
            self.cursor_b = self.view.b_at(float(t))
            self.cursor_b_changed.emit(self.cursor_b)
        self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        return QRectF(
            _LEFT, _TOP, max(self.width() - _LEFT - _RIGHT, 10), max(self.height() - _TOP - _BOTTOM, 10)
        )

    def x_of(self, a: float) -> float:
        r, (a0, a1, _, _) = self.plot_rect(), self._vis
        return r.left() + (a - a0) / (a1 - a0) * r.width()

    def y_of(self, b: float) -> float:
        r, (_, _, b0, b1) = self.plot_rect(), self._vis
        return r.bottom() - (b - b0) / (b1 - b0) * r.height()

    def a_of(self, x: float) -> float:
        r, (a0, a1, _, _) = self.plot_rect(), self._vis
        return a0 + (x - r.left()) / r.width() * (a1 - a0)

    def b_of(self, y: float) -> float:
        r, (_, _, b0, b1) = self.plot_rect(), self._vis
        return b0 + (r.bottom() - y) / r.height() * (b1 - b0)

    def point_of(self, a: float, b: float) -> QPointF:
        return QPointF(self.x_of(a), self.y_of(b))

    def cell_at(self, x: float, y: float) -> tuple[float, float]:
        """(A, B) centre times of the cell under widget point (x, y)."""
        v = self.view
        assert v is not None
        return float(v.a_time(v.a_frame(self.a_of(x)))), float(v.b_time(v.b_frame(self.b_of(y))))

    @property
    def visible(self) -> tuple[float, float, float, float]:
        return self._vis

    def set_visible(self, a0: float, a1: float, b0: float, b1: float) -> None:
        """Show A in [a0, a1] and B in [b0, b1] (clamped to the data, at least 4 cells wide)."""
        v = self.view
        if v is None:
            return
        (ea0, ea1), (eb0, eb1) = v.a_extent, v.b_extent

        def clamp(lo: float, hi: float, e0: float, e1: float, least: float) -> tuple[float, float]:
            span = min(max(hi - lo, least), e1 - e0)
            lo = min(max(lo, e0), e1 - span)
            return lo, lo + span

        self._vis = (*clamp(a0, a1, ea0, ea1, 4 * v.hx), *clamp(b0, b1, eb0, eb1, 4 * v.hy))
        self.update()

    def reset_zoom(self) -> None:
        if self.view is not None:
            self.set_visible(*self.view.a_extent, *self.view.b_extent)

    def zoom(self, factor: float, a: float, b: float) -> None:
        """Zoom by `factor` (> 1 zooms in) around the point (a, b)."""
        a0, a1, b0, b1 = self._vis
        self.set_visible(
            a - (a - a0) / factor, a + (a1 - a) / factor, b - (b - b0) / factor, b + (b1 - b) / factor
        )

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), COLORS["background"])
            if self.view is None:
                p.setPen(COLORS["dim"])
                p.drawText(
                    self.rect(), Qt.AlignmentFlag.AlignCenter, self.message or "No alignment to inspect"
                )
                return
            r = self.plot_rect()
            self._paint_image(p, r)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.save()
            p.setClipRect(r)
            self._paint_path(p)
            self._paint_cursors(p, r)
            self._paint_pins(p)
            p.restore()
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            self._paint_axes(p, r)
            self._paint_colorbar(p, r)
            self._paint_readout(p)
        finally:
            p.end()

    def _paint_image(self, p: QPainter, r: QRectF) -> None:
        v, img = self.view, self._qimage
        assert v is not None and img is not None
        a0, a1, b0, b1 = self._vis
        (ea0, ea1), (eb0, eb1) = v.a_extent, v.b_extent
        w, h = img.width(), img.height()
        src = QRectF(
            (a0 - ea0) / (ea1 - ea0) * w, (eb1 - b1) / (eb1 - eb0) * h,
            (a1 - a0) / (ea1 - ea0) * w, (b1 - b0) / (eb1 - eb0) * h,
        )  # fmt: skip
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(r, img, src)
        p.setPen(QPen(COLORS["grid"], 1))
        p.drawRect(r.adjusted(-0.5, -0.5, 0.5, 0.5))

    def _path_polygon(self) -> QPolygonF:
        v = self.view
        assert v is not None
        pts = v.path_times
        a0, a1, b0, b1 = self._vis
        # keep the points in view (plus one either side), then at most ~2 per pixel
        inside = (
            (pts[:, 0] >= a0 - v.hx)
            & (pts[:, 0] <= a1 + v.hx)
            & (pts[:, 1] >= b0 - v.hy)
            & (pts[:, 1] <= b1 + v.hy)
        )
        idx = np.nonzero(inside)[0]
        if idx.size == 0:
            return QPolygonF()
        idx = np.arange(max(idx[0] - 1, 0), min(idx[-1] + 2, len(pts)))
        step = max(1, int(len(idx) / (2 * (self.plot_rect().width() + self.plot_rect().height()))))
        idx = np.unique(np.concatenate([idx[::step], idx[-1:]]))
        pts = pts[idx]
        if v.kind == "ctc" and len(pts) > 1:  # a staircase: a unit holds until the next one is emitted
            steps = np.empty((2 * len(pts) - 1, 2))
            steps[0::2] = pts
            steps[1::2, 0], steps[1::2, 1] = pts[1:, 0], pts[:-1, 1]
            pts = steps
        return QPolygonF([self.point_of(a, b) for a, b in pts])

    def _paint_path(self, p: QPainter) -> None:
        poly = self._path_polygon()
        p.setPen(
            QPen(
                QColor(0, 0, 0, 170),
                4.5,
                Qt.PenStyle.SolidLine,
                Qt.PenCapStyle.RoundCap,
                Qt.PenJoinStyle.RoundJoin,
            )
        )
        p.drawPolyline(poly)
        p.setPen(QPen(_PATH, 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        p.drawPolyline(poly)
        v = self.view
        if v is not None and v.kind == "ctc" and poly.size() < 800:  # the frames that emit a unit
            p.setPen(QPen(QColor(0, 0, 0), 1.0))
            p.setBrush(_PATH)
            for k in range(0, poly.size(), 2):
                p.drawEllipse(poly.at(k), 2.8, 2.8)
            p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_cursors(self, p: QPainter, r: QRectF) -> None:
        if self.hover is not None:
            # on pixel centres, so the 1 px line covers whole pixels (crisp, not two half-tones)
            x, y = math.floor(self.x_of(self.hover[0])) + 0.5, math.floor(self.y_of(self.hover[1])) + 0.5
            p.setPen(QPen(QColor(255, 255, 255, 190), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        if self.cursor_a is not None and self.cursor_b is not None:
            x, y = self.x_of(self.cursor_a), self.y_of(self.cursor_b)
            p.setPen(QPen(_CURSOR, 1.5))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setBrush(_CURSOR)
            p.drawEllipse(QPointF(x, y), 4.5, 4.5)
            p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_pins(self, p: QPainter) -> None:
        for k, (a, b) in enumerate(self._pins):
            c = self.point_of(a, b)
            s = 7.0 if k == self.selected_pin else 5.5
            diamond = QPolygonF(
                [c + QPointF(0, -s), c + QPointF(s, 0), c + QPointF(0, s), c + QPointF(-s, 0)]
            )
            p.setPen(QPen(QColor(0, 0, 0), 1.5))
            p.setBrush(_PIN if k != self.selected_pin else QColor(255, 240, 160))
            p.drawPolygon(diamond)
            if k == self.selected_pin:
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(QColor(255, 255, 255), 1.2))
                p.drawEllipse(c, s + 4, s + 4)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_axes(self, p: QPainter, r: QRectF) -> None:
        v = self.view
        assert v is not None
        a0, a1, b0, b1 = self._vis
        f = QFont(self.font())
        f.setPointSizeF(8.5)
        p.setFont(f)
        fm = QFontMetrics(f)
        tick = QPen(COLORS["dim"], 1)
        # A axis (bottom)
        step = nice_step(a1 - a0, max(2, int(r.width() / 80)))
        t = math.ceil(a0 / step) * step
        while t <= a1 + 1e-9:
            x = self.x_of(t)
            p.setPen(tick)
            p.drawLine(QPointF(x, r.bottom()), QPointF(x, r.bottom() + 5))
            p.setPen(COLORS["text"])
            s = _fmt(t, step)
            p.drawText(QPointF(x - fm.horizontalAdvance(s) / 2, r.bottom() + 7 + fm.ascent()), s)
            t += step
        p.setPen(COLORS["text"])
        title = f"A: {v.label_a}  [s]"
        p.drawText(QPointF(r.center().x() - fm.horizontalAdvance(title) / 2, self.height() - 6), title)
        # B axis (left): times, or token labels for a CTC view
        if v.b_labels is not None:
            every = max(1, math.ceil((fm.height() + 2) / max(r.height() / max(b1 - b0, 1e-9), 1e-9)))
            for j in range(max(0, int(b0)), min(v.m, int(math.ceil(b1)))):
                if j % every:
                    continue
                y = self.y_of(j + 0.5)
                s = v.b_labels[j]
                p.setPen(tick)
                p.drawLine(QPointF(r.left() - 4, y), QPointF(r.left(), y))
                p.setPen(COLORS["text"])
                p.drawText(QPointF(r.left() - 7 - fm.horizontalAdvance(s), y + fm.ascent() / 2 - 1), s)
        else:
            step = nice_step(b1 - b0, max(2, int(r.height() / 50)))
            t = math.ceil(b0 / step) * step
            while t <= b1 + 1e-9:
                y = self.y_of(t)
                p.setPen(tick)
                p.drawLine(QPointF(r.left() - 5, y), QPointF(r.left(), y))
                p.setPen(COLORS["text"])
                s = _fmt(t, step)
                p.drawText(QPointF(r.left() - 8 - fm.horizontalAdvance(s), y + fm.ascent() / 2 - 1), s)
                t += step
        p.save()
        title = f"B: {v.label_b}" + ("" if v.b_labels is not None or v.kind == "ctc" else "  [s]")
        p.translate(13, r.center().y() + fm.horizontalAdvance(title) / 2)
        p.rotate(-90)
        p.drawText(QPointF(0, 0), title)
        p.restore()

    def _paint_colorbar(self, p: QPainter, r: QRectF) -> None:
        v = self.view
        assert v is not None
        bar = QRectF(r.right() + 14, r.top(), 12, r.height())
        grad = QImage(1, 256, QImage.Format.Format_RGB32)
        for k in range(256):
            grad.setPixel(0, 255 - k, int(self._lut[k]))
        p.drawImage(bar, grad)
        p.setPen(QPen(COLORS["grid"], 1))
        p.drawRect(bar)
        lo, hi = self._vrange
        fm = QFontMetrics(p.font())
        step = nice_step(hi - lo, 5)
        val = math.ceil(lo / step) * step
        while val <= hi + 1e-12:
            y = bar.bottom() - (val - lo) / (hi - lo) * bar.height()
            p.setPen(COLORS["dim"])
            p.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y))
            p.setPen(COLORS["text"])
            p.drawText(QPointF(bar.right() + 6, y + fm.ascent() / 2 - 1), f"{val:g}")
            val += step
        p.save()
        p.setPen(COLORS["dim"])
        p.translate(self.width() - 6, r.center().y() + fm.horizontalAdvance(v.value_label) / 2)
        p.rotate(-90)
        p.drawText(QPointF(0, 0), v.value_label)
        p.restore()

    def _paint_readout(self, p: QPainter) -> None:
        f = QFont(self.font())
        f.setPointSizeF(9)
        p.setFont(f)
        x = _LEFT
        if self.pin_mode:
            p.setPen(_PIN)
            p.drawText(QPointF(x, _TOP / 2 + QFontMetrics(f).ascent() / 2 - 1), "PIN MODE")
            x += QFontMetrics(f).horizontalAdvance("PIN MODE") + 12
        right = self._paint_legend(p) - 12
        p.setPen(COLORS["text"])
        text = QFontMetrics(f).elidedText(self.readout(), Qt.TextElideMode.ElideRight, int(max(right - x, 0)))
        p.drawText(QRectF(x, 4, max(right - x, 0), _TOP - 6), Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_legend(self, p: QPainter) -> float:
        """Path, pin and cursor keys in the top-right corner of the plot's frame; returns its left x."""
        fm = QFontMetrics(p.font())
        r = self.plot_rect()
        x, y = r.right() - 4, _TOP / 2 + 1
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        keys = [("linked cursor", "cursor"), ("pin", "pin"), ("path", "path")]
        if self.view is not None and self.view.kind == "ctc":
            keys = [("linked cursor", "cursor"), ("forced path", "path")]
        for text, kind in keys:
            x -= fm.horizontalAdvance(text)
            p.setPen(COLORS["dim"])
            p.drawText(QPointF(x, y + fm.ascent() / 2 - 1), text)
            x -= 8
            if kind == "path":
                p.setPen(QPen(_PATH, 2.0))
                p.drawLine(QPointF(x - 14, y), QPointF(x, y))
                x -= 14
            elif kind == "pin":
                c = QPointF(x - 5, y)
                p.setPen(QPen(QColor(0, 0, 0), 1))
                p.setBrush(_PIN)
                p.drawPolygon(
                    QPolygonF([c + QPointF(0, -5), c + QPointF(5, 0), c + QPointF(0, 5), c + QPointF(-5, 0)])
                )
                x -= 10
            else:
                p.setPen(QPen(_CURSOR, 1))
                p.setBrush(_CURSOR)
                p.drawEllipse(QPointF(x - 4, y), 3.5, 3.5)
                x -= 8
            p.setBrush(Qt.BrushStyle.NoBrush)
            x -= 16
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        return x

    def readout(self) -> str:
        """The text above the plot: the hovered pair of times, else the linked cursor, else a hint."""
        v = self.view
        if v is None:
            return ""
        if self.hover is not None and v.kind == "ctc":
            a, b = self.hover
            i, j = v.a_frame(a), v.b_frame(b)
            r = int(np.searchsorted(v.a_edges, i, side="right")) - 1
            c = int(np.searchsorted(v.b_edges, j, side="right")) - 1
            return (f"{a:.3f} s  ·  {self._b_text(b)}  posterior {v.image[r, c]:.2f}"
                    f"   ·   forced path: {self._b_text(v.b_at(a))}")  # fmt: skip
        if self.hover is not None:
            a, b = self.hover
            return f"A {a:.3f} s  ↔  B {self._b_text(b)}   ·   path: B {self._b_text(v.b_at(a))} at this A"
        if self.cursor_a is not None and self.cursor_b is not None:
            return f"▶ A {self.cursor_a:.3f} s  →  B {self._b_text(self.cursor_b)}"
        if self.message:
            return self.message
        if v.kind == "ctc":
            return "CTC posteriors and forced path · click: play there · wheel: zoom · drag: pan"
        return "click: play both · Shift+click: pin · wheel: zoom · drag: pan · R: re-align"

    def _b_text(self, b: float) -> str:
        v = self.view
        assert v is not None
        if v.b_labels is not None:
            return f"token {v.b_frame(b)} '{v.b_labels[v.b_frame(b)]}'"
        if v.kind == "ctc":
            return f"token {v.b_frame(b)}"
        return f"{b:.3f} s"

    # -- mouse and keys ---------------------------------------------------------------------------
    def pin_at(self, x: float, y: float) -> int | None:
        best, best_d = None, _PIN_HIT
        for k, (a, b) in enumerate(self._pins):
            q = self.point_of(a, b)
            d = math.hypot(q.x() - x, q.y() - y)
            if d <= best_d:
                best, best_d = k, d
        return best

    def add_pin(self, a: float, b: float) -> bool:
        """Pin (a, b) (snapped to its cell); False, with a message, if it would cross another pin."""
        v = self.view
        assert v is not None
        if v.kind == "ctc":
            self.message = _CTC_READ_ONLY
            self.update()
            return False
        a, b = float(v.a_time(v.a_frame(a))), float(v.b_time(v.b_frame(b)))
        if not self._fits(a, b, None):
            self.message = "a pin must keep the order of the other pins on both axes"
            self.update()
            return False
        self._pins = sorted([*self._pins, (a, b)])
        self.selected_pin = self._pins.index((a, b))
        self.pins_changed.emit(self.pins)
        self.pins_edited.emit(self.pins)
        self.update()
        return True

    def remove_pin(self, k: int) -> None:
        del self._pins[k]
        self.selected_pin = None
        self.pins_changed.emit(self.pins)
        self.pins_edited.emit(self.pins)
        self.update()

    def _fits(self, a: float, b: float, skip: int | None) -> bool:
        for k, (pa, pb) in enumerate(self._pins):
            if k != skip and ((pa < a and pb > b) or (pa > a and pb < b) or (pa, pb) == (a, b)):
                return False
        return True

    def _in_plot(self, pos: QPointF) -> bool:
        return self.plot_rect().contains(pos)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.view is None:
            return
        pos = event.position()
        self.setFocus()
        if event.button() == Qt.MouseButton.LeftButton and self._in_plot(pos):
            k = self.pin_at(pos.x(), pos.y())
            if k is not None:
                self.selected_pin = k
                self._press = {"kind": "pin", "pin": k, "pos": pos, "moved": False, "orig": self._pins[k]}
            else:
                self._press = {"kind": "plot", "pos": pos, "vis": self._vis, "moved": False,
                               "shift": bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)}  # fmt: skip
            self.update()
        elif event.button() == Qt.MouseButton.MiddleButton:
            self._press = {"kind": "plot", "pos": pos, "vis": self._vis, "moved": True, "shift": False}

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.view is None:
            return
        pos = event.position()
        pr = self._press
        if pr is not None:
            if (pos - pr["pos"]).manhattanLength() >= _DRAG:
                pr["moved"] = True
            if pr["kind"] == "pin" and pr["moved"]:
                pr["started"] = True
                a, b = self.cell_at(pos.x(), pos.y())
                if self._fits(a, b, pr["pin"]):
                    self._pins[pr["pin"]] = (a, b)
            elif pr["kind"] == "plot" and pr["moved"]:
                r, (a0, a1, b0, b1) = self.plot_rect(), pr["vis"]
                d = pos - pr["pos"]
                da, db = -d.x() / r.width() * (a1 - a0), d.y() / r.height() * (b1 - b0)
                self.set_visible(a0 + da, a1 + da, b0 + db, b1 + db)
        if self._in_plot(pos):
            self.hover = self.cell_at(pos.x(), pos.y())
            self.setToolTip(self.readout())
            self.hovered.emit(*self.hover)
        else:
            self.hover = None
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pr, self._press = self._press, None
        if pr is None or self.view is None:
            return
        pos = event.position()
        if pr["kind"] == "pin":
            if pr.get("started"):
                moved = self._pins[pr["pin"]]
                self._pins.sort()
                self.selected_pin = self._pins.index(moved)
                if moved != pr["orig"]:
                    self.pins_changed.emit(self.pins)
                    self.pins_edited.emit(self.pins)
        elif not pr["moved"] and self._in_plot(pos):
            a, b = self.cell_at(pos.x(), pos.y())
            if pr["shift"] or self.pin_mode:
                self.add_pin(a, b)
            else:
                self.selected_pin = None
                self.play_requested.emit(a, b)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.reset_zoom()

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.hover = None
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if self.view is None:
            return
        pos = event.position()
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(1.25**steps, self.a_of(pos.x()), self.b_of(pos.y()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected_pin is not None:
            self.remove_pin(self.selected_pin)
        elif key == Qt.Key.Key_P:
            self.pin_mode = not self.pin_mode
            self.update()
        elif key == Qt.Key.Key_R:
            if self.view is not None and self.view.kind == "ctc":
                self.message = _CTC_READ_ONLY
                self.update()
            else:
                self.realign_requested.emit()
        elif key == Qt.Key.Key_Home:
            self.reset_zoom()
        else:
            super().keyPressEvent(event)
