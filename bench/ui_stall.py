"""Benchmark: does the UI thread stay responsive while a waveform envelope is built in the background?

    QT_QPA_PLATFORM=offscreen python bench/ui_stall.py [--minutes 120] [--cold] [--cores N] [--no-pan] [--keep]

The window builds the envelope of a newly opened recording as a job (`studio.qt.jobs.JobRunner`,
two worker threads) while the user keeps working. A worker holding the GIL too long, or a flood of
queued progress signals, would freeze the window; this measures it: a precise 5 ms QTimer on the UI
thread records the gap between its ticks, and a gap well over 5 ms is time the window could not
answer (goal: max gap < 50 ms; p99 shown as well).

Phases, each with a fresh, empty `STUDIO_CACHE_DIR` (so the envelope is built, never loaded):

* **idle** — the timer alone for 2 s: what the timer itself gives on this machine;
* **envelope build** — `build_envelope_task(open_audio(wav))` submitted to a `JobRunner`, from the
  submit to the `finished` signal (build time printed as well);
* **spectrogram pan** — a `SpectrogramTrack` (1600×200, shown offscreen, tiles on demand as in the
  window) whose view (20 s wide) pans by 1/20 of its width every 16 ms, for as long as the build
  took (5 s at least): the UI thread now also paints, and tile jobs share the two workers;
* **build + pan** — both at once (the tile jobs and the envelope job share the two workers).

The WAV is the 48 kHz stereo 16-bit file of bench/media_envelope.py (`--minutes`, default 2 hours,
~1.4 GB in the temp folder; kept with `--keep`). `--cold` evicts it from the page cache before each
build. `--cores N` pins the process to N CPUs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import _ui  # noqa: F401  (sets sys.path and the offscreen platform)
from _ui import TickMeter, app, evict, long_wav, pin_cores, pump, pump_until, temp_cache

GOAL_MAX_MS = 50.0


class Build:
    """The envelope build job, as the window submits it."""

    def __init__(self, runner, wav: Path, cold: bool) -> None:  # noqa: ANN001
        from studio.media.audio import open_audio
        from studio.media.envelope import build_envelope_task

        if cold:
            evict(wav)
        self.progress = 0
        self.result = None
        self.error: str | None = None
        self.source = open_audio(wav)
        self.t0 = time.perf_counter()
        self.t1: float | None = None
        self.job = runner.submit(
            build_envelope_task(self.source),
            name="envelope",
            on_result=self._done,
            on_error=self._failed,
            on_progress=self._progress,
        )

    def _progress(self, p) -> None:  # noqa: ANN001
        self.progress += 1

    def _done(self, env) -> None:  # noqa: ANN001
        self.t1 = time.perf_counter()
        self.result = env

    def _failed(self, message: str, tb: str) -> None:
        self.t1 = time.perf_counter()
        self.error = message

    @property
    def finished(self) -> bool:
        return self.t1 is not None

    @property
    def seconds(self) -> float:
        return (self.t1 or time.perf_counter()) - self.t0


class Panner:
    """A shown SpectrogramTrack whose view pans across the file every `step_ms`."""

    def __init__(self, runner, wav: Path, span: float = 20.0, step_ms: int = 16) -> None:  # noqa: ANN001
        from PySide6.QtCore import Qt, QTimer

        from studio.media.audio import open_audio
        from studio.media.spectrogram import SpectrogramService
        from studio.qt.spectrogram_view import SpectrogramTrack
        from studio.qt.timeview import TimeView

        class Timed(SpectrogramTrack):
            def paintEvent(inner, event) -> None:  # noqa: ANN001, N805
                t = time.perf_counter()
                super().paintEvent(event)
                self.paints.append((time.perf_counter() - t) * 1e3)

        self.paints: list[float] = []
        self.source = open_audio(wav)
        self.view = TimeView()
        self.view.set_extent(0.0, self.source.duration)
        self.view.set_range(0.0, span)
        self.track = Timed(self.view, "spectrogram", runner, SpectrogramService(self.source))
        self.track.resize(1600, 200)
        self.track.show()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(step_ms)
        self.timer.timeout.connect(self._step)
        self.steps = 0

    def _step(self) -> None:
        t0, t1 = self.view.range
        e1 = self.view.extent[1]
        if t1 >= e1:
            self.view.set_range(0.0, t1 - t0)
        else:
            self.view.pan((t1 - t0) / 20)
        self.steps += 1

    def start(self) -> None:
        self.paints.clear()
        self.steps = 0
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def close(self) -> None:
        self.stop()
        self.track.set_service(None)
        self.track.close()
        self.track.deleteLater()


def phase_build(runner, wav: Path, cold: bool, panner: Panner | None) -> dict:  # noqa: ANN001
    temp_cache()
    meter = TickMeter(5)
    meter.start()
    if panner is not None:
        panner.start()
    build = Build(runner, wav, cold)
    ok = pump_until(lambda: build.finished, timeout=600)
    if panner is not None:
        panner.stop()
    r = meter.stop()
    if not ok or build.error:
        raise SystemExit(f"envelope build failed: {build.error or 'timed out'}")
    r["build_s"] = build.seconds
    r["progress"] = build.progress
    if panner is not None:
        r["pans"] = panner.steps
        r["paints"] = len(panner.paints)
        r["paint_max"] = max(panner.paints, default=float("nan"))
    return r


def phase_pan(runner, panner: Panner, seconds: float) -> dict:  # noqa: ANN001
    temp_cache()
    meter = TickMeter(5)
    meter.start()
    panner.start()
    pump(seconds)
    panner.stop()
    r = meter.stop()
    r["pans"] = panner.steps
    r["paints"] = len(panner.paints)
    r["paint_max"] = max(panner.paints, default=float("nan"))
    runner.cancel_all()
    pump_until(lambda: not runner.jobs, timeout=30)
    return r


def row(name: str, r: dict) -> str:
    verdict = "ok" if r["max"] < GOAL_MAX_MS else "OVER"
    extra = ""
    if "build_s" in r:
        extra += f"  build {r['build_s']:5.2f} s ({r['progress']} progress signals)"
    if "pans" in r:
        extra += f"  {r['pans']} pans, {r['paints']} paints (max {r['paint_max']:.1f} ms)"
    return (
        f"  {name:<16} {r['n']:6d} {r['median']:7.2f} {r['p99']:7.2f} {r['max']:7.1f} {r['over_50']:5d}"
        f"   {verdict:<4}{extra}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0, help="length of the WAV (default 2 hours)")
    ap.add_argument("--cold", action="store_true", help="evict the WAV from the page cache before each build")
    ap.add_argument("--cores", type=int, default=None, help="pin the process to this many CPUs")
    ap.add_argument("--no-pan", action="store_true", help="skip the spectrogram phases")
    ap.add_argument("--keep", action="store_true", help="keep the generated WAV for the next run")
    a = ap.parse_args()
    cores = pin_cores(a.cores)
    wav = long_wav(a.minutes)
    qapp = app()
    from studio.qt.jobs import JobRunner

    runner = JobRunner(threads=2)
    results: list[tuple[str, dict]] = []
    panner = None
    try:
        meter = TickMeter(5)
        meter.start()
        pump(2.0)
        results.append(("idle", meter.stop()))
        build = phase_build(runner, wav, a.cold, None)
        results.append(("envelope build", build))
        if a.no_pan:
            note = "spectrogram phases skipped (--no-pan)"
        else:
            note = ""
            panner = Panner(runner, wav)
            pump(0.2)
            results.append(("spectrogram pan", phase_pan(runner, panner, max(build["build_s"], 5.0))))
            results.append(("build + pan", phase_build(runner, wav, a.cold, panner)))
    finally:
        if panner is not None:
            panner.close()
        runner.shutdown(wait=True)
        if not a.keep:
            wav.unlink(missing_ok=True)
    del qapp
    print(
        f"\nUI-thread stall, 5 ms precise QTimer; envelope of {a.minutes:g} min 48 kHz stereo 16-bit "
        f"({'cold' if a.cold else 'warm'} page cache), {cores}, platform {os.environ['QT_QPA_PLATFORM']}"
    )
    print(
        f"  {'phase':<16} {'ticks':>6} {'median':>7} {'p99':>7} {'max':>7} {'>50ms':>5}   (gaps in ms; goal max < 50 ms)"
    )
    for name, r in results:
        print(row(name, r))
    if note:
        print(f"  {note}")


if __name__ == "__main__":
    main()
