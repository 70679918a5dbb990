"""Small hand-built worlds for rule tests: a few parties, sites, events and fixes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chiptrail.rules import RULES, Finding, WorldView
from chiptrail.rules.context import RuleContext
from chiptrail.rules.view import (
    AddressKind,
    Chip,
    CustodyEvent,
    Licence,
    LocationFix,
    Order,
    OwnershipEdge,
    Party,
    Role,
    Site,
    TenancyUsage,
)
from chiptrail.types import ChipId, Country, PartyId, Verdict

NOW = datetime(2026, 6, 1, tzinfo=UTC)
VENDOR = PartyId("vendor")
OPERATOR = PartyId("op-us")
DISTRIBUTOR = PartyId("dist-sg")


def ago(days: float) -> datetime:
    """``days`` before NOW."""
    return NOW - timedelta(days=days)


def party(pid: str, country: str, role: Role = Role.OPERATOR, **kw: object) -> Party:
    """A party incorporated long ago at an office address unless told otherwise."""
    fields: dict[str, object] = {"incorporated_at": ago(3000), "address_kind": AddressKind.OFFICE}
    fields.update(kw)
    return Party(PartyId(pid), f"{pid} Ltd", Country(country), role, **fields)  # type: ignore[arg-type]


PARTIES = {
    p.party_id: p
    for p in (
        party("vendor", "US", Role.VENDOR),
        party("op-us", "US"),
        party("dist-sg", "SG", Role.DISTRIBUTOR),
        party("shop-cn", "CN", Role.REPAIRER),
        party("shop-my", "MY", Role.REPAIRER),
        party("rma-tw", "TW", Role.REPAIRER),
    )
}
SITES = {
    s.site_id: s
    for s in (
        Site("site-sj", OPERATOR, Country("US"), 37.34, -121.89, 100),
        Site("site-dallas", OPERATOR, Country("US"), 32.78, -96.80, 100),
        Site("site-sg", DISTRIBUTOR, Country("SG"), 1.35, 103.82, 4),
    )
}


def ev(
    leaf: int,
    step: str,
    days_ago: float,
    chips: Sequence[str],
    by: str,
    country: str,
    **kw: object,
) -> CustodyEvent:
    """A custody event ``days_ago`` before NOW."""
    return CustodyEvent(
        leaf_index=leaf,
        event_id=f"e{leaf}",
        biz_step=step,
        at=ago(days_ago),
        chip_ids=tuple(ChipId(c) for c in chips),
        party_id=PartyId(by),
        country=Country(country),
        **kw,  # type: ignore[arg-type]
    )


def fix(
    chip: str,
    days_ago: float,
    verdict: Verdict,
    lat: float = 37.34,
    lon: float = -121.89,
    radius_km: float = 200.0,
    site: str = "site-sj",
    **kw: object,
) -> LocationFix:
    """A location fix of ``chip`` (default: verified-looking, at San Jose)."""
    return LocationFix(
        fix_id=f"{chip}-{days_ago}",
        chip_id=ChipId(chip),
        at=ago(days_ago),
        verdict=verdict,
        site_id=site,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        **kw,  # type: ignore[arg-type]
    )


def view(**kw: object) -> WorldView:
    """A view at NOW with the default parties and sites; keywords replace fields."""
    base = WorldView(now=NOW, parties=PARTIES, sites=SITES)
    return replace(base, **kw)  # type: ignore[arg-type]


def run(rule_id: str, v: WorldView) -> list[Finding]:
    """Run one rule by id."""
    rule = next(r for r in RULES if r.rule_id == rule_id)
    return rule.fn(RuleContext(v))


__all__ = [
    "Chip",
    "Licence",
    "Order",
    "OwnershipEdge",
    "TenancyUsage",
]
