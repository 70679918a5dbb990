"""Custody records per buyer from the ledger: the ``custody=`` source of party aggregation.

``service.parties_graph.aggregate_party`` counts the chips a group received; the ledger knows
them. A chip counts once per buyer, at the first logged ``receiving`` or ``installing`` event by
that buyer (receiving then installing the same chip is one chip, not two). Events naming a server
or rack count the chips it currently holds. Chips whose model no logged event or device key
records are counted as ``DEFAULT_MODEL`` (the H100-equivalent reference).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from chiptrail.parties.aggregate import CustodyRecord
from chiptrail.service.alerts.view import load_custody
from chiptrail.store.database import Database
from chiptrail.types import PartyId

DEFAULT_MODEL = "h100-sxm"
DELIVERY_STEPS = frozenset({"receiving", "installing"})


def list_custody_records(
    db: Database, buyers: Sequence[PartyId], *, default_model: str = DEFAULT_MODEL
) -> list[CustodyRecord]:
    """Chips the named buyers received or installed, one record per event and chip model."""
    wanted = set(buyers)
    if not wanted:
        return []
    with db.unit() as conn:
        events, models = load_custody(conn)
    seen: set[tuple[str, str]] = set()
    out: list[CustodyRecord] = []
    for ev in sorted(events, key=lambda e: (e.at, e.leaf_index)):
        if ev.biz_step not in DELIVERY_STEPS or ev.party_id not in wanted:
            continue
        per_model: dict[str, int] = defaultdict(int)
        for chip in ev.chip_ids:
            if (ev.party_id, chip) in seen:
                continue
            seen.add((ev.party_id, chip))
            per_model[models.get(chip, default_model)] += 1
        out += [
            CustodyRecord(PartyId(ev.party_id), model, n, ev.at)
            for model, n in sorted(per_model.items())
        ]
    return out


def custody_source(db: Database) -> Callable[[Sequence[PartyId]], Sequence[CustodyRecord]]:
    """The ``custody=`` argument of ``aggregate_party``, reading the ledger of ``db``."""

    def source(buyers: Sequence[PartyId]) -> Sequence[CustodyRecord]:
        return list_custody_records(db, buyers)

    return source
