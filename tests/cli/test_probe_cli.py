"""``chiptrail landmark|agent|measurements``: a real landmark process and agent over loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.probe.wire import record_to_json
from chiptrail.service.location.device_keys import SoftwareDeviceKey, read_seed_file
from chiptrail.service.location.probe_net import LandmarkServer, probe_landmark, run_landmark
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import seed, signed_record

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, n in (("lm", 1), ("chip", 2)):
        path = tmp_path / f"{name}.key"
        path.write_text(seed(n).hex())
        out[name] = path
    return out


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LandmarkThread(threading.Thread):
    """A landmark served by the service layer in its own event loop, for the agent CLI."""

    def __init__(self, count: int) -> None:
        super().__init__(daemon=True)
        self.count = count
        self.ready = threading.Event()
        self.port = 0
        lm = Landmark(LandmarkConfig(LandmarkId("lm-sg")), Ed25519Signer(seed(1)))
        self.server = LandmarkServer(lm)

    def run(self) -> None:
        def listening(bound: tuple[str, int]) -> None:
            self.port = bound[1]
            self.ready.set()

        asyncio.run(
            run_landmark(self.server, "127.0.0.1", 0, count=self.count, on_listening=listening)
        )


class AgentThread(threading.Thread):
    """An agent probing ``port`` (retrying until the landmark CLI listens)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.record: MeasurementRecord | None = None

    def run(self) -> None:
        key = SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))
        self.record = asyncio.run(
            probe_landmark(("127.0.0.1", self.port), key, timeout_s=0.5, attempts=60)
        )


def test_agent_run_register_and_submit(tmp_path: Path, keys: dict[str, Path]) -> None:
    landmark = LandmarkThread(count=2)
    landmark.start()
    assert landmark.ready.wait(30)
    db = str(tmp_path / "ct.db")
    code, out = cli(
        "landmark",
        "add",
        "--id",
        "lm-sg",
        "--lat",
        "1.29",
        "--lon",
        "103.85",
        "--country",
        "SG",
        "--key",
        str(keys["lm"]),
        "--db",
        db,
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["public_key"]
    code, out = cli(
        "agent", "register", "--chip-id", "GPU-1", "--key", str(keys["chip"]), "--db", db
    )
    assert code == 0, out
    code, out = cli(
        "agent",
        "run",
        "--chip-id",
        "GPU-1",
        "--key",
        str(keys["chip"]),
        "--landmark",
        f"127.0.0.1:{landmark.port}",
        "--rounds",
        "2",
    )
    assert code == 0, out
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert [r["landmark_id"] for r in lines] == ["lm-sg", "lm-sg"]
    assert all(r["rtt_ns"] > 0 for r in lines)
    landmark.join(30)
    assert landmark.server.landmark.counters.measured == 2
    records = tmp_path / "records.jsonl"
    records.write_text(out)
    code, out = cli("measurements", "submit", str(records), "--db", db, "--json")
    assert code == 0, out
    assert json.loads(out)["stored"] == 2
    code, out = cli("measurements", "submit", str(records), "--db", db)
    assert code == 2, out  # replay: conflict
    code, out = cli("landmark", "list", "--db", db, "--json")
    assert [lm["landmark_id"] for lm in json.loads(out)] == ["lm-sg"]


def serve_lm_sg_once(keys: dict[str, Path], *extra: str) -> tuple[int, str, AgentThread]:
    """Run ``landmark serve`` for landmark lm-sg until one agent (in a thread) has answered."""
    port = free_udp_port()
    agent = AgentThread(port)
    agent.start()
    code, out = cli(
        "landmark",
        "serve",
        "--id",
        "lm-sg",
        "--lat",
        "1.29",
        "--lon",
        "103.85",
        "--key",
        str(keys["lm"]),
        "--port",
        str(port),
        "--count",
        "1",
        *extra,
    )
    agent.join(30)
    return code, out, agent


def test_landmark_serve_measures_and_reports_counters(keys: dict[str, Path]) -> None:
    code, out, agent = serve_lm_sg_once(keys)
    assert code == 0, out
    assert agent.record is not None
    printed = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert printed == [record_to_json(agent.record)]
    assert '"measured": 1' in out


def test_keygen_writes_a_usable_key(tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    code, out = cli("agent", "keygen", "--out", str(path), "--json")
    assert code == 0
    assert json.loads(out)["public_key"] == b64encode(
        Ed25519Signer(read_seed_file(path)).public_key
    )
    code, _ = cli("agent", "keygen", "--out", str(path))
    assert code == 2


@pytest.mark.parametrize(
    "args",
    [
        ["agent", "run", "--chip-id", "GPU-1", "--key", "missing.key", "--landmark", "h:1"],
        ["agent", "run", "--chip-id", "GPU-1", "--key", "{chip}", "--landmark", "no-port"],
        ["agent", "run", "--key", "{chip}", "--landmark", "127.0.0.1:9"],
        ["landmark", "add", "--id", "x", "--lat", "1", "--lon", "2"],
        ["landmark", "add", "--id", "x", "--lat", "91", "--lon", "2", "--key", "{chip}"],
        ["landmark", "add", "--id", "x", "--lat", "1", "--lon", "2", "--public-key", "!!"],
        ["measurements", "submit", "{bad}"],
        ["landmark", "serve", "--id", "x", "--lat", "1", "--lon", "2", "--key", "{bad}"],
    ],
    ids=[
        "missing key",
        "bad address",
        "no chip id",
        "no key",
        "lat",
        "bad b64",
        "not json",
        "bad key file",
    ],
)
def test_bad_input_exits_2(tmp_path: Path, keys: dict[str, Path], args: list[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not json\n")
    subst = {"{chip}": str(keys["chip"]), "{bad}": str(bad)}
    argv = [subst.get(a, a) for a in args] + ["--db", str(tmp_path / "x.db")]
    if args[:2] == ["landmark", "serve"]:
        argv = argv[:-2]
    code, out = cli(*argv)
    assert code == 2, out


def test_unreachable_landmark_is_unavailable(tmp_path: Path, keys: dict[str, Path]) -> None:
    code, _ = cli(
        "agent",
        "run",
        "--chip-id",
        "GPU-1",
        "--key",
        str(keys["chip"]),
        "--landmark",
        "127.0.0.1:9",
        "--timeout-s",
        "0.05",
    )
    assert code == 69


def test_measurements_locate_exits_1_on_violation(tmp_path: Path, keys: dict[str, Path]) -> None:
    db = str(tmp_path / "ct.db")
    hk_key = Ed25519Signer(seed(5))
    chip = SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))
    code, _ = cli(
        "landmark",
        "add",
        "--id",
        "lm-hk",
        "--lat",
        "22.30",
        "--lon",
        "114.17",
        "--public-key",
        b64encode(hk_key.public_key),
        "--db",
        db,
    )
    assert code == 0
    code, _ = cli("agent", "register", "--chip-id", "GPU-1", "--key", str(keys["chip"]), "--db", db)
    assert code == 0
    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps(record_to_json(signed_record("lm-hk", hk_key, chip, 1, 400_000))))
    assert cli("measurements", "submit", str(records), "--db", db)[0] == 0
    code, out = cli(
        "measurements",
        "locate",
        "--chip-id",
        "GPU-1",
        "--lat",
        "1.49",
        "--lon",
        "103.74",
        "--country",
        "MY",
        "--db",
        db,
        "--json",
    )
    assert code == 1, out
    assert json.loads(out)["verdict"] == "VIOLATION"
    code, out = cli(
        "measurements",
        "locate",
        "--chip-id",
        "GPU-1",
        "--lat",
        "22.3",
        "--lon",
        "114.1",
        "--country",
        "HK",
        "--radius-km",
        "300",
        "--db",
        db,
    )
    assert code == 0, out
    assert out.startswith(("VERIFIED", "UNVERIFIED"))
    code, out = cli("measurements", "locate", "--chip-id", "GPU-1", "--lat", "1", "--db", db)
    assert code == 2


def test_landmark_serve_registered_only_answers_registered_chips(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    db = str(tmp_path / "ct.db")
    code, _ = cli("agent", "register", "--chip-id", "GPU-1", "--key", str(keys["chip"]), "--db", db)
    assert code == 0
    code, out, agent = serve_lm_sg_once(keys, "--registered-only", "--db", db)
    assert code == 0, out
    assert agent.record is not None
    assert '"unknown_chip": 0' in out


def test_bulk_registration_and_partial_submit(tmp_path: Path) -> None:
    db = str(tmp_path / "ct.db")
    lm_key = Ed25519Signer(seed(1))
    landmarks = tmp_path / "landmarks.jsonl"
    lm = {"landmark_id": "lm-sg", "lat": 1.29, "lon": 103.85, "country": "SG"}
    landmarks.write_text(
        json.dumps({**lm, "public_key": b64encode(lm_key.public_key)})
        + "\n"
        + json.dumps({**lm, "landmark_id": "lm-bad", "lat": "north", "public_key": "AA=="})
        + "\n"
    )
    code, out = cli("landmark", "add-bulk", str(landmarks), "--db", db, "--json")
    assert code == 1, out  # one line refused
    assert json.loads(out[out.index("{") :])["registered"] == ["lm-sg"]  # stderr line first
    chips = [SoftwareDeviceKey(ChipId(f"GPU-{i}"), Ed25519Signer(seed(10 + i))) for i in range(3)]
    device_keys = tmp_path / "keys.jsonl"
    device_keys.write_text(
        "".join(
            json.dumps(
                {"chip_id": c.chip_id, "scheme": "ed25519", "public_key": b64encode(c.public_key)}
            )
            + "\n"
            for c in chips
        )
    )
    code, out = cli("agent", "register-bulk", str(device_keys), "--db", db)
    assert code == 0, out
    assert "3 device key(s) registered" in out
    code, out = cli("agent", "register-bulk", str(device_keys), "--db", db, "--json")
    assert code == 0, out
    assert json.loads(out)["unchanged"] == ["GPU-0", "GPU-1", "GPU-2"]
    forged = signed_record("lm-sg", Ed25519Signer(seed(99)), chips[1], 2, 1_000_000)
    records = [signed_record("lm-sg", lm_key, chips[0], 1, 1_000_000), forged]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(record_to_json(r)) + "\n" for r in records))
    code, out = cli("measurements", "submit", str(path), "--db", db, "--atomic")
    assert code == 1, out  # verification failed, nothing stored
    code, out = cli("measurements", "submit", str(path), "--db", db, "--json")
    assert code == 1, out  # stored one, refused line 2
    assert "refused line 2: verification_failed" in out
