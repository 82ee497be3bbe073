"""The persisted stat cache: a restarted server or a second window only stats the tree, and
never trusts a stat that could hide a change."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers import engine_for

from shim_lsp.session import checkpointer, snapshot
from shim_lsp.session.checkpointer import CheckpointProgress
from shim_lsp.settings import Settings
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import retention, statcache
from shim_lsp.store.db import connect, open_store
from shim_lsp.workspace import fsclock, scan
from shim_lsp.workspace.scan import FileRules, FileStat
from shim_lsp.workspace.scan import walk_folders as real_walk_folders


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


class _Stat(NamedTuple):
    """The fields of an ``os.stat_result`` that a walk reads."""

    st_mode: int
    st_size: int
    st_mtime_ns: int
    st_ctime_ns: int
    st_ino: int
    st_dev: int


@pytest.fixture(params=list(FROZEN_CTIMES))
def frozen_stat(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FileStat:
    """m0.py's stat never moves, as when a change lands in the same timestamp tick as the
    stat it follows: only the racy guard can tell that it changed. The other files' stats
    are those that filesystem would keep, and the walk's folder signatures follow them."""
    stamp, g = FROZEN_CTIMES[request.param], GRANULARITY[request.param]
    frozen = FileStat(13, stamp, stamp, 4242)

    def as_kept(name: str, st: os.stat_result) -> Any:
        if name == "m0.py":
            return _Stat(st.st_mode, *frozen, st.st_dev)
        mtime, ctime = st.st_mtime_ns // g * g, st.st_ctime_ns // g * g
        return _Stat(st.st_mode, st.st_size, mtime, ctime, st.st_ino, st.st_dev)

    def walk_folders(
        rules: FileRules, listings: Any, trusted: Callable[[Any], bool]
    ) -> Iterator[scan.Listing]:
        def folder_trusted(st: os.stat_result) -> bool:  # folders have that granularity too
            return trusted(as_kept("", st))

        for listing in real_walk_folders(rules, listings, folder_trusted):
            files = [(name, as_kept(name, st)) for name, st in listing.files]
            signature = scan.signature(listing.ignores, files)
            yield listing._replace(files=files, signature=signature)

    monkeypatch.setattr(snapshot, "walk_folders", walk_folders)
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
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)  # past the folders' timestamp tick
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    engine.close("clean")
    tables = ("stat_cache", "stat_listings")
    with connect(state_dir / "shim.db") as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        assert counts == [10, 2]
        retention.clear(conn, None)
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        assert counts == [0, 0]


@pytest.mark.usefixtures("settled")
def test_a_store_from_before_the_stat_cache_still_opens(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    engine.checkpoint("before").result()
    engine.close("clean")
    with connect(state_dir / "shim.db") as conn:
        for table in ("stat_cache", "stat_folders", "stat_folders_stamp"):
            conn.execute(f"DROP TABLE {table}")  # the store as SHIM left it before

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


def _deep_tree(ws: Path) -> None:
    for folder in ("pkg", "pkg/sub", "pkg/sub/deeper", "other", "with space"):
        (ws / folder).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            (ws / folder / f"f{i}.py").write_text(f"# {folder} {i}\n")


def _edit(ws: Path) -> tuple[Path, bytes]:
    target = ws / "pkg" / "sub" / "deeper" / "f1.py"
    target.write_text("# edited, and longer\n")
    return target, b"# edited, and longer\n"


def _delete_file(ws: Path) -> tuple[Path, None]:
    target = ws / "pkg" / "sub" / "f0.py"
    target.unlink()
    return target, None


def _delete_folder(ws: Path) -> tuple[Path, None]:
    for path in sorted((ws / "pkg" / "sub").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (ws / "pkg" / "sub").rmdir()
    return ws / "pkg" / "sub" / "deeper" / "f2.py", None


def _add_in_new_folder(ws: Path) -> tuple[Path, bytes]:
    (ws / "new" / "inner").mkdir(parents=True)
    target = ws / "new" / "inner" / "n.py"
    target.write_text("n = 1\n")
    return target, b"n = 1\n"


def _add_file(ws: Path) -> tuple[Path, bytes]:
    target = ws / "pkg" / "added.py"
    target.write_text("added = 1\n")
    return target, b"added = 1\n"


def _add_below(ws: Path) -> tuple[Path, bytes]:
    """Only the folder holding the new file moves: the folders above it keep their stat."""
    target = ws / "pkg" / "sub" / "deeper" / "added.py"
    target.write_text("deeper = 1\n")
    return target, b"deeper = 1\n"


def _folder_to_link(ws: Path) -> tuple[Path, None]:
    """A folder replaced by a link to one outside the workspace: what it held is gone, and
    nothing is read through the link."""
    outside = ws.parent / "outside"
    (outside / "deeper").mkdir(parents=True, exist_ok=True)
    (outside / "deeper" / "f1.py").write_text("# outside\n")
    _delete_folder(ws)
    (ws / "pkg" / "sub").symlink_to(outside, target_is_directory=True)
    return ws / "pkg" / "sub" / "deeper" / "f1.py", None


def _rename(ws: Path) -> tuple[Path, bytes]:
    (ws / "with space" / "f2.py").rename(ws / "with space" / "renamed.py")
    return ws / "with space" / "renamed.py", b"# with space 2\n"


def _ignore_below(ws: Path) -> tuple[Path, None]:
    (ws / "pkg" / ".gitignore").write_text("sub/deeper/f0.py\n")
    return ws / "pkg" / "sub" / "deeper" / "f0.py", None


CHANGES = {
    "a file edited deep down": _edit,
    "a file deleted": _delete_file,
    "a file added": _add_file,
    "a file added in a subfolder": _add_below,
    "a folder deleted": _delete_folder,
    "a folder replaced by a link": _folder_to_link,
    "a file added in a new folder": _add_in_new_folder,
    "a file renamed": _rename,
    "a .gitignore added above a file": _ignore_below,
}


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("restart", [False, True], ids=["same server", "restarted server"])
def test_a_scan_finds_what_changed_in_any_folder(
    workspace: Path,
    state_dir: Path,
    change: str,
    restart: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scan passes over folders whose files are as they were, and lists again only the
    folders whose own stat moved (a restart too, from the listings kept in the store): every
    other change must still reach the checkpoint, for an editor without watchers and after
    a restart."""
    _deep_tree(workspace)
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)  # past the folders' timestamp tick
    engine = engine_for(workspace, state_dir)
    engine.checkpoint("first").result()
    engine.checkpoint("nothing changed").result()
    if restart:
        engine.close("clean")
    before = {str(p): p.stat() for p in [workspace, *workspace.rglob("*")] if p.is_dir()}
    target, expected = CHANGES[change](workspace)
    if restart:
        engine = engine_for(workspace, state_dir)
    listed = _count_listings(monkeypatch)
    result = engine.checkpoint("after the change").result()
    moved = {
        folder
        for folder, st in before.items()
        if not os.path.isdir(folder)
        or (os.stat(folder).st_mtime_ns, os.stat(folder).st_ino) != (st.st_mtime_ns, st.st_ino)
    }
    assert set(listed) <= moved | {str(p) for p in workspace.rglob("*") if str(p) not in before}
    assert _content(engine.db_path, result.id, target) == expected
    on_disk = {
        p for p in workspace.rglob("*") if p.is_file() and (p != target or expected is not None)
    }
    assert result.files == len(on_disk)
    for path in on_disk:
        assert _content(engine.db_path, result.id, path) == path.read_bytes()
    engine.close("clean")


def _count_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders a walk lists (``os.scandir``) from now on."""
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str) -> Any:
        listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return listed


def _count_manifest_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What a checkpoint loads of the manifest and the stat cache as objects: all of them,
    or one folder's files."""
    loads: list[str] = []
    real_entries, real_stats = cps.disk_entries, statcache.load
    real_entries_in, real_stats_in = cps.disk_entries_in, statcache.load_folder

    def disk_entries(conn: sqlite3.Connection, cid: int) -> dict[str, cps.DiskEntry]:
        loads.append("manifest")
        return real_entries(conn, cid)

    def load(conn: sqlite3.Connection, workspace: str) -> dict[str, statcache.Cached]:
        loads.append("stat cache")
        return real_stats(conn, workspace)

    def disk_entries_in(
        conn: sqlite3.Connection, cid: int, folder: str
    ) -> dict[str, cps.DiskEntry]:
        loads.append(f"manifest of {folder.rsplit('/ws/', 1)[1]}")
        return real_entries_in(conn, cid, folder)

    def load_folder(
        conn: sqlite3.Connection, workspace: str, folder: str
    ) -> dict[str, statcache.Cached]:
        loads.append(f"stat cache of {folder.rsplit('/ws/', 1)[1]}")
        return real_stats_in(conn, workspace, folder)

    monkeypatch.setattr(cps, "disk_entries", disk_entries)
    monkeypatch.setattr(statcache, "load", load)
    monkeypatch.setattr(cps, "disk_entries_in", disk_entries_in)
    monkeypatch.setattr(statcache, "load_folder", load_folder)
    return loads


@pytest.mark.usefixtures("settled")
def test_a_restarted_server_that_finds_nothing_changed_only_stats_the_tree(
    workspace: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a file read, not a folder listed (their listings are kept in the store), and
    neither the manifest nor the stat cache loaded as objects: a stat per folder and file,
    and one comparison per folder. Once a file changed, what they hold of its folder."""
    _deep_tree(workspace)
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)  # past the folders' timestamp tick
    first = engine_for(workspace, state_dir)
    first.checkpoint().result()
    first.close("clean")

    loads = _count_manifest_loads(monkeypatch)
    restarted = engine_for(workspace, state_dir)
    restarted.watching = True  # kept listings are read from the store all the same
    listed = _count_listings(monkeypatch)
    result = restarted.checkpoint().result()
    assert (result.read_files, result.files, loads, listed) == (0, 15, [], [])
    restarted.watching = False
    again = restarted.checkpoint("by hand").result()
    assert (again.read_files, again.files, loads) == (0, 15, [])
    target, expected = _edit(workspace)
    changed = restarted.checkpoint("after an edit").result()
    assert (changed.read_files, _content(restarted.db_path, changed.id, target)) == (1, expected)
    assert changed.files == 15
    assert loads == ["manifest of pkg/sub/deeper/", "stat cache of pkg/sub/deeper/"]
    restarted.close("clean")


def _kept_listings(db: Path) -> int:
    with connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM stat_listings").fetchone()[0])


@pytest.mark.parametrize("where", ["local", "network"])
def test_a_folder_listing_is_kept_in_the_store_only_when_its_stat_would_show_a_change(
    workspace: Path, state_dir: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart trusts a kept listing as long as the folder's stat has not moved: one taken
    in the folder's own timestamp tick (an entry added later in that tick would not move
    it), or on a filesystem whose timestamps a server sets, is not kept."""
    if where == "network":
        _remote(monkeypatch)
    _deep_tree(workspace)
    folders = [workspace, *(p for p in workspace.rglob("*") if p.is_dir())]
    oldest = min(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in folders)
    engine = engine_for(workspace, state_dir)
    engine.checkpoints.tree.clock_ns = lambda: oldest  # begun in the folders' own tick
    engine.checkpoint().result()
    assert _kept_listings(engine.db_path) == 0
    engine.checkpoints.tree.clock_ns = time.time_ns
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)
    engine.checkpoint("a tick later").result()
    assert _kept_listings(engine.db_path) == (len(folders) if where == "local" else 0)
    engine.close("clean")


@pytest.mark.usefixtures("settled")
def test_another_windows_checkpoint_does_not_hide_a_change(
    workspace: Path, state_dir: Path
) -> None:
    """Window two checkpoints from its own manifest, which never saw the edit window one
    read: the folder signatures then written must be two's, or a restart would pass over
    the edited file and keep two's old copy."""
    _deep_tree(workspace)
    one = engine_for(workspace, state_dir)
    two = engine_for(workspace, state_dir)
    one.checkpoint().result()
    two.checkpoint().result()
    target, expected = _edit(workspace)
    one.checkpoint("one sees the edit").result()
    other = workspace / "other" / "f0.py"
    other.write_text("# other, edited\n")
    two.watching = True
    two.files_changed([other])  # two's watcher reported only this one
    two.checkpoint(reason="interval").result()
    one.close("clean")
    two.close("clean")

    restarted = engine_for(workspace, state_dir)
    result = restarted.checkpoint().result()
    assert _content(restarted.db_path, result.id, target) == expected
    assert _content(restarted.db_path, result.id, other) == b"# other, edited\n"
    restarted.close("clean")


@pytest.mark.usefixtures("settled")
def test_changed_settings_are_not_passed_over_by_a_restart(
    workspace: Path, state_dir: Path
) -> None:
    _deep_tree(workspace)
    first = engine_for(workspace, state_dir)
    first.checkpoint().result()
    first.close("clean")
    restarted = engine_for(workspace, state_dir, exclude_globs=["other/"])
    result = restarted.checkpoint().result()
    assert _content(restarted.db_path, result.id, workspace / "other" / "f1.py") is None
    assert result.files == 12
    restarted.close("clean")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("restart", [False, True], ids=["same server", "restarted server"])
def test_a_folder_known_from_a_file_event_is_looked_at_by_the_next_scan(
    workspace: Path, state_dir: Path, restart: bool
) -> None:
    """File events change the manifest without a scan; the folders they touched, a new one
    included, must not be passed over, and one that vanishes must be seen to."""
    _deep_tree(workspace)
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    engine.watching = True
    target, _expected = _add_in_new_folder(workspace)
    edited, _ = _edit(workspace)
    engine.files_changed([target, edited])
    by_event = engine.checkpoint(reason="interval").result()
    assert _content(engine.db_path, by_event.id, target) == b"n = 1\n"
    edited.write_text("# edited again, no event\n")
    (workspace / "new" / "inner" / "n.py").unlink()
    (workspace / "new" / "inner").rmdir()
    if restart:
        engine.close("clean")
        engine = engine_for(workspace, state_dir)
    scanned = engine.checkpoint("by hand").result()
    assert _content(engine.db_path, scanned.id, target) is None
    assert _content(engine.db_path, scanned.id, edited) == b"# edited again, no event\n"
    assert scanned.files == 15
    engine.close("clean")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("restart", [False, True], ids=["same server", "restarted server"])
def test_a_file_that_could_not_be_read_is_tried_again_by_the_next_scan(
    workspace: Path, state_dir: Path, restart: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that fails (EIO, a lock, ...) leaves the file out of that checkpoint only: its
    folder must not be passed over while the file is as it was."""
    _deep_tree(workspace)
    target = workspace / "pkg" / "sub" / "f1.py"
    real_read = snapshot._read

    def failing(path: str, size: int) -> bytes:
        if path == str(target):
            raise OSError(5, "Input/output error")
        return real_read(path, size)

    monkeypatch.setattr(snapshot, "_read", failing)
    engine = engine_for(workspace, state_dir)
    first = engine.checkpoint().result()
    assert _content(engine.db_path, first.id, target) is None
    monkeypatch.setattr(snapshot, "_read", real_read)
    if restart:
        engine.close("clean")
        engine = engine_for(workspace, state_dir)
    again = engine.checkpoint("by hand").result()
    assert _content(engine.db_path, again.id, target) == b"# pkg/sub 1\n"
    engine.close("clean")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("folders_loaded", ["one by one", "all past one"])
def test_every_checkpoint_holds_the_tree_through_random_changes_restarts_and_events(
    workspace: Path,
    state_dir: Path,
    seed: int,
    folders_loaded: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Edits, additions, deletions, moves and .gitignore changes in random folders, seen by
    scans, by file events (some of them missed) and by restarted servers, across new bases
    (many changes at once): each checkpoint must hold exactly the files on disk."""
    if folders_loaded == "all past one":
        monkeypatch.setattr(snapshot, "LOAD_FOLDERS_MAX", 1)
    rng = random.Random(seed)
    folders = ["", "a/", "a/b/", "a/b/c/", "d/", "d/e f/"]
    for folder in folders:
        (workspace / folder).mkdir(parents=True, exist_ok=True)
        for i in range(12):
            (workspace / folder / f"m{i}.py").write_text(f"# {folder}{i}\n")
    engine = engine_for(workspace, state_dir)
    engine.checkpoint().result()
    version = 0
    for _step in range(30):
        files = sorted(p for p in workspace.rglob("*.py"))
        reported: list[Path] = []
        for _change in range(rng.choice([1, 1, 2, 3, 70])):
            version += 1
            kind = rng.choice(["edit", "edit", "add", "delete", "move"])
            target = rng.choice(files)
            if not target.exists():
                continue
            if kind == "edit":
                target.write_text(f"# edited {version}\n" * rng.randint(1, 3))
            elif kind == "add":
                target = workspace / rng.choice(folders) / f"new{version}.py"
                target.write_text(f"# new {version}\n")
            elif kind == "delete":
                target.unlink()
            else:
                moved = workspace / rng.choice(folders) / f"moved{version}.py"
                target.rename(moved)
                reported.append(moved)
            reported.append(target)
        if rng.random() < 0.1:
            (workspace / "a" / ".gitignore").write_text(f"b/c/m{rng.randint(0, 11)}.py\n")
            reported.append(workspace / "a" / ".gitignore")
        how = rng.choice(["scan", "events", "missed events", "restart"])
        if how == "restart":
            engine.close("clean")
            engine = engine_for(workspace, state_dir)
        engine.watching = how in ("events", "missed events")
        if how == "events":
            engine.files_changed(reported)
        result = engine.checkpoint(reason="interval").result()
        if how == "missed events":
            continue  # the checkpoint trusts events it did not get: the next scan catches up
        with connect(engine.db_path) as conn:
            manifest = cps.disk_manifest(conn, result.id)
        ignored = (
            {
                workspace / "a" / rel
                for rel in (workspace / "a" / ".gitignore").read_text().split()
                if (workspace / "a" / ".gitignore").exists()
            }
            if (workspace / "a" / ".gitignore").exists()
            else set()
        )
        on_disk = {p.as_uri() for p in workspace.rglob("*") if p.is_file() and p not in ignored}
        if how == "events":
            continue  # events say only what they name; scans are the ones checked whole
        assert set(manifest) == on_disk, f"step {_step} ({how})"
        for uri in rng.sample(sorted(on_disk), 5):
            path = Path(uri.removeprefix("file://").replace("%20", " "))
            assert _content(engine.db_path, result.id, path) == path.read_bytes()
    engine.close("clean")


@pytest.mark.usefixtures("settled")
def test_a_restarted_server_counts_unsaved_buffers_once_without_loading_the_manifest(
    workspace: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buffer of a file on disk is one file, an unsaved new one another: told by the
    stored manifest, without loading it (the first checkpoint of a reloaded window)."""
    _deep_tree(workspace)
    first = engine_for(workspace, state_dir)
    first.checkpoint().result()
    first.close("clean")
    on_disk = (workspace / "pkg" / "sub" / "f2.py").as_uri()
    untitled = (workspace / "pkg" / "not_yet_saved.py").as_uri()
    texts = {on_disk: "# unsaved edit\n", untitled: "# never saved\n"}
    loads = _count_manifest_loads(monkeypatch)
    restarted = engine_for(workspace, state_dir, texts)
    restarted.did_open(on_disk, "# pkg/sub 2\n", 1)
    restarted.did_change(on_disk, 2, [["# unsaved edit\n"]], 15)
    restarted.did_open(untitled, "", 1)
    restarted.did_change(untitled, 2, [["# never saved\n"]], 14)
    result = restarted.checkpoint().result()
    assert (result.files, result.buffers, result.read_files, loads) == (16, 2, 0, [])
    assert _content(restarted.db_path, result.id, workspace / "pkg" / "sub" / "f2.py") == (
        b"# unsaved edit\n"
    )
    restarted.close("clean")


@pytest.mark.usefixtures("settled")
def test_settings_changed_while_a_checkpoint_runs_are_applied_by_the_next_scan(
    workspace: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running checkpoint judged the files by the old rules: what it found of the
    folders must not let the next scan pass over them under the new ones."""
    _deep_tree(workspace)
    (workspace / "pkg" / "debug.log").write_text("noise\n")
    engine = engine_for(workspace, state_dir)
    real_write = checkpointer._write_checkpoint

    def write_after_new_settings(conn: sqlite3.Connection, plan: snapshot.Plan) -> int:
        engine.apply_settings(Settings(state_dir=str(state_dir), exclude_globs=["*.log"]))
        return real_write(conn, plan)

    monkeypatch.setattr(checkpointer, "_write_checkpoint", write_after_new_settings)
    first = engine.checkpoint().result()
    assert _content(engine.db_path, first.id, workspace / "pkg" / "debug.log") == b"noise\n"
    monkeypatch.setattr(checkpointer, "_write_checkpoint", real_write)
    engine.watching = True  # an automatic checkpoint of an editor that sends file events
    after = engine.checkpoint(reason="interval").result()
    assert _content(engine.db_path, after.id, workspace / "pkg" / "debug.log") is None
    engine.close("clean")
    restarted = engine_for(workspace, state_dir, exclude_globs=["*.log"])
    again = restarted.checkpoint().result()
    assert _content(restarted.db_path, again.id, workspace / "pkg" / "debug.log") is None
    restarted.close("clean")


def _walked(rules: FileRules, listings: scan.Listings | None = None) -> list[tuple[str, ...]]:
    """What a walk finds, as a scan sees it: each folder kept, its files kept, its signature."""
    guard, started = fsclock.TimestampGuard(), time.time_ns()

    def trusted(st: os.stat_result) -> bool:
        kept = FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        return guard.listing_trusted(kept, st.st_dev, started)

    found = []
    for listing in real_walk_folders(rules, listings, trusted):
        kept = tuple(rel for rel, _st, _dev in scan.kept_files(rules, listing))
        found.append((listing.prefix, repr(listing.signature), *kept))
    return sorted(found)


def test_a_walk_from_kept_listings_finds_what_a_fresh_walk_finds(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan of an editor without watchers lists again only the folders whose own stat
    moved: every entry added, removed, renamed or replaced, ignored or linked, must still be
    found as a walk from nothing finds it, and the folders that did not move are not listed."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.py").write_text("kept out\n")
    for folder in ("a/b/c", "a/d", "node_modules/x", "build", "e", "f"):
        (workspace / folder).mkdir(parents=True)
        for i in range(3):
            (workspace / folder / f"m{i}.py").write_text(f"# {folder} {i}\n")
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "e" / "to_outside.py").symlink_to(outside / "secret.py")
    (workspace / "e" / "outside_dir").symlink_to(outside / "deep", target_is_directory=True)
    rules = FileRules.from_settings(workspace, Settings())
    listings: scan.Listings = {}
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)  # past the folders' timestamp tick
    fresh = _walked(rules)
    assert _walked(rules, listings) == fresh
    assert (workspace / "a" / "b" / "c").stat().st_ino in listings
    on_nfs = fsclock.TimestampGuard(lambda _dev: "nfs")
    stat = FileStat(0, 0, 0, 0)  # as old as can be
    assert not on_nfs.listing_trusted(stat, 1, time.time_ns()), "kept on local disks only"
    assert fsclock.TimestampGuard(lambda _dev: "ext4").listing_trusted(stat, 1, time.time_ns())
    assert (workspace / "node_modules" / "x").stat().st_ino not in listings  # left out
    assert (workspace / "build").stat().st_ino not in listings
    assert all("to_outside.py" not in row and "outside_dir/" not in row for row in fresh)

    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str) -> Any:
        listed.append(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert _walked(rules, listings) == fresh
    assert listed == [], "no folder moved: none is listed again"

    (workspace / "a" / "b" / "c" / "new.py").write_text("# new\n")
    (workspace / "a" / "d" / "m0.py").unlink()
    (workspace / "a" / "d" / "m1.py").rename(workspace / "a" / "d" / "renamed.py")
    (workspace / "e" / "m2.py").unlink()
    (workspace / "e" / "m2.py").mkdir()  # a file replaced by a folder
    (workspace / "e" / "m2.py" / "inner.py").write_text("# inner\n")
    (workspace / "a" / "m9.py").write_text("# kept, in a folder that had none\n")
    (workspace / "f" / "m0.py").write_text("# edited: only its stat moves\n")
    (workspace / "a" / ".gitignore").write_text("d/\n")
    (workspace / "e" / "to_outside.py").unlink()
    (workspace / "e" / "to_outside.py").symlink_to(outside / "deep")
    listed.clear()
    from_listings = _walked(rules, listings)
    assert str(workspace / "a" / "b") not in listed  # only a folder below it changed
    assert str(workspace / "f") not in listed  # only a file's content changed
    assert str(workspace / "a" / "b" / "c") in listed
    assert from_listings == _walked(rules)
    assert any(row[0] == "e/m2.py/" for row in from_listings)


def _judged(rules: FileRules) -> list[str]:
    """The folders judged against the excludes from now on."""
    judged: list[str] = []
    real = rules.matcher(rules.excludes)

    def excludes(rel: str) -> bool:
        if rel.endswith("/"):
            judged.append(rel)
        return real(rel)

    rules._matchers[id(rules.excludes)] = (rules.excludes, excludes)
    return judged


def test_a_restart_takes_the_folder_verdicts_from_the_store_until_what_judged_them_changes(
    workspace: Path, state_dir: Path
) -> None:
    """A restart judged every folder against the rules again (a regex search a folder): the
    verdicts are kept with the listings, and hold only under the same rules, .gitignore
    files and place in the tree. Whatever changed, a walk from the store finds what a walk
    from nothing finds; an older SHIM reads the listings it always read."""
    for folder in ("pkg/a/b", "pkg/build", "node_modules/x", "docs/build", "keep/deep"):
        (workspace / folder).mkdir(parents=True)
        (workspace / folder / "m.py").write_text(f"# {folder}\n")
    (workspace / ".gitignore").write_text("build/\n")
    time.sleep(3 * fsclock.COARSE_TICK_NS / 1e9)  # past the folders' timestamp tick
    conn, _report = open_store(state_dir)

    def stored(listings: scan.Listings) -> None:
        rows: dict[str, bytes | None] = {str(ino): kept for ino, kept in listings.items()}
        with conn:
            statcache.save_listings(conn, "ws", rows)

    def restart(**settings: Any) -> tuple[FileRules, scan.Listings]:
        return FileRules.from_settings(workspace, Settings(**settings)), statcache.load_listings(
            conn, "ws"
        )

    first = FileRules.from_settings(workspace, Settings())
    listings: scan.Listings = {}
    fresh = _walked(first, listings)
    assert all("build/" not in row[0] and "node_modules/" not in row[0] for row in fresh)
    stored(listings)

    rules, listings = restart()
    judged = _judged(rules)
    assert _walked(rules, listings) == fresh
    assert judged == [], "no folder judged again"

    # An older SHIM reads the listing column alone, as it always did, and finds the same.
    old = conn.execute("SELECT listing FROM stat_listings").fetchall()
    assert _walked(first, scan.listings_by_inode((row, None) for (row,) in old)) == fresh

    (workspace / ".gitignore").write_text("build/\nkeep/\n")  # the folder's stat stays
    rules, listings = restart()
    assert _walked(rules, listings) == _walked(FileRules.from_settings(workspace, Settings()))
    assert not any(row[0].startswith("keep/") for row in _walked(rules, listings))
    stored(listings)

    rules, listings = restart(exclude_globs=["docs/"])
    by_settings = _walked(FileRules.from_settings(workspace, Settings(exclude_globs=["docs/"])))
    assert _walked(rules, listings) == by_settings
    assert not any(row[0].startswith("docs/") for row in by_settings)
    conn.close()


def test_a_walk_never_waits_on_a_gitignore_that_is_a_fifo(tmp_path: Path) -> None:
    """Opened plainly, a FIFO holds the reader until a writer comes (for ever): the walk
    takes it for no ignore file, as ruff is run without ignore files then."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    os.mkfifo(tmp_path / "pkg" / ".gitignore")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "ignored.py").write_text("y = 2\n")
    child = os.fork()
    if child == 0:  # a hang must fail the test, not hold it: the walk runs in a child
        rules = FileRules.from_settings(tmp_path, Settings())
        walked = sorted(rel for rel, _st in scan.walk(rules))
        os._exit(0 if walked == [".gitignore", "pkg/a.py"] else 3)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            assert os.waitstatus_to_exitcode(status) == 0, "the walk kept the wrong files"
            return
        time.sleep(0.05)
    os.kill(child, 9)
    os.waitpid(child, 0)
    pytest.fail("the walk waited on the FIFO")
