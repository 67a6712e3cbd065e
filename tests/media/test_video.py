"""VideoSource: frame-exact seeking on generated videos whose frames show their own index."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from videogen import index_frame, make_index_video, read_index

from studio.media import _video_index
from studio.media import video as video_mod
from studio.media.cache import cache_dir
from studio.media.probe import MediaError
from studio.media.video import open_video, open_video_task
from studio.tasks.base import Cancelled, Progress, run

RNG = np.random.default_rng(20240611)


def full_decode(path: Path) -> tuple[list[int], list[float]]:
    """Ground truth: the indexes shown by a plain sequential PyAV decode, and its frame times from
    the first thing presented (first video frame or first decoded audio sample)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        shown, times = [], []
        for f in c.decode(s):
            shown.append(read_index(f.to_ndarray(format="rgb24")))
            times.append(float(f.pts * s.time_base))
    starts = [times[0]]
    with av.open(str(path)) as c:
        if c.streams.audio:
            first = next(c.decode(audio=0))
            starts.append(float(first.pts * first.time_base))
    return shown, [t - min(starts) for t in times]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    specs = {
        "h264.mp4": dict(codec="libx264", bframes=3, gop=20),
        "h264.mkv": dict(codec="libx264", bframes=2, gop=16, audio_rate=16000),
        "mpeg2.mpg": dict(codec="mpeg2video", bframes=2, gop=12, audio_rate=44100),
        "mpeg1.mpg": dict(codec="mpeg1video", bframes=3, gop=15),
        "mpeg2.ts": dict(codec="mpeg2video", bframes=2, gop=12, container_format="mpegts"),
        "mpeg4.avi": dict(codec="mpeg4", bframes=2, gop=10),
        "es.m2v": dict(codec="mpeg2video", bframes=2, gop=12, container_format="mpeg2video"),
    }
    out = {}
    for name, kw in specs.items():
        make_index_video(d / name, 90, 25, **kw)
        out[name] = d / name
    return out


@pytest.fixture(scope="module")
def vfr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    d = tmp_path_factory.mktemp("vfr")
    rng = np.random.default_rng(7)
    times = np.round(np.cumsum(np.r_[0.0, rng.uniform(0.01, 0.15, 79)]), 3)
    make_index_video(d / "vfr.mkv", len(times), 25, vfr_times=times, codec="libx264", bframes=3, gop=20)
    make_index_video(d / "vfr.mp4", len(times), 25, vfr_times=times, codec="libx264", bframes=2, gop=25)
    return d / "vfr.mkv", d / "vfr.mp4", times


# -- the test video itself ----------------------------------------------------------------------------
def test_index_code_survives_compression_and_scaling() -> None:
    import cv2

    for i in (0, 1, 2, 255, 4097, 65535):
        img = index_frame(i, 96, 72)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 30])
        small = cv2.resize(cv2.imdecode(jpg, cv2.IMREAD_COLOR), (48, 36), interpolation=cv2.INTER_AREA)
        assert read_index(small) == i
    with pytest.raises(ValueError, match="no readable index"):
        read_index(np.full((72, 96, 3), 255, np.uint8))


# -- exactness --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["h264.mp4", "h264.mkv", "mpeg2.mpg", "mpeg1.mpg", "mpeg2.ts", "mpeg4.avi", "es.m2v"]
)
def test_random_seeks_are_frame_exact(videos: dict[str, Path], name: str) -> None:
    path = videos[name]
    shown, times = full_decode(path)
    with open_video(path, readahead=0) as v:
        assert v.frame_count == len(shown) == 90
        assert shown == list(range(90))
        for i in RNG.permutation(90)[:50]:
            assert read_index(v.frame(int(i))) == i, f"{name}: frame {i}"
        # stepping backward from the end, as a user on the arrow key
        for i in range(89, 60, -1):
            assert read_index(v.frame(i)) == i
        if v.index_mode == "packets":
            np.testing.assert_allclose(v.timestamps, times, atol=1e-9)
        assert np.all(np.diff(v.timestamps) > 0)
        np.testing.assert_allclose(np.diff(v.timestamps), 0.04, atol=1e-6)


def test_elementary_stream_without_timestamps_is_indexed_by_decoding(videos: dict[str, Path]) -> None:
    with open_video(videos["es.m2v"]) as v:
        assert v.index_mode == "decoded"
        assert v.frame_count == 90
        np.testing.assert_allclose(v.timestamps - v.timestamps[0], np.arange(90) * 0.04, atol=1e-6)
    with open_video(videos["h264.mp4"]) as v:
        assert v.index_mode == "packets"


def test_decode_pass_index_sought_by_time(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """When the demuxed index fails its check (here: forced), a decode pass builds it; in a container
    sought by time, positions are then anchored on keyframes whose pts is known and counted."""
    monkeypatch.setattr(video_mod, "_check_packet_index", lambda p, ix: False)
    for name in ("h264.mkv", "mpeg4.avi"):
        with open_video(videos[name], readahead=0) as v:
            assert v.index_mode == "decoded" and v._ix.meta["seek"] == "ts"
            assert v.frame_count == 90
            for i in list(RNG.permutation(90)[:30]) + list(range(89, 70, -1)):
                assert read_index(v.frame(int(i))) == i, f"{name}: frame {i}"


def test_frame_at_follows_the_timestamps_of_a_vfr_file(vfr: tuple[Path, Path, np.ndarray]) -> None:
    for path in vfr[:2]:
        times = vfr[2]
        with open_video(path, readahead=0) as v:
            assert v.frame_count == len(times)
            np.testing.assert_allclose(v.timestamps, times, atol=1e-3)
            gaps = np.diff(v.timestamps)
            assert gaps.max() > 3 * gaps.min()  # really irregular
            for t in RNG.uniform(-0.1, v.duration + 0.1, 60):
                expected = max(int(np.searchsorted(times, t + 1e-6, side="right")) - 1, 0)
                assert v.index_at(t) == expected
                assert read_index(v.frame_at(t)) == expected
            for i in (0, 7, 40, len(times) - 1):  # exactly at a frame's time, and just before it
                assert read_index(v.frame_at(v.timestamps[i])) == i
                assert v.index_at(v.timestamps[i] - 1e-4) == max(i - 1, 0)


def test_index_matches_a_full_decode_on_grid_clips(shared_data: Path) -> None:
    clips = sorted((shared_data / "grid").glob("*.mpg"))
    assert clips
    for clip in clips[:4]:
        with av.open(str(clip)) as c:
            s = c.streams.video[0]
            ref = [
                (float(f.pts * s.time_base) - (c.start_time or 0) / 1e6, f.to_ndarray(format="rgb24"))
                for f in c.decode(s)
            ]
        with open_video(clip, readahead=0) as v:
            assert v.frame_count == len(ref) == 75
            np.testing.assert_allclose(v.timestamps, [t for t, _ in ref], atol=1e-9)
            assert v.fps == 25 and abs(v.duration - 3.0) < 1e-6
            assert (v.width, v.height) == ref[0][1].shape[1::-1]
            for i in RNG.permutation(75)[:12]:
                got, want = v.frame(int(i)).astype(int), ref[i][1].astype(int)
                assert np.abs(got - want).mean() < 1.5, (
                    f"{clip.name}: frame {i}"
                )  # same frame, colour rounding
                others = [np.abs(got - ref[j][1].astype(int)).mean() for j in (i - 1, i + 1) if 0 <= j < 75]
                assert all(np.abs(got - want).mean() < o for o in others)


# -- sequential reads, cache, read-ahead, thumbnails ------------------------------------------------------
def test_frames_iterates_in_order_with_start_stop_step_and_scale(videos: dict[str, Path]) -> None:
    with open_video(videos["h264.mp4"]) as v:
        got = [(i, t, read_index(rgb)) for i, t, rgb in v.frames()]
        assert [g[0] for g in got] == [g[2] for g in got] == list(range(90))
        assert [g[1] for g in got] == list(v.timestamps)
        part = list(v.frames(10, 50, 7, scale=0.5))
        assert [i for i, _, _ in part] == list(range(10, 50, 7))
        assert all(rgb.shape == (60, 80, 3) and read_index(rgb) == i for i, _, rgb in part)
        assert part[0][2].flags.writeable
        assert list(v.frames(95)) == []
        same = next(iter(v.frames(33)))[2]
        assert np.array_equal(same, v.frame(33))


def test_playback_reads_ahead_and_caches(videos: dict[str, Path]) -> None:
    with open_video(videos["h264.mkv"]) as v:
        for i in range(10, 14):  # playing: frame after frame
            assert read_index(v.frame(i)) == i
        deadline = time.monotonic() + 20
        # the UI waits for the next frame's time; the worker decodes ahead (it may also have made
        # frames 12-13 before the UI asked, so wait for the frames themselves, not a count)
        ahead = [(i, None) for i in range(14, 24)]
        while not all(k in v._engine.cache for k in ahead) and time.monotonic() < deadline:
            time.sleep(0.005)
        stats = v.cache_stats
        assert stats["readahead"] >= 10
        for i in range(14, 24):  # ready before they are asked for
            assert read_index(v.frame(i)) == i
        assert v.cache_stats["hits"] == stats["hits"] + 10
        frame = v.frame(12)  # played already: still in the cache, read-only
        assert not frame.flags.writeable and v.cache_stats["hits"] == stats["hits"] + 11
        for i in range(60, 30, -1):  # stepping backward keeps the frames met on the way
            assert read_index(v.frame(i)) == i
        assert v.cache_stats["misses"] - stats["misses"] <= 6  # of 30 steps (a keyframe bounds each batch)


def test_cache_is_bounded_in_bytes(videos: dict[str, Path]) -> None:
    frame_bytes = 160 * 120 * 3
    with open_video(videos["h264.mp4"], cache_bytes=10 * frame_bytes, readahead=0) as v:
        for i in range(0, 90, 3):
            v.frame(i)
        assert v.cache_stats["frames"] == 10 and v.cache_stats["bytes"] == 10 * frame_bytes
        before = v.cache_stats["misses"]
        v.frame(87)
        v.frame(0)
        assert v.cache_stats["misses"] == before + 1  # 87 was kept, 0 was evicted


def test_concurrent_requests_from_threads_are_exact(videos: dict[str, Path]) -> None:
    errors: list[str] = []
    with open_video(videos["mpeg2.mpg"]) as v:

        def worker(seed: int) -> None:
            rng = np.random.default_rng(seed)
            start = int(rng.integers(0, 60))
            for i in list(rng.integers(0, 90, 15)) + list(range(start, start + 20)):
                got = read_index(v.frame(int(i)))
                if got != i:
                    errors.append(f"{i} -> {got}")

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not errors


def test_thumbnails(videos: dict[str, Path]) -> None:
    with open_video(videos["h264.mp4"]) as v:
        thumbs = v.thumbnails(6, height=40)
        assert len(thumbs) == 6
        assert all(rgb.shape == (40, 53, 3) for _, rgb in thumbs)
        times = [t for t, _ in thumbs]
        assert times == sorted(times)
        for t, rgb in thumbs:  # each carries the time of the frame it shows
            assert read_index(rgb) == v.index_at(t)
        exact = v.thumbnails(6, height=40, exact=True)
        span = v.duration / 6
        assert [read_index(rgb) for _, rgb in exact] == [v.index_at((j + 0.5) * span) for j in range(6)]
        progress: list[Progress] = []
        assert len(run(v.thumbnails_task(4), on_progress=progress.append)) == 4
        assert progress[-1].fraction == 1.0


def test_close_stops_the_worker(videos: dict[str, Path]) -> None:
    v = open_video(videos["h264.mp4"])
    for i in range(20):
        v.frame(i)
    worker = v._engine.worker
    assert worker is not None and worker.is_alive()
    v.close()
    assert not worker.is_alive()
    with pytest.raises(MediaError, match="is closed"):
        v.frame(3)
    v.close()  # twice is fine


# -- time ------------------------------------------------------------------------------------------------
def test_index_at_clamps_and_describes(videos: dict[str, Path]) -> None:
    with open_video(videos["h264.mp4"]) as v:
        assert v.index_at(-5) == 0 and v.index_at(1e9) == 89
        assert v.index_at(0.04 * 10) == 10 and v.index_at(0.04 * 10 - 0.001) == 9
        assert v.time_of(10) == pytest.approx(0.4)
        assert v.duration == pytest.approx(3.6) and v.fps == 25 and v.start_time == 0
        assert (v.width, v.height, v.codec) == (160, 120, "h264")
        assert not v.timestamps.flags.writeable
        with pytest.raises(IndexError):
            v.frame(90)
        with pytest.raises(ValueError):
            v.frame(0, scale=2)
        assert "160x120" in repr(v)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI")
def test_video_starting_after_the_audio_keeps_its_offset(tmp_path: Path) -> None:
    """Times are on the clock audio and video share: a video stream that starts 0.5 s after the
    audio has its first frame at 0.5 s."""
    src, out = tmp_path / "av.mp4", tmp_path / "late.mp4"
    make_index_video(src, 50, 25, audio_rate=16000)
    cmd = ["ffmpeg", "-v", "error", "-i", str(src), "-itsoffset", "0.5", "-i", str(src),
           "-map", "1:v", "-map", "0:a", "-c", "copy", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=60)
    with open_video(out) as v:
        assert v.timestamps[0] == pytest.approx(0.5, abs=1e-6) and v.start_time == 0
        assert read_index(v.frame_at(0.1)) == 0
        assert read_index(v.frame_at(0.5 + 0.04 * 30)) == 30


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI")
def test_origin_is_the_first_decoded_audio_sample_not_the_priming(tmp_path: Path) -> None:
    """Opus in Matroska: the audio packets start 6.5 ms early (pre-skip, dropped by the decoder)
    and ffmpeg moves the video 7 ms late; the video's first frame is 7 ms after audio sample 0."""
    out = tmp_path / "opus.mkv"
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-f", "lavfi",
           "-i", "sine=f=440:sample_rate=48000", "-t", "1", "-c:v", "libx264", "-c:a", "libopus", str(out)]  # fmt: skip
    if subprocess.run(cmd, timeout=60).returncode != 0:
        pytest.skip("this ffmpeg cannot encode Opus")
    with av.open(str(out)) as c:
        first_packet = next(p for p in c.demux(audio=0) if p.size)
        assert first_packet.pts * first_packet.time_base < 0  # the priming, before the origin
    with av.open(str(out)) as c:
        video_start = float(c.streams.video[0].start_time * c.streams.video[0].time_base)
    with open_video(out) as v:
        assert v.start_time == 0.0
        assert v.timestamps[0] == pytest.approx(video_start, abs=1e-6) and v.timestamps[0] > 0


def test_repaired_times_of_duplicated_and_missing_pts() -> None:
    from fractions import Fraction

    pts = np.arange(20, dtype=np.int64) * 3600 + 48600
    pts[7], pts[9] = pts[6], pts[8]  # guessed twice by a demuxer, as seen in MPEG-PS
    pts[12] = _video_index._NO_PTS
    pts[0] = pts[1]
    times = _video_index._repaired_times(pts, Fraction(1, 90000), 540000, 25.0)
    np.testing.assert_allclose(times, np.arange(20) * 0.04, atol=1e-9)


# -- the index cache -----------------------------------------------------------------------------------------
def test_index_is_cached_and_invalidated_by_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    make_index_video(path, 30, 25, texture=False)
    with open_video(path) as v:
        assert v.frame_count == 30
    entries = list(cache_dir("video").glob("*.npz"))
    assert len(entries) == 1
    stamp = entries[0].stat().st_mtime_ns
    with open_video(path) as v:
        assert v.frame_count == 30
    assert entries[0].stat().st_mtime_ns == stamp  # reused, not rebuilt
    make_index_video(path, 45, 25, texture=False)
    with open_video(path) as v:
        assert v.frame_count == 45
    entries[0].write_bytes(b"garbage")  # a damaged entry is rebuilt
    with open_video(path) as v:
        assert v.frame_count == 45


def test_damaged_index_entries_of_every_kind_are_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    make_index_video(path, 20, 25, texture=False)
    with open_video(path) as v:
        assert v.frame_count == 20
    (entry,) = cache_dir("video").glob("*.npz")
    good = entry.read_bytes()
    damaged = [good[: len(good) // 2], b"PK\x03\x04" + b"\0" * 40, good[:30]]  # truncated zips
    for data in damaged:
        entry.write_bytes(data)
        with open_video(path) as v:
            assert v.frame_count == 20


@pytest.mark.parametrize("rotate, turns", [(90, 1), (180, 2), (270, 3)])
def test_rotated_phone_video_is_shown_upright(tmp_path: Path, rotate: int, turns: int) -> None:
    plain, rotated = tmp_path / "plain.mp4", tmp_path / f"rot{rotate}.mp4"
    make_index_video(plain, 12, 25, size=(160, 96), texture=False)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(plain), "-c", "copy",
                    "-metadata:s:v:0", f"rotate={rotate}", str(rotated)], check=True)  # fmt: skip
    shown = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(rotated), "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout  # fmt: skip
    with open_video(rotated) as v:
        upright = (96, 160) if turns % 2 else (160, 96)
        assert (v.width, v.height) == upright  # as players (and ffmpeg) show it
        first = v.frame(0)
        assert first.shape == (upright[1], upright[0], 3)
        assert np.abs(first.astype(int) - np.frombuffer(shown, np.uint8).reshape(first.shape)).mean() < 2
        for i in (5, 11, 3):
            assert read_index(np.rot90(v.frame(i), -turns)) == i
        assert v.frame(4, scale=0.5).shape == (upright[1] // 2, upright[0] // 2, 3)
        assert [read_index(np.rot90(rgb, -turns)) for _, _, rgb in v.frames(0, 4)] == [0, 1, 2, 3]


def test_open_task_reports_progress_and_can_be_cancelled(videos: dict[str, Path]) -> None:
    progress: list[Progress] = []
    v = run(open_video_task(videos["mpeg1.mpg"]), on_progress=progress.append)
    v.close()
    assert progress and progress[-1].fraction == 1.0
    with pytest.raises(Cancelled):
        run(open_video_task(videos["mpeg4.avi"]), cancel=lambda: True)


# -- bad media ------------------------------------------------------------------------------------------------
def test_bad_files_raise_media_error_naming_them(tmp_path: Path) -> None:
    import soundfile as sf

    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    wav = tmp_path / "speech.mp4"  # a wav with the wrong extension
    sf.write(wav, np.zeros(8000, np.float32), 16000, format="WAV")
    audio = tmp_path / "speech.wav"
    sf.write(audio, np.zeros(8000, np.float32), 16000)
    cases = {
        empty: "empty",
        text: "not a video file",
        wav: r"no video stream \(audio only\)",
        audio: "no video stream",
        tmp_path / "missing.mp4": "no such file",
        tmp_path: "folder",
    }
    for path, problem in cases.items():
        with pytest.raises(MediaError, match=problem) as err:
            open_video(path)
        assert str(path) in str(err.value)
    make_index_video(tmp_path / "one.mkv", 5, 25, texture=False)
    with pytest.raises(MediaError, match="stream 1 does not exist"):
        open_video(tmp_path / "one.mkv", stream=1)


def test_unsupported_codec(tmp_path: Path) -> None:
    path = tmp_path / "odd.avi"
    make_index_video(path, 10, 25, codec="mjpeg", texture=False)
    data = path.read_bytes()
    assert data.count(b"MJPG") >= 1
    path.write_bytes(data.replace(b"MJPG", b"QQQQ"))  # a FourCC no decoder knows
    with pytest.raises(MediaError, match="codec is not supported") as err:
        open_video(path)
    assert str(path) in str(err.value)


def test_truncated_mp4(tmp_path: Path) -> None:
    whole, faststart = tmp_path / "whole.mp4", tmp_path / "fast.mp4"
    make_index_video(whole, 80, 25)
    make_index_video(faststart, 80, 25, container_options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"  # index (moov) at the end: nothing to read without it
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut.mp4"):
        open_video(cut)
    cut2 = tmp_path / "cut2.mp4"  # index at the start: the frames present open and are exact
    cut2.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    with open_video(cut2, readahead=0) as v:
        assert 10 < v.frame_count < 80
        for i in RNG.permutation(v.frame_count)[:20]:
            assert read_index(v.frame(int(i))) == i
        assert [read_index(rgb) for _, _, rgb in v.frames()] == list(range(v.frame_count))


def test_one_frame_video(tmp_path: Path) -> None:
    path = tmp_path / "still.mp4"
    make_index_video(path, 1, 25, texture=False)
    with open_video(path) as v:
        assert v.frame_count == 1 and v.timestamps.tolist() == [0.0]
        assert v.duration == pytest.approx(0.04)
        for t in (-1.0, 0.0, 0.5, 100.0):
            assert read_index(v.frame_at(t)) == 0
        assert [i for i, _, _ in v.frames()] == [0]
        assert len(v.thumbnails(3)) == 3


def test_file_deleted_while_open(tmp_path: Path) -> None:
    path = tmp_path / "gone.mkv"
    make_index_video(path, 40, 25, codec="libx264", bframes=2, gop=10)
    v = open_video(path, readahead=0)
    try:
        assert read_index(v.frame(5)) == 5
        os.remove(path)
        for i in (30, 2, 39):  # the open decoder keeps reading the unlinked file
            assert read_index(v.frame(i)) == i
        with pytest.raises(MediaError, match="gone.mkv"):  # a new decoder cannot open it
            list(v.frames())
    finally:
        v.close()


def test_index_at_refuses_nan(tmp_path):
    p = tmp_path / "n.mp4"
    make_index_video(p, 5, 25)
    with open_video(p) as v, pytest.raises(ValueError, match="finite"):
        v.index_at(float("nan"))
