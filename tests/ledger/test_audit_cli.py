"""``chiptrail audit verify|inclusion|consistency``: exit 0 valid, 1 invalid, 2 bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chiptrail.cli import audit as audit_cli
from chiptrail.cli.main import GuardedGroup
from chiptrail.ledger.merkle import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    root_at,
)
from tests.ledger.test_audit import VKEY, make_export, signed_checkpoint

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit verify` keeps its state under the data dir: one per test, never the user's."""
    monkeypatch.setenv("CHIPTRAIL_DATA_DIR", str(tmp_path / "data"))


def _app() -> typer.Typer:
    """The audit sub-app under a root group that maps errors to exit codes, as cli/main.py does."""
    app = typer.Typer(cls=GuardedGroup)

    @app.callback()
    def root() -> None:
        """Test root."""

    audit_cli.register(app)
    return app


APP = _app()
ENTRIES = [f"entry {i}".encode() for i in range(20)]
STORE = MemoryNodeStore()
append_leaves(STORE, 0, [hash_leaf(e) for e in ENTRIES])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _write_export(tmp_path: Path, size: int) -> Path:
    root = tmp_path / "export"
    for path, data in make_export(size).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def test_verify_valid_export(tmp_path: Path) -> None:
    export = _write_export(tmp_path, 300)
    result = runner.invoke(APP, ["audit", "verify", str(export), "--key", VKEY, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["valid"] is True
    assert (out["size"], out["entries_checked"], out["tiles_checked"]) == (300, 300, 3)
    key_file = tmp_path / "log.vkey"
    key_file.write_text(VKEY + "\n")
    result = runner.invoke(APP, ["audit", "verify", str(export), "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


def test_verify_reports_a_flipped_byte(tmp_path: Path) -> None:
    export = _write_export(tmp_path, 300)
    target = export / "tile/entries/001.p/44"
    data = bytearray(target.read_bytes())
    data[5] ^= 0x20
    target.write_bytes(bytes(data))
    result = runner.invoke(APP, ["audit", "verify", str(export), "--key", VKEY, "--json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["valid"] is False
    assert {p["path"] for p in out["problems"]} >= {"tile/0/001.p/44", "checkpoint"}
    result = runner.invoke(APP, ["audit", "verify", str(export), "--key", VKEY])
    assert result.exit_code == 1
    assert "tile/0/001.p/44" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--key", "garbage"],
        [],
        ["--key", VKEY, "--key-file", "x"],
        ["--key-file", "/nonexistent/key"],
    ],
    ids=["malformed key", "no key", "both keys", "missing key file"],
)
def test_verify_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    export = _write_export(tmp_path, 5)
    result = runner.invoke(APP, ["audit", "verify", str(export), *args])
    assert result.exit_code == 2, result.output


def test_verify_missing_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(APP, ["audit", "verify", str(tmp_path / "nope"), "--key", VKEY])
    assert result.exit_code == 2


def _inclusion_args(index: int, size: int) -> list[str]:
    proof = ",".join(b64(p) for p in inclusion_proof(STORE, index, size))
    return [
        "audit",
        "inclusion",
        "--leaf-hash",
        b64(hash_leaf(ENTRIES[index])),
        "--index",
        str(index),
        "--size",
        str(size),
        "--root",
        b64(root_at(STORE, size)),
        "--proof",
        proof,
    ]


def test_inclusion_valid_invalid_malformed(tmp_path: Path) -> None:
    result = runner.invoke(APP, [*_inclusion_args(6, 19), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] is True
    wrong = _inclusion_args(6, 19)
    wrong[wrong.index("--index") + 1] = "7"
    result = runner.invoke(APP, [*wrong, "--json"])
    assert result.exit_code == 1
    assert "root" in json.loads(result.stdout)["error"]
    bad = _inclusion_args(6, 19)
    bad[bad.index("--root") + 1] = "not*base64"
    assert runner.invoke(APP, bad).exit_code == 2
    short = _inclusion_args(6, 19)
    short[short.index("--proof") + 1] += ",AAAA"
    assert runner.invoke(APP, short).exit_code == 2
    entry = tmp_path / "entry.bin"
    entry.write_bytes(ENTRIES[6])
    by_file = _inclusion_args(6, 19)
    by_file[2:4] = ["--entry-file", str(entry)]
    assert runner.invoke(APP, by_file).exit_code == 0
    assert runner.invoke(APP, [*by_file, "--leaf-hash", b64(hash_leaf(b""))]).exit_code == 2


def _consistency_args(old: int, size: int) -> list[str]:
    proof = ",".join(b64(p) for p in consistency_proof(STORE, old, size))
    return [
        "audit",
        "consistency",
        "--old-size",
        str(old),
        "--old-root",
        b64(root_at(STORE, old)),
        "--size",
        str(size),
        "--root",
        b64(root_at(STORE, size)),
        "--proof",
        proof,
    ]


def test_consistency_valid_invalid_malformed() -> None:
    result = runner.invoke(APP, [*_consistency_args(5, 17), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"valid": True, "old_size": 5, "size": 17}
    assert runner.invoke(APP, _consistency_args(8, 8)).exit_code == 0
    swapped = _consistency_args(5, 17)
    swapped[swapped.index("--old-root") + 1] = b64(root_at(STORE, 6))
    assert runner.invoke(APP, swapped).exit_code == 1
    negative = _consistency_args(5, 17)
    negative[negative.index("--old-size") + 1] = "-5"
    assert runner.invoke(APP, negative).exit_code == 2


def test_verify_with_previous_checkpoints(tmp_path: Path) -> None:
    export = _write_export(tmp_path, 300)
    kept = tmp_path / "kept-200"
    kept.write_text(signed_checkpoint(200))
    args = ["audit", "verify", str(export), "--key", VKEY, "--previous", str(kept)]
    result = runner.invoke(APP, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["previous_checked"] == 1
    forked = tmp_path / "forked-200"
    forked.write_text(signed_checkpoint(200, forked_at=150))
    result = runner.invoke(APP, [*args, "--previous", str(forked)])
    assert result.exit_code == 1
    assert "previous checkpoint #2" in result.stdout
    assert runner.invoke(APP, [*args, "--previous", str(tmp_path / "none")]).exit_code == 2


def test_checkpoint_command(tmp_path: Path) -> None:
    note = tmp_path / "checkpoint"
    note.write_text(signed_checkpoint(42))
    result = runner.invoke(APP, ["audit", "checkpoint", str(note), "--key", VKEY, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["valid"], out["size"], out["extensions"]) == (True, 42, [])
    note.write_text(signed_checkpoint(42).replace("42", "43", 1))
    result = runner.invoke(APP, ["audit", "checkpoint", str(note), "--key", VKEY])
    assert result.exit_code == 1
    assert "INVALID" in result.stdout
    assert runner.invoke(APP, ["audit", "checkpoint", str(note), "--key", "x+y"]).exit_code == 2


def test_help_has_examples() -> None:
    for command in ("verify", "checkpoint", "inclusion", "consistency"):
        result = runner.invoke(APP, ["audit", command, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.stdout
