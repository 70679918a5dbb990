"""Bounded load generation against a live server: workloads, concurrent submitters, figures.

A workload is a list of unique submissions (path, JSON body, idempotency id). Submitters retry
transport errors, 5xx and 429 (after Retry-After); a 409 on a retry means the earlier attempt was
stored (every submission here is unique), so clients are idempotent end to end.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.ledger.submission import sign_submission
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.wire import record_to_json
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.types import ChipId, LandmarkId

LANDMARK_ID = "lm-load"
LANDMARK_SEED = bytes([41]) * 32


@dataclass(frozen=True)
class Submission:
    """One unique thing to submit."""

    path: str
    body: dict[str, object]
    ident: str


@dataclass
class Outcome:
    """What the submitters saw."""

    acknowledged: set[str] = field(default_factory=set)
    latencies_s: list[float] = field(default_factory=list)
    retries: int = 0
    replay_acks: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def figures(self) -> dict[str, float]:
        """Throughput and latency percentiles (ms)."""
        lat = sorted(self.latencies_s) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return {
            "acknowledged": float(len(self.acknowledged)),
            "requests": float(len(self.latencies_s)),
            "retries": float(self.retries),
            "replay_acks": float(self.replay_acks),
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_per_s": round(len(self.acknowledged) / max(self.elapsed_s, 1e-9), 1),
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
        }


def _is_replay(response: httpx.Response) -> bool:
    """A retry refused as a repeat: the earlier attempt was stored (409 from measurements,
    400 "replayed" from the ledger)."""
    if response.status_code == 409:
        return True
    return response.status_code == 400 and "replayed" in response.text


async def _submit_one(
    client: httpx.AsyncClient,
    sub: Submission,
    headers: dict[str, str],
    out: Outcome,
    deadline: float,
) -> None:
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        started = time.monotonic()
        try:
            response = await client.post(sub.path, json=sub.body, headers=headers)
        except httpx.TransportError:
            out.retries += 1
            await asyncio.sleep(min(0.05 * attempt, 0.5))
            continue
        out.latencies_s.append(time.monotonic() - started)
        out.statuses[response.status_code] = out.statuses.get(response.status_code, 0) + 1
        if response.status_code in (200, 201):
            out.acknowledged.add(sub.ident)
            return
        if attempt > 1 and _is_replay(response):
            out.replay_acks += 1  # the attempt lost in the crash had landed
            out.acknowledged.add(sub.ident)
            return
        if response.status_code == 429 or response.status_code >= 500:
            out.retries += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "0.05")))
            continue
        out.failed.append(f"{sub.ident}: {response.status_code} {response.text[:200]}")
        return
    out.failed.append(f"{sub.ident}: deadline passed")


async def run_load(
    base_url: str,
    work: Sequence[tuple[dict[str, str], Sequence[Submission]]],
    *,
    time_limit_s: float,
    out: Outcome | None = None,
) -> Outcome:
    """Run one concurrent submitter per ``(headers, submissions)`` entry (each its own key),
    within ``time_limit_s``."""
    out = out or Outcome()
    deadline = time.monotonic() + time_limit_s
    started = time.monotonic()
    n = len(work)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:

        async def submitter(headers: dict[str, str], subs: Sequence[Submission]) -> None:
            for sub in subs:
                if time.monotonic() >= deadline:
                    out.failed.append(f"{sub.ident}: deadline passed")
                    continue
                await _submit_one(client, sub, headers, out, deadline)

        await asyncio.gather(*(submitter(h, subs) for h, subs in work))
    out.elapsed_s = time.monotonic() - started
    return out


def split(items: Sequence[Submission], n: int) -> list[list[Submission]]:
    """``items`` dealt round-robin into ``n`` lists."""
    return [list(items[i::n]) for i in range(n)]


def create_role_keys(
    base_url: str, admin: dict[str, str], role: str, party: str, n: int
) -> list[dict[str, str]]:
    """``n`` keys of ``role`` for ``party`` (created through ``POST /v1/keys``), as headers."""
    headers = []
    with httpx.Client(base_url=base_url, headers=admin, timeout=30.0) as client:
        for i in range(n):
            body = {"role": role, "party_id": party, "label": f"load submitter {i}"}
            response = client.post("/v1/keys", json=body)
            assert response.status_code == 201, response.text
            headers.append({"Authorization": f"Bearer {response.json()['token']}"})
    return headers


def measurement_workload(
    n_chips: int, per_chip: int
) -> tuple[list[dict[str, object]], list[Submission]]:
    """Device keys to register and one signed measurement submission per (chip, round)."""
    landmark_key = Ed25519Signer(LANDMARK_SEED)
    landmark = Landmark(LandmarkConfig(LandmarkId(LANDMARK_ID)), landmark_key)
    now = datetime.now(UTC)
    devices, subs = [], []
    for c in range(n_chips):
        chip = SoftwareDeviceKey(ChipId(f"load-chip-{c:04d}"), Ed25519Signer(os.urandom(32)))
        devices.append(
            {"chip_id": chip.chip_id, "scheme": "ed25519", "public_key": b64encode(chip.public_key)}
        )
        for r in range(per_chip):
            challenge = landmark.issue_challenge(chip.chip_id, os.urandom(32), now, 0)
            record = landmark.accept_response(answer_challenge(challenge, chip), 3_000_000 + r, now)
            body = {"records": [record_to_json(record)]}
            subs.append(Submission("/v1/measurements", body, b64encode(record.nonce)))
    return devices, subs


def register_measurement_fixtures(
    base_url: str, admin: dict[str, str], devices: Sequence[dict[str, object]]
) -> None:
    """Register the load landmark and every chip's device key through the API."""
    with httpx.Client(base_url=base_url, headers=admin, timeout=30.0) as client:
        landmark = {
            "landmark_id": LANDMARK_ID,
            "lat": 1.29,
            "lon": 103.85,
            "country": "SG",
            "public_key": b64encode(Ed25519Signer(LANDMARK_SEED).public_key),
        }
        response = client.post("/v1/landmarks", json=landmark)
        assert response.status_code in (201, 409), response.text
        for device in devices:
            body = {"scheme": device["scheme"], "public_key": device["public_key"]}
            response = client.post(f"/v1/chips/{device['chip_id']}/device-key", json=body)
            assert response.status_code == 201, response.text


def event_workload(
    n_parties: int, per_party: int
) -> tuple[list[tuple[str, Ed25519Signer]], list[list[Submission]]]:
    """Parties with fresh signing keys, and per party its signed commissioning envelopes (one
    event per envelope, a distinct chip each)."""
    parties, work = [], []
    signed_at = datetime.now(UTC)
    for p in range(n_parties):
        party_id = f"load-vendor-{p:02d}"
        signer = Ed25519Signer(os.urandom(32))
        parties.append((party_id, signer))
        subs = []
        for i in range(per_party):
            epc = f"urn:epc:id:sgtin:0614141.{107000 + p}.{i}"
            payload = epcis_document(epc, signed_at - timedelta(hours=1, seconds=i))
            nonce = f"load-{p:02d}-{i:06d}"
            env = sign_submission(
                payload, party_id=party_id, signer=signer, nonce=nonce, signed_at=signed_at
            )
            subs.append(Submission("/v1/events", env.to_json(), nonce))
        work.append(subs)
    return parties, work


def epcis_document(epc: str, at: datetime) -> bytes:
    """An EPCIS 2.0 document with one commissioning ObjectEvent for ``epc``."""
    event = {
        "type": "ObjectEvent",
        "eventTime": at.isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "epcList": [epc],
    }
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": at.isoformat(),
            "epcisBody": {"eventList": [event]},
        }
    ).encode()


def register_event_parties(
    base_url: str, admin: dict[str, str], parties: Sequence[tuple[str, Ed25519Signer]]
) -> list[dict[str, str]]:
    """Register each party and its signing key in the ledger; return a vendor API key each."""
    headers = []
    with httpx.Client(base_url=base_url, headers=admin, timeout=30.0) as client:
        for party_id, signer in parties:
            body = {"party_id": party_id, "name": party_id, "country": "US"}
            assert client.post("/v1/ledger/parties", json=body).status_code == 201
            key = {"public_key_b64": b64encode(signer.public_key)}
            response = client.post(f"/v1/ledger/parties/{party_id}/keys", json=key)
            assert response.status_code == 201, response.text
            created = client.post("/v1/keys", json={"role": "vendor", "party_id": party_id})
            assert created.status_code == 201, created.text
            headers.append({"Authorization": f"Bearer {created.json()['token']}"})
    return headers


@dataclass(frozen=True)
class LogAudit:
    """What an independent replay of the log found."""

    size: int
    entries_checked: int
    event_leaves: int
    distinct_event_ids: int
    contiguous: bool


def audit_log(db_url: str, data_dir: Path, export_dir: Path) -> LogAudit:
    """Export the log (tiles, bundles, signed checkpoint) and verify it offline with the ledger's
    auditor, trusting only the checkpoint key; count event leaves and their distinct ids.

    Raises:
        VerificationError: the export does not verify.
    """
    from chiptrail.ledger.audit import verify_export
    from chiptrail.service.ledger.log import export_log_to
    from chiptrail.service.settings import load_settings
    from chiptrail.store.migrate import open_database

    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(data_dir)}, db_url)
    db = open_database(db_url)
    try:
        summary = export_log_to(db, settings, export_dir, now=datetime.now(UTC))
        with db.engine.connect() as conn:
            leaves, events, distinct, last = conn.execute(
                text(
                    "SELECT COUNT(*), COUNT(event_id), COUNT(DISTINCT event_id), "
                    "COALESCE(MAX(leaf_index), -1) FROM ledger_log_leaves"
                )
            ).one()
    finally:
        db.dispose()
    files = {
        p.relative_to(export_dir).as_posix(): p.read_bytes()
        for p in export_dir.rglob("*")
        if p.is_file()
    }
    report = verify_export(files, summary.verifier_key)
    return LogAudit(
        size=summary.size,
        entries_checked=report.entries_checked,
        event_leaves=int(events),
        distinct_event_ids=int(distinct),
        contiguous=int(leaves) == int(last) + 1 == summary.size,
    )


def has_route(base_url: str, method: str, path: str) -> bool:
    """Whether the server's OpenAPI document lists ``method path``."""
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30.0).json()
    return method.lower() in spec.get("paths", {}).get(path, {})
