"""Type checks in the editor (``typeCheckEnabled``, off by default): mypy's findings on the
saved text of open Python files, as diagnostics (source ``SHIM mypy``).

Mypy checks files on disk, so a check runs when a file is opened and when it is saved, never
on typing: a buffer with unsaved changes keeps the findings of its saved text until the next
save. One mypy daemon per workspace folder, started with the first check, checks every open
file of the folder together (a save can make an error in another file that imports it). A
changed mypy configuration restarts the daemons; settings changed or turned off stop them, and
so does the server's end (``mypy_daemon.kill_all`` on every way out). A checker that is
missing or fails is one message; the rest of SHIM works on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import attrs
from lsprotocol import types

from shim_lsp.analysis import mypy_daemon, tree
from shim_lsp.analysis.mypy_daemon import Daemon, MypyFailure, MypyFinding
from shim_lsp.metrics import recorder
from shim_lsp.server.analysis import PYTHON_SUFFIXES, AnalysisFeature, ToolTrouble
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.diagnostics import FINDINGS
from shim_lsp.server.feature import Feature
from shim_lsp.settings import Settings
from shim_lsp.workspace.paths import uri_to_path

log = logging.getLogger(__name__)

SOURCE = "SHIM mypy"
FINDINGS[SOURCE] = "typecheck"  # counted in the findings metric as shown
"""The diagnostics' source: told apart from those of Microsoft's mypy extension ("Mypy")."""
CHECK_AFTER_S = 0.05
"""Saves come in bursts (Save All, a formatter on save): those this close are one check."""


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


class TypeCheckFeature(Feature):
    name = "type checks"

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._open: set[str] = set()
        """URIs of the open Python files (checked while typeCheckEnabled is on)."""
        self._daemons: dict[Path, Daemon] = {}
        """Per workspace folder, its daemon."""
        self._running: dict[Path, asyncio.Task[None]] = {}
        self._again: set[Path] = set()
        """Folders saved while their check ran: checked again after it."""
        self._timers: dict[Path, asyncio.TimerHandle] = {}
        self._shown: set[str] = set()
        self.trouble = ToolTrouble(ls, "Type checks are off until mypy runs", "typeCheckerPath")

    # Events

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        path = uri_to_path(uri)
        if path is not None and path.suffix in PYTHON_SUFFIXES:
            self._open.add(uri)
            self._schedule(self._folders_of([path]))

    def document_saved(self, uri: str) -> None:
        path = uri_to_path(uri)
        if path is None:
            return
        if path.name in mypy_daemon.CONFIG_FILES:
            self._restart()
        elif uri in self._open:
            self._schedule(self._folders_of([path]))

    def document_closed(self, uri: str) -> None:
        if uri in self._open:
            self._open.discard(uri)
            self._clear(uri)

    def files_changed(self, paths: list[Path]) -> None:
        """A configuration changed on disk restarts the daemons; Python files changed on disk
        (a checkout) check the open files again."""
        if any(p.name in mypy_daemon.CONFIG_FILES for p in paths):
            self._restart()
        else:
            self._schedule(self._folders_of(p for p in paths if p.suffix in PYTHON_SUFFIXES))

    def settings_changed(self, old: Settings, new: Settings) -> None:
        fields = [f.name for f in attrs.fields(Settings) if f.name.startswith("type_check")]
        if any(getattr(old, f) != getattr(new, f) for f in fields):
            self.trouble.forget()
            self._stop_all()
            if not new.type_check_enabled:
                for uri in list(self._shown):
                    self._clear(uri)
            elif self.ls.settings_known.is_set():
                self._schedule(self._folders_of(self._paths(self._open)))

    async def shutting_down(self) -> None:
        daemons = list(self._daemons.values())
        self._daemons.clear()
        await asyncio.gather(*(d.stopped() for d in daemons))

    # Checking

    def _paths(self, uris: Iterable[str]) -> list[Path]:
        return [p for p in map(uri_to_path, uris) if p is not None]

    def _folders_of(self, paths: Iterable[Path]) -> set[Path]:
        engine = self.ls.engine
        if engine is None:
            return set()
        return {f for f in map(engine.workspace.folder_of, paths) if f is not None}

    def _schedule(self, folders: set[Path]) -> None:
        loop = asyncio.get_running_loop()
        for folder in folders:
            if folder not in self._timers:
                self._timers[folder] = loop.call_later(CHECK_AFTER_S, self._start, folder)

    def _start(self, folder: Path) -> None:
        self.ls.spawn(self._run(folder))

    def _restart(self) -> None:
        """The configuration changed: new daemons read it, and check every open file."""
        self._stop_all()
        self._schedule(self._folders_of(self._paths(self._open)))

    def _stop_all(self) -> None:
        for daemon in self._daemons.values():
            daemon.stop()
        self._daemons.clear()

    async def _run(self, folder: Path) -> None:
        """Check the folder's open files; one check at a time per folder, and one more
        after it when a file was saved meanwhile."""
        self._timers.pop(folder, None)
        if folder in self._running:
            self._again.add(folder)
            return
        task = asyncio.current_task()
        assert task is not None
        self._running[folder] = task
        try:
            while True:
                self._again.discard(folder)
                started = time.perf_counter()
                if await self._check(folder):
                    recorder.analysis("typecheck", time.perf_counter() - started)
                if folder not in self._again:
                    break
        finally:
            del self._running[folder]

    def _refused(self, folder: Path) -> tuple[Path, ...]:
        """What an import could reach in the folder that mypy must not read (secrets, links
        leading out), as ``shim analyze`` finds it. Off the event loop: it walks the folder."""
        engine = self.ls.engine
        rules = engine.tree.rules_for(folder) if engine is not None else None
        if rules is None:
            return ()
        return tree.readable_python_files(rules).refused

    def _files(self, folder: Path, uris: list[str]) -> dict[Path, str]:
        """Those of ``uris`` that mypy may check in the folder, by real path: saved files,
        never a secret one or one whose link leads out of the workspace. Off the event loop."""
        engine = self.ls.engine
        shown = self.ls.feature_of(AnalysisFeature)
        files = {}
        for uri in uris:
            path = uri_to_path(uri)
            if (
                engine is not None
                and path is not None
                and engine.workspace.folder_of(path) == folder
                and shown.may_show(path)
                and path.is_file()
            ):
                files[_real(path)] = uri
        return files

    async def _check(self, folder: Path) -> bool:
        """Whether mypy checked the folder (off, nothing to check, mypy failing: False)."""
        await self.ls.settings_known.wait()  # which files are secret comes with the settings
        if not self.ls.settings.type_check_enabled:
            return False
        files = await asyncio.to_thread(self._files, folder, sorted(self._open))
        if not files:
            return False
        daemon = self._daemons.get(folder)
        if daemon is None:
            binary = mypy_daemon.find_dmypy(self.ls.settings.type_checker_path)
            if isinstance(binary, MypyFailure):
                self._failed(binary)
                return False
            refused = await asyncio.to_thread(self._refused, folder)
            if not self.ls.settings.type_check_enabled:
                return False  # turned off meanwhile
            flags = mypy_daemon.import_flags(refused)
            daemon = self._daemons[folder] = Daemon(binary, folder, flags)
        found = await daemon.check(list(files))
        if self._daemons.get(folder) is not daemon:
            return False  # restarted or turned off meanwhile: that check publishes
        if isinstance(found, MypyFailure):
            del self._daemons[folder]
            self._failed(found)
            return False
        diagnostics = await asyncio.to_thread(self._diagnostics, files, found)
        for uri, items in diagnostics.items():
            if uri in self._open:
                self.ls.diagnostics.put(uri, SOURCE, items)
                self._shown.add(uri)
        return True

    def _diagnostics(
        self, files: dict[Path, str], found: list[MypyFinding]
    ) -> dict[str, list[types.Diagnostic]]:
        """Each checked file's findings as its diagnostics. Off the event loop."""
        converter = self.ls.feature_of(AnalysisFeature)
        return {
            files[path]: converter.diagnostics_of(text, items, SOURCE)
            for path, (text, items) in mypy_daemon.findings_by_file(files, found).items()
        }

    def _clear(self, uri: str) -> None:
        self._shown.discard(uri)
        self.ls.diagnostics.clear(uri, SOURCE)

    def _failed(self, failure: MypyFailure) -> None:
        """One message per distinct failure, in the log and on screen; the rest works on."""
        self.trouble.say(failure.message, failure.detail)
