"""Analysis of the whole workspace: every Python file, open or not (which ``ruff server`` does
not do), in one ruff process; then only what changes.

``shim.analyzeWorkspace`` runs ruff once over the workspace folders and publishes the findings
of every file that is not open (open buffers keep their own, computed from their unsaved
text). It reports progress, and the request's cancel or the progress's Cancel kills ruff.
Afterwards a file changed or deleted on disk (``workspace/didChangeWatchedFiles``), or a buffer
closed, is checked again alone, from disk; a changed ruff configuration runs the whole
workspace again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import attrs
from lsprotocol import types
from lsprotocol.types import ProgressToken

from shim_lsp.analysis import holds, secret_files, tree
from shim_lsp.analysis.findings import Finding
from shim_lsp.analysis.links import LinkSearch
from shim_lsp.analysis.ruff import RuffFailure
from shim_lsp.analysis.ruff_command import lossy
from shim_lsp.server.analysis import RUFF_CONFIGS, SOURCE, AnalysisFeature, ruff_options
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.feature import Feature, command
from shim_lsp.session.engine import SessionEngine
from shim_lsp.settings import Settings
from shim_lsp.workspace.files import decode, read_bytes
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

log = logging.getLogger(__name__)


@attrs.define
class AnalyzeWorkspaceArgs:
    work_done_token: ProgressToken | None = None
    """The client's progress token (the request's ``workDoneToken``): SHIM reports on it
    instead of creating its own, and the client's cancel stops the run."""


class WorkspaceAnalysisFeature(Feature):
    name = "workspace analysis"

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._analysed = False
        """A workspace run finished: files on disk are kept up to date from then on."""
        self._shown: set[str] = set()
        """URIs of files not open whose findings this feature published."""
        self._pending: set[Path] = set()
        """Files changed on disk, to check again."""
        self._rechecking = False
        """A recheck is under way: what changes meanwhile waits for it, then goes together."""
        self._running: asyncio.Task[Any] | None = None
        self._running_inputs: tuple[Any, ...] = ()
        self._waiting: dict[asyncio.Future[Any], int] = {}
        """Requests answered by each run: a request's cancel kills ruff only if it is alone."""
        self._superseded: set[asyncio.Future[Any]] = set()
        """Runs cancelled by a newer run with other inputs: their requests say so."""
        self._skipped_said: set[str] = set()
        """Settings files leading out whose folder's leaving out was said."""
        self._said: set[tuple[Path, str]] = set()
        """Files not analysed (unreadable, links leading nowhere), with why, and secret files
        and folders whose findings were withheld ("withheld"), said."""
        self._search: LinkSearch | None = None
        """The links leading out, searched before each run, kept between runs (and in the
        state folder, for the next session and ``shim analyze``)."""

    def _link_search(self) -> LinkSearch:
        engine = self.ls.engine
        state_dir = engine.state_dir if engine is not None else None
        if self._search is None or self._search.state_dir != state_dir:
            self._search = LinkSearch(state_dir)
        return self._search

    @command("shim.analyzeWorkspace", AnalyzeWorkspaceArgs, progress=True)
    async def analyze_workspace(self, engine: SessionEngine, a: AnalyzeWorkspaceArgs) -> Any:
        roots = list(engine.workspace.folders)
        if not roots:
            raise LookupError("this window has no workspace folder to analyse")
        inputs = self._inputs(roots)
        running = self._running
        joined = running is not None and not running.done() and self._running_inputs == inputs
        if running is not None and joined:
            run = running  # the same run answers both requests
        else:
            if running is not None and not running.done():
                if running in self._waiting:
                    self._superseded.add(running)  # other inputs: the newest run wins
                running.cancel()
            run = self._running = asyncio.ensure_future(self._run(roots))
            self._running_inputs = inputs
        self._waiting[run] = self._waiting.get(run, 0) + 1
        stop = asyncio.Event()  # this request's own cancel (its progress's Cancel)
        token = a.work_done_token if a.work_done_token is not None else str(uuid.uuid4())
        # A request that joins the run shows progress only on a token of its own.
        created = a.work_done_token is not None
        shown = False
        try:
            if created or not joined:
                shown = await self._begin(token, created=created)
            if shown:
                cancelled = self.ls.work_done_progress.tokens[token]
                loop = asyncio.get_running_loop()
                cancelled.add_done_callback(lambda _f: loop.call_soon_threadsafe(stop.set))
            result = await self._answer(run, stop)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            by_request = task is not None and task.cancelling() > 0
            if self._waiting.get(run, 0) <= 1:  # none else waits: ruff is killed
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
            if shown:
                self._end(token, "Cancelled")
            if by_request:
                raise  # $/cancelRequest: answered as cancelled
            if run in self._superseded:
                return {"cancelled": False, "superseded": True, "files": 0, "findings": 0}
            return {"cancelled": True, "files": 0, "findings": 0}
        finally:
            self._waiting[run] -= 1
            if not self._waiting[run]:
                del self._waiting[run]
                self._superseded.discard(run)
            if self._running is run and run.done():
                self._running = None
        if shown:
            said = result.get("error") or _findings_said(result["findings"], result["files"])
            self._end(token, said)
        return result

    def _inputs(self, roots: list[Path]) -> tuple[Any, ...]:
        """What a run's result depends on besides the files: equal, a request joins it."""
        settings = self.ls.settings
        return (tuple(roots), ruff_options(settings), settings.ruff_path)

    @staticmethod
    async def _answer(run: asyncio.Future[dict[str, Any]], stop: asyncio.Event) -> dict[str, Any]:
        """The run's result, unless this request is cancelled first (CancelledError); the run
        itself goes on for the other requests waiting on it."""
        stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([run, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not run.done():
            raise asyncio.CancelledError
        return run.result()

    async def _begin(self, token: ProgressToken, *, created: bool) -> bool:
        if not created:
            caps = self.ls.client_capabilities.window
            if caps is None or not caps.work_done_progress:
                return False
            await self.ls.work_done_progress.create_async(token)
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="SHIM: analysing the workspace",
                message="ruff is checking every file",
                cancellable=True,
            ),
        )
        return True

    def _end(self, token: ProgressToken, message: str) -> None:
        self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    async def _run(self, roots: list[Path]) -> dict[str, Any]:
        binary = self.ls.feature_of(AnalysisFeature).ruff_binary()
        if binary is None:
            return {"cancelled": False, "files": 0, "findings": 0, "error": "ruff cannot run"}
        settings = self.ls.settings
        secret = self.ls.feature_of(AnalysisFeature).quoted_from()[1]
        started = time.time_ns()
        done = await tree.check_tree(
            binary, roots, ruff_options(settings), search=self._link_search(), secret=secret
        )
        if isinstance(done, RuffFailure):
            self.ls.feature_of(AnalysisFeature).tree_failed(done)
            return {"cancelled": False, "files": 0, "findings": 0, "error": done.message}
        shown, withheld, cells, changed = await asyncio.to_thread(
            self._diagnostics, done.found, None, started
        )
        self._recheck(changed)
        for uri in self._shown - shown.keys():
            if self.ls.document(uri) is None:  # an open buffer's are its own
                self.ls.diagnostics.clear(uri, SOURCE)
        self._shown = set()
        self._publish(shown)
        self._analysed = True
        await self.ls.feature_of(AnalysisFeature).all_settled()
        files, findings = self.ls.diagnostics.count(SOURCE)  # open buffers' too: as Problems
        self._say_skipped(done.skipped, done.notes)
        self._say_unread(done.unread, withheld, cells)
        return {
            "cancelled": False,
            "files": files,
            "findings": findings,
            "outside": [lossy(str(p)) for p in done.outside],
            "skipped": [lossy(str(p.parent)) for p in done.skipped],
            "notShown": [
                *(_withheld_note(w) for w in withheld),
                *(_cells_note(path, count) for path, count in cells),
            ],
            "notAnalysed": [_unread_note(u) for u in done.unread],
            "notes": [holds.shown(note, lossy) for note in done.notes],
        }

    def _say_skipped(self, links: Iterable[Path], notes: Iterable[str] = ()) -> None:
        """A folder left out for its settings file, or what else ruff was kept from (a FIFO
        it would wait on), is said once."""
        said = [*(tree.skipped_note(link) for link in links), *notes]
        said = [holds.shown(line, lossy) for line in said]  # valid Unicode on the wire
        new = [line for line in dict.fromkeys(said) if line not in self._skipped_said]
        self._skipped_said.update(new)
        self._tell(new)

    def _say_unread(
        self,
        unread: Iterable[tree.Unread],
        withheld: Iterable[secret_files.Withheld] = (),
        cells: Iterable[tuple[Path, int]] = (),
    ) -> None:
        """A file ruff could not read, or a secret file (or folder) whose findings are
        withheld, is one plain line, once (as ``shim analyze`` says it), never a ruff I/O
        error on the file nor the findings."""
        lines = [(u.path, str(u.why), _unread_note(u)) for u in unread]
        lines += [(w.path, "withheld", _withheld_note(w)) for w in withheld]
        lines += [(path, "cells", _cells_note(path, count)) for path, count in cells]
        new = [(path, why, said) for path, why, said in lines if (path, why) not in self._said]
        self._said.update((path, why) for path, why, _said in new)
        self._tell([said for _path, _why, said in new])

    def _tell(self, new: list[str]) -> None:
        """Each line in the log; the first on screen, saying how many more the log has."""
        for line in new:
            self.ls.log_user(f"SHIM: {line}", types.MessageType.Warning)
        if new:
            more = f" (and {len(new) - 1} more: see SHIM's output)" if len(new) > 1 else ""
            self.ls.tell_user(f"SHIM: {new[0]}{more}", types.MessageType.Warning)

    def _diagnostics(
        self,
        found: dict[Path, list[Finding]],
        read: dict[Path, bytes] | None = None,
        since: int | None = None,
    ) -> _Shown:
        """Each unopened file's findings as diagnostics (its text read to count the client's
        units, unless ``read`` holds the bytes ruff checked), open buffers being left to
        their own checks; the findings withheld for secret names; and the notebooks whose
        findings, placed in their cells, are not diagnostics. A file changed since ``since``
        (ns; ruff started then) may not be the text ruff read: its findings would land on
        other text, so it is checked again instead. Off the event loop."""
        converter = self.ls.feature_of(AnalysisFeature)
        out = {}
        withholding = secret_files.Withholding()
        cells: list[tuple[Path, int]] = []
        changed: list[Path] = []
        real = tree.RealPaths()  # each folder's real path found once, from its parent's
        for path, items in found.items():
            uri = path_to_uri(path)
            real_parent = Path(real.folder(str(path.parent)))
            if not converter.may_show(path, real_parent):  # said even when open
                rules = converter.secret_under(path, real_parent)
                if rules is not None:
                    withholding.add(rules.root, path, len(items), rules.secrets.match)
                continue
            if self.ls.document(uri) is not None:
                continue
            in_cells = sum(f.cell is not None for f in items)
            if in_cells:  # a notebook's: in its cells, which are no lines of the file's text
                cells.append((path, in_cells))
                items = [f for f in items if f.cell is None]
                if not items:
                    continue
            data = read[path] if read and path in read else read_bytes(path)
            if data is None:
                continue  # gone since ruff read it: its event will clear it
            if since is not None and _changed_since(path, since):
                changed.append(path)
                continue
            out[uri] = converter.diagnostics_of(decode(data, path), items)
        return _Shown(out, withholding.withheld(), sorted(cells), changed)

    def _publish(self, found: dict[str, list[types.Diagnostic]]) -> None:
        for uri, diagnostics in found.items():
            if self.ls.document(uri) is not None:
                continue  # opened meanwhile: the buffer's check publishes
            self.ls.diagnostics.put(uri, SOURCE, diagnostics)
            self._shown.add(uri)

    # Afterwards: only what changed.

    def files_changed(self, paths: list[Path]) -> None:
        if not self._analysed:
            return
        if any(p.name in RUFF_CONFIGS for p in paths):
            self.ls.spawn(self._rerun())
            return
        self._recheck(p for p in paths if p.suffix in tree.PYTHON_SUFFIXES)
        for folder in (p for p in paths if p.suffix not in tree.PYTHON_SUFFIXES):
            if not folder.exists():  # a deleted folder: its files' events may not come
                under = folder.as_uri().rstrip("/") + "/"
                self._recheck(uri_to_path(u) or folder for u in self._shown if u.startswith(under))

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        self._shown.discard(uri)  # the buffer's check owns its diagnostics now

    def document_closed(self, uri: str) -> None:
        path = uri_to_path(uri)
        if self._analysed and path is not None:
            self._recheck([path])  # its diagnostics were the buffer's: now the file's

    def settings_changed(self, old: Settings, new: Settings) -> None:
        if self._analysed and ruff_options(old) != ruff_options(new):
            self.ls.spawn(self._rerun())

    async def _rerun(self) -> None:
        engine = self.ls.engine
        if engine is not None and engine.workspace.folders and self._running is None:
            roots = list(engine.workspace.folders)
            self._running = asyncio.ensure_future(self._run(roots))
            self._running_inputs = self._inputs(roots)
            try:
                await self._running
            finally:
                self._running = None

    def _recheck(self, paths: Iterable[Path]) -> None:
        self._pending.update(paths)
        if self._pending and not self._rechecking:
            self._rechecking = True
            self.ls.spawn(self._recheck_pending())

    async def _recheck_pending(self) -> None:
        """Checks what changed at once (no wait to gather a burst: that cost every lone save
        10 ms), then what changed meanwhile, together, until nothing is left: a burst of
        events (a checkout, a formatter) is one run for what came while ruff worked."""
        try:
            while self._pending:
                paths, self._pending = self._pending, set()
                await self._recheck_paths(paths)
        finally:
            self._rechecking = False

    async def _recheck_paths(self, paths: set[Path]) -> None:
        engine = self.ls.engine
        if engine is None or not engine.workspace.folders:
            return
        roots = list(engine.workspace.folders)
        unopened = [p for p in paths if self.ls.document(path_to_uri(p)) is None]
        present = await asyncio.to_thread(tree.python_files, unopened, roots)
        for gone in set(unopened) - set(present):
            self.ls.diagnostics.clear(path_to_uri(gone), SOURCE)  # deleted, or left the tree
            self._shown.discard(path_to_uri(gone))
        binary = self.ls.feature_of(AnalysisFeature).ruff_binary()
        if not present or binary is None:
            return
        options = ruff_options(self.ls.settings)
        secret = self.ls.feature_of(AnalysisFeature).quoted_from()[1]
        read: dict[Path, bytes] = {}
        if len(present) == 1:  # most often: one file saved or written
            data = await asyncio.to_thread(read_bytes, present[0])
            if data is None:
                return  # gone since: its event clears it
            read[present[0]] = data
            done = await tree.check_file(binary, roots, options, present[0], data, secret=secret)
        else:
            done = await tree.check_tree(binary, roots, options, present, secret=secret)
        if isinstance(done, RuffFailure):
            self.ls.feature_of(AnalysisFeature).tree_failed(done)
            return
        self._say_skipped(done.skipped, done.notes)
        # Not judged by their times: these are the rechecks of files written during a run
        # (a file whose time is ahead of the clock would be checked again for ever).
        shown, withheld, cells, _changed = await asyncio.to_thread(
            self._diagnostics, done.found, read
        )
        self._say_unread(done.unread, withheld, cells)
        for path in present:
            uri = path_to_uri(path)
            if uri not in shown and self.ls.document(uri) is None:
                self.ls.diagnostics.clear(uri, SOURCE)  # nothing found any more
                self._shown.discard(uri)
        self._publish(shown)


class _Shown(NamedTuple):
    """A run's findings as the client gets them (see ``_diagnostics``)."""

    diagnostics: dict[str, list[types.Diagnostic]]
    withheld: list[secret_files.Withheld]
    cells: list[tuple[Path, int]]
    """Notebooks, and how many findings in their cells."""
    changed: list[Path]
    """Files written since ruff started: checked again."""


def _changed_since(path: Path, since: int) -> bool:
    """Whether the file was written at ``since`` (ns) or after, as far as its times tell."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    return max(st.st_mtime_ns, st.st_ctime_ns) >= since


def _cells_note(path: Path, count: int) -> str:
    """What the user is told of a notebook's findings, which are not diagnostics."""
    found = secret_files.plural(count, "finding")
    return (
        f"{lossy(str(path))}: {found} in its cells not shown: a notebook's findings are"
        " placed in its cells, not in the file's text (`shim analyze` lists them, with their cells)"
    )


def _withheld_note(withheld: secret_files.Withheld) -> str:
    """``secret_files.note`` in valid Unicode, for the wire."""
    return secret_files.note(lossy(str(withheld.path)), withheld)


def _findings_said(findings: int, files: int) -> str:
    """The end of the run's progress, as a person writes it."""
    if not findings:
        return "No findings"
    return f"{findings:,} finding{'s' * (findings != 1)} in {files:,} file{'s' * (files != 1)}"


def _unread_note(unread: tree.Unread) -> str:
    """``tree.unread_note`` in valid Unicode, for the wire (a byte that is not UTF-8 as
    U+FFFD, as ruff names such a file)."""
    return tree.unread_note(lossy(str(unread.path)), holds.shown(unread.why, lossy))
