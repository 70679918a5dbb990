"""Rules over the STORED state: signed custody, a loaded list, stored verdicts and tenancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.errors import InvalidInput
from chiptrail.parties.aggregate import CustodyRecord
from chiptrail.rules.view import Role
from chiptrail.service.alerts import findings as rules
from chiptrail.service.alerts.view import ANYWHERE_KM, build_view_from_store, run_rules_on_store
from chiptrail.service.demo.ledger import ingest_world
from chiptrail.service.demo.run import analyse_stored_world, analyse_world, run_demo
from chiptrail.service.demo.store import store_restricted_list
from chiptrail.service.ledger.custody_records import custody_source, list_custody_records
from chiptrail.service.parties import graph as parties_graph
from chiptrail.sim.scenarios import build_world
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository
from chiptrail.store.migrate import open_database
from chiptrail.types import ChipId, PartyId, Verdict
from tests.service.store_world import NOW, build_store_world, chip

runner = CliRunner()


def _ledger_refs(finding: object) -> set[int]:
    return {e.leaf_index for e in finding.evidence if e.leaf_index is not None}  # type: ignore[attr-defined]


def test_view_holds_what_is_stored(database: Database) -> None:
    world = build_store_world(database)
    view = build_view_from_store(database, NOW)
    assert {e.leaf_index for e in view.events} == set(world.leaves.values())
    install = next(e for e in view.events if e.leaf_index == world.leaves["install-3"])
    assert install.chip_ids == (chip(3), chip(4))
    assert (install.site_id, install.country, install.party_id) == ("hk-dc-9", "HK", "front-c")
    ship = next(e for e in view.events if e.leaf_index == world.leaves["ship-2"])
    assert (ship.destination_party, ship.destination_country) == ("dist-b", "SG")
    assert view.sites["us-dc-1"].operator == "op-d"
    assert view.chips[ChipId(chip(1))].model == "h100-sxm"
    assert view.parties[PartyId("vendor-a")].role is Role.VENDOR
    assert view.parties[PartyId("op-d")].role is Role.CLOUD
    assert view.parties[PartyId("holding-e")].name == "Echo Holdings"
    assert view.parties[PartyId("holding-e")].role is Role.HOLDING
    assert [(o.owner, o.owned, o.share) for o in view.ownership] == [("holding-e", "front-c", 0.6)]
    assert [(h.party_id, h.list_name) for h in view.screening_hits] == [
        ("front-c", "test-entity-list")
    ]
    fix = next(f for f in view.fixes if f.verdict is Verdict.VIOLATION)
    assert (fix.chip_id, fix.site_id, fix.landmark_ids) == (
        chip(3),
        "hk-dc-9",
        ("lm-sin", "lm-kul"),
    )
    assert [u.tenant for u in view.usage] == ["front-c"]
    # Nothing after ``now`` is in the view.
    early = build_view_from_store(database, NOW - timedelta(days=45))
    assert world.leaves["ship-2"] not in {e.leaf_index for e in early.events}
    assert not early.fixes
    assert not early.usage


def test_rules_fire_on_stored_state_citing_real_leaves(database: Database) -> None:
    world = build_store_world(database)
    run = run_rules_on_store(database, now=NOW, store=True)
    by = {(f.rule, f.subject): f for f in run.findings}
    never = by[("shipped-never-received", chip(2))]
    assert _ledger_refs(never) == {world.leaves["ship-2"]}
    assert "dist-b" in never.explanation
    violation = by[("location-violation", chip(3))]
    assert any(e.ref.startswith("fix:verdict-") for e in violation.evidence)
    restricted = by[("restricted-party", "front-c")]
    assert "test-entity-list" in restricted.explanation
    assert any("Shenzhen Huaxin" in e.detail for e in restricted.evidence)
    # The clean chip, its operator and the clean lot-mate's location are not flagged.
    subjects = {f.subject for f in run.findings}
    assert chip(1) not in subjects
    assert "op-d" not in subjects
    assert ("location-violation", chip(4)) not in by
    assert run.inputs["events"] == len(world.leaves)
    assert run.run_id is not None
    stored = rules.list_findings(database, rule="shipped-never-received")
    assert [f["subject"] for f in stored.items] == [chip(2)]
    assert stored.items[0]["evidence"][0]["leaf_index"] == world.leaves["ship-2"]


def test_before_the_deadline_nothing_is_overdue(sqlite_database: Database) -> None:
    build_store_world(sqlite_database)
    run = run_rules_on_store(sqlite_database, now=NOW - timedelta(days=30))
    assert "shipped-never-received" not in {f.rule for f in run.findings}


def test_naive_now_is_refused(sqlite_database: Database) -> None:
    with pytest.raises(InvalidInput):
        build_view_from_store(sqlite_database, NOW.replace(tzinfo=None))


def test_custody_records_count_each_chip_once(database: Database) -> None:
    world = build_store_world(database)
    records = list_custody_records(database, [PartyId("front-c"), PartyId("op-d")])
    assert sorted((r.buyer_id, r.quantity) for r in records) == [("front-c", 2), ("op-d", 1)]
    assert all(isinstance(r, CustodyRecord) and r.chip_model == "h100-sxm" for r in records)
    assert list_custody_records(database, [PartyId("vendor-a")]) == []
    assert world.leaves  # the situation was built through the ledger service


def test_aggregate_counts_custody_of_the_group(sqlite_database: Database) -> None:
    build_store_world(sqlite_database)
    view = parties_graph.aggregate_party(
        sqlite_database,
        "front-c",
        now=NOW,
        window=timedelta(days=90),
        custody=custody_source(sqlite_database),
    )
    assert view.ultimate_parents == ("holding-e",)
    [volume] = view.volumes
    assert (volume.chips, volume.chip_hours) == (2, 1200.0)
    assert {b.party_id for b in volume.buyers} == {"front-c"}
    without = parties_graph.aggregate_party(
        sqlite_database, "front-c", now=NOW, window=timedelta(days=90)
    )
    assert max((v.chips for v in without.volumes), default=0) == 0


def _db_file(tmp_path: Path) -> str:
    path = tmp_path / "store.db"
    db = open_database(f"sqlite:///{path}")
    try:
        build_store_world(db)
    finally:
        db.dispose()
    return str(path)


def test_cli_rules_run_over_the_database(tmp_path: Path) -> None:
    db = _db_file(tmp_path)
    now = NOW.isoformat()
    result = runner.invoke(app, ["rules", "run", "--db", db, "--now", now, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    rules_fired = {(f["rule"], f["subject"]) for f in doc["findings"]}
    assert ("shipped-never-received", chip(2)) in rules_fired
    assert ("restricted-party", "front-c") in rules_fired
    assert doc["inputs"]["screening_hits"] == 1
    assert doc["run_id"] is None
    lines = runner.invoke(app, ["rules", "run", "--db", db, "--now", now, "--fail-on", "critical"])
    assert lines.exit_code == 1
    assert len(lines.stdout.splitlines()) == doc["finding_count"]
    stored = runner.invoke(app, ["rules", "run", "--db", db, "--now", now, "--store", "--json"])
    assert stored.exit_code == 0
    assert json.loads(stored.output)["run_id"] is not None
    listed = runner.invoke(app, ["findings", "list", "--db", db, "--json"])
    assert json.loads(listed.output)["total"] == doc["finding_count"]
    bad = runner.invoke(app, ["rules", "run", "--db", db, "--now", "yesterday"])
    assert bad.exit_code == 2


def test_cli_parties_aggregate_counts_custody(tmp_path: Path) -> None:
    db = _db_file(tmp_path)
    args = ["parties", "aggregate", "front-c", "--db", db, "--window-days", "36500"]
    args += ["--lookback-days", "36500", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [v["chips"] for v in json.loads(result.output)["volumes"]] == [2]


def test_store_view_reproduces_the_simulators_findings(sqlite_database: Database) -> None:
    """A demo world written through the ingestion paths gives, from the store alone, exactly the
    findings of the simulator's in-memory view: no input is missing from the store."""
    world = build_world(100, 3)
    logged = ingest_world(sqlite_database, world)
    sim = analyse_world(world, None, logged)
    stored = analyse_stored_world(sqlite_database, world)
    view = build_view_from_store(sqlite_database, world.now)
    assert {e.leaf_index for e in view.events} == {e.leaf_index for e in logged}
    assert view.config == world.config  # the demo's thresholds are stored with it
    assert {o.order_id for o in view.orders} == {o.order_id for o in world.orders}
    assert set(view.licences) == set(world.licences)
    assert {c.order_id for c in view.chips.values()} <= {o.order_id for o in world.orders}
    sim_found = {(f.rule, f.subject) for f in sim.findings}
    store_found = {(f.rule, f.subject) for f in stored.findings}
    assert sim_found <= store_found
    # Only the ledger's own custody checks add to the simulator's findings: it refuses to let a
    # repair shop's report move a chip it does not hold and flags it (the injected repairs).
    repaired = {c for i in world.incidents if i.channel == "repair" for c in i.chips}
    extra = store_found - sim_found
    assert {rule for rule, _ in extra} <= {"custody-contradiction"}
    assert {s for _, s in extra} <= repaired
    assert {f.rule for f in stored.findings} >= {"split-orders", "cloud-rental-concern"}


def test_a_fix_without_estimate_claims_no_position(sqlite_database: Database) -> None:
    build_store_world(sqlite_database)
    with sqlite_database.unit() as conn:
        ProbeRepository(conn).insert_verdict(
            {
                "chip_id": chip(1),
                "verdict": "SUSPECT",
                "computed_at": NOW - timedelta(days=1),
                "declared_lat": None,
                "declared_lon": None,
                "declared_country": None,
                "n_landmarks": 1,
                "evidence_json": json.dumps({"lat": None, "lon": None, "region": {}}),
            }
        )
    view = build_view_from_store(sqlite_database, NOW)
    fix = next(f for f in view.fixes if f.verdict is Verdict.SUSPECT)
    assert (fix.lat, fix.lon, fix.radius_km) == (0.0, 0.0, ANYWHERE_KM)
    run = run_rules_on_store(sqlite_database, now=NOW)
    assert "impossible-travel" not in {f.rule for f in run.findings}


def test_ledger_custody_anomalies_reach_the_rules(database: Database) -> None:
    from tests.service.store_world import _event, _submit

    world = build_store_world(database)
    assert build_view_from_store(database, NOW).custody_anomalies == ()
    # op-d records receiving chip 2, which vendor-a shipped to dist-b.
    wrong = _event("receiving", [chip(2)], NOW - timedelta(days=30))
    _submit(database, "op-d", "receive-2-wrong", wrong, world)
    run = run_rules_on_store(database, now=NOW)
    [found] = [f for f in run.findings if f.rule == "custody-contradiction"]
    assert found.subject == chip(2)
    assert "receiver-not-destination" in found.explanation
    assert world.leaves["receive-2-wrong"] in _ledger_refs(found)
    assert run.inputs["custody_anomalies"] == 1
    # Before the contradicting leaf, the view has no anomaly.
    early = build_view_from_store(database, NOW - timedelta(days=35))
    assert early.custody_anomalies == ()


def test_demo_stores_its_restricted_list_for_rules_run(
    sqlite_database: Database, tmp_path: Path
) -> None:
    result = run_demo(sqlite_database, chips=100, seed=3, out_dir=tmp_path)
    assert result.detection.channels["front_network"].caught
    run = run_rules_on_store(sqlite_database, now=result.world.now)
    assert run.inputs["screening_hits"] > 0
    restricted = [f for f in run.findings if f.rule == "restricted-party"]
    assert restricted
    assert all("sim-entity-list" in f.explanation for f in restricted)
    # A second run into the same database replaces the list instead of failing.
    store_restricted_list(sqlite_database, build_world(100, 3), datetime.now(UTC))


def test_shared_registered_address_resolves_shells_into_one_buyer(database: Database) -> None:
    from chiptrail.records import RecordKind
    from chiptrail.rules import run_rules
    from chiptrail.service.records.ingest import add_records

    at = "2026-01-05T00:00:00Z"
    shells = ["shell-a", "shell-b", "shell-c"]
    add_records(
        database,
        RecordKind.ADDRESS,
        [
            {"party_id": s, "kind": "office", "declared_at": at, "address": addr, "country": "AE"}
            for s, addr in zip(
                shells, ["Unit 7, Tower B", "unit 7 tower b", "UNIT 7 - TOWER B"], strict=True
            )
        ],
        now=NOW,
    )
    add_records(
        database,
        RecordKind.ORDER,
        [
            {
                "order_id": f"PO-{i}",
                "buyer": s,
                "seller": "vendor-x",
                "quantity": 900,
                "ordered_at": f"2026-0{i + 1}-10T00:00:00Z",
                "chip_model": "h100-sxm",
            }
            for i, s in enumerate(shells)
        ],
        now=NOW,
    )
    view = build_view_from_store(database, NOW)
    assert {(i.party_id, i.kind) for i in view.identifiers} == {(s, "address") for s in shells}
    found = [f for f in run_rules(view) if f.rule == "buyer-volume-risk"]
    assert [f.subject for f in found] == ["shell-a"]
    assert "address" in found[0].explanation


def test_certificates_and_declarations_become_end_use_statements(database: Database) -> None:
    from chiptrail.records import RecordKind
    from chiptrail.service.records.ingest import add_records

    add_records(
        database,
        RecordKind.END_USE,
        [
            {
                "certificate_id": "EUC-1",
                "end_user": "op-d",
                "country": "US",
                "end_use": "AI training",
                "issued_at": "2026-01-05T00:00:00Z",
                "site_id": "us-dc-1",
                "order_id": "PO-1",
            },
            {
                "certificate_id": "EUC-LATE",
                "end_user": "op-d",
                "country": "US",
                "end_use": "AI training",
                "issued_at": (NOW + timedelta(days=1)).isoformat(),
            },
        ],
        now=NOW,
    )
    add_records(
        database,
        RecordKind.DECLARATION,
        [
            {
                "declaration_id": "X20260105000001",
                "exporter": "vendor-a",
                "ultimate_consignee": "op-d",
                "country": "US",
                "quantity": 2,
                "declared_at": "2026-01-06T00:00:00Z",
                "licence_id": "L-1",
            }
        ],
        now=NOW,
    )
    view = build_view_from_store(database, NOW)
    got = {(s.source, s.statement_id): s for s in view.end_uses}
    assert set(got) == {("end-use-certificate", "EUC-1"), ("declaration", "X20260105000001")}
    euc = got[("end-use-certificate", "EUC-1")]
    assert (euc.end_user, euc.country, euc.site_id, euc.order_id) == (
        "op-d",
        "US",
        "us-dc-1",
        "PO-1",
    )
    aes = got[("declaration", "X20260105000001")]
    assert (aes.end_user, aes.licence_id, aes.order_id) == ("op-d", "L-1", None)
    assert run_rules_on_store(database, now=NOW).inputs["end_uses"] == 2


def test_landmarks_registered_by_now_are_the_planners_deployed_set(database: Database) -> None:
    from chiptrail.crypto import Ed25519Signer
    from chiptrail.service.location.probe import RegisteredLandmark, register_landmark
    from chiptrail.types import Country, LandmarkId

    def lm(name: str, lat: float, lon: float) -> RegisteredLandmark:
        key = Ed25519Signer(bytes(32 * [len(name)])).public_key
        return RegisteredLandmark(LandmarkId(name), lat, lon, key, Country("SG"))

    register_landmark(database, lm("lm-sg-1", 1.29, 103.85), NOW - timedelta(days=3))
    register_landmark(database, lm("lm-sg-late", 1.35, 103.99), NOW + timedelta(days=3))
    view = build_view_from_store(database, NOW)
    assert [(m.landmark_id, m.lat, m.country) for m in view.landmarks] == [("lm-sg-1", 1.29, "SG")]
    later = build_view_from_store(database, NOW + timedelta(days=4))
    assert {m.landmark_id for m in later.landmarks} == {"lm-sg-1", "lm-sg-late"}


def test_a_fix_is_placed_where_the_ledger_had_the_chip_when_it_was_measured(
    sqlite_database: Database,
) -> None:
    from tests.service.store_world import _event, _submit, _verdict

    world = build_store_world(sqlite_database)
    moved = _event(
        "installing", [chip(1)], NOW - timedelta(days=1), site=("US", 40.7, -74.0, "us-dc-2")
    )
    _submit(sqlite_database, "op-d", "install-1b", moved, world)
    _verdict(sqlite_database, chip(1), "VERIFIED", NOW - timedelta(hours=6), 40.7, -74.0)
    view = build_view_from_store(sqlite_database, NOW)
    sites = [(f.at, f.site_id) for f in view.fixes if f.chip_id == chip(1)]
    # measured 2 days ago at the first site; after the move at the second
    assert sites == [(NOW - timedelta(days=2), "us-dc-1"), (NOW - timedelta(hours=6), "us-dc-2")]


def test_an_is_informed_letter_is_read_from_the_store(database: Database) -> None:
    from chiptrail.records import RecordKind
    from chiptrail.service.records.ingest import add_records

    world = build_store_world(database)
    letter = {
        "letter_id": "BIS-IS-1",
        "exporter": "vendor-a",
        "party": "dist-b",
        "issued_at": (NOW - timedelta(days=50)).isoformat(),
    }
    add_records(database, RecordKind.IS_INFORMED, [letter], now=NOW)
    run = run_rules_on_store(database, now=NOW)
    assert run.inputs["informed"] == 1
    [found] = [f for f in run.findings if f.rule == "is-informed-export"]
    assert found.subject == "dist-b"
    assert _ledger_refs(found) == {world.leaves["ship-2"]}
    # as of before the letter, nothing
    early = run_rules_on_store(database, now=NOW - timedelta(days=55))
    assert "is-informed-export" not in {f.rule for f in early.findings}


@pytest.mark.parametrize(
    ("kind", "value", "found"),
    [
        ("po", "PO-1", ("PO-1",)),
        ("urn:epcglobal:cbv:btt:inv", "urn:epcglobal:cbv:bt:0614141000005:INV-7", ("INV-7",)),
        ("https://ref.gs1.org/cbv/BTT-po", "PO-2", ("PO-2",)),
        (None, "urn:chiptrail:po:PO-3", ("PO-3",)),
        ("desadv", "ASN-1", ()),
    ],
    ids=["short po", "urn invoice", "web po", "untyped", "despatch advice is not an order"],
)
def test_biz_transactions_that_name_an_order(
    kind: str | None, value: str, found: tuple[str, ...]
) -> None:
    from chiptrail.service.alerts.view import order_refs

    item: dict[str, str] = {"bizTransaction": value}
    if kind is not None:
        item["type"] = kind
    refs = order_refs({"bizTransactionList": [item]})
    assert tuple(r for r in refs if ":" not in r) == found


def test_a_logged_invoice_reference_gives_the_chip_its_order_and_licence(
    sqlite_database: Database,
) -> None:
    from chiptrail.records import RecordKind
    from chiptrail.service.records.ingest import add_records
    from tests.service.store_world import _event, _submit

    world = build_store_world(sqlite_database)
    add_records(
        sqlite_database,
        RecordKind.ORDER,
        [
            {
                "order_id": "INV-7",
                "document": "invoice",
                "buyer": "op-d",
                "seller": "vendor-a",
                "quantity": 1,
                "ordered_at": (NOW - timedelta(days=62)).isoformat(),
                "licence_id": "L-9",
            }
        ],
        now=NOW,
    )
    # EPCIS 2.0 JSON names the type by its CBV word (the schema refuses the CBV URN forms)
    invoice = [{"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:INV-7"}]
    made = _event("commissioning", [chip(5)], NOW - timedelta(days=1), bizTransactionList=invoice)
    _submit(sqlite_database, "vendor-a", "commission-5", made, world)
    view = build_view_from_store(sqlite_database, NOW)
    five = view.chips[ChipId(chip(5))]
    assert (five.order_id, five.licence_id) == ("INV-7", "L-9")
    assert view.chips[ChipId(chip(3))].order_id is None
