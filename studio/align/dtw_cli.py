"""``studio dtw A.npy B.npy``: align two feature sequences and print the cost; write the path as CSV.

Wired into `studio.cli` by ``add_parser(subparsers)``; `run` returns the exit status. Bad input
raises ValueError / FileNotFoundError, which the CLI reports as ``studio: error: ...``.

Timestamps: if ``A.times.npy`` (one time in seconds per frame of A) lies next to ``A.npy``, the CSV
gets a ``t_a`` column; likewise ``t_b`` for B. The CSV is written to a temporary file and renamed,
so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from .dtw import STEP_PATTERNS, dtw

__all__ = ["add_parser", "run", "sidecar"]

EXAMPLES = """examples:
  studio dtw take1.npy take2.npy                       cost of the full alignment
  studio dtw take1.npy take2.npy --band 0.1 -o path.csv   10 % Sakoe-Chiba band, path to CSV
  studio dtw query.npy long.npy --subsequence --metric cosine
  studio dtw a.npy b.npy --method multiscale          hour-long inputs in linear memory"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "dtw",
        help="align two feature sequences (.npy) with dynamic time warping",
        description="Align A (frames x dims) and B with DTW; print the cost, the normalized cost and the path "
        "length, and optionally write the warping path as CSV (columns i,j and t_a,t_b when A.times.npy / "
        "B.times.npy sidecars give each frame's time).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A.npy", help="first sequence: (frames, dims) or (frames,)")
    p.add_argument("b", metavar="B.npy", help="second sequence, same dims")
    p.add_argument("--band", type=float, metavar="R",
                   help="Sakoe-Chiba band radius in frames, or a fraction of the longer length if < 1")  # fmt: skip
    p.add_argument("--step", default="symmetric1", choices=sorted(STEP_PATTERNS), metavar="P",
                   help="step pattern: " + ", ".join(sorted(STEP_PATTERNS)) + " (default: symmetric1)")  # fmt: skip
    p.add_argument("--metric", default="sqeuclidean", choices=["sqeuclidean", "euclidean", "manhattan", "cosine"],
                   metavar="M", help="local cost: sqeuclidean (default), euclidean, manhattan, cosine")  # fmt: skip
    p.add_argument("--window", choices=["itakura"], help="global constraint besides the band")
    p.add_argument("--open-begin", action="store_true", help="the path may start anywhere in B")
    p.add_argument("--open-end", action="store_true", help="the path may end anywhere in B")
    p.add_argument("--subsequence", action="store_true", help="find A inside B (open begin and end)")
    p.add_argument("--method", default="auto", choices=["auto", "exact", "multiscale"],
                   help="multiscale: linear memory for long inputs (auto: above 400 M cells)")  # fmt: skip
    p.add_argument("--backend", default="auto", choices=["auto", "numba", "torch"])
    p.add_argument("-o", "--output", metavar="PATH.csv", help="write the warping path here")
    p.set_defaults(func=run)
    return p


def sidecar(path: str | Path) -> Path:
    """``A.npy`` -> ``A.times.npy`` (the per-frame times beside a feature file)."""
    p = Path(path)
    return (
        p.with_name(p.name[: -len(".npy")] + ".times.npy")
        if p.name.endswith(".npy")
        else p.with_suffix(".times.npy")
    )


def _load(path: str | Path, what: str) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: cannot read {what} as .npy ({exc})") from None
    if not isinstance(data, np.ndarray):  # an .npz archive loads as a lazy NpzFile
        data.close()
        raise ValueError(f"{path}: cannot read {what}: it is an .npz archive, not one .npy array")
    return data


def _times(path: str | Path, frames: int) -> np.ndarray | None:
    side = sidecar(path)
    if not side.is_file():
        return None
    t = _load(side, "frame times")
    if not (np.issubdtype(t.dtype, np.number) and not np.iscomplexobj(t)):
        raise ValueError(f"{side}: frame times must be numbers (seconds), not {t.dtype}")
    t = t.astype(np.float64)
    if t.ndim != 1 or t.shape[0] != frames:
        raise ValueError(
            f"{side}: expected {frames} frame times (one per frame of {path}), got shape {t.shape}"
        )
    return t


def run(args: argparse.Namespace) -> int:
    if args.output and Path(args.output).is_dir():
        raise ValueError(f"{args.output}: is a directory; -o takes the CSV file to write")
    A = _load(args.a, "features")
    B = _load(args.b, "features")
    try:
        res = dtw(
            A, B, metric=args.metric, step=args.step, band=args.band, window=args.window,
            open_begin=args.open_begin, open_end=args.open_end, subsequence=args.subsequence,
            method=args.method, backend=args.backend,
        )  # fmt: skip
    except ValueError as exc:  # name the files (X is A, Y is B in the engine's messages)
        raise ValueError(f"{args.a} (A) and {args.b} (B): {exc}") from None
    print(f"cost: {res.cost:.10g}")
    print(f"normalized cost: {res.normalized_cost:.10g}")
    print(f"path length: {len(res.path)}")
    if res.method != "exact":
        print(f"method: {res.method}")
    if args.output:
        columns = ["i", "j"]
        values: list[np.ndarray] = [res.path[:, 0], res.path[:, 1]]
        for name, src, col in (("t_a", args.a, 0), ("t_b", args.b, 1)):
            t = _times(src, len(A) if col == 0 else len(B))
            if t is not None:
                columns.append(name)
                values.append(t[res.path[:, col]])
        _write_csv(Path(args.output), columns, values)
        print(f"wrote {args.output}")
    return 0


def _write_csv(path: Path, columns: list[str], values: list[np.ndarray]) -> None:
    from studio.io.atomic import atomic_write_text

    cols = [v.tolist() for v in values]
    lines = [",".join(columns), *(",".join(repr(x) for x in row) for row in zip(*cols))]
    atomic_write_text(path, "\n".join(lines) + "\n")
