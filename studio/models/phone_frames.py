"""The small bundled phone-frame model: which English phone each 10 ms of speech is (Qt-free, torch).

`studio align --method hmm` places transcript phones with a hidden Markov model whose emissions are
this model's per-frame phone posteriors (the "hybrid" DNN-HMM forced alignment of Kaldi, MFA and
HTK-era aligners, Bourlard & Morgan 1994). Unlike a CTC model, whose outputs spike on one frame per
unit and leave boundaries vague (Zeyer et al. 2021, "Why does CTC result in peaky behavior?"),
a frame classifier is trained to label *every* frame, so a boundary lies where the label changes.

**Labels.** espeak-ng's phone events give the exact sample span of every phone it synthesizes;
their IPA symbols (about 80 across the English voices) are folded into the 39 phones of the CMU /
TIMIT-folded ARPAbet set plus silence (`PHONES`, `phone_class`). Frames outside every phone are
silence. Real recordings are labelled by aligning their transcripts with an earlier model (see
`studio.models.train_phones`).

**Features and network.** The log-mel front end of `studio.models.small_ctc` (80 bands, 10 ms hop,
CMVN over the recording); a stride-1 convolution, then residual time-channel separable blocks (as
in `SmallCTC`) and a 1x1 convolution to `len(PHONES)` logits per 10 ms frame. Every output frame
depends on a bounded window, so long recordings run in chunks with exact results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task
from .small_ctc import HOP, SAMPLE_RATE, WIN, ConvStack, logmel, normalize_features

__all__ = [
    "PHONES",
    "SILENCE",
    "phone_class",
    "PhoneNet",
    "PhoneFrameModel",
    "load_phone_model",
    "bundled_phone_path",
    "load_bundled_phones",
]

PHONES = (
    "sil",
    *"aa ae ah ao aw ax ay eh er ey ih iy ow oy uh uw".split(),
    *"b ch d dh f g hh jh k l m n ng p r s sh t th v w y z zh".split(),
)
SILENCE = 0
FRAME = HOP / SAMPLE_RATE  # 10 ms

# espeak-ng's English IPA phone names (``espeak.SynthPhone.symbol``) → PHONES
_IPA = {
    "ɑ": "aa", "ɑː": "aa", "ɒ": "aa", "ɑːɹ": "aa", "ɑɹ": "aa", "ɑə": "aa", "aː": "aa", "a:": "aa",
    "æ": "ae", "a": "ae", "aa": "ae",
    "ʌ": "ah", "ɐ": "ah", "ʌɹ": "ah",
    "ɔ": "ao", "ɔː": "ao", "ɔːɹ": "ao", "ɔɹ": "ao", "ɔə": "ao", "oə": "ao", "oːɹ": "ao", "oɹ": "ao",
    "aʊ": "aw",
    "ə": "ax", "əl": "ax",
    "aɪ": "ay", "aɪə": "ay",
    "ɛ": "eh", "ɛɹ": "eh", "eə": "eh", "e": "eh",
    "ɜ": "er", "ɜː": "er", "ɚ": "er", "əɹ": "er", "ɜːɹ": "er",
    "eɪ": "ey", "eː": "ey", "eʲ": "ey",
    "ɪ": "ih", "ᵻ": "ih", "ɪɹ": "ih", "iə": "ih", "ɪə": "ih",
    "i": "iy", "iː": "iy",
    "oʊ": "ow", "əʊ": "ow", "o": "ow", "oː": "ow",
    "ɔɪ": "oy",
    "ʊ": "uh", "ʊɹ": "uh", "ʊə": "uh",
    "u": "uw", "uː": "uw", "ʉ": "uw", "ʉː": "uw", "ʉɹ": "uw", "ʌʉ": "uw",
    "b": "b", "tʃ": "ch", "d": "d", "ɾ": "d", "ð": "dh", "f": "f", "ɡ": "g", "g": "g", "h": "hh",
    "dʒ": "jh", "k": "k", "x": "k", "l": "l", "ɬ": "l", "m": "m", "n": "n", "ŋ": "ng", "p": "p",
    "ɹ": "r", "r": "r", "s": "s", "ʃ": "sh", "t": "t", "t̪": "t", "θ": "th", "v": "v", "w": "w",
    "ʍ": "w", "j": "y", "z": "z", "ʒ": "zh", "ʔ": "t", "n̩": "n", "l̩": "l", "m̩": "m",
}  # fmt: skip
_INDEX = {p: i for i, p in enumerate(PHONES)}


def phone_class(symbol: str) -> int:
    """The `PHONES` index of an espeak-ng IPA phone name (any voice: unknown names fold by their
    first letter, and vowels nobody listed become ``ax``)."""
    s = symbol.strip()
    if s in _IPA:
        return _INDEX[_IPA[s]]
    bare = s.replace("ː", "").replace(":", "").replace("ʲ", "").replace("\u032a", "").replace("\u0329", "")
    for cand in (bare, bare[:2], bare[:1]):
        if cand in _IPA:
            return _INDEX[_IPA[cand]]
    return _INDEX["ax"]


class PhoneNet(ConvStack):
    """Normalised log-mel (B, N_MELS, T) → (B, T, len(PHONES)) logits, one per 10 ms frame."""

    def __init__(self, channels: int = 256, blocks: int = 6, kernel: int = 11, dropout: float = 0.1) -> None:
        super().__init__(len(PHONES), channels, blocks, kernel, dropout, front_kernel=5, stride=1)

    @property
    def receptive_radius(self) -> int:
        """Frames on each side that one output frame depends on."""
        return self.config["blocks"] * (self.config["kernel"] // 2) + 2


class PhoneFrameModel:
    """A `PhoneNet` with its class priors: per-frame log posteriors of a recording, in chunks."""

    sample_rate = SAMPLE_RATE
    frame_duration = FRAME

    def __init__(
        self,
        net: PhoneNet,
        priors: np.ndarray | None = None,
        device: Any = None,
        *,
        chunk_seconds: float = 60.0,
        path: str = "",
    ) -> None:
        import torch

        if not chunk_seconds > 0:
            raise ValueError(f"chunk_seconds must be > 0, not {chunk_seconds!r}")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.net = net.to(self.device).eval()
        p = np.full(len(PHONES), 1.0 / len(PHONES)) if priors is None else np.asarray(priors, np.float64)
        if p.shape != (len(PHONES),) or not np.all(p > 0):
            raise ValueError(f"priors must be {len(PHONES)} positive numbers")
        self.log_priors = np.log(p / p.sum()).astype(np.float32)
        self.chunk_seconds = float(chunk_seconds)
        self.path = path

    def num_frames(self, num_samples: int) -> int:
        return max(1, -(-int(num_samples) // HOP))

    def log_posteriors_task(self, samples: np.ndarray) -> Task[np.ndarray]:
        """(T, len(PHONES)) float32 log posteriors of mono float32 16 kHz `samples`, T = ceil(N / 160)."""

        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size < WIN:
            raise ValueError(
                f"the recording is {x.size / SAMPLE_RATE * 1000:.1f} ms long; the phone model needs at "
                f"least {WIN / SAMPLE_RATE * 1000:.0f} ms"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("the audio contains NaN or infinite samples")
        yield Progress(0.0, "phone model: features")
        feats = normalize_features(logmel(x))
        keep = max(1, int(round(self.chunk_seconds / FRAME)))
        out = yield from self.net.log_softmax_task(feats, feats.shape[1], keep, self.device, "phone model")
        yield Progress(1.0, "phone model: done")
        return out.numpy()


def bundled_phone_path() -> Path:
    """The folder of the bundled phone model (``resources/models/phone_frames``)."""
    from .small_ctc import bundled_path

    return bundled_path().parent / "phone_frames"


def load_phone_model(path: str | Path, device: Any = None, *, chunk_seconds: float = 60.0) -> PhoneFrameModel:
    """A `PhoneFrameModel` from a folder with ``config.json`` and ``model.pt`` (a state dict)."""
    from .small_ctc import load_conv_stack

    net, cfg = load_conv_stack(path, PhoneNet, "phones", PHONES, "phone model")
    try:
        priors = np.asarray(cfg["priors"], dtype=np.float64)
        return PhoneFrameModel(net, priors, device, chunk_seconds=chunk_seconds, path=str(Path(path)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: cannot load the phone model (priors: {exc})") from None


def load_bundled_phones(device: Any = None, *, chunk_seconds: float = 60.0) -> PhoneFrameModel:
    """The bundled phone model (see the model card, ``resources/models/README.md``)."""
    return load_phone_model(bundled_phone_path(), device, chunk_seconds=chunk_seconds)
