"""Use cases of the ownership graph: add parties, show a party with its owners and restrictions,
store tenancy reports, aggregate volumes per ultimate parent.

Each public function is one unit of work. The hardware catalogue (TPP, H100-equivalents) is wired
here: the pure parties core takes a ``tpp_of`` function instead of importing ``chiptrail.hardware``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, func, insert, or_, select

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware import get_model
from chiptrail.hardware.classify import reference_tpp
from chiptrail.parties.aggregate import (
    DEFAULT_STRUCTURING_CHIPS,
    CustodyRecord,
    StructuringFinding,
    TenancyRecord,
    VolumeWindow,
    aggregate_volumes,
    find_structuring,
)
from chiptrail.parties.graph import (
    ControlFlag,
    OwnershipGraph,
    Restriction,
    UltimateParents,
    compute_ultimate_parents,
    find_restrictions,
    find_ultimate_parents,
    flag_control,
)
from chiptrail.parties.model import (
    Directorship,
    Ownership,
    Party,
    collect_party_set,
    from_ftm,
)
from chiptrail.records import PaymentRecord, RecordKind, validate_records
from chiptrail.service.parties.lists import party_from_row, store_party_set
from chiptrail.service.parties.status import provenance_rows, screened_lists
from chiptrail.service.records.ingest import store_records
from chiptrail.store.database import Database
from chiptrail.store.parties_tables import party_entities, party_links, tenancy_reports
from chiptrail.types import PartyId

CustodySource = Callable[[Sequence[PartyId]], Sequence[CustodyRecord]]
"""Gives the custody records (chips delivered) of the named buyers; the ledger service provides
one. Without it, aggregation counts cloud tenancy only."""


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``add_parties`` stored."""

    parties: int
    ownerships: int
    directorships: int
    warnings: tuple[str, ...]
    payments: int = 0


@dataclass(frozen=True, slots=True)
class PartyView:
    """A party with its neighbourhood and why it is (or is not) restricted."""

    party: Party
    owners: tuple[Ownership, ...]
    subsidiaries: tuple[Ownership, ...]
    directors: tuple[Directorship, ...]
    ultimate_parents: UltimateParents
    restrictions: tuple[Restriction, ...]
    control_flags: tuple[ControlFlag, ...]
    warnings: tuple[str, ...]
    list_matches: tuple[dict[str, Any], ...] = ()
    """The stored screening matches behind a listing here or upstream: list entry, version, date."""

    @property
    def is_restricted(self) -> bool:
        """Listed, or owned 50% or more by restricted parties."""
        return bool(self.restrictions)


@dataclass(frozen=True, slots=True)
class AggregateView:
    """Volumes of the group a party belongs to (everything under its ultimate parents)."""

    party_id: PartyId
    ultimate_parents: tuple[PartyId, ...]
    members: tuple[PartyId, ...]
    window_days: float
    volumes: tuple[VolumeWindow, ...]
    structuring: tuple[StructuringFinding, ...]


def _ftm_payment(entity: Mapping[str, object], n: int) -> PaymentRecord:
    """An FtM ``Payment`` as a trade record: payer, beneficiary, date (or startDate), amount,
    currency; ``transactionNumber`` names the order it pays. The payer's country comes from the
    payer's registered country when the rules read it."""
    raw = entity.get("properties")
    props: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}

    def first(key: str) -> object:
        values = props.get(key)
        return values[0] if isinstance(values, list) and values else None

    date = first("date") or first("startDate")
    when = f"{date}T00:00:00+00:00" if isinstance(date, str) and len(date) == 10 else date
    row = {
        "payment_id": entity.get("id"),
        "payer": first("payer"),
        "beneficiary": first("beneficiary"),
        "paid_at": when,
        "amount": first("amount"),
        "currency": first("currency"),
        "order_id": first("transactionNumber"),
    }
    try:
        return cast(
            PaymentRecord,
            validate_records(RecordKind.PAYMENT, [{k: v for k, v in row.items() if v}])[0],
        )
    except InvalidInput as exc:
        raise InvalidInput(
            f"entity #{n} (FtM Payment): {exc.message.removeprefix('payment row 0: ')}",
            {"index": n},
        ) from exc


def add_parties(
    db: Database, entities: Sequence[Mapping[str, object]], *, now: datetime | None = None
) -> AddResult:
    """Validate and store FtM entities in one transaction: parties, Ownership, Directorship, and
    Payment (stored as a ``payment`` trade record). Other schemata are skipped with a warning,
    never silently.

    Raises:
        InvalidInput: an entity is malformed (nothing is stored). Conflict: an id is taken.
    """
    if not entities:
        raise InvalidInput("no entities given")
    values = []
    payments: list[PaymentRecord] = []
    skipped: list[str] = []
    for n, e in enumerate(entities):
        if e.get("schema") == "Payment":
            payments.append(_ftm_payment(e, n))
            continue
        try:
            value = from_ftm(e)
        except InvalidInput as exc:
            raise InvalidInput(f"entity #{n}: {exc.message}", {"index": n}) from exc
        if value is None:
            skipped.append(
                f"entity #{n} {e.get('id')} (FtM {e.get('schema')}): not a party, "
                "link or payment; not stored"
            )
        values.append(value)
    parsed = collect_party_set(values)
    with db.unit() as conn:
        store_party_set(conn, parsed, None)
        if payments:
            store_records(conn, payments, now=now or datetime.now(UTC))
    return AddResult(
        len(parsed.parties),
        len(parsed.ownerships),
        len(parsed.directorships),
        parsed.warnings + tuple(skipped),
        len(payments),
    )


def _load_party(conn: Connection, party_id: str) -> Party | None:
    row = conn.execute(
        select(party_entities.c.data, party_entities.c.list_id).where(
            party_entities.c.entity_id == party_id
        )
    ).first()
    if row is None:
        return None
    value = party_from_row(row.data, row.list_id)
    return value if isinstance(value, Party) else None


def _links(conn: Connection, column: str, ids: Iterable[str]) -> list[Ownership | Directorship]:
    ids = list(ids)
    out: list[Ownership | Directorship] = []
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(party_links).where(party_links.c[column].in_(ids[start : start + 500]))
        ).all()
        for r in rows:
            if r.kind == "ownership":
                out.append(Ownership(r.link_id, r.source_id, r.target_id, r.percentage))
            else:
                out.append(Directorship(r.link_id, r.source_id, r.target_id, r.role))
    return out


def _walk(conn: Connection, start: Sequence[str], upward: bool) -> list[Ownership | Directorship]:
    """Links reachable from ``start`` going to owners (upward) or to assets (downward)."""
    seen = set(start)
    frontier = list(start)
    found: dict[str, Ownership | Directorship] = {}
    while frontier:
        links = _links(conn, "target_id" if upward else "source_id", frontier)
        frontier = []
        for link in links:
            found[link.link_id] = link
            if isinstance(link, Ownership):
                nxt = link.owner_id if upward else link.asset_id
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
    return list(found.values())


def _listed(conn: Connection, ids: Iterable[str]) -> dict[PartyId, str]:
    ids = list(ids)
    out: dict[PartyId, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(party_entities.c.entity_id, party_entities.c.list_id).where(
                party_entities.c.entity_id.in_(ids[start : start + 500]),
                party_entities.c.list_id.is_not(None),
            )
        ).all()
        out.update({PartyId(r.entity_id): r.list_id for r in rows})
    return out


def _graph(links: Iterable[Ownership | Directorship]) -> OwnershipGraph:
    links = list(links)
    return OwnershipGraph(
        [x for x in links if isinstance(x, Ownership)],
        [x for x in links if isinstance(x, Directorship)],
    )


def get_party(db: Database, party_id: str) -> PartyView:
    """A party with owners, subsidiaries, directors, ultimate parents and restrictions.

    Restrictions follow the 50% rule over every stored ownership link above the party; each names
    its path down from a listed party.

    Raises:
        NotFound: no party with this id.
    """
    with db.unit() as conn:
        party = _load_party(conn, party_id)
        if party is None:
            raise NotFound(f"no party {party_id!r}; add it with POST /v1/parties or a list load")
        up = _walk(conn, [party_id], upward=True)
        down = _links(conn, "source_id", [party_id])
        graph = _graph(up)
        upstream = graph.upstream(PartyId(party_id)) | {
            d.director_id for d in graph.directors_of(PartyId(party_id))
        }
        listed = _listed(conn, upstream) | screened_lists(conn, upstream | {PartyId(party_id)})
        matches = provenance_rows(conn, [party_id, *upstream])
    pid = PartyId(party_id)
    restricted = find_restrictions(graph, listed)
    chain = [r for r in (restricted.get(pid),) if r is not None]
    return PartyView(
        party=party,
        owners=tuple(o for o in up if isinstance(o, Ownership) and o.asset_id == pid),
        subsidiaries=tuple(o for o in down if isinstance(o, Ownership)),
        directors=graph.directors_of(pid),
        ultimate_parents=find_ultimate_parents(graph, pid),
        restrictions=tuple(chain),
        control_flags=tuple(flag_control(graph, restricted, [pid])),
        warnings=graph.warnings,
        list_matches=tuple(m for m in matches if m["party_id"] in restricted),
    )


def get_owners(db: Database, party_id: str) -> UltimateParents:
    """The ultimate parents of a party with the paths that explain them.

    Raises:
        NotFound: no party with this id and no ownership link names it.
    """
    with db.unit() as conn:
        up = _walk(conn, [party_id], upward=True)
        if not up and _load_party(conn, party_id) is None:
            raise NotFound(f"no party {party_id!r}")
    return find_ultimate_parents(_graph(up), PartyId(party_id))


def _check_model(model: str) -> float:
    try:
        return get_model(model).tpp
    except NotFound as exc:
        raise InvalidInput(exc.message, exc.details) from exc


def report_tenancy(db: Database, reports: Sequence[TenancyRecord], *, now: datetime) -> int:
    """Store cloud tenancy reports (operator, tenant, chip model, chip-hours, period).

    Raises:
        InvalidInput: unknown chip model, negative hours, a period that ends before it starts,
            times without a time zone; nothing is stored.
    """
    if not reports:
        raise InvalidInput("no tenancy reports given")
    for r in reports:
        _check_model(r.chip_model)
        if r.chip_hours < 0 or r.period_end_at < r.period_start_at:
            raise InvalidInput(f"tenancy of {r.tenant_id}: negative hours or inverted period")
        if r.period_start_at.tzinfo is None or r.period_end_at.tzinfo is None:
            raise InvalidInput(f"tenancy of {r.tenant_id}: times need a time zone")
    rows = [
        {
            "operator_id": r.operator_id,
            "tenant_id": r.tenant_id,
            "chip_model": r.chip_model,
            "chip_hours": r.chip_hours,
            "period_start_at": r.period_start_at,
            "period_end_at": r.period_end_at,
            "reported_at": now,
        }
        for r in reports
    ]
    with db.unit() as conn:
        conn.execute(insert(tenancy_reports), rows)
    return len(rows)


def _tenancy(conn: Connection, tenants: Sequence[str], since: datetime) -> list[TenancyRecord]:
    rows = conn.execute(
        select(tenancy_reports).where(tenancy_reports.c.tenant_id.in_(list(tenants)))
    ).all()
    out = []
    for r in rows:
        start, end = r.period_start_at, r.period_end_at
        if start.tzinfo is None:  # SQLite drops the zone; the column stores UTC
            start, end = start.replace(tzinfo=since.tzinfo), end.replace(tzinfo=since.tzinfo)
        if end >= since:
            out.append(
                TenancyRecord(r.operator_id, r.tenant_id, r.chip_model, r.chip_hours, start, end)
            )
    return out


def aggregate_party(
    db: Database,
    party_id: str,
    *,
    now: datetime,
    window: timedelta = timedelta(days=30),
    lookback: timedelta = timedelta(days=365),
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS,
    custody: CustodySource | None = None,
) -> AggregateView:
    """Chips and cloud usage of the party's whole group, per ultimate parent and rolling window.

    Args:
        db: the database.
        party_id: any member of the group.
        now: end of the lookback period (UTC).
        window: rolling window length.
        lookback: how far back records count.
        threshold_chips: per-buyer threshold for the structuring (split orders) check.
        custody: the source of custody records (the ledger service); tenancy only when None.

    Raises:
        NotFound: unknown party.
    """
    with db.unit() as conn:
        up = _walk(conn, [party_id], upward=True)
        if not up and _load_party(conn, party_id) is None:
            raise NotFound(f"no party {party_id!r}")
        parents = find_ultimate_parents(_graph(up), PartyId(party_id)).parents
        down = _walk(conn, list(parents), upward=False)
        members = sorted(
            {party_id, *parents} | {o.asset_id for o in down if isinstance(o, Ownership)}
        )
        group_graph = _graph([*_walk(conn, members, upward=True), *down])
        tenancy = _tenancy(conn, members, now - lookback)
    ultimate = compute_ultimate_parents(group_graph)
    parents_of = {PartyId(m): ultimate.get(PartyId(m), (PartyId(m),)) for m in members}
    in_group = [PartyId(m) for m in members if set(parents_of[PartyId(m)]) & set(parents)]
    records = [r for r in (custody(in_group) if custody else ()) if now - lookback <= r.at <= now]
    tenancy = [t for t in tenancy if t.tenant_id in set(in_group)]
    h100 = reference_tpp()
    volumes = aggregate_volumes(records, tenancy, parents_of, _check_model, window, h100_tpp=h100)
    found = find_structuring(records, parents_of, window, threshold_chips=threshold_chips)
    return AggregateView(
        party_id=PartyId(party_id),
        ultimate_parents=parents,
        members=tuple(in_group),
        window_days=window.total_seconds() / 86400,
        volumes=tuple(v for v in volumes if v.parent_id in parents),
        structuring=tuple(f for f in found if f.parent_id in parents),
    )


def load_tenancy_csv(text: str) -> list[TenancyRecord]:
    """Parse tenancy reports from CSV text with the header
    ``operator_id,tenant_id,chip_model,chip_hours,period_start_at,period_end_at`` (ISO 8601 times).

    Raises:
        InvalidInput: missing columns, unparsable numbers or times.
    """
    reader = csv.DictReader(io.StringIO(text))
    need = [
        "operator_id",
        "tenant_id",
        "chip_model",
        "chip_hours",
        "period_start_at",
        "period_end_at",
    ]
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"tenancy CSV: missing column(s) {', '.join(missing)}")
    out = []
    for n, row in enumerate(reader, start=2):
        try:
            out.append(
                TenancyRecord(
                    row["operator_id"],
                    PartyId(row["tenant_id"]),
                    row["chip_model"],
                    float(row["chip_hours"]),
                    datetime.fromisoformat(row["period_start_at"]),
                    datetime.fromisoformat(row["period_end_at"]),
                )
            )
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"tenancy CSV line {n}: {exc}", {"line": n}) from exc
    return out


def list_parties(
    db: Database, *, q: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Stored parties (not list entries) by name, with their restricted status and why.

    Raises:
        InvalidInput: a bad page.
    """
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidInput("limit must be 1..1000 and offset 0 or more", {"field": "limit"})
    t = party_entities
    conds: list[ColumnElement[bool]] = [
        t.c.list_id.is_(None),
        t.c.schema.in_(("Company", "Person", "Organization")),
    ]
    if q:
        like = f"%{q.lower()}%"
        conds.append(or_(func.lower(t.c.caption).like(like), func.lower(t.c.entity_id).like(like)))
    with db.unit() as conn:
        total = conn.scalar(select(func.count()).select_from(t).where(*conds)) or 0
        rows = conn.execute(
            select(t.c.entity_id, t.c.caption, t.c.countries)
            .where(*conds)
            .order_by(t.c.caption, t.c.entity_id)
            .limit(limit)
            .offset(offset)
        ).all()
    items = []
    for r in rows:
        view = get_party(db, str(r.entity_id))
        why = view.restrictions[0].explanation if view.restrictions else None
        items.append(
            {
                "party_id": r.entity_id,
                "name": r.caption,
                "countries": [c for c in str(r.countries).split(",") if c],
                "is_restricted": why is not None,
                "restriction": why,
            }
        )
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}
