"""Atomic file writes: a crash or a full disk never leaves a half-written file in place.

Write to a temporary file in the same folder, fsync it, optionally keep the previous version as
`<name>.bak`, then rename over the target (atomic on POSIX and on Windows for same-volume renames)
and fsync the folder so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_text", "atomic_write_bytes", "fsync_dir"]


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
    backup: bool = False,
) -> Iterator[IO]:
    """Open a temporary file for writing that replaces `path` only if the block succeeds."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes only: mode 'w' or 'wb'")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        if mode == "wb":
            fh: IO = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            try:
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            except OSError:
                pass
            if backup:
                bak = target.with_name(target.name + ".bak")
                bak_tmp = target.with_name(f".{target.name}.bak.tmp")
                shutil.copy2(target, bak_tmp)
                os.replace(bak_tmp, bak)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    backup: bool = False,
) -> None:
    with atomic_open(path, "w", encoding=encoding, newline=newline, backup=backup) as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, backup: bool = False) -> None:
    with atomic_open(path, "wb", backup=backup) as fh:
        fh.write(data)
