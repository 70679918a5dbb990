"""Split views, rollbacks and dropped entries against witnesses and the auditor's state.

The registry operator holds the log key, so it can sign any history. Witnesses remember what
they cosigned and refuse an inconsistent checkpoint; the auditor requires N of M cosignatures and
keeps the last checkpoint it verified, so a rollback or fork fails without ``--previous``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import Conflict
from chiptrail.ledger.audit import CHECKPOINT_PATH, audit_export
from chiptrail.ledger.tiles import parse_entry_bundle
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger import witnesses as svc_wit
from chiptrail.service.settings import Settings
from chiptrail.service.witness.node import WitnessNode, make_server
from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database
from tests.ledger.helpers import NOW, chip, event
from tests.store.test_ledger_store import _setup, _submit


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", data_dir=tmp_path / "data")


def _witness(tmp_path: Path, n: int) -> WitnessNode:
    return WitnessNode(
        f"w{n}.example/witness",
        Ed25519Signer(bytes([40 + n]) * 32),
        (svc_log.log_verifier_key(_settings(tmp_path)),),
        tmp_path / f"w{n}.json",
        clock_s=lambda: 1_780_000_000.0,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WitnessNode, str]]:
    node = _witness(tmp_path, 1)
    server = make_server(node, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _cosign_offline(db: Database, tmp_path: Path, node: WitnessNode) -> None:
    """An offline witness: request file in, cosignature line back (retrying at its old size)."""
    settings = _settings(tmp_path)
    try:
        line = node.add_checkpoint(svc_wit.witness_request(db, settings, 0, now=NOW))
    except Conflict as exc:
        old = int(str(exc.details["size"]))
        line = node.add_checkpoint(svc_wit.witness_request(db, settings, old, now=NOW))
    svc_wit.add_cosignature_lines(db, settings, line, now=NOW)


def _export(db: Database, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    svc_log.export_log_to(db, _settings(tmp_path), out, now=NOW)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _verify(tmp_path: Path, export: Path, *witness: str, minimum: int = 2) -> tuple[int, str]:
    args = ["audit", "verify", str(export), "--key", svc_log.log_verifier_key(_settings(tmp_path))]
    for w in witness:
        args += ["--witness", w]
    args += ["--min-witnesses", str(minimum), "--state", str(tmp_path / "auditor.json")]
    r = CliRunner().invoke(app, args)
    return r.exit_code, r.output


def test_two_witnesses_cosign_and_the_auditor_requires_them(
    database: Database, tmp_path: Path, served: tuple[WitnessNode, str]
) -> None:
    node1, url = served
    node2 = _witness(tmp_path, 2)
    _setup(database)
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    answers = svc_wit.collect_cosignatures(database, _settings(tmp_path), [url], now=NOW)
    assert [a.cosigned for a in answers] == [True]
    _cosign_offline(database, tmp_path, node2)
    export = _export(database, tmp_path, "e1")
    report = audit_export(
        _files(export),
        svc_log.log_verifier_key(_settings(tmp_path)),
        witness_keys=[node1.verifier_key, node2.verifier_key],
        min_witnesses=2,
    )
    assert report.problems == ()
    assert report.witnesses == ("w1.example/witness", "w2.example/witness")
    code, out = _verify(tmp_path, export, node1.verifier_key, node2.verifier_key)
    assert code == 0, out
    # one witness is not enough when two are required
    lonely = audit_export(
        _files(export),
        svc_log.log_verifier_key(_settings(tmp_path)),
        witness_keys=[node1.verifier_key, _witness(tmp_path, 3).verifier_key],
        min_witnesses=2,
    )
    assert "1 of the required 2" in lonely.problems[0].message

    # the log grows; witnesses follow with consistency proofs from what they saw
    _submit(database, "vendor", 1, "n-000002", event("shipping", [chip(1)], destination="dc"))
    assert svc_wit.collect_cosignatures(database, _settings(tmp_path), [url], now=NOW)[0].cosigned
    _cosign_offline(database, tmp_path, node2)
    code, out = _verify(tmp_path, _export(database, tmp_path, "e2"), node1.verifier_key,
                        node2.verifier_key)  # fmt: skip
    assert code == 0, out

    # rollback: the operator serves the older export again; no --previous needed
    code, out = _verify(tmp_path, export, node1.verifier_key, node2.verifier_key)
    assert code == 1
    assert "log shrank" in out


def test_fork_and_dropped_entry_are_refused_by_witnesses_and_caught_by_the_auditor(
    database: Database, tmp_path: Path, served: tuple[WitnessNode, str]
) -> None:
    node1, url = served
    node2 = _witness(tmp_path, 2)
    keys = (node1.verifier_key, node2.verifier_key)
    _setup(database)
    for n in range(3):
        _submit(database, "vendor", 1, f"n-00000{n}", event("commissioning", [chip(n)]))
    svc_wit.collect_cosignatures(database, _settings(tmp_path), [url], now=NOW)
    _cosign_offline(database, tmp_path, node2)
    assert _verify(tmp_path, _export(database, tmp_path, "honest"), *keys)[0] == 0

    # the operator rewrites history with the same log key: the same parties, an entry dropped
    # (chip 1's commissioning) and another event appended to reach a larger size
    forked = open_database(f"sqlite:///{tmp_path / 'fork.db'}")
    _setup(forked)
    for n in (0, 2, 3):
        _submit(forked, "vendor", 1, f"n-00000{n}", event("commissioning", [chip(n)]))
    answers = svc_wit.collect_cosignatures(forked, _settings(tmp_path), [url], now=NOW)
    assert not answers[0].cosigned  # 409: a different root at the size it cosigned
    with pytest.raises(Exception, match=r"forked|does not verify"):
        _cosign_offline(forked, tmp_path, node2)
    fork_export = _export(forked, tmp_path, "fork")
    code, out = _verify(tmp_path, fork_export, *keys)
    assert code == 1
    assert "0 of the required 2" in out
    # even an auditor that trusts no witness catches it from its own state
    code, out = _verify(tmp_path, fork_export, *keys, minimum=0)
    assert code == 1
    assert "history was rewritten" in out
    forked.dispose()


def test_dropping_an_entry_from_an_export_is_caught(database: Database, tmp_path: Path) -> None:
    _setup(database)
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1), chip(2)]))
    export = _export(database, tmp_path, "e")
    files = _files(export)
    (bundle,) = [p for p in files if p.startswith("tile/entries/")]
    entries = parse_entry_bundle(files[bundle])
    kept = entries[:-2] + entries[-1:]
    files[bundle] = b"".join(len(e).to_bytes(2, "big") + e for e in kept)
    report = audit_export(files, svc_log.log_verifier_key(_settings(tmp_path)))
    assert not report.is_valid
    assert files[CHECKPOINT_PATH]  # the signed checkpoint still names the full size
