"""Reading the signed envelopes behind event leaves, for those allowed to see them.

The public log shows commitments only (docs/transparency-log.md); a party fetches its own
events' details and envelopes, a regulator, auditor or operator all of them, and checks them with
``chiptrail audit verify --envelopes``. Scoping is the caller's ``party_id`` (None: every party).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from chiptrail.errors import InvalidInput
from chiptrail.ledger.entries import decode_entry
from chiptrail.ledger.envelope_audit import EnvelopeRecord
from chiptrail.ledger.submission import parse_envelope
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import log_leaves_table, submissions_table

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class EnvelopePage:
    """Records of event leaves from ``start`` on, and where the next page starts (None: done)."""

    records: tuple[EnvelopeRecord, ...]
    next_start: int | None


def list_envelope_records(
    db: Database, *, party_id: str | None, start: int = 0, limit: int = MAX_PAGE
) -> EnvelopePage:
    """Event leaves at index ``>= start`` (of ``party_id`` only, unless None) with their envelopes.

    Raises:
        InvalidInput: ``start`` negative or ``limit`` outside 1..1000.
    """
    if start < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"start >= 0 and limit in 1..{MAX_PAGE}", {"field": "limit"})
    t, s = log_leaves_table, submissions_table
    query = (
        select(t.c.leaf_index, t.c.entry, t.c.detail)
        .where(t.c.kind == "event", t.c.leaf_index >= start)
        .order_by(t.c.leaf_index)
        .limit(limit + 1)
    )
    if party_id is not None:
        query = query.where(t.c.party_id == party_id)
    with db.unit() as conn:
        leaves = conn.execute(query).all()
        more = len(leaves) > limit
        leaves = leaves[:limit]
        digests: dict[int, str] = {}
        for index, entry, detail in leaves:
            body = decode_entry(bytes(entry), bytes(detail) if detail is not None else None).body
            digests[int(index)] = str(body.get("envelope_sha256", ""))
        wanted = sorted(set(digests.values()))
        envelopes: dict[str, bytes] = {}
        for chunk in range(0, len(wanted), 400):
            found = conn.execute(
                select(s.c.envelope_sha256, s.c.envelope).where(
                    s.c.envelope_sha256.in_(wanted[chunk : chunk + 400])
                )
            )
            envelopes.update({str(d): bytes(e) for d, e in found})
    records = tuple(
        EnvelopeRecord(
            int(index),
            bytes(detail) if detail is not None else None,
            parse_envelope(envelopes[digests[int(index)]]),
        )
        for index, _, detail in leaves
        if digests[int(index)] in envelopes
    )
    next_start = int(leaves[-1][0]) + 1 if more else None
    return EnvelopePage(records, next_start)
