"""The torch networks behind `studio.models.fusion`: encoders, the five fusion blocks, the frame head.

Every network maps per-modality frame tensors to per-frame outputs::

    net(xs, ms) -> (B, T, out)      xs[m]: (B, T, d_m) float, ms[m]: (B, T) float (1 = present)

and has the same shape of parts: standardisation (train-set mean and deviation, stored as buffers so
a saved model carries them), a temporal encoder per modality (two 1-D convolutions over frames, the
presence flag as one more input channel so the net can tell "absent" from "zero"), a fusion block,
and a frame head. Absent frames are zeroed before anything sees them.

Every output frame depends on a bounded window of input frames (`context`, the receptive radius):
convolutions have finite kernels and the cross-modal attention is local (a band of ``window`` frames
on each side). That bound is what lets `FusionModel.predict` run hours of frames in chunks, with
`context` frames of overlap, and get exactly the frames of one whole pass.

Fusion blocks (the literature names; the small sizes are ours, for per-frame CPU training):

* ``early``: feature-level fusion -- the standardised inputs of all modalities, with their presence
  flags, concatenated per frame and encoded by one joint temporal encoder.
* ``late``: decision-level fusion -- one encoder and head per modality, their outputs mixed with
  learned softmax weights over the modalities present at that frame (absent ones get weight 0,
  the rest renormalised): a mixture of the class distributions (classification) or a weighted mean
  (regression). Each weight is a global learned logit plus a per-frame gate (a linear map of that
  modality's own encoding, zero at the start), so a stretch where one modality is unreliable (noise
  over the audio) can lean on the other there only; `LateNet.weights` reads the global part. With
  global weights alone, the speech-activity model put 0.99 on the video everywhere (F1 0.756 on clean
  GRID, below audio alone); with the gates 0.796.
* ``tfn``: Tensor Fusion Network (Zadeh et al. 2017): the outer product of the ``[h_m; 1]`` vectors
  of all modalities (unimodal, bimodal and trimodal terms at once), flattened, then an MLP. ``h_m``
  is kept small (`tfn_dim`, 4-16) so the product stays small (9^3 = 729 for three modalities).
* ``lmf``: Low-rank Multimodal Fusion (Liu et al. 2018): the same tensor product, never formed --
  rank-``r`` modality-specific factors of the weight tensor, ``sum_r prod_m ([h_m; 1] W_m^(r))``.
* ``mult``: a small MulT (Tsai et al. 2019): each modality's sequence attends to every other
  modality's sequence over time (cross-modal attention, 1-2 heads, a local band), with a residual;
  the attended sequences are concatenated for the head. The band is computed as a sliding window
  (memory O(T W)); a null key/value (attending to nothing) keeps a frame whose whole band is absent
  well defined.
* ``unimodal``: one modality's encoder and the head: the baseline each fusion must beat.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "Standardize",
    "Encoder",
    "Head",
    "EarlyNet",
    "LateNet",
    "TFNNet",
    "LMFNet",
    "MulTNet",
    "UnimodalNet",
    "build_net",
    "tfn_dim",
]

KERNEL = 5  # encoder convolution width: 2 frames of context each side per layer
ENCODER_RADIUS = 2 * (KERNEL // 2)  # two layers
MULT_WINDOW = 8  # cross-modal attention band, frames each side
LMF_RANK = 4
DENSE_UP_TO = 128  # attention over all pairs (band-masked) up to this many frames, else sliding


def tfn_dim(hidden: int) -> int:
    """The per-modality width of the tensor fusion vectors: small, so the product stays small."""
    return max(4, min(16, hidden // 4))


class Standardize(nn.Module):
    """(x - mean) / std, then absent frames zeroed; mean and std are buffers set from training data."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std * m.unsqueeze(-1)


class Encoder(nn.Module):
    """Two 1-D convolutions over frames (+GELU): (B, T, d) features and (B, T) mask -> (B, T, hidden)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dim + 1, hidden, KERNEL, padding=KERNEL // 2)
        self.conv2 = nn.Conv1d(hidden, hidden, KERNEL, padding=KERNEL // 2)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        z = torch.cat([x, m.unsqueeze(-1)], dim=-1).transpose(1, 2)  # (B, d+1, T)
        z = self.act(self.conv1(z))
        z = self.act(self.conv2(z))
        return z.transpose(1, 2)


class Head(nn.Module):
    """The per-frame MLP head: (B, T, d) -> (B, T, out)."""

    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, out))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class _Base(nn.Module):
    context = ENCODER_RADIUS

    def __init__(self, inputs: dict[str, int]) -> None:
        super().__init__()
        self.names = list(inputs)
        self.norm = nn.ModuleDict({m: Standardize(d) for m, d in inputs.items()})
        # regression targets are learned standardised: value = output * y_std + y_mean
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))

    def _std(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {m: self.norm[m](xs[m], ms[m]) for m in self.names}


class EarlyNet(_Base):
    def __init__(self, inputs: dict[str, int], hidden: int, out: int) -> None:
        super().__init__(inputs)
        total = sum(d + 1 for d in inputs.values()) - 1  # the encoder adds one flag channel itself
        self.encoder = Encoder(total, hidden)
        self.head = Head(hidden, hidden, out)

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        zs = self._std(xs, ms)
        parts: list[torch.Tensor] = []
        for i, m in enumerate(self.names):
            parts.append(zs[m])
            if i:  # the first modality's flag is the encoder's own flag channel
                parts.append(ms[m].unsqueeze(-1))
        return self.head(self.encoder(torch.cat(parts, dim=-1), ms[self.names[0]]))


class LateNet(_Base):
    def __init__(self, inputs: dict[str, int], hidden: int, out: int) -> None:
        super().__init__(inputs)
        self.encoders = nn.ModuleDict({m: Encoder(d, hidden) for m, d in inputs.items()})
        self.heads = nn.ModuleDict({m: Head(hidden, hidden, out) for m in inputs})
        self.logit_weights = nn.Parameter(torch.zeros(len(inputs)))
        # per-frame reliability: each modality's own encoding moves its weight at that frame (a noisy
        # stretch of audio can hand over to the video there, not everywhere); zero at the start
        self.gates = nn.ModuleDict({m: nn.Linear(hidden, 1) for m in inputs})
        for g in self.gates.values():
            nn.init.zeros_(g.weight)
            nn.init.zeros_(g.bias)
        self.mix_probabilities = out > 1

    def weights(self) -> dict[str, float]:
        """The learned global weighting (softmax over modalities, all present), before the per-frame gates."""
        w = torch.softmax(self.logit_weights.detach().float().cpu(), 0)
        return {m: float(w[i]) for i, m in enumerate(self.names)}

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        zs = self._std(xs, ms)
        hs = {m: self.encoders[m](zs[m], ms[m]) for m in self.names}
        outs = torch.stack([self.heads[m](hs[m]) for m in self.names], dim=-2)
        present = torch.stack([ms[m] for m in self.names], dim=-1) > 0.5  # (B, T, M)
        gate = torch.cat([self.gates[m](hs[m]) for m in self.names], dim=-1)  # (B, T, M)
        logits = self.logit_weights + gate
        logw = torch.log_softmax(logits.masked_fill(~present, float("-inf")), dim=-1)
        logw = torch.nan_to_num(logw, nan=0.0, neginf=-1e9)  # no modality present: uniform, see below
        if self.mix_probabilities:
            # a mixture of the modalities' class distributions, returned as log-probabilities (softmax of
            # them gives the mixture back); a weight can only grow by being right, so it is readable
            mixed = torch.logsumexp(logw.unsqueeze(-1) + torch.log_softmax(outs, dim=-1), dim=-2)
        else:
            mixed = (outs * logw.exp().unsqueeze(-1)).sum(-2)
        return mixed * present.any(-1, keepdim=True)  # no modality present: zeros (uniform / the mean)


class TFNNet(_Base):
    def __init__(self, inputs: dict[str, int], hidden: int, out: int) -> None:
        super().__init__(inputs)
        k = tfn_dim(hidden)
        self.encoders = nn.ModuleDict({m: Encoder(d, hidden) for m, d in inputs.items()})
        self.down = nn.ModuleDict({m: nn.Linear(hidden, k) for m in inputs})
        self.head = Head((k + 1) ** len(inputs), hidden, out)

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        zs = self._std(xs, ms)
        z: torch.Tensor | None = None
        for m in self.names:
            h = self.down[m](self.encoders[m](zs[m], ms[m])) * ms[m].unsqueeze(-1)
            h1 = torch.cat([h, torch.ones_like(h[..., :1])], dim=-1)  # [h; 1]
            z = h1 if z is None else (z.unsqueeze(-1) * h1.unsqueeze(-2)).flatten(-2)
        assert z is not None
        return self.head(z)


class LMFNet(_Base):
    def __init__(self, inputs: dict[str, int], hidden: int, out: int, rank: int = LMF_RANK) -> None:
        super().__init__(inputs)
        self.rank, self.hidden = rank, hidden
        self.encoders = nn.ModuleDict({m: Encoder(d, hidden) for m, d in inputs.items()})
        # [h; 1] W: the affine map is the factor applied to h with the 1 appended
        self.factors = nn.ModuleDict({m: nn.Linear(hidden, rank * hidden) for m in inputs})
        self.rank_weights = nn.Parameter(torch.full((rank,), 1.0 / rank))
        self.head = Head(hidden, hidden, out)

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        zs = self._std(xs, ms)
        prod: torch.Tensor | None = None
        for m in self.names:
            h = self.encoders[m](zs[m], ms[m]) * ms[m].unsqueeze(-1)
            f = self.factors[m](h).unflatten(-1, (self.rank, self.hidden))  # (B, T, r, hidden)
            prod = f if prod is None else prod * f
        assert prod is not None
        fused = (prod * self.rank_weights[:, None]).sum(-2)
        return self.head(fused)


class CrossAttention(nn.Module):
    """Queries from one modality, keys/values from another, within a band of `window` frames."""

    def __init__(self, hidden: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.q = nn.Linear(hidden, hidden)
        self.kv = nn.Linear(hidden, 2 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, hq: torch.Tensor, hk: torch.Tensor, mk: torch.Tensor) -> torch.Tensor:
        B, T, H = hq.shape
        nh, dh, W = self.heads, H // self.heads, self.window
        q = self.q(self.norm(hq)).view(B, T, nh, dh).transpose(1, 2)  # (B, nh, T, dh)
        kv = self.kv(self.norm(hk)) * mk.unsqueeze(-1)
        if T <= DENSE_UP_TO:  # short windows (training): the band as a mask on all pairs is faster
            k, v = kv.view(B, T, 2, nh, dh).permute(2, 0, 3, 1, 4)  # (B, nh, T, dh)
            scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (B, nh, T, T)
            idx = torch.arange(T, device=hq.device)
            valid = ((idx[:, None] - idx[None, :]).abs() <= W)[None] & (mk[:, None, :] > 0.5)  # (B, T, T)
        else:  # the band as a sliding window: memory O(T W), not O(T^2), so chunks can be long
            kv = nn.functional.pad(kv, (0, 0, W, W)).unfold(1, 2 * W + 1, 1)  # (B, T, 2H, 2W+1)
            k, v = kv.reshape(B, T, 2, nh, dh, 2 * W + 1).permute(2, 0, 3, 1, 5, 4)  # (B, nh, T, 2W+1, dh)
            scores = (k @ q.unsqueeze(-1)).squeeze(-1) / math.sqrt(dh)  # (B, nh, T, 2W+1)
            valid = nn.functional.pad(mk, (W, W)).unfold(1, 2 * W + 1, 1) > 0.5  # (B, T, 2W+1)
        scores = scores.masked_fill(~valid[:, None], float("-inf"))
        null = torch.zeros_like(scores[..., :1])  # the null key: attend to nothing, value 0
        att = torch.softmax(torch.cat([scores, null], dim=-1), dim=-1)[..., :-1]
        if T <= DENSE_UP_TO:
            y = att @ v  # (B, nh, T, dh)
        else:
            y = (att.unsqueeze(-2) @ v).squeeze(-2)
        return hq + self.out(y.transpose(1, 2).reshape(B, T, H))


class MulTNet(_Base):
    context = ENCODER_RADIUS + MULT_WINDOW

    def __init__(self, inputs: dict[str, int], hidden: int, out: int) -> None:
        super().__init__(inputs)
        heads = 2 if hidden % 2 == 0 else 1
        self.encoders = nn.ModuleDict({m: Encoder(d, hidden) for m, d in inputs.items()})
        self.pairs = [(a, b) for a in self.names for b in self.names if a != b] or [
            (self.names[0], self.names[0])
        ]
        self.cross = nn.ModuleDict(
            {f"{a}__{b}": CrossAttention(hidden, heads, MULT_WINDOW) for a, b in self.pairs}
        )
        self.head = Head(hidden * len(self.pairs), hidden, out)

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        zs = self._std(xs, ms)
        hs = {m: self.encoders[m](zs[m], ms[m]) * ms[m].unsqueeze(-1) for m in self.names}
        ys = [self.cross[f"{a}__{b}"](hs[a], hs[b], ms[b]) for a, b in self.pairs]
        return self.head(torch.cat(ys, dim=-1))


class UnimodalNet(_Base):
    def __init__(self, inputs: dict[str, int], hidden: int, out: int, modality: str) -> None:
        super().__init__({modality: inputs[modality]})
        self.modality = modality
        self.encoder = Encoder(inputs[modality], hidden)
        self.head = Head(hidden, hidden, out)

    def forward(self, xs: dict[str, torch.Tensor], ms: dict[str, torch.Tensor]) -> torch.Tensor:
        m = self.modality
        return self.head(self.encoder(self.norm[m](xs[m], ms[m]), ms[m]))


def build_net(kind: str, inputs: dict[str, int], hidden: int, out: int, modality: str | None) -> _Base:
    """The network for `kind` (validated by the caller)."""
    if kind == "early":
        return EarlyNet(inputs, hidden, out)
    if kind == "late":
        return LateNet(inputs, hidden, out)
    if kind == "tfn":
        return TFNNet(inputs, hidden, out)
    if kind == "lmf":
        return LMFNet(inputs, hidden, out)
    if kind == "mult":
        return MulTNet(inputs, hidden, out)
    assert kind == "unimodal" and modality is not None
    return UnimodalNet(inputs, hidden, out, modality)
