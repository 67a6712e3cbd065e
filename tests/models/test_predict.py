"""Frame probabilities to annotations: runs, smoothing, short runs merged, confidences, valid frames."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.annotations import Interval
from studio.core.tiers import IntervalTier
from studio.models.predict import annotated_span, frames_to_intervals, prediction_tiers

CLASSES = ["non-speech", "speech"]


def probs_of(speech: np.ndarray, sure: float = 0.9) -> np.ndarray:
    p = np.where(speech, sure, 1 - sure)
    return np.column_stack([1 - p, p])


def test_runs_become_intervals_with_their_mean_probability():
    speech = np.zeros(100, bool)
    speech[20:50] = True
    speech[70:90] = True
    p = probs_of(speech)
    p[25:35, 1] = 0.7  # less sure in part of the first segment
    p[25:35, 0] = 0.3
    ivs = frames_to_intervals(p, 0.04, CLASSES, start=1.0, skip=("non-speech",), source="m")
    assert [(round(iv.start, 3), round(iv.end, 3), iv.label) for iv in ivs] == [
        (1.8, 3.0, "speech"),
        (3.8, 4.6, "speech"),
    ]
    assert ivs[0].confidence == pytest.approx((10 * 0.7 + 20 * 0.9) / 30, abs=1e-4)
    assert ivs[1].confidence == pytest.approx(0.9) and ivs[0].source == "m"


def test_a_flicker_does_not_open_a_segment_and_short_runs_merge():
    speech = np.zeros(200, bool)
    speech[50:150] = True
    speech[100] = False  # one frame of doubt inside speech
    speech[10] = True  # one stray frame in silence
    speech[170:172] = True  # 80 ms burst: shorter than min_duration (0.1 s)
    ivs = frames_to_intervals(probs_of(speech), 0.04, CLASSES, skip=("non-speech",))
    assert [(round(iv.start, 2), round(iv.end, 2)) for iv in ivs] == [(2.0, 6.0)]
    every = frames_to_intervals(probs_of(speech), 0.04, CLASSES, smooth=1, min_duration=0.0)
    assert len(every) > 5  # without smoothing and merging each flicker is its own interval
    assert [iv.label for iv in every[:3]] == ["non-speech", "speech", "non-speech"]


def test_valid_frames_leave_the_rest_as_gaps_and_tiers_carry_a_confidence_curve():
    speech = np.zeros(100, bool)
    speech[10:90] = True
    valid = np.ones(100, bool)
    valid[:50] = False  # annotated by a person already
    tiers = prediction_tiers(
        probs_of(speech), 0.04, name="speech (predicted)", classes=CLASSES, skip=("non-speech",), valid=valid
    )
    tier, curve = tiers
    assert [(round(iv.start, 2), round(iv.end, 2)) for iv in tier] == [(2.0, 3.6)]
    assert curve.name == "speech (predicted) confidence" and len(curve) == 100
    assert curve.values.max() == pytest.approx(0.9) and tier.attrs["prediction"]["model"] == "model"
    (values,) = prediction_tiers(np.linspace(0, 1, 50), 0.04, name="arousal", classes=None)
    assert len(values) == 50 and values.rate == pytest.approx(25.0)
    with pytest.raises(ValueError, match="3 classes"):
        frames_to_intervals(probs_of(speech), 0.04, ["a", "b", "c"])


def test_annotated_span_is_the_selection_or_the_tier_extent():
    tier = IntervalTier("gesture", [Interval(2.0, 3.0, "nod"), Interval(5.0, 6.5, "shake")])
    assert annotated_span(tier) == (2.0, 6.5)
    assert annotated_span(tier, (0.0, 10.0)) == (0.0, 10.0)
    with pytest.raises(ValueError, match="no annotations"):
        annotated_span(IntervalTier("empty"))


def test_segment_labels_take_the_class_most_probable_over_each_segment():
    from studio.models.predict import segment_labels

    t = np.arange(100) * 0.04
    speech = (t >= 1.0) & (t < 3.0)
    p = probs_of(speech)
    p[30:35] = [[0.2, 0.8]] * 5  # a little doubt
    segs = IntervalTier("utt", [Interval(0.0, 0.8, "a"), Interval(1.0, 2.0, "b"), Interval(2.5, 3.5, "c")])
    out = segment_labels(p, t, CLASSES, segs, source="m")
    assert [(iv.start, iv.end, iv.label) for iv in out][:2] == [
        (0.0, 0.8, "non-speech"),
        (1.0, 2.0, "speech"),
    ]
    assert out[0].confidence == pytest.approx(0.9) and out[1].confidence == pytest.approx(
        (20 * 0.9 + 5 * 0.8) / 25
    )
    assert out.name == "utt (m)" and all(iv.source == "m" for iv in out)
    # half speech, half not: the mean decides, and says it was unsure
    assert out[2].confidence == pytest.approx(0.5, abs=0.05)
    only = segment_labels(p, t, CLASSES, segs, keep=lambda iv: iv.label != "b")
    assert [iv.start for iv in only] == [0.0, 2.5]
