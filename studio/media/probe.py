"""What is in a media file: streams, duration, sample rate, channels, fps, frame count.

Uses `ffprobe` (from ffmpeg, installed by the project's setup) because it reads every container
and codec a user may bring (mp4, mkv, mov, avi, webm, mpg, wav, flac, ogg, opus, mp3, m4a) with
one code path; soundfile answers for plain audio files when ffprobe is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

__all__ = [
    "MediaError",
    "check_media_file",
    "StreamInfo",
    "MediaInfo",
    "probe",
    "MEDIA_SUFFIXES",
    "is_media_path",
]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".wma")
VIDEO_SUFFIXES = (
    ".mp4",
    ".mkv",
    ".mov",
    ".avi",
    ".webm",
    ".mpg",
    ".mpeg",
    ".m4v",
    ".wmv",
    ".ogv",
    ".mts",
    ".ts",
)
MEDIA_SUFFIXES = AUDIO_SUFFIXES + VIDEO_SUFFIXES


def is_media_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in MEDIA_SUFFIXES


class MediaError(ValueError):
    """A media file that cannot be opened or read; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass
class StreamInfo:
    index: int
    kind: str  # "audio", "video", "cover" (attached picture, e.g. album art), "subtitle", "data"
    codec: str
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    fps: float | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    start_time: float = 0.0


@dataclass
class MediaInfo:
    path: str
    container: str
    duration: float | None
    streams: list[StreamInfo] = field(default_factory=list)

    @property
    def kind(self) -> str:
        kinds = {s.kind for s in self.streams}
        return "video" if "video" in kinds else "audio" if "audio" in kinds else "other"

    def audio(self) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == "audio"]

    def video(self) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == "video"]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind
        return d


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def _rate(v: Any) -> float | None:
    try:
        f = Fraction(str(v))
    except (ValueError, ZeroDivisionError):
        return None
    return float(f) if f > 0 else None


def check_media_file(p: Path) -> None:
    """Raise MediaError unless `p` is an existing, non-empty file."""
    if not p.exists():
        raise MediaError(p, "no such file")
    if p.is_dir():
        raise MediaError(p, "is a folder, not a media file")
    if p.stat().st_size == 0:
        raise MediaError(p, "is empty (0 bytes)")


def probe(path: str | os.PathLike[str], *, count_frames: bool = True, timeout: float = 60.0) -> MediaInfo:
    """Describe a media file; raises MediaError naming the file when it is missing or unreadable."""
    p = Path(path)
    check_media_file(p)
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return _probe_soundfile(p)
    cmd = [ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(p)]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(p, f"probing took longer than {timeout:.0f} s; the file may be damaged") from None
    if out.returncode != 0:
        msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = msg[-1] if msg else "ffprobe failed"
        detail = detail.replace(str(p) + ": ", "")
        raise MediaError(p, f"is not a media file ffmpeg can read ({detail})")
    try:
        data = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise MediaError(p, "ffprobe returned unreadable output") from None
    fmt = data.get("format", {})
    streams = []
    for s in data.get("streams", []):
        kind = s.get("codec_type", "data")
        if kind == "video" and (s.get("disposition") or {}).get("attached_pic"):
            kind = "cover"  # album art / a thumbnail: one still image, not a video stream
        st = StreamInfo(
            index=int(s.get("index", len(streams))),
            kind=kind,
            codec=s.get("codec_name", "?"),
            duration=_num(s.get("duration")),
            start_time=_num(s.get("start_time")) or 0.0,
        )
        if kind == "audio":
            st.sample_rate = int(s["sample_rate"]) if s.get("sample_rate") else None
            st.channels = s.get("channels")
        elif kind == "video":
            st.width, st.height = s.get("width"), s.get("height")
            st.fps = _rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate"))
            if s.get("nb_frames"):
                st.frames = int(s["nb_frames"])
        streams.append(st)
    if count_frames and any(s.kind == "video" and s.frames is None for s in streams):
        _count_packets(p, ffprobe, streams, timeout)
    if not any(s.kind in ("audio", "video") for s in streams):
        # random or text bytes can pass as a subtitle format (ffmpeg's lrc, microdvd, ...)
        seen = ", ".join(f"{s.kind} ({s.codec})" for s in streams) or "no streams"
        raise MediaError(
            p,
            f"is not a media file: no audio or video stream (ffmpeg reads it as {fmt.get('format_name', '?')}: {seen})",
        )
    return MediaInfo(
        path=str(p),
        container=fmt.get("format_name", "?"),
        duration=_num(fmt.get("duration")),
        streams=streams,
    )


def _count_packets(p: Path, ffprobe: str, streams: list[StreamInfo], timeout: float) -> None:
    """Containers like MPEG-PS do not store a frame count: count video packets (demux only, fast)."""
    cmd = [ffprobe, "-v", "error", "-count_packets", "-select_streams", "v",
           "-show_entries", "stream=index,nb_read_packets", "-of", "json", str(p)]  # fmt: skip
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        counted = {
            int(s["index"]): int(s["nb_read_packets"]) for s in json.loads(out.stdout).get("streams", [])
        }
    except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, ValueError):
        return
    for s in streams:
        if s.index in counted:
            s.frames = counted[s.index]


def _probe_soundfile(p: Path) -> MediaInfo:
    import soundfile as sf

    try:
        info = sf.info(str(p))
    except Exception as exc:  # soundfile raises its own RuntimeError/LibsndfileError
        raise MediaError(
            p, f"is not an audio file soundfile can read ({exc}); install ffmpeg for other media"
        ) from None
    st = StreamInfo(0, "audio", info.format.lower(), info.duration, info.samplerate, info.channels)
    return MediaInfo(str(p), info.format.lower(), info.duration, [st])
