"""Undoable commands on a session's media: offsets, warps, adding and removing recordings.

Split from `studio.core.commands` (which re-exports them) to keep each module one job; the same
`register_command` registry makes them journal and replay like every other command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .annotations import check_time
from .undo import Command, register_command

if TYPE_CHECKING:
    from .session import Session

__all__ = ["SetMediaOffset", "SetMediaWarp", "AddMedia", "RemoveMedia"]


@register_command
class SetMediaOffset(Command):
    type_name = "set_media_offset"

    def __init__(self, media: str, offset: float) -> None:
        self.media = media
        self.offset = check_time(offset, "offset", f"media {media!r}: ")
        self._old: float | None = None
        self.text = f"Set offset of {media}"

    def redo(self, session: Session) -> None:
        i = session.media_index(self.media)
        m = session.media[i]
        self._old = m.offset
        m.offset = self.offset
        session.media_changed.emit(session, i, m)

    def undo(self, session: Session) -> None:
        i = session.media_index(self.media)
        m = session.media[i]
        m.offset = self._old
        session.media_changed.emit(session, i, m)

    def merge_key(self) -> Any:
        return ("set_media_offset", self.media)

    def merge(self, later: Command) -> bool:
        assert isinstance(later, SetMediaOffset)
        self.offset = later.offset
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "media": self.media, "offset": self.offset}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetMediaOffset:
        return cls(d["media"], d["offset"])


@register_command
class SetMediaWarp(Command):
    """Give a media stream a warp (`MediaRef.warp`, a `WarpPath`), and optionally a new offset, or
    take its warp away (warp=None): drift or time-map correction, one undo step."""

    type_name = "set_media_warp"

    def __init__(self, media: str, warp: Any, offset: float | None = None) -> None:
        self.media = media
        self.warp = warp
        self.offset = None if offset is None else check_time(offset, "offset", f"media {media!r}: ")
        self._old: tuple[Any, float] | None = None
        self.text = f"{'Warp' if warp is not None else 'Unwarp'} {media}"

    def redo(self, session: Session) -> None:
        i = session.media_index(self.media)
        m = session.media[i]
        self._old = (m.warp, m.offset)
        m.warp = self.warp
        if self.offset is not None:
            m.offset = self.offset
        session.media_changed.emit(session, i, m)

    def undo(self, session: Session) -> None:
        i = session.media_index(self.media)
        m = session.media[i]
        assert self._old is not None
        m.warp, m.offset = self._old
        session.media_changed.emit(session, i, m)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "media": self.media,
            "warp": None if self.warp is None else self.warp.to_dict(),
            "offset": self.offset,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetMediaWarp:
        from .session import WarpPath

        w = d.get("warp")
        return cls(d["media"], None if w is None else WarpPath.from_dict(w), d.get("offset"))


@register_command
class AddMedia(Command):
    type_name = "add_media"

    def __init__(self, media: Any) -> None:
        self.media = media
        self.text = f"Add media {media.name}"

    def redo(self, session: Session) -> None:
        session.media.append(self.media)
        session.media_added.emit(session, len(session.media) - 1, self.media)

    def undo(self, session: Session) -> None:
        i = session.media_index(self.media)
        m = session.media.pop(i)
        session.media_removed.emit(session, i, m)

    def to_dict(self) -> dict[str, Any]:
        from .serialize import media_to_dict

        return {"type": self.type_name, "media": media_to_dict(self.media, None)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AddMedia:
        from .serialize import media_from_dict

        return cls(media_from_dict(d["media"], None))


@register_command
class RemoveMedia(Command):
    type_name = "remove_media"

    def __init__(self, media: str) -> None:
        self.media_key = media
        self._removed: tuple[int, Any] | None = None
        self.text = f"Remove media {media}"

    def redo(self, session: Session) -> None:
        i = session.media_index(self.media_key)
        m = session.media.pop(i)
        self._removed = (i, m)
        session.media_removed.emit(session, i, m)

    def undo(self, session: Session) -> None:
        assert self._removed is not None
        i, m = self._removed
        session.media.insert(i, m)
        session.media_added.emit(session, i, m)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "media": self.media_key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RemoveMedia:
        return cls(d["media"])
