"""Benchmark: exact DTW with warping path, Studio vs dtaidistance, tslearn and librosa; multiscale DTW.

    python bench/align_dtw.py [--sizes 1000,4000,10000] [--repeat 3] [--hour] [--agreement] [--variants]

Inputs: 20-d MFCC of real speech (librosa, AMI meeting excerpts in /work/shared/data/ami, 16 kHz,
25 ms window, 10 ms hop). For length n, X is the first n frames of the concatenated recordings
and Y the n frames starting half-way through them (different speech, same speakers' room), as
float64 arrays: every library gets the identical inputs. "full" is unconstrained DTW, "band 10 %"
a Sakoe-Chiba band of radius r = n/10 frames (|i - j| <= r, square inputs), spelt in each
library's own terms and checked by comparing costs: dtaidistance ``window=r + 1``, tslearn
``sakoe_chiba_radius=r``, librosa ``band_rad=(r + 1)/n`` (it keeps |i - j| < round(band_rad·n)).

Calls, each returning the warping path:
  studio        studio.align.dtw.dtw(X, Y, band=r)
  dtaidistance  dtw_ndim.warping_path(X, Y, use_c=True, include_distance=True, window=r + 1) (C)
  tslearn       metrics.dtw_path(X, Y, global_constraint="sakoe_chiba", sakoe_chiba_radius=r)
  tslearn_m     metrics.dtw_path_from_metric(X, Y, metric="sqeuclidean", sakoe_chiba_radius=r)
  librosa       sequence.dtw(X.T, Y.T, metric="sqeuclidean", global_constraints=True, band_rad=...)
Cost conventions: Studio, librosa and dtw_path_from_metric return the sum of squared euclidean
distances along the path; dtaidistance and tslearn's dtw_path return its square root, squared
here before comparing (relative tolerance 1e-9; "cost=" in the table).

Method: every measurement runs in a fresh process that loads the inputs, imports the library and
warms it up on a 50-frame pair (numba compilation or cache loading is not timed). Wall time is
the best of --repeat calls. Peak memory is the call's own: the process's peak RSS (VmHWM) is
reset through /proc/self/clear_refs just before the call, and the figure is the peak after it
minus the RSS before it (so inputs and imports are not counted; allocations numpy returns to
the OS inside the call still count at their peak). A library is skipped at a size when its
known allocation would exceed --max-mem-gb (librosa's full 10k x 10k: cdist + accumulated
matrix + step matrix, 2 GB).
"ratio" is each library's time over the fastest *other* library's (for Studio: peers' best /
Studio, > 1 = Studio faster; goal 3x).

--hour: multiscale DTW of two 1-hour sequences at 100 Hz (360k frames: the 6 minutes of MFCC
tiled 10x with small noise; Y a smoothly time-warped, noisy copy of X, 3 % longer) — time and
peak memory. --agreement: how often multiscale equals exact DTW (identical cost and path) where
exact fits, on warped-copy pairs and on unrelated-speech pairs. --variants: the kernel design
measurements (local costs per row vs. inside the DP loop).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AMI = Path(os.environ.get("STUDIO_AMI", "/work/shared/data/ami"))
LIBS = ["studio", "dtaidistance", "tslearn", "tslearn_m", "librosa"]


def features(cache: Path) -> np.ndarray:
    if cache.is_file():
        return np.load(cache)
    import librosa
    import soundfile

    mats = []
    for wav in sorted(glob.glob(str(AMI / "*.wav"))):
        y, sr = soundfile.read(wav, dtype="float32")
        if sr != 16000:
            y = librosa.resample(y, orig_sr=sr, target_sr=16000)
        mats.append(librosa.feature.mfcc(y=y, sr=16000, n_mfcc=20, n_fft=400, hop_length=160).T)
    F = np.ascontiguousarray(np.concatenate(mats), dtype=np.float64)
    np.save(cache, F)
    return F


def pair(F: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    half = len(F) // 2
    if n > half:
        raise SystemExit(f"only {len(F)} frames of speech: n = {n} is too long")
    return np.ascontiguousarray(F[:n]), np.ascontiguousarray(F[half : half + n])


# --- one measurement (child process) ---------------------------------------------------------
def _call(lib: str, X: np.ndarray, Y: np.ndarray, r: int | None):
    """Run lib's DTW with path; return (cost as a sum of squared distances, path length)."""
    n = len(X)
    if lib == "studio":
        from studio.align.dtw import dtw

        res = dtw(X, Y, band=r, method="exact")
        return res.cost, len(res.path)
    if lib == "dtaidistance":
        from dtaidistance import dtw_ndim

        kw = {} if r is None else {"window": r + 1}
        path, d = dtw_ndim.warping_path(X, Y, use_c=True, include_distance=True, **kw)
        return d * d, len(path)
    if lib == "tslearn":
        from tslearn.metrics import dtw_path

        kw = {} if r is None else {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": r}
        path, d = dtw_path(X, Y, **kw)
        return d * d, len(path)
    if lib == "tslearn_m":
        from tslearn.metrics import dtw_path_from_metric

        kw = {} if r is None else {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": r}
        path, d = dtw_path_from_metric(X, Y, metric="sqeuclidean", **kw)
        return d, len(path)
    if lib == "librosa":
        import librosa

        kw = {} if r is None else {"global_constraints": True, "band_rad": (r + 1) / n}
        D, wp = librosa.sequence.dtw(X.T, Y.T, metric="sqeuclidean", **kw)
        return float(D[-1, -1]), len(wp)
    raise ValueError(lib)


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def _peak_call(fn):
    """(result, seconds, peak bytes above the RSS before the call)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status("VmRSS")
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    return out, dt, max(0, _status("VmHWM") - before)


def child(spec: dict) -> dict:
    F = np.load(spec["features"])
    X, Y = pair(F, spec["n"])
    r = spec["r"]
    _call(spec["lib"], X[:50], Y[:50], None if r is None else min(r, 5))  # warm-up
    times, peaks = [], []
    for _ in range(spec["repeat"]):
        (cost, k), dt, peak = _peak_call(lambda: _call(spec["lib"], X, Y, r))
        times.append(dt)
        peaks.append(peak)
    return {"time": min(times), "peak": max(peaks), "cost": cost, "path": k}


def child_hour(spec: dict) -> dict:
    from studio.align.multiscale import multiscale_dtw

    X, Y = hour_pair(np.load(spec["features"]))
    multiscale_dtw(X[:3000], Y[:3000])  # warm-up
    res, dt, peak = _peak_call(lambda: multiscale_dtw(X, Y, radius=spec["radius"]))
    return {"time": dt, "peak": peak, "n": len(X), "m": len(Y), "area": res.window.area,
            "storage": res.storage_nbytes, "cost": res.cost}  # fmt: skip


def warp(X: np.ndarray, m: int, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """A smoothly time-warped (local rate e^N(0, 0.3)), noisy copy of X with m frames."""
    n = len(X)
    rates = np.exp(rng.normal(0, 0.3, max(4, n // 200)))
    rates = np.interp(np.linspace(0, len(rates) - 1, m), np.arange(len(rates)), rates)
    pos = np.cumsum(rates)
    pos = (pos - pos[0]) / (pos[-1] - pos[0]) * (n - 1)
    Y = np.stack([np.interp(pos, np.arange(n), X[:, k]) for k in range(X.shape[1])], 1)
    return Y + rng.normal(0, noise * X.std(0), Y.shape)


def hour_pair(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    reps = int(np.ceil(360_000 / len(F)))
    X = np.concatenate([F + rng.normal(0, 0.05 * F.std(0), F.shape) for _ in range(reps)])[:360_000]
    return X, warp(X, int(len(X) * 1.03), rng)


def spawn(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def estimated_bytes(lib: str, n: int, r: int | None) -> float:
    """Known dense allocations (n x n float64 matrices) for the libraries that make them."""
    if lib == "librosa":
        return n * n * (8 + 8 + 4)  # cdist, accumulated cost, step matrix (band or not)
    if lib in ("tslearn", "tslearn_m"):
        return n * n * (8 + 1 + (8 if lib == "tslearn_m" else 0))
    return 0.0


# --- extra sections ------------------------------------------------------------------------
def agreement(F: np.ndarray, pairs: int) -> None:
    from studio.align.dtw import dtw
    from studio.align.multiscale import DEFAULT_RADIUS, multiscale_dtw

    rng = np.random.default_rng(1)
    print(f"\nmultiscale vs exact (radius {DEFAULT_RADIUS}, factor 2), identical cost and path:")
    for kind in ("warped copy", "unrelated speech"):
        eq = 0
        excess = []
        t_ex = t_ms = 0.0
        for _ in range(pairs):
            n = int(rng.integers(2000, 8000))
            s = int(rng.integers(0, len(F) - n))
            X = F[s : s + n]
            m = int(n * rng.uniform(0.8, 1.25))
            if kind == "warped copy":
                Y = warp(X, m, rng)
            else:
                s2 = int(rng.integers(0, len(F) - m))
                Y = F[s2 : s2 + m]
            t = time.perf_counter()
            ex = dtw(X, Y, method="exact")
            t_ex += time.perf_counter() - t
            t = time.perf_counter()
            ms = multiscale_dtw(X, Y)
            t_ms += time.perf_counter() - t
            eq += ms.cost == ex.cost and np.array_equal(ms.path, ex.path)
            excess.append(ms.cost / ex.cost - 1)
        print(f"  {kind:17s} {eq}/{pairs} equal; cost excess max {max(excess):.2e}, mean {np.mean(excess):.2e}; "
              f"time exact {t_ex:.2f} s, multiscale {t_ms:.2f} s")  # fmt: skip


def variants(F: np.ndarray, n: int) -> None:
    """Local costs per row (vectorised over columns, as shipped) vs. inside the DP loop per cell."""
    from numba import njit

    from studio.align.dtw import dtw

    @njit(cache=False)
    def inline_cost(X, Y):  # pragma: no cover - compiled
        n, d = X.shape
        m = Y.shape[0]
        prev = np.full(m + 1, np.inf)
        cur = np.full(m + 1, np.inf)
        codes = np.empty(n * m, np.uint8)
        for i in range(n):
            cur[0] = np.inf
            for j in range(m):
                c = 0.0
                for k in range(d):
                    t = X[i, k] - Y[j, k]
                    c += t * t
                if i == 0 and j == 0:
                    best, code = c, 254
                else:
                    d0 = prev[j] + c
                    d1 = cur[j] + c
                    d2 = prev[j + 1] + c
                    u = d2 < d0
                    t0 = min(d0, d2)
                    lft = (d1 < t0) | (u & (d1 == t0))
                    best = min(t0, d1)
                    code = np.uint8(lft) | (np.uint8(u & (not lft)) << np.uint8(1))
                cur[j + 1] = best
                codes[i * m + j] = code
            prev, cur = cur, prev
        return prev[m]

    X, Y = pair(F, n)
    inline_cost(X[:20], Y[:20])
    dtw(X[:20], Y[:20])
    best = {"per-row (shipped)": 1e9, "in the DP loop": 1e9}
    for _ in range(3):
        t = time.perf_counter()
        a = dtw(X, Y).cost
        best["per-row (shipped)"] = min(best["per-row (shipped)"], time.perf_counter() - t)
        t = time.perf_counter()
        b = inline_cost(X, Y)
        best["in the DP loop"] = min(best["in the DP loop"], time.perf_counter() - t)
    assert a == b
    print(f"\nkernel variants, {n} x {n} full, local cost computed:")
    for k, v in best.items():
        print(f"  {k:20s} {v:7.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,4000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--max-mem-gb", type=float, default=4.0)
    ap.add_argument("--hour", action="store_true", help="multiscale DTW of two 1-hour sequences")
    ap.add_argument(
        "--agreement", type=int, default=0, metavar="PAIRS", help="multiscale vs exact on PAIRS pairs"
    )
    ap.add_argument("--variants", action="store_true")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(child_hour(spec) if spec.get("hour") else child(spec)))
        return
    cache = Path(tempfile.gettempdir()) / "studio_bench_ami_mfcc.npy"
    F = features(cache)
    print(f"{len(F)} frames of 20-d MFCC ({len(F) / 100:.0f} s of speech), repeat {args.repeat}, best time")
    print(f"{'n':>6} {'band':>8} {'library':>13} {'time ms':>9} {'peak MB':>9} {'ratio':>7}  cost check")
    libs = args.libs.split(",")
    for n in [int(s) for s in args.sizes.split(",")]:
        for r in (None, n // 10):
            rows = {}
            for lib in libs:
                if estimated_bytes(lib, n, r) > args.max_mem_gb * 1e9:
                    rows[lib] = {"error": f"skipped: needs ~{estimated_bytes(lib, n, r) / 1e9:.1f} GB"}
                    continue
                rows[lib] = spawn({"lib": lib, "n": n, "r": r, "repeat": args.repeat, "features": str(cache)})
            ref = rows.get("studio", {}).get("cost")
            for lib in libs:
                row = rows[lib]
                band = "full" if r is None else f"r={r}"
                if "error" in row:
                    print(f"{n:>6} {band:>8} {lib:>13} {row['error']}")
                    continue
                others = [v["time"] for k, v in rows.items() if k != lib and "time" in v]
                ratio = (min(others) / row["time"]) if lib == "studio" and others else (
                    row["time"] / min(others) if others else float("nan"))  # fmt: skip
                check = (
                    ""
                    if ref is None
                    else ("cost=" if abs(row["cost"] / ref - 1) < 1e-9 else f"cost differs {row['cost']!r}")
                )
                print(
                    f"{n:>6} {band:>8} {lib:>13} {row['time'] * 1e3:>9.2f} {row['peak'] / 1e6:>9.1f} {ratio:>7.2f}  {check}"
                )
    if args.hour:
        from studio.align.multiscale import DEFAULT_RADIUS

        h = spawn({"hour": True, "features": str(cache), "radius": DEFAULT_RADIUS})
        if "error" in h:
            print("hour:", h["error"])
        else:
            print(f"\nmultiscale, {h['n']} x {h['m']} frames (1 h x 1 h at 100 Hz), radius {DEFAULT_RADIUS}: "
                  f"{h['time']:.2f} s, peak {h['peak'] / 1e6:.0f} MB (inputs not counted), finest window "
                  f"{h['area'] / 1e6:.1f} M cells = {h['area'] / (h['n'] * h['m']):.1e} of n·m")  # fmt: skip
    if args.agreement:
        agreement(F, args.agreement)
    if args.variants:
        variants(F, 4000)


if __name__ == "__main__":
    main()
