"""Offering crashed work back: the prompt, and restoring text as an unsaved change.

Restored text never goes to disk: the document is opened (``window/showDocument``) and its
whole text replaced by a versioned ``workspace/applyEdit``, so the user sees a dirty buffer
and decides whether to save. When the file changed on disk since the crashed session last saw
it, the user is told and chooses; SHIM never picks silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.metrics import recorder
from shim_lsp.notifications import RECOVERY_NOTIFICATION
from shim_lsp.recovery.chats import ChatWork, unfinished_chats
from shim_lsp.recovery.find import (
    RecoverableFile,
    SessionRow,
    crashed_work,
    first_offers,
    mark_crashed,
    resolve_file,
    resolve_session,
    same_editor,
    state_of,
    unsaved_edits,
)
from shim_lsp.server import client, edits
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.feature import Feature, command
from shim_lsp.server.recovery_notice import QUICK_FIX, RecoveryNotices
from shim_lsp.store.retention import journal_kept_s
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)

REVIEW, RESTORE_ALL, DISMISS = "Review", "Restore all", "Dismiss"
RESTORE, SKIP = "Restore", "Skip"
USE_RECOVERED, KEEP_DISK = "Restore recovered text", "Keep the file on disk"
OPEN_WAIT_S = 5.0


def find_work(ls: ShimLanguageServer) -> list[tuple[SessionRow, list[RecoverableFile]]]:
    engine = ls.engine
    if engine is None:
        return []
    with engine.reader() as conn:
        return crashed_work(conn, engine.workspace.key, engine.may_read, exclude=engine.info.id)


def find_chats(ls: ShimLanguageServer) -> list[ChatWork]:
    """AI chats (``shim mcp``) on this workspace that died having changed files."""
    engine = ls.engine
    if engine is None:
        return []
    with engine.reader() as conn:
        return unfinished_chats(conn, engine.workspace.key, engine.may_read, engine.info.id)


def chats_json(chats: list[ChatWork]) -> list[dict[str, Any]]:
    return [
        {
            "session": w.session.id,
            "startedAt": w.session.started_at,
            "checkpointBefore": w.first_checkpoint,
            "uris": [c.uri for c in w.changes],
        }
        for w in chats
    ]


def _tell_of_chats(ls: ShimLanguageServer, chats: list[ChatWork]) -> None:
    """Their changes are on disk, so there is nothing to restore into a buffer: the user is
    told which files a dead chat left changed, and where the files before it are."""
    for w in chats:
        names = ", ".join(_name(c.uri) for c in w.changes[:5])
        more = " ..." if len(w.changes) > 5 else ""
        ls.tell_user(
            f"SHIM: an AI chat ended mid-way ({_ago(w.session.heartbeat_at)}) having changed"
            f" {len(w.changes)} file(s): {names}{more}. The files before it are in checkpoint"
            f" {w.first_checkpoint} (SHIM: Compare with Checkpoint…); `shim clear --session"
            f" {w.session.id[:12]}` forgets it.",
            types.MessageType.Info,
        )


def newest_per_file(
    work: list[tuple[SessionRow, list[RecoverableFile]]],
) -> list[RecoverableFile]:
    """One candidate per file: the most recently edited, across crashed sessions."""
    best: dict[str, RecoverableFile] = {}
    for _row, files in work:
        for f in files:
            if f.uri not in best or f.edited_at > best[f.uri].edited_at:
                best[f.uri] = f
    return sorted(best.values(), key=lambda f: f.uri)


def newest_with_sessions(
    work: list[tuple[SessionRow, list[RecoverableFile]]],
) -> list[tuple[SessionRow, RecoverableFile]]:
    """``newest_per_file``, each with the session that left it (for when it ended)."""
    rows = {row.id: row for row, _files in work}
    return [(rows[f.session_id], f) for f in newest_per_file(work)]


def versions_of(
    work: list[tuple[SessionRow, list[RecoverableFile]]], uri: str
) -> list[RecoverableFile]:
    """Every distinct unsaved text of one file across ended sessions, the newest first."""
    found: dict[str, RecoverableFile] = {}
    for _row, files in work:
        for f in files:
            if f.uri == uri and (f.text not in found or f.edited_at > found[f.text].edited_at):
                found[f.text] = f
    return sorted(found.values(), key=lambda f: f.edited_at, reverse=True)


def _name(uri: str) -> str:
    path = uri_to_path(uri)
    return path.name if path is not None else uri


def _ago(ts: float) -> str:
    minutes = max(0, int((time.time() - ts) / 60))
    return "just now" if minutes < 1 else f"{minutes} min ago"


def _file_json(f: RecoverableFile) -> dict[str, Any]:
    return {
        "uri": f.uri,
        "session": f.session_id,
        "editedAt": f.edited_at,
        "chars": len(f.text),
        "diskExists": f.disk_exists,
        "diskChanged": f.disk_changed,
    }


def describe(work: list[tuple[SessionRow, list[RecoverableFile]]]) -> dict[str, Any]:
    """Crashed work as JSON: what ``shim.checkRecovery`` answers and clients are told.

    ``offered`` is what restoring brings back, one entry per file: clients list that, so
    that what they show is what "Restore all" restores.
    """
    offered = newest_per_file(work)
    newest_first = sorted(work, key=lambda w: max(f.edited_at for f in w[1]), reverse=True)
    return {
        "files": len(offered),
        "offered": [{**_file_json(f), "versions": len(versions_of(work, f.uri))} for f in offered],
        "sessions": [
            {
                "id": row.id,
                "state": state_of(row),
                "startedAt": row.started_at,
                "lastSeenAt": row.heartbeat_at,
                "files": [_file_json(f) for f in files],
            }
            for row, files in newest_first
        ],
    }


def client_shows_recovery(ls: ShimLanguageServer) -> bool:
    return client.shows(ls, "recoveryUi")


async def offer_recovery(ls: ShimLanguageServer, *, always: bool = False) -> dict[str, object]:
    """Find crashed work and ask the user what to do with it; returns what happened."""
    engine = ls.engine
    if engine is None:
        return {"files": 0}
    work = await asyncio.to_thread(find_work, ls)
    _tell_of_chats(ls, await asyncio.to_thread(find_chats, ls))
    for row, _files in work:
        if row.ended_at is None:
            engine.writer.submit(partial(mark_crashed, row=row))
    work = await _settle_work_still_open(ls, work)
    notices = ls.feature_of(RecoveryFeature).notices
    await notices.show(newest_with_sessions(work))
    files = newest_per_file(work)
    if not files:
        if always:
            ls.tell_user("SHIM: no unsaved work from crashed sessions", types.MessageType.Info)
        return {"files": 0}
    await _count_offered(ls, files)
    if client_shows_recovery(ls):
        ls.protocol.notify(RECOVERY_NOTIFICATION, describe(work))
        return {"files": len(files), "choice": None, "shownBy": "client"}
    names = ", ".join(_label(work, f.uri) for f in files[:5]) + (" ..." if len(files) > 5 else "")
    choice = await client.choose(
        ls,
        types.MessageType.Warning,
        f"SHIM found unsaved work in {len(files)} file(s) from "
        f"{len(work)} editor session(s) that ended before it was saved: {names}",
        (REVIEW, RESTORE_ALL, DISMISS),
        "ask about unsaved work to recover",
    )
    restored: list[str] = []
    if choice == DISMISS:
        recorder.recovery("dismissed", len(files))
        await _count_lost(engine, [(row.id, f.uri) for row, fs in work for f in fs], "dismissed")
        for row, _files in work:
            await asyncio.wrap_future(
                engine.writer.submit(
                    partial(resolve_session, session_id=row.id, resolution="dismissed")
                )
            )
        days = journal_kept_s(ls.settings) / 86400
        ls.log_user(
            f"SHIM: recovery dismissed; the work stays in SHIM's history for {days:g} days"
            f" (`shim recover --session ID --print` shows it)"
        )
    elif choice == RESTORE_ALL:
        for f in files:
            if await restore_recovered(ls, f, work):
                restored.append(f.uri)
                _tell_of_other_versions(ls, work, f)
    elif choice == REVIEW:
        for f in files:
            versions = versions_of(work, f.uri)
            for n, v in enumerate(versions, 1):
                of = f" (version {n} of {len(versions)}, newest first)" if len(versions) > 1 else ""
                question = (
                    f"Restore unsaved work in {_name(v.uri)} (last edited {_ago(v.edited_at)}){of}?"
                )
                if await _ask(ls, question, RESTORE, SKIP):
                    if await restore_recovered(ls, v, work):
                        restored.append(v.uri)
                    break
    if choice is not None:
        await notices.show(newest_with_sessions(await asyncio.to_thread(find_work, ls)))
    return {"files": len(files), "choice": choice, "restored": restored}


async def _count_offered(ls: ShimLanguageServer, files: list[RecoverableFile]) -> None:
    """Each crashed session's file counts as offered once, however many windows (or prompts
    of one window) show it: the store keeps what was offered."""
    engine = ls.engine
    if engine is None or recorder.active() is None:
        return
    pairs = [(f.session_id, f.uri) for f in files]
    try:
        fresh = await asyncio.wrap_future(engine.writer.submit(partial(first_offers, files=pairs)))
    except Exception as exc:  # the store away: the offer goes on uncounted
        log.warning("could not record what recovery offered: %s", exc)
        return
    recorder.recovery("offered", fresh)


async def _count_lost(
    engine: SessionEngine | None, pairs: list[tuple[str, str]], reason: str
) -> None:
    """The edits of these (session, file) that recovery did not give back, for the metrics;
    counted off the event loop, and only while metrics are recorded."""
    if engine is None or recorder.active() is None or not pairs:
        return

    def count() -> int:
        with engine.reader() as conn:
            return sum(unsaved_edits(conn, session_id, uri) for session_id, uri in pairs)

    try:
        recorder.lost_edits(reason, await asyncio.to_thread(count))
    except Exception as exc:
        log.warning("could not count the edits recovery did not give back: %s", exc)


def _label(work: list[tuple[SessionRow, list[RecoverableFile]]], uri: str) -> str:
    count = len(versions_of(work, uri))
    return _name(uri) + (f" ({count} versions from different windows)" if count > 1 else "")


def _tell_of_other_versions(
    ls: ShimLanguageServer, work: list[tuple[SessionRow, list[RecoverableFile]]], f: RecoverableFile
) -> None:
    """Restore all restores the newest text of a file; the others are kept, and said so."""
    others = [v for v in versions_of(work, f.uri) if v.text != f.text]
    if others:
        when = ", ".join(_ago(v.edited_at) for v in others)
        ls.tell_user(
            f"SHIM restored the newest unsaved version of {_name(f.uri)}; "
            f"{len(others)} other version(s) from another window (last edited {when}) "
            "are kept: run Check Recovery to review them.",
            types.MessageType.Info,
        )


async def _settle_work_still_open(
    ls: ShimLanguageServer, work: list[tuple[SessionRow, list[RecoverableFile]]]
) -> list[tuple[SessionRow, list[RecoverableFile]]]:
    """Work the editor still holds is not offered back: it is recorded as superseded.

    The editor holds it when its open buffer has that very text (VS Code restored it), or
    when the session that left it served this same editor process: only the server died,
    and the open buffer is the continuation of that text, newer than its last journal
    commit. This session journals the buffer from its didOpen on.
    """
    engine = ls.engine
    assert engine is not None
    ours = {row.id for row, _ in work if same_editor(row, engine.info.client_pid)}
    held: dict[str, str] = {}
    for row, files in work:
        for f in files:
            doc = ls.document(f.uri)
            if doc is not None and (doc.source == f.text or row.id in ours):
                held[f.uri] = doc.source
    if not held:
        return work
    for uri, text in held.items():
        await _record(ls, work, uri, restored_from=None, kept_text=text, ours=ours)
    return [
        (row, kept)
        for row, files in work
        if (kept := [f for f in files if not _settled(f, row.id, held, ours)])
    ]


def _settled(f: RecoverableFile, session_id: str, held: dict[str, str], ours: set[str]) -> bool:
    return f.uri in held and (f.text == held[f.uri] or session_id in ours)


async def _record(
    ls: ShimLanguageServer,
    work: list[tuple[SessionRow, list[RecoverableFile]]],
    uri: str,
    restored_from: str | None,
    kept_text: str,
    ours: Collection[str] = (),
) -> None:
    """Resolve the versions of one file that the editor now holds, before returning, so
    that nothing asks about them again: the one restored, any other session's identical
    text, and (``ours``) what a session of this same editor left. Another window's different
    text stays offered: recovery never picks a winner silently."""
    engine = ls.engine
    assert engine is not None
    recorded = [
        engine.writer.submit(
            partial(
                resolve_file,
                session_id=row.id,
                uri=uri,
                action="restored" if row.id == restored_from else "superseded",
            )
        )
        for row, files in work
        for g in files
        if g.uri == uri and (row.id == restored_from or g.text == kept_text or row.id in ours)
    ]
    for fut in recorded:
        await asyncio.wrap_future(fut)


async def _ask(ls: ShimLanguageServer, message: str, yes: str, no: str) -> bool:
    answer = await client.choose(ls, types.MessageType.Info, message, (yes, no), "ask a question")
    return answer == yes


async def restore_recovered(
    ls: ShimLanguageServer,
    f: RecoverableFile,
    work: list[tuple[SessionRow, list[RecoverableFile]]],
) -> bool:
    """Restore one file (asking first when the disk moved on); record what was decided."""
    if f.disk_changed and not await _ask(
        ls,
        f"{_name(f.uri)} changed on disk after the crashed session last saw it. Restore the "
        "recovered text as an unsaved change (the file on disk is not touched), or keep the "
        "file on disk (the recovered text stays in SHIM's store)?",
        USE_RECOVERED,
        KEEP_DISK,
    ):
        return False
    ok, detail = await apply_as_unsaved(ls, f.uri, f.text, "SHIM: restore unsaved work")
    if not ok:
        outcome = "failed" if client.can_apply_edit(ls) else "unsupported"
        recorder.recovery(outcome)
        await _count_lost(ls.engine, [(f.session_id, f.uri)], outcome)
        ls.tell_user(f"SHIM could not restore {_name(f.uri)}: {detail}")
        return False
    recorder.recovery("restored")
    await _record(ls, work, f.uri, restored_from=f.session_id, kept_text=f.text)
    shown = ls.engine.workspace.shown(f.uri) if ls.engine else _name(f.uri)
    ls.log_user(f"SHIM restored unsaved work in {shown}")
    return True


async def apply_as_unsaved(
    ls: ShimLanguageServer, uri: str, text: str, label: str
) -> tuple[bool, str]:
    """Put ``text`` into the editor's buffer for ``uri`` as an unsaved change.

    The file is shown first where the client can (``window/showDocument``), so that the edit
    lands on an open buffer with a version; a client that cannot (Neovim 0.7) is sent the
    edit for the file by ``changes``, and opens the buffer itself to apply it.
    """
    if not client.can_apply_edit(ls):
        return False, "this editor cannot apply edits from a server; run `shim recover`"
    if ls.document(uri) is None and client.can_show_document(ls):
        event = ls.feature_of(RecoveryFeature).opened.setdefault(uri, asyncio.Event())
        shown = await client.ask(
            ls.window_show_document_async(
                types.ShowDocumentParams(uri=ls.client_uri(uri), take_focus=False)
            ),
            f"show {uri}",
        )
        if shown is not None and shown.success:
            try:
                await asyncio.wait_for(event.wait(), OPEN_WAIT_S)
            except TimeoutError:
                log.info("%s was shown but not opened by the client in time", uri)
    found, version = edits.text_now(ls, uri)
    current = found or ""
    if current == text:
        return True, "already up to date"
    result = await edits.apply(ls, [edits.file_edit(ls, uri, current, text, version)], label)
    if result is None:
        return False, "the editor answered the edit with an error (see SHIM's log)"
    if not result.applied:
        return False, result.failure_reason or "the editor refused the edit"
    return True, "applied"


@attrs.define
class CheckRecoveryArgs:
    prompt: bool = False
    """Also show the recovery prompt now."""
    include_dismissed: bool = False
    """Also list work already dismissed or restored (never offered again by the prompt)."""


@attrs.define
class RecoverSessionArgs:
    session: str | None = None
    """A crashed session's id, dismissed work included; default: every crashed session of
    this workspace with work not yet restored or dismissed."""
    uris: list[str] | None = None
    """Only these files (restored, or dismissed one by one); default: every file."""
    action: str = "restore"
    """restore or dismiss."""


@attrs.define
class RecoveredTextArgs:
    uri: str
    session: str | None = None
    """A crashed session's id (dismissed work included); default: the newest unsaved text
    any crashed session left."""


class RecoveryFeature(Feature):
    """Crashed sessions' unsaved work: offered once the store can be read, listed, restored
    as unsaved changes or dismissed."""

    name = "recovery"
    code_action_kinds = (QUICK_FIX,)

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self.opened: dict[str, asyncio.Event] = {}
        """Set when a document arrives by didOpen: a restore waits on it after showDocument."""
        self.notices = RecoveryNotices(ls)
        """The diagnostic on each file with waiting work, and its code actions."""

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        self.opened.setdefault(uri, asyncio.Event()).set()
        self.notices.text_changed(uri)

    def document_changed(self, uri: str, params: types.DidChangeTextDocumentParams) -> None:
        self.notices.text_changed(uri)

    def document_closed(self, uri: str) -> None:
        event = self.opened.pop(uri, None)
        if event is not None:
            event.clear()
        self.notices.text_changed(uri)

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        return self.notices.code_actions(uri, params)

    async def refresh_notices(self) -> None:
        """Read again what waits (off the event loop) and put the notices in step."""
        work = await asyncio.to_thread(find_work, self.ls)
        await self.notices.show(newest_with_sessions(work))

    async def ready(self) -> None:
        await offer_recovery(self.ls)

    @command("shim.checkRecovery", CheckRecoveryArgs)
    async def check_recovery(self, engine: SessionEngine, a: CheckRecoveryArgs) -> Any:
        if a.prompt and a.include_dismissed:
            raise JsonRpcInvalidParams(
                "includeDismissed lists work; the prompt (prompt: true) offers only work not yet"
                " restored or dismissed: ask for one or the other"
            )
        if a.prompt:
            return await offer_recovery(self.ls, always=True)
        if not a.include_dismissed:
            work = await asyncio.to_thread(find_work, self.ls)
            await self.notices.show(newest_with_sessions(work))
            chats = await asyncio.to_thread(find_chats, self.ls)
            return {**describe(work), "unfinishedChats": chats_json(chats)}
        work = await asyncio.to_thread(_work_with_dismissed, engine)
        report = describe(work)
        resolutions = {row.id: row.resolution for row, _files in work}
        for entry in report["sessions"]:
            entry["resolution"] = resolutions.get(entry["id"])
        return report

    @command("shim.recoveredText", RecoveredTextArgs)
    async def recovered_text(self, engine: SessionEngine, a: RecoveredTextArgs) -> Any:
        """The text a crashed session left for a file, for a client's diff view."""
        if a.session is not None:
            work = await asyncio.to_thread(_work_with_dismissed, engine, a.session)
        else:
            work = await asyncio.to_thread(find_work, self.ls)
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

    @command("shim.recoverSession", RecoverSessionArgs)
    async def recover_session(self, engine: SessionEngine, a: RecoverSessionArgs) -> Any:
        if a.action not in ("restore", "dismiss"):
            raise JsonRpcInvalidParams(f"action must be 'restore' or 'dismiss', not {a.action!r}")

        if a.session is not None:
            work = await asyncio.to_thread(_work_with_dismissed, engine, a.session)
            if not work:
                raise JsonRpcInvalidParams(f"no crashed session {a.session!r} with unsaved work")
        else:
            work = await asyncio.to_thread(find_work, self.ls)
        if a.action == "dismiss":
            dismissed = await _dismiss(engine, work, a.uris)
            await self.refresh_notices()
            return dismissed
        wanted = newest_per_file(work)
        if a.uris is not None:
            wanted = [f for f in wanted if f.uri in a.uris]
        restored = [f.uri for f in wanted if await restore_recovered(self.ls, f, work)]
        await self.refresh_notices()
        return {"restored": restored, "skipped": [f.uri for f in wanted if f.uri not in restored]}


async def _dismiss(
    engine: SessionEngine,
    work: list[tuple[SessionRow, list[RecoverableFile]]],
    uris: list[str] | None,
) -> dict[str, Any]:
    """Dismiss whole sessions, or (``uris``) only these files' unsaved text in each."""
    if uris is None:
        recorder.recovery("dismissed", len(newest_per_file(work)))
        await _count_lost(engine, [(row.id, f.uri) for row, fs in work for f in fs], "dismissed")
        for row, _files in work:
            await asyncio.wrap_future(
                engine.writer.submit(
                    partial(resolve_session, session_id=row.id, resolution="dismissed")
                )
            )
        return {"dismissed": [row.id for row, _ in work]}
    done = [(row.id, f.uri) for row, files in work for f in files if f.uri in uris]
    recorder.recovery("dismissed", len({uri for _s, uri in done}))
    await _count_lost(engine, done, "dismissed")
    for session_id, uri in done:
        await asyncio.wrap_future(
            engine.writer.submit(
                partial(resolve_file, session_id=session_id, uri=uri, action="dismissed")
            )
        )
    return {
        "dismissed": sorted({s for s, _uri in done}),
        "dismissedUris": sorted({uri for _s, uri in done}),
    }


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
