"""What SHIM's MCP tools share: the chat (its workspace decided once the client can be asked
for its roots), store reads off the event loop, paths checked against the workspace,
checkpoints scoped to it."""

from __future__ import annotations

import difflib
import logging
import os
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.types import ClientCapabilities, RootsCapability

from shim_lsp.mcp.chat import Chat, OutsideWorkspace
from shim_lsp.mcp.group import Look
from shim_lsp.mcp.roots import Choice, choose
from shim_lsp.recovery.chats import DIFF_MAX_CHARS, held_unsaved
from shim_lsp.recovery.find import sessions
from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings
from shim_lsp.store import blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.encoding import to_file_bytes
from shim_lsp.workspace.files import read_bytes
from shim_lsp.workspace.paths import path_to_uri

T = TypeVar("T")
log = logging.getLogger(__name__)

ROOTS_TIMEOUT_S = 10.0
SQLITE_INT_MAX = 2**63 - 1


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


@dataclass(frozen=True)
class Unsaved:
    files: list[dict[str, Any]]
    """As the chat names them: path, session, editedAt, and where it was learnt."""
    paths: set[str]
    """Their real paths: what the tools that write refuse."""
    group: Look

    def holds(self, path: Path | str | None) -> bool:
        return path is not None and os.path.realpath(path) in self.paths

    def group_note(self) -> dict[str, str]:
        """What a tool that wrote says when the group could not be asked: it went on with
        this machine's windows (an editor shows a file changed under its unsaved buffer)."""
        return {"groupUnreachable": self.group.problem} if self.group.problem else {}


class Face:
    def __init__(
        self, settings: Settings, cwd: Path, chat: Chat | None = None, choice: Choice | None = None
    ) -> None:
        self.settings = settings
        self.cwd = cwd
        self._chat = chat
        self.choice: Choice | None = choice if chat is None else Choice(chat.folder, "--workspace")
        self._deciding: anyio.Lock | None = None
        self.cut_short = False
        """Whether the last tool call was cancelled (the client left, or asked) before its
        result was sent: a chat ending so never heard what its last tool did."""
        self.wrote = False
        """Whether a tool that writes (files, checkpoints, SHIM's state) has run: from then on
        the chat stays in its workspace when the client's roots move."""

    @property
    def chat(self) -> Chat:
        """The chat, or the tool error saying why there is none (no workspace)."""
        if self.choice is None or self._chat is None:
            raise ToolError(
                self.choice.refused
                if self.choice is not None and self.choice.refused
                else "SHIM has no workspace yet: the MCP client has not initialized"
            )
        return self._chat

    @property
    def engine(self) -> SessionEngine:
        return self.chat.engine

    def writes(self) -> Chat:
        """The chat, for a tool that writes; refused when the workspace is in doubt or gone
        (a checkpoint of a deleted folder would hold nothing, a restore would make it anew)."""
        chat = self.chat
        if self.choice is not None and self.choice.writes_refused:
            raise ToolError(self.choice.writes_refused)
        if not chat.folder.is_dir():
            raise ToolError(chat.gone())
        self.wrote = True
        return chat

    async def decide(self, session: ServerSession) -> None:
        """Choose the workspace once (from the client's roots when it offers them) and start
        the chat there; called when the client has initialized, and before any tool runs."""
        if self._deciding is None:
            self._deciding = anyio.Lock()
        async with self._deciding:
            if self.choice is not None:
                return
            self.choice = await self._start(choose(await _roots(session), self.cwd))

    async def roots_changed(self, session: ServerSession) -> None:
        """The client's roots changed (``notifications/roots/list_changed``). A chat that has
        written nothing follows them: it ends cleanly and starts again in the new workspace.
        One that has written stays where its work is, and the tools that write are refused
        until the roots come back (a model would otherwise write into a project the user
        has moved away from, or SHIM would lose sight of the chat's work)."""
        if self._deciding is None or self.choice is None or self.choice.source == "--workspace":
            return  # not decided yet (decide asks for the roots then), or fixed by the user
        async with self._deciding:
            choice = choose(await _roots(session), self.cwd)
            here = self._chat.folder if self._chat is not None else None
            if choice.folder == here:
                self.choice = choice
                return
            if self.wrote and self._chat is not None:
                moved = choice.folder or "no folder SHIM can work in"
                self.choice = replace(
                    self.choice,
                    writes_refused=(
                        f"the MCP client's roots moved to {moved}, but this chat has written in"
                        f" {here}: SHIM refuses the tools that write until the roots come back"
                        f" to {here} (start a new chat to work in {moved})"
                    ),
                )
                return
            old, self._chat = self._chat, None
            if old is not None:
                await anyio.to_thread.run_sync(old.close)
            self.choice = await self._start(choice)

    async def _start(self, choice: Choice) -> Choice:
        """Start the chat in the chosen folder; the choice, or why it could not start."""
        if choice.folder is None:
            return choice
        try:
            chat = Chat(choice.folder, self.settings)
            await anyio.to_thread.run_sync(chat.start)
        except Exception as exc:
            log.exception("the chat could not start in %s", choice.folder)
            return Choice(None, choice.source, f"SHIM could not start in {choice.folder}: {exc}")
        self._chat = chat
        return choice

    def close(self) -> None:
        if self._chat is not None:
            self._chat.close(cut_short=self.cut_short)

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
            r.workspace for r in sessions(conn) if folder in r.folder_paths
        }

    async def unsaved(self) -> Unsaved:
        """Files editor windows hold with unsaved edits: the running windows of this
        machine (their journals in the store), and the members of the workspace's Redis
        group when coordination is configured (windows on other machines)."""
        engine = self.engine
        local = await self.read(
            lambda conn: held_unsaved(conn, engine.workspace.contains, engine.info.id)
        )
        group = await self.chat.group.look(engine.workspace.contains)
        files: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for h in local:
            if not h.path:
                continue
            real = os.path.realpath(h.path)
            seen.add((real, h.session_id))
            files.append(
                {
                    "path": self.chat.shown(h.path),
                    "session": h.session_id,
                    "editedAt": h.edited_at,
                    "from": "this machine",
                }
            )
        for g in group.held:
            if (str(g.path), g.session) in seen:
                continue  # a window of this machine that is in the group too
            seen.add((str(g.path), g.session))
            files.append(
                {
                    "path": self.chat.shown(g.path),
                    "session": g.session,
                    "editedAt": g.since,
                    "from": f"the group: {g.host}",
                }
            )
        return Unsaved(files, {real for real, _ in seen}, group)

    def checkpoint_of(self, conn: sqlite3.Connection, cid: int) -> cps.CheckpointRow:
        row = cps.get(conn, cid) if 0 < cid <= SQLITE_INT_MAX else None
        # Checkpoint ids are scoped to this workspace: another's are not found.
        if row is None or row.workspace not in self.keys(conn):
            raise ToolError(
                f"no checkpoint {cid} in this workspace (shim_list_checkpoints lists them)"
            )
        return row

    def targets(self, paths: list[str] | None) -> list[Path]:
        """What a tool taking ``paths`` works on: those (each inside the workspace), or the
        whole workspace when left out; an empty list is refused, never read as everything."""
        if paths is None:
            return [self.chat.folder]
        if not paths:
            raise ToolError(
                "paths is empty: name at least one file or folder, or leave paths out for the"
                " whole workspace"
            )
        return [self.inside(p) for p in paths]

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


async def _roots(session: ServerSession) -> list[str] | None:
    """The client's roots as URIs; None when it declared no roots capability or did not
    answer (then the current folder is the workspace)."""
    if not session.check_client_capability(ClientCapabilities(roots=RootsCapability())):
        return None
    try:
        with anyio.fail_after(ROOTS_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in a protocol version to come
            result = await session.list_roots()
    except Exception as exc:
        log.warning("the MCP client did not list its roots (%s): the current folder it is", exc)
        return None
    return [str(r.uri) for r in result.roots]
