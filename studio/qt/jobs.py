"""Background jobs for the window: run `studio.tasks` generators off the UI thread.

`JobRunner.submit(task, name=..., group=...)` returns a `Job` (a QObject living in the UI thread)
whose signals — `progress(Progress)`, `finished(result)`, `failed(message, traceback)`,
`cancelled()` — are emitted from a worker thread and therefore *queued* to their receivers in the
UI thread: a slot never runs on a worker and never touches a widget from one.

* Cancel is cooperative: `job.cancel()` sets a flag that the worker checks between the task's
  yields, then closes the generator (its ``finally`` cleans up). A job cancelled before it starts
  never runs.
* `group`: submitting a job in a group cancels the older jobs of that group that are still
  waiting or running — "latest view wins" for spectrogram tiles, video frames, features.
* Progress is emitted at most every 50 ms (and always at the end).
* `shutdown()` cancels everything and waits for the threads (the window calls it on close, tests
  get it from the fixture), so no thread outlives its window.

Issue "alignment in the studio" adds the long-lived device-owning worker; this pool serves the
media work of the timeline (decode, envelope, tiles, frames) and stays small: two threads, the
machine's core count.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.tasks.base import Progress, Task

__all__ = ["Job", "JobRunner"]

_PROGRESS_INTERVAL = 0.05


class Job(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    #: emitted once whatever the outcome (after finished/failed/cancelled)
    done = Signal()

    def __init__(self, name: str, group: str | None, task: Task[Any] | Callable[[], Task[Any]]) -> None:
        super().__init__()
        self.name = name
        self.group = group
        self.id = next(_ids)
        self._task = task
        self._cancel = threading.Event()
        self.state = "waiting"  # running, finished, failed, cancelled
        self.fraction: float | None = None
        self.message = ""
        self.result: Any = None
        self.error: str | None = None
        self.started_at: float | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def active(self) -> bool:
        return self.state in ("waiting", "running")

    def __repr__(self) -> str:
        return f"Job({self.id}, {self.name!r}, {self.state})"

    # runs on a worker thread
    def _run(self) -> None:
        if self._cancel.is_set():
            self._end("cancelled")
            return
        self.state = "running"
        self.started_at = time.monotonic()
        last = 0.0
        gen = None
        try:
            gen = self._task() if callable(self._task) and not hasattr(self._task, "send") else self._task
            while True:
                if self._cancel.is_set():
                    gen.close()
                    self._end("cancelled")
                    return
                try:
                    p = next(gen)
                except StopIteration as stop:
                    self.result = stop.value
                    break
                if isinstance(p, Progress):
                    self.fraction, self.message = p.fraction, p.message
                    now = time.monotonic()
                    if now - last >= _PROGRESS_INTERVAL:
                        last = now
                        self.progress.emit(p)
        except Exception as exc:  # a failing job must not take the window down
            if self._cancel.is_set():
                self._end("cancelled")
                return
            self.error = str(exc) or type(exc).__name__
            self.state = "failed"
            self.failed.emit(self.error, traceback.format_exc())
            self.done.emit()
            return
        finally:
            self._task = None  # type: ignore[assignment]  # drop the generator and its buffers
        if self._cancel.is_set():
            self._end("cancelled")
            return
        self.state = "finished"
        self.fraction = 1.0
        self.finished.emit(self.result)
        self.done.emit()

    def _end(self, state: str) -> None:
        self.state = state
        self._task = None  # type: ignore[assignment]
        self.cancelled.emit()
        self.done.emit()


_ids = itertools.count(1)


class JobRunner(QObject):
    """A small thread pool running `Job`s; `jobs_changed` fires when one starts or ends."""

    jobs_changed = Signal()

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="studio-job")
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once `shutdown` ran: `submit` would raise."""
        return self._closed

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.active]

    def submit(
        self,
        task: Task[Any] | Callable[[], Task[Any]],
        *,
        name: str = "job",
        group: str | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Job:
        """Queue `task` (a generator, or a callable making one on the worker)."""
        if self._closed:
            raise RuntimeError("the job runner is shut down")
        job = Job(name, group, task)
        if on_result is not None:
            job.finished.connect(on_result)
        if on_error is not None:
            job.failed.connect(on_error)
        if on_progress is not None:
            job.progress.connect(on_progress)
        job.done.connect(self._on_done)
        with self._lock:
            if group is not None:
                for old in self._jobs:
                    if old.group == group and old.active:
                        old.cancel()
            self._jobs.append(job)
        self._pool.submit(job._run)
        self.jobs_changed.emit()
        return job

    def _on_done(self) -> None:
        # The runner holds each job until *its own* `done` reaches the UI thread: the signals a
        # job emitted before (finished, failed, ...) are queued ahead of it, and a job freed while
        # they wait takes them with it — a caller that kept no reference would lose its result.
        job = self.sender()
        with self._lock:
            self._jobs = [j for j in self._jobs if j is not job]
        self.jobs_changed.emit()

    def cancel_all(self) -> None:
        with self._lock:
            for j in self._jobs:
                j.cancel()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until every job has ended (tests and shutdown); True if they all did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not any(j.active for j in self._jobs):
                    return True
            time.sleep(0.005)
        return False

    def shutdown(self, wait: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        self._pool.shutdown(wait=wait, cancel_futures=False)
