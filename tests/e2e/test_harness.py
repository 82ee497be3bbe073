"""The test editor cleans up after itself: no test leaves a server running, or hangs on one
that no longer answers, whether it passes or fails."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from harness import start_editor, stop_editor

TESTS = Path(__file__).parents[1]

INNER = """
import os
import signal
from pathlib import Path

import psutil

PIDS = Path(__file__).with_name("pids")


async def test_fails_with_two_servers_running_one_frozen(editors, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    answering = await editors.start(workspace, tmp_path / "one")
    frozen = await editors.start(workspace, tmp_path / "two")
    os.kill(frozen.pid, signal.SIGSTOP)
    PIDS.write_text(f"{answering.pid} {frozen.pid}")
    assert False, "a failing test, its servers still running"


def test_the_next_test_finds_them_gone():
    assert [p for p in map(int, PIDS.read_text().split()) if psutil.pid_exists(p)] == []
"""


def _still_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_a_server_that_does_not_answer_shutdown_is_killed_not_waited_for(
    workspace: Path, state_dir: Path
) -> None:
    editor = await start_editor(workspace, state_dir)
    pid = editor.pid
    os.kill(pid, signal.SIGSTOP)
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        with pytest.raises(TimeoutError):  # the test that stops it is told it did not answer
            await asyncio.wait_for(stop_editor(editor, grace=2), 30)
        assert loop.time() - began < 20
        assert not _still_running(pid)
    finally:
        if _still_running(pid):
            os.kill(pid, signal.SIGKILL)


def test_the_editors_of_a_failed_test_are_gone_before_the_next_test(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS / "e2e"), str(TESTS.parent)])}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
        assert "a failing test, its servers still running" in run.stdout
    finally:
        pids = tmp_path / "pids"
        for pid in map(int, pids.read_text().split() if pids.exists() else []):
            if _still_running(pid):
                os.kill(pid, signal.SIGKILL)
