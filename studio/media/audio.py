"""Audio from any recording as float32 (channels × samples), read in blocks, never all at once.

How a file is read:

* **In place** — WAV/W64/RF64/AIFF/CAF/AU and FLAC are read by libsndfile (`soundfile`) directly
  from the file, block by block with exact seeks: opening a 2-hour WAV costs nothing, and memory
  is one block.
* **Decoded once** — everything else (mp3, ogg/vorbis, opus, m4a/aac, wma and the audio stream of
  video containers: mp4, mkv, mov, avi, webm, mpg) is decoded start to end by an **ffmpeg
  subprocess** into a float32 W64 file in the cache (`studio.media.cache`), then read in place like
  PCM. A reopen finds the cached file and is instant.

Why an ffmpeg subprocess and not PyAV for this: decoding a whole stream is ffmpeg's home ground,
and as a separate process it (1) runs on another core with no GIL contention with the UI or the
worker, (2) is cancelled by killing it, at once, even in the middle of a slow codec, (3) cannot take
the application down when a damaged file crashes a decoder, and (4) streams through a pipe at
constant memory. Decoding once into a cache file, rather than seeking inside the compressed
stream, gives sample-exact random access: seeking in mp3/AAC/Vorbis is approximate in every
library (encoder delay, priming, bit reservoirs). PyAV is used where per-frame timestamps matter:
exact video seeking (`studio.media.video`).

One clock with the video: sample 0 is at media time 0, the earliest instant the file presents (as
in `studio.media.video`). When the audio starts after the video (a camera that starts recording
sound late), the decode is padded with silence at the start (``aresample=first_pts=0``), and
timestamp gaps in damaged files are filled the same way, so audio and video stay in sync.

Resampled views (`AudioSource.resampled(16000, mono=True)`) use soxr: streaming for `blocks()`,
with a margin around the range for random `read()`s.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from studio.media.cache import cache_dir, file_key, prune, touch
from studio.media.probe import MediaError, check_media_file, probe
from studio.tasks.base import Progress, Task, run

__all__ = ["AudioSource", "ResampledAudio", "open_audio", "open_audio_task", "IN_PLACE_SUFFIXES"]

IN_PLACE_SUFFIXES = (
    ".wav",
    ".wave",
    ".w64",
    ".rf64",
    ".aif",
    ".aiff",
    ".aifc",
    ".caf",
    ".au",
    ".snd",
    ".flac",
)
_IN_PLACE_CONTAINERS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "CAF", "AU", "FLAC"}
_DECODE_VERSION = "decode-v2"
BLOCK = 1 << 18  # frames per block read (~5 s at 48 kHz)


class AudioSource:
    """One audio stream of a file: `sample_rate`, `channels`, `frames`, `duration`; `read`, `blocks`.

    `path` is the user's file; `data_path` is what is read (the file itself, or its cached decode).
    Reads are thread-safe. Use as a context manager or call `close()`.
    """

    def __init__(
        self, path: str | os.PathLike[str], data_path: str | os.PathLike[str], stream: int = 0
    ) -> None:
        import soundfile as sf

        self.path = Path(path)
        self.data_path = Path(data_path)
        self.stream = stream
        self._lock = threading.Lock()
        try:
            self._sf = sf.SoundFile(str(self.data_path))
        except Exception as exc:  # LibsndfileError, RuntimeError, OSError
            raise MediaError(self.path, f"cannot be read as audio ({_clean(exc, self.data_path)})") from None
        self.sample_rate = int(self._sf.samplerate)
        self.channels = int(self._sf.channels)
        self.frames = int(self._sf.frames)
        self.container = str(self._sf.format)
        if self.frames <= 0:
            self._sf.close()
            raise MediaError(self.path, "has no audio samples (zero-length audio)")

    # -- description ---------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def decoded(self) -> bool:
        """True when reads come from a cached decode rather than the file itself."""
        return self.data_path != self.path

    def identity(self) -> str:
        """A cache key for what this source reads (changes when the file changes)."""
        return file_key(self.path, "audio", self.stream)

    def __repr__(self) -> str:
        return (
            f"AudioSource({str(self.path)!r}, {self.sample_rate} Hz, {self.channels} ch, "
            f"{self.duration:.3f} s)"
        )

    # -- reading -------------------------------------------------------------------------------
    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples [start, stop) as float32 (channels, n); the range is clipped to the file."""
        start = max(0, int(start))
        stop = self.frames if stop is None else min(int(stop), self.frames)
        if stop <= start:
            return np.zeros((self.channels, 0), np.float32)
        with self._lock:
            if self._sf.closed:
                raise MediaError(self.path, "is closed")
            try:
                self._sf.seek(start)
                data = self._sf.read(stop - start, dtype="float32", always_2d=True)
            except Exception as exc:
                raise MediaError(
                    self.path, f"read failed at sample {start} ({_clean(exc, self.data_path)})"
                ) from None
        if data.shape[0] < stop - start:
            raise MediaError(
                self.path,
                f"ended early: expected {stop - start} samples from {start}, got {data.shape[0]} "
                "(was the file truncated or replaced while open?)",
            )
        return np.ascontiguousarray(data.T)

    def read_time(self, t0: float, t1: float) -> np.ndarray:
        """Samples between two times in seconds (media time)."""
        return self.read(int(round(t0 * self.sample_rate)), int(round(t1 * self.sample_rate)))

    def blocks(
        self, block: int = BLOCK, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first_frame, samples (channels, n)) in order, `block` frames at a time."""
        block = _block_size(block)
        stop = self.frames if stop is None else min(stop, self.frames)
        pos = max(0, start)
        while pos < stop:
            end = min(pos + block, stop)
            yield pos, self.read(pos, end)
            pos = end

    def load(self, rate: int | None = None, mono: bool = False) -> np.ndarray:
        """The whole stream in memory (for short files and tests); see `resampled` for long ones."""
        if rate is None or rate == self.sample_rate:
            data = self.read()
            return data.mean(axis=0, keepdims=True, dtype=np.float32) if mono and self.channels > 1 else data
        return self.resampled(rate, mono=mono).read()

    def resampled(self, rate: int, mono: bool = False) -> ResampledAudio:
        return ResampledAudio(self, rate, mono)

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if not self._sf.closed:
                self._sf.close()

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ResampledAudio:
    """A view of an `AudioSource` at another rate (and optionally mono), same read API."""

    MARGIN = 1024  # source frames of context on each side of a random read

    def __init__(self, source: AudioSource, rate: int, mono: bool = False) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        self.source = source
        self.sample_rate = int(rate)
        self.mono = mono
        self.channels = 1 if mono else source.channels
        self.frames = int(round(source.frames * rate / source.sample_rate))
        self.path = source.path

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def _mix(self, data: np.ndarray) -> np.ndarray:
        if self.mono and data.shape[0] > 1:
            return data.mean(axis=0, keepdims=True, dtype=np.float32)
        return data

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        import soxr

        start = max(0, int(start))
        stop = self.frames if stop is None else min(int(stop), self.frames)
        if stop <= start:
            return np.zeros((self.channels, 0), np.float32)
        src, dst = self.source.sample_rate, self.sample_rate
        if src == dst:
            return self._mix(self.source.read(start, stop))
        s0 = int(np.floor(start * src / dst))
        s1 = int(np.ceil(stop * src / dst))
        step = src // math.gcd(src, dst)  # start on a source frame that falls on an output frame
        a = max(0, (s0 - self.MARGIN) // step * step)
        b = min(self.source.frames, s1 + self.MARGIN)
        data = self._mix(self.source.read(a, b))
        out = soxr.resample(data.T, src, dst, quality="HQ").T
        offset = start - a * dst // src
        out = out[:, offset : offset + (stop - start)]
        if out.shape[1] < stop - start:  # rounding at the very end of the file
            out = np.pad(out, ((0, 0), (0, stop - start - out.shape[1])))
        return np.ascontiguousarray(out, dtype=np.float32)

    def read_time(self, t0: float, t1: float) -> np.ndarray:
        return self.read(int(round(t0 * self.sample_rate)), int(round(t1 * self.sample_rate)))

    def blocks(
        self, block: int = BLOCK, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Streaming resample of the whole range (no seams): (first_frame, (channels, n)) blocks."""
        import soxr

        block = _block_size(block)
        start = max(0, int(start))
        stop = self.frames if stop is None else min(stop, self.frames)
        if start != 0 or self.source.sample_rate == self.sample_rate:
            pos = start
            while pos < stop:
                end = min(pos + block, stop)
                yield pos, self.read(pos, end)
                pos = end
            return
        stream = soxr.ResampleStream(
            self.source.sample_rate, self.sample_rate, self.channels, dtype="float32", quality="HQ"
        )
        pos = 0
        src_block = max(1, int(block * self.source.sample_rate / self.sample_rate))
        pending = np.zeros((self.channels, 0), np.float32)
        for s_start, data in self.source.blocks(src_block):
            last = s_start + data.shape[1] >= self.source.frames
            out = stream.resample_chunk(np.ascontiguousarray(self._mix(data).T), last=last).T
            pending = np.concatenate([pending, out], axis=1) if pending.shape[1] else out
            while pending.shape[1] >= block or (last and pending.shape[1]):
                take = pending[:, : min(block, stop - pos)]
                if take.shape[1] == 0:
                    return
                yield pos, np.ascontiguousarray(take, dtype=np.float32)
                pos += take.shape[1]
                pending = pending[:, take.shape[1] :]
                if pos >= stop:
                    return
        if pos < stop:  # soxr may deliver a few frames fewer than the nominal length
            yield pos, np.zeros((self.channels, stop - pos), np.float32)

    def load(self) -> np.ndarray:
        return self.read()


# -- opening -----------------------------------------------------------------------------------


def open_audio(path: str | os.PathLike[str], stream: int = 0) -> AudioSource:
    """Open the `stream`-th audio stream of a file (decoding it first if needed; see the module doc)."""
    return run(open_audio_task(path, stream))


def open_audio_task(path: str | os.PathLike[str], stream: int = 0) -> Task[AudioSource]:
    """`open_audio` as a cancellable task: decoding a long compressed file reports progress."""
    p = Path(path)
    check_media_file(p)
    if p.suffix.lower() in IN_PLACE_SUFFIXES and stream == 0:
        try:
            source = AudioSource(p, p, 0)
        except MediaError as exc:
            if "zero-length" in str(exc):
                raise
            # a mislabelled file (e.g. an mp3 named .wav): let ffmpeg decide what it is
        else:
            if source.container in _IN_PLACE_CONTAINERS:
                return source
            source.close()  # libsndfile recognised another format (mp3, ogg) by content: decode it
    cached = cache_dir("audio") / f"{file_key(p, _DECODE_VERSION, stream)}.w64"
    if cached.exists():
        touch(cached)
        try:
            return AudioSource(p, cached, stream)
        except MediaError:  # a damaged cache entry: decode again
            cached.unlink(missing_ok=True)
    source = yield from _decode(p, stream, cached)
    return source


def _decode(p: Path, stream: int, target: Path) -> Task[AudioSource]:
    import soundfile as sf

    info = probe(p, count_frames=False)
    audio = info.audio()
    if not audio:
        raise MediaError(p, "has no audio stream" + (" (video only)" if info.video() else ""))
    if stream >= len(audio):
        raise MediaError(p, f"has {len(audio)} audio stream(s); stream {stream} does not exist")
    st = audio[stream]
    rate, channels = st.sample_rate, st.channels
    if not rate or not channels:
        raise MediaError(p, f"audio stream {stream} ({st.codec}) has no sample rate or channel count")
    expected = (st.duration or info.duration or 0.0) * rate
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MediaError(p, f"needs ffmpeg to decode {st.codec} audio; install ffmpeg")
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", str(p), "-map", f"0:a:{stream}",
           "-af", "aresample=async=1:first_pts=0",
           "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(rate), "pipe:1"]  # fmt: skip
    tmp = target.with_name(target.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr_chunks: list[bytes] = []
    err_thread = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    err_thread.start()
    written = 0
    ok = False
    try:
        with sf.SoundFile(
            str(tmp), "w", samplerate=rate, channels=channels, format="W64", subtype="FLOAT"
        ) as out:
            frame_bytes = 4 * channels
            chunk = BLOCK * frame_bytes
            rest = b""
            while True:
                buf = proc.stdout.read(chunk)  # type: ignore[union-attr]
                if not buf:
                    break
                buf = rest + buf
                usable = len(buf) - len(buf) % frame_bytes
                rest = buf[usable:]
                if usable:
                    out.write(np.frombuffer(buf[:usable], dtype="<f4").reshape(-1, channels))
                    written += usable // frame_bytes
                yield Progress(
                    min(written / expected, 1.0) if expected else None, f"decoding audio of {p.name}"
                )
        proc.wait()
        err_thread.join(timeout=5)
        err = b"".join(stderr_chunks).decode("utf-8", "replace").strip()
        if written == 0:
            detail = err.splitlines()[-1].replace(str(p) + ": ", "") if err else "no samples decoded"
            if proc.returncode != 0 and err:
                raise MediaError(p, f"audio could not be decoded ({detail})")
            raise MediaError(p, "has no audio samples (zero-length audio)")
        os.replace(tmp, target)
        prune(keep=(target,))
        ok = True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        if not ok:
            tmp.unlink(missing_ok=True)
    return AudioSource(p, target, stream)


def _block_size(block: int) -> int:
    if int(block) != block or block < 1:
        raise ValueError(f"block must be a positive number of frames, got {block!r}")
    return int(block)


def _clean(exc: BaseException, path: Path) -> str:
    text = str(exc).replace(f"Error opening {str(path)!r}: ", "").replace(str(path), "").strip(" :")
    return text or type(exc).__name__
