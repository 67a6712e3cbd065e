"""SubRip reader/writer: real files (srt library, webvtt-py, ffmpeg), quirks, errors, round trips,
the `srt` library as peer, ffmpeg reading what we write, and fuzzing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import srt as srtlib
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval, Point
from studio.core.session import Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier
from studio.io import SrtError, srt, vtt
from studio.io.text import read_text

DATA = Path(__file__).resolve().parents[1] / "data" / "subtitles"
SRT_FILES = sorted(DATA.glob("*.srt"))


def cues(session: Session) -> list[tuple[float, float, str, dict]]:
    return [(a.start, a.end, a.label, a.attrs) for a in session.tiers[0]]


# --- real files --------------------------------------------------------------------------------


def test_have_real_files() -> None:
    assert len(SRT_FILES) >= 8


@pytest.mark.parametrize("path", SRT_FILES, ids=lambda p: p.name)
def test_real_file_matches_srt_library(path: Path) -> None:
    ours = srt.read(path)
    text, _ = read_text(path, SrtError, fallback="cp1252")
    theirs = sorted(
        (s.start.total_seconds(), s.end.total_seconds(), s.content, s.proprietary) for s in srtlib.parse(text)
    )
    mine = sorted((a.start, a.end, a.label, a.attrs.get("srt_position", "")) for a in ours.tiers[0])
    assert mine == theirs
    assert len(mine) > 0


@pytest.mark.parametrize("path", SRT_FILES, ids=lambda p: p.name)
def test_real_file_round_trip(path: Path, tmp_path: Path) -> None:
    s = srt.read(path)
    out = tmp_path / "out.srt"
    srt.write(s, out)
    assert cues(srt.read(out)) == cues(s)


def test_one_tier_named_after_file_overlaps_allowed() -> None:
    s = io.read(DATA / "ffmpeg_from_ass.srt")
    assert s.tier_names() == ["ffmpeg_from_ass"]
    t = s.tiers[0]
    assert isinstance(t, IntervalTier) and t.allow_overlap
    # Cues 1 and 2 overlap (0.5-2.25 and 1.75-4.0) in the ASS source ffmpeg converted.
    assert t[0].end > t[1].start
    assert t[1].label == "<i>Très</i> bien,\nmerci — et toi ?"
    assert s.metadata["source_format"] == "srt"


def test_crlf_and_cp1252_files_read_like_the_utf8_ones() -> None:
    assert cues(srt.read(DATA / "srtlib_monsters-win.srt")) == cues(srt.read(DATA / "srtlib_monsters.srt"))
    legacy = srt.read(DATA / "ffmpeg_from_ass_cp1252.srt")
    assert [c[:3] for c in cues(legacy)] == [c[:3] for c in cues(srt.read(DATA / "ffmpeg_from_ass.srt"))]
    assert legacy.metadata["srt"]["encoding"] == "cp1252"


def test_blank_lines_inside_a_cue_and_text_after_time_line() -> None:
    s = srt.read(DATA / "srtlib_monsters-bad-newline.srt")
    first = s.tiers[0][0]
    assert first.label == "我有个点子\n\nOK, look, I think I have a plan here."
    assert first.attrs == {"srt_position": "hack the gibson"}


def test_bad_order_is_sorted() -> None:
    t = srt.read(DATA / "srtlib_monsters-bad-order.srt").tiers[0]
    assert [a.start for a in t] == sorted(a.start for a in t)
    assert t[0].label == "我有个点子"


# --- quirks ------------------------------------------------------------------------------------


def test_quirks_bom_missing_blank_lines_indices_separators_positions() -> None:
    data = (
        "\ufeff7\r\n00:00:01,000 --> 00:00:02.500  X1:100 X2:600 Y1:10 Y2:50 \r\n<b>Hi</b> {\\an8}there\r\n"
        "3\r\n0:0:3:250 --> 0:0:4,5\r\nno blank line before me\r\n"
        "00:00:05,000 --> 00:00:06,000\r\nno index\r\n\r\n\r\n"
    ).encode("utf-8")
    got = cues(srt.loads(data, "x.srt"))
    assert got == [
        (1.0, 2.5, "<b>Hi</b> {\\an8}there", {"srt_position": "X1:100 X2:600 Y1:10 Y2:50"}),
        (3.25, 4.005, "no blank line before me", {}),
        (5.0, 6.0, "no index", {}),
    ]


def test_utf16_file(tmp_path: Path) -> None:
    p = tmp_path / "u16.srt"
    p.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nÜber\n".encode("utf-16"))
    assert cues(srt.read(p)) == [(1.0, 2.0, "Über", {})]


def test_empty_file_and_empty_cue() -> None:
    assert len(srt.loads(b"").tiers[0]) == 0
    got = cues(srt.loads(b"1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nb\n"))
    assert got == [(1.0, 2.0, "", {}), (3.0, 4.0, "b", {})]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nx\n", 6, "bad time line"),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> 00:00:04,0000\nx\n", 6, "bad time line"),
        ("hello\n", 1, "expected a cue number"),
        ("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", 2, "not after it starts"),
        ("1\n00:00:01,000 --> 00:00:01,000\nzero\n", 2, "not after it starts"),
        ("1\n00:61:01,000 --> 00:62:01,000\nx\n", 2, "below 60"),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\nI say --> this\n", 4, "bad time line"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(SrtError) as err:
        srt.loads(text.encode(), "bad.srt")
    assert err.value.line == line
    assert words in err.value.problem
    assert str(err.value).startswith(f"bad.srt:{line}: ")


def test_not_strict_skips_bad_cues_and_says_so() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nok\n\n"
        "2\n00:00:05,000 --> 00:00:02,000\nbad\n\n"
        "3\n00:00:06,000 --> 00:00:07,000\nok2\n"
    )
    s = srt.loads(text.encode(), "x.srt", strict=False)
    assert [a.label for a in s.tiers[0]] == ["ok", "ok2"]
    (skip,) = s.metadata["srt"]["skipped"]
    assert skip["line"] == 6 and "bad" in skip["text"]


def test_undecodable_and_binary_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SrtError, match="NUL"):
        srt.loads(b"1\n00:00:01,000 --> 00:00:02,000\n\x00\x01\x02\n", "b.srt")
    with pytest.raises(SrtError, match="folder"):
        srt.read(tmp_path)


# --- writing -----------------------------------------------------------------------------------


def _two_tier_session() -> Session:
    a = IntervalTier("Ana", [Interval(0.0, 1.0, "hola"), Interval(2.0, 3.0, "qué tal", confidence=0.5)])
    b = IntervalTier("Ben", [Interval(0.5, 1.5, "hi", source="whisper", attrs={"speaker": "B"})])
    p = PointTier("beats", [Point(0.2, "x")])
    c = CurveTier("pitch", np.array([1.0, 2.0]), rate=100.0)
    return Session([a, b, p, c])


def test_writer_first_tier_and_warnings(tmp_path: Path) -> None:
    out = tmp_path / "o.srt"
    warnings = io.write(_two_tier_session(), out)
    text = out.read_text("utf-8")
    assert text.startswith(
        "1\n00:00:00,000 --> 00:00:01,000\nhola\n\n2\n00:00:02,000 --> 00:00:03,000\nqué tal\n"
    )
    joined = "\n".join(warnings)
    assert "'Ben'" in joined and "merge_tiers" in joined
    assert "point tiers" in joined and "'beats'" in joined and "curve tiers" in joined
    assert "confidences" in joined
    assert sum("confidences" in w for w in warnings) == 1


def test_writer_tier_option_and_merge(tmp_path: Path) -> None:
    s = _two_tier_session()
    out = tmp_path / "o.srt"
    warnings = srt.write(s, out, tier="Ben")
    assert [a.label for a in srt.read(out).tiers[0]] == ["hi"]
    assert any("sources" in w for w in warnings) and any("speaker" in w for w in warnings)
    srt.write(s, out, merge_tiers=True)
    assert [a.label for a in srt.read(out).tiers[0]] == ["Ana: hola", "Ben: hi", "Ana: qué tal"]
    with pytest.raises(KeyError):
        srt.write(s, out, tier="nope")


def test_writer_rounding_negative_times_and_crlf(tmp_path: Path) -> None:
    t = IntervalTier(
        "t",
        [Interval(-2.0, -1.0, "gone"), Interval(-0.5, 0.5, "clipped"), Interval(1.0001, 1.0003, "tiny")],
        allow_overlap=True,
    )
    out = tmp_path / "o.srt"
    warnings = srt.write(Session([t]), out, newline="\r\n")
    assert b"\r\n" in out.read_bytes()
    assert cues(srt.read(out)) == [(0.0, 0.5, "clipped", {}), (1.0, 1.001, "tiny", {})]
    joined = "\n".join(warnings)
    assert "'gone'" in joined and "1 cues clipped" in joined and "lengthened" in joined


def test_registry() -> None:
    assert io.get_format("subrip").name == "srt"
    assert io.format_for_path("a.SRT").name == "srt"


# --- property-based round trip ------------------------------------------------------------------

_line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() != "" and "-->" not in s)
_label = st.lists(_line, min_size=0, max_size=3).map("\n".join)
_cue = st.tuples(st.integers(0, 10**8), st.integers(1, 10**6), _label)


@settings(max_examples=150, deadline=None)
@given(st.lists(_cue, max_size=12))
def test_round_trip_generated(items: list[tuple[int, int, str]]) -> None:
    t = IntervalTier(
        "t", [Interval(s / 1000, (s + d) / 1000, lab) for s, d, lab in items], allow_overlap=True
    )
    text, warnings = srt.dumps(Session([t]))
    assert warnings == []
    back = srt.loads(text.encode())
    assert sorted((a.start, a.end, a.label) for a in back.tiers[0]) == sorted(
        (a.start, a.end, a.label) for a in t
    )


# --- peers: ffmpeg reads what we write -----------------------------------------------------------


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg")
def test_ffmpeg_reads_our_srt(tmp_path: Path) -> None:
    t = IntervalTier(
        "t",
        [
            Interval(0.5, 2.0, "Bonjour"),
            Interval(1.5, 3.25, "deux\nlignes <i>ici</i>"),
            Interval(3661.001, 3662.0, "h"),
        ],
        allow_overlap=True,
    )
    ours = tmp_path / "ours.srt"
    srt.write(Session([t]), ours)
    conv = tmp_path / "conv.vtt"
    r = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(ours), str(conv)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stderr == ""
    assert [(a.start, a.end, a.label) for a in vtt.read(conv).tiers[0]] == [
        (a.start, a.end, a.label) for a in t
    ]


# --- fuzzing -----------------------------------------------------------------------------------

_REAL = [p.read_bytes() for p in SRT_FILES]


def _check(data: bytes) -> None:
    s = read_or_format_error(srt.read, data, ".srt", SrtError)
    if s is None:
        return
    # Whatever we read, we write and read back the same (and writing again changes nothing).
    text, _ = srt.dumps(s)
    back = srt.loads(text.encode())
    assert cues(back) == cues(s)
    assert srt.dumps(back)[0] == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_real_files(data: st.DataObject) -> None:
    _check(mutate(data, _REAL, max_ops=6, ops=("flip", "cut", "dropline", "dupline")))


def test_position_with_odd_whitespace_round_trips(tmp_path: Path) -> None:
    """Found by the fuzzer: a vertical tab inside the coordinates must not change on a second trip."""
    p = tmp_path / "a.srt"
    p.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000 X1:1\x0b  X2:2\nhi\n")
    s = srt.read(p)
    assert s.tiers[0][0].attrs["srt_position"] == "X1:1 X2:2"
    srt.write(s, tmp_path / "b.srt")
    assert srt.read(tmp_path / "b.srt").tiers[0][0].attrs == s.tiers[0][0].attrs
