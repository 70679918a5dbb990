"""FollowTheMoney entities as JSON lines (OpenSanctions exports, ``chiptrail parties`` input)."""

from __future__ import annotations

import json
from dataclasses import replace

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import decode_text
from chiptrail.parties.model import Party, PartySet, collect_party_set, from_ftm


def parse_ftm_lines(data: bytes, list_id: str | None = None) -> PartySet:
    """Parse FtM JSON lines; with ``list_id`` every party becomes an entry of that list.

    Raises:
        InvalidInput: a line that is not a JSON object or not a valid FtM entity.
    """
    text, warnings = decode_text(data, "FtM JSON lines")
    values = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"FtM line {n}: not JSON ({exc.msg})", {"line": n}) from exc
        if not isinstance(doc, dict):
            raise InvalidInput(f"FtM line {n}: not a JSON object", {"line": n})
        try:
            value = from_ftm(doc)
        except InvalidInput as exc:
            raise InvalidInput(f"FtM line {n}: {exc.message}", {"line": n}) from exc
        if list_id and isinstance(value, Party):
            value = replace(value, list_id=list_id)
        values.append(value)
    result = collect_party_set(values)
    return replace(result, warnings=tuple(warnings) + result.warnings)
