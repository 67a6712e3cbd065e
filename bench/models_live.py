"""End-to-end live latency: the demo recording played as a device through a live model.

The recording (resources/demo/swwp2s.mpg, or a file given) is delivered by `RecordingSource` in
512-sample blocks at 16 kHz and video frames at 25 fps, at real-time pace, to a `LivePredictor`
running a small fusion model (early fusion of audio and video, trained for a few epochs on the
demo's words so its weights are those of a real model). Latency is from the arrival of the block
that completes a frame to that frame's prediction. Goal: mean and p95 < 100 ms.

    .venv/bin/python bench/models_live.py [media] [--kind early] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("media", nargs="?", default=str(DEMO / "swwp2s.mpg"))
    ap.add_argument("--kind", default="early", help="fusion kind (early, late, tfn, lmf, mult)")
    ap.add_argument("--repeat", type=int, default=2, help="real-time plays of the recording")
    ap.add_argument("--window", type=int, default=64, help="frames given to the model per prediction")
    args = ap.parse_args()

    from studio import io
    from studio.models.framedata import frame_data, union_tier
    from studio.models.fusion import FusionModel
    from studio.models.live import LivePredictor, RecordingSource

    words = io.read(DEMO / "demo.studio").tier("words")
    speech = union_tier([(iv.start, iv.end) for iv in words])
    t = time.perf_counter()
    data = frame_data(DEMO / "swwp2s.mpg", labels=speech)
    model = FusionModel(args.kind, data.dims(), classes=data.classes, hidden=32)
    model.fit([data], epochs=5)
    print(
        f"model: {args.kind}, {model.parameters_count()} parameters, trained in {time.perf_counter() - t:.1f} s"
    )
    feats = {m: data.features[m][: args.window] for m in model.inputs}
    t = time.perf_counter()
    for _ in range(20):
        model.predict_window(feats)
    print(f"predict_window on {args.window} frames: {(time.perf_counter() - t) / 20 * 1000:.2f} ms")

    for run in range(args.repeat):
        pred = LivePredictor(model.predict_window, modalities=tuple(model.inputs), window_frames=args.window)
        source = RecordingSource(args.media, realtime=True)
        t = time.perf_counter()
        pred.start(source)
        source.finished.wait(3600)
        played = time.perf_counter() - t
        t = time.perf_counter()
        pred.stop()
        stop = time.perf_counter() - t
        lat = pred.latency()
        times, _ = pred.results()
        ms = {k: lat[k] * 1000 for k in ("mean", "p95", "max")}
        verdict = "ok" if ms["mean"] < 100 and ms["p95"] < 100 else "OVER the 100 ms goal"
        print(
            f"play {run + 1}: {len(times)} frames in {played:.2f} s; latency mean {ms['mean']:.1f} ms, "
            f"p95 {ms['p95']:.1f} ms, max {ms['max']:.1f} ms; stop {stop * 1000:.0f} ms — {verdict}"
        )
        assert np.allclose(np.diff(times), pred.hop), "a frame was skipped"


if __name__ == "__main__":
    main()
