"""Validation of the site an EPCIS event declares (``ct:siteCountry``, ``ct:siteLat``, ...).

No I/O. Run at ingestion, before anything enters the append-only log: a site that no map can
hold (``ct:siteCountry: "ZZ"``, ``ct:siteLat: 137.4``) is refused, never logged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from chiptrail.countries import is_country
from chiptrail.errors import InvalidInput
from chiptrail.ledger.custody_events import _ext

_LIMITS = {"siteLat": 90.0, "siteLon": 180.0}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def check_site_fields(event: Mapping[str, object], prefixes: Mapping[str, str]) -> None:
    """Refuse a declared site that is not a place on Earth.

    ``ct:siteCountry`` must be an ISO 3166-1 alpha-2 code (upper case, as the registry stores
    it); ``ct:siteLat`` / ``ct:siteLon`` finite WGS84 degrees within +-90 / +-180, given as JSON
    numbers or decimal strings (EPCIS XML carries text), and both or neither.

    Raises:
        InvalidInput: with ``details["field"]`` naming the extension field.
    """
    ext = _ext(event, prefixes)
    country = ext.get("siteCountry")
    if country is not None and (not isinstance(country, str) or not is_country(country)):
        raise InvalidInput(
            f"ct:siteCountry {country!r} is not an upper-case ISO 3166-1 alpha-2 code",
            {"field": "ct:siteCountry", "value": str(country)[:50]},
        )
    for name, limit in _LIMITS.items():
        if name not in ext:
            continue
        value = _number(ext[name])
        if value is None or not math.isfinite(value) or abs(value) > limit:
            raise InvalidInput(
                f"ct:{name} must be a number of degrees within +-{limit:g}",
                {"field": f"ct:{name}", "value": str(ext[name])[:50]},
            )
    if ("siteLat" in ext) != ("siteLon" in ext):
        raise InvalidInput("ct:siteLat and ct:siteLon come together", {"field": "ct:siteLat"})
