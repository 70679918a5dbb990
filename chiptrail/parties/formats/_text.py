"""Shared parsing steps of the list formats: decoding, country names, stable ids."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import pycountry

from chiptrail.errors import InvalidInput

# Names the lists use that pycountry's lookup does not resolve.
_COUNTRY_ALIASES = {
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea, north": "KP",
    "south korea": "KR",
    "korea, south": "KR",
    "taiwan": "TW",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "vietnam": "VN",
    "laos": "LA",
    "burma": "MM",
    "turkey": "TR",
    "türkiye": "TR",
    "uae": "AE",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "czech republic": "CZ",
    "kosovo": "XK",
    "palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "the netherlands": "NL",
    "crimea region of ukraine": "UA",
    "macedonia": "MK",
    "peoples republic of china": "CN",
    "people's republic of china": "CN",
    "people\u2019s republic of china": "CN",
    "prc": "CN",
    "turkiye": "TR",
    "turkey (turkiye)": "TR",
    "uk": "GB",
    "north korea (dprk)": "KP",
    "dprk": "KP",
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
    """ISO 3166-1 alpha-2 code for a country name or code as lists write it, None if unknown."""
    key = name.strip().strip(".").lower()
    if not key:
        return None
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        found = pycountry.countries.lookup(key)
    except LookupError:
        return None
    return str(found.alpha_2)


def stable_id(*parts: str) -> str:
    """A short stable id from the given strings (for entries without an id of their own)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
