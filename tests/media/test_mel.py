"""studio.media.mel against librosa (the computation it replaces on the hot paths)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from studio.media.mel import frame_power, hz_to_mel, mel_filterbank, mel_to_hz


@pytest.mark.parametrize(
    "rate, n_fft, n_mels, fmin, fmax",
    [
        (16000, 400, 40, 0.0, None),
        (16000, 512, 80, 20.0, 7600.0),
        (44100, 2048, 128, 0.0, None),
        (8000, 256, 24, 50.0, 3800.0),
    ],
)
def test_filterbank_equals_librosa(rate, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(rate, n_fft, n_mels, fmin, fmax)
    ref = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    assert np.allclose(ours, ref, rtol=1e-5, atol=1e-8)


def test_mel_scale_round_trip_and_librosa():
    f = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0])
    assert np.allclose(hz_to_mel(f), librosa.hz_to_mel(f))
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)


def test_frame_power_equals_librosa_stft():
    y = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    ours = frame_power(y, 400, 160)
    ref = np.abs(librosa.stft(y, n_fft=400, hop_length=160, center=False)) ** 2
    assert ours.shape == ref.shape
    assert np.allclose(ours, ref, rtol=1e-3, atol=1e-3 * ref.max())
