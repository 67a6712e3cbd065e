"""Review of the window's session handling and data safety: the paths that could lose an edit or a
typed label (the inline editor open while saving, closing, opening, exporting), reopening a file
whose edits were discarded, several dropped files, a media file opened before its annotations,
undo of an added media, cancelled loading, playback state across sessions, a file changed on disk.

Real widgets offscreen, real media (the demo clip and WAVs written here), dialogs in test mode.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from windowkit import close, make_window  # noqa: E402

from studio import io
from studio.core.annotations import Interval
from studio.core.session import MediaRef, Session
from studio.core.tiers import IntervalTier
from studio.io.journal import Journal, journal_path_for
from studio.qt.dialogs import Dialogs
from studio.qt.main_window import MainWindow
from studio.qt.settings import Settings


def write_textgrid(path: Path, labels=(("a", 0.0, 0.5), ("b", 0.5, 1.0))) -> Path:
    t = IntervalTier("words")
    for lab, a, b in labels:
        t.insert(Interval(a, b, lab))
    s = Session([t])
    io.write(s, path, "textgrid")
    return path


def write_wav(path: Path, seconds: float = 1.5, channels: int = 1) -> Path:
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, sr)
    return path


@pytest.fixture
def tg(tmp_path) -> Path:
    return write_textgrid(tmp_path / "words.TextGrid")


def open_editor(qtbot, win: MainWindow, tier: str, index: int, text: str):
    track = win.track_for_tier(tier)
    win.timeline.set_current(track)
    track.select(win.session.tier(tier)[index].id)
    win.trigger("edit_label")
    qtbot.waitUntil(lambda: track.editor is not None and track.editor.isVisible(), timeout=3000)
    track.editor.setText(text)
    return track


# -- the inline editor open while the session is saved, closed, replaced, exported ----------------
def test_save_commits_the_label_being_typed(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    open_editor(qtbot, win, "words", 0, "typed")
    win.dialogs.answers.append("No")  # no lossy-format warning expected, but never save as .studio
    assert win.act_save()
    assert [a.label for a in io.read(tg).tier("words")] == ["typed", "b"]
    assert not win.isWindowModified()
    close(win)


def test_closing_a_clean_session_with_a_label_being_typed_asks(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    assert win.session.undo_stack.is_clean()
    open_editor(qtbot, win, "words", 1, "not lost")
    win.dialogs.answers.append("Cancel")
    assert not win.close()
    assert win.dialogs.messages("ask"), "closing dropped a typed label without asking"
    assert win.session.tier("words")[1].label == "not lost"
    close(win)


def test_export_includes_the_label_being_typed(qtbot, tg, tmp_path):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    open_editor(qtbot, win, "words", 0, "exported")
    out = tmp_path / "out.TextGrid"
    assert win.export_to(out) is not None
    assert io.read(out).tier("words")[0].label == "exported"
    close(win)


# -- opening ---------------------------------------------------------------------------------------
def _dirty(win: MainWindow, name: str = "extra") -> None:
    win.dialogs.answers.append(name)
    win.trigger("new_tier")
    assert win.isWindowModified()


def test_cancel_when_dropping_several_files_changes_nothing(qtbot, tg, tmp_path):
    other = write_textgrid(tmp_path / "other.TextGrid", (("x", 0.0, 1.0),))
    wav = write_wav(tmp_path / "a.wav")
    win = make_window(qtbot, size=(1000, 700))
    _dirty(win)
    before = win.session
    win.dialogs.answers.append("Cancel")
    assert not win.open_paths([tg, other, wav])
    assert win.session is before
    assert win.session.tier_names() == ["extra"], "files were imported into the session the user kept"
    assert not win.session.media
    close(win)


def test_reopening_a_file_after_discard_does_not_bring_the_edits_back(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    _dirty(win)
    assert journal_path_for(tg).exists()
    win.dialogs.answers.append("Discard")
    assert win.open_paths([tg])
    assert win.session.tier_names() == ["words"]
    assert not win.isWindowModified()
    assert not [m for m in win.dialogs.messages("info") if "Recovered" in m[1]]
    # and the new session is journaled again
    _dirty(win)
    assert Journal.attached(win.session) is not None and journal_path_for(tg).exists()
    close(win)


def test_media_opened_first_stays_when_its_annotations_are_opened(qtbot, tmp_path):
    wav = write_wav(tmp_path / "rec.wav", 1.2)
    tg = write_textgrid(tmp_path / "labels.TextGrid")  # another stem: not found as a sibling
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([wav])
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    assert win.open_paths([tg])
    assert not win.dialogs.messages("ask"), "nothing to lose, nothing to ask"
    assert [Path(m.path).name for m in win.session.media] == ["rec.wav"]
    assert win.session.tier_names() == ["words"]
    qtbot.waitUntil(lambda: win.media.first_audio() is not None, timeout=10000)
    close(win)


def test_undo_of_added_media_removes_its_tracks_and_redo_does_not_double_them(qtbot, tmp_path):
    wav = write_wav(tmp_path / "rec.wav", 1.0, channels=2)
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([wav])
    qtbot.waitUntil(lambda: len(win.media_tracks()) == 3, timeout=10000)  # 2 waveforms + spectrogram
    win.trigger("undo")
    assert not win.session.media
    assert win.media_tracks() == []
    win.trigger("redo")
    qtbot.waitUntil(lambda: win.media.first_audio() is not None, timeout=10000)
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    kinds = sorted(t.kind for t in win.media_tracks())
    assert kinds == ["spectrogram", "waveform", "waveform"]
    close(win)


def test_cancelling_the_loading_job_is_not_left_loading(qtbot, demo_dir):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([demo_dir / "swwp2s.mpg"])
    assert win.media.loading
    win.jobs_cancel.click()
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    assert not win.dialogs.messages("error")
    close(win)


def test_media_of_a_replaced_session_does_not_report_errors(qtbot, tmp_path, tg):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + os.urandom(2000))
    s = Session([IntervalTier("notes")], [MediaRef(str(bad), kind="audio")])
    win = MainWindow(s, dialogs=Dialogs(test_mode=True), settings=Settings(), clock_output="silent")
    qtbot.addWidget(win)
    win.open_paths([tg])  # replaces the session before the bad media's failure arrives
    win.runner.wait(10)
    qtbot.wait(50)
    assert not [m for m in win.dialogs.messages("error") if "bad.wav" in m[2]]
    close(win)


# -- playback --------------------------------------------------------------------------------------
def test_playback_rate_holds_for_the_next_session(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    win.set_rate(0.5)
    assert win.clock.rate == 0.5
    assert win.open_paths([tg])
    assert win.transport.rate == win.clock.rate, "the transport shows one rate, the clock plays another"
    close(win)


def test_frame_step_without_media_steps_from_the_playhead(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])  # a TextGrid without its recording
    win.view.set_playhead(0.5)
    win.trigger("frame_forward")
    assert win.view.playhead == pytest.approx(0.51)
    win.trigger("next_boundary")
    assert win.view.playhead == pytest.approx(1.0)
    close(win)


def test_play_without_media_reaches_tiers_imported_later(qtbot, tg, tmp_path):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    win.play_range(0.0, 0.05)
    qtbot.waitUntil(lambda: not win.playing, timeout=3000)
    longer = write_textgrid(tmp_path / "long.TextGrid", (("z", 0.0, 4.0),))
    assert win.import_annotations(longer)
    win.view.set_playhead(3.0)
    win.play_range(3.0, 3.05)
    qtbot.waitUntil(lambda: not win.playing, timeout=3000)
    assert win.view.playhead == pytest.approx(3.05, abs=0.02)
    close(win)


def _play_and_step(qtbot, path: Path, has_video: bool) -> None:
    Settings()["show_pitch"] = False  # no pitch job (its first import is slow; not what is tested)
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([path])
    qtbot.waitUntil(lambda: not win.media.loading, timeout=15000)
    assert not win.dialogs.messages("error")
    assert (win.media.first_video() is not None) == has_video
    win.trigger("play")
    qtbot.waitUntil(lambda: not win.playing, timeout=5000)
    assert win.view.playhead == pytest.approx(0.4, abs=0.02)  # played to the end, and stopped
    assert not win.transport.playing
    win.trigger("go_start")
    win.trigger("frame_forward")
    assert 0 < win.view.playhead < 0.1
    close(win)


def test_video_only_media_plays_and_steps(qtbot, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
    from videogen import make_index_video

    vid = tmp_path / "silent.mp4"
    make_index_video(vid, 10, fps=25.0, size=(64, 48))
    _play_and_step(qtbot, vid, True)


def test_audio_only_media_plays_and_steps(qtbot, tmp_path):
    _play_and_step(qtbot, write_wav(tmp_path / "tone.wav", 0.4), False)


# -- saving ----------------------------------------------------------------------------------------
def _touch_changed(path: Path, text_from: Path) -> None:
    shutil.copy2(text_from, path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


@pytest.mark.parametrize("answer", ["Cancel", "Yes"])
def test_saving_over_a_file_changed_on_disk_asks_first(qtbot, tg, tmp_path, answer):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    _dirty(win)
    # another program (Praat, a script) rewrites the file meanwhile
    _touch_changed(tg, write_textgrid(tmp_path / "theirs.TextGrid", (("theirs", 0.0, 2.0),)))
    win.dialogs.answers.extend([answer, "No"])  # overwrite?, then the lossy-format question if asked
    saved = win.act_save()
    asked = [m for m in win.dialogs.messages("ask") if "changed on disk" in m[2]]
    assert asked, "their version was overwritten without a word"
    labels = [a.label for a in io.read(tg).tier("words")]
    if answer == "Cancel":
        assert not saved and labels == ["theirs"] and win.isWindowModified()
    else:
        assert saved and labels == ["a", "b"] and not win.isWindowModified()
        win.dialogs.log.clear()
        win.dialogs.answers.clear()
        _dirty(win, "more")
        win.dialogs.answers.append("No")
        assert win.act_save()  # our own save is not a change on disk
        assert not [m for m in win.dialogs.messages("ask") if "changed on disk" in m[2]]
    close(win)


def test_a_folder_that_cannot_be_written_says_so_and_offers_another_name(qtbot, tg, tmp_path):
    blocked = Path("/sys/studio-review.studio")  # refused even to root: a real unwritable folder
    if os.access(blocked.parent, os.W_OK) and not blocked.parent.is_mount():
        pytest.skip("no unwritable folder here")
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    _dirty(win)
    good = tmp_path / "kept.studio"
    win.dialogs.answers.extend([str(blocked), "OK", "Yes", str(good)])  # save as, error, another name?
    assert win.act_save_as()
    err = win.dialogs.messages("error")[0][2]
    assert str(blocked) in err and ".tmp" not in err, err
    assert io.read(good).tier_names() == ["words", "extra"]
    assert not win.isWindowModified()
    close(win)


def test_play_at_the_end_starts_again_from_the_start(qtbot, tmp_path):
    Settings()["show_pitch"] = False
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([write_wav(tmp_path / "tone.wav", 0.3)])
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    win.trigger("go_end")
    win.trigger("play")
    assert win.playing, "Space at the end did nothing"
    assert win.clock.position < 0.1, "it plays from the start again, as media players do"
    win.trigger("play")
    assert not win.playing
    close(win)


def test_jobs_status_bar_shows_loading_then_hides(qtbot, demo_dir):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([demo_dir / "swwp2s.mpg"])
    assert win.jobs_widget.isVisible()
    assert "swwp2s.mpg" in win.jobs_label.text()
    qtbot.waitUntil(lambda: not win.runner.jobs, timeout=20000)
    qtbot.waitUntil(lambda: not win.jobs_widget.isVisible(), timeout=2000)
    close(win)


@pytest.mark.parametrize("child_first", [False, True])
def test_import_keeps_each_imported_tier_under_its_own_parent(qtbot, tmp_path, child_first):
    utt = IntervalTier("utt")
    utt.insert(Interval(0.0, 1.0, "hello world"))
    words = IntervalTier("words", parent="utt")
    words.insert(Interval(0.0, 0.5, "hello"))
    src = tmp_path / "theirs.studio"
    io.save_session(Session([words, utt] if child_first else [utt, words]), src)
    win = make_window(qtbot, Session([IntervalTier("utt")]))
    assert win.import_annotations(src)
    assert sorted(win.session.tier_names()) == ["utt", "utt (2)", "words"]
    assert win.session.tier("words").parent == "utt (2)", "attached to the session's own tier of that name"
    win.trigger("undo")
    assert win.session.tier_names() == ["utt"]
    close(win)


# -- settings --------------------------------------------------------------------------------------
def test_a_hand_edited_settings_file_with_wrong_types_does_not_stop_the_window(qtbot, tmp_path):
    import json

    from studio.qt.settings import config_dir

    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "settings.json").write_text(
        json.dumps(
            {"segmentation_lag": "fast", "recent": "/a/file.eaf", "snap": "no", "follow_playhead": False}
        ),
        encoding="utf-8",
    )
    s = Settings()
    assert s.recent == []
    assert s["segmentation_lag"] == 0.2 and s["snap"] is True
    assert s["follow_playhead"] is False  # a good value is kept
    win = make_window(qtbot, size=(1000, 700))
    assert win.segmenter is not None
    close(win)


# -- recovery --------------------------------------------------------------------------------------
def _left_by_a_crash(tier_name: str = "lost") -> None:
    """A journal as a killed process leaves it: an unsaved session with one edit, never detached."""
    from studio.core.commands import AddTier

    s = Session()
    Journal.for_new_session(s)
    s.undo_stack.push(AddTier(IntervalTier(tier_name), 0))


def test_recovered_unsaved_session_saved_as_leaves_no_journal(qtbot, tmp_path):
    from studio.io.journal import pending_journals

    _left_by_a_crash()
    d = Dialogs(test_mode=True)
    target = tmp_path / "rescued.studio"
    d.answers.extend(["Yes", None])  # recover?, the "recovered" note
    win = MainWindow(dialogs=d, settings=Settings(), clock_output="silent", check_recovery=True)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.session.has_tier("lost"), timeout=5000)
    assert win.isWindowModified()
    _dirty(win, "after")  # edits after the recovery are journaled too
    assert len(pending_journals()) == 1
    win.dialogs.answers.append(str(target))
    assert win.act_save()
    assert sorted(io.read(target).tier_names()) == ["after", "lost"]
    assert not pending_journals()
    close(win)


def test_ctrl_s_typed_in_the_label_editor_saves_the_label(qtbot, tg):
    from PySide6.QtCore import Qt

    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)  # shortcuts go to the active window
    track = open_editor(qtbot, win, "words", 1, "")
    track.editor.setFocus()
    track.editor.insert("ünï")  # (QTest types ASCII only)
    qtbot.keyClick(track.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert [a.label for a in io.read(tg).tier("words")] == ["a", "ünï"]
    assert not win.isWindowModified()
    close(win)


def test_two_cameras_with_the_same_file_name_both_show(qtbot, tmp_path, demo_dir):
    paths = []
    for cam in ("cam1", "cam2"):
        (tmp_path / cam).mkdir()
        paths.append(tmp_path / cam / "swwp2s.mpg")
        shutil.copy2(demo_dir / "swwp2s.mpg", paths[-1])
    Settings()["show_pitch"] = False
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths(paths)
    qtbot.waitUntil(lambda: not win.media.loading, timeout=20000)
    assert len(win.video_pane.panels) == 2, "the second camera replaced the first"
    win.trigger("undo")  # remove the second camera: the first stays
    assert len(win.video_pane.panels) == 1
    close(win)


def test_a_feature_curve_of_the_session_left_is_not_added_to_the_next(qtbot, tmp_path, tg):
    Settings()["show_pitch"] = False
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([write_wav(tmp_path / "tone.wav", 0.5)])
    qtbot.waitUntil(lambda: win.media.first_audio() is not None, timeout=10000)
    _dirty(win)
    win.dialogs.answers.append("rms")
    win.trigger("add_feature")
    win.dialogs.answers.append("Discard")
    assert win.open_paths([tg])  # another session before the curve arrives
    assert win.runner.wait(10)
    qtbot.wait(50)
    assert not [t for t in win.timeline.tracks if t.kind == "feature" or "rms" in t.title]
    close(win)


def test_opening_another_file_while_media_load_shows_nothing_of_the_first(qtbot, demo_copy_dir, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([demo_copy_dir / "demo.studio"])
    assert win.media.loading
    assert win.open_paths([tg])
    assert win.runner.wait(10)
    qtbot.wait(50)
    assert not win.video_pane.panels and not win.media_tracks()
    assert not win.dialogs.messages("error")
    close(win)


@pytest.fixture
def demo_copy_dir(tmp_path, demo_dir) -> Path:
    d = tmp_path / "demo"
    d.mkdir()
    for name in ("demo.studio", "swwp2s.mpg"):
        shutil.copy2(demo_dir / name, d / name)
    return d


def test_a_media_whose_loading_was_cancelled_loads_when_added_again(qtbot, demo_dir):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([demo_dir / "swwp2s.mpg"])
    win.jobs_cancel.click()
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    if win.media.first_video() is not None:
        pytest.skip("the job ended before the cancel reached it")
    assert win.open_paths([demo_dir / "swwp2s.mpg"])
    assert len(win.session.media) == 1
    qtbot.waitUntil(lambda: win.media.first_video() is not None, timeout=10000)
    qtbot.waitUntil(lambda: len(win.video_pane.panels) == 1, timeout=5000)
    close(win)


def test_an_audio_device_that_fails_to_start_is_reported_not_raised(qtbot, tmp_path):
    from studio.media.clock import PulledOutput

    class UnpluggedDevice(PulledOutput):
        """What SoundDeviceOutput does when its device went away: starting the stream raises
        (sounddevice.PortAudioError derives from Exception only). No sound card here to unplug."""

        def begin(self, run, rate):  # noqa: ANN001
            super().begin(run, rate)
            raise OSError("Error starting stream: Device unavailable [PaErrorCode -9985]")

    Settings()["show_pitch"] = False
    win = MainWindow(
        dialogs=Dialogs(test_mode=True), settings=Settings(), clock_output=UnpluggedDevice(48000, 2)
    )
    qtbot.addWidget(win)
    assert win.open_paths([write_wav(tmp_path / "tone.wav", 0.3)])
    qtbot.waitUntil(lambda: not win.media.loading, timeout=10000)
    win.trigger("play")
    assert not win.playing and not win.transport.playing
    assert "Device unavailable" in win.statusBar().currentMessage()
    close(win)


def test_the_title_and_questions_name_the_annotation_file_open(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    assert win.windowTitle().startswith("Studio — words.TextGrid")
    _dirty(win)
    win.dialogs.answers.append("Cancel")
    assert not win.close()
    assert "words.TextGrid has unsaved changes" in win.dialogs.messages("ask")[-1][2]
    close(win)


def test_a_dropped_file_that_is_not_media_is_not_left_in_the_session(qtbot, tmp_path):
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"PK\x03\x04" + os.urandom(3000))
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([doc])  # accepted at first: only the media engine can tell
    qtbot.waitUntil(lambda: bool(win.dialogs.messages("error")), timeout=10000)
    assert "notes.docx" in win.dialogs.messages("error")[0][2]
    assert not win.session.media, "a file that cannot play stays in the session and in the next save"
    assert not win.isWindowModified()
    close(win)


def test_edits_to_the_recording_found_next_to_a_textgrid_are_recovered(qtbot, tg):
    from studio.core.commands import SetMediaOffset

    write_wav(tg.with_suffix(".wav"), 0.5)  # words.wav beside words.TextGrid (Praat's convention)
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    assert [m.name for m in win.session.media] == ["words.wav"]
    win.session.undo_stack.push(SetMediaOffset("words.wav", 0.25))
    Journal.attached(win.session).detach(delete=False)  # what a crash leaves: the journal on disk
    win2 = make_window(qtbot, size=(1000, 700))
    assert win2.open_paths([tg])
    assert win2.session.media[0].offset == 0.25
    assert any("Recovered 1" in m[2] for m in win2.dialogs.messages("info")), win2.dialogs.log
    close(win2)
    close(win)


def test_a_late_state_signal_from_the_clock_thread_does_not_contradict_the_clock(qtbot, tg):
    win = make_window(qtbot, size=(1000, 700))
    assert win.open_paths([tg])
    win.play_range(0.0, None)
    assert win.playing
    # the clock's worker said "paused" (the end of the previous range) just before the user
    # played again; the queued signal arrives after the new play started
    win._bridge.state.emit("paused")
    qtbot.wait(20)
    assert win.transport.playing, "the transport shows paused while the clock plays"
    win.trigger("play")
    assert not win.playing and not win.transport.playing
    close(win)
