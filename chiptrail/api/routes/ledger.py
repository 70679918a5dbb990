"""HTTP routes of the ledger: signed event submission, chips, parties and keys, the log.

Each route calls one function of ``chiptrail.service.ledger.events``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from chiptrail.api.auth import CallerDep
from chiptrail.api.deps import DatabaseDep, SettingsDep, get_sequencer
from chiptrail.crypto import b64decode
from chiptrail.errors import InvalidInput, PermissionDenied
from chiptrail.ledger.custody import AssetState, CustodyAnomaly
from chiptrail.ledger.keys import KeyRecord
from chiptrail.service.access import ledger_keys
from chiptrail.service.auth import Role
from chiptrail.service.ledger import envelopes as svc_env
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger.sequencer import PreparedSubmission, Sequencer

router = APIRouter(prefix="/v1", tags=["ledger"])


def _now() -> datetime:
    return datetime.now(UTC)


class PartyIn(BaseModel):
    """A party to register."""

    party_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1)
    country: str | None = None
    kind: str = "Company"


class KeyIn(BaseModel):
    """A raw Ed25519 public key, base64."""

    public_key_b64: str


class RotateIn(BaseModel):
    """Replace ``old_key_id`` by a new key; non-admins prove they hold the old one."""

    old_key_id: str = Field(max_length=64)
    public_key_b64: str = Field(max_length=200)
    proof_b64: str | None = Field(
        default=None,
        max_length=200,
        description="Ed25519 signature by the old key of "
        "chiptrail.service.access.ledger_keys.rotation_message (admins: not needed).",
    )


class RevokeIn(BaseModel):
    """Revoke a key; non-admins prove they hold it."""

    proof_b64: str | None = Field(
        default=None,
        max_length=200,
        description="Ed25519 signature by the key of "
        "chiptrail.service.access.ledger_keys.revocation_message (admins: not needed).",
    )


def _key_out(record: KeyRecord) -> dict[str, object]:
    return {
        "key_id": record.key_id,
        "party_id": record.party_id,
        "public_key_hex": record.public_key.hex(),
        "added_leaf": record.added_leaf,
        "revoked_leaf": record.revoked_leaf,
    }


def _state_out(state: AssetState) -> dict[str, object]:
    return state.to_json()


def _anomaly_out(a: CustodyAnomaly) -> dict[str, object]:
    return {
        "kind": a.kind.value,
        "subject": a.subject,
        "leaf_index": a.leaf_index,
        "evidence": list(a.evidence),
        "message": a.message,
    }


@router.post("/ledger/parties", status_code=201)
def post_party(body: PartyIn, db: DatabaseDep) -> dict[str, object]:
    """Register a party (logged as a ``party`` entry)."""
    result = svc.register_party(
        db, party_id=body.party_id, name=body.name, country=body.country, kind=body.kind, now=_now()
    )
    return {
        "party_id": result.party.party_id,
        "name": result.party.name,
        "country": result.party.country,
        "kind": result.party.kind.value,
        "leaf_index": result.leaf_index,
    }


@router.get("/ledger/parties/{party_id}/keys")
def get_keys(party_id: str, db: DatabaseDep) -> list[dict[str, object]]:
    """A party's keys, active and revoked."""
    return [_key_out(r) for r in svc.list_party_keys(db, party_id)]


@router.post("/ledger/parties/{party_id}/keys", status_code=201)
def post_key(party_id: str, body: KeyIn, db: DatabaseDep) -> dict[str, object]:
    """Register a public key for a party."""
    key = b64decode(body.public_key_b64, "public_key_b64")
    return _key_out(svc.add_party_key(db, party_id=party_id, public_key=key, now=_now()))


@router.post("/ledger/parties/{party_id}/keys/rotate", status_code=201)
def post_rotate(
    party_id: str, body: RotateIn, db: DatabaseDep, caller: CallerDep
) -> dict[str, object]:
    """Add a new key and revoke the old one atomically (a party proves it holds the old key)."""
    key = b64decode(body.public_key_b64, "public_key_b64")
    proof = None if body.proof_b64 is None else b64decode(body.proof_b64, "proof_b64")
    record = ledger_keys.rotate_key_with_proof(
        db,
        caller,
        party_id=party_id,
        old_key_id=body.old_key_id,
        new_public_key=key,
        proof=proof,
        now=_now(),
    )
    return _key_out(record)


@router.post("/ledger/parties/{party_id}/keys/{key_id}/revoke")
def post_revoke(
    party_id: str, key_id: str, db: DatabaseDep, caller: CallerDep, body: RevokeIn | None = None
) -> dict[str, object]:
    """Revoke a key (a party proves it holds the key; a lost key is revoked by an admin)."""
    given = None if body is None else body.proof_b64
    proof = None if given is None else b64decode(given, "proof_b64")
    record = ledger_keys.revoke_key_with_proof(
        db, caller, party_id=party_id, key_id=key_id, proof=proof, now=_now()
    )
    return _key_out(record)


_ENVELOPE_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": [
        "format",
        "party_id",
        "key_id",
        "nonce",
        "signed_at",
        "content_type",
        "payload_b64",
        "signature_b64",
    ],
    "properties": {
        "format": {"type": "string", "enum": ["chiptrail-envelope/1"]},
        "party_id": {"type": "string"},
        "key_id": {"type": "string"},
        "nonce": {"type": "string"},
        "signed_at": {"type": "string", "format": "date-time"},
        "content_type": {"type": "string"},
        "payload_b64": {"type": "string"},
        "signature_b64": {"type": "string"},
    },
}


@router.post(
    "/events",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            _ENVELOPE_SCHEMA,
                            {"type": "array", "items": _ENVELOPE_SCHEMA, "minItems": 1},
                        ]
                    }
                }
            },
        }
    },
)
async def post_events(request: Request) -> dict[str, object]:
    """Submit one signed envelope or a JSON array of them; the batch lands whole or not at all.

    Parsing and signature checks run in a worker thread with no lock held (the event loop keeps
    answering other requests); the log's sequencer then appends the request with whatever else
    has queued and answers once that batch committed (group commit).
    """
    body = await request.body()
    log_sequencer = get_sequencer(request)
    prepared = await run_in_threadpool(_prepare_events, log_sequencer, body)
    result = await asyncio.wrap_future(log_sequencer.submit(prepared))
    return {
        "size": result.size,
        "appended": result.appended,
        "receipts": [
            {"event_id": r.event_id, "leaf_index": r.leaf_index, "duplicate": r.duplicate}
            for r in result.receipts
        ],
        "anomalies": [_anomaly_out(a) for a in result.anomalies],
    }


def _prepare_events(log_sequencer: Sequencer, body: bytes) -> PreparedSubmission:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput("body must be a JSON envelope or array of envelopes") from exc
    envelopes = doc if isinstance(doc, list) else [doc]
    return log_sequencer.prepare(envelopes, now=_now())


@router.get("/chips/{epc:path}")
def get_chip(epc: str, db: DatabaseDep, caller: CallerDep) -> dict[str, object]:
    """A chip's (or server's) state, history and anomalies."""
    view = svc.get_chip(db, epc, caller=caller)
    return {
        "state": _state_out(view.state),
        "children": list(view.children),
        "history": [
            {
                "leaf_index": h.leaf_index,
                "event_id": h.event_id,
                "party_id": h.party_id,
                "event_type": h.event_type,
                "biz_step": h.biz_step,
                "event_time": h.event_time,
            }
            for h in view.history
        ],
        "anomalies": [_anomaly_out(a) for a in view.anomalies],
    }


@router.get("/parties/{party_id}/chips")
def get_party_chips(party_id: str, db: DatabaseDep) -> list[dict[str, object]]:
    """Assets a party currently holds."""
    return [_state_out(s) for s in svc.list_party_chips(db, party_id)]


@router.get("/ledger/envelopes")
def get_envelopes(
    db: DatabaseDep,
    caller: CallerDep,
    start: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=svc_env.MAX_PAGE)] = svc_env.MAX_PAGE,
) -> dict[str, object]:
    """The signed envelopes (and v2 details) behind event leaves, for `audit verify --envelopes`.

    A party's key gets its own party's events; auditor, analyst and admin keys get every party's.
    """
    sees_all = caller.sees_all_parties or caller.role == Role.AUDITOR
    if not sees_all and caller.party_id is None:
        raise PermissionDenied("this key acts for no party: it has no envelopes to read")
    page = svc_env.list_envelope_records(
        db, party_id=None if sees_all else caller.party_id, start=start, limit=limit
    )
    return {
        "records": [r.to_json() for r in page.records],
        "next_start": page.next_start,
    }


@router.get("/ledger/anomalies")
def get_anomalies(db: DatabaseDep, subject: str | None = None) -> list[dict[str, object]]:
    """Custody anomalies with their evidence leaves."""
    return [_anomaly_out(a) for a in svc.list_custody_anomalies(db, subject)]


@router.get(
    "/log/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "C2SP signed checkpoint note.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def get_checkpoint(db: DatabaseDep, settings: SettingsDep) -> PlainTextResponse:
    """The current signed checkpoint (C2SP tlog-checkpoint, text/plain) with the witness
    cosignatures collected for its size."""
    note = svc_log.witnessed_checkpoint(db, settings, now=_now())
    return PlainTextResponse(note)


@router.get("/log/proof/inclusion")
def get_inclusion(
    db: DatabaseDep,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, object]:
    """RFC 9162 inclusion proof (base64 hashes)."""
    p = svc_log.prove_inclusion(db, index, size)
    return {
        "index": p.index,
        "size": p.size,
        "leaf_hash": p.leaf_hash,
        "root_hash": p.root_hash,
        "hashes": list(p.hashes),
    }


@router.get("/log/proof/consistency")
def get_consistency(
    db: DatabaseDep,
    old_size: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, object]:
    """RFC 9162 consistency proof (base64 hashes)."""
    p = svc_log.prove_consistency(db, old_size, size)
    return {
        "old_size": p.old_size,
        "size": p.size,
        "old_root_hash": p.old_root_hash,
        "root_hash": p.root_hash,
        "hashes": list(p.hashes),
    }


@router.get(
    "/log/tile/{path:path}",
    response_class=Response,
    responses={
        200: {
            "description": "Tile bytes (hashes or a length-prefixed entry bundle).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
    },
)
def get_tile(path: str, request: Request, db: DatabaseDep) -> Response:
    """A C2SP tile or entry bundle; full tiles are immutable and carry a strong ETag."""
    tile = svc_log.read_log_tile(db, path)
    etag = '"' + hashlib.sha256(tile.data).hexdigest() + '"'
    cache = "public, max-age=31536000, immutable" if tile.full else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(tile.data, media_type="application/octet-stream", headers=headers)
