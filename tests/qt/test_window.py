"""The studio window as a user drives it: open the demo, play, edit, undo, save, reopen, export,
bad files, closing with unsaved edits, search, drag and drop, keyboard segmentation.

Real widgets offscreen, the real demo recording, the real clock (its silent output: no sound card
here), dialogs in test mode (recorded and answered, never modal).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from windowkit import close, make_window, wait_loaded  # noqa: E402

from studio import io
from studio.core.tiers import IntervalTier
from studio.qt.track import HEADER_WIDTH

EXPECTED = Path(__file__).parent.parent / "data" / "qt"


@pytest.fixture
def demo_copy(tmp_path, demo_dir) -> Path:
    d = tmp_path / "demo"
    d.mkdir()
    for name in ("demo.studio", "swwp2s.mpg"):
        shutil.copy2(demo_dir / name, d / name)
    return d / "demo.studio"


@pytest.fixture
def window(qtbot, demo_copy):
    win = make_window(qtbot)
    assert win.open_paths([demo_copy])
    wait_loaded(qtbot, win)
    yield win
    win.dialogs.answers.extend(["Discard"] * 3)
    win.close()


def test_demo_opens_with_all_tracks(window, qtbot):
    assert window.windowTitle().startswith("Studio — demo.studio")
    kinds = [t.kind for t in window.timeline.tracks]
    assert kinds.count("waveform") == 2  # the clip is stereo
    assert "spectrogram" in kinds
    tiers = [t.tier.name for t in window.tier_tracks()]
    assert tiers == ["transcript", "words"]
    assert window.view.extent[1] == pytest.approx(3.0, abs=0.05)
    panel = list(window.video_pane.panels.values())[0]
    assert panel.shown_index == 0
    assert not window.dialogs.messages("error")


def test_play_one_second_video_follows(window, qtbot):
    window.trigger("play")
    assert window.playing
    qtbot.waitUntil(lambda: window.view.playhead >= 1.0, timeout=5000)
    window.trigger("play")  # pause
    assert not window.playing
    t = window.view.playhead
    assert 1.0 <= t < 2.5
    video = window.media.first_video().video
    qtbot.waitUntil(
        lambda: list(window.video_pane.panels.values())[0].shown_index == video.index_at(t), timeout=5000
    )
    assert window.transport.time_label.text().startswith(f"0:00:0{int(t)}")


def _boundary_x(track, t: float) -> int:
    return round(track.x_of(t))


def test_edit_drag_undo_save_reopen_export(window, qtbot, demo_copy, tmp_path):
    win = window
    # a new tier, an interval from a selection, a label typed inline
    win.dialogs.answers.append("notes")
    win.trigger("new_tier")
    notes = win.session.tier("notes")
    assert win.current_tier() is notes
    win.view.set_selection(0.5, 1.0)
    win.trigger("create")
    assert [(a.start, a.end) for a in notes] == [(0.5, 1.0)]
    track = win.track_for_tier("notes")
    qtbot.waitUntil(lambda: track.editor is not None and track.editor.isVisible(), timeout=3000)
    qtbot.keyClicks(track.editor, "hello")
    qtbot.keyClick(track.editor, Qt.Key.Key_Return)
    assert notes[0].label == "hello"
    # split at the playhead: keyboard, as an annotator does it
    win.view.set_playhead(0.75)
    win.trigger("split")
    assert [(a.start, a.end, a.label) for a in notes] == [(0.5, 0.75, "hello"), (0.75, 1.0, "")]

    # drag a word boundary with the mouse; one drag is one undo step
    words = win.session.tier("words")
    wtrack = win.track_for_tier("words")
    before = [(a.start, a.end) for a in words]
    b = words[1].start  # "white" starts here
    x0 = _boundary_x(wtrack, b)
    y = wtrack.height() // 2
    qtbot.mousePress(wtrack, Qt.MouseButton.LeftButton, pos=QPoint(x0, y))
    for dx in range(2, 40, 4):
        qtbot.mouseMove(wtrack, QPoint(x0 + dx, y))
    qtbot.mouseRelease(wtrack, Qt.MouseButton.LeftButton, pos=QPoint(x0 + 38, y))
    after = [(a.start, a.end) for a in words]
    assert after != before and words[1].start > b
    assert words[0].end == words[1].start or words[0].end <= words[1].start
    n = win.session.undo_stack.index
    win.trigger("undo")
    assert [(a.start, a.end) for a in words] == before
    assert win.session.undo_stack.index == n - 1
    assert win.windowTitle().startswith("Studio — demo.studio")
    assert win.isWindowModified()

    # save, reopen in a new window: the same tiers
    win.trigger("save")
    assert not win.isWindowModified()
    saved = io.read(demo_copy)
    assert saved.tier_names() == ["transcript", "notes", "words"]  # a new tier goes below the current one
    close(win)
    win2 = make_window(qtbot)
    win2.open_paths([demo_copy])
    wait_loaded(qtbot, win2)
    assert [(a.start, a.end, a.label) for a in win2.session.tier("notes")] == [
        (0.5, 0.75, "hello"),
        (0.75, 1.0, ""),
    ]

    # export a TextGrid and compare with the expected file
    out = tmp_path / "out.TextGrid"
    warnings = win2.export_to(out)
    assert warnings is not None and any("empty label" in w for w in warnings)
    assert win2.dialogs.messages("info")[-1][1] == "Exported with losses"
    assert out.read_text(encoding="utf-8") == (EXPECTED / "demo_edited.TextGrid").read_text(encoding="utf-8")
    import praatio.textgrid  # a peer reads it the same way

    tg = praatio.textgrid.openTextgrid(str(out), includeEmptyIntervals=True)
    assert [e.label for e in tg.getTier("notes").entries] == ["", "hello", "", ""]
    assert tg.maxTimestamp == pytest.approx(win2.media.duration)  # the TextGrid spans the recording
    close(win2)


def test_corrupt_files_show_errors_and_keep_the_session(window, tmp_path):
    bad = tmp_path / "broken.TextGrid"
    bad.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\nxmin = 0\nxmax = oops\n')
    names = window.session.tier_names()
    assert not window.open_paths([bad])
    kind, title, text = window.dialogs.messages("error")[-1]
    assert "broken.TextGrid" in text
    assert window.session.tier_names() == names
    media = tmp_path / "noise.mp4"
    media.write_bytes(b"\x00\x01not a video" * 50)
    window.open_paths([media])
    qtbot_wait = 0
    del qtbot_wait
    assert window.session.media[-1].name == "noise.mp4"


def test_corrupt_media_error_dialog(window, qtbot, tmp_path):
    media = tmp_path / "noise.mp4"
    media.write_bytes(b"\x00\x01not a video" * 50)
    window.open_paths([media])
    qtbot.waitUntil(lambda: any("noise.mp4" in m[2] for m in window.dialogs.messages("error")), timeout=15000)
    assert window.session.tier_names() == ["transcript", "words"]


def test_close_with_unsaved_edits_asks(window, qtbot):
    win = window
    win.view.set_playhead(1.0)
    win.timeline.set_current(win.track_for_tier("words"))
    win.trigger("split")
    assert win.isWindowModified()
    win.dialogs.answers.append("Cancel")
    assert not win.close()
    assert win.isVisible()
    assert win.dialogs.messages("ask")[-1][1] == "Close Studio"


def test_search_jumps_to_match(window, qtbot):
    window.trigger("find")
    window.find_panel.query.setText("WHITE")
    matches = window.find_panel.run()  # substring, any case, every tier
    assert [m.label for m in matches] == ["set white with p two soon", "white"]
    window.find_panel.regex.setChecked(True)
    window.find_panel.case.setChecked(True)
    window.find_panel.query.setText("^wh.te$")
    matches = window.find_panel.run()
    assert [m.label for m in matches] == ["white"]
    track = window.track_for_tier("words")
    assert window.timeline.current is track
    assert track.selected_id == matches[0].annotation_id
    assert window.view.playhead == pytest.approx(matches[0].start)


def test_drop_media_adds_it(window, qtbot, demo_dir, tmp_path):
    wav = tmp_path / "tone.wav"
    import numpy as np
    import soundfile as sf

    sf.write(wav, 0.1 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440), 16000)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(ev)
    qtbot.waitUntil(lambda: window.session.media[-1].name == "tone.wav", timeout=5000)
    qtbot.waitUntil(
        lambda: any(t.title.startswith("tone.wav") for t in window.timeline.tracks), timeout=15000
    )
    window.trigger("undo")  # adding media is an edit like any other
    assert [m.name for m in window.session.media] == ["swwp2s.mpg"]


def test_keyboard_segmentation_during_playback(window, qtbot):
    win = window
    win.dialogs.answers.append("segments")
    win.trigger("new_tier")
    tier = win.session.tier("segments")
    assert isinstance(tier, IntervalTier)
    win.trigger("play")
    qtbot.waitUntil(lambda: win.view.playhead >= 0.8, timeout=5000)
    win.trigger("create")  # opens a segment at (heard time - lag)
    t1 = win.clock.position
    qtbot.waitUntil(lambda: win.clock.position >= t1 + 0.5, timeout=5000)
    win.trigger("create")  # closes it
    t2 = win.clock.position
    win.trigger("play")
    assert len(tier) == 1
    lag = win.segmenter.lag
    seg = tier[0]
    assert seg.start == pytest.approx(t1 - lag, abs=0.08)
    assert seg.end == pytest.approx(t2 - lag, abs=0.08)


def test_shortcuts_help_and_docs_are_current(window, qtbot):
    from studio.qt import shortcuts

    doc = Path(__file__).parents[2] / "docs" / "shortcuts.md"
    assert doc.read_text(encoding="utf-8") == shortcuts.markdown()
    window.trigger("shortcuts")
    dlg = window._shortcuts_dialog
    assert dlg.table.rowCount() == len(shortcuts.ACTIONS) + len(shortcuts.MOUSE)
    assert 0 < dlg.apply_filter("split") < 5
    dlg.close()
    keys = {a.id: [k.toString() for k in window.action(a.id).shortcuts()] for a in shortcuts.ACTIONS}
    flat = [k for ks in keys.values() for k in ks]
    assert len(flat) == len(set(flat)), "two commands share a key"


def test_zoom_keys_and_overview(window):
    v = window.view
    window.trigger("zoom_in")
    assert v.span == pytest.approx((v.extent[1] - v.extent[0]) / 2)
    window.trigger("zoom_all")
    assert v.range == v.extent
    window.view.set_selection(1.0, 1.5)
    window.trigger("zoom_selection")
    assert v.range[0] < 1.0 and v.range[1] > 1.5 and v.span < 0.6


def test_track_header_menu_hides_and_reorders(window):
    tl = window.timeline
    words = window.track_for_tier("words")
    i = tl.tracks.index(words)
    tl.move_track(words, -1)
    assert tl.tracks.index(words) == i - 1
    tl.set_hidden(words, True)
    assert words.isHidden()
    tl.set_hidden(words, False)
    assert not words.isHidden()


def test_header_click_selects_tier(window, qtbot):
    words = window.track_for_tier("words")
    qtbot.mouseClick(words, Qt.MouseButton.LeftButton, pos=QPoint(HEADER_WIDTH // 2, 10))
    assert window.current_tier().name == "words"


def test_keyboard_only_annotation_pass(window, qtbot):
    """Keys as an annotator presses them: pick the words tier, walk the words, relabel, commit-and-next."""
    win = window
    win.activateWindow()
    win.centralWidget().setFocus()
    qtbot.keyClick(win, Qt.Key.Key_Down)  # transcript -> words
    assert win.current_tier().name == "words"
    qtbot.keyClick(win, Qt.Key.Key_Tab)  # select and play the first word
    track = win.track_for_tier("words")
    words = win.session.tier("words")
    assert track.selected_id == words[0].id
    win.pause()
    qtbot.keyClick(win, Qt.Key.Key_F2)
    editor = track.editor
    assert editor is not None and editor.text() == "set"
    editor.selectAll()
    qtbot.keyClicks(editor, "SET")
    qtbot.keyClick(editor, Qt.Key.Key_Down)  # the window's "tier below" must not steal it
    assert win.current_tier().name == "words" and track.editor is editor
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # commit and next
    assert words[0].label == "SET"
    assert track.selected_id == words[1].id
    qtbot.waitUntil(lambda: track.editor is not None, timeout=3000)
    qtbot.keyClick(track.editor, Qt.Key.Key_Escape)
    assert words[1].label == "white"
    win.pause()
    # split with S at the playhead, merge back with M, delete with Delete; each one undo step
    win.view.set_playhead(words[1].mid)
    n = len(words)
    qtbot.keyClick(win, Qt.Key.Key_S)
    assert len(words) == n + 1
    track.select(words[1].id)
    qtbot.keyClick(win, Qt.Key.Key_M)
    assert len(words) == n
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(words) == n
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert words[0].label == "set"  # back to the file
    assert not win.isWindowModified()


def test_frame_step_and_boundary_jump(window, qtbot):
    win = window
    video = win.media.first_video().video
    win.view.set_playhead(1.0)
    win.trigger("frame_forward")
    assert video.index_at(win.view.playhead) == video.index_at(1.0) + 1
    win.trigger("frame_back")
    win.trigger("frame_back")
    assert video.index_at(win.view.playhead) == video.index_at(1.0) - 1
    win.timeline.set_current(win.track_for_tier("words"))
    win.view.set_playhead(0.8)
    win.trigger("next_boundary")
    assert win.view.playhead == pytest.approx(1.09)
    win.trigger("previous_boundary")
    assert win.view.playhead == pytest.approx(0.77)


def test_add_feature_curve_runs_in_the_background(window, qtbot):
    window.dialogs.answers.append("rms")
    window.trigger("add_feature")
    qtbot.waitUntil(lambda: window.timeline.find("feature:swwp2s.mpg:rms") is not None, timeout=20000)
    track = window.timeline.find("feature:swwp2s.mpg:rms")
    assert track.isVisible()


def test_recent_files_menu(window, demo_copy):
    window._fill_recent()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert str(demo_copy.resolve()) in texts


def test_export_menu_writes_every_format_and_reads_back(window, tmp_path):
    """File ▸ Export offers every format the io layer writes; each file reads back with the words."""
    fmts = [f for f in io.formats() if f.write is not None and f.name != "studio"]
    assert len(fmts) >= 9
    for f in fmts:
        label = f"{f.description} ({', '.join(f.suffixes)})"
        target = tmp_path / f"out_{f.name}{f.suffixes[0]}"
        window.dialogs.answers.extend([label, str(target)])
        window.trigger("export")
        assert target.exists(), f.name
        back = io.read(target, f.name)
        labels = {a.label for t in back.tiers if hasattr(t, "items") for a in t}
        if f.name == "rttm":  # speaker turns: a tier's name is the speaker
            assert "words" in labels
        else:
            assert {"white", "soon"} <= labels or any("white" in lab for lab in labels), f.name
    assert not window.dialogs.messages("error")


def test_curve_tiers_show_as_tracks(window, qtbot):
    import numpy as np

    from studio.core.commands import AddTier
    from studio.core.tiers import CurveTier

    conf = CurveTier("speech confidence", np.clip(np.sin(np.linspace(0, 6, 300)), 0, 1), rate=100.0)
    window.session.undo_stack.push(AddTier(conf, len(window.session.tiers)))
    track = window.track_for_tier("speech confidence")
    assert track is not None and track.style == "confidence"
    img = track.grab().toImage()
    assert img.width() > 0
    window.trigger("undo")
    assert window.track_for_tier("speech confidence") is None


def test_media_offset_moves_waveform_and_video(window, qtbot):
    """A stream offset (e.g. from `studio sync`) shifts its tracks and video on the session axis; undoable."""
    from studio.core.commands import SetMediaOffset

    media = window.session.media[0]
    wave = next(t for t in window.timeline.tracks if t.kind == "waveform")
    panel = list(window.video_pane.panels.values())[0]
    window.session.undo_stack.push(SetMediaOffset(media.name, 0.5))
    assert wave.offset == 0.5 and panel.offset == 0.5
    video = window.media.first_video().video
    window.view.set_playhead(1.5)
    qtbot.waitUntil(lambda: panel.shown_index == video.index_at(1.0), timeout=5000)
    window.trigger("undo")
    assert wave.offset == 0.0 and panel.offset == 0.0
