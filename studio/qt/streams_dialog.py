"""Align ▸ Align two recordings: the time map from one recording to another, as a curve tier.

Asks for recording A, recording B, the method (DTW, soft-DTW, CTW, GCTW, deep CTW; see
`studio.align.streams` for what each does and how well) and the parameters that matter for the
chosen one: the rows of the others are hidden (Sakoe-Chiba band for DTW and soft-DTW, the
temperature γ for soft-DTW, the canonical dimension for the CTW family, the encoders' width and
training steps for deep CTW). `request()` returns ``(ia, ib, method, params)``; `problem()` says why
it cannot run, including recordings too long for the method (`studio.align.streams.size_problem`,
from the files' durations: a header read, cached). `start_stream_alignment` runs
`studio.align.streams` as a job on the device worker (which passes its torch device); the result
arrives as a curve tier "B at A": for every 10 ms of A (on the session's time line), the matching
time in B's own clock -- and as a stored alignment (`session.alignments`, the same name; see
`studio.align.streams.time_map_alignment`), in one undo step. A straight line of slope 1 means the
two only differ by an offset (Align ▸ Media offsets sets it); a bent one shows where one recording
runs faster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from ..core.session import Session
from .align_dialog import accept_unless_problem, form_dialog_layout

#: method → (combo text, the parameter rows it shows)
METHODS = {
    "dtw": ("DTW — exact on log-mel, multiscale when long (any length)", ("band",)),
    "soft-dtw": ("Soft-DTW — expected alignment, smoother (up to ~1 min)", ("band", "gamma")),
    "ctw": ("CTW — canonical time warping, for recordings that sound different", ("dims",)),
    "gctw": ("GCTW — generalised CTW (multi-set CCA)", ("dims",)),
    "deep-ctw": ("Deep CTW — CTW with small trained encoders (slow)", ("dims", "hidden", "epochs")),
}

_durations: dict[str, float | None] = {}


def media_duration(path: str) -> float | None:
    """Seconds of `path` from its header (soundfile, else ffprobe without counting frames); cached."""
    if path not in _durations:
        seconds: float | None = None
        try:
            import soundfile

            info = soundfile.info(path)
            seconds = info.frames / info.samplerate
        except Exception:
            try:
                from ..media.probe import probe

                seconds = probe(path, count_frames=False, timeout=5.0).duration
            except Exception:
                seconds = None  # the task reports what is wrong with the file
        _durations[path] = seconds
    return _durations[path]


class StreamsDialog(QDialog):
    """Choose recordings A and B, the method and its parameters; `request()` reads them."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Align two recordings")
        self.session = session
        form = self.form = QFormLayout()
        self.a, self.b = QComboBox(), QComboBox()
        for i, m in enumerate(session.media):
            if m.kind in ("audio", "video"):
                for box in (self.a, self.b):
                    box.addItem(m.name or Path(m.path).name, i)
        if self.b.count() > 1:
            self.b.setCurrentIndex(1)
        self.method = QComboBox()
        for key, (text, _) in METHODS.items():
            self.method.addItem(text, key)
        self.band = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=600.0, singleStep=0.5, suffix=" s")
        self.band.setSpecialValueText("none")
        self.band.setToolTip("Sakoe-Chiba band: how far from the straight line the map may go (0 = none)")
        self.gamma = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=100.0, singleStep=0.1, value=1.0)
        self.gamma.setToolTip("Soft-min temperature: higher averages over more alignments (smoother)")
        self.dims = QSpinBox(minimum=0, maximum=40, value=0)
        self.dims.setSpecialValueText("automatic")
        self.dims.setToolTip("Canonical dimension (automatic: 90 % of the correlation energy)")
        self.hidden = QSpinBox(minimum=4, maximum=256, value=32, singleStep=8)
        self.hidden.setToolTip("tanh units of each encoder")
        self.epochs = QSpinBox(minimum=5, maximum=500, value=60, singleStep=10)
        self.epochs.setToolTip("Adam steps per alternation")
        self.params = {"band": self.band, "gamma": self.gamma, "dims": self.dims}
        self.params.update(hidden=self.hidden, epochs=self.epochs)
        form.addRow("Recording A", self.a)
        form.addRow("Recording B", self.b)
        form.addRow("Method", self.method)
        form.addRow("Band", self.band)
        form.addRow("Temperature γ", self.gamma)
        form.addRow("Dimensions", self.dims)
        form.addRow("Hidden units", self.hidden)
        form.addRow("Training steps", self.epochs)
        self.play_in_sync = QCheckBox("Play B in sync with A (B follows the time map)")
        self.play_in_sync.setToolTip(
            "Apply the map to B's playback, smoothed (Align ▸ Media offsets ▸ Timing changes it later)"
        )
        form.addRow("", self.play_in_sync)
        self.error = form_dialog_layout(self, form)
        self.method.currentIndexChanged.connect(self._show_rows)
        for box in (self.a, self.b, self.method):
            box.currentIndexChanged.connect(lambda _i: self.error.clear())
        self._show_rows()

    def visible_params(self) -> tuple[str, ...]:
        """The parameter rows the chosen method shows."""
        return METHODS[str(self.method.currentData())][1]

    def _show_rows(self) -> None:
        shown = self.visible_params()
        for name, w in self.params.items():
            self.form.setRowVisible(w, name in shown)
        self.adjustSize()

    def request(self) -> tuple[int, int, str, dict[str, Any]]:
        """``(ia, ib, method, params)``: media indices, the method and its keyword arguments for
        `studio.align.streams.align_streams_task` (only those the method uses)."""
        method = str(self.method.currentData())
        values = {
            "band": float(self.band.value()),
            "gamma": float(self.gamma.value()),
            "dims": int(self.dims.value()) or None,
            "hidden": int(self.hidden.value()),
            "epochs": int(self.epochs.value()),
        }
        params = {k: values[k] for k in self.visible_params()}
        return int(self.a.currentData()), int(self.b.currentData()), method, params

    def problem(self) -> str | None:
        from ..align.streams import size_problem

        if self.a.count() < 2:
            return "The session needs two recordings (File ▸ Add media)."
        if self.a.currentData() == self.b.currentData():
            return "Choose two different recordings."
        ia, ib, method, _ = self.request()
        da = media_duration(self.session.media[ia].path)
        db = media_duration(self.session.media[ib].path)
        if da is not None and db is not None:
            return size_problem(method, da, db)
        return None

    def _accept(self) -> None:
        accept_unless_problem(self)


def unique_alignment_name(session: Session, base: str) -> str:
    name, k = base, 2
    while name in session.alignments:
        name, k = f"{base} ({k})", k + 1
    return name


def start_stream_alignment(
    window: Any, ia: int, ib: int, method: str, *, play_in_sync: bool = False, **params: Any
) -> Any:
    """Align media `ia` to media `ib` of the window's session on its device worker (`params`: the
    keyword arguments of `align_streams_task`, e.g. from `StreamsDialog.request`); the time map
    arrives as a curve tier and a stored alignment, and with `play_in_sync` B also plays along it
    (its warp, `studio.align.sync.follow_map`) -- one undo step."""
    from ..align.streams import time_map_alignment
    from ..core.commands import SetAlignment
    from ..core.editing import add_tiers
    from ..core.tiers import CurveTier

    session = window.session
    ma, mb = session.media[ia], session.media[ib]

    def task(device: Any = None) -> Any:  # the device worker passes its torch device
        from ..align.streams import align_streams_task

        return (yield from align_streams_task(ma.path, mb.path, method=method, device=device, **params))

    def done(tm: Any) -> None:
        if window.session is not session:
            return
        name_a, name_b = Path(ma.path).name, Path(mb.path).name
        tier = CurveTier(
            f"{name_b} at {name_a}",
            tm.b_times,
            rate=100.0,
            start=ma.offset,
            unit="s",
            attrs={"time_map": {"a": name_a, "b": name_b, "method": tm.method, "cost": round(tm.cost, 6)}},
        )
        cmds = add_tiers(session, [tier], suffix=tm.method)
        alignment = time_map_alignment(tm, ma.name, mb.name, name=unique_alignment_name(session, tier.name))
        with session.undo_stack.macro("Align two recordings"):
            for c in cmds:
                session.undo_stack.push(c)
            session.undo_stack.push(SetAlignment(alignment.name, alignment))
            if play_in_sync:
                from ..align.sync import follow_map
                from ..core.commands import SetMediaWarp

                warp, offset = follow_map(ma, alignment.warp, f"time map {alignment.name}")
                session.undo_stack.push(SetMediaWarp(mb.path, warp, offset=offset))
        synced = f"; {name_b} now plays in sync with {name_a}" if play_in_sync else ""
        window.show_status(f"time map of {name_b} against {name_a} added ({tm.method}){synced}")

    def failed(message: str, details: str) -> None:
        window.dialogs.error("Aligning the recordings failed", message, details)

    worker = getattr(window, "device_worker", None) or window.runner
    return worker.submit(task, name="Align two recordings", group="streams", on_result=done, on_error=failed)
