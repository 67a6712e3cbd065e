"""Shared pieces of the UI benchmarks (bench/ui_*.py): the Qt application, test media, statistics.

* `app()` — the QApplication, offscreen unless QT_QPA_PLATFORM says otherwise, so the benchmarks
  run on a machine without a display (the frame times then are those of Qt's raster engine, which
  is what every widget of Studio paints with anyway).
* `long_wav(minutes)` — the 48 kHz stereo 16-bit WAV of bench/media_envelope.py (noise under a
  slow gain curve), written once into the temp folder and reused when it is already there.
* `temp_cache()` — a fresh, empty ``STUDIO_CACHE_DIR`` (envelopes, decoded audio, video indexes
  are built, never loaded), removed at exit.
* `TickMeter` — a 5 ms precise QTimer that records the gaps between its ticks: a gap longer than
  the interval is time the UI thread could not answer (a stall the user feels).
* `pump(seconds)` / `pump_until(cond, timeout)` — run the event loop (what the window's loop does).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RATE = 48000


def app():  # noqa: ANN201 - QApplication
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["bench"])


def pin_cores(cores: int | None) -> str:
    """Pin this process to its first `cores` allowed CPUs; returns a description."""
    allowed = sorted(os.sched_getaffinity(0))
    if cores and cores < len(allowed):
        os.sched_setaffinity(0, allowed[:cores])
        return f"{cores} of {len(allowed)} cores"
    return f"{len(allowed)} cores"


def long_wav(minutes: float) -> Path:
    """The test WAV of `minutes` (48 kHz stereo int16), made once per temp folder."""
    from media_envelope import make_wav

    path = Path(tempfile.gettempdir()) / f"studio_bench_envelope_{minutes:g}min.wav"
    expected = int(minutes * 60 * RATE) * 4 + 44
    if not (path.exists() and path.stat().st_size == expected):
        t = time.perf_counter()
        make_wav(path, minutes)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    return path


def temp_cache() -> Path:
    """A new empty STUDIO_CACHE_DIR for what follows (removed when the process exits)."""
    path = Path(tempfile.mkdtemp(prefix="studio_bench_ui_cache_"))
    atexit.register(shutil.rmtree, path, True)
    os.environ["STUDIO_CACHE_DIR"] = str(path)
    return path


def evict(path: Path) -> None:
    """Drop `path` from the page cache, so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def stats(values_ms: list[float] | np.ndarray) -> dict[str, float]:
    v = np.asarray(values_ms, dtype=float)
    if v.size == 0:
        return {
            "n": 0,
            "mean": float("nan"),
            "median": float("nan"),
            "p95": float("nan"),
            "p99": float("nan"),
            "max": float("nan"),
        }
    return {
        "n": int(v.size),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "p95": float(np.percentile(v, 95)),
        "p99": float(np.percentile(v, 99)),
        "max": float(v.max()),
    }


def pump(seconds: float) -> None:
    """Run the Qt event loop for `seconds` (timers fire, queued signals arrive, widgets paint)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(int(seconds * 1000), 0), loop.quit)
    loop.exec()


def pump_until(cond: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        pump(step)
    return True


class TickMeter:
    """Records the gaps between the ticks of a precise `interval_ms` timer on the UI thread."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last: float | None = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1e3)
        self._last = now

    def start(self) -> None:
        self.gaps, self._last = [], None
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        s = stats(self.gaps)
        s["over_50"] = int(sum(g > 50 for g in self.gaps))
        return s
