"""The trade-record part of the rules' view: orders, licences, declared sites, addresses and
stated end uses (certificates, export declarations) as of a time, read from the stored records
(``service/records``).

Owns no transaction: ``service.alerts.view.build_view_from_store`` passes its connection.
A record enters the view when its date (ordered, valid from, declared, paid) is at or before
``now``; payments name their order (``order_id``) and give it its payment country (the payment's
``payer_country``, else the payer's registered country).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware.classify import h100_equivalents
from chiptrail.records import (
    AddressRecord,
    DeclarationRecord,
    EndUseCertificate,
    IsInformedLetter,
    LicenceRecord,
    OrderRecord,
    PaymentRecord,
    RecordKind,
    SiteRecord,
)
from chiptrail.rules.view import (
    AddressKind,
    EndUseStatement,
    InformedLetter,
    Licence,
    Order,
    PartyIdentifier,
    Site,
)
from chiptrail.service.records.ingest import load_records
from chiptrail.types import Country, PartyId


@dataclass(frozen=True, slots=True)
class TradeInputs:
    """What the stored trade records add to the view."""

    orders: tuple[Order, ...]
    licences: dict[str, Licence]
    sites: dict[str, Site]
    address_kinds: dict[PartyId, AddressKind]
    identifiers: tuple[PartyIdentifier, ...] = ()
    end_uses: tuple[EndUseStatement, ...] = ()
    informed: tuple[InformedLetter, ...] = ()


def _h100(model: str | None, quantity: int, cache: dict[str, float | None]) -> float | None:
    if model is None:
        return None
    if model not in cache:
        try:
            cache[model] = float(h100_equivalents(model, 1))
        except (NotFound, InvalidInput):
            cache[model] = None
    factor = cache[model]
    return None if factor is None else factor * quantity


def _payment_countries(
    payments: list[PaymentRecord], country_of: Mapping[str, str]
) -> dict[str, Country]:
    out: dict[str, Country] = {}
    for p in sorted(payments, key=lambda p: (p.paid_at, p.payment_id)):
        country = p.payer_country or country_of.get(p.payer)
        if p.order_id and country:
            out.setdefault(p.order_id, Country(country))
    return out


def _order(rec: OrderRecord, pay: Mapping[str, Country], h100: dict[str, float | None]) -> Order:
    return Order(
        order_id=rec.order_id,
        buyer=PartyId(rec.buyer),
        seller=PartyId(rec.seller),
        quantity=rec.quantity,
        ordered_at=rec.ordered_at,
        licence_id=rec.licence_id,
        site_id=rec.site_id,
        payment_country=pay.get(rec.order_id),
        ship_via=tuple(Country(c) for c in rec.ship_via),
        h100_equivalents=_h100(rec.chip_model, rec.quantity, h100),
    )


def _licence(rec: LicenceRecord) -> Licence:
    return Licence(
        licence_id=rec.licence_id,
        end_user=PartyId(rec.end_user),
        country=Country(rec.country),
        site_ids=rec.site_ids,
        quantity=rec.quantity,
        kind=rec.kind.value,
        exception_code=rec.exception_code,
        consignees=tuple(PartyId(c) for c in rec.consignees),
        valid_from=rec.valid_from,
        valid_until=rec.valid_until,
        holder=PartyId(rec.holder),
    )


def _site(rec: SiteRecord) -> Site:
    return Site(
        rec.site_id,
        PartyId(rec.operator),
        Country(rec.country),
        rec.lat,
        rec.lon,
        rec.capacity_chips,
        rec.radius_km,
    )


def _statement(rec: EndUseCertificate | DeclarationRecord) -> EndUseStatement:
    if isinstance(rec, EndUseCertificate):
        return EndUseStatement(
            rec.certificate_id,
            "end-use-certificate",
            PartyId(rec.end_user),
            Country(rec.country),
            rec.issued_at,
            end_use=rec.end_use,
            site_id=rec.site_id,
            order_id=rec.order_id,
        )
    return EndUseStatement(
        rec.declaration_id,
        "declaration",
        PartyId(rec.ultimate_consignee),
        Country(rec.country),
        rec.declared_at,
        end_use=rec.end_use,
        order_id=rec.order_id,
        licence_id=rec.licence_id,
    )


def load_trade_inputs(
    conn: Connection, now: datetime, country_of: Mapping[str, str]
) -> TradeInputs:
    """Orders (with payment countries), licences, declared sites, address kinds, the end uses
    that certificates and declarations state and BIS "is informed" letters, as of ``now``.

    ``country_of`` maps party ids to registered countries (for payments without a payer country).
    """
    payments = [
        r for r in load_records(conn, RecordKind.PAYMENT, now) if isinstance(r, PaymentRecord)
    ]
    pay = _payment_countries(payments, country_of)
    h100: dict[str, float | None] = {}
    orders = tuple(
        _order(r, pay, h100)
        for r in load_records(conn, RecordKind.ORDER, now)
        if isinstance(r, OrderRecord)
    )
    licences = {
        r.licence_id: _licence(r)
        for r in load_records(conn, RecordKind.LICENCE, now)
        if isinstance(r, LicenceRecord)
    }
    sites = {
        r.site_id: _site(r)
        for r in load_records(conn, RecordKind.SITE, now)
        if isinstance(r, SiteRecord)
    }
    kinds: dict[PartyId, AddressKind] = {}
    addresses: dict[PartyId, str] = {}
    for r in load_records(conn, RecordKind.ADDRESS, now):
        if isinstance(r, AddressRecord):
            kinds[PartyId(r.party_id)] = AddressKind(r.kind.value)  # latest declaration wins
            if r.address:
                addresses[PartyId(r.party_id)] = f"{r.address}, {r.country or ''}"
    # registered addresses link parties that share one (rules/holdings.py, rules/buyers.py)
    identifiers = tuple(
        PartyIdentifier(p, "address", text) for p, text in sorted(addresses.items())
    )
    end_uses = tuple(
        _statement(r)
        for kind in (RecordKind.END_USE, RecordKind.DECLARATION)
        for r in load_records(conn, kind, now)
        if isinstance(r, EndUseCertificate | DeclarationRecord)
    )
    informed = tuple(
        InformedLetter(
            r.letter_id,
            PartyId(r.exporter),
            PartyId(r.party),
            r.issued_at,
            r.valid_until,
            r.items,
        )
        for r in load_records(conn, RecordKind.IS_INFORMED, now)
        if isinstance(r, IsInformedLetter)
    )
    return TradeInputs(orders, licences, sites, kinds, identifiers, end_uses, informed)


def parse_incorporation(text: str | None) -> datetime | None:
    """An FtM ``incorporationDate`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or a full ISO time) as
    a UTC datetime (the first instant it can mean); None when absent or unreadable."""
    if not text:
        return None
    value = text.strip()
    if len(value) == 4:
        value += "-01-01"
    elif len(value) == 7:
        value += "-01"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
