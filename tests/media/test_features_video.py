"""Video features on generated clips with known content (flashes, a moving square) and on GRID."""

from __future__ import annotations

import math
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from studio.media import features_video
from studio.media.features import extract, extract_many, extract_task
from studio.media.probe import MediaError
from studio.tasks.base import Cancelled, Progress, run

FPS = 25


def write_video(
    path: Path, frames: list[np.ndarray], fps: int = FPS, times: list[float] | None = None
) -> Path:
    """Encode RGB frames with PyAV (H.264, near-lossless); `times` gives each frame's pts in seconds."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast", "bf": "0"}
        tb = Fraction(1, 1000) if times else Fraction(1, fps)
        stream.codec_context.time_base = tb
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = round(times[i] / tb) if times else i
            frame.time_base = tb
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 215, (h // 4, w // 4, 3)).astype(np.uint8)
    return np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)


def _peaks(v: np.ndarray, k: int) -> list[int]:
    return sorted(int(i) for i in np.argsort(-v)[:k])


# -- generated media -------------------------------------------------------------------------------


def test_motion_energy_peaks_at_flash_frames(tmp_path: Path) -> None:
    flashes = [8, 21, 33]
    base = _texture(48, 64)
    frames = [np.full_like(base, 250) if i in flashes else base for i in range(40)]
    path = write_video(tmp_path / "flash.mp4", frames)
    f = extract(path, "motion")
    assert len(f) == 40 and f.names == ("motion",)
    v = f.values[:, 0]
    # a one-frame flash changes the picture twice: into the flash, and back out of it
    assert _peaks(v, 6) == sorted(flashes + [i + 1 for i in flashes])
    still = np.delete(v, flashes + [i + 1 for i in flashes])
    assert v[0] == 0 and still.max() < 0.05 < 0.2 < v[flashes].min()


def test_flow_only_while_the_square_moves(tmp_path: Path) -> None:
    h, w = 96, 128
    bg = _texture(h, w, seed=1)
    square = _texture(48, 48, seed=2)  # 19 % of the frame: its motion is the 90th percentile
    frames = []
    for i in range(36):
        x = 10 + 3 * min(max(i - 10, 0), 15)  # still until frame 10, 3 px/frame until frame 25, then still
        img = bg.copy()
        img[24:72, x : x + 48] = square
        frames.append(img)
    f = extract(write_video(tmp_path / "square.mp4", frames), "flow")
    assert f.names == ("flow_mean", "flow_p90", "flow_dx", "flow_dy")
    moving = np.zeros(36, bool)
    moving[11:26] = True  # the value at frame i compares frames i-1 and i
    p90, dx = f.column("flow_p90"), f.column("flow_dx")
    assert p90[~moving].max() < 0.1 * p90[moving].min()
    assert (dx[moving] > 0).all()  # to the right
    speed = 3 * FPS / w  # frame widths per second of the square
    assert np.median(p90[moving]) == pytest.approx(speed, rel=0.35)
    assert abs(np.median(f.column("flow_dy")[moving])) < 0.2 * speed


def test_flow_of_a_variable_rate_clip_is_per_second_of_each_frame_gap(tmp_path: Path) -> None:
    h, w = 96, 128
    bg = _texture(h, w, seed=1)
    square = _texture(48, 48, seed=2)
    gaps = [0.04, 0.12] * 8  # the square moves 3 px per frame, whatever the time between frames
    times = np.round(np.r_[0.0, np.cumsum(gaps)], 3).tolist()
    frames = []
    for i in range(len(times)):
        img = bg.copy()
        img[24:72, 10 + 3 * i : 58 + 3 * i] = square
        frames.append(img)
    f = extract(write_video(tmp_path / "vfr_square.mp4", frames, times=times), "flow")
    p90 = f.column("flow_p90")[1:]
    expected = 3 / w / np.diff(times)  # frame widths per second over each gap
    np.testing.assert_allclose(np.median(p90[0::2]), np.median(expected[0::2]), rtol=0.35)
    np.testing.assert_allclose(np.median(p90[1::2]), np.median(expected[1::2]), rtol=0.35)


def test_times_are_the_frame_timestamps_of_a_variable_rate_clip(tmp_path: Path) -> None:
    from studio.media.video import open_video

    times = [0.0, 0.04, 0.08, 0.2, 0.25, 0.3, 0.5, 0.52, 0.54, 0.6]
    frames = [_texture(48, 64, seed=i) for i in range(len(times))]
    path = write_video(tmp_path / "vfr.mp4", frames, times=times)
    f = extract_many(path, ["motion", "flow", "face", "mouth"])
    src = open_video(path)
    try:
        expected = np.asarray(src.timestamps, dtype=np.float64)
    finally:
        getattr(src, "close", lambda: None)()
    np.testing.assert_allclose(expected, times, atol=1e-3)
    for k, feat in f.items():
        np.testing.assert_array_equal(feat.times, expected, err_msg=k)
    assert np.isnan(f["face"].values[:, :4]).all() and (f["face"].column("detected") == 0).all()
    assert np.isnan(f["mouth"].values).all()  # no face, no mouth


def test_progress_cancel_and_errors(tmp_path: Path) -> None:
    path = write_video(tmp_path / "p.mp4", [_texture(48, 64, seed=i) for i in range(40)])
    seen: list[Progress] = []
    extract(path, "motion", on_progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert len(fractions) >= 4 and fractions == sorted(fractions) and "motion of p.mp4" in seen[-1].message
    stop = threading.Event()
    with pytest.raises(Cancelled):
        run(extract_task(path, "flow"), on_progress=lambda p: stop.set(), cancel=stop)
    with pytest.raises(MediaError, match="missing.mp4"):
        extract(tmp_path / "missing.mp4", "motion")
    with pytest.raises(TypeError, match="video kinds only"):
        extract(path, "rms", face_every=3)
    with pytest.raises(ValueError, match="face_every"):
        extract(path, "face", face_every=0)


def test_face_track_smoothing_drops_outliers_and_bridges_short_gaps() -> None:
    track = features_video._FaceTrack(lookahead=5, every=1, min_face=0.15)
    rng = np.random.default_rng(0)
    truth = (100.0, 80.0, 60.0, 60.0)
    for _ in range(60):
        track.raw.append(tuple(np.add(truth, rng.normal(0, 2, 4))))
    track.raw[30] = (10.0, 10.0, 20.0, 20.0)  # a false detection elsewhere
    for i in range(40, 44):
        track.raw[i] = None  # four missed frames
    for i in range(50, 60):
        track.raw[i] = None  # ten missed frames: longer than the look-around
    boxes = np.array([track.smoothed(j) for j in range(60)])
    ok = boxes[:50]
    assert np.isfinite(ok).all() and np.isnan(boxes[56:]).all()
    np.testing.assert_allclose(ok, np.tile(truth, (50, 1)), atol=2.5)
    raw = np.array([b for b in track.raw[:30] if b is not None])
    assert np.abs(np.diff(ok[:30], axis=0)).mean() < 0.5 * np.abs(np.diff(raw, axis=0)).mean()


# -- GRID talking heads ----------------------------------------------------------------------------


def _words(align: Path) -> list[tuple[float, float, str]]:
    rows = []
    for line in align.read_text().splitlines():
        start, end, word = line.split()
        rows.append((int(start) / 25000, int(end) / 25000, word))  # units of 1/25000 s: 3 s = 75000
    return rows


def test_grid_face_and_mouth_motion_follow_the_words(shared_data: Path) -> None:
    grid = shared_data / "grid"
    words = _words(grid / "swwp2s.align")
    f = extract_many(grid / "swwp2s.mpg", ["face", "mouth", "rms"])
    face = f["face"]
    assert len(face) == 75 and face.hop == pytest.approx(1 / 25)
    found = np.isfinite(face.values[:, 0])
    assert found.mean() >= 0.9
    x, y, w, h = (face.values[found, i] for i in range(4))
    assert ((w > 0.2) & (w < 0.7) & (h > 0.2) & (h < 0.8)).all()  # a head-and-shoulders shot
    cx, cy = x + w / 2, y + h / 2
    assert ((cx > 0.3) & (cx < 0.7) & (cy > 0.3) & (cy < 0.8)).all()
    mouth = f["mouth"]
    in_words = np.zeros(len(mouth), bool)
    for a, b, word in words:
        if word != "sil":
            in_words |= (mouth.times >= a) & (mouth.times < b)
    m = mouth.column("mouth_motion")
    assert np.nanmean(m[in_words]) > 1.5 * np.nanmean(m[~in_words])
    rms = f["rms"].resample(0.04, end=float(mouth.times[-1]))
    assert np.nanmean(rms.values[in_words, 0]) > 3 * np.nanmean(rms.values[~in_words, 0])


@pytest.mark.slow  # 11 clips: ~4 s on an idle 2-core machine
def test_every_grid_clip_gives_features_on_matching_times(shared_data: Path) -> None:
    from studio.media.video import open_video

    clips = sorted((shared_data / "grid").glob("*.mpg"))
    assert len(clips) >= 10
    for clip in clips:
        src = open_video(clip)
        try:
            f = extract_many(src, ["motion", "face", "mouth"])  # flow: see the tests above (slower)
            stamps = np.asarray(src.timestamps, dtype=np.float64)
        finally:
            getattr(src, "close", lambda: None)()
        audio = extract(clip, "rms")
        for k, feat in f.items():
            np.testing.assert_array_equal(feat.times, stamps, err_msg=f"{clip.name} {k}")
            assert np.isfinite(feat.values[:, 0]).mean() >= 0.9, (clip.name, k)
        assert math.isclose(audio.times[-1], stamps[-1], abs_tol=0.1), clip.name
        assert np.isfinite(f["face"].values[:, 0]).mean() >= 0.9, clip.name
