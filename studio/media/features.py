"""Frame-wise features of audio and video for alignment and models: one type, one time base.

A `Features` is a float32 ``(frames, dims)`` array with a float64 timestamp per frame, the nominal
hop between frames, the kind, a label per dimension, and the parameters that made it.

**The time base.** Every feature value is placed at one instant of *media time* (seconds from the
start of the file):

* audio frame ``k`` is **centred** at ``t = k · hop`` — the librosa ``center=True`` convention: the
  signal is zero-padded by half a window at both ends, frame 0 covers ``[-win/2, +win/2)``, and a
  signal of ``n`` samples gives ``1 + n // hop_samples`` frames. All audio kinds use it, whatever
  their window (chroma's longer window is centred on the same instants).
* video frame ``i`` is at its presentation timestamp (`VideoSource.timestamps`), the instant the
  image was sampled — the same "value describes this instant" convention. A value that compares
  two frames (motion, flow, mouth motion) is placed at the later frame of the pair; frame 0 has
  nothing to compare with and gets 0.
* `Features.resample(hop)` moves any feature onto the grid ``k · hop`` (``k = 0, 1, ...``), so
  audio at 100 fps and video at 25 or 29.97 fps land on the same instants and can be stacked
  (`combine`). Averaging is used to go to a coarser grid, linear interpolation to a finer one.

**Files.** `Features.save("out.npy")` writes the values to ``out.npy`` (so ``numpy.load`` reads
them with no Studio code), the times to ``out.times.npy`` (float64, exact) and everything else
to ``out.json``; `Features.load("out.npy")` reads the three back.

**Extraction.** `extract(path_or_source, kind, **params)` = `run(extract_task(...))`; the task is
cancellable and reports progress. `extract_many_task` computes several kinds in one pass over the
media (one decode, one STFT per window size). Kinds and their parameters are in
`studio.media.features_audio` (log-mel, MFCC, RMS, onset strength, chroma) and
`studio.media.features_video` (motion energy, optical flow, face box, mouth motion).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.media.probe import MediaError
from studio.tasks.base import Progress, Task, run

__all__ = [
    "Features",
    "AUDIO_KINDS",
    "VIDEO_KINDS",
    "KINDS",
    "extract",
    "extract_task",
    "extract_many",
    "extract_many_task",
    "combine",
]

AUDIO_KINDS = ("logmel", "mfcc", "rms", "onset", "chroma")
VIDEO_KINDS = ("motion", "flow", "face", "mouth")
KINDS = AUDIO_KINDS + VIDEO_KINDS
FORMAT = "studio-features"
FORMAT_VERSION = 1


@dataclass
class Features:
    """Frame-wise values: `values` float32 (frames, dims), `times` float64 (frames,) in media seconds.

    `hop` is the nominal seconds between frames (1 / fps for video; frames of a variable frame
    rate video follow `times`, not `hop`). `names` labels the dims; `params` holds what made it.
    """

    values: np.ndarray
    times: np.ndarray
    hop: float
    kind: str
    names: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise ValueError(f"values must be (frames, dims), got shape {values.shape}")
        times = np.asarray(self.times, dtype=np.float64)
        if times.shape != (values.shape[0],):
            raise ValueError(f"{values.shape[0]} frames but {times.shape} times")
        names = tuple(str(n) for n in self.names)
        if len(names) != values.shape[1]:
            raise ValueError(f"{values.shape[1]} dims but {len(names)} names")
        if not (self.hop > 0 and math.isfinite(self.hop)):
            raise ValueError(f"hop must be a positive number of seconds, got {self.hop}")
        self.values, self.times, self.names, self.hop = values, times, names, float(self.hop)
        if self.source is not None:
            self.source = os.fspath(self.source)

    # -- shape ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def dims(self) -> int:
        return int(self.values.shape[1])

    @property
    def duration(self) -> float:
        """Seconds from the first frame's time to one hop after the last (0 when empty)."""
        return float(self.times[-1] - self.times[0] + self.hop) if len(self) else 0.0

    def __repr__(self) -> str:
        span = f"{self.times[0]:.3f}..{self.times[-1]:.3f} s" if len(self) else "empty"
        return f"Features({self.kind!r}, {len(self)} frames × {self.dims} dims, hop {self.hop:.4g} s, {span})"

    def column(self, name: str) -> np.ndarray:
        """The values of one named dim, (frames,)."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"{self.kind} has no dim {name!r} (dims: {', '.join(self.names)})") from None

    # -- lookup --------------------------------------------------------------------------------
    def index(self, t: float) -> int:
        """The frame whose time is nearest to `t` (clipped to the first/last frame)."""
        if not len(self):
            raise IndexError("no frames")
        i = int(np.searchsorted(self.times, t))
        if i <= 0:
            return 0
        if i >= len(self):
            return len(self) - 1
        return i if self.times[i] - t < t - self.times[i - 1] else i - 1

    def at(self, t: float) -> np.ndarray:
        """The values (dims,) of the frame nearest to time `t`."""
        return self.values[self.index(t)]

    def slice(self, t0: float, t1: float) -> Features:
        """The frames with ``t0 <= time < t1``."""
        a, b = np.searchsorted(self.times, [t0, t1], side="left")
        return self._with(self.values[a:b], self.times[a:b])

    # -- time base -----------------------------------------------------------------------------
    def interp(
        self, times: Sequence[float] | np.ndarray, method: str = "linear", width: float | None = None
    ) -> Features:
        """These features at other `times`: "linear", "nearest", or "mean" over ``[t - width/2, t + width/2)``.

        NaN values (a frame with no face) stay NaN under "linear"/"nearest" and are skipped by
        "mean". Outside the frames' span the first/last value is held. `hop` of the result is the
        median spacing of `times` (or `width`).
        """
        new_t = np.asarray(times, dtype=np.float64)
        if new_t.ndim != 1:
            raise ValueError("times must be one-dimensional")
        n = len(self)
        hop = float(width) if width else float(np.median(np.diff(new_t))) if len(new_t) > 1 else self.hop
        if n == 0:
            out = np.full((len(new_t), self.dims), np.nan, np.float32)
        elif method == "nearest":
            out = self.values[[self.index(t) for t in new_t]] if len(new_t) < 64 else self._nearest(new_t)
        elif method == "linear":
            out = np.empty((len(new_t), self.dims), np.float32)
            for d in range(self.dims):
                out[:, d] = np.interp(new_t, self.times, self.values[:, d])
        elif method == "mean":
            out = self._mean(new_t, hop)
        else:
            raise ValueError(f"unknown method {method!r} (linear, nearest, mean)")
        return Features(out, new_t, hop, self.kind, self.names, dict(self.params), self.source)

    def resample(self, hop: float, method: str = "auto", end: float | None = None) -> Features:
        """These features on the common grid ``k · hop`` for k = 0 .. up to `end` (default: the last frame).

        "auto" averages when going to a coarser grid and interpolates linearly to a finer one.
        """
        if not (hop > 0 and math.isfinite(hop)):
            raise ValueError(f"hop must be a positive number of seconds, got {hop}")
        last = (float(self.times[-1]) if len(self) else 0.0) if end is None else float(end)
        count = int(math.floor(last / hop + 1e-9)) + 1 if last >= 0 else 0
        grid = np.arange(count, dtype=np.float64) * hop
        if method == "auto":
            method = "mean" if hop > self.hop * 1.01 else "linear"
        return self.interp(grid, method, width=hop)

    def _nearest(self, new_t: np.ndarray) -> np.ndarray:
        i = (
            np.clip(np.searchsorted(self.times, new_t), 1, len(self) - 1)
            if len(self) > 1
            else np.zeros(len(new_t), int)
        )
        if len(self) > 1:
            left = self.times[i - 1]
            i = np.where(self.times[i] - new_t < new_t - left, i, i - 1)
        return self.values[i]

    def _mean(self, new_t: np.ndarray, width: float) -> np.ndarray:
        finite = np.isfinite(self.values)
        csum = np.concatenate(
            [np.zeros((1, self.dims)), np.cumsum(np.where(finite, self.values, 0.0), axis=0)]
        )
        ccnt = np.concatenate([np.zeros((1, self.dims)), np.cumsum(finite, axis=0)])
        eps = 1e-9 * max(1.0, width)  # a frame exactly on an edge belongs to the later window
        a = np.searchsorted(self.times, new_t - width / 2 - eps, side="left")
        b = np.searchsorted(self.times, new_t + width / 2 - eps, side="left")
        total, count = csum[b] - csum[a], ccnt[b] - ccnt[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        empty = b == a  # no frame in the window (a finer grid, or a gap): interpolate instead
        if empty.any():
            for d in range(self.dims):
                out[empty, d] = np.interp(new_t[empty], self.times, self.values[:, d])
        return out.astype(np.float32)

    def _with(self, values: np.ndarray, times: np.ndarray) -> Features:
        return Features(values, times, self.hop, self.kind, self.names, dict(self.params), self.source)

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path`` (values, .npy), ``<stem>.times.npy`` and ``<stem>.json``; return the .npy path."""
        values_path, times_path, meta_path = _paths(path)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "frames": len(self),
            "dims": self.dims,
            "hop": self.hop,
            "names": list(self.names),
            "params": _jsonable(self.params),
            "source": self.source,
            "time_convention": "audio: frame centre k*hop (center=True); video: frame presentation time",
            "values": values_path.name,
            "times": times_path.name,
        }
        values_path.parent.mkdir(parents=True, exist_ok=True)
        for target, write in (
            (values_path, lambda f: np.save(f, self.values)),
            (times_path, lambda f: np.save(f, self.times)),
            (meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode("utf-8"))),
        ):
            _write_atomic(target, write)
        return values_path

    save_npy = save

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Features:
        """Read what `save` wrote (give the .npy path); MediaError names a missing or broken part."""
        values_path, times_path, meta_path = _paths(path)
        for p in (values_path, times_path, meta_path):
            if not p.exists():
                raise MediaError(
                    p, "no such file (a saved feature file needs its .npy, .times.npy and .json)"
                )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MediaError(meta_path, f"is not readable feature metadata ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise MediaError(meta_path, f"is not a {FORMAT} metadata file")
        if int(meta.get("version", 0)) > FORMAT_VERSION:
            raise MediaError(meta_path, f"was written by a newer Studio (format version {meta['version']})")
        arrays = []
        for p in (values_path, times_path):
            try:
                arrays.append(np.load(p, allow_pickle=False))
            except (OSError, ValueError) as exc:
                raise MediaError(p, f"is not a readable .npy array ({exc})") from None
        try:
            return cls(
                arrays[0],
                arrays[1],
                meta["hop"],
                meta["kind"],
                tuple(meta["names"]),
                meta.get("params", {}),
                meta.get("source"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MediaError(values_path, f"saved features are inconsistent ({exc})") from None


def combine(features: Iterable[Features], hop: float) -> Features:
    """Several features resampled to the grid ``k · hop`` and stacked side by side (names prefixed by kind).

    The result ends at the earliest last frame, so every row has a value from every input.
    """
    items = list(features)
    if not items:
        raise ValueError("nothing to combine")
    end = min(float(f.times[-1]) for f in items if len(f)) if all(len(f) for f in items) else -1.0
    parts = [f.resample(hop, end=end) for f in items]
    names = tuple(f"{f.kind}.{n}" for f in items for n in f.names)
    values = np.concatenate([p.values for p in parts], axis=1)
    times = parts[0].times
    params = {f.kind: _jsonable(f.params) for f in items}
    sources = {f.source for f in items}
    return Features(
        values,
        times,
        hop,
        "+".join(f.kind for f in items),
        names,
        params,
        sources.pop() if len(sources) == 1 else None,
    )


# -- extraction ----------------------------------------------------------------------------------


def extract(
    source: Any,
    kind: str,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: Any = None,
    cache: bool = True,
    **params: Any,
) -> Features:
    """Features of one `kind` of a media file path, an open source, or a numpy signal (give `sample_rate`)."""
    return run(extract_task(source, kind, cache=cache, **params), on_progress=on_progress, cancel=cancel)


def extract_task(source: Any, kind: str, *, cache: bool = True, **params: Any) -> Task[Features]:
    """`extract` as a cancellable task."""
    result = yield from extract_many_task(source, [kind], cache=cache, **params)
    return result[kind]


def extract_many(
    source: Any, kinds: Sequence[str], *, cache: bool = True, **params: Any
) -> dict[str, Features]:
    return run(extract_many_task(source, kinds, cache=cache, **params))


def extract_many_task(
    source: Any, kinds: Sequence[str], *, cache: bool = True, **params: Any
) -> Task[dict[str, Features]]:
    """Several kinds in one pass per medium (audio kinds share the decode and the STFT; video kinds the decode).

    When `source` is a file path, results are cached on disk per kind and parameters (keyed by the
    file's identity), so asking again — the window reopening a recording, an aligner re-running —
    costs a file read; ``cache=False`` recomputes. Video features of an hour of video take minutes,
    which is what this is for.
    """
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"unknown feature kind {', '.join(map(repr, unknown)) or '(none)'}; kinds: {', '.join(KINDS)}"
        )
    audio = [k for k in kinds if k in AUDIO_KINDS]
    video = [k for k in kinds if k in VIDEO_KINDS]
    from studio.media import features_audio, features_video

    audio_params = {k: v for k, v in params.items() if k in features_audio.PARAMS}
    video_params = {k: v for k, v in params.items() if k in features_video.PARAMS}
    stray = sorted(set(params) - set(audio_params) - set(video_params))
    if stray:
        raise TypeError(f"unknown feature parameter(s) {', '.join(stray)}")
    if audio_params and not audio:
        raise TypeError(f"parameter(s) {', '.join(sorted(audio_params))} apply to audio kinds only")
    if video_params and not video:
        raise TypeError(f"parameter(s) {', '.join(sorted(video_params))} apply to video kinds only")
    result: dict[str, Features] = {}
    cached_paths: dict[str, Path] = {}
    if cache and isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        for kind in kinds:
            kind_params = audio_params if kind in AUDIO_KINDS else video_params
            cached_paths[kind] = _cache_path(Path(source), kind, kind_params)
            hit = _load_cached(cached_paths[kind])
            if hit is not None:
                result[kind] = hit
        audio = [k for k in audio if k not in result]
        video = [k for k in video if k not in result]
        if not audio:
            audio_params = {}
        if not video:
            video_params = {}
    split = 0.5 if audio and video else (1.0 if audio else 0.0)
    if audio:
        from studio.tasks.base import scaled

        result.update(
            (yield from scaled(features_audio.audio_features_task(source, audio, **audio_params), 0.0, split))
        )
    if video:
        from studio.tasks.base import scaled

        result.update(
            (yield from scaled(features_video.video_features_task(source, video, **video_params), split, 1.0))
        )
    if cached_paths and (audio or video):
        from studio.media.cache import prune

        for kind in audio + video:
            try:
                result[kind].save(cached_paths[kind])
            except OSError:
                pass  # a cache that cannot be written is only slower
        prune(keep=tuple(cached_paths.values()))
    return {k: result[k] for k in kinds}


_CACHE_VERSION = "features-v1"


def _cache_path(path: Path, kind: str, params: dict[str, Any]) -> Path:
    from studio.media.cache import cache_dir, file_key

    key = file_key(path, _CACHE_VERSION, kind, json.dumps(_jsonable(params), sort_keys=True))
    return cache_dir("features") / f"{key}.npy"


def _load_cached(path: Path) -> Features | None:
    if not path.exists():
        return None
    from studio.media.cache import touch

    try:
        hit = Features.load(path)
    except (MediaError, OSError, ValueError):  # damaged or half-pruned entry: compute again
        return None
    touch(path)
    return hit


# -- helpers -------------------------------------------------------------------------------------


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    p = Path(path)
    if p.suffix.lower() != ".npy":
        p = p.with_name(p.name + ".npy")
    stem = p.with_suffix("")
    return p, stem.with_name(stem.name + ".times.npy"), stem.with_name(stem.name + ".json")


def _write_atomic(target: Path, write: Callable[[Any], object]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
