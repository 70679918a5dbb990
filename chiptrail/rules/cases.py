"""Cases: findings about one incident (same lot, order, buyer or ownership group), ranked.

No I/O: takes findings and, optionally, the ``WorldView`` they came from (custody gives each chip
its lot and holder); the service layer stores the cases and their triage state.

Two findings belong to one case when they share a *link token*:

- the same subject (chip, party or country);
- the same lot: chips flagged by a rule whose latest cited ledger leaf is the same entry, or whose
  latest custody entry in the view is the same (one shipment, one install, one repair);
- the same order, the same listed entry (a screening match, when the finding cites only one), or
  a party on the same ownership path (``path:A>B>C`` evidence links A, B and C: one group);
- a chip held by a party that has a finding of its own (the buyer's case holds its chips);
- a country-level aggregate that cites a lot's ledger entries.

Evasion and cost: an adversary who splits a diversion into lots shipped under unrelated buyers,
orders and owners gets several cases instead of one; each case still carries its own findings,
so splitting lowers a case's rank, never hides it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chiptrail.rules.finding import EvidenceKind, Finding, SubjectKind, case_id_for
from chiptrail.rules.view import WorldView
from chiptrail.types import Severity

_WEIGHT = {
    Severity.INFO: 0.1,
    Severity.LOW: 1.0,
    Severity.MEDIUM: 3.0,
    Severity.HIGH: 9.0,
    Severity.CRITICAL: 27.0,
}
_KIND_ORDER = {SubjectKind.PARTY: 0, SubjectKind.COUNTRY: 1, SubjectKind.CHIP: 2}


@dataclass(frozen=True, slots=True)
class Case:
    """The findings about one incident, with the subjects involved and the case's rank score.

    ``subject``/``subject_kind`` is the lead subject (the most severe finding's, parties first);
    ``title`` names it for people (a party's name when the view knows it).
    """

    case_id: str
    subject: str
    subject_kind: SubjectKind
    severity: Severity
    score: float
    findings: tuple[Finding, ...]
    title: str = ""
    chips: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        """The distinct rule ids in this case."""
        return tuple(sorted({f.rule for f in self.findings}))

    @property
    def channels(self) -> tuple[str, ...]:
        """The distinct channels of this case's findings."""
        return tuple(sorted({f.channel for f in self.findings}))


def _leaves(f: Finding) -> list[int]:
    return [
        e.leaf_index
        for e in f.evidence
        if e.kind is EvidenceKind.LEDGER and e.leaf_index is not None
    ]


def _tokens(
    f: Finding, holders: Mapping[str, tuple[int, tuple[str, ...]]], flagged: set[str]
) -> set[str]:
    """The link tokens of one finding (see the module docstring)."""
    out = {f"{f.subject_kind.value}:{f.subject}"}
    leaves = _leaves(f)
    if f.subject_kind is SubjectKind.COUNTRY:
        out.update(f"lot:{n}" for n in leaves)
    elif leaves:
        out.add(f"lot:{max(leaves)}")
    listed = {e.ref for e in f.evidence if e.kind is EvidenceKind.SCREENING}
    if len(listed) == 1:  # a finding weighing several listed entries does not join their cases
        out |= listed
    for e in f.evidence:
        if e.ref.startswith("order:"):
            out.add(e.ref)
        elif e.ref.startswith("path:"):
            out.update(f"party:{p}" for p in e.ref[5:].split(">") if p)
    if f.subject_kind is SubjectKind.CHIP and f.subject in holders:
        leaf, parties = holders[f.subject]
        if not leaves:
            out.add(f"lot:{leaf}")
        out.update(f"party:{p}" for p in parties if p in flagged)
    return out


def chip_holders(view: WorldView | None) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Each chip's latest custody entry in ``view``: (leaf index, its party and destination)."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    if view is None:
        return out
    for e in sorted(view.events, key=lambda e: e.leaf_index):
        parties = tuple(p for p in (e.party_id, e.destination_party) if p is not None)
        for chip in e.chip_ids:
            out[chip] = (e.leaf_index, parties)
    return out


def _components(findings: Sequence[Finding], tokens: Sequence[set[str]]) -> list[list[int]]:
    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, toks in enumerate(tokens):
        for t in toks:
            j = first.setdefault(t, i)
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(findings)):
        groups[root(i)].append(i)
    return list(groups.values())


def case_score(findings: Sequence[Finding]) -> float:
    """Rank score: per rule its worst severity's weight, plus half a point per doubling of subjects.

    Counting rules, not findings, keeps a 16-chip lot with one rule from outranking an incident
    that several independent rules corroborate.
    """
    worst: dict[str, float] = {}
    for f in findings:
        worst[f.rule] = max(worst.get(f.rule, 0.0), _WEIGHT[f.severity])
    subjects = {(f.subject_kind, f.subject) for f in findings}
    return round(sum(worst.values()) + 0.5 * math.log2(len(subjects)), 3)


def _title(items: Sequence[Finding], names: Mapping[str, str], chips: int) -> str:
    """A case's name for people: its leading party by name, else its country, plus its chips."""
    lead = next((f for f in items if f.subject_kind is SubjectKind.PARTY), None)
    lead = lead or next((f for f in items if f.subject_kind is SubjectKind.COUNTRY), items[0])
    name = names.get(lead.subject, lead.subject)
    if lead.subject_kind is SubjectKind.CHIP:
        return f"{chips} chips incl. {lead.subject}" if chips > 1 else f"chip {lead.subject}"
    if lead.subject_kind is SubjectKind.COUNTRY:
        name = f"volume in {name}"
    return f"{name} ({chips} chips)" if chips else name


def _build(items: list[Finding], names: Mapping[str, str]) -> Case:
    items.sort(key=lambda f: (-f.severity.rank, _KIND_ORDER[f.subject_kind], f.rule, f.subject))
    lead = items[0]
    of = defaultdict(set)
    for f in items:
        of[f.subject_kind].add(f.subject)
    chips = sorted(of[SubjectKind.CHIP])
    title = _title(items, names, len(chips))
    return Case(
        case_id=case_id_for(lead.subject_kind, lead.subject),
        subject=lead.subject,
        subject_kind=lead.subject_kind,
        severity=lead.severity,
        score=case_score(items),
        findings=tuple(items),
        title=title,
        chips=tuple(chips),
        parties=tuple(sorted(of[SubjectKind.PARTY])),
        countries=tuple(sorted(of[SubjectKind.COUNTRY])),
    )


def group_cases(
    findings: Iterable[Finding],
    view: WorldView | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Case]:
    """Group ``findings`` into incident cases, ranked by worst severity, then score, then id.

    ``view`` (optional) adds custody links (a chip's latest ledger entry and its holder) and party
    names; ``names`` (party id -> name) adds or overrides names for the case titles.
    """
    found = list(findings)
    holders = chip_holders(view)
    flagged = {f.subject for f in found if f.subject_kind is SubjectKind.PARTY}
    tokens = [_tokens(f, holders, flagged) for f in found]
    known: dict[str, str] = {}
    if view is not None:
        known = {str(pid): p.name for pid, p in view.parties.items()}
    known.update(names or {})
    cases = [_build([found[i] for i in group], known) for group in _components(found, tokens)]
    cases.sort(key=lambda c: (-c.severity.rank, -c.score, c.case_id))
    return cases
