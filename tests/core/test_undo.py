from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core import (
    AddAnnotation,
    AddTier,
    CurveTier,
    DeleteAnnotation,
    Interval,
    IntervalTier,
    MergeIntervals,
    MoveBoundary,
    MoveTier,
    Point,
    PointTier,
    Relabel,
    RemoveTier,
    RenameTier,
    Session,
    SetCurveValues,
    SetMediaOffset,
    SetMediaWarp,
    SetTierProperty,
    SplitInterval,
    command_from_dict,
)
from studio.core.serialize import session_to_dict
from studio.core.session import MediaRef, WarpPath


def make_session() -> Session:
    return Session(
        [
            IntervalTier("utt", [Interval(0, 4, "hello world")]),
            IntervalTier(
                "words",
                [Interval(0, 1, "hello"), Interval(1, 2, "world"), Interval(3, 4, "again")],
                parent="utt",
            ),
            PointTier("peaks", [Point(0.5, "p")]),
        ],
        [MediaRef("/data/a.wav")],
    )


def snapshot(s: Session):
    d = session_to_dict(s)
    d.pop("metadata")
    return d


def test_every_command_undoes_and_redoes_exactly():
    s = make_session()
    w = s.tier("words")
    hello, world, again = w[0].id, w[1].id, w[2].id
    cmds = [
        AddAnnotation("words", Interval(2.2, 2.8, "new")),
        DeleteAnnotation("words", again),
        Relabel("words", hello, "HELLO"),
        MoveBoundary("words", hello, "end", 0.8),
        MoveBoundary("peaks", s.tier("peaks")[0].id, "time", 0.7),
        SplitInterval("words", world, 1.5, right_label="wide"),
        MergeIntervals("words", hello),
        AddTier(IntervalTier("notes", [Interval(0, 1, "n")])),
        RenameTier("utt", "utterance"),
        MoveTier("notes", 0),
        SetTierProperty("words", "vocabulary", "cv"),
        SetTierProperty("words", "participant", "A"),
        SetMediaOffset("a.wav", 0.25),
        SetMediaWarp("a.wav", WarpPath([[0, 0], [100, 99.9]], "drift", "a.wav"), offset=0.5),
        AddTier(CurveTier("conf", [0.1, 0.2], rate=10.0)),
        SetCurveValues("conf", [0.5, 0.6, 0.7], rate=20.0),
        RemoveTier("utterance"),
    ]
    states = [snapshot(s)]
    for c in cmds:
        s.undo_stack.push(c)
        states.append(snapshot(s))
    assert s.tier("words").parent is None  # orphaned by removing its parent
    for i in range(len(cmds), 0, -1):
        assert snapshot(s) == states[i]
        s.undo_stack.undo()
    assert snapshot(s) == states[0]
    assert s.undo_stack.is_clean()
    for i in range(1, len(cmds) + 1):
        s.undo_stack.redo()
        assert snapshot(s) == states[i]


def test_every_command_survives_json_round_trip():
    from studio.core.serialize import session_from_dict

    s1 = make_session()
    s2 = session_from_dict(session_to_dict(s1))  # same ids in both sessions
    hello = s1.tier("words")[0].id
    cmds = [
        MoveBoundary("words", hello, "end", 0.9),
        SplitInterval("words", hello, 0.5),
        AddTier(PointTier("x", [Point(1, "a")])),
        Relabel("words", hello, "h"),
        SetMediaWarp("a.wav", WarpPath([[0, 0], [10, 10.5]]), offset=-1.0),
    ]
    for c in cmds:
        s1.undo_stack.push(c)
        s2.undo_stack.push(command_from_dict(c.to_dict()))
    assert snapshot(s1) == snapshot(s2)


def test_consecutive_moves_of_one_boundary_merge_into_one_step():
    s = make_session()
    hello = s.tier("words")[0].id
    for t in (0.9, 0.8, 0.7, 0.75):
        s.undo_stack.push(MoveBoundary("words", hello, "end", t))
    assert len(s.undo_stack) == 1
    assert s.tier("words")[0].end == 0.75 and s.tier("words")[1].start == 0.75  # linked neighbour
    s.undo_stack.undo()
    assert s.tier("words")[0].end == 1.0 and s.tier("words")[1].start == 1.0
    # a new drag after break_merge is a new step
    s.undo_stack.redo()
    s.undo_stack.break_merge()
    s.undo_stack.push(MoveBoundary("words", hello, "end", 0.6))
    assert len(s.undo_stack) == 2


def test_move_boundary_cannot_cross_neighbour_or_invert():
    s = make_session()
    w = s.tier("words")
    world = w[1].id
    with pytest.raises(ValueError, match="overlap"):
        s.undo_stack.push(MoveBoundary("words", world, "end", 3.5, linked=True))  # 'again' starts at 3
    with pytest.raises(ValueError, match="not before"):
        s.undo_stack.push(MoveBoundary("words", world, "start", 2.5))
    assert len(s.undo_stack) == 0 and w[1].start == 1.0 and w[1].end == 2.0


def test_unlinked_move_leaves_neighbour():
    s = make_session()
    w = s.tier("words")
    s.undo_stack.push(MoveBoundary("words", w[1].id, "start", 1.2, linked=False))
    assert w[0].end == 1.0 and w[1].start == 1.2


def test_clean_state_tracking():
    s = make_session()
    seen = []
    s.undo_stack.clean_changed.connect(seen.append)
    hello = s.tier("words")[0].id
    s.undo_stack.push(Relabel("words", hello, "x"))
    assert not s.undo_stack.is_clean()
    s.undo_stack.set_clean()
    s.undo_stack.undo()
    assert not s.undo_stack.is_clean()
    s.undo_stack.redo()
    assert s.undo_stack.is_clean()
    s.undo_stack.undo()
    s.undo_stack.push(Relabel("words", hello, "y"))  # the clean state is gone for good
    while s.undo_stack.can_undo():
        s.undo_stack.undo()
        assert not s.undo_stack.is_clean()
    assert seen[:3] == [False, True, False]


def test_macro_is_one_step_and_rolls_back_on_error():
    s = make_session()
    w = s.tier("words")
    before = snapshot(s)
    with s.undo_stack.macro("relabel all"):
        for a in list(w):
            s.undo_stack.push(Relabel("words", a.id, a.label.upper()))
    assert len(s.undo_stack) == 1 and [a.label for a in w] == ["HELLO", "WORLD", "AGAIN"]
    s.undo_stack.undo()
    assert snapshot(s) == before
    with pytest.raises(ValueError):
        with s.undo_stack.macro("bad"):
            s.undo_stack.push(Relabel("words", w[0].id, "zz"))
            s.undo_stack.push(MoveBoundary("words", w[0].id, "end", -5.0))
    assert snapshot(s) == before and len(s.undo_stack) == 1


def test_failed_command_changes_nothing():
    s = make_session()
    before = snapshot(s)
    for bad in (
        SplitInterval("words", s.tier("words")[0].id, 5.0),
        AddAnnotation("words", Interval(0.5, 1.5, "overlap")),
        RenameTier("words", "utt"),
        AddTier(IntervalTier("words")),
        MergeIntervals("words", s.tier("words")[2].id),
        DeleteAnnotation("words", "no-such-id"),
        SetTierProperty("words", "parent", "words"),
    ):
        with pytest.raises((ValueError, KeyError)):
            s.undo_stack.push(bad)
    assert snapshot(s) == before and len(s.undo_stack) == 0


# --- property: any sequence of valid edits undoes back to the start --------------------------
edit = st.tuples(
    st.sampled_from(["add", "del", "move", "split", "merge", "relabel"]), st.floats(0, 1), st.floats(0, 1)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(edit, min_size=1, max_size=25))
def test_random_edit_sequences_undo_to_start_and_redo_to_end(edits):
    s = make_session()
    stack = s.undo_stack
    start = snapshot(s)
    for kind, u, v in edits:
        w = s.tier("words")
        try:
            if kind == "add":
                t0 = u * 5
                stack.push(AddAnnotation("words", Interval(t0, t0 + 0.01 + v, "n")))
            elif len(w) == 0:
                continue
            else:
                a = w[int(u * len(w)) % len(w)]
                if kind == "del":
                    stack.push(DeleteAnnotation("words", a.id))
                elif kind == "move":
                    stack.break_merge() if v > 0.5 else None
                    stack.push(
                        MoveBoundary(
                            "words", a.id, "start" if v < 0.5 else "end", a.start + (a.end - a.start) * v
                        )
                    )
                elif kind == "split":
                    stack.push(
                        SplitInterval("words", a.id, a.start + (a.end - a.start) * max(min(v, 0.99), 0.01))
                    )
                elif kind == "merge":
                    stack.push(MergeIntervals("words", a.id))
                else:
                    stack.push(Relabel("words", a.id, f"l{v:.2f}"))
        except ValueError:
            pass
        w = s.tier("words")
        assert all(x.end <= y.start for x, y in zip(w, w[1:]))  # never overlapping
    end = snapshot(s)
    while stack.can_undo():
        stack.undo()
    assert snapshot(s) == start
    while stack.can_redo():
        stack.redo()
    assert snapshot(s) == end


def test_warp_path_maps_both_ways():
    from studio.core import WarpPath

    w = WarpPath([[0, 0], [1, 2], [2, 2], [3, 5]], "a", "b")
    assert w.map(0.5) == pytest.approx(1.0)
    assert w.inverse_map(2.0) == pytest.approx(1.5)  # middle of the vertical step
    assert np.allclose(w.map([4.0, -1.0]), [6.0, -1.0])  # slope-1 extrapolation
    with pytest.raises(ValueError, match="not monotonic at pair 2"):
        WarpPath([[0, 0], [1, 1], [0.5, 2]])


def test_a_dropped_session_is_freed_without_the_cycle_collector(tmp_path, monkeypatch):
    """No reference cycles through the stack or the journal: closing a big session frees it at once."""
    import gc
    import weakref

    from studio.io.journal import Journal

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    s = make_session()
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "x"))
    Journal.for_new_session(s)
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "y"))
    ref = weakref.ref(s)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del s
        assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_a_person_correcting_a_model_annotation_makes_it_certain():
    """Relabelling or moving an annotation that has a confidence (a model's, an aligner's) sets it
    to 1, so it leaves the review queue and counts when retraining; undo gives it back."""
    s = Session(
        [
            IntervalTier(
                "pred", [Interval(0, 1, "speech", confidence=0.4), Interval(1, 2, "x", confidence=0.7)]
            )
        ]
    )
    a, b = s.tier("pred")[0].id, s.tier("pred")[1].id
    s.undo_stack.push(Relabel("pred", a, "laugh"))
    assert s.tier("pred")[0].confidence == 1.0 and s.tier("pred")[0].label == "laugh"
    s.undo_stack.push(MoveBoundary("pred", b, "end", 1.8))
    assert s.tier("pred")[1].confidence == 1.0
    s.undo_stack.undo()
    s.undo_stack.undo()
    assert [iv.confidence for iv in s.tier("pred")] == [0.4, 0.7]
    s.undo_stack.push(AddAnnotation("pred", Interval(3, 4, "human")))  # no confidence: stays None
    s.undo_stack.push(Relabel("pred", s.tier("pred")[2].id, "person"))
    assert s.tier("pred")[2].confidence is None
