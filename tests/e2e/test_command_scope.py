"""Commands act on the caller's workspace: clearing, checkpoint ids, recovery listings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from harness import Editors, crash_after_typing, stop_editor
from pygls.exceptions import JsonRpcInvalidParams


async def test_clear_all_keeps_other_workspaces_work_unless_every_workspace_is_said(
    tmp_path: Path, state_dir: Path, editors: Editors
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    await crash_after_typing(b, state_dir, "y.py", "in_b = 1\n")
    editor = await editors.start(a, state_dir)
    try:
        with pytest.raises(JsonRpcInvalidParams, match="nope"):
            await editor.command("shim.clearState", {"session": "nope"})
        with pytest.raises(JsonRpcInvalidParams, match="everyWorkspace"):
            await editor.command("shim.clearState", {"everyWorkspace": True})
        ask = {"all": True, "everyWorkspace": True, "dryRun": True}
        would = await editor.command("shim.clearState", ask)
        assert would["unsavedWorkForgotten"] == [{"folders": [str(b.resolve())], "files": 1}]
        await editor.command("shim.clearState", {"all": True})
        other = await editors.start(b, state_dir)
        try:
            assert (await other.command("shim.checkRecovery"))["files"] == 1
        finally:
            await stop_editor(other)
        cleared = await editor.command("shim.clearState", {"all": True, "everyWorkspace": True})
        assert cleared["unsavedWorkForgotten"] == [{"folders": [str(b.resolve())], "files": 1}]
    finally:
        await stop_editor(editor)


async def test_checkpoint_ids_of_another_workspace_are_not_found(
    tmp_path: Path, state_dir: Path, editors: Editors
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "secret.py").write_text("b_private = 1\n")
    other = await editors.start(b, state_dir)
    theirs = await other.command("shim.forceCheckpoint")
    await stop_editor(other)
    editor = await editors.start(a, state_dir)
    try:
        asked = {"checkpoint": theirs["id"], "uri": (b / "secret.py").as_uri()}
        with pytest.raises(JsonRpcInvalidParams, match=f"no checkpoint {theirs['id']}"):
            await editor.command("shim.compareWithCheckpoint", asked)
        with pytest.raises(JsonRpcInvalidParams, match=f"no checkpoint {theirs['id']}"):
            await editor.command(
                "shim.restoreCheckpoint", {**asked, "uri": (a / "secret.py").as_uri()}
            )
    finally:
        await stop_editor(editor)


async def test_dismissed_work_can_be_listed_again(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_after_typing(workspace, state_dir, "a.py", "kept = 1\n")
    editor = await editors.start(workspace, state_dir)
    try:
        await editor.command("shim.recoverSession", {"action": "dismiss"})
        assert (await editor.command("shim.checkRecovery"))["files"] == 0
        again = await editor.command("shim.checkRecovery", {"includeDismissed": True})
        assert again["files"] == 1
        [session] = again["sessions"]
        assert session["resolution"] == "dismissed"
        shown = await editor.command(
            "shim.recoveredText", {"uri": editor.uri("a.py"), "session": session["id"]}
        )
        assert shown["text"] == typed
    finally:
        await stop_editor(editor)
    cli = [sys.executable, "-m", "shim_lsp.cli", "recover", "--state-dir", str(state_dir)]
    plain = subprocess.run(cli, capture_output=True, text=True, cwd=workspace, timeout=60)
    assert "no unsaved work" in plain.stdout
    listed = subprocess.run(
        [*cli, "--session", session["id"][:8], "--print"],
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=60,
    )
    assert listed.returncode == 0 and typed in listed.stdout


async def test_monitor_signals_speaks_camel_case(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    try:
        signals = await editor.command("shim.monitorSignals")
        assert "unsavedBytes" in signals["measurements"]
        assert all("_" not in key for key in signals["measurements"])
    finally:
        await stop_editor(editor)
