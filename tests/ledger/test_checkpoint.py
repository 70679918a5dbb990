"""C2SP signed notes and tlog-checkpoints: known answers, round trips, one negative per field."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.checkpoint import (
    Checkpoint,
    format_checkpoint,
    key_id,
    make_verifier_key,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)

LOG = "chiptrail.test/custody"
SIGNER = Ed25519Signer(hashlib.sha256(b"chiptrail test log key").digest())
OTHER = Ed25519Signer(hashlib.sha256(b"chiptrail other key").digest())
VKEY = make_verifier_key(LOG, SIGNER.public_key)
ROOT = hashlib.sha256(b"root").digest()
CP = Checkpoint(LOG, 1234, ROOT)
TLOG = "conformance/tlog"


def _load(shared: Path, name: str) -> Any:
    return json.loads((shared / TLOG / name).read_text())


def test_checkpoint_round_trip_and_exact_bytes() -> None:
    cp = Checkpoint(LOG, 1234, ROOT, ("ext one", "ext two"))
    body = format_checkpoint(cp)
    assert body == f"{LOG}\n1234\n{base64.b64encode(ROOT).decode()}\next one\next two\n"
    assert parse_checkpoint(body) == cp
    note = sign_checkpoint(cp, LOG, SIGNER)
    assert note.startswith(body + "\n\u2014 " + LOG + " ")
    assert verify_checkpoint(note, VKEY) == cp
    assert verify_checkpoint(note, VKEY, origin=LOG) == cp


def test_verifier_key_layout() -> None:
    name, kid, key = VKEY.split("+", 2)
    assert name == LOG
    assert kid == key_id(LOG, SIGNER.public_key).hex()
    expected = hashlib.sha256(LOG.encode() + b"\n\x01" + SIGNER.public_key).digest()[:4]
    assert bytes.fromhex(kid) == expected
    assert base64.b64decode(key) == b"\x01" + SIGNER.public_key
    parsed = parse_verifier_key(VKEY)
    assert (parsed.name, parsed.key_id, parsed.public_key) == (LOG, expected, SIGNER.public_key)


def _tamper_signature(note: str) -> str:
    head, sig_line = note.rsplit("\u2014 ", 1)
    name, b64 = sig_line.split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[10] ^= 1
    return f"{head}\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n"


NOTE = sign_checkpoint(CP, LOG, SIGNER)
SIG_B64 = NOTE.rsplit(" ", 1)[1].strip()


@pytest.mark.parametrize(
    ("note", "match"),
    [
        (NOTE.replace("1234", "1235"), "invalid signature"),
        (NOTE.replace(LOG, "chiptrail.test/other", 1), "invalid signature"),
        (
            NOTE.replace(base64.b64encode(ROOT).decode(), base64.b64encode(ROOT[::-1]).decode()),
            "invalid signature",
        ),
        (_tamper_signature(NOTE), "invalid signature"),
        (sign_checkpoint(CP, LOG, OTHER), "no verifiable"),
        (sign_checkpoint(CP, "chiptrail.test/impostor", SIGNER), "no verifiable"),
        (NOTE.replace(f"\u2014 {LOG}", f"- {LOG}"), "must start with"),
        (NOTE.replace("\n\n", "\n"), "no blank line"),
        (NOTE[:-1], "newline-terminated"),
        (NOTE + "\u2014 trailing\n", "bad key name or short signature"),
        (NOTE.replace(SIG_B64, SIG_B64[:-2] + chr(ord(SIG_B64[-2]) ^ 1) + "="), "not base64"),
        (NOTE.replace("1234", "12\t34"), "control characters"),
        (NOTE + "extra line\n", "must start with"),
    ],
    ids=[
        "size changed",
        "origin changed",
        "root changed",
        "signature bit flipped",
        "signed by another key under the log's name",
        "signed under another key name",
        "hyphen instead of em dash",
        "no blank line",
        "no final newline",
        "signature line without signature",
        "non-canonical base64 padding bits",
        "control character",
        "line after the signatures",
    ],
)
def test_verify_checkpoint_rejects(note: str, match: str) -> None:
    with pytest.raises(VerificationError, match=match):
        verify_checkpoint(note, VKEY)


def test_verify_checkpoint_rejects_body_and_origin_problems() -> None:
    bad_body = sign_note(f"{LOG}\n012\n{base64.b64encode(ROOT).decode()}\n", LOG, SIGNER)
    with pytest.raises(VerificationError, match="malformed"):
        verify_checkpoint(bad_body, VKEY)
    with pytest.raises(VerificationError, match="origin"):
        verify_checkpoint(NOTE, VKEY, origin="chiptrail.test/elsewhere")
    with pytest.raises(VerificationError, match="UTF-8"):
        verify_checkpoint(b"\xff" + NOTE.encode(), VKEY)
    assert verify_checkpoint(NOTE.encode(), VKEY) == CP


def test_extra_signatures_from_unknown_keys_are_ignored() -> None:
    other_name = "witness.test/w1"
    cosigned = NOTE + sign_note(format_checkpoint(CP), other_name, OTHER).split("\n\n")[1]
    assert verify_checkpoint(cosigned, VKEY) == CP
    both = [VKEY, make_verifier_key(other_name, OTHER.public_key)]
    assert open_note(cosigned, both) == format_checkpoint(CP)


@pytest.mark.parametrize(
    "body",
    [
        f"{LOG}\n1234\n{base64.b64encode(ROOT).decode()}",
        f"\n1234\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n+1234\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n01234\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n18446744073709551616\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n{'9' * 5000}\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n1234\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{LOG}\n1234\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        f"{LOG}\n1234\n",
        f"{LOG}\n1234\n{base64.b64encode(ROOT).decode()}\n\nafter blank\n",
    ],
    ids=[
        "no final newline",
        "empty origin",
        "plus sign",
        "leading zero",
        "beyond uint64",
        "5000 digits",
        "31-byte root",
        "unpadded root",
        "no root line",
        "empty extension line",
    ],
)
def test_parse_checkpoint_rejects(body: str) -> None:
    with pytest.raises(InvalidInput):
        parse_checkpoint(body)


@pytest.mark.parametrize(
    "cp",
    [
        Checkpoint("", 1, ROOT),
        Checkpoint(LOG, -1, ROOT),
        Checkpoint(LOG, 2**64, ROOT),
        Checkpoint(LOG, 1, ROOT, ("",)),
        Checkpoint(LOG, 1, ROOT, ("two\nlines",)),
        Checkpoint("log\x07", 1, ROOT),
    ],
    ids=["empty origin", "negative", "beyond uint64", "empty extension", "newline", "bell"],
)
def test_format_checkpoint_refuses(cp: Checkpoint) -> None:
    with pytest.raises(InvalidInput):
        format_checkpoint(cp)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("no newline", LOG),
        ("a\n\nb\n", LOG),
        ("\nx\n", LOG),
        ("x\x01\n", LOG),
        ("\udc00\n", LOG),
        ("ok\n", "has space"),
        ("ok\n", "has+plus"),
        ("ok\n", ""),
    ],
    ids=[
        "no newline",
        "blank line",
        "leading blank",
        "control char",
        "lone surrogate",
        "space in name",
        "plus in name",
        "empty name",
    ],
)
def test_sign_note_refuses(text: str, name: str) -> None:
    with pytest.raises(InvalidInput):
        sign_note(text, name, SIGNER)


@pytest.mark.parametrize(
    "vkey",
    [
        VKEY.replace("+", "+0", 1),
        VKEY[: VKEY.index("+") + 1] + "00000000" + VKEY[VKEY.index("+") + 9 :],
        VKEY[:-4],
        VKEY.rsplit("+", 1)[0] + "+" + base64.b64encode(b"\x02" + SIGNER.public_key).decode(),
        "no-plus-signs",
        "+" + VKEY.split("+", 1)[1],
    ],
    ids=["id too long", "id mismatch", "truncated key", "algorithm 0x02", "no fields", "no name"],
)
def test_parse_verifier_key_refuses(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        parse_verifier_key(vkey)
    with pytest.raises(InvalidInput):
        open_note(NOTE, [vkey])


def test_make_verifier_key_refuses() -> None:
    with pytest.raises(InvalidInput):
        make_verifier_key("bad name", SIGNER.public_key)
    with pytest.raises(InvalidInput):
        make_verifier_key(LOG, SIGNER.public_key[:31])


# --- outside vectors ------------------------------------------------------------------------


def test_signed_note_vectors(shared: Path) -> None:
    vectors = _load(shared, "signed-note-vectors.json")
    for key in vectors["keys"]:
        assert make_verifier_key(key["name"], bytes.fromhex(key["public_key_hex"])) == key["vkey"]
    skey = vectors["signing_key_test_only"]
    seed = base64.b64decode(skey["skey"].split("+", 4)[4])[1:]
    signed = sign_note(skey["text"], "PeterNeumann", Ed25519Signer(seed))
    assert signed == skey["expected_signed_note"]
    for case in vectors["notes"]:
        note: str | bytes = case["note"] if "note" in case else bytes.fromhex(case["note_hex"])
        if case["expect"] == "valid":
            text = open_note(note, case["verifiers"])
            assert isinstance(note, str)
            assert note.startswith(text + "\n")
        else:
            with pytest.raises(VerificationError):
                open_note(note, case["verifiers"])
    for bad in vectors["bad_vkeys"]:
        with pytest.raises(InvalidInput):
            parse_verifier_key(bad["vkey"])


def test_checkpoint_vectors(shared: Path) -> None:
    vectors = _load(shared, "checkpoint-vectors.json")
    for case in vectors["body_parse_cases"]["cases"]:
        if case["expect"] == "accept":
            cp = parse_checkpoint(case["body"], hash_size=None)
            want = case["want"]
            assert (cp.origin, cp.size) == (want["origin"], want["size"])
            assert cp.root_hash == base64.b64decode(want["root_b64"])
            assert "".join(f"{e}\n" for e in cp.extensions) == want.get("rest", "")
            assert format_checkpoint(cp) == case["body"]
        else:
            with pytest.raises(InvalidInput):
                parse_checkpoint(case["body"], hash_size=None)
    for case in vectors["signed_checkpoints"]:
        cp = verify_checkpoint(case["note"], case["log_vkey"], origin=case.get("origin"))
        assert cp.size == 6476701
        for other in case.get("other_vkeys", []):
            open_note(case["note"], [other])
        wrong = case.get("negative", {}).get("wrong_expected_origin")
        if wrong:
            with pytest.raises(VerificationError):
                verify_checkpoint(case["note"], case["log_vkey"], origin=wrong)
    golden = vectors["spec_examples_format_only"]
    for example in golden:
        if "body" in example:
            assert parse_checkpoint(example["body"]).root_hash.hex() == example["root_hex"]
        else:
            body = example["note"].split("\n\n")[0] + "\n"
            assert parse_checkpoint(body).size == 20852163


def test_real_rekor_v2_checkpoints(shared: Path) -> None:
    entries = _load(shared, "rekor-real-inclusion.json")["entries"]
    ed25519 = [e for e in entries if e["log"]["keyDetails"] == "PKIX_ED25519"]
    assert ed25519
    for entry in ed25519:
        public_key = base64.b64decode(entry["log"]["publicKey_spki_der_b64"])[-32:]
        origin = entry["checkpoint_note"].split("\n", 1)[0]
        vkey = make_verifier_key(origin, public_key)
        # Rekor v2's log id is the full SHA-256 whose first 4 bytes are the note key id.
        assert base64.b64decode(entry["log"]["logId_keyId_b64"])[:4] == key_id(origin, public_key)
        cp = verify_checkpoint(entry["checkpoint_note"], vkey)
        assert cp.size == entry["inclusion"]["tree_size"]
        assert cp.root_hash.hex() == entry["inclusion"]["root_hex"]


def test_in_repo_known_answer_note() -> None:
    """tests/vectors/tlog/chiptrail-log-kat.json: a note signed without chiptrail code."""
    kat = json.loads(
        (Path(__file__).parents[1] / "vectors/tlog/chiptrail-log-kat.json").read_text()
    )
    note = kat["note"]
    signer = Ed25519Signer(bytes.fromhex(note["seed_hex"]))
    assert make_verifier_key(note["key_name"], signer.public_key) == note["verifier_key"]
    cp = Checkpoint(note["key_name"], 37, bytes.fromhex(kat["roots_by_size"][37]))
    assert sign_checkpoint(cp, note["key_name"], signer) == note["signed_checkpoint"]
    assert verify_checkpoint(note["signed_checkpoint"], note["verifier_key"]) == cp


_NOTE_ALPHABET = st.sampled_from([*"ab+/=0189 \n\t\u2014\u00e9", LOG, SIG_B64[:8], VKEY])


@settings(max_examples=300, deadline=None)
@given(st.lists(_NOTE_ALPHABET, max_size=40).map("".join) | st.binary(max_size=200))
def test_garbage_notes_raise_only_verification_errors(note: str | bytes) -> None:
    try:
        text = open_note(note, [VKEY])
    except VerificationError:
        return
    assert isinstance(text, str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_garbage_checkpoints_raise_only_invalid_input(body: str) -> None:
    try:
        cp = parse_checkpoint(body, hash_size=None)
    except InvalidInput:
        return
    assert format_checkpoint(cp) == body


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_garbage_verifier_keys_raise_only_invalid_input(vkey: str) -> None:
    try:
        parse_verifier_key(vkey)
    except InvalidInput:
        return
