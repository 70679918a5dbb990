"""Volume gap (channel ``volume_gap``): chips the ledger places in a country, with a buyer, at a
site or under one ultimate parent, vs chips attesting from there.

No I/O: custody events, orders, fixes, sites and ownership edges come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.unverifiable import is_unverifiable_not_dark
from chiptrail.rules.view import CustodyEvent
from chiptrail.types import ChipId, PartyId, Severity, Verdict


@dataclass(frozen=True, slots=True)
class Placed:
    """A chip whose custody ends in ``country`` (past its deadline), and how it attests.

    ``attesting``: a VERIFIED fix at a site in the country within ``dark_after_days``, or present
    at a site the landmarks cannot verify (``rules/unverifiable.py``). ``ever``: any VERIFIED fix
    in the country since its custody ended there.
    """

    chip: ChipId
    country: str
    last: CustodyEvent
    buyer: PartyId
    attesting: bool
    ever: bool


def _expected_country(ctx: RuleContext, events: list[CustodyEvent]) -> str | None:
    """The country a chip should attest from now, or None when it is not expected to yet."""
    last = events[-1]
    age = ctx.view.now - last.at
    entered = any(
        e.biz_step == "shipping" and e.destination_country == last.country for e in events
    )
    if not entered:
        return None
    if last.biz_step == "installing" and age > timedelta(days=ctx.config.dark_after_days):
        return last.country
    if last.biz_step == "receiving" and age > timedelta(days=ctx.config.install_within_days):
        return last.country
    return None


def placed_chips(ctx: RuleContext) -> list[Placed]:
    """Every chip the ledger places in a country past its deadline, with how it attests.

    The buyer is the buyer of the chip's order, else the party of its last custody event.
    """
    recent = ctx.view.now - timedelta(days=ctx.config.dark_after_days)
    buyer_of = {o.order_id: o.buyer for o in ctx.view.orders}
    out = []
    for chip, events in ctx.events_by_chip.items():
        country = _expected_country(ctx, events)
        if country is None:
            continue
        last = events[-1]
        in_country = [
            f
            for f in ctx.fixes_by_chip.get(chip, [])
            if f.verdict is Verdict.VERIFIED
            and f.at >= last.at
            and (site := ctx.view.sites.get(f.site_id or "")) is not None
            and site.country == country
        ]
        attesting = any(f.at >= recent for f in in_country) or (
            last.biz_step == "installing" and is_unverifiable_not_dark(ctx, chip, last, last.at)
        )
        record = ctx.view.chips.get(chip)
        buyer = buyer_of.get(record.order_id or "") if record else None
        out.append(Placed(chip, country, last, buyer or last.party_id, attesting, bool(in_country)))
    return out


def _gap(
    ctx: RuleContext,
    chips: list[Placed],
    missing: list[Placed],
    *,
    subject: str,
    kind: SubjectKind,
    ref: str,
    where: str,
) -> Finding | None:
    cfg = ctx.config
    gap = len(missing)
    if gap < cfg.volume_gap_min_chips or gap < cfg.volume_gap_fraction * len(chips):
        return None
    summary = Evidence(
        EvidenceKind.AGGREGATE,
        ref,
        f"{len(chips)} chips {where} per the ledger, {len(chips) - gap} attesting "
        f"in the last {cfg.dark_after_days:g} days, {gap} missing",
    )
    samples = sorted(missing, key=lambda p: p.chip)[:5]
    return Finding(
        rule="volume-gap",
        channel="volume_gap",
        severity=Severity.HIGH,
        subject=subject,
        subject_kind=kind,
        detected_at=ctx.view.now,
        explanation=(
            f"{gap} of {len(chips)} chips {where} ({gap / len(chips):.0%}) do not attest "
            "from there."
        ),
        evidence=(summary, *(ledger_evidence(p.last) for p in samples)),
    )


def find_volume_gaps(ctx: RuleContext) -> list[Finding]:
    """Fewer chips attest than the custody ledger says were delivered: per country, buyer, site
    and ultimate parent.

    Chips whose custody ends in a country (received past the install deadline, or installed
    past the attestation deadline) are reconciled against chips attesting from there: a
    VERIFIED fix at a site in that country within ``dark_after_days``, or present at a site the
    landmarks cannot verify (``landmark-needed``). Per country, every chip that does not attest
    is missing. Per buyer (the chip's order's buyer, else its custodian), per site (a finding on
    the site's operator) and per ultimate parent of the buyer (50% rule, through any chain), a
    chip is missing when it does not attest and never verified there since its custody ended
    there: chips declared delivered that never once answered. A gap of at least
    ``volume_gap_min_chips`` and ``volume_gap_fraction`` of the expected count is flagged.
    """
    placed = placed_chips(ctx)
    out: list[Finding] = []
    by_country: dict[str, list[Placed]] = defaultdict(list)
    for p in placed:
        by_country[p.country].append(p)
    for country, chips in sorted(by_country.items()):
        missing = [p for p in chips if not p.attesting]
        found = _gap(
            ctx,
            chips,
            missing,
            subject=country,
            kind=SubjectKind.COUNTRY,
            ref=f"volume:{country}",
            where=f"held in {country}",
        )
        out += [found] if found else []
    out += _party_gaps(ctx, placed)
    return out


def _party_gaps(ctx: RuleContext, placed: list[Placed]) -> list[Finding]:
    """Gaps per buyer, per site (on its operator) and per ultimate parent of the buyer."""
    groups: dict[tuple[str, str], list[Placed]] = defaultdict(list)
    for p in placed:
        groups[("buyer", p.buyer)].append(p)
        if p.last.site_id:
            groups[("site", p.last.site_id)].append(p)
        for parent in ctx.ultimate_parents(p.buyer):
            if parent != p.buyer:
                groups[("parent", parent)].append(p)
    by_subject: dict[str, list[Finding]] = defaultdict(list)
    for (level, key), chips in sorted(groups.items()):
        missing = [p for p in chips if not p.attesting and not p.ever]
        subject, where = PartyId(key), f"bought by {ctx.party_label(PartyId(key))}"
        if level == "site":
            site = ctx.view.sites.get(key)
            if site is None:
                continue
            subject = site.operator
            where = f"at site {key} ({site.country}) of {ctx.party_label(site.operator)}"
        elif level == "parent":
            where = f"bought by companies controlled by {ctx.party_label(subject)}"
        found = _gap(
            ctx,
            chips,
            missing,
            subject=subject,
            kind=SubjectKind.PARTY,
            ref=f"volume:{level}:{key}",
            where=where,
        )
        if found:
            by_subject[found.subject].append(found)
    return [_merge(found) for _, found in sorted(by_subject.items())]


def _merge(found: list[Finding]) -> Finding:
    """One finding per party: the gaps of its levels (buyer, site, parent) side by side."""
    if len(found) == 1:
        return found[0]
    evidence = {e.ref: e for f in found for e in f.evidence}
    return replace(
        found[0],
        explanation=" ".join(f.explanation for f in found),
        evidence=tuple(evidence.values()),
    )
