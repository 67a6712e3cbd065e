"""AudioSource on real encoded files made by ffmpeg, and every kind of bad input."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.media.audio import open_audio, open_audio_task
from studio.media.cache import cache_dir
from studio.media.probe import MediaError
from studio.tasks.base import Cancelled, run

RATE = 44100


def tone(seconds: float = 1.0, rate: int = RATE, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = 0.25 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right][:channels]).astype(np.float32)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("audio") / "tone.wav"
    sf.write(p, tone().T, RATE, subtype="FLOAT")
    return p


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def test_wav_is_read_in_place_exactly(wav: Path):
    with open_audio(wav) as a:
        assert not a.decoded
        assert (a.sample_rate, a.channels, a.frames) == (RATE, 2, RATE)
        assert a.duration == pytest.approx(1.0)
        np.testing.assert_array_equal(a.read(), tone())
        np.testing.assert_array_equal(a.read(1000, 1100), tone()[:, 1000:1100])
        np.testing.assert_array_equal(a.read_time(0.5, 0.6), tone()[:, 22050:26460])
        blocks = list(a.blocks(10000))
        assert [s for s, _ in blocks] == list(range(0, RATE, 10000))
        np.testing.assert_array_equal(np.concatenate([b for _, b in blocks], axis=1), tone())
        # ranges are clipped to the file
        assert a.read(RATE - 10, RATE + 500).shape == (2, 10)
        assert a.read(500, 400).shape == (2, 0)


def test_flac_is_lossless_and_in_place(tmp_path: Path):
    p = tmp_path / "t.flac"
    data = (np.round(tone() * 32767) / 32767).astype(np.float32)
    sf.write(p, data.T, RATE, subtype="PCM_16")
    with open_audio(p) as a:
        assert not a.decoded
        np.testing.assert_allclose(a.read(), data, atol=1 / 32767)


@pytest.mark.parametrize(
    "suffix, codec_args",
    [
        (".mp3", ["-c:a", "libmp3lame"]),
        (".m4a", ["-c:a", "aac"]),
        (".ogg", ["-c:a", "libvorbis"]),
        (".opus", ["-c:a", "libopus"]),
    ],
)
def test_compressed_audio_is_decoded_once_into_the_cache(wav: Path, tmp_path: Path, suffix: str, codec_args):
    p = tmp_path / f"t{suffix}"
    ffmpeg("-i", str(wav), *codec_args, str(p))
    a = open_audio(p)
    assert a.decoded and a.data_path.parent == cache_dir("audio")
    assert a.channels == 2
    assert a.duration == pytest.approx(1.0, abs=0.06)  # encoder padding (AAC priming) is tolerated
    x = a.read()
    mid = a.frames // 2
    assert dominant_hz(x[0, mid - 8192 : mid + 8192], a.sample_rate) == pytest.approx(440, abs=5)
    assert dominant_hz(x[1, mid - 8192 : mid + 8192], a.sample_rate) == pytest.approx(660, abs=5)
    a.close()
    # reopening reuses the decode: no new cache entry, same data
    before = sorted(cache_dir("audio").iterdir())
    with open_audio(p) as b:
        assert b.data_path == a.data_path
        np.testing.assert_array_equal(b.read(), x)
    assert sorted(cache_dir("audio").iterdir()) == before


def test_a_damaged_cached_decode_is_decoded_again(wav: Path, tmp_path: Path):
    p = tmp_path / "t.ogg"
    ffmpeg("-i", str(wav), "-c:a", "libvorbis", str(p))
    with open_audio(p) as a:
        x, cached = a.read(), a.data_path
    cached.write_bytes(cached.read_bytes()[:20])  # e.g. damaged on disk: not even a header
    with open_audio(p) as b:
        np.testing.assert_array_equal(b.read(), x)


@pytest.mark.parametrize(
    "suffix, vcodec, acodec",
    [
        (".mp4", "libx264", "aac"),
        (".mkv", "libx264", "libopus"),
        (".mov", "libx264", "aac"),
        (".avi", "mpeg4", "libmp3lame"),
        (".webm", "libvpx", "libvorbis"),
        (".mpg", "mpeg1video", "mp2"),
    ],
)
def test_audio_stream_of_video_containers(wav: Path, tmp_path: Path, suffix: str, vcodec: str, acodec: str):
    p = tmp_path / f"clip{suffix}"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-i", str(wav),
           "-c:v", vcodec, "-c:a", acodec, "-shortest", str(p))  # fmt: skip
    with open_audio(p) as a:
        assert a.decoded and a.channels == 2
        assert 0.9 < a.duration < 1.2
        x = a.read()
        mid = a.frames // 2
        assert dominant_hz(x[0, mid - 8192 : mid + 8192], a.sample_rate) == pytest.approx(440, abs=5)


def test_audio_starting_after_the_video_is_padded_onto_the_video_clock(tmp_path: Path):
    from studio.media.video import open_video

    p = tmp_path / "late_sound.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=2", "-itsoffset", "0.5",
           "-f", "lavfi", "-i", "sine=f=440:d=1.5:r=44100", "-c:v", "libx264", "-c:a", "aac", str(p))  # fmt: skip
    with open_audio(p) as a, open_video(p) as v:
        assert v.timestamps[0] == 0.0
        x = a.read()[0]
        onset = int(np.argmax(np.abs(x) > 0.01)) / a.sample_rate
        assert onset == pytest.approx(0.5, abs=0.005)
        assert a.duration == pytest.approx(2.0, abs=0.03)


def test_grid_clip_audio(shared_data: Path):
    with open_audio(shared_data / "grid" / "swwp2s.mpg") as a:
        assert a.sample_rate > 0 and 2.5 < a.duration < 3.5
        assert np.abs(a.read()).max() > 0.05  # speech, not silence


def test_resampled_view_random_reads_equal_streaming(wav: Path):
    with open_audio(wav) as a:
        r = a.resampled(16000, mono=True)
        assert (r.sample_rate, r.channels, r.frames) == (16000, 1, 16000)
        whole = r.read()
        streamed = np.concatenate([b for _, b in r.blocks(3000)], axis=1)
        assert streamed.shape == whole.shape
        np.testing.assert_allclose(streamed, whole, atol=1e-5)
        for start in (0, 123, 5000, 15000):
            np.testing.assert_allclose(r.read(start, start + 700), whole[:, start : start + 700], atol=1e-5)
        # mono mix of 440 Hz (0.5) and 660 Hz (0.25): 440 dominates and survives resampling
        assert dominant_hz(whole[0, 4000:12000], 16000) == pytest.approx(440, abs=3)
        np.testing.assert_allclose(a.load(16000, mono=True), whole)
        assert a.load(mono=True).shape == (1, RATE)


def test_blocks_need_a_positive_size_and_label_clipped_starts(wav: Path):
    with open_audio(wav) as a:
        for view in (a, a.resampled(16000), a.resampled(RATE, mono=True)):
            for bad in (0, -5):
                with pytest.raises(ValueError, match="block"):
                    next(iter(view.blocks(bad)))  # was an endless loop of empty blocks (or nothing)
            first, data = next(iter(view.blocks(1000, start=-300)))  # starts before the file: clipped
            assert first == 0
            np.testing.assert_allclose(data, view.read(0, 1000), atol=1e-6)


def test_decode_task_reports_progress_and_cancel_leaves_nothing(tmp_path: Path):
    p = tmp_path / "long.ogg"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:d=60:r=44100", "-ac", "2", "-c:a", "libvorbis", str(p))
    seen = []

    def on_progress(progress):
        seen.append(progress.fraction)

    with pytest.raises(Cancelled):
        run(open_audio_task(p), on_progress=on_progress, cancel=lambda: len(seen) >= 2)
    assert list(cache_dir("audio").iterdir()) == []  # no cache entry, no temporary file
    fractions = []
    a = run(open_audio_task(p), on_progress=lambda pr: fractions.append(pr.fraction))
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1.0 and len(fractions) >= 5
    assert a.duration == pytest.approx(60, abs=0.05)


def test_mislabelled_file_is_read_by_content(wav: Path, tmp_path: Path):
    p = tmp_path / "really_mp3.wav"
    ffmpeg("-i", str(wav), "-f", "mp3", str(p))
    with open_audio(p) as a:
        assert a.decoded and a.channels == 2


# -- bad media ---------------------------------------------------------------------------------


def error_for(path: Path) -> str:
    with pytest.raises(MediaError) as info:
        open_audio(path)
    assert str(path) in str(info.value)
    return info.value.problem


def test_missing_and_empty_files(tmp_path: Path):
    assert "no such file" in error_for(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    assert "empty" in error_for(tmp_path / "empty.wav")
    (tmp_path / "folder.wav").mkdir()
    assert "folder" in error_for(tmp_path / "folder.wav")


def test_zero_sample_audio(tmp_path: Path):
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros((0, 1), np.float32), 16000)
    assert "no audio samples" in error_for(p)
    q = tmp_path / "zero.ogg"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", "-c:a", "libvorbis", str(q))
    problem = error_for(q)
    assert "no audio" in problem or "not a media file" in problem


def test_text_file_with_audio_extension(tmp_path: Path):
    p = tmp_path / "notes.mp3"
    p.write_text("these are my notes, not audio\n" * 20)
    assert "not a media file" in error_for(p)
    q = tmp_path / "notes.wav"
    q.write_text("RIFF? no\n" * 20)
    assert "not a media file" in error_for(q)


def test_truncated_mp4_gives_what_is_decodable_or_a_clear_error(wav: Path, tmp_path: Path):
    full = tmp_path / "full.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-i", str(wav),
           "-c:v", "libx264", "-c:a", "aac", "-shortest", str(full))  # fmt: skip
    cut = tmp_path / "cut.mp4"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    try:
        a = open_audio(cut)
    except MediaError as exc:
        assert str(cut) in str(exc)
    else:
        assert 0 < a.duration <= 1.1


def test_unsupported_codec(tmp_path: Path):
    p = tmp_path / "odd.wav"
    samples = b"\x00" * 400
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 8000, 16000, 2, 16)  # a WAVE format tag nobody decodes
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
    )
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    problem = error_for(p)
    assert "could not be decoded" in problem or "not a media file" in problem


def test_video_without_audio(tmp_path: Path):
    p = tmp_path / "silent_film.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=0.4", "-c:v", "libx264", str(p))
    assert "has no audio stream (video only)" in error_for(p)


def test_missing_stream_index(wav: Path, tmp_path: Path):
    p = tmp_path / "one.mkv"
    ffmpeg("-i", str(wav), "-c:a", "libopus", str(p))
    with pytest.raises(MediaError, match="stream 3 does not exist"):
        open_audio(p, stream=3)


def test_file_that_disappears_or_shrinks_while_open(wav: Path, tmp_path: Path):
    p = tmp_path / "moving.wav"
    shutil.copy(wav, p)
    a = open_audio(p)
    os.unlink(p)  # the open handle keeps reading the data (POSIX)
    assert a.read(0, 100).shape == (2, 100)
    a.close()
    with pytest.raises(MediaError, match="is closed"):
        a.read(0, 10)
    shutil.copy(wav, p)
    b = open_audio(p)
    with open(p, "r+b") as f:  # someone truncates the file under us
        f.truncate(2000)
    with pytest.raises(MediaError, match=str(p)):
        b.read(0, RATE)
    b.close()


def test_unwritable_cache_folder_falls_back_to_a_temp_folder(tmp_path: Path, monkeypatch, wav: Path):
    blocked = tmp_path / "file_not_folder"
    blocked.write_text("x")
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(blocked / "cache"))
    p = tmp_path / "t.ogg"
    ffmpeg("-i", str(wav), "-c:a", "libvorbis", str(p))
    with open_audio(p) as a:
        assert a.decoded and not str(a.data_path).startswith(str(blocked))


def test_text_that_ffmpeg_reads_as_subtitles_is_not_media(tmp_path: Path):
    p = tmp_path / "lyrics.mp4"
    p.write_text("[00:01.00]first line\n[00:02.50]second line\n")
    assert "no audio or video stream" in error_for(p)


def test_cache_keeps_under_its_limit_by_dropping_least_recently_used(wav: Path, tmp_path: Path, monkeypatch):
    from studio.media import cache

    decoded = []
    for i in range(3):
        p = tmp_path / f"take{i}.ogg"
        ffmpeg("-i", str(wav), "-c:a", "libvorbis", "-ar", str(RATE - i), str(p))
        with open_audio(p) as a:
            decoded.append(a.data_path)
    size = decoded[0].stat().st_size
    past = 1_000_000_000
    for i, d in enumerate(decoded):  # take0 used longest ago ... take2 most recently
        os.utime(d, (past + i, past + i))
    monkeypatch.setenv("STUDIO_CACHE_MAX_GB", str(2.5 * size / 2**30))
    with open_audio(tmp_path / "take0.ogg"):  # a reopen marks take0 as used now
        pass
    p = tmp_path / "take3.ogg"
    ffmpeg("-i", str(wav), "-c:a", "libvorbis", str(p))
    with open_audio(p) as a:  # this decode pushes the cache over 2.5 entries: take1 and take2 go
        assert a.data_path.exists()
    assert decoded[0].exists() and not decoded[1].exists() and not decoded[2].exists()
    assert cache.usage()["audio"][0] == 2
    assert cache.clear() > 0 and cache.usage() == {}
