"""Benchmark: CTC forced alignment, exact (`forced_align`) vs windowed (`forced_align_windowed`).

    python bench/align_ctc.py [--sizes 1000,5000,20000,60000,180000] [--window 4000] [--max-mem-gb 2]
                              [--device cpu] [--dtype float32]

Inputs: synthetic model-like CTC posteriors at 50 frames/s, C = 40 classes (blank 0): a random
true segmentation (token runs of 1-4 frames, gaps of 0-6 blank frames, ~5.5 frames per token, so
S ≈ T / 5.5: 180 000 frames = 1 hour ≈ 33 000 tokens), logits = 6 at the true label + N(0, 1.5²),
log-softmax, float32. No CTC acoustic model is installed here, hence synthetic posteriors; the
alignment cost depends only on T, S and C, not on the values.

Method: each measurement runs in a fresh process that builds the inputs and warms the function
up on a 200-frame case. Wall time is one call. Peak memory is the call's own: the process's peak
RSS (VmHWM) is reset through /proc/self/clear_refs just before the call, and the figure is the
peak after it minus the RSS before it. The exact alignment is skipped where its backpointers
alone (T × (2S + 1) bytes, the same order as torchaudio.functional.forced_align's) exceed
--max-mem-gb. "= exact" says whether the windowed path equals the exact one (where both ran);
"= truth" the fraction of frames on the generating segmentation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FPS = 50


def synthetic(T: int, C: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = max(1, int(T / 5.5))
    targets = rng.integers(1, C, size=S)
    runs = rng.integers(1, 5, size=S)
    gaps = rng.integers(0, 7, size=S + 1)
    gaps[1:-1][targets[1:] == targets[:-1]] = np.maximum(gaps[1:-1][targets[1:] == targets[:-1]], 1)
    labels, path = [], []
    for k in range(S):
        labels.append(np.zeros(gaps[k], dtype=np.int64))
        path.append(np.full(gaps[k], -1))
        labels.append(np.full(runs[k], targets[k]))
        path.append(np.full(runs[k], k))
    labels.append(np.zeros(gaps[S], dtype=np.int64))
    path.append(np.full(gaps[S], -1))
    lab, pth = np.concatenate(labels), np.concatenate(path)
    x = rng.normal(scale=1.5, size=(lab.size, C)).astype(np.float32)
    x[np.arange(lab.size), lab] += 6.0
    x -= np.logaddexp.reduce(x, axis=1, keepdims=True)
    return x, targets, pth


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


def child(args: argparse.Namespace) -> None:
    import torch

    from studio.align.ctc import forced_align, forced_align_windowed

    torch.set_grad_enabled(False)
    dt = getattr(torch, args.dtype)
    lp, targets, truth = synthetic(args.T)
    lpt = torch.tensor(lp, dtype=dt, device=args.device)
    if args.method == "exact":
        fn = lambda x, t: forced_align(x, t)  # noqa: E731
    else:
        fn = lambda x, t: forced_align_windowed(x, t, window_frames=args.window)  # noqa: E731
    w, wt, _ = synthetic(200, seed=1)
    fn(torch.tensor(w, dtype=dt, device=args.device), wt)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status("VmRSS")
    t0 = time.perf_counter()
    r = fn(lpt, targets)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    peak = _status("VmHWM") - before
    np.save(args.out, r.path)
    print(
        json.dumps(
            {
                "T": int(lp.shape[0]),
                "S": int(targets.size),
                "wall": wall,
                "peak": peak,
                "truth": float((r.path == truth).mean()),
                "log_prob": r.log_prob,
            }
        )
    )


def run(method: str, n: int, args: argparse.Namespace, out: Path) -> dict | None:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--T",
        str(n),
        "--window",
        str(args.window),
        "--device",
        args.device,
        "--dtype",
        args.dtype,
        "--out",
        str(out),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        print(p.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,5000,20000,60000,180000")
    ap.add_argument("--window", type=int, default=4000)
    ap.add_argument("--max-mem-gb", type=float, default=2.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--child", choices=["exact", "windowed"])
    ap.add_argument("--T", type=int)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        args.method = args.child
        child(args)
        return
    import tempfile

    print(f"device {args.device}, {args.dtype}, window {args.window} frames (overlap {args.window // 4})")
    head = f"{'T':>7} {'audio':>7} {'S':>6} {'T×(2S+1)':>9} | {'exact s':>8} {'MB':>7} | "
    head += f"{'windowed s':>10} {'MB':>6} {'= exact':>7} {'= truth':>7}"
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            lp, targets, _ = synthetic(n)
            T, S = lp.shape[0], targets.size
            bp_bytes = T * (2 * S + 1)
            ex = None
            if bp_bytes <= args.max_mem_gb * 1e9:
                ex = run("exact", n, args, Path(tmp) / "exact.npy")
            wi = run("windowed", n, args, Path(tmp) / "win.npy")
            same = "-"
            if ex and wi:
                same = (
                    "yes"
                    if np.array_equal(np.load(Path(tmp) / "exact.npy"), np.load(Path(tmp) / "win.npy"))
                    else "NO"
                )
            ex_s = f"{ex['wall']:8.2f} {ex['peak'] / 1e6:7.0f}" if ex else f"{'skip':>8} {'':>7}"
            wi_s = f"{wi['wall']:10.2f} {wi['peak'] / 1e6:6.0f}" if wi else f"{'fail':>10} {'':>6}"
            tr = f"{wi['truth']:7.4f}" if wi else ""
            print(
                f"{T:7d} {T / FPS / 60:6.1f}m {S:6d} {bp_bytes / 1e9:7.2f}GB | {ex_s} | {wi_s} {same:>7} {tr}"
            )


if __name__ == "__main__":
    main()
