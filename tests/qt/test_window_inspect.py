"""Align ▸ Inspect alignment in the window: the inspector shows a stored session alignment (two
recordings, or a transcript tier against its recording), and its pins and re-alignments are session
commands: one undo step each, undone with Ctrl+Z like any edit, and in the autosave journal."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from studio.core.commands import AddMedia, SetMediaOffset
from studio.core.session import MediaRef
from studio.io.journal import Journal, recover
from studio.qt.align_dialog import start_alignment


@pytest.fixture
def window(demo_window):
    return demo_window


def inspect(window, qtbot):
    window.action("inspect_alignment").trigger()
    qtbot.waitUntil(lambda: window.inspect_job.state in ("finished", "failed"), timeout=30000)
    assert window.inspect_job.state == "finished"
    qtbot.waitUntil(lambda: window._insp_ctx is not None and window.inspector.view is not None, timeout=5000)
    return window.inspector


def realign(window, qtbot, insp):
    insp.realign_requested.emit()
    qtbot.waitUntil(lambda: window.inspect_realign_job.state in ("finished", "failed"), timeout=30000)
    assert window.inspect_realign_job.state == "finished"


def two_takes(window, qtbot, shared_data, tmp_path, play_in_sync=False):
    """Take 2 is take 1 5 % slower and 0.5 s later; both aligned (the stored time map)."""
    import soundfile as sf
    import soxr

    from studio.qt.streams_dialog import start_stream_alignment

    s = window.session
    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    a, b = tmp_path / "take1.wav", tmp_path / "take2.wav"
    x = x[int(6 * sr) : int(14 * sr)]
    sf.write(a, x, sr)
    y = np.concatenate([np.zeros(sr // 2, np.float32), soxr.resample(x, sr * 1.05, sr)]).astype(np.float32)
    sf.write(b, y, sr)
    for p in (a, b):
        s.undo_stack.push(AddMedia(MediaRef(str(p), kind="audio")))
    job = start_stream_alignment(window, len(s.media) - 2, len(s.media) - 1, "dtw", play_in_sync=play_in_sync)
    qtbot.waitUntil(lambda: "take2.wav at take1.wav" in s.alignments, timeout=30000)
    assert job.state == "finished"
    return s.alignments["take2.wav at take1.wav"]


def test_two_recordings_inspect_pin_realign_undo_and_play_both(window, qtbot, shared_data, tmp_path):
    s = window.session
    stored = two_takes(window, qtbot, shared_data, tmp_path, play_in_sync=True)
    mb = s.media[-1]
    curve_before, warp_before = s.tier(stored.name).values.copy(), mb.warp
    assert warp_before is not None
    insp = inspect(window, qtbot)
    assert window.inspector_choice.currentData() == "alignment:take2.wav at take1.wav"
    v = insp.view
    assert (v.label_a, v.label_b) == ("take1.wav", "take2.wav") and v.image.shape[0] > 100
    # the path shown is the stored warp (its B times rounded to 10 ms frames)
    t = np.arange(0.2, 7.8, 0.05)
    assert np.max(np.abs([v.b_at(x) - stored.warp.map(x) for x in t])) <= 0.0051
    original = v.path.copy()
    # a pin 0.3 s off the path: one undo step storing the pins, warp unchanged
    depth = len(s.undo_stack)
    a, b = 4.0, v.b_at(4.0) + 0.3
    assert insp.add_pin(a, b)
    assert len(s.undo_stack) == depth + 1
    pinned = s.alignments[stored.name]
    assert pinned.attrs["pins"] == [list(p) for p in insp.pins] and pinned.warp == stored.warp
    # re-align between pins: one more step; the stored warp goes through the pin, the view shows it
    realign(window, qtbot, insp)
    qtbot.waitUntil(lambda: len(s.undo_stack) == depth + 2, timeout=5000)
    new = s.alignments[stored.name]
    pa, pb = insp.pins[0]
    assert np.min(np.abs(new.warp.pairs - [pa, pb]).sum(1)) < 1e-9  # the path passes through the pin
    assert abs(stored.warp.map(pa) - pb) > 0.2
    assert new.attrs["pins"] == new.attrs["aligned_pins"] == [[pa, pb]]
    assert np.allclose(insp.view.path * 0.01, new.warp.pairs)
    assert "re-aligned 2 of 2 segments" in insp.message
    # in the same step the map's curve tier and the warp B plays along follow the new map
    curve = s.tier(stored.name)
    np.testing.assert_allclose(curve.values, new.warp.map(curve.times - curve.start))
    assert not np.allclose(curve.values, curve_before) and mb.warp is not warp_before
    realigned = insp.view.path.copy()
    # Ctrl+Z (the session's undo) moves the inspector back: the re-alignment, then the pin
    window.action("undo").trigger()
    assert s.alignments[stored.name] is pinned
    assert np.array_equal(insp.view.path, original) and insp.pins == [(pa, pb)]
    assert mb.warp is warp_before and np.array_equal(s.tier(stored.name).values, curve_before)
    window.action("undo").trigger()
    assert s.alignments[stored.name] is stored and insp.pins == []
    window.action("redo").trigger()
    window.action("redo").trigger()
    assert np.array_equal(insp.view.path, realigned) and insp.pins == [(pa, pb)]
    # a click plays A there, then B where it matches (B 2 s later on the session's time line)
    ib = len(s.media) - 1
    s.undo_stack.push(SetMediaOffset(s.media[ib].name, 2.0))
    seen = []
    window.view.playhead_changed.connect(seen.append)
    ta, tb = 3.0, float(insp.view.b_at(3.0)) + 2.0
    insp.play_requested.emit(3.0, insp.view.b_at(3.0))
    qtbot.waitUntil(lambda: any(tb - 0.05 <= x <= tb + 0.65 for x in seen), timeout=5000)
    first_b = next(k for k, x in enumerate(seen) if x >= tb - 0.05)
    assert any(ta - 0.01 <= x <= ta + 0.65 for x in seen[:first_b])  # A was heard first
    # linked cursor: the playhead moves, the cursor follows on A (A's own time)
    with qtbot.waitSignal(insp.cursor_b_changed, timeout=2000):
        window.view.set_playhead(2.5)
    assert insp.cursor_a == pytest.approx(2.5)


def aligned_words(window, qtbot):
    window.action("align_transcript").trigger()
    dlg = window._last_align_dialog
    job = start_alignment(window, dlg.request())
    qtbot.waitUntil(lambda: window.session.has_tier("words (aligned)"), timeout=30000)
    assert job.state == "finished"
    window.timeline.set_current(window.track_for_tier("words (aligned)"))
    return window.session.tier("words (aligned)")


def test_transcript_pin_a_word_boundary_realign_moves_the_tier(window, qtbot):
    s = window.session
    words = aligned_words(window, qtbot)
    depth = len(s.undo_stack)
    insp = inspect(window, qtbot)
    ctx = window._insp_ctx
    name = ctx["name"]
    stored = s.alignments[name]  # stored when first opened: one undo step
    assert stored.attrs["kind"] == "transcript" and stored.attrs["tier"] == "words (aligned)"
    assert len(s.undo_stack) == depth + 1 and window.inspector_choice.currentData() == f"alignment:{name}"
    # the path starts from the tier: each word's start maps to its synthetic start
    off = s.media[0].offset
    k = 2
    ann = words.get(ctx["ids"][k])
    syn_start = ctx["spans"][k][0]
    assert insp.view.a_at(syn_start) + off == pytest.approx(ann.start, abs=0.021)
    before = [(a.id, a.start, a.end) for a in words]
    # pin the word's start 60 ms later in the recording, re-align: the word starts at the pin
    assert insp.add_pin(ann.start - off + 0.06, syn_start)
    pa = insp.pins[0][0]
    realign(window, qtbot, insp)
    qtbot.waitUntil(lambda: len(s.undo_stack) == depth + 3, timeout=5000)
    moved = s.tier("words (aligned)").get(ann.id)
    assert moved.start == pytest.approx(pa + off, abs=1e-6) and abs(moved.start - ann.start) > 0.03
    assert s.alignments[name].attrs["pins"] == [[pa, insp.pins[0][1]]]
    assert "word boundaries moved" in insp.message
    # one undo step: the tier and the alignment come back together
    window.action("undo").trigger()
    assert [(a.id, a.start, a.end) for a in s.tier("words (aligned)")] == before
    assert s.alignments[name].attrs["aligned_pins"] == [] and len(insp.pins) == 1
    # the journal has the step (and its undo): recovering it gives the same session
    j = Journal.attached(s)
    assert j is not None
    ops = [json.loads(line) for line in j.path.read_text().splitlines()[1:]]
    step = next(e for e in ops if e["op"] == "push" and "move_boundary" in json.dumps(e["cmd"]))
    assert "set_alignment" in json.dumps(step["cmd"]) and ops[-1]["op"] == "undo"
    window.action("redo").trigger()
    back = recover(j.path)
    assert back.tier("words (aligned)").get(ann.id).start == pytest.approx(pa + off, abs=1e-6)
    assert back.alignments[name].warp == s.alignments[name].warp


def test_ctc_aligned_tier_shows_its_posteriors_and_forced_path_read_only(window, qtbot):
    from studio.qt.window_inspect import spoken_parts

    s = window.session
    window.action("align_transcript").trigger()
    dlg = window._last_align_dialog
    dlg.method.setCurrentIndex(dlg.method.findData("ctc"))
    job = start_alignment(window, dlg.request())
    qtbot.waitUntil(lambda: s.has_tier("words (aligned)"), timeout=30000)
    assert job.state == "finished"
    window.timeline.set_current(window.track_for_tier("words (aligned)"))
    words = s.tier("words (aligned)")
    assert words.attrs["aligned_method"] == "ctc"
    assert window._suggested_inspect_key() == "ctc:words (aligned)"  # Inspect opens the posteriors
    window._inspector()
    window.inspector_dock.show()
    window._refresh_inspect_choices()
    combo = window.inspector_choice
    k = combo.findData("ctc:words (aligned)")
    assert k >= 0 and "CTC posteriors" in combo.itemText(k)
    depth = len(s.undo_stack)
    combo.setCurrentIndex(k)  # choosing it builds the view on the device worker
    qtbot.waitUntil(lambda: window.inspect_job.state in ("finished", "failed"), timeout=30000)
    assert window.inspect_job.state == "finished"
    qtbot.waitUntil(lambda: window._insp_ctx is not None and window.inspector.view is not None, timeout=5000)
    insp, v = window.inspector, window.inspector.view
    assert v.kind == "ctc" and len(s.undo_stack) == depth  # a view, nothing stored
    # B = the tier's words written in the model's letters, "|" between words
    spoken = [p for a in words for p in spoken_parts(a.label)]
    assert "|".join(spoken).lower() == "".join(v.b_labels)
    # the forced path is monotonic, visits every letter, and puts each word's first letter at its start
    assert np.all(np.diff(v.path, axis=0) >= 0) and set(v.path[:, 1]) == set(range(v.m))
    owner, media = np.asarray(window._insp_ctx["owner"]), s.media[0]
    for k, ann_id in enumerate(window._insp_ctx["ids"]):
        j = int(np.flatnonzero(owner == k)[0])
        t0 = v.path[v.path[:, 1] == j][0, 0] * v.hx
        assert t0 == pytest.approx(float(media.to_media_time(words.get(ann_id).start)), abs=1e-6)
    # hover reads time, letter and posterior; pins and Re-align are refused, the button says why
    x, y = insp.x_of(v.a_time(v.path[5, 0])), insp.y_of(v.b_time(v.path[5, 1]))
    qtbot.mouseMove(insp, QPoint(int(x), int(y)))
    assert f"'{v.b_labels[v.path[5, 1]]}'" in insp.readout() and "posterior" in insp.readout()
    assert not window.inspector_realign_button.isEnabled()
    assert "DTW" in window.inspector_realign_button.toolTip()
    assert not insp.add_pin(1.0, 3.5) and insp.pins == [] and len(s.undo_stack) == depth
    # a click plays the recording at that time
    seen = []
    window.view.playhead_changed.connect(seen.append)
    t = float(v.a_time(v.path[5, 0]))
    qtbot.mouseClick(insp, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    ts = float(media.to_session_time(t))
    qtbot.waitUntil(lambda: any(ts - 0.03 <= p <= ts + 0.65 for p in seen), timeout=5000)
    # the DTW view of the same tier turns Re-align back on
    combo.setCurrentIndex(combo.findData("tier:words (aligned)"))
    qtbot.waitUntil(
        lambda: window._insp_ctx is not None and window._insp_ctx["kind"] == "transcript", timeout=30000
    )
    assert window.inspector_realign_button.isEnabled()


def test_a_stored_transcript_alignment_follows_later_edits_of_the_tier(window, qtbot):
    """Inspected, then re-aligned in the inspector (its own moves do not make it stale), then a word
    moved by hand: the next Inspect makes the path again from the tier, one undo step."""
    from studio.core.commands import MoveBoundary

    s = window.session
    words = aligned_words(window, qtbot)
    insp = inspect(window, qtbot)
    name, ctx = window._insp_ctx["name"], window._insp_ctx
    off = s.media[0].offset
    ann = words.get(ctx["ids"][2])
    assert insp.add_pin(ann.start - off + 0.06, ctx["spans"][2][0])
    realign(window, qtbot, insp)
    qtbot.waitUntil(lambda: s.tier("words (aligned)").get(ann.id).start != ann.start, timeout=5000)
    depth = len(s.undo_stack)
    insp = inspect(window, qtbot)  # nothing changed since: the stored path and pins are shown as they are
    assert len(s.undo_stack) == depth and insp.pins and "changed since" not in insp.message
    # a person moves the next word's start 80 ms later
    nxt = s.tier("words (aligned)").get(ctx["ids"][3])
    s.undo_stack.push(MoveBoundary("words (aligned)", nxt.id, "start", nxt.start + 0.08))
    depth = len(s.undo_stack)
    insp = inspect(window, qtbot)
    qtbot.waitUntil(lambda: len(s.undo_stack) == depth + 1, timeout=5000)
    assert s.undo_stack.undo_text().startswith("Refresh") and "changed since it was inspected" in insp.message
    refreshed = s.alignments[name]
    assert refreshed.attrs["pins"] == [] and insp.pins == []
    k = window._insp_ctx["ids"].index(nxt.id)
    # the moved boundary (the end of the word before, which shares it) is where the path now puts it
    assert insp.view.a_at(window._insp_ctx["spans"][k - 1][1]) + off == pytest.approx(
        nxt.start + 0.08, abs=0.021
    )
