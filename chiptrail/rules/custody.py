"""Custody-gap rules (channel ``transshipment``): lots that vanish between ledger steps.

No I/O: events come in the view, read from the verified custody ledger.
"""

from __future__ import annotations

from datetime import timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import CustodyContradiction, CustodyEvent, Licence, Role
from chiptrail.types import ChipId, Severity, Verdict

CHANNEL = "transshipment"


def _next_step(events: list[CustodyEvent], after: CustodyEvent) -> CustodyEvent | None:
    i = events.index(after)
    return events[i + 1] if i + 1 < len(events) else None


def find_shipped_never_received(ctx: RuleContext) -> list[Finding]:
    """Chips were shipped but no party recorded receiving them within the deadline.

    A shipping event must be followed by a receiving event for the same chips within
    ``receive_within_days``; a consignee that never confirms receipt hides where the lot went.
    """
    limit = timedelta(days=ctx.config.receive_within_days)
    out = []
    for chip, events in ctx.events_by_chip.items():
        last = events[-1]
        if last.biz_step != "shipping" or ctx.view.now - last.at <= limit:
            continue
        out.append(
            Finding(
                rule="shipped-never-received",
                channel=CHANNEL,
                severity=Severity.HIGH,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=last.at + limit,
                explanation=(
                    f"chip {chip} was shipped on {last.at:%Y-%m-%d} by "
                    f"{ctx.party_label(last.party_id)} to {last.destination_party} "
                    f"({last.destination_country}) and no receipt was recorded within "
                    f"{ctx.config.receive_within_days:g} days."
                ),
                evidence=(ledger_evidence(last),),
            )
        )
    return out


def _verified_in_stock(ctx: RuleContext, chip: ChipId, receipt: CustodyEvent) -> bool:
    """A reseller's stock that proves where it is: a VERIFIED fix after the receipt, within
    ``dark_after_days``, at a declared site in the receipt's country. Stock that keeps answering
    from the warehouse is stock, not a gap; the cheapest evasion (keep the chip answering at the
    warehouse) leaves it where it was licensed to be."""
    recent = ctx.view.now - timedelta(days=ctx.config.dark_after_days)
    for f in reversed(ctx.fixes_by_chip.get(chip, [])):
        if f.at < max(recent, receipt.at):
            break
        site = ctx.view.sites.get(f.site_id or "")
        if f.verdict is Verdict.VERIFIED and site is not None and site.country == receipt.country:
            return True
    return False


def find_received_never_installed(ctx: RuleContext) -> list[Finding]:
    """A distributor received chips and neither installed nor shipped them on within the deadline.

    Distributors resell; stock that sits past ``install_within_days`` with no further ledger step
    is the classic transshipment gap (the lot left through an unrecorded channel). Stock that
    keeps proving it is in the warehouse (a recent VERIFIED fix at a declared site in the receipt's
    country) is not a gap.
    """
    limit = timedelta(days=ctx.config.install_within_days)
    out = []
    for chip, events in ctx.events_by_chip.items():
        last = events[-1]
        if last.biz_step != "receiving" or ctx.view.now - last.at <= limit:
            continue
        party = ctx.view.parties.get(last.party_id)
        if party is None or party.role is not Role.DISTRIBUTOR:
            continue
        if _verified_in_stock(ctx, chip, last):
            continue
        out.append(
            Finding(
                rule="received-never-installed",
                channel=CHANNEL,
                severity=Severity.HIGH,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                detected_at=last.at + limit,
                explanation=(
                    f"chip {chip} was received on {last.at:%Y-%m-%d} by distributor "
                    f"{ctx.party_label(last.party_id)} and has no install or onward shipment "
                    f"after {ctx.config.install_within_days:g} days."
                ),
                evidence=(ledger_evidence(last),),
            )
        )
    return out


def find_install_off_licence(ctx: RuleContext) -> list[Finding]:
    """A chip was installed at a site that its export licence does not cover.

    The install site must be one of the licence's sites (or at least in its country when the licence
    names no sites); anything else is a diversion from the licensed end use.
    """
    out = []
    for chip_id, events in ctx.events_by_chip.items():
        chip = ctx.view.chips.get(chip_id)
        licence = ctx.view.licences.get(chip.licence_id or "") if chip else None
        if licence is None:
            continue
        for ev in events:
            if ev.biz_step != "installing":
                continue
            ok_site = ev.site_id in licence.site_ids if licence.site_ids else True
            if ok_site and ev.country == licence.country:
                continue
            out.append(
                Finding(
                    rule="install-off-licence",
                    channel=CHANNEL,
                    severity=Severity.HIGH,
                    subject=chip_id,
                    subject_kind=SubjectKind.CHIP,
                    detected_at=ev.at,
                    explanation=(
                        f"chip {chip_id} was installed at site {ev.site_id} in {ev.country}, but "
                        f"licence {licence.licence_id} covers {licence.country} sites "
                        f"{', '.join(licence.site_ids) or '(any)'}."
                    ),
                    evidence=(
                        ledger_evidence(ev),
                        Evidence(
                            EvidenceKind.ORDER,
                            f"licence:{licence.licence_id}",
                            f"end user {licence.end_user}, {licence.country}, "
                            f"{licence.quantity} chips",
                        ),
                    ),
                )
            )
            break
    return out


def licence_covers(ctx: RuleContext, licence: Licence, ev: CustodyEvent) -> bool:
    """True when ``licence`` authorises shipment ``ev``: same destination country, valid on the
    shipping day, the consignee among the parties it names (end user or consignees; any when it
    names no consignees), and, for a licence exception, not to a country of concern (EAR
    exceptions do not reach them for advanced computing items)."""
    if licence.country != ev.destination_country:
        return False
    if licence.valid_from is not None and ev.at < licence.valid_from:
        return False
    if licence.valid_until is not None and ev.at > licence.valid_until:
        return False
    dest = ev.destination_party
    if (
        licence.consignees
        and dest is not None
        and dest not in {licence.end_user, *licence.consignees}
    ):
        return False
    return not (licence.kind == "exception" and licence.country in ctx.config.countries_of_concern)


def _reexport_licensed(ctx: RuleContext, chip: ChipId, ev: CustodyEvent) -> bool:
    """The shipment names a stored licence or licence exception that covers it, or the chip's
    order's licence covers it."""
    record = ctx.view.chips.get(chip)
    for licence_id in (ev.licence_id, record.licence_id if record else None):
        licence = ctx.view.licences.get(licence_id or "")
        if licence is not None and licence_covers(ctx, licence, ev):
            return True
    return False


def find_hub_reexport(ctx: RuleContext) -> list[Finding]:
    """Chips imported into a transshipment hub were shipped on to another country without a licence.

    Hubs (Singapore, Malaysia, Thailand, the UAE ...) are where legal imports get relabelled and
    re-exported; any shipment out of a hub to a different country must carry a stored licence or
    licence exception (``ct:licenceId``, or the chip's order's licence) that covers it: the
    destination country, the shipping day within its validity, the consignee among the parties it
    names; an exception never covers a country of concern. Critical when the destination is a
    country of concern.
    """
    hubs = ctx.config.hub_countries
    concern = ctx.config.countries_of_concern
    out = []
    seen: set[ChipId] = set()
    for chip, events in ctx.events_by_chip.items():
        for ev in events:
            if ev.biz_step != "shipping" or ev.country not in hubs or chip in seen:
                continue
            dest = ev.destination_country
            if dest is None or dest == ev.country or _reexport_licensed(ctx, chip, ev):
                continue
            seen.add(chip)
            out.append(
                Finding(
                    rule="hub-reexport",
                    channel=CHANNEL,
                    severity=Severity.CRITICAL if dest in concern else Severity.HIGH,
                    subject=chip,
                    subject_kind=SubjectKind.CHIP,
                    detected_at=ev.at,
                    explanation=(
                        f"chip {chip} was re-exported from hub {ev.country} to {dest} by "
                        f"{ctx.party_label(ev.party_id)} on {ev.at:%Y-%m-%d} without a licence "
                        f"for {dest}."
                    ),
                    evidence=(ledger_evidence(ev),),
                )
            )
    return out


def _contradiction_evidence(
    anomaly: CustodyContradiction, by_leaf: dict[int, CustodyEvent]
) -> tuple[Evidence, ...]:
    out = []
    for leaf in dict.fromkeys((*anomaly.evidence_leaves, anomaly.leaf_index)):
        ev = by_leaf.get(leaf)
        if ev is not None:
            out.append(ledger_evidence(ev))
        else:
            detail = f"leaf {leaf} ({anomaly.kind} of {anomaly.subject})"
            out.append(Evidence(EvidenceKind.LEDGER, f"leaf:{leaf}", detail, leaf_index=leaf))
    return tuple(out)


def find_custody_contradictions(ctx: RuleContext) -> list[Finding]:
    """The custody ledger holds claims that contradict each other about a chip or its server.

    The ledger's registry checks every logged event against the custody it has replayed: a party
    shipping chips it does not hold (shipped-without-custody), a receipt by someone other than the
    shipment's destination (receiver-not-destination), or the same chip installed twice without a
    removal in between (installed-twice). Any of these means a record is false or a lot moved
    outside the ledger; the contradicting leaves are the evidence.
    """
    by_leaf = {ev.leaf_index: ev for ev in ctx.view.events}
    out = []
    for anomaly in sorted(ctx.view.custody_anomalies, key=lambda a: (a.leaf_index, a.subject)):
        at = by_leaf[anomaly.leaf_index].at if anomaly.leaf_index in by_leaf else ctx.view.now
        out.append(
            Finding(
                rule="custody-contradiction",
                channel=CHANNEL,
                severity=Severity.HIGH,
                subject=anomaly.subject,
                subject_kind=SubjectKind.CHIP,
                detected_at=at,
                explanation=(
                    f"ledger leaf {anomaly.leaf_index} contradicts custody of {anomaly.subject} "
                    f"({anomaly.kind}): {anomaly.message}"
                ),
                evidence=_contradiction_evidence(anomaly, by_leaf),
            )
        )
    return out
