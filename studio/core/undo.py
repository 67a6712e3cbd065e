"""A Qt-free undo stack (the idea of QUndoStack and glue's CommandStack, without Qt).

A `Command` knows how to `redo()` and `undo()` itself on a session. `UndoStack.push` runs it and
records it. Consecutive commands with the same non-empty `merge_key` (for example the moves of one
boundary during a drag) merge into one step. `macro()` groups several commands into one step.
The stack tracks a clean index, so the session knows when it has unsaved changes.

Every command can be written to and read from JSON (`to_dict`/`command_from_dict`), which is what
the autosave journal stores.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from psygnal import Signal

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Command", "MacroCommand", "UndoStack", "command_from_dict", "register_command"]

_COMMANDS: dict[str, type[Command]] = {}


def register_command(cls: type[Command]) -> type[Command]:
    """Class decorator: make a command type readable from the journal."""
    _COMMANDS[cls.type_name] = cls
    return cls


def command_from_dict(d: dict[str, Any]) -> Command:
    try:
        cls = _COMMANDS[d["type"]]
    except KeyError:
        raise ValueError(f"unknown command type {d.get('type')!r}") from None
    return cls.from_dict(d)


class Command:
    """One undoable edit. Subclasses implement redo/undo and (for the journal) to_dict/from_dict."""

    type_name: ClassVar[str] = ""
    text: str = ""

    def redo(self, session: Session) -> None:
        raise NotImplementedError

    def undo(self, session: Session) -> None:
        raise NotImplementedError

    def merge_key(self) -> Any:
        """Commands whose keys are equal and not None merge when pushed back to back."""
        return None

    def merge(self, later: Command) -> bool:
        """Absorb `later` (already applied) into self; return True if merged."""
        return False

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Command:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.text}>"


@register_command
class MacroCommand(Command):
    """Several commands undone and redone as one step."""

    type_name = "macro"

    def __init__(self, text: str, commands: list[Command] | None = None) -> None:
        self.text = text
        self.commands: list[Command] = list(commands or [])

    def redo(self, session: Session) -> None:
        for c in self.commands:
            c.redo(session)

    def undo(self, session: Session) -> None:
        for c in reversed(self.commands):
            c.undo(session)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "text": self.text, "commands": [c.to_dict() for c in self.commands]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MacroCommand:
        return cls(d.get("text", ""), [command_from_dict(c) for c in d["commands"]])


class UndoStack:
    """Commands done on a session, with an index: everything before it is done."""

    #: (command) — a new command was pushed (or merged into the top: merged=True)
    pushed = Signal(object, bool)
    #: (command)
    undone = Signal(object)
    #: (command)
    redone = Signal(object)
    #: (is_clean)
    clean_changed = Signal(bool)
    #: () any change of the stack (index, contents)
    changed = Signal()

    def __init__(self, session: Session, limit: int = 0) -> None:
        # Weak, so a session and its stack do not form a cycle: a closed session is freed at once
        # by reference counting instead of waiting for the cyclic garbage collector.
        self._session = weakref.ref(session)
        self.limit = limit
        self._commands: list[Command] = []
        self._index = 0
        self._clean_index: int | None = 0
        self._macro: list[MacroCommand] = []
        self._merge_open = True

    # --- state ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        s = self._session()
        if s is None:
            raise RuntimeError("the session of this undo stack no longer exists")
        return s

    @property
    def index(self) -> int:
        return self._index

    def __len__(self) -> int:
        return len(self._commands)

    def command(self, i: int) -> Command:
        return self._commands[i]

    def can_undo(self) -> bool:
        return self._index > 0 and not self._macro

    def can_redo(self) -> bool:
        return self._index < len(self._commands) and not self._macro

    def undo_text(self) -> str:
        return self._commands[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._commands[self._index].text if self.can_redo() else ""

    def is_clean(self) -> bool:
        return self._clean_index == self._index

    def set_clean(self) -> None:
        was = self.is_clean()
        self._clean_index = self._index
        self._merge_open = False  # an edit after a save must not merge into one before it
        if not was:
            self.clean_changed.emit(True)
        self.changed.emit()

    def set_dirty(self) -> None:
        """Mark as changed even though no command is on the stack (e.g. recovered from a journal)."""
        was = self.is_clean()
        self._clean_index = None
        if was:
            self.clean_changed.emit(False)
        self.changed.emit()

    def clear(self) -> None:
        was = self.is_clean()
        self._commands.clear()
        self._index = 0
        self._clean_index = 0
        if not was:
            self.clean_changed.emit(True)
        self.changed.emit()

    # --- operations ----------------------------------------------------------------------
    def push(self, cmd: Command) -> Command:
        """Apply a command and record it. Raises (and records nothing) if the command fails."""
        was_clean = self.is_clean()
        cmd.redo(self.session)
        if self._macro:
            self._macro[-1].commands.append(cmd)
            return cmd
        merged = False
        key = cmd.merge_key()
        if (
            key is not None
            and self._merge_open
            and self._index > 0
            and self._index == len(self._commands)
            and self._clean_index != self._index
            and self._commands[-1].merge_key() == key
        ):
            merged = self._commands[-1].merge(cmd)
        if not merged:
            del self._commands[self._index :]
            if self._clean_index is not None and self._clean_index > self._index:
                self._clean_index = None
            self._commands.append(cmd)
            self._index += 1
            if self.limit and len(self._commands) > self.limit:
                drop = len(self._commands) - self.limit
                del self._commands[:drop]
                self._index -= drop
                if self._clean_index is not None:
                    self._clean_index = self._clean_index - drop if self._clean_index >= drop else None
        self._merge_open = True
        self.pushed.emit(self._commands[self._index - 1] if merged else cmd, merged)
        if was_clean != self.is_clean():
            self.clean_changed.emit(self.is_clean())
        self.changed.emit()
        return cmd

    def break_merge(self) -> None:
        """The next push starts a new step even if it could merge (e.g. a new drag begins)."""
        self._merge_open = False

    def undo(self) -> Command | None:
        if not self.can_undo():
            return None
        was_clean = self.is_clean()
        cmd = self._commands[self._index - 1]
        cmd.undo(self.session)
        self._index -= 1
        self._merge_open = False
        self.undone.emit(cmd)
        if was_clean != self.is_clean():
            self.clean_changed.emit(self.is_clean())
        self.changed.emit()
        return cmd

    def redo(self) -> Command | None:
        if not self.can_redo():
            return None
        was_clean = self.is_clean()
        cmd = self._commands[self._index]
        cmd.redo(self.session)
        self._index += 1
        self._merge_open = False
        self.redone.emit(cmd)
        if was_clean != self.is_clean():
            self.clean_changed.emit(self.is_clean())
        self.changed.emit()
        return cmd

    @contextlib.contextmanager
    def macro(self, text: str) -> Iterator[MacroCommand]:
        """Group the commands pushed inside the block into one undo step.

        If the block raises, the commands already applied are undone and nothing is recorded."""
        m = MacroCommand(text)
        self._macro.append(m)
        try:
            yield m
        except BaseException:
            self._macro.pop()
            m.undo(self.session)
            raise
        self._macro.pop()
        if m.commands:
            # Already applied: record it without running it again.
            m_applied = _Applied(m)
            self.push(m_applied)  # type: ignore[arg-type]


class _Applied(MacroCommand):
    """Wraps a macro whose commands already ran, so push() records it without redoing it."""

    def __init__(self, macro: MacroCommand) -> None:
        super().__init__(macro.text, macro.commands)
        self._first = True

    def redo(self, session: Session) -> None:
        if self._first:
            self._first = False
            return
        super().redo(session)

    def to_dict(self) -> dict[str, Any]:
        return MacroCommand(self.text, self.commands).to_dict()
