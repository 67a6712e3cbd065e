"""Frame-exact video: a timestamp per frame, the frame a viewer sees at any time, cached and read ahead.

``open_video(path)`` → `VideoSource`: `frame_count`, `fps`, `duration`, `timestamps`, ``index_at(t)``,
``frame(i)`` / ``frame_at(t)`` (RGB uint8, H × W × 3), ``frames()`` (sequential) and ``thumbnails(n)``.

**Frame index** (once per file, cached under ``cache_dir("video")`` by file identity): every frame in
presentation order with its presentation time — VFR safe, ``i / fps`` is never assumed. Built by
*demuxing* with PyAV (no decoding) when every packet has a unique pts and the first is a keyframe,
then checked by decoding the first frames and seeking to the last ones. Otherwise (MPEG-PS/TS whose
PES headers omit or duplicate PTS, elementary streams, streams starting mid-GOP, damaged tails) by a
**decode pass** (no colour conversion): frame *i* is the *i*-th frame a sequential decode outputs;
pts that are unique and on the longest increasing run are kept, the others interpolated.

**Time** is media seconds on the clock the file's audio and video share: presentation time minus the
*origin* (`start_time`), the earliest instant presented — the first video frame or the first decoded
sample of an audio stream (priming that decoders drop, e.g. Opus pre-skip, excluded; otherwise this
is ffmpeg's rule of subtracting the input start time). Usually frame 0 is at 0; a video starting
0.5 s after the audio has ``timestamps[0] == 0.5``. ``index_at(t)`` = last frame with time <= t
(1 µs tolerance for float round-off), clamped to [0, n-1]. `studio.media.audio` pads audio that starts after the video, so audio
sample 0 is at time 0 too.

**Decoding: PyAV, OpenCV for colour conversion — chosen by measurement** (bench/media_video.py, 720p
H.264, 2 cores): PyAV decodes ~630 frames/s, but its swscale RGB conversion halves that (~300/s);
PyAV + ``cv2.cvtColor(I420→RGB)`` ~450-600/s, on a par with ``cv2.VideoCapture.read`` (~370-690/s,
load-dependent). OpenCV seeking (``CAP_PROP_POS_FRAMES``/``POS_MSEC``) is exact on CFR mp4/mkv/avi
but wrong for 2-25 % of seeks in MPEG-PS and ~50 % in VFR files, silently. So PyAV does all
decoding: seek to the keyframe at or before the target, decode forward, identify frames by pts
(non-reference frames before the target are not decoded at all: ``skip_frame=NONREF``).
MPEG-PS/TS/elementary streams are sought by byte position (after a timestamp seek their parser
misattributes pts and key flags for a frame or two — measured) and frames are counted from the
first keyframe. Frames before that keyframe are never returned; a seek landing after the target
retries from an earlier keyframe, then from the start — never a wrong frame. A frame the decoder
cannot output is replaced by the previous one, as players do. Seek latency is bound by the GOP:
decoding up to a keyframe interval of frames (p95 ~90 ms at 2 s GOPs, ~340 ms at x264's default 250).

**Cache and playback.** Decoded frames live in an LRU bounded by bytes (read-only arrays). During
playback (requests moving forward frame by frame) a worker thread decodes ~0.5 s ahead, only ever
forward, one frame per lock hold; it holds no reference to the `VideoSource`: dropping or closing
the source stops it. Stepping backward caches the frames met on the way. ``frames()`` and
``thumbnails()`` use decoders of their own.

The frame index itself (demuxing, the decode pass, timestamp repair, the cache file) is in
`studio.media._video_index`.
"""

from __future__ import annotations

import collections
import os
import threading
import weakref
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from studio.media._video_index import DECODED, PACKETS, _build_index, _decode_packet, _Index, _open_container
from studio.media.cache import cache_dir, file_key
from studio.media.probe import MediaError, check_media_file
from studio.tasks.base import Progress, Task, run

__all__ = ["VideoSource", "open_video", "open_video_task", "DEFAULT_CACHE_BYTES"]

_INDEX_VERSION = "video-index-v2"  # v2: "turns" (display rotation)
DEFAULT_CACHE_BYTES = 256 << 20
_TOLERANCE = 1e-6  # seconds: float round-off allowed when comparing a time with frame times
_SEEK_COST = 8  # frames: decoding forward this much further is cheaper than a seek
_STEP_BACK = 12  # frames kept on the way when stepping backward
_CHECK_FRAMES = 12  # frames checked at the head and at the tail of an index built by demuxing
_BT601 = (2, 5, 6)  # AVCOL_SPC_UNSPECIFIED, BT470BG, SMPTE170M
_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


# -- decoding --------------------------------------------------------------------------------------
def _to_rgb(frame: Any, size: tuple[int, int] | None = None, turns: int = 0) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a decoded frame, turned upright (`turns`), resized to `size` (W, H)."""
    w, h = frame.width, frame.height
    fast = frame.format.name == "yuv420p" and not (w | h) & 1 and frame.colorspace in _BT601
    if fast and frame.color_range != 2:  # BT.601 limited-range 4:2:0: OpenCV converts it 2x faster
        rgb = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    else:
        rgb = frame.to_ndarray(format="rgb24")
    if turns:
        rgb = cv2.rotate(rgb, _ROTATE[turns])
        w, h = (h, w) if turns % 2 else (w, h)
    if size is not None and size != (w, h):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


class _Cursor:
    """One PyAV decoder over the stream: yields (index, frame) in order, seeks to keyframes."""

    def __init__(self, path: Path, ix: _Index, threads: bool = True) -> None:
        self.path, self.ix, self.threads = path, ix, threads
        self.by_bytes = ix.meta.get("seek") == "byte"
        self.container: Any = None
        self._skip_below: int | None = None  # pts mode: skip non-reference frames before this pts
        self.restart()

    def restart(self) -> None:
        """Reopen and decode from the start: the one position known exactly for every file."""
        self.close()
        self.container = _open_container(self.path)
        self.stream = next(s for s in self.container.streams if s.index == self.ix.meta["stream_index"])
        if self.threads:
            self.stream.thread_type = "AUTO"
        self._skip_mode = "DEFAULT"  # the decoder's skip_frame
        self._reset(skip_to_key=False)
        self._floor: int | None = 0  # frames before this index are not trusted (pts mode)
        self._expect: int | None = None  # byte mode: the next decoded keyframe is this one
        self.pos: int | None = -1

    def _reset(self, skip_to_key: bool) -> None:
        self._packets = self.container.demux(self.stream)
        self._pending: collections.deque[Any] = collections.deque()
        self._skip_to_key = skip_to_key
        self.eof = False
        self.last: Any = None

    def seek(self, k: int) -> None:
        """Continue from keyframe `k` (or an earlier one); positions are unknown until a keyframe decodes."""
        ix = self.ix
        if self.by_bytes:
            while k > 0 and ix.seek[k] < 0:
                k = ix.key_before(k - 1)
        if k <= 0 and (self.by_bytes or ix.mode == DECODED):
            return self.restart()  # counted frames: only a fresh decode reproduces the index
        how = (
            {"unsupported_byte_offset": True} if self.by_bytes else {"stream": self.stream, "backward": True}
        )
        try:
            self.container.seek(int(ix.seek[k]), **how)
        except (av.error.FFmpegError, OSError):
            return self.restart()
        self._reset(skip_to_key=not self.by_bytes)
        self._floor, self._expect, self.pos = None, k if self.by_bytes else None, None

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    def _pull(self) -> bool:
        while True:
            try:
                pkt = next(self._packets)
            except (StopIteration, av.error.FFmpegError, EOFError):  # the end, or damaged beyond here
                self.eof = True
                return False
            except OSError as exc:
                raise MediaError(self.path, f"cannot be read any more ({exc.strerror or exc})") from None
            if self._skip_to_key:
                if pkt.size == 0 or not pkt.is_keyframe:
                    continue
                self._skip_to_key = False
                if self.ix.mode == PACKETS:
                    j = self.ix.lookup(pkt.pts)
                    self._floor = j if j >= 0 else None
            mode = "DEFAULT"
            if self._skip_below is not None and pkt.pts is not None and pkt.pts < self._skip_below:
                mode = "NONREF"  # frames nobody references and nobody asked for: not decoded at all
            if mode != self._skip_mode:
                self.stream.codec_context.skip_frame = self._skip_mode = mode
            frames = _decode_packet(pkt)
            if frames:
                self._pending.extend(frames)
                return True

    def _identify(self, f: Any) -> int | None:
        ix = self.ix
        if self._expect is not None:  # byte seek: anchor on the first keyframe, then count
            if not f.key_frame:
                return None
            j, self._expect = self._expect, None
            return j
        if self.by_bytes or ix.mode == DECODED:
            if self.pos is None:  # decode-pass index sought by time: anchor on a known keyframe
                j = ix.lookup(f.pts)
                return j if j >= 0 and f.key_frame else None
            if not self.by_bytes and f.key_frame and (j := ix.lookup(f.pts)) >= 0:
                return j
            return self.pos + 1 if self.pos + 1 < ix.n else None
        j = ix.lookup(f.pts)
        if self._floor is None:  # wait for a keyframe we can place
            if j < 0 or not f.key_frame:
                return None
            self._floor = j
        if j < 0:
            j = -1 if self.pos is None else self.pos + 1
        if j < self._floor or (self.pos is not None and j <= self.pos):
            return None  # leading frames of an open GOP, or a repeat
        return j if j < ix.n else None

    def next(self) -> tuple[int, Any] | None:
        while True:
            while not self._pending:
                if self.eof or not self._pull():
                    return None
            f = self._pending.popleft()
            if (idx := self._identify(f)) is not None:
                self.pos, self.last = idx, f
                return idx, f

    def goto(self, i: int, keep: tuple[int, Callable[[int, Any], None]] | None = None) -> Any:
        """The decoded frame `i` (or, if the decoder cannot output it, the one shown before it).

        `keep` = (first, callback): frames first..i-1 met on the way are passed to the callback."""
        if self.pos == i and self.last is not None:
            return self.last
        if not (self.by_bytes or self.ix.mode == DECODED):  # identified by pts: skipping is safe
            self._skip_below = int(self.ix.pts[i if keep is None else max(min(keep[0], i), 0)])
        try:
            return self._goto(i, keep)
        finally:
            self._skip_below = None

    def _goto(self, i: int, keep: tuple[int, Callable[[int, Any], None]] | None) -> Any:
        ix, k, pos = self.ix, self.ix.key_before(i), self.pos
        forward = pos is not None and not self.eof and pos < i and (k <= pos or i - pos <= i - k + _SEEK_COST)
        prev = self.last if forward else None
        if not forward:
            self.seek(k)
        tries = 0
        while True:
            r = self.next()
            if r is not None and r[0] < i:
                prev = r[1]
                if keep is not None and r[0] >= keep[0]:
                    keep[1](*r)
                continue
            if r is not None and r[0] == i:
                return r[1]
            if prev is not None:  # frame i is missing: the previous frame stays on screen
                return prev
            if r is not None and tries >= 3:
                return r[1]  # decoding from the start, nothing comes before it
            tries += 1
            if tries > 3:
                raise MediaError(self.path, f"frame {i} cannot be decoded")
            if tries == 3:
                self.restart()
            else:  # the seek landed after the target: start from an earlier keyframe
                k = ix.key_before(k - 1) if k > 0 else 0
                self.seek(k)


def _check_packet_index(p: Path, ix: _Index) -> bool:
    """Decode the first frames, and seek to the last ones: does the decoder output exactly the
    indexed frames there (leading frames dropped, edit lists, truncated or damaged tails)?"""
    cur = _Cursor(p, ix, threads=True)
    try:
        for expected in range(min(ix.n, _CHECK_FRAMES)):
            r = cur.next()
            if r is None or r[0] != expected or r[1].pts != ix.pts[expected]:
                return False
        first = max(ix.n - _CHECK_FRAMES, 0)
        f = cur.goto(first)
        seen, agree = [cur.pos], int(f.pts == ix.pts[first])
        while (r := cur.next()) is not None:
            seen.append(r[0])
            agree += int(r[1].pts == ix.pts[r[0]])
        # frames sought by byte position are counted, and their first pts may be misattributed
        return seen == list(range(first, ix.n)) and agree >= (len(seen) // 2 if cur.by_bytes else len(seen))
    except MediaError:
        return False
    finally:
        cur.close()


# -- the public source -----------------------------------------------------------------------------
class _Engine:
    """Decoder, frame cache and read-ahead worker of one VideoSource (holds no reference to it)."""

    def __init__(self, path: Path, ix: _Index, cache_bytes: int, readahead: int) -> None:
        self.path, self.ix = path, ix
        self.turns = int(ix.meta.get("turns", 0))  # quarter turns that show frames upright
        self.cursor = _Cursor(path, ix, threads=True)
        # re-entrant: a finalizer run by the garbage collector in the worker thread must not deadlock
        self.lock = threading.RLock()  # cache and request state
        self.decode_lock = threading.RLock()  # the cursor
        self.wake = threading.Condition(self.lock)
        self.cache: collections.OrderedDict[tuple[int, Any], np.ndarray] = collections.OrderedDict()
        self.cache_bytes, self.used, self.readahead = cache_bytes, 0, readahead
        self.last: int | None = None  # the last frame asked for
        self.ahead: tuple[int, Any] = (-1, None)  # read ahead up to this frame, at this size
        self.stats = {"hits": 0, "misses": 0, "readahead": 0}
        self.worker: threading.Thread | None = None
        self.closed = False

    def _put(self, key: tuple[int, Any], rgb: np.ndarray) -> None:
        with self.lock:
            if key not in self.cache:
                rgb.flags.writeable = False
                self.cache[key] = rgb
                self.used += rgb.nbytes
            while self.used > self.cache_bytes and len(self.cache) > 1:
                self.used -= self.cache.popitem(last=False)[1].nbytes

    def _cached(self, key: tuple[int, Any]) -> np.ndarray | None:  # with self.lock held
        if self.closed:
            raise MediaError(self.path, "is closed")
        return self.cache.get(key)

    def get(self, i: int, size: tuple[int, int] | None) -> np.ndarray:
        key = (i, size)
        with self.lock:
            hit = self._cached(key)
            last, self.last = self.last, i
            if last is not None and last < i <= last + 3 and self.readahead > 0:
                self.ahead = (min(i + self.readahead, self.ix.n - 1), size)
                self._start_worker()
                self.wake.notify()
            else:
                self.ahead = (-1, None)
            if hit is not None:
                self.cache.move_to_end(key)
                self.stats["hits"] += 1
                return hit
            self.stats["misses"] += 1
        back = last is not None and last - _STEP_BACK <= i < last

        def keep_frame(idx: int, f: Any) -> None:
            self._put((idx, size), _to_rgb(f, size, self.turns))

        with self.decode_lock:
            with self.lock:
                hit = self._cached(key)  # the worker may have made it meanwhile
            if hit is not None:
                return hit
            frame = self.cursor.goto(i, (i - _STEP_BACK, keep_frame) if back else None)
            rgb = _to_rgb(frame, size, self.turns)
        self._put(key, rgb)
        return rgb

    def _start_worker(self) -> None:  # with self.lock held
        if self.worker is None:
            name = f"video read-ahead {self.path.name}"
            self.worker = threading.Thread(target=self._work, name=name, daemon=True)
            self.worker.start()

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self.closed and self.ahead[0] < 0:
                    self.wake.wait()
            with self.decode_lock:
                with self.lock:
                    if self.closed:
                        return
                    (target, size), last, cur = self.ahead, self.last, self.cursor
                    # only ever continue forward from (about) the frame on screen, never seek
                    idle = cur.pos is None or cur.eof or last is None or not last - 4 <= cur.pos < target
                    if idle:
                        self.ahead = (-1, None)  # until the next sequential request
                if idle:
                    continue
                try:
                    r = cur.next()
                    rgb = None if r is None or (r[0], size) in self.cache else _to_rgb(r[1], size, self.turns)
                except Exception:  # a background thread must not die loudly: the foreground reports it
                    r = None
            with self.lock:
                if r is None:
                    self.ahead = (-1, None)
                elif rgb is not None:
                    self._put((r[0], size), rgb)
                    self.stats["readahead"] += 1

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.wake.notify_all()
        if self.worker is not None and self.worker is not threading.current_thread():
            self.worker.join(timeout=10)
        with self.decode_lock, self.lock:
            self.cursor.close()
            self.cache.clear()
            self.used = 0


class VideoSource:
    """One video stream of a file, frame-exact. Thread-safe; use as a context manager or `close()`.

    Frames are RGB uint8 arrays (height, width, 3), read-only when they come from the cache, turned
    upright as players show them (a phone video's display rotation; `width`/`height` likewise).
    `scale` (0 < scale <= 1) decodes at a reduced size (thumbnails, features).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        index: _Index,
        stream: int = 0,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        readahead: float = 0.5,
    ) -> None:
        self.path, self.stream, self._ix = Path(path), stream, index
        meta = index.meta
        self.frame_count: int = index.n
        self.timestamps: np.ndarray = index.times.copy()  # presentation time of every frame (media s)
        self.timestamps.flags.writeable = False
        self.width, self.height = int(meta["width"]), int(meta["height"])  # as shown (upright)
        if int(meta.get("turns", 0)) % 2:
            self.width, self.height = self.height, self.width
        self.codec: str = str(meta["codec"])
        self.start_time: float = meta["origin_us"] / 1e6  # media time 0 in the file's clock (module doc)
        self.index_mode: str = index.mode  # "packets" (demuxed) or "decoded" (decode pass; module doc)
        span = float(self.timestamps[-1] - self.timestamps[0])
        # average frame rate: the container's, else from the indexed frames
        self.fps: float = float(meta.get("rate") or 0.0) or ((index.n - 1) / span if span > 0 else 25.0)
        last = float(meta.get("last_duration") or 0.0)
        if last <= 0:
            gaps = np.diff(self.timestamps[-9:])
            last = float(np.median(gaps)) if len(gaps) else 1.0 / self.fps
        self.duration: float = float(self.timestamps[-1]) + last  # end of the last frame (media s)
        ahead = min(max(4, round(self.fps * readahead)), cache_bytes // max(self.width * self.height * 12, 1))
        self._engine = _Engine(self.path, index, cache_bytes, int(ahead) if readahead > 0 else 0)
        self._finalizer = weakref.finalize(self, self._engine.close)

    @property
    def cache_stats(self) -> dict[str, int]:
        e = self._engine
        with e.lock:
            return {**e.stats, "frames": len(e.cache), "bytes": e.used}

    def identity(self) -> str:
        return file_key(self.path, _INDEX_VERSION, self.stream)

    def __repr__(self) -> str:
        return (f"VideoSource({str(self.path)!r}, {self.width}x{self.height}, {self.frame_count} frames, "
                f"{self.fps:.3f} fps, {self.duration:.3f} s, {self.codec})")  # fmt: skip

    # -- time ↔ frame ----------------------------------------------------------------------------
    def index_at(self, t: float) -> int:
        """The frame shown at media time t: the last frame with time <= t, clamped to [0, n-1]."""
        if not np.isfinite(t):
            raise ValueError(f"time must be a finite number of seconds, got {t!r} ({self.path})")
        i = int(np.searchsorted(self.timestamps, t + _TOLERANCE, side="right")) - 1
        return min(max(i, 0), self.frame_count - 1)

    def time_of(self, i: int) -> float:
        return float(self.timestamps[self._check(i)])

    def _check(self, i: int) -> int:
        i = int(i)
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} out of range 0..{self.frame_count - 1} in {self.path}")
        return i

    def _size(self, scale: float | None) -> tuple[int, int] | None:
        if scale is None or scale == 1:
            return None
        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        return max(2, round(self.width * scale)), max(2, round(self.height * scale))

    # -- frames ----------------------------------------------------------------------------------
    def frame(self, i: int, scale: float | None = None) -> np.ndarray:
        """Frame `i` as RGB uint8 (H, W, 3), read-only (cached)."""
        return self._engine.get(self._check(i), self._size(scale))

    def frame_at(self, t: float, scale: float | None = None) -> np.ndarray:
        """The frame a viewer sees at media time t."""
        return self.frame(self.index_at(t), scale)

    def frames(
        self, start: int = 0, stop: int | None = None, step: int = 1, scale: float | None = None
    ) -> Iterator[tuple[int, float, np.ndarray]]:
        """Yield (index, time, rgb) for range(start, stop, step), decoding sequentially with a decoder
        of its own (does not disturb playback or the cache). Arrays are fresh and writable."""
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        if step < 1:
            raise ValueError(f"step must be >= 1, got {step}")
        for i, rgb in self._decode(range(max(start, 0), stop, step), self._size(scale)):
            yield i, float(self.timestamps[i]), rgb

    def _decode(
        self, indexes: range | list[int], size: tuple[int, int] | None
    ) -> Iterator[tuple[int, np.ndarray]]:
        if not indexes:
            return
        cur = _Cursor(self.path, self._ix, threads=True)  # a decoder of its own
        turns = int(self._ix.meta.get("turns", 0))
        try:
            for i in indexes:
                yield i, _to_rgb(cur.goto(i), size, turns)
        finally:
            cur.close()

    def thumbnails(self, n: int, height: int = 64, exact: bool = False) -> list[tuple[float, np.ndarray]]:
        """`n` evenly spaced frames, `height` pixels high: [(time, rgb)]. See `thumbnails_task`."""
        return run(self.thumbnails_task(n, height, exact))

    def thumbnails_task(
        self, n: int, height: int = 64, exact: bool = False
    ) -> Task[list[tuple[float, np.ndarray]]]:
        """Thumbnails as a cancellable task. Frame j is the one shown at the middle of the j-th of `n`
        equal spans; unless `exact`, a keyframe within half a span is taken instead (no decoding
        forward, much faster on long files). Each item carries the time of the frame it shows."""
        if n <= 0:
            return []
        scale, span, wanted = min(height / self.height, 1.0), self.duration / n, []
        for j in range(n):
            i = self.index_at((j + 0.5) * span)
            if not exact:
                k = self._ix.key_before(i)
                if self.timestamps[i] - self.timestamps[k] <= span / 2:
                    i = k
            wanted.append(i)
        out: list[tuple[float, np.ndarray]] = []
        for i, rgb in self._decode(wanted, self._size(scale)):
            out.append((float(self.timestamps[i]), rgb))
            yield Progress(len(out) / n, f"thumbnails of {self.path.name}")
        return out

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | os.PathLike[str], stream: int = 0, **options: Any) -> VideoSource:
    """Open the `stream`-th video stream of a file (building its frame index first if needed).

    `options`: `cache_bytes` (frame cache bound, default 256 MiB), `readahead` (seconds decoded
    ahead during playback, default 0.5; 0 disables the background thread)."""
    return run(open_video_task(path, stream, **options))


def open_video_task(path: str | os.PathLike[str], stream: int = 0, **options: Any) -> Task[VideoSource]:
    """`open_video` as a cancellable task: indexing a long file (or decoding it) reports progress."""
    p = Path(path)
    check_media_file(p)
    cached = cache_dir("video") / f"{file_key(p, _INDEX_VERSION, stream)}.npz"
    ix = None
    if cached.exists():
        try:
            ix = _Index.load(cached)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            ix = None  # a damaged cache entry (a truncated zip too): rebuild it
    if ix is None:
        ix = yield from _build_index(p, stream, _check_packet_index)
        ix.save(cached)
    return VideoSource(p, ix, stream, **options)
