"""The offline auditor: a valid export verifies; any flipped byte or missing file is caught."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.audit import CHECKPOINT_PATH, audit_export, export_log, verify_export
from chiptrail.ledger.checkpoint import Checkpoint, make_verifier_key, sign_checkpoint
from chiptrail.ledger.merkle import MemoryNodeStore, append_leaves, hash_leaf, root_at
from chiptrail.ledger.tiles import format_entry_bundle

LOG = "chiptrail.test/custody"
SIGNER = Ed25519Signer(hashlib.sha256(b"chiptrail audit test key").digest())
VKEY = make_verifier_key(LOG, SIGNER.public_key)


def make_export(size: int) -> dict[str, bytes]:
    """A signed export of ``size`` entries ``b"event <i>"`` (empty entry at index 3)."""
    entries = [b"" if i == 3 else f"event {i}".encode() for i in range(size)]
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(e) for e in entries])
    note = sign_checkpoint(Checkpoint(LOG, size, root_at(store, size)), LOG, SIGNER)
    return dict(export_log(store, size, lambda a, z: entries[a:z], note))


EXPORTS = {size: make_export(size) for size in (0, 1, 5, 256, 600)}


@pytest.mark.parametrize("size", sorted(EXPORTS))
def test_valid_export_verifies(size: int) -> None:
    report = verify_export(EXPORTS[size], VKEY, origin=LOG)
    assert report.is_valid
    assert report.checkpoint is not None
    assert report.checkpoint.size == size
    assert report.entries_checked == size
    assert report.tiles_checked == len(EXPORTS[size]) - 1 - (size + 255) // 256


def test_export_layout() -> None:
    assert sorted(EXPORTS[600]) == [
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/88",
    ]
    assert sorted(EXPORTS[0]) == ["checkpoint"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_flipped_byte_is_detected(data: st.DataObject) -> None:
    size = data.draw(st.sampled_from([1, 5, 256, 600]), label="size")
    files = dict(EXPORTS[size])
    path = data.draw(st.sampled_from(sorted(files)), label="path")
    blob = bytearray(files[path])
    offset = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="offset")
    blob[offset] ^= data.draw(st.integers(min_value=1, max_value=255), label="xor")
    files[path] = bytes(blob)
    report = audit_export(files, VKEY)
    assert not report.is_valid
    with pytest.raises(VerificationError):
        verify_export(files, VKEY)


def test_every_byte_of_a_small_export_matters() -> None:
    files = EXPORTS[5]
    for path, content in files.items():
        for offset in range(len(content)):
            tampered = bytearray(content)
            tampered[offset] ^= 0x01
            assert not audit_export({**files, path: bytes(tampered)}, VKEY).is_valid, (path, offset)


@pytest.mark.parametrize("path", sorted(EXPORTS[600]))
def test_a_missing_file_is_reported(path: str) -> None:
    files = {k: v for k, v in EXPORTS[600].items() if k != path}
    report = audit_export(files, VKEY)
    assert [(p.path, p.message) for p in report.problems][:1] == [(path, "missing")]


def test_rewritten_history_is_caught_even_when_tiles_agree() -> None:
    """A log that swaps an entry and recomputes every tile still fails: the signature binds it."""
    forged = make_export(600)
    entries = [b"" if i == 3 else f"event {i}".encode() for i in range(600)]
    entries[7] = b"forged event"
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(e) for e in entries])
    fake = dict(export_log(store, 600, lambda a, z: entries[a:z], "x\n"))
    forged |= {k: v for k, v in fake.items() if k != CHECKPOINT_PATH}
    report = audit_export(forged, VKEY)
    assert [p.message for p in report.problems] == [
        "root recomputed from the entries differs from the checkpoint"
    ]


def test_entry_bundle_with_wrong_count_and_garbage() -> None:
    files = dict(EXPORTS[5])
    files["tile/entries/000.p/5"] = format_entry_bundle([b"a", b"b"])
    assert "holds 2 entries, expected 5" in audit_export(files, VKEY).problems[0].message
    files["tile/entries/000.p/5"] = b"\x00\x09abc"
    assert "ends inside an entry" in audit_export(files, VKEY).problems[0].message


def test_stale_partial_tiles_are_allowed_only_as_prefixes() -> None:
    files = dict(EXPORTS[600])
    files["tile/0/002.p/10"] = files["tile/0/002.p/88"][: 10 * 32]
    assert verify_export(files, VKEY).tiles_checked == 5
    files["tile/0/002.p/11"] = files["tile/0/002.p/88"][32 : 12 * 32]
    assert [p.path for p in audit_export(files, VKEY).problems] == ["tile/0/002.p/11"]


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", "tile/0/003", "tile/entries/000.p/5", "tile/0/009.p/3"],
    ids=["unknown file", "full tile past the size", "extra bundle", "partial tile past the size"],
)
def test_unexpected_files_are_reported(extra: str) -> None:
    files = {**EXPORTS[600], extra: b"\x00" * 96}
    assert [p.path for p in audit_export(files, VKEY).problems] == [extra]


def test_wrong_key_origin_and_bad_key() -> None:
    other = make_verifier_key(LOG, Ed25519Signer(b"\x07" * 32).public_key)
    report = audit_export(EXPORTS[5], other)
    assert report.checkpoint is None
    assert "no verifiable signatures" in report.problems[0].message
    with pytest.raises(VerificationError, match="origin"):
        verify_export(EXPORTS[5], VKEY, origin="chiptrail.test/other")
    with pytest.raises(InvalidInput):
        audit_export(EXPORTS[5], "not a key")
    report = audit_export({}, VKEY)
    assert not report.is_valid
    assert report.problems[0].path == CHECKPOINT_PATH


def test_problems_are_capped() -> None:
    files = dict(EXPORTS[600])
    files |= {f"junk/{i}": b"" for i in range(150)}
    assert len(audit_export(files, VKEY).problems) == 100


@settings(max_examples=25, deadline=None)
@given(size=st.integers(min_value=0, max_value=2100))
def test_export_of_any_size_verifies(size: int) -> None:
    report = verify_export(make_export(size), VKEY)
    assert report.entries_checked == size


def test_three_tile_levels() -> None:
    """70,000 entries: the spec's example with partial tiles on levels 0, 1 and 2."""
    files = make_export(70000)
    assert {"tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"} <= set(files)
    assert verify_export(files, VKEY).tiles_checked == 273 + 1 + 1 + 1 + 1
    tampered = bytearray(files["tile/2/000.p/1"])
    tampered[0] ^= 0x80
    report = audit_export({**files, "tile/2/000.p/1": bytes(tampered)}, VKEY)
    assert [p.path for p in report.problems] == ["tile/2/000.p/1"]


def signed_checkpoint(size: int, forked_at: int | None = None) -> str:
    """A checkpoint of the first ``size`` entries of make_export's log, optionally with one
    entry (``forked_at``) replaced: the view a split-view log would show someone else."""
    entries = [b"" if i == 3 else f"event {i}".encode() for i in range(size)]
    if forked_at is not None and forked_at < size:
        entries[forked_at] = b"the other story"
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(e) for e in entries])
    return sign_checkpoint(Checkpoint(LOG, size, root_at(store, size)), LOG, SIGNER)


@settings(max_examples=40, deadline=None)
@given(old_size=st.integers(min_value=0, max_value=600), fork=st.integers(0, 599))
def test_previous_checkpoints_must_be_prefixes(old_size: int, fork: int) -> None:
    honest = verify_export(EXPORTS[600], VKEY, previous=[signed_checkpoint(old_size)])
    assert honest.previous_checked == 1
    report = audit_export(EXPORTS[600], VKEY, previous=[signed_checkpoint(old_size, fork)])
    if fork < old_size:
        assert [p.path for p in report.problems] == ["previous checkpoint #1"]
        assert "rewritten" in report.problems[0].message
    else:
        assert report.is_valid


def test_previous_checkpoint_problems() -> None:
    other_log = Checkpoint("chiptrail.test/other", 5, root_at(MemoryNodeStore(), 0))
    notes: list[str | bytes] = [
        signed_checkpoint(601),
        sign_checkpoint(other_log, LOG, SIGNER),
        signed_checkpoint(7).replace("7", "8", 1).encode(),
        signed_checkpoint(256),
    ]
    report = audit_export(EXPORTS[600], VKEY, previous=notes)
    assert [p.path for p in report.problems] == [
        "previous checkpoint #1",
        "previous checkpoint #2",
        "previous checkpoint #3",
    ]
    assert "shrank" in report.problems[0].message
    assert "origin" in report.problems[1].message
    assert report.previous_checked == 1
    tampered = {**EXPORTS[600], "tile/0/000": b"\x00" * 8192}
    not_reached = audit_export(tampered, VKEY, previous=[signed_checkpoint(601)])
    assert [p.path for p in not_reached.problems] == ["tile/0/000"]
    assert not_reached.previous_checked == 0


def test_a_huge_claimed_size_is_refused_quickly() -> None:
    huge = Checkpoint(LOG, 2**62, hash_leaf(b"x"))
    files = {**EXPORTS[600], CHECKPOINT_PATH: sign_checkpoint(huge, LOG, SIGNER).encode()}
    report = audit_export(files, VKEY)
    assert [p.path for p in report.problems] == [CHECKPOINT_PATH]
    assert "export holds only 8 files" in report.problems[0].message
