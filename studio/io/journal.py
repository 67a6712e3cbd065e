"""The autosave journal: every edit since the last save, on disk before the edit returns.

A journal is an append-only file of JSON lines. The first line is a header saying what the edits
apply to: a saved file (its path, size and modification time, so a journal never replays onto a
different version of the file) or, for a session never saved, a full snapshot. Each further line
is one undo-stack operation: ``{"op": "push", "merged": false, "cmd": {...}}``, ``{"op": "undo"}``
or ``{"op": "redo"}``. Each is flushed and fsynced, so `kill -9` or a power cut loses nothing.

Replaying the operations in order rebuilds both the session and its undo history (merged drags
merge again). A last line cut short by a crash is ignored.

Journals live in the user data folder (``$STUDIO_DATA_DIR`` or the platform's, e.g.
``~/.local/share/studio/autosave``), named after the file they belong to, so Studio never writes
beside a user's files except on save. `pending_journals()` lists those a crash left behind, for
the window's recovery prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from ..core.serialize import session_from_dict, session_to_dict
from ..core.session import Session
from ..core.undo import Command, command_from_dict

__all__ = ["Journal", "journal_dir", "journal_path_for", "pending_journals", "recover"]

JOURNAL_VERSION = 1
_ATTACHED: weakref.WeakKeyDictionary[Session, Journal] = weakref.WeakKeyDictionary()


def journal_dir() -> Path:
    root = os.environ.get("STUDIO_DATA_DIR")
    if root:
        base = Path(root)
    else:
        import platformdirs

        base = Path(platformdirs.user_data_dir("studio", appauthor=False))
    d = base / "autosave"
    d.mkdir(parents=True, exist_ok=True)
    return d


def journal_path_for(file: str | os.PathLike[str]) -> Path:
    key = hashlib.sha1(os.fsencode(os.path.abspath(file))).hexdigest()[:16]
    return journal_dir() / f"{Path(file).name}.{key}.journal"


def _file_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


class Journal:
    """Writes a session's undo-stack operations to disk as they happen."""

    def __init__(self, session: Session, path: Path, header: dict[str, Any]) -> None:
        # Weak: the registry below maps session -> journal, so a strong reference back would keep
        # every journaled session alive for ever.
        self._session = weakref.ref(session)
        self.path = path
        self._header = header
        self._checked_tail = False
        self._closed = False
        self.entries = 0
        stack = session.undo_stack
        stack.pushed.connect(self._on_push)
        stack.undone.connect(self._on_undo)
        stack.redone.connect(self._on_redo)
        _ATTACHED[session] = self

    @property
    def session(self) -> Session:
        s = self._session()
        if s is None:
            raise RuntimeError(f"the session journaled in {self.path} no longer exists")
        return s

    # --- creation ------------------------------------------------------------------------
    @classmethod
    def attached(cls, session: Session) -> Journal | None:
        return _ATTACHED.get(session)

    @classmethod
    def for_new_session(cls, session: Session) -> Journal:
        """Journal a session that has no file yet: the header holds a full snapshot."""
        path = journal_dir() / f"unsaved-{uuid.uuid4().hex[:12]}.journal"
        header = {
            "journal": JOURNAL_VERSION,
            "base": None,
            "snapshot": session_to_dict(session),
            "created": time.time(),
        }
        return cls(session, path, header)

    @classmethod
    def for_file(cls, session: Session, file: Path, fmt: str = "studio") -> Journal:
        """Journal edits of a session read from `file` (any readable format)."""
        header = {
            "journal": JOURNAL_VERSION,
            "base": os.path.abspath(file),
            "format": fmt,
            "identity": _file_identity(file),
            "created": time.time(),
        }
        return cls(session, journal_path_for(file), header)

    @classmethod
    def open_for(cls, session: Session, file: Path, fmt: str = "studio") -> Journal:
        """Attach a journal to a session just read from `file`, first replaying any edits a crash
        left in an earlier journal for that file (and saying so in `session.recovery_note`)."""
        old = journal_path_for(file)
        if old.exists():
            note = _replay_onto(session, old, file)
            session.recovery_note = note
            # The old journal already holds exactly the replayed history against this same
            # file, so keep appending to it: a second crash still loses nothing.
        return cls.for_file(session, file, fmt)

    # --- writing -------------------------------------------------------------------------
    def _write(self, entry: dict[str, Any]) -> None:
        # Opened per entry (an fsync costs far more than an open): no handle outlives a dropped
        # session, and a journal deleted behind our back starts again with its header.
        if self._closed:
            return
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new and not self._checked_tail:
            _drop_partial_line(self.path)
        self._checked_tail = True
        with open(self.path, "a", encoding="utf-8") as fh:
            if new:
                fh.write(json.dumps(self._header, ensure_ascii=False) + "\n")
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.entries += 1

    def _on_push(self, cmd: Command, merged: bool) -> None:
        self._write({"op": "push", "merged": merged, "cmd": cmd.to_dict()})

    def _on_undo(self, cmd: Command) -> None:
        self._write({"op": "undo"})

    def _on_redo(self, cmd: Command) -> None:
        self._write({"op": "redo"})

    def _rewrite_history(self) -> None:
        stack = self.session.undo_stack
        for i in range(len(stack)):
            self._write({"op": "push", "merged": False, "cmd": stack.command(i).to_dict()})
        for _ in range(len(stack) - stack.index):
            self._write({"op": "undo"})

    def rebase(self, file: Path, fmt: str = "studio") -> None:
        """After a save: the file now holds everything, so start an empty journal against it."""
        self.close(delete=True)
        self.path = journal_path_for(file)
        self._header = {
            "journal": JOURNAL_VERSION,
            "base": os.path.abspath(file),
            "format": fmt,
            "identity": _file_identity(file),
            "created": time.time(),
        }
        self.entries = 0
        self._closed = False
        self._checked_tail = False
        if self.path.exists():
            self.path.unlink()

    def close(self, delete: bool = False) -> None:
        """Stop writing; with delete=True (a clean close) remove the file."""
        self._closed = True
        if delete:
            self.path.unlink(missing_ok=True)

    def detach(self, delete: bool = True) -> None:
        stack = self.session.undo_stack
        stack.pushed.disconnect(self._on_push)
        stack.undone.disconnect(self._on_undo)
        stack.redone.disconnect(self._on_redo)
        _ATTACHED.pop(self.session, None)
        self.close(delete=delete)


def _drop_partial_line(path: Path) -> None:
    """A crash mid-write can leave a last line without its newline: cut it before appending."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def _read_entries(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """(header, entries, truncated): a last line cut short by a crash is dropped."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    if not lines or not lines[0].strip():
        raise ValueError(f"{path}: empty journal")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise ValueError(f"{path}: journal header is damaged") from None
    entries: list[dict[str, Any]] = []
    truncated = False
    body = lines[1:]
    for k, line in enumerate(body):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            if all(not rest.strip() for rest in body[k + 1 :]):
                truncated = True
                break
            raise ValueError(f"{path}:{k + 2}: journal entry is damaged") from None
    return header, entries, truncated


def _apply(session: Session, entries: list[dict[str, Any]]) -> int:
    stack = session.undo_stack
    n = 0
    for e in entries:
        op = e.get("op")
        if op == "push":
            if not e.get("merged"):
                stack.break_merge()
            stack.push(command_from_dict(e["cmd"]))
        elif op == "undo":
            stack.undo()
        elif op == "redo":
            stack.redo()
        else:
            raise ValueError(f"unknown journal operation {op!r}")
        n += 1
    return n


def _replay_onto(session: Session, journal: Path, file: Path) -> str:
    try:
        header, entries, truncated = _read_entries(journal)
    except (OSError, ValueError) as exc:
        return f"An autosave journal for {file.name} could not be read ({exc}); it was left at {journal}."
    ident = header.get("identity")
    if ident and ident != _file_identity(file):
        keep = journal.with_suffix(f".stale-{int(time.time())}")
        os.replace(journal, keep)
        return (
            f"{file.name} changed on disk after the unsaved edits in its autosave journal were made; "
            f"they were not applied and are kept in {keep}."
        )
    if not entries:
        journal.unlink(missing_ok=True)
        return ""
    try:
        n = _apply(session, entries)
    except Exception as exc:  # a journal from another version, or a bug: say so, keep the file
        keep = journal.with_suffix(f".failed-{int(time.time())}")
        os.replace(journal, keep)
        return f"Replaying the autosave journal of {file.name} stopped with an error ({exc}); it is kept in {keep}."
    tail = " (the last, interrupted entry was skipped)" if truncated else ""
    return (
        f"Recovered {n} unsaved edit{'s' if n != 1 else ''} of {file.name} from its autosave journal{tail}."
    )


def pending_journals() -> list[dict[str, Any]]:
    """Journals with edits that no save has cleared: what the recovery prompt offers."""
    out = []
    for p in sorted(journal_dir().glob("*.journal")):
        try:
            header, entries, _ = _read_entries(p)
        except (OSError, ValueError):
            continue
        if entries:
            out.append(
                {
                    "journal": p,
                    "base": header.get("base"),
                    "edits": len(entries),
                    "created": header.get("created"),
                }
            )
    return out


def recover(journal: str | os.PathLike[str]) -> Session:
    """Rebuild a session from a journal: its base file (or snapshot) plus the edits."""
    p = Path(journal)
    header, entries, _ = _read_entries(p)
    if header.get("base"):
        from .registry import read

        base = Path(header["base"])
        session = read(base, header.get("format"))
        if header.get("identity") and header["identity"] != _file_identity(base):
            raise ValueError(
                f"{base} changed on disk since the journal {p} was started; not replaying onto it"
            )
    else:
        session = session_from_dict(header["snapshot"])
    n = _apply(session, entries)
    session.recovery_note = f"Recovered {n} unsaved edit{'s' if n != 1 else ''} from {p.name}."
    return session
