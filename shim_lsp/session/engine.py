"""One editing session: the facade that the LSP glue and the demo drive.

Every method called from the event loop returns at once: journaling is an append to the
writer's queue, checkpoints run on their own thread, and status answers from memory.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from shim_lsp.journal.records import Change, Kind, Record, encode_changes
from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.recovery.find import process_start_time, this_host
from shim_lsp.session.buffers import BufferTracker
from shim_lsp.session.policy import Clock, due
from shim_lsp.session.snapshot import BufferSnapshot, Plan, TreeState
from shim_lsp.settings import Settings, resolve_state_dir
from shim_lsp.signals.model import Alarm, Assessment, Measurements, assess
from shim_lsp.store import blobs, retention
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.db import DB_NAME, connect
from shim_lsp.wire import to_camel
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import Workspace, uri_to_path

log = logging.getLogger(__name__)

TextSource = Callable[[str], tuple[str, int | None] | None]
"""Current (text, version) of an open buffer, from the editor's copy."""

RETENTION_EVERY_S = 3600.0
RSS_WINDOW_S = 300.0


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


def _write_checkpoint(conn: sqlite3.Connection, plan: Plan) -> int:
    blobs.put_many(conn, plan.tail_blobs)
    return cps.write(conn, plan.checkpoint, plan.reused_blobs)


class SessionEngine:
    def __init__(
        self,
        settings: Settings,
        folders: list[Path],
        *,
        text_source: TextSource,
        client_pid: int | None = None,
        position_encoding: str = "utf-16",
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.workspace = Workspace.of(folders)
        self.state_dir = resolve_state_dir(settings)
        self.db_path = self.state_dir / DB_NAME
        self._text_source = text_source
        self._notify = notify or (lambda msg: log.warning("%s", msg))
        now = time.time()
        self.info = SessionInfo(
            id=uuid.uuid4().hex,
            workspace=self.workspace.key,
            folders=[str(f) for f in self.workspace.folders],
            host=this_host(),
            pid=os.getpid(),
            pid_started=process_start_time(os.getpid()),
            client_pid=client_pid,
            position_encoding=position_encoding,
            started_at=now,
        )
        self.tree = TreeState(self.workspace, settings)
        self.buffers = BufferTracker.empty()
        self.writer = JournalWriter(
            self.state_dir,
            self.info,
            flush_interval=settings.flush_interval,
            heartbeat_interval=settings.heartbeat_interval,
            on_problem=self._notify,
            on_store_replaced=self._store_replaced,
        )
        self.auto = settings.auto_checkpoint
        self.watching = False
        """True when the client reports file changes; else automatic checkpoints re-scan."""
        self.alarm = Alarm()
        self._risk_due = False
        """High risk was raised while a checkpoint ran: a risk checkpoint follows it."""
        self.last_assessment: Assessment | None = None
        self._lseq = itertools.count(1)
        self._last_lseq = 0
        self._lock = threading.Lock()
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="shim-checkpoint")
        self._running: Future[CheckpointResult] | None = None
        self.last_checkpoint: CheckpointResult | None = None
        self.last_checkpoint_at = now
        self.previous_checkpoint_at: float | None = None
        """The workspace's newest checkpoint when this session started (any window's)."""
        self.last_scan_at = now
        self._last_retention = 0.0
        """Retention runs after the first checkpoint of a session, then hourly."""
        self._changed_since_checkpoint = False
        self._rss: deque[tuple[float, int]] = deque()
        self._process = psutil.Process()
        self.closed: str | None = None
        self._may_store: dict[str, bool] = {}
        self._held: list[tuple[str, Kind, int | None, str | None, float, str | None]] | None = None
        """Document events that arrived before the user's settings: see ``hold``."""
        self._cp_conn: sqlite3.Connection | None = None
        self._stale_cp_conn = False
        self._told_outside: set[str] = set()
        """Per URI, whether it may be journaled: the check resolves links, so it is cached."""
        self._seen_on_disk: dict[str, str | None] = {}
        """Per open URI, the hash of the file when the session last synced with it."""
        self._over_cap: set[str] = set()
        """Open buffers over maxFileSize: not journaled or checkpointed while they are."""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()
        self._checkpoints.submit(self._load_previous_checkpoint)

    def _load_previous_checkpoint(self) -> None:
        try:
            with self.reader() as conn:
                newest = cps.list_for(conn, self.workspace.key, 1)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not read earlier checkpoints: %s", exc)
            return
        if newest:
            self.previous_checkpoint_at = newest[0].created_at

    def apply_settings(self, settings: Settings) -> None:
        """Take new tunables at once; the store location stays until the next start."""
        old, self.settings = self.settings, settings
        self.auto = settings.auto_checkpoint
        self.writer.flush_interval = settings.flush_interval
        self.writer.heartbeat_interval = settings.heartbeat_interval
        rules_changed = (
            old.exclude_globs != settings.exclude_globs
            or old.secret_globs != settings.secret_globs
            or old.max_file_size != settings.max_file_size
            or old.respect_gitignore != settings.respect_gitignore
        )
        with self._lock:
            self.tree.settings = settings
            self._may_store.clear()
            if rules_changed:
                self.tree.rebuild_rules()
                self.tree.needs_scan = True

    def close(self, reason: str, timeout: float = 10.0) -> bool:
        """Flush everything and record how the session ended; idempotent."""
        if self.closed is not None:
            return True
        self.release()  # the settings never came: nothing typed is dropped for that
        self.closed = reason
        self._checkpoints.shutdown(wait=False, cancel_futures=True)
        # An end that still holds unsaved buffers, clean or not (a window closed or reloaded
        # without saving), is offered back at the next start; one without is settled now.
        settled = self.buffers.unsaved().documents == 0
        if not settled:
            # Their full text, last: the next start rebuilds them from it instead of
            # replaying every edit of the session (832 ms for 5000 edits, measured).
            self.rejournal_open_buffers(only_unsaved=True)
        return self.writer.close(reason, timeout, settled=settled)

    def _checkpoint_reader(self) -> sqlite3.Connection:
        """The checkpoint thread's own read connection, opened once."""
        if self._stale_cp_conn and self._cp_conn is not None:
            self._cp_conn.close()
            self._cp_conn = None
        self._stale_cp_conn = False
        if self._cp_conn is None:
            if not self.writer.wait_ready():
                raise OSError(self.writer.status().error or "SHIM's store is not available")
            self._cp_conn = connect(self.db_path)
        return self._cp_conn

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read connection of its own (the writer thread owns the write connection)."""
        if not self.writer.wait_ready():
            raise OSError(self.writer.status().error or "SHIM's store is not available")
        conn = connect(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    def may_read(self, path: Path) -> bool:
        """Only files really inside the workspace, never secrets."""
        rules = self.tree.rules_for(path)
        return rules is not None and not rules.is_secret(path)

    # --- document events ----------------------------------------------------------------

    def hold(self) -> None:
        """Keep document events in memory until ``release``: the user's settings (which
        files are secret) are still on their way from the editor."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """The settings are known: journal what was held, judged by them."""
        held, self._held = self._held or [], None
        for event in held:
            self._record(*event)

    def _record(
        self,
        uri: str,
        kind: Kind,
        version: int | None,
        data: str | None,
        now: float,
        disk_hash: str | None = None,
    ) -> None:
        if self._held is not None:
            self._held.append((uri, kind, version, data, now, disk_hash))
            return
        allowed = self._may_store.get(uri)
        if allowed is None:
            allowed = self._may_store[uri] = self.tree.may_store(uri)
        if not allowed:
            return
        # itertools.count is atomic under the GIL; a checkpoint reads _last_lseq as it stands.
        lseq = self._last_lseq = next(self._lseq)
        self.writer.append(Record(lseq, uri, kind, version, now, data, disk_hash))

    def did_open(self, uri: str, text: str, version: int | None) -> None:
        self._may_store.pop(uri, None)
        self._tell_if_outside(uri)
        now = time.time()
        unsaved, disk_hash = self._differs_from_disk(uri, text)
        self._seen_on_disk[uri] = disk_hash
        self.buffers.opened(uri, version, len(text), now, unsaved=unsaved)
        if self._within_cap(uri, len(text)):
            self._record(uri, "snapshot" if unsaved else "open", version, text, now, disk_hash)

    def _tell_if_outside(self, uri: str) -> None:
        """SHIM never reads or writes outside the workspace folders: a file opened from
        elsewhere is not protected, and the user is told so, once per file."""
        path = uri_to_path(uri)
        if path is None or uri in self._told_outside or self.workspace.contains(path):
            return
        self._told_outside.add(uri)
        where = (
            "this window has no workspace folder"
            if not self.workspace.folders
            else "it is outside this window's workspace folders"
        )
        self._notify(
            f"{path} is not protected: {where}. Open its folder as a workspace folder "
            "to have SHIM journal and checkpoint it."
        )

    def _within_cap(self, uri: str, size: int) -> bool:
        """Whether a buffer of ``size`` characters is protected (maxFileSize applies to unsaved
        text too); says so plainly, once, when a buffer goes over the cap."""
        if size <= self.settings.max_file_size:
            return True
        if uri not in self._over_cap:
            self._over_cap.add(uri)
            path = uri_to_path(uri)
            self._notify(
                f"{path.name if path else uri} is not protected: its buffer holds {size:,} "
                f"characters, over maxFileSize ({self.settings.max_file_size:,} bytes). Its "
                "unsaved changes are not journaled or checkpointed until it is back under "
                "the cap; save it to keep them."
            )
        return False

    def _differs_from_disk(self, uri: str, text: str) -> tuple[bool, str | None]:
        """A buffer can open already unsaved: the editor restored it from its own backup, or
        handed its buffers to a restarted server. That text is work to protect from the start.
        Also the hash of the file as the session saw it then (None when it was not read).
        """
        path = uri_to_path(uri)
        if path is None:  # untitled: whatever it holds exists nowhere else
            return bool(text), None
        if not self.may_read(path):
            return False, None  # outside the workspace or a secret: never stored anyway
        try:
            if path.stat().st_size > self.settings.max_file_size:
                return False, None
        except OSError:
            return bool(text), None  # not on disk: all of it is unsaved
        data = read_bytes(path)
        if data is None:
            return True, None
        return decode(data, path) != text, blobs.blob_hash(data)

    def _disk_hash(self, uri: str) -> str | None:
        """The hash of the file now, read at the event so that a change a moment later
        (a formatter, git) is not taken for what the session saw."""
        path = uri_to_path(uri)
        if path is None or not self.may_read(path):
            return None
        try:
            if path.stat().st_size > self.settings.max_file_size:
                return None
        except OSError:
            return None
        data = read_bytes(path)
        return blobs.blob_hash(data) if data is not None else None

    def did_change(self, uri: str, version: int | None, changes: list[Change], size: int) -> None:
        now = time.time()
        old = self.buffers.buffers.get(uri)
        typed = sum(
            max(1, len(str(c[-1])) if len(c) > 1 else abs(size - (old.size if old else 0)))
            for c in changes
        )
        self.buffers.changed(uri, version, size, now, typed)
        self._changed_since_checkpoint = True
        if uri in self._over_cap and size <= self.settings.max_file_size:
            # Back under the cap: protected again from its full text as it stands.
            self._over_cap.discard(uri)
            current = self._text_source(uri)
            if current is not None:
                seen = self._seen_on_disk.get(uri)
                self._record(uri, "snapshot", current[1], current[0], now, seen)
        elif self._within_cap(uri, size):
            self._record(uri, "change", version, encode_changes(changes), now)

    def did_save(self, uri: str) -> None:
        self.buffers.saved(uri)
        disk_hash = self._seen_on_disk[uri] = self._disk_hash(uri)
        self._record(uri, "save", None, None, time.time(), disk_hash)
        path = uri_to_path(uri)
        if path is not None:
            self.files_changed([path])

    def did_close(self, uri: str) -> None:
        self.buffers.closed(uri)
        self._seen_on_disk.pop(uri, None)
        self._over_cap.discard(uri)
        self._record(uri, "close", None, None, time.time())

    def files_changed(self, paths: list[Path]) -> None:
        absolute = (Path(os.path.abspath(p)) for p in paths)
        inside = [p for p in absolute if self.workspace.contains(p)]
        if inside:
            with self._lock:
                self.tree.report_changed(inside)
            self._changed_since_checkpoint = True

    def _store_replaced(self) -> None:
        """The store was deleted under the session (writer thread): what it held is gone, so
        the open buffers are journaled again and the next checkpoint is a full one."""
        self._stale_cp_conn = True
        self.forget_store_state()
        self.rejournal_open_buffers()

    def forget_store_state(self) -> None:
        """After the store was cleared: the next checkpoint starts from a full scan."""
        with self._lock:
            self.tree = TreeState(self.workspace, self.settings)
        self.last_checkpoint = None
        self._changed_since_checkpoint = True

    def rejournal_open_buffers(self, *, only_unsaved: bool = False) -> None:
        """Give open buffers a fresh base to replay from: their full text as it stands."""
        for uri, buf in list(self.buffers.buffers.items()):
            if (only_unsaved and buf.dirty_since is None) or uri in self._over_cap:
                continue
            current = self._text_source(uri)
            if current is not None:
                kind: Kind = "snapshot" if buf.dirty_since is not None else "open"
                seen = self._seen_on_disk.get(uri)
                self._record(uri, kind, current[1], current[0], time.time(), seen)

    # --- checkpoints --------------------------------------------------------------------

    def _snapshot_buffers(self) -> list[BufferSnapshot]:
        snaps = []
        for buf in self.buffers.dirty():
            if buf.uri in self._over_cap:
                continue
            current = self._text_source(buf.uri)
            if current is not None:
                snaps.append(BufferSnapshot(buf.uri, current[0], current[1]))
        return snaps

    def checkpoint(
        self,
        label: str | None = None,
        reason: str = "manual",
        progress: Callable[[int, int], None] | None = None,
    ) -> Future[CheckpointResult]:
        """Start a checkpoint of the workspace and the dirty buffers as they are now.

        File events are trusted only for automatic checkpoints of a client that sends them;
        a checkpoint asked for by hand, or one without watchers, stats the whole tree (the
        stat cache makes that cheap: only files whose size or mtime changed are read).
        """
        if reason == "manual" or not self.watching:
            with self._lock:
                self.tree.needs_scan = True
        buffers = self._snapshot_buffers()
        lseq = self._last_lseq
        edits = self.buffers.edits_since_checkpoint
        self._changed_since_checkpoint = False
        fut = self._checkpoints.submit(self._take, label, reason, buffers, lseq, edits, progress)
        self._running = fut
        return fut

    def _take(
        self,
        label: str | None,
        reason: str,
        buffers: list[BufferSnapshot],
        lseq: int,
        edits: int,
        progress: Callable[[int, int], None] | None,
    ) -> CheckpointResult:
        started = time.perf_counter()
        if not self.writer.wait_ready(timeout=5.0):
            self._changed_since_checkpoint = True
            raise OSError(self.writer.status().error or "SHIM's store is not ready")
        try:
            return self._take_once(label, reason, buffers, lseq, edits, progress, started)
        except cps.MissingBase as exc:
            # Another window's retention removed the base this session built on: start
            # again from the store as it is now (a fresh stat cache and base), once.
            log.info("%s; taking the checkpoint again from the store's newest", exc)
            with self._lock:
                self.tree = TreeState(self.workspace, self.settings)
            return self._take_once(label, reason, buffers, lseq, edits, progress, started)

    def _take_once(
        self,
        label: str | None,
        reason: str,
        buffers: list[BufferSnapshot],
        lseq: int,
        edits: int,
        progress: Callable[[int, int], None] | None,
        started: float,
    ) -> CheckpointResult:
        with self._lock:
            changed = self.tree.take_changed()
            scan = self.tree.needs_scan
        try:
            conn = self._checkpoint_reader()
            if not self.tree.loaded:
                self.tree.load(conn)
            stored: list[Future[None]] = []
            plan = self.tree.plan(
                session_id=self.info.id,
                label=label,
                reason=reason,
                journal_lseq=lseq,
                buffers=buffers,
                changed=changed,
                known_blobs=lambda ds: blobs.known(conn, ds),
                sink=lambda chunk: stored.append(
                    self.writer.submit(partial(blobs.put_many, items=chunk))
                ),
                progress=progress,
            )
            for fut in stored:
                fut.result()
            cid = self.writer.submit(partial(_write_checkpoint, plan=plan)).result()
        except BaseException:
            with self._lock:
                self.tree.report_changed(changed)
                self.tree.needs_scan = self.tree.needs_scan or scan
            self._changed_since_checkpoint = True
            raise
        with self._lock:
            self.tree.committed(plan, cid)
        self.buffers.checkpointed(edits, {b.uri: b.version for b in buffers})
        now = time.time()
        self.last_checkpoint_at = now
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
        self.last_checkpoint = result
        if now - self._last_retention >= RETENTION_EVERY_S:
            self._last_retention = now
            self.writer.submit(lambda c: retention.apply(c, self.settings))
        return result

    def checkpoint_running(self) -> bool:
        return self._running is not None and not self._running.done()

    # --- signals and the automatic policy -----------------------------------------------

    def measure(self, client_alive: bool = True) -> Measurements:
        now = time.time()
        rss = int(self._process.memory_info().rss)
        self._rss.append((now, rss))
        while self._rss and now - self._rss[0][0] > RSS_WINDOW_S:
            self._rss.popleft()
        t0, r0 = self._rss[0]
        growth = (rss - r0) / (1024 * 1024) / ((now - t0) / 60) if now - t0 >= 30 else 0.0
        try:
            free: int | None = shutil.disk_usage(self._existing_parent(self.state_dir)).free
        except OSError:
            free = None
        status = self.writer.status()
        unsaved = self.buffers.unsaved(unprotected=self._over_cap)
        return Measurements(
            unsaved_bytes=unsaved.bytes,
            oldest_unsaved_age_s=now - unsaved.oldest if unsaved.oldest is not None else 0.0,
            unchecked_bytes=unsaved.unchecked_bytes,
            oldest_unchecked_age_s=(
                now - unsaved.oldest_unchecked if unsaved.oldest_unchecked is not None else 0.0
            ),
            edits_since_checkpoint=self.buffers.edits_since_checkpoint,
            rss_bytes=rss,
            rss_growth_mb_per_min=growth,
            client_alive=client_alive,
            journal_pending=status.pending + len(self._held or ()),
            journal_lag_s=status.oldest_pending_age,
            disk_free_bytes=free,
            store_error=status.error,
        )

    @staticmethod
    def _existing_parent(path: Path) -> Path:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path

    def assess(self, client_alive: bool = True) -> Assessment:
        return assess(self.measure(client_alive), self.settings)

    def tick(self, client_alive: bool = True) -> tuple[str | None, Assessment | None]:
        """Called about once a second: starts a due checkpoint; returns (reason, alarm)."""
        if self.closed is not None:
            return None, None
        assessment = self.assess(client_alive)
        self.last_assessment = assessment
        raised = self.alarm.update(assessment)
        # A checkpoint already running holds the buffers as they were before the risk: the
        # risk checkpoint follows it, not skipped (else the work stays at risk until idle).
        self._risk_due = self._risk_due or raised
        if self._risk_due and not self.checkpoint_running():
            self._risk_due = False
            self.checkpoint(reason="risk")
            return "risk", assessment if raised else None
        if raised:
            return None, assessment
        if not self.auto or self.checkpoint_running():
            return None, None
        now = time.time()
        if now - self.last_scan_at >= self.settings.full_scan_interval:
            with self._lock:
                self.tree.needs_scan = True
        reason = due(
            Clock(
                now=now,
                last_checkpoint_at=self.last_checkpoint_at,
                last_edit_at=self.buffers.last_edit_at,
                changed_since_checkpoint=self._changed_since_checkpoint,
                has_dirty=bool(self.buffers.dirty()),
                last_scan_at=self.last_scan_at,
            ),
            self.settings,
        )
        if reason is not None:
            self.checkpoint(reason=reason)
        return reason, None

    # --- status -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        w = self.writer.status()
        last = self.last_checkpoint
        unsaved = self.buffers.unsaved()
        return {
            "session": self.info.id,
            "pid": self.info.pid,
            "startedAt": self.info.started_at,
            "folders": self.info.folders,
            "workspace": self.info.workspace,
            "store": str(self.db_path),
            "storeReady": w.ready,
            "storeError": w.error,
            "autoCheckpoint": self.auto,
            "openDocuments": len(self.buffers.buffers),
            "dirtyDocuments": unsaved.documents,
            "unsavedBytes": unsaved.bytes,
            "oldestUnsavedAt": unsaved.oldest,
            "editsSinceCheckpoint": self.buffers.edits_since_checkpoint,
            "journal": {
                "committed": w.committed,
                "pending": w.pending + len(self._held or ()),
                "lagSeconds": round(w.oldest_pending_age, 3),
                "lastCommitAt": w.last_commit_at,
            },
            "lastCheckpoint": last.to_json() if last else None,
            "lastCheckpointAt": self.last_checkpoint_at if last else self.previous_checkpoint_at,
            "riskLevel": self.last_assessment.level if self.last_assessment else "low",
        }
