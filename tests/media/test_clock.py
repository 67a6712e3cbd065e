"""The playback clock: the silent timer for real, and the audio engine driven as PortAudio drives it.

There is no sound card on CI, so the audio engine (`PulledOutput`: mixer, read-ahead worker,
stretch, callback, DAC-time accounting) is run by `Device` below: a thread calling its callback in
real time with PortAudio's arguments — frames due by the wall clock, and the DAC time of the first
frame ``t0 + latency + frames_so_far / rate`` — recording what would be heard. Timing tolerances
are generous (≥ 30 ms): CI has two loaded cores.
"""

from __future__ import annotations

import gc
import math
import threading
import time
import types
import weakref
from pathlib import Path

import numpy as np
import pytest
import sounddevice as sd
import soundfile as sf

from studio.media.audio import open_audio
from studio.media.clock import PlaybackClock, PulledOutput, SilentOutput, mix_streams
from studio.media.probe import MediaError

SR_DEV = 48000
SR_SRC = 16000
LATENCY = 0.1  # a real device is 10–100 ms; a long one lets the thread below lag under load


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A: 3 s stereo 220 Hz tone with a click at 0.2 s; B: 3 s mono silence with a click at 1.0 s."""
    t = np.arange(3 * SR_SRC) / SR_SRC
    a = np.stack([0.05 * np.sin(2 * np.pi * 220 * t), 0.05 * np.sin(2 * np.pi * 220 * t)]).astype(np.float32)
    a[:, int(0.2 * SR_SRC)] = 0.9
    b = np.zeros(3 * SR_SRC, np.float32)
    b[SR_SRC] = 0.9
    paths = {"a": tmp_path / "a.wav", "b": tmp_path / "b.wav", "tone": tmp_path / "tone.wav"}
    sf.write(paths["a"], a.T, SR_SRC)
    sf.write(paths["b"], b, SR_SRC)
    sf.write(paths["tone"], (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR_SRC)
    return paths


@pytest.fixture
def silent() -> PlaybackClock:
    clock = PlaybackClock(output="silent", duration=10.0)
    yield clock
    clock.close()


@pytest.fixture
def engine() -> tuple[PlaybackClock, PulledOutput]:
    out = PulledOutput(SR_DEV, 2)
    clock = PlaybackClock(output=out)
    yield clock, out
    clock.close()


class Device:
    """Calls `out.callback` in real time like a PortAudio stream; `audio()` is what was played.

    The DAC plays the delivered frames back to back; the thread keeps `latency + ahead` seconds
    delivered. If the thread stalls (a loaded machine) until the DAC has run dry, the device
    underflows and resumes `latency` after the next call, as hardware does. `calls` keeps the
    DAC time of every buffer, so tests know exactly what had been heard at any moment.
    """

    def __init__(self, out: PulledOutput, latency: float = LATENCY, ahead: float = 0.05) -> None:
        self.out, self.latency, self.ahead = out, latency, ahead
        self.blocks: list[np.ndarray] = []
        self.calls: list[tuple[float, int, int]] = []  # (DAC time of the first frame, first frame, frames)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Device:
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        done, flags, dac_end = 0, sd.CallbackFlags(), self.t0 + self.latency
        while not self._stop.is_set():
            now = time.monotonic()
            dac = dac_end if dac_end > now else now + self.latency  # ran dry: an underflow, restart
            n = math.ceil((now + self.latency + self.ahead - dac) * SR_DEV)
            if n > 0:
                buf = np.full((n, 2), np.nan, np.float32)  # the callback must write every frame
                info = types.SimpleNamespace(currentTime=now, outputBufferDacTime=dac, inputBufferAdcTime=0.0)
                self.out.callback(buf, n, info, flags)
                self.blocks.append(buf)
                self.calls.append((dac, done, n))
                done += n
                dac_end = dac + n / SR_DEV
            time.sleep(0.005)

    def heard(self, when: float) -> float:
        """Output frames that had reached the listener at monotonic time `when`."""
        return sum(min(max((when - dac) * SR_DEV, 0.0), n) for dac, _, n in self.calls)

    def heard_at(self, frame: int) -> float:
        """Monotonic time output frame `frame` reached the listener."""
        for dac, first, n in self.calls:
            if first <= frame < first + n:
                return dac + (frame - first) / SR_DEV
        raise ValueError(f"frame {frame} was not played")

    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, 2), np.float32)


def wait_for(predicate, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def clicks(y: np.ndarray, threshold: float = 0.3) -> list[float]:
    """Times (s, output clock) of the click peaks in channel 0."""
    idx = np.flatnonzero(np.abs(y[:, 0]) > threshold)
    groups = np.split(idx, np.flatnonzero(np.diff(idx) > 100) + 1) if idx.size else []
    return [(g[0] + np.argmax(np.abs(y[g, 0]))) / SR_DEV for g in groups]


# -- choosing an output ----------------------------------------------------------------------------


def test_auto_output_says_which_backend_it_uses() -> None:
    try:
        sd.query_devices(kind="output")
        has_device = True
    except Exception:
        has_device = False
    with PlaybackClock() as clock:
        if has_device:
            assert clock.backend == "sounddevice"
            assert clock.output_description.startswith("playing through")
        else:
            assert clock.backend == "silent"
            assert clock.output_description.startswith("no audio output device: playing silently")
        if not has_device:
            with pytest.raises(sd.PortAudioError):
                PlaybackClock(output="sounddevice")
    with pytest.raises(ValueError, match="output must be"):
        PlaybackClock(output="speakers")


# -- the silent clock ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1.0, 2.0, 0.5])
def test_silent_clock_advances_in_real_time_at_its_rate(silent: PlaybackClock, rate: float) -> None:
    silent.rate = rate
    states: list[str] = []
    silent.state_changed.connect(states.append)
    silent.seek(1.0)
    t0 = time.monotonic()
    silent.play()
    t1 = time.monotonic()
    assert silent.playing and states == ["playing"]
    time.sleep(0.25)
    t2 = time.monotonic()
    p = silent.position
    t3 = time.monotonic()
    # it started between t0 and t1 and was read between t2 and t3: exact bounds, however loaded the machine
    assert 1.0 + rate * (t2 - t1) - 1e-6 <= p <= 1.0 + rate * (t3 - t0) + 1e-6
    assert p >= 1.0 + rate * 0.25


def test_pause_holds_and_play_resumes_from_there(silent: PlaybackClock) -> None:
    t0 = time.monotonic()
    silent.play()
    t1 = time.monotonic()
    time.sleep(0.1)
    t2 = time.monotonic()
    silent.pause()
    t3 = time.monotonic()
    held = silent.position
    assert silent.state == "paused" and t2 - t1 - 1e-6 <= held <= t3 - t0 + 1e-6
    time.sleep(0.1)
    assert silent.position == held
    t0 = time.monotonic()
    silent.play()
    t1 = time.monotonic()
    time.sleep(0.1)
    t2 = time.monotonic()
    p = silent.position
    t3 = time.monotonic()
    assert held + t2 - t1 - 1e-6 <= p <= held + t3 - t0 + 1e-6


def test_seek_paused_and_playing(silent: PlaybackClock) -> None:
    seen: list[float] = []
    silent.seeked.connect(seen.append)
    silent.seek(4.0)
    assert silent.position == 4.0 and not silent.playing
    silent.play()
    t0 = time.monotonic()
    silent.seek(7.5)
    t1 = time.monotonic()
    time.sleep(0.1)
    t2 = time.monotonic()
    p = silent.position
    assert 7.5 + t2 - t1 - 1e-6 <= p <= 7.5 + time.monotonic() - t0 + 1e-6
    silent.seek(99.0)  # clamped to the session
    silent.pause()
    assert silent.position == 10.0
    silent.seek(-5.0)
    assert silent.position == 0.0
    assert seen == [4.0, 7.5, 10.0, 0.0]
    with pytest.raises(ValueError):
        silent.seek(math.nan)


def test_play_range_stops_at_its_end_and_says_so(silent: PlaybackClock) -> None:
    done = threading.Event()
    silent.finished.connect(done.set)
    t0 = time.monotonic()
    silent.play(2.0, 2.2)
    assert silent.range == (2.0, 2.2)
    assert done.wait(3.0)
    elapsed = time.monotonic() - t0
    assert 0.19 < elapsed < 0.5
    assert silent.position == 2.2 and silent.state == "paused"
    done.clear()
    silent.play()  # at the end of the range: plays it again
    assert 2.0 <= silent.position < 2.05
    assert done.wait(3.0)


def test_play_range_at_double_rate_takes_half_the_time(silent: PlaybackClock) -> None:
    done = threading.Event()
    silent.finished.connect(done.set)
    silent.rate = 2.0
    t0 = time.monotonic()
    silent.play(0.0, 0.4)
    assert done.wait(3.0)
    assert 0.19 < time.monotonic() - t0 < 0.45


def test_loop_wraps_until_looping_is_turned_off(silent: PlaybackClock) -> None:
    done = threading.Event()
    silent.finished.connect(done.set)
    silent.play(1.0, 1.1, loop=True)
    seen = []
    end = time.monotonic() + 0.35
    while time.monotonic() < end:
        seen.append(silent.position)
        time.sleep(0.003)
    assert not done.is_set() and silent.playing
    assert all(1.0 <= p <= 1.1 for p in seen)
    assert sum(1 for a, b in zip(seen, seen[1:]) if b < a - 0.05) >= 2  # wrapped at least twice
    silent.loop = False
    assert done.wait(1.0)
    assert silent.position == pytest.approx(1.1)


def test_rate_change_while_playing_is_continuous(silent: PlaybackClock) -> None:
    rates: list[float] = []
    silent.rate_changed.connect(rates.append)
    silent.play()
    time.sleep(0.1)
    t0 = time.monotonic()
    before = silent.position
    silent.rate = 2.0
    after = silent.position
    t1 = time.monotonic()
    assert 0 <= after - before <= 2 * (t1 - t0) + 1e-6  # no jump
    time.sleep(0.15)
    t2 = time.monotonic()
    p = silent.position
    assert before + 2 * (t2 - t1) - 1e-6 <= p <= after + 2 * (time.monotonic() - t0) + 1e-6
    assert rates == [2.0]
    for bad in (0.4, 2.1, math.nan):
        with pytest.raises(ValueError, match="between 0.5 and 2.0"):
            silent.rate = bad


def test_stop_goes_back_to_where_play_started(silent: PlaybackClock) -> None:
    silent.play(3.0)
    time.sleep(0.05)
    silent.stop()
    assert silent.state == "stopped" and silent.position == 3.0


def test_seek_outside_the_range_while_playing_drops_the_range(silent: PlaybackClock) -> None:
    done = threading.Event()
    silent.finished.connect(done.set)
    silent.play(1.0, 1.2, loop=True)
    silent.seek(5.0)
    assert silent.range == (0.0, 10.0) and not silent.loop
    time.sleep(0.25)
    assert not done.is_set() and silent.position > 5.2


def test_an_empty_session_finishes_at_once() -> None:
    with PlaybackClock(output="silent") as clock:
        done = threading.Event()
        clock.finished.connect(done.set)
        assert clock.duration == 0.0
        clock.play()
        assert done.wait(2.0)
        assert clock.position == 0.0 and not clock.playing


def test_position_is_safe_to_poll_from_another_thread(silent: PlaybackClock) -> None:
    stop = threading.Event()
    polled: list[float] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            while not stop.is_set():
                polled.append(silent.position)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    rng = np.random.default_rng(3)
    silent.play()
    try:
        for i in range(300):
            t = float(rng.uniform(0, 9.5))
            before = time.monotonic()
            silent.seek(t)
            p = silent.position
            assert t <= p <= t + silent.rate * (time.monotonic() - before) + 1e-6
            if i % 50 == 0:
                silent.rate = float(rng.choice([0.5, 1.0, 2.0]))
            if i % 70 == 0:
                silent.pause()
                silent.play()
    finally:
        stop.set()
        poller.join(5)
    assert not errors and len(polled) > 100
    assert all(0.0 <= p <= 10.0 for p in polled)


def test_a_dropped_clock_is_freed_and_its_thread_ends() -> None:
    clock = PlaybackClock(output="silent", duration=5.0)
    clock.play()
    thread = clock._thread
    ref = weakref.ref(clock)
    del clock
    gc.collect()
    assert wait_for(lambda: ref() is None and not thread.is_alive(), 3.0)


# -- mixing streams with offsets -------------------------------------------------------------------


def test_streams_with_offsets_map_onto_session_time(files: dict[str, Path]) -> None:
    with PlaybackClock(output="silent") as clock:
        a = clock.add_stream(open_audio(files["a"]), offset=0.0)
        b = clock.add_stream(open_audio(files["b"]), offset=0.5)
        assert clock.duration == pytest.approx(3.5) and clock.extent == (0.0, pytest.approx(3.5))
        y = clock.render(0.0, 3.5, SR_DEV, 2).T
        assert y.shape == (round(3.5 * SR_DEV), 2)
        assert clicks(y) == [pytest.approx(0.2, abs=2 / SR_DEV), pytest.approx(1.5, abs=2 / SR_DEV)]
        np.testing.assert_allclose(y[:, 0], y[:, 1], atol=1e-6)  # mono B spread to both channels
        assert np.abs(y[round(3.1 * SR_DEV) :]).max() < 0.05  # after A's end only B: silence
        b.offset = -0.25  # B starts before session time 0
        assert clock.extent[0] == -0.25
        assert clicks(clock.render(0.0, 3.0, SR_DEV, 2).T) == [
            pytest.approx(0.2, abs=1e-4),
            pytest.approx(0.75, abs=1e-4),
        ]
        a.mute = True
        assert clicks(clock.render(0.0, 3.0, SR_DEV, 2).T) == [pytest.approx(0.75, abs=1e-4)]
        b.gain = 0.25
        assert clicks(clock.render(0.0, 3.0, SR_DEV, 2).T) == []
        clock.remove_stream(a)
        assert clock.streams == (b,)


def test_mixing_in_blocks_is_seamless_and_channels_fold(files: dict[str, Path]) -> None:
    with PlaybackClock(output="silent") as clock:
        clock.add_stream(open_audio(files["a"]), offset=0.3)
        whole = mix_streams(clock.streams, SR_DEV, 1, 0, 2 * SR_DEV)
        parts = [mix_streams(clock.streams, SR_DEV, 1, i, 4000) for i in range(0, 2 * SR_DEV, 4000)]
        np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=2e-4)
        assert clicks(whole.T) == [pytest.approx(0.5, abs=2 / SR_DEV)]  # stereo folded to mono
        with pytest.raises(TypeError, match="AudioSource-like"):
            clock.add_stream("not audio")


# -- the audio engine, driven like PortAudio ---------------------------------------------------------


def test_engine_plays_what_the_session_says_and_position_follows_the_dac(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path]
) -> None:
    clock, out = engine
    clock.add_stream(open_audio(files["a"]), offset=0.0)
    clock.add_stream(open_audio(files["b"]), offset=0.5)
    done = threading.Event()
    clock.finished.connect(done.set)
    clock.play(1.3, 1.7)
    assert clock.position == 1.3  # nothing heard yet: the latency
    samples = []
    with Device(out) as dev:
        while not done.is_set() and time.monotonic() < dev.t0 + 3:
            p, w = clock.position, time.monotonic()
            samples.append((w, p))
            time.sleep(0.01)
        finished_at = time.monotonic()
        time.sleep(0.05)
    assert done.is_set() and clock.position == 1.7 and clock.state == "paused"
    heard = clicks(dev.audio())
    assert heard == [pytest.approx(0.2, abs=2 / SR_DEV)]  # session 1.5 = B's media 1.0, 0.2 s after 1.3
    for w, p in samples:  # what the listener hears: 1.3 + the output heard so far
        assert p == pytest.approx(min(1.7, 1.3 + dev.heard(w) / SR_DEV), abs=0.03)
    assert finished_at == pytest.approx(dev.heard_at(round(0.4 * SR_DEV) - 1), abs=0.1)
    assert out.underruns == 0


@pytest.mark.parametrize("rate", [2.0, 0.5])
def test_engine_at_another_rate_keeps_time_and_pitch(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path], rate: float
) -> None:
    clock, out = engine
    clock.add_stream(open_audio(files["tone"]), offset=1.5)  # a 440 Hz tone starting at session 1.5
    clock.rate = rate
    span = 0.3 * rate  # 0.3 s of listening
    start, end = 1.5 - span / 2, 1.5 + span / 2
    clock.play(start, end)
    samples = []
    with Device(out) as dev:
        while clock.playing and time.monotonic() < dev.t0 + 3:
            samples.append((time.monotonic(), clock.position))
            time.sleep(0.01)
    assert not clock.playing and clock.position == pytest.approx(end)
    for w, p in samples:  # session time runs `rate` times faster than the wall clock
        assert p == pytest.approx(min(end, start + rate * dev.heard(w) / SR_DEV), abs=0.03 * rate)
    y = dev.audio()[:, 0]
    onset = np.flatnonzero(np.abs(y) > 0.05)[0] / SR_DEV
    assert onset == pytest.approx(0.15, abs=0.03)  # session 1.5 is heard half-way through
    assert np.abs(y[round(0.31 * SR_DEV) :]).max() == 0.0  # and nothing after the end
    tone = y[round((onset + 0.02) * SR_DEV) : round(0.3 * SR_DEV)]
    f = np.fft.rfftfreq(len(tone), 1 / SR_DEV)
    spectrum = np.abs(np.fft.rfft(tone * np.hanning(len(tone))))
    assert f[np.argmax(spectrum)] == pytest.approx(440, abs=8)  # the pitch is kept (bins are 8 Hz wide)


@pytest.mark.parametrize("rate", [1.0, 1.5])
def test_engine_loops_and_the_position_wraps(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path], rate: float
) -> None:
    clock, out = engine
    clock.add_stream(open_audio(files["b"]), offset=0.5)
    clock.rate = rate
    clock.play(1.4, 1.55, loop=True)
    seen = []
    with Device(out) as dev:
        end = dev.t0 + 0.6
        while time.monotonic() < end:
            seen.append((time.monotonic(), clock.position))
            time.sleep(0.005)
        assert clock.playing
        clock.loop = False
        assert wait_for(lambda: not clock.playing, 1.0)
    lap = 0.15 / rate
    for w, p in seen:  # a sawtooth: 1.4 + (session time heard so far) mod 0.15
        expected = 1.4 + (rate * dev.heard(w) / SR_DEV) % 0.15
        assert 1.4 <= p <= 1.55
        assert p == pytest.approx(expected, abs=0.03) or min(expected - 1.4, 1.55 - expected) < 0.03
    assert sum(1 for (_, a), (_, b) in zip(seen, seen[1:]) if b < a - 0.05) >= 2
    heard = clicks(dev.audio(), threshold=0.2)
    assert len(heard) >= 3
    exact = 2 / SR_DEV if rate == 1.0 else 0.01  # sample-exact at rate 1; ± the stretch search otherwise
    np.testing.assert_allclose(np.diff(heard[:3]), lap, atol=exact)  # once per lap
    assert heard[0] == pytest.approx(0.1 / rate, abs=exact)
    assert clock.position == pytest.approx(1.55)


def test_engine_seek_while_playing_drops_what_was_queued(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path]
) -> None:
    clock, out = engine
    clock.add_stream(open_audio(files["b"]), offset=0.5)
    clock.play(0.0)
    with Device(out) as dev:
        time.sleep(0.15)
        seek_frame = sum(len(b) for b in dev.blocks)
        clock.seek(1.4)
        assert clock.position == 1.4
        time.sleep(0.35)
        p, heard = clock.position, dev.heard(time.monotonic())
        assert p == pytest.approx(1.4 + (heard - seek_frame) / SR_DEV, abs=0.03)
    heard = clicks(dev.audio())
    assert len(heard) == 1  # only the click after the seek, 0.1 s after the new audio begins
    assert heard[0] - seek_frame / SR_DEV == pytest.approx(0.1, abs=0.04)


def test_engine_underrun_is_silence_counted_and_position_stops_with_the_sound(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path]
) -> None:
    clock, out = engine
    clock.add_stream(open_audio(files["a"]), offset=0.0)
    clock.play(0.0)
    big = np.full((SR_DEV, 2), np.nan, np.float32)  # a host asking for a whole second at once
    now = time.monotonic()
    out.callback(big, SR_DEV, types.SimpleNamespace(currentTime=now, outputBufferDacTime=now), None)
    assert not np.isnan(big).any()
    played = int(np.flatnonzero(np.abs(big[:, 0]) > 0)[-1]) + 1
    assert 0 < played < SR_DEV and np.all(big[played:] == 0)
    assert out.underruns == 1 and out.underrun_frames == SR_DEV - played
    time.sleep(max(0.0, played / SR_DEV + 0.05 - (time.monotonic() - now)))
    assert clock.position == pytest.approx(played / SR_DEV, abs=1e-3)  # frozen where the sound stopped


def test_engine_without_dac_times_uses_the_stream_latency(files: dict[str, Path]) -> None:
    out = PulledOutput(SR_DEV, 1, latency=0.2)
    with PlaybackClock(output=out) as clock:
        clock.add_stream(open_audio(files["a"]))
        clock.play(1.0)
        buf = np.empty((480, 1), np.float32)
        out.callback(buf, 480, types.SimpleNamespace(currentTime=5.0, outputBufferDacTime=0.0), None)
        t0 = time.monotonic()
        assert clock.position == 1.0
        time.sleep(0.25)
        assert wait_for(lambda: time.monotonic() - t0 > 0.22)
        assert clock.position == pytest.approx(1.0 + 480 / SR_DEV)  # heard 0.2 s later, then nothing more


def test_engine_reports_a_source_that_fails_mid_play(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path]
) -> None:
    clock, out = engine
    src = open_audio(files["a"])
    clock.add_stream(src)
    failures: list[str] = []
    got = threading.Event()
    clock.failed.connect(lambda msg: (failures.append(msg), got.set()))
    clock.play(0.0)
    src.close()
    with Device(out):
        assert got.wait(3.0)
    assert not clock.playing and clock.state == "paused"
    assert "a.wav" in failures[0] and "closed" in failures[0]
    assert clock.error == failures[0]
    with pytest.raises(MediaError):
        src.read(0, 10)


def test_playing_an_unreadable_source_raises_and_leaves_the_clock_stopped(
    engine: tuple[PlaybackClock, PulledOutput], files: dict[str, Path]
) -> None:
    clock, out = engine
    src = open_audio(files["a"])
    clock.add_stream(src)
    clock.seek(1.0)
    src.close()
    with pytest.raises(MediaError, match="a.wav"):
        clock.play()
    assert not clock.playing and clock.state == "stopped" and clock.position == 1.0
    buf = np.full((256, 2), np.nan, np.float32)
    out.callback(buf, 256, None, None)
    assert np.all(buf == 0)


def test_pulled_output_needs_sane_settings() -> None:
    with pytest.raises(ValueError):
        PulledOutput(0, 2)
    assert SilentOutput().backend == "silent"


def test_close_ends_the_worker_thread_before_returning() -> None:
    for output in ("silent", PulledOutput(SR_DEV, 2)):
        clock = PlaybackClock(output=output, duration=5.0)
        clock.play()
        thread = clock._thread
        assert thread is not None and thread.is_alive()
        clock.close()
        assert not thread.is_alive()


def test_close_from_a_finished_handler_on_the_worker_thread() -> None:
    clock = PlaybackClock(output="silent", duration=0.05)
    done = threading.Event()
    clock.finished.connect(lambda: (clock.close(), done.set()))
    clock.play()
    assert done.wait(3.0)
    assert wait_for(lambda: not clock._thread.is_alive(), 3.0)


def test_a_warped_stream_plays_along_its_warp(tmp_path: Path) -> None:
    """Varispeed: a stream whose warp says "your clock runs 1 % fast" plays its 1 kHz tone at 990 Hz
    and its clicks where the warp puts them; an identity warp changes nothing."""
    from studio.core.session import WarpPath

    sr = 48000
    t = np.arange(4 * sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    x[sr * 2 : sr * 2 + 48] = 0.9  # a click at 2 s (media time)
    path = tmp_path / "tone.wav"
    sf.write(path, x, sr)
    with PlaybackClock(output="silent") as clock:
        s = clock.add_stream(open_audio(path), offset=0.5)
        plain = clock.render(0.0, 4.5, sr, 1)[0]
        s.warp = WarpPath([[0.0, 0.0], [1.0, 1.0]])  # identity (slope 1 outside too)
        np.testing.assert_allclose(clock.render(0.0, 4.5, sr, 1)[0], plain, atol=1e-5)
        # shifted session time u plays media time u / 1.01: everything lasts 1 % longer
        s.warp = WarpPath([[0.0, 0.0], [404.0, 400.0]])
        assert s.start == pytest.approx(0.5) and s.end == pytest.approx(0.5 + 4 * 1.01)
        assert clock.duration == pytest.approx(0.5 + 4 * 1.01)
        y = clock.render(0.0, 4.6, sr, 1)[0]
        seg = y[int(1.0 * sr) : int(2.0 * sr)]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
        assert np.fft.rfftfreq(seg.size, 1 / sr)[np.argmax(spectrum)] == pytest.approx(1000 / 1.01, abs=1.5)
        click = (int(2.4 * sr) + np.argmax(y[int(2.4 * sr) : int(2.7 * sr)] > 0.8)) / sr
        assert click == pytest.approx(0.5 + 2 * 1.01, abs=1e-3)
        assert np.abs(y[: int(0.49 * sr)]).max() == 0.0 and np.abs(y[int(4.55 * sr) :]).max() == 0.0
        # blocks join seamlessly (the feeder mixes 2048 frames at a time)
        blocks = np.concatenate([mix_streams([s], sr, 1, f, 2048)[0] for f in range(0, len(y), 2048)])
        np.testing.assert_allclose(blocks[: len(y)], y, atol=1e-6)
