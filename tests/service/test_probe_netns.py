"""Real network delay: a landmark inside a network namespace, reached over a veth pair.

The landmark's socket is created inside the namespace (setns on a helper thread); the agent
stays in the test's namespace. With ``tc netem`` the measured RTT grows with the injected
delay. Needs root, ``ip`` and, for the delay test, the kernel's sch_netem; skips otherwise.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.location.probe_net import LandmarkServer, probe_landmark
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import seed

pytestmark = pytest.mark.netns

CLONE_NEWNET = 0x40000000
NS = f"ctprobe{os.getpid() % 100000}"
HOST_IF, NS_IF = f"ctv{os.getpid() % 100000}a", f"ctv{os.getpid() % 100000}b"
HOST_IP, NS_IP = "10.78.0.1", "10.78.0.2"
CHIP = SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=30)


@dataclass
class Namespace:
    name: str


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (ip)")
    steps = [
        ["ip", "netns", "add", NS],
        ["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF],
        ["ip", "link", "set", NS_IF, "netns", NS],
        ["ip", "addr", "add", f"{HOST_IP}/30", "dev", HOST_IF],
        ["ip", "link", "set", HOST_IF, "up"],
        ["ip", "-n", NS, "addr", "add", f"{NS_IP}/30", "dev", NS_IF],
        ["ip", "-n", NS, "link", "set", NS_IF, "up"],
        ["ip", "-n", NS, "link", "set", "lo", "up"],
    ]
    try:
        for step in steps:
            done = sh(*step)
            if done.returncode != 0:
                pytest.skip(f"network namespaces not allowed here: {' '.join(step)}: {done.stderr}")
        yield Namespace(NS)
    finally:
        sh("ip", "link", "del", HOST_IF)
        sh("ip", "netns", "del", NS)


def socket_in_namespace(name: str) -> socket.socket:
    """A UDP socket bound inside namespace ``name`` (it keeps the namespace it was made in)."""
    made: list[socket.socket | BaseException] = []

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((NS_IP, 0))
            made.append(sock)
        except BaseException as exc:  # handed to the test thread
            made.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if isinstance(made[0], BaseException):
        pytest.skip(f"cannot enter the namespace: {made[0]}")
    return made[0]


async def min_rtt_ms(sock: socket.socket, rounds: int = 3) -> float:
    loop = asyncio.get_running_loop()
    server = LandmarkServer(Landmark(LandmarkConfig(LandmarkId("lm-ns")), Ed25519Signer(seed(1))))
    transport, _ = await loop.create_datagram_endpoint(lambda: server, sock=sock)
    try:
        port = sock.getsockname()[1]
        rtts = [
            (await probe_landmark((NS_IP, port), CHIP, timeout_s=2.0)).rtt_ms for _ in range(rounds)
        ]
    finally:
        transport.close()
    return min(rtts)


def test_landmark_in_a_namespace_measures_over_veth(namespace: Namespace) -> None:
    rtt = asyncio.run(min_rtt_ms(socket_in_namespace(namespace.name)))
    assert 0 < rtt < 1000


def test_measured_rtt_grows_with_netem_delay(namespace: Namespace) -> None:
    if shutil.which("tc") is None:
        pytest.skip("needs tc (iproute2)")
    base = asyncio.run(min_rtt_ms(socket_in_namespace(namespace.name)))
    measured = {}
    for delay_ms in (20, 40):
        done = sh(
            "tc", "qdisc", "replace", "dev", HOST_IF, "root", "netem", "delay", f"{delay_ms}ms"
        )
        if done.returncode != 0:
            pytest.skip(f"tc netem not available in this kernel: {done.stderr.strip()}")
        try:
            measured[delay_ms] = asyncio.run(min_rtt_ms(socket_in_namespace(namespace.name)))
        finally:
            sh("tc", "qdisc", "del", "dev", HOST_IF, "root")
    # the timed leg crosses the delayed egress once (the response), so RTT >= delay
    assert measured[20] >= 20.0
    assert measured[40] >= 40.0
    assert base < measured[20] < measured[40]
