"""SHIM's tools for AI chat sessions, on the official MCP SDK (``MCPServer``).

Each tool is glue: it checks its arguments, calls the same core the language server and the
CLI call (session engine, recovery, store), and returns a plain dict (the SDK sends it as
structured content, and as JSON text for clients that read only text). Expected failures are
``ToolError``s with a message a model can act on; the server keeps serving.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

from shim_lsp import __version__
from shim_lsp.mcp import core, history
from shim_lsp.mcp.chat import Chat
from shim_lsp.mcp.face import Face
from shim_lsp.settings import Settings

INSTRUCTIONS = """SHIM protects the work in this workspace: it checkpoints files into a local \
store, finds work left unsaved or unfinished by crashed editor windows and chats, and knows which \
files editor windows hold with unsaved edits. Call shim_session_status before editing files \
(do not write files it lists under filesWithUnsavedEdits), shim_check_recovery at the start of \
a chat, and shim_force_checkpoint before a risky change."""


def build_server(chat: Chat) -> MCPServer[Any]:
    """The MCP server of one chat: its tools close over the chat's session."""
    server: MCPServer[Any] = MCPServer(
        "shim", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    face = Face(chat)
    core.register(server, face)
    history.register(server, face)
    return server


def serve(workspace: Path, settings: Settings) -> int:
    """Run one chat's server on stdio until the client goes; the session then ends cleanly.
    SIGTERM ends it the same way (a clean end, not a crash)."""
    chat = Chat(workspace, settings)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    try:
        chat.start()
        build_server(chat).run("stdio")
    finally:
        chat.close()
    return 0
