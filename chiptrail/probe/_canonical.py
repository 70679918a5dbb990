"""Canonical byte encodings shared by the probe messages: length-prefixed fields and UTC times.

Private to ``chiptrail.probe``. No I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chiptrail.errors import InvalidInput

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def encode_fields(domain: bytes, *fields: bytes) -> bytes:
    """``domain`` then every field, each as a 4-byte big-endian length and the bytes.

    Length prefixes make the encoding injective: no two field lists give the same bytes.
    """
    out = bytearray()
    for part in (domain, *fields):
        out += len(part).to_bytes(4, "big")
        out += part
    return bytes(out)


def format_time(at: datetime) -> str:
    """RFC 3339 UTC with exactly six fractional digits and ``Z`` (``2026-11-25T19:00:00.000000Z``).

    Raises:
        InvalidInput: ``at`` is naive (has no time zone).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("times must be timezone-aware UTC datetimes", {"value": str(at)})
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str, field: str) -> datetime:
    """Parse an RFC 3339 time with an offset; returns an aware UTC datetime.

    Raises:
        InvalidInput: not a time, or no offset.
    """
    try:
        at = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field}: not an RFC 3339 time", {"field": field}) from exc
    if at.tzinfo is None:
        raise InvalidInput(f"{field}: time needs a UTC offset or Z", {"field": field})
    return at.astimezone(UTC)
