"""A custody-log append planned apart from its I/O: what it reads, refuses and writes.

An append of verified envelopes reads the log's state under the head lock (``GroupReads``: the
size, the keys, used envelopes and nonces, events already logged, the assets and product lines the
events touch, the tree's frontier), then computes, with no database access, every receipt and
every row it writes (``plan_append`` -> ``GroupWrites``). ``group_sql`` (any engine, SQLAlchemy
Core) and ``group_pg`` (PostgreSQL, pipelined round trips) do the reading and the writing around
the same plan, so the tree, the receipts and the registry rows cannot depend on the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from chiptrail.crypto import b64encode
from chiptrail.errors import PermissionDenied, VerificationError
from chiptrail.ledger import merkle
from chiptrail.ledger.custody import (
    AssetState,
    CustodyAnomaly,
    CustodyEvent,
    Registry,
    involved_epcs,
    maker_key,
)
from chiptrail.ledger.entries import encode_event_detail, encode_event_entry
from chiptrail.ledger.keys import KeyRecord, check_signing_key
from chiptrail.ledger.merkle import NodeKey
from chiptrail.ledger.submission import Envelope


@dataclass(frozen=True, slots=True)
class EventReceipt:
    """One submitted event: its hash id, its leaf, and whether it was already logged."""

    event_id: str
    leaf_index: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """What an accepted batch did."""

    receipts: tuple[EventReceipt, ...]
    size: int
    anomalies: tuple[CustodyAnomaly, ...]

    @property
    def appended(self) -> int:
        """Number of new leaves."""
        return sum(1 for r in self.receipts if not r.duplicate)


@dataclass(frozen=True, slots=True)
class Checked:
    """A verified envelope: its digest, its events ``(event id, event, prefixes)`` and each
    event's custody view (``leaf_index`` -1 until the event gets its leaf)."""

    envelope: Envelope
    digest: str
    events: list[tuple[str, Mapping[str, object], Mapping[str, str]]]
    custody: tuple[CustodyEvent, ...]


@dataclass(frozen=True, slots=True)
class Wanted:
    """What an append of some ``Checked`` envelopes must read (sorted, without repeats)."""

    key_ids: list[str]
    digests: list[str]
    nonces: list[tuple[str, str]]
    event_ids: list[str]
    maker_keys: list[str]
    epcs: list[str]


def wanted_of(checked: Sequence[Checked]) -> Wanted:
    """The keys, digests, (party, nonce) pairs, event ids, product lines and EPCs to read."""
    epcs: set[str] = set()
    makers: set[str] = set()
    for c in checked:
        for ev in c.custody:
            epcs.update(involved_epcs(ev))
            if ev.biz_step == "commissioning":
                makers.update(maker_key(e) for e in ev.epcs)
    return Wanted(
        key_ids=sorted({c.envelope.key_id for c in checked}),
        digests=sorted({c.digest for c in checked}),
        nonces=sorted({(c.envelope.party_id, c.envelope.nonce) for c in checked}),
        event_ids=sorted({eid for c in checked for eid, _, _ in c.events}),
        maker_keys=sorted(makers),
        epcs=sorted(epcs),
    )


@dataclass(frozen=True, slots=True)
class GroupReads:
    """The log's state under the head lock, for the envelopes being appended.

    Attributes:
        size: the committed tree size.
        keys: key records of the signing keys.
        used_digests: envelope digests already in the log.
        used_nonces: (party, nonce) pairs already used.
        existing: event id -> leaf of the events already logged.
        makers: product line -> the party that commissioned it first.
        assets: stored states of the EPCs the events name and of all their descendants.
        frontier: the tree's frontier nodes (``merkle.frontier_keys(size)``).
    """

    size: int
    keys: Mapping[str, KeyRecord]
    used_digests: frozenset[str]
    used_nonces: frozenset[tuple[str, str]]
    existing: Mapping[str, int]
    makers: Mapping[str, str]
    assets: Mapping[str, AssetState]
    frontier: Mapping[NodeKey, bytes]


@dataclass
class GroupWrites:
    """Every row one append writes, in the order ``group_sql`` and ``group_pg`` write them."""

    submissions: list[Checked]
    received_at: datetime
    leaves: list[tuple[int, str | None, str, bytes, bytes]]
    """``(leaf_index, event_id, party_id, entry, detail)`` of each new event leaf."""
    nodes: dict[NodeKey, bytes]
    size: int
    makers: dict[str, tuple[str, int]]
    new_assets: list[AssetState]
    old_assets: list[AssetState]
    history: list[tuple[str, int]]
    anomalies: list[CustodyAnomaly]


def _stale(
    reads: GroupReads,
    c: Checked,
    verified_with: KeyRecord,
    seen: Sequence[tuple[set[str], set[tuple[str, str]]]],
) -> VerificationError | None:
    """Why ``c`` cannot be appended now although it verified (None: it can), given the log and
    the (digests, nonces) that ``seen`` requests of the group already take."""
    env = c.envelope
    try:
        record = check_signing_key(reads.keys.get(env.key_id), env.party_id, env.key_id)
    except VerificationError as exc:
        return exc
    if record.public_key != verified_with.public_key:
        return VerificationError("the key was replaced", {"field": "key_id"})
    if c.digest in reads.used_digests or any(c.digest in d for d, _ in seen):
        return VerificationError("replayed submission: this envelope was accepted before")
    pair = (env.party_id, env.nonce)
    if pair in reads.used_nonces or any(pair in n for _, n in seen):
        return VerificationError("replayed nonce: this party used it before", {"field": "nonce"})
    return None


def refuse_stale(
    reads: GroupReads, requests: Sequence[tuple[Sequence[Checked], Mapping[str, KeyRecord]]]
) -> dict[int, VerificationError]:
    """Requests (by position) that ``reads`` refuses although they verified: a key revoked or
    replaced since, an envelope or nonce used before or by an earlier request of the group.
    A refusal's details name the envelope's position in its own request."""
    taken: tuple[set[str], set[tuple[str, str]]] = (set(), set())
    refused: dict[int, VerificationError] = {}
    for i, (checked, keys) in enumerate(requests):
        mine: tuple[set[str], set[tuple[str, str]]] = (set(), set())
        for pos, c in enumerate(checked):
            reason = _stale(reads, c, keys[c.envelope.key_id], (taken, mine))
            if reason is not None:
                reason.details["envelope"] = pos
                refused[i] = reason
                break
            mine[0].add(c.digest)
            mine[1].add((c.envelope.party_id, c.envelope.nonce))
        else:
            taken[0].update(mine[0])
            taken[1].update(mine[1])
    return refused


class _PlannedNodes:
    """A ``merkle.NodeStore`` that answers from the read frontier and keeps what is written."""

    def __init__(self, frontier: Mapping[NodeKey, bytes]) -> None:
        self._frontier = frontier
        self.written: dict[NodeKey, bytes] = {}

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return {k: self._frontier[k] for k in keys if k in self._frontier}

    def put_nodes(self, nodes: Mapping[NodeKey, bytes]) -> None:
        self.written.update(nodes)


def plan_append(
    checked: Sequence[Checked], reads: GroupReads, now: datetime
) -> tuple[SubmissionResult, GroupWrites]:
    """Receipts and rows of appending ``checked`` (in order) to the log ``reads`` describes.

    Events already logged (same event id, also earlier in ``checked``) get a duplicate receipt
    and no leaf. Pure: nothing is read or written.

    Raises:
        PermissionDenied: the custody chain refuses an event (``details["envelope"]`` is the
            position in ``checked``).
    """
    size = reads.size
    existing = dict(reads.existing)
    leaves: list[tuple[int, str | None, str, bytes, bytes]] = []
    receipts: list[EventReceipt] = []
    custody: list[tuple[CustodyEvent, int]] = []
    for position, c in enumerate(checked):
        signature_b64 = b64encode(c.envelope.signature)
        for event_position, (eid, event, prefixes) in enumerate(c.events):
            if eid in existing:
                receipts.append(EventReceipt(eid, existing[eid], True))
                continue
            leaf = size + len(leaves)
            existing[eid] = leaf
            detail = encode_event_detail(
                {
                    "event_id": eid,
                    "party_id": c.envelope.party_id,
                    "key_id": c.envelope.key_id,
                    "signature_b64": signature_b64,
                    "envelope_sha256": c.digest,
                    "position": event_position,
                    "prefixes": dict(prefixes),
                    "event": event,
                }
            )
            leaves.append((leaf, eid, c.envelope.party_id, encode_event_entry(detail), detail))
            receipts.append(EventReceipt(eid, leaf, False))
            custody.append((replace(c.custody[event_position], leaf_index=leaf), position))
    nodes = _PlannedNodes(reads.frontier)
    new_size = size
    if leaves:
        hashes = [merkle.hash_leaf(entry) for _, _, _, entry, _ in leaves]
        new_size = merkle.append_leaves(nodes, size, hashes)
    registry = Registry(enforce=True)
    registry.makers.update(reads.makers)
    registry.states.update(reads.assets)
    for ev, position in custody:
        try:
            registry.apply(ev)
        except PermissionDenied as exc:
            exc.details["envelope"] = position
            raise
    states, history, anomalies = registry.take_changes()
    writes = GroupWrites(
        submissions=list(checked),
        received_at=now,
        leaves=leaves,
        nodes=nodes.written,
        size=new_size,
        makers=dict(registry.new_makers),
        new_assets=[s for s in states if s.epc not in reads.assets],
        old_assets=[s for s in states if s.epc in reads.assets],
        history=history,
        anomalies=anomalies,
    )
    return SubmissionResult(tuple(receipts), new_size, tuple(anomalies)), writes


@dataclass
class FrontierCache:
    """The frontier of the last tree this process committed.

    Perfect nodes never change once committed, so the frontier of a size stays true forever;
    an append at that size needs no node read. Another size (another process appended) is read
    from the database. Only committed appends may ``advance`` it.
    """

    size: int = -1
    nodes: dict[NodeKey, bytes] = field(default_factory=dict)

    def get(self, size: int) -> dict[NodeKey, bytes] | None:
        """The frontier of ``size`` if known."""
        return dict(self.nodes) if size == self.size else None

    def advance(self, reads: GroupReads, writes: GroupWrites) -> None:
        """Remember the frontier after ``writes`` committed on top of ``reads``."""
        known = {**reads.frontier, **writes.nodes}
        keys = merkle.frontier_keys(writes.size)
        if all(k in known for k in keys):
            self.size, self.nodes = writes.size, {k: known[k] for k in keys}
        else:  # pragma: no cover - append_leaves writes every node a frontier needs
            self.size, self.nodes = -1, {}
