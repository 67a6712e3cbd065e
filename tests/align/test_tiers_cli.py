"""`studio align-tiers`: the demo session's words (the reference) timed by an "ASR" TextGrid that has
one word wrong, one missing and every time 30 ms late; argv parsed by the subcommand's own parser,
outputs read back with studio.io, errors checked for naming their file."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from studio import io
from studio.align.tiers import align_tiers
from studio.align.tiers_cli import REPORT_COLUMNS, add_parser, run_cli
from studio.core.annotations import Interval, Point
from studio.core.session import Session
from studio.core.tiers import IntervalTier, PointTier

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources/demo/demo.studio"
SHIFT = 0.03


def call(*argv):
    parser = argparse.ArgumentParser(prog="studio")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["align-tiers", *map(str, argv)])
    assert args.func is run_cli
    return run_cli(args)


@pytest.fixture
def demo_words():
    return list(io.read(DEMO).tier("words"))


@pytest.fixture
def asr(tmp_path, demo_words):
    """asr.TextGrid: the demo's words 30 ms late, "white" heard as "wide", "with" not heard."""
    items = []
    for iv in demo_words:
        if iv.label == "with":
            continue
        label = "wide" if iv.label == "white" else iv.label
        items.append(Interval(round(iv.start + SHIFT, 6), round(iv.end + SHIFT, 6), label))
    path = tmp_path / "asr.TextGrid"
    io.write(Session([IntervalTier("asr", items)]), path)
    return path


def asr_words(path):
    return {iv.label: iv for iv in io.read(path).tier("asr") if iv.label}


def test_reference_labels_on_asr_times(tmp_path, asr, demo_words, capsys):
    out = tmp_path / "timed.json"
    assert call(f"{DEMO}:words", asr, "-o", out, "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["matched"], summary["substituted"], summary["inserted"], summary["deleted"]) == (
        4,
        1,
        0,
        1,
    )
    assert summary["boundary_median"] == pytest.approx(SHIFT)
    assert captured.err.strip() == (
        f"words timed by asr: 4 matched, 1 substituted, 0 inserted, 1 deleted; "
        f"boundaries differ by 30 ms median -> {out}"
    )
    session = io.read(out)
    assert session.tier_names() == ["words timed by asr"]
    timed = list(session.tier("words timed by asr"))
    assert [iv.label for iv in timed] == [iv.label for iv in demo_words]
    b = asr_words(asr)
    got = {iv.label: iv for iv in timed}
    for word in ("set", "p", "two", "soon"):
        assert (got[word].start, got[word].end) == pytest.approx((b[word].start, b[word].end))
        assert got[word].confidence == 1.0
    # the misheard word takes its partner's times, with a confidence below a match's
    assert (got["white"].start, got["white"].end) == pytest.approx((b["wide"].start, b["wide"].end))
    assert 0.4 <= got["white"].confidence < 1.0 and got["white"].attrs["b_label"] == "wide"
    # the word ASR missed fills the gap between its neighbours' B times
    assert (got["with"].start, got["with"].end) == pytest.approx((b["wide"].end, b["p"].start))
    assert got["with"].attrs["op"] == "interpolated" and got["with"].confidence < 0.5


def test_report_has_one_row_per_pair(tmp_path, asr, demo_words):
    out, report = tmp_path / "timed.TextGrid", tmp_path / "pairs.csv"
    assert call(f"{DEMO}:words", f"{asr}:asr", "-o", out, "--report", report) == 0
    with report.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(REPORT_COLUMNS)
    assert [r["op"] for r in rows] == ["match", "substitution", "deletion", "match", "match", "match"]
    b = asr_words(asr)
    for r, a in zip(rows, demo_words):
        assert (r["a_index"], r["a_label"]) == (str(demo_words.index(a)), a.label)
        assert (float(r["a_start"]), float(r["a_end"])) == pytest.approx((a.start, a.end))
        if r["op"] == "deletion":
            assert [r[k] for k in ("b_index", "b_label", "b_start", "b_end")] == [""] * 4
            assert float(r["score"]) == 0.0
            continue
        partner = b[r["b_label"]]
        assert (float(r["b_start"]), float(r["b_end"])) == pytest.approx((partner.start, partner.end))
        assert float(r["b_start"]) - float(r["a_start"]) == pytest.approx(SHIFT)
        assert (float(r["score"]) == 1.0) == (r["op"] == "match")
    assert rows[1]["a_label"] == "white" and rows[1]["b_label"] == "wide" and rows[1]["b_index"] == "1"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pairs.csv")]  # no temporary left
    # TextGrid OUT: A's labels on B's times; what it cannot hold is a warning
    timed = [iv for iv in io.read(out).tier("words timed by asr") if iv.label]
    assert [iv.label for iv in timed] == [iv.label for iv in demo_words]
    assert timed[0].start == pytest.approx(demo_words[0].start + SHIFT)


def test_options_reach_the_alignment(tmp_path, asr, capsys):
    out = tmp_path / "t.eaf"
    # one utterance interval against the word tier: split into words unless told not to
    assert call(f"{DEMO}:transcript", asr, "-o", out, "--json") == 0
    split = json.loads(capsys.readouterr().out)
    assert split["split_a"] and split["matched"] == 4
    assert call(f"{DEMO}:transcript", asr, "-o", out, "--json", "--split-words", "no") == 0
    whole = json.loads(capsys.readouterr().out)
    assert not whole["split_a"] and whole["matched"] == 0
    assert len(io.read(out).tier("transcript timed by asr")) == 1
    # by times: the summary of the library call on the same tiers, and the overlap figure
    assert call(f"{DEMO}:words", asr, "-o", out, "--json", "--by", "times") == 0
    by_times = json.loads(capsys.readouterr().out)
    a = IntervalTier("words", list(io.read(DEMO).tier("words")))
    assert by_times == align_tiers(a, io.read(asr).tier("asr"), by="times").summary
    assert by_times["by"] == "times" and 0.5 < by_times["overlap"] < 1.0


def test_file_name_with_a_colon_and_the_only_interval_tier(tmp_path, asr, capsys):
    odd = tmp_path / "asr:v2.TextGrid"
    shutil.copy(asr, odd)
    assert call(f"{DEMO}:words", odd, "-o", tmp_path / "o.csv", "--json") == 0
    assert json.loads(capsys.readouterr().out)["matched"] == 4
    assert call(f"{DEMO}:words", f"{odd}:asr", "-o", tmp_path / "o.csv") == 0


def test_errors_name_the_file(tmp_path, asr):
    out = tmp_path / "o.TextGrid"
    with pytest.raises(FileNotFoundError) as e:
        call(tmp_path / "missing.TextGrid", asr, "-o", out)
    assert e.value.filename == str(tmp_path / "missing.TextGrid")
    with pytest.raises(FileNotFoundError) as e:
        call(f"{tmp_path / 'missing.TextGrid'}:words", asr, "-o", out)
    assert e.value.filename == str(tmp_path / "missing.TextGrid")
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(DEMO))}: has interval tiers transcript, words; say which"
    ):
        call(DEMO, asr, "-o", out)
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(asr))}: no tier named 'words' \(interval tiers: asr\)"
    ):
        call(f"{DEMO}:words", f"{asr}:words", "-o", out)
    empty = tmp_path / "empty.TextGrid"
    io.write(
        Session([IntervalTier("asr", [Interval(0.0, 1.0, "sil")]), PointTier("p", [Point(0.5, "x")])]), empty
    )
    with pytest.raises(ValueError, match=rf"^{re.escape(str(empty))}: tier 'asr' has no labelled intervals"):
        call(f"{DEMO}:words", empty, "-o", out)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(empty))}: tier 'p' is a point tier"):
        call(f"{DEMO}:words", f"{empty}:p", "-o", out)
    with pytest.raises(ValueError, match="output is an input file"):
        call(f"{DEMO}:words", asr, "-o", asr)
    assert not out.exists()


def cli_has_command():
    from studio.cli import build_parser

    return "align-tiers" in build_parser().format_help()


@pytest.mark.skipif(not cli_has_command(), reason="align-tiers is not registered in studio.cli yet")
def test_studio_main_prints_file_and_problem(tmp_path, asr, capsys):
    from studio.cli import main

    out = tmp_path / "o.TextGrid"
    assert main(["align-tiers", f"{DEMO}:words", str(asr), "-o", str(out)]) == 0
    assert "4 matched, 1 substituted" in capsys.readouterr().err
    missing = tmp_path / "missing.TextGrid"
    assert main(["align-tiers", str(missing), str(asr), "-o", str(out)]) == 1
    assert capsys.readouterr().err == f"studio: error: {missing}: No such file or directory\n"
    assert main(["align-tiers", f"{DEMO}:nope", str(asr), "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"studio: error: {DEMO}: no tier named 'nope' (interval tiers: transcript, words)\n"
    )
