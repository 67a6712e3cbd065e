"""`studio dtw`: parse argv with the subcommand's own parser, run it, read back the CSV."""

from __future__ import annotations

import argparse
import csv

import librosa
import numpy as np
import pytest

from studio.align.dtw import dtw
from studio.align.dtw_cli import add_parser, run, sidecar


def call(argv):
    parser = argparse.ArgumentParser(prog="studio")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dtw", *map(str, argv)])
    assert args.func is run
    return run(args)


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((40, 6)), rng.standard_normal((55, 6))
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    return tmp_path, A, B


def test_prints_cost_and_writes_path(pair, capsys):
    folder, A, B = pair
    out = folder / "path.csv"
    assert call([folder / "A.npy", folder / "B.npy", "-o", out]) == 0
    D, wp = librosa.sequence.dtw(A.T, B.T, metric="sqeuclidean")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"cost: {D[-1, -1]:.10g}"
    assert printed[1].startswith("normalized cost: ") and printed[2] == f"path length: {len(wp)}"
    rows = read_csv(out)
    assert rows[0] == ["i", "j"]
    assert np.array_equal(np.array(rows[1:], int), wp[::-1])
    assert not [p for p in folder.iterdir() if p.name.startswith(".path.csv")]  # no temporary left


def test_options_and_time_sidecars(pair, capsys):
    folder, A, B = pair
    ta = np.arange(len(A)) * 0.01 + 0.005
    np.save(sidecar(folder / "A.npy"), ta)
    assert sidecar(folder / "A.npy").name == "A.times.npy"
    out = folder / "p.csv"
    argv = [
        folder / "A.npy",
        folder / "B.npy",
        "--band",
        "0.2",
        "--step",
        "symmetric2",
        "--metric",
        "cosine",
        "-o",
        out,
    ]
    assert call(argv) == 0
    ref = dtw(A, B, band=0.2, step="symmetric2", metric="cosine")
    assert f"cost: {ref.cost:.10g}" in capsys.readouterr().out
    rows = read_csv(out)
    assert rows[0] == ["i", "j", "t_a"]  # only A has a sidecar
    got = np.array(rows[1:], float)
    assert np.array_equal(got[:, :2].astype(int), ref.path)
    assert np.array_equal(got[:, 2], ta[ref.path[:, 0]])  # times written losslessly
    tb = np.linspace(0, 1, len(B))
    np.save(folder / "B.times.npy", tb)
    assert call([folder / "A.npy", folder / "B.npy", "--subsequence", "-o", out]) == 0
    rows = read_csv(out)
    assert rows[0] == ["i", "j", "t_a", "t_b"]
    sub = dtw(A, B, subsequence=True)
    assert np.array_equal(np.array(rows[1:], float)[:, 3], tb[sub.path[:, 1]])


def test_bad_inputs(pair, tmp_path):
    folder, A, B = pair
    with pytest.raises(FileNotFoundError):
        call([folder / "missing.npy", folder / "B.npy"])
    (folder / "junk.npy").write_text("not numpy")
    with pytest.raises(ValueError, match="cannot read features"):
        call([folder / "junk.npy", folder / "B.npy"])
    np.save(folder / "C.npy", np.ones((10, 3)))
    with pytest.raises(ValueError, match="different feature dimensions"):
        call([folder / "A.npy", folder / "C.npy"])
    np.save(folder / "A.times.npy", np.arange(3.0))
    with pytest.raises(ValueError, match="expected 40 frame times"):
        call([folder / "A.npy", folder / "B.npy", "-o", folder / "x.csv"])
    with pytest.raises(SystemExit):
        call([folder / "A.npy", folder / "B.npy", "--step", "diagonal"])
    np.savez(folder / "Z.npz", a=A)
    with pytest.raises(ValueError, match=r"Z\.npz: .*\.npz archive"):
        call([folder / "Z.npz", folder / "B.npy"])
    np.save(folder / "A.times.npy", np.arange(len(A), dtype=float))
    np.save(folder / "B.times.npy", np.array(["x"] * len(B)))
    with pytest.raises(ValueError, match=r"B\.times\.npy: frame times must be numbers"):
        call([folder / "A.npy", folder / "B.npy", "-o", folder / "y.csv"])
    with pytest.raises(ValueError, match="is a directory"):  # before a possibly long alignment
        call([folder / "A.npy", folder / "B.npy", "-o", folder])
