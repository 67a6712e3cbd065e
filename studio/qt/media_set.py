"""The session's media, opened for the window: decoded audio, envelopes, video indexes, the clock.

`MediaSet` turns each `MediaRef` of a session into loaded sources, all in background jobs
(probe → audio decode → envelope pyramid; video frame index), and tells the window as each one
arrives (`audio_ready`, `video_ready`) or fails (`failed`, with the file and the problem). It owns
the `PlaybackClock` that plays the audio streams at their session offsets, and keeps the offsets
in step with the session (`SetMediaOffset` commands, undo included).

A media file that cannot be read does not stop the others: the window shows the error and the
session (tiers, other media) stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.core.session import MediaRef, Session
from studio.media.clock import PlaybackClock, PlaybackStream
from studio.tasks.base import Progress, Task, scaled

from .jobs import JobRunner

__all__ = ["MediaSet", "LoadedMedia"]


@dataclass
class LoadedMedia:
    media: MediaRef
    audio: Any = None  # AudioSource
    envelope: Any = None  # Envelope
    video: Any = None  # VideoSource
    stream: PlaybackStream | None = None
    error: str | None = None
    info: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        d = 0.0
        if self.audio is not None:
            d = max(d, self.audio.duration)
        if self.video is not None:
            d = max(d, self.video.duration)
        return d


def _load_task(path: str) -> Task[dict[str, Any]]:
    from studio.media.audio import open_audio_task
    from studio.media.envelope import load_or_build_envelope_task
    from studio.media.probe import probe
    from studio.media.video import open_video_task

    yield Progress(0.0, "probing")
    info = probe(path)
    out: dict[str, Any] = {"info": info}
    has_audio, has_video = bool(info.audio()), bool(info.video())
    if has_video:
        out["video"] = yield from scaled(open_video_task(path), 0.0, 0.3 if has_audio else 1.0)
    if has_audio:
        a0 = 0.3 if has_video else 0.0
        src = yield from scaled(open_audio_task(path), a0, a0 + (1 - a0) * 0.6)
        out["audio"] = src
        out["envelope"] = yield from scaled(load_or_build_envelope_task(src), a0 + (1 - a0) * 0.6, 1.0)
    return out


class MediaSet(QObject):
    #: (LoadedMedia) — audio decoded and its envelope built
    audio_ready = Signal(object)
    #: (LoadedMedia)
    video_ready = Signal(object)
    #: (LoadedMedia, message)
    failed = Signal(object, str)
    #: every media has loaded or failed
    all_loaded = Signal()
    #: (LoadedMedia) its offset changed (SetMediaOffset, undo)
    offset_changed = Signal(object)
    #: (duration) the longest media end in session time changed
    duration_changed = Signal(float)
    #: (LoadedMedia) left the session (undo of Add media): drop what shows it
    removed = Signal(object)
    #: (LoadedMedia) its loading job was cancelled (the status bar's cancel button)
    cancelled = Signal(object)

    def __init__(self, session: Session, runner: JobRunner, clock: PlaybackClock | None = None,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.clock = clock if clock is not None else PlaybackClock()
        self.loaded: dict[int, LoadedMedia] = {}  # id(MediaRef) -> loaded
        self._pending = 0
        self._jobs: list[Any] = []
        self._closed = False
        session.media_changed.connect(self._on_media_changed)
        session.media_added.connect(self._on_media_added)
        session.media_removed.connect(self._on_media_removed)

    # -- loading --------------------------------------------------------------------------------
    def load_all(self) -> None:
        for m in self.session.media:
            self._load(m)
        if not self.session.media:
            self.all_loaded.emit()

    def _load(self, media: MediaRef) -> None:
        lm = LoadedMedia(media)
        self.loaded[id(media)] = lm
        self._pending += 1

        def current() -> bool:
            # a result for a set already closed (another session is shown) or a media removed
            # meanwhile is dropped: no track, no error dialog about a session the user left
            return not self._closed and self.loaded.get(id(media)) is lm

        def done(result: dict[str, Any]) -> None:
            self._pending -= 1
            if not current():
                return
            lm.info = result["info"]
            if "video" in result:
                lm.video = result["video"]
                self.video_ready.emit(lm)
            if "audio" in result:
                lm.audio, lm.envelope = result["audio"], result["envelope"]
                lm.stream = self.clock.add_stream(lm.audio, offset=media.offset, warp=media.warp)
                self.audio_ready.emit(lm)
            if lm.video is not None and lm.audio is None:
                self.clock.set_duration(
                    max(self.clock.duration, float(media.to_session_time(lm.video.duration)))
                )
            self.duration_changed.emit(self.duration)
            self._check_all()

        def fail(message: str, tb: str) -> None:
            self._pending -= 1
            if not current():
                return
            lm.error = message
            self.failed.emit(lm, message)
            self._check_all()

        def cancelled() -> None:
            # Cancelled jobs report neither a result nor an error: without this the set would
            # say `loading` for ever and the media would silently never appear.
            self._pending -= 1
            if not current():
                return
            lm.error = "loading cancelled"
            self.cancelled.emit(lm)
            self._check_all()

        job = self.runner.submit(lambda: _load_task(media.path), name=f"opening {media.name}",
                                 on_result=done, on_error=fail)  # fmt: skip
        job.cancelled.connect(cancelled)
        self._jobs.append(job)

    def reload(self, media: MediaRef) -> bool:
        """Load `media` again if its loading failed or was cancelled (the user added it again)."""
        lm = self.loaded.get(id(media))
        if lm is None or lm.error is None:
            return False
        self._release(lm)
        self._load(media)
        return True

    def _check_all(self) -> None:
        if self._pending == 0:
            self.all_loaded.emit()

    @property
    def loading(self) -> bool:
        return self._pending > 0

    @property
    def duration(self) -> float:
        ends = [
            float(lm.media.to_session_time(lm.duration)) for lm in self.loaded.values() if lm.error is None
        ]
        return max([0.0, *ends])

    def items(self) -> list[LoadedMedia]:
        return [self.loaded[id(m)] for m in self.session.media if id(m) in self.loaded]

    def first_audio(self) -> LoadedMedia | None:
        for lm in self.items():
            if lm.audio is not None:
                return lm
        return None

    def first_video(self) -> LoadedMedia | None:
        for lm in self.items():
            if lm.video is not None:
                return lm
        return None

    # -- session events -------------------------------------------------------------------------
    def _on_media_changed(self, session: Session, index: int, media: MediaRef) -> None:
        lm = self.loaded.get(id(media))
        if lm is not None and lm.stream is not None:
            lm.stream.offset = media.offset
            lm.stream.warp = media.warp
        if lm is not None:
            self.offset_changed.emit(lm)
        self.duration_changed.emit(self.duration)

    def _on_media_added(self, session: Session, index: int, media: MediaRef) -> None:
        self._load(media)

    def _on_media_removed(self, session: Session, index: int, media: MediaRef) -> None:
        lm = self.loaded.pop(id(media), None)
        if lm is not None:
            self.removed.emit(lm)  # the window drops its tracks before the sources close
            self._release(lm)
        self.duration_changed.emit(self.duration)

    def _release(self, lm: LoadedMedia) -> None:
        if lm.stream is not None:
            self.clock.remove_stream(lm.stream)
        for obj in (lm.video, lm.envelope, lm.audio):
            close = getattr(obj, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a dead source must not stop the others
                    pass

    def close(self) -> None:
        self._closed = True
        for j in self._jobs:
            j.cancel()
        try:
            self.session.media_changed.disconnect(self._on_media_changed)
            self.session.media_added.disconnect(self._on_media_added)
            self.session.media_removed.disconnect(self._on_media_removed)
        except Exception:  # noqa: BLE001
            pass
        self.clock.close()
        for lm in list(self.loaded.values()):
            self._release(lm)
        self.loaded.clear()
