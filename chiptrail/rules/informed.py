"""BIS "is informed" letters (channel ``front_network``): chips ordered by or shipped to a party
that BIS said needs a licence, without one that names it.

No I/O: letters, licences, orders, chips and custody events come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from chiptrail.rules.consignee import order_evidence
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import InformedLetter
from chiptrail.types import PartyId, Severity


def _in_force(letter: InformedLetter, at: datetime) -> bool:
    return letter.issued_at <= at and (letter.valid_until is None or at <= letter.valid_until)


def _licensed(ctx: RuleContext, licence_id: str | None, party: PartyId, at: datetime) -> bool:
    """True when ``licence_id`` is a stored licence (not an exception) naming ``party`` as end
    user or consignee and valid at ``at``."""
    lic = ctx.view.licences.get(licence_id or "")
    if lic is None or lic.kind != "licence":
        return False
    if party != lic.end_user and party not in lic.consignees:
        return False
    started = lic.valid_from is None or lic.valid_from <= at
    return started and (lic.valid_until is None or at <= lic.valid_until)


def _covered(ctx: RuleContext, letter: InformedLetter) -> set[PartyId]:
    """The named party and every party it controls (50%-or-more, through any chain)."""
    known = set(ctx.view.parties) | {o.buyer for o in ctx.view.orders}
    known |= {e.destination_party for e in ctx.view.events if e.destination_party}
    return {p for p in known if letter.party in ctx.ultimate_parents(p)} | {letter.party}


def find_is_informed_exports(ctx: RuleContext) -> list[Finding]:
    """Chips went to a party BIS named in an "is informed" letter, without a licence naming it.

    A letter (EAR 744.21(b), 744.22, 744.23) makes a licence necessary for exports to the named
    party, and to every party it controls (50%-or-more, through any chain), from its date until
    it ends. An order by such a party, or a shipment on the custody ledger to it, while the
    letter is in force, is a finding unless it travels under a stored licence (not a licence
    exception: none applies) that names the party as end user or consignee and is valid then.
    """
    hits: dict[PartyId, list[tuple[InformedLetter, Evidence, datetime]]] = defaultdict(list)
    for letter in ctx.view.informed:
        covered = _covered(ctx, letter)
        for order in ctx.view.orders:
            if order.buyer not in covered or not _in_force(letter, order.ordered_at):
                continue
            if not _licensed(ctx, order.licence_id, order.buyer, order.ordered_at):
                hits[letter.party].append((letter, order_evidence(order), order.ordered_at))
        for ev in ctx.view.events:
            dest = ev.destination_party
            if ev.biz_step != "shipping" or dest not in covered or not _in_force(letter, ev.at):
                continue
            chip = ctx.view.chips.get(ev.chip_ids[0]) if ev.chip_ids else None
            licence = ev.licence_id or (chip.licence_id if chip else None)
            if dest is not None and not _licensed(ctx, licence, dest, ev.at):
                hits[letter.party].append((letter, ledger_evidence(ev), ev.at))
    out = []
    for party, found in sorted(hits.items()):
        found.sort(key=lambda h: h[2])
        letters = {h[0].letter_id: h[0] for h in found}
        told = ", ".join(sorted({str(x.exporter) for x in letters.values()}))
        out.append(
            Finding(
                rule="is-informed-export",
                channel="front_network",
                severity=Severity.CRITICAL,
                subject=party,
                subject_kind=SubjectKind.PARTY,
                detected_at=found[0][2],
                explanation=(
                    f"BIS informed {told} "
                    f"that exports to {ctx.party_label(party)} need a licence "
                    f"({', '.join(sorted(letters))}); {len(found)} order(s) or shipment(s) to it "
                    "or a company it controls went without a licence naming it."
                ),
                evidence=(
                    *(
                        Evidence(
                            EvidenceKind.SCREENING,
                            f"is-informed:{x.letter_id}",
                            f"{x.issued_at:%Y-%m-%d} letter {x.letter_id} to {x.exporter}: "
                            f"licence required for {x.items or 'items subject to the EAR'} "
                            f"to {x.party}",
                        )
                        for x in letters.values()
                    ),
                    *(h[1] for h in found[:5]),
                ),
            )
        )
    return out
