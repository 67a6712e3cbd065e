"""The playback clock: one per session; plays its audio streams and says what the listener hears now.

`PlaybackClock` holds the session's audio streams (`PlaybackStream`: an `AudioSource`, an
`offset` — ``session_time = media_time + offset``, as in `studio.core.session.MediaRef` — a gain
and a mute flag) and a transport: `play(start, end, loop)`, `pause()`, `stop()`, `seek(t)`,
`rate` (0.5–2.0, pitch kept), `range`/`loop`. `position` is the session time the listener hears
*now*; the Qt layer polls it from a QTimer, so it is lock-free, cheap (a tuple read and a little
arithmetic) and safe from any thread. Signals (psygnal): `state_changed(state)`,
`finished()` (the end of a play range was heard, not looping), `seeked(t)`, `rate_changed(rate)`,
`failed(message)` (audio could not be read; playback paused). User actions emit in the caller's
thread; `finished` and `failed` come from the clock's worker thread (Qt receivers: queue them).

Outputs (``PlaybackClock(output=...)``; `clock.backend`, `clock.output_description`):

* ``"auto"`` (default) — `SoundDeviceOutput` when PortAudio has a default output device, else
  `SilentOutput` with the reason ("no audio output device: playing silently").
* `SilentOutput` — ``position = start + (monotonic() - t0) · rate``, same range/loop/end
  semantics: a machine without a sound card (CI) plays, scrolls and stops exactly the same.
* `PulledOutput` — the audio engine with no device attached: an audio host calls its
  `callback(outdata, frames, time_info, status)` exactly as PortAudio does (for tests, offline
  rendering, or another audio API such as a Qt audio sink in pull mode).
* `SoundDeviceOutput` — a `PulledOutput` driven by a `sounddevice.OutputStream`.

The audio engine (`PulledOutput`): the callback runs on the audio thread and must never wait for
disk or a lock. A worker thread (one per clock, which also watches for the end of the range) reads
ahead: it mixes the streams (`mix_streams`: each stream resampled to the device rate by soxr
through `AudioSource.resampled`, channels mapped to the device's, gain applied, silence before a
stream's start and after its end), time-stretches the mix (`studio.media.stretch.TimeStretch`,
WSOLA; identity at rate 1), and queues chunks of ~40 ms in a deque kept ~0.25 s full. Each chunk
carries the session time of its first frame and the session seconds per output frame (the rate),
and a loop wrap starts a new chunk, so time accounting is exact across stretch, loops and rate
changes. The callback copies chunks out and records, per piece, *when it will reach the DAC*:
``monotonic() + (outputBufferDacTime - currentTime)`` (PortAudio's own latency figure; the
stream's `latency` when the host reports no times). `position` finds the newest piece already
at the DAC and interpolates within it; it cannot run past the audio actually delivered (an
underrun freezes it, as the sound does). Starvation fills with silence and is counted
(`underruns`, `underrun_frames`); the device's own underflow flags in `device_underflows`.

Seeking, playing a new range, or changing the range bumps a generation number: the callback drops
queued chunks of older generations, so a seek is heard after the device latency plus one chunk.
Rate, gain, mute, offset, warp and loop changes take effect at the read-ahead point (≤ 0.25 s later),
seamlessly; `position` stays exact throughout because every chunk carries its own rate.

Semantics: `play()` with no arguments resumes from `position` within the current range (from
the range start if at or past its end); `play(start, end, loop)` sets the range (``end=None``:
the end of the session) and starts at `start`. The end of a range pauses the clock at the range
end and emits `finished`; with `loop` it wraps to the range start. `seek` outside the range while
playing drops the range (plays on to the session end). `stop()` pauses and goes back to where the
last `play` started. Positions are clamped to the session extent ``[min(0, offsets), duration]``,
where `duration` is the latest stream end (or a larger `set_duration`, for video-only sessions).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from psygnal import Signal

from studio.media.mixing import PlaybackStream, mix_streams
from studio.media.stretch import MAX_RATE, MIN_RATE, TimeStretch, check_rate

__all__ = [
    "PlaybackClock",
    "PlaybackStream",
    "SilentOutput",
    "PulledOutput",
    "SoundDeviceOutput",
    "mix_streams",
    "MIN_RATE",
    "MAX_RATE",
]

_EPS = 1e-9


# -- transport state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One uninterrupted stretch of playback: a new one (new `gen`) on play, seek, range change."""

    gen: int
    start: float
    lo: float
    hi: float
    loop: bool


def _wrap(p: float, run: _Run) -> float:
    if p < run.hi:
        return p
    if run.loop and run.hi - run.lo > _EPS:
        return run.lo + (p - run.lo) % (run.hi - run.lo)
    return run.hi


class SilentOutput:
    """No sound: a monotonic timer with the transport's semantics."""

    backend = "silent"

    def __init__(self, reason: str = "silent output") -> None:
        self.description = reason
        self._anchor: tuple[float, float, float, _Run] | None = None

    def attach(self, clock: PlaybackClock) -> None:
        """The silent timer needs nothing from the clock."""

    def begin(self, run: _Run, rate: float) -> None:
        self._anchor = (time.monotonic(), run.start, rate, run)

    def update(self, run: _Run, rate: float) -> None:
        """Same generation, new rate or loop flag: re-anchor at the current position."""
        self._anchor = (time.monotonic(), self.position(), rate, run)

    def halt(self) -> None:
        self._anchor = None

    def position(self) -> float:
        anchor = self._anchor
        if anchor is None:
            return 0.0
        t0, start, rate, run = anchor
        return _wrap(start + (time.monotonic() - t0) * rate, run)

    def service(self) -> tuple[float | None, int | None]:
        """(seconds until worth calling again, generation whose end was reached or None)."""
        anchor = self._anchor
        if anchor is None:
            return None, None
        t0, start, rate, run = anchor
        if run.loop and run.hi - run.lo > _EPS:
            return None, None
        left = t0 + (run.hi - start) / rate - time.monotonic()
        return (left, None) if left > 0 else (None, run.gen)

    close = halt


class _Chunk(NamedTuple):
    gen: int
    data: np.ndarray | None  # (frames, channels) float32; None marks the end of the run
    t: float  # session time of the first frame
    rate: float  # session seconds per output second


class _Piece(NamedTuple):
    gen: int
    dac: float  # monotonic time its first frame reaches the DAC
    t: float
    rate: float
    dur: float  # output seconds


class PulledOutput:
    """The audio engine; an audio host calls `callback` (PortAudio's signature) from its thread."""

    backend = "pull"
    CHUNK = 2048  # session frames mixed per step (~43 ms at 48 kHz)

    def __init__(
        self, rate: int = 48000, channels: int = 2, latency: float = 0.0, readahead: float = 0.25
    ) -> None:
        if rate < 1 or channels < 1:
            raise ValueError(f"need a positive rate and channel count, got {rate}, {channels}")
        self.rate = int(rate)
        self.channels = int(channels)
        self.latency = float(latency)  # used when the host reports no DAC time
        self.readahead = float(readahead)
        self.description = f"audio engine pulled by its host ({self.rate} Hz, {self.channels} ch)"
        self.underruns = self.underrun_frames = self.device_underflows = 0
        self._clock: weakref.ref[PlaybackClock] | None = None
        self._flock = threading.Lock()  # feeder state; never taken by the callback
        self._gen = -1
        self._active = False
        self._ring: deque[_Chunk] = deque()
        self._pieces: tuple[_Piece, ...] = ()
        self._pending = 0.0  # position until the run's first frame is heard
        self._end_at: tuple[int, float] | None = None  # (gen, monotonic time the end is heard)
        self._played: tuple[int, int] = (-1, 0)  # (gen, frames the callback took)
        self._cur: tuple[_Chunk, int] | None = None  # callback's partly played chunk
        # feeder (under _flock)
        self._run: _Run | None = None
        self._speed = 1.0
        self._head = 0
        self._produced = 0
        self._done = True
        self._ts: TimeStretch | None = None
        self._segments: list[tuple[float, int]] = []  # (stretcher input index, session frame)

    def attach(self, clock: PlaybackClock) -> None:
        self._clock = weakref.ref(clock)

    # -- transport (clock's thread, under the clock's lock) -------------------------------------
    def begin(self, run: _Run, rate: float) -> None:
        with self._flock:
            self._pending = run.start
            self._pieces = ()
            self._end_at = None
            self._ring = deque()
            self._gen = run.gen
            self._run = run
            self._speed = rate
            self._head = round(run.start * self.rate)
            self._produced = 0
            self._done = False
            self._ts = TimeStretch(self.channels, self.rate, rate)
            self._segments = []
            self._active = True
            self._fill(min(self.CHUNK, int(self.readahead * self.rate)))

    def update(self, run: _Run, rate: float) -> None:
        with self._flock:
            self._run = run
            self._speed = rate

    def halt(self) -> None:
        with self._flock:
            self._pending = self.position()
            self._active = False
            self._gen += 1
            self._run = None
            self._ring = deque()

    def position(self) -> float:
        gen, now = self._gen, time.monotonic()
        for p in reversed(self._pieces):
            if p.gen == gen and p.dac <= now:
                return p.t + min(now - p.dac, p.dur) * p.rate
        return self._pending

    def service(self) -> tuple[float | None, int | None]:
        end = self._end_at
        if end is not None and end[0] == self._gen:
            left = end[1] - time.monotonic()
            return (left, None) if left > 0 else (None, end[0])
        with self._flock:
            if self._active and not self._done:
                self._fill(int(self.readahead * self.rate))
        return 0.02, None

    def close(self) -> None:
        self.halt()

    # -- feeder (worker thread, under _flock) ----------------------------------------------------
    def _queued(self) -> int:
        gen, played = self._played
        return self._produced - (played if gen == self._gen else 0)

    def _fill(self, target: int) -> None:
        clock = self._clock() if self._clock is not None else None
        if clock is None or self._run is None or self._ts is None:
            return
        streams = clock.streams
        while not self._done and self._queued() < target:
            run, ts = self._run, self._ts
            lo, hi = round(run.lo * self.rate), round(run.hi * self.rate)
            if self._head >= hi and run.loop and hi > lo:
                self._head = lo
            n = min(self.CHUNK, hi - self._head)
            if ts.rate != self._speed:
                ts.rate = self._speed
            if n > 0:
                seg = (ts.pushed, self._head)
                if (
                    not self._segments
                    or self._segments[-1][1] + ts.pushed - self._segments[-1][0] != self._head
                ):
                    self._segments.append(seg)  # a new segment only where the input jumps (loop wrap)
                x = mix_streams(streams, self.rate, self.channels, self._head, n)
                self._head += n
                out, in_start = ts.process(x)
            else:
                out, in_start = ts.flush()
                self._done = True
            self._queue(out, in_start, ts.rate)
            if self._done:
                self._ring.append(_Chunk(self._gen, None, run.hi, ts.rate))
            while len(self._segments) > 1 and self._segments[1][0] <= ts.input_position:
                del self._segments[0]  # no output to come maps before the second segment

    def _queue(self, out: np.ndarray, in_start: float, rate: float) -> None:
        """Queue stretcher output, split where its input crosses a loop seam."""
        m, total = 0, out.shape[1]
        while m < total:
            pos = in_start + m * rate
            i = sum(1 for seg in self._segments[1:] if seg[0] <= pos + _EPS)
            seg_in, seg_frame = self._segments[i]
            stop = total
            if i + 1 < len(self._segments):  # the input wraps within this output: split there
                seam = self._segments[i + 1][0]
                stop = min(total, max(m + 1, int(np.ceil((seam - in_start) / rate - _EPS))))
            t = (seg_frame + (pos - seg_in)) / self.rate
            data = np.ascontiguousarray(out[:, m:stop].T)
            self._ring.append(_Chunk(self._gen, data, t, rate))
            self._produced += stop - m
            m = stop

    # -- audio thread ------------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Fill `outdata` (frames, channels) float32 as PortAudio's callback does. Never blocks."""
        now = time.monotonic()
        if status:
            self.device_underflows += 1
        gen, ring = self._gen, self._ring
        if not self._active:
            outdata.fill(0)
            return
        latency = self.latency
        if time_info is not None:
            lat = float(time_info.outputBufferDacTime) - float(time_info.currentTime)
            if time_info.outputBufferDacTime and 0.0 <= lat < 2.0:
                latency = lat
        dac0 = now + latency
        pos, pieces = 0, []
        played = self._played[1] if self._played[0] == gen else 0
        while pos < frames:
            if self._cur is None:
                try:
                    self._cur = (ring.popleft(), 0)
                except IndexError:
                    started = played > 0  # in this run: starving, not waiting for its first chunk
                    if started and (self._end_at is None or self._end_at[0] != gen):
                        self.underruns += 1
                        self.underrun_frames += frames - pos
                    break
            chunk, off = self._cur
            if chunk.gen != gen:
                if chunk.gen > gen:  # a seek raced with this call: keep it for the next one
                    break
                self._cur = None
                continue
            if chunk.data is None:
                if self._end_at is None or self._end_at[0] != gen:
                    self._end_at = (gen, dac0 + pos / self.rate)
                break
            n = min(frames - pos, chunk.data.shape[0] - off)
            outdata[pos : pos + n] = chunk.data[off : off + n]
            pieces.append(_Piece(gen, dac0 + pos / self.rate, chunk.t + off * chunk.rate / self.rate,
                                 chunk.rate, n / self.rate))  # fmt: skip
            self._cur = (chunk, off + n) if off + n < chunk.data.shape[0] else None
            pos += n
            played += n
        if pos < frames:
            outdata[pos:] = 0
        self._played = (gen, played)
        if pieces:
            old = [p for p in self._pieces if p.gen == gen and p.dac + p.dur > now - 0.5]
            self._pieces = (*old[-64:], *pieces)


def _weak_callback(ref: weakref.ref[PulledOutput]) -> Any:
    def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out = ref()
        if out is None:
            outdata.fill(0)
        else:
            out.callback(outdata, frames, time_info, status)

    return callback


class SoundDeviceOutput(PulledOutput):
    """The audio engine on a PortAudio output device (`sounddevice`); raises if there is none."""

    backend = "sounddevice"

    def __init__(self, device: int | str | None = None, rate: int | None = None, channels: int | None = None,
                 readahead: float = 0.25) -> None:  # fmt: skip
        import sounddevice as sd

        info = sd.query_devices(device, kind="output")  # PortAudioError / ValueError when there is none
        rate = int(rate or info["default_samplerate"])
        channels = int(channels or min(2, int(info["max_output_channels"])))
        if channels < 1:
            raise ValueError(f"audio device {info['name']!r} has no output channels")
        super().__init__(rate, channels, readahead=readahead)
        self._stream = sd.OutputStream(samplerate=rate, channels=channels, dtype="float32", device=device,
                                       callback=_weak_callback(weakref.ref(self)))  # fmt: skip
        self.latency = float(self._stream.latency)
        self.description = f"playing through {info['name']} ({rate} Hz, {channels} ch)"

    def begin(self, run: _Run, rate: float) -> None:
        super().begin(run, rate)
        if not self._stream.closed and not self._stream.active:
            self._stream.start()

    def halt(self) -> None:
        super().halt()
        if not self._stream.closed and self._stream.active:
            self._stream.abort()

    def close(self) -> None:
        self.halt()
        if not self._stream.closed:
            self._stream.close()


def _auto_output() -> SilentOutput | SoundDeviceOutput:
    try:
        return SoundDeviceOutput()
    except Exception as exc:  # no PortAudio library, no device, device busy: play silently
        detail = str(exc).strip() or type(exc).__name__
        return SilentOutput(f"no audio output device: playing silently ({detail})")


# -- the clock ---------------------------------------------------------------------------------


def _shutdown(wake: threading.Event, output: SilentOutput | PulledOutput) -> None:
    """A dropped clock: release the device and let the worker thread end."""
    try:
        output.close()
    finally:
        wake.set()


def _service_loop(ref: weakref.ref[PlaybackClock], wake: threading.Event) -> None:
    while True:
        clock = ref()
        if clock is None or clock._closed:
            return
        timeout = clock._service()
        del clock
        wake.wait(timeout)
        wake.clear()


class PlaybackClock:
    """The session's transport and audio output; see the module docstring."""

    state_changed = Signal(str)
    finished = Signal()
    seeked = Signal(float)
    rate_changed = Signal(float)
    failed = Signal(str)

    def __init__(self, output: str | SilentOutput | PulledOutput = "auto", duration: float = 0.0) -> None:
        if output == "auto":
            output = _auto_output()
        elif output == "silent":
            output = SilentOutput("silent output (requested)")
        elif output == "sounddevice":
            output = SoundDeviceOutput()
        elif isinstance(output, str):
            raise ValueError(
                f"output must be 'auto', 'silent', 'sounddevice' or an output object, got {output!r}"
            )
        self._output: SilentOutput | PulledOutput = output
        self._output.attach(self)
        self._lock = threading.RLock()
        self._streams: tuple[PlaybackStream, ...] = ()
        self._min_duration = float(duration)
        self._rate = 1.0
        self._pos = 0.0
        self._range: tuple[float, float | None] = (0.0, None)  # None: the session end
        self._loop = False
        self._state = "stopped"
        self._play_from = 0.0
        self._run: _Run | None = None
        self._gen = 0
        self._closed = False
        self.error: str | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._finalizer = weakref.finalize(self, _shutdown, self._wake, self._output)

    # -- description -----------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """'sounddevice', 'silent' or 'pull'."""
        return self._output.backend

    @property
    def output(self) -> SilentOutput | PulledOutput:
        return self._output

    @property
    def output_description(self) -> str:
        return self._output.description

    # -- streams ---------------------------------------------------------------------------------
    @property
    def streams(self) -> tuple[PlaybackStream, ...]:
        return self._streams

    def add_stream(
        self, source: Any, offset: float = 0.0, gain: float = 1.0, mute: bool = False, warp: Any = None
    ) -> PlaybackStream:
        stream = PlaybackStream(source, offset, gain, mute, warp)
        with self._lock:
            self._streams = (*self._streams, stream)
        return stream

    def remove_stream(self, stream: PlaybackStream) -> None:
        with self._lock:
            self._streams = tuple(s for s in self._streams if s is not stream)

    def set_duration(self, duration: float) -> None:
        """A minimum session length (e.g. a video's, for a session with no audio)."""
        self._min_duration = float(duration)

    @property
    def duration(self) -> float:
        """Session end: the latest stream end, or the `set_duration` value if larger."""
        return max([self._min_duration, 0.0, *(s.end for s in self._streams)])

    @property
    def extent(self) -> tuple[float, float]:
        return (min([0.0, *(s.start for s in self._streams)]), self.duration)

    def render(self, t0: float, t1: float, rate: int = 48000, channels: int = 2) -> np.ndarray:
        """The mix of session time [t0, t1) at `rate` Hz, rate 1 (offline: export, tests)."""
        first = round(t0 * rate)
        return mix_streams(self._streams, rate, channels, first, max(0, round(t1 * rate) - first))

    # -- state -----------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """'playing', 'paused' or 'stopped'."""
        return self._state

    @property
    def playing(self) -> bool:
        return self._state == "playing"

    @property
    def position(self) -> float:
        """Session time the listener hears now. Lock-free; safe from any thread."""
        run = self._run
        if run is None:
            return self._pos
        p = self._output.position()
        return min(max(p, run.lo), run.hi) if run.gen == self._gen else self._pos

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        value = check_rate(value)
        with self._lock:
            if value == self._rate:
                return
            self._rate = value
            if self._run is not None:
                self._output.update(self._run, value)
                self._wake.set()
        self.rate_changed.emit(value)

    @property
    def range(self) -> tuple[float, float]:
        """(start, end) of the play range; the whole session unless `play` or `range` set one."""
        lo, hi = self._range
        return (lo, self.duration if hi is None else hi)

    @range.setter
    def range(self, value: tuple[float, float] | None) -> None:
        with self._lock:
            self._range = (self.extent[0], None) if value is None else self._checked_range(*value)
            if self._run is not None:
                p = self.position
                lo, hi = self.range
                self._begin(p if lo <= p < hi else lo)

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        with self._lock:
            self._loop = bool(value)
            run = self._run
            if run is not None:
                self._run = replace(run, loop=self._loop)
                self._output.update(self._run, self._rate)
                self._wake.set()

    # -- transport -------------------------------------------------------------------------------
    def play(self, start: float | None = None, end: float | None = None, loop: bool | None = None) -> None:
        """Resume (no arguments) or play [start, end) (``end=None``: to the session end)."""
        with self._lock:
            if self._closed:  # checked under the lock: a racing close() cannot be followed by a new thread
                raise RuntimeError("the playback clock is closed")
            if start is not None or end is not None:
                lo = self.position if start is None else float(start)
                self._range = self._checked_range(lo, end)
                self._loop = bool(loop)
                t = self.range[0]
            else:
                if loop is not None:
                    self._loop = bool(loop)
                lo, hi = self.range
                t = self.position
                if not (lo <= t < hi):
                    t = lo
            self._play_from = t
            self._begin(t)
        self._set_state("playing")

    def pause(self) -> None:
        with self._lock:
            if self._run is None:
                return
            self._halt()
        self._set_state("paused")

    def stop(self) -> None:
        """Pause and go back to where the last `play` started."""
        with self._lock:
            self._halt()
            self._pos = self._play_from
        self._set_state("stopped")

    def seek(self, t: float) -> None:
        t = float(t)
        if not np.isfinite(t):
            raise ValueError(f"cannot seek to {t}")
        with self._lock:
            a, b = self.extent
            t = min(max(t, a), b)
            if self._run is not None:
                lo, hi = self.range
                if not (lo <= t < hi):
                    self._range, self._loop = (a, None), False
                self._begin(t)
            else:
                self._pos = t
        self.seeked.emit(t)

    def close(self) -> None:
        """Stop, release the audio device and end the worker thread (also done when the clock is dropped)."""
        with self._lock:
            self._halt()
            self._closed = True
            thread = self._thread
        self._finalizer()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)  # it ends at its next wake-up (set by the finalizer)

    def __enter__(self) -> PlaybackClock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------
    def _checked_range(self, start: float, end: float | None) -> tuple[float, float | None]:
        a, b = self.extent
        lo = min(max(float(start), a), b)
        if end is None:
            return (lo, None)
        hi = min(max(float(end), lo), b)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"play range must be finite, got {start}, {end}")
        return (lo, hi)

    def _begin(self, t: float) -> None:
        lo, hi = self.range
        run = _Run(self._gen + 1, min(max(t, lo), hi), lo, hi, self._loop)
        self._pos = run.start  # what `position` says until the new run is set
        self._gen = run.gen
        try:
            self._output.begin(run, self._rate)  # reads the first chunk: MediaError if a file is unreadable
        except BaseException:
            self._output.halt()
            self._run, self._pos = None, run.start
            if self._state == "playing":
                self._set_state("paused")
            raise
        self._run = run
        self.error = None
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=_service_loop, args=(weakref.ref(self), self._wake),
                                            name="studio-playback", daemon=True)  # fmt: skip
            self._thread.start()
        self._wake.set()

    def _halt(self) -> None:
        if self._run is not None:
            self._pos = self.position
            self._run = None
            self._gen += 1
            self._output.halt()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _service(self) -> float | None:
        if self._run is None:
            return None
        try:
            timeout, ended = self._output.service()
        except Exception as exc:  # MediaError (file gone mid-play), MemoryError ...
            with self._lock:
                self._halt()
                self.error = str(exc)
            self._set_state("paused")
            self.failed.emit(str(exc))
            return None
        if ended is not None:
            with self._lock:
                if self._run is None or self._run.gen != ended:
                    return 0.0
                hi = self._run.hi
                self._halt()
                self._pos = hi
            self._set_state("paused")
            self.finished.emit()
            return None
        return timeout
