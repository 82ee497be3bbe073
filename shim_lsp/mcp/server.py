"""SHIM's tools for AI chat sessions, on the official MCP SDK (``MCPServer``).

Each tool is glue: it checks its arguments, calls the same core the language server and the
CLI call (session engine, recovery, store), and returns a plain dict (the SDK sends it as
structured content, and as JSON text for clients that read only text). Expected failures are
``ToolError``s with a message a model can act on; the server keeps serving.
"""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer

from shim_lsp import __version__
from shim_lsp.mcp import analyze, codemods, core, dismiss, history
from shim_lsp.mcp.chat import Chat
from shim_lsp.mcp.face import Face
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
        if ctx.method == "notifications/roots/list_changed":
            result = await call_next(ctx)
            await face.roots_changed(ctx.session)
            return result
        if ctx.method in NEEDS_WORKSPACE:
            await face.decide(ctx.session)
        return await call_next(ctx)

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


def serve(workspace: Path | None, settings: Settings, http_port: int | None = None) -> int:
    """Run one chat's server on stdio (or, given ``http_port``, streamable HTTP on loopback)
    until the client goes; the session then ends cleanly. SIGTERM ends it the same way (a
    clean end, not a crash). Without a workspace, the chat starts once the client's roots are
    known."""
    face = Face(settings, Path.cwd(), Chat(workspace, settings) if workspace else None)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    listening = None
    if http_port is not None:
        try:
            listening = listen(http_port)
        except OSError as exc:
            print(f"shim: cannot listen on {LOOPBACK}:{http_port}: {exc}", file=sys.stderr)
            return 2
    try:
        if face.choice is not None:
            face.chat.start()
        server = build_server(face)
        if listening is None:
            server.run("stdio")
        else:
            anyio.run(serve_http, server, listening)
    finally:
        face.close()
    return 0


LOOPBACK = "127.0.0.1"
PATH = "/mcp"


def listen(port: int) -> socket.socket:
    """A socket on loopback only (port 0: one the system picks): nothing off this machine
    can reach a chat's tools, which read and write the workspace."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve_http(server: MCPServer[Any], sock: socket.socket) -> None:
    """The SDK's streamable HTTP app under uvicorn, with the SDK's DNS-rebinding protection
    (Host and Origin must name loopback: a web page cannot reach it through a name that
    resolves here). The URL goes to stderr, port included, for clients to be pointed at."""
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*"],
    )
    app = server.streamable_http_app(
        streamable_http_path=PATH, transport_security=security, host=LOOPBACK
    )
    port = sock.getsockname()[1]
    print(f"shim mcp: streamable HTTP at http://{LOOPBACK}:{port}{PATH}", file=sys.stderr)
    sys.stderr.flush()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])
