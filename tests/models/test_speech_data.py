"""The speech-activity data of the shipped demo model (`studio.models.speech_data`): GRID + AMI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.media.audio import open_audio
from studio.models import speech_data as sd
from studio.models.framedata import labels_from_rttm


@pytest.fixture(scope="module")
def heldout_grid():
    root = Path(__file__).resolve().parents[3] / "shared" / "data"  # as the shared_data fixture
    if not root.is_dir():
        pytest.skip(f"no shared data at {root}")
    return sd.speech_activity_data("heldout", ami=False, root=root)


def test_grid_sentences_from_names(shared_data):
    assert sd.grid_sentence("bbaf2n") == "bin blue at f two now"
    assert sd.grid_sentence("lwbsza") == "lay white by s zero again"
    with pytest.raises(ValueError, match="not a GRID clip name"):
        sd.grid_sentence("xxxx1n")
    clips = sd.grid_clips(shared_data)
    assert len(clips) == 11
    assert [c.name for c in clips if c.align is not None] == ["swwp2s"]
    swwp2s = next(c for c in clips if c.name == "swwp2s")
    words = sd.read_grid_align(swwp2s.align)
    assert " ".join(w.label for w in words) == swwp2s.sentence == "set white with p two soon"


def test_aligned_speech_agrees_with_the_hand_alignment(shared_data):
    """The aligner's speech span of swwp2s (as for the clips without .align) vs. its hand alignment."""
    from studio.tasks.base import run

    clip = next(c for c in sd.grid_clips(shared_data) if c.name == "swwp2s")
    hand = run(sd.speech_tier_of(clip))
    aligned = run(sd.speech_tier_of(sd.GridClip(clip.name, clip.media, clip.sentence, None)))
    t = np.arange(0, 3.0, 0.04)
    h = np.array([hand.at(x) is not None for x in t])
    a = np.array([aligned.at(x) is not None for x in t])
    assert np.mean(h == a) > 0.9


def test_ami_files_and_splits(shared_data):
    files = sd.ami_files(shared_data)
    assert [f.name for f in files if f.split == "dev"] == ["dev00", "dev01"]
    assert len([f for f in files if f.split == "train"]) == 10
    assert all(f.rttm.is_file() and f.uem.is_file() for f in files)


def test_heldout_grid_frame_data(heldout_grid):
    assert sorted(d.source for d in heldout_grid) == sorted(f"{n}.mpg" for n in sd.HELDOUT_GRID)
    for d in heldout_grid:
        assert d.classes == sd.CLASSES and set(np.unique(d.labels)) == {0, 1}
        assert d.present["video"].mean() > 0.9 and d.present["audio"].all()
        assert 0.3 < d.labels.mean() < 0.8


def test_ami_labels_only_inside_the_uem(shared_data):
    data = sd.speech_activity_data("heldout", grid=False, root=shared_data)
    assert [d.source for d in data] == ["dev00.wav", "dev01.wav"]
    for d, name in zip(data, ("dev00", "dev01")):
        uem = sd.read_uem(shared_data / "ami" / "debug.development.uem", name)
        t = d.times()
        inside = np.zeros(d.T, bool)
        for a, b in uem:
            inside |= (t >= a) & (t < b)
        assert (d.labels[~inside] == -1).all() and (d.labels[inside] >= 0).all()
        speech = labels_from_rttm(shared_data / "ami" / "debug.development.rttm", name).speech
        np.testing.assert_array_equal(d.labels[inside] == 1, [speech.at(x) is not None for x in t[inside]])
        assert not d.present["video"].any()


def test_noise_at_the_asked_snr_is_deterministic(shared_data, heldout_grid):
    media = shared_data / "grid" / "swwp2s.mpg"
    noisy, rate = sd.noisy_audio(media, 5.0, root=shared_data)
    again, _ = sd.noisy_audio(media, 5.0, root=shared_data)
    other, _ = sd.noisy_audio(media, 5.0, seed=1, root=shared_data)
    np.testing.assert_array_equal(noisy, again)
    assert not np.array_equal(noisy, other)
    with open_audio(media) as src:
        clean = src.resampled(rate, mono=True).load().reshape(-1)
    noise = noisy.astype(np.float64) - clean
    snr = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(5.0, abs=0.01)
    d = next(x for x in heldout_grid if x.source == "swwp2s.mpg")
    n = sd.with_noise(d, media, 0.0, root=shared_data)
    assert n.T == d.T and n.dims() == d.dims() and "babble 0 dB" in n.source
    np.testing.assert_array_equal(n.features["video"], d.features["video"])
    np.testing.assert_array_equal(n.labels, d.labels)

    # the energy dim separates speech from silence less well in babble
    def separation(x):
        e = x.features["audio"][:, -1]
        return e[x.labels == 1].mean() - e[x.labels == 0].mean()

    assert separation(n) < separation(d)
