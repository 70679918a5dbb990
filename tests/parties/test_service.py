"""Parties use cases on every database engine: list swaps, screening, graph, tenancy, volumes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chiptrail.errors import Conflict, InvalidInput, NotFound
from chiptrail.parties.aggregate import CustodyRecord, TenancyRecord
from chiptrail.parties.formats.detect import ListFormat
from chiptrail.parties.screening import Query
from chiptrail.service.parties import graph as graph_service
from chiptrail.service.parties import lists as service
from chiptrail.store.database import Database
from chiptrail.types import PartyId

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _company(pid: str, name: str, country: str = "sg") -> dict[str, object]:
    return {"id": pid, "schema": "Company", "properties": {"name": [name], "country": [country]}}


def _own(pid: str, owner: str, asset: str, pct: str) -> dict[str, object]:
    props = {"owner": [owner], "asset": [asset], "percentage": [pct]}
    return {"id": pid, "schema": "Ownership", "properties": props}


def test_list_load_swaps_whole_and_bad_file_keeps_old(database: Database, vectors: Path) -> None:
    first = service.load_list(database, (vectors / "csl.csv").read_bytes(), now=NOW)
    assert (first.list_id, first.entries, first.replaced) == ("us-csl", 4, False)
    again = service.load_list(database, (vectors / "csl.json").read_bytes(), now=NOW)
    assert (again.entries, again.replaced) == (2, True)
    with pytest.raises(InvalidInput):
        service.load_list(
            database,
            (vectors / "bad_missing_column.csv").read_bytes(),
            now=NOW,
            fmt=ListFormat.CSL_CSV,
        )
    [info] = service.list_lists(database)
    assert (info.list_id, info.entry_count, info.format) == ("us-csl", 2, "csl-json")
    index = service.build_stored_index(database)
    [result] = service.screen_names(index, [Query("q", "Suanneng Technology")])
    assert result.matches[0].party_id == "us-csl.a1b2c3"
    assert result.matches[0].list_id == "us-csl"


def test_screening_without_lists_says_how_to_load(database: Database) -> None:
    with pytest.raises(InvalidInput, match="lists update"):
        service.build_stored_index(database)


def test_bad_screen_parameters(sqlite_database: Database, vectors: Path) -> None:
    index = service.build_file_index((vectors / "csl.csv").read_bytes())
    with pytest.raises(InvalidInput, match="threshold"):
        service.screen_names(index, [Query("q", "x")], threshold=1.5)
    with pytest.raises(InvalidInput, match="empty name"):
        service.screen_names(index, [Query("q", "  ")])


def test_offline_update_fails_cleanly(sqlite_database: Database) -> None:
    from chiptrail.errors import Unavailable

    with pytest.raises(Unavailable, match="--from FILE"):
        service.update_lists(sqlite_database, now=NOW, list_ids=["us-csl"], timeout_s=0.5)
    with pytest.raises(InvalidInput, match="no official download"):
        service.update_lists(sqlite_database, now=NOW, list_ids=["nope"])
    assert service.list_lists(sqlite_database) == []


def test_party_inherits_restriction_with_path(database: Database, vectors: Path) -> None:
    service.load_list(database, (vectors / "csl.csv").read_bytes(), now=NOW)
    graph_service.add_parties(
        database,
        [
            _company("front-sg", "Front Trading Pte Ltd"),
            _company("mid-hk", "Middle Holdings Ltd", "hk"),
            _own("o1", "us-csl.a1b2c3", "mid-hk", "60%"),
            _own("o2", "mid-hk", "front-sg", "51"),
            {
                "id": "d1",
                "schema": "Directorship",
                "properties": {"director": ["us-csl.36"], "organization": ["front-sg"]},
            },
        ],
    )
    view = graph_service.get_party(database, "front-sg")
    assert view.is_restricted
    [r] = view.restrictions
    assert r.listed_party_id == "us-csl.a1b2c3"
    assert [(s.owner_id, s.asset_id) for s in r.path] == [
        ("us-csl.a1b2c3", "mid-hk"),
        ("mid-hk", "front-sg"),
    ]
    assert view.ultimate_parents.parents == ("us-csl.a1b2c3",)
    assert [f.director_id for f in view.control_flags] == ["us-csl.36"]
    assert [o.owner_id for o in view.owners] == ["mid-hk"]
    assert graph_service.get_owners(database, "front-sg").parents == ("us-csl.a1b2c3",)
    assert graph_service.get_party(database, "mid-hk").subsidiaries[0].asset_id == "front-sg"
    with pytest.raises(NotFound):
        graph_service.get_party(database, "nobody")
    with pytest.raises(Conflict):
        graph_service.add_parties(database, [_company("front-sg", "Again")])


def test_tenancy_and_volumes_per_parent(database: Database) -> None:
    graph_service.add_parties(
        database,
        [
            _company("parent", "Parent Group", "cn"),
            _company("buyer-a", "Buyer A"),
            _company("buyer-b", "Buyer B", "my"),
            _own("oa", "parent", "buyer-a", "100"),
            _own("ob", "parent", "buyer-b", "75"),
        ],
    )
    start = NOW - timedelta(days=10)
    stored = graph_service.report_tenancy(
        database,
        [TenancyRecord("cloud-1", PartyId("buyer-b"), "H100", 24_000.0, start, NOW)],
        now=NOW,
    )
    assert stored == 1

    def custody(ids: object) -> list[CustodyRecord]:
        return [
            CustodyRecord(PartyId("buyer-a"), "H100", 1500, NOW - timedelta(days=5)),
            CustodyRecord(PartyId("buyer-b"), "H100", 1000, NOW - timedelta(days=3)),
        ]

    view = graph_service.aggregate_party(database, "buyer-a", now=NOW, custody=custody)
    assert view.ultimate_parents == ("parent",)
    assert set(view.members) == {"parent", "buyer-a", "buyer-b"}
    [vol] = view.volumes
    assert vol.chips == 2500
    assert vol.h100_equivalents == pytest.approx(2500.0)
    assert vol.chip_hours == 24_000.0
    [finding] = view.structuring
    assert finding.total_chips == 2500
    with pytest.raises(InvalidInput, match="model"):
        graph_service.report_tenancy(
            database,
            [TenancyRecord("c", PartyId("buyer-b"), "NoSuchChip", 1.0, start, NOW)],
            now=NOW,
        )


def test_tenancy_csv_is_checked() -> None:
    good = (
        "operator_id,tenant_id,chip_model,chip_hours,period_start_at,period_end_at\n"
        "op,t1,H100,10,2026-01-01T00:00:00+00:00,2026-01-02T00:00:00+00:00\n"
    )
    [rec] = graph_service.load_tenancy_csv(good)
    assert rec.chip_hours == 10.0
    with pytest.raises(InvalidInput, match="missing column"):
        graph_service.load_tenancy_csv("tenant_id\nx\n")
    with pytest.raises(InvalidInput, match="line 2"):
        graph_service.load_tenancy_csv(good.replace(",10,", ",ten,"))


def test_list_load_stores_the_screening_index(database: Database, vectors: Path) -> None:
    from chiptrail.store.parties_tables import party_screening_index

    service.load_list(database, (vectors / "csl.csv").read_bytes(), now=NOW)
    with database.unit() as conn:
        [row] = conn.execute(party_screening_index.select()).all()
        assert row.fingerprint == service.lists_fingerprint(conn)
    stored = service.build_stored_index(database)
    rebuilt = service.build_file_index((vectors / "csl.csv").read_bytes())
    q = [Query("q", "Suanneng Technology")]
    assert [m.matches for m in service.screen_names(stored, q)] == [
        m.matches for m in service.screen_names(rebuilt, q)
    ]
    # a second load replaces the stored index in the same transaction
    service.load_list(database, (vectors / "csl.json").read_bytes(), now=NOW + timedelta(days=1))
    with database.unit() as conn:
        [row] = conn.execute(party_screening_index.select()).all()
        assert row.fingerprint == service.lists_fingerprint(conn)
        assert row.built_at.replace(tzinfo=UTC) == NOW + timedelta(days=1)


def test_loading_several_lists_builds_the_index_once(
    sqlite_database: Database, vectors: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real = service.build_index

    def counting(parties: object) -> object:
        built.append(1)
        return real(parties)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "build_index", counting)
    files = [(f, (vectors / f).read_bytes()) for f in ("csl.csv", "dpl.txt", "unsc.xml")]
    results = service.load_lists(sqlite_database, files, now=NOW)
    assert len(results) == 3
    assert len(built) == 1  # not once per list
    from chiptrail.store.parties_tables import party_screening_index

    with sqlite_database.unit() as conn:
        [row] = conn.execute(party_screening_index.select()).all()
        assert row.fingerprint == service.lists_fingerprint(conn)
    index = service.build_stored_index(sqlite_database)
    assert len(built) == 1  # the stored index was current: not rebuilt
    assert {p.list_id for p in index.parties} == {r.list_id for r in results}


def test_failed_list_in_a_load_leaves_an_index_over_what_was_stored(
    sqlite_database: Database, vectors: Path
) -> None:
    clash = json.dumps(
        {"id": "us-csl.a1b2c3", "schema": "Company", "properties": {"name": ["Clash Ltd"]}}
    ).encode()
    files = [("csl.csv", (vectors / "csl.csv").read_bytes()), ("clash.jsonl", clash)]
    with pytest.raises(Conflict):
        service.load_lists(sqlite_database, files, now=NOW)
    assert [i.list_id for i in service.list_lists(sqlite_database)] == ["us-csl"]
    from chiptrail.store.parties_tables import party_screening_index

    with sqlite_database.unit() as conn:
        [row] = conn.execute(party_screening_index.select()).all()
        assert row.fingerprint == service.lists_fingerprint(conn)
