"""Say what cannot be verified: chips that keep answering from their declared site, but whose
site the landmarks cannot separate from its neighbours (a registry finding, not a dark chip).

No I/O: fixes and declared sites come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from chiptrail.rules.context import RuleContext, distance_km
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.landmark_plan import SiteProposal, plan_site_landmark
from chiptrail.rules.view import CustodyEvent, LocationFix, Site
from chiptrail.types import ChipId, Severity, Verdict


def answers_from_site(fix: LocationFix, site: Site, max_radius_km: float) -> bool:
    """True when ``fix`` is unverified only for lack of resolution: the site lies inside its
    proven disk and the disk is no wider than ``max_radius_km`` (an honest chip's RTTs to the
    nearest landmarks). A relay from far away adds delay and so widens the disk past that bound.
    """
    if fix.verdict is not Verdict.UNVERIFIED or fix.radius_km > max_radius_km:
        return False
    gap = distance_km(fix.lat, fix.lon, site.lat, site.lon)
    return gap <= fix.radius_km + site.radius_km


def is_unverifiable_not_dark(
    ctx: RuleContext, chip: ChipId, install: CustodyEvent, since_verified: datetime
) -> bool:
    """True when the chip's site was never verified for any chip (the landmarks cannot separate it
    from its neighbours), and every fix of ``chip`` since its install answers from the site
    (``answers_from_site``), the latest within ``dark_after_days``: the chip is present but
    unverifiable, which is the landmark deployment's gap, not the chip's."""
    site = ctx.view.sites.get(install.site_id or "")
    if site is None or site.site_id in ctx.verified_sites:
        return False
    later = [f for f in ctx.fixes_by_chip.get(chip, []) if f.at > since_verified]
    if not later or ctx.view.now - later[-1].at > timedelta(days=ctx.config.dark_after_days):
        return False
    limit = ctx.config.unverifiable_radius_km
    return all(answers_from_site(f, site, limit) for f in later)


def _install_of(ctx: RuleContext, chip: ChipId) -> CustodyEvent | None:
    for ev in reversed(ctx.events_by_chip.get(chip, [])):
        if ev.biz_step == "installing":
            return ev
        if ev.biz_step in {"shipping", "receiving", "decommissioning", "repairing"}:
            return None
    return None


def find_landmark_needed(ctx: RuleContext) -> list[Finding]:
    """A declared site whose chips answer from it but cannot be verified: a landmark is needed.

    When installed chips keep answering with RTTs consistent with their declared site (the site
    inside every proven disk since their last VERIFIED fix, disks no wider than
    ``unverifiable_radius_km``) yet never verify, the landmark set cannot separate the site from
    its neighbours (Singapore from Johor and Batam, say). That is the registry's finding, on the
    site, with the place the landmark planner (``geoloc.planning.propose_landmark``) proposes: of
    the declared sites of other parties near it, then points near the site in its country, then
    the site itself, the one that separates it from the most neighbouring places (other
    countries' sites and points within the chips' proven radius) that the deployed landmarks
    leave open; the chips are not reported dark.
    """
    by_site: dict[str, list[tuple[ChipId, LocationFix]]] = defaultdict(list)
    for chip in ctx.events_by_chip:
        install = _install_of(ctx, chip)
        if install is None:
            continue
        fixes = ctx.fixes_by_chip.get(chip, [])
        verified = [f for f in fixes if f.verdict is Verdict.VERIFIED and f.at >= install.at]
        since = verified[-1].at if verified else install.at
        if ctx.view.now - since <= timedelta(days=ctx.config.dark_after_days):
            continue
        if is_unverifiable_not_dark(ctx, chip, install, since):
            by_site[install.site_id or ""].append((chip, fixes[-1]))
    out = []
    for site_id, chips in sorted(by_site.items()):
        site = ctx.view.sites[site_id]
        radii = sorted(f.radius_km for _, f in chips)
        median = radii[len(radii) // 2]
        plan = plan_site_landmark(ctx, site, median)
        where = f"{plan.lat:.2f}, {plan.lon:.2f} ({plan.country or 'at sea'}, {plan.host})"
        out.append(
            Finding(
                rule="landmark-needed",
                channel="hand_carry",
                severity=Severity.LOW,
                subject=site_id,
                subject_kind=SubjectKind.SITE,
                detected_at=max(f.at for _, f in chips),
                explanation=(
                    f"{len(chips)} chip(s) at site {site_id} ({site.country}) answer from it but "
                    f"cannot be verified: their proven regions (median radius {median:,.0f} km) "
                    f"also cover neighbouring countries. The landmark planner proposes a "
                    f"landmark at {where}: it separates {plan.separated} of the "
                    f"{plan.neighbours} neighbouring places the deployed landmarks leave open "
                    f"({plan.already} already separated); until then the chips are present but "
                    "unverifiable, not dark."
                ),
                evidence=(
                    Evidence(
                        EvidenceKind.AGGREGATE,
                        f"site:{site_id}",
                        f"declared at {site.lat:.4f}, {site.lon:.4f} radius {site.radius_km:g} km "
                        f"by {site.operator}",
                    ),
                    _plan_evidence(plan),
                    *(
                        Evidence(
                            EvidenceKind.MEASUREMENT,
                            f"fix:{f.fix_id}",
                            f"{chip} {f.at:%Y-%m-%d} UNVERIFIED radius {f.radius_km:,.0f} km",
                        )
                        for chip, f in chips[:5]
                    ),
                ),
            )
        )
    return out


def _plan_evidence(plan: SiteProposal) -> Evidence:
    close = (
        f"; too close to separate: {', '.join(plan.unseparable[:3])}" if plan.unseparable else ""
    )
    return Evidence(
        EvidenceKind.AGGREGATE,
        f"plan:{plan.site_id}:{plan.lat:.4f},{plan.lon:.4f}",
        f"proposed landmark at {plan.lat:.4f}, {plan.lon:.4f} in {plan.country or '-'} "
        f"({plan.host}); separates {plan.separated} of {plan.neighbours} neighbouring places"
        f"{close}",
    )
