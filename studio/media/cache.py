"""The on-disk cache for derived media data (decoded audio, envelopes, frame indexes).

Lives in ``$STUDIO_CACHE_DIR`` or the platform's user cache folder (``~/.cache/studio`` on Linux).
Entries are keyed by *file identity* — resolved path, size, modification time (ns) and inode — so an
edited or replaced file never reuses a stale entry, and by a version tag of the code that made them.
Entries are written to a temporary name and renamed, so a crash never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_dir", "file_key", "identity"]


def cache_dir(*parts: str) -> Path:
    root = os.environ.get("STUDIO_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("studio", appauthor=False))
    path = base.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        # a read-only or full home folder must not stop media from opening: use a private temp folder
        import tempfile

        path = Path(tempfile.gettempdir(), f"studio-cache-{os.getuid()}").joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def identity(path: str | os.PathLike[str]) -> tuple[str, int, int, int]:
    p = Path(path).resolve()
    st = p.stat()
    return (str(p), st.st_size, st.st_mtime_ns, st.st_ino)


def file_key(path: str | os.PathLike[str], *extra: object) -> str:
    """A stable hex key for `path` as it is now, plus whatever else the entry depends on."""
    h = hashlib.sha1(repr((identity(path), extra)).encode("utf-8"))
    return h.hexdigest()[:32]
