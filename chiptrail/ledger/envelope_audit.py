"""Checking log entries against the signed envelopes behind them (who signed each event).

No I/O. ``EntryChecker`` walks entries in log order, keeps the party keys the log itself
registered (``key-add`` / ``key-revoke`` entries), and checks every event leaf for which it holds
an ``EnvelopeRecord``: the detail matches the leaf's commitment, the envelope is the one the
detail names, the party's key was registered before the leaf and not yet revoked, the party's
Ed25519 signature verifies, and the event is the one at that position of the signed payload.
An event the log operator fabricated (and re-signed the checkpoint for) fails here: it has no
envelope the party signed. See docs/transparency-log.md ("Entries").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from chiptrail.crypto import b64decode, b64encode, verify_signature
from chiptrail.errors import ChiptrailError, InvalidInput, VerificationError
from chiptrail.ledger.entries import EVENT_ENTRY_VERSION, EntryKind, decode_entry
from chiptrail.ledger.epcis import parse_epcis
from chiptrail.ledger.event_hash import event_hash
from chiptrail.ledger.submission import Envelope, parse_envelope


@dataclass(frozen=True, slots=True)
class EnvelopeRecord:
    """What an allowed reader gets for one event leaf.

    Attributes:
        leaf_index: the event's leaf.
        detail: the private detail a v2 entry commits to (None for a v1 leaf).
        envelope: the party's signed envelope the event came in.
    """

    leaf_index: int
    detail: bytes | None
    envelope: Envelope

    def to_json(self) -> dict[str, object]:
        """One JSON line of an envelopes file (``chiptrail log envelopes``)."""
        return {
            "leaf_index": self.leaf_index,
            "detail_b64": b64encode(self.detail) if self.detail is not None else None,
            "envelope": self.envelope.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object) -> EnvelopeRecord:
        """Inverse of ``to_json``.

        Raises:
            InvalidInput: not an envelope record.
        """
        if not isinstance(obj, dict) or not isinstance(obj.get("leaf_index"), int):
            raise InvalidInput("envelope record needs leaf_index, detail_b64 and envelope")
        detail = obj.get("detail_b64")
        envelope = obj.get("envelope")
        if not isinstance(envelope, dict) or not (detail is None or isinstance(detail, str)):
            raise InvalidInput("envelope record needs leaf_index, detail_b64 and envelope")
        return cls(
            int(obj["leaf_index"]),
            b64decode(detail, "detail_b64") if detail is not None else None,
            parse_envelope(envelope),
        )


def parse_envelope_records(data: bytes) -> dict[int, EnvelopeRecord]:
    """Read an envelopes file into ``leaf index -> record``.

    Accepts JSON lines (``chiptrail log envelopes``) or saved ``GET /v1/ledger/envelopes``
    pages (``{"records": [...]}``, one per line or a single document).

    Raises:
        InvalidInput: a malformed line (its number in ``details["line"]``) or a leaf twice.
    """
    out: dict[int, EnvelopeRecord] = {}
    try:
        whole = json.loads(data)
    except ValueError:
        whole = None
    lines = (
        [json.dumps(r).encode() for r in whole["records"]]
        if isinstance(whole, dict) and isinstance(whole.get("records"), list)
        else data.splitlines()
    )
    expanded: list[bytes] = []
    for line in lines:
        try:
            obj = json.loads(line) if b'"records"' in line else None
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("records"), list):
            expanded += [json.dumps(r).encode() for r in obj["records"]]
        else:
            expanded.append(line)
    for number, line in enumerate(expanded, start=1):
        if not line.strip():
            continue
        try:
            record = EnvelopeRecord.from_json(json.loads(line))
        except (ValueError, ChiptrailError) as exc:
            raise InvalidInput(
                f"envelopes file line {number} is not a record", {"line": number}
            ) from exc
        if record.leaf_index in out:
            raise InvalidInput(f"leaf {record.leaf_index} appears twice", {"line": number})
        out[record.leaf_index] = record
    return out


@dataclass
class _Key:
    party_id: str
    public_key: bytes
    revoked: bool = False


@dataclass
class EntryChecker:
    """Walks a log's entries in order and checks event leaves against envelopes.

    Attributes:
        envelopes: leaf index -> record, for the leaves the auditor was given.
        require_all: every event leaf must have a record (a regulator's full audit).
        checked: event leaves whose envelope verified.
        unchecked: event leaves without a record.
        legacy: v1 (plain) event leaves seen.
    """

    envelopes: Mapping[int, EnvelopeRecord]
    require_all: bool = False
    checked: int = 0
    unchecked: int = 0
    legacy: int = 0
    _keys: dict[str, _Key] = field(default_factory=dict)
    _seen_v2: bool = False

    def check(self, index: int, entry: bytes) -> list[str]:
        """Problems with leaf ``index`` (empty when fine); call once per leaf, in order."""
        try:
            decoded = decode_entry(entry)
        except ChiptrailError as exc:
            # the Merkle audit does not interpret entries; only an envelope audit needs them
            active = self.require_all or bool(self.envelopes)
            return [f"leaf {index}: {exc.message}"] if active else []
        body = decoded.body
        if decoded.kind is EntryKind.KEY_ADD:
            try:
                public_key = b64decode(str(body.get("public_key_b64")), "public_key_b64")
            except InvalidInput:
                return [f"leaf {index}: key-add entry without a base64 public key"]
            self._keys[str(body.get("key_id"))] = _Key(str(body.get("party_id")), public_key)
            return []
        if decoded.kind is EntryKind.KEY_REVOKE:
            key = self._keys.get(str(body.get("key_id")))
            if key is not None:
                key.revoked = True
            return []
        if decoded.kind is not EntryKind.EVENT:
            return [] if index not in self.envelopes else [f"leaf {index}: not an event"]
        return self._event(index, entry, decoded.version)

    def _event(self, index: int, entry: bytes, version: int) -> list[str]:
        problems: list[str] = []
        if version == EVENT_ENTRY_VERSION:
            self._seen_v2 = True
        else:
            self.legacy += 1
            if self._seen_v2:
                problems.append(f"leaf {index}: plain v1 event entry after v2 entries (downgrade)")
        record = self.envelopes.get(index)
        if record is None:
            self.unchecked += 1
            if self.require_all:
                problems.append(f"leaf {index}: no envelope for this event")
            return problems
        try:
            self._verify(index, entry, record)
        except ChiptrailError as exc:
            return [*problems, f"leaf {index}: {exc.message}"]
        self.checked += 1
        return problems

    def _verify(self, index: int, entry: bytes, record: EnvelopeRecord) -> None:
        """Raise ``VerificationError`` unless ``record`` proves the party signed this event."""
        body = decode_entry(entry, record.detail).body
        if "commitment" in body:
            raise VerificationError("a v2 event needs its detail to be checked")
        env = record.envelope
        expected = {
            "envelope_sha256": env.digest,
            "key_id": env.key_id,
            "party_id": env.party_id,
        }
        if "signature_b64" in body:
            expected["signature_b64"] = b64encode(env.signature)
        for name, value in expected.items():
            if body.get(name) != value:
                raise VerificationError(f"{name} in the entry does not match the envelope")
        key = self._keys.get(env.key_id)
        if key is None or key.party_id != env.party_id:
            raise VerificationError(f"key {env.key_id} of {env.party_id} is not in the log yet")
        if key.revoked:
            raise VerificationError(f"key {env.key_id} was revoked before this leaf")
        try:
            verify_signature(key.public_key, env.signing_input(), env.signature)
        except VerificationError as exc:
            raise VerificationError(
                f"the signature of {env.party_id} does not verify: the event was not signed "
                "by the party (fabricated)"
            ) from exc
        self._match_event(body, env)

    @staticmethod
    def _match_event(body: Mapping[str, object], env: Envelope) -> None:
        events = [(e, b.context) for b in parse_epcis(env.payload) for e in b.events]
        position = body.get("position")
        if isinstance(position, int):
            candidates = [events[position]] if 0 <= position < len(events) else []
        else:  # v1 entries name no position
            candidates = [pair for pair in events if pair[0] == body.get("event")]
        for event, context in candidates:
            if event == body.get("event") and event_hash(event, context) == body.get("event_id"):
                return
        raise VerificationError("the event is not the one the party signed in its envelope")
