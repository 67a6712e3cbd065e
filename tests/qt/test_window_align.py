"""The Align menu in the window: align the demo transcript, walk the review queue, re-align around
a moved boundary (one undo step), media offsets."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.commands import MoveBoundary
from studio.qt.align_dialog import start_alignment


@pytest.fixture
def window(demo_window):
    return demo_window


def aligned(window, qtbot):
    window.action("align_transcript").trigger()
    dlg = window._last_align_dialog
    dlg.level.setCurrentIndex(1)  # words and phones
    job = start_alignment(window, dlg.request())
    qtbot.waitUntil(lambda: window.session.has_tier("words (aligned)"), timeout=30000)
    assert job.state == "finished"
    return window.session.tier("words (aligned)")


def test_align_menu_review_queue_and_realign(window, qtbot):
    s = window.session
    words = aligned(window, qtbot)
    assert window.track_for_tier("words (aligned)") is not None  # a track appeared for the new tier
    assert window.menuBar().actions()[3].text().replace("&", "") == "Align"
    # review queue: F8 opens it and selects + plays the least certain word
    window.action("next_low_confidence").trigger()
    assert window.review_dock.isVisible() and window.action("show_review").isChecked()
    panel = window.review_panel
    assert panel.tier_box.currentText() == "words (aligned)"  # the only tier with confidences
    first = panel.current_id()
    track = window.track_for_tier("words (aligned)")
    assert track.selected_id == first
    lowest = min(words, key=lambda a: a.confidence)
    assert words.get(first).confidence == lowest.confidence
    # re-align around a boundary: move "with"'s start 80 ms later, then re-align its neighbours
    items = list(words)
    w = items[2]
    depth = len(s.undo_stack)
    s.undo_stack.push(MoveBoundary("words (aligned)", w.id, "start", w.start + 0.08))
    track.select(w.id)
    window.timeline.set_current(track)
    window.action("realign_around").trigger()
    qtbot.waitUntil(lambda: window.realign_job.state in ("finished", "failed"), timeout=30000)
    assert window.realign_job.state == "finished"
    qtbot.waitUntil(lambda: len(s.undo_stack) == depth + 2, timeout=5000)
    after = list(s.tier("words (aligned)"))
    assert after[2].start == pytest.approx(w.start + 0.08)  # the held boundary
    assert after[1].end == pytest.approx(w.start + 0.08)
    for ph in s.tier("phones"):
        wd = s.tier("words (aligned)").at(ph.mid)
        assert wd is not None and wd.start - 1e-6 <= ph.start and ph.end <= wd.end + 1e-6
    s.undo_stack.undo()  # the re-alignment is one step
    assert [a.start for a in s.tier("words (aligned)")][2] == pytest.approx(w.start + 0.08)
    s.undo_stack.undo()
    assert [a.start for a in s.tier("words (aligned)")][2] == pytest.approx(w.start)


def test_media_offsets_from_the_menu(window):
    window.action("media_offsets").trigger()
    dlg = window._last_sync_dialog
    assert dlg.table.rowCount() == 1 and dlg.spins[0].value() == pytest.approx(window.session.media[0].offset)


def test_realign_on_boundary_move_toggle(window, qtbot):
    s = window.session
    words = aligned(window, qtbot)
    w = list(words)[3]  # "p"
    depth = len(s.undo_stack)
    s.undo_stack.push(MoveBoundary("words (aligned)", w.id, "start", w.start - 0.03))
    assert getattr(window, "realign_job", None) is None  # toggle off: nothing happens
    window.action("realign_on_move").setChecked(True)
    s.undo_stack.break_merge()  # as a drag does: its own undo step
    s.undo_stack.push(MoveBoundary("words (aligned)", w.id, "start", w.start + 0.05))
    qtbot.waitUntil(
        lambda: window.realign_job is not None and window.realign_job.state != "waiting", timeout=5000
    )
    qtbot.waitUntil(lambda: len(s.undo_stack) == depth + 3, timeout=30000)  # move, move, re-alignment
    after = list(s.tier("words (aligned)"))
    assert after[3].start == pytest.approx(w.start + 0.05) and after[2].end == pytest.approx(w.start + 0.05)
    s.undo_stack.undo()  # the re-alignment alone
    assert len(s.undo_stack) == depth + 3 and s.undo_stack.index == depth + 2
    window.action("realign_on_move").setChecked(False)


def test_align_two_recordings_adds_a_time_map(window, qtbot, shared_data, tmp_path):
    import soundfile as sf
    import soxr

    from studio.core.commands import AddMedia, SetMediaOffset
    from studio.core.session import MediaRef
    from studio.qt.streams_dialog import start_stream_alignment

    s = window.session
    window.action("align_recordings").trigger()
    assert "two recordings" in window._last_streams_dialog.problem()
    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    a, b = tmp_path / "take1.wav", tmp_path / "take2.wav"
    x = x[int(6 * sr) : int(14 * sr)]
    sf.write(a, x, sr)
    sf.write(
        b,
        np.concatenate([np.zeros(sr // 2, np.float32), soxr.resample(x, sr * 1.05, sr)]).astype(np.float32),
        sr,
    )
    for p in (a, b):
        s.undo_stack.push(AddMedia(MediaRef(str(p), kind="audio")))
    ia, ib = len(s.media) - 2, len(s.media) - 1
    job = start_stream_alignment(window, ia, ib, "dtw")
    qtbot.waitUntil(lambda: s.has_tier("take2.wav at take1.wav"), timeout=30000)
    assert job.state == "finished"
    curve = s.tier("take2.wav at take1.wav")
    t = np.arange(1.0, 7.0, 0.5)
    got = np.interp(t, curve.times, curve.values)
    assert np.median(np.abs(got - (0.5 + t / 1.05))) < 0.02  # measured 3 ms
    stored = s.alignments["take2.wav at take1.wav"]  # the same map, stored for the inspector and playback
    assert stored.attrs["kind"] == "streams" and (stored.warp.source, stored.warp.target) == (
        "take1.wav",
        "take2.wav",
    )
    assert np.median(np.abs(stored.warp.map(t) - (0.5 + t / 1.05))) < 0.02
    s.undo_stack.undo()
    assert not s.has_tier("take2.wav at take1.wav") and "take2.wav at take1.wav" not in s.alignments
    # "Play B in sync with A": the same step also gives B the smoothed map as its warp, A's offset
    s.undo_stack.push(SetMediaOffset(a.name, 2.0))
    job = start_stream_alignment(window, ia, ib, "dtw", play_in_sync=True)
    mb = s.media[ib]
    qtbot.waitUntil(lambda: mb.warp is not None, timeout=30000)
    assert mb.offset == 2.0 and s.has_tier("take2.wav at take1.wav")
    assert np.abs(mb.to_media_time(t + 2.0) - (0.5 + t / 1.05)).max() < 0.012
    assert "plays in sync" in window.statusBar().currentMessage()
    s.undo_stack.undo()
    assert mb.warp is None and mb.offset == 0.0 and not s.has_tier("take2.wav at take1.wav")
