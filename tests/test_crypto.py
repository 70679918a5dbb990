"""Ed25519 verification: RFC 8032 vectors, agreement with pyca on honest keys, and the
small-order keys with which OpenSSL accepts a signature on any message."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from chiptrail.crypto import Ed25519Signer, check_public_key, verify_signature
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.keys import make_key

# RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]

# The encodings of the eight points of small order (1, 2, 4, 8), as libsodium lists them.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]
IDENTITY = bytes.fromhex(SMALL_ORDER[0])
FORGERY = IDENTITY + bytes(32)  # R = identity, S = 0: [S]B = R + [k]A holds when A = identity


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_sign_and_verify(
    seed: str, public: str, message: str, signature: str
) -> None:
    signer = Ed25519Signer(bytes.fromhex(seed))
    assert signer.public_key.hex() == public
    assert signer.sign(bytes.fromhex(message)).hex() == signature
    verify_signature(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))
    with pytest.raises(VerificationError):
        verify_signature(bytes.fromhex(public), b"other", bytes.fromhex(signature))


@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300))
def test_agrees_with_pyca_on_honest_keys(seed: bytes, message: bytes) -> None:
    signer = Ed25519Signer(seed)
    signature = signer.sign(message)
    check_public_key(signer.public_key)
    verify_signature(signer.public_key, message, signature)
    Ed25519PublicKey.from_public_bytes(signer.public_key).verify(signature, message)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(VerificationError):
        verify_signature(signer.public_key, message, tampered)
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(signer.public_key).verify(tampered, message)
    with pytest.raises(VerificationError):
        verify_signature(signer.public_key, message + b"x", signature)


def test_a_small_order_key_verifies_nothing() -> None:
    # OpenSSL (through pyca) accepts this signature, made with no private key, on any message.
    for message in (b"", b"transfer 500 H100 to a front company"):
        Ed25519PublicKey.from_public_bytes(IDENTITY).verify(FORGERY, message)
        with pytest.raises(VerificationError):
            verify_signature(IDENTITY, message, FORGERY)


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_small_order_keys_cannot_be_registered(point: str) -> None:
    with pytest.raises(InvalidInput, match="small order"):
        check_public_key(bytes.fromhex(point))
    with pytest.raises(InvalidInput):
        make_key("party-a", bytes.fromhex(point), 0)


def test_malformed_keys_and_signatures_are_refused() -> None:
    signer = Ed25519Signer(bytes([3]) * 32)
    signature = signer.sign(b"m")
    with pytest.raises(InvalidInput, match="32 bytes"):
        check_public_key(signer.public_key[:31])
    with pytest.raises(VerificationError, match="32 bytes"):
        verify_signature(signer.public_key[:31], b"m", signature)
    with pytest.raises(VerificationError, match="64 bytes"):
        verify_signature(signer.public_key, b"m", signature[:63])
    off_curve = bytes.fromhex("02" + "00" * 31)  # y = 2 has no x on the curve
    with pytest.raises(InvalidInput):
        check_public_key(off_curve)
