"""Checkpoints of one session: taken on their own thread, and the policy of when one is due.

The tree state (stat cache, gitignore verdicts, the base manifest) lives here with the lock
that guards it; the session engine reports file changes into it and hands over the buffers'
text as it stands when a checkpoint starts.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.metrics import recorder
from shim_lsp.session.buffers import BufferTracker
from shim_lsp.session.policy import Clock, due
from shim_lsp.session.snapshot import BufferSnapshot, Plan, Progress, TreeState
from shim_lsp.settings import Settings
from shim_lsp.store import blobs, retention, statcache
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.db import connect
from shim_lsp.wire import to_camel
from shim_lsp.workspace.paths import Workspace

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0
CHUNKS_QUEUED = 2
"""Chunks of new blobs (``snapshot.CHUNK_BYTES`` each) waiting for the writer at most."""


@dataclass(frozen=True)
class RetentionTurn:
    """Whether this session runs the store's retention now (in a group, the leader does it
    for the store it shares with the others, under its fencing epoch)."""

    run: bool = True
    fence: tuple[str, int] | None = None
    """(workspace id, epoch) when the group's leader orders it: refused if stale."""
    later: bool = False
    """Not known yet (still joining the group): ask again at the next checkpoint."""


@dataclass(frozen=True)
class CheckpointResult:
    id: int
    label: str | None
    reason: str
    files: int
    bytes: int
    buffers: int
    read_files: int
    new_blobs: int
    full: bool
    seconds: float
    created_at: float
    """When it was taken (epoch seconds), as ``shim.listCheckpoints`` says it."""

    def to_json(self) -> dict[str, Any]:
        return {to_camel(k): v for k, v in vars(self).items()}


@dataclass(frozen=True)
class CheckpointProgress:
    """How far a checkpoint has come, for an editor's progress display."""

    run: int
    """Which checkpoint of this session (one progress display each)."""
    looked: int
    """Files stat'ed so far."""
    read: int
    """Files read so far (their stat differed from the stat cache)."""
    expected: int
    """The last checkpoint's file count; 0 when not known (the first checkpoint)."""
    seconds: float
    """Since the checkpoint began."""
    done: bool = False


ProgressListener = Callable[[CheckpointProgress], None]


def _write_checkpoint(conn: sqlite3.Connection, plan: Plan) -> int:
    blobs.put_many(conn, plan.tail_blobs)
    cid = cps.write(conn, plan.checkpoint, plan.reused_blobs)
    workspace = plan.checkpoint.workspace
    statcache.save(conn, workspace, plan.stat_rows)
    # Signatures written by another window since this one last wrote hold for its manifest,
    # not this one's: replace them all.
    ours = (
        plan.folders_seen is not None and statcache.stamp_of(conn, workspace) == plan.folders_seen
    )
    statcache.save_folders(
        conn,
        workspace,
        plan.folder_rows,
        plan.folders._replace(checkpoint_id=cid),
        None if ours else plan.all_folders,
    )
    statcache.save_listings(conn, workspace, plan.listing_rows)
    if not ours:
        statcache.forget_unsigned_listings(conn, workspace)
    return cid


class Checkpointer:
    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        info: SessionInfo,
        writer: JournalWriter,
        buffers: BufferTracker,
        db_path: Path,
    ) -> None:
        self.workspace, self.settings, self.info = workspace, settings, info
        self.writer, self.buffers, self.db_path = writer, buffers, db_path
        self.tree = TreeState(workspace, settings)
        self.lock = threading.Lock()
        """Guards ``tree``: events report changes into it while a checkpoint plans from it."""
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="shim-checkpoint")
        self._running: Future[CheckpointResult] | None = None
        now = time.time()
        self.last: CheckpointResult | None = None
        self.last_at = now
        self.previous_at: float | None = None
        """The workspace's newest checkpoint when this session started (any window's)."""
        self.last_scan_at = now
        self._last_retention = 0.0
        """Retention runs after the first checkpoint of a session, then hourly."""
        self.retention_turn: Callable[[], RetentionTurn] = RetentionTurn
        """Asked before each run; the coordination feature replaces it in a group."""
        self.changed = False
        """Anything changed (typed, saved, on disk) since the last checkpoint started."""
        self._conn: sqlite3.Connection | None = None
        self._stale_conn = False
        self.listener: ProgressListener | None = None
        """Told how every checkpoint goes, from the checkpoint thread (the server shows it
        when one takes long); a failing listener is logged, never fails the checkpoint."""
        self._runs = 0

    def start(self) -> None:
        self._pool.submit(self._load_previous)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _load_previous(self) -> None:
        try:
            if not self.writer.wait_ready():
                return
            conn = connect(self.db_path)
            try:
                newest = cps.list_for(conn, self.workspace.key, 1)
            finally:
                conn.close()
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not read earlier checkpoints: %s", exc)
            return
        if newest:
            self.previous_at = newest[0].created_at

    def apply_settings(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        rules_changed = (
            old.exclude_globs != settings.exclude_globs
            or old.secret_globs != settings.secret_globs
            or old.max_file_size != settings.max_file_size
            or old.respect_gitignore != settings.respect_gitignore
        )
        with self.lock:
            self.tree.settings = settings
            if rules_changed:
                self.tree.rebuild_rules()
                self.tree.needs_scan = True

    def files_changed(self, paths: list[Path]) -> None:
        with self.lock:
            self.tree.report_changed(paths)
        self.changed = True

    def forget(self, *, reconnect: bool = False) -> None:
        """The store was cleared or replaced: the next checkpoint starts from a full scan."""
        self._stale_conn = self._stale_conn or reconnect
        with self.lock:
            self.tree = TreeState(self.workspace, self.settings)
        self.last = None
        self.changed = True

    def _reader(self) -> sqlite3.Connection:
        """The checkpoint thread's own read connection, opened once."""
        if self._stale_conn and self._conn is not None:
            self._conn.close()
            self._conn = None
        self._stale_conn = False
        if self._conn is None:
            if not self.writer.wait_ready():
                raise OSError(self.writer.status().error or "SHIM's store is not available")
            self._conn = connect(self.db_path)
        return self._conn

    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def take(
        self,
        buffers: list[BufferSnapshot],
        lseq: int,
        *,
        label: str | None,
        reason: str,
        watching: bool,
        progress: ProgressListener | None = None,
    ) -> Future[CheckpointResult]:
        """Start a checkpoint of the workspace and of ``buffers`` (their text now).

        File events are trusted only for automatic checkpoints of a client that sends them;
        a checkpoint asked for by hand, or one without watchers, stats the whole tree (the
        stat cache makes that cheap: only files whose size or mtime changed are read).
        """
        with self.lock:
            self.tree.keep_listings = not watching
            if reason == "manual" or not watching:
                self.tree.needs_scan = True
        edits = self.buffers.edits_since_checkpoint
        self.changed = False
        fut = self._pool.submit(self._take, label, reason, buffers, lseq, edits, progress)
        self._running = fut
        return fut

    def due(self, now: float, *, has_dirty: bool) -> str | None:
        """Whether an automatic checkpoint is due now, and why."""
        if now - self.last_scan_at >= self.settings.full_scan_interval:
            with self.lock:
                self.tree.needs_scan = True
        return due(
            Clock(
                now=now,
                last_checkpoint_at=self.last_at,
                last_edit_at=self.buffers.last_edit_at,
                changed_since_checkpoint=self.changed,
                has_dirty=has_dirty,
                last_scan_at=self.last_scan_at,
            ),
            self.settings,
        )

    def _take(
        self,
        label: str | None,
        reason: str,
        buffers: list[BufferSnapshot],
        lseq: int,
        edits: int,
        progress: ProgressListener | None,
    ) -> CheckpointResult:
        started = time.perf_counter()
        if not self.writer.wait_ready(timeout=5.0):
            self.changed = True
            raise OSError(self.writer.status().error or "SHIM's store is not ready")
        self._runs += 1
        listeners = [f for f in (progress, self.listener) if f is not None]
        last = [0, 0, 0]

        def tell(looked: int, read: int, expected: int, done: bool = False) -> None:
            last[:] = looked, read, expected
            seen = CheckpointProgress(
                self._runs, looked, read, expected, time.perf_counter() - started, done
            )
            for listener in listeners:
                try:
                    listener(seen)
                except Exception:
                    log.exception("a checkpoint progress listener failed")

        result: CheckpointResult | None = None
        try:
            try:
                result = self._take_once(label, reason, buffers, lseq, edits, tell, started)
            except cps.MissingBase as exc:
                # Another window's retention removed the base this session built on: start
                # again from the store as it is now (a fresh stat cache and base), once.
                log.info("%s; taking the checkpoint again from the store's newest", exc)
                with self.lock:
                    self.tree = TreeState(self.workspace, self.settings)
                result = self._take_once(label, reason, buffers, lseq, edits, tell, started)
            return result
        finally:
            recorder.checkpoint(
                reason,
                time.perf_counter() - started,
                None if result is None else result.bytes,
                None if result is None else result.created_at,
            )
            if listeners:
                tell(last[0], last[1], last[2], done=True)

    def _take_once(
        self,
        label: str | None,
        reason: str,
        buffers: list[BufferSnapshot],
        lseq: int,
        edits: int,
        progress: Progress,
        started: float,
    ) -> CheckpointResult:
        with self.lock:
            changed = self.tree.take_changed()
            scan = self.tree.needs_scan
        try:
            conn = self._reader()
            if not self.tree.loaded:
                self.tree.load(conn)
            stored: deque[Future[None]] = deque()

            def sink(chunk: list[blobs.Prepared]) -> None:
                # A writer that falls behind (two busy cores) would otherwise hold every
                # chunk read so far: reading waits for it instead, memory stays flat.
                stored.append(self.writer.submit(partial(blobs.put_many, items=chunk)))
                while len(stored) > CHUNKS_QUEUED:
                    stored.popleft().result()

            plan = self.tree.plan(
                session_id=self.info.id,
                label=label,
                reason=reason,
                journal_lseq=lseq,
                buffers=buffers,
                changed=changed,
                conn=conn,
                known_blobs=lambda ds: blobs.known(conn, ds),
                sink=sink,
                progress=progress,
            )
            for fut in stored:
                fut.result()
            cid = self.writer.submit(partial(_write_checkpoint, plan=plan)).result()
        except BaseException:
            with self.lock:
                self.tree.report_changed(changed)
                self.tree.needs_scan = self.tree.needs_scan or scan
            self.changed = True
            raise
        with self.lock:
            self.tree.committed(plan, cid)
        self.buffers.checkpointed(edits, {b.uri: b.version for b in buffers})
        now = time.time()
        self.last_at = now
        if plan.scanned:
            self.last_scan_at = now
        result = CheckpointResult(
            id=cid,
            label=label,
            reason=reason,
            files=plan.checkpoint.files,
            bytes=plan.checkpoint.bytes,
            buffers=len(plan.checkpoint.buffers),
            read_files=plan.read_files,
            new_blobs=plan.new_blobs,
            full=plan.checkpoint.base_id is None,
            seconds=time.perf_counter() - started,
            created_at=now,
        )
        self.last = result
        if now - self._last_retention >= RETENTION_EVERY_S:
            turn = self.retention_turn()
            if not turn.later:
                self._last_retention = now
                if turn.run:
                    self.retain(turn.fence)
        return result

    def retain(
        self, fence: tuple[str, int] | None
    ) -> Future[retention.RetentionReport | retention.Stale]:
        """Run retention on the writer thread (now, and not again for an hour)."""
        self._last_retention = time.time()
        return self.writer.submit(
            partial(retention.apply_fenced, settings=self.settings, fence=fence)
        )
