"""Curve tracks: sampled values over time (a model's confidence, pitch, features) as lines.

`CurveTrack` draws one or more curves sharing a time base. Like the waveform, it draws only the
visible slice at screen resolution: the samples in view are found by binary search, and when there
are more than two per pixel column they are reduced to each column's min and max (``np.fmin`` /
``np.fmax.reduceat``: vectorised, and NaN gaps are kept apart from values). A single-sample spike
therefore stays visible at any zoom, and a 1-hour 100 Hz curve costs the same as a 10-second one.
NaN is a gap (unvoiced pitch, no face found): the line breaks there.

* ``style="line"`` — k curves, distinct colours, legend (the names) in the header.
* ``style="confidence"`` — values in 0..1 as a filled area with a threshold line; the part above
  the threshold is filled brighter, so "where is the model sure" reads at a glance.

`CurveTierTrack` shows a `studio.core.tiers.CurveTier` and follows it: it subscribes to the
tier's psygnal signals (`values_changed`, `renamed`) and disconnects in `detach()`, which runs on
close and on `deleteLater()` — a view that outlives its widget must not be called back.
`FeatureTrack` shows some dims of a `studio.media.features.Features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QCloseEvent, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ..core.session import session_time_of
from .timeview import TimeView
from .track import COLORS, HEADER_WIDTH, Track
from .waveform import polygon

__all__ = ["CurveTrack", "CurveTierTrack", "FeatureTrack", "CURVE_COLORS", "reduce_columns"]

#: distinct on the dark canvas, in the order curves get them
CURVE_COLORS = [
    QColor(110, 200, 255),
    QColor(255, 170, 80),
    QColor(150, 225, 120),
    QColor(240, 110, 160),
    QColor(190, 150, 255),
    QColor(255, 225, 90),
    QColor(100, 220, 210),
    QColor(220, 220, 220),
]
STYLES = ("line", "confidence")
MAX_FEATURE_DIMS = 8


def reduce_columns(
    times: np.ndarray, values: np.ndarray, t0: float, t1: float, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of `values` per pixel column of [t0, t1] → a line to draw (x, y-values).

    `times` increasing, `values` (n,). Returns x (column centres, each twice) and the values
    (min then max of that column), so a polyline through them draws each column's range; a
    column whose samples are all NaN gives NaN (a gap).
    """
    cols = np.floor((times - t0) / (t1 - t0) * width)
    np.clip(cols, -1, width, out=cols)  # samples just outside the view keep the line joined
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduceat(values, starts)
        hi = np.fmax.reduceat(values, starts)
    x = np.repeat(cols[starts] + 0.5, 2)
    v = np.stack([lo, hi], axis=1).reshape(-1)
    return x, v


def _runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.r_[0, finite.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


class CurveTrack(Track):
    """Curves over time (see the module doc)."""

    kind = "curve"
    default_height = 70

    def __init__(
        self,
        view: TimeView,
        title: str,
        times: Any = None,
        values: Any = None,
        names: Sequence[str] | None = None,
        y_range: tuple[float, float] | None = None,
        style: str = "line",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(view, title, parent)
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        self.style = style
        self.threshold = 0.5
        self.fixed_range = tuple(map(float, y_range)) if y_range is not None else None
        self.unit = ""
        self.times = np.zeros(0)
        self.values = np.zeros((0, 1))
        self.names: list[str] = []
        self.y_range = (0.0, 1.0)
        #: samples (per curve, summed) the last render drew, after reduction (tests, profiling)
        self.drawn_points = 0
        self._version = 0
        if times is not None and values is not None:
            self.set_data(times, values, names)

    # -- data -----------------------------------------------------------------------------------
    def set_data(self, times: Any, values: Any, names: Sequence[str] | None = None) -> None:
        """`values` (n,) or (n, k) at increasing `times` (n,); k curves, named by `names`."""
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or t.shape != (v.shape[0],):
            raise ValueError(f"{t.shape} times for values of shape {v.shape}; need (n,) and (n,) or (n, k)")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("curve times must increase")
        if names is None:
            names = [self.title] if v.shape[1] == 1 else [str(i + 1) for i in range(v.shape[1])]
        names = [str(n) for n in names]
        if len(names) != v.shape[1]:
            raise ValueError(f"{len(names)} names for {v.shape[1]} curves")
        self.times, self.values, self.names = t, v, names
        self.y_range = self._auto_range()
        self.subtitle = self._legend()
        self._version += 1
        self.invalidate()

    def _legend(self) -> str:
        """The header's subtitle: the curves' names (a lone curve named as the track: its unit)."""
        if len(self.names) > 1:
            text = " · ".join(self.names)
        else:
            text = self.names[0] if self.names and self.names[0] != self.title else ""
        if self.unit:
            text = f"{text} ({self.unit})" if text else self.unit
        return text

    def _auto_range(self) -> tuple[float, float]:
        if self.fixed_range is not None:
            return self.fixed_range
        if self.style == "confidence":
            return (0.0, 1.0)
        finite = self.values[np.isfinite(self.values)]
        if finite.size == 0:
            return (0.0, 1.0)
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.1, 1.0)
        return (lo - pad, hi + pad)

    def set_y_range(self, y_range: tuple[float, float] | None) -> None:
        """Fix the value axis (None: fit the data)."""
        if y_range is not None and not y_range[1] > y_range[0]:
            raise ValueError(f"y range must increase, got {y_range}")
        self.fixed_range = None if y_range is None else (float(y_range[0]), float(y_range[1]))
        self.y_range = self._auto_range()
        self.invalidate()

    def set_threshold(self, threshold: float) -> None:
        """The line drawn across a confidence track (values above it are filled brighter)."""
        self.threshold = float(threshold)
        self.invalidate()

    def set_style(self, style: str) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        self.style = style
        self.y_range = self._auto_range()
        self.invalidate()

    def content_key(self) -> tuple:
        return (self._version, self.style, self.threshold, self.y_range)

    # -- painting -------------------------------------------------------------------------------
    def visible_line(self, k: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """x (canvas px) and values of curve `k` for the current view, reduced to ≤ 2 per column."""
        t0, t1 = self.view.range
        times = self.times
        i0 = max(int(np.searchsorted(times, t0, side="left")) - 1, 0)
        i1 = min(int(np.searchsorted(times, t1, side="right")) + 1, times.size)
        ts, vs = times[i0:i1], self.values[i0:i1, k]
        if ts.size > 2 * width:
            return reduce_columns(ts, vs, t0, t1, width)
        return (ts - t0) / (t1 - t0) * width, vs

    def _y(self, v: np.ndarray, h: int) -> np.ndarray:
        lo, hi = self.y_range
        top, bottom = 3.0, h - 3.0
        return np.clip(bottom - (v - lo) / (hi - lo) * (bottom - top), -2.0, h + 2.0)

    def render_content(self, p: QPainter, width: int, height: int) -> None:
        self.drawn_points = 0
        if self.times.size == 0:
            p.setPen(COLORS["dim"])
            p.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, "no data")
            return
        lo, hi = self.y_range
        if lo < 0 < hi:  # the zero line, as on the waveform
            y0 = float(self._y(np.array(0.0), height))
            p.setPen(QPen(COLORS["grid"], 1))
            p.drawLine(QPointF(0, y0), QPointF(width, y0))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.style == "confidence":
            self._draw_confidence(p, width, height)
        else:
            for k in range(self.values.shape[1]):
                x, v = self.visible_line(k, width)
                self.drawn_points += int(x.size)
                p.setPen(QPen(CURVE_COLORS[k % len(CURVE_COLORS)], 1.4))
                ys = self._y(v, height)
                for a, b in _runs(np.isfinite(v)):
                    if b - a == 1:
                        p.drawPoint(QPointF(float(x[a]), float(ys[a])))
                    else:
                        p.drawPolyline(polygon(x[a:b], ys[a:b]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._draw_axis(p, width, height)

    def _draw_confidence(self, p: QPainter, w: int, h: int) -> None:
        colour = CURVE_COLORS[0]
        x, v = self.visible_line(0, w)
        self.drawn_points += int(x.size)
        ys = self._y(v, h)
        base = float(self._y(np.array(self.y_range[0]), h))
        thr = float(self._y(np.array(self.threshold), h))
        dim, bright = QColor(colour), QColor(colour)
        dim.setAlpha(70)
        bright.setAlpha(170)
        for a, b in _runs(np.isfinite(v)):
            xs = np.r_[x[a], x[a:b], x[b - 1]]
            area = polygon(xs, np.r_[base, ys[a:b], base])
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(dim)
            p.drawPolygon(area)
            p.save()
            p.setClipRect(QRectF(0, 0, w, thr))  # above the threshold: brighter
            p.setBrush(bright)
            p.drawPolygon(area)
            p.restore()
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(colour, 1.2))
            p.drawPolyline(polygon(x[a:b], ys[a:b]))
        pen = QPen(COLORS["accent"], 1, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(0, thr), QPointF(w, thr))
        self._label(p, QRectF(0, thr - 14, w - 4, 13), f"{self.threshold:g}", Qt.AlignmentFlag.AlignRight)

    def _label(self, p: QPainter, rect: QRectF, text: str, align: Qt.AlignmentFlag) -> None:
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() * 0.8, 6))
        p.setFont(f)
        p.setPen(COLORS["dim"])
        p.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, text)

    def _draw_axis(self, p: QPainter, w: int, h: int) -> None:
        lo, hi = self.y_range
        if h < 30:
            return
        self._label(p, QRectF(4, 1, 80, 13), f"{hi:.3g}", Qt.AlignmentFlag.AlignLeft)
        self._label(p, QRectF(4, h - 14, 80, 13), f"{lo:.3g}", Qt.AlignmentFlag.AlignLeft)

    def paint_header(self, p: QPainter, rect: QRect) -> None:
        """The title, then each curve's name in its colour (the legend)."""
        if len(self.names) <= 1 or rect.height() <= 34:
            super().paint_header(p, rect)
            return
        subtitle, self.subtitle = self.subtitle, ""
        try:
            super().paint_header(p, rect)
        finally:
            self.subtitle = subtitle
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() * 0.85, 6))
        p.setFont(f)
        fm = p.fontMetrics()
        x, y = rect.left() + 6, rect.top() + 18
        line = fm.height()
        for k, name in enumerate(self.names):
            text = fm.elidedText(name, Qt.TextElideMode.ElideRight, HEADER_WIDTH - 12)
            tw = fm.horizontalAdvance(text)
            if x + tw > rect.right() - 4 and x > rect.left() + 6:
                x, y = rect.left() + 6, y + line
            if y + line > rect.bottom():
                break
            p.setPen(CURVE_COLORS[k % len(CURVE_COLORS)])
            p.drawText(QPointF(x, y + fm.ascent()), text)
            x += tw + fm.horizontalAdvance("  ")


class CurveTierTrack(CurveTrack):
    """A `CurveTier` of the session, kept up to date through its signals until `detach()`."""

    kind = "curve tier"

    def __init__(
        self,
        view: TimeView,
        tier: Any,
        y_range: tuple[float, float] | None = None,
        style: str = "line",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(view, tier.name, y_range=y_range, style=style, parent=parent)
        self.tier = tier
        self.track_id = tier.name
        self.unit = getattr(tier, "unit", "") or ""
        self._attached = True
        tier.values_changed.connect(self._on_values)
        tier.renamed.connect(self._on_renamed)
        self._load()

    def _load(self) -> None:
        tier = self.tier
        values = tier.values
        names = tier.attrs.get("names") if isinstance(tier.attrs.get("names"), list) else None
        if names is not None and len(names) != (1 if values.ndim == 1 else values.shape[1]):
            names = None
        if names is None and values.ndim == 1:
            names = [tier.name]
        self.set_data(tier.times, values, names)

    def _on_values(self, tier: Any) -> None:
        if shiboken6.isValid(self):
            self._load()

    def _on_renamed(self, tier: Any, old: str) -> None:
        if not shiboken6.isValid(self):
            return
        self.title = tier.name
        self.track_id = tier.name
        if self.names == [old]:
            self.names = [tier.name]
        self.subtitle = self._legend()
        self.update()

    def detach(self) -> None:
        """Stop following the tier (idempotent)."""
        if self._attached:
            self._attached = False
            self.tier.values_changed.disconnect(self._on_values)
            self.tier.renamed.disconnect(self._on_renamed)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.detach()
        super().closeEvent(event)

    def deleteLater(self) -> None:
        self.detach()
        super().deleteLater()


class FeatureTrack(CurveTrack):
    """Some dims of a `Features` (media time + `offset` = session time), as curves."""

    kind = "feature"

    def __init__(
        self,
        view: TimeView,
        features: Any,
        title: str | None = None,
        columns: Sequence[str | int] | None = None,
        *,
        offset: float = 0.0,
        y_range: tuple[float, float] | None = None,
        style: str = "line",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(view, title or features.kind, y_range=y_range, style=style, parent=parent)
        if columns is None:
            columns = list(range(min(features.dims, MAX_FEATURE_DIMS)))
        idx = [features.names.index(c) if isinstance(c, str) else int(c) for c in columns]
        self.features = features
        self.columns = idx
        self.offset = float(offset)
        self.warp: Any = None
        self._show()

    def _show(self) -> None:
        f, idx = self.features, self.columns
        times = session_time_of(f.times, self.offset, self.warp)
        self.set_data(np.asarray(times, dtype=float), f.values[:, idx], [f.names[i] for i in idx])
        if len(idx) < f.dims:
            self.subtitle = f"{len(idx)} of {f.dims} dims · " + self.subtitle

    def set_offset(self, offset: float, warp: Any = None) -> None:
        """Where media time 0 is on the session's time axis (the media's offset or warp changed)."""
        self.offset = float(offset)
        self.warp = warp
        self._show()
