"""Settling what dead sessions left, as the editor's Dismiss does: marked dismissed, kept in
SHIM's history for a while, never a file touched."""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, StrictBool

from shim_lsp.mcp.face import Face
from shim_lsp.recovery.chats import unfinished_chats
from shim_lsp.recovery.find import SessionRow, crashed_work, resolve_session, state_of
from shim_lsp.store.retention import journal_kept_s


def register(server: MCPServer[Any], face: Face) -> None:
    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def shim_dismiss_recovery(
        session: Annotated[
            str | None,
            Field(
                min_length=4,
                description="the session (its id, or the start of it) that shim_check_recovery"
                " lists; none: every one it lists",
            ),
        ] = None,
        confirm: Annotated[
            StrictBool,
            Field(description="true to dismiss; false (the default) only says what would be"),
        ] = False,
    ) -> dict[str, Any]:
        """Stop reporting the unfinished work of dead AI chats and the unsaved work of closed
        or crashed editor windows, as the editor's Dismiss does: no file is touched and
        nothing is deleted (the work stays in SHIM's history for a while, and `shim recover
        --session ID --print` still shows it). Call it with confirm false first, and with
        confirm true only when the user said the work is not wanted."""

        def find(conn: sqlite3.Connection) -> list[tuple[SessionRow, int]]:
            engine = face.engine
            found: list[tuple[SessionRow, int]] = []
            for key in face.keys(conn):
                for row, files in crashed_work(
                    conn, key, engine.workspace.contains, exclude=engine.info.id
                ):
                    found.append((row, len(files)))
                for work in unfinished_chats(
                    conn, key, engine.workspace.contains, exclude=engine.info.id
                ):
                    found.append((work.session, len(work.changes)))
            return found

        found = await face.read(find)
        if session is not None:
            found = [(row, n) for row, n in found if row.id.startswith(session)]
            if not found:
                raise ToolError(
                    f"no session starting with {session!r} has work waiting"
                    " (shim_check_recovery lists them)"
                )
        listed = [
            {"session": row.id, "kind": row.kind, "state": state_of(row), "files": n}
            for row, n in found
        ]
        days = journal_kept_s(face.engine.settings) / 86400
        if not confirm:
            return {
                "dismissed": False,
                "sessions": listed,
                "note": "nothing was dismissed: pass confirm true",
            }
        writer = face.writes().engine.writer

        def settle() -> None:
            for row, _n in found:
                writer.submit(
                    partial(resolve_session, session_id=row.id, resolution="dismissed")
                ).result()

        await anyio.to_thread.run_sync(settle)
        return {
            "dismissed": True,
            "sessions": listed,
            "note": f"no file was touched; the work stays in SHIM's history for {days:g} days"
            " (`shim recover --session ID --print` shows it)",
        }
