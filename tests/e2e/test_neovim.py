"""The README's Neovim configuration, run as it is in Debian's Neovim (0.7) against SHIM."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

README = Path(__file__).parents[2] / "README.md"
NVIM = shutil.which("nvim")
TMUX = shutil.which("tmux")

# After the configuration: edit the buffer without saving, wait for ruff's finding on the
# typed line, list the code actions there as `vim.lsp.buf.code_action` offers them (through
# vim.ui.select, which records them here), run a SHIM command the README's way, and wait for
# the answer and the status notification; then leave without saving.
SCRIPT = """
vim.wait(20000, function() return next(vim.lsp.buf_get_clients(0)) ~= nil end, 50)
vim.api.nvim_buf_set_lines(0, -1, -1, false, { "typed = 'in neovim'", "import os" })
local function unused_import()
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if d.code == "F401" then return d end
  end
end
vim.wait(20000, function() return unused_import() ~= nil end, 50)
local finding = unused_import() or {}
local offered
vim.ui.select = function(items, _, on_choice)
  offered = {}
  for _, item in ipairs(items) do
    table.insert(offered, (item.action or item[2]).title)
  end
  on_choice(nil)
end
vim.api.nvim_win_set_cursor(0, { 3, 0 })
vim.lsp.buf.code_action()
vim.wait(20000, function() return offered ~= nil end, 50)
vim.cmd([[Shim forceCheckpoint {"label": "from neovim"}]])
vim.wait(20000, function() return vim.g.shim_last_result ~= nil end, 50)
vim.wait(20000, function()
  return vim.g.shim_status ~= nil and vim.g.shim_status.lastCheckpointAt ~= vim.NIL
end, 50)
vim.fn.writefile({ vim.fn.json_encode({ result = vim.g.shim_last_result,
  status = vim.g.shim_status, finding = { line = finding.lnum, message = finding.message },
  offered = offered or {} }) }, os.getenv("SHIM_NVIM_OUT"))
vim.cmd("qa!")
"""


def readme_config() -> str:
    text = README.read_text()
    found = re.search(r"<!-- neovim-config -->\n```lua\n(.*?)```", text, re.S)
    assert found, "the README's Neovim block is marked <!-- neovim-config -->"
    return found.group(1)


def _nvim_env(tmp_path: Path, state_dir: Path, out: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SHIM_STATE_DIR": str(state_dir),
        "SHIM_NVIM_OUT": str(out),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state-home"),
        "TERM": "xterm-256color",
    }


def _headless(
    workspace: Path, state_dir: Path, tmp_path: Path, script: str, file: str, config: str = ""
) -> tuple[Path, dict[str, str]]:
    """Neovim with the README's configuration (or ``config``) opens ``file``, runs ``script``
    and quits; returns where the script wrote its answer, and the environment it ran in."""
    init = tmp_path / "init.lua"
    init.write_text(config or readme_config())
    lua = tmp_path / "script.lua"
    lua.write_text(script)
    out = tmp_path / "out.json"
    env = _nvim_env(tmp_path, state_dir, out)
    assert NVIM is not None
    subprocess.run(
        [NVIM, "--headless", "-u", str(init), file, "-c", f"luafile {lua}"],
        cwd=workspace,
        env=env,
        timeout=120,
        check=True,
        capture_output=True,
    )
    return out, env


@pytest.mark.skipif(NVIM is None, reason="nvim not installed (scripts/test installs Debian's)")
def test_the_readme_neovim_config_runs_shim_and_its_commands(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    out, env = _headless(workspace, state_dir, tmp_path, SCRIPT, "app.py")
    answer = json.loads(out.read_text())
    # ruff on the unsaved buffer, and its quick fix where vim.lsp.buf.code_action lists it
    assert answer["finding"] == {"line": 2, "message": "`os` imported but unused"}
    assert "Ruff F401: Remove unused import: `os`" in answer["offered"], answer["offered"]
    assert answer["result"]["label"] == "from neovim"
    assert answer["result"]["buffers"] == 1, "the unsaved buffer is in the checkpoint"
    assert answer["status"]["lastCheckpointAt"] is not None
    assert (workspace / "app.py").read_text() == "a = 1\n", "nothing was saved"

    listed = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "checkpoints", "--json"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [c["label"] for c in json.loads(listed.stdout)] == ["from neovim"]


# Type without saving, wait until SHIM's journal holds it, then SIGKILL the server (its pid
# is in the session status) and leave: the crash that recovery must undo.
TYPE_THEN_KILL = """
vim.wait(20000, function() return next(vim.lsp.buf_get_clients(0)) ~= nil end, 50)
vim.api.nvim_buf_set_lines(0, -1, -1, false, { "typed = 'never saved'" })
local pid
vim.wait(20000, function()
  vim.g.shim_last_result = nil
  vim.cmd("Shim sessionStatus")
  vim.wait(5000, function() return vim.g.shim_last_result ~= nil end, 20)
  local status = vim.g.shim_last_result
  pid = status.pid
  return status.dirtyDocuments == 1 and status.journal.pending == 0
    and status.journal.committed >= 2
end, 100)
vim.loop.kill(pid, "sigkill")
vim.fn.writefile({ tostring(pid) }, os.getenv("SHIM_NVIM_OUT"))
vim.cmd("qa!")
"""

# After the restore: what Neovim's buffer of app.py holds, and whether it is unsaved.
REPORT = (
    ":call writefile([json_encode({'lines': getbufline(bufnr('app.py'), 1, '$'),"
    " 'modified': getbufvar(bufnr('app.py'), '&modified')})], $SHIM_NVIM_OUT)"
)


def _screen(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
    ).stdout


def _wait_for_screen(session: str, needle: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = _screen(session)
        if needle in screen:
            return screen
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} never appeared; the screen:\n{screen}")
        time.sleep(0.1)


@pytest.mark.skipif(NVIM is None or TMUX is None, reason="needs nvim and tmux (scripts/test)")
def test_neovim_07_gets_unsaved_work_back_after_the_server_is_killed(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    """The README's configuration in Neovim's own terminal UI, answered with the keyboard."""
    assert NVIM is not None and TMUX is not None
    (workspace / "app.py").write_text("a = 1\n")
    (workspace / "other.py").write_text("b = 2\n")
    out, env = _headless(workspace, state_dir, tmp_path, TYPE_THEN_KILL, "app.py")
    init = tmp_path / "init.lua"
    killed = int(out.read_text())
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"
    out.unlink()

    session = f"shim-nvim-{os.getpid()}"
    command = shlex.join([NVIM, "-u", str(init), "other.py"])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
    subprocess.run(
        [
            TMUX,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "45",
            "-c",
            str(workspace),
            f"env {exports} {command}",
        ],
        check=True,
    )
    try:
        screen = _wait_for_screen(session, "Restore all")
        assert "SHIM found unsaved work in 1 file(s)" in screen
        subprocess.run([TMUX, "send-keys", "-t", session, "2", "Enter"], check=True)
        deadline = time.monotonic() + 30
        while True:
            subprocess.run(
                [TMUX, "send-keys", "-t", session, "Escape", REPORT, "Enter"], check=True
            )
            time.sleep(0.5)
            if out.exists():
                report = json.loads(out.read_text())
                if report["lines"] == ["a = 1", "typed = 'never saved'"]:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"not restored; the screen:\n{_screen(session)}")
        assert report["modified"] == 1, "restored as an unsaved change"
        assert (workspace / "app.py").read_text() == "a = 1\n", "disk untouched"
    finally:
        subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True)


SECRET_SCRIPT = """
vim.wait(20000, function() return next(vim.lsp.buf_get_clients(0)) ~= nil end, 50)
vim.api.nvim_buf_set_lines(0, -1, -1, false, { "TYPED_SECRET" })
vim.cmd([[Shim forceCheckpoint {"label": "with a secret open"}]])
vim.wait(20000, function() return vim.g.shim_last_result ~= nil end, 50)
vim.fn.writefile({ vim.fn.json_encode(vim.g.shim_last_result) }, os.getenv("SHIM_NVIM_OUT"))
vim.cmd("qa!")
"""


@pytest.mark.skipif(NVIM is None, reason="nvim not installed (scripts/test installs Debian's)")
def test_settings_in_the_readme_neovim_config_reach_the_server(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Neovim 0.7 answers no workspace/configuration: the README passes them at start."""
    (workspace / "prod.secret").write_text("TOKEN=ON_DISK\n")
    config = readme_config()
    assert "idleCheckpointDelay = 30 }" in config
    with_secret = config.replace("idleCheckpointDelay = 30 }", 'secretGlobs = { "*.secret" } }')
    out, _env = _headless(workspace, state_dir, tmp_path, SECRET_SCRIPT, "prod.secret", with_secret)
    assert json.loads(out.read_text())["label"] == "with a secret open"
    with sqlite3.connect(state_dir / "shim.db") as conn:
        uris = [r[0] for r in conn.execute("SELECT uri FROM journal UNION SELECT uri FROM entries")]
    assert not [u for u in uris if u.endswith("prod.secret")], uris
