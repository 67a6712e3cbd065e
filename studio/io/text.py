"""Reading text files of unknown encoding for the line-based formats.

Real files come as UTF-8 (with or without BOM), UTF-16 (Praat writes it when labels need it;
Windows tools too) and sometimes Latin-1/CP1252 (old subtitle files). `read_text` detects the
BOM, otherwise tries UTF-8 and, when `fallback` is given, that legacy encoding; a file that
decodes as none of them raises the format's FormatError naming the line with the bad bytes.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from .errors import FormatError

__all__ = ["read_bytes", "read_text", "decode_text", "parse_float", "decimals", "token", "track_name"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(
    data: bytes,
    path: str | os.PathLike[str] | None,
    error: type[FormatError] = FormatError,
    fallback: str | None = None,
) -> tuple[str, str]:
    """Decode bytes; returns (text, encoding used). Line endings are normalized to \\n."""
    enc = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            enc = name
            break
    if enc is None:
        # UTF-16 without BOM: every other byte of ASCII text is NUL.
        head = data[:200]
        if len(head) >= 4 and head[1::2].count(0) > 0.8 * len(head[1::2]):
            enc = "utf-16-le"
        elif len(head) >= 4 and head[0::2].count(0) > 0.8 * len(head[0::2]):
            enc = "utf-16-be"
    tried = [enc] if enc else ["utf-8"] + ([fallback] if fallback else [])
    last: UnicodeDecodeError | None = None
    for e in tried:
        try:
            text = data.decode(e)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise error(path, "contains NUL characters: is it a binary file?", line=line)
        return text.replace("\r\n", "\n").replace("\r", "\n"), e
    assert last is not None
    width = 2 if tried[-1].startswith("utf-16") else 1
    line = data[: last.start].count(b"\n" if width == 1 else b"\n\x00") + 1
    raise error(
        path, f"cannot be decoded as {' or '.join(tried)} (bad byte at offset {last.start})", line=line
    )


def read_bytes(path: str | os.PathLike[str], error: type[FormatError] = FormatError) -> bytes:
    """The file's bytes, or the format's error saying why it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise error(path, "is a folder, not a file") from None
    except OSError as exc:
        raise error(path, f"cannot be read: {exc.strerror or exc}") from None


def read_text(
    path: str | os.PathLike[str], error: type[FormatError] = FormatError, fallback: str | None = None
) -> tuple[str, str]:
    return decode_text(read_bytes(path, error), path, error, fallback)


def parse_float(
    s: str, what: str, path: str | os.PathLike[str], line: int, error: type[FormatError]
) -> float:
    """A finite number from a field, or the format's error naming the line and the field."""
    try:
        v = float(s)
    except ValueError:
        raise error(path, f"{what} {s!r} is not a number", line=line) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise error(path, f"{what} {s!r} is not a finite number", line=line)
    return v


def decimals(s: str) -> int | None:
    """Digits after the point in a plain decimal number (None for exponent notation)."""
    if "e" in s or "E" in s:
        return None
    return len(s.split(".", 1)[1]) if "." in s else 0


def token(s: str) -> str:
    """A field of a whitespace-separated format (CTM, RTTM): inner white space becomes '_'."""
    return "_".join(s.split())


def track_name(path: str | os.PathLike[str] | None, default: str) -> str:
    """Name for the one tier of a single-track file: the file's stem, else `default`."""
    stem = Path(path).stem if path is not None else ""
    return stem if stem.strip() else default
