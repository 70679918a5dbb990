"""end-use-contradiction and end-use-rental: what certificates, declarations and licences state
against custody, verified location and tenancy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.view import (
    Chip,
    CustodyEvent,
    EndUseStatement,
    Licence,
    OwnershipEdge,
    Site,
    TenancyUsage,
)
from chiptrail.types import ChipId, Country, PartyId, Severity, Verdict
from tests.rules._world import PARTIES, ago, ev, fix, party, run, view

OP = PartyId("op-us")
CHIPS = {ChipId(c): Chip(ChipId(c), "h100-sxm", "PO-1") for c in ("e1", "e2")}
EUC = EndUseStatement(
    "EUC-1",
    "end-use-certificate",
    OP,
    Country("US"),
    ago(120),
    end_use="AI training",
    site_id="site-sj",
    order_id="PO-1",
)
PARTIES_X = {
    **PARTIES,
    PartyId("sister-us"): party("sister-us", "US"),
    PartyId("group"): party("group", "US"),
    PartyId("broker-hk"): party("broker-hk", "HK"),
    PartyId("tenant-cn"): party("tenant-cn", "CN"),
    PartyId("tenant-de"): party("tenant-de", "DE"),
}
GROUP = (
    OwnershipEdge(PartyId("group"), OP, 1.0),
    OwnershipEdge(PartyId("group"), PartyId("sister-us"), 0.6),
)


def _delivered() -> list[CustodyEvent]:
    return [
        ev(1, "shipping", 100, ["e1", "e2"], "vendor", "US", destination_party=OP),
        ev(2, "receiving", 95, ["e1", "e2"], "op-us", "US", site_id="site-sj"),
        ev(3, "installing", 94, ["e1", "e2"], "op-us", "US", site_id="site-sj"),
    ]


def _run(*later: CustodyEvent, **kw: object) -> list[str]:
    base: dict[str, object] = {
        "parties": PARTIES_X,
        "ownership": GROUP,
        "chips": CHIPS,
        "end_uses": (EUC,),
        "events": (*_delivered(), *later),
    }
    base.update(kw)
    return sorted(f.subject for f in run("end-use-contradiction", view(**base)))


def test_custody_as_stated_is_no_finding() -> None:
    assert _run() == []


@pytest.mark.parametrize(
    ("later", "fires"),
    [
        (
            ev(
                4,
                "shipping",
                50,
                ["e1"],
                "op-us",
                "US",
                destination_party=PartyId("broker-hk"),
                destination_country=Country("HK"),
            ),
            True,
        ),
        (ev(4, "installing", 50, ["e1"], "broker-hk", "HK", site_id="hk-dc"), True),
        (ev(4, "installing", 50, ["e1"], "op-us", "US", site_id="site-dallas"), True),
        (
            ev(
                4,
                "shipping",
                50,
                ["e1"],
                "op-us",
                "US",
                destination_party=PartyId("sister-us"),
                destination_country=Country("US"),
            ),
            False,
        ),
        (
            ev(
                4,
                "shipping",
                50,
                ["e1"],
                "op-us",
                "US",
                destination_party=PartyId("rma-tw"),
                destination_country=Country("TW"),
            ),
            False,
        ),
        (ev(4, "receiving", 50, ["e1"], "rma-tw", "TW"), False),
    ],
    ids=[
        "shipped on to a broker in HK",
        "installed by another company",
        "installed at another site",
        "moved to a sister company of the group",
        "sent to the RMA repairer",
        "received by the repairer",
    ],
)
def test_custody_that_contradicts_the_certificate(later: CustodyEvent, fires: bool) -> None:
    assert _run(later) == (["e1"] if fires else [])


def test_finding_cites_the_statement_and_the_leaf_and_is_critical_to_a_country_of_concern() -> None:
    out = ev(
        4,
        "shipping",
        50,
        ["e1"],
        "op-us",
        "US",
        destination_party=PartyId("tenant-cn"),
        destination_country=Country("CN"),
    )
    v = view(parties=PARTIES_X, chips=CHIPS, end_uses=(EUC,), events=(*_delivered(), out))
    [found] = run("end-use-contradiction", v)
    assert found.severity is Severity.CRITICAL
    assert found.detected_at == ago(50)
    refs = [e.ref for e in found.evidence]
    assert refs[:2] == ["end-use-certificate:EUC-1", "leaf:4"]
    assert "shipped on to tenant-cn Ltd (tenant-cn, CN) in CN" in found.explanation


def test_a_declaration_binds_its_order_and_a_licence_its_chips() -> None:
    aes = EndUseStatement("ITN-X1", "declaration", OP, Country("US"), ago(110), order_id="PO-1")
    other = ev(4, "installing", 50, ["e1"], "broker-hk", "HK", site_id="hk-dc")
    assert _run(other, end_uses=(aes,)) == ["e1"]
    lic = Licence("L-1", OP, Country("US"), ("site-sj",), 2, valid_from=ago(130))
    chips = {c: replace(x, order_id=None, licence_id="L-1") for c, x in CHIPS.items()}
    assert _run(other, end_uses=(), chips=chips, licences={"L-1": lic}) == ["e1"]
    # the licence's sites are install-off-licence's to check, not this rule's
    moved = ev(4, "installing", 50, ["e1"], "op-us", "US", site_id="site-dallas")
    assert _run(moved, end_uses=(), chips=chips, licences={"L-1": lic}) == []
    # a statement about another order binds nothing
    assert _run(other, end_uses=(replace(aes, order_id="PO-2"),)) == []


def test_verified_in_another_country_contradicts() -> None:
    # The chip is registered at a site in Germany (an unrecorded move): VERIFIED there.
    sites = dict(view().sites)
    sites["site-fra"] = Site("site-fra", OP, Country("DE"), 50.1, 8.7, 100)
    verified = fix("e2", 5, Verdict.VERIFIED, 50.1, 8.7, 80.0, site="site-fra")
    assert _run(fixes=(verified,), sites=sites) == ["e2"]
    # a fix whose proven disk does not hold that site was judged elsewhere: no contradiction
    far = fix("e2", 5, Verdict.VERIFIED, 37.3, -121.9, 80.0, site="site-fra")
    assert _run(fixes=(far,), sites=sites) == []


def _usage(tenant: str, cloud: str = "op-us") -> TenancyUsage:
    return TenancyUsage(f"u-{tenant}", PartyId(cloud), PartyId(tenant), 40_000.0, ago(20), ago(1))


@pytest.mark.parametrize(
    ("end_use", "tenant", "severity"),
    [
        ("AI training", "tenant-de", Severity.MEDIUM),
        ("AI training", "tenant-cn", Severity.HIGH),
        ("cloud services", "tenant-cn", None),
        ("AI training", "sister-us", None),
        (None, "tenant-de", None),
    ],
    ids=[
        "own use stated, rented to a German tenant",
        "own use stated, rented to a Chinese tenant",
        "cloud use stated",
        "rented inside its group",
        "no end use stated",
    ],
)
def test_rental_against_a_stated_own_use(
    end_use: str | None, tenant: str, severity: Severity | None
) -> None:
    v = view(
        parties=PARTIES_X,
        ownership=GROUP,
        end_uses=(replace(EUC, end_use=end_use),),
        usage=(_usage(tenant),),
    )
    found = run("end-use-rental", v)
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        assert (found[0].subject, found[0].subject_kind) == ("op-us", SubjectKind.PARTY)
        assert {e.ref for e in found[0].evidence} == {
            "end-use-certificate:EUC-1",
            f"usage:u-{tenant}",
        }


def test_rental_is_judged_over_the_group_and_the_window() -> None:
    # The sister company rents out; the group's only statement says own use.
    v = view(
        parties=PARTIES_X,
        ownership=GROUP,
        end_uses=(EUC,),
        usage=(_usage("tenant-de", cloud="sister-us"),),
    )
    assert [f.subject for f in run("end-use-rental", v)] == ["op-us"]
    # A cloud-use statement anywhere in the group covers the rental.
    cloud = replace(
        EUC, statement_id="EUC-2", end_user=PartyId("sister-us"), end_use="GPU cloud hosting"
    )
    assert run("end-use-rental", replace(v, end_uses=(EUC, cloud))) == []
    # Tenancy that ended before the window does not count.
    old = replace(_usage("tenant-de"), start_at=ago(90), end_at=ago(60))
    assert run("end-use-rental", replace(v, usage=(old,))) == []
