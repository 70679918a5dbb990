"""Cloud rental (channel ``cloud_rental``): tenant chip-hours aggregated by ultimate parent.

No I/O: usage records and the ownership graph come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.view import TenancyUsage
from chiptrail.types import PartyId, Severity


def find_cloud_rental_concern(ctx: RuleContext) -> list[Finding]:
    """Tenants controlled from a country of concern rent large accelerator capacity.

    Usage that clouds report is grouped by each tenant's ultimate parents (50%-or-more control,
    ``chiptrail.parties.graph``);
    when that parent is headquartered in a country of concern and its tenants together used more
    than ``rental_threshold_chip_hours`` in the last ``rental_window_days``, the parent is flagged,
    even if every single tenant stays under the threshold.
    """
    cfg = ctx.config
    since = ctx.view.now - timedelta(days=cfg.rental_window_days)
    groups: dict[PartyId, list[TenancyUsage]] = defaultdict(list)
    for rec in ctx.view.usage:
        if rec.end_at > since:
            for parent in ctx.ultimate_parents(rec.tenant):
                groups[parent].append(rec)
    out = []
    for parent, records in sorted(groups.items()):
        party = ctx.view.parties.get(parent)
        if party is None or party.country not in cfg.countries_of_concern:
            continue
        total = sum(r.chip_hours for r in records)
        if total < cfg.rental_threshold_chip_hours:
            continue
        tenants = sorted({r.tenant for r in records})
        records.sort(key=lambda r: r.end_at)
        evidence = [
            Evidence(
                EvidenceKind.USAGE,
                f"usage:{r.record_id}",
                f"{r.tenant} used {r.chip_hours:,.0f} chip-hours at {r.cloud} "
                f"{r.start_at:%Y-%m-%d}..{r.end_at:%Y-%m-%d}",
            )
            for r in records[:6]
        ]
        for tenant in tenants:
            for path in ctx.control_paths(tenant):
                if path.parent == parent:
                    evidence.append(Evidence(EvidenceKind.PARTY_EDGE, path.ref, path.describe()))
        out.append(
            Finding(
                rule="cloud-rental-concern",
                channel="cloud_rental",
                severity=Severity.HIGH,
                subject=parent,
                subject_kind=SubjectKind.PARTY,
                detected_at=records[-1].end_at,
                explanation=(
                    f"{len(tenants)} tenant(s) controlled by {ctx.party_label(parent)} used "
                    f"{total:,.0f} chip-hours in {cfg.rental_window_days:g} days "
                    f"(threshold {cfg.rental_threshold_chip_hours:,.0f})."
                ),
                evidence=tuple(evidence),
            )
        )
    return out
