"""Benchmark: read and write a 100k-annotation ELAN EAF and Praat TextGrid, Studio vs the peers.

    python bench/formats.py [--annotations 100000] [--repeat 3]

The input files are made by the peers themselves (pympi-ling writes the EAF, praatio the
TextGrid), so no library reads its own idiosyncratic output. Each measurement runs in a fresh
process: wall time is the best of `--repeat` runs, memory is the process's peak RSS (VmHWM) above
what it had after importing the library (so import costs are not counted). Goal: Studio at least as fast
as both peers (ratio = peer time / Studio time; > 1 means Studio is faster).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_inputs(folder: Path, n: int) -> dict[str, Path]:
    """A 100k-annotation EAF (by pympi) and TextGrid (by praatio): 4 tiers of n/4 words."""
    import pympi
    from praatio import textgrid
    from praatio.utilities.constants import Interval

    per_tier = n // 4
    eaf = pympi.Elan.Eaf()
    eaf.add_linked_file("interview.wav", mimetype="audio/x-wav")
    tg = textgrid.Textgrid()
    for k in range(4):
        name = f"speaker{k}"
        eaf.add_tier(name)
        entries = []
        for i in range(per_tier):
            start_ms = i * 300 + k * 7
            eaf.add_annotation(name, start_ms, start_ms + 250, f"word{i} «{k}»")
            entries.append(Interval(start_ms / 1000, (start_ms + 250) / 1000, f"word{i} «{k}»"))
        tg.addTier(textgrid.IntervalTier(name, entries, 0, per_tier * 0.3 + 1))
    paths = {
        "eaf": folder / "big.eaf",
        "textgrid": folder / "big.TextGrid",
        "textgrid_short": folder / "short.TextGrid",
    }
    pympi.Elan.to_eaf(str(paths["eaf"]), eaf)
    tg.save(str(paths["textgrid"]), format="long_textgrid", includeBlankSpaces=True)
    tg.save(str(paths["textgrid_short"]), format="short_textgrid", includeBlankSpaces=True)
    return paths


# --- one measurement (runs in a child process) ---------------------------------------------
def _ops(lib: str, fmt: str):
    """(setup, read(path) -> obj, write(obj, path)) for a library and format."""
    if lib == "studio":
        from studio import io

        def write(obj, path):
            io.write(obj, path)

        return io.read, write
    if lib == "pympi":
        import pympi

        return (lambda p: pympi.Elan.Eaf(str(p))), (lambda obj, p: pympi.Elan.to_eaf(str(p), obj))
    if lib == "praatio":
        from praatio import textgrid

        def read(p):
            return textgrid.openTextgrid(str(p), includeEmptyIntervals=False)

        def write(obj, p):
            fmt_name = "short_textgrid" if "short" in Path(p).name else "long_textgrid"
            obj.save(str(p), format=fmt_name, includeBlankSpaces=True)

        return read, write
    raise ValueError(lib)


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not inherit the
    parent's peak across fork+exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def measure(lib: str, fmt: str, op: str, path: str, repeat: int) -> dict:
    read, write = _ops(lib, fmt)
    _reset_peak()
    base = _peak_mb()
    best = float("inf")
    out_dir = Path(tempfile.mkdtemp())
    out = out_dir / (("short_" if "short" in Path(path).name else "") + "out" + Path(path).suffix)
    obj = read(path) if op == "write" else None
    for _ in range(repeat):
        t0 = time.perf_counter()
        if op == "read":
            obj = read(path)
        else:
            write(obj, out)
        best = min(best, time.perf_counter() - t0)
        if op == "read":
            del obj
            obj = None
    return {"seconds": best, "peak_mb": _peak_mb() - base}


def run_child(lib: str, fmt: str, op: str, path: Path, repeat: int) -> dict:
    r = subprocess.run(
        [sys.executable, __file__, "--child", lib, fmt, op, str(path), str(repeat)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        lib, fmt, op, path, repeat = args.child
        print(json.dumps(measure(lib, fmt, op, path, int(repeat))))
        return

    folder = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    t0 = time.perf_counter()
    paths = make_inputs(folder, args.annotations)
    print(
        f"inputs: {args.annotations} annotations in 4 tiers, made by the peers in {time.perf_counter() - t0:.1f} s"
    )
    for name, p in paths.items():
        print(f"  {name:15s} {p.stat().st_size / 1e6:6.1f} MB  {p}")
    print()
    cases = [("eaf", "pympi"), ("textgrid", "praatio"), ("textgrid_short", "praatio")]
    header = f"{'file':15s} {'op':5s} {'studio s':>9s} {'peer':>8s} {'peer s':>9s} {'ratio':>6s}   {'studio MB':>9s} {'peer MB':>8s}"
    print(header)
    print("-" * len(header))
    worst = float("inf")
    for fmt, peer in cases:
        for op in ("read", "write"):
            ours = run_child("studio", fmt, op, paths[fmt], args.repeat)
            theirs = run_child(peer, fmt, op, paths[fmt], args.repeat)
            if "error" in ours or "error" in theirs:
                print(f"{fmt:15s} {op:5s} error: {ours.get('error') or theirs.get('error')}")
                continue
            ratio = theirs["seconds"] / ours["seconds"]
            worst = min(worst, ratio)
            print(
                f"{fmt:15s} {op:5s} {ours['seconds']:9.3f} {peer:>8s} {theirs['seconds']:9.3f} {ratio:6.2f}x"
                f"  {ours['peak_mb']:9.0f} {theirs['peak_mb']:8.0f}"
            )
    print()
    verdict = "met" if worst >= 1.0 else "NOT met"
    print(f"goal (at least as fast as both peers on every case): {verdict}; worst ratio {worst:.2f}x")


if __name__ == "__main__":
    main()
