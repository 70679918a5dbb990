"""Volumes per ultimate parent and rolling time window; structuring across affiliated buyers.

No I/O: callers pass custody records, tenancy reports, a party -> ultimate parents mapping and a
``tpp_of(chip_model)`` function (the service wires ``chiptrail.hardware``; core packages do not
import each other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chiptrail.errors import InvalidInput
from chiptrail.types import PartyId

H100_TPP = 15_832.0
"""Total Processing Performance of one H100 SXM (dense FP8: 1,979 TOPS x 8 bits), the default unit
of H100-equivalents when the hardware catalogue is not passed in."""

DEFAULT_STRUCTURING_CHIPS = 2_000
"""Per-buyer chip count below which orders draw less scrutiny (press reports: about 2,000 GPUs)."""

TppOf = Callable[[str], float]


@dataclass(frozen=True, slots=True)
class CustodyRecord:
    """Chips that reached a buyer: ``quantity`` chips of ``chip_model`` at ``at`` (UTC)."""

    buyer_id: PartyId
    chip_model: str
    quantity: int
    at: datetime


@dataclass(frozen=True, slots=True)
class TenancyRecord:
    """A cloud operator's report: ``tenant_id`` used ``chip_hours`` of ``chip_model``."""

    operator_id: str
    tenant_id: PartyId
    chip_model: str
    chip_hours: float
    period_start_at: datetime
    period_end_at: datetime


@dataclass(frozen=True, slots=True)
class BuyerVolume:
    """One affiliated buyer's part of a window."""

    party_id: PartyId
    chips: int
    h100_equivalents: float


@dataclass(frozen=True, slots=True)
class VolumeWindow:
    """The busiest window of one ultimate parent.

    Attributes:
        parent_id: the ultimate parent.
        window_start_at / window_end_at: the window (length as requested).
        chips: chips bought by the parent's group inside the window.
        tpp_total: their summed TPP.
        h100_equivalents: ``tpp_total`` in H100s.
        chip_hours / h100_equivalent_hours: cloud usage by tenants of the group in the window.
        buyers: per affiliated buyer or tenant, largest first.
    """

    parent_id: PartyId
    window_start_at: datetime
    window_end_at: datetime
    chips: int
    tpp_total: float
    h100_equivalents: float
    chip_hours: float
    h100_equivalent_hours: float
    buyers: tuple[BuyerVolume, ...]


@dataclass(frozen=True, slots=True)
class StructuringFinding:
    """Affiliated buyers each stayed under ``threshold_chips`` while together they exceeded it."""

    rule: str
    parent_id: PartyId
    window_start_at: datetime
    window_end_at: datetime
    threshold_chips: int
    total_chips: int
    buyers: tuple[BuyerVolume, ...]

    @property
    def explanation(self) -> str:
        """A sentence naming the buyers."""
        parts = ", ".join(f"{b.party_id} {b.chips}" for b in self.buyers)
        return (
            f"{len(self.buyers)} buyers under {self.parent_id} bought {self.total_chips} chips "
            f"between {self.window_start_at.isoformat()} and {self.window_end_at.isoformat()} "
            f"({parts}); each stayed under {self.threshold_chips}"
        )


@dataclass(frozen=True, slots=True)
class _Event:
    at: datetime
    party: PartyId
    chips: int
    tpp: float
    chip_hours: float
    h100_hours: float


def _check(records: Iterable[CustodyRecord], tenancy: Iterable[TenancyRecord]) -> None:
    for r in records:
        if r.quantity < 0:
            raise InvalidInput(f"custody record for {r.buyer_id}: negative quantity {r.quantity}")
        if r.at.tzinfo is None:
            raise InvalidInput(f"custody record for {r.buyer_id}: time without a time zone")
    for t in tenancy:
        if t.chip_hours < 0:
            raise InvalidInput(f"tenancy of {t.tenant_id}: negative chip-hours {t.chip_hours}")
        if t.period_end_at < t.period_start_at:
            raise InvalidInput(f"tenancy of {t.tenant_id}: period ends before it starts")


def _events(
    custody: Iterable[CustodyRecord],
    tenancy: Iterable[TenancyRecord],
    parents_of: Mapping[PartyId, tuple[PartyId, ...]],
    tpp_of: TppOf,
    h100_tpp: float,
) -> dict[PartyId, list[_Event]]:
    by_parent: dict[PartyId, list[_Event]] = {}
    for r in custody:
        tpp = tpp_of(r.chip_model) * r.quantity
        for p in parents_of.get(r.buyer_id, (r.buyer_id,)):
            by_parent.setdefault(p, []).append(_Event(r.at, r.buyer_id, r.quantity, tpp, 0.0, 0.0))
    for t in tenancy:
        h100_hours = t.chip_hours * tpp_of(t.chip_model) / h100_tpp
        for p in parents_of.get(t.tenant_id, (t.tenant_id,)):
            by_parent.setdefault(p, []).append(
                _Event(t.period_end_at, t.tenant_id, 0, 0.0, t.chip_hours, h100_hours)
            )
    for events in by_parent.values():
        events.sort(key=lambda e: (e.at, e.party))
    return by_parent


def _buyers(events: Iterable[_Event], h100_tpp: float) -> tuple[BuyerVolume, ...]:
    chips: dict[PartyId, int] = {}
    h100: dict[PartyId, float] = {}
    for e in events:
        chips[e.party] = chips.get(e.party, 0) + e.chips
        h100[e.party] = h100.get(e.party, 0.0) + e.tpp / h100_tpp + e.h100_hours
    return tuple(
        BuyerVolume(p, chips[p], round(h100[p], 6))
        for p in sorted(chips, key=lambda q: (-chips[q], -h100[q], q))
    )


def _windows(events: list[_Event], window: timedelta) -> Iterable[tuple[int, int]]:
    """(start, end) index ranges of every window ending at an event (two pointers)."""
    lo = 0
    for hi, e in enumerate(events):
        while events[lo].at < e.at - window:
            lo += 1
        yield lo, hi + 1


def aggregate_volumes(
    custody: Iterable[CustodyRecord],
    tenancy: Iterable[TenancyRecord],
    parents_of: Mapping[PartyId, tuple[PartyId, ...]],
    tpp_of: TppOf,
    window: timedelta,
    *,
    h100_tpp: float = H100_TPP,
) -> list[VolumeWindow]:
    """The busiest rolling window of each ultimate parent, by H100-equivalents (chips + usage).

    Args:
        custody: chips delivered to buyers.
        tenancy: cloud chip-hours by tenants (counted at the end of the reported period).
        parents_of: party -> ultimate parents (a party missing here is its own parent). A buyer
            with several ultimate parents (a 50/50 joint venture) counts for each.
        tpp_of: TPP of one chip of a model (raise ``NotFound`` for unknown models).
        window: window length.
        h100_tpp: TPP of one H100-equivalent.

    Returns:
        One ``VolumeWindow`` per parent, largest first.
    """
    custody, tenancy = list(custody), list(tenancy)
    _check(custody, tenancy)
    if window <= timedelta(0):
        raise InvalidInput("window must be positive")
    out = []
    for parent, events in _events(custody, tenancy, parents_of, tpp_of, h100_tpp).items():
        best: tuple[float, int, int] | None = None
        for lo, hi in _windows(events, window):
            value = sum(e.tpp / h100_tpp + e.h100_hours for e in events[lo:hi])
            if best is None or value > best[0]:
                best = (value, lo, hi)
        assert best is not None  # noqa: S101 - every parent has at least one event
        _, lo, hi = best
        inside = events[lo:hi]
        tpp = sum(e.tpp for e in inside)
        out.append(
            VolumeWindow(
                parent_id=parent,
                window_start_at=inside[-1].at - window,
                window_end_at=inside[-1].at,
                chips=sum(e.chips for e in inside),
                tpp_total=tpp,
                h100_equivalents=round(tpp / h100_tpp, 6),
                chip_hours=sum(e.chip_hours for e in inside),
                h100_equivalent_hours=round(sum(e.h100_hours for e in inside), 6),
                buyers=_buyers(inside, h100_tpp),
            )
        )
    out.sort(key=lambda v: (-(v.h100_equivalents + v.h100_equivalent_hours), v.parent_id))
    return out


def find_structuring(
    custody: Iterable[CustodyRecord],
    parents_of: Mapping[PartyId, tuple[PartyId, ...]],
    window: timedelta,
    *,
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS,
) -> list[StructuringFinding]:
    """Split orders: in some window, two or more affiliated buyers each bought fewer than
    ``threshold_chips`` while the group bought ``threshold_chips`` or more.

    Returns:
        At most one finding per ultimate parent (its largest such window), sorted by parent.
    """
    custody = list(custody)
    _check(custody, ())
    if threshold_chips <= 0 or window <= timedelta(0):
        raise InvalidInput("threshold_chips and window must be positive")
    found = []
    for parent, events in sorted(_events(custody, (), parents_of, lambda _m: 0.0, 1.0).items()):
        best: StructuringFinding | None = None
        for lo, hi in _windows(events, window):
            inside = events[lo:hi]
            total = sum(e.chips for e in inside)
            if total < threshold_chips or (best is not None and total <= best.total_chips):
                continue
            buyers = _buyers(inside, 1.0)
            if len(buyers) < 2 or any(b.chips >= threshold_chips for b in buyers):
                continue
            best = StructuringFinding(
                rule="split-orders",
                parent_id=parent,
                window_start_at=inside[-1].at - window,
                window_end_at=inside[-1].at,
                threshold_chips=threshold_chips,
                total_chips=total,
                buyers=tuple(BuyerVolume(b.party_id, b.chips, 0.0) for b in buyers),
            )
        if best is not None:
            found.append(best)
    return found
