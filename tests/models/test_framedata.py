"""Frame data for fusion models (`studio.models.framedata`) on real media: the demo GRID clip and AMI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio import io
from studio.core.annotations import Interval
from studio.core.tiers import CurveTier, IntervalTier
from studio.media.features import extract_many
from studio.models.framedata import (
    AUDIO_NAMES,
    TEXT_DIM,
    VIDEO_NAMES,
    FrameData,
    collapse,
    embed_word,
    frame_data,
    labels_from_rttm,
    read_uem,
    union_tier,
)

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
MEDIA = DEMO / "swwp2s.mpg"
HOP = 0.04


@pytest.fixture(scope="module")
def words() -> IntervalTier:
    return io.read(DEMO / "demo.studio").tier("words")


@pytest.fixture(scope="module")
def demo(words) -> FrameData:
    speech = union_tier([(w.start, w.end) for w in words])
    return frame_data(
        MEDIA, labels=speech, text=words, classes=["non-speech", "speech"], background="non-speech"
    )


def align_speech(t: np.ndarray) -> np.ndarray:
    """Frames whose centre lies in a non-silence interval of the hand alignment (1/25000 s units)."""
    speech = np.zeros(t.shape, bool)
    for line in (DEMO / "swwp2s.align").read_text().splitlines():
        a, b, w = line.split()
        if w != "sil":
            speech |= (t >= int(a) / 25000) & (t < int(b) / 25000)
    return speech


def test_frames_on_the_grid_and_audio_is_the_window_mean_standardised(demo):
    assert demo.dims() == {"audio": len(AUDIO_NAMES), "video": len(VIDEO_NAMES), "text": TEXT_DIM}
    assert 74 <= demo.T <= 76  # a 3 s clip at 25 fps
    np.testing.assert_allclose(demo.times(), np.arange(demo.T) * HOP)
    # by hand: each frame is the mean of the 10 ms log-mel frames centred in [t - hop/2, t + hop/2)
    mel = extract_many(MEDIA, ["logmel"], n_mels=40)["logmel"]
    raw = np.stack(
        [
            mel.values[(mel.times >= t - HOP / 2 - 1e-9) & (mel.times < t + HOP / 2 - 1e-9)].mean(0)
            for t in demo.times()
        ]
    )
    expect = (raw - raw.mean(0)) / (raw.std(0) + 1e-6)
    np.testing.assert_allclose(demo.features["audio"][:, :40], expect, atol=2e-3)
    assert demo.present["audio"].all()
    a = demo.features["audio"]
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(a.std(0), 1, atol=1e-3)
    # the energy dim follows speech: louder where the hand alignment says speech
    speech = align_speech(demo.times())
    assert a[speech, -1].mean() > a[~speech, -1].mean() + 1.0


def test_labels_from_the_demo_word_tier_match_the_align_file(demo):
    assert demo.classes == ["non-speech", "speech"]
    assert demo.labels.dtype == np.int64
    speech = align_speech(demo.times())
    agreement = float(np.mean((demo.labels == 1) == speech))
    assert agreement > 0.95
    assert 0.3 < speech.mean() < 0.8  # both classes occur


def test_video_present_where_the_face_is(demo):
    v, p = demo.features["video"], demo.present["video"]
    assert p.mean() > 0.95  # a talking head fills the whole clip
    assert np.isfinite(v).all() and v[p].std(0).min() > 0.5
    # the mouth moves more while speaking than in the silences around the sentence
    speech = align_speech(demo.times())
    assert v[speech & p, 0].mean() > v[~speech & p, 0].mean()


def test_text_embedding_equal_for_equal_words_zero_between(demo, words):
    x, p = demo.features["text"], demo.present["text"]
    t = demo.times()
    for w in words:
        inside = (t >= w.start) & (t < w.end)
        assert p[inside].all()
        np.testing.assert_array_equal(x[inside], np.broadcast_to(embed_word(w.label), x[inside].shape))
    assert not p[t < words[0].start].any() and not x[~p].any()
    assert np.allclose(np.linalg.norm(x[p], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(embed_word("Set"), embed_word("set"))
    assert not np.allclose(embed_word("set"), embed_word("soon"))
    # shared spelling brings words closer than unrelated ones
    assert embed_word("walking") @ embed_word("walked") > embed_word("walking") @ embed_word("seven")


def test_label_classes_background_and_annotated_span(words):
    d = frame_data(MEDIA, modalities=("audio",), labels=words, annotated=[(0.0, 2.0)])
    assert d.classes[0] == "-" and d.classes[1:] == [w.label for w in words]
    t = d.times()
    assert np.all(d.labels[t >= 2.0] == -1)
    k = int(np.argmin(np.abs(t - (words[1].start + words[1].end) / 2)))
    assert d.classes[d.labels[k]] == words[1].label
    assert d.labels[0] == 0  # before the first word: the background class
    with pytest.raises(ValueError, match="not in the classes"):
        frame_data(MEDIA, modalities=("audio",), labels=words, classes=["-", "set"])
    speech = IntervalTier("speech", [Interval(0.5, 2.2, "speech")])
    with pytest.raises(ValueError, match="background class '-' is not among the classes"):
        frame_data(MEDIA, modalities=("audio",), labels=speech, classes=["non-speech", "speech"])


def test_curve_tier_gives_regression_targets():
    curve = CurveTier("arousal", np.linspace(0.0, 1.0, 11), rate=5.0, start=0.5)  # 0.5 .. 2.5 s
    d = frame_data(MEDIA, modalities=("audio",), labels=curve)
    assert d.classes is None and d.labels.dtype == np.float32 and d.task == "regression"
    t = d.times()
    inside = (t >= 0.5) & (t <= 2.5)
    np.testing.assert_allclose(d.labels[inside], (t[inside] - 0.5) / 2.0, atol=1e-6)
    assert np.isnan(d.labels[~inside]).all()


def test_collapse_against_a_hand_computation():
    times = np.arange(10) * 0.1  # 0.0 .. 0.9
    values = np.stack([np.arange(10.0), np.arange(10.0) ** 2], axis=1)
    segs = [(0.0, 0.3), (0.25, 0.65), (0.52, 0.54), (5.0, 6.0)]
    out = collapse(values, times, segs)
    np.testing.assert_allclose(out[0], [(0 + 1 + 2) / 3, (0 + 1 + 4) / 3])  # frames 0, 1, 2
    np.testing.assert_allclose(out[1], [(3 + 4 + 5 + 6) / 4, (9 + 16 + 25 + 36) / 4])  # 0.3 .. 0.6
    np.testing.assert_allclose(out[2], [5, 25])  # shorter than a frame: the nearest frame (0.5)
    assert np.isnan(out[3]).all()  # no frame there
    np.testing.assert_allclose(collapse(values[:, 0], times, segs[:2], how="max"), [2, 6])
    labels = np.array([0, 0, 1, 1, 1, -1, -1, -1, 2, 2])
    assert collapse(labels, times, [(0.0, 0.5), (0.45, 0.85), (0.5, 0.8)], how="mode").tolist() == [1, 2, -1]
    gap = np.where(times[:, None] < 0.5, values, np.nan)  # frames 5.. have no value (no face)
    np.testing.assert_allclose(collapse(gap, times, [(0.3, 0.7)]), [[3.5, 12.5]])
    assert np.isnan(collapse(gap, times, [(0.6, 0.9)], how="median")).all()
    with pytest.raises(ValueError, match="unknown collapse"):
        collapse(values, times, segs, how="sum")


def test_select_and_runs(demo):
    mask = demo.times() >= 1.0
    s = demo.select(mask)
    assert s.T == int(mask.sum()) and s.start == pytest.approx(1.0) and s.frame_times is None
    np.testing.assert_array_equal(s.features["audio"], demo.features["audio"][mask])
    np.testing.assert_array_equal(s.labels, demo.labels[mask])
    np.testing.assert_allclose(s.times(), demo.times()[mask])
    gappy = np.zeros(demo.T, bool)
    gappy[[2, 3, 10, 40]] = True
    g = demo.select(gappy)
    np.testing.assert_allclose(g.times(), demo.times()[gappy])
    np.testing.assert_array_equal(g.present["text"], demo.present["text"][gappy])
    runs = demo.runs(gappy)
    assert [r.T for r in runs] == [2, 1, 1] and runs[1].start == pytest.approx(10 * HOP)
    with pytest.raises(ValueError, match="mask has shape"):
        demo.select(np.ones(3, bool))


def test_rttm_labels_against_the_file(shared_data):
    rttm = shared_data / "ami" / "debug.development.rttm"
    turns: dict[str, list[tuple[float, float]]] = {}
    for line in rttm.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER" and f[1] == "dev00":
            turns.setdefault(f[7], []).append((float(f[3]), float(f[3]) + float(f[4])))
    got = labels_from_rttm(rttm, "dev00")
    assert sorted(got.speakers) == sorted(turns)
    t = np.arange(0, 30, 0.01)
    expect_speech = np.zeros(t.shape, bool)
    for spans in turns.values():
        for a, b in spans:
            expect_speech |= (t >= a) & (t < b)
    speech = np.array([got.speech.at(x) is not None for x in t])
    np.testing.assert_array_equal(speech, expect_speech)
    for x in t[::7]:
        who = [s for s, spans in turns.items() if any(a <= x < b for a, b in spans)]
        iv = got.speaker.at(x)
        assert (iv.label if iv else None) == (None if not who else who[0] if len(who) == 1 else "overlap")
    assert read_uem(shared_data / "ami" / "debug.development.uem", "dev00") == [(0.0, 30.0)]
    with pytest.raises(ValueError, match="holds 2 recordings"):
        labels_from_rttm(rttm)
    # frame labels of the AMI file, annotated part only
    d = frame_data(shared_data / "ami" / "dev00.wav", labels=got.speech, annotated=[(0.0, 20.0)])
    assert d.classes == ["-", "speech"]
    inside = d.times() < 20.0
    np.testing.assert_array_equal(
        d.labels[inside] == 1, [got.speech.at(x) is not None for x in d.times()[inside]]
    )
    assert (d.labels[~inside] == -1).all()


def test_media_without_video_has_no_video_present(tmp_path):
    rate = 16000
    t = np.arange(rate * 2) / rate
    sig = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 1.0)).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, sig, rate)
    d = frame_data(path)
    assert d.T == 51 and d.dims() == {"audio": len(AUDIO_NAMES), "video": len(VIDEO_NAMES)}
    assert not d.present["video"].any() and not d.features["video"].any()
    assert d.present["audio"].all()
    assert d.features["audio"][d.times() > 1.1, -1].min() > d.features["audio"][d.times() < 0.9, -1].max()
    with pytest.raises(ValueError, match="no video stream"):
        frame_data(path, modalities=("video",))


def test_errors_name_the_problem(tmp_path, words):
    missing = tmp_path / "nowhere.mpg"
    with pytest.raises(FileNotFoundError, match="nowhere.mpg"):
        frame_data(missing)
    with pytest.raises(ValueError, match="'empty' has no labelled intervals"):
        frame_data(MEDIA, modalities=("audio",), labels=IntervalTier("empty"))
    with pytest.raises(ValueError, match="'blank' has no labelled intervals"):
        frame_data(MEDIA, modalities=("audio",), labels=IntervalTier("blank", [Interval(0.1, 0.5, " ")]))
    with pytest.raises(ValueError, match="unknown modality 'smell'"):
        frame_data(MEDIA, modalities=("audio", "smell"))
    with pytest.raises(ValueError, match="needs a tier of words"):
        frame_data(MEDIA, modalities=("text",))
    with pytest.raises(ValueError, match="different frame counts"):
        FrameData(
            {"audio": np.zeros((4, 2))}, {"audio": np.ones(4, bool)}, HOP, labels=np.zeros(5), classes=["a"]
        )
