"""Benchmark: the fusion model zoo on the speech-activity task of the shipped model.

    python bench/models_zoo.py [--epochs 40]

For each model (audio only, video only, late, early, tensor, low-rank and cross-modal-attention
fusion; same data, same seed as `python -m studio.models.train_demo`): parameters, training time,
frame F1 of the speech class on the held-out files (GRID clean and with AMI babble at 0 and -5 dB,
AMI dev audio only), and the inference real-time factor (seconds of compute per second of
recording, features excluded; the features' own factor is printed once). Goal (issue 8): a fused
model beats each single modality. Live latency: bench/models_live.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.models.train_demo import KINDS  # noqa: E402 - after the sys.path line


def main() -> None:
    from studio.models.framedata import frame_data
    from studio.models.train_demo import train_all

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=40)
    args = p.parse_args()
    res = train_all(args.epochs, kinds=KINDS)
    data = [d for ds in res["data"].values() for d in ds]
    seconds = sum(d.T * d.hop for d in data)
    from studio.models.speech_data import data_root

    clip = data_root() / "grid" / "swwp2s.mpg"
    t0 = time.perf_counter()
    frame_data(clip, modalities=("audio", "video"), hop=0.04)  # cached after the first run
    feat_s = time.perf_counter() - t0
    conds = res["held"]
    print(f"\n{len(res['train'])} training files; held out: {', '.join(conds)} ({seconds:.0f} s)")
    print(f"features of a 3 s clip (audio + video, cached): {feat_s:.2f} s")
    head = f"{'model':30s} {'params':>7s} {'train s':>8s} {'RTF':>8s}  " + "  ".join(
        f"{c[:18]:>18s}" for c in conds
    )
    print(head)
    for label, m in res["metrics"].items():
        model = res["models"][label]
        t0 = time.perf_counter()
        for d in data:
            model.predict(d)
        rtf = (time.perf_counter() - t0) / seconds
        cells = "  ".join(f"{m[c]:18.3f}" if c in m else f"{'-':>18s}" for c in conds)
        print(f"{label:30s} {m['parameters']:7d} {m['train_s']:8.1f} {rtf:8.5f}  {cells}")
    noisy = [c for c in conds if "babble" in c]
    best_single = max(res["metrics"][k][c] for k in ("audio only", "video only") for c in noisy[:1])
    best_fused = max((res["metrics"][k][noisy[0]], k) for k in res["metrics"] if "only" not in k)
    print(
        f"\ngoal: a fused model beats each single modality ({noisy[0]}): best fused {best_fused[1]} "
        f"{best_fused[0]:.3f} vs best single {best_single:.3f} -> {'met' if best_fused[0] > best_single else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
