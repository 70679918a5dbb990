"""Ledger CLI: party with key file, signed submit, chip show, checkpoint, proof, export + audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.crypto import Ed25519Signer
from chiptrail.ledger.audit import audit_export
from chiptrail.ledger.submission import sign_events
from tests.ledger.helpers import chip, document, event


def test_cli_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIPTRAIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHIPTRAIL_DB", str(tmp_path / "cli.db"))
    runner = CliRunner()
    key = tmp_path / "vendor.key"
    r = runner.invoke(
        app, ["party", "add", "vendor", "--name", "V", "--country", "US", "--key-out", str(key)]
    )
    assert r.exit_code == 0, r.output
    assert (key.stat().st_mode & 0o777) == 0o600
    assert (tmp_path / "data/ledger/log-signing.key").exists() is False  # created on first use
    doc = tmp_path / "ev.jsonld"
    doc.write_bytes(
        document(event("commissioning", [chip(1)]), event("shipping", [chip(1)], minute=1))
    )
    r = runner.invoke(
        app, ["events", "submit", str(doc), "--key", str(key), "--party", "vendor", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["appended"] == 2
    r = runner.invoke(app, ["events", "submit", str(doc)])
    assert r.exit_code == 2  # unsigned input is bad input
    r = runner.invoke(app, ["events", "submit", str(doc), "--key", str(key), "--party", "nobody"])
    assert r.exit_code == 1  # verification failure
    signed = sign_events(
        [event("receiving", [chip(1)], minute=2)],
        party_id="vendor",
        signer=Ed25519Signer(bytes.fromhex(key.read_text().strip())),
        nonce="jsonl-0001",
        signed_at=datetime.now(UTC),
    )
    lines = tmp_path / "envelopes.jsonl"
    lines.write_text(signed.to_bytes().decode() + "\n")
    r = runner.invoke(app, ["events", "submit", str(lines), "--json"])
    assert json.loads(r.stdout)["appended"] == 1
    r = runner.invoke(app, ["chip", "show", chip(1), "--json"])
    assert json.loads(r.stdout)["state"]["custodian"] == "vendor"
    r = runner.invoke(app, ["log", "proof", "--index", "2", "--json"])
    assert json.loads(r.stdout)["size"] == 5
    r = runner.invoke(app, ["log", "export", str(tmp_path / "exp"), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (tmp_path / "data/ledger/log-signing.key").stat().st_mode & 0o777 == 0o600
    root = tmp_path / "exp"
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    report = audit_export(files, summary["verifier_key"])
    assert report.is_valid
    assert report.entries_checked == 5
    # an auditor with the envelopes checks that the party signed every event
    r = runner.invoke(app, ["log", "envelopes", "--out", str(tmp_path / "env.jsonl")])
    assert r.exit_code == 0, r.output
    vkey = summary["verifier_key"]
    r = runner.invoke(
        app,
        [
            "audit",
            "verify",
            str(root),
            "--key",
            vkey,
            "--all-envelopes",
            "--json",
            "--envelopes",
            str(tmp_path / "env.jsonl"),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["envelopes_checked"], out["events_unchecked"]) == (3, 0)
    (tmp_path / "none.jsonl").write_text("")
    r = runner.invoke(
        app,
        [
            "audit",
            "verify",
            str(root),
            "--key",
            vkey,
            "--all-envelopes",
            "--json",
            "--envelopes",
            str(tmp_path / "none.jsonl"),
        ],
    )
    assert r.exit_code == 1
    assert "no envelope" in json.loads(r.stdout)["problems"][0]["message"]
