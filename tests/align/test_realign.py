"""Re-aligning the words around a boundary the user moved (GRID swwp2s against its own alignment)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.align.realign import realign_around, realign_commands
from studio.align.transcript import align_transcript
from studio.media.audio import open_audio


@pytest.fixture
def grid_audio(grid):
    media, ref = grid
    with open_audio(media) as a:
        x = a.resampled(16000, mono=True).load().reshape(-1)
    return media, ref, x


def test_moving_a_boundary_realigns_only_the_neighbours(grid_audio):
    media, ref, x = grid_audio
    # a deliberately bad alignment: every word shifted 150 ms late except the outer ends
    bad = [(s + 0.15 if k else s, e + 0.15 if k < 5 else e, w) for k, (s, e, w) in enumerate(ref)]
    # the user puts the boundary between "white" (1) and "with" (2) where it belongs
    res = realign_around(x, 16000, bad, 1, ref[1][1], context=2)
    assert [w.index for w in res] == [0, 1, 2, 3]  # two words each side, no more
    got = {w.index: w for w in res}
    assert got[1].end == pytest.approx(ref[1][1]) and got[2].start == pytest.approx(ref[2][0])  # the anchor
    assert got[0].start >= bad[0][0] - 1e-9 and got[3].end <= bad[3][1] + 1e-9  # outer ends kept
    err = [abs(got[i].start - ref[i][0]) for i in (1, 3)] + [abs(got[i].end - ref[i][1]) for i in (0, 2)]
    assert np.mean(err) < 0.05, err  # the neighbours followed (they were 150 ms off)
    assert all(0 <= w.confidence <= 1 and w.phones for w in res)


def test_bad_requests():
    words = [(0.0, 0.5, "a"), (0.5, 1.0, "b")]
    x = np.zeros(16000, np.float32)
    with pytest.raises(ValueError, match="no boundary after word 1"):
        realign_around(x, 16000, words, 1, 0.5)
    with pytest.raises(ValueError, match="must lie inside"):
        realign_around(x, 16000, words, 0, 1.5)
    with pytest.raises(ValueError, match="context"):
        realign_around(x, 16000, words, 0, 0.5, context=0)


def test_commands_apply_and_undo_in_one_step(grid_audio):
    media, ref, x = grid_audio
    s = align_transcript(media, " ".join(w for _, _, w in ref), level="phone")
    words = s.tier("words")
    before = [(a.start, a.end, a.id) for a in words]
    n_phones = len(s.tier("phones"))
    spans = [(a.start, a.end, a.label) for a in words]
    target = (spans[2][0] + spans[2][1]) / 2  # move "with"'s start to its middle: a clear change
    res = realign_around(x, 16000, spans, 1, target, context=2)
    cmds = realign_commands(s, "words", res, phones_tier="phones")
    with s.undo_stack.macro("Re-align around a boundary"):
        for c in cmds:
            s.undo_stack.push(c)
    after = list(s.tier("words"))
    assert [a.id for a in after] == [b[2] for b in before]  # same annotations, new times
    assert after[1].end == pytest.approx(target) and after[2].start == pytest.approx(target)
    assert after[4].start == pytest.approx(before[4][0]) and after[5].end == pytest.approx(
        before[5][1]
    )  # untouched
    for ph in s.tier("phones"):  # phones still inside their words
        w = s.tier("words").at(ph.mid)
        assert w is not None and w.start - 1e-6 <= ph.start and ph.end <= w.end + 1e-6
    s.undo_stack.undo()
    assert [(a.start, a.end, a.id) for a in s.tier("words")] == before
    assert len(s.tier("phones")) == n_phones
