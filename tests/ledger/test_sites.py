"""Declared sites are checked at ingestion: ISO country codes and real coordinates only."""

from __future__ import annotations

import pytest

from chiptrail.errors import InvalidInput
from chiptrail.ledger.sites import check_site_fields
from tests.ledger.helpers import CT

PREFIXES = {"ct": CT}

BAD = [
    ("unassigned country ZZ", {"ct:siteCountry": "ZZ"}, "ct:siteCountry"),
    ("lower-case country", {"ct:siteCountry": "cn"}, "ct:siteCountry"),
    ("country not a string", {"ct:siteCountry": 86}, "ct:siteCountry"),
    ("latitude 137.4", {"ct:siteLat": 137.4, "ct:siteLon": 1.0}, "ct:siteLat"),
    ("longitude -180.5", {"ct:siteLat": 1.0, "ct:siteLon": -180.5}, "ct:siteLon"),
    ("latitude NaN", {"ct:siteLat": "NaN", "ct:siteLon": 1.0}, "ct:siteLat"),
    ("latitude infinite", {"ct:siteLat": float("inf"), "ct:siteLon": 1.0}, "ct:siteLat"),
    ("latitude as boolean", {"ct:siteLat": True, "ct:siteLon": 1.0}, "ct:siteLat"),
    ("latitude as words", {"ct:siteLat": "north", "ct:siteLon": 1.0}, "ct:siteLat"),
    ("latitude without longitude", {"ct:siteLat": 1.0}, "ct:siteLat"),
]


@pytest.mark.parametrize(("fields", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_sites_are_refused(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_site_fields({"type": "ObjectEvent", **fields}, PREFIXES)
    assert err.value.details["field"] == field


GOOD = [
    ("Johor", {"ct:siteCountry": "MY", "ct:siteLat": 1.49, "ct:siteLon": 103.74}),
    ("poles and antimeridian", {"ct:siteLat": -90, "ct:siteLon": 180}),
    ("XML text numbers", {"ct:siteLat": " 22.5 ", "ct:siteLon": "114.1"}),
    ("Kosovo (user-assigned, used in trade data)", {"ct:siteCountry": "XK"}),
    ("no site at all", {}),
]


@pytest.mark.parametrize("fields", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_real_sites_pass(fields: dict[str, object]) -> None:
    check_site_fields({"type": "ObjectEvent", **fields}, PREFIXES)


def test_other_namespaces_are_not_judged() -> None:
    check_site_fields({"other:siteLat": 500}, {"other": "https://example.com/"})
