"""Codemods as tools: list them, run one (a dry run with its diff unless told to apply),
undo a run. The same discovery, argument checks, file selection, worker processes and safe
writes as ``shim codemod``; the same undo batches and undo decision as the editor's."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, StrictBool

from shim_lsp.mcp.face import Face, Unsaved, unified_diff
from shim_lsp.session.engine import SessionEngine
from shim_lsp.store import batches
from shim_lsp.workspace.encoding import Unencodable, to_file_bytes
from shim_lsp.workspace.files import decode, read_bytes, remove_staged, write_atomic
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

# libcst and the codemods load on first use, not at start-up.
if TYPE_CHECKING:
    from shim_lsp.codemods.registry import CodemodInfo
    from shim_lsp.codemods.runner import FileResult, Summary

DIFFS_MAX = 50
"""Diffs returned per run; the other changed files are listed by name."""
HELD = "an editor window holds this file with unsaved edits: ask the user to save or close it"
HELD_RUN = f"{HELD}, then run the codemod again"
HELD_UNDO = f"{HELD}, then undo again"


class Registry:
    """The codemods, discovered once per chat (it imports every codemod module)."""

    def __init__(self, face: Face) -> None:
        self.face = face
        self._lock = threading.Lock()
        self._found: tuple[dict[str, CodemodInfo], list[str]] | None = None

    def get(self) -> tuple[dict[str, CodemodInfo], list[str]]:
        from shim_lsp.codemods.registry import discover

        with self._lock:
            if self._found is None:
                chat = self.face.chat
                self._found = discover(chat.engine.settings.codemod_modules, [chat.folder])
            return self._found

    def info(self, name: str) -> CodemodInfo:
        found = self.get()[0].get(name)
        if found is None:
            raise ToolError(f"no codemod {name!r}; shim_list_codemods lists them")
        return found


def _arguments(info: CodemodInfo, given: dict[str, Any], root: Path) -> dict[str, Any]:
    """The codemod's arguments, errors worded by their keys in ``args``."""
    from shim_lsp.codemods.args import CodemodArgError, check_args

    try:
        return check_args(info, given, root=root)
    except CodemodArgError as exc:
        keys = ", ".join(f"args.{n}" for n in exc.names)
        if exc.problem == "unknown":
            raise ToolError(f"{info.name} takes no {keys} (it takes: {exc.known})") from exc
        if exc.problem == "missing":
            raise ToolError(f"{info.name} needs {keys}") from exc
        raise ToolError(f"{keys or 'args'}: {exc.detail}") from exc


def register(server: MCPServer[Any], face: Face) -> None:
    registry = Registry(face)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_list_codemods() -> dict[str, Any]:
        """The codemods SHIM can run over this workspace's Python files (libcst rewrites that
        keep formatting and comments: renames, moves, modernizations), each with what it does
        and its arguments. Run one with shim_run_codemod."""
        found, problems = await anyio.to_thread.run_sync(registry.get)
        return {"codemods": [i.to_json() for i in found.values()], "problems": problems}

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def shim_run_codemod(
        name: Annotated[str, Field(description="the codemod, as shim_list_codemods names it")],
        args: Annotated[
            dict[str, Any] | None,
            Field(description="its arguments by name, as shim_list_codemods lists them"),
        ] = None,
        paths: Annotated[
            list[str] | None,
            Field(description="files or folders (relative to the workspace); none: all of it"),
        ] = None,
        apply: Annotated[
            StrictBool,
            Field(description="false (the default): a dry run, a diff; true: write the files"),
        ] = False,
    ) -> dict[str, Any]:
        """Run a codemod over Python files of the workspace. By default a dry run: what
        would change, as a unified diff per file, nothing written. With apply true the
        workspace is checkpointed first and the changed files are written; a file an editor
        window holds with unsaved edits is not written (for a codemod whose changes go
        together, like a rename, nothing is), nor one changed while the codemod ran. Returns
        a batch id for shim_undo_codemod."""
        chat = face.writes() if apply else face.chat
        engine = chat.engine
        info = await anyio.to_thread.run_sync(registry.info, name)
        spec_args = await anyio.to_thread.run_sync(_arguments, info, args or {}, chat.folder)
        targets = face.targets(paths)
        summary, together = await anyio.to_thread.run_sync(
            partial(_run, info, spec_args, targets, chat.folder, engine.settings)
        )
        result: dict[str, Any] = {"codemod": name, "applied": False}
        if apply:
            unsaved = await face.unsaved()
            _refuse_held(summary, unsaved, together=together)
            result |= unsaved.group_note()
        changed = [r for r in summary.results if r.status == "changed"]
        if apply and changed:
            before = await anyio.to_thread.run_sync(
                chat.checkpoint, f"before codemod {name}", "codemod"
            )
            result["checkpointBefore"] = before.id
            # The undo batch is in the store before the first file is written: a chat killed
            # while writing leaves a run that recovery reports and shim_undo_codemod takes back.
            batch = batches.Batch(name, checkpoint=before.id)
            for r in changed:
                path = Path(r.path)
                batch.files[path_to_uri(path)] = (
                    decode(r.old or b"", path),
                    decode(r.new or b"", path),
                )
            batch_id = uuid.uuid4().hex[:12]
            await _keep_batch(engine, batch_id, batch)
            held_back = await anyio.to_thread.run_sync(partial(_write, summary, together=together))
            written = {path_to_uri(Path(r.path)) for r in summary.results if r.status == "changed"}
            result["applied"] = bool(written)
            if held_back:
                result["note"] = f"nothing was written: {held_back} changes that go together"
            if written != set(batch.files):
                kept = {uri: batch.files[uri] for uri in written}
                await _keep_batch(engine, batch_id, replace(batch, files=kept))
            if written:
                result["batch"] = batch_id
        result["summary"] = summary.line(written=bool(apply))
        result["files"] = _files_json(face, summary, diffs=not apply)
        return result

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def shim_undo_codemod(
        batch: Annotated[str, Field(description="the batch id shim_run_codemod returned")],
        force: Annotated[
            StrictBool,
            Field(
                description="for a codemod whose changes go together: undo the files that"
                " can be even when others cannot (leaves the project half changed)"
            ),
        ] = False,
    ) -> dict[str, Any]:
        """Put back the files a codemod run wrote, as they were before it. The workspace is
        checkpointed first. A file changed since the run, or held by an editor window with
        unsaved edits, is left as it is; for a codemod whose changes go together, nothing is
        undone then unless force is true."""
        from shim_lsp.codemods.undo import plan_undo

        chat = face.writes()
        engine = chat.engine

        def load(conn: sqlite3.Connection) -> batches.Batch | None:
            return next(
                (b for k in face.keys(conn) if (b := batches.load(conn, batch, k)) is not None),
                None,
            )

        loaded = await face.read(load)
        if loaded is None:
            raise ToolError(f"no codemod batch {batch!r} in this workspace")
        undo = loaded
        unsaved = await face.unsaved()

        def together() -> bool:
            info = registry.get()[0].get(undo.name)
            if info is None:  # no longer known: refusing too much loses nothing
                return True
            from shim_lsp.codemods.runner import CodemodSpec

            return CodemodSpec(info.module, info.cls).together()

        def text_now(uri: str) -> str | None:
            path = uri_to_path(uri)
            data = read_bytes(path) if path is not None else None
            return decode(data, path) if data is not None else None

        plan = await anyio.to_thread.run_sync(
            partial(
                plan_undo,
                undo,
                text_now,
                together,
                force=force,
                refuse=lambda uri: HELD_UNDO if unsaved.holds(uri_to_path(uri)) else None,
            )
        )
        shown = [{"path": face.chat.shown(uri_to_path(r["uri"])), **r} for r in plan.refused]
        out: dict[str, Any] = {"batch": batch, "undone": [], "refused": shown}
        out |= unsaved.group_note()
        if plan.held_back is not None:
            return {**out, "reason": plan.held_back}
        if plan.reverts:
            before = await anyio.to_thread.run_sync(
                chat.checkpoint, f"before undo {batch}", "codemod"
            )
            out["checkpointBefore"] = before.id
        failed = {r["uri"]: undo.files[r["uri"]] for r in plan.refused if r["reason"] == HELD_UNDO}
        """Files whose undo stays for later: held unsaved now, or not writable now."""

        def put_back() -> list[str]:
            done = []
            for uri, _after, text in plan.reverts:
                path = uri_to_path(uri)
                if path is None:
                    continue
                try:
                    target = chat.resolve(str(path))
                    write_atomic(target, to_file_bytes(text, read_bytes(target), target))
                except (OSError, ValueError, Unencodable) as exc:
                    shown.append({"path": chat.shown(path), "uri": uri, "reason": str(exc)})
                    failed[uri] = undo.files[uri]
                    continue
                done.append(chat.shown(path) or uri)
            return done

        out["undone"] = await anyio.to_thread.run_sync(put_back)
        out["tempFilesRemoved"] = await anyio.to_thread.run_sync(
            lambda: [chat.shown(p) for p in remove_staged(_batch_paths(undo))]
        )

        # A file held unsaved or that could not be written keeps its undo (saved, or made
        # writable, it can be undone again); the rest is done with.
        await _keep_batch(engine, batch, replace(undo, files=failed))
        return out


def _batch_paths(batch: batches.Batch) -> list[Path]:
    return [p for uri in batch.files if (p := uri_to_path(uri)) is not None]


async def _keep_batch(engine: SessionEngine, batch_id: str, batch: batches.Batch) -> None:
    """Keep (or replace, or with no file left delete) a run's undo batch, on the writer."""
    keep = partial(batches.replace, batch_id=batch_id, workspace=engine.workspace.key, batch=batch)
    await anyio.to_thread.run_sync(lambda: engine.writer.submit(keep).result())


def _run(
    info: CodemodInfo, args: dict[str, Any], targets: list[Path], root: Path, settings: Any
) -> tuple[Summary, bool]:
    """``shim codemod``'s selection and run, on a worker thread (the work is in processes)."""
    from shim_lsp.codemods.files import select
    from shim_lsp.codemods.runner import CodemodSpec, FileResult, Job, run

    spec = CodemodSpec(info.module, info.cls, args)
    try:
        chosen = select(targets, settings.exclude_globs, within=[root])
    except FileNotFoundError as exc:
        raise ToolError(str(exc)) from exc
    summary = run(
        spec,
        [Job(f) for f in chosen.files],
        workers=settings.codemod_jobs or os.cpu_count() or 2,
        timeout=settings.codemod_timeout,
        root=root,
    )
    summary.results.extend(FileResult(str(p), "skipped", why) for p, why in chosen.refused.items())
    return summary, spec.together()


def _refuse_held(summary: Summary, unsaved: Unsaved, *, together: bool) -> None:
    """Files editor windows hold unsaved are not written; with changes that go together,
    none is."""
    results = summary.results
    held = [i for i, r in enumerate(results) if r.status == "changed" and unsaved.holds(r.path)]
    for i in held:
        results[i] = replace(results[i], status="skipped", reason=HELD_RUN, new=None)
    if together and held:
        reason = (
            f"not written: this codemod's changes go together, and {len(held)} of its files"
            " an editor window holds with unsaved edits"
        )
        for i, r in enumerate(results):
            if r.status == "changed":
                results[i] = replace(r, status="skipped", reason=reason, new=None)


def _write(summary: Summary, *, together: bool) -> int:
    from shim_lsp.codemods.writes import write_changed

    return write_changed(summary, together=together)


def _files_json(face: Face, summary: Summary, *, diffs: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    shown_diffs = 0
    for r in sorted(summary.results, key=lambda r: r.path):
        if r.status == "unchanged":
            continue
        name = face.chat.shown(r.path) or r.path
        item: dict[str, Any] = {"path": name, "status": _status(r, diffs)}
        if r.reason:
            item["reason"] = r.reason
        if r.warnings:
            item["warnings"] = list(r.warnings)
        if diffs and r.status == "changed" and r.new is not None:
            if shown_diffs < DIFFS_MAX:
                path = Path(r.path)
                old = r.old if r.old is not None else (read_bytes(path) or b"")
                item["diff"] = unified_diff(decode(old, path), decode(r.new, path), name, name)
                shown_diffs += 1
            else:
                item["diff"] = None
        out.append(item)
    return out


def _status(result: FileResult, dry: bool) -> str:
    return "would change" if result.status == "changed" and dry else result.status
