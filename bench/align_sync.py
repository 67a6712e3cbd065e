"""Stream sync accuracy on real speech: every GRID clip against itself with its audio shifted.

    python bench/align_sync.py            # prints a markdown table (docs/alignment.md has a copy)

For each clip and each shift d in (±0.2 s, ±1 s) the audio (16 kHz mono) is delayed by d (silence
prepended) or advanced (start cut), light noise added; `sync_audio` (audio ↔ audio) and `sync_av`
(mouth motion of the video ↔ loudness of the shifted audio) must recover offset = -d. Reported:
absolute error in ms per method, and the share of estimates within 40 ms (one video frame).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.align.sync import sync_audio, sync_av  # noqa: E402
from studio.media.audio import open_audio  # noqa: E402

GRID = ROOT.parent / "shared" / "data" / "grid"
SHIFTS = (0.2, -0.2, 1.0, -1.0)
RATE = 16000


def main() -> None:
    clips = sorted(GRID.glob("*.mpg"))
    if not clips:
        sys.exit(f"no GRID clips in {GRID}")
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("STUDIO_CACHE_DIR", str(tmp / "cache"))
    rng = np.random.default_rng(0)
    rows, errs = [], {"audio": [], "av": []}
    t_start = time.perf_counter()
    for clip in clips:
        x = open_audio(clip).load(RATE, mono=True)[0]
        cells = []
        for d in SHIFTS:
            k = int(round(abs(d) * RATE))
            y = np.concatenate([np.zeros(k, np.float32), x]) if d > 0 else x[k:]
            y = y + 0.003 * rng.standard_normal(len(y)).astype(np.float32)
            a, b = tmp / "a.wav", tmp / "b.wav"
            sf.write(a, x, RATE)
            sf.write(b, y, RATE)
            ea = abs(sync_audio(a, b).offset + d) * 1000
            ev = abs(sync_av(clip, b).offset + d) * 1000
            errs["audio"].append(ea)
            errs["av"].append(ev)
            cells.append(f"{ea:.0f} / {ev:.0f}")
        rows.append(f"| {clip.stem} | " + " | ".join(cells) + " |")
    print("Error in ms, audio↔audio / audio↔video (mouth motion), per shift of the audio:\n")
    print("| clip | " + " | ".join(f"{d:+.1f} s" for d in SHIFTS) + " |")
    print("|---|" + "---|" * len(SHIFTS))
    print("\n".join(rows))
    for method, e in errs.items():
        e = np.array(e)
        print(
            f"\n{method}: median {np.median(e):.1f} ms, max {e.max():.1f} ms, "
            f"within 40 ms: {np.mean(e <= 40) * 100:.0f} % of {len(e)}"
        )
    print(f"\n({time.perf_counter() - t_start:.1f} s)")


if __name__ == "__main__":
    main()
