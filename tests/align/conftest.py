"""Fixtures shared by the alignment tests."""

import pytest


@pytest.fixture
def grid(shared_data):
    """GRID swwp2s: the clip and the corpus's own word alignment [(start, end, word)], silences left out."""
    ref = []
    for line in (shared_data / "grid" / "swwp2s.align").read_text().split("\n"):
        if line.strip():
            a, b, w = line.split()
            if w != "sil":
                ref.append((int(a) / 25000, int(b) / 25000, w))
    return shared_data / "grid" / "swwp2s.mpg", ref
