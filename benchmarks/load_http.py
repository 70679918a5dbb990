"""HTTP load against a real ``chiptrail serve``: N clients, events/s and records/s, p50/p99.

Loopback only, bounded by a request count per client and a time limit. Starts the server itself
(SQLite file or a fresh PostgreSQL database it drops afterwards), registers parties, keys,
landmarks and device keys through the API, signs every submission before the clock starts, then
runs N keep-alive clients (a minimal asyncio HTTP/1.1 client, so the load generator costs little
CPU on the same machine) and prints one JSON line per (engine, kind, code path).

The baseline is the old code path measured in the same run: ``--baseline REF`` extracts that git
commit into a temporary directory (``git archive``) and serves it with the same workload and load
tool, side by side with the working tree's server.

Examples:
    PYTHONPATH=. python benchmarks/load_http.py --engines postgres --kinds events \
        --clients 8 --duration 10 --baseline afc6f8f
    PYTHONPATH=. python benchmarks/load_http.py --engines sqlite --kinds measurements \
        --records-per-request 100 --duration 10 --profile
"""

# ruff: noqa: S603, S607 - starts its own server, git and py-spy with fixed arguments

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chiptrail.crypto import Ed25519Signer, b64encode  # noqa: E402
from chiptrail.ledger.submission import sign_submission  # noqa: E402
from chiptrail.probe.attestation import AttestationScheme  # noqa: E402
from chiptrail.probe.messages import (  # noqa: E402
    MeasurementRecord,
    chip_message,
    sign_measurement,
)
from chiptrail.probe.wire import record_to_json  # noqa: E402
from chiptrail.types import ChipId, LandmarkId  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "CHIPTRAIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# --- a minimal keep-alive HTTP/1.1 client ---------------------------------------------------------


class Conn:
    """One keep-alive connection to 127.0.0.1:port (requests are sent one at a time)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None
        assert self.writer is not None
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        if body:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            raw = await self.reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            hdrs = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            if "content-length" in hdrs:
                data = await self.reader.readexactly(int(hdrs["content-length"]))
            else:  # chunked
                parts = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    parts.append(chunk[:-2])
                data = b"".join(parts)
            if hdrs.get("connection", "").lower() == "close":
                self.close()
            return status, hdrs, data
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def call(
    port: int, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, object]:
    """One synchronous request (setup), retrying 429 after its Retry-After."""

    async def go() -> tuple[int, object]:
        conn = Conn(port)
        data = b"" if body is None else json.dumps(body).encode()
        try:
            while True:
                status, hdrs, raw = await conn.request(method, path, data, headers)
                if status != 429:
                    break
                await asyncio.sleep(float(hdrs.get("retry-after", "0.2")))
        finally:
            conn.close()
        return status, (json.loads(raw) if raw else None)

    return asyncio.run(go())


# --- the server under test ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(tree: Path) -> list[str]:
    code = "import sys; from chiptrail.cli.main import main; sys.argv[0] = 'chiptrail'; main()"
    return [sys.executable, "-c", code]


def _env(tree: Path, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPTRAIL_")}
    env.update({"PYTHONPATH": str(tree), "CHIPTRAIL_DATA_DIR": str(data_dir), **extra})
    env["CHIPTRAIL_CREATE_DB"] = "1"  # each case serves a fresh SQLite file
    return env


@dataclass
class Server:
    """A ``chiptrail serve`` process of one source tree."""

    tree: Path
    db_url: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    serve_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 180.0) -> None:
        log = (self.data_dir / f"server-{self.port}.log").open("ab")
        args = ["serve", "--port", str(self.port), "--db", self.db_url, *self.serve_args]
        self.process = subprocess.Popen(
            _cli(self.tree) + args,
            cwd=self.tree,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(self.tree, self.data_dir, self.extra_env),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_tail())
            with suppress(OSError, asyncio.IncompleteReadError, ValueError):
                if call(self.port, "GET", "/healthz")[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not start: " + self.log_tail())

    def log_tail(self) -> str:
        return (self.data_dir / f"server-{self.port}.log").read_text()[-3000:]

    def admin_key(self) -> str:
        args = ["keys", "create", "--role", "admin", "--db", self.db_url, "--json"]
        out = subprocess.run(
            _cli(self.tree) + args,
            cwd=self.tree,
            check=True,
            capture_output=True,
            text=True,
            env=_env(self.tree, self.data_dir, self.extra_env),
            timeout=120,
        )
        return str(json.loads(out.stdout)["token"])

    def pids(self) -> list[int]:
        """The server process and its children (uvicorn workers)."""
        if self.process is None:
            return []
        out = subprocess.run(
            ["pgrep", "-s", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()] or [self.process.pid]

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server's session so far (Linux /proc)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            with suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


@contextmanager
def database(engine: str, work: Path) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL database (dropped on exit)."""
    if engine == "sqlite":
        yield f"sqlite:///{work / f'load-{uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"chiptrail_load_{uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """The files of git commit ``ref`` in a temporary directory."""
    tmp = Path(tempfile.mkdtemp(prefix="chiptrail-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", ref, "chiptrail"],
            check=True,
            capture_output=True,
        ).stdout
        tar_path = tmp / "src.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tmp, filter="data")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- workloads ------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    body: bytes
    items: int  # events or records it carries


def _epcis(epc: str, at: datetime) -> bytes:
    event = {
        "type": "ObjectEvent",
        "eventTime": at.isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "epcList": [epc],
    }
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at.isoformat(),
        "epcisBody": {"eventList": [event]},
    }
    return json.dumps(doc).encode()


def setup_events(
    port: int, admin: dict[str, str], clients: int, per_client: int, run_id: str
) -> list[tuple[dict[str, str], list[Request]]]:
    """Per client: a party, its signing key, a vendor API key, and signed one-event envelopes."""
    work = []
    signed_at = datetime.now(UTC)
    for c in range(clients):
        party = f"load-{run_id}-{c:02d}"
        signer = Ed25519Signer(os.urandom(32))
        status, _ = call(
            port, "POST", "/v1/ledger/parties", {"party_id": party, "name": party}, admin
        )
        assert status == 201, status
        body = {"public_key_b64": b64encode(signer.public_key)}
        status, _ = call(port, "POST", f"/v1/ledger/parties/{party}/keys", body, admin)
        assert status == 201, status
        status, key = call(port, "POST", "/v1/keys", {"role": "vendor", "party_id": party}, admin)
        assert status == 201, key
        assert isinstance(key, dict)
        reqs = []
        for i in range(per_client):
            epc = f"urn:epc:id:sgtin:0614141.{run_id}{c:02d}.{i}"
            payload = _epcis(epc, signed_at - timedelta(hours=1, seconds=i))
            env = sign_submission(
                payload, party_id=party, signer=signer, nonce=f"n-{i:07d}", signed_at=signed_at
            )
            reqs.append(Request("/v1/events", json.dumps(env.to_json()).encode(), 1))
        work.append(({"Authorization": f"Bearer {key['token']}"}, reqs))
    return work


def _register_device_keys(port: int, admin: dict[str, str], keys: list[dict[str, object]]) -> None:
    status, _ = call(port, "POST", "/v1/chips/device-keys", {"device_keys": keys[:1]}, admin)
    if status in (200, 201):  # the bulk route exists (this tree): 1,000 keys a request
        for start in range(1, len(keys), 1000):
            body = {"device_keys": keys[start : start + 1000]}
            status, _ = call(port, "POST", "/v1/chips/device-keys", body, admin)
            assert status in (200, 201), status
        return
    for key in keys:  # the old tree: one request per key (429s are waited out)
        body = {"scheme": key["scheme"], "public_key": key["public_key"]}
        status, _ = call(port, "POST", f"/v1/chips/{key['chip_id']}/device-key", body, admin)
        assert status == 201, status


def setup_measurements(
    port: int,
    admin: dict[str, str],
    clients: int,
    per_client: int,
    per_request: int,
    chips: int,
    run_id: str,
) -> list[tuple[dict[str, str], list[Request]]]:
    """Per client: a landmark (key and API key) and batches of records signed by it and by
    ``chips`` software device keys registered beforehand."""
    now = datetime.now(UTC)
    devices = []
    for c in range(chips):
        devices.append((ChipId(f"chip-{run_id}-{c:05d}"), Ed25519Signer(os.urandom(32))))
    keys = [
        {"chip_id": chip, "scheme": "ed25519", "public_key": b64encode(s.public_key)}
        for chip, s in devices
    ]
    _register_device_keys(port, admin, keys)
    private = [(chip, s, s._key) for chip, s in devices]
    work = []
    for c in range(clients):
        lm_id = LandmarkId(f"lm-{run_id}-{c:02d}")
        lm_signer = Ed25519Signer(os.urandom(32))
        body = {
            "landmark_id": lm_id,
            "lat": 1.29,
            "lon": 103.85,
            "country": "SG",
            "public_key": b64encode(lm_signer.public_key),
        }
        status, _ = call(port, "POST", "/v1/landmarks", body, admin)
        assert status == 201, status
        body = {"role": "landmark", "party_id": f"lm-org-{run_id}"}
        status, key = call(port, "POST", "/v1/keys", body, admin)
        assert status == 201, key
        assert isinstance(key, dict)
        reqs = []
        n = 0
        for _ in range(per_client):
            records = []
            for _ in range(per_request):
                chip, signer, private_key = private[n % len(private)]
                n += 1
                nonce = os.urandom(32)
                record = MeasurementRecord(
                    chip_id=chip,
                    landmark_id=lm_id,
                    nonce=nonce,
                    rtt_ns=3_000_000 + n,
                    issued_at=now,
                    measured_at=now,
                    scheme=AttestationScheme.ED25519,
                    device_public_key=signer.public_key,
                    chip_signature=private_key.sign(chip_message(nonce, lm_id, chip)),
                )
                records.append(record_to_json(sign_measurement(record, lm_signer)))
            reqs.append(
                Request("/v1/measurements", json.dumps({"records": records}).encode(), per_request)
            )
        work.append(({"Authorization": f"Bearer {key['token']}"}, reqs))
    return work


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    items: int = 0
    requests: int = 0
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def figures(self) -> dict[str, object]:
        lat = sorted(self.latencies_s) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return {
            "items_per_s": round(self.items / max(self.elapsed_s, 1e-9), 1),
            "requests_per_s": round(self.requests / max(self.elapsed_s, 1e-9), 1),
            "items": self.items,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 2),
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors[:3],
        }


async def run_load(
    port: int, work: Sequence[tuple[dict[str, str], Sequence[Request]]], duration_s: float
) -> Outcome:
    """One client per work entry, each sending its requests back to back until done or time."""
    out = Outcome()
    deadline = time.monotonic() + duration_s

    async def client(headers: dict[str, str], reqs: Sequence[Request]) -> None:
        conn = Conn(port)
        try:
            for req in reqs:
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    try:
                        status, hdrs, raw = await conn.request("POST", req.path, req.body, headers)
                    except (OSError, asyncio.IncompleteReadError) as exc:
                        out.errors.append(f"transport: {exc!r}")
                        await asyncio.sleep(0.05)
                        continue
                    out.statuses[status] = out.statuses.get(status, 0) + 1
                    if status == 429:
                        await asyncio.sleep(float(hdrs.get("retry-after", "0.05")))
                        continue
                    if status in (200, 201):
                        out.latencies_s.append(time.monotonic() - started)
                        out.requests += 1
                        out.items += req.items
                    elif len(out.errors) < 20:
                        out.errors.append(f"{status} {raw[:200]!r}")
                    break
                if time.monotonic() >= deadline:
                    return
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(client(h, r) for h, r in work))
    out.elapsed_s = time.monotonic() - started
    return out


# --- profiling ------------------------------------------------------------------------------------


VERIFY_MARKERS = ("verify_signature", "verify_measurement", "verify_envelope")


def start_profile(server: Server, path: Path, duration_s: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the server's processes for the load's duration (None when py-spy is missing)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    assert server.process is not None
    args = [spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--format", "raw"]
    args += [
        "--rate",
        "200",
        "--duration",
        str(int(duration_s) + 1),
        "-o",
        str(path),
        "--nonblocking",
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_shares(path: Path) -> dict[str, float]:
    """Share of busy samples (idle waits excluded) by where they were: Ed25519 verification when
    a verify function is anywhere on the stack, otherwise the innermost frame's library."""
    if not path.exists():
        return {}
    groups = {
        "json": ("json/", "orjson"),
        "db_driver": ("psycopg/", "sqlite3", "psycopg_binary"),
        "sqlalchemy": ("sqlalchemy/",),
        "fastapi_pydantic": ("fastapi/", "pydantic/", "starlette/", "pydantic_core"),
        "http_server": ("uvicorn/", "h11/", "httptools", "asyncio/"),
        "chiptrail": ("chiptrail/",),
    }
    idle = ("select (", "_run_once", "wait (threading", "_worker (concurrent", "epoll", "acquire")
    busy = 0
    counts = dict.fromkeys(["ed25519_verify", *groups, "other"], 0)
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        if any(m in frames[-1] for m in idle):
            continue
        busy += int(n)
        if any(m in stack for m in VERIFY_MARKERS):
            counts["ed25519_verify"] += int(n)
            continue
        for frame in reversed(frames):
            hit = next((g for g, ms in groups.items() if any(m in frame for m in ms)), None)
            if hit is not None:
                counts[hit] += int(n)
                break
        else:
            counts["other"] += int(n)
    return {k: round(v / max(busy, 1), 3) for k, v in counts.items()} | {"busy_samples": busy}


# --- main -----------------------------------------------------------------------------------------


def run_case(args: argparse.Namespace, label: str, tree: Path, engine: str, kind: str) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="chiptrail-load-") as tmp,
        database(engine, Path(tmp)) as url,
    ):
        data_dir = Path(tmp)
        extra = {"CHIPTRAIL_RATE_LIMIT_PER_S": "1000000", "CHIPTRAIL_RATE_LIMIT_BURST": "1000000"}
        same = label != "baseline" or args.baseline_serve_args
        serve_args = list(args.serve_arg) if same else []
        server = Server(tree, url, data_dir, extra, serve_args)
        server.start()
        try:
            admin = {"Authorization": f"Bearer {server.admin_key()}"}
            run_id = uuid4().hex[:6]
            t0 = time.monotonic()
            per_request = 1 if kind == "events" else args.records_per_request
            per_client = max(1, min(args.requests, args.max_items // (args.clients * per_request)))
            if kind == "events":
                work = setup_events(server.port, admin, args.clients, per_client, run_id)
            else:
                work = setup_measurements(
                    server.port,
                    admin,
                    args.clients,
                    per_client,
                    args.records_per_request,
                    args.chips,
                    run_id,
                )
            setup_s = time.monotonic() - t0
            spy = None
            prof = data_dir / "profile.txt"
            if args.profile:
                spy = start_profile(server, prof, args.duration)
            cpu0, wall0 = server.cpu_s(), time.monotonic()
            out = asyncio.run(run_load(server.port, work, args.duration))
            cpu1, wall1 = server.cpu_s(), time.monotonic()
            load = os.getloadavg()
            result: dict[str, object] = {
                "path": label,
                "engine": engine,
                "kind": kind,
                "clients": args.clients,
                "records_per_request": args.records_per_request if kind != "events" else 1,
                "serve_args": " ".join(serve_args),
                **out.figures(),
                "server_cpu_per_wall": round((cpu1 - cpu0) / max(wall1 - wall0, 1e-9), 2),
                "setup_s": round(setup_s, 1),
                "loadavg_1m": round(load[0], 2),
                "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            }
            if spy is not None:
                spy.wait(timeout=args.duration + 60)
                result["profile"] = profile_shares(prof)
                if args.profile_out:
                    keep = Path(args.profile_out) / f"profile-{label}-{engine}-{kind}.txt"
                    keep.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(prof, keep)
            print(json.dumps(result), flush=True)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--kinds", default="events,measurements")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per case")
    parser.add_argument("--requests", type=int, default=5000, help="requests per client at most")
    parser.add_argument(
        "--max-items", type=int, default=40000, help="events or records signed per case at most"
    )
    parser.add_argument("--records-per-request", type=int, default=100)
    parser.add_argument("--chips", type=int, default=1000, help="device keys (measurements)")
    parser.add_argument("--baseline", default="", help="git ref of the old code path")
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="extra `chiptrail serve` option"
    )
    parser.add_argument(
        "--baseline-serve-args",
        action="store_true",
        help="pass the --serve-arg options to the baseline's server too (it must know them)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument("--profile-out", default="", help="keep py-spy's raw stacks here")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        for kind in args.kinds.split(","):
            if args.baseline:
                with baseline_tree(args.baseline) as old:
                    run_case(args, "baseline", old, engine, kind)
            run_case(args, "new", REPO, engine, kind)


if __name__ == "__main__":
    main()
