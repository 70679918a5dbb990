"""Group commit for the custody log: many requests' envelopes appended as one batch.

A request verifies its envelopes first (``prepare_submission``: parsing, EPCIS validation,
Ed25519, with no lock held) and hands them to the log's ``Sequencer``. The sequencer's one
thread takes whatever has queued, appends it in one transaction under the log lock (one tree
update, one head move, one multi-row INSERT per table) and answers each request only after that
transaction committed, so an acknowledgement still means durable and a crash loses only
unacknowledged work. Under the lock it re-checks what may have changed since the request verified
(the key still active and the same, the envelope and nonce not yet used, also across the batch);
a request refused there, or by the custody chain, fails alone and the rest of the batch is
appended without it. Several processes each run a sequencer: the log head's row lock (PostgreSQL
``FOR UPDATE``, SQLite's write lock) makes their batches take turns. The append itself is
``events``' (``_append_checked``), the same code ``submit_envelopes`` runs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from chiptrail.errors import ChiptrailError, Conflict, InvalidInput, Unavailable, VerificationError
from chiptrail.ledger.keys import KeyRecord, check_signing_key
from chiptrail.ledger.submission import parse_envelope
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.events import (
    MAX_ENVELOPES,
    EventReceipt,
    SubmissionResult,
    _append_checked,
    _Checked,
    _verify_envelopes,
)
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import submissions_table

log = logging.getLogger(__name__)

KEY_CACHE_SIZE = 100_000
"""Key records a sequencer keeps between requests (cleared when full)."""

MAX_GROUP_ENVELOPES = 2_000
"""A batch takes queued requests until it holds this many envelopes (one request may exceed it)."""


@dataclass(frozen=True, slots=True)
class PreparedSubmission:
    """One request's envelopes, parsed and verified, with the public key each was checked with."""

    checked: tuple[_Checked, ...]
    keys: Mapping[str, KeyRecord]

    @property
    def events(self) -> int:
        """Number of events the request carries (its receipts)."""
        return sum(len(c.events) for c in self.checked)


def prepare_submission(
    db: Database,
    envelopes: Sequence[bytes | dict[str, object]],
    *,
    now: datetime,
    known_keys: Mapping[str, KeyRecord] | None = None,
) -> PreparedSubmission:
    """Parse and verify a request's envelopes outside the log lock.

    Args:
        known_keys: key records already read (the sequencer's cache); only the others are read
            from the database. A stale record is harmless: the key's status and bytes are
            checked again under the lock before anything is appended.

    Raises:
        InvalidInput: no envelopes, too many, malformed, schema-invalid EPCIS.
        VerificationError: unsigned, badly signed, unknown/revoked key, stale, nonce repeated.
    """
    if not envelopes:
        raise InvalidInput("no envelopes to submit", {"field": "envelopes"})
    if len(envelopes) > MAX_ENVELOPES:
        raise InvalidInput(f"at most {MAX_ENVELOPES} envelopes per batch")
    parsed = [parse_envelope(e) for e in envelopes]
    keys = dict(known_keys or {})
    missing = sorted({e.key_id for e in parsed} - set(keys))
    if missing:
        with db.unit() as conn:
            keys.update(rows.get_keys(conn, missing))
    checked = _verify_envelopes(parsed, keys, now)
    used = {c.envelope.key_id: keys[c.envelope.key_id] for c in checked}
    return PreparedSubmission(tuple(checked), used)


Outcome = SubmissionResult | ChiptrailError


def append_group(
    db: Database, group: Sequence[PreparedSubmission], *, now: datetime
) -> list[Outcome]:
    """Append every request of ``group`` that still passes, in one transaction; one outcome each.

    A request refused under the lock (key revoked since, replayed envelope or nonce, a custody
    claim the chain refuses) gets its error; the others are appended without it. When a failure
    cannot be traced to one request, each is appended alone (the old per-request path).
    """
    outcomes: dict[int, Outcome] = {}
    live = list(range(len(group)))
    while live:
        owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
        try:
            with db.unit() as conn:
                size = rows.lock_log_head(conn)
                refused = _refuse_under_lock(conn, group, live)
                outcomes.update(refused)
                live = [i for i in live if i not in refused]
                if not live:
                    break
                owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
                flat = [c for i in live for c in group[i].checked]
                result = _append_checked(conn, size, flat, now)
        except ChiptrailError as exc:
            culprit = _owner(exc, owners)
            if culprit is None and len(live) > 1:
                return _one_by_one(db, group, live, outcomes, now)
            if culprit is None:
                culprit = live[0]
            outcomes[culprit] = exc
            live = [i for i in live if i != culprit]
            continue
        except IntegrityError as exc:  # a concurrent writer beat the checks
            if len(live) > 1:
                return _one_by_one(db, group, live, outcomes, now)
            conflict = Conflict("conflicting concurrent submission; retry")
            conflict.__cause__ = exc
            outcomes[live[0]] = conflict
            break
        outcomes.update(_split(result, group, live))
        break
    return [outcomes[i] for i in range(len(group))]


def _one_by_one(
    db: Database,
    group: Sequence[PreparedSubmission],
    live: Sequence[int],
    outcomes: dict[int, Outcome],
    now: datetime,
) -> list[Outcome]:
    for i in live:
        outcomes[i] = append_group(db, [group[i]], now=now)[0]
    return [outcomes[i] for i in range(len(group))]


def _owner(exc: ChiptrailError, owners: Sequence[tuple[int, int]]) -> int | None:
    """The request whose envelope the error names (``details["envelope"]``, a flat position),
    with the position rewritten to the request's own numbering."""
    position = exc.details.get("envelope")
    if not isinstance(position, int) or not 0 <= position < len(owners):
        return None
    request, own = owners[position]
    exc.details["envelope"] = own
    return request


def _refuse_under_lock(
    conn: Connection, group: Sequence[PreparedSubmission], live: Sequence[int]
) -> dict[int, ChiptrailError]:
    """Refusals that depend on the log's state: keys revoked or replaced since the request
    verified, envelopes or nonces used before or earlier in this batch (one query per kind)."""
    checked = [c for i in live for c in group[i].checked]
    keys = rows.get_keys(conn, [c.envelope.key_id for c in checked])
    used_digests, used_nonces = _used(conn, checked)
    refused: dict[int, ChiptrailError] = {}
    for i in live:
        digests, nonces = set(), set()
        try:
            for pos, c in enumerate(group[i].checked):
                env = c.envelope
                try:
                    record = check_signing_key(keys.get(env.key_id), env.party_id, env.key_id)
                    if record.public_key != group[i].keys[env.key_id].public_key:
                        raise VerificationError("the key was replaced", {"field": "key_id"})
                    if c.digest in used_digests:
                        raise VerificationError(
                            "replayed submission: this envelope was accepted before"
                        )
                    if (env.party_id, env.nonce) in used_nonces:
                        raise VerificationError(
                            "replayed nonce: this party used it before", {"field": "nonce"}
                        )
                except VerificationError as exc:
                    exc.details["envelope"] = pos
                    raise
                digests.add(c.digest)
                nonces.add((env.party_id, env.nonce))
        except VerificationError as exc:
            refused[i] = exc
            continue
        used_digests |= digests
        used_nonces |= nonces
    return refused


def _used(conn: Connection, checked: Sequence[_Checked]) -> tuple[set[str], set[tuple[str, str]]]:
    """Envelope digests and (party, nonce) pairs of ``checked`` already in the submissions table."""
    t = submissions_table
    digests = sorted({c.digest for c in checked})
    found: set[str] = set()
    for start in range(0, len(digests), 400):
        chunk = digests[start : start + 400]
        found.update(
            str(d)
            for d in conn.execute(
                select(t.c.envelope_sha256).where(t.c.envelope_sha256.in_(chunk))
            ).scalars()
        )
    # one query for every party's nonces: both IN lists use the (party_id, nonce) unique index;
    # pairs of one party's id with another party's nonce are dropped below
    wanted = {(c.envelope.party_id, c.envelope.nonce) for c in checked}
    parties = sorted({p for p, _ in wanted})
    all_nonces = sorted({n for _, n in wanted})
    nonces: set[tuple[str, str]] = set()
    for start in range(0, len(all_nonces), 400):
        chunk = all_nonces[start : start + 400]
        stmt = select(t.c.party_id, t.c.nonce).where(
            t.c.party_id.in_(parties), t.c.nonce.in_(chunk)
        )
        nonces.update((str(p), str(n)) for p, n in conn.execute(stmt) if (p, n) in wanted)
    return found, nonces


def _split(
    result: SubmissionResult, group: Sequence[PreparedSubmission], live: Sequence[int]
) -> dict[int, Outcome]:
    """The batch's receipts cut back into each request's (they are in request order), and each
    anomaly given to the request whose new leaf it names."""
    out: dict[int, Outcome] = {}
    start = 0
    by_leaf: dict[int, int] = {}
    cuts: dict[int, tuple[EventReceipt, ...]] = {}
    for i in live:
        n = group[i].events
        cuts[i] = result.receipts[start : start + n]
        start += n
        by_leaf.update({r.leaf_index: i for r in cuts[i] if not r.duplicate})
    for i in live:
        anomalies = tuple(a for a in result.anomalies if by_leaf.get(a.leaf_index) == i)
        out[i] = SubmissionResult(cuts[i], result.size, anomalies)
    return out


# --- the sequencer thread ----------------------------------------------------------------------


@dataclass
class _Job:
    prepared: PreparedSubmission
    future: Future[SubmissionResult] = field(default_factory=Future)


class Sequencer:
    """The one appender of a log in this process: a thread that group-commits queued requests.

    ``submit`` returns a future that completes once the request's batch committed (or with the
    request's own refusal). The thread starts on first use and stops on ``close``.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        max_group_envelopes: int = MAX_GROUP_ENVELOPES,
    ) -> None:
        self._db = db
        self._clock = clock
        self._max = max_group_envelopes
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._keys: dict[str, KeyRecord] = {}
        self.batches = 0
        self.requests = 0

    def prepare(
        self, envelopes: Sequence[bytes | dict[str, object]], *, now: datetime
    ) -> PreparedSubmission:
        """``prepare_submission`` with this process's cache of key records (keys are checked
        again under the lock, so a record revoked since is refused there)."""
        ids = set()
        for e in envelopes:
            key_id = e.get("key_id") if isinstance(e, dict) else None
            if isinstance(key_id, str):
                ids.add(key_id)
        with self._lock:
            known = {k: self._keys[k] for k in ids if k in self._keys}
        prepared = prepare_submission(self._db, envelopes, now=now, known_keys=known)
        with self._lock:
            if len(self._keys) > KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys.update(prepared.keys)
        return prepared

    def submit(self, prepared: PreparedSubmission) -> Future[SubmissionResult]:
        """Queue a verified request; the future answers once its batch is durable.

        Raises:
            Unavailable: the sequencer was closed.
        """
        job = _Job(prepared)
        with self._lock:
            if self._closed:
                raise Unavailable("the log's sequencer is shut down")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="chiptrail-log-sequencer", daemon=True
                )
                self._thread.start()
            self._queue.put(job)
        return job.future

    def _forget(self, keys: Mapping[str, KeyRecord]) -> None:
        with self._lock:
            for key_id in keys:
                self._keys.pop(key_id, None)

    def close(self, timeout_s: float = 30.0) -> None:
        """Append what has queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout_s)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, n, stop = [first], len(first.prepared.checked), False
        while n < self._max:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            jobs.append(job)
            n += len(job.prepared.checked)
        return jobs, stop

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._take(first)
            try:
                outcomes = append_group(self._db, [j.prepared for j in jobs], now=self._clock())
            except Exception as exc:  # every waiting request must get an answer
                log.exception("group append failed")
                for job in jobs:
                    job.future.set_exception(exc)
            else:
                self.batches += 1
                self.requests += len(jobs)
                for job, outcome in zip(jobs, outcomes, strict=True):
                    if isinstance(outcome, ChiptrailError):
                        self._forget(job.prepared.keys)  # maybe revoked: read them again
                        job.future.set_exception(outcome)
                    else:
                        job.future.set_result(outcome)
            if stop:
                return
