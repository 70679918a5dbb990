"""JSON wire forms of the probe messages: one JSON object per datagram, bytes in base64.

Signatures never cover JSON (they cover ``messages.py``'s canonical bytes), so key order and
spacing do not matter. Parsers take ``bytes``/dicts and raise ``InvalidInput``. No I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from chiptrail.crypto import b64decode, b64encode
from chiptrail.errors import ChiptrailError, InvalidInput
from chiptrail.probe._canonical import format_time, parse_time
from chiptrail.probe.attestation import Attestation, parse_scheme
from chiptrail.probe.messages import Challenge, ChipResponse, MeasurementRecord, check_id
from chiptrail.types import ChipId, LandmarkId

PROTOCOL_VERSION = 1
MAX_DATAGRAM_BYTES = 60_000


@dataclass(frozen=True, slots=True)
class Hello:
    """Chip to landmark: "probe me" (carries no proof; the challenge that follows does)."""

    chip_id: ChipId

    def __post_init__(self) -> None:
        check_id(self.chip_id, "chip_id")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Landmark to chip: the response was refused, with a stable reason (a counter's name)."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """Landmark to chip: the signed measurement, for the agent to keep or submit."""

    record: MeasurementRecord


WireMessage = Hello | Challenge | ChipResponse | RecordMessage | Refusal


def _str(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: expected a string", {"field": key})
    return value


def _bytes(obj: Mapping[str, object], key: str) -> bytes:
    return b64decode(_str(obj, key), key)


def _int(obj: Mapping[str, object], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{key}: expected an integer", {"field": key})
    return value


def record_to_json(record: MeasurementRecord) -> dict[str, object]:
    """The record as a JSON object (``rtt_ms`` is informative; ``rtt_ns`` is what is signed)."""
    return {
        "chip_id": record.chip_id,
        "landmark_id": record.landmark_id,
        "nonce": b64encode(record.nonce),
        "rtt_ns": record.rtt_ns,
        "rtt_ms": record.rtt_ms,
        "issued_at": format_time(record.issued_at),
        "measured_at": format_time(record.measured_at),
        "scheme": record.scheme.value,
        "device_public_key": b64encode(record.device_public_key),
        "chip_signature": b64encode(record.chip_signature),
        "landmark_signature": b64encode(record.landmark_signature),
    }


def record_from_json(obj: Mapping[str, object]) -> MeasurementRecord:
    """Parse a record object.

    Raises:
        InvalidInput: a field is missing or malformed.
    """
    return MeasurementRecord(
        chip_id=ChipId(_str(obj, "chip_id")),
        landmark_id=LandmarkId(_str(obj, "landmark_id")),
        nonce=_bytes(obj, "nonce"),
        rtt_ns=_int(obj, "rtt_ns"),
        issued_at=parse_time(_str(obj, "issued_at"), "issued_at"),
        measured_at=parse_time(_str(obj, "measured_at"), "measured_at"),
        scheme=parse_scheme(_str(obj, "scheme")),
        device_public_key=_bytes(obj, "device_public_key"),
        chip_signature=_bytes(obj, "chip_signature"),
        landmark_signature=_bytes(obj, "landmark_signature"),
    )


def to_json(message: WireMessage) -> dict[str, object]:
    """The JSON object of one wire message (with ``type`` and ``v``)."""
    head: dict[str, object] = {"v": PROTOCOL_VERSION}
    if isinstance(message, Hello):
        return {**head, "type": "hello", "chip_id": message.chip_id}
    if isinstance(message, Challenge):
        return {
            **head,
            "type": "challenge",
            "landmark_id": message.landmark_id,
            "nonce": b64encode(message.nonce),
            "issued_at": format_time(message.issued_at),
        }
    if isinstance(message, ChipResponse):
        att = message.attestation
        return {
            **head,
            "type": "response",
            "chip_id": message.chip_id,
            "landmark_id": message.landmark_id,
            "nonce": b64encode(message.nonce),
            "scheme": att.scheme.value,
            "public_key": b64encode(att.public_key),
            "signature": b64encode(att.signature),
        }
    if isinstance(message, RecordMessage):
        return {**head, "type": "record", "record": record_to_json(message.record)}
    return {**head, "type": "error", "reason": message.reason, "message": message.message}


def from_json(obj: Mapping[str, object]) -> WireMessage:
    """Parse one wire message object.

    Raises:
        InvalidInput: unknown type or version, or a malformed field.
    """
    if obj.get("v") != PROTOCOL_VERSION:
        raise InvalidInput(f"unsupported protocol version {obj.get('v')!r}", {"field": "v"})
    kind = obj.get("type")
    if kind == "hello":
        return Hello(ChipId(_str(obj, "chip_id")))
    if kind == "challenge":
        return Challenge(
            landmark_id=LandmarkId(_str(obj, "landmark_id")),
            nonce=_bytes(obj, "nonce"),
            issued_at=parse_time(_str(obj, "issued_at"), "issued_at"),
        )
    if kind == "response":
        attestation = Attestation(
            parse_scheme(_str(obj, "scheme")), _bytes(obj, "public_key"), _bytes(obj, "signature")
        )
        return ChipResponse(
            chip_id=ChipId(_str(obj, "chip_id")),
            landmark_id=LandmarkId(_str(obj, "landmark_id")),
            nonce=_bytes(obj, "nonce"),
            attestation=attestation,
        )
    if kind == "record":
        record = obj.get("record")
        if not isinstance(record, Mapping):
            raise InvalidInput("record: expected an object", {"field": "record"})
        return RecordMessage(record_from_json(record))
    if kind == "error":
        return Refusal(_str(obj, "reason"), _str(obj, "message"))
    raise InvalidInput(f"unknown message type {kind!r}", {"field": "type"})


def encode_datagram(message: WireMessage) -> bytes:
    """Compact UTF-8 JSON of ``message``."""
    return json.dumps(to_json(message), separators=(",", ":")).encode()


def decode_datagram(data: bytes) -> WireMessage:
    """Parse one datagram.

    Raises:
        InvalidInput: too large, not JSON, or not a valid message.
    """
    if len(data) > MAX_DATAGRAM_BYTES:
        raise InvalidInput("datagram too large", {"size": len(data)})
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("datagram is not JSON") from exc
    if not isinstance(obj, dict):
        raise InvalidInput("datagram is not a JSON object")
    try:
        return from_json(obj)
    except ChiptrailError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed message: {exc}") from exc
