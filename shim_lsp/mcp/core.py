"""The six core tools: a chat's session, recovery, signals, checkpoints and clearing."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, StrictBool, StrictFloat

from shim_lsp.mcp.chat import AUTO_INTERVAL_MAX_S, AUTO_INTERVAL_MIN_S, AUTO_INTERVAL_S
from shim_lsp.mcp.face import Face, unified_diff
from shim_lsp.recovery.chats import unfinished_chats
from shim_lsp.recovery.find import crashed_work, is_alive, sessions, state_of, work_left
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import retention
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import uri_to_path


def register(server: MCPServer[Any], face: Face) -> None:
    read, keys = face.read, face.keys

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
    )
    async def shim_auto_checkpoint(
        action: Annotated[
            Literal["on", "off", "report"],
            Field(description="on: start automatic checkpoints; off: stop them; report: say"),
        ] = "report",
        interval_seconds: Annotated[
            StrictFloat,
            Field(
                ge=AUTO_INTERVAL_MIN_S,
                le=AUTO_INTERVAL_MAX_S,
                description="with on: seconds between automatic checkpoints",
            ),
        ] = AUTO_INTERVAL_S,
    ) -> dict[str, Any]:
        """Turn automatic checkpoints of this workspace on or off for this chat, or report
        them. When on, SHIM checkpoints the files changed on disk every interval_seconds (SHIM's
        tools that write files always checkpoint first), so a long refactor can be rolled back
        to any of those points. Turn it on at the start of a chat that will change many files."""
        if action == "on":
            face.writes().set_auto(interval_seconds)
        elif action == "off":
            face.chat.set_auto(None)
        return face.chat.auto_report()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_check_recovery() -> dict[str, Any]:
        """Find work lost or left unfinished in this workspace: editor windows that closed or
        crashed with unsaved edits (their text is in SHIM's store, not on disk), and AI chats
        that died mid-way (the files they changed, with a diff from before the chat to its
        last checkpoint). Call it at the start of a chat, or when a file is not what you
        expected. It changes nothing; `shim recover` (in a shell) or the editor's SHIM:
        Recover Unsaved Work brings editor work back."""

        def find(conn: sqlite3.Connection) -> dict[str, Any]:
            windows = []
            chats = []
            for key in keys(conn):
                for row, files in crashed_work(
                    conn, key, face.engine.workspace.contains, exclude=face.engine.info.id
                ):
                    entries = []
                    for f in files:
                        path = uri_to_path(f.uri)
                        disk = read_bytes(path) if path is not None and f.disk_exists else None
                        on_disk = decode(disk, path) if disk is not None else ""
                        name = face.chat.shown(path) or f.uri
                        entries.append(
                            {
                                "path": name,
                                "editedAt": f.edited_at,
                                "fileChangedOnDiskSince": f.disk_changed,
                                "diffFromDiskToUnsaved": unified_diff(
                                    on_disk, f.text, f"{name} (on disk)", f"{name} (unsaved)"
                                ),
                            }
                        )
                    windows.append(
                        {
                            "session": row.id,
                            "kind": row.kind,
                            "state": state_of(row),
                            "endedAt": row.ended_at or row.heartbeat_at,
                            "files": entries,
                        }
                    )
                for work in unfinished_chats(
                    conn, key, face.engine.workspace.contains, exclude=face.engine.info.id
                ):
                    row = work.session
                    chats.append(
                        {
                            "session": row.id,
                            "state": state_of(row),
                            "startedAt": row.started_at,
                            "lastHeartbeatAt": row.heartbeat_at,
                            "checkpointBefore": work.first_checkpoint,
                            "checkpointAfter": work.last_checkpoint,
                            "codemodRunsCutOff": [
                                {"batch": b, "codemod": n, "undo": "shim_undo_codemod"}
                                for b, n in work.cut_off
                            ],
                            "files": [
                                {
                                    "path": face.chat.shown(uri_to_path(c.uri)) or c.uri,
                                    "change": "created"
                                    if c.before is None
                                    else "deleted"
                                    if c.after is None
                                    else "modified",
                                    "diff": c.diff(),
                                }
                                for c in work.changes
                            ],
                        }
                    )
            return {
                "unsavedWorkOfEditorWindows": windows,
                "unfinishedChats": chats,
                "found": bool(windows or chats),
            }

        return await read(find)

    @server.resource(
        "shim://recovery",
        name="recovery",
        mime_type="application/json",
        description="What shim_check_recovery says: work left by crashed windows and chats",
    )
    async def recovery_report() -> dict[str, Any]:
        return await shim_check_recovery()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_monitor_signals() -> dict[str, Any]:
        """SHIM's crash-risk signals now: its memory, the store's health and size, free disk
        space under the store, how far journal writes lag, and a risk level (low, elevated,
        high) with the reasons. Check it before a long or large operation; a high level means
        take a checkpoint (shim_force_checkpoint) first."""
        assessment = await anyio.to_thread.run_sync(face.engine.assess)
        return assessment.to_json()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_session_status() -> dict[str, Any]:
        """This chat's SHIM session (its id, the store, the last checkpoint, automatic
        checkpoints) and the editor windows open on this workspace, with the files they hold
        with unsaved edits (filesWithUnsavedEdits), on this machine and, through the Redis
        group when one is configured, on others. Do not write those files: the user is
        editing them and would lose the edits or get a conflict; ask the user to save first."""

        def look(conn: sqlite3.Connection) -> dict[str, Any]:
            ours = keys(conn)
            windows = [
                {"session": r.id, "pid": r.pid, "startedAt": r.started_at}
                for r in sessions(conn)
                if r.kind == "window" and r.workspace in ours and is_alive(r)
            ]
            return {"editorWindows": windows}

        found = await read(look)
        unsaved = await face.unsaved()
        status = face.engine.status()
        return {
            "session": status["session"],
            "kind": "chat",
            "pid": status["pid"],
            "workspace": str(face.chat.folder),
            "workspaceFrom": face.choice.source if face.choice else None,
            "writesRefused": face.choice.writes_refused if face.choice else None,
            "rootsIgnored": list(face.choice.ignored) if face.choice else [],
            "store": status["store"],
            "storeReady": status["storeReady"],
            "storeError": status["storeError"],
            "lastCheckpoint": status["lastCheckpoint"],
            "startCheckpoint": face.chat.start_report(),
            "autoCheckpoint": face.chat.auto_report(),
            "riskLevel": status["riskLevel"],
            "workspaceExists": face.chat.folder.is_dir(),
            "notices": face.chat.notices(),
            **found,
            "filesWithUnsavedEdits": unsaved.files,
            "group": unsaved.group.to_json(),
        }

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def shim_force_checkpoint(
        label: Annotated[
            str | None,
            Field(
                max_length=cps.LABEL_MAX,
                description="a name for it, e.g. 'before renaming Foo'; named checkpoints are"
                " kept until cleared, unnamed ones thin out with age",
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Checkpoint the whole workspace now (every file as it is on disk), optionally named.
        Take one before a risky change (a refactor over many files, a generated rewrite) so the
        files can be compared with it or brought back from it. Returns the checkpoint's id."""
        if label is not None:
            try:
                label = cps.check_label(label)
            except ValueError as exc:
                raise ToolError(f"label: {exc}") from exc
        try:
            result = await anyio.to_thread.run_sync(face.writes().checkpoint, label, "manual")
        except (OSError, sqlite3.Error) as exc:
            raise ToolError(f"the checkpoint could not be taken: {exc}") from exc
        # Read back on a connection of its own: a store damaged under the running writer
        # takes the write and serves it to nobody, and the chat must not count on it.
        try:
            found = await read(lambda conn: cps.get(conn, result.id))
        except ToolError as exc:
            raise ToolError(
                f"checkpoint {result.id} was written, but {exc}: do not count on it (the store"
                " may be damaged; SHIM moves a damaged store aside when it starts next)"
            ) from exc
        if found is None:
            raise ToolError(f"checkpoint {result.id} was written but cannot be found in the store")
        return result.to_json()

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def shim_clear_state(
        confirm: Annotated[
            StrictBool,
            Field(description="true to clear; false (the default) only says what would go"),
        ] = False,
    ) -> dict[str, Any]:
        """Forget SHIM's history of this workspace: the journals, checkpoints and recovery
        records of its ended sessions (editor windows and chats) and this chat's own
        checkpoints; unsaved work that crashed windows left goes with them. Sessions still
        running (other editor windows, other chats) keep theirs. Never touches the files of
        the workspace. Irreversible: call it with confirm false first, and with confirm true
        only when the user asked to clear SHIM's state."""

        def choose(conn: sqlite3.Connection) -> tuple[list[str], list[str], list[dict[str, Any]]]:
            ours = keys(conn)
            ids = [r.id for r in sessions(conn) if r.workspace in ours]
            live = [r.id for r in sessions(conn) if is_alive(r)]
            lost = work_left(conn, set(ids) - set(live) - {face.engine.info.id})
            return ids, live, [{"folders": w.folders, "files": w.files} for w in lost]

        ids, live, lost = await read(choose)
        ended = sorted(set(ids) - set(live) - {face.engine.info.id})
        what = {
            "endedSessions": len(ended),
            "runningSessionsKept": len(set(ids) & set(live) - {face.engine.info.id}),
            "unsavedWorkForgotten": lost,
            "filesTouched": 0,
        }
        if not confirm:
            return {"cleared": False, **what, "note": "nothing was cleared: pass confirm true"}
        face.writes()
        counts = await anyio.to_thread.run_sync(
            lambda: face.engine.writer.submit(
                lambda c: retention.clear(c, ids, live=live, current=face.engine.info.id)
            ).result()
        )
        face.engine.forget_store_state()
        return {"cleared": True, **what, **counts}
