"""The spectrogram track: tiles from `SpectrogramService`, computed in jobs, with pitch and intensity.

The track never computes a spectrogram on the UI thread. On every view change (throttled to one
request per 30 ms while the user drags or spins the wheel) it asks the service for the tiles of
the view (`SpectrogramService.request`, about one frame per pixel): tiles already in the service's
cache come back at once and are drawn; the missing ones are computed in **one job per view**,
submitted in the group ``spec:<track id>`` so a newer view cancels the older job ("latest view
wins"). Every request carries a fresh tag; results (and partial results, taken as the job reports
progress) whose tag is no longer the track's are dropped, so a view the user has left never
paints over the current one.

Tiles of the previous zoom level stay on screen under the new ones until the new level covers
the view: zooming shows a blurred picture sharpening, never a black flash.

Colours are computed per render, not per tile: dB values map to a perceptual colormap (magma or
grey) over a dynamic range (70 dB, as Praat) below the *visible* maximum, which needs the whole
view. Mapping a few hundred thousand values with a lookup table is a millisecond; the base class
caches the resulting picture, so playback repaints none of this.

Overlays (both computed in jobs, stale results dropped, each in its own group):

* pitch — `pitch_task(method="yin")` over the visible range plus a margin, only when the view
  is at most 60 s (as Praat: "zoom in to see the analyses"); dots with a Hz scale on the right.
* intensity — `intensity` (Praat's "To Intensity") over the same range, in 5 s chunks so a
  cancel takes effect quickly; a line with a dB scale.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import QWidget

from studio.core.session import media_time_of, session_time_of
from studio.media.spectrogram import TileKey, TileResult, intensity, pitch_task
from studio.tasks.base import Progress, Task

from .jobs import Job, JobRunner
from .timeview import TimeView
from .track import COLORS, Track
from .waveform import polygon

__all__ = ["SpectrogramTrack", "COLORMAPS", "OVERLAY_MAX_SPAN", "PITCH_COLOR", "INTENSITY_COLOR"]

#: magma (matplotlib's, by van der Walt and Smith) sampled at 17 points; linear in between
_MAGMA = [
    (0, 0, 4), (10, 8, 34), (29, 17, 71), (54, 16, 107), (81, 18, 124), (106, 28, 129),
    (131, 38, 129), (156, 46, 127), (183, 55, 121), (207, 64, 112), (229, 80, 100), (244, 105, 92),
    (251, 135, 97), (254, 165, 113), (254, 194, 135), (253, 224, 161), (252, 253, 191),
]  # fmt: skip


def _lut(anchors: list[tuple[int, int, int]]) -> np.ndarray:
    """256 opaque 0xFFRRGGBB colours interpolated through `anchors`."""
    a = np.asarray(anchors, dtype=np.float64)
    pos = np.linspace(0, 255, len(a))
    rgb = [np.round(np.interp(np.arange(256), pos, a[:, c])).astype(np.uint32) for c in range(3)]
    return np.uint32(0xFF000000) | (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]


COLORMAPS = {"magma": _lut(_MAGMA), "grey": _lut([(0, 0, 0), (255, 255, 255)])}
PITCH_COLOR = QColor(70, 200, 255)
INTENSITY_COLOR = QColor(140, 255, 120)
#: pitch and intensity are computed only for views at most this long (seconds)
OVERLAY_MAX_SPAN = 60.0
_INTENSITY_CHUNK_S = 5.0


class _Batch:
    """Tiles a job has finished so far; the worker adds, the UI thread takes (under a lock)."""

    def __init__(self, tag: Any) -> None:
        self.tag = tag
        self._lock = threading.Lock()
        self._new: list[TileResult] = []

    def add(self, result: TileResult) -> None:
        with self._lock:
            self._new.append(result)

    def take(self) -> list[TileResult]:
        with self._lock:
            new, self._new = self._new, []
        return new


def _tiles_task(svc: Any, keys: list[TileKey], tag: Any, batch: _Batch) -> Task[tuple[Any, list[TileResult]]]:
    done = []
    for i, key in enumerate(keys):
        result = yield from svc.tile_task(key, tag)
        batch.add(result)
        done.append(result)
        yield Progress((i + 1) / len(keys), f"spectrogram tiles {i + 1}/{len(keys)}")
    return tag, done


def _tagged(tag: Any, task: Task[Any]) -> Task[tuple[Any, Any]]:
    result = yield from task
    return tag, result


def _intensity_task(source: Any, a: float, b: float, tag: Any) -> Task[tuple[Any, Any]]:
    times: list[np.ndarray] = []
    values: list[np.ndarray] = []
    last = -np.inf
    c = a
    while c < b:
        d = min(b, c + _INTENSITY_CHUNK_S)
        t, db = intensity(source, c, d)
        keep = t > last + 1e-9  # chunk ends share their boundary frame
        times.append(t[keep])
        values.append(db[keep])
        if t.size:
            last = float(t[-1])
        yield Progress((d - a) / max(b - a, 1e-9), "intensity")
        c = d
    if not times:
        return tag, (np.zeros(0), np.zeros(0))
    return tag, (np.concatenate(times), np.concatenate(values))


def _covers(have: tuple[float, float] | None, a: float, b: float) -> bool:
    return have is not None and have[0] <= a + 1e-6 and have[1] >= b - 1e-6


def _nice_ticks(lo: float, hi: float, pixels: float, min_gap: float = 18.0) -> np.ndarray:
    """Round values in [lo, hi] at least `min_gap` pixels apart on a `pixels`-long linear axis."""
    span = hi - lo
    if span <= 0 or pixels <= 0:
        return np.zeros(0)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000):
        if step / span * pixels >= min_gap:
            break
    first = np.ceil(lo / step) * step
    return np.arange(first, hi + step * 1e-6, step)


class SpectrogramTrack(Track):
    """Spectrogram of one audio stream with optional pitch and intensity (see the module doc)."""

    kind = "spectrogram"
    default_height = 160

    #: new tiles arrived and the picture was invalidated
    tiles_changed = Signal()
    #: a pitch or intensity result arrived
    overlays_changed = Signal()

    def __init__(
        self,
        view: TimeView,
        title: str,
        runner: JobRunner,
        service: Any = None,
        parent: QWidget | None = None,
        *,
        offset: float = 0.0,
        colormap: str = "magma",
    ) -> None:
        super().__init__(view, title, parent)
        self.runner = runner
        self.service: Any = None
        self.offset = float(offset)
        self.warp: Any = None  # the media's WarpPath (MediaRef.warp)
        self.max_freq = 8000.0
        self.dynamic_range = 70.0
        self.colormap = colormap
        self._lut = COLORMAPS[colormap]
        self.show_pitch = False
        self.show_intensity = False
        self.pitch_range = (75.0, 500.0)
        self.intensity_range = (40.0, 100.0)
        self._serial = itertools.count(1)
        self._reset_state()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self.refresh)
        self._detached = False
        if service is not None:
            self.set_service(service)
        else:
            self._update_subtitle()

    def _reset_state(self) -> None:
        self.tiles: dict[TileKey, TileResult] = {}
        self.tag: Any = None
        self.level = 0
        self.keys: list[TileKey] = []
        self.tile_job: Job | None = None
        self._batch: _Batch | None = None
        #: results that arrived for a view already left, and were not drawn
        self.stale_dropped = 0
        #: keys of the tiles the last render drew (current level last)
        self.drawn_keys: list[TileKey] = []
        self.pitch: tuple[np.ndarray, np.ndarray] | None = None  # (media times, f0 Hz, NaN unvoiced)
        self.pitch_job: Job | None = None
        self._pitch_have: tuple[float, float] | None = None
        self._pitch_want: tuple[float, float] | None = None
        self._pitch_tag: Any = None
        self.intensity: tuple[np.ndarray, np.ndarray] | None = None  # (media times, dB)
        self.intensity_job: Job | None = None
        self._int_have: tuple[float, float] | None = None
        self._int_want: tuple[float, float] | None = None
        self._int_tag: Any = None
        self.overlay_error = ""
        #: why the tiles of the current view could not be computed (drawn instead of the picture)
        self.tile_error = ""

    # -- settings -------------------------------------------------------------------------------
    def _cancel_jobs(self) -> None:
        for job in (self.tile_job, self.pitch_job, self.intensity_job):
            if job is not None and job.active:
                job.cancel()

    def detach(self) -> None:
        """The track is going away (the timeline calls this before deleting it): cancel its jobs
        and request nothing more, so no worker computes for a track nobody sees."""
        self._detached = True
        self._timer.stop()
        self._cancel_jobs()

    def set_service(self, svc: Any) -> None:
        """Show the spectrogram of `svc` (a `SpectrogramService`; None clears the track)."""
        self._cancel_jobs()
        self._reset_state()
        self.service = svc
        self._update_subtitle()
        self.refresh()

    def set_max_freq(self, hz: float) -> None:
        """Top of the frequency axis (Hz; clipped to the analysis Nyquist frequency)."""
        if hz <= 0:
            raise ValueError(f"max frequency must be positive, got {hz}")
        self.max_freq = float(hz)
        self._update_subtitle()
        self.invalidate()

    def set_dynamic_range(self, db: float) -> None:
        if db <= 0:
            raise ValueError(f"dynamic range must be positive, got {db}")
        self.dynamic_range = float(db)
        self._update_subtitle()
        self.invalidate()

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise ValueError(f"unknown colormap {name!r} (have {', '.join(COLORMAPS)})")
        self.colormap, self._lut = name, COLORMAPS[name]
        self.invalidate()

    def set_offset(self, offset: float, warp: Any = None) -> None:
        """Where media time 0 is on the session's time axis (seconds), and the media's warp if any
        (`MediaRef.warp`; drawn linearly between the visible ends)."""
        self.offset = float(offset)
        self.warp = warp
        self.invalidate()
        self._schedule()

    def set_show_pitch(self, show: bool) -> None:
        self.show_pitch = bool(show)
        if not show and self.pitch_job is not None and self.pitch_job.active:
            self.pitch_job.cancel()
            self._pitch_want = None
        self.invalidate()
        self._schedule()

    def set_show_intensity(self, show: bool) -> None:
        self.show_intensity = bool(show)
        if not show and self.intensity_job is not None and self.intensity_job.active:
            self.intensity_job.cancel()
            self._int_want = None
        self.invalidate()
        self._schedule()

    def _fmax(self) -> float:
        if self.service is None:
            return self.max_freq
        return min(self.max_freq, self.service.params.rate / 2)

    def _update_subtitle(self) -> None:
        if self.service is None:
            self.subtitle = ""
            return
        params = self.service.params
        axis = "mel · " if params.kind == "mel" else "0–"
        self.subtitle = f"{axis}{self._fmax() / 1000:g} kHz · {self.dynamic_range:g} dB"

    # -- requests -------------------------------------------------------------------------------
    def _media_range(self) -> tuple[float, float]:
        t0, t1 = self.view.range
        return media_time_of(t0, self.offset, self.warp), media_time_of(t1, self.offset, self.warp)

    def _on_range(self, t0: float, t1: float) -> None:
        super()._on_range(t0, t1)
        self._schedule()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._schedule()

    def _schedule(self) -> None:
        """Throttle: at most one request per 30 ms, for the latest view when the timer fires."""
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        """Request the tiles (and overlays) of the current view now."""
        self._timer.stop()
        svc = self.service
        if svc is None or self._detached or self.runner.closed:
            return
        a, b = self._media_range()
        tag = (id(self), next(self._serial))
        req = svc.request(a, b, tag, pixels=self.canvas_width())
        self.tag, self.level, self.keys = tag, req.level, list(req.keys)
        self.tile_error = ""
        for r in req.ready:
            self.tiles[r.key] = r
        self._prune()
        if req.missing:
            batch = _Batch(tag)
            self._batch = batch
            self.tile_job = self.runner.submit(
                _tiles_task(svc, list(req.missing), tag, batch),
                name=f"spectrogram of {self.title}",
                group=f"spec:{id(self)}",
                on_result=self._on_tiles,
                on_error=self._on_tile_error,
                on_progress=self._on_tile_progress,
            )
        else:
            self._batch = None
            if self.tile_job is not None and self.tile_job.active:
                self.tile_job.cancel()  # everything is cached: the older view's job is useless
        self._request_overlays(a, b)
        self.invalidate()

    def _on_tiles(self, result: tuple[Any, list[TileResult]]) -> None:
        tag, results = result
        if tag != self.tag:
            self.stale_dropped += 1
            return
        self._batch = None
        self.tile_error = ""
        for r in results:
            self.tiles[r.key] = r
        self._prune()
        self.invalidate()
        self.tiles_changed.emit()

    def _on_tile_error(self, message: str, _traceback: str) -> None:
        if self.sender() is not self.tile_job or self._batch is None:  # a job of a view left behind
            self.stale_dropped += 1
            return
        self.tile_error = message
        self.invalidate()
        self.tiles_changed.emit()

    def _on_tile_progress(self, _progress: Progress) -> None:
        batch = self._batch
        if batch is None or batch.tag != self.tag:
            return
        new = batch.take()
        if new:
            for r in new:
                self.tiles[r.key] = r
            self.invalidate()
            self.tiles_changed.emit()

    def _prune(self) -> None:
        """Keep the current level near the view, other levels only until the current one covers it."""
        a, b = self._media_range()
        span = b - a
        complete = all(k in self.tiles for k in self.keys)
        keep = {}
        for k, r in self.tiles.items():
            if k.level == self.level:
                if r.t1 > a - span and r.t0 < b + span:
                    keep[k] = r
            elif not complete and r.t1 > a and r.t0 < b:
                keep[k] = r
        self.tiles = keep

    def _request_overlays(self, a: float, b: float) -> None:
        svc = self.service
        if svc is None or b - a > OVERLAY_MAX_SPAN or not (self.show_pitch or self.show_intensity):
            return
        dur = svc.duration
        a, b = max(a, 0.0), min(b, dur)
        if b <= a:
            return
        margin = max(0.5, 0.25 * (b - a))
        want = (max(0.0, a - margin), min(dur, b + margin))
        if self.show_pitch and not _covers(self._pitch_have, a, b) and not _covers(self._pitch_want, a, b):
            tag = (id(self), next(self._serial))
            self._pitch_tag, self._pitch_want = tag, want
            self.pitch_job = self.runner.submit(
                _tagged(tag, pitch_task(svc.source, *want, method="yin")),
                name=f"pitch of {self.title}",
                group=f"pitch:{id(self)}",
                on_result=self._on_pitch,
                on_error=self._on_overlay_error,
            )
        if self.show_intensity and not _covers(self._int_have, a, b) and not _covers(self._int_want, a, b):
            tag = (id(self), next(self._serial))
            self._int_tag, self._int_want = tag, want
            self.intensity_job = self.runner.submit(
                _intensity_task(svc.source, *want, tag),
                name=f"intensity of {self.title}",
                group=f"intensity:{id(self)}",
                on_result=self._on_intensity,
                on_error=self._on_overlay_error,
            )

    def _on_pitch(self, result: tuple[Any, Any]) -> None:
        tag, (times, f0, _prob) = result
        if tag != self._pitch_tag:
            self.stale_dropped += 1
            return
        self.pitch, self._pitch_have, self._pitch_want = (times, f0), self._pitch_want, None
        self.invalidate()
        self.overlays_changed.emit()

    def _on_intensity(self, result: tuple[Any, Any]) -> None:
        tag, (times, db) = result
        if tag != self._int_tag:
            self.stale_dropped += 1
            return
        self.intensity, self._int_have, self._int_want = (times, db), self._int_want, None
        self.invalidate()
        self.overlays_changed.emit()

    def _on_overlay_error(self, message: str, _traceback: str) -> None:
        self.overlay_error = message
        self._pitch_want = self._int_want = None
        self.invalidate()

    # -- painting -------------------------------------------------------------------------------
    def _rows(self, freqs: np.ndarray) -> int:
        """How many bins (from the bottom) are at or below the top of the axis."""
        return int(min(max(np.searchsorted(freqs, self._fmax(), side="right"), 2), freqs.size))

    def _freq_y(self, f: np.ndarray | float, freqs: np.ndarray, rows: int, h: float) -> np.ndarray:
        """y of frequency f: linear in Hz for an STFT, one row per band for a mel spectrogram."""
        f = np.asarray(f, dtype=np.float64)
        if self.service is not None and self.service.params.kind == "mel":
            return h * (1.0 - (np.interp(f, freqs[:rows], np.arange(rows)) + 0.5) / rows)
        return h * (1.0 - f / self._fmax())

    def render_content(self, p: QPainter, width: int, height: int) -> None:
        self.drawn_keys = []
        svc = self.service
        if svc is None:
            self._text(p, QRectF(0, 0, width, height), "no spectrogram", Qt.AlignmentFlag.AlignCenter)
            return
        a, b = self._media_range()
        visible = [r for r in self.tiles.values() if r.t1 > a and r.t0 < b]
        if visible:
            self._draw_tiles(p, visible, a, b, width, height)
        elif self.keys:
            text = (
                f"cannot compute the spectrogram: {self.tile_error}"
                if self.tile_error
                else "computing spectrogram…"
            )
            self._text(p, QRectF(0, 0, width, height), text, Qt.AlignmentFlag.AlignCenter)
        right = 4.0
        if self.show_pitch or self.show_intensity:
            if b - a > OVERLAY_MAX_SPAN:
                self._text(
                    p,
                    QRectF(0, 2, width - 6, 14),
                    f"zoom in to ≤ {OVERLAY_MAX_SPAN:g} s for pitch/intensity",
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                )
            else:
                if self.show_intensity:
                    right = self._draw_intensity(p, a, b, width, height, right)
                if self.show_pitch:
                    self._draw_pitch(p, a, b, width, height, right)
                if self.overlay_error:
                    self._text(
                        p, QRectF(0, 2, width - 6, 14), self.overlay_error, Qt.AlignmentFlag.AlignRight
                    )
        self._draw_freq_axis(p, height)

    def _draw_tiles(self, p: QPainter, visible: list[TileResult], a: float, b: float, w: int, h: int) -> None:
        current = [r for r in visible if r.key.level == self.level]
        # coarser fallbacks first, finer over them, the current level on top
        others = sorted((r for r in visible if r.key.level != self.level), key=lambda r: -r.key.level)
        freqs = visible[0].freqs
        rows = self._rows(freqs)
        vmax = -np.inf
        for r in current or visible:
            j0, j1 = np.searchsorted(r.times, [a - r.hop_s / 2, b + r.hop_s / 2])
            if j1 > j0:
                vmax = max(vmax, float(r.db[:rows, j0:j1].max()))
        floor = self.service.params.floor_db
        vmax = max(vmax, floor + self.dynamic_range)  # digital silence stays black
        lo = vmax - self.dynamic_range
        gain = 255.0 / self.dynamic_range
        if self.service.params.kind == "mel":
            y0, y1 = 0.0, float(h)
        else:
            df = float(freqs[1] - freqs[0]) if freqs.size > 1 else 1.0
            y0 = float(self._freq_y(freqs[rows - 1] + df / 2, freqs, rows, h))
            y1 = float(self._freq_y(freqs[0] - df / 2, freqs, rows, h))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        w_s = (b - a) / max(w, 1)
        for r in others + _joined(current):
            # the visible frames, plus one each side for the interpolation at the edges
            j0, j1 = np.searchsorted(r.times, [a - r.hop_s - w_s, b + r.hop_s + w_s])
            j0, j1 = max(int(j0) - 1, 0), min(int(j1) + 1, r.times.size)
            if j1 <= j0:
                continue
            idx = np.clip((r.db[rows - 1 :: -1, j0:j1] - lo) * gain, 0, 255).astype(np.uint8)
            argb = np.ascontiguousarray(self._lut[idx])
            img = QImage(argb.data, j1 - j0, rows, (j1 - j0) * 4, QImage.Format.Format_RGB32)
            x0 = self.view.x_of(session_time_of(float(r.times[j0]) - r.hop_s / 2, self.offset, self.warp), w)
            x1 = self.view.x_of(
                session_time_of(float(r.times[j1 - 1]) + r.hop_s / 2, self.offset, self.warp), w
            )
            p.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), img, QRectF(0, 0, j1 - j0, rows))
            self.drawn_keys.extend(getattr(r, "keys", [r.key]))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)

    def _small_font(self, p: QPainter) -> None:
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() * 0.8, 6))
        p.setFont(f)

    def _text(
        self, p: QPainter, rect: QRectF, text: str, align: Qt.AlignmentFlag, color: QColor | None = None
    ) -> None:
        """Text with a dark shadow, readable over any colour of the spectrogram."""
        self._small_font(p)
        p.setPen(QColor(0, 0, 0, 200))
        p.drawText(rect.translated(1, 1), align, text)
        p.setPen(color or COLORS["text"])
        p.drawText(rect, align, text)

    def _draw_freq_axis(self, p: QPainter, h: int) -> None:
        if self.service is None:
            return
        freqs = self.service.params.freqs
        rows = self._rows(freqs)
        fmax = self._fmax()
        ticks = _nice_ticks(0.0, fmax, h, 26.0)
        last_y = -100.0
        for f in ticks[:0:-1]:  # from the top down, skipping labels that would touch (mel axis)
            y = float(self._freq_y(f, freqs, rows, h))
            if y - last_y < 15:
                continue
            last_y = y
            p.setPen(QPen(COLORS["text"], 1))
            p.drawLine(QPointF(0, y), QPointF(4, y))
            label = f"{f / 1000:g} kHz" if f == ticks[-1] else f"{f / 1000:g}k"
            top = min(max(y - 7, 0.0), h - 14.0)
            self._text(
                p, QRectF(6, top, 80, 14), label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            )

    def _scale(
        self, p: QPainter, lo: float, hi: float, unit: str, color: QColor, w: int, h: int, right: float
    ) -> float:
        """A value scale along the right edge, ending `right` px from it; returns its left edge."""
        label_w = 46.0
        x = w - right
        ticks = _nice_ticks(lo, hi, h, 30.0)
        for v in ticks:
            y = h * (1.0 - (v - lo) / (hi - lo))
            p.setPen(QPen(color, 1))
            p.drawLine(QPointF(x - 4, y), QPointF(x, y))
            top = min(max(y - 7, 0.0), h - 14.0)
            text = f"{v:g} {unit}" if v == ticks[-1] else f"{v:g}"
            self._text(p, QRectF(x - 6 - label_w, top, label_w, 14), text, Qt.AlignmentFlag.AlignRight, color)
        return right + label_w + 8

    def _draw_pitch(self, p: QPainter, a: float, b: float, w: int, h: int, right: float) -> None:
        lo, hi = self.pitch_range
        if self.pitch is not None:
            times, f0 = self.pitch
            keep = np.isfinite(f0) & (times >= a) & (times <= b) & (f0 >= lo) & (f0 <= hi)
            if keep.any():
                xs = (times[keep] - a) / (b - a) * w
                ys = h * (1.0 - (f0[keep] - lo) / (hi - lo))
                pen = QPen(PITCH_COLOR, 3.5)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                p.setPen(pen)
                p.drawPoints(polygon(xs, ys))
                p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._scale(p, lo, hi, "Hz", PITCH_COLOR, w, h, right)

    def _draw_intensity(self, p: QPainter, a: float, b: float, w: int, h: int, right: float) -> float:
        lo, hi = self.intensity_range
        if self.intensity is not None:
            times, db = self.intensity
            i0, i1 = np.searchsorted(times, [a, b])
            i0, i1 = max(int(i0) - 1, 0), min(int(i1) + 1, times.size)
            if i1 - i0 >= 2:
                xs = (times[i0:i1] - a) / (b - a) * w
                ys = np.clip(h * (1.0 - (db[i0:i1] - lo) / (hi - lo)), -2.0, h + 2.0)
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                p.setPen(QPen(INTENSITY_COLOR, 1.6))
                p.drawPolyline(polygon(xs, ys))
                p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        return self._scale(p, lo, hi, "dB", INTENSITY_COLOR, w, h, right)


class _Joined:
    """Neighbouring tiles of one level as one image: smoothing then never sees a tile edge, so
    there is no seam where two tiles meet (each tile scaled on its own blends its edge column)."""

    def __init__(self, run: list[TileResult]) -> None:
        self.keys = [r.key for r in run]
        self.key = run[0].key
        self.times = np.concatenate([r.times for r in run])
        self.db = np.concatenate([r.db for r in run], axis=1)
        self.hop_s = run[0].hop_s
        self.freqs = run[0].freqs


def _joined(tiles: list[TileResult]) -> list[Any]:
    out: list[Any] = []
    run: list[TileResult] = []
    for r in sorted(tiles, key=lambda r: r.key.index):
        if run and r.key.index != run[-1].key.index + 1:
            out.append(_Joined(run) if len(run) > 1 else run[0])
            run = []
        run.append(r)
    if run:
        out.append(_Joined(run) if len(run) > 1 else run[0])
    return out
