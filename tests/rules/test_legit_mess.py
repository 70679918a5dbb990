"""A legitimate world with realistic mess raises no chip finding: sites the landmarks cannot
separate, reseller stock, licence-free re-exports under a recorded licence exception, RMA repairs.
Each mess next to its smuggling twin, which still fires."""

from __future__ import annotations

from dataclasses import replace

from chiptrail.rules import run_rules
from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.view import Chip, Licence, Site
from chiptrail.types import ChipId, Country, PartyId, Verdict
from tests.rules._world import PARTIES, SITES, ago, ev, fix, party, run, view

SG_DC = Site("site-sg-dc", PartyId("op-sg"), Country("SG"), 1.30, 103.85, 4096, radius_km=20.0)
SG_PARTIES = {**PARTIES, PartyId("op-sg"): party("op-sg", "SG")}
SG_SITES = {**SITES, SG_DC.site_id: SG_DC}


def _sg_installed(chip: str) -> list:  # type: ignore[type-arg]
    return [
        ev(
            1,
            "shipping",
            60,
            [chip],
            "vendor",
            "US",
            destination_party=PartyId("op-sg"),
            destination_country=Country("SG"),
        ),
        ev(2, "receiving", 55, [chip], "op-sg", "SG", site_id=SG_DC.site_id),
        ev(3, "installing", 54, [chip], "op-sg", "SG", site_id=SG_DC.site_id),
    ]


def _unverified(chip: str, days: list[float], radius_km: float, lat: float, lon: float) -> tuple:  # type: ignore[type-arg]
    return tuple(
        fix(chip, d, Verdict.UNVERIFIED, lat, lon, radius_km, site=SG_DC.site_id) for d in days
    )


def test_unseparable_site_is_a_registry_finding_not_a_dark_chip() -> None:
    # Honest chip: answers every 2 days, its proven disk (700 km, covering MY and ID too) holds
    # the site, but no landmark can verify any chip at the site.
    honest = _unverified("sg-1", [40, 30, 20, 10, 2], 700.0, 1.5, 103.5)
    v = view(parties=SG_PARTIES, sites=SG_SITES, events=tuple(_sg_installed("sg-1")), fixes=honest)
    found = run_rules(v)
    assert [f for f in found if f.subject_kind is SubjectKind.CHIP] == []
    [site] = [f for f in found if f.rule == "landmark-needed"]
    assert (site.subject, site.subject_kind) == ("site-sg-dc", SubjectKind.SITE)
    # the planner proposes the nearest declared site of another party (the distributor's
    # warehouse 6 km away), which separates the site from Johor and Batam
    assert "landmark at 1.35, 103.82 (SG, declared site site-sg of dist-sg)" in site.explanation
    [plan] = [e for e in site.evidence if e.ref.startswith("plan:")]
    assert plan.ref == "plan:site-sg-dc:1.3500,103.8200"


def test_the_planner_proposes_a_point_in_the_country_when_no_other_site_is_near() -> None:
    from chiptrail.rules.view import LandmarkPosition

    honest = _unverified("sg-1", [40, 30, 20, 10, 2], 700.0, 1.5, 103.5)
    sites = {k: s for k, s in SG_SITES.items() if k != "site-sg"}
    v = view(parties=SG_PARTIES, sites=sites, events=tuple(_sg_installed("sg-1")), fixes=honest)
    [site] = run("landmark-needed", v)
    [plan] = [e for e in site.evidence if e.ref.startswith("plan:")]
    assert " in SG (a point 5 km from the site)" in plan.detail
    assert "separates 0 of" not in plan.detail
    # a landmark already deployed in Kuala Lumpur separates the far Malaysian places
    kl = LandmarkPosition("lm-kul", 3.14, 101.69, Country("MY"))
    [with_kl] = run("landmark-needed", replace(v, landmarks=(kl,)))
    assert "(0 already separated)" in site.explanation
    assert "(0 already separated)" not in with_kl.explanation


def test_relay_from_far_away_is_still_dark() -> None:
    # Same site, but the chip answers through a relay from Shenzhen: delay widens the disk.
    relayed = _unverified("sg-2", [40, 30, 20, 10, 2], 3200.0, 10.0, 108.0)
    v = view(parties=SG_PARTIES, sites=SG_SITES, events=tuple(_sg_installed("sg-2")), fixes=relayed)
    assert [f.subject for f in run("chip-gone-dark", v)] == ["sg-2"]
    assert run("landmark-needed", v) == []
    # A chip that stopped answering is dark even at an unseparable site.
    silent = _unverified("sg-2", [40, 30, 20], 700.0, 1.5, 103.5)
    v = replace(v, fixes=silent)
    assert [f.subject for f in run("chip-gone-dark", v)] == ["sg-2"]


def test_a_verifiable_site_keeps_the_dark_rule() -> None:
    verified = fix("sg-3", 45, Verdict.VERIFIED, 1.3, 103.85, 50.0, site=SG_DC.site_id)
    later = _unverified("sg-3", [30, 20, 10, 2], 700.0, 1.5, 103.5)
    v = view(
        parties=SG_PARTIES,
        sites=SG_SITES,
        events=tuple(_sg_installed("sg-3")),
        fixes=(verified, *later),
    )
    assert [f.subject for f in run("chip-gone-dark", v)] == ["sg-3"]


def test_reseller_stock_that_verifies_is_not_a_gap() -> None:
    stock = [
        ev(
            1,
            "shipping",
            110,
            ["st-1", "st-2"],
            "vendor",
            "US",
            destination_party=PartyId("dist-sg"),
            destination_country=Country("SG"),
        ),
        ev(2, "receiving", 105, ["st-1", "st-2"], "dist-sg", "SG", site_id="site-sg"),
    ]
    fixes = (fix("st-1", 3, Verdict.VERIFIED, 1.35, 103.82, 30.0, site="site-sg"),)
    v = view(events=tuple(stock), fixes=fixes)
    found = {f.subject for f in run("received-never-installed", v)}
    assert found == {"st-2"}  # st-1 answers from the warehouse; st-2 has vanished


def _reexport(licence_id: str | None) -> list:  # type: ignore[type-arg]
    return [
        ev(
            1,
            "shipping",
            90,
            ["rx-1"],
            "vendor",
            "US",
            destination_party=PartyId("dist-sg"),
            destination_country=Country("SG"),
        ),
        ev(2, "receiving", 85, ["rx-1"], "dist-sg", "SG"),
        ev(
            3,
            "shipping",
            80,
            ["rx-1"],
            "dist-sg",
            "SG",
            destination_party=PartyId("op-jp"),
            destination_country=Country("JP"),
            licence_id=licence_id,
        ),
    ]


def test_licence_free_reexport_under_a_recorded_exception_is_not_flagged() -> None:
    nac = Licence(
        "EXC-NAC-1",
        PartyId("op-jp"),
        Country("JP"),
        (),
        8,
        kind="exception",
        exception_code="NAC",
        valid_from=ago(365),
        holder=PartyId("dist-sg"),
    )
    parties = {**PARTIES, PartyId("op-jp"): party("op-jp", "JP")}
    covered = view(
        parties=parties, events=tuple(_reexport("EXC-NAC-1")), licences={nac.licence_id: nac}
    )
    assert run("hub-reexport", covered) == []
    # Without the record, or after it expired, or to another country: flagged.
    assert len(run("hub-reexport", replace(covered, licences={}))) == 1
    expired = replace(nac, valid_until=ago(100))
    assert len(run("hub-reexport", replace(covered, licences={nac.licence_id: expired}))) == 1
    to_cn = replace(nac, country=Country("CN"))
    cn_events = list(_reexport("EXC-NAC-1"))
    cn_events[2] = replace(cn_events[2], destination_country=Country("CN"))
    cn = replace(covered, events=tuple(cn_events), licences={nac.licence_id: to_cn})
    [critical] = run("hub-reexport", cn)  # an exception never covers a country of concern
    assert critical.subject == "rx-1"


def test_reexport_under_the_orders_licence_with_named_consignee() -> None:
    lic = Licence("L-9", PartyId("op-jp"), Country("JP"), (), 8, consignees=(PartyId("op-jp"),))
    parties = {**PARTIES, PartyId("op-jp"): party("op-jp", "JP")}
    v = view(
        parties=parties,
        events=tuple(_reexport(None)),
        licences={"L-9": lic},
        chips={ChipId("rx-1"): Chip(ChipId("rx-1"), "h100-sxm", "PO-1", "L-9")},
    )
    assert run("hub-reexport", v) == []
    other = replace(lic, end_user=PartyId("dc-jp"), consignees=(PartyId("dc-jp"),))
    assert len(run("hub-reexport", replace(v, licences={"L-9": other}))) == 1


def test_rma_repair_round_trip_raises_no_chip_finding() -> None:
    rma = [
        ev(
            1,
            "shipping",
            100,
            ["r-1"],
            "vendor",
            "US",
            destination_party=PartyId("op-us"),
            destination_country=Country("US"),
        ),
        ev(2, "receiving", 95, ["r-1"], "op-us", "US", site_id="site-sj"),
        ev(3, "installing", 94, ["r-1"], "op-us", "US", site_id="site-sj"),
        ev(
            4,
            "shipping",
            60,
            ["r-1"],
            "op-us",
            "US",
            destination_party=PartyId("rma-tw"),
            destination_country=Country("TW"),
        ),
        ev(5, "receiving", 55, ["r-1"], "rma-tw", "TW"),
        ev(6, "repairing", 50, ["r-1"], "rma-tw", "TW", parts_replaced=("fan",)),
        ev(
            7,
            "shipping",
            45,
            ["r-1"],
            "rma-tw",
            "TW",
            destination_party=PartyId("op-us"),
            destination_country=Country("US"),
        ),
        ev(8, "receiving", 40, ["r-1"], "op-us", "US", site_id="site-sj"),
        ev(9, "installing", 39, ["r-1"], "op-us", "US", site_id="site-sj"),
    ]
    fixes = tuple(fix("r-1", d, Verdict.VERIFIED) for d in (90, 30, 10, 2))
    found = run_rules(view(events=tuple(rma), fixes=fixes))
    assert [(f.rule, f.subject) for f in found if f.subject_kind is SubjectKind.CHIP] == []


def test_payment_from_a_country_of_concern_is_evidence_on_the_buyer() -> None:
    from datetime import timedelta

    from chiptrail.rules.view import Order

    def order(oid: str, pay: str) -> Order:
        return Order(
            oid,
            PartyId("dist-sg"),
            PartyId("vendor"),
            16,
            ago(30) + timedelta(hours=1),
            payment_country=Country(pay),
        )

    v = view(orders=(order("PO-1", "SG"), order("PO-2", "HK"), order("PO-3", "US")))
    [found] = run("payment-from-concern", v)
    assert (found.subject, found.subject_kind) == ("dist-sg", SubjectKind.PARTY)
    assert [e.ref for e in found.evidence] == ["order:PO-2"]
    assert run("payment-from-concern", view(orders=(order("PO-1", "SG"),))) == []


def test_reseller_turnover_over_a_year_is_not_over_capacity() -> None:
    # A distributor's warehouse (capacity 4) received 12 chips over the year and shipped 10 on:
    # 2 are there now. Imports over the year exceed the capacity, presence never did.
    events = []
    for lot in range(3):
        chips = [f"t{lot}-{i}" for i in range(4)]
        base = 300 - 90 * lot
        events.append(ev(10 * lot, "receiving", base, chips, "dist-sg", "SG", site_id="site-sg"))
        leaving = chips if lot < 2 else chips[:2]
        events.append(
            ev(
                10 * lot + 1,
                "shipping",
                base - 20,
                leaving,
                "dist-sg",
                "SG",
                site_id="site-sg",
                destination_party=PartyId("op-us"),
                destination_country=Country("US"),
            )
        )
    found = run_rules(view(events=tuple(events)))
    assert [f for f in found if f.rule in {"capacity-imports", "consignee-capacity"}] == []
    assert [f for f in found if f.subject_kind is SubjectKind.PARTY] == []


def test_a_fleet_at_an_unseparable_site_is_not_a_volume_gap() -> None:
    # 12 chips at the Singapore site the landmarks cannot verify: all answer from it, none
    # verifies. That is landmark-needed for the registry, not a gap on SG, the operator or site.
    chips = [f"sg-{i}" for i in range(12)]
    events = tuple(
        replace(e, chip_ids=tuple(ChipId(c) for c in chips)) for e in _sg_installed("sg-0")
    )
    fixes = tuple(f for c in chips for f in _unverified(c, [40, 30, 20, 10, 2], 700.0, 1.5, 103.5))
    v = view(parties=SG_PARTIES, sites=SG_SITES, events=events, fixes=fixes)
    found = run_rules(v)
    assert [f.rule for f in found] == ["landmark-needed"]
    silent = replace(v, fixes=tuple(f for f in fixes if f.chip_id != "sg-0" or f.at < ago(35)))
    assert run("volume-gap", silent) == []  # 1 chip dark: under the minimum


def test_stated_end_use_kept_through_distributor_rma_and_group_moves() -> None:
    # A certificate names op-us at site-sj for PO-1. The chips come through the Singapore
    # distributor, one goes to the RMA centre and back, one moves to a sister company in the same
    # hall; op-us is a cloud whose certificate states cloud services and rents to
    # tenants abroad. Nothing here contradicts the certificate (the sister company operates in
    # the stated site; installing at another site would: tests/rules/test_enduse.py).
    from chiptrail.rules.view import EndUseStatement, OwnershipEdge, TenancyUsage

    sister = PartyId("sister-us")
    parties = {
        **PARTIES,
        sister: party("sister-us", "US"),
        PartyId("grp"): party("grp", "US"),
        PartyId("tenant-de"): party("tenant-de", "DE"),
    }
    owned = (
        OwnershipEdge(PartyId("grp"), PartyId("op-us"), 1.0),
        OwnershipEdge(PartyId("grp"), sister, 1.0),
    )
    euc = EndUseStatement(
        "EUC-9",
        "end-use-certificate",
        PartyId("op-us"),
        Country("US"),
        ago(130),
        end_use="public cloud services",
        site_id="site-sj",
        order_id="PO-1",
    )
    lot = ["m-1", "m-2"]
    us = {"destination_country": Country("US")}
    events = (
        ev(
            1,
            "shipping",
            120,
            lot,
            "vendor",
            "US",
            destination_party=PartyId("dist-sg"),
            destination_country=Country("SG"),
        ),
        ev(2, "receiving", 115, lot, "dist-sg", "SG", site_id="site-sg"),
        ev(3, "shipping", 112, lot, "dist-sg", "SG", destination_party=PartyId("op-us"), **us),
        ev(4, "receiving", 105, lot, "op-us", "US", site_id="site-sj"),
        ev(5, "installing", 104, lot, "op-us", "US", site_id="site-sj"),
        ev(
            6,
            "shipping",
            80,
            ["m-1"],
            "op-us",
            "US",
            destination_party=PartyId("rma-tw"),
            destination_country=Country("TW"),
        ),
        ev(7, "receiving", 75, ["m-1"], "rma-tw", "TW"),
        ev(8, "repairing", 70, ["m-1"], "rma-tw", "TW", parts_replaced=("fan",)),
        ev(9, "shipping", 65, ["m-1"], "rma-tw", "TW", destination_party=PartyId("op-us"), **us),
        ev(10, "receiving", 60, ["m-1"], "op-us", "US", site_id="site-sj"),
        ev(11, "installing", 59, ["m-1"], "op-us", "US", site_id="site-sj"),
        ev(12, "shipping", 50, ["m-2"], "op-us", "US", destination_party=sister, **us),
        ev(13, "receiving", 47, ["m-2"], "sister-us", "US", site_id="site-sj"),
        ev(14, "installing", 46, ["m-2"], "sister-us", "US", site_id="site-sj"),
    )
    fixes = (
        *(fix("m-1", d, Verdict.VERIFIED) for d in (40, 20, 2)),
        *(fix("m-2", d, Verdict.VERIFIED) for d in (40, 20, 2)),
    )
    chips = {ChipId(c): Chip(ChipId(c), "h100-sxm", "PO-1", "L-1") for c in lot}
    lic = Licence("L-1", PartyId("op-us"), Country("US"), ("site-sj",), 2, valid_from=ago(130))
    rent = TenancyUsage("u-1", PartyId("op-us"), PartyId("tenant-de"), 9000.0, ago(20), ago(1))
    v = view(
        parties=parties,
        ownership=owned,
        events=events,
        fixes=fixes,
        chips=chips,
        end_uses=(euc,),
        usage=(rent,),
        licences={"L-1": lic},
    )
    found = run_rules(v)
    assert [(f.rule, f.subject) for f in found if f.rule.startswith("end-use")] == []
    assert [(f.rule, f.subject) for f in found if f.subject_kind is SubjectKind.CHIP] == []
    # The smuggling twin: the sister company ships m-2 on to a broker: a finding.
    broker = ev(
        15,
        "shipping",
        10,
        ["m-2"],
        "sister-us",
        "US",
        destination_party=PartyId("broker-ae"),
        destination_country=Country("AE"),
    )
    twin = replace(v, events=(*events, broker))
    assert [f.subject for f in run("end-use-contradiction", twin)] == ["m-2"]


def test_an_informed_party_supplied_under_its_licence_raises_nothing() -> None:
    # BIS told the vendor exports to a university lab need a licence; the lab got one (end user
    # and the distributor as consignee) and the chips travel under it: no finding. Chips shipped
    # to it a year before the letter are not judged by it.
    from chiptrail.rules.view import InformedLetter

    lab = PartyId("uni-lab")
    parties = {**PARTIES, lab: party("uni-lab", "IL")}
    letter = InformedLetter("BIS-IS-7", PartyId("vendor"), lab, ago(200))
    lic = Licence("L-77", lab, Country("IL"), (), 16, valid_from=ago(250), consignees=(lab,))
    il = Country("IL")
    events = (
        ev(
            1,
            "shipping",
            400,
            ["u-1"],
            "vendor",
            "US",
            destination_party=lab,
            destination_country=il,
        ),
        ev(
            2,
            "shipping",
            100,
            ["u-2"],
            "vendor",
            "US",
            destination_party=lab,
            destination_country=il,
            licence_id="L-77",
        ),
    )
    v = view(parties=parties, events=events, informed=(letter,), licences={"L-77": lic})
    assert run("is-informed-export", v) == []
