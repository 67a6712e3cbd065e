"""Benchmark: log-mel and MFCC throughput, Studio vs calling librosa directly; video feature frame rates.

    python bench/media_features.py [--minutes 10] [--repeat 5]

Audio: a 16 kHz mono signal of `--minutes` made of the AMI meeting excerpts in ../shared/data/ami
(repeated to length; a generated speech-like signal when they are absent). The same float32 array
goes to librosa (``melspectrogram`` + ``power_to_db(top_db=None)``; ``mfcc`` on that, + ``delta``)
and to ``studio.media.features.extract`` with the same parameters (25 ms Hann window, 10 ms hop,
80 mels, 13 MFCC). Studio is also timed streaming from a WAV file (reading included). Times are
the best of `--repeat` after a warm-up run (so one-off imports and JIT are not counted). Goal:
Studio at least as fast as librosa (ratio = librosa time / Studio time; > 1 means Studio is
faster) with values equal to float32 precision.

Video: frames per second of each video kind on a GRID clip (360×288, 25 fps), the source opened
once (its frame index cached), so decoding and the features are what is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
SR = 16000


def speech_signal(minutes: float) -> tuple[np.ndarray, str]:
    import soundfile as sf

    n = int(minutes * 60 * SR)
    wavs = sorted((SHARED / "ami").glob("*.wav"))
    parts, total = [], 0
    if wavs:
        while total < n:
            for w in wavs:
                y, rate = sf.read(str(w), dtype="float32", always_2d=True)
                if rate != SR:
                    continue
                parts.append(y.mean(axis=1))
                total += len(parts[-1])
        return np.concatenate(parts)[:n], f"AMI meeting audio ({len(wavs)} files, repeated)"
    rng = np.random.default_rng(0)  # speech-like: noise bursts through a moving resonance
    t = np.arange(n) / SR
    env = (np.sin(2 * np.pi * 3 * t) > 0).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32) * env * 0.1 + 0.05 * np.sin(
        2 * np.pi * (150 + 50 * np.sin(t)) * t
    )
    return y.astype(np.float32), "generated (no AMI data found)"


def best(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def audio(minutes: float, repeat: int) -> None:
    import librosa
    import soundfile as sf

    from studio.media.features import extract

    y, what = speech_signal(minutes)
    seconds = len(y) / SR
    print(f"audio: {seconds / 60:.1f} min at {SR} Hz, {what}; {os.cpu_count()} CPUs")
    kw = {"sr": SR, "n_fft": 400, "hop_length": 160, "n_mels": 80}

    def lr_logmel():
        return librosa.power_to_db(librosa.feature.melspectrogram(y=y, **kw), top_db=None)

    def lr_mfcc():
        return librosa.feature.mfcc(S=lr_logmel(), n_mfcc=13)

    def lr_mfcc_d():
        c = lr_mfcc()
        return np.concatenate([c, librosa.feature.delta(c), librosa.feature.delta(c, order=2)])

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        sf.write(str(wav), y, SR, subtype="FLOAT")
        cases = [
            ("log-mel (80)", lr_logmel, lambda: extract(y, "logmel", sample_rate=SR), lambda: extract(wav, "logmel")),
            ("MFCC (13)", lr_mfcc, lambda: extract(y, "mfcc", sample_rate=SR), lambda: extract(wav, "mfcc")),
            ("MFCC+Δ+ΔΔ (39)", lr_mfcc_d, lambda: extract(y, "mfcc", sample_rate=SR, deltas=2),
             lambda: extract(wav, "mfcc", deltas=2)),
        ]  # fmt: skip
        print(
            f"{'feature':<17}{'librosa s':>10}{'studio s':>10}{'× real-time':>13}{'ratio':>7}{'file s':>8}{'max |diff|':>12}"
        )
        for name, lr, st, st_file in cases:
            t_lr, ref = best(lr, repeat)
            t_st, feat = best(st, repeat)
            t_file, from_file = best(st_file, repeat)
            diff = float(np.abs(feat.values - np.asarray(ref).T).max())  # type: ignore[attr-defined]
            same = float(np.abs(from_file.values - feat.values).max())  # type: ignore[attr-defined]
            print(f"{name:<17}{t_lr:>10.3f}{t_st:>10.3f}{seconds / t_st:>13.0f}{t_lr / t_st:>7.1f}{t_file:>8.3f}{diff:>12.2e}"
                  + (f"   (file vs array {same:.1e})" if same > 1e-4 else ""))  # fmt: skip
        print("  (diff in dB for log-mel, cepstral units for MFCC; 'file s' streams the WAV from disk)")


def video(repeat: int) -> None:
    from studio.media.features import extract, extract_many
    from studio.media.video import open_video

    clip = SHARED / "grid" / "swwp2s.mpg"
    if not clip.exists():
        print("video: no GRID clip at", clip)
        return
    with open_video(clip, readahead=0) as src:
        n = src.frame_count
        print(f"\nvideo: {clip.name}, {src.width}x{src.height}, {n} frames at {src.fps:g} fps")
        t_dec, _ = best(lambda: sum(1 for _ in src.frames()), repeat)
        print(f"{'decode only':<28}{n / t_dec:>8.0f} frames/s")
        for kind in ("motion", "flow", "face", "mouth"):
            t, _ = best(lambda k=kind: extract(src, k), repeat)
            print(f"{kind:<28}{n / t:>8.0f} frames/s  ({n / t / src.fps:.1f}× real-time)")
        t, _ = best(lambda: extract_many(src, ["motion", "flow", "face", "mouth"]), repeat)
        print(f"{'all four in one pass':<28}{n / t:>8.0f} frames/s  ({n / t / src.fps:.1f}× real-time)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("STUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="studio-bench-cache-"))
    audio(args.minutes, args.repeat)
    video(args.repeat)


if __name__ == "__main__":
    main()
