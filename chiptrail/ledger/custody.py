"""Chip registry state derived from the log: custodian, site, container, status, and anomalies.

No I/O: ``Registry`` folds ``CustodyEvent``s in log order. The service feeds it the stored state
of the assets an event touches and writes back what changed; ``rebuild`` replays every entry.
Events that contradict custody are still applied (the log records claims) and also yield
``CustodyAnomaly`` records whose evidence is leaf indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from chiptrail.ledger.event_hash import expand_name

CHIPTRAIL_NS = "https://chiptrail.dev/epcis/"
"""Namespace of chiptrail's EPCIS extension fields (site and serial numbers)."""
PARTY_URN = "urn:chiptrail:party:"


class AssetStatus(StrEnum):
    """Where an asset is in its life."""

    COMMISSIONED = "commissioned"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSTALLED = "installed"
    IN_REPAIR = "in_repair"
    REPLACED = "replaced"
    DECOMMISSIONED = "decommissioned"


class AnomalyKind(StrEnum):
    """Custody contradictions (stable ids used by the rules engine)."""

    SHIPPED_WITHOUT_CUSTODY = "shipped-without-custody"
    RECEIVER_NOT_DESTINATION = "receiver-not-destination"
    INSTALLED_TWICE = "installed-twice"


@dataclass(frozen=True, slots=True)
class Site:
    """A declared site: ISO2 country, WGS84 degrees, facility name; any may be unknown."""

    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    facility: str | None = None


@dataclass(frozen=True, slots=True)
class AssetState:
    """Current state of one identified thing (chip, board, server, rack), by EPC URI."""

    epc: str
    status: AssetStatus
    custodian: str | None = None
    parent: str | None = None
    site: Site | None = None
    vendor_serial: str | None = None
    board_serial: str | None = None
    pending_destination: str | None = None
    custody_leaf: int | None = None
    shipment_leaf: int | None = None
    install_leaf: int | None = None
    updated_leaf: int = 0

    def to_json(self) -> dict[str, object]:
        """Plain JSON object (stored in ``ledger_assets.state``)."""
        out: dict[str, object] = {name: getattr(self, name) for name in _STATE_FIELDS}
        out["status"] = self.status.value
        site = self.site
        out["site"] = (
            None
            if site is None
            else {
                "country": site.country,
                "lat": site.lat,
                "lon": site.lon,
                "facility": site.facility,
            }
        )
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> AssetState:
        """Inverse of ``to_json``."""
        data = dict(obj)
        site = data.pop("site", None)
        status = AssetStatus(str(data.pop("status")))
        state = cls(status=status, **data)  # type: ignore[arg-type]
        if isinstance(site, Mapping):
            state = replace(state, site=Site(**site))
        return state


_STATE_FIELDS = tuple(f for f in AssetState.__dataclass_fields__ if f != "site")


@dataclass(frozen=True, slots=True)
class CustodyAnomaly:
    """A claim in the log that contradicts custody; ``evidence`` are leaf indexes."""

    kind: AnomalyKind
    subject: str
    leaf_index: int
    evidence: tuple[int, ...]
    message: str


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """The slim custody view of one logged EPCIS event."""

    leaf_index: int
    party_id: str
    event_type: str
    action: str | None
    biz_step: str | None
    epcs: tuple[str, ...] = ()
    parent: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    destination: str | None = None
    site: Site | None = None
    vendor_serial: str | None = None
    board_serial: str | None = None


def party_from_uri(value: str) -> str:
    """``urn:chiptrail:party:ID`` -> ``ID``; any other string is taken as the id itself."""
    return value.removeprefix(PARTY_URN)


def _word(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    for sep in ("BizStep-", "Disp-", "SDT-", "bizstep:", "sdt:"):
        if sep in value:
            return value.rsplit(sep, 1)[1]
    return value


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _ext(obj: Mapping[str, object], prefixes: Mapping[str, str]) -> dict[str, object]:
    """chiptrail extension fields of ``obj`` by local name."""
    out: dict[str, object] = {}
    for key, value in obj.items():
        name = expand_name(key, prefixes)
        if name.startswith("{" + CHIPTRAIL_NS + "}"):
            out[name.split("}", 1)[1]] = value
    return out


def _float(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None


def custody_event_from_epcis(
    event: Mapping[str, object], *, leaf_index: int, party_id: str, prefixes: Mapping[str, str]
) -> CustodyEvent:
    """Extract what custody needs from an EPCIS event (JSON form).

    Site fields (``ct:siteCountry``, ``ct:siteLat``, ``ct:siteLon``, ``ct:facility``) are
    event extensions; ``ct:vendorSerial`` / ``ct:boardSerial`` live in ``ilmd``; ``ct`` is any
    prefix bound to ``CHIPTRAIL_NS``.
    """
    ext = _ext(event, prefixes)
    ilmd = event.get("ilmd")
    ilmd_ext = _ext(ilmd, prefixes) if isinstance(ilmd, Mapping) else {}
    site = None
    if any(k in ext for k in ("siteCountry", "siteLat", "siteLon", "facility")):
        country = ext.get("siteCountry")
        facility = ext.get("facility")
        site = Site(
            country=str(country).upper() if isinstance(country, str) else None,
            lat=_float(ext.get("siteLat")),
            lon=_float(ext.get("siteLon")),
            facility=str(facility) if isinstance(facility, str) else None,
        )
    destination = None
    destinations = event.get("destinationList")
    for item in destinations if isinstance(destinations, list) else []:
        if isinstance(item, Mapping) and _word(item.get("type")) in (
            "owning_party",
            "possessing_party",
        ):
            destination = party_from_uri(str(item.get("destination", "")))
    epcs = _strings(event.get("epcList")) + _strings(event.get("childEPCs"))
    parent = event.get("parentID")
    vendor = ilmd_ext.get("vendorSerial", ext.get("vendorSerial"))
    board = ilmd_ext.get("boardSerial", ext.get("boardSerial"))
    return CustodyEvent(
        leaf_index=leaf_index,
        party_id=party_id,
        event_type=str(event.get("type", "")),
        action=event.get("action") if isinstance(event.get("action"), str) else None,  # type: ignore[arg-type]
        biz_step=_word(event.get("bizStep")),
        epcs=epcs,
        parent=parent if isinstance(parent, str) else None,
        inputs=_strings(event.get("inputEPCList")),
        outputs=_strings(event.get("outputEPCList")),
        destination=destination,
        site=site,
        vendor_serial=str(vendor) if isinstance(vendor, str) else None,
        board_serial=str(board) if isinstance(board, str) else None,
    )


_REMOVAL_STEPS = frozenset({"removing", "unpacking", "disassembling"})
_END_STEPS = frozenset({"decommissioning", "destroying"})


@dataclass
class Registry:
    """Mutable fold state: asset states by EPC plus what changed since ``take_changes``."""

    states: dict[str, AssetState] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    history: list[tuple[str, int]] = field(default_factory=list)
    anomalies: list[CustodyAnomaly] = field(default_factory=list)

    def put(self, state: AssetState) -> None:
        """Set one asset's state and mark it changed."""
        self.states[state.epc] = state
        self.changed.add(state.epc)

    def descendants(self, epc: str) -> list[str]:
        """Every asset (recursively) whose parent chain reaches ``epc``."""
        children: dict[str, list[str]] = {}
        for state in self.states.values():
            if state.parent is not None:
                children.setdefault(state.parent, []).append(state.epc)
        out: list[str] = []
        stack = [epc]
        seen = {epc}
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in seen:
                    seen.add(child)
                    out.append(child)
                    stack.append(child)
        return out

    def _get(self, epc: str, leaf: int) -> AssetState:
        return self.states.get(epc) or AssetState(
            epc=epc, status=AssetStatus.COMMISSIONED, updated_leaf=leaf
        )

    def _flag(
        self, kind: AnomalyKind, ev: CustodyEvent, epc: str, prior: int | None, msg: str
    ) -> None:
        evidence = (prior, ev.leaf_index) if prior is not None else (ev.leaf_index,)
        self.anomalies.append(CustodyAnomaly(kind, epc, ev.leaf_index, evidence, msg))

    def apply(self, ev: CustodyEvent) -> None:
        """Fold one event into the state (see docs/ledger.md for the rules)."""
        if ev.event_type == "TransformationEvent":
            self._transform(ev)
            return
        grouping = ev.parent is not None and ev.event_type in (
            "AggregationEvent",
            "AssociationEvent",
        )
        if grouping and ev.parent is not None and ev.action not in ("ADD", "DELETE"):
            # OBSERVE of a packed container (e.g. shipping a server): the parent is the subject,
            # its contents travel with it
            inside = set(self.descendants(ev.parent))
            for epc in [ev.parent, *[e for e in ev.epcs if e not in inside]]:
                self._touch(ev, epc)
                for child in self.descendants(epc):
                    self._touch(ev, child, carried=True)
            return
        if grouping:
            self._group(ev)
            if ev.action == "ADD" and ev.parent:
                holder = self._get(ev.parent, ev.leaf_index)
                if holder.custodian is None:  # first seen as a container: its assembler holds it
                    holder = replace(holder, custodian=ev.party_id, custody_leaf=ev.leaf_index)
                self.put(replace(holder, updated_leaf=ev.leaf_index))
            return
        for epc in ev.epcs:
            self._touch(ev, epc)
            for child in self.descendants(epc):
                self._touch(ev, child, carried=True)

    def _touch(self, ev: CustodyEvent, epc: str, *, carried: bool = False) -> None:
        state = self._get(epc, ev.leaf_index)
        step = ev.biz_step
        change: dict[str, object] = {"updated_leaf": ev.leaf_index}
        if step == "commissioning" and not carried:
            change.update(
                status=AssetStatus.COMMISSIONED, custodian=ev.party_id, custody_leaf=ev.leaf_index
            )
        elif step == "shipping":
            if state.custodian != ev.party_id and not carried:
                self._flag(
                    AnomalyKind.SHIPPED_WITHOUT_CUSTODY,
                    ev,
                    epc,
                    state.custody_leaf,
                    f"{ev.party_id} shipped {epc} held by {state.custodian}",
                )
            change.update(
                status=AssetStatus.IN_TRANSIT,
                pending_destination=ev.destination,
                shipment_leaf=ev.leaf_index,
            )
        elif step == "receiving":
            dest = state.pending_destination
            if dest is not None and dest != ev.party_id and not carried:
                self._flag(
                    AnomalyKind.RECEIVER_NOT_DESTINATION,
                    ev,
                    epc,
                    state.shipment_leaf,
                    f"{ev.party_id} received {epc} shipped to {dest}",
                )
            change.update(
                status=AssetStatus.RECEIVED,
                custodian=ev.party_id,
                custody_leaf=ev.leaf_index,
                pending_destination=None,
            )
        elif step == "installing" and not carried:
            if state.status == AssetStatus.INSTALLED and ev.site and ev.site != state.site:
                self._flag(
                    AnomalyKind.INSTALLED_TWICE,
                    ev,
                    epc,
                    state.install_leaf,
                    f"{epc} installed again elsewhere without removal",
                )
            change.update(status=AssetStatus.INSTALLED, install_leaf=ev.leaf_index)
        elif step == "repairing" and not carried:
            change["status"] = AssetStatus.IN_REPAIR
        elif step in _END_STEPS and not carried:
            change["status"] = AssetStatus.DECOMMISSIONED
        elif step in _REMOVAL_STEPS and not carried:
            change["parent"] = None
        self._details(change, epc, ev)
        self.put(replace(state, **change))  # type: ignore[arg-type]
        self.history.append((epc, ev.leaf_index))

    @staticmethod
    def _details(change: dict[str, object], epc: str, ev: CustodyEvent) -> None:
        if ev.site is not None:
            change["site"] = ev.site
        if epc in ev.epcs or epc in ev.outputs:
            if ev.vendor_serial:
                change["vendor_serial"] = ev.vendor_serial
            if ev.board_serial:
                change["board_serial"] = ev.board_serial

    def _with_details(self, state: AssetState, ev: CustodyEvent) -> AssetState:
        change: dict[str, object] = {}
        self._details(change, state.epc, ev)
        return replace(state, **change) if change else state  # type: ignore[arg-type]

    def _group(self, ev: CustodyEvent) -> None:
        parent = ev.parent
        assert parent is not None  # noqa: S101 - checked by the caller
        for epc in ev.epcs:
            state = self._get(epc, ev.leaf_index)
            new = replace(state, updated_leaf=ev.leaf_index)
            if ev.action == "ADD":
                if state.parent is not None and state.parent != parent:
                    self._flag(
                        AnomalyKind.INSTALLED_TWICE,
                        ev,
                        epc,
                        state.install_leaf,
                        f"{epc} put into {parent} while still in {state.parent}",
                    )
                new = replace(new, parent=parent, install_leaf=ev.leaf_index)
                if ev.biz_step == "installing":
                    new = replace(new, status=AssetStatus.INSTALLED)
            elif ev.action == "DELETE" and state.parent == parent:
                new = replace(new, parent=None)
            self.put(self._with_details(new, ev))
            self.history.append((epc, ev.leaf_index))
        if parent in self.states or ev.action == "ADD":
            self.history.append((parent, ev.leaf_index))

    def _transform(self, ev: CustodyEvent) -> None:
        kept = set(ev.inputs) & set(ev.outputs)
        old_parent = None
        for epc in ev.inputs:
            state = self._get(epc, ev.leaf_index)
            if epc not in kept:
                old_parent = old_parent or state.parent
                state = replace(state, status=AssetStatus.REPLACED, parent=None)
            self.put(replace(state, updated_leaf=ev.leaf_index))
            self.history.append((epc, ev.leaf_index))
        for epc in ev.outputs:
            if epc in kept:
                continue
            state = self._get(epc, ev.leaf_index)
            state = replace(
                state,
                status=AssetStatus.INSTALLED if old_parent else AssetStatus.COMMISSIONED,
                custodian=ev.party_id,
                custody_leaf=ev.leaf_index,
                parent=old_parent or state.parent,
                updated_leaf=ev.leaf_index,
            )
            self.put(self._with_details(state, ev))
            self.history.append((epc, ev.leaf_index))

    def take_changes(
        self,
    ) -> tuple[list[AssetState], list[tuple[str, int]], list[CustodyAnomaly]]:
        """What changed since the last call (states, history rows, anomalies), then reset."""
        states = [self.states[e] for e in sorted(self.changed)]
        history, anomalies = list(dict.fromkeys(self.history)), list(self.anomalies)
        self.changed.clear()
        self.history.clear()
        self.anomalies.clear()
        return states, history, anomalies


def involved_epcs(ev: CustodyEvent) -> Iterator[str]:
    """The EPCs an event names directly (the service loads these and their descendants)."""
    yield from ev.epcs
    yield from ev.inputs
    yield from ev.outputs
    if ev.parent is not None:
        yield ev.parent


def rebuild(events: Iterable[CustodyEvent]) -> Registry:
    """Fold every event from an empty registry (``rebuild`` reproduces incremental state)."""
    registry = Registry()
    for ev in events:
        registry.apply(ev)
    return registry
