"""One leader per workspace: redis-py's ``Lock`` as a lease, renewed in the background, plus a
fencing epoch.

A lease is not a guarantee (a paused process or a paused Redis outlives it), so whoever wins
the lock also takes the next epoch from ``INCR``; the work it orders carries that epoch, and
the place where the work lands refuses an epoch lower than one it has seen
(``shim_lsp.store.fencing``). The epoch is taken by a script that first checks that the lock
still holds this member's token, so a member whose lease ran out between winning and
counting never gets an epoch above its successor's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from shim_lsp.coordination.registry import Keys
from shim_lsp.session.checkpointer import RetentionTurn

log = logging.getLogger(__name__)

NEXT_EPOCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[2])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
return epoch
"""
"""KEYS: the lock, the epoch counter; ARGV: this member's token, the highest epoch it has
seen. Returns the new epoch, or 0 when the lock is not (any more) this member's. The floor
keeps epochs rising when Redis restarted empty while members that saw higher ones lived."""

BREAK_LEASE = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then
  return {0, ''}
end
if kind ~= 'string' then
  redis.call('DEL', KEYS[1])
  return {3, kind}
end
local holder = redis.call('GET', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then
  redis.call('DEL', KEYS[1])
  return {1, holder}
end
if ttl > tonumber(ARGV[2]) and redis.call('EXISTS', ARGV[1] .. holder) == 0 then
  redis.call('DEL', KEYS[1])
  return {2, holder}
end
return {0, holder}
"""
"""KEYS: the lock; ARGV: the member records' key prefix, this member's lease in ms. Deletes a
lease no SHIM member could have left (it would block the lead for ever): one that never
expires, one that is no string, or one held longer than a lease by a session with no record
in the registry. Returns (why, holder); why 0: the lease stands. Whoever leads next takes a
new epoch, so a holder that was real after all is fenced off."""
BROKEN = {
    1: "the lead's lease in Redis ({key}) had no expiry, which no SHIM window sets (was it set"
    " by hand?)",
    2: "the lead's lease in Redis ({key}) was held for longer than a lease by {holder!r}, which"
    " is not a live member of the group",
    3: "the lead's lease in Redis ({key}) was a {holder}, not a lease",
}


class Leadership:
    """This member's claim on the lead; ``step`` is called every third of the lease."""

    def __init__(self, keys: Keys, token: str, lease: float) -> None:
        self.keys = keys
        self.token = token
        self.lease = lease
        self.epoch: int | None = None
        """This member's epoch while it leads, else None."""
        self.highest = 0
        """The highest epoch this member has seen (its own or read from Redis)."""
        self.lost: str | None = None
        """Why this member stopped leading, until it leads again."""
        self.took_over: str | None = None
        """Why this member broke the lease it leads under (a key no member could have
        left), while it leads under it: said in the status."""
        self._valid_until = 0.0
        self._lock: Lock | None = None
        self._outdated = False

    @property
    def leading(self) -> bool:
        """Leading, and the lease, counted from before its last renewal was asked, still runs
        on this machine's clock: a renewal that hangs does not stretch the lead. No side
        effect: the checkpoint thread asks it too."""
        return self.epoch is not None and time.monotonic() < self._valid_until

    def fence(self) -> int | None:
        """The epoch to stamp on work ordered now, or None when this member does not lead."""
        return self.epoch if self.leading else None

    def seen(self, epoch: int) -> None:
        self.highest = max(self.highest, epoch)

    def lose(self, why: str) -> None:
        if self.epoch is not None:
            log.warning("coordination: no longer the leader (epoch %s): %s", self.epoch, why)
            self.lost = why
        self.epoch = None
        self.took_over = None
        self._lock = None

    async def step(self, r: Redis) -> None:
        """Renew the lease, or try to win it. A failed renewal ends the lead at once; Redis
        errors are raised (the caller rejoins). A leader told that its epoch is too low where
        its work lands takes a higher one, while the lease is still its own."""
        if self.epoch is not None and not self.leading:
            self.lose("the lease ran out before Redis renewed it")
        if self.leading and self._lock is not None:
            await self._renew(self._lock)
            if self.epoch is not None and self.epoch <= self.highest and self._outdated:
                self._outdated = False
                await self._next_epoch(r, time.monotonic())
        else:
            await self._try(r)

    def outdated(self, seen: int) -> None:
        """Where the work lands, ``seen`` was admitted already (a store that outlived Redis's
        counter): the next step takes an epoch above it."""
        self.seen(seen)
        self._outdated = True

    async def _renew(self, lock: Lock) -> None:
        asked = time.monotonic()
        try:
            # Not asyncio.wait_for: on Python 3.11 it loses a cancel that comes as the call ends.
            async with asyncio.timeout(max(0.05, self._valid_until - asked)):
                await lock.reacquire()
        except LockError:
            self.lose(
                "the lease in Redis is no longer this window's (it ran out before it was"
                " renewed, or something else wrote it)"
            )
            return
        except TimeoutError:
            self.lose("Redis did not renew the lease in time")
            raise
        except Exception as exc:
            self.lose(f"the lease could not be renewed ({type(exc).__name__})")
            raise
        self._valid_until = asked + self.lease

    async def _try(self, r: Redis) -> None:
        lock = Lock(
            r,
            self.keys.leader,
            timeout=self.lease,
            sleep=self.lease / 3,
            blocking=False,
            blocking_timeout=0,
            thread_local=False,
            raise_on_release_error=False,
        )
        asked = time.monotonic()
        broken = None
        if not await lock.acquire(blocking=False, token=self.token):
            broken = await self._break(r)
            asked = time.monotonic()
            if broken is None or not await lock.acquire(blocking=False, token=self.token):
                return
        self._lock, self._valid_until = lock, asked + self.lease
        await self._next_epoch(r, asked)
        if broken is not None and self.epoch is not None:
            self.took_over = f"{broken}: this window took over the lead, under a new epoch"
            log.warning("coordination: %s", self.took_over)

    async def _break(self, r: Redis) -> str | None:
        """Why the lease in Redis was deleted as one no member could have left, or None."""
        why, holder = await r.eval(
            BREAK_LEASE,
            1,
            self.keys.leader,
            self.keys.member(""),
            str(max(1, int(self.lease * 1000))),
        )
        if not why:
            return None
        text = holder.decode("utf-8", "replace") if isinstance(holder, bytes) else str(holder)
        shown = "".join(c if c.isprintable() else "?" for c in text)[:64]
        return BROKEN[int(why)].format(key=self.keys.leader, holder=shown)

    async def _next_epoch(self, r: Redis, asked: float) -> None:
        epoch = int(
            await r.eval(
                NEXT_EPOCH, 2, self.keys.leader, self.keys.epoch, self.token, str(self.highest)
            )
        )
        if epoch == 0 or time.monotonic() >= asked + self.lease:
            self.lose("the lease ran out before the epoch was taken")
            self._lock = None
            return
        self.epoch, self.lost = epoch, None
        self.seen(epoch)
        log.info("coordination: leading %s with epoch %s", self.keys.base, epoch)

    async def release(self) -> None:
        """Hand the lead over at once (a clean shutdown): token-checked, so never another's."""
        lock, self._lock = self._lock, None
        self.epoch = None
        if lock is not None:
            with contextlib.suppress(LockError):
                await lock.release()


def retention_turn(
    workspace: str,
    epoch: int | None,
    *,
    joining: bool,
    leader_store: str | None,
    my_store: str | None,
) -> RetentionTurn:
    """Who thins and collects a store in a group: the leader, fenced with its ``epoch``; a
    member that shares the leader's store leaves it to the leader; a member with a store of
    its own, or that knows no leader, runs it as it would alone; until the member has joined,
    the question waits."""
    if epoch is not None:
        return RetentionTurn(fence=(workspace, epoch))
    if joining:
        return RetentionTurn(later=True)
    if leader_store is not None and leader_store == my_store:
        return RetentionTurn(run=False)
    return RetentionTurn()
