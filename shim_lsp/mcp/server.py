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

from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer

from shim_lsp import __version__
from shim_lsp.mcp import analyze, codemods, core, dismiss, history
from shim_lsp.mcp.chat import Chat
from shim_lsp.mcp.face import Face
from shim_lsp.metrics import recorder
from shim_lsp.settings import Settings

INSTRUCTIONS = """SHIM protects the work in this workspace: it checkpoints files into a local \
store, finds work left unsaved or unfinished by crashed editor windows and chats, and knows which \
files editor windows hold with unsaved edits. Call shim_session_status before editing files \
(do not write files it lists under filesWithUnsavedEdits), shim_check_recovery at the start of \
a chat, and shim_force_checkpoint before a risky change."""


NEEDS_WORKSPACE = ("notifications/initialized", "tools/call", "resources/read")
"""Messages after which the workspace must be known: the chat starts once initialized."""


def build_server(face: Face) -> MCPServer[Any]:
    """The MCP server of one chat: its tools reach the chat's session through ``face``."""

    async def workspace_first(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        """Decide the workspace (asking the client for its roots) before the first tool
        runs, and as soon as the client has initialized: the chat's first checkpoint is the
        'before' of its work."""
        if ctx.method == "notifications/initialized":
            result = await call_next(ctx)
            await face.decide(ctx.session)
            return result
        if ctx.method in NEEDS_WORKSPACE:
            await face.decide(ctx.session)
        if ctx.method != "tools/call":
            return await call_next(ctx)
        try:
            result = await call_next(ctx)
        except Exception:
            recorder.mcp_call(ok=False)
            raise
        recorder.mcp_call(ok=not getattr(result, "is_error", False))
        return result

    server: MCPServer[Any] = MCPServer(
        "shim",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        middleware=[workspace_first],
    )
    core.register(server, face)
    history.register(server, face)
    dismiss.register(server, face)
    codemods.register(server, face)
    analyze.register(server, face)
    return server


def serve(workspace: Path | None, settings: Settings) -> int:
    """Run one chat's server on stdio until the client goes; the session then ends cleanly.
    SIGTERM ends it the same way (a clean end, not a crash). Without a workspace, the chat
    starts once the client's roots are known."""
    face = Face(settings, Path.cwd(), Chat(workspace, settings) if workspace else None)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    try:
        if face.choice is not None:
            face.chat.start()
        build_server(face).run("stdio")
    finally:
        face.close()
    return 0
