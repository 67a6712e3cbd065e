"""Load what alignment needs before the window is up, so that the first alignment does not freeze it.

An alignment job runs on a worker thread, but the first one in a process also imports torch, loads
numba's compiled kernels from their cache and builds dispatchers, and Python holds the GIL through
most of that: measured with bench/ui_align_stall.py, the window's event loop then stalled for
100-220 ms at a time (the goal is under 50 ms). `warm_up()` does those things once, on the thread
that calls it (the app calls it before showing the window, ~1-2 s), on tiny inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["warm_up"]


def warm_up() -> None:
    """Import the alignment stack and run its compiled kernels once on tiny inputs."""
    import torch  # noqa: F401 - the import itself is the point

    from ..media import audio  # noqa: F401
    from ..models import phone_frames  # noqa: F401
    from ..tasks.base import run
    from . import espeak, hmm_aligner, transcript  # noqa: F401
    from .dtw import dtw
    from .multiscale import multiscale_dtw_task
    from .phone_hmm import viterbi_segments
    from .tts_dtw import features_for_alignment, speech_frames

    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 4)).astype(np.float32)
    dtw(x, x[::2], metric="cosine", step="asymmetric", subsequence=True)
    y2 = rng.standard_normal((64, 4)).astype(np.float32)
    run(multiscale_dtw_task(y2, y2, metric="cosine", step="asymmetric", subsequence=True, min_size=16))
    viterbi_segments(
        np.zeros((8, 3), np.float32), np.array([0, 1, 0]), np.array([True, False, True]), np.array([1, 2, 1])
    )
    y = rng.standard_normal(1600).astype(np.float32)
    features_for_alignment(y, 16000, "logmel")
    speech_frames(y, 16000)
