from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from helpers import engine_for

from shim_lsp.session import snapshot
from shim_lsp.store import blobs
from shim_lsp.store import checkpoints as cps
from shim_lsp.store.db import connect
from shim_lsp.workspace import scan


def _tree(ws: Path) -> None:
    (ws / "pkg").mkdir()
    for i in range(20):
        (ws / "pkg" / f"m{i}.py").write_text(f"value = {i}\n")
    (ws / ".gitignore").write_text("build/\n*.log\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.py").write_text("ignored\n")
    (ws / "debug.log").write_text("ignored\n")
    (ws / ".env").write_text("SECRET=1\n")
    (ws / "id_rsa").write_text("PRIVATE\n")
    (ws / "big.bin").write_bytes(b"\0" * 4096)
    (ws / "blob.dat").write_bytes(bytes(range(256)))


def test_checkpoint_respects_gitignore_secrets_and_size(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir, max_file_size=1024)
    result = engine.checkpoint("first").result()
    with connect(engine.db_path) as conn:
        names = {Path(u).name for u in cps.disk_manifest(conn, result.id)}
        binary = cps.file_at(conn, result.id, (workspace / "blob.dat").as_uri())
    assert "m0.py" in names and ".gitignore" in names
    assert not names & {"out.py", "debug.log", ".env", "id_rsa", "big.bin"}
    assert binary == ("disk", bytes(range(256)))
    engine.close("clean")


def test_files_with_the_same_bytes_are_compressed_and_stored_once(
    workspace: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies (vendored trees, a monorepo's packages, empty __init__.py files) cost one
    compression and one blob; every copy still comes back whole."""
    for copy in ("a", "b", "c"):
        for i in range(100):  # several batches
            (workspace / copy / "pkg").mkdir(parents=True, exist_ok=True)
            (workspace / copy / "pkg" / f"m{i}.py").write_text(f"value = {i}\n" * 20)
    encoded: list[int] = []
    real_encode = blobs.encode

    def encode(data: bytes) -> tuple[str, bytes]:
        encoded.append(len(data))
        return real_encode(data)

    monkeypatch.setattr(blobs, "encode", encode)
    engine = engine_for(workspace, state_dir)
    result = engine.checkpoint("first").result()
    assert (result.files, result.new_blobs) == (300, 100)
    assert len(encoded) == 100
    with connect(engine.db_path) as conn:
        for copy in ("a", "b", "c"):
            path = workspace / copy / "pkg" / "m42.py"
            assert cps.file_at(conn, result.id, path.as_uri()) == ("disk", b"value = 42\n" * 20)
    engine.close("clean")


def test_a_first_checkpoint_reads_on_its_own_thread_as_the_walk_finds_the_files(
    workspace: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reader threads beside the walk made a first checkpoint slower, not faster (every read
    hands the GIL over between threads): the checkpoint's thread reads each batch as the
    walk finds it, so that memory holds a batch, not the tree."""
    for folder in range(6):
        (workspace / f"pkg{folder}").mkdir()
        for i in range(40):
            (workspace / f"pkg{folder}" / f"m{i}.py").write_text(f"value = {folder}, {i}\n")
    seen: list[tuple[str, str]] = []
    real_read, real_list = snapshot._read, scan._list

    def read(path: str, size: int) -> bytes:
        seen.append(("read", threading.current_thread().name))
        return real_read(path, size)

    def listed(folder: str) -> tuple[list[str], list[str]] | None:
        seen.append(("list", threading.current_thread().name))
        return real_list(folder)

    monkeypatch.setattr(snapshot, "_read", read)
    monkeypatch.setattr(scan, "_list", listed)
    engine = engine_for(workspace, state_dir)
    result = engine.checkpoint("first").result()
    engine.close("clean")
    assert (result.files, result.read_files) == (240, 240)
    assert {thread for _what, thread in seen} == {"shim-checkpoint_0"}
    steps = [what for what, _thread in seen]
    assert steps.count("read") == 240
    assert steps.index("read") < len(steps) - 1 - steps[::-1].index("list")  # walk not over


@pytest.mark.usefixtures("settled")
def test_checkpoint_cost_follows_what_changed(workspace: Path, state_dir: Path) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    first = engine.checkpoint().result()
    assert first.full and first.read_files == first.files
    nothing = engine.checkpoint().result()
    assert (nothing.read_files, nothing.new_blobs, nothing.full) == (0, 0, False)

    changed = workspace / "pkg" / "m3.py"
    changed.write_text("value = 'changed'\n")
    os.utime(changed, ns=(1, 1))
    engine.files_changed([changed])
    one = engine.checkpoint().result()
    assert (one.read_files, one.new_blobs) == (1, 1)
    with connect(engine.db_path) as conn:
        assert cps.file_at(conn, one.id, changed.as_uri()) == ("disk", b"value = 'changed'\n")
        assert cps.file_at(conn, first.id, changed.as_uri()) == ("disk", b"value = 3\n")
    engine.close("clean")


def test_deleted_files_stay_in_history(workspace: Path, state_dir: Path) -> None:
    doomed = workspace / "old.py"
    doomed.write_text("old = True\n")
    engine = engine_for(workspace, state_dir)
    before = engine.checkpoint("before delete").result()
    doomed.unlink()
    engine.files_changed([doomed])
    after = engine.checkpoint().result()
    with connect(engine.db_path) as conn:
        versions = cps.file_history(conn, engine.workspace.key, doomed.as_uri())
        assert doomed.as_uri() in cps.known_uris(conn, engine.workspace.key)
    assert [(v.checkpoint.id, v.blob is None) for v in versions] == [
        (after.id, True),
        (before.id, False),
    ]
    engine.close("clean")


def test_dirty_buffers_are_stored_whole_and_deduplicated(workspace: Path, state_dir: Path) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    uri = (workspace / "a.py").as_uri()
    texts = {uri: "a = 'unsaved'\n"}
    engine = engine_for(workspace, state_dir, texts)
    engine.did_open(uri, "a = 1\n", 1)
    engine.did_change(uri, 2, [["a = 'unsaved'\n"]], 14)
    first = engine.checkpoint().result()
    second = engine.checkpoint().result()
    assert (first.buffers, second.buffers, second.new_blobs) == (1, 1, 0)
    with connect(engine.db_path) as conn:
        assert cps.file_at(conn, second.id, uri) == ("buffer", b"a = 'unsaved'\n")
    engine.close("clean")


def test_size_cap_drops_oldest_unnamed_checkpoints_but_keeps_named_and_newest(
    workspace: Path, state_dir: Path
) -> None:
    import random
    import time

    from shim_lsp.settings import Settings
    from shim_lsp.store import retention
    from shim_lsp.store.db import write_tx

    target = workspace / "data.txt"
    engine = engine_for(workspace, state_dir)
    rng = random.Random(1)
    ids = []
    for i in range(6):
        target.write_bytes(rng.randbytes(300_000))  # incompressible
        os.utime(target, ns=(i + 10, i + 10))
        engine.files_changed([target])
        ids.append(engine.checkpoint("named" if i == 0 else None).result().id)
    engine.close("clean")
    with connect(engine.db_path) as conn, write_tx(conn):
        an_hour_later = time.time() + 3600
        report = retention.apply(
            conn, Settings(max_store_mb=1.0, keep_all_minutes=120), now=an_hour_later
        )
        left = [r.id for r in cps.list_for(conn, engine.workspace.key)]
        payload = conn.execute("SELECT SUM(length(data)) FROM blobs").fetchone()[0]
    assert ids[0] in left and ids[-1] in left, "named and newest stay"
    assert report.deleted_checkpoints >= 2
    assert payload <= 1024 * 1024


def test_manifests_stay_exact_across_deltas_and_rebases(workspace: Path, state_dir: Path) -> None:
    files = [workspace / f"f{i:03}.py" for i in range(120)]
    for i, f in enumerate(files):
        f.write_text(f"v = {i}\n")
    engine = engine_for(workspace, state_dir)

    def check(expect_full: bool) -> None:
        result = engine.checkpoint().result()
        assert result.full is expect_full
        with connect(engine.db_path) as conn:
            manifest = cps.disk_manifest(conn, result.id)
            on_disk = {p.as_uri(): p.read_bytes() for p in workspace.iterdir()}
            assert set(manifest) == set(on_disk)
            for uri, data in on_disk.items():
                assert cps.file_at(conn, result.id, uri) == ("disk", data)
        assert result.files == len(on_disk)
        assert result.bytes == sum(len(d) for d in on_disk.values())

    check(expect_full=True)
    files[0].unlink()
    (workspace / "new.py").write_text("new = True\n")
    engine.files_changed([files[0], workspace / "new.py"])
    check(expect_full=False)
    for i, f in enumerate(files[1:100], start=1):  # more than the rebase threshold
        f.write_text(f"v = {i} changed\n")
        os.utime(f, ns=(i, i))
    engine.files_changed(files[1:100])
    check(expect_full=True)
    files[1].write_text("v = 'back to a delta'\n")
    os.utime(files[1], ns=(5, 5))
    engine.files_changed([files[1]])
    check(expect_full=False)
    engine.close("clean")


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("start_empty", [False, True], ids=["a tree", "an empty folder"])
@pytest.mark.parametrize("restarts", ["never", "once", "each time"])
def test_deltas_stay_exact_as_files_change_and_change_back(
    workspace: Path, state_dir: Path, start_empty: bool, restarts: str
) -> None:
    """A delta names what differs from its base: a file changed, then changed back, must
    leave it, and one added to an empty base must stay in it, in one server and across
    restarts (which start from the stored delta)."""
    target, other = workspace / "a.py", workspace / "b.py"

    def write(path: Path, version: int) -> None:
        """The same version is the same entry: the same bytes and the same mtime."""
        path.write_text(f"{path.stem} = {version}\n")
        os.utime(path, ns=(version + 10, version + 10))

    if not start_empty:
        write(target, 0)
        write(other, 0)
    engine = engine_for(workspace, state_dir)

    checks = 0

    def check(expect_full: bool) -> None:
        nonlocal engine, checks
        checks += 1
        if restarts == "each time" or (restarts == "once" and checks == 3):
            engine.close("clean")
            engine = engine_for(workspace, state_dir)
        result = engine.checkpoint("scan").result()
        assert result.full is expect_full
        with connect(engine.db_path) as conn:
            manifest = cps.disk_manifest(conn, result.id)
            on_disk = {p.as_uri(): p.read_bytes() for p in workspace.iterdir()}
            assert set(manifest) == set(on_disk)
            for uri, data in on_disk.items():
                assert cps.file_at(conn, result.id, uri) == ("disk", data)
        assert result.files == len(on_disk)

    check(expect_full=True)
    write(target, 1)
    check(expect_full=False)
    write(other, 1)
    check(expect_full=False)
    write(target, 2)
    check(expect_full=False)
    write(target, 1)  # as in the first delta again
    check(expect_full=False)
    if start_empty:
        target.unlink()
    else:
        write(target, 0)  # as in the base again
    check(expect_full=False)
    other.unlink()
    check(expect_full=False)
    engine.close("clean")


def _changed_outside_the_editor(workspace: Path) -> None:
    (workspace / "conf.py").write_text("DEBUG = False  # rewritten by a script\n")
    (workspace / "new.py").write_text("created = True\n")
    (workspace / "pkg" / "m1.py").unlink()


def test_a_named_checkpoint_holds_what_is_on_disk_without_file_watchers(
    workspace: Path, state_dir: Path
) -> None:
    """Neovim on Linux sends no file events: the checkpoint must look at the tree itself."""
    _tree(workspace)
    (workspace / "conf.py").write_text("DEBUG = True\n")
    engine = engine_for(workspace, state_dir)
    assert engine.watching is False
    engine.checkpoint().result()
    _changed_outside_the_editor(workspace)
    named = engine.checkpoint("before refactor").result()
    with connect(engine.db_path) as conn:
        at = cps.file_at
        assert at(conn, named.id, (workspace / "conf.py").as_uri()) == (
            "disk",
            b"DEBUG = False  # rewritten by a script\n",
        )
        assert at(conn, named.id, (workspace / "new.py").as_uri()) == ("disk", b"created = True\n")
        assert (workspace / "pkg" / "m1.py").as_uri() not in cps.disk_manifest(conn, named.id)
    engine.close("clean")


@pytest.mark.usefixtures("settled")
def test_a_manual_checkpoint_stats_the_tree_even_when_watchers_may_have_missed_events(
    workspace: Path, state_dir: Path
) -> None:
    _tree(workspace)
    (workspace / "conf.py").write_text("DEBUG = True\n")
    engine = engine_for(workspace, state_dir)
    engine.watching = True
    engine.checkpoint().result()
    _changed_outside_the_editor(workspace)  # and no event reported
    automatic = engine.checkpoint(reason="interval").result()
    assert automatic.read_files == 0, "with watchers, automatic checkpoints trust the events"
    manual = engine.checkpoint("by hand").result()
    assert manual.read_files == 2
    with connect(engine.db_path) as conn:
        manifest = cps.disk_manifest(conn, manual.id)
    assert (workspace / "new.py").as_uri() in manifest
    assert (workspace / "pkg" / "m1.py").as_uri() not in manifest
    engine.close("clean")


def test_a_gitignore_changed_outside_the_editor_is_followed_by_the_next_scan(
    workspace: Path, state_dir: Path
) -> None:
    _tree(workspace)
    engine = engine_for(workspace, state_dir)
    first = engine.checkpoint().result()
    (workspace / ".gitignore").write_text("build/\n*.log\npkg/m2.py\n")
    os.utime(workspace / ".gitignore", ns=(5, 5))
    (workspace / "debug.log").rename(workspace / "debug.txt")
    second = engine.checkpoint("after the ignore rules changed").result()
    with connect(engine.db_path) as conn:
        before = {Path(u).name for u in cps.disk_manifest(conn, first.id)}
        after = {Path(u).name for u in cps.disk_manifest(conn, second.id)}
    assert "m2.py" in before and "m2.py" not in after
    assert "debug.txt" in after
    engine.close("clean")


def test_retention_in_another_window_never_breaks_the_base_a_live_session_builds_on(
    workspace: Path, state_dir: Path
) -> None:
    from shim_lsp.settings import Settings
    from shim_lsp.store import retention

    _tree(workspace)
    one = engine_for(workspace, state_dir)  # a client without watchers, like Neovim
    base = one.checkpoint().result()
    assert base.full
    other = engine_for(workspace, state_dir)
    with connect(one.db_path) as conn:  # both windows' checkpoints are hours old
        conn.execute("UPDATE checkpoints SET created_at = created_at - 7200")
    for i in range(80):  # enough change for the other window to start a base of its own
        (workspace / f"new{i}.py").write_text(f"n = {i}\n")
    assert other.checkpoint().result().full
    aggressive = Settings(keep_all_minutes=0, keep_hourly_hours=0, keep_daily_days=0)
    with connect(other.db_path) as conn:
        report = retention.apply(conn, aggressive)
        conn.commit()
    assert report.deleted_checkpoints >= 1
    for i in range(80):
        (workspace / f"new{i}.py").unlink()
    (workspace / "pkg" / "m3.py").write_text("value = 'changed'\n")
    after = one.checkpoint("after retention").result()
    unchanged = (workspace / "pkg" / "m4.py").as_uri()
    with connect(one.db_path) as conn:
        manifest = cps.disk_manifest(conn, after.id)
        assert len(manifest) == after.files
        assert cps.file_at(conn, after.id, unchanged) == ("disk", b"value = 4\n")
    for engine in (one, other):
        engine.close("clean")


def test_a_chats_first_checkpoint_is_labelled_and_kept_while_the_chat_runs(
    workspace: Path, state_dir: Path
) -> None:
    """Recovery measures what a chat changed from its first checkpoint: retention thinning it
    mid-chat would show a dead chat's changes against a later state, or none at all."""
    import time

    from shim_lsp.mcp.chat import Chat
    from shim_lsp.settings import Settings
    from shim_lsp.store import retention
    from shim_lsp.store.db import write_tx

    target = workspace / "a.py"
    target.write_text("A = 0\n")
    window = engine_for(workspace, state_dir)
    window.checkpoint().result()  # the full base the chat's checkpoints build on
    window.close("clean")
    chat = Chat(workspace, Settings(state_dir=str(state_dir)))
    start = chat.start().result()
    for i in (1, 2):  # the newer of these holds the hour's place
        target.write_text(f"A = {i}\n")
        chat.engine.files_changed([target])
        chat.checkpoint(None, "auto")
    hourly = Settings(keep_all_minutes=0, keep_hourly_hours=48)
    two_hours_later = time.time() + 2 * 3600

    def thin() -> list[int]:
        with connect(chat.engine.db_path) as conn, write_tx(conn):
            retention.apply(conn, hourly, now=two_hours_later)
            return [r.id for r in cps.list_for(conn, chat.engine.workspace.key)]

    try:
        with connect(chat.engine.db_path) as conn:
            row = cps.get(conn, start.id)
        assert row is not None and row.label == "chat start"
        assert start.id in thin(), "kept while the chat runs"
    finally:
        chat.close()
    assert start.id not in thin(), "after a clean end it ages like any other"
