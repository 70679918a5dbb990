"""The witness's HTTP answers (C2SP tlog-witness status codes) and its state file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput
from chiptrail.ledger.checkpoint import Checkpoint, make_verifier_key, sign_checkpoint
from chiptrail.ledger.merkle import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    hash_leaf,
    root_at,
)
from chiptrail.ledger.witness import format_add_checkpoint, verify_cosignatures
from chiptrail.service.witness.node import WitnessNode, make_server, read_state

ORIGIN = "log.example/custody"
LOG = Ed25519Signer(bytes([7]) * 32)


def _note(store: MemoryNodeStore, n: int) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, n, root_at(store, n)), ORIGIN, LOG)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[tuple[WitnessNode, str]]:
    node = WitnessNode(
        "w1.example",
        Ed25519Signer(bytes([9]) * 32),
        (make_verifier_key(ORIGIN, LOG.public_key),),
        tmp_path / "w1.json",
        clock_s=lambda: 1_780_000_000.0,
    )
    server = make_server(node, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node, f"http://127.0.0.1:{server.server_address[1]}/add-checkpoint"
    finally:
        server.shutdown()
        server.server_close()


def test_statuses_follow_tlog_witness(witness: tuple[WitnessNode, str], tmp_path: Path) -> None:
    node, url = witness
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(bytes([i])) for i in range(9)])
    first = httpx.post(url, content=format_add_checkpoint(0, [], _note(store, 4)))
    assert first.status_code == 200
    assert verify_cosignatures(_note(store, 4) + first.text, [node.verifier_key]) == {
        "w1.example": 1_780_000_000
    }
    stale = httpx.post(url, content=format_add_checkpoint(0, [], _note(store, 9)))
    assert (stale.status_code, stale.text) == (409, "4\n")
    assert stale.headers["content-type"] == "text/x.tlog.size"
    proof = consistency_proof(store, 4, 9)
    bad = httpx.post(url, content=format_add_checkpoint(4, proof[:-1], _note(store, 9)))
    assert bad.status_code == 422
    good = httpx.post(url, content=format_add_checkpoint(4, proof, _note(store, 9)))
    assert good.status_code == 200
    assert read_state(tmp_path / "w1.json")[ORIGIN]["size"] == 9
    assert httpx.post(url, content=b"old x\n\n").status_code == 400
    assert httpx.post(url.replace("add-checkpoint", "other"), content=b"x").status_code == 404
    other = sign_checkpoint(Checkpoint("x.example/log", 1, bytes(32)), "x.example/log", LOG)
    assert httpx.post(url, content=format_add_checkpoint(0, [], other)).status_code == 404
    forged = sign_checkpoint(Checkpoint(ORIGIN, 10, bytes(32)), ORIGIN, node.signer)
    assert httpx.post(url, content=format_add_checkpoint(9, [], forged)).status_code == 403


def test_serves_loopback_only(tmp_path: Path) -> None:
    node = WitnessNode("w", Ed25519Signer(bytes(32)), (), tmp_path / "s.json")
    with pytest.raises(InvalidInput, match="loopback"):
        make_server(node, 0, host="0.0.0.0")  # noqa: S104 - the refusal under test
