"""Align two recordings of the same event, frame by frame: a time map from one to the other (Qt-free).

Two takes of a reading, a rehearsal and the performance, a camera's and a recorder's sound with
drifting clocks: an offset is not enough when one is locally faster. `align_streams_task` computes
log-mel features of both (10 ms, 40 bands, normalised per band), aligns them and returns the time
map: for every 10 ms of A, the matching time in B. The window shows it as a curve tier ("B time at
A time"); `TimeMap.map` converts times. Methods (`STREAM_METHODS`) and the parameters that matter:

* ``"dtw"`` (default): exact DTW on the cosine cost, multiscale for long recordings (no size
  limit); ``band``: a Sakoe-Chiba band in seconds around the corner-to-corner diagonal (0 = none).
* ``"soft-dtw"`` (`studio.align.soft_dtw`): the expected alignment E under soft-min temperature
  ``gamma``; A frame i maps to the E-weighted mean B frame of its row (then made monotone); its
  cost is the E-weighted mean cost of a matched pair (DTW's is the path's mean). It
  keeps E, O(nm) memory, so it is capped at `SOFT_DTW_MAX_CELLS` (about 63 s against 63 s); it runs
  on the job's torch device (the numba kernel on the CPU).
* ``"ctw"``, ``"gctw"`` (`studio.align.ctw`, `studio.align.gctw`): canonical time warping, for
  recordings whose features differ (two microphones, a filtered copy): DTW in a space where the two
  correlate best; ``dims``: its dimension (None: by 90 % of the correlation energy). Both start
  from the DTW path, not the uniform time scaling of the papers: from the uniform start the 0.7 s
  delay below left CTW and GCTW at a 353 ms median error. (CTW takes ``init="dtw"``; GCTW, which has
  no ``init``, aligns A with B resampled along the DTW path, and its path is mapped back.) They
  repeat full DTWs, so they are capped at `CTW_MAX_CELLS` (about 63 s against 63 s).
* ``"deep-ctw"`` (`studio.align.deep_ctw`): CTW with small encoders (``hidden`` tanh units,
  ``epochs`` Adam steps per alternation; capped at `MAX_HIDDEN` / `MAX_EPOCHS`, at most 4
  alternations) trained on the job's torch device (float32 on Apple MPS, else float64).

Sizes and parameters a method cannot do are a ValueError saying why (`size_problem` says it before
the recordings are read, for the dialog).

Measured (tests/align/test_streams.py; 12 s of the telephone conversation against B; error of the
map at 0.5..11.5 s of A, median / 90th percentile, ms; run time on a 2-core CPU, reading and
features included, after the first call: numba compiles soft-DTW's kernel in ~1.4 s, torch's first
use adds ~1 s; deep CTW's training took 5-30 s while other jobs loaded the CPU). "same": B is A 4 % faster and 0.7 s later; "other mic": B band-passed to
300-3400 Hz, tilted (pre-emphasis 0.95) and with white noise at 10 dB SNR:

==================  ==========  ============  ==========
method (defaults)   same        other mic     time
==================  ==========  ============  ==========
DTW                 2.5 / 5.0   5.4 / 16.9    0.03 s
soft-DTW (γ = 1)    1.7 / 4.3   3.8 / 9.4     0.07 s
CTW                 2.3 / 4.6   3.5 / 11.5    0.05 s
GCTW                2.3 / 4.6   3.7 / 12.7    0.1-0.3 s
deep CTW            2.3 / 4.6   3.5 / 12.0    1-2 s
==================  ==========  ============  ==========

So DTW is the default (fast, no size limit); soft-DTW's averaging and the CTW family's canonical
space help when B sounds different (γ = 0.01 gave 5.0 / 15.4 there, γ = 0.3 4.9 / 12.4, γ = 3
2.9 / 12.7). Deep CTW ends where CTW does here: with the DTW start and its penalty on the nonlinear
branch the encoders stay near CTW's linear map on 12 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled

__all__ = [
    "CTW_MAX_CELLS",
    "METHOD_LABELS",
    "SOFT_DTW_MAX_CELLS",
    "STREAM_METHODS",
    "TimeMap",
    "align_streams",
    "align_streams_task",
    "size_problem",
    "time_map_alignment",
]

STREAM_METHODS = ("dtw", "soft-dtw", "ctw", "gctw", "deep-ctw")
METHOD_LABELS = {"dtw": "DTW", "soft-dtw": "Soft-DTW", "ctw": "CTW", "gctw": "GCTW", "deep-ctw": "Deep CTW"}
CTW_METHODS = ("ctw", "gctw", "deep-ctw")
HOP = 0.01
N_MELS = 40  # log-mel bands of `features_for_alignment`: the most `dims` can be
CTW_MAX_CELLS = 4e7  # the CTW family iterates full DTWs: about 63 s against 63 s
SOFT_DTW_MAX_CELLS = 4e7  # soft-DTW keeps V and E (float32): ~320 MB at the cap
MAX_HIDDEN, MAX_EPOCHS = 256, 500  # deep CTW: a small network, full-batch training
DEEP_CTW_MAX_ITER = 4
DEFAULT_GAMMA = 1.0


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


def size_problem(method: str, seconds_a: float, seconds_b: float) -> str | None:
    """Why `method` cannot align recordings this long (None when it can): the task's own limits."""
    cells = (seconds_a / HOP) * (seconds_b / HOP)
    if method == "soft-dtw" and cells > SOFT_DTW_MAX_CELLS:
        why = "it keeps the whole expected-alignment matrix"
    elif method in CTW_METHODS and cells > CTW_MAX_CELLS:
        why = "it repeats full DTWs"
    else:
        return None
    return (
        f"{METHOD_LABELS[method]} of {seconds_a:.0f} s against {seconds_b:.0f} s is too large ({why}); "
        "use DTW, which is multiscale for long recordings"
    )


def _check(method: str, band: float, gamma: float, dims: int | None, hidden: int, epochs: int) -> None:
    if method not in STREAM_METHODS:
        raise ValueError(f"unknown method {method!r} (known: {', '.join(STREAM_METHODS)})")
    if not (np.isfinite(band) and band >= 0):
        raise ValueError(f"band must be a number of seconds >= 0 (0 = none), not {band!r}")
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be > 0, not {gamma!r}")
    if dims is not None and not 1 <= dims <= N_MELS:
        raise ValueError(f"dims must be in [1, {N_MELS}] (the log-mel bands) or None, not {dims!r}")
    if not (1 <= hidden <= MAX_HIDDEN and 1 <= epochs <= MAX_EPOCHS):
        raise ValueError(
            f"deep CTW: hidden must be in [1, {MAX_HIDDEN}] and epochs in [1, {MAX_EPOCHS}], "
            f"not {hidden} and {epochs}"
        )


def _mean_b_frames(path: np.ndarray, n: int) -> np.ndarray:
    """Each A frame: the mean of the B frames the path matches it with."""
    sums = np.bincount(path[:, 0], weights=path[:, 1], minlength=n)
    return sums / np.maximum(np.bincount(path[:, 0], minlength=n), 1)


def _soft_dtw_path(X: np.ndarray, Y: np.ndarray, gamma: float, band: float | None, device: Any) -> Task:
    """Per A frame, the E-weighted mean B frame of soft-DTW's expected alignment (and soft-DTW)."""
    import torch

    from .soft_dtw import pairwise_cost, soft_alignment_from_cost

    dev = torch.device(device or "cpu")
    x = torch.as_tensor(X, device=dev)[None]
    y = torch.as_tensor(Y, device=dev)[None]
    yield Progress(0.1, "soft-DTW: expected alignment")
    d = pairwise_cost(x, y, "cosine")[0]
    e = soft_alignment_from_cost(d, gamma, band=band)
    mass = e.sum(dim=1)
    j = torch.arange(e.shape[1], device=e.device, dtype=e.dtype)
    b_frames = ((e @ j) / mass.clamp_min(1e-12)).double().cpu().numpy()
    expected_cost = float((e * d.nan_to_num(posinf=0.0)).sum() / e.sum())  # per matched pair, as DTW's
    yield Progress(1.0, "soft-DTW: done")
    return b_frames, float(mass.mean()), expected_cost


def align_streams_task(
    a: Any,
    b: Any,
    *,
    method: str = "dtw",
    band: float = 0.0,
    gamma: float = DEFAULT_GAMMA,
    dims: int | None = None,
    hidden: int = 32,
    epochs: int = 60,
    device: Any = None,
) -> Task[TimeMap]:
    """The time map from recording `a` to recording `b` (paths or `AudioSource`s).

    `band`: Sakoe-Chiba radius in seconds (0 = none; every method); `gamma`: soft-DTW's
    temperature; `dims`: the CTW family's canonical dimension (None: by correlation energy);
    `hidden`, `epochs`: deep CTW's encoder width and Adam steps per alternation; `device`: the torch
    device of soft-DTW and deep CTW (the device worker passes its own; None = CPU).
    """
    from .dtw import dtw_task
    from .tts_dtw import features_for_alignment

    _check(method, band, gamma, dims, hidden, epochs)
    yield Progress(0.0, "reading the recordings")
    xa, xb = _load(a), _load(b)
    for x, name in ((xa, a), (xb, b)):
        if x.size < 1600:
            raise ValueError(f"{name}: shorter than 0.1 s, nothing to align")
    problem = size_problem(method, xa.size / 16000, xb.size / 16000)
    if problem:
        raise ValueError(problem)
    yield Progress(0.15, "features")
    X = features_for_alignment(xa, 16000, "logmel")
    Y = features_for_alignment(xb, 16000, "logmel")
    n, m = len(X), len(Y)
    radius = max(1.0, round(band / HOP)) if band > 0 else None  # frames (a value < 1 is a fraction)
    details: dict[str, Any] = {"frames_a": n, "frames_b": m, "band": band}
    path = None
    if method == "soft-dtw":
        b_frames, mass, cost = yield from scaled(_soft_dtw_path(X, Y, gamma, radius, device), 0.25, 0.95)
        details["gamma"], details["mean_row_mass"] = gamma, mass
    elif method == "ctw":
        from .ctw import ctw_task

        res = yield from scaled(ctw_task(X, Y, n_components=dims, init="dtw", band=radius), 0.25, 0.95)
        path, cost, details["dims"] = res.path, float(res.cost), int(res.Vx.shape[1])
    elif method == "gctw":
        from .gctw import gctw_task

        # warm start: B resampled along the DTW path, so GCTW's uniform start is the DTW path
        start = yield from scaled(dtw_task(X, Y, metric="cosine", band=radius), 0.25, 0.4)
        warp = _mean_b_frames(np.asarray(start.path), n).round().astype(np.int64)
        res = yield from scaled(gctw_task([X, Y[warp]], n_components=dims, band=radius), 0.4, 0.95)
        pair = res.pair_path(0, 1)
        path, cost, details["dims"] = (
            np.column_stack([pair[:, 0], warp[pair[:, 1]]]),
            float(res.cost),
            int(res.projections[0].shape[1]),
        )
    elif method == "deep-ctw":
        import torch

        from .deep_ctw import deep_ctw_task

        dev = torch.device(device or "cpu")
        dtype = torch.float32 if dev.type == "mps" else torch.float64
        task = deep_ctw_task(
            X, Y, n_components=dims, hidden=hidden, epochs=epochs, max_iter=DEEP_CTW_MAX_ITER,
            init="dtw", band=radius, device=dev, dtype=dtype,
        )  # fmt: skip
        res = yield from scaled(task, 0.25, 0.95)
        path, cost = res.path, float(res.cost)
        details.update(dims=int(res.projection.Wa.shape[1]), hidden=hidden, epochs=epochs)
    else:
        res = yield from scaled(dtw_task(X, Y, metric="cosine", band=radius), 0.25, 0.95)
        path, cost = res.path, float(res.normalized_cost)
    if path is not None:
        b_frames = _mean_b_frames(np.asarray(path), n)
    b_frames = np.maximum.accumulate(np.asarray(b_frames, dtype=float))
    yield Progress(1.0, "aligned")
    return TimeMap(np.arange(n) * HOP, b_frames * HOP, method, cost, details)


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
