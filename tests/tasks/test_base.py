from __future__ import annotations

import threading

import pytest

from studio.tasks.base import Cancelled, Progress, noop, run, scaled


def counting(n: int, log: list[str]):
    try:
        for i in range(n):
            yield Progress(i / n, f"step {i}")
        return "done"
    finally:
        log.append("cleanup")


def test_run_returns_result_and_reports_progress():
    log: list[str] = []
    seen: list[Progress] = []
    assert run(counting(4, log), on_progress=seen.append) == "done"
    assert [p.fraction for p in seen] == [0.0, 0.25, 0.5, 0.75]
    assert log == ["cleanup"]


def test_cancel_closes_generator_and_runs_cleanup():
    log: list[str] = []
    stop = threading.Event()
    steps: list[Progress] = []

    def on_progress(p: Progress) -> None:
        steps.append(p)
        if len(steps) == 3:
            stop.set()

    with pytest.raises(Cancelled):
        run(counting(100, log), on_progress=on_progress, cancel=stop)
    assert len(steps) == 3
    assert log == ["cleanup"]


def test_cancel_callable_before_start():
    log: list[str] = []
    with pytest.raises(Cancelled):
        run(counting(5, log), cancel=lambda: True)


def test_scaled_maps_fractions_and_passes_result():
    def outer():
        a = yield from scaled(counting(2, []), 0.0, 0.5)
        b = yield from scaled(counting(2, []), 0.5, 1.0)
        return a + b

    seen: list[Progress] = []
    assert run(outer(), on_progress=seen.append) == "donedone"
    assert [p.fraction for p in seen] == [0.0, 0.25, 0.5, 0.75]


def test_scaled_close_propagates_to_inner():
    log: list[str] = []
    gen = scaled(counting(10, log), 0, 1)
    next(gen)
    gen.close()
    assert log == ["cleanup"]


def test_noop_is_a_finished_task():
    assert run(noop(42)) == 42
