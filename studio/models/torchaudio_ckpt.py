"""torchaudio wav2vec 2.0 checkpoints (``.pth`` state dicts) loaded without torchaudio (Qt-free, torch).

torchaudio's pipelines (``torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H``, ``..._LARGE_960H``,
``..._LARGE_LV60K_960H``, ``HUBERT_ASR_LARGE``, ``VOXPOPULI_ASR_BASE_10K_EN``, ...) download the
state dict of a ``torchaudio.models.wav2vec2_model(...)`` (e.g. ``wav2vec2_fairseq_base_ls960_asr_ls960.pth``
into ``~/.cache/torch/hub/checkpoints``). torchaudio itself is not a dependency (each release
is built for one torch release). The file is read with ``torch.load(weights_only=True)``
(tensors only, no code runs) and its tensors are put into a transformers ``Wav2Vec2ForCTC``, which
computes the same network; the result is an `HFAcousticModel` like a Hugging Face folder gives.

**Architecture from the tensors.** The shapes give most of what ``wav2vec2_model`` needs: conv channels
and kernels (``feature_extractor.conv_layers.i.conv.weight``: out × in × k), conv bias, extractor mode
(``group_norm``: only conv layer 0 has a norm; ``layer_norm``: every layer has one), embedding size
(``encoder.feature_projection.projection.weight``), layer count, FF size, positional conv kernel and
groups (``pos_conv_embed.conv`` weight: E × E/groups × K, stored as weight-norm g/v, as
``parametrizations.weight.original0/1`` or plain) and the number of classes (``aux.weight``). Not in the
shapes: (1) the conv *strides*: the standard wav2vec 2.0 extractor (5, 2, 2, 2, 2, 2, 2) (Baevski et al.
2020; fairseq's ``conv_feature_layers``) is taken when there are 7 conv layers, otherwise a sidecar must
give them; (2) the *attention heads*; (3) whether the transformer is *pre-norm*
(``encoder_layer_norm_first``), which changes the computation but not a single key. (4) The output
*labels* are not in the file at all. The bundle file names torchaudio publishes are known here
(``_BUNDLES``: heads, labels, pre-norm, waveform normalisation, the fairseq dictionary rows to drop);
any other file needs a sidecar JSON ``<file>.json`` beside it::

    {"num_heads": 12, "labels": ["-", "|", "E", "T", ...],
     "extractor_conv_layer_config": [[512, 10, 5], ...], "encoder_layer_norm_first": false,
     "normalize_waveform": false, "remove_aux_axis": [1, 2, 3], "blank": "-", "sample_rate": 16000}

where only ``labels`` is required (all output classes in order, as ``bundle.get_labels()`` gives
them; the blank is ``labels[0]`` unless ``blank`` names another, "|" is the word delimiter). Any
``wav2vec2_model`` keyword may be given and must then agree with the tensors. Defaults without a
sidecar value: heads = embed_dim // 64 (right for base and large; the 1280-wide xlarge models have
16, not 20); pre-norm and waveform normalisation when the extractor uses layer norm — true of every
torchaudio bundle (the LV-60K, HuBERT, XLS-R and MMS models are ``layer_norm`` + pre-norm + normalised
input, the LibriSpeech base/large and VoxPopuli ones ``group_norm`` + post-norm, raw input).

**Key correspondence** (torchaudio → transformers) is the inverse of torchaudio's own importer,
``torchaudio/models/wav2vec2/utils/import_huggingface.py`` (pytorch/audio, ``_build``):
``feature_extractor.*`` ↔ ``wav2vec2.feature_extractor.*``, ``encoder.feature_projection.*`` ↔
``wav2vec2.feature_projection.*``, ``encoder.transformer.*`` ↔ ``wav2vec2.encoder.*``, ``aux.*`` ↔
``lm_head.*``; ``_get_config`` there gives the config fields (``feat_extract_norm`` =
``extractor_mode`` less "_norm", ``do_stable_layer_norm`` = ``encoder_layer_norm_first``, ...). The
fairseq-trained ASR checkpoints keep 3-4 output rows of fairseq's NLP dictionary (<s>, <pad>, </s>,
<unk>) that torchaudio's ``_remove_aux_axes`` drops at load; so does this loader, for files with
exactly those extra rows. WavLM checkpoints (relative-position attention) are refused.

**Normalisation.** torchaudio normalises a bundle's input with ``layer_norm`` over the whole
waveform (eps 1e-5); `HFAcousticModel` uses the whole recording's mean and variance with eps 1e-7,
the same up to a relative 1e-5/(2·variance) in scale — negligible for speech, and the
tests bound its effect on the log-posteriors.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

from .acoustic import HFAcousticModel, Vocabulary, _import_transformers, _quiet, vocabulary_from_tokens

__all__ = ["load_torchaudio_wav2vec2", "STANDARD_STRIDES"]

STANDARD_STRIDES = (5, 2, 2, 2, 2, 2, 2)

_EN = tuple("-|ETAONIHSRDLUMWCFGYPBVK'XJQZ")
_VP_EN = tuple("-|etoiansrhldcumpfgwybvkxjqz")
_DE = ("-", "|", *"enirstadhulgcmobwfkzpvüäöjßyxq")
_ES = ("-", "|", *"eaosnrildctupmbqygvhófíájzñéxúkwü")
_FR = ("-", "|", *"esnitraouldcpmévqfgbhxàjèyêzôkçœûùîâwïëüæ")
_IT = ("-", "|", *"eiaontrlscdupmgvhzfbqàèùéòìkyxwjóíï")

# file name -> (heads, labels, layer_norm_first, normalize_waveform, fairseq rows to drop)
# (torchaudio/pipelines/_wav2vec2/impl.py and utils.py, pytorch/audio)
_BUNDLES: dict[str, tuple[int, tuple[str, ...], bool, bool, tuple[int, ...]]] = {}
for _size, _heads, _lnf in (("base_ls960", 12, False), ("large_ls960", 16, False), ("large_lv60k", 16, True)):
    for _ft in ("ll10m", "ls100", "ls960"):
        _BUNDLES[f"wav2vec2_fairseq_{_size}_asr_{_ft}.pth"] = (_heads, _EN, _lnf, _lnf, (1, 2, 3))
_BUNDLES["hubert_fairseq_large_ll60k_asr_ls960.pth"] = (16, _EN, True, True, (1, 2, 3))
_BUNDLES["hubert_fairseq_xlarge_ll60k_asr_ls960.pth"] = (16, _EN, True, True, (1, 2, 3))
for _lang, _labels, _axes in (
    ("de", _DE, (1, 2, 3, 35)),
    ("en", _VP_EN, (1, 2, 3, 31)),
    ("es", _ES, (1, 2, 3, 35)),
    ("fr", _FR, (1, 2, 3)),
    ("it", _IT, (1, 2, 3)),
):
    _BUNDLES[f"wav2vec2_voxpopuli_base_10k_asr_{_lang}.pt"] = (12, _labels, False, False, _axes)

_SHAPE_KWARGS = {
    "extractor_mode",
    "extractor_conv_layer_config",
    "extractor_conv_bias",
    "encoder_embed_dim",
    "encoder_pos_conv_kernel",
    "encoder_pos_conv_groups",
    "encoder_num_layers",
    "encoder_ff_interm_features",
    "aux_num_out",
}
_IGNORED_KWARGS = {  # training-only settings of wav2vec2_model
    "encoder_projection_dropout",
    "encoder_attention_dropout",
    "encoder_ff_interm_dropout",
    "encoder_dropout",
    "encoder_layer_drop",
}
_SIDECAR_KEYS = (
    _SHAPE_KWARGS
    | _IGNORED_KWARGS
    | {
        "num_heads",
        "encoder_num_heads",
        "encoder_layer_norm_first",
        "labels",
        "blank",
        "normalize_waveform",
        "remove_aux_axis",
        "sample_rate",
    }
)

_FE = "feature_extractor.conv_layers."
_TR = "encoder.transformer."
_POS = _TR + "pos_conv_embed.conv."


def _read_state_dict(p: Path) -> dict[str, Any]:
    import torch

    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, pickle.UnpicklingError):  # torch's message is a page on weights_only
            why = "not a torch file, or one holding objects other than tensors"
        else:
            why = "corrupt or truncated: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ValueError(
            f"{p}: not a readable torch state dict ({why}); a model is a torchaudio wav2vec2 checkpoint "
            "file or a Hugging Face model folder"
        ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{p}: not a state dict (a mapping of names to tensors)")
    sd = {str(k): v for k, v in obj.items()}
    for prefix in ("module.", "model."):  # DataParallel; torchaudio's input-normalising wrapper
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
    return sd


def _read_sidecar(p: Path) -> dict[str, Any]:
    side = p.with_name(p.name + ".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{side}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{side}: a sidecar is a JSON object (num_heads, labels, wav2vec2_model keywords)")
    unknown = sorted(set(data) - _SIDECAR_KEYS)
    if unknown:
        raise ValueError(
            f"{side}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_SIDECAR_KEYS))}"
        )
    return data


def _infer(p: Path, sd: dict[str, Any]) -> dict[str, Any]:
    """wav2vec2_model keyword arguments readable from the tensor shapes (strides: None if unknown)."""
    if any(k.startswith("wav2vec2.") for k in sd):
        raise ValueError(
            f"{p}: a Hugging Face checkpoint (wav2vec2.* keys), not a torchaudio one: "
            "pass its folder (config.json, weights, vocab.json) instead"
        )
    if f"{_FE}0.conv.weight" not in sd or f"{_TR}layers.0.attention.q_proj.weight" not in sd:
        raise ValueError(
            f"{p}: not a torchaudio wav2vec2 state dict (no {_FE}0.conv.weight or "
            f"{_TR}layers.0.attention.q_proj.weight)"
        )
    if any(".rel_attn_embed." in k or ".gru_rel_pos" in k for k in sd):
        raise ValueError(f"{p}: a WavLM checkpoint (relative-position attention); only wav2vec2/HuBERT load")
    if "aux.weight" not in sd:
        raise ValueError(
            f"{p}: not a CTC model: no output layer (aux.weight); a pretrained-only wav2vec2 must be "
            "fine-tuned for ASR first"
        )
    n_conv = 1 + max(
        int(m.group(1)) for k in sd if (m := re.match(re.escape(_FE) + r"(\d+)\.conv\.weight$", k))
    )
    convs = []
    for i in range(n_conv):
        w = sd.get(f"{_FE}{i}.conv.weight")
        if w is None or w.ndim != 3 or w.shape[1] != (1 if i == 0 else convs[-1][0]):
            raise ValueError(f"{p}: feature-extractor conv layer {i} is missing or has the wrong shape")
        convs.append((int(w.shape[0]), int(w.shape[2])))
    normed = [f"{_FE}{i}.layer_norm.weight" in sd for i in range(n_conv)]
    if all(normed) and n_conv > 1:
        mode: str | None = "layer_norm"
    elif normed[0] and not any(normed[1:]):
        mode = "group_norm" if n_conv > 1 else None  # one layer: both modes have the same keys
    else:
        raise ValueError(f"{p}: feature-extractor norms fit neither group_norm nor layer_norm mode")
    proj = sd.get("encoder.feature_projection.projection.weight")
    if proj is None or proj.ndim != 2 or proj.shape[1] != convs[-1][0]:
        raise ValueError(f"{p}: no feature projection matching the last conv layer's {convs[-1][0]} channels")
    embed = int(proj.shape[0])
    pos = next(
        (sd[_POS + s] for s in ("weight_v", "parametrizations.weight.original1", "weight") if _POS + s in sd),
        None,
    )
    if pos is None or pos.ndim != 3 or pos.shape[0] != embed or embed % pos.shape[1]:
        raise ValueError(f"{p}: no positional convolution ({_POS}weight_v) of the model's width {embed}")
    n_layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(re.escape(_TR) + r"layers\.(\d+)\.", k)))
    ff = sd.get(f"{_TR}layers.0.feed_forward.intermediate_dense.weight")
    if ff is None or ff.ndim != 2 or ff.shape[1] != embed:
        raise ValueError(f"{p}: no feed-forward layer of the model's width {embed}")
    aux = sd["aux.weight"]
    if aux.ndim != 2 or aux.shape[1] != embed:
        raise ValueError(f"{p}: the output layer aux.weight is {tuple(aux.shape)}, not (classes, {embed})")
    return {
        "extractor_mode": mode,
        "extractor_conv_layer_config": [(c, k, None) for c, k in convs],
        "extractor_conv_bias": f"{_FE}0.conv.bias" in sd,
        "encoder_embed_dim": embed,
        "encoder_pos_conv_kernel": int(pos.shape[2]),
        "encoder_pos_conv_groups": embed // int(pos.shape[1]),
        "encoder_num_layers": n_layers,
        "encoder_ff_interm_features": int(ff.shape[0]),
        "aux_num_out": int(aux.shape[0]),
    }


def _merge(p: Path, inferred: dict[str, Any], side: dict[str, Any], where: str) -> dict[str, Any]:
    """The inferred arguments with the sidecar's filled in; a contradiction is a ValueError."""
    out = dict(inferred)
    for key in _SHAPE_KWARGS - {"aux_num_out"}:
        if key not in side:
            continue
        val = side[key]
        if key == "extractor_conv_layer_config":
            try:
                given = [(int(c), int(k), int(s)) for c, k, s in val]
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: extractor_conv_layer_config is a list of [channels, kernel, stride]"
                ) from None
            have = inferred[key]
            if len(given) != len(have) or any(g[:2] != h[:2] for g, h in zip(given, have)):
                raise ValueError(
                    f"{where}: extractor_conv_layer_config {given} does not match the file's conv layers "
                    f"{[h[:2] for h in have]} (channels, kernel)"
                )
            if any(s < 1 for _, _, s in given):
                raise ValueError(f"{where}: conv strides must be positive, not {[s for _, _, s in given]}")
            out[key] = given
        elif inferred[key] is None:
            out[key] = val
        elif val != inferred[key]:
            raise ValueError(f"{where}: {key}={val!r} but the tensors of {p.name} say {inferred[key]!r}")
    return out


def load_torchaudio_wav2vec2(
    path: str | Path,
    device: Any = None,
    *,
    chunk_seconds: float = 20.0,
    context_seconds: float = 5.0,
) -> HFAcousticModel:
    """Load a torchaudio wav2vec2/HuBERT CTC checkpoint (see the module docstring) as an `HFAcousticModel`.

    Raises FileNotFoundError for a missing file; ValueError naming the file for a file torch cannot
    read, a state dict that is not a wav2vec2 CTC model, or one whose labels/strides are unknown
    (with the sidecar to write); ImportError when transformers is not installed.
    """

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file")
    sd = _read_state_dict(p)
    inferred = _infer(p, sd)
    side = _read_sidecar(p)
    known = _BUNDLES.get(p.name)
    where = str(p.with_name(p.name + ".json"))
    args = _merge(p, inferred, side, where)

    if args["extractor_mode"] is None:
        raise ValueError(
            f"{p}: a one-layer feature extractor may be group_norm or layer_norm: "
            f'give "extractor_mode" in {where}'
        )
    if args["extractor_mode"] not in ("group_norm", "layer_norm"):
        raise ValueError(
            f"{where}: extractor_mode is group_norm or layer_norm, not {args['extractor_mode']!r}"
        )
    convs = args["extractor_conv_layer_config"]
    if convs[0][2] is None:
        if len(convs) != len(STANDARD_STRIDES):
            raise ValueError(
                f"{p}: {len(convs)} conv layers, not the standard 7, so their strides are unknown: give "
                f'"extractor_conv_layer_config": [[channels, kernel, stride], ...] in {where}'
            )
        convs = [(c, k, s) for (c, k, _), s in zip(convs, STANDARD_STRIDES)]
    embed = args["encoder_embed_dim"]

    if "labels" in side:
        labels = side["labels"]
        if not (isinstance(labels, list) and labels and all(isinstance(t, str) for t in labels)):
            raise ValueError(f"{where}: labels is a list of strings (the output classes in order)")
        labels = tuple(labels)
    elif known is not None:
        labels = known[1]
    else:
        raise ValueError(
            f"{p}: the output labels are not in a torchaudio checkpoint and {p.name} is not a torchaudio "
            f'bundle file Studio knows: write {where} with {{"labels": [...all {args["aux_num_out"]} output '
            'classes in order, blank first...], "num_heads": N}'
        )
    heads = side.get("num_heads", side.get("encoder_num_heads", known[0] if known else max(1, embed // 64)))
    layer_norm_first = bool(
        side.get("encoder_layer_norm_first", known[2] if known else args["extractor_mode"] == "layer_norm")
    )
    normalize = bool(side.get("normalize_waveform", known[3] if known else layer_norm_first))
    drop = tuple(side.get("remove_aux_axis", known[4] if known else ()))
    rate = side.get("sample_rate", 16000)
    if not (isinstance(heads, int) and heads > 0 and embed % heads == 0):
        raise ValueError(f"{p}: {heads!r} attention heads do not divide the model width {embed}")
    if not (isinstance(rate, int) and rate > 0):
        raise ValueError(f"{where}: sample_rate must be a positive integer, not {rate!r}")

    rows = args["aux_num_out"]
    if rows == len(labels) + len(drop) and drop:
        if not all(isinstance(i, int) and 0 <= i < rows for i in drop):
            raise ValueError(
                f"{where}: remove_aux_axis {list(drop)} are not rows of the {rows}-row output layer"
            )
        keep = [i for i in range(rows) if i not in set(drop)]
        for key in ("aux.weight", "aux.bias"):
            if key in sd:
                sd[key] = sd[key][keep]
        rows = len(keep)
    if rows != len(labels):
        raise ValueError(
            f"{p}: the model has {rows} output classes but {len(labels)} labels are known for it"
        )
    if "aux_num_out" in side and side["aux_num_out"] != rows:
        raise ValueError(
            f"{where}: aux_num_out={side['aux_num_out']} but the model has {rows} output classes"
        )
    blank = side.get("blank", labels[0])
    if blank not in labels:
        raise ValueError(f"{where}: the blank {blank!r} is not one of the labels")
    vocab: Vocabulary = vocabulary_from_tokens(labels, blank=blank, delimiter="|")

    tf = _import_transformers()
    config = tf.Wav2Vec2Config(
        vocab_size=rows,
        hidden_size=embed,
        num_hidden_layers=args["encoder_num_layers"],
        num_attention_heads=heads,
        intermediate_size=args["encoder_ff_interm_features"],
        conv_dim=[c for c, _, _ in convs],
        conv_kernel=[k for _, k, _ in convs],
        conv_stride=[s for _, _, s in convs],
        num_feat_extract_layers=len(convs),
        conv_bias=args["extractor_conv_bias"],
        feat_extract_norm=args["extractor_mode"].removesuffix("_norm"),
        do_stable_layer_norm=layer_norm_first,
        num_conv_pos_embeddings=args["encoder_pos_conv_kernel"],
        num_conv_pos_embedding_groups=args["encoder_pos_conv_groups"],
        hidden_act="gelu",
        feat_extract_activation="gelu",
        layer_norm_eps=1e-5,
        hidden_dropout=0.0,
        activation_dropout=0.0,
        attention_dropout=0.0,
        feat_proj_dropout=0.0,
        final_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.0,
        mask_feature_prob=0.0,
        pad_token_id=vocab.blank,
    )
    with _quiet(tf):
        model = tf.Wav2Vec2ForCTC(config)
    target = model.state_dict()
    mapped = _map_keys(p, sd, target)
    try:
        model.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{p}: the tensors do not fit the inferred wav2vec2 architecture ({exc})") from None
    del sd, mapped
    model.eval()
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


def _map_keys(p: Path, sd: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """torchaudio keys renamed to transformers' (import_huggingface.py, inverted); the positional
    convolution's weight norm converted to the form the transformers model has."""
    import torch

    out: dict[str, Any] = {}
    rest = dict(sd)
    g = rest.pop(_POS + "weight_g", None)
    v = rest.pop(_POS + "weight_v", None)
    if g is None:
        g = rest.pop(_POS + "parametrizations.weight.original0", None)
        v = rest.pop(_POS + "parametrizations.weight.original1", None)
    if v is None:
        w = rest.pop(_POS + "weight", None)
        if w is None:
            raise ValueError(f"{p}: the positional convolution's weight is incomplete")
        v = w
        g = torch.linalg.vector_norm(w, dim=(0, 1), keepdim=True)  # weight_norm(dim=2): one norm per tap
    elif g is None:
        raise ValueError(f"{p}: the positional convolution's weight is incomplete")
    hf_pos = "wav2vec2.encoder.pos_conv_embed.conv."
    if hf_pos + "parametrizations.weight.original0" in target:
        out[hf_pos + "parametrizations.weight.original0"] = g
        out[hf_pos + "parametrizations.weight.original1"] = v
    elif hf_pos + "weight_g" in target:
        out[hf_pos + "weight_g"] = g
        out[hf_pos + "weight_v"] = v
    else:  # a transformers without weight norm on this layer
        out[hf_pos + "weight"] = g * v / torch.linalg.vector_norm(v, dim=(0, 1), keepdim=True)
    renames = (
        ("feature_extractor.", "wav2vec2.feature_extractor."),
        ("encoder.feature_projection.", "wav2vec2.feature_projection."),
        (_TR, "wav2vec2.encoder."),
        ("aux.", "lm_head."),
    )
    for key, tensor in rest.items():
        new = next((hf + key[len(ta) :] for ta, hf in renames if key.startswith(ta)), None)
        if new is None or new not in target:
            raise ValueError(f"{p}: not a wav2vec2 model tensor: {key}")
        out[new] = tensor
    missing = sorted(set(target) - set(out))
    if missing:
        raise ValueError(
            f"{p}: the state dict lacks {len(missing)} tensor(s) of the model, e.g. {missing[0]}"
        )
    return out
