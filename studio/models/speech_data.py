"""The data of the shipped speech-activity model: GRID talking heads and AMI meetings, as FrameData.

Everything comes from ``../shared/data`` beside the checkout (or ``$STUDIO_SHARED_DATA``), read
offline; nothing is written into the repository:

* **GRID** (`grid_clips`) — 11 three-second talking-head clips (video 25 fps + audio). Speech is the
  union of the sentence's word intervals. ``swwp2s`` has a hand alignment (``swwp2s.align``); the
  others have none, but GRID's file names encode the sentence (``bbaf2n`` = "bin blue at f two
  now"), so the sentence is aligned with Studio's own aligner (`align_transcript`, method "auto").
  The alignments are cached in Studio's cache folder (keyed by the clip's identity), so only the
  first build pays for them (~2 s a clip).
* **AMI** (`ami_files`) — 60 s meeting recordings (audio only: video is absent, ``present`` False)
  with speaker turns (RTTM); only the part a UEM file marks as annotated is labelled, elsewhere
  labels are -1 (not "non-speech": nobody looked).

`speech_activity_data_task(split)` gives the training files or the held-out ones (3 GRID clips by
name — ``swwp2s``, whose labels are hand-made, among them — and the AMI dev files), with classes
``["non-speech", "speech"]``. ``snr_db=`` mixes AMI babble into the GRID audio (`with_noise`) so the
benefit of the video (the mouth moves whatever the noise) can be shown: the babble is three AMI
training recordings summed at seeded offsets (seed + clip name: the same mix every run), scaled so
that the clip's mean power over the babble's mean power is ``snr_db``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.annotations import Interval
from studio.core.tiers import IntervalTier
from studio.models.framedata import (
    FrameData,
    audio_block_task,
    frame_data_task,
    labels_from_rttm,
    read_uem,
    union_tier,
)
from studio.tasks.base import Progress, Task, run, scaled

__all__ = [
    "CLASSES",
    "HELDOUT_GRID",
    "GridClip",
    "AmiFile",
    "data_root",
    "grid_clips",
    "grid_sentence",
    "ami_files",
    "speech_tier_of",
    "speech_activity_data",
    "speech_activity_data_task",
    "noisy_audio",
    "with_noise",
]

CLASSES = ["non-speech", "speech"]
HELDOUT_GRID = ("swwp2s", "lbbc2a", "pwij3p")
_ALIGN_VERSION = "grid-speech-v1"
_RATE = 16000

_COMMAND = {"s": "set", "b": "bin", "l": "lay", "p": "place"}
_COLOUR = {"w": "white", "r": "red", "g": "green", "b": "blue"}
_PREPOSITION = {"a": "at", "b": "by", "i": "in", "w": "with"}
_DIGIT = dict(zip("z123456789", "zero one two three four five six seven eight nine".split()))
_ADVERB = {"s": "soon", "n": "now", "a": "again", "p": "please"}


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``../shared/data`` beside the checkout, or `root`, or ``$STUDIO_SHARED_DATA``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("STUDIO_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass(frozen=True)
class GridClip:
    name: str
    media: Path
    sentence: str
    align: Path | None  # the hand alignment, when there is one


@dataclass(frozen=True)
class AmiFile:
    name: str
    media: Path
    rttm: Path
    uem: Path
    split: str  # "train" or "dev"


def grid_sentence(name: str) -> str:
    """The sentence a GRID file name encodes: "bbaf2n" -> "bin blue at f two now"."""
    n = name.lower()
    if len(n) != 6:
        raise ValueError(f"{name!r} is not a GRID clip name (six letters, e.g. bbaf2n)")
    try:
        words = [_COMMAND[n[0]], _COLOUR[n[1]], _PREPOSITION[n[2]], n[3], _DIGIT[n[4]], _ADVERB[n[5]]]
    except KeyError as exc:
        raise ValueError(f"{name!r} is not a GRID clip name ({exc.args[0]!r} not in the grammar)") from None
    return " ".join(words)


def grid_clips(root: str | os.PathLike[str] | None = None) -> list[GridClip]:
    folder = data_root(root) / "grid"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no GRID clips (../shared/data/grid)")
    clips = []
    for media in sorted(folder.glob("*.mpg")):
        align = media.with_suffix(".align")
        clips.append(
            GridClip(media.stem, media, grid_sentence(media.stem), align if align.is_file() else None)
        )
    return clips


def ami_files(root: str | os.PathLike[str] | None = None) -> list[AmiFile]:
    folder = data_root(root) / "ami"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no AMI files (../shared/data/ami)")
    out = []
    for media in sorted(folder.glob("*.wav")):
        split = "train" if media.stem.startswith("trn") else "dev" if media.stem.startswith("dev") else ""
        if not split:
            continue
        kind = "train" if split == "train" else "development"
        out.append(
            AmiFile(media.stem, media, folder / f"debug.{kind}.rttm", folder / f"debug.{kind}.uem", split)
        )
    return out


# -- speech labels of a GRID clip ----------------------------------------------------------------


def read_grid_align(path: str | os.PathLike[str]) -> IntervalTier:
    """A GRID ``.align`` file (``start end word`` in 1/25000 s) as a words tier, ``sil`` left out."""
    words = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) == 3 and f[2] != "sil":
            words.append(Interval(int(f[0]) / 25000.0, int(f[1]) / 25000.0, f[2]))
    return IntervalTier("words", words)


def speech_tier_of(clip: GridClip) -> Task[IntervalTier]:
    """The speech tier (union of the word intervals) of a GRID clip; aligned once, then cached."""
    if clip.align is not None:
        words = read_grid_align(clip.align)
        return union_tier([(w.start, w.end) for w in words])
    from studio.media.cache import cache_dir, file_key

    cached = cache_dir("speech_data") / f"{file_key(clip.media, _ALIGN_VERSION, clip.sentence)}.json"
    if cached.is_file():
        try:
            spans = json.loads(cached.read_text(encoding="utf-8"))
            return union_tier([(float(a), float(b)) for a, b in spans])
        except (OSError, ValueError, TypeError):
            pass  # a damaged entry: align again
    from studio.align.transcript import align_transcript_task

    session = yield from align_transcript_task(clip.media, clip.sentence, method="auto")
    spans = [(iv.start, iv.end) for iv in session.tier("words")]
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(spans), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass  # a cache that cannot be written is only slower
    finally:
        tmp.unlink(missing_ok=True)
    return union_tier(spans)


# -- noise ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _babble_sources(root: str) -> tuple[np.ndarray, ...]:
    import soundfile as sf

    out = []
    for f in [a for a in ami_files(root) if a.split == "train"][:3]:
        x, sr = sf.read(str(f.media), dtype="float32", always_2d=True)
        if sr != _RATE:
            import soxr

            x = soxr.resample(x, sr, _RATE)
        out.append(np.ascontiguousarray(x.mean(axis=1), dtype=np.float32))
    if not out:
        raise FileNotFoundError(f"{root}/ami: no AMI training recordings for babble")
    return tuple(out)


def noisy_audio(
    media: str | os.PathLike[str], snr_db: float, *, seed: int = 0, root: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, int]:
    """(mono 16 kHz signal, rate): `media`'s audio with AMI babble mixed in at `snr_db` (deterministic)."""
    from studio.media.audio import open_audio

    with open_audio(media) as src:
        clean = src.resampled(_RATE, mono=True).load().reshape(-1).astype(np.float64)
    digest = hashlib.blake2b(f"{seed}:{Path(media).stem}".encode(), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "little"))
    babble = np.zeros_like(clean)
    for x in _babble_sources(str(data_root(root))):
        reps = int(np.ceil(clean.size / x.size)) + 1
        x = np.tile(x, reps) if reps > 1 else x
        off = int(rng.integers(0, max(1, x.size - clean.size)))
        babble += x[off : off + clean.size]
    p_clean = float(np.mean(clean**2))
    p_babble = float(np.mean(babble**2))
    if p_clean <= 0 or p_babble <= 0:
        raise ValueError(f"{media}: silent audio or babble; no SNR can be set")
    gain = np.sqrt(p_clean / (p_babble * 10.0 ** (snr_db / 10.0)))
    return (clean + gain * babble).astype(np.float32), _RATE


def with_noise(
    data: FrameData,
    media: str | os.PathLike[str],
    snr_db: float,
    *,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
) -> FrameData:
    """`data` with its audio features recomputed from `media` mixed with babble at `snr_db`."""
    return run(with_noise_task(data, media, snr_db, seed=seed, root=root))


def with_noise_task(
    data: FrameData,
    media: str | os.PathLike[str],
    snr_db: float,
    *,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
) -> Task[FrameData]:
    if "audio" not in data.features:
        raise ValueError(f"{data.source}: frame data without audio; nothing to add noise to")
    if data.frame_times is not None or data.start != 0.0:
        raise ValueError("with_noise needs the whole recording's frame data (before select)")
    signal, rate = noisy_audio(media, snr_db, seed=seed, root=root)
    feats, present = yield from audio_block_task(signal, data.hop, data.T, sample_rate=rate)
    return replace(
        data,
        features={**data.features, "audio": feats},
        present={**data.present, "audio": present},
        source=f"{data.source} + babble {snr_db:g} dB",
    )


# -- the data set --------------------------------------------------------------------------------


def speech_activity_data(split: str = "train", **kw: Any) -> list[FrameData]:
    return run(speech_activity_data_task(split, **kw))


def speech_activity_data_task(
    split: str = "train",
    *,
    hop: float = 0.04,
    snr_db: float | None = None,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    grid: bool = True,
    ami: bool = True,
) -> Task[list[FrameData]]:
    """Frame data with labels ["non-speech", "speech"] for "train", "heldout" or "all".

    Held out: the GRID clips in `HELDOUT_GRID` and the AMI dev files. ``snr_db`` mixes babble into
    the GRID audio; ``grid``/``ami`` pick the corpora. Modalities are always audio and video.
    """
    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', not {split!r}")
    jobs: list[tuple[str, Any]] = []
    if grid:
        for clip in grid_clips(root):
            held = clip.name in HELDOUT_GRID
            if split == "all" or held == (split == "heldout"):
                jobs.append(("grid", clip))
    if ami:
        for f in ami_files(root):
            if split == "all" or (f.split == "dev") == (split == "heldout"):
                jobs.append(("ami", f))
    out: list[FrameData] = []
    for i, (kind, item) in enumerate(jobs):
        a, b = i / len(jobs), (i + 1) / len(jobs)
        yield Progress(a, f"{split} data: {item.name}")
        if kind == "grid":
            speech = yield from scaled(speech_tier_of(item), a, (a + b) / 2)
            data = yield from scaled(
                frame_data_task(item.media, hop=hop, labels=speech, classes=CLASSES, background=CLASSES[0]),
                (a + b) / 2,
                b,
            )
            if snr_db is not None:
                data = yield from with_noise_task(data, item.media, snr_db, seed=seed, root=root)
        else:
            speech = labels_from_rttm(item.rttm, item.name).speech
            data = yield from scaled(
                frame_data_task(
                    item.media,
                    hop=hop,
                    labels=speech,
                    classes=CLASSES,
                    background=CLASSES[0],
                    annotated=read_uem(item.uem, item.name),
                ),
                a,
                b,
            )
        out.append(data)
    yield Progress(1.0, f"{split} data: {len(out)} files")
    return out
