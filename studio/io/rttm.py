"""NIST RTTM (Rich Transcription Time Marked): who speaks when, as diarization tools write it.

One line per segment, whitespace-separated, `;;` starts a comment::

    SPEAKER <file> <chnl> <tbeg> <tdur> <ortho> <stype> <name> <conf> <slat>
    SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>

Reading (our decisions):
- SPEAKER lines -> one IntervalTier per speaker, in order of first appearance, named after the
  speaker; when the file holds several file ids (recordings) the tiers are named
  "<file>/<speaker>". Each interval's label is the speaker name.
- A speaker's own turns may overlap in real files (two diarization passes merged): such a tier
  is read with `allow_overlap=True`; we do not merge turns (that would lose boundaries).
- `conf` in [0, 1] -> confidence; any other value (some tools write scores) is kept as text in
  `attrs["rttm_conf"]`; `slat`, `ortho`, `stype` and a channel that differs from the tier's are
  kept in `attrs["rttm_slat"]` etc. The tier keeps `attrs["rttm"] = {"file", "channel",
  "speaker", "type"}` so a write puts them back.
- SPKR-INFO lines (speaker type: adult_male, ...) go to the speaker tier's `attrs["rttm"]["info"]`.
- Other timed types (LEXEME, NON-SPEECH, NON-LEX, FILLER, SU, ...) become their own tiers named
  "<name>/<TYPE>" (or "<TYPE>" when the name is <NA>), label = ortho (or stype when ortho is <NA>).
- Lines with a zero duration (pyannote drops them too) and untimed lines of other types are
  skipped; their line numbers are listed in `session.metadata["rttm"]["skipped"]`.
- A negative duration, a start that is not a number or a line with too few fields is an
  RttmError naming the line.

Writing: every interval tier -> lines of its RTTM type (SPEAKER unless it was read as another
type). The speaker id is the tier name by default (RTTM readers expect speaker ids, and a tier
is a speaker in Studio); `speaker="label"` takes each interval's label instead, for a single
"diarization" tier whose labels are speaker ids. Times are written with `precision` decimals
(3, as pyannote and dscore do); a warning says when that rounds any time.

We parse it ourselves: the format is one `split()` per line, and pyannote.core (the usual
reader) is a heavy dependency that silently drops what it does not understand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.annotations import Interval
from ..core.session import Session
from ..core.tiers import IntervalTier, PointTier
from .atomic import atomic_write_text
from .errors import RttmError
from .registry import Format, register
from .text import decimals, parse_float, read_text, token

__all__ = ["read_rttm", "write_rttm"]

NA = "<NA>"
_FIELDS = "type file channel start duration ortho stype name conf slat"


def read_rttm(path: str | os.PathLike[str], **options: Any) -> Session:
    path = Path(path)
    text, _enc = read_text(path, RttmError, fallback="latin-1")
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    info: dict[tuple[str, str], str] = {}
    skipped: list[int] = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith(";;"):
            continue
        f = line.split()
        if len(f) < 8:
            raise RttmError(path, f"{len(f)} fields; an RTTM line has 10: {_FIELDS}", line=lineno)
        typ, file_id, chnl, tbeg, tdur, ortho, stype, name = f[:8]
        conf = f[8] if len(f) > 8 else NA
        slat = f[9] if len(f) > 9 else NA
        if typ == "SPKR-INFO":
            info[(file_id, name)] = stype
            continue
        if tbeg == NA or tdur == NA:
            if typ == "SPEAKER":
                raise RttmError(path, "a SPEAKER line needs a start time and a duration", line=lineno)
            skipped.append(lineno)
            continue
        start = parse_float(tbeg, "start", path, lineno, RttmError)
        dur = parse_float(tdur, "duration", path, lineno, RttmError)
        if dur < 0:
            raise RttmError(path, f"negative duration {tdur}", line=lineno)
        if dur == 0:
            skipped.append(lineno)
            continue
        # end = start + duration, rounded to the decimals written, so 1.440 + 11.872 is 13.312
        # and not 13.312000000000001.
        end = start + dur
        da, db = decimals(tbeg), decimals(tdur)
        if da is not None and db is not None:
            end = round(end, max(da, db))
        if not end > start:
            skipped.append(lineno)
            continue
        attrs: dict[str, Any] = {}
        confidence = None
        if conf != NA:
            try:
                c = float(conf)
            except ValueError:
                c = -1.0
            if 0.0 <= c <= 1.0:
                confidence = c
            else:
                attrs["rttm_conf"] = conf
        if slat != NA:
            attrs["rttm_slat"] = slat
        if typ == "SPEAKER":
            label = name
            if ortho != NA:
                attrs["rttm_ortho"] = ortho
            if stype != NA:
                attrs["rttm_stype"] = stype
        else:
            label = ortho if ortho != NA else (stype if stype != NA else "")
            if ortho != NA and stype != NA:
                attrs["rttm_stype"] = stype
        g = groups.setdefault((file_id, typ, name), {"channel": chnl, "items": [], "line": lineno})
        if chnl != g["channel"]:
            attrs["rttm_channel"] = chnl
        try:
            g["items"].append(Interval(start, end, label, confidence, attrs=attrs))
        except ValueError as exc:
            raise RttmError(path, str(exc), line=lineno) from None

    several_files = len({k[0] for k in groups}) > 1
    tiers: list[IntervalTier] = []
    used: set[str] = set()
    for (file_id, typ, name), g in groups.items():
        if typ == "SPEAKER":
            tname = name
        else:
            tname = typ if name == NA else f"{name}/{typ}"
        if several_files:
            tname = f"{file_id}/{tname}"
        base, k = tname, 2
        while tname in used:
            tname, k = f"{base} ({k})", k + 1
        used.add(tname)
        meta: dict[str, Any] = {"file": file_id, "channel": g["channel"], "type": typ, "speaker": name}
        if (file_id, name) in info and typ == "SPEAKER":
            meta["info"] = info[(file_id, name)]
        tiers.append(IntervalTier(tname, g["items"], allow_overlap="auto", attrs={"rttm": meta}))
    metadata: dict[str, Any] = {"rttm": {"files": list(dict.fromkeys(k[0] for k in groups))}}
    if skipped:
        metadata["rttm"]["skipped"] = skipped
    return Session(tiers, metadata=metadata)


def write_rttm(
    session: Session,
    path: str | os.PathLike[str],
    *,
    file_id: str | None = None,
    channel: str | None = None,
    speaker: str = "tier",
    precision: int = 3,
) -> list[str]:
    """Write interval tiers as RTTM lines; returns warnings about what RTTM cannot hold."""
    if speaker not in ("tier", "label"):
        raise ValueError(f"speaker must be 'tier' or 'label', not {speaker!r}")
    path = Path(path)
    warnings: list[str] = []
    default_file = file_id or (Path(session.media[0].path).stem if session.media else path.stem) or "file"
    rows: list[tuple[str, float, int, str]] = []
    info_lines: list[str] = []
    rounded = dropped_labels = empty = renamed = 0
    other_attrs: set[str] = set()
    q = 10.0**-precision

    def fmt(t: float) -> str:
        return f"{t:.{precision}f}"

    for order, t in enumerate(session.tiers):
        if isinstance(t, PointTier):
            warnings.append(f"point tier {t.name!r} left out: RTTM holds time spans only")
            continue
        if not isinstance(t, IntervalTier):
            warnings.append(f"curve tier {t.name!r} left out: RTTM holds time spans only")
            continue
        r = t.attrs.get("rttm") if isinstance(t.attrs.get("rttm"), dict) else {}
        typ = token(str(r.get("type", "SPEAKER"))) or "SPEAKER"
        fid = token(file_id or str(r.get("file", default_file))) or "file"
        chnl = token(channel or str(r.get("channel", "1"))) or "1"
        # The tier name is the speaker id, unless it is still the name we built when reading
        # ("<file>/<speaker>", "<speaker>/<TYPE>"): then the stored id is the right one.
        stored = str(r.get("speaker", NA))
        built = {
            stored,
            f"{r.get('file')}/{stored}",
            f"{stored}/{typ}",
            typ,
            f"{r.get('file')}/{stored}/{typ}",
        }
        tier_speaker = stored if "speaker" in r and t.name in built else t.name
        if token(tier_speaker) != tier_speaker:
            renamed += 1
        tier_speaker = token(tier_speaker) or NA
        if typ == "SPEAKER" and "info" in r:
            info_lines.append(
                f"SPKR-INFO {fid} {chnl} <NA> <NA> <NA> {token(str(r['info']))} {tier_speaker} <NA> <NA>"
            )
        for a in t:
            s, e = round(a.start / q) * q, round(a.end / q) * q
            if abs(s - a.start) > 1e-9 or abs(e - a.end) > 1e-9:
                rounded += 1
            if e - s < q / 2:
                empty += 1
                continue
            name = tier_speaker
            ortho = a.attrs.get("rttm_ortho", NA)
            stype = a.attrs.get("rttm_stype", NA)
            if speaker == "label":
                if not a.label.strip():
                    dropped_labels += 1
                    continue
                name = token(a.label)
            elif typ != "SPEAKER":
                ortho = token(a.label) or NA
            elif a.label and a.label != tier_speaker and a.label != stored:
                dropped_labels += 1
            conf = a.attrs.get("rttm_conf", NA) if a.confidence is None else repr(a.confidence)
            slat = a.attrs.get("rttm_slat", NA)
            chn = a.attrs.get("rttm_channel", chnl)
            other_attrs.update(k for k in a.attrs if not k.startswith("rttm_"))
            fields = [typ, fid, chn, fmt(s), fmt(e - s), ortho, stype, name, conf, slat]
            rows.append((fid, s, order, " ".join(token(str(x)) or NA for x in fields)))

    if rounded:
        warnings.append(f"{rounded} annotations have times rounded to {precision} decimals")
    if empty:
        warnings.append(f"{empty} intervals shorter than {q / 2:g} s left out (zero duration after rounding)")
    if dropped_labels:
        what = "intervals with empty labels left out" if speaker == "label" else "labels dropped"
        hint = (
            ""
            if speaker == "label"
            else " (RTTM keeps the speaker = tier name; use speaker='label' for label ids)"
        )
        warnings.append(f"{dropped_labels} {what}{hint}")
    if renamed:
        warnings.append(f"{renamed} speaker ids had white space, written with '_'")
    if other_attrs:
        warnings.append(f"attributes not kept by RTTM: {sorted(other_attrs)}")
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    text = "".join(x + "\n" for x in info_lines) + "".join(r[3] + "\n" for r in rows)
    atomic_write_text(path, text)
    return warnings


def _sniff(head: bytes) -> bool:
    return head.lstrip().startswith((b"SPEAKER ", b"SPKR-INFO ", b";;"))


register(
    Format(
        "rttm",
        (".rttm",),
        "NIST RTTM speaker turns (diarization)",
        read=read_rttm,
        write=write_rttm,
        sniff=_sniff,
    )
)
