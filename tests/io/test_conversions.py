"""Across formats: every registered format, written from the same rich session and read back.

The property: whatever a format cannot hold is reported in the writer's warnings. Every interval
and point of the original either comes back (time to the millisecond, label exact) or the writer
said something was dropped. And a read -> write -> read through each format is stable.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from studio import io
from studio.core import (
    ControlledVocabulary,
    CurveTier,
    Interval,
    IntervalTier,
    Point,
    PointTier,
    Session,
    VocabularyEntry,
)

SUFFIX = {
    "studio": ".studio",
    "eaf": ".eaf",
    "textgrid": ".TextGrid",
    "srt": ".srt",
    "vtt": ".vtt",
    "csv": ".csv",
    "tsv": ".tsv",
    "json": ".json",
    "rttm": ".rttm",
    "ctm": ".ctm",
    "audacity": ".txt",
}

#: Formats that hold one track and name it after the file, not after a tier.
SINGLE_TRACK = {"srt", "vtt", "audacity"}


def rich_session() -> Session:
    words = [("naïve", 0.1, 0.5), ('say "hi"', 0.5, 0.9), ("ŋa", 1.2, 1.65), ("x,y;z\ttab", 2.0, 2.5)]
    return Session(
        [
            IntervalTier("utterance", [Interval(0.1, 2.5, "the whole thing")]),
            IntervalTier(
                "words",
                [Interval(s, e, w, confidence=0.5 + 0.1 * i) for i, (w, s, e) in enumerate(words)],
                parent="utterance",
                vocabulary="lexicon",
            ),
            PointTier("events", [Point(0.3, "click"), Point(1.7, "cough")]),
            CurveTier("pitch", np.linspace(100, 200, 30), rate=10.0),
        ],
        vocabularies=[ControlledVocabulary("lexicon", [VocabularyEntry(w) for w, _, _ in words])],
        metadata={"time_range": [0.0, 3.0]},
    )


def items(session: Session) -> Counter:
    out: Counter = Counter()
    for t in session.tiers:
        if isinstance(t, IntervalTier):
            out.update(("i", round(a.start, 3), round(a.end, 3), a.label) for a in t)
        elif isinstance(t, PointTier):
            out.update(("p", round(a.time, 3), a.label) for a in t)
    return out


def writable_formats() -> list[str]:
    return sorted(f.name for f in io.formats() if f.read and f.write)


def test_every_declared_format_module_is_registered():
    names = {f.name for f in io.formats()}
    assert {
        "studio",
        "eaf",
        "textgrid",
        "srt",
        "vtt",
        "csv",
        "tsv",
        "json",
        "rttm",
        "ctm",
        "audacity",
    } <= names


@pytest.mark.parametrize("fmt", writable_formats())
def test_nothing_is_dropped_silently(tmp_path: Path, fmt: str):
    s = rich_session()
    path = tmp_path / f"out{SUFFIX.get(fmt, '.' + fmt)}"
    warnings = io.write(s, path, fmt)
    back = io.read(path, fmt)
    missing = items(s) - items(back)
    if missing:
        assert warnings, f"{fmt}: lost {sorted(missing)[:4]} without a warning"
    if fmt in ("studio", "json", "eaf", "textgrid", "csv", "tsv"):
        # these hold several interval tiers: every interval must survive
        assert not [m for m in missing if m[0] == "i"], f"{fmt} lost intervals: {sorted(missing)[:4]}"
    # curve tiers survive only in formats that have curves; otherwise a warning names the tier
    if not any(isinstance(t, CurveTier) for t in back.tiers):
        assert any("pitch" in w for w in warnings), f"{fmt}: dropped the curve tier without naming it"


@pytest.mark.parametrize("fmt", writable_formats())
def test_second_round_trip_is_stable(tmp_path: Path, fmt: str):
    """What survives one trip through a format survives every further trip unchanged."""
    s = rich_session()
    ext = SUFFIX.get(fmt, "." + fmt)
    io.write(s, tmp_path / f"a{ext}", fmt)
    once = io.read(tmp_path / f"a{ext}", fmt)
    io.write(once, tmp_path / f"b{ext}", fmt)
    twice = io.read(tmp_path / f"b{ext}", fmt)
    assert items(twice) == items(once)
    if fmt not in SINGLE_TRACK:  # these name their one tier after the file
        assert [t.name for t in twice.tiers] == [t.name for t in once.tiers]


@pytest.mark.parametrize("target", ["textgrid", "eaf", "csv", "json", "studio"])
@pytest.mark.parametrize("source", ["textgrid", "eaf", "csv", "json", "studio"])
def test_multi_tier_formats_convert_into_each_other(tmp_path: Path, source: str, target: str):
    s = Session(
        [t for t in rich_session().tiers if isinstance(t, IntervalTier)], metadata={"time_range": [0, 3]}
    )
    io.write(s, tmp_path / f"src{SUFFIX[source]}", source)
    a = io.read(tmp_path / f"src{SUFFIX[source]}", source)
    io.write(a, tmp_path / f"dst{SUFFIX[target]}", target)
    b = io.read(tmp_path / f"dst{SUFFIX[target]}", target)
    assert items(b) == items(s)
    assert [t.name for t in b.interval_tiers()] == ["utterance", "words"]
