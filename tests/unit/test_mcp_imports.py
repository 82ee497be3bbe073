"""The MCP face sits beside the language server, not on it: it imports neither pygls nor
``shim_lsp.server`` (the core it calls is the same)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import shim_lsp.mcp.server
print(sorted(m for m in sys.modules if m.startswith(("pygls", "shim_lsp.server"))))
"""


def test_the_mcp_server_loads_without_the_language_server_or_pygls() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
