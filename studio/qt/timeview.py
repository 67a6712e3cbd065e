"""The shared time axis: what every track shows (visible range), where the playhead is, what is selected.

One `TimeView` per window. Tracks, the overview bar and the transport read it and change it; it
never touches the session (that goes through commands). Times are session seconds.

* `range` — visible [t0, t1]; kept inside the extent (with a little slack) and at least
  `MIN_SPAN` wide (a few samples at 48 kHz).
* `playhead` — the time the listener hears (the clock drives it during playback).
* `selection` — a time span (t0, t1) or None.
* `follow` — page the view along with the playhead during playback.

Pixel mapping is by width: ``x = (t - t0) / (t1 - t0) * width``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

__all__ = ["TimeView", "MIN_SPAN"]

MIN_SPAN = 1e-3


class TimeView(QObject):
    range_changed = Signal(float, float)
    playhead_changed = Signal(float)
    #: (t0, t1); t1 < t0 (both -1) means no selection
    selection_changed = Signal(float, float)
    extent_changed = Signal(float, float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._extent = (0.0, 10.0)
        self._range = (0.0, 10.0)
        self._playhead = 0.0
        self._selection: tuple[float, float] | None = None
        self.follow = True

    # -- extent ---------------------------------------------------------------------------------
    @property
    def extent(self) -> tuple[float, float]:
        return self._extent

    def set_extent(self, t0: float, t1: float, *, show_all: bool = False) -> None:
        t0, t1 = float(t0), float(t1)
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 - t0 < MIN_SPAN:
            t1 = t0 + max(MIN_SPAN, 1.0)
        if (t0, t1) != self._extent:
            self._extent = (t0, t1)
            self.extent_changed.emit(t0, t1)
        if show_all:
            self.set_range(t0, t1)
        else:
            self.set_range(*self._range)
        # a shorter extent (another session, shorter media) must not leave the playhead or the
        # selection past its end, where nothing shows them and play or "create" would use them
        self.set_playhead(self._playhead)
        if self._selection is not None:
            s0, s1 = max(self._selection[0], t0), min(self._selection[1], t1)
            self.set_selection(s0 if s1 > s0 else None, s1)

    # -- visible range --------------------------------------------------------------------------
    @property
    def range(self) -> tuple[float, float]:
        return self._range

    @property
    def span(self) -> float:
        return self._range[1] - self._range[0]

    def set_range(self, t0: float, t1: float) -> None:
        e0, e1 = self._extent
        full = e1 - e0
        span = min(max(float(t1) - float(t0), MIN_SPAN), full)
        t0 = min(max(float(t0), e0), e1 - span)
        new = (t0, t0 + span)
        if new != self._range:
            self._range = new
            self.range_changed.emit(*new)

    def zoom(self, factor: float, center: float | None = None) -> None:
        """factor > 1 zooms in (shows less time), keeping `center` (default: middle) in place."""
        t0, t1 = self._range
        c = (t0 + t1) / 2 if center is None else float(center)
        span = max((t1 - t0) / factor, MIN_SPAN)
        frac = (c - t0) / (t1 - t0) if t1 > t0 else 0.5
        self.set_range(c - frac * span, c - frac * span + span)

    def pan(self, dt: float) -> None:
        t0, t1 = self._range
        self.set_range(t0 + dt, t1 + dt)

    def show_all(self) -> None:
        self.set_range(*self._extent)

    def center_on(self, t: float) -> None:
        half = self.span / 2
        self.set_range(t - half, t + half)

    def ensure_visible(self, t0: float, t1: float | None = None, margin: float = 0.05) -> None:
        """Scroll (not zoom, unless it cannot fit) so [t0, t1] is in view."""
        t1 = t0 if t1 is None else t1
        v0, v1 = self._range
        span = v1 - v0
        m = margin * span
        if t1 - t0 > span - 2 * m:
            self.set_range(t0 - m, t1 + m)
        elif t0 < v0 + m:
            self.set_range(t0 - m, t0 - m + span)
        elif t1 > v1 - m:
            self.set_range(t1 + m - span, t1 + m)

    # -- playhead -------------------------------------------------------------------------------
    @property
    def playhead(self) -> float:
        return self._playhead

    def set_playhead(self, t: float, *, playing: bool = False) -> None:
        e0, e1 = self._extent
        t = min(max(float(t), e0), e1)
        if t != self._playhead:
            self._playhead = t
            self.playhead_changed.emit(t)
        if playing and self.follow:
            v0, v1 = self._range
            if t > v1 or t < v0:  # page, as ELAN and Praat do, so the view does not crawl
                span = v1 - v0
                self.set_range(t - 0.02 * span, t + 0.98 * span)

    # -- selection ------------------------------------------------------------------------------
    @property
    def selection(self) -> tuple[float, float] | None:
        return self._selection

    def set_selection(self, t0: float | None, t1: float | None = None) -> None:
        if t0 is None or t1 is None or abs(t1 - t0) < 1e-9:
            if self._selection is not None:
                self._selection = None
                self.selection_changed.emit(-1.0, -2.0)
            return
        sel = (min(t0, t1), max(t0, t1))
        if sel != self._selection:
            self._selection = sel
            self.selection_changed.emit(*sel)

    # -- pixels ---------------------------------------------------------------------------------
    def x_of(self, t: float, width: float) -> float:
        t0, t1 = self._range
        return (t - t0) / (t1 - t0) * width

    def t_of(self, x: float, width: float) -> float:
        t0, t1 = self._range
        return t0 + x / max(width, 1) * (t1 - t0)
