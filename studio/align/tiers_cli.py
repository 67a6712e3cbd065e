"""`studio align-tiers A B -o OUT`: A's labels on B's times, from two annotation files (or two tiers).

The command-line face of `studio.align.tiers` (the window has it as Align ▸ Align two tiers), so a
corrected transcript can be timed by an ASR word tier, or two annotators compared, in a script or
over a corpus. A and B are ``FILE[:TIER]``: any annotation format `studio.io.read` reads; the tier
may be left out when the file has exactly one interval tier. A spec that names an existing file is
taken whole first, so a file name holding ":" still works.

Errors are raised, not printed: `studio.cli.main` prints ``studio: error: FILE: problem`` and exits
with 1. Every message about an input names its file. OUT (any format, by suffix) holds the one tier
"A timed by B"; ``--report`` writes the pairs as CSV and ``--json`` prints the counts, both meant for
scripts that score many files (WER-style counts, boundary agreement).
"""

from __future__ import annotations

import argparse
import csv
import io as _io
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_cli", "parse_spec", "read_tier", "report_rows", "REPORT_COLUMNS"]

REPORT_COLUMNS = (
    "op", "a_index", "a_label", "a_start", "a_end", "b_index", "b_label", "b_start", "b_end", "score",
)  # fmt: skip
_SPLIT = {"auto": "auto", "yes": True, "no": False}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "align-tiers",
        help="align two interval tiers: A's labels on B's times (transcript vs ASR, two annotators)",
        description="Pair the annotations of tier A with those of tier B and write OUT with one tier, "
        "'A timed by B': A's labels carrying B's times. A and B are FILE[:TIER], any annotation format "
        "Studio reads (TextGrid, eaf, json, csv, srt, vtt, ctm, rttm, .studio, ...); TIER may be left out "
        "when the file has one interval tier. --by labels (default) aligns the label sequences by an edit "
        "distance (case, punctuation and numbers normalised: '2' matches 'two'), as for a corrected "
        "transcript against an ASR or forced-alignment word tier; A units with no partner share the time "
        "between their neighbours. --by times pairs intervals by overlap, as for two annotators' "
        "segmentations. Each output interval has a confidence (1 exact match, 0.4-0.9 substitution, 0.3 "
        "interpolated, 0.15 squeezed), so Studio's review queue lists the doubtful ones. The counts "
        "(matched, substituted, inserted, deleted; A is the reference, as in WER) and the median boundary "
        "difference go to stderr. OUT's format follows its suffix.",
        epilog="examples:\n"
        "  studio align-tiers corrected.TextGrid asr.ctm -o corrected-timed.TextGrid\n"
        "  studio align-tiers transcript.eaf:utterances asr.TextGrid:words -o timed.eaf\n"
        "  studio align-tiers session.studio:transcript session.studio:words -o timed.json --json\n"
        "  studio align-tiers ann1.TextGrid:turns ann2.TextGrid:turns --by times -o a1.csv "
        "--report pairs.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="FILE[:TIER] whose labels are kept (the reference)")
    p.add_argument("b", metavar="B", help="FILE[:TIER] whose times are taken")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the timed tier (format by suffix)")
    p.add_argument(
        "--by",
        choices=("labels", "times"),
        default="labels",
        help="labels (default): by the label sequences; times: by time overlap (two segmentations)",
    )
    p.add_argument(
        "--split-words",
        choices=tuple(_SPLIT),
        default="auto",
        help="split multi-word labels into one unit per word: auto (default: a tier of phrases against "
        "a word tier), yes (both tiers), no (neither)",
    )
    p.add_argument(
        "--language", default="en", help="language of the labels, for spelling numbers (default en)"
    )
    p.add_argument("--json", action="store_true", help="print the counts and figures as JSON on stdout")
    p.add_argument(
        "--report",
        metavar="REPORT.csv",
        help="write one CSV row per pair: " + ", ".join(REPORT_COLUMNS) + " (empty cells on the side "
        "that has nothing: a deletion has no B, an insertion no A)",
    )
    p.set_defaults(func=run_cli)


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """``FILE[:TIER]`` -> (file, tier or None). An existing file is taken whole first (its name may
    hold ":"); otherwise the text after the last ":" names the tier. A file that does not exist
    raises FileNotFoundError naming the file part (or the whole spec when that part has no suffix,
    so ``my:file.TextGrid`` is not reported as ``my``)."""
    whole = Path(spec)
    if whole.exists():
        return whole, None
    head, sep, tier = spec.rpartition(":")
    if sep and head:
        path = Path(head)
        if path.exists():
            return path, tier or None
        if path.suffix:
            raise FileNotFoundError(2, "No such file or directory", head)
    raise FileNotFoundError(2, "No such file or directory", spec)


def read_tier(path: Path, name: str | None, session: Any = None) -> Any:
    """The interval tier `name` of the annotation file `path` (its only interval tier when `name` is
    None); ValueError naming the file when there is none, several, or the tier has no labels."""
    from studio import io
    from studio.align.tiers import SKIP
    from studio.core.tiers import IntervalTier

    if session is None:
        session = io.read(path)
    intervals = [t.name for t in session.interval_tiers()]
    listed = ", ".join(intervals) or "none"
    if name is None:
        if len(intervals) != 1:
            if not intervals:
                others = ", ".join(session.tier_names()) or "none"
                raise ValueError(f"{path}: has no interval tier (tiers: {others})")
            raise ValueError(f"{path}: has interval tiers {listed}; say which with {path}:TIER")
        name = intervals[0]
    if not session.has_tier(name):
        raise ValueError(f"{path}: no tier named {name!r} (interval tiers: {listed})")
    tier = session.tier(name)
    if not isinstance(tier, IntervalTier):
        raise ValueError(
            f"{path}: tier {name!r} is a {tier.kind} tier, not an interval tier (interval tiers: {listed})"
        )
    if not any(iv.label.strip() and iv.label.strip().casefold() not in SKIP for iv in tier):
        raise ValueError(f"{path}: tier {name!r} has no labelled intervals to align")
    # a detached copy: the timed tier is new, and a child tier's parent is not in OUT
    return IntervalTier(tier.name, list(tier), allow_overlap=tier.allow_overlap)


def _num(x: float, digits: int = 6) -> str:
    """A time or score without trailing zeros (microseconds are finer than any annotation)."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def report_rows(result: Any) -> list[list[str]]:
    """The pairs of a `TierAlignment` as CSV rows (header first): a unit's annotation index in its
    tier (a word of a split label shares its annotation's index), its label and times."""
    rows = [list(REPORT_COLUMNS)]
    for ia, ib, op, score in result.pairs:
        row = [op]
        for units, k in ((result.a_units, ia), (result.b_units, ib)):
            if k is None:
                row += ["", "", "", ""]
            else:
                u = units[k]
                row += [str(u.index), u.label, _num(u.start), _num(u.end)]
        row.append(_num(score, 4))
        rows.append(row)
    return rows


def run_cli(args: Any) -> int:
    from studio import io
    from studio.align.tiers import align_tiers
    from studio.core.session import Session
    from studio.io.atomic import atomic_write_text

    (pa, ta), (pb, tb) = parse_spec(args.a), parse_spec(args.b)
    out = Path(args.output)
    fmt = io.format_for_path(out, for_reading=False)  # an unknown suffix fails before any work
    if fmt.write is None:
        raise ValueError(f"{out}: {fmt.description} files cannot be written")
    for p in (pa, pb):
        if out.exists() and out.resolve() == p.resolve():
            raise ValueError(f"{out}: output is an input file; write to another file")
    sa = io.read(pa)
    sb = sa if pb.resolve() == pa.resolve() else io.read(pb)
    a, b = read_tier(pa, ta, sa), read_tier(pb, tb, sb)
    result = align_tiers(a, b, by=args.by, split_words=_SPLIT[args.split_words], language=args.language)
    warnings = io.write(Session([result.timed]), out)
    for w in warnings:
        print(f"studio: warning: {out}: {w}", file=sys.stderr)
    if args.report:
        buf = _io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(report_rows(result))
        atomic_write_text(args.report, buf.getvalue())
    print(f"{result.timed.name}: {result.describe()} -> {out}", file=sys.stderr)
    if args.json:
        json.dump(result.summary, sys.stdout, indent=2)
        print()
    return 0
