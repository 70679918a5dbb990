"""The demo use case: simulate a world, run the whole pipeline on it, store and score the findings.

Owns the orchestration; every step calls the capability that owns it (sim, geoloc, parties,
rules), and ``service.rules.store_findings`` writes the findings in one transaction.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chiptrail.errors import InvalidInput
from chiptrail.parties.screening import Query, build_index, screen_queries
from chiptrail.rules import Finding, group_cases, run_rules
from chiptrail.rules.engine import Case
from chiptrail.rules.registry import GRADED_RULE_IDS, RULES
from chiptrail.rules.view import CustodyEvent, LocationFix, ScreeningHit, WorldView, view_to_json
from chiptrail.service.alerts.findings import store_findings
from chiptrail.service.alerts.report import write_report
from chiptrail.service.alerts.rule_config import set_rule_config
from chiptrail.service.alerts.view import build_view_from_store
from chiptrail.service.demo.ledger import ingest_world
from chiptrail.service.demo.store import (
    SIM_LIST_ID,
    listed_parties,
    store_landmarks,
    store_parties,
    store_restricted_list,
    store_trade_records,
    store_verdicts,
)
from chiptrail.service.parties.status import ListMatch, record_list_matches
from chiptrail.sim.judge import judge_rounds_geoloc
from chiptrail.sim.metrics import Detection, score_detection
from chiptrail.sim.scenarios import build_world
from chiptrail.sim.world import World, to_view
from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database
from chiptrail.types import PartyId

log = logging.getLogger(__name__)

DEFAULT_CHIPS = 2000
DEFAULT_SEED = 7
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo did: the world, its findings and cases, the score and where things are."""

    world: World
    fixes: tuple[LocationFix, ...]
    findings: list[Finding]
    cases: list[Case]
    detection: Detection
    report_path: Path
    database: str
    timings_s: dict[str, float] = field(default_factory=dict)
    pipeline: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``chiptrail demo --json`` contract (DESIGN.md) plus context."""
        d = self.detection
        return {
            "channels": {k: v.to_dict() for k, v in d.channels.items()},
            "false_alarm_rate": round(d.false_alarm_rate, 6),
            "chips": len(self.world.chip_ids),
            "seed": self.world.seed,
            "now": self.world.now.isoformat(),
            "legit_chips": d.legit_chips,
            "legit_chips_flagged": d.legit_chips_flagged,
            "findings": len(self.findings),
            "cases": len(self.cases),
            "missed_incidents": list(d.missed_incidents),
            "time_to_detection_days": {
                k: round(sum(v.ttd_days) / len(v.ttd_days), 2) if v.ttd_days else None
                for k, v in d.channels.items()
            },
            "report": str(self.report_path),
            "database": self.database,
            "pipeline": self.pipeline,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
        }


def screen_world(world: World) -> tuple[ScreeningHit, ...]:
    """Every party of ``world`` screened with ``chiptrail.parties`` against its restricted list.

    Names are normalised (legal forms, punctuation, Chinese script transliterated) and fuzzy
    scored by ``parties.screening``; each hit keeps the screening's explanation.
    """
    entries = listed_parties(world)
    if not entries:
        return ()
    index = build_index(entries)
    listed = {p.party_id: e for p, e in zip(entries, world.restricted, strict=True)}
    queries = [Query(p.party_id, p.name, p.country) for p in world.parties.values()]
    hits = []
    for query, matches in screen_queries(index, queries, limit=1):
        for m in matches:
            hits.append(
                ScreeningHit(
                    PartyId(query.query_id),
                    listed[m.party_id].list_name,
                    m.matched_name,
                    m.score,
                    m.explanation,
                )
            )
    return tuple(hits)


@dataclass(frozen=True, slots=True)
class Analysis:
    """The pipeline's products for one world: fixes, screening hits and findings."""

    fixes: tuple[LocationFix, ...]
    hits: tuple[ScreeningHit, ...]
    findings: list[Finding]
    view: WorldView


def analyse_world(
    world: World,
    progress: Progress | None = None,
    events: tuple[CustodyEvent, ...] | None = None,
) -> Analysis:
    """Locate, screen and run every rule over ``world``.

    ``events`` are the custody events as logged (real leaf indexes); default: the simulator's.
    """
    say = progress or (lambda _msg: None)
    say(f"judging {len(world.rounds)} probe rounds against declared sites")
    fixes = judge_rounds_geoloc(world)
    say(f"screening {len(world.parties)} parties against {len(world.restricted)} listed entities")
    hits = screen_world(world)
    say(f"running rules over {len(world.events)} custody events and {len(fixes)} fixes")
    view = to_view(world, fixes, hits, events)
    return Analysis(fixes, hits, run_rules(view), view)


def store_world(db: Database, world: World, fixes: tuple[LocationFix, ...]) -> None:
    """Write everything the simulator made through the product's ingestion paths: verdicts,
    parties (FtM, with incorporation date and sector), tenancy, trade records (orders, payments,
    licences, sites, addresses), the restricted list and the rule thresholds. The custody events
    go in first, through ``ingest_world``."""
    store_verdicts(db, world, fixes)
    store_landmarks(db, world, world.now)
    store_parties(db, world, world.now)
    store_trade_records(db, world, world.now)
    store_restricted_list(db, world, world.now)
    set_rule_config(db, world.config, now=world.now)


def analyse_stored_world(db: Database, world: World, progress: Progress | None = None) -> Analysis:
    """Judge the probe rounds, store the world, and run every rule over what is stored.

    The custody events must be in the ledger already (``ingest_world``). The view is built from
    the database alone (``build_view_from_store``), as ``chiptrail rules run --db`` builds it.
    """
    say = progress or (lambda _msg: None)
    say(f"judging {len(world.rounds)} probe rounds against declared sites")
    fixes = judge_rounds_geoloc(world)
    say("storing verdicts, parties, tenancy, trade records and the restricted list")
    store_world(db, world, fixes)
    view = build_view_from_store(db, world.now)
    say(f"running rules over {len(view.events)} stored custody events and {len(view.fixes)} fixes")
    return Analysis(fixes, view.screening_hits, run_rules(view), view)


@dataclass(frozen=True, slots=True)
class ChannelEvaluation:
    """Precision, recall and time-to-detection of one channel over several seeds."""

    injected: int
    caught: int
    true_findings: int
    false_alarms: int
    ttd_days: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        total = self.true_findings + self.false_alarms
        ttd = sorted(self.ttd_days)
        return {
            "injected": self.injected,
            "caught": self.caught,
            "recall": round(self.caught / self.injected, 4) if self.injected else None,
            "precision": round(self.true_findings / total, 4) if total else None,
            "false_alarms": self.false_alarms,
            "ttd_days_median": round(ttd[len(ttd) // 2], 2) if ttd else None,
            "ttd_days_max": round(ttd[-1], 2) if ttd else None,
        }


def _judge_through_store(world: World) -> Analysis:
    """Write ``world`` into a fresh SQLite database and run the rules over what is stored."""
    with tempfile.TemporaryDirectory(prefix="chiptrail-evaluate-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'world.db'}")
        try:
            ingest_world(db, world)
            return analyse_stored_world(db, world)
        finally:
            db.dispose()


def evaluate_scenarios(
    chips: int,
    seeds: int,
    first_seed: int = 1,
    progress: Progress | None = None,
    adversary: str = "naive",
) -> dict[str, Any]:
    """Run ``seeds`` worlds of ``chips`` chips and pool precision/recall/TTD per channel.

    Each world is written into its own temporary database through the ingestion paths and
    judged from what is stored, as ``chiptrail demo`` is.

    Raises:
        InvalidInput: ``seeds`` outside 1..100 or ``chips`` out of range.
    """
    if not 1 <= seeds <= 100:
        raise InvalidInput("--seeds must be between 1 and 100", {"field": "seeds"})
    say = progress or (lambda _msg: None)
    pooled: dict[str, list[Any]] = {}
    ungraded: dict[str, list[int]] = {}
    fa_rates, fa_ungraded = [], []
    hard_rules = [r for r in RULES if r.rule_id not in GRADED_RULE_IDS]
    started = time.perf_counter()
    for seed in range(first_seed, first_seed + seeds):
        say(f"seed {seed}: simulating {chips} chips")
        world = build_world(chips, seed, adversary=adversary)
        analysis = _judge_through_store(world)
        detection = score_detection(world, analysis.findings)
        fa_rates.append(detection.false_alarm_rate)
        for k, v in detection.channels.items():
            pooled.setdefault(k, []).append(v)
        # the same worlds scored by the hard-threshold rules alone (before the graded rules)
        before = score_detection(world, run_rules(analysis.view, hard_rules))
        fa_ungraded.append(before.false_alarm_rate)
        for k, v in before.channels.items():
            ungraded.setdefault(k, [0, 0])
            ungraded[k][0] += v.caught
            ungraded[k][1] += v.injected
    channels = {
        k: ChannelEvaluation(
            injected=sum(v.injected for v in vs),
            caught=sum(v.caught for v in vs),
            true_findings=sum(v.true_findings for v in vs),
            false_alarms=sum(v.false_alarms for v in vs),
            ttd_days=tuple(t for v in vs for t in v.ttd_days),
        ).to_dict()
        for k, vs in pooled.items()
    }
    for k, (caught, injected) in ungraded.items():
        channels[k]["recall_without_graded"] = round(caught / injected, 4) if injected else None
    return {
        "chips": chips,
        "seeds": seeds,
        "adversary": adversary,
        "channels": channels,
        "false_alarm_rate_mean": round(sum(fa_rates) / len(fa_rates), 6),
        "false_alarm_rate_max": round(max(fa_rates), 6),
        "false_alarm_rate_mean_without_graded": round(sum(fa_ungraded) / len(fa_ungraded), 6),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }


def run_demo(
    db: Database,
    *,
    chips: int = DEFAULT_CHIPS,
    seed: int = DEFAULT_SEED,
    out_dir: Path,
    progress: Progress | None = None,
) -> DemoResult:
    """Build a seeded world of ``chips`` chips, run the pipeline, store findings, write the report.

    Raises:
        InvalidInput: ``chips`` out of range.
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    if chips < 100:
        raise InvalidInput("--chips must be at least 100", {"field": "chips", "value": chips})
    say(f"simulating a world of {chips} chips (seed {seed})")
    world = build_world(chips, seed)
    lap("simulate")
    say(f"signing {len(world.events)} custody events (EPCIS 2.0) into the ledger's Merkle log")
    ingest_world(db, world)
    lap("ledger")
    analysis = analyse_stored_world(db, world, say)
    fixes, found = analysis.fixes, analysis.findings
    cases = group_cases(found, analysis.view)
    lap("analyse")
    detection = score_detection(world, found)
    say(f"storing {len(found)} findings in {len(cases)} cases")
    summary = {"chips": chips, "seed": seed, "false_alarm_rate": detection.false_alarm_rate}
    store_findings(
        db, found, kind="demo", summary=summary, now=datetime.now(UTC), view=analysis.view
    )
    matches = [
        ListMatch(h.party_id, SIM_LIST_ID, h.listed_name, h.score, h.explanation)
        for h in analysis.hits
    ]
    record_list_matches(db, matches, now=world.now)
    lap("store")
    (out_dir / "view.json").parent.mkdir(parents=True, exist_ok=True)
    (out_dir / "view.json").write_bytes(view_to_json(analysis.view))
    say("writing the HTML report")
    report = write_report(
        out_dir / "report.html", world, fixes, found, cases, detection, analysis.view.events
    )
    lap("report")
    return DemoResult(
        world=world,
        fixes=fixes,
        findings=found,
        cases=cases,
        detection=detection,
        report_path=report,
        database=db.url,
        timings_s=timings,
        pipeline={
            "ledger": "service.ledger.submit_envelopes (signed EPCIS 2.0, RFC 9162 log)",
            "location": "geoloc.judge_targets on simulated RTTs (probe signing not simulated)",
            "screening": "parties.screening (normalised, transliterated, fuzzy)",
            "ownership": "parties.graph (ultimate parents, 50% rule) inside the rules",
            "dashboard": "verdicts, parties, ownership and tenancy stored for chiptrail serve",
            "rules": "chiptrail.rules (all)",
        },
    )
