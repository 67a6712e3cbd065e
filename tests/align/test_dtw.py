"""DTW against brute force (every path enumerated; a pure-Python DP) and against librosa."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from studio.align.dtw import (
    STEP_PATTERNS,
    StepPattern,
    Window,
    dtw,
    itakura_window,
    mask_window,
    sakoe_chiba_window,
)

# The step patterns written out independently of the module's tables: Sakoe & Chiba (1978), table I,
# as recurrences g(i, j) = min over moves of g(i - di, j - dj) + sum of w * d(i - ci, j - cj).
REF = {
    "symmetric1": [(1, 1, [(0, 0, 1)]), (0, 1, [(0, 0, 1)]), (1, 0, [(0, 0, 1)])],
    "symmetric2": [(1, 1, [(0, 0, 2)]), (0, 1, [(0, 0, 1)]), (1, 0, [(0, 0, 1)])],
    "asymmetric": [(1, 1, [(0, 0, 1)]), (1, 0, [(0, 0, 1)]), (1, 2, [(0, 0, 1)])],
    "symmetricP05": [
        (1, 1, [(0, 0, 2)]),
        (1, 3, [(0, 2, 2), (0, 1, 1), (0, 0, 1)]),
        (1, 2, [(0, 1, 2), (0, 0, 1)]),
        (2, 1, [(1, 0, 2), (0, 0, 1)]),
        (3, 1, [(2, 0, 2), (1, 0, 1), (0, 0, 1)]),
    ],
    "asymmetricP05": [
        (1, 1, [(0, 0, 1)]),
        (1, 3, [(0, 2, 1 / 3), (0, 1, 1 / 3), (0, 0, 1 / 3)]),
        (1, 2, [(0, 1, 0.5), (0, 0, 0.5)]),
        (2, 1, [(1, 0, 1), (0, 0, 1)]),
        (3, 1, [(2, 0, 1), (1, 0, 1), (0, 0, 1)]),
    ],
    "symmetricP1": [(1, 1, [(0, 0, 2)]), (1, 2, [(0, 1, 2), (0, 0, 1)]), (2, 1, [(1, 0, 2), (0, 0, 1)])],
    "asymmetricP1": [(1, 1, [(0, 0, 1)]), (1, 2, [(0, 1, 0.5), (0, 0, 0.5)]), (2, 1, [(1, 0, 1), (0, 0, 1)])],
    "symmetricP2": [
        (1, 1, [(0, 0, 2)]),
        (2, 3, [(1, 2, 2), (0, 1, 2), (0, 0, 1)]),
        (3, 2, [(2, 1, 2), (1, 0, 2), (0, 0, 1)]),
    ],
    "asymmetricP2": [
        (1, 1, [(0, 0, 1)]),
        (2, 3, [(1, 2, 2 / 3), (0, 1, 2 / 3), (0, 0, 2 / 3)]),
        (3, 2, [(2, 1, 1), (1, 0, 1), (0, 0, 1)]),
    ],
}
NORM = {"symmetric1": "path", "symmetric2": "n+m", "asymmetric": "n"}
NORM.update({f"symmetricP{p}": "n+m" for p in ("05", "1", "2")})
NORM.update({f"asymmetricP{p}": "n" for p in ("05", "1", "2")})


def ref_dp(C, moves, allowed, open_begin=False, open_end=False):
    """Pure-Python DP: the optimal cost, or inf when no path fits."""
    n, m = C.shape
    g = {}
    for i in range(n):
        for j in range(m):
            if not allowed[i, j]:
                continue
            best = math.inf
            if i == 0 and (j == 0 or open_begin):
                best = C[i, j]
            for di, dj, cells in moves:
                p = (i - di, j - dj)
                if p not in g or not all(allowed[i - ci, j - cj] for ci, cj, _ in cells):
                    continue
                v = g[p]
                for ci, cj, w in cells:
                    v += w * C[i - ci, j - cj]
                best = min(best, v)
            g[i, j] = best
    ends = [(n - 1, j) for j in range(m)] if open_end else [(n - 1, m - 1)]
    return min((g.get(e, math.inf) for e in ends), default=math.inf)


def all_paths(n, m, moves, allowed, open_begin=False, open_end=False):
    """Every path (list of cells) from a start cell to an end cell made of the pattern's moves."""
    starts = [(0, j) for j in range(m)] if open_begin else [(0, 0)]
    ends = {(n - 1, j) for j in range(m)} if open_end else {(n - 1, m - 1)}
    out = []

    def walk(path):
        i, j = path[-1]
        if (i, j) in ends:
            out.append(list(path))
        for di, dj, cells in moves:
            ni, nj = i + di, j + dj
            if ni >= n or nj >= m:
                continue
            new = [(ni - ci, nj - cj) for ci, cj, _ in cells]
            if all(allowed[c] for c in new):
                walk(path + new)

    for s in starts:
        if allowed[s]:
            walk([s])
    return out


def parse(path, moves):
    """The path as a sequence of moves: [(start index, move)], or None if it is not made of them."""
    path = [tuple(int(v) for v in c) for c in path]

    def rest(k):
        if k == len(path) - 1:
            return []
        i0, j0 = path[k]
        for mv in moves:
            di, dj, cells = mv
            t = len(cells)
            if k + t < len(path) and all(
                path[k + 1 + q] == (i0 + di - ci, j0 + dj - cj) for q, (ci, cj, _) in enumerate(cells)
            ):
                tail = rest(k + t)
                if tail is not None:
                    return [(k, mv)] + tail
        return None

    return rest(0)


def path_cost(C, path, moves):
    """Cost of a path read back through the pattern: the start cell once, then each move's weights."""
    steps = parse(path, moves)
    assert steps is not None, "the path is not made of the pattern's moves"
    total = C[tuple(path[0])]
    for k, (di, dj, cells) in steps:
        i, j = path[k][0] + di, path[k][1] + dj
        for ci, cj, w in cells:
            total += w * C[i - ci, j - cj]
    return total


def move_ends(path, moves):
    return {tuple(path[0])} | {
        (int(path[k][0]) + mv[0], int(path[k][1]) + mv[1]) for k, mv in parse(path, moves)
    }


def check_result(res, C, name, allowed, open_begin, open_end):
    n, m = C.shape
    moves = REF[name]
    p = res.path
    assert p.dtype == np.int64 and p.ndim == 2 and p.shape[1] == 2
    assert p[0, 0] == 0 and p[-1, 0] == n - 1
    if not open_begin:
        assert p[0, 1] == 0
    if not open_end:
        assert p[-1, 1] == m - 1
    assert all(allowed[i, j] for i, j in p)
    # the reported cost is exactly the path's cost summed in path order
    assert res.cost == path_cost(C, p, moves)
    norm = NORM[name]
    denom = len(p) if norm == "path" else (n if norm == "n" else n + p[-1, 1] - p[0, 1] + 1)
    assert res.normalized_cost == pytest.approx(res.cost / denom, rel=1e-15)


# --- brute force ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REF))
@pytest.mark.parametrize("opens", [(False, False), (True, False), (False, True), (True, True)])
def test_every_path_enumerated(name, opens):
    """For tiny inputs the optimum over every path of the pattern is the DTW cost."""
    rng = np.random.default_rng(7)
    ob, oe = opens
    for n, m in [(1, 1), (1, 4), (4, 1), (3, 3), (4, 5), (5, 4), (5, 6)]:
        X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
        C = cdist(X, Y, "sqeuclidean")
        allowed = np.ones((n, m), bool)
        paths = all_paths(n, m, REF[name], allowed, ob, oe)
        if not paths:
            with pytest.raises(ValueError, match="no warping path"):
                dtw(X, Y, step=name, open_begin=ob, open_end=oe)
            continue
        best = min(path_cost(C, p, REF[name]) for p in paths)
        res = dtw(X, Y, step=name, open_begin=ob, open_end=oe)
        assert res.cost == pytest.approx(best, rel=1e-12)
        check_result(res, C, name, allowed, ob, oe)


constraints = st.sampled_from(["none", "band", "band_fraction", "itakura", "mask"])


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(REF)),
    n=st.integers(1, 9),
    m=st.integers(1, 9),
    constraint=constraints,
    radius=st.integers(0, 3),
    ob=st.booleans(),
    oe=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_reference_dp(name, n, m, constraint, radius, ob, oe, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
    C = cdist(X, Y, "sqeuclidean")
    kw = {}
    if constraint == "band":
        kw["band"] = radius
        allowed = sakoe_chiba_window(n, m, radius).to_mask()
    elif constraint == "band_fraction":
        kw["band"] = 0.25
        allowed = sakoe_chiba_window(n, m, 0.25 * max(n, m)).to_mask()
    elif constraint == "itakura":
        kw["window"] = "itakura"
        allowed = itakura_window(n, m).to_mask()
    elif constraint == "mask":
        allowed = rng.random((n, m)) < 0.8
        allowed[0, 0] = allowed[-1, -1] = True
        allowed[np.arange(n), rng.integers(0, m, n)] = True  # every row has a cell
        kw["window"] = allowed
    else:
        allowed = np.ones((n, m), bool)
    ref = ref_dp(C, REF[name], allowed, ob, oe)
    if math.isinf(ref):
        with pytest.raises(ValueError, match="no warping path"):
            dtw(X, Y, step=name, open_begin=ob, open_end=oe, **kw)
        return
    res = dtw(X, Y, step=name, open_begin=ob, open_end=oe, **kw)
    assert res.cost == pytest.approx(ref, rel=1e-12)
    check_result(res, C, name, allowed, ob, oe)
    # the same alignment from the cost matrix
    assert dtw(C, step=name, open_begin=ob, open_end=oe, **kw).cost == res.cost


def test_subsequence_is_open_begin_and_end():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((6, 2)), rng.standard_normal((30, 2))
    a = dtw(X, Y, subsequence=True)
    b = dtw(X, Y, open_begin=True, open_end=True)
    assert a.cost == b.cost and np.array_equal(a.path, b.path)
    assert a.cost == pytest.approx(
        ref_dp(cdist(X, Y, "sqeuclidean"), REF["symmetric1"], np.ones((6, 30), bool), True, True)
    )


def test_custom_pattern_from_steps():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((7, 2)), rng.standard_normal((9, 2))
    custom = StepPattern.from_steps([(1, 1), (1, 0), (1, 2)], name="asym")
    assert dtw(X, Y, step=custom).cost == dtw(X, Y, step="asymmetric").cost
    assert STEP_PATTERNS["symmetricP0"] is STEP_PATTERNS["symmetric2"]


# --- librosa ---------------------------------------------------------------------------------
def test_defaults_equal_librosa_exactly():
    rng = np.random.default_rng(0)
    for n, m in [(1, 1), (1, 7), (9, 1), (50, 73), (120, 80)]:
        X, Y = rng.standard_normal((n, 12)), rng.standard_normal((m, 12))
        D, wp = librosa.sequence.dtw(X.T, Y.T, metric="sqeuclidean")
        res = dtw(X, Y)
        assert res.cost == D[-1, -1]
        assert np.array_equal(res.path, wp[::-1])


def test_real_speech_equals_librosa(shared_data):
    import soundfile

    audio, sr = soundfile.read(shared_data / "ami" / "dev00.wav", dtype="float32")
    y, z = audio[: 8 * sr], audio[sr // 2 : sr // 2 + 8 * sr]
    A = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, hop_length=160).T
    B = librosa.feature.mfcc(y=z, sr=sr, n_mfcc=20, hop_length=160).T
    D, wp = librosa.sequence.dtw(A.T, B.T, metric="sqeuclidean")
    res = dtw(A.astype(np.float32), B.astype(np.float32))  # float32 input: float64 inside, as librosa
    D32, _ = librosa.sequence.dtw(A.astype(np.float32).T, B.astype(np.float32).T, metric="sqeuclidean")
    assert res.cost == D32[-1, -1]
    res = dtw(A, B)
    assert res.cost == D[-1, -1] and np.array_equal(res.path, wp[::-1])


def test_librosa_step_patterns_band_and_subsequence():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((52, 5))
    D, wp = librosa.sequence.dtw(X.T, Y.T, metric="sqeuclidean", weights_mul=np.array([2.0, 1.0, 1.0]))
    res = dtw(X, Y, step="symmetric2")
    assert res.cost == D[-1, -1] and np.array_equal(res.path, wp[::-1])
    D, wp = librosa.sequence.dtw(
        X.T, Y.T, metric="sqeuclidean", step_sizes_sigma=np.array([[1, 1], [1, 0], [1, 2]])
    )
    res = dtw(X, Y, step="asymmetric")
    assert res.cost == D[-1, -1] and np.array_equal(res.path, wp[::-1])
    # librosa's band: radius round(band_rad * n) cells, exclusive; square inputs only (its band is not scaled)
    S, S2 = rng.standard_normal((60, 5)), rng.standard_normal((60, 5))
    D, wp = librosa.sequence.dtw(S.T, S2.T, metric="sqeuclidean", global_constraints=True, band_rad=0.1)
    res = dtw(S, S2, band=round(0.1 * 60) - 1)
    assert res.cost == D[-1, -1] and np.array_equal(res.path, wp[::-1])
    D, wp = librosa.sequence.dtw(X[:8].T, Y.T, metric="sqeuclidean", subseq=True)
    res = dtw(X[:8], Y, subsequence=True)
    assert res.cost == D[-1].min() and np.array_equal(res.path, wp[::-1])


@pytest.mark.parametrize(
    "metric, scipy_name", [("euclidean", "euclidean"), ("manhattan", "cityblock"), ("cosine", "cosine")]
)
def test_metrics_against_librosa(metric, scipy_name):
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((30, 6)), rng.standard_normal((41, 6))
    D, wp = librosa.sequence.dtw(X.T, Y.T, metric=scipy_name)
    res = dtw(X, Y, metric=metric)
    assert res.cost == pytest.approx(D[-1, -1], rel=1e-12)
    assert np.array_equal(res.path, wp[::-1])


def test_return_matrix_is_librosas_accumulated_matrix():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((20, 4)), rng.standard_normal((25, 4))
    D, _ = librosa.sequence.dtw(X.T, Y.T, metric="sqeuclidean")
    res = dtw(X, Y, return_matrix=True)
    assert np.array_equal(res.accumulated, D)
    banded = dtw(X, Y, band=3, return_matrix=True)
    inside = banded.window.to_mask()
    assert np.all(np.isinf(banded.accumulated[~inside])) and np.all(np.isfinite(banded.accumulated[inside]))
    assert dtw(X, Y).accumulated is None


# --- windows -------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 40), radius=st.floats(0, 12))
def test_band_contains_the_scaled_diagonal_band_and_stays_connected(n, m, radius):
    w = sakoe_chiba_window(n, m, radius)
    i, j = np.mgrid[0:n, 0:m]
    if n > 1 and m > 1:
        s = (m - 1) / (n - 1)
        raw = np.abs(j - i * s) <= radius * min(1.0, s) + 1e-9
        assert np.all(w.to_mask()[raw])
        assert w.area <= raw.sum() + n + m  # only a staircase's worth of cells added
    assert w.contains(0, 0) and w.contains(n - 1, m - 1)
    assert np.all(w.hi > w.lo) and np.all(w.lo[1:] <= w.hi[:-1])  # a path exists
    # symmetric in the two sequences up to the staircase cells
    wt = sakoe_chiba_window(m, n, radius)
    assert abs(wt.area - w.area) <= n + m


def test_itakura_window_slopes():
    w = itakura_window(30, 40, max_slope=2.0)
    mask = w.to_mask()
    s = 39 / 29
    for i, j in zip(*np.nonzero(mask)):
        # within one cell (the staircase) of the parallelogram
        assert j <= 2 * s * i + 1 and j >= i * s / 2 - 1
        assert (39 - j) <= 2 * s * (29 - i) + 1 and (39 - j) >= s * (29 - i) / 2 - 1
    assert mask[0, 0] and mask[-1, -1] and not mask[0, 5] and not mask[15, 0]


def test_mask_window_hull_and_holes():
    mask = np.zeros((4, 6), bool)
    mask[0, 0:2] = mask[1, 1:4] = mask[2, [2, 4]] = mask[3, 5] = True
    w = mask_window(mask)
    assert list(w.lo) == [0, 1, 2, 5] and list(w.hi) == [2, 4, 5, 6]
    assert np.array_equal(w.to_mask(), mask)
    res = dtw(np.arange(4.0), np.arange(6.0), window=mask)
    assert all(mask[i, j] for i, j in res.path)


def test_band_storage_is_proportional_to_band_area():
    rng = np.random.default_rng(6)
    n = 3000
    X, Y = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))
    full = dtw(X[:600], Y[:600])
    assert full.storage_nbytes >= 600 * 600
    for radius in (5, 20):
        res = dtw(X, Y, band=radius)
        assert res.window.area <= n * (2 * radius + 1)
        # one byte per window cell, plus O(n + m) rows and offsets — never n·m
        assert res.storage_nbytes <= res.window.area + 64 * n
        assert res.storage_nbytes < n * n / 10
    wide, narrow = dtw(X, Y, band=40), dtw(X, Y, band=10)
    assert wide.storage_nbytes - narrow.storage_nbytes == wide.window.area - narrow.window.area


def test_banded_peak_memory_is_not_quadratic():
    import tracemalloc

    rng = np.random.default_rng(8)
    n = 4000
    X, Y = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))
    dtw(X[:50], Y[:50], band=5)  # compile / load the kernels first
    tracemalloc.start()
    res = dtw(X, Y, band=8)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * res.window.area + 200 * n  # n·m would be 16 MB of codes alone
    assert peak < n * n / 4


# --- anchors -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["symmetric1", "symmetric2", "asymmetric"])
def test_anchors_on_the_exact_path_give_the_exact_result(name):
    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((80, 5)), rng.standard_normal((70, 5))
    exact = dtw(X, Y, step=name)
    picks = exact.path[[5, len(exact.path) // 3, len(exact.path) // 2, -10]]
    res = dtw(X, Y, step=name, anchors=picks)
    assert res.cost == exact.cost and np.array_equal(res.path, exact.path)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["symmetric1", "symmetric2", "asymmetric", "symmetricP1"]),
    n=st.integers(2, 6),
    m=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 2),
)
def test_anchors_force_the_path_through_them(name, n, m, seed, k):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    C = cdist(X, Y, "sqeuclidean")
    rows = np.sort(rng.integers(0, n, k))
    cols = np.sort(rng.integers(0, m, k))
    anchors = list(zip(rows.tolist(), cols.tolist()))
    # brute force: best path whose move end points include every anchor
    best = math.inf
    for p in all_paths(n, m, REF[name], np.ones((n, m), bool)):
        ends = move_ends(p, REF[name])
        if all(a in ends for a in anchors):
            best = min(best, path_cost(C, p, REF[name]))
    if math.isinf(best):
        with pytest.raises(ValueError, match="no warping path"):
            dtw(X, Y, step=name, anchors=anchors)
        return
    res = dtw(X, Y, step=name, anchors=anchors)
    assert res.cost == pytest.approx(best, rel=1e-12)
    assert all(tuple(a) in {tuple(c) for c in res.path} for a in anchors)
    assert res.cost == path_cost(C, res.path, REF[name])


def test_anchor_with_open_ends_and_band():
    rng = np.random.default_rng(10)
    X, Y = rng.standard_normal((30, 3)), rng.standard_normal((90, 3))
    res = dtw(X, Y, subsequence=True, anchors=[(15, 40)])
    assert (15, 40) in {tuple(c) for c in res.path}
    assert res.path[0, 0] == 0 and res.path[-1, 0] == 29
    with pytest.raises(ValueError, match="outside"):
        dtw(X, Y[:30], band=2, anchors=[(2, 20)])


# --- bad input -----------------------------------------------------------------------------
def test_empty_anchors_are_no_anchors():
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((9, 2)), rng.standard_normal((12, 2))
    plain, empty = dtw(X, Y, return_matrix=True), dtw(X, Y, anchors=[], return_matrix=True)
    assert empty.cost == plain.cost and np.array_equal(empty.accumulated, plain.accumulated)


def test_bad_input_raises_clear_errors():
    X = np.zeros((5, 3))
    Y = np.ones((6, 3))
    cases = [
        (lambda: dtw(np.zeros((0, 3)), Y), "X is empty"),
        (lambda: dtw(X, np.zeros((0, 3))), "Y is empty"),
        (lambda: dtw(X, np.ones((6, 2))), "different feature dimensions"),
        (lambda: dtw(np.full((5, 3), np.nan), Y), "NaN"),
        (lambda: dtw(X, np.full((6, 3), np.inf)), "NaN or infinite"),
        (lambda: dtw(np.full((4, 4), np.nan)), "NaN"),
        (lambda: dtw(-np.full((4, 4), np.inf)), "-inf"),
        (lambda: dtw(np.zeros((4, 0))), "non-empty"),
        (lambda: dtw(np.zeros((2, 2, 2)), Y), "frames, dims"),
        (lambda: dtw(X, Y, metric="chebyshev"), "unknown metric"),
        (lambda: dtw(X, Y, step="nope"), "unknown step pattern"),
        (lambda: dtw(X, Y, band=-1), "band"),
        (lambda: dtw(X, Y, band=float("nan")), "band"),
        (lambda: dtw(X, Y, window="diamond"), "unknown window"),
        (lambda: dtw(X, Y, window=np.ones((3, 3), bool)), "window is 3 x 3"),
        (lambda: dtw(X, Y, window=np.zeros((5, 6), bool)), "every row"),
        (lambda: dtw(X, Y, backend="cuda"), "backend"),
        (lambda: dtw(X, Y, backend="numba", device="cuda"), "numba backend runs on the CPU"),
        (lambda: dtw(X, Y, method="fast"), "method"),
        (lambda: dtw(X, Y, metric="cosine"), "non-zero frames"),
        (lambda: dtw(X, Y, anchors=[(9, 1)]), "outside"),
        (lambda: dtw(X, Y, anchors=[(3, 4), (2, 5)]), "sorted"),
        (lambda: dtw(X, Y, anchors=[(0.5, 1)]), "integer pairs"),
        (lambda: dtw(X, Y, anchors=[(2, 3)], return_matrix=True), "return_matrix"),  # was None
        (lambda: dtw(np.zeros((3, 2)), np.zeros((9, 2)), step="asymmetric"), "no warping path"),
        (lambda: dtw(np.zeros((3, 2)), np.zeros((12, 2)), band=0, step="symmetricP2"), "no warping path"),
        (lambda: dtw(np.array(["a", "b"]), np.array(["a"])), "numeric"),
        (lambda: dtw(X + 1j, Y), "X must be real"),  # the imaginary part was silently dropped
        (lambda: dtw(np.ones((4, 4), complex)), "cost matrix must be real"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match="non-decreasing"):
        Window(np.array([2, 1]), np.array([3, 3]), 4)
    with pytest.raises(ValueError, match="must go forwards"):
        StepPattern("bad", ((0, 0, ((0, 0, 1.0),)),))
    with pytest.raises(ValueError, match="positive"):
        StepPattern("bad", ((1, 1, ((0, 0, 0.0),)),))


def test_overflowing_costs_are_reported_as_overflow_not_as_a_missing_path():
    X = np.full((50, 3), 1e160)
    for backend in ("numba", "torch"):
        with pytest.raises(ValueError, match="overflows float64 \\(feature values up to 1e\\+160\\)"):
            dtw(X, -X, backend=backend)
    C = np.full((40, 40), 1e307)
    with pytest.raises(ValueError, match="overflows float64 \\(local costs up to 1e\\+307\\)"):
        dtw(C)
