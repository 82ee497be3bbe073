from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from helpers import engine_for
from lsprotocol import types as t

from shim_lsp.journal.records import from_lsp_change
from shim_lsp.journal.replay import dirty_open_uris, history, rebuild
from shim_lsp.store.db import connect


def _insert(line: int, char: int, text: str) -> list[int | str]:
    pos = t.Position(line=line, character=char)
    return from_lsp_change(
        t.TextDocumentContentChangePartial(range=t.Range(start=pos, end=pos), text=text)
    )


def test_group_commit_makes_changes_durable_and_replayable(
    workspace: Path, state_dir: Path
) -> None:
    (workspace / "a.py").write_text("")
    uri = (workspace / "a.py").as_uri()
    engine = engine_for(workspace, state_dir)
    engine.did_open(uri, "", 1)
    for i, ch in enumerate("x = '😀'\n"):
        engine.did_change(
            uri, i + 2, [_insert(0, len("x = '😀'\n"[:i].encode("utf-16-le")) // 2, ch)], i + 1
        )
    assert engine.writer.flush()
    with connect(engine.db_path) as conn:
        state = rebuild(conn, engine.info.id, uri)
    assert state is not None and state.text == "x = '😀'\n" and state.dirty
    engine.close("clean")


def test_any_journaled_instant_can_be_rebuilt(workspace: Path, state_dir: Path) -> None:
    uri = (workspace / "a.py").as_uri()
    engine = engine_for(workspace, state_dir)
    engine.did_open(uri, "", 1)
    for i, word in enumerate(["one\n", "two\n", "three\n"]):
        engine.did_change(uri, i + 2, [_insert(i, 0, word)], 10)
    engine.close("clean")
    with connect(engine.db_path) as conn:
        instants = history(conn, engine.info.id, uri)
        texts = [rebuild(conn, engine.info.id, uri, lseq) for lseq, _kind, _ts in instants]
    assert [s.text for s in texts if s] == ["", "one\n", "one\ntwo\n", "one\ntwo\nthree\n"]


def test_unwritable_store_keeps_edits_in_memory_until_it_can_write(
    workspace: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the state folder should be")
    problems: list[str] = []
    engine = engine_for(workspace, blocked / "state")
    engine.writer._on_problem = problems.append
    uri = (workspace / "a.py").as_uri()
    engine.did_open(uri, "kept = 1\n", 1)
    engine.did_change(uri, 2, [_insert(1, 0, "also_kept = 2\n")], 20)
    assert not engine.writer.wait_ready(1.0)
    assert engine.writer.status().pending == 2
    assert engine.writer.status().error is not None

    blocked.unlink()
    deadline = time.monotonic() + 10
    while engine.writer.status().pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.writer.status().pending == 0
    with connect(engine.db_path) as conn:
        state = rebuild(conn, engine.info.id, uri)
    assert state is not None and state.text == "kept = 1\nalso_kept = 2\n"
    engine.close("clean")


def test_full_disk_on_commit_keeps_edits_until_space_returns(
    workspace: Path, state_dir: Path
) -> None:
    uri = (workspace / "a.py").as_uri()
    engine = engine_for(workspace, state_dir)
    problems: list[str] = []
    engine.writer._on_problem = problems.append
    assert engine.writer.wait_ready()
    conn = engine.writer._conn
    assert conn is not None
    # SQLite's own "database or disk is full", by capping the file at its current size.
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    engine.writer.submit(lambda c: c.execute(f"PRAGMA max_page_count={pages}")).result()
    engine.did_open(uri, "x" * 200_000, 1)
    deadline = time.monotonic() + 10
    while not problems and time.monotonic() < deadline:
        time.sleep(0.05)
    assert problems and "full" in problems[0]
    assert engine.writer.status().pending == 1

    assert conn.execute("PRAGMA max_page_count=1000000").fetchone()[0] == 1000000
    while engine.writer.status().pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.writer.status().pending == 0
    assert "nothing was lost" in problems[-1]
    engine.close("clean")
    with connect(engine.db_path) as reader:
        state = rebuild(reader, engine.info.id, uri)
    assert state is not None and state.text == "x" * 200_000


def test_a_clean_end_with_unsaved_buffers_keeps_its_journal_until_resolved(
    workspace: Path, state_dir: Path
) -> None:
    from shim_lsp.store.retention import prune_journal

    saved_uri = (workspace / "saved.py").as_uri()
    (workspace / "saved.py").write_text("")
    done = engine_for(workspace, state_dir)
    done.did_open(saved_uri, "", 1)
    done.did_change(saved_uri, 2, [_insert(0, 0, "x")], 1)
    done.did_save(saved_uri)
    done.close("clean")

    unsaved_uri = (workspace / "unsaved.py").as_uri()
    left = engine_for(workspace, state_dir)
    left.did_open(unsaved_uri, "", 1)
    left.did_change(unsaved_uri, 2, [_insert(0, 0, "never saved")], 1)
    left.close("clean")

    with connect(done.db_path) as conn:
        resolved = dict(conn.execute("SELECT id, resolution FROM sessions").fetchall())
        prune_journal(conn, older_than=time.time() + 1)
        kept = {r[0] for r in conn.execute("SELECT DISTINCT session_id FROM journal")}
        state = rebuild(conn, left.info.id, unsaved_uri)
    assert resolved == {done.info.id: "nothing-unsaved", left.info.id: None}
    assert kept == {left.info.id}, "only the journal with work to bring back is kept"
    assert state is not None and state.text == "never saved" and state.dirty


def test_a_buffer_that_opens_with_text_not_on_disk_is_unsaved_from_the_start(
    workspace: Path, state_dir: Path
) -> None:
    """The editor restored it from its own backup, or handed it to a restarted server."""
    (workspace / "same.py").write_bytes(b"\xef\xbb\xbfa = 1\r\n")
    (workspace / "restored.py").write_text("a = 1\n")
    same, restored = (workspace / "same.py").as_uri(), (workspace / "restored.py").as_uri()
    engine = engine_for(workspace, state_dir)
    engine.did_open(same, "a = 1\r\n", 1)  # the file's text, BOM dropped as editors do
    engine.did_open(restored, "a = 1\nb = 'from a backup'\n", 1)
    engine.did_open("untitled:Untitled-1", "notes", 1)
    engine.did_open("untitled:Untitled-2", "", 1)
    assert engine.buffers.unsaved().documents == 2, "the restored file and the untitled notes"
    assert engine.writer.flush()
    with connect(engine.db_path) as conn:
        states = {u: rebuild(conn, engine.info.id, u) for u in (same, restored)}
    same_state, restored_state = states[same], states[restored]
    assert same_state is not None and not same_state.dirty
    assert restored_state is not None and restored_state.dirty
    engine.close("clean")
    with connect(engine.db_path) as conn:
        (resolution,) = conn.execute(
            "SELECT resolution FROM sessions WHERE id=?", (engine.info.id,)
        ).fetchone()
    assert resolution is None, "a clean end holding that text is not settled"


def test_an_end_holding_unsaved_buffers_journals_their_text_so_nothing_is_replayed(
    workspace: Path, state_dir: Path
) -> None:
    uri = (workspace / "typing.py").as_uri()
    final = "".join(f"line_{i} = {i}\n" for i in range(200))
    engine = engine_for(workspace, state_dir, texts={uri: final})
    engine.did_open(uri, "", 1)
    for i in range(200):
        engine.did_change(uri, i + 2, [_insert(i, 0, f"line_{i} = {i}\n")], 1)
    engine.close("client-gone")
    with connect(engine.db_path) as conn:
        (last_kind,) = conn.execute(
            "SELECT kind FROM journal WHERE session_id=? ORDER BY lseq DESC LIMIT 1",
            (engine.info.id,),
        ).fetchone()
        state = rebuild(conn, engine.info.id, uri)
    assert last_kind == "snapshot", "the full text is the last record"
    assert state is not None and state.text == final and state.dirty


def test_any_end_with_nothing_unsaved_is_settled_at_once(workspace: Path, state_dir: Path) -> None:
    ended = {}
    for reason in ("clean", "client-gone", "terminated"):
        engine = engine_for(workspace, state_dir)
        engine.did_open((workspace / f"{reason}.py").as_uri(), "", 1)
        engine.close(reason)
        ended[engine.info.id] = reason
    with connect(engine.db_path) as conn:
        rows = conn.execute("SELECT id, end_reason, resolution FROM sessions").fetchall()
    assert {(ended[i], r, res) for i, r, res in rows} == {
        (reason, reason, "nothing-unsaved") for reason in ended.values()
    }


def test_the_dirty_open_documents_query_agrees_with_a_replay(
    workspace: Path, state_dir: Path
) -> None:
    """``dirty_open_uris`` (MCP's list of files editors hold unsaved) says what ``rebuild``
    says, for a buffer typed in, one saved, one closed unsaved, one opened with unsaved text."""
    names = ["typed.py", "saved.py", "closed.py", "restored.py", "untouched.py"]
    for name in names:
        (workspace / name).write_text("a = 1\n")
    uris = {name: (workspace / name).as_uri() for name in names}
    engine = engine_for(workspace, state_dir)
    for name, uri in uris.items():
        engine.did_open(uri, "b = 2\n" if name == "restored.py" else "a = 1\n", 1)
    for name in ("typed.py", "saved.py", "closed.py"):
        engine.did_change(uris[name], 2, [_insert(0, 0, "# x\n")], 10)
    engine.did_save(uris["saved.py"])
    engine.did_close(uris["closed.py"])
    assert engine.writer.flush()
    with connect(engine.db_path) as conn:
        quick = {uri for uri, _ts in dirty_open_uris(conn, engine.info.id)}
        replayed = {
            uri
            for uri in uris.values()
            if (s := rebuild(conn, engine.info.id, uri)) is not None and s.open and s.dirty
        }
    assert quick == replayed == {uris["typed.py"], uris["restored.py"]}
    engine.close("clean")


def test_a_second_close_waits_for_the_first_to_finish_its_flush(
    workspace: Path, state_dir: Path
) -> None:
    """The EOF watchdog closes the engine from its own thread and then ends the process: if
    the loop's close is still flushing, the watchdog's close must wait for it, or the process
    ends with the last edits unwritten."""
    engine = engine_for(workspace, state_dir)
    writer_close = engine.writer.close
    flushing = threading.Event()

    def slow_close(*args: Any, **kwargs: Any) -> bool:
        flushing.set()
        time.sleep(0.5)
        return writer_close(*args, **kwargs)

    engine.writer.close = slow_close  # type: ignore[method-assign]
    first = threading.Thread(target=engine.close, args=("client-gone",))
    first.start()
    assert flushing.wait(5)
    assert engine.close("client-gone") is True
    assert not first.is_alive()  # the second close returned only once the first was done
    first.join()
