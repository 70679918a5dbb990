"""Declared end use vs observed (channels ``transshipment`` and ``cloud_rental``): what an
end-user certificate, export declaration or licence states about chips, against their custody,
verified location and the end user's cloud tenancy.

No I/O: statements, licences, custody events, fixes and tenancy come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from chiptrail.rules.context import RuleContext, distance_km
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import (
    CustodyEvent,
    EndUseStatement,
    LocationFix,
    Role,
    TenancyUsage,
)
from chiptrail.types import ChipId, PartyId, Severity, Verdict

CLOUD_END_USE_WORDS = ("cloud", "hosting", "rental", "iaas", "as a service", "colocation")
"""Words of a stated end use that declare renting compute to others."""

_HOLDS = frozenset({"receiving", "installing"})


def declares_cloud(end_use: str | None) -> bool:
    """True when the stated end use says the chips serve others (cloud, hosting, rental)."""
    text = (end_use or "").lower()
    return any(word in text for word in CLOUD_END_USE_WORDS)


def _statement_evidence(s: EndUseStatement) -> Evidence:
    site = f", site {s.site_id}" if s.site_id else ""
    use = f", end use '{s.end_use}'" if s.end_use else ""
    binds = f"order {s.order_id}" if s.order_id else f"licence {s.licence_id}"
    return Evidence(
        EvidenceKind.ORDER,
        f"{s.source}:{s.statement_id}",
        f"{s.stated_at:%Y-%m-%d} {s.source} {s.statement_id} for {binds}: end user "
        f"{s.end_user} in {s.country}{site}{use}",
    )


def statements(ctx: RuleContext) -> list[EndUseStatement]:
    """Certificates and declarations in the view, plus each licence as a statement of its end
    user and country (its sites are ``install-off-licence``'s to check)."""
    out = list(ctx.view.end_uses)
    for lic in ctx.view.licences.values():
        out.append(
            EndUseStatement(
                lic.licence_id,
                "licence",
                lic.end_user,
                lic.country,
                lic.valid_from or ctx.view.now,
                licence_id=lic.licence_id,
            )
        )
    return sorted(out, key=lambda s: (s.stated_at, s.source, s.statement_id))


def _bound_chips(ctx: RuleContext) -> dict[ChipId, list[EndUseStatement]]:
    by_order: dict[str, list[ChipId]] = defaultdict(list)
    by_licence: dict[str, list[ChipId]] = defaultdict(list)
    for chip in ctx.view.chips.values():
        if chip.order_id:
            by_order[chip.order_id].append(chip.chip_id)
        if chip.licence_id:
            by_licence[chip.licence_id].append(chip.chip_id)
    out: dict[ChipId, list[EndUseStatement]] = defaultdict(list)
    for s in statements(ctx):
        chips = by_order.get(s.order_id, []) if s.order_id else by_licence.get(s.licence_id or "")
        for chip_id in chips or ():
            out[chip_id].append(s)
    return out


@dataclass(frozen=True, slots=True)
class Contradiction:
    """One observation that contradicts a statement, with the evidence that shows it."""

    statement: EndUseStatement
    what: str
    evidence: Evidence
    country: str


class _Group:
    """Who counts as the end user: itself and every party sharing an ultimate parent with it."""

    def __init__(self, ctx: RuleContext, end_user: PartyId) -> None:
        self.ctx = ctx
        self.parents = set(ctx.ultimate_parents(end_user))

    def __contains__(self, party: object) -> bool:
        return isinstance(party, str) and bool(
            self.parents & set(self.ctx.ultimate_parents(PartyId(party)))
        )

    def passes(self, party: PartyId | None) -> bool:
        """True for the group and for repairers (an RMA round trip is not a diversion)."""
        if party is None or party in self:
            return True
        known = self.ctx.view.parties.get(party)
        return known is not None and known.role is Role.REPAIRER


def _custody_contradictions(
    ctx: RuleContext, s: EndUseStatement, events: list[CustodyEvent]
) -> Iterator[Contradiction]:
    group = _Group(ctx, s.end_user)
    held = False
    for ev in events:
        if ev.biz_step == "installing":
            if ev.party_id not in group:
                what = f"installed by {ctx.party_label(ev.party_id)}"
                yield Contradiction(s, what, ledger_evidence(ev), ev.country)
            elif ev.country != s.country or (
                s.site_id and s.source != "licence" and ev.site_id != s.site_id
            ):
                where = f"site {ev.site_id or '-'} in {ev.country}"
                yield Contradiction(s, f"installed at {where}", ledger_evidence(ev), ev.country)
        if held and ev.biz_step == "shipping" and not group.passes(ev.destination_party):
            dest = ctx.party_label(ev.destination_party) if ev.destination_party else "?"
            what = f"shipped on to {dest} in {ev.destination_country or '?'}"
            yield Contradiction(s, what, ledger_evidence(ev), ev.destination_country or "")
        elif held and ev.biz_step == "receiving" and not group.passes(ev.party_id):
            what = f"received by {ctx.party_label(ev.party_id)}"
            yield Contradiction(s, what, ledger_evidence(ev), ev.country)
        held = held or (ev.biz_step in _HOLDS and ev.party_id in group)


def _location_contradiction(
    ctx: RuleContext, s: EndUseStatement, fixes: list[LocationFix]
) -> Contradiction | None:
    verified = [f for f in fixes if f.verdict is Verdict.VERIFIED and f.at >= s.stated_at]
    if not verified:
        return None
    last = verified[-1]
    site = ctx.view.sites.get(last.site_id or "")
    if site is None or site.country == s.country:
        return None
    if distance_km(last.lat, last.lon, site.lat, site.lon) > last.radius_km + site.radius_km:
        return None  # the fix's proven disk does not hold that site: it was judged elsewhere
    detail = f"{last.chip_id} {last.at:%Y-%m-%d} VERIFIED at site {site.site_id} in {site.country}"
    evidence = Evidence(EvidenceKind.MEASUREMENT, f"fix:{last.fix_id}", detail)
    what = f"verified at site {site.site_id} in {site.country}"
    return Contradiction(s, what, evidence, site.country)


def find_end_use_contradictions(ctx: RuleContext) -> list[Finding]:
    """A chip's custody or verified location contradicts the end use stated for it.

    An end-user certificate or an export declaration (AES/EEI: the ultimate consignee) binds the
    chips of its order (else of its licence); a licence binds the chips sold under it. Each
    names an end user and a country (a certificate or declaration may name a site). It is
    contradicted when a chip is installed by a party outside the end user's group (the end user
    and every party sharing an ultimate parent with it), installed in another country or at
    another stated site, shipped on or received outside the group once the group held it (a
    repairer's RMA round trip excepted), or VERIFIED at a site in another country. Critical
    when the chip ends up in a country of concern.
    """
    bound = _bound_chips(ctx)
    concern = ctx.config.countries_of_concern
    out = []
    for chip, stated in sorted(bound.items()):
        events = ctx.events_by_chip.get(chip, [])
        found: list[Contradiction] = []
        for s in stated:
            found += _custody_contradictions(ctx, s, events)
            loc = _location_contradiction(ctx, s, ctx.fixes_by_chip.get(chip, []))
            found += [loc] if loc else []
        if not found:
            continue
        first = found[0]
        worst = Severity.CRITICAL if any(c.country in concern for c in found) else Severity.HIGH
        stated_ev = {c.statement.statement_id: _statement_evidence(c.statement) for c in found}
        seen = {c.evidence.ref: c.evidence for c in found}
        whats = list(dict.fromkeys(c.what for c in found))
        out.append(
            Finding(
                rule="end-use-contradiction",
                channel="transshipment",
                severity=worst,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=_detected_at(ctx, found),
                explanation=(
                    f"{first.statement.source} {first.statement.statement_id} names "
                    f"{ctx.party_label(first.statement.end_user)} in {first.statement.country} "
                    f"as end user, but the chip was {'; '.join(whats[:3])}."
                ),
                evidence=(*stated_ev.values(), *list(seen.values())[:5]),
            )
        )
    return out


def _detected_at(ctx: RuleContext, found: list[Contradiction]) -> datetime:
    leaves = {e.leaf_index: e.at for e in ctx.view.events}
    times = [leaves[c.evidence.leaf_index] for c in found if c.evidence.leaf_index in leaves] or [
        f.at for f in ctx.view.fixes if f"fix:{f.fix_id}" in {c.evidence.ref for c in found}
    ]
    return min(times) if times else ctx.view.now


def find_end_use_rentals(ctx: RuleContext) -> list[Finding]:
    """An end user that stated its own use rents its compute to other companies.

    Every certificate or declaration of the end user (and of its group: parties sharing an
    ultimate parent) states an end use, none of them cloud, hosting or rental; yet the end user
    (or its group) reports cloud tenancy to tenants outside the group in the last
    ``rental_window_days``. High when a tenant's ultimate parent is in a country of concern.
    """
    window = ctx.view.now - timedelta(days=ctx.config.rental_window_days)
    by_user: dict[PartyId, list[EndUseStatement]] = defaultdict(list)
    for s in ctx.view.end_uses:
        by_user[s.end_user].append(s)
    out = []
    for user, stated in sorted(by_user.items()):
        group = _Group(ctx, user)
        own = [s for st in by_user.values() for s in st if s.end_user in group]
        if any(not s.end_use or declares_cloud(s.end_use) for s in own):
            continue
        rented = [
            u
            for u in ctx.view.usage
            if u.cloud in group and u.tenant not in group and u.end_at >= window
        ]
        if not rented:
            continue
        out.append(_rental_finding(ctx, user, stated, rented))
    return out


def _rental_finding(
    ctx: RuleContext, user: PartyId, stated: list[EndUseStatement], rented: list[TenancyUsage]
) -> Finding:
    concern = ctx.config.countries_of_concern
    parents = {p for u in rented for p in ctx.ultimate_parents(u.tenant)}
    risky = any(
        (party := ctx.view.parties.get(p)) is not None and party.country in concern for p in parents
    )
    hours = sum(u.chip_hours for u in rented)
    tenants = sorted({u.tenant for u in rented})
    return Finding(
        rule="end-use-rental",
        channel="cloud_rental",
        severity=Severity.HIGH if risky else Severity.MEDIUM,
        subject=user,
        subject_kind=SubjectKind.PARTY,
        detected_at=min(u.start_at for u in rented),
        explanation=(
            f"{ctx.party_label(user)} stated end use '{stated[0].end_use}' "
            f"({stated[0].source} {stated[0].statement_id}), yet rented {hours:,.0f} chip-hours "
            f"to {len(tenants)} tenant(s) outside its group: {', '.join(tenants[:3])}."
        ),
        evidence=(
            *(_statement_evidence(s) for s in stated[:2]),
            *(
                Evidence(
                    EvidenceKind.USAGE,
                    f"usage:{u.record_id}",
                    f"{u.cloud} -> {u.tenant}: {u.chip_hours:,.0f} chip-hours "
                    f"{u.start_at:%Y-%m-%d}..{u.end_at:%Y-%m-%d}",
                )
                for u in rented[:3]
            ),
        ),
    )
