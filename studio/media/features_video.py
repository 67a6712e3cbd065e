"""Video features: motion energy, dense optical flow, face box and mouth-region motion — one pass.

All kinds are computed from one sequential decode (`VideoSource.frames()`), each frame converted
to grayscale once; every value is placed at its frame's presentation timestamp (see
`studio.media.features` for the time base). Values that compare two frames belong to the later
one; frame 0 gets 0.

* ``motion`` — mean absolute difference of consecutive grayscale frames scaled to ≤ `motion_side`
  px (160) with area averaging, in [0, 1] (fraction of full scale). Cheap and robust to
  compression noise; a cut or a flash is a spike.
* ``flow`` — dense optical flow (OpenCV Farnebäck) between consecutive frames at the same scale:
  ``flow_mean`` and ``flow_p90`` of the magnitude and ``flow_dx``/``flow_dy`` of the mean vector, in
  **frame widths per second** (independent of resolution and frame rate; per second of the actual
  gap between the two frames, so variable frame rate clips are right too).
* ``face`` — the face box ``x, y, w, h`` as fractions of the frame width/height (NaN with no face)
  and ``detected`` (1 where the detector fired on that very frame). The OpenCV Haar cascade
  (``haarcascade_frontalface_default``) runs on every `face_every`-th frame (2), scaled to
  ≤ `face_side` px (320), histogram-equalised. While a face is tracked, the search is limited to
  the neighbourhood of the last box and to faces of about its size, scaled to ~48 px wide (~5×
  cheaper than a full search); a full-frame search runs every 2 s and whenever that fails. With
  several faces, the one overlapping the previous choice is kept (else the largest). Raw boxes
  jitter by several pixels and miss frames, so the reported box is **smoothed**: for frame ``j``,
  the detections within ``± smooth`` seconds (0.4) are taken, those far from their median are
  dropped as outliers, and the rest are averaged with triangular weights. Gaps shorter than `smooth` are bridged; longer ones are NaN.
* ``mouth`` — ``mouth_motion``: mean absolute difference between consecutive frames inside the
  mouth region (x 20–80 %, y 62–98 % of the smoothed face box, the same box cut from both frames,
  resampled to 48 × 32 so the value does not depend on face size), and ``face_motion``: the same
  over the whole face box (head movement, blinks: what a speech detector should discount). NaN
  without a face. Using the smoothed box matters: a box that jumps between frames makes motion
  out of nothing.

Memory is bounded: smoothing looks ahead ``smooth`` seconds, so frames are finalised with that
delay from a small ring buffer of face-scale grayscale frames; nothing is kept for the whole
video but the per-frame results.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from studio.media.features import Features
from studio.media.features_audio import _positive_int
from studio.tasks.base import Progress, Task, scaled

__all__ = ["video_features_task", "PARAMS", "DEFAULTS", "MOUTH_BOX"]

DEFAULTS: dict[str, Any] = {  # every parameter `extract` takes for video kinds
    "motion_side": 160,
    "face_side": 320,
    "face_every": 2,
    "smooth": 0.4,
    "min_face": 0.15,
}
PARAMS = frozenset(DEFAULTS)
MOUTH_BOX = (0.20, 0.62, 0.80, 0.98)  # x0, y0, x1, y1 as fractions of the face box
_MOUTH_SIZE = (48, 32)
_FACE_SIZE = (48, 48)
OPEN_SHARE = 0.3  # of the progress bar, for opening a path (building the frame index)
_NEAR_WIDTH = 48  # px: face width for the tracking search
_OUTLIER = 0.3  # a detection whose centre or size is off the window median by > 30 % of its width is dropped


def video_features_task(source: Any, kinds: Sequence[str], **params: Any) -> Task[dict[str, Features]]:
    """Compute video `kinds` of `source` (a path or an open `VideoSource`)."""
    import cv2

    p = {**DEFAULTS, **params}
    motion_side = _positive_int(p["motion_side"], "motion_side")
    face_side = _positive_int(p["face_side"], "face_side")
    every = _positive_int(p["face_every"], "face_every")
    smooth = float(p["smooth"])
    min_face = float(p["min_face"])
    if not smooth >= 0:
        raise ValueError(f"smooth must be >= 0 seconds, got {p['smooth']}")
    if not 0 < min_face < 1:
        raise ValueError(f"min_face must be a fraction of the frame (0..1), got {p['min_face']}")
    want_motion, want_flow = "motion" in kinds, "flow" in kinds
    want_face = "face" in kinds or "mouth" in kinds
    want_mouth = "mouth" in kinds

    video, owned = yield from _open(source)
    start = OPEN_SHARE if owned else 0.0  # progress share of opening (indexing) the file
    try:
        fps = float(video.fps) if video.fps and video.fps > 0 else 25.0
        count = max(int(video.frame_count or 0), 1)
        lookahead = int(round(smooth * fps))
        tracker = (
            _FaceTrack(lookahead, every, min_face, full_every=max(1, round(2 * fps))) if want_face else None
        )
        times: list[float] = []
        motion: list[float] = []
        flow: list[tuple[float, float, float, float]] = []
        prev_small: np.ndarray | None = None
        ring: dict[int, np.ndarray] = {}  # face-scale frames awaiting their smoothed box
        boxes: list[tuple[float, float, float, float]] = []  # smoothed, face-scale px
        mouth: list[tuple[float, float]] = []
        face_shape = (0, 0)
        name = Path(str(getattr(video, "path", "video"))).name
        message = f"{', '.join(kinds)} of {name}"

        def finalise(j: int) -> None:
            box = tracker.smoothed(j)  # type: ignore[union-attr]
            boxes.append(box)
            if want_mouth:
                mouth.append(_region_motion(ring.get(j - 1), ring[j], box))
            ring.pop(j - 1, None)

        # decode at the largest analysis size (cheaper than decoding full size and scaling here)
        largest = max(face_side if want_face else 0, motion_side if want_motion or want_flow else 0)
        full = max(int(getattr(video, "width", 0) or 0), int(getattr(video, "height", 0) or 0))
        scale = largest / full if 0 < largest < full else None
        frames = video.frames(scale=scale) if scale is not None else video.frames()
        for i, (_, ts, rgb) in enumerate(frames):
            gray = cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2GRAY)
            times.append(float(ts))
            if want_motion or want_flow:
                small = _scaled(gray, motion_side)
                if prev_small is None:
                    motion.append(0.0)
                    flow.append((0.0, 0.0, 0.0, 0.0))
                else:
                    if want_motion:
                        motion.append(float(cv2.absdiff(small, prev_small).mean()) / 255.0)
                    if want_flow:  # per second of this frame gap (variable frame rate), else of 1/fps
                        gap = float(ts) - times[-2]
                        flow.append(_flow(prev_small, small, 1.0 / gap if gap > 0 else fps))
                prev_small = small
            if tracker is not None:
                fgray = _scaled(gray, face_side)
                face_shape = fgray.shape
                tracker.add(i, fgray)
                if want_mouth:
                    ring[i] = fgray
                if i - lookahead >= 0:
                    finalise(i - lookahead)
            if i % 8 == 7:
                yield Progress(start + (1 - start) * min((i + 1) / count, 1.0), message)
        n = len(times)
        if tracker is not None:
            for j in range(max(0, n - lookahead), n):
                finalise(j)
    finally:
        if owned:
            closer = getattr(video, "close", None)
            if closer is not None:
                closer()
    if n == 0:
        from studio.media.probe import MediaError

        raise MediaError(getattr(video, "path", "video"), "has no decodable video frames")

    t = np.asarray(times, dtype=np.float64)
    hop = 1.0 / fps
    src = os.fspath(video.path) if getattr(video, "path", None) is not None else None
    common = {"fps": fps, "time": "frame timestamp"}
    out: dict[str, Features] = {}
    if want_motion:
        out["motion"] = Features(
            np.asarray(motion), t, hop, "motion", ("motion",), {**common, "motion_side": motion_side}, src
        )
    if want_flow:
        names = ("flow_mean", "flow_p90", "flow_dx", "flow_dy")
        out["flow"] = Features(
            np.asarray(flow),
            t,
            hop,
            "flow",
            names,
            {**common, "motion_side": motion_side, "unit": "frame widths / s"},
            src,
        )
    if want_face:
        fh, fw = face_shape
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        norm = b / np.array([fw, fh, fw, fh])
        detected = np.array([1.0 if tracker.raw[j] is not None else 0.0 for j in range(n)])  # type: ignore[union-attr]
        face_params = {
            **common,
            "face_side": face_side,
            "face_every": every,
            "smooth": smooth,
            "min_face": min_face,
        }
        if "face" in kinds:
            out["face"] = Features(
                np.column_stack([norm, detected]),
                t,
                hop,
                "face",
                ("x", "y", "w", "h", "detected"),
                face_params,
                src,
            )
        if want_mouth:
            out["mouth"] = Features(
                np.asarray(mouth),
                t,
                hop,
                "mouth",
                ("mouth_motion", "face_motion"),
                {**face_params, "mouth_box": list(MOUTH_BOX)},
                src,
            )
    return {k: out[k] for k in kinds}


# -- per-frame measures ----------------------------------------------------------------------------


def _scaled(gray: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = gray.shape
    scale = side / max(h, w)
    if scale >= 1:
        return gray
    return cv2.resize(
        gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )


def _flow(prev: np.ndarray, cur: np.ndarray, fps: float) -> tuple[float, float, float, float]:
    import cv2

    # 3 pyramid levels (motions up to ~10 % of the width), 11 px windows, 2 iterations: as accurate as
    # OpenCV's sample settings (15 px, 3 iterations) on smooth motion at ~60 % of the time
    f = cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 11, 2, 5, 1.1, 0)
    to_unit = fps / cur.shape[1]  # px/frame -> frame widths/s
    mag = np.hypot(f[..., 0], f[..., 1])
    return (
        float(mag.mean()) * to_unit,
        float(np.percentile(mag, 90)) * to_unit,
        float(f[..., 0].mean()) * to_unit,
        float(f[..., 1].mean()) * to_unit,
    )


def _region_motion(
    prev: np.ndarray | None, cur: np.ndarray, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    if prev is None:
        return (0.0, 0.0) if all(math.isfinite(v) for v in box) else (math.nan, math.nan)
    if not all(math.isfinite(v) for v in box):
        return (math.nan, math.nan)
    x, y, w, h = box
    x0, y0, x1, y1 = MOUTH_BOX
    mouth = _crop_diff(prev, cur, (x + x0 * w, y + y0 * h, x + x1 * w, y + y1 * h), _MOUTH_SIZE)
    face = _crop_diff(prev, cur, (x, y, x + w, y + h), _FACE_SIZE)
    return mouth, face


def _crop_diff(
    prev: np.ndarray, cur: np.ndarray, rect: tuple[float, float, float, float], size: tuple[int, int]
) -> float:
    import cv2

    hgt, wid = cur.shape
    a, b = int(max(0, math.floor(rect[0]))), int(min(wid, math.ceil(rect[2])))
    c, d = int(max(0, math.floor(rect[1]))), int(min(hgt, math.ceil(rect[3])))
    if b - a < 2 or d - c < 2:
        return math.nan
    p = cv2.resize(prev[c:d, a:b], size, interpolation=cv2.INTER_AREA)
    q = cv2.resize(cur[c:d, a:b], size, interpolation=cv2.INTER_AREA)
    return float(cv2.absdiff(p, q).mean()) / 255.0


# -- the face track --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _cascade_path() -> str:
    import cv2

    return os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")


class _FaceTrack:
    """Raw detections every `every`-th frame and their smoothed box with `lookahead` frames of delay."""

    def __init__(self, lookahead: int, every: int, min_face: float, full_every: int = 50) -> None:
        import cv2

        self.cascade = cv2.CascadeClassifier(_cascade_path())
        if self.cascade.empty():
            raise RuntimeError(f"OpenCV face cascade missing at {_cascade_path()}")
        self.lookahead = lookahead
        self.every = every
        self.min_face = min_face
        self.raw: list[tuple[float, float, float, float] | None] = []
        self.full_every = full_every  # frames between full-frame searches while tracking
        self._last: tuple[float, float, float, float] | None = None
        self._last_seen = -(10**9)
        self._last_full = -(10**9)

    def add(self, i: int, gray: np.ndarray) -> None:
        box = None
        if i % self.every == 0:
            near = (
                self._last is not None
                and i - self._last_seen <= 2 * self.every
                and i - self._last_full < self.full_every
            )
            box = self._detect_near(gray) if near else None
            if box is None:
                box = self._detect_full(gray)
                self._last_full = i
            if box is not None:
                self._last, self._last_seen = box, i
        self.raw.append(box)

    def _detect_full(self, gray: np.ndarray) -> tuple[float, float, float, float] | None:
        import cv2

        side = max(12, int(self.min_face * min(gray.shape)))
        found = self.cascade.detectMultiScale(
            cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(side, side)
        )
        return self._choose([tuple(float(v) for v in r) for r in found]) if len(found) else None

    def _detect_near(self, gray: np.ndarray) -> tuple[float, float, float, float] | None:
        """Search only around the last box, for a face of about its size, scaled so it is ~48 px wide.

        The cascade's window is 24 px: a 48 px face is found as reliably and several times faster
        than a large one (cost grows with pixels × scales); the smoothing absorbs the coarser step.
        """
        import cv2

        x, y, w, h = self._last  # type: ignore[misc]
        m = 0.35 * w
        a, b = int(max(0, x - m)), int(min(gray.shape[1], x + w + m))
        c, d = int(max(0, y - m)), int(min(gray.shape[0], y + h + m))
        s = min(1.0, _NEAR_WIDTH / w)
        lo, hi = int(0.75 * w * s), int(1.33 * w * s) + 1
        if (b - a) * s < lo or (d - c) * s < lo:
            return None
        roi = gray[c:d, a:b]
        if s < 1:
            roi = cv2.resize(
                roi, (max(1, round((b - a) * s)), max(1, round((d - c) * s))), interpolation=cv2.INTER_AREA
            )
        found = self.cascade.detectMultiScale(
            cv2.equalizeHist(roi), scaleFactor=1.1, minNeighbors=5, minSize=(lo, lo), maxSize=(hi, hi)
        )
        if not len(found):
            return None
        sx, sy = (b - a) / roi.shape[1], (d - c) / roi.shape[0]
        return self._choose(
            [(r[0] * sx + a, r[1] * sy + c, r[2] * sx, r[3] * sy) for r in found.astype(float)]
        )

    def _choose(self, boxes: list[tuple[float, ...]]) -> tuple[float, float, float, float]:
        if self._last is not None:
            best = max(boxes, key=lambda b: _iou(b, self._last))  # type: ignore[arg-type]
            if _iou(best, self._last) > 0.1:
                return best  # type: ignore[return-value]
        return max(boxes, key=lambda b: b[2] * b[3])  # type: ignore[return-value]

    def smoothed(self, j: int) -> tuple[float, float, float, float]:
        lo, hi = max(0, j - self.lookahead), min(len(self.raw), j + self.lookahead + 1)
        idx = [i for i in range(lo, hi) if self.raw[i] is not None]
        if not idx:
            return (math.nan,) * 4  # type: ignore[return-value]
        boxes = np.array([self.raw[i] for i in idx], dtype=np.float64)
        centres = np.column_stack(
            [boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2, boxes[:, 2], boxes[:, 3]]
        )
        med = np.median(centres, axis=0)
        off = np.abs(centres - med).max(axis=1)
        keep = off <= _OUTLIER * med[2]
        if not keep.any():
            keep = off == off.min()
        weights = 1.0 - np.abs(np.array(idx)[keep] - j) / (self.lookahead + 1)
        cx, cy, w, h = (centres[keep] * weights[:, None]).sum(axis=0) / weights.sum()
        return (cx - w / 2, cy - h / 2, w, h)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


# -- sources ---------------------------------------------------------------------------------------


def _open(source: Any) -> Task[tuple[Any, bool]]:
    """(an object with the VideoSource API, whether we opened it and must close it)."""
    if isinstance(source, (str, os.PathLike)):
        from studio.media.video import open_video_task

        video = yield from scaled(open_video_task(source, readahead=0), 0.0, OPEN_SHARE)
        return video, True
    if hasattr(source, "frames") and hasattr(source, "fps"):
        return source, False
    raise TypeError(f"cannot take video features of a {type(source).__name__}")
