"""Group commit on every engine: many requests appended as one batch, each answered on its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chiptrail.errors import PermissionDenied, VerificationError
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger.group import plan_append
from chiptrail.service.ledger.sequencer import (
    GroupSession,
    PreparedSubmission,
    Sequencer,
    append_group,
    append_group_on,
    prepare_submission,
)
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import (
    anomalies_table,
    asset_history_table,
    assets_table,
    log_leaves_table,
    makers_table,
)
from chiptrail.store.migrate import open_database
from tests.ledger.helpers import NOW, chip, document, envelope, event, server
from tests.store.test_ledger_store import _setup


def _size(db: Database) -> int:
    with db.unit() as conn:
        return int(conn.execute(select(func.count()).select_from(log_leaves_table)).scalar_one())


def _prepared(
    db: Database, party: str, key: int, nonce: str, *events: dict[str, object]
) -> PreparedSubmission:
    env = envelope(party, key, document(*events), nonce)
    return prepare_submission(db, [env.to_bytes()], now=NOW)


def _requests(db: Database) -> list[PreparedSubmission]:
    return [
        _prepared(db, "vendor", 1, "n-000001", event("commissioning", [chip(1), chip(2)])),
        _prepared(db, "vendor", 1, "n-000002", event("commissioning", [chip(3)])),
        _prepared(db, "vendor", 1, "n-000003", event("commissioning", [chip(4)])),
    ]


def test_a_group_appends_like_its_requests_one_by_one(database: Database, tmp_path: Path) -> None:
    _setup(database)
    outcomes = append_group(database, _requests(database), now=NOW)
    assert all(isinstance(o, svc.SubmissionResult) for o in outcomes)
    leaves = [[r.leaf_index for r in o.receipts] for o in outcomes]  # type: ignore[union-attr]
    first = leaves[0][0]
    assert leaves == [[first], [first + 1], [first + 2]]  # one event each, in request order
    # the same requests appended one at a time give the same tree
    other = open_database(f"sqlite:///{tmp_path / 'alone.db'}")
    _setup(other)
    for request in _requests(other):
        append_group(other, [request], now=NOW)
    grouped = svc_log.prove_inclusion(database, 0)
    alone = svc_log.prove_inclusion(other, 0)
    other.dispose()
    assert (grouped.size, grouped.root_hash) == (alone.size, alone.root_hash)


def test_a_refused_request_fails_alone(database: Database) -> None:
    _setup(database)
    svc.submit_envelopes(
        database,
        [envelope("vendor", 1, document(event("commissioning", [chip(1)])), "n-000001").to_bytes()],
        now=NOW,
    )
    size = _size(database)
    group = [
        _prepared(database, "vendor", 1, "n-000002", event("commissioning", [chip(3)])),
        # replays the nonce the vendor used above (its signature is fine)
        _prepared(database, "vendor", 1, "n-000001", event("commissioning", [chip(5)])),
        # ships a chip the party does not hold: the custody chain refuses it under the lock
        _prepared(
            database,
            "other",
            4,
            "n-000003",
            event("shipping", [chip(1)], minute=7, destination="other"),
        ),
        _prepared(database, "vendor", 1, "n-000004", event("commissioning", [chip(6)])),
        # the same nonce as the request before it, within this group
        _prepared(database, "vendor", 1, "n-000004", event("commissioning", [chip(7)])),
    ]
    outcomes = append_group(database, group, now=NOW)
    assert isinstance(outcomes[0], svc.SubmissionResult)
    assert isinstance(outcomes[1], VerificationError)
    assert "replayed nonce" in outcomes[1].message
    assert isinstance(outcomes[2], PermissionDenied)
    assert outcomes[2].details["envelope"] == 0
    assert isinstance(outcomes[3], svc.SubmissionResult)
    assert isinstance(outcomes[4], VerificationError)
    assert _size(database) == size + 2
    assert [r.leaf_index for r in outcomes[3].receipts] == [size + 1]


def test_a_key_revoked_after_verification_is_refused_under_the_lock(database: Database) -> None:
    _setup(database)
    request = _prepared(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    key_id = svc.list_party_keys(database, "vendor")[0].key_id
    svc.revoke_party_key(database, party_id="vendor", key_id=key_id, now=NOW)
    size = _size(database)
    (outcome,) = append_group(database, [request], now=NOW)
    assert isinstance(outcome, VerificationError)
    assert _size(database) == size


def test_the_sequencer_answers_every_concurrent_request(database: Database) -> None:
    """Concurrent requests, grouped (on PostgreSQL each commit also begins the next group and
    reads for it): every one is answered, each appended once, in one gapless run of leaves."""
    db = database
    _setup(db)
    sequencer = Sequencer(db, clock=lambda: NOW)
    envelopes = [
        envelope("vendor", 1, document(event("commissioning", [chip(100 + i)])), f"n-{i:06d}")
        for i in range(40)
    ]

    def submit(i: int) -> svc.SubmissionResult:
        prepared = prepare_submission(db, [envelopes[i].to_bytes()], now=NOW)
        return sequencer.submit(prepared).result(timeout=60)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(submit, range(40)))
    replay = prepare_submission(db, [envelopes[0].to_bytes()], now=NOW)
    with pytest.raises(VerificationError):
        sequencer.submit(replay).result(timeout=60)
    sequencer.close()
    leaves = sorted(r.receipts[0].leaf_index for r in results)
    assert leaves == list(range(leaves[0], leaves[0] + 40))  # every request, each once
    assert 1 <= sequencer.batches <= 41
    assert sequencer.requests == 41


def test_a_cached_key_revoked_since_is_refused_and_forgotten(database: Database) -> None:
    _setup(database)
    sequencer = Sequencer(database, clock=lambda: NOW)

    def wire(nonce: str, n: int) -> list[bytes | dict[str, object]]:
        env = envelope("vendor", 1, document(event("commissioning", [chip(n)])), nonce)
        return [env.to_json()]

    first = sequencer.prepare(wire("n-000001", 1), now=NOW)
    assert sequencer.submit(first).result(timeout=60).appended == 1
    key_id = svc.list_party_keys(database, "vendor")[0].key_id
    svc.revoke_party_key(database, party_id="vendor", key_id=key_id, now=NOW)
    cached = sequencer.prepare(wire("n-000002", 2), now=NOW)  # the cache still says active
    with pytest.raises(VerificationError, match="revoked"):
        sequencer.submit(cached).result(timeout=60)
    with pytest.raises(VerificationError, match="revoked"):  # read again, refused up front
        sequencer.prepare(wire("n-000003", 3), now=NOW)
    sequencer.close()


def _registry_rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    with db.unit() as conn:
        for table in (assets_table, asset_history_table, makers_table):
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
        query = select(
            anomalies_table.c.kind,
            anomalies_table.c.subject,
            anomalies_table.c.leaf_index,
            anomalies_table.c.evidence,
        )
        out["anomalies"] = sorted(tuple(r) for r in conn.execute(query))
    return out


def test_grouped_appends_store_what_a_rebuild_from_the_log_computes(database: Database) -> None:
    """The sequencer's path (pipelined on PostgreSQL) writes the registry rows, history,
    anomalies and product lines that replaying the log computes, also for nested assets moved
    with their parent and across groups on one held connection."""
    _setup(database)
    flow = [
        ("vendor", 1, event("commissioning", [chip(1), chip(2)])),
        ("vendor", 1, event("shipping", [chip(1), chip(2)], minute=1, destination="dist")),
        ("other", 4, event("receiving", [chip(1)], minute=2)),  # not the addressee: an anomaly
        ("dist", 2, event("receiving", [chip(2)], minute=3)),
        (
            "dist",
            2,
            event(
                "installing",
                [chip(2)],
                event_type="AggregationEvent",
                action="ADD",
                parent=server(1),
                minute=4,
            ),
        ),
        ("dist", 2, event("shipping", [server(1)], minute=5, destination="dc")),
        ("dc", 3, event("receiving", [server(1)], minute=6, site=("MY", 1.5, 103.6, "DC1"))),
    ]
    requests = [
        _prepared(database, party, key, f"n-{i:06d}", ev) for i, (party, key, ev) in enumerate(flow)
    ]
    session = GroupSession(database)
    try:
        outcomes = append_group(database, requests[:3], now=NOW, session=session)
        for request in requests[3:]:
            outcomes += append_group(database, [request], now=NOW, session=session)
    finally:
        session.close()
    assert all(isinstance(o, svc.SubmissionResult) for o in outcomes), outcomes
    assert [a.kind.value for a in outcomes[2].anomalies] == ["receiver-not-destination"]
    chip_view = svc.get_chip(database, chip(2))
    assert (chip_view.state.custodian, chip_view.state.parent) == ("dc", server(1))
    assert chip_view.state.site is not None
    assert chip_view.state.site.country == "MY"
    grouped = _registry_rows(database)
    svc.rebuild_registry(database)
    assert _registry_rows(database) == grouped
    size = _size(database)
    proof = svc_log.prove_inclusion(database, size - 1)
    assert proof.size == size


def test_a_replay_racing_past_the_checks_is_a_conflict_not_a_crash(database: Database) -> None:
    """Two sequencers (processes) verify the same envelope; the second one's commit meets the
    unique constraint (IntegrityError, also from the pipelined path), stores nothing, and its
    connection serves the next group."""
    _setup(database)
    request = _prepared(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    (first,) = append_group(database, [request], now=NOW)
    assert isinstance(first, svc.SubmissionResult)
    size = _size(database)
    session = GroupSession(database)
    try:
        reads = session.store.begin(list(request.checked), session.frontier)
        assert request.checked[0].digest in reads.used_digests
        # what a second sequencer read before the first one committed: the envelope unused,
        # its event already logged (so only the submission row is written, and it is a replay)
        stale = replace(reads, used_digests=frozenset(), used_nonces=frozenset())
        writes = plan_append(list(request.checked), stale, NOW)[1]
        assert writes.leaves == []
        with pytest.raises(IntegrityError):
            session.store.commit(writes, stale, [], session.frontier)
        session.store.rollback()
        later = _prepared(database, "vendor", 1, "n-000002", event("commissioning", [chip(2)]))
        (outcome,) = append_group(database, [later], now=NOW, session=session)
    finally:
        session.close()
    assert isinstance(outcome, svc.SubmissionResult)
    assert _size(database) == size + 1


def test_a_commit_reads_ahead_for_the_next_group(database: Database) -> None:
    """The commit of one group hands over the next group: on PostgreSQL the same round trip
    begins its transaction and reads for it (the reads see the commit), elsewhere it starts
    afresh; either way both land, in order, as if appended one by one."""
    _setup(database)
    first = _prepared(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    ship = event("shipping", [chip(1)], minute=1, destination="dist")
    second = _prepared(database, "vendor", 1, "n-000002", ship)
    size = _size(database)
    session = GroupSession(database)
    try:
        done = append_group_on(session, [first], NOW, None, lambda: [second])
        assert [type(o) for o in done.outcomes] == [svc.SubmissionResult]
        if database.is_postgres:
            assert done.ahead_reads is not None
            assert done.ahead_reads.size == size + 1  # it sees the first group's commit
            assert chip(1) in done.ahead_reads.assets
        else:
            assert done.ahead_reads is None
        (outcome,) = append_group_on(session, [second], NOW, done.ahead_reads).outcomes
    finally:
        session.close()
    assert isinstance(outcome, svc.SubmissionResult)
    assert [r.leaf_index for r in outcome.receipts] == [size + 1]
    assert svc.get_chip(database, chip(1)).state.status.value == "in_transit"
