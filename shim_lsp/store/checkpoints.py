"""Checkpoints as manifests: keyframes and deltas.

A *full* checkpoint lists every file of the workspace. Later ones store only the files that
differ from their full base (a NULL blob marks a deletion), so a checkpoint's cost grows with
what changed, not with the workspace. Dirty buffers are stored whole in every checkpoint.
"""

from __future__ import annotations

import sqlite3
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from sys import intern
from typing import NamedTuple

from shim_lsp.store import blobs


class DiskEntry(NamedTuple):
    """A tuple: a manifest holds one per file of the workspace, so its size and the cost of
    making one count."""

    blob: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class BufferEntry:
    uri: str
    blob: str
    size: int
    version: int | None


@dataclass(frozen=True)
class CheckpointRow:
    id: int
    session_id: str
    workspace: str
    created_at: float
    label: str | None
    reason: str
    base_id: int | None
    journal_lseq: int
    files: int
    bytes: int

    def to_json(self) -> dict[str, object]:
        """The shape the commands and the CLI show."""
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "label": self.label,
            "reason": self.reason,
            "session": self.session_id,
            "files": self.files,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class NewCheckpoint:
    session_id: str
    workspace: str
    label: str | None
    reason: str
    journal_lseq: int
    base_id: int | None
    """None writes a full manifest; else ``disk`` is the delta against this full checkpoint."""
    disk: dict[str, DiskEntry | None]
    buffers: list[BufferEntry]
    files: int
    bytes: int


_COLUMNS = (
    "id, session_id, workspace, created_at, label, reason, base_id, journal_lseq, files, bytes"
)


def _row(r: tuple[object, ...]) -> CheckpointRow:
    return CheckpointRow(*r)  # type: ignore[arg-type]


LABEL_MAX = 200

CHAT_START = "chat-start"
"""The reason of an AI chat's first checkpoint: what the workspace was before the chat."""
CHAT_START_LABEL = "chat start"


def check_label(label: str) -> str:
    """A checkpoint's name: one line of text, not blank (a blank name would keep the
    checkpoint forever while it reads as unnamed)."""
    label = label.strip()
    if not label:
        raise ValueError("a checkpoint label cannot be blank")
    if any(unicodedata.category(c).startswith("C") for c in label):
        raise ValueError("a checkpoint label is one line of printable text")
    if len(label) > LABEL_MAX:
        raise ValueError(f"a checkpoint label has at most {LABEL_MAX} characters")
    return label


class MissingBase(LookupError):
    """A delta's base is gone (retention in another window removed it): write a full one."""


def write(conn: sqlite3.Connection, cp: NewCheckpoint, reused: Iterable[str] = ()) -> int:
    """Insert a checkpoint inside the caller's transaction (its blobs must be stored).

    ``reused`` names blobs that were already stored before this checkpoint: their use time is
    refreshed so that a concurrent collection in another window cannot take them. A delta
    whose base no longer exists is refused (checked in the same transaction as the insert).
    """
    if cp.base_id is not None and get(conn, cp.base_id) is None:
        raise MissingBase(f"checkpoint {cp.base_id}, the base of this delta, is gone")
    cur = conn.execute(
        "INSERT INTO checkpoints(session_id, workspace, created_at, label, reason, base_id,"
        " journal_lseq, files, bytes) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            cp.session_id,
            cp.workspace,
            time.time(),
            cp.label,
            cp.reason,
            cp.base_id,
            cp.journal_lseq,
            cp.files,
            cp.bytes,
        ),
    )
    cid = cur.lastrowid
    assert cid is not None
    conn.executemany(
        "INSERT INTO entries(checkpoint_id, kind, uri, blob, size, mtime_ns, version)"
        " VALUES (?, 'disk', ?, ?, ?, ?, NULL)",
        (
            (cid, uri, e.blob if e else None, e.size if e else None, e.mtime_ns if e else None)
            for uri, e in cp.disk.items()
        ),
    )
    conn.executemany(
        "INSERT INTO entries(checkpoint_id, kind, uri, blob, size, mtime_ns, version)"
        " VALUES (?, 'buffer', ?, ?, ?, NULL, ?)",
        ((cid, b.uri, b.blob, b.size, b.version) for b in cp.buffers),
    )
    blobs.touch(conn, reused)
    return cid


def get(conn: sqlite3.Connection, cid: int) -> CheckpointRow | None:
    r = conn.execute(f"SELECT {_COLUMNS} FROM checkpoints WHERE id=?", (cid,)).fetchone()
    return _row(r) if r else None


def list_for(
    conn: sqlite3.Connection, workspace: str | None = None, limit: int = 1000
) -> list[CheckpointRow]:
    if workspace is None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM checkpoints ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        )
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE workspace=?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (workspace, limit),
        )
    return [_row(r) for r in rows]


def latest(conn: sqlite3.Connection, workspace: str) -> CheckpointRow | None:
    rows = list_for(conn, workspace, limit=1)
    return rows[0] if rows else None


def disk_manifest(conn: sqlite3.Connection, cid: int) -> dict[str, DiskEntry]:
    """Every file on disk as checkpoint ``cid`` saw it (its base with its delta applied)."""
    row = get(conn, cid)
    if row is None:
        return {}
    if row.base_id is None:
        return disk_entries(conn, cid)
    manifest = disk_entries(conn, row.base_id)
    return apply_delta(manifest, disk_delta(conn, cid))


def disk_entries(conn: sqlite3.Connection, cid: int) -> dict[str, DiskEntry]:
    """The disk rows of one checkpoint as they are stored (a delta's deletions left out)."""
    # Interned: the same URI and blob strings are held by the stat cache and both manifests.
    make = tuple.__new__  # DiskEntry's own __new__ is Python code
    return {
        intern(uri): make(DiskEntry, (intern(blob), size, mtime))
        for uri, blob, size, mtime in conn.execute(
            "SELECT uri, blob, size, mtime_ns FROM entries"
            " WHERE checkpoint_id=? AND kind='disk' AND blob IS NOT NULL",
            (cid,),
        )
    }


def _in_folder(folder: str) -> tuple[str, str, int]:
    """SQL arguments for the direct children of ``folder`` (a URI ending in "/"): a range of
    the index on uri ("/" sorts just before "0"), then no further "/"."""
    return folder, folder[:-1] + "0", len(folder) + 1


def disk_entries_in(conn: sqlite3.Connection, cid: int, folder: str) -> dict[str, DiskEntry]:
    """``disk_entries`` for the files directly in one folder."""
    make = tuple.__new__
    return {
        intern(uri): make(DiskEntry, (intern(blob), size, mtime))
        for uri, blob, size, mtime in conn.execute(
            "SELECT uri, blob, size, mtime_ns FROM entries"
            " WHERE checkpoint_id=? AND kind='disk' AND uri >= ? AND uri < ?"
            " AND instr(substr(uri, ?), '/') = 0 AND blob IS NOT NULL",
            (cid, *_in_folder(folder)),
        )
    }


def has_disk_entry(conn: sqlite3.Connection, cid: int, uri: str) -> bool:
    """Whether checkpoint ``cid``'s own disk rows hold ``uri`` (not deleted)."""
    return (
        conn.execute(
            "SELECT 1 FROM entries WHERE checkpoint_id=? AND kind='disk' AND uri=?"
            " AND blob IS NOT NULL",
            (cid, uri),
        ).fetchone()
        is not None
    )


def disk_delta(conn: sqlite3.Connection, cid: int) -> dict[str, DiskEntry | None]:
    """A delta checkpoint's disk rows, deletions (None) included."""
    return {
        uri: None if blob is None else DiskEntry(blob, size, mtime)
        for uri, blob, size, mtime in conn.execute(
            "SELECT uri, blob, size, mtime_ns FROM entries WHERE checkpoint_id=? AND kind='disk'",
            (cid,),
        )
    }


def apply_delta(
    manifest: dict[str, DiskEntry], delta: dict[str, DiskEntry | None]
) -> dict[str, DiskEntry]:
    for uri, entry in delta.items():
        if entry is None:
            manifest.pop(uri, None)
        else:
            manifest[uri] = entry
    return manifest


def buffers(conn: sqlite3.Connection, cid: int) -> list[BufferEntry]:
    return [
        BufferEntry(uri, blob, size, version)
        for uri, blob, size, version in conn.execute(
            "SELECT uri, blob, size, version FROM entries WHERE checkpoint_id=? AND kind='buffer'"
            " ORDER BY uri",
            (cid,),
        )
    ]


def file_at(conn: sqlite3.Connection, cid: int, uri: str) -> tuple[str, bytes] | None:
    """(kind, content) of ``uri`` in a checkpoint: the unsaved buffer if any, else the disk."""
    for entry in buffers(conn, cid):
        if entry.uri == uri:
            data = blobs.get(conn, entry.blob)
            return ("buffer", data) if data is not None else None
    row = get(conn, cid)
    if row is None:
        return None
    for part in (cid, row.base_id):
        if part is None:
            continue
        hit = conn.execute(
            "SELECT blob FROM entries WHERE checkpoint_id=? AND kind='disk' AND uri=?",
            (part, uri),
        ).fetchone()
        if hit is not None:
            if hit[0] is None:
                return None
            data = blobs.get(conn, hit[0])
            return ("disk", data) if data is not None else None
    return None


@dataclass(frozen=True)
class FileVersion:
    checkpoint: CheckpointRow
    kind: str
    blob: str | None
    """None: the file did not exist (deleted) at that checkpoint."""
    size: int | None

    def to_json(self) -> dict[str, object]:
        return {
            **self.checkpoint.to_json(),
            "kind": self.kind,
            "deleted": self.blob is None,
            "size": self.size,
            "blob": self.blob,
        }


def file_history(conn: sqlite3.Connection, workspace: str, uri: str) -> list[FileVersion]:
    """Each checkpoint's version of one file, newest first, deletions included."""
    out: list[FileVersion] = []
    for row in list_for(conn, workspace):
        found: FileVersion | None = None
        for kind, blob, size in conn.execute(
            "SELECT kind, blob, size FROM entries WHERE checkpoint_id=? AND uri=?"
            " ORDER BY kind='buffer' DESC",
            (row.id, uri),
        ):
            found = FileVersion(row, kind, blob, size)
            break
        if found is None and row.base_id is not None:
            hit = conn.execute(
                "SELECT blob, size FROM entries WHERE checkpoint_id=? AND kind='disk' AND uri=?",
                (row.base_id, uri),
            ).fetchone()
            if hit is not None:
                found = FileVersion(row, "disk", hit[0], hit[1])
        if found is not None:
            out.append(found)
    return out


def holds(conn: sqlite3.Connection, workspace: str, uri: str) -> bool:
    """Some checkpoint of the workspace holds a version of the file (not only its deletion)."""
    return (
        conn.execute(
            "SELECT 1 FROM entries e JOIN checkpoints c ON c.id = e.checkpoint_id"
            " WHERE e.uri=? AND c.workspace=? AND e.blob IS NOT NULL LIMIT 1",
            (uri, workspace),
        ).fetchone()
        is not None
    )


def known_uris(conn: sqlite3.Connection, workspace: str) -> list[str]:
    """Every file any checkpoint of the workspace ever held, deleted and renamed ones included."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT e.uri FROM entries e JOIN checkpoints c ON c.id = e.checkpoint_id"
            " WHERE c.workspace=? ORDER BY e.uri",
            (workspace,),
        )
    ]


def delete(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    n = 0
    for cid in ids:
        conn.execute("DELETE FROM entries WHERE checkpoint_id=?", (cid,))
        n += conn.execute("DELETE FROM checkpoints WHERE id=?", (cid,)).rowcount
    return n
