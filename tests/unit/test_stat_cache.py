"""The persisted stat cache: a restarted server or a second window only stats the tree, and
never trusts a stat that could hide a change."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import engine_for

from shim_lsp.session import snapshot
from shim_lsp.session.checkpointer import CheckpointProgress
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import retention
from shim_lsp.store.db import connect, open_store
from shim_lsp.workspace import fsclock
from shim_lsp.workspace.scan import FileRules, FileStat
from shim_lsp.workspace.scan import walk as real_walk


def _tree(ws: Path) -> None:
    (ws / "pkg").mkdir()
    for i in range(10):
        (ws / "pkg" / f"m{i}.py").write_text(f"value = {i:04d}\n")


def _content(db: Path, cid: int, path: Path) -> bytes | None:
    with connect(db) as conn:
        found = cps.file_at(conn, cid, path.as_uri())
    return found[1] if found else None


def _rewrite_keeping_size_and_mtime(path: Path, text: str, *, rename: bool = False) -> None:
    """What a tool that restores timestamps does (rsync -t, a checkout, an unpacker); only the
    ctime (and, replaced by a rename, the inode) can tell."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    time.sleep(0.05)  # past the kernel's timestamp tick, so the ctime differs
    if rename:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))
        tmp.replace(path)
    else:
        path.write_text(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


@pytest.mark.usefixtures("settled")
def test_a_restarted_server_reads_only_what_changed(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    first = engine_for(workspace, state_dir)
    assert first.checkpoint().result().read_files == 10
    first.close("clean")

    (workspace / "pkg" / "m1.py").write_text("value = 'changed'\n")
    restarted = engine_for(workspace, state_dir)
    result = restarted.checkpoint().result()
    assert result.read_files == 1
    assert _content(restarted.db_path, result.id, workspace / "pkg" / "m1.py") == (
        b"value = 'changed'\n"
    )
    restarted.close("clean")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("rename", [False, True], ids=["in place", "replaced by a rename"])
def test_same_size_and_restored_mtime_is_caught_by_ctime_and_inode(
    workspace: Path, state_dir: Path, rename: bool
) -> None:
    _tree(workspace)
    target = workspace / "pkg" / "m2.py"
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    engine.close("clean")

    _rewrite_keeping_size_and_mtime(target, "value = 9999\n", rename=rename)
    restarted = engine_for(workspace, state_dir)
    result = restarted.checkpoint().result()
    assert result.read_files == 1
    assert _content(restarted.db_path, result.id, target) == b"value = 9999\n"

    # The same within one server, for an editor without file watchers.
    _rewrite_keeping_size_and_mtime(target, "value = 8888\n", rename=rename)
    again = restarted.checkpoint("by hand").result()
    assert _content(restarted.db_path, again.id, target) == b"value = 8888\n"
    restarted.close("clean")


FROZEN_CTIMES = {
    # Each a multiple of that granularity and of no coarser one up to 2 s: the guard learns
    # a filesystem's granularity from the ctimes it sees.
    "nanoseconds": 1_700_000_000_000_000_123,
    "1 s": 1_700_000_001_000_000_000,
    "2 s (FAT)": 1_700_000_002_000_000_000,
}
GRANULARITY = {"nanoseconds": 1, "1 s": 1_000_000_000, "2 s (FAT)": 2_000_000_000}


@pytest.fixture(params=list(FROZEN_CTIMES))
def frozen_stat(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FileStat:
    """m0.py's stat never moves, as when a change lands in the same timestamp tick as the
    stat it follows: only the racy guard can tell that it changed."""
    stamp, g = FROZEN_CTIMES[request.param], GRANULARITY[request.param]
    frozen = FileStat(13, stamp, stamp, 4242)

    def walk(rules: FileRules) -> Iterator[tuple[str, FileStat]]:
        for rel, st in real_walk(rules):
            # The other files' timestamps as that filesystem would keep them.
            coarse = st._replace(mtime_ns=st.mtime_ns // g * g, ctime_ns=st.ctime_ns // g * g)
            yield rel, (frozen if rel == "pkg/m0.py" else coarse)

    monkeypatch.setattr(snapshot, "walk", walk)
    return frozen


def _last_racy_offset(frozen: FileStat) -> int:
    """How long after the stat a checkpoint can begin and a change still carry the same
    timestamp: to the end of the stat's tick of granularity G, plus the coarse clock's lag."""
    g = GRANULARITY[next(k for k, v in FROZEN_CTIMES.items() if v == frozen.ctime_ns)]
    return g - 1 + fsclock.COARSE_TICK_NS if g > 1 else fsclock.COARSE_TICK_NS


def _remote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file on a filesystem whose timestamps a server sets (here NFS)."""
    monkeypatch.setattr(fsclock.FilesystemTypes, "__call__", lambda _self, _dev: "nfs")


@pytest.mark.parametrize("at", ["start of the tick", "end of the tick"])
@pytest.mark.parametrize("restart", [False, True], ids=["same server", "restarted server"])
@pytest.mark.parametrize("where", ["local", "network"])
def test_a_file_changed_in_the_same_tick_as_the_cache_write_is_read_again(
    workspace: Path,
    state_dir: Path,
    frozen_stat: FileStat,
    at: str,
    restart: bool,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost edit is worse than a slow checkpoint: the change keeps the file's whole stat,
    and must still reach the next checkpoint."""
    if where == "network":
        _remote(monkeypatch)
    _tree(workspace)
    target = workspace / "pkg" / "m0.py"
    engine = engine_for(workspace, state_dir)
    last = fsclock.SAFE_NS if where == "network" else _last_racy_offset(frozen_stat)
    offset = 0 if at == "start of the tick" else last
    engine.checkpoints.tree.clock_ns = lambda: frozen_stat.ctime_ns + offset
    engine.checkpoint("read it").result()
    if restart:
        engine.close("clean")
        engine = engine_for(workspace, state_dir)
    target.write_text("value = 7777\n")  # same size: the stat does not move at all
    later = engine.checkpoint("written within the tick").result()
    assert _content(engine.db_path, later.id, target) == b"value = 7777\n"
    engine.close("clean")


@pytest.mark.parametrize("where", ["local", "network"])
def test_a_stat_older_than_its_tick_is_trusted(
    workspace: Path,
    state_dir: Path,
    frozen_stat: FileStat,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other side of the guard (and proof that the frozen stat hides the change): one
    nanosecond past the tick, the cache is trusted."""
    if where == "network":
        _remote(monkeypatch)
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    last = fsclock.SAFE_NS if where == "network" else _last_racy_offset(frozen_stat)
    engine.checkpoints.tree.clock_ns = lambda: frozen_stat.ctime_ns + last + 1
    engine.checkpoint().result()
    target = workspace / "pkg" / "m0.py"
    target.write_text("value = 7777\n")
    trusting = engine.checkpoint("trusting the cache").result()
    assert _content(engine.db_path, trusting.id, target) == b"value = 0000\n"
    engine.close("clean")


def test_files_written_a_tick_before_a_checkpoint_are_not_read_again(
    workspace: Path, state_dir: Path
) -> None:
    """On a filesystem with fine timestamps (this one), the racy window is the coarse
    clock's tick, not 2 s: a scan right after a tree was copied reads nothing again."""
    _tree(workspace)
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)
    engine = engine_for(workspace, state_dir)
    assert engine.checkpoint().result().read_files == 10
    assert engine.checkpoint("scan again").result().read_files == 0
    engine.close("clean")


def test_the_filesystem_of_a_device_is_read_from_the_mount_table() -> None:
    table = (
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "30 27 254:1 / /home rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "31 27 0:52 / /mnt/nfs rw - nfs4 server:/export rw,vers=4.2\n"
    )
    assert fsclock.mount_types(table) == {
        os.makedev(0, 21): "proc",
        os.makedev(254, 1): "ext4",
        os.makedev(0, 52): "nfs4",
    }
    guard = fsclock.TimestampGuard(fsclock.mount_types(table).get)
    assert guard.local(os.makedev(254, 1)) and not guard.local(os.makedev(0, 52))
    assert not guard.local(os.makedev(9, 9)), "unknown: the safe window"


@pytest.mark.usefixtures("settled")
def test_two_windows_share_the_stat_cache(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    one = engine_for(workspace, state_dir)
    two = engine_for(workspace, state_dir)
    assert one.checkpoint().result().read_files == 10
    assert two.checkpoint().result().read_files == 0, "the first window's reading is shared"

    target = workspace / "pkg" / "m3.py"
    _rewrite_keeping_size_and_mtime(target, "value = 3333\n")
    by_two = two.checkpoint("two").result()
    assert (by_two.read_files, _content(two.db_path, by_two.id, target)) == (1, b"value = 3333\n")
    by_one = one.checkpoint("one").result()
    assert _content(one.db_path, by_one.id, target) == b"value = 3333\n"
    one.close("clean")
    two.close("clean")

    third = engine_for(workspace, state_dir)
    assert third.checkpoint().result().read_files == 0
    third.close("clean")


@pytest.mark.usefixtures("settled")
def test_a_cached_blob_that_was_collected_is_read_again(workspace: Path, state_dir: Path) -> None:
    """An older SHIM's retention knows nothing of the stat cache: a row may name a blob that
    is gone, and a checkpoint must never name a blob the store does not hold."""
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    engine.close("clean")
    with connect(state_dir / "shim.db") as conn:
        conn.execute("DELETE FROM entries")
        conn.execute("DELETE FROM checkpoints")
        conn.execute("DELETE FROM blobs")

    restarted = engine_for(workspace, state_dir)
    result = restarted.checkpoint().result()
    assert result.read_files == 10
    assert _content(restarted.db_path, result.id, workspace / "pkg" / "m4.py") == b"value = 0004\n"
    restarted.close("clean")


@pytest.mark.usefixtures("settled")
def test_clearing_history_forgets_the_stat_cache(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    engine.close("clean")
    with connect(state_dir / "shim.db") as conn:
        assert conn.execute("SELECT count(*) FROM stat_cache").fetchone()[0] == 10
        retention.clear(conn, None)
        assert conn.execute("SELECT count(*) FROM stat_cache").fetchone()[0] == 0


@pytest.mark.usefixtures("settled")
def test_a_store_from_before_the_stat_cache_still_opens(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    engine.checkpoint("before").result()
    engine.close("clean")
    with connect(state_dir / "shim.db") as conn:
        conn.execute("DROP TABLE stat_cache")  # the store as SHIM left it before

    conn, _report = open_store(state_dir)
    conn.close()
    restarted = engine_for(workspace, state_dir)
    result = restarted.checkpoint().result()
    assert result.read_files == 10, "no stat cache yet: read once"
    assert not result.full, "the manifest of the old store is still the base"
    restarted.close("clean")
    again = engine_for(workspace, state_dir)
    assert again.checkpoint().result().read_files == 0
    with connect(state_dir / "shim.db") as check:
        labels = [r.label for r in cps.list_for(check)]
    assert "before" in labels
    again.close("clean")


def test_the_stat_cache_table_is_created_once(state_dir: Path) -> None:
    for _ in range(2):
        conn, _report = open_store(state_dir)
        conn.close()
    with sqlite3.connect(state_dir / "shim.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables.count("stat_cache") == 1


def test_a_checkpoint_tells_its_progress_and_its_end(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    seen: list[CheckpointProgress] = []
    engine.checkpoints.listener = seen.append
    engine.checkpoint().result()
    engine.checkpoints.listener = None
    assert seen[-1].done and (seen[-1].looked, seen[-1].read) == (10, 10)
    assert [p.done for p in seen].count(True) == 1
    assert {p.run for p in seen} == {1}
    engine.close("clean")
