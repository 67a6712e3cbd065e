"""`studio align MEDIA TRANSCRIPT -o OUT`: a transcript aligned to a recording, written as tiers."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_cli"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "align",
        help="align a transcript to a recording (word and phone times)",
        description="Align TRANSCRIPT (a plain-text file, one utterance per line; or an annotation file with "
        "--tier) to the speech in MEDIA (audio or video) and write a 'words' tier (with a confidence per word; "
        "words the audio does not seem to contain are kept and flagged), a 'lines' tier for several lines and, "
        "with --level phone, a 'phones' tier. The output format follows OUT's suffix (TextGrid, eaf, json, vtt, "
        "srt, csv, ...). Method hmm (the default for English): tts-dtw first, then the transcript's phones are "
        "placed by a phone HMM on the frame posteriors of Studio's bundled English phone model, the most accurate. "
        "Method tts-dtw (the default for other languages): espeak-ng speaks the transcript and DTW maps its known word times onto "
        "the recording; --language is any espeak-ng voice. Method ctc: CTC forced alignment with an acoustic "
        "model (Studio's small English model, or --model a Hugging Face wav2vec2-CTC folder or a torchaudio "
        "wav2vec2 .pth checkpoint, which need studio[hf]), a star token absorbing speech that is not in the transcript.",
        epilog="examples:\n  studio align talk.wav talk.txt -o talk.TextGrid\n"
        "  studio align clip.mp4 words.txt -o clip.eaf --level phone\n"
        "  studio align interview.wav interview.eaf --tier transcript -o aligned.eaf\n"
        "  studio align rede.wav rede.txt -o rede.json --language de",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("media", metavar="MEDIA")
    p.add_argument("transcript", metavar="TRANSCRIPT")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument(
        "--method",
        choices=("auto", "hmm", "tts-dtw", "ctc"),
        default="auto",
        help="auto (default): hmm for English, tts-dtw for other languages; hmm: phone HMM on Studio's "
        "English phone model; tts-dtw: espeak-ng + DTW, no model, any language; ctc: an acoustic model (--model)",
    )
    p.add_argument(
        "--model",
        metavar="DIR",
        default="bundled",
        help="for --method ctc: a Hugging Face wav2vec2-CTC folder or a torchaudio wav2vec2 checkpoint "
        "(.pth, e.g. the WAV2VEC2_ASR_BASE_960H bundle's file); for --method hmm: a phone model folder "
        "(python -m studio.models.train_phones); or 'bundled' (default: Studio's small English models, "
        "resources/models)",
    )
    p.add_argument("--level", choices=("line", "word", "phone"), default="word")
    p.add_argument(
        "--language", default="en", help="espeak-ng voice, e.g. en, en-us, de, fr-fr, es (default en)"
    )
    p.add_argument("--tier", help="when TRANSCRIPT is an annotation file: the tier whose labels to align")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run_cli)


def run_cli(args: Any) -> int:
    from studio import io
    from studio.align.transcript import align_transcript_task
    from studio.media.probe import MediaError
    from studio.tasks.base import run

    media = Path(args.media)
    if not media.exists():
        raise MediaError(media, "no such file")
    tpath = Path(args.transcript)
    if not tpath.exists():
        raise FileNotFoundError(2, "No such file or directory", str(tpath))
    if tpath.suffix.lower() == ".txt" and not args.tier:
        transcript: Any = tpath
    else:
        doc = io.read(tpath)
        names = doc.tier_names()
        name = args.tier or (names[0] if len(names) == 1 else None)
        if name is None:
            raise ValueError(f"{tpath}: has tiers {', '.join(names)}; say which to align with --tier")
        try:
            transcript = doc.tier(name)
        except KeyError:
            raise ValueError(f"{tpath}: no tier named {name!r} (tiers: {', '.join(names)})") from None
    from studio.align.transcript import is_english

    if args.method == "hmm" and not is_english(args.language):
        raise ValueError(
            f"--method hmm uses Studio's English phone model; for --language {args.language} use --method tts-dtw"
        )
    if args.method in ("auto", "hmm", "tts-dtw"):
        from studio.align import espeak

        espeak.synthesize(["a"], voice=args.language)  # an unknown voice fails now, before decoding anything
    t0 = time.monotonic()
    hmm = args.method == "hmm" or (args.method == "auto" and is_english(args.language))
    extra = {"model": args.model} if args.method == "ctc" or hmm else {}
    task = align_transcript_task(
        media, transcript, method=args.method, level=args.level, language=args.language, **extra
    )
    from studio.tasks.console import ConsoleProgress

    with ConsoleProgress("studio align", args.quiet) as progress:  # an error or Ctrl-C: a clean line
        session = run(task, on_progress=progress)
    warnings = io.write(session, args.output)
    for w in warnings:
        print(f"studio: warning: {args.output}: {w}", file=sys.stderr)
    info = session.metadata["alignment"]
    words = session.tier("words") if session.has_tier("words") else None
    if not args.quiet:
        n = len(words) if words is not None else 0
        print(f"aligned {n} words in {time.monotonic() - t0:.1f} s -> {args.output}", file=sys.stderr)
        if info["missing"]:
            print(f"studio: {len(info['missing'])} word(s) not found in the audio (flagged): "
                  f"{' '.join(info['missing'][:10])}", file=sys.stderr)  # fmt: skip
        if info["skipped_nonspeech"]:
            print(
                f"studio: left out non-speech marks: {' '.join(info['skipped_nonspeech'][:10])}",
                file=sys.stderr,
            )
    return 0
