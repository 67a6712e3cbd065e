"""Studio labels JSON: round trips of everything tiers hold, errors with JSON paths, fuzzing."""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import Alignment, ControlledVocabulary, MediaRef, Session, VocabularyEntry, WarpPath
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.errors import JsonFormatError
from studio.io.json_labels import read_json, write_json

_TMP = Path(tempfile.mkdtemp(prefix="studio-json-"))
atexit.register(shutil.rmtree, _TMP, True)


def _full_session(tmp_path: Path) -> Session:
    return Session(
        [
            IntervalTier(
                "utt", [Interval(0.0, 2.0, "hello there", id="u1")], attrs={"eaf": {"type": "default"}}
            ),
            IntervalTier(
                "words",
                [
                    Interval(0.0, 0.7, "hello", 0.25, "whisper", {"k": [1, 2]}, "w1"),
                    Interval(0.5, 2.0, "there"),
                ],
                parent="utt",
                vocabulary="lex",
                allow_overlap=True,
            ),
            PointTier("beats", [Point(1 / 3, "b", 1.0, "beat-tracker", {"n": 1}, "p1")]),
            CurveTier("f0", [120.0, np.nan, 121.5], rate=100.0, start=0.25, unit="Hz"),
            CurveTier("prob", [[0.1, 0.9], [0.2, 0.8]], times=[0.0, 0.5]),
        ],
        [MediaRef(str(tmp_path / "media" / "a.wav"), offset=0.5)],
        vocabularies=[ControlledVocabulary("lex", [VocabularyEntry("hello", "greeting", "cv1")], "words")],
        metadata={"time_range": [0.0, 3.0], "note": {"x": 1}},
    )


def _tier_content(t) -> tuple:
    if isinstance(t, CurveTier):
        return (
            t.name,
            t.kind,
            t.unit,
            t.rate,
            t.start,
            t.times.tolist(),
            np.asarray(t.values).tolist().__repr__(),
        )
    return (
        t.name,
        t.kind,
        t.parent,
        t.vocabulary,
        t.attrs,
        getattr(t, "allow_overlap", None),
        [(a.start, a.end, a.label, a.confidence, a.source, a.attrs, a.id) for a in t],
    )


def test_full_round_trip(tmp_path: Path) -> None:
    s = _full_session(tmp_path)
    p = tmp_path / "labels.json"
    assert write_json(s, p) == []
    back = read_json(p)
    assert [_tier_content(t) for t in back.tiers] == [_tier_content(t) for t in s.tiers]
    assert back.metadata == s.metadata
    assert back.media[0].path == s.media[0].path and back.media[0].offset == 0.5
    assert back.vocabularies["lex"].entries == s.vocabularies["lex"].entries
    # NaN survives as null and comes back as NaN
    assert math.isnan(back.tier("f0").values[1])
    # the file is plain, strict JSON with a relative media path
    d = json.loads(p.read_text(encoding="utf-8"))
    assert d["format"] == "studio-labels" and d["media"][0]["path"] == "media/a.wav"
    assert d["tiers"][3]["values"] == [120.0, None, 121.5]


def test_registry_and_sniff(tmp_path: Path) -> None:
    s = _full_session(tmp_path)
    p = tmp_path / "x.json"
    io.write(s, p)
    assert io.read(p).tier_names() == s.tier_names()
    assert io.get_format("json").sniff(p.read_bytes()[:4096])
    assert not io.get_format("json").sniff(b'{"a": 1}')


def test_warnings_for_alignments_and_odd_values(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier("w", [Interval(0, 1, "a", attrs={"n": np.float32(2.5), "d": {1, 2}})]),
            CurveTier("c", [1.0, np.inf], rate=10.0),
        ],
        alignments=[Alignment("a->b", WarpPath([[0, 0], [1, 1]]))],
        metadata={"bad": object()},
    )
    warnings = write_json(s, tmp_path / "w.json")
    text = " | ".join(warnings)
    assert "alignments left out" in text and "infinite values" in text
    assert "['bad']" in text and "written as text" in text
    back = read_json(tmp_path / "w.json")
    assert back.tier("w")[0].attrs["n"] == 2.5 and np.isnan(back.tier("c").values[1])


def test_minimal_file_and_defaults(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text('{"tiers": [{"name": "a", "type": "interval", "annotations": [{"start": 0, "end": 1}]}]}')
    s = read_json(p)
    a = s.tier("a")[0]
    assert (a.start, a.end, a.label, a.confidence, a.source) == (0.0, 1.0, "", None, "human")


@pytest.mark.parametrize(
    ("doc", "element", "words"),
    [
        (
            {"tiers": [{"name": "a", "type": "interval", "annotations": [{"start": 0}]}]},
            "tiers[0].annotations[0].end",
            "missing",
        ),
        (
            {"tiers": [{"name": "a", "type": "interval", "annotations": [{"start": 2, "end": 1}]}]},
            "tiers[0].annotations[0].end",
            "not after",
        ),
        (
            {"tiers": [{"name": "a", "type": "point", "annotations": [{"time": "1"}]}]},
            "tiers[0].annotations[0].time",
            "must be",
        ),
        ({"tiers": [{"name": "a", "type": "blob"}]}, "tiers[0].type", "'blob'"),
        (
            {"tiers": [{"name": "a", "type": "interval"}, {"name": "a", "type": "point"}]},
            "tiers[1].name",
            "second tier",
        ),
        (
            {
                "tiers": [
                    {
                        "name": "a",
                        "type": "interval",
                        "annotations": [{"start": 0, "end": 1, "confidence": 2}],
                    }
                ]
            },
            "tiers[0].annotations[0].confidence",
            "outside",
        ),
        (
            {
                "tiers": [
                    {
                        "name": "a",
                        "type": "interval",
                        "annotations": [{"start": 0, "end": 2}, {"start": 1, "end": 3}],
                    }
                ]
            },
            "tiers[0]",
            "overlaps",
        ),
        (
            {"tiers": [{"name": "c", "type": "curve", "values": [1, "x"], "rate": 10}]},
            "tiers[0].values",
            "numbers",
        ),
        (
            {"tiers": [{"name": "c", "type": "curve", "values": [1, 2], "times": [1, 0]}]},
            "tiers[0]",
            "increase",
        ),
        ({"format": "other", "tiers": []}, "format", "not a Studio labels file"),
        ({"version": 99, "tiers": []}, "version", "reads version 1"),
        ([1, 2], "(top level)", "object"),
        ({"tiers": "x"}, "tiers", "must be list"),
    ],
)
def test_errors_name_the_json_path(tmp_path: Path, doc: object, element: str, words: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(JsonFormatError) as info:
        read_json(p)
    assert info.value.element == element
    assert words in info.value.problem


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text('{\n  "tiers": [\n    {"name": "a",,}\n  ]\n}\n')
    with pytest.raises(JsonFormatError) as info:
        read_json(p)
    assert info.value.line == 3


def test_cross_check_with_plain_json_load(tmp_path: Path) -> None:
    """An independent reader (json.load) sees the same annotations we wrote."""
    s = _full_session(tmp_path)
    p = tmp_path / "c.json"
    write_json(s, p)
    d = json.loads(p.read_text(encoding="utf-8"))
    for td, t in zip(d["tiers"], s.tiers):
        assert td["name"] == t.name and td["type"] == t.kind
        if t.kind == "interval":
            assert [(a["start"], a["end"], a["label"]) for a in td["annotations"]] == [
                (a.start, a.end, a.label) for a in t
            ]


# --- property-based round trip -----------------------------------------------------------------
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
_name = _text.filter(lambda n: n.strip() != "")
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_text, kids, max_size=3),
    max_leaves=6,
)
_attrs = st.dictionaries(_text, _json, max_size=3)
_time = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_conf = st.none() | st.floats(0, 1)


@st.composite
def _tiers(draw: st.DrawFn, name: str):
    kind = draw(st.sampled_from(["interval", "point", "curve"]))
    common = {"attrs": draw(_attrs), "parent": draw(st.none() | _name), "vocabulary": draw(st.none() | _name)}
    if kind == "interval":
        spans = draw(st.lists(st.tuples(_time, st.floats(1e-3, 100)), max_size=5))
        ivs = [
            Interval(s, s + d, draw(_text), draw(_conf), draw(_text), draw(_attrs), draw(st.none() | _name))
            for s, d in spans
            if s + d > s
        ]
        ids = [a.id for a in ivs]
        if len(set(ids)) != len(ids):
            ivs = [a.replace(id=f"i{k}") for k, a in enumerate(ivs)]
        return IntervalTier(name, ivs, allow_overlap=True, **common)
    if kind == "point":
        pts = draw(st.lists(st.builds(Point, _time, _text, _conf, _text, _attrs), max_size=5))
        return PointTier(name, pts, **common)
    vals = draw(st.lists(st.floats(allow_infinity=False), max_size=6))
    if draw(st.booleans()):
        return CurveTier(
            name, vals, rate=draw(st.floats(0.1, 1e4)), start=draw(_time), unit=draw(_text), **common
        )
    times = np.cumsum(np.ones(len(vals))) + draw(_time)
    return CurveTier(name, vals, times=times, **common)


@st.composite
def _sessions(draw: st.DrawFn) -> Session:
    names = draw(st.lists(_name, max_size=4, unique=True))
    tiers = [draw(_tiers(n)) for n in names]
    for t in tiers:
        if t.parent == t.name:  # a session refuses a tier that is its own parent
            t.parent = None
    return Session(
        tiers, metadata=draw(st.dictionaries(_text.filter(lambda k: k != "time_range"), _json, max_size=2))
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions())
def test_round_trip_property(session: Session) -> None:
    p = _TMP / "rt.json"
    assert write_json(session, p) == []
    back = read_json(p)
    assert [_tier_content(t) for t in back.tiers] == [_tier_content(t) for t in session.tiers]
    assert back.metadata == session.metadata


# --- fuzzing ---------------------------------------------------------------------------------
def _seed() -> bytes:
    s = Session(
        [
            IntervalTier("w", [Interval(0.0, 0.7, "hello", 0.25, "m", {"k": 1}, "w1")], parent="u"),
            PointTier("p", [Point(1.0, "b")]),
            CurveTier("c", [1.0, np.nan], rate=10.0),
            CurveTier("t", [1.0, 2.0], times=[0.0, 1.0]),
        ],
        metadata={"time_range": [0.0, 2.0]},
    )
    p = _TMP / "seed.json"
    write_json(s, p, indent=None)
    return p.read_bytes()


_SEED = _seed()


def _read_any(data: bytes) -> None:
    read_or_format_error(read_json, data, ".json", JsonFormatError)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _read_any(data)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_fuzz_random_json_values(value: object) -> None:
    _read_any(json.dumps({"tiers": [value]}).encode())
    _read_any(json.dumps({"tiers": [{"name": "a", "type": "interval", "annotations": [value]}]}).encode())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    tokens = [b"[", b"{", b'"x"', b"null", b"1e999", b"-", b"[[[[[[", b"true"]
    _read_any(mutate(data, [_SEED], tokens, flips=b'{}[],:"0-e.9nt \xff', ops=("flip", "cut", "insert")))


def test_deeply_nested_json_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text('{"tiers": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(JsonFormatError):
        read_json(p)
