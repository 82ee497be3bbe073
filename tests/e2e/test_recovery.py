"""Crash, restart, recover: the main job, through the real server over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import (
    CAPABILITIES,
    NEOVIM_07,
    Editors,
    crash_after_typing,
    journal_settled,
    stop_editor,
    two_windows_crash,
)
from lsprotocol import types as t

from shim_lsp.metrics import exporter
from shim_lsp.server.main import EOF_GRACE_S

# CRLF line endings, a UTF-8 BOM on disk, and characters outside the BMP (two UTF-16 units).
ORIGINAL = "\ufeffdef greet():\r\n    return 'hi'\r\n"


def recoveries(state_dir: Path) -> dict[str, float]:
    """shim_recoveries_total by outcome, as the exporter serves it."""
    found: dict[str, float] = exporter.families(state_dir / "metrics")["shim_recoveries_total"]
    return found


async def test_sigkill_mid_edit_brings_unsaved_text_back_byte_for_byte(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "app.py").write_bytes(ORIGINAL.encode("utf-8"))
    first = await editors.start(workspace, state_dir)
    uri = first.open("app.py")
    first.type(uri, 1, 15, "  # 🐍 snake")
    await first.command("shim.forceCheckpoint", {"label": "before more typing"})
    first.type(uri, 2, 0, "\r\ndef bye():\r\n    return '👋'\r\n")
    first.type(uri, 0, 4, "x")
    await journal_settled(first)
    expected = first.docs[uri].source
    first.kill()
    await first.client.stop()

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: bool(second.edits))
    assert "1 file(s)" in second.prompts[0]
    assert second.docs[uri].source == expected
    assert (workspace / "app.py").read_bytes() == ORIGINAL.encode("utf-8"), "disk untouched"
    for _ in range(100):  # the prompt's flow records the restore just after the edit
        recovery = await second.command("shim.checkRecovery")
        if recovery["files"] == 0:
            break
        await asyncio.sleep(0.05)
    assert recovery["files"] == 0, "restored work is not offered again"
    await stop_editor(second)


async def test_clean_shutdown_with_everything_saved_leaves_no_recovery_prompt(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    uri = first.open("a.py")
    first.type(uri, 1, 0, "b = 2\n")
    first.save(uri)
    await stop_editor(first)

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    recovery = await second.command("shim.checkRecovery")
    assert recovery == {"files": 0, "offered": [], "sessions": [], "unfinishedChats": []}
    assert second.prompts == []
    await stop_editor(second)


async def test_window_closed_without_saving_offers_the_unsaved_work_next_time(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """A reload or close that drops unsaved buffers is a clean LSP shutdown, but the text is
    gone from the editor: SHIM offers it back, as after a crash."""
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    uri = first.open("a.py")
    first.type(uri, 1, 0, "b = 'never saved'\n")
    typed = first.docs[uri].source
    await stop_editor(first)

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: bool(second.edits))
    assert "1 file(s)" in second.prompts[0] and "a.py" in second.prompts[0]
    assert second.docs[uri].source == typed
    assert (workspace / "a.py").read_text() == "a = 1\n", "disk untouched"
    await stop_editor(second)


async def test_dead_client_process_ends_session_without_losing_edits(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    fake_editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        first = await editors.start(workspace, state_dir, process_id=fake_editor.pid)
        uri = first.open("a.py")
        first.type(uri, 1, 0, "typed_before_editor_died = True\n")
        await journal_settled(first)
        fake_editor.kill()
        fake_editor.wait()
        server = first.client._server
        assert server is not None
        await asyncio.wait_for(server.wait(), 15)
        await first.client.stop()
    finally:
        fake_editor.kill()

    second = await editors.start(workspace, state_dir)
    recovery = await second.command("shim.checkRecovery")
    assert recovery["sessions"][0]["state"] == "client-gone"
    assert recovery["files"] == 1
    await stop_editor(second)


async def test_two_windows_on_one_workspace_do_not_take_each_other_for_crashed(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    (workspace / "b.py").write_text("b = 1\n")
    one = await editors.start(workspace, state_dir, answers=["Restore all"])
    one.type(one.open("a.py"), 0, 0, "# unsaved in window one\n")
    await journal_settled(one)
    two = await editors.start(workspace, state_dir, answers=["Restore all"])
    two.type(two.open("b.py"), 0, 0, "# unsaved in window two\n")
    results = await asyncio.gather(
        one.command("shim.forceCheckpoint", {"label": "one"}),
        two.command("shim.forceCheckpoint", {"label": "two"}),
    )
    assert {r["label"] for r in results} == {"one", "two"}
    assert (await two.command("shim.checkRecovery"))["files"] == 0
    assert (await one.command("shim.checkRecovery"))["files"] == 0
    assert one.prompts == [] and two.prompts == []
    await stop_editor(one)
    await stop_editor(two)


async def test_file_changed_on_disk_since_crash_is_never_overwritten_silently(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    await crash_after_typing(workspace, state_dir, "a.py", "unsaved = 1\n")
    (workspace / "a.py").write_text("a = 'changed by git checkout'\n")

    second = await editors.start(
        workspace, state_dir, answers=["Restore all", "Keep the file on disk"]
    )
    await second.wait_for(lambda: len(second.prompts) == 2)
    assert "changed on disk" in second.prompts[1]
    assert second.edits == []
    recovery = await second.command("shim.checkRecovery")
    assert recovery["files"] == 1, "the recovered text stays available"
    assert recovery["sessions"][0]["files"][0]["diskChanged"] is True
    # Offered again (the prompt asked for): the metrics count that crashed work offered once.
    await second.command("shim.checkRecovery", {"prompt": True})
    assert len(second.prompts) == 3
    assert recoveries(state_dir)["outcome=offered"] == 1
    await stop_editor(second)


async def test_dismissed_work_is_not_offered_again_but_stays_in_the_store(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    await crash_after_typing(workspace, state_dir, "a.py", "keep_me = 1\n")

    second = await editors.start(workspace, state_dir, answers=["Dismiss"])
    await second.wait_for(lambda: len(second.prompts) == 1)
    await second.wait_for(lambda: any("dismissed" in m.message for m in second.client.log_messages))
    told = next(m.message for m in second.client.log_messages if "dismissed" in m.message)
    assert "for 8 days" in told, "what Dismiss does, in the default retention's words"
    assert second.edits == []
    lost = exporter.families(state_dir / "metrics")["shim_recovery_lost_edits_total"]
    assert lost == {"reason=dismissed": 1, "reason=failed": 0, "reason=unsupported": 0}
    await stop_editor(second)
    third = await editors.start(workspace, state_dir, answers=["Restore all"])
    assert (await third.command("shim.checkRecovery"))["files"] == 0
    dismissed = await third.command("shim.checkRecovery", {"includeDismissed": True})
    session = dismissed["sessions"][0]["id"]
    await stop_editor(third)
    out = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "recover", "--session", session, "--print"],
        capture_output=True,
        text=True,
        cwd=workspace,
        env={**os.environ, "SHIM_STATE_DIR": str(state_dir)},
    )
    assert "keep_me = 1" in out.stdout, out.stdout + out.stderr


async def test_uri_spelling_of_the_client_does_not_split_a_file_in_two(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    name = "café notes.py"
    (workspace / name).write_text("n = 1\n")
    spelled = workspace.as_uri() + "/caf%c3%a9%20notes.py"  # lower-case escapes
    first = await editors.start(workspace, state_dir)
    first.open(name, uri=spelled)
    first.type(spelled, 1, 0, "m = 2\n")
    done = await first.command("shim.forceCheckpoint", {"label": "spelled"})
    versions = await first.command("shim.listCheckpoints", {"uri": spelled})
    assert [(v["id"], v["kind"]) for v in versions] == [(done["id"], "buffer")]
    compared = await first.command(
        "shim.compareWithCheckpoint", {"checkpoint": done["id"], "uri": spelled}
    )
    assert compared["same"] is True
    await journal_settled(first)
    first.kill()
    await first.client.stop()

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: bool(second.edits))
    assert second.docs[second.uri(name)].source == "n = 1\nm = 2\n"
    await stop_editor(second)


RECOVERY_UI = t.ClientCapabilities(
    workspace=CAPABILITIES.workspace,
    window=CAPABILITIES.window,
    experimental={"shim": {"recoveryUi": True}},
)


async def test_a_client_with_its_own_recovery_ui_is_told_and_can_show_the_text(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_after_typing(workspace, state_dir, "app.py", "b = 'typed'\n")
    second = await editors.start(workspace, state_dir, capabilities=RECOVERY_UI)
    await second.wait_for(lambda: bool(second.notifications))
    (told,) = second.notifications
    uri = second.uri("app.py")
    assert told["files"] == 1
    assert [f["uri"] for s in told["sessions"] for f in s["files"]] == [uri]
    assert [(f["uri"], f["session"]) for f in told["offered"]] == [(uri, told["sessions"][0]["id"])]
    assert second.prompts == [], "no message request when the client shows recovery itself"

    shown = await second.command("shim.recoveredText", {"uri": uri})
    assert shown["text"] == typed and shown["session"] == told["sessions"][0]["id"]
    assert (workspace / "app.py").read_text() == "a = 1\n", "showing it writes nothing"

    done = await second.command("shim.recoverSession", {"uris": [uri], "action": "restore"})
    assert done == {"restored": [uri], "skipped": []}
    assert second.docs[uri].source == typed
    await stop_editor(second)


async def test_a_restore_the_editor_cannot_apply_is_not_counted_as_a_failed_recovery(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """An editor without workspace/applyEdit is told to run `shim recover`: the metrics count
    it as unsupported, and the critical recovery-failed alert (outcome failed) stays quiet."""
    await crash_after_typing(workspace, state_dir, "app.py", "b = 'typed'\n")
    no_apply = t.ClientCapabilities(
        workspace=t.WorkspaceClientCapabilities(apply_edit=False),
        window=CAPABILITIES.window,
        experimental={"shim": {"recoveryUi": True}},
    )
    second = await editors.start(workspace, state_dir, capabilities=no_apply)
    await second.wait_for(lambda: bool(second.notifications))
    uri = second.uri("app.py")
    done = await second.command("shim.recoverSession", {"uris": [uri], "action": "restore"})
    assert done["restored"] == []
    assert any("cannot apply edits from a server" in m for m in second.shown_messages)
    figures = recoveries(state_dir)
    assert figures["outcome=unsupported"] == 1 and figures["outcome=failed"] == 0
    lost = exporter.families(state_dir / "metrics")["shim_recovery_lost_edits_total"]
    assert lost["reason=unsupported"] == 1, "the one edit typed, not given back here"
    await stop_editor(second)


def test_a_client_gone_right_after_opening_a_file_leaves_no_server_behind(
    workspace: Path, state_dir: Path
) -> None:
    """The client closes stdin straight after initialize and didOpen (its editor crashed as it
    started): the server ends by itself at once, and the unsaved text it was given is
    recoverable. It outlived its client forever when a ruff server was being started at that
    moment (asyncio's own ending waits for that task), then ended only by its watchdog. The
    time is counted from the close, once initialize was answered: a loaded machine may take
    seconds to start Python, which is not what this measures."""
    (workspace / "app.py").write_text("x = 1\n")
    env = {**os.environ, "SHIM_STATE_DIR": str(state_dir)}
    shim = str(Path(sys.executable).with_name("shim"))
    server = subprocess.Popen(
        [shim, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert server.stdin is not None and server.stdout is not None

        def send(message: dict[str, object]) -> None:
            assert server.stdin is not None
            body = json.dumps({"jsonrpc": "2.0", **message}).encode()
            server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            server.stdin.flush()

        uri = (workspace / "app.py").as_uri()
        folders = [{"uri": workspace.as_uri(), "name": "ws"}]
        init = {"processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {}}
        doc = {"uri": uri, "languageId": "python", "version": 1, "text": "x = 2  # typed\n"}
        send({"id": 1, "method": "initialize", "params": {**init, "workspaceFolders": folders}})
        answer: dict[str, object] = {}
        while answer.get("id") != 1:  # what the server sends before its answer, passed over
            length = int(server.stdout.readline().split(b":")[1])
            while server.stdout.readline() not in (b"\r\n", b""):
                pass
            answer = json.loads(server.stdout.read(length))
        send({"method": "initialized", "params": {}})
        send({"method": "textDocument/didOpen", "params": {"textDocument": doc}})
        server.stdin.close()
        closed = time.monotonic()
        assert server.wait(timeout=30) == 1
        assert time.monotonic() - closed < EOF_GRACE_S / 2
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    where = ["--json", "--workspace", str(workspace), "--state-dir", str(state_dir)]
    shown = subprocess.run(
        [shim, "recover", "--print", *where], capture_output=True, text=True, check=True
    )
    assert [f["text"] for f in json.loads(shown.stdout)["files"]] == ["x = 2  # typed\n"]


async def test_recovered_text_of_a_file_no_session_left_is_a_clear_error(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    with pytest.raises(Exception, match="left no unsaved work"):
        await editor.command("shim.recoveredText", {"uri": editor.uri("a.py")})
    await stop_editor(editor)


async def test_work_the_editor_still_holds_after_a_server_crash_is_not_offered(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Only the server died: the editor kept the buffer and starts a new server."""
    typed = await crash_after_typing(workspace, state_dir, "app.py", "b = 'typed'\n")
    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    # The editor reopens its buffer, as VS Code does: this didOpen follows initialized, so
    # the server has it before it looks for crashed work.
    uri = second.open("app.py", typed)
    await journal_settled(second)
    for _ in range(100):  # the start-up check runs just after initialized
        status = await second.command("shim.checkRecovery")
        if status["files"] == 0:
            break
        await asyncio.sleep(0.05)
    assert status == {"files": 0, "offered": [], "sessions": [], "unfinishedChats": []}
    assert second.prompts == []
    second.save(uri)
    await stop_editor(second)

    third = await editors.start(workspace, state_dir)
    assert (await third.command("shim.checkRecovery"))["files"] == 0, "settled for good"
    await stop_editor(third)


async def test_a_server_restarted_by_the_same_editor_takes_over_even_newer_buffers(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """The kill can land before the last keystrokes were committed: the editor's buffer is
    then newer than what the dead server journaled, and is the work to keep, silently."""
    (workspace / "app.py").write_text("a = 1\n")
    editor_pid = os.getpid()  # a live process that started before either server
    first = await editors.start(workspace, state_dir, process_id=editor_pid)
    uri = first.open("app.py")
    first.type(uri, 1, 0, "b = 2\n")
    await journal_settled(first)
    first.kill()
    await first.client.stop()

    newer = "a = 1\nb = 2\nc = 'typed as the server died'\n"
    second = await editors.start(
        workspace, state_dir, answers=["Restore all"], process_id=editor_pid
    )
    second.open("app.py", newer)
    await journal_settled(second)
    for _ in range(100):
        if (await second.command("shim.checkRecovery"))["files"] == 0:
            break
        await asyncio.sleep(0.05)
    assert second.prompts == [] and second.edits == [], "nothing offered, nothing overwritten"
    assert second.docs[uri].source == newer
    second.save(uri)
    await stop_editor(second)


async def test_another_editor_with_other_text_in_the_buffer_is_still_offered_the_work(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    gone_editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    first = await editors.start(workspace, state_dir, process_id=gone_editor.pid)
    uri = first.open("app.py")
    first.type(uri, 1, 0, "b = 'typed'\n")
    await journal_settled(first)
    typed = first.docs[uri].source
    first.kill()
    gone_editor.kill()
    gone_editor.wait()
    await first.client.stop()

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    second.open("app.py", "a = 1\nsomething else\n")
    await second.wait_for(lambda: bool(second.prompts))
    await second.wait_for(lambda: second.docs[uri].source == typed)
    await stop_editor(second)


async def test_a_client_without_show_document_gets_the_work_back_by_plain_changes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Neovim 0.7 announces showDocument with support false and no documentChanges."""
    typed = await crash_after_typing(workspace, state_dir, "app.py", "b = 'typed in nvim'\n")
    second = await editors.start(
        workspace, state_dir, answers=["Restore all"], capabilities=NEOVIM_07
    )
    try:
        await second.wait_for(lambda: bool(second.edits))
        assert second.shown == [], "no window/showDocument to a client that cannot"
        assert second.edits[0].edit.changes is not None
        assert second.edits[0].edit.document_changes is None
        assert second.docs[second.uri("app.py")].source == typed
        assert (workspace / "app.py").read_text() == "a = 1\n", "disk untouched"
    finally:
        await stop_editor(second)


async def test_a_show_document_answered_with_an_error_does_not_end_the_recovery(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_after_typing(workspace, state_dir, "app.py", "b = 'still here'\n")
    second = await editors.start(
        workspace, state_dir, answers=["Restore all"], refuse_show_document=True
    )
    try:
        await second.wait_for(lambda: bool(second.edits))
        assert second.shown == [second.uri("app.py")]
        assert second.docs[second.uri("app.py")].source == typed
    finally:
        await stop_editor(second)


async def test_a_recovery_question_the_client_fails_is_said_by_a_plain_message(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """A client that cannot answer the question (an error for window/showMessageRequest) is
    told by a message every client shows: the work, and where its actions are."""
    await crash_after_typing(workspace, state_dir, "app.py", "b = 'typed'\n")
    second = await editors.start(workspace, state_dir, refuse_questions=True)
    found = "SHIM found unsaved work in 1 file(s)"
    await second.wait_for(lambda: any(found in m for m in second.shown_messages))
    (told,) = [m for m in second.shown_messages if found in m]
    assert "app.py" in told and "Restore unsaved work" in told
    assert len(second.prompts) == 1  # asked once, then told
    await stop_editor(second)


async def test_two_crashed_windows_with_different_text_are_both_offered(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    older_text, newer_text = await two_windows_crash(workspace, state_dir)
    third = await editors.start(workspace, state_dir, answers=["Restore all"])
    try:
        await third.wait_for(lambda: bool(third.edits))
        uri = third.uri("app.py")
        assert third.docs[uri].source == newer_text, "Restore all brings the newest back"
        assert "2 versions" in third.prompts[0]
        await third.wait_for(lambda: any("kept" in p for p in third.shown_messages))
        report = await third.command("shim.checkRecovery")
        assert [f["chars"] for f in report["offered"]] == [len(older_text)]
        text = await third.command("shim.recoveredText", {"uri": uri})
        assert text["text"] == older_text, "the other window's text is still there"
    finally:
        await stop_editor(third)


async def test_a_report_lists_every_version_of_a_file_newer_first(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    older_text, newer_text = await two_windows_crash(workspace, state_dir)
    third = await editors.start(workspace, state_dir)
    try:
        report = await third.command("shim.checkRecovery")
        assert report["files"] == 1 and report["offered"][0]["versions"] == 2
        per_session = [s["files"][0]["chars"] for s in report["sessions"]]
        assert per_session == [len(newer_text), len(older_text)]
    finally:
        await stop_editor(third)


async def test_work_is_offered_once_a_store_unavailable_at_start_comes_back(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_after_typing(workspace, state_dir, "app.py", "b = 'kept'\n")
    aside = state_dir.with_name("state-aside")
    state_dir.rename(aside)
    state_dir.write_text("a file where the state folder should be")
    editor = await editors.start(workspace, state_dir, answers=["Restore all"])
    try:
        await editor.wait_for(lambda: any("cannot" in m for m in editor.shown_messages))
        state_dir.unlink()
        aside.rename(state_dir)
        await editor.wait_for(lambda: bool(editor.edits), timeout=30)
        assert editor.docs[editor.uri("app.py")].source == typed
    finally:
        await stop_editor(editor)


async def test_the_output_channel_names_files_by_workspace_path_and_no_checkpoint_id(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Lines a user reads in SHIM's output channel: a file as it sits in the workspace, a
    checkpoint by its label; URIs and store ids are for the debug log."""
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "app.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    uri = first.open("pkg/app.py")
    first.type(uri, 1, 0, "b = 2\n")
    checkpoint = await first.command("shim.forceCheckpoint", {"label": "lunch"})
    await journal_settled(first)
    first.kill()
    await first.client.stop()
    told = [m.message for m in first.client.log_messages]
    line = "SHIM checkpoint 'lunch': 1 file, 1 unsaved buffer"
    assert any(m.startswith(line) for m in told), told
    assert not any(str(checkpoint["id"]) in m.split(":")[0] for m in told), told

    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: any("restored" in m.message for m in second.client.log_messages))
    restored = next(m.message for m in second.client.log_messages if "restored" in m.message)
    assert restored == "SHIM restored unsaved work in pkg/app.py"
    assert not any("file://" in m.message for m in second.client.log_messages)
    await stop_editor(second)
