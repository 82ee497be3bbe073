"""Ruff through the real server: diagnostics of unsaved buffers, their code actions, the
project's configuration, and a ruff that is missing or fails."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import attrs
from harness import CAPABILITIES, Editor, Editors
from lsprotocol import types as t

from shim_lsp.analysis.ruff import find_ruff
from shim_lsp.metrics import exporter

VS_CODE_KINDS = [
    "",
    "quickfix",
    "refactor",
    "refactor.extract",
    "refactor.inline",
    "refactor.rewrite",
    "source",
    "source.organizeImports",
]
"""The code action kinds VS Code announces (``codeActionLiteralSupport``)."""

TEXT_CAPS = t.TextDocumentClientCapabilities(
    code_action=t.CodeActionClientCapabilities(
        code_action_literal_support=t.ClientCodeActionLiteralOptions(
            code_action_kind=t.ClientCodeActionKindOptions(value_set=VS_CODE_KINDS)
        ),
        is_preferred_support=True,
        data_support=True,
        resolve_support=t.ClientCodeActionResolveOptions(properties=["edit"]),
    ),
    publish_diagnostics=t.PublishDiagnosticsClientCapabilities(
        tag_support=t.ClientDiagnosticsTagOptions(
            value_set=[t.DiagnosticTag.Unnecessary, t.DiagnosticTag.Deprecated]
        ),
        code_description_support=True,
        version_support=True,
    ),
)
VS_CODE = attrs.evolve(CAPABILITIES, text_document=TEXT_CAPS)
"""Like VS Code: code action literals, resolved edits, versioned edits, diagnostic tags."""

NO_RESOLVE = t.ClientCapabilities(
    workspace=t.WorkspaceClientCapabilities(apply_edit=True),
    text_document=t.TextDocumentClientCapabilities(
        code_action=t.CodeActionClientCapabilities(
            code_action_literal_support=t.ClientCodeActionLiteralOptions(
                code_action_kind=t.ClientCodeActionKindOptions(value_set=VS_CODE_KINDS)
            )
        )
    ),
)
"""Like Neovim 0.7: code action literals, but no resolve and no ``documentChanges``."""

SELECT_F = '[tool.ruff.lint]\nselect = ["F"]\n'


def codes(editor: Editor, uri: str) -> list[str]:
    return sorted(str(d.code) for d in editor.client.diagnostics.get(uri, []))


async def published(
    editor: Editor, uri: str, expected: Callable[[list[str]], bool], timeout: float = 15.0
) -> list[t.Diagnostic]:
    """Wait until the diagnostics published for ``uri`` have codes that ``expected`` likes."""
    await editor.wait_for(
        lambda: uri in editor.client.diagnostics and expected(codes(editor, uri)), timeout
    )
    return list(editor.client.diagnostics[uri])


async def code_actions(
    editor: Editor, uri: str, line: int, only: Sequence[str] | None = None
) -> list[t.CodeAction]:
    where = t.Range(
        start=t.Position(line=line, character=0), end=t.Position(line=line, character=0)
    )
    found = await editor.client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=where,
            context=t.CodeActionContext(diagnostics=[], only=list(only) if only else None),
        )
    )
    return [a for a in found or [] if isinstance(a, t.CodeAction)]


RUFF_KINDS = ("quickfix", "source.fixAll.shim", "source.organizeImports.shim")


async def ruff_actions(editor: Editor, uri: str, line: int) -> list[t.CodeAction]:
    return [a for a in await code_actions(editor, uri, line) if a.kind in RUFF_KINDS]


def chosen(actions: list[t.CodeAction], title: str) -> t.CodeAction:
    titles = [a.title for a in actions]
    assert title in titles, titles
    return next(a for a in actions if a.title == title)


def apply(editor: Editor, edit: t.WorkspaceEdit | None) -> bool:
    """Apply a code action's edit as VS Code does: not at all when a document it names is at
    another version than the edit was made for; edits of one document from the last up."""
    assert edit is not None
    by_uri: dict[str, Sequence[t.TextEdit | t.AnnotatedTextEdit]] = dict(edit.changes or {})
    for change in edit.document_changes or []:
        assert isinstance(change, t.TextDocumentEdit)
        uri, version = change.text_document.uri, change.text_document.version
        if version is not None and version != editor.docs[uri].version:
            return False
        by_uri[uri] = [e for e in change.edits if isinstance(e, t.TextEdit)]
    for uri, text_edits in by_uri.items():
        for e in sorted(text_edits, key=lambda e: (e.range.start.line, e.range.start.character))[
            ::-1
        ]:
            editor.change(uri, t.TextDocumentContentChangePartial(range=e.range, text=e.new_text))
    return True


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


async def test_diagnostics_are_for_the_unsaved_buffer_with_rule_links_and_tags(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("x = 1\n")
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    # An astral character before the finding: two UTF-16 units, one code point for ruff.
    uri = editor.open("a.py", 's = "\U0001f600"; import os\n')
    (found,) = await published(editor, uri, lambda c: c == ["F401"])
    assert found.range == t.Range(  # "os" is at code point 16: UTF-16 unit 17
        start=t.Position(line=0, character=17), end=t.Position(line=0, character=19)
    )
    assert found.severity == t.DiagnosticSeverity.Warning
    assert found.code_description is not None
    assert found.code_description.href.endswith("/rules/unused-import")
    assert list(found.tags or []) == [t.DiagnosticTag.Unnecessary]
    assert found.source == "SHIM ruff"

    editor.type(uri, 1, 0, "import sys\n")  # a change is checked again, after the pause
    await published(editor, uri, lambda c: c == ["F401", "F401"])
    assert (workspace / "a.py").read_text() == "x = 1\n"


async def test_a_syntax_error_is_an_error_without_a_code_or_actions(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "def f(:\n")
    found = await published(editor, uri, lambda c: len(c) > 0)
    assert {(d.code, d.severity) for d in found} == {(None, t.DiagnosticSeverity.Error)}
    assert all(d.message.startswith("SyntaxError: ") for d in found)
    assert [a for a in await ruff_actions(editor, uri, 0) if a.kind == "quickfix"] == []


async def test_a_quick_fix_applied_removes_its_diagnostic(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import os\nimport sys\n\nprint(sys)\n")
    await published(editor, uri, lambda c: c == ["F401"])
    fix = chosen(await code_actions(editor, uri, 0), "Ruff F401: Remove unused import: `os`")
    assert fix.kind == t.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "F401"
    assert apply(editor, fix.edit)
    assert editor.docs[uri].source == "import sys\n\nprint(sys)\n"
    await published(editor, uri, lambda c: c == [])


async def test_fix_all_applies_every_safe_fix_and_leaves_unsafe_ones(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    text = "import os\nimport sys\n\n\ndef f():\n    unused = 1\n"
    uri = editor.open("a.py", text)
    await published(editor, uri, lambda c: c == ["F401", "F401", "F841"])
    (offered,) = await code_actions(editor, uri, 0, only=["source.fixAll"])
    assert offered.kind == "source.fixAll.shim" and offered.edit is None  # resolved when chosen
    resolved = await editor.client.code_action_resolve_async(offered)
    assert apply(editor, resolved.edit)
    # The imports go (ruff leaves the blank lines after them); F841's fix is unsafe.
    assert editor.docs[uri].source == "\n\ndef f():\n    unused = 1\n"
    await published(editor, uri, lambda c: c == ["F841"])
    titles = [a.title for a in await code_actions(editor, uri, 3, only=["quickfix"])]
    assert titles == ["Suppress with `# noqa: F841`"]  # no unsafe fix unless asked for


async def test_unsafe_fixes_are_offered_when_the_setting_says_so(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings={"ruffUnsafeFixes": True}
    )
    uri = editor.open("a.py", "def f():\n    unused = 1\n")
    await published(editor, uri, lambda c: c == ["F841"])
    titles = [a.title for a in await code_actions(editor, uri, 1)]
    assert any(title.endswith("(unsafe fix)") for title in titles), titles
    (offered,) = await code_actions(editor, uri, 0, only=["source.fixAll"])
    resolved = await editor.client.code_action_resolve_async(offered)
    assert apply(editor, resolved.edit)
    assert editor.docs[uri].source == "def f():\n    pass\n"


async def test_organise_imports_sorts_the_import_block(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)  # I001 not selected: still sorted
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import sys\nimport os\n\nprint(os, sys)\n")
    await published(editor, uri, lambda c: c == [])
    (offered,) = await code_actions(editor, uri, 0, only=["source.organizeImports"])
    assert offered.kind == "source.organizeImports.shim"
    resolved = await editor.client.code_action_resolve_async(offered)
    assert apply(editor, resolved.edit)
    assert editor.docs[uri].source == "import os\nimport sys\n\nprint(os, sys)\n"
    # Sorted already: offered (knowing costs a ruff run), and resolving says so, once.
    await published(editor, uri, lambda c: c == [])
    (again,) = await code_actions(editor, uri, 0, only=["source.organizeImports"])
    assert (await editor.client.code_action_resolve_async(again)).edit is None
    await editor.wait_for(lambda: any("in order" in m for m in editor.shown_messages))
    assert editor.shown_messages[-1] == "SHIM: Organize imports (ruff): the imports are in order."
    # Nothing imported, or a file that does not parse: not offered at all.
    for text in ("print(1)\n", "import os\nx = (\n"):
        other = editor.open(f"{len(text)}.py", text)
        await published(editor, other, lambda c: c in ([], [""], ["None"]))
        kinds = ["source.organizeImports", "source.fixAll"]
        assert await code_actions(editor, other, 0, only=kinds) == [], text


async def test_noqa_is_added_or_appended_and_the_diagnostic_goes(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import os  # noqa: E501\nimport sys\n")
    await published(editor, uri, lambda c: c == ["F401", "F401"])
    appended = chosen(await code_actions(editor, uri, 0), "Suppress with `# noqa: F401`")
    assert apply(editor, appended.edit)
    await published(editor, uri, lambda c: c == ["F401"])
    added = chosen(await code_actions(editor, uri, 1), "Suppress with `# noqa: F401`")
    assert apply(editor, added.edit)
    assert editor.docs[uri].source == "import os  # noqa: E501, F401\nimport sys  # noqa: F401\n"
    await published(editor, uri, lambda c: c == [])


async def test_an_action_offered_for_one_version_is_refused_at_the_next(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import os\n")
    await published(editor, uri, lambda c: c == ["F401"])
    actions = await code_actions(editor, uri, 0)
    fix = chosen(actions, "Ruff F401: Remove unused import: `os`")
    (fix_all,) = await code_actions(editor, uri, 0, only=["source.fixAll"])
    editor.type(uri, 1, 0, "x = 1\n")  # version 2

    assert not apply(editor, fix.edit)  # made for version 1
    resolved = await editor.client.code_action_resolve_async(fix_all)
    assert resolved.edit is None
    assert editor.docs[uri].source == "import os\nx = 1\n"
    await editor.wait_for(
        lambda: any("older version" in m for m in editor.shown_messages), timeout=5
    )


async def test_the_nearest_ruff_configuration_decides(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E741"]\n')
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    top = editor.open("a.py", "import os\nl = 1\n")
    nested = editor.open("pkg/b.py", "import os\nl = 1\n")
    await published(editor, top, lambda c: c == ["F401"])
    await published(editor, nested, lambda c: c == ["E741"])


async def test_a_changed_configuration_applies_to_open_buffers_on_file_events_and_saves(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    config = workspace / "pyproject.toml"
    config.write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import os\nl = 1\n")
    await published(editor, uri, lambda c: c == ["F401"])
    config.write_text('[tool.ruff.lint]\nselect = ["E741"]\n')
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(
            changes=[t.FileEvent(uri=config.as_uri(), type=t.FileChangeType.Changed)]
        )
    )
    await published(editor, uri, lambda c: c == ["E741"])
    config.write_text(SELECT_F)  # no file event this time: the save checks again
    editor.save(uri)
    await published(editor, uri, lambda c: c == ["F401"])


async def test_fix_true_in_the_project_never_rewrites_a_file(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text("[tool.ruff]\nfix = true\n" + SELECT_F)
    text = "import os\nimport sys\n"
    (workspace / "a.py").write_text(text)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py")
    await published(editor, uri, lambda c: c == ["F401", "F401"])
    (fix_all,) = await code_actions(editor, uri, 0, only=["source.fixAll"])
    resolved = await editor.client.code_action_resolve_async(fix_all)
    assert resolved.edit is not None
    editor.save(uri)  # checked again on save
    editor.type(uri, 2, 0, "import re\n")
    await published(editor, uri, lambda c: c == ["F401", "F401", "F401"])
    assert (workspace / "a.py").read_text() == text
    assert sorted(p.name for p in workspace.iterdir()) == ["a.py", "pyproject.toml"]


async def test_a_missing_ruff_is_one_message_and_the_server_keeps_serving(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    missing = workspace / "no" / "ruff"
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings={"ruffPath": str(missing)}
    )
    uri = editor.open("a.py", "import os\n")
    editor.open("b.py", "import sys\n")
    editor.type(uri, 1, 0, "import re\n")
    await editor.wait_for(lambda: any(str(missing) in m for m in editor.shown_messages))
    await asyncio.sleep(0.5)  # the other buffer and the change were checked meanwhile
    told = [m for m in editor.shown_messages if "ruff" in m]
    assert len(told) == 1, told
    assert "ruffPath" in told[0]
    assert any(str(missing) in m.message for m in editor.client.log_messages)
    assert await ruff_actions(editor, uri, 0) == []
    result = await editor.command("shim.forceCheckpoint", {"label": "still here"})
    assert result["buffers"] == 2


async def test_a_failing_ruff_is_one_message_with_what_it_said(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    broken = script(tmp_path / "ruff", "echo 'ruff exploded' >&2\nexit 2")
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings={"ruffPath": str(broken)}
    )
    uri = editor.open("a.py", "import os\n")
    editor.type(uri, 1, 0, "import re\n")
    editor.type(uri, 2, 0, "import sys\n")
    await editor.wait_for(lambda: any("ruff exploded" in m for m in editor.shown_messages))
    await asyncio.sleep(0.5)
    told = [m for m in editor.shown_messages if "ruff" in m]
    assert len(told) == 1 and "exit status 2" in told[0], told
    assert await ruff_actions(editor, uri, 0) == []
    result = await editor.command("shim.forceCheckpoint", {"label": "still here"})
    assert result["buffers"] == 1


async def test_settings_that_are_a_link_leading_out_stop_ruff_for_the_buffers_below_them(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """Ruff reads each folder's pyproject.toml for the file it checks, and quotes it in its
    errors: a link there leading out of the workspace would hand an outside file to the user."""
    outside = tmp_path / "outside.toml"
    outside.write_text('token = "outside-secret"\n[')
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "pyproject.toml").symlink_to(outside)
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    fine = editor.open("b.py", "import os\n")
    await published(editor, fine, lambda c: c == ["F401"])
    uri = editor.open("pkg/a.py", "import os\n")
    await editor.wait_for(lambda: any("leading outside" in m for m in editor.shown_messages))
    (told,) = [m for m in editor.shown_messages if "leading outside" in m]
    assert "pkg/pyproject.toml is a link leading outside the workspace" in told
    assert "ruff was not run" in told
    await asyncio.sleep(1)  # a check that ran would have published by now
    assert codes(editor, uri) == []
    # The workspace run leaves that folder out, said once, and checks the rest.
    (workspace / "c.py").write_text("import sys\n")
    (workspace / "pkg" / "d.py").write_text("import re\n")
    result = await editor.command("shim.analyzeWorkspace")
    assert result["skipped"] == [str(workspace / "pkg")] and "error" not in result, result
    assert codes(editor, editor.uri("c.py")) == ["F401"]
    assert editor.uri("pkg/d.py") not in editor.client.diagnostics
    await editor.command("shim.analyzeWorkspace")
    (note,) = [m for m in editor.shown_messages if "was not analysed" in m]
    assert note.startswith(f"SHIM: {workspace / 'pkg'} was not analysed: its pyproject.toml")
    assert not any("outside-secret" in m for m in editor.shown_messages)


async def test_an_older_result_is_never_published_over_a_newer_one(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    real = find_ruff(None)
    assert isinstance(real, str)
    done = tmp_path / "slow-done"
    # Ruff, slowed down for a text that says SLOW: the older version's answer comes last.
    # Its server does not start, so each version is a ruff check of its own.
    slow = script(
        tmp_path / "ruff",
        'if [ "$1" = server ]; then exit 1; fi\n'
        f'text=$(mktemp)\ncat > "$text"\nif grep -q SLOW "$text"; then sleep 1; fi\n'
        f'"{real}" "$@" < "$text"\nstatus=$?\n'
        f'if grep -q SLOW "$text"; then touch "{done}"; fi\nrm -f "$text"\nexit $status',
    )
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=VS_CODE,
        settings={"ruffPath": str(slow), "ruffDebounce": 0},
    )
    uri = editor.open("a.py", "x = 1\n")
    await published(editor, uri, lambda c: c == [])
    editor.type(uri, 1, 0, "import os  # SLOW\n")  # version 2: its answer comes late
    await asyncio.sleep(0.2)
    editor.change(
        uri,
        t.TextDocumentContentChangePartial(
            range=t.Range(
                start=t.Position(line=1, character=0), end=t.Position(line=2, character=0)
            ),
            text="import sys\n",
        ),
    )  # version 3
    await published(editor, uri, lambda c: c == ["F401"])
    await editor.wait_for(done.exists)
    await asyncio.sleep(0.5)
    (left,) = editor.client.diagnostics[uri]
    assert "sys" in left.message


async def test_typing_is_checked_once_after_the_pause(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    real = find_ruff(None)
    assert isinstance(real, str)
    runs, sent = tmp_path / "runs", tmp_path / "sent"
    # Ruff, counting the checks: its server's pulls (what SHIM sends it), and ruff checks.
    counting = script(
        tmp_path / "ruff",
        f'if [ "$1" = server ]; then tee -a "{sent}" | "{real}" "$@"; exit; fi\n'
        f'echo run >> "{runs}"\nexec "{real}" "$@"',
    )
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=VS_CODE,
        settings={"ruffPath": str(counting), "ruffDebounce": 1.0},
    )
    uri = editor.open("a.py", "x = 1\n")
    await published(editor, uri, lambda c: c == [])
    for column, typed in [(0, "import"), (6, " os"), (9, "\n")]:  # well within the pause
        editor.type(uri, 1, column, typed)
        await asyncio.sleep(0.05)
    await published(editor, uri, lambda c: c == ["F401"])
    assert sent.read_text().count('"textDocument/diagnostic"') == 2  # on open, after typing
    assert runs.read_text().count("run") == 1  # the settings, checked as ruff server starts


def _told(editor: Editor, said: str) -> bool:
    return any(said in m for m in editor.shown_messages)


async def test_changed_settings_check_open_buffers_again(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py", "import os\nl = 1\n")
    await published(editor, uri, lambda c: c == ["F401"])
    for settings, expected in [
        ({"ruffSelect": ["E741"]}, ["E741"]),
        ({"ruffEnabled": False}, []),
        ({"ruffEnabled": True}, ["F401"]),
        ({"ruffSelect": ["E741", "F"], "ruffIgnore": ["F401"]}, ["E741"]),
    ]:
        editor.client.set_configuration({"shim": settings})
        editor.client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings=None)
        )
        await published(editor, uri, expected.__eq__)
    # What ruff refuses is named as the cause: the rule setting, then the file and its line.
    config = workspace / "pyproject.toml"
    for settings, cause in [
        ({"ruffSelect": ["NOPE1"]}, "(setting ruffSelect)"),
        ({"ruffIgnore": ["F401"]}, f"(its configuration {config})"),
    ]:
        if "ruffIgnore" in settings:
            config.write_text("[tool.ruff\n")
        editor.client.set_configuration({"shim": settings})
        editor.client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings=None)
        )
        await editor.wait_for(partial(_told, editor, cause))
    said = [m for m in editor.shown_messages if "exit status 2" in m]
    assert len(said) == 2 and not any("ruffPath" in m for m in said), said
    assert "Unknown rule selector `NOPE1`" in said[0] and "TOML parse error" in said[1], said


async def test_closing_a_buffer_clears_its_diagnostics(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("import os\n")
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("a.py")
    await published(editor, uri, lambda c: c == ["F401"])
    assert ruff_findings(state_dir) == 1
    editor.client.text_document_did_close(
        t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    await published(editor, uri, lambda c: c == [])
    assert ruff_findings(state_dir) == 0  # the metric follows what the editor shows


def ruff_findings(state_dir: Path) -> float:
    (value,) = [
        v
        for name, labels, v in exporter.samples(state_dir / "metrics")
        if name == "shim_analysis_findings" and labels["analysis"] == "ruff"
    ]
    return value


async def test_a_client_without_resolve_or_versioned_edits_gets_whole_edits_at_once(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=NO_RESOLVE)
    uri = editor.open("a.py", "import sys\nimport os\n\nprint(os, sys)\n")
    await published(editor, uri, lambda c: c == [])
    assert await code_actions(editor, uri, 0, only=["source.fixAll"]) == []  # nothing to fix
    (organise,) = await code_actions(editor, uri, 0, only=["source.organizeImports"])
    assert organise.edit is None and organise.command is not None  # a guarded edit
    assert await run(editor, organise) == {"applied": True, "reason": None}
    assert editor.docs[uri].source == "import os\nimport sys\n\nprint(os, sys)\n"


async def run(editor: Editor, action: t.CodeAction) -> Any:
    """Run a code action's command as Neovim 0.7 does."""
    assert action.command is not None
    return await editor.command(action.command.command, *(action.command.arguments or []))


async def test_a_client_without_versioned_edits_never_gets_a_fix_applied_over_newer_text(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Neovim 0.7 applies a plain edit to whatever the buffer holds: a fix chosen after a
    keystroke deleted the line just typed. SHIM runs the fix only at the version it was for."""
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir, capabilities=NO_RESOLVE)
    uri = editor.open("a.py", "import os\nx = 1\n")
    await published(editor, uri, lambda c: c == ["F401"])
    fix = chosen(await code_actions(editor, uri, 0), "Ruff F401: Remove unused import: `os`")
    noqa_ = chosen(await code_actions(editor, uri, 0), "Suppress with `# noqa: F401`")
    assert fix.edit is None and noqa_.edit is None
    editor.type(uri, 0, 0, "KEEP = 'typed by the user'\n")
    answer = await run(editor, fix)
    assert answer["applied"] is False and "a.py changed" in answer["reason"]
    assert editor.docs[uri].source == "KEEP = 'typed by the user'\nimport os\nx = 1\n"
    await editor.wait_for(lambda: any("older version of a.py" in m for m in editor.shown_messages))
    await published(editor, uri, lambda c: c == ["F401"])
    fresh = chosen(await code_actions(editor, uri, 1), "Ruff F401: Remove unused import: `os`")
    assert (await run(editor, fresh))["applied"] is True
    assert editor.docs[uri].source == "KEEP = 'typed by the user'\nx = 1\n"


async def test_a_client_without_code_action_literals_is_offered_none(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py", "import os\n")
    await published(editor, uri, lambda c: c == ["F401"])
    assert await ruff_actions(editor, uri, 0) == []
