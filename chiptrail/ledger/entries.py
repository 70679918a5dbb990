"""Log entries: the canonical bytes of each leaf (party, key added/revoked, EPCIS event).

No I/O. An entry is compact JSON with sorted keys, UTF-8, at most 65,535 bytes (tlog-tiles).

Two versions of event entries (docs/transparency-log.md, "Entries"):

- v1 (logs written before issue 15): the event in plain text with its party, key id and
  envelope hash.
- v2: the public entry is only ``{"commitment", "kind", "v"}``; the commitment is the hex
  SHA-256 of the private *detail* (the event, party, key id, signature, envelope hash and the
  event's position in the envelope). The detail holds the party's signature, which nobody else
  can compute, so the commitment hides custody data from readers of the public log while a holder
  of the envelope can check that the party signed exactly this event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.crypto import sha256
from chiptrail.errors import InvalidInput, VerificationError

MAX_ENTRY_BYTES = 0xFFFF
EVENT_ENTRY_VERSION = 2
"""Version of the event entries this code writes (v1 entries of older logs stay readable)."""


class EntryKind(StrEnum):
    """What a leaf records."""

    PARTY = "party"
    KEY_ADD = "key-add"
    KEY_REVOKE = "key-revoke"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A decoded leaf: its kind and body (the JSON object without ``kind`` and ``v``).

    For a v2 event read without its detail, ``body`` is only ``{"commitment": hex}``.
    """

    kind: EntryKind
    body: Mapping[str, object]
    version: int = 1


def encode_entry(kind: EntryKind, body: Mapping[str, object], *, version: int = 1) -> bytes:
    """Canonical bytes of an entry.

    Raises:
        InvalidInput: the entry is longer than 65,535 bytes (an event too large for the log).
    """
    data = json.dumps(
        {"v": version, "kind": kind.value, **body},
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


def encode_event_detail(body: Mapping[str, object]) -> bytes:
    """Canonical bytes of a v2 event's private detail (kept by the registry, never in tiles).

    ``body`` holds ``event_id, party_id, key_id, signature_b64, envelope_sha256, position,
    prefixes, event``.
    """
    return encode_entry(EntryKind.EVENT, body, version=EVENT_ENTRY_VERSION)


def event_commitment(detail: bytes) -> str:
    """Hex SHA-256 of a v2 event's detail bytes (what the public entry shows)."""
    return sha256(detail).hex()


def encode_event_entry(detail: bytes) -> bytes:
    """The public v2 entry committing to ``detail``."""
    return encode_entry(
        EntryKind.EVENT, {"commitment": event_commitment(detail)}, version=EVENT_ENTRY_VERSION
    )


def _load(data: bytes) -> tuple[EntryKind, int, dict[str, object]]:
    try:
        obj = json.loads(data)
        kind = EntryKind(obj.pop("kind"))
        version = obj.pop("v", 1)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput("not a chiptrail log entry") from exc
    if version not in (1, EVENT_ENTRY_VERSION) or not isinstance(version, int):
        raise InvalidInput("not a chiptrail log entry version", {"v": str(version)[:20]})
    return kind, version, obj


def decode_entry(data: bytes, detail: bytes | None = None) -> LogEntry:
    """Inverse of ``encode_entry``; for a v2 event, ``detail`` supplies the private body.

    Raises:
        InvalidInput: not an entry this version wrote.
        VerificationError: ``detail`` is not the one the entry commits to.
    """
    kind, version, obj = _load(data)
    if version == 1 or kind is not EntryKind.EVENT or detail is None:
        return LogEntry(kind, obj, version)
    if obj.get("commitment") != event_commitment(detail):
        raise VerificationError("event detail does not match the entry's commitment")
    _, _, body = _load(detail)
    return LogEntry(kind, body, version)
