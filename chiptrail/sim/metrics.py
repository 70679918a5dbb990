"""Detection metrics: findings scored against the injected ground truth.

No I/O. An incident is caught when any finding names one of its subjects (chip, party or country);
a finding is a false alarm when its subject belongs to no incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chiptrail.rules.finding import Finding, SubjectKind
from chiptrail.rules.registry import CHANNELS
from chiptrail.sim.world import World
from chiptrail.types import ChipId, PartyId


@dataclass(frozen=True, slots=True)
class ChannelScore:
    """Detection counts of one channel; ``ttd_days`` holds each caught incident's delay."""

    injected: int
    caught: int
    missed: int
    false_alarms: int
    true_findings: int
    ttd_days: tuple[float, ...]

    @property
    def recall(self) -> float:
        """Caught / injected (1.0 when nothing was injected)."""
        return self.caught / self.injected if self.injected else 1.0

    @property
    def precision(self) -> float:
        """Findings of this channel's rules that name an injected subject, over all of them."""
        total = self.true_findings + self.false_alarms
        return self.true_findings / total if total else 1.0

    def to_dict(self) -> dict[str, int]:
        """The demo's JSON contract for one channel."""
        return {
            "injected": self.injected,
            "caught": self.caught,
            "missed": self.missed,
            "false_alarms": self.false_alarms,
        }


@dataclass(frozen=True, slots=True)
class Detection:
    """Per-channel scores, the false-alarm rate over legitimate chips, and what was missed."""

    channels: dict[str, ChannelScore]
    legit_chips: int
    legit_chips_flagged: int
    missed_incidents: tuple[str, ...]

    @property
    def false_alarm_rate(self) -> float:
        """Share of legitimate chips with any finding (directly, or through their buyer)."""
        return self.legit_chips_flagged / self.legit_chips if self.legit_chips else 0.0


def score_detection(world: World, found: Sequence[Finding]) -> Detection:
    """Score ``found`` against ``world``'s incidents."""
    truth = frozenset().union(*(i.subjects for i in world.incidents)) if world.incidents else set()
    by_subject: dict[str, list[Finding]] = {}
    for f in found:
        by_subject.setdefault(f.subject, []).append(f)
    channels: dict[str, ChannelScore] = {}
    missed: list[str] = []
    for channel in CHANNELS:
        incidents = [i for i in world.incidents if i.channel == channel]
        ttd: list[float] = []
        for inc in incidents:
            hits = [f for s in inc.subjects for f in by_subject.get(s, [])]
            if not hits:
                missed.append(inc.incident_id)
                continue
            first = min(f.detected_at for f in hits)
            ttd.append(max(0.0, (first - inc.started_at).total_seconds() / 86400))
        own = [f for f in found if f.channel == channel]
        false = sum(1 for f in own if f.subject not in truth)
        channels[channel] = ChannelScore(
            injected=len(incidents),
            caught=len(ttd),
            missed=len(incidents) - len(ttd),
            false_alarms=false,
            true_findings=len(own) - false,
            ttd_days=tuple(ttd),
        )
    legit = world.legit_chips()
    flagged = _flagged_chips(world, found)
    return Detection(
        channels=channels,
        legit_chips=len(legit),
        legit_chips_flagged=sum(1 for c in legit if c in flagged),
        missed_incidents=tuple(missed),
    )


def _flagged_chips(world: World, found: Sequence[Finding]) -> set[ChipId]:
    by_buyer = world.chips_by_buyer()
    out: set[ChipId] = set()
    for f in found:
        if f.subject_kind is SubjectKind.CHIP:
            out.add(ChipId(f.subject))
        elif f.subject_kind is SubjectKind.PARTY:
            out.update(by_buyer.get(PartyId(f.subject), []))
    return out
