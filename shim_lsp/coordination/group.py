"""A member's life in its workspace's group: join, beat, listen, resync, rejoin, leave.

Everything runs in one background task (``Coordinator.run``); the caller only hands it
changes (``changed``) and reads what it last knew (``state``, ``members``): nothing that
answers an editor ever waits on Redis. Pub/sub is at-most-once, so a nudge only says "read
the records again": a member that missed nudges converges at its next heartbeat, and after
a reconnection, by reading every record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import attrs
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from shim_lsp.coordination import registry
from shim_lsp.coordination.connection import (
    REJOIN_BACKOFF,
    SOCKET_TIMEOUT_S,
    CoordinationError,
    RedisTarget,
    Refused,
    client,
    explain,
)
from shim_lsp.coordination.leader import Leadership
from shim_lsp.coordination.messages import (
    SAVED_MAX,
    VERSION,
    DirtyDocument,
    Dropped,
    Member,
    Nudge,
    NudgeKind,
    SavedDocument,
    decode_nudge,
)
from shim_lsp.coordination.registry import Keys
from shim_lsp.metrics import recorder

log = logging.getLogger(__name__)
T = TypeVar("T")
State = Literal["off", "connected", "degraded"]
OP_TIMEOUT_S = SOCKET_TIMEOUT_S + 1.0
"""No Redis call of a member waits longer than this, whatever redis-py's retries do."""
JOINING = "joining the group"
"""The problem said until the first answer from Redis."""
LEAVE_TIMEOUT_S = 1.0
"""A clean shutdown gives leaving the group this long; else the TTL removes the member."""
SETTLE_S = 1.0
"""Once one loop of a session has ended, the others are given this long to end (cancelled,
and cancelled again while they run on) before the session's failure is said."""
RECANCEL_S = 0.25
"""How often a loop that has not ended since its cancel is cancelled again (one that lost
it); the longer, the less of a loop's own cleanup a second cancel cuts short."""
STOP_S = SETTLE_S + 2 * LEAVE_TIMEOUT_S
"""How long a cancelled member's task may take to end: its loops, then its two connections."""


@attrs.frozen
class Identity:
    """What a member says of itself, fixed for its life."""

    session: str
    workspace: str
    host: str
    pid: int
    editor: str
    started_at: float
    store: str | None = None
    """Which store this member writes (``messages.Member.store``)."""


Snapshot = Callable[[], tuple[list[str], list[DirtyDocument]]]
"""The member's open and dirty documents now (workspace-relative paths)."""


async def bounded(call: Awaitable[T], timeout: float = OP_TIMEOUT_S) -> T:
    """``call``, given at most ``timeout`` seconds. Not ``asyncio.wait_for``: on Python 3.11
    it loses a cancel that comes as the call ends (it returns the call's answer instead), and
    a loop of the session that loses its cancel runs on for ever."""
    async with asyncio.timeout(timeout):
        return await call


async def woken(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set, at most ``seconds`` (a cancel is never lost: ``bounded``)."""
    with contextlib.suppress(TimeoutError):
        await bounded(event.wait(), seconds)


class Coordinator:
    def __init__(
        self,
        target: RedisTarget,
        prefix: str,
        me: Identity,
        *,
        ttl: float,
        snapshot: Snapshot,
        on_change: Callable[[Coordinator], None],
        on_nudge: Callable[[Nudge], None] | None = None,
    ) -> None:
        self.target = target
        self.keys = Keys(prefix, me.workspace)
        self.me = me
        self.ttl = ttl
        self.snapshot = snapshot
        self.on_change = on_change
        self.on_nudge = on_nudge
        """Hears each valid nudge of another member (a save over this member's unsaved file)."""
        self.state: State = "degraded"
        self.problem: str | None = JOINING
        """Said until the first answer; the feature shows nothing before it."""
        self.members: list[Member] = []
        self.dropped = Dropped()
        self.refused = False
        self.answered = False
        """Redis has answered this member once: a later cut is not a TLS mismatch."""
        self._pending: list[tuple[Nudge, asyncio.Future[int]]] = []
        self.saved: dict[str, float] = {}
        """This member's latest save of each file (path -> when), carried by its record."""
        self._wake = asyncio.Event()
        self._leaving = False
        self._task: asyncio.Task[None] | None = None
        self.lead = Leadership(self.keys, me.session, ttl)
        """This member's claim on the lead; its lease is the TTL."""
        self.leader: str | None = None
        """The leading member's session id, as last read (None: no one, or Redis away)."""
        self._lead_wake = asyncio.Event()

    # --- what the caller does ---------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self.run())
        return self._task

    def changed(self, kind: NudgeKind, path: str | None = None) -> asyncio.Future[int]:
        """The member's documents changed: its record is rewritten and the group nudged at
        once (or on rejoining, when Redis is away). A save is kept in the record, so a
        member that misses the nudge still learns of it. The future resolves, once the
        record is in Redis, with how many other members heard the nudge (it never resolves
        while Redis is away)."""
        nudge = self._nudge(kind, path)
        if kind == "saved" and path is not None:
            self.saved.pop(path, None)
            self.saved[path] = nudge.at
            while len(self.saved) > SAVED_MAX:
                del self.saved[next(iter(self.saved))]
        heard: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((nudge, heard))
        del self._pending[:-100]  # while Redis is away, the newest record says it all
        self._wake.set()
        return heard

    async def stop(self) -> None:
        """Leave the group (at most ``LEAVE_TIMEOUT_S``), then stop: the background task is
        cancelled and given ``STOP_S`` to end (closing its connections), and left after that,
        said, rather than holding up the editor's shutdown."""
        task = self._task
        if task is None or task.done():
            return
        self._leaving = True
        self._wake.set()
        await asyncio.wait({task}, timeout=LEAVE_TIMEOUT_S)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_S)
        if not task.done():
            log.warning("coordination: the member's task did not end within %.1f s", STOP_S)

    def peers(self) -> list[Member]:
        return [m for m in self.members if m.session != self.me.session]

    def outdated(self, seen: int) -> None:
        """The leader's work was refused as stale where it landed: take a higher epoch now."""
        self.lead.outdated(seen)
        self._lead_wake.set()

    def leader_member(self) -> Member | None:
        return next((m for m in self.members if m.session == self.leader), None)

    # --- the background task ------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while not self._leaving:
            began = time.monotonic()
            try:
                await self._session()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.state == "connected":
                    failures = 0  # this session had joined: a new outage, said and paced anew
                error = explain(self.target, exc, answered=self.answered)
                log.debug(
                    "coordination: the session failed at %s, %.2f s after it began (failure %d"
                    " in a row): %s: %s",
                    _clock(),
                    time.monotonic() - began,
                    failures + 1,
                    type(exc).__name__,
                    error,
                )
                if failures == 0 or isinstance(error, Refused):
                    log.warning("coordination: %s", error)
                failures += 1
                self.refused = isinstance(error, Refused)
                self.lead.lose(str(error))
                self._set("degraded", str(error), [], None)
                if self.refused:
                    return
            await asyncio.sleep(REJOIN_BACKOFF.compute(failures))
            failures = min(failures, 16)

    async def _session(self) -> None:
        r = client(self.target)
        pubsub = r.pubsub(ignore_subscribe_messages=True)
        try:
            await bounded(r.ping())
            self.answered = True
            await bounded(pubsub.subscribe(self.keys.channel))
            self._pending.append((self._nudge("joined"), asyncio.Future()))
            await self._beat(r)
            await self._refresh(r, "connected")
            log.info("coordination: joined %s as %s", self.keys.base, self.me.session)
            await _first_failure(
                heartbeats=self._heartbeats(r),
                listen=self._listen(pubsub),
                leading=self._leading(r),
                sampling=self._sampling(),
            )
        finally:
            with contextlib.suppress(Exception):
                await bounded(pubsub.aclose(), LEAVE_TIMEOUT_S)  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await bounded(r.aclose(), LEAVE_TIMEOUT_S)

    def _nudge(self, kind: NudgeKind, path: str | None = None) -> Nudge:
        return Nudge(VERSION, kind, self.me.workspace, self.me.session, time.time(), path)

    def _record(self) -> Member:
        open_, dirty = self.snapshot()
        me = self.me
        return Member(
            VERSION,
            me.session,
            me.workspace,
            me.host,
            me.pid,
            me.editor,
            me.started_at,
            time.time(),
            open_,
            dirty,
            me.store,
            [SavedDocument(path, at) for path, at in self.saved.items()],
        )

    async def _beat(self, r: Redis) -> None:
        """Rewrite this member's record, then send what is pending."""
        await bounded(registry.register(r, self.keys, self._record(), self.ttl))
        pending, self._pending = self._pending, []
        for _nudge, heard in pending[:-10]:
            _resolve(heard, 0)  # the record says it; the nudge is not sent
        for nudge, heard in pending[-10:]:
            receivers = await bounded(registry.publish(r, self.keys, nudge))
            _resolve(heard, receivers - 1)  # this member's own subscription is one

    async def _refresh(self, r: Redis, state: State = "connected") -> None:
        members = await bounded(registry.live_members(r, self.keys, self.dropped))
        leader, epoch = await bounded(registry.leader(r, self.keys))
        self.lead.seen(epoch)
        self._set(state, None, members, leader)

    async def _leading(self, r: Redis) -> None:
        """Every third of the lease: renew it while leading, else try to win it (at once
        when a member left or the leader changed). Winning is said on the channel."""
        while True:
            before = self._role()
            try:
                await self.lead.step(r)
            finally:
                if self._role() != before:
                    if self.lead.epoch is not None:
                        self.leader = self.me.session
                    elif self.leader == self.me.session:
                        self.leader = None
                    self._notify()
            if self.lead.epoch is not None and before[0] is None:
                await bounded(registry.publish(r, self.keys, self._nudge("leader")))
            await woken(self._lead_wake, self.ttl / 3)
            self._lead_wake.clear()

    async def _sampling(self) -> None:
        """The leader looks at its group's job queue once per heartbeat interval, for the
        metrics: a loop of its own, so that a slow answer delays no heartbeat nor the lease,
        and a failed one only skips a sample. A member that does not lead says 0."""
        from shim_lsp.coordination import jobs

        queue: Any = None
        try:
            while True:
                if self.lead.epoch is None or recorder.active() is None:
                    recorder.queue_depth(0, 0)  # not leading, or no metrics: Redis not asked
                else:
                    try:
                        queue = queue or jobs.open_queue(self.target, self.keys)
                        recorder.queue_depth(*await bounded(jobs.queue_depth(queue)))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        log.info(
                            "coordination: job queue not sampled: %s", explain(self.target, exc)
                        )
                await asyncio.sleep(self.ttl / 3)
        finally:
            recorder.queue_depth(0, 0)
            if queue is not None:
                with contextlib.suppress(Exception):
                    await bounded(queue.close(), LEAVE_TIMEOUT_S)

    def _role(self) -> tuple[int | None, str | None]:
        return self.lead.fence(), self.lead.lost

    async def _heartbeats(self, r: Redis) -> None:
        interval = self.ttl / 3
        next_beat = time.monotonic() + interval
        while True:
            await woken(self._wake, max(0.0, next_beat - time.monotonic()))
            self._wake.clear()
            if self._leaving:
                with contextlib.suppress(Exception):
                    await bounded(self.lead.release(), LEAVE_TIMEOUT_S)
                await bounded(registry.leave(r, self.keys, self.me.session), LEAVE_TIMEOUT_S)
                await bounded(registry.publish(r, self.keys, self._nudge("left")), LEAVE_TIMEOUT_S)
                self._set("off", None, [], None)
                return
            if self._pending or time.monotonic() >= next_beat:
                await self._beat(r)
                next_beat = time.monotonic() + interval
            await self._refresh(r)

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            data = message.get("data")
            nudge = (
                decode_nudge(data, self.me.workspace, self.dropped)
                if isinstance(data, bytes)
                else None
            )
            if nudge is None:
                log.info("coordination: dropped a message (%s so far)", self.dropped.total)
                if not isinstance(data, bytes):
                    self.dropped.add("malformed")
                continue
            if nudge.session != self.me.session:
                self._wake.set()  # read the records again: they are the state
                if self.on_nudge is not None:
                    try:
                        self.on_nudge(nudge)
                    except Exception:
                        log.exception("coordination: a listener failed")
                if nudge.kind in ("left", "leader"):
                    self._lead_wake.set()

    def _set(
        self, state: State, problem: str | None, members: list[Member], leader: str | None
    ) -> None:
        before = (self.state, self.problem, self._seen(self.members), self.leader)
        self.state, self.problem, self.members = state, problem, members
        self.leader = leader
        if before != (state, problem, self._seen(members), leader):
            self._notify()

    def _notify(self) -> None:
        try:
            self.on_change(self)
        except Exception:
            log.exception("coordination: a listener failed")

    @staticmethod
    def _seen(members: list[Member]) -> Any:
        return [(m.session, m.open, [(d.path, d.since) for d in m.dirty], m.saved) for m in members]


def _resolve(heard: asyncio.Future[int], others: int) -> None:
    if not heard.done():
        heard.set_result(max(0, others))


async def _first_failure(**loops: Awaitable[None]) -> None:
    """Run the loops together; the first to end (or fail) ends them all, its error raised.
    The others are cancelled, and cancelled again until they have ended: a cancel can be lost
    (Python 3.11's ``wait_for`` loses one that comes as its call ends, and a library may
    too), and waiting on a loop that lost it would hold the session's failure back for ever,
    the status saying "connected" all the while. The caller's own cancel is never
    swallowed."""
    tasks = {asyncio.ensure_future(loop): name for name, loop in loops.items()}
    first: asyncio.Task[None] | None = None
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task in done:
                first = first or task
                task.result()
    finally:
        ending = time.monotonic()
        await _end(tasks)
        if first is not None:
            log.debug(
                "coordination: the session's %s loop ended first at %s (%s); the others ended"
                " within %.2f s",
                tasks[first],
                _clock(),
                _outcome(first),
                time.monotonic() - ending,
            )


async def _end(tasks: dict[asyncio.Task[None], str]) -> None:
    """Cancel each task until it has ended, for at most ``SETTLE_S``; one that runs on after
    that is left, and said. Their errors are taken (the first failure is the one raised)."""
    deadline = time.monotonic() + SETTLE_S
    running = {task for task in tasks if not task.done()}
    try:
        while running:
            for task in running:
                task.cancel()
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, running = await asyncio.wait(running, timeout=min(left, RECANCEL_S))
    except asyncio.CancelledError:
        for task in running:
            task.cancel()
        raise
    finally:
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()
    for task in running:
        log.warning(
            "coordination: the session's %s loop did not end within %.1f s of its cancel; it"
            " is left to end on its own",
            tasks[task],
            SETTLE_S,
        )
        _left.add(task)
        task.add_done_callback(_left.discard)


_left: set[asyncio.Task[None]] = set()
"""Loops that did not end when cancelled (held here: the event loop keeps weak references)."""


def _outcome(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return "returned" if error is None else type(error).__name__


def _clock() -> str:
    """The wall-clock time of a log line (the server's log format has none)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@attrs.frozen
class Group:
    """What ``shim windows`` shows of a workspace's group."""

    workspace: str
    members: list[Member]
    leader: str | None
    """The leading member's session id."""
    epoch: int


async def first_group(target: RedisTarget, prefix: str, workspaces: list[str]) -> Group:
    """The first of ``workspaces`` whose group has live members, with them (else the first,
    with none), over one connection: ``shim windows`` run in a subfolder looks at each
    folder above it, as git looks for its repository."""
    r = client(target)
    try:
        for workspace in workspaces:
            keys = Keys(prefix, workspace)
            found = await bounded(registry.live_members(r, keys, Dropped()))
            if found:
                leader, epoch = await bounded(registry.leader(r, keys))
                return Group(workspace, found, leader, epoch)
        return Group(workspaces[0], [], None, 0)
    except CoordinationError:
        raise
    except Exception as exc:
        raise explain(target, exc) from None
    finally:
        with contextlib.suppress(Exception):
            await bounded(r.aclose(), LEAVE_TIMEOUT_S)
