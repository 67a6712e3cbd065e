"""Interval and point tier tracks with real widgets (offscreen): selection, boundary drags with
snapping and undo, the inline label editor with completion, and a large tier."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from studio import io
from studio.core import (
    AddTier,
    Interval,
    IntervalTier,
    Point,
    PointTier,
    RenameTier,
    ReplaceAnnotation,
    Session,
    editing,
)
from studio.core.serialize import session_to_dict
from studio.qt.tier_track import IntervalTierTrack, PointTierTrack, track_for
from studio.qt.timeview import TimeView
from studio.qt.track import COLORS, HEADER_WIDTH


def snapshot(s):
    d = session_to_dict(s)
    d.pop("metadata")
    return d


@pytest.fixture
def env(qtbot, demo_dir):
    """The demo session (transcript, words) plus a point tier, each in a track, 1000 px for 3 s."""
    s = io.read(demo_dir / "demo.studio")
    s.undo_stack.push(AddTier(PointTier("peaks", [Point(1.0, "H*"), Point(2.0, "L%")])))
    s.undo_stack.clear()
    view = TimeView()
    view.set_extent(0.0, 3.0, show_all=True)
    host = QWidget()
    lay = QVBoxLayout(host)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    tracks = {t.name: track_for(view, s, t) for t in s.tiers}
    for tr in tracks.values():
        lay.addWidget(tr)
    other = QLineEdit(host)  # somewhere else for the focus to go
    lay.addWidget(other)
    # the window binds these keys too; while a label is edited they belong to the editor
    host.shortcut_hits = []
    for key in ("Return", "Ctrl+Return", "Escape", "Tab"):
        sc = QShortcut(QKeySequence(key), host)
        sc.activated.connect(lambda key=key: host.shortcut_hits.append(key))
    qtbot.addWidget(host)
    host.resize(HEADER_WIDTH + 1000, 200)
    host.show()
    qtbot.waitExposed(host)
    yield s, view, tracks, other
    for tr in tracks.values():
        tr.detach()


def at(track, t: float) -> QPoint:
    return QPoint(round(track.x_of(t)), track.height() // 2)


def spans(s, tier):
    return [(round(a.start, 6), round(a.end, 6), a.label) for a in s.tier(tier)]


def move_with(track, pos: QPoint, modifiers) -> None:
    """A mouse move with the left button held and keyboard modifiers (qtbot.mouseMove has none)."""
    ev = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(pos),
        QPointF(track.mapToGlobal(pos)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        modifiers,
    )
    QApplication.sendEvent(track, ev)


def test_header_and_signals_follow_the_tier(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    assert isinstance(words, IntervalTierTrack) and isinstance(tracks["peaks"], PointTierTrack)
    assert words.subtitle == "interval · 6 · ⊂ transcript"
    assert tracks["peaks"].subtitle == "point · 2"
    s.undo_stack.push(editing.create_interval(s, "words", 2.3, 2.6, "extra"))
    assert words.subtitle == "interval · 7 · ⊂ transcript"
    s.undo_stack.push(RenameTier("transcript", "utterances"))
    assert words.subtitle.endswith("⊂ utterances") and tracks["transcript"].title == "utterances"
    words.select("w3")
    with qtbot.waitSignal(words.annotation_selected) as sig:
        s.undo_stack.push(editing.delete(s, "words", "w3"))
    assert sig.args == [words, None] and words.selected_id is None
    words.detach()
    s.undo_stack.undo()
    assert len(s.tier("words")) == 7
    assert words.subtitle == "interval · 6 · ⊂ utterances"  # detached: no longer follows


def test_click_selects_and_still_moves_the_playhead(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    with qtbot.waitSignal(words.annotation_selected) as sig:
        qtbot.mouseClick(words, Qt.MouseButton.LeftButton, pos=at(words, 1.15))
    assert sig.args == [words, "w3"] and words.selected_id == "w3"
    assert view.playhead == pytest.approx(1.15, abs=0.004)
    qtbot.mouseClick(words, Qt.MouseButton.LeftButton, pos=at(words, 2.6))  # no interval there
    assert words.selected_id is None
    peaks = tracks["peaks"]
    qtbot.mouseClick(peaks, Qt.MouseButton.LeftButton, pos=at(peaks, 2.0) + QPoint(4, 0))
    assert peaks.selected_annotation().label == "L%"
    assert view.playhead == pytest.approx(2.0)  # a click on a point puts the cursor on it


def test_drag_moves_a_boundary_in_one_undo_step(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    before = snapshot(s)
    n = len(s.undo_stack)
    # grab 5 px right of the 'white'|'with' boundary (1.09): the hit area is generous
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09) + QPoint(5, 0))
    assert words.selected_id == "w3"  # the interval on the pointer's side
    for t in (1.11, 1.13, 1.15):
        qtbot.mouseMove(words, at(words, t) + QPoint(5, 0))
    assert snapshot(s) == before  # only a preview while dragging
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=at(words, 1.15) + QPoint(5, 0))
    assert len(s.undo_stack) == n + 1
    w = s.tier("words")
    assert w.get("w2").end == pytest.approx(1.15, abs=0.004) == w.get("w3").start  # linked neighbour
    after = snapshot(s)
    # a second drag of the same boundary (same interval and edge) is its own undo step
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, w.get("w3").start) + QPoint(3, 0))
    assert words._drag.ann_id == "w3" and words._drag.edge == "start"
    qtbot.mouseMove(words, at(words, 1.12) + QPoint(3, 0))
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=at(words, 1.12) + QPoint(3, 0))
    assert w.get("w3").start == pytest.approx(1.12, abs=0.004)
    assert len(s.undo_stack) == n + 2
    s.undo_stack.undo()
    assert snapshot(s) == after
    s.undo_stack.undo()
    assert snapshot(s) == before


def test_drag_is_clamped_by_the_neighbours(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09))
    qtbot.mouseMove(words, at(words, 2.9))  # far past the end of 'with' (1.22)
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=at(words, 2.9))
    assert s.tier("words").get("w3").end == 1.22
    assert s.tier("words").get("w3").start == pytest.approx(1.219)


def test_drag_snaps_to_another_tiers_boundary_unless_shift(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    # the peaks tier has a point at 1.0; drop the 1.09 boundary 5 px from it
    target = at(words, 1.0) + QPoint(5, 0)
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09))
    qtbot.mouseMove(words, target)
    assert words._drag.snapped == 1.0
    words.grab().save("/tmp/tier_track_snap.png")
    img = words.grab().toImage()
    dpr = img.devicePixelRatio()
    col = img.pixelColor(round(words.x_of(1.0) * dpr), round(2 * dpr))
    assert col.blue() > 180 and col.red() < 150  # the snap target is shown (cyan line)
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=target)
    assert s.tier("words").get("w2").end == 1.0
    s.undo_stack.undo()
    # with Shift held, no snapping: the boundary lands where the pointer is
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09))
    move_with(words, target, Qt.KeyboardModifier.ShiftModifier)
    assert words._drag.snapped is None
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=target)
    grab = words.t_of(at(words, 1.09).x()) - 1.09  # where in the hit area the boundary was taken
    assert s.tier("words").get("w2").end == pytest.approx(words.t_of(target.x()) - grab, abs=1e-9)
    assert s.tier("words").get("w2").end != 1.0


def test_window_snapper_is_used(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    calls = []

    def snapper(t, tolerance, tier):
        calls.append((tolerance, tier))
        return 1.111

    words.snapper = snapper
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09))
    qtbot.mouseMove(words, at(words, 1.15))
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=at(words, 1.15))
    assert s.tier("words").get("w2").end == 1.111
    assert calls[0] == (pytest.approx(8 * 3.0 / 1000), "words")


def test_hovering_a_boundary_shows_the_resize_cursor(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    qtbot.mouseMove(words, at(words, 1.22) - QPoint(6, 0))
    assert words.cursor().shape() == Qt.CursorShape.SizeHorCursor
    qtbot.mouseMove(words, at(words, 1.3))
    assert words.cursor().shape() == Qt.CursorShape.ArrowCursor


def test_overlapping_tier_lanes(env, qtbot):
    s, view, tracks, _ = env
    tier = IntervalTier("subs", [Interval(0.2, 1.5, "a"), Interval(1.0, 2.0, "b")], allow_overlap=True)
    s.undo_stack.push(AddTier(tier))
    tr = track_for(view, s, tier)
    qtbot.addWidget(tr)
    tr.resize(HEADER_WIDTH + 1000, 60)
    assert tr.data().nlanes == 2
    top, bottom = QPoint(round(tr.x_of(1.2)), 10), QPoint(round(tr.x_of(1.2)), 50)
    qtbot.mouseClick(tr, Qt.MouseButton.LeftButton, pos=top)
    assert tr.selected_annotation().label == "a"
    qtbot.mouseClick(tr, Qt.MouseButton.LeftButton, pos=bottom)
    assert tr.selected_annotation().label == "b"
    # dragging the end of 'a' past the start of 'b' is allowed on an overlapping tier
    qtbot.mousePress(tr, Qt.MouseButton.LeftButton, pos=QPoint(round(tr.x_of(1.5)), 10))
    qtbot.mouseMove(tr, QPoint(round(tr.x_of(1.8)), 10))
    qtbot.mouseRelease(tr, Qt.MouseButton.LeftButton, pos=QPoint(round(tr.x_of(1.8)), 10))
    assert tier[0].end == pytest.approx(1.8, abs=0.004) and tier[1].start == 1.0
    tr.detach()


def test_a_deleted_track_never_breaks_an_edit(qtbot, demo_dir):
    s = io.read(demo_dir / "demo.studio")
    view = TimeView()
    tr = track_for(view, s, s.tier("words"))
    tr.select("w1")
    shiboken6.delete(tr)  # gone without detach()
    s.undo_stack.push(editing.delete(s, "words", "w1"))
    assert len(s.tier("words")) == 5 and s.undo_stack.can_undo()


def test_escape_cancels_a_drag(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    before, n = snapshot(s), len(s.undo_stack)
    qtbot.mousePress(words, Qt.MouseButton.LeftButton, pos=at(words, 1.09))
    qtbot.mouseMove(words, at(words, 1.17))
    qtbot.keyClick(words, Qt.Key.Key_Escape)
    qtbot.mouseMove(words, at(words, 1.2))
    qtbot.mouseRelease(words, Qt.MouseButton.LeftButton, pos=at(words, 1.2))
    assert snapshot(s) == before and len(s.undo_stack) == n


def test_point_drag_snaps_to_a_word_boundary(env, qtbot):
    s, view, tracks, _ = env
    peaks = tracks["peaks"]
    qtbot.mousePress(peaks, Qt.MouseButton.LeftButton, pos=at(peaks, 1.0))
    qtbot.mouseMove(peaks, at(peaks, 1.085))
    qtbot.mouseRelease(peaks, Qt.MouseButton.LeftButton, pos=at(peaks, 1.085))
    assert [p.time for p in s.tier("peaks")] == [1.09, 2.0]
    s.undo_stack.undo()
    assert [p.time for p in s.tier("peaks")] == [1.0, 2.0]


# The completer's popup is a popup window; the offscreen platform cannot raise it or grab the keyboard.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_inline_edit_with_completion_commits_a_relabel(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    assert words.edit_label("w3")
    ed = words.editor
    assert ed.isVisible() and ed.text() == "with"
    ed.clear()
    qtbot.keyClicks(ed, "wh")
    popup = ed.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    assert [popup.model().index(i, 0).data() for i in range(popup.model().rowCount())] == ["white"]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: words.editor is None)
    assert s.tier("words").get("w3").label == "white"
    assert s.undo_stack.undo_text() == "Relabel to 'white'"
    s.undo_stack.undo()
    assert s.tier("words").get("w3").label == "with"


@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_escape_in_the_completion_list_closes_only_the_list(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    words.edit_label("w3")
    ed = words.editor
    ed.clear()
    qtbot.keyClicks(ed, "so")
    popup = ed.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Escape)
    assert not popup.isVisible() and words.editor is ed and ed.text() == "so"
    qtbot.keyClick(ed, Qt.Key.Key_Return)  # what was typed is committed, not the completion
    assert s.tier("words").get("w3").label == "so"


def test_enter_unchanged_pushes_nothing_and_escape_cancels(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    n = len(s.undo_stack)
    words.edit_label("w1")
    qtbot.keyClick(words.editor, Qt.Key.Key_Return)
    assert words.editor is None and len(s.undo_stack) == n
    words.edit_label("w1")
    qtbot.keyClicks(words.editor, "zzz")
    qtbot.keyClick(words.editor, Qt.Key.Key_Escape)
    assert words.editor is None and s.tier("words").get("w1").label == "set" and len(s.undo_stack) == n


def test_ctrl_enter_commits_and_moves_on_playing_the_next(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    words.edit_label("w3")
    words.editor.setText("WITH")
    with qtbot.waitSignal(words.play_requested) as play:
        qtbot.keyClick(words.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert s.tier("words").get("w3").label == "WITH"
    assert words.selected_id == "w4" and words.editor is not None and words.editor.text() == "p"
    assert play.args == [1.22, 1.44]
    # Tab commits and goes on, Shift+Tab goes back
    words.editor.setText("P")
    qtbot.keyClick(words.editor, Qt.Key.Key_Tab)
    assert s.tier("words").get("w4").label == "P" and words.selected_id == "w5"
    qtbot.keyClick(words.editor, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert words.selected_id == "w4" and words.editor.text() == "P"
    qtbot.keyClick(words.editor, Qt.Key.Key_Escape)
    assert words.editor is None
    assert words.window().shortcut_hits == []  # none of these keys reached the window's shortcuts


def test_losing_focus_commits(env, qtbot):
    s, view, tracks, other = env
    words = tracks["words"]
    words.window().activateWindow()
    words.edit_label("w6")
    qtbot.waitUntil(words.editor.hasFocus)
    words.editor.setText("soon!")
    other.setFocus()
    qtbot.waitUntil(lambda: words.editor is None)
    assert s.tier("words").get("w6").label == "soon!"


def test_double_click_opens_the_editor_and_edit_errors(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    qtbot.mouseDClick(words, Qt.MouseButton.LeftButton, pos=at(words, 1.3))
    assert words.editor is not None and words.editor.text() == "p"
    # the editor sits over its interval
    assert words.editor.geometry().center().x() == pytest.approx(words.x_of(1.33), abs=2)
    qtbot.keyClick(words.editor, Qt.Key.Key_Escape)
    words.select(None)
    view.set_playhead(2.8)
    with qtbot.waitSignal(words.error) as err:
        assert not words.edit_label()
    assert "no annotation to label" in err.args[0]


def test_edit_scrolls_the_annotation_into_view(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    view.set_range(2.4, 2.9)
    words.edit_label("w2")
    lo, hi = view.range
    assert lo <= 0.77 and 1.09 <= hi
    qtbot.keyClick(words.editor, Qt.Key.Key_Escape)


def test_empty_and_low_confidence_intervals_look_different(env, qtbot):
    s, view, tracks, _ = env
    words = tracks["words"]
    s.undo_stack.push(ReplaceAnnotation("words", "w4", label=""))
    s.undo_stack.push(ReplaceAnnotation("words", "w5", confidence=0.2))
    img = words.grab().toImage()
    dpr = img.devicePixelRatio()

    def colours(t0, t1):
        y = round(8 * dpr)
        xs = range(round((words.x_of(t0) + 3) * dpr), round((words.x_of(t1) - 3) * dpr))
        return {img.pixelColor(x, y).rgb() for x in xs}

    plain, empty, low = colours(0.49, 0.77), colours(1.22, 1.44), colours(1.44, 1.73)
    assert len(plain) == 1 and len(empty) > 1  # hatched
    (p,), (lw,) = plain, low
    assert QColor(lw).red() > QColor(p).red() + 60  # tinted red


def test_ten_thousand_intervals_render(qtbot):
    n = 10_000
    tier = IntervalTier("big", [Interval(i * 0.5, i * 0.5 + 0.45, f"w{i}") for i in range(n)])
    s = Session([tier])
    view = TimeView()
    view.set_extent(0.0, n * 0.5, show_all=True)
    tr = IntervalTierTrack(view, s, tier)
    qtbot.addWidget(tr)
    tr.resize(HEADER_WIDTH + 800, 44)
    bg = COLORS["background"].rgb()

    def canvas_colours():
        img = tr.grab().toImage()
        dpr = img.devicePixelRatio()
        return {
            img.pixelColor(round(x * dpr), round(20 * dpr)).rgb()
            for x in range(HEADER_WIDTH + 2, tr.width() - 2)
        }

    assert bg not in canvas_colours()  # 12 intervals a pixel: covered everywhere
    view.set_range(100.0, 110.0)  # 20 intervals, gaps, boundaries and labels
    assert tr.data().visible(100.0, 110.0).size == 21
    assert bg in canvas_colours() and len(canvas_colours()) > 3
    assert tr.annotation_at(100.2).label == "w200"
    tr.detach()
