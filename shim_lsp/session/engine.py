"""One editing session: the facade that the LSP glue, the CLI and the demo drive.

It owns the session's lifecycle and its document events (journaled through the writer); it
hands checkpoints to ``Checkpointer`` (own thread, and when one is due), risk sampling to
``RiskMonitor``, and answers status from memory (``status.py``). Every method called from
the event loop returns at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shim_lsp.journal.records import Change, Kind, Record, encode_changes
from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.metrics import recorder
from shim_lsp.process import process_start_time
from shim_lsp.recovery.find import this_host
from shim_lsp.session.buffers import BufferTracker
from shim_lsp.session.checkpointer import Checkpointer, CheckpointResult, ProgressListener
from shim_lsp.session.risk import RiskMonitor
from shim_lsp.session.snapshot import BufferSnapshot, TreeState
from shim_lsp.session.status import session_status
from shim_lsp.settings import Settings, resolve_state_dir
from shim_lsp.signals.model import Assessment, Measurements, assess
from shim_lsp.store import blobs
from shim_lsp.store.db import DB_NAME, connect
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import Workspace, uri_to_path

if TYPE_CHECKING:
    from shim_lsp.workspace.scan import FileRules

log = logging.getLogger(__name__)

TextSource = Callable[[str], tuple[str, int | None] | None]
"""Current (text, version) of an open buffer, from the editor's copy."""


def _megabytes(n: int) -> str:
    """A size as people read it (a buffer's characters count as bytes here: near enough)."""
    if n < 1024 * 1024:
        return f"{max(1, n // 1024)} KB"
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _shows_file(text: str, data: bytes, path: Path) -> bool:
    """Whether a buffer just opened holds the file as an editor reads it: in the file's own
    encoding, or decoded as UTF-8 with replacement characters (an editor's default for a
    file that is not UTF-8). A binary file opened in an editor always counts as shown: its
    text is a lossy reading, never work to offer back (restoring it would ruin the file)."""
    if b"\x00" in data[:8000]:  # git's test for binary content
        return True
    return text == decode(data, path) or text == data.decode("utf-8", "replace")


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
        kind: str = "window",
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
            kind=kind,
        )
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
        self.checkpoints = Checkpointer(
            self.workspace, settings, self.info, self.writer, self.buffers, self.db_path
        )
        self.risk = RiskMonitor(self.state_dir)
        self._lseq = itertools.count(1)
        self._last_lseq = 0
        self.closed: str | None = None
        self._closing = threading.RLock()
        self._closed_whole = True
        self._may_store: dict[str, bool] = {}
        self._held: list[tuple[str, Kind, int | None, str | None, float, str | None]] | None = None
        """Document events that arrived before the user's settings: see ``hold``."""
        self._told_outside: set[str] = set()
        """Per URI, whether it may be journaled: the check resolves links, so it is cached."""
        self._seen_on_disk: dict[str, str | None] = {}
        """Per open URI, the hash of the file when the session last synced with it."""
        self._clean_size: dict[str, int] = {}
        """A buffer's length when it was last the file's text: a change back to it may be a
        revert."""
        self._over_cap: set[str] = set()
        """Open buffers over maxFileSize: not journaled or checkpointed while they are."""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()
        self.checkpoints.start()
        if self._held is None:  # else the user's settings decide, once they come: see release
            self._metrics_setting(self.settings.metrics)

    def _metrics_setting(self, on: bool) -> None:
        if not on:
            recorder.pause()
        elif (problem := recorder.enable(self.state_dir)) is not None:
            self._notify(problem)  # once: the window then goes on without metrics

    def _store_bytes(self) -> int | None:
        """The store with its write-ahead log: a stat or two, once a second."""
        total = 0
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal")):
            try:
                total += path.stat().st_size
            except OSError:
                continue
        return total or None

    # Read by the server's status and by tests: where the checkpoints stand.
    @property
    def last_checkpoint(self) -> CheckpointResult | None:
        return self.checkpoints.last

    @property
    def last_assessment(self) -> Assessment | None:
        return self.risk.last

    @property
    def tree(self) -> TreeState:
        return self.checkpoints.tree

    def apply_settings(self, settings: Settings) -> None:
        """Take new tunables at once; the store location stays until the next start."""
        self.settings = settings
        self.auto = settings.auto_checkpoint
        self.writer.flush_interval = settings.flush_interval
        self.writer.heartbeat_interval = settings.heartbeat_interval
        self.checkpoints.apply_settings(settings)
        self._may_store.clear()
        self._metrics_setting(settings.metrics)

    def close(self, reason: str, timeout: float = 10.0, *, unfinished: bool = False) -> bool:
        """Flush everything and record how the session ended; idempotent. ``unfinished``: the
        session's work is left for recovery to show even without unsaved buffers (a chat whose
        client died mid-way). A second caller on another thread (a watchdog ending the
        process) waits for the first to finish: the process must not end mid-flush."""
        with self._closing:
            if self.closed is not None:
                return self._closed_whole
            self.release(closing=True)  # the settings never came: nothing typed is dropped
            self.closed = reason
            self.checkpoints.stop()
            # An end that still holds unsaved buffers, clean or not (a window closed or
            # reloaded without saving), is offered back at the next start; one without is
            # settled now.
            settled = self.buffers.unsaved().documents == 0 and not unfinished
            if not settled:
                # Their full text, last: the next start rebuilds them from it instead of
                # replaying every edit of the session (832 ms for 5000 edits, measured).
                self.rejournal_open_buffers(only_unsaved=True)
            self._closed_whole = self.writer.close(reason, timeout, settled=settled)
            recorder.process_exiting()
            return self._closed_whole

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

    def may_read(self, path: Path, real_parent: Path | None = None) -> bool:
        """Only files really inside the workspace, never secrets. ``real_parent``: the real
        path of ``path``'s folder, when the caller has it (a workspace run judges every file
        with findings, many to a folder: resolving each whole path took ~10 ms on Django)."""
        rules = self._rules_of(path, real_parent)
        return rules is not None and not rules.is_secret(path, real_parent)

    def secret_under(self, path: Path, real_parent: Path | None = None) -> FileRules | None:
        """The rules of the workspace folder ``path`` is really inside, when they make it a
        secret (by its name, a folder's, or what a link leads to); ``real_parent`` as for
        ``may_read``."""
        rules = self._rules_of(path, real_parent)
        return rules if rules is not None and rules.is_secret(path, real_parent) else None

    def _rules_of(self, path: Path, real_parent: Path | None) -> FileRules | None:
        """The rules of the workspace folder that really holds ``path``."""
        real = None
        if real_parent is not None and not os.path.islink(path):
            real = real_parent / path.name  # a file that is not a link is where its folder is
        return self.tree.rules_for(path, real)

    # --- document events ----------------------------------------------------------------

    def unprotected_unsaved(self) -> int:
        """Unsaved buffers over maxFileSize: SHIM keeps none of their text, only saving does,
        so the status must not count them as protected."""
        return sum(1 for b in self.buffers.dirty() if b.uri in self._over_cap)

    def held_events(self) -> int:
        """Document events kept in memory until the settings arrive (see ``hold``)."""
        return len(self._held or ())

    def hold(self) -> None:
        """Keep document events in memory until ``release``: the user's settings (which
        files are secret) are still on their way from the editor."""
        if self._held is None:
            self._held = []

    def release(self, *, closing: bool = False) -> None:
        """The settings are known: journal what was held, judged by them, and record metrics
        only now if they allow it (``metrics: false`` from the editor writes nothing)."""
        was_held = self._held is not None
        held, self._held = self._held or [], None
        if was_held and not closing:
            self._metrics_setting(self.settings.metrics)
        for event in held:
            self._record(*event)
        for uri in [u for u in self.buffers.buffers if not self._kept(u)]:
            self.buffers.forget(uri)

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
        if not self._kept(uri):
            return
        # itertools.count is atomic under the GIL; a checkpoint reads _last_lseq as it stands.
        lseq = self._last_lseq = next(self._lseq)
        self.writer.append(Record(lseq, uri, kind, version, now, data, disk_hash))

    def _kept(self, uri: str) -> bool:
        """Whether SHIM keeps this buffer: not outside the workspace, secret or excluded. What
        SHIM does not keep is not counted as work it holds (the status, the risk of losing
        work); while the settings are on their way, everything counts."""
        if self._held is not None:
            return True
        allowed = self._may_store.get(uri)
        if allowed is None:
            allowed = self._may_store[uri] = self._storable(uri)
        return allowed

    def _storable(self, uri: str) -> bool:
        """Inside the workspace once links are followed (a link to a file elsewhere is said
        to be unprotected, so it is not kept either), and not secret or excluded."""
        path = uri_to_path(uri)
        if path is not None and not self.workspace.contains(path):
            return False
        return self.tree.may_store(uri)

    def did_open(self, uri: str, text: str, version: int | None) -> None:
        self._may_store.pop(uri, None)
        self._tell_if_outside(uri)
        if not self._kept(uri):
            return
        now = time.time()
        unsaved, disk_hash = self._differs_from_disk(uri, text)
        self._seen_on_disk[uri] = disk_hash
        self.buffers.opened(uri, version, len(text), now, unsaved=unsaved)
        if not unsaved:
            self._clean_size[uri] = len(text)
        if self._within_cap(uri, len(text)):
            self._record(uri, "snapshot" if unsaved else "open", version, text, now, disk_hash)

    def _tell_if_outside(self, uri: str) -> None:
        """SHIM never reads or writes outside the workspace folders: a file opened from
        elsewhere is not protected, and the user is told so, once per file."""
        path = uri_to_path(uri)
        if path is None or uri in self._told_outside or self.workspace.contains(path):
            return
        self._told_outside.add(uri)
        real = Path(os.path.realpath(path))
        if not self.workspace.folders:
            where = "this window has no workspace folder"
        elif real != path and self.workspace.contains_lexically(path):
            where = f"it is a link to {real}, outside this window's workspace folders"
        else:
            where = "it is outside this window's workspace folders"
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
                f"{path.name if path else uri} is not protected: its buffer holds "
                f"{_megabytes(size)}, over maxFileSize ({_megabytes(self.settings.max_file_size)}"
                "). Its unsaved changes are not journaled or checkpointed until it is back "
                "under the cap; save it to keep them."
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
        return not _shows_file(text, data, path), blobs.blob_hash(data)

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
        if not self._kept(uri):
            return
        now = time.time()
        old = self.buffers.buffers.get(uri)
        typed = sum(
            max(1, len(str(c[-1])) if len(c) > 1 else abs(size - (old.size if old else 0)))
            for c in changes
        )
        self.buffers.changed(uri, version, size, now, typed)
        self.checkpoints.changed = True
        if uri in self._over_cap and size <= self.settings.max_file_size:
            # Back under the cap: protected again from its full text as it stands.
            self._over_cap.discard(uri)
            current = self._text_source(uri)
            if current is not None:
                seen = self._seen_on_disk.get(uri)
                self._record(uri, "snapshot", current[1], current[0], now, seen)
        elif self._within_cap(uri, size):
            self._record(uri, "change", version, encode_changes(changes), now)
        if self._clean_size.get(uri) == size:
            self._clean_if_reverted(uri)

    def _clean_if_reverted(self, uri: str) -> None:
        """A buffer whose text is the file's again (the editor's Revert File sends a change,
        no save) is no longer unsaved. Looked at only when its length is the one it had when
        last clean, so typing costs no read of the file."""
        path = uri_to_path(uri)
        current = self._text_source(uri)
        if path is None or current is None or not self.may_read(path):
            return
        data = read_bytes(path)
        if data is not None and _shows_file(current[0], data, path):
            self.buffers.saved(uri)

    def did_save(self, uri: str) -> None:
        self.buffers.saved(uri)
        buf = self.buffers.buffers.get(uri)
        if buf is not None:
            self._clean_size[uri] = buf.size
        disk_hash = self._seen_on_disk[uri] = self._disk_hash(uri)
        self._record(uri, "save", None, None, time.time(), disk_hash)
        path = uri_to_path(uri)
        if path is not None:
            self.files_changed([path])

    def did_close(self, uri: str) -> None:
        self.buffers.closed(uri)
        self._seen_on_disk.pop(uri, None)
        self._clean_size.pop(uri, None)
        self._over_cap.discard(uri)
        self._record(uri, "close", None, None, time.time())

    def files_changed(self, paths: list[Path]) -> None:
        absolute = (Path(os.path.abspath(p)) for p in paths)
        inside = [p for p in absolute if self.workspace.contains(p)]
        if inside:
            self.checkpoints.files_changed(inside)

    def _store_replaced(self) -> None:
        """The store was deleted under the session (writer thread): what it held is gone, so
        the open buffers are journaled again and the next checkpoint is a full one."""
        self.checkpoints.forget(reconnect=True)
        self.rejournal_open_buffers()

    def forget_store_state(self) -> None:
        """After the store was cleared: the next checkpoint starts from a full scan."""
        self.checkpoints.forget()

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
        progress: ProgressListener | None = None,
    ) -> Future[CheckpointResult]:
        """Start a checkpoint of the workspace and the dirty buffers as they are now."""
        return self.checkpoints.take(
            self._snapshot_buffers(),
            self._last_lseq,
            label=label,
            reason=reason,
            watching=self.watching,
            progress=progress,
        )

    def checkpoint_running(self) -> bool:
        return self.checkpoints.running()

    # --- signals and the automatic policy -----------------------------------------------

    def measure(self, client_alive: bool = True) -> Measurements:
        return self.risk.measure(
            self.buffers,
            self.writer.status(),
            held=self.held_events(),
            unprotected=self._over_cap,
            client_alive=client_alive,
        )

    def assess(self, client_alive: bool = True) -> Assessment:
        return assess(self.measure(client_alive), self.settings)

    def tick(self, client_alive: bool = True) -> tuple[str | None, Assessment | None]:
        """Called about once a second: starts a due checkpoint; returns (reason, alarm)."""
        if self.closed is not None:
            return None, None
        assessment, raised = self.risk.sample(self.measure(client_alive), self.settings)
        recorder.assessment(assessment, self._store_bytes())
        # A checkpoint already running holds the buffers as they were before the risk: the
        # risk checkpoint follows it, not skipped (else the work stays at risk until idle).
        self.risk.checkpoint_due = self.risk.checkpoint_due or raised
        if self.risk.checkpoint_due and not self.checkpoint_running():
            self.risk.checkpoint_due = False
            self.checkpoint(reason="risk")
            return "risk", assessment if raised else None
        if raised:
            return None, assessment
        if not self.auto or self.checkpoint_running():
            return None, None
        reason = self.checkpoints.due(time.time(), has_dirty=bool(self.buffers.dirty()))
        if reason is not None:
            self.checkpoint(reason=reason)
        return reason, None

    # --- status -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return session_status(self)
