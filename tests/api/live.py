"""A real ``chiptrail serve`` (uvicorn) in a subprocess on a free loopback port, for e2e tests.

Used by the dashboard, load and crash tests; the server is killed and reaped on exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CHIPTRAIL = str(Path(sys.executable).parent / "chiptrail")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_key(db_url: str, data_dir: Path, role: str, party: str | None = None) -> str:
    """A new API token made with the real CLI (``chiptrail keys create``)."""
    args = [CHIPTRAIL, "keys", "create", "--role", role, "--db", db_url, "--json"]
    if party:
        args += ["--party", party]
    out = subprocess.run(
        args, check=True, capture_output=True, text=True, env=server_env(data_dir), timeout=60
    )
    token: str = json.loads(out.stdout)["token"]
    return token


def create_key_in_process(db_url: str, role: str, party: str | None = None) -> str:
    """A new API token written straight to the database (faster than the CLI's start-up)."""
    from datetime import UTC, datetime

    from chiptrail.service.auth import Role, create_api_key
    from chiptrail.store.migrate import open_database

    db = open_database(db_url)
    try:
        created = create_api_key(
            db, role=Role(role), party_id=party, label="test", now=datetime.now(UTC)
        )
    finally:
        db.dispose()
    assert created.token is not None
    return created.token


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment of a served process: auth on, data under ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPTRAIL_")}
    env["CHIPTRAIL_DATA_DIR"] = str(data_dir)
    env["CHIPTRAIL_CREATE_DB"] = "1"  # each test serves a fresh SQLite file
    return env


@dataclass
class LiveServer:
    """A running server: its base URL, process and log file."""

    db_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    serve_args: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's stdout and stderr go."""
        return self.data_dir / f"server-{self.port}.log"

    def start(self, timeout_s: float = 180.0) -> None:
        """Start ``chiptrail serve`` and wait until ``/healthz`` answers (killed on failure)."""
        try:
            self._start(timeout_s)
        except BaseException:
            self.kill()
            raise

    def _start(self, timeout_s: float) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [CHIPTRAIL, "serve", "--port", str(self.port), "--db", self.db_url, *self.serve_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(self.data_dir),
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """``kill -9`` the server (no shutdown handlers run) and reap it."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def live_server(
    db_url: str, data_dir: Path, serve_args: tuple[str, ...] = ()
) -> Iterator[LiveServer]:
    """A started server that is stopped on exit."""
    server = LiveServer(db_url=db_url, data_dir=data_dir, serve_args=serve_args)
    try:
        server.start()
        yield server
    finally:
        server.stop()
