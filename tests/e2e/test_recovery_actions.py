"""Recovery where the user looks: after a real SIGKILL, the next server puts a notice on each
file with unsaved work (beside ruff's findings) whose code actions run the recovery commands;
files with checkpoints offer the extension's checkpoint commands as source actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
from harness import Editor, Editors, journal_settled, stop_editor
from lsprotocol import types as t
from test_analysis import NO_RESOLVE, VS_CODE, code_actions

SOURCE = "SHIM recovery"
EXTENSION = attrs.evolve(VS_CODE, experimental={"shim": {"editorCommands": True}})
"""What SHIM's VS Code extension announces: it runs SHIM's own VS Code commands."""
CHECKPOINT_KINDS = ("source.shim.compareCheckpoint", "source.shim.restoreCheckpoint")


def notices(editor: Editor, uri: str) -> list[t.Diagnostic]:
    return [d for d in editor.client.diagnostics.get(uri, []) if d.source == SOURCE]


def ruff_codes(editor: Editor, uri: str) -> list[str]:
    return [str(d.code) for d in editor.client.diagnostics.get(uri, []) if d.source != SOURCE]


async def crash_with_unsaved(workspace: Path, state_dir: Path, editors: Editors) -> dict[str, str]:
    """One window types unsaved text into two files, then its server is SIGKILLed.

    The next server serves the same editor process (this test's): a buffer open before it
    looked is taken for the editor's own continuation of that work, so tests open files only
    once the notices are there."""
    (workspace / "app.py").write_text("import os\n")
    (workspace / "other.py").write_text("b = 1\n")
    first = await editors.start(workspace, state_dir)
    typed = {}
    for name in ("app.py", "other.py"):
        uri = first.open(name)
        first.type(uri, 1, 0, f"unsaved_in_{name[:-3]} = 1\n")
        typed[uri] = first.docs[uri].source
    await journal_settled(first)
    first.kill()
    await first.client.stop()
    return typed


async def run(editor: Editor, action: t.CodeAction) -> Any:
    assert action.command is not None
    return await editor.command(action.command.command, *(action.command.arguments or []))


def titled(actions: list[t.CodeAction], title: str) -> t.CodeAction:
    titles = [a.title for a in actions]
    assert title in titles, titles
    return next(a for a in actions if a.title == title)


async def test_after_sigkill_a_notice_and_restore_action_bring_the_work_back_beside_ruff(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_with_unsaved(workspace, state_dir, editors)
    second = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    app, other = second.uri("app.py"), second.uri("other.py")
    await second.wait_for(lambda: bool(notices(second, app)) and bool(notices(second, other)))
    (notice,) = notices(second, other)
    assert notice.severity == t.DiagnosticSeverity.Information
    assert notice.range.start.line == 0
    assert re.fullmatch(
        r"Unsaved work from a session that ended \d\d:\d\d: \+1 line against the file on disk",
        notice.message,
    ), notice.message

    second.open("app.py")
    await second.wait_for(
        lambda: (
            "F401" in ruff_codes(second, app) and "open editor" in notices(second, app)[0].message
        )
    )
    # One publication holds both: ruff's finding did not erase the notice, nor the reverse.
    assert [d.source for d in second.client.diagnostics[app]].count(SOURCE) == 1

    actions = await code_actions(second, app, 0)
    restore = titled(actions, "Restore unsaved work")
    assert restore.kind == "quickfix" and restore.is_preferred
    assert restore.diagnostics and restore.diagnostics[0].source == SOURCE
    titled(actions, "Dismiss unsaved work in this file")
    assert "Compare with recovered text" not in [a.title for a in actions], (
        "a plain client has no diff view for it"
    )
    source = await code_actions(second, app, 0, only=["source"])
    assert not [a for a in source if a.kind in CHECKPOINT_KINDS], "they need the extension"

    done = await run(second, restore)
    assert done["restored"] == [app]
    assert second.docs[app].source == typed[app]
    assert (workspace / "app.py").read_text() == "import os\n", "disk untouched"
    await second.wait_for(lambda: not notices(second, app))
    await second.wait_for(lambda: "F401" in ruff_codes(second, app))
    assert notices(second, other), "the other file's work still waits"
    await stop_editor(second)


async def test_dismiss_takes_the_notice_off_that_file_only(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    await crash_with_unsaved(workspace, state_dir, editors)
    second = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    app, other = second.uri("app.py"), second.uri("other.py")
    await second.wait_for(lambda: bool(notices(second, app)))
    second.open("app.py")
    await second.wait_for(lambda: "F401" in ruff_codes(second, app))

    await run(
        second, titled(await code_actions(second, app, 0), "Dismiss unsaved work in this file")
    )
    await second.wait_for(lambda: not notices(second, app))
    assert "F401" in ruff_codes(second, app), "ruff's findings stay"
    assert notices(second, other)
    assert "Restore unsaved work" not in [a.title for a in await code_actions(second, app, 0)]
    left = await second.command("shim.checkRecovery")
    assert [f["uri"] for f in left["offered"]] == [other]
    await stop_editor(second)


async def test_typing_the_recovered_text_back_takes_the_notice_off(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    typed = await crash_with_unsaved(workspace, state_dir, editors)
    second = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    other = second.uri("other.py")
    await second.wait_for(lambda: bool(notices(second, other)))
    second.open("other.py")
    second.type(other, 1, 0, "unsaved_in_other = 1\n")
    assert second.docs[other].source == typed[other]
    await second.wait_for(lambda: not notices(second, other))
    await stop_editor(second)


async def test_the_extension_is_offered_its_own_commands_and_checkpoint_source_actions(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    await crash_with_unsaved(workspace, state_dir, editors)
    second = await editors.start(workspace, state_dir, capabilities=EXTENSION)
    app = second.uri("app.py")
    await second.wait_for(lambda: bool(notices(second, app)))
    second.open("app.py")
    actions = await code_actions(second, app, 0)
    commands = {a.title: a.command for a in actions if a.kind == "quickfix" and a.command}
    restore = commands["Restore unsaved work"]
    assert restore is not None and restore.command == "shim.restoreRecoveredText"
    args: list[Any] = list(restore.arguments or [])
    assert (args[0]["uris"], args[0]["action"]) == ([app], "restore")
    compare = commands["Compare with recovered text"]
    assert compare is not None and compare.command == "shim.reviewRecovery"
    args = list(compare.arguments or [])
    assert args[0]["uri"] == app

    await second.command("shim.forceCheckpoint", {"label": "holds app.py"})
    (workspace / "new.py").write_text("n = 1\n")
    new = second.open("new.py")
    source = await code_actions(second, app, 3, only=["source"])
    by_kind = {a.kind: a for a in source}
    assert by_kind["source.shim.compareCheckpoint"].title == "Compare with checkpoint\u2026"
    compare_cp = by_kind["source.shim.compareCheckpoint"].command
    assert compare_cp is not None and compare_cp.command == "shim.compareFileWithCheckpoint"
    assert list(compare_cp.arguments or []) == [{"uri": app}]
    restore_cp = by_kind["source.shim.restoreCheckpoint"].command
    assert restore_cp is not None and restore_cp.command == "shim.restoreFromCheckpoint"
    offered = await code_actions(second, new, 0, only=["source"])
    assert not [a for a in offered if a.kind in CHECKPOINT_KINDS], "no checkpoint holds it"

    await second.command("shim.forceCheckpoint", {"label": "holds new.py"})
    kinds = {a.kind for a in await code_actions(second, new, 0, only=["source"])}
    assert set(CHECKPOINT_KINDS) <= kinds, "a new checkpoint makes the cached answer stale"
    await stop_editor(second)


async def test_a_neovim_like_client_restores_through_the_server_command_alone(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """No showDocument, no documentChanges, no extension: Restore and Dismiss are the server's
    own command, and nothing is offered that needs the extension's diff or pickers."""
    typed = await crash_with_unsaved(workspace, state_dir, editors)
    second = await editors.start(workspace, state_dir, capabilities=NO_RESOLVE)
    app = second.uri("app.py")
    await second.wait_for(lambda: bool(notices(second, app)))
    second.open("app.py")
    actions = await code_actions(second, app, 0)
    assert [a.title for a in actions if a.diagnostics and a.diagnostics[0].source == SOURCE] == [
        "Restore unsaved work",
        "Dismiss unsaved work in this file",
    ]
    recovery = [a for a in actions if a.diagnostics and a.diagnostics[0].source == SOURCE]
    assert {a.command.command for a in recovery if a.command} == {"shim.recoverSession"}
    await run(second, titled(actions, "Restore unsaved work"))
    assert second.docs[app].source == typed[app]
    await second.wait_for(lambda: not notices(second, app))
    await stop_editor(second)
