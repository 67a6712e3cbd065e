"""Pitch-preserving time-stretch (WSOLA), streaming, in numpy: play speech at 0.5–2× its speed.

WSOLA (waveform-similarity overlap-add; Verhelst & Roelands 1993) cuts the input into overlapping
grains and lays them out again on the output at a fixed hop, taking them from the input `rate`
times faster (or slower). Each grain is shifted by up to ±`tolerance` so that it continues the
waveform of the previous grain as closely as possible (best normalized cross-correlation), which
keeps periodic sounds (voices, tones) free of phase cancellations: pitch is kept, only time
changes. Why WSOLA and not a phase vocoder: speech is what Studio plays, WSOLA keeps its
transients and formants crisp (no "phasiness"), costs one small FFT correlation per grain, and is
exactly the identity at rate 1.

Parameters: grains of `frame` seconds (40 ms: ≥ 2 periods of any voice), synthesis hop = half a
grain, periodic Hann window (sums exactly to 1 at that hop), tolerance = a quarter grain (±10 ms,
about one period of a low male voice).

Time accounting (what the playback clock relies on). Grain k is centred on output frame
``(k+1)·hop`` and on input position ``c_k = c_{k-1} + rate_k·hop`` (``c_{-1} = 0``), so output
block k, frames ``[k·hop, (k+1)·hop)``, stands for input ``[c_{k-1}, c_k)`` — linearly, at the rate
of grain k. The content may lead or lag that nominal position by at most `tolerance`. Every output
frame returned by one `process` call has the same rate (the rate can only change between calls),
so `process` returns the input position of its first frame and the caller knows the rest:
``input(m) = in_start + rate·(m - m0)``.

Other choices: the first grain's rising half is replaced by ones (playback starts at once, no
fade-in); at rate exactly 1 the search is skipped, so the output is the input, sample for sample;
the search runs on the channel mean and every channel is shifted alike (stereo image kept).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TimeStretch", "stretch", "MIN_RATE", "MAX_RATE"]

MIN_RATE = 0.5
MAX_RATE = 2.0


def check_rate(rate: float) -> float:
    rate = float(rate)
    if not (MIN_RATE <= rate <= MAX_RATE):  # also rejects nan
        raise ValueError(f"playback rate must be between {MIN_RATE} and {MAX_RATE}, got {rate}")
    return rate


class TimeStretch:
    """Streaming WSOLA: `process(x)` with blocks of input (channels, n), `flush()` at the end.

    ``out, in_start = ts.process(x)``: `out` is (channels, m) float32 — everything that is final
    so far — and `in_start` the input frame (float, counted from the first frame ever pushed) that
    its first frame stands for; the rest of `out` advances `rate` input frames per output frame.
    Not thread-safe: one producer uses it.
    """

    def __init__(
        self,
        channels: int,
        sample_rate: int,
        rate: float = 1.0,
        frame: float = 0.040,
        tolerance: float | None = None,
    ) -> None:
        if channels < 1 or sample_rate < 1:
            raise ValueError(f"need channels ≥ 1 and sample_rate ≥ 1, got {channels}, {sample_rate}")
        self.channels = int(channels)
        self.sample_rate = int(sample_rate)
        self.rate = rate
        self.frame = max(16, 2 * round(frame * sample_rate / 2))
        self.hop = self.frame // 2
        self.tolerance = self.hop // 2 if tolerance is None else max(0, round(tolerance * sample_rate))
        n = np.arange(self.frame)
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * n / self.frame)).astype(np.float32)
        self._first_window = self._window.copy()
        self._first_window[: self.hop] = 1.0
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._base = 0  # input index of _buf[:, 0]
        self._pushed = 0  # input frames pushed so far
        self._ended = False
        self._k = 0  # next grain
        self._c = 0.0  # c_{k-1}: input position of the next output block's first frame
        self._prev = 0  # where grain k-1 was actually taken from (its first input frame)
        self._acc = np.zeros((self.channels, self.frame), np.float32)  # output [k·hop, k·hop + frame)
        self._out_frames = 0

    # -- parameters ----------------------------------------------------------------------------
    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = check_rate(value)

    @property
    def output_frames(self) -> int:
        """Output frames returned so far."""
        return self._out_frames

    @property
    def pushed(self) -> int:
        """Input frames pushed so far."""
        return self._pushed

    @property
    def input_position(self) -> float:
        """The input frame the next output frame stands for."""
        return self._c

    # -- streaming -----------------------------------------------------------------------------
    def process(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Push input (channels, n); return (the output that is now final, its first input position)."""
        if self._ended:
            raise ValueError("TimeStretch: process() after flush(); make a new one")
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected input of shape ({self.channels}, n), got {x.shape}")
        if x.shape[1]:
            self._buf = np.concatenate([self._buf, x], axis=1) if self._buf.shape[1] else x.copy()
            self._pushed += x.shape[1]
        return self._run()

    def flush(self) -> tuple[np.ndarray, float]:
        """The rest of the output, up to the frame that stands for the last input frame."""
        self._ended = True
        start = self._c
        blocks = []
        while self._c < self._pushed:
            blocks.append(self._grain())
        out = _join(blocks, self.channels)
        if blocks:  # the last block covers input past the end: cut it where the input ends
            last_start = out.shape[1] - self.hop
            keep = last_start + math.ceil((self._pushed - (self._c - self._rate * self.hop)) / self._rate)
            out = out[:, : max(0, min(out.shape[1], keep))]
        self._out_frames += out.shape[1] - sum(b.shape[1] for b in blocks)
        return out, start

    def _run(self) -> tuple[np.ndarray, float]:
        start = self._c
        blocks = []
        while self._need_end() <= self._pushed:
            blocks.append(self._grain())
        return _join(blocks, self.channels), start

    # -- one grain -----------------------------------------------------------------------------
    def _nominal(self) -> int:
        """First input frame of grain k before the similarity shift."""
        return round(self._c + self._rate * self.hop) - self.hop

    def _searching(self) -> bool:
        return self._k > 0 and self._rate != 1.0 and self.tolerance > 0

    def _need_end(self) -> int:
        a = self._nominal()
        if not self._searching():
            return a + self.frame
        return max(a + self.tolerance + self.frame, self._prev + self.hop + self.frame)

    def _get(self, a: int, b: int) -> np.ndarray:
        """Input frames [a, b) (zeros outside what was pushed)."""
        out = np.zeros((self.channels, b - a), np.float32)
        lo, hi = max(a, self._base), min(b, self._base + self._buf.shape[1])
        if hi > lo:
            out[:, lo - a : hi - a] = self._buf[:, lo - self._base : hi - self._base]
        return out

    def _grain(self) -> np.ndarray:
        a = self._nominal()
        if self._searching():
            tol, n = self.tolerance, self.frame
            region = self._get(a - tol, a + tol + n)
            template = self._get(self._prev + self.hop, self._prev + self.hop + n)
            shift = _best_shift(region.mean(axis=0), template.mean(axis=0), n) - tol
        else:
            shift = 0
        start = a + shift
        grain = self._get(start, start + self.frame)
        self._acc += grain * (self._first_window if self._k == 0 else self._window)
        block = self._acc[:, : self.hop].copy()
        self._acc[:, : self.hop] = self._acc[:, self.hop :]
        self._acc[:, self.hop :] = 0.0
        self._prev = start
        self._c += self._rate * self.hop
        self._k += 1
        self._out_frames += self.hop
        # drop input no later grain can reach (the rate may fall to MIN_RATE before the next one)
        keep_from = min(
            round(self._c + MIN_RATE * self.hop) - self.hop - self.tolerance, self._prev + self.hop
        )
        drop = keep_from - self._base
        if drop > 0:
            self._buf = self._buf[:, drop:]
            self._base += drop
        return block


def _best_shift(region: np.ndarray, template: np.ndarray, n: int) -> int:
    """Index d maximizing the normalized correlation of template with region[d : d + n]."""
    m = region.shape[0] - n + 1
    size = 1 << (region.shape[0] + n - 1).bit_length()
    r = region.astype(np.float64)
    corr = np.fft.irfft(np.fft.rfft(r, size) * np.conj(np.fft.rfft(template.astype(np.float64), size)), size)[
        :m
    ]
    cs = np.concatenate([[0.0], np.cumsum(r * r)])
    energy = cs[n : n + m] - cs[:m]
    score = corr / np.sqrt(np.maximum(energy, 0.0) + 1e-9 * n)
    return int(np.argmax(score))


def _join(blocks: list[np.ndarray], channels: int) -> np.ndarray:
    if not blocks:
        return np.zeros((channels, 0), np.float32)
    return np.concatenate(blocks, axis=1)


def stretch(x: np.ndarray, rate: float, sample_rate: int, **options: float) -> np.ndarray:
    """Time-stretch a whole signal (channels, n) or (n,): about n / rate frames, same pitch."""
    x = np.asarray(x, dtype=np.float32)
    mono = x.ndim == 1
    data = x[None, :] if mono else x
    ts = TimeStretch(data.shape[0], sample_rate, rate, **options)
    head, _ = ts.process(data)
    tail, _ = ts.flush()
    out = np.concatenate([head, tail], axis=1)
    return out[0] if mono else out
