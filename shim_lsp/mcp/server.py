"""SHIM's tools for AI chat sessions, on the official MCP SDK (``MCPServer``).

Each tool is glue: it checks its arguments, calls the same core the language server and the
CLI call (session engine, recovery, store), and returns a plain dict (the SDK sends it as
structured content, and as JSON text for clients that read only text). Expected failures are
``ToolError``s with a message a model can act on; the server keeps serving.
"""

from __future__ import annotations

import difflib
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from shim_lsp import __version__
from shim_lsp.mcp.chat import (
    AUTO_INTERVAL_MAX_S,
    AUTO_INTERVAL_MIN_S,
    AUTO_INTERVAL_S,
    Chat,
    OutsideWorkspace,
)
from shim_lsp.recovery.chats import DIFF_MAX_CHARS, held_unsaved, unfinished_chats
from shim_lsp.recovery.find import crashed_work, is_alive, sessions, state_of, work_left
from shim_lsp.settings import Settings
from shim_lsp.store import blobs, retention
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.encoding import Unencodable, to_file_bytes
from shim_lsp.workspace.files import decode, read_bytes, write_atomic
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

T = TypeVar("T")

INSTRUCTIONS = """SHIM protects the work in this workspace: it checkpoints files into a local \
store, finds work left unsaved or unfinished by crashed editor windows and chats, and knows which \
files editor windows hold with unsaved edits. Call shim_session_status before editing files \
(do not write files it lists under filesWithUnsavedEdits), shim_check_recovery at the start of \
a chat, and shim_force_checkpoint before a risky change."""


def _diff(before: str, after: str, old: str, new: str) -> str:
    text = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
        )
    )
    if len(text) > DIFF_MAX_CHARS:
        return text[:DIFF_MAX_CHARS] + f"\n... (cut at {DIFF_MAX_CHARS} characters)\n"
    return text


def build_server(chat: Chat) -> MCPServer[Any]:
    """The MCP server of one chat: its tools close over the chat's session."""
    server: MCPServer[Any] = MCPServer(
        "shim", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    engine = chat.engine

    async def read(fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a store read on a worker thread, on a connection of its own."""

        def run() -> T:
            try:
                with engine.reader() as conn:
                    return fn(conn)
            except (OSError, sqlite3.Error) as exc:
                raise ToolError(f"SHIM's store cannot be read: {exc}") from exc

        return await anyio.to_thread.run_sync(run)

    def keys(conn: sqlite3.Connection) -> set[str]:
        """This workspace's key, and those of sessions whose folders include it."""
        folder = str(chat.folder)
        return {engine.workspace.key} | {
            r.workspace for r in sessions(conn) if folder in r.folders.split("\n")
        }

    def held(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        return [
            {"path": chat.shown(h.path), "session": h.session_id, "editedAt": h.edited_at}
            for h in held_unsaved(conn, engine.workspace.contains, exclude=engine.info.id)
        ]

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
    )
    async def shim_auto_checkpoint(
        action: Annotated[
            Literal["on", "off", "report"],
            Field(description="on: start automatic checkpoints; off: stop them; report: say"),
        ] = "report",
        interval_seconds: Annotated[
            float,
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
            chat.set_auto(interval_seconds)
        elif action == "off":
            chat.set_auto(None)
        return chat.auto_report()

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
                    conn, key, engine.workspace.contains, exclude=engine.info.id
                ):
                    entries = []
                    for f in files:
                        path = uri_to_path(f.uri)
                        disk = read_bytes(path) if path is not None and f.disk_exists else None
                        on_disk = decode(disk, path) if disk is not None else ""
                        name = chat.shown(path) or f.uri
                        entries.append(
                            {
                                "path": name,
                                "editedAt": f.edited_at,
                                "fileChangedOnDiskSince": f.disk_changed,
                                "diffFromDiskToUnsaved": _diff(
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
                    conn, key, engine.workspace.contains, exclude=engine.info.id
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
                            "files": [
                                {
                                    "path": chat.shown(uri_to_path(c.uri)) or c.uri,
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

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_monitor_signals() -> dict[str, Any]:
        """SHIM's crash-risk signals now: its memory, the store's health and size, free disk
        space under the store, how far journal writes lag, and a risk level (low, medium,
        high) with the reasons. Check it before a long or large operation; a high level means
        take a checkpoint (shim_force_checkpoint) first."""
        assessment = await anyio.to_thread.run_sync(engine.assess)
        return assessment.to_json()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_session_status() -> dict[str, Any]:
        """This chat's SHIM session (its id, the store, the last checkpoint, automatic
        checkpoints) and the editor windows open on this workspace, with the files they hold
        with unsaved edits (filesWithUnsavedEdits). Do not write those files: the user is
        editing them and would lose the edits or get a conflict; ask the user to save first."""

        def look(conn: sqlite3.Connection) -> dict[str, Any]:
            ours = keys(conn)
            windows = [
                {"session": r.id, "pid": r.pid, "startedAt": r.started_at}
                for r in sessions(conn)
                if r.kind == "window" and r.workspace in ours and is_alive(r)
            ]
            return {"editorWindows": windows, "filesWithUnsavedEdits": held(conn)}

        found = await read(look)
        status = engine.status()
        return {
            "session": status["session"],
            "kind": "chat",
            "pid": status["pid"],
            "workspace": str(chat.folder),
            "store": status["store"],
            "storeReady": status["storeReady"],
            "storeError": status["storeError"],
            "lastCheckpoint": status["lastCheckpoint"],
            "startCheckpoint": chat.start_report(),
            "autoCheckpoint": chat.auto_report(),
            "riskLevel": status["riskLevel"],
            **found,
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
            result = await anyio.to_thread.run_sync(chat.checkpoint, label, "manual")
        except OSError as exc:
            raise ToolError(f"the checkpoint could not be taken: {exc}") from exc
        return result.to_json()

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def shim_clear_state(
        confirm: Annotated[
            bool,
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
            lost = work_left(conn, set(ids) - set(live) - {engine.info.id})
            return ids, live, [{"folders": w.folders, "files": w.files} for w in lost]

        ids, live, lost = await read(choose)
        ended = sorted(set(ids) - set(live) - {engine.info.id})
        what = {
            "endedSessions": len(ended),
            "runningSessionsKept": len(set(ids) & set(live) - {engine.info.id}),
            "unsavedWorkForgotten": lost,
            "filesTouched": 0,
        }
        if not confirm:
            return {"cleared": False, **what, "note": "nothing was cleared: pass confirm true"}
        counts = await anyio.to_thread.run_sync(
            lambda: engine.writer.submit(
                lambda c: retention.clear(c, ids, live=live, current=engine.info.id)
            ).result()
        )
        engine.forget_store_state()
        return {"cleared": True, **what, **counts}

    def checkpoint_of(conn: sqlite3.Connection, cid: int) -> cps.CheckpointRow:
        row = cps.get(conn, cid)
        # Checkpoint ids are scoped to this workspace: another's are not found.
        if row is None or row.workspace not in keys(conn):
            raise ToolError(
                f"no checkpoint {cid} in this workspace (shim_list_checkpoints lists them)"
            )
        return row

    def inside(path: str) -> Path:
        try:
            return chat.resolve(path)
        except OutsideWorkspace as exc:
            raise ToolError(str(exc)) from exc

    def text_at(conn: sqlite3.Connection, cid: int, path: Path) -> tuple[str, bytes] | None:
        found = cps.file_at(conn, cid, path_to_uri(path))
        if found is None:
            return None
        kind, data = found
        if kind == "buffer":
            return kind, to_file_bytes(blobs.buffer_text(data), read_bytes(path), path)
        return kind, data

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_list_checkpoints(
        path: Annotated[
            str | None,
            Field(
                description="a file (relative to the workspace): only the checkpoints"
                " holding a version of it"
            ),
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=1000, description="at most this many, newest first")
        ] = 50,
    ) -> dict[str, Any]:
        """The checkpoints of this workspace, newest first (id, time, label, reason, files),
        or, given a path, the checkpoints holding a version of that file. Use the ids with
        shim_diff_checkpoint and shim_restore_checkpoint."""
        file = inside(path) if path is not None else None

        def look(conn: sqlite3.Connection) -> dict[str, Any]:
            ours = keys(conn)
            if file is not None:
                versions = [
                    v.to_json() for k in ours for v in cps.file_history(conn, k, path_to_uri(file))
                ]
                versions.sort(key=lambda v: -float(str(v["createdAt"])))
                return {"path": chat.shown(file), "checkpoints": versions[:limit]}
            rows = sorted((c for k in ours for c in cps.list_for(conn, k)), key=lambda c: -c.id)
            return {"checkpoints": [c.to_json() for c in rows[:limit]]}

        return await read(look)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_diff_checkpoint(
        checkpoint: Annotated[int, Field(ge=1, description="the checkpoint's id")],
        path: Annotated[
            str | None,
            Field(description="a file (relative to the workspace); none: every file that differs"),
        ] = None,
    ) -> dict[str, Any]:
        """A unified diff from a checkpoint to the files on disk now: of one file, or of every
        file that differs. Use it to see what changed since a checkpoint before restoring."""
        file = inside(path) if path is not None else None

        def diff(conn: sqlite3.Connection) -> dict[str, Any]:
            checkpoint_of(conn, checkpoint)
            if file is not None:
                uris = [path_to_uri(file)]
            else:
                manifest = cps.disk_manifest(conn, checkpoint)
                uris = sorted(set(manifest) | {b.uri for b in cps.buffers(conn, checkpoint)})
            out = []
            for uri in uris:
                p = uri_to_path(uri)
                if p is None or not engine.workspace.contains(p) or not engine.may_read(p):
                    continue
                then = text_at(conn, checkpoint, p)
                now = read_bytes(p)
                if (then[1] if then else None) == now:
                    continue
                name = chat.shown(p) or uri
                out.append(
                    {
                        "path": name,
                        "diff": _diff(
                            decode(then[1], p) if then else "",
                            decode(now, p) if now is not None else "",
                            f"{name} (checkpoint {checkpoint})",
                            f"{name} (on disk)",
                        ),
                    }
                )
            return {"checkpoint": checkpoint, "files": out, "differ": len(out)}

        return await read(diff)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def shim_restore_checkpoint(
        checkpoint: Annotated[int, Field(ge=1, description="the checkpoint's id")],
        paths: Annotated[
            list[str],
            Field(min_length=1, description="the files to bring back (relative to the workspace)"),
        ],
        force: Annotated[
            bool,
            Field(description="also restore files changed on disk since SHIM's last checkpoint"),
        ] = False,
    ) -> dict[str, Any]:
        """Write files back to disk as a checkpoint held them. The workspace is checkpointed
        first, so a restore can itself be undone. Refuses a file that an editor window holds
        with unsaved edits (ask the user to save or close it), and one changed on disk since
        SHIM's last checkpoint unless force is true. Says, per file, what it did."""
        files = [inside(p) for p in paths]

        def plan(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            checkpoint_of(conn, checkpoint)
            dirty = {
                os.path.realpath(h.path or "")
                for h in held_unsaved(conn, engine.workspace.contains, engine.info.id)
            }
            newest = max((c.id for k in keys(conn) for c in cps.list_for(conn, k, 1)), default=None)
            out: list[dict[str, Any]] = []
            for p in files:
                item: dict[str, Any] = {"path": chat.shown(p)}
                out.append(item)
                if str(p) in dirty:
                    item["refused"] = (
                        "an editor window holds this file with unsaved edits: ask the user to"
                        " save or close it, then try again"
                    )
                    continue
                if not engine.may_read(p):
                    item["refused"] = "SHIM does not keep this file (excluded or secret)"
                    continue
                then = text_at(conn, checkpoint, p)
                if then is None:
                    item["refused"] = f"checkpoint {checkpoint} holds no version of it"
                    continue
                now = read_bytes(p)
                if now == then[1]:
                    item["unchanged"] = True
                    continue
                latest = text_at(conn, newest, p) if newest is not None else None
                if not force and now is not None and (latest is None or latest[1] != now):
                    item["refused"] = (
                        "it changed on disk since SHIM's last checkpoint: pass force true to"
                        " restore it anyway (its text now is checkpointed first)"
                    )
                    continue
                item["data"] = then[1]
            return out

        try:
            items = await read(plan)
        except Unencodable as exc:
            raise ToolError(str(exc)) from exc
        writes = [i for i in items if "data" in i]
        before = None
        if writes:
            result = await anyio.to_thread.run_sync(chat.checkpoint, None, "before-restore")
            before = result.id
        for item in writes:
            data = item.pop("data")
            try:
                target = chat.resolve(str(item["path"]))
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, data)
                item["restored"] = True
            except (OSError, OutsideWorkspace) as exc:
                item["refused"] = f"could not write it: {exc}"
        return {
            "checkpoint": checkpoint,
            "checkpointBeforeRestore": before,
            "files": items,
            "restored": sum(1 for i in items if i.get("restored")),
        }

    return server


def serve(workspace: Path, settings: Settings) -> int:
    """Run one chat's server on stdio until the client goes; the session then ends cleanly.
    SIGTERM ends it the same way (a clean end, not a crash)."""
    chat = Chat(workspace, settings)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    try:
        chat.start()
        build_server(chat).run("stdio")
    finally:
        chat.close()
    return 0
