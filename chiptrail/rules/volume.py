"""Volume gap (channel ``volume_gap``): chips shipped into a country vs chips attesting there.

No I/O: custody events, fixes and sites come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import CustodyEvent
from chiptrail.types import ChipId, Severity, Verdict


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


def find_volume_gaps(ctx: RuleContext) -> list[Finding]:
    """Fewer chips attest from a country than the custody ledger says were shipped in and kept.

    For each country, chips whose custody ends there (received past the install deadline, or
    installed past the attestation deadline) are reconciled against chips with a recent VERIFIED
    fix at a site in that country. A gap of at least ``volume_gap_min_chips`` and
    ``volume_gap_fraction`` of the expected count is flagged for the country.
    """
    cfg = ctx.config
    recent = ctx.view.now - timedelta(days=cfg.dark_after_days)
    expected: dict[str, list[ChipId]] = defaultdict(list)
    last_event: dict[ChipId, CustodyEvent] = {}
    for chip, events in ctx.events_by_chip.items():
        country = _expected_country(ctx, events)
        if country is not None:
            expected[country].append(chip)
            last_event[chip] = events[-1]
    out = []
    for country, chips in sorted(expected.items()):
        missing = []
        for chip in chips:
            fixes = ctx.fixes_by_chip.get(chip, [])
            ok = any(
                f.verdict is Verdict.VERIFIED
                and f.at >= recent
                and (site := ctx.view.sites.get(f.site_id or "")) is not None
                and site.country == country
                for f in fixes
            )
            if not ok:
                missing.append(chip)
        gap = len(missing)
        if gap < cfg.volume_gap_min_chips or gap < cfg.volume_gap_fraction * len(chips):
            continue
        summary = Evidence(
            EvidenceKind.AGGREGATE,
            f"volume:{country}",
            f"{len(chips)} chips held in {country} per the ledger, {len(chips) - gap} attesting "
            f"there in the last {cfg.dark_after_days:g} days, {gap} missing",
        )
        samples = sorted(missing)[:5]
        out.append(
            Finding(
                rule="volume-gap",
                channel="volume_gap",
                severity=Severity.HIGH,
                subject=country,
                subject_kind=SubjectKind.COUNTRY,
                detected_at=ctx.view.now,
                explanation=(
                    f"{gap} of {len(chips)} chips that the ledger places in {country} "
                    f"({gap / len(chips):.0%}) do not attest from there."
                ),
                evidence=(summary, *(ledger_evidence(last_event[c]) for c in samples)),
            )
        )
    return out
