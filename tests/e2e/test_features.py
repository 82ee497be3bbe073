"""Checkpoint policy, risk, history and state commands, through the real server."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest
from harness import CAPABILITIES, Editors, journal_settled, kill_and_restore_all, stop_editor
from lsprotocol import types as t
from pygls.exceptions import JsonRpcInvalidParams


async def test_idle_pause_with_unsaved_changes_takes_a_checkpoint(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    # Metrics off in the editor's settings (workspace/configuration): nothing is written.
    settings = {"idleCheckpointDelay": 0.5, "metrics": False}
    editor = await editors.start(workspace, state_dir, settings=settings)
    editor.type(editor.open("a.py"), 1, 0, "b = 2\n")

    async def reasons() -> list[str]:
        return [c["reason"] for c in await editor.command("shim.listCheckpoints")]

    for _ in range(100):
        if "idle" in await reasons():
            break
        await asyncio.sleep(0.1)
    assert "idle" in await reasons()
    await editor.wait_for(lambda: any(s.lastCheckpointAt for s in editor.statuses))
    assert await editor.command("shim.autoCheckpoint", {"enabled": False}) == {"enabled": False}
    assert await editor.command("shim.autoCheckpoint") == {"enabled": False}
    assert not (state_dir / "metrics").exists()
    await stop_editor(editor)


async def test_high_risk_checkpoints_at_once_and_warns_once(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir, settings={"riskUnsavedKb": 0.01})
    uri = editor.open("a.py")
    for i in range(5):
        editor.type(uri, 1 + i, 0, f"line_{i} = {i}\n")
    await editor.wait_for(lambda: any("at risk" in m.message for m in editor.client.messages))
    # The risk checkpoint holds the typed text: the risk is low again.
    await editor.wait_for(lambda: bool(editor.statuses) and editor.statuses[-1].riskLevel == "low")
    editor.type(uri, 6, 0, "more = 1\n")
    await asyncio.sleep(2.5)
    warnings = [m for m in editor.client.messages if "at risk" in m.message]
    assert len(warnings) == 1, "told once, not nagged"
    assert "risk" in [c["reason"] for c in await editor.command("shim.listCheckpoints")]
    await stop_editor(editor)


async def test_review_restores_only_the_files_the_user_picks(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    (workspace / "b.py").write_text("b = 1\n")
    first = await editors.start(workspace, state_dir)
    first.type(first.open("a.py"), 1, 0, "a_unsaved = 1\n")
    first.type(first.open("b.py"), 1, 0, "b_unsaved = 1\n")
    await journal_settled(first)
    first.kill()
    await first.client.stop()

    second = await editors.start(workspace, state_dir, answers=["Review", "Restore", "Skip"])
    await second.wait_for(lambda: len(second.prompts) == 3)
    await second.wait_for(lambda: len(second.edits) == 1)
    assert second.docs[second.uri("a.py")].source == "a = 1\na_unsaved = 1\n"
    assert second.uri("b.py") not in second.docs

    def pending(result: dict[str, list[dict[str, list[dict[str, str]]]]]) -> list[str]:
        return [f["uri"] for s in result["sessions"] for f in s["files"]]

    for _ in range(100):  # the restore of a.py is recorded just after its edit
        left = await second.command("shim.checkRecovery")
        if pending(left) == [second.uri("b.py")]:
            break
        await asyncio.sleep(0.05)
    assert pending(left) == [second.uri("b.py")]
    restored = await second.command("shim.recoverSession", {"uris": [second.uri("b.py")]})
    assert restored["restored"] == [second.uri("b.py")]
    assert second.docs[second.uri("b.py")].source == "b = 1\nb_unsaved = 1\n"
    await stop_editor(second)


async def test_reported_file_changes_are_the_only_files_read(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    for i in range(30):
        (workspace / f"m{i}.py").write_text(f"m = {i}\n")
    await asyncio.sleep(2.1)  # else read again by every scan for 2 s: the racy-timestamp guard
    editor = await editors.start(workspace, state_dir)
    await editor.wait_for(lambda: t.WORKSPACE_DID_CHANGE_WATCHED_FILES in editor.registrations)
    first = await editor.command("shim.forceCheckpoint")
    assert first["readFiles"] == 30
    (workspace / "m7.py").write_text("m = 'changed'\n")
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(
            changes=[t.FileEvent(uri=editor.uri("m7.py"), type=t.FileChangeType.Changed)]
        )
    )
    second = await editor.command("shim.forceCheckpoint")
    assert second["readFiles"] == 1 and second["newBlobs"] == 1
    compared = await editor.command(
        "shim.compareWithCheckpoint", {"checkpoint": second["id"], "uri": editor.uri("m7.py")}
    )
    assert compared["text"] == "m = 'changed'\n" and compared["kind"] == "disk"
    await stop_editor(editor)


async def test_a_restarted_server_reads_only_changed_files_even_with_a_restored_mtime(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    for i in range(30):
        (workspace / f"m{i}.py").write_text(f"m = {i:02d}\n")
    await asyncio.sleep(2.1)  # older than the racy-timestamp window: trusted to the cache
    editor = await editors.start(workspace, state_dir)
    assert (await editor.command("shim.forceCheckpoint"))["readFiles"] == 30
    await stop_editor(editor)

    target = workspace / "m7.py"
    before = target.stat()
    target.write_text("m = 77\n")  # same size, and the mtime put back (rsync -t, a checkout)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    restarted = await editors.start(workspace, state_dir)
    result = await restarted.command("shim.forceCheckpoint")
    assert result["readFiles"] == 1, "the stat cache in the store spared the other 29"
    compared = await restarted.command(
        "shim.compareWithCheckpoint", {"checkpoint": result["id"], "uri": restarted.uri("m7.py")}
    )
    assert compared["text"] == "m = 77\n"
    await stop_editor(restarted)


PROGRESS_CLIENT = t.ClientCapabilities(window=t.WindowClientCapabilities(work_done_progress=True))


async def test_a_long_checkpoint_shows_progress_and_a_quick_one_does_not(
    workspace: Path, state_dir: Path, editors: Editors, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(50):
        (workspace / f"m{i}.py").write_text(f"m = {i}\n")
    quick = await editors.start(workspace, state_dir, capabilities=PROGRESS_CLIENT)
    await quick.command("shim.forceCheckpoint")
    assert not quick.client.progress_reports, "under a second: nothing to show"
    await stop_editor(quick)

    monkeypatch.setenv("SHIM_PROGRESS_AFTER_S", "0")  # as if this small tree took long
    slow = await editors.start(workspace, state_dir, capabilities=PROGRESS_CLIENT)
    result = await slow.command("shim.forceCheckpoint")
    await slow.wait_for(
        lambda: any(
            getattr(r, "kind", "") == "end"
            for rs in slow.client.progress_reports.values()
            for r in rs
        )
    )
    ((token, reports),) = slow.client.progress_reports.items()
    assert str(token).startswith("shim-checkpoint-")
    assert getattr(reports[0], "kind", "") == "begin"
    assert (
        getattr(reports[-1], "message", "")
        == f"{result['files']} files, {result['readFiles']} read"
    )
    await stop_editor(slow)


async def test_restore_from_checkpoint_is_an_unsaved_edit(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("original = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "good = 2\n")
    good = await editor.command("shim.forceCheckpoint", {"label": "good"})
    editor.type(uri, 0, 0, "# a bad refactor\n")
    result = await editor.command("shim.restoreCheckpoint", {"checkpoint": good["id"], "uri": uri})
    assert result["applied"] is True
    assert editor.docs[uri].source == "original = 1\ngood = 2\n"
    assert (workspace / "a.py").read_text() == "original = 1\n", "nothing written to disk"
    await stop_editor(editor)


async def test_cleared_state_still_recovers_what_is_typed_afterwards(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    uri = first.open("a.py")
    first.type(uri, 1, 0, "before_clear = 1\n")
    await first.command("shim.forceCheckpoint", {"label": "old"})
    counts = await first.command("shim.clearState", {"all": True})
    assert counts["checkpoints"] >= 1
    assert await first.command("shim.listCheckpoints") == []
    with pytest.raises(JsonRpcInvalidParams):
        await first.command("shim.clearState", {})
    first.type(uri, 2, 0, "after_clear = 2\n")
    await journal_settled(first)
    await kill_and_restore_all(first, editors, workspace, state_dir, uri)


async def test_closed_stdin_ends_the_session_as_client_gone(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    first.type(first.open("a.py"), 1, 0, "x = 1\n")
    server = first.client._server
    assert server is not None and server.stdin is not None
    server.stdin.close()
    await asyncio.wait_for(server.wait(), 15)
    await first.client.stop()

    second = await editors.start(workspace, state_dir)
    recovery = await second.command("shim.checkRecovery")
    assert [s["state"] for s in recovery["sessions"]] == ["client-gone"]
    assert recovery["files"] == 1
    await stop_editor(second)


async def test_damaged_store_is_reported_and_a_fresh_one_serves(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    state_dir.mkdir()
    (state_dir / "shim.db").write_bytes(b"not sqlite at all " * 500)
    editor = await editors.start(workspace, state_dir)
    await editor.wait_for(lambda: any("moved aside" in m.message for m in editor.client.messages))
    assert (await editor.command("shim.forceCheckpoint"))["id"] == 1
    aside = [p for p in state_dir.iterdir() if ".corrupt-" in p.name]
    assert [p.read_bytes() for p in aside] == [b"not sqlite at all " * 500]
    await stop_editor(editor)


async def test_unwritable_state_folder_is_reported_and_editing_goes_on(
    workspace: Path, tmp_path: Path, editors: Editors
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where SHIM's state folder should be")
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, blocker / "state")
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "still_typing = True\n")
    await editor.wait_for(
        lambda: any("cannot write its store" in m.message for m in editor.client.messages)
    )
    status = await editor.command("shim.sessionStatus")
    assert status["storeError"] and status["journal"]["pending"] == 2
    assert status["dirtyDocuments"] == 1
    await stop_editor(editor)
    assert os.path.isfile(blocker)


async def test_status_is_pushed_when_the_unsaved_count_changes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py")
    await editor.wait_for(lambda: bool(editor.statuses))
    assert editor.statuses[-1].dirtyDocuments == 0
    editor.type(uri, 1, 0, "b = 2\n")
    await editor.wait_for(lambda: editor.statuses[-1].dirtyDocuments == 1)
    editor.save(uri)
    await editor.wait_for(lambda: editor.statuses[-1].dirtyDocuments == 0)
    await stop_editor(editor)


async def test_status_shows_the_workspaces_last_checkpoint_from_an_earlier_session(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    first = await editors.start(workspace, state_dir)
    taken = await first.command("shim.forceCheckpoint", {"label": "yesterday"})
    (earlier,) = [c for c in await first.command("shim.listCheckpoints") if c["id"] == taken["id"]]
    await stop_editor(first)

    second = await editors.start(workspace, state_dir)
    await second.wait_for(lambda: bool(second.statuses))
    await second.wait_for(lambda: second.statuses[-1].lastCheckpointAt == earlier["createdAt"])
    await stop_editor(second)


async def test_files_opened_before_the_settings_arrive_follow_the_settings(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """A client that answers workspace/configuration (no initializationOptions) opens files
    at once: they must be judged by the user's secret patterns, not the defaults."""
    (workspace / "foo.secret").write_text("SECRET_ON_DISK\n")
    (workspace / "server.key").write_text("not a key here\n")
    editor = await editors.start(
        workspace, state_dir, settings={"secretGlobs": ["*.secret", "!*.key"]}
    )
    try:
        for name in ("foo.secret", "server.key"):
            editor.type(editor.open(name), 0, 0, f"typed into {name}\n")
        await journal_settled(editor)
        await editor.command("shim.forceCheckpoint", {"label": "after typing"})
        with sqlite3.connect(state_dir / "shim.db") as conn:
            journal = [
                (r[0].rsplit("/", 1)[1], r[1])
                for r in conn.execute("SELECT uri, kind FROM journal ORDER BY lseq")
            ]
        assert journal == [("server.key", "open"), ("server.key", "change")]
    finally:
        await stop_editor(editor)


async def test_a_file_opened_from_outside_the_workspace_is_said_to_be_unprotected(
    workspace: Path, state_dir: Path, tmp_path: Path, editors: Editors
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.py").write_text("x = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = (elsewhere / "x.py").as_uri()
    editor.open("x.py", "x = 1\n", uri=uri)
    editor.type(uri, 1, 0, "typed = 'outside'\n")
    await editor.wait_for(lambda: any("is not protected" in m for m in editor.shown_messages))
    told = [m for m in editor.shown_messages if "is not protected" in m]
    assert len(told) == 1 and "outside this window's workspace folders" in told[0]

    # A link in the workspace to that file: said to be a link, and where it leads.
    os.symlink(elsewhere / "x.py", workspace / "link.py")
    link = editor.open("link.py", "x = 1\n")
    editor.type(link, 1, 0, "typed = 'through the link'\n")
    await editor.wait_for(lambda: sum("is not protected" in m for m in editor.shown_messages) == 2)
    said = [m for m in editor.shown_messages if "is not protected" in m][-1]
    assert f"it is a link to {elsewhere / 'x.py'}, outside" in said, said
    # Work SHIM does not keep is not counted as work it holds, nor as work at risk.
    status = await editor.command("shim.sessionStatus")
    assert (status["dirtyDocuments"], status["editsSinceCheckpoint"]) == (0, 0)


async def test_session_status_says_when_its_last_checkpoint_was_taken(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    taken = await editor.command("shim.forceCheckpoint", {"label": "lunch"})
    status = await editor.command("shim.sessionStatus")
    (listed,) = [c for c in await editor.command("shim.listCheckpoints") if c["id"] == taken["id"]]
    assert status["lastCheckpoint"]["createdAt"] == pytest.approx(listed["createdAt"], abs=1)
    assert status["lastCheckpoint"]["label"] == "lunch"
    await stop_editor(editor)


async def test_status_notification_says_when_automatic_checkpoints_are_paused(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    await editor.wait_for(lambda: bool(editor.statuses))
    assert editor.statuses[-1].autoCheckpoint is True
    await editor.command("shim.autoCheckpoint", {"enabled": False})
    await editor.wait_for(lambda: editor.statuses[-1].autoCheckpoint is False)
    await editor.command("shim.autoCheckpoint", {"enabled": True})
    await editor.wait_for(lambda: editor.statuses[-1].autoCheckpoint is True)
    await stop_editor(editor)


async def test_status_names_real_danger_when_the_disk_under_the_store_is_nearly_full(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir, settings={"riskDiskFreeMb": 1024 * 1024})
    await editor.wait_for(lambda: bool(editor.statuses) and bool(editor.statuses[-1].danger))
    assert "free space under the store" in editor.statuses[-1].danger
    await stop_editor(editor)


async def test_unsaved_work_a_checkpoint_holds_lowers_the_risk(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir, settings={"riskUnsavedKb": 1})
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "b = '" + "x" * 2000 + "'\n")
    await editor.wait_for(lambda: bool(editor.statuses) and editor.statuses[-1].riskLevel == "high")
    await editor.command("shim.forceCheckpoint", {})
    await editor.wait_for(lambda: editor.statuses[-1].riskLevel == "low")
    assert editor.statuses[-1].dirtyDocuments == 1
    await stop_editor(editor)


async def test_a_client_with_its_own_risk_ui_is_sent_the_alarm_instead_of_a_message(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(
        workspace,
        state_dir,
        settings={"riskUnsavedKb": 0.01},
        capabilities=t.ClientCapabilities(
            workspace=CAPABILITIES.workspace,
            window=CAPABILITIES.window,
            experimental={"shim": {"riskUi": True}},
        ),
    )
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "b = 'enough to be at risk'\n")
    await editor.wait_for(lambda: any("signals" in n for n in editor.notifications))
    (alarm,) = [n for n in editor.notifications if "signals" in n]
    assert [s["name"] for s in alarm["signals"]] == ["unsavedKb"]
    assert alarm["dirtyDocuments"] == 1 and alarm["checkpoint"] is True
    assert not any("at risk" in m.message for m in editor.client.messages)
    await stop_editor(editor)


async def test_a_files_versions_say_how_many_lines_each_added_and_removed(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py")
    first = await editor.command("shim.forceCheckpoint", {"label": "first"})
    editor.type(uri, 1, 0, "b = 2\nc = 3\n")
    await journal_settled(editor)
    second = await editor.command("shim.forceCheckpoint", {"label": "second"})
    third = await editor.command("shim.forceCheckpoint")  # the same text again
    versions = await editor.command("shim.listCheckpoints", {"uri": uri})
    assert [
        (v["id"], v["linesAdded"], v["linesRemoved"], v["lines"], v["linesUncounted"])
        for v in versions
    ] == [
        (third["id"], 2, 0, 3, None),
        (second["id"], 2, 0, 3, None),
        (first["id"], None, None, 1, "oldest"),
    ]
    (newest,) = await editor.command("shim.listCheckpoints", {"uri": uri, "limit": 1})
    assert newest["linesAdded"] == 2, "the older version is compared even past the limit"
    await stop_editor(editor)


async def test_a_checkpoint_counts_an_edited_file_once(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Two files, one with unsaved changes: "2 files, 1 unsaved buffer", not 3 files; an
    unsaved buffer of a file not on disk counts as a file."""
    (workspace / "a.py").write_text("a = 1\n")
    (workspace / "b.py").write_text("b = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py", "a = 1\n")
    editor.type(uri, 1, 0, "c = 2\n")
    editor.type(editor.open("new.py", ""), 0, 0, "d = 3\n")
    taken = await editor.command("shim.forceCheckpoint", {})
    assert (taken["files"], taken["buffers"]) == (3, 2), taken
    await stop_editor(editor)


async def test_a_bad_setting_stays_in_the_status_until_it_is_mended(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """A message about a mistyped setting goes by; the status keeps saying so (a client can
    keep a sign), until the settings are mended."""
    editor = await editors.start(
        workspace, state_dir, settings={"checkpointInterval": -5, "secretGlob": ["*.env"]}
    )
    await editor.wait_for(lambda: bool(editor.statuses) and editor.statuses[-1].settingsProblems)
    problems = editor.statuses[-1].settingsProblems
    assert (
        "setting 'checkpointInterval': -5 cannot be used (it must be greater than 0 and at most"
        " 86400); using the default, 300" in problems
    )
    assert any("unknown setting 'secretGlob'" in p for p in problems)
    assert any("checkpointInterval" in m for m in editor.shown_messages)

    editor.client.set_configuration({"shim": {"checkpointInterval": 60, "secretGlobs": ["*.env"]}})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    await editor.wait_for(lambda: editor.statuses[-1].settingsProblems == [])


async def test_a_bad_setting_is_said_once_though_it_arrives_twice_and_again_unchanged(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """VS Code sends the settings with ``initialize`` and answers ``workspace/configuration``:
    one mistake is one message, and a change that keeps it does not repeat it."""
    bad = {"checkpointInterval": -5}
    editor = await editors.start(workspace, state_dir, settings=bad, initialization_options=bad)
    await editor.wait_for(lambda: bool(editor.statuses) and editor.statuses[-1].settingsProblems)
    editor.client.set_configuration({"shim": {**bad, "secretGlob": ["*.env"]}})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    await editor.wait_for(lambda: any("secretGlob" in m for m in editor.shown_messages))
    assert len([m for m in editor.shown_messages if "checkpointInterval" in m]) == 1


async def test_a_log_level_that_does_not_exist_is_said_and_the_server_serves(
    workspace: Path, state_dir: Path, editors: Editors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``shim.server.logLevel`` reaches the server as SHIM_LOG_LEVEL: a value that is no level
    once crashed every start, so nothing was protected."""
    monkeypatch.setenv("SHIM_LOG_LEVEL", "loud")
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    editor.type(editor.open("a.py"), 1, 0, "b = 2\n")
    taken = await editor.command("shim.forceCheckpoint", {"label": "still protected"})
    assert taken["files"] >= 1
    problem = "setting 'server.logLevel': 'loud' is not one of"
    await editor.wait_for(lambda: any(problem in m for m in editor.shown_messages))
    await editor.wait_for(
        lambda: (
            bool(editor.statuses)
            and any(problem in p for p in editor.statuses[-1].settingsProblems)
        )
    )


async def test_a_window_without_a_folder_says_so_in_its_status(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """SHIM protects the files of workspace folders only: a status bar must not say
    "protected" in a window that has none."""
    editor = await editors.start(workspace, state_dir, initialize=False)
    await editor.client.initialize_session(
        t.InitializeParams(capabilities=CAPABILITIES, workspace_folders=[])
    )
    await editor.wait_for(lambda: bool(editor.statuses))
    assert editor.statuses[-1].workspaceFolders == 0
    with_folder = await editors.start(workspace, state_dir)
    await with_folder.wait_for(lambda: bool(with_folder.statuses))
    assert with_folder.statuses[-1].workspaceFolders == 1
