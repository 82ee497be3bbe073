"""A workspace codemod run shared with the group's windows through BullMQ, and this window's
share of others' runs.

The asker (``run_shared``) sends the files on disk as batches (``coordination.jobs``) and
keeps open buffers to itself (their unsaved text never crosses the wire); what comes back is
made into the same ``Summary`` a local run gives, so the preview, the edit, the undo and the
refusals that follow are the same. Batches that Redis could not carry are run here. The
worker (``work_batch``) reads only files inside this window's own folders that it may read,
and only when their bytes are the asker's; it leaves the others to the asker, which runs them
itself (two checkouts that share a ``workspaceId`` may differ).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs

from shim_lsp.coordination.jobs import Batch, BatchFile, Outcome
from shim_lsp.coordination.registry import Keys

if TYPE_CHECKING:
    from pebble import ProcessPool

    from shim_lsp.codemods.registry import CodemodInfo
    from shim_lsp.codemods.runner import CodemodSpec, FileResult, Job, Summary
    from shim_lsp.coordination.connection import RedisTarget
    from shim_lsp.session.engine import SessionEngine
    from shim_lsp.settings import Settings

log = logging.getLogger(__name__)

DIFFERS = "its content in this window differs from the asking window's; left to the asker"
NOT_HERE = "not a file of this window; left to the asker"
LEFT_TO_ASKER = (DIFFERS, NOT_HERE)
"""A worker's reasons for leaving a file to the asker (another checkout of the same
``workspaceId``): the asker runs each such file itself, so the run is never incomplete."""


@attrs.frozen
class Shared:
    """How a run was shared, for its result: ``shim.runCodemod`` says it."""

    batches: int
    windows: int
    """How many windows (this one included) worked its batches."""
    here: int
    """Files run in this window: its open buffers, and batches the group did not finish."""

    def to_json(self) -> dict[str, int]:
        return {"batches": self.batches, "windows": self.windows, "filesHere": self.here}

    def line(self) -> str:
        return f"{self.batches} batches worked by {self.windows} windows, {self.here} files here"


def _inside(engine: SessionEngine, rel: str) -> Path | None:
    """A batch's workspace-relative path as a file of this window that it may read."""
    parts = PurePosixPath(rel)
    if parts.is_absolute() or ".." in parts.parts or not rel:
        return None
    for folder in engine.workspace.folders:
        candidate = Path(folder) / parts
        inside = engine.workspace.contains(candidate) and candidate.is_file()
        if inside and engine.may_read(candidate):
            return candidate
    return None


def work_batch(
    engine: SessionEngine,
    settings: Settings,
    registry: Callable[[], dict[str, CodemodInfo]],
    pool: Callable[[], ProcessPool],
    batch: Batch,
    cancel: threading.Event,
    progress: Callable[[int], None],
) -> list[Outcome]:
    """Run a batch here (a thread of the worker; the codemod itself in the process pool)."""
    from shim_lsp.codemods.args import CodemodArgError, check_args
    from shim_lsp.codemods.runner import CodemodSpec, Job, run
    from shim_lsp.coordination.jobs import digest

    def all_(status: Any, reason: str) -> list[Outcome]:
        return [Outcome(f.path, f.sha256, status, reason) for f in batch.files]

    info = registry().get(batch.codemod)
    if info is None:
        return all_("failed", f"no codemod {batch.codemod!r} in the window that ran the batch")
    root = engine.workspace.folders[0] if engine.workspace.folders else None
    try:
        spec = CodemodSpec(info.module, info.cls, check_args(info, batch.args, root=root))
    except CodemodArgError as exc:
        return all_("failed", f"the codemod's arguments: {exc}")
    outcomes: dict[str, Outcome] = {}
    jobs: list[Job] = []
    asked: dict[str, BatchFile] = {}
    for f in batch.files:
        path = _inside(engine, f.path)
        if path is None:
            outcomes[f.path] = Outcome(f.path, f.sha256, "skipped", NOT_HERE)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            outcomes[f.path] = Outcome(f.path, f.sha256, "failed", f"cannot read: {exc}")
            continue
        if digest(data) != f.sha256:
            outcomes[f.path] = Outcome(f.path, f.sha256, "skipped", DIFFERS)
            continue
        jobs.append(Job(path, data))
        asked[str(path)] = f
    summary = run(
        spec,
        jobs,
        timeout=settings.codemod_timeout,
        root=root,
        progress=lambda s, _total: progress(len(outcomes) + len(s.results)),
        cancel=cancel,
        pool=pool(),
    )
    for r in summary.results:
        f = asked[r.path]
        new = base64.b64encode(r.new).decode("ascii") if r.new is not None else None
        outcomes[f.path] = Outcome(f.path, f.sha256, r.status, r.reason, new, list(r.warnings))
    return [outcomes[f.path] for f in batch.files if f.path in outcomes]


async def run_shared(
    target: RedisTarget,
    keys: Keys,
    engine: SessionEngine,
    name: str,
    args: dict[str, Any],
    spec: CodemodSpec,
    jobs: list[Job],
    local: Callable[[list[Job], Callable[[Summary, int], None]], Summary],
    *,
    cancel: threading.Event,
    show: Callable[[int, int, int], None],
) -> tuple[Summary, Shared] | None:
    """The run, its files on disk as jobs for the group; None when no worker listens (the
    caller runs it all here). ``local`` runs jobs in this window (in a thread)."""
    import uuid

    from shim_lsp.codemods.runner import PREFILTERED, FileResult, Job, Summary
    from shim_lsp.coordination import jobs as q

    try:
        workers = await q.workers_on(target, keys)
    except Exception as exc:
        log.info("codemod %s: the queue cannot be asked (%s); running it here", name, exc)
        return None
    if workers == 0:
        log.info("codemod %s: no window of the group works jobs; running it here", name)
        return None
    began = time.monotonic()
    buffers = [j for j in jobs if j.source is not None]
    read, results = await asyncio.to_thread(_read, engine, [j for j in jobs if j.source is None])
    run_id = uuid.uuid4().hex
    needed = await asyncio.to_thread(spec.needs_parsing)
    files, sizes = [], []
    for rel, (path, data, sha) in read.items():
        if needed(path, data):
            files.append(BatchFile(rel, sha))
            sizes.append(len(data))
        else:  # as a local run says it, and nothing to send
            results.append(FileResult(str(path), "unchanged", PREFILTERED))
    batches = [
        Batch(q.VERSION, keys.workspace, run_id, name, args, part) for part in q.split(files, sizes)
    ]
    total = len(jobs)
    local_done = [0, 0]
    remote_done = [0]

    def tell() -> None:
        show(local_done[0] + remote_done[0] + len(results), local_done[1], total)

    def on_local(s: Summary, _total: int) -> None:
        local_done[:] = [len(s.results), s.count("changed")]
        tell()

    def on_remote(done: int) -> None:
        remote_done[0] = done
        tell()

    log.info(
        "codemod %s: %s files in %s batches through the group's queue (%s workers),"
        " read and hashed in %.2f s",
        name,
        len(files),
        len(batches),
        workers,
        time.monotonic() - began,
    )
    mine = asyncio.ensure_future(asyncio.to_thread(local, buffers, on_local))
    remote = await q.run_batches(target, keys, batches, cancelled=cancel.is_set, progress=on_remote)
    log.info("codemod %s: the group's results in at %.2f s", name, time.monotonic() - began)
    summary = Summary(results=list(results))
    theirs: list[Job] = []  # left to this window: the worker's checkout differs there
    for result in remote.results.values():
        for o in result.outcomes:
            path, data, _sha = read[o.path]
            if o.status == "skipped" and o.reason in LEFT_TO_ASKER:
                theirs.append(Job(path, data))
                continue
            new = o.new_bytes
            old = data if o.status == "changed" else None
            summary.results.append(
                FileResult(str(path), o.status, o.reason, new, None, tuple(o.warnings), old)
            )
    left = [Job(read[f.path][0], read[f.path][1]) for i in remote.left for f in batches[i].files]

    async def run_here(
        jobs: list[Job], level: int, why: str, progress: Callable[[Summary, int], None]
    ) -> None:
        """Files the group did not do, run in this window (or said not run, once cancelled)."""
        if not jobs:
            return
        if cancel.is_set():
            summary.cancelled = True
            unrun = "the run was cancelled before this file was done"
            summary.results.extend(FileResult(str(j.path), "not run", unrun) for j in jobs)
            return
        log.log(level, "codemod %s: %s", name, why)
        rest = await asyncio.to_thread(local, jobs, progress)
        summary.results.extend(rest.results)
        summary.cancelled = summary.cancelled or rest.cancelled

    await run_here(
        left,
        logging.WARNING,
        f"{remote.problem or 'the group did not finish'}; running the remaining {len(left)}"
        " files here",
        lambda s, _t: on_remote(len(s.results)),
    )
    await run_here(
        theirs,
        logging.INFO,
        f"{len(theirs)} files differ in the checkout of the window that worked them;"
        " running them here",
        lambda s, _t: tell(),
    )
    here = await mine
    summary.results.extend(here.results)
    summary.cancelled = summary.cancelled or here.cancelled or cancel.is_set()
    shared = Shared(
        len(batches),
        len({r.worker for r in remote.results.values()}),
        len(buffers) + len(left) + len(theirs),
    )
    log.info("codemod %s: %s, at %.2f s", name, shared.line(), time.monotonic() - began)
    return summary, shared


def _read(
    engine: SessionEngine, jobs: list[Job]
) -> tuple[dict[str, tuple[Path, bytes, str]], list[FileResult]]:
    """Each file's bytes and hash, by its path in the workspace; a file that cannot be read
    fails here, as a local run says."""
    from shim_lsp.codemods.runner import FileResult
    from shim_lsp.coordination.jobs import digest

    read: dict[str, tuple[Path, bytes, str]] = {}
    failed: list[FileResult] = []
    for job in jobs:
        folder = engine.workspace.folder_of(job.path)
        try:
            data = job.path.read_bytes()
        except OSError as exc:
            failed.append(FileResult(str(job.path), "failed", f"cannot read: {exc}"))
            continue
        if folder is None:
            failed.append(FileResult(str(job.path), "skipped", "outside the workspace"))
            continue
        rel = Path(os.path.realpath(job.path)).relative_to(folder).as_posix()
        read[rel] = (job.path, data, digest(data))
    return read, failed
