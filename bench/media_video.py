"""Benchmark: frame-exact video — sequential decode speed, random seek latency and seek exactness.

    python bench/media_video.py [--seconds 60] [--seeks 200] [--cores 2] [--keep]

Makes test clips with the ffmpeg CLI whose frames show their own index (ffmpeg's testsrc2 picture
with the index painted as large black/white cells by tests/media/videogen.py, readable after
compression), then measures `studio.media.video.VideoSource` against OpenCV (cv2.VideoCapture):

* **h264-720p30**: 1280×720, 30 fps, libx264 with ffmpeg's defaults (B-frames, keyint 250 — a
  keyframe every 8.3 s), `--seconds` long;
* **h264-720p30-gop60**: the same with a keyframe every 2 s (what cameras and phones write);
* **mpeg2-576p25.mpg**: MPEG-2 in an MPEG program stream with MP2 audio (DVD-like, B-frames).

For each clip: index build (cold) and reopen time; sequential decode with ``frames()`` and with
``frame(i)`` in order (playback: read-ahead on), frames/s and × real time (goal >= 2×); OpenCV's
``read()`` for comparison; `--seeks` random seeks — latency p50/p95 (goal p95 < 150 ms) and
exactness (goal 100 %) for VideoSource (cache off) and for OpenCV seeking by frame number
(CAP_PROP_POS_FRAMES) and by time (CAP_PROP_POS_MSEC). The process is pinned to `--cores` CPUs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "media"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videogen import paint_index, read_index  # noqa: E402

CLIPS = {
    "h264-720p30.mp4": dict(size=(1280, 720), fps=30, args=["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    "h264-720p30-gop60.mp4": dict(
        size=(1280, 720), fps=30, args=["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "60"]
    ),
    "mpeg2-576p25.mpg": dict(
        size=(720, 576),
        fps=25,
        args=["-c:v", "mpeg2video", "-q:v", "3", "-bf", "2", "-g", "15", "-c:a", "mp2", "-b:a", "192k"],
        audio=True,
    ),
}


def make_clip(
    path: Path, seconds: float, size: tuple[int, int], fps: int, args: list[str], audio: bool = False
) -> None:
    """testsrc2 from ffmpeg → index cells painted here → encoded by ffmpeg."""
    w, h = size
    src = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={fps}", "-t", str(seconds),
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    dst = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
           "-i", "-"]  # fmt: skip
    if audio:
        dst += ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:duration={seconds}"]
    dst += args + [str(path)]
    reader = subprocess.Popen(src, stdout=subprocess.PIPE)
    writer = subprocess.Popen(dst, stdin=subprocess.PIPE)
    n = w * h * 3
    i = 0
    while len(buf := reader.stdout.read(n)) == n:  # type: ignore[union-attr]
        frame = np.frombuffer(buf, np.uint8).reshape(h, w, 3).copy()
        writer.stdin.write(paint_index(frame, i).tobytes())  # type: ignore[union-attr]
        i += 1
    writer.stdin.close()  # type: ignore[union-attr]
    if reader.wait() or writer.wait():
        raise SystemExit(f"ffmpeg failed to make {path}")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def bench_clip(path: Path, seeks: int, rng: np.random.Generator) -> dict[str, object]:
    import cv2

    from studio.media.video import open_video

    r: dict[str, object] = {}
    t = time.perf_counter()
    v = open_video(path, readahead=0, cache_bytes=0)
    r["index"] = time.perf_counter() - t
    t = time.perf_counter()
    open_video(path).close()
    r["reopen"] = time.perf_counter() - t
    n, fps = v.frame_count, v.fps
    r["frames"], r["fps"], r["mode"] = n, fps, f"{v.index_mode}/{v._ix.meta['seek']}"

    # sequential
    t = time.perf_counter()
    wrong = sum(read_index(rgb) != i for i, _, rgb in v.frames() if i % 10 == 0)  # checks cost time
    r["seq"] = n / (time.perf_counter() - t)
    r["seq_wrong"] = wrong
    with open_video(path) as play:  # playback: frame(i) in order, read-ahead thread on
        t = time.perf_counter()
        wrong = sum(
            read_index(rgb) != i for i in range(n) if (rgb := play.frame(i)) is not None and i % 10 == 0
        )
        r["play"] = n / (time.perf_counter() - t)
        r["play_wrong"] = wrong
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    t = time.perf_counter()
    count = 0
    while cap.read()[0]:
        count += 1
    r["cv_seq"] = count / (time.perf_counter() - t)
    r["cv_count"] = count

    # random seeks
    targets = [int(i) for i in rng.integers(0, n, seeks)]
    lat, ok = [], 0
    for i in targets:
        t = time.perf_counter()
        rgb = v.frame(i)
        lat.append(time.perf_counter() - t)
        ok += read_index(rgb) == i
    r["seek_p50"], r["seek_p95"], r["seek_ok"] = pct(lat, 50), pct(lat, 95), ok / seeks
    v.close()
    for prop, value in (("pos_frames", lambda i: i), ("pos_msec", lambda i: v.timestamps[i] * 1000)):
        lat, ok = [], 0
        for i in targets:
            t = time.perf_counter()
            cap.set(cv2.CAP_PROP_POS_FRAMES if prop == "pos_frames" else cv2.CAP_PROP_POS_MSEC, value(i))
            got, bgr = cap.read()
            lat.append(time.perf_counter() - t)
            try:
                ok += bool(got) and read_index(bgr) == i
            except ValueError:
                pass
        r[f"cv_{prop}_p50"], r[f"cv_{prop}_p95"], r[f"cv_{prop}_ok"] = pct(lat, 50), pct(lat, 95), ok / seeks
    cap.release()
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seeks", type=int, default=200)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument(
        "--keep", action="store_true", help="keep the clips (in the temp folder) for the next run"
    )
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("needs the ffmpeg CLI")
    cpus = sorted(os.sched_getaffinity(0))[: args.cores]
    os.sched_setaffinity(0, cpus)
    import cv2

    cv2.setNumThreads(len(cpus))
    folder = Path(tempfile.gettempdir()) / f"studio-bench-video-{args.seconds:g}s"
    folder.mkdir(exist_ok=True)
    os.environ["STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="studio-bench-cache-")
    load = os.getloadavg()[0]
    print(
        f"CPUs {cpus} (of {os.cpu_count()}), load average {load:.1f}, clips of {args.seconds:g} s in {folder}"
    )
    rng = np.random.default_rng(0)
    try:
        for name, spec in CLIPS.items():
            path = folder / name
            if not path.exists():
                t = time.perf_counter()
                make_clip(path, args.seconds, **spec)  # type: ignore[arg-type]
                print(f"made {name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.0f} s")
            r = bench_clip(path, args.seeks, rng)
            fps = float(r["fps"])  # type: ignore[arg-type]
            print(f"\n== {name}: {r['frames']} frames at {fps:g} fps, index {r['mode']}")
            print(f"  index build {r['index'] * 1000:.0f} ms, reopen {r['reopen'] * 1000:.1f} ms")  # type: ignore[operator]
            for label, key, wrong in (
                ("frames()", "seq", "seq_wrong"),
                ("frame(i) playback", "play", "play_wrong"),
            ):
                speed = float(r[key])  # type: ignore[arg-type]
                print(f"  sequential {label:18s} {speed:7.0f} frames/s = {speed / fps:5.1f}x real time (goal >= 2x), "
                      f"{r[wrong]} wrong of every 10th")  # fmt: skip
            cv = float(r["cv_seq"])  # type: ignore[arg-type]
            print(f"  sequential OpenCV read()       {cv:7.0f} frames/s = {cv / fps:5.1f}x real time "
                  f"({r['cv_count']} frames); VideoSource / OpenCV = {float(r['seq']) / cv:.2f}")  # type: ignore[arg-type]  # fmt: skip
            print(f"  random seek VideoSource   p50 {r['seek_p50']:6.1f} ms  p95 {r['seek_p95']:6.1f} ms (goal < 150)  "
                  f"exact {100 * r['seek_ok']:5.1f} % (goal 100)")  # type: ignore[operator]  # fmt: skip
            for prop in ("pos_frames", "pos_msec"):
                print(f"  random seek OpenCV {prop:10s} p50 {r[f'cv_{prop}_p50']:6.1f} ms  p95 {r[f'cv_{prop}_p95']:6.1f} ms"
                      f"                exact {100 * r[f'cv_{prop}_ok']:5.1f} %")  # type: ignore[operator]  # fmt: skip
    finally:
        shutil.rmtree(os.environ["STUDIO_CACHE_DIR"], ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
