"""Ledger use cases: parties and keys, signed submissions, the registry of chips and anomalies.

Each public function is one unit of work (the CLI command and HTTP route call it). Order inside
an append: lock the log head, verify every signature and validate every event, then append
leaves, Merkle nodes and the derived registry rows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from chiptrail.crypto import b64decode, b64encode
from chiptrail.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    VerificationError,
)
from chiptrail.ledger import merkle
from chiptrail.ledger.custody import (
    AssetState,
    CustodyAnomaly,
    CustodyEvent,
    Registry,
    custody_event_from_epcis,
)
from chiptrail.ledger.entries import (
    EntryKind,
    decode_entry,
    encode_entry,
)
from chiptrail.ledger.epcis import parse_epcis
from chiptrail.ledger.event_hash import event_hash
from chiptrail.ledger.keys import (
    KeyRecord,
    Party,
    check_new_key,
    check_revocable,
    check_signing_key,
    make_key,
    make_party,
)
from chiptrail.ledger.sites import check_site_fields
from chiptrail.ledger.submission import (
    Envelope,
    envelope_digest,
    parse_envelope,
    verify_envelope,
)
from chiptrail.service.access import scope
from chiptrail.service.auth import Caller
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.group import Checked, SubmissionResult
from chiptrail.service.ledger.group_sql import append_checked
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import submissions_table

MAX_ENVELOPES = 10_000


# --- appending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pending:
    kind: EntryKind
    entry: bytes
    event_id: str | None = None
    party_id: str | None = None
    detail: bytes | None = None


def _append(conn: Connection, size: int, pending: Sequence[_Pending], now: datetime) -> int:
    """Append under the held lock; returns the new size."""
    rows.insert_leaves(
        conn,
        [
            {
                "leaf_index": size + i,
                "kind": p.kind.value,
                "event_id": p.event_id,
                "party_id": p.party_id,
                "entry": p.entry,
                "appended_at": now,
                "detail": p.detail,
            }
            for i, p in enumerate(pending)
        ],
    )
    hashes = [merkle.hash_leaf(p.entry) for p in pending]
    new_size = merkle.append_leaves(rows.SqlNodeStore(conn), size, hashes)
    rows.set_log_size(conn, new_size)
    return new_size


@dataclass(frozen=True, slots=True)
class PartyRegistration:
    """A registered party and the leaf that records it."""

    party: Party
    leaf_index: int


def register_party(
    db: Database,
    *,
    party_id: str,
    name: str,
    country: str | None,
    kind: str,
    now: datetime,
) -> PartyRegistration:
    """Register a party (logged as a ``party`` entry).

    Raises:
        InvalidInput: bad id, name, country or kind. Conflict: the id is taken.
    """
    party = make_party(party_id, name, country, kind)
    entry = encode_entry(
        EntryKind.PARTY,
        {
            "party_id": party.party_id,
            "name": party.name,
            "country": party.country,
            "party_kind": party.kind.value,
        },
    )
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        if rows.get_party(conn, party.party_id) is not None:
            raise Conflict(f"party {party.party_id} is already registered")
        _append(conn, size, [_Pending(EntryKind.PARTY, entry, None, party.party_id)], now)
        rows.insert_party(conn, party, size)
    return PartyRegistration(party, size)


def _require_party(conn: Connection, party_id: str) -> Party:
    party = rows.get_party(conn, party_id)
    if party is None:
        raise NotFound(f"party {party_id} is not registered", {"party_id": party_id})
    return party


def _key_entry(record: KeyRecord) -> bytes:
    return encode_entry(
        EntryKind.KEY_ADD,
        {
            "party_id": record.party_id,
            "key_id": record.key_id,
            "public_key_b64": b64encode(record.public_key),
        },
    )


def _revoke_entry(party_id: str, key_id: str) -> bytes:
    return encode_entry(EntryKind.KEY_REVOKE, {"party_id": party_id, "key_id": key_id})


def add_party_key(db: Database, *, party_id: str, public_key: bytes, now: datetime) -> KeyRecord:
    """Register a public key for a party (a ``key-add`` entry).

    Raises:
        NotFound: unknown party. InvalidInput: not a 32-byte key. Conflict: key already known.
    """
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        _require_party(conn, party_id)
        record = make_key(party_id, public_key, size)
        check_new_key(rows.get_keys(conn, [record.key_id]).get(record.key_id))
        _append(conn, size, [_Pending(EntryKind.KEY_ADD, _key_entry(record), None, party_id)], now)
        rows.insert_key(conn, record)
    return record


def revoke_party_key(db: Database, *, party_id: str, key_id: str, now: datetime) -> KeyRecord:
    """Revoke a key (a ``key-revoke`` entry); later submissions signed with it are refused.

    Raises:
        NotFound: unknown party. InvalidInput: not this party's key. Conflict: already revoked.
    """
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        _require_party(conn, party_id)
        record = check_revocable(rows.get_keys(conn, [key_id]).get(key_id), party_id, key_id)
        entry = _revoke_entry(party_id, key_id)
        _append(conn, size, [_Pending(EntryKind.KEY_REVOKE, entry, None, party_id)], now)
        rows.mark_key_revoked(conn, key_id, size)
    return replace(record, revoked_leaf=size)


def rotate_party_key(
    db: Database, *, party_id: str, old_key_id: str, new_public_key: bytes, now: datetime
) -> KeyRecord:
    """Add a new key and revoke the old one in one append (two entries, one transaction).

    Returns the new key.
    """
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        _require_party(conn, party_id)
        old = check_revocable(
            rows.get_keys(conn, [old_key_id]).get(old_key_id), party_id, old_key_id
        )
        new = make_key(party_id, new_public_key, size)
        check_new_key(rows.get_keys(conn, [new.key_id]).get(new.key_id))
        pending = [
            _Pending(EntryKind.KEY_ADD, _key_entry(new), None, party_id),
            _Pending(EntryKind.KEY_REVOKE, _revoke_entry(party_id, old.key_id), None, party_id),
        ]
        _append(conn, size, pending, now)
        rows.insert_key(conn, new)
        rows.mark_key_revoked(conn, old.key_id, size + 1)
    return new


def list_party_keys(db: Database, party_id: str) -> list[KeyRecord]:
    """A party's keys (active and revoked), oldest first.

    Raises:
        NotFound: unknown party.
    """
    with db.unit() as conn:
        _require_party(conn, party_id)
        return rows.list_keys(conn, party_id)


# --- submissions ------------------------------------------------------------------------------


def _check_envelopes(
    conn: Connection, envelopes: Sequence[Envelope], now: datetime
) -> list[Checked]:
    keys = rows.get_keys(conn, [e.key_id for e in envelopes])
    checked = _verify_envelopes(envelopes, keys, now)
    _check_replays(conn, checked)
    return checked


def _verify_envelopes(
    envelopes: Sequence[Envelope], keys: Mapping[str, KeyRecord], now: datetime
) -> list[Checked]:
    """Signatures, key status, freshness, nonces within the batch, EPCIS schema and event ids:
    the CPU-bound checks, with no database access (the group-commit sequencer runs them before
    it takes the log lock)."""
    seen_nonces: set[tuple[str, str]] = set()
    checked = []
    for position, env in enumerate(envelopes):
        try:
            record = check_signing_key(keys.get(env.key_id), env.party_id, env.key_id)
            message = env.signing_input()
            verify_envelope(env, record.public_key, now=now, message=message)
            if (env.party_id, env.nonce) in seen_nonces:
                raise VerificationError("nonce used twice in this batch", {"field": "nonce"})
            seen_nonces.add((env.party_id, env.nonce))
        except VerificationError as exc:
            exc.details["envelope"] = position
            raise
        events: list[tuple[str, Mapping[str, object], Mapping[str, str]]] = []
        custody: list[CustodyEvent] = []
        try:
            batches = parse_epcis(env.payload)
        except InvalidInput as exc:
            exc.details["envelope"] = position
            raise
        for batch in batches:
            for event in batch.events:
                try:
                    check_site_fields(event, batch.prefixes)
                except InvalidInput as exc:
                    exc.details.update(envelope=position, event=len(events))
                    raise
                events.append((event_hash(event, batch.context), event, batch.prefixes))
                custody.append(
                    custody_event_from_epcis(
                        event, leaf_index=-1, party_id=env.party_id, prefixes=batch.prefixes
                    )
                )
        digest = envelope_digest(message, env.signature)
        checked.append(Checked(env, digest, events, tuple(custody)))
    return checked


def _check_replays(conn: Connection, checked: Sequence[Checked]) -> None:
    """Refuse envelopes accepted before and nonces a party used before (both indexed lookups)."""
    t = submissions_table
    digests = [c.digest for c in checked]
    for start in range(0, len(digests), 400):
        chunk = digests[start : start + 400]
        found = conn.execute(select(t.c.envelope_sha256).where(t.c.envelope_sha256.in_(chunk)))
        if found.first() is not None:
            raise VerificationError("replayed submission: this envelope was accepted before")
    by_party: dict[str, list[str]] = {}
    for c in checked:
        by_party.setdefault(c.envelope.party_id, []).append(c.envelope.nonce)
    for party_id, nonces in by_party.items():
        for start in range(0, len(nonces), 400):
            chunk = nonces[start : start + 400]
            hit = conn.execute(
                select(t.c.nonce).where(t.c.party_id == party_id, t.c.nonce.in_(chunk))
            ).first()
            if hit is not None:
                raise VerificationError(
                    "replayed nonce: this party used it before", {"field": "nonce"}
                )


def submit_envelopes(
    db: Database, envelopes: Sequence[bytes | dict[str, object]], *, now: datetime
) -> SubmissionResult:
    """Verify and append a batch of signed envelopes: all land or none.

    Events already in the log (same Event Hash ID) are not appended again; their receipt names
    the existing leaf and says ``duplicate``.

    Raises:
        VerificationError: unsigned, badly signed, unknown/revoked key, stale, replayed.
        InvalidInput: a malformed envelope or schema-invalid EPCIS (with JSON paths).
    """
    if not envelopes:
        raise InvalidInput("no envelopes to submit", {"field": "envelopes"})
    if len(envelopes) > MAX_ENVELOPES:
        raise InvalidInput(f"at most {MAX_ENVELOPES} envelopes per batch")
    parsed = [parse_envelope(e) for e in envelopes]
    try:
        with db.unit() as conn:
            size = rows.lock_log_head(conn)
            checked = _check_envelopes(conn, parsed, now)
            return append_checked(conn, size, checked, now)
    except IntegrityError as exc:  # a concurrent writer beat the checks (unique constraints)
        raise Conflict("conflicting concurrent submission; retry") from exc


# --- reading the registry ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One logged event in a chip's history."""

    leaf_index: int
    event_id: str
    party_id: str
    event_type: str
    biz_step: str | None
    event_time: str | None


@dataclass(frozen=True, slots=True)
class ChipView:
    """A chip's (or server's, rack's) current state, history and anomalies."""

    state: AssetState
    history: tuple[HistoryItem, ...]
    anomalies: tuple[CustodyAnomaly, ...]
    children: tuple[str, ...]


def get_chip(db: Database, epc: str, *, caller: Caller | None = None) -> ChipView:
    """Current state and full history of one EPC.

    ``caller`` (None: trusted local use) must reach the EPC (``service.access.scope``).

    Raises:
        NotFound: the EPC never appeared in the log.
        PermissionDenied: ``caller``'s party does not reach the EPC.
    """
    if caller is not None:
        scope.require_asset(db, caller, epc)
    with db.unit() as conn:
        states = rows.load_assets(conn, [epc])
        if epc not in states:
            raise NotFound(f"{epc} is not in the registry", {"epc": epc})
        leaves = rows.history_leaves(conn, epc)
        entries = rows.leaf_bodies(conn, leaves)
        history = []
        for index in leaves:
            body = decode_entry(*entries[index]).body
            event = body.get("event")
            ev = event if isinstance(event, Mapping) else {}
            step = custody_event_from_epcis(ev, leaf_index=index, party_id="", prefixes={}).biz_step
            history.append(
                HistoryItem(
                    leaf_index=index,
                    event_id=str(body.get("event_id", "")),
                    party_id=str(body.get("party_id", "")),
                    event_type=str(ev.get("type", "")),
                    biz_step=step,
                    event_time=str(ev["eventTime"]) if "eventTime" in ev else None,
                )
            )
        return ChipView(
            state=states[epc],
            history=tuple(history),
            anomalies=tuple(rows.load_anomalies(conn, epc)),
            children=tuple(sorted(rows.child_epcs(conn, [epc]))),
        )


def list_party_chips(db: Database, party_id: str) -> list[AssetState]:
    """Assets a party currently holds.

    Raises:
        NotFound: unknown party.
    """
    with db.unit() as conn:
        _require_party(conn, party_id)
        return rows.assets_of_party(conn, party_id)


def list_custody_anomalies(db: Database, subject: str | None = None) -> list[CustodyAnomaly]:
    """Custody anomalies (for the rules engine), each with its leaf indexes as evidence."""
    with db.unit() as conn:
        return rows.load_anomalies(conn, subject)


def _iter_entries(conn: Connection, size: int) -> Iterator[tuple[int, bytes, bytes | None]]:
    step = 1000
    for start in range(0, size, step):
        leaves = rows.read_leaves(conn, start, min(size, start + step))
        for offset, (entry, detail) in enumerate(leaves):
            yield start + offset, entry, detail


REBUILD_REPORT_EVERY = 1000
"""``rebuild_registry`` reports its progress after this many entries."""


def rebuild_registry(db: Database, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute parties, keys, chip states, history and anomalies from the log alone.

    ``progress(done, size)`` hears every ``REBUILD_REPORT_EVERY`` entries and at the end.
    Returns the number of entries replayed.
    """
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        rows.clear_registry(conn)
        registry = Registry()
        for index, data, detail in _iter_entries(conn, size):
            _replay(conn, registry, index, data, detail)
            if progress is not None and (index + 1) % REBUILD_REPORT_EVERY == 0:
                progress(index + 1, size)
        if progress is not None:
            progress(size, size)
        states, history, anomalies = registry.take_changes()
        rows.save_makers(conn, registry.new_makers)
        rows.save_assets(conn, states, set())
        rows.save_history(conn, history)
        rows.save_anomalies(conn, anomalies)
    return size


def _replay(
    conn: Connection, registry: Registry, index: int, data: bytes, detail: bytes | None
) -> None:
    entry = decode_entry(data, detail)
    body = entry.body
    party_id = str(body.get("party_id", ""))
    if entry.kind is EntryKind.PARTY:
        country = body.get("country")
        party = make_party(
            party_id,
            str(body["name"]),
            country if isinstance(country, str) else None,
            str(body["party_kind"]),
        )
        rows.insert_party(conn, party, index)
    elif entry.kind is EntryKind.KEY_ADD:
        public_key = b64decode(str(body["public_key_b64"]), "public_key_b64")
        rows.insert_key(conn, make_key(party_id, public_key, index))
    elif entry.kind is EntryKind.KEY_REVOKE:
        rows.mark_key_revoked(conn, str(body["key_id"]), index)
    else:
        event = body.get("event")
        prefixes = body.get("prefixes")
        registry.apply(
            custody_event_from_epcis(
                event if isinstance(event, Mapping) else {},
                leaf_index=index,
                party_id=party_id,
                prefixes=prefixes if isinstance(prefixes, Mapping) else {},
            )
        )
