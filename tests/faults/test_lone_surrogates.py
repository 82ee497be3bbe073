"""A lone surrogate ("\\ud83d" is valid JSON) must not blind the journal or the checkpoints."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness import Editors, journal_settled, kill_and_restore_all, stop_editor

from shim_lsp.journal.records import Record
from shim_lsp.journal.replay import rebuild
from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.store.db import DB_NAME, connect

LONE = "\ud83d"


async def test_typed_lone_surrogate_is_journaled_and_recovered(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    uri = first.open("a.py")
    first.type(uri, 1, 0, f"s = '{LONE}'\n")
    first.type(uri, 2, 0, "after = 2\n")
    checkpoint = await first.command("shim.forceCheckpoint", {"label": "with a lone surrogate"})
    compared = await first.command(
        "shim.compareWithCheckpoint", {"checkpoint": checkpoint["id"], "uri": uri}
    )
    assert compared["text"] == first.docs[uri].source
    first.type(uri, 3, 0, "later = 3\n")
    await journal_settled(first)
    status = await first.command("shim.sessionStatus")
    assert status["storeError"] is None
    assert not [m.message for m in first.client.messages if "stopped" in m.message]
    await kill_and_restore_all(first, editors, workspace, state_dir, uri)


async def test_untitled_uri_with_lone_surrogate_leaves_checkpoints_working(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    untitled = editor.open("", "draft\n", uri=f"untitled:Untitled-{LONE}")
    editor.type(untitled, 1, 0, "more draft\n")
    first = await editor.command("shim.forceCheckpoint", {"label": "one"})
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "b = 2\n")
    second = await editor.command("shim.forceCheckpoint", {"label": "two"})
    assert second["id"] > first["id"]
    await journal_settled(editor)
    status = await editor.command("shim.sessionStatus")
    assert status["storeError"] is None
    with connect(state_dir / DB_NAME) as conn:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM journal ORDER BY seq")]
    assert kinds.count("change") == 2
    await stop_editor(editor)


def test_writer_survives_any_record_and_reads_back_what_it_stored(state_dir: Path) -> None:
    problems: list[str] = []
    session = SessionInfo("s1", "ws", ["/ws"], "host", 1, None, None, "utf-16", time.time())
    writer = JournalWriter(state_dir, session, on_problem=problems.append)
    writer.start()
    now = time.time()
    writer.append(Record(1, "untitled:one", "open", 1, now, f"x{LONE}y\n"))
    writer.append(Record(2, f"untitled:{LONE}", "open", 1, now, "z"))
    writer.append(Record(3, "untitled:one", "change", 2, now, f'[[0,0,0,0,"{LONE}"]]'))
    assert writer.flush()
    writer.append(Record(4, "untitled:one", "change", 3, now, '[[1,0,1,0,"ok\\n"]]'))
    assert writer.flush()
    assert writer.close("clean")
    assert problems == []
    with connect(state_dir / DB_NAME) as conn:
        state = rebuild(conn, "s1", "untitled:one")
        uris = {r[0] for r in conn.execute("SELECT uri FROM journal")}
    assert state is not None and state.text == f"{LONE}x{LONE}y\nok\n"
    assert len(uris) == 2


def test_writer_rejects_an_unstorable_record_says_so_and_carries_on(state_dir: Path) -> None:
    problems: list[str] = []
    session = SessionInfo("s1", "ws", ["/ws"], "host", 1, None, None, "utf-16", time.time())
    writer = JournalWriter(state_dir, session, on_problem=problems.append)
    writer.start()
    now = time.time()
    writer.append(Record(1, "untitled:one", "open", 1, now, "a\n"))
    writer.append(Record(2, "untitled:one", "change", 10**30, now, '[[1,0,1,0,"lost"]]'))
    writer.append(Record(3, "untitled:one", "change", 3, now, '[[1,0,1,0,"b\\n"]]'))
    writer.flush()
    writer.append(Record(4, "untitled:one", "change", 4, now, '[[2,0,2,0,"c\\n"]]'))
    assert writer.flush()
    assert writer.status().error is None
    assert writer.close("clean")
    assert len(problems) == 1 and "untitled:one" in problems[0] and "left out" in problems[0]
    with connect(state_dir / DB_NAME) as conn:
        state = rebuild(conn, "s1", "untitled:one")
    assert state is not None and state.text == "a\nb\nc\n"


async def test_a_workspace_folder_whose_name_is_not_utf8_is_journaled_and_recovered(
    tmp_path: Path, state_dir: Path, editors: Editors
) -> None:
    """Tryout 12e: with ``r\\377oot`` as its folder the store failed at once (the session's
    folders, a lone surrogate to Python, are no text SQLite takes): nothing journaled, no
    checkpoint. Stored as its URI, the folder's work is kept, found after a kill, restored;
    ``shim.sessionStatus`` names it in valid Unicode."""
    root = tmp_path / os.fsdecode(b"r\xffoot")
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    first = await editors.start(root, state_dir)
    uri = first.open("a.py")
    first.type(uri, 1, 0, "typed = 'kept'\n")
    checkpoint = await first.command("shim.forceCheckpoint", {"label": "odd folder"})
    assert checkpoint["files"] == 1, checkpoint
    first.type(uri, 2, 0, "later = 'kept too'\n")
    await journal_settled(first)
    status = await first.command("shim.sessionStatus")
    assert status["storeError"] is None and status["folders"] == [str(tmp_path / "r\ufffdoot")]
    await kill_and_restore_all(first, editors, root, state_dir, uri)
