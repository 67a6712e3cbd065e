"""`studio predict` and `studio train`: run or make a model headless (the window's Models menu, scripted).

    studio predict --model speech-activity meeting.wav -o meeting.rttm
    studio predict gestures.pt clip.mp4 -o clip.eaf
    studio train take1.studio take2.studio --tier gesture --kind lmf -o gestures.pt
    studio train clip.mp4=clip.eaf other.mp4=other.eaf --tier speech -o speech.pt

Training data: `.studio` session files (their first media and the tier named by --tier) or
``MEDIA=ANNOTATIONS`` pairs (any format Studio reads). With ``--speech-activity`` every interval of
every tier counts as "speech" (e.g. an RTTM's speaker turns). Unless --held-out names files, the
last file (or, with one file, the last fifth of it) is held out: early stopping watches it and the
printed metrics are measured on it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..tasks.console import ConsoleProgress

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="run a model over a recording and write its predictions as tiers",
        description="Run a Studio model (a bundled one by name, or a .pt file from `studio train` or the window) "
        "over MEDIA and write its predictions: a tier of labelled intervals with a confidence each, and a "
        "confidence curve (formats that hold curves keep it). OUT's suffix picks the format (rttm, eaf, "
        "TextGrid, csv, json, ...).",
        epilog="examples:\n  studio predict --model speech-activity meeting.wav -o meeting.rttm\n"
        "  studio predict gestures.pt clip.mp4 -o clip.eaf\n"
        "  studio predict emotion.pt talk.wav --segments talk.eaf:utterances -o talk.csv   (a label per utterance)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("args", nargs="+", metavar="ARG", help="MODEL MEDIA, or MEDIA alone with --model")
    p.add_argument("--model", help="a bundled model (speech-activity) or a .pt file")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--name", help="the prediction tier's name (default: the model's name)")
    p.add_argument("--device", help="torch device (cpu, cuda, mps; default: cpu)")
    p.add_argument(
        "--segments",
        metavar="FILE[:TIER]",
        help="segment classification: label each interval of this tier (utterances, turns...) with the class "
        "the model finds most probable over it, instead of frame runs",
    )
    p.set_defaults(func=run_predict)

    t = sub.add_parser(
        "train",
        help="train a fusion model on annotated recordings",
        description="Train a frame model (early, late, tfn, lmf, mult fusion, or unimodal) to predict the labels "
        "of --tier from the recordings' audio, video (mouth motion) and, with --text, the words of a tier. "
        "DATA: .studio session files or MEDIA=ANNOTATIONS pairs.",
        epilog=__doc__.split("\n\n")[1] if __doc__ else "",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("data", nargs="+", metavar="DATA")
    t.add_argument("-o", "--output", required=True, metavar="MODEL.pt")
    t.add_argument("--tier", help="the tier whose labels to learn (not needed with --speech-activity)")
    t.add_argument("--speech-activity", action="store_true", help='every interval of every tier is "speech"')
    t.add_argument("--kind", default="late", help="early, late, tfn, lmf, mult, or unimodal (default late)")
    t.add_argument("--modalities", default="audio,video", help="comma-separated: audio, video, text")
    t.add_argument("--text", metavar="TIER", help="the tier of words for the text modality")
    t.add_argument(
        "--held-out", nargs="*", default=None, metavar="DATA", help="held-out DATA (default: see above)"
    )
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--name", help="the model's name (default: the tier's)")
    t.add_argument("--device", help="torch device (cpu, cuda, mps)")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=run_train)


def run_predict(args: Any) -> int:
    from studio import io

    from ..tasks.base import run
    from .predict import load_model, predict_task

    if args.model:
        if len(args.args) != 1:
            raise ValueError("with --model give one MEDIA")
        spec, media = args.model, args.args[0]
    elif len(args.args) == 2:
        spec, media = args.args
    else:
        raise ValueError("give MODEL MEDIA, or --model NAME MEDIA")
    segments = _segments(args.segments) if args.segments else None
    model = load_model(spec, device=args.device)
    t0 = time.monotonic()
    with ConsoleProgress("studio predict") as show:
        task = predict_task(model, media, name=args.name, segments=segments, device=args.device)
        session = run(task, on_progress=show)
    for w in io.write(session, args.output):
        print(f"studio: warning: {args.output}: {w}", file=sys.stderr)
    tier = session.tiers[0]
    print(
        f"{len(tier)} {tier.name} segments in {time.monotonic() - t0:.1f} s -> {args.output}", file=sys.stderr
    )
    return 0


def _segments(spec: str) -> Any:
    """The interval tier of FILE[:TIER] (the file's only interval tier when TIER is not given)."""
    from studio import io

    from ..core.tiers import IntervalTier

    path, _, name = spec.rpartition(":") if ":" in spec and not Path(spec).exists() else (spec, "", "")
    doc = io.read(path)
    tiers = doc.interval_tiers()
    if name:
        if not doc.has_tier(name) or not isinstance(doc.tier(name), IntervalTier):
            raise ValueError(
                f"{path}: no interval tier named {name!r} (tiers: {', '.join(doc.tier_names())})"
            )
        return doc.tier(name)
    if len(tiers) != 1:
        raise ValueError(
            f"{path}: has tiers {', '.join(t.name for t in tiers)}; say which: --segments {path}:TIER"
        )
    return tiers[0]


def _load_data(spec: str, tier: str | None, speech: bool) -> tuple[Path, Any]:
    """(media path, label tier) from a .studio file or MEDIA=ANNOTATIONS."""
    from studio import io

    from ..core.tiers import IntervalTier

    if "=" in spec and not Path(spec).exists():
        media_s, ann_s = spec.split("=", 1)
        media, doc = Path(media_s), io.read(ann_s)
        where = ann_s
    else:
        doc = io.read(spec)
        if not doc.media:
            raise ValueError(f"{spec}: the session has no media; give MEDIA=ANNOTATIONS instead")
        media, where = Path(doc.media[0].path), spec
    if not media.exists():
        from ..media.probe import MediaError

        raise MediaError(media, "no such file")
    tiers = doc.interval_tiers()
    files = {t.attrs.get("rttm", {}).get("file") for t in tiers} - {None}
    if len(files) > 1:  # an RTTM of several recordings: the turns of this one only
        tiers = [t for t in tiers if t.attrs.get("rttm", {}).get("file") == media.stem]
        if not tiers:
            raise ValueError(
                f"{where}: holds recordings {', '.join(sorted(files))}, none named {media.stem!r}"
            )
    if speech:
        from .framedata import union_tier

        spans = [(iv.start, iv.end) for t in tiers for iv in t if iv.label.strip()]
        if not spans:
            raise ValueError(f"{where}: no intervals to learn speech from")
        return media, union_tier(spans)
    if not tier:
        raise ValueError("say which tier to learn with --tier (or --speech-activity)")
    if not doc.has_tier(tier):
        raise ValueError(f"{where}: no tier named {tier!r} (tiers: {', '.join(doc.tier_names())})")
    label_tier = doc.tier(tier)
    if not isinstance(label_tier, IntervalTier):
        raise ValueError(f"{where}: tier {tier!r} is not an interval tier")
    return media, label_tier


def run_train(args: Any) -> int:
    from ..tasks.base import run
    from .framedata import frame_data_task
    from .fusion import FusionModel, evaluate

    mods = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
    if "text" in mods and not args.text:
        raise ValueError("the text modality needs --text TIER (the words)")
    train_specs = list(args.data)
    held_specs = list(args.held_out) if args.held_out is not None else []
    if args.held_out is None and len(train_specs) > 1:
        held_specs = [train_specs.pop()]
    classes: list[str] | None = None
    if args.speech_activity:
        classes = ["non-speech", "speech"]

    def build(specs: list[str]) -> list[Any]:
        out = []
        for spec in specs:
            media, tier = _load_data(spec, args.tier, args.speech_activity)
            text = None
            if args.text:
                from studio import io

                doc = io.read(spec.split("=", 1)[1] if "=" in spec and not Path(spec).exists() else spec)
                text = doc.tier(args.text)
            out.append((media, tier, text))
        return out

    train_items, held_items = build(train_specs), build(held_specs)
    if classes is None:
        labels = sorted({iv.label for _, t, _ in train_items + held_items for iv in t if iv.label.strip()})
        classes = ["-", *labels]

    def task() -> Any:
        datas, held = [], []
        n = len(train_items) + len(held_items)
        for k, (media, tier, text) in enumerate(train_items + held_items):
            fd = yield from frame_data_task(
                media, modalities=mods, labels=tier, text=text, classes=classes, background=classes[0]
            )
            (datas if k < len(train_items) else held).append(fd)
            from ..tasks.base import Progress

            yield Progress(0.3 * (k + 1) / n, f"features of {media.name}")
        if not held:  # one file: hold out its last fifth
            fd = datas[0]
            t = fd.times()
            cut = t[0] + 0.8 * (t[-1] - t[0])
            datas, held = [fd.select(t < cut)], [fd.select(t >= cut)]
        dims = datas[0].dims()
        kw: dict[str, Any] = {}
        if args.kind == "unimodal":
            kw["modality"] = mods[0]
        model = FusionModel(args.kind, dims, classes=classes, **kw)
        model.card.name = args.name or (args.tier or "speech-activity")
        from ..tasks.base import scaled

        yield from scaled(model.fit_task(datas, val=held, epochs=args.epochs, device=args.device), 0.3, 1.0)
        return model, held

    t0 = time.monotonic()
    with ConsoleProgress("studio train", args.quiet) as show:
        model, held = run(task(), on_progress=show)
    metrics = evaluate(model, held)
    model.card.metrics = {"held_out": metrics}
    model.card.training_data = [str(m) for m, _, _ in train_items]
    model.save(args.output)
    if not args.quiet:
        f1 = metrics.get("macro_f1")
        print(
            f"trained {model.card.kind} ({model.parameters_count()} parameters) in {time.monotonic() - t0:.0f} s"
            + (f"; held-out macro F1 {f1:.3f}" if f1 is not None else "")
            + f" -> {args.output}",
            file=sys.stderr,
        )
    return 0
