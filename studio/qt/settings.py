"""The user's preferences and recent files: a small JSON file, written atomically.

`$STUDIO_CONFIG_DIR` (tests set it) or the platform's config folder. Plain JSON instead of
QSettings so the file is readable, the same on every platform, and testable without a registry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from studio.io.atomic import atomic_write_text

__all__ = ["Settings", "config_dir"]

MAX_RECENT = 12

DEFAULTS: dict[str, Any] = {
    "recent": [],
    "segmentation_lag": 0.2,  # s, reaction time subtracted from a keystroke during playback
    "snap": True,
    "follow_playhead": True,
    "show_spectrogram": True,
    "show_pitch": True,
    "show_intensity": False,
}


def config_dir() -> Path:
    root = os.environ.get("STUDIO_CONFIG_DIR")
    if root:
        return Path(root)
    import platformdirs

    return Path(platformdirs.user_config_dir("studio", appauthor=False))


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self.values: dict[str, Any] = dict(DEFAULTS)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                # a value of the wrong kind (a hand-edited file) falls back to its default: the
                # window reads these at start-up and must not fail on them
                self.values.update(
                    {k: v for k, v in data.items() if k not in DEFAULTS or _same_kind(v, DEFAULTS[k])}
                )
        except (OSError, ValueError):
            pass  # first run, or a damaged file: start from the defaults

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key, DEFAULTS.get(key))

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value
        self.save()

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.values, indent=1, ensure_ascii=False))
        except OSError:
            pass  # preferences are not worth an error dialog

    @property
    def recent(self) -> list[str]:
        return [p for p in self.values.get("recent", []) if isinstance(p, str)]

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        p = os.path.abspath(path)
        rec = [r for r in self.recent if r != p]
        self.values["recent"] = [p, *rec][:MAX_RECENT]
        self.save()
