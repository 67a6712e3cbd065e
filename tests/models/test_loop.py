"""The cooperative loop without the window: train on an annotated span, predict the rest, with a media
offset (session time is not media time), accepted predictions as extra labels, and regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.annotations import Interval
from studio.core.session import MediaRef
from studio.core.tiers import CurveTier, IntervalTier
from studio.models.loop import predict_rest_task, train_models_task
from studio.tasks.base import run

CLIP = Path(__file__).resolve().parents[2] / "resources" / "demo" / "swwp2s.mpg"
SPEECH = (0.49, 2.21)  # swwp2s.align: the sentence, media time


def test_offset_media_trains_and_predicts_in_session_time():
    media = MediaRef(str(CLIP), kind="video", offset=10.0)  # the clip starts 10 s into the session
    talk = IntervalTier("talk", [Interval(10.0 + SPEECH[0], 10.0 + 1.6, "speech")])
    res = run(
        train_models_task(media, talk, (10.0, 11.6), models=[("audio", "unimodal", "audio")], epochs=30)
    )
    assert res.classes == ["-", "speech"] and res.rest.sum() == res.data.T - 40  # 1.6 s at 25 frames/s
    (r,) = res.results
    assert r["metrics"]["frames"] == 8 and r["model"].card.name == "talk"
    tier, curve = run(predict_rest_task(r["model"], res, media, name="talk (predicted)"))
    assert len(tier) >= 1 and all(iv.start >= 11.6 - 1e-6 for iv in tier)  # session time, after the span
    # the speech the model finds after the annotated part ends where the sentence does (2.21 s + 10)
    assert tier[-1].end == pytest.approx(10.0 + SPEECH[1], abs=0.25), [(iv.start, iv.end) for iv in tier]
    assert curve.times[0] == pytest.approx(10.0, abs=1e-6) and len(curve) == res.data.T


def test_accepted_predictions_count_as_labels():
    media = MediaRef(str(CLIP), kind="video")
    talk = IntervalTier("talk", [Interval(SPEECH[0], 1.2, "speech")])
    plain = run(train_models_task(media, talk, (0.0, 1.2), models=[("late", "late", None)], epochs=5))
    accepted = [Interval(1.6, 2.2, "speech", confidence=1.0)]
    more = run(
        train_models_task(
            media,
            talk,
            (0.0, 1.2),
            models=[("late", "late", None)],
            accepted=accepted,
            data=plain.data,
            epochs=5,
        )
    )
    assert more.data is plain.data  # the features are computed once
    # 1.6-2.2 s: 15 more frames labelled "speech" (the held-out part stays the same)
    assert more.train_frames == plain.train_frames + 15 and more.held_out_frames == plain.held_out_frames
    with pytest.raises(ValueError, match="too short"):
        run(train_models_task(media, talk, (0.0, 0.2), models=[("late", "late", None)], data=plain.data))


def test_regression_of_a_curve_tier():
    """A curve tier's values (here the recording's own loudness, 25 values a second) learned on the
    first 2 s and predicted for the rest: they follow the truth."""
    from studio.models.framedata import frame_data

    fd = frame_data(CLIP, modalities=("audio",))
    loud = fd.features["audio"][:, -1].astype(float)  # RMS in dB, standardised
    curve = CurveTier("loudness", loud, rate=25.0, start=0.0)
    media = MediaRef(str(CLIP), kind="video")
    res = run(
        train_models_task(
            media,
            curve,
            (0.0, 2.0),
            models=[("audio", "unimodal", "audio")],
            modalities=("audio",),
            epochs=60,
        )
    )
    assert res.classes is None and "mae" in res.results[0]["metrics"]
    (values,) = run(predict_rest_task(res.results[0]["model"], res, media, name="loudness (predicted)"))
    v = values.values
    rest = np.isfinite(v)
    assert rest.sum() == res.rest.sum() and not np.isfinite(v[:50]).any()  # the annotated part is left empty
    assert np.corrcoef(v[rest], loud[: len(v)][rest])[0, 1] > 0.8
