"""What the user is told when SHIM's store cannot be written, and when it can again."""

from __future__ import annotations

from pathlib import Path

from harness import Editors, stop_editor


async def test_a_state_folder_that_becomes_writable_is_announced_once_named(
    workspace: Path, tmp_path: Path, editors: Editors
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where SHIM's state folder should be")
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, blocker / "state")
    try:
        uri = editor.open("a.py")
        editor.type(uri, 1, 0, "typed_while_blocked = 1\n")
        await editor.wait_for(
            lambda: any("cannot write its store" in m.message for m in editor.client.messages)
        )
        blocker.unlink()
        blocker.mkdir()
        await editor.wait_for(
            lambda: any("can write its store again" in m.message for m in editor.client.messages)
        )
        status = await editor.command("shim.sessionStatus")
        assert status["storeError"] is None
        said = [m.message for m in editor.client.messages]
        assert not [m for m in said if m.startswith("SHIM: SHIM")], said
    finally:
        await stop_editor(editor)


async def test_the_risk_alarm_does_not_claim_a_checkpoint_it_could_not_write(
    workspace: Path, tmp_path: Path, editors: Editors
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where SHIM's state folder should be")
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, blocker / "state", settings={"riskUnsavedKb": 0.01})
    try:
        uri = editor.open("a.py")
        for i in range(5):
            editor.type(uri, 1 + i, 0, f"line_{i} = {i}\n")
        await editor.wait_for(lambda: any("at risk" in m.message for m in editor.client.messages))
        [alarm] = [m.message for m in editor.client.messages if "at risk" in m.message]
        assert "checkpoint was taken" not in alarm
        assert "cannot write its store" in alarm and "save" in alarm
    finally:
        await stop_editor(editor)
