"""Shared fixtures. Test data lives in tests/data (see tests/data/README.md for sources and licences)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout (GRID, AMI, conversation); skip if this clone has none."""
    if not SHARED.is_dir():
        pytest.skip(f"no shared data at {SHARED}")
    return SHARED


# CI runs the same Hypothesis examples every time (a red CI is then reproducible, never a
# chance find); local runs explore new examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="module")
def demo_speech():
    """(A, B): log-mel of the demo recording (A) and of espeak saying its words (B), 10 ms hop."""
    from studio.align import espeak
    from studio.align.tts_dtw import features_for_alignment
    from studio.media.audio import open_audio

    with open_audio(Path(__file__).resolve().parents[1] / "resources" / "demo" / "swwp2s.mpg") as src:
        a = src.resampled(16000, mono=True).load().reshape(-1)
    syn = espeak.synthesize("set white with p two soon")
    return features_for_alignment(a, 16000, "logmel"), features_for_alignment(
        syn.samples, syn.sample_rate, "logmel"
    )
