"""Train the bundled phone-frame model (`studio.models.phone_frames`) from speech every Debian machine has offline.

    python -m studio.models.train_phones [--out resources/models/phone_frames] [--steps 900 --steps2 400]

Two rounds, each deterministic in ``--seed`` (batches are generated in a worker process from their
own seeds, as in `studio.models.train_acoustic`, whose data and augmentation this reuses):

1. **Synthetic speech with exact labels.** Sentences of `train_acoustic.espeak_utterance`'s kind
   (3-10 words from ``resources/models/words.txt`` and common words, 8 English voices with variants,
   100-280 wpm, pitch 15-85), labelled per 10 ms frame with the espeak phone under the frame's
   centre (`phone_frames.phone_class`), silence elsewhere; 0-0.4 s of silence before and after, then
   the augmentation of `train_acoustic.augment` (room, telephone band, noise, gain). ``--steps``
   batches of 16, cross-entropy (label smoothing 0.05), AdamW 2e-3, warm-up then cosine decay.
2. **Real speech labelled by round 1.** The Asterisk prompts and PocketSphinx LibriVox clips of
   `train_acoustic.real_corpus` (held-out prompts excluded) are aligned to their transcripts with
   round 1's model (`studio.align.phone_hmm.align_phones`, the transcript's phones from espeak
   ``en-us``), and those frame labels are mixed in (``--real-share`` 0.3 of each batch) while
   round 1's model trains on for ``--steps2`` batches at ``--lr2``.

The class priors stored with the model are the label frequencies of the training batches (the
aligner divides posteriors by them). ``--evaluate DIR`` prints frame accuracy on 60 held-out espeak
sentences (seed 999, clean and augmented).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .phone_frames import PHONES, SILENCE, PhoneNet, phone_class
from .small_ctc import HOP, SAMPLE_RATE, logmel, normalize_features
from .train_acoustic import (
    MAX_SECONDS,
    augment,
    draw_sentence,
    read_wav16k,
    real_corpus,
    words_path,
)


def frame_labels(num_samples: int, phones: list[tuple[float, float, int]], offset: float = 0.0) -> np.ndarray:
    """Per 10 ms frame (``ceil(N / 160)``) the class of the phone under the frame's centre (sample
    ``160 j + 200``), silence outside every phone; `phones` are (start s, end s, class)."""
    T = max(1, -(-int(num_samples) // HOP))
    centres = (np.arange(T) * HOP + 200) / SAMPLE_RATE - offset
    lab = np.full(T, SILENCE, np.int64)
    for s, e, c in phones:
        lab[(centres >= s) & (centres < e)] = c
    return lab


def espeak_labelled(
    rng: np.random.Generator, words: list[str]
) -> tuple[np.ndarray, list[tuple[float, float, int]]]:
    """Random espeak speech at 16 kHz and its phones (start, end, class), as `espeak_utterance`."""
    import soxr

    from ..align import espeak

    sent, voice, rate, pitch = draw_sentence(rng, words)
    syn = espeak.synthesize(sent, voice=voice, rate=rate, pitch=pitch)
    x = soxr.resample(syn.samples, syn.sample_rate, SAMPLE_RATE).astype(np.float32)
    return x, closures_to_stops(
        syn.samples, syn.sample_rate, [(p.start, p.end, phone_class(p.symbol)) for p in syn.phones]
    )


STOPS = frozenset(PHONES.index(p) for p in ("p", "b", "t", "d", "k", "g", "ch", "jh"))


def closures_to_stops(
    samples: np.ndarray, rate: int, phones: list[tuple[float, float, int]], max_closure: float = 0.15
) -> list[tuple[float, float, int]]:
    """espeak-ng ends the phone before a stop with the stop's closure (silent samples); phoneticians
    (TIMIT, HTK-aligned corpora such as GRID, Praat users) count the closure as part of the stop. Move
    each stop's start back over the silence at the end of the phone right before it (at most
    `max_closure` s, leaving that phone at least 20 ms)."""
    out = [list(p) for p in phones]
    step = max(1, int(0.0025 * rate))
    for i in range(1, len(out)):
        s, _, c = out[i]
        ps, pe, _ = out[i - 1]
        if c not in STOPS or abs(pe - s) > 1e-4:
            continue
        t = int(round(s * rate))
        floor = int(round(max(ps + 0.02, s - max_closure) * rate))
        while (
            t - step >= floor and np.sqrt(np.mean(np.square(samples[t - step : t], dtype=np.float64))) < 1e-3
        ):
            t -= step
        if t < int(round(s * rate)):
            out[i][0] = out[i - 1][1] = t / rate
    return [(a, b, c) for a, b, c in out]


def transcript_phones(words: list[str], voice: str = "en-us") -> list[list[int]]:
    """Each word's phone classes as espeak ``voice`` says the sentence."""
    from ..align import espeak

    syn = espeak.synthesize(words, voice=voice)
    out: list[list[int]] = [[] for _ in words]
    for p in syn.phones:
        if 0 <= p.word < len(out):
            out[p.word].append(phone_class(p.symbol))
    return out


class Batches:
    """Batch `step`: (features (B, F, T), labels (B, T) with -100 for padding); see the docstring."""

    def __init__(self, seed: int, batch: int, real: list[tuple[Path, np.ndarray]], real_share: float) -> None:
        self.seed, self.batch, self.real, self.real_share = seed, batch, real, real_share
        self.words = words_path().read_text(encoding="utf-8").split()
        self._cache: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, step: int) -> tuple[Any, Any]:
        import torch

        rng = np.random.default_rng([self.seed, step])
        feats, labels = [], []
        while len(feats) < self.batch:
            pre, post = rng.uniform(0, 0.4), rng.uniform(0, 0.4)
            if self.real and rng.random() < self.real_share:
                path, lab = self.real[int(rng.integers(len(self.real)))]
                if path not in self._cache:
                    self._cache[path] = read_wav16k(path)
                x = self._cache[path]
                n0, n1 = int(pre * SAMPLE_RATE / HOP), int(post * SAMPLE_RATE / HOP)
                x = np.concatenate([np.zeros(n0 * HOP, np.float32), x, np.zeros(n1 * HOP, np.float32)])
                lab = np.concatenate([np.zeros(n0, np.int64), lab, np.zeros(n1, np.int64)])
            else:
                x, phones = espeak_labelled(rng, self.words)
                if x.size > MAX_SECONDS * SAMPLE_RATE:
                    continue
                n0, n1 = int(pre * SAMPLE_RATE), int(post * SAMPLE_RATE)
                x = np.concatenate([np.zeros(n0, np.float32), x, np.zeros(n1, np.float32)])
                lab = frame_labels(x.size, phones, offset=n0 / SAMPLE_RATE)
            x = augment(rng, x, pad=False)
            f = normalize_features(logmel(x))
            T = min(f.shape[1], lab.size)
            feats.append(f[:, :T])
            labels.append(torch.from_numpy(lab[:T].copy()))
        T = max(f.shape[1] for f in feats)
        X = torch.zeros(len(feats), feats[0].shape[0], T)
        Y = torch.full((len(feats), T), -100, dtype=torch.long)
        for i, (f, y) in enumerate(zip(feats, labels)):
            X[i, :, : f.shape[1]] = f
            Y[i, : y.numel()] = y
        return X, Y


def label_real(model_dir: Path, limit: int = 0, log: Any = print) -> list[tuple[Path, np.ndarray]]:
    """Frame labels of the real training corpus, from aligning each transcript with `model_dir`'s model."""
    from ..align.phone_hmm import align_phones
    from .phone_frames import load_phone_model

    model = load_phone_model(model_dir)
    out = []
    corpus = real_corpus(held_out=False)
    if limit:
        corpus = corpus[:limit]
    for k, (path, words) in enumerate(corpus):
        x = read_wav16k(path)
        if x.size > MAX_SECONDS * SAMPLE_RATE or x.size < 4000:
            continue
        try:
            # the settings the shipped model's labels were made with (not the aligner's later defaults)
            res = align_phones(
                x, [transcript_phones(words)], model, prior_weight=0.3, skip_penalty=4.0, silence_penalty=0.0
            )
        except ValueError:
            continue
        lab = np.full(model.num_frames(x.size), SILENCE, np.int64)
        for w in res.words:
            for a, b, c in w.frames:
                lab[a:b] = c
        out.append((path, lab))
        if k % 100 == 0:
            log(f"labelled {k + 1} of {len(corpus)} real recordings")
    return out


def train_round(
    args: argparse.Namespace, out: Path, steps: int, lr: float, real: list, init: Path | None, seed: int
) -> dict:
    import torch

    torch.manual_seed(seed)
    torch.set_flush_denormal(True)  # a run once stalled for minutes in one backward pass (subnormal floats)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    net = PhoneNet(channels=args.channels, blocks=args.blocks, kernel=args.kernel)
    if init is not None:
        state = torch.load(init / "model.pt", map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() for k, v in state.items()})
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    warm = min(200, steps // 10)

    def lr_at(s: int) -> float:
        if s < warm:
            return (s + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.05)
    data = Batches(seed, args.batch, real, args.real_share if real else 0.0)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=None,
        sampler=range(steps),
        num_workers=1,
        prefetch_factor=4,
        multiprocessing_context="fork",
        worker_init_fn=lambda _: torch.set_num_threads(1),
    )
    counts = np.ones(len(PHONES))
    t0 = time.time()
    net.train()
    avg = acc = None
    step = 0
    for step, (X, Y) in enumerate(loader):
        logits = net(X)
        loss = ce(logits.reshape(-1, len(PHONES)), Y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        valid = Y >= 0
        counts += np.bincount(Y[valid].numpy(), minlength=len(PHONES))
        a = float((logits.argmax(-1)[valid] == Y[valid]).float().mean())
        lv = float(loss.detach())
        avg = lv if avg is None else 0.98 * avg + 0.02 * lv
        acc = a if acc is None else 0.98 * acc + 0.02 * a
        if step % 50 == 0:
            print(f"step {step} loss {avg:.3f} frame acc {acc:.3f} {time.time() - t0:.0f}s", flush=True)
        if args.minutes and time.time() - t0 > args.minutes * 60:
            print(f"time budget reached after {step + 1} steps", flush=True)
            break
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    torch.save(state, out / "model.pt")
    cfg = {
        "architecture": net.config,
        "phones": list(PHONES),
        "priors": [round(float(c), 6) for c in counts / counts.sum()],
        "sample_rate": SAMPLE_RATE,
        "frame_duration": HOP / SAMPLE_RATE,
        "parameters": sum(p.numel() for p in net.parameters()),
        "training": {
            "seed": seed,
            "steps_planned": steps,
            "steps_run": step + 1,
            "batch": args.batch,
            "lr": lr,
            "real_recordings": len(real),
            "real_share": args.real_share if real else 0.0,
            "threads": args.threads,
            "minutes": round((time.time() - t0) / 60, 1),
            "final_loss": avg,
            "final_frame_accuracy": acc,
            "torch": torch.__version__,
        },
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return cfg


def evaluate(path: str | Path, n: int = 60, seed: int = 999) -> dict:
    """Frame accuracy on `n` held-out espeak sentences, clean and augmented."""
    from ..tasks.base import run as run_task
    from .phone_frames import load_phone_model

    model = load_phone_model(path)
    words = words_path().read_text(encoding="utf-8").split()
    hits = {"clean": [0, 0], "augmented": [0, 0]}
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        x, phones = espeak_labelled(rng, words)
        for kind, y in (("clean", x), ("augmented", augment(rng, x, pad=False))):
            lab = frame_labels(y.size, phones)
            lp = run_task(model.log_posteriors_task(y))
            hits[kind][0] += int((lp.argmax(1)[: lab.size] == lab[: len(lp)]).sum())
            hits[kind][1] += min(lab.size, len(lp))
    return {k: round(h / max(1, t), 4) for k, (h, t) in hits.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(words_path().parent / "phone_frames"))
    ap.add_argument("--steps", type=int, default=900, help="round 1 batches (synthetic speech)")
    ap.add_argument("--steps2", type=int, default=400, help="round 2 batches (with labelled real speech)")
    ap.add_argument("--rounds", type=int, default=2, choices=(1, 2))
    ap.add_argument("--init", help="skip round 1: start round 2 from this model folder")
    ap.add_argument(
        "--minutes", type=float, default=0.0, help="stop each round after this long (0: no limit)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr2", type=float, default=5e-4)
    ap.add_argument("--real-share", type=float, default=0.3)
    ap.add_argument("--max-real", type=int, default=0, help="label only this many real recordings (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--kernel", type=int, default=11)
    ap.add_argument("--evaluate", metavar="DIR", help="print the frame accuracy of a trained model")
    args = ap.parse_args(argv)
    if args.evaluate:
        print(json.dumps(evaluate(args.evaluate), indent=2))
        return
    out = Path(args.out)
    first = Path(args.init) if args.init else out.with_name(out.name + ".round1")
    if not args.init:
        print(json.dumps(train_round(args, first, args.steps, args.lr, [], None, args.seed), indent=2))
    if args.rounds == 2:
        real = label_real(first, args.max_real)
        print(f"round 2: {len(real)} real recordings labelled by round 1", flush=True)
        print(json.dumps(train_round(args, out, args.steps2, args.lr2, real, first, args.seed + 1), indent=2))


if __name__ == "__main__":
    main()
