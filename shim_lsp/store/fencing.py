"""Where the leader's work lands, its fencing epoch is checked: the store remembers, per
workspace, the highest epoch any leader wrote with, and refuses a lower one in the same
transaction as the work. A leader whose lease ran out while it was paused (or while Redis
was) thus cannot undo what its successor did."""

from __future__ import annotations

import sqlite3


def _key(workspace: str) -> str:
    return f"fence:{workspace}"


def highest(conn: sqlite3.Connection, workspace: str) -> int:
    """The highest epoch this store has admitted for the workspace (0 if none)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_key(workspace),)).fetchone()
    return int(row[0]) if row else 0


def admit(conn: sqlite3.Connection, workspace: str, epoch: int) -> bool:
    """Inside the caller's write transaction: True (and the epoch noted) unless a higher
    epoch has written here already."""
    if epoch < highest(conn, workspace):
        return False
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (_key(workspace), str(epoch))
    )
    return True
