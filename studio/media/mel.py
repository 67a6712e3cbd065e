"""The mel filterbank and frame power spectra in plain numpy (Qt-free).

librosa's `filters.mel` and `stft` are what Studio's features follow, but their first call in a
process takes 1-2 s (librosa loads its submodules and numba-compiles helpers on first use) while
holding the GIL in stretches of ~200 ms: done on a worker thread, that froze the window (measured
with bench/ui_align_stall.py). These are the same computations in numpy, equal to librosa's to
float rounding (tests compare them): the Slaney mel scale (linear below 1 kHz, logarithmic above),
triangular filters with Slaney area normalisation (librosa's defaults), and periodic Hann windows.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "hann", "frame_power"]

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    f = np.asanyarray(f, dtype=np.float64)
    return np.where(
        f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP, f / _F_SP
    )


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asanyarray(m, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 weights, as ``librosa.filters.mel`` with its defaults."""
    fmax = rate / 2.0 if fmax is None else float(fmax)
    fft_f = np.fft.rfftfreq(n_fft, 1.0 / rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_f)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    out = w.astype(np.float32)
    out.flags.writeable = False  # cached: shared by every caller
    return out


@functools.lru_cache(maxsize=8)
def hann(n: int) -> np.ndarray:
    """The periodic Hann window of length `n` (scipy's ``get_window("hann", n)``)."""
    out = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)
    out.flags.writeable = False
    return out


def frame_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """(n_fft // 2 + 1, frames) power spectrum of `y` framed without padding (librosa's
    ``abs(stft(y, n_fft, hop, center=False)) ** 2``), frames starting every `hop` samples."""
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(y, np.float32), n_fft)[::hop]
    spec = np.fft.rfft(frames * hann(n_fft), axis=1)
    return (spec.real**2 + spec.imag**2).T.astype(np.float32)
