"""Where measurement signatures are checked: in this process, or spread over worker processes.

Ed25519 verification is CPU work that holds the interpreter lock, so one server process checks
records on one core at most, however many threads it runs. ``ProcessChecker`` cuts a batch into
one chunk per worker process and checks the chunks in parallel; it answers exactly what
``LocalChecker`` answers (the positions of the records whose signatures fail), so intake gives
the same verdict either way and builds each refusal's error itself.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from chiptrail.errors import VerificationError
from chiptrail.probe.messages import MeasurementRecord, verify_measurement

SignedItem = tuple[MeasurementRecord, bytes]
"""A record and the public key of the landmark that signed it."""


class SignatureChecker(Protocol):
    """Checks the landmark and chip signatures of records."""

    def failing(self, items: Sequence[SignedItem]) -> list[int]:
        """Positions in ``items`` whose landmark or chip signature does not verify."""
        ...


def failing_positions(items: Sequence[SignedItem], offset: int = 0) -> list[int]:
    """``offset`` + the positions of ``items`` whose signatures fail (the workers' task)."""
    bad = []
    for position, (record, landmark_key) in enumerate(items):
        try:
            verify_measurement(record, landmark_key)
        except VerificationError:
            bad.append(offset + position)
    return bad


class LocalChecker:
    """Checks in the calling thread."""

    def failing(self, items: Sequence[SignedItem]) -> list[int]:
        """Positions in ``items`` whose landmark or chip signature does not verify."""
        return failing_positions(items)


MIN_CHUNK = 16
"""Records below which a chunk is not worth a trip to another process."""


class ProcessChecker:
    """Checks in ``processes`` worker processes (``spawn``ed, so they do not inherit the
    server's threads and connections; ``start`` starts them, else the first batch does).
    Batches smaller than two chunks are checked in the calling thread."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start every worker process now (each imports chiptrail once), not on a request."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            warm = [self._pool.submit(failing_positions, []) for _ in range(self.processes)]
            for future in warm:
                future.result()

    def failing(self, items: Sequence[SignedItem]) -> list[int]:
        """Positions in ``items`` whose landmark or chip signature does not verify."""
        if len(items) < 2 * MIN_CHUNK:
            return failing_positions(items)
        self.start()
        assert self._pool is not None  # noqa: S101 - start() made it
        size = max(MIN_CHUNK, -(-len(items) // self.processes))
        futures = [
            self._pool.submit(failing_positions, list(items[start : start + size]), start)
            for start in range(0, len(items), size)
        ]
        return sorted(i for future in futures for i in future.result())

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def checker_for(processes: int) -> LocalChecker | ProcessChecker:
    """``LocalChecker`` for 0 processes, else a ``ProcessChecker``."""
    return ProcessChecker(processes) if processes > 0 else LocalChecker()
