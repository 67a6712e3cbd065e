"""The multimodal fusion model zoo: frame classifiers and regressors over time-aligned modalities.

One interface for six kinds (``KINDS``): early, late, tfn, lmf, mult and a unimodal baseline per
modality (the networks and their references are in `studio.models.fusion_blocks`). A `FusionModel`
trains on a list of frame-data objects (`studio.models.framedata.FrameData`: ``features``/``present``
per modality on one frame grid, ``labels``, ``classes``, ``hop``, ``source``; only those attributes are
used) and predicts per frame; it saves to one ``.pt`` file with its `ModelCard`.

Why it is built this way:

* **Training on random windows** (64 frames, 32 per batch, centred on labelled frames): a recording
  is one long sequence, annotated in parts; windows make mini-batches from any number of files of any
  length, and the convolutional/local-attention networks need only local context.
* **Task protocol**: `fit_task` is a `studio.tasks` generator yielding after every optimisation step
  (a few ms on a CPU), so the worker can cancel it at once; ``self.history`` is updated before each
  epoch's yield for a live loss curve. Early stopping on validation loss (or the training loss when no
  validation data is given), restoring the best weights -- also when cancelled.
* **Modality dropout** (whole modalities dropped for a whole window, never all of them) teaches the
  fused models to cope when a modality is missing (no face in view, no transcript yet).
* **Class weights** (inverse frequency, clipped) against imbalance: speech / non-speech and rare
  gestures are the usual case; unlabelled frames (-1 / nan) are ignored by the loss.
* **Chunked prediction**: every output frame depends on a bounded input window (`context` frames),
  so `predict` runs chunks of 4096 frames with that much overlap and returns exactly the frames of a
  whole pass, in memory bounded by the chunk (hours at 25 fps are fine).
* **Deterministic**: initialisation under ``torch.manual_seed(seed)`` in a forked RNG (the caller's
  global state is untouched), window sampling and dropout from ``numpy.random.default_rng(seed)``.
* **One file**: ``torch.save`` of a dict of plain types and tensors (config, state_dict, card), so
  `load` uses ``weights_only=True``.

Parameters and training time per kind on a task where fusion must matter (frame class = XOR of a
bit in each modality): the table in the docstring of ``tests/models/test_fusion.py``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..tasks.base import Progress, Task, run
from .fusion_blocks import build_net

__all__ = ["KINDS", "TASKS", "ModelCard", "FusionModel", "evaluate"]

KINDS = ("early", "late", "tfn", "lmf", "mult", "unimodal")
TASKS = ("frames", "regression")
FORMAT = "studio-fusion-model"
VERSION = 1
WINDOW = 64  # training window, frames
BATCH = 32
CHUNK = 4096  # prediction chunk, frames
YIELD_EVERY = 0.05  # seconds of evaluation work between yields


@dataclass
class ModelCard:
    """What a model is, what it was trained on and how well it does (Mitchell et al. 2019, in small)."""

    name: str
    kind: str
    inputs: dict[str, int]
    classes: list[str] | None
    task: str
    hop: float
    training_data: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    params: int = 0
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCard:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**copy.deepcopy(known))

    def to_markdown(self) -> str:
        lines = [f"# {self.name}", "", f"- kind: {self.kind}", f"- task: {self.task}"]
        lines.append("- inputs: " + ", ".join(f"{m} ({d} dims)" for m, d in self.inputs.items()))
        if self.classes is not None:
            lines.append("- classes: " + ", ".join(self.classes))
        lines += [f"- frame hop: {self.hop:g} s", f"- parameters: {self.params:,}"]
        if self.training_data:
            lines.append("- training data: " + ", ".join(self.training_data))
        if self.metrics:
            lines += ["", "| metric | value |", "| --- | --- |"]
            for k, v in self.metrics.items():
                if isinstance(v, dict):
                    v = ", ".join(f"{kk}: {_fmt(vv)}" for kk, vv in v.items())
                lines.append(f"| {k} | {_fmt(v)} |")
        if self.notes:
            lines += ["", self.notes]
        return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _resolve_device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown torch device {device!r} ({exc})") from None


class FusionModel:
    """A frame classifier ("frames") or regressor ("regression") over the modalities in `inputs`."""

    def __init__(
        self,
        kind: str,
        inputs: dict[str, int],
        *,
        classes: list[str] | None = None,
        task: str = "frames",
        modality: str | None = None,
        hidden: int = 32,
        hop: float = 0.04,
        seed: int = 0,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}; the kinds are {', '.join(KINDS)}")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; the tasks are {', '.join(TASKS)}")
        if not inputs:
            raise ValueError("a model needs at least one input modality")
        for m, d in inputs.items():
            if not isinstance(m, str) or not m or "." in m or "__" in m:
                raise ValueError(f"bad modality name {m!r} (a non-empty name without '.' or '__')")
            if int(d) < 1:
                raise ValueError(f"modality {m!r}: dims must be >= 1, got {d}")
        if task == "frames":
            if classes is None or len(classes) < 2:
                raise ValueError("a frame classification model needs classes (at least two names)")
        elif classes is not None:
            raise ValueError("a regression model has no classes (pass classes=None)")
        if kind == "unimodal":
            if modality not in inputs:
                raise ValueError(f"a unimodal model needs modality= one of {list(inputs)}, got {modality!r}")
        elif modality is not None:
            raise ValueError(f"modality= is for kind 'unimodal' only, not {kind!r}")
        if hidden < 2:
            raise ValueError(f"hidden must be >= 2, got {hidden}")
        self.kind, self.task, self.modality = kind, task, modality
        self.inputs = {m: int(d) for m, d in inputs.items()}
        self.classes = list(classes) if classes is not None else None
        self.hidden, self.hop, self.seed = int(hidden), float(hop), int(seed)
        out = len(self.classes) if self.classes is not None else 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = build_net(kind, self.inputs, self.hidden, out, modality)
        self.device = torch.device("cpu")
        self.history: list[dict[str, Any]] = []
        name = f"{kind}-{modality}" if kind == "unimodal" else kind
        self.card = ModelCard(
            name=name,
            kind=kind,
            inputs=dict(self.inputs),
            classes=None if self.classes is None else list(self.classes),
            task=task,
            hop=self.hop,
            params=self.parameters_count(),
        )

    # ------------------------------------------------------------------------------------ basics

    @property
    def context(self) -> int:
        """Frames of input context on each side that an output frame depends on."""
        return int(self.net.context)

    def parameters_count(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def late_weights(self) -> dict[str, float]:
        """The learned modality weighting of a "late" model (softmax, all modalities present)."""
        if self.kind != "late":
            raise ValueError(f"late_weights() is for 'late' models, this one is {self.kind!r}")
        return self.net.weights()  # type: ignore[operator]

    def to(self, device: Any) -> FusionModel:
        self.device = _resolve_device(device)
        self.net.to(self.device)
        return self

    def config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "inputs": dict(self.inputs),
            "classes": self.classes,
            "task": self.task,
            "modality": self.modality,
            "hidden": self.hidden,
            "hop": self.hop,
            "seed": self.seed,
        }

    # ------------------------------------------------------------------------------------ inputs

    @property
    def _used(self) -> list[str]:
        return [self.modality] if self.kind == "unimodal" else list(self.inputs)  # type: ignore[list-item]

    def _arrays(
        self, features: dict[str, Any], present: dict[str, Any] | None, where: str
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
        """Checked float32 features (nan/inf frames zeroed and marked absent) and bool presence."""
        xs: dict[str, np.ndarray] = {}
        ps: dict[str, np.ndarray] = {}
        T: int | None = None
        for m in self._used:
            if m not in features:
                raise ValueError(f"{where}: modality {m!r} is missing (the model needs {self._used})")
            x = np.asarray(features[m], dtype=np.float32)
            if x.ndim != 2 or x.shape[1] != self.inputs[m]:
                raise ValueError(
                    f"{where}: modality {m!r} features must be (T, {self.inputs[m]}), got shape {x.shape}"
                )
            if T is None:
                T = x.shape[0]
            elif x.shape[0] != T:
                raise ValueError(f"{where}: modality {m!r} has {x.shape[0]} frames, others {T}")
            p = np.ones(T, bool) if present is None or m not in present else np.asarray(present[m])
            if p.shape != (T,):
                raise ValueError(f"{where}: present[{m!r}] must be ({T},), got shape {p.shape}")
            p = p.astype(bool) & np.isfinite(x).all(axis=1)
            xs[m] = np.where(p[:, None], x, 0.0).astype(np.float32)
            ps[m] = p
        assert T is not None
        return xs, ps, T

    def _data_arrays(self, d: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
        where = getattr(d, "source", "") or "frame data"
        hop = getattr(d, "hop", None)
        if hop is not None and not math.isclose(float(hop), self.hop, rel_tol=1e-6):
            raise ValueError(f"{where}: frame hop {hop} s, the model's is {self.hop} s (resample first)")
        return self._arrays(d.features, getattr(d, "present", None), where)

    def _labels(self, d: Any, T: int) -> np.ndarray:
        where = getattr(d, "source", "") or "frame data"
        if d.labels is None:
            raise ValueError(f"{where}: no labels to train or evaluate on")
        y = np.asarray(d.labels)
        if y.shape != (T,):
            raise ValueError(f"{where}: labels must be ({T},), got shape {y.shape}")
        if self.task == "frames":
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"{where}: classification labels must be integer class indices")
            assert self.classes is not None
            data_classes = getattr(d, "classes", None)
            if data_classes is not None and list(data_classes) != self.classes:
                raise ValueError(
                    f"{where}: classes {list(data_classes)} differ from the model's {self.classes}"
                )
            y = y.astype(np.int64)
            if ((y < -1) | (y >= len(self.classes))).any():
                raise ValueError(f"{where}: labels outside -1..{len(self.classes) - 1}")
            return y
        return y.astype(np.float32)

    def _labelled(self, y: np.ndarray) -> np.ndarray:
        return y >= 0 if self.task == "frames" else np.isfinite(y)

    def _tensors(
        self, xs: dict[str, np.ndarray], ps: dict[str, np.ndarray], device: torch.device
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        tx = {m: torch.from_numpy(np.ascontiguousarray(x)).to(device) for m, x in xs.items()}
        tm = {m: torch.from_numpy(p.astype(np.float32)).to(device) for m, p in ps.items()}
        return tx, tm

    # ------------------------------------------------------------------------------------ inference

    def _forward_chunks(
        self, xs: dict[str, np.ndarray], ps: dict[str, np.ndarray], T: int
    ) -> Task[np.ndarray]:
        """Raw outputs (T, out) in chunks with `context` frames of overlap: exact, bounded memory."""
        c = self.context
        out = np.zeros((T, self.net_out), np.float32)
        self.net.eval()
        last = time.perf_counter()
        with torch.no_grad():
            for s in range(0, max(T, 1), CHUNK):
                e = min(T, s + CHUNK)
                a, b = max(0, s - c), min(T, e + c)
                tx, tm = self._tensors(
                    {m: x[a:b][None] for m, x in xs.items()},
                    {m: p[a:b][None] for m, p in ps.items()},
                    self.device,
                )
                y = self.net(tx, tm)[0]
                out[s:e] = y[s - a : s - a + (e - s)].float().cpu().numpy()
                if time.perf_counter() - last > YIELD_EVERY:
                    last = time.perf_counter()
                    yield Progress(e / max(T, 1), "predicting")
        return out

    @property
    def _label_dtype(self) -> type:
        return np.int64 if self.task == "frames" else np.float32

    @property
    def net_out(self) -> int:
        return len(self.classes) if self.classes is not None else 1

    def _finish(self, raw: np.ndarray) -> np.ndarray:
        if self.task == "frames":
            return torch.softmax(torch.from_numpy(raw), dim=-1).numpy()
        scale, shift = (float(b) for b in (self.net.y_std, self.net.y_mean))
        return (raw[:, 0] * scale + shift).astype(np.float32)

    def predict_task(self, data: Any, *, device: Any = None) -> Task[np.ndarray]:
        if device is not None:
            self.to(device)
        xs, ps, T = self._data_arrays(data)
        raw = yield from self._forward_chunks(xs, ps, T)
        return self._finish(raw)

    def predict(self, data: Any, *, device: Any = None) -> np.ndarray:
        """(T, C) class probabilities ("frames") or (T,) values ("regression") for every frame."""
        return run(self.predict_task(data, device=device))

    def predict_window(
        self, features: dict[str, np.ndarray], present: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """`predict` on a short window of frames (live use: the last row is the newest frame). Frames
        more than `context` frames from the window's edges equal those of `predict` on the whole."""
        xs, ps, T = self._arrays(features, present, "window")
        self.net.eval()
        with torch.no_grad():
            tx, tm = self._tensors(
                {m: x[None] for m, x in xs.items()}, {m: p[None] for m, p in ps.items()}, self.device
            )
            raw = self.net(tx, tm)[0].float().cpu().numpy()
        return self._finish(raw)

    # ------------------------------------------------------------------------------------ training

    def fit(self, train: list[Any], **kwargs: Any) -> dict[str, Any]:
        """`fit_task`, run here."""
        return run(self.fit_task(train, **kwargs))

    def fit_task(
        self,
        train: list[Any],
        *,
        val: list[Any] | None = None,
        epochs: int = 60,
        lr: float = 3e-3,
        patience: int = 8,
        device: Any = None,
        modality_dropout: float = 0.2,
    ) -> Task[dict[str, Any]]:
        """Train on `train` (frame-data objects with labels); returns a summary dict (epochs, best_epoch,
        best_val_loss, seconds, stopped_early, history). Yields after every step (cancellable)."""
        return (yield from _fit(self, train, val, epochs, lr, patience, device, modality_dropout))

    # ------------------------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        state = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        self.card.params = self.parameters_count()
        blob = {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config(),
            "state_dict": state,
            "card": self.card.to_dict(),
        }
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".part")
        torch.save(blob, tmp)
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path, device: Any = None) -> FusionModel:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such model file")
        try:
            blob = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and weights_only errors all mean "not ours"
            raise ValueError(f"{p}: not a Studio fusion model file ({type(exc).__name__}: {exc})") from None
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise ValueError(f"{p}: not a Studio fusion model file (no '{FORMAT}' marker)")
        if int(blob.get("version", 0)) > VERSION:
            raise ValueError(
                f"{p}: model file version {blob['version']} is newer than this Studio ({VERSION})"
            )
        try:
            model = cls(**blob["config"])
            model.net.load_state_dict(blob["state_dict"])
            model.card = ModelCard.from_dict(blob["card"])
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise ValueError(f"{p}: damaged Studio fusion model ({exc})") from None
        return model.to(device)


# ------------------------------------------------------------------------------------ training


@dataclass
class _Prepared:
    xs: dict[str, np.ndarray]
    ps: dict[str, np.ndarray]
    y: np.ndarray
    labelled: np.ndarray  # indices of labelled frames
    T: int
    source: str


def _prepare(model: FusionModel, data: list[Any], what: str) -> list[_Prepared]:
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple)):
        raise TypeError(f"{what} must be a list of frame data, got {type(data).__name__}")
    out = []
    for d in data:
        xs, ps, T = model._data_arrays(d)
        y = model._labels(d, T)
        out.append(
            _Prepared(xs, ps, y, np.flatnonzero(model._labelled(y)), T, getattr(d, "source", "") or "")
        )
    if not any(len(p.labelled) for p in out):
        raise ValueError(f"{what}: no labelled frames")
    return out


def _set_statistics(model: FusionModel, prepared: list[_Prepared]) -> None:
    """Input standardisation (and regression target scaling) from the training data's frames."""
    net = model.net
    for m in model._used:
        rows = [p.xs[m][p.ps[m]] for p in prepared]
        x = np.concatenate(rows) if rows else np.zeros((0, model.inputs[m]), np.float32)
        mean = x.mean(0) if len(x) else np.zeros(model.inputs[m])
        std = x.std(0) if len(x) > 1 else np.ones(model.inputs[m])
        std = np.where(std > 1e-6, std, 1.0)
        net.norm[m].mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        net.norm[m].std.copy_(torch.as_tensor(std, dtype=torch.float32))
    if model.task == "regression":
        y = np.concatenate([p.y[p.labelled] for p in prepared]).astype(np.float64)
        net.y_mean.fill_(float(y.mean()))
        net.y_std.fill_(float(y.std()) if y.std() > 1e-9 else 1.0)


def _class_weights(model: FusionModel, prepared: list[_Prepared]) -> torch.Tensor | None:
    """Inverse class frequency, clipped to [0.1, 10] x the mean (classes absent from training get 1)."""
    if model.task != "frames":
        return None
    C = model.net_out
    counts = np.zeros(C)
    for p in prepared:
        counts += np.bincount(p.y[p.labelled], minlength=C)[:C]
    seen = counts > 0
    w = np.ones(C)
    w[seen] = counts[seen].sum() / (seen.sum() * counts[seen])
    w = np.clip(w, 0.1, 10.0)
    return torch.as_tensor(w / w[seen].mean(), dtype=torch.float32)


def _batch(
    model: FusionModel, prepared: list[_Prepared], rng: np.random.Generator, dropout: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """BATCH random windows of WINDOW frames, each around a labelled frame; modality dropout."""
    used = model._used
    sizes = np.array([len(p.labelled) for p in prepared], float)
    files = rng.choice(len(prepared), size=BATCH, p=sizes / sizes.sum())
    xs = {m: np.zeros((BATCH, WINDOW, model.inputs[m]), np.float32) for m in used}
    ps = {m: np.zeros((BATCH, WINDOW), bool) for m in used}
    y = np.full((BATCH, WINDOW), -1 if model.task == "frames" else np.nan, model._label_dtype)
    for b, f in enumerate(files):
        p = prepared[f]
        j = int(p.labelled[rng.integers(len(p.labelled))])
        s = int(np.clip(j - rng.integers(WINDOW), 0, max(0, p.T - WINDOW)))
        e = min(p.T, s + WINDOW)
        for m in used:
            xs[m][b, : e - s] = p.xs[m][s:e]
            ps[m][b, : e - s] = p.ps[m][s:e]
        y[b, : e - s] = p.y[s:e]
    if dropout > 0 and len(used) > 1:
        drop = rng.random((BATCH, len(used))) < dropout
        keep = rng.integers(len(used), size=BATCH)
        drop[np.arange(BATCH), keep] &= drop.sum(1) < len(used)  # never drop every modality
        for i, m in enumerate(used):
            ps[m][drop[:, i]] = False
            xs[m][drop[:, i]] = 0.0
    return xs, ps, y


def _loss(
    model: FusionModel, raw: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    if model.task == "frames":
        return nn.functional.cross_entropy(
            raw.reshape(-1, raw.shape[-1]), y.reshape(-1), weight=weights, ignore_index=-1
        )
    keep = torch.isfinite(y)
    target = (y[keep] - model.net.y_mean) / model.net.y_std
    return nn.functional.mse_loss(raw[..., 0][keep], target)


def _fit(
    model: FusionModel,
    train: list[Any],
    val: list[Any] | None,
    epochs: int,
    lr: float,
    patience: int,
    device: Any,
    modality_dropout: float,
) -> Task[dict[str, Any]]:
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not 0.0 <= modality_dropout < 1.0:
        raise ValueError(f"modality_dropout must be in [0, 1), got {modality_dropout}")
    t0 = time.perf_counter()
    model.to(device if device is not None else model.device)
    dev = model.device
    tr = _prepare(model, train, "training data")
    va = _prepare(model, val, "validation data") if val else []
    with torch.no_grad():
        _set_statistics(model, tr)
    weights = _class_weights(model, tr)
    weights = None if weights is None else weights.to(dev)
    rng = np.random.default_rng(model.seed)
    net = model.net
    gates = [p for n, p in net.named_parameters() if n == "logit_weights"]
    rest = [p for n, p in net.named_parameters() if n != "logit_weights"]
    # late fusion's modality weights: a few scalars, given a 10x rate so they settle with the heads
    groups = [{"params": rest}] + ([{"params": gates, "lr": 10 * lr}] if gates else [])
    opt = torch.optim.Adam(groups, lr=lr)
    n_lab = sum(len(p.labelled) for p in tr)
    steps = int(np.clip(math.ceil(2 * n_lab / (BATCH * WINDOW)), 4, 64))
    model.history = []
    best = math.inf
    best_state = copy.deepcopy(net.state_dict())
    best_epoch, bad, stopped = 0, 0, False
    finished = False
    try:
        for epoch in range(1, epochs + 1):
            net.train()
            total = 0.0
            for step in range(steps):
                xs, ps, y = _batch(model, tr, rng, modality_dropout)
                tx, tm = model._tensors(xs, ps, dev)
                loss = _loss(model, net(tx, tm), torch.from_numpy(y).to(dev), weights)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                total += float(loss.detach())
                yield Progress((epoch - 1 + (step + 1) / steps) / epochs, f"epoch {epoch}/{epochs}")
            train_loss = total / steps
            val_loss = None
            if va:
                val_loss = yield from _val_loss(model, va, weights)
            watched = val_loss if val_loss is not None else train_loss
            if watched < best:
                best, best_epoch, bad = watched, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                bad += 1
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss}
            model.history.append(row)
            yield Progress(epoch / epochs, f"epoch {epoch}/{epochs}: loss {train_loss:.4f}", dict(row))
            if bad >= patience:
                stopped = True
                break
        finished = True
    finally:
        net.load_state_dict(best_state)  # also when cancelled: the best weights so far
        net.eval()
    metrics: dict[str, Any] = {}
    if va:
        preds = []
        for p in va:
            raw = yield from model._forward_chunks(p.xs, p.ps, p.T)
            preds.append(model._finish(raw))
        metrics = _score(model, preds, [p.y for p in va])
    model.card.training_data = [p.source for p in tr]
    model.card.metrics = metrics
    model.card.params = model.parameters_count()
    model.card.notes = (
        f"trained {len(model.history)} epochs (best {best_epoch}), lr {lr:g}, modality dropout "
        f"{modality_dropout:g}; metrics on {'the validation data' if va else 'nothing held out'}"
    )
    assert finished
    return {
        "epochs": len(model.history),
        "best_epoch": best_epoch,
        "best_val_loss": best if va else None,
        "best_train_loss": None if va else best,
        "stopped_early": stopped,
        "seconds": time.perf_counter() - t0,
        "metrics": metrics,
        "history": [dict(h) for h in model.history],
    }


def _val_loss(model: FusionModel, va: list[_Prepared], weights: torch.Tensor | None) -> Task[float]:
    """The loss on all labelled validation frames (whole-sequence predictions, as `predict`)."""
    raws, ys = [], []
    for p in va:
        raw = yield from model._forward_chunks(p.xs, p.ps, p.T)
        raws.append(raw[p.labelled])
        ys.append(p.y[p.labelled])
    with torch.no_grad():
        raw_t = torch.from_numpy(np.concatenate(raws)).to(model.device)
        y_t = torch.from_numpy(np.concatenate(ys)).to(model.device)
        return float(_loss(model, raw_t, y_t, weights))


# ------------------------------------------------------------------------------------ evaluation


def evaluate(model: FusionModel, data: list[Any]) -> dict[str, Any]:
    """Frame metrics on the labelled frames of `data`: accuracy, macro F1 and per-class F1 (classes
    present in the truth or the predictions; F1 of a class is 2PR/(P+R)); MAE, RMSE and Pearson r
    for regression. ``frames`` is the number of labelled frames scored."""
    preds = [model.predict(d) for d in data]
    return _score(model, preds, [model._labels(d, p.shape[0]) for d, p in zip(data, preds, strict=True)])


def _score(model: FusionModel, predictions: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, Any]:
    preds: list[np.ndarray] = []
    truth: list[np.ndarray] = []
    for p, y in zip(predictions, labels, strict=True):
        keep = model._labelled(y)
        preds.append(p[keep])
        truth.append(y[keep])
    if not truth or sum(len(t) for t in truth) == 0:
        raise ValueError("no labelled frames to evaluate on")
    y = np.concatenate(truth)
    if model.task == "regression":
        v = np.concatenate(preds)
        err = v - y
        r = float(np.corrcoef(v, y)[0, 1]) if len(y) > 1 and v.std() > 0 and y.std() > 0 else float("nan")
        return {
            "frames": len(y),
            "mae": float(np.abs(err).mean()),
            "rmse": float(np.sqrt((err**2).mean())),
            "r": r,
        }
    assert model.classes is not None
    yhat = np.concatenate(preds).argmax(axis=1)
    per_class: dict[str, float] = {}
    for c, name in enumerate(model.classes):
        tp = int(((yhat == c) & (y == c)).sum())
        fp = int(((yhat == c) & (y != c)).sum())
        fn = int(((yhat != c) & (y == c)).sum())
        if tp + fp + fn == 0:
            continue  # absent from truth and predictions: undefined, left out of the macro mean
        per_class[name] = 2 * tp / (2 * tp + fp + fn)
    return {
        "frames": len(y),
        "accuracy": float((yhat == y).mean()),
        "macro_f1": float(np.mean(list(per_class.values()))),
        "per_class_f1": per_class,
    }
