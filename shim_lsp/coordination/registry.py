"""The key layout of a workspace's group, and the registry operations on it.

Per workspace (``<prefix>:ws:<16 hex digits of sha256(workspace id)>``):

- ``…:member:<session>``: a string, the member's record (JSON, ``messages.Member``), written
  with ``SET … EX ttl`` at every heartbeat. Redis expires it when the member stops beating, so
  a member that dies is gone within one TTL without anyone's help.
- ``…:members``: a sorted set of session ids scored by their last heartbeat (the member's
  clock), so listing needs no SCAN; entries whose record has expired are removed by whoever
  lists them. It expires itself when no member has beaten for four TTLs.
- ``…:events``: the pub/sub channel of nudges (``messages.Nudge``).
- ``…:leader``: the lead's lease (redis-py's ``Lock``): the leader's session id, ``PX`` lease.
- ``…:epoch``: the fencing epoch, a counter ``INCR``ed by each new leader (never expires).
"""

from __future__ import annotations

import hashlib
import time

import attrs
from redis.asyncio import Redis

from shim_lsp.coordination.messages import (
    CLOCK_SKEW_S,
    Dropped,
    Member,
    Nudge,
    decode_member,
    encode,
)


@attrs.frozen
class Keys:
    prefix: str
    workspace: str

    @property
    def base(self) -> str:
        digest = hashlib.sha256(self.workspace.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.prefix}:ws:{digest[:16]}"

    @property
    def members(self) -> str:
        return f"{self.base}:members"

    @property
    def channel(self) -> str:
        return f"{self.base}:events"

    @property
    def leader(self) -> str:
        return f"{self.base}:leader"

    @property
    def epoch(self) -> str:
        return f"{self.base}:epoch"

    def member(self, session: str) -> str:
        return f"{self.base}:member:{session}"


async def register(r: Redis, keys: Keys, record: Member, ttl: float) -> None:
    """Write (or refresh) a member's record and heartbeat, in one transaction."""
    ttl_ms = max(1, int(ttl * 1000))
    async with r.pipeline(transaction=True) as pipe:
        pipe.set(keys.member(record.session), encode(record), px=ttl_ms)
        pipe.zadd(keys.members, {record.session: record.heartbeat_at})
        pipe.pexpire(keys.members, 4 * ttl_ms)
        await pipe.execute()


async def leave(r: Redis, keys: Keys, session: str) -> None:
    async with r.pipeline(transaction=True) as pipe:
        pipe.delete(keys.member(session))
        pipe.zrem(keys.members, session)
        await pipe.execute()


async def publish(r: Redis, keys: Keys, nudge: Nudge) -> int:
    """Send a nudge; how many subscribers (the sender's own included) Redis handed it to."""
    return int(await r.publish(keys.channel, encode(nudge)))


MEMBERS_READ = 256
"""At most this many member entries are read at one look, the freshest heartbeats first: a
group has a handful, and a set stuffed by hand must not make every look run past Redis's
time limit (the entries read that have no record are removed, so a stuffed set drains)."""
HEARTBEAT_SPAN_S = 4 * 3600.0
"""A heartbeat older than four of the longest TTL a setting allows is no live member's (the
set itself expires after four TTLs of its last writer)."""


async def live_members(r: Redis, keys: Keys, dropped: Dropped) -> list[Member]:
    """Every member whose record has not expired, oldest first; the sorted set's entries
    for expired records are removed on the way. A record that is not a member of this
    workspace (forged, or from another version) is left out and counted in ``dropped``, as
    is one that never expires: SHIM writes every record with its TTL, so a record without
    one was written by hand and would stand for a live window for ever."""
    now = time.time()
    async with r.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(keys.members, "-inf", now - HEARTBEAT_SPAN_S)
        pipe.zremrangebyscore(keys.members, f"({now + CLOCK_SKEW_S}", "+inf")
        pipe.zrange(keys.members, 0, MEMBERS_READ - 1, desc=True)
        *_, newest = await pipe.execute()
    sessions = [_text(s) for s in newest]
    if not sessions:
        return []
    async with r.pipeline(transaction=False) as pipe:
        pipe.mget([keys.member(s) for s in sessions])
        for session in sessions:
            pipe.pttl(keys.member(session))
        records, *ttls = await pipe.execute()
    gone = [s for s, raw in zip(sessions, records, strict=True) if raw is None]
    if gone:
        await r.zrem(keys.members, *gone)
    found = []
    for session, raw, ttl in zip(sessions, records, ttls, strict=True):
        if raw is None:
            continue
        data = raw if isinstance(raw, bytes) else b""
        digest = hashlib.sha256(session.encode("utf-8", "surrogatepass") + b"\0" + data).digest()
        if digest in dropped.refused:
            continue  # counted when first read: a record version is dropped once
        if ttl == -1:
            dropped.refused_before(digest)
            dropped.add("no expiry")
            continue
        member = decode_member(data, keys.workspace, dropped)
        if member is not None and member.session == session:
            found.append(member)
            continue
        dropped.refused_before(digest)
        if member is not None:
            dropped.add("malformed")
    return sorted(found, key=lambda m: (m.started_at, m.session))


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def leader(r: Redis, keys: Keys) -> tuple[str | None, int]:
    """The leader's session id (None when no one leads) and the latest epoch."""
    session, epoch = await r.mget([keys.leader, keys.epoch])
    try:
        number = int(epoch) if isinstance(epoch, bytes) else 0
    except ValueError:
        number = 0
    return (_text(session) if session is not None else None), number
