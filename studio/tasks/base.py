"""The task protocol: a long job is a plain generator that yields `Progress` and returns its result.

    def build(source) -> Task[Envelope]:
        for i, block in enumerate(blocks):
            ...
            yield Progress(i / n, "building envelope")
        return envelope

* Cancelling is closing the generator (``gen.close()``): `GeneratorExit` is raised at the current
  ``yield``, so ``try/finally`` in the task removes temporary files. A task therefore yields often
  (every ~50 ms of work) so a cancel takes effect quickly.
* `run` drives a task in the calling thread (the CLI, tests, scripts); the Qt worker drives the same
  generators on its thread. Nothing here knows about threads or Qt.
* `scaled` embeds a sub-task into a larger one: ``result = yield from scaled(sub, 0.0, 0.5)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Progress", "Task", "Cancelled", "run", "scaled", "noop"]

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """How far a task is: `fraction` in [0, 1], or None while it cannot tell. `data` carries what a
    view may draw as it comes (e.g. a training epoch's losses: ``{"epoch": 3, "train_loss": ...}``)."""

    fraction: float | None = None
    message: str = ""
    data: Any = None


Task = Generator[Progress, None, T]


class Cancelled(Exception):
    """The task was cancelled before it finished."""


def run(
    task: Task[T],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> T:
    """Drive `task` to completion here and return its result.

    `cancel` is checked after every step; when set, the generator is closed (its cleanup runs) and
    `Cancelled` is raised.
    """
    is_cancelled: Callable[[], bool]
    if cancel is None:
        is_cancelled = _never
    elif isinstance(cancel, threading.Event):
        is_cancelled = cancel.is_set
    else:
        is_cancelled = cancel
    try:
        while True:
            if is_cancelled():
                task.close()
                raise Cancelled()
            progress = next(task)
            if on_progress is not None:
                on_progress(progress)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def scaled(task: Task[T], start: float, end: float) -> Task[T]:
    """Run `task` inside another, mapping its fractions onto [start, end] of the outer one."""
    try:
        while True:
            p = next(task)
            f = None if p.fraction is None else start + (end - start) * min(max(p.fraction, 0.0), 1.0)
            try:
                yield Progress(f, p.message, p.data)
            except GeneratorExit:
                task.close()
                raise
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def noop(value: T) -> Task[T]:
    """A task that is already done (for a cache hit behind a task-shaped API)."""
    return value
    yield  # pragma: no cover - makes this a generator


def _never() -> bool:
    return False
