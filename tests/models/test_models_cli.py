"""`studio predict` and `studio train` on real recordings: the bundled speech-activity model, and a
model trained from a session file then run on another recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio import io
from studio.cli import main

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def test_bundled_speech_activity_model_writes_rttm_and_eaf(shared_data: Path, tmp_path: Path, capsys):
    clip = shared_data / "grid" / "swwp2s.mpg"  # held out from its training (hand-aligned)
    out = tmp_path / "swwp2s.rttm"
    assert main(["predict", "--model", "speech-activity", str(clip), "-o", str(out)]) == 0
    assert "speech-activity segments" in capsys.readouterr().err
    turns = [line.split() for line in out.read_text().splitlines()]
    assert turns and all(t[0] == "SPEAKER" for t in turns)
    # against the hand alignment (swwp2s.align: speech from 0.49 to 2.21 s), frame by frame (10 ms)
    t = [k / 100 for k in range(300)]
    truth = [0.49 <= x < 2.21 for x in t]
    said = [any(float(a[3]) <= x < float(a[3]) + float(a[4]) for a in turns) for x in t]
    tp = sum(a and b for a, b in zip(truth, said))
    f1 = 2 * tp / (sum(truth) + sum(said))
    assert f1 > 0.85, (f1, turns)  # measured 0.91 (0.56-2.04 s)
    eaf = tmp_path / "swwp2s.eaf"
    assert main(["predict", "--model", "speech-activity", str(clip), "-o", str(eaf)]) == 0
    assert [iv.label for iv in io.read(eaf).tier("speech-activity")] == ["speech"] * len(turns)
    js = tmp_path / "swwp2s.json"  # a format that keeps confidences and the confidence curve
    assert main(["predict", "--model", "speech-activity", str(clip), "-o", str(js)]) == 0
    s = io.read(js)
    assert all(0.5 <= iv.confidence <= 1.0 for iv in s.tier("speech-activity"))
    assert len(s.tier("speech-activity confidence")) == 75  # 3 s at 25 frames a second


def test_train_on_a_session_then_predict_another_recording(shared_data: Path, tmp_path: Path, capsys):
    model = tmp_path / "words.pt"
    argv = [
        "train",
        str(DEMO / "demo.studio"),
        "--tier",
        "words",
        "--kind",
        "early",
        "--epochs",
        "8",
        "-o",
        str(model),
    ]
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert "trained early" in said and "held-out macro F1" in said and model.exists()
    out = tmp_path / "bbaf2n.TextGrid"
    assert main(["predict", str(model), str(shared_data / "grid" / "bbaf2n.mpg"), "-o", str(out)]) == 0
    assert io.read(out).has_tier("words")


def test_cli_errors_name_the_problem(tmp_path: Path, capsys):
    assert (
        main(
            ["predict", "--model", "no-such-model", str(DEMO / "swwp2s.mpg"), "-o", str(tmp_path / "x.rttm")]
        )
        == 1
    )
    assert "no-such-model" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert main(["predict", str(bad), str(DEMO / "swwp2s.mpg"), "-o", str(tmp_path / "x.rttm")]) == 1
    assert "bad.pt" in capsys.readouterr().err
    assert main(["train", str(DEMO / "demo.studio"), "--tier", "nope", "-o", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert "no tier named 'nope'" in err and "words" in err
    with pytest.raises(SystemExit):
        main(["predict", "-o", "x.rttm"])


def test_segment_classification_labels_each_interval(tmp_path: Path, capsys):
    """--segments: one label per interval of a tier (here silence, the sentence, silence of the demo)."""
    from studio.core.annotations import Interval
    from studio.core.session import Session
    from studio.core.tiers import IntervalTier

    segs = tmp_path / "parts.TextGrid"
    io.write(
        Session(
            [
                IntervalTier(
                    "parts", [Interval(0.0, 0.4, "x"), Interval(0.7, 2.0, "y"), Interval(2.5, 3.0, "z")]
                )
            ]
        ),
        segs,
    )
    out = tmp_path / "parts.csv"
    argv = [
        "predict",
        "--model",
        "speech-activity",
        str(DEMO / "swwp2s.mpg"),
        "--segments",
        f"{segs}:parts",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    tier = io.read(tmp_path / "parts.csv").interval_tiers()[0]
    assert [iv.label for iv in tier] == ["non-speech", "speech", "non-speech"]
    assert main(argv[:5] + [f"{segs}:nope", "-o", str(out)]) == 1
    assert "no interval tier named 'nope'" in capsys.readouterr().err


def test_train_speech_activity_from_an_rttm_of_several_meetings(shared_data: Path, tmp_path: Path, capsys):
    """AMI's RTTM holds ten meetings: each recording learns from its own turns only, and the gaps are
    "non-speech" frames (they were once left unlabelled: one class, a held-out F1 of 1.000)."""
    from studio.models.fusion import FusionModel

    rttm = shared_data / "ami" / "debug.train.rttm"
    data = [f"{shared_data / 'ami' / n}.wav={rttm}" for n in ("trn00", "trn01")]
    out = tmp_path / "sa.pt"
    assert (
        main(
            [
                "train",
                *data,
                "--speech-activity",
                "--modalities",
                "audio",
                "--kind",
                "unimodal",
                "--epochs",
                "10",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    held = FusionModel.load(out).card.metrics["held_out"]
    assert set(held["per_class_f1"]) == {"non-speech", "speech"} and held["frames"] > 700
    capsys.readouterr()
    other = f"{shared_data / 'ami' / 'dev00.wav'}={rttm}"
    assert main(["train", other, "--speech-activity", "-o", str(out)]) == 1
    assert "none named 'dev00'" in capsys.readouterr().err
