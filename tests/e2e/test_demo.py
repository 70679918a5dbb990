"""The README's main job: ``chiptrail demo`` end to end through the CLI, and its JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.rules.registry import CHANNELS
from chiptrail.service.alerts.findings import list_findings
from chiptrail.service.ledger.events import get_chip
from chiptrail.service.ledger.log import prove_inclusion
from chiptrail.store.findings_tables import cases, findings
from chiptrail.store.geoloc_tables import location_verdicts_table
from chiptrail.store.migrate import open_database


def test_demo_json_contract_at_small_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIPTRAIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHIPTRAIL_DB", raising=False)
    db = tmp_path / "demo.db"
    args = ["demo", "--chips", "300", "--seed", "3", "--db", str(db)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["channels"]) == set(CHANNELS)
    for channel, row in doc["channels"].items():
        assert set(row) == {"injected", "caught", "missed", "false_alarms"}, channel
        assert all(isinstance(v, int) for v in row.values())
        assert row["injected"] >= 1, channel
        assert row["caught"] == row["injected"], (channel, doc["missed_incidents"])
        assert row["missed"] == 0
    assert isinstance(doc["false_alarm_rate"], float)
    assert doc["false_alarm_rate"] < 0.01
    html = Path(doc["report"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "http://" not in html
    assert "https://" not in html
    assert "<th>when (UTC)</th>" in html
    database = open_database(f"sqlite:///{db}")
    with database.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(findings)) == doc["findings"]
        assert conn.scalar(select(func.count()).select_from(cases)) == doc["cases"]
        assert conn.scalar(select(func.count()).select_from(location_verdicts_table)) > 300
    # every ledger leaf a finding cites is in the Merkle log, with a proof, for a chip it names
    cited = [
        (f["subject"], e["leaf_index"])
        for f in list_findings(database, limit=1000).items
        for e in f["evidence"]
        if e["leaf_index"] is not None
    ]
    assert cited
    for subject, leaf in cited[:20]:
        assert prove_inclusion(database, leaf).index == leaf
        if subject.startswith("urn:epc:"):
            assert get_chip(database, subject).state is not None
    # One world: the rules over the stored database at the demo's time find exactly what the
    # demo reported (same rule and subject, same evidence).
    demo_found = {
        (f["rule"], f["subject"]): sorted(e["ref"] for e in f["evidence"])
        for f in list_findings(database, limit=1000).items
    }
    run = CliRunner().invoke(app, ["rules", "run", "--db", str(db), "--now", doc["now"], "--json"])
    assert run.exit_code == 0, run.output
    stored_found = {
        (f["rule"], f["subject"]): sorted(e["ref"] for e in f["evidence"])
        for f in json.loads(run.stdout)["findings"]
    }
    assert stored_found == demo_found
    assert {ch for ch, row in doc["channels"].items() if row["caught"]} == set(CHANNELS)
    database.dispose()
    again = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out2")])
    assert again.exit_code == 0, again.output
    assert "detection" in again.stdout
    assert "report:" in again.stdout
