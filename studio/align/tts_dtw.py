"""Transcript ↔ speech by synthesis and DTW: no acoustic model, any language espeak-ng speaks.

The method Praat's "Align interval" and aeneas use, with what measurement said helps:

1. **Synthesize** the transcript with espeak-ng (`studio.align.espeak`), one word per espeak
   word, so espeak's word (and phone) events give the exact boundaries of every word in the
   synthetic audio. A short pause is put between words (``word_gap``) and a longer one between
   lines (``line_gap``): real speech pauses then map onto synthetic silence instead of stretching
   the word beside them.
2. **Features** of both signals at 16 kHz, 10 ms hop: MFCC 1–12 with deltas (or log-mel), each
   signal normalised per dimension (cepstral mean and variance normalisation), which removes most
   of the difference between the synthetic voice and the speaker's channel.
3. **DTW** with the cosine distance, open at both ends on the recording's side (the recording may
   have anything before and after the transcript), exact when it fits in memory and multiscale
   (`studio.align.multiscale`, linear time and memory) for long recordings.
4. **Boundaries**: a word starts at the first recording frame the path matches to its first
   synthetic frame, and ends at the last frame matched to its last one.
5. **Confidence** per word from the mean path distance over its frames, relative to the median
   over the whole alignment (0.5 for a typical word, towards 0 for a poor match). A word whose
   recording span collapses (under a quarter of its synthetic length and under 60 ms) is flagged
   ``attrs["missing"] = True``: the audio most likely does not contain it.

Measured on real speech with references made outside this project (`bench/align_accuracy.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run, scaled

__all__ = ["TTSAlignment", "WordTiming", "align_tts", "align_tts_task", "features_for_alignment"]

HOP = 0.01
RATE = 16000


@dataclass
class WordTiming:
    index: int  # into the transcript's words
    start: float
    end: float
    confidence: float
    missing: bool = False
    phones: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass
class TTSAlignment:
    words: list[WordTiming]
    cost: float
    method: str = "tts-dtw"
    details: dict[str, Any] = field(default_factory=dict)


def features_for_alignment(samples: np.ndarray, sample_rate: int, kind: str = "mfcc") -> np.ndarray:
    """(frames, dims) features at 10 ms hop, mean/variance normalised per dimension."""
    import librosa

    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate != RATE:
        import soxr

        y = soxr.resample(y, sample_rate, RATE).astype(np.float32)
    if y.size < 400:
        y = np.pad(y, (0, 400 - y.size))
    if kind not in ("mfcc", "logmel"):
        raise ValueError(f"features must be 'mfcc' or 'logmel', got {kind!r}")
    m = _mel_chunked(y)
    if kind == "mfcc":
        f = librosa.feature.mfcc(S=librosa.power_to_db(m), n_mfcc=13)[1:]
        f = np.vstack([f, librosa.feature.delta(f, width=5)])
    else:
        f = np.log(m + 1e-8)
    f = (f - f.mean(axis=1, keepdims=True)) / (f.std(axis=1, keepdims=True) + 1e-6)
    return np.ascontiguousarray(f.T, dtype=np.float32)


def _frame_blocks(y: np.ndarray, block: int):
    """(first frame, end frame, samples) per block of `block` frames of a centred 400-sample,
    160-hop framing of `y` with zero padding: what librosa frames with ``center=True``, a block at a
    time (framing or transforming an hour at once takes ~0.6-1.2 GB)."""
    T = 1 + y.size // 160
    for j0 in range(0, T, block):
        j1 = min(T, j0 + block)
        a, b = 160 * j0 - 200, 160 * (j1 - 1) + 200
        seg = y[max(a, 0) : min(b, y.size)]
        if a < 0 or b > y.size:
            seg = np.pad(seg, (max(0, -a), max(0, b - y.size)))
        yield j0, j1, seg


def _mel_chunked(y: np.ndarray, block: int = 6000) -> np.ndarray:
    """librosa's 40-band mel power spectrogram of `y` (16 kHz; n_fft 400, hop 160, centred frames,
    zero padding) a block of frames at a time, in numpy (`studio.media.mel`: librosa's first call
    in a process holds the GIL for ~200 ms stretches); equal to librosa's to float rounding."""
    from ..media.mel import frame_power, mel_filterbank

    fb = mel_filterbank(RATE, 400, 40)
    out = np.empty((40, 1 + y.size // 160), np.float32)
    for j0, j1, seg in _frame_blocks(y, block):
        out[:, j0:j1] = fb @ frame_power(seg, 400, 160)
    return out


def _rms_chunked(y: np.ndarray, block: int = 6000) -> np.ndarray:
    """``librosa.feature.rms(y, frame_length=400, hop_length=160)[0]`` a block of frames at a time."""
    out = np.empty(1 + y.size // 160, np.float32)
    for j0, j1, seg in _frame_blocks(y, block):
        frames = np.lib.stride_tricks.sliding_window_view(seg, 400)[::160]
        out[j0:j1] = np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=1))
    return out


def speech_frames(
    samples: np.ndarray, sample_rate: int, max_pause: float = 0.4, keep_pause: float = 0.2
) -> np.ndarray:
    """Indexes of the 10 ms frames to align: every frame except the middle of long pauses.

    A pause (frames more than ``(loud - quiet) * 0.3`` dB under the recording's loud level, where
    loud/quiet are its 95th/10th percentile frame energies) longer than ``max_pause`` keeps only
    ``keep_pause`` seconds (half at each end). The synthetic speech pauses 0.05-0.3 s; a recording's
    long pauses (a conversation's gaps, silence between takes) would otherwise have to be absorbed
    by stretching the words beside them, which the step pattern limits to 2x."""

    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate != RATE:
        import soxr

        y = soxr.resample(y, sample_rate, RATE).astype(np.float32)
    rms = _rms_chunked(np.pad(y, (0, max(0, 400 - y.size))))
    db = 20 * np.log10(rms + 1e-10)
    quiet, loud = np.percentile(db, [10, 95])
    silent = db < loud - 0.7 * (loud - quiet)
    keep = np.ones(db.size, bool)
    max_n, half = int(round(max_pause / HOP)), int(round(keep_pause / HOP / 2))
    i = 0
    while i < db.size:
        if silent[i]:
            j = i
            while j < db.size and silent[j]:
                j += 1
            if j - i > max_n:
                keep[i + half : j - half] = False
            i = j
        else:
            i += 1
    return np.nonzero(keep)[0]


def _synthesize(lines: list[list[str]], voice: str, word_gap: float, line_gap: float) -> tuple:
    """Synthetic audio of the lines' words, with each word's [start, end) and its phones in it.

    Each line is synthesized whole (coarticulation and prosody as espeak makes them), then cut
    midway between neighbouring words, and silence is put into the cuts."""
    from . import espeak

    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    phones: list[list[tuple[float, float, str]]] = []
    t = 0.0
    sr = 0
    for li, words in enumerate(lines):
        if not words:
            continue
        syn = espeak.synthesize(words, voice=voice)
        sr = int(syn.sample_rate)
        x = np.asarray(syn.samples, dtype=np.float32).reshape(-1)
        ws = sorted(syn.words, key=lambda w: w.index)
        per_word: list[list[tuple[float, float, str]]] = [[] for _ in ws]
        for ph in syn.phones:
            if 0 <= ph.word < len(per_word):
                per_word[ph.word].append((ph.start, ph.end, ph.symbol))
        cuts = [0.0] + [(ws[k].end + ws[k + 1].start) / 2 for k in range(len(ws) - 1)] + [x.size / sr]
        for k, w in enumerate(ws):
            a, b = int(round(cuts[k] * sr)), int(round(cuts[k + 1] * sr))
            seg = x[a:b]
            shift = t - a / sr
            spans.append((w.start + shift, w.end + shift))
            phones.append([(ps + shift, pe + shift, sym) for ps, pe, sym in per_word[k]])
            pieces.append(seg)
            t += seg.size / sr
            gap = word_gap if k < len(ws) - 1 else (line_gap if li < len(lines) - 1 else 0.0)
            if gap > 0:
                z = int(round(gap * sr))
                pieces.append(np.zeros(z, np.float32))
                t += z / sr
    if not pieces:
        raise ValueError("the transcript has no words to synthesize")
    return np.concatenate(pieces), sr, spans, phones


def align_tts_task(
    audio: Any,
    lines: list[list[str]],
    *,
    voice: str = "en",
    features: str = "logmel",
    word_gap: float = 0.05,
    line_gap: float = 0.3,
    step: str = "asymmetric",
    compact_pauses: bool = True,
    max_exact_cells: float = 6e7,
    min_size: int = 8192,
) -> Task[TTSAlignment]:
    """Align `lines` (each a list of spoken words, e.g. `Transcript` norms) to `audio` (an
    `AudioSource`-like object with ``resampled(rate, mono=True).load()``, or a (samples, rate) pair)."""
    from .dtw import dtw_task
    from .multiscale import multiscale_dtw_task

    if not any(lines):
        raise ValueError("the transcript has no words")
    yield Progress(0.0, "synthesizing the transcript")
    syn, syn_sr, spans, phones = _synthesize(lines, voice, word_gap, line_gap)
    yield Progress(0.1, "reading the recording")
    if isinstance(audio, tuple):
        real, real_sr = np.asarray(audio[0], dtype=np.float32).reshape(-1), int(audio[1])
    else:
        real, real_sr = audio.resampled(RATE, mono=True).load().reshape(-1), RATE
    if real.size < RATE * 0.05:
        raise ValueError("the recording is shorter than 50 ms")
    yield Progress(0.2, "features")
    Fs = features_for_alignment(syn, syn_sr, features)
    Fr_all = features_for_alignment(real, real_sr, features)
    keep = speech_frames(real, real_sr) if compact_pauses else np.arange(len(Fr_all))
    keep = keep[keep < len(Fr_all)]
    Fr = np.ascontiguousarray(Fr_all[keep])
    yield Progress(0.35, "aligning")
    if float(len(Fs)) * len(Fr) <= max_exact_cells:
        task = dtw_task(Fs, Fr, metric="cosine", step=step, subsequence=True)
    else:
        task = multiscale_dtw_task(Fs, Fr, metric="cosine", step=step, subsequence=True, min_size=min_size)
    res = yield from scaled(task, 0.35, 0.95)
    path = res.path.copy()
    path[:, 1] = keep[path[:, 1]]  # back to the recording's own frames
    Fr = Fr_all
    # per synthetic frame: the first and last recording frame matched, and the local distance
    n = len(Fs)
    first = np.full(n, np.iinfo(np.int64).max, np.int64)
    last = np.full(n, -1, np.int64)
    np.minimum.at(first, path[:, 0], path[:, 1])
    np.maximum.at(last, path[:, 0], path[:, 1])
    a = Fs[path[:, 0]]
    b = Fr[path[:, 1]]
    dist = 1.0 - (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9)
    med = float(np.median(dist)) or 1e-6
    words = []
    for k, (s, e) in enumerate(spans):
        i0 = min(int(math.floor(s / HOP + 1e-6)), n - 1)
        i1 = min(max(int(math.ceil(e / HOP - 1e-6)) - 1, i0), n - 1)
        j0, j1 = int(first[i0]), int(last[i1])
        start, end = j0 * HOP, (j1 + 1) * HOP
        sel = (path[:, 0] >= i0) & (path[:, 0] <= i1)
        d = float(dist[sel].mean()) if sel.any() else med
        conf = float(np.clip(1.0 - 0.5 * d / med, 0.0, 1.0))
        missing = (end - start) < max(0.25 * (e - s), 0.0) and (end - start) < 0.06
        mapped = []
        for ps, pe, sym in phones[k]:
            q0 = min(int(ps / HOP), n - 1)
            q1 = min(max(int(math.ceil(pe / HOP)) - 1, q0), n - 1)
            mapped.append((first[q0] * HOP, (last[q1] + 1) * HOP, sym))
        words.append(
            WordTiming(k, start, max(end, start + HOP), conf if not missing else 0.0, missing, mapped)
        )
    yield Progress(1.0, "done")
    return TTSAlignment(
        words, float(res.normalized_cost), details={"path_frames": len(path), "method": res.method}
    )


def align_tts(audio: Any, lines: list[list[str]], **kw: Any) -> TTSAlignment:
    return run(align_tts_task(audio, lines, **kw))
