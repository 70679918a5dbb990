"""The graded rules on hand-built worlds: each new signal; legitimate look-alikes stay below."""

from __future__ import annotations

from collections.abc import Iterable

from chiptrail.rules.baseline import location_signals
from chiptrail.rules.context import RuleContext
from chiptrail.rules.holdings import holdings_signals
from chiptrail.rules.view import (
    Order,
    OwnershipEdge,
    PartyIdentifier,
    Role,
    ScreeningHit,
    TenancyUsage,
    WorldView,
)
from chiptrail.types import PartyId, Verdict
from tests.rules._world import PARTIES, ago, ev, fix, party, run, view

CHIPS = [f"chip-{i}" for i in range(30)]  # one site; a server of 4 is a small share
ROUNDS = [30.0 - 2 * k for k in range(15)]  # every 2 days over the last 30 days


def _installed(chips: Iterable[str] = CHIPS, site: str = "site-sj") -> list:  # type: ignore[type-arg]
    return [ev(1, "installing", 60, list(chips), "op-us", "US", site_id=site)]


def _round(chip: str, days: float, rtt: float = 1.2, verdict: Verdict = Verdict.VERIFIED, **kw):  # type: ignore[no-untyped-def]
    lm = kw.pop("lm", "lm-sj")
    return fix(chip, days, verdict, rtts_ms=((lm, rtt), ("lm-sf", rtt + 1.0)), **kw)


def _fleet(skip: dict[str, set[float]] | None = None, rtt=None, verdicts=None):  # type: ignore[no-untyped-def]
    skip = skip or {}
    out = []
    for c in CHIPS:
        for d in ROUNDS:
            if d in skip.get(c, set()):
                continue
            ms = rtt(c, d) if rtt else 1.2 + 0.1 * (hash((c, d)) % 5)
            v = verdicts(c, d) if verdicts else Verdict.VERIFIED
            out.append(_round(c, d + 0.1 * (CHIPS.index(c) % 3), ms, v))
    return tuple(out)


def _location(v: WorldView) -> list[str]:
    return [f.subject for f in run("location-risk", v)]


def test_honest_fleet_has_no_location_alert() -> None:
    assert _location(view(events=tuple(_installed()), fixes=_fleet())) == []


def test_relay_is_caught_at_its_first_round() -> None:
    fixes = _fleet(
        rtt=lambda c, d: 80.0 if c == "chip-3" and d <= 8 else 1.2,
        verdicts=lambda c, d: Verdict.UNVERIFIED if c == "chip-3" and d <= 8 else Verdict.VERIFIED,
    )
    (found,) = run("location-risk", view(events=tuple(_installed()), fixes=fixes))
    assert found.subject == "chip-3"
    assert found.detected_at == ago(8)  # the first relayed round
    assert "rtt-jump" in found.explanation
    assert any(e.ref.startswith("fix:") for e in found.evidence)


def test_site_wide_network_change_does_not_alert() -> None:
    fixes = _fleet(rtt=lambda c, d: 6.2 if d <= 10 else 1.2)
    v = view(events=tuple(_installed()), fixes=fixes)
    assert _location(v) == []
    assert [s for s in location_signals(RuleContext(v)) if s.signal == "rtt-jump"] == []


def test_six_day_trip_inside_thirty_days_is_caught() -> None:
    fixes = _fleet(skip={"chip-5": {14.0, 12.0, 10.0}})
    (found,) = run("location-risk", view(events=tuple(_installed()), fixes=fixes))
    assert found.subject == "chip-5"
    assert found.detected_at < ago(6)  # long before a 14-day dark deadline could fire


def test_one_missed_round_adds_risk_but_does_not_alert() -> None:
    v = view(events=tuple(_installed()), fixes=_fleet(skip={"chip-5": {14.0}}))
    sig = [s for s in location_signals(RuleContext(v)) if s.subject == "chip-5"]
    assert sig
    assert 0 < max(s.llr for s in sig) < 6.9
    assert _location(v) == []


def test_server_carried_away_together_is_caught_on_two_rounds() -> None:
    away = {14.0, 12.0}
    fixes = _fleet(skip={c: away for c in CHIPS[:4]})
    assert set(_location(view(events=tuple(_installed()), fixes=fixes))) == set(CHIPS[:4])


def test_site_wide_outage_does_not_alert() -> None:
    fixes = _fleet(skip={c: {14.0, 12.0, 10.0} for c in CHIPS})
    assert _location(view(events=tuple(_installed()), fixes=fixes)) == []


def test_rma_repair_with_custody_trail_does_not_alert() -> None:
    trip = {16.0, 14.0, 12.0, 10.0, 8.0}
    events = (
        *_installed(),
        ev(2, "shipping", 17, ["chip-2"], "op-us", "US", destination_party=PartyId("rma-tw")),
        ev(3, "receiving", 15, ["chip-2"], "rma-tw", "TW"),
        ev(4, "repairing", 12, ["chip-2"], "rma-tw", "TW", parts_replaced=("fan",)),
        ev(5, "shipping", 10, ["chip-2"], "rma-tw", "TW", destination_party=PartyId("op-us")),
        ev(6, "receiving", 7.5, ["chip-2"], "op-us", "US", site_id="site-sj"),
        ev(7, "installing", 7, ["chip-2"], "op-us", "US", site_id="site-sj"),
    )
    assert _location(view(events=events, fixes=_fleet(skip={"chip-2": trip}))) == []


def test_relocation_between_own_sites_does_not_alert() -> None:
    events = (
        *_installed(),
        ev(2, "shipping", 15, ["chip-1"], "op-us", "US", destination_party=PartyId("op-us")),
        ev(3, "receiving", 11, ["chip-1"], "op-us", "US", site_id="site-dallas"),
        ev(4, "installing", 10.5, ["chip-1"], "op-us", "US", site_id="site-dallas"),
    )
    fixes = tuple(f for f in _fleet() if not (f.chip_id == "chip-1" and f.at >= ago(15))) + tuple(
        _round("chip-1", d, 9.0, site="site-dallas", lm="lm-dfw") for d in (10, 8, 6, 4, 2)
    )
    assert _location(view(events=events, fixes=fixes)) == []


# --- control beyond 50% ---

LIMIT_H = 250_000.0


def _parties(*extra):  # type: ignore[no-untyped-def]
    return {**PARTIES, **{p.party_id: p for p in extra}}


def _usage(tenant: str, hours: float) -> TenancyUsage:
    return TenancyUsage(f"u-{tenant}", PartyId("cloud"), PartyId(tenant), hours, ago(30), ago(0))


def test_joint_venture_of_china_parents_is_one_controlled_tenant() -> None:
    parties = _parties(
        *(party(p, "CN", Role.HOLDING) for p in ("cn1", "cn2", "cn3")),
        party("hold-sg", "SG", Role.HOLDING),
        party("tenant-my", "MY", Role.TENANT),
    )
    own = (
        OwnershipEdge(PartyId("cn1"), PartyId("hold-sg"), 0.34),
        OwnershipEdge(PartyId("cn2"), PartyId("hold-sg"), 0.33),
        OwnershipEdge(PartyId("cn3"), PartyId("hold-sg"), 0.33),
        OwnershipEdge(PartyId("hold-sg"), PartyId("tenant-my"), 1.0),
    )
    v = view(parties=parties, ownership=own, usage=(_usage("tenant-my", 1.2 * LIMIT_H),))
    assert run("cloud-rental-concern", v) == []  # nobody reaches 50% alone
    (found,) = run("concern-rental-risk", v)
    assert found.subject == "tenant-my"
    assert "cn1" in found.explanation


def test_china_parented_tenant_under_the_limit_stays_below() -> None:
    parties = _parties(party("cn-parent", "CN", Role.HOLDING), party("t-my", "MY", Role.TENANT))
    own = (OwnershipEdge(PartyId("cn-parent"), PartyId("t-my"), 1.0),)
    v = view(parties=parties, ownership=own, usage=(_usage("t-my", 0.3 * LIMIT_H),))
    assert run("concern-rental-risk", v) == []
    (sig,) = [s for s in holdings_signals(RuleContext(v)) if s.signal == "concern-rental"]
    assert 0 < sig.llr < 6.9  # evidence, not an alert


def _listed_view(share: float, identifiers=()):  # type: ignore[no-untyped-def]
    parties = _parties(party("listed-cn", "CN", Role.HOLDING), party("buyer-ae", "AE"))
    own = (OwnershipEdge(PartyId("listed-cn"), PartyId("buyer-ae"), share),) if share else ()
    hit = ScreeningHit(PartyId("listed-cn"), "Entity List", "Listed Co", 0.99, "exact")
    order = Order("o1", PartyId("buyer-ae"), PartyId("vendor"), 8, ago(50), licence_id="L1")
    return view(
        parties=parties,
        ownership=own,
        screening_hits=(hit,),
        orders=(order,),
        identifiers=tuple(identifiers),
    )


def test_minority_listed_stake_alerts_and_small_one_adds_risk() -> None:
    assert run("restricted-party", _listed_view(0.45)) == []  # under the 50% rule
    (found,) = run("control-risk", _listed_view(0.45))
    assert found.subject == "buyer-ae"
    assert found.detected_at == ago(50)
    assert run("control-risk", _listed_view(0.10)) == []
    (sig,) = holdings_signals(RuleContext(_listed_view(0.10)))
    assert sig.signal == "listed-stake"
    assert sig.llr > 0


def test_shared_bank_account_with_listed_party_alerts_shared_address_does_not() -> None:
    def ids(kind: str, a: str, b: str) -> list[PartyIdentifier]:
        return [
            PartyIdentifier(PartyId("listed-cn"), kind, a),
            PartyIdentifier(PartyId("buyer-ae"), kind, b),
        ]

    assert [
        f.subject
        for f in run("control-risk", _listed_view(0, ids("bank_account", "AE07 0331", "ae070331")))
    ] == ["buyer-ae"]
    assert (
        run("control-risk", _listed_view(0, ids("address", "1 Business Bay", "1 business bay")))
        == []
    )


# --- buyers resolved, volume per year ---


def _orders(buyers: list[str], days: list[float], qty: int) -> tuple[Order, ...]:
    return tuple(
        Order(
            f"o{i}", PartyId(b), PartyId("vendor"), qty, ago(d), licence_id=None, site_id=f"s-{b}"
        )
        for i, (b, d) in enumerate(zip(buyers, days, strict=True))
    )


def test_orders_100_days_apart_over_affiliates_add_up() -> None:
    parties = _parties(
        party("parent", "AE", Role.HOLDING), *(party(f"aff{i}", "AE") for i in range(3))
    )
    own = tuple(OwnershipEdge(PartyId("parent"), PartyId(f"aff{i}"), 1.0) for i in range(3))
    orders = _orders(["aff0", "aff1", "aff2"], [300, 200, 100], 900)  # 45% of 2,000 each
    v = view(parties=parties, ownership=own, orders=orders)
    assert run("split-orders", v) == []  # no 180-day window reaches the threshold
    (found,) = run("buyer-volume-risk", v)
    assert found.subject == "parent"
    assert found.detected_at == ago(200)  # the second order: 90% of the limit within a year


def test_shells_sharing_a_director_are_one_buyer() -> None:
    parties = _parties(*(party(f"shell{i}", "AE") for i in range(3)))
    ids = tuple(PartyIdentifier(PartyId(f"shell{i}"), "director", "Ahmed  Khan") for i in range(3))
    orders = _orders(["shell0", "shell1", "shell2"], [300, 200, 100], 900)
    (found,) = run("buyer-volume-risk", view(parties=parties, orders=orders, identifiers=ids))
    assert found.subject == "shell0"
    assert "director" in found.explanation
    assert run("buyer-volume-risk", view(parties=parties, orders=orders)) == []


def test_small_lab_orders_stay_below() -> None:
    orders = _orders(["op-us", "op-us"], [300, 100], 400)
    assert run("buyer-volume-risk", view(orders=orders)) == []
