"""The banded Viterbi of `studio.align.phone_hmm` against brute force, and its edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from studio.align.phone_hmm import viterbi_segments


def brute(emit, classes, optional, mins, lo=None, hi=None, skips=()):
    T, G = emit.shape[0], len(classes)
    lo = [0] * G if lo is None else lo
    hi = [T] * G if hi is None else hi
    group_of = {g: i for i, (f, e, _) in enumerate(skips) for g in range(f, e + 1)}
    best, arg = -np.inf, None
    for durs in itertools.product(range(T + 1), repeat=G):
        if sum(durs) != T:
            continue
        if any(0 < d < m for d, m in zip(durs, mins)):
            continue
        left_out = set()
        ok = True
        for g, d in enumerate(durs):
            if d == 0 and not optional[g]:
                if g not in group_of:
                    ok = False
                    break
                left_out.add(group_of[g])
        if not ok or any(any(durs[g] for g in range(skips[i][0], skips[i][1] + 1)) for i in left_out):
            continue
        # a run of empty segments holds at most one left-out group
        run_groups, ok2 = set(), True
        for g, d in enumerate(durs + (1,)):
            if d == 0 and g in group_of:
                run_groups.add(group_of[g])
                if len(run_groups) > 1:
                    ok2 = False
            elif d:
                run_groups = set()
        if not ok2:
            continue
        t, score, ok, spans = 0, -sum(skips[i][2] for i in left_out), True, []
        for g, d in enumerate(durs):
            if d and (t < lo[g] or t + d > hi[g]):
                ok = False
                break
            score += float(emit[t : t + d, classes[g]].sum())
            spans.append((t, t + d))
            t += d
        if ok and score > best:
            best, arg = score, spans
    return best, arg


@pytest.mark.parametrize("seed", range(40))
def test_viterbi_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(4, 10))
    C = 4
    emit = rng.normal(size=(T, C)).astype(np.float32)
    # chain: optional silence, 1-2 phones, optional silence, 1 phone, (optional silence)
    classes = [0, int(rng.integers(1, C)), int(rng.integers(1, C)), 0, int(rng.integers(1, C))]
    optional = [True, False, False, True, False]
    if rng.random() < 0.5:
        classes.append(0)
        optional.append(True)
    mins = [1 if o else int(rng.integers(1, 3)) for o in optional]
    lo = hi = None
    if seed % 3 == 0:
        lo = [0] * len(classes)
        hi = [T] * len(classes)
        lo[-1 if not optional[-1] else -2] = T // 2
        hi[1] = T // 2 + 1
    best, spans = brute(emit, classes, optional, mins, lo, hi)
    if spans is None:
        with pytest.raises(ValueError, match="no alignment fits"):
            viterbi_segments(emit, np.array(classes), np.array(optional), np.array(mins), lo, hi)
        return
    starts, ends, score = viterbi_segments(
        emit, np.array(classes), np.array(optional), np.array(mins), lo, hi
    )
    assert score == pytest.approx(best, abs=1e-4)
    got = [(int(a), int(b)) for a, b in zip(starts, ends)]
    # equal-score ties may differ; the path's own score must be the best
    total = sum(float(emit[a:b, c].sum()) for (a, b), c in zip(got, classes))
    assert total == pytest.approx(best, abs=1e-4)
    for (a, b), o, m in zip(got, optional, mins):
        assert b >= a and (b - a >= m or (o and a == b))
    assert got[0][0] == 0 and got[-1][1] == T
    assert all(got[i][1] == got[i + 1][0] for i in range(len(got) - 1))


@pytest.mark.parametrize("seed", range(24))
def test_viterbi_with_word_skips_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    T = int(rng.integers(3, 8))
    emit = rng.normal(size=(T, 4)).astype(np.float32) * 2
    # [sil] w0(1-2 phones) [sil] w1(1 phone) [sil] w2(1 phone) [sil]
    n0 = int(rng.integers(1, 3))
    classes = (
        [0]
        + [int(c) for c in rng.integers(1, 4, n0)]
        + [0, int(rng.integers(1, 4)), 0, int(rng.integers(1, 4)), 0]
    )
    optional = [True] + [False] * n0 + [True, False, True, False, True]
    mins = [1 if o else int(rng.integers(1, 3)) for o in optional]
    w0 = (1, n0, float(rng.uniform(0, 4)))
    w1 = (n0 + 2, n0 + 2, float(rng.uniform(0, 4)))
    w2 = (n0 + 4, n0 + 4, float(rng.uniform(0, 4)))
    skips = [w0, w1, w2]
    best, spans = brute(emit, classes, optional, mins, skips=skips)
    starts, ends, score = viterbi_segments(
        emit, np.array(classes), np.array(optional), np.array(mins), skips=skips
    )
    assert score == pytest.approx(best, abs=1e-4)
    got = [(int(a), int(b)) for a, b in zip(starts, ends)]
    left = [i for i, (f, e, _) in enumerate(skips) if all(got[g][0] == got[g][1] for g in range(f, e + 1))]
    total = sum(float(emit[a:b, c].sum()) for (a, b), c in zip(got, classes)) - sum(skips[i][2] for i in left)
    assert total == pytest.approx(best, abs=1e-4)


def test_a_word_that_is_not_there_is_left_out():
    T = 40
    emit = np.full((T, 4), -6.0, np.float32)
    emit[:10, 1] = 0  # word a
    emit[10:20, 0] = 0  # pause
    emit[20:, 3] = 0  # word c; word b (class 2) is nowhere
    classes = np.array([0, 1, 0, 2, 2, 0, 3, 0])
    optional = np.array([True, False, True, False, False, True, False, True])
    mins = np.where(optional, 1, 3)
    starts, ends, _ = viterbi_segments(emit, classes, optional, mins, skips=[(3, 4, 10.0)])
    assert starts[3] == ends[3] and starts[4] == ends[4]
    assert (starts[6], ends[6]) == (20, 40)
    starts, ends, _ = viterbi_segments(emit, classes, optional, mins, skips=[(3, 4, 1000.0)])
    assert ends[4] - starts[3] >= 6  # too dear to leave out: squeezed in


def test_obvious_boundaries_are_found():
    T = 30
    emit = np.full((T, 3), -5.0, np.float32)
    emit[:5, 0] = 0
    emit[5:12, 1] = 0
    emit[12:20, 2] = 0
    emit[20:, 0] = 0
    starts, ends, _ = viterbi_segments(
        emit, np.array([0, 1, 2, 0]), np.array([True, False, False, True]), np.array([1, 3, 3, 1])
    )
    assert list(starts) == [0, 5, 12, 20] and list(ends) == [5, 12, 20, 30]


def test_skipped_silences_are_empty_spans():
    emit = np.zeros((10, 2), np.float32)
    emit[:, 1] = 1.0
    starts, ends, _ = viterbi_segments(
        emit, np.array([0, 1, 0]), np.array([True, False, True]), np.array([1, 2, 1])
    )
    assert (starts[1], ends[1]) == (0, 10)
    assert starts[0] == ends[0] == 0 and starts[2] == ends[2] == 10


def test_too_many_phones_for_the_frames_is_a_clear_error():
    emit = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match="no alignment fits"):
        viterbi_segments(emit, np.array([1, 1, 1]), np.array([False] * 3), np.array([3, 3, 3]))


def test_two_optional_segments_in_a_row_are_refused():
    with pytest.raises(ValueError, match="two optional"):
        viterbi_segments(
            np.zeros((5, 2), np.float32), np.array([0, 0]), np.array([True, True]), np.array([1, 1])
        )


def test_band_memory_is_per_active_cell():
    # a long chain with narrow windows runs fast where a full trellis would be states x frames
    T, P = 200_000, 20_000
    rng = np.random.default_rng(0)
    emit = rng.normal(size=(T, 3)).astype(np.float32)
    classes = np.tile([1, 2], P // 2)
    optional = np.zeros(P, bool)
    mins = np.full(P, 2)
    centre = np.arange(P) * (T / P)
    lo = (centre - 100).astype(int)
    hi = (centre + 110).astype(int)
    starts, ends, _ = viterbi_segments(emit, classes, optional, mins, lo, hi)
    assert starts[0] == 0 and ends[-1] == T
    assert np.all(ends - starts >= 2)
    assert np.all(starts >= np.clip(lo, 0, T)) and np.all(ends <= np.clip(hi, 0, T))


@pytest.mark.parametrize(
    ("emit", "classes", "optional", "mins", "match"),
    [
        (np.zeros((0, 2), np.float32), [1], [False], [1], "at least one frame"),
        (np.zeros(5, np.float32), [0], [False], [1], "frames, classes"),
        (
            np.where(np.eye(5, 2) > 0, np.nan, 0).astype(np.float32),
            [0, 1, 0],
            [True, False, True],
            [1, 1, 1],
            "NaN",
        ),
        (np.zeros((5, 2), np.float32), [7], [False], [1], "classes must be in"),
        (np.zeros((5, 2), np.float32), [-1], [False], [1], "classes must be in"),
        (np.zeros((5, 2), np.float32), [1, 1], [False], [1], "optional has 1 entries for 2"),
        (np.zeros((5, 2), np.float32), [1, 1], [False, False], [1, 1, 1], "min_frames has 3"),
    ],
)
def test_bad_input_is_a_value_error(emit, classes, optional, mins, match):
    # before: IndexError / numba TypingError, a silent path through NaN scores, and for a class
    # beyond the emit columns a read outside the array (numba does not check bounds)
    with pytest.raises(ValueError, match=match):
        viterbi_segments(emit, np.array(classes), np.array(optional), np.array(mins))


def test_windows_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="lo has 2 entries for 3"):
        viterbi_segments(
            np.zeros((5, 2), np.float32), np.array([1, 1, 1]), np.zeros(3, bool), np.ones(3), [0, 0], None
        )


def test_one_segment_on_one_frame():
    starts, ends, score = viterbi_segments(
        np.array([[0.0, 2.5]], np.float32), np.array([1]), np.array([False]), np.array([1])
    )
    assert (starts[0], ends[0]) == (0, 1) and score == pytest.approx(2.5)
