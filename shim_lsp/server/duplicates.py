"""Duplicate code in the editor: jscpd's findings across the workspace as information
diagnostics on each side, each pointing at its twin (``relatedInformation``), with a code
action that opens the twin.

A workspace run costs seconds, so it runs when asked (``shim.findDuplicates``, with progress
and cancel) or, with ``duplicatesEnabled``, when the server is ready; once findings are shown,
saves and changes on disk run it again after a pause, so that they never go stale. A detector
that is missing (no Node.js, no jscpd) or fails is one message; the rest of SHIM works on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from lsprotocol.types import ProgressToken
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.analysis import duplicates
from shim_lsp.analysis.findings import Spot, lines_of
from shim_lsp.metrics import recorder
from shim_lsp.server import client
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.diagnostics import FINDINGS
from shim_lsp.server.feature import Feature, command
from shim_lsp.settings import Settings
from shim_lsp.wire import lsp_line
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

if TYPE_CHECKING:
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)

SOURCE = "SHIM duplicates"
FINDINGS[SOURCE] = "duplicates"  # counted in the findings metric as shown
CODE = "duplicate-code"
QUICK_FIX = types.CodeActionKind.QuickFix.value
FIND = "shim.findDuplicates"
OPEN = "shim.openDuplicate"
RERUN_AFTER_S = 2.0
"""Pause after the last save or change on disk before a new run."""
SHOWN_TWINS = 3
"""Twins named in a message; the rest are counted."""


@attrs.define
class FindDuplicatesArgs:
    work_done_token: ProgressToken | None = None
    """The client's progress token (the request's ``workDoneToken``): SHIM reports on it
    instead of creating its own, and the client's cancel stops the run."""


@attrs.define
class OpenDuplicateArgs:
    uri: str
    """The twin's file."""
    line: int = attrs.field(validator=lsp_line)
    """The twin's first line (0-based)."""
    end_line: int | None = attrs.field(default=None, validator=lsp_line)


@attrs.frozen
class _Twin:
    uri: str
    range: types.Range
    label: str
    """Where it is, for the user: ``pkg/twin.py:40``."""


@attrs.frozen
class _Shown:
    diagnostic: types.Diagnostic
    twins: tuple[_Twin, ...]


class DuplicatesFeature(Feature):
    name = "duplicates"
    code_action_kinds = (QUICK_FIX,)

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._shown: dict[str, list[_Shown]] = {}
        """Per canonical URI, the findings published there (for code actions)."""
        self._run: asyncio.Task[dict[str, Any]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._asked = False
        """A run was asked for: later saves keep its findings fresh."""
        self._told: set[str] = set()

    # Events

    async def ready(self) -> None:
        if self.ls.settings.duplicates_enabled:
            self.ls.spawn(self._start())

    def document_saved(self, uri: str) -> None:
        path = uri_to_path(uri)
        if path is not None and path.suffix in duplicates.PYTHON_SUFFIXES:
            self._schedule()

    def files_changed(self, paths: list[Path]) -> None:
        if any(p.suffix in duplicates.PYTHON_SUFFIXES for p in paths):
            self._schedule()

    def settings_changed(self, old: Settings, new: Settings) -> None:
        fields = [f.name for f in attrs.fields(Settings) if f.name.startswith("duplicates_")]
        if any(getattr(old, f) != getattr(new, f) for f in fields):
            self._told.clear()
            if not self._active():  # turned off: nothing would keep the findings fresh
                self._clear()
            elif self.ls.settings_known.is_set():
                self._schedule(0.0)

    def _clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._run is not None and not self._run.done():
            self._run.cancel()
        self._unpublish()

    def _unpublish(self) -> None:
        """Take every finding shown off its document: nothing keeps them fresh any more."""
        for uri in self._shown:
            self.ls.diagnostics.put(uri, SOURCE, [])
        self._shown = {}

    def _active(self) -> bool:
        return self.ls.settings.duplicates_enabled or self._asked

    def _schedule(self, delay: float = RERUN_AFTER_S) -> None:
        if not self._active():
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            delay, lambda: self.ls.spawn(self._start())
        )

    # Running jscpd

    def _start(self, token: ProgressToken | None = None) -> asyncio.Task[dict[str, Any]]:
        """A new run; one under way is stopped (it would publish older findings)."""
        self._timer = None
        if self._run is not None and not self._run.done():
            self._run.cancel()
        self._run = asyncio.ensure_future(self._find(token))
        return self._run

    async def _find(self, token: ProgressToken | None) -> dict[str, Any]:
        await self.ls.settings_known.wait()  # which files are secret comes with the settings
        engine = self.ls.engine
        settings = self.ls.settings
        if engine is None:
            return {"duplicates": 0, "files": 0, "problem": "SHIM has no session yet"}
        detector = duplicates.find_detector(settings.duplicates_node, settings.duplicates_jscpd)
        if isinstance(detector, duplicates.DuplicatesFailure):
            self._failed(detector)
            return {"duplicates": 0, "files": 0, "problem": detector.message}
        started = time.monotonic()
        folders = [Path(f) for f in engine.workspace.folders]
        paths = await asyncio.to_thread(duplicates.python_files, folders, settings)
        sources = await asyncio.to_thread(
            duplicates.read_sources, paths, folders, self._buffers(paths)
        )
        progress = await self._progress_begin(token, len(sources))
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if progress is not None and now - last[0] >= 0.5:
                last[0] = now
                self.ls.work_done_progress.report(
                    progress,
                    types.WorkDoneProgressReport(
                        message=f"{done:,}/{total:,} files",
                        percentage=min(99, done * 100 // max(total, 1)),
                        cancellable=True,
                    ),
                )

        try:
            found = await duplicates.detect(
                detector, sources, settings.duplicates_min_lines, progress=report
            )
        except asyncio.CancelledError:
            self._progress_end(progress, "cancelled")
            raise
        if isinstance(found, duplicates.DuplicatesFailure):
            self._progress_end(progress, found.message)
            self._failed(found)
            return {"duplicates": 0, "files": len(sources), "problem": found.message}
        seconds = time.monotonic() - started
        self._publish(found, {s.path: s.text for s in sources}, folders)
        recorder.analysis("duplicates", seconds)
        line = f"{len(found):,} duplicated blocks in {len(sources):,} files ({seconds:.1f} s)"
        self._progress_end(progress, line)
        log.info("duplicate code: %s", line)
        return {"duplicates": len(found), "files": len(sources), "seconds": round(seconds, 2)}

    def _buffers(self, paths: list[Path]) -> dict[str, str]:
        """Open buffers' text by path: the detector sees what the user sees."""
        wanted = {str(p) for p in paths}
        texts = {}
        for uri in list(self.ls.workspace.text_documents):
            path = uri_to_path(uri)
            doc = self.ls.workspace.text_documents.get(uri)
            if path is not None and doc is not None and str(path) in wanted:
                texts[str(path)] = doc.source
        return texts

    def _failed(self, failure: duplicates.DuplicatesFailure) -> None:
        """One message per distinct failure, in the log and on screen; the rest works on.
        Findings shown before go: detection is off, so they would only go stale."""
        self._unpublish()
        log.warning("%s%s", failure.message, f"\n{failure.detail}" if failure.detail else "")
        if failure.message in self._told:
            return
        self._told.add(failure.message)
        self.ls.log_user(f"SHIM: {failure.message}", types.MessageType.Error)
        self.ls.tell_user(
            f"SHIM: {failure.message}. Duplicate code detection is off; everything else works."
        )

    # Progress

    async def _progress_begin(self, token: ProgressToken | None, files: int) -> str | None:
        """Begin progress (the client's token, or one made here where the client allows);
        its cancel stops the run."""
        if token is None:
            window = self.ls.client_capabilities.window
            if window is None or not window.work_done_progress:
                return None
            token = f"shim-duplicates-{uuid.uuid4().hex[:8]}"
            made = await client.ask(
                self.ls.work_done_progress.create_async(token), "show duplicate detection"
            )
            if made is None and token not in self.ls.work_done_progress.tokens:
                return None
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="SHIM: duplicate code",
                message=f"{files:,} files",
                cancellable=True,
                percentage=0,
            ),
        )
        run, loop = self._run, asyncio.get_running_loop()
        if run is not None:
            self.ls.work_done_progress.tokens[token].add_done_callback(
                lambda _f: loop.call_soon_threadsafe(run.cancel)
            )
        return str(token)

    def _progress_end(self, token: str | None, message: str) -> None:
        if token is not None:
            self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    # Diagnostics

    def _related(self) -> bool:
        text = self.ls.client_capabilities.text_document
        publish = text.publish_diagnostics if text else None
        return bool(publish and publish.related_information)

    def _position(self, lines: list[str], spot: Spot) -> types.Position:
        if spot.line >= len(lines):
            spot = Spot(len(lines) - 1, len(lines[-1].rstrip("\r\n")))
        content = lines[spot.line].rstrip("\r\n")
        units = self.ls.workspace.position_codec.client_num_units(content[: spot.column])
        return types.Position(line=spot.line, character=units)

    def _publish(
        self, found: list[duplicates.Duplicate], texts: dict[str, str], folders: list[Path]
    ) -> None:
        lines: dict[str, list[str]] = {}

        def where(side: duplicates.Side) -> tuple[str, types.Range]:
            if side.path not in lines:
                lines[side.path] = lines_of(texts.get(side.path, ""))
            at = lines[side.path]
            start, end = self._position(at, side.start), self._position(at, side.end)
            return self.ls.canonical(path_to_uri(side.path)), types.Range(start=start, end=end)

        blocks: dict[tuple[str, int, int, int, int], list[_Twin]] = defaultdict(list)
        sizes: dict[tuple[str, int, int, int, int], int] = {}
        for dup in found:
            for here, there in ((dup.first, dup.second), (dup.second, dup.first)):
                uri, r = where(here)
                twin_uri, twin_range = where(there)
                key = (uri, r.start.line, r.start.character, r.end.line, r.end.character)
                label = f"{_shown_path(Path(there.path), folders)}:{there.start.line + 1}"
                blocks[key].append(_Twin(twin_uri, twin_range, label))
                sizes[key] = max(sizes.get(key, 0), dup.lines)
        shown: dict[str, list[_Shown]] = defaultdict(list)
        related = self._related()
        for key, twins in sorted(blocks.items()):
            uri = key[0]
            r = types.Range(
                start=types.Position(line=key[1], character=key[2]),
                end=types.Position(line=key[3], character=key[4]),
            )
            named = ", ".join(t.label for t in twins[:SHOWN_TWINS])
            more = len(twins) - SHOWN_TWINS
            also = f"{named} and {more} more" if more > 0 else named
            diagnostic = types.Diagnostic(
                range=r,
                message=f"Duplicate code: {sizes[key]} lines also in {also}",
                severity=types.DiagnosticSeverity.Information,
                code=CODE,
                source=SOURCE,
                related_information=[
                    types.DiagnosticRelatedInformation(
                        location=types.Location(uri=self.ls.client_uri(t.uri), range=t.range),
                        message=f"the duplicate ({sizes[key]} lines)",
                    )
                    for t in twins
                ]
                if related
                else None,
            )
            shown[uri].append(_Shown(diagnostic, tuple(twins)))
        for uri in set(self._shown) - set(shown):
            self.ls.diagnostics.clear(uri, SOURCE)
        for uri, entries in shown.items():
            self.ls.diagnostics.put(uri, SOURCE, [e.diagnostic for e in entries])
        self._shown = dict(shown)

    # Code actions

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        if not client.can_show_document(self.ls) or not self._takes_literals(params):
            return []  # the diagnostic's message names the twin's place
        actions = []
        asked = params.range
        for entry in self._shown.get(uri, []):
            r = entry.diagnostic.range
            if r.start.line > asked.end.line or asked.start.line > r.end.line:
                continue
            for twin in entry.twins:
                title = f"Open the duplicate in {twin.label}"
                args = {
                    "uri": self.ls.client_uri(twin.uri),
                    "line": twin.range.start.line,
                    "endLine": twin.range.end.line,
                }
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=QUICK_FIX,
                        diagnostics=[entry.diagnostic],
                        command=types.Command(title=title, command=OPEN, arguments=[args]),
                    )
                )
        return actions

    def _takes_literals(self, params: types.CodeActionParams) -> bool:
        """The client takes code action literals of kind quickfix, and asked for them."""
        text = self.ls.client_capabilities.text_document
        caps = text.code_action if text else None
        literal = caps.code_action_literal_support if caps else None
        if literal is None:
            return False
        known = [str(getattr(k, "value", k)) for k in literal.code_action_kind.value_set]
        asked = [str(getattr(k, "value", k)) for k in params.context.only or []]
        return _within(QUICK_FIX, known) and (not asked or _within(QUICK_FIX, asked))

    # Commands

    @command(FIND, FindDuplicatesArgs, progress=True)
    async def find_duplicates(self, engine: SessionEngine, a: FindDuplicatesArgs) -> Any:
        """Look for duplicate code now; saves keep the findings fresh from then on."""
        self._asked = True
        run = self._start(a.work_done_token)
        try:
            return await asyncio.shield(run)
        except asyncio.CancelledError:
            if run.cancelled():  # the progress's cancel, or a newer run: an answer all the same
                return {"duplicates": 0, "files": 0, "cancelled": True}
            run.cancel()  # $/cancelRequest
            raise

    @command(OPEN, OpenDuplicateArgs)
    async def open_duplicate(self, engine: SessionEngine, a: OpenDuplicateArgs) -> Any:
        if a.end_line is not None and a.end_line < a.line:
            raise JsonRpcInvalidParams(f"endLine ({a.end_line}) is before line ({a.line})")
        path = uri_to_path(a.uri)
        if path is None or not engine.workspace.contains(path) or not os.path.isfile(path):
            raise LookupError(f"{self.ls.client_uri(a.uri)} is not a file of this workspace")
        if not client.can_show_document(self.ls):
            raise ValueError("this editor cannot open a document for SHIM (window/showDocument)")
        at = types.Position(line=a.line, character=0)
        end = types.Position(line=a.end_line if a.end_line is not None else a.line, character=0)
        shown = await client.ask(
            self.ls.window_show_document_async(
                types.ShowDocumentParams(
                    uri=self.ls.client_uri(a.uri),
                    take_focus=True,
                    selection=types.Range(start=at, end=end),
                )
            ),
            "open the duplicate",
        )
        return {"shown": bool(shown and shown.success)}


def _shown_path(path: Path, folders: list[Path]) -> str:
    """A path relative to its workspace folder (the first folder holding it), as posix."""
    for folder in folders:
        if path.is_relative_to(folder):
            return path.relative_to(folder).as_posix()
    return path.as_posix()


def _within(kind: str, kinds: list[str]) -> bool:
    """``kind`` is one of ``kinds`` or below one (kinds are dotted hierarchies)."""
    return any(kind == k or kind.startswith(f"{k}.") for k in kinds if k)
