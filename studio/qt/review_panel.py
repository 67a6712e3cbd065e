"""The review queue: an alignment's (or a model's) least certain annotations, to walk through.

After `studio align` or a model's first pass, an annotator should look at the words the aligner
was least sure of, not at all of them. The panel lists a tier's annotations flagged missing or under
a confidence threshold, lowest first (`studio.core.editing.review_items`); activating one (click,
Enter, or `next_item()` from a key) emits `activated(tier, annotation id)` for the window to select
and play it. The list follows the tier: an edited annotation (e.g. corrected to confidence 1)
leaves it, a debounced refresh keeps typing cheap.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.editing import review_items
from ..core.session import Session
from ..core.tiers import IntervalTier, PointTier


class ReviewPanel(QWidget):
    """Low-confidence items of one tier of `session`, lowest confidence first."""

    activated = Signal(str, str)  # tier name, annotation id

    def __init__(self, session: Session | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self._tier: Any = None
        self.tier_box = QComboBox()
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("list annotations whose confidence is under this")
        self.count = QLabel()
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["conf.", "label", "start", "end"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        top = QHBoxLayout()
        top.addWidget(QLabel("Tier"))
        top.addWidget(self.tier_box, 1)
        top.addWidget(QLabel("under"))
        top.addWidget(self.threshold)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.count)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self.refresh)
        self.tier_box.currentTextChanged.connect(self._on_tier_chosen)
        self.threshold.valueChanged.connect(lambda _v: self.refresh())
        if session is not None:
            self.set_session(session)

    # -- model ------------------------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        if self.session is not None:
            for sig in (self.session.tier_added, self.session.tier_removed):
                sig.disconnect(self._on_tiers)
        self.session = session
        if session is not None:
            session.tier_added.connect(self._on_tiers)
            session.tier_removed.connect(self._on_tiers)
        self._on_tiers()

    def _on_tiers(self, *_: Any) -> None:
        names = []
        if self.session is not None:
            names = [
                t.name
                for t in self.session.tiers
                if isinstance(t, (IntervalTier, PointTier)) and any(a.confidence is not None for a in t)
            ]
        current = self.tier_box.currentText()
        self.tier_box.blockSignals(True)
        self.tier_box.clear()
        self.tier_box.addItems(names)
        if current in names:
            self.tier_box.setCurrentText(current)
        self.tier_box.blockSignals(False)
        self._on_tier_chosen(self.tier_box.currentText())

    def set_tier(self, name: str) -> None:
        self._on_tiers()
        self.tier_box.setCurrentText(name)
        self._on_tier_chosen(name)

    def _on_tier_chosen(self, name: str) -> None:
        if self._tier is not None:
            for sig in (self._tier.inserted, self._tier.removed, self._tier.replaced):
                sig.disconnect(self._schedule)
        self._tier = self.session.tier(name) if self.session is not None and name else None
        if self._tier is not None:
            for sig in (self._tier.inserted, self._tier.removed, self._tier.replaced):
                sig.connect(self._schedule)
        self.refresh()

    def _schedule(self, *_: Any) -> None:
        self._refresh_timer.start()

    # -- view -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        keep = self.current_id()
        self.list.clear()
        items = review_items(self._tier, self.threshold.value()) if self._tier is not None else []
        for a in items:
            missing = bool(a.attrs.get("missing"))
            start = getattr(a, "start", getattr(a, "time", 0.0))
            end = getattr(a, "end", start)
            it = QTreeWidgetItem(
                ["missing" if missing else f"{a.confidence:.2f}", a.label, f"{start:.3f}", f"{end:.3f}"]
            )
            it.setData(0, Qt.ItemDataRole.UserRole, a.id)
            it.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.list.addTopLevelItem(it)
            if a.id == keep:
                self.list.setCurrentItem(it)
        for c in range(4):
            self.list.resizeColumnToContents(c)
        total = len(self._tier) if self._tier is not None else 0
        self.count.setText(f"{len(items)} of {total} to review")

    def current_id(self) -> str | None:
        it = self.list.currentItem()
        return None if it is None else str(it.data(0, Qt.ItemDataRole.UserRole))

    def ids(self) -> list[str]:
        return [
            str(self.list.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole))
            for i in range(self.list.topLevelItemCount())
        ]

    def next_item(self, step: int = 1) -> str | None:
        """Move to the next (or previous) item of the queue, emit `activated`, return its id."""
        n = self.list.topLevelItemCount()
        if not n:
            return None
        it = self.list.currentItem()
        i = -1 if it is None else self.list.indexOfTopLevelItem(it)
        i = (i + step) % n
        self.list.setCurrentItem(self.list.topLevelItem(i))
        self._on_item(self.list.topLevelItem(i))
        return self.current_id()

    def _on_item(self, it: QTreeWidgetItem, _col: int = 0) -> None:
        if self._tier is not None:
            self.activated.emit(self._tier.name, str(it.data(0, Qt.ItemDataRole.UserRole)))
