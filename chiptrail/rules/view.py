"""The read-only view of the world that every rule reads: custody, locations, parties, tenancy.

No I/O: the service layer (or the simulator) builds a ``WorldView`` and passes it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError

from chiptrail.errors import InvalidInput
from chiptrail.types import ChipId, Country, PartyId, Verdict


class Role(StrEnum):
    """What a party does in the supply chain."""

    VENDOR = "vendor"
    DISTRIBUTOR = "distributor"
    OPERATOR = "operator"
    CLOUD = "cloud"
    TENANT = "tenant"
    REPAIRER = "repairer"
    HOLDING = "holding"


class AddressKind(StrEnum):
    """The kind of registered address a party declares (BIS red flag: virtual or residential)."""

    OFFICE = "office"
    VIRTUAL = "virtual"
    RESIDENTIAL = "residential"


@dataclass(frozen=True, slots=True)
class Party:
    """A company in the view. ``incorporated_at`` is None when unknown."""

    party_id: PartyId
    name: str
    country: Country
    role: Role
    incorporated_at: datetime | None = None
    address_kind: AddressKind = AddressKind.OFFICE


@dataclass(frozen=True, slots=True)
class OwnershipEdge:
    """``owner`` holds ``share`` (0..1) of ``owned``."""

    owner: PartyId
    owned: PartyId
    share: float


@dataclass(frozen=True, slots=True)
class PartyIdentifier:
    """An identifier a party declares: ``kind`` is ``director`` (FtM Directorship), ``address``
    (FtM Address), ``phone``, ``email_domain`` or ``bank_account``; shared values link parties
    (``parties/control.py``, ``parties/resolve.py``)."""

    party_id: PartyId
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class ScreeningHit:
    """A party matched on a restricted-party list, with the screening's explanation."""

    party_id: PartyId
    list_name: str
    listed_name: str
    score: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Site:
    """A declared data-center (or repair) site at WGS84 ``lat``/``lon`` degrees.

    ``radius_km``: how far from the point the site's halls may lie (0: a point).
    """

    site_id: str
    operator: PartyId
    country: Country
    lat: float
    lon: float
    capacity_chips: int
    radius_km: float = 0.0


@dataclass(frozen=True, slots=True)
class LandmarkPosition:
    """A deployed landmark (probe server) at WGS84 ``lat``/``lon`` degrees: what the landmark
    planner (``geoloc.planning``) counts as already deployed."""

    landmark_id: str
    lat: float
    lon: float
    country: Country | None = None
    uncertainty_km: float = 0.0


@dataclass(frozen=True, slots=True)
class Licence:
    """An export licence (or a claimed licence exception): end user, country, sites it covers.

    ``kind`` is ``licence`` or ``exception`` (``exception_code``: NAC, ACA ...); ``consignees``
    are the parties it lets receive the chips on the way (empty: the end user only); it is valid
    from ``valid_from`` to ``valid_until`` (None: unbounded).
    """

    licence_id: str
    end_user: PartyId
    country: Country
    site_ids: tuple[str, ...]
    quantity: int
    kind: str = "licence"
    exception_code: str | None = None
    consignees: tuple[PartyId, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    holder: PartyId | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A purchase; ``licence_id`` is None for licence-free orders (under the threshold)."""

    order_id: str
    buyer: PartyId
    seller: PartyId
    quantity: int
    ordered_at: datetime
    licence_id: str | None = None
    site_id: str | None = None
    payment_country: Country | None = None
    ship_via: tuple[Country, ...] = ()
    h100_equivalents: float | None = None


@dataclass(frozen=True, slots=True)
class EndUseStatement:
    """What an end-user certificate or an export declaration (AES/EEI) states about chips.

    ``source`` is ``end-use-certificate`` or ``declaration``; ``statement_id`` the certificate
    id or ITN. The chips it binds are those of ``order_id``, else those sold under
    ``licence_id``; it names their ``end_user`` (the ultimate consignee of a declaration), the
    ``country`` and, when stated, the ``site_id`` and ``end_use`` (free text).
    """

    statement_id: str
    source: str
    end_user: PartyId
    country: Country
    stated_at: datetime
    end_use: str | None = None
    site_id: str | None = None
    order_id: str | None = None
    licence_id: str | None = None


@dataclass(frozen=True, slots=True)
class InformedLetter:
    """A BIS "is informed" letter: exporting to ``party`` needs a licence from ``issued_at`` (to
    ``valid_until``; None: until withdrawn). ``exporter`` is who BIS told."""

    letter_id: str
    exporter: PartyId
    party: PartyId
    issued_at: datetime
    valid_until: datetime | None = None
    items: str | None = None


@dataclass(frozen=True, slots=True)
class Chip:
    """A registered accelerator and the order it was sold in."""

    chip_id: ChipId
    model: str
    order_id: str | None = None
    licence_id: str | None = None


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """One ledger entry about a lot of chips (EPCIS ObjectEvent/TransformationEvent).

    ``biz_step`` is the CBV short name (commissioning, shipping, receiving, installing, repairing,
    decommissioning). ``leaf_index`` is the entry's position in the Merkle log.
    """

    leaf_index: int
    event_id: str
    biz_step: str
    at: datetime
    chip_ids: tuple[ChipId, ...]
    party_id: PartyId
    country: Country
    site_id: str | None = None
    destination_party: PartyId | None = None
    destination_country: Country | None = None
    licence_id: str | None = None
    parts_replaced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LocationFix:
    """One location verdict for a chip against its declared site, with the measurements behind it.

    ``lat``/``lon`` is the point estimate (degrees) and ``radius_km`` the proven radius around it;
    ``measurement_ids`` and ``landmark_ids`` point at the signed probe records; ``rtts_ms`` holds
    the round's minimum RTT per challenging landmark as ``(landmark_id, rtt_ms)`` pairs (empty when
    the source keeps only verdicts), which per-chip baselines (``rules/baseline.py``) read;
    ``likely_countries`` every country the likely region meets (for people: no rule reads it).
    """

    fix_id: str
    chip_id: ChipId
    at: datetime
    verdict: Verdict
    site_id: str | None
    lat: float
    lon: float
    radius_km: float
    proven_countries: tuple[Country, ...] = ()
    landmark_ids: tuple[str, ...] = ()
    measurement_ids: tuple[str, ...] = ()
    explanation: str = ""
    rtts_ms: tuple[tuple[str, float], ...] = ()
    likely_countries: tuple[Country, ...] = ()


@dataclass(frozen=True, slots=True)
class TenancyUsage:
    """Chip-hours a cloud reports for one tenant over ``[start_at, end_at)``."""

    record_id: str
    cloud: PartyId
    tenant: PartyId
    chip_hours: float
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True, slots=True)
class CustodyContradiction:
    """A claim in the custody ledger that contradicts custody, as the ledger's registry found it.

    ``kind`` is the ledger's anomaly id (``shipped-without-custody``, ``receiver-not-destination``,
    ``installed-twice``); ``subject`` the EPC concerned; ``leaf_index`` the contradicting leaf and
    ``evidence_leaves`` every leaf that shows the contradiction.
    """

    kind: str
    subject: str
    leaf_index: int
    evidence_leaves: tuple[int, ...]
    message: str


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds of the rules (days, chips, chip-hours, km/h). Defaults follow BIS guidance."""

    dark_after_days: float = 14.0
    receive_within_days: float = 21.0
    install_within_days: float = 45.0
    max_speed_kmh: float = 1000.0
    new_buyer_days: float = 365.0
    order_threshold_chips: int = 2000
    structuring_window_days: float = 180.0
    rental_window_days: float = 30.0
    rental_threshold_chip_hours: float = 250_000.0
    volume_gap_min_chips: int = 10
    volume_gap_fraction: float = 0.10
    suspect_streak: int = 3
    unverifiable_radius_km: float = 1000.0
    countries_of_concern: frozenset[str] = frozenset(
        {"CN", "HK", "MO", "RU", "BY", "IR", "KP", "SY", "CU", "VE"}
    )
    hub_countries: frozenset[str] = frozenset({"SG", "MY", "TH", "AE", "VN", "ID", "IN"})


@dataclass(frozen=True, slots=True)
class WorldView:
    """Everything the rules may read, as of ``now`` (timezone-aware UTC)."""

    now: datetime
    parties: Mapping[PartyId, Party] = field(default_factory=dict)
    ownership: tuple[OwnershipEdge, ...] = ()
    screening_hits: tuple[ScreeningHit, ...] = ()
    sites: Mapping[str, Site] = field(default_factory=dict)
    licences: Mapping[str, Licence] = field(default_factory=dict)
    orders: tuple[Order, ...] = ()
    chips: Mapping[ChipId, Chip] = field(default_factory=dict)
    events: tuple[CustodyEvent, ...] = ()
    fixes: tuple[LocationFix, ...] = ()
    usage: tuple[TenancyUsage, ...] = ()
    config: RuleConfig = field(default_factory=RuleConfig)
    custody_anomalies: tuple[CustodyContradiction, ...] = ()
    identifiers: tuple[PartyIdentifier, ...] = ()
    end_uses: tuple[EndUseStatement, ...] = ()
    landmarks: tuple[LandmarkPosition, ...] = ()
    informed: tuple[InformedLetter, ...] = ()


_VIEW_ADAPTER: TypeAdapter[WorldView] = TypeAdapter(WorldView)


def view_to_json(view: WorldView) -> bytes:
    """The view as JSON bytes (the input of ``chiptrail rules run --view``)."""
    return _VIEW_ADAPTER.dump_json(view)


def view_from_json(data: bytes) -> WorldView:
    """Parse a view written by ``view_to_json`` (or by hand).

    Raises:
        InvalidInput: malformed JSON or a field of the wrong type (with its path).
    """
    try:
        return _VIEW_ADAPTER.validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"world view: {path}: {first['msg']}", {"path": path, "errors": exc.error_count()}
        ) from exc
