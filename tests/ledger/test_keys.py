"""Party and key registry rules."""

from __future__ import annotations

import pytest

from chiptrail.errors import Conflict, InvalidInput, VerificationError
from chiptrail.ledger.keys import (
    PartyKind,
    check_new_key,
    check_revocable,
    check_signing_key,
    make_key,
    make_party,
)
from tests.ledger.helpers import signer


def test_make_party_normalises_and_validates() -> None:
    party = make_party("acme-sg", " Acme Pte Ltd ", "sg", "Company")
    assert (party.name, party.country, party.kind) == ("Acme Pte Ltd", "SG", PartyKind.COMPANY)
    for bad in (
        ("bad id!", "N", None, "Company"),
        ("ok", " ", None, "Company"),
        ("ok", "N", "XX", "Company"),
        ("ok", "N", None, "Robot"),
    ):
        with pytest.raises(InvalidInput):
            make_party(*bad)


def test_signing_key_rules() -> None:
    key = make_key("vendor", signer(1).public_key, 3)
    assert check_signing_key(key, "vendor", key.key_id) is key
    with pytest.raises(VerificationError):
        check_signing_key(None, "vendor", "0000000000000000")
    with pytest.raises(VerificationError):
        check_signing_key(key, "other", key.key_id)
    revoked = make_key("vendor", signer(1).public_key, 3).__class__(
        key.key_id, "vendor", key.public_key, 3, revoked_leaf=9
    )
    with pytest.raises(VerificationError):
        check_signing_key(revoked, "vendor", key.key_id)
    with pytest.raises(Conflict):
        check_revocable(revoked, "vendor", key.key_id)
    with pytest.raises(InvalidInput):
        check_revocable(key, "other", key.key_id)
    with pytest.raises(Conflict):
        check_new_key(key)
    with pytest.raises(InvalidInput):
        make_key("vendor", b"short", 0)
