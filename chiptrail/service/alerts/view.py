"""Build the rules' ``WorldView`` from what is stored, and run the rules over it.

Inputs and where they come from (docs/rules.md, "Running the rules over the store"):

- custody events: every ``event`` leaf of the ledger's Merkle log (``ledger_log_leaves``), parsed
  back from the logged EPCIS with ``ledger.custody.custody_event_from_epcis``; ``leaf_index`` is
  the real leaf, so findings cite it. Events naming a server or rack are expanded to the chips it
  currently holds (``ledger_assets.parent_epc``), so rules reason per chip.
- declared sites: the ``ct:facility``/``ct:siteCountry``/``ct:siteLat``/``ct:siteLon`` extensions
  of logged events (capacity is not declared anywhere: 0).
- location fixes: ``location_verdicts`` rows written by ``service.probe.locate_chip``, each placed
  at the facility the ledger had the chip at when it was measured.
- parties: ledger-registered parties plus the stored FtM parties that are not list entries;
  ownership edges: stored ``Ownership`` links with a percentage.
- screening hits: every party name screened with ``service.parties.screen_names`` (its default
  threshold) against the stored lists; listed entities that own a party via a stored link are
  hits themselves, so the 50% rule reaches their fronts.
- tenancy: ``tenancy_reports`` rows.
- custody anomalies: the ledger registry's stored contradictions (``ledger_anomalies``, what
  ``service.ledger.list_custody_anomalies`` returns) whose leaf is logged by ``now``.
- chips: every chip the log names, with its model when a logged event or its registered device
  key says (``ct:chipModel``), resolved in ``chiptrail.hardware``.

- orders, licences, declared sites (position, radius, capacity) and address kinds: the stored
  trade records (``service/records``) dated by ``now`` (``service.alerts.records_view``); a chip's
  order is the purchase order or invoice that a logged event's ``bizTransactionList`` names.
- party incorporation date and sector: the stored FtM ``incorporationDate`` and ``sector``.
- end uses: stored end-user certificates and export declarations; "is informed" letters: stored
  ``is-informed`` records; landmarks: the registered
  landmarks (``landmarks``) by ``now``, which the landmark planner counts as deployed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware import get_model
from chiptrail.hardware.classify import h100_equivalents
from chiptrail.ledger.custody import CHIPTRAIL_NS, custody_event_from_epcis
from chiptrail.ledger.entries import decode_entry
from chiptrail.parties.model import Party as ListedParty
from chiptrail.parties.screening import Query, build_index
from chiptrail.rules import Case, Finding, group_cases, run_rules
from chiptrail.rules.view import (
    AddressKind,
    Chip,
    CustodyContradiction,
    CustodyEvent,
    LandmarkPosition,
    LocationFix,
    Order,
    OwnershipEdge,
    Party,
    Role,
    RuleConfig,
    ScreeningHit,
    Site,
    TenancyUsage,
    WorldView,
)
from chiptrail.service.alerts.findings import store_findings
from chiptrail.service.alerts.records_view import load_trade_inputs, parse_incorporation
from chiptrail.service.alerts.rule_config import load_rule_config
from chiptrail.service.ledger.rows import load_anomalies
from chiptrail.service.parties.lists import load_listed_parties, party_from_row, screen_names
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import (
    as_utc,
    chip_device_keys_table,
    landmarks_table,
    location_verdicts_table,
)
from chiptrail.store.ledger_tables import assets_table, log_leaves_table, parties_table
from chiptrail.store.parties_tables import party_entities, party_links, tenancy_reports
from chiptrail.types import ChipId, Country, PartyId, Verdict

_BATCH = 2000
ANYWHERE_KM = 20_037.5
"""Radius of a fix without a point estimate or proven radius: half the Earth's circumference, so
distance rules never read a position into it."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One logged custody event, read back from its leaf, with the chips it concerns."""

    leaf_index: int
    event_id: str
    party_id: str
    biz_step: str
    at: datetime
    chip_ids: tuple[str, ...]
    facility: str | None
    site_country: str | None
    site_lat: float | None
    site_lon: float | None
    destination: str | None
    parts_replaced: tuple[str, ...]
    chip_model: str | None
    licence_id: str | None = None
    orders: tuple[str, ...] = ()


@dataclass(slots=True)
class _Custody:
    events: list[LoggedEvent] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)


def _ext(obj: Mapping[str, object], prefixes: Mapping[str, str], name: str) -> object:
    """An extension field ``<prefix>:name`` whose prefix is bound to the chiptrail namespace."""
    for key, value in obj.items():
        prefix, _, local = key.rpartition(":")
        if local == name and (prefixes.get(prefix) == CHIPTRAIL_NS or prefix == "ct"):
            return value
    return None


def _time(event: Mapping[str, object], fallback: datetime) -> datetime:
    text = event.get("eventTime")
    if isinstance(text, str):
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            return fallback
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return fallback


_ORDER_TYPES = frozenset(
    {
        "po",
        "inv",
        "urn:epcglobal:cbv:btt:po",
        "urn:epcglobal:cbv:btt:inv",
        "https://ref.gs1.org/cbv/BTT-po",
        "https://ref.gs1.org/cbv/BTT-inv",
    }
)
"""EPCIS ``bizTransactionList`` types that name a purchase order or an invoice (CBV 2.0 BTT)."""


def order_refs(event: Mapping[str, object]) -> tuple[str, ...]:
    """The purchase-order and invoice ids an EPCIS event's ``bizTransactionList`` names.

    Each ``bizTransaction`` value is kept as written, plus its last ``:``-separated segment when
    it is a URI (``urn:epcglobal:cbv:bt:0614141000005:PO-1`` also matches order ``PO-1``).
    """
    out: list[str] = []
    items = event.get("bizTransactionList")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        kind, value = item.get("type"), item.get("bizTransaction")
        if isinstance(value, str) and value and (kind is None or kind in _ORDER_TYPES):
            out.append(value)
            if ":" in value:
                out.append(value.rsplit(":", 1)[1])
    return tuple(dict.fromkeys(out))


def _leaf_chips(epcs: Sequence[str], children: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The chips an event concerns: each EPC, or the leaves of what it currently contains."""
    out: list[str] = []
    stack = list(reversed(epcs))
    seen: set[str] = set()
    while stack:
        epc = stack.pop()
        if epc in seen:
            continue
        seen.add(epc)
        kids = children.get(epc)
        if kids:
            stack.extend(reversed(kids))
        else:
            out.append(epc)
    return tuple(out)


def _parse_event(
    index: int,
    entry: bytes,
    detail: bytes | None,
    appended_at: datetime,
    children: Mapping[str, list[str]],
) -> LoggedEvent | None:
    body = decode_entry(entry, detail).body
    event = body.get("event")
    prefixes = body.get("prefixes")
    if not isinstance(event, Mapping):
        return None
    pre: Mapping[str, str] = prefixes if isinstance(prefixes, Mapping) else {}
    party = str(body.get("party_id", ""))
    ce = custody_event_from_epcis(event, leaf_index=index, party_id=party, prefixes=pre)
    epcs = [*ce.epcs, *ce.inputs, *ce.outputs]
    if ce.parent and not epcs:
        epcs = [ce.parent]
    ilmd = event.get("ilmd")
    model = _ext(event, pre, "chipModel")
    if model is None and isinstance(ilmd, Mapping):
        model = _ext(ilmd, pre, "chipModel")
    parts = _ext(event, pre, "partsReplaced")
    licence = _ext(event, pre, "licenceId")
    site = ce.site
    return LoggedEvent(
        leaf_index=index,
        event_id=str(body.get("event_id", "")),
        party_id=party,
        biz_step=ce.biz_step or (ce.event_type.removesuffix("Event").lower()),
        at=_time(event, appended_at),
        chip_ids=_leaf_chips(epcs, children),
        facility=site.facility if site else None,
        site_country=site.country if site else None,
        site_lat=site.lat if site else None,
        site_lon=site.lon if site else None,
        destination=ce.destination,
        parts_replaced=tuple(str(p) for p in parts) if isinstance(parts, list) else (),
        chip_model=str(model) if isinstance(model, str) else None,
        licence_id=str(licence) if isinstance(licence, str) else None,
        orders=order_refs(event),
    )


def _children(conn: Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    t = assets_table
    for epc, parent in conn.execute(
        select(t.c.epc, t.c.parent_epc).where(t.c.parent_epc.is_not(None)).order_by(t.c.epc)
    ):
        out[str(parent)].append(str(epc))
    return out


def iter_logged_events(conn: Connection) -> Iterator[LoggedEvent]:
    """Every custody event of the log, in leaf order, expanded to chips."""
    children = _children(conn)
    t = log_leaves_table
    after = -1
    while True:
        rows = conn.execute(
            select(t.c.leaf_index, t.c.entry, t.c.detail, t.c.appended_at)
            .where(t.c.kind == "event", t.c.leaf_index > after)
            .order_by(t.c.leaf_index)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for r in rows:
            detail = bytes(r.detail) if r.detail is not None else None
            at = as_utc(r.appended_at)
            ev = _parse_event(int(r.leaf_index), bytes(r.entry), detail, at, children)
            if ev is not None:
                yield ev
        after = int(rows[-1].leaf_index)


def resolve_model(name: str | None) -> str | None:
    """The catalogue id of a chip model name, or None when unknown to ``chiptrail.hardware``."""
    if not name:
        return None
    try:
        return get_model(name).model_id
    except NotFound:
        return None


def load_custody(conn: Connection) -> tuple[list[LoggedEvent], dict[str, str]]:
    """Logged custody events and the known catalogue model of each chip."""
    custody = _Custody()
    for ev in iter_logged_events(conn):
        custody.events.append(ev)
        model = resolve_model(ev.chip_model)
        if model is not None:
            for chip in ev.chip_ids:
                custody.models.setdefault(chip, model)
    t = chip_device_keys_table
    for chip, identity in conn.execute(select(t.c.chip_id, t.c.identity_json)):
        data = json.loads(str(identity) or "{}")
        model = resolve_model(str(data.get("model") or data.get("chip_model") or ""))
        if model is not None:
            custody.models.setdefault(str(chip), model)
    return custody.events, custody.models


# --- parties --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PartyRow:
    party_id: str
    name: str
    country: str
    incorporation_date: str | None = None
    sectors: tuple[str, ...] = ()


def _parties(conn: Connection) -> dict[str, _PartyRow]:
    out: dict[str, _PartyRow] = {}
    t = party_entities
    for data in conn.scalars(select(t.c.data).where(t.c.list_id.is_(None)).order_by(t.c.entity_id)):
        value = party_from_row(str(data), None)
        if isinstance(value, ListedParty):
            country = value.countries[0] if value.countries else ""
            out[value.party_id] = _PartyRow(
                value.party_id, value.name, country, value.incorporation_date, value.sectors
            )
    p = parties_table
    for pid, name, country in conn.execute(select(p.c.party_id, p.c.name, p.c.country)):
        known = out.get(str(pid))
        out[str(pid)] = _PartyRow(
            str(pid),
            str(name),
            str(country or (known.country if known else "")).upper(),
            known.incorporation_date if known else None,
            known.sectors if known else (),
        )
    return out


def _roles(events: Sequence[LoggedEvent], usage: Sequence[TenancyUsage]) -> dict[str, Role]:
    """A party's role as its records show it (strongest evidence last wins)."""
    roles: dict[str, Role] = {}
    for ev in events:
        if ev.biz_step == "commissioning":
            roles[ev.party_id] = Role.VENDOR
        elif ev.biz_step == "installing" and roles.get(ev.party_id) is not Role.VENDOR:
            roles[ev.party_id] = Role.OPERATOR
        elif ev.biz_step == "repairing" and ev.party_id not in roles:
            roles[ev.party_id] = Role.REPAIRER
    for u in usage:
        roles[u.cloud] = Role.CLOUD
        roles.setdefault(u.tenant, Role.TENANT)
    return roles


def _ownership(conn: Connection) -> tuple[OwnershipEdge, ...]:
    t = party_links
    rows = conn.execute(
        select(t.c.source_id, t.c.target_id, t.c.percentage)
        .where(t.c.kind == "ownership", t.c.percentage.is_not(None))
        .order_by(t.c.link_id)
    ).all()
    return tuple(
        OwnershipEdge(
            PartyId(str(r.source_id)), PartyId(str(r.target_id)), float(r.percentage) / 100
        )
        for r in rows
    )


def _screening_hits(
    listed: Sequence[ListedParty],
    parties: Mapping[str, _PartyRow],
    ownership: Sequence[OwnershipEdge],
) -> tuple[ScreeningHit, ...]:
    if not listed:
        return ()
    by_id = {p.party_id: p for p in listed}
    hits: list[ScreeningHit] = []
    queries = [
        Query(p.party_id, p.name, p.country or None)
        for p in parties.values()
        if p.name.strip() and p.party_id not in by_id
    ]
    for result in screen_names(build_index(listed), queries, limit=1):
        for m in result.matches:
            entry = by_id.get(m.party_id)
            hits.append(
                ScreeningHit(
                    PartyId(result.query.query_id),
                    (entry.list_id if entry else m.list_id) or "",
                    m.matched_name,
                    m.score,
                    m.explanation,
                )
            )
    owners = {e.owner for e in ownership}
    for pid in sorted(owners & set(by_id)):
        entry = by_id[pid]
        hits.append(
            ScreeningHit(
                PartyId(pid),
                entry.list_id or "",
                entry.name,
                1.0,
                f"the list entry itself (stored ownership link from {entry.list_id})",
            )
        )
    return tuple(hits)


# --- fixes and tenancy ----------------------------------------------------------------------


SiteHistory = Mapping[str, Sequence[tuple[datetime, str]]]
"""Per EPC, the facilities its logged events name, as ``(event time, site id)`` in time order."""


def _site_of(
    chip: str, at: datetime, history: SiteHistory, parents: Mapping[str, str]
) -> str | None:
    """Where the ledger placed ``chip`` (or the server or rack holding it) at ``at``: the
    facility of its latest logged event by then, else its first (a verdict needs a site)."""
    epc: str | None = chip
    for _ in range(5):  # chip -> board -> server -> rack
        if epc is None:
            return None
        if epc in history:
            seen = history[epc]
            by_then = [site for when, site in seen if when <= at]
            return by_then[-1] if by_then else seen[0][1]
        epc = parents.get(epc)
    return None


def _fixes(
    conn: Connection, history: SiteHistory, parents: Mapping[str, str]
) -> tuple[LocationFix, ...]:
    t = location_verdicts_table
    out = []
    for r in conn.execute(select(t).order_by(t.c.verdict_id)):
        ev: dict[str, Any] = json.loads(r.evidence_json)
        region = ev.get("region") or {}
        lat = ev.get("lat", region.get("lat"))
        lon = ev.get("lon", region.get("lon"))
        radius = region.get("proven_radius_km", region.get("radius_km"))
        if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
            # No point estimate: the fix proves nothing about where the chip is.
            lat, lon, radius = r.declared_lat or 0.0, r.declared_lon or 0.0, None
        landmarks = tuple(
            str(e["landmark_id"])
            for e in ev.get("evidence") or ()
            if isinstance(e, Mapping) and "landmark_id" in e
        )
        rtts = tuple(
            (str(e["landmark_id"]), float(e["rtt_ms"]))
            for e in ev.get("evidence") or ()
            if isinstance(e, Mapping)
            and "landmark_id" in e
            and isinstance(e.get("rtt_ms"), int | float)
        )
        at = _measured_at(ev, as_utc(r.computed_at))
        out.append(
            LocationFix(
                fix_id=f"verdict-{r.verdict_id}",
                chip_id=ChipId(str(r.chip_id)),
                at=at,
                verdict=Verdict(r.verdict),
                site_id=_site_of(str(r.chip_id), at, history, parents),
                lat=float(lat),
                lon=float(lon),
                radius_km=float(radius) if isinstance(radius, int | float) else ANYWHERE_KM,
                proven_countries=tuple(Country(c) for c in ev.get("proven_countries") or ()),
                landmark_ids=tuple(dict.fromkeys(landmarks)),
                measurement_ids=(),
                explanation=str(ev.get("reason") or ""),
                rtts_ms=rtts,
            )
        )
    return tuple(out)


def _measured_at(evidence: Mapping[str, Any], computed_at: datetime) -> datetime:
    """When the chip was measured: the latest ``last_measured_at`` of the verdict's measurements,
    else the verdict's computation time (a verdict is judged as of what it measured, so a run
    "as of" a past date sees a late-computed verdict on old measurements)."""
    times = []
    for m in evidence.get("measurements") or ():
        text = m.get("last_measured_at") if isinstance(m, Mapping) else None
        if isinstance(text, str):
            try:
                at = datetime.fromisoformat(text)
            except ValueError:
                continue
            times.append(at if at.tzinfo else at.replace(tzinfo=UTC))
    return max(times) if times else computed_at


def clip_usage(usage: Sequence[TenancyUsage], now: datetime) -> tuple[TenancyUsage, ...]:
    """Tenancy known by ``now``: periods that start later are left out, periods that end later
    are cut at ``now`` with their chip-hours scaled to the part that had elapsed."""
    out = []
    for u in usage:
        if u.start_at > now:
            continue
        if u.end_at > now:
            span = (u.end_at - u.start_at).total_seconds()
            share = (now - u.start_at).total_seconds() / span if span > 0 else 1.0
            u = replace(u, chip_hours=u.chip_hours * share, end_at=now)
        out.append(u)
    return tuple(out)


def h100_factor(model: str) -> float:
    """H100-equivalents of one chip of ``model`` (TPP over the H100's); 1.0 when unknown."""
    try:
        return float(h100_equivalents(model, 1))
    except (NotFound, InvalidInput):
        return 1.0


def _usage(conn: Connection) -> tuple[TenancyUsage, ...]:
    t = tenancy_reports
    return tuple(
        TenancyUsage(
            record_id=f"tenancy-{r.report_id}",
            cloud=PartyId(str(r.operator_id)),
            tenant=PartyId(str(r.tenant_id)),
            chip_hours=float(r.chip_hours) * h100_factor(str(r.chip_model)),
            start_at=as_utc(r.period_start_at),
            end_at=as_utc(r.period_end_at),
        )
        for r in conn.execute(select(t).order_by(t.c.report_id))
    )


def _landmarks(conn: Connection, now: datetime) -> tuple[LandmarkPosition, ...]:
    """Landmarks registered by ``now`` (the landmark planner's deployed set)."""
    t = landmarks_table
    return tuple(
        LandmarkPosition(
            str(r.landmark_id),
            float(r.lat),
            float(r.lon),
            Country(str(r.country)) if r.country else None,
            float(r.uncertainty_km),
        )
        for r in conn.execute(select(t).order_by(t.c.landmark_id))
        if as_utc(r.registered_at) <= now
    )


# --- the view -------------------------------------------------------------------------------


def build_view_from_store(
    db: Database, now: datetime, config: RuleConfig | None = None
) -> WorldView:
    """The ``WorldView`` of everything stored, as of ``now`` (records after ``now`` are left out).

    Raises:
        InvalidInput: ``now`` has no time zone.
    """
    if now.tzinfo is None:
        raise InvalidInput("now needs a time zone", {"field": "now"})
    with db.unit() as conn:
        logged, models = load_custody(conn)
        rows = _parties(conn)
        ownership = _ownership(conn)
        listed = load_listed_parties(conn)
        usage = clip_usage(_usage(conn), now)
        parents = {
            str(epc): str(parent)
            for epc, parent in conn.execute(
                select(assets_table.c.epc, assets_table.c.parent_epc).where(
                    assets_table.c.parent_epc.is_not(None)
                )
            )
        }
        logged = [e for e in logged if e.at <= now]
        seen_leaves = {e.leaf_index for e in logged}
        anomalies = tuple(
            CustodyContradiction(a.kind.value, a.subject, a.leaf_index, a.evidence, a.message)
            for a in load_anomalies(conn)
            if a.leaf_index in seen_leaves
        )
        sites: dict[str, Site] = {}
        history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        for e in logged:
            if e.facility and e.site_lat is not None and e.site_lon is not None:
                operator = sites[e.facility].operator if e.facility in sites else e.party_id
                sites[e.facility] = Site(
                    e.facility,
                    PartyId(e.party_id if e.biz_step == "installing" else operator),
                    Country(e.site_country or ""),
                    e.site_lat,
                    e.site_lon,
                    0,
                )
            if e.facility:
                for chip in e.chip_ids:
                    history[chip].append((e.at, e.facility))
        for seen in history.values():
            seen.sort(key=lambda h: h[0])  # stable: log order among equal times
        fixes = tuple(f for f in _fixes(conn, history, parents) if f.at <= now)
        trade = load_trade_inputs(conn, now, {p.party_id: p.country for p in rows.values()})
        config = config or load_rule_config(conn, now)
        landmarks = _landmarks(conn, now)
    sites.update(trade.sites)  # a declared site (position, radius, capacity) beats the events'
    roles = _roles(logged, usage)
    for edge in ownership:
        roles.setdefault(edge.owner, Role.HOLDING)
    for order in trade.orders:
        roles.setdefault(order.buyer, Role.DISTRIBUTOR)
    parties = {
        PartyId(p.party_id): Party(
            PartyId(p.party_id),
            p.name,
            Country(p.country),
            roles.get(p.party_id, Role.DISTRIBUTOR),
            incorporated_at=parse_incorporation(p.incorporation_date),
            address_kind=trade.address_kinds.get(PartyId(p.party_id), AddressKind.OFFICE),
        )
        for p in rows.values()
    }
    country_of = {p.party_id: p.country for p in rows.values()}
    events = tuple(
        CustodyEvent(
            leaf_index=e.leaf_index,
            event_id=e.event_id,
            biz_step=e.biz_step,
            at=e.at,
            chip_ids=tuple(ChipId(c) for c in e.chip_ids),
            party_id=PartyId(e.party_id),
            country=Country(e.site_country or country_of.get(e.party_id, "")),
            site_id=e.facility,
            destination_party=PartyId(e.destination) if e.destination else None,
            destination_country=(
                Country(country_of[e.destination])
                if e.destination and country_of.get(e.destination)
                else None
            ),
            licence_id=e.licence_id,
            parts_replaced=e.parts_replaced,
        )
        for e in logged
        if e.chip_ids
    )
    chip_ids = sorted({c for e in events for c in e.chip_ids})
    order_of = _chip_orders(logged, trade.orders)
    licence_of = {o.order_id: o.licence_id for o in trade.orders}
    chips = {
        c: Chip(
            c,
            models.get(c, "unknown"),
            order_of.get(c),
            licence_of.get(order_of.get(c) or ""),
        )
        for c in chip_ids
    }
    return WorldView(
        now=now,
        parties=parties,
        ownership=ownership,
        screening_hits=_screening_hits(listed, rows, ownership),
        sites=sites,
        licences=trade.licences,
        orders=trade.orders,
        chips=chips,
        events=events,
        fixes=fixes,
        usage=usage,
        config=config or RuleConfig(),
        custody_anomalies=anomalies,
        identifiers=trade.identifiers,
        end_uses=trade.end_uses,
        landmarks=landmarks,
        informed=trade.informed,
    )


def _chip_orders(logged: Sequence[LoggedEvent], orders: Sequence[Order]) -> dict[ChipId, str]:
    """Each chip's order: the first stored order that a logged event's bizTransactionList names
    for it (commissioning or shipping, in log order)."""
    known = {o.order_id for o in orders}
    out: dict[ChipId, str] = {}
    for ev in logged:
        ref = next((r for r in ev.orders if r in known), None)
        if ref is None:
            continue
        for chip in ev.chip_ids:
            out.setdefault(ChipId(chip), ref)
    return out


@dataclass(frozen=True, slots=True)
class StoreRun:
    """The findings of one run over the store, their cases, and the view's size."""

    findings: list[Finding]
    cases: list[Case]
    inputs: dict[str, int]
    run_id: int | None = None


def run_rules_on_store(
    db: Database,
    *,
    now: datetime,
    store: bool = False,
    config: RuleConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> StoreRun:
    """Run every rule over the stored state; with ``store``, replace the stored findings.
    ``progress`` hears each step as it starts.

    Raises:
        InvalidInput: ``now`` has no time zone.
    """
    say = progress or (lambda _: None)
    say("reading the stored ledger, verdicts, parties, records and tenancy")
    view = build_view_from_store(db, now, config)
    say(f"running the rules over {len(view.chips):,} chips and {len(view.events):,} events")
    found = run_rules(view)
    inputs = {
        "events": len(view.events),
        "chips": len(view.chips),
        "parties": len(view.parties),
        "ownership": len(view.ownership),
        "screening_hits": len(view.screening_hits),
        "sites": len(view.sites),
        "fixes": len(view.fixes),
        "usage": len(view.usage),
        "orders": len(view.orders),
        "licences": len(view.licences),
        "end_uses": len(view.end_uses),
        "landmarks": len(view.landmarks),
        "informed": len(view.informed),
        "custody_anomalies": len(view.custody_anomalies),
    }
    run_id = None
    if store:
        say(f"storing {len(found):,} findings and their cases")
        summary: dict[str, Any] = {"findings": len(found), "inputs": inputs}
        stored = store_findings(
            db, found, kind="rules-run-store", summary=summary, now=now, view=view
        )
        run_id = stored.run_id
    say(f"grouping {len(found):,} findings into cases")
    return StoreRun(found, group_cases(found, view), inputs, run_id)


def store_run_to_json(run: StoreRun) -> dict[str, Any]:
    """The wire form of a run over the store (``rules run --json`` and ``POST /v1/rules/run``)."""
    return {
        "findings": [f.to_dict() for f in run.findings],
        "finding_count": len(run.findings),
        "case_count": len(run.cases),
        "inputs": run.inputs,
        "run_id": run.run_id,
    }
