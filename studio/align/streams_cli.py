"""`studio align-streams A B -o MAP.csv`: the time map from one recording to another, headless.

The command form of Align ▸ Align two recordings (`studio.align.streams`): for every 10 ms of A,
the matching time in B, by DTW (default; multiscale when long), soft-DTW, CTW, GCTW or deep CTW on
log-mel features. ``-o`` writes the map as CSV (``t_a,t_b``); ``--session S.studio`` stores it in a
session file (created or updated atomically, with a backup) as the window does: a curve tier
"B at A" and a stored alignment the inspector shows; with ``--play-in-sync`` B also gets the
smoothed map as its warp (`studio.align.sync.follow_map`), so the window plays the two in sync.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_cli"]


def add_parser(sub: Any) -> None:
    from .streams import STREAM_METHODS

    p = sub.add_parser(
        "align-streams",
        help="the time map from recording A to recording B (DTW, soft-DTW, CTW, GCTW, deep CTW)",
        description="For every 10 ms of A, the matching time in B, by DTW (default; multiscale when long), "
        "soft-DTW, CTW, GCTW or deep CTW on log-mel features: two takes of a reading, a camera's and a "
        "recorder's sound whose clocks differ locally. -o writes the map as CSV (t_a,t_b); --session stores "
        "it in a session file as the window does (a curve tier 'B at A' and an alignment the inspector "
        "shows); --play-in-sync also makes B play along it there.",
        epilog="examples:\n  studio align-streams take1.wav take2.wav -o map.csv\n"
        "  studio align-streams cam.mp4 mic.wav --method ctw -o map.csv\n"
        "  studio align-streams take1.wav take2.wav --session takes.studio --play-in-sync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="the reference recording")
    p.add_argument("b", metavar="B", help="the recording to map onto A")
    p.add_argument("-o", "--output", metavar="MAP.csv", help="write the map: t_a,t_b every 10 ms of A")
    p.add_argument("--method", choices=STREAM_METHODS, default="dtw")
    p.add_argument(
        "--band", type=float, default=0.0, help="DTW / soft-DTW: Sakoe-Chiba radius in seconds (0: none)"
    )
    p.add_argument("--gamma", type=float, default=None, help="soft-DTW temperature")
    p.add_argument("--dims", type=int, default=None, help="CTW family: canonical dimensions")
    p.add_argument(
        "--session", metavar="S.studio", help="store the map (curve tier + alignment) in this session"
    )
    p.add_argument("--play-in-sync", action="store_true", help="with --session: B plays along the map")
    p.add_argument("--device", help="torch device for soft-DTW and deep CTW (cpu, cuda, mps)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run_cli)


def run_cli(args: Any) -> int:
    import numpy as np

    from studio.media.probe import MediaError

    from ..io.atomic import atomic_write_text
    from ..tasks.base import run
    from ..tasks.console import ConsoleProgress
    from .streams import align_streams_task

    for name in (args.a, args.b):
        if not Path(name).exists():
            raise MediaError(name, "no such file")
    if not args.output and not args.session:
        raise ValueError("say where the map goes: -o MAP.csv and/or --session S.studio")
    if args.play_in_sync and not args.session:
        raise ValueError("--play-in-sync needs --session (the warp is stored in a session)")
    params: dict[str, Any] = {"method": args.method, "band": args.band, "device": args.device}
    if args.gamma is not None:
        params["gamma"] = args.gamma
    if args.dims is not None:
        params["dims"] = args.dims
    t0 = time.monotonic()
    with ConsoleProgress("studio align-streams", args.quiet) as show:
        tm = run(align_streams_task(args.a, args.b, **params), on_progress=show)
    na, nb = tm.details.get("frames_a", 0), tm.details.get("frames_b", 0)
    if min(na, nb) and max(na, nb) > 2 * min(na, nb):
        print(
            f"studio: warning: A is {na / 100:.0f} s and B {nb / 100:.0f} s: a time map joins their starts and ends; "
            "for a clip inside a longer recording, `studio sync` finds where it starts",
            file=sys.stderr,
        )
    if args.output:
        rows = "".join(f"{a:.3f},{b:.6f}\n" for a, b in zip(tm.a_times, tm.b_times))
        atomic_write_text(args.output, "t_a,t_b\n" + rows)
    where = ""
    if args.session:
        where = _store(args.session, args.a, args.b, tm, args.play_in_sync)
    if not args.quiet:
        a, b = np.asarray(tm.a_times), np.asarray(tm.b_times)
        k = max(1, len(a) // 10)
        rate = float(np.median((b[k:] - b[:-k]) / (a[k:] - a[:-k]))) if len(a) > k else float("nan")
        print(
            f"{tm.method}: {len(a)} frames of A in {time.monotonic() - t0:.1f} s; B runs at {rate:.4f}x A "
            f"(median), starts {b[0] - a[0]:+.3f} s from A" + (f"; {where}" if where else ""),
            file=sys.stderr,
        )
    return 0


def _store(session_path: str, a: str, b: str, tm: Any, play_in_sync: bool) -> str:
    """The map in a session file, as the window's Align two recordings stores it."""
    from ..core.commands import SetAlignment, SetMediaWarp
    from ..core.editing import add_tiers
    from ..core.session import Session
    from ..core.tiers import CurveTier
    from ..io.native import read_session_file, write_session_file
    from .streams import time_map_alignment
    from .sync import follow_map, session_media

    sp = Path(session_path)
    session = read_session_file(sp) if sp.exists() else Session()
    ma, mb = session_media(session, a), session_media(session, b)
    name = f"{mb.name} at {ma.name}"
    curve = CurveTier(name, tm.b_times, rate=100.0, start=ma.offset, unit="s",
                      attrs={"time_map": {"a": ma.name, "b": mb.name, "method": tm.method}})  # fmt: skip
    for c in add_tiers(session, [curve], suffix=tm.method):
        session.undo_stack.push(c)
    stored = session.tiers[-1].name  # the curve's name after renaming, the alignment's too
    k, base = 2, stored
    while stored in session.alignments:
        stored, k = f"{base} ({k})", k + 1
    al = time_map_alignment(tm, ma.name, mb.name, name=stored)
    session.undo_stack.push(SetAlignment(al.name, al))
    said = f"stored as {al.name!r} in {sp.name}"
    if play_in_sync:
        warp, offset = follow_map(ma, al.warp, f"time map {al.name}")
        session.undo_stack.push(SetMediaWarp(mb.path, warp, offset=offset))
        said += f"; {mb.name} plays along it"
    write_session_file(session, sp)
    return said
