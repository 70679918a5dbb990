"""Location rules (channel ``hand_carry``): violations, chips gone dark, impossible travel.

No I/O: verdicts come in the view, computed by ``chiptrail.geoloc`` from signed measurements.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from chiptrail.rules.context import RuleContext, distance_km
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.unverifiable import is_unverifiable_not_dark
from chiptrail.rules.view import CustodyEvent, LocationFix
from chiptrail.types import Severity, Verdict

CHANNEL = "hand_carry"
_MAX_EVIDENCE = 3


def fix_evidence(fix: LocationFix) -> Evidence:
    """The evidence record of one location fix."""
    where = f"({fix.lat:.2f}, {fix.lon:.2f}) ±{fix.radius_km:.0f} km"
    landmarks = ",".join(fix.landmark_ids[:4])
    return Evidence(
        EvidenceKind.MEASUREMENT,
        f"fix:{fix.fix_id}",
        (
            f"{fix.at:%Y-%m-%d %H:%M} {fix.verdict.value} at {where} vs site {fix.site_id}"
            f" (landmarks {landmarks}; {len(fix.measurement_ids)} measurements) {fix.explanation}"
        ).strip(),
    )


def ledger_evidence(ev: CustodyEvent) -> Evidence:
    """The evidence record of one custody event (points at its Merkle-log leaf)."""
    dest = (
        f" -> {ev.destination_party} ({ev.destination_country})" if ev.destination_country else ""
    )
    site = f" at site {ev.site_id}" if ev.site_id else ""
    return Evidence(
        EvidenceKind.LEDGER,
        f"leaf:{ev.leaf_index}",
        f"{ev.at:%Y-%m-%d} {ev.biz_step} by {ev.party_id} in {ev.country}{site}{dest}",
        leaf_index=ev.leaf_index,
    )


def find_location_violations(ctx: RuleContext) -> list[Finding]:
    """A chip's signed round-trip times prove it is outside the region of its declared site.

    Delay can be added but never removed, so a small round-trip time from a landmark far from the
    declared site proves the chip is elsewhere (DESIGN.md, location verification). One finding per
    chip, citing the first violating measurements.
    """
    out = []
    for chip, fixes in ctx.fixes_by_chip.items():
        bad = [f for f in fixes if f.verdict is Verdict.VIOLATION]
        if not bad:
            continue
        first = bad[0]
        out.append(
            Finding(
                rule="location-violation",
                channel=CHANNEL,
                severity=Severity.CRITICAL,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=first.at,
                explanation=(
                    f"{len(bad)} location fix(es) prove chip {chip} is not at its declared site "
                    f"{first.site_id}; first on {first.at:%Y-%m-%d}, near ({first.lat:.1f}, "
                    f"{first.lon:.1f})."
                ),
                evidence=tuple(fix_evidence(f) for f in bad[:_MAX_EVIDENCE]),
            )
        )
    return out


def find_suspect_streaks(ctx: RuleContext) -> list[Finding]:
    """A chip's latest location fixes all fall outside the calibrated likely region of its site.

    A single SUSPECT verdict is common noise; this fires only when the last several fixes in a row
    (``suspect_streak``) are SUSPECT with no VERIFIED fix after them.
    """
    need = ctx.config.suspect_streak
    out = []
    for chip, fixes in ctx.fixes_by_chip.items():
        tail = fixes[-need:]
        if len(tail) < need or any(f.verdict is not Verdict.SUSPECT for f in tail):
            continue
        out.append(
            Finding(
                rule="location-suspect",
                channel=CHANNEL,
                severity=Severity.MEDIUM,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=tail[-1].at,
                explanation=(
                    f"the last {need} location fixes of chip {chip} are outside the likely region "
                    f"of site {tail[-1].site_id} (not proven elsewhere)."
                ),
                evidence=tuple(fix_evidence(f) for f in tail),
            )
        )
    return out


def _expected_to_attest(events: list[CustodyEvent]) -> CustodyEvent | None:
    """The install event when the chip's latest custody step says it runs at a site."""
    for ev in reversed(events):
        if ev.biz_step in {"installing", "repairing"}:
            return ev if ev.biz_step == "installing" else None
        if ev.biz_step in {"shipping", "receiving", "decommissioning"}:
            return None
    return None


def find_chips_gone_dark(ctx: RuleContext) -> list[Finding]:
    """An installed chip has not proven its location for longer than the deadline.

    A chip whose custody says it runs at a site must keep producing VERIFIED location fixes; one
    that stays unverified past ``dark_after_days`` has gone dark (moved, or its agent was removed).
    """
    deadline = timedelta(days=ctx.config.dark_after_days)
    now = ctx.view.now
    out = []
    for chip, events in ctx.events_by_chip.items():
        install = _expected_to_attest(events)
        if install is None:
            continue
        fixes = ctx.fixes_by_chip.get(chip, [])
        verified = [f for f in fixes if f.verdict is Verdict.VERIFIED and f.at >= install.at]
        since = verified[-1].at if verified else install.at
        if now - since <= deadline:
            continue
        if is_unverifiable_not_dark(ctx, chip, install, since):
            continue  # present but unverifiable: rules/unverifiable.py reports the site
        later = [f for f in fixes if f.at > since]
        last = f"last verified {since:%Y-%m-%d}" if verified else "never verified since install"
        out.append(
            Finding(
                rule="chip-gone-dark",
                channel=CHANNEL,
                severity=Severity.HIGH,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=since + deadline,
                explanation=(
                    f"chip {chip} is installed at site {install.site_id} but {last}; "
                    f"{len(later)} later fix(es) could not verify it "
                    f"(deadline {ctx.config.dark_after_days:g} days)."
                ),
                evidence=(
                    ledger_evidence(install),
                    *(fix_evidence(f) for f in verified[-1:] + later[-2:]),
                ),
            )
        )
    return out


def find_impossible_travel(ctx: RuleContext) -> list[Finding]:
    """Two located fixes of one chip are further apart than any aircraft could carry it in between.

    The gap between the two proven disks (centre distance minus both radii) divided by the time
    between the fixes must stay under ``max_speed_kmh``; faster means a relay or a cloned identity.
    """
    limit = ctx.config.max_speed_kmh
    out = []
    for chip, fixes in ctx.fixes_by_chip.items():
        located = [f for f in fixes if f.verdict is not Verdict.UNVERIFIED]
        for a, b in itertools.pairwise(located):
            gap_km = distance_km(a.lat, a.lon, b.lat, b.lon) - a.radius_km - b.radius_km
            hours = (b.at - a.at).total_seconds() / 3600
            if gap_km <= 0 or gap_km <= limit * max(hours, 0.0):
                continue
            speed = gap_km / hours if hours > 0 else float("inf")
            out.append(
                Finding(
                    rule="impossible-travel",
                    channel=CHANNEL,
                    severity=Severity.HIGH,
                    subject=chip,
                    subject_kind=SubjectKind.CHIP,
                    detected_at=b.at,
                    explanation=(
                        f"chip {chip} was located {gap_km:.0f} km apart (beyond both proven radii) "
                        f"within {hours:.1f} h: at least {speed:.0f} km/h, over the "
                        f"{limit:.0f} km/h limit."
                    ),
                    evidence=(fix_evidence(a), fix_evidence(b)),
                )
            )
            break
    return out
