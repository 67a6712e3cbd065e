"""CTM: sclite test files, an independent parse, alternations, round trips, errors, fuzzing."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import MediaRef, Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.ctm import read_ctm, write_ctm
from studio.io.errors import CtmError

DATA = Path(__file__).resolve().parents[1] / "data" / "tabular"
GOOD = [DATA / n for n in ("sctk_overlap2.ctm", "sctk_lvc_hyp_excerpt.ctm", "sctk_tima_hyp_excerpt.ctm")]
_TMP = Path(tempfile.mkdtemp(prefix="studio-ctm-"))
atexit.register(shutil.rmtree, _TMP, True)


def _independent(path: Path) -> dict[tuple[str, str], list[tuple[float, float, str]]]:
    """Words per (file, channel) by a plain split, as sclite reads them (positive durations only)."""
    out: dict[tuple[str, str], list] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if not f or line.startswith(";;") or f[2] == "*" or float(f[3]) <= 0:
            continue
        out.setdefault((f[0], f[1]), []).append((float(f[2]), float(f[2]) + float(f[3]), f[4]))
    return out


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_real_files_match_an_independent_parse(path: Path) -> None:
    s = read_ctm(path)
    expected = _independent(path)
    got = {(t.attrs["ctm"]["file"], t.attrs["ctm"]["channel"]): t for t in s.tiers}
    assert got.keys() == expected.keys()
    for k, words in expected.items():
        ours = [(a.start, a.end, a.label) for a in got[k]]
        assert [w for _, _, w in ours] == [w for _, _, w in sorted(words, key=lambda x: (x[0], x[1]))]
        for (s0, e0, _), (s1, e1, _) in zip(ours, sorted(words, key=lambda x: (x[0], x[1]))):
            assert abs(s0 - s1) < 1e-9 and abs(e0 - e1) < 1e-9


def test_names_channels_and_skipped_words() -> None:
    s = read_ctm(DATA / "sctk_tima_hyp_excerpt.ctm")
    assert s.tier_names() == ["5555/A", "5555/B"]
    assert s.tier("5555/A").allow_overlap  # THEY starts before IN ends in the real file
    assert [(d["line"], d["word"], d["duration"]) for d in s.metadata["ctm"]["skipped"]] == [
        (6, "AND", -0.01),
        (13, "AND", -0.02),
    ]
    one = read_ctm(DATA / "sctk_overlap2.ctm")
    assert one.tier_names() == ["ICSI_20000807-1000_D_NONE"]
    assert one.tiers[0][0].end == 1348.67  # 1348.52 + 0.15 without float noise


def test_alternations_survive_a_round_trip(tmp_path: Path) -> None:
    src = DATA / "sctk_lvc_hyp_excerpt.ctm"
    s = read_ctm(src)
    b = s.tier("2347/B")
    assert [(a.label, a.attrs.get("ctm_alt")) for a in b if "ctm_alt" in a.attrs] == [
        ("IT", "1:0"),
        ("AT", "1:1"),
    ]
    out = tmp_path / "o.ctm"
    assert write_ctm(s, out, precision=2) == []
    norm = lambda p: [ln.split() for ln in p.read_text().splitlines()]  # noqa: E731
    assert norm(out) == norm(src)


def test_validator_file_errors_on_its_first_bad_line() -> None:
    with pytest.raises(CtmError) as info:
        read_ctm(DATA / "sctk_ctmvalidator_test00.ctm")
    # line 4 has no word, so "lex" lands in the confidence column
    assert info.value.line == 4 and "confidence 'lex'" in info.value.problem


def test_confidences_and_extra_fields(tmp_path: Path) -> None:
    p = tmp_path / "c.ctm"
    p.write_text("f 1 0.5 0.25 hi 0.9 lex spk\nf 1 1.0 0.5 there -1.000000\n")
    s = read_ctm(p)
    a, b = s.tiers[0]
    assert (a.confidence, a.attrs) == (0.9, {"ctm_extra": "lex spk"})
    assert (b.confidence, b.attrs) == (None, {"ctm_conf": "-1.000000"})
    out = tmp_path / "o.ctm"
    write_ctm(s, out)
    assert out.read_text().splitlines() == [
        "f 1 0.500 0.250 hi 0.9 lex spk",
        "f 1 1.000 0.500 there -1.000000",
    ]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("f 1 begtime 0.15 I", "start 'begtime' is not a number"),
        ("f 1 1.0 durtime I", "duration 'durtime'"),
        ("f 1 1.0 0.5 I oNe", "confidence 'oNe'"),
        ("f 1 1.0 0.5", "4 fields"),
        ("f 1 * * <ALT>", "outside an alternation"),
        ("f 1 inf 0.5 I", "not a finite number"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, line: str, words: str) -> None:
    p = tmp_path / "bad.ctm"
    p.write_text(";; ok\nf 1 0.0 0.5 ok\n" + line + "\n")
    with pytest.raises(CtmError) as info:
        read_ctm(p)
    assert info.value.line == 3 and words in info.value.problem


def test_unclosed_alternation(tmp_path: Path) -> None:
    p = tmp_path / "u.ctm"
    p.write_text("f 1 * * <ALT_BEGIN>\nf 1 0 1 a\n")
    with pytest.raises(CtmError, match="ends inside an alternation"):
        read_ctm(p)


def test_writer_streams_and_warnings(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier(
                "words", [Interval(0, 0.5, "two words"), Interval(0.5, 1.0, ""), Interval(1.0, 1.5, "x")]
            ),
            IntervalTier("phones", [Interval(0, 0.1, "h")]),
            PointTier("p", [Point(1.0)]),
            CurveTier("c", [1.0], rate=1.0),
        ],
        [MediaRef("/x/interview.wav")],
    )
    p = tmp_path / "o.ctm"
    w = " | ".join(write_ctm(s, p))
    assert "empty labels" in w and "white space" in w and "point tier 'p'" in w and "curve tier 'c'" in w
    assert "channel 'phones'" in w
    lines = p.read_text().splitlines()
    assert lines[0] == "interview 1 0.000 0.500 two_words"
    back = read_ctm(p)
    assert back.tier_names() == ["interview/1", "interview/phones"]


def test_registry(tmp_path: Path) -> None:
    s = io.read(DATA / "sctk_overlap2.ctm")
    io.write(s, tmp_path / "o.ctm")
    assert [a.label for a in io.read(tmp_path / "o.ctm").tiers[0]] == [a.label for a in s.tiers[0]]


# --- property-based round trip ---------------------------------------------------------------
_word = st.from_regex(r"[A-Za-z'\-%é]{1,8}", fullmatch=True)


@st.composite
def _sessions(draw: st.DrawFn) -> Session:
    files = draw(
        st.lists(st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True), min_size=1, max_size=3, unique=True)
    )
    tiers = []
    for f in files:
        spans = draw(
            st.lists(
                st.tuples(st.integers(0, 10**6), st.integers(1, 10**4), _word, st.none() | st.floats(0, 1)),
                min_size=1,
                max_size=6,
            )
        )
        ivs = [Interval(s / 1000, (s + d) / 1000, w, c) for s, d, w, c in spans]
        tiers.append(IntervalTier(f, ivs, allow_overlap=True, attrs={"ctm": {"file": f, "channel": "1"}}))
    return Session(tiers)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions())
def test_round_trip_property(session: Session) -> None:
    p = _TMP / "rt.ctm"
    assert write_ctm(session, p) == []
    back = read_ctm(p)
    assert back.tier_names() == session.tier_names()
    for t, u in zip(session.tiers, back.tiers):
        key = lambda a: (a.start, a.end, a.label, repr(a.confidence))  # noqa: E731
        assert sorted(map(key, u)) == sorted(map(key, t))


# --- fuzzing -------------------------------------------------------------------------------------
_SEEDS = [p.read_bytes() for p in [*GOOD, DATA / "sctk_ctmvalidator_test00.ctm"]]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    read_or_format_error(read_ctm, data, ".ctm", CtmError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    tokens = [b" ", b"* * <ALT_BEGIN>\n", b"<ALT_END>", b"1e999", b"nan", b"\n;;"]
    mutated = mutate(data, _SEEDS, tokens, flips=b" \n-.0e9*<>\xff\xc3\t")
    read_or_format_error(read_ctm, mutated, ".ctm", CtmError)
