"""The stack of tracks on one time axis: a ruler on top, then tracks the user can add, hide, reorder
and resize (a vertical splitter in a scroll area).

The timeline knows nothing about what a track shows; the window creates tracks (waveform,
spectrogram, tiers, curves) and hands them over. The header context menu of every track offers
move up/down, hide, height, and "show hidden tracks".
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QMenu, QScrollArea, QSplitter, QVBoxLayout, QWidget

from .timeview import TimeView
from .track import COLORS, Track

__all__ = ["Timeline", "TimeRuler", "nice_step"]


def nice_step(span: float, pixels: int, min_px: int = 80) -> float:
    """A 1-2-5 step (s) so labels are at least `min_px` apart."""
    raw = span * min_px / max(pixels, 1)
    base = 10 ** math.floor(math.log10(max(raw, 1e-6)))
    for m in (1, 2, 5, 10):
        if base * m >= raw:
            step = base * m
            break
    for s in (15, 30, 60, 120, 300, 600, 900, 1800, 3600):  # minutes and hours read better
        if raw > 10 and s >= raw:
            return float(s)
    if raw > 3600:  # whole hours, not 10 000 s (2:46:40)
        for m in (2, 3, 6, 12, 24):
            if 3600 * m >= raw:
                return 3600.0 * m
        return 3600.0 * 24 * math.ceil(raw / (3600 * 24))
    return step


def tick_label(t: float, step: float) -> str:
    sign = "-" if t < 0 else ""
    t = abs(t)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    sec = f"{s:0{3 + decimals if decimals else 2}.{decimals}f}"
    if h >= 1:
        return f"{sign}{int(h)}:{int(m):02d}:{sec}"
    if m >= 1:
        return f"{sign}{int(m)}:{sec}"
    return f"{sign}{s:.{decimals}f}"


class TimeRuler(Track):
    kind = "ruler"
    default_height = 26
    min_height = 26

    def __init__(self, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(view, "time", parent)
        self.setFixedHeight(self.default_height)

    def render_content(self, p: QPainter, w: int, h: int) -> None:
        t0, t1 = self.view.range
        step = nice_step(t1 - t0, w)
        p.setPen(QPen(COLORS["dim"], 1))
        k0 = math.floor(t0 / step)
        k1 = math.ceil(t1 / step)
        fm = p.fontMetrics()
        for k in range(k0, k1 + 1):
            t = k * step
            x = self.view.x_of(t, w)
            p.drawLine(QPointF(x, h - 8), QPointF(x, h))
            p.drawText(QRectF(x + 3, 2, 120, h - 8), Qt.AlignmentFlag.AlignLeft, tick_label(t, step))
            for j in range(1, 5):  # minor ticks
                xm = self.view.x_of(t + j * step / 5, w)
                p.drawLine(QPointF(xm, h - 4), QPointF(xm, h))
        del fm


class Timeline(QWidget):
    """Ruler + resizable, reorderable stack of tracks."""

    #: (track) the current track changed
    current_changed = Signal(object)
    #: the set or order of tracks changed
    tracks_changed = Signal()

    def __init__(self, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.ruler = TimeRuler(view)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(3)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.splitter)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.ruler)
        lay.addWidget(self.scroll, 1)
        self._tracks: list[Track] = []
        self._current: Track | None = None
        self.ruler.activated.connect(lambda _t: None)

    # -- tracks ---------------------------------------------------------------------------------
    @property
    def tracks(self) -> list[Track]:
        """In display order (hidden ones included)."""
        return [self.splitter.widget(i) for i in range(self.splitter.count())]  # type: ignore[misc]

    def visible_tracks(self) -> list[Track]:
        return [t for t in self.tracks if not t.isHidden()]

    def add_track(self, track: Track, index: int | None = None) -> Track:
        if index is None or index >= self.splitter.count():
            self.splitter.addWidget(track)
        else:
            self.splitter.insertWidget(index, track)
        self.splitter.setStretchFactor(self.splitter.indexOf(track), 1)
        track.activated.connect(self.set_current)
        track.menu_requested.connect(self._fill_menu)
        self._fit_height()
        self.tracks_changed.emit()
        return track

    def remove_track(self, track: Track) -> None:
        if self.splitter.indexOf(track) < 0:
            return
        if track is self._current:
            self.set_current(None)
        detach = getattr(track, "detach", None)
        if detach is not None:
            detach()
        track.hide()
        track.setParent(None)
        track.deleteLater()
        self._fit_height()
        self.tracks_changed.emit()

    def find(self, track_id: str) -> Track | None:
        for t in self.tracks:
            if t.track_id == track_id:
                return t
        return None

    def move_track(self, track: Track, delta: int) -> None:
        """Move a track `delta` places among the visible tracks (hidden ones are stepped over, so
        "Move up" always moves it on screen)."""
        i = self.splitter.indexOf(track)
        if i < 0 or not delta:
            return
        step = 1 if delta > 0 else -1
        j = i
        for _ in range(abs(delta)):
            k = j + step
            while 0 <= k < self.splitter.count() and self.splitter.widget(k).isHidden():
                k += step
            if not 0 <= k < self.splitter.count():
                break
            j = k
        if i == j:
            return
        sizes = self.splitter.sizes()
        size = sizes.pop(i)
        sizes.insert(j, size)
        self.splitter.insertWidget(j, track)
        self.splitter.setSizes(sizes)
        self.tracks_changed.emit()

    def set_hidden(self, track: Track, hidden: bool) -> None:
        track.setHidden(hidden)
        if hidden and track is self._current:
            self.set_current(None)  # the header loses its highlight, the window hears of it
        self._fit_height()
        self.tracks_changed.emit()

    def set_track_height(self, track: Track, height: int) -> None:
        i = self.splitter.indexOf(track)
        if i < 0:
            return
        sizes = self.splitter.sizes()
        sizes[i] = max(height, track.min_height)
        track.default_height = sizes[i]
        self.splitter.setSizes(sizes)
        self._fit_height()

    def _fit_height(self) -> None:
        # the splitter is as tall as its tracks want; the scroll area scrolls when they do not fit
        total = sum(t.default_height + self.splitter.handleWidth() for t in self.visible_tracks())
        self.splitter.setMinimumHeight(max(total, 10))

    # -- current track --------------------------------------------------------------------------
    @property
    def current(self) -> Track | None:
        return self._current

    def set_current(self, track: Track | None) -> None:
        if track is self._current:
            return
        if self._current is not None:
            self._current.set_current(False)
        self._current = track
        if track is not None:
            track.set_current(True)
            self.scroll.ensureWidgetVisible(track, 0, 0)
        self.current_changed.emit(track)

    def step_current(self, delta: int, kinds: tuple[str, ...] | None = None) -> Track | None:
        """Make the next/previous visible track (of `kinds`) current."""
        ts = [t for t in self.visible_tracks() if kinds is None or t.kind in kinds]
        if not ts:
            return None
        if self._current in ts:
            i = ts.index(self._current) + delta
        else:
            i = 0 if delta > 0 else len(ts) - 1
        track = ts[min(max(i, 0), len(ts) - 1)]
        self.set_current(track)
        return track

    # -- header menu ----------------------------------------------------------------------------
    def _fill_menu(self, track: Track, menu: QMenu) -> None:
        menu.addAction("Move up", lambda: self.move_track(track, -1))
        menu.addAction("Move down", lambda: self.move_track(track, +1))
        menu.addAction("Hide", lambda: self.set_hidden(track, True))
        sizes = menu.addMenu("Height")
        for name, h in (("Small", 40), ("Normal", 80), ("Tall", 160), ("Very tall", 300)):
            sizes.addAction(name, lambda h=h: self.set_track_height(track, h))
        self.add_hidden_menu(menu)

    def add_hidden_menu(self, menu: QMenu) -> None:
        hidden = [t for t in self.tracks if t.isHidden()]
        if hidden:
            sub = menu.addMenu("Show hidden track")
            for t in hidden:
                sub.addAction(t.title, lambda t=t: self.set_hidden(t, False))
