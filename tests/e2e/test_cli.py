"""The shim command on a store left behind by a real server that was SIGKILLed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import Editors, crash_after_typing, journal_settled, two_windows_crash


def shim(
    state_dir: Path, workspace: Path | None, *args: str, cwd: Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``shim``; without a workspace, it finds one from ``cwd`` as a user's shell would."""
    where = ["--workspace", str(workspace)] if workspace is not None else []
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *args, "--state-dir", str(state_dir), *where],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        **kw,
    )


def shim_json(state_dir: Path, workspace: Path, *args: str) -> Any:
    out = shim(state_dir, workspace, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
async def crashed(workspace: Path, state_dir: Path, editors: Editors) -> str:
    """A workspace whose editor was killed with unsaved work in a.py; returns that text."""
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    uri = editor.open("a.py")
    editor.type(uri, 1, 0, "unsaved = 'é 😀'\n")
    await editor.command("shim.forceCheckpoint", {"label": "named"})
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

    target.write_text("the user's notes")
    session = written["files"][0]["session"]
    again = shim(state_dir, workspace, "recover", "--session", session)
    assert again.returncode == 1 and "already exists" in again.stdout
    forced = shim(state_dir, workspace, "recover", "--session", session, "--force")
    assert forced.returncode == 0 and target.read_text(encoding="utf-8") == crashed


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


def test_from_a_subfolder_the_cli_finds_the_workspace_above_and_says_which(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    deep = workspace / "pkg" / "sub"
    deep.mkdir(parents=True)
    status = shim(state_dir, None, "status", "--json", cwd=deep)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["unrecoveredFiles"] == 1
    assert json.loads(status.stdout)["workspace"] == str(workspace.resolve())
    printed = shim(state_dir, None, "recover", "--print", cwd=deep)
    assert printed.returncode == 0 and crashed in printed.stdout
    assert f"workspace {workspace.resolve()}" in printed.stderr
    listed = shim(state_dir, None, "checkpoints", "--json", cwd=deep)
    assert [c["label"] for c in json.loads(listed.stdout)] == ["named"]


def test_a_folder_with_no_sessions_above_it_is_named_as_such(
    crashed: str, tmp_path: Path, state_dir: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = shim(state_dir, None, "recover", cwd=elsewhere)
    assert out.returncode == 0
    assert f"no SHIM sessions for {elsewhere.resolve()} or a folder above it" in out.stderr


async def test_recover_writes_untitled_buffers_aside_and_marks_written_work_recovered(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    editor = await editors.start(workspace, state_dir)
    editor.type(editor.open("a.py"), 1, 0, "typed = 1\n")
    editor.open("Untitled-1", "scratch notes\n", uri="untitled:Untitled-1")
    await journal_settled(editor)
    editor.kill()
    await editor.client.stop()

    written = shim_json(state_dir, workspace, "recover")
    targets = sorted((Path(f["written"]) for f in written["files"]), key=lambda p: p.name)
    assert [t.name for t in targets] == ["Untitled-1", "a.py"]
    assert all(t.is_relative_to(workspace / ".shim-recovered") for t in targets)
    assert targets[0].read_text() == "scratch notes\n"
    assert shim_json(state_dir, workspace, "status")["unrecoveredFiles"] == 0
    assert "shim recover" not in shim(state_dir, workspace, "status").stdout
    again = shim(state_dir, workspace, "recover")
    assert again.returncode == 0 and "no unsaved work" in again.stdout

    session = written["files"][0]["session"]
    seen_again = shim_json(state_dir, workspace, "recover", "--session", session[:8], "--print")
    assert sorted(f["text"] for f in seen_again["files"]) == [
        "a = 1\ntyped = 1\n",
        "scratch notes\n",
    ]


async def test_recover_in_place_puts_untitled_buffers_aside(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    editor.open("Untitled-2", "only here\n", uri="untitled:Untitled-2")
    await journal_settled(editor)
    editor.kill()
    await editor.client.stop()
    out = shim(state_dir, workspace, "recover", "--in-place")
    assert out.returncode == 0, out.stdout
    assert "untitled" in out.stdout and "Untitled-2" in out.stdout
    [written] = list((workspace / ".shim-recovered").rglob("Untitled-2"))
    assert written.read_text() == "only here\n"


def test_clear_without_a_terminal_or_yes_refuses(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    out = shim(state_dir, workspace, "clear", "--all", stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and "--yes" in out.stderr
    assert shim_json(state_dir, workspace, "status")["unrecoveredFiles"] == 1


def test_contradictory_recover_flags_are_refused(
    crashed: str, workspace: Path, state_dir: Path
) -> None:
    out = shim(state_dir, workspace, "recover", "--print", "--in-place")
    assert out.returncode == 2 and "not allowed with" in out.stderr
    assert (workspace / "a.py").read_text() == "a = 1\n"


async def test_clear_all_forgets_this_workspace_only_unless_told_every_workspace(
    tmp_path: Path, state_dir: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    await crash_after_typing(a, state_dir, "x.py", "in_a = 1\n")
    await crash_after_typing(b, state_dir, "y.py", "in_b = 1\n")
    cleared = shim_json(state_dir, a, "clear", "--all", "--yes")
    assert cleared["sessions"] == 1
    assert shim_json(state_dir, a, "status")["unrecoveredFiles"] == 0
    assert shim_json(state_dir, b, "status")["unrecoveredFiles"] == 1

    await crash_after_typing(a, state_dir, "x.py", "in_a = 2\n")
    master, slave = os.openpty()
    os.write(master, b"n\n")
    asked = shim(state_dir, a, "clear", "--all", "--every-workspace", stdin=slave)
    os.close(slave)
    os.close(master)
    assert asked.returncode == 1
    assert f"{b.resolve()}: 1 file" in asked.stdout and f"{a.resolve()}: 1 file" in asked.stdout
    assert shim_json(state_dir, b, "status")["unrecoveredFiles"] == 1
    everything = shim(state_dir, a, "clear", "--all", "--every-workspace", "--yes")
    assert everything.returncode == 0 and f"{b.resolve()}: 1 file" in everything.stdout
    assert shim_json(state_dir, b, "sessions", "--all") == []


async def test_history_lists_instants_in_time_order_across_sessions(
    workspace: Path, state_dir: Path
) -> None:
    await crash_after_typing(workspace, state_dir, "a.py", "first = 1\n")
    await crash_after_typing(workspace, state_dir, "a.py", "second = 2\n")
    instants = shim_json(state_dir, workspace, "history", str(workspace / "a.py"))
    times = [i["at"] for i in instants]
    assert len({i["session"] for i in instants}) == 2
    assert times == sorted(times)
    listing = shim(state_dir, workspace, "history", str(workspace / "a.py")).stdout.splitlines()
    assert listing[0].split()[:2] == ["when", "session:instant"]


def test_a_damaged_store_is_one_line_and_exit_2(tmp_path: Path, workspace: Path) -> None:
    state = tmp_path / "damaged"
    state.mkdir()
    (state / "shim.db").write_bytes(b"not sqlite at all " * 500)
    for command in (
        ["status"],
        ["recover"],
        ["sessions"],
        ["checkpoints"],
        ["clear", "--all", "--yes"],
    ):
        out = shim(state, workspace, *command)
        assert out.returncode == 2, (command, out.stderr)
        assert "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1 and str(state / "shim.db") in out.stderr


def test_codemod_diff_shows_the_change_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("print('x {}'.format(y))\n")
    out = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "codemod", "to_fstring", "m.py", "--diff"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "+print(f'x {y}')" in out.stdout
    assert "1 would change" in out.stderr
    assert (tmp_path / "m.py").read_text() == "print('x {}'.format(y))\n"


async def test_recover_in_place_writes_the_newest_of_two_windows_versions_only(
    workspace: Path, state_dir: Path
) -> None:
    older, newer = await two_windows_crash(workspace, state_dir)
    status = shim_json(state_dir, workspace, "status")
    assert (status["unrecoveredFiles"], status["unrecoveredVersions"]) == (1, 2)
    out = shim(state_dir, workspace, "recover", "--in-place")
    assert out.returncode == 1, out.stdout
    assert (workspace / "app.py").read_text() == newer
    assert "a newer version of this file" in out.stdout
    left = shim(state_dir, workspace, "recover", "--print")
    assert older in left.stdout, "the other window's text stays in the store"


def test_a_blank_or_multi_line_checkpoint_label_is_refused(
    workspace: Path, state_dir: Path
) -> None:
    for label in ("", "  ", "two\nlines"):
        out = shim(state_dir, workspace, "checkpoint", "--label", label)
        assert out.returncode == 2 and "label" in out.stderr, (label, out.stderr)
    assert shim(state_dir, workspace, "checkpoint", "--label", " kept ").returncode == 0
    assert [c["label"] for c in shim_json(state_dir, workspace, "checkpoints")] == ["kept"]


def test_history_of_a_file_without_journaled_edits_says_so(
    workspace: Path, state_dir: Path, crashed: str
) -> None:
    (workspace / "b.py").write_text("never opened = 1\n")
    for name, missing in (("b.py", False), ("gone.py", True)):
        out = shim(state_dir, workspace, "history", str(workspace / name))
        assert out.returncode == 1
        assert f"no edits of {workspace / name} were journaled" in out.stdout
        assert ("no such file" in out.stdout) is missing


def test_clear_with_both_session_and_all_says_they_conflict(
    workspace: Path, state_dir: Path
) -> None:
    out = shim(state_dir, workspace, "clear", "--all", "--session", "abc", "--yes")
    assert out.returncode == 2 and "give one of them" in out.stderr
