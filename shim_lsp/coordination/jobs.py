"""Codemod runs shared by a workspace's windows: file batches as BullMQ jobs.

The asking window splits a run's files into batches and adds each to its workspace's queue
(``<prefix>:ws:<hash>:bull:codemods``); every member runs a BullMQ worker on that queue. Only
names cross the wire one way (the codemod, its arguments, workspace-relative paths and the
SHA-256 of each file's bytes as the asker read them); the worker reads each file from its own
copy of the workspace and works only on one whose bytes hash the same. The new bytes come
back as the job's return value. A batch's job id is the hash of its inputs, so adding it
again (a retry, a second window asking the same) finds the job already there, and a job that
runs twice (a worker killed mid-job: BullMQ hands it to another once its lock lapses) gives
the same result.

Cancel: the asker sets ``…:bull-cancel:<run>``; each worker looks for it while a batch runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from redis.asyncio import Redis

from shim_lsp.coordination.connection import Full, RedisTarget, client, explain
from shim_lsp.coordination.registry import Keys
from shim_lsp.metrics import recorder

log = logging.getLogger(__name__)

VERSION = 1
QUEUE = "codemods"
PAYLOAD_MAX = 1 << 20
"""A batch's inputs (names and hashes only) in bytes; a bigger one is refused."""
RESULT_MAX = 256 << 20
"""A batch's result in bytes: new texts of up to ``BATCH_FILES_MAX`` files."""
BATCHES = 64
"""A run is split into about this many batches: enough that the last ones are small, so
that no member is left with a long batch while the others are idle."""
BATCH_FILES_MAX = 100
POLL_S = 0.1
"""How often the asker looks for its user's cancel, and a worker for the asker's."""
RESYNC_S = 2.0
"""How often the asker looks at all its unfinished jobs, beside BullMQ's events."""
EVENTS_BLOCK_S = 1.0
"""How long the asker's read of BullMQ's event stream waits (added to its socket timeout)."""
DRAIN_S = 1.0
"""How long a worker's BZPOPMIN waits for a job (added to its socket timeout)."""
STOP_S = 1.0
FULL_REST_S = (5.0, 60.0)
"""How long the worker rests when Redis is full, the first time and at most (doubling):
BullMQ would otherwise ask again ten times a second, each a warning."""
"""How long leaving the group waits for the worker to close."""
KEEP_S = 3600
"""Finished jobs are kept this long: a run asked again meanwhile reuses their results."""

Status = Literal["changed", "unchanged", "skipped", "failed", "not run"]


class JobRejected(ValueError):
    """A job's payload or result that does not fit its schema, size or workspace."""


@attrs.frozen
class BatchFile:
    path: str
    """Relative to the workspace folder, POSIX separators."""
    sha256: str
    """Of the bytes the asking window read."""


@attrs.frozen
class Batch:
    version: int
    workspace: str
    run: str
    """The asking run's id: where its cancel is said."""
    codemod: str
    """A codemod's name, looked up in the worker's own registry (never a module path)."""
    args: dict[str, Any]
    files: list[BatchFile]


@attrs.frozen
class Outcome:
    path: str
    sha256: str
    status: Status
    reason: str = ""
    new: str | None = None
    """The new bytes, base64, when changed."""
    warnings: list[str] = attrs.field(factory=list)

    @property
    def new_bytes(self) -> bytes | None:
        return None if self.new is None else base64.b64decode(self.new, validate=True)


_converter = cattrs.Converter(forbid_extra_keys=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def job_id(batch: Batch) -> str:
    """The batch's inputs' hash (never all digits: BullMQ refuses integer custom ids)."""
    key = json.dumps(
        [batch.workspace, batch.codemod, batch.args, [[f.path, f.sha256] for f in batch.files]],
        sort_keys=True,
        separators=(",", ":"),
    )
    return "b" + digest(key.encode("utf-8", "surrogatepass"))[:40]


def split(
    files: Sequence[BatchFile], sizes: Sequence[int], count: int = BATCHES
) -> list[list[BatchFile]]:
    """About ``count`` batches of consecutive files of about equal bytes (``sizes``: each
    file's; a file bigger than a share is a batch of its own), each of at most
    ``BATCH_FILES_MAX`` files, the biggest first: the queue hands them out in that order, so
    the long ones start early and the short ones fill the end."""
    if not files:
        return []
    share = max(1, math.ceil(sum(sizes) / count))
    batches: list[list[BatchFile]] = [[]]
    weights = [0]
    for f, size in zip(files, sizes, strict=True):
        full = weights[-1] + size > share or len(batches[-1]) >= BATCH_FILES_MAX
        if batches[-1] and full:
            batches.append([])
            weights.append(0)
        batches[-1].append(f)
        weights[-1] += size
    order = sorted(range(len(batches)), key=lambda i: -weights[i])
    return [batches[i] for i in order]


T = TypeVar("T")


def _structured(
    data: Any, cls: type[T], limit: int, what: str, check: Callable[[T], None] = lambda _: None
) -> T:
    """``data`` (a job's payload or result, as JSON) as ``cls``, checked by ``check``: one
    of at most ``limit`` bytes that fits the schema, else ``JobRejected`` saying which."""
    try:
        size = len(json.dumps(data))
        if size > limit:
            raise JobRejected(f"{what} of {size} bytes (at most {limit})")
        found = _converter.structure(data, cls)
        check(found)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, JobRejected):
            raise
        raise JobRejected(f"malformed {what}: {type(exc).__name__}") from None
    return found


def encode_batch(batch: Batch) -> dict[str, Any]:
    data: dict[str, Any] = _converter.unstructure(batch)
    return data


def decode_batch(data: Any, workspace: str) -> Batch:
    """A job's payload, checked: its schema, its size, and that it is this workspace's."""
    batch = _structured(data, Batch, PAYLOAD_MAX, "payload")
    if batch.version != VERSION:
        raise JobRejected(f"payload version {batch.version} (this SHIM speaks {VERSION})")
    if batch.workspace != workspace:
        raise JobRejected("payload of another workspace")
    return batch


@attrs.frozen
class Result:
    worker: str
    """The session id of the member that worked the batch."""
    outcomes: list[Outcome]


def encode_result(result: Result) -> dict[str, Any]:
    found: dict[str, Any] = _converter.unstructure(result)
    return found


def decode_result(data: Any, batch: Batch) -> Result:
    """A job's result, checked against its batch: one outcome per file, the same hashes."""

    def decodes(result: Result) -> None:
        for o in result.outcomes:
            o.new_bytes  # noqa: B018 - raises on what is not base64

    result = _structured(data, Result, RESULT_MAX, "result", decodes)
    outcomes = result.outcomes
    asked = sorted((f.path, f.sha256) for f in batch.files)
    if sorted((o.path, o.sha256) for o in outcomes) != asked:
        raise JobRejected("a result for other files than the batch's")
    return result


def worker_options(keys: Keys, ttl: float, concurrency: int, name: str) -> dict[str, Any]:
    """The lock of a job being worked on lasts one coordination TTL, renewed every half; a
    worker that died leaves its job to another within about a TTL and a half."""
    lock_ms = max(1000, int(ttl * 1000))
    return {
        "prefix": bull_prefix(keys),
        "name": name,
        "concurrency": max(1, concurrency),
        "lockDuration": lock_ms,
        "stalledInterval": lock_ms // 2,
        "maxStalledCount": 2,
        "drainDelay": DRAIN_S,
        "runRetryDelay": 1000,
        "skipVersionCheck": True,
    }


def job_options(batch: Batch) -> dict[str, Any]:
    return {
        "jobId": job_id(batch),
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 500},
        "removeOnComplete": {"age": KEEP_S},
        "removeOnFail": {"age": KEEP_S},
    }


def bull_prefix(keys: Keys) -> str:
    return f"{keys.base}:bull"


def cancel_key(keys: Keys, run: str) -> str:
    return f"{keys.base}:bull-cancel:{run}"


Handle = Callable[[Batch, threading.Event, Callable[[int], None]], list[Outcome]]
"""Works a batch (in a thread): the cancel event, and a callback taking the files done."""


class JobWorker:
    """This member's BullMQ worker on its workspace's codemod queue."""

    def __init__(
        self,
        target: RedisTarget,
        keys: Keys,
        ttl: float,
        concurrency: int,
        handle: Handle,
        name: str,
        answered: Callable[[], bool] = lambda: False,
    ) -> None:
        """``answered``: whether Redis has answered this member before (its errors then guess
        no scheme mismatch)."""
        self.target, self.keys, self.handle = target, keys, handle
        self.answered = answered
        self.options = worker_options(keys, ttl, concurrency, name)
        self.rejected = 0
        self._worker: Any = None
        self._working: set[threading.Event] = set()
        """The cancel of each batch in hand: leaving the group stops their threads."""
        self._redis: Redis | None = None
        self._full: float | None = None
        """While Redis is full: how long the worker rests next before it asks again."""
        self._full_seen = 0.0
        self._resting: asyncio.Task[None] | None = None

    def start(self) -> None:
        from bullmq import Worker

        self._redis = client(self.target, decode=True)
        conn = client(self.target, decode=True, blocking_s=DRAIN_S)
        self._worker = Worker(QUEUE, self._process, {**self.options, "connection": conn})
        self._worker.on("error", self._error)
        log.info("coordination: working %s's codemod jobs", self.keys.base)

    def _error(self, error: BaseException, *_job: Any) -> None:
        explained = explain(self.target, error, answered=self.answered())
        if not isinstance(explained, Full):
            self._full = None
            log.warning("coordination: job worker: %s", explained)
            return
        now = time.monotonic()
        if self._full is None or now - self._full_seen > self._full + FULL_REST_S[0]:
            log.warning("coordination: job worker: %s", explained)  # once a time it fills
            self._full = FULL_REST_S[0]
        self._full_seen = now
        worker = self._worker
        if worker is not None and not worker.paused:
            self._resting = asyncio.ensure_future(self._rest(worker, self._full))
            self._full = min(self._full * 2, FULL_REST_S[1])

    async def _rest(self, worker: Any, seconds: float) -> None:
        """Stop asking for jobs a while (Redis is full), then ask again."""
        await worker.pause(do_not_wait_active=True)
        await asyncio.sleep(seconds)
        if self._worker is worker:
            worker.resume()

    async def stop(self) -> None:
        """Stop taking jobs and abandon the batches in hand (their locks lapse, and another
        member takes them), within ``STOP_S``: BullMQ's ``close`` waits for its teardown even
        when cancelled, so it is left to finish on its own rather than awaited past that."""
        worker, self._worker = self._worker, None
        if self._resting is not None:
            self._resting.cancel()
        for cancel in list(self._working):
            cancel.set()
        if worker is not None:
            worker.cancelAllJobs("this window is leaving the group")
            closing = asyncio.ensure_future(worker.close(force=True))
            await asyncio.wait({closing}, timeout=STOP_S)
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), STOP_S)

    async def _process(self, job: Any, token: str, signal: Any) -> dict[str, Any]:
        from bullmq.custom_errors import UnrecoverableError

        if getattr(job, "attemptsMade", 0):
            recorder.job("retried")
        try:
            batch = decode_batch(job.data, self.keys.workspace)
        except JobRejected as exc:
            self.rejected += 1
            recorder.job("failed")
            log.warning("coordination: refused job %s: %s", job.id, exc)
            raise UnrecoverableError(str(exc)) from None
        began = time.monotonic()
        cancel = threading.Event()
        done = [0]
        shown = 0

        def progress(files: int) -> None:
            done[0] = files

        work = asyncio.ensure_future(asyncio.to_thread(self.handle, batch, cancel, progress))
        self._working.add(cancel)
        work.add_done_callback(lambda _f: self._working.discard(cancel))
        work.add_done_callback(_retrieved)
        cancel_at = cancel_key(self.keys, batch.run)
        while not work.done():
            await asyncio.wait({work}, timeout=POLL_S)
            if work.done():
                break
            with contextlib.suppress(Exception):
                if signal.aborted or (self._redis and await self._redis.exists(cancel_at)):
                    cancel.set()
            if done[0] != shown:
                shown = done[0]
                with contextlib.suppress(Exception):
                    await job.updateProgress(shown)
        try:
            outcomes = work.result()
        except Exception:
            recorder.job("failed")
            raise
        if cancel.is_set():
            raise UnrecoverableError("cancelled by the window that asked")
        log.info(
            "coordination: batch %s of %s files worked in %.2f s",
            job.id,
            len(batch.files),
            time.monotonic() - began,
        )
        return encode_result(Result(self.options["name"], outcomes))


def _retrieved(work: asyncio.Future[Any]) -> None:
    """A batch abandoned by a worker that left still ends: what it raised is logged."""
    if not work.cancelled() and work.exception() is not None:
        log.info("coordination: an abandoned batch ended with %r", work.exception())


@attrs.define
class Remote:
    """What the asker got back: results by batch index, and the batches left undone."""

    results: dict[int, Result] = attrs.field(factory=dict)
    left: list[int] = attrs.field(factory=list)
    problem: str | None = None
    """Why some batches came back undone (Redis away, a job that failed)."""


class _Nudges:
    """The jobs BullMQ's event stream says finished or moved on (``QueueEvents``): the asker
    looks at those at once, and at all its jobs only every ``RESYNC_S`` (events are a nudge;
    the job's own hash is what counts)."""

    def __init__(self, ids: list[str]) -> None:
        self.index = {jid: i for i, jid in enumerate(ids)}
        self.finished: set[int] = set()
        self.progress: dict[int, int] = {}
        self.event = asyncio.Event()

    def on_finished(self, args: dict[str, Any], *_id: Any) -> None:
        i = self.index.get(str(args.get("jobId")))
        if i is not None:
            self.finished.add(i)
            self.event.set()

    def on_progress(self, args: dict[str, Any], *_id: Any) -> None:
        i = self.index.get(str(args.get("jobId")))
        if i is not None and isinstance(args.get("data"), int):
            self.progress[i] = args["data"]
            self.event.set()


async def _listen(target: RedisTarget, keys: Keys, nudges: _Nudges) -> Any:
    """BullMQ's ``QueueEvents`` on the queue from its latest event on (none missed between
    now and the jobs' adding), or None when it cannot start (the resync still sees all)."""
    from bullmq import QueueEvents

    r = client(target, decode=True)
    stream = f"{bull_prefix(keys)}:{QUEUE}:events"
    try:
        last = await asyncio.wait_for(r.xrevrange(stream, count=1), 5)
    except Exception as exc:
        log.info("coordination: no job events (%s); looking at the jobs instead", exc)
        return None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(r.aclose(), 1.0)
    conn = client(target, decode=True, blocking_s=EVENTS_BLOCK_S)
    options = {
        "connection": conn,
        "prefix": bull_prefix(keys),
        "lastEventId": last[0][0] if last else "0-0",
        "blockingTimeout": int(EVENTS_BLOCK_S * 1000),
        "skipVersionCheck": True,
    }
    events = QueueEvents(QUEUE, options)
    events.on("completed", nudges.on_finished)
    events.on("failed", nudges.on_finished)
    events.on("progress", nudges.on_progress)
    events.on("error", lambda e, *_: log.info("coordination: job events: %s", explain(target, e)))
    return events


async def run_batches(
    target: RedisTarget,
    keys: Keys,
    batches: list[Batch],
    *,
    cancelled: Callable[[], bool],
    progress: Callable[[int], None],
) -> Remote:
    """Add the batches as jobs, wait for their results; never raises for Redis: what could
    not be done remotely comes back in ``left`` (the caller runs it locally)."""
    from bullmq import Job, Queue

    r = client(target, decode=True)
    queue = Queue(QUEUE, {"connection": r, "prefix": bull_prefix(keys)})
    found = Remote()
    ids = [job_id(b) for b in batches]
    waiting = set(range(len(batches)))
    done_files: dict[int, int] = {}
    nudges = _Nudges(ids)
    events: Any = None
    t0 = time.monotonic()

    async def look(which: list[int]) -> None:
        for i in which:
            job = await asyncio.wait_for(Job.fromId(queue, ids[i]), 5)
            if job is None:
                raise JobRejected(f"job {ids[i]} is gone from the queue")
            if job.finishedOn and job.failedReason and not job.returnvalue:
                raise JobRejected(f"a batch failed: {job.failedReason}")
            if job.finishedOn and job.returnvalue is not None:
                found.results[i] = decode_result(job.returnvalue, batches[i])
                waiting.discard(i)
                done_files[i] = len(batches[i].files)
                log.info("coordination: batch %s back at %.2f s", ids[i], time.monotonic() - t0)
            elif isinstance(job.progress, int):
                done_files[i] = job.progress

    try:
        events = await _listen(target, keys, nudges)
        for batch, jid in zip(batches, ids, strict=True):
            await asyncio.wait_for(queue.add(QUEUE, encode_batch(batch), job_options(batch)), 5)
            state = await queue.getJobState(jid)
            if state == "failed":  # a cancelled or refused run left it: ask again
                with contextlib.suppress(Exception):
                    await queue.remove(jid)
                await queue.add(QUEUE, encode_batch(batch), job_options(batch))
        log.info("coordination: %s batches queued in %.2f s", len(batches), time.monotonic() - t0)
        resync = 0.0  # every job at once: one finished before the events were heard
        while waiting:
            if cancelled():
                await r.set(cancel_key(keys, batches[0].run), "1", ex=KEEP_S)
                for i in waiting:
                    with contextlib.suppress(Exception):
                        await queue.remove(ids[i])  # a job not yet started; one running stops
                found.left = sorted(waiting)
                return found
            if time.monotonic() >= resync or events is None:
                await look(sorted(waiting))
                resync = time.monotonic() + (RESYNC_S if events is not None else POLL_S)
            else:
                nudged, nudges.finished = nudges.finished, set()
                await look(sorted(nudged & waiting))
            for i, files in nudges.progress.items():
                if i in waiting:
                    done_files[i] = max(done_files.get(i, 0), files)
            progress(sum(done_files.values()))
            if waiting:
                nudges.event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudges.event.wait(), POLL_S)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        found.problem = str(exc) if isinstance(exc, JobRejected) else str(explain(target, exc))
        found.left = sorted(waiting)
    finally:
        closing = [queue.close()] + ([events.close()] if events is not None else [])
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 1.0)
    return found


async def workers_on(target: RedisTarget, keys: Keys) -> int:
    """How many workers listen on the workspace's queue now (0 when Redis cannot say)."""
    queue = open_queue(target, keys)
    try:
        count: int = await asyncio.wait_for(queue.get_workers_count(), 3)
        return count
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(queue.close(), 1.0)


def open_queue(target: RedisTarget, keys: Keys) -> Any:
    """The workspace's codemod queue, to look at (its connection made at first use)."""
    from bullmq import Queue

    return Queue(QUEUE, {"connection": client(target, decode=True), "prefix": bull_prefix(keys)})


async def queue_depth(queue: Any) -> tuple[int, int]:
    """(waiting, active) jobs of the queue: BullMQ's own count, in one script call."""
    counts = await queue.getJobCounts("waiting", "active")
    return int(counts.get("waiting", 0)), int(counts.get("active", 0))
