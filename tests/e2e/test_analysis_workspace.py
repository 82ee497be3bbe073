"""Analysis beyond one buffer's lint: complexity, the whole workspace (unopened files, progress,
cancel, re-analysis of what changed) and pull diagnostics."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import attrs
import pytest
from harness import Editors
from lsprotocol import types as t
from test_analysis import SELECT_F, TEXT_CAPS, VS_CODE, codes, published

from shim_lsp.analysis import sandbox
from shim_lsp.analysis.ruff import find_ruff


def branchy(name: str, branches: int) -> str:
    """A function whose cyclomatic complexity is ``branches + 1``."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(branches))
    return f"def {name}(x):\n{body}    return -1\n"


async def test_a_function_over_the_threshold_gets_information_with_its_score(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings={"complexityThreshold": 3}
    )
    uri = editor.open("a.py", branchy("tangled", 4) + "\n\n" + branchy("plain", 2))
    (found,) = await published(editor, uri, lambda c: c == ["C901"])
    assert found.severity == t.DiagnosticSeverity.Information
    assert found.message == "`tangled` has a cyclomatic complexity of 5 (threshold 3)"
    assert found.range.start == t.Position(line=0, character=4)


async def test_the_setting_wins_over_the_projects_mccabe_and_turning_it_off_keeps_the_projects(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(
        '[tool.ruff.lint]\nselect = ["F", "C901"]\n[tool.ruff.lint.mccabe]\nmax-complexity = 20\n'
    )
    text = branchy("tangled", 12)
    on = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = on.open("a.py", text)
    (found,) = await published(on, uri, lambda c: c == ["C901"])
    assert found.message.endswith("of 13 (threshold 10)")
    off = await editors.start(
        workspace, state_dir / "off", capabilities=VS_CODE, settings={"complexityEnabled": False}
    )
    uri = off.open("a.py", text + "import os\n")
    await published(off, uri, lambda c: c == ["F401"])
    assert codes(off, uri) == ["F401"], "the project's threshold (20) is not reached"


PROGRESS = attrs.evolve(
    VS_CODE,
    window=t.WindowClientCapabilities(
        work_done_progress=True, show_document=t.ShowDocumentClientCapabilities(support=True)
    ),
)
PULLS = attrs.evolve(
    PROGRESS,
    text_document=attrs.evolve(
        TEXT_CAPS, diagnostic=t.DiagnosticClientCapabilities(related_document_support=False)
    ),
    workspace=attrs.evolve(
        PROGRESS.workspace or t.WorkspaceClientCapabilities(),
        diagnostics=t.DiagnosticWorkspaceClientCapabilities(refresh_support=True),
    ),
)
"""Like VS Code with vscode-languageclient 10: pulls diagnostics, takes refresh requests."""


def logging_ruff(tmp: Path) -> tuple[Path, Path]:
    """A ruff that logs its arguments (one line a run) and then runs the real one."""
    real = find_ruff(None)
    assert isinstance(real, str)
    log = tmp / "ruff-runs.log"
    script = tmp / "ruff-logged"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def tree(workspace: Path, outside: Path) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("import os\n")
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "b.py").write_text("import sys\n")
    (workspace / "pkg" / "c.py").write_text("print(1)\n")
    outside.mkdir()
    (outside / "secret.py").write_text("import json\n")
    (workspace / "linked.py").symlink_to(outside / "secret.py")


async def test_the_workspace_run_shows_unopened_files_with_progress_and_buffers_text(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    ruff, runs = logging_ruff(tmp_path)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(ruff)}
    )
    a = editor.open("a.py", "import re\n")  # the buffer differs from the disk
    await published(editor, a, lambda c: c == ["F401"])
    # Asked twice at once (two palette clicks): the second joins the run, both get its answer.
    result, again = await asyncio.gather(
        editor.command("shim.analyzeWorkspace"), editor.command("shim.analyzeWorkspace")
    )
    assert again == result
    # what Problems shows: the unopened file's finding and the open buffer's own
    assert result["findings"] == 2 and result["files"] == 2 and result["cancelled"] is False
    assert result["outside"] == [str(workspace / "linked.py")]
    b = editor.uri("pkg/b.py")
    (found,) = editor.client.diagnostics[b]
    assert found.code == "F401" and found.source == "SHIM ruff" and "`sys`" in found.message
    assert "`re`" in editor.client.diagnostics[a][0].message, "the buffer's text, not the disk's"
    assert editor.uri("linked.py") not in editor.client.diagnostics, "outside: never read"
    assert "secret.py" not in runs.read_text()
    (reports,) = editor.client.progress_reports.values()
    assert isinstance(reports[0], t.WorkDoneProgressBegin) and reports[0].cancellable
    assert isinstance(reports[-1], t.WorkDoneProgressEnd)
    assert reports[-1].message == "2 findings in 2 files"
    lines = runs.read_text().splitlines()
    tree_runs = [line for line in lines if "--stdin-filename" not in line and line != "server"]
    assert len(tree_runs) == 1 and tree_runs[0].endswith(f"-- {workspace}"), "one ruff process"
    # A link leading out added after the run, whose search the server keeps: found again.
    (workspace / "late.py").symlink_to(tmp_path / "outside" / "secret.py")
    again = await editor.command("shim.analyzeWorkspace")
    assert again["outside"] == [str(workspace / "late.py"), str(workspace / "linked.py")]
    assert editor.uri("late.py") not in editor.client.diagnostics


async def test_a_run_replaced_by_one_with_other_settings_answers_superseded(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """Asked again after the rules changed, the run in progress is replaced: its request
    answers superseded (not cancelled: the user cancelled nothing), the new one the findings."""
    tree(workspace, tmp_path / "outside")
    real = find_ruff(None)
    assert isinstance(real, str)
    slow = tmp_path / "ruff-slow-tree"  # a tree run takes seconds; buffers are checked at once
    slow.write_text(
        f'#!/bin/sh\ncase "$*" in server*|*--stdin-filename*) ;; *) sleep 4 ;; esac\n'
        f'exec {real} "$@"\n'
    )
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    settings: dict[str, object] = {"ruffPath": str(slow)}
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS, settings=settings)
    a = editor.open("a.py", "import re\nprint(undefined_name)\n")
    await published(editor, a, lambda c: c == ["F401", "F821"])
    first = asyncio.ensure_future(editor.command("shim.analyzeWorkspace"))
    await editor.wait_for(lambda: bool(editor.client.progress_reports))  # the run has begun
    editor.client.set_configuration({"shim": {**settings, "ruffSelect": ["F401"]}})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    await published(editor, a, lambda c: c == ["F401"])  # the new rules are in force
    second = await editor.command("shim.analyzeWorkspace")
    assert await first == {"cancelled": False, "superseded": True, "files": 0, "findings": 0}
    assert second["cancelled"] is False and second["findings"] == 2  # a.py's re, pkg/b.py's sys


async def test_after_the_run_only_a_file_changed_on_disk_is_checked_again_and_a_deleted_one_cleared(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    (workspace / "pkg" / "d.py").write_text("import json\n")
    ruff, runs = logging_ruff(tmp_path)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(ruff)}
    )
    await editor.command("shim.analyzeWorkspace")
    b, d = editor.uri("pkg/b.py"), editor.uri("pkg/d.py")
    assert codes(editor, b) == ["F401"] and codes(editor, d) == ["F401"]
    before = runs.read_text().splitlines()
    (workspace / "pkg" / "b.py").write_text("import sys\n\nprint(sys, undefined)\n")
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(changes=[t.FileEvent(uri=b, type=t.FileChangeType.Changed)])
    )
    await published(editor, b, lambda c: c == ["F821"])
    (again,) = runs.read_text().splitlines()[len(before) :]
    assert again.endswith(f"--stdin-filename {workspace / 'pkg' / 'b.py'} -"), "that file alone"
    assert codes(editor, d) == ["F401"]
    (workspace / "pkg" / "d.py").unlink()
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(changes=[t.FileEvent(uri=d, type=t.FileChangeType.Deleted)])
    )
    await published(editor, d, lambda c: c == [])


async def test_a_change_is_checked_at_once_and_those_made_while_ruff_works_together_after(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """No wait to gather a burst: the first event's file is checked alone as it comes;
    events that come while ruff works on it (here 50 ms apart, a slow ruff) are checked in
    one run once it ends."""
    tree(workspace, tmp_path / "outside")
    (workspace / "pkg" / "d.py").write_text("import json\n")
    ruff, runs = logging_ruff(tmp_path)
    slow = tmp_path / "ruff-slow"
    slow.write_text(f'#!/bin/sh\ncase "$*" in *b.py*) sleep 1 ;; esac\nexec {ruff} "$@"\n')
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(slow)}
    )
    await editor.command("shim.analyzeWorkspace")
    before = len(runs.read_text().splitlines())
    uris = {name: editor.uri(f"pkg/{name}") for name in ("b.py", "c.py", "d.py")}
    for name in uris:
        (workspace / "pkg" / name).write_text("import sys\n\nprint(sys, undefined)\n")
    for uri in uris.values():
        editor.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[t.FileEvent(uri=uri, type=t.FileChangeType.Changed)]
            )
        )
        await asyncio.sleep(0.05)
    for uri in uris.values():
        await published(editor, uri, lambda c: c == ["F821"])
    again = runs.read_text().splitlines()[before:]
    assert len(again) == 2, again
    assert again[0].endswith(f"--stdin-filename {workspace / 'pkg' / 'b.py'} -")
    assert set(again[1].partition(" -- ")[2].split()) == {
        str(workspace / "pkg" / name) for name in ("c.py", "d.py")
    }, "together"


async def test_the_workspace_run_is_cancelled_from_its_progress_and_ruff_is_killed(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    pid_file = tmp_path / "ruff.pid"
    slow = tmp_path / "ruff-slow"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 120\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(slow)}
    )
    running = asyncio.ensure_future(editor.command("shim.analyzeWorkspace"))
    await editor.wait_for(lambda: bool(editor.client.progress_reports) and pid_file.exists())
    (token,) = editor.client.progress_reports
    editor.client.window_work_done_progress_cancel(t.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(running, 10)
    assert result["cancelled"] is True
    pid = int(pid_file.read_text())
    await editor.wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 5)
    end = editor.client.progress_reports[token][-1]
    assert isinstance(end, t.WorkDoneProgressEnd) and end.message == "Cancelled"
    assert editor.uri("pkg/b.py") not in editor.client.diagnostics


async def test_cancel_request_kills_ruff_and_answers_cancelled(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    pid_file = tmp_path / "ruff.pid"
    slow = tmp_path / "ruff-slow"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 120\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(slow)}
    )
    running = asyncio.ensure_future(
        editor.client.protocol.send_request_async(
            t.WORKSPACE_EXECUTE_COMMAND,
            t.ExecuteCommandParams(command="shim.analyzeWorkspace"),
            msg_id="analyze-1",
        )
    )
    await editor.wait_for(pid_file.exists)
    editor.client.protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id="analyze-1"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(running, 10)
    pid = int(pid_file.read_text())
    await editor.wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 5)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


async def test_pulled_diagnostics_are_the_pushed_ones(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    a = editor.open("a.py", "import re\n")
    pushed = await published(editor, a, lambda c: c == ["F401"])
    report = await editor.client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(text_document=t.TextDocumentIdentifier(uri=a))
    )
    assert isinstance(report, t.RelatedFullDocumentDiagnosticReport)
    assert list(report.items) == pushed
    again = await editor.client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(
            text_document=t.TextDocumentIdentifier(uri=a), previous_result_id=report.result_id
        )
    )
    assert isinstance(again, t.RelatedUnchangedDocumentDiagnosticReport)


async def test_a_client_that_pulls_is_not_pushed_to_and_pulls_unopened_files_from_the_workspace(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    editor = await editors.start(workspace, state_dir, initialize=False)
    started = await editor.client.initialize_session(
        t.InitializeParams(
            capabilities=PULLS,
            workspace_folders=[t.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    announced = started.capabilities.diagnostic_provider
    assert isinstance(announced, t.DiagnosticOptions) and announced.workspace_diagnostics
    a = editor.open("a.py", "import re\n")
    report = await editor.client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(text_document=t.TextDocumentIdentifier(uri=a))
    )
    assert isinstance(report, t.RelatedFullDocumentDiagnosticReport)
    assert [d.code for d in report.items] == ["F401"], "the pull waits for the buffer's check"
    await editor.command("shim.analyzeWorkspace")
    pulled = await asyncio.wait_for(
        editor.client.workspace_diagnostic_async(
            t.WorkspaceDiagnosticParams(previous_result_ids=[])
        ),
        10,
    )
    by_uri = {r.uri: r for r in pulled.items}
    assert list(by_uri) == [editor.uri("pkg/b.py")], "open buffers are pulled one by one"
    full = by_uri[editor.uri("pkg/b.py")]
    assert isinstance(full, t.WorkspaceFullDocumentDiagnosticReport)
    assert [d.code for d in full.items] == ["F401"]
    await asyncio.sleep(0.5)
    assert editor.client.diagnostics == {}, "never pushed: VS Code would show them twice"


async def test_a_pulling_client_is_asked_to_pull_again_only_when_the_findings_change(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """An equal list under a new result id makes VS Code replace its markers for nothing, and
    every refresh makes it pull every open document again."""
    editor = await editors.start(workspace, state_dir, capabilities=PULLS)
    a = editor.open("a.py", "import re\n")

    async def pull(previous: str | None = None) -> t.DocumentDiagnosticReport:
        return await editor.client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(
                text_document=t.TextDocumentIdentifier(uri=a), previous_result_id=previous
            )
        )

    first = await pull()
    assert isinstance(first, t.RelatedFullDocumentDiagnosticReport)
    assert [d.code for d in first.items] == ["F401"]
    await asyncio.sleep(0.3)
    asked = editor.client.diagnostic_refresh_count
    editor.type(a, 1, 0, "# a comment changes no finding\n")
    same = await pull(first.result_id)
    await asyncio.sleep(0.3)
    assert isinstance(same, t.RelatedUnchangedDocumentDiagnosticReport)
    assert editor.client.diagnostic_refresh_count == asked, "no refresh for an equal list"
    editor.type(a, 2, 0, "print(missing)\n")
    more = await pull(first.result_id)
    assert isinstance(more, t.RelatedFullDocumentDiagnosticReport)
    assert "F821" in [d.code for d in more.items]
    await asyncio.sleep(0.3)
    assert editor.client.diagnostic_refresh_count > asked


async def test_a_workspace_run_again_leaves_an_opened_files_buffer_diagnostics(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    tree(workspace, tmp_path / "outside")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    await editor.command("shim.analyzeWorkspace")
    b = editor.uri("pkg/b.py")
    assert codes(editor, b) == ["F401"]
    editor.open("pkg/b.py", "import sys\nimport os\n")  # the buffer has one more finding
    await published(editor, b, lambda c: c == ["F401", "F401"])
    await editor.command("shim.analyzeWorkspace")
    await asyncio.sleep(0.5)
    assert codes(editor, b) == ["F401", "F401"], "the rerun never clears a buffer's findings"


async def test_a_secret_file_or_a_link_to_one_is_never_shown_and_said_so(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Findings quote the code: ``Undefined name `hunter2_value``` would show the secret.
    Each secret Python file with findings (by SHIM's patterns or the user's) is in
    ``notShown``, as ``shim analyze`` says it, and logged once; a secret folder's files are
    one line; a secret file in which ruff found nothing is not said."""
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / ".env").write_text("SECRET_TOKEN = hunter2_value\n")
    (workspace / "leak.py").symlink_to(workspace / ".env")
    (workspace / "secret_keys.py").write_text("KEY = hunter3_value\n")
    (workspace / "id_rsa_tool.py").write_text("KEY = hunter4_value\n")
    (workspace / "secret_clean.py").write_text("KEY = 1\n")
    (workspace / "plain.py").write_text("import os\n")
    (workspace / "keys.env" / "sub").mkdir(parents=True)
    (workspace / "keys.env" / "sub" / "k.py").write_text("import os\n")
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=PROGRESS,
        settings={"secretGlobs": [".env", "secret_*.py"]},
    )
    editor.open("id_rsa_tool.py", "KEY = hunter4_value\n")  # open: said all the same
    result = await editor.command("shim.analyzeWorkspace")
    assert result["findings"] == 1
    why = "1 finding not shown: its name marks it as a secret file (.env, id_rsa*, *.pem...)"
    said = [
        f"{workspace / name}: {why}" for name in ("id_rsa_tool.py", "leak.py", "secret_keys.py")
    ]
    folder = (
        f"{workspace / 'keys.env'}: 1 finding in its Python files not shown: its name marks it"
        " as a secret folder (.env, .ssh...)"
    )
    assert result["notShown"] == [*said[:1], folder, *said[1:]], result
    assert result["notAnalysed"] == [], result
    assert codes(editor, editor.uri("plain.py")) == ["F401"]
    logged = [m.message for m in editor.client.log_messages]
    for line in [*said, folder]:
        assert logged.count(f"SHIM: {line}") == 1, logged
    # Found afterwards: a secret file written (its event) is said as the run says them.
    (workspace / "id_rsa_new.py").write_text("KEY = hunter5_value\n")
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(
            changes=[t.FileEvent(uri=editor.uri("id_rsa_new.py"), type=t.FileChangeType.Created)]
        )
    )
    late = f"SHIM: {workspace / 'id_rsa_new.py'}: {why}"
    await editor.wait_for(lambda: any(m.message == late for m in editor.client.log_messages))
    leak = editor.open("leak.py", (workspace / ".env").read_text())
    secret = editor.open("secret_keys.py", (workspace / "secret_keys.py").read_text())
    plain = editor.open("b.py", "import re\n")
    await published(editor, plain, lambda c: c == ["F401"])
    await asyncio.sleep(0.5)
    assert not editor.client.diagnostics.get(leak)
    assert not editor.client.diagnostics.get(secret)
    shown = [d.message for ds in editor.client.diagnostics.values() for d in ds]
    assert not any("hunter" in m for m in shown), shown


async def test_links_leading_nowhere_or_in_a_loop_are_said_left_out_as_shim_analyze_says_them(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """Ruff's default rules include its I/O error (E902): a dangling link or a loop is not a
    finding on the file but one plain line each, the words ``shim analyze`` prints."""
    (workspace / "a.py").write_text("import os\n")
    (workspace / "gone.py").symlink_to(workspace / "missing.py")
    (workspace / "far.py").symlink_to(tmp_path / "nowhere" / "x.py")
    (workspace / "loop.py").symlink_to(workspace / "loop.py")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await editor.command("shim.analyzeWorkspace")
    notes = [
        f"{workspace / 'far.py'} was not analysed: it is a link to"
        f" {tmp_path / 'nowhere' / 'x.py'}, which does not exist",
        f"{workspace / 'gone.py'} was not analysed: it is a link to {workspace / 'missing.py'},"
        " which does not exist",
        f"{workspace / 'loop.py'} was not analysed: it is a link that leads round in a loop,"
        " to no file",
    ]
    assert result["notAnalysed"] == notes and result["findings"] == 1, result
    assert codes(editor, editor.uri("a.py")) == ["F401"]
    shown = [d.code for ds in editor.client.diagnostics.values() for d in ds]
    assert shown == ["F401"], "no ruff I/O error on a link"
    again = await editor.command("shim.analyzeWorkspace")
    assert again["notAnalysed"] == notes
    logged = [m.message for m in editor.client.log_messages if "not analysed" in m.message]
    assert logged == [f"SHIM: {note}" for note in notes], "each said once"
    told = [m for m in editor.shown_messages if "not analysed" in m]
    assert told == [f"SHIM: {notes[0]} (and 2 more: see SHIM's output)"], "said once"


@pytest.mark.parametrize("order", ["sandboxed", "safe order"])
async def test_fifos_in_the_workspace_never_hold_the_run_and_are_said(
    workspace: Path,
    state_dir: Path,
    editors: Editors,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
) -> None:
    """A FIFO named like Python, and an ignore file that is a FIFO: ruff would wait on either
    for ever (so would plain ``ruff check``). The run answers at once with the other files'
    findings, and the user is told what was left out."""
    _order(order, monkeypatch)
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("import os\n")
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "b.py").write_text("import sys\n")
    os.mkfifo(workspace / "pipe.py")
    os.mkfifo(workspace / "pkg" / ".gitignore")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await asyncio.wait_for(editor.command("shim.analyzeWorkspace"), 30)
    assert (result["findings"], result["files"], result.get("error")) == (2, 2, None)
    left_out = f"left out: {workspace / 'pipe.py'} is not a regular file (a FIFO)"
    assert left_out in result["notes"]
    assert any(n.startswith("ruff ran without ignore files") for n in result["notes"])
    logged = [m.message for m in editor.client.log_messages]
    assert f"SHIM: {left_out}" in logged, logged
    # One message on screen for the run's two notes, the first with how many more.
    await editor.wait_for(lambda: any("(and 1 more: see" in m for m in editor.shown_messages))


def _order(order: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if order == "sandboxed" and not sandbox.available():
        pytest.skip("no Landlock on this kernel")
    if order == "safe order":
        monkeypatch.setenv(sandbox.DISABLE_ENV, "1")  # the server inherits it


@pytest.mark.parametrize("target", ["inside", "outside"])
@pytest.mark.parametrize("order", ["sandboxed", "safe order"])
async def test_a_subfolders_settings_extending_a_fifo_fail_the_run_and_the_server_serves_on(
    workspace: Path,
    state_dir: Path,
    editors: Editors,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
    target: str,
) -> None:
    """Tryout 12b, defects 2 and 3: the workspace run answered nothing for over 75 s, and
    the first buffer's diagnostics waited 32 s for a ruff server stuck on the FIFO. Now the
    run answers with the failure naming both files, and the buffer is checked at once by
    ruff check (ruff server is not started, which is said once)."""
    _order(order, monkeypatch)
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("import os\n")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "b.py").write_text("import sys\n")
    fifo = (workspace / "f" if target == "inside" else workspace.parent / "out") / "fifo"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    (workspace / "sub" / "ruff.toml").write_text(
        f'extend = "{os.path.relpath(fifo, workspace / "sub")}"\n'
    )
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await asyncio.wait_for(editor.command("shim.analyzeWorkspace"), 20)
    said = f"{workspace / 'sub' / 'ruff.toml'} extends {fifo}, which is a FIFO"
    assert said in result["error"], result
    # Ruff itself runs (tryout 12c): the run did not, the buffers' checks go on.
    told = [m for m in editor.shown_messages if said in m]
    assert len(told) == 1 and told[0].endswith(
        "The workspace's analysis did not run; everything else works."
    ), told
    assert not [m for m in editor.shown_messages if "ruffPath" in m], editor.shown_messages
    uri = editor.open("a.py")
    await published(editor, uri, lambda c: c == ["F401"], timeout=8)
    if target == "inside":  # one outside is not in the workspace SHIM searches
        held = [m.message for m in editor.client.log_messages if "ruff server" in m.message]
        assert len([m for m in held if said in m]) == 1, held


@pytest.mark.parametrize("order", ["sandboxed", "safe order"])
async def test_an_ignore_file_that_is_a_fifo_never_delays_a_buffers_diagnostics(
    workspace: Path,
    state_dir: Path,
    editors: Editors,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
) -> None:
    """Tryout 12b, defect 3 (its tree b_10): ruff server, indexing the workspace's settings,
    read ``c_gifo/.gitignore`` (a FIFO) and held the first buffer 32 s (30 s of ruff's check
    timeout). SHIM finds it first, starts no ruff server, and says why once."""
    _order(order, monkeypatch)
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "ok.py").write_text("import os\n")
    (workspace / "c_gifo").mkdir()
    os.mkfifo(workspace / "c_gifo" / ".gitignore")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("ok.py")
    await published(editor, uri, lambda c: c == ["F401"], timeout=5)
    editor.open("c_gifo/x.py", "import sys\n")
    await published(editor, editor.uri("c_gifo/x.py"), lambda c: c == ["F401"], timeout=5)
    why = f"{workspace / 'c_gifo' / '.gitignore'} is a FIFO, not a regular file"
    told = [m.message for m in editor.client.log_messages if why in m.message]
    assert len(told) == 1, told
    assert told[0].startswith("SHIM: ruff server was not started: "), told
    assert "ruff check of its own" in told[0]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_an_unopened_files_findings_are_placed_in_the_clients_units(
    workspace: Path, state_dir: Path, editors: Editors, encoding: str
) -> None:
    """Ruff counts code points; the client counts its position encoding's units. A file of
    ASCII, or with no character past the Basic Multilingual Plane in UTF-16, or any in
    UTF-32, takes ruff's columns as they are; the others are counted (an emoji is two UTF-16
    units, four UTF-8 ones; ``é`` two UTF-8 ones); a line ending ``\\r\\n`` is no column."""
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "ascii.py").write_bytes(b"x = 1\r\nimport os\r\n")
    (workspace / "bmp.py").write_text('e = "\u00e9\u00fc"; import os\n')
    (workspace / "astral.py").write_text('s = "\U0001f600"; import os\n')
    caps = attrs.evolve(
        PROGRESS, general=t.GeneralClientCapabilities(position_encodings=[encoding])
    )
    editor = await editors.start(workspace, state_dir, capabilities=caps)
    await editor.command("shim.analyzeWorkspace")
    where = {
        name: [
            (d.range.start.line, d.range.start.character, d.range.end.character)
            for d in editor.client.diagnostics[editor.uri(name)]
        ]
        for name in ("ascii.py", "bmp.py", "astral.py")
    }
    os_at = {  # where "os" starts, in each file, in the client's units
        "utf-16": {"bmp.py": 17, "astral.py": 17},
        "utf-8": {"bmp.py": 19, "astral.py": 19},
        "utf-32": {"bmp.py": 17, "astral.py": 16},
    }[encoding]
    assert where == {
        "ascii.py": [(1, 7, 9)],
        **{name: [(0, at, at + 2)] for name, at in os_at.items()},
    }, where


async def test_a_secret_settings_file_ruff_cannot_parse_is_never_quoted(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Settings that extend a secret (SHIM's patterns, or the user's ``secretGlobs``) which
    ruff cannot parse: ruff quotes its lines. The workspace run's answer, the messages, the
    log and a buffer's check name the file and say it is secret, and show none of it. So is
    a link to one in a folder whose name is not UTF-8 (ruff names it with U+FFFD)."""
    (workspace / ".env").write_text("PASS = hunter2-SECRET\n")
    (workspace / "mykeys.toml").write_text("TOKEN = hunter3-SECRET\n")
    for sub, extended in (("a", "../.env"), ("b", "../mykeys.toml")):
        (workspace / sub).mkdir()
        (workspace / sub / "ruff.toml").write_text(f'extend = "{extended}"\n')
        (workspace / sub / "s.py").write_text("import os\n")
    odd = workspace / os.fsdecode(b"c\xff")
    odd.mkdir()
    (odd / ".ruff.toml").symlink_to(workspace / ".env")
    (odd / "s.py").write_text("import os\n")
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"secretGlobs": ["mykeys.toml"]}
    )
    result = await editor.command("shim.analyzeWorkspace")
    for sub in ("a", "b", odd.name):
        editor.open(f"{sub}/s.py", "import os\n")
    note = "(what ruff quoted of it is not shown: its name marks it as a secret file)"
    await editor.wait_for(lambda: sum(note in m for m in editor.shown_messages) >= 1)
    await asyncio.sleep(1.0)  # the buffers' checks, and ruff server's log
    said = [
        str(result),
        *editor.shown_messages,
        *(m.message for m in editor.client.log_messages),
    ]
    assert not [m for m in said if "hunter" in m], said
    assert note in str(result), result
    # Tryout 12e: the buffers' message blamed ruffPath, not the file cut from ruff's words.
    told = [m for m in editor.shown_messages if note in m]
    assert told and not [m for m in told if "ruffPath" in m], told
    assert [m for m in told if "(its configuration /" in m], told


async def test_an_unopened_file_whose_name_is_not_utf8_gets_its_findings(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Ruff names it with U+FFFD for the byte that is not UTF-8; its findings are the real
    file's, published at the real file's URI (its byte percent-encoded). Changed on disk
    (tryout 12d: its event's URI was read as another name), it is checked again."""
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "d\udcff").mkdir()
    odd = os.path.join(os.fsencode(workspace), b"d\xff", b"b\xff.py")
    with open(odd, "wb") as file:
        file.write(b"import os\n")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await editor.command("shim.analyzeWorkspace")
    assert (result["files"], result["findings"], result["notAnalysed"]) == (1, 1, []), result
    uri = workspace.as_uri() + "/d%FF/b%FF.py"
    assert [d.code for d in editor.client.diagnostics[uri]] == ["F401"]
    with open(odd, "ab") as file:
        file.write(b"print(undefined)\n")
    editor.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(changes=[t.FileEvent(uri=uri, type=t.FileChangeType.Changed)])
    )
    await published(editor, uri, lambda c: c == ["F401", "F821"])


async def test_a_notebooks_findings_are_said_not_placed_in_its_json(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Ruff places a notebook's findings in its cells, which are no lines of the file's
    text: they are not diagnostics on the JSON, but one line in ``notShown`` and the log."""
    from test_cli_analyze import NOTEBOOK

    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "nb.ipynb").write_text(NOTEBOOK)
    (workspace / "a.py").write_text("import os\n")
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await editor.command("shim.analyzeWorkspace")
    assert (result["files"], result["findings"]) == (1, 1), result
    assert editor.uri("nb.ipynb") not in editor.client.diagnostics
    note = f"{workspace / 'nb.ipynb'}: 2 findings in its cells not shown: a notebook's findings"
    assert [n for n in result["notShown"] if n.startswith(note)], result
    logged = [m.message for m in editor.client.log_messages]
    assert [m for m in logged if m.startswith(f"SHIM: {note}")], logged


async def test_names_ruff_gives_alike_publish_no_findings_and_each_is_said(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Tryout 12d, defect 1: the secret's findings (through ``l\\377.py``) were published
    on the real ``l\ufffd.py``. None is now, for either; each is a ``notAnalysed`` line."""
    from test_cli_analyze import look_alike

    (workspace / "pyproject.toml").write_text(SELECT_F)
    look_alike(workspace)
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await editor.command("shim.analyzeWorkspace")
    assert (result["files"], result["findings"]) == (0, 0), result
    assert len(result["notAnalysed"]) == 2, result
    assert all("cannot tell whose findings are whose" in n for n in result["notAnalysed"])
    assert "SECRETSTRING" not in str(result) + str(editor.client.diagnostics)
    assert not [d for ds in editor.client.diagnostics.values() for d in ds]


async def test_a_secret_file_and_a_notebook_whose_names_are_not_utf8_are_said(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """Their lines in ``notShown`` and the log carry U+FFFD for the byte, as ruff names
    them: text the client can read, not a lone surrogate."""
    from test_cli_analyze import NOTEBOOK

    (workspace / "pyproject.toml").write_text(SELECT_F)
    root = os.fsencode(workspace)
    with open(os.path.join(root, b"id_rsa\xff.py"), "wb") as secret:
        secret.write(b"KEY = hunter4_value\n")
    with open(os.path.join(root, b"n\xff.ipynb"), "wb") as notebook:
        notebook.write(NOTEBOOK.encode())
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await editor.command("shim.analyzeWorkspace")
    assert (result["files"], result["findings"]) == (0, 0), result
    secret_note = f"{workspace}/id_rsa\ufffd.py: 1 finding not shown: its name marks it"
    cells_note = f"{workspace}/n\ufffd.ipynb: 2 findings in its cells not shown"
    assert [n for n in result["notShown"] if n.startswith(secret_note)], result
    assert [n for n in result["notShown"] if n.startswith(cells_note)], result
    logged = [m.message for m in editor.client.log_messages]
    assert [m for m in logged if m.startswith(f"SHIM: {secret_note}")], logged
    assert not [m for m in logged if "hunter4" in m or "\udcff" in m], logged


async def test_a_file_written_while_ruff_ran_is_checked_again_not_misplaced(
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    """The workspace run reads a file after ruff did, to place its findings: one written
    meanwhile would get them on other text. It is checked again, as it is now."""
    (workspace / "pyproject.toml").write_text(SELECT_F)
    chg = workspace / "chg.py"
    chg.write_text("import os\n")
    real = find_ruff(None)
    assert isinstance(real, str)
    script = tmp_path / "ruff-then-write"
    script.write_text(  # a whole-folder run (no --stdin-filename) ends, then chg.py changes
        f'#!/bin/sh\n"{real}" "$@"\nstatus=$?\n'
        f'case "$*" in *--stdin-filename*) ;; *) printf "x = 1\\nprint(undefined_y)\\n"'
        f' > "{chg}" ;; esac\nexit $status\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    editor = await editors.start(
        workspace, state_dir, capabilities=PROGRESS, settings={"ruffPath": str(script)}
    )
    await editor.command("shim.analyzeWorkspace")
    uri = editor.uri("chg.py")
    await published(editor, uri, lambda c: c == ["F821"])
    (found,) = editor.client.diagnostics[uri]
    assert (found.range.start.line, found.range.start.character) == (1, 6), found.range


@pytest.mark.parametrize("kind", ["link leading out", "FIFO"])
@pytest.mark.parametrize("order", ["sandboxed", "safe order"])
async def test_a_name_not_in_utf8_that_ruff_must_not_read_leaves_the_workspace_run_going(
    workspace: Path,
    state_dir: Path,
    editors: Editors,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    order: str,
    kind: str,
) -> None:
    """Tryout 12c, defect 4: ``o\\377.py`` (a link leading out, or a FIFO) failed every
    Analyse Workspace ("invalid UTF-8 was detected in one or more arguments"), blaming
    ruffPath. Now the rest is analysed, and what is left out is said in valid Unicode."""
    _order(order, monkeypatch)
    (workspace / "pyproject.toml").write_text(SELECT_F)
    (workspace / "a.py").write_text("import os\n")
    from test_cli_analyze import not_for_ruff

    not_for_ruff(workspace, tmp_path, kind)
    editor = await editors.start(workspace, state_dir, capabilities=PROGRESS)
    result = await asyncio.wait_for(editor.command("shim.analyzeWorkspace"), 30)
    assert (result["findings"], result["files"], result.get("error")) == (1, 1, None), result
    notes = [f"left out: {workspace}/o\ufffd.py is not a regular file (a FIFO)"]
    assert result["notes"] == (notes if kind == "FIFO" else []), result
    assert result["notAnalysed"] == [], result
    assert "hunter2" not in str(result)
    assert not [m for m in editor.shown_messages if "ruff" in m.lower()], editor.shown_messages
