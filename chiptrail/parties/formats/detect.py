"""Recognise a list file's format from its first bytes, and parse it by name."""

from __future__ import annotations

import json
from enum import StrEnum

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats.csl import parse_csl_csv, parse_csl_json
from chiptrail.parties.formats.dpl import looks_like_dpl, parse_dpl
from chiptrail.parties.formats.ftm import parse_ftm_lines
from chiptrail.parties.formats.nsfreg import parse_nsfreg
from chiptrail.parties.formats.ofac import parse_ofac_sdn
from chiptrail.parties.formats.unsc import looks_like_unsc, parse_unsc_xml
from chiptrail.parties.model import PartySet


class ListFormat(StrEnum):
    """Supported list file formats (the ``--format`` values)."""

    FTM = "ftm"
    CSL_CSV = "csl-csv"
    CSL_JSON = "csl-json"
    OFAC_SDN = "ofac-sdn"
    US_LISTS_JSON = "us-lists-json"
    BIS_DPL = "bis-dpl"
    UN_SC_XML = "un-sc-xml"


DEFAULT_LIST_IDS = {
    ListFormat.CSL_CSV: "us-csl",
    ListFormat.CSL_JSON: "us-csl",
    ListFormat.OFAC_SDN: "ofac-sdn",
    ListFormat.BIS_DPL: "us-bis-dpl",
    ListFormat.UN_SC_XML: "un-sc",
}


def detect_format(data: bytes) -> ListFormat:
    """Guess the format of a list file.

    Raises:
        InvalidInput: nothing recognisable (name it with ``--format``).
    """
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<" and looks_like_unsc(head):
        return ListFormat.UN_SC_XML
    if head[:1] in (b"{", b"["):
        first_line = head.split(b"\n", 1)[0]
        try:
            first = json.loads(first_line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            first = None
        if isinstance(first, dict) and "schema" in first and "id" in first:
            return ListFormat.FTM
        if b'"entities"' in head and b'"list_id"' in head:
            return ListFormat.US_LISTS_JSON
        if b'"results"' in head or b"alt_names" in head or b"altNames" in head:
            return ListFormat.CSL_JSON
    first_row = head.split(b"\n", 1)[0].lower()
    if looks_like_dpl(first_row.rstrip(b"\r")):
        return ListFormat.BIS_DPL
    if b"name" in first_row and b"source" in first_row:
        return ListFormat.CSL_CSV
    cells = first_row.split(b",")
    if len(cells) >= 2 and cells[0].strip().isdigit():
        return ListFormat.OFAC_SDN
    raise InvalidInput(
        "cannot tell the list format from the file; name it with --format "
        f"({', '.join(f.value for f in ListFormat)})"
    )


def parse_list(data: bytes, fmt: ListFormat | None = None, list_id: str | None = None) -> PartySet:
    """Parse a list file in ``fmt`` (detected when None); every party gets a ``list_id``.

    Raises:
        InvalidInput: undetectable or malformed file.
    """
    fmt = fmt or detect_format(data)
    if fmt is ListFormat.FTM:
        return parse_ftm_lines(data, list_id or "ftm")
    if fmt is ListFormat.US_LISTS_JSON:
        return parse_nsfreg(data, list_id)
    lid = list_id or DEFAULT_LIST_IDS[fmt]
    if fmt is ListFormat.CSL_CSV:
        return parse_csl_csv(data, lid)
    if fmt is ListFormat.CSL_JSON:
        return parse_csl_json(data, lid)
    if fmt is ListFormat.BIS_DPL:
        return parse_dpl(data, lid)
    if fmt is ListFormat.UN_SC_XML:
        return parse_unsc_xml(data, lid)
    return parse_ofac_sdn(data, list_id=lid)
