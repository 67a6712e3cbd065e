"""Acoustic models for transcript alignment: frame log-posteriors over a model's own units (Qt-free, torch).

`AcousticModel` is what the CTC transcript aligner (`studio.align.ctc_aligner`) needs from a model:
``sample_rate``, ``frame_duration`` (seconds per output frame), a `Vocabulary` (the output classes,
which of them is the CTC blank and which, if any, the word delimiter), ``log_probs(samples)`` (T, C)
and ``tokenize(word)``. `load_acoustic_model` loads a user's Hugging Face CTC model folder — wav2vec 2.0
(Baevski et al. 2020) fine-tuned with CTC, and the models of the same family that transformers'
``AutoModelForCTC`` loads with the same processor (HuBERT, WavLM, data2vec-audio, ...; tested here on
wav2vec 2.0). transformers is an optional dependency (``pip install studio[hf]``) imported only when a
model is loaded.

**Long recordings.** A transformer's memory grows with the square of its input, and the models are
trained on utterances of a few seconds to ~30 s, so a recording is cut into chunks: each chunk keeps
``chunk_seconds`` of output frames and is computed with ``context_seconds`` of audio on both sides,
which are then thrown away (the stride/chunking scheme of transformers' ASR pipeline and of
Whisper-/wav2vec2-based aligners such as WhisperX). Chunks start on a multiple of the feature
encoder's total stride, so chunk frame j is exactly global frame ``start / stride + j`` and the kept
frames tile the recording without seam or overlap. The waveform is normalised (zero mean, unit
variance, as ``Wav2Vec2FeatureExtractor`` does for one input) with statistics of the *whole* recording,
so every chunk sees the samples the whole-file computation would see. For a model whose output
frame depends on at most ``context_seconds`` around it (convolutional feature encoder, per-frame layer
norm, local attention in practice) the chunked posteriors then equal the whole-file ones; the tests
check this exactly on a model made local. Models with ``feat_extract_norm="group"`` (wav2vec2-base)
normalise the first convolution over the whole input, and global self-attention sees only the chunk:
there the chunked posteriors are those of ~30 s utterances, which is what such models were trained on.
Memory is that of one chunk, plus the (T, C) float32 output (a 1-hour recording at 50 frames/s and 32
classes: 23 MB) and the waveform itself.

**Tokens.** A word is written in the model's units by greedy longest match over the vocabulary's
non-special tokens (single characters for the usual character CTC models; longer units work too).
The case is mapped as the vocabulary has it (all upper case: wav2vec2-base-960h; all lower case: most
others). A character the vocabulary lacks is replaced by its base letter when Unicode decomposition
gives one that the vocabulary has ("é" → "e"; reported as replaced), else dropped (reported as
dropped); a word left without any token cannot be aligned and is flagged by the aligner.
"""

from __future__ import annotations

import contextlib
import json
import math
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks.base import Progress, Task, run

__all__ = [
    "AcousticModel",
    "Encoded",
    "HFAcousticModel",
    "Vocabulary",
    "load_acoustic_model",
    "vocabulary_from_tokens",
    "default_device",
    "HF_MISSING",
]

HF_MISSING = "install studio[hf] (transformers) to load Hugging Face models"


def default_device() -> str:
    """ "cuda" when torch sees a GPU, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(f"{HF_MISSING} (import failed: {exc})") from None
    return transformers


# ------------------------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class Encoded:
    """A word in a model's units: ``ids`` (token ids, with the delimiter between space-separated parts),
    ``dropped`` (characters with no token, in order), ``replaced`` ((character, base letter) pairs)."""

    ids: list[int]
    dropped: list[str] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Vocabulary:
    """The output classes of a CTC model.

    ``tokens[i]``: the string of class i ("" for a class with no string). ``blank``: the CTC blank.
    ``delimiter``: the word delimiter ("|" in wav2vec2 vocabularies, or " "), None if the model has
    none. ``special``: classes never written from text (blank, <unk>, <s>, </s>, ...; the delimiter
    is written only between words).
    """

    tokens: tuple[str, ...]
    blank: int
    delimiter: int | None = None
    special: frozenset[int] = frozenset()
    case: str = field(init=False, default="mixed", compare=False)  # "upper", "lower" or "mixed"
    _lookup: dict[str, int] = field(init=False, default_factory=dict, repr=False, compare=False)
    _longest: int = field(init=False, default=1, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        if n < 2:
            raise ValueError(f"a CTC vocabulary needs at least 2 classes (blank and one token), has {n}")
        if not 0 <= self.blank < n:
            raise ValueError(f"blank id {self.blank} is not a class of the {n}-class vocabulary")
        if self.delimiter is not None and not (0 <= self.delimiter < n and self.delimiter != self.blank):
            raise ValueError(f"delimiter id {self.delimiter} must be a class other than the blank")
        lookup: dict[str, int] = {}
        for i, tok in enumerate(self.tokens):
            if i in self.special or i == self.blank or i == self.delimiter or not tok:
                continue
            lookup.setdefault(unicodedata.normalize("NFC", tok), i)
        if not lookup:
            raise ValueError("the vocabulary has no token that text can be written in")
        letters = [t for t in lookup if any(c.isalpha() for c in t)]
        upper = (
            bool(letters) and all(t == t.upper() for t in letters) and any(t != t.lower() for t in letters)
        )
        lower = (
            bool(letters) and all(t == t.lower() for t in letters) and any(t != t.upper() for t in letters)
        )
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_longest", max(len(t) for t in lookup))
        object.__setattr__(self, "case", "upper" if upper else "lower" if lower else "mixed")

    def __len__(self) -> int:
        return len(self.tokens)

    def _match(self, s: str, i: int) -> tuple[int, int] | None:
        for n in range(min(self._longest, len(s) - i), 0, -1):
            piece = s[i : i + n]
            for cand in (piece, piece.lower(), piece.upper()) if self.case == "mixed" else (piece,):
                if cand in self._lookup:
                    return self._lookup[cand], n
        return None

    def encode(self, word: str) -> Encoded:
        """`word` in this vocabulary's units (module docstring: case, replacements, dropped characters)."""
        if not isinstance(word, str):
            raise TypeError(f"a word is a str, not {type(word).__name__}")
        case = self.case
        ids: list[int] = []
        dropped: list[str] = []
        replaced: list[tuple[str, str]] = []
        for k, part in enumerate(word.split()):
            s = unicodedata.normalize("NFC", part)
            s = s.upper() if case == "upper" else s.lower() if case == "lower" else s
            part_ids: list[int] = []
            i = 0
            while i < len(s):
                m = self._match(s, i)
                if m is not None:
                    part_ids.append(m[0])
                    i += m[1]
                    continue
                ch = s[i]
                base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
                sub = [self._match(base, j) for j in range(len(base))] if base and base != ch else []
                if sub and all(x is not None and x[1] == 1 for x in sub):
                    part_ids.extend(x[0] for x in sub if x is not None)
                    replaced.append((ch, base))
                else:
                    dropped.append(ch)
                i += 1
            if part_ids and ids and k and self.delimiter is not None:
                ids.append(self.delimiter)
            ids.extend(part_ids)
        return Encoded(ids, dropped, replaced)


# ------------------------------------------------------------------------------------- interface


class AcousticModel(ABC):
    """Frame log-posteriors of a CTC model over its `Vocabulary` (see the module docstring).

    Subclasses implement `log_probs_task`; everything else is shared."""

    def __init__(self, vocabulary: Vocabulary, sample_rate: int, frame_duration: float, device: Any = None):
        import torch

        if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive integer, not {sample_rate!r}")
        if not (frame_duration > 0 and math.isfinite(frame_duration)):
            raise ValueError(f"frame_duration must be a positive number of seconds, not {frame_duration!r}")
        self.vocabulary = vocabulary
        self.sample_rate = int(sample_rate)
        self.frame_duration = float(frame_duration)
        self.device = torch.device(device if device is not None else default_device())

    @property
    def blank(self) -> int:
        return self.vocabulary.blank

    @abstractmethod
    def log_probs_task(self, samples: np.ndarray) -> Task[Any]:
        """(T, C) float32 torch tensor on the CPU: log-softmax outputs, frame t covering
        [t, t + 1) · frame_duration, for float32 mono `samples` at `sample_rate`."""

    def log_probs(self, samples: np.ndarray, sample_rate: int | None = None) -> Any:
        """`log_probs_task` run here; `sample_rate`, if given, must be the model's."""
        if sample_rate is not None and int(sample_rate) != self.sample_rate:
            raise ValueError(
                f"the samples are at {sample_rate} Hz but the model takes {self.sample_rate} Hz: resample first"
            )
        return run(self.log_probs_task(samples))

    def encode(self, word: str) -> Encoded:
        return self.vocabulary.encode(word)

    def tokenize(self, word: str) -> list[int]:
        """Token ids of `word` (characters the vocabulary lacks are left out: see `encode`)."""
        return self.vocabulary.encode(word).ids

    def check_samples(self, samples: Any) -> np.ndarray:
        """The samples as a 1-D float32 array, or ValueError naming what is wrong."""
        x = np.asarray(samples)
        if x.ndim == 2 and 1 in x.shape:
            x = x.reshape(-1)
        if x.ndim != 1:
            raise ValueError(f"samples must be mono (1-D), not of shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"samples must be floating point in [-1, 1], not {x.dtype}")
        x = x.astype(np.float32, copy=False)
        if x.size == 0:
            raise ValueError("the recording has no samples")
        if not np.isfinite(x).all():
            raise ValueError("the samples contain NaN or infinity")
        return x

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self.vocabulary)} classes, {self.sample_rate} Hz, "
            f"{self.frame_duration * 1000:g} ms frames, {self.device})"
        )


# ---------------------------------------------------------------------------------- Hugging Face


class HFAcousticModel(AcousticModel):
    """A transformers CTC model (``AutoModelForCTC``) with its feature-encoder geometry."""

    def __init__(
        self,
        model: Any,
        vocabulary: Vocabulary,
        sample_rate: int,
        *,
        normalize: bool = True,
        device: Any = None,
        chunk_seconds: float = 20.0,
        context_seconds: float = 5.0,
        path: str = "",
    ) -> None:
        cfg = model.config
        stride = int(np.prod(cfg.conv_stride))
        if getattr(cfg, "add_adapter", False):
            stride *= int(cfg.adapter_stride) ** int(cfg.num_adapter_layers)
        super().__init__(vocabulary, sample_rate, stride / sample_rate, device)
        if not (chunk_seconds > 0 and context_seconds >= 0):
            raise ValueError(
                f"chunk_seconds must be > 0 and context_seconds >= 0, not {chunk_seconds}, {context_seconds}"
            )
        self.model = model.to(self.device).eval()
        self.stride = stride
        rf = 1
        for k, s in zip(reversed(cfg.conv_kernel), reversed(cfg.conv_stride)):
            rf = (rf - 1) * int(s) + int(k)
        self.receptive_field = rf  # samples that one frame of the convolutional encoder sees
        self.normalize = bool(normalize)
        self.chunk_seconds = float(chunk_seconds)
        self.context_seconds = float(context_seconds)
        self.path = path

    def num_frames(self, num_samples: int) -> int:
        import torch

        return int(self.model._get_feat_extract_output_lengths(torch.tensor(int(num_samples))))

    def _chunks(self, T: int, n: int) -> Iterator[tuple[int, int, int, int]]:
        """(first kept frame, end kept frame, first sample, end sample) of each chunk."""
        keep = max(1, int(round(self.chunk_seconds / self.frame_duration)))
        ctx = int(round(self.context_seconds / self.frame_duration))
        if T <= keep + 2 * ctx:
            yield 0, T, 0, n
            return
        for a in range(0, T, keep):
            b = min(T, a + keep)
            f0 = max(0, a - ctx)
            f1 = min(T, b + ctx)
            yield a, b, f0 * self.stride, min(n, (f1 - 1) * self.stride + self.receptive_field)

    def log_probs_task(self, samples: np.ndarray) -> Task[Any]:
        import torch

        x = self.check_samples(samples)
        if x.size < self.receptive_field:
            raise ValueError(
                f"the recording is {x.size / self.sample_rate * 1000:.1f} ms long; the model needs at least "
                f"{self.receptive_field / self.sample_rate * 1000:.1f} ms for one frame"
            )
        if self.normalize:  # statistics of the whole recording, a block at a time (no float64 copy of it)
            blocks = range(0, x.size, 1 << 20)
            mean = sum(float(x[i : i + (1 << 20)].sum(dtype=np.float64)) for i in blocks) / x.size
            var = (
                sum(float(np.square(x[i : i + (1 << 20)] - mean, dtype=np.float64).sum()) for i in blocks)
                / x.size
            )
        T = self.num_frames(x.size)
        C = int(self.model.config.vocab_size)
        out = torch.empty((T, C), dtype=torch.float32)
        chunks = list(self._chunks(T, x.size))
        for i, (a, b, s0, s1) in enumerate(chunks):
            yield Progress(i / len(chunks), f"acoustic model: chunk {i + 1} of {len(chunks)}")
            piece = x[s0:s1]
            if self.normalize:
                piece = ((piece.astype(np.float64) - mean) / math.sqrt(var + 1e-7)).astype(np.float32)
            inp = torch.from_numpy(np.ascontiguousarray(piece))[None].to(self.device)
            with torch.inference_mode():
                logits = self.model(inp).logits[0].float()
            f0 = s0 // self.stride
            if logits.shape[0] < b - f0:
                raise AssertionError(f"internal error: chunk gave {logits.shape[0]} frames, needed {b - f0}")
            out[a:b] = torch.log_softmax(logits[a - f0 : b - f0], dim=-1).cpu()
        yield Progress(1.0, "acoustic model: done")
        return out


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """transformers' progress bars and load reports off while loading (errors are raised, not logged)."""
    log = transformers.utils.logging
    verbosity = log.get_verbosity()
    bars = log.is_progress_bar_enabled()
    log.set_verbosity_error()
    log.disable_progress_bar()
    try:
        yield
    finally:
        log.set_verbosity(verbosity)
        if bars:
            log.enable_progress_bar()


def _vocabulary_from(tokenizer: Any, num_classes: int, where: str) -> Vocabulary:
    vocab: dict[str, int] = tokenizer.get_vocab()
    tokens = [""] * num_classes
    for tok, i in vocab.items():
        if 0 <= i < num_classes:
            tokens[i] = tok
    specials = set(getattr(tokenizer, "all_special_tokens", []))
    pad = tokenizer.pad_token_id
    if pad is None or not 0 <= pad < num_classes:
        raise ValueError(
            f"{where}: the tokenizer has no pad token among the model's {num_classes} outputs (CTC blank)"
        )
    delim_tok = getattr(tokenizer, "word_delimiter_token", None)
    delimiter = vocab.get(delim_tok) if delim_tok else None
    if delimiter is None and " " in vocab:
        delimiter = vocab[" "]
    if delimiter is not None and not 0 <= delimiter < num_classes:
        delimiter = None
    special = frozenset(i for t, i in vocab.items() if t in specials and i != delimiter and i < num_classes)
    extra = [t for t, i in vocab.items() if i >= num_classes and t not in specials]
    if extra:
        raise ValueError(
            f"{where}: vocab.json has tokens beyond the model's {num_classes} outputs ({', '.join(extra[:5])}): "
            "the tokenizer does not belong to this model"
        )
    return Vocabulary(tuple(tokens), blank=int(pad), delimiter=delimiter, special=special)


def load_acoustic_model(
    path: str | Path,
    device: Any = None,
    *,
    chunk_seconds: float = 20.0,
    context_seconds: float = 5.0,
) -> AcousticModel:
    """Load an acoustic model: ``"bundled"`` (Studio's own small model, `studio.models.small_ctc`),
    a Hugging Face CTC model folder (config.json, model.safetensors or pytorch_model.bin,
    vocab.json and tokenizer files, preprocessor_config.json), e.g. a wav2vec2 model fine-tuned with CTC,
    or a torchaudio wav2vec2 checkpoint file (``.pth``/``.pt``/``.bin``: the state dict that
    ``torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H`` and the other ASR bundles download, or any
    ``torchaudio.models.wav2vec2_model`` state dict with a ``<file>.json`` sidecar; see
    `studio.models.torchaudio_ckpt`).

    ``device``: "cpu", "cuda", ... (default: cuda when available). Raises FileNotFoundError for a
    missing folder or file, ValueError naming the path for a folder or file that is not a CTC model
    or whose files are incomplete or corrupt, ImportError when transformers is not installed.
    """
    if str(path) == "bundled":
        from .small_ctc import load_bundled

        return load_bundled(device, chunk_seconds=max(chunk_seconds, 60.0))
    p = Path(path)
    if p.suffix.lower() in (".pt", ".pth", ".bin") and not p.is_dir():
        from .torchaudio_ckpt import load_torchaudio_wav2vec2

        return load_torchaudio_wav2vec2(
            p, device, chunk_seconds=chunk_seconds, context_seconds=context_seconds
        )
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such model folder")
    if not p.is_dir():
        raise ValueError(f"{p}: a model is a folder (config.json, weights, vocab.json), not a file")
    if not (p / "config.json").is_file():
        raise ValueError(f"{p}: not a Hugging Face model folder (no config.json)")
    try:
        cfg_json = json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}/config.json: not a readable JSON file ({exc})") from None
    if not isinstance(cfg_json, dict):
        raise ValueError(f"{p}/config.json: not a model configuration (a JSON object)")
    weights = [n for n in ("model.safetensors", "pytorch_model.bin") if (p / n).is_file()]
    if not weights and not any(p.glob("model-*.safetensors")):
        raise ValueError(f"{p}: no model weights (model.safetensors or pytorch_model.bin)")
    if not (p / "vocab.json").is_file():
        raise ValueError(f"{p}: no vocab.json (the CTC tokenizer's vocabulary): not a CTC model folder")
    tf = _import_transformers()
    with _quiet(tf):
        try:
            config = tf.AutoConfig.from_pretrained(str(p), local_files_only=True)
        except Exception as exc:  # ValueError, KeyError, OSError from transformers
            raise ValueError(
                f"{p}: config.json is not a model configuration transformers knows ({exc})"
            ) from None
        if type(config) not in tf.MODEL_FOR_CTC_MAPPING or not hasattr(config, "conv_stride"):
            archs = ", ".join(cfg_json.get("architectures") or []) or cfg_json.get("model_type", "?")
            raise ValueError(
                f"{p}: not a CTC speech model of the wav2vec2 family ({archs}); "
                "expected e.g. Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC"
            )
        try:
            model, info = tf.AutoModelForCTC.from_pretrained(
                str(p), local_files_only=True, output_loading_info=True
            )
        except Exception as exc:  # SafetensorError, OSError, RuntimeError (unpickling, shapes)
            names = ", ".join(weights) or "weights"
            raise ValueError(f"{p}: cannot read the model weights ({names}: {exc})") from None
        missing = sorted(k for k in info.get("missing_keys", ()) if "lm_head" in k)
        if missing:
            raise ValueError(
                f"{p}: not a CTC model: the weights have no CTC output layer ({', '.join(missing)}); "
                "a pretrained-only wav2vec2 must be fine-tuned with CTC first"
            )
        if info.get("missing_keys"):
            raise ValueError(
                f"{p}: the weights lack {len(info['missing_keys'])} of the model's tensors, "
                f"e.g. {sorted(info['missing_keys'])[0]}"
            )
        try:
            tokenizer = tf.Wav2Vec2CTCTokenizer.from_pretrained(str(p), local_files_only=True)
        except Exception as exc:
            raise ValueError(
                f"{p}: cannot read the CTC tokenizer (vocab.json, tokenizer_config.json): {exc}"
            ) from None
        try:
            fe = tf.Wav2Vec2FeatureExtractor.from_pretrained(str(p), local_files_only=True)
            rate, normalize = int(fe.sampling_rate), bool(fe.do_normalize)
        except OSError:  # no preprocessor_config.json: the wav2vec2 defaults
            rate, normalize = 16000, True
    vocab = _vocabulary_from(tokenizer, int(config.vocab_size), str(p))
    return HFAcousticModel(
        model,
        vocab,
        rate,
        normalize=normalize,
        device=device,
        chunk_seconds=chunk_seconds,
        context_seconds=context_seconds,
        path=str(p),
    )


def vocabulary_from_tokens(
    tokens: Sequence[str], blank: str = "<pad>", delimiter: str | None = "|"
) -> Vocabulary:
    """A `Vocabulary` from token strings (for models built in code): the blank and delimiter by name;
    strings of the form ``<...>`` are special."""
    toks = tuple(tokens)
    if blank not in toks:
        raise ValueError(f"the blank token {blank!r} is not in the vocabulary")
    delim = toks.index(delimiter) if delimiter is not None and delimiter in toks else None
    special = frozenset(i for i, t in enumerate(toks) if t.startswith("<") and t.endswith(">") and len(t) > 2)
    return Vocabulary(toks, blank=toks.index(blank), delimiter=delim, special=special)
