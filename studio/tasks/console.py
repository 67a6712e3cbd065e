"""One progress line on stderr for the commands (`studio align`, `studio predict`, ...).

    with ConsoleProgress("studio align", quiet=args.quiet) as progress:
        session = run(task, on_progress=progress)

The line ("studio align:  42% decoding") is redrawn at most twice a second; leaving the block,
normally, by an error or by Ctrl-C, blanks it so what follows starts on a clean line.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["ConsoleProgress"]


class ConsoleProgress:
    def __init__(self, what: str, quiet: bool = False, width: int = 40, every: float = 0.5) -> None:
        self.what, self.quiet, self.width, self.every = what, quiet, width, every
        self.shown = False
        self._last = 0.0

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        if self.quiet or now - self._last < self.every:
            return
        self._last = now
        pct = "" if p.fraction is None else f"{100 * p.fraction:3.0f}% "
        print(
            f"\r{self.what}: {pct}{p.message[: self.width]:<{self.width}}",
            end="",
            file=sys.stderr,
            flush=True,
        )
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            print("\r" + " " * (len(self.what) + self.width + 8) + "\r", end="", file=sys.stderr, flush=True)
            self.shown = False

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.clear()
