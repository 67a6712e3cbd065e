"""The window's playback: the media engine's clock plays, a timer moves the playhead, video follows.

The clock (`studio.media.clock.PlaybackClock`) plays the session's audio streams at their offsets,
or runs silently where there is no output device. A 15 ms timer reads its position (lock-free) and
moves the shared playhead; tracks and video panels follow the playhead. While playing, video panels
ask for the frame one timer tick ahead (`VideoPane.set_lead`): the playhead moves in ticks, so
without it every new frame would appear one tick late (measured by bench/ui_video.py).
A user seek (a click, a key) moves the clock; the clock's own signals come from its thread and
reach the window as queued Qt signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .main_window import MainWindow

__all__ = ["PlaybackMixin", "TICK_MS"]

#: the playhead timer's interval
TICK_MS = 15


class PlaybackMixin:
    """Mixed into MainWindow."""

    @property
    def playing(self: MainWindow) -> bool:
        return self.media is not None and self.clock.playing

    def act_play(self: MainWindow) -> None:
        if self.playing:
            self.pause()
            return
        t = self.view.playhead
        end = (self.clock.duration if self.media is not None else 0.0) or self.view.extent[1]
        if t >= end - 1e-3:  # at the end (after playing to it): play again from the start
            t = self.view.extent[0]
        self.play_range(t, None)

    def play_range(self: MainWindow, t0: float, t1: float | None = None) -> None:
        """Play [t0, t1) (t1=None: to the end)."""
        if self.media is None:
            return
        clock = self.clock
        if clock.duration <= 0:
            clock.set_duration(self.view.extent[1])
        loop = self.actions_by_id["loop"].isChecked() if t1 is not None else False
        try:
            clock.play(t0, t1, loop=loop)
        except Exception as exc:  # noqa: BLE001 - an unreadable file, a device gone (PortAudioError)
            self.show_status(f"cannot play: {exc}", 15000)
            self.transport.set_playing(False)
            return
        self._timer.start()
        self.transport.set_playing(True)

    def act_play_selection(self: MainWindow) -> None:
        sel = self.view.selection or self.selected_span()
        if sel is None:
            self.show_status("nothing selected to play")
            return
        self.play_range(*sel)

    def pause(self: MainWindow) -> None:
        was_playing = self.media is not None and self.clock.playing
        if was_playing:
            self.clock.pause()
        self._timer.stop()
        self.transport.set_playing(False)
        if was_playing:  # a stopped clock's position is not the playhead (it may be clamped)
            self._tick()

    def _tick(self: MainWindow) -> None:
        if self.media is None:
            return
        pos = self.clock.position
        # video: one tick ahead while playing (the playhead moves in ticks), the exact frame when not
        self.video_pane.set_lead(TICK_MS / 1000 * self.clock.rate if self.clock.playing else 0.0)
        self._ticking = True
        try:
            self.view.set_playhead(pos, playing=self.clock.playing)
        finally:
            self._ticking = False
        self.transport.set_time(pos, self.frame_at(pos))
        if not self.clock.playing and self._timer.isActive():
            self._timer.stop()
            self.transport.set_playing(False)

    def _on_playhead(self: MainWindow, t: float) -> None:
        if not self._ticking and self.media is not None:
            self.clock.seek(t)
            self.transport.set_time(t, self.frame_at(t))

    def _on_clock_state(self: MainWindow, state: str) -> None:
        playing = self.playing  # the clock now, not the queued signal (a play may have followed it)
        self.transport.set_playing(playing)
        if playing:
            self._timer.start()
        else:
            self._tick()

    def _on_clock_failed(self: MainWindow, message: str) -> None:
        self._on_clock_state("paused")  # (the clock paused itself; a late signal: what it does now)
        self.dialogs.error("Playback stopped", message)

    def set_rate(self: MainWindow, rate: float) -> None:
        if self.media is None:
            return
        from studio.media.stretch import MAX_RATE, MIN_RATE

        rate = min(max(float(rate), MIN_RATE), MAX_RATE)
        self.clock.rate = rate
        self.transport.set_rate(rate)
        self.show_status(f"rate {rate:g}×")

    def act_slower(self: MainWindow) -> None:
        self.set_rate(self.clock.rate - 0.25 if self.clock.rate > 0.75 else 0.5)

    def act_faster(self: MainWindow) -> None:
        self.set_rate(self.clock.rate + 0.25)

    def set_loop(self: MainWindow, on: bool) -> None:
        a = self.actions_by_id["loop"]
        if a.isChecked() != on:
            a.setChecked(on)
            return
        if self.media is not None:
            self.clock.loop = on
        self.transport.set_loop(on)

    def act_loop(self: MainWindow, on: bool) -> None:
        self.set_loop(on)

    def frame_at(self: MainWindow, t: float) -> int | None:
        lm = self.media.first_video() if self.media is not None else None
        if lm is None:
            return None
        return lm.video.index_at(float(lm.media.to_media_time(t)))

    def frame_times(self: MainWindow) -> Any:
        """Session times of the first video's frames (None without video)."""
        lm = self.media.first_video() if self.media is not None else None
        if lm is None:
            return None
        return lm.media.to_session_time(lm.video.timestamps)

    def step_frames(self: MainWindow, n: int) -> None:
        self.pause()
        lm = self.media.first_video() if self.media is not None else None
        t = self.view.playhead
        if lm is None:
            self.view.set_playhead(t + 0.01 * n)
        else:
            v, m = lm.video, lm.media
            i = min(max(v.index_at(float(m.to_media_time(t))) + n, 0), v.frame_count - 1)
            self.view.set_playhead(float(m.to_session_time(v.time_of(i))) + 1e-6)
        self.view.ensure_visible(self.view.playhead)

    def act_frame_back(self: MainWindow) -> None:
        self.step_frames(-1)

    def act_frame_forward(self: MainWindow) -> None:
        self.step_frames(+1)

    def act_back_second(self: MainWindow) -> None:
        self.view.set_playhead(self.view.playhead - 1.0)
        self.view.ensure_visible(self.view.playhead)

    def act_forward_second(self: MainWindow) -> None:
        self.view.set_playhead(self.view.playhead + 1.0)
        self.view.ensure_visible(self.view.playhead)

    def act_go_start(self: MainWindow) -> None:
        self.view.set_playhead(self.view.extent[0])
        self.view.ensure_visible(self.view.playhead)

    def act_go_end(self: MainWindow) -> None:
        self.view.set_playhead(self.view.extent[1])
        self.view.ensure_visible(self.view.playhead)
