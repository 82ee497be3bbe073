"""What SHIM's MCP tools share: the chat, store reads off the event loop, paths checked
against the workspace, checkpoints scoped to it."""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from shim_lsp.mcp.chat import Chat, OutsideWorkspace
from shim_lsp.recovery.chats import DIFF_MAX_CHARS, held_unsaved
from shim_lsp.recovery.find import sessions
from shim_lsp.store import blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.encoding import to_file_bytes
from shim_lsp.workspace.files import read_bytes
from shim_lsp.workspace.paths import path_to_uri

T = TypeVar("T")


def unified_diff(before: str, after: str, old: str, new: str) -> str:
    """A unified diff, cut (and saying so) past what a model should have to read."""
    text = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
        )
    )
    if len(text) > DIFF_MAX_CHARS:
        return text[:DIFF_MAX_CHARS] + f"\n... (cut at {DIFF_MAX_CHARS} characters)\n"
    return text


class Face:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.engine = chat.engine

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a store read on a worker thread, on a connection of its own."""

        def run() -> T:
            try:
                with self.engine.reader() as conn:
                    return fn(conn)
            except (OSError, sqlite3.Error) as exc:
                raise ToolError(f"SHIM's store cannot be read: {exc}") from exc

        return await anyio.to_thread.run_sync(run)

    def keys(self, conn: sqlite3.Connection) -> set[str]:
        """This workspace's key, and those of sessions whose folders include it."""
        folder = str(self.chat.folder)
        return {self.engine.workspace.key} | {
            r.workspace for r in sessions(conn) if folder in r.folders.split("\n")
        }

    def held(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        """Files editor windows hold with unsaved edits, as the chat names files."""
        return [
            {"path": self.chat.shown(h.path), "session": h.session_id, "editedAt": h.edited_at}
            for h in held_unsaved(conn, self.engine.workspace.contains, self.engine.info.id)
        ]

    def checkpoint_of(self, conn: sqlite3.Connection, cid: int) -> cps.CheckpointRow:
        row = cps.get(conn, cid)
        # Checkpoint ids are scoped to this workspace: another's are not found.
        if row is None or row.workspace not in self.keys(conn):
            raise ToolError(
                f"no checkpoint {cid} in this workspace (shim_list_checkpoints lists them)"
            )
        return row

    def inside(self, path: str) -> Path:
        try:
            return self.chat.resolve(path)
        except OutsideWorkspace as exc:
            raise ToolError(str(exc)) from exc

    def bytes_at(self, conn: sqlite3.Connection, cid: int, path: Path) -> tuple[str, bytes] | None:
        """A file's bytes in a checkpoint (an unsaved buffer's text in the file's encoding)."""
        found = cps.file_at(conn, cid, path_to_uri(path))
        if found is None:
            return None
        kind, data = found
        if kind == "buffer":
            return kind, to_file_bytes(blobs.buffer_text(data), read_bytes(path), path)
        return kind, data
