"""Align ▸ Align two recordings: the method switches the parameter rows; a soft-DTW run adds the
time map as a tier and a stored alignment."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from studio.core.commands import AddMedia
from studio.core.session import MediaRef, Session
from studio.qt.streams_dialog import METHODS, StreamsDialog, start_stream_alignment


def _pair(tmp_path, seconds=4.0, delay=0.3):
    """A noise-burst 'recording' and the same 2 % faster and `delay` s later."""
    import soxr

    sr = 16000
    rng = np.random.default_rng(1)
    env = np.repeat(rng.uniform(0.0, 1.0, int(seconds * 10)), sr // 10)
    x = (rng.standard_normal(env.size) * env * 0.3).astype(np.float32)
    x = np.convolve(x, np.hanning(9) / 4.5, mode="same").astype(np.float32)
    b = np.concatenate([np.zeros(int(delay * sr), np.float32), soxr.resample(x, sr * 1.02, sr)])
    pa, pb = tmp_path / "take1.wav", tmp_path / "take2.wav"
    sf.write(pa, x, sr)
    sf.write(pb, b.astype(np.float32), sr)
    return pa, pb


@pytest.fixture
def dialog(qtbot, tmp_path):
    s = Session()
    for p in _pair(tmp_path):
        s.media.append(MediaRef(str(p), kind="audio"))
    dlg = StreamsDialog(s)
    qtbot.addWidget(dlg)
    return dlg


def test_method_switching_shows_its_parameters(dialog):
    dlg = dialog
    dlg.show()
    assert dlg.method.currentData() == "dtw" and dlg.method.count() == len(METHODS)
    expected = {
        "dtw": {"band"},
        "soft-dtw": {"band", "gamma"},
        "ctw": {"dims"},
        "gctw": {"dims"},
        "deep-ctw": {"dims", "hidden", "epochs"},
    }
    for i in range(dlg.method.count()):
        dlg.method.setCurrentIndex(i)
        method = dlg.method.currentData()
        shown = {name for name, w in dlg.params.items() if dlg.form.isRowVisible(w)}
        assert shown == expected[method], method
        assert all(w.isVisible() == (name in shown) for name, w in dlg.params.items())
        ia, ib, m, params = dlg.request()
        assert (ia, ib, m) == (0, 1, method) and set(params) == expected[method]
    dlg.method.setCurrentIndex(dlg.method.findData("soft-dtw"))
    dlg.gamma.setValue(0.5)
    dlg.band.setValue(2.0)
    assert dlg.request()[3] == {"band": 2.0, "gamma": 0.5}
    dlg.method.setCurrentIndex(dlg.method.findData("ctw"))
    assert dlg.request()[3] == {"dims": None}  # 0 = automatic
    dlg.dims.setValue(8)
    assert dlg.request()[3] == {"dims": 8}
    dlg.grab().save("/tmp/streams_dialog.png")


def test_problem_names_what_cannot_run(dialog, qtbot, tmp_path):
    dlg = dialog
    assert dlg.problem() is None
    dlg.b.setCurrentIndex(0)
    assert "different" in dlg.problem()
    # two recordings of 70 s (silent, 8 kHz: small files): DTW can, soft-DTW and the CTW family cannot
    s = Session()
    for name in ("long1.wav", "long2.wav"):
        sf.write(tmp_path / name, np.zeros(70 * 8000, np.int16), 8000, subtype="PCM_16")
        s.media.append(MediaRef(str(tmp_path / name), kind="audio"))
    dlg = StreamsDialog(s)
    qtbot.addWidget(dlg)
    for method in ("soft-dtw", "ctw", "gctw", "deep-ctw"):
        dlg.method.setCurrentIndex(dlg.method.findData(method))
        assert "too large" in dlg.problem(), method
    dlg.method.setCurrentIndex(dlg.method.findData("dtw"))
    assert dlg.problem() is None
    dlg.method.setCurrentIndex(dlg.method.findData("ctw"))
    dlg._accept()
    assert "use DTW" in dlg.error.text() and dlg.result() != StreamsDialog.DialogCode.Accepted


def test_soft_dtw_run_adds_the_time_map(demo_window, qtbot, tmp_path):
    window, s = demo_window, demo_window.session
    for p in _pair(tmp_path):
        s.undo_stack.push(AddMedia(MediaRef(str(p), kind="audio")))
    ia, ib = len(s.media) - 2, len(s.media) - 1
    window.action("align_recordings").trigger()
    dlg = window._last_streams_dialog
    dlg.a.setCurrentIndex(dlg.a.findData(ia))
    dlg.b.setCurrentIndex(dlg.b.findData(ib))
    dlg.method.setCurrentIndex(dlg.method.findData("soft-dtw"))
    dlg.gamma.setValue(0.5)
    assert dlg.problem() is None
    job = start_stream_alignment(window, *dlg.request()[:3], **dlg.request()[3])
    name = "take2.wav at take1.wav"
    qtbot.waitUntil(lambda: s.has_tier(name), timeout=30000)
    assert job.state == "finished"
    curve = s.tier(name)
    assert curve.attrs["time_map"]["method"] == "soft-dtw" and np.isfinite(curve.attrs["time_map"]["cost"])
    t = np.arange(0.5, 3.5, 0.1)
    got = np.interp(t, curve.times - s.media[ia].offset, curve.values)
    assert np.median(np.abs(got - (0.3 + t / 1.02))) < 0.03
    stored = s.alignments[name]
    assert stored.method == "soft-dtw" and np.median(np.abs(stored.warp.map(t) - (0.3 + t / 1.02))) < 0.03
    s.undo_stack.undo()
    assert not s.has_tier(name) and name not in s.alignments
