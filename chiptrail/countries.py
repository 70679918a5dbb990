"""ISO 3166-1 alpha-2 country codes: validation and names.

Data comes from the ``pycountry`` package (offline). No I/O beyond that package's data.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

from chiptrail.errors import InvalidInput
from chiptrail.types import Country

# Codes in use in trade data that are user-assigned or exceptionally reserved in ISO 3166.
_EXTRA = {"XK": "Kosovo"}


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names = {c.alpha_2: c.name for c in pycountry.countries}
    names.update(_EXTRA)
    return names


def is_country(code: str) -> bool:
    """True when ``code`` is an upper-case ISO 3166-1 alpha-2 code."""
    return code in _names()


def parse_country(code: str, field: str = "country") -> Country:
    """Normalise and validate a country code.

    Args:
        code: an ISO 3166-1 alpha-2 code, any case, surrounding spaces allowed.
        field: the name of the input field, used in the error message.

    Returns:
        The upper-case code.

    Raises:
        InvalidInput: when the code is not an ISO 3166-1 alpha-2 code.
    """
    norm = code.strip().upper()
    if not is_country(norm):
        raise InvalidInput(
            f"{field}: {code!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, CN, SG)",
            {"field": field, "value": code},
        )
    return Country(norm)


def country_name(code: str) -> str:
    """English short name of a country code, or the code itself when unknown."""
    return _names().get(code.upper(), code)
