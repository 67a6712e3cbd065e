"""CSV and TSV label tables: one annotation per row, for spreadsheets, pandas and R.

Layout (the writer always writes a header; `tier` first)::

    tier,start,end,label[,confidence][,source][,id][,<attribute>...]

- Times are seconds. The writer writes Python's shortest exact float text (`repr`), so a
  write -> read round trip gives back the very same floats.
- An empty `end` cell makes the row a point: a tier's rows must be all points (-> PointTier)
  or all intervals (-> IntervalTier); mixing them in one tier is an error.
- Tiers are created in the order their names first appear. Rows need not be sorted.
- Note: a tier whose intervals overlap is read with `allow_overlap=True` (so a subtitle or label
  track survives); a tier without overlaps gets `allow_overlap=False`.
- `confidence` (empty or a number in [0, 1]), `source` (empty = "human") and `id` (empty = a new
  id) are optional columns. Any other column becomes an attribute (`attrs[column] = cell text`;
  empty cells are left out). Attribute values therefore come back as strings.

Reading is lenient about the header: names are case-insensitive and a few common aliases work
(begin/tmin/onset/start_time for start; stop/tmax/offset/end_time for end; text/word/annotation
for label; conf/score for confidence); a `duration` column is used when there is no end column;
without a `tier` column every row goes to one tier named after the file.

Files without a header are accepted when the first row is data: if its first two cells are
numbers the columns are `start,end,label`, otherwise `tier,start,end,label[,confidence]`.
A `.csv` file whose first line has semicolons but no commas is read with `;` as the delimiter
and `,` accepted as the decimal mark (spreadsheet exports in such locales).

We use the `csv` module (quotes, delimiters and newlines inside labels) rather than pandas:
it is in the standard library, it is fast enough, and it lets errors name the line.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from ..core.annotations import Interval, Point
from ..core.session import Session
from ..core.tiers import IntervalTier, PointTier
from .atomic import atomic_write_text
from .errors import CsvError
from .registry import Format, register
from .text import read_text

__all__ = ["read_csv", "read_tsv", "write_csv", "write_tsv", "read_table", "write_table"]

_ALIASES = {
    "tier": ("tier", "tier_name", "tiername", "tier name"),
    "start": (
        "start",
        "begin",
        "tmin",
        "onset",
        "start_time",
        "begin_time",
        "start time",
        "begin time",
        "from",
    ),
    "end": ("end", "stop", "tmax", "offset", "end_time", "stop_time", "end time", "to"),
    "duration": ("duration", "dur"),
    "label": ("label", "text", "word", "annotation", "value", "transcript"),
    "confidence": ("confidence", "conf", "score"),
    "source": ("source",),
    "id": ("id", "annotation_id"),
}
_COLUMN_OF = {alias: col for col, aliases in _ALIASES.items() for alias in aliases}
_CORE = ("tier", "start", "end", "label", "confidence", "source", "id")


def _number(cell: str, decimal_comma: bool = False) -> float | None:
    if decimal_comma:
        cell = cell.replace(",", ".")
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _header_map(row: list[str], path: Path) -> tuple[dict[str, int], dict[str, int]] | None:
    """Column positions from a header row, or None if `row` is not a header."""
    names = [c.strip().lower() for c in row]
    # A header names a start column and holds no numbers (a data row may have the label "start").
    if not any(_COLUMN_OF.get(n) == "start" for n in names) or any(_number(n) is not None for n in names):
        return None
    core: dict[str, int] = {}
    extra: dict[str, int] = {}
    for i, (raw, n) in enumerate(zip(row, names)):
        col = _COLUMN_OF.get(n)
        if col is not None and col not in core:
            core[col] = i
        elif raw.strip():
            if raw.strip() in extra:
                raise CsvError(path, f"column {raw.strip()!r} appears twice in the header", line=1)
            extra[raw.strip()] = i
    if "end" not in core and "duration" not in core:
        raise CsvError(path, "the header has a start column but no end (or duration) column", line=1)
    return core, extra


def _guess_columns(row: list[str], dc: bool) -> dict[str, int] | None:
    """Columns of a header-less file from its first data row."""
    cells = [c.strip() for c in row]
    if len(cells) >= 2 and _number(cells[0], dc) is not None and _number(cells[1], dc) is not None:
        return {"start": 0, "end": 1, "label": 2}
    if (
        len(cells) >= 3
        and _number(cells[1], dc) is not None
        and (cells[2] == "" or _number(cells[2], dc) is not None)
    ):
        cols = {"tier": 0, "start": 1, "end": 2, "label": 3}
        if len(cells) >= 5:
            cols["confidence"] = 4
        return cols
    return None


def read_table(
    path: str | os.PathLike[str], *, delimiter: str = ",", tier_name: str | None = None
) -> Session:
    """Read a CSV (`delimiter=","`) or TSV (`"\\t"`) label table; see the module docstring."""
    path = Path(path)
    text, _enc = read_text(path, CsvError, fallback="cp1252")
    first_line = text.split("\n", 1)[0]
    if delimiter == "," and "," not in first_line and ";" in first_line:
        delimiter = ";"
    default_tier = tier_name or path.stem or "labels"

    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    tiers: dict[str, dict[str, Any]] = {}  # name -> {"kind", "items", "line"}
    core: dict[str, int] | None = None
    extra: dict[str, int] = {}
    prev_line = 0
    try:
        for row in reader:
            line = prev_line + 1
            prev_line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if core is None:
                found = _header_map(row, path)
                if found is not None:
                    core, extra = found
                    continue
                core = _guess_columns(row, delimiter == ";")
                if core is None:
                    raise CsvError(
                        path,
                        "no header with a 'start' column, and the first row is not "
                        "tier,start,end,label or start,end,label data",
                        line=line,
                    )
                if len(row) > max(core.values()) + 1:
                    raise CsvError(
                        path,
                        f"{len(row)} columns without a header: name the extra columns in a header",
                        line=line,
                    )
            _read_row(row, line, core, extra, tiers, default_tier, path, delimiter == ";")
    except csv.Error as exc:
        raise CsvError(path, f"malformed CSV: {exc}", line=prev_line + 1) from None

    out = []
    for name, t in tiers.items():
        try:
            if t["kind"] == "point":
                out.append(PointTier(name, t["items"]))
            else:
                out.append(IntervalTier(name, t["items"], allow_overlap="auto"))
        except ValueError as exc:  # duplicate ids
            raise CsvError(path, str(exc), line=t["line"]) from None
    return Session(out, metadata={"csv": {"delimiter": delimiter}})


def _read_row(
    row: list[str],
    line: int,
    core: dict[str, int],
    extra: dict[str, int],
    tiers: dict[str, dict[str, Any]],
    default_tier: str,
    path: Path,
    dc: bool,
) -> None:
    def cell(col: str) -> str | None:
        i = core.get(col)
        if i is None:
            return None
        if i >= len(row):
            # Tools often drop trailing empty cells; only the times are required.
            if col in ("start", "end", "duration"):
                raise CsvError(path, f"missing column {col!r} (the row has {len(row)} cells)", line=line)
            return ""
        return row[i]

    def time(col: str) -> float:
        raw = cell(col)
        assert raw is not None
        v = _number(raw.strip(), dc)
        if v is None:
            raise CsvError(path, f"{col} {raw.strip()!r} is not a number", line=line)
        return v

    width = max([*core.values(), *extra.values()]) + 1
    if len(row) > width and any(c.strip() for c in row[width:]):
        raise CsvError(path, f"the row has {len(row)} cells but the header names {width} columns", line=line)

    start = time("start")
    end_raw = cell("end")
    if end_raw is None:  # a duration column instead of end
        dur_raw = cell("duration") or ""
        end = None if not dur_raw.strip() else start + time("duration")
    else:
        end = None if not end_raw.strip() else time("end")

    name = cell("tier")
    name = default_tier if name is None or not name.strip() else name
    label = cell("label") or ""
    conf_raw = (cell("confidence") or "").strip()
    conf: float | None = None
    if conf_raw:
        conf = _number(conf_raw, dc)
        if conf is None or not 0.0 <= conf <= 1.0:
            raise CsvError(path, f"confidence {conf_raw!r} is not a number in [0, 1]", line=line)
    source = (cell("source") or "").strip() or "human"
    ann_id = (cell("id") or "").strip() or None
    attrs = {k: row[i] for k, i in extra.items() if i < len(row) and row[i] != ""}

    kind = "point" if end is None else "interval"
    t = tiers.setdefault(name, {"kind": kind, "items": [], "line": line})
    if t["kind"] != kind:
        raise CsvError(
            path,
            f"tier {name!r} mixes intervals and points (an empty end makes a point); "
            f"its first row, line {t['line']}, is {'a point' if t['kind'] == 'point' else 'an interval'}",
            line=line,
        )
    try:
        if end is None:
            ann: Any = Point(start, label, conf, source, attrs, ann_id)
        else:
            if end < start:
                raise CsvError(path, f"end {end!r} is before start {start!r}", line=line)
            ann = Interval(start, end, label, conf, source, attrs, ann_id)
    except ValueError as exc:
        raise CsvError(path, str(exc), line=line) from None
    t["items"].append(ann)


def _fmt(t: float) -> str:
    return repr(float(t))


def write_table(
    session: Session,
    path: str | os.PathLike[str],
    *,
    delimiter: str = ",",
    ids: bool = False,
    encoding: str = "utf-8",
) -> list[str]:
    """Write every interval and point tier as rows; returns warnings about what was left out.

    `ids=True` adds an `id` column (keeps annotation ids across a round trip)."""
    warnings: list[str] = []
    tiers = []
    for t in session.tiers:
        if isinstance(t, (IntervalTier, PointTier)):
            if len(t) == 0:
                warnings.append(f"tier {t.name!r} is empty: a CSV table has no row for it, so it is left out")
            else:
                tiers.append(t)
        else:
            warnings.append(f"curve tier {t.name!r} left out: CSV tables hold intervals and points only")
    lost_props = [t.name for t in tiers if t.parent is not None or t.vocabulary is not None or t.attrs]
    if lost_props:
        warnings.append(
            f"tier properties (parent, vocabulary, attributes) not kept for: {', '.join(map(repr, lost_props))}"
        )
    anns = [a for t in tiers for a in t]
    has_conf = any(a.confidence is not None for a in anns)
    has_source = any(a.source != "human" for a in anns)
    attr_keys: list[str] = []
    seen: set[str] = set()
    clash: set[str] = set()
    nested = 0
    for a in anns:
        for k, v in a.attrs.items():
            if isinstance(v, (dict, list)):
                nested += 1
            if k in seen:
                continue
            seen.add(k)
            if k.strip().lower() in _COLUMN_OF or not k.strip():
                clash.add(k)
            else:
                attr_keys.append(k)
    if clash:
        warnings.append(f"attributes left out because their names clash with CSV columns: {sorted(clash)}")
    if nested:
        warnings.append(f"{nested} attribute values that are lists or dicts written as JSON text")

    header = ["tier", "start", "end", "label"]
    if has_conf:
        header.append("confidence")
    if has_source:
        header.append("source")
    if ids:
        header.append("id")
    header += attr_keys

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    for t in tiers:
        for a in t:
            if isinstance(a, Point):
                row = [t.name, _fmt(a.time), "", a.label]
            else:
                row = [t.name, _fmt(a.start), _fmt(a.end), a.label]
            if has_conf:
                row.append("" if a.confidence is None else _fmt(a.confidence))
            if has_source:
                row.append(a.source)
            if ids:
                row.append(a.id)
            for k in attr_keys:
                v = a.attrs.get(k, "")
                row.append(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v))
            w.writerow(row)
    atomic_write_text(path, buf.getvalue(), encoding=encoding, newline="")
    return warnings


def read_csv(path: str | os.PathLike[str], **options: Any) -> Session:
    return read_table(path, delimiter=",", **options)


def read_tsv(path: str | os.PathLike[str], **options: Any) -> Session:
    return read_table(path, delimiter="\t", **options)


def write_csv(session: Session, path: str | os.PathLike[str], **options: Any) -> list[str]:
    return write_table(session, path, delimiter=",", **options)


def write_tsv(session: Session, path: str | os.PathLike[str], **options: Any) -> list[str]:
    return write_table(session, path, delimiter="\t", **options)


register(
    Format(
        "csv",
        (".csv",),
        "CSV label table (tier,start,end,label)",
        read=read_csv,
        write=write_csv,
    )
)
register(
    Format(
        "tsv",
        (".tsv",),
        "TSV label table (tier, start, end, label)",
        read=read_tsv,
        write=write_tsv,
    )
)
