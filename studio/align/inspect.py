"""What the alignment inspector shows, without Qt: a cost (or CTC posterior) image, a path, pins.

    view = cost_view(X, Y, hx=0.01, hy=0.01, path=dtw(X, Y).path)   # X (n, d), Y (m, d)
    view.image            # (rows, cols) float: rows along A (X), cols along B (Y), <= 1024 x 1024
    view.path_times       # (K, 2) seconds: cell centres of the warping path
    view.b_at(1.25)       # where B is when A is at 1.25 s (interpolated along the path)
    res = realign_with_pins(X, Y, view.path, [(0.8, 0.95)], hx=0.01, hy=0.01)
    res.path, res.recomputed                           # new path; indices of the re-solved segments

Why it is built this way:

* **The image never needs the full n x m matrix.** A 20 000 x 20 000 alignment (two 200 s
  streams at 10 ms) has 400 M local costs, 3.2 GB in float64. `cost_image` computes the local cost
  a few million cells at a time, reduces each chunk onto the coarse grid at once (``reduceat`` over
  the block edges, which also handles uneven blocks) and keeps only the grid. The default reducer
  for costs is ``min``: the valley the path follows stays visible however far the image is shrunk
  (a mean would wash a one-frame valley out); posteriors use ``max`` for the same reason.
* **Re-aligning between pins is segment-wise DTW.** Pins (A time, B time) cut the problem into
  segments, each aligned on its own (`studio.align.dtw`, the same idea as its ``anchors``). A
  segment is reused when the old path already passes through both its end points and no pin the
  old path was computed with lies inside it: by DTW's optimal substructure the old sub-path is then
  still the optimum of that segment, so reuse gives exactly what a full anchored re-run would.
* **Stored alignments are views too.** A session alignment (`studio.core.session.Alignment`) keeps
  its warp as (A time, B time) pairs at 10 ms frames; `stream_view_task` and
  `transcript_view_task` rebuild the features of both sides and turn the pairs into a frame path
  (`warp_to_path`), and `path_to_warp_pairs` turns an edited path back into pairs. Frame i of a
  10 ms feature sequence is centred at ``i * hop`` (librosa's centred frames, and the times the
  aligners store), so these views start half a frame before 0 (``a_start = -hop / 2``) and a path
  cell's centre is exactly the stored time: pairs -> path -> pairs is lossless.
* **CTC views use the same API.** A posterior matrix (T frames x S target tokens) with the forced
  path (token per frame) is an image plus a path; the B axis then counts tokens (``b_labels``).
  `ctc_transcript_view_task` builds it for a transcript tier the way `studio.align.ctc_aligner`
  aligns it (same units, model, star and Viterbi), so the path shown is the one the aligner chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled

__all__ = [
    "MAX_IMAGE_CELLS",
    "AlignmentView",
    "RealignResult",
    "block_edges",
    "cost_image",
    "cost_view",
    "ctc_view",
    "ctc_transcript_view_task",
    "realign_with_pins",
    "realign_with_pins_task",
    "path_to_warp_pairs",
    "stream_view_task",
    "transcript_view_task",
    "warp_to_path",
    "words_in_segments",
]

#: longest side of the displayed image, in cells
MAX_IMAGE_CELLS = 1024
_CHUNK = 1 << 21  # local costs computed at once (16 MB in float64)
_METRICS = ("sqeuclidean", "euclidean", "manhattan", "cosine")


def block_edges(n: int, blocks: int) -> np.ndarray:
    """``blocks + 1`` increasing frame edges splitting ``n`` frames into near-equal blocks."""
    blocks = max(1, min(int(blocks), int(n)))
    return np.round(np.linspace(0, n, blocks + 1)).astype(np.int64)


def _local_cost(A: np.ndarray, B: np.ndarray, metric: str, bn: np.ndarray | None) -> np.ndarray:
    """Local cost matrix of two small chunks (float64), as `studio.align.dtw` defines the metrics."""
    if metric == "manhattan":
        return np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)
    G = A @ B.T
    if metric == "cosine":
        an = np.linalg.norm(A, axis=1)
        return 1.0 - G / (an[:, None] * bn[None, :])
    sq = np.maximum((A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * G, 0.0)
    return np.sqrt(sq) if metric == "euclidean" else sq


def _reduce(D: np.ndarray, re: np.ndarray, ce: np.ndarray, how: str) -> np.ndarray:
    """Reduce D over the blocks given by local row edges `re` and column edges `ce`."""
    if how == "mean":
        s = np.add.reduceat(np.add.reduceat(D, re[:-1], axis=0), ce[:-1], axis=1)
        return s / (np.diff(re)[:, None] * np.diff(ce)[None, :])
    ufunc = np.minimum if how == "min" else np.maximum
    return ufunc.reduceat(ufunc.reduceat(D, re[:-1], axis=0), ce[:-1], axis=1)


def cost_image(
    X: Any, Y: Any, *, metric: str = "sqeuclidean", reduce: str = "min", max_cells: int = MAX_IMAGE_CELLS,
    a_range: tuple[int, int] | None = None, b_range: tuple[int, int] | None = None,
) -> Task[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """The local cost of X (n, d) against Y (m, d) on a grid of at most `max_cells` per side.

    A task (yields `Progress` per chunk); returns ``(image, a_edges, b_edges)``: ``image[r, c]`` is
    the `reduce` ("min", "max" or "mean") of the cost over frames ``a_edges[r]:a_edges[r+1]`` of X
    and ``b_edges[c]:b_edges[c+1]`` of Y. Memory: the image plus one chunk of ~2 M costs, never
    n x m. `a_range` / `b_range` restrict it to frames [lo, hi) (a zoomed-in detail).
    """
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(_METRICS)}")
    if reduce not in ("min", "max", "mean"):
        raise ValueError(f"reduce must be 'min', 'max' or 'mean', not {reduce!r}")
    X = _features(X, "X")
    Y = _features(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y have different feature dimensions: {X.shape[1]} and {Y.shape[1]}")
    a0, a1 = a_range if a_range is not None else (0, len(X))
    b0, b1 = b_range if b_range is not None else (0, len(Y))
    if not (0 <= a0 < a1 <= len(X) and 0 <= b0 < b1 <= len(Y)):
        raise ValueError("a_range / b_range must be non-empty frame ranges inside the sequences")
    ae = a0 + block_edges(a1 - a0, max_cells)
    be = b0 + block_edges(b1 - b0, max_cells)
    bn = np.linalg.norm(Y, axis=1) if metric == "cosine" else None
    if metric == "cosine" and (not (bn[b0:b1] > 0).all() or not (np.linalg.norm(X[a0:a1], axis=1) > 0).all()):
        raise ValueError("the cosine metric needs non-zero frames")
    per_cell = X.shape[1] if metric == "manhattan" else 1
    image = np.empty((len(ae) - 1, len(be) - 1))
    # chunks of whole blocks: `rb` image rows by `cb` image columns at a time
    bh, bw = int(np.diff(ae).max()), int(np.diff(be).max())
    budget = max(1, _CHUNK // per_cell)
    cb = max(1, min(len(be) - 1, budget // bw // bh))
    rb = max(1, min(len(ae) - 1, budget // (bw * cb) // bh))
    total = (len(ae) - 1) * (len(be) - 1)
    done = 0
    for r in range(0, len(ae) - 1, rb):
        r2 = min(r + rb, len(ae) - 1)
        A = X[ae[r] : ae[r2]]
        for c in range(0, len(be) - 1, cb):
            c2 = min(c + cb, len(be) - 1)
            D = _local_cost(A, Y[be[c] : be[c2]], metric, None if bn is None else bn[be[c] : be[c2]])
            image[r:r2, c:c2] = _reduce(D, ae[r : r2 + 1] - ae[r], be[c : c2 + 1] - be[c], reduce)
            done += (r2 - r) * (c2 - c)
            yield Progress(done / total, "cost image")
    return image, ae, be


def _features(A: Any, name: str) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    A = A[:, None] if A.ndim == 1 else A
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"{name} must be (frames, dims) and non-empty, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return np.ascontiguousarray(A)


@dataclass
class AlignmentView:
    """An image over the (A time, B time) plane and a path through it: what the inspector draws.

    ``image[r, c]`` covers A frames ``a_edges[r]:a_edges[r+1]`` and B frames
    ``b_edges[c]:b_edges[c+1]``. Frame i of A spans ``[a_start + i·hx, a_start + (i+1)·hx)``; path
    and pin times are frame centres. ``kind`` is "cost" (low is good) or "ctc" (posterior, high is
    good); a CTC view's B axis counts tokens (``hy`` = 1, ``b_labels`` names them). ``X`` / ``Y``
    and ``dtw_kwargs`` are kept for re-alignment (None for a CTC view).
    """

    image: np.ndarray
    a_edges: np.ndarray
    b_edges: np.ndarray
    hx: float
    hy: float
    path: np.ndarray
    kind: str = "cost"
    a_start: float = 0.0
    b_start: float = 0.0
    label_a: str = "A"
    label_b: str = "B"
    value_label: str = "local cost"
    b_labels: list[str] | None = None
    X: np.ndarray | None = None
    Y: np.ndarray | None = None
    dtw_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.a_edges[-1])

    @property
    def m(self) -> int:
        return int(self.b_edges[-1])

    @property
    def a_extent(self) -> tuple[float, float]:
        return self.a_start, self.a_start + self.n * self.hx

    @property
    def b_extent(self) -> tuple[float, float]:
        return self.b_start, self.b_start + self.m * self.hy

    def a_time(self, i: Any) -> Any:
        return self.a_start + (np.asarray(i) + 0.5) * self.hx

    def b_time(self, j: Any) -> Any:
        return self.b_start + (np.asarray(j) + 0.5) * self.hy

    def a_frame(self, t: float) -> int:
        return int(min(max(math.floor((t - self.a_start) / self.hx), 0), self.n - 1))

    def b_frame(self, t: float) -> int:
        return int(min(max(math.floor((t - self.b_start) / self.hy), 0), self.m - 1))

    @property
    def path_times(self) -> np.ndarray:
        """(K, 2) seconds (B in tokens for a CTC view): the path's cell centres."""
        return np.stack([self.a_time(self.path[:, 0]), self.b_time(self.path[:, 1])], axis=1)

    def b_at(self, a: float) -> float:
        """B time matched to A time `a`: the mean B frame the path pairs with each A frame,
        interpolated linearly between A frames (clamped at the ends)."""
        j = _interp_along(self.path[:, 0], self.path[:, 1], (a - self.a_start) / self.hx - 0.5)
        return float(self.b_time(j))

    def a_at(self, b: float) -> float:
        """A time matched to B time `b` (the inverse of `b_at`)."""
        i = _interp_along(self.path[:, 1], self.path[:, 0], (b - self.b_start) / self.hy - 0.5)
        return float(self.a_time(i))

    def value_range(self) -> tuple[float, float]:
        """Colour scale limits: the 1st and 99th percentiles of the image (robust to outliers); a
        CTC view's posteriors are probabilities, shown on their own scale, 0 to 1."""
        if self.kind == "ctc":
            return 0.0, 1.0
        v = self.image[np.isfinite(self.image)]
        if v.size == 0:
            return 0.0, 1.0
        lo, hi = (float(x) for x in np.percentile(v, [1, 99]))
        return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _interp_along(u: np.ndarray, v: np.ndarray, x: float) -> float:
    keys, inv = np.unique(u, return_inverse=True)
    mean_v = np.bincount(inv, weights=v) / np.bincount(inv)
    return float(np.interp(x, keys, mean_v))


def cost_view(
    X: Any, Y: Any, *, hx: float, hy: float, path: Any = None, metric: str = "sqeuclidean",
    reduce: str = "min", max_cells: int = MAX_IMAGE_CELLS, a_start: float = 0.0, b_start: float = 0.0,
    label_a: str = "A", label_b: str = "B", **dtw_kwargs: Any,
) -> AlignmentView:  # fmt: skip
    """An `AlignmentView` of X against Y (see `cost_view_task`; this runs it here)."""
    return run(cost_view_task(
        X, Y, hx=hx, hy=hy, path=path, metric=metric, reduce=reduce, max_cells=max_cells,
        a_start=a_start, b_start=b_start, label_a=label_a, label_b=label_b, **dtw_kwargs,
    ))  # fmt: skip


def cost_view_task(
    X: Any, Y: Any, *, hx: float, hy: float, path: Any = None, metric: str = "sqeuclidean",
    reduce: str = "min", max_cells: int = MAX_IMAGE_CELLS, a_start: float = 0.0, b_start: float = 0.0,
    label_a: str = "A", label_b: str = "B", **dtw_kwargs: Any,
) -> Task[AlignmentView]:  # fmt: skip
    """Build the view: the coarse cost image and, when `path` is None, the DTW path (`dtw_task`
    with `metric` and `dtw_kwargs`: step, band, subsequence, ...)."""
    for h, name in ((hx, "hx"), (hy, "hy")):
        if not (isinstance(h, (int, float)) and h > 0 and math.isfinite(h)):
            raise ValueError(f"{name} must be a positive number of seconds, not {h!r}")
    Xa, Ya = _features(X, "X"), _features(Y, "Y")
    image, ae, be = yield from scaled(
        cost_image(Xa, Ya, metric=metric, reduce=reduce, max_cells=max_cells), 0, 0.5
    )
    kw = {"metric": metric, **dtw_kwargs}
    if path is None:
        from .dtw import dtw_task

        path = (yield from scaled(dtw_task(Xa, Ya, **kw), 0.5, 1.0)).path
    path = _check_path(path, len(Xa), len(Ya))
    label = {"sqeuclidean": "squared distance", "cosine": "cosine distance"}.get(metric, f"{metric} distance")
    return AlignmentView(
        image, ae, be, float(hx), float(hy), path, "cost", float(a_start), float(b_start), label_a, label_b,
        f"local cost ({label}, block {reduce})" if len(ae) - 1 < len(Xa) or len(be) - 1 < len(Ya)
        else f"local cost ({label})", None, Xa, Ya, kw,
    )  # fmt: skip


def _check_path(path: Any, n: int, m: int) -> np.ndarray:
    p = np.asarray(path)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0 or not np.issubdtype(p.dtype, np.integer):
        raise ValueError("a path must be a non-empty (K, 2) array of integer frame pairs")
    p = p.astype(np.int64)
    if p[:, 0].min() < 0 or p[:, 1].min() < 0 or p[:, 0].max() >= n or p[:, 1].max() >= m:
        raise ValueError(f"the path leaves the {n} x {m} grid")
    if np.any(np.diff(p, axis=0) < 0):
        raise ValueError("the path must be monotone (both coordinates non-decreasing)")
    return p


def ctc_view(
    posteriors: Any, path: Any, *, hop: float, targets: Any = None, labels: list[str] | None = None,
    log: bool = False, max_cells: int = MAX_IMAGE_CELLS, a_start: float = 0.0, label_a: str = "audio",
) -> AlignmentView:  # fmt: skip
    """A CTC forced alignment as a view: `posteriors` (T, S) per frame and target token — or
    (T, C) over the vocabulary with `targets` (S,) ids to pick the columns — and `path` (T,) the token
    index per frame (-1 for blank/star frames, which get no path point; `CTCAlignment.path`).
    `log`: the input is log-probabilities (shown as probabilities). Rows are max-pooled when T is
    longer than `max_cells`."""
    P = np.asarray(posteriors, dtype=np.float64)
    if P.ndim != 2 or P.size == 0:
        raise ValueError(f"posteriors must be a non-empty (frames, tokens) matrix, got shape {P.shape}")
    if targets is not None:
        t = np.asarray(targets, dtype=np.int64).reshape(-1)
        if t.size == 0 or t.min() < 0 or t.max() >= P.shape[1]:
            raise ValueError("targets must be token ids inside the posterior matrix")
        P = P[:, t]
    P = np.exp(P) if log else P
    if not np.isfinite(P).all():
        raise ValueError("posteriors contain NaN or infinite values")
    T, S = P.shape
    pth = np.asarray(path).reshape(-1)
    if pth.shape[0] != T or not np.issubdtype(pth.dtype, np.integer):
        raise ValueError(f"path must hold one integer token index per frame ({T})")
    if pth.max(initial=-1) >= S or np.any(np.diff(pth[pth >= 0]) < 0):
        raise ValueError("path token indices must be < S and non-decreasing")
    frames = np.nonzero(pth >= 0)[0]
    if frames.size == 0:
        raise ValueError("the path has no token frames (all blank)")
    if labels is not None and len(labels) != S:
        raise ValueError(f"labels: one per token ({S}), got {len(labels)}")
    ae, be = block_edges(T, max_cells), block_edges(S, max_cells)
    image = np.maximum.reduceat(np.maximum.reduceat(P, ae[:-1], axis=0), be[:-1], axis=1)
    return AlignmentView(
        image, ae, be, float(hop), 1.0, np.stack([frames, pth[frames]], axis=1).astype(np.int64), "ctc",
        float(a_start), 0.0, label_a, "tokens", "posterior", list(labels) if labels is not None else None,
    )  # fmt: skip


def ctc_transcript_view_task(
    audio: Any, words: list[list[str]], *, model: Any = "bundled", device: Any = None,
    star_penalty: float | None = 1.0, label_a: str = "recording", max_exact_bytes: float = 256e6,
    window_frames: int = 4000,
) -> Task[tuple[AlignmentView, np.ndarray]]:  # fmt: skip
    """The CTC posterior view of a transcript against its recording: `words` holds each
    annotation's spoken parts; `audio` is a path, an `AudioSource` or a (samples, rate) pair;
    `model` an `AcousticModel` or what `load_acoustic_model` takes ("bundled": `studio.models.small_ctc`).
    The units, posteriors and forced path are those of `studio.align.ctc_aligner.ctc_align_task`
    with the same `star_penalty` (its default), so the path is the aligner's. Returns the view (B =
    the transcript's units, labelled) and ``owner`` (S,): each unit's index into `words` (-1 for a
    word delimiter)."""
    from ..models.acoustic import AcousticModel, load_acoustic_model
    from .ctc import forced_align, forced_align_windowed
    from .ctc_aligner import ctc_targets, read_samples

    if not words or not all(isinstance(w, (list, tuple)) and w for w in words):
        raise ValueError("words: one non-empty list of spoken parts per annotation")
    yield Progress(0.0, "loading the acoustic model")
    if not isinstance(model, AcousticModel):
        model = load_acoustic_model(model, device)
    parts = [p for w in words for p in w]
    where = [k for k, w in enumerate(words) for _ in w]
    targets, part_of, labels, _, report = ctc_targets([parts], model)
    if targets.size == 0:
        raise ValueError(
            "no word of the transcript can be written in the model's vocabulary "
            f"(characters not in it: {''.join(sorted(report['dropped'])) or 'none'})"
        )
    owner = np.asarray([where[i] if i >= 0 else -1 for i in part_of], np.int64)
    yield Progress(0.05, "reading the recording")
    samples = read_samples(
        (_audio(audio), 16000) if not isinstance(audio, tuple) else audio, model.sample_rate
    )
    lp = yield from scaled(model.log_probs_task(samples), 0.1, 0.85)
    T = int(lp.shape[0])
    yield Progress(0.85, "forced alignment")
    kw = {"blank": model.vocabulary.blank, "star_penalty": star_penalty,
          "device": device if device is not None else model.device}  # fmt: skip
    if T * (2 * targets.size + 1) > max_exact_bytes and T > window_frames:
        al = forced_align_windowed(lp, targets, window_frames=window_frames, **kw)
    else:
        al = forced_align(lp, targets, **kw)
    lpn = lp.detach().float().cpu().numpy() if hasattr(lp, "detach") else np.asarray(lp)
    view = ctc_view(lpn, al.path, hop=model.frame_duration, targets=targets, labels=labels, log=True,
                    label_a=label_a)  # fmt: skip
    yield Progress(1.0, "CTC view")
    return view, owner


# --- re-alignment between pins ------------------------------------------------------------------
@dataclass(frozen=True)
class RealignResult:
    """``path`` (K, 2) frames; ``pins`` the (i, j) frame pins it went through (sorted);
    ``segments`` one (i0, j0, i1, j1) per segment; ``recomputed`` the segment indices solved again
    (the others were copied from the old path)."""

    path: np.ndarray
    pins: np.ndarray
    segments: list[tuple[int, int, int, int]]
    recomputed: list[int]


def pins_to_frames(pins: Any, n: int, m: int, hx: float, hy: float, a_start: float = 0.0,
                   b_start: float = 0.0) -> np.ndarray:  # fmt: skip
    """(A time, B time) pins as sorted, de-duplicated (i, j) frames; ValueError when they cross."""
    if pins is None or len(pins) == 0:
        return np.zeros((0, 2), np.int64)
    p = np.asarray(pins, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(p).all():
        raise ValueError("pins must be finite times")
    i = np.clip(np.floor((p[:, 0] - a_start) / hx), 0, n - 1).astype(np.int64)
    j = np.clip(np.floor((p[:, 1] - b_start) / hy), 0, m - 1).astype(np.int64)
    f = np.unique(np.stack([i, j], axis=1), axis=0)
    if np.any(np.diff(f[:, 1]) < 0):
        raise ValueError("pins cross: a later A time must not be matched to an earlier B time")
    return f


def _passes(path: np.ndarray, i: int, j: int) -> int | None:
    """Index of cell (i, j) in the path, or None."""
    k = np.nonzero((path[:, 0] == i) & (path[:, 1] == j))[0]
    return int(k[0]) if k.size else None


def realign_with_pins_task(
    X: Any, Y: Any, path: Any, pins: Any, *, hx: float = 1.0, hy: float = 1.0, a_start: float = 0.0,
    b_start: float = 0.0, old_pins: Any = None, frames: bool = False, **dtw_kwargs: Any,
) -> Task[RealignResult]:  # fmt: skip
    """Re-align X and Y through `pins`, re-solving only the segments that changed.

    `pins`: (A time, B time) pairs in seconds — or (i, j) frames with ``frames=True``. `path`: the
    current path (None: none, everything is solved), which was computed through `old_pins` (same
    units; None = no pins). `dtw_kwargs` go to `studio.align.dtw.dtw_task` for every segment
    (metric, step, band); ``open_begin`` / ``open_end`` apply to the first / last segment only.
    """
    from .dtw import dtw_task

    Xa, Ya = _features(X, "X"), _features(Y, "Y")
    n, m = len(Xa), len(Ya)
    conv = (lambda p: np.unique(np.asarray(p, np.int64).reshape(-1, 2), axis=0)) if frames else (
        lambda p: pins_to_frames(p, n, m, hx, hy, a_start, b_start))  # fmt: skip
    new = conv(pins) if pins is not None and len(pins) else np.zeros((0, 2), np.int64)
    old = conv(old_pins) if old_pins is not None and len(old_pins) else np.zeros((0, 2), np.int64)
    if len(new) and (
        np.any(np.diff(new, axis=0) < 0) or new.min() < 0 or new[:, 0].max() >= n or new[:, 1].max() >= m
    ):
        raise ValueError("pins must lie inside the grid and keep their order on both axes")
    old_path = None if path is None else _check_path(path, n, m)
    ob = bool(dtw_kwargs.pop("open_begin", False) or dtw_kwargs.get("subsequence", False))
    oe = bool(dtw_kwargs.pop("open_end", False) or dtw_kwargs.pop("subsequence", False))
    points: list[tuple[int, int] | None] = [None if ob else (0, 0)]
    points += [(int(i), int(j)) for i, j in new] + [None if oe else (n - 1, m - 1)]
    segments, recomputed, pieces = [], [], []
    nseg = len(points) - 1
    for s in range(nseg):
        p0, p1 = points[s], points[s + 1]
        r0 = 0 if p0 is None else p0[0]
        r1 = n - 1 if p1 is None else p1[0]
        reuse = None
        if old_path is not None:
            k0 = 0 if p0 is None else _passes(old_path, *p0)
            k1 = len(old_path) - 1 if p1 is None else _passes(old_path, *p1)
            inside = [(i, j) for i, j in old if r0 <= i <= r1 and (i, j) not in (p0, p1)]
            if k0 is not None and k1 is not None and k1 >= k0 and not inside:
                reuse = old_path[k0 : k1 + 1]
        if reuse is None:
            c0 = 0 if p0 is None else p0[1]
            c1 = m - 1 if p1 is None else p1[1]
            task = dtw_task(
                Xa[r0 : r1 + 1], Ya[c0 : c1 + 1], open_begin=p0 is None, open_end=p1 is None,
                method="exact", **dtw_kwargs,
            )  # fmt: skip
            try:
                res = yield from scaled(task, s / nseg, (s + 1) / nseg)
            except ValueError as exc:
                raise ValueError(f"segment {s} ({p0} to {p1}): {exc}") from None
            reuse = res.path + np.array([r0, c0])
            recomputed.append(s)
        seg = reuse
        segments.append((int(seg[0, 0]), int(seg[0, 1]), int(seg[-1, 0]), int(seg[-1, 1])))
        pieces.append(seg if not pieces else seg[1:])
        yield Progress((s + 1) / nseg, "re-aligning between pins")
    return RealignResult(np.concatenate(pieces).astype(np.int64), new, segments, recomputed)


def realign_with_pins(X: Any, Y: Any, path: Any, pins: Any, **kw: Any) -> RealignResult:
    """`realign_with_pins_task` run here."""
    return run(realign_with_pins_task(X, Y, path, pins, **kw))


# --- stored alignments (session warps) as views ----------------------------------------------------
def warp_to_path(pairs: Any, hop: float, n: int, m: int) -> np.ndarray:
    """(A time, B time) warp pairs as a monotone (K, 2) frame path inside the n x m grid (frame i
    centred at ``i * hop``; fractional B frames are rounded, repeated cells dropped)."""
    p = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    i = np.clip(np.rint(p[:, 0] / hop), 0, n - 1).astype(np.int64)
    j = np.clip(np.rint(p[:, 1] / hop), 0, m - 1).astype(np.int64)
    f = np.stack([np.maximum.accumulate(i), np.maximum.accumulate(j)], axis=1)
    keep = np.ones(len(f), bool)
    keep[1:] = np.any(np.diff(f, axis=0) != 0, axis=1)
    return f[keep]


def path_to_warp_pairs(path: Any, hop: float) -> np.ndarray:
    """A frame path as (A time, B time) pairs (the inverse of `warp_to_path` on a path)."""
    return np.asarray(path, dtype=np.float64) * hop


def _audio(path: Any) -> np.ndarray:
    from .streams import _load

    return _load(path)


def stream_view_task(
    a: Any, b: Any, pairs: Any, *, hop: float = 0.01, label_a: str = "A", label_b: str = "B"
) -> Task[AlignmentView]:
    """The view of a stored stream alignment: log-mel features of recordings `a` and `b` (paths or
    `AudioSource`s, as `studio.align.streams` computes them), the cosine cost image (never the full
    matrix) and the stored warp `pairs` (A's own time -> B's own time) as the path."""
    from .tts_dtw import features_for_alignment

    yield Progress(0.0, "reading the recordings")
    xa, xb = _audio(a), _audio(b)
    yield Progress(0.2, "features")
    X = features_for_alignment(xa, 16000, "logmel")
    Y = features_for_alignment(xb, 16000, "logmel")
    path = warp_to_path(pairs, hop, len(X), len(Y))
    return (
        yield from scaled(
            cost_view_task(X, Y, hx=hop, hy=hop, path=path, metric="cosine", a_start=-hop / 2,
                           b_start=-hop / 2, label_a=label_a, label_b=label_b),
            0.3, 1.0,
        )
    )  # fmt: skip


def _path_from_knots(rec: np.ndarray, syn: np.ndarray, n: int, m: int, hop: float) -> np.ndarray:
    """One cell per A (recording) frame: B = the piecewise-linear map through the (rec, syn) knots."""
    ks = [(0.0, 0.0)]
    for r, s in zip(rec, syn):
        if r > ks[-1][0] and s > ks[-1][1] and r < (n - 1) * hop and s < (m - 1) * hop:
            ks.append((float(r), float(s)))
    ks.append(((n - 1) * hop, (m - 1) * hop))
    k = np.asarray(ks)
    t = np.arange(n) * hop
    return warp_to_path(np.column_stack([t, np.interp(t, k[:, 0], k[:, 1])]), hop, n, m)


def transcript_view_task(
    audio: Any, words: list[list[str]], *, pairs: Any = None, times: Any = None, voice: str = "en",
    hop: float = 0.01, label_a: str = "recording", label_b: str = "espeak (transcript)",
) -> Task[tuple[AlignmentView, list[tuple[float, float]]]]:  # fmt: skip
    """The view of a transcript tier against its recording: `words` holds each annotation's spoken
    parts (non-empty lists), synthesized with espeak-ng (`studio.align.tts_dtw`); A is the recording,
    B the synthetic speech. The path is the stored warp `pairs` (recording time -> synthetic time)
    or, for a first look, the tier's own `times` ((start, end) per word, the recording's own time)
    mapped onto the synthetic word spans. Returns the view and each word's synthetic (start, end)."""
    from .tts_dtw import _synthesize, features_for_alignment

    if pairs is None and times is None:
        raise ValueError("give the stored warp pairs or the words' times")
    yield Progress(0.0, "synthesizing the transcript")
    # one "line" per annotation, so each annotation's parts are contiguous spans
    syn, sr, spans, _ = _synthesize(words, voice, 0.05, 0.05)
    per_word, k = [], 0
    for parts in words:
        per_word.append((spans[k][0], spans[k + len(parts) - 1][1]))
        k += len(parts)
    yield Progress(0.2, "reading the recording")
    x = _audio(audio)
    X = features_for_alignment(x, 16000, "logmel")
    Y = features_for_alignment(syn, sr, "logmel")
    n, m = len(X), len(Y)
    if pairs is not None:
        path = warp_to_path(pairs, hop, n, m)
    else:
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        s = np.asarray(per_word, dtype=np.float64).reshape(-1)
        path = _path_from_knots(t, s, n, m, hop)
    view = yield from scaled(
        cost_view_task(X, Y, hx=hop, hy=hop, path=path, metric="cosine", a_start=-hop / 2,
                       b_start=-hop / 2, label_a=label_a, label_b=label_b),
        0.4, 1.0,
    )  # fmt: skip
    return view, per_word


def words_in_segments(spans: Any, segments: Any, recomputed: Any, hop: float) -> list[int]:
    """Indices of the B spans ((start, end) seconds) that overlap a re-solved segment
    ((i0, j0, i1, j1) frames, B = j): the words a re-alignment between pins can move."""
    out = []
    for k, (s, e) in enumerate(spans):
        for q in recomputed:
            _, j0, _, j1 = segments[q]
            if s <= (j1 + 0.5) * hop and e >= (j0 - 0.5) * hop:
                out.append(k)
                break
    return out
