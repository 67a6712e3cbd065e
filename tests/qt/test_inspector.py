"""The alignment inspector as a user meets it (real widget offscreen, real speech features): hover
readout, click to play, linked cursor, pins (add, drag, delete: `pins_edited`, which the window
stores as session commands), re-alignment through a task, restoring a stored state, zoom and pan, a CTC view, and a 20 000 x 20 000 alignment shown without its full matrix."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.align.dtw import dtw
from studio.align.inspect import cost_view, ctc_view
from studio.qt.inspector import AlignmentInspector
from studio.tasks.base import run


@pytest.fixture(scope="module")
def speech(demo_speech):
    return demo_speech


@pytest.fixture
def insp(qtbot, speech):
    A, B = speech
    w = AlignmentInspector()
    qtbot.addWidget(w)
    w.resize(800, 600)
    w.set_view(cost_view(A, B, hx=0.01, hy=0.01, metric="cosine", label_a="recording", label_b="espeak"))
    w.show()
    qtbot.waitExposed(w)
    return w


def move(w, pos: QPointF, buttons=Qt.MouseButton.NoButton, mods=Qt.KeyboardModifier.NoModifier):
    ev = QMouseEvent(QEvent.Type.MouseMove, pos, w.mapToGlobal(pos), Qt.MouseButton.NoButton, buttons, mods)
    QApplication.sendEvent(w, ev)


def drag(qtbot, w, a: QPointF, b: QPointF) -> None:
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, pos=a.toPoint())
    for f in np.linspace(0, 1, 6)[1:]:
        move(w, a + (b - a) * float(f), Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, pos=b.toPoint())


def test_hover_shows_the_pair_of_times(qtbot, insp):
    v = insp.view
    pos = insp.point_of(1.234, 0.567)
    x = int(insp.x_of(1.235))  # the hovered cell's centre (frame 123)
    y0 = int(insp.plot_rect().top()) + 2

    def column(img):  # the crosshair's column near the top, far from the pointer
        return [img.pixelColor(x, y).lightness() for y in range(y0, y0 + 24)]

    plain = column(insp.grab().toImage())
    with qtbot.waitSignal(insp.hovered) as sig:
        move(insp, pos)
    a, b = sig.args
    assert a == pytest.approx(1.235) and b == pytest.approx(0.565)  # the centres of frames 123, 56
    assert f"A {a:.3f} s" in insp.readout() and f"B {b:.3f} s" in insp.readout()
    assert f"B {v.b_at(a):.3f} s at this A" in insp.readout()
    assert insp.toolTip() == insp.readout()
    # the crosshair is drawn: its vertical line, far from the pointer, lightens every dash's pixels
    lit = column(insp.grab().toImage())
    assert sum(b > a for a, b in zip(plain, lit)) >= 10 and all(b >= a for a, b in zip(plain, lit))


def test_click_plays_both_sides(qtbot, insp):
    with qtbot.waitSignal(insp.play_requested) as sig:
        qtbot.mouseClick(insp, Qt.MouseButton.LeftButton, pos=insp.point_of(2.0, 1.0).toPoint())
    a, b = sig.args
    assert abs(a - 2.0) < 0.01 and abs(b - 1.0) < 0.01
    assert a == pytest.approx(insp.view.a_time(insp.view.a_frame(a)))  # a cell centre
    assert insp.pins == []  # a plain click does not pin


def test_linked_cursor_follows_the_path(qtbot, insp):
    v = insp.view
    path = v.path
    i = int(path[len(path) // 2, 0])
    js = path[path[:, 0] == i, 1]
    with qtbot.waitSignal(insp.cursor_b_changed) as sig:
        insp.set_cursor_a(float(v.a_time(i)))
    assert sig.args[0] == pytest.approx(float(v.b_time(js.mean())))
    assert insp.readout().startswith(f"▶ A {v.a_time(i):.3f} s")
    img = insp.grab().toImage()
    dot = insp.point_of(float(v.a_time(i)), sig.args[0])
    c = img.pixelColor(int(round(dot.x())), int(round(dot.y())))
    assert c.green() > 200 and c.red() < 200  # the green cursor marker sits on the path there


def test_pins_add_move_delete(qtbot, insp):
    v = insp.view
    changes, edits = [], []
    insp.pins_changed.connect(changes.append)
    insp.pins_edited.connect(edits.append)
    start = insp.point_of(1.0, 0.3)
    qtbot.mouseClick(insp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, start.toPoint())
    assert len(insp.pins) == 1 and changes[-1] == insp.pins
    a, b = insp.pins[0]
    assert abs(a - 1.0) < 0.01 and abs(b - 0.3) < 0.01 and insp.selected_pin == 0
    # a pin that would cross the first is refused
    qtbot.mouseClick(
        insp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, insp.point_of(1.5, 0.1).toPoint()
    )
    assert len(insp.pins) == 1 and "order of the other pins" in insp.message
    # pin mode: a plain click pins
    qtbot.keyClick(insp, Qt.Key.Key_P)
    assert insp.pin_mode
    qtbot.mouseClick(insp, Qt.MouseButton.LeftButton, pos=insp.point_of(2.2, 1.4).toPoint())
    qtbot.keyClick(insp, Qt.Key.Key_P)
    assert len(insp.pins) == 2
    # drag the first pin: one pins_changed at the release, at the new cell
    n = len(changes)
    target = insp.point_of(1.2, 0.5)
    drag(qtbot, insp, insp.point_of(*insp.pins[0]), target)
    assert len(changes) == n + 1
    a, b = insp.pins[0]
    assert abs(a - 1.2) < 0.01 and abs(b - 0.5) < 0.01
    assert a == pytest.approx(v.a_time(v.a_frame(a)))
    # select it and delete it
    qtbot.mouseClick(insp, Qt.MouseButton.LeftButton, pos=insp.point_of(a, b).toPoint())
    assert insp.selected_pin == 0
    qtbot.keyClick(insp, Qt.Key.Key_Delete)
    assert len(insp.pins) == 1 and insp.pins[0][0] == pytest.approx(2.205, abs=0.006)
    assert changes[-1] == insp.pins
    # every user edit (2 adds, the drag, the delete) is an edit the window stores; the refused pin is not
    assert len(edits) == 4 and edits[-1] == insp.pins
    # putting pins back (a stored alignment, an undo) changes them without being an edit
    insp.set_pins([(0.5, 0.2)])
    insp.restore(insp.state())
    assert len(edits) == 4 and changes[-1] == [(0.5, 0.2)]


def test_realign_task_then_set_path_and_restore(qtbot, insp, speech):
    A, B = speech
    v = insp.view
    before = insp.state()
    insp.add_pin(1.005, 0.305)
    assert (100, 30) not in set(map(tuple, v.path.tolist()))
    res = run(insp.realign_task())
    assert res.recomputed == [0, 1]
    with qtbot.waitSignal(insp.path_changed):
        insp.apply_realign(res)
    assert np.array_equal(insp.view.path, dtw(A, B, metric="cosine", anchors=[(100, 30)]).path)
    assert "re-aligned 2 of 2 segments" in insp.message
    after = insp.state()
    # a second pin: only the segments beside it are solved again
    insp.add_pin(2.105, 0.905)  # off the path (near B = 1.4 s there)
    res2 = run(insp.realign_task())
    assert res2.recomputed == [1, 2]
    insp.apply_realign(res2)
    # back to the start (what the window does when the session undoes), then the first step again
    insp.restore(before)
    assert insp.pins == [] and np.array_equal(insp.view.path, before.path)
    insp.restore(after)
    assert insp.pins == [(pytest.approx(1.005), pytest.approx(0.305))]
    assert np.array_equal(insp.view.path, after.path)
    assert run(insp.realign_task()).recomputed == []  # nothing changed since that path was made


def test_realign_in_the_job_runner(qtbot, insp, runner):
    insp.add_pin(1.505, 0.505)
    with qtbot.waitSignal(insp.path_changed, timeout=10000):
        runner.submit(insp.realign_task, name="re-align", group="inspector", on_result=insp.apply_realign)
    path = insp.view.path
    assert np.any((path[:, 0] == 150) & (path[:, 1] == 50))


def test_zoom_and_pan(qtbot, insp):
    full = insp.visible
    c = insp.point_of(1.5, 0.75)
    ev = QWheelEvent(c, insp.mapToGlobal(c), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(insp, ev)
    a0, a1, b0, b1 = insp.visible
    assert (a1 - a0) == pytest.approx((full[1] - full[0]) / 1.5625)
    assert insp.a_of(c.x()) == pytest.approx(1.5) and insp.b_of(c.y()) == pytest.approx(0.75)
    played = []
    insp.play_requested.connect(lambda a, b: played.append(a))
    drag(qtbot, insp, c, c + QPointF(100, 0))  # drag right: earlier A comes into view
    assert insp.visible[0] < a0 and not played
    qtbot.mouseDClick(insp, Qt.MouseButton.LeftButton, pos=c.toPoint())
    assert insp.visible == full


def test_ctc_view_shows_token_labels(qtbot):
    T, S = 400, 5
    rng = np.random.default_rng(1)
    post = rng.random((T, S)) * 0.2
    path = np.repeat(np.arange(S), T // S)
    post[np.arange(T), path] += 0.8
    path[::7] = -1  # blanks
    w = AlignmentInspector()
    qtbot.addWidget(w)
    w.resize(600, 400)
    w.set_view(ctc_view(post, path, hop=0.02, labels=list("HELLO")))
    move(w, w.point_of(3.0, 3.5))
    assert "token 3 'L'" in w.readout()
    with pytest.raises(ValueError, match="CTC"):
        w.realign_task()
    assert not w.grab().toImage().isNull()


def test_big_alignment_builds_without_the_full_matrix(qtbot):
    rng = np.random.default_rng(0)
    n = 20000
    X = np.cumsum(rng.normal(size=(n, 4)), axis=0).astype(np.float32)  # a random walk: far frames differ
    Y = X + rng.normal(scale=0.1, size=(n, 4)).astype(np.float32)
    diag = np.stack([np.arange(n), np.arange(n)], axis=1)
    tracemalloc.start()
    try:
        view = cost_view(X, Y, hx=0.01, hy=0.01, path=diag)
        w = AlignmentInspector()
        qtbot.addWidget(w)
        w.set_view(view)
        img = w.grab().toImage()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"  # the full matrix would be 3.2 GB
    assert view.image.shape == (1024, 1024)
    # the diagonal (X ~ Y) is the valley: min-pooled cells there are far below the rest
    diag_cells = np.diagonal(view.image)
    assert diag_cells.mean() < 0.2 * np.median(view.image)
    assert not img.isNull()
