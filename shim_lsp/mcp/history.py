"""Checkpoints as tools: list them, a file's history, diff one against the disk, restore files
from one."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, StrictBool, StrictInt

from shim_lsp.mcp.chat import OutsideWorkspace
from shim_lsp.mcp.face import Face, unified_diff
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.blobs import blob_hash
from shim_lsp.workspace.encoding import Unencodable
from shim_lsp.workspace.files import decode, read_bytes, write_atomic
from shim_lsp.workspace.paths import path_to_uri, uri_to_path
from shim_lsp.workspace.scan import kept_files, walk_folders


def register(server: MCPServer[Any], face: Face) -> None:
    read, keys = face.read, face.keys
    checkpoint_of, inside, text_at = face.checkpoint_of, face.inside, face.bytes_at

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
            StrictInt, Field(ge=1, le=1000, description="at most this many, newest first")
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
                return {"path": face.chat.shown(file), "checkpoints": versions[:limit]}
            rows = sorted((c for k in ours for c in cps.list_for(conn, k)), key=lambda c: -c.id)
            return {"checkpoints": [c.to_json() for c in rows[:limit]]}

        return await read(look)

    @server.resource(
        "shim://checkpoints",
        name="checkpoints",
        mime_type="application/json",
        description="The workspace's 50 newest checkpoints, as shim_list_checkpoints lists them",
    )
    async def checkpoint_list() -> dict[str, Any]:
        return await shim_list_checkpoints()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_file_history(
        path: Annotated[str, Field(description="the file (relative to the workspace)")],
        limit: Annotated[
            StrictInt, Field(ge=1, le=1000, description="at most this many, newest first")
        ] = 50,
    ) -> dict[str, Any]:
        """A file's versions in SHIM's checkpoints, newest first: when, the checkpoint's id,
        label and reason, its size (or that it was deleted), whether it was an editor's
        unsaved text, and whether it differs from the next older version. Use it to find the
        version to look at (shim_diff_checkpoint) or bring back (shim_restore_checkpoint)."""
        file = inside(path)

        def look(conn: sqlite3.Connection) -> dict[str, Any]:
            uri = path_to_uri(file)
            found = [v for k in keys(conn) for v in cps.file_history(conn, k, uri)]
            found.sort(key=lambda v: (v.checkpoint.created_at, v.checkpoint.id), reverse=True)
            now = read_bytes(file) if face.engine.may_read(file) else None
            versions = []
            for i, v in enumerate(found[:limit]):
                older = found[i + 1] if i + 1 < len(found) else None
                c = v.checkpoint
                versions.append(
                    {
                        "checkpoint": c.id,
                        "createdAt": c.created_at,
                        "label": c.label,
                        "reason": c.reason,
                        "size": v.size,
                        "deleted": v.blob is None,
                        "unsavedEditorText": v.kind == "buffer",
                        "differsFromOlder": older is None or older.blob != v.blob,
                    }
                )
            newest = found[0].blob if found else None
            return {
                "path": face.chat.shown(file),
                "versions": versions,
                "total": len(found),
                "onDiskNow": {
                    "exists": now is not None,
                    "size": len(now) if now is not None else None,
                    "sameAsNewest": now is not None and blob_hash(now) == newest,
                },
                **(
                    {}
                    if face.engine.may_read(file)
                    else {"note": "SHIM does not keep this file (excluded or secret)"}
                ),
            }

        return await read(look)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_diff_checkpoint(
        checkpoint: Annotated[StrictInt, Field(ge=1, description="the checkpoint's id")],
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
                buffers = {b.uri for b in cps.buffers(conn, checkpoint)}
                uris = sorted(set(manifest) | buffers | _files_now(face))
            out = []
            for uri in uris:
                p = uri_to_path(uri)
                if (
                    p is None
                    or not face.engine.workspace.contains(p)
                    or not face.engine.may_read(p)
                ):
                    continue
                then = text_at(conn, checkpoint, p)
                now = read_bytes(p)
                if (then[1] if then else None) == now:
                    continue
                name = face.chat.shown(p) or uri
                out.append(
                    {
                        "path": name,
                        "diff": unified_diff(
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
        checkpoint: Annotated[StrictInt, Field(ge=1, description="the checkpoint's id")],
        paths: Annotated[
            list[str],
            Field(min_length=1, description="the files to bring back (relative to the workspace)"),
        ],
        force: Annotated[
            StrictBool,
            Field(description="also restore files changed on disk since SHIM's last checkpoint"),
        ] = False,
    ) -> dict[str, Any]:
        """Write files back to disk as a checkpoint held them. The workspace is checkpointed
        first, so a restore can itself be undone. Refuses a file that an editor window holds
        with unsaved edits (ask the user to save or close it), and one changed on disk since
        SHIM's last checkpoint unless force is true. Says, per file, what it did."""
        face.writes()
        files = [inside(p) for p in paths]
        unsaved = await face.unsaved()

        def plan(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            checkpoint_of(conn, checkpoint)
            newest = max((c.id for k in keys(conn) for c in cps.list_for(conn, k, 1)), default=None)
            out: list[dict[str, Any]] = []
            for p in files:
                item: dict[str, Any] = {"path": face.chat.shown(p)}
                out.append(item)
                if unsaved.holds(p):
                    item["refused"] = (
                        "an editor window holds this file with unsaved edits: ask the user to"
                        " save or close it, then try again"
                    )
                    continue
                if not face.engine.may_read(p):
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
            result = await anyio.to_thread.run_sync(face.chat.checkpoint, None, "before-restore")
            before = result.id
        for item in writes:
            data = item.pop("data")
            try:
                target = face.chat.resolve(str(item["path"]))
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
            **unsaved.group_note(),
        }


def _files_now(face: Face) -> set[str]:
    """The workspace's files on disk now, as a checkpoint would take them: a file created
    since a checkpoint differs from it too."""
    found: set[str] = set()
    for folder, rules in face.engine.tree.rules.items():
        found.update(
            path_to_uri(folder / rel)
            for listing in walk_folders(rules)
            for rel, _stat, _dev in kept_files(rules, listing)
        )
    return found
