"""The window's file commands: new, open, save, import, export, recent files, drag and drop, recovery.

Data safety rules (DEVELOPERS.md: no user data lost):
- every session the window shows is journaled (`studio.io.journal`): an unsaved new session from
  its first edit (a snapshot header), a file from the moment it is opened — a crash loses nothing,
  and the next start offers to recover;
- saving writes atomically; saving back to a format that cannot hold everything (a curve tier in
  a TextGrid, confidences in SRT…) first says what would be lost and offers a .studio file instead;
- replacing or closing a session with unsaved edits asks Save / Discard / Cancel; a label still
  being typed in the inline editor is committed first (and before a save or an export);
- saving in place over a file another program changed since asks first; a folder that refuses
  the file offers another name;
- reopening the file shown never replays the edits just discarded; a recording opened before its
  annotation file stays with it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from studio import io
from studio.core.commands import AddMedia, AddTier
from studio.core.session import MediaRef, Session
from studio.io.journal import Journal, _read_entries, journal_path_for, pending_journals, recover

if TYPE_CHECKING:  # pragma: no cover
    from .main_window import MainWindow

__all__ = ["FilesMixin", "MEDIA_SUFFIXES", "is_media_path"]

MEDIA_SUFFIXES = {
    ".wav", ".w64", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".caf", ".au",
    ".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".mts", ".ts", ".3gp",
}  # fmt: skip
VIDEO_SUFFIXES = {
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".avi",
    ".webm",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".mts",
    ".ts",
    ".3gp",
}


def is_media_path(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    if p.suffix.lower() in MEDIA_SUFFIXES:
        return True
    try:
        io.format_for_path(p)
        return False
    except io.UnknownFormatError:
        return True  # not an annotation format: let the media engine say whether it can read it


def _filters() -> str:
    fmts = [f for f in io.formats() if f.read is not None]
    ann = " ".join(f"*{s}" for f in fmts for s in f.suffixes)
    media = " ".join(f"*{s}" for s in sorted(MEDIA_SUFFIXES))
    return f"Sessions, annotations and media ({ann} {media});;Annotations ({ann});;Media ({media});;All files (*)"


class FilesMixin:
    """Mixed into MainWindow (which provides session, dialogs, settings, set_session...)."""

    doc_path: Path | None = None
    doc_format: str | None = None
    #: (size, mtime) of the document when opened or last saved here: a save in place over a
    #: file another program changed since asks first
    doc_identity: tuple[int, int] | None = None

    # -- new / journal --------------------------------------------------------------------------
    def new_session_object(self: MainWindow) -> Session:
        s = Session()
        s.metadata["name"] = "untitled"
        Journal.for_new_session(s)
        return s

    def act_new(self: MainWindow) -> None:
        if not self.maybe_save("New session"):
            return
        self.close_journal(clean=True)
        self.doc_path, self.doc_format, self.doc_identity = None, None, None
        self.set_session(self.new_session_object())

    def close_journal(self: MainWindow, clean: bool) -> None:
        """The user saved or chose to discard: the current session's journal is no longer needed."""
        j = Journal.attached(self.session)
        if j is not None:
            j.detach(delete=True)

    def before_session_teardown(self: MainWindow) -> None:
        pass

    def after_session_set(self: MainWindow) -> None:
        note = self.session.recovery_note
        if note:
            self.session.recovery_note = None
            self.dialogs.info("Recovered unsaved edits", note + "\nSave to keep them.")
            self.show_status(note, 15000)

    # -- asking before losing edits -------------------------------------------------------------
    def commit_edits(self: MainWindow) -> None:
        """Commit a label still being typed in an inline editor: what is saved, exported or asked
        about must include it (the editor commits on Enter or focus loss, and a menu key is neither)."""
        for track in self.tier_tracks():
            ed = getattr(track, "editor", None)
            if ed is not None:
                ed._finish()  # the editor's own commit path (Enter, focus out), one undo step

    def maybe_save(self: MainWindow, title: str) -> bool:
        """True when it is fine to drop the current session (saved, discarded or clean)."""
        self.commit_edits()
        if self.session.undo_stack.is_clean():
            return True
        answer = self.dialogs.ask(
            title,
            f"{self.session_name()} has unsaved changes. Save them?",
            ("Save", "Discard", "Cancel"),
            default="Save",
        )
        if answer == "Save":
            return self.act_save()
        return answer == "Discard"

    # -- open -----------------------------------------------------------------------------------
    def act_open(self: MainWindow) -> None:
        start = str(self.doc_path.parent) if self.doc_path else ""
        paths = self.dialogs.open_files("Open", _filters(), start)
        if paths:
            self.open_paths(paths)

    def open_paths(self: MainWindow, paths: list[str | os.PathLike[str]]) -> bool:
        """Open what the user gave: the first session/annotation file replaces the session (asking
        first if it has unsaved edits), further annotation files add their tiers, media are added."""
        docs = [Path(p) for p in paths if not is_media_path(p)]
        media = [Path(p) for p in paths if is_media_path(p)]
        ok = True
        if docs:
            if not self.open_document(docs[0]):
                # cancelled or unreadable: the other files were meant for that document, not for
                # the session the user kept
                return False
            for d in docs[1:]:
                ok = self.import_annotations(d) and ok
        for m in media:
            ok = self.add_media(m) and ok
        return ok

    def open_document(self: MainWindow, path: Path) -> bool:
        if not path.exists():
            self.dialogs.error("Cannot open", f"{path}: no such file")
            return False
        carry = self._media_only()
        if not carry and not self.maybe_save("Open"):
            return False
        mine = Journal.attached(self.session)
        if mine is not None and mine.path == journal_path_for(path):
            # Reopening the file shown: its journal holds the edits just saved or discarded, and
            # must not be replayed onto the fresh copy as "recovered" edits.
            mine.detach(delete=True)
        try:
            fmt = io.format_for_path(path)
            session = io.open_file(path, journal=False)
        except Exception as exc:  # noqa: BLE001 - any reader error is shown, the current session stays
            self.dialogs.error("Cannot open", _describe(exc, path))
            return False
        if fmt.name != "studio" and not session.media and not carry:
            # before the journal replays: its edits may concern that recording (an offset)
            self._find_sibling_media(session, path)
        Journal.open_for(session, path, fmt.name)  # replays what a crash left, then journals
        if carry and session.media and not self.maybe_save("Open"):
            j = Journal.attached(session)
            if j is not None:
                j.detach(delete=False)  # a crash journal it replayed stays for the next offer
            return False
        self.close_journal(clean=True)
        self.doc_path, self.doc_format = path.resolve(), fmt.name
        self.doc_identity = _identity(path)
        carry = carry if not session.media else []
        self.set_session(session)
        for ref in carry:  # the recording opened first now plays under its annotations
            self.session.undo_stack.push(AddMedia(ref))
        self.settings.add_recent(path)
        notes = _reader_notes(session, path)
        if notes:
            self.show_status(notes, 15000)
        return True

    def _media_only(self: MainWindow) -> list[MediaRef]:
        """Copies of the media of an untitled session that has nothing else (a recording opened
        before its annotation file): opening a document keeps them instead of asking to drop them."""
        s = self.session
        if s.path is not None or self.doc_path is not None or s.tiers or not s.media:
            return []
        return [dataclasses.replace(m, attrs=dict(m.attrs)) for m in s.media]

    def _find_sibling_media(self: MainWindow, session: Session, path: Path) -> None:
        """Praat's convention: words.TextGrid next to words.wav. Found media is shown, not an edit."""
        for cand in sorted(path.parent.glob(path.stem + ".*")):
            if cand != path and cand.suffix.lower() in MEDIA_SUFFIXES:
                kind = "video" if cand.suffix.lower() in VIDEO_SUFFIXES else "audio"
                session.media.append(MediaRef(str(cand.resolve()), kind=kind))
                self.show_status(f"playing {cand.name}, found next to {path.name}")
                return

    def act_import_annotations(self: MainWindow) -> None:
        ann = " ".join(f"*{s}" for f in io.formats() if f.read is not None for s in f.suffixes)
        for p in self.dialogs.open_files("Import annotations", f"Annotations ({ann});;All files (*)"):
            self.import_annotations(Path(p))

    def import_annotations(self: MainWindow, path: Path) -> bool:
        """Add the tiers of an annotation file to the session (one undo step; names made unique)."""
        try:
            other = io.read(path)
        except Exception as exc:  # noqa: BLE001
            self.dialogs.error("Cannot import", _describe(exc, path))
            return False
        stack = self.session.undo_stack
        with stack.macro(f"Import {path.name}"):
            for v in other.vocabularies.values():
                self.session.vocabularies.setdefault(v.name, v)
            # names made unique first, so a child keeps its own (renamed) parent whatever the order
            taken, renamed = set(self.session.tier_names()), {}
            for tier in other.tiers:
                name, k = tier.name, 2
                while name in taken:
                    name, k = f"{tier.name} ({k})", k + 1
                taken.add(name)
                renamed[tier.name] = name
            for tier in other.tiers:
                if tier.parent in renamed:
                    tier.parent = renamed[tier.parent]
            for tier in other.tiers:
                if renamed[tier.name] != tier.name:
                    tier._set_name(renamed[tier.name])
                stack.push(AddTier(tier, len(self.session.tiers)))
        self.settings.add_recent(path)
        self.show_status(f"imported {len(other.tiers)} tier(s) from {path.name}")
        return True

    def act_add_media(self: MainWindow) -> None:
        media = " ".join(f"*{s}" for s in sorted(MEDIA_SUFFIXES))
        for p in self.dialogs.open_files("Add media", f"Media ({media});;All files (*)"):
            self.add_media(Path(p))

    def add_media(self: MainWindow, path: Path) -> bool:
        from studio.media.probe import MediaError, check_media_file

        try:
            check_media_file(path)
        except (MediaError, OSError) as exc:
            self.dialogs.error("Cannot add media", str(exc))
            return False
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "audio"
        ref = MediaRef(str(path.resolve()), kind=kind)
        same = [m for m in self.session.media if Path(m.path) == Path(ref.path)]
        if same:
            if self.media is not None and self.media.reload(same[0]):
                self.show_status(f"loading {path.name} again")
            else:
                self.show_status(f"{path.name} is already in the session")
            return True
        self.session.undo_stack.push(AddMedia(ref))
        self.settings.add_recent(path)
        return True

    # -- recent files ---------------------------------------------------------------------------
    def _fill_recent(self: MainWindow) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent
        if not recent:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
        for p in recent:
            a = self.recent_menu.addAction(p)
            a.setEnabled(Path(p).exists())
            a.triggered.connect(lambda _c=False, p=p: self.open_paths([p]))

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self: MainWindow, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self: MainWindow, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            # after the drop returns: opening may ask questions, and a modal dialog inside the drop
            # would hold the program the files were dragged from (its drag loop waits for us)
            QTimer.singleShot(0, lambda: self.open_paths(paths))

    # -- save -----------------------------------------------------------------------------------
    def act_save(self: MainWindow) -> bool:
        """Save in place; True when saved."""
        self.commit_edits()
        native = self.session.path is not None and self.doc_format in (None, "studio")
        if not native and (self.doc_path is None or self.doc_format is None):
            return self.act_save_as()
        target = self.session.path if native else self.doc_path
        assert target is not None
        now = _identity(target)
        if self.doc_identity is not None and now is not None and now != self.doc_identity:
            answer = self.dialogs.ask(
                "Save",
                f"{target.name} changed on disk since it was opened or last saved here (another "
                "program wrote it). Overwrite it with this session?\n\nNo: save under another name.",
                ("Yes", "No", "Cancel"),
                default="No",
            )
            if answer == "No":
                return self.act_save_as()
            if answer != "Yes":
                return False
        if native:
            return self._save_native(target)
        assert self.doc_format is not None
        return self._save_foreign(target, self.doc_format)

    def act_save_as(self: MainWindow) -> bool:
        self.commit_edits()
        base = self.doc_path or self.session.path
        suggested = str(base.with_suffix(".studio")) if base else str(Path.home() / "untitled.studio")
        target = self.dialogs.save_file("Save session as", suggested, "Studio session (*.studio)")
        if not target:
            return False
        p = Path(target)
        if p.suffix.lower() != ".studio":
            p = p.with_suffix(p.suffix + ".studio") if p.suffix else p.with_suffix(".studio")
        return self._save_native(p)

    def _save_native(self: MainWindow, path: Path) -> bool:
        try:
            io.save_session(self.session, path)
        except Exception as exc:  # noqa: BLE001 - the session stays open and unsaved
            return self._not_saved(exc, path)
        self.doc_path, self.doc_format = path.resolve(), "studio"
        self.doc_identity = _identity(path)
        self.settings.add_recent(path)
        self._update_title()
        self.show_status(f"saved {path}")
        return True

    def _not_saved(self: MainWindow, exc: BaseException, path: Path) -> bool:
        """Say why; a folder or disk that refuses the file offers another name (the edits stay)."""
        self.dialogs.error("Not saved", _describe_write(exc, path))
        if not isinstance(exc, OSError):
            return False
        answer = self.dialogs.ask("Not saved", f"{path.name} was not saved. Save it under another name?",
                                  ("Yes", "Cancel"), default="Yes")  # fmt: skip
        return answer == "Yes" and self.act_save_as()

    def _save_foreign(self: MainWindow, path: Path, fmt: str) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                warnings = io.write(self.session, Path(tmp) / path.name, fmt)
            except Exception as exc:  # noqa: BLE001
                self.dialogs.error("Not saved", _describe_write(exc, path))
                return False
        if warnings:
            answer = self.dialogs.ask(
                "Save",
                f"{path.name} cannot hold everything in this session:\n- "
                + "\n- ".join(warnings)
                + "\n\nSave a Studio session (.studio) instead, which keeps everything?",
                ("Yes", "No", "Cancel"),
                default="Yes",
            )
            if answer == "Yes":
                return self.act_save_as()
            if answer == "Cancel":
                return False
        try:
            io.write(self.session, path, fmt)
        except Exception as exc:  # noqa: BLE001
            return self._not_saved(exc, path)
        self.doc_identity = _identity(path)
        self.session.undo_stack.set_clean()
        j = Journal.attached(self.session)
        if j is not None:
            j.rebase(path, fmt)
        self._update_title()
        self.show_status(f"saved {path}")
        return True

    # -- export ---------------------------------------------------------------------------------
    def act_export(self: MainWindow) -> None:
        fmts = [f for f in io.formats() if f.write is not None and f.name != "studio"]
        labels = [f"{f.description} ({', '.join(f.suffixes)})" for f in fmts]
        choice = self.dialogs.choice("Export", "Format:", labels)
        if not choice:
            return
        fmt = fmts[labels.index(choice)]
        base = self.doc_path or self.session.path or Path.home() / "untitled"
        suggested = str(base.with_suffix(fmt.suffixes[0]))
        target = self.dialogs.save_file(
            "Export", suggested, f"{fmt.description} (*{' *'.join(fmt.suffixes)})"
        )
        if target:
            self.export_to(Path(target), fmt.name)

    def export_to(self: MainWindow, path: Path, fmt: str | None = None) -> list[str] | None:
        """Write the session to `path` (format from `fmt` or the suffix); returns the warnings."""
        self.commit_edits()
        try:
            warnings = io.write(self.session, path, fmt)
        except Exception as exc:  # noqa: BLE001
            self.dialogs.error("Not exported", _describe_write(exc, path))
            return None
        if self.doc_path is not None and path.resolve() == self.doc_path:
            self.doc_identity = _identity(path)  # our own write is not "changed on disk"
        if warnings:
            self.dialogs.info("Exported with losses", f"{path.name}:\n- " + "\n- ".join(warnings))
        self.show_status(f"exported {path}")
        return warnings

    # -- quit and recovery ----------------------------------------------------------------------
    def act_quit(self: MainWindow) -> None:
        self.close()

    def offer_recovery(self: MainWindow) -> None:
        """After a crash: offer each journal that still holds edits no save cleared."""
        mine = Journal.attached(self.session)
        for item in pending_journals():
            jpath: Path = item["journal"]
            if mine is not None and jpath == mine.path:
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.get("created") or 0))
            if item.get("base") and not Path(item["base"]).exists():
                # the file was moved or deleted since: its edits cannot be replayed onto it; keep
                # them aside (not offered at every start) and say where
                keep = jpath.with_suffix(f".orphaned-{int(time.time())}")
                os.replace(jpath, keep)
                self.dialogs.info(
                    "Unsaved edits of a missing file",
                    f"Studio stopped while {item['base']} had {item['edits']} unsaved edit(s) (started {when}), "
                    f"but that file is gone. The edits are kept in {keep}; put the file back and rename the "
                    f"journal to {jpath.name} to recover them.",
                )
                continue
            what = Path(item["base"]).name if item.get("base") else "an unsaved session"
            answer = self.dialogs.ask(
                "Recover unsaved edits",
                f"Studio stopped while {what} had {item['edits']} unsaved edit(s) (started {when}). Recover them?",
                ("Yes", "No", "Cancel"),
                default="Yes",
            )
            if answer == "Cancel":
                return
            if answer == "No":
                keep = jpath.with_suffix(f".declined-{int(time.time())}")
                os.replace(jpath, keep)  # kept, not deleted: a wrong click must not lose work
                continue
            if item.get("base"):
                self.open_document(Path(item["base"]))
            else:
                try:
                    session = recover(jpath)
                except Exception as exc:  # noqa: BLE001
                    self.dialogs.error("Cannot recover", f"{jpath}: {exc}")
                    continue
                if not self.maybe_save("Recover"):
                    return
                self.close_journal(clean=True)
                # Keep appending to the same journal: its snapshot plus all its entries (old and
                # new) rebuild this session, so a second crash before a save loses nothing either.
                header, _entries, _cut = _read_entries(jpath)
                Journal(session, jpath, header)
                session.undo_stack.set_dirty()
                self.doc_path, self.doc_format, self.doc_identity = None, None, None
                self.set_session(session)
            return  # one at a time; the others are offered at the next start


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _describe_write(exc: BaseException, path: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        # the OS names the temporary file of an atomic write, not the file the user chose
        return f"{path}: cannot write it here ({exc.strerror}); the edits are still open in Studio."
    return _describe(exc, path)


def _describe(exc: BaseException, path: Path) -> str:
    msg = str(exc) or type(exc).__name__
    return msg if str(path) in msg or path.name in msg else f"{path}: {msg}"


def _reader_notes(session: Session, path: Path) -> str:
    try:
        from studio.cli import reader_notes

        return "; ".join(reader_notes(session, path))
    except Exception:  # noqa: BLE001
        return ""
