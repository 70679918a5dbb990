"""Trade records the rules read: orders, licences, declarations, certificates, sites, payments,
addresses and BIS "is informed" letters.

No I/O: values only. ``chiptrail.records.formats`` parses them from JSON/CSV bytes; the service
layer stores them (``service/records``) and builds the rules' view from what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)
"""How files and request bodies are read into records: unknown fields refused."""


class RecordKind(StrEnum):
    """The kinds of trade record (wire strings: CLI argument, HTTP path, stored ``kind``)."""

    ORDER = "order"
    LICENCE = "licence"
    DECLARATION = "declaration"
    END_USE = "end-use-certificate"
    SITE = "site"
    PAYMENT = "payment"
    ADDRESS = "address"
    IS_INFORMED = "is-informed"


class OrderDocument(StrEnum):
    """What an order record was read from: a purchase order or an invoice."""

    PO = "po"
    INVOICE = "invoice"


class LicenceKind(StrEnum):
    """A licence granted for the transaction, or a licence exception claimed for it (EAR 740)."""

    LICENCE = "licence"
    EXCEPTION = "exception"


class AddressKind(StrEnum):
    """The kind of a registered address (BIS red flag: virtual or residential)."""

    OFFICE = "office"
    VIRTUAL = "virtual"
    RESIDENTIAL = "residential"


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A purchase order or invoice: ``quantity`` chips of ``chip_model`` from seller to buyer.

    ``licence_id`` names the licence (or licence exception record) it ships under, None when
    licence-free; ``site_id`` the declared end-use site; ``ship_via`` transit countries (ISO2).
    """

    __pydantic_config__ = STRICT

    order_id: str
    buyer: str
    seller: str
    quantity: int
    ordered_at: datetime
    chip_model: str | None = None
    licence_id: str | None = None
    site_id: str | None = None
    ship_via: tuple[str, ...] = ()
    document: OrderDocument = OrderDocument.PO


@dataclass(frozen=True, slots=True)
class LicenceRecord:
    """An export licence, or a claimed licence exception (``kind``; ``exception_code``: NAC, ACA).

    It covers ``quantity`` chips to ``end_user`` in ``country`` (ISO2) from ``valid_from`` to
    ``valid_until`` (None: no end), at ``site_ids`` (empty: any site in the country), through
    ``consignees`` (empty: the end user only).
    """

    __pydantic_config__ = STRICT

    licence_id: str
    holder: str
    end_user: str
    country: str
    quantity: int
    valid_from: datetime
    valid_until: datetime | None = None
    site_ids: tuple[str, ...] = ()
    consignees: tuple[str, ...] = ()
    kind: LicenceKind = LicenceKind.LICENCE
    exception_code: str | None = None
    end_use: str | None = None


@dataclass(frozen=True, slots=True)
class DeclarationRecord:
    """An export declaration (US EEI filed in AES): who exports what to whom, for what end use.

    ``declaration_id`` is the ITN; ``licence_id`` the licence or exception record claimed.
    """

    __pydantic_config__ = STRICT

    declaration_id: str
    exporter: str
    ultimate_consignee: str
    country: str
    quantity: int
    declared_at: datetime
    end_use: str | None = None
    intermediate_consignee: str | None = None
    order_id: str | None = None
    licence_id: str | None = None


@dataclass(frozen=True, slots=True)
class EndUseCertificate:
    """An end-user certificate: ``end_user`` states the end use and site of ``quantity`` chips."""

    __pydantic_config__ = STRICT

    certificate_id: str
    end_user: str
    country: str
    end_use: str
    issued_at: datetime
    quantity: int = 0
    site_id: str | None = None
    order_id: str | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SiteRecord:
    """A declared data-center site: position (WGS84 degrees), radius and capacity.

    ``radius_km`` is how far from ``lat``/``lon`` the site's halls may lie; ``capacity_chips`` the
    accelerators it can host (power and space, ``power_kw`` when declared).
    """

    __pydantic_config__ = STRICT

    site_id: str
    operator: str
    country: str
    lat: float
    lon: float
    declared_at: datetime
    radius_km: float = 0.0
    capacity_chips: int = 0
    power_kw: float | None = None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment (FtM ``Payment``) from ``payer`` to ``beneficiary``, sent from ``payer_country``.

    ``payer_country`` None: the payer's registered country is used.
    """

    __pydantic_config__ = STRICT

    payment_id: str
    payer: str
    beneficiary: str
    paid_at: datetime
    amount: float | None = None
    currency: str | None = None
    payer_country: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """A party's registered address and its kind (office, virtual, residential)."""

    __pydantic_config__ = STRICT

    party_id: str
    kind: AddressKind
    declared_at: datetime
    address: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class IsInformedLetter:
    """A BIS "is informed" letter (EAR 744.21(b), 744.22, 744.23): BIS told ``exporter`` that
    exporting ``items`` to ``party`` (in ``country``) needs a licence, from ``issued_at`` (to
    ``valid_until``; None: until withdrawn). No licence exception covers such a party.
    """

    __pydantic_config__ = STRICT

    letter_id: str
    exporter: str
    party: str
    issued_at: datetime
    country: str | None = None
    items: str | None = None
    valid_until: datetime | None = None


Record = (
    OrderRecord
    | LicenceRecord
    | DeclarationRecord
    | EndUseCertificate
    | SiteRecord
    | PaymentRecord
    | AddressRecord
    | IsInformedLetter
)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """How a kind is keyed, dated and scoped.

    ``id_field`` names the record; ``at_field`` dates it (the rules' "as of" filter);
    ``party_fields`` are the parties the record concerns: a party-bound key may write and read
    only records naming its party in one of them.
    """

    kind: RecordKind
    cls: type[Record]
    id_field: str
    at_field: str
    party_fields: tuple[str, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """Every field of the record, in declaration order (the CSV columns)."""
        return tuple(f.name for f in fields(self.cls))


SPECS: dict[RecordKind, KindSpec] = {
    s.kind: s
    for s in (
        KindSpec(RecordKind.ORDER, OrderRecord, "order_id", "ordered_at", ("buyer", "seller")),
        KindSpec(
            RecordKind.LICENCE,
            LicenceRecord,
            "licence_id",
            "valid_from",
            ("holder", "end_user", "consignees"),
        ),
        KindSpec(
            RecordKind.DECLARATION,
            DeclarationRecord,
            "declaration_id",
            "declared_at",
            ("exporter", "ultimate_consignee", "intermediate_consignee"),
        ),
        KindSpec(
            RecordKind.END_USE, EndUseCertificate, "certificate_id", "issued_at", ("end_user",)
        ),
        KindSpec(RecordKind.SITE, SiteRecord, "site_id", "declared_at", ("operator",)),
        KindSpec(
            RecordKind.PAYMENT, PaymentRecord, "payment_id", "paid_at", ("payer", "beneficiary")
        ),
        KindSpec(RecordKind.ADDRESS, AddressRecord, "party_id", "declared_at", ("party_id",)),
        KindSpec(
            RecordKind.IS_INFORMED,
            IsInformedLetter,
            "letter_id",
            "issued_at",
            ("exporter", "party"),
        ),
    )
}


def spec_of(record: Record) -> KindSpec:
    """The ``KindSpec`` of a record value."""
    for spec in SPECS.values():
        if isinstance(record, spec.cls):
            return spec
    raise TypeError(f"not a record: {type(record).__name__}")  # pragma: no cover


def record_key(record: Record) -> str:
    """The record's own id (order id, licence id ...)."""
    return str(getattr(record, spec_of(record).id_field))


def record_at(record: Record) -> datetime:
    """The time the record takes effect (ordered, valid from, declared, issued, paid)."""
    at: datetime = getattr(record, spec_of(record).at_field)
    return at


def record_parties(record: Record) -> tuple[str, ...]:
    """Every party the record names in its scoping fields (no duplicates, in field order)."""
    out: list[str] = []
    for name in spec_of(record).party_fields:
        value = getattr(record, name)
        values = value if isinstance(value, tuple) else (value,)
        out.extend(str(v) for v in values if v)
    return tuple(dict.fromkeys(out))
