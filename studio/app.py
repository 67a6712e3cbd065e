"""The window commands: `studio` (empty session), `studio open FILE...`, `studio demo`.

`studio demo` opens a copy of the bundled demo session (resources/demo: a GRID clip with a
transcript tier and a word tier) from the user's data folder, so edits and saves never touch the
installed files; `--reset` copies it afresh.

`--screenshot PNG` (any of the three) waits until the media are loaded and the tracks are drawn,
saves a picture of the window and exits: how docs/screenshot.png is made under Xvfb and how the
smoke test checks that the window really starts. `--quit-after S` closes it after S seconds.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "demo_session_path", "DEMO_DIR"]

DEMO_DIR = Path(__file__).resolve().parent.parent / "resources" / "demo"
DEMO_FILES = ("demo.studio", "swwp2s.mpg", "swwp2s.align", "README.md")


def demo_session_path(reset: bool = False) -> Path:
    """A private copy of the demo session (made on first use, or again with reset)."""
    from studio.io.journal import journal_dir

    target = journal_dir().parent / "demo"
    session = target / "demo.studio"
    if reset or not session.exists():
        target.mkdir(parents=True, exist_ok=True)
        for name in DEMO_FILES:
            src = DEMO_DIR / name
            if not src.exists():
                raise FileNotFoundError(f"{src}: the bundled demo is missing (reinstall Studio)")
            shutil.copy2(src, target / name)
        if reset:
            from studio.io.journal import journal_path_for

            journal_path_for(session).unlink(missing_ok=True)
    return session


def main(command: str | None, paths: Sequence[str] = (), *, screenshot: str | None = None,
         quit_after: float | None = None, reset: bool = False) -> int:  # fmt: skip
    """Run the window; returns the exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.qt.main_window import MainWindow

    if command == "demo":
        paths = [str(demo_session_path(reset))]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"studio: error: {missing[0]}: no such file", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "studio"])
    app.setApplicationName("Studio")
    app.setApplicationDisplayName("Studio")
    from studio.align.warmup import warm_up

    warm_up()  # before the window: the first alignment must not freeze it (bench/ui_align_stall.py)
    win = MainWindow(check_recovery=screenshot is None)
    if paths:
        win.open_paths(list(paths))
    win.show()
    code = 0
    if screenshot:
        steady = 0

        def shoot() -> None:
            nonlocal code, steady
            # ready for half a second: view-driven jobs (tiles, frames) start a moment after loading
            steady = steady + 1 if win.ready_for_screenshot() else 0
            if steady < 5:
                QTimer.singleShot(100, shoot)
                return
            win.repaint()
            ok = win.grab().save(screenshot)
            if not ok:
                print(f"studio: error: could not write {screenshot}", file=sys.stderr)
                code = 1
            # nobody has seen this window: do not ask about the edits opening made (adding media)
            win._closing = True
            win.close()

        QTimer.singleShot(300, shoot)
        QTimer.singleShot(60_000, lambda: (print("studio: error: the window did not get ready in 60 s",
                                                  file=sys.stderr), app.exit(1)))  # fmt: skip
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), win.close)
    rc = app.exec()
    return code or rc


def add_parsers(sub: object) -> None:
    """`studio open` and `studio demo` for the CLI's parser (no Qt imported here)."""
    for name, help_, desc in (
        ("open", "open files in the studio window",
         "Open sessions (.studio), annotation files (EAF, TextGrid, ...) and media in the window. The first "
         "session or annotation file is the session; further annotation files add their tiers; media are added."),
        ("demo", "open the bundled demo session in the window",
         "A 3 s GRID talking-head clip with a transcript tier and a word tier (a private copy; --reset restores it)."),
    ):  # fmt: skip
        p = sub.add_parser(name, help=help_, description=desc)  # type: ignore[attr-defined]
        if name == "open":
            p.add_argument("files", nargs="+", metavar="FILE")
        else:
            p.add_argument("--reset", action="store_true", help="start again from the bundled demo")
        p.add_argument("--screenshot", metavar="PNG", help="save a picture of the ready window and exit")
        p.add_argument("--quit-after", type=float, metavar="S", help="close the window after S seconds")
        p.set_defaults(func=run_cli)


def run_cli(args: object) -> int:
    return main(
        getattr(args, "command", None),
        getattr(args, "files", ()) or (),
        screenshot=getattr(args, "screenshot", None),
        quit_after=getattr(args, "quit_after", None),
        reset=bool(getattr(args, "reset", False)),
    )
