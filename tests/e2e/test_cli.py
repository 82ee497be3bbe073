"""The shim command on a store left behind by a real server that was SIGKILLed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import journal_settled, start_editor

from shim_lsp import commands as ids


def shim(state_dir: Path, workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shim_lsp.cli",
            *args,
            "--state-dir",
            str(state_dir),
            "--workspace",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def shim_json(state_dir: Path, workspace: Path, *args: str) -> Any:
    out = shim(state_dir, workspace, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
async def crashed(workspace: Path, state_dir: Path) -> str:
    """A workspace whose editor was killed with unsaved work in a.py; returns that text."""
    (workspace / "a.py").write_text("a = 1\n")
    editor = await start_editor(workspace, state_dir)
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "unsaved = 'é 😀'\n")
    await editor.command(ids.FORCE_CHECKPOINT, {"label": "named"})
    await journal_settled(editor)
    text = editor.docs[uri].source
    editor.kill()
    await editor.client.stop()
    return text


def test_status_sessions_and_checkpoints_describe_the_crash(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    status = shim_json(state_dir, workspace, "status")
    assert status["unrecoveredFiles"] == 1 and status["sessions"] == {"crashed": 1}
    assert "shim recover" in shim(state_dir, workspace, "status").stdout
    sessions = shim_json(state_dir, workspace, "sessions")
    assert [s["state"] for s in sessions] == ["crashed"]
    checkpoints = shim_json(state_dir, workspace, "checkpoints")
    assert [c["label"] for c in checkpoints] == ["named"]
    history = shim_json(state_dir, workspace, "checkpoints", str(workspace / "a.py"))
    assert [h["kind"] for h in history] == ["buffer"]


def test_recover_prints_writes_aside_and_refuses_to_overwrite(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    printed = shim_json(state_dir, workspace, "recover", "--print")
    assert [f["text"] for f in printed["files"]] == [crashed]

    written = shim_json(state_dir, workspace, "recover")
    target = Path(written["files"][0]["written"])
    assert target.is_relative_to(workspace / ".shim-recovered")
    assert target.read_text(encoding="utf-8") == crashed
    assert (workspace / "a.py").read_text() == "a = 1\n"

    again = shim(state_dir, workspace, "recover")
    assert again.returncode == 1 and "already exists" in again.stdout
    forced = shim(state_dir, workspace, "recover", "--force")
    assert forced.returncode == 0


def test_recover_in_place_refuses_a_file_changed_since_the_crash(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    (workspace / "a.py").write_text("a = 'edited after the crash'\n")
    refused = shim(state_dir, workspace, "recover", "--in-place")
    assert refused.returncode == 1 and "changed on disk" in refused.stdout
    assert (workspace / "a.py").read_text() == "a = 'edited after the crash'\n"
    assert shim(state_dir, workspace, "recover", "--in-place", "--force").returncode == 0
    assert (workspace / "a.py").read_text(encoding="utf-8") == crashed
    assert shim_json(state_dir, workspace, "status")["unrecoveredFiles"] == 0


def test_checkpoint_and_clear_from_the_command_line(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    made = shim_json(state_dir, workspace, "checkpoint", "--label", "from cli")
    assert made["label"] == "from cli" and made["files"] == 1
    cleared = shim_json(state_dir, workspace, "clear", "--all", "--yes")
    assert cleared["sessions"] == 2
    assert shim_json(state_dir, workspace, "sessions") == []
    missing = shim(state_dir / "nowhere", workspace, "status")
    assert missing.returncode == 2 and "no SHIM store" in missing.stderr


def test_demo_survives_a_sigkill_and_counts_what_came_back() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "demo"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "SIGKILL the server now" in out.stdout
    assert "found unsaved work in 2 file(s)" in out.stdout
    lost = int(out.stdout.rsplit("SIGKILL(s): ", 1)[1].split(" edit")[0])
    assert lost <= 8, f"at most the last flush window may be lost, lost {lost} edits"


def test_history_rebuilds_a_buffer_at_any_journaled_instant(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    instants = shim_json(state_dir, workspace, "history", str(workspace / "a.py"))
    assert [i["kind"] for i in instants] == ["open", "change"]
    first, last = (f"{i['session']}:{i['instant']}" for i in instants)
    before = shim(state_dir, workspace, "history", str(workspace / "a.py"), "--at", first)
    assert before.returncode == 0 and before.stdout == "a = 1\n"
    after = shim_json(state_dir, workspace, "history", str(workspace / "a.py"), "--at", last)
    assert after["text"] == crashed
    bad = shim(state_dir, workspace, "history", str(workspace / "a.py"), "--at", "nope")
    assert bad.returncode == 2 and "SESSION:INSTANT" in bad.stderr
