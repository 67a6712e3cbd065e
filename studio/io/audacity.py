"""Audacity label tracks as written by "Export Labels" (a `.txt` file, one label a line)::

    1.000000<TAB>2.500000<TAB>region label
    3.000000<TAB>3.000000<TAB>point label
    \\<TAB>100.000000<TAB>2000.000000      <- optional: the spectral selection of the label above

We follow Audacity's own reader (LabelStruct::Import): tab is the only delimiter, empty fields
are skipped, a decimal comma is accepted (Audacity in some locales writes "1,500000"), a line
whose second field is not a number is a one-sided (point) label, and a line starting with a
backslash continues the label above it. Audacity orders a label's two times itself, so a
label written end-first is read start-first.

Reading (our decisions): one file is one Audacity track.
- Region labels go to an IntervalTier named after the file (or `tier_name=`), with
  `allow_overlap=True` because Audacity labels may overlap.
- Point labels (start == end) go to a PointTier with the same name when the file has no region
  labels, else to "<name> (points)".
- The spectral selection is kept as `attrs["low_freq"]`, `attrs["high_freq"]` (Hz, floats;
  -1 means "not set", as in Audacity).

Writing: every interval and point tier is merged into the one track, in time order (a warning
names the tiers when there is more than one, since Audacity cannot tell them apart); times have
`precision` decimals (6, as Audacity writes them). Confidences, other attributes, curve tiers
and tabs/newlines inside labels cannot be stored: each is reported in the warnings.

No library: the format is a few lines of tab-separated text, and matching Audacity's own
rules (decimal commas, one-sided labels, continuation lines) matters more than reuse.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from ..core.annotations import Interval, Point
from ..core.session import Session
from ..core.tiers import IntervalTier, PointTier
from .atomic import atomic_write_text
from .errors import AudacityError
from .registry import Format, register
from .text import read_text

__all__ = ["read_audacity", "write_audacity"]


def _number(s: str) -> float | None:
    try:
        v = float(s.strip().replace(",", "."))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_audacity(path: str | os.PathLike[str], *, tier_name: str | None = None, **options: Any) -> Session:
    path = Path(path)
    text, _enc = read_text(path, AudacityError, fallback="cp1252")
    regions: list[Interval] = []
    points: list[Point] = []
    last: tuple[list[Any], int] | None = None  # (list, index) of the label a "\" line continues
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        tokens = [t for t in line.split("\t") if t != ""]
        if tokens[0].strip() == "\\":
            if last is None:
                raise AudacityError(path, "a '\\' continuation line with no label above it", line=lineno)
            if len(tokens) < 3:
                raise AudacityError(
                    path, "a spectral selection line needs a low and a high frequency", line=lineno
                )
            f0, f1 = _number(tokens[1]), _number(tokens[2])
            if f0 is None or f1 is None:
                raise AudacityError(
                    path, f"frequencies {tokens[1]!r}, {tokens[2]!r} are not numbers", line=lineno
                )
            lst, i = last
            lst[i] = lst[i].replace(attrs={**lst[i].attrs, "low_freq": f0, "high_freq": f1})
            continue
        t0 = _number(tokens[0])
        if t0 is None:
            raise AudacityError(path, f"start {tokens[0].strip()!r} is not a number", line=lineno)
        t1 = _number(tokens[1]) if len(tokens) > 1 else None
        if t1 is None:  # one-sided label: the second field is already the title
            t1, title = t0, "\t".join(tokens[1:])
        else:
            title = "\t".join(tokens[2:])
        t0, t1 = min(t0, t1), max(t0, t1)
        try:
            if t0 == t1:
                points.append(Point(t0, title))
                last = (points, len(points) - 1)
            else:
                regions.append(Interval(t0, t1, title))
                last = (regions, len(regions) - 1)
        except ValueError as exc:
            raise AudacityError(path, str(exc), line=lineno) from None
    name = tier_name or path.stem or "labels"
    tiers: list[Any] = []
    if regions or not points:
        tiers.append(IntervalTier(name, regions, allow_overlap=True))
    if points:
        tiers.append(PointTier(f"{name} (points)" if regions else name, points))
    return Session(tiers)


_BAD = re.compile(r"[\t\n\r]+")


def write_audacity(session: Session, path: str | os.PathLike[str], *, precision: int = 6) -> list[str]:
    """Write every interval and point tier into one Audacity label track; returns warnings."""
    warnings: list[str] = []
    tiers = []
    for t in session.tiers:
        if isinstance(t, (IntervalTier, PointTier)):
            tiers.append(t)
        else:
            warnings.append(f"curve tier {t.name!r} left out: Audacity labels hold regions and points only")
    names = [t.name for t in tiers]
    one_track = len(tiers) == 2 and names[1] == f"{names[0]} (points)"
    if len(tiers) > 1 and not one_track:
        warnings.append(
            f"{len(tiers)} tiers merged into one Audacity label track (their names are lost): "
            + ", ".join(map(repr, names))
        )
    q = 10.0**-precision
    rounded = cleaned = confs = 0
    other_attrs: set[str] = set()
    rows: list[tuple[float, float, int, str]] = []

    def fmt(x: float) -> str:
        return f"{x:.{precision}f}"

    for order, t in enumerate(tiers):
        for a in t:
            s, e = a.start, a.end
            if abs(round(s / q) * q - s) > 1e-9 or abs(round(e / q) * q - e) > 1e-9:
                rounded += 1
            label = _BAD.sub(" ", a.label)
            cleaned += label != a.label
            confs += a.confidence is not None
            other_attrs.update(k for k in a.attrs if k not in ("low_freq", "high_freq"))
            line = f"{fmt(s)}\t{fmt(e)}\t{label}\n"
            if "low_freq" in a.attrs or "high_freq" in a.attrs:
                f0 = _number(str(a.attrs.get("low_freq", -1)))
                f1 = _number(str(a.attrs.get("high_freq", -1)))
                line += f"\\\t{fmt(-1 if f0 is None else f0)}\t{fmt(-1 if f1 is None else f1)}\n"
            rows.append((s, e, order, line))
    if rounded:
        warnings.append(f"{rounded} labels have times rounded to {precision} decimals")
    if cleaned:
        warnings.append(f"{cleaned} labels had tabs or line breaks, written as spaces")
    if confs:
        warnings.append(f"{confs} confidences left out: Audacity labels have none")
    if other_attrs:
        warnings.append(f"attributes not kept by Audacity labels: {sorted(other_attrs)}")
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    atomic_write_text(path, "".join(r[3] for r in rows))
    return warnings


_LINE = re.compile(rb"^(-?\d+([.,]\d*)?([eE][-+]?\d+)?\t|\\\t)")


def _sniff(head: bytes) -> bool:
    """True when the first lines look like Audacity labels (number TAB ...)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    lines = [ln for ln in head.replace(b"\r", b"\n").split(b"\n")[:6] if ln.strip()]
    if len(head) >= 4096 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    return bool(lines) and all(_LINE.match(ln) for ln in lines)


register(
    Format(
        "audacity",
        (".txt",),
        "Audacity label track",
        read=read_audacity,
        write=write_audacity,
        sniff=_sniff,
        aliases=("labels",),
    )
)
