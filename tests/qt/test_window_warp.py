"""A media warp in the window: the video, the waveform, the spectrogram and the clock follow it."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core import SetMediaWarp
from studio.core.session import WarpPath


def test_a_warp_moves_video_frames_waveform_and_playback(demo_window, qtbot):
    win = demo_window
    s = win.session
    m = s.media[0]
    lm = win.media.items()[0]
    assert lm.video is not None and lm.stream is not None
    frame_plain = win.frame_at(2.0)
    end_plain = win.media.duration
    # the recording's own clock runs 10 % slow: session 2.0 s shows media time 1.8 s
    warp = WarpPath([[0.0, 0.0], [10.0, 9.0]], "test", m.name)
    s.undo_stack.push(SetMediaWarp(m.path, warp, offset=m.offset))
    assert win.frame_at(2.0 + m.offset) == lm.video.index_at(1.8) != frame_plain
    assert lm.stream.warp is warp  # the clock resamples along it
    assert win.media.duration == pytest.approx(m.offset + lm.duration / 0.9, abs=1e-6)
    assert win.media.duration > end_plain
    waves = [t for t in win.media_tracks() if t.kind == "waveform"]
    assert waves and all(t.warp is warp for t in waves)
    panel = win.video_pane.panels[lm.extra["panel"]]
    assert panel.media_time(2.0 + m.offset) == pytest.approx(1.8)
    times = win.frame_times()
    np.testing.assert_allclose(times[:3], lm.video.timestamps[:3] / 0.9 + m.offset)
    s.undo_stack.undo()
    assert lm.stream.warp is None and win.frame_at(2.0) == frame_plain
    assert all(t.warp is None for t in waves) and win.media.duration == pytest.approx(end_plain)
