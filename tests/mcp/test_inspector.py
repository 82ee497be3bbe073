"""A client nobody here wrote: the MCP Inspector's command-line mode (npm
``@modelcontextprotocol/inspector-cli``, the package ``npx @modelcontextprotocol/inspector
--cli`` runs; editor-client's node_modules, installed by ``npm ci``) against ``shim mcp``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_mcp import CODEMODS, CORE, HISTORY

REPO = Path(__file__).resolve().parents[2]
INSPECTOR = REPO / "editor-client/node_modules/@modelcontextprotocol/inspector-cli/build/index.js"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not INSPECTOR.is_file(),
    reason="needs node and editor-client's npm packages (scripts/test installs them)",
)


def inspect(workspace: Path, state_dir: Path, *method: str) -> Any:
    shim = str(Path(sys.executable).with_name("shim"))
    target = [shim, "mcp", "--workspace", str(workspace), "--state-dir", str(state_dir)]
    out = subprocess.run(
        ["node", str(INSPECTOR), *target, "--method", *method],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_mcp_inspector_lists_the_tools_and_reads_the_session_status(
    workspace: Path, state_dir: Path
) -> None:
    (workspace / "a.py").write_text("A = 1\n")
    listed = inspect(workspace, state_dir, "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert set(tools) == CORE | HISTORY | CODEMODS
    assert tools["shim_run_codemod"]["inputSchema"]["required"] == ["name"]
    status = inspect(workspace, state_dir, "tools/call", "--tool-name", "shim_session_status")
    assert not status.get("isError")
    assert status["structuredContent"]["kind"] == "chat"
    assert status["structuredContent"]["workspace"] == str(workspace)
