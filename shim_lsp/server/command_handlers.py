"""The bodies of SHIM's commands, loaded on first use so that start-up stays fast.

Reads run on a worker thread with their own connection; writes go through the session's
writer; nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.recovery.find import (
    RecoverableFile,
    SessionRow,
    crashed_work,
    is_alive,
    resolve_session,
    sessions,
    work_left,
)
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.commands import (
    AutoCheckpointArgs,
    CheckpointFileArgs,
    CheckRecoveryArgs,
    ClearStateArgs,
    ForceCheckpointArgs,
    ListCheckpointsArgs,
    RecoveredTextArgs,
    RecoverSessionArgs,
)
from shim_lsp.server.recovery import (
    apply_as_unsaved,
    describe,
    find_work,
    newest_per_file,
    offer_recovery,
)
from shim_lsp.server.recovery import restore_recovered as restore_one
from shim_lsp.session.engine import SessionEngine
from shim_lsp.store import blobs, linecounts, retention
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.paths import uri_to_path

log = logging.getLogger(__name__)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def session_status(ls: ShimLanguageServer, engine: SessionEngine, _a: Any) -> Any:
    return engine.status()


def auto_checkpoint(ls: ShimLanguageServer, engine: SessionEngine, a: AutoCheckpointArgs) -> Any:
    if a.enabled is not None:
        engine.auto = a.enabled
        ls.push_status()
    return {"enabled": engine.auto}


async def monitor_signals(ls: ShimLanguageServer, engine: SessionEngine, _a: Any) -> Any:
    return (await asyncio.to_thread(engine.assess)).to_json()


async def force_checkpoint(
    ls: ShimLanguageServer, engine: SessionEngine, a: ForceCheckpointArgs
) -> Any:
    result = await asyncio.wrap_future(engine.checkpoint(a.label, "manual"))
    ls.push_status()
    ls.log_user(
        f"SHIM checkpoint {result.id}{' ' + repr(a.label) if a.label else ''}: "
        f"{_count(result.files, 'file')}, {_count(result.buffers, 'unsaved buffer')}, "
        f"{result.seconds:.3f} s"
    )
    return result.to_json()


Work = list[tuple[SessionRow, list[RecoverableFile]]]


def _work_with_dismissed(engine: SessionEngine, session: str | None = None) -> Work:
    """Ended sessions' unsaved work, dismissed and restored work included (never another
    window's running session); of one session when given."""
    with engine.reader() as conn:
        work = crashed_work(
            conn,
            engine.workspace.key,
            engine.may_read,
            exclude=engine.info.id,
            include_resolved=True,
        )
    return [(row, files) for row, files in work if session is None or row.id == session]


async def check_recovery(
    ls: ShimLanguageServer, engine: SessionEngine, a: CheckRecoveryArgs
) -> Any:
    if a.prompt and a.include_dismissed:
        raise JsonRpcInvalidParams(
            "includeDismissed lists work; the prompt (prompt: true) offers only work not yet"
            " restored or dismissed: ask for one or the other"
        )
    if a.prompt:
        return await offer_recovery(ls, always=True)
    if not a.include_dismissed:
        return describe(await asyncio.to_thread(find_work, ls))
    work = await asyncio.to_thread(_work_with_dismissed, engine)
    report = describe(work)
    resolutions = {row.id: row.resolution for row, _files in work}
    for entry in report["sessions"]:
        entry["resolution"] = resolutions.get(entry["id"])
    return report


async def recovered_text(
    ls: ShimLanguageServer, engine: SessionEngine, a: RecoveredTextArgs
) -> Any:
    """The text a crashed session left for a file, for a client's diff view."""
    if a.session is not None:
        work = await asyncio.to_thread(_work_with_dismissed, engine, a.session)
    else:
        work = await asyncio.to_thread(find_work, ls)
    found = next((f for f in newest_per_file(work) if f.uri == a.uri), None)
    if found is None:
        where = f"session {a.session}" if a.session else "any crashed session"
        raise LookupError(f"{where} left no unsaved work for {a.uri}")
    return {
        "uri": a.uri,
        "session": found.session_id,
        "text": found.text,
        "editedAt": found.edited_at,
        "diskExists": found.disk_exists,
        "diskChanged": found.disk_changed,
    }


async def recover_session(
    ls: ShimLanguageServer, engine: SessionEngine, a: RecoverSessionArgs
) -> Any:
    if a.action not in ("restore", "dismiss"):
        raise JsonRpcInvalidParams(f"action must be 'restore' or 'dismiss', not {a.action!r}")

    if a.session is not None:
        work = await asyncio.to_thread(_work_with_dismissed, engine, a.session)
        if not work:
            raise JsonRpcInvalidParams(f"no crashed session {a.session!r} with unsaved work")
    else:
        work = await asyncio.to_thread(find_work, ls)
    if a.action == "dismiss":
        for row, _files in work:
            await asyncio.wrap_future(
                engine.writer.submit(
                    partial(resolve_session, session_id=row.id, resolution="dismissed")
                )
            )
        return {"dismissed": [row.id for row, _ in work]}
    wanted = newest_per_file(work)
    if a.uris is not None:
        wanted = [f for f in wanted if f.uri in a.uris]
    restored = [f.uri for f in wanted if await restore_one(ls, f, work)]
    return {"restored": restored, "skipped": [f.uri for f in wanted if f.uri not in restored]}


async def list_checkpoints(
    ls: ShimLanguageServer, engine: SessionEngine, a: ListCheckpointsArgs
) -> Any:
    def look() -> Any:
        with engine.reader() as conn:
            if a.uri is None:
                return [r.to_json() for r in cps.list_for(conn, engine.workspace.key, a.limit)]
            return linecounts.file_history_json(conn, engine.workspace.key, a.uri, a.limit)

    return await asyncio.to_thread(look)


async def compare_with_checkpoint(
    ls: ShimLanguageServer, engine: SessionEngine, a: CheckpointFileArgs
) -> Any:
    kind, text = await asyncio.to_thread(_text_at, engine, a)
    doc = ls.document(a.uri)
    return {
        "uri": a.uri,
        "checkpoint": a.checkpoint,
        "kind": kind,
        "text": text,
        "currentText": doc.source if doc is not None else None,
        "same": doc is not None and doc.source == text,
    }


async def restore_checkpoint(
    ls: ShimLanguageServer, engine: SessionEngine, a: CheckpointFileArgs
) -> Any:
    if not engine.workspace.contains_uri(a.uri) and not a.uri.startswith("untitled:"):
        raise JsonRpcInvalidParams(f"{a.uri} is not inside this workspace")
    _kind, text = await asyncio.to_thread(_text_at, engine, a)
    ok, detail = await apply_as_unsaved(
        ls, a.uri, text, f"SHIM: restore from checkpoint {a.checkpoint}"
    )
    return {"applied": ok, "detail": detail, "uri": a.uri, "checkpoint": a.checkpoint}


async def clear_state(ls: ShimLanguageServer, engine: SessionEngine, a: ClearStateArgs) -> Any:
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
