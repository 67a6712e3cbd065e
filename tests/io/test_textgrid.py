"""Praat TextGrid reading and writing: real files from Praat and other tools, praatio and Praat
cross-checks, round trips, writer warnings, error messages with lines, and fuzzing."""

from __future__ import annotations

import codecs
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import ControlledVocabulary, Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.errors import TextGridError
from studio.io.textgrid import format_textgrid, parse_textgrid, read_textgrid, write_textgrid

DATA = Path(__file__).resolve().parents[1] / "data" / "textgrid"
PRAAT_FILES = sorted(DATA.glob("praat_*_utf*.TextGrid"))
ALL_FILES = sorted(DATA.glob("*.TextGrid"))

# What make_textgrids.praat puts into the grid (empty intervals are Praat's gaps and are dropped).
EXPECTED = {
    "words": [(0.35, 1.2, 'say "hi"'), (1.2, 2.05, "naïve café ŋ"), (2.05, 2.5, "two\nlines")],
    "phones": [(0.35, 0.6, "s"), (0.6, 0.9, "eɪ"), (0.9, 1.2, " ")],
    "events": [(0.5, "click"), (1.75, "ʔ"), (2.2, "")],
}


def content(session: Session) -> dict[str, list[tuple]]:
    out = {}
    for t in session.tiers:
        if isinstance(t, IntervalTier):
            out[t.name] = [(a.start, a.end, a.label) for a in t]
        else:
            out[t.name] = [(p.time, p.label) for p in t]
    return out


def kinds(session: Session) -> list[str]:
    return [t.kind for t in session.tiers]


# --- real files ----------------------------------------------------------------------------------


def test_praat_files_exist() -> None:
    layouts = {p.name.split("_")[1] for p in PRAAT_FILES}
    assert layouts == {"long", "short", "chronological"}
    assert len(PRAAT_FILES) == 6


@pytest.mark.parametrize("path", PRAAT_FILES, ids=lambda p: p.name)
def test_praat_written_files(path: Path) -> None:
    s = read_textgrid(path)
    assert content(s) == EXPECTED
    assert kinds(s) == ["interval", "interval", "point"]
    assert s.metadata["time_range"] == [0.0, 2.5]
    layout = path.name.split("_")[1]
    assert s.metadata["textgrid"]["layout"] == layout
    assert s.metadata["textgrid"]["encoding"] == ("utf-16-be" if "utf16" in path.name else "utf-8")


def test_praat_ascii_file() -> None:
    s = read_textgrid(DATA / "praat_long_ascii.TextGrid")
    assert content(s) == {"ascii": [(0.0, 0.25, "a"), (0.25, 1.0, "b")]}


def test_elan_export_with_odd_syntax_and_empty_tier_name() -> None:
    s = read_textgrid(DATA / "praatio_bobby_elan.TextGrid")
    assert s.tier_names() == ['"word"', "phrase", "tier 3"]
    words = s.tier('"word"')
    assert words[0].label == '"""BOBBY"""\nNoun'
    assert [a.label for a in words][1:] == ["RIPPED\nVerb", "THE\nDeterminer", "LEDGER\nNoun"]
    assert isinstance(s.tier("tier 3"), PointTier)
    assert s.tier("tier 3").attrs["textgrid"] == {"name": "", "renamed": "tier 3"}
    assert [p.label for p in s.tier("tier 3")] == ["133\np1", "0\np2", "93\np3", "85\np4"]


def test_writing_back_gives_praats_own_bytes(tmp_path: Path) -> None:
    # Praat's grids use numbers that repr() writes the same way, so our output matches byte for byte.
    for name, short in (("praat_long_utf8", False), ("praat_short_utf8", True), ("praatio_mary", False)):
        src = DATA / f"{name}.TextGrid"
        out = tmp_path / f"{name}.TextGrid"
        assert write_textgrid(read_textgrid(src), out, short=short) == []
        assert out.read_bytes() == src.read_bytes()


def test_utf16_output_matches_praats_utf16(tmp_path: Path) -> None:
    out = tmp_path / "x.TextGrid"
    write_textgrid(read_textgrid(DATA / "praat_long_utf16.TextGrid"), out, encoding="utf-16")
    assert out.read_bytes() == (DATA / "praat_long_utf16.TextGrid").read_bytes()


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_and_newlines(tmp_path: Path, encoding: str, bom: bytes, newline: str) -> None:
    text = (DATA / "praat_short_utf8.TextGrid").read_text(encoding="utf-8")
    p = tmp_path / "x.TextGrid"
    p.write_bytes(bom + text.replace("\n", newline).encode(encoding))
    assert content(read_textgrid(p)) == EXPECTED


def test_latin1_file_reads_like_praat(tmp_path: Path) -> None:
    p = tmp_path / "x.TextGrid"
    text = (DATA / "praat_long_ascii.TextGrid").read_text().replace('"a"', '"café"')
    p.write_bytes(text.encode("latin-1"))
    assert read_textgrid(p).tier("ascii")[0].label == "café"


# --- praatio cross-check -------------------------------------------------------------------------

praatio_tg = pytest.importorskip("praatio.textgrid")


def _praatio_content(path: Path) -> dict[str, list[tuple]]:
    tg = praatio_tg.openTextgrid(str(path), includeEmptyIntervals=False)
    # praatio drops whitespace-only labels and empty point marks as well; compare the rest.
    return {t.name: [tuple(e) for e in t.entries if e[-1].strip()] for t in tg.tiers}


@pytest.mark.parametrize(
    "path", [p for p in ALL_FILES if "chronological" not in p.name], ids=lambda p: p.name
)
def test_same_as_praatio(path: Path) -> None:
    ours = read_textgrid(path)
    theirs = _praatio_content(path)
    names = [t.attrs.get("textgrid", {}).get("name", t.name) for t in ours.tiers]
    assert names == list(theirs)
    for name, tier in zip(names, ours.tiers):
        got = [(a.start, a.end, a.label) if isinstance(a, Interval) else (a.time, a.label) for a in tier]
        assert [g for g in got if g[-1].strip()] == theirs[name]


def test_praatio_reads_what_we_write(tmp_path: Path) -> None:
    s = read_textgrid(DATA / "praatio_mary.TextGrid")
    for short in (False, True):
        out = tmp_path / f"mary_{short}.TextGrid"
        write_textgrid(s, out, short=short)
        assert _praatio_content(out) == _praatio_content(DATA / "praatio_mary.TextGrid")


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("short", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_round_trip_real_files(tmp_path: Path, path: Path, short: bool, encoding: str) -> None:
    s = read_textgrid(path)
    out = tmp_path / "rt.TextGrid"
    assert write_textgrid(s, out, short=short, encoding=encoding) == []
    back = read_textgrid(out)
    assert content(back) == content(s)
    assert kinds(back) == kinds(s)
    assert back.metadata["time_range"] == s.metadata["time_range"]
    assert [t.attrs for t in back.tiers] == [t.attrs for t in s.tiers]


def test_empty_tier_name_is_restored(tmp_path: Path) -> None:
    out = tmp_path / "x.TextGrid"
    write_textgrid(read_textgrid(DATA / "praatio_bobby_elan.TextGrid"), out)
    assert 'name = "" ' in out.read_text()
    assert 'name = """word""" ' in out.read_text()


def test_repeated_tier_names_and_tier_ranges_survive(tmp_path: Path) -> None:
    text = (
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n10\n<exists>\n3\n'
        '"IntervalTier"\n"a"\n0\n10\n1\n0\n10\n"x"\n'
        '"IntervalTier"\n"a"\n2\n8\n1\n2\n8\n"y"\n'
        '"TextTier"\n"  "\n0\n10\n0\n'
    )
    s = parse_textgrid(text)
    assert s.tier_names() == ["a", "a (2)", "tier 3"]
    assert s.tier("a (2)").attrs["textgrid"] == {"range": [2.0, 8.0], "name": "a", "renamed": "a (2)"}
    out = tmp_path / "x.TextGrid"
    write_textgrid(s, out, short=True)
    assert out.read_text().split("\n")[4:] == text.split("\n")[4:]
    # A renamed tier is written under its new name.
    s._rename_tier("a (2)", "b")
    txt, _ = format_textgrid(s, short=True)
    assert '"b"\n2\n8\n' in txt


def test_rounding_overlap_from_other_tools_is_tolerated() -> None:
    text = (
        'File type = "ooTextFile"\nObject class = "TextGrid"\n0\n1\n<exists>\n1\n'
        '"IntervalTier"\n"w"\n0\n1\n2\n0\n0.5000000001\n"a"\n0.5\n1\n"b"\n'
    )
    s = parse_textgrid(text)
    assert content(s) == {"w": [(0.0, 0.5000000001, "a"), (0.5000000001, 1.0, "b")]}


labels = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12
)


@st.composite
def sessions(draw: st.DrawFn) -> Session:
    tiers: list = []
    for k in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            times = sorted(set(draw(st.lists(st.floats(-50, 1e4, allow_nan=False), max_size=12))))
            ivs = [
                Interval(a, b, lab)
                for a, b, lab in zip(times[::2], times[1::2], draw(st.lists(labels, min_size=len(times))))
                if lab
            ]
            tiers.append(IntervalTier(f"t{k} {draw(labels)}", ivs))
        else:
            pts = draw(st.lists(st.tuples(st.floats(-50, 1e4, allow_nan=False), labels), max_size=6))
            tiers.append(PointTier(f"p{k}", [Point(t, lab) for t, lab in pts]))
    return Session(tiers)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=sessions(), short=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_round_trip_generated(tmp_path: Path, s: Session, short: bool, encoding: str) -> None:
    out = tmp_path / "gen.TextGrid"
    write_textgrid(s, out, short=short, encoding=encoding)
    back = read_textgrid(out)
    assert content(back) == content(s)
    assert kinds(back) == kinds(s)
    lo, hi = back.metadata["time_range"]
    assert lo <= 0.0 and hi > lo
    # Praat's layout: every interval tier is complete from xmin to xmax.
    for tier in back.interval_tiers():
        assert all(lo <= a.start and a.end <= hi for a in tier)


def test_stored_time_range_is_written_and_widened() -> None:
    s = Session([IntervalTier("w", [Interval(1.0, 2.0, "a")])], metadata={"time_range": [0.5, 1.5]})
    txt, _ = format_textgrid(s, short=True)
    assert txt.split("\n")[3:5] == ["0.5", "2"]
    s = Session([IntervalTier("w", [Interval(1.0, 2.0, "a")])], metadata={"time_range": [0, 30.25]})
    txt, _ = format_textgrid(s, short=True)
    assert txt.split("\n")[3:5] == ["0", "30.25"]
    # Gaps are filled so the tier covers the grid.
    assert '"w"\n0\n30.25\n3\n0\n1\n""\n1\n2\n"a"\n2\n30.25\n""\n' in txt


def test_numbers_keep_full_precision(tmp_path: Path) -> None:
    t = [0.1 + 0.2, 1 / 3, 2 / 3, 1e-7, 123456.78901234567]
    s = Session([PointTier("p", [Point(x, str(x)) for x in t])])
    out = tmp_path / "p.TextGrid"
    write_textgrid(s, out)
    assert [p.time for p in read_textgrid(out).tier("p")] == sorted(t)


# --- writer warnings -----------------------------------------------------------------------------


def test_warnings_for_what_a_textgrid_cannot_hold(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier(
                "o",
                [Interval(0, 2, "a"), Interval(1, 3, "b", confidence=0.5), Interval(1.5, 2.5, "c")],
                allow_overlap=True,
            ),
            IntervalTier("w", [Interval(0, 1, ""), Interval(1, 2, "x", source="model")], parent="o"),
            CurveTier("pitch", [100.0, 110.0], rate=100),
        ],
        vocabularies=[ControlledVocabulary("v")],
    )
    out = tmp_path / "x.TextGrid"
    warnings = write_textgrid(s, out)
    text = "\n".join(warnings)
    assert "'pitch'" in text and "curve" in text
    assert "overlapping" in text and "'o (2)'" in text and "'o (3)'" in text
    assert "confidences, sources or attributes of 2 annotation(s)" in text
    assert "parent tiers" in text and "'w'" in text
    assert "1 interval(s) with an empty label" in text
    back = read_textgrid(out)
    assert back.tier_names() == ["o", "o (2)", "o (3)", "w"]
    assert sorted(a.label for n in ("o", "o (2)", "o (3)") for a in back.tier(n)) == ["a", "b", "c"]
    assert content(back)["w"] == [(1.0, 2.0, "x")]


def test_nul_characters_are_removed_with_a_warning() -> None:
    txt, warnings = format_textgrid(Session([IntervalTier("w", [Interval(0, 1, "a\x00b")])]))
    assert "NUL" in warnings[0]
    assert content(parse_textgrid(txt)) == {"w": [(0.0, 1.0, "ab")]}


def test_overlap_split_names_avoid_existing_tiers() -> None:
    s = Session(
        [
            IntervalTier("o", [Interval(0, 2, "a"), Interval(1, 3, "b")], allow_overlap=True),
            IntervalTier("o (2)", [Interval(0, 1, "z")]),
        ]
    )
    txt, warnings = format_textgrid(s, short=True)
    back = parse_textgrid(txt)
    assert back.tier_names() == ["o", "o (3)", "o (2)"]
    assert "'o (3)'" in warnings[0]


def test_no_warnings_for_a_plain_session() -> None:
    s = Session([IntervalTier("w", [Interval(0, 1, "a")]), PointTier("p", [Point(0.5, "")])])
    assert format_textgrid(s)[1] == []


def test_empty_session_gets_a_time_span() -> None:
    txt, warnings = format_textgrid(Session([]))
    assert "no time span" in warnings[0]
    back = parse_textgrid(txt)
    assert back.tiers == () and back.metadata["time_range"] == [0.0, 1.0]


def test_bad_encoding_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="utf-8"):
        write_textgrid(Session([]), tmp_path / "x.TextGrid", encoding="latin-1")


# --- registry ------------------------------------------------------------------------------------


def test_registry(tmp_path: Path) -> None:
    s = io.read(DATA / "praat_long_utf16.TextGrid")
    assert s.metadata["source_format"] == "textgrid"
    assert io.get_format("praat").name == "textgrid"
    out = tmp_path / "out.textgrid"
    assert io.write(s, out, tiers=["events"]) == []
    assert content(io.read(out)) == {"events": EXPECTED["events"]}
    fmt = io.get_format("textgrid")
    assert fmt.sniff((DATA / "praat_short_utf16.TextGrid").read_bytes()[:200])
    assert fmt.sniff((DATA / "praat_chronological_utf8.TextGrid").read_bytes()[:200])
    assert not fmt.sniff(b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")


# --- tolerant syntax -----------------------------------------------------------------------------


# Praat's own tolerance, which Praat 6.3 accepts too (see test_praat_accepts_free_text): comments,
# several keys on a line, indices with or without colons, exponents, a string over two lines.
FREE_TEXT = '''File type = "ooTextFile"
Object class = "TextGrid"
! a comment with "quotes" and 123 numbers
xmin = 0   ! the domain
xmax = 2e0
tiers? <exists> size = 2
item []:
  item[1]: class = "IntervalTier" name = "w ! not a comment"
    xmin = 0 xmax = 2
    intervals: size = 2
    intervals [1] xmin = 0 xmax = 1.5E-1 text = "a [1] = b"
    intervals [2]:
        xmin = 0.15
        xmax = 2 text = ""
  item [2]:
    class = "TextTier"
    name = "p"
    xmin = 0
    xmax = 2
    points: size = 1
    points [1]:
        number = 0.5
        mark = "line 1
line 2 ""quoted"""
'''


def test_praat_free_text_syntax() -> None:
    text = FREE_TEXT
    s = parse_textgrid(text)
    assert content(s) == {
        "w ! not a comment": [(0.0, 0.15, "a [1] = b")],
        "p": [(0.5, 'line 1\nline 2 "quoted"')],
    }
    assert s.metadata["textgrid"]["layout"] == "long"


def test_absent_tiers() -> None:
    s = parse_textgrid(
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <absent>\n'
    )
    assert s.tiers == () and s.metadata["time_range"] == [0.0, 1.0]


def test_old_short_header() -> None:
    s = parse_textgrid(
        'File type = "ooTextFile short"\n"TextGrid"\n0 1 <exists> 1 "TextTier" "p" 0 1 1 0.5 "x"\n'
    )
    assert content(s) == {"p": [(0.5, "x")]}


# --- errors --------------------------------------------------------------------------------------

GOOD = (DATA / "praat_long_utf8.TextGrid").read_text(encoding="utf-8")
SHORT = (DATA / "praat_short_utf8.TextGrid").read_text(encoding="utf-8")
CHRONO = (DATA / "praat_chronological_utf8.TextGrid").read_text(encoding="utf-8")


def _replace_line(text: str, line: int, new: str) -> str:
    lines = text.split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


C_OVERLAP = CHRONO.replace("2 0.6 0.9", "2 0.5 0.9")
C_TIER = CHRONO.replace("1 0.35 1.2", "7 0.35 1.2")
C_NUM = CHRONO.replace("1 0.35 1.2", "1 0.35 x")
C_CUT = CHRONO[: CHRONO.rindex('""')]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('File type = "ooTextFile"\nObject class = "Sound"\n', 1, "not a text TextGrid"),
        ("hello\n", 1, "not a text TextGrid"),
        ('File type = "ooBinaryFile"\nObject class = "TextGrid"\n', 1, "binary TextGrids"),
        (_replace_line(GOOD, 5, "xmax = abc "), 5, "expected a number for the grid's xmax, got 'abc'"),
        (_replace_line(GOOD, 5, "xmax = --undefined-- "), 5, "got '--undefined--'"),
        (_replace_line(GOOD, 5, "xmax = inf "), 5, "expected a number"),
        (_replace_line(GOOD, 5, "xmax = -1 "), 5, "xmin 0.0 is after its xmax -1.0"),
        (_replace_line(GOOD, 7, "size = 400 "), 7, "the number of tiers is 400, but the file is too short"),
        (_replace_line(GOOD, 7, "size = -1 "), 7, "cannot be negative"),
        (_replace_line(GOOD, 7, "size = 2.5 "), 7, "whole number"),
        (_replace_line(GOOD, 7, "size = 2 "), 59, "does tier 'phones' have more intervals"),
        (_replace_line(GOOD, 10, '        class = "PointTier" '), 10, "has class 'PointTier'"),
        (
            _replace_line(GOOD, 14, "        intervals: size = 5 "),
            33,
            "'words' declares 5 intervals but has only 4",
        ),
        (
            _replace_line(GOOD, 14, "        intervals: size = 3 "),
            28,
            "does tier 'words' have more intervals",
        ),
        (_replace_line(GOOD, 17, "            xmax = 0.3q5 "), 17, "xmax of interval 1, got '0.3q5'"),
        (
            _replace_line(GOOD, 17, "            xmax = 2.0 "),
            20,
            "interval 2 starts at 0.35 s, before the previous",
        ),
        (
            _replace_line(GOOD, 16, "            xmin = 0.5 "),
            16,
            "interval 1 starts at 0.5 s, after its end 0.35 s",
        ),
        (
            _replace_line(GOOD, 21, "            xmax = 0.35 "),
            20,
            "interval 2 ('say \"hi\"') has zero duration",
        ),
        (
            _replace_line(GOOD, 18, "            text = 12 "),
            18,
            "expected a quoted string for the label of interval 1",
        ),
        (_replace_line(GOOD, 12, "        xmin = 3 "), 13, "tier 'words': xmin 3.0 is after xmax 2.5"),
        (_replace_line(GOOD, 71, "            number = 1.0 "), 71, "point 3 at 1.0 s comes before"),
        (
            _replace_line(GOOD, 72, "            mark = ' "),
            72,
            "expected a quoted string for the mark of point 3",
        ),
        (_replace_line(GOOD, 66, '            mark = "click '), 72, "unterminated string"),
        (GOOD[: GOOD.index('"naïve')] + '"naïve', 26, "unterminated string"),
        (GOOD[: GOOD.rindex("number = 2.2")], 63, "the number of points of tier 'events' is 3, but"),
        (GOOD[: GOOD.rindex('mark = ""')], 63, "too short"),
        (GOOD + '"extra"\n', 73, "unexpected '\"extra\"' after the last tier"),
        (SHORT.replace("<exists>", "<maybe>"), 6, "expected <exists> or <absent>"),
        (SHORT[: SHORT.index("2.5\n<exists>")], 4, "the file ends while the grid's xmax was expected"),
        (C_OVERLAP, _line(C_OVERLAP, "2 0.5 0.9"), "overlaps the one before it"),
        (C_TIER, _line(C_TIER, "7 0.35"), "tier number 7 is not between 1 and 3"),
        (
            C_NUM,
            _line(C_NUM, "1 0.35 x"),
            "expected a number for the end of an interval of tier 'words', got 'x'",
        ),
        (CHRONO.replace("3   ! Number", "-3   ! Number"), 3, "cannot be negative"),
        (C_CUT, _line(C_CUT, "3 2.2"), "the mark of a point of tier 'events' was expected"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    p = tmp_path / "bad.TextGrid"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(TextGridError) as info:
        read_textgrid(p)
    err = info.value
    assert message in err.problem
    assert err.line == line, (err.line, str(err))
    assert str(err).startswith(f"{p}:{line}: ")


def test_error_for_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TextGridError, match="folder"):
        read_textgrid(tmp_path)
    with pytest.raises(TextGridError, match="cannot be read"):
        read_textgrid(tmp_path / "missing.TextGrid")


def test_undecodable_utf16(tmp_path: Path) -> None:
    p = tmp_path / "x.TextGrid"
    p.write_bytes(codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le")[:101])  # an odd byte count
    with pytest.raises(TextGridError):
        read_textgrid(p)


PATHOLOGICAL = {
    "quotes": '"' * 200_001,
    "spaces": " " * 1_000_000,
    "keys": "a[1]" * 100_000,
    "equals": "x =" * 100_000,
    "quote pairs": '0 1 <exists> 1 "' + '""' * 100_000,
    "brackets": "[" * 200_000,
    "open indices": "a[" * 200_000,
    "angles": "<" * 200_000,
    "open flags": "<a" * 200_000,
    "bangs": "!" * 200_000,
    "comment lines": "! \n" * 200_000,
    "long word": "a" * 1_000_000,
    "indices": "a [1] [1] " * 100_000,
}


@pytest.mark.parametrize("tail", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_inputs_are_fast(tail: str) -> None:
    # Inputs that make naive regexes backtrack for ever or go quadratic. Linear: well under a second
    # each; quadratic would take minutes, so the generous bound is not flaky.
    t0 = time.perf_counter()
    with pytest.raises(TextGridError):
        parse_textgrid('File type = "ooTextFile"\nObject class = "TextGrid"\n' + tail)
    assert time.perf_counter() - t0 < 10


# --- fuzzing -------------------------------------------------------------------------------------


def _read_any(data: bytes) -> None:
    read_or_format_error(read_textgrid, data, ".TextGrid", TextGridError)


_SEEDS = [p.read_bytes() for p in ALL_FILES]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _read_any(data)
    _read_any(GOOD[:60].encode() + data)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_files(data: st.DataObject) -> None:
    tokens = [b'"', b"!", b"[", b"<", b"=", b"\n", b"1", b'""', b"-", b"\x00"]
    ops = ("flip", "cut", "dropline", "dupline", "swaplines", "insert")
    _read_any(mutate(data, _SEEDS, tokens, ops=ops))


SPECIAL = st.sampled_from(
    ['"', '""', "!", "[", "]", "<", ">", "=", ":", "?", " ", "\n", "a", "1", ".5", "-", "e3", "<exists>"]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(SPECIAL, max_size=300), short=st.booleans())
def test_fuzz_token_soup(parts: list[str], short: bool) -> None:
    # Text made of the characters the tokenizer cares about, after a real header and grid start.
    start = SHORT[: SHORT.index("<exists>")] if short else GOOD[: GOOD.index("tiers?")]
    try:
        s = parse_textgrid(start + "".join(parts))
    except TextGridError as exc:
        assert exc.line is not None and exc.line >= 1
    else:
        assert isinstance(s, Session)


# --- real Praat reads what we write --------------------------------------------------------------

PRAAT_SCRIPT = """form Check
  sentence path x
endform
Read from file: path$
n = Get number of tiers
appendInfoLine: "tiers ", n
for i to n
  name$ = Get tier name: i
  isInterval = Is interval tier: i
  if isInterval
    m = Get number of intervals: i
    appendInfoLine: name$, " intervals ", m
  else
    m = Get number of points: i
    appendInfoLine: name$, " points ", m
  endif
endfor
label$ = Get label of interval: 1, 2
appendInfoLine: "label ", label$
end = Get end time of interval: 1, 2
appendInfoLine: "end ", fixed$ (end, 16)
"""


@pytest.mark.skipif(shutil.which("praat") is None, reason="praat is not installed")
@pytest.mark.parametrize("short", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_praat_reads_our_output(tmp_path: Path, short: bool, encoding: str) -> None:
    s = Session(
        [
            IntervalTier("words", [Interval(0.25, 1 / 3, 'say "hi" ŋ'), Interval(2.0, 2.5, "two\nlines")]),
            PointTier("events", [Point(0.1, "x"), Point(0.2, "")]),
            IntervalTier("o", [Interval(0, 2, "a"), Interval(1, 3, "b")], allow_overlap=True),
        ]
    )
    grid = tmp_path / "ours.TextGrid"
    write_textgrid(s, grid, short=short, encoding=encoding)
    script = tmp_path / "check.praat"
    script.write_text(PRAAT_SCRIPT)
    run = subprocess.run(
        ["praat", "--run", str(script), str(grid)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "tiers 4",
        "words intervals 5",  # gap, 'say "hi" ŋ', gap, "two\nlines", gap to 3
        "events points 2",
        "o intervals 2",
        "o (2) intervals 2",  # gap to 1, then "b" to the end
        'label say "hi" ŋ',
        "end 0.3333333333333333",
    ]


@pytest.mark.skipif(shutil.which("praat") is None, reason="praat is not installed")
def test_praat_accepts_free_text(tmp_path: Path) -> None:
    grid = tmp_path / "free.TextGrid"
    grid.write_text(FREE_TEXT, encoding="utf-8")
    script = tmp_path / "check.praat"
    script.write_text(PRAAT_SCRIPT)
    run = subprocess.run(
        ["praat", "--run", str(script), str(grid)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "tiers 2",
        "w ! not a comment intervals 2",
        "p points 1",
        "label ",
        "end 2.0000000000000000",
    ]
