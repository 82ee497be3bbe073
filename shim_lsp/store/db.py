"""Opening SHIM's SQLite store: schema, pragmas, and what to do with a damaged file.

Every process (each editor window, the CLI) opens the same file. WAL lets readers run beside
the one writer, ``BEGIN IMMEDIATE`` takes the write lock up front so that two writers queue
instead of deadlocking, and a busy timeout makes them wait rather than fail.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "shim.db"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS sessions(
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    folders TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_started REAL,
    client_pid INTEGER,
    position_encoding TEXT NOT NULL DEFAULT 'utf-16',
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    ended_at REAL,
    end_reason TEXT,
    resolved_at REAL,
    resolution TEXT,
    kind TEXT NOT NULL DEFAULT 'window'
);
CREATE INDEX IF NOT EXISTS sessions_workspace ON sessions(workspace, started_at);

CREATE TABLE IF NOT EXISTS blobs(
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    codec TEXT NOT NULL,
    data BLOB NOT NULL,
    used_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS checkpoints(
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    workspace TEXT NOT NULL,
    created_at REAL NOT NULL,
    label TEXT,
    reason TEXT NOT NULL,
    base_id INTEGER,
    journal_lseq INTEGER NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_workspace ON checkpoints(workspace, created_at);
CREATE INDEX IF NOT EXISTS checkpoints_base ON checkpoints(base_id);

CREATE TABLE IF NOT EXISTS entries(
    checkpoint_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    uri TEXT NOT NULL,
    blob TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    version INTEGER,
    PRIMARY KEY(checkpoint_id, kind, uri)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_blob ON entries(blob);
CREATE INDEX IF NOT EXISTS entries_uri ON entries(uri);

-- Added after schema 1 was released; created on open in stores made before it, which older
-- SHIMs still open (they ignore it; see store/statcache.py for why that is safe).
CREATE TABLE IF NOT EXISTS stat_cache(
    workspace TEXT NOT NULL,
    uri TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY(workspace, uri)
) WITHOUT ROWID;

-- The stat cache by folder (store/statcache.py): what a scan may pass over unread. Added
-- after schema 1 too, as stat_cache.
CREATE TABLE IF NOT EXISTS stat_folders(
    workspace TEXT NOT NULL,
    folder TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY(workspace, folder)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stat_folders_stamp(
    workspace TEXT PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    rules TEXT NOT NULL,
    folders INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    base_files INTEGER NOT NULL
) WITHOUT ROWID;

-- Each folder's own stat and names as a walk last listed them (store/statcache.py), so that a
-- restarted server lists again only the folders whose stat moved, and, in verdicts, whether
-- the rules kept each of its subfolders (NULL: not judged). Added after schema 1 too.
CREATE TABLE IF NOT EXISTS stat_listings(
    workspace TEXT NOT NULL,
    folder TEXT NOT NULL,
    listing BLOB NOT NULL,
    verdicts BLOB,
    PRIMARY KEY(workspace, folder)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS journal(
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    lseq INTEGER NOT NULL,
    uri TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER,
    ts REAL NOT NULL,
    data TEXT,
    disk_hash TEXT
);
CREATE INDEX IF NOT EXISTS journal_session ON journal(session_id, uri, lseq);

CREATE TABLE IF NOT EXISTS resolutions(
    session_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    action TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY(session_id, uri)
) WITHOUT ROWID;

-- Crashed work a window has offered back (one row per session and file), so that the metrics
-- count an offer once however many windows show it. Added after schema 1, as stat_cache.
CREATE TABLE IF NOT EXISTS offers(
    session_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY(session_id, uri)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS codemod_batches(
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    checkpoint_id INTEGER,
    created_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS codemod_batch_files(
    batch_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    before_codec TEXT NOT NULL,
    before BLOB NOT NULL,
    after_codec TEXT NOT NULL,
    after BLOB NOT NULL,
    PRIMARY KEY(batch_id, uri)
) WITHOUT ROWID;
"""


def storable(text: str | None) -> str | bytes | None:
    """SQLite text must be valid UTF-8, and a client may send a lone surrogate ("\\ud83d" is
    valid JSON): such a string is stored as its bytes (UTF-8 with surrogatepass), exactly."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def text_of(value: str | bytes | None) -> str | None:
    """A text column as it was given to ``storable``."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return value


class StoreError(Exception):
    """The store cannot be used (unwritable folder, full disk, ...). The message is for users."""


@dataclass(frozen=True)
class OpenReport:
    """What happened while opening: shown to the user when not empty."""

    path: Path
    quarantined: Path | None = None
    reason: str | None = None
    tightened: tuple[Path, ...] = ()
    """Parts of the store that other users could read, now private."""


def _create_private(path: Path) -> None:
    """Create the store file 0600 whatever the umask; SQLite gives its -wal and -shm the
    database file's mode, so they are private too."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _tighten(state_dir: Path) -> tuple[Path, ...]:
    """Take group and other access away from the store's folder and files (they hold unsaved
    work); returns what had exposed a store. A folder that holds no store yet (made by hand,
    or by a tool) is made private without a word: nothing was exposed."""
    files = [state_dir / f"{DB_NAME}{suffix}" for suffix in ("", "-wal", "-shm")]
    changed: list[Path] = []
    for path, private in [(state_dir, 0o700)] + [(f, 0o600) for f in files]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & private)
                changed.append(path)
        except FileNotFoundError:
            continue
    return tuple(changed) if any(f.exists() for f in files) else ()


def _refuse_links(state_dir: Path) -> None:
    """The store's files are links to nowhere else: SQLite and ``_tighten`` would follow one
    (writing, and chmodding, wherever it leads). The state folder itself may be a link: it is
    where the user put SHIM's state."""
    for suffix in ("", "-wal", "-shm"):
        path = state_dir / f"{DB_NAME}{suffix}"
        if path.is_symlink():
            raise StoreError(
                f"{path} is a symbolic link (to {os.readlink(path)}); SHIM keeps its store only"
                " inside its state folder: remove the link"
            )


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with SHIM's pragmas; transactions are explicit (autocommit mode)."""
    if readonly:
        conn = sqlite3.connect(
            f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        _create_private(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def write_tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the lock at once and rolls back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        # SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR): keep the real error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _check(conn: sqlite3.Connection) -> str | None:
    """None when the file is a sound SHIM store, else what is wrong with it."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != [("ok",)]:
        return "; ".join(str(r[0]) for r in rows[:3])
    return None


def _quarantine(path: Path, reason: str) -> Path:
    """Move a damaged store aside (never delete it) so that a fresh one can start."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}-{uuid.uuid4().hex[:6]}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            src.rename(Path(f"{target}{suffix}"))
    log.error("store %s was damaged (%s); moved aside to %s", path, reason, target)
    return target


def open_store(state_dir: Path) -> tuple[sqlite3.Connection, OpenReport]:
    """Open (creating if needed) the store in ``state_dir``; a damaged file is moved aside.

    Raises StoreError when the folder cannot hold a store at all.
    """
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _refuse_links(state_dir)
        tightened = _tighten(state_dir)
    except OSError as exc:
        raise StoreError(f"cannot create SHIM's state folder {state_dir}: {exc}") from exc
    path = state_dir / DB_NAME
    quarantined: Path | None = None
    reason: str | None = None
    conn: sqlite3.Connection | None = None
    try:
        if path.exists():
            conn = connect(path)
            reason = _check(conn)
            if reason is not None:
                conn.close()
                conn = None
                quarantined = _quarantine(path, reason)
        if conn is None:
            conn = connect(path)
        with write_tx(conn):
            for statement in SCHEMA.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            _add_columns(conn)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?)",
                (uuid.uuid4().hex,),
            )
        version = int(
            conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {path} was written by a newer SHIM (schema {version}); "
                "upgrade SHIM or set another state folder"
            )
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.OperationalError) and _is_environmental(exc):
            raise StoreError(f"cannot write SHIM's store {path}: {exc}") from exc
        # Damage found only once we touched it: quarantine and start fresh, once.
        if quarantined is None and path.exists():
            quarantined = _quarantine(path, str(exc))
            conn, _ = open_store(state_dir)
            return conn, OpenReport(path, quarantined, str(exc), tightened)
        raise StoreError(f"cannot open SHIM's store {path}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot use SHIM's store {path}: {exc}") from exc
    return conn, OpenReport(path, quarantined, reason, tightened)


ADDED_COLUMNS = {
    "sessions": [("kind", "TEXT NOT NULL DEFAULT 'window'")],
    "stat_listings": [("verdicts", "BLOB")],
}
"""Columns added after schema 1 was released, with their defaults: a store made before them
gains them on open (older SHIMs name their columns when they write, so they still can)."""


def _add_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, decl in columns:
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def _is_environmental(exc: sqlite3.OperationalError) -> bool:
    """Errors caused by the disk or permissions, not by the file's contents."""
    text = str(exc).lower()
    return any(
        word in text
        for word in (
            "readonly",
            "read-only",
            "disk is full",
            "unable to open",
            "locked",
            "disk i/o",
        )
    )
