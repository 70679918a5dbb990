"""The probe protocol over UDP (asyncio): landmark server, agent client, and a delaying relay.

UDP because one datagram each way is exactly what is timed: no handshake, no retransmission
or Nagle delay hidden inside the round trip (docs/probe-protocol.md). The protocol decisions
live in ``chiptrail.probe``; this module owns sockets, the monotonic clock and the CSPRNG.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Protocol, cast

from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    Unavailable,
    VerificationError,
)
from chiptrail.probe.agent import answer_challenge, check_record
from chiptrail.probe.attestation import DeviceKey
from chiptrail.probe.landmark import Landmark
from chiptrail.probe.messages import Challenge, ChipResponse, MeasurementRecord
from chiptrail.probe.wire import (
    Hello,
    RecordMessage,
    Refusal,
    WireMessage,
    decode_datagram,
    encode_datagram,
)
from chiptrail.types import LandmarkId

log = logging.getLogger(__name__)

Address = tuple[str, int]


class Clock(Protocol):
    """Where the network edge reads time: a monotonic counter for RTTs, UTC for records."""

    def monotonic_ns(self) -> int: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The host's clocks (``time.monotonic_ns`` and UTC wall time)."""

    def monotonic_ns(self) -> int:
        """Monotonic nanoseconds."""
        return time.monotonic_ns()

    def now(self) -> datetime:
        """UTC now."""
        return datetime.now(UTC)


def parse_address(text: str) -> Address:
    """``HOST:PORT`` (``[v6]:PORT`` too).

    Raises:
        InvalidInput: no port or a bad port.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"{text!r}: expected HOST:PORT", {"field": "landmark", "value": text})
    return host.strip("[]"), int(port)


class LandmarkServer(asyncio.DatagramProtocol):
    """UDP endpoint driving one ``Landmark``: hello -> challenge, response -> record or refusal."""

    def __init__(
        self,
        landmark: Landmark,
        clock: Clock | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        on_record: Callable[[MeasurementRecord], None] | None = None,
    ) -> None:
        self.landmark = landmark
        self.clock = clock or SystemClock()
        self._random_bytes = random_bytes
        self.on_record = on_record
        self._transport: asyncio.DatagramTransport | None = None
        self._last_expiry_ns = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self._transport = cast(asyncio.DatagramTransport, transport)

    def _send(self, message: WireMessage, addr: Address) -> None:
        if self._transport is not None:
            self._transport.sendto(encode_datagram(message), addr)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        """Handle one datagram; the receive time is read first, before any parsing."""
        received_ns = self.clock.monotonic_ns()
        self._expire(received_ns)
        try:
            message = decode_datagram(data)
        except InvalidInput as exc:
            self.landmark.count("malformed")
            self._send(Refusal("malformed", exc.message), addr)
            return
        if isinstance(message, Hello):
            self._challenge(message, addr)
        elif isinstance(message, ChipResponse):
            self._measure(message, received_ns, addr)
        else:
            self.landmark.count("malformed")
            self._send(Refusal("malformed", "landmarks accept hello and response only"), addr)

    def _challenge(self, hello: Hello, addr: Address) -> None:
        nonce = self._random_bytes(32)
        now = self.clock.now()
        sent_ns = self.clock.monotonic_ns()
        try:
            challenge = self.landmark.issue_challenge(hello.chip_id, nonce, now, sent_ns)
        except ChiptrailError as exc:
            reason = str(exc.details.get("reason", exc.code))
            self._send(Refusal(reason, exc.message), addr)
            return
        self._send(challenge, addr)

    def _measure(self, response: ChipResponse, received_ns: int, addr: Address) -> None:
        try:
            record = self.landmark.accept_response(response, received_ns, self.clock.now())
        except ChiptrailError as exc:
            reason = str(exc.details.get("reason", exc.code))
            self._send(Refusal(reason, exc.message), addr)
            return
        self._send(RecordMessage(record), addr)
        if self.on_record is not None:
            self.on_record(record)

    def _expire(self, now_ns: int) -> None:
        if now_ns - self._last_expiry_ns >= self.landmark.config.challenge_ttl_ns // 2:
            self._last_expiry_ns = now_ns
            self.landmark.expire_challenges(now_ns)


@contextlib.asynccontextmanager
async def serve_landmark(
    server: LandmarkServer, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[Address]:
    """Listen on ``host:port`` (0 picks a free port) and yield the bound address."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=(host, port))
    except OSError as exc:
        raise Unavailable(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        bound = transport.get_extra_info("sockname")
        yield bound[0], bound[1]
    finally:
        transport.close()


class _AgentEndpoint(asyncio.DatagramProtocol):
    """Answers challenges inside the receive callback (no scheduling delay before signing)."""

    def __init__(self, device_key: DeviceKey, expected: Collection[LandmarkId] | None) -> None:
        self.device_key = device_key
        self.expected = expected
        self.transport: asyncio.DatagramTransport | None = None
        self.responses: dict[bytes, ChipResponse] = {}
        self.inbox: asyncio.Queue[WireMessage | ChiptrailError] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            message = decode_datagram(data)
            if isinstance(message, Challenge):
                response = answer_challenge(message, self.device_key, self.expected)
                assert self.transport is not None  # noqa: S101 - set in connection_made
                self.transport.sendto(encode_datagram(response))
                self.responses[response.nonce] = response
                return
        except ChiptrailError as exc:
            self.inbox.put_nowait(exc)
            return
        self.inbox.put_nowait(message)


def _refusal_error(refusal: Refusal) -> ChiptrailError:
    details = {"reason": refusal.reason}
    if refusal.reason == "replayed":
        return Conflict(f"landmark refused: {refusal.message}", details)
    return VerificationError(f"landmark refused ({refusal.reason}): {refusal.message}", details)


async def probe_landmark(
    address: Address,
    device_key: DeviceKey,
    *,
    expected_landmark: LandmarkId | None = None,
    landmark_keys: Mapping[LandmarkId, bytes] | None = None,
    timeout_s: float = 2.0,
    attempts: int = 3,
) -> MeasurementRecord:
    """Ask the landmark at ``address`` to measure this chip; returns the signed record.

    Raises:
        VerificationError / Conflict: the landmark refused, or its record does not check.
        Unavailable: no answer after ``attempts`` tries of ``timeout_s`` each.
    """
    loop = asyncio.get_running_loop()
    expected = None if expected_landmark is None else {expected_landmark}
    endpoint = _AgentEndpoint(device_key, expected)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: endpoint, remote_addr=address)
    except OSError as exc:
        raise Unavailable(f"cannot reach landmark {address[0]}:{address[1]}: {exc}") from exc
    try:
        for _ in range(attempts):
            transport.sendto(encode_datagram(Hello(device_key.chip_id)))
            try:
                async with asyncio.timeout(timeout_s):
                    return await _await_record(endpoint, landmark_keys)
            except TimeoutError:
                log.info("landmark %s:%s did not answer in %.1f s", *address, timeout_s)
        raise Unavailable(f"landmark {address[0]}:{address[1]} did not answer")
    finally:
        transport.close()


async def _await_record(
    endpoint: _AgentEndpoint, landmark_keys: Mapping[LandmarkId, bytes] | None
) -> MeasurementRecord:
    while True:
        item = await endpoint.inbox.get()
        if isinstance(item, ChiptrailError):
            raise item
        if isinstance(item, Refusal):
            raise _refusal_error(item)
        if isinstance(item, RecordMessage):
            response = endpoint.responses.get(item.record.nonce)
            if response is None:
                continue  # a record for an earlier attempt's nonce we no longer wait for
            check_record(item.record, response, landmark_keys)
            return item.record


class DelayRelay(asyncio.DatagramProtocol):
    """A relay that forwards one client's datagrams to an upstream address with added delay.

    It plays the adversary (a chip far away answering through a relay at the claimed site) or
    stands in for distance in tests. It only adds delay: ``delay_s`` each way, never less.
    """

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.downstream: asyncio.DatagramTransport | None = None
        self.upstream: asyncio.DatagramTransport | None = None
        self.client: Address | None = None
        self.forwarded = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the client-facing transport."""
        self.downstream = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        """From the client: forward upstream after the delay."""
        self.client = addr
        if self.upstream is not None:
            self.forwarded += 1
            asyncio.get_running_loop().call_later(self.delay_s, self.upstream.sendto, data)

    def deliver_back(self, data: bytes) -> None:
        """From upstream: forward to the client after the delay."""
        if self.downstream is not None and self.client is not None:
            self.forwarded += 1
            asyncio.get_running_loop().call_later(
                self.delay_s, self.downstream.sendto, data, self.client
            )


class _RelayBack(asyncio.DatagramProtocol):
    def __init__(self, relay: DelayRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay.deliver_back(data)


@contextlib.asynccontextmanager
async def serve_relay(
    upstream: Address, delay_s: float, host: str = "127.0.0.1"
) -> AsyncIterator[tuple[Address, DelayRelay]]:
    """Run a ``DelayRelay`` to ``upstream`` on a free port; yields its address and itself."""
    if delay_s < 0:
        raise InvalidInput("a relay cannot remove delay: delay_s must be >= 0")
    loop = asyncio.get_running_loop()
    relay = DelayRelay(delay_s)
    down, _ = await loop.create_datagram_endpoint(lambda: relay, local_addr=(host, 0))
    up, _ = await loop.create_datagram_endpoint(lambda: _RelayBack(relay), remote_addr=upstream)
    relay.upstream = up
    try:
        bound = down.get_extra_info("sockname")
        yield (bound[0], bound[1]), relay
    finally:
        up.close()
        down.close()


async def run_landmark(
    server: LandmarkServer,
    host: str,
    port: int,
    *,
    count: int | None = None,
    on_listening: Callable[[Address], None] | None = None,
) -> None:
    """Serve until ``count`` measurements were made (forever when None, until cancelled)."""
    done = asyncio.Event()
    user_hook = server.on_record
    made = 0

    def on_record(record: MeasurementRecord) -> None:
        nonlocal made
        made += 1
        if user_hook is not None:
            user_hook(record)
        if count is not None and made >= count:
            done.set()

    server.on_record = on_record
    async with serve_landmark(server, host, port) as bound:
        if on_listening is not None:
            on_listening(bound)
        await done.wait()


async def run_agent(
    addresses: Collection[Address],
    device_key: DeviceKey,
    *,
    rounds: int = 1,
    timeout_s: float = 2.0,
    on_record: Callable[[MeasurementRecord], None] | None = None,
) -> list[MeasurementRecord]:
    """Probe every landmark ``rounds`` times (landmarks in parallel, rounds one after another).

    Raises:
        InvalidInput: no landmark or rounds < 1.
        ChiptrailError: the first refusal or unreachable landmark (after all probes finished).
    """
    if not addresses or rounds < 1:
        raise InvalidInput("give at least one --landmark and --rounds >= 1")
    records: list[MeasurementRecord] = []
    for _ in range(rounds):
        results = await asyncio.gather(
            *(probe_landmark(a, device_key, timeout_s=timeout_s) for a in addresses),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, ChiptrailError):
                raise result
            if isinstance(result, BaseException):
                raise result
            records.append(result)
            if on_record is not None:
                on_record(result)
    return records
