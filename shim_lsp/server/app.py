"""The SHIM language server: one class holding what every feature shares (the session, the
settings, the client's spelling of URIs). ``factory.py`` builds it and its features."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from shim_lsp import __version__
from shim_lsp.notifications import STATUS_NOTIFICATION
from shim_lsp.server.diagnostics import Diagnostics
from shim_lsp.server.protocol import ShimProtocol, is_parse_error
from shim_lsp.settings import Settings
from shim_lsp.workspace.paths import normalize_uri, valid_text

if TYPE_CHECKING:  # the engine is imported once a session starts, not at start-up
    from shim_lsp.server.feature import Feature
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)
F = TypeVar("F", bound="Feature")


class ShimLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("shim", __version__, protocol_cls=ShimProtocol)
        self.engine: SessionEngine | None = None
        self.settings = Settings()
        self.shutdown_requested = False
        self.watching_files = False
        self.features: list[Feature] = []
        self.diagnostics = Diagnostics(self)
        """Every feature's diagnostics, published together (LSP replaces a document's list)."""
        """Every capability, built by the factory; LSP events are fanned out to them."""
        self.settings_known = asyncio.Event()
        """Set once the user's settings arrived (or will not): commands that read or write
        the workspace wait for it, since the settings say which files are secret."""
        self.coordination: dict[str, Any] = {"state": "off", "members": 0}
        """The group of this workspace's windows, as the status shows it (coordination
        feature): state off, connected or degraded, and how many members."""
        self.listening: dict[str, list[Feature]] = {}
        """Per hook, the features that listen to it (filled on first use)."""
        self.progress_commands: frozenset[str] = frozenset()
        """Commands that report progress on the request's ``workDoneToken``."""
        self.background: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.init_params: types.InitializeParams | None = None
        self.settings_problems: list[str] = []
        """What was wrong with the settings last received (each ignored, its default used):
        in every ``shim/status`` until the settings are mended, so a client can keep a sign."""
        self.start_problems: list[str] = []
        """What was wrong with what the server was started with (its log level): for the
        life of this process, since only a new server reads it again."""
        self._held_problems: list[str] | None = []
        """Problems found before the client is initialized, shown once it is."""
        self._client_uris: dict[str, str] = {}
        self._canonical: dict[str, str] = {}

    def feature_of(self, kind: type[F]) -> F:
        """The one feature of a kind, for a feature that asks another (recovery asks the
        session feature nothing; history asks recovery how to apply text)."""
        for f in self.features:
            if isinstance(f, kind):
                return f
        raise LookupError(f"no {kind.__name__} in this server")

    def canonical(self, uri: str) -> str:
        """SHIM's one spelling of a URI; the client's own spelling is kept for replies."""
        canon = self._canonical.get(uri)
        if canon is None:
            canon = self._canonical[uri] = normalize_uri(uri)
            self._client_uris.setdefault(canon, uri)
        return canon

    def client_uri(self, canonical: str) -> str:
        return self._client_uris.get(canonical, canonical)

    def document(self, canonical: str) -> TextDocument | None:
        """The editor's buffer of a file, if it is open (pygls keys buffers by unquoted URI)."""
        key = unquote(self.client_uri(canonical))
        doc: TextDocument | None = self.workspace.text_documents.get(key)
        return doc

    def report_server_error(self, error: Exception, source: Any) -> None:
        if is_parse_error(error) and isinstance(self.protocol, ShimProtocol):
            self.protocol.answer_undecodable(error)
        log.error("protocol error (%s): %s", getattr(source, "__name__", source), error)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run a coroutine beside the request loop, keeping a reference and logging failures."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self.background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def log_user(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A line in the editor's output channel for SHIM."""
        self.window_log_message(types.LogMessageParams(type=kind, message=valid_text(message)))

    def report_problem(self, message: str) -> None:
        """Tell the user now, or as soon as the client is initialized (event loop only)."""
        if self._held_problems is not None:
            self._held_problems.append(message)
        else:
            self.tell_user(message)

    def settings_parsed(self, problems: list[str]) -> None:
        """The problems of the settings now in force: each said, unless the previous settings
        had it too (VS Code sends them with ``initialize`` and again as configuration); the
        status keeps the whole list."""
        for problem in problems:
            if problem not in self.settings_problems:
                self.report_problem(f"SHIM: {problem}")
        self.settings_problems = problems

    def setting_problem(self, problem: str) -> None:
        """A setting the server was started with that it cannot use: said once, and kept in
        the status."""
        self.start_problems.append(problem)
        self.report_problem(f"SHIM: {problem}")

    def client_ready(self) -> None:
        held, self._held_problems = self._held_problems or [], None
        for message in held:
            self.tell_user(message)

    def tell_user(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=valid_text(message)))

    def status_summary(self) -> dict[str, Any] | None:
        """What a status bar shows (the ``shim/status`` notification)."""
        if self.engine is None:
            return None
        status = self.engine.status()
        return {
            "lastCheckpointAt": status["lastCheckpointAt"],
            "riskLevel": status["riskLevel"],
            "dirtyDocuments": status["dirtyDocuments"],
            "unprotectedDocuments": status["unprotectedDocuments"],
            "maxFileSize": status["maxFileSize"],
            "storeError": status["storeError"],
            "autoCheckpoint": status["autoCheckpoint"],
            "danger": self.engine.last_assessment.danger if self.engine.last_assessment else None,
            "settingsProblems": [*self.start_problems, *self.settings_problems],
            "workspaceFolders": len(self.engine.workspace.folders),
            "coordination": self.coordination,
        }

    def push_status(self, summary: dict[str, Any] | None = None) -> None:
        summary = summary or self.status_summary()
        if summary is not None:
            self.protocol.notify(STATUS_NOTIFICATION, summary)
