"""Live prediction: a model on a microphone, a camera, or a recording played as if it were a device.

**Sources.** Every live input has one interface (`LiveSource`): ``start(sink)`` / ``stop()``, and
while running it calls ``sink(chunk)`` from its own thread with timestamped chunks —
`AudioChunk` (mono float32 samples, ``t0`` of the first sample, rate) and `VideoChunk` (an RGB
image, ``t`` of its exposure); each carries ``arrived``, the `time.perf_counter` instant it was
delivered, from which latency is measured.

* `MicrophoneSource` — ``sounddevice.InputStream`` (PortAudio) in blocks of 512 samples at 16 kHz.
* `CameraSource` — ``cv2.VideoCapture(index)`` read in a thread.
* `RecordingSource` — a media file's audio and video frames delivered **exactly as a device would**:
  512-sample blocks when their last sample "was captured", frames at their timestamps, paced by the
  wall clock (``realtime=True``), as fast as possible (``realtime=False``), or up to a media time set
  from outside (``follow=True``: the window's playhead, read ahead by `lead` seconds). This is what
  the tests and the benchmark use; a machine with no input devices can still run the live path.

`probe_devices()` says which inputs exist, or why not ("no microphone: PortAudio reports no input
device"), without opening a stream. Without a device, `MicrophoneSource` / `CameraSource` raise
`DeviceUnavailable` with that reason.

**Features.** `LivePredictor` computes on arriving chunks the same features as the offline
pipeline (``studio.models.framedata``, from `studio.media.features_audio` / `features_video`), on the
grid ``k · hop``: audio log-mel (40) + RMS in dB from 25 ms windows every 10 ms centred on
``j · 10 ms`` (the same STFT, Hann window and Slaney filterbank, `studio.media.mel`), averaged
over the audio frames within ± hop / 2 of each grid instant (`Features.resample`'s "mean"); a grid
frame is ready as soon as the last sample its windows need has arrived (≈ 22.5 ms after its
instant). Video: mouth and face motion per frame (`features_video`'s region measure and Haar face
track) and their first differences on the grid, the box smoothed over the **past** 0.4 s only
(offline smoothing also looks 0.4 s ahead; waiting for that would add 0.4 s of latency), the grid
frame taking the latest video frame at or before its instant. Raw streaming audio features equal
offline ones to float rounding; video ones correlate > 0.9 with offline (tests check both).

**Standardisation.** Offline features are standardised per file (whole-file mean and std), which
a live stream cannot know. `LivePredictor` uses **running** statistics by default (Welford over
every frame seen so far; the model's window is standardised with the current estimate), which
converge to the per-file ones as the stream goes on (on the 3 s demo the last second is within
a few hundredths of a std). ``stats={"audio": (mean, std), ...}`` fixes them instead (from
training data) when the first seconds matter.

**Timing.** The predictor runs in its own thread, never the caller's: a source thread only puts
chunks on a queue. Each new grid frame (batched when one chunk completes several) calls
`predict_window` on the last `window_frames` frames and records ``(t, row)`` for each new frame
and its latency = wall time the prediction was available − wall time the chunk that completed the
frame arrived. `latency()` gives mean and p95. `stop()` joins within 0.5 s; chunks still queued
then are dropped (a stopped device delivers nothing more either).
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "AudioChunk",
    "VideoChunk",
    "Reset",
    "DeviceUnavailable",
    "LiveSource",
    "MicrophoneSource",
    "CameraSource",
    "RecordingSource",
    "probe_devices",
    "AudioFeatureStream",
    "VideoFeatureStream",
    "RunningStats",
    "LivePredictor",
    "AUDIO_RATE",
    "BLOCK",
]

AUDIO_RATE = 16000  # Hz: what the audio features are computed at
BLOCK = 512  # samples per audio block, as a sound card delivers them (32 ms at 16 kHz)
N_MELS = 40
AUDIO_WIN = 0.025  # s: the analysis window (studio.media.features_audio defaults)
AUDIO_HOP = 0.010  # s: between audio frames
RMS_FLOOR = 1e-5  # -100 dB, as studio.models.framedata
STD_EPS = 1e-6  # (x - mean) / (std + STD_EPS), as framedata's per-file standardisation
VIDEO_NAMES = ("mouth_motion", "face_motion", "d_mouth_motion", "d_face_motion")
STOP_JOIN = 0.5  # s: how long stop() waits for a thread


@dataclass(frozen=True)
class AudioChunk:
    samples: np.ndarray  # (n,) float32 mono
    t0: float  # seconds (media or stream time) of samples[0]
    rate: int
    arrived: float  # time.perf_counter() when delivered


@dataclass(frozen=True)
class VideoChunk:
    image: np.ndarray  # (H, W, 3) RGB uint8, or (H, W) gray
    t: float
    arrived: float


@dataclass(frozen=True)
class Reset:
    """The stream jumped (a seek): start over at media time `t` (buffers and face track cleared)."""

    t: float


Chunk = AudioChunk | VideoChunk | Reset
Sink = Callable[[Chunk], None]


class DeviceUnavailable(RuntimeError):
    """No such input device; the message says why ("no microphone: ...")."""


# -- sources ---------------------------------------------------------------------------------------


class LiveSource:
    """start(sink) / stop(); `modalities` it delivers; `error` (str) if its thread failed; `finished`."""

    modalities: tuple[str, ...] = ()
    name = "source"

    def __init__(self) -> None:
        self.error: str | None = None
        self.finished = threading.Event()  # set when the source has nothing more to deliver
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, sink: Sink) -> None:
        self._stop.clear()
        self.finished.clear()
        self._thread = threading.Thread(target=self._guarded, args=(sink,), name=self.name, daemon=True)
        self._thread.start()

    def _guarded(self, sink: Sink) -> None:
        try:
            self._run(sink)
        except Exception as exc:  # reported, not raised in a thread nobody joins
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished.set()

    def _run(self, sink: Sink) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_JOIN)
        self._thread = None


def _microphone_problem() -> str | None:
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
        return f"no microphone: sounddevice/PortAudio unavailable ({exc})"
    try:
        devices = sd.query_devices()
    except Exception as exc:
        return f"no microphone: PortAudio cannot list devices ({exc})"
    if not any(d.get("max_input_channels", 0) > 0 for d in devices):
        return "no microphone: PortAudio reports no input device on this machine"
    return None


def _camera_problem(index: int) -> str | None:
    if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
        return f"no camera: /dev/video{index} does not exist on this machine"
    import cv2

    level = cv2.getLogLevel() if hasattr(cv2, "getLogLevel") else None
    if level is not None:
        cv2.setLogLevel(0)  # a failed open logs warnings to stderr: the reason is returned instead
    try:
        cap = cv2.VideoCapture(index)
        ok = cap.isOpened()
        cap.release()
    finally:
        if level is not None:
            cv2.setLogLevel(level)
    return None if ok else f"no camera: OpenCV cannot open camera {index}"


def probe_devices(camera_index: int = 0) -> dict[str, dict[str, Any]]:
    """{"microphone": {"available", "reason" or "name"}, "camera": {...}} — nothing is opened for long."""
    out: dict[str, dict[str, Any]] = {}
    mic = _microphone_problem()
    if mic is None:
        import sounddevice as sd

        dev = sd.query_devices(kind="input")
        out["microphone"] = {"available": True, "name": str(dev.get("name", "default input")), "reason": ""}
    else:
        out["microphone"] = {"available": False, "name": "", "reason": mic}
    cam = _camera_problem(camera_index)
    out["camera"] = {"available": cam is None, "name": f"camera {camera_index}" if cam is None else "",
                     "reason": cam or ""}  # fmt: skip
    return out


class MicrophoneSource(LiveSource):
    """The default (or `device`) input through PortAudio, mono blocks of `block` samples at `rate`."""

    modalities = ("audio",)
    name = "microphone"

    def __init__(self, device: Any = None, rate: int = AUDIO_RATE, block: int = BLOCK) -> None:
        super().__init__()
        problem = _microphone_problem()
        if problem is not None:
            raise DeviceUnavailable(problem)
        self.device, self.rate, self.block = device, int(rate), int(block)
        self._stream: Any = None
        self.origin = time.perf_counter()

    def start(self, sink: Sink) -> None:
        import sounddevice as sd

        count = 0
        self.origin = time.perf_counter()

        def callback(indata: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
            nonlocal count
            samples = np.ascontiguousarray(indata[:, 0], dtype=np.float32)
            sink(AudioChunk(samples, count / self.rate, self.rate, time.perf_counter()))
            count += frames

        self.finished.clear()
        self._stream = sd.InputStream(samplerate=self.rate, blocksize=self.block, device=self.device,
                                      channels=1, dtype="float32", callback=callback)  # fmt: skip
        self._stream.start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        self.finished.set()


class CameraSource(LiveSource):
    """`cv2.VideoCapture(index)` frames (RGB) with their time since start."""

    modalities = ("video",)
    name = "camera"

    def __init__(self, index: int = 0) -> None:
        super().__init__()
        problem = _camera_problem(index)
        if problem is not None:
            raise DeviceUnavailable(problem)
        self.index = index

    def _run(self, sink: Sink) -> None:
        import cv2

        cap = cv2.VideoCapture(self.index)
        try:
            if not cap.isOpened():
                raise DeviceUnavailable(f"no camera: OpenCV cannot open camera {self.index}")
            origin = time.perf_counter()
            while not self._stop.is_set():
                ok, bgr = cap.read()
                now = time.perf_counter()
                if not ok:
                    raise DeviceUnavailable(f"camera {self.index} stopped delivering frames")
                sink(VideoChunk(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), now - origin, now))
        finally:
            cap.release()


class RecordingSource(LiveSource):
    """A media file played as a device: audio blocks and video frames at real-time pace (see module doc).

    `start`/`end`: media seconds to play. `streams` ("audio", "video") and `fps`, when the caller
    knows them, spare a probe of the file. `realtime=False` delivers as fast as the sink takes it.
    `follow=True`: deliver up to the media time given to `advance_to(t)` plus `lead` seconds; a jump
    back, or forward by more than `jump` seconds, restarts there (a `Reset` chunk first).
    """

    name = "recording"

    def __init__(
        self,
        path: str | os.PathLike[str],
        realtime: bool = True,
        *,
        audio: bool = True,
        video: bool = True,
        block: int = BLOCK,
        rate: int = AUDIO_RATE,
        start: float = 0.0,
        end: float | None = None,
        follow: bool = False,
        lead: float = 0.1,
        jump: float = 1.0,
        streams: tuple[str, ...] | None = None,
        fps: float = 25.0,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.fps = float(fps)
        if streams is None:  # not known to the caller: ask the file (ffprobe)
            from studio.media.probe import probe

            info = probe(self.path, count_frames=False)
            streams = tuple(s.kind for s in info.streams)
            vids = info.video()
            self.fps = float(vids[0].fps) if vids and vids[0].fps else self.fps
        self.has_audio = audio and "audio" in streams
        self.has_video = video and "video" in streams
        if not (self.has_audio or self.has_video):
            raise ValueError(
                f"{self.path.name} has no {'audio or video' if audio and video else 'such'} stream"
            )
        self.modalities = tuple(m for m, on in (("audio", self.has_audio), ("video", self.has_video)) if on)
        self.realtime, self.follow, self.lead, self.jump = realtime, follow, float(lead), float(jump)
        self.block, self.rate = int(block), int(rate)
        self.begin, self.end = float(start), end
        self._target = float(start)  # follow mode: media time to deliver up to
        self.position = float(start)  # media time delivered so far

    def advance_to(self, t: float) -> None:
        """Follow mode: the playhead is at media time `t` (any thread)."""
        self._target = float(t)

    def _run(self, sink: Sink) -> None:
        from studio.media.audio import open_audio
        from studio.media.video import open_video

        audio = open_audio(self.path).resampled(self.rate, mono=True) if self.has_audio else None
        video = open_video(self.path, readahead=0) if self.has_video else None
        try:
            start = self.begin
            while not self._stop.is_set():
                jumped = self._play(sink, audio, video, start)
                if jumped is None:
                    break
                start = jumped
                sink(Reset(start))
        finally:
            if video is not None:
                video.close()
            if audio is not None:
                audio.source.close()

    def _play(self, sink: Sink, audio: Any, video: Any, start: float) -> float | None:
        """Deliver from `start`; return where to restart after a jump (follow mode), None when done."""
        dur = max(audio.duration if audio is not None else 0.0, video.duration if video is not None else 0.0)
        end = min(dur, self.end) if self.end is not None else dur
        self.position = start
        a_pos = int(round(start * self.rate))
        a_end = int(round(end * self.rate))
        frames = None
        nxt: tuple[int, float, np.ndarray] | None = None
        if video is not None:
            first = video.index_at(start) if start > 0 else 0
            if first < video.frame_count and video.time_of(first) < start - 1e-6:
                first += 1
            frames = video.frames(start=first)
            nxt = next(frames, None)
        blocks = audio.blocks(max(self.block, 8192), start=a_pos) if audio is not None else iter(())
        pending = np.zeros(0, np.float32)
        origin = time.perf_counter() - start  # wall time of media time 0 (real-time mode)
        last_target = self._target  # follow mode: a seek back is the playhead going back, not being
        # behind what was delivered (delivery runs `lead` seconds ahead of it)
        try:
            while not self._stop.is_set():
                a_due = (a_pos + self.block) / self.rate if audio is not None and a_pos < a_end else math.inf
                v_due = nxt[1] if nxt is not None and nxt[1] < end else math.inf
                due = min(a_due, v_due)
                if due == math.inf:
                    if not self.follow:
                        return None
                    target = self._target
                    if target < last_target - 0.05:  # at the end, following: wait for a seek back
                        return max(0.0, target)
                    last_target = max(last_target, target)
                    self._stop.wait(0.01)
                    continue
                if self.follow:
                    target = self._target
                    if target < last_target - 0.05 or target > self.position + self.jump + self.lead:
                        return max(0.0, target)
                    last_target = max(last_target, target)
                    if due > target + self.lead:
                        self._stop.wait(0.005)
                        continue
                elif self.realtime:
                    wait = origin + due - time.perf_counter()
                    if wait > 0 and self._stop.wait(wait):
                        break
                if v_due <= a_due:
                    _i, ts, rgb = nxt  # type: ignore[misc]
                    sink(VideoChunk(rgb, ts, time.perf_counter()))
                    nxt = next(frames, None)  # type: ignore[arg-type]
                else:
                    while pending.shape[0] < self.block:
                        got = next(blocks, None)
                        if got is None:
                            pending = np.concatenate([pending, np.zeros(self.block, np.float32)])
                            break
                        pending = np.concatenate([pending, got[1][0]])
                    n = min(self.block, a_end - a_pos)
                    chunk, pending = pending[:n].copy(), pending[n:]
                    sink(AudioChunk(chunk, a_pos / self.rate, self.rate, time.perf_counter()))
                    a_pos += n
                self.position = due
        finally:
            if frames is not None:
                frames.close()
        return None


# -- incremental features --------------------------------------------------------------------------


def _grid_span(k: int, hop: float, step: float) -> tuple[int, int]:
    """Audio frames j (at j·step) inside [k·hop − hop/2, k·hop + hop/2), as `Features.resample` takes them."""
    eps = 1e-9 * max(1.0, hop)

    def first_at_or_after(x: float) -> int:
        j = max(0, math.ceil(x / step) - 1)
        while j * step < x:
            j += 1
        return j

    return first_at_or_after(k * hop - hop / 2 - eps), first_at_or_after(k * hop + hop / 2 - eps)


def _to_db(row: np.ndarray) -> np.ndarray:
    """Grid-averaged log-mel + RMS → log-mel + RMS in dB (framedata's "rms_db": 20·log10, floored at -100 dB)."""
    out = row.astype(np.float32)
    out[-1] = 20.0 * np.log10(max(float(row[-1]), RMS_FLOOR))
    return out


class AudioFeatureStream:
    """Log-mel (40) + RMS on the grid ``k · hop``, from samples pushed in any block sizes (mono, `rate`)."""

    names = tuple(f"mel{i}" for i in range(N_MELS)) + ("rms_db",)

    def __init__(self, hop: float = 0.04, rate: int = AUDIO_RATE) -> None:
        from studio.media.mel import hann, mel_filterbank

        self.hop, self.rate = float(hop), int(rate)
        self.n_fft = round(AUDIO_WIN * rate)
        self.step = round(AUDIO_HOP * rate)
        self.step_s = self.step / rate
        self.window = hann(self.n_fft)
        self.fb = np.ascontiguousarray(mel_filterbank(rate, self.n_fft, N_MELS, 0.0, rate / 2))
        self.reset()

    def reset(self, t: float = 0.0) -> None:
        """Start over with the sample at media time `t` (k0 = the first grid frame at or after `t`)."""
        self.origin = int(round(t * self.rate))  # sample index of buffer position `self.left`
        self.left = self.n_fft // 2
        j0 = -(-self.origin // self.step)  # the first audio frame computed
        self.buf = np.zeros(self.left, np.float32)  # zeros before the first sample (librosa's centring)
        self.buf_start = self.origin - self.left  # sample index of buf[0]
        self.j = j0  # next audio frame to compute
        self.frames: dict[int, np.ndarray] = {}  # audio frame j -> (41,)
        self.k = math.ceil(max(0.0, t) / self.hop - 1e-9)  # next grid frame to emit
        self.first_j = j0

    def push(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Append samples; return the grid frames (k, (41,) float32) that became complete."""
        self.buf = np.concatenate([self.buf, np.asarray(samples, np.float32)])
        return self._advance()

    def flush(self) -> list[tuple[int, np.ndarray]]:
        """End of the signal: the rest as offline extraction pads it (zeros)."""
        n = self.buf_start + len(self.buf)  # samples of signal seen
        total = 1 + n // self.step
        self.buf = np.concatenate([self.buf, np.zeros(self.n_fft, np.float32)])
        self._compute(total)
        out: list[tuple[int, np.ndarray]] = []
        last_t = (total - 1) * self.step_s
        count = int(math.floor(last_t / self.hop + 1e-9)) + 1
        while self.k < count:
            a, b = _grid_span(self.k, self.hop, self.step_s)
            rows = [self.frames[j] for j in range(max(a, self.first_j), min(b, total)) if j in self.frames]
            if rows:
                out.append((self.k, _to_db(np.mean(rows, axis=0))))
            self.k += 1
        return out

    def _compute(self, upto: int) -> None:
        """Audio frames up to `upto` (exclusive) that the buffer holds."""
        have = (self.buf_start + len(self.buf) - (self.n_fft - self.n_fft // 2)) // self.step + 1
        upto = min(upto, have)
        if upto > self.j:
            s = self.j * self.step - self.n_fft // 2 - self.buf_start
            span = self.buf[s : s + (upto - self.j - 1) * self.step + self.n_fft]
            frames = np.lib.stride_tricks.sliding_window_view(span, self.n_fft)[:: self.step]
            spec = np.fft.rfft(frames * self.window, axis=1)
            power = (spec.real**2 + spec.imag**2).astype(np.float32)
            logmel = 10.0 * np.log10(np.maximum(power @ self.fb.T, 1e-10))
            rms = np.sqrt(np.einsum("ij,ij->i", frames, frames) / self.n_fft)
            for i, row in enumerate(np.column_stack([logmel, rms]).astype(np.float32)):
                self.frames[self.j + i] = row
            self.j = upto
            drop = self.j * self.step - self.n_fft // 2 - self.buf_start
            if drop > 0:
                self.buf = self.buf[drop:]
                self.buf_start += drop

    def _advance(self) -> list[tuple[int, np.ndarray]]:
        out: list[tuple[int, np.ndarray]] = []
        while True:
            a, b = _grid_span(self.k, self.hop, self.step_s)
            self._compute(b)
            if self.j < b:
                return out
            rows = [self.frames[j] for j in range(max(a, self.first_j), b)]
            out.append((self.k, _to_db(np.mean(rows, axis=0))))
            for j in [j for j in self.frames if j < b]:
                del self.frames[j]
            self.k += 1


class VideoFeatureStream:
    """Mouth and face motion per frame (features_video's measures) with a causal face track."""

    names = ("mouth_motion", "face_motion")

    def __init__(self, fps: float = 25.0, face_side: int = 320, face_every: int = 2,
                 smooth: float = 0.4, min_face: float = 0.15) -> None:  # fmt: skip
        self.fps, self.face_side, self.every = float(fps), int(face_side), int(face_every)
        self.smooth, self.min_face = float(smooth), float(min_face)
        self.reset()

    def reset(self) -> None:
        from studio.media.features_video import _FaceTrack

        look = int(round(self.smooth * self.fps))
        self.track = _FaceTrack(look, self.every, self.min_face, full_every=max(1, round(2 * self.fps)))
        self.i = 0
        self.prev: np.ndarray | None = None

    def push(self, image: np.ndarray) -> np.ndarray:
        """(2,) float32 for this frame (NaN without a face)."""
        import cv2

        from studio.media.features_video import _region_motion, _scaled

        img = np.asarray(image)
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        gray = _scaled(gray, self.face_side)
        self.track.add(self.i, gray)
        box = self.track.smoothed(self.i)  # only past detections exist yet: a causal smoothing
        value = _region_motion(self.prev, gray, box)
        self.prev = gray
        if self.i > 4 * self.track.lookahead + 8:  # keep the raw list short (smoothing looks back only)
            drop = self.i - 2 * self.track.lookahead - 2
            self.track.raw[:drop] = [None] * drop
        self.i += 1
        return np.asarray(value, np.float32)


class RunningStats:
    """Welford mean and variance per dim over rows pushed so far (NaN rows skipped)."""

    def __init__(self, dims: int) -> None:
        self.n = 0
        self.mean = np.zeros(dims)
        self.m2 = np.zeros(dims)

    def push(self, row: np.ndarray) -> None:
        if not np.all(np.isfinite(row)):
            return
        self.n += 1
        d = row - self.mean
        self.mean += d / self.n
        self.m2 += d * (row - self.mean)

    def std(self) -> np.ndarray:
        """Population std (numpy's default, as per-file standardisation); 1 before two rows."""
        return np.sqrt(self.m2 / self.n) if self.n > 1 else np.ones_like(self.mean)


# -- the predictor ---------------------------------------------------------------------------------


class LivePredictor:
    """Features of arriving chunks → `predict_window` on the last `window_frames` → (t, row) per frame.

    `predict_window(features, present)` is `FusionModel.predict_window`'s signature: features
    {modality: (T, d)}, present {modality: (T,) bool}; it returns (T, C) or (T,). `modalities`: the
    model's inputs (a modality no source delivers is zeros with present False). `stats`: fixed
    {modality: (mean, std)} instead of running standardisation. `on_prediction(t, row, latency)`
    is called from the predictor's thread. `keep`: predictions kept (oldest dropped).
    """

    def __init__(
        self,
        predict_window: Callable[..., Any],
        *,
        hop: float = 0.04,
        window_frames: int = 64,
        modalities: Iterable[str] = ("audio", "video"),
        stats: dict[str, tuple[Any, Any]] | None = None,
        on_prediction: Callable[[float, np.ndarray, float], None] | None = None,
        keep: int = 100_000,
        fps: float = 25.0,
    ) -> None:
        self.predict_window = predict_window
        self.hop, self.window_frames = float(hop), int(window_frames)
        self.modalities = tuple(modalities)
        unknown = set(self.modalities) - {"audio", "video"}
        if unknown:
            raise ValueError(f"live features exist for audio and video, not {', '.join(sorted(unknown))}")
        self.fixed = {m: (np.asarray(a, float), np.asarray(b, float)) for m, (a, b) in (stats or {}).items()}
        self.on_prediction = on_prediction
        self.audio = AudioFeatureStream(hop)
        self.video = VideoFeatureStream(fps)
        self.stats = {"audio": RunningStats(len(AudioFeatureStream.names)),
                      "video": RunningStats(len(VIDEO_NAMES))}  # fmt: skip
        self.times: deque[float] = deque(maxlen=keep)
        self.rows: deque[np.ndarray] = deque(maxlen=keep)
        self.latencies: deque[float] = deque(maxlen=keep)
        self.lock = threading.Lock()
        self.error: str | None = None
        self.sources: list[LiveSource] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        w = self.window_frames
        self._feat = {"audio": deque(maxlen=w), "video": deque(maxlen=w)}
        self._present = {"audio": deque(maxlen=w), "video": deque(maxlen=w)}
        self._video_recent: deque[tuple[float, np.ndarray]] = deque(maxlen=32)  # (t, value) of frames
        self._audio_live = False
        self._k_video: int | None = None
        self._pending: list[tuple[int, float]] = []  # grid frames (k, arrived) awaiting a prediction
        self._prev_g: np.ndarray | None = None

    # -- control ---------------------------------------------------------------------------------
    def start(self, *sources: LiveSource) -> None:
        """Run the predictor thread, then start `sources` delivering to it."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self.sources = list(sources)
        self._audio_live = any("audio" in s.modalities for s in sources)
        self._thread = threading.Thread(target=self._work, name="live-predictor", daemon=True)
        self._thread.start()
        for s in self.sources:
            s.start(self.push)

    def push(self, chunk: Chunk) -> None:
        """Deliver a chunk (any thread)."""
        self._queue.put(chunk)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the sources and the predictor thread (each joined within 0.5 s)."""
        for s in self.sources:
            s.stop()
        if self._thread is not None:
            self._halt.set()
            self._queue.put(None)
            self._thread.join(STOP_JOIN)
            self._thread = None

    def results(self, since: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(times (n,), rows (n, C) or (n,)) of the predictions from index `since` on."""
        with self.lock:
            t = list(self.times)[since:]
            r = list(self.rows)[since:]
        if not r:
            return np.zeros(0), np.zeros((0,))
        return np.asarray(t), np.stack(r)

    def latency(self) -> dict[str, float]:
        """{"mean", "p95", "max", "count"} of the latencies so far, in seconds (NaN before any)."""
        with self.lock:
            lat = np.asarray(self.latencies)
        if not len(lat):
            return {"mean": math.nan, "p95": math.nan, "max": math.nan, "count": 0}
        return {"mean": float(lat.mean()), "p95": float(np.percentile(lat, 95)), "max": float(lat.max()),
                "count": int(len(lat))}  # fmt: skip

    # -- the thread ------------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            while True:
                chunk = self._queue.get()
                if chunk is None or self._halt.is_set():
                    return
                self._take(chunk)
                while chunk is not None and self._pending and not self._queue.empty():  # catch up
                    chunk = self._queue.get_nowait()  # (one prediction call for the frames waiting)
                    if self._halt.is_set():
                        return  # stopping: what is still queued is dropped
                    if chunk is not None:
                        self._take(chunk)
                if self._pending:
                    self._predict()
                if chunk is None:
                    return
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _take(self, chunk: Chunk) -> None:
        """Update features with `chunk`; complete grid frames are added to `_pending` (and predicted)."""
        if isinstance(chunk, Reset):
            if self._pending:
                self._predict()
            self.audio.reset(chunk.t)
            self.video.reset()
            self._reset_buffers()
            self._audio_live = any("audio" in s.modalities for s in self.sources)
        elif isinstance(chunk, VideoChunk):
            value = self.video.push(chunk.image)
            self._video_recent.append((chunk.t, value))
            k = int(math.floor(chunk.t / self.hop + 0.5))  # video drives the grid when there is no audio
            if not self._audio_live and (self._k_video is None or k > self._k_video):
                self._k_video = k
                self._add_frame(k, None, chunk.arrived)
        elif isinstance(chunk, AudioChunk):
            self._audio_live = True
            samples = chunk.samples
            if chunk.rate != AUDIO_RATE:
                import soxr

                samples = soxr.resample(samples, chunk.rate, AUDIO_RATE).astype(np.float32)
            for k, row in self.audio.push(samples):
                self._add_frame(k, row, chunk.arrived)
        else:
            raise TypeError(f"not a live chunk: {type(chunk).__name__}")

    def _add_frame(self, k: int, audio_row: np.ndarray | None, arrived: float) -> None:
        """Append grid frame `k`: its audio row (None: no audio) and the latest video frame's values."""
        t = k * self.hop
        if audio_row is not None:
            self.stats["audio"].push(audio_row.astype(float))
        self._feat["audio"].append(audio_row if audio_row is not None else np.zeros(N_MELS + 1, np.float32))
        self._present["audio"].append(audio_row is not None)
        # the latest video frame at or before t (within half a frame), if not older than 0.25 s
        near = [v for tv, v in self._video_recent if t - 0.25 <= tv <= t + 0.5 / self.video.fps + 1e-6]
        g = near[-1] if near and np.all(np.isfinite(near[-1])) else None
        if g is not None:  # + first differences on the grid, 0 after a frame without a face (framedata)
            d = g - self._prev_g if self._prev_g is not None else np.zeros(2, np.float32)
            row = np.concatenate([g, d]).astype(np.float32)
            self.stats["video"].push(row.astype(float))
        self._feat["video"].append(row if g is not None else np.zeros(len(VIDEO_NAMES), np.float32))
        self._present["video"].append(g is not None)
        self._prev_g = g
        self._pending.append((k, arrived))
        if len(self._pending) >= max(1, self.window_frames // 2):  # the window must still hold them
            self._predict()

    def _window(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The last `window_frames` frames standardised with the current (or fixed) statistics."""
        feats, present = {}, {}
        for m in self.modalities:
            x = np.stack(self._feat[m]).astype(np.float64)
            ok = np.asarray(self._present[m], bool)
            mean, std = self.fixed.get(m) or (self.stats[m].mean, self.stats[m].std())
            z = (x - mean) / (std + STD_EPS)
            z[~ok] = 0.0
            feats[m], present[m] = z.astype(np.float32), ok
        return feats, present

    def _predict(self) -> None:
        ready, self._pending = self._pending, []
        feats, present = self._window()
        out = np.asarray(self.predict_window(feats, present))
        done = time.perf_counter()
        n = min(len(ready), out.shape[0])
        rows = out[-n:]
        with self.lock:
            for (k, arrived), row in zip(ready[-n:], rows, strict=True):
                self.times.append(k * self.hop)
                self.rows.append(np.asarray(row, np.float32))
                self.latencies.append(done - arrived)
        if self.on_prediction is not None:
            for (k, arrived), row in zip(ready[-n:], rows, strict=True):
                self.on_prediction(k * self.hop, row, done - arrived)
