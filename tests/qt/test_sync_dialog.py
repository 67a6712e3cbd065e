"""Media offsets dialog: shown, typed (undoable), computed from the audio in a job."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from studio.core.session import MediaRef, Session
from studio.qt.sync_dialog import SyncDialog


def test_offsets_typed_and_computed(qtbot, runner, shared_data, tmp_path):
    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    a = tmp_path / "room.wav"
    b = tmp_path / "lapel.wav"
    sf.write(a, x, sr)
    rng = np.random.default_rng(0)
    late = np.concatenate([np.zeros(int(2.5 * sr), np.float32), x]) + rng.normal(
        0, 0.002, int(2.5 * sr) + x.size
    )
    sf.write(b, late.astype(np.float32), sr)  # the lapel recorder started 2.5 s earlier
    s = Session([], [MediaRef(str(a), kind="audio"), MediaRef(str(b), kind="audio", offset=0.3)])
    dlg = SyncDialog(s, runner)
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 2 and dlg.spins[1].value() == 0.3
    # typed: an undoable command
    dlg.spins[1].setValue(1.25)
    dlg._typed(1)
    assert s.media[1].offset == 1.25
    s.undo_stack.undo()
    assert s.media[1].offset == 0.3 and dlg.spins[1].value() == 0.3  # the dialog follows the model
    # computed from the audio
    assert dlg.compute(0) is None and "reference" in dlg.status.text()
    job = dlg.compute(1)
    qtbot.waitUntil(lambda: job.state in ("finished", "failed"), timeout=30000)
    assert job.state == "finished", dlg.status.text()
    qtbot.waitUntil(lambda: s.media[1].offset != 0.3, timeout=5000)  # the result is applied on the UI thread
    assert abs(s.media[1].offset - (-2.5)) < 0.03, s.media[1].offset
    assert abs(dlg.spins[1].value() - s.media[1].offset) < 1e-3 and "confidence" in dlg.status.text()
    s.undo_stack.undo()
    assert s.media[1].offset == 0.3


def test_timing_plays_a_recording_along_a_stored_time_map(qtbot, runner, shared_data, tmp_path):
    """Timing ▸ time map: B gets the smoothed map of "Align two recordings" as its warp and A's
    offset (the clock plays along a warp: tests/media/test_clock.py). Undo gives B its own clock back."""
    import soxr

    from studio.align.streams import align_streams, time_map_alignment
    from studio.core.commands import SetAlignment

    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    x = x[int(6 * sr) : int(14 * sr)]
    a, b = tmp_path / "take1.wav", tmp_path / "take2.wav"
    sf.write(a, x, sr)
    y = np.concatenate([np.zeros(sr // 2, np.float32), soxr.resample(x, sr * 1.05, sr)]).astype(np.float32)
    sf.write(b, y, sr)  # take 2: half a second late and 5 % faster
    s = Session([], [MediaRef(str(a), kind="audio", offset=1.0), MediaRef(str(b), kind="audio")])
    al = time_map_alignment(align_streams(a, b), "take1.wav", "take2.wav")
    s.undo_stack.push(SetAlignment(al.name, al))
    dlg = SyncDialog(s, runner)
    qtbot.addWidget(dlg)
    choices = dlg.timing_choices(1)
    assert [c[0] for c in choices] == ["own clock", "time map: take2.wav at take1.wav"]
    assert dlg.timing_choices(0) == [("own clock", None)]  # A is the map's source, not its target
    dlg.set_timing(1, choices[1][1])
    mb = s.media[1]
    assert mb.warp is not None and mb.offset == 1.0
    assert dlg.timings[1].currentText() == "time map take2.wav at take1.wav (applied)"  # the dialog follows
    t = np.arange(2.0, 8.0, 0.25)  # session time: A plays t - 1
    assert np.median(np.abs(mb.to_media_time(t) - (0.5 + (t - 1.0) / 1.05))) < 0.01
    assert np.abs(mb.to_media_time(t) - (0.5 + (t - 1.0) / 1.05)).max() < 0.012  # measured 7 ms
    rates = np.diff(mb.warp.pairs[:, 1]) / np.diff(mb.warp.pairs[:, 0])
    assert np.all((rates > 0.8) & (rates < 1.25))  # smooth enough to play (no stalls, no leaps)
    s.undo_stack.undo()
    assert mb.warp is None and mb.offset == 0.0 and dlg.timings[1].currentIndex() == 0
