"""Unsaved work of ended sessions, shown where the user looks: an information diagnostic on the
first line of each file that has some (open or not: VS Code lists both in Problems), with
code actions that run the recovery commands that already exist.

Which commands: a client that announces ``experimental.shim.editorCommands`` (SHIM's VS Code
extension) runs its own commands, which add the diff and the messages around the server's;
any other client (Neovim) is offered the server's ``shim.recoverSession`` only, and no
"Compare", which needs a diff view that only the extension has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
from lsprotocol import types

from shim_lsp.recovery.find import RecoverableFile, SessionRow
from shim_lsp.recovery.notice import notice_message
from shim_lsp.server import client
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer

log = logging.getLogger(__name__)

SOURCE = "SHIM recovery"
QUICK_FIX = types.CodeActionKind.QuickFix.value
EDITOR_COMMANDS = "editorCommands"
"""``experimental.shim.editorCommands``: the client runs SHIM's VS Code commands."""
RECHECK_DELAY_S = 0.3
"""After typing in a file with a notice: counted again once the typing pauses."""

RESTORE_TITLE = "Restore unsaved work"
COMPARE_TITLE = "Compare with recovered text"
DISMISS_TITLE = "Dismiss unsaved work in this file"


@attrs.define
class Notice:
    """One file's waiting work and the diagnostic that says so."""

    file: RecoverableFile
    ended_at: float
    diagnostic: types.Diagnostic


def runs_editor_commands(ls: ShimLanguageServer) -> bool:
    return client.shows(ls, EDITOR_COMMANDS)


def wanted_kinds(
    ls: ShimLanguageServer, kinds: Sequence[str], only: Sequence[types.CodeActionKind | str] | None
) -> list[str]:
    """Of ``kinds``, those the client takes as code action literals, narrowed to ``only``."""
    text = ls.client_capabilities.text_document
    caps = text.code_action if text else None
    literal = caps.code_action_literal_support if caps else None
    if literal is None:
        return []
    known = [str(getattr(k, "value", k)) for k in literal.code_action_kind.value_set]
    asked = [str(getattr(k, "value", k)) for k in only or []]

    def within(kind: str, of: list[str]) -> bool:
        return any(kind == k or kind.startswith(f"{k}.") for k in of)

    return [k for k in kinds if within(k, known) and (not asked or within(k, asked))]


class RecoveryNotices:
    """The notices on files, kept in step with the store: ``show`` takes what the recovery
    feature found; typing a file back to the recovered text takes its notice off."""

    def __init__(self, ls: ShimLanguageServer) -> None:
        self.ls = ls
        self.notices: dict[str, Notice] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def show(self, newest: list[tuple[SessionRow, RecoverableFile]]) -> None:
        """Put a notice on each file with waiting work; take it off files with none left."""
        wanted = {f.uri: (row, f) for row, f in newest}
        for uri in list(self.notices):
            if uri not in wanted:
                self._drop(uri)
        for row, f in wanted.values():
            await self._put(f, row.ended_at or row.heartbeat_at)

    async def _put(self, f: RecoverableFile, ended_at: float) -> None:
        doc = self.ls.document(f.uri)
        if doc is not None:
            base: str | None = doc.source
        else:
            base = await asyncio.to_thread(self._disk_text, f.uri)
        if base == f.text:
            self._drop(f.uri)
            return
        message = await asyncio.to_thread(notice_message, ended_at, base, f.text, doc is not None)
        lines = 1 if base is None else base.count("\n")
        diagnostic = types.Diagnostic(
            range=types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=min(1, lines), character=0),
            ),
            message=message,
            severity=types.DiagnosticSeverity.Information,
            source=SOURCE,
            code="unsaved-work",
            data={"session": f.session_id},
        )
        self.notices[f.uri] = Notice(f, ended_at, diagnostic)
        self.ls.diagnostics.put(f.uri, SOURCE, [diagnostic])

    def _disk_text(self, uri: str) -> str | None:
        engine = self.ls.engine
        path = uri_to_path(uri)
        if path is None or engine is None or not engine.may_read(path):
            return None
        data = read_bytes(path)
        return decode(data, path) if data is not None else None

    def _drop(self, uri: str) -> None:
        self.notices.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self.ls.diagnostics.clear(uri, SOURCE)

    def text_changed(self, uri: str) -> None:
        """The buffer was opened, typed in or closed: count again once the typing pauses."""
        if uri not in self.notices:
            return
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._timers[uri] = loop.call_later(
            RECHECK_DELAY_S, lambda: self.ls.spawn(self._recount(uri))
        )

    async def _recount(self, uri: str) -> None:
        self._timers.pop(uri, None)
        notice = self.notices.get(uri)
        if notice is not None:
            await self._put(notice.file, notice.ended_at)

    def code_actions(self, uri: str, params: types.CodeActionParams) -> list[types.CodeAction]:
        """Restore, Compare (the extension only) and Dismiss, on the notice's first line."""
        notice = self.notices.get(uri)
        if notice is None or not wanted_kinds(self.ls, [QUICK_FIX], params.context.only):
            return []
        ours = any(d.source == SOURCE for d in params.context.diagnostics)
        if params.range.start.line > 0 and not ours:
            return []  # the light bulb stays on the notice's line, not on every line
        f, shown = notice.file, [notice.diagnostic]
        editor = runs_editor_commands(self.ls)
        recover = "shim.restoreRecoveredText" if editor else "shim.recoverSession"
        wire_uri = self.ls.client_uri(uri)
        restore = {"session": f.session_id, "uris": [wire_uri], "action": "restore"}
        # Without a session: every ended session's unsaved text of this file goes.
        dismiss = {"uris": [wire_uri], "action": "dismiss"}
        actions = [
            types.CodeAction(
                title=RESTORE_TITLE,
                kind=QUICK_FIX,
                diagnostics=shown,
                is_preferred=True,
                command=types.Command(
                    title=RESTORE_TITLE,
                    command=recover,
                    arguments=[restore],
                ),
            )
        ]
        if editor:
            actions.append(
                types.CodeAction(
                    title=COMPARE_TITLE,
                    kind=QUICK_FIX,
                    diagnostics=shown,
                    command=types.Command(
                        title=COMPARE_TITLE,
                        command="shim.reviewRecovery",
                        arguments=[{"uri": wire_uri, "session": f.session_id}],
                    ),
                )
            )
        actions.append(
            types.CodeAction(
                title=DISMISS_TITLE,
                kind=QUICK_FIX,
                diagnostics=shown,
                command=types.Command(
                    title=DISMISS_TITLE,
                    command=recover,
                    arguments=[dismiss],
                ),
            )
        )
        return actions
