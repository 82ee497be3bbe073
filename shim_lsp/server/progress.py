"""A checkpoint that takes long (the first one of a large tree, a scan without file watchers)
shows as ``$/progress`` in the editor; a quick one shows nothing.

Told from the checkpoint thread; everything toward the client happens on the event loop.
The display begins only once a checkpoint has run ``SHOW_AFTER_S`` (``SHIM_PROGRESS_AFTER_S``
in the environment overrides it, for tests and demos on small trees), and only for a client
that announced ``window.workDoneProgress``.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

from shim_lsp.server import client
from shim_lsp.session.checkpointer import CheckpointProgress

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer

SHOW_AFTER_S = 1.0


class CheckpointProgressDisplay:
    def __init__(self, ls: ShimLanguageServer) -> None:
        self.ls = ls
        self._run: int | None = None
        """The checkpoint being shown (or being begun)."""
        self._token: str | None = None
        """Set once the client made the token and ``begin`` went out."""
        self._latest: CheckpointProgress | None = None
        self.after_s = float(os.environ.get("SHIM_PROGRESS_AFTER_S", SHOW_AFTER_S))

    def __call__(self, progress: CheckpointProgress) -> None:
        """From the checkpoint thread."""
        loop = self.ls.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._seen, progress)

    def _supported(self) -> bool:
        window = self.ls.client_capabilities.window
        return bool(window and window.work_done_progress)

    def _seen(self, p: CheckpointProgress) -> None:
        self._latest = p
        if self._run == p.run:
            if self._token is not None:
                if p.done:
                    self._end(p)
                else:
                    self.ls.work_done_progress.report(
                        self._token,
                        types.WorkDoneProgressReport(message=_line(p), percentage=_percent(p)),
                    )
            return
        if not p.done and p.seconds >= self.after_s and self._supported():
            self._run, self._token = p.run, None
            self.ls.spawn(self._begin(p.run))

    async def _begin(self, run: int) -> None:
        token = f"shim-checkpoint-{uuid.uuid4().hex[:8]}"
        made = await client.ask(
            self.ls.work_done_progress.create_async(token), "show a checkpoint's progress"
        )
        if made is None and token not in self.ls.work_done_progress.tokens:
            self._run = None
            return
        if self._run != run:
            return
        latest = self._latest
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="SHIM checkpoint",
                message=_line(latest) if latest else None,
                percentage=_percent(latest) if latest else None,
            ),
        )
        self._token = token
        if latest is not None and latest.run == run and latest.done:
            self._end(latest)  # it finished while the client was making the token

    def _end(self, p: CheckpointProgress) -> None:
        assert self._token is not None
        self.ls.work_done_progress.end(
            self._token,
            types.WorkDoneProgressEnd(message=f"{p.looked:,} files, {p.read:,} read"),
        )
        self._token = None


def _line(p: CheckpointProgress) -> str:
    return f"{p.looked:,} files looked at, {p.read:,} read"


def _percent(p: CheckpointProgress) -> int | None:
    """Of the files the last checkpoint held; none for a first checkpoint."""
    return min(99, p.looked * 100 // p.expected) if p.expected else None
