"""The persisted stat cache: per workspace, each file's stat as last read and its content hash.

Git's index for SHIM: a restarted server, a second window, or an editor without file watchers
stats the tree and reads only the files whose stat differs. A row is a fact that stays true
whoever wrote it ("a file with this size, mtime, ctime and inode held this blob"), so windows
sharing the store may all write rows; rows that could lie (racily clean, see
``shim_lsp.session.snapshot``) are never written. A row's blob may be gone (an older SHIM's
retention knows nothing of this table), so a caller checks a blob before naming it.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Mapping
from sys import intern
from typing import NamedTuple

from shim_lsp.workspace.scan import FileStat, Listings, listings_by_inode, split_kept

_STAT = struct.Struct("<qqqQ")
_INODE_WRAP = 1 << 64
"""SQLite integers are signed 64-bit; inodes are unsigned: the upper half is stored negative."""

Cached = tuple[bytes, str]
"""A file's stat as last read (``pack``ed: one object instead of a tuple of four large ints,
a sixth of the memory a cached file costs) and the blob it held then."""


def pack(st: FileStat) -> bytes:
    return _STAT.pack(*st)


def load(conn: sqlite3.Connection, workspace: str) -> dict[str, Cached]:
    packed = _STAT.pack
    return {
        intern(uri): (packed(size, mtime, ctime, inode % _INODE_WRAP), intern(blob))
        for uri, size, mtime, ctime, inode, blob in conn.execute(
            "SELECT uri, size, mtime_ns, ctime_ns, inode, blob FROM stat_cache WHERE workspace=?",
            (workspace,),
        )
    }


def load_folder(conn: sqlite3.Connection, workspace: str, folder: str) -> dict[str, Cached]:
    """``load`` for the files directly in one folder (a URI ending in "/")."""
    packed = _STAT.pack
    return {
        intern(uri): (packed(size, mtime, ctime, inode % _INODE_WRAP), intern(blob))
        for uri, size, mtime, ctime, inode, blob in conn.execute(
            "SELECT uri, size, mtime_ns, ctime_ns, inode, blob FROM stat_cache"
            " WHERE workspace=? AND uri >= ? AND uri < ? AND instr(substr(uri, ?), '/') = 0",
            (workspace, folder, folder[:-1] + "0", len(folder) + 1),
        )
    }


def _row(workspace: str, uri: str, cached: Cached) -> tuple[object, ...]:
    size, mtime, ctime, inode = _STAT.unpack(cached[0])
    if inode >= _INODE_WRAP // 2:
        inode -= _INODE_WRAP
    return (workspace, uri, size, mtime, ctime, inode, cached[1])


def save(conn: sqlite3.Connection, workspace: str, rows: Mapping[str, Cached | None]) -> None:
    """Write changed rows inside the caller's transaction (None: forget that file)."""
    conn.executemany(
        "INSERT OR REPLACE INTO stat_cache(workspace, uri, size, mtime_ns, ctime_ns, inode, blob)"
        " VALUES (?,?,?,?,?,?,?)",
        (_row(workspace, uri, c) for uri, c in rows.items() if c is not None),
    )
    conn.executemany(
        "DELETE FROM stat_cache WHERE workspace=? AND uri=?",
        ((workspace, uri) for uri, c in rows.items() if c is None),
    )


class Stamp(NamedTuple):
    """What the folder signatures were written with: they hold for this checkpoint only (the
    newest of the workspace when they are read), under rules with this fingerprint."""

    checkpoint_id: int
    session_id: str
    rules: str
    folders: int
    """How many signatures were written: fewer found means some were lost (not complete)."""
    complete: bool
    """Every file of the checkpoint's manifest lies in a folder that has a signature."""
    files: int
    bytes: int
    """The manifest's file count and size."""
    base_files: int
    """The file count of the manifest's base (a full checkpoint)."""


class Folders(NamedTuple):
    signatures: dict[str, bytes]
    stamp: Stamp


def load_folders(
    conn: sqlite3.Connection, workspace: str, checkpoint_id: int, session_id: str, rules: str
) -> Folders | None:
    """The folder signatures, when they were written with checkpoint ``checkpoint_id`` (by
    its session) under the same rules; else None: they cannot be trusted."""
    row = conn.execute(
        "SELECT checkpoint_id, session_id, rules, folders, complete, files, bytes, base_files"
        " FROM stat_folders_stamp WHERE workspace=?",
        (workspace,),
    ).fetchone()
    if row is None:
        return None
    stamp = Stamp(*row)
    if (stamp.checkpoint_id, stamp.session_id, stamp.rules) != (checkpoint_id, session_id, rules):
        return None
    signatures: dict[str, bytes] = dict(
        conn.execute("SELECT folder, signature FROM stat_folders WHERE workspace=?", (workspace,))
    )
    complete = bool(stamp.complete) and len(signatures) == stamp.folders
    return Folders(signatures, stamp._replace(complete=complete))


def stamp_of(conn: sqlite3.Connection, workspace: str) -> tuple[int, str] | None:
    row = conn.execute(
        "SELECT checkpoint_id, session_id FROM stat_folders_stamp WHERE workspace=?", (workspace,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def save_folders(
    conn: sqlite3.Connection,
    workspace: str,
    rows: Mapping[str, bytes | None],
    stamp: Stamp,
    all_rows: Mapping[str, bytes] | None = None,
) -> None:
    """Write changed signatures and the stamp inside the caller's transaction; with
    ``all_rows``, replace every signature of the workspace by those (and ``rows``)."""
    if all_rows is not None:
        conn.execute("DELETE FROM stat_folders WHERE workspace=?", (workspace,))
        rows = {**all_rows, **rows}
    conn.executemany(
        "INSERT OR REPLACE INTO stat_folders(workspace, folder, signature) VALUES (?,?,?)",
        ((workspace, folder, sig) for folder, sig in rows.items() if sig is not None),
    )
    conn.executemany(
        "DELETE FROM stat_folders WHERE workspace=? AND folder=?",
        ((workspace, folder) for folder, sig in rows.items() if sig is None),
    )
    conn.execute(
        "INSERT OR REPLACE INTO stat_folders_stamp(workspace, checkpoint_id, session_id, rules,"
        " folders, complete, files, bytes, base_files) VALUES (?,?,?,?,?,?,?,?,?)",
        (workspace, *stamp),
    )


def load_listings(conn: sqlite3.Connection, workspace: str) -> Listings:
    """The folder listings a walk kept (``scan.Listings``), by the folder's inode. A row is
    a fact whoever wrote it ("the folder with this stat held these names"), checked against
    the folder's stat before it is used: rows of folders gone or moved are only passed over."""
    return listings_by_inode(
        conn.execute("SELECT listing, verdicts FROM stat_listings WHERE workspace=?", (workspace,))
    )


def save_listings(
    conn: sqlite3.Connection, workspace: str, rows: Mapping[str, bytes | None]
) -> None:
    """Write the listings of the folders a walk listed (None: forget) inside the caller's
    transaction: the names where an older SHIM reads them, the verdicts beside them (an older
    SHIM that writes the row again drops them)."""
    conn.executemany(
        "INSERT OR REPLACE INTO stat_listings(workspace, folder, listing, verdicts)"
        " VALUES (?,?,?,?)",
        (
            (workspace, folder, *split_kept(listing))
            for folder, listing in rows.items()
            if listing is not None
        ),
    )
    conn.executemany(
        "DELETE FROM stat_listings WHERE workspace=? AND folder=?",
        ((workspace, folder) for folder, listing in rows.items() if listing is None),
    )


def forget_unsigned_listings(conn: sqlite3.Connection, workspace: str) -> None:
    """Drop the listings of folders that have no signature once every signature has been
    written again: folders gone or left out since (a scan forgets those it saw vanish)."""
    conn.execute(
        "DELETE FROM stat_listings WHERE workspace=? AND folder NOT IN"
        " (SELECT folder FROM stat_folders WHERE workspace=?)",
        (workspace, workspace),
    )


def forget_missing_blobs(conn: sqlite3.Connection) -> int:
    """Drop rows whose blob was collected: they could only send a checkpoint to read again."""
    return conn.execute(
        "DELETE FROM stat_cache WHERE NOT EXISTS"
        " (SELECT 1 FROM blobs b WHERE b.hash = stat_cache.blob)"
    ).rowcount


def forget_cleared(conn: sqlite3.Connection) -> int:
    """Drop the cache of workspaces that no longer hold any checkpoint (their history was
    cleared): what was forgotten should not linger here."""
    for table in ("stat_folders", "stat_folders_stamp", "stat_listings"):
        conn.execute(
            f"DELETE FROM {table} WHERE workspace NOT IN (SELECT workspace FROM checkpoints)"
        )
    return conn.execute(
        "DELETE FROM stat_cache WHERE workspace NOT IN (SELECT workspace FROM checkpoints)"
    ).rowcount
