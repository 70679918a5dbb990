"""The dashboard in a real headless Chromium against a real ``chiptrail serve``: every page renders,
its key elements are visible, it talks only to the public API, and a screenshot of each page is
written to test-output/dashboard/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live import LiveServer, create_key, live_server
from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require(Path(CHROMIUM).is_file() or shutil.which("chromium") is not None, "chromium missing")
    data = tmp_path_factory.mktemp("dashboard")
    with live_server(f"sqlite:///{data / 'dash.db'}", data) as live:
        yield live


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: object, server: LiveServer, token: str | None) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda req: None if req.url.startswith(server.base_url) else outside.append(req.url),
    )
    page.outside_requests = outside
    page.goto(f"{server.base_url}/ui/")
    page.wait_for_selector("body[data-ready='1']")
    if token:
        page.fill("#api-key", token)
        page.click("#signin button")
        page.wait_for_selector("#whoami:has-text('admin')")
    return page


def _visit(page: object, hash_route: str) -> None:
    page.goto(page.url.split("#")[0] + hash_route)  # type: ignore[attr-defined]
    page.wait_for_selector(f"body[data-ready='1'][data-page='{hash_route.split('/')[1]}']")  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    assert path.stat().st_size > 10_000, f"{name} screenshot is suspiciously small"
    return path


def test_every_page_renders_offline_with_key_elements(browser: object, server: LiveServer) -> None:
    token = create_key(server.db_url, server.data_dir, "admin")
    page = _page(browser, server, token)

    _visit(page, "#/map")
    assert page.locator("#world-map path.country").count() > 200  # type: ignore[attr-defined]
    assert page.locator("#world-map path[data-iso2='SG']").count() == 1  # type: ignore[attr-defined]
    assert page.is_visible("#world-map")  # type: ignore[attr-defined]
    assert page.is_visible("#legend")  # type: ignore[attr-defined]
    assert "VIOLATION" in page.inner_text("#legend")  # type: ignore[attr-defined]
    _shot(page, "map")

    _visit(page, "#/chip/chip-0001")
    assert page.is_visible("h2:has-text('Chip chip-0001')")  # type: ignore[attr-defined]
    assert page.is_visible("#chip-location")  # type: ignore[attr-defined]
    _shot(page, "chip")

    _visit(page, "#/findings")
    assert page.is_visible("h2:has-text('Findings queue')")  # type: ignore[attr-defined]
    assert page.is_visible("#export-report")  # type: ignore[attr-defined]
    _shot(page, "findings")

    _visit(page, "#/party/party-a")
    assert page.is_visible("#party-search")  # type: ignore[attr-defined]
    assert page.is_visible("#screen-form")  # type: ignore[attr-defined]
    _shot(page, "party")

    _visit(page, "#/log")
    assert page.is_visible("h2:has-text('Transparency log')")  # type: ignore[attr-defined]
    assert page.is_visible("#proof-lookup")  # type: ignore[attr-defined]
    _shot(page, "log")

    assert page.outside_requests == []  # type: ignore[attr-defined]


def test_a_wrong_key_is_refused_and_the_page_says_so(browser: object, server: LiveServer) -> None:
    page = _page(browser, server, None)
    assert "not signed in" in page.inner_text("#whoami")  # type: ignore[attr-defined]
    page.fill("#api-key", "ctk_0000000000000000_not-a-real-secret")  # type: ignore[attr-defined]
    page.click("#signin button")  # type: ignore[attr-defined]
    page.wait_for_selector("#whoami:has-text('401')")  # type: ignore[attr-defined]
    assert "key refused (401)" in page.inner_text("#whoami")  # type: ignore[attr-defined]
    _shot(page, "wrong-key")
