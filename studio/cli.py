"""The `studio` command: every headless capability, scriptable over a whole corpus.

Exit codes: 0 success, 2 usage error, 1 bad input (one line on stderr naming the file and problem).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

EXAMPLES = """\
examples:
  studio                                     the window, on an empty session
  studio demo                                the window, on the bundled demo recording
  studio open interview.eaf interview.mp4    the window, on these files
  studio info interview.eaf                  tiers, annotation counts and time ranges
  studio info --json clip.mp4 words.TextGrid machine-readable, several files at once
  studio convert interview.eaf interview.TextGrid
  studio convert words.TextGrid words.srt --tiers words
  studio convert labels.txt out.csv --from audacity
  studio convert interview.eaf all.vtt -O merge_tiers=true   writer options
  studio convert corpus/*.eaf out/ --to textgrid             a whole corpus
  studio formats                             every format Studio reads and writes
  studio features talk.wav --kind mfcc -P deltas=2 -o talk_mfcc.npy   values + times
  studio features clip.mp4 --kind mouth,logmel --hop 0.04 -o av.npy  several kinds on one grid
  studio sync camera.mp4 recorder.wav --json   offset and drift of B relative to A
  studio dtw a.npy b.npy --band 0.1 -o path.csv  DTW of two feature files (e.g. from studio features)
  studio align talk.wav talk.txt -o talk.TextGrid   word times (and --level phone) of a transcript
"""


class CliError(Exception):
    """A problem with the user's input: printed as one line, exit code 1."""


def _fmt_time(t: float | None) -> str:
    return "-" if t is None else f"{t:.3f}"


def reader_notes(session: Any, path: Path) -> list[str]:
    """What a lenient reader skipped (it lists that under metadata[<format>]["skipped"])."""
    notes = []
    for fmt, val in session.metadata.items():
        if isinstance(val, dict) and val.get("skipped"):
            sk = val["skipped"]
            lines = [s.get("line", "?") if isinstance(s, dict) else s for s in sk]
            shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
            notes.append(
                f"{path}: skipped {len(sk)} unusable {fmt} entr{'y' if len(sk) == 1 else 'ies'} (line {shown})"
            )
    return notes


# --- info ----------------------------------------------------------------------------------
def _annotation_info(path: Path, fmt: str | None) -> dict[str, Any]:
    from . import io
    from .core.tiers import CurveTier

    f = io.get_format(fmt) if fmt else io.format_for_path(path)
    session = io.read(path, fmt)
    tiers = []
    for t in session.tiers:
        r = t.time_range()
        d: dict[str, Any] = {"name": t.name, "type": t.kind, "count": len(t), "start": r[0] if r else None,
                             "end": r[1] if r else None}  # fmt: skip
        if t.parent:
            d["parent"] = t.parent
        if isinstance(t, CurveTier):
            d["rate"] = t.rate
        tiers.append(d)
    r = session.time_range()
    out: dict[str, Any] = {
        "path": str(path),
        "format": f.name,
        "format_description": f.description,
        "start": r[0] if r else None,
        "end": r[1] if r else None,
        "tiers": tiers,
    }
    if session.media:
        out["media"] = [{"path": m.path, "kind": m.kind, "offset": m.offset} for m in session.media]
    if session.vocabularies:
        out["vocabularies"] = {v.name: len(v.entries) for v in session.vocabularies.values()}
    problems = session.validate() + reader_notes(session, path)
    if problems:
        out["problems"] = problems
    return out


def _media_info(path: Path) -> dict[str, Any]:
    from .media.probe import probe

    return {"path": str(path), "format": "media", **probe(path).to_dict()}


def _print_info(d: dict[str, Any]) -> None:
    if d["format"] == "media":
        print(f"{d['path']}  (media: {d['container']}, {d['kind']})")
        print(f"  duration  {_fmt_time(d['duration'])} s")
        for s in d["streams"]:
            if s["kind"] == "audio":
                print(f"  stream {s['index']}: audio  {s['codec']}, {s['sample_rate']} Hz, {s['channels']} ch, "
                      f"{_fmt_time(s['duration'])} s")  # fmt: skip
            elif s["kind"] == "video":
                fps = f"{s['fps']:.3f}".rstrip("0").rstrip(".") if s["fps"] else "?"
                print(f"  stream {s['index']}: video  {s['codec']}, {s['width']}x{s['height']}, {fps} fps, "
                      f"{s['frames'] if s['frames'] is not None else '?'} frames, {_fmt_time(s['duration'])} s")  # fmt: skip
            else:
                print(f"  stream {s['index']}: {s['kind']}  {s['codec']}")
        return
    print(f"{d['path']}  ({d['format_description']})")
    print(f"  time range  {_fmt_time(d['start'])} - {_fmt_time(d['end'])} s")
    for m in d.get("media", []):
        off = f", offset {m['offset']:+.3f} s" if m["offset"] else ""
        print(f"  media  {m['kind']}: {m['path']}{off}")
    for name, n in d.get("vocabularies", {}).items():
        print(f"  vocabulary  {name}: {n} entries")
    tiers = d["tiers"]
    print(f"  tiers ({len(tiers)}):")
    width = max((len(t["name"]) for t in tiers), default=4)
    for t in tiers:
        unit = "samples" if t["type"] == "curve" else "annotations"
        parent = f"  (in {t['parent']})" if t.get("parent") else ""
        print(f"    {t['name']:<{width}}  {t['type']:<8} {t['count']:>7} {unit:<11}  "
              f"{_fmt_time(t['start'])} - {_fmt_time(t['end'])} s{parent}")  # fmt: skip
    for p in d.get("problems", []):
        print(f"  problem: {p}")


def cmd_info(args: argparse.Namespace) -> int:
    from .media.probe import is_media_path

    results = []
    for name in args.files:
        path = Path(name)
        if not path.exists():
            raise CliError(f"{path}: no such file")
        if args.format is None and is_media_path(path):
            results.append(_media_info(path))
        else:
            results.append(_annotation_info(path, args.format))
    if args.json:
        json.dump(results if len(results) > 1 else results[0], sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        for i, d in enumerate(results):
            if i:
                print()
            _print_info(d)
    return 0


# --- features ------------------------------------------------------------------------------
def _param_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def cmd_features(args: argparse.Namespace) -> int:
    from .media.features import KINDS, combine, extract_many_task
    from .tasks.base import run

    kinds = list(dict.fromkeys(k.strip() for k in args.kind.split(",") if k.strip()))  # once each
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise CliError(f"unknown feature kind {', '.join(unknown) or '(none)'}; kinds: {', '.join(KINDS)}")
    params: dict[str, Any] = {}
    for pair in args.param or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"-P {pair!r}: expected KEY=VALUE")
        params[key.strip()] = _param_value(value.strip())
    if args.hop is not None and not (args.hop > 0 and math.isfinite(args.hop)):  # before a long extraction
        raise CliError(f"--hop must be a positive number of seconds, got {args.hop}")
    media = Path(args.media)
    if not media.exists():
        raise CliError(f"{media}: no such file")
    out = Path(args.output)
    if out.suffix.lower() != ".npy":
        raise CliError(f"{out}: the output must be a .npy file (times go to .times.npy, metadata to .json)")
    progress = _progress_printer(f"features of {media.name}", quiet=args.quiet)
    try:
        feats = run(extract_many_task(media, kinds, **params), on_progress=progress)
    except TypeError as exc:  # an unknown or ill-typed -P parameter
        raise CliError(f"{media}: {exc}") from None
    finally:
        progress(None)
    items = [feats[k] for k in kinds]
    if len(items) == 1 and args.hop is None:
        result = items[0]
    else:
        hop = args.hop if args.hop is not None else max(f.hop for f in items)
        result = combine(items, hop) if len(items) > 1 else items[0].resample(hop)
    written = result.save(out)
    if not args.quiet:
        frames, dims = result.values.shape
        stem = written.with_suffix("")
        print(
            f"{written}: {frames} frames x {dims} dims ({result.kind}, hop {result.hop * 1000:g} ms, "
            f"{float(result.times[0]) if frames else 0:.3f}-{float(result.times[-1]) if frames else 0:.3f} s); "
            f"times in {stem}.times.npy, metadata in {stem}.json"
        )
    return 0


def _progress_printer(what: str, *, quiet: bool) -> Any:
    """A progress callback drawing one updating line on stderr when it is a terminal."""
    tty = sys.stderr.isatty() and not quiet

    def show(p: Any) -> None:
        if not tty:
            return
        if p is None:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        elif p.fraction is not None:
            print(f"\r{what}: {p.fraction * 100:5.1f} %", end="", file=sys.stderr, flush=True)

    return show


# --- cache ---------------------------------------------------------------------------------
def cmd_cache(args: argparse.Namespace) -> int:
    from .media import cache

    root = cache.cache_dir()
    if args.clear:
        freed = cache.clear()
        print(f"{root}: removed {freed / 2**20:.1f} MB")
        return 0
    sizes = cache.usage()
    total = sum(b for _, b in sizes.values())
    print(f"{root}: {total / 2**20:.1f} MB (limit {cache.max_bytes() / 2**30:g} GB, $STUDIO_CACHE_MAX_GB)")
    for kind, (n, b) in sorted(sizes.items()):
        print(f"  {kind:<10} {n:5d} files  {b / 2**20:10.1f} MB")
    return 0


# --- convert -------------------------------------------------------------------------------
def format_options(fn: Any) -> dict[str, Any]:
    """The options a format's reader or writer takes (its named parameters with defaults)."""
    import inspect

    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.default is not inspect.Parameter.empty and not p.name.startswith("_")
    }


def parse_options(pairs: list[str] | None, fn: Any, what: str) -> dict[str, Any]:
    """`-O key=value` pairs, values read as JSON when they parse (true, 3, 0.5) else as text."""
    known = format_options(fn)
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise CliError(f"option {pair!r} is not KEY=VALUE")
        if key not in known:
            names = ", ".join(f"{k} (default {v!r})" for k, v in known.items()) or "none"
            raise CliError(f"the {what} has no option {key!r} (options: {names})")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _convert_one(src: Path, dst: Path, args: argparse.Namespace, out_fmt: Any) -> None:
    from . import io

    if not src.exists():
        raise CliError(f"{src}: no such file")
    if src.resolve() == dst.resolve():
        raise CliError(f"{dst}: output is the input file; write to another file")
    in_fmt = io.get_format(args.from_) if args.from_ else io.format_for_path(src)
    if in_fmt.read is None:
        raise CliError(f"{src}: {in_fmt.description} files cannot be read")
    write_opts = parse_options(args.option, out_fmt.write, f"{out_fmt.description} writer")
    read_opts = parse_options(args.read_option, in_fmt.read, f"{in_fmt.description} reader")
    session = io.read(src, in_fmt.name, **read_opts)
    tiers = None
    if args.tiers:
        tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
        missing = [t for t in tiers if not session.has_tier(t)]
        if missing:
            raise CliError(f"{src}: no tier named {', '.join(map(repr, missing))} "
                           f"(tiers: {', '.join(session.tier_names()) or 'none'})")  # fmt: skip
    warnings = reader_notes(session, src) + io.write(session, dst, out_fmt.name, tiers=tiers, **write_opts)
    for w in warnings:
        print(f"studio: warning: {dst.name}: {w}", file=sys.stderr)
    if not args.quiet:
        n = len(tiers) if tiers is not None else len(session.tiers)
        print(f"wrote {dst} ({out_fmt.description}, {n} tier{'s' if n != 1 else ''})")


def cmd_convert(args: argparse.Namespace) -> int:
    """One file to one file, or many files into a folder (`--to` names the format)."""
    from . import io
    from .io.errors import FormatError

    *inputs, output = args.paths
    if not inputs:
        raise CliError("give an input and an output: studio convert IN OUT, or IN... FOLDER --to FMT")
    dst = Path(output)
    if len(inputs) == 1 and not dst.is_dir():
        out_fmt = io.get_format(args.to) if args.to else io.format_for_path(dst, for_reading=False)
        if out_fmt.write is None:
            raise CliError(f"{dst}: {out_fmt.description} files cannot be written")
        _convert_one(Path(inputs[0]), dst, args, out_fmt)
        return 0
    # Batch: OUT is a folder; a bad file is reported and the others still converted.
    if not args.to:
        raise CliError(f"{dst}: converting into a folder needs --to FORMAT (see `studio formats`)")
    out_fmt = io.get_format(args.to)
    if out_fmt.write is None:
        raise CliError(f"{out_fmt.description} files cannot be written")
    dst.mkdir(parents=True, exist_ok=True)
    suffix = out_fmt.suffixes[0] if out_fmt.name != "textgrid" else ".TextGrid"
    failed = 0
    targets: dict[Path, Path] = {}
    for name in inputs:
        src = Path(name)
        target = dst / (src.stem + suffix)
        if target in targets:
            print(f"studio: error: {src}: would overwrite {target}, already written from {targets[target]}",
                  file=sys.stderr)  # fmt: skip
            failed += 1
            continue
        targets[target] = src
        try:
            _convert_one(src, target, args, out_fmt)
        except (CliError, FormatError, OSError, ValueError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"studio: error: {msg}", file=sys.stderr)
            failed += 1
    if failed:
        print(f"studio: {failed} of {len(inputs)} files could not be converted", file=sys.stderr)
    return 1 if failed else 0


def cmd_formats(args: argparse.Namespace) -> int:
    from . import io

    rows = [(f.name, ", ".join(f.suffixes), ("r" if f.read else "-") + ("w" if f.write else "-"), f.description)
            for f in sorted(io.formats(), key=lambda f: f.name)]  # fmt: skip
    if args.json:
        json.dump(
            [dict(zip(("name", "suffixes", "mode", "description"), r)) for r in rows], sys.stdout, indent=2
        )
        print()
        return 0
    w = max(len(r[0]) for r in rows)
    s = max(len(r[1]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:<{s}}  {r[2]}  {r[3]}")
    return 0


# --- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="studio",
        description="Studio: annotate, align and model multimodal recordings.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser(
        "info",
        help="describe annotation, session and media files",
        description="Format, duration, tiers with annotation counts and time ranges; for media files the "
        "streams, duration, sample rate, fps and frame count.",
        epilog="examples:\n  studio info interview.eaf\n  studio info --json clip.mp4 words.TextGrid",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--format", help="read the files as this format (see `studio formats`)")
    info.set_defaults(func=cmd_info)

    conv = sub.add_parser(
        "convert",
        help="convert between annotation formats",
        description="Read IN and write OUT, formats chosen by suffix. With several inputs (or when OUT is "
        "a folder), each IN is written into the folder OUT as FORMAT (--to); a file that fails is reported "
        "and the others are still converted. What the target format cannot hold is dropped with a "
        "warning on stderr.",
        epilog="examples:\n  studio convert interview.eaf interview.TextGrid\n"
        "  studio convert words.TextGrid words.srt --tiers words\n"
        "  studio convert labels.txt labels.csv --from audacity\n"
        "  studio convert interview.eaf all.srt -O merge_tiers=true\n"
        "  studio convert corpus/*.eaf textgrids/ --to textgrid      a whole corpus into a folder",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conv.add_argument("paths", nargs="+", metavar="IN [IN ...] OUT",
                      help="input file(s) and the output file, or a folder for several inputs")  # fmt: skip
    conv.add_argument("--tiers", help="comma-separated tier names to keep (default: all)")
    conv.add_argument("--from", dest="from_", metavar="FMT", help="input format (default: from the suffix)")
    conv.add_argument("--to", metavar="FMT", help="output format (default: from the suffix)")
    conv.add_argument(
        "-O",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="an option of the output format's writer, e.g. -O merge_tiers=true (SRT/VTT), "
        "-O short=true (TextGrid), -O speaker=label (RTTM); repeatable",
    )
    conv.add_argument(
        "--read-option", action="append", metavar="KEY=VALUE", help="an option of the input reader"
    )
    conv.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")
    conv.set_defaults(func=cmd_convert)

    feat = sub.add_parser(
        "features",
        help="extract audio/video features to .npy (with timestamps)",
        description="Compute frame-wise features of a media file and write the values (frames x dims) to "
        "OUT.npy, the time of each frame (seconds, float64) to OUT.times.npy and the parameters to OUT.json. "
        "Audio kinds: logmel, mfcc, rms, onset, chroma (10 ms hop, frames centred on k*hop); video kinds: "
        "motion, flow, face, mouth (one value per video frame, at its timestamp). Several kinds "
        "(comma-separated) are resampled onto one grid (--hop, default the coarsest) and stacked.",
        epilog="examples:\n  studio features talk.wav --kind mfcc -P deltas=2 -o mfcc.npy\n"
        "  studio features talk.wav --kind logmel -P n_mels=40 -o mel.npy\n"
        "  studio features clip.mp4 --kind mouth -o mouth.npy\n"
        "  studio features clip.mp4 --kind logmel,mouth --hop 0.04 -o av.npy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    feat.add_argument("media", metavar="MEDIA")
    feat.add_argument("--kind", required=True, help="feature kind(s), comma-separated")
    feat.add_argument("-o", "--output", required=True, metavar="OUT.npy")
    feat.add_argument("-P", "--param", action="append", metavar="KEY=VALUE",
                      help="a parameter of the extractor, e.g. n_mels=40, deltas=2, hop=0.01; repeatable")  # fmt: skip
    feat.add_argument("--hop", type=float, help="resample onto a grid with this hop (seconds)")
    feat.add_argument("-q", "--quiet", action="store_true")
    feat.set_defaults(func=cmd_features)

    from . import app
    from .align import align_cli, dtw_cli, streams_cli, sync, tiers_cli
    from .models import models_cli

    app.add_parsers(sub)
    align_cli.add_parser(sub)
    tiers_cli.add_parser(sub)

    sync.add_parser(sub)
    streams_cli.add_parser(sub)
    dtw_cli.add_parser(sub)
    models_cli.add_parsers(sub)

    cache = sub.add_parser(
        "cache",
        help="show or clear the cache of decoded audio, envelopes and frame indexes",
        description="Decoded audio, waveform envelopes and video frame indexes are cached (keyed by file "
        "identity) so a reopen is instant. Least recently used entries go when the cache outgrows "
        "$STUDIO_CACHE_MAX_GB (default 20). The folder is $STUDIO_CACHE_DIR or the user cache folder.",
    )
    cache.add_argument("--clear", action="store_true", help="delete every entry")
    cache.set_defaults(func=cmd_cache)

    fm = sub.add_parser("formats", help="list the formats Studio reads and writes")
    fm.add_argument("--json", action="store_true")
    fm.set_defaults(func=cmd_formats)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        from . import app  # `studio` alone opens the window on an empty session

        return app.main(None)
    from .io.errors import FormatError
    from .media.probe import MediaError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: writers are atomic, so no half-written file is left behind
        print("studio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `studio info ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CliError, FormatError, MediaError) as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(
            f"studio: error: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except (KeyError, ValueError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"studio: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
