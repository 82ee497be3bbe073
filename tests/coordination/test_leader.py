"""One leader per workspace: a lease in Redis, renewed while it leads, and a fencing epoch
checked where the leader's work (the store's retention) lands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
from harness import Editor, Editors
from redis_rig import (
    TTL,
    RedisServer,
    RedisServers,
    coordinated,
    coordination,
    leads,
    wait_members,
)

from shim_lsp.coordination.leader import Leadership, retention_turn
from shim_lsp.coordination.messages import Dropped, Member, encode
from shim_lsp.coordination.registry import MEMBERS_READ, Keys, live_members, register
from shim_lsp.session.checkpointer import RetentionTurn
from shim_lsp.settings import Settings
from shim_lsp.store import fencing, retention
from shim_lsp.store.db import DB_NAME, connect, open_store, write_tx


async def one_leader(windows: list[Editor], timeout: float = 10.0, above: int = 0) -> Editor:
    """The one window that says it leads with an epoch above ``above``, once every window
    names it as the leader."""
    deadline = time.monotonic() + timeout
    while True:
        leaders = [w for w in windows if leads(w) and coordination(w)["epoch"] > above]
        named = {coordination(w).get("leader", {}).get("pid") for w in windows}
        if len(leaders) == 1 and named == {leaders[0].pid}:
            return leaders[0]
        assert len(leaders) <= 1, "two windows lead at once"
        assert time.monotonic() < deadline, [coordination(w) for w in windows]
        await asyncio.sleep(0.02)


async def fenced_at(state: Path, epoch: int) -> None:
    """Wait until the store says the leader of that epoch ran its retention there."""
    deadline = time.monotonic() + 10
    while True:
        with contextlib.closing(connect(state / DB_NAME, readonly=True)) as conn:
            seen = fencing.highest(conn, "ws-test")
        if seen == epoch:
            return
        assert time.monotonic() < deadline, f"the store's epoch is {seen}, not {epoch}"
        await asyncio.sleep(0.05)


async def test_three_windows_one_leader_failover_within_a_lease_and_after_redis_restarts_empty(
    redis_servers: RedisServers,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    redis = redis_servers.start()
    state = tmp_path / "state"  # one store, as windows on one machine share
    windows = [await editors.start(workspace, state, settings=coordinated(redis)) for _ in "abc"]
    leader = await one_leader(windows)
    first = coordination(leader)["epoch"]
    await fenced_at(state, first)
    survivors = [w for w in windows if w is not leader]
    leader.kill()
    killed = time.monotonic()
    successor = await one_leader(survivors, timeout=TTL * 3, above=first)
    took = time.monotonic() - killed
    assert took <= TTL + 1.0, f"a new leader after {took:.2f} s (lease {TTL} s)"
    second = coordination(successor)["epoch"]
    assert second > first
    await fenced_at(state, second)
    redis = redis_servers.restart_empty(redis)
    # Every survivor registers again (each reads both records back from the empty Redis)...
    for survivor in survivors:
        await wait_members(survivor, 2, timeout=20)
    assert len(redis.client().keys(Keys("shim", "ws-test").member("*"))) == 2
    # ...and epochs keep rising though Redis forgot its counter: the members remember the last.
    elected = await one_leader(survivors, timeout=20, above=second)
    third = coordination(elected)["epoch"]
    await fenced_at(state, third)
    # A Redis that went away under its members is said to be unreachable, not misconfigured.
    log = capfd.readouterr().err
    assert f"127.0.0.1:{redis.port}" in log and "cannot be reached" in log
    assert "serves TLS only" not in log, "a shut-down Redis was blamed on the URL's scheme"


async def test_a_leader_cut_off_by_paused_redis_stops_at_once_and_its_stale_retention_is_refused(
    redis_servers: RedisServers, tmp_path: Path
) -> None:
    redis = redis_servers.start()
    lease = 1.0
    keys = Keys("shim", "ws-test")
    old, new = Leadership(keys, "old", lease), Leadership(keys, "new", lease)
    r_old, r_new = redis.async_client(), redis.async_client()
    conn, _ = open_store(tmp_path / "state")
    settings = Settings()

    def retain(epoch: int) -> retention.RetentionReport | retention.Stale:
        with write_tx(conn):
            return retention.apply_fenced(conn, settings, ("ws-test", epoch))

    try:
        await old.step(r_old)
        await new.step(r_new)
        (stale,) = [old.fence()]
        assert stale is not None and new.fence() is None
        assert isinstance(retain(stale), retention.RetentionReport)
        redis.pause()
        cut = time.monotonic()
        with contextlib.suppress(Exception):
            await old.step(r_old)  # the renewal that Redis never answers
        assert time.monotonic() - cut <= lease + 0.2
        assert old.fence() is None and old.lost == "Redis did not renew the lease in time"
        await asyncio.sleep(lease)
        redis.resume()
        await new.step(r_new)
        epoch = new.fence()
        assert epoch is not None and epoch > stale
        assert isinstance(retain(epoch), retention.RetentionReport)
        refused = retain(stale)
        assert refused == retention.Stale(epoch), "the former leader's order is refused"
        assert fencing.highest(conn, "ws-test") == epoch
    finally:
        conn.close()
        await r_old.aclose()
        await r_new.aclose()


def test_the_store_retention_is_left_to_a_leader_that_shares_the_store() -> None:
    def turn(epoch: int | None = None, leader: str | None = "s1", joining: bool = False) -> Any:
        return retention_turn("w", epoch, joining=joining, leader_store=leader, my_store="s1")

    assert turn(epoch=4) == RetentionTurn(fence=("w", 4)), "the leader, fenced"
    assert turn() == RetentionTurn(run=False), "a member of the leader's store"
    assert turn(leader="s2") == RetentionTurn(), "a member with a store of its own"
    assert turn(leader=None) == RetentionTurn(), "no leader known"
    assert turn(joining=True) == RetentionTurn(later=True), "not known yet"


async def test_a_leader_whose_store_saw_a_higher_epoch_than_redis_counts_takes_one_above_it(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    conn, _ = open_store(state)  # a store that outlived the Redis that counted its epochs
    with contextlib.closing(conn), write_tx(conn):
        assert fencing.admit(conn, "ws-test", 50)
    # ...and a lease set by hand without expiry, which would block the lead for ever.
    lease = Keys("shim", "ws-test").leader
    redis_server.client().set(lease, "set-by-hand")
    one = await editors.start(workspace, state, settings=coordinated(redis_server))
    await one.wait_for(lambda: leads(one) and coordination(one)["epoch"] == 51)
    await fenced_at(state, 51)
    assert coordination(one)["leaseBroken"] == (
        f"the lead's lease in Redis ({lease}) had no expiry, which no SHIM window sets (was it"
        " set by hand?): this window took over the lead, under a new epoch"
    )


async def test_a_lease_no_member_could_have_left_is_broken_and_the_lead_taken_fenced(
    redis_server: RedisServer,
) -> None:
    keys = Keys("shim", "ws-test")
    r, sync = redis_server.async_client(), redis_server.client()
    member = "b" * 32
    try:
        # A live member's long lease (its coordinationTtl is longer) stands.
        sync.set(keys.member(member), "{}", px=60_000)
        sync.set(keys.leader, member, px=60_000)
        patient = Leadership(keys, "a" * 32, 1.0)
        await patient.step(r)
        assert patient.fence() is None and sync.get(keys.leader) == member.encode()
        # A holder with no record, for longer than a lease: not a member's.
        sync.delete(keys.member(member))
        await patient.step(r)
        first = patient.fence()
        assert first is not None and patient.took_over is not None
        assert "held for longer than a lease by 'bbbb" in patient.took_over
        assert "which is not a live member of the group" in patient.took_over
        await patient.release()
        # A key of another type: no lease at all. The next epoch is higher (fenced).
        sync.hset(keys.leader, "x", "1")
        again = Leadership(keys, "c" * 32, 1.0)
        await again.step(r)
        second = again.fence()
        assert second is not None and second > first
        assert again.took_over is not None and "was a hash, not a lease" in again.took_over
    finally:
        await r.aclose()


async def test_a_member_record_without_expiry_or_a_stuffed_member_set_shows_no_false_window(
    redis_server: RedisServer,
) -> None:
    """A record written by hand with no TTL stood for a live window for ever (flagging its
    "unsaved" files, holding back codemods); 300,000 ids stuffed into the member set made every
    look run past Redis's time limit, so each window said Redis could not be reached."""
    keys = Keys("shim", "ws-test")
    r, sync = redis_server.async_client(), redis_server.client()
    now = time.time()

    def member(session: str, heartbeat: float) -> Member:
        return Member(1, session, "ws-test", "vm", os.getpid(), "test", now - 60, heartbeat, [], [])

    try:
        await register(r, keys, member("a" * 32, now), ttl=15.0)
        ghost = member("b" * 32, now - 3600)
        sync.set(keys.member(ghost.session), encode(ghost))  # no expiry
        sync.zadd(keys.members, {ghost.session: ghost.heartbeat_at})
        dropped = Dropped()
        assert [m.session for m in await live_members(r, keys, dropped)] == ["a" * 32]
        assert dropped.counts == {"no expiry": 1}
        # Stuffed with ids of no record, newer heartbeats than the live member's, some from far
        # in the future or the past: each look reads a bounded number and removes what it read.
        ids = {f"{i:032x}": now + 1 for i in range(5_000)}
        ids.update({f"f{i:031x}": now + 86_400 for i in range(1_000)})
        ids.update({f"e{i:031x}": now - 86_400 for i in range(1_000)})
        sync.zadd(keys.members, ids)
        looks = 0
        while True:
            started = time.monotonic()
            found = await live_members(r, keys, dropped)
            assert time.monotonic() - started < 1.0
            looks += 1
            if found:
                break
        assert [m.session for m in found] == ["a" * 32]
        assert looks <= 5_000 // MEMBERS_READ + 2
    finally:
        await r.aclose()
