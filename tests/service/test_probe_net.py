"""The probe protocol over real UDP sockets on loopback: landmarks, agents, relays, refusals."""

from __future__ import annotations

import asyncio
import socket

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import Conflict, InvalidInput, Unavailable, VerificationError
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord, verify_measurement
from chiptrail.probe.wire import Hello, Refusal, decode_datagram, encode_datagram
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.location.probe_net import (
    LandmarkServer,
    parse_address,
    probe_landmark,
    serve_landmark,
    serve_relay,
)
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import seed


def chip(n: int) -> SoftwareDeviceKey:
    return SoftwareDeviceKey(ChipId(f"GPU-{n}"), Ed25519Signer(seed(100 + n)))


def make_server(name: str, n: int, directory: bool = False) -> LandmarkServer:
    keys = None
    if directory:
        keys = {
            c.chip_id: DevicePublicKey(c.chip_id, AttestationScheme.ED25519, c.public_key)
            for c in (chip(1), chip(2))
        }
    return LandmarkServer(Landmark(LandmarkConfig(LandmarkId(name)), Ed25519Signer(seed(n)), keys))


def test_several_landmarks_measure_several_agents() -> None:
    async def scenario() -> list[MeasurementRecord]:
        servers = [make_server(f"lm-{i}", i) for i in range(3)]
        async with (
            serve_landmark(servers[0]) as a0,
            serve_landmark(servers[1]) as a1,
            serve_landmark(servers[2]) as a2,
        ):
            jobs = [
                probe_landmark(addr, chip(c), expected_landmark=LandmarkId(f"lm-{i}"))
                for i, addr in enumerate((a0, a1, a2))
                for c in (1, 2)
            ]
            records = list(await asyncio.gather(*jobs))
        assert [s.landmark.counters.measured for s in servers] == [2, 2, 2]
        return records

    records = asyncio.run(scenario())
    assert len({r.nonce for r in records}) == 6
    for r in records:
        assert 0 < r.rtt_ms < 1000
        verify_measurement(r, Ed25519Signer(seed(int(r.landmark_id[-1]))).public_key)


def test_relay_adds_delay_and_never_shortens_the_round_trip() -> None:
    delay_s = 0.015

    async def scenario() -> tuple[float, float]:
        server = make_server("lm-0", 0)
        async with serve_landmark(server) as addr:
            direct = await probe_landmark(addr, chip(1))
            async with serve_relay(addr, delay_s) as (relay_addr, relay):
                relayed = await probe_landmark(relay_addr, chip(1))
                assert relay.forwarded == 4  # hello, challenge, response, record
        return direct.rtt_ms, relayed.rtt_ms

    direct_ms, relayed_ms = asyncio.run(scenario())
    # the timed leg (challenge out, response back) crosses the relay twice
    assert relayed_ms >= 2 * delay_s * 1000
    assert relayed_ms > direct_ms


def test_landmark_key_is_checked_by_the_agent() -> None:
    async def scenario() -> None:
        async with serve_landmark(make_server("lm-0", 0)) as addr:
            wrong = {LandmarkId("lm-0"): Ed25519Signer(seed(55)).public_key}
            with pytest.raises(VerificationError):
                await probe_landmark(addr, chip(1), landmark_keys=wrong)

    asyncio.run(scenario())


def test_unknown_chip_is_refused_over_the_wire() -> None:
    async def scenario() -> LandmarkServer:
        server = make_server("lm-0", 0, directory=True)
        async with serve_landmark(server) as addr:
            await probe_landmark(addr, chip(1))
            with pytest.raises(VerificationError, match="unknown_chip"):
                await probe_landmark(addr, chip(3))
        return server

    counters = asyncio.run(scenario()).landmark.counters
    assert (counters.measured, counters.unknown_chip) == (1, 1)


def test_replayed_and_malformed_datagrams_are_refused_and_counted() -> None:
    async def scenario() -> LandmarkServer:
        server = make_server("lm-0", 0)
        captured: list[bytes] = []
        async with serve_landmark(server) as addr:
            # a raw UDP client plays an honest agent once, then replays its answer
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(addr)
            try:
                await loop.sock_sendall(sock, encode_datagram(Hello(ChipId("GPU-1"))))
                challenge = decode_datagram(await loop.sock_recv(sock, 65536))
                from chiptrail.probe.agent import answer_challenge
                from chiptrail.probe.messages import Challenge

                assert isinstance(challenge, Challenge)
                answer = encode_datagram(answer_challenge(challenge, chip(1)))
                captured.append(answer)
                for data in (answer, answer, b"garbage", encode_datagram(challenge)):
                    await loop.sock_sendall(sock, data)
                    captured.append(await loop.sock_recv(sock, 65536))
            finally:
                sock.close()
        replies = [decode_datagram(d) for d in captured[1:]]
        assert [type(r).__name__ for r in replies] == [
            "RecordMessage",
            "Refusal",
            "Refusal",
            "Refusal",
        ]
        assert isinstance(replies[1], Refusal)
        assert replies[1].reason == "replayed"
        return server

    counters = asyncio.run(scenario()).landmark.counters
    assert (counters.measured, counters.replayed, counters.malformed) == (1, 1, 2)


def test_silent_landmark_is_unavailable() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        silent, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        try:
            addr = silent.get_extra_info("sockname")
            with pytest.raises(Unavailable):
                await probe_landmark(addr, chip(1), timeout_s=0.05, attempts=2)
        finally:
            silent.close()

    asyncio.run(scenario())


def test_conflict_maps_from_replay_refusal() -> None:
    from chiptrail.service.location.probe_net import _refusal_error

    assert isinstance(_refusal_error(Refusal("replayed", "x")), Conflict)
    assert isinstance(_refusal_error(Refusal("stale", "x")), VerificationError)


@pytest.mark.parametrize("text", ["nohost", "h:0", "h:70000", ":80", "h:x"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_address(text)


def test_addresses() -> None:
    assert parse_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
