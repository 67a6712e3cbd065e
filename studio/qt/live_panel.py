"""The "Live" panel: a model run on the open recording during playback, a microphone or a camera.

The panel picks a source and a model, starts a `studio.models.live.LivePredictor` (its own thread)
and draws its predictions as a rolling `CurveTrack` on the timeline, with the latency (mean / p95
of the time from a chunk's arrival to its prediction) beside the start button.

* **Open recording** — the first recording with audio, read from its file just ahead of the
  playhead (`RecordingSource(follow=True)`): as playback advances, the frames up to the playhead
  are computed and predicted, placed at session time (the media's offset and warp), so the track
  fills in behind the playhead. A seek restarts the stream there; what was predicted stays.
* **Microphone** / **Camera** — live devices. A device has no session time, so predictions are
  at seconds since the start of the run, **placed at the session playhead where the run started**
  (start at 12 s: the prediction 1.5 s into the run is drawn at 13.5 s). Where a device is
  missing (as on a server) its choice is disabled and its tooltip says why
  (`probe_devices`, run off the UI thread when the panel opens).

The model is a Studio model file (.pt, `FusionModel.load`, loaded by a job); the bundled
"speech-activity" model is the default where ``resources/models/speech_activity/model.pt``
exists. `set_model` takes any ``predict_window`` callable instead (other model types, tests).

The "Time base" row says which of the two the rolling track uses.

**Keep as tier** turns the last run's predictions into annotations in one undo step
(`core.editing.add_tiers` inside an undo macro): `studio.models.predict.prediction_tiers` makes,
from the frames as offline prediction would (smoothed, runs shorter than 0.1 s merged, the
background class — "-", "non-speech" — left as gaps, each interval's mean probability as its
confidence), a prediction IntervalTier named "<model> (live)" and its confidence CurveTier, placed
where the track was drawn: session time for the recording (through the media's offset and warp),
the run's start playhead + seconds since start for a device. Each tier's ``attrs["live"]`` says
which (``{"source", "started_at", "time_base"}``). Frames a seek skipped are gaps (no interval, NaN
confidence), not interpolated guesses. Regression models give one values CurveTier.

The UI thread only polls the predictor's results on a 40 ms timer and redraws the track; nothing
here decodes, computes features or runs the model. `open_live_panel(window)` makes (once) and
shows the panel in a dock of the main window; the window's menu action calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.tiers import CurveTier, IntervalTier

from .curves import CurveTrack

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["LivePanel", "open_live_panel", "bundled_model_path", "SOURCES"]

#: source id -> shown name
SOURCES = {"recording": "Open recording (during playback)", "microphone": "Microphone", "camera": "Camera"}
POLL_MS = 40
BACKGROUND = ("-", "", "non-speech", "nonspeech", "background", "silence", "sil")


def bundled_model_path() -> Path:
    """Where the bundled speech-activity model lives (it may be absent)."""
    return Path(__file__).resolve().parents[2] / "resources" / "models" / "speech_activity" / "model.pt"


def _load_model_task(path: str) -> Any:
    from studio.models.fusion import FusionModel
    from studio.tasks.base import Progress

    yield Progress(0.0, f"loading {Path(path).name}")
    return FusionModel.load(path, device="cpu")


class LivePanel(QWidget):
    """Source, model, start/stop, latency; the rolling prediction track on the window's timeline."""

    model_changed = Signal(str)  # the model's name ("" when none)
    running_changed = Signal(bool)
    updated = Signal(int)  # predictions drawn so far

    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.predictor: Any = None
        self.source: Any = None
        self.track: CurveTrack | None = None
        self.devices: dict[str, dict[str, Any]] | None = None
        self._model: tuple[Callable[..., Any], str, tuple[str, ...], list[str] | None] | None = None
        self._points: dict[int, np.ndarray] = {}  # grid frame -> row, merged over seeks
        self._seen = 0
        self._place: Callable[[np.ndarray], np.ndarray] = lambda t: t
        self._follow: Any = None  # the playhead connection of the recording source
        self._classes: list[str] | None = None
        self.hop = 0.04
        self._run: dict[str, Any] | None = None  # the last run: source, model, start, placement

        self.source_combo = QComboBox()
        for key, text in SOURCES.items():
            self.source_combo.addItem(text, key)
        self._set_choice("microphone", False, "Checking for a microphone…")
        self._set_choice("camera", False, "Checking for a camera…")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("a Studio model file (.pt)")
        self.model_edit.editingFinished.connect(lambda: self.load_model(self.model_edit.text()))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Run the model live on the chosen source")
        self.start_button.clicked.connect(self.toggle)
        self.latency_label = QLabel("latency: –")
        self.latency_label.setToolTip("From a block's arrival to its prediction: mean / 95th percentile")
        self.timebase_label = QLabel()
        self.timebase_label.setWordWrap(True)
        self.timebase_label.setToolTip(
            "Where the rolling track and the kept tiers are placed on the timeline"
        )
        self.keep_button = QPushButton("Keep as tier")
        self.keep_button.setToolTip(
            "Add the predictions so far as a prediction tier and its confidence curve (one undo step)"
        )
        self.keep_button.clicked.connect(self.keep)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Source", self.source_combo)
        row = QHBoxLayout()
        row.addWidget(self.model_edit, 1)
        row.addWidget(self.browse_button)
        form.addRow("Model", row)
        form.addRow("", self.model_label)
        form.addRow("Time base", self.timebase_label)
        bar = QHBoxLayout()
        bar.addWidget(self.start_button)
        bar.addWidget(self.latency_label, 1)
        bar.addWidget(self.keep_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(bar)
        lay.addWidget(self.status_label)
        lay.addStretch(1)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.source_combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        window.installEventFilter(self)
        self._update_buttons()
        window.runner.submit(self._probe_task, name="Check live input devices", on_result=self._on_devices)
        bundled = bundled_model_path()
        if bundled.exists():
            self.model_edit.setText(str(bundled))
            self.load_model(str(bundled))
        else:
            self.model_label.setText(
                "No model yet: the bundled speech-activity model is not installed "
                f"({bundled.parent.name}/model.pt); choose a model file."
            )

    # -- choices ---------------------------------------------------------------------------------
    @staticmethod
    def _probe_task() -> Any:
        from studio.models.live import probe_devices

        return probe_devices()
        yield  # a generator: a task

    def _set_choice(self, key: str, enabled: bool, tip: str) -> None:
        model = self.source_combo.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(list(SOURCES).index(key))
        item.setEnabled(enabled)
        item.setToolTip(tip)

    def choice_enabled(self, key: str) -> bool:
        model = self.source_combo.model()
        assert isinstance(model, QStandardItemModel)
        return model.item(list(SOURCES).index(key)).isEnabled()

    def choice_tooltip(self, key: str) -> str:
        model = self.source_combo.model()
        assert isinstance(model, QStandardItemModel)
        return model.item(list(SOURCES).index(key)).toolTip()

    def _on_devices(self, devices: dict[str, dict[str, Any]]) -> None:
        self.devices = devices
        for key in ("microphone", "camera"):
            d = devices[key]
            self._set_choice(key, d["available"], d["name"] if d["available"] else d["reason"])
        self._update_buttons()

    def set_source(self, key: str) -> None:
        self.source_combo.setCurrentIndex(list(SOURCES).index(key))

    # -- the model -------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Live model", "", "Studio models (*.pt)")
        if path:
            self.model_edit.setText(path)
            self.load_model(path)

    def load_model(self, path: str) -> None:
        """Load a Studio model file in a job; the panel uses it once loaded."""
        path = path.strip()
        if not path:
            return
        if not Path(path).is_file():
            self._model = None
            self.model_label.setText(f"No model: {path} does not exist.")
            self._update_buttons()
            return
        self.model_label.setText(f"Loading {Path(path).name}…")

        def done(model: Any) -> None:
            if self.model_edit.text().strip() != path:
                return  # another model was chosen meanwhile
            inputs = tuple(getattr(model, "_used", None) or model.inputs)
            if not set(inputs) <= {"audio", "video"}:
                self._model = None
                self.model_label.setText(
                    f"{Path(path).name} needs {', '.join(inputs)}: live has audio and video only."
                )
                self._update_buttons()
                return
            name = getattr(model.card, "name", "") or Path(path).stem
            self.set_model(model.predict_window, name, inputs, model.classes, hop=model.hop)

        def failed(message: str, _tb: str) -> None:
            self._model = None
            self.model_label.setText(f"Cannot load {Path(path).name}: {message}")
            self._update_buttons()

        self.window.runner.submit(lambda: _load_model_task(path), name=f"Load {Path(path).name}",
                                  group="live-model", on_result=done, on_error=failed)  # fmt: skip

    def set_model(
        self,
        predict_window: Callable[..., Any],
        name: str,
        modalities: Sequence[str] = ("audio", "video"),
        classes: list[str] | None = None,
        hop: float = 0.04,
    ) -> None:
        """Use `predict_window` ((features, present) -> (T, C) or (T,)) as the live model."""
        self.hop = float(hop)
        self._model = (predict_window, name, tuple(modalities), classes)
        kinds = ", ".join(classes) if classes else "values"
        self.model_label.setText(f"{name}: {' + '.join(modalities)} → {kinds}")
        self.model_changed.emit(name)
        self._update_buttons()

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.predictor is not None

    def toggle(self) -> None:
        self.stop() if self.running else self.start()

    def _recording(self) -> Any:
        media = self.window.media
        return media.first_audio() if media is not None else None

    def _update_buttons(self) -> None:
        key = self.source_combo.currentData()
        problem = None
        if self._model is None:
            problem = "Choose a model first."
        elif key == "recording" and self._recording() is None:
            problem = "No recording with audio is open."
        elif key != "recording" and not self.choice_enabled(key):
            problem = self.choice_tooltip(key)
        self.start_button.setText("Stop" if self.running else "Start")
        self.start_button.setEnabled(self.running or problem is None)
        self.keep_button.setEnabled(bool(self._points))
        self.timebase_label.setText(self.time_base_text())
        if not self.running:
            self.status_label.setText(problem or "")

    def time_base_text(self) -> str:
        """What the rolling track's times are: of the run (while running / after it) or of the choice."""
        run = self._run if self._run is not None and (self.running or self._points) else None
        key = run["source"] if run is not None else self.source_combo.currentData()
        if key == "recording":
            return "session time (the recording's own time through its offset and warp)"
        text = "seconds since start, placed at the playhead"
        return f"{text} ({run['started_at']:.2f} s)" if run is not None else text

    def start(self, device: Any = None) -> None:
        """Start the chosen source and the predictor (both on their own threads).

        `device`: a `studio.models.live.LiveSource` to run instead of the chosen source, timed as
        a device (seconds since start, placed at the playhead): another input, or a recording
        played as one (`RecordingSource`)."""
        from studio.models import live

        if self.running or self._model is None:
            return
        predict_window, name, modalities, classes = self._model
        key = "device" if device is not None else self.source_combo.currentData()
        started_at = float(self.window.view.playhead)
        try:
            if device is not None:
                self.source = device
                self._place = lambda t, t0=started_at: np.asarray(t, float) + t0
            elif key == "recording":
                lm = self._recording()
                if lm is None:
                    raise live.DeviceUnavailable("no recording with audio is open")
                ref = lm.media
                streams = ("audio", "video") if lm.video is not None else ("audio",)
                fps = float(lm.video.fps) if lm.video is not None and lm.video.fps else 25.0
                self.source = live.RecordingSource(ref.path, follow=True, streams=streams, fps=fps,
                                                   start=max(0.0, float(ref.to_media_time(self.window.view.playhead))))  # fmt: skip
                self._place = lambda t, ref=ref: np.asarray(ref.to_session_time(t), float)
                self._follow = lambda t, ref=ref, src=self.source: src.advance_to(float(ref.to_media_time(t)))
                self.window.view.playhead_changed.connect(self._follow)
            elif key == "microphone":
                self.source = live.MicrophoneSource()
                self._place = lambda t, t0=started_at: np.asarray(t, float) + t0
            else:
                self.source = live.CameraSource()
                self._place = lambda t, t0=started_at: np.asarray(t, float) + t0
        except (live.DeviceUnavailable, OSError, ValueError) as exc:
            self.source = None
            self.status_label.setText(str(exc))
            return
        fps = getattr(self.source, "fps", 25.0)
        self.predictor = live.LivePredictor(predict_window, hop=self.hop, modalities=modalities, fps=fps)
        self._points.clear()
        self._seen = 0
        self._run = {"source": key, "model": name, "started_at": started_at, "place": self._place,
                     "session": self.window.session}  # fmt: skip
        self._ensure_track(name, classes)
        self.predictor.start(self.source)
        self.timer.start()
        where = {"recording": "as the recording plays", "device": f"on {getattr(device, 'name', 'a device')}"}
        where_text = where.get(key, f"on the {key}")
        self.status_label.setText(f"Running {name} {where_text}.")
        self.source_combo.setEnabled(False)
        self._update_buttons()
        self.running_changed.emit(True)

    def stop(self) -> None:
        """Stop the predictor and its source (joined within 0.5 s); the track stays."""
        if self.predictor is None:
            return
        if self._follow is not None:
            self.window.view.playhead_changed.disconnect(self._follow)
            self._follow = None
        self.predictor.stop()
        self._poll()
        self.predictor = None
        self.source = None
        self.timer.stop()
        self.source_combo.setEnabled(True)
        self._update_buttons()
        self.running_changed.emit(False)

    # -- the track -------------------------------------------------------------------------------
    def _ensure_track(self, name: str, classes: list[str] | None) -> None:
        title = f"Live · {name}"
        if self.track is None or self.track.parent() is None:
            self.track = CurveTrack(self.window.view, title)
            self.track.track_id = "live:prediction"
            self.window.timeline.add_track(self.track)
        self.track.title = title
        self.track.set_data(np.zeros(0), np.zeros(0), [name])
        self._classes = classes

    def _columns(self, rows: np.ndarray) -> tuple[np.ndarray, list[str], str]:
        """What to draw of the rows: one class's probability as confidence, or the curves."""
        classes = self._classes
        if rows.ndim == 1:
            return rows, ["value"], "line"
        if classes and len(classes) == 2:
            fg = [i for i, c in enumerate(classes) if c.lower() not in BACKGROUND] or [1]
            return rows[:, fg[0]], [classes[fg[0]]], "confidence"
        return rows, list(classes or [str(i) for i in range(rows.shape[1])]), "line"

    def _poll(self) -> None:
        p = self.predictor
        if p is None:
            return
        times, rows = p.results(self._seen)
        if len(times):
            self._seen += len(times)
            for t, row in zip(times, rows, strict=True):
                self._points[int(round(t / self.hop))] = row
            ks = np.fromiter(sorted(self._points), int, len(self._points))
            values, names, style = self._columns(np.stack([self._points[k] for k in ks]))
            if self.track is not None:
                if self.track.style != style:
                    self.track.set_style(style)
                if style == "confidence":
                    self.track.set_y_range((0.0, 1.0))
                self.track.set_data(self._place(ks * self.hop), values, names)
            if not self.keep_button.isEnabled():
                self.keep_button.setEnabled(True)
            self.updated.emit(len(self._points))
        lat = p.latency()
        if lat["count"]:
            self.latency_label.setText(
                f"latency: {lat['mean'] * 1000:.1f} ms mean · {lat['p95'] * 1000:.1f} ms p95"
                f" ({len(self._points)} frames)"
            )
        problem = p.error or (self.source.error if self.source is not None else None)
        if problem:
            self.stop()
            self.status_label.setText(f"Stopped: {problem}")

    # -- keeping the predictions -----------------------------------------------------------------
    def kept_tiers(self) -> list[Any]:
        """The last run's predictions as new (not yet added) tiers, placed as the track (module doc)."""
        from studio.models.predict import prediction_tiers

        run = self._run
        if run is None or not self._points:
            return []
        ks = np.fromiter(sorted(self._points), int, len(self._points))
        rows = np.stack([self._points[k] for k in ks]).astype(float)
        grid = np.arange(ks[0], ks[-1] + 1)
        have = np.isin(grid, ks)
        if rows.ndim == 1:
            filled, classes = np.interp(grid, ks, rows), None
        else:  # frames a seek skipped: filled for the smoothing only, left as gaps below
            filled = np.column_stack([np.interp(grid, ks, rows[:, c]) for c in range(rows.shape[1])])
            classes = self._classes
            if classes is None or len(classes) != rows.shape[1]:
                classes = [str(c) for c in range(rows.shape[1])]
        skip = tuple(c for c in classes or () if c.lower() in BACKGROUND)
        name = run["model"]
        t0 = float(grid[0]) * self.hop
        tiers = prediction_tiers(filled, self.hop, name=f"{name} (live)", classes=classes, start=t0,
                                 skip=skip, source=name, valid=have)  # fmt: skip
        live_attrs = {"source": run["source"], "started_at": round(run["started_at"], 6),
                      "time_base": "session" if run["source"] == "recording" else "since start"}  # fmt: skip
        place = run["place"]
        out: list[Any] = []
        for tier in tiers:
            attrs = {**tier.attrs, "live": dict(live_attrs)}
            if isinstance(tier, IntervalTier):
                ivs = [iv.replace(start=float(place(iv.start)), end=float(place(iv.end))) for iv in tier]
                out.append(IntervalTier(tier.name, ivs, attrs=attrs))
            else:
                values = np.array(tier.values, dtype=float)
                values[~have] = np.nan
                out.append(CurveTier(tier.name, values, times=place(grid * self.hop), unit=tier.unit,
                                     attrs=attrs))  # fmt: skip
        return out

    def keep(self) -> list[str]:
        """Add `kept_tiers()` to the session in one undo step; the names they got ([] when nothing)."""
        from studio.core.editing import add_tiers

        s = self.window.session
        if self._run is None or not self._points:
            return []
        if self._run["session"] is not s:
            self.status_label.setText(
                "These predictions were made for another session: run again to keep them."
            )
            return []
        tiers = self.kept_tiers()
        with s.undo_stack.macro(f"Keep live predictions of {self._run['model']}"):
            for c in add_tiers(s, tiers, suffix="kept"):
                s.undo_stack.push(c)
        names = [t.name for t in tiers]
        self.status_label.setText(f"Kept as {names[0]!r}" + (" + confidence" if len(names) > 1 else "")
                                  + " (one undo step).")  # fmt: skip
        return names

    def latency_text(self) -> str:
        return self.latency_label.text()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.stop()  # the window closes: no thread outlives it
        return False


def open_live_panel(window: MainWindow) -> LivePanel:
    """Show the Live dock of `window` (made on first use) and return its panel."""
    dock = window.findChild(QDockWidget, "LiveDock")
    if dock is None:
        dock = QDockWidget("Live", window)
        dock.setObjectName("LiveDock")
        dock.setWidget(LivePanel(window))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.show()
    dock.raise_()
    panel = dock.widget()
    assert isinstance(panel, LivePanel)
    return panel
