"""Audacity label tracks: real exported files, spectral lines, sniffing, round trips, fuzzing."""

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
from studio.core.session import Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io.audacity import _sniff, read_audacity, write_audacity
from studio.io.errors import AudacityError

DATA = Path(__file__).resolve().parents[1] / "data" / "tabular"
REAL = [DATA / "audiomate_labels_en.txt", DATA / "audiomate_labels_de.txt"]
_TMP = Path(tempfile.mkdtemp(prefix="studio-aud-"))
atexit.register(shutil.rmtree, _TMP, True)


def _independent(path: Path) -> list[tuple[float, float, str]]:
    """audiomate's reading of the same file: split on tabs, decimal comma allowed."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        a, b, label = line.split("\t")
        out.append((float(a.replace(",", ".")), float(b.replace(",", ".")), label))
    return out


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_files(path: Path) -> None:
    s = read_audacity(path)
    assert s.tier_names() == [path.stem]
    t = s.tiers[0]
    assert isinstance(t, IntervalTier) and t.allow_overlap  # the two labels overlap
    assert [(a.start, a.end, a.label) for a in t] == _independent(path)
    assert [(a.start, a.end, a.label) for a in t][0] == (43352.824046, 43525.837661, "music")


@pytest.mark.parametrize("path", REAL[:1], ids=lambda p: p.name)
def test_real_file_round_trips_byte_for_byte(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.txt"
    assert write_audacity(read_audacity(path), out) == []
    assert out.read_bytes() == path.read_bytes()


def test_points_spectral_lines_and_one_sided_labels(tmp_path: Path) -> None:
    # Written as Audacity's LabelStruct::Export writes them (see the module docstring).
    p = tmp_path / "track.txt"
    p.write_text(
        "1.000000\t2.500000\tregion one\n"
        "\\\t100.000000\t2000.000000\n"
        "3.000000\t3.000000\tpoint\n"
        "4.5\tone sided\n"
        "6.0\t5.0\tbackwards\n"
        "\n"
        "7.0\t8.0\t\n"
    )
    s = read_audacity(p)
    assert s.tier_names() == ["track", "track (points)"]
    regions, points = s.tiers
    assert [(a.start, a.end, a.label) for a in regions] == [
        (1.0, 2.5, "region one"),
        (5.0, 6.0, "backwards"),
        (7.0, 8.0, ""),
    ]
    assert regions[0].attrs == {"low_freq": 100.0, "high_freq": 2000.0}
    assert isinstance(points, PointTier) and [(a.time, a.label) for a in points] == [
        (3.0, "point"),
        (4.5, "one sided"),
    ]
    out = tmp_path / "o.txt"
    assert write_audacity(s, out) == []
    back = read_audacity(out, tier_name="track")
    assert [(a.start, a.end, a.label, a.attrs) for a in back.tiers[0]] == [
        (a.start, a.end, a.label, a.attrs) for a in regions
    ]
    assert "\\\t100.000000\t2000.000000\n" in out.read_text()


def test_only_points_make_one_point_tier(tmp_path: Path) -> None:
    p = tmp_path / "beats.txt"
    p.write_text("1.000000\t1.000000\tb\n2.000000\t2.000000\tb\n")
    s = read_audacity(p)
    assert s.tier_names() == ["beats"] and isinstance(s.tiers[0], PointTier)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1.0\t2.0\ta\nabc\t2.0\tb\n", 2, "start 'abc'"),
        ("\\\t1\t2\n", 1, "no label above"),
        ("1.0\t2.0\ta\n\\\t1\n", 2, "low and a high"),
        ("1.0\t2.0\ta\n\\\tx\ty\n", 2, "not numbers"),
        ("1.0\t2.0\ta\nnan\t2.0\tb\n", 2, "start 'nan'"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(AudacityError) as info:
        read_audacity(p)
    assert info.value.line == line and words in info.value.problem


def test_writer_merges_tiers_with_warnings(tmp_path: Path) -> None:
    s = Session(
        [
            IntervalTier("a", [Interval(0.0, 1.0, "x\ty", confidence=0.5, attrs={"k": 1})]),
            IntervalTier("b", [Interval(0.5, 0.75, "line\nbreak")]),
            PointTier("c", [Point(1e-7, "p")]),
            CurveTier("f0", [1.0], rate=1.0),
        ]
    )
    p = tmp_path / "m.txt"
    w = " | ".join(write_audacity(s, p))
    for words in (
        "3 tiers merged",
        "curve tier 'f0'",
        "2 labels had tabs",
        "1 confidences",
        "['k']",
        "rounded",
    ):
        assert words in w
    assert p.read_text().splitlines() == [
        "0.000000\t1.000000\tx y",  # sorted by the real times: 0.0, then the point at 1e-7
        "0.000000\t0.000000\tp",
        "0.500000\t0.750000\tline break",
    ]


def test_sniff_and_registry(tmp_path: Path) -> None:
    assert _sniff(REAL[0].read_bytes()) and _sniff(REAL[1].read_bytes())
    assert _sniff(b"1.0\t2.0\tx\n\\\t1.0\t2.0\n")
    assert not _sniff(b"hello world\n") and not _sniff(b"") and not _sniff(b"1.0 2.0 x\n")
    s = io.read(REAL[0])
    assert s.metadata["source_format"] == "audacity"
    io.write(s, tmp_path / "o.txt", fmt="labels")
    assert io.read(tmp_path / "o.txt").tiers[0][1].label == "speech_male"


# --- property-based round trip ---------------------------------------------------------------
_label = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r\x00"), max_size=10)
_us = st.integers(-(10**9), 10**10)


@st.composite
def _sessions(draw: st.DrawFn) -> Session:
    spans = draw(st.lists(st.tuples(_us, st.integers(1, 10**8), _label), max_size=6))
    ivs = [Interval(s / 1e6, (s + d) / 1e6, lab) for s, d, lab in spans]
    pts = [Point(t / 1e6, lab) for t, lab in draw(st.lists(st.tuples(_us, _label), max_size=4))]
    tiers: list = [IntervalTier("track", ivs, allow_overlap=True)] if ivs or not pts else []
    if pts:
        tiers.append(PointTier("track (points)" if ivs else "track", pts))
    return Session(tiers)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions())
def test_round_trip_property(session: Session) -> None:
    p = _TMP / "track.txt"
    assert write_audacity(session, p) == []
    back = read_audacity(p)
    assert back.tier_names() == session.tier_names()
    for t, u in zip(session.tiers, back.tiers):
        assert sorted((a.start, a.end, a.label) for a in u) == sorted((a.start, a.end, a.label) for a in t)


# --- fuzzing -------------------------------------------------------------------------------------
_SEEDS = [p.read_bytes() for p in REAL] + [
    b"1.000000\t2.500000\tregion\n\\\t100.000000\t2000.000000\n3.0\t3.0\tpt\n"
]


def _read_any(data: bytes) -> None:
    if read_or_format_error(read_audacity, data, ".txt", AudacityError) is not None:
        _sniff(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _read_any(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    tokens = [b"\t", b"\\\t", b"1e999", b"nan", b"\n", b"-"]
    _read_any(mutate(data, _SEEDS, tokens, flips=b"\t\n\\-.,0e9x\xff "))
