"""The studio window: video, transport, overview and the track stack on one time axis.

Structure (one job per module):
- this module: the window's layout, the session it shows (tracks follow the session's signals),
  playback (the media engine's clock drives the playhead; video frames follow it), the status bar
  with background jobs;
- `window_files`: new/open/save/import/export, recent files, drag and drop, crash recovery;
- `window_edit`: the editing commands (each builds a core command and pushes it on the session's
  undo stack) and search;
- `shortcuts`: the table of actions, keys and help from which the menus are built.

The window never waits on long work: media are opened, decoded and analysed by `JobRunner` jobs
(`MediaSet`), tracks draw only the visible part from pyramids and tiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.session import Session
from studio.core.tiers import CurveTier, IntervalTier, PointTier, Tier
from studio.media.clock import PlaybackClock

from . import shortcuts
from .device_worker import DeviceJob, DeviceWorker
from .dialogs import Dialogs
from .jobs import JobRunner
from .jobs_panel import JobsPanel
from .media_set import LoadedMedia, MediaSet
from .settings import Settings
from .timeline import Timeline
from .timeview import TimeView
from .track import HEADER_WIDTH, Track
from .window_align import AlignMixin
from .window_edit import EditMixin
from .window_files import FilesMixin
from .window_inspect import InspectMixin
from .window_models import ModelsMixin
from .window_playback import TICK_MS, PlaybackMixin

__all__ = ["MainWindow"]


class _ClockBridge(QObject):
    """The clock's psygnal signals come from its worker thread: re-emit them as queued Qt signals."""

    state = Signal(str)
    failed = Signal(str)


class MainWindow(FilesMixin, EditMixin, PlaybackMixin, AlignMixin, InspectMixin, ModelsMixin, QMainWindow):
    """See the module doc. `session=None` starts an empty, journaled session."""

    #: the session shown changed (after tracks were built)
    session_changed = Signal(object)

    def __init__(
        self,
        session: Session | None = None,
        *,
        dialogs: Dialogs | None = None,
        settings: Settings | None = None,
        clock_output: Any = "auto",
        check_recovery: bool = False,
    ) -> None:
        super().__init__()
        self.setObjectName("StudioMainWindow")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.dialogs = dialogs or Dialogs(self)
        self.settings = settings or Settings()
        self.clock_output = clock_output
        self.view = TimeView(self)
        self.view.follow = bool(self.settings["follow_playhead"])
        self.runner = JobRunner(threads=2, parent=self)
        self.device_worker = DeviceWorker(self)  # the one thread owning the torch device (model jobs)
        self.session: Session = Session()
        self.media: MediaSet | None = None
        self.actions_by_id: dict[str, QAction] = {}
        self._ticking = False
        self._closing = False
        self._bridge = _ClockBridge(self)
        self._bridge.state.connect(self._on_clock_state)
        self._bridge.failed.connect(self._on_clock_failed)
        self._clock_cbs: tuple[Any, Any] | None = None

        self._build_ui()
        self._build_actions()
        self.view.playhead_changed.connect(self._on_playhead)
        self.runner.jobs_changed.connect(self._update_jobs)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.init_edit()
        self.init_align()
        self.set_session(session if session is not None else self.new_session_object())
        if check_recovery:
            QTimer.singleShot(0, self.offer_recovery)

    # -- layout ---------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        from .overview import Overview
        from .transport import Transport
        from .video_view import VideoPane

        self.video_pane = VideoPane(self.view)
        self.transport = Transport()
        self.overview = Overview(self.view)
        self.overview.set_margins(HEADER_WIDTH, 0)  # its time axis lines up with the tracks'
        self.timeline = Timeline(self.view)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        tl.addWidget(self.video_pane, 1)
        tl.addWidget(self.transport)
        tl.addWidget(self.overview)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([260, 560])
        self.setCentralWidget(self.splitter)
        self.centralWidget().setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.transport.play_toggled.connect(self.act_play)
        self.transport.rate_changed.connect(self.set_rate)
        self.transport.frame_step.connect(self.step_frames)
        self.transport.boundary_jump.connect(self.jump_boundary)
        self.transport.loop_toggled.connect(self.set_loop)
        self.timeline.current_changed.connect(self._on_current_track)

        sb = self.statusBar()
        self.jobs_label = QLabel()
        self.jobs_bar = QProgressBar()
        self.jobs_bar.setMaximumWidth(160)
        self.jobs_bar.setMaximumHeight(14)
        self.jobs_cancel = QToolButton()
        self.jobs_cancel.setText("✕")
        self.jobs_cancel.setToolTip("Cancel background jobs")
        self.jobs_cancel.clicked.connect(self.act_jobs)
        jobs = QWidget()
        jl = QHBoxLayout(jobs)
        jl.setContentsMargins(0, 0, 0, 0)
        jl.addWidget(self.jobs_label)
        jl.addWidget(self.jobs_bar)
        jl.addWidget(self.jobs_cancel)
        self.jobs_widget = jobs
        sb.addPermanentWidget(jobs)
        jobs.hide()
        self._build_device_ui()

    def _build_actions(self) -> None:
        menus = {name: self.menuBar().addMenu(f"&{name}") for name in shortcuts.MENUS}
        sections = {"save": "File", "find": "Edit", "edit_label": "Annotate", "next_annotation": "Annotate",
                    "show_spectrogram": "View", "add_feature": "View", "frame_back": "Play",
                    "previous_boundary": "Play", "quit": "File", "new_tier": "Edit", "snap": "Annotate",
                    "follow": "View", "about": "Help"}  # fmt: skip
        for spec in shortcuts.ACTIONS:
            menu = menus[spec.menu]
            if spec.id in sections:
                menu.addSeparator()
            if spec.id == "quit":
                self.recent_menu = menus["File"].addMenu("Open &recent")
                self.recent_menu.aboutToShow.connect(self._fill_recent)
                menus["File"].addSeparator()
            act = QAction(spec.text, self)
            act.setObjectName(f"action_{spec.id}")
            if spec.keys:
                act.setShortcuts([QKeySequence(k) for k in spec.keys])
            act.setStatusTip(spec.help)
            act.setToolTip(spec.help)
            act.setCheckable(spec.checkable)
            handler = getattr(self, f"act_{spec.id}")
            if spec.checkable:
                act.toggled.connect(handler)
            else:
                act.triggered.connect(lambda _checked=False, h=handler: h())
            menu.addAction(act)
            self.addAction(act)  # keys work wherever the focus is in the window
            self.actions_by_id[spec.id] = act
        self.view_menu = menus["View"]
        self.track_menu = menus["View"].addMenu("&Tracks")
        self.track_menu.aboutToShow.connect(self._fill_track_menu)
        for key, aid in (("snap", "snap"), ("follow_playhead", "follow"), ("show_spectrogram", "show_spectrogram"),
                         ("show_pitch", "show_pitch"), ("show_intensity", "show_intensity")):  # fmt: skip
            a = self.actions_by_id[aid]
            a.blockSignals(True)
            a.setChecked(bool(self.settings[key]))
            a.blockSignals(False)
        self.undo_action = self.actions_by_id["undo"]
        self.redo_action = self.actions_by_id["redo"]

    def action(self, action_id: str) -> QAction:
        return self.actions_by_id[action_id]

    def trigger(self, action_id: str) -> None:
        """Run a command as if from its menu (tests and scripts)."""
        self.actions_by_id[action_id].trigger()

    # -- session --------------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Show `session`: tear down the old tracks and media, build new ones, start loading media."""
        self.pause()
        self._teardown_session()
        self.session = session
        self._align_session_changed()
        self._models_session_changed()
        for sig, slot in self._session_connections():
            sig.connect(slot)
        clock = PlaybackClock(output=self.clock_output)
        clock.rate = self.transport.rate  # the rate the user chose holds for the next session
        cbs = (lambda s: self._bridge.state.emit(s), lambda m: self._bridge.failed.emit(m))
        clock.state_changed.connect(cbs[0])
        clock.failed.connect(cbs[1])
        self._clock_cbs = cbs
        self.transport.set_backend_note(clock.output_description if clock.backend != "sounddevice" else "")
        self.media = MediaSet(session, self.runner, clock, self)
        self.media.audio_ready.connect(self._on_audio_ready)
        self.media.video_ready.connect(self._on_video_ready)
        self.media.failed.connect(self._on_media_failed)
        self.media.duration_changed.connect(lambda _d: self._update_extent())
        self.media.offset_changed.connect(self._on_offset_changed)
        self.media.removed.connect(self._on_media_removed)
        self.media.cancelled.connect(self._on_media_cancelled)
        for i, tier in enumerate(session.tiers):
            self._add_tier_track(tier, i)
        self._update_extent(show_all=True)
        self.view.set_playhead(self.view.extent[0])
        self.view.set_selection(None)
        self.media.load_all()
        self._update_title()
        self._update_undo()
        self.overview_marks()
        tiers = self.tier_tracks()
        self.timeline.set_current(tiers[0] if tiers else None)
        self.after_session_set()
        self.session_changed.emit(session)

    def _session_connections(self) -> list[tuple[Any, Any]]:
        s = self.session
        return [
            (s.tier_added, self._on_tier_added),
            (s.tier_removed, self._on_tier_removed),
            (s.tier_moved, self._on_tier_moved),
            (s.undo_stack.changed, self._update_undo),
            (s.undo_stack.clean_changed, self._on_clean_changed),
        ]

    def _teardown_session(self) -> None:
        if self.media is not None:
            for sig, slot in self._session_connections():
                try:
                    sig.disconnect(slot)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if self._clock_cbs is not None:
                self.media.clock.state_changed.disconnect(self._clock_cbs[0])
                self.media.clock.failed.disconnect(self._clock_cbs[1])
            self.media.close()
            self.media.deleteLater()
            self.media = None
        for name in list(self.video_pane.panels):
            self.video_pane.remove_video(name)
        for t in list(self.timeline.tracks):
            self.timeline.remove_track(t)
        self.before_session_teardown()

    @property
    def clock(self) -> PlaybackClock:
        assert self.media is not None
        return self.media.clock

    def session_name(self) -> str:
        if self.session.path is not None:
            return self.session.path.name
        if self.doc_path is not None:  # an annotation file (EAF, TextGrid...) saved back in place
            return self.doc_path.name
        return str(self.session.metadata.get("name") or "untitled")

    def _update_title(self) -> None:
        self.setWindowTitle(f"Studio — {self.session_name()}[*]")
        self.setWindowModified(not self.session.undo_stack.is_clean())

    def _on_clean_changed(self, clean: bool) -> None:
        self._update_title()

    def _update_undo(self) -> None:
        st = self.session.undo_stack
        self.undo_action.setEnabled(st.can_undo())
        self.redo_action.setEnabled(st.can_redo())
        self.undo_action.setText(f"&Undo {st.undo_text()}".rstrip())
        self.redo_action.setText(f"&Redo {st.redo_text()}".rstrip())
        self.setWindowModified(not st.is_clean())

    def _update_extent(self, show_all: bool = False) -> None:
        ends = [0.0]
        starts = [0.0]
        if self.media is not None:
            ends.append(self.media.duration)
            starts += [float(m.to_session_time(0.0)) for m in self.session.media]
            if self.media.duration > 0 and not self.media.loading:
                # exports span the recording (a TextGrid's xmax is the sound's end, as in Praat)
                self.session.metadata["media_duration"] = round(self.media.duration, 6)
        r = self.session.time_range()
        if r is not None:
            starts.append(r[0])
            ends.append(r[1])
        t0, t1 = min(starts), max(ends)
        if self.media is not None:
            # the clock plays (and seeks) over the tiers too, not only over the media: a session
            # without audio, or tiers longer than the recording, play in silence to their end
            self.media.clock.set_duration(t1)
        if t1 - t0 < 1.0:
            t1 = t0 + max(1.0, t1 - t0)
        was_all = self.view.range == self.view.extent
        self.view.set_extent(t0, t1, show_all=show_all or was_all)

    # -- tracks ---------------------------------------------------------------------------------
    def _tier_track(self, tier: Tier) -> Track:
        if isinstance(tier, CurveTier):
            from .curves import CurveTierTrack

            # a model's confidence or a probability reads as a 0..1 area with a threshold line
            role = str(tier.attrs.get("role", "")).lower()
            conf = role in ("confidence", "probability") or "confidence" in tier.name.lower()
            return CurveTierTrack(self.view, tier, style="confidence" if conf else "line")
        from .tier_track import IntervalTierTrack, PointTierTrack

        cls = IntervalTierTrack if isinstance(tier, IntervalTier) else PointTierTrack
        track = cls(self.view, self.session, tier)
        track.snapper = self.snap_time
        track.annotation_selected.connect(self._on_annotation_selected)
        track.play_requested.connect(self.play_range)
        track.error.connect(self.show_status)
        return track

    def _add_tier_track(self, tier: Tier, index: int) -> None:
        track = self._tier_track(tier)
        track.track_id = f"tier:{tier.name}"
        media_tracks = len(self.media_tracks())
        self.timeline.add_track(track, media_tracks + index)
        if isinstance(tier, (IntervalTier, PointTier)):
            tier.inserted.connect(self._tier_edited)
            tier.removed.connect(self._tier_edited)
            tier.replaced.connect(self._tier_edited)

    def _tier_edited(self, *args: Any) -> None:
        self.overview_marks()

    def media_tracks(self) -> list[Track]:
        """Tracks that show media (waveforms, spectrogram, features): above the tiers."""
        return [t for t in self.timeline.tracks if getattr(t, "tier", None) is None and t.kind != "ruler"]

    def tier_tracks(self) -> list[Track]:
        """Tracks that show a tier of the session, in session order."""
        return [t for t in self.timeline.tracks if getattr(t, "tier", None) is not None]

    def track_for_tier(self, name: str) -> Track | None:
        for t in self.tier_tracks():
            if getattr(t, "tier", None) is not None and t.tier.name == name:
                return t
        return None

    def _on_tier_added(self, session: Session, index: int, tier: Tier) -> None:
        self._add_tier_track(tier, index)
        self._update_extent()
        self.overview_marks()

    def _on_tier_removed(self, session: Session, index: int, tier: Tier) -> None:
        for t in self.tier_tracks():
            if getattr(t, "tier", None) is tier:
                self.timeline.remove_track(t)
        self.overview_marks()

    def _on_tier_moved(self, session: Session, old: int, new: int) -> None:
        tracks = self.tier_tracks()
        if 0 <= old < len(tracks):
            self.timeline.move_track(tracks[old], new - old)

    def _on_audio_ready(self, lm: LoadedMedia) -> None:
        from studio.media.spectrogram import SpectrogramService

        from .spectrogram_view import SpectrogramTrack
        from .waveform import WaveformTrack

        n = len(self.media_tracks())
        channels = lm.audio.channels
        for ch in range(channels):
            wt = WaveformTrack(self.view, lm.media.name, lm.envelope, channel=ch, offset=lm.media.offset)
            wt.default_height = 64 if channels > 1 else 90
            wt.track_id = f"wave:{lm.media.name}:{ch}"
            wt.media = lm
            self.timeline.add_track(wt, n)
            n += 1
        if not any(t.kind == "spectrogram" for t in self.media_tracks()):
            st = SpectrogramTrack(self.view, "spectrogram", self.runner, SpectrogramService(lm.audio),
                                  offset=lm.media.offset)  # fmt: skip
            st.default_height = 130
            st.track_id = f"spec:{lm.media.name}"
            st.media = lm
            st.set_show_pitch(bool(self.settings["show_pitch"]))
            st.set_show_intensity(bool(self.settings["show_intensity"]))
            self.timeline.add_track(st, n)
            st.setHidden(not self.settings["show_spectrogram"])
        if self.media is not None and self.media.first_audio() is lm:
            self.overview.set_envelope(lm.envelope, lm.media.offset)
        if lm.media.warp is not None:
            self._on_offset_changed(lm)
        self._update_extent()

    def _panel_name(self, lm: LoadedMedia) -> str:
        """The video panel of `lm`: named after the file, and its folder when another video has that
        name (two cameras each writing video.mp4 must not replace each other)."""
        if "panel" not in lm.extra:
            name, panels = lm.media.name, self.video_pane.panels
            if name in panels:
                base = name = f"{Path(lm.media.path).parent.name}/{lm.media.name}"
                k = 2
                while name in panels:
                    name, k = f"{base} ({k})", k + 1
            lm.extra["panel"] = name
        return str(lm.extra["panel"])

    def _on_video_ready(self, lm: LoadedMedia) -> None:
        self.video_pane.add_video(self._panel_name(lm), lm.video, lm.media.offset)
        if lm.media.warp is not None:
            self._on_offset_changed(lm)
        self._update_extent()
        self.show_status(f"{lm.media.name}: {lm.video.width}×{lm.video.height}, {lm.video.fps:.2f} fps")

    def _on_offset_changed(self, lm: LoadedMedia) -> None:
        """The media's offset or warp changed: its video, waveforms, spectrogram and curves follow."""
        m = lm.media
        if lm.video is not None and lm.extra.get("panel") in self.video_pane.panels:
            self.video_pane.set_offset(lm.extra["panel"], m.offset, m.warp)
        for t in self.media_tracks():
            if getattr(t, "media", None) is lm and hasattr(t, "set_offset"):
                t.set_offset(m.offset, m.warp)
        self._update_extent()

    def _on_media_removed(self, lm: LoadedMedia) -> None:
        """A media left the session (undo of Add media): its waveforms, spectrogram and video go too."""
        for t in self.media_tracks():
            if getattr(t, "media", None) is lm:
                self.timeline.remove_track(t)
        if lm.video is not None and lm.extra.get("panel") in self.video_pane.panels:
            self.video_pane.remove_video(lm.extra["panel"])
        if self.media is not None:
            first = self.media.first_audio()
            self.overview.set_envelope(
                first.envelope if first else None, first.media.offset if first else 0.0
            )
        self._update_extent()

    def _on_media_cancelled(self, lm: LoadedMedia) -> None:
        self.show_status(f"opening {lm.media.name} was cancelled: add it again (Add media) to load it", 15000)

    def _on_media_failed(self, lm: LoadedMedia, message: str) -> None:
        from studio.core.commands import AddMedia

        st = self.session.undo_stack
        top = st.command(st.index - 1) if st.index else None
        if isinstance(top, AddMedia) and top.media is lm.media:  # just added (a drop, Add media)
            st.undo()  # a file that cannot play is not left in the session (nor in its next save)
            message += "\nIt was not added to the session."
        self.dialogs.error("Cannot open media", message)
        self.show_status(message)

    def overview_marks(self) -> None:
        import numpy as np

        marks = [t.boundaries() for t in self.session.interval_tiers() + self.session.point_tiers()]
        self.overview.set_marks(np.concatenate(marks) if marks else np.zeros(0))

    def _on_current_track(self, track: Track | None) -> None:
        pass

    def _fill_track_menu(self) -> None:
        self.track_menu.clear()
        for t in self.timeline.tracks:
            a = self.track_menu.addAction(t.title)
            a.setCheckable(True)
            a.setChecked(not t.isHidden())
            a.toggled.connect(lambda on, t=t: self.timeline.set_hidden(t, not on))

    # -- view -----------------------------------------------------------------------------------
    def act_zoom_in(self) -> None:
        self.view.zoom(2.0, self.view.playhead if self._playhead_visible() else None)

    def act_zoom_out(self) -> None:
        self.view.zoom(0.5, self.view.playhead if self._playhead_visible() else None)

    def _playhead_visible(self) -> bool:
        t0, t1 = self.view.range
        return t0 <= self.view.playhead <= t1

    def act_zoom_all(self) -> None:
        self.view.show_all()

    def act_zoom_selection(self) -> None:
        sel = self.view.selection or self.selected_span()
        if sel is None:
            self.show_status("nothing selected to zoom to")
            return
        pad = (sel[1] - sel[0]) * 0.05
        self.view.set_range(sel[0] - pad, sel[1] + pad)

    def act_follow(self, on: bool) -> None:
        self.view.follow = on
        self.settings["follow_playhead"] = on

    def _spectrogram_tracks(self) -> list[Track]:
        return [t for t in self.timeline.tracks if t.kind == "spectrogram"]

    def act_show_spectrogram(self, on: bool) -> None:
        self.settings["show_spectrogram"] = on
        for t in self._spectrogram_tracks():
            self.timeline.set_hidden(t, not on)

    def act_show_pitch(self, on: bool) -> None:
        self.settings["show_pitch"] = on
        for t in self._spectrogram_tracks():
            t.set_show_pitch(on)

    def act_show_intensity(self, on: bool) -> None:
        self.settings["show_intensity"] = on
        for t in self._spectrogram_tracks():
            t.set_show_intensity(on)

    def act_add_feature(self) -> None:
        from studio.media.features import extract_task

        lm = self.media.first_audio() if self.media is not None else None
        if lm is None:
            self.dialogs.error("No audio", "Add a feature curve: the session has no audio to analyse.")
            return
        kinds = ["rms", "onset", "mfcc", "chroma", "logmel"]
        if lm.video is not None:
            kinds += ["motion", "mouth"]
        kind = self.dialogs.choice("Add feature curve", "Feature:", kinds)
        if not kind:
            return
        path, media = lm.media.path, self.media

        def done(feats: Any) -> None:
            from .curves import FeatureTrack

            if self.media is not media or media.loaded.get(id(lm.media)) is not lm:
                return  # the session (or this media) was left meanwhile: not a curve of this one

            track = FeatureTrack(self.view, feats, f"{lm.media.name} · {kind}", offset=lm.media.offset)
            if lm.media.warp is not None:
                track.set_offset(lm.media.offset, lm.media.warp)
            track.track_id = f"feature:{lm.media.name}:{kind}"
            track.media = lm  # removed with its media (undo of Add media)
            self.timeline.add_track(track, len(self.media_tracks()))

        self.runner.submit(lambda: extract_task(path, kind), name=f"{kind} of {lm.media.name}",
                           on_result=done, on_error=self._job_failed)  # fmt: skip

    # -- jobs and status ------------------------------------------------------------------------
    def _update_jobs(self) -> None:
        jobs = self.runner.jobs
        if not jobs:
            self.jobs_widget.hide()
            return
        self.jobs_widget.show()
        j = jobs[0]
        more = f" (+{len(jobs) - 1})" if len(jobs) > 1 else ""
        self.jobs_label.setText(f"{j.name}{more}")
        if j.fraction is None:
            self.jobs_bar.setRange(0, 0)
        else:
            self.jobs_bar.setRange(0, 100)
            self.jobs_bar.setValue(int(100 * j.fraction))
        if not getattr(self, "_jobs_timer", None):
            self._jobs_timer = QTimer(self)
            self._jobs_timer.setInterval(200)
            self._jobs_timer.timeout.connect(self._update_jobs_tick)
        self._jobs_timer.start()

    def _update_jobs_tick(self) -> None:
        if not self.runner.jobs:
            self._jobs_timer.stop()
        self._update_jobs()

    # -- device worker and jobs panel --------------------------------------------------------------
    def _build_device_ui(self) -> None:
        """The device label in the status bar (refreshed every 2 s) and the Jobs dock (View menu)."""
        self.device_label = QLabel(self.device_worker.status_text())
        self.device_label.setObjectName("deviceLabel")
        self.statusBar().addPermanentWidget(self.device_label)
        self._device_timer = QTimer(self)
        self._device_timer.setInterval(2000)
        self._device_timer.timeout.connect(self._update_device_label)
        self._device_timer.start()
        self.device_worker.device_ready.connect(lambda _d: self._update_device_label())
        self.device_worker.job_failed.connect(self._on_device_job_failed)
        self.jobs_panel = JobsPanel()
        self.jobs_panel.add_source(self.device_worker, "model worker")
        self.jobs_panel.add_source(self.runner, "media", min_visible_s=0.5)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("JobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        self.jobs_dock.hide()
        self.jobs_dock.visibilityChanged.connect(self._on_jobs_dock_visible)

    def _update_device_label(self) -> None:
        self.device_label.setText(self.device_worker.status_text())
        note = self.device_worker.note
        self.device_label.setToolTip(f"Device of the model jobs (alignment). {note}".strip())

    def act_show_jobs(self, on: bool) -> None:
        self.jobs_dock.setVisible(on)

    def _on_jobs_dock_visible(self, visible: bool) -> None:
        if not self._closing and "show_jobs" in self.actions_by_id:
            a = self.actions_by_id["show_jobs"]
            a.blockSignals(True)
            a.setChecked(visible)
            a.blockSignals(False)

    def _on_device_job_failed(self, job: DeviceJob) -> None:
        self.show_status(f"{job.name} failed: {job.error} (details in the Jobs panel)", 15000)
        self.action("show_jobs").setChecked(True)

    def act_jobs(self) -> None:
        self.runner.cancel_all()
        self.show_status("background jobs cancelled")

    def _job_failed(self, message: str, tb: str) -> None:
        self.dialogs.error("A background job failed", message, tb)

    def show_status(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    # -- help -----------------------------------------------------------------------------------
    def act_shortcuts(self) -> None:
        from .help_dialog import ShortcutsDialog

        dlg = ShortcutsDialog(self)
        self._shortcuts_dialog = dlg
        if self.dialogs.test_mode:
            dlg.show()
        else:
            dlg.exec()

    def act_about(self) -> None:
        from studio import __version__

        self.dialogs.info(
            "About Studio",
            f"Studio {__version__}\nAnnotation and alignment of multimodal recordings.\n"
            "Demo clip: GRID corpus (Cooke et al. 2006), CC BY 4.0.",
        )

    def ready_for_screenshot(self) -> bool:
        """Media loaded, no background job left, the video showing a frame (app --screenshot)."""
        if self.media is None or self.media.loading or self.runner.jobs or self.device_worker.jobs:
            return False
        return all(
            p.shown_index is not None or getattr(p, "note", "") for p in self.video_pane.panels.values()
        )

    # -- closing --------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self.maybe_save("Close Studio"):
            event.ignore()
            return
        self._closing = True
        self.pause()
        self._timer.stop()
        self.close_journal(clean=self.session.undo_stack.is_clean())
        self._teardown_session()
        self.video_pane.shutdown()
        self.runner.shutdown(wait=True)
        self._device_timer.stop()
        self.jobs_panel.shutdown()
        self.device_worker.shutdown(timeout=2.0)
        event.accept()
        super().closeEvent(event)
