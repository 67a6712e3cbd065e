"""Benchmark: the cooperative loop on a ten-minute audio-visual recording (issue 8: Train in under 60 s on CPU).

    python bench/models_loop.py [--minutes 10] [--models late,audio]

The recording: GRID talking-head clips (../shared/data/grid, real video and speech) looped to the
length asked, re-encoded once to an MP4 in a temporary folder (ffmpeg); speech labels from each clip's
alignment (`studio.models.speech_data.speech_tier_of`). A person "annotated" the first half. Printed:
feature extraction (first time, then cached), then per model the training time (the Models dock's
Train: `studio.models.loop.train_models_task`, 60 epochs at most with early stopping), held-out F1,
and the time to predict the other half (Predict the rest).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHOICES = {
    "late": ("late fusion", "late", None),
    "early": ("early fusion", "early", None),
    "lmf": ("low-rank fusion", "lmf", None),
    "tfn": ("tensor fusion", "tfn", None),
    "mult": ("cross-modal attention", "mult", None),
    "audio": ("audio only", "unimodal", "audio"),
    "video": ("video only", "unimodal", "video"),
}


def main() -> None:
    import os

    from studio.core.annotations import Interval
    from studio.core.session import MediaRef
    from studio.core.tiers import IntervalTier
    from studio.models.loop import predict_rest_task, train_models_task
    from studio.models.speech_data import grid_clips, speech_tier_of
    from studio.tasks.base import run

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--models", default="late,early,audio")
    args = p.parse_args()
    os.environ.setdefault("STUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="studio-bench-cache-"))
    clips = grid_clips()
    tiers = [run(speech_tier_of(c)) for c in clips]
    work = Path(tempfile.mkdtemp(prefix="studio-bench-loop-"))
    listing, speech, t, k = [], [], 0.0, 0
    while t < args.minutes * 60:
        c, tier = clips[k % len(clips)], tiers[k % len(clips)]
        listing.append(f"file '{c.media}'\n")
        speech += [Interval(t + iv.start, t + iv.end, "speech") for iv in tier if iv.label.strip()]
        t += 3.0
        k += 1
    (work / "list.txt").write_text("".join(listing))
    media_path = work / "long.mp4"
    t0 = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(work / "list.txt"), "-c:v", "libx264",
         "-preset", "ultrafast", "-r", "25", "-c:a", "aac", str(media_path)],
        check=True,
    )  # fmt: skip
    print(f"{t / 60:.1f} min recording ({k} clips) encoded in {time.perf_counter() - t0:.0f} s")
    media = MediaRef(str(media_path), kind="video")
    talk = IntervalTier("talk", speech)
    span = (0.0, t / 2)
    models = [CHOICES[m] for m in args.models.split(",")]
    t0 = time.perf_counter()
    res = run(train_models_task(media, talk, span, models=models[:1], epochs=1))
    feat_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run(train_models_task(media, talk, span, models=models[:1], epochs=1))
    print(
        f"features: {feat_s:.1f} s the first time (decode, face tracking, log-mel), {time.perf_counter() - t0:.1f} s cached"
    )
    print(f"{'model':24s} {'train s':>8s} {'epochs':>7s} {'F1':>6s} {'predict s':>10s}")
    for m in models:
        t0 = time.perf_counter()
        r = run(train_models_task(media, talk, span, models=[m], data=res.data))
        train_s = time.perf_counter() - t0
        row = r.results[0]
        t0 = time.perf_counter()
        run(predict_rest_task(row["model"], r, media, name="talk (predicted)"))
        pred_s = time.perf_counter() - t0
        epochs = len(row["model"].history)
        print(f"{m[0]:24s} {train_s:8.1f} {epochs:7d} {row['metrics']['macro_f1']:6.3f} {pred_s:10.2f}")
    print("goal (issue 8): Train under 60 s for a 10-minute recording on CPU")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
