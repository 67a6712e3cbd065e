"""Transcript alignment by phone HMM on a frame classifier, seeded by tts-dtw (Qt-free).

`studio align --method hmm`, the default for English:

1. `studio.align.tts_dtw` aligns the synthesized transcript to the recording (robust over an hour,
   any pauses) and gives every word's rough span and its phones as espeak-ng says them.
2. The phone-frame model (`studio.models.phone_frames`, bundled, or ``model=`` a folder) gives
   per-10 ms phone posteriors of the recording.
3. `studio.align.phone_hmm` places the phones on those posteriors (minimum phone length 30 ms,
   optional silence between words), each word within ``search`` seconds of its tts-dtw span; a
   word may be left out at a cost (``skip_penalty`` per phone).

Words come out with phone-level boundaries where the label changes, which the DTW path between two
different voices cannot give. Confidence is the goodness-of-pronunciation score of `phone_hmm`. A word
the recording does not contain costs more when forced in than when left out, so the HMM leaves it
out: it is flagged missing (confidence 0, a 10 ms mark where it would have been) instead of
squeezed between its neighbours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled
from .tts_dtw import RATE, TTSAlignment, WordTiming

__all__ = ["hmm_align", "hmm_align_task"]


def hmm_align_task(
    audio: Any,
    lines: list[list[str]],
    *,
    model: Any = None,
    voice: str = "en",
    search: float = 1.0,
    prior_weight: float = 0.0,
    min_frames: int = 3,
    skip_penalty: float | None = 8.0,
    silence_penalty: float = 1.0,
    min_pause: float = 0.0,
    posteriors: np.ndarray | None = None,
) -> Task[TTSAlignment]:
    """Align `lines` (each a list of spoken words) to `audio` (an `AudioSource`-like object or a
    (samples, rate) pair); `model`: a `PhoneFrameModel`, a model folder, or None for the bundled one;
    `posteriors`: the model's log posteriors of exactly this audio if already computed (e.g. sliced
    from a longer stretch, so that a short piece is normalised like its surroundings)."""
    from ..models.phone_frames import PhoneFrameModel, load_bundled_phones, load_phone_model, phone_class
    from .phone_hmm import align_phones_task
    from .tts_dtw import align_tts_task

    if not search > 0:
        raise ValueError(f"search must be > 0 seconds, not {search!r}")
    if model is None or model == "bundled":
        model = load_bundled_phones()
    elif not isinstance(model, PhoneFrameModel):
        model = load_phone_model(model)
    if isinstance(audio, tuple):
        real, sr = np.asarray(audio[0], dtype=np.float32).reshape(-1), int(audio[1])
        if sr != RATE:
            import soxr

            real = soxr.resample(real, sr, RATE).astype(np.float32)
    else:
        yield Progress(0.0, "reading the recording")
        real = audio.resampled(RATE, mono=True).load().reshape(-1).astype(np.float32)
    rough = yield from scaled(align_tts_task((real, RATE), lines, voice=voice), 0.02, 0.45)
    if posteriors is None:
        post = yield from scaled(model.log_posteriors_task(real), 0.45, 0.9)
    else:
        post = np.asarray(posteriors, np.float32)
        if abs(len(post) - model.num_frames(real.size)) > 1:
            raise ValueError(f"posteriors have {len(post)} frames for {model.num_frames(real.size)} of audio")
    symbols = [[sym for _, _, sym in w.phones] for w in rough.words]
    classes: list[list[list[int]]] = []
    k = 0
    for line in lines:
        classes.append([[phone_class(s) for s in symbols[k + i]] for i in range(len(line))])
        k += len(line)
    windows = [(w.start - search, w.end + search) for w in rough.words]
    res = yield from scaled(
        align_phones_task(
            None,
            classes,
            model,
            windows=windows,
            posteriors=post,
            prior_weight=prior_weight,
            min_frames=min_frames,
            skip_penalty=skip_penalty,
            silence_penalty=silence_penalty,
            min_pause=min_pause,
        ),
        0.9,
        1.0,
    )
    fd = res.frame_duration
    words = []
    for w, _r in zip(res.words, rough.words):
        missing = w.missing
        phones = [(a * fd, b * fd, sym) for (a, b, _), sym in zip(w.frames, symbols[w.index])]
        words.append(WordTiming(w.index, w.start, w.end, 0.0 if missing else w.confidence, missing, phones))
    return TTSAlignment(
        words,
        float(-res.score / max(1, len(post))),
        method="hmm",
        details={"model": getattr(model, "path", ""), "tts_dtw_cost": rough.cost},
    )


def hmm_align(audio: Any, lines: list[list[str]], **kw: Any) -> TTSAlignment:
    return run(hmm_align_task(audio, lines, **kw))
