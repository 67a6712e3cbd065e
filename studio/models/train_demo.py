"""Train the shipped audio-visual speech-activity model: ``python -m studio.models.train_demo``.

Data (`studio.models.speech_data`, all offline, from ``../shared/data``): 8 GRID talking-head clips
(audio + mouth-region motion) and 10 AMI meeting recordings (audio only: their video is absent and
the models see it as missing), labelled speech / non-speech. Because audio alone is nearly perfect
on clean speech, the GRID clips are also used with AMI babble mixed in at 0 and -5 dB SNR: there,
the mouth is what tells speech from babble. Held out (never trained on, not used for early
stopping): the GRID clips swwp2s (hand-aligned), lbbc2a and pwij3p, clean and with babble at 0 and
-5 dB, and the two AMI dev files.

Models trained (`studio.models.fusion`, same seed, same data): audio only, video only, and late,
early, tensor (TFN), low-rank (LMF) and cross-modal-attention (MulT) fusion. The shipped model is the fused one with the best mean speech F1
over the noisy held-out GRID conditions (ties: the smaller). Its card, with every model's frame F1
of the "speech" class per held-out condition, is written next to it (``card.md``, ``metrics.json``);
`resources/models/README.md` quotes it.

Run time on 2 cores: about 2 minutes (features cached after the first run; 4 without the cache).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "train_all"]

KINDS = (
    ("audio only", "unimodal", "audio"),
    ("video only", "unimodal", "video"),
    ("late fusion", "late", None),
    ("early fusion", "early", None),
    ("tensor fusion (TFN)", "tfn", None),
    ("low-rank fusion (LMF)", "lmf", None),
    ("cross-modal attention (MulT)", "mult", None),
)
NOISE = (0.0, -5.0)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _f1(model: Any, data: list[Any]) -> float:
    from .fusion import evaluate

    m = evaluate(model, data)
    return round(float(m["per_class_f1"].get("speech", float("nan"))), 4)


def train_all(epochs: int = 40, seed: int = 0, root: Any = None, kinds: Any = KINDS) -> dict[str, Any]:
    """Train every model of `kinds` ((label, kind, modality) rows); returns {"models": {label: model},
    "metrics": {label: {parameters, train_s, epochs, F1 per held-out condition}}, "held", "train",
    "data": {condition: [FrameData]}}."""
    import torch

    from .fusion import FusionModel
    from .speech_data import speech_activity_data

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t0 = time.monotonic()
    train = speech_activity_data("train", seed=seed, root=root)
    for snr in NOISE:
        train += speech_activity_data("train", snr_db=snr, ami=False, seed=seed, root=root)
    held = {"GRID clean": speech_activity_data("heldout", ami=False, root=root)}
    for snr in NOISE:
        held[f"GRID babble {snr:+.0f} dB"] = speech_activity_data(
            "heldout", snr_db=snr, ami=False, seed=seed, root=root
        )
    held["AMI dev (audio only)"] = speech_activity_data("heldout", grid=False, root=root)
    _say(
        f"data: {len(train)} training files, {sum(len(v) for v in held.values())} held-out ({time.monotonic() - t0:.0f} s)"
    )
    dims = train[0].dims()
    models, metrics = {}, {}
    for label, kind, modality in kinds:
        t1 = time.monotonic()
        kw = {"modality": modality} if modality else {}
        model = FusionModel(kind, dims, classes=["non-speech", "speech"], seed=seed, **kw)
        model.card.name = "speech-activity"
        fit = model.fit(train, epochs=epochs)
        row = {"parameters": model.parameters_count(), "train_s": round(time.monotonic() - t1, 1)}
        row["epochs"] = fit.get("epochs")
        for cond, data in held.items():
            if modality == "video" and cond.startswith("AMI"):
                continue  # no video there: not a condition a video-only model can be judged on
            row[cond] = _f1(model, data)
        models[label], metrics[label] = model, row
        _say(f"{label:24s} " + "  ".join(f"{k}: {v}" for k, v in row.items()))
    return {
        "models": models,
        "metrics": metrics,
        "held": list(held),
        "train": [d.source for d in train],
        "data": held,
    }


def _choose(metrics: dict[str, dict[str, Any]]) -> str:
    noisy = [f"GRID babble {s:+.0f} dB" for s in NOISE]
    fused = [k for k in metrics if "only" not in k]
    return max(
        fused, key=lambda k: (sum(metrics[k][c] for c in noisy) / len(noisy), -metrics[k]["parameters"])
    )


def _table(metrics: dict[str, dict[str, Any]], conds: list[str]) -> str:
    head = "| model | parameters | " + " | ".join(conds) + " |\n|---|---|" + "---|" * len(conds) + "\n"
    rows = ""
    for label, m in metrics.items():
        cells = [f"{m[c]:.3f}" if isinstance(m.get(c), float) else "–" for c in conds]
        rows += f"| {label} | {m['parameters']:,} | " + " | ".join(cells) + " |\n"
    return head + rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m studio.models.train_demo", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[2] / "resources" / "models" / "speech_activity")
    )
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.monotonic()
    res = train_all(args.epochs, args.seed)
    best = _choose(res["metrics"])
    model = res["models"][best]
    model.card.metrics = {"speech_f1_held_out": res["metrics"][best], "all_models": res["metrics"]}
    model.card.training_data = sorted(set(res["train"]))
    model.card.notes = (
        f"{best}, chosen for the best mean speech F1 on the noisy held-out GRID clips; trained by "
        f"python -m studio.models.train_demo --epochs {args.epochs} --seed {args.seed}"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(res["metrics"], indent=1) + "\n")
    card = (
        f"# speech-activity ({best})\n\n"
        "Frame-level speech / non-speech every 40 ms from audio (log-mel 40 + RMS) and mouth-region motion "
        "(`studio.models.framedata`). Trained by `python -m studio.models.train_demo` "
        f"(epochs {args.epochs}, seed {args.seed}, {time.monotonic() - t0:.0f} s on this machine).\n\n"
        "Frame F1 of the speech class on files never trained on (held-out GRID clips swwp2s, lbbc2a, pwij3p, clean "
        "and with AMI babble; AMI dev00/dev01, audio only):\n\n"
        + _table(res["metrics"], res["held"])
        + "\nTraining files: "
        + ", ".join(sorted({Path(s).name for s in res["train"]}))
        + "\n"
    )
    (out / "card.md").write_text(card)
    _say(card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
