"""The README's main job: ``chiptrail demo`` end to end through the CLI, and its JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from chiptrail.rules.registry import CHANNELS
from chiptrail.store.findings_tables import cases, findings
from chiptrail.store.migrate import open_database


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CHIPTRAIL_DB")}


def test_demo_json_contract_at_small_size(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "chiptrail"),
            "demo",
            "--chips",
            "300",
            "--seed",
            "3",
            "--db",
            str(db),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**_clean_env(), "CHIPTRAIL_DATA_DIR": str(tmp_path / "data")},
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc["channels"]) == set(CHANNELS)
    for channel, row in doc["channels"].items():
        assert set(row) == {"injected", "caught", "missed", "false_alarms"}, channel
        assert all(isinstance(v, int) for v in row.values())
        assert row["injected"] >= 1, channel
        assert row["caught"] == row["injected"], (channel, doc["missed_incidents"])
        assert row["missed"] == 0
    assert isinstance(doc["false_alarm_rate"], float)
    assert doc["false_alarm_rate"] < 0.01
    assert Path(doc["report"]).is_file()
    html = Path(doc["report"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "http://" not in html
    assert "https://" not in html
    database = open_database(f"sqlite:///{db}")
    with database.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(findings)) == doc["findings"]
        assert conn.scalar(select(func.count()).select_from(cases)) == doc["cases"]
    database.dispose()
