"""The dashboard in a real headless Chromium against a real ``chiptrail serve``: every page renders,
its key elements are visible, it talks only to the public API, and a screenshot of each page is
written to test-output/dashboard/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.ledger.submission import sign_submission
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.wire import record_to_json
from chiptrail.rules import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.service.alerts import findings as rules_service
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.parties import lists as parties_service
from chiptrail.store.migrate import open_database
from chiptrail.types import ChipId, LandmarkId, Severity
from tests.api.live import LiveServer, create_key, create_key_in_process, live_server
from tests.api.load import epcis_document
from tests.conftest import require

CHIP = "urn:epc:id:sgtin:0614141.107346.2024"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"

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
    url = f"sqlite:///{data / 'dash.db'}"
    seed_lists_and_findings(url)
    with live_server(url, data) as live:
        admin = {"Authorization": f"Bearer {create_key_in_process(url, 'admin')}"}
        seed_through_the_api(live.base_url, admin)
        yield live


def seed_lists_and_findings(db_url: str) -> None:
    """A restricted-party list and one finding, written the way their loaders write them."""
    db = open_database(db_url)
    try:
        parties_service.load_list(db, (VECTORS / "csl.csv").read_bytes(), now=datetime.now(UTC))
        finding = Finding(
            "location-violation",
            "hand_carry",
            Severity.CRITICAL,
            CHIP,
            SubjectKind.CHIP,
            datetime.now(UTC),
            f"{CHIP} is provably outside its licensed country",
            (Evidence(EvidenceKind.LEDGER, "leaf:1", "shipping", leaf_index=1),),
        )
        rules_service.store_findings(db, [finding], kind="test", summary={}, now=datetime.now(UTC))
    finally:
        db.dispose()


def seed_through_the_api(base_url: str, admin: dict[str, str]) -> None:
    """Custody events, a landmark, a measurement and a verdict, parties: all via the public API."""
    vendor = Ed25519Signer(bytes([7]) * 32)
    now = datetime.now(UTC)
    with httpx.Client(base_url=base_url, headers=admin, timeout=60.0) as client:
        party = {"party_id": "vendor-a", "name": "Vendor A", "country": "US"}
        assert client.post("/v1/ledger/parties", json=party).status_code == 201
        key = {"public_key_b64": b64encode(vendor.public_key)}
        assert client.post("/v1/ledger/parties/vendor-a/keys", json=key).status_code == 201
        for n, step in enumerate(("commissioning", "shipping")):
            payload = epcis_document(CHIP, now - timedelta(hours=2 - n))
            payload = payload.replace(b'"commissioning"', f'"{step}"'.encode())
            if step == "shipping":
                payload = payload.replace(b'"ADD"', b'"OBSERVE"')
            env = sign_submission(
                payload, party_id="vendor-a", signer=vendor, nonce=f"dash-{n:04d}", signed_at=now
            )
            assert client.post("/v1/events", json=env.to_json()).status_code == 201
        landmark_key = Ed25519Signer(bytes([8]) * 32)
        landmark = {
            "landmark_id": "lm-sg",
            "lat": 1.29,
            "lon": 103.85,
            "country": "SG",
            "public_key": b64encode(landmark_key.public_key),
        }
        assert client.post("/v1/landmarks", json=landmark).status_code == 201
        chip = SoftwareDeviceKey(ChipId(CHIP), Ed25519Signer(bytes([9]) * 32))
        device = {"scheme": "ed25519", "public_key": b64encode(chip.public_key)}
        assert client.post(f"/v1/chips/{CHIP}/device-key", json=device).status_code == 201
        probe = Landmark(LandmarkConfig(LandmarkId("lm-sg")), landmark_key)
        challenge = probe.issue_challenge(chip.chip_id, bytes([1]) * 32, now, 0)
        record = probe.accept_response(answer_challenge(challenge, chip), 2_000_000, now)
        submitted = client.post("/v1/measurements", json={"records": [record_to_json(record)]})
        assert submitted.status_code == 201, submitted.text
        site = {"lat": 37.37, "lon": -121.96, "country": "US"}  # declared: Santa Clara
        located = client.get(f"/v1/chips/{CHIP}/location", params=site)
        assert located.json()["verdict"] == "VIOLATION", located.text
        entities = [
            {"id": "vendor-a", "schema": "Company", "properties": {"name": ["Vendor A"]}},
            {"id": "sub-b", "schema": "Company", "properties": {"name": ["Sophgo Technologies"]}},
            {
                "id": "own-1",
                "schema": "Ownership",
                "properties": {"owner": ["vendor-a"], "asset": ["sub-b"], "percentage": ["60"]},
            },
        ]
        assert client.post("/v1/parties", json={"entities": entities}).status_code == 201


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
    page: Any = _page(browser, server, token)

    _visit(page, "#/map")
    assert page.locator("#world-map path.country").count() > 200
    assert page.locator("#world-map path[data-iso2='SG']").count() == 1
    dot = page.locator(f"#world-map circle.chip[data-chip='{CHIP}']")
    assert dot.get_attribute("data-verdict") == "VIOLATION"
    assert dot.get_attribute("fill") == "#d62728"
    assert "VIOLATION (1)" in page.inner_text("#legend")
    _shot(page, "map")

    dot.click()  # the map links to the chip page
    page.wait_for_selector(f"body[data-ready='1'][data-page='chip'] h2:has-text('{CHIP}')")
    timeline = page.inner_text("#custody-timeline")
    assert "commissioning" in timeline
    assert "shipping" in timeline
    assert page.inner_text("#chip-location .badge") == "VIOLATION"
    assert "SG" in page.inner_text("#location-history")
    assert "lm-sg" in page.inner_text("#location-evidence")
    assert page.locator("#chip-map path.region").count() >= 1  # a proven disk per landmark
    assert page.locator("#chip-map path.likely-disk").count() >= 1
    assert page.locator("#chip-map .region-proven").count() == 1  # their intersections
    assert page.locator("#chip-map .region-likely").count() == 1
    assert "likely region: inside every orange circle" in page.inner_text("#chip-location")
    _shot(page, "chip")

    _visit(page, "#/queue")
    row = page.locator("#queue-table tbody tr").first
    assert "hand_carry" in row.inner_text()
    with page.expect_download() as download:
        page.click("#export-report")
    report = Path(download.value.path()).read_text()
    assert "location-violation" in report
    row.locator("td.title a").click()
    page.wait_for_selector("body[data-ready='1'][data-page='case'] #case-findings")
    assert "location-violation" in page.inner_text("#case-findings")
    page.fill("#triage-assignee", "dana")
    page.click("#do-assign")
    page.wait_for_selector("#case-status:has-text('assigned')")
    page.fill("#triage-comment", "RMA in Penang, not a diversion")
    page.click("#do-false")
    page.wait_for_selector("#case-status:has-text('false_alarm')")
    assert "RMA in Penang" in page.inner_text("#case-comments")
    _shot(page, "findings")

    _visit(page, "#/party/vendor-a")
    assert page.locator("#ownership-graph circle.node").count() == 2
    assert "Vendor A" in page.inner_text("#party-summary")
    page.fill("#screen-name", "SOPHGO TECHNOLOGIES")
    page.click("#screen-form button")
    page.wait_for_selector("#screening-hits #hits-table")
    assert "us-csl" in page.inner_text("#screening-hits")
    _shot(page, "party")

    _visit(page, "#/log")
    checkpoint = page.inner_text("#checkpoint")
    size = int(checkpoint.splitlines()[1])
    assert size >= 4  # party, key and two events
    form = page.locator(".proof-form[data-template='/v1/log/proof/inclusion']")
    form.locator("input[name='index']").fill("0")
    form.locator("input[name='size']").fill(str(size))
    form.locator("button").click()
    page.wait_for_selector(
        ".proof-form[data-template='/v1/log/proof/inclusion'] pre:has-text('hashes')"
    )
    _shot(page, "log")

    assert page.outside_requests == []


def test_a_wrong_key_is_refused_and_the_page_says_so(browser: object, server: LiveServer) -> None:
    page = _page(browser, server, None)
    assert "not signed in" in page.inner_text("#whoami")  # type: ignore[attr-defined]
    page.fill("#api-key", "ctk_0000000000000000_not-a-real-secret")  # type: ignore[attr-defined]
    page.click("#signin button")  # type: ignore[attr-defined]
    page.wait_for_selector("#whoami:has-text('401')")  # type: ignore[attr-defined]
    assert "key refused (401)" in page.inner_text("#whoami")  # type: ignore[attr-defined]
    _shot(page, "wrong-key")
