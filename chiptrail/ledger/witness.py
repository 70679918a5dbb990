"""Witnesses: C2SP tlog-cosignature (Ed25519, ``cosignature/v1``) and the tlog-witness rules.

No I/O and no clock: callers pass the time, keys and the witness's remembered state. Formats
follow https://c2sp.org/tlog-cosignature and https://c2sp.org/tlog-witness:

- cosigner key id: ``SHA-256(name || "\\n" || 0x04 || 32-byte public key)[:4]``; verifier key
  ``name+hex8+base64(0x04 || public key)``.
- signature line ``— <name> base64(key id[4] || timestamp u64 big-endian || Ed25519 sig[64])``.
- signed message ``cosignature/v1\\ntime <timestamp>\\n`` + the checkpoint body (its text, with
  the final newline, without signature lines).
- add-checkpoint request body: ``old <size>\\n``, up to 63 base64 consistency-proof lines, an
  empty line, then the signed checkpoint.

A cosignature states that, as of its time, the checkpoint is the largest consistent tree head the
witness has seen for that origin. A witness remembers one ``(size, root)`` per origin and cosigns
only checkpoints consistent with it, so a log that shows a forked or rolled-back history cannot
gather cosignatures from witnesses that saw the other branch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chiptrail.crypto import Signer, verify_signature
from chiptrail.errors import Conflict, InvalidInput, NotFound, PermissionDenied, VerificationError
from chiptrail.ledger.checkpoint import (
    Checkpoint,
    _b64decode_strict,
    _decode_note,
    _is_valid_name,
    _split_note,
    parse_checkpoint,
    verify_checkpoint,
)
from chiptrail.ledger.proof import verify_consistency

ALG_COSIGNATURE_V1 = 0x04
"""Signed-note key type byte of Ed25519 ``cosignature/v1`` keys."""
MAX_PROOF_LINES = 63
_SIG_PREFIX = "\u2014 "


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 cosigner."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key
    ).digest()[:4]


def make_cosigner_vkey(name: str, public_key: bytes) -> str:
    """``name+hex8+base64(0x04 || key)``: the string auditors pin for one witness.

    Raises:
        InvalidInput: an invalid name or a key that is not 32 bytes.
    """
    if not _is_valid_name(name):
        raise InvalidInput("witness name must be non-empty, without spaces or '+'", {"name": name})
    if len(public_key) != 32:
        raise InvalidInput("Ed25519 public key must be 32 bytes", {"length": len(public_key)})
    blob = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + public_key).decode("ascii")
    return f"{name}+{cosigner_key_id(name, public_key).hex()}+{blob}"


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A parsed witness verifier key."""

    name: str
    key_id: bytes
    public_key: bytes


def parse_cosigner_vkey(vkey: str) -> CosignerKey:
    """Parse a witness verifier key (type 0x04), checking its key id.

    Raises:
        InvalidInput: malformed, not an Ed25519 cosignature/v1 key, or a wrong key id.
    """
    name, _, rest = vkey.strip().partition("+")
    id_hex, _, key_b64 = rest.partition("+")
    try:
        key = _b64decode_strict(key_b64)
        kid = bytes.fromhex(id_hex) if len(id_hex) == 8 else b""
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("witness key is malformed", {"vkey": vkey[:200]}) from exc
    if not _is_valid_name(name) or len(kid) != 4 or len(key) != 33:
        raise InvalidInput("witness key must be name+hex8+base64(0x04||key)", {"vkey": vkey[:200]})
    if key[0] != ALG_COSIGNATURE_V1:
        raise InvalidInput("witness key is not a cosignature/v1 (0x04) key", {"vkey": vkey[:200]})
    if cosigner_key_id(name, key[1:]) != kid:
        raise InvalidInput("witness key id does not match its name and key", {"vkey": vkey[:200]})
    return CosignerKey(name, kid, key[1:])


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signs for checkpoint text ``body`` at ``timestamp``."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(body: str, name: str, signer: Signer, timestamp: int) -> str:
    """One cosignature line (ending in a newline) over checkpoint text ``body``.

    Raises:
        InvalidInput: a timestamp outside 0..2**63-1 or a bad name.
    """
    if not 0 <= timestamp < 2**63:
        raise InvalidInput("cosignature timestamp must be within 0..2**63-1")
    if not _is_valid_name(name):
        raise InvalidInput("witness name must be non-empty, without spaces or '+'", {"name": name})
    signature = signer.sign(cosigned_message(body, timestamp))
    blob = cosigner_key_id(name, signer.public_key) + struct.pack(">Q", timestamp) + signature
    return f"{_SIG_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def verify_cosignatures(note: str | bytes, witness_keys: Sequence[str]) -> dict[str, int]:
    """Names of the pinned witnesses whose cosignature on ``note`` verifies, with its timestamp.

    Lines by other keys (the log's own signature, unknown witnesses) are ignored.

    Raises:
        InvalidInput: a malformed witness key.
        VerificationError: a malformed note, or a pinned witness's line that does not verify.
    """
    keys = {(k.name, k.key_id): k for k in map(parse_cosigner_vkey, witness_keys)}
    text, sigs = _split_note(_decode_note(note))
    found: dict[str, int] = {}
    for name, kid, rest in sigs:
        key = keys.get((name, kid))
        if key is None:
            continue
        if len(rest) != 8 + 64:
            raise VerificationError(f"cosignature of {name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", rest[:8])
        try:
            verify_signature(key.public_key, cosigned_message(text, timestamp), rest[8:])
        except VerificationError as exc:
            raise VerificationError(f"cosignature of witness {name} does not verify") from exc
        found[name] = timestamp
    return found


# --- the witness's decision (tlog-witness add-checkpoint) ---------------------------------------


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed add-checkpoint request."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint request body for ``note``, proving consistency from ``old_size``."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint request body.

    Raises:
        InvalidInput: anything malformed (HTTP 400).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("request is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise InvalidInput("request must start with 'old <size>', proof lines and a blank line")
    size_text = lines[0][4:]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise InvalidInput("old size is not a canonical decimal")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise InvalidInput(f"more than {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = tuple(_b64decode_strict(line) for line in lines[1:])
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("a consistency proof line is not base64") from exc
    if any(len(h) != 32 for h in proof):
        raise InvalidInput("consistency proof hashes must be 32 bytes")
    return AddCheckpoint(int(size_text), proof, note)


@dataclass(frozen=True, slots=True)
class Seen:
    """What a witness remembers of one log: the latest cosigned size and root."""

    size: int
    root_hash: bytes


def check_add_checkpoint(
    request: AddCheckpoint, log_keys: Mapping[str, str], seen: Seen | None
) -> Checkpoint:
    """Decide an add-checkpoint request; returns the checkpoint to cosign and remember.

    Args:
        request: the parsed request.
        log_keys: origin -> the log's verifier key (the logs this witness follows).
        seen: what the witness remembers of this origin (None: never cosigned).

    Raises:
        NotFound: unknown origin (404). PermissionDenied: no valid log signature (403).
        InvalidInput: old size above the checkpoint's, or a proof with old size 0 (400).
        Conflict: old size is not the remembered size, or same size with another root (409;
            ``details["size"]`` is the remembered size).
        VerificationError: the consistency proof does not verify (422).
    """
    try:
        origin = request.note.split("\n", 1)[0]
    except IndexError as exc:  # pragma: no cover - split always yields one item
        raise InvalidInput("empty checkpoint") from exc
    vkey = log_keys.get(origin)
    if vkey is None:
        raise NotFound(f"this witness does not follow the log {origin!r}", {"origin": origin})
    try:
        cp = verify_checkpoint(request.note, vkey, origin=origin)
    except VerificationError as exc:
        raise PermissionDenied(f"checkpoint is not signed by the log: {exc.message}") from exc
    known = seen.size if seen is not None else 0
    if request.old_size > cp.size:
        raise InvalidInput("old size is larger than the checkpoint size")
    if request.old_size != known:
        raise Conflict("old size is not the latest size this witness cosigned", {"size": known})
    if seen is not None and seen.size == cp.size:
        if seen.root_hash != cp.root_hash or request.proof:
            raise Conflict("same size, different root: the log forked", {"size": known})
        return cp
    if request.old_size == 0:
        if request.proof:
            raise InvalidInput("the proof must be empty when the old size is 0")
        return cp
    assert seen is not None  # noqa: S101 - old_size == known > 0 means seen is set
    verify_consistency(seen.size, cp.size, seen.root_hash, cp.root_hash, list(request.proof))
    return cp


def parse_checkpoint_text(note: str) -> Checkpoint:
    """The checkpoint body of a signed note without checking signatures (for display)."""
    text, _ = _split_note(_decode_note(note))
    return parse_checkpoint(text)
