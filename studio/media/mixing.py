"""The audio streams of a session and their mix: what `studio.media.clock.PlaybackClock` plays.

A `PlaybackStream` is one recording on the session timeline (its offset, gain, mute and optional
warp); `mix_streams` renders session frames of several streams at a device rate, each resampled
(soxr, through `AudioSource.resampled`), channel-mapped and, for a warped stream, read along its
warp (varispeed). Split from `studio.media.clock` (which re-exports both) so the transport and the
audio engine stay one module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PlaybackStream", "mix_streams"]


class PlaybackStream:
    """One audio stream on the session timeline. `offset`, `gain`, `mute` may change while playing."""

    def __init__(
        self, source: Any, offset: float = 0.0, gain: float = 1.0, mute: bool = False, warp: Any = None
    ) -> None:
        for name in ("sample_rate", "channels", "frames", "read"):
            if not hasattr(source, name):
                raise TypeError(
                    f"an audio stream needs an AudioSource-like object, got {type(source).__name__}"
                )
        self.source = source
        self.offset = float(offset)
        self.gain = float(gain)
        self.mute = bool(mute)
        #: None, or a map (`studio.core.session.WarpPath`: `map`, `inverse_map`) from shifted session
        #: time (session time - offset) to the source's own time: the stream is resampled along it
        self.warp = warp
        if not np.isfinite(self.offset) or not np.isfinite(self.gain):
            raise ValueError(f"offset and gain must be finite, got {offset}, {gain}")
        self._views: dict[int, Any] = {}

    @property
    def duration(self) -> float:
        return self.source.frames / self.source.sample_rate

    @property
    def start(self) -> float:
        """Session time of the stream's first sample (`offset`, unless a warp moves it)."""
        warp = self.warp
        return self.offset + (float(warp.inverse_map(0.0)) if warp is not None else 0.0)

    @property
    def end(self) -> float:
        """Session time just after the stream's last sample."""
        warp = self.warp
        return self.offset + (float(warp.inverse_map(self.duration)) if warp is not None else self.duration)

    def view(self, rate: int) -> Any:
        """The source at `rate` Hz (itself when it already is), with the same `read` API."""
        if self.source.sample_rate == rate:
            return self.source
        view = self._views.get(rate)
        if view is None:
            view = self._views[rate] = self.source.resampled(rate)
        return view

    def __repr__(self) -> str:
        path = getattr(self.source, "path", self.source)
        return f"PlaybackStream({str(path)!r}, offset={self.offset}, gain={self.gain}, mute={self.mute})"


def _map_channels(data: np.ndarray, channels: int) -> np.ndarray:
    have = data.shape[0]
    if have == channels:
        return data
    if have == 1:
        return np.broadcast_to(data, (channels, data.shape[1]))
    if channels == 1:
        return data.mean(axis=0, keepdims=True)
    if have > channels:  # fold: output i is the mean of source channels i, i+channels, ...
        return np.stack([data[i::channels].mean(axis=0) for i in range(channels)])
    return data[np.arange(channels) % have]


def _read_warped(
    view: Any, warp: Any, offset: float, rate: int, first: int, frames: int
) -> np.ndarray | None:
    """Session frames [first, first + frames) of a warped stream: (source channels, frames), or None
    when none of them falls inside the source."""
    pos = np.asarray(warp.map((first + np.arange(frames)) / rate - offset), dtype=float) * rate
    last = view.frames - 1
    if frames == 0 or last < 0 or pos[-1] < 0 or pos[0] > last:  # pos is non-decreasing
        return None
    i = np.floor(pos)
    a = int(max(i[0], 0))
    b = int(min(i[-1] + 2, view.frames))
    data = view.read(a, b)
    n = data.shape[1]
    i0 = np.clip(i - a, 0, n - 1).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = (pos - i).astype(np.float32)
    y = data[:, i0] * (1 - frac) + data[:, i1] * frac
    y[:, (pos < 0) | (pos > last)] = 0.0
    return y


def mix_streams(streams: tuple[PlaybackStream, ...] | list[PlaybackStream], rate: int, channels: int,
                first: int, frames: int) -> np.ndarray:  # fmt: skip
    """The mix of `streams` for session frames [first, first + frames) at `rate` Hz: (channels, frames).

    Session frame f is session time f / rate; a stream contributes its media frame
    ``f - round(offset · rate)`` (at `rate`), silence outside its own extent. A warped stream
    contributes the media at ``warp.map(f / rate - offset)``, linearly interpolated between frames
    (varispeed: a 0.1 % drift correction shifts the pitch by 0.1 %, which nobody hears).
    """
    out = np.zeros((channels, frames), np.float32)
    for s in streams:
        if s.mute or s.gain == 0.0:
            continue
        view = s.view(rate)
        warp = s.warp
        if warp is not None:
            data = _read_warped(view, warp, s.offset, rate, first, frames)
            if data is not None:
                out += _map_channels(data, channels) * np.float32(s.gain)
            continue
        m0 = first - round(s.offset * rate)
        a, b = max(m0, 0), min(m0 + frames, view.frames)
        if b <= a:
            continue
        data = _map_channels(view.read(a, b), channels)
        if s.gain != 1.0:
            data = data * np.float32(s.gain)
        out[:, a - m0 : b - m0] += data
    return out
