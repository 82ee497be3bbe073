"""A member's session is four loops in one task; the first to fail ends the others, and its
failure becomes the status. A cancel can be lost (Python 3.11's ``asyncio.wait_for`` returns
the call's answer to a task cancelled as the call answers), and a loop that loses the cancel
that should end it must not hold the session's failure back: a loaded machine once showed a
window "connected" to a Redis that had been full for ten seconds."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable

import pytest
from redis.asyncio import Redis
from redis_rig import TTL, RedisServer

from shim_lsp.coordination.connection import parse_target
from shim_lsp.coordination.group import Coordinator, Identity, bounded
from shim_lsp.coordination.leader import Leadership


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        await asyncio.sleep(0.01)


async def test_a_cancel_that_comes_as_a_bounded_call_answers_is_not_lost() -> None:
    async def answer(answered: asyncio.Event) -> str:
        await answered.wait()
        return "answer"

    for turns in range(6):  # the cancel comes this many loop turns after the answer is ready
        answered = asyncio.Event()
        task = asyncio.ensure_future(bounded(answer(answered), 5.0))
        await asyncio.sleep(0)
        answered.set()
        for _ in range(turns):
            await asyncio.sleep(0)
        accepted = task.cancel()
        await asyncio.wait({task})
        if accepted:
            assert task.cancelled(), f"cancelled {turns} turns on, it returned {task.result()!r}"


def _member(redis_server: RedisServer) -> Coordinator:
    """A window's coordinator on ``redis_server``, with nothing of its own to share."""
    me = Identity(uuid.uuid4().hex, "ws-test", "here", os.getpid(), "test", time.time())
    return Coordinator(
        parse_target(redis_server.url()),
        "shim",
        me,
        ttl=TTL,
        snapshot=lambda: ([], []),
        on_change=lambda _member: None,
    )


async def test_redis_full_is_said_within_a_heartbeat_though_a_loop_lost_its_cancel(
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="shim_lsp.coordination")
    renew = Leadership.step
    slow = asyncio.Event()
    lost: list[float] = []
    armed = False

    async def step_answered_late(self: Leadership, r: Redis) -> None:
        """The lead's real step, whose answer comes late once (a loaded machine); the cancel
        that comes meanwhile is lost, as Python 3.11's ``wait_for`` loses it."""
        await renew(self, r)
        if armed and not lost:
            slow.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                lost.append(time.monotonic())

    monkeypatch.setattr(Leadership, "step", step_answered_late)
    member = _member(redis_server)
    member.start()
    r = redis_server.client()
    try:
        await until(lambda: member.lead.epoch is not None, 10, "leading")
        armed = True
        async with asyncio.timeout(10):
            await slow.wait()
        r.config_set("maxmemory", "1")
        filled = time.monotonic()
        await until(lambda: "is full" in str(member.problem), 10, "said full")
        took = time.monotonic() - filled
        assert lost, "the lead's loop did not lose a cancel: this test tests nothing"
        assert took < TTL / 3 + 3.0, f"said full {took:.2f} s after Redis filled"
        assert member.state == "degraded" and member.lead.epoch is None
    finally:
        r.config_set("maxmemory", "0")
        await member.stop()
    said = [record.getMessage() for record in caplog.records]
    assert not [line for line in said if "did not end" in line], said
    (failed,) = [line for line in said if "the session failed at " in line]
    assert "(failure 1 in a row): OutOfMemoryError: Redis at" in failed, failed
    assert [line for line in said if "heartbeats loop ended first at " in line], said


async def test_each_outage_after_a_rejoin_is_logged_and_rejoined_from_the_first_backoff(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shim_lsp.coordination")
    member = _member(redis_server)
    member.start()
    try:
        rejoined = []
        for _outage in range(4):
            await until(lambda: member.state == "connected", 10, "connected")
            redis_server.pause()
            try:
                await until(lambda: member.state == "degraded", 10, "degraded")
            finally:
                redis_server.resume()
            back = time.monotonic()
            await until(lambda: member.state == "connected", 10, "connected again")
            rejoined.append(time.monotonic() - back)
    finally:
        await member.stop()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    lost = [line for line in said if line.startswith("coordination: Redis at ")]
    assert len(lost) == 4, said  # each outage once, in the log as in the status
    failed = [r.getMessage() for r in caplog.records if "the session failed at " in r.getMessage()]
    assert all("(failure 1 in a row)" in line for line in failed), failed
    assert max(rejoined) < 2.0, f"rejoined {rejoined} s after Redis was back"
