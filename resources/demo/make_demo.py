"""Builds resources/demo/demo.studio from the GRID clip and its word alignment (run from the repo root).

python resources/demo/make_demo.py
"""

from __future__ import annotations

from pathlib import Path

from studio.core import Interval, IntervalTier, MediaRef, Session
from studio.io.native import write_session_file

HERE = Path(__file__).resolve().parent
GRID_UNITS = 25000.0  # GRID .align times are in 1/25000 s


def build() -> Session:
    words = []
    for line in (HERE / "swwp2s.align").read_text().split("\n"):
        if not line.strip():
            continue
        start, end, word = line.split()
        if word != "sil":
            words.append(
                Interval(int(start) / GRID_UNITS, int(end) / GRID_UNITS, word, id=f"w{len(words) + 1}")
            )
    utterance = Interval(words[0].start, words[-1].end, " ".join(w.label for w in words), id="u1")
    return Session(
        tiers=[
            IntervalTier("transcript", [utterance]),
            IntervalTier("words", words, parent="transcript", attrs={"source": "GRID corpus alignment"}),
        ],
        media=[MediaRef(str(HERE / "swwp2s.mpg"), kind="video")],
        metadata={
            "title": "GRID talking head: 'set white with p two soon'",
            "media_duration": 3.0,
            "licence": "GRID corpus (Cooke, Barker, Cunningham, Shao 2006), CC BY 4.0",
        },
    )


if __name__ == "__main__":
    write_session_file(build(), HERE / "demo.studio")
    print(f"wrote {HERE / 'demo.studio'}")
