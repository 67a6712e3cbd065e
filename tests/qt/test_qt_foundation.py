"""The time axis, the job runner and the track base."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, Qt

from studio.qt.jobs import JobRunner
from studio.qt.timeview import TimeView
from studio.qt.track import HEADER_WIDTH, Track
from studio.tasks.base import Progress


def test_timeview_zoom_pan_clamp():
    v = TimeView()
    v.set_extent(0, 100, show_all=True)
    assert v.range == (0, 100)
    v.zoom(4, center=50)
    assert v.range == pytest.approx((37.5, 62.5))
    v.pan(-1000)
    assert v.range == pytest.approx((0, 25))
    v.zoom(0.001)
    assert v.range == (0, 100)
    v.set_playhead(150)
    assert v.playhead == 100
    v.set_range(10, 20)
    v.set_playhead(25, playing=True)  # follow pages the view
    assert v.range[0] <= 25 <= v.range[1]
    v.set_selection(5, 2)
    assert v.selection == (2, 5)
    v.set_selection(None)
    assert v.selection is None


def _counting(n, delay=0.0):
    for i in range(n):
        time.sleep(delay)
        yield Progress(i / n, "counting")
    return n


def test_runner_result_progress_and_error(qtbot, runner):
    got = []
    job = runner.submit(_counting(5), name="count", on_result=got.append)
    qtbot.waitUntil(lambda: got == [5], timeout=5000)
    assert job.state == "finished"

    def boom():
        yield Progress(0.1)
        raise ValueError("bad input in x.wav")

    errors = []
    job = runner.submit(boom(), on_error=lambda m, tb: errors.append((m, tb)))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert (
        job.state == "failed"
        and errors
        and errors[0][0] == "bad input in x.wav"
        and "ValueError" in errors[0][1]
    )


def test_runner_cancel_and_group(qtbot, runner):
    cleaned = []

    def slow():
        try:
            for i in range(1000):
                time.sleep(0.01)
                yield Progress(i / 1000)
        finally:
            cleaned.append(True)
        return "never"

    a = runner.submit(slow(), group="view")
    qtbot.waitUntil(lambda: a.state == "running", timeout=3000)
    t0 = time.monotonic()
    b = runner.submit(_counting(3), group="view")  # latest wins: a is cancelled
    qtbot.waitUntil(lambda: not a.active and not b.active, timeout=5000)
    assert a.state == "cancelled" and cleaned == [True]
    assert time.monotonic() - t0 < 0.5
    assert b.state == "finished" and b.result == 3


def test_runner_shutdown_stops_running_jobs(qtbot):
    r = JobRunner()
    job = r.submit(_counting(10000, 0.01))
    qtbot.waitUntil(lambda: job.state == "running", timeout=3000)
    r.shutdown(wait=True)
    assert job.state == "cancelled"


class _Flat(Track):
    def __init__(self, view):
        super().__init__(view, "flat")
        self.renders = 0

    def render_content(self, p, w, h):
        self.renders += 1


def test_track_mouse_and_cache(qtbot):
    v = TimeView()
    v.set_extent(0, 10, show_all=True)
    tr = _Flat(v)
    qtbot.addWidget(tr)
    tr.resize(HEADER_WIDTH + 1000, 60)
    tr.show()
    qtbot.waitExposed(tr)
    tr.grab()
    n = tr.renders
    v.set_playhead(3.0)
    tr.grab()
    assert tr.renders == n  # the playhead moving does not re-render the content
    qtbot.mouseClick(tr, Qt.MouseButton.LeftButton, pos=QPoint(HEADER_WIDTH + 500, 30))
    assert v.playhead == pytest.approx(5.0, abs=0.02)
    qtbot.mousePress(tr, Qt.MouseButton.LeftButton, pos=QPoint(HEADER_WIDTH + 100, 30))
    qtbot.mouseMove(tr, QPoint(HEADER_WIDTH + 300, 30))
    qtbot.mouseRelease(tr, Qt.MouseButton.LeftButton, pos=QPoint(HEADER_WIDTH + 300, 30))
    assert v.selection == pytest.approx((1.0, 3.0), abs=0.02)
    v.zoom(2)
    tr.grab()
    assert tr.renders == n + 1
