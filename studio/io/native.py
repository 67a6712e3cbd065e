"""The native session file, `.studio`: UTF-8 JSON that holds everything a Session has.

Layout (schema 1)::

    {"format": "studio-session", "schema": 1,
     "metadata": {...}, "media": [{"path": "clip.mp4", "kind": "video", "offset": 0.0, ...}],
     "vocabularies": [...], "tiers": [{"name", "type", "intervals": [[start, end, label, id, ...]]}],
     "alignments": [...]}

Media paths are stored relative to the session file. Saving is atomic (temporary file, fsync,
rename) and keeps the previous version as `<name>.studio.bak`. Files written by an older schema
are upgraded on read by the functions in `MIGRATIONS`; a file from a newer Studio is refused with a
clear message rather than half-read.

`save_session`/`open_session` also manage the autosave journal (see `studio.io.journal`): saving
clears it, opening replays what a crash left in it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.serialize import SCHEMA_VERSION, session_from_dict, session_to_dict
from ..core.session import Session
from .atomic import atomic_write_text
from .errors import SessionFileError
from .registry import Format, register

__all__ = [
    "read_session_file",
    "write_session_file",
    "save_session",
    "open_session",
    "open_file",
    "MIGRATIONS",
]

#: schema version -> function upgrading a dict of that version to the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # 0 -> 1: the pre-release files called the tier list "layers".
    0: lambda d: {**{k: v for k, v in d.items() if k != "layers"}, "tiers": d.get("layers", []), "schema": 1},
}


def _migrate(d: dict[str, Any], path: Path) -> dict[str, Any]:
    version = d.get("schema")
    if not isinstance(version, int):
        raise SessionFileError(path, f"'schema' must be an integer, got {version!r}", element="schema")
    if version > SCHEMA_VERSION:
        raise SessionFileError(
            path, f"was written by a newer Studio (schema {version}; this one reads up to {SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SessionFileError(path, f"schema {version} is too old to be upgraded")
        d = step(d)
        version = d["schema"]
    return d


def read_session_file(path: str | os.PathLike[str]) -> Session:
    """Read a `.studio` file (without looking at the journal)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SessionFileError(p, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SessionFileError(p, "is not UTF-8 text", line=line) from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionFileError(
            p, f"is not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from None
    except RecursionError:
        raise SessionFileError(p, "is nested too deeply to be a session file") from None
    if not isinstance(d, dict) or d.get("format") != "studio-session":
        raise SessionFileError(p, 'is not a Studio session file (no "format": "studio-session")')
    d = _migrate(d, p)
    try:
        session = session_from_dict(d, base_dir=p.parent)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise SessionFileError(p, f"has invalid content: {_describe(exc)}") from None
    session.path = p
    return session


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def write_session_file(session: Session, path: str | os.PathLike[str]) -> list[str]:
    """Write a `.studio` file atomically, keeping the previous one as `.bak`. No warnings: it holds all."""
    p = Path(path)
    d = session_to_dict(session, base_dir=p.parent.resolve())
    atomic_write_text(p, _dumps(d) + "\n", backup=True)
    return []


_MARK = re.compile(r'"\\u0000\\u0001(\d+)\\u0001"')


def _dumps(d: dict[str, Any]) -> str:
    """Indented JSON with one annotation per line: readable, diffable, and compact for 100k items."""
    compact: list[str] = []

    def mark(items: list[Any]) -> list[str]:
        out = []
        for it in items:
            compact.append(json.dumps(it, ensure_ascii=False, allow_nan=True))
            out.append(f"\x00\x01{len(compact) - 1}\x01")
        return out

    tiers = []
    for t in d["tiers"]:
        t = dict(t)
        for key in ("intervals", "points"):
            if key in t:
                t[key] = mark(t[key])
        for key in ("values", "times"):
            if key in t:
                t[key] = json.dumps(t[key], allow_nan=True)
                compact.append(t[key])
                t[key] = f"\x00\x01{len(compact) - 1}\x01"
        tiers.append(t)

    def pairs_compact(entry: dict[str, Any], key: str) -> dict[str, Any]:
        # warp pairs (a media's warp, an alignment's path: up to 100 per second) on one line each
        warp = entry.get(key)
        if not isinstance(warp, dict) or "pairs" not in warp:
            return entry
        compact.append(json.dumps(warp["pairs"], allow_nan=True))
        return {**entry, key: {**warp, "pairs": f"\x00\x01{len(compact) - 1}\x01"}}

    media = [pairs_compact(m, "warp") for m in d.get("media", [])]
    alignments = [pairs_compact(a, "warp") for a in d.get("alignments", [])]
    out = {**d, "tiers": tiers}
    if "media" in d:
        out["media"] = media
    if "alignments" in d:
        out["alignments"] = alignments
    text = json.dumps(out, ensure_ascii=False, indent=1, allow_nan=True)
    return _MARK.sub(lambda m: compact[int(m.group(1))], text)


def save_session(session: Session, path: str | os.PathLike[str] | None = None) -> Path:
    """Save to `path` (or the session's own path), mark the stack clean and clear the journal."""
    from .journal import Journal

    target = Path(path) if path is not None else session.path
    if target is None:
        raise ValueError("the session has no file yet: give a path to save it to")
    write_session_file(session, target)
    session.path = target
    session.undo_stack.set_clean()
    journal = Journal.attached(session)
    if journal is not None:
        journal.rebase(target)
    return target


def open_session(path: str | os.PathLike[str], *, journal: bool = True) -> Session:
    """Open a `.studio` file; if a crash left edits in its journal, replay them.

    After a replay `session.recovery_note` says what happened and the session is dirty (the
    replayed edits are on the undo stack). With `journal=True` the session is then journaled.
    """
    from .journal import Journal

    session = read_session_file(path)
    if journal:
        Journal.open_for(session, Path(path))
    return session


def open_file(path: str | os.PathLike[str], fmt: str | None = None, *, journal: bool = True) -> Session:
    """Open any supported file for editing: a `.studio` session or an annotation file (EAF,
    TextGrid, ...). Edits are journaled against that file, and edits a crash left in an earlier
    journal for it are replayed (see `session.recovery_note`). Saving goes to a `.studio` file."""
    from .journal import Journal
    from .registry import format_for_path, get_format, read

    p = Path(path)
    f = get_format(fmt) if fmt else format_for_path(p)
    if f.name == "studio":
        return open_session(p, journal=journal)
    session = read(p, f.name)
    if journal:
        Journal.open_for(session, p, f.name)
    return session


register(
    Format(
        name="studio",
        suffixes=(".studio",),
        description="Studio session",
        read=read_session_file,
        write=write_session_file,
        aliases=("session", "native"),
    )
)
