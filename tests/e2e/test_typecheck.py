"""Type checks through the real server and the real mypy daemon: findings of saved files,
the project's configuration, off by default, a missing checker, and no daemon (nor ruff's
server) left behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import psutil
from harness import Editor, Editors
from lsprotocol import types as t
from test_analysis import VS_CODE

from shim_lsp.metrics import exporter

MYPY = "SHIM mypy"
STRICT = "[tool.mypy]\ndisallow_untyped_defs = true\n"
SAVED = (
    "import os\n\n\n"
    "def f(x):\n\treturn x\n\n\n"  # no-untyped-def, under the project's configuration
    'def g() -> int:\n\treturn "y"\n\n\n'  # return-value, on a line indented with a tab
    's = "\U0001f600"; n: int = "x"\n'  # assignment, after an astral character
)
FIXED = "import os\n\n\ndef f(x):\n\treturn x\n\n\ndef g() -> int:\n\treturn 1\n\n\nn: int = 1\n"


def found(editor: Editor, uri: str, source: str = MYPY) -> list[t.Diagnostic]:
    return [d for d in editor.client.diagnostics.get(uri, []) if d.source == source]


def codes(editor: Editor, uri: str, source: str = MYPY) -> list[str]:
    return sorted(str(d.code) for d in found(editor, uri, source))


def daemons(server_pid: int) -> list[psutil.Process]:
    """The mypy daemons the server runs (not the short-lived ``dmypy check`` clients)."""
    return [
        p
        for p in psutil.Process(server_pid).children(recursive=True)
        if "daemon" in p.cmdline() and any("dmypy" in part for part in p.cmdline())
    ]


def ruff_servers(server_pid: int) -> list[psutil.Process]:
    """The ruff language servers SHIM runs for the buffers."""
    return [
        p
        for p in psutil.Process(server_pid).children(recursive=True)
        if p.cmdline()[-1:] == ["server"] and "ruff" in Path(p.cmdline()[0]).name
    ]


def gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def timed_checks(state_dir: Path) -> float:
    """Type checks the metrics timed (shim_analysis_duration_seconds, analysis typecheck)."""
    counts = exporter.families(state_dir / "metrics")["shim_analysis_duration_seconds_count"]
    return float(counts["analysis=typecheck"])


def shown(state_dir: Path) -> dict[str, float]:
    """The findings metric, by analysis, as Prometheus would read it."""
    return {
        labels["analysis"]: v
        for name, labels, v in exporter.samples(state_dir / "metrics")
        if name == "shim_analysis_findings"
    }


def configure(editor: Editor, settings: dict[str, object]) -> None:
    editor.client.set_configuration({"shim": settings})
    editor.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))


async def test_saved_files_are_type_checked_by_the_projects_configuration_and_no_daemon_outlives_a_killed_editor(  # noqa: E501
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(STRICT)
    (workspace / "a.py").write_text(SAVED)
    before = sorted(workspace.rglob("*"))
    fake_editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        editor = await editors.start(
            workspace,
            state_dir,
            capabilities=VS_CODE,
            settings={"typeCheckEnabled": True},
            process_id=fake_editor.pid,
        )
        uri = editor.open("a.py")
        expected = ["assignment", "no-untyped-def", "return-value"]
        await editor.wait_for(lambda: codes(editor, uri) == expected, 60)
        by_code = {d.code: d for d in found(editor, uri)}
        assert "F401" in codes(editor, uri, "SHIM ruff")  # merged with ruff's
        assignment = by_code["assignment"]  # "x" is at code point 18: UTF-16 unit 19
        assert assignment.range == t.Range(
            start=t.Position(line=11, character=19), end=t.Position(line=11, character=22)
        )
        assert assignment.severity == t.DiagnosticSeverity.Error
        assert assignment.code_description is not None
        assert assignment.code_description.href.endswith("_refs.html#code-assignment")
        assert by_code["return-value"].range.start == t.Position(line=8, character=8)
        assert by_code["no-untyped-def"].range == t.Range(
            start=t.Position(line=3, character=0), end=t.Position(line=4, character=9)
        )
        (daemon,) = daemons(editor.pid)
        assert shown(state_dir)["typecheck"] == 3  # metrics count what is shown

        # Typing is not checked: the findings stay those of the saved text.
        editor.type(uri, 0, 0, "import sys\n")
        await editor.wait_for(lambda: codes(editor, uri, "SHIM ruff").count("F401") == 2)
        assert codes(editor, uri) == expected

        # Fixed and saved: only what the project's configuration asks for is left.
        editor.change(uri, t.TextDocumentContentChangeWholeDocument(text=FIXED))
        editor.save(uri)
        await editor.wait_for(lambda: codes(editor, uri) == ["no-untyped-def"], 60)
        assert shown(state_dir)["typecheck"] == 1

        # The configuration changes on disk: a new daemon reads it.
        (workspace / "pyproject.toml").write_text("[tool.mypy]\n")
        editor.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[
                    t.FileEvent(uri=editor.uri("pyproject.toml"), type=t.FileChangeType.Changed)
                ]
            )
        )
        await editor.wait_for(lambda: codes(editor, uri) == [], 60)
        assert gone(daemon)
        (daemon,) = daemons(editor.pid)
        # Nothing was written into the workspace (status file, cache), only the saves.
        assert sorted(workspace.rglob("*")) == before

        fake_editor.kill()  # the editor dies: the server exits, and takes its daemon along
        fake_editor.wait()
        server = editor.client._server
        assert server is not None
        await asyncio.wait_for(server.wait(), 15)
        await editor.wait_for(lambda: gone(daemon), 10)
    finally:
        fake_editor.kill()


async def test_type_checks_are_off_by_default_a_missing_checker_is_one_message_and_a_killed_server_leaves_no_daemon(  # noqa: E501
    workspace: Path, state_dir: Path, editors: Editors, tmp_path: Path
) -> None:
    (workspace / "b.py").write_text(
        'import os\n\nimport cfg\nimport settings\n\nprint(cfg, settings)\nn: int = "x"\n'
    )
    # What b.py imports mypy must not read: a link to a secret, a link leading out. Neither
    # is Python, so mypy reading one is a blocking error, and b.py goes unchecked.
    (workspace / ".env").write_text("API_KEY = ghp_secretvalue999\nexport MODE=dev\n")
    (workspace / "settings.py").symlink_to(workspace / ".env")
    outside = tmp_path / "out"
    outside.mkdir()
    (outside / "leak.py").write_text('PASSWORD: int = "outside-secret"\nx = outside_name\ny = (\n')
    (workspace / "cfg.py").symlink_to(outside / "leak.py")
    (workspace / "c.py").write_text("import sys\n")
    editor = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = editor.open("b.py")
    await editor.wait_for(lambda: "F401" in codes(editor, uri, "SHIM ruff"))
    editor.save(uri)
    await asyncio.sleep(0.5)  # a check on open or save would have started a daemon by now
    assert codes(editor, uri) == []
    assert daemons(editor.pid) == []

    missing = workspace / "no" / "dmypy"
    configure(editor, {"typeCheckEnabled": True, "typeCheckerPath": str(missing)})
    await editor.wait_for(lambda: any(str(missing) in m for m in editor.shown_messages))
    other = editor.open("c.py")
    editor.save(uri)
    await editor.wait_for(lambda: "F401" in codes(editor, other, "SHIM ruff"))
    await asyncio.sleep(0.5)  # the open and the save were checked meanwhile
    told = [m for m in editor.shown_messages if "dmypy" in m]
    assert len(told) == 1 and "typeCheckerPath" in told[0], told
    assert daemons(editor.pid) == []
    assert timed_checks(state_dir) == 0, "checks that never ran (off, no checker) are not timed"

    configure(editor, {"typeCheckEnabled": True})  # the dmypy installed beside SHIM
    await editor.wait_for(lambda: codes(editor, uri) == ["assignment"], 60)
    await editor.wait_for(lambda: timed_checks(state_dir) >= 1)
    said = [d.message for ds in editor.client.diagnostics.values() for d in ds]
    said += [m.message for m in editor.client.log_messages] + editor.shown_messages
    assert not [m for m in said if "ghp_" in m or "outside" in m or "leak.py" in m], said
    (daemon,) = daemons(editor.pid)

    # Ruff's server dies: said in the log, the buffer still checked, and another one started.
    (lint,) = ruff_servers(editor.pid)
    lint.kill()
    editor.type(uri, 0, 0, "import re\n")
    await editor.wait_for(lambda: codes(editor, uri, "SHIM ruff").count("F401") == 2)
    editor.type(uri, 0, 0, "import abc\n")
    await editor.wait_for(lambda: codes(editor, uri, "SHIM ruff").count("F401") == 3)
    (lint,) = ruff_servers(editor.pid)
    said = [m.message for m in editor.client.log_messages if "ruff server" in m.message]
    assert any("exited" in m for m in said), said

    editor.kill()  # not even a goodbye: the kernel ends the daemon and ruff with the server
    await editor.client.stop()
    await editor.wait_for(lambda: gone(daemon) and gone(lint), 10)


async def test_type_checks_on_from_the_start_without_mypy_leave_ruffs_diagnostics_and_say_it_once(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """As ``shim analyze --type-check`` without mypy: the lint findings still come, the
    missing checker is one message, however many files are opened, saved and edited."""
    (workspace / "a.py").write_text('import os\n\nn: int = "x"\n')
    (workspace / "b.py").write_text("import sys\n")
    missing = workspace / "no" / "dmypy"
    editor = await editors.start(
        workspace,
        state_dir,
        capabilities=VS_CODE,
        settings={"typeCheckEnabled": True, "typeCheckerPath": str(missing)},
    )
    a, b = editor.open("a.py"), editor.open("b.py")
    await editor.wait_for(lambda: codes(editor, a, "SHIM ruff") == ["F401"])
    await editor.wait_for(lambda: codes(editor, b, "SHIM ruff") == ["F401"])
    editor.save(a)
    editor.type(b, 0, 0, "import abc\n")
    await editor.wait_for(lambda: codes(editor, b, "SHIM ruff") == ["F401", "F401"])
    await asyncio.sleep(0.5)  # the save's type check has been tried meanwhile
    told = [m for m in editor.shown_messages if "dmypy" in m]
    assert len(told) == 1 and str(missing) in told[0] and "typeCheckerPath" in told[0], told
    assert codes(editor, a) == [] and daemons(editor.pid) == []
