"""The timeline's editing rules (studio.core.editing) on real sessions: each gesture's command,
what it does, and that undo restores the session exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio import io
from studio.core import (
    AddTier,
    ControlledVocabulary,
    Interval,
    IntervalTier,
    Point,
    PointTier,
    Session,
    SetTierProperty,
    VocabularyEntry,
    editing,
)
from studio.core.serialize import session_to_dict

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "demo.studio"


@pytest.fixture
def demo() -> Session:
    return io.read(DEMO)


def snapshot(s: Session) -> dict:
    d = session_to_dict(s)
    d.pop("metadata")
    return d


def spans(s: Session, tier: str) -> list[tuple[float, float, str]]:
    return [(round(a.start, 9), round(a.end, 9), a.label) for a in s.tier(tier)]


def apply_and_undo(s: Session, cmd) -> dict:
    """Push cmd; return the snapshot after it; check that undo restores the one before."""
    before = snapshot(s)
    s.undo_stack.push(cmd)
    after = snapshot(s)
    assert after != before
    s.undo_stack.undo()
    assert snapshot(s) == before
    s.undo_stack.redo()
    assert snapshot(s) == after
    return after


# --- creating --------------------------------------------------------------------------------
def test_create_interval_clips_to_the_largest_free_part(demo):
    # words cover 0.49..2.21; [0.2, 0.6] has 0.2..0.49 free
    cmd = editing.create_interval(demo, "words", 0.6, 0.2, "sil")
    apply_and_undo(demo, cmd)
    assert spans(demo, "words")[0] == (0.2, 0.49, "sil")
    # [0.3, 2.5]: 0.3..0.49 is now partly taken; 2.21..2.5 (0.29 s) is the larger free part
    cmd = editing.create_interval(demo, "words", 0.1, 2.5)
    assert (cmd.annotation.start, cmd.annotation.end) == (2.21, 2.5)
    # on a tier that may overlap, nothing is clipped
    demo.undo_stack.push(AddTier(IntervalTier("subs", [Interval(0, 2, "a")], allow_overlap=True)))
    cmd = editing.create_interval(demo, "subs", 1.0, 3.0, "b")
    assert (cmd.annotation.start, cmd.annotation.end) == (1.0, 3.0)


def test_create_interval_errors_name_the_tier_and_times(demo):
    with pytest.raises(ValueError, match=r"tier 'words': 0.500 s to 0.700 s is already covered"):
        editing.create_interval(demo, "words", 0.5, 0.7)
    with pytest.raises(ValueError, match=r"tier 'words'.*too short"):
        editing.create_interval(demo, "words", 2.5, 2.5004)
    demo.undo_stack.push(editing.create_interval(demo, "words", 2.21, 2.5))
    with pytest.raises(ValueError, match="shorter than 1 ms"):
        editing.create_interval(demo, "words", 2.4, 2.5004)  # only 0.4 ms free
    with pytest.raises(ValueError, match="no tier named 'nope'"):
        editing.create_interval(demo, "nope", 0, 1)
    demo.undo_stack.push(AddTier(PointTier("beats")))
    with pytest.raises(ValueError, match="'beats' is a point tier"):
        editing.create_interval(demo, "beats", 0, 1)


def test_create_point_refuses_a_second_point_at_the_same_time(demo):
    demo.undo_stack.push(AddTier(PointTier("beats", [Point(1.0, "x")])))
    apply_and_undo(demo, editing.create_point(demo, "beats", 1.5, "y"))
    assert [(p.time, p.label) for p in demo.tier("beats")] == [(1.0, "x"), (1.5, "y")]
    with pytest.raises(ValueError, match=r"tier 'beats': there is already a point \('x'\) at 1.000 s"):
        editing.create_point(demo, "beats", 1.0005)
    with pytest.raises(ValueError, match="'words' is a interval tier|'words' is an? interval tier"):
        editing.create_point(demo, "words", 1.0)


# --- split, merge, delete -----------------------------------------------------------------------
def test_split_keeps_the_label_on_the_left(demo):
    apply_and_undo(demo, editing.split_at(demo, "words", 0.6))
    assert spans(demo, "words")[:2] == [(0.49, 0.6, "set"), (0.6, 0.77, "")]
    assert demo.tier("words")[0].id == "w1"  # the left part keeps its identity
    with pytest.raises(ValueError, match=r"tier 'words': no interval at 2.500 s"):
        editing.split_at(demo, "words", 2.5)
    with pytest.raises(ValueError, match=r"too close to an edge of 'white' \[0.770 s, 1.090 s\]"):
        editing.split_at(demo, "words", 1.0897)


def test_merge_with_next_and_its_errors(demo):
    apply_and_undo(demo, editing.merge_with_next(demo, "words", "w1"))
    assert spans(demo, "words")[0] == (0.49, 1.09, "set white")
    with pytest.raises(ValueError, match="'soon'.*is the last interval"):
        editing.merge_with_next(demo, "words", "w6")
    with pytest.raises(ValueError, match="tier 'words' has no annotation with id 'zz'"):
        editing.merge_with_next(demo, "words", "zz")


def test_delete_and_undo(demo):
    apply_and_undo(demo, editing.delete(demo, "words", "w3"))
    assert [a.label for a in demo.tier("words")] == ["set", "white", "p", "two", "soon"]
    with pytest.raises(ValueError, match="no annotation with id 'w3'"):
        editing.delete(demo, "words", "w3")


# --- moving ----------------------------------------------------------------------------------
def test_move_boundary_moves_the_touching_neighbour(demo):
    cmd = editing.move_boundary(demo, "words", "w1", "end", 0.6)
    apply_and_undo(demo, cmd)
    assert spans(demo, "words")[:2] == [(0.49, 0.6, "set"), (0.6, 1.09, "white")]


def test_move_boundary_clamps_so_nothing_overlaps_or_vanishes(demo):
    w = demo.tier("words")
    # linked: the end of 'set' may go up to 1 ms before the end of 'white'
    assert editing.move_boundary(demo, "words", "w1", "end", 5.0).time == pytest.approx(1.089)
    # the first interval's start has no neighbour: free to the left, keeps 1 ms to the right
    assert editing.move_boundary(demo, "words", "w1", "start", 0.0).time == 0.0
    assert editing.move_boundary(demo, "words", "w1", "start", 0.9).time == pytest.approx(0.769)
    # a neighbour that does not touch is a wall (delete 'with' to open a gap)
    demo.undo_stack.push(editing.delete(demo, "words", "w3"))
    cmd = editing.move_boundary(demo, "words", "w2", "end", 1.5)
    assert cmd.time == w.get("w4").start == 1.22
    apply_and_undo(demo, cmd)
    assert spans(demo, "words")[1:3] == [(0.77, 1.22, "white"), (1.22, 1.44, "p")]
    cmd = editing.move_boundary(demo, "words", "w4", "start", 1.0)  # now linked to 'white'
    apply_and_undo(demo, cmd)
    assert spans(demo, "words")[1:3] == [(0.77, 1.0, "white"), (1.0, 1.44, "p")]
    with pytest.raises(ValueError, match="edge must be 'start' or 'end'"):
        editing.move_boundary(demo, "words", "w1", "middle", 1.0)


def test_move_boundary_on_an_overlapping_tier_ignores_neighbours(demo):
    demo.undo_stack.push(
        AddTier(IntervalTier("subs", [Interval(0, 1, "a"), Interval(1, 2, "b")], allow_overlap=True))
    )
    a = demo.tier("subs")[0]
    cmd = editing.move_boundary(demo, "subs", a.id, "end", 1.5)
    assert cmd.time == 1.5
    apply_and_undo(demo, cmd)
    assert spans(demo, "subs") == [(0.0, 1.5, "a"), (1.0, 2.0, "b")]


def test_move_point_is_clamped_between_its_neighbours(demo):
    demo.undo_stack.push(AddTier(PointTier("beats", [Point(1.0, "a"), Point(2.0, "b"), Point(3.0, "c")])))
    b = demo.tier("beats")[1]
    assert editing.move_point(demo, "beats", b.id, 0.2).time == pytest.approx(1.001)
    cmd = editing.move_point(demo, "beats", b.id, 2.5)
    apply_and_undo(demo, cmd)
    assert [p.time for p in demo.tier("beats")] == [1.0, 2.5, 3.0]
    with pytest.raises(ValueError, match="'words' is a interval tier|'words' is an? interval tier"):
        editing.move_point(demo, "words", "w1", 1.0)


# --- segmentation ----------------------------------------------------------------------------
def test_segmenter_one_keystroke_per_boundary(demo):
    demo.undo_stack.push(AddTier(IntervalTier("seg")))
    seg = editing.Segmenter(lag=0.2)
    assert seg.mark(demo, "seg", 1.0) is None
    assert seg.open_at == pytest.approx(0.8)
    cmd = seg.mark(demo, "seg", 1.5)
    apply_and_undo(demo, cmd)
    cmd = seg.mark(demo, "seg", 2.0)  # the boundary closed one segment and opened the next
    demo.undo_stack.push(cmd)
    assert spans(demo, "seg") == [(0.8, 1.3, ""), (1.3, 1.8, "")]
    with pytest.raises(ValueError, match="too close to the open one at 1.800 s"):
        seg.mark(demo, "seg", 2.0005)
    assert seg.open_at == pytest.approx(1.8)  # a double tap leaves the segment open where it was
    seg.cancel()
    assert not seg.is_open and seg.mark(demo, "seg", 3.0) is None
    demo.undo_stack.push(seg.finish(demo, 3.4))
    assert spans(demo, "seg")[-1] == (2.8, 3.2, "") and not seg.is_open
    assert seg.finish(demo, 4.0) is None


def test_segmenter_on_a_covered_tier_reports_and_stays_usable(demo):
    seg = editing.Segmenter(lag=0.0)
    seg.mark(demo, "words", 0.5)
    with pytest.raises(ValueError, match="tier 'words': 0.500 s to 0.700 s is already covered"):
        seg.mark(demo, "words", 0.7)
    cmd = seg.mark(demo, "words", 2.6)  # the next segment opened at 0.7; clipped to the free end
    assert (cmd.annotation.start, cmd.annotation.end) == (2.21, 2.6)
    with pytest.raises(ValueError, match="lag"):
        editing.Segmenter(lag=-1)


# --- snapping and navigation -----------------------------------------------------------------
def test_boundary_times_and_snap(demo):
    assert editing.boundary_times(demo, exclude_tier="words").tolist() == [0.49, 2.21]
    b = editing.boundary_times(demo)
    assert b.tolist() == [0.49, 0.77, 1.09, 1.22, 1.44, 1.73, 2.21]
    assert editing.snap(1.1, b, 0.02) == 1.09
    assert editing.snap(1.16, b, 0.1) == 1.22  # the nearer of two within reach
    assert editing.snap(1.15, b, 0.1) == 1.09
    assert editing.snap(1.155, b, 0.05) is None
    assert editing.snap(1.0, np.empty(0), 1.0) is None
    assert editing.boundary_times(Session()).size == 0


def test_zero_crossing_near_finds_the_nearest_sign_change():
    sr = 16000
    t_start = 1.0
    n = np.arange(sr // 10)
    x = np.sin(2 * np.pi * 100 * n / sr + 0.3)  # crossings where 100 t + 0.3/(2 pi) is a multiple of 1/2
    crossings = t_start + (np.arange(0, 20) / 200 - 0.3 / (2 * np.pi * 100))
    crossings = crossings[crossings > t_start]
    t = 1.0123
    expected = crossings[np.argmin(np.abs(crossings - t))]
    got = editing.zero_crossing_near(x, sr, t_start, t, 0.004)
    assert got == pytest.approx(expected, abs=1.0 / sr)
    assert editing.zero_crossing_near(x, sr, t_start, t, 0.0005) is None
    stereo = np.stack([x, x], axis=1)
    assert editing.zero_crossing_near(stereo, sr, t_start, t, 0.004) == got
    assert editing.zero_crossing_near(np.ones(100), sr, 0.0, 0.003, 0.002) is None


def test_next_boundary_and_neighbour(demo):
    w = demo.tier("words")
    assert editing.next_boundary(w, 0.77, +1) == 1.09
    assert editing.next_boundary(w, 0.77, -1) == 0.49
    assert editing.next_boundary(w, 0.0, -1) is None
    assert editing.next_boundary(w, 2.21, +1) is None
    assert editing.neighbour_annotation(w, "w2", +1).id == "w3"
    assert editing.neighbour_annotation(w, "w1", -1) is None
    with pytest.raises(ValueError):
        editing.next_boundary(w, 1.0, 0)


# --- search and completion -------------------------------------------------------------------
def test_search_plain_regex_case_and_tiers(demo):
    got = [(m.tier, m.annotation_id, m.label) for m in editing.search(demo, "W")]
    assert got == [
        ("transcript", "u1", "set white with p two soon"),
        ("words", "w2", "white"),
        ("words", "w3", "with"),
        ("words", "w5", "two"),
    ]
    m = editing.search(demo, "^s", regex=True)
    assert [(x.tier, x.annotation_id) for x in m] == [("transcript", "u1"), ("words", "w1"), ("words", "w6")]
    assert (m[2].start, m[2].end) == (1.73, 2.21)
    assert editing.search(demo, "W", case=True) == []
    assert [x.annotation_id for x in editing.search(demo, "s", tiers=["words"])] == ["w1", "w6"]
    assert editing.search(demo, "") == []
    with pytest.raises(ValueError, match=r"bad regular expression '\(unclosed'"):
        editing.search(demo, "(unclosed", regex=True)
    with pytest.raises(ValueError, match="no tier named 'zz'"):
        editing.search(demo, "a", tiers=["zz"])


def test_completions_vocabulary_first_then_used_labels_by_frequency(demo):
    for t, label in [(2.3, "two"), (2.5, "Too"), (2.7, "two")]:
        demo.undo_stack.push(editing.create_interval(demo, "words", t, t + 0.1, label))
    assert editing.completions(demo, "words", "t") == ["two", "Too"]  # 'two' 3 times, 'Too' once
    assert editing.completions(demo, "words", "T") == ["two", "Too"]
    assert editing.completions(demo, "words", "x") == []
    demo.vocabularies["lex"] = ControlledVocabulary(
        "lex", [VocabularyEntry(v) for v in ("twelve", "Two", "ten")]
    )
    demo.undo_stack.push(SetTierProperty("words", "vocabulary", "lex"))
    assert editing.completions(demo, "words", "tw") == ["twelve", "Two", "two"]
    assert editing.completions(demo, "words", "")[:4] == ["twelve", "Two", "ten", "two"]
    assert "" not in editing.completions(demo, "words", "")
