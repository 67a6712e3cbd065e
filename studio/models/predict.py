"""From a model's frame outputs to annotations: prediction tiers, confidence curves, train/held-out splits.

    model = load_model("speech-activity")                     # a bundled model, or a .pt path
    session = run(predict_task(model, "meeting.wav"))         # tiers "speech-activity" + its confidence
    io.write(session, "meeting.rttm")

A frame classifier gives class probabilities every `hop` seconds. Annotators want intervals: the
probabilities are smoothed over a few frames (a moving average, so a single noisy frame does not
open a segment), each frame takes the most probable class, runs of one class become intervals, and
runs shorter than `min_duration` are merged into the neighbour they most resemble. Each interval's
confidence is the mean probability of its class over its frames, so the review queue (lowest
first) and the timeline tint show where the model was unsure; a background class (e.g.
"non-speech") is left as a gap. The confidence curve (the winning class's probability per frame)
goes with it as a curve tier. Regression models give a curve tier of values.

`annotated_split` cuts one recording into what a person annotated (train and a held-out tail for
early stopping and the metrics table) and the rest (to predict): the cooperative loop of the window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.annotations import Interval
from ..core.session import Session
from ..core.tiers import CurveTier, IntervalTier
from ..tasks.base import Progress, Task, run, scaled

__all__ = [
    "BUNDLED",
    "bundled_model_path",
    "load_model",
    "frames_to_intervals",
    "prediction_tiers",
    "segment_labels",
    "predict_task",
    "predict",
    "annotated_span",
    "annotated_split",
]

#: models shipped in resources/models: name -> folder (model.pt inside)
BUNDLED = {"speech-activity": "speech_activity"}


def _resources() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "models"


def bundled_model_path(name: str) -> Path:
    if name not in BUNDLED:
        raise ValueError(f"no bundled model {name!r} (bundled: {', '.join(BUNDLED)})")
    path = _resources() / BUNDLED[name] / "model.pt"
    if not path.exists():
        raise FileNotFoundError(
            2,
            f"the bundled model {name!r} is missing (train it: python -m studio.models.train_demo)",
            str(path),
        )
    return path


def load_model(spec: str | os.PathLike[str], device: Any = None) -> Any:
    """A bundled model by name ("speech-activity") or a Studio model file (.pt)."""
    from .fusion import FusionModel

    path = bundled_model_path(str(spec)) if str(spec) in BUNDLED else Path(spec)
    if not path.exists():
        raise FileNotFoundError(2, "no such model file", str(path))
    return FusionModel.load(path, device=device)


def _smooth(probs: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1 or len(probs) < 2:
        return probs
    k = np.ones(frames) / frames
    pad = frames // 2
    padded = np.pad(probs, ((pad, frames - 1 - pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], k, mode="valid") for c in range(probs.shape[1])], axis=1)


def frames_to_intervals(
    probs: np.ndarray,
    hop: float,
    classes: list[str],
    *,
    start: float = 0.0,
    skip: tuple[str, ...] = (),
    min_duration: float = 0.1,
    smooth: int = 5,
    source: str = "model",
    valid: np.ndarray | None = None,
) -> list[Interval]:
    """Intervals of the most probable class (see the module docstring). `valid` (T,) bool: frames
    to annotate (others are left as gaps: e.g. the part a person already annotated)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise ValueError(f"probabilities of shape {p.shape} do not match {len(classes)} classes")
    T = len(p)
    if T == 0:
        return []
    ps = _smooth(p, smooth)
    idx = ps.argmax(axis=1)
    ok = np.ones(T, bool) if valid is None else np.asarray(valid, bool)
    # runs of (class, valid)
    key = np.where(ok, idx, -1)
    cuts = np.flatnonzero(np.diff(key)) + 1
    bounds = np.concatenate([[0], cuts, [T]])
    runs = [[int(key[a]), int(a), int(b)] for a, b in zip(bounds[:-1], bounds[1:])]
    min_frames = max(1, round(min_duration / hop))
    changed = True
    while changed and len(runs) > 1:  # merge the shortest too-short valid run into its likelier neighbour
        changed = False
        short = [k for k, r in enumerate(runs) if r[0] >= 0 and r[2] - r[1] < min_frames]
        if not short:
            break
        k = min(short, key=lambda k: runs[k][2] - runs[k][1])
        c, a, b = runs[k]
        nbrs = [j for j in (k - 1, k + 1) if 0 <= j < len(runs) and runs[j][0] >= 0]
        if not nbrs:
            continue
        j = max(nbrs, key=lambda j: float(ps[a:b, runs[j][0]].mean()))
        runs[j] = [runs[j][0], min(runs[j][1], a), max(runs[j][2], b)]
        del runs[k]
        merged: list[list[int]] = []
        for r in runs:
            if merged and merged[-1][0] == r[0] and merged[-1][2] == r[1]:
                merged[-1][2] = r[2]
            else:
                merged.append(r)
        runs = merged
        changed = True
    out = []
    for c, a, b in runs:
        if c < 0 or classes[c] in skip:
            continue
        conf = float(np.clip(p[a:b, c].mean(), 0.0, 1.0))
        out.append(
            Interval(start + a * hop, start + b * hop, classes[c], confidence=round(conf, 4), source=source)
        )
    return out


def prediction_tiers(
    out: np.ndarray,
    hop: float,
    *,
    name: str,
    classes: list[str] | None,
    start: float = 0.0,
    skip: tuple[str, ...] = (),
    source: str = "model",
    valid: np.ndarray | None = None,
    min_duration: float = 0.1,
) -> list[Any]:
    """[prediction IntervalTier, confidence CurveTier] for a classifier; [values CurveTier] for regression."""
    attrs = {"prediction": {"model": source}}
    if classes is None:
        return [CurveTier(name, np.asarray(out, dtype=float), rate=1.0 / hop, start=start, attrs=attrs)]
    ivs = frames_to_intervals(
        out, hop, classes, start=start, skip=skip, source=source, valid=valid, min_duration=min_duration
    )
    tier = IntervalTier(name, ivs, attrs=attrs)
    conf = np.asarray(out, dtype=float).max(axis=1)
    curve = CurveTier(f"{name} confidence", conf, rate=1.0 / hop, start=start, unit="p", attrs=attrs)
    return [tier, curve]


def segment_labels(
    probs: np.ndarray,
    times: np.ndarray,
    classes: list[str],
    segments: IntervalTier,
    *,
    name: str | None = None,
    source: str = "model",
    keep: Any = None,
) -> IntervalTier:
    """Segment classification: each interval of `segments` (utterances, turns, gestures...) gets
    the class whose mean probability over the frames inside it is highest (CMU-MultimodalSDK's
    collapse, `studio.models.framedata.collapse`), with that mean as its confidence. `times`: the
    frames' times, on the same clock as `segments`. `keep(interval) -> bool` picks the segments to
    label (e.g. those a person has not labelled yet)."""
    from .framedata import collapse

    ivs = [iv for iv in segments if keep is None or keep(iv)]
    rows = collapse(np.asarray(probs, dtype=np.float64), times, [(iv.start, iv.end) for iv in ivs])
    out = []
    for iv, row in zip(ivs, rows):
        if not np.all(np.isfinite(row)):
            continue  # outside the recording
        c = int(np.argmax(row))
        out.append(
            iv.replace(label=classes[c], confidence=round(float(np.clip(row[c], 0, 1)), 4), source=source)
        )
    return IntervalTier(name or f"{segments.name} ({source})", out, attrs={"prediction": {"model": source}})


def _background(classes: list[str] | None) -> tuple[str, ...]:
    if not classes:
        return ()
    return tuple(c for c in classes if c in ("-", "non-speech", "background", "none", ""))


def predict_task(
    model: Any,
    media: str | os.PathLike[str],
    *,
    name: str | None = None,
    text: Any = None,
    segments: IntervalTier | None = None,
    device: Any = None,
) -> Task[Session]:
    """Run `model` over a whole recording: a Session holding its prediction tiers (any format can
    write it: RTTM, EAF, TextGrid, CSV...). With `segments` (a classifier only), one label per
    segment instead (`segment_labels`)."""
    from .framedata import frame_data_task

    card = model.card
    path = Path(media)
    if not path.exists():
        from ..media.probe import MediaError

        raise MediaError(path, "no such file")
    yield Progress(0.0, f"features of {path.name}")
    mods = tuple(card.inputs)
    data = yield from scaled(frame_data_task(path, modalities=mods, hop=card.hop, text=text), 0.0, 0.8)
    yield Progress(0.8, "predicting")
    out = model.predict(data, device=device)
    yield Progress(0.95, "making tiers")
    if segments is not None:
        if card.classes is None:
            raise ValueError(f"{card.name}: a regression model gives values, not segment labels")
        tiers = [segment_labels(out, data.times(), card.classes, segments, name=name, source=card.name)]
    else:
        tiers = prediction_tiers(
            out,
            data.hop,
            name=name or card.name,
            classes=card.classes,
            start=data.start,
            skip=_background(card.classes),
            source=card.name,
        )
    from ..core.session import MediaRef

    kind = "video" if "video" in data.features and bool(np.any(data.present.get("video", False))) else "audio"
    session = Session(tiers, [MediaRef(str(path.resolve()), kind=kind)])
    session.metadata["prediction"] = {"model": card.name, "kind": card.kind, "frames": int(data.T)}
    yield Progress(1.0, "done")
    return session


def predict(model: Any, media: str | os.PathLike[str], **kw: Any) -> Session:
    return run(predict_task(model, media, **kw))


def annotated_span(tier: IntervalTier, selection: tuple[float, float] | None = None) -> tuple[float, float]:
    """The time a person annotated on `tier`: the selection when given, else from the tier's first
    start to its last end (gaps inside it count as the background class)."""
    if selection is not None and selection[1] > selection[0]:
        return float(selection[0]), float(selection[1])
    ivs = [iv for iv in tier if iv.label.strip()]
    if not ivs:
        raise ValueError(f"tier {tier.name!r} has no annotations to learn from")
    return float(ivs[0].start), float(ivs[-1].end)


def annotated_split(
    data: Any, span: tuple[float, float], held_out: float = 0.2
) -> tuple[Any, Any, np.ndarray]:
    """(train, held-out, rest mask): the frames inside `span` split in time (the last `held_out`
    share held out, so the model is judged on a stretch it never saw), and the frames outside it."""
    t = data.times()
    inside = (t >= span[0]) & (t < span[1])
    if inside.sum() < 10:
        raise ValueError(f"the annotated part ({span[0]:.1f}-{span[1]:.1f} s) is too short to learn from")
    cut = span[0] + (span[1] - span[0]) * (1.0 - held_out)
    train = data.select(inside & (t < cut))
    val = data.select(inside & (t >= cut))
    return train, val, ~inside
