"""Waveform envelope pyramid: per-channel min/max at several resolutions, cached on disk.

A waveform view of a 2-hour recording cannot touch the samples on every repaint; it asks the
`Envelope` for about two points per pixel column (that column's min and max), which comes from a
precomputed pyramid:

* **Level 0 = min/max per 64 frames; each next level is ×4 coarser** (256, 1024, … frames) until
  one bucket covers the file.
  - 64 frames at the bottom keeps the *raw-sample fallback* small: below 64 frames per pixel the
    query reads the samples themselves, at most 64 × pixels frames (≈128 k for a 2000-pixel view,
    a fraction of a millisecond with the int16 reader below).
  - ×4 per level keeps the pyramid at 4/3 of level 0, and level 0 is 1/32 of the 16-bit PCM
    (two int16 per 64 int16): a 2-hour 48 kHz stereo file gives a 58 MB pyramid for 1.38 GB of
    audio. ×8 would save 10 % of that for twice as many buckets per pixel at query time.
* **A query uses the coarsest level whose bucket is ≤ ¼ of a pixel**, so each pixel column
  reduces 4–16 buckets (1–16 at level 0), and column edges snap to bucket edges at most a quarter
  pixel away. All columns are reduced at once by `np.minimum.reduceat` / `np.maximum.reduceat`
  over one contiguous slice of the level: no Python loop, a few tens of µs for 2000 pixels.
  Buckets partition the file and columns partition the buckets, so a single-sample click is in
  exactly one column at every zoom: a spike is never lost.
* **Storage**: for 16-bit PCM (WAV, FLAC, …) the file is read directly as int16 with libsndfile
  (measured ~15× faster than reading float32 through `AudioSource.blocks`, which converts and
  transposes) and the pyramid is stored as int16, returned as ``value / 32768`` — bit-identical to
  what `AudioSource.read` gives. Every other source (float, 24-bit, decoded, resampled) streams
  `source.blocks()` and stores float32: exact as well.
* **Cache**: one ``.npy`` per source in ``cache_dir("envelope")`` holding every level,
  shape ``(2, channels, total_buckets)`` (min then max; levels concatenated). Everything else
  (level sizes, offsets) follows from the source's frame count and the parameters in the key
  (source identity + version + level parameters), so one file is the whole entry and
  ``np.save`` to a temporary name + ``os.replace`` makes it atomic. A reopen memory-maps it
  (``mmap_mode="r"``): instant, and only the pages a query touches are read.
* **Build memory** is one block plus the pyramid; the build is a task (see `studio.tasks.base`):
  it yields progress per block, and closing it (cancel) leaves neither the entry nor its
  temporary file.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from studio.media.cache import cache_dir
from studio.media.probe import MediaError
from studio.tasks.base import Progress, Task, run

__all__ = [
    "Envelope",
    "build_envelope_task",
    "load_or_build_envelope_task",
    "load_envelope",
    "envelope",
    "envelope_path",
    "BASE",
    "FACTOR",
]

BASE = 64  # frames per level-0 bucket
FACTOR = 4  # each level is FACTOR times coarser
PRECISION = 4  # a query uses buckets no wider than 1/PRECISION of a pixel (level 0 excepted)
_VERSION = "envelope-v1"
_INT16_BLOCK = 1 << 20  # frames per block for the int16 reader (4 MB for stereo)
_INT16_SCALE = np.float32(1.0 / 32768.0)


def _source_identity(source: Any) -> str:
    ident = getattr(source, "identity", None)
    if callable(ident):
        return str(ident())
    inner = getattr(source, "source", None)  # ResampledAudio: identity of what it resamples
    if inner is not None and callable(getattr(inner, "identity", None)):
        return f"{inner.identity()}@{source.sample_rate}{'m' if getattr(source, 'mono', False) else ''}"
    raise TypeError(f"{type(source).__name__} has no identity() to key the envelope cache with")


def _int16_path(source: Any) -> Path | None:
    """The file to read as int16 when `source` reads 16-bit PCM in place (else None)."""
    data_path = getattr(source, "data_path", None)
    if data_path is None or not hasattr(source, "identity"):
        return None
    import soundfile as sf

    try:
        info = sf.info(str(data_path))
    except Exception:
        return None
    if info.subtype != "PCM_16" or int(info.frames) != source.frames or int(info.channels) != source.channels:
        return None
    return Path(data_path)


def _level_sizes(frames: int) -> list[int]:
    sizes = [max(1, math.ceil(frames / BASE))]
    while sizes[-1] > 1:
        sizes.append(math.ceil(sizes[-1] / FACTOR))
    return sizes


def envelope_path(source: Any) -> Path:
    """Where the cached envelope of `source` lives (whether or not it exists yet)."""
    mode = "i16" if _int16_path(source) is not None else "f32"
    key = repr((_source_identity(source), _VERSION, BASE, FACTOR, mode, source.frames, source.channels))
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:32]
    return cache_dir("envelope") / f"{digest}.npy"


class Envelope:
    """The min/max pyramid of one source; `query` gives a line to draw for a view.

    `data` has shape ``(2, channels, total)``: ``data[0]`` minima, ``data[1]`` maxima, levels
    concatenated (see `level`). `source` (optional) serves the raw-sample fallback when zoomed in
    below level 0; without it, level 0 is used at every zoom.
    """

    def __init__(self, data: np.ndarray, *, sample_rate: int, frames: int, source: Any = None) -> None:
        sizes = _level_sizes(frames)
        if data.ndim != 3 or data.shape[0] != 2 or data.shape[2] != sum(sizes):
            raise ValueError(f"envelope data of shape {data.shape} does not fit {frames} frames")
        self.data = data
        self.sample_rate = int(sample_rate)
        self.frames = int(frames)
        self.channels = int(data.shape[1])
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
        self.buckets = [BASE * FACTOR**k for k in range(len(sizes))]
        self.scale = _INT16_SCALE if data.dtype == np.int16 else None
        self.source = source
        self._raw_path = _int16_path(source) if (source is not None and self.scale is not None) else None
        self._raw_sf: Any = None
        self._raw_lock = threading.Lock()

    # -- description ---------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def levels(self) -> int:
        return len(self.sizes)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def __repr__(self) -> str:
        return (
            f"Envelope({self.channels} ch, {self.frames} frames @ {self.sample_rate} Hz, "
            f"{self.levels} levels, {self.data.dtype}, {self.nbytes / 1e6:.1f} MB)"
        )

    def level(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Minima and maxima of level `k` as float32 ``(channels, buckets)``; bucket i covers
        frames ``[i * bucket, (i + 1) * bucket)`` (the last one clipped to the file)."""
        a, n = self.offsets[k], self.sizes[k]
        return self._values(self.data[0, :, a : a + n]), self._values(self.data[1, :, a : a + n])

    def level_for(self, t0: float, t1: float, pixels: int) -> int:
        """The level a query of this view uses; -1 for raw samples (zoomed in below level 0)."""
        spp = (t1 - t0) * self.sample_rate / pixels
        if spp < BASE and self.source is not None:
            return -1
        k = (
            int(math.floor(math.log(max(spp / PRECISION, 1) / BASE, FACTOR)))
            if spp >= BASE * PRECISION
            else 0
        )
        return min(max(k, 0), self.levels - 1)

    def _values(self, x: np.ndarray) -> np.ndarray:
        if self.scale is not None:
            return x.astype(np.float32) * self.scale
        return np.asarray(x, dtype=np.float32)

    # -- query ---------------------------------------------------------------------------------
    def query(
        self, t0: float, t1: float, pixels: int, channel: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A line to draw the waveform of [t0, t1] (seconds) across `pixels` columns.

        Returns ``(times, values)``: per pixel column that overlaps the file, two points at the
        column's centre, its min then its max (float64 seconds; float32 values). `values` is
        ``(channels, n)`` for ``channel=None``, else ``(n,)``. Zoomed in below 64 frames per pixel
        the samples themselves come back (all of them if there are at most two per pixel, else
        the min/max of the samples per column). Parts of the view outside the file have no
        points; an empty view (t1 <= t0, or no overlap with the file) gives empty arrays.
        """
        if pixels <= 0:
            raise ValueError(f"pixels must be positive, got {pixels}")
        if channel is not None and not -self.channels <= channel < self.channels:
            raise ValueError(f"channel {channel} does not exist ({self.channels} channel(s))")
        pixels = int(pixels)
        t0, t1 = float(t0), float(t1)
        sr = self.sample_rate
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0 or t1 <= 0 or t0 >= self.duration:
            return self._empty(channel)
        f0 = t0 * sr
        spp = (t1 - t0) * sr / pixels
        # columns that overlap [0, frames)
        k0 = max(0, math.floor(-f0 / spp))
        while k0 < pixels and f0 + (k0 + 1) * spp <= 0:  # rounding
            k0 += 1
        k1 = min(pixels, math.ceil((self.frames - f0) / spp))
        if k1 <= k0:
            return self._empty(channel)
        edges = f0 + np.arange(k0, k1 + 1, dtype=np.float64) * spp  # frame edges of the columns
        level = self.level_for(t0, t1, pixels)
        if level < 0:
            return self._query_raw(edges, channel)
        bucket = self.buckets[level]
        starts = np.floor(edges[:-1] / bucket).astype(np.int64)
        np.clip(starts, 0, self.sizes[level] - 1, out=starts)
        i0 = int(starts[0])
        i1 = min(self.sizes[level], max(int(math.ceil(edges[-1] / bucket)), int(starts[-1]) + 1))
        a = self.offsets[level]
        rows = slice(None) if channel is None else slice(channel, channel + 1 or None)
        mins = np.minimum.reduceat(self.data[0, rows, a + i0 : a + i1], starts - i0, axis=1)
        maxs = np.maximum.reduceat(self.data[1, rows, a + i0 : a + i1], starts - i0, axis=1)
        return self._pack(edges, self._values(mins), self._values(maxs), channel)

    def _query_raw(self, edges: np.ndarray, channel: int | None) -> tuple[np.ndarray, np.ndarray]:
        sr = self.sample_rate
        a = max(0, int(math.floor(edges[0])))
        b = min(self.frames, int(math.ceil(edges[-1])))
        x, scale = self._read_raw(a, b)  # (channels, n), int16 with its scale or float32
        if channel is not None:
            x = x[channel : channel + 1 or None]
        n = x.shape[1]
        if n <= 2 * (len(edges) - 1):
            times = (a + np.arange(n, dtype=np.float64)) / sr
            values = x.astype(np.float32) * scale if scale is not None else x
            return times, (values if channel is None else values[0])
        starts = np.floor(edges[:-1]).astype(np.int64) - a
        np.clip(starts, 0, n - 1, out=starts)
        mins = np.minimum.reduceat(x, starts, axis=1)
        maxs = np.maximum.reduceat(x, starts, axis=1)
        if scale is not None:
            mins, maxs = mins.astype(np.float32) * scale, maxs.astype(np.float32) * scale
        return self._pack(edges, mins, maxs, channel)

    def _read_raw(self, a: int, b: int) -> tuple[np.ndarray, np.float32 | None]:
        if self._raw_path is not None:
            with self._raw_lock:
                if self._raw_sf is None:
                    import soundfile as sf

                    self._raw_sf = sf.SoundFile(str(self._raw_path))
                self._raw_sf.seek(a)
                data = self._raw_sf.read(b - a, dtype="int16", always_2d=True)
            if data.shape[0] == b - a:
                return np.ascontiguousarray(data.T), _INT16_SCALE
        x = self.source.read(a, b)
        return (x if np.isfinite(x).all() else _finite(x)), None

    def _pack(
        self, edges: np.ndarray, mins: np.ndarray, maxs: np.ndarray, channel: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        clipped = np.clip(edges, 0, self.frames)
        centres = (clipped[:-1] + clipped[1:]) / (2 * self.sample_rate)
        times = np.repeat(centres, 2)
        values = np.stack([mins, maxs], axis=-1).reshape(mins.shape[0], -1)
        return times, (values if channel is None else values[0])

    def _empty(self, channel: int | None) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros((self.channels, 0) if channel is None else (0,), np.float32)
        return np.zeros(0, np.float64), values

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        with self._raw_lock:
            if self._raw_sf is not None:
                self._raw_sf.close()
                self._raw_sf = None


# -- building ------------------------------------------------------------------------------------


def _finite(x: np.ndarray) -> np.ndarray:
    """NaN (a damaged float file) draws as silence, ±inf as full scale: a line can always be drawn."""
    return np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)


class _Pyramid:
    """Fills level 0 from consecutive blocks (any sizes), then derives the coarser levels."""

    def __init__(self, frames: int, channels: int, dtype: type) -> None:
        self.sizes = _level_sizes(frames)
        self.data = np.empty((2, channels, sum(self.sizes)), dtype=dtype)
        self.filled = 0  # level-0 buckets written
        self.carry: np.ndarray | None = None  # < BASE frames left over from the last block

    def add(self, block: np.ndarray) -> None:
        """`block`: (channels, n), contiguous frames following the previous block."""
        if block.dtype.kind == "f" and not np.isfinite(block).all():
            block = _finite(block)
        if self.carry is not None:
            block = np.concatenate([self.carry, block], axis=1)
            self.carry = None
        full = block.shape[1] // BASE
        if full:
            x = block[:, : full * BASE].reshape(block.shape[0], full, BASE)
            end = self.filled + full
            if end > self.sizes[0]:
                raise ValueError("more frames than announced")
            x.min(axis=2, out=self.data[0, :, self.filled : end])
            x.max(axis=2, out=self.data[1, :, self.filled : end])
            self.filled = end
        if block.shape[1] > full * BASE:
            self.carry = np.array(block[:, full * BASE :])

    def finish(self) -> np.ndarray:
        if self.carry is not None:
            self.data[0, :, self.filled] = self.carry.min(axis=1)
            self.data[1, :, self.filled] = self.carry.max(axis=1)
            self.filled += 1
            self.carry = None
        if self.filled != self.sizes[0]:
            raise ValueError(f"got {self.filled * BASE} frames, expected about {self.sizes[0] * BASE}")
        offset = 0
        for prev, size in zip(self.sizes, self.sizes[1:]):
            src = self.data[:, :, offset : offset + prev]
            dst = self.data[:, :, offset + prev : offset + prev + size]
            full = prev // FACTOR
            if full:
                g = src[:, :, : full * FACTOR].reshape(2, src.shape[1], full, FACTOR)
                g[0].min(axis=2, out=dst[0, :, :full])
                g[1].max(axis=2, out=dst[1, :, :full])
            if prev > full * FACTOR:
                dst[0, :, full] = src[0, :, full * FACTOR :].min(axis=1)
                dst[1, :, full] = src[1, :, full * FACTOR :].max(axis=1)
            offset += prev
        return self.data


def build_envelope_task(source: Any, *, block: int | None = None) -> Task[Envelope]:
    """Build the envelope of `source` (an `AudioSource` or a resampled view), cache it, return it.

    Reads the whole source once (16-bit PCM as int16 directly, anything else through
    ``source.blocks()``), yielding progress per block; `block` overrides the frames per read.
    """
    target = envelope_path(source)
    int16_path = _int16_path(source)
    name = Path(getattr(source, "path", "audio")).name
    frames, channels = int(source.frames), int(source.channels)
    pyramid = _Pyramid(frames, channels, np.int16 if int16_path is not None else np.float32)
    message = f"building waveform envelope of {name}"
    if int16_path is not None:
        import soundfile as sf

        step = block or _INT16_BLOCK
        with sf.SoundFile(str(int16_path)) as f:
            pos = 0
            while pos < frames:
                try:
                    data = f.read(min(step, frames - pos), dtype="int16", always_2d=True)
                except Exception as exc:
                    raise MediaError(
                        getattr(source, "path", int16_path), f"read failed at sample {pos} ({exc})"
                    ) from None
                if data.shape[0] == 0:
                    raise MediaError(
                        getattr(source, "path", int16_path),
                        f"ended early at sample {pos} of {frames} (truncated or replaced while open?)",
                    )
                pyramid.add(np.ascontiguousarray(data.T))
                pos += data.shape[0]
                yield Progress(0.98 * pos / frames, message)
    else:
        blocks = source.blocks() if block is None else source.blocks(block)
        for first, data in blocks:
            pyramid.add(data)
            yield Progress(0.98 * min(1.0, (first + data.shape[1]) / frames), message)
    try:
        result = pyramid.finish()
    except ValueError as exc:
        raise MediaError(getattr(source, "path", "audio"), f"envelope could not be built ({exc})") from None
    yield Progress(0.99, message)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as out:
            np.save(out, result)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Envelope(result, sample_rate=source.sample_rate, frames=frames, source=source)


def load_envelope(source: Any) -> Envelope | None:
    """The cached envelope of `source` (memory-mapped), or None when there is none (or it is bad)."""
    path = envelope_path(source)
    if not path.exists():
        return None
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
        expected_dtype = np.int16 if _int16_path(source) is not None else np.float32
        if data.dtype != expected_dtype or data.shape[1] != source.channels:
            raise ValueError(f"unexpected {data.dtype} {data.shape}")
        return Envelope(data, sample_rate=source.sample_rate, frames=source.frames, source=source)
    except (ValueError, OSError, EOFError):
        path.unlink(missing_ok=True)  # damaged or foreign entry: rebuild
        return None


def load_or_build_envelope_task(source: Any) -> Task[Envelope]:
    """The cached envelope at once (no progress yielded) when present, else `build_envelope_task`."""
    cached = load_envelope(source)
    if cached is not None:
        return cached
    result = yield from build_envelope_task(source)
    return result


def envelope(source: Any) -> Envelope:
    """`load_or_build_envelope_task` run here (scripts, CLI, tests)."""
    return run(load_or_build_envelope_task(source))
