"""The frame index of a video stream: a presentation timestamp per frame, built once and cached.

Part of `studio.media.video` (see its docstring for the design): packets are demuxed without
decoding where their timestamps can be trusted; otherwise one decode pass counts the frames and
repairs missing or duplicated timestamps. `build_index` takes the check that decides between the
two (it needs the decoder, which lives in `video.py`).
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from studio.media.probe import MediaError
from studio.tasks.base import Progress, Task

_NO_PTS = np.iinfo(np.int64).min
PACKETS, DECODED = "packets", "decoded"


# -- the frame index -----------------------------------------------------------------------------
@dataclass
class _Index:
    mode: str  # PACKETS (pts from demuxing) or DECODED (frame i = i-th decoded frame)
    pts: np.ndarray  # int64 raw pts in stream time base, presentation order (_NO_PTS if unknown)
    times: np.ndarray  # float64 media seconds
    key: np.ndarray  # bool: keyframe (a decoder can start here)
    seek: np.ndarray  # int64, keyframes: timestamp or byte position to seek to (meta['seek'])
    meta: dict[str, Any] = field(default_factory=dict)
    _lookup: dict[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.n, self.key_idx = len(self.pts), np.flatnonzero(self.key)
        if self.mode == DECODED:  # only keyframes with trustworthy pts anchor a position
            valid = _valid_pts(self.pts)
            self._lookup = {int(self.pts[i]): int(i) for i in self.key_idx if valid[i]}

    def lookup(self, pts: int | None) -> int:
        """The index of the frame with this pts (-1 when not known or not usable to identify a frame)."""
        if pts is None:
            return -1
        if self._lookup is not None:
            return self._lookup.get(int(pts), -1)
        j = int(np.searchsorted(self.pts, pts))
        return j if j < self.n and self.pts[j] == pts else -1

    def key_before(self, i: int) -> int:
        j = int(np.searchsorted(self.key_idx, i, side="right")) - 1
        return int(self.key_idx[j]) if j >= 0 else 0

    def save(self, target: Path) -> None:
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        meta = np.array(json.dumps({**self.meta, "mode": self.mode}))
        try:
            np.savez(tmp, pts=self.pts, times=self.times, key=self.key, seek=self.seek, meta=meta)
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)  # a cache that cannot be written is only slower

    @classmethod
    def load(cls, source: Path) -> _Index:
        with open(source, "rb") as f, np.load(f, allow_pickle=False) as z:  # closed even when damaged
            meta = json.loads(str(z["meta"]))
            return cls(meta.pop("mode"), z["pts"], z["times"], z["key"], z["seek"], meta)


def _valid_pts(pts: np.ndarray) -> np.ndarray:
    """Frames whose pts is known, unique and on the longest increasing run through the stream."""
    values, counts = np.unique(pts[pts != _NO_PTS], return_counts=True)
    cand = np.flatnonzero(np.isin(pts, values[counts == 1]))
    # longest strictly increasing subsequence of the candidates (patience sorting)
    tails: list[int] = []  # smallest last value of an increasing run of each length
    ends: list[int] = []  # and the candidate it ends on
    parent = [-1] * len(cand)
    for c, v in enumerate(pts[cand].tolist()):
        j = bisect.bisect_left(tails, v)
        tails[j : j + 1], ends[j : j + 1] = [v], [c]
        parent[c] = ends[j - 1] if j > 0 else -1
    keep = np.zeros(len(pts), bool)
    c = ends[-1] if ends else -1
    while c >= 0:
        keep[cand[c]], c = True, parent[c]
    return keep


def _seconds(pts: np.ndarray, tb: Fraction, origin_us: int) -> np.ndarray:
    """Raw pts → media seconds (pts · tb − origin), exactly rounded for ordinary time bases."""
    p = pts.astype(np.int64)
    if len(p) and int(np.abs(p).max()) < (1 << 62) // max(tb.numerator * 1_000_000, 1):
        num = p * (tb.numerator * 1_000_000) - origin_us * tb.denominator
        return num / float(tb.denominator * 1_000_000)
    return p.astype(np.float64) * float(tb) - origin_us / 1e6


def _repaired_times(pts: np.ndarray, tb: Fraction, origin_us: int, fps: float) -> np.ndarray:
    """Times for decode-order frames whose pts may be missing or wrong: interpolate what is not valid."""
    n, good = len(pts), np.flatnonzero(_valid_pts(pts))
    if len(good) == 0:
        return np.arange(n) / fps
    t_good = _seconds(pts[good], tb, origin_us)
    step = float(np.median(np.diff(t_good) / np.diff(good))) if len(good) > 1 else 1.0 / fps
    times = np.interp(np.arange(n), good, t_good)
    times[: good[0]] = t_good[0] - step * (good[0] - np.arange(good[0]))
    times[good[-1] + 1 :] = t_good[-1] + step * (np.arange(good[-1] + 1, n) - good[-1])
    return times


# -- opening and errors ---------------------------------------------------------------------------


def _open_container(p: Path) -> Any:
    try:
        return av.open(str(p), metadata_errors="replace")
    except FileNotFoundError:
        raise MediaError(p, "no such file (was it moved or deleted?)") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(p, f"is not a video file ffmpeg can read ({detail})") from None


def _video_stream(container: Any, p: Path, stream: int) -> Any:
    pic = av.stream.Disposition.attached_pic
    vids = [s for s in container.streams.video if not (s.disposition & pic)]
    if not vids:
        what = " (audio only)" if container.streams.audio else ""
        raise MediaError(p, f"has no video stream{what}")
    if not 0 <= stream < len(vids):
        raise MediaError(p, f"has {len(vids)} video stream(s); stream {stream} does not exist")
    vs = vids[stream]
    if vs.codec_context is None:
        raise MediaError(p, "its video codec is not supported (ffmpeg has no decoder for it)")
    return vs


def _decode_packet(pkt: Any) -> list[Any]:
    try:
        return list(pkt.decode())
    except av.error.FFmpegError:  # a damaged packet: skip it, as players do
        return []


# -- building the index ---------------------------------------------------------------------------
# Timestamps from PES headers through a parser, unreliable right after a seek: seek by bytes, count.
_BYTE_SEEK_FORMATS = {"mpeg", "mpegts", "mpegvideo", "mpeg1video", "h264", "hevc", "m4v", "vc1", "cavsvideo"}


def _lead_in(keys: list[bool], pos: list[int | None]) -> list[int]:
    """Byte position to seek to for each key packet (decode order): the start of the PES before it,
    never at or before the one holding the previous keyframe; -1 when there is no safe position."""
    out: list[int] = []
    known, prev_key = -1, -1
    for is_key, p in zip(keys, pos):
        if is_key:
            own = p if p is not None else known
            out.append(known if known > prev_key else own if own > prev_key else -1)
            prev_key = own
        if p is not None:
            known = p
    return out


def _build_index(p: Path, stream: int, check: Callable[[Path, _Index], bool]) -> Task[_Index]:
    container = _open_container(p)
    try:
        vs = _video_stream(container, p, stream)
        tb = vs.time_base or Fraction(1, 90000)
        by_bytes = bool(set(container.format.name.split(",")) & _BYTE_SEEK_FORMATS)
        meta: dict[str, Any] = {
            "stream_index": vs.index, "tb": [tb.numerator, tb.denominator],
            "seek": "byte" if by_bytes else "ts",
            "width": vs.codec_context.width, "height": vs.codec_context.height,
            "codec": vs.codec_context.name, "rate": float(vs.average_rate or 0),
        }  # fmt: skip
        size = max(p.stat().st_size, 1)
        rows: list[tuple[Any, Any, bool, int, Any]] = []
        try:
            for pkt in container.demux(vs):
                if pkt.size == 0 or pkt.is_discard:  # discarded: outside the edit list, never shown
                    continue
                rows.append((pkt.pts, pkt.dts, bool(pkt.is_keyframe), int(pkt.duration or 0), pkt.pos))
                if len(rows) % 2000 == 0:
                    yield Progress(0.5 * min((pkt.pos or 0) / size, 1.0), f"indexing frames of {p.name}")
        except (av.error.FFmpegError, EOFError):
            pass  # a truncated or damaged file: index what could be read
    finally:
        container.close()
    if not rows:
        raise MediaError(p, "has a video stream but no video frames")
    pts = [r[0] for r in rows]
    ix = None
    if all(x is not None for x in pts) and len(set(pts)) == len(pts) and rows[0][2]:
        order = np.argsort(np.asarray(pts, np.int64), kind="stable")
        spts = np.asarray(pts, np.int64)[order]
        key = np.asarray([r[2] for r in rows], bool)
        if by_bytes:
            seek = np.full(len(rows), -1, np.int64)
            seek[key] = _lead_in(key.tolist(), [r[4] for r in rows])
        else:  # seek to the keyframe's pts (a dts-based index also finds it, as dts <= pts)
            seek = np.asarray(pts, np.int64)
        last = rows[int(order[-1])][3]
        meta["last_duration"] = float(last * tb) if last > 0 else 0.0
        meta["origin_us"] = _origin_us(p, round(int(spts[0]) * tb * 1_000_000))
        ix = _Index(PACKETS, spts, _seconds(spts, tb, meta["origin_us"]), key[order], seek[order], meta)
        yield Progress(0.5, f"checking frames of {p.name}")
        if not check(p, ix):
            ix = None
    if ix is None:
        ix = yield from _decode_index(p, meta, len(rows))
    ix.meta["turns"] = _turns(p, ix.meta["stream_index"])
    yield Progress(1.0, f"indexed {ix.n} frames of {p.name}")
    return ix


def _turns(p: Path, stream_index: int) -> int:
    """Quarter turns counter-clockwise that show the picture upright (a phone's display matrix), as
    players and ffmpeg apply them; 0 when there is none or no frame decodes."""
    try:
        with av.open(str(p), metadata_errors="replace") as c:
            s = next(s for s in c.streams if s.index == stream_index)
            for n, pkt in enumerate(c.demux(s)):
                frames = _decode_packet(pkt)
                if frames:
                    return round(float(getattr(frames[0], "rotation", 0) or 0) / 90) % 4
                if n > 200:
                    break
    except (av.error.FFmpegError, OSError, EOFError, StopIteration):
        pass
    return 0


def _origin_us(p: Path, video_start_us: int) -> int:
    """Media time 0 in the file's clock (µs): the earliest instant presented — the first video
    frame or the first *decoded* sample of an audio stream (encoder priming excluded, as decoders
    drop it), so that sample 0 of the audio decoded by ffmpeg and the video share one clock."""
    starts = [video_start_us]
    try:
        with av.open(str(p), metadata_errors="replace") as c:
            pending = {s.index for s in list(c.streams.audio)[:8]}
            for n, pkt in enumerate(c.demux(*[s for s in c.streams if s.index in pending])):
                frames = _decode_packet(pkt) if pkt.stream.index in pending and pkt.size else []
                if frames and frames[0].pts is not None:
                    starts.append(round(frames[0].pts * frames[0].time_base * 1_000_000))
                    pending.discard(pkt.stream.index)
                if not pending or n > 500:
                    break
    except (av.error.FFmpegError, OSError, EOFError):
        pass  # no usable audio: the video alone sets the origin
    return min(starts)


def _decode_index(p: Path, meta: dict[str, Any], expected: int) -> Task[_Index]:
    container = _open_container(p)
    raw, key, durations, pkt_key, pkt_pos = [], [], [], [], []  # frames, and packets in decode order
    try:
        vs = next(s for s in container.streams if s.index == meta["stream_index"])
        vs.thread_type = "AUTO"
        try:
            for pkt in container.demux(vs):
                if pkt.size:
                    pkt_key.append(bool(pkt.is_keyframe))
                    pkt_pos.append(pkt.pos)
                for f in _decode_packet(pkt):
                    raw.append(_NO_PTS if f.pts is None else int(f.pts))
                    key.append(bool(f.key_frame))
                    durations.append(int(f.duration or 0))
                if len(pkt_key) % 500 == 0:
                    done = min(len(raw) / max(expected, 1), 1.0)
                    yield Progress(0.5 + 0.5 * done, f"decoding frames of {p.name}")
        except (av.error.FFmpegError, EOFError):
            pass
    finally:
        container.close()
    if not raw:
        raise MediaError(p, "has a video stream but no frame could be decoded")
    pts, keys, tb = np.asarray(raw, np.int64), np.asarray(key, bool), Fraction(*meta["tb"])
    fps = meta["rate"] or 25.0
    meta["origin_us"] = _origin_us(p, round(_repaired_times(pts, tb, 0, fps)[0] * 1_000_000))
    times = _repaired_times(pts, tb, meta["origin_us"], fps)
    meta["last_duration"] = float(durations[-1] * tb) if durations[-1] > 0 else 0.0
    seek, lead = np.full(len(pts), -1, np.int64), _lead_in(pkt_key, pkt_pos)
    if meta["seek"] == "byte" and len(lead) == int(keys.sum()):
        seek[keys] = lead  # keyframes leave the decoder in decode order: j-th key packet = j-th key frame
    else:  # seek a little early (demuxers seek by dts), then anchor on a known keyframe
        meta["seek"], seek = "ts", np.where(pts != _NO_PTS, pts - int(3 / fps / float(tb)), 0)
    return _Index(DECODED, pts, times, keys, seek, meta)
