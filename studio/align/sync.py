"""Offset and drift between two recordings of one event (camera and microphone, two microphones).

Convention: the result's ``offset`` is the time to **add to B's clock to get A's clock**: an event at
time ``tb`` in B happens at ``ta = tb + offset`` in A (so ``offset`` is what goes into B's
`MediaRef.offset` when A sits at offset 0). ``drift_ppm`` is B's clock rate error relative to A in
parts per million: ``ta ≈ offset + tb · (1 + drift_ppm·1e-6)``.

**Audio ↔ audio** (`sync_audio`):

1. *Offset*: both files are analysed at 16 kHz mono into onset-strength envelopes (100 frames/s,
   `studio.media.features`); the Pearson correlation of their overlapping parts at every lag
   (products by one FFT, means and variances of each overlap by cumulative sums, so large lags are
   not penalised and a loud passage does not pull the result) peaks at the offset; a parabola through the peak and its
   neighbours gives sub-frame precision. Onset envelopes are used rather than raw samples because
   they survive different microphones, gains, rooms and codecs, and make the search over minutes of
   lag cheap.
2. *Drift*: with the offset known, successive 10 s windows of B are located in A by the same
   correlation, each refined to a fraction of a frame; a robust line (Theil–Sen) through the
   (B time, A time) pairs gives the rate. A DTW path on MFCC frames was tried first: its steps are
   whole 10 ms frames, and a drift of 100 ppm moves only 6 ms in a minute, so the path stayed on
   the diagonal and reported 0 ppm; the windowed correlation measures it (see the tests). Drift is
   only estimated when the overlap is at least ``min_drift_span`` seconds.
3. *Confidence* in [0, 1]: how much the correlation peak stands out from the best value outside
   its own lobe (``1 - second/peak``), times the peak correlation itself.

**Audio ↔ video** (`sync_av`): audio log-energy (RMS, resampled to the video frame times) against
mouth-region motion (`mouth` features: Haar face box, frame differences in the mouth region). Both
are z-scored; the normalised cross-correlation over lags gives the offset of the audio relative to
the video, refined by a parabola. Speech energy and lip movement are only loosely coupled (the
mouth moves before the sound), so expect a frame or two of error on short clips; the confidence says
how clear the peak was. `docs/alignment.md` has the measured accuracy on the GRID clips.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["SyncResult", "sync_audio", "sync_av", "xcorr_offset", "drift_warp", "playback_warp", "follow_map"]

HOP = 0.01


@dataclass
class SyncResult:
    offset: float  # seconds to add to B's time to get A's time
    drift_ppm: float
    confidence: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["offset"] = round(self.offset, 6)
        d["drift_ppm"] = round(self.drift_ppm, 3)
        d["confidence"] = round(self.confidence, 4)
        return d

    def map_time(self, tb: float | np.ndarray) -> float | np.ndarray:
        """B time → A time."""
        return self.offset + np.asarray(tb) * (1.0 + self.drift_ppm * 1e-6)


def drift_warp(drift_ppm: float, duration: float = 86400.0, name: str = "") -> Any:
    """The `MediaRef.warp` that corrects B's clock drift (`SyncResult.drift_ppm`) over its
    `duration` seconds: shifted session time ``u`` plays B's time ``u / (1 + drift·1e-6)``, so
    ``B.offset = A.offset + result.offset`` and this warp put every moment of B where A has it."""
    from ..core.session import WarpPath

    if not np.isfinite(drift_ppm) or abs(drift_ppm) >= 1e5:
        raise ValueError(f"drift of {drift_ppm} ppm is not a clock drift")
    k = 1.0 + drift_ppm * 1e-6
    d = max(float(duration), 1.0)
    return WarpPath([[0.0, 0.0], [d * k, d]], f"drift {drift_ppm:+.1f} ppm", name)


def playback_warp(warp: Any, step: float = 0.5, max_rate: float = 1.25) -> Any:
    """A warp fit to play through (`MediaRef.warp`), from a frame-level one (a DTW time map).

    A DTW path moves in whole 10 ms frames, so its local rate jumps between 0, 1 and 2; audio
    resampled along it would warble. This keeps one knot every `step` seconds of the source, at the
    median offset (target - source) of the path within a knot's reach either side (robust to the
    path's steps and to short wrong detours), and bounds the rate between knots to
    [1/max_rate, max_rate] so playback never stops or races."""
    from ..core.session import WarpPath

    p = np.asarray(warp.pairs, dtype=float)
    src, tgt = p[:, 0], p[:, 1]
    lo, hi = float(src[0]), float(src[-1])
    if hi - lo <= step:
        d = float(np.median(tgt - src))
        return WarpPath(
            [[lo, lo + d], [max(hi, lo + step), max(hi, lo + step) + d]], warp.source, warp.target
        )
    knots = np.append(np.arange(lo, hi, step), hi)
    a = np.searchsorted(src, knots - step)
    b = np.searchsorted(src, knots + step, side="right")
    diff = tgt - src
    # each knot sits at the median source time of its reach (one-sided at the ends), so a linear map
    # is reproduced exactly there too
    b = np.maximum(b, a + 1)
    width = int((b - a).max())
    xs, meds = np.empty(len(knots)), np.empty(len(knots))
    full = (b - a) == width
    if len(knots) * width <= 5e7:  # the windows of full width at once (an hour at 10 ms: 7 200 x 101)
        idx = a[full, None] + np.arange(width)[None, :]
        xs[full], meds[full] = np.median(src[idx], axis=1), np.median(diff[idx], axis=1)
    else:
        full[:] = False
    for i in np.flatnonzero(~full):  # the rest (the ends; very uneven windows) one at a time
        xs[i], meds[i] = np.median(src[a[i] : b[i]]), np.median(diff[a[i] : b[i]])
    vals = xs + meds
    knots, keep = np.unique(xs, return_index=True)
    vals = vals[keep]
    out = vals.copy()
    dts, dvs = np.diff(knots), np.diff(vals)
    if np.any((dvs < dts / max_rate) | (dvs > dts * max_rate)):  # bounded rate: never stops, never races
        o, kn, v = out.tolist(), knots.tolist(), vals.tolist()
        for i in range(1, len(o)):
            dt = kn[i] - kn[i - 1]
            o[i] = o[i - 1] + min(max(v[i] - o[i - 1], dt / max_rate), dt * max_rate)
        out = np.asarray(o)
    if len(knots) > 1:  # the ends of the path, on the rate of the nearest knots
        r0 = (out[1] - out[0]) / (knots[1] - knots[0])
        r1 = (out[-1] - out[-2]) / (knots[-1] - knots[-2])
        knots = np.concatenate([[lo], knots, [hi]])
        out = np.concatenate([[out[0] - (knots[1] - lo) * r0], out, [out[-1] + (hi - knots[-2]) * r1]])
        knots, keep = np.unique(knots, return_index=True)
        out = out[keep]
    return WarpPath(np.column_stack([knots, out]), warp.source, warp.target)


def follow_map(a: Any, time_map: Any, name: str = "") -> tuple[Any, float]:
    """(warp, offset) for recording B so that it plays in sync with recording A (a `MediaRef`),
    given a time map from A's own time to B's own time (a `WarpPath`, e.g. a stored stream
    alignment's). The map is smoothed for playback (`playback_warp`) and composed with A's own warp
    when A has one: B's time at session time s is ``map(A.to_media_time(s))``."""
    from ..core.session import WarpPath

    smooth = playback_warp(time_map)
    knots_a, knots_b = smooth.pairs[:, 0], smooth.pairs[:, 1]
    if a.warp is not None:
        knots_a = np.asarray(a.warp.inverse_map(knots_a), dtype=float)
    return WarpPath(
        np.column_stack([knots_a, knots_b]), name or f"time map {time_map.source}", time_map.target
    ), a.offset


def _z(x: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, np.float64), nan=0.0)
    x = x - x.mean()
    s = x.std()
    return x / s if s > 0 else x


def xcorr_offset(
    a: np.ndarray, b: np.ndarray, hop: float, max_lag: float | None = None, min_overlap: float = 0.25
) -> tuple[float, float, float]:
    """The lag (seconds) at which ``b`` shifted right best matches ``a``: ``a[i] ≈ b[i - lag/hop]``.

    Returns (lag, peak correlation, confidence). Each lag's value is the Pearson correlation of the
    two overlapping parts (their own means and variances, from cumulative sums; the products from
    one FFT), so it lies in [-1, 1] and a loud passage in one overlap does not favour its lag; lags
    whose overlap is under `min_overlap` of the shorter signal are not considered.
    """
    a, b = _z(a), _z(b)
    if len(a) < 4 or len(b) < 4:
        raise ValueError("signals are too short to correlate (need at least 4 frames each)")
    n = len(a) + len(b)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    c = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lo, hi = -(len(b) - 1), len(a) - 1
    if max_lag is not None:
        k = _lag_frames(max_lag, hop, max(len(a), len(b)))
        lo, hi = max(lo, -k), min(hi, k)
    lags = np.arange(lo, hi + 1)
    start = np.maximum(0, lags)  # overlap in a: [start, stop); in b: [start - lag, stop - lag)
    stop = np.minimum(len(a), len(b) + lags)
    overlap = stop - start
    vals = _overlap_pearson(a, b, lags, start, stop, c[lags % size])
    vals[overlap < max(4, min_overlap * min(len(a), len(b)))] = -np.inf
    k = int(np.argmax(vals))
    peak = float(vals[k])
    if not np.isfinite(peak):
        raise ValueError("the signals do not overlap enough at any allowed lag")
    frac = _parabola(vals, k)
    # rivals found on a small overlap are weighed down (their correlation is mostly chance)
    shrunk = np.where(np.isfinite(vals), vals * np.sqrt(np.maximum(overlap, 0) / overlap.max()), -np.inf)
    return (lags[k] + frac) * hop, peak, _confidence(shrunk, k) * min(1.0, peak) / max(float(shrunk[k]), 1e-9)


def _overlap_pearson(
    a: np.ndarray, b: np.ndarray, lags: np.ndarray, start: np.ndarray, stop: np.ndarray, sab: np.ndarray
) -> np.ndarray:
    """Pearson r of a[start:stop] and b[start-lag:stop-lag] for every lag, given their dot products."""
    ca, cb = np.concatenate([[0.0], np.cumsum(a)]), np.concatenate([[0.0], np.cumsum(b)])
    ca2, cb2 = np.concatenate([[0.0], np.cumsum(a * a)]), np.concatenate([[0.0], np.cumsum(b * b)])
    n = np.maximum(stop - start, 1).astype(np.float64)
    lo_b, hi_b = np.clip(start - lags, 0, len(b)), np.clip(stop - lags, 0, len(b))
    lo_a, hi_a = np.clip(start, 0, len(a)), np.clip(stop, 0, len(a))
    sa, sa2 = ca[hi_a] - ca[lo_a], ca2[hi_a] - ca2[lo_a]
    sb, sb2 = cb[hi_b] - cb[lo_b], cb2[hi_b] - cb2[lo_b]
    cov = n * sab - sa * sb
    var = np.maximum(n * sa2 - sa * sa, 0.0) * np.maximum(n * sb2 - sb * sb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(var > 1e-12 * n**4, cov / np.sqrt(var), 0.0)
    return np.clip(r, -1.0, 1.0)


def _lag_frames(max_offset: float, hop: float, limit: int) -> int:
    """``max_offset`` seconds as a whole number of frames, at most ``limit`` (inf: ``limit``)."""
    if not (max_offset >= 0):  # also NaN
        raise ValueError(f"max_offset must be a number of seconds >= 0, not {max_offset!r}")
    return int(min(np.ceil(max_offset / hop), limit))


def _parabola(vals: np.ndarray, k: int) -> float:
    """Sub-sample position of the peak at `k`: the vertex of a parabola through k-1, k, k+1."""
    if 0 < k < len(vals) - 1 and np.isfinite(vals[k - 1]) and np.isfinite(vals[k + 1]):
        y0, y1, y2 = vals[k - 1], vals[k], vals[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return 0.0


def _confidence(vals: np.ndarray, k: int) -> float:
    """How clearly peak `k` stands out: (peak - best value outside the peak's lobe) / peak, × peak.

    The lobe is the run of values descending from the peak on both sides (to the first local
    minimum), so the peak's own shoulders never count as a rival.
    """
    while k > 0 and np.isfinite(vals[k - 1]) and vals[k - 1] > vals[k]:  # climb to the local top
        k -= 1
    while k < len(vals) - 1 and np.isfinite(vals[k + 1]) and vals[k + 1] > vals[k]:
        k += 1
    peak = float(vals[k])
    if not peak > 0:
        return 0.0
    lo = k
    while lo > 0 and np.isfinite(vals[lo - 1]) and vals[lo - 1] <= vals[lo]:
        lo -= 1
    hi = k
    while hi < len(vals) - 1 and np.isfinite(vals[hi + 1]) and vals[hi + 1] <= vals[hi]:
        hi += 1
    others = np.concatenate([vals[:lo], vals[hi + 1 :]])
    others = others[np.isfinite(others)]
    second = max(float(others.max()), 0.0) if len(others) else 0.0
    return float(np.clip((1.0 - second / peak) * min(1.0, peak), 0.0, 1.0))


def _features(path: Any, kind: str, **params: Any) -> Any:
    from studio.media.features import extract

    return extract(path, kind, **params)


def sync_audio(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    *,
    max_offset: float | None = None,
    drift: bool = True,
    window: float = 10.0,
    min_drift_span: float = 20.0,
) -> SyncResult:
    """Offset (and drift) of recording B relative to recording A from their audio."""
    fa, fb = _features(a, "onset"), _features(b, "onset")
    ea, eb = fa.values[:, 0].astype(np.float64), fb.values[:, 0].astype(np.float64)
    lag, peak, confidence = xcorr_offset(ea, eb, fa.hop, max_offset)
    details: dict[str, Any] = {"peak_correlation": round(peak, 4), "hop": fa.hop}
    drift_ppm = 0.0
    if drift:
        t0 = max(0.0, lag)
        t1 = min(len(ea) * fa.hop, len(eb) * fb.hop + lag)
        if t1 - t0 >= min_drift_span:
            fit = _local_offsets_drift(ea, eb, fa.hop, lag, window)
            if fit is not None:
                drift_ppm, lag, used = fit
                details["drift_windows"] = used
                details["drift_span"] = round(float(t1 - t0), 3)
            else:
                details["drift"] = f"not estimated: fewer than 3 of B's {window:g} s windows matched A"
        else:
            details["drift"] = f"not estimated: overlap {max(t1 - t0, 0):.1f} s < {min_drift_span:g} s"
    return SyncResult(float(lag), float(drift_ppm), confidence, "audio", details)


def _local_offsets_drift(
    ea: np.ndarray, eb: np.ndarray, hop: float, lag: float, window: float
) -> tuple[float, float, int] | None:
    """Offsets of successive windows of B (each refined to a fraction of a frame); a Theil–Sen line."""
    from scipy.stats import theilslopes

    w = int(round(window / hop))
    search = int(round(0.5 / hop))
    tb, ta = [], []
    for start in range(0, len(eb) - w + 1, max(1, w // 2)):
        seg_b = eb[start : start + w]
        if seg_b.std() == 0:
            continue
        centre = start + int(round(lag / hop))  # where this window starts in A
        lo, hi = max(0, centre - search), min(len(ea), centre + w + search)
        if hi - lo < w:
            continue
        try:
            local, _, conf = xcorr_offset(ea[lo:hi], seg_b, hop, max_lag=None, min_overlap=0.9)
        except ValueError:
            continue
        if conf < 0.2:
            continue
        mid_b = (start + w / 2) * hop
        tb.append(mid_b)
        ta.append(mid_b + local + lo * hop - start * hop)
    if len(tb) < 3:
        return None
    slope, intercept, _, _ = theilslopes(np.array(ta), np.array(tb))
    return (float(slope) - 1.0) * 1e6, float(intercept), len(tb)


def pearson_lags(a: np.ndarray, b: np.ndarray, lags: np.ndarray, min_overlap: int) -> np.ndarray:
    """Pearson correlation of ``a[i]`` with ``b[i - lag]`` over their overlap, for each lag.

    Each overlap is centred and scaled on its own, so a lag is not favoured by where the signals'
    loud parts happen to fall; frames where either value is NaN (no face found) are left out, and
    lags with fewer than `min_overlap` common frames get -inf.
    """
    out = np.full(len(lags), -np.inf)
    for i, lag in enumerate(lags):
        lo, hi = max(0, int(lag)), min(len(a), len(b) + int(lag))
        if hi - lo < min_overlap:
            continue
        x, y = a[lo:hi], b[lo - lag : hi - lag]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < min_overlap:
            continue
        x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
        den = np.sqrt((x * x).sum() * (y * y).sum())
        out[i] = (x * y).sum() / den if den > 0 else 0.0
    return out


def sync_av(
    video: str | os.PathLike[str],
    audio: str | os.PathLike[str] | None = None,
    *,
    max_offset: float = 2.0,
    min_overlap: float = 0.5,
) -> SyncResult:
    """Offset of an audio recording relative to a talking-face video (A = video, B = audio).

    `audio` defaults to the video file's own audio stream (then the result measures lip sync).
    """
    mouth = _features(video, "mouth")
    rms = _features(audio if audio is not None else video, "rms")
    hop = mouth.hop
    motion = mouth.values[:, 0].astype(np.float64)  # NaN where no face was found
    faces = int(np.isfinite(motion).sum())
    if faces == 0:
        raise ValueError(
            f"{video}: no face found in any of its {len(motion)} frames; sync_av needs a talking face"
        )
    # audio log-energy averaged over each video frame period, on the grid k * hop
    energy = np.log(np.maximum(rms.values[:, 0].astype(np.float64), 1e-5))
    cell = np.floor(rms.times / hop + 0.5).astype(int)
    frames = int(cell[-1]) + 1
    sums = np.bincount(cell, weights=energy, minlength=frames)
    counts = np.bincount(cell, minlength=frames)
    energy_grid = sums / np.maximum(counts, 1)
    n_min = max(4, int(min_overlap * min(faces, frames)))
    k = _lag_frames(max_offset, hop, max(len(motion), frames))
    lags = np.arange(-k, k + 1)
    vals = pearson_lags(motion, energy_grid, lags, n_min)
    best = int(np.argmax(vals))
    peak = float(vals[best])
    if not np.isfinite(peak):
        raise ValueError(
            f"{video}: video and audio do not overlap enough to compare"
            f" (a face was found in {faces} of {len(motion)} frames)"
        )
    frac = _parabola(vals, best)
    overlap = np.minimum(len(motion), frames + lags) - np.maximum(0, lags)
    weight = np.sqrt(np.maximum(overlap, 0) / overlap.max())
    shrunk = np.where(np.isfinite(vals), np.where(np.isfinite(vals), vals, 0.0) * weight, -np.inf)
    confidence = _confidence(shrunk, best) * min(1.0, peak) / max(float(shrunk[best]), 1e-9)
    # motion value i sits at video time mouth.times[i]; energy cell j at j * hop (audio time)
    lag = (lags[best] + frac) * hop + float(mouth.times[0])
    details = {"peak_correlation": round(peak, 4), "hop": hop, "frames": len(motion)}
    return SyncResult(float(lag), 0.0, confidence, "av", details)


# -- command line --------------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    import argparse

    p = sub.add_parser(
        "sync",
        help="offset and drift of recording B relative to A",
        description="Estimate how B's clock maps onto A's: an event at time tb in B is at "
        "ta = offset + tb * (1 + drift_ppm * 1e-6) in A (offset is B's media offset in a session where A "
        "is at 0). --method audio compares the two recordings' sound (onset envelopes; drift from "
        "10 s windows); --method av compares A's mouth motion (a talking-face video) with B's "
        "loudness.",
        epilog="examples:\n  studio sync camera.mp4 recorder.wav\n  studio sync --json a.wav b.wav\n"
        "  studio sync --method av interview.mp4 lavalier.wav\n"
        "  studio sync a.wav b.wav --warp warp.csv          (tb, ta) pairs every second\n"
        "  studio sync cam.mp4 mic.wav --session take.studio  B placed (and drift-corrected) in a session",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="the reference recording")
    p.add_argument("b", metavar="B", help="the recording to place on A's time line")
    p.add_argument("--method", choices=("audio", "av"), default="audio")
    p.add_argument("--max-offset", type=float, help="largest offset to consider, in seconds")
    p.add_argument("--no-drift", action="store_true", help="estimate the offset only")
    p.add_argument("--json", action="store_true", help='print {"offset": s, "drift_ppm": x, "confidence": c}')
    p.add_argument("--warp", metavar="OUT.csv", help="write B->A time pairs (t_b,t_a) every second")
    p.add_argument(
        "--session",
        metavar="S.studio",
        help="put A and B in this session file (created, or updated in place with a backup): B gets the "
        "offset and, when drift was measured, a drift-correcting warp, so they play in sync in the window",
    )
    p.set_defaults(func=run_cli)


def run_cli(args: Any) -> int:
    import json
    import sys

    from studio.media.probe import MediaError

    for name in (args.a, args.b):
        if not os.path.exists(name):
            raise MediaError(name, "no such file")
    if args.method == "audio":
        result = sync_audio(args.a, args.b, max_offset=args.max_offset, drift=not args.no_drift)
    else:
        result = sync_av(args.a, args.b, max_offset=2.0 if args.max_offset is None else args.max_offset)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(f"offset      {result.offset:+.3f} s   (B time + offset = A time)")
        if "drift" in result.details:  # why it was not estimated
            print(f"drift       {result.details['drift']}")
        elif result.method == "av":
            print("drift       not estimated (audio-video sync measures the offset only)")
        else:
            print(f"drift       {result.drift_ppm + 0.0:+.1f} ppm".replace("-0.0 ", "+0.0 "))
        print(
            f"confidence  {result.confidence:.2f}"
            + ("   (low: check by ear)" if result.confidence < 0.2 else "")
        )
    if args.warp:
        from studio.io.atomic import atomic_write_text
        from studio.media.probe import probe

        duration = probe(args.b, count_frames=False).duration or 0.0
        tb = np.arange(0.0, duration + 1e-9, 1.0)
        ta = result.map_time(tb)
        rows = "".join(f"{x:.6f},{y:.6f}\n" for x, y in zip(tb, ta))
        atomic_write_text(args.warp, "t_b,t_a\n" + rows)
    if args.session:
        where = apply_to_session(args.session, args.a, args.b, result)
        print(f"session     {args.session}: {where}")
    return 0


def session_media(session: Any, path: Any) -> Any:
    """The session's `MediaRef` of the file `path`, added (audio or video by suffix) when missing."""
    from pathlib import Path

    from studio.core.session import MediaRef
    from studio.media.probe import VIDEO_SUFFIXES

    target = Path(path).resolve()
    for m in session.media:
        if Path(m.path).resolve() == target:
            return m
    kind = "video" if Path(path).suffix.lower() in VIDEO_SUFFIXES else "audio"
    m = MediaRef(str(target), kind=kind)
    session.media.append(m)
    return m


def apply_to_session(session_path: Any, a: Any, b: Any, result: SyncResult) -> str:
    """Place B on A's time line in the session file `session_path` (created when missing): B's offset
    is A's plus the result's, and a measured drift becomes B's warp (`drift_warp`). Media already in
    the session (same file) keep their entries; the file is written atomically with a backup."""
    from pathlib import Path

    from studio.core.session import Session
    from studio.io.native import read_session_file, write_session_file

    sp = Path(session_path)
    session = read_session_file(sp) if sp.exists() else Session()
    ma, mb = session_media(session, a), session_media(session, b)
    mb.offset = ma.offset + result.offset
    mb.warp = drift_warp(result.drift_ppm, name=mb.name) if result.drift_ppm else None
    write_session_file(session, sp)
    drift = f", drift {result.drift_ppm:+.1f} ppm corrected" if result.drift_ppm else ""
    return f"{mb.name} at offset {mb.offset:+.3f} s{drift}"
