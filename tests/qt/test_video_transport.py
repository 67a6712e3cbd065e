"""The video pane (frame at the playhead, offsets, bursts, decoder threads), the transport bar and
the overview bar, with real widgets offscreen, real video files and a real TimeView."""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.media.audio import open_audio
from studio.media.envelope import envelope
from studio.media.video import open_video
from studio.qt.overview import OVERVIEW_HEIGHT, Overview
from studio.qt.timeview import TimeView
from studio.qt.track import COLORS
from studio.qt.transport import Transport, format_time, parse_rate
from studio.qt.video_view import THREAD_PREFIX, VideoPane

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
from videogen import make_index_video, read_index  # noqa: E402

WAIT_MS = 5000
# the offscreen platform cannot resize a top-level window to a new minimum size, and says so
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def _decoder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


@pytest.fixture
def sources():
    """Opened videos, closed at teardown (the pane does not own them)."""
    opened = []

    def open_(path, **kw):
        v = open_video(path, **kw)
        opened.append(v)
        return v

    yield open_
    for v in opened:
        v.close()


@pytest.fixture
def pane(qtbot):
    view = TimeView()
    p = VideoPane(view)
    qtbot.addWidget(p)
    p.resize(720, 300)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()
    assert not _decoder_threads(), "decoder threads left running"


@pytest.fixture
def index_video(tmp_path) -> Path:
    path = tmp_path / "index.mp4"
    make_index_video(path, 50, fps=25.0, size=(160, 120), gop=12, bframes=2)
    return path


def _settled(panel, expected):
    return lambda: panel.shown_index == expected and not panel.busy


def _screen_index(panel) -> int:
    """The index read back from the pixels the panel painted (not from its attributes)."""
    img = panel.grab(panel.image_rect()).toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return read_index(arr[:, : w * 3].reshape(h, w, 3))


# -- video pane ------------------------------------------------------------------------------------
def test_panel_shows_the_frame_at_the_playhead_with_offsets(qtbot, pane, sources, index_video):
    view = pane.view
    a = sources(index_video)
    b = sources(index_video)
    assert a.frame_count == 50
    view.set_extent(-1.0, 4.0, show_all=True)
    pa = pane.add_video("a", a, offset=0.0)
    pb = pane.add_video("b", b, offset=0.52)
    assert len(_decoder_threads()) == 2
    # forward, backward across GOPs, between frames, exactly on frame times
    for t in (0.0, 1.234, 0.3, 1.96, 0.52, 0.5599, 1.0, 0.04):
        view.set_playhead(t)
        for panel, src, off in ((pa, a, 0.0), (pb, b, 0.52)):
            if t - off < 0:
                continue
            expected = src.index_at(t - off)
            assert expected == math.floor((t - off) * 25 + 1e-6)  # CFR file: the same, computed by hand
            qtbot.waitUntil(_settled(panel, expected), timeout=WAIT_MS)
            assert read_index(panel.shown_frame) == expected
            assert panel.shown_time == pytest.approx(expected / 25)
            assert _screen_index(panel) == expected
    # before b starts: black, with a note; a keeps showing its frame
    view.set_playhead(0.3)
    qtbot.waitUntil(_settled(pa, 7), timeout=WAIT_MS)
    assert pb.shown_index is None and pb.shown_frame is None
    assert "starts at 0:00:00.520" in pb.note
    dark = pb.grab(pb.image_rect()).toImage()
    assert QColor(dark.pixel(5, 5)).lightness() < 20
    # moving the offset moves the frame
    pane.set_offset("b", -0.4)
    qtbot.waitUntil(_settled(pb, b.index_at(0.7)), timeout=WAIT_MS)
    assert read_index(pb.shown_frame) == 17
    # after the end: black, "ended"
    pane.set_offset("b", 0.52)
    view.set_playhead(2.5)
    qtbot.waitUntil(lambda: pa.shown_index is None and pb.shown_index == 49, timeout=WAIT_MS)
    assert "ended at 0:00:02.000" in pa.note
    assert not pa.busy


def test_same_frame_is_not_decoded_again(qtbot, pane, sources, index_video):
    view = pane.view
    view.set_extent(0.0, 2.0, show_all=True)
    panel = pane.add_video("a", sources(index_video))
    view.set_playhead(0.41)
    qtbot.waitUntil(_settled(panel, 10), timeout=WAIT_MS)
    shown, requested = panel.frames_shown, panel.frames_requested
    for t in (0.4, 0.415, 0.43, 0.4399):  # all within frame 10
        view.set_playhead(t)
    assert panel.frames_requested == requested and not panel.busy
    view.set_playhead(0.44)
    qtbot.waitUntil(_settled(panel, 11), timeout=WAIT_MS)
    assert panel.frames_requested == requested + 1 and panel.frames_shown == shown + 1


def test_burst_ends_on_the_last_request_without_blocking(qtbot, pane, sources, demo_dir):
    view = pane.view
    video = sources(demo_dir / "swwp2s.mpg")
    assert (video.frame_count, video.fps) == (75, 25.0)
    view.set_extent(0.0, video.duration, show_all=True)
    panel = pane.add_video("swwp2s", video)
    qtbot.waitUntil(_settled(panel, 0), timeout=WAIT_MS)
    shown_before = panel.frames_shown
    rng = np.random.default_rng(7)
    times = rng.uniform(0.1, 2.9, 50)
    times[-1] = 2.345
    durations = []
    for t in times:
        t0 = time.perf_counter()
        view.set_playhead(float(t))
        durations.append(time.perf_counter() - t0)
    # nothing was decoded on this thread: the panel cannot have changed before events run
    assert panel.shown_index == 0
    assert max(durations) < 0.05 and sum(durations) < 0.25, durations
    expected = video.index_at(2.345)
    gaps, last = [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(5)
    qtbot.waitUntil(_settled(panel, expected), timeout=WAIT_MS)
    timer.stop()
    assert panel.shown_index == expected == 58
    assert panel.shown_time == pytest.approx(video.timestamps[expected])
    assert panel.frames_skipped > 0
    assert panel.frames_shown - shown_before < 50  # superseded requests were never decoded or shown
    # the event loop kept running while frames decoded (generous: a loaded CI machine)
    assert not gaps or max(gaps) < 0.25
    # the frame on screen is the one the source gives for that time
    assert np.array_equal(panel.shown_frame, video.frame_at(2.345, scale=panel.decode_scale()))


def test_small_panel_decodes_less_and_grid_layout(qtbot, pane, sources, demo_dir, index_video):
    view = pane.view
    view.set_extent(0.0, 3.0, show_all=True)
    demo = sources(demo_dir / "swwp2s.mpg")
    pane.resize(300, 150)
    panel = pane.add_video("demo", demo)
    view.set_playhead(1.0)
    qtbot.waitUntil(lambda: panel.shown_index == 25 and not panel.busy, timeout=WAIT_MS)
    scale = panel.decode_scale()
    r = panel.image_rect()
    assert scale < 1 and demo.width * scale >= r.width() and demo.width * scale / 2 < r.width()
    assert panel.shown_frame.shape == (round(demo.height * scale), round(demo.width * scale), 3)
    # a bigger panel: full size again, same frame
    pane.resize(1200, 700)
    qtbot.waitUntil(
        lambda: panel.shown_frame is not None and panel.shown_frame.shape[1] == demo.width, timeout=WAIT_MS
    )
    assert panel.shown_index == 25
    # three videos: a 2 x 2 grid; removing one joins its thread
    pane.add_video("b", sources(index_video))
    pane.add_video("c", sources(index_video), offset=0.2)
    qtbot.waitUntil(lambda: all(p.geometry().height() > 0 for p in pane.panels.values()), timeout=WAIT_MS)
    QApplication.processEvents()
    g = {n: p.geometry() for n, p in pane.panels.items()}
    assert g["demo"].y() == g["b"].y() and g["c"].y() > g["demo"].y() and g["c"].x() == g["demo"].x()
    assert len(_decoder_threads()) == 3
    pane.remove_video("b")
    assert sorted(pane.panels) == ["c", "demo"] and len(_decoder_threads()) == 2
    pane.close()  # closeEvent shuts every decoder down
    assert not _decoder_threads()


def test_closed_source_shows_a_note(qtbot, pane, sources, index_video):
    view = pane.view
    view.set_extent(0.0, 2.0, show_all=True)
    src = sources(index_video)
    panel = pane.add_video("a", src)
    qtbot.waitUntil(_settled(panel, 0), timeout=WAIT_MS)
    src.close()
    view.set_playhead(1.0)
    qtbot.waitUntil(lambda: "cannot show frame 25" in panel.note, timeout=WAIT_MS)
    assert panel.shown_index is None


# -- transport -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("t", "fps", "text"),
    [
        (0.0, None, "0:00:00.000"),
        (1.24, None, "0:00:01.240"),
        (59.9996, None, "0:01:00.000"),
        (3661.5, None, "1:01:01.500"),
        (36000.0, None, "10:00:00.000"),
        (-1.5, None, "-0:00:01.500"),
        (-0.0004, None, "0:00:00.000"),
        (1.2599, 25.0, "0:00:01.240"),
        (1.28, 25.0, "0:00:01.280"),
        (-0.01, 25.0, "-0:00:00.040"),
        (float("nan"), None, "--:--:--.---"),
    ],
)
def test_format_time(t, fps, text):
    assert format_time(t, fps) == text


def test_parse_rate():
    assert parse_rate("1.5") == 1.5
    assert parse_rate(" 1,25× ") == 1.25
    assert parse_rate("75%") == 0.75
    assert parse_rate("5") == 2.0 and parse_rate("0.1x") == 0.5
    assert parse_rate("fast") is None and parse_rate("-1") is None and parse_rate("inf") is None


def test_transport_emits_intents(qtbot):
    tr = Transport()
    qtbot.addWidget(tr)
    tr.show()
    got = []
    tr.play_toggled.connect(lambda: got.append(("play",)))
    tr.frame_step.connect(lambda n: got.append(("frame", n)))
    tr.boundary_jump.connect(lambda n: got.append(("boundary", n)))
    tr.loop_toggled.connect(lambda b: got.append(("loop", b)))
    tr.rate_changed.connect(lambda r: got.append(("rate", r)))
    for key in ("boundary_back", "frame_back", "play", "frame_forward", "boundary_forward", "loop", "loop"):
        qtbot.mouseClick(tr.buttons[key], Qt.MouseButton.LeftButton)
    assert got == [("boundary", -1), ("frame", -1), ("play",), ("frame", 1), ("boundary", 1),
                   ("loop", True), ("loop", False)]  # fmt: skip
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in tr.buttons.values())
    # the rate box: pick, type, clamp, reject
    got.clear()
    box = tr.rate_box
    box.activated.emit(box.findData(1.5))
    box.lineEdit().setText("1.3")
    box.lineEdit().editingFinished.emit()
    box.lineEdit().setText("fast")
    box.lineEdit().editingFinished.emit()
    assert box.currentText() == "1.3×"  # back to the rate in force
    box.lineEdit().setText("9")
    box.lineEdit().editingFinished.emit()
    assert got == [("rate", 1.5), ("rate", 1.3), ("rate", 2.0)] and tr.rate == 2.0
    # what the window reports back does not echo as intents
    got.clear()
    tr.set_playing(True)
    tr.set_rate(0.75)
    tr.set_loop(True)
    assert got == [] and tr.playing and tr.rate == 0.75 and tr.loop and box.currentText() == "0.75×"
    assert tr.buttons["play"].toolTip() == "Pause"
    tr.set_time(1.24, 31)
    assert tr.time_label.text() == "0:00:01.240  frame 31"
    tr.set_backend_note("no audio output device: playing silently")
    assert tr.backend_label.isVisible() and "silently" in tr.backend_label.text()
    tr.set_backend_note("")
    assert not tr.backend_label.isVisible()


# -- overview --------------------------------------------------------------------------------------
@pytest.fixture
def overview(qtbot):
    view = TimeView()
    view.set_extent(0.0, 100.0)
    view.set_range(0.0, 10.0)
    ov = Overview(view)
    qtbot.addWidget(ov)
    ov.resize(500, OVERVIEW_HEIGHT)
    ov.show()
    qtbot.waitExposed(ov)
    return ov


def _x(ov, t) -> QPoint:
    return QPoint(round(ov.x_of(t)), OVERVIEW_HEIGHT // 2)


def test_overview_drag_pans_edges_zoom_click_centres(qtbot, overview):
    ov, view = overview, overview.view
    assert ov.height() == OVERVIEW_HEIGHT
    qtbot.mousePress(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 5))
    qtbot.mouseMove(ov, _x(ov, 30))
    qtbot.mouseMove(ov, _x(ov, 55))
    qtbot.mouseRelease(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 55))
    assert view.range == pytest.approx((50, 60), abs=0.3)
    # click outside the box: the view is centred there, its span kept
    qtbot.mouseClick(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 80))
    assert view.range == pytest.approx((75, 85), abs=0.3)
    # drag the left edge out: zoom out, the right edge stays
    qtbot.mousePress(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 75))
    qtbot.mouseMove(ov, _x(ov, 65))
    qtbot.mouseRelease(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 65))
    assert view.range == pytest.approx((65, 85), abs=0.3)
    # the right edge in: zoom in
    qtbot.mousePress(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 85))
    qtbot.mouseMove(ov, _x(ov, 75))
    qtbot.mouseRelease(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 75))
    assert view.range == pytest.approx((65, 75), abs=0.3)
    # the wheel zooms around the pointer
    pos = QPointF(ov.x_of(70), OVERVIEW_HEIGHT / 2)
    ev = QWheelEvent(pos, ov.mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(ov, ev)
    assert view.span == pytest.approx(8.0) and view.range[0] < 70 < view.range[1]
    qtbot.mouseDClick(ov, Qt.MouseButton.LeftButton, pos=_x(ov, 20))
    assert view.range == (0.0, 100.0)


def test_overview_draws_waveform_marks_and_playhead(qtbot, overview, tmp_path):
    ov, view = overview, overview.view
    sr = 8000
    sig = np.zeros(100 * sr, np.float32)
    sig[60 * sr : 80 * sr] = 0.5 * np.sin(np.arange(20 * sr) * 2 * np.pi * 220 / sr)  # sound only 60-80 s
    sf.write(tmp_path / "tone.wav", sig, sr, subtype="PCM_16")
    audio = open_audio(tmp_path / "tone.wav")
    ov.set_envelope(envelope(audio))
    ov.set_marks([20.0, 40.0, 40.01, 40.02])
    view.set_range(0.0, 10.0)
    view.set_playhead(50.0)
    img = ov.grab().toImage()
    wave = COLORS["wave"]

    def wave_height(x):  # rows of waveform colour in a column
        col = [QColor(img.pixel(x, y)) for y in range(0, OVERVIEW_HEIGHT - 8)]
        return sum(c.green() > c.red() + 25 and abs(c.green() - wave.green()) < 90 for c in col)

    # the tone fills the bar (peak-normalised); silence is the zero line at most
    assert wave_height(round(ov.x_of(70))) >= 20 and wave_height(round(ov.x_of(30))) <= 2
    # boundary ticks at the bottom: amber at 20 s and 40 s, nothing at 30 s
    y = OVERVIEW_HEIGHT - 3

    def amber(x):
        c = QColor(img.pixel(x, y))
        return c.red() > 120 and c.red() > c.blue() + 60

    assert amber(int(ov.x_of(20))) and amber(int(ov.x_of(40))) and not amber(int(ov.x_of(30)))
    ph = QColor(img.pixel(round(ov.x_of(50)), 3))
    assert ph.red() > 200 and ph.green() < 120
    # the view's signals repaint it: the playhead moves
    view.set_playhead(90.0)
    img = ov.grab().toImage()
    assert QColor(img.pixel(round(ov.x_of(90)), 3)).red() > 200
    assert QColor(img.pixel(round(ov.x_of(50)), 3)).red() < 200
    ov.set_envelope(None)
    audio.close()
