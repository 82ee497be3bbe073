"""Codemod undo batches: each file's text before and after a run, kept until undone.

They live in the store, not in the server's memory, so that a run can be undone after the
editor or the server restarted; each names the checkpoint taken just before the run. Texts
are compressed like blobs but kept here, out of reach of the blob collector.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

from shim_lsp.store import blobs


@dataclass
class Batch:
    name: str
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    """uri -> (text before, text after)."""
    checkpoint: int | None = None
    """The checkpoint taken before the run."""


def _pack(text: str) -> tuple[str, bytes]:
    return blobs.encode(text.encode("utf-8", "surrogatepass"))


def _unpack(codec: str, data: bytes) -> str:
    return blobs.decode(codec, data).decode("utf-8", "surrogatepass")


def save(conn: sqlite3.Connection, batch_id: str, workspace: str, batch: Batch) -> None:
    conn.execute(
        "INSERT INTO codemod_batches(id, workspace, name, checkpoint_id, created_at)"
        " VALUES (?,?,?,?,?)",
        (batch_id, workspace, batch.name, batch.checkpoint, time.time()),
    )
    conn.executemany(
        "INSERT INTO codemod_batch_files(batch_id, uri, before_codec, before, after_codec, after)"
        " VALUES (?,?,?,?,?,?)",
        [
            (batch_id, uri, *_pack(before), *_pack(after))
            for uri, (before, after) in batch.files.items()
        ],
    )


def replace(conn: sqlite3.Connection, batch_id: str, workspace: str, batch: Batch) -> None:
    """The batch under ``batch_id`` becomes ``batch``; one without files is deleted."""
    delete(conn, batch_id)
    if batch.files:
        save(conn, batch_id, workspace, batch)


def load(conn: sqlite3.Connection, batch_id: str, workspace: str) -> Batch | None:
    row = conn.execute(
        "SELECT name, checkpoint_id FROM codemod_batches WHERE id=? AND workspace=?",
        (batch_id, workspace),
    ).fetchone()
    if row is None:
        return None
    batch = Batch(row[0], checkpoint=row[1])
    for uri, bc, before, ac, after in conn.execute(
        "SELECT uri, before_codec, before, after_codec, after FROM codemod_batch_files"
        " WHERE batch_id=?",
        (batch_id,),
    ):
        batch.files[uri] = (_unpack(bc, before), _unpack(ac, after))
    return batch


def started_after(conn: sqlite3.Connection, checkpoint_id: int) -> list[tuple[str, str]]:
    """(id, codemod name) of the runs not undone whose 'before' is ``checkpoint_id``."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT id, name FROM codemod_batches WHERE checkpoint_id=? ORDER BY created_at",
            (checkpoint_id,),
        )
    ]


def uris(conn: sqlite3.Connection, batch_id: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute("SELECT uri FROM codemod_batch_files WHERE batch_id=?", (batch_id,))
    ]


def delete(conn: sqlite3.Connection, batch_id: str) -> None:
    conn.execute("DELETE FROM codemod_batch_files WHERE batch_id=?", (batch_id,))
    conn.execute("DELETE FROM codemod_batches WHERE id=?", (batch_id,))
