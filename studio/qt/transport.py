"""The transport bar: play/pause, frame and boundary steps, loop, rate, the time readout.

`Transport` only says what the user wants (signals `play_toggled`, `rate_changed`, `frame_step`,
`boundary_jump`, `loop_toggled`); the window turns those into `PlaybackClock` calls and reports the
clock's state back through `set_playing`, `set_time`, `set_rate` and `set_loop`, which never emit.
Keeping the bar ignorant of the clock lets the same intents come from keyboard shortcuts, menus or
the bar, and lets the bar be tested without audio.

Its buttons never take keyboard focus, so Space, arrows and the annotation keys keep reaching the
window. The rate box takes focus only when clicked (it is editable: any rate in 0.5-2.0).

`format_time(t)` is the one time format of the window: ``h:mm:ss.mmm``, a sign for negative times.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QStyle, QToolButton, QWidget

from studio.media.stretch import MAX_RATE, MIN_RATE

__all__ = ["Transport", "format_time", "parse_rate", "RATES"]

#: rates offered in the rate box (any other in [MIN_RATE, MAX_RATE] can be typed)
RATES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def format_time(t: float, fps: float | None = None) -> str:
    """``h:mm:ss.mmm`` of `t` seconds, ``-`` in front of negative times (offsets can be negative).

    With `fps`, `t` is first moved back to the start of the frame it falls in at that rate (the
    time of the frame on screen), so stepping through video shows frame times, not the times
    between them. Milliseconds are rounded; a non-finite time is ``--:--:--.---``.
    """
    t = float(t)
    if not math.isfinite(t):
        return "--:--:--.---"
    if fps is not None and fps > 0:
        t = math.floor(t * fps + 1e-6) / fps  # 1 µs-ish slack for round-off, as in VideoSource.index_at
    ms = round(abs(t) * 1000)
    if ms == 0:
        sign = ""
    else:
        sign = "-" if t < 0 else ""
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}.{ms:03d}"


def parse_rate(text: str) -> float | None:
    """A rate typed by the user ("1.5", "1,5", "1.5x", "150%"), clamped to the playable range;
    None when it is not a number."""
    s = text.strip().lower().replace("×", "").replace("x", "").replace(",", ".").strip()
    percent = s.endswith("%")
    try:
        r = float(s.rstrip("%").strip())
    except ValueError:
        return None
    if percent:
        r /= 100
    if not math.isfinite(r) or r <= 0:
        return None
    return min(max(r, MIN_RATE), MAX_RATE)


def _rate_text(r: float) -> str:
    return f"{r:g}×"


class Transport(QWidget):
    """The transport bar (see the module doc)."""

    play_toggled = Signal()
    rate_changed = Signal(float)
    #: -1 one frame back, +1 one frame forward
    frame_step = Signal(int)
    #: -1 previous annotation boundary, +1 next
    boundary_jump = Signal(int)
    loop_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._playing = False
        self._rate = 1.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.setSpacing(2)
        sp = QStyle.StandardPixmap
        self.buttons: dict[str, QToolButton] = {}
        for key, icon, text, tip in (
            ("boundary_back", sp.SP_MediaSkipBackward, "|◀", "Previous boundary"),
            ("frame_back", sp.SP_MediaSeekBackward, "◀|", "One frame back"),
            ("play", sp.SP_MediaPlay, "▶", "Play / pause"),
            ("frame_forward", sp.SP_MediaSeekForward, "|▶", "One frame forward"),
            ("boundary_forward", sp.SP_MediaSkipForward, "▶|", "Next boundary"),
            ("loop", sp.SP_BrowserReload, "⟲", "Loop the selection"),
        ):
            b = QToolButton(self)
            b.setIcon(self.style().standardIcon(icon))
            b.setText(text)  # shown when the style has no icon; read by screen readers
            b.setToolTip(tip)
            b.setAccessibleName(tip)
            b.setAutoRaise(True)
            b.setIconSize(QSize(18, 18))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.buttons[key] = b
            row.addWidget(b)
            if key == "boundary_forward":
                row.addSpacing(8)
        self._icons = {
            False: self.style().standardIcon(sp.SP_MediaPlay),
            True: self.style().standardIcon(sp.SP_MediaPause),
        }
        loop = self.buttons["loop"]
        loop.setCheckable(True)
        self.buttons["boundary_back"].clicked.connect(lambda: self.boundary_jump.emit(-1))
        self.buttons["frame_back"].clicked.connect(lambda: self.frame_step.emit(-1))
        self.buttons["play"].clicked.connect(self.play_toggled.emit)
        self.buttons["frame_forward"].clicked.connect(lambda: self.frame_step.emit(1))
        self.buttons["boundary_forward"].clicked.connect(lambda: self.boundary_jump.emit(1))
        loop.toggled.connect(self.loop_toggled.emit)

        self.rate_box = QComboBox(self)
        self.rate_box.setEditable(True)
        self.rate_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.rate_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.rate_box.setToolTip(f"Playback rate ({MIN_RATE:g}-{MAX_RATE:g}×, pitch kept)")
        self.rate_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for r in RATES:
            self.rate_box.addItem(_rate_text(r), r)
        self.rate_box.setCurrentIndex(RATES.index(1.0))
        self.rate_box.activated.connect(self._on_rate_picked)
        self.rate_box.lineEdit().editingFinished.connect(self._on_rate_typed)
        row.addSpacing(6)
        row.addWidget(self.rate_box)
        row.addSpacing(10)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.time_label = QLabel(self)
        self.time_label.setFont(mono)
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label.setMinimumWidth(
            self.time_label.fontMetrics().horizontalAdvance("00:00:00.000  frame 000000")
        )
        row.addWidget(self.time_label)
        row.addStretch(1)

        self.backend_label = QLabel(self)
        self.backend_label.setEnabled(False)  # the style's dim text colour
        self.backend_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.backend_label)
        self.set_time(0.0)

    # -- state the window reports (no signals) ---------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def loop(self) -> bool:
        return self.buttons["loop"].isChecked()

    def set_playing(self, playing: bool) -> None:
        self._playing = bool(playing)
        b = self.buttons["play"]
        b.setIcon(self._icons[self._playing])
        b.setText("❚❚" if self._playing else "▶")
        b.setToolTip("Pause" if self._playing else "Play")

    def set_time(self, t: float, frame: int | None = None) -> None:
        text = format_time(t)
        if frame is not None:
            text += f"  frame {frame}"
        self.time_label.setText(text)

    def set_rate(self, rate: float) -> None:
        r = parse_rate(str(rate))
        if r is None:
            raise ValueError(f"not a playback rate: {rate!r}")
        self._rate = r
        self._show_rate()

    def set_loop(self, loop: bool) -> None:
        b = self.buttons["loop"]
        b.blockSignals(True)
        try:
            b.setChecked(bool(loop))
        finally:
            b.blockSignals(False)

    def set_backend_note(self, note: str) -> None:
        """How playback sounds (e.g. "no audio output device: playing silently"); empty hides it."""
        self.backend_label.setText(note)
        self.backend_label.setToolTip(note)
        self.backend_label.setVisible(bool(note))

    # -- user input -------------------------------------------------------------------------------
    def _show_rate(self) -> None:
        box = self.rate_box
        box.blockSignals(True)
        try:
            i = box.findData(self._rate)
            box.setCurrentIndex(i)
            box.setEditText(_rate_text(self._rate))
        finally:
            box.blockSignals(False)

    def _on_rate_picked(self, index: int) -> None:
        self._apply_rate(float(self.rate_box.itemData(index)))

    def _on_rate_typed(self) -> None:
        r = parse_rate(self.rate_box.currentText())
        if r is None:
            self._show_rate()  # not a number: back to the rate in force
            return
        self._apply_rate(r)

    def _apply_rate(self, r: float) -> None:
        changed = abs(r - self._rate) > 1e-9
        self._rate = r
        self._show_rate()
        if changed:
            self.rate_changed.emit(r)
