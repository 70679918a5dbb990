"""Stored findings: the run replaces findings and keeps triage; HTTP and service agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from chiptrail.api.app import create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.errors import InvalidInput, NotFound
from chiptrail.rules import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.service.alerts import findings as service
from chiptrail.service.settings import load_settings
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import cases
from chiptrail.store.migrate import open_database
from chiptrail.types import Severity
from tests.rules._world import NOW


def finding(rule: str, channel: str, subject: str, sev: Severity, leaf: int = 3) -> Finding:
    return Finding(
        rule,
        channel,
        sev,
        subject,
        SubjectKind.CHIP,
        NOW,
        f"{rule} on {subject}",
        (Evidence(EvidenceKind.LEDGER, f"leaf:{leaf}", "shipping", leaf_index=leaf),),
    )


FOUND = [
    finding("location-violation", "hand_carry", "c1", Severity.CRITICAL),
    finding("chip-gone-dark", "hand_carry", "c1", Severity.HIGH),
    finding("hub-reexport", "transshipment", "c2", Severity.HIGH, leaf=4),
]
"""c1 and c2 are two incidents: different chips, different ledger entries."""


def test_store_list_get_and_triage_survives_rerun(database: Database) -> None:
    run = service.store_findings(database, FOUND, kind="test", summary={}, now=NOW)
    assert (run.finding_count, run.case_count) == (3, 2)
    page = service.list_findings(database, channel="hand_carry")
    assert page.total == 2
    assert page.items[0]["rule"] == "location-violation"
    assert page.items[0]["evidence"][0]["leaf_index"] == 3
    one = service.get_finding(database, page.items[0]["id"])
    assert one["subject"] == "c1"
    assert service.list_findings(database, severity="critical").total == 1
    top = service.list_cases(database).items[0]
    assert (top["subject"], top["finding_count"], top["status"]) == ("c1", 2, "open")
    with database.unit() as conn:
        conn.execute(
            update(cases)
            .where(cases.c.case_id == top["id"])
            .values(status="assigned", assignee="ana")
        )
    service.store_findings(database, FOUND[:2], kind="test", summary={}, now=NOW)
    after = service.list_cases(database)
    assert after.total == 1
    assert (after.items[0]["status"], after.items[0]["assignee"]) == ("assigned", "ana")
    assert service.list_findings(database).total == 2


def test_bad_filters_and_unknown_ids(sqlite_database: Database) -> None:
    with pytest.raises(InvalidInput):
        service.list_findings(sqlite_database, channel="smuggling")
    with pytest.raises(InvalidInput):
        service.list_findings(sqlite_database, severity="urgent")
    with pytest.raises(InvalidInput):
        service.list_cases(sqlite_database, status="closed")
    with pytest.raises(NotFound):
        service.get_finding(sqlite_database, "nope")


def test_export_formats(sqlite_database: Database) -> None:
    service.store_findings(sqlite_database, FOUND, kind="test", summary={}, now=NOW)
    jsonl = service.export_findings(sqlite_database, "jsonl").splitlines()
    assert len(jsonl) == 3
    assert service.export_findings(sqlite_database, "csv").startswith("id,rule,channel")
    with pytest.raises(InvalidInput):
        service.export_findings(sqlite_database, "xml")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db_path = tmp_path / "api.db"
    database = open_database(f"sqlite:///{db_path}")
    service.store_findings(database, FOUND, kind="test", summary={}, now=NOW)
    database.dispose()
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)}, str(db_path))
    with TestClient(create_app(settings, auth=AuthConfig(unsafe_no_auth=True))) as c:
        yield c


def test_http_routes(client: TestClient) -> None:
    rules = client.get("/v1/rules").json()
    assert all(r["description"] for r in rules)
    body = client.get("/v1/findings", params={"limit": 1, "offset": 1}).json()
    assert (body["total"], len(body["items"]), body["offset"]) == (3, 1, 1)
    fid = body["items"][0]["id"]
    assert client.get(f"/v1/findings/{fid}").json()["id"] == fid
    missing = client.get("/v1/findings/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/findings", params={"channel": "x"}).status_code == 422
    assert client.get("/v1/cases").json()["items"][0]["subject"] == "c1"
