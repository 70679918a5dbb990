"""Issue 15's custody attacks, replayed through the service on every engine.

A party signing with its own, valid key tries to take over, retire or move another party's chip,
or to log a site that is not on Earth. Each is refused (nothing stored) or logged with an anomaly
that changes nothing; never silently accepted.
"""

from __future__ import annotations

import pytest

from chiptrail.errors import ChiptrailError, InvalidInput, PermissionDenied
from chiptrail.service.ledger import events as svc
from chiptrail.store.database import Database
from tests.ledger.helpers import chip, event
from tests.store.test_ledger_store import _setup, _size, _submit

REFUSED = [
    ("commissioning B's chip makes A custodian", "commissioning", PermissionDenied),
    ("decommissioning retires B's chip", "decommissioning", PermissionDenied),
    ("shipping B's chip away", "shipping", PermissionDenied),
]


@pytest.mark.parametrize(("step", "error"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_takeovers_are_refused_and_store_nothing(
    database: Database, step: str, error: type[ChiptrailError]
) -> None:
    _setup(database)
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    size = _size(database)
    with pytest.raises(error):
        _submit(database, "other", 4, "n-000002", event(step, [chip(1)], destination="other"))
    assert _size(database) == size
    view = svc.get_chip(database, chip(1))
    assert (view.state.custodian, view.state.status.value) == ("vendor", "commissioned")
    assert svc.list_custody_anomalies(database) == []


LOGGED = [
    ("receiving with no shipment", "receiving", None, "received-without-shipment"),
    (
        "repairing with ct:siteCountry CN",
        "repairing",
        ("CN", 22.54, 114.06, "Shenzhen"),
        "repaired-without-custody",
    ),
]


@pytest.mark.parametrize(
    ("step", "site", "kind"), [c[1:] for c in LOGGED], ids=[c[0] for c in LOGGED]
)
def test_claims_on_anothers_chip_are_logged_flagged_and_move_nothing(
    database: Database, step: str, site: tuple[str, float, float, str] | None, kind: str
) -> None:
    _setup(database)
    us = ("US", 37.4, -122.1, "Fab 1")
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)], site=us))
    result = _submit(database, "other", 4, "n-000002", event(step, [chip(1)], site=site))
    assert result.appended == 1
    assert [(a.kind.value, a.subject) for a in result.anomalies] == [(kind, chip(1))]
    view = svc.get_chip(database, chip(1))
    assert view.state.custodian == "vendor"
    assert view.state.site is not None
    assert view.state.site.country == "US"
    assert [a.kind.value for a in view.anomalies] == [kind]


BAD_SITES = [
    ("ct:siteCountry ZZ", {"ct:siteCountry": "ZZ"}),
    ("ct:siteLat 137.4", {"ct:siteLat": 137.4, "ct:siteLon": 10.0}),
]


@pytest.mark.parametrize("fields", [b[1] for b in BAD_SITES], ids=[b[0] for b in BAD_SITES])
def test_bad_sites_never_enter_the_log(database: Database, fields: dict[str, object]) -> None:
    _setup(database)
    size = _size(database)
    raw = {**event("commissioning", [chip(1)]), **fields}
    with pytest.raises(InvalidInput) as err:
        _submit(database, "vendor", 1, "n-000001", raw)
    assert err.value.details["envelope"] == 0
    assert _size(database) == size
