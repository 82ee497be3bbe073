"""An AI chat as a SHIM session: the same engine, store and settings as an editor window.

The chat has no buffers; what it protects is the workspace on disk. It checkpoints the
workspace when it starts (what the chat found), when asked, before each tool that writes files
(restoring), and, with automatic checkpoints on, on an interval. Its session row (kind ``chat``)
has a start, heartbeats from the writer thread, and an end: a chat killed mid-way leaves its
changes as unfinished work (``recovery/chats.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from shim_lsp.mcp.group import Group
from shim_lsp.session.checkpointer import CheckpointResult
from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings
from shim_lsp.store import checkpoints as cps
from shim_lsp.workspace.paths import valid_text

log = logging.getLogger(__name__)

AUTO_INTERVAL_S = 60.0
AUTO_INTERVAL_MIN_S = 1.0
AUTO_INTERVAL_MAX_S = 86_400.0
NOTICES_KEPT = 20


class OutsideWorkspace(ValueError):
    """A path the chat named resolves outside the workspace (links followed)."""


class Chat:
    def __init__(self, workspace: Path, settings: Settings) -> None:
        self.folder = Path(os.path.realpath(workspace))
        self._said: deque[tuple[float, str]] = deque(maxlen=NOTICES_KEPT)
        self.engine = SessionEngine(
            settings, [self.folder], text_source=lambda _uri: None, kind="chat", notify=self._say
        )
        self.engine.auto = False
        self.group = Group(settings, self.folder)
        """The workspace's Redis group, when coordination is configured."""
        """The chat's own loop takes its automatic checkpoints (``set_auto``)."""
        self.auto_interval: float | None = None
        self.auto_taken = 0
        self.started: Future[CheckpointResult] | None = None
        self._parent = os.getppid()
        """The MCP client that started this server: when it dies, another parent adopts us."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._auto_loop, name="shim-chat-auto", daemon=True)

    def start(self) -> Future[CheckpointResult]:
        """Open the session and start a checkpoint of what the chat finds (the 'before' of its
        work, labelled so that it reads as such; retention keeps it while the chat's work may
        need it) without waiting for it: the client is answered at once, and every later
        checkpoint (before a restore, say) runs after it on the checkpointer's one thread."""
        self.engine.start()
        self._thread.start()
        self.started = self.engine.checkpoint(cps.CHAT_START_LABEL, cps.CHAT_START)
        return self.started

    def close(self, cut_short: bool = False) -> None:
        """A last checkpoint (the 'after' of the chat's work), then the end: ``clean`` when
        the client closed the connection, ``client-gone`` when it died (this process was
        handed to another parent) or left while a tool was working (``cut_short``: it never
        got the result), which leaves the chat's changes for recovery to show."""
        self._stop.set()
        self._wake.set()
        gone = os.getppid() != self._parent or cut_short
        if self.started is not None and self.engine.closed is None:
            try:
                self.checkpoint(None, "chat-end")
            except Exception:
                log.exception("the chat's last checkpoint failed")
        self.engine.close("client-gone" if gone else "clean", unfinished=gone)

    def checkpoint(self, label: str | None, reason: str) -> CheckpointResult:
        """One checkpoint at a time: the engine's checkpointer runs them in order anyway."""
        with self._lock:
            return self.engine.checkpoint(label, reason).result()

    def set_auto(self, interval: float | None) -> None:
        """On with an interval in seconds, or off (None)."""
        self.auto_interval = interval
        self._wake.set()

    def _auto_loop(self) -> None:
        while not self._stop.is_set():
            interval = self.auto_interval
            woken = self._wake.wait(interval if interval is not None else None)
            self._wake.clear()
            if woken or self._stop.is_set() or self.auto_interval is None:
                continue
            if not self.folder.is_dir():
                log.warning("%s", self.gone())
                continue
            try:
                self.checkpoint(None, "auto")
                self.auto_taken += 1
            except Exception:
                log.exception("the chat's automatic checkpoint failed")

    def resolve(self, path: str) -> Path:
        """A path the chat names (relative to the workspace folder, or absolute), links
        followed; refused when it lands outside the workspace."""
        if not path:
            raise OutsideWorkspace("the path is empty: name a file or folder of the workspace")
        if "\0" in path:
            raise OutsideWorkspace(f"{path!r} holds a NUL character: no file is named so")
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.folder / candidate
        real = Path(os.path.realpath(candidate))
        if not self.engine.workspace.contains(real):
            raise OutsideWorkspace(
                f"{path} resolves to {real}, outside the workspace {self.folder}: SHIM reads and"
                " writes only inside it"
            )
        return real

    def _say(self, message: str) -> None:
        """What a window shows the user (a damaged store moved aside, a full disk), kept for
        shim_session_status: a chat has no window, and its stderr is seldom read."""
        log.warning("%s", message)
        self._said.append((time.time(), message))

    def notices(self) -> list[dict[str, Any]]:
        return [{"at": at, "message": message} for at, message in self._said]

    def gone(self) -> str:
        return (
            f"the workspace folder {self.folder} no longer exists: SHIM takes no checkpoint of"
            " it and writes nothing there; its checkpoints stay (shim_list_checkpoints)"
        )

    def shown(self, path: Path | str | None) -> str | None:
        """A path as the chat should see it: relative to the workspace folder when inside."""
        if path is None:
            return None
        p = Path(path)
        try:
            return valid_text(str(p.relative_to(self.folder)))
        except ValueError:
            return valid_text(str(p))

    def start_report(self) -> dict[str, Any]:
        """Whether the checkpoint of what the chat found is taken: files changed before it
        is done count as the workspace before the chat."""
        if self.started is None or not self.started.done():
            return {"done": False}
        if self.started.exception() is not None:
            return {"done": False, "error": str(self.started.exception())}
        return {"done": True, "checkpoint": self.started.result().id}

    def auto_report(self) -> dict[str, Any]:
        last = self.engine.last_checkpoint
        return {
            "enabled": self.auto_interval is not None,
            "intervalSeconds": self.auto_interval,
            "automaticCheckpointsTaken": self.auto_taken,
            "lastCheckpoint": last.to_json() if last else None,
        }
