"""Align two recordings of the same event, frame by frame: a time map from one to the other (Qt-free).

Two takes of a reading, a rehearsal and the performance, a camera's and a recorder's sound with
drifting clocks: an offset is not enough when one is locally faster. `align_streams_task` computes
log-mel features of both (10 ms), aligns them with DTW (exact, or multiscale for long recordings)
or canonical time warping (`studio.align.ctw`, for recordings whose features differ, e.g. two
microphones), and returns the time map: for every 10 ms of A, the matching time in B. The window
shows it as a curve tier ("B time at A time"); `TimeMap.map` converts times.

Measured (tests/align/test_streams.py, 12 s of the telephone conversation against itself 4 % faster
and 0.7 s later): DTW's map is 2 ms (median) from the truth, 5 ms at the 90th percentile; CTW's
353 ms (its path is pinned at both ends and the canonical space of two copies of one voice gains
nothing). The window's dialog offers DTW first and CTW for recordings of different kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled

__all__ = ["TimeMap", "align_streams", "align_streams_task", "time_map_alignment", "STREAM_METHODS"]

STREAM_METHODS = ("dtw", "ctw")  # ctw: experimental, see the module docstring
HOP = 0.01
CTW_MAX_CELLS = 4e7  # CTW iterates full DTWs: about 7 minutes against 7 minutes


@dataclass
class TimeMap:
    a_times: np.ndarray  # seconds in A, every 10 ms
    b_times: np.ndarray  # the matching second in B
    method: str
    cost: float
    details: dict[str, Any] = field(default_factory=dict)

    def map(self, t: Any) -> Any:
        """A time(s) → B time(s), linear between frames."""
        return np.interp(t, self.a_times, self.b_times)


def _load(path: Any) -> np.ndarray:
    from ..media.audio import AudioSource, open_audio

    if isinstance(path, AudioSource):
        return path.resampled(16000, mono=True).load().reshape(-1)
    with open_audio(path) as a:
        return a.resampled(16000, mono=True).load().reshape(-1)


def align_streams_task(a: Any, b: Any, *, method: str = "dtw") -> Task[TimeMap]:
    """The time map from recording `a` to recording `b` (paths or `AudioSource`s)."""
    from .tts_dtw import features_for_alignment

    if method not in STREAM_METHODS:
        raise ValueError(f"unknown method {method!r} (known: {', '.join(STREAM_METHODS)})")
    yield Progress(0.0, "reading the recordings")
    xa, xb = _load(a), _load(b)
    for x, name in ((xa, a), (xb, b)):
        if x.size < 1600:
            raise ValueError(f"{name}: shorter than 0.1 s, nothing to align")
    yield Progress(0.15, "features")
    X = features_for_alignment(xa, 16000, "logmel")
    Y = features_for_alignment(xb, 16000, "logmel")
    cells = float(len(X)) * len(Y)
    if method == "ctw":
        if cells > CTW_MAX_CELLS:
            raise ValueError(
                f"CTW of {len(X) * HOP:.0f} s against {len(Y) * HOP:.0f} s is too large (it repeats full DTWs); "
                "use DTW, which is multiscale for long recordings"
            )
        from .ctw import ctw_task

        res = yield from scaled(ctw_task(X, Y), 0.25, 0.95)
        path, cost = np.asarray(res.path), float(getattr(res, "cost", np.nan))
    else:
        if cells <= 6e7:
            from .dtw import dtw_task

            res = yield from scaled(dtw_task(X, Y, metric="cosine"), 0.25, 0.95)
        else:
            from .multiscale import multiscale_dtw_task

            res = yield from scaled(multiscale_dtw_task(X, Y, metric="cosine"), 0.25, 0.95)
        path, cost = np.asarray(res.path), float(res.normalized_cost)
    # each A frame: the mean of the B frames it is matched with
    n = len(X)
    sums = np.bincount(path[:, 0], weights=path[:, 1], minlength=n)
    counts = np.bincount(path[:, 0], minlength=n)
    b_frames = sums / np.maximum(counts, 1)
    yield Progress(1.0, "aligned")
    return TimeMap(np.arange(n) * HOP, b_frames * HOP, method, cost, {"frames_a": n, "frames_b": len(Y)})


def align_streams(a: Any, b: Any, **kw: Any) -> TimeMap:
    return run(align_streams_task(a, b, **kw))


def time_map_alignment(tm: TimeMap, a: str, b: str, *, name: str = "") -> Any:
    """The time map as a session `Alignment` (stored in `session.alignments`): its warp maps A's own
    time to B's own time (`WarpPath` pairs, source `a`, target `b`: the media names), and
    ``attrs = {"kind": "streams", "a": a, "b": b, "hop": HOP, "pins": []}``. The inspector shows it and
    the window can apply it to B's playback (`MediaRef.warp`)."""
    from ..core.session import Alignment, WarpPath

    b_times = np.maximum.accumulate(np.asarray(tm.b_times, dtype=float))
    pairs = np.column_stack([np.asarray(tm.a_times, dtype=float), b_times])
    return Alignment(
        name or f"{b} at {a}",
        WarpPath(pairs, a, b),
        method=tm.method,
        cost=float(tm.cost),
        attrs={"kind": "streams", "a": a, "b": b, "hop": HOP, "pins": []},
    )
