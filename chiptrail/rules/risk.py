"""Graded evidence and one combined risk per subject (chip, party, resolved buyer, cluster).

No I/O. Detectors (``rules/baseline.py``, ``rules/holdings.py``, ``rules/buyers.py``) emit
``Signal``s, each a log-likelihood ratio in nats with its explanation and the ledger leaf, fix,
order or list entry behind it; this module combines them and turns subjects over the alert
threshold into findings. The threshold is set from a false-alarm budget on legitimate subjects
(``threshold_for_budget``; ``chiptrail.sim.redteam.calibrate_threshold`` runs it on simulated
worlds), never by hand.

Combining: a detector may report the same kind of evidence several times as it grows (a run of
missed rounds getting longer, a yearly volume getting larger); those are correlated, so only the
strongest counts (max per signal id). Different signal ids are treated as independent evidence and
their log-likelihood ratios add. Every signal is >= 0, so adding evidence never lowers a risk.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chiptrail.errors import InvalidInput
from chiptrail.rules.finding import Evidence, Finding, SubjectKind
from chiptrail.types import Severity

ALERT_THRESHOLD_NATS = 6.9
"""Combined risk (nats) at which a subject is alerted: ln(1000), the floor of the calibration.

``chiptrail redteam --calibrate`` sets the threshold from a false-alarm budget of 0.5 % of
legitimate subjects on the tuning family (naive adversary, seeds 101-103, 2,000 chips);
docs/evaluation.md has the run.
Cheapest evasion: keep every piece of evidence small *and* few; each graded signal's own doc says
what staying under it costs."""
THRESHOLD_FLOOR_NATS = math.log(1000.0)
"""The threshold never drops under a likelihood ratio of 1,000 : 1, however clean the tuning set."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One graded piece of evidence about a subject.

    ``llr`` is the natural-log likelihood ratio (diverted vs legitimate) the evidence carries,
    >= 0; ``at`` is when it became known (for time to detection); ``signal`` is the stable
    kebab-case id of the kind of evidence (max per id when combined).
    """

    signal: str
    channel: str
    subject: str
    subject_kind: SubjectKind
    llr: float
    at: datetime
    explanation: str
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.llr) and self.llr >= 0.0):
            raise InvalidInput(
                f"signal {self.signal}: llr must be a finite number >= 0, got {self.llr}",
                {"field": "llr"},
            )


@dataclass(frozen=True, slots=True)
class SubjectRisk:
    """A subject's combined risk (nats) and the strongest signal of each id, strongest first."""

    subject: str
    subject_kind: SubjectKind
    risk: float
    signals: tuple[Signal, ...]
    signals_all: tuple[Signal, ...] = ()

    @property
    def channel(self) -> str:
        """The channel of the strongest signal."""
        return self.signals[0].channel

    def crossed_at(self, threshold: float) -> datetime | None:
        """When the risk first reached ``threshold``, replaying the signals in time order."""
        return _first_crossing(self.signals_all or self.signals, threshold)


def _strongest(signals: Iterable[Signal]) -> dict[str, Signal]:
    best: dict[str, Signal] = {}
    for s in signals:
        old = best.get(s.signal)
        if old is None or s.llr > old.llr or (s.llr == old.llr and s.at < old.at):
            best[s.signal] = s
    return best


def combined_risk(signals: Iterable[Signal]) -> float:
    """Sum over signal ids of the strongest signal of that id (nats, >= 0)."""
    return math.fsum(s.llr for s in _strongest(signals).values())


def _first_crossing(signals: Sequence[Signal], threshold: float) -> datetime | None:
    best: dict[str, float] = {}
    for s in sorted(signals, key=lambda s: s.at):
        best[s.signal] = max(best.get(s.signal, 0.0), s.llr)
        if math.fsum(best.values()) >= threshold:
            return s.at
    return None


def combine_signals(signals: Iterable[Signal]) -> list[SubjectRisk]:
    """One ``SubjectRisk`` per subject, highest risk first (then subject)."""
    groups: dict[tuple[SubjectKind, str], list[Signal]] = defaultdict(list)
    for s in signals:
        groups[(s.subject_kind, s.subject)].append(s)
    out = []
    for (kind, subject), items in groups.items():
        best = sorted(_strongest(items).values(), key=lambda s: (-s.llr, s.signal))
        out.append(
            SubjectRisk(
                subject=subject,
                subject_kind=kind,
                risk=math.fsum(s.llr for s in best),
                signals=tuple(best),
                signals_all=tuple(items),
            )
        )
    out.sort(key=lambda r: (-r.risk, r.subject))
    return out


def threshold_for_budget(
    legit_risks: Sequence[float], budget: float, floor: float = THRESHOLD_FLOOR_NATS
) -> float:
    """The lowest alert threshold that flags at most ``budget`` of the legitimate subjects.

    Args:
        legit_risks: combined risk (nats) of every legitimate subject (0 for those without signals).
        budget: allowed share of legitimate subjects alerted, in (0, 1).
        floor: the threshold never goes under this (nats).

    Returns:
        A threshold in nats: subjects with risk >= threshold alert.

    Raises:
        InvalidInput: budget outside (0, 1) or no legitimate subjects.
    """
    if not 0.0 < budget < 1.0:
        raise InvalidInput("the false-alarm budget must lie in (0, 1)", {"field": "budget"})
    if not legit_risks:
        raise InvalidInput("no legitimate subjects to set a threshold on", {"field": "risks"})
    ranked = sorted(legit_risks, reverse=True)
    allowed = math.floor(budget * len(ranked))
    # flag the `allowed` highest at most: the threshold lies just above the next one
    above = ranked[allowed] if allowed < len(ranked) else 0.0
    return max(floor, math.nextafter(above, math.inf))


def _severity(risk: float, threshold: float) -> Severity:
    if risk >= 3 * threshold:
        return Severity.CRITICAL
    return Severity.HIGH if risk >= 1.5 * threshold else Severity.MEDIUM


def risk_findings(
    risks: Iterable[SubjectRisk], rule: str, channel: str, threshold: float
) -> list[Finding]:
    """Findings of ``rule`` for the subjects over ``threshold`` whose strongest signal is
    ``channel``'s; each piece of evidence carries its signal's weight (nats)."""
    out = []
    for r in risks:
        if r.risk < threshold or r.channel != channel:
            continue
        at = r.crossed_at(threshold) or max(s.at for s in r.signals)
        evidence = tuple(
            Evidence(e.kind, e.ref, f"[{s.signal} {s.llr:.1f} nats] {e.detail}", e.leaf_index)
            for s in r.signals
            for e in s.evidence[:3]
        )
        parts = "; ".join(f"{s.signal} {s.llr:.1f}: {s.explanation}" for s in r.signals)
        out.append(
            Finding(
                rule=rule,
                channel=channel,
                severity=_severity(r.risk, threshold),
                subject=r.subject,
                subject_kind=r.subject_kind,
                detected_at=at,
                explanation=(
                    f"combined risk {r.risk:.1f} nats (likelihood ratio about "
                    f"{math.exp(min(r.risk, 700.0)):.3g} : 1) reaches the alert threshold "
                    f"{threshold:.1f}: {parts}"
                ),
                evidence=evidence,
            )
        )
    return out
