from __future__ import annotations

import math

import numpy as np
import pytest

from studio.core import CurveTier, Interval, IntervalTier, Point, PointTier


def test_interval_validates_times_and_names_them():
    with pytest.raises(ValueError, match=r"start 2\.000000 s is not before end 1\.000000 s"):
        Interval(2.0, 1.0, "x")
    with pytest.raises(ValueError, match="not a finite time"):
        Interval(math.nan, 1.0)
    with pytest.raises(ValueError, match="finite"):
        Interval(0.0, math.inf)
    with pytest.raises(ValueError, match="not a number"):
        Interval("abc", 1.0)
    with pytest.raises(ValueError, match="confidence"):
        Interval(0, 1, confidence=1.5)
    assert Interval(0, 1).start == 0.0 and isinstance(Interval(0, 1).start, float)


def test_annotations_are_immutable_and_replace_keeps_id():
    a = Interval(0.0, 1.0, "a")
    with pytest.raises(AttributeError):
        a.label = "b"  # type: ignore[misc]
    b = a.replace(label="b")
    assert b.id == a.id and b.label == "b" and a.label == "a"
    assert Interval.from_list(b.to_list()) == b
    p = Point(1.5, "peak", confidence=0.5, source="model", attrs={"k": 1})
    assert Point.from_list(p.to_list()) == p


def test_interval_tier_sorts_and_rejects_overlap_naming_tier_and_times():
    t = IntervalTier("words", [Interval(2, 3, "c"), Interval(0, 1, "a")])
    assert [a.label for a in t] == ["a", "c"]
    with pytest.raises(ValueError, match=r"tier 'words': interval 'b' \[0\.500000, 2\.500000\] overlaps"):
        t.insert(Interval(0.5, 2.5, "b"))
    assert len(t) == 2  # nothing changed
    t.insert(Interval(1, 2, "b"))  # touching is fine
    assert [a.label for a in t] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="overlaps"):
        IntervalTier("bad", [Interval(0, 2), Interval(1, 3)])


def test_interval_tier_queries():
    t = IntervalTier("w", [Interval(i, i + 0.5, str(i)) for i in range(10)])
    assert t.at(3.2).label == "3"
    assert t.at(3.7) is None
    assert [a.label for a in t.in_range(2.6, 4.1)] == ["3", "4"]
    assert [a.label for a in t.in_range(2.4, 2.45)] == ["2"]
    prev, nxt = t.neighbours(t.at(5.0))
    assert (prev.label, nxt.label) == ("4", "6")
    assert t.boundaries()[:3].tolist() == [0.0, 0.5, 1.0]
    assert t.time_range() == (0.0, 9.5)


def test_replace_that_would_overlap_leaves_tier_unchanged():
    t = IntervalTier("w", [Interval(0, 1, "a"), Interval(2, 3, "b")])
    a = t[0]
    with pytest.raises(ValueError, match="overlaps"):
        t.replace(a, a.replace(end=2.5))
    assert t[0] is a and len(t) == 2 and t.index(a) == 0


def test_overlapping_tier_allowed_when_declared():
    t = IntervalTier("subs", [Interval(0, 2, "a"), Interval(1, 3, "b")], allow_overlap=True)
    assert t.time_range() == (0.0, 3.0)
    assert [a.label for a in t.in_range(2.5, 2.6)] == ["b"]


def test_events_fire_on_edits():
    t = IntervalTier("w")
    seen = []
    t.inserted.connect(lambda tier, i, a: seen.append(("ins", i, a.label)))
    t.removed.connect(lambda tier, i, a: seen.append(("rem", i, a.label)))
    t.replaced.connect(lambda tier, i, old, new: seen.append(("rep", i, new.label)))
    a = Interval(0, 1, "a")
    t.insert(a)
    t.replace(a, a.replace(label="A"))
    t.remove(a.id)
    assert seen == [("ins", 0, "a"), ("rep", 0, "A"), ("rem", 0, "A")]


def test_point_tier():
    t = PointTier("peaks", [Point(2.0, "b"), Point(1.0, "a")])
    assert [p.label for p in t] == ["a", "b"]
    assert t.at(1.05, tolerance=0.1).label == "a"
    assert t.at(1.5, tolerance=0.1) is None
    with pytest.raises(TypeError):
        t.insert(Interval(0, 1))


def test_curve_tier_rate_and_times():
    c = CurveTier("conf", np.linspace(0, 1, 11), rate=10.0, start=1.0)
    assert c.time_range() == (1.0, pytest.approx(2.1))
    assert c.value_at(1.05) == pytest.approx(0.05)
    assert math.isnan(c.value_at(0.0))
    with pytest.raises(ValueError, match="must increase"):
        CurveTier("bad", [1, 2, 3], times=[0, 2, 1])
    with pytest.raises(ValueError, match="either a sample rate or a time"):
        CurveTier("bad", [1, 2, 3])
    with pytest.raises(ValueError):
        c.values[0] = 5  # read-only view


def test_auto_overlap_is_decided_by_the_intervals_given():
    assert IntervalTier("a", [Interval(0, 2), Interval(1, 3)], allow_overlap="auto").allow_overlap is True
    t = IntervalTier("b", [Interval(2, 3), Interval(0, 1)], allow_overlap="auto")
    assert t.allow_overlap is False
    with pytest.raises(ValueError, match="overlaps"):
        t.insert(Interval(0.5, 2.5))
