"""What the HTTP stack alone delivers on this machine, with ``load_http.py``'s client.

The same 8 keep-alive clients and the same ~1 KB signed-envelope bodies as the events case of
``load_http.py``, sent to servers that do a known part of the work and nothing else:

- ``asgi``: a raw ASGI app under uvicorn (httptools, uvloop) that reads the body and answers
  ``201 {}`` — the floor of any Python HTTP service here;
- ``asgi+verify``: the same, plus one Ed25519 verification (``chiptrail.crypto``) of a
  900-byte message (what a signed event costs at the least);
- ``fastapi``: one FastAPI ``POST`` route that reads the body and answers ``201 {}``;
- ``fastapi+verify``: the same with the verification.

Each runs with 1 and 2 uvicorn workers. The figures bound what ``chiptrail serve`` can reach on
the box: a server that parses, validates, authorises, verifies and commits each event cannot
answer more requests a second than a server that does none of it.

    PYTHONPATH=. python benchmarks/http_ceiling.py --duration 10
"""

# ruff: noqa: S603 - starts its own uvicorn with fixed arguments

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from load_http import Request, free_port, run_load  # noqa: E402

APP = """
import os
from chiptrail.crypto import Ed25519Signer, verify_signature

VERIFY = os.environ["CEILING_VERIFY"] == "1"
_key = Ed25519Signer(bytes(32))
_pub = _key.public_key
_sig = _key.sign(b"x" * 900)

def _work(body):
    if VERIFY:
        verify_signature(_pub, b"x" * 900, _sig)
    return b"{}"

async def asgi(scope, receive, send):
    body = b""
    more = True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    out = _work(body)
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
fastapi_app = FastAPI()

@fastapi_app.post("/v1/events", status_code=201)
async def post(request: Request):
    body = await request.body()
    _work(body)
    return {}
"""


def serve(kind: str, workers: int, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    (tmp / "ceiling_app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(tmp), "CEILING_VERIFY": "1" if "verify" in kind else "0"}
    app = "ceiling_app:asgi" if kind.startswith("asgi") else "ceiling_app:fastapi_app"
    args = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"]
    args += ["--no-access-log", "--lifespan", "off", "--workers", str(workers)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"uvicorn for {kind} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--kinds", default="asgi,asgi+verify,fastapi,fastapi+verify")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    body = json.dumps({"payload_b64": "x" * 900, "key_id": "k", "signature_b64": "s" * 88}).encode()
    work = [({"Authorization": "Bearer t"}, [Request("/v1/events", body, 1)] * 1_000_000)]
    with tempfile.TemporaryDirectory(prefix="chiptrail-ceiling-") as tmp:
        for kind in args.kinds.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                proc, port = serve(kind, workers, Path(tmp))
                try:
                    time.sleep(1.0)
                    out = asyncio.run(run_load(port, work * args.clients, args.duration))
                    load = os.getloadavg()[0]
                    row = {"server": kind, "workers": workers, "clients": args.clients}
                    row.update(out.figures())
                    row["loadavg_1m"] = round(load, 2)
                    print(json.dumps(row), flush=True)
                finally:
                    proc.terminate()
                    proc.wait(10)


if __name__ == "__main__":
    main()
