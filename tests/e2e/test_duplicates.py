"""Duplicate code through the real server and the real jscpd (editor-client's node_modules,
installed by ``npm ci``): both sides reported, each pointing at its twin, the action that opens
it, and what is never handed to the detector."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import attrs
import pytest
from harness import CAPABILITIES, NEOVIM_07, Editor, Editors
from lsprotocol import types as t

REPO = Path(__file__).resolve().parents[2]
JSCPD = REPO / "editor-client" / "node_modules" / "jscpd"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not JSCPD.is_dir(),
    reason="needs node and editor-client's npm packages (scripts/test installs them)",
)

BLOCK = """\
    total = 0
    for item in items:
        if item.price > 10:
            total += item.price * 2
        else:
            total -= item.price
    label = "sum: " + str(total)
    print(label, len(items))
    return total * 3 + len(items)
"""

LITERALS = t.TextDocumentClientCapabilities(
    code_action=t.CodeActionClientCapabilities(
        code_action_literal_support=t.ClientCodeActionLiteralOptions(
            code_action_kind=t.ClientCodeActionKindOptions(value_set=["", "quickfix", "source"])
        )
    ),
)
VS_CODE = attrs.evolve(
    CAPABILITIES,
    text_document=attrs.evolve(
        LITERALS,
        publish_diagnostics=t.PublishDiagnosticsClientCapabilities(related_information=True),
    ),
    window=t.WindowClientCapabilities(
        work_done_progress=True, show_document=t.ShowDocumentClientCapabilities(support=True)
    ),
)
"""Related information, code action literals, showDocument and progress, as VS Code has."""


def twins(workspace: Path) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "first.py").write_text("import os\n\n\ndef first(items):\n" + BLOCK)
    (workspace / "second.py").write_text('"""Other."""\n\nX = 1\n\n\ndef second(items):\n' + BLOCK)


def settings(**more: Any) -> dict[str, Any]:
    return {"duplicatesJscpd": str(JSCPD), **more}


def ours(editor: Editor, uri: str) -> list[t.Diagnostic]:
    return [d for d in editor.client.diagnostics.get(uri, []) if d.source == "SHIM duplicates"]


async def test_both_sides_are_reported_with_their_twin_and_an_action_that_opens_it(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    twins(workspace)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE, settings=settings())
    answer = await editor.command("shim.findDuplicates", {})
    assert answer["duplicates"] == 1 and answer["files"] == 2
    first, second = editor.uri("pkg/first.py"), editor.uri("second.py")
    (here,) = ours(editor, first)
    (there,) = ours(editor, second)
    assert here.severity == t.DiagnosticSeverity.Information and here.code == "duplicate-code"
    assert here.message.startswith("Duplicate code: ") and "second.py:6" in here.message
    assert there.message.endswith("also in pkg/first.py:4")
    assert here.range.start.line == 3 and there.range.start.line == 5
    assert here.range.end.line == there.range.end.line - 2
    (related,) = here.related_information or []
    assert related.location.uri == second and related.location.range == there.range
    (back,) = there.related_information or []
    assert back.location.uri == first and back.location.range == here.range

    actions = await editor.client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=first),
            range=t.Range(
                start=t.Position(line=6, character=0), end=t.Position(line=6, character=0)
            ),
            context=t.CodeActionContext(diagnostics=[]),
        )
    )
    (action,) = [a for a in actions or [] if isinstance(a, t.CodeAction)]
    assert action.title == "Open the duplicate in second.py:6" and action.command is not None
    await editor.command(action.command.command, *(action.command.arguments or []))
    assert editor.shown == [second]
    assert second in editor.docs


async def test_findings_follow_a_save_that_removes_the_duplicate(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    twins(workspace)
    (workspace / "third.py").write_text("def third(items):\n" + BLOCK)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE, settings=settings())
    answer = await editor.command("shim.findDuplicates", {})
    # A block in three places: one diagnostic per block, each twin of each pair related to it
    # and shown itself (a side that two pairs share is one diagnostic naming both twins).
    shown = {
        (uri, d.range.start.line): d
        for uri in map(editor.uri, ("pkg/first.py", "second.py", "third.py"))
        for d in ours(editor, uri)
    }
    assert len(shown) == 3
    links = {
        (here, (r.location.uri, r.location.range.start.line))
        for here, d in shown.items()
        for r in d.related_information or []
    }
    assert all((there, here) in links for here, there in links), "each side names its twin"
    pairs = {frozenset(link) for link in links}
    assert len(pairs) == answer["duplicates"] and all(p <= shown.keys() for p in pairs)
    second = editor.uri("second.py")
    (workspace / "second.py").write_text("X = 1\n")
    editor.open("second.py", "X = 1\n")
    editor.save(second)
    await editor.wait_for(lambda: not ours(editor, second), timeout=30)
    first, third = editor.uri("pkg/first.py"), editor.uri("third.py")

    def twins_of_first() -> list[str]:
        return [r.location.uri for d in ours(editor, first) for r in d.related_information or []]

    # Each file's diagnostics are published on their own: first.py's may come a moment later.
    await editor.wait_for(lambda: twins_of_first() == [third], timeout=10)
    assert len(ours(editor, first)) == 1


async def test_without_related_information_or_show_document_the_message_names_the_twin(
    workspace: Path, state_dir: Path, editors: Editors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neovim 0.7's capabilities (no settings pulled): jscpd is the one on PATH."""
    twins(workspace)
    monkeypatch.setenv("PATH", f"{JSCPD.parent / '.bin'}{os.pathsep}{os.environ['PATH']}")
    neovim = attrs.evolve(NEOVIM_07, text_document=LITERALS)
    editor = await editors.start(workspace, state_dir, capabilities=neovim)
    await editor.command("shim.findDuplicates", {})
    first = editor.uri("pkg/first.py")
    (here,) = ours(editor, first)
    assert "second.py:6" in here.message and here.related_information is None
    actions = await editor.client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=first),
            range=here.range,
            context=t.CodeActionContext(diagnostics=[here]),
        )
    )
    assert not actions  # nothing it could open


def spy(path: Path, log: Path) -> Path:
    """A "node" that keeps what it is handed on stdin, then runs the real node on it."""
    node = shutil.which("node")
    path.write_text(f'#!/bin/sh\ntee "{log}" | exec "{node}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


async def test_secret_excluded_ignored_and_outside_files_are_never_handed_to_jscpd(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    twins(workspace)
    copy = "def third(items):\n" + BLOCK
    (workspace / "api_secret.py").write_text(copy)
    (workspace / "vendored").mkdir()
    (workspace / "vendored" / "lib.py").write_text(copy)
    (workspace / ".gitignore").write_text("generated.py\n")
    (workspace / "generated.py").write_text(copy)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "elsewhere.py").write_text(copy)
    os.symlink(outside / "elsewhere.py", workspace / "linked.py")
    os.symlink(outside, workspace / "linked_folder")
    handed = tmp_path / "stdin.json"
    node = spy(tmp_path / "node", handed)
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=VS_CODE,
        settings=settings(
            duplicatesNode=str(node), secretGlobs=["*_secret.py"], excludeGlobs=["vendored/"]
        ),
    )
    answer = await editor.command("shim.findDuplicates", {})
    assert answer["duplicates"] == 1
    request = json.loads(handed.read_text())
    assert sorted(Path(f["id"]).relative_to(workspace).as_posix() for f in request["files"]) == [
        "pkg/first.py",
        "second.py",
    ]
    assert "third" not in handed.read_text()
    reported = {uri for uri in editor.client.diagnostics if ours(editor, uri)}
    assert reported == {editor.uri("pkg/first.py"), editor.uri("second.py")}


async def test_a_missing_detector_is_one_message_and_ruff_keeps_serving(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    twins(workspace)
    (workspace / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    missing = workspace / "no" / "node"
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings=settings(duplicatesNode=str(missing))
    )
    answer = await editor.command("shim.findDuplicates", {})
    assert "Node.js not found" in answer["problem"]
    await editor.command("shim.findDuplicates", {})
    told = [m for m in editor.shown_messages if "Node.js not found" in m]
    assert len(told) == 1 and "duplicatesNode" in told[0] and "everything else works" in told[0]
    uri = editor.open("a.py", "import os\n")
    await editor.wait_for(
        lambda: [d.code for d in editor.client.diagnostics.get(uri, [])] == ["F401"]
    )


async def test_duplicates_enabled_runs_at_start_unasked_and_off_clears_them(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    twins(workspace)
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings=settings(duplicatesEnabled=True)
    )
    second = editor.uri("second.py")
    await editor.wait_for(lambda: bool(ours(editor, second)), timeout=30)
    # Turned off (and never asked for): nothing would keep them fresh, so they go.
    editor.client.set_configuration({"shim": settings(duplicatesEnabled=False)})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    await editor.wait_for(lambda: not ours(editor, second))


async def test_findings_go_when_detection_fails_after_they_were_shown(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    twins(workspace)
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE, settings=settings())
    await editor.command("shim.findDuplicates", {})
    first, second = editor.uri("pkg/first.py"), editor.uri("second.py")
    assert ours(editor, first) and ours(editor, second)
    # A broken detector: "detection is off", so what it found before must not stay, stale.
    broken = settings(duplicatesNode=str(workspace / "no" / "node"))
    editor.client.set_configuration({"shim": broken})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    await editor.wait_for(lambda: any("Node.js not found" in m for m in editor.shown_messages))
    await editor.wait_for(lambda: not ours(editor, first) and not ours(editor, second))


async def _slow_run(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> tuple[Editor, asyncio.Future[Any], int]:
    """A duplicate run whose detector (a ``node`` that sleeps) has started: the editor, the
    command's answer to come, and the detector's pid."""
    twins(workspace)
    started = tmp_path / "started"
    slow = tmp_path / "node"
    slow.write_text(f'#!/bin/sh\necho $$ > "{started}"\nexec sleep 120\n')
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings=settings(duplicatesNode=str(slow))
    )
    run = asyncio.ensure_future(
        editor.client.workspace_execute_command_async(
            t.ExecuteCommandParams(
                command="shim.findDuplicates", arguments=[{}], work_done_token="dup-token"
            )
        )
    )
    await editor.wait_for(lambda: started.exists() and bool(started.read_text().strip()))
    return editor, run, int(started.read_text())


async def test_cancel_from_the_progress_stops_jscpd(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    editor, run, pid = await _slow_run(workspace, state_dir, editors, tmp_path)
    await editor.wait_for(lambda: bool(editor.client.progress_reports.get("dup-token")))
    begin = editor.client.progress_reports["dup-token"][0]
    assert isinstance(begin, t.WorkDoneProgressBegin) and begin.cancellable
    editor.client.window_work_done_progress_cancel(
        t.WorkDoneProgressCancelParams(token="dup-token")
    )
    answer = await asyncio.wait_for(run, 15)
    assert answer["cancelled"] is True
    await editor.wait_for(lambda: not _alive(pid), timeout=5)


async def test_closing_the_editor_during_a_run_shuts_down_cleanly_and_stops_jscpd(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """pygls cancelled the running command inside its shutdown loop, which then failed
    ("dictionary changed size during iteration"): the editor got an error for ``shutdown``."""
    editor, run, pid = await _slow_run(workspace, state_dir, editors, tmp_path)
    await asyncio.wait_for(editor.client.shutdown_async(None), 10)  # an error would raise
    editor.client.exit(None)
    server = editor.client._server
    assert server is not None and await asyncio.wait_for(server.wait(), 10) == 0
    await editor.wait_for(lambda: not _alive(pid), timeout=5)
    run.cancel()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat_file:  # a zombie is gone, waiting to be reaped
        return stat_file.read().split()[2] != "Z"
