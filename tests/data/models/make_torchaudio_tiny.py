"""Make the torchaudio wav2vec2 test checkpoints (tests/models/test_torchaudio_ckpt.py) with real torchaudio.

Needs torchaudio, which Studio's own environment does not have (it pins one torch release), so run
it from a separate venv:

    python3 -m venv /tmp/ta-venv && /tmp/ta-venv/bin/pip install numpy torchaudio==2.11.1
    /tmp/ta-venv/bin/python tests/data/models/make_torchaudio_tiny.py

Writes, beside this script (all seeded, so a rerun with the same versions gives the same files):

* ``torchaudio_tiny.pth`` — the state dict of a tiny random ``torchaudio.models.wav2vec2_model``:
  3 conv layers in ``layer_norm`` mode with bias (strides 5, 2, 2), width 32, 2 pre-norm layers of
  2 heads, 29 outputs (the LibriSpeech ASR labels), like the LV-60K bundles; ``torchaudio_tiny.pth.json``
  its sidecar (heads, labels, conv strides, pre-norm, input normalisation);
  ``torchaudio_tiny_expected.npy`` torchaudio's emissions (log-softmax, normalised input, as
  ``pipelines._wav2vec2.utils._extend_model`` computes them) on `signal()`.
* ``torchaudio_tiny7.pth`` — the standard 7-layer extractor shape (kernels 10,3,3,3,3,2,2) with 8
  channels, ``group_norm``, no conv bias, width 24, 1 post-norm layer of 12 heads, and a 32-row output
  layer as the fairseq-trained bundle files have (torchaudio drops rows 1-3 at load), like
  ``wav2vec2_fairseq_base_ls960_asr_ls960.pth``; no sidecar. ``torchaudio_tiny7_expected.npy``:
  torchaudio's emissions of the model loaded as ``Wav2Vec2ASRBundle.get_model`` loads it (rows
  removed by ``_remove_aux_axes``, raw input), log-softmax.

Every parameter is perturbed from its initial value (norm gains/biases included), so a tensor put
in the wrong place changes the emissions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = ("-", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ")  # torchaudio's LibriSpeech ASR labels


def signal(rate: int = 16000, seconds: float = 1.0) -> np.ndarray:
    """A fixed 1 s test signal: two harmonics, a chirp and deterministic pseudo-noise, float32."""
    t = np.arange(int(rate * seconds), dtype=np.float64) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t) ** 2 + 0.1 * np.sin(2 * np.pi * 330 * t)
    x += 0.1 * np.sin(2 * np.pi * (300 + 1500 * t) * t)
    x += 0.02 * np.sin(1e4 * np.sin(7919.0 * t))
    return x.astype(np.float32)


def _perturb(model, seed: int) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


def _emissions(model, x: np.ndarray, normalize: bool) -> np.ndarray:
    import torch
    from torchaudio.pipelines._wav2vec2.utils import _extend_model

    wrapped = _extend_model(model, normalize_waveform=normalize, apply_log_softmax=True).eval()
    with torch.inference_mode():
        out, _ = wrapped(torch.from_numpy(x)[None])
    return out[0].numpy().astype(np.float32)


def main() -> None:
    import torch
    import torchaudio
    from torchaudio.models import wav2vec2_model
    from torchaudio.pipelines._wav2vec2.utils import _remove_aux_axes

    x = signal()
    common = dict(
        encoder_projection_dropout=0.0,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_drop=0.0,
    )

    conv = [(16, 10, 5), (16, 3, 2), (16, 3, 2)]
    torch.manual_seed(0)
    tiny = wav2vec2_model(
        extractor_mode="layer_norm",
        extractor_conv_layer_config=conv,
        extractor_conv_bias=True,
        encoder_embed_dim=32,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=2,
        encoder_num_heads=2,
        encoder_ff_interm_features=64,
        encoder_layer_norm_first=True,
        aux_num_out=len(LABELS),
        **common,
    ).eval()
    _perturb(tiny, 1)
    torch.save(tiny.state_dict(), HERE / "torchaudio_tiny.pth")
    sidecar = {
        "num_heads": 2,
        "labels": list(LABELS),
        "extractor_conv_layer_config": [list(c) for c in conv],
        "encoder_layer_norm_first": True,
        "normalize_waveform": True,
    }
    (HERE / "torchaudio_tiny.pth.json").write_text(
        json.dumps(sidecar, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    np.save(HERE / "torchaudio_tiny_expected.npy", _emissions(tiny, x, normalize=True))

    conv7 = [(8, 10, 5), (8, 3, 2), (8, 3, 2), (8, 3, 2), (8, 3, 2), (8, 2, 2), (8, 2, 2)]
    params7 = dict(
        extractor_mode="group_norm",
        extractor_conv_layer_config=conv7,
        extractor_conv_bias=False,
        encoder_embed_dim=24,
        encoder_pos_conv_kernel=8,
        encoder_pos_conv_groups=4,
        encoder_num_layers=1,
        encoder_num_heads=12,
        encoder_ff_interm_features=48,
        encoder_layer_norm_first=False,
        **common,
    )
    torch.manual_seed(2)
    raw = wav2vec2_model(**params7, aux_num_out=len(LABELS) + 3)  # fairseq dictionary: + <s>, <pad>, </s>
    _perturb(raw, 3)
    state = raw.state_dict()
    torch.save(state, HERE / "torchaudio_tiny7.pth")
    state = {k: v.clone() for k, v in state.items()}
    _remove_aux_axes(state, (1, 2, 3))  # what Wav2Vec2ASRBundle.get_model does with the download
    asr = wav2vec2_model(**params7, aux_num_out=len(LABELS))
    asr.load_state_dict(state)
    np.save(HERE / "torchaudio_tiny7_expected.npy", _emissions(asr.eval(), x, normalize=False))
    print(
        f"torch {torch.__version__}, torchaudio {torchaudio.__version__}: wrote",
        *sorted(HERE.glob("torchaudio_tiny*")),
    )


if __name__ == "__main__":
    main()
