"""``chiptrail witness`` and the registry's ``log witness|witness-request``, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from tests.ledger.helpers import chip, document, event


def test_offline_witness_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIPTRAIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHIPTRAIL_DB", str(tmp_path / "cli.db"))
    runner = CliRunner()
    key = tmp_path / "vendor.key"
    r = runner.invoke(app, ["party", "add", "vendor", "--name", "V", "--key-out", str(key)])
    assert r.exit_code == 0, r.output
    doc = tmp_path / "ev.jsonld"
    doc.write_bytes(document(event("commissioning", [chip(1)])))
    r = runner.invoke(app, ["events", "submit", str(doc), "--key", str(key), "--party", "vendor"])
    assert r.exit_code == 0, r.output
    log_vkey = json.loads(runner.invoke(app, ["log", "checkpoint", "--json"]).stdout)[
        "verifier_key"
    ]

    r = runner.invoke(
        app,
        ["witness", "keygen", "--name", "w1.example", "--out", str(tmp_path / "w1.key"), "--json"],
    )
    assert r.exit_code == 0, r.output
    w1 = json.loads(r.stdout)["verifier_key"]
    assert w1.startswith("w1.example+")
    request = tmp_path / "req.txt"
    r = runner.invoke(app, ["log", "witness-request", "--out", str(request)])
    assert r.exit_code == 0, r.output
    assert request.read_text().startswith("old 0\n\n")
    cosign = ["witness", "cosign", str(request), "--name", "w1.example"]
    cosign += ["--key", str(tmp_path / "w1.key"), "--log-key", log_vkey]
    cosign += ["--state", str(tmp_path / "w1.json")]
    r = runner.invoke(app, cosign)
    assert r.exit_code == 0, r.output
    (tmp_path / "cosig.txt").write_text(r.stdout)
    assert json.loads((tmp_path / "w1.json").read_text())["logs"]["chiptrail.local/log"]["size"]
    # the same request again claims old size 0: a rollback for this witness, refused (409)
    again = runner.invoke(app, cosign)
    assert again.exit_code == 2
    assert "latest size this witness cosigned" in again.output
    r = runner.invoke(app, ["log", "witness", "--cosignature", str(tmp_path / "cosig.txt")])
    assert r.exit_code == 0, r.output
    note = runner.invoke(app, ["log", "checkpoint"]).stdout
    assert "\u2014 w1.example " in note

    r = runner.invoke(app, ["log", "export", str(tmp_path / "exp")])
    assert r.exit_code == 0, r.output
    verify = ["audit", "verify", str(tmp_path / "exp"), "--key", log_vkey, "--witness", w1]
    r = runner.invoke(app, [*verify, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["witnesses"] == ["w1.example"]
    assert (tmp_path / "data/audit/checkpoints.json").exists()
    r = runner.invoke(app, [*verify, "--min-witnesses", "2"])
    assert r.exit_code == 2  # more required than pinned: bad input


def test_witness_help_has_examples() -> None:
    for command in ("keygen", "cosign", "serve"):
        r = CliRunner().invoke(app, ["witness", command, "--help"])
        assert "Example:" in r.output
