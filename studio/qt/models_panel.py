"""The Models dock: the cooperative annotation loop (annotate part, train, predict the rest, review).

What an annotator does (NOVA's loop, without a database): annotate part of a recording on a tier
(or select the part annotated), choose the models to compare (late fusion by default; early, LMF,
TFN, MulT and one single-modality baseline per modality), press Train. Training runs on the device
worker (`studio.models.fusion.FusionModel.fit_task`, early stopping on the last fifth of the
annotated part, held out); the loss curve of the model being trained is drawn as epochs arrive and
the metrics table compares the models on the held-out part. Predict fills the *rest* of the
recording with the chosen model's labels as a new tier, each interval with its confidence, plus a
confidence curve, in one undo step; the review queue lists the least certain first. A person's
relabel or boundary move of a predicted interval sets its confidence to 1 (`studio.core.commands`),
and Train again learns from those too: frames of predicted intervals with confidence 1 count as
labels. Save writes the chosen model (`studio predict model.pt ...` runs it headless).

Why it is built this way: everything slow (features, training, prediction) is a `studio.tasks`
generator on the device worker; the panel only keeps the results (FrameData and models) of the
session it was made for and drops results for another session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.tiers import CurveTier, IntervalTier
from .track import COLORS

__all__ = ["ModelsPanel", "LossPlot", "MODEL_CHOICES"]

#: (label, kind, modality for unimodal)
MODEL_CHOICES = (
    ("Late fusion (learned weights)", "late", None),
    ("Early fusion", "early", None),
    ("Low-rank fusion (LMF)", "lmf", None),
    ("Tensor fusion (TFN)", "tfn", None),
    ("Cross-modal attention (MulT)", "mult", None),
    ("Audio only", "unimodal", "audio"),
    ("Video only", "unimodal", "video"),
    ("Text only", "unimodal", "text"),
)


class LossPlot(QWidget):
    """Train and held-out loss per epoch, drawn as they arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[dict[str, Any]] = []
        self.title = ""
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_history(self, history: list[dict[str, Any]], title: str = "") -> None:
        self.history = list(history)
        self.title = title
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(36, 18, -8, -18)
        p.fillRect(self.rect(), COLORS["background"])
        p.setPen(COLORS["dim"])
        p.drawText(QRectF(8, 0, self.width() - 16, 16), Qt.AlignmentFlag.AlignLeft, self.title or "loss")
        if not self.history:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "the loss curve appears while a model trains")
            return
        series = {
            "train": [h.get("train_loss") for h in self.history],
            "held-out": [h.get("val_loss") for h in self.history],
        }
        vals = [v for s in series.values() for v in s if v is not None and np.isfinite(v)]
        if not vals:
            return
        lo, hi = min(vals), max(vals)
        hi = hi if hi > lo else lo + 1.0
        n = max(len(self.history) - 1, 1)
        p.setPen(QPen(COLORS["grid"], 1))
        p.drawRect(r)
        p.setPen(COLORS["dim"])
        p.drawText(QRectF(0, r.top() - 6, 34, 12), Qt.AlignmentFlag.AlignRight, f"{hi:.2f}")
        p.drawText(QRectF(0, r.bottom() - 6, 34, 12), Qt.AlignmentFlag.AlignRight, f"{lo:.2f}")
        p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), 14), Qt.AlignmentFlag.AlignRight,
                   f"epoch {self.history[-1].get('epoch', len(self.history))}")  # fmt: skip
        colors = {"train": QColor("#4fc3f7"), "held-out": QColor("#ffb74d")}
        for k, (name, s) in enumerate(series.items()):
            path = QPainterPath()
            started = False
            for i, v in enumerate(s):
                if v is None or not np.isfinite(v):
                    continue
                pt = QPointF(r.left() + r.width() * i / n, r.bottom() - r.height() * (v - lo) / (hi - lo))
                path.lineTo(pt) if started else path.moveTo(pt)
                started = True
            p.setPen(QPen(colors[name], 1.6))
            p.drawPath(path)
            p.drawText(QRectF(r.right() - 150 + 75 * k, 0, 72, 16), Qt.AlignmentFlag.AlignRight, name)


class ModelsPanel(QWidget):
    """The dock's widget; `window` is the MainWindow (its session, device worker, status bar)."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.session: Any = None
        self.models: list[dict[str, Any]] = []  # {"label", "model", "metrics", "seconds"}
        self.data: Any = None  # the FrameData of the last training (the whole recording)
        self.data_key: Any = None
        self.rest: Any = None  # frames outside the annotated part
        self.job: Any = None
        self.result: Any = None  # the last studio.models.loop.LoopResult
        self.tier = QComboBox()
        self.tier.setToolTip(
            "The tier the models learn: an interval tier's labels (gaps are the background class '-'), "
            "or a curve tier's values (regression)"
        )
        self.audio, self.video, self.text = QCheckBox("audio"), QCheckBox("video"), QCheckBox("text")
        self.audio.setChecked(True)
        self.video.setChecked(True)
        self.text_tier = QComboBox()
        self.text_tier.setToolTip("The tier of words for the text modality")
        mods = QHBoxLayout()
        for w in (self.audio, self.video, self.text, self.text_tier):
            mods.addWidget(w)
        mods.addStretch(1)
        self.segments = QComboBox()
        self.segments.setToolTip(
            "Predict one label per interval of this tier (utterances, turns...) instead of frame runs"
        )
        self.kinds = QListWidget()
        self.kinds.setMaximumHeight(120)
        for label, kind, modality in MODEL_CHOICES:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, (kind, modality))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = kind == "late" or (kind == "unimodal" and modality == "audio")
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.kinds.addItem(item)
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train the checked models on the annotated part (or the selection)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.predict_button = QPushButton("Predict the rest")
        self.predict_button.setEnabled(False)
        self.save_button = QPushButton("Save model…")
        self.save_button.setEnabled(False)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.cancel_button, self.predict_button, self.save_button):
            buttons.addWidget(b)
        self.loss = LossPlot()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["model", "params", "train s", "F1", "accuracy"])
        self.table.verticalHeader().hide()
        self.table.setToolTip(
            "Each model on the held-out last fifth of the annotated part (macro F1, frame accuracy)"
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 5):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.status = QLabel("Annotate part of the recording on a tier, then Train.")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Labels", self.tier)
        form.addRow("Inputs", mods)
        form.addRow("Models", self.kinds)
        form.addRow("Predict", self.segments)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.loss)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        self.train_button.clicked.connect(lambda: self.train())
        self.cancel_button.clicked.connect(self.cancel)
        self.predict_button.clicked.connect(lambda: self.predict())
        self.save_button.clicked.connect(self._save_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)

    # -- session -----------------------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        if self.session is not None and self.session is not session:
            for sig in (self.session.tier_added, self.session.tier_removed):
                sig.disconnect(self._fill_tiers)
            self.models, self.data, self.data_key, self.result = [], None, None, None
            self.table.setRowCount(0)
            self.loss.set_history([])
            self._update_buttons()
        if self.session is not session:
            self.session = session
            session.tier_added.connect(self._fill_tiers)
            session.tier_removed.connect(self._fill_tiers)
            media = self._media()
            self.video.setChecked(media is None or media.kind == "video")  # an audio file has no mouth to see
        self._fill_tiers()

    def _media(self) -> Any:
        """The recording the models learn from: the session's first audio or video."""
        return (
            next((m for m in self.session.media if m.kind in ("audio", "video")), None)
            if self.session
            else None
        )

    def _fill_tiers(self, *_args: Any) -> None:
        seg_keep = self.segments.currentText()
        self.segments.blockSignals(True)
        self.segments.clear()
        self.segments.addItem("frame by frame", None)
        for t in self.session.tiers if self.session is not None else ():
            if isinstance(t, IntervalTier) and not t.attrs.get("prediction"):
                self.segments.addItem(f"one label per interval of {t.name}", t.name)
        if seg_keep:
            self.segments.setCurrentText(seg_keep)
        self.segments.blockSignals(False)
        for box, keep in (
            (self.tier, self.tier.currentText()),
            (self.text_tier, self.text_tier.currentText()),
        ):
            box.blockSignals(True)
            box.clear()
            for t in self.session.tiers if self.session is not None else ():
                if t.attrs.get("prediction") or t.attrs.get("time_map"):
                    continue
                # labels: interval tiers (classes) or curve tiers (regression); text: interval tiers
                if isinstance(t, IntervalTier) or (box is self.tier and isinstance(t, CurveTier)):
                    box.addItem(t.name)
            if keep:
                box.setCurrentText(keep)
            box.blockSignals(False)

    def checked_models(self) -> list[tuple[str, str, str | None]]:
        out = []
        for i in range(self.kinds.count()):
            item = self.kinds.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                kind, modality = item.data(Qt.ItemDataRole.UserRole)
                out.append((item.text(), kind, modality))
        return out

    def set_checked(self, labels: list[str]) -> None:
        for i in range(self.kinds.count()):
            item = self.kinds.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in labels else Qt.CheckState.Unchecked)

    def modalities(self) -> tuple[str, ...]:
        return tuple(
            m
            for m, box in (("audio", self.audio), ("video", self.video), ("text", self.text))
            if box.isChecked()
        )

    def prediction_name(self) -> str:
        return f"{self.tier.currentText()} (predicted)"

    # -- train -------------------------------------------------------------------------------------
    def problem(self) -> str | None:
        s = self.session
        if s is None or not any(m.kind in ("audio", "video") for m in s.media):
            return "Open a recording first."
        if not self.tier.currentText() or not s.has_tier(self.tier.currentText()):
            return "Choose the tier whose labels to learn."
        if not self.modalities():
            return "Choose at least one input."
        if "video" in self.modalities() and self._media().kind != "video":
            return f"{self._media().name} has no video: uncheck the video input."
        if "text" in self.modalities() and not self.text_tier.currentText():
            return "The text input needs a tier of words."
        if not self.checked_models():
            return "Check at least one model."
        mods = set(self.modalities())
        for label, kind, modality in self.checked_models():
            if kind == "unimodal" and modality not in mods:
                return f"{label} needs the {modality} input."
            if kind != "unimodal" and len(mods) < 2:
                return f"{label} fuses inputs: choose two or more (or a single-modality model)."
        return None

    def train(self) -> Any:
        """Start training the checked models; returns the job (None with a problem, said in the status)."""
        from ..models.loop import classes_of
        from ..models.predict import annotated_span

        problem = self.problem()
        if problem:
            self.status.setText(problem)
            return None
        s, window = self.session, self.window
        tier = s.tier(self.tier.currentText())
        sel = window.view.selection if hasattr(window, "view") else None
        sel = sel if sel and sel[1] > sel[0] else None
        try:
            if isinstance(tier, CurveTier):
                t = tier.times
                span = sel or (float(t[0]), float(t[-1])) if len(t) else (0.0, 0.0)
            else:
                span = annotated_span(tier, sel)
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        media = self._media()
        mods = self.modalities()
        text = s.tier(self.text_tier.currentText()) if "text" in mods else None
        # snapshots: the worker never reads a tier being edited
        if isinstance(tier, CurveTier):
            labels: Any = CurveTier(
                tier.name, np.array(tier.values), times=np.array(tier.times), unit=tier.unit
            )
        else:
            labels = IntervalTier(tier.name, list(tier))
        text = IntervalTier(text.name, list(text)) if text is not None else None
        accepted = self._accepted()
        chosen = self.checked_models()
        key = (media.path, media.offset, mods, tier.name, tuple(classes_of(labels, accepted) or ()))
        cached = self.data if self.data_key == key else None
        self.loss.set_history([])

        def task(device: Any = None) -> Any:
            from ..models.loop import train_models_task

            return (
                yield from train_models_task(
                    media, labels, span, models=chosen, modalities=mods, text=text, accepted=accepted,
                    data=cached, device=device,
                )
            )  # fmt: skip

        def progress(p: Any) -> None:
            d = p.data if isinstance(p.data, dict) else None
            if d and "history" in d and (d["history"] or d.get("model") != self.loss.title):
                self.loss.set_history(d["history"], d.get("model", ""))
            self.status.setText(p.message)

        def done(out: Any) -> None:
            if self.session is not s:
                return
            self.result, self.data, self.data_key, self.rest = out, out.data, out.key, out.rest
            self.models = out.results
            self._fill_table()
            best = out.best()
            score = (
                f"MAE {best['metrics'].get('mae', float('nan')):.3g}"
                if out.classes is None
                else f"F1 {best['metrics'].get('macro_f1', 0.0):.2f}"
            )
            self.status.setText(
                f"trained {len(self.models)} model(s) on {span[1] - span[0]:.1f} s; best on the held-out part: "
                f"{best['label']} ({score}). Predict fills the rest."
            )
            self._set_running(False)

        def failed(message: str, details: str) -> None:
            self._set_running(False)
            self.status.setText(f"Training failed: {message}")
            window.dialogs.error("Training failed", message, details)

        worker = getattr(window, "device_worker", None) or window.runner
        self.job = worker.submit(task, name="Train models", group="models", on_result=done, on_error=failed,
                                 on_progress=progress)  # fmt: skip
        self.job.cancelled.connect(
            lambda: (self._set_running(False), self.status.setText("Training cancelled."))
        )
        self._set_running(True)
        return self.job

    def _accepted(self) -> list[Any]:
        """Predicted intervals a person accepted or corrected (confidence 1) on the prediction tier."""
        name = self.prediction_name()
        if self.session is None or not self.session.has_tier(name):
            return []
        if not isinstance(self.session.tier(name), IntervalTier):
            return []
        return [iv for iv in self.session.tier(name) if iv.confidence == 1.0]

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self._update_buttons(running)

    def _update_buttons(self, running: bool = False) -> None:
        have = bool(self.models) and not running
        self.predict_button.setEnabled(have)
        self.save_button.setEnabled(have)

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.models))
        for r, res in enumerate(self.models):
            m = res["metrics"]
            regression = "mae" in m
            cells = [
                res["label"],
                f"{res['model'].parameters_count():,}",
                f"{res['seconds']:.1f}",
                f"{m.get('r' if regression else 'macro_f1', float('nan')):.3f}",
                f"{m.get('mae' if regression else 'accuracy', float('nan')):.3g}",
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        regression = self.result is not None and self.result.classes is None
        self.table.setHorizontalHeaderLabels(
            ["model", "params", "train s", "r" if regression else "F1", "MAE" if regression else "accuracy"]
        )
        best = self.models.index(self.result.best()) if self.result is not None else 0
        self.table.selectRow(best)

    def chosen(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if rows:
            return self.models[rows[0].row()]
        return self.models[0] if self.models else None

    # -- predict and save ----------------------------------------------------------------------------
    def predict(self) -> Any:
        """The chosen model's labels (or values) for the rest of the recording, as new tiers (one undo step)."""
        res = self.chosen()
        if res is None or getattr(self, "result", None) is None:
            self.status.setText("Train a model first.")
            return None
        s, window, result = self.session, self.window, self.result
        media = self._media()
        model, name = res["model"], self.prediction_name()
        seg_name = self.segments.currentData()
        segments = None
        if seg_name and s.has_tier(seg_name):
            if result.classes is None:
                self.status.setText("A regression model gives values, not a label per interval.")
                return None
            segments = IntervalTier(seg_name, list(s.tier(seg_name)))  # a snapshot for the worker

        def task(device: Any = None) -> Any:
            from ..models.loop import predict_rest_task

            return (
                yield from predict_rest_task(
                    model, result, media, name=name, source=res["label"], segments=segments, device=device
                )
            )

        def done(tiers: list[Any]) -> None:
            from ..core.commands import RemoveTier
            from ..core.editing import add_tiers

            if self.session is not s:
                return
            with s.undo_stack.macro(f"Predict {self.tier.currentText()}"):
                # a new prediction replaces the last one (its accepted intervals were learned)
                for t in tiers:
                    if s.has_tier(t.name):
                        s.undo_stack.push(RemoveTier(t.name))
                for c in add_tiers(s, tiers, suffix="predicted"):
                    s.undo_stack.push(c)
            if isinstance(tiers[0], IntervalTier):
                what = "labelled intervals" if segments is not None else "predicted intervals"
                self.status.setText(
                    f"{len(tiers[0])} {what} on {name!r}; the review queue lists the least certain first."
                )
                if hasattr(window, "review_panel"):
                    window.review_panel.set_tier(name)
            else:
                self.status.setText(f"predicted values for the rest of the recording on {name!r}.")

        worker = getattr(window, "device_worker", None) or window.runner
        self.predict_job = worker.submit(task, name="Predict", group="models-predict", on_result=done,
                                         on_error=lambda m, d: window.dialogs.error("Prediction failed", m, d))  # fmt: skip
        return self.predict_job

    def save(self, path: str) -> Path:
        res = self.chosen()
        if res is None:
            raise ValueError("no trained model to save")
        res["model"].save(path)
        return Path(path)

    def _save_clicked(self) -> None:
        path = self.window.dialogs.save_file("Save model", "model.pt", "Studio model (*.pt)")
        if path:
            self.save(path)
            self.status.setText(
                f"saved {Path(path).name}: `studio predict {Path(path).name} MEDIA -o OUT` runs it"
            )
