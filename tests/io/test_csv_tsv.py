"""CSV/TSV label tables: reading, writing, round trips, errors, fuzzing."""

from __future__ import annotations

import atexit
import csv
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.csv_tsv import read_csv, read_tsv, write_csv, write_tsv
from studio.io.errors import CsvError

DATA = Path(__file__).resolve().parents[1] / "data" / "tabular"
_TMP = Path(tempfile.mkdtemp(prefix="studio-csv-"))
atexit.register(shutil.rmtree, _TMP, True)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def test_header_points_quotes_and_extra_columns(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "a.csv",
        "tier,start,end,label,confidence,speaker\n"
        'words,0.5,1.25,"hello, ""world""",0.9,A\n'
        "beats,2,,x,,\n"
        'words,0.1,0.5,"two\nlines",,B\n',
    )
    s = read_csv(p)
    assert s.tier_names() == ["words", "beats"]
    words, beats = s.tiers
    assert isinstance(words, IntervalTier) and isinstance(beats, PointTier)
    assert [(a.start, a.end, a.label, a.confidence) for a in words] == [
        (0.1, 0.5, "two\nlines", None),
        (0.5, 1.25, 'hello, "world"', 0.9),
    ]
    assert words[1].attrs == {"speaker": "A"} and words[0].attrs == {"speaker": "B"}
    assert beats[0].time == 2.0 and beats[0].label == "x" and beats[0].attrs == {}
    assert words.allow_overlap is False


def test_overlapping_rows_make_an_overlapping_tier(tmp_path: Path) -> None:
    p = _write(tmp_path, "o.csv", "tier,start,end,label\nsubs,0,2,a\nsubs,1,3,b\nother,0,1,c\n")
    s = read_csv(p)
    assert s.tier("subs").allow_overlap is True
    assert s.tier("other").allow_overlap is False


def test_headerless_and_aliases(tmp_path: Path) -> None:
    s = read_csv(_write(tmp_path, "n.csv", "w,0,1,a,0.5\nw,1,2,b,\n"))
    assert [(a.start, a.end, a.label, a.confidence) for a in s.tier("w")] == [
        (0, 1, "a", 0.5),
        (1, 2, "b", None),
    ]
    s = read_csv(_write(tmp_path, "three.csv", "0.5,1.5,hi\n2,3,there\n"))
    assert s.tier_names() == ["three"] and [a.label for a in s.tiers[0]] == ["hi", "there"]
    s = read_tsv(_write(tmp_path, "al.tsv", "Begin\tDuration\tText\n1.5\t0.5\tok\n"))
    assert [(a.start, a.end, a.label) for a in s.tiers[0]] == [(1.5, 2.0, "ok")]


def test_semicolon_and_decimal_comma(tmp_path: Path) -> None:
    s = read_csv(_write(tmp_path, "eu.csv", "tier;start;end;label\nw;0,5;1,25;a\n"))
    assert [(a.start, a.end) for a in s.tier("w")] == [(0.5, 1.25)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("tier,start,end,label\nw,abc,1,x\n", 2, "start 'abc' is not a number"),
        ("tier,start,end,label\nw,0,1,x\nw,2,1,y\n", 3, "before start"),
        ("tier,start,end,label\nw,0,1,x\nw,1\n", 3, "missing column 'end'"),
        ("tier,start,end,label\nw,0,1,x\nw,1,,p\n", 3, "mixes intervals and points"),
        ("tier,start,end,label,confidence\nw,0,1,x,7\n", 2, "confidence '7'"),
        ("tier,start,end,label\nw,0,1,x\nw,2,3,y,extra\n", 3, "header names 4 columns"),
        ("tier,start,end,label\nw,0,1,x\nw,1,1,zero\n", 3, "not before end"),
        ("name,value\na,b\n", 1, "no header with a 'start' column"),
        ('tier,start,end,label\nw,0,1,"unclosed\nw,1,2,x\n', None, ""),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    p = _write(tmp_path, "bad.csv", text)
    try:
        read_csv(p)
    except CsvError as exc:
        assert exc.line == line
        assert words in exc.problem
        assert str(p) in str(exc)
    else:
        # An unclosed quote swallows the rest of the file (as Excel does): no error, one long label.
        assert line is None


def test_writer_columns_and_warnings(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier("w", [Interval(0.1, 0.2, "a", confidence=0.5, attrs={"k": "v", "n": [1]})]),
            PointTier("p", [Point(1 / 3, "pt", source="model")]),
            IntervalTier("empty", []),
            CurveTier("f0", [1.0, 2.0], rate=100.0),
        ]
    )
    p = tmp_path / "out.csv"
    warnings = write_csv(s, p)
    assert any("curve tier 'f0'" in w for w in warnings)
    assert any("'empty' is empty" in w for w in warnings)
    assert any("JSON text" in w for w in warnings)
    with p.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["tier", "start", "end", "label", "confidence", "source", "k", "n"]
    assert rows[2][:3] == ["p", repr(1 / 3), ""]
    back = read_csv(p)
    assert back.tier("p")[0].time == 1 / 3 and back.tier("p")[0].source == "model"
    assert back.tier("w")[0].attrs == {"k": "v", "n": "[1]"}


def test_no_confidence_column_without_confidences(tmp_path: Path) -> None:
    p = tmp_path / "plain.tsv"
    assert write_tsv(Session([IntervalTier("w", [Interval(0, 1, "a")])]), p) == []
    assert p.read_text(encoding="utf-8").splitlines()[0] == "tier\tstart\tend\tlabel"


def test_registry_dispatch(tmp_path: Path) -> None:
    s = Session([IntervalTier("w", [Interval(0, 1, "a")])])
    for suffix in (".csv", ".tsv"):
        p = tmp_path / f"x{suffix}"
        io.write(s, p)
        assert io.read(p).tier("w")[0].label == "a"


def test_ids_option_keeps_ids(tmp_path: Path) -> None:
    s = Session([IntervalTier("w", [Interval(0, 1, "a", id="keep-me")])])
    p = tmp_path / "ids.csv"
    write_csv(s, p, ids=True)
    assert read_csv(p).tier("w")[0].id == "keep-me"


def test_cross_check_with_csv_dictreader(tmp_path: Path) -> None:
    """An independent parse of what we wrote gives the same rows."""
    s = Session(
        [
            IntervalTier("a", [Interval(0.0, 0.1, "x,y"), Interval(0.1, 0.30000000000000004, 'q"')]),
            IntervalTier("b", [Interval(5.0, 6.0, "é\nz")]),
        ]
    )
    p = tmp_path / "c.csv"
    write_csv(s, p)
    with p.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["tier"], float(r["start"]), float(r["end"]), r["label"]) for r in rows] == [
        (t.name, a.start, a.end, a.label) for t in s.tiers for a in t
    ]


# --- property-based round trips --------------------------------------------------------------
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=12)
_name = _text.filter(lambda n: n.strip() != "")
_key = st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True).filter(lambda k: k not in io.csv_tsv._COLUMN_OF)
_attrs = st.dictionaries(_key, _text.filter(bool), max_size=2)
_conf = st.none() | st.floats(0, 1)
_time = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _sessions(draw: st.DrawFn) -> Session:
    names = draw(st.lists(_name, min_size=1, max_size=4, unique=True))
    tiers = []
    for n in names:
        if draw(st.booleans()):
            pts = draw(
                st.lists(
                    st.builds(Point, _time, _text, _conf, st.sampled_from(["human", "m"]), _attrs),
                    min_size=1,
                    max_size=5,
                )
            )
            tiers.append(PointTier(n, pts))
        else:
            spans = draw(st.lists(st.tuples(_time, st.floats(1e-3, 100)), min_size=1, max_size=5))
            ivs = [
                Interval(
                    s, s + d, draw(_text), draw(_conf), draw(st.sampled_from(["human", "m"])), draw(_attrs)
                )
                for s, d in spans
                if s + d > s
            ]
            if not ivs:
                ivs = [Interval(0.0, 1.0)]
            tiers.append(IntervalTier(n, ivs, allow_overlap=True))
    return Session(tiers)


def _content(s: Session) -> list:
    return [
        (
            t.name,
            t.kind,
            sorted(
                (a.start, a.end, a.label, repr(a.confidence), a.source, sorted(a.attrs.items())) for a in t
            ),
        )
        for t in s.tiers
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions(), st.sampled_from([".csv", ".tsv"]))
def test_round_trip_property(session: Session, suffix: str) -> None:
    p = _TMP / f"rt{suffix}"
    warnings = write_csv(session, p) if suffix == ".csv" else write_tsv(session, p)
    assert warnings == []
    back = read_csv(p) if suffix == ".csv" else read_tsv(p)
    assert _content(back) == _content(session)


# --- fuzzing ---------------------------------------------------------------------------------
_SEED = (
    b'tier,start,end,label,confidence,speaker\nwords,0.5,1.25,"hello, ""w""",0.9,A\n'
    b'beats,2,,x,,\nwords,0.1,0.5,"two\nlines",,B\n'
)


_READ = {".csv": read_csv, ".tsv": read_tsv}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".csv", ".tsv"]))
def test_fuzz_random_bytes(data: bytes, suffix: str) -> None:
    read_or_format_error(_READ[suffix], data, suffix, CsvError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    mutated = mutate(data, [_SEED], st.binary(min_size=1, max_size=4), flips=b',"\n;\t-.0e9x\xff\x00 ')
    read_or_format_error(read_csv, mutated, ".csv", CsvError)
