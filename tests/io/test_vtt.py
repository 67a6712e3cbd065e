"""WebVTT reader/writer: real files (w3c web-platform-tests, webvtt-py, ffmpeg), what a round trip
keeps (identifiers, settings, NOTE/STYLE/REGION blocks and their places, header), errors, webvtt-py
as peer, ffmpeg reading what we write, and fuzzing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import webvtt
from fuzzing import mutate, read_or_format_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import io
from studio.core.annotations import Interval
from studio.core.session import Session
from studio.core.tiers import IntervalTier
from studio.io import VttError, srt, vtt

DATA = Path(__file__).resolve().parents[1] / "data" / "subtitles"
VTT_FILES = sorted(DATA.glob("*.vtt"))
# Files built to test error handling: they hold cues browsers drop, which we refuse by default.
BROKEN = {"wpt_arrows.vtt", "wpt_timings-too-short.vtt"}
GOOD = [p for p in VTT_FILES if p.name not in BROKEN]


def cues(session: Session) -> list[tuple[float, float, str, dict]]:
    return [(a.start, a.end, a.label, a.attrs) for a in session.tiers[0]]


def peer(path: Path) -> list[tuple[float, float, str, str | None, str]]:
    w = webvtt.read(str(path))
    return [
        (
            c.start_time.in_milliseconds() / 1000,
            c.end_time.in_milliseconds() / 1000,
            c.raw_text,
            c.identifier,
            str(c.settings) if c.settings else "",
        )
        for c in w.captions
    ]


def test_have_real_files() -> None:
    assert len(GOOD) >= 12


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_real_file_matches_webvtt_py(path: Path) -> None:
    mine = [
        (a.start, a.end, a.label, a.attrs.get("vtt_id"), a.attrs.get("vtt_settings", ""))
        for a in vtt.read(path).tiers[0]
    ]
    assert sorted(mine, key=str) == sorted(peer(path), key=str)
    assert mine


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_real_file_round_trip_keeps_everything(path: Path, tmp_path: Path) -> None:
    s = vtt.read(path)
    out = tmp_path / "out.vtt"
    assert vtt.write(s, out) == []
    back = vtt.read(out)
    assert cues(back) == cues(s)
    m0, m1 = s.metadata["vtt"], back.metadata["vtt"]
    assert (m1["header"], m1["header_lines"]) == (m0["header"], m0["header_lines"])
    assert [(b["kind"], b["text"], b["at"]) for b in m1["blocks"]] == [
        (b["kind"], b["text"], b["at"]) for b in m0["blocks"]
    ]
    # Writing what we read back changes nothing.
    assert vtt.dumps(back)[0] == out.read_text("utf-8")


def test_settings_ids_and_parse_settings() -> None:
    t = vtt.read(DATA / "wpt_settings-multiple.vtt").tiers[0]
    assert [a.attrs["vtt_id"] for a in t] == ["id1", "id2"]
    assert t[0].attrs["vtt_settings"] == "align:start line:1% vertical:lr size:50% position:25%"
    assert vtt.parse_settings(t[1].attrs["vtt_settings"]) == {
        "align": "center",
        "line": "1",
        "vertical": "rl",
        "size": "0%",
        "position": "100%",
    }
    ids = [a.attrs.get("vtt_id") for a in vtt.read(DATA / "wpt_ids.vtt").tiers[0]]
    assert ids == [" leading space", "trailing space ", "-- >", "->", " "]


def test_header_notes_styles_regions_and_their_places() -> None:
    s = vtt.read(DATA / "webvttpy_comments.vtt")
    m = s.metadata["vtt"]
    assert m["header"] == "- Translation of that film I like"
    kinds = [(b["kind"], b["text"].split("\n")[0]) for b in m["blocks"]]
    assert kinds == [("note", "NOTE"), ("note", "NOTE This last line may not translate well.")]
    t = s.tiers[0]
    assert m["blocks"][0]["before"] == t[0].id and m["blocks"][1]["before"] == t[2].id
    text = vtt.dumps(s)[0]
    assert text.index("NOTE This last") > text.index("Det smakar") and text.index(
        "NOTE This last"
    ) < text.index("00:02:25.000 --> 00:02:30")
    assert "- Det smakar som te.  \n" in text  # trailing spaces of cue text kept

    yt = vtt.read(DATA / "webvttpy_youtube_dl.vtt").metadata["vtt"]
    assert yt["header_lines"][:2] == ["Kind: captions", "Language: en"]
    regions = vtt.read(DATA / "wpt_regions-scroll.vtt").metadata["vtt"]["blocks"]
    assert [b["kind"] for b in regions] == ["region"] * 6
    assert regions[3]["text"] == "REGION\nid:4\nscroll:down\nscroll:left\nscroll:right"
    style = vtt.read(DATA / "wpt_embedded_style_media_queries.vtt").metadata["vtt"]["blocks"]
    assert [b["kind"] for b in style] == ["note", "style"]


def test_blocks_follow_their_cue_when_cues_are_edited() -> None:
    s = vtt.loads(
        "WEBVTT\n\n00:01.000 --> 00:02.000\na\n\nNOTE about b\n\n00:03.000 --> 00:04.000\nb\n\n"
        "00:05.000 --> 00:06.000\nc\n\nNOTE end\n"
    )
    t = s.tiers[0]
    t.replace(t[1], t[1].replace(start=0.0, end=0.5))  # b now comes first: its note goes with it
    text = vtt.dumps(s)[0]
    assert text.index("NOTE about b") < text.index("00:00:00.000 --> 00:00:00.500") < text.index("\na\n")
    assert text.rstrip().endswith("NOTE end")
    t.remove(t[0])  # b gone: its note stays at b's old time, before c
    text = vtt.dumps(s)[0]
    assert text.index("\na\n") < text.index("NOTE about b") < text.index("00:00:05.000")
    assert text.rstrip().endswith("NOTE end")


def test_bom_nul_utf16_teams_and_missing_blank_lines(tmp_path: Path) -> None:
    assert len(vtt.read(DATA / "webvttpy_captions_with_bom.vtt").tiers[0]) == 4
    assert cues(vtt.loads(b"WEBVTT\n\n00:01.000 --> 00:02.000\na\x00b\n")) == [(1.0, 2.0, "a\ufffdb", {})]
    p = tmp_path / "u16.vtt"
    p.write_bytes("WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nÜber\r\n".encode("utf-16"))
    assert cues(vtt.read(p)) == [(1.0, 2.0, "Über", {})]
    teams = vtt.read(DATA / "webvttpy_teams_timeframe.vtt").tiers[0]
    assert [(a.start, a.end) for a in teams] == [(0.0, 0.57), (0.21, 1.13)]
    # Cues run together without blank lines (as in youtube-dl output) still split at each time line.
    yt = vtt.read(DATA / "webvttpy_youtube_dl.vtt").tiers[0]
    assert yt[1].label == "yeah\n<c.colorCCCCCC>what</c>" and yt[2].start == 304.08


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("WEBVT\n\n00:01.000 --> 00:02.000\na\n", 1, "starts with the line 'WEBVTT'"),
        ("WEBVTTX\n", 1, "WEBVTT"),
        ("", 1, "WEBVTT"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\na\n\nid\n00:03.000 --> 00:0x.000\nb\n", 7, "bad cue time line"),
        ("WEBVTT\n\n00:05.000 --> 00:02.000\nbackwards\n", 3, "not after it starts"),
        ("WEBVTT\n\n00:61.000 --> 01:02.000\nx\n", 3, "below 60"),
        ("WEBVTT\n\n00:01.000 --> 00:02.0001\nx\n", 3, "bad cue time line"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(VttError) as err:
        vtt.loads(text.encode(), "bad.vtt")
    assert err.value.line == line and words in err.value.problem
    assert str(err.value).startswith(f"bad.vtt:{line}: ")


def test_wpt_broken_files_strict_and_not() -> None:
    with pytest.raises(VttError) as err:
        vtt.read(DATA / "wpt_arrows.vtt")
    assert err.value.line == 3
    # Not strict: the cues a browser shows (text1..text6, as webvtt-py reads), the rest listed.
    s = vtt.read(DATA / "wpt_arrows.vtt", strict=False)
    assert [a.label for a in s.tiers[0]] == [f"text{i}" for i in range(1, 7)]
    assert [c[2] for c in peer(DATA / "wpt_arrows.vtt")] == [a.label for a in s.tiers[0]]
    assert len(s.metadata["vtt"]["skipped"]) == 9
    with pytest.raises(VttError) as err:
        vtt.read(DATA / "wpt_timings-too-short.vtt")
    assert err.value.line == 6
    labels = [a.label for a in vtt.read(DATA / "wpt_timings-too-short.vtt", strict=False).tiers[0]]
    assert labels[0] == "text1" and labels[-1] == "text2"


# --- writing -----------------------------------------------------------------------------------


def test_writer_warnings_merge_and_text_it_cannot_hold(tmp_path: Path) -> None:
    a = IntervalTier("Ana", [Interval(0.0, 1.0, "uno\n\ndos -->", attrs={"vtt_id": "bad\nid"})])
    b = IntervalTier("Ben", [Interval(0.5, 1.5, "hi", confidence=0.9, attrs={"srt_position": "X1:1"})])
    s = Session([a, b])
    out = tmp_path / "o.vtt"
    warnings = io.write(s, out)
    joined = "\n".join(warnings)
    assert "'Ben'" in joined and "empty lines" in joined and "identifiers" in joined
    assert cues(vtt.read(out)) == [(0.0, 1.0, "uno\ndos --&gt;", {})]
    warnings = vtt.write(s, out, merge_tiers=True)
    assert [a.label for a in vtt.read(out).tiers[0]] == ["<v Ana>uno\ndos --&gt;", "<v Ben>hi"]
    assert any("confidences" in w for w in warnings) and any("srt_position" in w for w in warnings)
    vtt.write(s, out, tier="Ben")
    assert out.read_text("utf-8") == "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nhi\n"


def test_srt_to_vtt_and_back_keeps_cues(tmp_path: Path) -> None:
    s = srt.read(DATA / "webvttpy_styles2.srt")
    vtt.write(s, tmp_path / "x.vtt")
    srt.write(vtt.read(tmp_path / "x.vtt"), tmp_path / "y.srt")
    assert [c[:3] for c in cues(srt.read(tmp_path / "y.srt"))] == [c[:3] for c in cues(s)]


def test_registry() -> None:
    assert io.get_format("webvtt").name == "vtt"
    assert io.read(DATA / "wpt_ids.vtt").metadata["source_format"] == "vtt"


# --- property-based round trip ------------------------------------------------------------------

_line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=12,
).filter(lambda s: "-->" not in s)
_settings = st.lists(
    st.sampled_from(
        [
            "align:start",
            "align:end",
            "position:10%",
            "line:0",
            "line:-1",
            "size:50%",
            "vertical:rl",
            "region:x",
        ]
    ),
    max_size=3,
).map(" ".join)
_cue = st.tuples(
    st.integers(0, 10**8),
    st.integers(1, 10**6),
    st.lists(_line, max_size=3).map("\n".join),
    st.none() | _line,
    _settings,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_cue, max_size=10), _line.filter(lambda s: s.strip() == s), st.lists(_line, max_size=2))
def test_round_trip_generated(items: list, header: str, notes: list[str]) -> None:
    ivs = []
    for s, d, label, ident, sets in items:
        attrs = {k: v for k, v in (("vtt_id", ident), ("vtt_settings", sets)) if v}
        ivs.append(Interval(s / 1000, (s + d) / 1000, label, attrs=attrs))
    t = IntervalTier("t", ivs, allow_overlap=True)
    blocks = [{"kind": "note", "text": f"NOTE {n}", "before": None, "at": None} for n in notes]
    session = Session([t], metadata={"vtt": {"header": header, "header_lines": [], "blocks": blocks}})
    text, warnings = vtt.dumps(session)
    assert warnings == []
    back = vtt.loads(text.encode())
    assert sorted(cues(back), key=str) == sorted(cues(session), key=str)
    assert back.metadata["vtt"]["header"] == header
    assert [b["text"] for b in back.metadata["vtt"]["blocks"]] == [f"NOTE {n}" for n in notes]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg")
def test_ffmpeg_reads_our_vtt(tmp_path: Path) -> None:
    s = vtt.read(DATA / "webvttpy_comments.vtt")
    s.tiers[0].insert(
        Interval(3600.5, 3601.25, "une heure", attrs={"vtt_id": "h", "vtt_settings": "align:start"})
    )
    ours = tmp_path / "ours.vtt"
    vtt.write(s, ours)
    conv = tmp_path / "conv.srt"
    r = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(ours), str(conv)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stderr == ""
    assert [c[:3] for c in cues(srt.read(conv))] == [c[:3] for c in cues(s)]


# --- fuzzing -----------------------------------------------------------------------------------

_REAL = [p.read_bytes() for p in VTT_FILES]


def _check(data: bytes, strict: bool = True) -> None:
    s = read_or_format_error(lambda p: vtt.read(p, strict=strict), data, ".vtt", VttError)
    if s is None:
        return
    text, _ = vtt.dumps(s)
    back = vtt.loads(text.encode())
    assert sorted(cues(back), key=str) == sorted(cues(s), key=str)
    assert vtt.dumps(back)[0] == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_random_bytes(data: bytes, with_header: bool) -> None:
    _check(b"WEBVTT\n" + data if with_header else data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_fuzz_mutated_real_files(data: st.DataObject, strict: bool) -> None:
    _check(mutate(data, _REAL, max_ops=6, ops=("flip", "cut", "dropline", "dupline")), strict)
