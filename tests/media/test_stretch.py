"""WSOLA time-stretch: pitch kept, length and time accounting right, streaming equals one-shot."""

from __future__ import annotations

import numpy as np
import pytest

from studio.media.stretch import TimeStretch, stretch

SR = 48000


def tone(freq: float = 440.0, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def spectrum(y: np.ndarray, sr: int = SR) -> tuple[float, float]:
    """(peak frequency, share of the energy within ±20 Hz of 440 Hz)."""
    s = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    f = np.fft.rfftfreq(len(y), 1 / sr)
    return float(f[np.argmax(s)]), float(s[(f > 420) & (f < 460)].sum() / s.sum())


@pytest.mark.parametrize("rate", [0.5, 0.75, 1.25, 1.5, 2.0])
def test_stretched_tone_keeps_its_pitch_and_gets_the_right_length(rate: float) -> None:
    x = tone()
    y = stretch(x, rate, SR)
    assert abs(len(y) - len(x) / rate) <= 2
    peak, share = spectrum(y)
    assert abs(peak - 440.0) < 2.0
    assert share > 0.99  # a clean tone: no phase-cancellation warble


@pytest.mark.parametrize("rate", [0.5, 1.5])
def test_the_similarity_search_is_what_keeps_the_tone_clean(rate: float) -> None:
    # Without the search (plain overlap-add), grains meet out of phase and the tone warbles.
    plain = stretch(tone(), rate, SR, tolerance=0.0)
    assert spectrum(plain)[1] < 0.9
    assert spectrum(stretch(tone(), rate, SR))[1] > 0.99


def test_rate_one_is_the_identity() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 30000)).astype(np.float32)
    y = stretch(x, 1.0, SR)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-6)


@pytest.mark.parametrize("rate", [0.5, 1.3, 2.0])
def test_streaming_in_odd_blocks_equals_one_shot(rate: float) -> None:
    x = tone(seconds=0.6)
    ts = TimeStretch(1, SR, rate)
    rng = np.random.default_rng(7)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        out, in_start = ts.process(x[None, i : i + n])
        assert in_start == pytest.approx(sum(p.shape[1] for p in parts) * rate)
        parts.append(out)
        i += n
    parts.append(ts.flush()[0])
    y = np.concatenate(parts, axis=1)[0]
    np.testing.assert_array_equal(y, stretch(x, rate, SR))
    assert ts.output_frames == len(y)


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.6, 2.0])
def test_a_click_lands_where_the_time_accounting_says(rate: float) -> None:
    x = np.zeros(SR, np.float32)
    x[int(0.6 * SR)] = 1.0
    x += 0.01 * tone(seconds=1.0)  # something to align on
    y = stretch(x, rate, SR)
    heard = np.argmax(np.abs(y - np.median(y))) / SR
    assert heard == pytest.approx(0.6 / rate, abs=0.015)  # ± the search tolerance (10 ms of input)


def test_rate_change_mid_stream_keeps_the_input_position_continuous() -> None:
    x = tone(seconds=1.0)[None, :]
    ts = TimeStretch(1, SR, 1.0)
    out1, s1 = ts.process(x[:, :20000])
    ts.rate = 2.0
    out2, s2 = ts.process(x[:, 20000:])
    assert s1 == 0.0
    assert s2 == pytest.approx(out1.shape[1] * 1.0)  # where the first part left off
    out3, s3 = ts.flush()
    assert s3 == pytest.approx(s2 + out2.shape[1] * 2.0)
    assert s3 + out3.shape[1] * 2.0 == pytest.approx(x.shape[1], abs=2.0)  # output covers the input exactly


def test_stereo_channels_are_shifted_alike() -> None:
    x = tone(seconds=0.5)
    y = stretch(np.stack([x, 0.5 * x]), 1.7, SR)
    np.testing.assert_allclose(y[1], 0.5 * y[0], atol=1e-6)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="between 0.5 and 2.0"):
        TimeStretch(1, SR, 2.5)
    ts = TimeStretch(1, SR)
    with pytest.raises(ValueError, match="between"):
        ts.rate = float("nan")
    with pytest.raises(ValueError, match="shape"):
        ts.process(np.zeros((2, 10), np.float32))
    ts.flush()
    with pytest.raises(ValueError, match="after flush"):
        ts.process(np.zeros((1, 10), np.float32))
