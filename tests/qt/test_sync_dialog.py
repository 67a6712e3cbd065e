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
