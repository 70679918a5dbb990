"""End to end on loopback: landmarks, agents and distance-emulating relays, then the verdict.

Distance is emulated by relays that add fibre-like delay (about 1 ms of RTT per 100 km, times
1.3 for route detours). An honest chip in Johor and a chip in Shenzhen that claims the same Johor
site through relays are measured by landmarks in Singapore and Hong Kong; the relayed chip's
small RTT to Hong Kong proves it is far from Johor.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput
from chiptrail.geoloc import DeclaredSite, great_circle_km
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.location.intake import submit_measurements
from chiptrail.service.location.probe import (
    RegisteredLandmark,
    locate_chip,
    location_to_json,
    register_device_key,
    register_landmark,
)
from chiptrail.service.location.probe_net import (
    LandmarkServer,
    probe_landmark,
    serve_landmark,
    serve_relay,
)
from chiptrail.store.database import Database
from chiptrail.types import ChipId, Country, LandmarkId, Verdict
from tests.probe.fakes import seed

LANDMARKS = {
    "lm-sg": (1.29, 103.85, "SG", 1),
    "lm-hk": (22.30, 114.17, "HK", 2),
}
JOHOR = (1.49, 103.74)
SHENZHEN = (22.54, 114.06)
HONEST = SoftwareDeviceKey(ChipId("GPU-honest"), Ed25519Signer(seed(10)))
RELAYED = SoftwareDeviceKey(ChipId("GPU-relayed"), Ed25519Signer(seed(11)))
SITE = DeclaredSite(JOHOR[0], JOHOR[1], Country("MY"), radius_km=1000.0)


def fibre_rtt_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    km = float(great_circle_km(a[0], a[1], b[0], b[1]))
    return 1.3 * km / 100.0 / 1000.0


async def measure_all() -> list[MeasurementRecord]:
    servers = {
        lid: LandmarkServer(Landmark(LandmarkConfig(LandmarkId(lid)), Ed25519Signer(seed(n))))
        for lid, (_, _, _, n) in LANDMARKS.items()
    }
    records: list[MeasurementRecord] = []
    async with serve_landmark(servers["lm-sg"]) as sg, serve_landmark(servers["lm-hk"]) as hk:
        for chip, where in ((HONEST, JOHOR), (RELAYED, SHENZHEN)):
            for lid, addr in (("lm-sg", sg), ("lm-hk", hk)):
                lat, lon = LANDMARKS[lid][:2]
                delay_s = fibre_rtt_s(where, (lat, lon)) / 2
                async with serve_relay(addr, delay_s) as (relay_addr, _):
                    for _ in range(2):
                        record = await probe_landmark(relay_addr, chip, timeout_s=2.0)
                        # added delay never shortens the round trip
                        assert record.rtt_ns >= 2 * delay_s * 1e9
                        records.append(record)
    return records


@pytest.fixture(scope="module")
def records() -> list[MeasurementRecord]:
    return asyncio.run(measure_all())


def store(db: Database, records: list[MeasurementRecord]) -> None:
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    for lid, (lat, lon, country, n) in LANDMARKS.items():
        pk = Ed25519Signer(seed(n)).public_key
        register_landmark(
            db, RegisteredLandmark(LandmarkId(lid), lat, lon, pk, Country(country)), t0
        )
    for chip in (HONEST, RELAYED):
        key = DevicePublicKey(chip.chip_id, AttestationScheme.ED25519, chip.public_key)
        register_device_key(db, key, t0)
    assert submit_measurements(db, records, t0).stored == len(records)


def test_relayed_chip_is_caught_and_honest_chip_verified(
    database: Database, records: list[MeasurementRecord]
) -> None:
    store(database, records)
    now = datetime.now(UTC)
    honest = locate_chip(database, HONEST.chip_id, now, site=SITE)
    relayed = locate_chip(database, RELAYED.chip_id, now, site=SITE)
    assert honest.verdict.verdict == Verdict.VERIFIED, honest.verdict.reason
    assert relayed.verdict.verdict == Verdict.VIOLATION, relayed.verdict.reason
    decisive = relayed.verdict.evidence[0]
    assert decisive.landmark_id == "lm-hk"
    assert decisive.distance_km > decisive.bound_km  # the claimed site is outside the proven disk
    body = location_to_json(relayed)
    assert body["verdict"] == "VIOLATION"
    assert body["declared_site"] == {
        "lat": JOHOR[0],
        "lon": JOHOR[1],
        "country": "MY",
        "radius_km": 1000.0,
        "source": "query",
    }
    assert "HK" in body["proven_countries"] or "CN" in body["proven_countries"]
    assert {m["landmark_id"] for m in body["measurements"]} == {"lm-sg", "lm-hk"}
    assert all(m["n_measurements"] == 2 for m in body["measurements"])
    assert body["verdict_id"] > 0
    # the disks a map draws: the decisive proven bound, and a likely disk inside each proven one
    disks = {d["landmark_id"]: d for d in body["disks"]}
    assert set(disks) == {"lm-sg", "lm-hk"}
    assert disks["lm-hk"]["proven_km"] == pytest.approx(decisive.bound_km)
    assert all(0 < d["likely_km"] <= d["proven_km"] for d in disks.values())


def test_relay_rtt_grows_with_the_distance_it_emulates(records: list[MeasurementRecord]) -> None:
    by = {(r.chip_id, r.landmark_id): r.rtt_ms for r in records}
    assert by[("GPU-relayed", "lm-sg")] > by[("GPU-honest", "lm-sg")] + 20
    assert by[("GPU-honest", "lm-hk")] > by[("GPU-relayed", "lm-hk")] + 20


def test_no_measurements_and_no_site_are_unverified(
    sqlite_database: Database, records: list[MeasurementRecord]
) -> None:
    now = datetime.now(UTC)
    empty = locate_chip(sqlite_database, ChipId("GPU-none"), now, site=SITE)
    assert empty.verdict.verdict == Verdict.UNVERIFIED
    assert location_to_json(empty)["measurements"] == []
    store(sqlite_database, records)
    nosite = locate_chip(sqlite_database, HONEST.chip_id, now)
    assert nosite.verdict.verdict == Verdict.UNVERIFIED
    assert "declared site" in nosite.verdict.reason
    body = location_to_json(nosite)
    assert body["region"]["n_landmarks"] == 2
    assert "MY" in body["proven_countries"]  # the region is reported even without a site


def test_the_ledger_declared_site_wins_over_the_query(sqlite_database: Database) -> None:
    from chiptrail.service.ledger import events as ledger_svc
    from tests.ledger.helpers import NOW, chip, document, envelope, event, server, signer
    from tests.probe.fakes import signed_record

    db = sqlite_database
    ledger_svc.register_party(
        db, party_id="vendor", name="Vendor", country="US", kind="Company", now=NOW
    )
    ledger_svc.add_party_key(db, party_id="vendor", public_key=signer(1).public_key, now=NOW)
    events = [
        event("commissioning", [chip(7)]),
        event(
            "installing",
            [chip(7)],
            event_type="AggregationEvent",
            action="ADD",
            parent=server(7),
            minute=1,
        ),
        event("receiving", [server(7)], minute=2, site=("MY", JOHOR[0], JOHOR[1], "Johor DC1")),
    ]
    env = envelope("vendor", 1, document(*events), "n-probe-1")
    ledger_svc.submit_envelopes(db, [env.to_bytes()], now=NOW)
    epc = ChipId(chip(7))
    chip_key = SoftwareDeviceKey(epc, Ed25519Signer(seed(12)))
    hk_key = Ed25519Signer(seed(2))
    register_landmark(
        db, RegisteredLandmark(LandmarkId("lm-hk"), 22.30, 114.17, hk_key.public_key), NOW
    )
    register_device_key(
        db, DevicePublicKey(epc, AttestationScheme.ED25519, chip_key.public_key), NOW
    )
    submit_measurements(db, [signed_record("lm-hk", hk_key, chip_key, 1, 400_000)], NOW)
    # the query claims Hong Kong, but the ledger says the chip's server is in Johor
    query = DeclaredSite(22.3, 114.1, Country("HK"))
    location = locate_chip(db, epc, datetime.now(UTC), site=query)
    assert location.site_source == "ledger"
    assert location.site is not None
    assert (location.site.lat, location.site.country) == (JOHOR[0], "MY")
    assert location.verdict.verdict == Verdict.VIOLATION


def test_old_measurements_do_not_keep_a_verdict_alive(
    sqlite_database: Database, records: list[MeasurementRecord]
) -> None:
    from datetime import timedelta

    store(sqlite_database, records)
    later = datetime.now(UTC) + timedelta(hours=100)
    stale = locate_chip(sqlite_database, RELAYED.chip_id, later, site=SITE, max_age_h=72)
    assert stale.verdict.verdict == Verdict.UNVERIFIED
    assert "old" in stale.verdict.reason
    fresh = locate_chip(sqlite_database, RELAYED.chip_id, later, site=SITE, max_age_h=200)
    assert fresh.verdict.verdict == Verdict.VIOLATION
    with pytest.raises(InvalidInput):
        locate_chip(sqlite_database, RELAYED.chip_id, later, site=SITE, max_age_h=0)
