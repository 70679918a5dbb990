"""Signed checkpoints: C2SP tlog-checkpoint bodies inside C2SP signed-note envelopes (Ed25519).

No I/O and no key storage: callers pass a ``Signer`` to sign and verifier-key strings to open.
Follows https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint; the reference
implementation is Go's golang.org/x/mod/sumdb/note, whose rules (and limits) are mirrored here.

Formats, byte for byte:

- checkpoint body: ``<origin>\\n<size decimal>\\n<base64 root>\\n`` then optional extension lines,
  each ending in ``\\n``.
- signed note: ``<text>\\n`` + ``— <key name> <base64(key id[4] || Ed25519 signature[64])>\\n``
  per signature (U+2014 EM DASH, then a space). The signature covers the text, which ends with
  its own newline; the blank line separates the text from the signatures.
- key id: the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``, big-endian.
- verifier key: ``<name>+<key id as 8 hex digits>+<base64(0x01 || 32-byte public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from chiptrail.crypto import Signer, verify_signature
from chiptrail.errors import InvalidInput, VerificationError

ALG_ED25519 = 0x01
"""Signed-note signature type byte for Ed25519."""

MAX_SIGNATURES = 100
"""Go's x/mod/sumdb/note refuses notes with more signature lines than this."""

_SIG_PREFIX = "\u2014 "  # EM DASH + space (signed-note section "Signatures")
_MAX_UINT64 = 2**64 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's claim: "my tree of ``size`` leaves has root ``root_hash``".

    Attributes:
        origin: the log's unique name, the first line (e.g. ``chiptrail.example/custody``).
        size: number of leaves.
        root_hash: RFC 9162 root of those leaves (32 bytes for SHA-256 logs).
        extensions: further body lines, without their newlines (opaque to this module).
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def _b64decode_strict(text: str) -> bytes:
    """Standard base64 in canonical form only.

    Python (like Go's StdEncoding) ignores the unused low bits of the last character, so
    ``...AM=`` and ``...AN=`` decode alike; refusing non-canonical text makes every bit of a note
    matter (an auditor must notice any flipped byte).

    Raises:
        ValueError: not canonical standard base64.
    """
    data = base64.b64decode(text, validate=True)
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return data


def _is_valid_name(name: str) -> bool:
    """Key names: non-empty, no Unicode whitespace, no ``+`` (x/mod/sumdb/note isValidName)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _has_bad_chars(text: str) -> bool:
    """ASCII control characters other than newline are not allowed anywhere in a note."""
    return any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def format_checkpoint(cp: Checkpoint) -> str:
    """The C2SP tlog-checkpoint body (note text) for ``cp``.

    Raises:
        InvalidInput: an empty origin, a size outside uint64, or a line that would break the body.
    """
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root_hash).decode("ascii")]
    if not cp.origin:
        raise InvalidInput("checkpoint origin must not be empty")
    if not 0 <= cp.size <= _MAX_UINT64:
        raise InvalidInput("checkpoint size must fit in uint64", {"size": cp.size})
    for line in (cp.origin, *cp.extensions):
        if not line or "\n" in line or _has_bad_chars(line):
            raise InvalidInput(
                "checkpoint lines must be non-empty and free of control characters",
                {"line": line},
            )
    return "".join(f"{line}\n" for line in (*lines, *cp.extensions))


def parse_checkpoint(text: str, *, hash_size: int | None = 32) -> Checkpoint:
    """Parse a C2SP tlog-checkpoint body (the text of an opened note, not the signed note).

    Args:
        text: the body; every line, the last included, ends with ``\\n``.
        hash_size: required root length in bytes; ``None`` accepts any length (as
            transparency-dev/formats does).

    Raises:
        InvalidInput: a missing line or newline, an empty origin, a size that is not canonical
            unsigned decimal within uint64, a root that is not base64 of ``hash_size`` bytes, or
            an empty extension line.
    """
    if not text.endswith("\n"):
        raise InvalidInput("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidInput("checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not origin or _has_bad_chars(text):
        raise InvalidInput("checkpoint origin is empty or has control characters")
    if len(size_text) > 20 or not _DECIMAL.fullmatch(size_text) or int(size_text) > _MAX_UINT64:
        raise InvalidInput("checkpoint size is not an unsigned 64-bit decimal", {"size": size_text})
    try:
        root = _b64decode_strict(root_text)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("checkpoint root is not base64") from exc
    if hash_size is not None and len(root) != hash_size:
        raise InvalidInput(
            f"checkpoint root is {len(root)} bytes, expected {hash_size}", {"length": len(root)}
        )
    if any(not line for line in extensions):
        raise InvalidInput("checkpoint extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def key_id(key_name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key id of an Ed25519 key."""
    return hashlib.sha256(
        key_name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()[:4]


def make_verifier_key(key_name: str, public_key: bytes) -> str:
    """The verifier key string ``name+hex8+base64(0x01 || public key)`` for an Ed25519 key.

    Raises:
        InvalidInput: an invalid key name or a public key that is not 32 bytes.
    """
    if not _is_valid_name(key_name):
        raise InvalidInput("key name must be non-empty, without spaces or '+'", {"name": key_name})
    if len(public_key) != 32:
        raise InvalidInput("Ed25519 public key must be 32 bytes", {"length": len(public_key)})
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed verifier key: name, 4-byte key id, raw 32-byte Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Parse ``name+hex8+base64(0x01 || key)``, checking the key id against the key.

    Raises:
        InvalidInput: a malformed string, a key id that does not match, or a non-Ed25519 key.
    """
    name, _, rest = vkey.partition("+")
    id_hex, _, key_b64 = rest.partition("+")
    try:
        key = _b64decode_strict(key_b64)
        kid = bytes.fromhex(id_hex) if len(id_hex) == 8 else b""
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("verifier key is malformed", {"vkey": vkey}) from exc
    if not _is_valid_name(name) or len(kid) != 4 or not key:
        raise InvalidInput("verifier key must be name+hex8+base64", {"vkey": vkey})
    if key[0] != ALG_ED25519 or len(key) != 33:
        raise InvalidInput("verifier key is not a 32-byte Ed25519 key (type 0x01)", {"vkey": vkey})
    if key_id(name, key[1:]) != kid:
        raise InvalidInput("verifier key id does not match its name and key", {"vkey": vkey})
    return VerifierKey(name, kid, key[1:])


def sign_note(text: str, key_name: str, signer: Signer) -> str:
    """Sign ``text`` as a C2SP signed note with one Ed25519 signature line.

    Args:
        text: the note text; must end with ``\\n`` and hold no other control characters.
        key_name: the signer's key name (the checkpoint origin, by convention).
        signer: the Ed25519 key.

    Returns:
        ``text + "\\n" + "— <key_name> <base64(key id || signature)>\\n"``.

    Raises:
        InvalidInput: text without a final newline, with a blank line, with control
            characters, or an invalid key name.
    """
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise InvalidInput("note text must end with a newline and have no blank lines")
    if _has_bad_chars(text):
        raise InvalidInput("note text must not contain control characters other than newline")
    if not _is_valid_name(key_name):
        raise InvalidInput("key name must be non-empty, without spaces or '+'", {"name": key_name})
    try:
        message = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("note text is not valid Unicode (lone surrogate)") from exc
    signature = signer.sign(message)
    blob = key_id(key_name, signer.public_key) + signature
    return f"{text}\n{_SIG_PREFIX}{key_name} {base64.b64encode(blob).decode('ascii')}\n"


def _decode_note(note: str | bytes) -> str:
    """The note as text that is valid UTF-8 (bytes are decoded strictly)."""
    try:
        raw = note if isinstance(note, bytes) else note.encode("utf-8")
        return raw.decode("utf-8")
    except UnicodeError as exc:
        raise VerificationError("malformed note: not valid UTF-8") from exc


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Text and ``(name, key id, signature)`` per signature line; raises on malformed notes."""
    if _has_bad_chars(note):
        raise VerificationError("malformed note: control characters")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise VerificationError("malformed note: signature block missing or not newline-terminated")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    sigs = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise VerificationError("malformed note: a signature line must start with '— '")
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            blob = _b64decode_strict(b64)
        except (binascii.Error, ValueError) as exc:
            raise VerificationError("malformed note: signature is not base64") from exc
        if not _is_valid_name(name) or len(blob) < 5:
            raise VerificationError("malformed note: bad key name or short signature")
        sigs.append((name, blob[:4], blob[4:]))
    return text, sigs


def open_note(note: str | bytes, verifier_keys: Sequence[str]) -> str:
    """Verify a signed note and return its text.

    As in x/mod/sumdb/note: signatures by unknown keys are ignored; a signature line from a
    known key (same name and key id) that fails to verify rejects the note; at least one known
    key must have signed.

    Args:
        note: the whole signed note (bytes must be UTF-8).
        verifier_keys: trusted verifier key strings.

    Returns:
        The verified text (ending with ``\\n``, without the blank line and signatures).

    Raises:
        InvalidInput: a verifier key string is malformed.
        VerificationError: the note is malformed, a known key's signature is bad, or no known
            key signed it.
    """
    known = {(k.name, k.key_id): k for k in map(parse_verifier_key, verifier_keys)}
    text, sigs = _split_note(_decode_note(note))
    verified = 0
    for name, kid, signature in sigs:
        key = known.get((name, kid))
        if key is None:
            continue
        try:
            verify_signature(key.public_key, text.encode("utf-8"), signature)
        except VerificationError as exc:
            raise VerificationError(
                f"invalid signature for key {name}+{kid.hex()}", {"key": name}
            ) from exc
        verified += 1
    if not verified:
        raise VerificationError(
            "note has no verifiable signatures (none by a trusted key)",
            {"signers": sorted({name for name, _, _ in sigs})},
        )
    return text


def sign_checkpoint(cp: Checkpoint, key_name: str, signer: Signer) -> str:
    """Format ``cp`` and sign it as a note (the log's own signature line)."""
    return sign_note(format_checkpoint(cp), key_name, signer)


def verify_checkpoint(
    note: str | bytes, verifier_key: str, *, origin: str | None = None
) -> Checkpoint:
    """Open a signed checkpoint with the log's verifier key and parse its body.

    Args:
        note: the signed checkpoint.
        verifier_key: the log's verifier key string.
        origin: if given, the origin line the checkpoint must carry.

    Raises:
        InvalidInput: the verifier key is malformed.
        VerificationError: a bad or missing signature, a malformed body, or another origin.
    """
    text = open_note(note, [verifier_key])
    try:
        cp = parse_checkpoint(text)
    except InvalidInput as exc:
        raise VerificationError(f"signed checkpoint body is malformed: {exc.message}") from exc
    if origin is not None and cp.origin != origin:
        raise VerificationError(
            "checkpoint origin is not the expected log", {"origin": cp.origin, "expected": origin}
        )
    return cp
