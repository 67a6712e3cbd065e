"""Spectrogram tiles on demand, pitch (pYIN / YIN) and Praat-like intensity.

Spectrogram
    A view never needs the spectrogram of the whole file, only of what is visible, at about one
    frame per pixel. `SpectrogramService` cuts the time axis into **tiles of `tile_frames` frames**
    (tile *i* of level *k* holds frames ``[i*T, (i+1)*T)``, frame *j* centred on sample
    ``j * hop * 2**k`` of the analysis signal). **Level k uses hop × 2^k**, so a zoomed-out view
    asks a coarser level and computes few frames; the level is chosen from the view's width in
    pixels (`level_for`).

    * Analysis is on a mono view at a fixed rate (16 kHz by default; `source.resampled`), so
      parameters mean the same for every file and a 48 kHz stereo file costs a third of the work.
    * A tile reads ``n_fft // 2`` samples beyond its first and last frame centres (zeros outside
      the file, as ``librosa.stft(center=True, pad_mode="constant")``): every frame is computed
      from exactly the samples it would have in the whole-signal STFT, so **tiles stitched
      together equal the spectrogram of the whole signal** (tested against librosa). When the hop
      is much larger than the window (far zoomed out), a tile reads each frame's window alone
      instead of the whole span, so the cost stays proportional to the frames, not the duration.
    * Values are dB of power normalised so a full-scale sinusoid peaks near 0 dB (dBFS), floored
      at `floor_db`: absolute, never relative to a tile's maximum, so tiles agree at their seams.
      ``kind="mel"`` applies a librosa mel filterbank (`n_mels`, `fmin`, `fmax`) to that power.
    * `compute_tile(view, params, level, index)` is a pure function: the UI's worker threads run
      `service.tile_task(key, tag)` (a task, see `studio.tasks.base`). Results carry the tag of
      the request they were made for; `service.is_current(tag)` tells whether the view that asked
      is still the latest, so results for a view the user has left are dropped. A byte-bounded LRU
      cache keeps computed tiles (thread-safe).

Pitch
    `pitch(source, t0, t1, method="pyin"|"yin")` → times, f0 (NaN where unvoiced), voiced
    probability. **pYIN** (librosa) is the accurate one but slow — measured ≈ 3.5× faster than
    real time at 16 kHz / 10 ms hop on one core (a 2-hour file takes ~35 min): use it on the
    visible range or as a background task (`pitch_task` reports progress per chunk). **YIN**
    (librosa) runs ≈ 70× real time (20× faster than pYIN); its voicing is ours: the normalised
    correlation of each frame with itself one period later (≥ 0.45 voiced, as Praat's voicing
    threshold). For both, frames whose peak is under 3 % (pYIN; Praat's silence threshold) or
    10 % (YIN) of the analysed chunk's peak are unvoiced: without it pYIN tracks room hum in
    pauses, and YIN tonal background noise. Against Praat's pitch (parselmouth) on the 11 GRID
    clips, voicing agrees on 93 % of frames (YIN), and pYIN's f0 is within 20 % of Praat's on
    ≥ 99 % of the frames both call voiced. Long ranges are processed in 30 s chunks with 1 s of
    context on each side, on the global 10 ms frame grid, so chunks join seamlessly.

Intensity
    `intensity(source, t0, t1)` → times, dB, as Praat's *To Intensity*: samples squared and
    averaged under a Kaiser window (β = 2π² + 0.5) of 6.4 / `min_pitch` seconds (effective
    length 3.2 / min_pitch), the window's mean subtracted first, channels' powers averaged, dB re
    (2·10⁻⁵)² so a full-scale sine reads ≈ 91 dB; frames every `time_step` (10 ms) on a grid
    anchored at time 0 (not centred in the file as Praat's), only where the whole window fits.
    At the same frame times it matches Praat (parselmouth) to a median 0.01 dB (0.25 dB at
    worst, on the edge of a 30 dB step). Digital silence reads `floor_db` (-100 dB).
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from studio.tasks.base import Progress, Task, run

__all__ = [
    "SpectrogramParams",
    "SpectrogramService",
    "TileKey",
    "TileResult",
    "TileRequest",
    "compute_tile",
    "stitch",
    "pitch",
    "pitch_task",
    "intensity",
]


@dataclass(frozen=True)
class SpectrogramParams:
    rate: int = 16000
    n_fft: int = 512
    hop: int = 160
    kind: str = "stft"
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    tile_frames: int = 256
    floor_db: float = -120.0

    def __post_init__(self) -> None:
        if self.kind not in ("stft", "mel"):
            raise ValueError(f"kind must be 'stft' or 'mel', got {self.kind!r}")
        if self.rate <= 0 or self.n_fft <= 1 or self.hop <= 0 or self.tile_frames <= 0:
            raise ValueError(f"rate, n_fft, hop and tile_frames must be positive: {self}")
        if self.kind == "mel" and not 0 <= self.fmin < self._fmax <= self.rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= rate/2 for a mel spectrogram: {self}")

    def hop_at(self, level: int) -> int:
        return self.hop << level

    def n_frames(self, level: int, samples: int) -> int:
        return 1 + samples // self.hop_at(level)

    def tile_duration(self, level: int) -> float:
        return self.tile_frames * self.hop_at(level) / self.rate

    @property
    def n_bins(self) -> int:
        return self.n_mels if self.kind == "mel" else self.n_fft // 2 + 1

    @property
    def freqs(self) -> np.ndarray:
        """Centre frequency (Hz) of each row of a tile."""
        if self.kind == "mel":
            import librosa

            return librosa.mel_frequencies(self.n_mels + 2, fmin=self.fmin, fmax=self._fmax)[1:-1]
        return np.fft.rfftfreq(self.n_fft, 1 / self.rate)

    @property
    def _fmax(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.rate / 2


class TileKey(NamedTuple):
    level: int
    index: int


@dataclass(frozen=True)
class TileResult:
    """One computed tile: `db` is (bins, frames) float32; `times` the frame centres (s)."""

    tag: Any
    key: TileKey
    times: np.ndarray
    freqs: np.ndarray
    db: np.ndarray
    hop_s: float

    @property
    def t0(self) -> float:
        """Left edge of the tile's image (half a hop before the first frame centre)."""
        return float(self.times[0] - self.hop_s / 2)

    @property
    def t1(self) -> float:
        return float(self.times[-1] + self.hop_s / 2)


@dataclass
class TileRequest:
    """What `SpectrogramService.request` answers: tiles already cached and keys still to compute."""

    tag: Any
    level: int
    keys: list[TileKey]
    ready: list[TileResult] = field(default_factory=list)
    missing: list[TileKey] = field(default_factory=list)


# -- the pure tile function ------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _window(n_fft: int) -> np.ndarray:
    """Periodic Hann (librosa's and scipy's ``get_window("hann", n, fftbins=True)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _mel_basis(rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    from .mel import mel_filterbank

    return np.array(mel_filterbank(rate, n_fft, n_mels, fmin, fmax), dtype=np.float32)


def _read_padded(view: Any, a: int, b: int) -> np.ndarray:
    """Mono samples [a, b) of `view`, zeros where the range leaves the signal."""
    out = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, view.frames)
    if hi > lo:
        out[lo - a : hi - a] = view.read(lo, hi)[0]
    return out


def tile_frame_range(params: SpectrogramParams, samples: int, level: int, index: int) -> tuple[int, int]:
    n = params.n_frames(level, samples)
    j0 = index * params.tile_frames
    return j0, min(j0 + params.tile_frames, n)


def compute_tile(view: Any, params: SpectrogramParams, level: int, index: int) -> np.ndarray:
    """The dB spectrogram (bins, frames) of tile `index` at `level` of a mono `view` (pure).

    `view` needs ``frames`` and ``read(start, stop) -> (1, n) float32``; safe to call from any
    thread when `view.read` is (AudioSource's is).
    """
    j0, j1 = tile_frame_range(params, view.frames, level, index)
    if j1 <= j0:
        raise IndexError(f"tile {index} of level {level} is past the end of the signal")
    hop, n_fft, half = params.hop_at(level), params.n_fft, params.n_fft // 2
    count = j1 - j0
    if hop <= 2 * n_fft:  # dense: one read for the tile, frames are windows of it
        x = _read_padded(view, j0 * hop - half, (j1 - 1) * hop - half + n_fft)
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    else:  # sparse (far zoomed out): only each frame's own window
        frames = np.stack([_read_padded(view, j * hop - half, j * hop - half + n_fft) for j in range(j0, j1)])
    spec = np.fft.rfft(frames[:count] * _window(n_fft), axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    power *= np.float32((2.0 / float(_window(n_fft).sum())) ** 2)  # full-scale sine -> ~0 dB
    power = power.T  # (bins, frames)
    if params.kind == "mel":
        basis = _mel_basis(params.rate, n_fft, params.n_mels, params.fmin, params._fmax)
        power = basis @ power
    floor = np.float32(10.0 ** (params.floor_db / 10))
    return (10.0 * np.log10(np.maximum(power, floor))).astype(np.float32)


def stitch(results: Sequence[TileResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiles of one level joined in time order: (times, freqs, db (bins, frames))."""
    if not results:
        raise ValueError("no tiles to stitch")
    ordered = sorted(results, key=lambda r: r.key.index)
    if len({r.key.level for r in ordered}) != 1:
        raise ValueError("tiles of different levels cannot be stitched")
    return (
        np.concatenate([r.times for r in ordered]),
        ordered[0].freqs,
        np.concatenate([r.db for r in ordered], axis=1),
    )


# -- the service ---------------------------------------------------------------------------------


class SpectrogramService:
    """Spectrogram tiles of one source for a scrolling, zooming view (see the module doc)."""

    def __init__(
        self,
        source: Any,
        *,
        rate: int = 16000,
        n_fft: int = 512,
        hop: int = 160,
        kind: str = "stft",
        n_mels: int = 80,
        fmin: float = 0.0,
        fmax: float | None = None,
        tile_frames: int = 256,
        floor_db: float = -120.0,
        cache_bytes: int = 128 << 20,
    ) -> None:
        self.params = SpectrogramParams(rate, n_fft, hop, kind, n_mels, fmin, fmax, tile_frames, floor_db)
        self.view = _mono_view(source, rate)
        self.source = source
        self.cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[TileKey, np.ndarray] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()
        self._latest: Any = None
        self._auto_tags = itertools.count(1)
        self._freqs = self.params.freqs
        self.max_level = 0
        while self.params.n_frames(self.max_level, self.view.frames) > tile_frames and self.max_level < 24:
            self.max_level += 1

    # -- geometry ------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.view.frames / self.params.rate

    def level_for(self, t0: float, t1: float, pixels: int | None) -> int:
        """The coarsest level that still gives at least one frame per pixel (0 without pixels)."""
        if pixels is None:
            return 0
        if pixels <= 0:
            raise ValueError(f"pixels must be positive, got {pixels}")
        samples_per_pixel = max(t1 - t0, 0.0) * self.params.rate / pixels
        level = 0
        while level < self.max_level and self.params.hop_at(level + 1) <= samples_per_pixel:
            level += 1
        return level

    def tile_keys(self, t0: float, t1: float, level: int) -> list[TileKey]:
        """Keys of the tiles whose frames cover [t0, t1] (clipped to the signal)."""
        p = self.params
        n = p.n_frames(level, self.view.frames)
        frame_s = p.hop_at(level) / p.rate
        j0 = max(0, math.floor(t0 / frame_s - 0.5))
        j1 = min(n - 1, math.ceil(t1 / frame_s + 0.5))
        if t1 <= t0 or j1 < j0:
            return []
        return [TileKey(level, i) for i in range(j0 // p.tile_frames, j1 // p.tile_frames + 1)]

    # -- requests and staleness ----------------------------------------------------------------
    @property
    def latest_tag(self) -> Any:
        return self._latest

    def is_current(self, tag: Any) -> bool:
        """True while `tag` is the tag of the latest request (its view is still on screen)."""
        return tag == self._latest

    def request(
        self, t0: float, t1: float, tag: Hashable | None = None, *, pixels: int | None = None
    ) -> TileRequest:
        """Ask for the view [t0, t1] (about one frame per pixel when `pixels` is given).

        Makes `tag` (or a fresh integer) the latest; returns the cached tiles as results and the
        keys still to compute (run `tile_task(key, tag)` / `result(key, tag)` for those).
        """
        if tag is None:
            tag = next(self._auto_tags)
        self._latest = tag
        level = self.level_for(t0, t1, pixels)
        req = TileRequest(tag, level, self.tile_keys(t0, t1, level))
        for key in req.keys:
            db = self._get(key)
            if db is None:
                req.missing.append(key)
            else:
                req.ready.append(self._result(key, db, tag))
        return req

    def result(self, key: TileKey, tag: Any = None) -> TileResult:
        """The tile for `key` (from the cache, or computed now in this thread), tagged `tag`."""
        db = self._get(key)
        if db is None:
            db = compute_tile(self.view, self.params, key.level, key.index)
            self._put(key, db)
        return self._result(key, db, tag)

    def tile_task(self, key: TileKey, tag: Any = None) -> Task[TileResult]:
        """`result` as a task for a worker thread; closing it before it starts computes nothing."""
        yield Progress(None, f"spectrogram tile {key.index} (level {key.level})")
        return self.result(key, tag)

    def tiles(
        self, t0: float, t1: float, tag: Hashable | None = None, *, pixels: int | None = None
    ) -> list[TileResult]:
        """Every tile of the view, computing the missing ones here (scripts, tests, export)."""
        req = self.request(t0, t1, tag, pixels=pixels)
        done = {r.key: r for r in req.ready}
        for key in req.missing:
            done[key] = self.result(key, req.tag)
        return [done[k] for k in req.keys]

    # -- cache ---------------------------------------------------------------------------------
    @property
    def cached_bytes(self) -> int:
        return self._cached

    def cached_keys(self) -> list[TileKey]:
        with self._lock:
            return list(self._cache)

    def _get(self, key: TileKey) -> np.ndarray | None:
        with self._lock:
            db = self._cache.get(key)
            if db is not None:
                self._cache.move_to_end(key)
            return db

    def _put(self, key: TileKey, db: np.ndarray) -> None:
        with self._lock:
            if key in self._cache:
                return
            db.setflags(write=False)
            self._cache[key] = db
            self._cached += db.nbytes
            while self._cached > self.cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached -= old.nbytes

    def _result(self, key: TileKey, db: np.ndarray, tag: Any) -> TileResult:
        p = self.params
        j0, j1 = tile_frame_range(p, self.view.frames, key.level, key.index)
        hop_s = p.hop_at(key.level) / p.rate
        return TileResult(tag, key, np.arange(j0, j1) * hop_s, self._freqs, db, hop_s)


def _mono_view(source: Any, rate: int) -> Any:
    if hasattr(source, "resampled"):
        return source.resampled(rate, mono=True)
    if source.sample_rate == rate and source.channels == 1:
        return source
    raise ValueError(f"{source!r} is not at {rate} Hz mono and cannot be resampled")


# -- pitch ---------------------------------------------------------------------------------------

_PITCH_CHUNK_S = 30.0
_PITCH_CONTEXT_S = 1.0


def _range(view: Any, t0: float | None, t1: float | None) -> tuple[float, float]:
    dur = view.frames / view.sample_rate
    a = 0.0 if t0 is None else max(0.0, float(t0))
    b = dur if t1 is None else min(dur, float(t1))
    return a, b


def pitch(
    source: Any,
    t0: float | None = None,
    t1: float | None = None,
    *,
    fmin: float = 75.0,
    fmax: float = 500.0,
    method: str = "pyin",
    rate: int = 16000,
    hop: int = 160,
    silence: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F0 track of [t0, t1]: ``(times, f0 with NaN where unvoiced, voiced probability)``.

    Frames are centred on multiples of `hop` samples at `rate` (10 ms by default) from the start
    of the file, whatever the range. Frames whose peak (over the central half of the frame) is
    below `silence` × the peak of the analysed chunk are unvoiced (probability 0), as Praat's
    silence threshold; default 0.03 (Praat's) for pYIN, 0.1 for YIN, whose own voicing is cruder.
    """
    return run(
        pitch_task(source, t0, t1, fmin=fmin, fmax=fmax, method=method, rate=rate, hop=hop, silence=silence)
    )


def pitch_task(
    source: Any,
    t0: float | None = None,
    t1: float | None = None,
    *,
    fmin: float = 75.0,
    fmax: float = 500.0,
    method: str = "pyin",
    rate: int = 16000,
    hop: int = 160,
    silence: float | None = None,
) -> Task[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`pitch` as a task: 30 s chunks (with 1 s of context each side), progress per chunk."""
    if method not in ("pyin", "yin"):
        raise ValueError(f"method must be 'pyin' or 'yin', got {method!r}")
    if not 0 < fmin < fmax <= rate / 2:
        raise ValueError(f"need 0 < fmin < fmax <= {rate / 2} Hz, got fmin={fmin}, fmax={fmax}")
    threshold = (0.03 if method == "pyin" else 0.1) if silence is None else float(silence)
    view = _mono_view(source, rate)
    a, b = _range(view, t0, t1)
    # frames on the global grid (frame j centred on sample j * hop) whose centre is in [a, b]
    j0, j1 = math.ceil(a * rate / hop), math.floor(b * rate / hop) + 1
    j1 = min(j1, 1 + view.frames // hop)
    frame_length = max(1024, 1 << math.ceil(math.log2(2 * math.ceil(rate / fmin) + 2)))
    chunk = max(1, int(_PITCH_CHUNK_S * rate / hop))
    context = int(_PITCH_CONTEXT_S * rate / hop) + frame_length // hop + 1
    f0s, probs = [], []
    for c0 in range(j0, j1, chunk):
        c1 = min(c0 + chunk, j1)
        r0, r1 = max(0, c0 - context), c1 + context  # frames analysed, context included
        y = _read_padded(view, r0 * hop, min(view.frames, (r1 - 1) * hop + 1))
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, frame_length // 2), frame_length)[::hop]
        if method == "pyin":
            f0, prob = _pyin(y, rate, hop, frame_length, fmin, fmax)
        else:
            f0, prob = _yin(y, frames[: 1 + y.size // hop], rate, hop, frame_length, fmin, fmax)
        peak = max(float(np.abs(y).max(initial=0.0)), 1e-12)
        quarter = frame_length // 4
        centre = frames[: f0.size, quarter : frame_length - quarter]
        loud = np.abs(centre).max(axis=1) >= threshold * peak
        prob = prob * loud
        f0 = np.where(loud, f0, np.nan)
        f0s.append(f0[c0 - r0 : c1 - r0])
        probs.append(prob[c0 - r0 : c1 - r0])
        yield Progress((c1 - j0) / max(1, j1 - j0), f"pitch ({method})")
    times = np.arange(j0, max(j0, j1)) * hop / rate
    if not f0s:
        return times, np.zeros(0), np.zeros(0)
    return times, np.concatenate(f0s), np.concatenate(probs)


def _pyin(
    y: np.ndarray, rate: int, hop: int, frame_length: int, fmin: float, fmax: float
) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    with np.errstate(divide="ignore", invalid="ignore"):
        f0, voiced, prob = librosa.pyin(
            y, fmin=fmin, fmax=fmax, sr=rate, frame_length=frame_length, hop_length=hop, center=True
        )
    return np.where(voiced, f0, np.nan), np.nan_to_num(prob)


def _yin(
    y: np.ndarray, frames: np.ndarray, rate: int, hop: int, frame_length: int, fmin: float, fmax: float
) -> tuple[np.ndarray, np.ndarray]:
    """librosa's YIN f0, voiced where a frame correlates >= 0.45 with itself one period later."""
    import librosa

    with np.errstate(divide="ignore", invalid="ignore"):
        f0 = librosa.yin(
            y, fmin=fmin, fmax=fmax, sr=rate, frame_length=frame_length, hop_length=hop, center=True
        )
    half = frame_length // 2
    period = np.clip(np.round(rate / f0).astype(np.int64), 1, frame_length - half)
    a = frames[:, :half]
    b = np.take_along_axis(frames, period[:, None] + np.arange(half)[None, :], axis=1)
    num = np.einsum("ij,ij->i", a, b)
    den = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    prob = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0.0, 1.0)
    return np.where(prob >= 0.45, f0, np.nan), prob


# -- intensity -----------------------------------------------------------------------------------

_P_REF2 = 4e-10  # (2e-5 Pa)^2: Praat's reference for dB


def intensity(
    source: Any,
    t0: float | None = None,
    t1: float | None = None,
    *,
    min_pitch: float = 100.0,
    time_step: float = 0.01,
    subtract_mean: bool = True,
    floor_db: float = -100.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Praat-like intensity contour of [t0, t1] at the source's own rate: ``(times, dB)``."""
    if min_pitch <= 0 or time_step <= 0:
        raise ValueError(f"min_pitch and time_step must be positive, got {min_pitch}, {time_step}")
    rate = source.sample_rate
    half_n = int(round(3.2 / min_pitch * rate))  # half the physical window (6.4 / min_pitch)
    width = 2 * half_n + 1
    window = np.kaiser(width, 2 * math.pi**2 + 0.5)
    window /= window.sum()
    a, b = _range(source, t0, t1)
    ks = np.arange(math.ceil(a / time_step), math.floor(b / time_step) + 1)
    centres = np.round(ks * time_step * rate).astype(np.int64)
    fits = (centres - half_n >= 0) & (centres + half_n < source.frames)  # whole window in the file
    ks, centres = ks[fits], centres[fits]
    db = np.empty(ks.size)
    for c0 in range(0, ks.size, 256):
        cc = centres[c0 : c0 + 256]
        lo = int(cc[0]) - half_n
        x = source.read(lo, int(cc[-1]) + half_n + 1).astype(np.float64)  # (channels, n)
        power = np.zeros(cc.size)
        for ch in x:
            frames = np.lib.stride_tricks.sliding_window_view(ch, width)[cc - cc[0]]
            mean_sq = frames**2 @ window
            if subtract_mean:
                mean_sq -= (frames @ window) ** 2
            power += np.maximum(mean_sq, 0.0)
        power /= x.shape[0]
        db[c0 : c0 + cc.size] = 10 * np.log10(np.maximum(power, _P_REF2 * 10 ** (floor_db / 10)) / _P_REF2)
    return ks * time_step, db
