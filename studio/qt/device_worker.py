"""The device worker: one long-lived thread that owns the torch device and runs model jobs in order.

Alignment, CTC posteriors and other model work need the accelerator (CUDA, else Apple MPS, else the
CPU), and two such jobs at once would only fight over its memory. So, unlike the small media pool of
`jobs.JobRunner`, there is exactly one worker: a QObject moved to a QThread (superqt's
``new_worker_qthread`` recipe), started with the window and shut down when it closes.

* torch is imported on the worker thread, never at import of this module nor on the UI thread: the
  window opens without waiting for it. The device is chosen there: ``STUDIO_DEVICE`` (``cpu``,
  ``cuda``, ``cuda:1``, ``mps``) or the ``device=`` argument forces one; a forced device that is not
  present falls back to the automatic choice and says so in `note`.
* `DeviceWorker.submit(factory, name=, group=, on_result=, on_error=, on_progress=)` queues a job.
  ``factory`` is a generator (a `studio.tasks` task), or a callable making one on the worker; a
  callable that takes an argument is given the device (``lambda device: task(x, device=device)``).
  Jobs run one at a time in submission order.
* A job is a `jobs.Job` (same signals and states): its ``cancel()`` closes the generator at its next
  yield (tasks yield every ~50 ms, so well under 0.5 s), and a job still queued is dropped at once.
* ``group``: a newer job in a group cancels the older ones, and a result the older one produced
  meanwhile is dropped, not delivered (the user already asked for the newer one).
* ``on_result`` / ``on_error`` / ``on_progress`` run on the UI thread: they are slots of the job, a
  QObject living there, so Qt queues the worker's emissions to them.
* `memory_in_use()` is what the status bar shows: ``torch.cuda.memory_allocated`` on CUDA, the MPS
  allocator's figure on Apple, the process's resident memory on the CPU.

`shutdown()` cancels everything and waits (2 s by default) for the thread; a worker whose window is
deleted without closing is stopped too, so no thread outlives its window.
"""

from __future__ import annotations

import atexit
import inspect
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from studio.tasks.base import Progress, Task

from .jobs import Job

__all__ = ["DeviceJob", "DeviceWorker", "resolve_device", "process_rss", "format_bytes"]

#: threads of workers not yet stopped: a QThread must never be destroyed while it runs
_LIVE: dict[int, tuple[QThread, QObject]] = {}


def format_bytes(n: int | None) -> str:
    """412 MB, 1.2 GB (binary units, as system monitors show them)."""
    if n is None:
        return "—"
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GB"
    return f"{n / (1 << 20):.0f} MB"


def process_rss() -> int | None:
    """This process's resident memory in bytes (Linux: current; macOS: the peak; else None)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def resolve_device(forced: str | None = None) -> tuple[Any, str, str]:
    """Import torch and pick the device: (torch.device or "cpu", its name, a note).

    `forced` (or ``STUDIO_DEVICE``) asks for one; empty or "auto" chooses CUDA, else MPS, else CPU.
    Runs on the worker thread (importing torch takes a second or more).
    """
    want = (forced if forced is not None else os.environ.get("STUDIO_DEVICE", "")).strip().lower()
    try:
        import torch
    except ImportError:
        return "cpu", "cpu", "torch is not installed"
    cuda = torch.cuda.is_available()
    mps_backend = getattr(torch.backends, "mps", None)
    mps = bool(mps_backend is not None and mps_backend.is_available())
    auto = "cuda:0" if cuda else "mps" if mps else "cpu"
    note = ""
    if want in ("", "auto"):
        name = auto
    elif want == "cpu":
        name = "cpu"
    elif want.startswith("cuda"):
        index = want.partition(":")[2] or "0"
        if cuda and index.isdigit() and int(index) < torch.cuda.device_count():
            name = f"cuda:{index}"
        else:
            name, note = auto, f"STUDIO_DEVICE={want}: no such CUDA device"
    elif want == "mps":
        name, note = ("mps", "") if mps else (auto, "STUDIO_DEVICE=mps: MPS is not available")
    else:
        name, note = auto, f"STUDIO_DEVICE={want}: unknown device (cpu, cuda, cuda:N, mps)"
    return torch.device(name), name, note


def _describe(name: str) -> str:
    if name.startswith("cuda"):
        import torch

        index = int(name.partition(":")[2] or 0)
        return f"CUDA:{index} {torch.cuda.get_device_name(index)}"
    return "MPS" if name == "mps" else "CPU"


def _device_argument(fn: Callable[..., Any]) -> str | None:
    """How `fn` takes the device: "kw" (a ``device`` parameter), "pos" (a required argument), None."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.name == "device" for p in params):
        return "kw"
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind in positional and p.default is p.empty for p in params):
        return "pos"
    return None


class DeviceJob(Job):
    """A `Job` of the device worker: callbacks on the UI thread, stale results dropped, queued
    jobs dropped on cancel, the traceback of a failure kept (`traceback`) for the jobs panel."""

    def __init__(self, worker: DeviceWorker, name: str, group: str | None, task: Any) -> None:
        super().__init__(name, group, task)
        self._worker = worker
        self.traceback = ""
        self.ended_at: float | None = None
        self.stale = False
        self._on_result: Callable[[Any], None] | None = None
        self._on_error: Callable[[str, str], None] | None = None
        self._on_progress: Callable[[Progress], None] | None = None
        # bound methods of a QObject living in the UI thread: the worker's emissions are queued here
        self.finished.connect(self._deliver_result)
        self.failed.connect(self._deliver_error)
        self.progress.connect(self._deliver_progress)

    def cancel(self) -> None:
        super().cancel()
        self._worker._drop_queued(self)

    @Slot(object)
    def _deliver_result(self, result: Any) -> None:
        self.ended_at = time.monotonic()
        if self.is_cancelled:  # replaced (group) or cancelled after it finished: nobody wants it now
            self.stale = True
            self.state = "cancelled"
            self.result = None
            return
        if self._on_result is not None:
            self._on_result(result)

    @Slot(str, str)
    def _deliver_error(self, message: str, tb: str) -> None:
        self.ended_at = time.monotonic()
        self.traceback = tb
        if self._on_error is not None:
            self._on_error(message, tb)
        self._worker.job_failed.emit(self)

    @Slot(object)
    def _deliver_progress(self, p: Progress) -> None:
        if self._on_progress is not None and not self.is_cancelled:
            self._on_progress(p)


class _Engine(QObject):
    """The part living on the worker thread: resolves the device, then drains the queue."""

    ready = Signal(str, str)  # device name, note
    wake = Signal()

    def __init__(self, forced: str | None) -> None:
        super().__init__()
        self.forced = forced
        self.device: Any = None
        self.name = ""
        self.queue: deque[DeviceJob] = deque()
        self.lock = threading.Lock()
        self.closed = False
        self.current: DeviceJob | None = None
        self.wake.connect(self.drain)

    @Slot()
    def init_device(self) -> None:
        try:
            self.device, self.name, note = resolve_device(self.forced)
        except Exception as exc:  # noqa: BLE001 - a broken torch install must not stop the worker
            self.device, self.name, note = "cpu", "cpu", f"torch failed to load: {exc}"
        self.ready.emit(self.name, note)

    @Slot()
    def drain(self) -> None:
        while True:
            with self.lock:
                self.current = None
                if not self.queue:
                    return
                job = self.current = self.queue.popleft()
            if self.closed:
                Job.cancel(job)
            job._run()

    def stop_all(self) -> None:
        """Any thread: flag closed and cancel the running and queued jobs (they end on this thread)."""
        with self.lock:
            self.closed = True
            jobs = [*self.queue, *([self.current] if self.current is not None else [])]
        for job in jobs:
            Job.cancel(job)


class DeviceWorker(QObject):
    """See the module doc. `device` forces a device (else ``STUDIO_DEVICE``, else automatic)."""

    #: a job was queued, started or ended (the jobs panel listens)
    jobs_changed = Signal()
    #: the device is chosen (its description, e.g. "CUDA:0 NVIDIA H200"); `device` is set
    device_ready = Signal(str)
    #: a job raised (the DeviceJob; its `error` and `traceback` are set)
    job_failed = Signal(object)

    def __init__(self, parent: QObject | None = None, *, device: str | None = None) -> None:
        super().__init__(parent)
        self.label = "model worker"  # how the jobs panel names this source
        self._jobs: list[DeviceJob] = []
        self._lock = threading.Lock()
        self._closed = False
        self.device_name = ""
        self._device: Any = None
        self.description = ""
        self.note = ""
        self._engine = _Engine(device)
        self._engine.ready.connect(self._on_ready)
        self._thread = QThread()
        self._thread.setObjectName("studio-job-device")
        self._engine.moveToThread(self._thread)
        self._thread.started.connect(self._engine.init_device)
        self._thread.finished.connect(self._engine.deleteLater)
        key = id(self._thread)
        _LIVE[key] = (self._thread, self._engine)
        thread, engine = self._thread, self._engine
        # a window deleted without being closed must not destroy a running QThread
        self.destroyed.connect(lambda *_: _stop(key, thread, engine))
        self._thread.start()

    # -- state ----------------------------------------------------------------------------------
    @property
    def device(self) -> Any:
        """The torch.device jobs get (None until the worker has chosen it)."""
        return self._device

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def thread(self) -> QThread:
        return self._thread

    @property
    def jobs(self) -> list[DeviceJob]:
        """The jobs queued or running, in order."""
        with self._lock:
            return [j for j in self._jobs if j.active]

    def memory_in_use(self) -> int | None:
        """Bytes: allocated on the CUDA/MPS device, else the process's resident memory."""
        torch = sys.modules.get("torch")
        if torch is not None and self.device_name.startswith("cuda"):
            return int(torch.cuda.memory_allocated(self._device))
        if torch is not None and self.device_name == "mps":
            return int(torch.mps.current_allocated_memory())
        return process_rss()

    def status_text(self) -> str:
        """ "CPU · 412 MB", "CUDA:0 NVIDIA H200 · 1.2 GB" (the status bar's label)."""
        if not self.device_name:
            return "device: starting…"
        mem = self.memory_in_use()
        return self.description if mem is None else f"{self.description} · {format_bytes(mem)}"

    @Slot(str, str)
    def _on_ready(self, name: str, note: str) -> None:
        self._device = self._engine.device
        self.description = _describe(name)
        self.note = note
        self.device_name = name
        self.device_ready.emit(self.description)

    # -- jobs -----------------------------------------------------------------------------------
    def submit(
        self,
        task: Task[Any] | Callable[..., Task[Any]],
        *,
        name: str = "job",
        group: str | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DeviceJob:
        """Queue `task` (a generator, or a callable making one on the worker, given the device if
        it takes an argument); callbacks run on the UI thread."""
        if self._closed:
            raise RuntimeError("the device worker is shut down")
        job = DeviceJob(self, name, group, self._bind(task))
        job._on_result, job._on_error, job._on_progress = on_result, on_error, on_progress
        job.done.connect(self._on_done)
        with self._lock:
            # not only the active ones: one that ended on the worker may not have delivered yet
            older = [j for j in self._jobs if group is not None and j.group == group]
            self._jobs.append(job)
        for old in older:
            old.cancel()
        self.jobs_changed.emit()  # listeners see it queued before the worker can end it
        with self._engine.lock:
            self._engine.queue.append(job)
        self._engine.wake.emit()
        return job

    def _bind(self, task: Any) -> Any:
        if not callable(task) or hasattr(task, "send"):
            return task
        how, engine = _device_argument(task), self._engine
        if how == "kw":
            return lambda: task(device=engine.device)
        if how == "pos":
            return lambda: task(engine.device)
        return task

    def _drop_queued(self, job: DeviceJob) -> None:
        """A cancelled job still waiting never runs: it ends now (called by `DeviceJob.cancel`)."""
        with self._engine.lock:
            try:
                self._engine.queue.remove(job)
            except ValueError:
                return  # running or ended: it stops at its next yield
        job.ended_at = time.monotonic()
        job._end("cancelled")

    @Slot()
    def _on_done(self) -> None:
        # held until its own `done` reaches the UI thread (see JobRunner._on_done)
        job = self.sender()
        if isinstance(job, DeviceJob) and job.ended_at is None:
            job.ended_at = time.monotonic()
        with self._lock:
            self._jobs = [j for j in self._jobs if j is not job]
        self.jobs_changed.emit()

    def cancel_all(self) -> None:
        for j in self.jobs:
            j.cancel()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until no job is queued or running (tests); True if so."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.jobs:
                return True
            time.sleep(0.005)
        return False

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel every job and stop the thread; True if it stopped within `timeout` seconds."""
        if self._closed:
            return not self._thread.isRunning()
        self._closed = True
        self.cancel_all()
        return _stop(id(self._thread), self._thread, self._engine, timeout)


def _stop(key: int, thread: QThread, engine: Any, timeout: float = 2.0) -> bool:
    if key not in _LIVE:
        return True
    try:
        engine.stop_all()
        thread.quit()
        stopped = bool(thread.wait(int(timeout * 1000)))
    except RuntimeError:  # the C++ objects are already gone
        stopped = True
    if stopped:
        _LIVE.pop(key, None)  # else kept referenced: a running QThread must not be destroyed
    return stopped


@atexit.register
def _stop_all() -> None:
    """At exit, a worker whose window was never closed nor deleted: a running QThread would abort."""
    for key, (thread, engine) in list(_LIVE.items()):
        _stop(key, thread, engine)
