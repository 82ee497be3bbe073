"""What to keep: everything recent, then thinner and thinner, under a size cap.

Named checkpoints stay until cleared; the full base of any kept delta stays; unresolved crashed
sessions keep their journal. An AI chat's first checkpoint (labelled "chat start", the "before"
of its work) stays while the chat runs or its unfinished work waits, then ages like any other.
Blobs that nothing references are collected only after a grace period, so a checkpoint being
written by another process never loses its blobs.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from shim_lsp.settings import Settings
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import fencing, statcache
from shim_lsp.store.checkpoints import CheckpointRow

log = logging.getLogger(__name__)

BLOB_GRACE_S = 3600.0
SHORT_GRACE_S = 300.0
"""Enough for any checkpoint under way in another window to finish writing."""
HOUR = 3600.0
DAY = 86400.0


def chat_starts_needed(conn: sqlite3.Connection) -> set[int]:
    """First checkpoints of chats running, or dead with their work neither clean nor settled:
    recovery measures what such a chat changed from it."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT c.id FROM checkpoints c JOIN sessions s ON s.id = c.session_id"
            " WHERE c.reason = ? AND s.resolved_at IS NULL"
            " AND (s.ended_at IS NULL OR s.end_reason IS NOT 'clean')",
            (cps.CHAT_START,),
        )
    }


def named(row: CheckpointRow) -> bool:
    """Named by someone, so kept until cleared: a chat start's automatic label does not count."""
    return row.label is not None and row.reason != cps.CHAT_START


def thin(
    rows: list[CheckpointRow], now: float, settings: Settings, keep: set[int] | None = None
) -> set[int]:
    """Ids to delete by age alone: newest per hour, then per day, then nothing; named ones
    and ``keep`` stay."""
    keep = keep or set()
    recent = settings.keep_all_minutes * 60
    hourly = recent + settings.keep_hourly_hours * HOUR
    daily = hourly + settings.keep_daily_days * DAY
    by_workspace: dict[str, list[CheckpointRow]] = defaultdict(list)
    for row in rows:
        by_workspace[row.workspace].append(row)
    doomed: set[int] = set()
    for group in by_workspace.values():
        group.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        newest = group[0].id
        seen: set[tuple[str, int]] = set()
        for row in group:
            age = now - row.created_at
            if named(row) or row.id in keep or row.id == newest or age < recent:
                continue
            if age < hourly:
                bucket = ("h", int(row.created_at // HOUR))
            elif age < daily:
                bucket = ("d", int(row.created_at // DAY))
            else:
                doomed.add(row.id)
                continue
            if bucket in seen:
                doomed.add(row.id)
            else:
                seen.add(bucket)
    return _spare_bases(rows, doomed)


def _spare_bases(rows: list[CheckpointRow], doomed: set[int]) -> set[int]:
    needed = {r.base_id for r in rows if r.id not in doomed and r.base_id is not None}
    return doomed - needed


@dataclass(frozen=True)
class RetentionReport:
    deleted_checkpoints: int
    deleted_blobs: int
    deleted_journal: int
    store_bytes: int


def store_bytes(conn: sqlite3.Connection) -> int:
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int(page_size * (pages - free))


def collect_blobs(
    conn: sqlite3.Connection, grace_s: float = BLOB_GRACE_S, now: float | None = None
) -> int:
    gone = conn.execute(
        "DELETE FROM blobs WHERE used_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.blob = blobs.hash)",
        ((now or time.time()) - grace_s,),
    ).rowcount
    if gone:
        statcache.forget_missing_blobs(conn)
    return gone


def journal_kept_s(settings: Settings) -> float:
    """How long the journal of settled work (restored, dismissed) is kept after its end."""
    return settings.keep_daily_days * DAY + settings.keep_hourly_hours * HOUR


def prune_journal(conn: sqlite3.Connection, older_than: float) -> int:
    """Journal of ended sessions with nothing left to recover, once older than the window.

    A session that ended (cleanly or not) holding unsaved work keeps its journal until that
    work is restored or dismissed: the journal is what brings it back.
    """
    return conn.execute(
        "DELETE FROM journal WHERE session_id IN (SELECT id FROM sessions"
        " WHERE ended_at IS NOT NULL AND ended_at < ? AND resolved_at IS NOT NULL)",
        (older_than,),
    ).rowcount


def apply(
    conn: sqlite3.Connection, settings: Settings, now: float | None = None
) -> RetentionReport:
    """Thin, cap and collect, inside the caller's transaction."""
    now = now or time.time()
    rows = cps.list_for(conn, limit=10**9)
    keep = chat_starts_needed(conn)
    doomed = thin(rows, now, settings, keep)
    deleted = cps.delete(conn, doomed)
    cap = int(settings.max_store_mb * 1024 * 1024)
    blobs_gone = collect_blobs(conn, now=now)
    live = sorted((r for r in rows if r.id not in doomed), key=lambda r: (r.created_at, r.id))
    newest = {r.workspace: r.id for r in live}
    candidates = [
        r for r in live if not named(r) and r.id not in keep and r.id != newest[r.workspace]
    ]
    while candidates and _payload_bytes(conn) > cap:
        victim = candidates.pop(0)
        remaining = [r for r in live if r.id != victim.id]
        if victim.id in {r.base_id for r in remaining}:
            continue
        deleted += cps.delete(conn, [victim.id])
        live = remaining
        blobs_gone += collect_blobs(conn, grace_s=SHORT_GRACE_S, now=now)
    journal = prune_journal(conn, now - journal_kept_s(settings))
    return RetentionReport(deleted, blobs_gone, journal, store_bytes(conn))


@dataclass(frozen=True)
class Stale:
    """Retention refused: the store has admitted a newer epoch than the one it came with."""

    seen: int


def apply_fenced(
    conn: sqlite3.Connection, settings: Settings, fence: tuple[str, int] | None
) -> RetentionReport | Stale:
    """``apply``, unless ``fence`` (workspace id, epoch) is older than an epoch this store has
    already admitted for that workspace: then nothing is deleted."""
    if fence is not None and not fencing.admit(conn, *fence):
        seen = fencing.highest(conn, fence[0])
        log.warning("retention refused: epoch %s, this store has seen %s", fence[1], seen)
        return Stale(seen)
    return apply(conn, settings)


def _payload_bytes(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(SUM(length(data)), 0) FROM blobs").fetchone()
    return int(row[0])


def clear(
    conn: sqlite3.Connection,
    session_ids: Iterable[str] | None,
    *,
    live: Iterable[str] = (),
    current: str | None = None,
) -> dict[str, int]:
    """Forget sessions (all when None): their journal, checkpoints and recovery state.

    ``live`` sessions (other windows still running) are left alone: their journal is what
    would bring their work back. The ``current`` session's history is cleared but its row
    stays, since its writer keeps updating it. Full checkpoints that remaining checkpoints
    build on are kept.
    """
    spared = set(live) - {current}
    if session_ids is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM sessions")]
    else:
        ids = list(session_ids)
    counts = {"sessions": 0, "checkpoints": 0, "journal": 0}
    for sid in ids:
        if sid in spared:
            continue
        counts["journal"] += conn.execute("DELETE FROM journal WHERE session_id=?", (sid,)).rowcount
        conn.execute("DELETE FROM resolutions WHERE session_id=?", (sid,))
        conn.execute("DELETE FROM offers WHERE session_id=?", (sid,))
        mine = [r[0] for r in conn.execute("SELECT id FROM checkpoints WHERE session_id=?", (sid,))]
        needed = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT base_id FROM checkpoints"
                " WHERE session_id<>? AND base_id IS NOT NULL",
                (sid,),
            )
        }
        counts["checkpoints"] += cps.delete(conn, [c for c in mine if c not in needed])
        if sid != current:
            counts["sessions"] += conn.execute("DELETE FROM sessions WHERE id=?", (sid,)).rowcount
    statcache.forget_cleared(conn)
    collect_blobs(conn, grace_s=SHORT_GRACE_S)
    return counts
