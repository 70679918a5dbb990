"""Screenshots of the queue, a case, its regions and the map for docs/img/, from a demo world.

Run from the repository root (needs Chromium and the `playwright` package; no network):

    python scripts/screenshots.py [--chromium /usr/bin/chromium] [--chips 300]

It runs `chiptrail demo` into a temporary folder, serves it on a free loopback port with
`chiptrail serve` (authentication off, loopback only), and writes docs/img/queue.png,
docs/img/case.png and docs/img/map.png at 1,280 x 800, and docs/img/regions.png (the case's
proven and likely regions).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
CLI = str(Path(sys.executable).with_name("chiptrail"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    for _ in range(120):
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server at {url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chips", type=int, default=300)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        env = {**os.environ, "CHIPTRAIL_DATA_DIR": tmp, "CHIPTRAIL_UNSAFE_NO_AUTH": "1"}
        subprocess.run(  # noqa: S603 - our own CLI
            [CLI, "demo", "--chips", str(args.chips), "--db", str(db), "--out", tmp, "--json"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [CLI, "serve", "--port", str(port), "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(f"{base}/healthz")
            _shoot(base, args.chromium)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _shoot(base: str, chromium: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/ui/#/queue")
        page.wait_for_selector("body[data-ready='1'][data-page='queue']")
        page.screenshot(path=str(OUT / "queue.png"))
        page.locator("#queue-table td.title a").first.click()
        page.wait_for_selector("body[data-ready='1'][data-page='case']")
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / "case.png"))
        page.locator("#case-location").screenshot(path=str(OUT / "regions.png"))
        page.goto(f"{base}/ui/#/map")
        page.wait_for_selector("body[data-ready='1'][data-page='map']")
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / "map.png"))
        browser.close()
    for name in ("queue", "case", "regions", "map"):
        path = OUT / f"{name}.png"
        Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)  # small
        print(f"{OUT / name}.png: {(OUT / f'{name}.png').stat().st_size // 1024} KiB")  # noqa: T201


if __name__ == "__main__":
    main()
