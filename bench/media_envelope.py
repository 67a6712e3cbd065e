"""Benchmark: waveform envelope of a long recording — build time, peak memory, query latency, reopen.

    python bench/media_envelope.py [--minutes 120] [--cold] [--keep]

Writes a 48 kHz stereo 16-bit WAV of `--minutes` (default 2 hours, ~1.4 GB) into the temp folder
(noise under a slow gain curve, with clicks), then, each in a fresh process with its own cache:

* **build**: `build_envelope_task` from scratch — wall time and peak RSS (VmHWM), plus the RSS
  after imports so the envelope's own share shows. Goals: < 10 s, < 300 MB.
* **peer**: the same pyramid fed from ``AudioSource.blocks()`` (float32) instead of the direct
  int16 reads, to show what the int16 route buys (ratio = peer time / Studio time).
* **query**: 400 queries at random positions for each zoom (whole file, 10 min, 1 min, 5 s, 1 s,
  50 ms) at 1920 pixels — median and p95 ms. Goal: < 1 ms.
* **reopen**: a new process opens the file and loads the cached envelope (memory-mapped).

`--cold` evicts the WAV from the page cache (posix_fadvise DONTNEED) before the build, so it
reads from the disk; without it the freshly written file is read from memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE = 48000
ZOOMS = [
    ("whole file", None),
    ("10 min", 600.0),
    ("1 min", 60.0),
    ("5 s", 5.0),
    ("1 s", 1.0),
    ("50 ms", 0.05),
]


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_wav(path: Path, minutes: float) -> None:
    import numpy as np
    import soundfile as sf

    frames = int(minutes * 60 * RATE)
    block = 1 << 20
    rng = np.random.default_rng(0)
    base = rng.integers(-12000, 12000, size=(block, 2), dtype=np.int16)
    tmp = path.with_suffix(".tmp.wav")
    with sf.SoundFile(str(tmp), "w", RATE, 2, subtype="PCM_16") as f:
        for pos in range(0, frames, block):
            n = min(block, frames - pos)
            gain = 0.2 + 0.8 * abs(np.sin(pos / RATE / 37.0))
            chunk = (base[:n] * gain).astype(np.int16)
            chunk[(pos // block) % 997, 0] = 32767  # a click per block
            f.write(chunk)
    os.replace(tmp, path)


def child_build(path: str, peer: bool, cold: bool) -> dict:
    import numpy as np

    from studio.media.audio import open_audio
    from studio.media.envelope import _Pyramid, build_envelope_task
    from studio.tasks.base import run

    if cold:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    src = open_audio(path)
    np.zeros(1)
    base_rss = vm_hwm_mb()
    t = time.perf_counter()
    if peer:
        pyr = _Pyramid(src.frames, src.channels, np.float32)
        for _, block in src.blocks(1 << 20):
            pyr.add(block)
        pyr.finish()
        nbytes = pyr.data.nbytes
    else:
        env = run(build_envelope_task(src))
        nbytes = env.nbytes
    wall = time.perf_counter() - t
    return {"wall_s": wall, "peak_mb": vm_hwm_mb(), "import_mb": base_rss, "pyramid_mb": nbytes / 1e6}


def child_query(path: str, repeat: int) -> dict:
    import numpy as np

    from studio.media.audio import open_audio
    from studio.media.envelope import envelope

    t = time.perf_counter()
    src = open_audio(path)
    env = envelope(src)
    reopen = time.perf_counter() - t
    rng = np.random.default_rng(1)
    out: dict = {"reopen_ms": reopen * 1e3, "zooms": {}}
    for name, span in ZOOMS:
        span = src.duration if span is None else span
        env.query(0, span, 1920)  # first touch of the pages of that level
        times = []
        for _ in range(repeat):
            t0 = rng.uniform(0, src.duration - span) if span < src.duration else 0.0
            t = time.perf_counter()
            x, y = env.query(t0, t0 + span, 1920)
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1e3
        out["zooms"][name] = {
            "level": env.level_for(0, span, 1920),
            "points": int(x.size),
            "median_ms": float(np.median(ms)),
            "p95_ms": float(np.percentile(ms, 95)),
        }
    out["peak_mb"] = vm_hwm_mb()
    return out


def spawn(*args: str, cache: str) -> dict:
    env = dict(os.environ, STUDIO_CACHE_DIR=cache)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"child {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--repeat", type=int, default=400)
    ap.add_argument("--cold", action="store_true", help="evict the WAV from the page cache before building")
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the generated WAV")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, path, *rest = a.child
        if kind == "build":
            result = child_build(path, peer=False, cold="cold" in rest)
        elif kind == "peer":
            result = child_build(path, peer=True, cold="cold" in rest)
        else:
            result = child_query(path, int(rest[0]))
        print(json.dumps(result))
        return

    path = Path(tempfile.gettempdir()) / f"studio_bench_envelope_{a.minutes:g}min.wav"
    expected = int(a.minutes * 60 * RATE) * 4 + 44
    if not (path.exists() and path.stat().st_size == expected):
        t = time.perf_counter()
        make_wav(path, a.minutes)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    cold = ["cold"] if a.cold else []
    try:
        with tempfile.TemporaryDirectory(prefix="studio_bench_cache_") as cache:
            b = spawn("build", str(path), *cold, cache=cache)
            p = spawn("peer", str(path), *cold, cache=cache)
            q = spawn("query", str(path), str(a.repeat), cache=cache)
        print(
            f"\nenvelope of {a.minutes:g} min, 48 kHz stereo 16-bit ({'cold' if a.cold else 'warm'} page cache)"
        )
        print(
            f"  build          {b['wall_s']:6.2f} s   peak RSS {b['peak_mb']:6.0f} MB "
            f"(after imports {b['import_mb']:.0f} MB; pyramid {b['pyramid_mb']:.0f} MB)   goals < 10 s, < 300 MB"
        )
        print(
            f"  peer: float32 via AudioSource.blocks  {p['wall_s']:6.2f} s   peak RSS {p['peak_mb']:6.0f} MB"
            f"   ratio {p['wall_s'] / b['wall_s']:.1f}x"
        )
        print(f"  reopen (cache hit, new process)  {q['reopen_ms']:.1f} ms")
        print(f"  queries at 1920 px ({a.repeat} each; goal < 1 ms):")
        for name, z in q["zooms"].items():
            level = "raw samples" if z["level"] < 0 else f"level {z['level']}"
            print(
                f"    {name:>10}: median {z['median_ms']:.3f} ms  p95 {z['p95_ms']:.3f} ms"
                f"   ({level}, {z['points']} points)"
            )
    finally:
        if not a.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
