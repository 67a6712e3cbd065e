from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from studio import io
from studio.core import (
    Alignment,
    ControlledVocabulary,
    CurveTier,
    Interval,
    IntervalTier,
    MediaRef,
    MoveBoundary,
    Point,
    PointTier,
    Relabel,
    Session,
    SplitInterval,
    VocabularyEntry,
    WarpPath,
)
from studio.core.serialize import session_to_dict
from studio.io.errors import SessionFileError
from studio.io.journal import Journal, pending_journals, recover
from studio.io.native import open_session, read_session_file, save_session


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data-home"))


def full_session(tmp_path: Path) -> Session:
    return Session(
        [
            IntervalTier(
                "utt",
                [
                    Interval(
                        0.1, 2.5, 'say "hi"\nthere', confidence=0.9, source="model-x", attrs={"k": [1, 2]}
                    )
                ],
            ),
            IntervalTier(
                "words",
                [Interval(0.1, 1.0, "naïve"), Interval(1.0, 2.5, "ŋ")],
                parent="utt",
                vocabulary="cv",
                attrs={"participant": "A"},
            ),
            IntervalTier("subs", [Interval(0, 2, "a"), Interval(1, 3, "b")], allow_overlap=True),
            PointTier("peaks", [Point(0.5, "p", confidence=0.2)]),
            CurveTier("pitch", [100.0, np.nan, 120.0], rate=100.0, start=0.01, unit="Hz"),
            CurveTier("conf", [0.1, 0.9], times=[0.0, 0.7]),
        ],
        [MediaRef(str(tmp_path / "media" / "clip.mp4"), kind="video", offset=0.25)],
        vocabularies=[
            ControlledVocabulary("cv", [VocabularyEntry("naïve", "adj", "e1"), VocabularyEntry("ŋ")])
        ],
        alignments=[Alignment("a->b", WarpPath([[0, 0], [1, 1.5]], "a", "b"), method="dtw", cost=1.5)],
        metadata={"title": "t", "time_range": [0, 3]},
    )


def test_round_trip_keeps_everything_and_stores_relative_media(tmp_path):
    s = full_session(tmp_path)
    path = tmp_path / "proj" / "s.studio"
    path.parent.mkdir()
    save_session(s, path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["media"][0]["path"] == "../media/clip.mp4"
    s2 = read_session_file(path)
    d1, d2 = session_to_dict(s, path.parent), session_to_dict(s2, path.parent)
    assert json.dumps(d1, sort_keys=True) == json.dumps(d2, sort_keys=True)
    assert s2.media[0].path == str(tmp_path / "media" / "clip.mp4")
    assert np.isnan(s2.tier("pitch").values[1])
    assert s2.alignments["a->b"].warp.map(0.5) == pytest.approx(0.75)


def test_save_is_atomic_and_keeps_a_backup(tmp_path, monkeypatch):
    s = full_session(tmp_path)
    path = tmp_path / "s.studio"
    save_session(s, path)
    first = path.read_bytes()
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "changed"))
    save_session(s)
    assert (tmp_path / "s.studio.bak").read_bytes() == first
    assert "changed" in path.read_text(encoding="utf-8")
    assert s.undo_stack.is_clean()

    # a failure while writing (disk full at fsync) leaves the old file and no temporary file behind
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "never saved"))

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_session(s)
    monkeypatch.undo()
    assert "changed" in path.read_text(encoding="utf-8") and "never saved" not in path.read_text(
        encoding="utf-8"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data-home") == ["s.studio", "s.studio.bak"]
    assert not s.undo_stack.is_clean()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not valid JSON"),
        (b'{\n  "format": "studio-session",\n  "schema": 1,\n  oops\n}', ":4: is not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"format": "something-else"}', "not a Studio session file"),
        (b'{"format": "studio-session", "schema": 99}', "newer Studio"),
        (b'{"format": "studio-session", "schema": "x"}', "'schema' must be an integer"),
        (
            b'{"format": "studio-session", "schema": 1, "tiers": [{"name": "w", "type": "interval", '
            b'"intervals": [[2, 1, "x", "i"]]}]}',
            "start 2.000000 s is not before end",
        ),
        (
            b'{"format": "studio-session", "schema": 1, "tiers": [{"name": "w", "type": "interval", '
            b'"intervals": [[0, 2, "x", "i"], [1, 3, "y", "j"]]}]}',
            "overlaps",
        ),
        (
            b'{"format": "studio-session", "schema": 1, "tiers": [{"type": "blob", "name": "q"}]}',
            "unknown tier type",
        ),
        (b'{"format": "studio-session", "schema": 1, "media": [{"kind": "audio"}]}', "missing field 'path'"),
        (b"[" * 100000, "nested too deeply|not valid JSON"),
    ],
)
def test_malformed_session_files_name_file_and_problem(tmp_path, content, message):
    p = tmp_path / "bad.studio"
    p.write_bytes(content)
    with pytest.raises(SessionFileError, match=message) as e:
        read_session_file(p)
    assert str(p) in str(e.value)


def test_old_schema_is_migrated(tmp_path):
    p = tmp_path / "old.studio"
    p.write_text(
        json.dumps(
            {
                "format": "studio-session",
                "schema": 0,
                "layers": [{"name": "w", "type": "interval", "intervals": [[0, 1, "a", "i1"]]}],
            }
        )
    )
    s = read_session_file(p)
    assert s.tier("w")[0].label == "a"


def test_registered_by_suffix(tmp_path):
    s = full_session(tmp_path)
    p = tmp_path / "x.studio"
    assert io.write(s, p) == []
    assert io.read(p).tier_names() == s.tier_names()


# --- journal -------------------------------------------------------------------------------
def test_journal_replays_edits_after_a_crash_and_keeps_undo_history(tmp_path):
    path = tmp_path / "s.studio"
    save_session(full_session(tmp_path), path)
    s = open_session(path)
    w = s.tier("words")
    first = w[0].id
    s.undo_stack.push(MoveBoundary("words", first, "end", 0.8))
    s.undo_stack.push(MoveBoundary("words", first, "end", 0.6))  # merges: one drag
    s.undo_stack.push(SplitInterval("words", w[1].id, 2.0))
    s.undo_stack.push(Relabel("words", first, "x"))
    s.undo_stack.undo()
    expected = session_to_dict(s)
    Journal.attached(s).close()  # as if the process died here: nothing saved
    s2 = open_session(path)
    assert "Recovered 5 unsaved edits" in s2.recovery_note
    assert json.dumps(session_to_dict(s2), sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert len(s2.undo_stack) == 3 and s2.undo_stack.index == 2  # the merged drag is one step
    assert not s2.undo_stack.is_clean()
    # a second crash after more edits still loses nothing
    s2.undo_stack.push(Relabel("words", first, "y"))
    Journal.attached(s2).close()
    s3 = open_session(path)
    assert s3.tier("words")[0].label == "y"
    # saving clears the journal
    save_session(s3)
    assert pending_journals() == []
    assert open_session(path).recovery_note is None


def test_journal_is_not_replayed_onto_a_changed_file(tmp_path):
    path = tmp_path / "s.studio"
    save_session(full_session(tmp_path), path)
    s = open_session(path)
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "lost?"))
    Journal.attached(s).close()
    other = full_session(tmp_path)
    other.metadata["title"] = "replaced by another program"
    from studio.io.native import write_session_file

    write_session_file(other, path)
    s2 = open_session(path)
    assert "changed on disk" in s2.recovery_note and "kept in" in s2.recovery_note
    assert s2.tier("words")[0].label == "naïve"


def test_unsaved_session_recovers_from_snapshot_journal(tmp_path):
    s = full_session(tmp_path)
    j = Journal.for_new_session(s)
    s.undo_stack.push(Relabel("words", s.tier("words")[1].id, "recovered"))
    j.close()
    pend = pending_journals()
    assert len(pend) == 1 and pend[0]["base"] is None and pend[0]["edits"] == 1
    r = recover(pend[0]["journal"])
    assert r.tier("words")[1].label == "recovered"


def test_kill_9_loses_no_edit(tmp_path):
    """A real process edits through the journal and is killed with SIGKILL mid-session."""
    path = tmp_path / "s.studio"
    save_session(full_session(tmp_path), path)
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from studio.core import Relabel, MoveBoundary
        from studio.io.native import open_session
        s = open_session({str(path)!r})
        w = s.tier("words")
        for i in range(20):
            s.undo_stack.push(Relabel("words", w[0].id, f"edit {{i}}"))
        s.undo_stack.push(MoveBoundary("words", w[0].id, "end", 0.55))
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "STUDIO_DATA_DIR": os.environ["STUDIO_DATA_DIR"]}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    s = open_session(path)
    assert "Recovered 21 unsaved edits" in s.recovery_note
    w = s.tier("words")
    assert w[0].label == "edit 19" and w[0].end == 0.55 and w[1].start == 0.55
    s.undo_stack.undo()
    assert w[0].end == 1.0


def test_truncated_last_journal_line_is_skipped(tmp_path):
    path = tmp_path / "s.studio"
    save_session(full_session(tmp_path), path)
    s = open_session(path)
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "kept"))
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "cut"))
    j = Journal.attached(s)
    j.close()
    data = j.path.read_bytes()
    j.path.write_bytes(data[:-20])  # the crash hit mid-write
    s2 = open_session(path)
    assert "interrupted entry was skipped" in s2.recovery_note
    assert s2.tier("words")[0].label == "kept"
    s2.undo_stack.push(Relabel("words", s2.tier("words")[0].id, "after"))
    Journal.attached(s2).close()
    assert open_session(path).tier("words")[0].label == "after"


# --- fuzz: random bytes and mutated real session files -------------------------------------
from fuzzing import mutate, read_or_format_error  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "demo.studio"
_SEEDS = [DEMO.read_bytes()]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data):
    read_or_format_error(read_session_file, data, ".studio", SessionFileError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_session(data):
    targets = [b"0.49", b'"interval"', b'"words"', b"1", b'"u1"', b"[", b"]", b"{", b"}", b"null", b"true"]
    tokens = [b"-1", b"1e999", b'"x"', b"null", b"[]", b"{}", b"NaN", b"99", b"-0.5"]
    ops = ("flip", "cut", "dropline", "replace")
    mutated = mutate(data, _SEEDS, tokens, max_ops=5, ops=ops, targets=targets)
    read_or_format_error(read_session_file, mutated, ".studio", SessionFileError)


def test_open_file_journals_edits_of_an_annotation_file(tmp_path):
    """An EAF opened for editing: edits survive a crash before it was ever saved as .studio."""
    import gzip

    from studio.io.native import open_file

    eaf = tmp_path / "sample.eaf"
    data_dir = Path(__file__).resolve().parents[1] / "data" / "eaf"
    eaf.write_bytes(gzip.decompress((data_dir / "pympi_sample_3.0.eaf.gz").read_bytes()))
    s = open_file(eaf)
    tier = next(t for t in s.interval_tiers() if len(t) > 2 and t.parent is None)
    first = tier[0]
    s.undo_stack.push(Relabel(tier.name, first.id, "fixed after crash"))
    Journal.attached(s).close()  # the process dies
    assert pending_journals()[0]["base"] == str(eaf)
    s2 = open_file(eaf)
    assert "Recovered 1 unsaved edit of sample.eaf" in s2.recovery_note
    assert s2.tier(tier.name).get(first.id).label == "fixed after crash"
    # saving it as a session clears the EAF's journal
    save_session(s2, tmp_path / "sample.studio")
    assert pending_journals() == []
    assert (
        read_session_file(tmp_path / "sample.studio").tier(tier.name).get(first.id).label
        == "fixed after crash"
    )


def test_journal_keeps_recording_after_a_save(tmp_path):
    path = tmp_path / "s.studio"
    save_session(full_session(tmp_path), path)
    s = open_session(path)
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "saved"))
    save_session(s)
    s.undo_stack.push(Relabel("words", s.tier("words")[0].id, "after save"))
    Journal.attached(s).close()
    s2 = open_session(path)
    assert "Recovered 1 unsaved edit" in s2.recovery_note
    assert s2.tier("words")[0].label == "after save"


def test_warps_and_alignments_are_stored_one_line_each(tmp_path):
    """An hour-long time map (360 000 pairs) and a media warp: exact after a round trip, and the file
    stays readable (one line per warp, not one per number)."""
    from studio.core.session import Alignment, MediaRef, WarpPath
    from studio.io.native import read_session_file, write_session_file

    a = np.arange(0, 3600, 0.01)
    path = WarpPath(np.column_stack([a, a * 0.999 + 0.5]), "cam.mp4", "mic.wav")
    s = Session(
        [IntervalTier("words", [Interval(0, 1, "a")])],
        [MediaRef(str(tmp_path / "mic.wav"), warp=WarpPath([[0, 0], [3600, 3601.2]], "drift", "mic.wav"))],
        alignments=[Alignment("mic at cam", path, method="dtw", attrs={"kind": "streams"})],
    )
    f = tmp_path / "s.studio"
    write_session_file(s, f)
    assert len(f.read_text().splitlines()) < 80
    back = read_session_file(f)
    assert back.alignments["mic at cam"].warp == path and back.media[0].warp == s.media[0].warp
