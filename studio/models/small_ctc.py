"""The small bundled CTC acoustic model: English letters from log-mel features, trained here (Qt-free, torch).

`studio align --method ctc` needs frame posteriors over letters; a wav2vec 2.0 model (Baevski et al.
2020) is 95-300 M parameters and a download. This model has 0.62 M parameters (1.2 MB in float16),
ships in ``resources/models/small_ctc``, and is trained by `studio.models.train_acoustic` from data
every Debian machine can have offline (espeak-ng speech, Asterisk's recorded prompts, PocketSphinx's
LibriVox test clips); the model card (``resources/models/README.md``) gives data, command and accuracy.

**Features.** 80 log-mel bands of 16 kHz audio, 25 ms Hann windows every 10 ms (``center=False``,
the signal padded at the end so frame ``j`` starts at sample ``160 j``), 20-7600 Hz (Slaney mel
scale, librosa's filters), ``log(mel + 1e-6)``, then each band's mean and standard deviation over the
whole recording are removed (cepstral mean and variance normalisation, CMVN: channel and gain
invariance, the usual front end of small ASR models, e.g. Kaldi and ESPnet recipes).

**Network.** A strided convolution halves the frame rate (20 ms output frames, as wav2vec2's;
Graves et al. 2006 CTC needs at most one label per frame, and letters at fast speech rates stay
under 50/s), then residual blocks of a depthwise convolution over time followed by a pointwise
(1x1) convolution, layer norm over channels and GELU -- the time-channel separable blocks of
QuartzNet (Kriman et al. 2020), chosen over recurrent layers because they train several times
faster on a CPU and every output frame depends on a bounded window (the receptive field, 1.7 s
here). That bound makes long recordings exact in chunks: features are computed and normalised on
the whole recording, the network runs on chunks with one receptive radius of context on each side,
and the kept frames equal those of a whole-file pass (checked by the tests).

**Units.** blank ``<pad>`` (0), the word delimiter ``|`` (1), apostrophe and ``a``-``z``: the
wav2vec2 English character vocabulary in lower case, so `Vocabulary.encode` spells words as the
aligner needs.
"""

from __future__ import annotations

import json
import math
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task
from .acoustic import AcousticModel, vocabulary_from_tokens

__all__ = [
    "TOKENS",
    "SAMPLE_RATE",
    "HOP",
    "SmallCTC",
    "SmallCTCModel",
    "logmel",
    "normalize_features",
    "bundled_path",
    "load_bundled",
    "load_small_ctc",
]

TOKENS = ("<pad>", "|", "'", *"abcdefghijklmnopqrstuvwxyz")
SAMPLE_RATE = 16000
HOP = 160  # 10 ms feature hop
WIN = 400  # 25 ms window
N_FFT = 512
N_MELS = 80
SUBSAMPLE = 2  # output frame = 2 feature frames = 20 ms

_MEL_CACHE: dict[str, Any] = {}


def _mel_basis() -> Any:
    import torch

    from ..media.mel import mel_filterbank

    if "mel" not in _MEL_CACHE:
        m = mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 20.0, 7600.0)  # librosa.filters.mel's, in numpy
        _MEL_CACHE["mel"] = torch.from_numpy(np.array(m, dtype=np.float32))
        _MEL_CACHE["win"] = torch.hann_window(WIN, periodic=True)
    return _MEL_CACHE["mel"], _MEL_CACHE["win"]


def num_feature_frames(num_samples: int) -> int:
    """Feature frames of a recording: one per started 10 ms hop."""
    return max(1, -(-int(num_samples) // HOP))


def num_output_frames(num_samples: int) -> int:
    return -(-num_feature_frames(num_samples) // SUBSAMPLE)


def logmel(samples: np.ndarray) -> Any:
    """(N_MELS, T) float32 torch log-mel of float32 16 kHz `samples` (not normalised)."""
    import torch

    mel, win = _mel_basis()
    x = torch.as_tensor(np.ascontiguousarray(samples, dtype=np.float32))
    T = num_feature_frames(x.numel())
    need = (T - 1) * HOP + WIN
    x = torch.nn.functional.pad(x, (0, need - x.numel()))
    frames = x.unfold(0, WIN, HOP)  # (T, WIN), a view
    out = torch.empty((N_MELS, T), dtype=torch.float32)
    block = 6000  # 1 minute of frames at a time: an hour's spectrum would need ~1.7 GB at once
    for a in range(0, T, block):
        spec = torch.fft.rfft(frames[a : a + block] * win, n=N_FFT).abs().square()  # (t, N_FFT/2+1)
        out[:, a : a + block] = torch.log(mel @ spec.T + 1e-6)
    return out


def normalize_features(feats: Any) -> Any:
    """Each band minus its mean, over its standard deviation, across the whole recording (CMVN)."""
    mean = feats.mean(dim=-1, keepdim=True)
    std = feats.std(dim=-1, keepdim=True, unbiased=False)
    return (feats - mean) / (std + 1e-3)


def _torch_nn() -> Any:
    import torch

    return torch.nn


class _Block(_torch_nn().Module):  # type: ignore[misc]
    def __init__(self, channels: int, kernel: int, dropout: float) -> None:
        nn = _torch_nn()
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        self.norm = nn.LayerNorm(channels)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Any) -> Any:  # (B, C, T)
        y = self.pointwise(self.depthwise(x))
        y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return x + self.drop(self.act(y))


class ConvStack(_torch_nn().Module):  # type: ignore[misc]
    """Normalised log-mel (B, N_MELS, T) → (B, T / stride, n_out) logits: a front convolution (with
    `stride`), layer norm and GELU, `_Block`s, a 1x1 output convolution. Shared by `SmallCTC` and
    `studio.models.phone_frames.PhoneNet` (same state-dict keys as each had on its own)."""

    def __init__(
        self,
        n_out: int,
        channels: int,
        blocks: int,
        kernel: int,
        dropout: float,
        front_kernel: int,
        stride: int,
    ) -> None:
        nn = _torch_nn()
        super().__init__()
        self.config = {"channels": channels, "blocks": blocks, "kernel": kernel, "dropout": dropout}
        self.stride = stride
        self.front = nn.Conv1d(N_MELS, channels, front_kernel, stride=stride, padding=front_kernel // 2)
        self.front_norm = nn.LayerNorm(channels)
        self.blocks = nn.ModuleList(_Block(channels, kernel, dropout) for _ in range(blocks))
        self.out = nn.Conv1d(channels, n_out, 1)

    def log_softmax_task(self, feats: Any, T: int, keep: int, device: Any, what: str) -> Task[Any]:
        """(T, n_out) log-softmax outputs for normalised features (N_MELS, T * stride), computed
        `keep` output frames at a time with one receptive radius of context on each side (equal to
        a whole-recording pass, as the tests check), on `device`; progress says `what`."""
        import torch

        out = torch.empty((T, self.out.out_channels), dtype=torch.float32)
        ctx, s = self.receptive_radius, self.stride
        starts = list(range(0, T, keep))
        for i, a in enumerate(starts):
            yield Progress(0.05 + 0.95 * i / len(starts), f"{what}: chunk {i + 1} of {len(starts)}")
            b = min(T, a + keep)
            f0, f1 = max(0, a - ctx), min(T, b + ctx)
            with torch.inference_mode():
                logits = self(feats[:, f0 * s : f1 * s][None].to(device))[0].float()
            out[a:b] = torch.log_softmax(logits[a - f0 : b - f0], dim=-1).cpu()
        return out

    def forward(self, feats: Any) -> Any:
        x = self.front(feats)
        x = _torch_nn().functional.gelu(self.front_norm(x.transpose(1, 2)).transpose(1, 2))
        for b in self.blocks:
            x = b(x)
        return self.out(x).transpose(1, 2)


class SmallCTC(ConvStack):
    """Normalised log-mel (B, N_MELS, T) → (B, ceil(T/2), len(TOKENS)) CTC logits."""

    def __init__(self, channels: int = 256, blocks: int = 8, kernel: int = 11, dropout: float = 0.1) -> None:
        super().__init__(len(TOKENS), channels, blocks, kernel, dropout, front_kernel=3, stride=SUBSAMPLE)

    @property
    def receptive_radius(self) -> int:
        """Output frames on each side that one output frame depends on (plus one for the front)."""
        return self.config["blocks"] * (self.config["kernel"] // 2) + 1


class SmallCTCModel(AcousticModel):
    """`SmallCTC` as an `AcousticModel` (16 kHz, 20 ms frames, lower-case letters, "|" delimiter)."""

    def __init__(
        self, net: SmallCTC, device: Any = None, *, chunk_seconds: float = 60.0, path: str = ""
    ) -> None:
        vocab = vocabulary_from_tokens(TOKENS, blank="<pad>", delimiter="|")
        super().__init__(vocab, SAMPLE_RATE, SUBSAMPLE * HOP / SAMPLE_RATE, device)
        if not chunk_seconds > 0:
            raise ValueError(f"chunk_seconds must be > 0, not {chunk_seconds!r}")
        self.net = net.to(self.device).eval()
        self.chunk_seconds = float(chunk_seconds)
        self.path = path

    def log_probs_task(self, samples: np.ndarray) -> Task[Any]:

        x = self.check_samples(samples)
        if x.size < WIN:
            raise ValueError(
                f"the recording is {x.size / SAMPLE_RATE * 1000:.1f} ms long; the model needs at least "
                f"{WIN / SAMPLE_RATE * 1000:.0f} ms"
            )
        yield Progress(0.0, "acoustic model: features")
        feats = normalize_features(logmel(x))  # (F, Tf)
        T = num_output_frames(x.size)
        keep = max(1, int(round(self.chunk_seconds / self.frame_duration)))
        out = yield from self.net.log_softmax_task(feats, T, keep, self.device, "acoustic model")
        yield Progress(1.0, "acoustic model: done")
        return out


def bundled_path() -> Path:
    """The folder of the bundled model (``resources/models/small_ctc``)."""
    try:
        root = Path(str(resources.files("resources"))) / "models" / "small_ctc"
        if root.is_dir():
            return root
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "resources" / "models" / "small_ctc"


def load_conv_stack(
    path: str | Path, cls: Any, key: str, expected: tuple[str, ...], what: str
) -> tuple[Any, dict]:
    """A `ConvStack` subclass `cls` and its config from a folder with ``config.json`` (whose `key`
    must list `expected`) and ``model.pt`` (a state dict); errors name the folder and `what`."""
    import torch

    p = Path(path)
    if not (p / "config.json").is_file() or not (p / "model.pt").is_file():
        raise FileNotFoundError(f"{p}: not a {what} folder (config.json and model.pt)")
    try:
        cfg = json.loads((p / "config.json").read_text(encoding="utf-8"))
        arch = cfg["architecture"]
        if tuple(cfg[key]) != expected:
            raise ValueError(f"{key} {cfg[key]} are not this model's")
        net = cls(**{k: arch[k] for k in ("channels", "blocks", "kernel", "dropout")})
        state = torch.load(p / "model.pt", map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except (KeyError, TypeError, ValueError, OSError, EOFError, RuntimeError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{p}: cannot load the {what} ({exc})") from None
    if not math.isfinite(sum(float(v.float().abs().sum()) for v in net.state_dict().values())):
        raise ValueError(f"{p}: the weights contain NaN or infinity")
    return net, cfg


def load_small_ctc(path: str | Path, device: Any = None, *, chunk_seconds: float = 60.0) -> SmallCTCModel:
    """A `SmallCTCModel` from a folder with ``config.json`` and ``model.pt`` (a state dict)."""
    net, _ = load_conv_stack(path, SmallCTC, "tokens", TOKENS, "small CTC model")
    return SmallCTCModel(net, device, chunk_seconds=chunk_seconds, path=str(Path(path)))


def load_bundled(device: Any = None, *, chunk_seconds: float = 60.0) -> SmallCTCModel:
    """The bundled model (see the model card, ``resources/models/README.md``)."""
    return load_small_ctc(bundled_path(), device, chunk_seconds=chunk_seconds)
