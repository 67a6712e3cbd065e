"""The window's Models menu: the models dock (train, compare, predict the rest), accepting a
prediction from the keyboard, and live predictions.

A mixin of `MainWindow`. The dock (`models_panel.ModelsPanel`) is made when first shown; training
and prediction run on the device worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

if TYPE_CHECKING:
    from .main_window import MainWindow


class ModelsMixin:
    def models_panel(self: MainWindow) -> Any:
        if getattr(self, "_models_panel", None) is None:
            from .models_panel import ModelsPanel

            self._models_panel = ModelsPanel(self)
            self.models_dock = QDockWidget("Models", self)
            self.models_dock.setObjectName("ModelsDock")
            self.models_dock.setWidget(self._models_panel)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.models_dock)
            self.models_dock.visibilityChanged.connect(self._on_models_visible)
            self._models_panel.set_session(self.session)
        return self._models_panel

    def _models_session_changed(self: MainWindow) -> None:
        if getattr(self, "_models_panel", None) is not None:
            self._models_panel.set_session(self.session)

    def act_show_models(self: MainWindow, on: bool) -> None:
        panel = self.models_panel()
        self.models_dock.setVisible(on)
        if on:
            tier = self.current_tier()
            if tier is not None and panel.tier.findText(tier.name) >= 0:
                panel.tier.setCurrentText(tier.name)

    def _on_models_visible(self: MainWindow, visible: bool) -> None:
        a = self.actions_by_id.get("show_models")
        if a is not None and a.isChecked() != visible and not getattr(self, "_closing", False):
            a.blockSignals(True)
            a.setChecked(visible)
            a.blockSignals(False)

    def act_train_models(self: MainWindow) -> None:
        if not self.action("show_models").isChecked():
            self.action("show_models").setChecked(True)
        self.models_panel().train()

    def act_predict_rest(self: MainWindow) -> None:
        if not self.action("show_models").isChecked():
            self.action("show_models").setChecked(True)
        self.models_panel().predict()

    def act_accept_annotation(self: MainWindow) -> None:
        """The selected annotation is right as it is: confidence 1 (it leaves the review queue and
        counts as a label when training again); then on to the next least certain one."""
        from ..core.commands import ReplaceAnnotation

        sel = self.selected_annotation()
        if sel is None:
            self.show_status("select an annotation to accept")
            return
        tier, ann = sel
        if getattr(ann, "confidence", None) is None or ann.confidence >= 1.0:
            self.show_status(f"{ann.label!r} is already certain")
        else:
            self.session.undo_stack.push(ReplaceAnnotation(tier.name, ann.id, confidence=1.0))
            self.show_status(f"accepted {ann.label!r}")
        if getattr(self, "review_dock", None) is not None and self.review_dock.isVisible():
            self.review_panel.next_item(+1)

    def act_live_predictions(self: MainWindow) -> None:
        from .live_panel import open_live_panel

        open_live_panel(self)
