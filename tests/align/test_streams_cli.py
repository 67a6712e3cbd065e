"""`studio align-streams`: the time map of two takes as CSV, and stored in a session as the window does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from studio.cli import main
from studio.io.native import read_session_file


def takes(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Take 2: take 1 half a second later and 5 % faster."""
    x, sr = sf.read(shared_data / "conversation" / "sample.wav", dtype="float32")
    x = x[int(6 * sr) : int(14 * sr)]
    a, b = tmp_path / "take1.wav", tmp_path / "take2.wav"
    sf.write(a, x, sr)
    sf.write(
        b,
        np.concatenate([np.zeros(sr // 2, np.float32), soxr.resample(x, sr * 1.05, sr)]).astype(np.float32),
        sr,
    )
    return a, b


def test_map_as_csv_and_in_a_session_played_in_sync(shared_data: Path, tmp_path: Path, capsys):
    a, b = takes(shared_data, tmp_path)
    out, session = tmp_path / "map.csv", tmp_path / "takes.studio"
    argv = ["align-streams", str(a), str(b), "-o", str(out), "--session", str(session), "--play-in-sync"]
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert "dtw:" in said and "B runs at 0.95" in said and "take2.wav plays along it" in said
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    t = rows[:, 0]
    inner = (t > 1.0) & (t < 7.0)
    assert np.median(np.abs(rows[inner, 1] - (0.5 + t[inner] / 1.05))) < 0.02  # measured 3 ms
    s = read_session_file(session)
    ma, mb = s.media
    assert (ma.name, mb.name) == ("take1.wav", "take2.wav")
    al = s.alignments["take2.wav at take1.wav"]
    assert al.attrs["kind"] == "streams" and s.has_tier("take2.wav at take1.wav")
    assert (
        np.abs(mb.to_media_time(np.arange(2.0, 7.0, 0.5)) - (0.5 + np.arange(2.0, 7.0, 0.5) / 1.05)).max()
        < 0.012
    )
    # again into the same session: a second map, named apart, the media kept
    assert (
        main(["align-streams", str(a), str(b), "--session", str(session), "--method", "soft-dtw", "-q"]) == 0
    )
    s2 = read_session_file(session)
    assert len(s2.media) == 2 and len(s2.alignments) == 2 and (tmp_path / "takes.studio.bak").exists()


def test_errors_name_the_problem(shared_data: Path, tmp_path: Path, capsys):
    a, b = takes(shared_data, tmp_path)
    assert main(["align-streams", str(a), str(tmp_path / "none.wav"), "-o", str(tmp_path / "m.csv")]) == 1
    assert "none.wav: no such file" in capsys.readouterr().err
    assert main(["align-streams", str(a), str(b)]) == 1
    assert "-o MAP.csv" in capsys.readouterr().err
    assert main(["align-streams", str(a), str(b), "-o", str(tmp_path / "m.csv"), "--play-in-sync"]) == 1
    assert "--play-in-sync needs --session" in capsys.readouterr().err


def test_very_different_lengths_are_warned_about(shared_data: Path, tmp_path: Path, capsys):
    a, _ = takes(shared_data, tmp_path)
    x, sr = sf.read(a, dtype="float32")
    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([x, x, x]), sr)
    assert main(["align-streams", str(a), str(long), "-o", str(tmp_path / "m.csv"), "-q"]) == 0
    assert "joins their starts and ends" in capsys.readouterr().err
    b = tmp_path / "take2.wav"
    assert main(["align-streams", str(a), str(b), "-o", str(tmp_path / "m.csv"), "-q"]) == 0
    assert "joins" not in capsys.readouterr().err
