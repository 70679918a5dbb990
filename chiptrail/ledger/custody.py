"""Chip registry state derived from the log: custodian, site, container, status, and anomalies.

No I/O: ``Registry`` folds ``CustodyEvent``s in log order. The service feeds it the stored state
of the assets an event touches and writes back what changed; ``rebuild`` replays every entry.

Chain of custody (the table is in docs/ledger.md): only a product's manufacturer commissions,
only the current custodian ships, packs, repairs, installs, decommissions or declares a site, and
a receipt moves custody only when it matches a shipment addressed to the receiver. With
``enforce=True`` (ingestion) the claims that can never be legitimate raise ``PermissionDenied``;
claims an honest party can make out of order (a receipt reported before the shipment, a repair
shop reporting a repair) are logged with a ``CustodyAnomaly`` and change nothing. Replaying an
older log (``enforce=False``) turns would-be refusals into anomalies too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from chiptrail.errors import PermissionDenied
from chiptrail.ledger.custody_events import CHIPTRAIL_NS as CHIPTRAIL_NS
from chiptrail.ledger.custody_events import PARTY_URN as PARTY_URN
from chiptrail.ledger.custody_events import CustodyEvent as CustodyEvent
from chiptrail.ledger.custody_events import Site as Site
from chiptrail.ledger.custody_events import custody_event_from_epcis as custody_event_from_epcis
from chiptrail.ledger.custody_events import involved_epcs as involved_epcs
from chiptrail.ledger.custody_events import party_from_uri as party_from_uri


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
    RECEIVED_WITHOUT_SHIPMENT = "received-without-shipment"
    REPAIRED_WITHOUT_CUSTODY = "repaired-without-custody"
    ACTED_WITHOUT_CUSTODY = "acted-without-custody"
    COMMISSIONED_TWICE = "commissioned-twice"
    NOT_MANUFACTURER = "not-manufacturer"
    PACKED_WITHOUT_CUSTODY = "packed-without-custody"
    DECOMMISSIONED_WITHOUT_CUSTODY = "decommissioned-without-custody"


REFUSED_KINDS = frozenset(
    {
        AnomalyKind.SHIPPED_WITHOUT_CUSTODY,
        AnomalyKind.COMMISSIONED_TWICE,
        AnomalyKind.NOT_MANUFACTURER,
        AnomalyKind.PACKED_WITHOUT_CUSTODY,
        AnomalyKind.DECOMMISSIONED_WITHOUT_CUSTODY,
    }
)
"""Claims refused at ingestion (they appear as anomalies only when replaying an older log)."""


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
    maker: str | None = None
    early_receiver: str | None = None
    early_receipt_leaf: int | None = None

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


_REMOVAL_STEPS = frozenset({"removing", "unpacking", "disassembling"})
_END_STEPS = frozenset({"decommissioning", "destroying"})
_SGTIN = "urn:epc:id:sgtin:"


def maker_key(epc: str) -> str:
    """What a manufacturer claims by commissioning ``epc``: its product line.

    An SGTIN names company prefix, item reference and serial; the product line is
    ``sgtin:<company prefix>.<item reference>`` (one GTIN). Any other identifier is its own line.
    """
    if epc.startswith(_SGTIN):
        cp, _, rest = epc[len(_SGTIN) :].partition(".")
        item, dot, _serial = rest.partition(".")
        if cp and item and dot:
            return f"sgtin:{cp}.{item}"
    return epc


@dataclass
class Registry:
    """Mutable fold state: asset states by EPC plus what changed since ``take_changes``.

    Attributes:
        enforce: raise ``PermissionDenied`` for claims that are never legitimate (ingestion);
            False (replaying a stored log) records them as anomalies instead.
        makers: product line (``maker_key``) -> the party that commissioned it first; the
            service preloads the lines an event touches and saves ``new_makers``.
    """

    states: dict[str, AssetState] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    history: list[tuple[str, int]] = field(default_factory=list)
    anomalies: list[CustodyAnomaly] = field(default_factory=list)
    enforce: bool = False
    makers: dict[str, str] = field(default_factory=dict)
    new_makers: dict[str, tuple[str, int]] = field(default_factory=dict)

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
        if self.enforce and kind in REFUSED_KINDS:
            raise PermissionDenied(
                f"custody refused: {msg}",
                {"rule": kind.value, "epc": epc, "party_id": ev.party_id, "prior_leaf": prior},
            )
        evidence = (prior, ev.leaf_index) if prior is not None else (ev.leaf_index,)
        self.anomalies.append(CustodyAnomaly(kind, epc, ev.leaf_index, evidence, msg))

    def apply(self, ev: CustodyEvent) -> None:
        """Fold one event into the state (see docs/ledger.md for the rules).

        Raises:
            PermissionDenied: with ``enforce``, a claim the chain of custody never allows.
        """
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
                self._touch_with_contents(ev, epc)
            return
        if grouping:
            self._group(ev)
            return
        for epc in ev.epcs:
            self._touch_with_contents(ev, epc)

    def _touch_with_contents(self, ev: CustodyEvent, epc: str) -> None:
        if self._touch(ev, epc):
            for child in self.descendants(epc):
                self._touch(ev, child, carried=True)

    def _touch(self, ev: CustodyEvent, epc: str, *, carried: bool = False) -> bool:
        """Apply one event to one asset; False when the claim changed nothing (anomaly)."""
        state = self._get(epc, ev.leaf_index)
        self.history.append((epc, ev.leaf_index))
        change: dict[str, object] | None = (
            self._carried(ev, state) if carried else self._claim(ev, epc, state)
        )
        if change is None:
            self.put(replace(self._get(epc, ev.leaf_index), updated_leaf=ev.leaf_index))
            return False
        change["updated_leaf"] = ev.leaf_index
        if ev.site is not None and change.get("custodian", state.custodian) == ev.party_id:
            change["site"] = ev.site
        if epc in ev.epcs or epc in ev.outputs:
            if ev.vendor_serial:
                change["vendor_serial"] = ev.vendor_serial
            if ev.board_serial:
                change["board_serial"] = ev.board_serial
        self.put(replace(state, **change))  # type: ignore[arg-type]
        return True

    @staticmethod
    def _carried(ev: CustodyEvent, state: AssetState) -> dict[str, object]:
        """Contents follow their container's accepted shipping / receiving."""
        if ev.biz_step == "shipping":
            return {"status": AssetStatus.IN_TRANSIT, "pending_destination": ev.destination}
        if ev.biz_step == "receiving":
            return {
                "status": AssetStatus.RECEIVED,
                "custodian": ev.party_id,
                "custody_leaf": ev.leaf_index,
                "pending_destination": None,
            }
        return {}

    def _claim(self, ev: CustodyEvent, epc: str, state: AssetState) -> dict[str, object] | None:
        step, party = ev.biz_step, ev.party_id
        if step == "commissioning":
            return self._commission(ev, epc, state)
        if step == "receiving":
            return self._receive(ev, epc, state)
        holds = state.custodian == party
        if step == "shipping":
            if not holds:
                self._flag(
                    AnomalyKind.SHIPPED_WITHOUT_CUSTODY,
                    ev,
                    epc,
                    state.custody_leaf,
                    f"{party} shipped {epc} held by {state.custodian}",
                )
                return None
            if state.early_receiver is not None and state.early_receiver == ev.destination:
                # the receiver reported first: this shipment completes the transfer
                return {
                    "status": AssetStatus.RECEIVED,
                    "custodian": state.early_receiver,
                    "custody_leaf": state.early_receipt_leaf,
                    "shipment_leaf": ev.leaf_index,
                    "pending_destination": None,
                    "early_receiver": None,
                    "early_receipt_leaf": None,
                }
            return {
                "status": AssetStatus.IN_TRANSIT,
                "pending_destination": ev.destination,
                "shipment_leaf": ev.leaf_index,
            }
        if step in _END_STEPS:
            if not holds:
                self._flag(
                    AnomalyKind.DECOMMISSIONED_WITHOUT_CUSTODY,
                    ev,
                    epc,
                    state.custody_leaf,
                    f"{party} decommissioned {epc} held by {state.custodian}",
                )
                return None
            return {"status": AssetStatus.DECOMMISSIONED}
        if not holds:
            kind = (
                AnomalyKind.REPAIRED_WITHOUT_CUSTODY
                if step == "repairing"
                else AnomalyKind.ACTED_WITHOUT_CUSTODY
            )
            if step == "repairing" or ev.site is not None or step == "installing":
                self._flag(
                    kind,
                    ev,
                    epc,
                    state.custody_leaf,
                    f"{party} reported {step} of {epc} held by {state.custodian}",
                )
            return None
        if step == "installing":
            if state.status == AssetStatus.INSTALLED and ev.site and ev.site != state.site:
                self._flag(
                    AnomalyKind.INSTALLED_TWICE,
                    ev,
                    epc,
                    state.install_leaf,
                    f"{epc} installed again elsewhere without removal",
                )
            return {"status": AssetStatus.INSTALLED, "install_leaf": ev.leaf_index}
        if step == "repairing":
            return {"status": AssetStatus.IN_REPAIR}
        if step in _REMOVAL_STEPS:
            return {"parent": None}
        return {}

    def _commission(
        self, ev: CustodyEvent, epc: str, state: AssetState
    ) -> dict[str, object] | None:
        party = ev.party_id
        if state.maker is not None:
            self._flag(
                AnomalyKind.COMMISSIONED_TWICE,
                ev,
                epc,
                state.custody_leaf,
                f"{party} commissioned {epc}, already commissioned by {state.maker}",
            )
            return None
        line = maker_key(epc)
        owner = self.makers.get(line)
        if owner is not None and owner != party:
            self._flag(
                AnomalyKind.NOT_MANUFACTURER,
                ev,
                epc,
                None,
                f"{party} commissioned {epc} of product line {line}, made by {owner}",
            )
            return None
        if owner is None:
            self.makers[line] = party
            self.new_makers[line] = (party, ev.leaf_index)
        return {
            "status": AssetStatus.COMMISSIONED,
            "custodian": party,
            "custody_leaf": ev.leaf_index,
            "maker": party,
        }

    def _receive(self, ev: CustodyEvent, epc: str, state: AssetState) -> dict[str, object] | None:
        party, dest = ev.party_id, state.pending_destination
        accepted = {
            "status": AssetStatus.RECEIVED,
            "custodian": party,
            "custody_leaf": ev.leaf_index,
            "pending_destination": None,
        }
        if state.status == AssetStatus.IN_TRANSIT and dest == party:
            return accepted
        if state.status == AssetStatus.IN_TRANSIT and dest is not None:
            self._flag(
                AnomalyKind.RECEIVER_NOT_DESTINATION,
                ev,
                epc,
                state.shipment_leaf,
                f"{party} received {epc} shipped to {dest}",
            )
            return None
        if state.custodian == party:
            return {}  # a holder re-declaring receipt (e.g. at another of its own sites)
        self._flag(
            AnomalyKind.RECEIVED_WITHOUT_SHIPMENT,
            ev,
            epc,
            state.custody_leaf,
            f"{party} received {epc} held by {state.custodian} with no shipment to it (yet)",
        )
        # remembered, so the matching shipment completes the transfer; contents do not move
        self.put(replace(state, early_receiver=party, early_receipt_leaf=ev.leaf_index))
        return None

    def _group(self, ev: CustodyEvent) -> None:
        parent = ev.parent
        assert parent is not None  # noqa: S101 - checked by the caller
        holder = self.states.get(parent)
        if holder is not None and holder.custodian not in (None, ev.party_id):
            self._flag(
                AnomalyKind.PACKED_WITHOUT_CUSTODY,
                ev,
                parent,
                holder.custody_leaf,
                f"{ev.party_id} changed the contents of {parent} held by {holder.custodian}",
            )
            self.history.append((parent, ev.leaf_index))
            return
        for epc in ev.epcs:
            state = self._get(epc, ev.leaf_index)
            self.history.append((epc, ev.leaf_index))
            if state.custodian != ev.party_id:
                self._flag(
                    AnomalyKind.PACKED_WITHOUT_CUSTODY,
                    ev,
                    epc,
                    state.custody_leaf,
                    f"{ev.party_id} packed {epc} held by {state.custodian}",
                )
                continue
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
        if ev.action == "ADD":
            holder = self._get(parent, ev.leaf_index)
            if holder.custodian is None:  # first seen as a container: its assembler holds it
                holder = replace(holder, custodian=ev.party_id, custody_leaf=ev.leaf_index)
            self.put(replace(holder, updated_leaf=ev.leaf_index))
        if parent in self.states:
            self.history.append((parent, ev.leaf_index))

    @staticmethod
    def _with_details(state: AssetState, ev: CustodyEvent) -> AssetState:
        change: dict[str, object] = {}
        if ev.site is not None:
            change["site"] = ev.site
        if state.epc in ev.epcs or state.epc in ev.outputs:
            if ev.vendor_serial:
                change["vendor_serial"] = ev.vendor_serial
            if ev.board_serial:
                change["board_serial"] = ev.board_serial
        return replace(state, **change) if change else state  # type: ignore[arg-type]

    def _transform(self, ev: CustodyEvent) -> None:
        foreign = [
            e
            for e in ev.inputs
            if e in self.states and self.states[e].custodian not in (None, ev.party_id)
        ]
        if foreign:
            for epc in foreign:
                held = self.states[epc]
                self._flag(
                    AnomalyKind.REPAIRED_WITHOUT_CUSTODY,
                    ev,
                    epc,
                    held.custody_leaf,
                    f"{ev.party_id} transformed {epc} held by {held.custodian}",
                )
            for epc in dict.fromkeys((*ev.inputs, *ev.outputs)):
                self.history.append((epc, ev.leaf_index))
            return
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


def rebuild(events: Iterable[CustodyEvent]) -> Registry:
    """Fold every event from an empty registry (``rebuild`` reproduces incremental state)."""
    registry = Registry()
    for ev in events:
        registry.apply(ev)
    return registry
