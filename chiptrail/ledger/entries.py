"""Log entries: the canonical bytes of each leaf (party, key added/revoked, EPCIS event).

No I/O. An entry is compact JSON with sorted keys, UTF-8, at most 65,535 bytes (tlog-tiles).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.errors import InvalidInput

MAX_ENTRY_BYTES = 0xFFFF


class EntryKind(StrEnum):
    """What a leaf records."""

    PARTY = "party"
    KEY_ADD = "key-add"
    KEY_REVOKE = "key-revoke"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A decoded leaf: its kind and body (the JSON object without ``kind`` and ``v``)."""

    kind: EntryKind
    body: Mapping[str, object]


def encode_entry(kind: EntryKind, body: Mapping[str, object]) -> bytes:
    """Canonical bytes of an entry.

    Raises:
        InvalidInput: the entry is longer than 65,535 bytes (an event too large for the log).
    """
    data = json.dumps(
        {"v": 1, "kind": kind.value, **body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    if len(data) > MAX_ENTRY_BYTES:
        raise InvalidInput(
            "log entry over 65,535 bytes: split the event or drop bulky extensions",
            {"length": len(data)},
        )
    return data


def decode_entry(data: bytes) -> LogEntry:
    """Inverse of ``encode_entry``.

    Raises:
        InvalidInput: not an entry this version wrote.
    """
    try:
        obj = json.loads(data)
        kind = EntryKind(obj.pop("kind"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput("not a chiptrail log entry") from exc
    obj.pop("v", None)
    return LogEntry(kind, obj)
