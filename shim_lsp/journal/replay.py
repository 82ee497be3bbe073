"""Rebuilding a buffer's text at any journaled instant.

The base is the newest full text at or before that instant (the document's ``open`` record or
a checkpoint's copy of the buffer); the changes after it are applied with pygls's own
``TextDocument`` (lines counted as LSP counts them, ``LspTextDocument``), the same code that
kept the server's copy of the buffer, so both agree on every position, whatever the
negotiated encoding.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shim_lsp.journal.records import Change, decode_changes
from shim_lsp.store import blobs
from shim_lsp.store.db import storable, text_of

if TYPE_CHECKING:
    from lsprotocol import types
    from pygls.workspace import TextDocument

# lsprotocol and pygls load when a buffer is rebuilt (most of a CLI command's start-up time
# otherwise, for commands that rebuild nothing).


def make_document(uri: str, text: str, version: int | None, encoding: str) -> TextDocument:
    from lsprotocol.types import PositionEncodingKind
    from pygls.workspace.position_codec import PositionCodec

    from shim_lsp.textlines import LspTextDocument

    kinds = {
        "utf-8": PositionEncodingKind.Utf8,
        "utf-16": PositionEncodingKind.Utf16,
        "utf-32": PositionEncodingKind.Utf32,
    }
    codec = PositionCodec(kinds.get(encoding, PositionEncodingKind.Utf16))
    return LspTextDocument(uri, text, version=version, position_codec=codec)


def to_lsp_change(change: Change) -> types.TextDocumentContentChangeEvent:
    from lsprotocol import types

    if len(change) == 1:
        return types.TextDocumentContentChangeWholeDocument(text=str(change[0]))
    sl, sc, el, ec, text = change
    return types.TextDocumentContentChangePartial(
        range=types.Range(
            start=types.Position(line=int(sl), character=int(sc)),
            end=types.Position(line=int(el), character=int(ec)),
        ),
        text=str(text),
    )


def apply_changes(doc: TextDocument, changes: list[Change]) -> None:
    for change in changes:
        doc.apply_change(to_lsp_change(change))


@dataclass(frozen=True)
class BufferState:
    uri: str
    text: str
    version: int | None
    lseq: int
    """The last journal record reflected in ``text``."""
    open: bool
    """False when the document had been closed at that instant."""
    dirty: bool
    """True when it changed since it was opened or last saved."""
    disk_hash: str | None
    """Hash of the file on disk when the session last synced with it (open or save)."""
    ts: float


def session_encoding(conn: sqlite3.Connection, session_id: str) -> str:
    row = conn.execute(
        "SELECT position_encoding FROM sessions WHERE id=?", (session_id,)
    ).fetchone()
    return str(row[0]) if row else "utf-16"


def rebuild(
    conn: sqlite3.Connection, session_id: str, uri: str, upto_lseq: int | None = None
) -> BufferState | None:
    """The buffer of ``uri`` in a session as it stood after record ``upto_lseq`` (default: last)."""
    limit = upto_lseq if upto_lseq is not None else 2**62
    key = storable(uri)
    opened = conn.execute(
        "SELECT lseq, version, ts, data, disk_hash, kind FROM journal WHERE session_id=?"
        " AND uri=? AND kind IN ('open', 'snapshot') AND lseq<=? ORDER BY lseq DESC LIMIT 1",
        (session_id, key, limit),
    ).fetchone()
    if opened is None:
        return None
    base_lseq, version, ts, text, disk_hash, base_kind = opened
    snap = conn.execute(
        "SELECT c.journal_lseq, e.version, e.blob, c.created_at FROM entries e"
        " JOIN checkpoints c ON c.id = e.checkpoint_id"
        " WHERE c.session_id=? AND e.uri=? AND e.kind='buffer'"
        " AND c.journal_lseq>=? AND c.journal_lseq<=? ORDER BY c.journal_lseq DESC LIMIT 1",
        (session_id, key, base_lseq, limit),
    ).fetchone()
    if snap is not None and snap[2] is not None:
        data = blobs.get(conn, snap[2])
        if data is not None:
            base_lseq, version, text, ts = snap[0], snap[1], blobs.buffer_text(data), snap[3]
    doc = make_document(uri, text_of(text) or "", version, session_encoding(conn, session_id))
    dirty = snap is not None or base_kind == "snapshot"
    is_open = True
    last_lseq = base_lseq
    for lseq, kind, ver, rts, data, dhash in conn.execute(
        "SELECT lseq, kind, version, ts, data, disk_hash FROM journal"
        " WHERE session_id=? AND uri=? AND lseq>? AND lseq<=? ORDER BY lseq",
        (session_id, key, base_lseq, limit),
    ):
        last_lseq, ts = lseq, rts
        if kind == "change":
            apply_changes(doc, decode_changes(text_of(data) or "[]"))
            doc.version = ver
            dirty = True
        elif kind == "save":
            dirty = False
            disk_hash = dhash
        elif kind == "close":
            is_open = False
            break
    return BufferState(
        uri=uri,
        text=doc.source,
        version=doc.version,
        lseq=last_lseq,
        open=is_open,
        dirty=dirty,
        disk_hash=disk_hash,
        ts=ts,
    )


def dirty_open_uris(conn: sqlite3.Connection, session_id: str) -> list[tuple[str, float]]:
    """The documents a session has open with unsaved edits, and when each last changed: those
    whose last record is a change or an unsaved snapshot (what ``rebuild`` would say is open
    and dirty), in one indexed query instead of a replay per document."""
    return [
        (str(text_of(uri)), float(ts))
        for uri, kind, ts, _lseq in conn.execute(
            # SQLite gives the bare columns of the row holding MAX(lseq) in each group.
            "SELECT uri, kind, ts, MAX(lseq) FROM journal WHERE session_id=? GROUP BY uri",
            (session_id,),
        )
        if kind in ("change", "snapshot")
    ]


def touched_uris(conn: sqlite3.Connection, session_id: str) -> list[str]:
    return [
        str(text_of(r[0]))
        for r in conn.execute(
            "SELECT DISTINCT uri FROM journal WHERE session_id=? ORDER BY uri", (session_id,)
        )
    ]


def history(conn: sqlite3.Connection, session_id: str, uri: str) -> list[tuple[int, str, float]]:
    """(lseq, kind, ts) of every journaled event of a document: the instants one can rebuild."""
    return [
        (int(r[0]), str(r[1]), float(r[2]))
        for r in conn.execute(
            "SELECT lseq, kind, ts FROM journal WHERE session_id=? AND uri=? ORDER BY lseq",
            (session_id, storable(uri)),
        )
    ]
