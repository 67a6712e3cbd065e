"""Review of the media views: failures reach the track, tracks that go away stop their work, and a
video panel destroyed without `shutdown` neither leaks its decoder thread nor posts to a dead object."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import shiboken6
import soundfile as sf

from studio.media.audio import open_audio
from studio.media.spectrogram import SpectrogramService
from studio.media.video import open_video
from studio.qt.spectrogram_view import SpectrogramTrack
from studio.qt.timeview import TimeView
from studio.qt.track import HEADER_WIDTH
from studio.qt.video_view import THREAD_PREFIX, VideoPane

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
from videogen import make_index_video  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def _view(t0: float, t1: float) -> TimeView:
    v = TimeView()
    v.set_extent(t0, t1, show_all=True)
    return v


def _service(tmp_path, seconds: float, rate: int = 16000) -> SpectrogramService:
    path = tmp_path / "noise.wav"
    x = np.random.default_rng(5).normal(0, 0.1, int(seconds * rate)).astype(np.float32)
    sf.write(str(path), x, rate, subtype="PCM_16")
    return SpectrogramService(open_audio(path))


def test_a_failing_tile_job_is_shown_not_left_computing(qtbot, runner, tmp_path):
    svc = _service(tmp_path, 4)
    svc.source.close()  # the media was closed under the track (a damaged file fails the same way)
    track = SpectrogramTrack(_view(0, 4), "closed", runner, svc)
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + 400, 120)
    track.refresh()
    qtbot.waitUntil(lambda: bool(track.tile_error), timeout=5000)
    assert "closed" in track.tile_error and track.tile_job.state == "failed"
    track.grab()  # draws the message instead of "computing spectrogram…"
    # a new view asks again (and says "computing" meanwhile), the message comes back with the failure
    track.view.set_range(1, 2)
    track.refresh()
    assert track.tile_error == ""
    qtbot.waitUntil(lambda: bool(track.tile_error), timeout=5000)


def test_detached_spectrogram_cancels_its_jobs_and_asks_for_nothing(qtbot, runner, tmp_path):
    svc = _service(tmp_path, 240)
    view = _view(0, 240)
    track = SpectrogramTrack(view, "noise", runner, svc)
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + 800, 120)
    view.set_range(100, 160)
    track.set_show_intensity(True)
    track.refresh()
    jobs = [j for j in (track.tile_job, track.intensity_job) if j is not None]
    assert jobs
    track.detach()  # the timeline removes the track
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: not any(j.active for j in jobs), timeout=2000)
    assert time.monotonic() - t0 < 0.5
    tag = track.tag
    view.set_range(10, 20)
    qtbot.wait(60)  # past the request throttle
    track.refresh()
    assert track.tag == tag and not runner.jobs


def test_spectrogram_view_change_after_runner_shutdown_is_harmless(qtbot, tmp_path):
    from studio.qt.jobs import JobRunner

    runner = JobRunner()
    track = SpectrogramTrack(_view(0, 5), "noise", runner, _service(tmp_path, 5))
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + 400, 120)
    runner.shutdown(wait=True)  # the window closes: jobs first, widgets later
    track.view.set_range(1, 2)
    track.set_show_intensity(True)
    track.refresh()  # raised "the job runner is shut down" (from a timer slot, in the window) before
    assert runner.closed and track.intensity_job is None


def test_panel_destroyed_without_shutdown_stops_its_decoder(qtbot, tmp_path):
    path = tmp_path / "index.mp4"
    make_index_video(path, 50, fps=25.0, size=(160, 120), gop=12, bframes=2)
    source = open_video(path)
    try:
        view = _view(0, 2)
        pane = VideoPane(view)
        pane.resize(400, 300)
        pane.show()
        qtbot.waitExposed(pane)
        pane.add_video("index", source)
        view.set_playhead(1.3)  # a frame is decoding while the pane goes away
        shiboken6.delete(pane)
        qtbot.waitUntil(
            lambda: not [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)], timeout=3000
        )
        qtbot.wait(50)
    finally:
        source.close()


def test_results_arrive_when_the_caller_keeps_no_reference_to_the_job(qtbot, runner):
    import gc

    got: list[int] = []
    errors: list[str] = []

    def task(i):
        yield
        if i % 7 == 0:
            raise ValueError(f"bad input {i}")
        return i

    n = 200
    for i in range(n):  # as the window does for feature extraction: the returned Job is dropped
        runner.submit(lambda i=i: task(i), on_result=got.append, on_error=lambda m, _tb: errors.append(m))
        if i % 20 == 0:
            gc.collect()
            qtbot.wait(1)

    def all_in() -> bool:
        gc.collect()
        return len(got) + len(errors) == n

    qtbot.waitUntil(all_in, timeout=5000)
    assert sorted(got) == [i for i in range(n) if i % 7] and len(errors) == len(range(0, n, 7))
    assert "bad input 7" in errors
    qtbot.waitUntil(lambda: not runner.jobs and not runner._jobs, timeout=2000)
