"""Transcript ↔ speech with a CTC acoustic model: the user's model says which unit is spoken when.

The method of the CTC-segmentation and MMS aligners (Kürzinger et al. 2020, "CTC-segmentation of
large corpora for German end-to-end speech recognition"; Pratap et al. 2024, "Scaling speech technology
to 1,000+ languages", §5) and of torchaudio's forced-alignment tutorial and WhisperX:

1. **Units.** Each spoken word is written in the model's own units (`AcousticModel.tokenize`: its
   characters, case-mapped as the vocabulary is). Between two consecutive words the word delimiter is
   put when the vocabulary has one ("|" in wav2vec2 vocabularies), so the model's word-boundary output
   is used; none is put before the first or after the last word (the recording may start or end with
   anything). Characters the vocabulary lacks are dropped and reported; a word with no known character
   cannot be placed and is flagged missing (placed, with zero length, after the previous word).
2. **Posteriors.** `AcousticModel.log_probs` of the whole recording (chunked with context; see
   `studio.models.acoustic`).
3. **Viterbi.** `studio.align.ctc.forced_align` finds the best CTC path through the units, with a
   synthetic star ("any other speech", Pratap et al. 2024) that every gap may emit at the best non-blank
   log-posterior minus ``star_penalty``: speech the transcript does not contain (a word left out, a
   false start, a second speaker) is absorbed by the star instead of stretching the words beside it.
   When the backpointers of the exact alignment (T × (2S + 1) bytes) would exceed ``max_exact_bytes``
   (256 MB: e.g. 12 minutes at 50 frames/s with ~6 000 units), `forced_align_windowed` is used, whose
   memory does not depend on the length.
4. **Words.** A word spans its first unit's first frame to its last unit's last frame
   ([first, last + 1) × frame_duration); its confidence is the mean over its units of the unit's
   posterior (exp of its mean log-posterior over its frames). A word whose confidence is under
   ``missing_below`` (0.1) is flagged missing with confidence 0: its units were forced onto frames
   where the model hears something else, so the recording most likely does not contain it. The
   units' own spans are the word's "phones" (the model's units, usually letters).

CTC models emit most units as one-frame spikes (Graves et al. 2006; Zeyer et al. 2021, "Why does CTC
result in peaky behavior?"), so a word's span runs from its first letter's spike to its last one's:
word ends may fall before the acoustic end of the last sound by a frame or two. The result has the
shape of `studio.align.tts_dtw.TTSAlignment` (``method="ctc"``), so `studio.align.transcript` makes
tiers from either.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled
from .tts_dtw import TTSAlignment, WordTiming

__all__ = ["ctc_align", "ctc_align_task", "ctc_targets", "read_samples"]

DEFAULT_STAR_PENALTY = 1.0
DEFAULT_MISSING_BELOW = 0.1


def read_samples(audio: Any, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of `audio` at `sample_rate`: an `AudioSource`-like object (with
    ``resampled(rate, mono=True).load()``) or a (samples, rate) pair (resampled with soxr if needed)."""
    if isinstance(audio, tuple):
        if len(audio) != 2:
            raise ValueError("audio given as a tuple must be (samples, sample_rate)")
        x = np.asarray(audio[0])
        rate = audio[1]
        if not (isinstance(rate, (int, np.integer)) and rate > 0):
            raise ValueError(f"the sample rate must be a positive integer, not {rate!r}")
        if x.ndim == 2:  # (channels, n)
            x = x.mean(axis=0)
        if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"samples must be a 1-D or (channels, n) float array, not {x.dtype} {x.shape}")
        x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("the samples contain NaN or infinity")
        if int(rate) != sample_rate and x.size:
            import soxr

            x = soxr.resample(x, int(rate), sample_rate, quality="HQ").astype(np.float32)
        return x
    return np.asarray(audio.resampled(sample_rate, mono=True).load(), dtype=np.float32).reshape(-1)


def ctc_targets(
    lines: list[list[str]], model: Any
) -> tuple[np.ndarray, np.ndarray, list[str], list[int], dict[str, Any]]:
    """The unit sequence of the spoken words.

    Returns ``targets`` (S,) token ids, ``owner`` (S,) the word index of each unit (-1 for a
    delimiter), ``labels`` (S,) the units' strings, ``untokenizable`` (word indexes with no unit) and a
    report: ``dropped`` {character: count}, ``replaced`` {character: base letter}."""
    if not isinstance(lines, (list, tuple)) or not all(isinstance(line, (list, tuple)) for line in lines):
        raise ValueError("lines must be a list of lines, each a list of spoken words")
    words = [w for line in lines for w in line]
    if not words:
        raise ValueError("the transcript has no words")
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise ValueError(f"word {i} is {type(w).__name__}, not a str")
    vocab = model.vocabulary
    targets: list[int] = []
    owner: list[int] = []
    dropped: Counter[str] = Counter()
    replaced: dict[str, str] = {}
    untokenizable: list[int] = []
    for i, w in enumerate(words):
        enc = model.encode(w)
        dropped.update(enc.dropped)
        replaced.update(dict(enc.replaced))
        ids = [t for t in enc.ids if t != vocab.delimiter]  # no delimiter inside a word's own span
        if not ids:
            untokenizable.append(i)
            continue
        if targets and vocab.delimiter is not None:
            targets.append(vocab.delimiter)
            owner.append(-1)
        targets.extend(ids)
        owner.extend([i] * len(ids))
    labels = [vocab.tokens[t] for t in targets]
    report = {"dropped": dict(dropped), "replaced": replaced}
    return np.asarray(targets, np.int64), np.asarray(owner, np.int64), labels, untokenizable, report


def ctc_align_task(
    audio: Any,
    lines: list[list[str]],
    model: Any,
    *,
    star_penalty: float | None = DEFAULT_STAR_PENALTY,
    missing_below: float = DEFAULT_MISSING_BELOW,
    max_exact_bytes: float = 256e6,
    window_frames: int = 4000,
    device: Any = None,
) -> Task[TTSAlignment]:
    """Align `lines` (each a list of spoken words, e.g. `Transcript` parts) to `audio` with the CTC
    `model` (an `studio.models.acoustic.AcousticModel`). See the module docstring.

    ``audio``: an `AudioSource`-like object or a (samples, rate) pair. ``star_penalty``: nats under the
    best non-blank output at which a gap may absorb untranscribed speech (None: plain CTC, no star).
    ``device``: where the Viterbi runs (default: the model's device). Returns a `TTSAlignment` with
    one `WordTiming` per spoken word (in reading order, ``index`` into the flattened words), ``cost``
    the mean negative log-posterior per frame of the path, and ``details``: ``dropped`` characters
    {char: count}, ``replaced`` {char: base letter}, ``untokenizable`` word indexes, ``frames``,
    ``frame_duration``, ``windowed``, ``star_frames``.
    """
    from .ctc import forced_align, forced_align_windowed

    if star_penalty is not None and not math.isfinite(float(star_penalty)):
        raise ValueError(f"star_penalty must be a finite number or None, not {star_penalty!r}")
    if not (0.0 <= float(missing_below) <= 1.0):
        raise ValueError(f"missing_below must be a posterior in [0, 1], not {missing_below!r}")
    targets, owner, labels, untokenizable, report = ctc_targets(lines, model)
    n_words = sum(len(line) for line in lines)
    if targets.size == 0:
        raise ValueError(
            "no word of the transcript can be written in the model's vocabulary "
            f"(characters not in it: {''.join(sorted(report['dropped'])) or 'none'})"
        )
    yield Progress(0.0, "reading the recording")
    samples = read_samples(audio, model.sample_rate)
    d = model.frame_duration
    lp = yield from scaled(model.log_probs_task(samples), 0.05, 0.85)
    T = int(lp.shape[0])
    need = int(targets.size + np.count_nonzero(targets[1:] == targets[:-1]))
    if need > T:
        raise ValueError(
            f"the recording ({T * d:.2f} s, {T} frames of {d * 1000:g} ms) is too short for the transcript: "
            f"its {targets.size} units need at least {need} frames"
        )
    yield Progress(0.85, "aligning")
    dev = device if device is not None else model.device
    windowed = T * (2 * targets.size + 1) > max_exact_bytes and T > window_frames
    kw = {"blank": model.vocabulary.blank, "star_penalty": star_penalty, "device": dev}
    if windowed:
        al = forced_align_windowed(lp, targets, window_frames=window_frames, **kw)
    else:
        al = forced_align(lp, targets, **kw)
    times = al.times(d)
    words: list[WordTiming] = []
    is_unit = owner >= 0
    prev_end = 0.0
    skip = set(untokenizable)
    # first/last unit of each word
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for k in np.nonzero(is_unit)[0]:
        w = int(owner[k])
        first.setdefault(w, int(k))
        last[w] = int(k)
    for i in range(n_words):
        if i in skip:
            words.append(WordTiming(i, prev_end, prev_end, 0.0, True, []))
            continue
        k0, k1 = first[i], last[i]
        start, end = float(times[k0, 0]), float(times[k1, 1])
        conf = float(np.mean(al.confidence[k0 : k1 + 1]))
        missing = conf < missing_below
        phones = [(float(times[k, 0]), float(times[k, 1]), labels[k]) for k in range(k0, k1 + 1)]
        words.append(WordTiming(i, start, end, 0.0 if missing else conf, missing, phones))
        prev_end = end
    yield Progress(1.0, "aligned")
    details = {
        **report,
        "untokenizable": untokenizable,
        "frames": T,
        "frame_duration": d,
        "windowed": windowed,
        "star_frames": int(al.star_frames.sum()),
        "method": "ctc",
    }
    return TTSAlignment(words, float(-al.log_prob / T), method="ctc", details=details)


def ctc_align(audio: Any, lines: list[list[str]], model: Any, **kw: Any) -> TTSAlignment:
    """`ctc_align_task` run here."""
    return run(ctc_align_task(audio, lines, model, **kw))
