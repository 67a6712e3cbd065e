"""The commands' progress line: drawn at most every `every` seconds, blanked when the block ends."""

from __future__ import annotations

import pytest

from studio.tasks.base import Progress
from studio.tasks.console import ConsoleProgress


def test_progress_line_is_throttled_and_cleared(capsys):
    with ConsoleProgress("studio x", every=3600) as show:
        show(Progress(0.42, "decoding"))
        show(Progress(0.5, "shown no more: too soon"))
    err = capsys.readouterr().err
    assert err.startswith("\rstudio x:  42% decoding") and "too soon" not in err
    assert err.endswith("\r") and err.split("\r")[-2].strip() == ""  # a blank line last
    with pytest.raises(RuntimeError), ConsoleProgress("studio x") as show:
        show(Progress(None, "no fraction"))
        raise RuntimeError("boom")
    err = capsys.readouterr().err
    assert "studio x: no fraction" in err and err.split("\r")[-2].strip() == ""  # cleared on an error too
    with ConsoleProgress("studio x", quiet=True) as show:
        show(Progress(1.0, "done"))
    assert capsys.readouterr().err == ""
