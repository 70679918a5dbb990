"""Cosignatures (C2SP tlog-cosignature v1) and the witness's add-checkpoint decisions."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationError,
)
from chiptrail.ledger.checkpoint import Checkpoint, make_verifier_key, sign_checkpoint
from chiptrail.ledger.merkle import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    hash_leaf,
    root_at,
)
from chiptrail.ledger.witness import (
    AddCheckpoint,
    Seen,
    check_add_checkpoint,
    cosign,
    cosigner_key_id,
    format_add_checkpoint,
    make_cosigner_vkey,
    parse_add_checkpoint,
    parse_cosigner_vkey,
    verify_cosignatures,
)

ORIGIN = "log.example/custody"
LOG = Ed25519Signer(bytes([7]) * 32)
LOG_VKEY = make_verifier_key(ORIGIN, LOG.public_key)
W1 = Ed25519Signer(bytes([8]) * 32)
W1_VKEY = make_cosigner_vkey("w1.example/witness", W1.public_key)


def _tree(n: int, tag: bytes = b"") -> MemoryNodeStore:
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(tag + bytes([i])) for i in range(n)])
    return store


def _note(store: MemoryNodeStore, n: int) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, n, root_at(store, n)), ORIGIN, LOG)


def test_cosigner_key_id_and_vkey_follow_the_spec() -> None:
    name = "w1.example/witness"
    expected = hashlib.sha256(name.encode() + b"\n\x04" + W1.public_key).digest()[:4]
    assert cosigner_key_id(name, W1.public_key) == expected
    key = parse_cosigner_vkey(W1_VKEY)
    assert (key.name, key.key_id, key.public_key) == (name, expected, W1.public_key)
    with pytest.raises(InvalidInput, match="0x04"):
        parse_cosigner_vkey(LOG_VKEY)  # a log key (type 0x01) is not a cosigner key


def test_cosignature_line_layout_and_round_trip() -> None:
    note = _note(_tree(5), 5)
    body = note[: note.rfind("\n\n") + 1]
    line = cosign(body, "w1.example/witness", W1, 1_679_315_147)
    blob = base64.b64decode(line.split(" ")[2])
    assert line.startswith("\u2014 w1.example/witness ")
    assert len(blob) == 4 + 8 + 64
    assert struct.unpack(">Q", blob[4:12]) == (1_679_315_147,)
    assert verify_cosignatures(note + line, [W1_VKEY]) == {"w1.example/witness": 1_679_315_147}
    assert verify_cosignatures(note, [W1_VKEY]) == {}


def _tamper_time(line: str) -> str:
    name, blob = line[2:].rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[11] ^= 1
    return f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"


def _tamper_sig(line: str) -> str:
    name, blob = line[2:].rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    return f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"


@pytest.mark.parametrize(
    "field",
    ["timestamp", "signature", "origin", "size", "root"],
)
def test_every_cosigned_field_matters(field: str) -> None:
    store = _tree(5)
    note = _note(store, 5)
    body = note[: note.rfind("\n\n") + 1]
    line = cosign(body, "w1.example/witness", W1, 1000)
    if field == "timestamp":
        line = _tamper_time(line)
    elif field == "signature":
        line = _tamper_sig(line)
    else:
        other = {
            "origin": Checkpoint("log.example/other", 5, root_at(store, 5)),
            "size": Checkpoint(ORIGIN, 4, root_at(store, 4)),
            "root": Checkpoint(ORIGIN, 5, root_at(_tree(5, b"x"), 5)),
        }[field]
        note = sign_checkpoint(other, other.origin, LOG)
    with pytest.raises(VerificationError, match="does not verify"):
        verify_cosignatures(note + line, [W1_VKEY])


def test_add_checkpoint_request_round_trip_and_errors() -> None:
    store = _tree(9)
    note = _note(store, 9)
    proof = consistency_proof(store, 4, 9)
    body = format_add_checkpoint(4, proof, note)
    assert parse_add_checkpoint(body) == AddCheckpoint(4, tuple(proof), note)
    for bad in (b"old 01\n\n" + note.encode(), b"new 1\n\n", b"old 1\nnot base64!\n\n", b"old 1"):
        with pytest.raises(InvalidInput):
            parse_add_checkpoint(bad)
    with pytest.raises(InvalidInput, match="63"):
        parse_add_checkpoint(("old 1\n" + "AA==\n" * 64 + "\n").encode())


def _request(store: MemoryNodeStore, old: int, n: int, note: str | None = None) -> AddCheckpoint:
    proof = consistency_proof(store, old, n) if 0 < old < n else []
    return AddCheckpoint(old, tuple(proof), note or _note(store, n))


CASES: list[tuple[str, AddCheckpoint, Seen | None, type[ChiptrailError]]] = [
    (
        "unknown log (404)",
        AddCheckpoint(
            0, (), sign_checkpoint(Checkpoint("x.example/log", 1, bytes(32)), "x.example/log", LOG)
        ),
        None,
        NotFound,
    ),
    (
        "not signed by the log (403)",
        AddCheckpoint(0, (), sign_checkpoint(Checkpoint(ORIGIN, 1, bytes(32)), ORIGIN, W1)),
        None,
        PermissionDenied,
    ),
    (
        "old size above the checkpoint (400)",
        AddCheckpoint(6, (), _note(_tree(5), 5)),
        Seen(6, bytes(32)),
        InvalidInput,
    ),
    (
        "rollback: old size not the remembered one (409)",
        _request(_tree(5), 0, 5),
        Seen(7, bytes(32)),
        Conflict,
    ),
    (
        "fork at the same size (409)",
        AddCheckpoint(5, (), _note(_tree(5, b"f"), 5)),
        Seen(5, root_at(_tree(5), 5)),
        Conflict,
    ),
    (
        "fork below: proof does not verify (422)",
        _request(_tree(9, b"f"), 4, 9),
        Seen(4, root_at(_tree(4), 4)),
        VerificationError,
    ),
]


@pytest.mark.parametrize(
    ("request_", "seen", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_witness_refuses(
    request_: AddCheckpoint, seen: Seen | None, error: type[ChiptrailError]
) -> None:
    with pytest.raises(error) as err:
        check_add_checkpoint(request_, {ORIGIN: LOG_VKEY}, seen)
    if error is Conflict:
        assert seen is not None
        assert err.value.details["size"] == seen.size


def test_witness_accepts_consistent_growth() -> None:
    store = _tree(9)
    first = check_add_checkpoint(_request(store, 0, 4), {ORIGIN: LOG_VKEY}, None)
    assert first.size == 4
    seen = Seen(4, first.root_hash)
    grown = check_add_checkpoint(_request(store, 4, 9), {ORIGIN: LOG_VKEY}, seen)
    assert grown.root_hash == root_at(store, 9)
    again = check_add_checkpoint(
        _request(store, 9, 9), {ORIGIN: LOG_VKEY}, Seen(9, grown.root_hash)
    )
    assert again.size == 9
