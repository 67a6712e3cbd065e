"""Fixtures for widget tests (pytest-qt, offscreen): a job runner that is always shut down,
the demo session, and a check that no test leaves a thread of ours running."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from studio.qt.jobs import JobRunner

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Caches, journals and settings go to the test's own folder."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    yield


@pytest.fixture
def runner(qtbot):
    r = JobRunner(threads=2)
    yield r
    r.shutdown(wait=True)


@pytest.fixture(autouse=True)
def _no_leaked_job_threads():
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t.ident not in before and t.name.startswith("studio-job") and t.is_alive()
    ]
    for t in leaked:
        t.join(5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"


@pytest.fixture
def demo_dir() -> Path:
    return DEMO


@pytest.fixture
def demo_window(qtbot, tmp_path, demo_dir):
    """A window on a private copy of the demo session, media loaded; closed (discarding) at teardown."""
    import shutil

    from windowkit import make_window, wait_loaded

    d = tmp_path / "demo"
    d.mkdir()
    for name in ("demo.studio", "swwp2s.mpg"):
        shutil.copy2(demo_dir / name, d / name)
    win = make_window(qtbot)
    assert win.open_paths([d / "demo.studio"])
    wait_loaded(qtbot, win)
    yield win
    win.runner.cancel_all()
    win.dialogs.answers.extend(["Discard"] * 3)
    win.close()
