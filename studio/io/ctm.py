"""NIST CTM (time-marked conversation): word timings as ASR systems and sclite use them.

One word per line, whitespace-separated, `;;` starts a comment::

    <file> <channel> <start> <duration> <word> [<confidence>] [<type> <speaker> ...]
    5555  A    0.25   0.43  OKAY

Reading (our decisions):
- One IntervalTier per (file, channel), in order of first appearance, named after the file, or
  "<file>/<channel>" when a file has several channels (sclite's A/B telephone sides).
  Label = the word. The tier keeps `attrs["ctm"] = {"file", "channel"}` for writing back.
- Confidence in [0, 1] -> confidence; other numbers (ROVER writes -1 for "none") are kept as text
  in `attrs["ctm_conf"]`; a confidence that is not a number is a CtmError. Fields after the
  confidence (sclite's extended CTM: type, speaker) are kept in `attrs["ctm_extra"]`.
- Words of one tier may overlap (hypotheses often do): such a tier gets `allow_overlap=True`.
- sclite alternations (`* * <ALT_BEGIN>`, `<ALT>`, `<ALT_END>` lines) are not annotations: the
  words inside get `attrs["ctm_alt"] = "<group>:<branch>"` and the writer rebuilds the markers.
- Words with a zero or negative duration (sclite's own test data has `-0.01`) cannot be
  intervals: they are skipped and listed in `session.metadata["ctm"]["skipped"]` (line, word,
  start, duration) rather than refusing the whole file.
- Too few fields, or a start or duration that is not a number, is a CtmError naming the line.

Writing: every interval tier -> one (file, channel) stream, words sorted by time. A tier read
from CTM goes back to its own file and channel; other tiers use `file_id` (default: the first
media file's name, else the output file's name) and `channel` (default "1"), and when that
stream is already taken the tier name becomes the channel (with a warning) so tiers stay apart.
Empty labels are left out (CTM has no silence words), white space inside labels becomes "_".
Times have `precision` decimals (3 by default; a warning says when that rounds).

We parse it ourselves: it is one `split()` per line, and the Python packages that read CTM
either drop confidences, extra fields and alternations or pull in a whole ASR toolkit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.annotations import Interval
from ..core.session import Session
from ..core.tiers import IntervalTier, PointTier
from .atomic import atomic_write_text
from .errors import CtmError
from .registry import Format, register
from .text import decimals, parse_float, read_text, token

__all__ = ["read_ctm", "write_ctm"]

_ALT = ("<ALT_BEGIN>", "<ALT>", "<ALT_END>")


def read_ctm(path: str | os.PathLike[str], **options: Any) -> Session:
    path = Path(path)
    text, _enc = read_text(path, CtmError, fallback="latin-1")
    streams: dict[tuple[str, str], list[Interval]] = {}
    skipped: list[dict[str, Any]] = []
    alt_group = 0
    alt_branch: int | None = None  # None: outside an alternation
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith(";;"):
            continue
        f = line.split()
        if len(f) < 5:
            raise CtmError(
                path, f"{len(f)} fields; a CTM line has file channel start duration word", line=lineno
            )
        file_id, chnl, tbeg, tdur, word = f[:5]
        if word in _ALT:
            if word == "<ALT_BEGIN>":
                if alt_branch is not None:
                    raise CtmError(path, "<ALT_BEGIN> inside an alternation", line=lineno)
                alt_group, alt_branch = alt_group + 1, 0
            elif alt_branch is None:
                raise CtmError(path, f"{word} outside an alternation", line=lineno)
            elif word == "<ALT>":
                alt_branch += 1
            else:
                alt_branch = None
            continue
        start = parse_float(tbeg, "start", path, lineno, CtmError)
        dur = parse_float(tdur, "duration", path, lineno, CtmError)
        end = start + dur
        da, db = decimals(tbeg), decimals(tdur)
        if da is not None and db is not None:
            end = round(end, max(da, db))  # 0.25 + 0.43 is 0.68, not 0.6799999999999999
        if not end > start:
            skipped.append({"line": lineno, "word": word, "start": start, "duration": dur})
            continue
        attrs: dict[str, Any] = {}
        confidence = None
        if len(f) > 5:
            c = parse_float(f[5], "confidence", path, lineno, CtmError)
            if 0.0 <= c <= 1.0:
                confidence = c
            else:
                attrs["ctm_conf"] = f[5]
        if len(f) > 6:
            attrs["ctm_extra"] = " ".join(f[6:])
        if alt_branch is not None:
            attrs["ctm_alt"] = f"{alt_group}:{alt_branch}"
        streams.setdefault((file_id, chnl), []).append(Interval(start, end, word, confidence, attrs=attrs))
    if alt_branch is not None:
        raise CtmError(path, "the file ends inside an alternation (no <ALT_END>)")

    channels: dict[str, int] = {}
    for file_id, _ch in streams:
        channels[file_id] = channels.get(file_id, 0) + 1
    tiers = []
    for (file_id, chnl), items in streams.items():
        name = file_id if channels[file_id] == 1 else f"{file_id}/{chnl}"
        tiers.append(
            IntervalTier(name, items, allow_overlap="auto", attrs={"ctm": {"file": file_id, "channel": chnl}})
        )
    metadata: dict[str, Any] = {}
    if skipped:
        metadata["ctm"] = {"skipped": skipped}
    return Session(tiers, metadata=metadata)


def write_ctm(
    session: Session,
    path: str | os.PathLike[str],
    *,
    file_id: str | None = None,
    channel: str | None = None,
    precision: int = 3,
) -> list[str]:
    """Write interval tiers as CTM words; returns warnings about what CTM cannot hold."""
    path = Path(path)
    warnings: list[str] = []
    default_file = (
        token(file_id or (Path(session.media[0].path).stem if session.media else path.stem)) or "file"
    )
    default_channel = token(channel or "1") or "1"
    q = 10.0**-precision
    lines: list[tuple[str, str, float, int, str]] = []
    taken: set[tuple[str, str]] = set()
    rounded = empty = spaced = short = no_conf_extra = 0
    other_attrs: set[str] = set()
    renamed: list[str] = []

    def fmt(t: float) -> str:
        return f"{t:.{precision}f}"

    for order, t in enumerate(session.tiers):
        if isinstance(t, PointTier) or not isinstance(t, IntervalTier):
            kind = "point" if isinstance(t, PointTier) else "curve"
            warnings.append(f"{kind} tier {t.name!r} left out: CTM holds timed words only")
            continue
        c = t.attrs.get("ctm") if isinstance(t.attrs.get("ctm"), dict) else None
        if c is not None and file_id is None and channel is None:
            stream = (
                token(str(c.get("file", default_file))),
                token(str(c.get("channel", default_channel))),
            )
        else:
            stream = (default_file, default_channel)
        if stream in taken:
            stream = (stream[0], token(t.name))
            renamed.append(f"{t.name!r} as channel {stream[1]!r} of {stream[0]!r}")
        taken.add(stream)
        for a in _with_alternations(list(t)):
            if isinstance(a, str):  # an alternation marker
                lines.append((stream[0], stream[1], 0.0, order, f"{stream[0]} {stream[1]} {a}"))
                continue
            if not a.label.strip():
                empty += 1
                continue
            s, e = round(a.start / q) * q, round(a.end / q) * q
            if abs(s - a.start) > 1e-9 or abs(e - a.end) > 1e-9:
                rounded += 1
            if e - s < q / 2:
                short += 1
                continue
            word = token(a.label)
            spaced += word != a.label
            fields = [stream[0], stream[1], fmt(s), fmt(e - s), word]
            conf = repr(a.confidence) if a.confidence is not None else a.attrs.get("ctm_conf")
            extra = a.attrs.get("ctm_extra")
            if conf is not None:
                fields.append(token(str(conf)))
            if extra:
                if conf is None:
                    no_conf_extra += 1
                else:
                    fields.append(str(extra).replace("\n", " "))
            other_attrs.update(k for k in a.attrs if not k.startswith("ctm_"))
            lines.append((stream[0], stream[1], s, order, " ".join(fields)))

    if empty:
        warnings.append(f"{empty} intervals with empty labels left out (CTM has no silence words)")
    if spaced:
        warnings.append(f"{spaced} labels with white space written with '_' (a CTM word is one token)")
    if renamed:
        shown = "; ".join(renamed[:3]) + (f"; and {len(renamed) - 3} more" if len(renamed) > 3 else "")
        warnings.append(f"{len(renamed)} tiers would share a file and channel, so they were written {shown}")
    if rounded:
        warnings.append(f"{rounded} words have times rounded to {precision} decimals")
    if short:
        warnings.append(f"{short} words shorter than {q / 2:g} s left out (zero duration after rounding)")
    if no_conf_extra:
        warnings.append(
            f"{no_conf_extra} words' extra CTM fields left out (they need a confidence before them)"
        )
    if other_attrs:
        warnings.append(f"attributes not kept by CTM: {sorted(other_attrs)}")
    # Keep each stream together, streams in tier order, words in the order built above (which
    # is time order, alternation blocks kept whole).
    first: dict[tuple[str, str], int] = {}
    for i, row in enumerate(lines):
        first.setdefault((row[0], row[1]), i)
    indexed = sorted(range(len(lines)), key=lambda i: (first[(lines[i][0], lines[i][1])], i))
    atomic_write_text(path, "".join(lines[i][4] + "\n" for i in indexed))
    return warnings


def _with_alternations(items: list[Interval]) -> list[Interval | str]:
    """Words in time order, with each alternation group emitted whole between its markers."""
    out: list[Interval | str] = []
    groups: dict[str, list[Interval]] = {}
    for a in items:
        alt = a.attrs.get("ctm_alt")
        if isinstance(alt, str) and ":" in alt:
            groups.setdefault(alt.split(":", 1)[0], []).append(a)
    done: set[str] = set()
    for a in items:
        alt = a.attrs.get("ctm_alt")
        g = alt.split(":", 1)[0] if isinstance(alt, str) and ":" in alt else None
        if g is None:
            out.append(a)
            continue
        if g in done:
            continue
        done.add(g)
        members = sorted(groups[g], key=lambda x: (_branch(x), x.start))
        out.append("* * <ALT_BEGIN>")
        branch = _branch(members[0])
        for m in members:
            if _branch(m) != branch:
                out.append("* * <ALT>")
                branch = _branch(m)
            out.append(m)
        out.append("* * <ALT_END>")
    return out


def _branch(a: Interval) -> int:
    try:
        return int(str(a.attrs["ctm_alt"]).split(":", 1)[1])
    except (ValueError, IndexError):
        return 0


def _sniff(head: bytes) -> bool:
    for raw in head.decode("utf-8", "replace").splitlines()[:5]:
        f = raw.split()
        if not f or raw.startswith(";;") or (len(f) > 4 and f[4] in _ALT):
            continue
        try:
            float(f[2]), float(f[3])
        except (IndexError, ValueError):
            return False
    return True


register(
    Format(
        "ctm",
        (".ctm",),
        "NIST CTM word timings (ASR, sclite)",
        read=read_ctm,
        write=write_ctm,
        sniff=_sniff,
    )
)
