"""Names shared by the ELAN reader (`_eaf_read`) and writer (`_eaf_write`): EAF attributes and
the keys they become in tier and interval attrs (see `studio.io.eaf` for the whole mapping)."""

from __future__ import annotations

STEREOTYPES = ("Time_Subdivision", "Symbolic_Subdivision", "Symbolic_Association", "Included_In")

# TIER attribute <-> tier.attrs key
TIER_KEYS = {
    "LINGUISTIC_TYPE_REF": "linguistic_type",
    "PARTICIPANT": "participant",
    "ANNOTATOR": "annotator",
    "DEFAULT_LOCALE": "default_locale",
    "LANG_REF": "lang_ref",
    "EXT_REF": "ext_ref",
}
# annotation attribute <-> interval attrs key (besides ids, slots and references)
ANN_KEYS = {"EXT_REF": "ext_ref", "CVE_REF": "cve_ref", "LANG_REF": "lang_ref", "SVG_REF": "svg_ref"}
