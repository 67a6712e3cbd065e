"""File formats, one module each, registered by suffix; the native session file; the journal.

from studio import io
session = io.read("interview.eaf")
warnings = io.write(session, "interview.TextGrid")
"""

from __future__ import annotations

import importlib
import importlib.util

from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .registry import Format, format_for_path, formats, get_format, read, register, subset, write

#: Every format module; each registers itself on import.
FORMAT_MODULES = (
    "native",
    "eaf",
    "textgrid",
    "srt",
    "vtt",
    "csv_tsv",
    "json_labels",
    "rttm",
    "ctm",
    "audacity",
)

for _name in FORMAT_MODULES:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}")

from .native import open_file, open_session, save_session  # noqa: E402

__all__ = [
    "open_file",
    "open_session",
    "save_session",
    "Format",
    "format_for_path",
    "formats",
    "get_format",
    "read",
    "register",
    "subset",
    "write",
    *_errors_all,
]
