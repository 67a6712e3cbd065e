"""Tier to tier alignment (studio.align.tiers) on real annotations: the GRID demo's word alignment,
AMI speaker turns, and long word tiers in GRID's grammar with known edits."""

import random
import time
from pathlib import Path

import numpy as np
import pytest

from studio.align.tiers import CONF_INTERPOLATED, align_tiers, align_tiers_task
from studio.core.annotations import Interval
from studio.core.editing import review_items
from studio.core.tiers import IntervalTier, PointTier
from studio.io.rttm import read_rttm
from studio.tasks.base import Progress

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def grid_words():
    """The demo clip's word alignment (GRID corpus, times in 1/25000 s), silences included."""
    rows = [line.split() for line in (ROOT / "resources/demo/swwp2s.align").read_text().splitlines() if line]
    return IntervalTier("words", [Interval(int(s) / 25000, int(e) / 25000, w) for s, e, w in rows])


def spoken(tier):
    return [iv for iv in tier if iv.label != "sil"]


def test_utterance_transcript_takes_word_times(grid_words):
    # one rough interval for the whole corrected sentence, with a digit and punctuation
    a = IntervalTier("transcript", [Interval(0.0, 3.0, "Set white with P 2 soon.")])
    r = align_tiers(a, grid_words)
    assert r.summary["split_a"] and not r.summary["split_b"]
    assert [p[2] for p in r.pairs] == ["match"] * 6  # "2" is spoken "two"; "sil" is skipped
    ref = spoken(grid_words)
    assert [iv.label for iv in r.timed] == ["Set", "white", "with", "P", "2", "soon"]
    assert [(iv.start, iv.end) for iv in r.timed] == [(w.start, w.end) for w in ref]
    assert all(iv.confidence == 1.0 and iv.attrs["a_index"] == 0 for iv in r.timed)
    assert r.timed.name == "transcript timed by words"
    # the warp takes the transcript's start and end to the first and last word's
    assert r.warp.map(0.0) == pytest.approx(ref[0].start)
    assert r.warp.map(3.0) == pytest.approx(ref[-1].end)
    # without splitting the one label cannot match any single word
    r2 = align_tiers(a, grid_words, split_words=False)
    assert len(r2.timed) == 1 and r2.summary["matched"] == 0


def test_word_edits_give_ops_times_and_confidence(grid_words):
    ref = spoken(grid_words)
    # the corrected transcript: "white" misspelt, "with" left out, "blue" added, made-up equal times
    labels = ["set", "whit", "p", "blue", "two", "soon"]
    a = IntervalTier("A", [Interval(float(k), k + 1.0, w) for k, w in enumerate(labels)])
    r = align_tiers(a, grid_words)
    ops = [(None if i is None else r.a_units[i].label, None if j is None else r.b_units[j].label, op)
           for i, j, op, _ in r.pairs]  # fmt: skip
    assert ops == [
        ("set", "set", "match"),
        ("whit", "white", "substitution"),
        (None, "with", "insertion"),
        ("p", "p", "match"),
        ("blue", None, "deletion"),
        ("two", "two", "match"),
        ("soon", "soon", "match"),
    ]
    s = r.summary
    assert (s["matched"], s["substituted"], s["inserted"], s["deleted"], s["interpolated"]) == (4, 1, 1, 1, 1)
    timed = {iv.label: iv for iv in r.timed}
    by_word = {w.label: w for w in ref}
    for w in ("set", "two", "soon"):
        assert (timed[w].start, timed[w].end) == (by_word[w].start, by_word[w].end)
    assert all(timed[w].confidence == 1.0 for w in ("set", "p", "two", "soon"))
    assert (timed["whit"].start, timed["whit"].end) == (by_word["white"].start, by_word["white"].end)
    assert timed["whit"].attrs == {"op": "substitution", "a_index": 1, "b_label": "white"}
    # "blue" fills the gap between "p" and "two" -- which touch, so it shares "p"'s span, by length
    assert by_word["p"].start == timed["p"].start < timed["p"].end == timed["blue"].start
    assert timed["blue"].end == by_word["two"].start == by_word["p"].end
    assert timed["blue"].duration == pytest.approx(4 * timed["p"].duration)
    assert timed["blue"].attrs["op"] == "squeezed"
    assert 1.0 > timed["whit"].confidence > CONF_INTERPOLATED > timed["blue"].confidence > 0
    # the review queue lists the squeezed word (under 0.5), not the near-miss substitution
    assert review_items(r.timed) == [timed["blue"]]


def test_deleted_word_with_room_is_interpolated_by_length(grid_words):
    ref = spoken(grid_words)
    # B: an ASR tier that lost "with" and "p" (a gap between "white" and "two")
    b = IntervalTier("asr", [w for w in ref if w.label not in ("with", "p")])
    a = IntervalTier("tx", [Interval(0.0, 3.0, "set white with p two soon")])
    r = align_tiers(a, b)
    assert [p[2] for p in r.pairs].count("deletion") == 2
    timed = {iv.label: iv for iv in r.timed}
    lo, hi = timed["white"].end, timed["two"].start
    assert (lo, hi) == (ref[1].end, ref[4].start)
    assert timed["with"].start == lo and timed["p"].end == hi and timed["with"].end == timed["p"].start
    # shared in proportion to label length: "with" (4) gets 4 times "p" (1)
    assert timed["with"].duration == pytest.approx(4 * timed["p"].duration)
    assert timed["with"].confidence == CONF_INTERPOLATED and timed["with"].attrs["op"] == "interpolated"


def test_asr_tier_with_utterance_reference_and_shifted_times(grid_words):
    # B at the true times; A = the same words, each 80 ms late: the boundaries differ by 80 ms
    b = IntervalTier("b", spoken(grid_words))
    a = IntervalTier("a", [iv.replace(start=iv.start + 0.08, end=iv.end + 0.08) for iv in spoken(grid_words)])
    r = align_tiers(a, b)
    assert r.summary["matched"] == 6
    assert r.summary["boundary_median"] == pytest.approx(0.08)
    assert r.warp.map(np.array([w.start + 0.08 for w in b])) == pytest.approx([w.start for w in b])
    assert (
        "6 matched, 0 substituted, 0 inserted, 0 deleted; boundaries differ by 80 ms median" == r.describe()
    )


def grid_sentences(n, seed):
    rng = random.Random(seed)
    slots = [
        ["bin", "lay", "place", "set"],
        ["blue", "green", "red", "white"],
        ["at", "by", "in", "with"],
        list("abcdefghijklmnopqrstuvxyz"),
        "zero one two three four five six seven eight nine".split(),
        ["again", "now", "please", "soon"],
    ]
    words = []
    while len(words) < n:
        words += [rng.choice(s) for s in slots]
    t, out = 0.0, []
    for w in words[:n]:
        d = rng.uniform(0.1, 0.5)
        out.append(Interval(t, t + d, w))
        t += d + rng.choice([0.0, 0.05])
    return out


def test_ten_thousand_words_with_known_edits():
    # a small repeated vocabulary (GRID's 51 words) is the hard case: exact matches are everywhere
    b_items = grid_sentences(10_000, seed=3)
    labels, subs, dels, ins = [], set(), set(), set()
    for k, iv in enumerate(b_items):
        if k % 20 == 3:
            labels.append(iv.label + "s")
            subs.add(k)
        elif k % 20 == 9:
            ins.add(k)  # in B, not in A
        elif k % 20 == 15:
            labels += [iv.label, f"zq{k}"]
            dels.add(k)
        else:
            labels.append(iv.label)
    a = IntervalTier("A", [Interval(k * 1.0, k + 1.0, w) for k, w in enumerate(labels)])
    b = IntervalTier("B", b_items)
    t0 = time.perf_counter()
    r = align_tiers(a, b)
    took = time.perf_counter() - t0
    assert took < 10.0, took
    s = r.summary
    assert (s["matched"], s["substituted"], s["inserted"], s["deleted"]) == (9000, 500, 500, 500)
    got_subs = {j for i, j, op, _ in r.pairs if op == "substitution"}
    got_ins = {j for i, j, op, _ in r.pairs if op == "insertion"}
    assert got_subs == subs and got_ins == ins
    assert all(r.a_units[i].label.startswith("zq") for i, j, op, _ in r.pairs if op == "deletion")
    # every matched word carries B's times (or shares them with an added word squeezed in after it)
    for i, j, op, _ in r.pairs:
        if op == "match":
            t, v = r.timed[i], b_items[j]
            if i + 1 < len(r.timed) and r.timed[i + 1].attrs["op"] == "squeezed":
                assert (t.start, r.timed[i + 1].end) == (v.start, v.end) and t.end < v.end
            else:
                assert (t.start, t.end) == (v.start, v.end)
    assert sum(iv.attrs["op"] == "squeezed" for iv in r.timed) > 100  # words that touch leave no gap
    assert len(r.timed) == len(labels)


def test_a_stretch_missing_from_one_tier():
    # A (the transcript) lacks the first 1500 words B has: they are insertions, nothing else moves
    b_items = grid_sentences(6000, seed=4)
    a = IntervalTier("A", [iv.replace(start=iv.start + 9.0, end=iv.end + 9.0) for iv in b_items[1500:]])
    r = align_tiers(a, IntervalTier("B", b_items))
    s = r.summary
    assert (s["matched"], s["substituted"], s["inserted"], s["deleted"]) == (4500, 0, 1500, 0)
    assert [j for i, j, op, _ in r.pairs if op == "insertion"] == list(range(1500))
    assert s["boundary_median"] == pytest.approx(9.0)


def test_sentence_transcript_against_long_word_tier():
    b_items = grid_sentences(1200, seed=5)
    words = [iv.label for iv in b_items]
    words[100] = "read"  # one wrong word in the reference: a substitution
    a = IntervalTier(
        "tx", [Interval(k * 2.0, k * 2.0 + 1.5, " ".join(words[6 * k : 6 * k + 6])) for k in range(200)]
    )
    r = align_tiers(a, IntervalTier("asr", b_items))
    assert r.summary["split_a"] and len(r.timed) == 1200
    assert r.summary["matched"] == 1199 and r.summary["substituted"] == 1
    assert r.timed[100].attrs["op"] == "substitution" and r.timed[100].attrs["a_index"] == 16
    assert [(iv.start, iv.end) for iv in r.timed] == [(iv.start, iv.end) for iv in b_items]


def ami_turns(path):
    s = read_rttm(path)
    items = sorted((iv.replace(label=t.name.split("/")[1]) for t in s.tiers for iv in t if t.name.startswith("trn00")),
                   key=lambda iv: (iv.start, iv.end))  # fmt: skip
    return items


def test_times_mode_two_annotators_of_ami_turns():
    turns = ami_turns(ROOT / "tests/data/tabular/ami_debug_train.rttm")
    a = IntervalTier("annotator 1", turns, allow_overlap=True)
    assert a.allow_overlap  # AMI turns overlap
    rng = np.random.default_rng(0)
    shifts = rng.uniform(-0.04, 0.04, size=(len(turns), 2))
    b_items = [iv.replace(start=iv.start + s0, end=iv.end + s1) for iv, (s0, s1) in zip(turns, shifts)]
    b_items[2] = b_items[2].replace(label="MEE999")  # another speaker id: a substitution
    gone = b_items.pop(5)  # annotator 2 missed a turn
    # and added a turn far from any other
    b_items.append(Interval(31.0, 31.5, "MEE068"))
    b = IntervalTier("annotator 2", b_items, allow_overlap=True)
    r = align_tiers(a, b, by="times")
    s = r.summary
    assert s["inserted"] == 1 and s["deleted"] == 1 and s["substituted"] == 1
    assert s["matched"] == len(turns) - 2
    assert [r.a_units[i].start for i, j, op, _ in r.pairs if op == "deletion"] == [gone.start - shifts[5][0]]
    kept = np.delete(shifts, 5, axis=0)
    assert s["boundary_median"] == pytest.approx(np.median(np.abs(kept)), abs=1e-6)
    assert 0.8 < s["overlap"] < 1.0
    # A's labels on B's times, confidence = overlap for the matched turns
    t2 = [iv for iv in r.timed if iv.attrs["op"] == "match"][0]
    assert t2.confidence < 1.0 and t2.confidence > 0.8
    assert "1 inserted, 1 deleted; boundaries differ by" in r.describe()


def test_times_mode_one_to_many_split_segment(grid_words):
    ref = spoken(grid_words)
    # annotator A: one segment "set white"; annotator B: two segments
    a = IntervalTier("a", [Interval(ref[0].start, ref[1].end, "set white"), ref[2]])
    b = IntervalTier("b", ref[:3])
    r = align_tiers(a, b, by="times")
    assert sorted((i, j) for i, j, _, _ in r.pairs) == [(0, 0), (0, 1), (1, 2)]
    assert (r.timed[0].start, r.timed[0].end) == (ref[0].start, ref[1].end)
    assert r.timed[1].confidence == 1.0


def test_empty_and_wrong_tiers_name_the_tier(grid_words):
    with pytest.raises(ValueError, match=r"tier A \('nothing'\) has no labelled intervals"):
        align_tiers(IntervalTier("nothing"), grid_words)
    silent = IntervalTier("silent", [Interval(0.0, 1.0, "sil"), Interval(1.0, 2.0, "  ")])
    with pytest.raises(ValueError, match=r"tier B \('silent'\)"):
        align_tiers(grid_words, silent)
    with pytest.raises(ValueError, match="not an interval tier"):
        align_tiers(grid_words, PointTier("points"))
    with pytest.raises(ValueError, match="by must be"):
        align_tiers(grid_words, grid_words, by="frames")


def test_task_reports_progress(grid_words):
    gen = align_tiers_task(grid_words, grid_words)
    steps = []
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        result = stop.value
    assert all(isinstance(p, Progress) for p in steps) and steps[-1].fraction == 1.0
    fr = [p.fraction for p in steps]
    assert fr == sorted(fr)
    assert result.summary["matched"] == 6 and all(iv.confidence == 1.0 for iv in result.timed)
