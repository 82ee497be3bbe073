"""Codemods in the editor: code actions, workspace runs with progress, preview and undo.

Code actions are offered only where a codemod would change something: each argument-free
codemod runs once per buffer version, in a worker process, and its edits decide the offer. A
selection, or the cursor's line, gets a ``refactor.rewrite`` action limited to the edits it
touches; the whole file's rewrite is a ``source.*`` action (no light bulb).
A workspace run checkpoints first, then sends one WorkspaceEdit of minimal line edits,
versioned for open buffers; ``shim.undoCodemod`` reverses a whole batch, refusing files
that changed since.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp.codemods.undo import plan_undo
from shim_lsp.metrics import recorder
from shim_lsp.server import client, edits
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.feature import Feature, NoArgs, command
from shim_lsp.settings import Settings
from shim_lsp.store import batches
from shim_lsp.wire import ProgressToken
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

# libcst, pebble and the codemods load on first use, not at server start.
if TYPE_CHECKING:
    from pebble import ProcessPool

    from shim_lsp.codemods.files import Selection
    from shim_lsp.codemods.registry import CodemodInfo
    from shim_lsp.codemods.runner import Summary
    from shim_lsp.coordination.connection import RedisTarget
    from shim_lsp.coordination.jobs import Batch, Outcome
    from shim_lsp.coordination.registry import Keys
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)

KIND = types.CodeActionKind.RefactorRewrite
SOURCE_KIND = f"{types.CodeActionKind.Source.value}.shim.codemod"
ANNOTATION = "shim-codemod"
PROGRESS_EVERY_S = 0.2


_CONVERTER = converters.get_converter()


def _position(p: types.Position) -> tuple[int, int]:
    return (p.line, p.character)


def _overlaps(edit: edits.Edit, scope: types.Range) -> bool:
    """An edit is in scope when it replaces text inside it (or inserts within it)."""
    start, end = _position(edit.range.start), _position(edit.range.end)
    first, last = _position(scope.start), _position(scope.end)
    if start == end:
        return first <= start <= last
    return start < last and end > first


def _scope(selection: types.Range) -> types.Range:
    """What an action applies to: the selection, or the whole line under the cursor."""
    if selection.start != selection.end:
        return selection
    line = selection.start.line
    return types.Range(
        start=types.Position(line=line, character=0),
        end=types.Position(line=line + 1, character=0),
    )


async def _changes_within(text: str, new: str, scope: types.Range) -> bool:
    """Whether applying the codemod to ``scope`` alone changes something there, as resolving
    the action will (an import the change needs, added on the line under the cursor, is not
    a change of that line); off the event loop, since it may parse the file."""
    from shim_lsp.codemods.selection import restrict

    start = (scope.start.line, scope.start.character)
    end = (scope.end.line, scope.end.character)
    part = await asyncio.to_thread(restrict, text, new, start, end)
    return part.text is not None and part.text != text


def _wanted(only: Sequence[types.CodeActionKind | str] | None, kind: str) -> bool:
    return not only or any(kind.startswith(str(getattr(k, "value", k))) for k in only)


def _matches_prefilter(info: CodemodInfo, text: str) -> bool:
    from shim_lsp.codemods.runner import CodemodSpec

    spec = CodemodSpec(info.module, info.cls)
    words = spec.prefilter()
    return not words or any(w in text for w in words)


Proposal = tuple[str, list[edits.Edit]]
"""A codemod's result for a buffer: the whole new text, and the edits from the old to it."""


@attrs.define
class RunCodemodArgs:
    name: str
    args: dict[str, Any] = attrs.field(factory=dict)
    """The codemod's arguments by name, as ``shim.listCodemods`` lists them."""
    scope: str = "workspace"
    """document, folder, workspace or paths."""
    uri: str | None = None
    """The document (or a file in the folder) for document and folder scopes."""
    paths: list[str] = attrs.field(factory=list)
    preview: bool = False
    work_done_token: ProgressToken | None = None
    """The client's progress token (the request's ``workDoneToken``): SHIM reports on it
    instead of creating its own, and the client's cancel stops the run."""


@attrs.define
class UndoCodemodArgs:
    batch: str
    force: bool = False
    """Undo the files that are as the codemod left them even when others changed since,
    for a codemod whose changes go together (a rename): that leaves the project half
    renamed, so without it such an undo is all or nothing."""


@attrs.define
class ModuleNameArgs:
    uri: str
    """A Python file of the workspace."""


class CodemodsFeature(Feature):
    name = "codemods"
    code_action_kinds = (KIND.value, SOURCE_KIND)

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._registry: dict[str, CodemodInfo] | None = None
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._proposals: dict[str, tuple[int | None, asyncio.Task[dict[str, Proposal]]]] = {}
        """uri -> (buffer version, the result of each codemod that changes that version)."""
        self._workers: ProcessPool | None = None
        """The processes that compute the proposals, kept for the server's life."""
        self._batch_workers: ProcessPool | None = None

    def _pool(self) -> ProcessPool:
        from shim_lsp.codemods.runner import worker_pool

        with self._lock:
            if self._workers is None or not self._workers.active:
                self._workers = worker_pool(workers=2)
            return self._workers

    def _batch_pool(self) -> ProcessPool:
        """The processes that work the group's batches: as many as a local run uses."""
        from shim_lsp.codemods.runner import worker_pool

        with self._lock:
            if self._batch_workers is None or not self._batch_workers.active:
                workers = self.ls.settings.codemod_jobs or os.cpu_count() or 2
                self._batch_workers = worker_pool(workers=workers)
            return self._batch_workers

    def work_batch(
        self, batch: Batch, cancel: threading.Event, progress: Callable[[int], None]
    ) -> list[Outcome]:
        """A batch of another window's run (or this one's), in a thread of the job worker."""
        from shim_lsp.server.codemod_jobs import work_batch

        engine = self.ls.engine
        if engine is None:
            raise RuntimeError("no session: the server is not initialized")
        return work_batch(
            engine, self.ls.settings, self.registry, self._batch_pool, batch, cancel, progress
        )

    async def shutting_down(self) -> None:
        """Stop the worker processes, and wait (briefly) for a pool that may be replacing a
        worker it stopped (a cancelled batch): one started after the server is gone would
        outlive it."""
        pools = [p for p in (self._workers, self._batch_workers) if p is not None]
        for pool in pools:
            pool.stop()
        for pool in pools:
            await asyncio.to_thread(pool.join, 1.0)

    def settings_changed(self, old: Settings, new: Settings) -> None:
        if new.codemod_modules != old.codemod_modules:
            with self._lock:  # discover again on next use
                self._registry = None

    def registry(self) -> dict[str, CodemodInfo]:
        """Discovered once per server (imports every codemod module)."""
        from shim_lsp.codemods.registry import discover

        ls = self.ls
        with self._lock:
            if self._registry is None:
                roots = [Path(f) for f in ls.engine.info.folders] if ls.engine else []
                self._registry, self.problems = discover(ls.settings.codemod_modules, roots)
            return self._registry

    def _info(self, name: str) -> CodemodInfo:
        info = self.registry().get(name)
        if info is None:
            raise JsonRpcInvalidParams(f"no codemod {name!r}; shim.listCodemods lists them")
        return info

    async def _propose(self, uri: str, text: str) -> dict[str, Proposal]:
        """Each argument-free codemod's result for this text, for those that change it."""
        from shim_lsp.codemods.runner import CodemodSpec, Job, run

        ls = self.ls
        path = uri_to_path(uri) or Path(uri)
        infos = [
            info
            for info in self.registry().values()
            if not any(a.required for a in info.args) and _matches_prefilter(info, text)
        ]

        async def one(info: CodemodInfo) -> Proposal | None:
            summary = await asyncio.to_thread(
                run,
                CodemodSpec(info.module, info.cls),
                [Job(path, text)],
                timeout=ls.settings.codemod_timeout,
                root=_root(ls, path),
                pool=self._pool(),
            )
            (result,) = summary.results
            if result.status == "failed":
                log.info("codemod %s offers nothing for %s: %s", info.name, path, result.reason)
            if result.new_text is None:
                return None
            found = edits.line_edits(ls, text, result.new_text)
            return (result.new_text, found) if found else None

        found = await asyncio.gather(*(one(info) for info in infos))
        return {info.name: p for info, p in zip(infos, found, strict=True) if p is not None}

    async def proposals(self, uri: str) -> dict[str, Proposal]:
        """The codemods' results for a buffer's current version, computed once per version."""
        doc = self.ls.document(uri)
        if doc is None:
            return {}
        cached = self._proposals.get(uri)
        if cached is None or cached[0] != doc.version:
            task = asyncio.ensure_future(self._propose(uri, doc.source))
            cached = self._proposals[uri] = (doc.version, task)
        return await asyncio.shield(cached[1])

    def document_closed(self, uri: str) -> None:
        self._proposals.pop(uri, None)

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        only = params.context.only
        rewrite, source = _wanted(only, KIND.value), _wanted(only, SOURCE_KIND)
        doc = self.ls.document(uri)
        if not (rewrite or source) or doc is None or not uri.endswith((".py", ".pyi")):
            return []
        version = doc.version
        scope = _scope(params.range)
        proposals = await self.proposals(uri)
        if doc.version != version:
            return []  # typed meanwhile: the editor asks again
        actions = []
        infos = self.registry()
        for name, (new, found) in proposals.items():
            info = infos.get(name)
            words = (info.title if info and info.title else None) or name.replace("_", " ")
            data: dict[str, Any] = {"uri": uri, "version": version, "name": name}
            if (
                rewrite
                and any(_overlaps(e, scope) for e in found)
                and await _changes_within(doc.source, new, scope)
            ):
                actions.append(
                    types.CodeAction(
                        title=f"Apply codemod: {words}",
                        kind=KIND,
                        data={**data, "range": _CONVERTER.unstructure(scope)},
                    )
                )
            if source:
                actions.append(
                    types.CodeAction(
                        title=f"Apply codemod to the whole file: {words}",
                        kind=SOURCE_KIND,
                        data=data,
                    )
                )
        return actions

    async def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        ls = self.ls
        data = action.data if isinstance(action.data, dict) else {}
        uri, name = data.get("uri"), data.get("name")
        if not isinstance(uri, str) or not isinstance(name, str):
            return action
        doc = ls.document(uri)
        if doc is None:
            return action
        self._info(name)
        text, version = doc.source, doc.version
        proposal = (await self.proposals(uri)).get(name)
        if proposal is None:
            return action
        new_text, found = proposal
        if "range" in data:
            # The selection, or the line under the cursor, with the module-level edits its
            # change needs (an import, a logger): never a rewrite elsewhere, never a half.
            from shim_lsp.codemods.selection import restrict

            scope = _CONVERTER.structure(data["range"], types.Range)
            start = (scope.start.line, scope.start.character)
            end = (scope.end.line, scope.end.character)
            part = restrict(text, new_text, start, end)
            if part.text is None:
                names = ", ".join(sorted(part.unbound)) or "its names"
                ls.tell_user(
                    f"SHIM: codemod {name} cannot change the selection alone: "
                    f"it would leave {names} undefined; apply it to the whole file"
                )
                return action
            found = edits.line_edits(ls, text, part.text)
        if not found:
            return action
        action.edit = edits.workspace_edit(ls, [edits.FileEdit(uri, version, list(found))])
        return action

    @command("shim.listCodemods")
    async def list_codemods(self, engine: SessionEngine, _a: NoArgs) -> Any:
        found = await asyncio.to_thread(self.registry)
        return {"codemods": [i.to_json() for i in found.values()], "problems": self.problems}

    @command("shim.runCodemod", RunCodemodArgs, progress=True)
    async def run_codemod(self, engine: SessionEngine, a: RunCodemodArgs) -> Any:
        started = time.perf_counter()
        try:
            result = await _run_workspace(self.ls, engine, self._info(a.name), a)
        except asyncio.CancelledError:
            recorder.codemod("cancelled", time.perf_counter() - started)
            raise
        except Exception:
            recorder.codemod("failed", time.perf_counter() - started)
            raise
        recorder.codemod(_outcome(result), time.perf_counter() - started)
        return result

    @command("shim.moduleName", ModuleNameArgs)
    async def module_name(self, engine: SessionEngine, a: ModuleNameArgs) -> Any:
        """The dotted name Python imports a file by (``src/`` layouts and packages below the
        workspace folder included), for prefilling a rename's ``old_name``."""
        from shim_lsp.codemods.modules import begin_run, module_name_of

        path = uri_to_path(a.uri)
        if path is None or not engine.workspace.contains(path):
            raise LookupError(f"{self.ls.client_uri(a.uri)} is not a file of this workspace")
        begin_run()  # an __init__.py added since the last question counts
        return {"module": await asyncio.to_thread(module_name_of, path)}

    @command("shim.undoCodemod", UndoCodemodArgs)
    async def undo_codemod(self, engine: SessionEngine, a: UndoCodemodArgs) -> Any:
        return await _undo(self.ls, engine, a.batch, self._together, force=a.force)

    def _together(self, name: str) -> bool:
        """Whether the named codemod's changes go together; a codemod no longer known
        counts as such (an undo that refuses too much loses nothing)."""
        from shim_lsp.codemods.runner import CodemodSpec

        info = self.registry().get(name)
        return info is None or CodemodSpec(info.module, info.cls).together()


def _group_queue(ls: ShimLanguageServer) -> tuple[RedisTarget, Keys] | None:
    """The workspace group's job queue, when this window is a connected member of one."""
    from shim_lsp.server.coordination import CoordinationFeature

    try:
        return ls.feature_of(CoordinationFeature).job_queue()
    except LookupError:
        return None


def _root(ls: ShimLanguageServer, path: Path) -> Path | None:
    if ls.engine is None:
        return None
    return ls.engine.workspace.folder_of(path)


SCOPES = ("document", "folder", "workspace", "paths")


def _path_arg(engine: SessionEngine, given: str) -> Path:
    """A ``paths`` entry: a file URI or a path; a relative one counts from the first
    workspace folder, never from the server's own working folder."""
    path = uri_to_path(given) if given.startswith("file:") else Path(given)
    if path is None:
        raise JsonRpcInvalidParams(f"paths: {given!r} is not a file URI or a path")
    if not path.is_absolute() and engine.workspace.folders:
        path = Path(engine.workspace.folders[0]) / path
    return path


def _files(ls: ShimLanguageServer, engine: SessionEngine, a: RunCodemodArgs) -> Selection:
    """The run's files; a link named in ``paths`` is followed inside the workspace only."""
    from shim_lsp.codemods.files import Selection, python_files, select

    if a.scope not in SCOPES:
        raise JsonRpcInvalidParams(f"scope must be one of {', '.join(SCOPES)}, not {a.scope!r}")
    excludes = ls.settings.exclude_globs
    try:
        if a.scope == "workspace":
            return Selection(python_files(list(engine.workspace.folders), excludes))
        if a.scope == "paths":
            paths = [_path_arg(engine, p) for p in a.paths]
            outside = [str(p) for p in paths if not engine.workspace.contains(p)]
            if outside:
                raise JsonRpcInvalidParams(f"paths outside the workspace: {', '.join(outside)}")
            return select(paths, excludes, within=[Path(f) for f in engine.workspace.folders])
        path = uri_to_path(a.uri) if a.uri else None
        if path is None or not engine.workspace.contains(path):
            raise JsonRpcInvalidParams(f"scope {a.scope!r} needs a uri inside the workspace")
        if a.scope == "document":
            return Selection([path])
        return Selection(python_files([path if path.is_dir() else path.parent], excludes))
    except FileNotFoundError as exc:
        raise JsonRpcInvalidParams(f"{'paths' if a.scope == 'paths' else 'uri'}: {exc}") from exc


def _arguments(info: CodemodInfo, a: RunCodemodArgs, root: Path | None) -> dict[str, Any]:
    """The codemod's arguments, errors worded for the editor: by their keys in ``args``."""
    from shim_lsp.codemods.args import CodemodArgError, check_args

    try:
        return check_args(info, a.args, root=root)
    except CodemodArgError as exc:
        keys = ", ".join(f"args.{n}" for n in exc.names)
        if exc.problem == "unknown":
            why = f"{info.name} takes no {keys} (it takes: {exc.known})"
        elif exc.problem == "missing":
            why = f"{info.name} needs {keys}"
        else:
            why = f"{keys or 'args'}: {exc.detail}"
        raise JsonRpcInvalidParams(f"shim.runCodemod: {why}") from exc


def _cannot_apply(ls: ShimLanguageServer, a: RunCodemodArgs) -> str | None:
    """Why this client cannot take the run's edit, before any work is done."""
    if not client.can_apply_edit(ls):
        return "this editor cannot apply edits from a server (workspace.applyEdit)"
    if a.preview and not client.can_preview(ls):
        return (
            "this editor cannot preview a workspace edit (changeAnnotationSupport);"
            " run the codemod without preview, or with `shim codemod --diff`"
        )
    return None


def _outcome(result: dict[str, Any]) -> str:
    """A run's outcome as the metrics count it."""
    if result["cancelled"]:
        return "cancelled"
    return "applied" if result["changed"] else "nothing"


async def _run_workspace(
    ls: ShimLanguageServer, engine: SessionEngine, info: CodemodInfo, a: RunCodemodArgs
) -> dict[str, Any]:
    from shim_lsp.codemods.runner import CodemodSpec, FileResult, Job, Progress, run

    root = engine.workspace.folders[0] if engine.workspace.folders else None
    args = await asyncio.to_thread(_arguments, info, a, root)
    refused = _cannot_apply(ls, a)
    if refused is not None:
        raise JsonRpcInvalidParams(f"shim.runCodemod: {refused}")
    chosen = await asyncio.to_thread(_files, ls, engine, a)
    jobs = []
    read: dict[str, str] = {}
    """Buffers' texts as the codemod reads them (files read from disk keep their bytes)."""
    for path in chosen.files:
        doc = ls.document(path_to_uri(path))
        jobs.append(Job(path, doc.source if doc is not None else None))
        if doc is not None:
            read[str(path)] = doc.source

    cancel = threading.Event()
    token = a.work_done_token if a.work_done_token is not None else str(uuid.uuid4())
    progress = await _progress_begin(
        ls, token, f"Codemod {a.name}", cancel, created=a.work_done_token is not None
    )
    loop = asyncio.get_running_loop()
    last = [0.0]

    def show(done: int, changed: int, total: int) -> None:
        now = time.monotonic()
        if progress and (now - last[0] >= PROGRESS_EVERY_S or done == total):
            last[0] = now
            message = f"{done}/{total} files" + (f", {changed} changed" if changed else "")
            pct = int(100 * done / total) if total else 100
            loop.call_soon_threadsafe(
                ls.work_done_progress.report,
                token,
                types.WorkDoneProgressReport(message=message, percentage=pct, cancellable=True),
            )

    spec = CodemodSpec(info.module, info.cls, args)

    def local(todo: list[Job], report: Progress) -> Summary:
        return run(
            spec,
            todo,
            workers=ls.settings.codemod_jobs or os.cpu_count() or 2,
            timeout=ls.settings.codemod_timeout,
            root=root,
            progress=report,
            cancel=cancel,
        )

    def report(summary: Summary, total: int) -> None:
        if summary.cancelled:
            return  # the files a cancel stops count as "not run", not as done
        show(len(summary.results), summary.count("changed"), total)

    shared: list[dict[str, int]] = []

    async def either() -> Summary:
        queue = _group_queue(ls)
        if queue is not None and not await asyncio.to_thread(spec.together):
            from shim_lsp.server.codemod_jobs import run_shared

            done = await run_shared(
                *queue, engine, a.name, a.args, spec, jobs, local, cancel=cancel, show=show
            )
            if done is not None:
                shared.append(done[1].to_json())
                return done[0]
        elif queue is not None:
            log.info("codemod %s: its changes go together; run here, not split", a.name)
        return await asyncio.to_thread(local, jobs, report)

    running = asyncio.ensure_future(either())
    try:
        summary = await asyncio.shield(running)
    except asyncio.CancelledError:
        # $/cancelRequest: stop the workers and apply nothing, as the progress's cancel does.
        cancel.set()
        stopped = await running
        if progress:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=stopped.line()))
        raise
    summary.results.extend(FileResult(str(p), "skipped", why) for p, why in chosen.refused.items())
    if not summary.cancelled:
        together = CodemodSpec(info.module, info.cls).together()
        _changed_meanwhile(ls, summary, read, together=together)
        await _held_elsewhere(ls, summary, together=together)
    if progress:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=summary.line()))
    result: dict[str, Any] = {
        "summary": summary.line(),
        "cancelled": summary.cancelled,
        "failed": [
            {"path": r.path, "reason": r.reason} for r in summary.results if r.status == "failed"
        ],
        "skipped": [
            {"path": r.path, "reason": r.reason} for r in summary.results if r.status == "skipped"
        ],
        "warnings": [{"path": r.path, "warning": w} for r in summary.results for w in r.warnings],
        "changed": [],
        "applied": False,
    }
    if shared:
        result["shared"] = shared[0]
    changed = [r for r in summary.results if r.status == "changed"]
    if summary.cancelled or not changed:
        return result
    began = time.monotonic()
    checkpoint = await asyncio.wrap_future(engine.checkpoint(f"before codemod {a.name}", "codemod"))
    log.info("codemod %s: checkpoint taken in %.2f s", a.name, time.monotonic() - began)
    batch = batches.Batch(a.name, checkpoint=checkpoint.id)
    file_edits: list[edits.FileEdit] = []
    annotation = ANNOTATION if a.preview else None
    for r in sorted(changed, key=lambda r: r.path):
        uri = path_to_uri(Path(r.path))
        old, version = edits.text_now(ls, uri)
        if old is None:
            raise FileNotFoundError(f"{r.path} is gone since the codemod read it")
        new = r.new_text if r.new_text is not None else decode(r.new or b"", Path(r.path))
        file_edits.append(edits.file_edit(ls, uri, old, new, version, annotation))
        batch.files[uri] = (old, new)
    annotations = None
    if a.preview:
        annotations = {
            ANNOTATION: types.ChangeAnnotation(
                label=f"Codemod {a.name}", needs_confirmation=True, description=summary.line()
            )
        }
    log.info(
        "codemod %s: %s edits built in %.2f s", a.name, len(file_edits), time.monotonic() - began
    )
    answer = await edits.apply(ls, file_edits, f"Codemod: {a.name}", annotations)
    log.info("codemod %s: edit sent and answered at %.2f s", a.name, time.monotonic() - began)
    applied = answer is not None and answer.applied
    result["changed"] = sorted(batch.files)
    result["applied"] = applied
    result["checkpoint"] = checkpoint.id
    if applied:
        batch_id = uuid.uuid4().hex[:12]
        save = partial(batches.save, batch_id=batch_id, workspace=engine.workspace.key, batch=batch)
        await asyncio.wrap_future(engine.writer.submit(save))
        result["batch"] = batch_id
    else:
        result["reason"] = (
            answer.failure_reason if answer is not None else None
        ) or "the editor did not apply the edit"
    return result


def _changed_meanwhile(
    ls: ShimLanguageServer, summary: Summary, read: dict[str, str], *, together: bool
) -> None:
    """A result is made from the text the codemod read: where the buffer or the file holds
    other text now (typed or saved during the run), applying it would undo the user's
    change, so that file is skipped; for changes that go together, every file is."""
    from shim_lsp.codemods.writes import CHANGED_MEANWHILE

    moved = 0
    for i, r in enumerate(summary.results):
        if r.status != "changed":
            continue
        before = read.get(r.path)
        if before is None and r.old is not None:
            before = decode(r.old, Path(r.path))
        now, _version = edits.text_now(ls, path_to_uri(Path(r.path)))
        if before is not None and now != before:
            summary.results[i] = dataclasses.replace(r, status="skipped", reason=CHANGED_MEANWHILE)
            moved += 1
    if together and moved:
        files = "file" if moved == 1 else "files"
        reason = f"not applied: this codemod's changes go together, and {moved} {files} changed"
        summary.results[:] = [
            dataclasses.replace(r, status="skipped", reason=f"{reason} while it ran")
            if r.status == "changed"
            else r
            for r in summary.results
        ]


async def _held_elsewhere(ls: ShimLanguageServer, summary: Summary, *, together: bool) -> None:
    """A file another window holds unsaved is changed only if the user says so; else it is
    skipped, and for changes that go together every file is (never half a flow)."""
    from shim_lsp.server.coordination import confirm_held

    changed = {path_to_uri(Path(r.path)): i for i, r in enumerate(summary.results)}
    changed = {u: i for u, i in changed.items() if summary.results[i].status == "changed"}
    left = await confirm_held(ls, list(changed), "this codemod changes")
    for uri, reason in left.items():
        i = changed[uri]
        summary.results[i] = dataclasses.replace(
            summary.results[i], status="skipped", reason=reason
        )
    if together and left:
        reason = (
            f"not applied: this codemod's changes go together, and {len(left)} of its files"
            " are unsaved in another window"
        )
        summary.results[:] = [
            dataclasses.replace(r, status="skipped", reason=reason) if r.status == "changed" else r
            for r in summary.results
        ]


async def _undo(
    ls: ShimLanguageServer,
    engine: SessionEngine,
    batch_id: str,
    together: Callable[[str], bool],
    *,
    force: bool,
) -> dict[str, Any]:
    def load() -> batches.Batch | None:
        with engine.reader() as conn:
            return batches.load(conn, batch_id, engine.workspace.key)

    if not client.can_apply_edit(ls):
        raise JsonRpcInvalidParams(
            "this editor cannot apply edits from a server (workspace.applyEdit)"
        )
    batch = await asyncio.to_thread(load)
    if batch is None:
        raise JsonRpcInvalidParams(f"no codemod batch {batch_id!r} in this workspace")
    texts = {uri: edits.text_now(ls, uri) for uri in batch.files}
    plan = await asyncio.to_thread(
        plan_undo,
        batch,
        lambda uri: texts[uri][0],
        partial(together, batch.name),
        force=force,
    )
    refused = plan.refused
    if plan.held_back is not None:
        return {
            "undone": [],
            "refused": refused,
            "applied": False,
            "checkpoint": batch.checkpoint,
            "reason": plan.held_back,
        }
    changes = [
        edits.file_edit(ls, uri, after, before, texts[uri][1])
        for uri, after, before in plan.reverts
    ]
    applied = False
    if changes:
        answer = await edits.apply(ls, changes, f"Undo codemod: {batch.name}")
        applied = answer is not None and answer.applied
    if applied:
        await asyncio.wrap_future(engine.writer.submit(partial(batches.delete, batch_id=batch_id)))
    undone = [ls.client_uri(c.uri) for c in changes] if applied else []
    return {
        "undone": undone,
        "refused": refused,
        "applied": applied,
        "checkpoint": batch.checkpoint,
    }


async def _progress_begin(
    ls: ShimLanguageServer,
    token: ProgressToken,
    title: str,
    cancel: threading.Event,
    *,
    created: bool,
) -> bool:
    """Begin progress on ``token``; ``created`` means the client made it (no create request)."""
    if not created:
        caps = ls.client_capabilities.window
        if caps is None or not caps.work_done_progress:
            return False
        await ls.work_done_progress.create_async(token)
    ls.work_done_progress.begin(
        token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
    )
    ls.work_done_progress.tokens[token].add_done_callback(lambda _f: cancel.set())
    return True
