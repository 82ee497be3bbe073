"""The history feature: a file's versions across checkpoints, compared with or restored into
the editor, and forgetting sessions (Clear History).

Reads run on a worker thread with their own connection; writes go through the session's
writer; nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.recovery.find import is_alive, sessions, work_left
from shim_lsp.server.coordination import confirm_held
from shim_lsp.server.feature import Feature, command
from shim_lsp.server.recovery import apply_as_unsaved
from shim_lsp.server.recovery_notice import runs_editor_commands, wanted_kinds
from shim_lsp.store import blobs, linecounts, retention
from shim_lsp.store import checkpoints as cps
from shim_lsp.wire import at_least
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer
    from shim_lsp.session.engine import SessionEngine


@attrs.define
class ClearStateArgs:
    session: str | None = None
    """One session of this workspace (its id, as ``shim.sessionStatus`` gives it)."""
    all: bool = False
    """Every session of this workspace that is not running in another window."""
    every_workspace: bool = False
    """With ``all``: every workspace's sessions; with ``session``: look in every workspace."""
    dry_run: bool = False
    """Forget nothing: answer which sessions and unsaved work would go, for a confirmation."""


@attrs.define
class ListCheckpointsArgs:
    uri: str | None = None
    """With a URI: that file's versions across checkpoints, deleted and renamed ones included."""
    limit: int = attrs.field(default=100, validator=at_least(1))
    """At most this many, newest first."""


@attrs.define
class CheckpointFileArgs:
    checkpoint: int
    uri: str


COMPARE_KIND = f"{types.CodeActionKind.Source.value}.shim.compareCheckpoint"
RESTORE_KIND = f"{types.CodeActionKind.Source.value}.shim.restoreCheckpoint"


class HistoryFeature(Feature):
    """A file's checkpoints: listed, compared, restored; offered as source actions to the
    VS Code extension, whose commands pick the checkpoint (a plain client has no picker, so
    it is offered none: ``shim.listCheckpoints`` and ``shim.restoreCheckpoint`` serve it)."""

    name = "history"
    code_action_kinds = (COMPARE_KIND, RESTORE_KIND)

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._holds: dict[str, tuple[int | None, bool]] = {}
        """Per file: whether a checkpoint holds it, as of the newest checkpoint this session
        took (its id); a new checkpoint makes every answer stale."""

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        engine = self.ls.engine
        kinds = wanted_kinds(self.ls, self.code_action_kinds, params.context.only)
        if engine is None or not kinds or not runs_editor_commands(self.ls):
            return []
        if not await self._has_checkpoints(engine, uri):
            return []
        arg = [{"uri": self.ls.client_uri(uri)}]
        offered = {
            COMPARE_KIND: ("Compare with checkpoint\u2026", "shim.compareFileWithCheckpoint"),
            RESTORE_KIND: ("Restore from checkpoint\u2026", "shim.restoreFromCheckpoint"),
        }
        return [
            types.CodeAction(
                title=title,
                kind=kind,
                command=types.Command(title=title, command=cmd, arguments=arg),
            )
            for kind, (title, cmd) in offered.items()
            if kind in kinds
        ]

    async def _has_checkpoints(self, engine: SessionEngine, uri: str) -> bool:
        last = engine.last_checkpoint
        as_of = last.id if last is not None else None
        known = self._holds.get(uri)
        if known is not None and known[0] == as_of:
            return known[1]

        def look() -> bool:
            with engine.reader() as conn:
                return cps.holds(conn, engine.workspace.key, uri)

        found = await asyncio.to_thread(look)
        self._holds[uri] = (as_of, found)
        return found

    @command("shim.listCheckpoints", ListCheckpointsArgs)
    async def list_checkpoints(self, engine: SessionEngine, a: ListCheckpointsArgs) -> Any:
        def look() -> Any:
            with engine.reader() as conn:
                if a.uri is None:
                    return [r.to_json() for r in cps.list_for(conn, engine.workspace.key, a.limit)]
                return linecounts.file_history_json(conn, engine.workspace.key, a.uri, a.limit)

        return await asyncio.to_thread(look)

    @command("shim.compareWithCheckpoint", CheckpointFileArgs)
    async def compare_with_checkpoint(self, engine: SessionEngine, a: CheckpointFileArgs) -> Any:
        kind, text = await asyncio.to_thread(_text_at, engine, a)
        doc = self.ls.document(a.uri)
        return {
            "uri": a.uri,
            "checkpoint": a.checkpoint,
            "kind": kind,
            "text": text,
            "currentText": doc.source if doc is not None else None,
            "same": doc is not None and doc.source == text,
        }

    @command("shim.restoreCheckpoint", CheckpointFileArgs)
    async def restore_checkpoint(self, engine: SessionEngine, a: CheckpointFileArgs) -> Any:
        if not engine.workspace.contains_uri(a.uri) and not a.uri.startswith("untitled:"):
            raise JsonRpcInvalidParams(f"{self.ls.client_uri(a.uri)} is not inside this workspace")
        _kind, text = await asyncio.to_thread(_text_at, engine, a)
        left = await confirm_held(self.ls, [a.uri], "restoring this checkpoint changes")
        if left:
            return {
                "applied": False,
                "detail": left[a.uri],
                "uri": a.uri,
                "checkpoint": a.checkpoint,
            }
        ok, detail = await apply_as_unsaved(
            self.ls, a.uri, text, f"SHIM: restore from checkpoint {a.checkpoint}"
        )
        return {"applied": ok, "detail": detail, "uri": a.uri, "checkpoint": a.checkpoint}

    @command("shim.clearState", ClearStateArgs)
    async def clear_state(self, engine: SessionEngine, a: ClearStateArgs) -> Any:
        """Forget sessions of this workspace (of every workspace only when asked by name), and
        say which unsaved work of ended sessions went with them."""
        if (a.session is None) == (not a.all):
            raise JsonRpcInvalidParams(
                'say which: {"session": id} or {"all": true}'
                + (
                    ', with "everyWorkspace": true to go beyond this workspace'
                    if a.every_workspace
                    else ""
                )
            )

        def choose() -> tuple[list[str], list[str], list[dict[str, Any]]]:
            with engine.reader() as conn:
                rows = sessions(conn, None if a.every_workspace else engine.workspace.key)
                ids = [r.id for r in rows if a.all or r.id == a.session]
                live = [r.id for r in sessions(conn) if is_alive(r)]
                lost = work_left(conn, set(ids) - set(live) - {engine.info.id})
            return ids, live, [{"folders": w.folders, "files": w.files} for w in lost]

        ids, live, lost = await asyncio.to_thread(choose)
        if a.session is not None and not ids:
            where = "any workspace" if a.every_workspace else "this workspace"
            raise JsonRpcInvalidParams(f"no session {a.session!r} in {where}")
        if a.dry_run:
            # Counted as the clearing counts them: this session's row stays, live ones are spared.
            return {
                "dryRun": True,
                "sessions": len(set(ids) - set(live) - {engine.info.id}),
                "unsavedWorkForgotten": lost,
            }
        counts = await asyncio.wrap_future(
            engine.writer.submit(
                partial(retention.clear, session_ids=ids, live=live, current=engine.info.id)
            )
        )
        self._holds.clear()
        if engine.info.id in ids:
            engine.forget_store_state()
            engine.rejournal_open_buffers()
        return {**counts, "unsavedWorkForgotten": lost}


def _text_at(engine: SessionEngine, a: CheckpointFileArgs) -> tuple[str, str]:
    with engine.reader() as conn:
        row = cps.get(conn, a.checkpoint)
        # Checkpoint ids are scoped to the caller's workspace: another's are not found.
        if row is None or row.workspace != engine.workspace.key:
            raise LookupError(f"no checkpoint {a.checkpoint} in this workspace")
        found = cps.file_at(conn, a.checkpoint, a.uri)
    if found is None:
        raise LookupError(f"checkpoint {a.checkpoint} holds no {a.uri}")
    kind, data = found
    return kind, blobs.buffer_text(data) if kind == "buffer" else decode(data, uri_to_path(a.uri))
