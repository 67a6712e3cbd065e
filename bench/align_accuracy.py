"""Benchmark: transcript ↔ speech alignment accuracy and speed on real speech, against the peers.

    python bench/align_accuracy.py [--cases grid,conversation,espeak,long] [--repeats 120]
                                   [--methods ours-hmm,ours,ours-mfcc,ours-ctc,pocketsphinx,aeneas] [--json out.json]

Cases (`bench/_align_refs.py`), every reference made outside this project:

1. GRID ``swwp2s``: word times from the corpus's ``.align`` file; word level.
2. A two-speaker telephone conversation (pyannote-audio sample, 13 timed utterances in its
   ``.stm``): utterance level, i.e. the start of each utterance's first word and the end of its last.
3. espeak-ng voice ``en-us`` at 150 wpm as the "recording", with espeak's exact word times; our
   aligner synthesizes with its default voice ``en`` at its own rate, so the voices differ. Word level.
4. ``long``: the conversation repeated to an hour (``--repeats 120``), our aligner only, in a fresh
   process: real-time factor, peak RSS (VmHWM) and the time of each stage.

Methods, all given the same audio and the same normalised words (``studio.align.text.tokenize``):

- ``ours-hmm``: ``studio.align.hmm_aligner.hmm_align`` with the bundled phone model (the default of
  ``studio align`` for English); ``ours``: ``studio.align.tts_dtw.align_tts`` with its defaults (log-mel); ``ours-mfcc`` the same
  with ``features="mfcc"``; ``ours-ctc``: ``studio.align.ctc_aligner.ctc_align`` with Studio's
  bundled acoustic model (``studio.models.small_ctc``), star token on.
- ``pocketsphinx``: PocketSphinx 5 (Huggins-Daines et al. 2006) with its bundled US-English
  acoustic model and CMUdict, in forced-alignment mode (``Decoder(lm=None)``, default beams,
  ``set_align_text``, one utterance over the whole file fed in 4096-sample blocks, ``seg()`` word
  frames at 100 frames/s). Fed whole with ``process_raw(..., full_utt=True)`` instead, its search
  lost the forced path on both 30 s files (no result, or one that stops words before the end).
  Words not in its dictionary cannot be aligned by it: they are listed under the table and their
  boundaries count as missing (a line whose first or last word is missing has no boundary there).
- ``aeneas``: aeneas-ng (ReadBeyond's aeneas: espeak synthesis + MFCC DTW), ``ExecuteTask`` with
  ``task_language=eng|is_text_type=plain|os_task_file_format=json``, one word per line (word
  level) or one utterance per line (utterance level), default options otherwise (so no head/tail
  detection: its first fragment starts at 0 s and fragments tile the audio).

Scores: each unit has two boundaries (start, end); every word's start and end are scored
separately, so an inner boundary is counted once as an end and once as a start. "mean |err|" and
"median" are over the boundaries the method produced; the "≤ x ms" shares are of all reference
boundaries (a missing one counts as a miss). RTF = wall time / audio duration, with the audio's
decoding included, after one untimed warm-up run of each method (numba compilation, model
loading); PocketSphinx's model load is left out (a fresh decoder per file, see `run_pocketsphinx`).

Measured 2026-11-29 on the 2-core development machine (mean |err| ms / share <= 100 ms / RTF):

| case                          | ours: hmm         | ours: tts-dtw    | ours: ctc        | pocketsphinx 5   | aeneas-ng        |
|-------------------------------|-------------------|------------------|------------------|------------------|------------------|
| GRID swwp2s, 12 word bounds   | 21 / 100% / 0.04  | 51 / 83% / 0.003 | 62 / 75% / 0.04  | 25 / 100% / 0.01 | 185 / 33% / 0.07 |
| conversation, 26 utt. bounds  | 98 / 58% / 0.01   | 189 / 50% / 0.01 | 138 / 62% / 0.002| 101 / 62% / 0.01 | 531 / 27% / 0.01 |
| espeak en-us, 162 word bounds | 22 / 100% / 0.01  | 10 / 100% / 0.01 | 33 / 93% / 0.002 | 29 / 96% / 0.01  | 46 / 84% / 0.01  |

Long case (``--long-methods``, each in a fresh process): one hour (conversation x120, 9720 words);
hmm 22.2 s (RTF 0.006), peak RSS 1.65 GB, utterance boundaries 218 ms mean |err| (80 ms median);
tts-dtw 16.5 s, 1.44 GB, 298 ms (95 ms median).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _align_refs as refs  # noqa: E402

THRESHOLDS_MS = (20, 50, 100, 250)
Span = tuple[float, float]


# --------------------------------------------------------------------------- methods
# Each returns (spans, notes): spans has one (start, end) or None per word of the case, in
# transcript order (for aeneas at utterance level: one per line, see `units`).


def run_ours(case: refs.Case, features: str = "logmel") -> tuple[list[Span | None], dict]:
    from studio.align.tts_dtw import align_tts

    src = case.source()
    res = align_tts(src, case.lines, features=features)
    if hasattr(src, "close"):
        src.close()
    n = len(case.words)
    if len(res.words) != n:
        raise RuntimeError(f"align_tts returned {len(res.words)} words for {n}")
    spans: list[Span | None] = [None] * n
    for w in res.words:
        spans[w.index] = (float(w.start), float(w.end))
    return spans, {"flagged missing": sum(bool(w.missing) for w in res.words)}


def run_ctc(case: refs.Case) -> tuple[list[Span | None], dict]:
    """Our ctc method with Studio's bundled model (studio.models.small_ctc), the star token on."""
    from studio.align.ctc_aligner import ctc_align
    from studio.models.small_ctc import load_bundled

    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = load_bundled("cpu")
    res = ctc_align((case.pcm16k(), 16000), case.lines, _BUNDLED)
    spans: list[Span | None] = [None] * len(case.words)
    for w in res.words:
        spans[w.index] = (float(w.start), float(w.end))
    return spans, {"flagged missing": sum(bool(w.missing) for w in res.words)}


def run_hmm(case: refs.Case) -> tuple[list[Span | None], dict]:
    """Our hmm method (the default for English): tts-dtw, then the bundled phone model's HMM."""
    from studio.align.hmm_aligner import hmm_align
    from studio.models.phone_frames import load_bundled_phones

    global _PHONES
    if _PHONES is None:
        _PHONES = load_bundled_phones("cpu")
    src = case.source()
    res = hmm_align(src, case.lines, model=_PHONES)
    if hasattr(src, "close"):
        src.close()
    spans: list[Span | None] = [None] * len(case.words)
    for w in res.words:
        spans[w.index] = (float(w.start), float(w.end))
    return spans, {"flagged missing": sum(bool(w.missing) for w in res.words)}


_BUNDLED = None
_PHONES = None
PS_BLOCK = 4096
_PS_FILLER = re.compile(r"^(<.*>|\(null\)|\[.*\]|\+\+.*\+\+)$", re.I)


def run_pocketsphinx(case: refs.Case) -> tuple[list[Span | None], dict]:
    """A fresh decoder per file: its live CMN carries over from one utterance to the next, and a
    decoder reused after the conversation lost the forced path on the espeak paragraph. Making the
    decoder (loading the model) is left out of the time, as a program aligning many files would
    pay it once."""
    from pocketsphinx import Decoder

    dec = Decoder(lm=None, loglevel="FATAL")
    t0 = time.perf_counter()
    frate = int(dec.config["frate"])
    words = case.words
    known = [dec.lookup_word(w) is not None for w in words]
    oov = sorted({w for w, k in zip(words, known) if not k})
    pcm = (np.clip(case.pcm16k(), -1.0, 1.0) * 32767.0).astype(np.int16)
    text = " ".join(w for w, k in zip(words, known) if k)
    dec.set_align_text(text)
    dec.start_utt()
    for i in range(0, pcm.size, PS_BLOCK):  # streamed, as its CLI does (see the module doc)
        dec.process_raw(pcm[i : i + PS_BLOCK].tobytes(), no_search=False, full_utt=False)
    dec.end_utt()
    spans: list[Span | None] = [None] * len(words)
    found = dec.seg()
    notes: dict = {"oov": oov, "wall_s": time.perf_counter() - t0}
    if found is None:
        notes["failed"] = "no alignment (the search lost the forced path)"
        return spans, notes
    segs = [(re.sub(r"\(\d+\)$", "", s.word), s.start_frame, s.end_frame) for s in found]
    segs = [s for s in segs if not _PS_FILLER.match(s[0])]
    slots = [i for i, k in enumerate(known) if k]
    if [s[0] for s in segs] != [words[i] for i in slots]:
        notes["failed"] = f"alignment returned {len(segs)} of {len(slots)} words"
        return spans, notes
    for i, (_, a, b) in zip(slots, segs):
        spans[i] = (a / frate, (b + 1) / frate)
    return spans, notes


def run_aeneas(case: refs.Case) -> tuple[list[Span | None], dict]:
    """aeneas in a fresh process per file: its espeak C extension hangs when called a second time in
    one process (espeak_Initialize again), and one file per process is how its CLI is used anyway.
    The time is that of `ExecuteTask.execute` in the child (audio conversion with ffmpeg, synthesis,
    MFCC, DTW), not the interpreter's start."""
    with tempfile.TemporaryDirectory() as tmp:
        if case.path is not None:
            audio = str(case.path)
        else:
            import soundfile as sf

            audio = os.path.join(tmp, "audio.wav")
            sf.write(audio, case.samples, case.rate, subtype="PCM_16")
        units = case.words if case.level == "word" else [" ".join(line) for line in case.lines]
        text = os.path.join(tmp, "text.txt")
        Path(text).write_text("\n".join(units) + "\n", encoding="utf-8")
        cmd = [sys.executable, __file__, "--child-aeneas", audio, text]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode:
        raise RuntimeError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    frags = out["fragments"]
    if len(frags) != len(units):
        return [None] * len(units), {"failed": f"{len(frags)} fragments for {len(units)} lines"}
    return [(a, b) for a, b in frags], {"wall_s": out["wall_s"]}


def child_aeneas(audio: str, text: str) -> None:
    from aeneas.executetask import ExecuteTask
    from aeneas.task import Task

    t0 = time.perf_counter()
    task = Task(config_string="task_language=eng|is_text_type=plain|os_task_file_format=json")
    task.audio_file_path_absolute = audio
    task.text_file_path_absolute = text
    ExecuteTask(task).execute()
    wall = time.perf_counter() - t0
    frags = [f for f in task.sync_map_leaves() if int(f.fragment_type) == 0]  # REGULAR, not HEAD/TAIL
    print(json.dumps({"wall_s": wall, "fragments": [(float(f.begin), float(f.end)) for f in frags]}))


METHODS = {
    "ours-hmm": run_hmm,
    "ours": lambda c: run_ours(c, "logmel"),
    "ours-mfcc": lambda c: run_ours(c, "mfcc"),
    "ours-ctc": run_ctc,
    "pocketsphinx": run_pocketsphinx,
    "aeneas": run_aeneas,
}
LABELS = {
    "ours-hmm": "ours: hmm (default for English)",
    "ours": "ours: tts-dtw (log-mel)",
    "ours-mfcc": "ours: tts-dtw (MFCC)",
    "ours-ctc": "ours: ctc, bundled model",
    "pocketsphinx": "pocketsphinx 5 (forced alignment)",
    "aeneas": "aeneas-ng (defaults)",
}


def available(method: str) -> str | None:
    """None if the method can run here, else why not."""
    mod = {"pocketsphinx": "pocketsphinx", "aeneas": "aeneas.executetask"}.get(method)
    if mod is None:
        return None
    try:
        __import__(mod)
    except Exception as e:  # noqa: BLE001 - any import failure means "not installed here"
        return f"not installed ({type(e).__name__}: {e})"
    return None


# --------------------------------------------------------------------------- scoring


def units(case: refs.Case, spans: list[Span | None]) -> list[Span | None]:
    """Per reference unit: the word spans as they are (word level), or each line's first start and
    last end (utterance level; missing if that word is)."""
    if len(spans) == len(case.ref):
        return spans
    out: list[Span | None] = []
    k = 0
    for line in case.lines:
        first, last = spans[k], spans[k + len(line) - 1]
        k += len(line)
        out.append(None if first is None or last is None else (first[0], last[1]))
    return out


def score(ref: list[Span], hyp: list[Span | None]) -> dict:
    errs = []
    for (rs, re_), h in zip(ref, hyp):
        if h is None:
            continue
        errs += [abs(h[0] - rs), abs(h[1] - re_)]
    e = np.asarray(errs) * 1000.0
    total = 2 * len(ref)
    out = {
        "boundaries": total,
        "scored": int(e.size),
        "mean_ms": float(e.mean()) if e.size else float("nan"),
        "median_ms": float(np.median(e)) if e.size else float("nan"),
    }
    for t in THRESHOLDS_MS:
        out[f"within_{t}"] = float((e <= t).sum() / total)
    return out


def evaluate(case: refs.Case, method: str) -> dict:
    why = available(method)
    if why:
        return {"method": method, "skipped": why}
    fn = METHODS[method]
    try:
        t0 = time.perf_counter()
        spans, notes = fn(case)
        wall = notes.pop("wall_s", time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - a peer that fails on a case is a result, not a crash
        return {"method": method, "error": f"{type(e).__name__}: {e}"}
    row = {
        "method": method,
        **score(case.ref, units(case, spans)),
        "wall_s": wall,
        "rtf": wall / case.duration,
    }
    row.update(notes)
    return row


def table(case: refs.Case, rows: list[dict]) -> str:
    head = (
        f"### {case.name}: {case.level} level, {len(case.ref)} {case.level}s, {case.duration:.1f} s\n\n"
        "| method | boundaries | mean abs err (ms) | median (ms) | "
        + " | ".join(f"<= {t} ms" for t in THRESHOLDS_MS)
        + " | RTF |\n|---|---|---|---|"
        + "---|" * len(THRESHOLDS_MS)
        + "---|\n"
    )
    body, notes = [], []
    for r in rows:
        label = LABELS.get(r["method"], r["method"])
        if "skipped" in r or "error" in r:
            body.append(
                f"| {label} | {r.get('skipped') or r.get('error')} |" + " |" * (4 + len(THRESHOLDS_MS))
            )
            continue
        shares = " | ".join(f"{100 * r[f'within_{t}']:.0f}%" for t in THRESHOLDS_MS)
        body.append(
            f"| {label} | {r['scored']}/{r['boundaries']} | {r['mean_ms']:.0f} | {r['median_ms']:.0f} | "
            f"{shares} | {r['rtf']:.3f} |"
        )
        if r.get("oov"):
            notes.append(f"- {label}: out of vocabulary, not aligned: {', '.join(r['oov'])}")
        if r.get("failed"):
            notes.append(f"- {label}: failed: {r['failed']}")
        if r.get("flagged missing"):
            notes.append(
                f"- {label}: {r['flagged missing']} words flagged missing by the aligner (still scored)"
            )
    return head + "\n".join(body) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


# --------------------------------------------------------------------------- long case (own process)


def _vm(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


def child_long(repeats: int, wav: str, method: str) -> None:
    from studio.align.hmm_aligner import hmm_align_task
    from studio.align.tts_dtw import align_tts_task

    case = refs.long_case(repeats, Path(wav))
    METHODS[method](refs.grid_case())  # warm-up: numba compilation, model loading
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    rss0 = _vm("VmRSS")
    stages: list[tuple[str, float, int]] = []  # (stage, seconds, peak RSS during it)
    peak = 0

    def close_stage(name: str, seconds: float) -> None:
        nonlocal peak
        hwm = _vm("VmHWM")
        peak = max(peak, hwm)
        stages.append((name, seconds, hwm))
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    t0 = time.perf_counter()
    src = case.source()
    gen = (
        hmm_align_task(src, case.lines, model=_PHONES)
        if method == "ours-hmm"
        else align_tts_task(src, case.lines)
    )
    last, tl = "opening the audio", t0
    try:
        while True:
            p = next(gen)
            msg = re.sub(r"chunk \d+ of (\d+)", r"\1 chunks", p.message or "")
            if msg and msg != last:
                now = time.perf_counter()
                close_stage(last, now - tl)
                last, tl = msg, time.perf_counter()
    except StopIteration as stop:
        res = stop.value
    wall = time.perf_counter() - t0
    close_stage(last, time.perf_counter() - tl)
    spans: list[Span | None] = [(w.start, w.end) for w in sorted(res.words, key=lambda w: w.index)]
    out = {
        "method": method,
        "duration_s": case.duration,
        "words": len(case.words),
        "lines": len(case.lines),
        "wall_s": wall,
        "rtf": wall / case.duration,
        "peak_rss_gb": peak / 2**30,
        "rss_before_gb": rss0 / 2**30,
        "stages": [{"stage": k, "s": round(v, 2), "peak_rss_gb": round(m / 2**30, 2)} for k, v, m in stages],
        "details": {k: str(v) for k, v in res.details.items()},
        **score(case.ref, units(case, spans)),
    }
    print(json.dumps(out))


def run_long(repeats: int, method: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "long.wav")
        cmd = [sys.executable, __file__, "--child-long", str(repeats), "--wav", wav, "--long-method", method]
        if os.cpu_count() and os.cpu_count() > 2:
            cmd = ["taskset", "-c", "0,1", *cmd]
        env = {**os.environ, "OMP_NUM_THREADS": "2", "NUMBA_NUM_THREADS": "2"}
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def long_report(r: dict, repeats: int) -> str:
    if "error" in r:
        return f"### long case (conversation x{repeats}): failed: {r['error']}\n"
    shares = ", ".join(f"{100 * r[f'within_{t}']:.0f}% <= {t} ms" for t in THRESHOLDS_MS)
    return (
        f"### long case: conversation x{repeats} = {r['duration_s'] / 60:.1f} min, {r['words']} words, "
        f"{r['lines']} lines, 2 cores\n\n"
        f"- {LABELS[r['method']]}: {r['wall_s']:.1f} s wall, RTF {r['rtf']:.4f}, peak RSS {r['peak_rss_gb']:.2f} GB "
        f"(process, {r['rss_before_gb']:.2f} GB before the call); stages:\n"
        + "".join(
            f"  - {g['stage']}: {g['s']:.2f} s, peak RSS {g['peak_rss_gb']:.2f} GB\n" for g in r["stages"]
        )
        + f"- {r['details']}\n"
        f"- utterance boundaries: mean |err| {r['mean_ms']:.0f} ms, median {r['median_ms']:.0f} ms, {shares}\n"
    )


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="grid,conversation,espeak,long")
    ap.add_argument("--methods", default="ours-hmm,ours,ours-mfcc,ours-ctc,pocketsphinx,aeneas")
    ap.add_argument("--long-methods", default="ours-hmm,ours", help="our methods to run on the long case")
    ap.add_argument("--repeats", type=int, default=120)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child-long", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--wav", default="", help=argparse.SUPPRESS)
    ap.add_argument("--long-method", default="ours", help=argparse.SUPPRESS)
    ap.add_argument("--child-aeneas", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_aeneas:
        child_aeneas(*args.child_aeneas)
        return
    if args.child_long:
        child_long(args.child_long, args.wav, args.long_method)
        return
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"unknown method {m!r}: one of {', '.join(METHODS)}")
    makers = {"grid": refs.grid_case, "conversation": refs.conversation_case, "espeak": refs.espeak_case}
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in makers and c != "long":
            raise SystemExit(f"unknown case {c!r}: one of grid, conversation, espeak, long")
    results: dict = {}
    warm = refs.grid_case()
    for m in methods:  # untimed warm-up of each method (aeneas runs in a fresh process each time)
        if m != "aeneas" and available(m) is None:
            try:
                METHODS[m](warm)
            except Exception:  # noqa: BLE001 - the timed run reports the failure
                pass
    for c in cases:
        if c == "long":
            for m in [m for m in args.long_methods.split(",") if m]:
                r = run_long(args.repeats, m)
                results[f"long {m}"] = r
                print(long_report(r, args.repeats), flush=True)
            continue
        case = makers[c]()
        rows = [evaluate(case, m) for m in methods]
        results[c] = rows
        print(table(case, rows), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
