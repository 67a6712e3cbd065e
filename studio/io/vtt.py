"""WebVTT (.vtt) subtitles and captions, kept whole for round trips.

A file becomes one `IntervalTier` (named after the file stem) with `allow_overlap=True`; each cue
is an interval whose label is the cue text as written (lines joined with "\\n", voice and class
spans such as ``<v Bob>`` or ``<c.loud>`` and entities such as ``&amp;`` kept as text). Per cue,
``attrs["vtt_id"]`` holds the cue identifier and ``attrs["vtt_settings"]`` the cue settings as
written (``align:start position:10% line:0 size:50% vertical:rl region:x``; invalid or repeated
settings are kept too, browsers ignore them). `parse_settings` turns that string into a dict.

``session.metadata["vtt"]`` holds the rest of the file: ``header`` (the text after ``WEBVTT`` on
the first line), ``header_lines`` (the lines below it, e.g. YouTube's ``Kind: captions``) and
``blocks``: every NOTE, STYLE and REGION block (and any other text block, which WebVTT readers
ignore) verbatim, as ``{"kind", "text", "before", "at"}`` where ``before`` is the id of the
interval of the cue that followed it (None at the end of the file) and ``at`` that cue's start
time, so the writer puts each block back where it was, even after cues were edited or removed.

The reader follows the block structure of the WebVTT parsing algorithm (a block ends at an empty
line, or at a ``-->`` line that cannot be its time line) and its timestamp syntax
(``[h+:]mm:ss.ttt``; ``,`` before the fraction and the short fields Microsoft Teams writes,
``0:0:1.5``, are read too). A block with ``-->`` whose times do not parse, or a cue that ends
before it starts, raises `VttError` naming the line (browsers drop such a cue
silently); `strict=False` skips them instead, listed in ``metadata["vtt"]["skipped"]``. NUL
characters become U+FFFD as the specification says.

Why our own parser and not webvtt-py (0.6): it keeps cue settings, regions and notes, but drops
malformed cues without a word unless strict, and then raises errors without a line number; it
attaches notes to the next cue object rather than to a place in the file we can map onto an
edited tier; and it has no notion of blocks it does not know, which it discards. The WebVTT block
grammar is small enough that a faithful reader is shorter than the glue around the library.

Writing (`write(session, path, tier=None, merge_tiers=False)`): one track, chosen as for SRT (see
`studio.io.srt`); `merge_tiers=True` writes every interval tier's cues, each wrapped in a voice
span ``<v TierName>...`` so a player shows the speaker. Text WebVTT cannot hold is changed and
reported: empty lines inside a cue are dropped and ``-->`` is written as ``--&gt;``.
"""

from __future__ import annotations

import codecs
import os
import re
from typing import Any

from ..core.annotations import Interval
from ..core.session import Session
from ..core.tiers import IntervalTier
from .atomic import atomic_write_text
from .errors import VttError
from .registry import Format, register
from .srt import collect_cues, format_time
from .text import decode_text, read_bytes, track_name

__all__ = ["read", "write", "loads", "dumps", "parse_settings"]

# [hours:]minutes:seconds.fraction. The spec wants mm, ss and ttt exactly; Microsoft Teams writes
# "0:0:0.57", so 1-2 digit fields and a 1-3 digit decimal fraction are read too (as webvtt-py does).
_TS = r"(?:(\d{1,9}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}(?:[ \t\f]+(.*))?$")
_KEYWORD = re.compile(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)")


def parse_settings(settings: str) -> dict[str, str]:
    """``"align:start line:0"`` -> ``{"align": "start", "line": "0"}`` (the last of repeated ones)."""
    out: dict[str, str] = {}
    for item in settings.split():
        name, sep, value = item.partition(":")
        if sep and name and value:
            out[name] = value
    return out


def _timestamp(h: str | None, m: str, s: str, ms: str) -> float | None:
    if int(m) > 59 or int(s) > 59:
        return None
    return ((int(h or 0) * 3600 + int(m) * 60 + int(s)) * 1000 + int(ms.ljust(3, "0"))) / 1000.0


def _parse_timing(line: str) -> tuple[float, float, str] | str:
    m = _TIMING.match(line)
    if not m:
        return f"bad cue time line {line.strip()!r} (expected e.g. 00:01.000 --> 00:02.500 align:start)"
    g = m.groups()
    start, end = _timestamp(*g[0:4]), _timestamp(*g[4:8])
    if start is None or end is None:
        return f"minutes and seconds must be below 60 in {line.strip()!r}"
    return start, end, " ".join((g[8] or "").split())


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split lines into blocks (first line number, lines) the way the WebVTT parser does.

    A block ends at an empty line. A line with "-->" also starts a new block unless it can be
    the current block's time line: its first line, or its second after an identifier."""
    blocks: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    first = 0
    for i, line in enumerate(lines):
        if not line:
            if cur:
                blocks.append((first, cur))
                cur = []
            continue
        if cur and "-->" in line and (not blocks or len(cur) > 1 or "-->" in cur[0]):
            # "not blocks": the header block never contains a time line.
            blocks.append((first, cur))
            cur = []
        if not cur:
            first = i
        cur.append(line)
    if cur:
        blocks.append((first, cur))
    return blocks


def _decode(data: bytes, path: str | os.PathLike[str] | None) -> str:
    # WebVTT is UTF-8 and NUL means U+FFFD; keep decode_text's BOM handling for UTF-16 files
    # that Windows tools write anyway.
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = data.replace(b"\x00", "\ufffd".encode())
    text, _ = decode_text(data, path, VttError)
    return text[1:] if text.startswith("\ufeff") else text


def loads(
    data: bytes | str,
    path: str | os.PathLike[str] | None = None,
    *,
    strict: bool = True,
    tier_name: str | None = None,
) -> Session:
    """Parse WebVTT bytes or text into a Session."""
    if isinstance(data, bytes):
        text = _decode(data, path)
    else:
        text = data.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd").lstrip("\ufeff")
    lines = text.split("\n")
    first = lines[0]
    if not (first.startswith("WEBVTT") and (len(first) == 6 or first[6] in " \t")):
        raise VttError(path, f"a WebVTT file starts with the line 'WEBVTT', not {first[:40]!r}", line=1)
    blocks = _blocks(lines)
    _, header = blocks[0]
    meta: dict[str, Any] = {"header": header[0][7:], "header_lines": header[1:], "blocks": []}
    skipped: list[dict[str, Any]] = []
    intervals: list[Interval] = []
    pending: list[dict[str, Any]] = []  # blocks waiting for the next cue to anchor them

    for lineno, block in blocks[1:]:
        if "-->" in block[0]:
            ident, t = None, 0
        elif len(block) > 1 and "-->" in block[1]:
            ident, t = block[0], 1
        else:
            m = _KEYWORD.match(block[0])
            kind = m.group(1).lower() if m else "other"
            pending.append({"kind": kind, "text": "\n".join(block), "before": None, "at": None})
            meta["blocks"].append(pending[-1])
            continue
        timing = _parse_timing(block[t])
        label = "\n".join(block[t + 1 :])
        problem = timing if isinstance(timing, str) else None
        if problem is None:
            start, end, settings = timing  # type: ignore[misc]
            attrs: dict[str, Any] = {}
            if ident is not None:
                attrs["vtt_id"] = ident
            settings = " ".join(settings.split())  # tokens; written back with single spaces
            if settings:
                attrs["vtt_settings"] = settings
            try:
                iv = Interval(start, end, label, attrs=attrs)
            except ValueError:
                problem = f"cue ends at {end:.3f} s, not after it starts at {start:.3f} s"
            else:
                intervals.append(iv)
                for b in pending:
                    b["before"], b["at"] = iv.id, iv.start
                pending = []
        if problem is not None:
            if strict:
                raise VttError(path, problem, line=lineno + t + 1)
            skipped.append({"line": lineno + t + 1, "problem": problem, "text": "\n".join(block)})

    if skipped:
        meta["skipped"] = skipped
    tier = IntervalTier(tier_name or track_name(path, "subtitles"), intervals, allow_overlap=True)
    return Session([tier], metadata={"vtt": meta})


def read(
    path: str | os.PathLike[str], *, strict: bool = True, tier_name: str | None = None, **_: Any
) -> Session:
    """Read a .vtt file into a Session with one interval tier (see the module docstring)."""
    return loads(read_bytes(path, VttError), path, strict=strict, tier_name=tier_name)


# --- writing ---------------------------------------------------------------------------------------


def _clean_text(label: str) -> tuple[str, bool]:
    """Cue text WebVTT can hold: no empty lines (they end the cue), no "-->" (it starts one)."""
    lines = [ln.replace("-->", "--&gt;") for ln in label.split("\n")]
    kept = [ln for ln in lines if ln]
    if label == "":
        return "", False
    text = "\n".join(kept)
    return text, text != label


def dumps(
    session: Session, *, tier: str | None = None, merge_tiers: bool = False, **_: Any
) -> tuple[str, list[str]]:
    """The WebVTT text for a session and the warnings about what it could not hold."""
    cues, warnings = collect_cues(
        session, fmt="WebVTT", tier=tier, merge_tiers=merge_tiers, known_attrs=("vtt_id", "vtt_settings")
    )
    meta = session.metadata.get("vtt") or {}
    header = str(meta.get("header", "")).replace("\r", " ").replace("\n", " ")
    out = ["WEBVTT" + (f" {header}" if header else "")]
    out += [ln for ln in meta.get("header_lines", []) if ln and "-->" not in ln]

    # Put every kept block back before the cue it preceded, or before the first cue at or after
    # that cue's time when that cue is gone; the rest go at the end.
    blocks = [b for b in meta.get("blocks", []) if isinstance(b, dict) and b.get("text")]
    written = {c.interval.id for c in cues}
    by_id: dict[str, list[dict[str, Any]]] = {}
    by_time: list[dict[str, Any]] = []
    for b in blocks:
        if b.get("before") in written:
            by_id.setdefault(b["before"], []).append(b)
        else:
            by_time.append(b)
    by_time.sort(key=lambda b: float("inf") if b.get("at") is None else float(b["at"]))

    def emit(b: dict[str, Any]) -> None:
        # A block can't hold an empty line; one with "-->" would be read as a cue.
        text = "\n".join(ln for ln in str(b["text"]).split("\n") if ln)
        if "-->" in text:
            warnings.append(f"WebVTT: left out a {b.get('kind', 'text')} block with '-->' in it")
            return
        out.extend(["", text])

    n_changed = n_bad_id = 0
    k = 0
    for c in cues:
        while (
            k < len(by_time)
            and by_time[k].get("at") is not None
            and float(by_time[k]["at"]) <= c.start_ms / 1000
        ):
            emit(by_time[k])
            k += 1
        for b in by_id.get(c.interval.id, ()):
            emit(b)
        label = f"<v {c.tier}>{c.label}" if merge_tiers else c.label
        text, changed = _clean_text(label)
        n_changed += changed
        out.append("")
        ident = c.interval.attrs.get("vtt_id")
        if ident is not None:
            ident = str(ident)
            # A blank line would end the block, "-->" makes it the time line; spaces alone are fine.
            if ident and "-->" not in ident and "\n" not in ident and "\r" not in ident:
                out.append(ident)
            else:
                n_bad_id += 1
        timing = f"{format_time(c.start_ms, '.')} --> {format_time(c.end_ms, '.')}"
        settings = " ".join(str(c.interval.attrs.get("vtt_settings", "")).split())
        out.append(f"{timing} {settings}" if settings else timing)
        if text:
            out.append(text)
    for b in by_time[k:]:
        emit(b)
    out.append("")
    if n_changed:
        warnings.append(
            "WebVTT cue text cannot hold empty lines or '-->': dropped the empty lines and wrote "
            f"'--&gt;' in {n_changed} cues"
        )
    if n_bad_id:
        warnings.append(
            f"WebVTT: left out {n_bad_id} cue identifiers that were empty or held '-->' or a line break"
        )
    return "\n".join(out), warnings


def write(
    session: Session,
    path: str | os.PathLike[str],
    *,
    tier: str | None = None,
    merge_tiers: bool = False,
    newline: str = "\n",
    **_: Any,
) -> list[str]:
    """Write one track of WebVTT cues (UTF-8, as the format requires); returns warnings."""
    text, warnings = dumps(session, tier=tier, merge_tiers=merge_tiers)
    atomic_write_text(path, text, encoding="utf-8", newline=newline)
    return warnings


def _sniff(head: bytes) -> bool:
    return head.lstrip(codecs.BOM_UTF8).startswith(b"WEBVTT")


register(
    Format(
        name="vtt",
        suffixes=(".vtt",),
        description="WebVTT subtitles",
        read=read,
        write=write,
        sniff=_sniff,
        aliases=("webvtt",),
    )
)
