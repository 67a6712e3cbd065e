"""Test cases for `bench/align_accuracy.py`: audio, transcript and reference boundaries.

Each case gives the transcript as lines of spoken words (``studio.align.text.tokenize`` norms, the
form every aligner here is given) and the reference span of every scored unit: each word (word
level) or each line (utterance level: the start of its first word and the end of its last).

- ``grid``: GRID ``swwp2s`` (Cooke et al. 2006), word times from the corpus's own ``.align`` file
  (1/25000 s units, ``sil`` skipped). One speaker, read command sentence, 3 s.
- ``conversation``: the pyannote-audio telephone sample, 13 utterances by two speakers
  (spontaneous, some touching or overlapping), times from its ``.stm``.
- ``espeak``: a paragraph spoken by espeak-ng voice ``en-us`` at 150 wpm; espeak's own word events
  give exact boundaries. A sanity case: the aligners hear a synthetic voice, so it says whether the
  machinery works, not how good it is on people.
- ``long``: the conversation repeated to about an hour (speed and memory; accuracy against the
  repeated reference is a bonus).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
GRID = DATA / "grid"
CONVERSATION = DATA / "conversation"

PARAGRAPH = """\
The old lighthouse stood at the edge of the harbour for nearly two hundred years.
Every evening the keeper climbed the narrow stairs and lit the lamp before the fishing boats came home.
One winter a storm broke the windows and the light went out for three long nights.
The people of the village carried lanterns to the rocks so that no ship would be lost.
When spring arrived they rebuilt the tower with stone from the hills behind the town.
"""


@dataclass
class Case:
    name: str
    level: str  # "word" or "utterance"
    lines: list[list[str]]  # spoken words per line
    ref: list[tuple[float, float]]  # per word (word level) or per line (utterance level)
    duration: float  # seconds of audio
    path: Path | None = None  # a media file every aligner can read
    samples: np.ndarray | None = None  # or audio in memory (mono float32) ...
    rate: int = 0  # ... at this rate

    @property
    def words(self) -> list[str]:
        return [w for line in self.lines for w in line]

    def source(self):
        """The audio as `align_tts` takes it: an opened `AudioSource` or a (samples, rate) pair."""
        if self.path is not None:
            from studio.media.audio import open_audio

            return open_audio(self.path)
        return (self.samples, self.rate)

    def pcm16k(self) -> np.ndarray:
        """Mono float32 at 16 kHz."""
        if self.path is not None:
            from studio.media.audio import open_audio

            with open_audio(self.path) as a:
                return np.asarray(a.resampled(16000, mono=True).load(), np.float32).reshape(-1)
        import soxr

        return soxr.resample(self.samples, self.rate, 16000).astype(np.float32)


def _norm_lines(texts: list[str]) -> list[list[str]]:
    from studio.align.text import tokenize

    t = tokenize("\n".join(texts))
    lines = [[w.norm for w in line.words if w.norm] for line in t.lines]
    if len(lines) != len(texts):
        raise ValueError(f"{len(texts)} utterances gave {len(lines)} transcript lines")
    return lines


def grid_case(name: str = "swwp2s") -> Case:
    words, ref = [], []
    for row in (GRID / f"{name}.align").read_text().split("\n"):
        if not row.strip():
            continue
        a, b, w = row.split()
        if w == "sil":
            continue
        words.append(w)
        ref.append((int(a) / 25000, int(b) / 25000))
    path = GRID / f"{name}.mpg"
    from studio.media.audio import open_audio

    with open_audio(path) as a:
        dur = a.duration
    return Case(f"GRID {name}", "word", [words], ref, dur, path=path)


def _stm(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for row in path.read_text().splitlines():
        if not row.strip() or row.startswith(";;"):
            continue
        f = row.split(maxsplit=5)
        out.append((float(f[3]), float(f[4]), f[5] if len(f) > 5 else ""))
    return out


def conversation_case() -> Case:
    utts = _stm(CONVERSATION / "sample.stm")
    lines = _norm_lines([u[2] for u in utts])
    import soundfile as sf

    dur = sf.info(str(CONVERSATION / "sample.wav")).duration
    return Case(
        "conversation (telephone, 2 speakers)",
        "utterance",
        lines,
        [(a, b) for a, b, _ in utts],
        dur,
        path=CONVERSATION / "sample.wav",
    )


def espeak_case(voice: str = "en-us", rate: int = 150) -> Case:
    from studio.align import espeak

    lines = _norm_lines([s for s in PARAGRAPH.splitlines() if s.strip()])
    syn = espeak.synthesize(lines, voice=voice, rate=rate)
    ws = sorted(syn.words, key=lambda w: w.index)
    x = np.asarray(syn.samples, np.float32).reshape(-1)
    return Case(
        f"espeak {voice} {rate} wpm",
        "word",
        lines,
        [(w.start, w.end) for w in ws],
        x.size / syn.sample_rate,
        samples=x,
        rate=int(syn.sample_rate),
    )


def long_case(repeats: int, wav_path: Path) -> Case:
    """The conversation `repeats` times end to end, written to `wav_path` (16-bit PCM)."""
    import soundfile as sf

    base = conversation_case()
    x, sr = sf.read(str(base.path), dtype="int16")
    if x.ndim > 1:
        x = x[:, 0]
    period = x.size / sr
    with sf.SoundFile(str(wav_path), "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(repeats):
            f.write(x)
    lines = [line for _ in range(repeats) for line in base.lines]
    ref = [(a + k * period, b + k * period) for k in range(repeats) for a, b in base.ref]
    return Case(f"conversation x{repeats}", "utterance", lines, ref, repeats * period, path=wav_path)
