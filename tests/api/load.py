"""Bounded load generation against a live server: workloads, concurrent submitters, figures.

A workload is a list of unique submissions (path, JSON body, idempotency id). Submitters retry
transport errors, 5xx and 429 (after Retry-After); a 409 on a retry means the earlier attempt was
stored (every submission here is unique), so clients are idempotent end to end.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.wire import record_to_json
from chiptrail.service.device_keys import SoftwareDeviceKey
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
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_per_s": round(len(self.acknowledged) / max(self.elapsed_s, 1e-9), 1),
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
        }


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
        if response.status_code in (200, 201) or (response.status_code == 409 and attempt > 1):
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
    worker_headers: Sequence[dict[str, str]],
    submissions: Sequence[Submission],
    *,
    time_limit_s: float,
    out: Outcome | None = None,
) -> Outcome:
    """Submit everything with one concurrent worker per entry of ``worker_headers`` (each its own
    key), within ``time_limit_s``."""
    out = out or Outcome()
    queue: asyncio.Queue[Submission] = asyncio.Queue()
    for sub in submissions:
        queue.put_nowait(sub)
    deadline = time.monotonic() + time_limit_s
    started = time.monotonic()
    n = len(worker_headers)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:

        async def worker(headers: dict[str, str]) -> None:
            while not queue.empty() and time.monotonic() < deadline:
                sub = queue.get_nowait()
                await _submit_one(client, sub, headers, out, deadline)

        await asyncio.gather(*(worker(h) for h in worker_headers))
    out.elapsed_s = time.monotonic() - started
    return out


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
