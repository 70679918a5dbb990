"""The red team and the threshold calibration: worlds built with searched evasions, scored.

Orchestration only: the search space is ``chiptrail.sim.redteam``'s, the pipeline
``service.demo.run.analyse_world``, the threshold arithmetic ``rules.risk.threshold_for_budget``.
Nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chiptrail.errors import InvalidInput
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.risk import ALERT_THRESHOLD_NATS, threshold_for_budget
from chiptrail.service.demo.run import analyse_world
from chiptrail.sim.metrics import score_detection
from chiptrail.sim.redteam import LEVELS, SEARCH, KnobResult, evasion_at
from chiptrail.sim.scenarios import build_world
from chiptrail.types import ChipId, PartyId

Progress = Callable[[str], None]
TUNING_SEEDS = (101, 102, 103)
"""The tuning family (naive adversary, these seeds); red team and ``evaluate`` report on others."""


def run_redteam(
    chips: int = 1000, seeds: int = 2, first_seed: int = 201, progress: Progress | None = None
) -> dict[str, Any]:
    """Search every channel's evasion knob; per channel the cheapest evasion that escapes.

    Each level builds ``seeds`` evasive worlds with every knob at that level (seeds
    ``first_seed``..; a family apart from the tuning seeds) and scores recall per channel.

    Raises:
        InvalidInput: ``seeds`` outside 1..20.
    """
    if not 1 <= seeds <= 20:
        raise InvalidInput("--seeds must be between 1 and 20", {"field": "seeds"})
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    recalls: dict[str, list[float | None]] = {k.channel: [] for k in SEARCH}
    for level in range(LEVELS):
        caught = dict.fromkeys(recalls, 0)
        injected = dict.fromkeys(recalls, 0)
        for seed in range(first_seed, first_seed + seeds):
            say(f"level {level + 1}/{LEVELS}, seed {seed}")
            world = build_world(chips, seed, adversary="evasive", evasion=evasion_at(level))
            detection = score_detection(world, analyse_world(world).findings)
            for ch in recalls:
                caught[ch] += detection.channels[ch].caught
                injected[ch] += detection.channels[ch].injected
        for ch in recalls:
            recalls[ch].append(round(caught[ch] / injected[ch], 3) if injected[ch] else None)
    return {
        "chips": chips,
        "seeds": list(range(first_seed, first_seed + seeds)),
        "threshold_nats": ALERT_THRESHOLD_NATS,
        "channels": [KnobResult(k, tuple(recalls[k.channel])).to_dict() for k in SEARCH],
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def calibrate_threshold(
    chips: int = 2000,
    seeds: tuple[int, ...] = TUNING_SEEDS,
    budget: float = 0.005,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The alert threshold from a false-alarm budget on the legitimate chips of naive worlds.

    A legitimate chip's risk is the larger of its own combined risk and its buyer's.
    """
    say = progress or (lambda _msg: None)
    legit_risks: list[float] = []
    for seed in seeds:
        say(f"calibrating on seed {seed} (naive adversary)")
        world = build_world(chips, seed)
        analysis = analyse_world(world)
        risk = {r.subject: r.risk for r in RuleContext(analysis.view).risks}
        buyer_of: dict[ChipId, PartyId] = {
            c: b for b, cs in world.chips_by_buyer().items() for c in cs
        }
        for chip in world.legit_chips():
            legit_risks.append(max(risk.get(chip, 0.0), risk.get(buyer_of.get(chip, ""), 0.0)))
    ranked = sorted(legit_risks, reverse=True)
    return {
        "seeds": list(seeds),
        "adversary": "naive",
        "budget": budget,
        "legit_chips": len(ranked),
        "legit_risk_top": [round(r, 2) for r in ranked[:10]],
        "threshold_nats": round(threshold_for_budget(ranked, budget), 3),
        "threshold_in_use": ALERT_THRESHOLD_NATS,
        "subject_kind": SubjectKind.CHIP.value,
    }
