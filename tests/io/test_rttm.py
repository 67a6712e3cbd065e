"""RTTM: real pyannote/AMI files, an independent parse, round trips, errors, fuzzing."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.errors import RttmError
from studio.io.rttm import read_rttm, write_rttm

DATA = Path(__file__).resolve().parents[1] / "data" / "tabular"
REAL = sorted(DATA.glob("*.rttm"))
_TMP = Path(tempfile.mkdtemp(prefix="studio-rttm-"))
atexit.register(shutil.rmtree, _TMP, True)


def _independent(path: Path) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """pyannote's view of an RTTM file, computed without our reader: (uri, speaker) -> (turns, speech)."""
    out: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for line in path.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            out[(f[1], f[7])][0] += 1
            out[(f[1], f[7])][1] += Decimal(f[4])
    return {k: (v[0], v[1]) for k, v in out.items()}


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_files_match_an_independent_parse(path: Path) -> None:
    s = read_rttm(path)
    expected = _independent(path)
    got = {}
    for t in s.tiers:
        r = t.attrs["rttm"]
        assert all(a.label == r["speaker"] for a in t)
        got[(r["file"], r["speaker"])] = (
            len(t),
            sum(Decimal(repr(a.end)) - Decimal(repr(a.start)) for a in t),
        )
    assert got.keys() == expected.keys()
    for k, (n, speech) in expected.items():
        assert got[k][0] == n
        assert abs(got[k][1] - speech) < Decimal("1e-9"), k


def test_tier_names_one_file_and_several() -> None:
    one = read_rttm(DATA / "pyannote_sample.rttm")
    assert one.tier_names() == ["speaker90", "speaker91"]
    first = one.tier("speaker90")[0]
    assert (first.start, first.end, first.label, first.confidence) == (6.69, 7.12, "speaker90", None)
    several = read_rttm(DATA / "ami_debug_development.rttm")
    assert several.tier_names() == ["dev00/MEE009", "dev00/MEE012", "dev01/MEE012", "dev01/MEE009"]
    # 1.440 + 11.872 is stored as 13.312, not 13.312000000000001
    assert several.tier("dev00/MEE009")[0].end == 13.312
    assert "MÉO069" in [t.attrs["rttm"]["speaker"] for t in read_rttm(DATA / "ami_debug_train.rttm").tiers]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_files_round_trip_byte_for_byte(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.rttm"
    assert write_rttm(read_rttm(path), out) == []
    # Same lines (we sort by file then time, as the sources are).
    assert sorted(out.read_text(encoding="utf-8").splitlines()) == sorted(
        path.read_text(encoding="utf-8").splitlines()
    )


def test_shared_data_files(shared_data: Path) -> None:
    for p in sorted(shared_data.glob("**/*.rttm")):
        s = read_rttm(p)
        assert sum(len(t) for t in s.tiers) == sum(n for n, _ in _independent(p).values())


def test_overlap_confidence_other_types_and_skips(tmp_path: Path) -> None:
    p = tmp_path / "x.rttm"
    p.write_text(
        ";; a comment\n"
        "SPKR-INFO f 1 <NA> <NA> <NA> adult_male A <NA> <NA>\n"
        "SPEAKER f 1 0.00 2.00 <NA> <NA> A 0.75 <NA>\n"
        "SPEAKER f 1 1.00 2.00 <NA> <NA> A -3.2 7\n"
        "SPEAKER f 1 5.00 0.00 <NA> <NA> A <NA> <NA>\n"
        "LEXEME f 1 0.10 0.20 hello lex A 0.9 <NA>\n"
        "NOSCORE f 1 <NA> <NA> <NA> <NA> <NA> <NA> <NA>\n"
        "\n"
        "SPEAKER f 1 3.0 1.0 <NA> <NA> B\n"
    )
    s = read_rttm(p)
    assert s.tier_names() == ["A", "A/LEXEME", "B"]
    a = s.tier("A")
    assert a.allow_overlap and a.attrs["rttm"]["info"] == "adult_male"
    assert a[0].confidence == 0.75 and a[1].attrs == {"rttm_conf": "-3.2", "rttm_slat": "7"}
    assert s.tier("A/LEXEME")[0].label == "hello" and s.tier("A/LEXEME")[0].attrs == {"rttm_stype": "lex"}
    assert s.metadata["rttm"]["skipped"] == [5, 7]
    out = tmp_path / "back.rttm"
    assert write_rttm(s, out) == []
    text = out.read_text(encoding="utf-8")
    assert "SPKR-INFO f 1 <NA> <NA> <NA> adult_male A <NA> <NA>" in text
    assert "SPEAKER f 1 1.000 2.000 <NA> <NA> A -3.2 7" in text
    assert "LEXEME f 1 0.100 0.200 hello lex A 0.9 <NA>" in text


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("SPEAKER f 1 abc 1.0 <NA> <NA> A <NA> <NA>", "start 'abc' is not a number"),
        ("SPEAKER f 1 1.0 -1.0 <NA> <NA> A <NA> <NA>", "negative duration"),
        ("SPEAKER f 1 1.0 nan <NA> <NA> A <NA> <NA>", "not a finite number"),
        ("SPEAKER f 1 1.0", "4 fields"),
        ("SPEAKER f 1 <NA> <NA> <NA> <NA> A <NA> <NA>", "needs a start time"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, line: str, words: str) -> None:
    p = tmp_path / "bad.rttm"
    p.write_text("SPEAKER f 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n;; c\n" + line + "\n")
    with pytest.raises(RttmError) as info:
        read_rttm(p)
    assert info.value.line == 3 and words in info.value.problem


def test_writer_speaker_modes_and_warnings(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier(
                "diar", [Interval(0.0, 1.0, "spk 1"), Interval(1.0, 2.0004, "spk2"), Interval(3, 4, "")]
            ),
            PointTier("p", [Point(1.0)]),
            CurveTier("c", [1.0], rate=1.0),
        ]
    )
    p = tmp_path / "rec.rttm"
    w = write_rttm(s, p)
    assert any("2 labels dropped" in x and "speaker='label'" in x for x in w)
    assert any("point tier 'p'" in x for x in w) and any("curve tier 'c'" in x for x in w)
    assert any("rounded" in x for x in w)
    assert {ln.split()[7] for ln in p.read_text().splitlines()} == {"diar"}
    assert {ln.split()[1] for ln in p.read_text().splitlines()} == {"rec"}
    w = write_rttm(s, p, speaker="label", file_id="meeting")
    back = read_rttm(p)
    assert back.tier_names() == ["spk_1", "spk2"] and any("empty labels" in x for x in w)
    assert back.tier("spk2")[0].end == 2.0
    assert {t.attrs["rttm"]["file"] for t in back.tiers} == {"meeting"}


def test_renamed_tier_writes_its_new_name(tmp_path: Path) -> None:
    s = read_rttm(DATA / "ami_debug_development.rttm")
    s._rename_tier("dev00/MEE009", "Alice")
    p = tmp_path / "r.rttm"
    write_rttm(s, p)
    speakers = {ln.split()[7] for ln in p.read_text().splitlines()}
    assert speakers == {"Alice", "MEE012", "MEE009"}


def test_registry(tmp_path: Path) -> None:
    s = io.read(DATA / "pyannote_sample.rttm")
    io.write(s, tmp_path / "o.rttm")
    assert io.read(tmp_path / "o.rttm").tier_names() == s.tier_names()


# --- property-based round trip ---------------------------------------------------------------
_speaker = st.from_regex(r"[A-Za-z0-9_\-éß]{1,8}", fullmatch=True)
_ms = st.integers(0, 10**7)


@st.composite
def _sessions(draw: st.DrawFn) -> Session:
    names = draw(st.lists(_speaker, min_size=1, max_size=4, unique=True))
    tiers = []
    for n in names:
        spans = draw(
            st.lists(
                st.tuples(_ms, st.integers(1, 10**5), st.none() | st.floats(0, 1)), min_size=1, max_size=6
            )
        )
        ivs = [Interval(s / 1000, (s + d) / 1000, n, c) for s, d, c in spans]
        tiers.append(IntervalTier(n, ivs, allow_overlap=True))
    return Session(tiers)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions())
def test_round_trip_property(session: Session) -> None:
    p = _TMP / "rt.rttm"
    assert write_rttm(session, p) == []
    back = read_rttm(p)
    assert sorted(back.tier_names()) == sorted(session.tier_names())
    for t in session.tiers:
        got = sorted((a.start, a.end, a.label, repr(a.confidence)) for a in back.tier(t.name))
        assert got == sorted((a.start, a.end, a.label, repr(a.confidence)) for a in t)


# --- fuzzing -------------------------------------------------------------------------------------
_SEEDS = [p.read_bytes() for p in REAL]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    read_or_format_error(read_rttm, data, ".rttm", RttmError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    tokens = [b" ", b"<NA>", b"-1", b"1e999", b"nan", b"\n;;", b"SPEAKER "]
    mutated = mutate(data, _SEEDS, tokens, flips=b" \n-.0e9x<>\xff\xc3\t")
    read_or_format_error(read_rttm, mutated, ".rttm", RttmError)
