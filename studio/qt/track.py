"""The base of every timeline track: a header on the left, a canvas on the shared time axis.

A track is a plain `QWidget` that paints itself with QPainter (no scene graph): it draws only
what is visible, at the resolution of the screen, so a 2-hour waveform or a 10 000-interval tier
costs the same as a short one. Subclasses implement `render_content(painter, width, height)`;
the base caches that picture and repaints it only when the view or the data changed
(`invalidate()`), so the playhead moving 60 times a second repaints a cached image plus a line.

Mouse, shared by all tracks (subclasses take what they need first through the `canvas_*` hooks):
wheel pans, Ctrl+wheel zooms around the pointer, Shift+wheel pans faster; a click sets the
playhead; a drag selects a time span; a click in the header makes the track current; the
header's context menu moves, hides and resizes tracks (the timeline fills it).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from .timeview import TimeView

__all__ = ["Track", "HEADER_WIDTH", "COLORS"]

HEADER_WIDTH = 120
#: shared palette (dark canvas, light text), so tracks look like one instrument
COLORS = {
    "background": QColor(30, 32, 36),
    "header": QColor(44, 47, 53),
    "header_current": QColor(56, 78, 110),
    "text": QColor(225, 228, 232),
    "dim": QColor(140, 146, 155),
    "grid": QColor(60, 64, 70),
    "playhead": QColor(255, 80, 70),
    "selection": QColor(90, 150, 255, 60),
    "selection_edge": QColor(120, 170, 255, 160),
    "wave": QColor(110, 200, 140),
    "accent": QColor(255, 196, 70),
}


class Track(QWidget):
    """One row of the timeline (see the module doc)."""

    #: the user clicked this track (it becomes the current one)
    activated = Signal(object)
    #: the header's context menu is about to show: (track, menu) — the timeline adds its entries
    menu_requested = Signal(object, object)

    #: kind shown in menus ("waveform", "spectrogram", "tier", ...)
    kind = "track"
    default_height = 80
    min_height = 24

    def __init__(self, view: TimeView, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.title = title
        self.subtitle = ""
        self.track_id = title
        self._current = False
        self._cache: QImage | None = None
        self._cache_key: tuple | None = None
        self._press: tuple[float, float] | None = None  # (x, t) of a selection drag
        self._last_playhead_x: int | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(self.min_height)
        self.resize(600, self.default_height)
        view.range_changed.connect(self._on_range)
        view.playhead_changed.connect(self._on_playhead)
        view.selection_changed.connect(self._on_selection)

    def sizeHint(self):  # noqa: ANN201 - Qt override
        s = super().sizeHint()
        s.setHeight(self.default_height)
        return s

    # -- geometry -------------------------------------------------------------------------------
    def canvas_width(self) -> int:
        return max(self.width() - HEADER_WIDTH, 1)

    def x_of(self, t: float) -> float:
        """Widget x of session time t."""
        return HEADER_WIDTH + self.view.x_of(t, self.canvas_width())

    def t_of(self, x: float) -> float:
        return self.view.t_of(x - HEADER_WIDTH, self.canvas_width())

    def seconds_per_pixel(self) -> float:
        return self.view.span / self.canvas_width()

    # -- state ----------------------------------------------------------------------------------
    @property
    def current(self) -> bool:
        return self._current

    def set_current(self, current: bool) -> None:
        if current != self._current:
            self._current = current
            self.update(QRect(0, 0, HEADER_WIDTH, self.height()))

    def invalidate(self) -> None:
        """The content changed: render it again on the next paint."""
        self._cache_key = None
        self.update()

    def content_key(self) -> tuple:
        """Anything that changes the picture besides the view range and size (subclasses add)."""
        return ()

    # -- painting -------------------------------------------------------------------------------
    def render_content(self, p: QPainter, width: int, height: int) -> None:  # pragma: no cover
        """Paint the canvas (0..width, 0..height) for the current view range."""

    def paint_overlay(self, p: QPainter, width: int, height: int) -> None:
        """Paint things that change faster than the content (drag previews, hover), in canvas coords."""

    def _content_image(self) -> QImage:
        w, h = self.canvas_width(), max(self.height(), 1)
        dpr = self.devicePixelRatioF()
        key = (self.view.range, w, h, dpr, self.content_key())
        if self._cache is None or self._cache_key != key:
            img = QImage(int(w * dpr), int(h * dpr), QImage.Format.Format_RGB32)
            img.setDevicePixelRatio(dpr)
            img.fill(COLORS["background"])
            p = QPainter(img)
            try:
                self.render_content(p, w, h)
            finally:
                p.end()
            self._cache, self._cache_key = img, key
        return self._cache

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            w, h = self.canvas_width(), self.height()
            p.drawImage(QPointF(HEADER_WIDTH, 0), self._content_image())
            p.save()
            p.translate(HEADER_WIDTH, 0)
            p.setClipRect(QRect(0, 0, w, h))
            self._paint_selection(p, w, h)
            self.paint_overlay(p, w, h)
            x = self.view.x_of(self.view.playhead, w)
            if -2 <= x <= w + 2:  # far outside a deep zoom, x would not even fit an int
                p.setPen(QPen(COLORS["playhead"], 1))
                p.drawLine(round(x), 0, round(x), h)
            p.restore()
            self.paint_header(p, QRect(0, 0, HEADER_WIDTH, h))
            p.setPen(COLORS["grid"])
            p.drawLine(0, h - 1, self.width(), h - 1)
        finally:
            p.end()

    def _paint_selection(self, p: QPainter, w: int, h: int) -> None:
        sel = self.view.selection
        if sel is None:
            return
        x0, x1 = (min(max(self.view.x_of(t, w), -2.0), w + 2.0) for t in sel)  # pixels, not 1e10
        if x1 < 0 or x0 > w:
            return
        p.fillRect(QRectF(x0, 0, max(x1 - x0, 1), h), COLORS["selection"])
        p.setPen(QPen(COLORS["selection_edge"], 1))
        p.drawLine(QPointF(x0, 0), QPointF(x0, h))
        p.drawLine(QPointF(x1, 0), QPointF(x1, h))

    def paint_header(self, p: QPainter, rect: QRect) -> None:
        p.fillRect(rect, COLORS["header_current"] if self._current else COLORS["header"])
        p.setPen(COLORS["text"])
        f = QFont(self.font())
        f.setBold(self._current)
        p.setFont(f)
        text_rect = rect.adjusted(6, 2, -4, -2)
        title = p.fontMetrics().elidedText(self.title, Qt.TextElideMode.ElideRight, text_rect.width())
        p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
        if self.subtitle and rect.height() > 34:
            f.setBold(False)
            f.setPointSizeF(max(f.pointSizeF() * 0.85, 6))
            p.setFont(f)
            p.setPen(COLORS["dim"])
            sub = p.fontMetrics().elidedText(self.subtitle, Qt.TextElideMode.ElideRight, text_rect.width())
            p.drawText(
                text_rect.adjusted(0, 16, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, sub
            )

    # -- view events ----------------------------------------------------------------------------
    def _on_range(self, t0: float, t1: float) -> None:
        self.update()

    def _on_playhead(self, t: float) -> None:
        w = self.canvas_width()
        x = HEADER_WIDTH + round(min(max(self.view.x_of(t, w), -3.0), w + 3.0))
        old = self._last_playhead_x
        self._last_playhead_x = x
        h = self.height()
        if old is not None:
            self.update(QRect(old - 2, 0, 5, h))
        self.update(QRect(x - 2, 0, 5, h))

    def _on_selection(self, t0: float, t1: float) -> None:
        self.update()

    # -- mouse: subclasses override the canvas_* hooks and return True when they handled it ----
    def canvas_press(self, event: QMouseEvent, t: float) -> bool:
        return False

    def canvas_move(self, event: QMouseEvent, t: float) -> bool:
        return False

    def canvas_release(self, event: QMouseEvent, t: float) -> bool:
        return False

    def canvas_double_click(self, event: QMouseEvent, t: float) -> bool:
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        self.activated.emit(self)
        if x < HEADER_WIDTH:
            if event.button() == Qt.MouseButton.RightButton:
                menu = QMenu(self)
                self.menu_requested.emit(self, menu)
                if not menu.isEmpty():
                    menu.popup(event.globalPosition().toPoint())
            return
        t = self.t_of(x)
        if self.canvas_press(event, t):
            return
        if event.button() == Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.view.selection is not None:
                s0, s1 = self.view.selection  # extend the selection, as in Praat and ELAN
                anchor = s1 if abs(t - s0) < abs(t - s1) else s0
                self._press = (self.x_of(anchor) - 100, anchor)
                self.view.set_selection(anchor, t)
            else:
                self._press = (x, t)
                self.view.set_playhead(t)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        t = self.t_of(max(x, HEADER_WIDTH))
        if self.canvas_move(event, t):
            return
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            px, pt = self._press
            if abs(x - px) >= 3:
                self.view.set_selection(pt, t)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        t = self.t_of(max(x, HEADER_WIDTH))
        if self.canvas_release(event, t):
            self._press = None
            return
        if self._press is not None:
            px, pt = self._press
            if abs(x - px) < 3:
                self.view.set_selection(None)
            self._press = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if x >= HEADER_WIDTH:
            self.canvas_double_click(event, self.t_of(x))

    def wheelEvent(self, event: QWheelEvent) -> None:
        d = event.angleDelta()
        steps = (d.y() or d.x()) / 120.0
        if not steps:
            return
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            center = self.t_of(max(event.position().x(), HEADER_WIDTH))
            self.view.zoom(1.25**steps, center)
        else:
            frac = 0.5 if mods & Qt.KeyboardModifier.ShiftModifier else 0.1
            self.view.pan(-steps * frac * self.view.span)
        event.accept()
