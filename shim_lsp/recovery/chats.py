"""What AI chat sessions left unfinished, and which files editor windows hold unsaved.

A chat (an MCP client driving SHIM) has no buffers: its work is the files it changed on disk.
Its first checkpoint, taken when it starts, is what the workspace was before it; its later
checkpoints (on an interval, before each mutating tool, or asked for) are what it made. A chat
that ended without a clean end leaves those changes as unfinished work: which files, and their
text before and after. A codemod run the chat started after its last checkpoint (it died while
writing, or before its closing checkpoint) adds its files as they are on disk now.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shim_lsp.journal.replay import dirty_open_uris
from shim_lsp.recovery.find import SessionRow, is_alive, sessions, state_of
from shim_lsp.store import batches, blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import uri_to_path

DIFF_MAX_CHARS = 20_000
"""A diff longer than this is cut (and says so): a model reads it, whole files it can read."""


@dataclass(frozen=True)
class HeldFile:
    """A file that a running editor window holds with unsaved edits."""

    session_id: str
    uri: str
    path: str | None
    edited_at: float


def held_unsaved(
    conn: sqlite3.Connection, inside: Callable[[Path], bool], exclude: str | None = None
) -> list[HeldFile]:
    """Files inside the workspace that a live window on this machine has open with unsaved
    edits, from its journal (committed within milliseconds of each keystroke)."""
    found: list[HeldFile] = []
    for row in sessions(conn):
        if row.id == exclude or row.kind != "window" or not is_alive(row):
            continue
        for uri, edited_at in dirty_open_uris(conn, row.id):
            path = uri_to_path(uri)
            if path is not None and inside(path):
                found.append(HeldFile(row.id, uri, str(path), edited_at))
    return found


@dataclass(frozen=True)
class ChatChange:
    uri: str
    before: str | None
    """The text when the chat started (None: the file did not exist then)."""
    after: str | None
    """The text the chat left: at its last checkpoint, or on disk now for a file of a codemod
    run it started after that checkpoint (None: the chat deleted it)."""

    def diff(self) -> str:
        path = uri_to_path(self.uri)
        name = str(path) if path else self.uri
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            (self.after or "").splitlines(keepends=True),
            f"{name} (before the chat)",
            f"{name} (as the chat left it)",
        )
        text = "".join(lines)
        if len(text) > DIFF_MAX_CHARS:
            return text[:DIFF_MAX_CHARS] + f"\n... (cut at {DIFF_MAX_CHARS} characters)\n"
        return text


@dataclass(frozen=True)
class ChatWork:
    session: SessionRow
    first_checkpoint: int | None
    last_checkpoint: int | None
    changes: list[ChatChange]
    cut_off: list[tuple[str, str]]
    """(batch id, codemod) of the runs started after the last checkpoint and not undone: the
    chat may have died while writing their files; shim_undo_codemod takes them back."""


def _text(conn: sqlite3.Connection, entry: cps.DiskEntry | None, uri: str) -> str | None:
    if entry is None:
        return None
    data = blobs.get(conn, entry.blob)
    return None if data is None else decode(data, uri_to_path(uri))


def chat_changes(
    conn: sqlite3.Connection, row: SessionRow, inside: Callable[[Path], bool]
) -> ChatWork:
    """The files a chat changed between its first checkpoint and its last, and those of the
    codemod runs it started after its last."""
    ids = sorted(
        r[0] for r in conn.execute("SELECT id FROM checkpoints WHERE session_id=?", (row.id,))
    )
    if not ids:
        return ChatWork(row, None, None, [], [])
    before, after = cps.disk_manifest(conn, ids[0]), cps.disk_manifest(conn, ids[-1])
    changes: dict[str, ChatChange] = {}
    for uri in sorted(set(before) | set(after)):
        old, new = before.get(uri), after.get(uri)
        if (old and old.blob) == (new and new.blob):
            continue
        path = uri_to_path(uri)
        if path is not None and not inside(path):
            continue
        changes[uri] = ChatChange(uri, _text(conn, old, uri), _text(conn, new, uri))
    cut_off = batches.started_after(conn, ids[-1])
    for batch_id, _name in cut_off:
        for uri in batches.uris(conn, batch_id):
            path = uri_to_path(uri)
            if path is None or not inside(path):
                continue
            data = read_bytes(path)
            now = decode(data, path) if data is not None else None
            first = _text(conn, before.get(uri), uri)
            if now == first:
                changes.pop(uri, None)
            else:
                changes[uri] = ChatChange(uri, first, now)
    return ChatWork(row, ids[0], ids[-1], [changes[u] for u in sorted(changes)], cut_off)


def unfinished_chats(
    conn: sqlite3.Connection,
    workspace: str,
    inside: Callable[[Path], bool],
    exclude: str | None = None,
    include_resolved: bool = False,
) -> list[ChatWork]:
    """Chats of the workspace that ended without a clean end (killed, crashed), newest first,
    with what they changed; chats that changed nothing are left out, and dismissed ones unless
    ``include_resolved``."""
    out = []
    for row in sessions(conn, workspace):
        if row.kind != "chat" or row.id == exclude:
            continue
        if row.resolved_at is not None and not include_resolved:
            continue
        if state_of(row) in ("running", "clean"):
            continue
        work = chat_changes(conn, row, inside)
        if work.changes or work.cut_off:
            out.append(work)
    return out
