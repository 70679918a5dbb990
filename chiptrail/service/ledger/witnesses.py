"""The registry's side of witnessing: ask witnesses to cosign the current checkpoint, keep the
cosignature lines, serve them with the checkpoint (``GET /v1/log/checkpoint``, exports).

A witness (``chiptrail witness serve``) answers C2SP tlog-witness ``add-checkpoint`` requests;
the registry sends the signed checkpoint with a consistency proof from the size the witness last
cosigned (learned from its 409 answer). Offline witnesses get the same request as a file
(``chiptrail log witness-request``) and their cosignature lines come back through
``add_cosignature_lines``. The lines are kept, never trusted: auditors verify them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import select

from chiptrail.errors import InvalidInput, Unavailable
from chiptrail.ledger.witness import format_add_checkpoint, parse_checkpoint_text
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import cosignatures_table

_SIG_PREFIX = "\u2014 "


def witness_request(db: Database, settings: Settings, old_size: int, *, now: datetime) -> bytes:
    """An add-checkpoint body for the current checkpoint, consistent from ``old_size``."""
    note = svc_log.sign_log_checkpoint(db, settings, now=now)
    size = parse_checkpoint_text(note).size
    if not 0 <= old_size <= size:
        raise InvalidInput(f"old size must be between 0 and {size}", {"field": "old_size"})
    proof: list[bytes] = []
    if 0 < old_size < size:
        cons = svc_log.prove_consistency(db, old_size, size)
        proof = [base64.b64decode(h) for h in cons.hashes]
    return format_add_checkpoint(old_size, proof, note)


def _parse_lines(text: str) -> list[tuple[str, str]]:
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, _, blob = line.removeprefix(_SIG_PREFIX).partition(" ")
        if not line.startswith(_SIG_PREFIX) or not name or not blob or " " in blob:
            raise InvalidInput("not a signed-note signature line ('— name base64')")
        out.append((name, line))
    return out


def add_cosignature_lines(
    db: Database, settings: Settings, text: str, *, size: int | None = None, now: datetime
) -> int:
    """Keep cosignature lines for the checkpoint of ``size`` (default: current); returns how
    many were new (a witness's later line for the same size replaces nothing)."""
    lines = _parse_lines(text)
    if size is None:
        size = parse_checkpoint_text(svc_log.sign_log_checkpoint(db, settings, now=now)).size
    t = cosignatures_table
    added = 0
    with db.unit() as conn:
        have = {str(r[0]) for r in conn.execute(select(t.c.witness).where(t.c.size == size))}
        for name, line in lines:
            if name in have:
                continue
            conn.execute(t.insert().values(size=size, witness=name, line=line, added_at=now))
            have.add(name)
            added += 1
    return added


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """What one witness said: its cosignature lines, or why it refused."""

    url: str
    size: int
    cosigned: bool
    message: str


def _post(url: str, body: bytes, timeout_s: float) -> httpx.Response:
    try:
        return httpx.post(url.rstrip("/") + "/add-checkpoint", content=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise Unavailable(f"witness {url} did not answer: {exc}") from exc


def collect_cosignatures(
    db: Database, settings: Settings, urls: list[str], *, now: datetime, timeout_s: float = 10.0
) -> list[WitnessAnswer]:
    """Ask each witness to cosign the current checkpoint and keep the lines it returns."""
    size = parse_checkpoint_text(svc_log.sign_log_checkpoint(db, settings, now=now)).size
    answers = []
    for url in urls:
        old = 0
        response = _post(url, witness_request(db, settings, old, now=now), timeout_s)
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(
            "text/x.tlog.size"
        ):
            old = int(response.text.strip() or "0")
            if 0 <= old <= size:
                response = _post(url, witness_request(db, settings, old, now=now), timeout_s)
        if response.status_code == 200:
            add_cosignature_lines(db, settings, response.text, size=size, now=now)
            answers.append(WitnessAnswer(url, size, True, response.text.strip()))
        else:
            answers.append(
                WitnessAnswer(url, size, False, f"{response.status_code}: {response.text.strip()}")
            )
    return answers
