"""Re-align the words around a boundary the user moved, holding that boundary as an anchor (Qt-free).

An aligner is usually right except in a few places; when the annotator drags a word boundary to
where it belongs, the words next to it were placed relative to the wrong boundary and should
follow. `realign_around_task` takes the recording, the aligned words (start, end, label) and the
moved boundary between words ``k`` and ``k + 1``, and aligns again only the ``context`` words on
each side: the words before it to the audio from the first of them to the boundary, the words
after it to the audio from the boundary to the last of them -- the boundary and the outer ends are
anchors, nothing else moves. The method is `studio.align.transcript`'s ("auto": the phone HMM for
English, tts-dtw otherwise), run on those short pieces. `realign_commands` turns the result into
undoable commands for the words tier (and its phones tier, whose phones in the span are replaced).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled

__all__ = ["RealignedWord", "realign_around", "realign_around_task", "realign_commands"]

RATE = 16000


@dataclass
class RealignedWord:
    index: int  # into the words given
    start: float
    end: float
    confidence: float
    missing: bool = False
    phones: list[tuple[float, float, str]] = field(default_factory=list)


def realign_around_task(
    samples: np.ndarray,
    rate: int,
    words: list[tuple[float, float, str]],
    k: int,
    boundary: float,
    *,
    context: int = 3,
    method: str = "auto",
    language: str = "en",
    model: Any = None,
) -> Task[list[RealignedWord]]:
    """New spans for the words ``k - context + 1 .. k + context`` (as far as they exist) of `words`
    (time-ordered (start, end, label)), the boundary between word `k` and `k + 1` held at `boundary`
    seconds. `samples` is the recording (mono) at `rate`."""
    from .text import tokenize
    from .transcript import is_english

    n = len(words)
    if not 0 <= k < n - 1:
        raise ValueError(f"there is no boundary after word {k} of {n}")
    if context < 1:
        raise ValueError(f"context must be at least 1 word, not {context}")
    lo, hi = max(0, k - context + 1), min(n - 1, k + context)
    if not words[lo][0] < boundary < words[hi][1]:
        raise ValueError(
            f"the boundary {boundary:.3f} s must lie inside {words[lo][0]:.3f}..{words[hi][1]:.3f} s "
            f"(from {words[lo][2]!r} to {words[hi][2]!r})"
        )
    if method == "auto":
        method = "hmm" if is_english(language) else "tts-dtw"
    x = np.asarray(samples, np.float32).reshape(-1)
    if rate != RATE:
        import soxr

        x = soxr.resample(x, rate, RATE).astype(np.float32)
    out: list[RealignedWord] = []
    blocks = [(lo, k, words[lo][0], boundary), (k + 1, hi, boundary, words[hi][1])]
    post = None
    if method == "hmm":
        from ..models.phone_frames import PhoneFrameModel, load_bundled_phones, load_phone_model

        if not isinstance(model, PhoneFrameModel):
            model = load_bundled_phones() if model in (None, "bundled") else load_phone_model(model)
        # posteriors of the region with some surroundings: the model normalises its features over
        # what it is given, and two short pieces alone would be normalised unlike the recording
        c0 = max(0, int(round((words[lo][0] - 3.0) * RATE)) // 160 * 160)
        c1 = min(x.size, int(round((words[hi][1] + 3.0) * RATE)))
        post = yield from scaled(model.log_posteriors_task(x[c0:c1]), 0.0, 0.2)
    for b, (i0, i1, t0, t1) in enumerate(blocks):
        yield Progress(0.2 + 0.4 * b, f"re-aligning {words[i0][2]} .. {words[i1][2]}")
        piece = x[int(round(t0 * RATE)) : int(round(t1 * RATE))]
        # each word as the user wrote it, spoken as its normalised parts
        spoken: list[list[str]] = []
        for _, _, label in words[i0 : i1 + 1]:
            parts = [p for w in tokenize(label, language=language).words for p in w.parts]
            spoken.append(parts or [label])
        flat = [p for parts in spoken for p in parts]
        owner = [j for j, parts in enumerate(spoken) for _ in parts]
        if method == "hmm":
            from .hmm_aligner import hmm_align_task

            f0 = (int(round(t0 * RATE)) - c0) // 160
            sub = post[f0 : f0 + model.num_frames(piece.size)]
            if len(sub) < model.num_frames(piece.size):
                sub = np.vstack([sub, np.repeat(sub[-1:], model.num_frames(piece.size) - len(sub), 0)])
            task = hmm_align_task((piece, RATE), [flat], model=model, voice=language, posteriors=sub)
        elif method == "tts-dtw":
            from .tts_dtw import align_tts_task

            task = align_tts_task((piece, RATE), [flat], voice=language)
        else:
            raise ValueError(f"re-alignment needs method auto, hmm or tts-dtw, not {method!r}")
        res = yield from scaled(task, 0.2 + 0.4 * b, 0.6 + 0.4 * b)
        per: dict[int, list[Any]] = {}
        for w in res.words:
            per.setdefault(owner[w.index], []).append(w)
        prev_end = t0
        for j in range(i1 - i0 + 1):
            parts = per.get(j, [])
            s = max(t0 + min((p.start for p in parts), default=0.0), prev_end)
            e = min(t0 + max((p.end for p in parts), default=0.0), t1)
            e = max(e, min(s + 0.01, t1))
            phones = [(t0 + a, t0 + c, sym) for p in parts for a, c, sym in p.phones]
            out.append(
                RealignedWord(
                    i0 + j,
                    s,
                    e,
                    min((p.confidence for p in parts), default=0.0),
                    any(p.missing for p in parts),
                    phones,
                )
            )
            prev_end = e
        # the block's ends are the anchors: its first word starts and its last word ends there
        block = out[len(out) - (i1 - i0 + 1) :]
        block[0].start, block[-1].end = t0, t1
        block[-1].start = min(block[-1].start, t1 - 0.01)
        block[0].end = max(block[0].end, t0 + 0.01)
    yield Progress(1.0, "re-aligned")
    return out


def realign_around(
    samples: np.ndarray, rate: int, words: list[tuple[float, float, str]], k: int, boundary: float, **kw: Any
) -> list[RealignedWord]:
    return run(realign_around_task(samples, rate, words, k, boundary, **kw))


def realign_commands(
    session: Any, words_tier: str, result: list[RealignedWord], phones_tier: str | None = None
) -> list[Any]:
    """Commands applying `result` (indexes into the words tier in time order): each word's new start,
    end, confidence and missing flag; with `phones_tier`, the phones inside the re-aligned span are
    replaced by the new ones. Push them in one undo macro (with the boundary move that caused them)."""
    from ..core.annotations import Interval
    from ..core.commands import AddAnnotation, DeleteAnnotation

    tier = session.tier(words_tier)
    items = list(tier)
    cmds: list[Any] = []
    # every re-aligned word is taken out, then put back with its new times under the same id (one
    # ReplaceAnnotation at a time could overlap a neighbour that has not moved yet)
    for w in result:
        cmds.append(DeleteAnnotation(words_tier, items[w.index].id))
    for w in result:
        a = items[w.index]
        attrs = dict(a.attrs)
        if w.missing:
            attrs["missing"] = True
        else:
            attrs.pop("missing", None)
        cmds.append(
            AddAnnotation(
                words_tier,
                a.replace(start=w.start, end=w.end, confidence=round(w.confidence, 4), attrs=attrs),
            )
        )
    if phones_tier is not None and result:
        span0, span1 = min(w.start for w in result), max(w.end for w in result)
        old0 = min(items[w.index].start for w in result)
        old1 = max(items[w.index].end for w in result)
        ph = session.tier(phones_tier)
        lo_t, hi_t = min(span0, old0), max(span1, old1)
        for p in list(ph):
            if p.start >= lo_t - 1e-9 and p.end <= hi_t + 1e-9:
                cmds.append(DeleteAnnotation(phones_tier, p.id))
        for w in result:
            for s, e, sym in w.phones:
                s, e = max(s, w.start), min(e, w.end)
                if e - s >= 0.001:
                    cmds.append(AddAnnotation(phones_tier, Interval(s, e, sym)))
    return cmds
