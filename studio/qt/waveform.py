"""The waveform track: one channel of an audio stream, drawn from its min/max envelope.

A repaint never touches the signal: it asks the `Envelope` (studio.media.envelope) for one
min/max pair per *device* pixel column of the visible range (`Envelope.query`), a slice of a
precomputed pyramid, and paints those columns straight into a numpy ARGB buffer that becomes a
QImage — no per-column Python loop, no QPainter path of thousands of segments. A 1000-pixel view of
a 2-hour envelope renders in about a millisecond (query and image together; see the report of
issue 4), so the cached picture of the `Track` base can be thrown away on every zoom or pan.

Zoomed in far enough that the envelope hands back the samples themselves (at most two per
column), the track draws them as a polyline, and as dots once a sample is ~8 pixels wide, as Praat
and Audacity do, so the user sees where the samples are.

* Vertical zoom is a `gain` (Alt+wheel on the track, or `set_gain`); the zero line stays.
* Columns that reach full scale (the recording clipped) are drawn in a warning colour.
* Until the envelope exists (it is built in a job) the canvas says "loading waveform…".
* `offset` places the stream on session time (``session = media + offset``, as `MediaRef`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF, QWheelEvent
from PySide6.QtWidgets import QWidget

from ..core.session import media_time_of
from .timeview import TimeView
from .track import COLORS, Track

__all__ = ["WaveformTrack", "polygon", "argb", "CLIP_LEVEL", "WARNING_COLOR"]

#: |value| at or above this counts as clipped (int16 full scale is 32767/32768)
CLIP_LEVEL = 0.999
WARNING_COLOR = QColor(255, 120, 50)
MIN_GAIN, MAX_GAIN = 0.05, 1000.0
DOT_PIXELS = 8.0  # draw sample dots once a sample is this many pixels wide


def argb(color: QColor) -> int:
    """`color` as a premultiplied 0xAARRGGBB integer for numpy-painted images."""
    a = color.alpha()
    return (
        (a << 24)
        | ((color.red() * a // 255) << 16)
        | ((color.green() * a // 255) << 8)
        | (color.blue() * a // 255)
    )


def polygon(xs: np.ndarray, ys: np.ndarray) -> QPolygonF:
    """A QPolygonF of the points (xs, ys), filled through its buffer (no QPointF per point)."""
    n = int(xs.size)
    poly = QPolygonF()
    poly.resize(n)
    if n:
        buf = np.frombuffer(shiboken6.VoidPtr(poly.data(), n * 16, True), dtype=np.float64).reshape(n, 2)
        buf[:, 0] = xs
        buf[:, 1] = ys
    return poly


class WaveformTrack(Track):
    """One channel of an audio stream (see the module doc)."""

    kind = "waveform"
    default_height = 90

    def __init__(
        self,
        view: TimeView,
        title: str,
        envelope: Any = None,
        channel: int = 0,
        parent: QWidget | None = None,
        *,
        offset: float = 0.0,
    ) -> None:
        super().__init__(view, title, parent)
        self.envelope: Any = None
        self.channel = int(channel)
        self.offset = float(offset)
        self.warp: Any = None  # the media's WarpPath (MediaRef.warp), drawn linearly across the view
        self.gain = 1.0
        self.message = "loading waveform…"
        #: what the last render drew: "empty", "columns" or "samples" (tests, status)
        self.mode = "empty"
        if envelope is not None:
            self.set_envelope(envelope)

    # -- state ----------------------------------------------------------------------------------
    def set_envelope(self, env: Any) -> None:
        """Show `env` (an `Envelope`); None goes back to the message ("loading waveform…")."""
        if env is not None and not 0 <= self.channel < env.channels:
            raise ValueError(f"channel {self.channel} does not exist ({env.channels} channel(s))")
        self.envelope = env
        if env is None:
            self.subtitle = ""
        else:
            rate = f"{env.sample_rate / 1000:.3g} kHz"
            chan = f"ch {self.channel + 1}" + (f" of {env.channels}" if env.channels > 1 else "")
            self.subtitle = f"{chan} · {rate}"
        self.invalidate()

    def set_message(self, text: str) -> None:
        """What the canvas says while there is no envelope (e.g. why it could not be built)."""
        self.message = text
        if self.envelope is None:
            self.invalidate()

    def set_gain(self, gain: float) -> None:
        """Vertical zoom: 1 shows full scale at the track's edges, 2 shows ±0.5, ..."""
        gain = min(max(float(gain), MIN_GAIN), MAX_GAIN)
        if gain != self.gain:
            self.gain = gain
            self.invalidate()

    def set_offset(self, offset: float, warp: Any = None) -> None:
        self.offset = float(offset)
        self.warp = warp
        self.invalidate()

    def content_key(self) -> tuple:
        return (id(self.envelope), self.channel, self.gain, self.offset, id(self.warp), self.message)

    # -- input ----------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.AltModifier:
            d = event.angleDelta()  # some platforms turn Alt+wheel into a horizontal wheel
            steps = (d.y() or d.x()) / 120.0
            if steps:
                self.set_gain(self.gain * 1.25**steps)
            event.accept()
            return
        super().wheelEvent(event)

    # -- painting -------------------------------------------------------------------------------
    def render_content(self, p: QPainter, width: int, height: int) -> None:
        mid = height / 2
        env = self.envelope
        if env is None:
            self.mode = "empty"
            p.setPen(COLORS["dim"])
            p.drawText(QRectF(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        p.setPen(QPen(COLORS["grid"], 1))
        p.drawLine(QPointF(0, mid), QPointF(width, mid))
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        t0, t1 = self.view.range
        q0, q1 = media_time_of(t0, self.offset, self.warp), media_time_of(t1, self.offset, self.warp)
        cols = max(1, round(width * dpr))
        times, values = env.query(q0, q1, cols, self.channel)
        half = max(height / 2 - 2, 1.0)
        scale = self.gain * half
        if times.size == 0:
            self.mode = "empty"
        elif times.size < 2 or times[1] != times[0]:  # samples themselves (strictly increasing)
            self.mode = "samples"
            self._draw_samples(p, times, values, q0, q1, width, mid, scale, env.sample_rate)
        else:  # min/max pairs, one per column (each time repeated)
            self.mode = "columns"
            self._draw_columns(p, times, values, q0, q1, cols, dpr, height, scale)
        if self.gain != 1.0:
            f = QFont(self.font())
            f.setPointSizeF(max(f.pointSizeF() * 0.8, 6))
            p.setFont(f)
            p.setPen(COLORS["dim"])
            p.drawText(
                QRectF(0, 1, width - 4, 14),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                f"×{self.gain:.3g}  ±{1 / self.gain:.2g}",
            )

    def _draw_columns(
        self,
        p: QPainter,
        times: np.ndarray,
        values: np.ndarray,
        q0: float,
        q1: float,
        cols: int,
        dpr: float,
        height: int,
        scale: float,
    ) -> None:
        """Each column's [min, max] as a vertical bar, painted into a numpy ARGB image."""
        rows = max(1, round(height * dpr))
        mid = rows / 2
        s = scale * dpr
        x = np.floor((times[::2] - q0) / (q1 - q0) * cols).astype(np.int64)
        np.clip(x, 0, cols - 1, out=x)
        mins, maxs = values[0::2], values[1::2]
        top = np.clip(np.floor(mid - maxs * s), 0, rows - 1).astype(np.int32)
        bottom = np.clip(np.floor(mid - mins * s), 0, rows - 1).astype(np.int32)
        np.maximum(bottom, top, out=bottom)  # at least one pixel of ink per column
        r = np.arange(rows, dtype=np.int32)[:, None]
        ink = (r >= top[None, :]) & (r <= bottom[None, :])
        # only the clipped end of a column is marked: a whole orange column reads as a second playhead
        band = max(2, round(3 * dpr))
        clipped = ((maxs >= CLIP_LEVEL)[None, :] & (r < top[None, :] + band)) | (
            (mins <= -CLIP_LEVEL)[None, :] & (r > bottom[None, :] - band)
        )
        colour = np.where(clipped, np.uint32(argb(WARNING_COLOR)), np.uint32(argb(COLORS["wave"])))
        buf = np.zeros((rows, cols), np.uint32)
        buf[:, x] = np.where(ink, colour, np.uint32(0))
        img = QImage(buf.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(dpr)
        p.drawImage(QPointF(0, 0), img)  # buf stays alive until here

    def _draw_samples(
        self,
        p: QPainter,
        times: np.ndarray,
        values: np.ndarray,
        q0: float,
        q1: float,
        width: int,
        mid: float,
        scale: float,
        rate: int,
    ) -> None:
        """The samples as a polyline, with dots when a sample is wide enough to point at."""
        xs = (times - q0) / (q1 - q0) * width
        ys = np.clip(mid - values.astype(np.float64) * scale, -2.0, 2 * mid + 2)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(COLORS["wave"], 1.3))
        p.drawPolyline(polygon(xs, ys))
        pixels_per_sample = width / max((q1 - q0) * rate, 1e-9)
        clipped = np.abs(values) >= CLIP_LEVEL
        if pixels_per_sample >= DOT_PIXELS:
            pen = QPen(COLORS["wave"], 4.5)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawPoints(polygon(xs[~clipped], ys[~clipped]))
        if clipped.any():
            pen = QPen(WARNING_COLOR, 4.5 if pixels_per_sample >= DOT_PIXELS else 3.0)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawPoints(polygon(xs[clipped], ys[clipped]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def pixels_per_sample(self) -> float:
        """How wide one sample is on screen now (0 without an envelope)."""
        if self.envelope is None:
            return 0.0
        return self.canvas_width() / max(self.view.span * self.envelope.sample_rate, 1e-9)
