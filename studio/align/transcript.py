"""Align a transcript to a recording: the Python API behind `studio align`, returning session tiers.

    session = align_transcript("talk.wav", "talk.txt")               # tiers "words" (+ "lines")
    session = align_transcript("talk.wav", text, level="phone")      # + "phones" (parent: words)
    io.write(session, "talk.TextGrid")

The transcript is a text (or a .txt path), a `studio.align.text.Transcript`, or an interval tier
(one line per interval). It is tokenized and normalised for speaking (`studio.align.text`:
numbers and symbols to words, fillers flagged, bracketed non-speech skipped) while the tiers keep
the user's own words. A user word that is spoken as several words ("42" → "forty two") is
synthesized as those words and gets the span from the first one's start to the last one's end.

Methods:
- ``"auto"`` (the default): ``"hmm"`` for English (``language`` "en" or "en-..."), else ``"tts-dtw"``.
- ``"hmm"`` (`studio.align.hmm_aligner`): tts-dtw first, then the transcript's phones placed by a
  phone HMM on the frame posteriors of Studio's bundled English phone model
  (`studio.models.phone_frames`; ``model=`` another folder of that kind). The most accurate on
  real English speech (docs/alignment.md).
- ``"tts-dtw"`` (`studio.align.tts_dtw`): espeak-ng synthesis + DTW; any espeak-ng language
  (``language`` is the espeak voice, e.g. "en", "de", "fr-fr", "es").
- ``"ctc"`` (`studio.align.ctc_aligner`): CTC forced alignment with an acoustic model
  (``model=``: an `AcousticModel`, the path of a Hugging Face wav2vec2-CTC folder, or "bundled",
  the default: `studio.models.small_ctc`), a star
  token absorbing speech that is not in the transcript; the model's units are the "phones".

Each word interval carries a confidence; a word the recording does not seem to contain is kept
with ``attrs["missing"] = True`` and confidence 0 (never silently dropped), and non-speech marks
("[laughter]") are left out of the words tier and listed in ``session.metadata["alignment"]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.annotations import Interval
from ..core.session import MediaRef, Session
from ..core.tiers import IntervalTier
from ..tasks.base import Progress, Task, run, scaled

__all__ = ["align_transcript", "align_transcript_task", "METHODS", "LEVELS"]

METHODS = ("auto", "hmm", "tts-dtw", "ctc")
LEVELS = ("line", "word", "phone")


def _transcript(transcript: Any, language: str) -> Any:
    from .text import Transcript, tokenize

    if isinstance(transcript, Transcript):
        return transcript
    if isinstance(transcript, IntervalTier):
        return Transcript.from_tier(transcript, language=language)
    if isinstance(transcript, (Path, os.PathLike)) or (
        isinstance(transcript, str)
        and "\n" not in transcript
        and transcript.endswith(".txt")
        and os.path.isfile(transcript)  # "see notes.txt" is a sentence unless such a file exists
    ):
        p = Path(transcript)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise FileNotFoundError(f"{p}: no such file") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            return tokenize(text, language=language)
        except ValueError as exc:
            raise ValueError(f"{p}: {exc}") from None
    if isinstance(transcript, str):
        return tokenize(transcript, language=language)
    raise TypeError(
        f"a transcript is a text, a .txt path, a Transcript or an IntervalTier, not {type(transcript)}"
    )


def is_english(language: str) -> bool:
    """Whether an espeak-ng voice name is English ("en", "en-us", "en-gb-x-rp", "en+f3", ...)."""
    base = language.split("+")[0].lower()
    return base == "en" or base.startswith("en-")


def align_transcript_task(
    media: Any,
    transcript: Any,
    *,
    method: str = "auto",
    level: str = "word",
    language: str = "en",
    **options: Any,
) -> Task[Session]:
    """`align_transcript` as a cancellable task."""
    from ..media.audio import AudioSource, open_audio_task

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    if method == "auto":
        method = "hmm" if is_english(language) else "tts-dtw"
    if method == "hmm" and not is_english(language):
        raise ValueError(
            f"method 'hmm' uses Studio's English phone model; for language {language!r} use method 'tts-dtw'"
        )
    tr = _transcript(transcript, language)
    yield Progress(0.0, "opening the recording")
    if isinstance(media, AudioSource):
        source, path = media, str(getattr(media, "path", ""))
    else:
        path = str(media)
        source = yield from scaled(open_audio_task(path), 0.0, 0.1)

    # the spoken words, each user word expanded into the words it is spoken as
    lines: list[list[str]] = []
    owners: list[int] = []  # per synthesized word: the user word (index into tr.words)
    for line in tr.lines:
        spoken: list[str] = []
        for w in line.words:
            if not w.spoken:
                continue
            for part in w.parts:
                spoken.append(part)
                owners.append(w.index)
        if spoken:
            lines.append(spoken)
    if not owners:
        raise ValueError("the transcript has no words to align (only non-speech marks?)")

    if method == "ctc":
        from ..models.acoustic import AcousticModel, load_acoustic_model
        from .ctc_aligner import ctc_align_task

        model = options.pop("model", None) or "bundled"
        if not isinstance(model, AcousticModel):
            yield Progress(0.1, "loading the acoustic model")
            model = load_acoustic_model(model)
        result = yield from scaled(ctc_align_task(source, lines, model, **options), 0.1, 0.95)
    elif method == "hmm":
        from .hmm_aligner import hmm_align_task

        model = options.pop("model", None) or "bundled"
        result = yield from scaled(
            hmm_align_task(source, lines, model=model, voice=language, **options), 0.1, 0.95
        )
    else:
        from .tts_dtw import align_tts_task

        options.pop("model", None)
        result = yield from scaled(align_tts_task(source, lines, voice=language, **options), 0.1, 0.95)

    words = tr.words
    spans: dict[int, list[Any]] = {}
    for timing in result.words:
        spans.setdefault(owners[timing.index], []).append(timing)
    words_tier = IntervalTier("words")
    phones_tier = IntervalTier("phones", parent="words")
    lines_tier = IntervalTier("lines")
    skipped = []
    prev_end = 0.0
    for w in words:
        parts = spans.get(w.index)
        if not parts:
            skipped.append(w.text)
            continue
        start = max(min(p.start for p in parts), prev_end)
        end = max(max(p.end for p in parts), start + 0.01)
        conf = min(p.confidence for p in parts)
        missing = any(p.missing for p in parts)
        attrs = {"missing": True} if missing else {}
        if w.filler:
            attrs["filler"] = True
        words_tier.insert(Interval(start, end, w.text, confidence=round(conf, 4), attrs=attrs))
        prev_end = end
        if level == "phone":
            p_prev = start
            for p in parts:
                for ps, pe, sym in p.phones:
                    ps, pe = max(ps, p_prev), min(max(pe, ps + 0.005), end)
                    if pe - ps >= 0.001:
                        phones_tier.insert(Interval(ps, pe, sym))
                        p_prev = pe
    if len(tr.lines) > 1 or level == "line":
        _fill_lines(lines_tier, tr, words_tier)
    tiers = [words_tier] if level != "line" else []
    if len(lines_tier):
        tiers = [lines_tier, *tiers]
        if level != "line":
            words_tier.parent = "lines"
    if level == "phone":
        tiers.append(phones_tier)
    media_refs = [MediaRef(os.path.abspath(path), kind="audio")] if path else []
    session = Session(tiers, media_refs)
    session.metadata["alignment"] = {
        "method": method,
        "language": language,
        "cost": result.cost,
        "skipped_nonspeech": skipped,
        **{k: result.details[k] for k in ("dropped", "untokenizable", "model") if result.details.get(k)},
        "missing": [iv.label for iv in words_tier if iv.attrs.get("missing")],
    }
    session.metadata["media_duration"] = round(source.duration, 6)
    yield Progress(1.0, "aligned")
    return session


def _fill_lines(lines_tier: IntervalTier, tr: Any, words_tier: IntervalTier) -> None:
    """One interval per transcript line, from its first aligned word's start to its last one's end."""
    aligned = list(words_tier)
    k = 0
    for line in tr.lines:
        n = sum(1 for w in line.words if w.spoken)
        group = aligned[k : k + n]
        k += n
        if not group:
            continue
        start, end = group[0].start, group[-1].end
        if len(lines_tier) and start < lines_tier[-1].end:
            start = lines_tier[-1].end
        if end - start > 1e-3:
            lines_tier.insert(Interval(start, end, line.text.strip()))


def align_transcript(media: Any, transcript: Any, **kw: Any) -> Session:
    """Align `transcript` to the recording `media` (a path or an AudioSource); see the module doc."""
    return run(align_transcript_task(media, transcript, **kw))
