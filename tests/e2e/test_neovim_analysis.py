"""Ruff's findings in Debian's Neovim (0.7) with the README's configuration: diagnostics for
an edited, unsaved buffer, and ``vim.lsp.buf.code_action`` listing and applying the fix; with
``typeCheckEnabled``, mypy's finding in the saved file beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_neovim import NVIM, _headless, readme_config

# Add an unused import without saving, wait for its diagnostic, then ask for code actions on
# its line the way a user does; vim.ui.select is answered by choosing ruff's fix. Mypy's
# finding in the saved text is waited for too (its daemon starts on open).
SCRIPT = """
vim.wait(20000, function() return next(vim.lsp.buf_get_clients(0)) ~= nil end, 50)
vim.api.nvim_buf_set_lines(0, -1, -1, false, { "import os" })
local function codes_of(source)
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if d.source == source then table.insert(codes, d.code) end
  end
  return codes
end
local codes = {}
-- 60 s as for mypy: with type checks on, mypy's daemon starts beside the first ruff check,
-- and on CI's two loaded cores ruff's finding once took over 20 s to arrive.
vim.wait(60000, function() codes = codes_of("SHIM ruff"); return #codes > 0 end, 50)
local typed = {}
vim.wait(60000, function() typed = codes_of("SHIM mypy"); return #typed > 0 end, 50)
vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
local titles
vim.ui.select = function(items, _opts, on_choice)
  titles = {}
  local fix
  for _, item in ipairs(items) do
    table.insert(titles, item[2].title)
    if item[2].title:find("^Ruff F401") then fix = item end
  end
  on_choice(fix)
end
vim.lsp.buf.code_action()
vim.wait(20000, function() return titles ~= nil end, 50)
vim.wait(20000, function() return #codes_of("SHIM ruff") == 0 end, 50)
vim.fn.writefile({ vim.fn.json_encode({ codes = codes, typed = typed, titles = titles,
  lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) }) }, os.getenv("SHIM_NVIM_OUT"))
vim.cmd("qa!")
"""


@pytest.mark.skipif(NVIM is None, reason="nvim not installed (scripts/test installs Debian's)")
def test_neovim_shows_ruff_diagnostics_for_an_edited_buffer_and_lists_the_quick_fix(
    workspace: Path, state_dir: Path, tmp_path: Path
) -> None:
    (workspace / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    (workspace / "app.py").write_text('a = 1\nn: int = "typed"\n')
    config = readme_config()
    assert "idleCheckpointDelay = 30 }" in config
    typed = config.replace("idleCheckpointDelay = 30 }", "typeCheckEnabled = true }")
    out, _env = _headless(workspace, state_dir, tmp_path, SCRIPT, "app.py", typed)
    answer = json.loads(out.read_text())
    assert answer["codes"] == ["F401"]
    assert answer["typed"] == ["assignment"], "mypy's finding in the saved file"
    assert "Ruff F401: Remove unused import: `os`" in answer["titles"]
    assert "Suppress with `# noqa: F401`" in answer["titles"]
    assert answer["lines"] == ["a = 1", 'n: int = "typed"'], "the fix removed the import"
    assert (workspace / "app.py").read_text() == 'a = 1\nn: int = "typed"\n', "nothing saved"
