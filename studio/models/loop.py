"""The cooperative annotation loop, Qt-free: train models on what a person annotated, predict the rest.

    res = run(train_models_task(media_ref, tier, span, models=[("late", "late", None)]))
    tiers = run(predict_rest_task(res.results[0]["model"], res, media_ref, name="gesture (predicted)"))

`train_models_task` takes one recording (a session `MediaRef`: its offset and warp map session time to
the media's own time, which the features use), the tier to learn (an interval tier: frame labels,
gaps are the background class "-"; or a curve tier: regression), the annotated span (session
time), and the models to compare. It computes the frame data once (`studio.models.framedata`;
pass `data=` to reuse it), labels only the frames inside the span, plus the frames of `accepted`
predicted intervals (a person accepted or corrected them: confidence 1), holds out the last fifth
of the span for early stopping and the metrics, and trains each model (`FusionModel.fit_task`),
yielding progress whose `data` carries the model's loss history so far (a view draws the curve).
`predict_rest_task` labels the frames outside the annotated span and returns session-time tiers.

The window's Models dock runs both on its device worker; `bench/models_loop.py` times them on a
ten-minute recording.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.annotations import Interval
from ..core.tiers import CurveTier, IntervalTier
from ..tasks.base import Progress, Task, scaled

__all__ = ["LoopResult", "train_models_task", "predict_rest_task", "to_media_tier", "classes_of"]


@dataclass
class LoopResult:
    data: Any  # FrameData of the whole recording (media time)
    rest: np.ndarray  # (T,) bool: frames outside the annotated span (to predict)
    classes: list[str] | None
    results: list[dict[str, Any]] = field(default_factory=list)  # {"label", "model", "metrics", "seconds"}
    key: Any = None
    train_frames: int = 0  # labelled frames trained on (annotated part + accepted predictions)
    held_out_frames: int = 0

    def best(self) -> dict[str, Any]:
        """The model with the best held-out score (macro F1; for regression the lowest MAE)."""
        if self.classes is None:
            return min(self.results, key=lambda r: r["metrics"].get("mae", np.inf))
        return max(self.results, key=lambda r: r["metrics"].get("macro_f1", 0.0))


def to_media_tier(tier: Any, media: Any) -> Any:
    """A copy of `tier` with its times on `media`'s own clock (session time - offset, through a warp)."""
    if getattr(media, "offset", 0.0) == 0.0 and getattr(media, "warp", None) is None:
        return tier
    conv = media.to_media_time
    if isinstance(tier, CurveTier):
        return CurveTier(
            tier.name, tier.values, times=np.asarray(conv(tier.times), dtype=float), unit=tier.unit
        )
    return IntervalTier(
        tier.name,
        [iv.replace(start=float(conv(iv.start)), end=float(conv(iv.end))) for iv in tier],
        allow_overlap=getattr(tier, "allow_overlap", False),
    )


def classes_of(tier: Any, accepted: list[Interval] = ()) -> list[str] | None:  # type: ignore[assignment]
    """The classes a model learns from `tier` ("-" first: the background), or None (a curve: regression)."""
    if isinstance(tier, CurveTier):
        return None
    return ["-", *sorted({iv.label for iv in tier if iv.label.strip()} | {iv.label for iv in accepted})]


def train_models_task(
    media: Any,
    labels: Any,
    span: tuple[float, float],
    *,
    models: list[tuple[str, str, str | None]],
    modalities: tuple[str, ...] = ("audio", "video"),
    text: IntervalTier | None = None,
    accepted: list[Interval] = (),  # type: ignore[assignment]
    data: Any = None,
    held_out: float = 0.2,
    epochs: int = 60,
    device: Any = None,
) -> Task[LoopResult]:
    """Train `models` ((label, kind, modality-for-unimodal) rows) on the annotated `span` of `labels`
    (see the module docstring); `data`: the FrameData of an earlier call for the same recording."""
    from .framedata import frame_data_task
    from .fusion import FusionModel, evaluate

    if not models:
        raise ValueError("no model to train")
    accepted = list(accepted)
    classes = classes_of(labels, accepted)
    key = (media.path, media.offset, tuple(modalities), labels.name, tuple(classes or ()))
    mlabels = to_media_tier(labels, media)
    mtext = to_media_tier(text, media) if text is not None else None
    if data is None:
        data = yield from scaled(
            frame_data_task(media.path, modalities=modalities, labels=mlabels, text=mtext, classes=classes),
            0,
            0.2,
        )
    t = data.times()
    m0, m1 = (float(media.to_media_time(x)) for x in span)
    inside = (t >= m0) & (t < m1)
    if inside.sum() < 10:
        raise ValueError(f"the annotated part ({span[0]:.1f}-{span[1]:.1f} s) is too short to learn from")
    labels_arr = np.array(data.labels, copy=True)
    extra = np.zeros(len(t), bool)
    for iv in accepted:  # predictions a person accepted or corrected count as labels
        a, b = float(media.to_media_time(iv.start)), float(media.to_media_time(iv.end))
        sel = (t >= a) & (t < b) & ~inside
        if classes is not None and iv.label in classes:
            labels_arr[sel] = classes.index(iv.label)
            extra |= sel
    full = replace(data, labels=labels_arr)
    cut = m0 + (m1 - m0) * (1.0 - held_out)
    train = [*full.runs(inside & (t < cut)), *full.runs(extra)]
    val = full.select(inside & (t >= cut))
    out = LoopResult(data=data, rest=~inside, classes=classes, key=key, held_out_frames=val.T)
    out.train_frames = sum(d.T for d in train)
    for k, (label, kind, modality) in enumerate(models):
        t0 = time.monotonic()
        kw = {"modality": modality} if kind == "unimodal" else {}
        task = "regression" if classes is None else "frames"
        model = FusionModel(kind, data.dims(), classes=classes, task=task, hop=data.hop, **kw)
        model.card.name = labels.name
        lo, hi = 0.2 + 0.8 * k / len(models), 0.2 + 0.8 * (k + 1) / len(models)
        for p in scaled(model.fit_task(train, val=[val], epochs=epochs, device=device), lo, hi):
            # the whole curve with every update: a view may see only the latest of several
            yield Progress(
                p.fraction, f"{label}: {p.message}", {"model": label, "history": list(model.history)}
            )
        metrics = evaluate(model, [val])
        model.card.metrics = {"held_out": metrics}
        model.card.training_data = [str(media.name)]
        out.results.append(
            {"label": label, "model": model, "metrics": metrics, "seconds": time.monotonic() - t0}
        )
    return out


def predict_rest_task(
    model: Any,
    res: LoopResult,
    media: Any,
    *,
    name: str,
    source: str = "",
    segments: IntervalTier | None = None,
    device: Any = None,
) -> Task[list[Any]]:
    """The model's predictions for the frames outside the annotated span, as session-time tiers
    (`studio.models.predict.prediction_tiers`: labels with confidences and a confidence curve, or a
    curve of values). With `segments` (session time; a classifier), one label per segment whose
    middle lies outside the annotated span instead (`studio.models.predict.segment_labels`)."""
    from .predict import prediction_tiers, segment_labels

    yield Progress(0.1, f"predicting with {source or model.card.kind}")
    data = res.data
    out = model.predict(data, device=device)
    if segments is not None:
        if res.classes is None:
            raise ValueError("a regression model gives values, not segment labels")
        t = data.times()

        def outside(iv: Interval) -> bool:
            k = int(np.clip(np.searchsorted(t, (iv.start + iv.end) / 2, side="right") - 1, 0, len(t) - 1))
            return bool(res.rest[k])

        seg = segment_labels(out, t, res.classes, to_media_tier(segments, media), name=name,
                             source=source or model.card.kind, keep=outside)  # fmt: skip
        yield Progress(1.0, "done")
        return [_to_session(seg, media) if media.offset != 0.0 or media.warp is not None else seg]
    if res.classes is None:  # regression: values for the rest, NaN where a person annotated
        out = np.where(res.rest, out, np.nan)
    yield Progress(0.8, "making tiers")
    tiers = prediction_tiers(out, data.hop, name=name, classes=res.classes, start=data.start, skip=("-",),
                             source=source or model.card.kind, valid=res.rest)  # fmt: skip
    if media.offset != 0.0 or media.warp is not None:  # media time -> session time
        tiers = [_to_session(t, media) for t in tiers]
    return tiers


def _to_session(tier: Any, media: Any) -> Any:
    conv = media.to_session_time
    if isinstance(tier, CurveTier):
        times = np.asarray(conv(tier.times), dtype=float)
        return CurveTier(tier.name, tier.values, times=times, unit=tier.unit, attrs=tier.attrs)
    ivs = [iv.replace(start=float(conv(iv.start)), end=float(conv(iv.end))) for iv in tier]
    return IntervalTier(tier.name, ivs, attrs=tier.attrs)
