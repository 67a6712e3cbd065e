"""Review of annotation editing on the timeline: bugs an annotator hit, each driven as a user would
(real widgets offscreen, real sessions) — the current track when hidden or removed, reordering past
hidden tracks, segmentation after restarting playback earlier, long labels in the inline editor,
an editor whose annotation is undone underneath, hour ticks on long views."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from studio.core import AddTier, Interval, IntervalTier, Session, editing
from studio.qt.tier_track import track_for
from studio.qt.timeline import Timeline, nice_step, tick_label
from studio.qt.timeview import TimeView
from studio.qt.track import HEADER_WIDTH, Track


class _Plain(Track):
    kind = "plain"


@pytest.fixture
def timeline(qtbot):
    view = TimeView()
    view.set_extent(0.0, 10.0, show_all=True)
    tl = Timeline(view)
    qtbot.addWidget(tl)
    tracks = [tl.add_track(_Plain(view, name)) for name in ("a", "b", "c", "d")]
    for t in tracks:
        t.track_id = t.title
    tl.resize(HEADER_WIDTH + 600, 500)
    tl.show()
    qtbot.waitExposed(tl)
    return tl, tracks


def test_hiding_or_removing_the_current_track_clears_it_everywhere(timeline, qtbot):
    tl, (a, b, c, d) = timeline
    tl.set_current(b)
    with qtbot.waitSignal(tl.current_changed) as sig:
        tl.set_hidden(b, True)
    assert sig.args == [None] and tl.current is None
    assert not b.current  # its header is not left highlighted, to show up again as "current"
    tl.set_hidden(b, False)
    tl.set_current(a)
    assert [t for t in tl.tracks if t.current] == [a]
    with qtbot.waitSignal(tl.current_changed) as sig:
        tl.remove_track(a)
    assert sig.args == [None] and tl.current is None
    assert tl.step_current(+1) is b  # the next step starts from the first visible track


def test_move_up_steps_over_hidden_tracks(timeline):
    tl, (a, b, c, d) = timeline
    tl.set_hidden(b, True)
    tl.move_track(c, -1)  # on screen: a, c, d -> c, a, d
    assert [t.title for t in tl.visible_tracks()] == ["c", "a", "d"]
    tl.move_track(c, -1)  # already first: nothing moves
    assert [t.title for t in tl.visible_tracks()] == ["c", "a", "d"]
    tl.move_track(a, +1)
    assert [t.title for t in tl.visible_tracks()] == ["c", "d", "a"]
    assert len(tl.tracks) == 4


def test_segmenter_after_playback_restarts_earlier_starts_over():
    s = Session()
    s.undo_stack.push(AddTier(IntervalTier("seg")))
    seg = editing.Segmenter(lag=0.0)
    assert seg.mark(s, "seg", 2.0) is None  # opened at 2.0, then playback stopped and restarted at 0.5
    assert seg.mark(s, "seg", 0.8) is None  # starts over: 0.8..2.0 was never listened to in one go
    assert seg.open_at == pytest.approx(0.8) and len(s.tier("seg")) == 0
    s.undo_stack.push(seg.mark(s, "seg", 1.3))
    assert [(a.start, a.end) for a in s.tier("seg")] == [(0.8, 1.3)]
    assert seg.finish(s, 1.0) is None and not seg.is_open  # finishing before the open mark adds nothing
    assert len(s.tier("seg")) == 1


def _label_env(qtbot, labels):
    s = Session()
    s.undo_stack.push(AddTier(IntervalTier("w", [Interval(i, i + 1, x) for i, x in enumerate(labels)])))
    s.undo_stack.clear()
    view = TimeView()
    view.set_extent(0.0, float(len(labels)), show_all=True)
    host = QWidget()
    lay = QVBoxLayout(host)
    track = track_for(view, s, s.tier("w"))
    lay.addWidget(track)
    lay.addWidget(QLineEdit())
    qtbot.addWidget(host)
    host.resize(HEADER_WIDTH + 800, 120)
    host.show()
    qtbot.waitExposed(host)
    track.host = host  # keep the window alive as long as the test holds the track
    return s, track


def test_enter_keeps_a_very_long_label_whole(qtbot):
    long = "ab " * 20000  # 60 000 characters: a whole transcript in one interval
    s, track = _label_env(qtbot, [long, "x"])
    track.edit_label(s.tier("w")[0].id)
    qtbot.keyClick(track.editor, Qt.Key.Key_Return)
    assert s.tier("w")[0].label == long
    assert not s.undo_stack.can_undo()  # nothing changed, nothing to undo
    track.detach()


def test_editor_closes_when_its_annotation_is_undone_underneath(qtbot):
    s, track = _label_env(qtbot, ["a", "b"])
    s.undo_stack.push(editing.create_interval(s, "w", 2.5, 3.0))
    new = s.tier("w")[-1]
    errors = []
    track.error.connect(errors.append)
    track.edit_label(new.id)
    track.editor.setText("typed — ünïcode")
    s.undo_stack.undo()  # e.g. Edit > Undo from the menu while the editor is open
    assert track.editor is None  # not left floating over nothing
    assert errors and "'typed — ünïcode' was not saved" in errors[-1]
    track.edit_label(s.tier("w")[0].id)
    s.undo_stack.push(editing.delete(s, "w", s.tier("w")[0].id))
    assert track.editor is None and len(errors) == 1  # nothing typed, nothing to report
    track.detach()


def test_long_views_tick_on_whole_hours():
    for hours, px in ((10, 300), (10, 100), (48, 200)):
        step = nice_step(hours * 3600.0, px)
        assert step % 3600 == 0 and step * px / (hours * 3600.0) >= 80
    assert tick_label(2 * 3600.0, 7200.0) == "2:00:00"


def test_a_1_ms_view_deep_into_a_10_hour_tier_paints(qtbot):
    """The playhead, the time selection and the selected interval lie 1e10 px away: painting must
    neither raise (int overflow) nor draw their far edges into the view."""
    n = 10_000
    s = Session()
    s.undo_stack.push(
        AddTier(IntervalTier("big", [Interval(i * 3.6, (i + 1) * 3.6, f"w{i}") for i in range(n)]))
    )
    view = TimeView()
    view.set_extent(0.0, 36_000.0, show_all=True)
    track = track_for(view, s, s.tier("big"))
    qtbot.addWidget(track)
    track.resize(HEADER_WIDTH + 800, 60)
    track.show()
    qtbot.waitExposed(track)
    view.set_selection(100.0, 30_000.0)
    track.select(s.tier("big").at(18_000.0002).id)
    view.set_range(17_999.9995, 18_000.0005)  # playhead still at 0
    img = track.grab().toImage()
    assert not img.isNull()
    view.set_playhead(0.0)
    view.set_playhead(18_000.0)
    img = track.grab().toImage()
    x = HEADER_WIDTH + round(view.x_of(18_000.0, track.canvas_width()))
    assert img.pixelColor(x, 30).red() > 200  # the playhead line, drawn where it is
    track.detach()


def test_a_shorter_extent_brings_the_playhead_and_selection_inside():
    view = TimeView()
    view.set_extent(0.0, 100.0, show_all=True)
    view.set_playhead(50.0)
    view.set_selection(2.0, 60.0)
    moved = []
    view.playhead_changed.connect(moved.append)
    view.set_extent(0.0, 3.0)  # e.g. a shorter recording opened
    assert view.playhead == 3.0 and moved == [3.0]
    assert view.selection == (2.0, 3.0)
    view.set_selection(2.5, 2.9)
    view.set_extent(-1.0, 2.0)
    assert view.selection is None and view.range == (-1.0, 2.0)
