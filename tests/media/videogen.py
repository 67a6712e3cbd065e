"""Test videos whose frames show their own index, readable back after lossy compression.

Each frame carries its index as a 16-bit code plus a 4-bit check (popcount of the index, mod 16)
in a band of 5 × 4 large black/white cells across the top of the frame; the rest is a textured
background that moves from frame to frame (so encoders do real motion work and decoding costs what
it costs on real footage). `read_index(rgb)` samples the middle of each cell, so it survives heavy
compression, scaling and colour conversion; a wrong check raises `ValueError` instead of returning
a plausible wrong number.

Videos are written with PyAV, which sets every frame's presentation time explicitly — that is how
variable frame rate files (`vfr_times`) are made — and picks codec, B-frames and GOP per call.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["make_index_video", "index_frame", "paint_index", "read_index", "COLS", "ROWS", "BAND"]

COLS, ROWS = 5, 4
BAND = 0.5  # fraction of the frame height used by the code cells
_BITS = 16


def _cells(index: int) -> list[int]:
    if not 0 <= index < (1 << _BITS):
        raise ValueError(f"index {index} does not fit in {_BITS} bits")
    check = bin(index).count("1") % 16
    bits = [(index >> k) & 1 for k in range(_BITS)] + [(check >> k) & 1 for k in range(4)]
    return bits


def index_frame(index: int, width: int, height: int, texture: bool = True) -> np.ndarray:
    """An RGB uint8 frame (height, width, 3) showing `index`."""
    if not texture:
        frame = np.full((height, width, 3), 96, np.uint8)
    elif width * height <= 320 * 240:  # the same small clip is often written in several codecs
        frame = _small_background(index, width, height).copy()
    else:
        frame = _background(index, width, height)
    return paint_index(frame, index)


def _background(index: int, width: int, height: int) -> np.ndarray:
    """A moving texture with noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.21
    r = 127 + 100 * np.sin(x / 17.0 + phase) * np.cos(y / 23.0 - phase * 0.7)
    g = 127 + 100 * np.sin((x + y) / 29.0 - phase * 1.3)
    b = 127 + 100 * np.cos(np.hypot(x - width / 2, y - height / 2) / 13.0 - phase)
    img = np.stack([r, g, b], axis=-1)
    rng = np.random.default_rng(index)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


_small_background = functools.lru_cache(maxsize=512)(_background)


def paint_index(frame: np.ndarray, index: int) -> np.ndarray:
    """Draw the code of `index` over the top band of an RGB frame (in place); returns the frame."""
    height, width = frame.shape[:2]
    band = int(height * BAND)
    for k, bit in enumerate(_cells(index)):
        row, col = divmod(k, COLS)
        y0, y1 = row * band // ROWS, (row + 1) * band // ROWS
        x0, x1 = col * width // COLS, (col + 1) * width // COLS
        frame[y0:y1, x0:x1] = 255 if bit else 0
    return frame


def read_index(rgb: np.ndarray) -> int:
    """The index shown by a frame made by `index_frame` (any size, RGB or BGR); ValueError if unreadable."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    band = height * BAND
    bits = []
    for k in range(ROWS * COLS):  # the middle half of each cell (only those pixels are read: fast)
        row, col = divmod(k, COLS)
        cy, cx = (row + 0.5) * band / ROWS, (col + 0.5) * width / COLS
        hy, hx = max(band / ROWS / 4, 0.5), max(width / COLS / 4, 0.5)
        sy, sx = max(int(hy) // 4, 1), max(int(hx) // 4, 1)  # a sparse grid of it is plenty
        patch = rgb[int(cy - hy) : int(np.ceil(cy + hy)) : sy, int(cx - hx) : int(np.ceil(cx + hx)) : sx]
        bits.append(1 if float(patch.mean()) > 127.5 else 0)
    index = sum(b << k for k, b in enumerate(bits[:_BITS]))
    check = sum(b << k for k, b in enumerate(bits[_BITS:]))
    if check != bin(index).count("1") % 16:
        raise ValueError("frame shows no readable index (check bits disagree)")
    return index


def make_index_video(
    path: str | os.PathLike[str],
    n_frames: int,
    fps: float = 25.0,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
    vfr_times: Sequence[float] | None = None,
    gop: int = 12,
    bframes: int = 2,
    texture: bool = True,
    container_format: str | None = None,
    options: dict[str, str] | None = None,
    audio_rate: int | None = None,
    container_options: dict[str, str] | None = None,
) -> list[float]:
    """Write `n_frames` index frames to `path`; return each frame's presentation time in seconds.

    Constant frame rate at `fps`, or the times in `vfr_times` (strictly increasing seconds; its
    length is the frame count). `codec`: any PyAV/ffmpeg encoder ("libx264", "mpeg4", "mpeg2video",
    "mpeg1video", "mjpeg", ...). `bframes` only applies to codecs that have them. The container
    follows the suffix (".mpg" is MPEG program stream) unless `container_format` is given. With
    `audio_rate`, a quiet sine audio track of the same length is added. `container_options` go to the
    muxer (e.g. ``{"movflags": "faststart"}``).
    """
    import av

    width, height = size
    times = [i / fps for i in range(n_frames)] if vfr_times is None else [float(t) for t in vfr_times]
    if any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError("frame times must increase")
    fmt = container_format or ("mpeg" if str(path).lower().endswith((".mpg", ".mpeg")) else None)
    out = av.open(os.fspath(path), "w", format=fmt, options=container_options or {})
    try:
        rate = Fraction(fps).limit_denominator(1001)
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        opts = dict(options or {})
        if codec == "libx264":
            opts.setdefault("preset", "veryfast")
            opts.setdefault("crf", "20")
            opts.setdefault("bf", str(bframes))
            opts.setdefault("g", str(gop))
            opts.setdefault("keyint_min", str(min(gop, 4)))
            opts.setdefault("sc_threshold", "0")
        else:
            stream.codec_context.gop_size = gop
            if codec in ("mpeg4", "mpeg2video", "mpeg1video"):
                stream.codec_context.max_b_frames = bframes
                opts.setdefault("qscale", "3")
                stream.codec_context.qmin = 2
                stream.codec_context.qmax = 6
        stream.options = opts
        if vfr_times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
            tb = Fraction(1, 1000)
        else:
            stream.codec_context.time_base = 1 / rate
            tb = 1 / rate
        astream = None
        if audio_rate:
            astream = out.add_stream("aac" if codec == "libx264" else "mp2", rate=audio_rate)
            astream.layout = "mono"
        for i, t in enumerate(times):
            img = index_frame(i, width, height, texture)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = round(t / tb) if vfr_times is not None else i
            frame.time_base = tb
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if astream is not None:
            _write_audio(astream, out, times[-1] + (1.0 / fps), audio_rate)
    finally:
        out.close()
    return times


def _write_audio(astream, out, seconds: float, rate: int) -> None:  # type: ignore[no-untyped-def]
    import av

    n = int(seconds * rate)
    t = np.arange(n) / rate
    sig = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    chunk = 1152
    fmt = astream.codec_context.format.name if astream.codec_context.format else "fltp"
    for k in range(0, n, chunk):
        part = sig[k : k + chunk]
        if fmt.startswith("s16"):
            data = (part * 32767).astype(np.int16)[None, :]
            frame = av.AudioFrame.from_ndarray(data, format="s16" if fmt == "s16" else "s16p", layout="mono")
        else:
            frame = av.AudioFrame.from_ndarray(part[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = k
        frame.time_base = Fraction(1, rate)
        for packet in astream.encode(frame):
            out.mux(packet)
    for packet in astream.encode(None):
        out.mux(packet)
