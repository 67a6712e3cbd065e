"""The video pane: every video of the session, side by side, showing the frame at the playhead.

`VideoPane(view)` holds one `VideoPanel` per video (`add_video(name, source, offset)`), laid out in a
row, or a grid when there are more than two. Each panel follows ``view.playhead_changed``: session
time t shows frame ``source.index_at(t - offset)`` (``session_time = media_time + offset``, as in
`studio.core.session.MediaRef`); before the video's first frame or after its end the panel is black
with a note saying so.

Why it is built this way:

* **Decoding never runs on the UI thread.** A seek costs 50-260 ms (a GOP decoded forward), so
  each panel owns one decoder thread with a *latest request wins* slot: while a frame decodes, newer
  requests overwrite the pending one (counted in `frames_skipped`), so a scrub through an hour of
  video decodes a handful of frames and always ends on the frame under the playhead. The frame comes
  back through a result slot and a posted event; the UI thread only draws it. The job pool (`studio.qt.jobs`) is
  not used: frames must never wait behind a spectrogram tile, and one thread per video keeps each
  `VideoSource`'s decoder sequential, which is what makes its read-ahead work during playback.
* **No work for nothing.** A request for the frame already on screen (or already asked for) is
  dropped: at 60 playhead updates a second over 25 fps video, most updates cost a `searchsorted`.
* **Decode less when the panel is small.** When the panel shows the video at half its size or less,
  frames are decoded at a reduced ``scale`` (1/2, 1/4, 1/8: a few fixed steps, so resizing does not
  thrash the frame cache).
* **Threads end with the pane.** `shutdown()` (also run by `closeEvent`) stops and joins every
  decoder thread; the pane does not own the `VideoSource` objects (the window does, and closes them).

Benchmarks and tests read `panel.shown_index`, `panel.shown_time` (media time of the frame on screen),
`panel.shown_frame` (its RGB array), and the counters `panel.frames_requested` (handed to the decoder),
`panel.frames_shown` and `panel.frames_skipped` (requested, then superseded before being shown).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QCloseEvent, QColor, QFont, QImage, QPainter, QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.session import media_time_of, session_time_of
from studio.media.video import VideoSource

from .timeview import TimeView
from .track import COLORS
from .transport import format_time

__all__ = ["VideoPane", "VideoPanel", "SCALES", "THREAD_PREFIX"]

#: decode scales tried, largest first: the smallest one still at least as large as the panel is used
SCALES = (1.0, 0.5, 0.25, 0.125)
#: decoder threads are named "<THREAD_PREFIX><video name>" (tests check none is left running)
THREAD_PREFIX = "studio-video "
_CAPTION_H = 18
_TOLERANCE = 1e-6  # seconds, as in studio.media.video
_FRAME_EVENT = QEvent.Type(QEvent.registerEventType())  # "a decoded frame is waiting"


class _FrameDecoder:
    """One thread decoding frames of one source, with one slot each way where the latest wins.

    `request` overwrites the waiting request; the decoded frame goes into a result slot (a frame
    the UI thread has not taken yet is overwritten too) and a `QEvent` posted to `receiver` tells
    the UI thread to `take` it. Events rather than a Qt signal: ``postEvent`` is thread-safe, needs
    no QThread, and one event stands for any number of frames decoded while the UI thread was busy.
    """

    def __init__(self, source: VideoSource, name: str, receiver: QObject) -> None:
        self._source = source
        self._receiver = receiver
        self._cond = threading.Condition()
        self._pending: tuple[int, int, float] | None = None  # (seq, index, scale)
        self._result: tuple[int, int, float, Any, Any, str] | None = None
        self._overwritten = 0  # results replaced before the UI thread took them
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"{THREAD_PREFIX}{name}", daemon=True)
        self._thread.start()

    def request(self, seq: int, index: int, scale: float) -> bool:
        """Ask for frame `index`; True when this replaced a request that was still waiting."""
        with self._cond:
            superseded = self._pending is not None
            self._pending = (seq, index, scale)
            self._cond.notify()
        return superseded

    def cancel_pending(self) -> bool:
        """Forget the waiting request (a decode already running still delivers); True if there was one."""
        with self._cond:
            had, self._pending = self._pending is not None, None
        return had

    def take(self) -> tuple[tuple[int, int, float, Any, Any, str] | None, int]:
        """(the latest result or None, how many results were overwritten unseen since the last take)."""
        with self._cond:
            r, n = self._result, self._overwritten
            self._result, self._overwritten = None, 0
        return r, n

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                (seq, index, scale), self._pending = self._pending, None
            rgb, image, error = None, None, ""
            try:
                rgb = np.ascontiguousarray(self._source.frame(index, None if scale == 1.0 else scale))
                h, w = rgb.shape[:2]
                # the QImage shares the array's memory; the panel keeps both alive together
                image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
            except Exception as exc:  # a damaged or closed file: shown on the panel, never raised here
                error = str(exc) or type(exc).__name__
            with self._cond:
                if self._stopped:
                    return
                waiting = self._result is not None  # an event is already on its way
                if waiting:
                    self._overwritten += 1
                self._result = (seq, index, scale, rgb, image, error)
                if not waiting:
                    QCoreApplication.postEvent(self._receiver, QEvent(_FRAME_EVENT))

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending = self._result = None
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


class VideoPanel(QWidget):
    """One video: the frame at the playhead, kept at its aspect ratio, with a caption."""

    def __init__(
        self,
        view: TimeView,
        name: str,
        source: VideoSource,
        offset: float = 0.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.view, self.name, self.source = view, name, source
        self._offset = float(offset)
        self._warp: Any = None
        self.shown_index: int | None = None
        self.shown_time: float | None = None
        self.shown_frame: np.ndarray | None = None
        self.frames_requested = 0  # requests handed to the decoder thread
        self.frames_shown = 0
        self.frames_skipped = 0
        self.note = ""  # why the panel is black (before the start, after the end, an error)
        #: seconds of session time to look ahead during playback: the playhead moves by timer ticks,
        #: so asking for the frame one tick ahead shows each frame on time instead of a tick late
        self.lead = 0.0
        self._image: QImage | None = None
        self._shown_key: tuple[int, float] | None = None
        self._want: tuple[int, float] | None = None  # the frame the playhead asks for
        self._seq = 0  # numbers the requests sent to the decoder
        self._awaiting = False  # a request for `_want` is with the decoder
        self._dirty = True  # the playhead moved while hidden
        self._closed = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(80, 60)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._decoder = _FrameDecoder(source, name, self)
        # deleted without `shutdown` (its pane or window destroyed): the thread must not outlive
        # the panel nor post to it (a plain callable: `self` is gone when `destroyed` fires)
        self.destroyed.connect(self._decoder.close)
        view.playhead_changed.connect(self._on_playhead)

    # -- public ---------------------------------------------------------------------------------
    @property
    def offset(self) -> float:
        return self._offset

    def set_offset(self, offset: float, warp: Any = None) -> None:
        """session_time = media_time + offset, or through `warp` (`MediaRef.warp`) when given."""
        self._offset = float(offset)
        self._warp = warp
        self.refresh()

    def media_time(self, t: float | None = None) -> float:
        """Media time of session time `t` (default: the playhead)."""
        return float(media_time_of(self.view.playhead if t is None else t, self._offset, self._warp))

    def image_rect(self) -> QRect:
        """Where the frame is drawn: the largest rectangle of the video's aspect ratio that fits."""
        area = self.rect().adjusted(0, 0, 0, -_CAPTION_H)  # the caption sits right under the frame
        vw, vh = max(self.source.width, 1), max(self.source.height, 1)
        k = min(area.width() / vw, area.height() / vh)
        w, h = max(int(vw * k), 1), max(int(vh * k), 1)
        return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)

    def caption_rect(self) -> QRect:
        r = self.image_rect()
        return QRect(r.x(), r.bottom() + 1, r.width(), _CAPTION_H)

    def decode_scale(self) -> float:
        """The smallest of `SCALES` that still gives at least one video pixel per screen pixel."""
        r = self.image_rect()
        dpr = self.devicePixelRatioF()
        need = max(r.width() * dpr / max(self.source.width, 1), r.height() * dpr / max(self.source.height, 1))
        best = SCALES[0]
        for s in SCALES:
            if s >= need and min(self.source.width, self.source.height) * s >= 16:
                best = s
        return best

    @property
    def busy(self) -> bool:
        """A frame the playhead asks for is still being decoded."""
        return self._awaiting

    def refresh(self) -> None:
        """Show (or ask for) the frame at the playhead."""
        if self._closed:
            return
        if not self.isVisible():
            self._dirty = True  # decoded when shown: a hidden pane costs nothing during playback
            return
        self._dirty = False
        src = self.source
        tm = self.media_time() + self.lead
        start, end = float(src.timestamps[0]), src.duration
        if not math.isfinite(tm) or tm < start - _TOLERANCE or tm >= end:
            before = tm < start - _TOLERANCE
            when = float(session_time_of(start if before else end, self._offset, self._warp))
            self.note = f"{'starts' if before else 'ended'} at {format_time(when)}"
            self._want = None
            self._drop_pending()
            if self.shown_index is not None or self._image is not None:
                self._clear_shown()
            self.update()
            return
        self.note = ""
        key = (src.index_at(tm), self.decode_scale())
        if key == self._want:
            return  # on screen already, or on its way
        self._want = key
        if key == self._shown_key:
            self._seq += 1  # back to the frame on screen: what is queued or decoding is stale
            self._drop_pending()
            self.update()
            return
        self._seq += 1
        self.frames_requested += 1
        if self._decoder.request(self._seq, *key):
            self.frames_skipped += 1
        self._awaiting = True

    def shutdown(self) -> None:
        """Stop and join the decoder thread; stop following the view. The source stays open."""
        if self._closed:
            return
        self._closed = True
        try:
            self.view.playhead_changed.disconnect(self._on_playhead)
        except (RuntimeError, TypeError):  # the view is already gone
            pass
        self._decoder.close()
        self._awaiting = False

    @property
    def thread_alive(self) -> bool:
        return self._decoder.alive

    # -- internals ------------------------------------------------------------------------------
    def _drop_pending(self) -> None:
        if self._decoder.cancel_pending():
            self.frames_skipped += 1
        self._awaiting = False

    def _clear_shown(self) -> None:
        self.shown_index = self.shown_time = self.shown_frame = None
        self._image, self._shown_key = None, None

    def _on_playhead(self, t: float) -> None:
        self.refresh()

    def _take_frame(self) -> None:
        if self._closed:
            return
        result, overwritten = self._decoder.take()
        self.frames_skipped += overwritten
        if result is None:
            return
        seq, index, scale, rgb, image, error = result
        latest = seq == self._seq
        if latest:
            self._awaiting = False
        # an older frame still goes on screen while the latest one decodes (a scrub shows motion),
        # but never after the playhead left the video or came back to the frame already shown
        if self._want is None or not (latest or self._awaiting):
            self.frames_skipped += 1
            return
        if error:
            self.note = f"cannot show frame {index}: {error}"
            self._clear_shown()
            self.update()
            return
        self.note = ""
        self._image, self.shown_frame = image, rgb
        self.shown_index, self.shown_time = index, float(self.source.timestamps[index])
        self._shown_key = (index, scale)
        self.frames_shown += 1
        self.update()

    # -- Qt -------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: D102 - Qt override
        w = 360
        return QSize(w, int(w * self.source.height / max(self.source.width, 1)) + _CAPTION_H)

    def event(self, event: QEvent) -> bool:
        if event.type() == _FRAME_EVENT:
            self._take_frame()
            return True
        return super().event(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refresh()  # the decode scale may change

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), COLORS["background"])
            r = self.image_rect()
            p.fillRect(r, Qt.GlobalColor.black)
            if self._image is not None:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                p.drawImage(QRectF(r), self._image)
            elif self.note:
                p.setPen(COLORS["dim"])
                p.drawText(r.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self.note)  # fmt: skip
            self._paint_caption(p)
        finally:
            p.end()

    def _paint_caption(self, p: QPainter) -> None:
        cap = self.caption_rect()
        p.fillRect(cap, COLORS["header"])
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() * 0.9, 6))
        p.setFont(f)
        text = cap.adjusted(6, 0, -6, 0)
        n = self.source.frame_count
        if self.shown_index is not None and self.shown_time is not None:
            info = f"frame {self.shown_index} / {n}   {format_time(self.shown_time)}"
        else:
            info = f"— / {n}"
        fm = p.fontMetrics()
        info_w = fm.horizontalAdvance(info)
        p.setPen(COLORS["dim"])
        p.drawText(text, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, info)
        p.setPen(COLORS["text"])
        name = fm.elidedText(self.name, Qt.TextElideMode.ElideMiddle, max(text.width() - info_w - 12, 10))
        p.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)


class VideoPane(QWidget):
    """All videos of the session (see the module doc). The window owns and closes the sources."""

    def __init__(self, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.panels: dict[str, VideoPanel] = {}
        self.lead = 0.0
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._grid_host = QWidget(self)
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setSpacing(4)
        self._empty = QLabel("No video in this session", self)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pal = self._empty.palette()
        pal.setColor(self._empty.foregroundRole(), COLORS["dim"])
        self._empty.setPalette(pal)
        self.setAutoFillBackground(True)
        bg = self.palette()
        bg.setColor(self.backgroundRole(), QColor(COLORS["background"]))
        self.setPalette(bg)
        outer.addWidget(self._grid_host)
        outer.addWidget(self._empty)
        self._relayout()

    def add_video(self, name: str, source: VideoSource, offset: float = 0.0) -> VideoPanel:
        """Show `source` (session_time = media_time + offset); replaces a video of the same name."""
        if name in self.panels:
            self.remove_video(name)
        panel = VideoPanel(self.view, name, source, offset, self._grid_host)
        panel.lead = self.lead
        self.panels[name] = panel
        self._relayout()
        panel.refresh()
        return panel

    def remove_video(self, name: str) -> None:
        panel = self.panels.pop(name)
        panel.shutdown()
        self._grid.removeWidget(panel)
        panel.hide()
        panel.setParent(None)
        panel.deleteLater()
        self._relayout()

    def set_offset(self, name: str, offset: float, warp: Any = None) -> None:
        self.panels[name].set_offset(offset, warp)

    def set_lead(self, seconds: float) -> None:
        """Look ahead `seconds` during playback (one timer tick × rate); 0 when paused (exact frame)."""
        self.lead = float(seconds)
        for panel in self.panels.values():
            if panel.lead != self.lead:
                panel.lead = self.lead
                panel.refresh()

    def panel(self, name: str) -> VideoPanel:
        return self.panels[name]

    def shutdown(self) -> None:
        """Stop every decoder thread (joined). Safe to call twice."""
        for panel in self.panels.values():
            panel.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _relayout(self) -> None:
        for panel in self.panels.values():
            self._grid.removeWidget(panel)
        n = len(self.panels)
        cols = n if n <= 2 else math.ceil(math.sqrt(n))
        for k, panel in enumerate(self.panels.values()):
            self._grid.addWidget(panel, k // max(cols, 1), k % max(cols, 1))
        self._grid_host.setVisible(n > 0)
        self._empty.setVisible(n == 0)
