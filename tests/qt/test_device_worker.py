"""The device worker and the jobs panel, with real torch work and a real transcript alignment."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from studio.qt.device_worker import DeviceWorker, format_bytes, resolve_device
from studio.qt.jobs_panel import JobsPanel, format_time_left
from studio.tasks.base import Progress


@pytest.fixture
def worker(qtbot):
    w = DeviceWorker()
    qtbot.waitUntil(lambda: w.device is not None, timeout=10000)
    yield w
    assert w.shutdown(timeout=2.0)
    assert w.thread.isFinished()


@pytest.fixture
def panel(qtbot, worker):
    p = JobsPanel(keep_finished_s=30)
    qtbot.addWidget(p)
    p.add_source(worker)
    p.resize(520, 300)
    p.show()
    yield p
    p.shutdown()


def power_iteration(device, n=200):
    """The largest eigenvalue of a fixed symmetric matrix, computed on `device`."""
    import torch

    g = torch.Generator().manual_seed(0)
    a = torch.randn(96, 96, generator=g)
    a = (a @ a.T).to(device)
    v = torch.ones(96, device=device)
    for i in range(n):
        v = a @ v
        v = v / v.norm()
        if i % 10 == 0:
            yield Progress(i / n, "power iteration")
    on_main = threading.current_thread() is threading.main_thread()
    return float(v @ a @ v), str(v.device), on_main


def spin(device, cleaned: threading.Event | None = None, step: float = 0.02):
    """Real tensor work that never ends by itself, yielding every `step` seconds."""
    import torch

    x = torch.full((48, 48), 0.01, device=device)
    i = 0
    try:
        while True:
            end = time.monotonic() + step
            while time.monotonic() < end:
                x = torch.tanh(x @ x + 0.01)
            i += 1
            yield Progress(None, f"step {i}")
    finally:
        if cleaned is not None:
            cleaned.set()


def wait_done(qtbot, job, timeout=10000):
    """Until the job's end reached the UI thread (its callbacks ran). A signal emitted by the worker
    before a `waitSignal` connects would be missed, so this waits on state instead."""
    qtbot.waitUntil(lambda: job.ended_at is not None and job not in worker_jobs(job), timeout=timeout)


def worker_jobs(job):
    return job._worker._jobs


def wait_running(qtbot, job):
    qtbot.waitUntil(lambda: job.state == "running" and bool(job.message), timeout=5000)


def test_torch_job_runs_on_the_worker_device_and_result_arrives_on_ui_thread(qtbot, worker):
    import torch

    got, progress = [], []
    job = worker.submit(
        power_iteration,
        name="eigen",
        on_result=lambda r: got.append((r, threading.current_thread() is threading.main_thread())),
        on_progress=progress.append,
    )
    wait_done(qtbot, job, 10000)
    (value, device, ran_on_main), delivered_on_main = got[0]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(96, 96, generator=g)
    expected = float(torch.linalg.eigvalsh(a @ a.T).max())
    assert value == pytest.approx(expected, rel=1e-3)
    assert device == "cpu" and worker.device_name == "cpu" and str(worker.device) == "cpu"
    assert not ran_on_main and delivered_on_main
    assert progress and all(isinstance(p, Progress) for p in progress)
    assert job.state == "finished" and worker.jobs == []


def test_device_choice_and_status_text(qtbot, monkeypatch):
    monkeypatch.setenv("STUDIO_DEVICE", "cpu")
    w = DeviceWorker()
    try:
        qtbot.waitUntil(lambda: w.device is not None, timeout=10000)
        assert w.device_name == "cpu" and w.note == ""
        text = w.status_text()
        assert text.startswith("CPU · ") and text.endswith((" MB", " GB"))
        assert int(text.split("· ")[1].split()[0].split(".")[0]) > 0
    finally:
        assert w.shutdown()
    import torch

    if not torch.cuda.is_available():  # a forced device that is not there falls back, and says so
        dev, name, note = resolve_device("cuda")
        assert name in ("cpu", "mps") and "no such CUDA device" in note
    assert "unknown device" in resolve_device("tpu")[2]
    assert format_bytes(412 * 2**20) == "412 MB" and format_bytes(int(1.2 * 2**30)) == "1.2 GB"


def test_transcript_alignment_job(qtbot, worker, panel, demo_dir):
    from studio.align.transcript import align_transcript_task

    got, messages = [], []
    media, text = demo_dir / "swwp2s.mpg", "set white with p two soon"
    job = worker.submit(
        lambda: align_transcript_task(media, text, method="tts-dtw"),
        name="align swwp2s",
        on_result=lambda s: got.append((s, threading.current_thread() is threading.main_thread())),
        on_progress=lambda p: messages.append(p.message),
    )
    wait_done(qtbot, job, 20000)
    session, on_main = got[0]
    assert on_main
    words = session.tier("words")
    assert [w.label for w in words] == text.split()
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, list(words)[1:], strict=False))
    assert messages
    qtbot.waitUntil(lambda: panel.row_for(job).status.text().startswith("done in"))
    assert panel.row_for(job).percent.text() == "100 %"


def test_cancel_running_job_under_half_a_second(qtbot, worker, panel):
    cleaned, got = threading.Event(), []
    job = worker.submit(lambda device: spin(device, cleaned), name="spin", on_result=got.append)
    wait_running(qtbot, job)
    row = panel.row_for(job)
    qtbot.waitUntil(lambda: row.message.text().startswith("step"))
    t0 = time.monotonic()
    with qtbot.waitSignal(job.done, timeout=2000):
        qtbot.mouseClick(row.cancel, Qt.MouseButton.LeftButton)
    assert time.monotonic() - t0 < 0.5
    assert job.state == "cancelled" and cleaned.is_set() and got == []
    qtbot.waitUntil(lambda: row.status.text() == "cancelled")


def test_queued_job_is_dropped_and_the_worker_goes_on(qtbot, worker, panel):
    started = []
    first = worker.submit(lambda device: spin(device), name="first")
    queued = worker.submit(lambda: (started.append(1), spin("cpu"))[1], name="queued")
    wait_running(qtbot, first)
    assert queued.state == "waiting"
    panel.refresh()
    assert panel.row_for(queued).status.text() == "queued"
    queued.cancel()
    assert queued.state == "cancelled"  # at once, while the first still runs
    assert first.state == "running"
    with qtbot.waitSignal(first.done, timeout=2000):
        first.cancel()
    got = []
    last = worker.submit(power_iteration, name="after", on_result=got.append)
    wait_done(qtbot, last, 10000)
    assert started == [] and got and last.state == "finished"


def test_group_replacement_drops_stale_results(qtbot, worker):
    got = []
    # 1. the older job already finished on the worker, its result not yet delivered: dropped
    old = worker.submit(lambda: power_iteration("cpu", 20), name="view 1", group="view", on_result=got.append)
    assert worker.wait(10)  # the UI thread does not process events meanwhile
    assert old.state == "finished"
    new = worker.submit(lambda: power_iteration("cpu", 30), name="view 2", group="view", on_result=got.append)
    wait_done(qtbot, new, 10000)
    qtbot.waitUntil(lambda: old.state == "cancelled")
    assert len(got) == 1 and old.stale and new.state == "finished"
    # 2. a running job is replaced: it stops, the newer one's result arrives
    got.clear()
    running = worker.submit(lambda device: spin(device), name="tile a", group="tile", on_result=got.append)
    wait_running(qtbot, running)
    queued = worker.submit(lambda device: spin(device), name="tile b", group="tile", on_result=got.append)
    latest = worker.submit(
        lambda: power_iteration("cpu", 10), name="tile c", group="tile", on_result=got.append
    )
    assert queued.state == "cancelled"  # replaced while still queued: never ran
    wait_done(qtbot, latest, 10000)
    assert running.state == "cancelled" and len(got) == 1 and latest.state == "finished"


def boom(device):
    yield Progress(0.1, "reading frames")
    raise ValueError("bad frame 42 in swwp2s.mpg")


def test_failing_job_shows_error_with_traceback_and_next_job_runs(qtbot, worker, panel):
    errors, failed = [], []
    worker.job_failed.connect(failed.append)
    job = worker.submit(
        boom, name="decode", on_error=lambda m, tb: errors.append((m, tb, threading.current_thread()))
    )
    wait_done(qtbot, job, 5000)
    message, tb, thread = errors[0]
    assert message == "bad frame 42 in swwp2s.mpg" and thread is threading.main_thread()
    assert "Traceback" in tb and "ValueError: bad frame 42" in tb and "in boom" in tb
    assert failed == [job] and job.state == "failed"
    qtbot.waitUntil(lambda: panel.row_for(job).status.text() == "failed")
    row = panel.row_for(job)
    assert "bad frame 42" in row.message.text() and row.details.isVisible()
    assert "1 failed" in panel.summary.text()
    qtbot.mouseClick(row.details, Qt.MouseButton.LeftButton)
    dlg = panel.details_dialog
    assert dlg is not None and dlg.text.isReadOnly()
    assert "ValueError: bad frame 42 in swwp2s.mpg" in dlg.text.toPlainText()
    qtbot.mouseClick(dlg.copy_button, Qt.MouseButton.LeftButton)
    assert "ValueError: bad frame 42" in QGuiApplication.clipboard().text()
    dlg.close()
    got = []
    nxt = worker.submit(power_iteration, name="next", on_result=got.append)
    wait_done(qtbot, nxt, 10000)
    assert got and nxt.state == "finished"
    panel.clear_finished()
    assert panel.rows == [] and panel.placeholder.isVisibleTo(panel)


def slow_count(n=40, step=0.03):
    for i in range(n):
        time.sleep(step)  # a stand-in for I/O the task waits on
        yield Progress((i + 1) / n, f"block {i + 1}/{n}")
    return n


def test_time_left_and_runner_jobs_in_the_panel(qtbot, runner, worker, panel):
    assert format_time_left(None) == "—" and format_time_left(7.2) == "7 s left"
    assert format_time_left(125) == "2 min 05 s left" and format_time_left(3720) == "1 h 02 min left"
    panel.add_source(runner, "media")
    job = worker.submit(slow_count, name="count")
    rjob = runner.submit(lambda: slow_count(10, 0.02), name="envelope")
    wait_running(qtbot, job)
    row = panel.row_for(job)
    # the row may still say "queued" for a moment (the panel refreshes on the job's signals); then
    # "—" (running, too early to tell the time left), then an estimate
    qtbot.waitUntil(lambda: row.status.text() != "queued", timeout=2000)
    assert row.status.text() == "—" or row.status.text().endswith("s left")
    qtbot.waitUntil(lambda: row.status.text().endswith("s left"), timeout=3000)
    left = float(row.status.text().split()[0])
    assert 0 < left <= 1.5  # 40 x 30 ms = 1.2 s in all
    assert panel.row_for(rjob) is not None and panel.row_for(rjob).source.text() == "media"
    wait_done(qtbot, job, 5000)
    assert runner.wait(5)


def test_window_device_label_jobs_dock_and_close_with_running_job(qtbot):
    from windowkit import close, make_window

    win = make_window(qtbot)
    qtbot.waitUntil(lambda: win.device_label.text().startswith("CPU · "), timeout=10000)
    assert win.device_label.text().endswith(("MB", "GB"))
    assert not win.jobs_dock.isVisible()
    win.trigger("show_jobs")
    assert win.jobs_dock.isVisible() and win.action("show_jobs").isChecked()
    win.action("show_jobs").setChecked(False)
    assert not win.jobs_dock.isVisible()
    failing = win.device_worker.submit(boom, name="decode")
    qtbot.waitUntil(lambda: win.jobs_dock.isVisible(), timeout=5000)  # a failure opens the panel
    assert failing.state == "failed" and "bad frame 42" in win.statusBar().currentMessage()
    cleaned = threading.Event()
    job = win.device_worker.submit(lambda device: spin(device, cleaned), name="long alignment")
    wait_running(qtbot, job)
    assert win.jobs_panel.row_for(job) is not None
    t0 = time.monotonic()
    close(win)
    assert time.monotonic() - t0 < 2.0
    assert win.device_worker.thread.isFinished() and cleaned.is_set() and job.is_cancelled


def test_torch_is_not_imported_with_the_window_modules():
    import subprocess
    import sys

    code = (
        "import sys, studio.qt.device_worker, studio.qt.jobs_panel, studio.qt.main_window; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"  # the worker thread imports it, the UI thread never waits on it
