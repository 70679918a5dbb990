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
``FOR UPDATE``, SQLite's write lock) makes their batches take turns. The append is planned by
``group.plan_append``, the same code ``submit_envelopes`` runs; its reads and writes go through
``group_pg`` on PostgreSQL (two round trips a group) and ``group_sql`` elsewhere. The thread
keeps one connection and the tree's frontier between groups (``GroupSession``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from chiptrail.errors import ChiptrailError, Conflict, InvalidInput, Unavailable
from chiptrail.ledger.keys import KeyRecord
from chiptrail.ledger.submission import parse_envelope
from chiptrail.service.ledger import group_pg, group_sql, rows
from chiptrail.service.ledger.events import MAX_ENVELOPES, _verify_envelopes
from chiptrail.service.ledger.group import (
    Checked,
    EventReceipt,
    FrontierCache,
    GroupReads,
    GroupWrites,
    SubmissionResult,
    plan_append,
    refuse_stale,
)
from chiptrail.store.database import Database

log = logging.getLogger(__name__)

KEY_CACHE_SIZE = 100_000
"""Key records a sequencer keeps between requests (cleared when full)."""

MAX_GROUP_ENVELOPES = 2_000
"""A batch takes queued requests until it holds this many envelopes (one request may exceed it)."""


@dataclass(frozen=True, slots=True)
class PreparedSubmission:
    """One request's envelopes, parsed and verified, with the public key each was checked with."""

    checked: tuple[Checked, ...]
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


@dataclass
class GroupSession:
    """What a sequencer keeps between groups: its own database connection (no pool checkout
    and liveness ping per group; dropped after a failure and opened again on the next group)
    and the frontier of the tree it last committed."""

    db: Database
    frontier: FrontierCache = field(default_factory=FrontierCache)
    _conn: Connection | None = None

    @contextmanager
    def unit(self) -> Iterator[Connection]:
        """One transaction on the held connection (errors mapped as ``Database.unit`` does)."""
        if self._conn is None:
            self._conn = self.db.engine.connect()
        try:
            with self.db.unit(self._conn) as conn:
                yield conn
        except (Unavailable, IntegrityError, ChiptrailError) as exc:
            if isinstance(exc, Unavailable) or self._conn.invalidated:
                self.close()  # the connection may be broken: the next group opens a new one
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give the held connection back."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def read_group(conn: Connection, checked: Sequence[Checked], frontier: FrontierCache) -> GroupReads:
    """Lock the log head and read what appending ``checked`` needs (pipelined on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return group_pg.read_state(conn, checked, frontier)
    return group_sql.read_state(conn, rows.lock_log_head(conn), checked, frontier)


def write_group(conn: Connection, writes: GroupWrites) -> None:
    """Store a planned append's rows; PostgreSQL also commits in the same round trip (elsewhere
    the unit's end commits)."""
    if conn.dialect.name == "postgresql":
        group_pg.write_rows_and_commit(conn, writes)
    else:
        group_sql.write_rows(conn, writes)


def append_group(
    db: Database,
    group: Sequence[PreparedSubmission],
    *,
    now: datetime,
    session: GroupSession | None = None,
) -> list[Outcome]:
    """Append every request of ``group`` that still passes, in one transaction; one outcome each.

    A request refused under the lock (key revoked since, replayed envelope or nonce, a custody
    claim the chain refuses) gets its error; the others are appended without it. When a failure
    cannot be traced to one request, each is appended alone (the old per-request path).
    """
    own = session is None
    session = session or GroupSession(db)
    try:
        return _append_group(session, group, now)
    finally:
        if own:
            session.close()


def _append_group(
    session: GroupSession, group: Sequence[PreparedSubmission], now: datetime
) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    live = list(range(len(group)))
    while live:
        owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
        try:
            with session.unit() as conn:
                flat = [c for i in live for c in group[i].checked]
                reads = read_group(conn, flat, session.frontier)
                refused = refuse_stale(reads, [(group[i].checked, group[i].keys) for i in live])
                outcomes.update({live[j]: exc for j, exc in refused.items()})
                live = [i for j, i in enumerate(live) if j not in refused]
                if not live:
                    break
                owners = [(i, pos) for i in live for pos in range(len(group[i].checked))]
                flat = [c for i in live for c in group[i].checked]
                result, writes = plan_append(flat, reads, now)
                write_group(conn, writes)
        except ChiptrailError as exc:
            culprit = _owner(exc, owners)
            if culprit is None and len(live) > 1:
                return _one_by_one(session, group, live, outcomes, now)
            if culprit is None:
                culprit = live[0]
            outcomes[culprit] = exc
            live = [i for i in live if i != culprit]
            continue
        except IntegrityError as exc:  # a concurrent writer beat the checks
            if len(live) > 1:
                return _one_by_one(session, group, live, outcomes, now)
            conflict = Conflict("conflicting concurrent submission; retry")
            conflict.__cause__ = exc
            outcomes[live[0]] = conflict
            break
        session.frontier.advance(reads, writes)
        outcomes.update(_split(result, group, live))
        break
    return [outcomes[i] for i in range(len(group))]


def _one_by_one(
    session: GroupSession,
    group: Sequence[PreparedSubmission],
    live: Sequence[int],
    outcomes: dict[int, Outcome],
    now: datetime,
) -> list[Outcome]:
    for i in live:
        outcomes[i] = _append_group(session, [group[i]], now)[0]
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
        session = GroupSession(self._db)
        try:
            self._serve(session)
        finally:
            session.close()

    def _serve(self, session: GroupSession) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._take(first)
            try:
                outcomes = append_group(
                    self._db, [j.prepared for j in jobs], now=self._clock(), session=session
                )
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
