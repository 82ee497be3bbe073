"""Codemods through the real server: code actions, workspace runs, preview, undo, faults."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from harness import NEOVIM_07, Editor, Editors, stop_editor
from lsprotocol import types as t
from pygls.exceptions import JsonRpcInvalidParams

UNIT_TESTS = Path(__file__).parents[1] / "unit"

TEST_FILE = """import unittest


class T(unittest.TestCase):
    def test_one(self):
        self.assertEqual(1, 1)

    def test_two(self):
        self.assertTrue(2)
"""


async def listed(editor: Editor, name: str) -> None:
    """Wait until the server lists a codemod (user modules arrive with the settings)."""
    for _ in range(100):
        found = await editor.command("shim.listCodemods")
        names = {c["name"] for c in found["codemods"]}
        if name in names:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{name} never listed; the server lists {sorted(names)}, {found['problems']}"
    )


async def actions(editor: Editor, uri: str, rng: t.Range) -> list[t.CodeAction]:
    found = await editor.client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=t.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in found or [] if isinstance(a, t.CodeAction)]


def whole(line: int) -> t.Range:
    return t.Range(
        start=t.Position(line=line, character=0), end=t.Position(line=line + 1, character=0)
    )


async def test_code_action_resolves_to_a_minimal_edit_of_the_unsaved_buffer(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "test_a.py").write_text("x = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("test_a.py", TEST_FILE)  # unsaved text differs from the disk
    offered = [
        a
        for a in await actions(editor, uri, whole(5))
        if a.kind == t.CodeActionKind.RefactorRewrite
    ]
    titles = [a.title for a in offered]
    assert "Apply codemod: unittest assertions to plain assert" in titles
    assert all(a.edit is None for a in offered)
    chosen = next(
        a for a in offered if a.title == "Apply codemod: unittest assertions to plain assert"
    )

    resolved = await editor.client.code_action_resolve_async(chosen)
    assert resolved.edit is not None and resolved.edit.document_changes
    (change,) = resolved.edit.document_changes
    assert isinstance(change, t.TextDocumentEdit)
    assert change.text_document.version == editor.docs[uri].version
    (edit,) = change.edits  # the selection covers test_one only
    assert isinstance(edit, t.TextEdit)
    assert edit.new_text == "        assert 1 == 1\n"
    editor.change(uri, t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    assert "assert 1 == 1" in editor.docs[uri].source
    assert "self.assertTrue(2)" in editor.docs[uri].source
    assert (workspace / "test_a.py").read_text() == "x = 1\n"
    await stop_editor(editor)


async def test_a_selection_gets_the_imports_and_logger_its_change_needs(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    uri = editor.open(
        "tool.py", "import os\n\n\ndef a():\n    print('a')\n\n\ndef b():\n    print('b')\n"
    )
    offered = await actions(editor, uri, whole(8))
    chosen = next(a for a in offered if a.title == "Apply codemod: print() calls to logging")
    resolved = await editor.client.code_action_resolve_async(chosen)
    assert resolved.edit is not None and resolved.edit.document_changes
    (change,) = resolved.edit.document_changes
    assert isinstance(change, t.TextDocumentEdit)
    for edit in reversed(change.edits):
        assert isinstance(edit, t.TextEdit)
        editor.change(uri, t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    assert editor.docs[uri].source == (
        "import os\nimport logging\n\nlogger = logging.getLogger(__name__)\n\n\n"
        "def a():\n    print('a')\n\n\ndef b():\n    logger.info('b')\n"
    )
    await stop_editor(editor)


async def test_workspace_run_with_progress_preview_and_undo(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "test_b.py").write_text(TEST_FILE)
    (workspace / "pkg" / "plain.py").write_text("value = 1\n")
    (workspace / "test_c.py").write_text("x = 1\n")
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=t.ClientCapabilities(
            workspace=t.WorkspaceClientCapabilities(
                apply_edit=True,
                workspace_edit=t.WorkspaceEditClientCapabilities(
                    document_changes=True,
                    change_annotation_support=t.ChangeAnnotationsSupportOptions(),
                ),
            ),
            window=t.WindowClientCapabilities(work_done_progress=True),
        ),
    )
    open_uri = editor.open("test_c.py", TEST_FILE)  # transformed from its unsaved text
    result = await editor.command(
        "shim.runCodemod", {"name": "unittest_to_assert", "scope": "workspace", "preview": True}
    )
    assert result["summary"] == "2 changed, 1 unchanged, 0 skipped, 0 failed"
    assert result["applied"] is True
    params = editor.edits[-1]
    assert params.edit.change_annotations is not None
    (annotation,) = params.edit.change_annotations.values()
    assert annotation.needs_confirmation is True
    assert all(
        isinstance(e, t.AnnotatedTextEdit)
        for c in params.edit.document_changes or []
        if isinstance(c, t.TextDocumentEdit)
        for e in c.edits
    )
    assert "assert 1 == 1" in editor.docs[open_uri].source
    other = editor.uri("pkg/test_b.py")
    assert "assert 2" in editor.docs[other].source
    reports = [p for ps in editor.client.progress_reports.values() for p in ps]
    assert any(getattr(r, "kind", "") == "begin" for r in reports)
    assert any(" files" in str(getattr(r, "message", "")) for r in reports)
    labels = [c["label"] for c in await editor.command("shim.listCheckpoints")]
    assert "before codemod unittest_to_assert" in labels

    editor.type(other, 0, 0, "# edited after the codemod\n")
    undone = await editor.command("shim.undoCodemod", {"batch": result["batch"]})
    assert undone["undone"] == [open_uri]
    assert [r["uri"] for r in undone["refused"]] == [other]
    assert "changed since" in undone["refused"][0]["reason"]
    assert editor.docs[open_uri].source == TEST_FILE
    await stop_editor(editor)


async def test_undoing_a_rename_is_all_or_nothing_unless_forced(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    # Undoing the rename in a.py and pkg/mod.py but not in the edited b.py would leave b.py
    # importing a name that no longer exists.
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pkg" / "mod.py").write_text("class Thing: ...\n")
    for name in ("a.py", "b.py"):
        (workspace / name).write_text("from pkg.mod import Thing\nThing()\n")
    editor = await editors.start(workspace, state_dir)
    result = await editor.command(
        "shim.runCodemod",
        {"name": "rename_symbol", "args": {"old_name": "pkg.mod.Thing", "new_name": "Widget"}},
    )
    assert result["summary"] == "3 changed, 1 unchanged, 0 skipped, 0 failed"
    a, b, mod = editor.uri("a.py"), editor.uri("b.py"), editor.uri("pkg/mod.py")
    renamed = {uri: editor.docs[uri].source for uri in (a, mod)}
    editor.type(b, 0, 0, "# edited after the rename\n")

    undone = await editor.command("shim.undoCodemod", {"batch": result["batch"]})
    assert undone["applied"] is False and undone["undone"] == []
    assert [r["uri"] for r in undone["refused"]] == [b]
    assert "changed since" in undone["refused"][0]["reason"]
    assert "rename_symbol's changes go together" in undone["reason"]
    assert {uri: editor.docs[uri].source for uri in (a, mod)} == renamed

    forced = await editor.command("shim.undoCodemod", {"batch": result["batch"], "force": True})
    assert forced["applied"] is True and sorted(forced["undone"]) == sorted([a, mod])
    assert [r["uri"] for r in forced["refused"]] == [b]
    assert editor.docs[mod].source == "class Thing: ...\n"
    await stop_editor(editor)


async def test_a_codemod_run_can_be_undone_after_the_server_restarts(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "test_d.py").write_text(TEST_FILE)
    editor = await editors.start(workspace, state_dir)
    result = await editor.command("shim.runCodemod", {"name": "unittest_to_assert"})
    assert result["applied"] is True
    uri = editor.uri("test_d.py")
    editor.save(uri)  # the changed file, saved as the user would
    await stop_editor(editor)

    editor = await editors.start(workspace, state_dir)
    undone = await editor.command("shim.undoCodemod", {"batch": result["batch"]})
    assert undone["undone"] == [uri] and undone["refused"] == []
    assert undone["checkpoint"] == result["checkpoint"]
    assert editor.docs[uri].source == TEST_FILE
    with pytest.raises(Exception, match="no codemod batch"):
        await editor.command("shim.undoCodemod", {"batch": result["batch"]})
    await stop_editor(editor)


async def test_a_run_lists_the_files_a_codemod_skipped_with_their_reasons(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "api.py").write_text("from net.client import fetch\n\na = fetch(u, **opts)\n")
    (workspace / "notes.py").write_text(
        'from net.client import fetch\nhelp = "net.client.fetch!"\n'
    )
    editor = await editors.start(workspace, state_dir)
    args = {"old_name": "net.client.fetch", "new_name": "get", "positional": "url"}
    result = await editor.command("shim.runCodemod", {"name": "migrate_call", "args": args})
    (skipped,) = result["skipped"]
    assert skipped["path"].endswith("api.py")
    assert "it passes *args or **kwargs; the file is left unchanged" in skipped["reason"]
    (changed,) = result["changed"]
    assert changed.endswith("notes.py")  # the run goes on around the skipped file
    await stop_editor(editor)


@pytest.fixture
def bad_codemods_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets the server import tests/unit/bad_codemods.py, named in codemodModules."""
    paths = [str(UNIT_TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))


async def test_a_crashing_or_hanging_file_is_reported_and_the_server_keeps_answering(
    workspace: Path, state_dir: Path, bad_codemods_env: None, editors: Editors
) -> None:
    (workspace / "boom.py").write_text("x = 'CRASH'\n")
    (workspace / "fine.py").write_text("y = 1\n")
    editor = await editors.start(
        workspace, state_dir, settings={"codemodModules": ["bad_codemods"], "codemodTimeout": 2}
    )
    await listed(editor, "bad_codemods.CrashOnMarker")
    result = await editor.command("shim.runCodemod", {"name": "bad_codemods.CrashOnMarker"})
    assert result["summary"] == "0 changed, 1 unchanged, 0 skipped, 1 failed"
    assert result["failed"][0]["reason"].startswith("its worker process died")
    (workspace / "slow.py").write_text("x = 'HANG'\n")
    hung = await editor.command(
        "shim.runCodemod",
        {
            "name": "bad_codemods.HangOnMarker",
            "scope": "paths",
            "paths": [str(workspace / "slow.py")],
        },
    )
    assert hung["summary"] == "0 changed, 0 unchanged, 0 skipped, 1 failed"
    assert "longer than 2 s" in hung["failed"][0]["reason"]
    status = await editor.command("shim.sessionStatus")
    assert status["storeReady"] is True
    await stop_editor(editor)


async def editor_with_hanging_files(editors: Editors, workspace: Path, state_dir: Path) -> Editor:
    """Files a codemod hangs on, and an editor that shows progress: a run that waits to be
    cancelled."""
    for i in range(6):
        (workspace / f"slow{i}.py").write_text("x = 'HANG'\n")
    editor = await editors.start(
        workspace,
        state_dir,
        settings={"codemodModules": ["bad_codemods"], "codemodTimeout": 60, "codemodJobs": 2},
        capabilities=t.ClientCapabilities(
            workspace=t.WorkspaceClientCapabilities(configuration=True, apply_edit=True),
            window=t.WindowClientCapabilities(work_done_progress=True),
        ),
    )
    await listed(editor, "bad_codemods.HangOnMarker")
    return editor


async def test_a_run_can_be_cancelled_from_its_progress(
    workspace: Path, state_dir: Path, bad_codemods_env: None, editors: Editors
) -> None:
    editor = await editor_with_hanging_files(editors, workspace, state_dir)
    run = asyncio.ensure_future(
        editor.command("shim.runCodemod", {"name": "bad_codemods.HangOnMarker"})
    )
    await editor.wait_for(lambda: bool(editor.client.progress_reports))
    (token,) = editor.client.progress_reports
    editor.client.window_work_done_progress_cancel(t.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(run, 30)
    assert result["cancelled"] is True and result["applied"] is False
    assert result["summary"].endswith("6 not run (cancelled)")
    # the files the cancel stopped are not counted as done
    shown = [getattr(r, "message", None) for r in editor.client.progress_reports[token]]
    assert "6/6 files" not in shown, shown
    await stop_editor(editor)


async def test_a_run_reports_on_the_clients_own_progress_token_and_stops_on_its_cancel(
    workspace: Path, state_dir: Path, bad_codemods_env: None, editors: Editors
) -> None:
    """VS Code shows client-initiated progress as a notification with a Cancel button."""
    editor = await editor_with_hanging_files(editors, workspace, state_dir)
    run = asyncio.ensure_future(
        editor.client.workspace_execute_command_async(
            t.ExecuteCommandParams(
                command="shim.runCodemod",
                arguments=[{"name": "bad_codemods.HangOnMarker"}],
                work_done_token="client-token-1",
            )
        )
    )
    await editor.wait_for(lambda: bool(editor.client.progress_reports))
    assert list(editor.client.progress_reports) == ["client-token-1"], "no token of its own"
    begin = editor.client.progress_reports["client-token-1"][0]
    assert isinstance(begin, t.WorkDoneProgressBegin) and begin.cancellable
    editor.client.window_work_done_progress_cancel(
        t.WorkDoneProgressCancelParams(token="client-token-1")
    )
    result = await asyncio.wait_for(run, 30)
    assert result["cancelled"] is True and result["applied"] is False
    await stop_editor(editor)


async def test_cancel_request_stops_the_run_and_applies_nothing(
    workspace: Path, state_dir: Path, bad_codemods_env: None, editors: Editors
) -> None:
    """``$/cancelRequest`` on shim.runCodemod: no edit ever arrives, the files stay."""
    files = 24  # a second each on 2 workers: the whole run takes 12 s, loaded machine or not
    for i in range(files):
        (workspace / f"f{i}.py").write_text("x = 1\n")
    editor = await editors.start(
        workspace,
        state_dir,
        settings={"codemodModules": ["bad_codemods"], "codemodJobs": 2},
        capabilities=t.ClientCapabilities(
            workspace=t.WorkspaceClientCapabilities(apply_edit=True, configuration=True),
            window=t.WindowClientCapabilities(work_done_progress=True),
        ),
    )
    await listed(editor, "bad_codemods.SlowAddComment")
    reply = asyncio.ensure_future(
        editor.client.protocol.send_request_async(
            t.WORKSPACE_EXECUTE_COMMAND,
            t.ExecuteCommandParams(
                command="shim.runCodemod", arguments=[{"name": "bad_codemods.SlowAddComment"}]
            ),
            msg_id="codemod-run-1",
        )
    )
    await editor.wait_for(lambda: bool(editor.client.progress_reports))
    started = time.monotonic()
    editor.client.protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id="codemod-run-1"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(reply, 10)
    (token,) = editor.client.progress_reports
    await editor.wait_for(
        lambda: isinstance(editor.client.progress_reports[token][-1], t.WorkDoneProgressEnd),
        timeout=10,  # before the whole run could have ended
    )
    await asyncio.sleep(max(0.0, started + 13 - time.monotonic()))  # past the whole run
    assert editor.edits == []
    assert all((workspace / f"f{i}.py").read_text() == "x = 1\n" for i in range(files))


async def test_a_run_applies_nothing_over_text_changed_while_it_ran(
    workspace: Path, state_dir: Path, bad_codemods_env: None, editors: Editors
) -> None:
    """The codemod's result is made from the text it read: typed or saved since, that text
    is the user's, and the run leaves it (a rename leaves every file)."""
    for name in ("open.py", "disk.py", "other.py"):
        (workspace / name).write_text("x = 1\n")
    editor = await editors.start(
        workspace,
        state_dir,
        settings={"codemodModules": ["bad_codemods"], "codemodJobs": 1},
        capabilities=t.ClientCapabilities(
            workspace=t.WorkspaceClientCapabilities(apply_edit=True, configuration=True),
            window=t.WindowClientCapabilities(work_done_progress=True),
        ),
    )
    await listed(editor, "bad_codemods.SlowAddComment")
    opened = editor.open("open.py")
    run = asyncio.ensure_future(
        editor.command("shim.runCodemod", {"name": "bad_codemods.SlowAddComment"})
    )
    # The first report comes once every file is read; the run then takes 3 s.
    await editor.wait_for(
        lambda: any(
            isinstance(r, t.WorkDoneProgressReport)
            for reports in editor.client.progress_reports.values()
            for r in reports
        )
    )
    editor.type(opened, 1, 0, "typed = 2\n")
    (workspace / "disk.py").write_text("x = 1\nsaved = 3\n")
    result = await asyncio.wait_for(run, 30)
    assert editor.docs[opened].source == "x = 1\ntyped = 2\n"
    assert (workspace / "disk.py").read_text() == "x = 1\nsaved = 3\n"
    assert editor.uri("disk.py") not in editor.docs or (
        editor.docs[editor.uri("disk.py")].source == "x = 1\nsaved = 3\n"
    )
    skipped = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    assert skipped == {
        "open.py": "changed while the codemod ran; left as it is",
        "disk.py": "changed while the codemod ran; left as it is",
    }
    assert result["changed"] == [editor.uri("other.py")]
    await stop_editor(editor)


async def test_a_link_named_in_paths_changes_its_target_inside_the_workspace_only(
    workspace: Path, state_dir: Path, tmp_path: Path, editors: Editors
) -> None:
    (workspace / "real.py").write_text(TEST_FILE)
    (workspace / "alias.py").symlink_to("real.py")
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(TEST_FILE)
    (workspace / "out.py").symlink_to(elsewhere)
    editor = await editors.start(workspace, state_dir)
    result = await editor.command(
        "shim.runCodemod", {"name": "unittest_to_assert", "scope": "paths", "paths": ["alias.py"]}
    )
    assert result["changed"] == [editor.uri("real.py")]
    assert (workspace / "alias.py").is_symlink()
    with pytest.raises(JsonRpcInvalidParams, match=r"paths outside the workspace: .*out\.py"):
        await editor.command(
            "shim.runCodemod",
            {"name": "unittest_to_assert", "scope": "paths", "paths": ["out.py"]},
        )
    assert editor.uri("out.py") not in editor.docs and elsewhere.read_text() == TEST_FILE
    await stop_editor(editor)


async def test_a_rename_in_a_workspace_folder_above_the_project_renames_its_importers(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    # proj/main.py imports pkg from proj/, not from the workspace folder: a name taken from
    # the workspace ("proj.main") hid its import of the re-export, and half was renamed
    (workspace / "proj" / "pkg").mkdir(parents=True)
    (workspace / "proj" / "pkg" / "__init__.py").write_text("from .mod import Thing\n")
    (workspace / "proj" / "pkg" / "mod.py").write_text("class Thing: ...\n")
    (workspace / "proj" / "main.py").write_text("from pkg import Thing\nThing()\n")
    editor = await editors.start(workspace, state_dir)
    result = await editor.command(
        "shim.runCodemod",
        {"name": "rename_symbol", "args": {"old_name": "pkg.mod.Thing", "new_name": "Widget"}},
    )
    assert result["summary"] == "3 changed, 0 unchanged, 0 skipped, 0 failed"
    assert editor.docs[editor.uri("proj/main.py")].source == "from pkg import Widget\nWidget()\n"
    found = await editor.command("shim.moduleName", {"uri": editor.uri("proj/main.py")})
    assert found == {"module": "main"}
    await stop_editor(editor)


async def test_a_rename_over_part_of_the_workspace_applies_nothing_and_names_the_rest(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    # the tests alone, or "This file" on the definition: either half breaks the imports
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pkg" / "mod.py").write_text("class Thing: ...\n")
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_a.py").write_text("from pkg.mod import Thing\nThing()\n")
    editor = await editors.start(workspace, state_dir)
    args = {"old_name": "pkg.mod.Thing", "new_name": "Widget"}
    tests_only = await editor.command(
        "shim.runCodemod",
        {"name": "rename_symbol", "args": args, "scope": "paths", "paths": ["tests"]},
    )
    definition_only = await editor.command(
        "shim.runCodemod",
        {
            "name": "rename_symbol",
            "args": args,
            "scope": "document",
            "uri": editor.uri("pkg/mod.py"),
        },
    )
    for result, left_out in ((tests_only, "pkg/mod.py"), (definition_only, "tests/test_a.py")):
        assert result["applied"] is False and result["changed"] == []
        (failed,) = result["failed"]
        assert failed["path"] == str(workspace / left_out)
        assert failed["reason"].endswith(
            "is not among the files of this run: include it (nothing was changed)"
        )
    assert (workspace / "pkg" / "mod.py").read_text() == "class Thing: ...\n"
    await stop_editor(editor)


def cursor(line: int, character: int = 0) -> t.Range:
    at = t.Position(line=line, character=character)
    return t.Range(start=at, end=at)


def changed_lines(action: t.CodeAction) -> set[int]:
    assert action.edit is not None and action.edit.document_changes
    (change,) = action.edit.document_changes
    assert isinstance(change, t.TextDocumentEdit)
    return {line for e in change.edits for line in range(e.range.start.line, e.range.end.line)}


async def test_a_cursor_on_an_unrelated_line_raises_no_rewrite_of_elsewhere(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("test_a.py", TEST_FILE)
    on_import = await actions(editor, uri, cursor(0, 3))
    assert [a.title for a in on_import if a.kind == t.CodeActionKind.RefactorRewrite] == []
    # The whole-file rewrite is a source action: in the Source Action menu, no light bulb.
    (whole_file,) = [a for a in on_import if "unittest assertions to plain assert" in a.title]
    assert str(whole_file.kind).startswith("source.")
    resolved = await editor.client.code_action_resolve_async(whole_file)
    assert changed_lines(resolved) == {5, 8}

    on_assert = await actions(editor, uri, cursor(8, 10))
    (here,) = [a for a in on_assert if a.kind == t.CodeActionKind.RefactorRewrite]
    assert changed_lines(await editor.client.code_action_resolve_async(here)) == {8}


async def test_a_line_that_only_receives_a_needed_import_offers_no_rewrite(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """print_to_logging adds ``import logging`` after line 0: the light bulb on line 0 would
    apply nothing there (the import alone is no change of that line), so none is offered."""
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("util.py", 'import app\n\nx = app.greet("y")\nprint("value: %s" % x)\n')
    on_import = await actions(editor, uri, cursor(0, 3))
    assert [a.title for a in on_import if a.kind == t.CodeActionKind.RefactorRewrite] == []
    on_print = await actions(editor, uri, cursor(3, 2))
    titles = [a.title for a in on_print if a.kind == t.CodeActionKind.RefactorRewrite]
    assert "Apply codemod: print() calls to logging" in titles
    await stop_editor(editor)


async def test_no_codemod_is_offered_where_it_would_change_nothing(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    text = '"""A module whose docstring says "print" and "unittest"."""\n\nVALUE = 1\n'
    uri = editor.open("plain.py", text)
    for rng in (
        cursor(0, 5),
        whole(0),
        t.Range(start=t.Position(line=0, character=0), end=t.Position(line=3, character=0)),
    ):
        assert [a.title for a in await actions(editor, uri, rng)] == []


async def test_a_client_without_document_changes_gets_a_codemod_action_by_changes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Neovim 0.7 announces no workspaceEdit.documentChanges: the edit comes by ``changes``."""
    editor = await editors.start(workspace, state_dir, capabilities=NEOVIM_07)
    uri = editor.open("test_a.py", TEST_FILE)
    (here,) = [
        a
        for a in await actions(editor, uri, cursor(8, 10))
        if a.kind == t.CodeActionKind.RefactorRewrite
    ]
    resolved = await editor.client.code_action_resolve_async(here)
    assert resolved.edit is not None and resolved.edit.document_changes is None
    assert resolved.edit.changes is not None
    assert {e.range.start.line for e in resolved.edit.changes[uri]} == {8}


async def test_a_neovim_07_client_gets_a_workspace_run_and_its_undo_by_changes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Run and undo build their edits as code actions do: by ``changes`` where the client
    takes no ``documentChanges``, counted in the negotiated encoding, for open and closed
    files alike."""
    (workspace / "test_a.py").write_text(TEST_FILE)
    (workspace / "test_b.py").write_text(TEST_FILE)
    editor = await editors.start(workspace, state_dir, capabilities=NEOVIM_07)
    open_uri = editor.open("test_a.py", TEST_FILE)
    result = await editor.command("shim.runCodemod", {"name": "unittest_to_assert"})
    assert result["applied"] is True, result
    params = editor.edits[-1]
    assert params.edit.document_changes is None and params.edit.changes is not None
    assert set(params.edit.changes) == {open_uri, editor.uri("test_b.py")}
    assert "assert 1 == 1" in editor.docs[open_uri].source
    undone = await editor.command("shim.undoCodemod", {"batch": result["batch"]})
    assert undone["applied"] is True and undone["refused"] == []
    assert editor.edits[-1].edit.document_changes is None
    assert editor.docs[open_uri].source == TEST_FILE
    await stop_editor(editor)


async def test_a_client_that_cannot_take_the_edit_is_told_before_any_work(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "test_a.py").write_text(TEST_FILE)
    no_edits = await editors.start(
        workspace,
        state_dir,
        capabilities=t.ClientCapabilities(workspace=t.WorkspaceClientCapabilities()),
    )
    with pytest.raises(Exception, match="cannot apply edits from a server"):
        await no_edits.command("shim.runCodemod", {"name": "unittest_to_assert"})
    assert no_edits.edits == []
    await stop_editor(no_edits)
    no_preview = await editors.start(workspace, state_dir, capabilities=NEOVIM_07)
    with pytest.raises(Exception, match="cannot preview a workspace edit"):
        await no_preview.command("shim.runCodemod", {"name": "unittest_to_assert", "preview": True})
    assert no_preview.edits == []
    assert (workspace / "test_a.py").read_text() == TEST_FILE
    await stop_editor(no_preview)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ({"new_name": "b"}, "rename_symbol needs args.old_name"),
        ({"old_name": "a.b", "new_name": "c", "nme": 1}, "rename_symbol takes no args.nme"),
        ({"old_name": 3, "new_name": "c"}, "args.old_name: expected str, got int"),
    ],
)
async def test_codemod_argument_errors_name_the_keys_the_editor_sent(
    args: dict[str, object], said: str, workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    with pytest.raises(JsonRpcInvalidParams) as raised:
        await editor.command("shim.runCodemod", {"name": "rename_symbol", "args": args})
    assert said in str(raised.value) and "shim.runCodemod: " in str(raised.value)
    assert "--arg" not in str(raised.value)
    await stop_editor(editor)


@pytest.mark.parametrize(
    ("name", "args", "said"),
    [
        (
            "migrate_call",
            {"old_name": "pkg.mod.fetch", "add_keywords": "timeout=1)"},
            "add_keywords: timeout's value '1)' is not an expression",
        ),
        (
            "move_module",
            {"old_module": "pkg.old", "new_module": "pkg.other"},
            "new_module pkg.other already exists",
        ),
        ("rename_symbol", {"old_name": "pkg.old.X", "new_name": "class"}, "new_name must be"),
    ],
)
async def test_argument_values_that_cannot_be_used_are_invalid_params_before_any_file_is_read(
    name: str,
    args: dict[str, str],
    said: str,
    workspace: Path,
    state_dir: Path,
    editors: Editors,
) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pkg" / "old.py").write_text("X = 1\n")
    (workspace / "pkg" / "other.py").write_text("Y = 1\n")
    editor = await editors.start(workspace, state_dir)
    with pytest.raises(JsonRpcInvalidParams) as raised:
        await editor.command("shim.runCodemod", {"name": name, "args": args})
    assert said in str(raised.value) and "shim.runCodemod: " in str(raised.value)
    assert editor.edits == []
    await stop_editor(editor)


async def test_a_files_module_name_is_found_as_python_imports_it(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """A package below the workspace folder, and a src/ layout: what a rename's old_name
    starts with, never the folder path."""
    for folder in ("backend/shop", "src/pkg"):
        (workspace / folder).mkdir(parents=True)
        (workspace / folder / "__init__.py").write_text("")
    (workspace / "backend/shop/models.py").write_text("class User: ...\n")
    (workspace / "src/pkg/util.py").write_text("x = 1\n")
    (workspace / "app.py").write_text("y = 1\n")
    editor = await editors.start(workspace, state_dir)
    for name, module in [
        ("backend/shop/models.py", "shop.models"),
        ("src/pkg/util.py", "pkg.util"),
        ("app.py", "app"),
    ]:
        found = await editor.command("shim.moduleName", {"uri": editor.uri(name)})
        assert found == {"module": module}
    with pytest.raises(JsonRpcInvalidParams, match="not a file of this workspace"):
        await editor.command("shim.moduleName", {"uri": "file:///etc/hosts"})
    await stop_editor(editor)
