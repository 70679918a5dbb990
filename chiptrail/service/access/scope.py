"""Party scoping: which chips, findings and parties a caller's party may see and change.

Owns the decision (one function per kind of resource) for the API's policy dependency and for
service functions that filter lists; leaves roles and HTTP to ``api/access.py``.

A party reaches an asset (chip, board, server, rack) when it is the asset's current custodian, the
destination of its pending shipment, or the submitter of any logged event in the asset's history
(it commissioned, shipped, received, installed, repaired ...), and it reaches every asset inside
one it reaches (an operator holding a server reaches its chips). A party reaches a finding whose
subject is itself or an asset it reaches. Admins and analysts (regulator staff) reach everything;
everything else is refused with the same message whether it exists or not, so a refusal does not
reveal that another party's chip exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, exists, or_, select, true, union

from chiptrail.errors import PermissionDenied
from chiptrail.service.auth import Caller
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import findings
from chiptrail.store.ledger_tables import asset_history_table, assets_table, log_leaves_table

MAX_NESTING = 16
"""Containment depth followed upwards (chip in board in server in rack ...); deeper is refused."""


def _chip_denied(epc: str, caller: Caller) -> PermissionDenied:
    return PermissionDenied(
        f"{epc} is not an asset your party holds, shipped, received or operates",
        {"epc": epc, "caller_party_id": caller.party_id},
    )


def _touched(conn: Connection, party_id: str, epc: str) -> bool:
    h, lv = asset_history_table, log_leaves_table
    query = select(
        exists()
        .where(h.c.epc == epc)
        .where(lv.c.leaf_index == h.c.leaf_index)
        .where(lv.c.party_id == party_id)
    )
    return bool(conn.scalar(query))


def party_reaches_asset(conn: Connection, party_id: str, epc: str) -> bool:
    """True when ``party_id`` holds, shipped, received or operates ``epc`` or an asset around it."""
    a = assets_table
    current: str | None = epc
    for _ in range(MAX_NESTING):
        if current is None:
            return False
        row = conn.execute(
            select(a.c.custodian, a.c.parent_epc, a.c.state).where(a.c.epc == current)
        ).first()
        if row is None:
            return False
        if row.custodian == party_id or _pending_destination(row.state) == party_id:
            return True
        if _touched(conn, party_id, current):
            return True
        current = row.parent_epc
    return False


def _pending_destination(state: str) -> str | None:
    try:
        parsed: Any = json.loads(state)
    except ValueError:
        return None
    value = parsed.get("pending_destination") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


def require_asset(db: Database, caller: Caller, epc: str) -> None:
    """Refuse unless the caller may see and change the asset ``epc``.

    Raises:
        PermissionDenied: the caller's party does not reach the asset (or it does not exist).
    """
    if caller.sees_all_parties:
        return
    if caller.party_id is None:
        raise _chip_denied(epc, caller)
    with db.unit() as conn:
        if not party_reaches_asset(conn, caller.party_id, epc):
            raise _chip_denied(epc, caller)


def require_assets(db: Database, caller: Caller, epcs: Sequence[str]) -> None:
    """``require_asset`` for every one of ``epcs`` in one transaction (bulk registrations).

    Raises:
        PermissionDenied: names the first asset the caller's party does not reach.
    """
    if caller.sees_all_parties:
        return
    with db.unit() as conn:
        for epc in dict.fromkeys(epcs):
            if caller.party_id is None or not party_reaches_asset(conn, caller.party_id, epc):
                raise _chip_denied(epc, caller)


def party_assets(party_id: str) -> Select[Any]:
    """SELECT of every EPC ``party_id`` reaches (a recursive query down the containment tree)."""
    h, lv, a = asset_history_table, log_leaves_table, assets_table
    touched = (
        select(h.c.epc.label("epc"))
        .join(lv, lv.c.leaf_index == h.c.leaf_index)
        .where(lv.c.party_id == party_id)
    )
    held = select(a.c.epc.label("epc")).where(a.c.custodian == party_id)
    seed = union(touched, held).subquery("party_seed")
    tree = select(seed.c.epc).cte("party_assets", recursive=True)
    inside = select(a.c.epc.label("epc")).where(a.c.parent_epc == tree.c.epc)
    tree = tree.union(inside)
    return select(tree.c.epc)


def findings_clause(caller: Caller | None) -> ColumnElement[bool]:
    """WHERE clause limiting the ``findings`` table to those the caller reaches.

    ``None`` (the CLI, trusted local use) and roles that see all parties see every finding.
    """
    if caller is None or caller.sees_all_parties:
        return true()
    if caller.party_id is None:
        return findings.c.finding_id.is_(None)
    return or_(
        findings.c.subject == caller.party_id,
        findings.c.subject.in_(party_assets(caller.party_id)),
    )


def require_finding(db: Database, caller: Caller, finding_id: str) -> None:
    """Refuse unless the finding is about the caller's party or an asset it reaches.

    Raises:
        PermissionDenied: another party's finding (or no such finding).
    """
    if caller.sees_all_parties:
        return
    with db.unit() as conn:
        found = conn.scalar(
            select(
                exists().where(findings.c.finding_id == finding_id).where(findings_clause(caller))
            )
        )
    if not found:
        raise PermissionDenied(
            f"finding {finding_id!r} is not about your party or an asset it reaches",
            {"finding_id": finding_id, "caller_party_id": caller.party_id},
        )
