"""The overview bar: the whole session in 40 pixels, and a box for the part the tracks show.

Above (or below) the tracks, `Overview(view)` draws the session's full extent: a miniature
waveform (`set_envelope`), the density of annotation boundaries (`set_marks`: one tick per
boundary, columns with many boundaries drawn brighter), the selection and the playhead, and a box
around the visible range. It is how you find your way in a two-hour recording:

* drag the box to pan, drag its edges to zoom (the other edge stays put);
* click outside the box to centre the view there (keep the button down to go on dragging);
* the wheel zooms around the pointer; a double click shows everything.

Everything goes through the shared `TimeView`, so tracks follow. The waveform and ticks are
rendered once into an image (again only when the size, extent or data change): the playhead moving
at 60 Hz repaints an image and three rectangles. The envelope query is a few tens of µs (the
pyramid in `studio.media.envelope`), so it runs on the UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .timeview import MIN_SPAN, TimeView
from .track import COLORS

__all__ = ["Overview", "OVERVIEW_HEIGHT"]

OVERVIEW_HEIGHT = 40
_EDGE = 4  # pixels either side of a box edge that grab the edge
_MIN_BOX = 6  # the box is drawn at least this wide, so a deep zoom stays visible and draggable
_TICKS = 7  # height of the boundary tick band at the bottom


class Overview(QWidget):
    """The overview bar (see the module doc)."""

    def __init__(self, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self._env: Any = None
        self._env_offset = 0.0
        self._marks = np.empty(0)
        self._margins = (0, 0)
        self._cache: QImage | None = None
        self._cache_key: tuple | None = None
        self._version = 0  # bumped when the envelope or marks change
        self._drag: tuple[str, float] | None = None  # (mode, grab) during a mouse drag
        self.setFixedHeight(OVERVIEW_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)
        self.setToolTip("Drag the box to pan, its edges to zoom; click to centre; double click: show all")
        view.range_changed.connect(self._on_view)
        view.playhead_changed.connect(self._on_view)
        view.selection_changed.connect(self._on_view)
        view.extent_changed.connect(self._on_view)

    def sizeHint(self) -> QSize:
        return QSize(600, OVERVIEW_HEIGHT)

    # -- data -----------------------------------------------------------------------------------
    def set_envelope(self, env: Any, offset: float = 0.0) -> None:
        """Draw the waveform of `env` (a `studio.media.envelope.Envelope`, or None for none);
        `offset` places it on the session axis (session_time = media_time + offset)."""
        self._env, self._env_offset = env, float(offset)
        self._version += 1
        self.update()

    def set_marks(self, times: Iterable[float]) -> None:
        """Annotation boundaries (session seconds) to show as ticks."""
        marks = np.asarray(list(times) if not isinstance(times, np.ndarray) else times, dtype=np.float64)
        self._marks = np.sort(marks[np.isfinite(marks)])
        self._version += 1
        self.update()

    def set_margins(self, left: int, right: int = 0) -> None:
        """Leave `left`/`right` pixels out of the time axis (to line up with the tracks' canvas)."""
        self._margins = (max(int(left), 0), max(int(right), 0))
        self.update()

    # -- geometry -------------------------------------------------------------------------------
    def axis_width(self) -> int:
        return max(self.width() - self._margins[0] - self._margins[1], 1)

    def x_of(self, t: float) -> float:
        e0, e1 = self.view.extent
        return self._margins[0] + (t - e0) / (e1 - e0) * self.axis_width()

    def t_of(self, x: float) -> float:
        e0, e1 = self.view.extent
        return e0 + (x - self._margins[0]) / self.axis_width() * (e1 - e0)

    def box(self) -> tuple[float, float]:
        """Left and right x of the visible-range box as drawn (at least `_MIN_BOX` wide)."""
        t0, t1 = self.view.range
        x0, x1 = self.x_of(t0), self.x_of(t1)
        if x1 - x0 < _MIN_BOX:
            c = (x0 + x1) / 2
            x0, x1 = c - _MIN_BOX / 2, c + _MIN_BOX / 2
        return x0, x1

    # -- painting -------------------------------------------------------------------------------
    def _on_view(self, *args: float) -> None:
        self.update()

    def _background(self) -> QImage:
        w, h = self.width(), self.height()
        dpr = self.devicePixelRatioF()
        key = (w, h, dpr, self.view.extent, self._margins, self._version)
        if self._cache is None or self._cache_key != key:
            img = QImage(max(int(w * dpr), 1), max(int(h * dpr), 1), QImage.Format.Format_RGB32)
            img.setDevicePixelRatio(dpr)
            img.fill(COLORS["background"])
            p = QPainter(img)
            try:
                self._paint_wave(p, h - _TICKS - 1)
                self._paint_marks(p, h)
            finally:
                p.end()
            self._cache, self._cache_key = img, key
        return self._cache

    def _paint_wave(self, p: QPainter, height: int) -> None:
        env, w = self._env, self.axis_width()
        if env is None or height < 4:
            return
        e0, e1 = self.view.extent
        off = self._env_offset
        times, values = env.query(e0 - off, e1 - off, w)
        if len(times) == 0:
            return
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 2:  # every channel in one outline
            lo_v, hi_v = values.min(axis=0), values.max(axis=0)
        else:
            lo_v = hi_v = values
        cols = np.floor((times + off - e0) / (e1 - e0) * w).astype(np.int64)
        keep = (cols >= 0) & (cols < w)
        cols, lo_v, hi_v = cols[keep], lo_v[keep], hi_v[keep]
        if len(cols) == 0:
            return
        lo = np.full(w, np.inf)
        hi = np.full(w, -np.inf)
        np.minimum.at(lo, cols, lo_v)
        np.maximum.at(hi, cols, hi_v)
        has = np.isfinite(lo)
        peak = float(max(np.abs(lo[has]).max(), np.abs(hi[has]).max()))
        if peak <= 0:
            peak = 1.0
        mid, half = 1 + height / 2, height / 2 * 0.95 / peak  # quiet recordings still fill the bar
        x0 = self._margins[0]
        color = QColor(COLORS["wave"])
        color.setAlpha(210)
        p.setPen(QPen(color, 1))
        lines = [
            QLineF(x0 + c + 0.5, mid - hi[c] * half, x0 + c + 0.5, mid - lo[c] * half + 0.5)
            for c in np.flatnonzero(has).tolist()
        ]
        p.drawLines(lines)

    def _paint_marks(self, p: QPainter, h: int) -> None:
        marks, w = self._marks, self.axis_width()
        if len(marks) == 0:
            return
        e0, e1 = self.view.extent
        cols = np.floor((marks - e0) / (e1 - e0) * w).astype(np.int64)
        cols = cols[(cols >= 0) & (cols < w)]
        if len(cols) == 0:
            return
        counts = np.bincount(cols, minlength=w)
        x0, y1 = self._margins[0], h - 1
        color = QColor(COLORS["accent"])
        for c in np.flatnonzero(counts).tolist():
            k = min(math.log2(1 + counts[c]) / 3, 1.0)  # 1 boundary dim, 7+ per pixel full
            color.setAlpha(int(150 + 105 * k))
            p.setPen(QPen(color, 1))
            p.drawLine(QLineF(x0 + c + 0.5, y1 - 4 - (_TICKS - 4) * k, x0 + c + 0.5, y1))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            w, h = self.width(), self.height()
            p.drawImage(QPointF(0, 0), self._background())
            left, right = self._margins
            if left:
                p.fillRect(QRectF(0, 0, left, h), COLORS["header"])
            if right:
                p.fillRect(QRectF(w - right, 0, right, h), COLORS["header"])
            p.setClipRect(QRectF(left, 0, w - left - right, h))
            sel = self.view.selection
            if sel is not None:
                s0, s1 = self.x_of(sel[0]), self.x_of(sel[1])
                p.fillRect(QRectF(s0, 0, max(s1 - s0, 1), h), COLORS["selection"])
            bx0, bx1 = self.box()
            shade = QColor(0, 0, 0, 70)  # what the tracks do not show is dimmed
            p.fillRect(QRectF(left, 0, max(bx0 - left, 0), h), shade)
            p.fillRect(QRectF(bx1, 0, max(w - right - bx1, 0), h), shade)
            p.fillRect(QRectF(bx0, 0, bx1 - bx0, h), QColor(255, 255, 255, 22))
            edge = QColor(COLORS["text"])
            edge.setAlpha(200)
            p.setPen(QPen(edge, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(bx0 + 0.5, 0.5, max(bx1 - bx0 - 1, 1), h - 1))
            x = round(self.x_of(self.view.playhead)) + 0.5
            p.setPen(QPen(COLORS["playhead"], 1))
            p.drawLine(QLineF(x, 0, x, h))
            p.setClipping(False)
            p.setPen(COLORS["grid"])
            p.drawLine(0, h - 1, w, h - 1)
        finally:
            p.end()

    # -- mouse ----------------------------------------------------------------------------------
    def _hit(self, x: float) -> str:
        bx0, bx1 = self.box()
        if bx1 - bx0 > 3 * _EDGE:  # a narrow box is all "move": its edges would cover it
            if abs(x - bx0) <= _EDGE:
                return "left"
            if abs(x - bx1) <= _EDGE:
                return "right"
        if bx0 <= x <= bx1:
            return "pan"
        return "outside"

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        t = self.t_of(x)
        mode = self._hit(x)
        t0, t1 = self.view.range
        if mode == "outside":
            self.view.center_on(t)
            t0, t1 = self.view.range
            mode = "pan"
        if mode == "pan":
            self._drag = ("pan", t - t0)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        else:
            self._drag = (mode, 0.0)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag is None:
            mode = self._hit(x)
            shapes = {"left": Qt.CursorShape.SizeHorCursor, "right": Qt.CursorShape.SizeHorCursor,
                      "pan": Qt.CursorShape.OpenHandCursor}  # fmt: skip
            self.setCursor(shapes.get(mode, Qt.CursorShape.PointingHandCursor))
            return
        t = self.t_of(x)
        mode, grab = self._drag
        t0, t1 = self.view.range
        if mode == "pan":
            span = t1 - t0
            self.view.set_range(t - grab, t - grab + span)
        elif mode == "left":
            self.view.set_range(min(t, t1 - MIN_SPAN), t1)
        else:
            self.view.set_range(t0, max(t, t0 + MIN_SPAN))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.view.show_all()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        d = event.angleDelta()
        steps = (d.y() or d.x()) / 120.0
        if not steps:
            return
        t0, t1 = self.view.range
        t = self.t_of(event.position().x())
        self.view.zoom(1.25**steps, t if t0 <= t <= t1 else None)
        event.accept()
