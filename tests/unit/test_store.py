from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shim_lsp.recovery.find import sessions
from shim_lsp.store.db import DB_NAME, StoreError, open_store


def test_fresh_store_is_wal_with_schema(state_dir: Path) -> None:
    conn, report = open_store(state_dir)
    assert report.quarantined is None
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "journal", "checkpoints", "entries", "blobs"} <= tables


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_store_is_moved_aside_never_deleted(state_dir: Path, damage: str) -> None:
    conn, _ = open_store(state_dir)
    conn.execute("CREATE TABLE filler(x)")
    conn.executemany("INSERT INTO filler VALUES (?)", [(b"x" * 4000,) for _ in range(200)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    path = state_dir / DB_NAME
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    damaged = path.read_bytes()

    conn, report = open_store(state_dir)

    assert report.quarantined is not None
    assert report.quarantined.read_bytes() == damaged
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


def test_unusable_state_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    with pytest.raises(StoreError, match="cannot create SHIM's state folder"):
        open_store(blocker / "state")


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_a_store_file_that_is_a_link_is_refused_and_nothing_it_leads_to_is_touched(
    tmp_path: Path, suffix: str
) -> None:
    outside = tmp_path / "elsewhere.db"
    outside.write_bytes(b"someone else's file")
    outside.chmod(0o644)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / f"{DB_NAME}{suffix}").symlink_to(outside)
    with pytest.raises(StoreError, match=r"is a symbolic link .* remove the link"):
        open_store(state_dir)
    assert outside.read_bytes() == b"someone else's file"
    assert outside.stat().st_mode & 0o777 == 0o644


def test_two_connections_write_without_busy_errors(state_dir: Path) -> None:
    a, _ = open_store(state_dir)
    b, _ = open_store(state_dir)
    for i in range(50):
        for conn in (a, b):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO meta(key, value) VALUES (?, 'x')", (f"{id(conn)}-{i}",))
            conn.execute("COMMIT")
    for conn in (a, b):  # each sees every commit, its own and the other's
        assert conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 102


def test_a_store_from_before_session_kinds_opens_and_its_sessions_are_windows(
    state_dir: Path,
) -> None:
    """Stores made before chats were sessions gain the ``kind`` column on open; their rows
    read as editor windows, and older SHIMs' inserts (which do not name it) still work."""
    state_dir.mkdir()
    old = sqlite3.connect(state_dir / DB_NAME)
    old.executescript(
        "CREATE TABLE sessions(id TEXT PRIMARY KEY, workspace TEXT NOT NULL, folders TEXT NOT"
        " NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_started REAL, client_pid INTEGER,"
        " position_encoding TEXT NOT NULL DEFAULT 'utf-16', started_at REAL NOT NULL,"
        " heartbeat_at REAL NOT NULL, ended_at REAL, end_reason TEXT, resolved_at REAL,"
        " resolution TEXT);"
        "INSERT INTO sessions(id, workspace, folders, host, pid, started_at, heartbeat_at)"
        " VALUES ('old', 'w', '/w', 'h', 1, 0, 0);"
    )
    old.close()
    conn, _ = open_store(state_dir)
    conn.execute(
        "INSERT INTO sessions(id, workspace, folders, host, pid, started_at, heartbeat_at)"
        " VALUES ('older-shim', 'w', '/w', 'h', 2, 0, 0)"
    )
    assert sorted((r.id, r.kind) for r in sessions(conn, "w")) == [
        ("old", "window"),
        ("older-shim", "window"),
    ]
    conn.close()
    conn, _ = open_store(state_dir)  # opening again adds nothing twice
    assert [r.kind for r in sessions(conn, "w")] == ["window", "window"]
