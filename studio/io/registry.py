"""Formats registered by file suffix: `read(path)` and `write(session, path)` pick the module.

Each format module (one per format) calls `register(Format(...))` at import time; `studio.io`
imports them all. A reader returns a `Session`; a writer returns the list of warnings about what
the target format could not hold (dropped tiers, curve tiers, confidences, overlaps...), so the
CLI and the window can tell the user instead of losing data silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.session import Session
from .errors import FormatError, UnknownFormatError

__all__ = ["Format", "register", "formats", "get_format", "format_for_path", "read", "write", "subset"]

Reader = Callable[..., Session]
Writer = Callable[..., list[str]]


@dataclass(frozen=True)
class Format:
    """A file format: its name (used by --from/--to), the suffixes it owns, reader and writer.

    `sniff(head: bytes) -> bool` settles a suffix that several formats share (e.g. `.txt`, `.json`)."""

    name: str
    suffixes: tuple[str, ...]
    description: str
    read: Reader | None = None
    write: Writer | None = None
    sniff: Callable[[bytes], bool] | None = None
    aliases: tuple[str, ...] = field(default=())


_FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    _FORMATS[fmt.name] = fmt
    return fmt


def formats() -> list[Format]:
    return list(_FORMATS.values())


def get_format(name: str) -> Format:
    key = name.lower().lstrip(".")
    for f in _FORMATS.values():
        if key == f.name or key in f.aliases or "." + key in f.suffixes:
            return f
    names = ", ".join(sorted(_FORMATS))
    raise UnknownFormatError(None, f"unknown format {name!r} (known: {names})")


def format_for_path(path: str | os.PathLike[str], *, for_reading: bool = True) -> Format:
    p = Path(path)
    suf = p.suffix.lower()
    candidates = [f for f in _FORMATS.values() if suf in f.suffixes]
    if not candidates:
        known = ", ".join(sorted({s for f in _FORMATS.values() for s in f.suffixes}))
        raise UnknownFormatError(
            p, f"no format is registered for suffix {suf or '(none)'!r} (known: {known})"
        )
    if len(candidates) > 1 and for_reading:
        try:
            with open(p, "rb") as fh:
                head = fh.read(4096)
        except OSError:
            head = b""
        for f in candidates:
            if f.sniff is not None and f.sniff(head):
                return f
    return candidates[0]


def read(path: str | os.PathLike[str], fmt: str | None = None, **options: Any) -> Session:
    """Read any supported file into a Session (format from the suffix unless `fmt` is given)."""
    p = Path(path)
    f = get_format(fmt) if fmt else format_for_path(p)
    if f.read is None:
        raise UnknownFormatError(p, f"{f.description} files can be written but not read")
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise FormatError(p, "is a folder, not a file")
    session = f.read(p, **options)
    session.metadata.setdefault("source_format", f.name)
    return session


def write(
    session: Session,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    tiers: Sequence[str] | None = None,
    **options: Any,
) -> list[str]:
    """Write a session (or only `tiers`) to a file; returns warnings about what was dropped."""
    p = Path(path)
    f = get_format(fmt) if fmt else format_for_path(p, for_reading=False)
    if f.write is None:
        raise UnknownFormatError(p, f"{f.description} files can be read but not written")
    if tiers is not None:
        session = subset(session, tiers)
    return list(f.write(session, p, **options) or [])


def subset(session: Session, names: Sequence[str]) -> Session:
    """A shallow session with only the named tiers (in the given order); KeyError names a missing one."""
    picked = [session.tier(n) for n in names]
    out = Session.__new__(Session)
    Session.__init__(
        out,
        tiers=[],
        media=session.media,
        vocabularies=session.vocabularies.values(),
        alignments=session.alignments.values(),
        metadata=session.metadata,
        path=session.path,
    )
    out._tiers = list(picked)
    return out
