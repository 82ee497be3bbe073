"""A killed process loses only what it had not handed to the kernel: each change reaches SQLite
within milliseconds (no sync), and a synced commit follows within ``flushInterval`` for a
power cut."""

from __future__ import annotations

import os
import time
from pathlib import Path

from shim_lsp.journal.records import Record
from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.store.db import DB_NAME, connect


def _count(state_dir: Path) -> int:
    """What another process (the next start, after a SIGKILL) would find committed."""
    with connect(state_dir / DB_NAME, readonly=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0])


def test_each_change_is_committed_long_before_the_synced_commit(state_dir: Path) -> None:
    session = SessionInfo("s1", "ws", ["/ws"], "host", os.getpid(), None, None, "utf-16", 0.0)
    writer = JournalWriter(state_dir, session, flush_interval=2.0)
    writer.start()
    assert writer.wait_ready()
    try:
        handed: list[float] = []
        for n in range(1, 6):
            start = time.monotonic()
            writer.append(Record(n, "untitled:a", "change", n, time.time(), "[]"))
            while _count(state_dir) < n and time.monotonic() - start < 1.0:
                time.sleep(0.002)
            handed.append(time.monotonic() - start)
        assert max(handed) <= 0.25, handed  # milliseconds, not the 2 s flushInterval
        committed_at = time.time()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            synced = writer.status().last_sync_at
            if synced is not None and synced >= committed_at:
                break
            time.sleep(0.05)
        assert synced is not None and synced - committed_at <= 2.0 + 0.2
    finally:
        writer.close("clean")
