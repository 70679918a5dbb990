"""Triage of findings over HTTP: assign, comment, close, the report export, and who may do it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from chiptrail.rules import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.service.alerts import findings as rules_service
from chiptrail.types import Severity
from tests.api.conftest import Keys

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _store(client: TestClient) -> list[str]:
    found = [
        Finding(
            "location-violation",
            "hand_carry",
            Severity.CRITICAL,
            "chip-1",
            SubjectKind.CHIP,
            NOW,
            "chip-1 is provably outside its licensed country",
            (Evidence(EvidenceKind.LEDGER, "leaf:3", "shipping", leaf_index=3),),
        )
    ]
    db = client.app.state.database  # type: ignore[attr-defined]
    rules_service.store_findings(db, found, kind="test", summary={}, now=NOW)
    return [f.finding_id for f in found]


def test_triage_assign_comment_close(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    [fid] = _store(client)
    analyst = keys.headers("analyst")
    url = f"/v1/findings/{fid}/triage"

    assigned = client.post(url, json={"action": "assign", "assignee": "dana"}, headers=analyst)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["status"], assigned.json()["assignee"]) == ("assigned", "dana")

    noted = client.post(
        url, json={"action": "comment", "comment": "calling the DC"}, headers=analyst
    )
    [comment] = noted.json()["comments"]
    assert comment["body"] == "calling the DC"
    assert comment["author"].startswith("analyst:")

    closed = client.post(
        url,
        json={"action": "close", "resolution": "false_alarm", "comment": "RMA"},
        headers=analyst,
    )
    assert closed.json()["status"] == "false_alarm"
    assert len(closed.json()["comments"]) == 2
    again = client.post(url, json={"action": "close", "resolution": "confirmed"}, headers=analyst)
    assert again.status_code == 409
    state = client.get(url, headers=analyst).json()
    assert state["status"] == "false_alarm"
    cases = client.get("/v1/cases", headers=analyst).json()["items"]
    assert [c["status"] for c in cases] == ["false_alarm"]


def test_triage_refusals(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    [fid] = _store(client)
    url = f"/v1/findings/{fid}/triage"
    body = {"action": "assign", "assignee": "x"}
    assert client.post(url, json=body, headers=keys.headers("vendor_a")).status_code == 403
    assert client.post(url, json=body, headers=keys.headers("auditor")).status_code == 403
    missing = client.post("/v1/findings/nope/triage", json=body, headers=keys.headers("admin"))
    assert missing.status_code == 404
    incomplete = client.post(url, json={"action": "assign"}, headers=keys.headers("admin"))
    assert incomplete.status_code == 422
    assert incomplete.json()["error"]["details"]["field"] == "assignee"
    state = client.get(url, headers=keys.headers("admin")).json()
    assert (state["status"], state["assignee"], state["comments"]) == ("open", None, [])


def test_findings_report_export(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    [fid] = _store(client)
    csv = client.get("/v1/reports/findings?format=csv", headers=keys.headers("analyst"))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert fid in csv.text
    lines = client.get("/v1/reports/findings?format=jsonl", headers=keys.headers("admin")).text
    assert fid in lines
    assert client.get("/v1/reports/findings", headers=keys.headers("vendor_a")).status_code == 403


def test_case_file_as_html_and_pdf_for_staff_only(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    _store(client)
    analyst = keys.headers("analyst")
    [case] = client.get("/v1/cases", headers=analyst).json()["items"]
    base = f"/v1/cases/{case['id']}/file"
    html = client.get(base, headers=analyst)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    pdf = client.get(f"{base}.pdf", headers=analyst)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].endswith(f'chiptrail-case-{case["id"]}.pdf"')
    assert pdf.content.startswith(b"%PDF-")
    assert b"/EmbeddedFiles" in pdf.content  # proofs.json and checkpoint.txt attached
    for role in ("auditor", "vendor_a"):
        assert client.get(f"{base}.pdf", headers=keys.headers(role)).status_code == 403
    missing = client.get("/v1/cases/no-such-case/file.pdf", headers=analyst)
    assert missing.status_code == 404
    assert "no case 'no-such-case'" in missing.json()["error"]["message"]
