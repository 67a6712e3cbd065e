"""The on-disk cache for derived media data (decoded audio, envelopes, frame indexes).

Lives in ``$STUDIO_CACHE_DIR`` or the platform's user cache folder (``~/.cache/studio`` on Linux).
Entries are keyed by *file identity* — resolved path, size, modification time (ns) and inode — so an
edited or replaced file never reuses a stale entry, and by a version tag of the code that made them.
Entries are written to a temporary name and renamed, so a crash never leaves half an entry.

Size: decoded audio is the big item (a 2-hour stereo film decodes to ~2.8 GB of float32). After each
new decode, `prune` removes the least recently used entries until the cache is under
``$STUDIO_CACHE_MAX_GB`` (default 20 GB); opening a cached entry marks it used. `studio cache` shows
the folder and its size, `studio cache --clear` empties it.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

__all__ = ["cache_dir", "file_key", "identity", "touch", "usage", "prune", "clear", "max_bytes"]

DEFAULT_MAX_GB = 20.0
_TMP_GRACE_S = 3600.0  # a temporary file younger than this may belong to a running decode


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


def max_bytes() -> int:
    try:
        gb = float(os.environ.get("STUDIO_CACHE_MAX_GB", DEFAULT_MAX_GB))
    except ValueError:
        gb = DEFAULT_MAX_GB
    return int(max(gb, 0.0) * 2**30)


def touch(path: str | os.PathLike[str]) -> None:
    """Mark a cache entry as used now (LRU order for `prune`)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _entries() -> list[tuple[float, int, Path]]:
    out = []
    now = time.time()
    for p in cache_dir().rglob("*"):
        try:
            st = p.stat()
        except OSError:
            continue
        if not p.is_file():
            continue
        if ".tmp" in p.name and now - st.st_mtime < _TMP_GRACE_S:
            continue
        out.append((max(st.st_atime, st.st_mtime), st.st_size, p))
    return out


def usage() -> dict[str, tuple[int, int]]:
    """Files and bytes per kind of entry (audio, envelope, video, ...)."""
    root = cache_dir()
    sizes: dict[str, tuple[int, int]] = {}
    for _, size, p in _entries():
        kind = p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else "."
        n, b = sizes.get(kind, (0, 0))
        sizes[kind] = (n + 1, b + size)
    return sizes


def prune(limit: int | None = None, *, keep: tuple[str | os.PathLike[str], ...] = ()) -> int:
    """Delete least recently used entries until the cache holds at most `limit` bytes; bytes freed."""
    limit = max_bytes() if limit is None else limit
    entries = sorted(_entries())
    total = sum(size for _, size, _ in entries)
    kept = {Path(k) for k in keep}
    freed = 0
    for _, size, p in entries:
        if total - freed <= limit:
            break
        if p in kept:
            continue
        try:
            p.unlink()
            freed += size
        except OSError:
            pass
    return freed


def clear() -> int:
    """Delete every entry (temporary files of running decodes excepted); bytes freed."""
    return prune(0)
