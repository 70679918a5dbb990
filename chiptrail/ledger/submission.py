"""Signed submission envelopes: what a party sends, what its signature covers, how it is checked.

No I/O and no clock: callers pass ``now`` and keys. The format is documented in docs/ledger.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chiptrail.crypto import Signer, b64decode, b64encode, sha256, verify_signature
from chiptrail.errors import InvalidInput, VerificationError

ENVELOPE_FORMAT = "chiptrail-envelope/1"
CONTENT_TYPES = frozenset(
    {"application/ld+json", "application/json", "application/xml", "application/x-ndjson"}
)
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_AGE = timedelta(days=7)
_FIELDS = ("format", "party_id", "key_id", "nonce", "signed_at", "content_type", "payload_b64")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A signed submission.

    Attributes:
        party_id: the submitting party (FollowTheMoney-compatible id).
        key_id: the registered key that signed (``key_id_for(public_key)``).
        nonce: unique per party, 8 to 128 printable characters; a repeat is a replay.
        signed_at: when the party signed (UTC).
        content_type: how to read ``payload`` (EPCIS JSON-LD, JSON, XML or JSON lines).
        payload: the exact submitted bytes.
        signature: Ed25519 over ``signing_input(...)``.
    """

    party_id: str
    key_id: str
    nonce: str
    signed_at: datetime
    content_type: str
    payload: bytes
    signature: bytes

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the signed input plus signature: the envelope's identity."""
        return envelope_digest(self.signing_input(), self.signature)

    def signing_input(self) -> bytes:
        """The bytes the signature covers."""
        return signing_input(
            self.party_id, self.key_id, self.nonce, self.signed_at, self.content_type, self.payload
        )

    def to_json(self) -> dict[str, str]:
        """The wire form (all strings; the payload and signature base64)."""
        return {
            "format": ENVELOPE_FORMAT,
            "party_id": self.party_id,
            "key_id": self.key_id,
            "nonce": self.nonce,
            "signed_at": format_time(self.signed_at),
            "content_type": self.content_type,
            "payload_b64": b64encode(self.payload),
            "signature_b64": b64encode(self.signature),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes of the wire form."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()


def format_time(at: datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (the only form the signing input uses)."""
    if at.tzinfo is None:
        raise InvalidInput("signed_at must be timezone-aware", {"field": "signed_at"})
    u = at.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def signing_input(
    party_id: str, key_id: str, nonce: str, signed_at: datetime, content_type: str, payload: bytes
) -> bytes:
    """``chiptrail-envelope/1`` + each metadata field on its own line + the exact payload bytes."""
    head = [ENVELOPE_FORMAT, party_id, key_id, nonce, format_time(signed_at), content_type]
    for name, value in zip(_FIELDS[1:6], head[1:], strict=True):
        if not value or "\n" in value:
            raise InvalidInput(f"{name}: empty or contains a newline", {"field": name})
    return "\n".join(head).encode("utf-8") + b"\n" + payload


def envelope_digest(message: bytes, signature: bytes) -> str:
    """Hex SHA-256 of ``signing_input`` bytes plus the signature (``Envelope.digest``)."""
    return sha256(message + signature).hex()


def key_id_for(public_key: bytes) -> str:
    """A key's id: the first 8 bytes of SHA-256 of the raw public key, hex (16 characters)."""
    return sha256(public_key)[:8].hex()


def sign_submission(
    payload: bytes,
    *,
    party_id: str,
    signer: Signer,
    nonce: str,
    signed_at: datetime,
    content_type: str = "application/ld+json",
) -> Envelope:
    """Build a signed envelope (the helper parties, the simulator and tests use).

    Args:
        payload: the exact EPCIS bytes to submit.
        party_id: the registered party.
        signer: the party's registered Ed25519 key.
        nonce: never reused by this party (e.g. a UUID).
        signed_at: now, timezone-aware.
        content_type: one of ``CONTENT_TYPES``.
    """
    _check_content_type(content_type)
    _check_nonce(nonce)
    key_id = key_id_for(signer.public_key)
    message = signing_input(party_id, key_id, nonce, signed_at, content_type, payload)
    return Envelope(party_id, key_id, nonce, signed_at, content_type, payload, signer.sign(message))


EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CHIPTRAIL_CONTEXT = {"ct": "https://chiptrail.dev/epcis/"}


def sign_events(
    events: Sequence[Mapping[str, object]],
    *,
    party_id: str,
    signer: Signer,
    nonce: str,
    signed_at: datetime,
) -> Envelope:
    """Wrap EPCIS events (JSON form) in an ``EPCISDocument`` and sign it.

    The document's context binds ``ct`` to chiptrail's extension namespace, so events may use
    ``ct:siteCountry``, ``ct:vendorSerial`` ... (see docs/ledger.md).
    """
    document = {
        "@context": [EPCIS_CONTEXT, CHIPTRAIL_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(signed_at),
        "epcisBody": {"eventList": list(events)},
    }
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return sign_submission(
        payload, party_id=party_id, signer=signer, nonce=nonce, signed_at=signed_at
    )


def _check_content_type(content_type: str) -> None:
    if content_type not in CONTENT_TYPES:
        raise InvalidInput(
            f"content_type {content_type!r} is not one of {sorted(CONTENT_TYPES)}",
            {"field": "content_type"},
        )


def _check_nonce(nonce: str) -> None:
    if not 8 <= len(nonce) <= 128 or not nonce.isprintable() or " " in nonce:
        raise InvalidInput("nonce must be 8-128 printable characters", {"field": "nonce"})


def _str_field(obj: dict[str, object], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"envelope: {name} is missing or not a string", {"field": name})
    return value


def parse_envelope(data: bytes | dict[str, object]) -> Envelope:
    """Read an envelope from its JSON form (bytes or an already-parsed object).

    Raises:
        InvalidInput: malformed JSON, a missing field, an unknown format or content type.
    """
    if isinstance(data, bytes | bytearray):
        try:
            obj = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput("envelope is not JSON", {"field": "envelope"}) from exc
    else:
        obj = data
    if not isinstance(obj, dict):
        raise InvalidInput("envelope must be a JSON object", {"field": "envelope"})
    if obj.get("format") != ENVELOPE_FORMAT:
        raise InvalidInput(f"envelope format must be {ENVELOPE_FORMAT!r}", {"field": "format"})
    if "signature_b64" not in obj:
        raise VerificationError("submission is not signed", {"field": "signature_b64"})
    signed_at_text = _str_field(obj, "signed_at")
    try:
        signed_at = datetime.fromisoformat(signed_at_text)
    except ValueError as exc:
        raise InvalidInput("signed_at is not an ISO 8601 time", {"field": "signed_at"}) from exc
    if signed_at.tzinfo is None:
        raise InvalidInput("signed_at needs a time zone", {"field": "signed_at"})
    content_type = _str_field(obj, "content_type")
    _check_content_type(content_type)
    nonce = _str_field(obj, "nonce")
    _check_nonce(nonce)
    return Envelope(
        party_id=_str_field(obj, "party_id"),
        key_id=_str_field(obj, "key_id"),
        nonce=nonce,
        signed_at=signed_at,
        content_type=content_type,
        payload=b64decode(_str_field(obj, "payload_b64"), "payload_b64"),
        signature=b64decode(_str_field(obj, "signature_b64"), "signature_b64"),
    )


def verify_envelope(
    envelope: Envelope, public_key: bytes, *, now: datetime, message: bytes | None = None
) -> None:
    """Check the signature and the signing time of an envelope.

    Raises:
        VerificationError: the key id does not name ``public_key``, the signature fails, or
            ``signed_at`` is more than 10 minutes ahead of ``now`` or older than 7 days.

    ``message`` may pass ``envelope.signing_input()`` when the caller already built it.
    """
    if key_id_for(public_key) != envelope.key_id:
        raise VerificationError("key_id does not match the registered key", {"field": "key_id"})
    if envelope.signed_at > now + MAX_CLOCK_SKEW:
        raise VerificationError("signed_at is in the future", {"field": "signed_at"})
    if envelope.signed_at < now - MAX_AGE:
        raise VerificationError("signed_at is too old (over 7 days)", {"field": "signed_at"})
    try:
        signed = envelope.signing_input() if message is None else message
        verify_signature(public_key, signed, envelope.signature)
    except VerificationError as exc:
        raise VerificationError(
            f"signature of party {envelope.party_id} does not verify",
            {"field": "signature_b64", "party_id": envelope.party_id, "key_id": envelope.key_id},
        ) from exc
