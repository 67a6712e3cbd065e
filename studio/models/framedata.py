"""Frame data for fusion models: every modality of one recording on one time grid, with labels.

A model sees a recording as `FrameData`: per modality a float32 ``(T, d)`` array, a ``(T,)`` mask of
the frames where the modality exists (no face found, no video stream, between words), and optional
frame labels — all on the grid ``start + k · hop`` (default 0.04 s = 25 fps, frame ``k`` at media
time ``k · hop``; the `studio.media.features` convention, so `Features.resample` puts any feature
there exactly).

Modalities (`frame_data_task`):

* ``audio`` — log-mel (40 bands, 25 ms / 10 ms) and RMS energy in dB from `studio.media.features`
  (cached on disk per file), averaged onto the grid and **standardised per file** (zero mean, unit
  variance per dim): recordings made at different levels and on different microphones then look
  alike to a model, which is what a speech-activity model trained on a few files needs.
* ``video`` — ``mouth_motion`` and ``face_motion`` (`studio.media.features_video` "mouth": motion
  inside the mouth region and the whole face box of the tracked face) plus their first differences,
  standardised per file over the frames with a face. ``present`` is False where no face was found
  and everywhere for a recording without a video stream (an audio file still gives frame data).
* ``text`` — the word of an interval tier under each frame as a **hashed character n-gram
  embedding** (n = 2..4 of ``<word>``, 64 dims, signed feature hashing with blake2b, L2-normalised):
  deterministic, offline, no model to download; equal words embed equally and words sharing
  spelling are near. ``present`` is False between words (the row is zero there).

Labels: an `IntervalTier` gives classes (the label of the interval covering each frame centre;
frames no interval covers get the `background` class, "-" by default; ``classes=`` fixes the class
list and order), a `CurveTier` gives regression targets (interpolated at frame centres; NaN where
the curve has no value). ``annotated=`` limits labels to the spans that were annotated (a UEM, the
part of a recording an annotator has done): elsewhere labels are -1 (NaN for regression).

`collapse` is CMU-MultimodalSDK's interval intersection and collapse: frame values reduced to one
row per segment (mean, by default), for segment classification. `labels_from_rttm` and `read_uem`
read who-spoke-when files into label tiers.

Tiers are taken to be in media time (a session's media at offset 0 with no warp, as imported
annotations are); map session tiers with `MediaRef.to_media_time` first otherwise.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from studio.core.annotations import Interval
from studio.core.tiers import CurveTier, IntervalTier
from studio.tasks.base import Progress, Task, run, scaled

__all__ = [
    "FrameData",
    "frame_data",
    "frame_data_task",
    "audio_block",
    "audio_block_task",
    "video_block",
    "video_block_task",
    "text_block",
    "embed_word",
    "frame_labels",
    "collapse",
    "labels_from_rttm",
    "RttmLabels",
    "read_uem",
    "union_tier",
    "AUDIO_NAMES",
    "VIDEO_NAMES",
    "TEXT_DIM",
    "MODALITIES",
]

MODALITIES = ("audio", "video", "text")
N_MELS = 40
AUDIO_NAMES = tuple(f"mel{i}" for i in range(N_MELS)) + ("rms_db",)
VIDEO_NAMES = ("mouth_motion", "face_motion", "d_mouth_motion", "d_face_motion")
TEXT_DIM = 64
_RMS_FLOOR = 1e-5  # -100 dB
_EPS = 1e-6


@dataclass
class FrameData:
    """Per-frame features of one recording: `features[m]` (T, d) float32, `present[m]` (T,) bool.

    Frame ``k`` is at ``start + k · hop`` (or `frame_times[k]` after a non-contiguous `select`).
    `labels` (T,) int64 class indices (-1 unlabelled) with `classes`, or float32 targets (NaN
    unlabelled) with ``classes=None``.
    """

    features: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    hop: float
    start: float = 0.0
    labels: np.ndarray | None = None
    classes: list[str] | None = None
    source: str = ""
    frame_times: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not (self.hop > 0 and math.isfinite(self.hop)):
            raise ValueError(f"hop must be a positive number of seconds, got {self.hop}")
        if set(self.features) != set(self.present):
            raise ValueError(
                f"features {sorted(self.features)} and present {sorted(self.present)} name different modalities"
            )
        lengths = set()
        for m in self.features:
            f = np.asarray(self.features[m], dtype=np.float32)
            if f.ndim != 2:
                raise ValueError(f"features[{m!r}] must be (T, d), got shape {f.shape}")
            p = np.asarray(self.present[m], dtype=bool)
            if p.shape != (f.shape[0],):
                raise ValueError(f"present[{m!r}] has shape {p.shape}, features {f.shape}")
            self.features[m], self.present[m] = f, p
            lengths.add(f.shape[0])
        if self.labels is not None:
            lab = np.asarray(self.labels)
            lab = lab.astype(np.int64) if self.classes is not None else lab.astype(np.float32)
            if lab.ndim != 1:
                raise ValueError(f"labels must be (T,), got shape {lab.shape}")
            self.labels = lab
            lengths.add(lab.shape[0])
            if self.classes is not None and lab.size and (lab.max() >= len(self.classes) or lab.min() < -1):
                raise ValueError(f"labels outside 0..{len(self.classes) - 1} (and -1 for unlabelled)")
        if self.frame_times is not None:
            self.frame_times = np.asarray(self.frame_times, dtype=np.float64)
            lengths.add(self.frame_times.shape[0])
        if len(lengths) > 1:
            raise ValueError(f"modalities and labels have different frame counts: {sorted(lengths)}")

    @property
    def T(self) -> int:
        for f in self.features.values():
            return int(f.shape[0])
        if self.labels is not None:
            return int(self.labels.shape[0])
        return 0 if self.frame_times is None else int(self.frame_times.shape[0])

    def times(self) -> np.ndarray:
        """Media time of each frame, (T,) float64."""
        if self.frame_times is not None:
            return self.frame_times.copy()
        return self.start + np.arange(self.T, dtype=np.float64) * self.hop

    def dims(self) -> dict[str, int]:
        return {m: int(f.shape[1]) for m, f in self.features.items()}

    @property
    def task(self) -> str:
        return "regression" if self.classes is None and self.labels is not None else "frames"

    def select(self, mask: np.ndarray) -> FrameData:
        """The frames where `mask` (a (T,) bool array, or frame indices) is true, in time order.

        A contiguous selection stays on the grid (`start` moves); any other keeps each frame's
        time in `frame_times`.
        """
        idx = np.asarray(mask)
        if idx.dtype == bool:
            if idx.shape != (self.T,):
                raise ValueError(f"mask has shape {idx.shape}, expected ({self.T},)")
            idx = np.flatnonzero(idx)
        idx = np.sort(idx.astype(np.int64))
        times = self.times()[idx]
        contiguous = self.frame_times is None and (idx.size == 0 or np.all(np.diff(idx) == 1))
        return replace(
            self,
            features={m: f[idx] for m, f in self.features.items()},
            present={m: p[idx] for m, p in self.present.items()},
            labels=None if self.labels is None else self.labels[idx],
            classes=None if self.classes is None else list(self.classes),
            start=float(times[0]) if contiguous and idx.size else self.start,
            frame_times=None if contiguous else times,
        )

    def runs(self, mask: np.ndarray, min_frames: int = 1) -> list[FrameData]:
        """The contiguous stretches of frames where `mask` is true, each as its own FrameData.

        What temporal models want for a split by time: no frame's context jumps across a gap.
        """
        m = np.asarray(mask, dtype=bool)
        if m.shape != (self.T,):
            raise ValueError(f"mask has shape {m.shape}, expected ({self.T},)")
        edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(np.int8), [0]])))
        return [self.select(np.arange(a, b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_frames]

    def __repr__(self) -> str:
        dims = ", ".join(f"{m} {d}" for m, d in self.dims().items())
        lab = "" if self.labels is None else f", labels {self.classes or 'regression'}"
        return f"FrameData({self.source!r}, {self.T} frames × hop {self.hop:g} s, {dims}{lab})"


# -- building ------------------------------------------------------------------------------------


def frame_data(media: Any, **kw: Any) -> FrameData:
    """`frame_data_task` run here."""
    return run(frame_data_task(media, **kw))


def frame_data_task(
    media: Any,
    *,
    modalities: tuple[str, ...] | list[str] = ("audio", "video"),
    hop: float = 0.04,
    labels: IntervalTier | CurveTier | None = None,
    text: IntervalTier | None = None,
    classes: list[str] | None = None,
    background: str = "-",
    annotated: list[tuple[float, float]] | None = None,
) -> Task[FrameData]:
    """The frame data of the media file `media` (see the module doc); `text` adds the "text" modality."""
    mods = list(dict.fromkeys(modalities))
    if text is not None and "text" not in mods:
        mods.append("text")
    bad = [m for m in mods if m not in MODALITIES]
    if bad or not mods:
        raise ValueError(f"unknown modality {', '.join(map(repr, bad)) or '(none)'}; known: {MODALITIES}")
    if "text" in mods and text is None:
        raise ValueError("the text modality needs a tier of words (text=)")
    if not (hop > 0 and math.isfinite(hop)):
        raise ValueError(f"hop must be a positive number of seconds, got {hop}")
    path = Path(os.fspath(media))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such media file")
    from studio.media.probe import probe

    info = probe(path, count_frames=False)
    kinds = {s.kind for s in info.streams}
    has_video = "video" in kinds
    if "audio" in mods and "audio" not in kinds:
        raise ValueError(f"{path}: has no audio stream (modalities: {', '.join(mods)})")
    if mods == ["video"] and not has_video:
        raise ValueError(f"{path}: has no video stream")

    yield Progress(0.0, f"frame data of {path.name}")
    features: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    T: int | None = None
    if "audio" in mods:
        feats, pres = yield from scaled(audio_block_task(path, hop), 0.0, 0.5)
        T = feats.shape[0]
        features["audio"], present["audio"] = feats, pres
    if "video" in mods:
        if T is None:
            T = _frames_for(float(info.duration or 0.0), hop)
        if has_video:
            feats, pres = yield from scaled(video_block_task(path, hop, T), 0.5, 0.95)
        else:
            feats, pres = np.zeros((T, len(VIDEO_NAMES)), np.float32), np.zeros(T, bool)
        features["video"], present["video"] = feats, pres
    if T is None:
        T = _frames_for(float(info.duration or 0.0), hop)
    if "text" in mods:
        assert text is not None
        features["text"], present["text"] = text_block(text, T, hop)
    lab, cls = (
        (None, None) if labels is None else frame_labels(labels, T, hop, classes, background, annotated)
    )
    yield Progress(1.0, f"frame data of {path.name}")
    return FrameData(
        {m: features[m] for m in mods}, {m: present[m] for m in mods}, hop, 0.0, lab, cls, path.name
    )


def _frames_for(duration: float, hop: float) -> int:
    """Frames ``k · hop`` that fall inside a recording of `duration` seconds (at least one)."""
    return max(1, int(math.floor(duration / hop - 1e-9)) + 1) if duration > 0 else 1


def audio_block(
    source: Any, hop: float = 0.04, T: int | None = None, sample_rate: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(features (T, 41), present (T,)) of a path, AudioSource or numpy signal (give `sample_rate`)."""
    return run(audio_block_task(source, hop, T, sample_rate))


def audio_block_task(
    source: Any, hop: float = 0.04, T: int | None = None, sample_rate: int | None = None
) -> Task[tuple[np.ndarray, np.ndarray]]:
    """Log-mel (40) + RMS dB on the grid, standardised per file; T defaults to the audio's frames."""
    from studio.media.features import extract_many_task

    kw: dict[str, Any] = {"n_mels": N_MELS}
    if sample_rate is not None:
        kw["sample_rate"] = sample_rate
    got = yield from extract_many_task(source, ["logmel", "rms"], cache=sample_rate is None, **kw)
    mel, rms = got["logmel"], got["rms"]
    if T is None:
        T = int(math.floor(float(mel.times[-1]) / hop + 1e-9)) + 1
    end = (T - 1) * hop
    mel_g = mel.resample(hop, end=end).values
    rms_g = rms.resample(hop, end=end).values[:, 0]
    x = np.concatenate([mel_g, 20.0 * np.log10(np.maximum(rms_g, _RMS_FLOOR))[:, None]], axis=1)
    present = np.ones(T, bool)
    present[np.arange(T) * hop > float(mel.times[-1]) + hop] = False  # past the audio's end
    return _standardise(x, present), present


def video_block(path: Any, hop: float = 0.04, T: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features (T, 4), present (T,)) of a video file: mouth and face motion and their differences."""
    return run(video_block_task(path, hop, T))


def video_block_task(
    path: Any, hop: float = 0.04, T: int | None = None
) -> Task[tuple[np.ndarray, np.ndarray]]:
    from studio.media.features import extract_many_task

    got = yield from extract_many_task(path, ["mouth"])
    mouth = got["mouth"]
    if T is None:
        T = int(math.floor(float(mouth.times[-1]) / hop + 1e-9)) + 1 if len(mouth) else 1
    if not len(mouth):
        return np.zeros((T, len(VIDEO_NAMES)), np.float32), np.zeros(T, bool)
    g = mouth.resample(hop, end=(T - 1) * hop).values
    t = np.arange(T) * hop
    present = (
        np.isfinite(g).all(axis=1) & (t <= float(mouth.times[-1]) + hop) & (t >= float(mouth.times[0]) - hop)
    )
    g = np.where(present[:, None], g, 0.0)
    d = np.zeros_like(g)
    d[1:] = g[1:] - g[:-1]
    d[1:][~(present[1:] & present[:-1])] = 0.0  # no difference across a frame without a face
    x = np.concatenate([g, d], axis=1)
    return _standardise(x, present), present


def _standardise(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per dim over the present frames; absent frames are 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape, np.float32)
    if present.any():
        v = x[present]
        out[present] = ((v - v.mean(axis=0)) / (v.std(axis=0) + _EPS)).astype(np.float32)
    return out


# -- text ----------------------------------------------------------------------------------------


def embed_word(word: str, dim: int = TEXT_DIM) -> np.ndarray:
    """Hashed character n-gram embedding (n = 2..4 of ``<word>``, lower-cased), L2-normalised."""
    w = f"<{word.strip().lower()}>"
    v = np.zeros(dim, np.float64)
    for n in (2, 3, 4):
        for i in range(max(len(w) - n + 1, 1)):
            h = int.from_bytes(
                hashlib.blake2b(w[i : i + n].encode("utf-8"), digest_size=8).digest(), "little"
            )
            v[h % dim] += 1.0 if (h >> 63) & 1 else -1.0
    norm = np.linalg.norm(v)
    return (v / norm if norm > 0 else v).astype(np.float32)


def text_block(words: IntervalTier, T: int, hop: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """(T, 64) embeddings of the word under each frame centre, (T,) present; zero between words."""
    out = np.zeros((T, TEXT_DIM), np.float32)
    present = np.zeros(T, bool)
    t = np.arange(T) * hop
    cache: dict[str, np.ndarray] = {}
    for iv in words:
        label = iv.label.strip()
        if not label:
            continue
        a, b = np.searchsorted(t, [iv.start, iv.end], side="left")
        if b > a:
            out[a:b] = cache.setdefault(label, embed_word(label))
            present[a:b] = True
    return out, present


# -- labels --------------------------------------------------------------------------------------


def frame_labels(
    tier: IntervalTier | CurveTier,
    T: int,
    hop: float = 0.04,
    classes: list[str] | None = None,
    background: str = "-",
    annotated: list[tuple[float, float]] | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """Frame labels from a tier: (T,) int64 with the class list, or (T,) float32 and None (a curve)."""
    t = np.arange(T) * hop
    if isinstance(tier, CurveTier):
        if len(tier) == 0:
            raise ValueError(f"label tier {tier.name!r} is empty")
        if tier.values.ndim != 1:
            raise ValueError(f"label curve {tier.name!r} has {tier.values.shape[1]} channels; give one")
        y = np.interp(t, tier.times, tier.values, left=np.nan, right=np.nan).astype(np.float32)
        if annotated is not None:
            y[~_inside(t, annotated)] = np.nan
        return y, None
    if not isinstance(tier, IntervalTier):
        raise TypeError(f"labels come from an interval tier or a curve tier, not {type(tier).__name__}")
    items = [iv for iv in tier if iv.label.strip()]
    if not items:
        raise ValueError(f"label tier {tier.name!r} has no labelled intervals")
    if classes is None:
        classes = [background] + [
            lab for lab in dict.fromkeys(iv.label.strip() for iv in items) if lab != background
        ]
    index = {c: i for i, c in enumerate(classes)}
    if background not in index:  # else every uncovered frame would silently be unlabelled
        raise ValueError(
            f"the background class {background!r} is not among the classes {classes}: pass background="
        )
    unknown = sorted({iv.label.strip() for iv in items} - set(index))
    if unknown:
        raise ValueError(f"label tier {tier.name!r} has labels not in the classes {classes}: {unknown[:8]}")
    y = np.full(T, index.get(background, -1), np.int64)
    for iv in reversed(items):  # earlier intervals win where intervals overlap (IntervalTier.at)
        a, b = np.searchsorted(t, [iv.start, iv.end], side="left")
        y[a:b] = index[iv.label.strip()]
    if annotated is not None:
        y[~_inside(t, annotated)] = -1
    return y, list(classes)


def _inside(t: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    keep = np.zeros(t.shape, bool)
    for a, b in spans:
        keep |= (t >= a) & (t < b)
    return keep


def collapse(
    values: np.ndarray, times: np.ndarray, segments: list[tuple[float, float]], how: str = "mean"
) -> np.ndarray:
    """One row per segment from frame values (CMU-MultimodalSDK's intersect-and-collapse).

    The frames whose time falls in ``[start, end)`` of a segment are reduced with `how`: "mean",
    "median", "max", "min" (NaN ignored) or "mode" (most frequent value, for class labels; -1
    ignored). A segment shorter than a frame gets the frame nearest its middle; one outside the
    frames entirely gets NaN (-1 for "mode").
    """
    reducers = {"mean": np.nanmean, "median": np.nanmedian, "max": np.nanmax, "min": np.nanmin}
    if how not in reducers and how != "mode":
        raise ValueError(f"unknown collapse {how!r} (mean, median, max, min, mode)")
    v = np.asarray(values)
    t = np.asarray(times, dtype=np.float64)
    if v.shape[:1] != t.shape:
        raise ValueError(f"{v.shape[0]} frames but {t.shape[0]} times")
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    rows = []
    for s, e in segments:
        if e < s:
            raise ValueError(f"segment ({s}, {e}) ends before it starts")
        a, b = np.searchsorted(t, [s, e], side="left")
        if b <= a:
            mid = (s + e) / 2
            k = int(np.argmin(np.abs(t - mid))) if t.size else -1
            if k < 0 or abs(t[k] - mid) > max(step, e - s) / 2 + 1e-9:
                rows.append(np.full(v.shape[1:], -1 if how == "mode" else np.nan))
                continue
            a, b = k, k + 1
        chunk = v[a:b]
        if how == "mode":
            rows.append(_mode(chunk))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN segment is NaN
                rows.append(reducers[how](chunk.astype(np.float64), axis=0))
    if how == "mode":
        return np.asarray(rows, dtype=np.int64).reshape((len(segments),) + v.shape[1:])
    return np.asarray(rows, dtype=np.float32).reshape((len(segments),) + v.shape[1:])


def _mode(chunk: np.ndarray) -> np.ndarray:
    c = np.asarray(chunk).astype(np.int64)
    if c.ndim == 1:
        c = c[c >= 0]
        return np.asarray(np.bincount(c).argmax() if c.size else -1)
    return np.asarray([_mode(c[:, j]) for j in range(c.shape[1])])


# -- who spoke when ------------------------------------------------------------------------------


class RttmLabels(NamedTuple):
    """`speech`: the union of all turns (label "speech"); `speaker`: who speaks, "overlap" where
    several do; `speakers`: one tier per speaker (its turns, overlaps within a speaker merged)."""

    speech: IntervalTier
    speaker: IntervalTier
    speakers: dict[str, IntervalTier]


def union_tier(spans: list[tuple[float, float]], name: str = "speech", label: str = "speech") -> IntervalTier:
    """A non-overlapping interval tier covering the union of `spans`."""
    merged: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in spans if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return IntervalTier(name, [Interval(a, b, label) for a, b in merged])


def labels_from_rttm(path: str | os.PathLike[str], uri: str | None = None) -> RttmLabels:
    """Label tiers of one recording (`uri`, the RTTM file id; may be None when the file has one)."""
    from studio.io.rttm import read_rttm

    session = read_rttm(path)
    turns: dict[str, list[tuple[float, float]]] = {}
    uris = set()
    for tier in session.interval_tiers():
        meta = tier.attrs.get("rttm", {})
        if meta.get("type", "SPEAKER") != "SPEAKER":
            continue
        uris.add(meta.get("file"))
        if uri is not None and meta.get("file") != uri:
            continue
        spk = str(meta.get("speaker") or tier.name)
        turns.setdefault(spk, []).extend((iv.start, iv.end) for iv in tier)
    if uri is None and len(uris) > 1:
        raise ValueError(f"{path}: holds {len(uris)} recordings; say which (uri=, one of {sorted(uris)})")
    if not turns:
        raise ValueError(f"{path}: no speaker turns for {uri!r} (recordings: {sorted(u for u in uris if u)})")
    speakers = {s: union_tier(sp, s, s) for s, sp in turns.items()}
    speech = union_tier([x for sp in turns.values() for x in sp])
    # who speaks: cut at every boundary, label each piece with its speaker or "overlap"
    cuts = sorted({t for tier in speakers.values() for iv in tier for t in (iv.start, iv.end)})
    pieces: list[Interval] = []
    for a, b in zip(cuts, cuts[1:]):
        mid = (a + b) / 2
        who = [s for s, tier in speakers.items() if tier.at(mid) is not None]
        if not who:
            continue
        label = who[0] if len(who) == 1 else "overlap"
        if pieces and pieces[-1].label == label and abs(pieces[-1].end - a) < 1e-9:
            pieces[-1] = Interval(pieces[-1].start, b, label)
        else:
            pieces.append(Interval(a, b, label))
    return RttmLabels(speech, IntervalTier("speaker", pieces), speakers)


def read_uem(path: str | os.PathLike[str], uri: str | None = None) -> list[tuple[float, float]]:
    """The annotated spans of a UEM file (``uri channel start end`` per line) for one recording."""
    spans = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        f = line.split()
        if not f or f[0].startswith(";;"):
            continue
        if len(f) < 4:
            raise ValueError(f"{path}, line {lineno}: a UEM line has 4 fields (uri channel start end)")
        if uri is None or f[0] == uri:
            spans.append((float(f[2]), float(f[3])))
    return spans
