"""Which sessions crashed, and what unsaved work they left behind.

A session crashed when it has no clean end and its process is gone: on this host, the pid is
not running with the same start time (so a reused pid does not count as alive); on another
host, its heartbeat is stale. A live session in another window is never taken for crashed.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shim_lsp.journal.replay import rebuild, touched_uris
from shim_lsp.process import process_start_time
from shim_lsp.store.db import storable
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.paths import paths_stored, stored_paths, uri_to_path

STALE_HEARTBEAT_S = 60.0
START_TIME_SLACK_S = 2.0


HOST_ENV = "SHIM_HOST_ID"


def this_host() -> str:
    """The host name, or ``SHIM_HOST_ID`` where one host name stands for several machines
    (containers cloned from one image; the tests' simulated hosts)."""
    return os.environ.get(HOST_ENV) or socket.gethostname()


@dataclass(frozen=True)
class SessionRow:
    id: str
    workspace: str
    folders: str
    host: str
    pid: int
    pid_started: float | None
    client_pid: int | None
    started_at: float
    heartbeat_at: float
    ended_at: float | None
    end_reason: str | None
    resolved_at: float | None
    resolution: str | None
    kind: str = "window"
    """An editor ``window`` or an AI ``chat`` (MCP)."""

    @property
    def folder_paths(self) -> list[str]:
        """The workspace's folders (``folders`` as stored: see ``stored_paths``)."""
        return paths_stored(self.folders)


_COLS = (
    "id, workspace, folders, host, pid, pid_started, client_pid, started_at, heartbeat_at,"
    " ended_at, end_reason, resolved_at, resolution, kind"
)


def sessions(conn: sqlite3.Connection, workspace: str | None = None) -> list[SessionRow]:
    if workspace is None:
        rows = conn.execute(f"SELECT {_COLS} FROM sessions ORDER BY started_at DESC")
    else:
        rows = conn.execute(
            f"SELECT {_COLS} FROM sessions WHERE workspace=? ORDER BY started_at DESC",
            (workspace,),
        )
    return [SessionRow(*r) for r in rows]


def session(conn: sqlite3.Connection, session_id: str) -> SessionRow | None:
    r = conn.execute(f"SELECT {_COLS} FROM sessions WHERE id=?", (session_id,)).fetchone()
    return SessionRow(*r) if r else None


def is_alive(row: SessionRow, now: float | None = None) -> bool:
    if row.ended_at is not None:
        return False
    if row.host == this_host():
        started = process_start_time(row.pid)
        if started is None:
            return False
        return row.pid_started is None or abs(started - row.pid_started) <= START_TIME_SLACK_S
    return (now or time.time()) - row.heartbeat_at < STALE_HEARTBEAT_S


def same_editor(row: SessionRow, client_pid: int | None) -> bool:
    """The session served the editor process that is still ours: same host, same client pid,
    and that process was already running when the session started (not a reused pid).

    Only the server died there; the editor kept its buffers and gave them to a new server.
    """
    if client_pid is None or row.client_pid != client_pid or row.host != this_host():
        return False
    started = process_start_time(client_pid)
    return started is not None and started <= row.started_at + START_TIME_SLACK_S


def state_of(row: SessionRow) -> str:
    """running, clean, client-gone, terminated or crashed: what a user would call it."""
    if row.ended_at is None:
        return "running" if is_alive(row) else "crashed"
    return row.end_reason or "crashed"


def needs_recovery(row: SessionRow) -> bool:
    """Ended (however) and not resolved: a clean end with nothing unsaved is resolved at once."""
    return row.resolved_at is None and state_of(row) != "running"


@dataclass(frozen=True)
class RecoverableFile:
    session_id: str
    uri: str
    text: str
    version: int | None
    lseq: int
    edited_at: float
    disk_exists: bool
    disk_changed: bool
    """The file on disk changed since the crashed session last saw it: the user must choose."""


def unrecovered(
    conn: sqlite3.Connection,
    row: SessionRow,
    may_read: Callable[[Path], bool],
    *,
    include_resolved: bool = False,
) -> list[RecoverableFile]:
    """Buffers open and dirty when the session died, whose text is not on disk, not resolved
    (resolved ones too with ``include_resolved``: dismissed work can be seen again)."""
    resolved = (
        set()
        if include_resolved
        else {
            r[0] for r in conn.execute("SELECT uri FROM resolutions WHERE session_id=?", (row.id,))
        }
    )
    found: list[RecoverableFile] = []
    for uri in touched_uris(conn, row.id):
        if uri in resolved:
            continue
        state = rebuild(conn, row.id, uri)
        if state is None or not state.open or not state.dirty:
            continue
        path = uri_to_path(uri)
        disk: bytes | None = None
        if path is not None and may_read(path):
            try:
                disk = path.read_bytes()
            except OSError:
                disk = None
        if disk is not None and decode(disk, path) == state.text:
            continue
        disk_hash = hashlib.sha256(disk).hexdigest() if disk is not None else None
        changed = disk_hash != state.disk_hash if state.disk_hash is not None else disk is not None
        found.append(
            RecoverableFile(
                session_id=row.id,
                uri=uri,
                text=state.text,
                version=state.version,
                lseq=state.lseq,
                edited_at=state.ts,
                disk_exists=disk is not None,
                disk_changed=changed,
            )
        )
    return found


def crashed_work(
    conn: sqlite3.Connection,
    workspace: str,
    may_read: Callable[[Path], bool],
    exclude: str | None = None,
    *,
    include_resolved: bool = False,
) -> list[tuple[SessionRow, list[RecoverableFile]]]:
    """Every ended, unresolved session of a workspace with the unsaved work it left, newest
    first: crashed ones, and clean ends that still held unsaved buffers.

    With ``include_resolved``, sessions and files already restored or dismissed are listed
    too; a session still running never is.
    """
    out = []
    for row in sessions(conn, workspace):
        if row.id == exclude or state_of(row) == "running":
            continue
        if not include_resolved and not needs_recovery(row):
            continue
        files = unrecovered(conn, row, may_read, include_resolved=include_resolved)
        if files:
            out.append((row, files))
    return out


@dataclass(frozen=True)
class PeerWork:
    """A group member on another store that died holding unsaved text it published."""

    session_id: str
    host: str
    pid: int
    started_at: float
    last_seen: float
    files: list[tuple[str, str, float]]
    """(uri in this workspace, unsaved text, when it became unsaved)."""


def adopt_peer_work(
    conn: sqlite3.Connection, work: PeerWork, workspace: str, folders: list[str]
) -> bool:
    """Keep a dead peer's published unsaved text as a crashed session of this store, so the
    recovery that offers local crashed work offers it too (inside the caller's transaction).
    Each buffer is a snapshot of unknown base: the user chooses against the disk. Once per
    session: False when this store already holds it."""
    found = conn.execute("SELECT 1 FROM sessions WHERE id=?", (work.session_id,)).fetchone()
    if found is not None or not work.files:
        return False
    conn.execute(
        "INSERT INTO sessions(id, workspace, folders, host, pid, started_at, heartbeat_at,"
        " ended_at, end_reason, kind) VALUES (?,?,?,?,?,?,?,?,'crashed','window')",
        (
            work.session_id,
            workspace,
            stored_paths(folders),
            work.host,
            work.pid,
            work.started_at,
            work.last_seen,
            work.last_seen,
        ),
    )
    conn.executemany(
        "INSERT INTO journal(session_id, lseq, uri, kind, version, ts, data, disk_hash)"
        " VALUES (?,?,?,'snapshot',NULL,?,?,NULL)",
        [
            (work.session_id, lseq, storable(uri), since, storable(text))
            for lseq, (uri, text, since) in enumerate(work.files, start=1)
        ],
    )
    return True


def mark_crashed(conn: sqlite3.Connection, row: SessionRow) -> None:
    """Record, once, that a session died without ending (inside the caller's transaction)."""
    conn.execute(
        "UPDATE sessions SET ended_at=heartbeat_at, end_reason='crashed'"
        " WHERE id=? AND ended_at IS NULL",
        (row.id,),
    )


def resolve_file(conn: sqlite3.Connection, session_id: str, uri: str, action: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO resolutions(session_id, uri, action, at) VALUES (?,?,?,?)",
        (session_id, uri, action, time.time()),
    )


def first_offers(conn: sqlite3.Connection, files: list[tuple[str, str]]) -> int:
    """Record that these (session, uri) were offered; how many were never offered before, by
    any window (inside the caller's transaction)."""
    fresh = 0
    now = time.time()
    for session_id, uri in files:
        cur = conn.execute(
            "INSERT OR IGNORE INTO offers(session_id, uri, at) VALUES (?,?,?)",
            (session_id, storable(uri), now),
        )
        fresh += cur.rowcount
    return fresh


def unsaved_edits(conn: sqlite3.Connection, session_id: str, uri: str) -> int:
    """The edits (journaled changes) a session made to a file since it last opened or saved
    it: what recovery gives back, or loses. A buffer known by a snapshot only counts as one."""
    key = storable(uri)
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM journal WHERE session_id=? AND uri=? AND kind='change' AND lseq >"
        " COALESCE((SELECT MAX(lseq) FROM journal WHERE session_id=? AND uri=?"
        " AND kind IN ('open', 'save', 'snapshot')), 0)",
        (session_id, key, session_id, key),
    ).fetchone()
    return max(1, int(count))


def resolve_session(conn: sqlite3.Connection, session_id: str, resolution: str) -> None:
    conn.execute(
        "UPDATE sessions SET resolved_at=?, resolution=? WHERE id=?",
        (time.time(), resolution, session_id),
    )


def sessions_above(conn: sqlite3.Connection, start: Path) -> tuple[Path, list[SessionRow]]:
    """The nearest folder at or above ``start`` that SHIM has sessions for, and those
    sessions, as git finds a repository; ``(start, [])`` when there is none."""
    start = Path(os.path.realpath(start))
    rows = sessions(conn)
    for folder in (start, *start.parents):
        found = [r for r in rows if str(folder) in r.folder_paths]
        if found:
            return folder, found
    return start, []


@dataclass(frozen=True)
class WorkLeft:
    """Unsaved work of ended sessions still waiting in one workspace (for confirmations)."""

    folders: list[str]
    files: int


def work_left(conn: sqlite3.Connection, session_ids: set[str]) -> list[WorkLeft]:
    """Of these sessions, the unsaved work that waits to be recovered, per workspace."""
    rows = [r for r in sessions(conn) if r.id in session_ids]
    out = []
    for key in sorted({r.workspace for r in rows}):
        folders = next(r.folder_paths for r in rows if r.workspace == key)
        real = [Path(f) for f in folders]

        def inside(path: Path, real: list[Path] = real) -> bool:
            resolved = Path(os.path.realpath(path))
            return any(resolved == f or f in resolved.parents for f in real)

        files = sum(
            len(found) for row, found in crashed_work(conn, key, inside) if row.id in session_ids
        )
        if files:
            out.append(WorkLeft(folders, files))
    return out
