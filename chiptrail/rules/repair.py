"""Repair rules (channel ``repair``): servicing in restricted regions, parts swapped out of custody.

No I/O: repair (TransformationEvent) records and custody come in the view.
"""

from __future__ import annotations

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding, SubjectKind
from chiptrail.rules.location import fix_evidence, ledger_evidence
from chiptrail.rules.view import CustodyEvent
from chiptrail.types import Severity

CHANNEL = "repair"


def find_restricted_repairs(ctx: RuleContext) -> list[Finding]:
    """A chip was repaired, or attested, from a country of concern.

    Repair events recorded in a country of concern (the Shenzhen repair-shop pattern), and
    location fixes whose proven region lies wholly in countries of concern, mean a controlled chip
    is being serviced or run where it may not go.
    """
    concern = ctx.config.countries_of_concern
    out = []
    for chip, events in ctx.events_by_chip.items():
        repairs = [e for e in events if e.biz_step == "repairing" and e.country in concern]
        fixes = [
            f
            for f in ctx.fixes_by_chip.get(chip, [])
            if f.proven_countries and set(f.proven_countries) <= concern
        ]
        if not repairs and not fixes:
            continue
        first_at = min([e.at for e in repairs] + [f.at for f in fixes])
        where = sorted(
            {e.country for e in repairs} | {c for f in fixes for c in f.proven_countries}
        )
        out.append(
            Finding(
                rule="repair-restricted-region",
                channel=CHANNEL,
                severity=Severity.CRITICAL,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=first_at,
                explanation=(
                    f"chip {chip} has {len(repairs)} repair record(s) and {len(fixes)} "
                    f"attestation(s) from {', '.join(where)} (countries of concern)."
                ),
                evidence=tuple(ledger_evidence(e) for e in repairs[:3])
                + tuple(fix_evidence(f) for f in fixes[:2]),
            )
        )
    return out


def _custody_before(events: list[CustodyEvent], ev: CustodyEvent) -> CustodyEvent | None:
    earlier = [e for e in events if (e.at, e.leaf_index) < (ev.at, ev.leaf_index)]
    return earlier[-1] if earlier else None


def find_repair_custody_mismatch(ctx: RuleContext) -> list[Finding]:
    """Parts were replaced on a chip whose custody record places it somewhere else.

    A repair that swaps parts (HBM, fans, boards) must happen where the ledger says the chip is:
    the last custody step before the repair must be a receipt by the repairer, or the repairer's
    own site. Otherwise the chip left custody unrecorded.
    """
    out = []
    for chip, events in ctx.events_by_chip.items():
        for ev in events:
            if ev.biz_step != "repairing" or not ev.parts_replaced:
                continue
            before = _custody_before(events, ev)
            if before is None:
                continue
            same_holder = before.biz_step == "receiving" and before.party_id == ev.party_id
            same_place = before.country == ev.country and before.site_id == ev.site_id
            if same_holder or same_place:
                continue
            out.append(
                Finding(
                    rule="repair-custody-mismatch",
                    channel=CHANNEL,
                    severity=Severity.HIGH,
                    subject=chip,
                    subject_kind=SubjectKind.CHIP,
                    detected_at=ev.at,
                    explanation=(
                        f"{', '.join(ev.parts_replaced)} replaced on chip {chip} by "
                        f"{ctx.party_label(ev.party_id)} in {ev.country} on {ev.at:%Y-%m-%d}, "
                        f"but custody placed it with {before.party_id} in {before.country} "
                        f"({before.biz_step} {before.at:%Y-%m-%d}) and no shipment followed."
                    ),
                    evidence=(ledger_evidence(before), ledger_evidence(ev)),
                )
            )
            break
    return out
