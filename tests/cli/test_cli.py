from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    """The real console entry point, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        **kw,
    )


def test_info_on_demo_session_and_recording():
    r = run("info", str(DEMO / "demo.studio"), str(DEMO / "swwp2s.mpg"))
    assert r.returncode == 0, r.stderr
    assert "words       interval       6 annotations  0.490 - 2.210 s  (in transcript)" in r.stdout
    assert "360x288, 25 fps, 75 frames" in r.stdout and "44100 Hz, 2 ch" in r.stdout


def test_info_json(capsys):
    assert main(["info", "--json", str(DEMO / "demo.studio")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["format"] == "studio"
    assert {t["name"]: t["count"] for t in d["tiers"]} == {"transcript": 1, "words": 6}
    assert d["tiers"][1]["start"] == pytest.approx(0.49)


def test_usage_errors_exit_2():
    r = run("convert")
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run("convert", "only-one-arg")
    assert r.returncode == 1 and "give an input and an output" in r.stderr
    assert run("bogus").returncode == 2


def test_help_shows_examples():
    r = run("--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "studio convert" in r.stdout
    r = run("convert", "--help")
    assert "studio convert interview.eaf interview.TextGrid" in r.stdout


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["info", "missing.eaf"], "missing.eaf: no such file"),
        ("corrupt.studio", ["info", "corrupt.studio"], "corrupt.studio:1: is not valid JSON"),
        ("a.unknownext", ["info", "a.unknownext"], "no format is registered for suffix '.unknownext'"),
        ("empty.wav", ["info", "empty.wav"], "empty.wav: is empty"),
        ("noise.mp4", ["info", "noise.mp4"], "noise.mp4: is not a media file"),
    ],
)
def test_bad_input_exits_1_with_one_line(tmp_path, setup, args, message):
    if setup:
        content = {
            "corrupt.studio": b"{nope",
            "a.unknownext": b"x",
            "empty.wav": b"",
            "noise.mp4": random.Random(0).randbytes(4000),
        }
        (tmp_path / setup).write_bytes(content[setup])
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: ") and message in lines[0], r.stderr


def test_convert_session_to_session_with_tier_selection(tmp_path):
    out = tmp_path / "w.studio"
    r = run("convert", str(DEMO / "demo.studio"), str(out), "--tiers", "words")
    assert r.returncode == 0, r.stderr
    from studio.io.native import read_session_file

    s = read_session_file(out)
    assert s.tier_names() == ["words"]
    r = run("convert", str(DEMO / "demo.studio"), str(out), "--tiers", "nope")
    assert r.returncode == 1 and "no tier named 'nope'" in r.stderr


def test_convert_refuses_to_overwrite_its_input(tmp_path):
    p = tmp_path / "d.studio"
    p.write_bytes((DEMO / "demo.studio").read_bytes())
    r = run("convert", str(p), str(p))
    assert r.returncode == 1 and "output is the input" in r.stderr
    assert p.read_bytes() == (DEMO / "demo.studio").read_bytes()


def test_formats_lists_native():
    r = run("formats")
    assert r.returncode == 0 and "studio" in r.stdout and ".studio" in r.stdout


def test_qt_free_layers_do_not_import_qt():
    """Importing the headless layers and running the CLI must not load PySide6 or pyqtgraph."""
    code = (
        "import sys, studio.core, studio.io, studio.media.probe, studio.cli\n"
        "from studio.cli import main\n"
        f"main(['info', {str(DEMO / 'demo.studio')!r}])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_convert_passes_writer_options_and_rejects_unknown_ones(tmp_path):
    src = ROOT / "tests" / "data" / "eaf" / "teicorpo_essai-filled-time.eaf"
    out = tmp_path / "all.srt"
    r = run("convert", str(src), str(out))
    assert r.returncode == 0 and "left out interval tiers" in r.stderr
    one_track = out.read_text(encoding="utf-8").count("-->")
    r = run("convert", str(src), str(out), "-O", "merge_tiers=true")
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count("-->") == 16 > one_track and "tdep: " in text
    r = run("convert", str(src), str(out), "-O", "merge=true")
    assert r.returncode == 1 and "has no option 'merge'" in r.stderr and "merge_tiers" in r.stderr
    r = run("convert", str(src), str(tmp_path / "s.TextGrid"), "-O", "short=true")
    assert r.returncode == 0 and '"IntervalTier"' in (tmp_path / "s.TextGrid").read_text(encoding="utf-8")
    assert "item [" not in (tmp_path / "s.TextGrid").read_text(encoding="utf-8")


def test_convert_real_files_across_formats_keeps_labels(tmp_path):
    """A real Praat file through CSV and back: same tiers, labels and times."""
    from studio import io

    src = ROOT / "tests" / "data" / "textgrid" / "praat_long_utf16.TextGrid"
    assert run("convert", str(src), str(tmp_path / "a.csv")).returncode == 0
    assert run("convert", str(tmp_path / "a.csv"), str(tmp_path / "b.TextGrid")).returncode == 0
    a, b = io.read(src), io.read(tmp_path / "b.TextGrid")
    assert a.tier_names() == b.tier_names()
    for ta, tb in zip(a.tiers, b.tiers):
        assert [(x.start, x.end, x.label) for x in ta] == [(x.start, x.end, x.label) for x in tb]


def test_batch_convert_into_a_folder_reports_bad_files_and_converts_the_rest(tmp_path):
    data = ROOT / "tests" / "data"
    bad = tmp_path / "bad.TextGrid"
    bad.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\nxmin = 0\nxmax = oops\n')
    inputs = [
        data / "textgrid" / "praat_long_utf8.TextGrid",
        bad,
        data / "eaf" / "teicorpo_essai-filled-time.eaf",
    ]
    out = tmp_path / "out"
    r = run("convert", *map(str, inputs), str(out))
    assert r.returncode == 1 and "needs --to FORMAT" in r.stderr and not out.exists()
    r = run("convert", *map(str, inputs), str(out), "--to", "csv")
    assert r.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["praat_long_utf8.csv", "teicorpo_essai-filled-time.csv"]
    assert "bad.TextGrid:4" in r.stderr and "1 of 3 files could not be converted" in r.stderr
    r = run("convert", str(inputs[0]), str(inputs[2]), str(out), "--to", "textgrid", "-q")
    assert r.returncode == 0 and (out / "praat_long_utf8.TextGrid").exists()


def test_ctrl_c_during_a_batch_leaves_no_partial_file(tmp_path):
    """SIGINT while converting a big file: exit 130, one line, and no half-written output."""
    import signal
    import time

    from studio.core import Interval, IntervalTier, Session
    from studio.io.native import write_session_file

    big = tmp_path / "big.studio"
    write_session_file(
        Session([IntervalTier("w", [Interval(i, i + 0.5, f"w{i}") for i in range(200_000)])]), big
    )
    copies = [big]
    for k in range(2, 5):
        copies.append(tmp_path / f"big{k}.studio")
        os.link(big, copies[-1])
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "convert", *map(str, copies), str(out), "--to", "eaf"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout.readline().startswith("wrote ")  # the first file is done, the second under way
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert len(list(out.iterdir())) < len(copies)  # it really stopped halfway
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "studio: interrupted"
    for p in out.iterdir():  # whatever exists is complete: no temporary files, every EAF ends properly
        assert not p.name.startswith("."), p
        assert p.read_text(encoding="utf-8").rstrip().endswith("</ANNOTATION_DOCUMENT>")
