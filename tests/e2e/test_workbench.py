"""An analyst's day in a real headless Chromium against ``chiptrail serve`` on a small demo world:
open the queue, filter to one channel, open a case, see its chips, evidence and verified proof,
triage it, export the case file (HTML and PDF); at 400 px and 1,366 px without sideways
scrolling, and with no request leaving 127.0.0.1 (every other request is intercepted and aborted).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from chiptrail.service.demo.run import run_demo
from chiptrail.store.migrate import open_database
from tests.api.live import LiveServer, create_key_in_process, live_server
from tests.conftest import require
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.chromium
WIDTHS = [400, 1366]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    require(Path(CHROMIUM).is_file() or shutil.which("chromium") is not None, "chromium missing")
    data = tmp_path_factory.mktemp("workbench")
    url = f"sqlite:///{data / 'demo.db'}"
    db = open_database(url)
    try:
        run_demo(db, chips=200, seed=7, out_dir=data / "out")
    finally:
        db.dispose()
    token = create_key_in_process(url, "analyst")
    with live_server(url, data) as live:
        yield live, token


@pytest.fixture(scope="module")
def browser(world: tuple[LiveServer, str]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser: Any, live: LiveServer, token: str, width: int) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "blob:", "data:", "file:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(f"{live.base_url}/ui/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#api-key", token)
    page.click("#signin button")
    page.wait_for_selector("#whoami:has-text('analyst')")
    return page, outside


def _ready(page: Any, name: str) -> None:
    page.wait_for_selector(f"body[data-ready='1'][data-page='{name}']")


def _no_sideways_scroll(page: Any, where: str) -> None:
    extra = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert extra <= 0, f"{where} scrolls sideways by {extra} px"


@pytest.mark.parametrize("width", WIDTHS, ids=["400 px phone", "1366 px laptop"])
def test_an_analyst_works_a_case_from_queue_to_case_file(
    browser: Any, world: tuple[LiveServer, str], width: int, tmp_path: Path
) -> None:
    live, token = world
    page, outside = _open(browser, live, token, width)

    page.goto(f"{live.base_url}/ui/#/queue")
    _ready(page, "queue")
    assert page.locator("#queue-table tbody tr").count() >= 7  # one case per injected incident
    _no_sideways_scroll(page, "queue")

    page.select_option("#channel", "transshipment")
    page.click("#queue-filters button[type='submit']")
    page.wait_for_selector("body[data-ready='1'][data-page='queue'] #queue-count")
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() >= 1
    assert all("transshipment" in rows.nth(i).inner_text() for i in range(rows.count()))

    rows.filter(has_text="Pte. Ltd.").first.locator("td.title a").click()  # the consignee's case
    _ready(page, "case")
    assert page.locator("#case-chips li").count() >= 2
    assert page.locator("#case-evidence li").count() >= 1
    page.wait_for_selector("#case-evidence .proof-ok")
    assert page.locator("#case-evidence .proof-bad").count() == 0
    assert "Pte. Ltd." in page.inner_text("#case-parties")  # parties by name
    # its chips never answered a probe (they were shipped on), and the page says so
    assert "has a location verdict: never answered a probe" in page.inner_text("#case-location")
    _no_sideways_scroll(page, "case")

    page.fill("#triage-assignee", f"dana-{width}")
    page.fill("#triage-comment", "consignee never installed the chips")
    page.click("#do-assign")
    page.wait_for_selector(f"#case-history li:has-text('assigned to dana-{width}')")
    assert page.inner_text("#case-status") == "assigned"
    assert "consignee never installed" in page.inner_text("#case-comments")

    with page.expect_download() as download:
        page.click("#export-case")
    case_file = tmp_path / download.value.suggested_filename
    download.value.save_as(case_file)
    assert case_file.suffix == ".html"
    html = case_file.read_text()
    assert "Merkle proofs" in html
    assert "List provenance" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained

    with page.expect_download() as pdf_download:
        page.click("#export-case-pdf")
    pdf_file = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(pdf_file)
    assert pdf_file.suffix == ".pdf"
    pdf_text = " ".join(p.extract_text() for p in PdfReader(pdf_file).pages)
    assert "Merkle proofs" in pdf_text
    assert ": verified" in pdf_text
    assert "NOT verified" not in pdf_text

    viewer = page.context.new_page()
    viewer.goto(case_file.as_uri())
    viewer.wait_for_selector("td.ok:has-text('verified')")
    assert viewer.locator("td.bad").count() == 0
    _no_sideways_scroll(viewer, "case file")

    page.goto(f"{live.base_url}/ui/#/queue?channel=hand_carry")
    _ready(page, "queue")
    page.locator("#queue-table tbody tr td.title a").first.click()
    _ready(page, "case")  # a hand-carried lot: where it was measured, proven and likely
    assert page.locator("#case-location .region-proven").count() == 1
    assert page.locator("#case-location .region-likely").count() == 1
    assert page.locator("#case-location .likely-disk").count() >= 1
    legend = page.inner_text("#case-location .region-legend")
    assert "proven region: inside every blue circle" in legend
    assert "likely region: inside every orange circle" in legend
    _no_sideways_scroll(page, "case map")

    page.goto(f"{live.base_url}/ui/#/party/")
    _ready(page, "party")
    assert page.locator("#party-list td.restricted").count() >= 1
    _no_sideways_scroll(page, "parties")
    page.goto(f"{live.base_url}/ui/#/map")
    _ready(page, "map")
    assert page.locator("#world-map .landmark-label").count() > 10  # the demo stores landmarks
    assert int(page.locator("#world-map g.cluster").first.get_attribute("data-count")) > 1
    assert page.locator("#world-map .case-mark").count() >= 7  # every incident's case placed
    _no_sideways_scroll(page, "map")

    assert outside == []


def test_api_docs_render_offline(browser: Any, world: tuple[LiveServer, str]) -> None:
    live, token = world
    page, outside = _open(browser, live, token, 1366)
    page.goto(f"{live.base_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert outside == []
