"""`studio demo` / `studio open` as a user runs them (a real process, offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PySide6.QtGui import QImage


def _studio(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)  # fmt: skip


def test_studio_demo_opens_the_window_and_draws_it(tmp_path):
    shot = tmp_path / "shot.png"
    r = _studio("demo", "--screenshot", str(shot))
    assert r.returncode == 0, r.stderr[-3000:]
    img = QImage(str(shot))
    assert img.width() >= 800 and img.height() >= 500
    ptr = img.convertToFormat(QImage.Format.Format_RGB32).constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.width(), 4)
    assert arr[..., :3].std() > 20  # something was drawn, not a blank window
    # the demo is a private copy: the bundled files are never edited
    assert (tmp_path / "data" / "demo" / "demo.studio").exists()


def test_studio_open_missing_file_is_an_error():
    r = _studio("open", "no/such/file.eaf")
    assert r.returncode == 1
    assert "no/such/file.eaf: no such file" in r.stderr


def test_studio_open_media_and_a_praat_file(tmp_path):
    """Opening media is an edit (the session gains it): the screenshot run must still finish without
    a question nobody can answer (it used to wait on "Save changes?" for 60 s and fail)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shot = tmp_path / "shot.png"
    r = _studio("open", str(root / "tests/data/textgrid/praatio_mary.TextGrid"),
                str(root / "resources/demo/swwp2s.mpg"), "--screenshot", str(shot))  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert QImage(str(shot)).width() >= 800
