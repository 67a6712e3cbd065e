"""`studio info` on media and `studio features`, on the demo recording and generated files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.cli import main
from studio.media.features import Features

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "resources" / "demo" / "swwp2s.mpg"


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def beep(tmp_path: Path) -> Path:
    """0.5 s silence, 0.5 s 440 Hz, 0.5 s silence at 16 kHz."""
    rate = 16000
    x = np.zeros(int(1.5 * rate), np.float32)
    t = np.arange(rate // 2) / rate
    x[rate // 2 : rate] = 0.5 * np.sin(2 * np.pi * 440 * t)
    p = tmp_path / "beep.wav"
    sf.write(p, x, rate)
    return p


def test_info_json_reports_streams(capsys):
    assert main(["info", "--json", str(CLIP)]) == 0
    d = json.loads(capsys.readouterr().out)
    kinds = {s["kind"]: s for s in d["streams"]}
    assert kinds["video"]["codec"] == "mpeg1video" and kinds["video"]["frames"] == 75
    assert kinds["video"]["fps"] == 25.0
    assert kinds["audio"]["sample_rate"] == 44100 and kinds["audio"]["channels"] == 2
    assert d["duration"] == pytest.approx(3.0, abs=0.05)


def test_features_mfcc_with_deltas_writes_values_times_and_metadata(beep: Path, tmp_path: Path, capsys):
    out = tmp_path / "m.npy"
    assert main(["features", str(beep), "--kind", "mfcc", "-P", "deltas=2", "-o", str(out)]) == 0
    assert "frames x 39 dims" in capsys.readouterr().out
    values = np.load(out)
    times = np.load(tmp_path / "m.times.npy")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert values.shape == (len(times), 39) and values.dtype == np.float32
    assert np.allclose(np.diff(times), 0.01)
    assert meta["kind"] == "mfcc"
    # the 0th cepstral coefficient (log energy) is high exactly while the tone plays
    c0 = values[:, 0]
    on = (times > 0.55) & (times < 0.95)
    off = (times < 0.45) | (times > 1.05)
    assert c0[on].min() > c0[off].max()
    assert Features.load(out).kind == "mfcc"


def test_features_several_kinds_on_one_grid(tmp_path: Path, capsys):
    out = tmp_path / "av.npy"
    assert main(["features", str(CLIP), "--kind", "logmel,mouth", "--hop", "0.04", "-o", str(out)]) == 0
    f = Features.load(out)
    assert np.allclose(np.diff(f.times), 0.04)
    assert f.values.shape[1] == 80 + len([n for n in f.names if n.startswith("mouth.")])
    assert 70 <= len(f) <= 76


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kind", "blah"], "unknown feature kind blah"),
        (["--kind", "rms", "-P", "n_melz=3"], "n_melz"),
        (["--kind", "rms", "-P", "novalue"], "expected KEY=VALUE"),
        (["--kind", "mouth"], "has no video stream"),
    ],
)
def test_features_errors_name_the_problem(beep: Path, tmp_path: Path, capsys, args, message):
    assert main(["features", str(beep), *args, "-o", str(tmp_path / "x.npy")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.npy").exists()


def test_features_refuses_other_output_suffix(beep: Path, tmp_path: Path, capsys):
    assert main(["features", str(beep), "--kind", "rms", "-o", str(tmp_path / "x.csv")]) == 1
    assert "must be a .npy file" in capsys.readouterr().err


@pytest.mark.parametrize("hop", ["0", "-0.01", "nan", "inf"])
def test_features_bad_hop_fails_before_extracting(beep: Path, tmp_path: Path, capsys, monkeypatch, hop):
    import studio.media.features as features

    def never(*a, **k):
        raise AssertionError("extraction ran")

    monkeypatch.setattr(features, "extract_many_task", never)
    out = tmp_path / "x.npy"
    assert main(["features", str(beep), "--kind", "rms", "--hop", hop, "-o", str(out)]) == 1
    assert "--hop must be a positive number" in capsys.readouterr().err
    assert not out.exists()


def test_features_repeated_kind_is_extracted_once(beep: Path, tmp_path: Path):
    out = tmp_path / "r.npy"
    assert main(["features", str(beep), "--kind", "rms,rms", "-o", str(out), "-q"]) == 0
    f = Features.load(out)
    assert f.kind == "rms" and f.names == ("rms",)


def test_info_on_audio_with_cover_art_is_audio(beep: Path, tmp_path: Path, capsys):
    import subprocess

    cover = tmp_path / "cover.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(beep), "-f", "lavfi", "-i",
         "color=red:s=32x32:d=1", "-map", "0", "-map", "1:v", "-frames:v", "1", "-c:v", "mjpeg",
         "-disposition:v", "attached_pic", str(cover)],
        check=True,
    )  # fmt: skip
    assert main(["info", "--json", str(cover)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "audio"  # an album cover is not a video stream (was: "video", 90000 fps)
    assert [s["kind"] for s in d["streams"]] == ["audio", "cover"]
    assert main(["info", str(cover)]) == 0
    assert "stream 1: cover  mjpeg" in capsys.readouterr().out


def test_cache_command_shows_and_clears(capsys):
    from studio.media.audio import open_audio

    open_audio(CLIP).close()  # an .mpg: its audio is decoded into the cache
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert "audio" in out and "limit 20 GB" in out
    assert main(["cache", "--clear"]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["cache"]) == 0
    assert "audio" not in capsys.readouterr().out
