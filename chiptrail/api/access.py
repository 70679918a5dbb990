"""The route table: for every HTTP operation, the roles that may call it and how it is scoped.

One row per (method, path template) of the OpenAPI document; ``tests/api/test_access.py`` fails
when an operation has no row, so a new route must be classified here. An operation without a row
is refused to everyone but admins. The data-dependent decisions (which chips and findings a party
reaches) are made in ``chiptrail.service.access.scope``; ``api/auth.py`` applies this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.service.auth import Role


class Scope(StrEnum):
    """How a route is limited to the caller's party once its role is allowed."""

    PUBLIC = "public"
    """No key needed (the transparency log, health)."""
    OPEN = "open"
    """Any allowed role; the route holds no party's data (catalogues, pure computations)."""
    STAFF = "staff"
    """Every party's data: only roles that see all parties may be listed."""
    PARTY = "party"
    """The ``{party_id}`` path parameter must be the caller's party."""
    ASSET = "asset"
    """The ``{chip_id}`` or ``{epc}`` path parameter must be an asset the caller's party reaches."""
    FINDING = "finding"
    """The ``{finding_id}`` must be about the caller's party or an asset it reaches."""
    BODY = "body"
    """Every party named in the body at ``body_party`` must be the caller's party."""
    BODY_ASSETS = "body-assets"
    """Every asset named in the body at ``body_party`` must be one the caller's party reaches."""
    FILTERED = "filtered"
    """A list the service filters to what the caller's party reaches."""


ALL = frozenset(Role)
PUBLIC: frozenset[Role] = frozenset()
READERS = ALL - {Role.AUDITOR}
PARTY_ROLES = frozenset({Role.VENDOR, Role.OPERATOR, Role.ANALYST, Role.ADMIN})
STAFF = frozenset({Role.ANALYST, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})
SUBMITTERS = frozenset({Role.VENDOR, Role.OPERATOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call one operation and how it is scoped.

    Attributes:
        roles: roles allowed (empty: public, no key).
        scope: how the data is limited to the caller's party.
        body_party: for ``Scope.BODY`` (``BODY_ASSETS``), the keys leading to the party id (asset
            id) in the JSON body; a list
            met on the way is walked element by element (``("party_id",)`` covers one envelope or
            an array of them).
    """

    roles: frozenset[Role]
    scope: Scope
    body_party: tuple[str, ...] = ()


def _a(roles: frozenset[Role], scope: Scope, *body_party: str) -> Access:
    return Access(roles, scope, tuple(body_party))


_CONVERTER = re.compile(r"\{(\w+):\w+\}")
DENY_UNLISTED = Access(ADMIN_ONLY, Scope.STAFF)

ROUTES: dict[tuple[str, str], Access] = {
    ("GET", "/healthz"): _a(PUBLIC, Scope.PUBLIC),
    # the public transparency log
    ("GET", "/v1/log/checkpoint"): _a(PUBLIC, Scope.PUBLIC),
    ("GET", "/v1/log/proof/inclusion"): _a(PUBLIC, Scope.PUBLIC),
    ("GET", "/v1/log/proof/consistency"): _a(PUBLIC, Scope.PUBLIC),
    ("GET", "/v1/log/tile/{path}"): _a(PUBLIC, Scope.PUBLIC),
    # the caller, keys, audit
    ("GET", "/v1/me"): _a(ALL, Scope.OPEN),
    ("POST", "/v1/keys"): _a(ADMIN_ONLY, Scope.STAFF),
    ("GET", "/v1/keys"): _a(ADMIN_ONLY, Scope.STAFF),
    ("DELETE", "/v1/keys/{key_id}"): _a(ADMIN_ONLY, Scope.STAFF),
    ("GET", "/v1/audit/refused"): _a(ADMIN_ONLY, Scope.STAFF),
    # hardware catalogue and classification: no party data
    ("GET", "/v1/hardware"): _a(READERS, Scope.OPEN),
    ("GET", "/v1/hardware/{model}"): _a(READERS, Scope.OPEN),
    ("POST", "/v1/hardware/classify"): _a(READERS, Scope.OPEN),
    ("POST", "/v1/license-check"): _a(PARTY_ROLES, Scope.OPEN),
    # location verification
    ("POST", "/v1/measurements"): _a(frozenset({Role.LANDMARK, Role.ADMIN}), Scope.OPEN),
    ("GET", "/v1/landmarks"): _a(READERS, Scope.OPEN),
    ("POST", "/v1/landmarks"): _a(ADMIN_ONLY, Scope.STAFF),
    ("POST", "/v1/landmarks/batch"): _a(ADMIN_ONLY, Scope.STAFF),
    ("POST", "/v1/chips/device-keys"): _a(
        frozenset({Role.VENDOR, Role.ADMIN}), Scope.BODY_ASSETS, "device_keys", "chip_id"
    ),
    ("POST", "/v1/chips/{chip_id}/device-key"): _a(
        frozenset({Role.VENDOR, Role.ADMIN}), Scope.ASSET
    ),
    ("GET", "/v1/chips/{chip_id}/location"): _a(PARTY_ROLES, Scope.ASSET),
    ("GET", "/v1/chips/{chip_id}/verdicts"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/verdicts"): _a(STAFF, Scope.STAFF),
    ("POST", "/v1/geoloc/locate"): _a(PARTY_ROLES, Scope.OPEN),
    ("POST", "/v1/geoloc/plan"): _a(PARTY_ROLES, Scope.OPEN),
    # parties, screening, tenancy
    ("POST", "/v1/screen"): _a(PARTY_ROLES, Scope.OPEN),
    ("GET", "/v1/lists"): _a(READERS, Scope.OPEN),
    ("GET", "/v1/parties"): _a(STAFF, Scope.STAFF),  # every party's buyers and status
    ("POST", "/v1/parties"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/parties/{party_id}"): _a(PARTY_ROLES, Scope.PARTY),
    ("GET", "/v1/parties/{party_id}/aggregate"): _a(PARTY_ROLES, Scope.PARTY),
    ("GET", "/v1/parties/{party_id}/chips"): _a(PARTY_ROLES, Scope.PARTY),
    ("POST", "/v1/tenancy"): _a(
        frozenset({Role.OPERATOR, Role.ANALYST, Role.ADMIN}), Scope.BODY, "reports", "operator_id"
    ),
    # trade records: the service keeps a party-bound key to records naming its party (writes
    # refused otherwise, lists filtered), since each kind names its parties in other fields
    ("POST", "/v1/records/{kind}"): _a(PARTY_ROLES, Scope.FILTERED),
    ("GET", "/v1/records"): _a(PARTY_ROLES, Scope.FILTERED),
    # rules, findings, cases, reports
    ("GET", "/v1/rules"): _a(READERS, Scope.OPEN),
    ("POST", "/v1/rules/run"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/findings"): _a(PARTY_ROLES, Scope.FILTERED),
    ("GET", "/v1/findings/{finding_id}"): _a(PARTY_ROLES, Scope.FINDING),
    ("GET", "/v1/findings/{finding_id}/triage"): _a(PARTY_ROLES, Scope.FINDING),
    ("POST", "/v1/findings/{finding_id}/triage"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/cases"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/cases/{case_id}"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/cases/{case_id}/file"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/cases/{case_id}/file.pdf"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/cases/{case_id}/proofs"): _a(STAFF, Scope.STAFF),
    ("POST", "/v1/cases/{case_id}/triage"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/reports/findings"): _a(STAFF, Scope.STAFF),
    # the custody ledger
    ("POST", "/v1/events"): _a(SUBMITTERS, Scope.BODY, "party_id"),
    ("GET", "/v1/chips/{epc}"): _a(PARTY_ROLES, Scope.ASSET),
    ("GET", "/v1/ledger/anomalies"): _a(STAFF, Scope.STAFF),
    # signed envelopes behind event leaves: the route filters to the caller's party (auditor,
    # analyst, admin: all parties), for ``chiptrail audit verify --envelopes``
    ("GET", "/v1/ledger/envelopes"): _a(PARTY_ROLES | {Role.AUDITOR}, Scope.FILTERED),
    ("POST", "/v1/ledger/parties"): _a(STAFF, Scope.STAFF),
    ("GET", "/v1/ledger/parties/{party_id}/keys"): _a(PARTY_ROLES, Scope.PARTY),
    # a new signing key only by an admin; a party rotates or revokes its own key by proving
    # possession of it (the service checks the proof)
    ("POST", "/v1/ledger/parties/{party_id}/keys"): _a(ADMIN_ONLY, Scope.STAFF),
    ("POST", "/v1/ledger/parties/{party_id}/keys/rotate"): _a(PARTY_ROLES, Scope.PARTY),
    ("POST", "/v1/ledger/parties/{party_id}/keys/{key_id}/revoke"): _a(PARTY_ROLES, Scope.PARTY),
}
"""Every operation of the API. Keep it sorted by capability; the test names missing rows."""


def access_for(method: str, path_template: str) -> Access:
    """The row for ``method`` on ``path_template`` (HEAD as GET); unlisted: admins only."""
    template = _CONVERTER.sub(r"{\1}", path_template)  # "{epc:path}" as in the OpenAPI document
    key = ("GET" if method == "HEAD" else method, template)
    return ROUTES.get(key, DENY_UNLISTED)
