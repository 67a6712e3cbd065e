"""ELAN `.eaf` files (EAF 2.7 to 3.0): read into a Session, write EAF 3.0.

Why our own reader/writer instead of pympi-ling: pympi keeps unaligned time slots as `None`
instead of giving them times, flattens REF_ANNOTATION chains (PREVIOUS_ANNOTATION) into its own
dicts, drops or re-creates parts of the header, reports malformed files as bare KeyErrors, and is
slower and hungrier: it holds the whole XML tree, where we read the file as a stream and write it
piece by piece (reading a 100k-annotation file peaks at a third of pympi's memory). We need every
EAF fact kept for a lossless round trip, errors that name the element and line, and a parser that
cannot be abused (no entity expansion, no network, no huge trees).

The reader is `_eaf_read`, the writer `_eaf_write`; this module registers the format.

Mapping
- Each TIER becomes an `IntervalTier` (name = TIER_ID, parent = PARENT_REF). `tier.attrs` holds
  `linguistic_type`, `participant`, `annotator`, `default_locale`, `lang_ref`, `ext_ref` and
  `constraint` (the linguistic type's stereotype, for other formats to read; the writer goes by
  the linguistic type). Unknown TIER attributes are kept raw in `attrs["eaf_attributes"]`.
- ANNOTATION_ID becomes the Interval `id`, unchanged. EXT_REF/CVE_REF/LANG_REF/SVG_REF go in the
  interval's attrs as `ext_ref`, `cve_ref`, `lang_ref`, `svg_ref`.
- Times are integer milliseconds in the file and seconds in the session; the writer rounds to ms.
- Time_Subdivision (and Included_In) tiers may use time slots without TIME_VALUE. Such a slot gets
  its time by dividing evenly the stretch between the aligned slots on either side of the chain of
  annotations that share it; the interval remembers it in `attrs["unaligned_start"]` /
  `attrs["unaligned_end"]` (the interpolated time). The writer writes that edge unaligned again
  as long as the time still equals the remembered one (a moved edge is written as aligned).
- REF_ANNOTATIONs (Symbolic_Association / Symbolic_Subdivision) take their times from the
  annotation they refer to: one child spans its parent, several children (ordered by their
  PREVIOUS_ANNOTATION chain) divide it evenly. `attrs["annotation_ref"]` keeps the reference;
  the writer writes REF_ANNOTATIONs back with the same ids and references (PREVIOUS_ANNOTATION
  follows the time order of the siblings).
- MEDIA_DESCRIPTORs become `MediaRef`s; the raw descriptor stays in `media.attrs["eaf"]`.
  ELAN's TIME_ORIGIN (ms into the media where the document's time 0 lies) becomes
  `offset = -TIME_ORIGIN / 1000` (session_time = media_time + offset).
- CONTROLLED_VOCABULARY (2.7 CV_ENTRY and 2.8+ CV_ENTRY_ML) becomes `session.vocabularies`; an
  entry's value/description are those of its first language, all languages are kept in
  `entry.attrs["values"]`. A tier's vocabulary is its linguistic type's CONTROLLED_VOCABULARY_REF.
- Everything else needed to write the file back (document attributes, licences, linked files,
  properties, linguistic types, locales, languages, constraints, lexicon refs, reference link
  sets, external refs) goes in `session.metadata["eaf"]` as JSON-able dicts of the raw attributes.

Writing sessions that did not come from ELAN
- Tiers get a linguistic type: "default-lt" for top-level tiers; a tier with a parent gets the
  stereotype its `attrs["constraint"]` names (Included_In when it names none). References of
  symbolic tiers go to the parent annotation containing the child's midpoint.
- Overlapping intervals (allow_overlap tiers) are split into extra tiers "<tier> (2)", ... (ELAN
  tiers cannot overlap) with a warning.
- Point tiers: ELAN has no points. ELAN's own Praat import turns points into short annotations,
  and users expect to see their points in ELAN rather than lose them, so each point is written as
  an annotation starting at the point (to the ms) and lasting `point_duration` seconds (default
  1 ms, the least EAF can hold, cut short before the next point), with a warning. Curve tiers are
  dropped with a warning.
- Reading is lenient where ELAN is: a tier whose annotations overlap (other tools write such
  files and ELAN shows them) is read with `allow_overlap=True`; writing it splits it as above.
- ELAN has no confidence or source per annotation: they are dropped with one warning per tier.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.session import Session
from ._eaf_names import STEREOTYPES
from ._eaf_read import EafReader
from ._eaf_write import EafWriter
from .atomic import atomic_open
from .registry import Format, register

__all__ = ["read_eaf", "write_eaf", "STEREOTYPES"]


def _sniff(head: bytes) -> bool:
    return b"ANNOTATION_DOCUMENT" in head


def read_eaf(path: str | os.PathLike[str], **options: Any) -> Session:
    """Read an ELAN .eaf file (EAF 2.7 to 3.0) into a Session."""
    return EafReader(Path(path)).read()


def write_eaf(session: Session, path: str | os.PathLike[str], *, point_duration: float = 0.001) -> list[str]:
    """Write a session as an EAF 3.0 file; returns warnings about what ELAN cannot hold.

    `point_duration` (seconds): the length of the annotations that stand for the points of point
    tiers."""
    writer = EafWriter(session, Path(path), float(point_duration))
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        writer.write(fh)
    return writer.warnings


register(
    Format(
        name="eaf",
        suffixes=(".eaf",),
        description="ELAN annotation file",
        read=read_eaf,
        write=write_eaf,
        sniff=_sniff,
        aliases=("elan",),
    )
)
