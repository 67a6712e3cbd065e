"""Align a transcript to the session's audio from the window: a dialog, a background job, one undo step.

The dialog asks what the `studio align` command asks: the recording (one of the session's media),
the transcript (text typed or pasted, or an interval tier of the session, one line per interval),
the method (auto = hmm for English, tts-dtw for other languages; hmm; tts-dtw; ctc), the level and
the espeak-ng language, and optionally a model (a phone-model folder for hmm, a wav2vec2-CTC folder
or torchaudio checkpoint for ctc). The alignment runs as a `studio.tasks` job off the UI thread
(group "align": a new request cancels an older one); its tiers come back to the UI thread and are
added by `studio.core.editing.add_tiers` in one undo macro, renamed when a name is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..core.session import Session
from ..core.tiers import IntervalTier

if TYPE_CHECKING:
    from .jobs import Job

METHODS = (
    ("auto", "Automatic (phone HMM for English, TTS + DTW otherwise)"),
    ("hmm", "Phone HMM (English, bundled phone model)"),
    ("tts-dtw", "TTS + DTW (any espeak-ng language, no model)"),
    ("ctc", "CTC forced alignment (acoustic model)"),
)
LEVELS = (("word", "Words"), ("phone", "Words and phones"), ("line", "Lines only"))


@dataclass
class AlignRequest:
    media: str  # path of the recording
    transcript: Any  # text, or an IntervalTier (a copy)
    method: str = "auto"
    level: str = "word"
    language: str = "en"
    model: str | None = None


def alignment_task(req: AlignRequest) -> Any:
    """The Qt-free task of a request (a generator yielding progress, returning a Session)."""
    from ..align.transcript import align_transcript_task

    extra = {"model": req.model} if req.model else {}
    return align_transcript_task(
        req.media, req.transcript, method=req.method, level=req.level, language=req.language, **extra
    )


def apply_alignment(session: Session, result: Session, media: str = "") -> list[str]:
    """Add `result`'s tiers to `session` as one undoable step; returns the names they got."""
    from ..core.editing import add_tiers
    from ..core.serialize import tier_from_dict, tier_to_dict

    tiers = [tier_from_dict(tier_to_dict(t)) for t in result.tiers]  # detached copies
    method = result.metadata.get("alignment", {}).get("method")
    for t in tiers:
        t.attrs = {**t.attrs, "aligned_to": Path(media).name} if media else t.attrs
        if method:  # the inspector opens a CTC alignment on its posteriors
            t.attrs = {**t.attrs, "aligned_method": str(method)}
    cmds = add_tiers(session, tiers)
    with session.undo_stack.macro("Align transcript"):
        for c in cmds:
            session.undo_stack.push(c)
    return [c.tier.name for c in cmds]


def form_dialog_layout(dialog: Any, form: QFormLayout, ok_text: str = "Align") -> QLabel:
    """Lay out `dialog`: the form, an error line, OK (`ok_text`, calling ``dialog._accept``, which
    shows ``dialog.problem()`` there or accepts) and Cancel; returns the error label."""
    error = QLabel()
    error.setStyleSheet("color: #c0392b")
    error.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog._accept)
    buttons.rejected.connect(dialog.reject)
    lay = QVBoxLayout(dialog)
    lay.addLayout(form)
    lay.addWidget(error)
    lay.addWidget(buttons)
    return error


def accept_unless_problem(dialog: Any) -> None:
    """OK: show why the dialog's request cannot run, or accept it."""
    why = dialog.problem()
    if why:
        dialog.error.setText(why)
        return
    dialog.accept()


class AlignDialog(QDialog):
    """Choose recording, transcript, method, level, language and model; `request()` reads them."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Align transcript")
        self.session = session
        form = QFormLayout()
        self.media = QComboBox()
        for ref in session.media:
            if ref.kind in ("audio", "video"):
                self.media.addItem(ref.name or Path(ref.path).name, ref.path)
        form.addRow("Recording", self.media)

        self.from_text = QRadioButton("Text")
        self.from_tier = QRadioButton("Tier")
        group = QButtonGroup(self)
        group.addButton(self.from_text)
        group.addButton(self.from_tier)
        self.tier = QComboBox()
        for t in session.tiers:
            if isinstance(t, IntervalTier) and len(t):
                self.tier.addItem(t.name)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("One utterance per line. Numbers and symbols are spoken as words.")
        self.text.setMinimumHeight(90)
        src = QVBoxLayout()
        src.addWidget(self.from_text)
        src.addWidget(self.text)
        src.addWidget(self.from_tier)
        src.addWidget(self.tier)
        box = QWidget()
        box.setLayout(src)
        form.addRow("Transcript", box)
        (self.from_tier if self.tier.count() else self.from_text).setChecked(True)
        self.from_tier.setEnabled(self.tier.count() > 0)

        self.method = QComboBox()
        for key, label in METHODS:
            self.method.addItem(label, key)
        form.addRow("Method", self.method)
        self.level = QComboBox()
        for key, label in LEVELS:
            self.level.addItem(label, key)
        form.addRow("Level", self.level)
        self.language = QLineEdit("en")
        self.language.setToolTip("espeak-ng voice: en, en-us, de, fr-fr, es, ...")
        form.addRow("Language", self.language)
        self.model = QLineEdit()
        self.model.setPlaceholderText("bundled")
        self.model.setToolTip("hmm: a phone-model folder; ctc: a wav2vec2-CTC folder or torchaudio .pth")
        form.addRow("Model", self.model)
        self.error = form_dialog_layout(self, form)

    def problem(self) -> str | None:
        """Why the request cannot run, or None."""
        from ..align.transcript import is_english

        if not self.media.count():
            return "The session has no recording: open an audio or video file first."
        if self.from_text.isChecked() and not self.text.toPlainText().strip():
            return "Type or paste the transcript, or choose a tier."
        method, lang = self.method.currentData(), self.language.text().strip() or "en"
        if method == "hmm" and not is_english(lang):
            return f"The phone HMM uses Studio's English phone model; for {lang!r} choose TTS + DTW."
        return None

    def _accept(self) -> None:
        accept_unless_problem(self)

    def request(self) -> AlignRequest:
        from ..core.serialize import tier_from_dict, tier_to_dict

        if self.from_tier.isChecked():
            transcript: Any = tier_from_dict(tier_to_dict(self.session.tier(self.tier.currentText())))
        else:
            transcript = self.text.toPlainText()
        return AlignRequest(
            media=str(self.media.currentData()),
            transcript=transcript,
            method=str(self.method.currentData()),
            level=str(self.level.currentData()),
            language=self.language.text().strip() or "en",
            model=self.model.text().strip() or None,
        )


def start_alignment(window: Any, req: AlignRequest) -> Job:
    """Run `req` on the window's device worker (or job runner); the result is applied to the window's session (if it is
    still the same session) and reported in the status bar; an error is shown, not raised."""
    session = window.session

    def done(result: Session) -> None:
        if window.session is not session:
            return  # the user opened another session meanwhile: drop the stale result
        names = apply_alignment(session, result, req.media)
        missing = result.metadata.get("alignment", {}).get("missing") or []
        note = f"; {len(missing)} word(s) not found in the audio (flagged)" if missing else ""
        window.show_status(f"Aligned: added {', '.join(names)}{note}")

    def failed(message: str, details: str) -> None:
        window.dialogs.error("Alignment failed", message, details)

    # the device worker owns the torch device (the phone and CTC models run there)
    worker = getattr(window, "device_worker", None) or window.runner
    return worker.submit(
        lambda: alignment_task(req), name="Align transcript", group="align", on_result=done, on_error=failed
    )
