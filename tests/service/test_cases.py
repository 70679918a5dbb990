"""Cases on a demo world: one case per injected incident, parties restricted everywhere the
findings say so, the report ranks incidents by name, triage keeps its history, and the case file
(HTML and PDF) carries proofs a third party re-checks offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.errors import Conflict, InvalidInput
from chiptrail.rules import Evidence, EvidenceKind, Finding, SubjectKind, group_cases
from chiptrail.service.alerts import casepdf
from chiptrail.service.alerts import findings as service
from chiptrail.service.alerts.casefile import case_proofs
from chiptrail.service.alerts.cases import CaseFilter
from chiptrail.service.alerts.triage import Resolution, TriageAction, triage_case
from chiptrail.service.demo.run import DemoResult, analyse_world, run_demo
from chiptrail.service.parties.graph import get_party, list_parties
from chiptrail.sim.scenarios import build_world
from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database
from chiptrail.types import Severity

OWNERSHIP_RULES = {"restricted-party", "control-risk"}


@pytest.mark.parametrize(("chips", "seed"), [(300, 7), (500, 11)], ids=["300 chips", "500 chips"])
def test_each_incident_is_one_case_and_no_case_mixes_two(chips: int, seed: int) -> None:
    world = build_world(chips, seed)
    analysis = analyse_world(world)
    cases = group_cases(analysis.findings, analysis.view)
    incident_of = {s: i.incident_id for i in world.incidents for s in i.subjects}
    per_case = [{incident_of.get(f.subject) for f in c.findings} for c in cases]
    assert all(len(ids) == 1 for ids in per_case), per_case
    caught = [next(iter(ids)) for ids in per_case if None not in ids]
    assert sorted(caught) == sorted(i.incident_id for i in world.incidents)
    assert {ch for c in cases for ch in c.channels} >= {i.channel for i in world.incidents}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, DemoResult, str]]:
    data = tmp_path_factory.mktemp("cases")
    url = f"sqlite:///{data / 'demo.db'}"
    db = open_database(url)
    result = run_demo(db, chips=200, seed=7, out_dir=data / "out")
    yield db, result, url
    db.dispose()


def test_parties_in_ownership_findings_are_restricted_everywhere(
    demo: tuple[Database, DemoResult, str],
) -> None:
    db, result, url = demo
    named = {
        f.subject
        for f in result.findings
        if f.rule in OWNERSHIP_RULES and f.subject_kind is SubjectKind.PARTY
    }
    assert named
    listed = {p["party_id"]: p for p in list_parties(db, limit=1000)["items"]}
    for party in sorted(named):
        view = get_party(db, party)
        assert view.is_restricted, party
        assert view.list_matches, party  # the list entry, version and date behind it
        assert view.list_matches[0]["list_sha256"]
        assert listed[party]["is_restricted"], party
        shown = CliRunner().invoke(app, ["parties", "show", party, "--db", url, "--json"])
        assert shown.exit_code == 1, shown.output  # 1: restricted
        assert json.loads(shown.stdout)["is_restricted"] is True


def test_report_ranks_incidents_by_name(demo: tuple[Database, DemoResult, str]) -> None:
    _, result, _ = demo
    report = result.report_path.read_text()
    assert len(result.cases) == len(result.world.incidents)
    for channel in {i.channel for i in result.world.incidents}:
        assert channel in report
    party = next(c for c in result.cases if c.parties)
    assert result.world.parties[party.parties[0]].name in report  # type: ignore[index]


def test_queue_filters_triage_history_and_proofs(demo: tuple[Database, DemoResult, str]) -> None:
    db, _, _ = demo
    everything = service.list_cases(db)
    assert everything.total == len(demo[1].cases)
    ships = service.list_cases(db, flt=CaseFilter(channel="transshipment"))
    assert ships.total >= 1
    assert all("transshipment" in c["channels"] for c in ships.items)
    case = ships.items[0]
    word = case["title"].split()[0].lower()
    assert case["id"] in {c["id"] for c in service.list_cases(db, flt=CaseFilter(q=word)).items}
    assert service.list_cases(db, flt=CaseFilter(q="no-such-name-anywhere")).total == 0
    with pytest.raises(InvalidInput):
        service.list_cases(db, sort="alphabet")
    now = datetime.now(UTC)
    triage_case(db, case["id"], action=TriageAction.ASSIGN, author="t", now=now, assignee="ana")
    triage_case(db, case["id"], action=TriageAction.PRIORITISE, author="t", now=now, priority="P1")
    triage_case(
        db,
        case["id"],
        action=TriageAction.CLOSE,
        author="t",
        now=now,
        resolution=Resolution.CONFIRMED,
        comment="seen the bill of lading",
    )
    with pytest.raises(Conflict):
        triage_case(db, case["id"], action=TriageAction.ASSIGN, author="t", now=now, assignee="b")
    with pytest.raises(InvalidInput):
        triage_case(db, case["id"], action=TriageAction.PRIORITISE, author="t", now=now)
    full = service.get_case(db, case["id"])
    assert [h["action"] for h in full["history"]] == ["opened", "assign", "prioritise", "close"]
    assert (full["status"], full["priority"], full["assignee"]) == ("confirmed", "P1", "ana")
    assert full["comments"][0]["body"] == "seen the bill of lading"
    assert [e["at"] for e in full["evidence"]] == sorted(e["at"] for e in full["evidence"])
    proofs = case_proofs(db, case["id"])
    assert proofs["proofs"]
    assert all(p["hashes"] is not None for p in proofs["proofs"])


def test_triage_state_survives_a_rerun(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'rerun.db'}")
    try:
        run_demo(db, chips=150, seed=5, out_dir=tmp_path / "a")
        first = service.list_cases(db).items[0]
        now = datetime.now(UTC)
        triage_case(db, first["id"], action=TriageAction.ASSIGN, author="t", now=now, assignee="x")
        found = service.all_findings(db)
        again = [
            Finding(
                f["rule"],
                f["channel"],
                Severity(f["severity"]),
                f["subject"],
                SubjectKind(f["subject_kind"]),
                datetime.fromisoformat(f["detected_at"]),
                f["explanation"],
                tuple(
                    Evidence(EvidenceKind(e["kind"]), e["ref"], e["detail"], e["leaf_index"])
                    for e in f["evidence"]
                ),
            )
            for f in found
        ]
        service.store_findings(db, again, kind="rerun", summary={}, now=now)
        kept = service.get_case(db, first["id"])
        assert (kept["status"], kept["assignee"]) == ("assigned", "x")
    finally:
        db.dispose()


def _case_with_proofs_and_parties(db: Database) -> dict[str, Any]:
    for case in service.list_cases(db, limit=500).items:
        if case["parties"] and len(case_proofs(db, case["id"])["proofs"]) >= 2:
            return case
    raise AssertionError("the demo world has no case with parties and two cited log entries")


def test_pdf_case_file_carries_proofs_that_check_offline(
    demo: tuple[Database, DemoResult, str], tmp_path: Path
) -> None:
    db, _, url = demo
    case = _case_with_proofs_and_parties(db)
    out = tmp_path / "case.pdf"
    made = CliRunner().invoke(app, ["cases", "file", case["id"], "--db", url, "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert out.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(out)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert case["title"] in text
    proofs = json.loads(reader.attachments["proofs.json"][0])
    checkpoint = reader.attachments["checkpoint.txt"][0].decode()
    assert proofs["root_hash"] == checkpoint.splitlines()[2]
    assert f"root hash: {proofs['root_hash']}" in text
    assert len(proofs["proofs"]) >= 2
    for p in proofs["proofs"]:
        assert f"leaf {p['index']}: verified" in text
        assert f"leaf hash: {p['leaf_hash']}" in text
        # the printed command is what a third party runs, offline, to re-check the proof
        command = casepdf.audit_command(p, proofs["size"], proofs["root_hash"]).split()[1:]
        checked = CliRunner().invoke(app, command)
        assert checked.exit_code == 0, checked.output
    names = service.get_case(db, case["id"])["party_names"]
    assert names
    assert all(name in text for name in names.values())  # parties by name


def test_a_tampered_proof_is_reported_not_verified(demo: tuple[Database, DemoResult, str]) -> None:
    db, _, _ = demo
    proofs = case_proofs(db, _case_with_proofs_and_parties(db)["id"])
    assert set(casepdf.check_proofs(proofs).values()) == {"verified"}
    first = proofs["proofs"][0]
    first["hashes"] = [first["leaf_hash"], *first["hashes"][1:]]
    assert casepdf.check_proofs(proofs)[first["index"]].startswith("NOT verified")


def test_case_file_of_an_unknown_case_exits_2_and_writes_nothing(
    demo: tuple[Database, DemoResult, str], tmp_path: Path
) -> None:
    _, _, url = demo
    out = tmp_path / "none.pdf"
    result = CliRunner().invoke(
        app, ["cases", "file", "no-such-case", "--db", url, "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "no case 'no-such-case'" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    bad = CliRunner().invoke(app, ["cases", "file", "x", "--db", url, "--format", "docx"])
    assert bad.exit_code == 2
    assert "--format must be one of html, pdf" in bad.output
