"""CLI: ``rules list``, ``findings list|export``, ``evaluate`` and demo input errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.rules import RULES, Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.service.alerts.findings import store_findings
from chiptrail.store.migrate import open_database
from chiptrail.types import Severity
from tests.rules._world import NOW

runner = CliRunner()


def test_rules_list_json_serves_every_docstring() -> None:
    result = runner.invoke(app, ["rules", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["rule"] for r in rows] == [r.rule_id for r in RULES]
    assert all(r["description"] for r in rows)


def _seed_db(path: Path) -> str:
    db = open_database(f"sqlite:///{path}")
    found = [
        Finding(
            "hub-reexport",
            "transshipment",
            Severity.CRITICAL,
            "c9",
            SubjectKind.CHIP,
            NOW,
            "re-exported",
            (Evidence(EvidenceKind.LEDGER, "leaf:9", "shipping", 9),),
        ),
    ]
    store_findings(db, found, kind="test", summary={}, now=NOW)
    db.dispose()
    return str(path)


def test_findings_list_and_export(tmp_path: Path) -> None:
    db = _seed_db(tmp_path / "f.db")
    listed = runner.invoke(app, ["findings", "list", "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["items"][0]["subject"] == "c9"
    exported = runner.invoke(app, ["findings", "export", "--db", db])
    line = json.loads(exported.output.splitlines()[0])
    assert (line["rule"], line["severity"], line["evidence"][0]["leaf_index"]) == (
        "hub-reexport",
        "critical",
        9,
    )
    out = tmp_path / "f.csv"
    as_csv = runner.invoke(
        app, ["findings", "export", "--db", db, "--format", "csv", "--out", str(out)]
    )
    assert as_csv.exit_code == 0
    assert next(csv.DictReader(io.StringIO(out.read_text())))["evidence"] == "leaf:9"


def test_bad_input_exits_2(tmp_path: Path) -> None:
    db = _seed_db(tmp_path / "f.db")
    assert runner.invoke(app, ["findings", "list", "--db", db, "--channel", "x"]).exit_code == 2
    assert runner.invoke(app, ["findings", "export", "--db", db, "--format", "xml"]).exit_code == 2
    demo = runner.invoke(app, ["demo", "--db", db, "--chips", "5"])
    assert demo.exit_code == 2


def test_evaluate_json_reports_precision_and_recall() -> None:
    result = runner.invoke(app, ["evaluate", "--chips", "200", "--seeds", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output[result.output.index("{") :])
    assert doc["channels"]["hand_carry"]["recall"] == 1.0
    assert set(doc["channels"]["repair"]) >= {"precision", "recall", "ttd_days_median"}
    assert "recall_without_graded" in doc["channels"]["repair"]  # before/after on the same worlds


@pytest.mark.slow
def test_redteam_json_reports_each_searched_channel() -> None:
    result = runner.invoke(app, ["redteam", "--chips", "100", "--seeds", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output[result.output.index("{") :])
    channels = {c["channel"]: c for c in doc["channels"]}
    assert set(channels) == {
        "hand_carry",
        "repair",
        "cloud_rental",
        "split_orders",
        "front_network",
    }
    assert all(len(c["recall_by_value"]) == 6 and c["escape_cost"] for c in channels.values())


def test_redteam_rejects_bad_seeds() -> None:
    assert runner.invoke(app, ["redteam", "--seeds", "0"]).exit_code == 2


def test_rules_run_over_a_view_file(tmp_path: Path) -> None:
    from chiptrail.rules.view import view_to_json
    from tests.rules._world import ev, view

    events = (ev(1, "shipping", 60, ["c1"], "vendor", "US", destination_country="US"),)
    path = tmp_path / "view.json"
    path.write_bytes(view_to_json(view(events=events)))
    db = str(tmp_path / "r.db")
    result = runner.invoke(
        app, ["rules", "run", "--view", str(path), "--db", db, "--store", "--fail-on", "high"]
    )
    assert result.exit_code == 1
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["rule"], line["subject"]) == ("shipped-never-received", "c1")
    listed = runner.invoke(app, ["findings", "list", "--db", db, "--json"])
    assert json.loads(listed.stdout)["total"] == 1
    ok = runner.invoke(app, ["rules", "run", "--view", str(path), "--fail-on", "critical"])
    assert ok.exit_code == 0
    path.write_text('{"now": "yesterday"}')
    assert runner.invoke(app, ["rules", "run", "--view", str(path)]).exit_code == 2
