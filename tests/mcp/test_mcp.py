"""SHIM's MCP face, driven by the MCP SDK's own stdio client against a real ``shim mcp``.

Each test starts few processes (CI time): one chat does everything a model would do in one
sitting, beside a real language server holding a file with unsaved edits.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
import pytest
from harness import Editors, journal_settled
from lsprotocol.types import DidCloseTextDocumentParams, TextDocumentIdentifier
from mcp.client.session import ClientRequestContext, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ErrorData, ListRootsResult, Root, TextContent, TextResourceContents
from pydantic import FileUrl
from redis_rig import RedisServer, coordinated

from shim_lsp.metrics import exporter

CORE = {
    "shim_auto_checkpoint",
    "shim_check_recovery",
    "shim_monitor_signals",
    "shim_session_status",
    "shim_force_checkpoint",
    "shim_clear_state",
}
CODEMODS = {"shim_list_codemods", "shim_run_codemod", "shim_undo_codemod", "shim_analyze"}
HISTORY = {
    "shim_list_checkpoints",
    "shim_file_history",
    "shim_diff_checkpoint",
    "shim_restore_checkpoint",
    "shim_dismiss_recovery",
}


@asynccontextmanager
async def chat(
    workspace: Path | None,
    state_dir: Path,
    *,
    module: bool = False,
    roots: list[Path] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    extra: list[str] | None = None,
) -> AsyncIterator[ClientSession]:
    """A ``shim mcp`` process (or ``python -m shim_lsp.mcp``) and the SDK's client on it,
    offering ``roots`` when given; the SDK's client ends the process when the block ends,
    failed or not."""
    shim = Path(sys.executable).with_name("shim")
    command, args = (sys.executable, ["-m", "shim_lsp.mcp"]) if module else (str(shim), ["mcp"])
    if workspace is not None:
        args += ["--workspace", str(workspace)]
    params = StdioServerParameters(
        command=command,
        args=[*args, "--state-dir", str(state_dir), *(extra or [])],
        cwd=cwd,
        env=env,
    )
    offered = None
    if roots is not None:

        async def offered(context: ClientRequestContext) -> ListRootsResult | ErrorData:
            return ListRootsResult(roots=[Root(uri=FileUrl(p.as_uri())) for p in roots])

    with open(state_dir.parent / "mcp-stderr.log", "a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (r, w),
            ClientSession(r, w, list_roots_callback=offered) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, name: str, args: dict[str, Any] | None = None) -> Any:
    result = await session.call_tool(name, args or {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    # Clients that read only text get the same JSON.
    (text,) = result.content
    assert isinstance(text, TextContent)
    assert json.loads(text.text) == result.structured_content
    return result.structured_content


def tool_calls(state_dir: Path) -> dict[str, float]:
    """MCP tool calls by outcome, as Prometheus would read them."""
    return {
        labels["outcome"]: v
        for name, labels, v in exporter.samples(state_dir / "metrics")
        if name == "shim_mcp_tool_calls_total"
    }


async def refused(session: ClientSession, name: str, args: dict[str, Any]) -> str:
    result = await session.call_tool(name, args)
    assert result.is_error
    (text,) = result.content
    assert isinstance(text, TextContent)
    return text.text


async def test_a_chat_uses_every_tool_and_bad_input_is_refused_without_harm(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("def greet():\n    return 'hi'\n\n\nA = '{}'.format(1)\n")
    (workspace / "util.py").write_text("X = 1\n")
    fmt = workspace / "fmt.py"
    fmt.write_text('name = "x"\nmsg = "hi {}".format(name)\n')
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    (workspace / "link.py").symlink_to(outside)
    window = await editors.start(workspace, state_dir)
    uri = window.open("app.py")
    window.type(uri, 1, 15, "  # typed, not saved")
    await journal_settled(window)

    async with chat(workspace, state_dir) as session:
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert set(listed) == CORE | HISTORY | CODEMODS
        for tool in listed.values():
            assert tool.description and len(tool.description) > 80, tool.name
            assert tool.input_schema["type"] == "object"
        auto = listed["shim_auto_checkpoint"].input_schema["properties"]
        assert auto["action"]["enum"] == ["on", "off", "report"]
        assert listed["shim_clear_state"].input_schema["properties"]["confirm"]["type"] == (
            "boolean"
        )

        status = await call(session, "shim_session_status")
        assert status["kind"] == "chat"
        assert [w["pid"] for w in status["editorWindows"]] == [window.pid]
        assert [f["path"] for f in status["filesWithUnsavedEdits"]] == ["app.py"]

        named = await call(session, "shim_force_checkpoint", {"label": "before the rewrite"})
        (workspace / "util.py").write_text("X = 2\n")
        (workspace / "added.py").write_text("Y = 1\n")  # a file made since: it differs too
        diff = await call(session, "shim_diff_checkpoint", {"checkpoint": named["id"]})
        assert [f["path"] for f in diff["files"]] == ["added.py", "util.py"]
        assert "+Y = 1" in diff["files"][0]["diff"]
        assert "-X = 1\n+X = 2" in diff["files"][1]["diff"]
        (workspace / "added.py").unlink()
        listing = await call(session, "shim_list_checkpoints", {"path": "util.py"})
        assert [c["reason"] for c in listing["checkpoints"]] == ["manual", "chat-start"]
        assert [c["label"] for c in listing["checkpoints"]] == ["before the rewrite", "chat start"]
        assert listing["checkpoints"][0]["id"] == named["id"]
        history = await call(session, "shim_file_history", {"path": "util.py"})
        versions = history["versions"]
        assert [v["label"] for v in versions] == ["before the rewrite", "chat start"]
        assert [v["differsFromOlder"] for v in versions] == [False, True]
        assert (versions[0]["size"], versions[0]["deleted"]) == (6, False)
        assert history["onDiskNow"] == {"exists": True, "size": 6, "sameAsNewest": False}
        resources = {str(r.uri) for r in (await session.list_resources()).resources}
        assert resources == {"shim://checkpoints", "shim://recovery"}
        (content,) = (await session.read_resource("shim://checkpoints")).contents
        assert isinstance(content, TextResourceContents)
        assert named["id"] in [c["id"] for c in json.loads(content.text)["checkpoints"]]

        # util.py changed since SHIM's last checkpoint: refused until told.
        restore = {"checkpoint": named["id"], "paths": ["util.py", "app.py"]}
        first = await call(session, "shim_restore_checkpoint", restore)
        assert first["restored"] == 0
        assert "changed on disk since" in first["files"][0]["refused"]
        assert "unsaved edits" in first["files"][1]["refused"]
        forced = await call(session, "shim_restore_checkpoint", {**restore, "force": True})
        assert [f.get("restored") for f in forced["files"]] == [True, None]
        assert (workspace / "util.py").read_text() == "X = 1\n"
        assert "typed, not saved" not in (workspace / "app.py").read_text()
        undo = await call(
            session, "shim_diff_checkpoint", {"checkpoint": forced["checkpointBeforeRestore"]}
        )
        assert "+X = 1" in undo["files"][0]["diff"]

        on = await call(session, "shim_auto_checkpoint", {"action": "on", "interval_seconds": 1})
        assert on["enabled"] and on["intervalSeconds"] == 1
        with anyio.fail_after(20):
            while (await call(session, "shim_auto_checkpoint"))["automaticCheckpointsTaken"] < 1:
                await anyio.sleep(0.2)
        assert not (await call(session, "shim_auto_checkpoint", {"action": "off"}))["enabled"]

        # A codemod: a dry run's diff, applied (not over the file a window holds unsaved),
        # then undone.
        names = [c["name"] for c in (await call(session, "shim_list_codemods"))["codemods"]]
        assert "to_fstring" in names and "rename_symbol" in names
        dry = await call(session, "shim_run_codemod", {"name": "to_fstring"})
        files = {f["path"]: f for f in dry["files"]}
        assert set(files) == {"app.py", "fmt.py"} and not dry["applied"]
        assert '-msg = "hi {}".format(name)\n+msg = f"hi {name}"' in files["fmt.py"]["diff"]
        assert fmt.read_text() == 'name = "x"\nmsg = "hi {}".format(name)\n'
        run = await call(session, "shim_run_codemod", {"name": "to_fstring", "apply": True})
        files = {f["path"]: f for f in run["files"]}
        assert files["fmt.py"]["status"] == "changed" and run["applied"]
        assert files["app.py"]["status"] == "skipped"
        assert "unsaved edits" in files["app.py"]["reason"]
        assert fmt.read_text() == 'name = "x"\nmsg = f"hi {name}"\n'
        assert "'{}'.format(1)" in (workspace / "app.py").read_text()
        back = await call(session, "shim_diff_checkpoint", {"checkpoint": run["checkpointBefore"]})
        assert [f["path"] for f in back["files"]] == ["fmt.py"]
        # Undo is refused for a file a window holds unsaved, and leaves it as it is; once
        # the window closes it without saving, the undo goes through.
        fmt_uri = window.open("fmt.py")
        window.type(fmt_uri, 0, 0, "# typed, not saved\n")
        await journal_settled(window)
        undo = await call(session, "shim_undo_codemod", {"batch": run["batch"]})
        assert undo["undone"] == [] and [r["path"] for r in undo["refused"]] == ["fmt.py"]
        assert undo["refused"][0]["reason"].startswith(HELD)
        assert fmt.read_text() == 'name = "x"\nmsg = f"hi {name}"\n'
        window.client.text_document_did_close(
            DidCloseTextDocumentParams(text_document=TextDocumentIdentifier(uri=fmt_uri))
        )
        await journal_settled(window)
        undo = await call(session, "shim_undo_codemod", {"batch": run["batch"]})
        assert undo["undone"] == ["fmt.py"] and undo["refused"] == []
        assert fmt.read_text() == 'name = "x"\nmsg = "hi {}".format(name)\n'
        text = await refused(session, "shim_undo_codemod", {"batch": run["batch"]})
        assert f"no codemod batch {run['batch']!r}" in text
        text = await refused(session, "shim_run_codemod", {"name": "rename_symbol"})
        assert "rename_symbol needs args.old_name" in text
        text = await refused(session, "shim_run_codemod", {"name": "nope"})
        assert "no codemod 'nope'; shim_list_codemods lists them" in text
        text = await refused(session, "shim_run_codemod", {"name": "to_fstring", "paths": [".."]})
        assert "outside the workspace" in text

        found = await call(session, "shim_analyze", {"select": ["F401", "UP"]})
        assert {(f["path"], f["code"], f["line"]) for f in found["findings"]} == {
            ("app.py", "UP032", 5),
            ("fmt.py", "UP032", 2),
        }
        one = await call(session, "shim_analyze", {"paths": ["fmt.py"], "select": ["UP032"]})
        assert [f["path"] for f in one["findings"]] == ["fmt.py"] and one["count"] == 1
        assert one["findings"][0]["fixable"] is True
        text = await refused(session, "shim_analyze", {"select": ["--config=x"]})
        assert "should match pattern" in text

        # Metrics count a tool's error answer as failed, never ok.
        calls = tool_calls(state_dir)
        signals = await call(session, "shim_monitor_signals")
        assert "Unknown tool: no_such_tool" in await refused(session, "no_such_tool", {})
        assert "greater than or equal to 1" in await refused(
            session, "shim_list_checkpoints", {"limit": 0}
        )
        now = tool_calls(state_dir)
        assert {k: now[k] - calls[k] for k in now} == {"ok": 1, "failed": 2}
        assert signals["level"] in ("low", "elevated", "high")
        assert {s["name"] for s in signals["signals"]} >= {"unsavedKb"}
        assert not (await call(session, "shim_check_recovery"))["found"]

        # Bad arguments and paths outside the workspace: tool errors, the server goes on.
        text = await refused(session, "shim_auto_checkpoint", {"action": "sometimes"})
        assert "'on', 'off' or 'report'" in text
        for path in ("../outside.py", str(outside), "link.py"):
            text = await refused(session, "shim_list_checkpoints", {"path": path})
            assert "outside the workspace" in text, text
            text = await refused(session, "shim_file_history", {"path": path})
            assert "outside the workspace" in text, text
        text = await refused(
            session, "shim_restore_checkpoint", {"checkpoint": named["id"], "paths": ["link.py"]}
        )
        assert "outside the workspace" in text
        assert outside.read_text() == "SECRET = 1\n"
        text = await refused(session, "shim_diff_checkpoint", {"checkpoint": 99999})
        assert "no checkpoint 99999 in this workspace" in text
        text = await refused(session, "shim_diff_checkpoint", {"checkpoint": 2**70})
        assert f"no checkpoint {2**70} in this workspace" in text
        assert "one line" in await refused(session, "shim_force_checkpoint", {"label": "a\nb"})
        # Said in words, not "Error executing tool": a NUL, a name too long, an empty path.
        text = await refused(session, "shim_file_history", {"path": "a\0b.py"})
        assert "holds a NUL character" in text
        text = await refused(
            session, "shim_run_codemod", {"name": "to_fstring", "paths": ["x" * 300]}
        )
        assert "File name too long" in text
        assert "the path is empty" in await refused(session, "shim_file_history", {"path": ""})
        # A boolean is a boolean for what destroys or writes; an argument a tool does not take
        # is refused, not dropped (a misspelt confirm must not run as if left out).
        text = await refused(session, "shim_analyze", {"paths": []})
        assert "paths is empty" in text
        args = {"action": "on", "interval_seconds": True}
        assert "interval_seconds" in await refused(session, "shim_auto_checkpoint", args)
        text = await refused(session, "shim_clear_state", {"confirm": "yes"})
        assert "confirm" in text and "boolean" in text
        text = await refused(session, "shim_clear_state", {"confirm": False, "confrim": True})
        assert "shim_clear_state takes no argument confrim (it takes: confirm)" in text
        text = await refused(
            session, "shim_run_codemod", {"name": "to_fstring", "paths": [], "apply": True}
        )
        assert "paths is empty" in text
        assert fmt.read_text() == 'name = "x"\nmsg = "hi {}".format(name)\n'
        # A read-only file is the user's word: a restore leaves it as it is.
        (workspace / "util.py").write_text("X = 3\n")
        (workspace / "util.py").chmod(0o444)
        kept_ro = await call(
            session,
            "shim_restore_checkpoint",
            {"checkpoint": named["id"], "paths": ["util.py"], "force": True},
        )
        assert "read-only" in kept_ro["files"][0]["refused"] and kept_ro["restored"] == 0
        assert (workspace / "util.py").read_text() == "X = 3\n"
        (workspace / "util.py").chmod(0o644)
        (workspace / "util.py").write_text("X = 1\n")

        kept = await call(session, "shim_clear_state")
        assert not kept["cleared"] and kept["runningSessionsKept"] == 1
        assert (await call(session, "shim_list_checkpoints"))["checkpoints"]
        cleared = await call(session, "shim_clear_state", {"confirm": True})
        assert cleared["cleared"] and cleared["checkpoints"] >= 3
        assert (workspace / "util.py").read_text() == "X = 1\n"
        status = await call(session, "shim_session_status")
        assert [f["path"] for f in status["filesWithUnsavedEdits"]] == ["app.py"]


async def test_a_killed_chat_leaves_its_changes_for_the_next_chat_to_find(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "models.py").write_text("class Foo:\n    pass\n")
    async with chat(workspace, state_dir, module=True) as first:
        await call(first, "shim_force_checkpoint")  # runs after the chat's first one
        status = await call(first, "shim_session_status")
        assert status["startCheckpoint"]["done"]
        pid = status["pid"]
        (workspace / "models.py").write_text("class Bar:\n    pass\n")
        (workspace / "new.py").write_text("from models import Bar\n")
        await call(first, "shim_force_checkpoint")
        os.kill(pid, signal.SIGKILL)

    # The shell sees it too.
    where = ["--json", "--workspace", str(workspace), "--state-dir", str(state_dir)]
    shim = str(Path(sys.executable).with_name("shim"))
    status = subprocess.run([shim, "status", *where], capture_output=True, text=True, check=True)
    assert json.loads(status.stdout)["unfinishedChats"] == 1
    recover = subprocess.run([shim, "recover", *where], capture_output=True, text=True, check=True)
    (dead,) = json.loads(recover.stdout)["unfinishedChats"]
    assert sorted(f["uri"].rsplit("/", 1)[1] for f in dead["files"]) == ["models.py", "new.py"]

    # So does an editor window opened on the workspace.
    window = await editors.start(workspace, state_dir)
    await window.wait_for(lambda: any("AI chat" in m for m in window.shown_messages))
    (told,) = [m for m in window.shown_messages if "AI chat" in m]
    assert "changed 2 file(s): models.py, new.py" in told
    assert f"checkpoint {dead['checkpointBefore']}" in told
    (seen,) = (await window.command("shim.checkRecovery"))["unfinishedChats"]
    assert seen["checkpointBefore"] == dead["checkpointBefore"]

    async with chat(workspace, state_dir) as second:
        found = await call(second, "shim_check_recovery")
        (killed,) = found["unfinishedChats"]
        assert killed["state"] == "crashed"
        files = {f["path"]: f for f in killed["files"]}
        assert files["models.py"]["change"] == "modified"
        assert "-class Foo:\n+class Bar:" in files["models.py"]["diff"]
        assert files["new.py"]["change"] == "created"
        assert found["unsavedWorkOfEditorWindows"] == []
        before = killed["checkpointBefore"]
        back = await call(
            second,
            "shim_restore_checkpoint",
            {"checkpoint": before, "paths": ["models.py"]},
        )
        assert back["restored"] == 1
        assert (workspace / "models.py").read_text() == "class Foo:\n    pass\n"

    # The second chat ended cleanly: a third one finds only the killed one.
    async with chat(workspace, state_dir) as third:
        found = await call(third, "shim_check_recovery")
        assert [c["session"] for c in found["unfinishedChats"]] == [killed["session"]]
        # Dismissed as the editor dismisses: no longer reported, no file touched.
        asked = await call(third, "shim_dismiss_recovery", {"session": killed["session"][:8]})
        assert not asked["dismissed"]
        assert [(s["session"], s["kind"]) for s in asked["sessions"]] == [
            (killed["session"], "chat")
        ]
        assert (await call(third, "shim_check_recovery"))["found"]
        done = await call(third, "shim_dismiss_recovery", {"confirm": True})
        assert done["dismissed"] and "no file was touched" in done["note"]
        assert not (await call(third, "shim_check_recovery"))["found"]
        assert (workspace / "new.py").read_text() == "from models import Bar\n"
        text = await refused(third, "shim_dismiss_recovery", {"session": "nosuchsession"})
        assert "no session starting with 'nosuchsession'" in text
    # What the dismissal's note promises: the work is still shown for that one session.
    shown = subprocess.run(
        [shim, "recover", *where, "--session", killed["session"][:12], "--print"],
        capture_output=True,
        text=True,
        check=True,
    )
    (kept,) = json.loads(shown.stdout)["unfinishedChats"]
    assert kept["session"] == killed["session"] and len(kept["files"]) == 2


async def test_a_chat_killed_after_a_codemod_leaves_the_run_to_find_and_undo(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    """The run's undo batch is kept before its first write: a chat killed before another
    checkpoint (or while writing) leaves a run the next chat reports and can take back."""
    for i in range(3):
        (workspace / f"m{i}.py").write_text(f'x = "{{}}".format({i})\n')
    async with chat(workspace, state_dir) as first:
        run = await call(first, "shim_run_codemod", {"name": "to_fstring", "apply": True})
        assert run["applied"]
        pid = (await call(first, "shim_session_status"))["pid"]
        os.kill(pid, signal.SIGKILL)
    (workspace / "m2.py").write_text('x = "{}".format(2)\n')  # as if never written

    async with chat(workspace, state_dir) as second:
        (dead,) = (await call(second, "shim_check_recovery"))["unfinishedChats"]
        assert dead["codemodRunsCutOff"] == [
            {"batch": run["batch"], "codemod": "to_fstring", "undo": "shim_undo_codemod"}
        ]
        assert sorted(f["path"] for f in dead["files"]) == ["m0.py", "m1.py"]
        # A write killed between staging and renaming leaves SHIM's temporary file: gone
        # with the undo. A read-only file keeps its undo until it is writable again.
        (workspace / ".m0.py.k3x9.shim-tmp").write_text("staged")
        (workspace / "m1.py").chmod(0o444)
        undo = await call(second, "shim_undo_codemod", {"batch": run["batch"]})
        assert undo["undone"] == ["m0.py"] and undo["tempFilesRemoved"] == [".m0.py.k3x9.shim-tmp"]
        assert [(r["path"], "read-only" in r["reason"]) for r in undo["refused"]] == [
            ("m1.py", True)
        ]
        (workspace / "m1.py").chmod(0o644)
        undo = await call(second, "shim_undo_codemod", {"batch": run["batch"]})
        assert undo["undone"] == ["m1.py"] and undo["refused"] == []
        # Undone, the dead chat left nothing: no longer reported.
        assert (await call(second, "shim_check_recovery"))["unfinishedChats"] == []
        for i in range(3):
            assert (workspace / f"m{i}.py").read_text() == f'x = "{{}}".format({i})\n'

        # The folder deleted under the chat: said, and nothing taken or written.
        gone = tmp_path / "gone"
        gone.mkdir()
        (gone / "a.py").write_text("A = 1\n")
    async with chat(gone, state_dir) as third:
        first_id = (await call(third, "shim_force_checkpoint"))["id"]
        for f in gone.iterdir():
            f.unlink()
        gone.rmdir()
        status = await call(third, "shim_session_status")
        assert status["workspaceExists"] is False
        text = await refused(third, "shim_force_checkpoint", {})
        assert f"the workspace folder {gone} no longer exists" in text
        text = await refused(
            third, "shim_restore_checkpoint", {"checkpoint": first_id, "paths": ["a.py"]}
        )
        assert "no longer exists" in text and not gone.exists()

    # --workspace naming / is refused as a root of / is: no tool serves, nothing is read.
    async with chat(Path("/"), state_dir) as fourth:
        text = await refused(fourth, "shim_session_status", {})
        assert "names /, not a project" in text
        text = await refused(fourth, "shim_force_checkpoint", {})
        assert "names /, not a project" in text

    # A store damaged under a running chat: a checkpoint it cannot read back is not a success.
    damaged = tmp_path / "state-damaged"
    async with chat(workspace, damaged) as fifth:
        await call(fifth, "shim_force_checkpoint", {"label": "keep me"})
        with closing(sqlite3.connect(damaged / "shim.db")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file itself
        with open(damaged / "shim.db", "r+b") as db:
            db.write(b"\xff" * 100)
        text = await refused(fifth, "shim_force_checkpoint", {})
        assert "SHIM's store cannot be read" in text or "could not be taken" in text, text
    # The next chat finds it damaged, moves it aside, and says so where a model looks.
    async with chat(workspace, damaged) as sixth:
        status = await call(sixth, "shim_session_status")
        (notice,) = status["notices"]
        assert "SHIM's store was damaged" in notice["message"]
        assert "moved aside to" in notice["message"]
        # SIGTERM while the client still holds stdin open: a clean end, at once.
        server = psutil.Process(status["pid"])
        os.kill(status["pid"], signal.SIGTERM)
        with anyio.fail_after(10):
            while server.is_running() and server.status() != psutil.STATUS_ZOMBIE:
                await anyio.sleep(0.05)
    where = ["--json", "--workspace", str(workspace), "--state-dir", str(damaged)]
    shim = str(Path(sys.executable).with_name("shim"))
    listed = subprocess.run([shim, "sessions", *where], capture_output=True, text=True, check=True)
    assert [(r["id"], r["state"]) for r in json.loads(listed.stdout)] == [
        (status["session"], "clean")
    ]


HELD = "an editor window holds this file with unsaved edits: ask the user to save or close it"


async def test_files_a_window_of_the_redis_group_holds_unsaved_are_listed_and_not_written(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    """A window as on another machine: in the workspace's Redis group, its journal in a store
    the chat does not read (another state folder), so only the group can tell. Redis paused
    (slow): the tools answer in bounded time and say so."""
    (workspace / "app.py").write_text("A = '{}'.format(1)\n")
    fmt = workspace / "fmt.py"
    fmt.write_text('msg = "hi {}".format(1)\n')
    window = await editors.start(
        workspace, tmp_path / "window-state", settings=coordinated(redis_server)
    )
    app = window.open("app.py")
    window.type(app, 0, 0, "# typed, not saved\n")
    env = {"SHIM_REDIS_URL": redis_server.url()}
    where = ["--workspace-id", "ws-test"]
    async with chat(workspace, tmp_path / "chat-state", env=env, extra=where) as session:

        async def held(count: int) -> dict[str, Any]:
            with anyio.fail_after(15):
                while True:
                    status = await call(session, "shim_session_status")
                    if len(status["filesWithUnsavedEdits"]) == count:
                        return dict(status)
                    await anyio.sleep(0.1)

        status = await held(1)
        (held_app,) = status["filesWithUnsavedEdits"]
        assert held_app["path"] == "app.py" and held_app["from"].startswith("the group: ")
        assert status["group"] == {"state": "connected", "workspaceId": "ws-test", "members": 1}
        assert status["editorWindows"] == [], "the chat's store knows no window"

        named = await call(session, "shim_force_checkpoint")
        restore = {"checkpoint": named["id"], "paths": ["app.py"]}
        (item,) = (await call(session, "shim_restore_checkpoint", restore))["files"]
        assert item["refused"].startswith(HELD)
        run = await call(session, "shim_run_codemod", {"name": "to_fstring", "apply": True})
        files = {f["path"]: f for f in run["files"]}
        assert files["app.py"]["status"] == "skipped" and files["app.py"]["reason"].startswith(HELD)
        assert files["fmt.py"]["status"] == "changed"
        assert (workspace / "app.py").read_text() == "A = '{}'.format(1)\n"
        assert fmt.read_text() == 'msg = f"hi {1}"\n'

        window.type(window.open("fmt.py"), 0, 0, "# mine\n")
        await held(2)
        undo = await call(session, "shim_undo_codemod", {"batch": run["batch"]})
        assert undo["undone"] == []
        assert [(r["path"], r["reason"][: len(HELD)]) for r in undo["refused"]] == [
            ("fmt.py", HELD)
        ]
        assert fmt.read_text() == 'msg = f"hi {1}"\n'

        redis_server.pause()
        try:
            started = time.monotonic()
            status = await call(session, "shim_session_status")
            waited = time.monotonic() - started
        finally:
            redis_server.resume()
        assert status["group"]["state"] == "unreachable"
        problem = status["group"]["problem"]
        assert problem.startswith(f"Redis at redis://127.0.0.1:{redis_server.port}/0 ")
        assert "on other machines are not known" in problem
        assert status["filesWithUnsavedEdits"] == []
        assert waited < 5, f"the status waited {waited:.1f} s on a paused Redis"


CLIENT = """
import subprocess, sys, time
server = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(server.pid, flush=True)
time.sleep(600)
"""


def test_a_chat_whose_client_dies_ends_client_gone_leaving_its_changes(
    workspace: Path, state_dir: Path
) -> None:
    """An MCP client killed mid-chat closes the server's stdin as a clean close would; the
    server tells them apart by its parent, checkpoints what the chat left, and ends
    ``client-gone`` so that its changes are shown."""
    (workspace / "a.py").write_text("A = 1\n")
    shim = str(Path(sys.executable).with_name("shim"))
    where = ["--workspace", str(workspace), "--state-dir", str(state_dir)]
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, shim, "mcp", *where], stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None
    server = psutil.Process(int(client.stdout.readline()))
    try:
        deadline = time.monotonic() + 30
        while not _chat_checkpoints(state_dir):
            assert time.monotonic() < deadline, "the chat's first checkpoint never came"
            time.sleep(0.1)
        (workspace / "a.py").write_text("A = 2\n")
        client.kill()
        client.wait()
        server.wait(timeout=30)
    finally:
        client.kill()
        if server.is_running():
            server.kill()
    out = subprocess.run([shim, "sessions", "--json", *where], capture_output=True, text=True)
    assert [s["state"] for s in json.loads(out.stdout) if s["kind"] == "chat"] == ["client-gone"]
    out = subprocess.run([shim, "recover", "--json", *where], capture_output=True, text=True)
    (left,) = json.loads(out.stdout)["unfinishedChats"]
    (changed,) = left["files"]
    assert (changed["before"], changed["after"]) == ("A = 1\n", "A = 2\n")


def test_a_client_that_leaves_while_a_codemod_works_leaves_an_unfinished_chat(
    workspace: Path, state_dir: Path
) -> None:
    """The client closes its end while shim_run_codemod works: it never hears what was
    written, so the chat ends client-gone (its changes, if any, for recovery), not clean."""
    for i in range(80):
        (workspace / f"m{i}.py").write_text(f'x = "{{}}".format({i})\n')
    shim = str(Path(sys.executable).with_name("shim"))
    where = ["--workspace", str(workspace), "--state-dir", str(state_dir)]
    server = subprocess.Popen(
        [shim, "mcp", *where],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdin is not None and server.stdout is not None

        def send(message: dict[str, Any]) -> None:
            assert server.stdin is not None
            server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
            server.stdin.flush()

        info = {"name": "test", "version": "1"}
        params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": info}
        send({"id": 1, "method": "initialize", "params": params})
        assert b'"id":1' in server.stdout.readline()
        send({"method": "notifications/initialized"})
        run = {"name": "to_fstring", "args": {}, "apply": True}
        send(
            {
                "id": 2,
                "method": "tools/call",
                "params": {"name": "shim_run_codemod", "arguments": run},
            }
        )
        deadline = time.monotonic() + 30
        while not psutil.Process(server.pid).children(recursive=True):
            assert time.monotonic() < deadline, "the codemod's workers never started"
            time.sleep(0.01)
        server.stdin.close()  # the client leaves mid-call
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    listed = subprocess.run(
        [shim, "sessions", "--json", *where], capture_output=True, text=True, check=True
    )
    (chat_row,) = json.loads(listed.stdout)
    assert chat_row["kind"] == "chat" and chat_row["state"] != "clean", chat_row


def _chat_checkpoints(state_dir: Path) -> int:
    if not (state_dir / "shim.db").exists():
        return 0
    with closing(sqlite3.connect(state_dir / "shim.db")) as conn:
        try:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM checkpoints c JOIN sessions s ON s.id = c.session_id"
                    " WHERE s.kind = 'chat'"
                ).fetchone()[0]
            )
        except sqlite3.OperationalError:  # the server is still creating the store's tables
            return 0


async def test_without_workspace_the_chat_works_in_the_clients_one_root_never_home(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    """MCP clients often start servers in the home folder (or /): the chat works in the
    client's root when it offers one; several roots leave it unsure, so nothing is written;
    none, from the home folder, leaves it no workspace at all (it would checkpoint all of it)."""
    home = tmp_path / "home"
    other = tmp_path / "other"
    home.mkdir()
    other.mkdir()
    (workspace / "a.py").write_text("A = 1\n")
    env = {"HOME": str(home)}

    async with chat(None, state_dir, cwd=home, env=env) as session:
        text = await refused(session, "shim_session_status", {})
        assert f"started in {home}, not a project, and the MCP client offers no root" in text
        assert "give --workspace" in text
    assert not state_dir.exists(), "nothing stored without a workspace"

    # The roots move during the chat: it follows them until it has written, then stays and
    # refuses to write until they come back.
    roots = [other]
    async with chat(None, state_dir, roots=roots, cwd=home, env=env) as session:

        async def moved(to: Path) -> dict[str, Any]:
            roots[:] = [to]
            with warnings.catch_warnings():  # deprecated in a protocol version to come
                warnings.simplefilter("ignore")
                await session.send_roots_list_changed()
            with anyio.fail_after(15):
                while True:
                    status = await call(session, "shim_session_status")
                    if status["workspace"] == str(to) or str(to) in (status["writesRefused"] or ""):
                        return dict(status)
                    await anyio.sleep(0.05)

        status = await call(session, "shim_session_status")
        assert (status["workspace"], status["workspaceFrom"]) == (str(other), "root")
        status = await moved(workspace)
        assert (status["workspace"], status["writesRefused"]) == (str(workspace), None)
        named = await call(session, "shim_force_checkpoint", {"label": "from the root"})
        listing = await call(session, "shim_list_checkpoints", {"path": "a.py"})
        assert [c["label"] for c in listing["checkpoints"]] == ["from the root", "chat start"]
        assert listing["checkpoints"][0]["id"] == named["id"]
        status = await moved(other)
        assert status["workspace"] == str(workspace)
        text = await refused(session, "shim_force_checkpoint", {})
        assert f"roots moved to {other}, but this chat has written in {workspace}" in text
        assert await call(session, "shim_list_checkpoints", {"path": "a.py"})
        status = await moved(workspace)
        assert status["writesRefused"] is None
        await call(session, "shim_force_checkpoint", {})

    async with chat(None, state_dir, roots=[workspace, other], cwd=workspace) as session:
        status = await call(session, "shim_session_status")
        assert status["workspace"] == str(workspace)
        text = await refused(session, "shim_force_checkpoint", {"label": "which one?"})
        assert "offers 2 roots" in text and "--workspace" in text
        assert "offers 2 roots" in status["writesRefused"]

    # A root that is no folder here: the folder the server started in is not what was meant.
    async with chat(None, state_dir, roots=[tmp_path / "nowhere"], cwd=workspace) as session:
        status = await call(session, "shim_session_status")
        assert status["rootsIgnored"] == [f"{(tmp_path / 'nowhere').as_uri()}: no such folder"]
        text = await refused(session, "shim_force_checkpoint", {})
        assert "the MCP client's roots are no local folder" in text


async def test_shim_mcp_serves_streamable_http_on_loopback_only(
    workspace: Path, state_dir: Path
) -> None:
    """``shim mcp --http``: a port the system picks, its URL on stderr; the SDK's streamable
    HTTP client lists the tools and calls one; a request naming another host (DNS
    rebinding) is refused; SIGTERM ends the chat cleanly."""
    shim = str(Path(sys.executable).with_name("shim"))
    server = subprocess.Popen(
        [shim, "mcp", "--http", "--workspace", str(workspace), "--state-dir", str(state_dir)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    try:
        with anyio.fail_after(30):
            line = ""
            while "streamable HTTP at " not in line:
                line = await anyio.to_thread.run_sync(server.stderr.readline)
                assert line, "shim mcp --http ended without saying where it listens"
        url = line.split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            assert "shim_session_status" in {t.name for t in (await session.list_tools()).tools}
            status = await call(session, "shim_session_status")
            assert (status["workspace"], status["kind"]) == (str(workspace), "chat")
        async with httpx2.AsyncClient() as http:
            answer = await http.post(url, headers={"Host": "shim.example:80"}, json={})
        assert answer.status_code == 421
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode == 0
    out = subprocess.run(
        [shim, "sessions", "--json", "--workspace", str(workspace), "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
    )
    assert [s["state"] for s in json.loads(out.stdout)] == ["clean"]


async def test_shim_analyze_names_links_leading_nowhere_as_shim_analyze_does(
    workspace: Path, state_dir: Path
) -> None:
    """The tool's ``notAnalysed`` has the words ``shim analyze`` prints, paths as the chat
    sees them; ruff's I/O error is no finding."""
    (workspace / "a.py").write_text("import os\n")
    (workspace / "gone.py").symlink_to(workspace / "missing.py")
    (workspace / "loop.py").symlink_to(workspace / "loop.py")
    async with chat(workspace, state_dir) as session:
        found = await call(session, "shim_analyze")
        named = await call(session, "shim_analyze", {"paths": ["gone.py"]})
    assert [(f["path"], f["code"]) for f in found["findings"]] == [("a.py", "F401")]
    gone = (
        f"gone.py was not analysed: it is a link to {workspace / 'missing.py'}, which does"
        " not exist"
    )
    assert found["notAnalysed"] == [
        gone,
        "loop.py was not analysed: it is a link that leads round in a loop, to no file",
    ]
    assert named == {"findings": [], "count": 0, "files": 0, "notAnalysed": [gone]}, named


async def test_shim_analyze_says_what_it_withholds_or_cannot_reach_never_fails_on_it(
    workspace: Path, state_dir: Path
) -> None:
    """A secret file's findings quote the code: withheld, and said in ``notShown`` with the
    words ``shim analyze`` prints. A path named that SHIM cannot reach (a folder on the way
    that loops) or a FIFO ruff would wait on for ever is a line of ``notAnalysed``, never a
    failed call; the rest is analysed."""
    (workspace / "a.py").write_text("import os\n")
    (workspace / "id_rsa_tool.py").write_text("KEY = hunter9_value\n")
    (workspace / "loop").symlink_to(workspace / "loop")
    os.mkfifo(workspace / "pipe.py")
    async with chat(workspace, state_dir) as session:
        with anyio.fail_after(60):
            found = await call(session, "shim_analyze", {"paths": ["a.py", "id_rsa_tool.py"]})
            named = await call(session, "shim_analyze", {"paths": ["loop/x.py", "pipe.py"]})
    assert [(f["path"], f["code"]) for f in found["findings"]] == [("a.py", "F401")]
    assert "hunter9" not in json.dumps(found)
    assert found["notShown"] == [
        "id_rsa_tool.py: 1 finding not shown: its name marks it as a secret file (.env,"
        " id_rsa*, *.pem...)"
    ]
    assert "notAnalysed" not in found, found
    assert named["findings"] == [] and len(named["notAnalysed"]) == 2, named
    assert named["notAnalysed"][0].startswith("loop/x.py was not analysed: "), named
    assert named["notAnalysed"][1] == "left out: pipe.py is not a regular file (a FIFO)", named


async def test_shim_analyze_judges_a_file_whose_name_is_not_utf8_by_what_it_is(
    workspace: Path, state_dir: Path
) -> None:
    """Ruff names a file whose name is not UTF-8 with U+FFFD for each such byte: the tool
    judges the real file (a link to a secret is one), never a name that is no file."""
    (workspace / "id_rsa_z.py").write_text("print(hunter2_SECRETNAME)\n")
    os.symlink("id_rsa_z.py", os.path.join(os.fsencode(workspace), b"l\xff.py"))
    with open(os.path.join(os.fsencode(workspace), b"plain\xfe.py"), "wb") as plain:
        plain.write(b"import os\n")
    async with chat(workspace, state_dir) as session:
        with anyio.fail_after(60):
            found = await call(session, "shim_analyze")
    assert "hunter2" not in json.dumps(found), found
    assert [(f["path"], f["code"]) for f in found["findings"]] == [("plain\ufffd.py", "F401")]
    why = "1 finding not shown: its name marks it as a secret file (.env, id_rsa*, *.pem...)"
    assert found["notShown"] == [f"id_rsa_z.py: {why}", f"l\ufffd.py: {why}"], found


async def test_shim_analyze_shows_no_findings_of_names_ruff_gives_alike(
    workspace: Path, state_dir: Path
) -> None:
    """Tryout 12d, defect 1: the secret's findings (through ``l\\377.py``) were given as the
    real ``l\ufffd.py``'s. None is now; each is a ``notAnalysed`` line."""
    from test_cli_analyze import look_alike

    look_alike(workspace)
    async with chat(workspace, state_dir) as session:
        with anyio.fail_after(60):
            found = await call(session, "shim_analyze")
    assert "SECRETSTRING" not in json.dumps(found), found
    assert found["findings"] == [] and len(found["notAnalysed"]) == 2, found


@pytest.mark.parametrize("kind", ["link leading out", "FIFO"])
async def test_shim_analyze_leaves_out_a_name_not_in_utf8_and_analyses_the_rest(
    workspace: Path, state_dir: Path, tmp_path: Path, kind: str
) -> None:
    """Tryout 12c, defect 4: the tool failed with ruff's "invalid UTF-8 was detected in one
    or more arguments" for a whole workspace holding ``o\\377.py`` that ruff must not read.
    Now the rest is analysed, and what is left out is said as the chat sees paths."""
    (workspace / "a.py").write_text("import os\n")
    from test_cli_analyze import not_for_ruff

    not_for_ruff(workspace, tmp_path, kind)
    async with chat(workspace, state_dir) as session:
        with anyio.fail_after(60):
            found = await call(session, "shim_analyze", {"select": ["F"]})
    assert [(f["path"], f["code"]) for f in found["findings"]] == [("a.py", "F401")], found
    if kind == "FIFO":
        assert found["notAnalysed"] == ["left out: o\ufffd.py is not a regular file (a FIFO)"]
    else:
        assert "notAnalysed" not in found, found
    assert "hunter2" not in json.dumps(found)
