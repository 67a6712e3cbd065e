"""The one error class for bad input files, with a subclass per format.

A `FormatError` names the file, where in it (line, or XML element) and the problem, so the
user can open the file and fix it: ``words.TextGrid:12: expected a number for xmax, got "abc"``.
Readers must never let a bare KeyError/IndexError/UnicodeError escape: catch and re-raise as the
format's FormatError subclass.
"""

from __future__ import annotations

import os

__all__ = [
    "FormatError",
    "UnknownFormatError",
    "EafError",
    "TextGridError",
    "SrtError",
    "VttError",
    "CsvError",
    "JsonFormatError",
    "RttmError",
    "CtmError",
    "AudacityError",
    "SessionFileError",
]


class FormatError(ValueError):
    """A file could not be read (or written) as the format it claims to be."""

    format_name = "file"

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        problem: str,
        *,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        self.line = line
        self.element = element
        where = self.path or f"<{self.format_name}>"
        if line is not None:
            where += f":{line}"
        if element:
            where += f": <{element}>"
        super().__init__(f"{where}: {problem}")


class UnknownFormatError(FormatError):
    format_name = "unknown"


class EafError(FormatError):
    format_name = "ELAN EAF"


class TextGridError(FormatError):
    format_name = "Praat TextGrid"


class SrtError(FormatError):
    format_name = "SubRip"


class VttError(FormatError):
    format_name = "WebVTT"


class CsvError(FormatError):
    format_name = "CSV"


class JsonFormatError(FormatError):
    format_name = "JSON"


class RttmError(FormatError):
    format_name = "RTTM"


class CtmError(FormatError):
    format_name = "CTM"


class AudacityError(FormatError):
    format_name = "Audacity labels"


class SessionFileError(FormatError):
    format_name = "Studio session"
