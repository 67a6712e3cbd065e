from __future__ import annotations

import numpy as np
import pytest

from studio.core import (
    AddMedia,
    ControlledVocabulary,
    Interval,
    IntervalTier,
    MediaRef,
    RemoveMedia,
    Session,
    SetMediaOffset,
    VocabularyEntry,
)


def test_validate_reports_hierarchy_and_vocabulary_problems():
    s = Session(
        [
            IntervalTier("utt", [Interval(0, 2, "a b")]),
            IntervalTier(
                "words", [Interval(0, 1, "a"), Interval(2.5, 3, "z")], parent="utt", vocabulary="lex"
            ),
            IntervalTier("orphan", [Interval(0, 1, "x")], parent="gone"),
            IntervalTier("tags", [Interval(0, 1, "q")], vocabulary="nope"),
        ],
        vocabularies=[ControlledVocabulary("lex", [VocabularyEntry("a"), VocabularyEntry("b")])],
    )
    problems = s.validate()
    assert any("'words': labels not in vocabulary 'lex': ['z']" in p for p in problems)
    assert any(
        "'words': 'z' [2.500, 3.000] is not inside an interval of parent tier 'utt'" in p for p in problems
    )
    assert any("'orphan': parent tier 'gone' does not exist" in p for p in problems)
    assert any("'tags': vocabulary 'nope' does not exist" in p for p in problems)
    assert len(problems) == 4
    assert Session([IntervalTier("utt", [Interval(0, 2, "a")])]).validate() == []


def test_vocabulary_completion_is_case_insensitive_prefix():
    cv = ControlledVocabulary("pos", [VocabularyEntry(v) for v in ("Noun", "noun-phrase", "Verb")])
    assert cv.complete("no") == ["Noun", "noun-phrase"]
    assert cv.complete("") == ["Noun", "noun-phrase", "Verb"]
    assert "Verb" in cv and "verb" not in cv


def test_media_offsets_map_onto_session_time_and_are_undoable():
    s = Session(media=[MediaRef("/rec/cam.mp4", kind="video"), MediaRef("/rec/mic.wav")])
    seen = []
    s.media_changed.connect(lambda sess, i, m: seen.append((i, m.offset)))
    s.undo_stack.push(SetMediaOffset("mic.wav", -0.12))
    s.undo_stack.push(SetMediaOffset("mic.wav", -0.1))  # nudging merges into one step
    mic = s.media[1]
    assert mic.to_session_time(1.0) == pytest.approx(0.9)
    assert mic.to_media_time(0.9) == pytest.approx(1.0)
    assert len(s.undo_stack) == 1
    s.undo_stack.undo()
    assert mic.offset == 0.0 and seen[-1] == (1, 0.0)
    s.undo_stack.push(AddMedia(MediaRef("/rec/cam2.mp4", kind="video")))
    s.undo_stack.push(RemoveMedia("cam.mp4"))
    assert [m.name for m in s.media] == ["mic.wav", "cam2.mp4"]
    s.undo_stack.undo()
    s.undo_stack.undo()
    assert [m.name for m in s.media] == ["cam.mp4", "mic.wav"]
    with pytest.raises(ValueError, match="kind must be one of"):
        MediaRef("/x.bin", kind="hologram")


def test_tier_lookup_errors_name_what_exists():
    s = Session([IntervalTier("words"), IntervalTier("phones")])
    with pytest.raises(KeyError, match="no tier named 'wrods' \\(tiers: words, phones\\)"):
        s.tier("wrods")
    assert s.unique_tier_name("words") == "words (2)"
    with pytest.raises(ValueError, match="already has a tier named 'words'"):
        Session([IntervalTier("words"), IntervalTier("words")])


def test_time_range_covers_tiers_and_declared_range():
    s = Session([IntervalTier("w", [Interval(1, 2, "a")])], metadata={"time_range": [0, 5]})
    assert s.time_range() == (0.0, 5.0)
    assert Session().time_range() is None


def test_a_media_warp_maps_both_ways_and_survives_the_session_file(tmp_path):
    from studio.core import SetMediaWarp
    from studio.core.session import WarpPath
    from studio.io.native import read_session_file, write_session_file

    s = Session(media=[MediaRef(str(tmp_path / "cam.mp4"), kind="video", offset=2.0)])
    cam = s.media[0]
    warp = WarpPath([[0.0, 0.0], [10.0, 9.0], [20.0, 19.5]], "time map", "cam.mp4")
    s.undo_stack.push(SetMediaWarp("cam.mp4", warp, offset=1.0))
    assert cam.offset == 1.0 and cam.warp is warp
    assert cam.to_media_time(11.0) == pytest.approx(9.0)  # session 11 = shifted 10 -> media 9
    assert cam.to_media_time(16.0) == pytest.approx(14.25)
    np.testing.assert_allclose(
        cam.to_session_time(cam.to_media_time(np.array([3.0, 11.0, 18.0]))), [3, 11, 18]
    )
    path = tmp_path / "s.studio"
    write_session_file(s, path)
    back = read_session_file(path).media[0]
    assert back.warp == warp and back.offset == 1.0
    s.undo_stack.undo()
    assert cam.warp is None and cam.offset == 2.0 and cam.to_media_time(3.0) == 1.0
    with pytest.raises(TypeError, match="WarpPath"):
        MediaRef("/x.wav", warp=[[0, 0], [1, 1]])
