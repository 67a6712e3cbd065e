"""Signal tracks on real audio: waveform, spectrogram (tiles, staleness, pitch), curves and curve tiers.

Everything is rendered offscreen and checked on the pixels of `track.grab()`; audio is generated
into the test's folder with soundfile, so the expected picture follows from the signal.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.core.commands import RenameTier, SetCurveValues
from studio.core.session import Session
from studio.core.tiers import CurveTier
from studio.media.audio import open_audio
from studio.media.envelope import envelope
from studio.media.features import Features
from studio.media.spectrogram import SpectrogramService
from studio.qt.curves import CURVE_COLORS, CurveTierTrack, CurveTrack, FeatureTrack, reduce_columns
from studio.qt.spectrogram_view import PITCH_COLOR, SpectrogramTrack
from studio.qt.timeview import TimeView
from studio.qt.track import COLORS, HEADER_WIDTH
from studio.qt.waveform import WARNING_COLOR, WaveformTrack

CANVAS = 600


def _pixels(widget) -> np.ndarray:
    """The widget's canvas as an (h, w, 3) uint8 array (header cut off)."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)
    return arr[:, : w * 3].reshape(h, w, 3)[:, HEADER_WIDTH:].astype(np.int32)


def _near(px: np.ndarray, color: QColor, tol: int = 40) -> np.ndarray:
    return np.abs(px - np.array([color.red(), color.green(), color.blue()])).sum(axis=-1) < tol


def _view(t0: float, t1: float) -> TimeView:
    v = TimeView()
    v.set_extent(t0, t1, show_all=True)
    return v


def _write(path, x, rate) -> None:
    sf.write(str(path), x.astype(np.float32), rate, subtype="PCM_16")


# -- waveform ------------------------------------------------------------------------------------


@pytest.fixture
def burst_wav(tmp_path):
    """3 s at 44.1 kHz: silence, a 440 Hz burst at 0.8 over 1.0–1.5 s, a clipped one at 2.2–2.4 s."""
    rate = 44100
    t = np.arange(3 * rate) / rate
    x = np.zeros_like(t)
    burst = (t >= 1.0) & (t < 1.5)
    x[burst] = 0.8 * np.sin(2 * np.pi * 440 * t[burst])
    clip = (t >= 2.2) & (t < 2.4)
    x[clip] = np.clip(3 * np.sin(2 * np.pi * 100 * t[clip]), -1, 1)
    path = tmp_path / "burst.wav"
    _write(path, x, rate)
    return path, x, rate


def test_waveform_ink_where_the_burst_is_and_samples_when_zoomed_in(qtbot, burst_wav):
    path, x, rate = burst_wav
    src = open_audio(path)
    view = _view(0, 3)
    track = WaveformTrack(view, "burst.wav")
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 100)
    px = _pixels(track)
    assert track.mode == "empty" and not _near(px, COLORS["wave"]).any()  # "loading waveform…"

    track.set_envelope(envelope(src))
    assert track.subtitle == "ch 1 · 44.1 kHz"
    px = _pixels(track)
    h = px.shape[0]
    far = np.zeros(h, bool)
    far[: h // 2 - 8] = far[h // 2 + 8 :] = True  # rows away from the zero line
    ink = (_near(px, COLORS["wave"]) | _near(px, WARNING_COLOR))[far].any(axis=0)
    cols = np.arange(CANVAS)
    t_col = (cols + 0.5) / CANVAS * 3
    inside = ((t_col > 1.0 + 0.01) & (t_col < 1.5 - 0.01)) | ((t_col > 2.2 + 0.01) & (t_col < 2.4 - 0.01))
    outside = ~(((t_col > 1.0 - 0.01) & (t_col < 1.5 + 0.01)) | ((t_col > 2.2 - 0.01) & (t_col < 2.4 + 0.01)))
    assert ink[inside].all() and not ink[outside].any()
    # the 0.8 burst reaches 0.8 of the half height, not the edge; the clipped one is in warning colour
    rows = np.flatnonzero(_near(px[:, cols[(t_col > 1.1) & (t_col < 1.4)]], COLORS["wave"]).any(axis=1))
    assert abs((h / 2 - rows.min()) / (h / 2 - 2) - 0.8) < 0.05
    warn = _near(px, WARNING_COLOR).any(axis=0)
    assert warn[(t_col > 2.21) & (t_col < 2.39)].all() and not warn[t_col < 2.19].any()

    # Alt+wheel is vertical zoom: the burst now fills the track
    pos = QPointF(HEADER_WIDTH + CANVAS / 2, 50)
    wheel = QWheelEvent(
        pos,
        track.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.AltModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(track, wheel)
    assert track.gain == pytest.approx(1.25**2)
    assert view.range == (0, 3)  # the view did not move
    px = _pixels(track)
    rows = np.flatnonzero(_near(px[:, cols[(t_col > 1.1) & (t_col < 1.4)]], COLORS["wave"]).any(axis=1))
    assert rows.min() <= 2

    # zoomed in to 40 samples: the samples themselves, as a line with dots
    track.set_gain(1.0)
    n0 = int(1.2 * rate)
    view.set_range(n0 / rate, (n0 + 40) / rate)
    px = _pixels(track)
    assert track.mode == "samples" and track.pixels_per_sample() >= 8
    scale = h / 2 - 2
    for n in range(n0 + 2, n0 + 38, 5):
        xs = round(view.x_of(n / rate, CANVAS))
        ys = round(h / 2 - x[n] * scale)
        patch = px[max(ys - 2, 0) : ys + 3, xs - 2 : xs + 3]
        assert _near(patch, COLORS["wave"], 90).any(), f"no ink at sample {n}"
    assert not _near(px[:, :], COLORS["wave"], 90)[: round(h / 2 - 0.85 * scale) - 3].any()


# -- spectrogram ---------------------------------------------------------------------------------


def _service(tmp_path, x, rate=16000, name="sig.wav") -> SpectrogramService:
    path = tmp_path / name
    _write(path, x, rate)
    return SpectrogramService(open_audio(path))


def _all_tiles(track) -> bool:
    return bool(track.keys) and all(k in track.tiles for k in track.keys)


def test_spectrogram_tone_is_a_bright_row_at_its_frequency(qtbot, runner, tmp_path):
    rate = 16000
    t = np.arange(2 * rate) / rate
    svc = _service(tmp_path, 0.5 * np.sin(2 * np.pi * 1500 * t), rate)
    track = SpectrogramTrack(_view(0, 2), "tone", runner)
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 161)
    assert "computing" not in track.subtitle and track.tiles == {}
    track.set_service(svc)
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    px = _pixels(track)
    h = px.shape[0]
    brightness = px[:, CANVAS // 3 : 2 * CANVAS // 3].sum(axis=-1)  # away from the axis labels
    rows = brightness.argmax(axis=0)
    freq = (1 - (np.median(rows) + 0.5) / h) * 8000
    assert abs(freq - 1500) < 80
    assert np.median(brightness.max(axis=0)) > 4 * np.median(brightness)
    assert set(track.drawn_keys) == set(track.keys)
    # a storm of view changes (a fast zoom) makes one request, for the last view, once the timer fires
    first = track.tag
    for k in range(20):
        track.view.set_range(0.5 - k * 0.02, 1.0 + k * 0.02)
    assert track.tag == first
    qtbot.waitUntil(lambda: track.tag != first, timeout=2000)
    assert track.tag[1] == first[1] + 1 and track.keys == svc.tile_keys(0.12, 1.38, track.level)
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    # the axis goes to 4 kHz: the row moves up to 1500 / 4000 of the height
    track.set_max_freq(4000)
    px = _pixels(track)
    rows = px[:, CANVAS // 3 : 2 * CANVAS // 3].sum(axis=-1).argmax(axis=0)
    assert abs((1 - (np.median(rows) + 0.5) / h) * 4000 - 1500) < 40


def test_spectrogram_drops_tiles_of_a_view_left_behind(qtbot, runner, tmp_path):
    rate = 16000
    x = np.random.default_rng(3).normal(0, 0.1, 120 * rate)
    svc = _service(tmp_path, x, rate)
    view = _view(0, 120)
    track = SpectrogramTrack(view, "noise", runner, svc)
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 120)
    track.set_show_pitch(True)
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    assert track.pitch_job is None  # 120 s is too long for the pitch overlay
    track.set_show_pitch(False)

    # view A's job finishes on its worker, but its result is still queued when the user moves on
    view.set_range(10, 40)
    track.refresh()
    job_a = track.tile_job
    assert runner.wait(10) and job_a.state == "finished"
    view.set_range(45, 75)  # view B ...
    track.refresh()
    job_b = track.tile_job
    view.set_range(85, 115)  # ... left at once for view C: B's job is cancelled (latest wins)
    track.refresh()
    job_c, keys_c = track.tile_job, set(track.keys)
    assert job_b.is_cancelled or job_b.state == "finished"  # (B may have been quicker than us)
    qtbot.waitUntil(lambda: not job_b.active and not job_c.active and _all_tiles(track), timeout=10000)
    # A's result arrived for a view already left and was dropped; so was B's unless it was cancelled
    assert track.stale_dropped == (1 if job_b.state == "cancelled" else 2)
    assert set(track.tiles) == keys_c  # nothing of A or B (nor of the whole-file level)
    _pixels(track)
    assert set(track.drawn_keys) == keys_c


def test_spectrogram_keeps_the_old_level_until_the_new_one_arrives(qtbot, runner, tmp_path):
    rate = 16000
    x = np.random.default_rng(4).normal(0, 0.1, 30 * rate)
    view = _view(0, 30)
    track = SpectrogramTrack(view, "noise", runner, _service(tmp_path, x, rate))
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 100)
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    coarse = track.level
    view.set_range(10, 12)
    track.refresh()
    assert track.level < coarse and not _all_tiles(track)
    _pixels(track)
    assert track.drawn_keys and all(k.level == coarse for k in track.drawn_keys)  # no black frame
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    _pixels(track)
    assert {k.level for k in track.drawn_keys} == {track.level}


def test_pitch_overlay_finds_200_hz(qtbot, runner, tmp_path):
    rate = 16000
    t = np.arange(int(1.5 * rate)) / rate
    x = sum(0.4 / k * np.sin(2 * np.pi * 200 * k * t) for k in range(1, 6))
    track = SpectrogramTrack(_view(0, 1.5), "voice", runner, _service(tmp_path, x, rate))
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 150)
    track.set_show_pitch(True)
    track.set_show_intensity(True)
    qtbot.waitUntil(lambda: track.pitch is not None and track.intensity is not None, timeout=8000)
    times, f0 = track.pitch
    middle = (times > 0.2) & (times < 1.3)
    assert np.isfinite(f0[middle]).mean() > 0.9
    assert abs(np.nanmedian(f0[middle]) - 200) < 3
    assert track.intensity[0].size > 100 and np.ptp(track.intensity[1][10:-10]) < 1.0  # a steady tone
    qtbot.waitUntil(lambda: _all_tiles(track), timeout=5000)
    px = _pixels(track)
    h = px.shape[0]
    lo, hi = track.pitch_range
    dots = _near(px[:, CANVAS // 4 : CANVAS // 2], PITCH_COLOR, 60)
    ys = np.flatnonzero(dots.any(axis=1))
    expected = h * (1 - (200 - lo) / (hi - lo))
    assert ys.size and abs(np.median(ys) - expected) < 3


# -- curves --------------------------------------------------------------------------------------


def test_curve_reduction_keeps_a_single_sample_spike(qtbot):
    times = np.arange(100_000) * 1e-4  # 10 s at 10 kHz
    values = np.zeros(times.size)
    values[54_321] = 1.0
    values[20_000:20_500] = np.nan  # a gap of 50 ms = 3 pixels
    x, v = reduce_columns(times, values, 0.0, 10.0, CANVAS)
    assert x.size <= 2 * (CANVAS + 2) and np.nanmax(v) == 1.0
    assert np.isnan(v[(x > 20_000 * 1e-4 * 60 + 1) & (x < 20_500 * 1e-4 * 60 - 1)]).all()

    track = CurveTrack(_view(0, 10), "spike", times, values, y_range=(-0.1, 1.1))
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 80)
    px = _pixels(track)
    assert track.drawn_points <= 2 * (CANVAS + 2)
    ink = _near(px, CURVE_COLORS[0], 80)
    h = px.shape[0]
    top = np.flatnonzero(ink[: h // 3].any(axis=0))  # ink in the top third: only the spike
    assert top.size and np.all(np.abs(top - 5.4321 / 10 * CANVAS) <= 2)
    # samples 20 000..20 500 (2.0–2.05 s) fill columns 120..122: the line breaks there
    assert ink[:, 110:119].any() and ink[:, 124:130].any() and not ink[:, 121:123].any()


def test_confidence_style_and_features(qtbot):
    times = np.arange(200) * 0.05
    values = np.where(times < 5, 0.9, 0.2)
    track = CurveTrack(_view(0, 10), "confidence", times, values, style="confidence")
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 100)
    track.set_threshold(0.5)
    px = _pixels(track)
    h = px.shape[0]
    y_between = round(3 + (1 - 0.7) * (h - 6))  # between the threshold and 0.9
    left, right = px[y_between, 50:250].sum(axis=-1), px[y_between, 350:550].sum(axis=-1)
    background = sum(COLORS["background"].getRgb()[:3])
    assert np.all(left > background + 60) and np.all(np.abs(right - background) < 10)

    feats = Features(
        values=np.random.default_rng(0).normal(size=(50, 10)),
        times=np.arange(50) * 0.1,
        hop=0.1,
        kind="mfcc",
        names=tuple(f"c{i}" for i in range(10)),
    )
    ft = FeatureTrack(_view(0, 10), feats, offset=2.0)
    qtbot.addWidget(ft)
    assert ft.values.shape == (50, 8) and ft.times[0] == 2.0 and ft.subtitle.startswith("8 of 10 dims")
    ft.set_offset(-1.0)
    assert ft.times[0] == -1.0 and ft.subtitle.startswith("8 of 10 dims")
    one = FeatureTrack(_view(0, 10), feats, columns=["c3"])
    qtbot.addWidget(one)
    np.testing.assert_array_equal(one.values[:, 0], feats.column("c3"))


def test_curve_tier_track_follows_commands_until_detached(qtbot):
    tier = CurveTier("confidence", np.linspace(0, 1, 11), rate=10.0, unit="p")
    session = Session([tier])
    track = CurveTierTrack(_view(0, 1.1), tier)
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + CANVAS, 60)
    np.testing.assert_array_equal(track.values[:, 0], tier.values)
    before = _pixels(track)

    session.undo_stack.push(SetCurveValues("confidence", np.ones(11) * 0.5, rate=10.0))
    np.testing.assert_array_equal(track.values[:, 0], np.full(11, 0.5))
    assert not np.array_equal(_pixels(track), before)
    session.undo_stack.undo()
    np.testing.assert_array_equal(track.values[:, 0], np.linspace(0, 1, 11))
    session.undo_stack.push(RenameTier("confidence", "vad"))
    assert track.title == "vad" and track.track_id == "vad"

    track.close()  # closing detaches: the tier no longer calls the track
    session.undo_stack.push(SetCurveValues("vad", np.zeros(3), rate=10.0))
    assert track.values.shape[0] == 11
    track.detach()  # idempotent
