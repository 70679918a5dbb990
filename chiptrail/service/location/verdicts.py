"""Stored location verdicts read back for the dashboard: the latest per chip, and a chip's history.

Read-only over the probe capability's ``location_verdicts`` table; computing verdicts stays in
``service/location/probe.py`` (``locate_chip``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, select

from chiptrail.errors import InvalidInput
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import location_verdicts_table as verdicts
from chiptrail.types import Verdict


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """One stored verdict with the point estimate, countries and evidence it was based on.

    ``lat``/``lon`` are the point estimate in WGS84 degrees (``None`` without measurements).
    """

    verdict_id: int
    chip_id: str
    verdict: Verdict
    computed_at: datetime
    lat: float | None
    lon: float | None
    declared_country: str | None
    n_landmarks: int
    proven_countries: tuple[str, ...]
    likely_countries: tuple[str, ...]
    evidence: dict[str, Any]


def _from_row(row: Row[Any]) -> StoredVerdict:
    evidence = json.loads(row.evidence_json)
    at = row.computed_at
    return StoredVerdict(
        verdict_id=int(row.verdict_id),
        chip_id=row.chip_id,
        verdict=Verdict(row.verdict),
        computed_at=at if at.tzinfo else at.replace(tzinfo=UTC),
        lat=evidence.get("lat"),
        lon=evidence.get("lon"),
        declared_country=row.declared_country,
        n_landmarks=int(row.n_landmarks),
        proven_countries=tuple(evidence.get("proven_countries") or ()),
        likely_countries=tuple(evidence.get("likely_countries") or ()),
        evidence=evidence,
    )


def parse_verdict(text: str) -> Verdict:
    """A verdict from its wire string.

    Raises:
        InvalidInput: not VIOLATION, SUSPECT, VERIFIED or UNVERIFIED.
    """
    try:
        return Verdict(text.upper())
    except ValueError as exc:
        raise InvalidInput(
            f"verdict {text!r} is not one of {', '.join(Verdict)}", {"field": "verdict"}
        ) from exc


def list_latest_verdicts(
    db: Database, *, after_chip: str | None = None, limit: int = 500, verdict: Verdict | None = None
) -> list[StoredVerdict]:
    """The newest stored verdict of each chip, ordered by chip id, after ``after_chip``."""
    latest = (
        select(func.max(verdicts.c.verdict_id).label("verdict_id"))
        .group_by(verdicts.c.chip_id)
        .subquery()
    )
    query = (
        select(verdicts)
        .join(latest, verdicts.c.verdict_id == latest.c.verdict_id)
        .order_by(verdicts.c.chip_id)
        .limit(limit)
    )
    if after_chip is not None:
        query = query.where(verdicts.c.chip_id > after_chip)
    if verdict is not None:
        query = query.where(verdicts.c.verdict == verdict.value)
    with db.unit() as conn:
        return [_from_row(r) for r in conn.execute(query)]


def list_chip_verdicts(db: Database, chip_id: str, *, limit: int = 100) -> list[StoredVerdict]:
    """A chip's stored verdicts, newest first (its located regions over time)."""
    query = (
        select(verdicts)
        .where(verdicts.c.chip_id == chip_id)
        .order_by(verdicts.c.verdict_id.desc())
        .limit(limit)
    )
    with db.unit() as conn:
        return [_from_row(r) for r in conn.execute(query)]
