"""The review queue: low-confidence and missing words of a tier, lowest first, following edits."""

from __future__ import annotations

from studio.core.annotations import Interval
from studio.core.commands import AddTier, ReplaceAnnotation
from studio.core.editing import review_items
from studio.core.session import Session
from studio.core.tiers import IntervalTier
from studio.qt.review_panel import ReviewPanel

CONF = [("set", 0.9), ("white", 0.2), ("with", 0.05), ("p", 0.7), ("two", 0.4), ("soon", None)]


def words() -> IntervalTier:
    t = IntervalTier("words")
    for k, (w, c) in enumerate(CONF):
        t.insert(Interval(k * 0.3, k * 0.3 + 0.25, w, confidence=c))
    t.insert(Interval(2.0, 2.01, "please", confidence=0.0, attrs={"missing": True}))
    return t


def test_review_items_order():
    got = [a.label for a in review_items(words(), 0.5)]
    assert got == ["please", "with", "white", "two"]  # missing first, then lowest confidence
    assert [a.label for a in review_items(words(), 0.95)] == ["please", "with", "white", "two", "p", "set"]
    assert review_items(IntervalTier("empty")) == []


def test_panel_lists_walks_and_follows_edits(qtbot):
    s = Session([IntervalTier("notes")])
    panel = ReviewPanel(s)
    qtbot.addWidget(panel)
    assert panel.tier_box.count() == 0  # no tier with confidences yet
    s.undo_stack.push(AddTier(words()))  # an alignment arrives
    assert panel.tier_box.currentText() == "words"
    labels = lambda: [panel.list.topLevelItem(i).text(1) for i in range(panel.list.topLevelItemCount())]  # noqa: E731
    assert labels() == ["please", "with", "white", "two"]
    assert panel.list.topLevelItem(0).text(0) == "missing" and panel.count.text() == "4 of 7 to review"
    with qtbot.waitSignal(panel.activated) as sig:
        first = panel.next_item()
    assert sig.args == ["words", first] and s.tier("words").get(first).label == "please"
    assert s.tier("words").get(panel.next_item()).label == "with"
    # the annotator corrects "with": confidence 1 takes it off the queue, the selection stays on "with"'s place
    with_id = panel.current_id()
    s.undo_stack.push(ReplaceAnnotation("words", with_id, confidence=1.0))
    qtbot.waitUntil(lambda: labels() == ["please", "white", "two"], timeout=2000)
    panel.threshold.setValue(0.1)
    assert labels() == ["please"]
    s.undo_stack.undo()
    panel.threshold.setValue(0.5)
    qtbot.waitUntil(lambda: labels() == ["please", "with", "white", "two"], timeout=2000)
    assert panel.next_item(-1) is not None
