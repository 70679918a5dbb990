"""The red team's search space: each channel's evasion knob, the values tried, and their cost.

No I/O. ``chiptrail.service.demo.redteam`` builds worlds with each value (``build_world(...,
evasion=...)``), runs the whole pipeline and keeps, per channel, the cheapest evasion that still
escapes: the most a smuggler can move undetected, or the delay and overhead it must accept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from chiptrail.rules.view import RuleConfig
from chiptrail.sim.evasive import Evasion


@dataclass(frozen=True, slots=True)
class Knob:
    """One channel's evasion parameter, the values searched (least to most aggressive) and how a
    value turns into the smuggler's gain (``cost``: a sentence with units)."""

    channel: str
    field: str
    values: tuple[float, ...]
    cost: Callable[[float], str]
    what: str


_LIMITS = RuleConfig()


def _trip(v: float) -> str:
    return (
        f"away at most {v:g} days at a time, then back proving its site: borrowed use, "
        "no permanent diversion"
    )


def _rental(v: float) -> str:
    gpus = v * _LIMITS.rental_threshold_chip_hours / 720
    return (
        f"{v:.0%} of the rental limit per 30 days per concern-controlled group "
        f"(about {gpus:,.0f} GPUs full-time at the {_LIMITS.rental_threshold_chip_hours:,.0f} "
        "chip-hour limit)"
    )


def _orders(v: float) -> str:
    chips = 3 * v * _LIMITS.order_threshold_chips
    return (
        f"{3 * v:.0%} of the limit a year per resolved buyer, nominal (about {chips:,.0f} "
        f"H100-equivalents at the {_LIMITS.order_threshold_chips:,} limit; small worlds round "
        "orders down to whole chips)"
    )


def _stake(v: float) -> str:
    return f"a listed stake of {v:.0%} at most: no control of the buyer"


SEARCH: tuple[Knob, ...] = (
    Knob(
        "hand_carry",
        "hand_carry_trip_days",
        (2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
        _trip,
        "one server (8 chips) goes dark for a trip (a relay is caught at its first round)",
    ),
    Knob(
        "repair",
        "repair_trip_days",
        (2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
        _trip,
        "an unrecorded repair trip of one server (8 chips)",
    ),
    Knob(
        "cloud_rental",
        "rental_fraction",
        (0.5, 0.7, 0.8, 0.85, 0.9, 1.2),
        _rental,
        "a 34/33/33 China-held tenant rents a share of the limit",
    ),
    Knob(
        "split_orders",
        "order_fraction",
        (0.2, 0.24, 0.28, 0.32, 0.36, 0.44),
        _orders,
        "three affiliates order 100 days apart (at 2,000 chips each value is whole chips)",
    ),
    Knob(
        "front_network",
        "listed_stake",
        (0.05, 0.1, 0.15, 0.18, 0.2, 0.3),
        _stake,
        "a listed firm holds a minority stake in a buyer with an unrelated name",
    ),
)
"""What the red team searches; transshipment and volume_gap have no knob here (their evasive
smugglers are caught by custody and dark-chip rules; their cost is the time to detection)."""

LEVELS = 6


def evasion_at(level: int, knobs: Sequence[Knob] = SEARCH) -> Evasion:
    """The evasion with every knob at its ``level``-th value (one world tests all channels).

    Hand-carried servers go dark instead of relaying, so their trip length is what is searched.
    """
    values: dict[str, object] = {k.field: k.values[level] for k in knobs}
    return replace(Evasion(), hand_carry_relay=False, **values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class KnobResult:
    """Recall of one channel at each value of its knob, and the cheapest escaping value."""

    knob: Knob
    recall: tuple[float | None, ...]

    @property
    def escaping(self) -> float | None:
        """The most aggressive value that escapes (recall under 0.5), None when none does."""
        esc = [
            v
            for v, r in zip(self.knob.values, self.recall, strict=True)
            if r is not None and r < 0.5
        ]
        return max(esc) if esc else None

    @property
    def caught_from(self) -> float | None:
        """The least aggressive value caught with recall >= 0.9 (None when none is)."""
        hit = [
            v
            for v, r in zip(self.knob.values, self.recall, strict=True)
            if r is not None and r >= 0.9
        ]
        return min(hit) if hit else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: per-value recall, the cheapest escaping evasion and its cost."""
        esc = self.escaping
        return {
            "channel": self.knob.channel,
            "knob": self.knob.field,
            "what": self.knob.what,
            "recall_by_value": {
                f"{v:g}": r for v, r in zip(self.knob.values, self.recall, strict=True)
            },
            "cheapest_escape": esc,
            "escape_cost": self.knob.cost(esc)
            if esc is not None
            else "none found in the range searched",
            "caught_from": self.knob.cost(self.caught_from)
            if self.caught_from is not None
            else None,
        }
