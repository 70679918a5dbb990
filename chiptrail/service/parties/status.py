"""A party's restricted status, from one place: stored screening matches and list entries.

Owns the ``party_screening`` rows (which list entry matched a stored party, with the list's version
and date) ``service/parties/graph.get_party`` and ``list_parties`` add these
matches to the listed parties before applying the 50% rule, so the party page, ``/v1/parties``,
``parties show`` and the findings all read the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from chiptrail.store.database import Database
from chiptrail.store.findings_tables import party_screening
from chiptrail.store.parties_tables import party_lists
from chiptrail.types import PartyId


@dataclass(frozen=True, slots=True)
class ListMatch:
    """One screening match of a stored party against a list entry (see module docstring)."""

    party_id: str
    list_id: str
    entry_name: str
    score: float
    explanation: str


def record_list_matches(db: Database, matches: Sequence[ListMatch], *, now: datetime) -> int:
    """Store ``matches`` (replacing earlier matches of the same parties), each stamped with its
    list's current version (sha256) and load date. One transaction; returns rows stored."""
    if not matches:
        return 0
    with db.unit() as conn:
        lists = {
            r.list_id: r
            for r in conn.execute(
                select(party_lists).where(
                    party_lists.c.list_id.in_(sorted({m.list_id for m in matches}))
                )
            )
        }
        parties = sorted({m.party_id for m in matches})
        conn.execute(delete(party_screening).where(party_screening.c.party_id.in_(parties)))
        rows = {}
        for m in matches:
            known = lists.get(m.list_id)
            rows[(m.party_id, m.list_id, m.entry_name)] = {
                "party_id": m.party_id,
                "list_id": m.list_id,
                "entry_name": m.entry_name[:1000],
                "score": m.score,
                "explanation": m.explanation,
                "list_sha256": known.sha256 if known is not None else "",
                "list_loaded_at": known.loaded_at if known is not None else None,
                "matched_at": now,
            }
        conn.execute(insert(party_screening), list(rows.values()))
    return len(rows)


def screened_lists(conn: Connection, ids: Iterable[str]) -> dict[PartyId, str]:
    """Parties among ``ids`` with a stored match: party id -> the list it matched."""
    wanted = sorted(set(ids))
    out: dict[PartyId, str] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(party_screening.c.party_id, party_screening.c.list_id)
            .where(party_screening.c.party_id.in_(wanted[start : start + 500]))
            .order_by(party_screening.c.score.desc())
        )
        for pid, lid in rows:
            out.setdefault(PartyId(pid), str(lid))
    return out


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def provenance_rows(conn: Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    """The stored matches of ``ids``: list entry, list version and date, score, explanation."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = conn.execute(
        select(party_screening)
        .where(party_screening.c.party_id.in_(wanted))
        .order_by(party_screening.c.party_id, party_screening.c.score.desc())
    )
    return [
        {
            "party_id": r.party_id,
            "list_id": r.list_id,
            "entry_name": r.entry_name,
            "score": r.score,
            "explanation": r.explanation,
            "list_sha256": r.list_sha256,
            "list_loaded_at": _iso(r.list_loaded_at),
            "matched_at": _iso(r.matched_at),
        }
        for r in rows
    ]


def list_provenance(db: Database, ids: Iterable[str]) -> list[dict[str, Any]]:
    """``provenance_rows`` in its own unit of work."""
    with db.unit() as conn:
        return provenance_rows(conn, ids)
