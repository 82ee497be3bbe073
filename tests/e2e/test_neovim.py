"""The README's Neovim configuration, run as it is in Debian's Neovim (0.7) against SHIM."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
NVIM = shutil.which("nvim")

# After the configuration: edit the buffer without saving, run a SHIM command the README's
# way, and wait for the answer and the status notification; then leave without saving.
SCRIPT = """
vim.wait(20000, function() return next(vim.lsp.buf_get_clients(0)) ~= nil end, 50)
vim.api.nvim_buf_set_lines(0, -1, -1, false, { "typed = 'in neovim'" })
vim.cmd([[Shim forceCheckpoint {"label": "from neovim"}]])
vim.wait(20000, function() return vim.g.shim_last_result ~= nil end, 50)
vim.wait(20000, function()
  return vim.g.shim_status ~= nil and vim.g.shim_status.lastCheckpointAt ~= vim.NIL
end, 50)
vim.fn.writefile({ vim.fn.json_encode({ result = vim.g.shim_last_result,
  status = vim.g.shim_status }) }, os.getenv("SHIM_NVIM_OUT"))
vim.cmd("qa!")
"""


def readme_config() -> str:
    text = README.read_text()
    found = re.search(r"<!-- neovim-config -->\n```lua\n(.*?)```", text, re.S)
    assert found, "the README's Neovim block is marked <!-- neovim-config -->"
    return found.group(1)


@pytest.mark.skipif(NVIM is None, reason="nvim not installed (scripts/test installs Debian's)")
def test_the_readme_neovim_config_runs_shim_and_its_commands(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    init = tmp_path / "init.lua"
    init.write_text(readme_config())
    script = tmp_path / "script.lua"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SHIM_STATE_DIR": str(state_dir),
        "SHIM_NVIM_OUT": str(out),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state-home"),
    }
    assert NVIM is not None
    subprocess.run(
        [NVIM, "--headless", "-u", str(init), "app.py", "-c", f"luafile {script}"],
        cwd=workspace,
        env=env,
        timeout=120,
        check=True,
        capture_output=True,
    )
    answer = json.loads(out.read_text())
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
