"""Shared parsing steps of the list formats: decoding, country names, stable ids, listing dates."""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime
from functools import lru_cache

from followthemoney.util import make_entity_id
from rigour.territories import lookup_territory

from chiptrail.errors import InvalidInput

# Names the lists use that rigour's territory lookup does not resolve (checked on the 2026 lists).
_COUNTRY_ALIASES = {
    "turkey (turkiye)": "TR",
    "north korea (dprk)": "KP",
    "crimea region of ukraine": "UA",
    "crimea": "UA",
    "prc": "CN",
    "uk": "GB",
}


class Decoded(str):
    """Text decoded from bytes, remembering whether a fallback encoding was needed."""

    fallback: str | None = None


def decode_text(data: bytes, what: str) -> tuple[str, list[str]]:
    """Decode list bytes: UTF-8 (BOM allowed), else Windows-1252 with a warning.

    Raises:
        InvalidInput: the bytes are neither (e.g. binary or UTF-16 without BOM).
    """
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{what}: not UTF-8 or Windows-1252 text (byte {exc.start}); "
                "save the file as UTF-8",
                {"offset": exc.start},
            ) from exc
        return text, [f"{what}: not valid UTF-8 (byte {exc.start}); decoded as Windows-1252"]


@lru_cache(maxsize=4096)
def country_code(name: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a country name or code as lists write it, None if unknown.

    ``rigour.territories`` resolves names in many languages and spellings ("Democratic Republic
    of Congo", "Korea, North", "Burma", "CHN"); a region inside a country (Crimea) becomes the
    country's code.
    """
    key = name.strip().strip(".").lower()
    if not key:
        return None
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    territory = lookup_territory(key)
    if territory is None:
        return None
    code = territory.ftm_country or territory.code
    return code.split("-")[0].upper() if len(code.split("-")[0]) == 2 else None


def stable_id(*parts: str) -> str:
    """A stable id from the given strings (``followthemoney.util.make_entity_id``: SHA-1 hex)."""
    found = make_entity_id(*parts)
    if found is None:
        raise InvalidInput("cannot make an id from empty strings")
    return found


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})")
_LONG_DATE = re.compile(r"([A-Z][a-z]+\.? \d{1,2}, \d{4})")


def parse_listing_date(raw: str | None) -> date | None:
    """A listing date as lists write it: ISO (``2021-08-02``), US (``9/17/81``, ``12/23/2020``),
    long (``June 21, 2022``), or the dates in a Federal Register citation (the latest wins:
    amendments cite the newest notice last). None when nothing reads as a date."""
    if not raw:
        return None
    text = raw.strip()
    found: list[date] = []
    with contextlib.suppress(ValueError):
        found.append(date.fromisoformat(text[:10]))
    for m, d, y in _US_DATE.findall(text):
        year = int(y) + (0 if len(y) == 4 else (1900 if int(y) > 50 else 2000))
        try:
            found.append(date(year, int(m), int(d)))
        except ValueError:
            continue
    for long in _LONG_DATE.findall(text):
        for fmt in ("%B %d, %Y", "%b. %d, %Y", "%b %d, %Y"):
            try:
                found.append(datetime.strptime(long, fmt).date())
                break
            except ValueError:
                continue
    return max(found) if found else None
