"""Train the small bundled CTC model (`studio.models.small_ctc`) from speech every Debian machine has offline.

    python -m studio.models.train_acoustic --out resources/models/small_ctc [--steps N] [--minutes M]

**Data** (all generated or read deterministically from ``--seed``; nothing from ``/work/shared/data``,
whose GRID and conversation recordings are the evaluation corpora):

1. *espeak-ng speech* (`studio.align.espeak.synthesize`): batch ``s`` uses ``numpy.random.default_rng
   ([seed, s])``. Each sentence has 3-10 words; each word is, with probability 0.45, one of the
   function words of `COMMON` and otherwise a word of ``resources/models/words.txt`` (20 000 words drawn
   with seed 0 from CMUdict, ``cmudict-en-us.dict`` of the PocketSphinx 5.1.1 wheel: lower-case
   a-z and apostrophe, 1-14 letters, alternative pronunciations dropped), with probability 0.05 a
   number 0-2000 spelled by `studio.align.text.spell_number`. Voice: one of `VOICES` with, with
   probability 0.6, an espeak variant of `VARIANTS` (``en+f3``); rate 100-280 wpm, pitch 15-85.
2. *Asterisk's English prompts* (Debian ``asterisk-core-sounds-en-wav``, a woman's voice at 8 kHz,
   transcripts in ``core-sounds-en.txt``): words through `studio.align.text.tokenize` (numbers spelled);
   prompts whose transcript has a bracketed description or characters outside the vocabulary are
   skipped; every prompt whose name's CRC32 is 0 mod 10 is held out for evaluation. One
   quarter of each batch (``--real-share``).
3. *PocketSphinx's LibriVox clips* (the 5 read sentences of Debian ``pocketsphinx-testdata`` in
   ``/usr/share/pocketsphinx/test/data/librivox``), when present, with the Asterisk prompts.
   Real recordings longer than 6 s are left out (batches are padded to their longest utterance).

**Augmentation** (per utterance, same rng): 0-0.4 s of silence before and after; with p 0.3 a
room (the speech convolved with an impulse response of Gaussian noise under an exponential decay,
RT60 0.15-0.7 s, mixed 30-100 % wet); with p 0.25 telephone band (4th-order Butterworth 300-3400 Hz
band-pass, then 8 kHz and back); with p 0.6 noise (white, pink or brown) at 0-35 dB SNR; gain -25
to +5 dB (peaks clipped at 1). Real prompts get the same augmentation.

**Training**: CTC loss (Graves et al. 2006), AdamW (lr 2e-3, weight decay 0.01), linear warm-up for
min(300, steps / 10) steps then cosine decay to zero at ``--steps``; batch 16; gradient norm clipped at 5; torch's
deterministic algorithms, ``--threads`` threads, seeded. Batches are generated in a worker process
from their own seeds, so the result depends on ``--seed``, ``--steps`` and the package versions
(espeak-ng, torch), not on timing. (espeak-ng's wave generator carries a phase from one call to the
next -- the same sentence spoken twice in a row differs by up to ~0.07 in amplitude at phone edges --
so a batch's words, voice and augmentation follow from its seed, and its audio from the seed and
the calls before it; the worker process is fresh and makes the same calls in the same order.) ``--minutes`` stops early when the machine is too slow; the steps
run are then in ``config.json`` (the learning-rate schedule stays planned for ``--steps``), and
``--steps N --stop-after K`` repeats such a run exactly.

**Evaluation**: ``python -m studio.models.train_acoustic --evaluate DIR`` prints greedy character error
rates on 100 espeak sentences of seed 999 (clean and augmented) and on the held-out Asterisk prompts.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .small_ctc import SAMPLE_RATE, TOKENS, SmallCTC, logmel, normalize_features, num_output_frames

COMMON = (
    "the of and a to in is you that it he was for on are as with his they i at be this have from or one "
    "had by word but not what all were we when your can said there use an each which she do how their if "
    "will up other about out many then them these so some her would make like him into time has look two "
    "more write go see number no way could people my than first water been call who oil its now find long "
    "down day did get come made may part over new after also just where most know take little only year "
    "very back good give our under name through much before line right too mean old any same tell boy "
    "follow came want show around form three small set put end does another well large must big even such "
    "because turn here why ask went men read need land different home us move try kind hand picture again "
    "change off play spell air away animal house point page letter mother answer found study still learn "
    "should america world please press enter pound key call thank"
).split()
VOICES = (
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
)
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
MAX_SECONDS = 6.0  # longer real prompts are left out, longer espeak sentences skipped (batch padding)
_OK = re.compile(r"^[a-z']+$")


def words_path() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "models" / "words.txt"


def make_word_list(cmudict: Path, out: Path, n: int = 20000) -> None:
    """``words.txt``: `n` words drawn with seed 0 from a CMUdict file (see the module docstring)."""
    words = set()
    for line in cmudict.read_text(encoding="utf-8", errors="replace").splitlines():
        w = line.split(" ", 1)[0]
        if "(" in w or not _OK.match(w) or len(w) > 14:
            continue
        words.add(w)
    pick = np.random.default_rng(0).choice(sorted(words), size=min(n, len(words)), replace=False)
    out.write_text("\n".join(sorted(pick)) + "\n", encoding="utf-8")


def clean_words(text: str) -> list[str] | None:
    """Spoken words of `text` in the model's letters, or None when a word has other characters."""
    from ..align.text import tokenize

    out: list[str] = []
    for w in tokenize(text).spoken_words:
        for part in w.parts:
            p = part.lower().replace("’", "'")
            if not _OK.match(p):
                return None
            out.append(p)
    return out or None


def real_corpus(held_out: bool) -> list[tuple[Path, list[str]]]:
    """(wav, words) of the Asterisk prompts (training or held-out part) and, for training, LibriVox."""
    import gzip

    items: list[tuple[Path, list[str]]] = []
    if ASTERISK_TEXT.is_file():
        with gzip.open(ASTERISK_TEXT, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                if ":" not in line or line.startswith(";"):
                    continue
                name, text = line.split(":", 1)
                name, text = name.strip(), text.strip()
                wav = ASTERISK_DIR / f"{name}.wav"
                if "[" in text or not wav.is_file():
                    continue
                ws = clean_words(text)
                if ws is None:
                    continue
                if (zlib.crc32(name.encode()) % 10 == 0) == held_out:
                    items.append((wav, ws))
    if not held_out and (LIBRIVOX_DIR / "transcription").is_file():
        for line in (LIBRIVOX_DIR / "transcription").read_text().splitlines():
            m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
            if m and (LIBRIVOX_DIR / f"{m.group(2)}.wav").is_file():
                items.append((LIBRIVOX_DIR / f"{m.group(2)}.wav", m.group(1).split()))
    return items


def read_wav16k(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return soxr.resample(x, sr, SAMPLE_RATE).astype(np.float32) if sr != SAMPLE_RATE else x


def draw_sentence(rng: np.random.Generator, words: list[str]) -> tuple[list[str], str, int, int]:
    """A random sentence (3-10 words from `words` and `COMMON`, some spelled numbers) and the voice,
    rate and pitch to say it with (see the module docstring)."""
    from ..align.text import spell_number

    n = int(rng.integers(3, 11))
    sent: list[str] = []
    for _ in range(n):
        u = rng.random()
        if u < 0.05:
            sent += spell_number(int(rng.integers(0, 2001))).replace("-", " ").split()
        elif u < 0.5:
            sent.append(COMMON[int(rng.integers(len(COMMON)))])
        else:
            sent.append(words[int(rng.integers(len(words)))])
    voice = VOICES[int(rng.integers(len(VOICES)))]
    if rng.random() < 0.6:
        voice += "+" + VARIANTS[int(rng.integers(len(VARIANTS)))]
    rate = int(rng.integers(100, 281))
    pitch = int(rng.integers(15, 86))
    return sent, voice, rate, pitch


def espeak_utterance(rng: np.random.Generator, words: list[str]) -> tuple[np.ndarray, list[str]]:
    """Random espeak speech of a sentence drawn from `words` and `COMMON`, at 16 kHz."""
    import soxr

    from ..align import espeak

    sent, voice, rate, pitch = draw_sentence(rng, words)
    syn = espeak.synthesize(sent, voice=voice, rate=rate, pitch=pitch)
    x = soxr.resample(syn.samples, syn.sample_rate, SAMPLE_RATE).astype(np.float32)
    return x, sent


def _colored_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    white = rng.standard_normal(n)
    kind = int(rng.integers(3))
    if kind == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(spec.size, dtype=np.float64) + 1.0
    spec /= f ** (0.5 * kind)  # pink (1/f power) or brown (1/f^2)
    out = np.fft.irfft(spec, n)
    return out / (out.std() + 1e-12)


def augment(rng: np.random.Generator, x: np.ndarray, pad: bool = True) -> np.ndarray:
    """The augmentation of the module docstring (``pad=False``: no silence added, the caller pads)."""
    import scipy.signal as ss
    import soxr

    sr = SAMPLE_RATE
    if pad:
        x = np.concatenate(
            [
                np.zeros(int(rng.uniform(0, 0.4) * sr)),
                x.astype(np.float64),
                np.zeros(int(rng.uniform(0, 0.4) * sr)),
            ]
        )
    else:
        x = x.astype(np.float64)
    if rng.random() < 0.3:
        rt60 = rng.uniform(0.15, 0.7)
        n = int(rt60 * sr)
        t = np.arange(n) / sr
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
        ir[0] = 0.0
        ir /= np.sqrt(np.sum(ir**2)) + 1e-12
        wet = ss.fftconvolve(x, ir)[: x.size]
        mix = rng.uniform(0.3, 1.0)
        x = (1 - mix) * x + mix * wet * (np.std(x) / (np.std(wet) + 1e-12))
    if rng.random() < 0.25:
        sos = ss.butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos")
        x = ss.sosfilt(sos, x)
        x = soxr.resample(soxr.resample(x, sr, 8000), 8000, sr)[: x.size]
    if rng.random() < 0.6:
        snr = rng.uniform(0, 35)
        noise = _colored_noise(rng, x.size)
        power = np.mean(x**2) + 1e-12
        x = x + noise * np.sqrt(power / 10 ** (snr / 10))
    peak = np.max(np.abs(x)) + 1e-9
    x = x / peak * 10 ** (rng.uniform(-25, 5) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def encode_words(words: list[str]) -> list[int]:
    index = {t: i for i, t in enumerate(TOKENS)}
    ids: list[int] = []
    for k, w in enumerate(words):
        if k:
            ids.append(index["|"])
        ids.extend(index[c] for c in w if c in index)
    return ids


class Batches:
    """Batch `step` of the training data (deterministic in (seed, step); see the module docstring)."""

    def __init__(self, seed: int, batch: int, real_share: float) -> None:
        self.seed, self.batch, self.real_share = seed, batch, real_share
        self.words = words_path().read_text(encoding="utf-8").split()
        import soundfile as sf

        self.real = [
            (p, w) for p, w in real_corpus(held_out=False) if sf.info(str(p)).duration <= MAX_SECONDS
        ]
        self._cache: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return 1 << 30

    def __getitem__(self, step: int) -> tuple[Any, Any, Any, Any]:
        import torch

        rng = np.random.default_rng([self.seed, step])
        feats, targets = [], []
        for _ in range(self.batch):
            if self.real and rng.random() < self.real_share:
                path, ws = self.real[int(rng.integers(len(self.real)))]
                if path not in self._cache:
                    self._cache[path] = read_wav16k(path)
                x = self._cache[path]
            else:
                x, ws = espeak_utterance(rng, self.words)
            x = augment(rng, x)
            if x.size > (MAX_SECONDS + 0.8) * SAMPLE_RATE:
                continue
            ids = encode_words(ws)
            if num_output_frames(x.size) < 2 * len(ids) + 1:
                continue
            feats.append(normalize_features(logmel(x)))
            targets.append(torch.tensor(ids, dtype=torch.long))
        T = max(f.shape[1] for f in feats)
        X = torch.zeros(len(feats), feats[0].shape[0], T)
        for i, f in enumerate(feats):
            X[i, :, : f.shape[1]] = f
        in_lens = torch.tensor([-(-f.shape[1] // 2) for f in feats])
        tgt_lens = torch.tensor([t.numel() for t in targets])
        return X, torch.cat(targets), in_lens, tgt_lens


def greedy(lp: Any) -> str:
    """Best-path decoding: frame argmax, repeats merged, blanks removed, "|" as space."""
    ids = lp.argmax(-1).tolist()
    out, prev = [], -1
    for i in ids:
        if i != prev and i != 0:
            out.append(TOKENS[i])
        prev = i
    return "".join(out).replace("|", " ").strip()


def cer(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance, reference length) of two strings (Levenshtein)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def evaluate(path: str | Path, n: int = 100, seed: int = 999) -> dict:
    """Greedy character error rates of the model in `path`: `n` espeak sentences from seed `seed`
    (never a training seed) clean and augmented, and the held-out Asterisk prompts."""
    from .small_ctc import load_small_ctc

    model = load_small_ctc(path, "cpu")
    words = words_path().read_text(encoding="utf-8").split()
    res: dict[str, Any] = {}
    for name, aug in (("espeak_clean", False), ("espeak_augmented", True)):
        e = m = 0
        for i in range(n):
            rng = np.random.default_rng([seed, i])
            x, ws = espeak_utterance(rng, words)
            if aug:
                x = augment(rng, x)
            d, r = cer(" ".join(ws), greedy(model.log_probs(x)))
            e, m = e + d, m + r
        res[name] = {"utterances": n, "cer": e / m}
    e = m = 0
    held = real_corpus(held_out=True)
    for wav, ws in held:
        d, r = cer(" ".join(ws), greedy(model.log_probs(read_wav16k(wav))))
        e, m = e + d, m + r
    res["asterisk_held_out"] = {"utterances": len(held), "cer": e / m if m else float("nan")}
    return res


def train(args: argparse.Namespace) -> dict:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    net = SmallCTC(channels=args.channels, blocks=args.blocks, kernel=args.kernel)
    n_params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    warm = min(300, args.steps // 10)

    def lr_at(s: int) -> float:
        if s < warm:
            return (s + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, args.steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    data = Batches(args.seed, args.batch, args.real_share)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=None,
        sampler=range(args.steps),
        num_workers=1,
        prefetch_factor=4,
        multiprocessing_context="fork",
        worker_init_fn=lambda _: torch.set_num_threads(1),
    )
    t0 = time.time()
    net.train()
    step = 0
    avg = None
    for step, (X, tg, il, tl) in enumerate(loader):
        lp = torch.log_softmax(net(X), dim=-1).transpose(0, 1)  # (T, B, C)
        loss = ctc(lp, tg, il, tl)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        lv = float(loss.detach())
        avg = lv if avg is None else 0.98 * avg + 0.02 * lv
        if step % 50 == 0:
            print(
                f"step {step} loss {avg:.3f} lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f}s",
                flush=True,
            )
        if args.stop_after and step + 1 >= args.stop_after:
            break
        if args.minutes and time.time() - t0 > args.minutes * 60:
            print(f"time budget reached after {step + 1} steps", flush=True)
            break
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.half() if args.float16 and v.is_floating_point() else v for k, v in net.state_dict().items()
    }
    torch.save(state, out / "model.pt")
    cfg = {
        "architecture": net.config,
        "tokens": list(TOKENS),
        "sample_rate": SAMPLE_RATE,
        "frame_duration": 0.02,
        "parameters": n_params,
        "training": {
            "seed": args.seed,
            "steps_planned": args.steps,
            "steps_run": step + 1,
            "batch": args.batch,
            "lr": args.lr,
            "real_share": args.real_share,
            "threads": args.threads,
            "minutes": round((time.time() - t0) / 60, 1),
            "final_loss": avg,
            "torch": torch.__version__,
        },
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return cfg


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(words_path().parent / "small_ctc"))
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    ap.add_argument(
        "--stop-after", type=int, default=0, help="stop after this many steps (the schedule stays --steps)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--real-share", type=float, default=0.25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--kernel", type=int, default=11)
    ap.add_argument("--float16", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--make-words", metavar="CMUDICT", help="write words.txt from a CMUdict file and stop")
    ap.add_argument("--evaluate", metavar="DIR", help="print the character error rates of a trained model")
    args = ap.parse_args(argv)
    if args.evaluate:
        print(json.dumps(evaluate(args.evaluate), indent=2))
        return
    if args.make_words:
        make_word_list(Path(args.make_words), words_path())
        return
    print(json.dumps(train(args), indent=2))


if __name__ == "__main__":
    main()
