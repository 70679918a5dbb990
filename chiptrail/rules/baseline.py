"""Each chip's own location behaviour: RTT baselines per landmark and the missed-round budget.

No I/O: fixes (with their per-landmark RTTs) and custody events come in the ``RuleContext``;
``rules/risk.py`` combines the signals emitted here. Three signals, all graded (nats):

- ``rtt-jump``: a relay adds at least its own distance to every round trip, so a chip whose
  minimum RTT to a landmark rises above its own earlier minimum *at the same site*, more than the
  other chips of that site rose in the same round, is evidence at the first relayed round.
  Subtracting the site's shift means a network change that moves every chip of a site at once
  adds nothing.
- ``missed-rounds``: rounds in which an installed chip did not prove its site (missed, or answered
  but not VERIFIED) counted over a sliding window of ``WINDOW_SLOTS`` probing rounds as a binomial
  likelihood ratio (away half the time vs the site's own miss rate in that round), so a 6-day trip
  inside 30 days adds up long before the 14-day dark deadline. A site-wide outage raises the
  site's miss rate for that round, and so adds nothing.
- ``missed-with-lot``: other chips of the same site missed exactly the same run of rounds; honest
  drop-outs are independent, a server carried away is not (Poisson tail of the coincidence).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.location import fix_evidence, ledger_evidence
from chiptrail.rules.risk import Signal
from chiptrail.rules.view import CustodyEvent, LocationFix
from chiptrail.types import ChipId, Verdict

CHANNEL = "hand_carry"
JUMP_NOISE_MS = 2.5
"""Rise of a chip's RTT over its own minimum that honest noise reaches (simulated honest chips:
99.9th percentile 2.1 ms). Cheapest evasion: keep the chip within about 2.5 ms of round trip
(about 375 km at c, 250 km of fibre) of its site; that is not a diversion abroad."""
JUMP_NATS_PER_MS = 2.0
"""Weight of each ms of excess rise; 6 ms of excess (a relay 900 km away at c) alone alerts."""
MAX_SIGNAL_NATS = 30.0
"""No single signal counts for more than this (a likelihood ratio of about 10^13)."""
WINDOW_SLOTS = 5
"""The sliding window of the missed-round budget, in probing rounds (10 days at 2-day rounds)."""
AWAY_MISS_RATE = 0.5
"""The alternative hypothesis: a chip on a trip misses half the rounds of the window."""
MIN_MISS_RATE = 0.01
"""Floor on the per-round honest miss rate, so a clean site does not make one miss damning."""
DEFAULT_INTERVAL_DAYS = 2.0
"""Probing interval assumed when the fixes do not show one."""
RateFn = Callable[[str | None, int, ChipId], float]
"""Honest miss rate of a (site, round) for a chip, leaving the chip itself out."""
_ATTESTING = frozenset({"installing"})
_NOT_ATTESTING = frozenset({"shipping", "receiving", "decommissioning", "repairing"})


def location_signals(ctx: RuleContext) -> list[Signal]:
    """Every ``rtt-jump``, ``missed-rounds`` and ``missed-with-lot`` signal of the view's chips."""
    return rtt_jump_signals(ctx) + missed_round_signals(ctx)


def _best_rtts(fix: LocationFix) -> dict[str, float]:
    return dict(fix.rtts_ms)


def rtt_jump_signals(ctx: RuleContext) -> list[Signal]:
    """``rtt-jump``: RTT rises over the chip's own minimum at its site, net of the site's shift."""
    interval = probing_interval_days(ctx)
    origin = _origin(ctx, interval)
    # rise[(site, slot, landmark)] -> each chip's rise over its own earlier minimum
    rises: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    per_chip: list[tuple[ChipId, LocationFix, int, dict[str, float]]] = []
    for chip, fixes in ctx.fixes_by_chip.items():
        floor: dict[tuple[str | None, str], float] = {}
        for fix in fixes:
            slot = _slot(fix.at, origin, interval)
            rise: dict[str, float] = {}
            for lm, ms in _best_rtts(fix).items():
                key = (fix.site_id, lm)
                if key in floor:
                    rise[lm] = ms - floor[key]
                    rises[(str(fix.site_id), slot, lm)].append(rise[lm])
                floor[key] = min(ms, floor.get(key, ms))
            if rise:
                per_chip.append((chip, fix, slot, rise))
    shift = {k: statistics.median(v) if len(v) >= 3 else 0.0 for k, v in rises.items()}
    best: dict[ChipId, Signal] = {}
    for chip, fix, slot, rise in per_chip:
        # the smallest net rise over the round's landmarks: a relay raises all of them
        net = min(r - max(0.0, shift[(str(fix.site_id), slot, lm)]) for lm, r in rise.items())
        llr = min(MAX_SIGNAL_NATS, max(0.0, (net - JUMP_NOISE_MS) * JUMP_NATS_PER_MS))
        if llr <= 0.0 or (chip in best and best[chip].llr >= llr):
            continue
        best[chip] = Signal(
            signal="rtt-jump",
            channel=CHANNEL,
            subject=chip,
            subject_kind=SubjectKind.CHIP,
            llr=llr,
            at=fix.at,
            explanation=(
                f"round trips of chip {chip} rose {net:.1f} ms over its own minimum at site "
                f"{fix.site_id} (more than the site's other chips; honest noise "
                f"{JUMP_NOISE_MS:g} ms): a relay of at least {net * 149.896 / 2:.0f} km"
            ),
            evidence=(fix_evidence(fix),),
        )
    return list(best.values())


def probing_interval_days(ctx: RuleContext) -> float:
    """The probing interval: the median gap between a chip's consecutive fixes (days)."""
    gaps = [
        (b.at - a.at).total_seconds() / 86400
        for fixes in ctx.fixes_by_chip.values()
        for a, b in itertools.pairwise(fixes)
    ]
    gaps = [g for g in gaps if g > 0]
    return statistics.median(gaps) if gaps else DEFAULT_INTERVAL_DAYS


def _origin(ctx: RuleContext, interval: float) -> datetime:
    """Start of round 0: a quarter interval before the first fix, so jittered rounds fall inside."""
    firsts = [f[0].at for f in ctx.fixes_by_chip.values() if f]
    return (min(firsts) if firsts else ctx.view.now) - timedelta(days=interval / 4)


def _slot(at: datetime, origin: datetime, interval: float) -> int:
    return math.floor((at - origin).total_seconds() / 86400 / interval + 1e-9)


@dataclass(frozen=True, slots=True)
class _Attest:
    """Slots in which a chip was due to prove its site, and the site."""

    site_id: str | None
    slots: tuple[int, ...]
    install: CustodyEvent


def _attesting(
    events: list[CustodyEvent], origin: datetime, interval: float, now: datetime
) -> list[_Attest]:
    """Slots fully inside a period where the chip's custody says it runs at a site."""
    out = []
    last = _slot(now, origin, interval)
    for i, ev in enumerate(events):
        if ev.biz_step not in _ATTESTING:
            continue
        end = next((e.at for e in events[i + 1 :] if e.biz_step in _NOT_ATTESTING), now)
        first = math.ceil((ev.at - origin).total_seconds() / 86400 / interval - 1e-9)
        stop = min(last, _slot(end, origin, interval))
        slots = tuple(k for k in range(max(first, 0), stop))
        if slots:
            out.append(_Attest(ev.site_id, slots, ev))
    return out


def missed_round_signals(ctx: RuleContext) -> list[Signal]:
    """``missed-rounds`` and ``missed-with-lot`` for every chip due to attest."""
    interval = probing_interval_days(ctx)
    origin = _origin(ctx, interval)
    now = ctx.view.now
    proven: dict[ChipId, dict[int, LocationFix]] = defaultdict(dict)
    seen: dict[ChipId, dict[int, LocationFix]] = defaultdict(dict)
    for chip, fixes in ctx.fixes_by_chip.items():
        for fix in fixes:
            slot = _slot(fix.at, origin, interval)
            seen[chip][slot] = fix
            if fix.verdict is Verdict.VERIFIED:
                proven[chip][slot] = fix
    due: dict[ChipId, list[_Attest]] = {}
    site_due: dict[tuple[str | None, int], int] = defaultdict(int)
    site_missed: dict[tuple[str | None, int], set[ChipId]] = defaultdict(set)
    for chip, events in ctx.events_by_chip.items():
        periods = _attesting(events, origin, interval, now)
        if not periods:
            continue
        due[chip] = periods
        for p in periods:
            for k in p.slots:
                site_due[(p.site_id, k)] += 1
                if k not in proven[chip]:
                    site_missed[(p.site_id, k)].add(chip)
    total_due = sum(site_due.values())
    fleet_rate = sum(len(v) for v in site_missed.values()) / total_due if total_due else 0.0
    floor = max(MIN_MISS_RATE, fleet_rate)

    def rate(site: str | None, k: int, chip: ChipId) -> float:
        n = site_due[(site, k)] - 1
        missed = len(site_missed[(site, k)] - {chip})
        return min(0.99, max(floor, missed / n if n > 0 else floor))

    out: list[Signal] = []
    for chip, periods in due.items():
        for p in periods:
            out += _window_signals(chip, p, proven[chip], seen[chip], rate, origin, interval)
            out += _lot_signals(
                chip, p, proven[chip], site_due, site_missed, rate, origin, interval
            )
    return out


def _slot_end(k: int, origin: datetime, interval: float) -> datetime:
    return origin + timedelta(days=(k + 1) * interval)


def _window_signals(
    chip: ChipId,
    p: _Attest,
    proven: dict[int, LocationFix],
    seen: dict[int, LocationFix],
    rate: RateFn,
    origin: datetime,
    interval: float,
) -> list[Signal]:
    terms = []
    for k in p.slots:
        pk = rate(p.site_id, k, chip)
        if k in proven:
            terms.append(math.log((1 - AWAY_MISS_RATE) / (1 - pk)))
        else:
            terms.append(math.log(AWAY_MISS_RATE / pk))
    best = 0.0
    out = []
    for end in range(len(terms)):
        first = max(0, end - WINDOW_SLOTS + 1)
        llr = min(
            MAX_SIGNAL_NATS, max(math.fsum(terms[s : end + 1]) for s in range(first, end + 1))
        )
        if llr <= best + 0.5:
            continue
        best = llr
        until = _slot_end(p.slots[end], origin, interval)
        window = p.slots[max(0, end - WINDOW_SLOTS + 1) : end + 1]
        missed = [k for k in window if k not in proven]
        shown = [seen[k] for k in window if k in seen][-2:]
        out.append(
            Signal(
                signal="missed-rounds",
                channel=CHANNEL,
                subject=chip,
                subject_kind=SubjectKind.CHIP,
                llr=llr,
                at=until,
                explanation=(
                    f"chip {chip} did not prove site {p.site_id} in {len(missed)} of the "
                    f"{len(window)} rounds up to {until:%Y-%m-%d}"
                    f" (missed or not VERIFIED; the site's other chips mostly proved theirs)"
                ),
                evidence=(
                    ledger_evidence(p.install),
                    *(fix_evidence(f) for f in shown),
                ),
            )
        )
    return out


def _poisson_tail(lam: float, k: int) -> float:
    """P(Poisson(lam) >= k)."""
    if k <= 0:
        return 1.0
    term = math.exp(-lam)
    below = term
    for i in range(1, k):
        term *= lam / i
        below += term
    return max(0.0, 1.0 - below) if below < 0.999999 else _tail_direct(lam, k)


def _tail_direct(lam: float, k: int) -> float:
    # sum the tail directly when 1 - below underflows (tiny lam)
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1) if lam > 0 else -math.inf
    return math.exp(log_term) * (1 + lam / (k + 1))


def _lot_signals(
    chip: ChipId,
    p: _Attest,
    proven: dict[int, LocationFix],
    site_due: dict[tuple[str | None, int], int],
    site_missed: dict[tuple[str | None, int], set[ChipId]],
    rate: RateFn,
    origin: datetime,
    interval: float,
) -> list[Signal]:
    """Runs of >= 2 consecutive missed rounds that other chips of the site missed exactly too."""
    out = []
    run: list[int] = []
    for k in (*p.slots, None):
        if k is not None and k not in proven:
            run.append(k)
            continue
        if len(run) >= 2:
            sharing = set.intersection(*(site_missed[(p.site_id, j)] for j in run)) - {chip}
            # the same run exactly: proven just before and just after it, as this chip was (a
            # block of chips gone for good shares every run and says nothing about this one)
            for j in (run[0] - 1, k):
                if j is not None and j in p.slots:
                    sharing -= site_missed[(p.site_id, j)]
            n_other = min(site_due[(p.site_id, j)] for j in run) - 1
            lam = n_other * math.prod(rate(p.site_id, j, chip) for j in run)
            tail = _poisson_tail(lam, len(sharing))
            llr = min(MAX_SIGNAL_NATS, -math.log(max(tail, 1e-300))) if sharing else 0.0
            if llr > 0.0:
                out.append(
                    Signal(
                        signal="missed-with-lot",
                        channel=CHANNEL,
                        subject=chip,
                        subject_kind=SubjectKind.CHIP,
                        llr=llr,
                        at=_slot_end(run[-1], origin, interval),
                        explanation=(
                            f"{len(sharing)} other chip(s) of site {p.site_id} missed the same "
                            f"{len(run)} rounds as chip {chip} (about {lam:.2g} expected by chance)"
                        ),
                        evidence=(ledger_evidence(p.install),),
                    )
                )
        run = []
    return out
