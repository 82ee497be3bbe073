"""The one thread per process that writes to the store.

Handlers only append records; this thread commits them in small groups, a few milliseconds
after the first uncommitted record, without waiting for a sync (WAL, ``synchronous=NORMAL``): a
commit is then in the kernel's hands, so a killed process loses only those milliseconds. A
power cut needs a sync: one synced commit follows within ``flush_interval`` of the first
unsynced one, so a power cut loses at most that window. Other writes (checkpoints, session
ends) are jobs run by the same thread between groups, each in its own synced transaction. If
the store cannot be written (full disk, read-only folder), records stay in memory and are
retried: editing never waits and nothing is dropped while it lasts.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from shim_lsp.journal.records import Record
from shim_lsp.metrics import recorder
from shim_lsp.store.db import DB_NAME, OpenReport, StoreError, open_store, storable, write_tx
from shim_lsp.workspace.paths import stored_paths

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SECONDS = 2.0
HANDOFF_SECONDS = 0.01
"""How long the first record of a group waits for others before it is handed to SQLite."""


def _same(text: str | None) -> str | None:
    return text


@dataclass(frozen=True)
class SessionInfo:
    id: str
    workspace: str
    folders: list[str]
    host: str
    pid: int
    pid_started: float | None
    client_pid: int | None
    position_encoding: str
    started_at: float
    kind: str = "window"
    """Who the session serves: an editor ``window``, or an AI ``chat`` over MCP."""


@dataclass
class WriterStatus:
    ready: bool = False
    error: str | None = None
    pending: int = 0
    oldest_pending_age: float = 0.0
    committed: int = 0
    last_commit_at: float | None = None
    last_sync_at: float | None = None
    """The last synced commit: everything committed before it survives a power cut."""
    store: OpenReport | None = None


@dataclass
class _Pending:
    record: Record
    enqueued: float


@dataclass
class _State:
    records: list[_Pending] = field(default_factory=list)
    jobs: list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]] = field(
        default_factory=list
    )
    flush_waiters: list[threading.Event] = field(default_factory=list)
    closing: str | None = None
    settled: bool = False
    """The session ends with nothing unsaved: nothing to offer back, so it is resolved."""


class JournalWriter:
    def __init__(
        self,
        state_dir: Path,
        session: SessionInfo,
        *,
        flush_interval: float = 0.2,
        heartbeat_interval: float = 5.0,
        on_problem: Callable[[str], None] | None = None,
        on_store_replaced: Callable[[], None] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self._on_store_replaced = on_store_replaced or (lambda: None)
        self._identity: tuple[int, int] | None = None
        """(device, inode) of the store file this writer opened."""
        self.session = session
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self._on_problem = on_problem or (lambda msg: log.error("%s", msg))
        self._cond = threading.Condition()
        self._state = _State()
        self._status = WriterStatus()
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="shim-journal", daemon=True)
        self._last_heartbeat = 0.0
        self._reported: str | None = None
        self._stopped = threading.Event()
        self._attempted = threading.Event()
        self._retry_at = 0.0
        self._unsynced_since: float | None = None
        """When the oldest commit not yet synced was made (monotonic)."""

    # --- called from any thread -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait for the first attempt to open the store; True when it is usable."""
        self._attempted.wait(timeout)
        return self._status.ready

    def append(self, record: Record) -> None:
        with self._cond:
            records = self._state.records
            records.append(_Pending(record, time.monotonic()))
            if len(records) == 1:
                # Only the first record of a group sets the commit deadline; waking the
                # writer for every keystroke would only make it contend for the GIL.
                self._cond.notify()

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Run ``job(conn)`` on the writer thread inside one write transaction."""
        fut: Future[T] = Future()
        with self._cond:
            if self._stopped.is_set():
                fut.set_exception(StoreError("SHIM's store writer has stopped"))
                return fut
            self._state.jobs.append((job, fut))
            self._cond.notify()
        return fut

    def flush(self, timeout: float = 10.0) -> bool:
        """Commit everything appended so far; True when it is on disk."""
        done = threading.Event()
        with self._cond:
            if not self._state.records:
                return self._status.ready
            self._state.flush_waiters.append(done)
            self._cond.notify()
        return done.wait(timeout)

    def close(self, end_reason: str, timeout: float = 10.0, *, settled: bool = False) -> bool:
        """Flush, record how the session ended, and stop. True when all of it was written.

        ``settled``: nothing was left unsaved, so recovery never needs to look at it again.
        """
        with self._cond:
            if self._state.closing is None:
                self._state.closing = end_reason
                self._state.settled = settled
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive() and not self._state.records

    def status(self) -> WriterStatus:
        with self._cond:
            records = self._state.records
            self._status.pending = len(records)
            self._status.oldest_pending_age = (
                time.monotonic() - records[0].enqueued if records else 0.0
            )
            return WriterStatus(**vars(self._status))

    # --- the writer thread --------------------------------------------------------------

    def _problem(self, message: str) -> None:
        self._retry_at = time.monotonic() + RETRY_SECONDS
        recorder.store_error("journal")
        self._status.error = message
        if message != self._reported:
            self._reported = message
            self._on_problem(message)

    def _open(self) -> bool:
        try:
            conn, report = open_store(self.state_dir)
            with write_tx(conn):
                s = self.session
                conn.execute(
                    "INSERT OR REPLACE INTO sessions(id, workspace, folders, host, pid,"
                    " pid_started, client_pid, position_encoding, started_at, heartbeat_at, kind)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        s.id,
                        s.workspace,
                        stored_paths(s.folders),
                        s.host,
                        s.pid,
                        s.pid_started,
                        s.client_pid,
                        s.position_encoding,
                        s.started_at,
                        time.time(),
                        s.kind,
                    ),
                )
        except (StoreError, sqlite3.Error, OSError) as exc:
            self._problem(f"SHIM cannot write its store; unsaved work is kept in memory: {exc}")
            self._attempted.set()
            return False
        conn.execute("PRAGMA synchronous=NORMAL")
        self._identity = self._store_identity()
        self._conn = conn
        self._status.ready = True
        self._status.store = report
        was_failing = self._status.error is not None
        self._status.error = None
        self._reported = None
        self._attempted.set()
        if was_failing:
            # A missing or read-only state folder that became usable: say so, as a full
            # disk that has room again does.
            self._on_problem("SHIM can write its store again; nothing was lost")
        if report.tightened:
            self._on_problem(
                f"SHIM's store in {self.state_dir} could be read by other users; it holds "
                "unsaved work, so it is now private to you (folder 0700, files 0600)"
            )
        if report.quarantined is not None:
            self._on_problem(
                f"SHIM's store was damaged ({report.reason}); it was moved aside to "
                f"{report.quarantined} and a fresh store was started"
            )
        return True

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._insert(batch, safe=False)
        except UnicodeEncodeError:
            # A lone surrogate from the client: rare, so checked only once SQLite refused it.
            self._insert(batch, safe=True)

    def _insert(self, batch: list[_Pending], *, safe: bool) -> None:
        assert self._conn is not None
        text = storable if safe else _same
        with write_tx(self._conn) as conn:
            conn.executemany(
                "INSERT INTO journal(session_id, lseq, uri, kind, version, ts, data, disk_hash)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        self.session.id,
                        p.record.lseq,
                        text(p.record.uri),
                        p.record.kind,
                        p.record.version,
                        p.record.ts,
                        text(p.record.data),
                        p.record.disk_hash,
                    )
                    for p in batch
                ],
            )
            now = time.time()
            if now - self._last_heartbeat >= self.heartbeat_interval:
                self._heartbeat(conn, now)

    def _heartbeat(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute("UPDATE sessions SET heartbeat_at=? WHERE id=?", (now, self.session.id))
        self._last_heartbeat = now

    def _end(self, reason: str) -> None:
        assert self._conn is not None
        now = time.time()
        settled = self._state.settled
        with self._synced_tx() as conn:
            conn.execute(
                "UPDATE sessions SET ended_at=?, end_reason=?, heartbeat_at=?,"
                " resolved_at=?, resolution=? WHERE id=?",
                (
                    now,
                    reason,
                    now,
                    now if settled else None,
                    "nothing-unsaved" if settled else None,
                    self.session.id,
                ),
            )

    def _next_wake(self) -> float:
        """Seconds until something is due: a group commit, a sync, a heartbeat or a retry."""
        now = time.monotonic()
        if self._status.error or not self._status.ready:
            return max(0.0, self._retry_at - now)
        waits = [self.heartbeat_interval - (time.time() - self._last_heartbeat)]
        if self._state.records:
            waits.append(self._state.records[0].enqueued + HANDOFF_SECONDS - now)
        if self._unsynced_since is not None:
            waits.append(self._unsynced_since + self.flush_interval - now)
        return max(0.0, min(waits))

    def _run(self) -> None:
        try:
            while True:
                try:
                    self._loop()
                    return
                except Exception:
                    # A bug, not the disk: say so, and keep journaling (records are kept).
                    log.exception("SHIM's journal writer met an unexpected error")
                    self._problem(
                        "SHIM's journal writer met an unexpected error (see the log); it carries on"
                    )
                    if self._state.closing is not None:
                        return
                    time.sleep(RETRY_SECONDS)
        finally:
            self._stopped.set()
            self._attempted.set()
            with self._cond:
                jobs, self._state.jobs = self._state.jobs, []
                for waiter in self._state.flush_waiters:
                    waiter.set()
            for _job, fut in jobs:
                fut.set_exception(StoreError("SHIM's store writer has stopped"))
            if self._conn is not None:
                self._conn.close()

    def _loop(self) -> None:
        if self._conn is None:
            self._open()
        while True:
            with self._cond:
                while True:
                    s = self._state
                    healthy = self._status.ready and self._status.error is None
                    if s.closing is not None or s.jobs or (s.flush_waiters and healthy):
                        break
                    wake = self._next_wake()
                    if wake <= 0:
                        break
                    self._cond.wait(wake)
                batch = list(self._state.records)
                jobs, self._state.jobs = self._state.jobs, []
                waiters, self._state.flush_waiters = self._state.flush_waiters, []
                closing = self._state.closing

            if self._conn is None and not self._open():
                self._fail_jobs(jobs)
                with self._cond:
                    self._state.flush_waiters.extend(waiters)
                if closing is not None:
                    return
                continue

            committed = self._write_batch(batch)
            if committed:
                for waiter in waiters:
                    waiter.set()
            else:
                with self._cond:
                    self._state.flush_waiters.extend(waiters)
            due = self._unsynced_since is not None and (
                time.monotonic() - self._unsynced_since >= self.flush_interval
            )
            beat = not batch and time.time() - self._last_heartbeat >= self.heartbeat_interval
            if beat and self._store_identity() != self._identity:
                self._reopen_replaced_store()
                continue
            if due or beat:
                try:
                    self._run_job(lambda conn: self._heartbeat(conn, time.time()), synced=due)
                except sqlite3.Error as exc:
                    self._problem(f"SHIM cannot write its store: {exc}")

            for job, fut in jobs:
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(self._run_job(job, synced=True))
                    except BaseException as exc:
                        fut.set_exception(exc)

            if closing is not None:
                with self._cond:
                    left = len(self._state.records)
                if left and committed:
                    continue
                try:
                    self._end(closing)
                except (sqlite3.Error, OSError) as exc:
                    self._problem(f"SHIM could not record the end of its session: {exc}")
                return

    def _store_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.state_dir / DB_NAME)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _reopen_replaced_store(self) -> None:
        """The store file was deleted or replaced under this writer (a user's ``rm``, a
        cleaning tool): what it writes would go nowhere. Say so, start a new store, and have
        the session journal its open buffers again from their full text."""
        path = self.state_dir / DB_NAME
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._status.ready = False
        self._on_problem(
            f"SHIM's store {path} was deleted or replaced while in use; a new one is started "
            "and your open files are journaled again from their full text"
        )
        if self._open():
            self._on_store_replaced()

    def _write_batch(self, batch: list[_Pending]) -> bool:
        if not batch:
            return True
        try:
            self._commit(batch)
        except sqlite3.Error as exc:
            self._problem(f"SHIM cannot write its journal; edits are kept in memory: {exc}")
            return False
        except Exception:
            log.exception("a journal group could not be written; writing its records one by one")
            return self._write_one_by_one(batch)
        self._done(len(batch))
        return True

    def _write_one_by_one(self, batch: list[_Pending]) -> bool:
        """Commit what can be stored; a record that cannot be (a bug, or input nothing could
        store) is left out and said, so that it never holds back the records after it."""
        for n, item in enumerate(batch):
            try:
                self._commit([item])
            except sqlite3.Error as exc:
                self._done(n)
                self._problem(f"SHIM cannot write its journal; edits are kept in memory: {exc}")
                return False
            except Exception as exc:
                log.exception("journal record %s of %s left out", item.record.lseq, item.record.uri)
                self._on_problem(
                    f"SHIM could not journal a {item.record.kind} of {item.record.uri} ({exc}); "
                    "it was left out, and later edits of it may not be recoverable"
                )
        self._done(len(batch))
        return True

    def _done(self, count: int) -> None:
        """The first ``count`` pending records are settled (committed or left out)."""
        if not count:
            return
        with self._cond:
            del self._state.records[:count]
        self._status.committed += count
        self._status.last_commit_at = time.time()
        if self._unsynced_since is None:
            self._unsynced_since = time.monotonic()
        if self._status.error is not None:
            self._status.error = None
            self._reported = None
            self._on_problem("SHIM can write its store again; nothing was lost")

    def _run_job(self, job: Callable[[sqlite3.Connection], T], *, synced: bool = False) -> T:
        if not synced:
            assert self._conn is not None
            with write_tx(self._conn) as conn:
                return job(conn)
        with self._synced_tx() as conn:
            return job(conn)

    @contextmanager
    def _synced_tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction whose commit is synced, and with it every commit before it."""
        assert self._conn is not None
        self._conn.execute("PRAGMA synchronous=FULL")
        try:
            with write_tx(self._conn) as conn:
                yield conn
        finally:
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._unsynced_since = None
        self._status.last_sync_at = time.time()

    @staticmethod
    def _fail_jobs(jobs: list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]]) -> None:
        for _job, fut in jobs:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(StoreError("SHIM's store is not available"))
