"""The shipped speech-activity model on files it was never trained on (held-out GRID clips, clean and
with babble; the frame F1 figures of its card, resources/models/speech_activity/card.md)."""

from __future__ import annotations

import json
from pathlib import Path

from studio.models.fusion import evaluate
from studio.models.predict import load_model
from studio.models.speech_data import speech_activity_data
from studio.models.train_demo import _choose

CARD = Path(__file__).resolve().parents[2] / "resources" / "models" / "speech_activity"


def test_shipped_model_detects_speech_in_held_out_clips_clean_and_noisy(shared_data):
    model = load_model("speech-activity")
    assert model.card.inputs.keys() == {"audio", "video"} and model.card.classes == ["non-speech", "speech"]
    clean = evaluate(model, speech_activity_data("heldout", ami=False, root=shared_data))
    noisy = evaluate(model, speech_activity_data("heldout", ami=False, snr_db=0.0, root=shared_data))
    # measured 0.956 clean and 0.947 at 0 dB babble, where the audio-only model falls to 0.828
    assert clean["per_class_f1"]["speech"] > 0.93, clean
    assert noisy["per_class_f1"]["speech"] > 0.92, noisy
    recorded = json.loads((CARD / "metrics.json").read_text())
    chosen = _choose(recorded)
    assert model.card.notes.startswith(chosen)  # the shipped one is the one the card chose
    assert (
        abs(recorded[chosen]["GRID clean"] - clean["per_class_f1"]["speech"]) < 0.01
    )  # the card is this model


def test_the_card_shows_fusion_beating_each_single_modality_under_noise():
    m = json.loads((CARD / "metrics.json").read_text())
    best = _choose(m)
    for cond in ("GRID babble +0 dB", "GRID babble -5 dB"):
        assert m[best][cond] > max(m["audio only"][cond], m["video only"][cond]), (cond, m)
