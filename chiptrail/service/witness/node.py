"""A witness node: remembers the latest cosigned ``(size, root)`` per log in a state file and
cosigns only checkpoints consistent with it (C2SP tlog-witness ``add-checkpoint``).

The decision is ``chiptrail.ledger.witness.check_add_checkpoint``; this module owns the state
file (JSON, replaced atomically, check-and-update under one lock so two requests cannot roll the
state back), the clock and the loopback HTTP server.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chiptrail.crypto import Signer
from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationError,
)
from chiptrail.ledger.checkpoint import parse_verifier_key
from chiptrail.ledger.witness import (
    Seen,
    check_add_checkpoint,
    cosign,
    make_cosigner_vkey,
    parse_add_checkpoint,
)

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
STATUS = {
    InvalidInput: 400,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    VerificationError: 422,
}


@dataclass
class WitnessNode:
    """One witness: its name and key, the logs it follows, and where it keeps its state.

    Attributes:
        name: the witness's key name (a schema-less URL, e.g. ``witness.example/w1``).
        signer: its Ed25519 key.
        log_keys: the verifier keys of the logs it follows (key name = log origin).
        state_path: JSON file ``{"logs": {origin: {"size", "root_b64"}}}``.
        clock_s: seconds since the epoch (injected in tests).
    """

    name: str
    signer: Signer
    log_keys: tuple[str, ...]
    state_path: Path
    clock_s: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def verifier_key(self) -> str:
        """The ``name+hex8+base64(0x04 || key)`` string auditors pin."""
        return make_cosigner_vkey(self.name, self.signer.public_key)

    def _origins(self) -> dict[str, str]:
        return {parse_verifier_key(k).name: k for k in self.log_keys}

    @contextmanager
    def _locked_state(self) -> Iterator[dict[str, dict[str, object]]]:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.state_path.with_name(self.state_path.name + ".lock")
        with self._lock, open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                state = read_state(self.state_path)
                yield state
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def add_checkpoint(self, body: bytes) -> str:
        """Handle one add-checkpoint request body; returns the cosignature line.

        Raises:
            InvalidInput, PermissionDenied, NotFound, Conflict, VerificationError: as
            ``check_add_checkpoint`` (the HTTP server maps them to 400/403/404/409/422).
        """
        request = parse_add_checkpoint(body)
        with self._locked_state() as state:
            origin = request.note.split("\n", 1)[0]
            entry = state.get(origin)
            seen = (
                Seen(int(str(entry["size"])), base64.b64decode(str(entry["root_b64"])))
                if entry
                else None
            )
            cp = check_add_checkpoint(request, self._origins(), seen)
            body_text = request.note[: request.note.rfind("\n\n") + 1]
            line = cosign(body_text, self.name, self.signer, int(self.clock_s()))
            state[origin] = {
                "size": cp.size,
                "root_b64": base64.b64encode(cp.root_hash).decode("ascii"),
            }
            write_state(self.state_path, state)
        log.info("cosigned %s at size %d", cp.origin, cp.size)
        return line


def read_state(path: Path) -> dict[str, dict[str, object]]:
    """The witness's remembered logs (empty when the file does not exist yet).

    Raises:
        InvalidInput: the file is not a witness state file.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        logs = data["logs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a witness state file") from exc
    if not isinstance(logs, dict):
        raise InvalidInput(f"{path} is not a witness state file")
    return logs


def write_state(path: Path, logs: Mapping[str, object]) -> None:
    """Replace the state file atomically (write, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"logs": logs}, out, sort_keys=True, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _handler(node: WitnessNode) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _answer(self, status: int, text: str, content_type: str = "text/plain") -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/add-checkpoint":
                self._answer(404, "unknown endpoint\n")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 < length <= MAX_REQUEST_BYTES:
                self._answer(400, "need a body of at most 64 KiB\n")
                return
            try:
                line = node.add_checkpoint(self.rfile.read(length))
            except ChiptrailError as exc:
                status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 400)
                if status == 409 and "size" in exc.details:
                    self._answer(409, f"{exc.details['size']}\n", "text/x.tlog.size")
                else:
                    self._answer(status, exc.message + "\n")
                return
            self._answer(200, line)

    return Handler


def make_server(node: WitnessNode, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for ``node`` on loopback (``port`` 0 picks a free one).

    Raises:
        InvalidInput: a host other than loopback (a witness key is not put on a network here).
    """
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise InvalidInput("the witness serves on loopback only; put a proxy in front of it")
    return ThreadingHTTPServer((host, port), _handler(node))
