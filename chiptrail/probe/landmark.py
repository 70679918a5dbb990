"""The landmark's state machine: issue nonces, time answers, refuse and count bad ones, sign.

No sockets and no clocks: the caller passes the nonce (fresh random bytes), the monotonic
nanosecond readings at send and receive, and the UTC wall time. ``service/location/probe_net.py``
drives it over UDP.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from chiptrail.crypto import Signer
from chiptrail.errors import Conflict, InvalidInput, VerificationError
from chiptrail.probe.attestation import DevicePublicKey, verify_attestation
from chiptrail.probe.messages import (
    Challenge,
    ChipResponse,
    MeasurementRecord,
    chip_message,
    sign_measurement,
)
from chiptrail.types import ChipId, LandmarkId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LandmarkConfig:
    """Landmark settings.

    Attributes:
        landmark_id: this landmark's registered id.
        challenge_ttl_ns: an answer later than this after sending is stale (monotonic clock).
        max_outstanding: open challenges kept; the oldest is dropped beyond it.
        replay_memory: used nonces remembered to tell replays from foreign nonces.
    """

    landmark_id: LandmarkId
    challenge_ttl_ns: int = 2_000_000_000
    max_outstanding: int = 10_000
    replay_memory: int = 100_000

    def __post_init__(self) -> None:
        if self.challenge_ttl_ns <= 0 or self.max_outstanding <= 0 or self.replay_memory <= 0:
            raise InvalidInput("challenge_ttl_ns, max_outstanding, replay_memory must be > 0")


@dataclass(frozen=True, slots=True)
class LandmarkCounters:
    """What a landmark has done since it started; each refusal reason has its own counter."""

    issued: int = 0
    measured: int = 0
    replayed: int = 0
    stale: int = 0
    foreign: int = 0
    bad_signature: int = 0
    wrong_key: int = 0
    unknown_chip: int = 0
    malformed: int = 0
    dropped: int = 0

    @property
    def refused(self) -> int:
        """All refusals together."""
        return sum(getattr(self, f.name) for f in fields(self)[2:])

    def to_json(self) -> dict[str, int]:
        """Counter name to value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class _Pending:
    chip_id: ChipId
    challenge: Challenge
    sent_ns: int


class Landmark:
    """One landmark's protocol state.

    Args:
        config: id and limits.
        signer: the landmark's Ed25519 key (signs measurement records).
        chip_keys: registered device keys by chip; when given, answers from chips not in it or
            under another key are refused. When None, the attestation is checked against the
            key it carries and the registry checks that key on submission.
    """

    def __init__(
        self,
        config: LandmarkConfig,
        signer: Signer,
        chip_keys: Mapping[ChipId, DevicePublicKey] | None = None,
    ) -> None:
        self.config = config
        self._signer = signer
        self._chip_keys = chip_keys
        self._pending: OrderedDict[bytes, _Pending] = OrderedDict()
        self._used: OrderedDict[bytes, str] = OrderedDict()  # nonce -> answered/expired
        self._counts: dict[str, int] = {f.name: 0 for f in fields(LandmarkCounters)}

    @property
    def landmark_id(self) -> LandmarkId:
        """This landmark's id."""
        return self.config.landmark_id

    @property
    def public_key(self) -> bytes:
        """The landmark's Ed25519 public key."""
        return self._signer.public_key

    @property
    def counters(self) -> LandmarkCounters:
        """A snapshot of the counters."""
        return LandmarkCounters(**self._counts)

    @property
    def outstanding(self) -> int:
        """Challenges sent and not yet answered or expired."""
        return len(self._pending)

    def count(self, reason: str) -> None:
        """Count one event named like a ``LandmarkCounters`` field (e.g. ``malformed``)."""
        self._counts[reason] += 1

    def issue_challenge(
        self, chip_id: ChipId, nonce: bytes, issued_at: datetime, sent_ns: int
    ) -> Challenge:
        """Open a challenge for ``chip_id``.

        Args:
            nonce: 32 fresh random bytes (the caller's CSPRNG).
            issued_at: UTC wall time now.
            sent_ns: monotonic clock reading taken just before the challenge is sent.

        Raises:
            InvalidInput: the nonce was used before (the caller's randomness is broken).
            VerificationError: with a chip key directory, the chip is not in it
                (``unknown_chip``): no challenge is spent on it.
        """
        if self._chip_keys is not None and chip_id not in self._chip_keys:
            raise self._refusal("unknown_chip", f"chip {chip_id} has no registered key")
        if nonce in self._pending or nonce in self._used:
            raise InvalidInput("nonce reused: the landmark's random source is broken")
        challenge = Challenge(self.landmark_id, nonce, issued_at)
        self._pending[nonce] = _Pending(chip_id, challenge, sent_ns)
        while len(self._pending) > self.config.max_outstanding:
            old, _ = self._pending.popitem(last=False)
            self._remember(old, "expired")
            self.count("dropped")
        self.count("issued")
        return challenge

    def _remember(self, nonce: bytes, fate: str) -> None:
        self._used[nonce] = fate
        while len(self._used) > self.config.replay_memory:
            self._used.popitem(last=False)

    def _refusal(self, reason: str, message: str) -> VerificationError:
        self.count(reason)
        log.info("landmark %s refused a response: %s", self.landmark_id, reason)
        return VerificationError(message, {"reason": reason})

    def accept_response(
        self, response: ChipResponse, received_ns: int, measured_at: datetime
    ) -> MeasurementRecord:
        """Check a chip's answer and, if good, return the signed measurement.

        The nonce is consumed whatever happens next, so no nonce is measured twice.

        Args:
            received_ns: monotonic clock reading taken as the answer arrived.
            measured_at: UTC wall time now.

        Raises:
            Conflict: replayed nonce (``reason`` ``replayed``).
            VerificationError: ``foreign`` (not ours / not for this chip), ``stale``,
                ``unknown_chip``, ``wrong_key`` or ``bad_signature``.
        """
        pending = self._pending.pop(response.nonce, None)
        if pending is None:
            fate = self._used.get(response.nonce)
            if fate == "answered":
                self.count("replayed")
                raise Conflict("nonce already answered", {"reason": "replayed"})
            if fate == "expired":
                raise self._refusal("stale", "answer came after its challenge expired")
            raise self._refusal("foreign", "nonce was not issued by this landmark")
        self._remember(response.nonce, "answered")
        if response.landmark_id != self.landmark_id or response.chip_id != pending.chip_id:
            raise self._refusal(
                "foreign", "answer names another landmark or chip than the challenge"
            )
        rtt_ns = received_ns - pending.sent_ns
        if rtt_ns > self.config.challenge_ttl_ns or rtt_ns < 0:
            raise self._refusal(
                "stale", f"answer came after {rtt_ns / 1e6:.1f} ms, past the deadline"
            )
        attestation = response.attestation
        if self._chip_keys is not None:
            known = self._chip_keys.get(response.chip_id)
            if known is None:
                raise self._refusal(
                    "unknown_chip", f"chip {response.chip_id} has no registered key"
                )
            if (known.scheme, known.public_key) != (attestation.scheme, attestation.public_key):
                raise self._refusal("wrong_key", "answer is signed by another key than the chip's")
        try:
            message = chip_message(response.nonce, response.landmark_id, response.chip_id)
            verify_attestation(attestation, message)
        except VerificationError as exc:
            raise self._refusal("bad_signature", "chip signature does not verify") from exc
        record = MeasurementRecord(
            chip_id=response.chip_id,
            landmark_id=self.landmark_id,
            nonce=response.nonce,
            rtt_ns=rtt_ns,
            issued_at=pending.challenge.issued_at,
            measured_at=max(measured_at, pending.challenge.issued_at),
            scheme=attestation.scheme,
            device_public_key=attestation.public_key,
            chip_signature=attestation.signature,
        )
        self.count("measured")
        return sign_measurement(record, self._signer)

    def expire_challenges(self, now_ns: int) -> int:
        """Drop challenges older than the deadline; returns how many were dropped."""
        expired = [
            nonce
            for nonce, p in self._pending.items()
            if now_ns - p.sent_ns > self.config.challenge_ttl_ns
        ]
        for nonce in expired:
            del self._pending[nonce]
            self._remember(nonce, "expired")
            self.count("dropped")
        return len(expired)
