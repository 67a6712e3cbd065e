"""Benchmark: pan/zoom frame times of the timeline — a 2-hour waveform, a spectrogram, a 10 000-interval tier.

    QT_QPA_PLATFORM=offscreen python bench/ui_timeline.py [--minutes 120] [--intervals 10000] [--steps 300]
                                                          [--width 1600] [--height 600] [--cores N] [--levels]
                                                          [--no-spectrogram] [--save frame.png] [--keep]

A `Timeline` (studio/qt/timeline.py) of 1600×600 holds, on one `TimeView`, a `WaveformTrack`
(channel 1 of the 48 kHz stereo 16-bit WAV of bench/media_envelope.py, `--minutes` long, with its
envelope built first), a `SpectrogramTrack` of the same file (`SpectrogramService` defaults: 16 kHz,
512-point STFT) and an `IntervalTierTrack` over a `Session` holding an `IntervalTier` of
`--intervals` contiguous labelled intervals (random lengths, one in six unlabelled) covering the
file. A scripted sequence of `--steps` view changes (seeded) starts from the whole file and zooms
down to 1 s in 14 steps spaced geometrically, each around a random point and followed by about 20
pans of up to half the view either way — the view changes the wheel and the overview make.

After each change the frame is rendered offscreen, timed with perf_counter:

* **per track** — ``track.render(QImage)`` of each track at its size in the layout (the track's
  cached picture is stale after every change, so each render draws the content anew);
* **total** — ``timeline.render(QImage)`` of the whole 1600×600 timeline (ruler and every track),
  on a second pass over the same script.

Goals: median < 16 ms and p95 < 33 ms per frame (60 fps / 30 fps). `--levels` adds the median of
each track per zoom level.

The spectrogram is measured two ways (the track never computes on the UI thread):

* **tiles in advance** — before each frame the tiles of the new view are computed (untimed) into
  the service's cache; the timed frame is ``track.refresh()`` (takes the cached tiles) + render:
  what a view costs once its tiles exist;
* **tiles on demand** — a fresh service; the frame right after the change is timed as the window
  paints it (the previous tiles stretched, the request not even sent: it is throttled to 30 ms),
  then the event loop runs until the tile job has delivered the view (latency reported), and
  that frame is timed too. The on-demand pass uses a quarter of the steps (`--demand-steps`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import _ui  # noqa: F401  (sets sys.path and the offscreen platform)
import numpy as np
from _ui import app, long_wav, pin_cores, pump, pump_until, stats, temp_cache

WORDS = (
    "the of and to a in that is was he for it with as his on be at by had are but from or have an they "
    "which one you were her all she there would their we him been has when who will more no if out so "
    "said what up its about into than them can only other new some could time these two may then do"
).split()


def make_tier(n: int, duration: float, rng: np.random.Generator):  # noqa: ANN201
    """`n` contiguous intervals over [0, duration], lognormal lengths, 1 in 6 unlabelled."""
    from studio.core import Interval, IntervalTier

    lengths = rng.lognormal(0.0, 0.6, n)
    edges = np.concatenate([[0.0], np.cumsum(lengths)]) * (duration / lengths.sum())
    edges[-1] = duration
    items = []
    for i in range(n):
        if rng.random() < 1 / 6:
            label = ""
        else:
            label = " ".join(rng.choice(WORDS, int(rng.integers(1, 4))))
        items.append(Interval(float(edges[i]), float(edges[i + 1]), label))
    return IntervalTier("words", items)


def script(duration: float, steps: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """The whole file, then 14 zoom levels down to 1 s around random points, with pans at each."""
    spans = np.geomspace(duration, min(1.0, duration), 15)[1:]
    views: list[tuple[float, float]] = [(0.0, duration)]
    for span, n in zip(spans, [len(c) for c in np.array_split(np.arange(max(steps - 1, 0)), len(spans))]):
        if n == 0:
            continue
        c = rng.uniform(span / 2, duration - span / 2)
        t0 = c - span / 2
        views.append((t0, t0 + span))
        for _ in range(n - 1):
            t0 = float(np.clip(t0 + rng.uniform(-0.5, 0.5) * span, 0.0, duration - span))
            views.append((t0, t0 + span))
    return views[:steps]


def render_ms(widget, img) -> float:  # noqa: ANN001
    t = time.perf_counter()
    widget.render(img)
    return (time.perf_counter() - t) * 1e3


def image_for(widget):  # noqa: ANN001, ANN201
    from PySide6.QtGui import QImage

    img = QImage(widget.size(), QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0)
    return img


def spec_complete(track) -> bool:  # noqa: ANN001
    return bool(track.keys) and all(k in track.tiles for k in track.keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0, help="length of the WAV (default 2 hours)")
    ap.add_argument("--intervals", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=300, help="view changes in the script")
    ap.add_argument("--demand-steps", type=int, default=None, help="steps of the on-demand pass (steps/4)")
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--cores", type=int, default=None, help="pin the process to this many CPUs")
    ap.add_argument("--no-spectrogram", action="store_true", help="waveform and tier only")
    ap.add_argument("--save", type=Path, default=None, help="save the last total frame as this PNG")
    ap.add_argument("--levels", action="store_true", help="also print the median frame time per zoom level")
    ap.add_argument("--keep", action="store_true", help="keep the generated WAV for the next run")
    a = ap.parse_args()
    cores = pin_cores(a.cores)
    wav = long_wav(a.minutes)
    temp_cache()
    qapp = app()

    from studio.core import Session
    from studio.media.audio import open_audio
    from studio.media.envelope import envelope
    from studio.qt.jobs import JobRunner
    from studio.qt.tier_track import IntervalTierTrack
    from studio.qt.timeline import Timeline
    from studio.qt.timeview import TimeView
    from studio.qt.track import Track
    from studio.qt.waveform import WaveformTrack

    with_spec = not a.no_spectrogram
    rng = np.random.default_rng(4)
    src = open_audio(wav)
    t = time.perf_counter()
    env = envelope(src)
    env_s = time.perf_counter() - t
    t = time.perf_counter()
    session = Session([make_tier(a.intervals, src.duration, rng)])
    tier_s = time.perf_counter() - t

    runner = JobRunner(threads=2)
    view = TimeView()
    view.set_extent(0.0, src.duration, show_all=True)
    tracks = {"waveform": WaveformTrack(view, wav.name, env, channel=0)}
    heights = {"waveform": 200, "spectrogram": 200, "tier": 60}
    spec = None
    if with_spec:
        from studio.media.spectrogram import SpectrogramService
        from studio.qt.spectrogram_view import SpectrogramTrack

        spec = tracks["spectrogram"] = SpectrogramTrack(view, "spectrogram", runner, SpectrogramService(src))
    else:
        heights["waveform"] = 400
    tier = tracks["tier"] = IntervalTierTrack(view, session, session.tier("words"))
    host = Timeline(view)
    for track in tracks.values():
        host.add_track(track)
    host.resize(a.width, a.height)
    host.show()
    pump(0.2)
    for name, track in tracks.items():
        host.set_track_height(track, heights[name])
    pump(0.2)
    views = script(src.duration, a.steps, rng)
    canvas = tracks["waveform"].canvas_width()
    painted = host.findChildren(Track)  # the tracks and the timeline's ruler

    def change(t0: float, t1: float) -> float:
        """Run pending events (untimed), move the view, fill the tile cache (untimed); ms of refresh."""
        qapp.processEvents()
        view.set_range(t0, t1)
        for track in painted:
            track.invalidate()  # a view equal to the last one would hit the cached picture
        if spec is None:
            return 0.0
        spec.service.tiles(t0, t1, pixels=canvas)  # in advance
        t = time.perf_counter()
        spec.refresh()  # takes the cached tiles, as the throttle timer would 30 ms later
        return (time.perf_counter() - t) * 1e3

    # pass 1: each track alone
    per: dict[str, list[float]] = {name: [] for name in tracks}
    images = {name: image_for(track) for name, track in tracks.items()}
    spec_levels = []
    for t0, t1 in views:
        refresh = change(t0, t1)
        for name, track in tracks.items():
            per[name].append(render_ms(track, images[name]) + (refresh if track is spec else 0.0))
        if spec is not None:
            spec_levels.append(spec.level)
    wave_mode = tracks["waveform"].mode

    # pass 2: the whole timeline
    total: list[float] = []
    img = image_for(host)
    for t0, t1 in views:
        refresh = change(t0, t1)
        total.append(refresh + render_ms(host, img))
    if a.save:
        img.save(str(a.save))

    # pass 3: spectrogram tiles on demand (a fresh service, tile jobs as in the window)
    first, ready, latency, timeouts = [], [], [], 0
    if spec is not None:
        from studio.media.spectrogram import SpectrogramService

        spec.set_service(SpectrogramService(open_audio(wav)))
        n_demand = a.demand_steps if a.demand_steps is not None else max(len(views) // 4, 1)
        pick = np.linspace(0, len(views) - 1, n_demand).round().astype(int)
        spec_img = image_for(spec)
        view.show_all()
        pump_until(lambda: spec_complete(spec), 60)
        for i in pick:
            t0, t1 = views[i]
            qapp.processEvents()
            before, old_range = spec.tag, view.range
            t = time.perf_counter()
            view.set_range(t0, t1)
            if view.range == old_range:
                continue  # nothing to ask for
            first.append(render_ms(spec, spec_img))
            if pump_until(lambda before=before: spec.tag != before and spec_complete(spec), 30, step=0.002):
                latency.append((time.perf_counter() - t) * 1e3)
            else:
                timeouts += 1
            spec.invalidate()  # the shown track painted itself when the tiles came: draw anew, timed
            ready.append(render_ms(spec, spec_img))
        spec.set_service(None)
    tier.detach()
    runner.shutdown(wait=True)
    host.close()
    if not a.keep:
        wav.unlink(missing_ok=True)

    sizes = ", ".join(f"{n} {t.width()}×{t.height()}" for n, t in tracks.items())
    print(
        f"\ntimeline frame times, {len(views)} view changes (whole {src.duration / 60:g} min → 1 s, 15 levels), "
        f"Timeline {host.width()}×{host.height()} ({sizes}), {cores}, platform {os.environ['QT_QPA_PLATFORM']}"
    )
    levels = f"spectrogram levels {min(spec_levels)}–{max(spec_levels)}; " if spec_levels else ""
    print(
        f"  setup: envelope built in {env_s:.1f} s; tier of {a.intervals} intervals made in {tier_s:.2f} s; "
        f"{levels}waveform mode at 1 s: {wave_mode}"
    )
    print(f"  {'frame':<46} {'n':>4} {'median':>8} {'p95':>8} {'max':>8}   goal median < 16 ms, p95 < 33 ms")

    def line(name: str, values: list[float]) -> None:
        s = stats(values)
        verdict = "ok" if s["median"] < 16 and s["p95"] < 33 else "OVER"
        print(f"  {name:<46} {s['n']:4d} {s['median']:8.2f} {s['p95']:8.2f} {s['max']:8.1f}   {verdict}")

    line("waveform (render)", per["waveform"])
    line(f"tier, {a.intervals} intervals (render)", per["tier"])
    if spec is not None:
        line("spectrogram, tiles in advance (refresh+render)", per["spectrogram"])
    line("total: timeline" + (", tiles in advance" if spec is not None else ""), total)
    if spec is not None:
        line("spectrogram on demand: frame after the change", first)
        line("spectrogram on demand: frame with its tiles", ready)
        lat = stats(latency)
        print(
            f"  spectrogram on demand: change → tiles shown: median {lat['median']:.0f} ms, "
            f"p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms "
            f"({len(latency)} views{f', {timeouts} timed out' if timeouts else ''})"
        )
    else:
        print("  spectrogram skipped (--no-spectrogram)")
    if a.levels:
        names = list(tracks)
        spans = np.array([t1 - t0 for t0, t1 in views])
        print("  median ms per zoom level:  span " + "".join(f"{n:>12}" for n in [*names, "total"]))
        for span in sorted(set(spans.round(6).tolist()), reverse=True):
            m = np.flatnonzero(np.isclose(spans, span))
            cells = [float(np.median(np.asarray(v)[m])) for v in [*(per[n] for n in names), total]]
            print(f"  {'':20} {span:9.2f} s" + "".join(f"{c:12.2f}" for c in cells))


if __name__ == "__main__":
    main()
