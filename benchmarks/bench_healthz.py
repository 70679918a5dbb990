"""`/healthz` latency while one request stores a 10,000-event batch: old and new code side by side.

Starts each source tree's app under uvicorn (one process, body limit raised to 64 MiB so one
envelope can carry the whole batch), registers a party and its key, then submits one signed
envelope of N commissioning events while a second connection polls ``GET /healthz`` back to back
until the submission answers. Prints one JSON line per (tree, engine): the batch's duration and
healthz p50/p99/max in ms. With the database work on the event loop, every poll waits for the
whole batch; off the loop, polls keep answering.

The trees are git refs extracted with ``git archive`` (``--before``/``--after``; ``--after`` may be
``.``: this working tree). Loopback only.

Example:
    PYTHONPATH=. python benchmarks/bench_healthz.py --engines sqlite,postgres \
        --before 574a387^ --after 574a387 --events 10000
"""

# ruff: noqa: S603 - starts its own servers with fixed arguments

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.load_http import Conn, baseline_tree, call, database, free_port  # noqa: E402
from chiptrail.crypto import Ed25519Signer, b64encode  # noqa: E402
from chiptrail.ledger.submission import sign_submission  # noqa: E402

LAUNCH = """
import os, sys, uvicorn
from datetime import UTC, datetime
from chiptrail.api.app import create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.api.ratelimit import RateLimit
from chiptrail.service.auth import Role, create_api_key
from chiptrail.service.settings import load_settings
settings = load_settings(os.environ, sys.argv[2])
auth = AuthConfig(max_body_bytes=64 << 20, rate_limit=RateLimit(rate_per_s=1e6, burst=10**6))
app = create_app(settings, auth=auth)
token = create_api_key(app.state.database, role=Role.ADMIN, party_id=None, label="bench",
                       now=datetime.now(UTC)).token
open(sys.argv[3], "w").write(token)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def serve(tree: Path, db_url: str, work: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The tree's app on a free port; yields (port, admin headers)."""
    port = free_port()
    token_file = work / f"token-{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPTRAIL_")}
    env.update({"PYTHONPATH": str(tree), "CHIPTRAIL_DATA_DIR": str(work)})
    log = (work / f"server-{port}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(port), db_url, str(token_file)],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((work / f"server-{port}.log").read_text()[-3000:])
            with suppress(OSError, asyncio.IncompleteReadError, ValueError):
                if call(port, "GET", "/healthz")[0] == 200 and token_file.exists():
                    break
            time.sleep(0.2)
        yield port, {"Authorization": f"Bearer {token_file.read_text().strip()}"}
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def batch_envelope(party: str, signer: Ed25519Signer, events: int) -> bytes:
    """One signed envelope whose EPCIS document holds ``events`` commissioning events."""
    at = datetime.now(UTC) - timedelta(hours=1)
    event_list = [
        {
            "type": "ObjectEvent",
            "eventTime": (at + timedelta(milliseconds=i)).isoformat(),
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "epcList": [f"urn:epc:id:sgtin:0614141.424242.{i}"],
        }
        for i in range(events)
    ]
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at.isoformat(),
        "epcisBody": {"eventList": event_list},
    }
    envelope = sign_submission(
        json.dumps(doc).encode(),
        party_id=party,
        signer=signer,
        nonce="bench-batch-0001",
        signed_at=datetime.now(UTC),
    )
    return json.dumps(envelope.to_json()).encode()


async def measure(port: int, headers: dict[str, str], body: bytes) -> dict[str, object]:
    """Submit ``body`` on one connection while another polls /healthz until it answers."""
    submitter, poller = Conn(port), Conn(port)
    latencies_s: list[float] = []
    done = asyncio.Event()

    async def submit() -> tuple[int, float]:
        started = time.monotonic()
        status, _, _ = await submitter.request("POST", "/v1/events", body, headers)
        done.set()
        return status, time.monotonic() - started

    async def poll() -> None:
        await asyncio.sleep(0.05)  # let the submission start
        while not done.is_set():
            started = time.monotonic()
            status, _, _ = await poller.request("GET", "/healthz")
            latencies_s.append(time.monotonic() - started)
            assert status == 200, status

    try:
        (status, batch_s), _ = await asyncio.gather(submit(), poll())
    finally:
        submitter.close()
        poller.close()
    lat = sorted(latencies_s) or [0.0]
    return {
        "batch_status": status,
        "batch_s": round(batch_s, 2),
        "healthz_polls": len(latencies_s),
        "healthz_p50_ms": round(statistics.median(lat) * 1000, 1),
        "healthz_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
        "healthz_max_ms": round(lat[-1] * 1000, 1),
    }


def run_case(label: str, tree: Path, engine: str, events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chiptrail-healthz-") as tmp:
        work = Path(tmp)
        with database(engine, work) as url, serve(tree, url, work) as (port, admin):
            party, signer = "bench-party", Ed25519Signer(bytes([9]) * 32)
            status, _ = call(
                port, "POST", "/v1/ledger/parties", {"party_id": party, "name": party}, admin
            )
            assert status == 201, status
            key = {"public_key_b64": b64encode(signer.public_key)}
            status, _ = call(port, "POST", f"/v1/ledger/parties/{party}/keys", key, admin)
            assert status == 201, status
            body = batch_envelope(party, signer, events)
            figures = asyncio.run(measure(port, admin, body))
            print(
                json.dumps(
                    {
                        "tree": label,
                        "engine": engine,
                        "events": events,
                        "body_bytes": len(body),
                        **figures,
                        "loadavg_1m": round(os.getloadavg()[0], 2),
                        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    }
                ),
                flush=True,
            )


@contextmanager
def tree_of(ref: str) -> Iterator[Path]:
    if ref == ".":
        yield REPO
        return
    with baseline_tree(ref) as path:
        yield path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--before", default="574a387^", help="git ref: DB work on the event loop")
    parser.add_argument("--after", default=".", help="git ref, or . for this working tree")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        for label, ref in (("before", args.before), ("after", args.after)):
            with tree_of(ref) as tree:
                run_case(f"{label} ({ref})", tree, engine, args.events)


if __name__ == "__main__":
    main()
