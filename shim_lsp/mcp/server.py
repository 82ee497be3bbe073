"""SHIM's tools for AI chat sessions, on the official MCP SDK (``MCPServer``).

Each tool is glue: it checks its arguments, calls the same core the language server and the
CLI call (session engine, recovery, store), and returns a plain dict (the SDK sends it as
structured content, and as JSON text for clients that read only text). Expected failures are
``ToolError``s with a message a model can act on; the server keeps serving.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent

from shim_lsp import __version__
from shim_lsp.mcp import analyze, codemods, core, dismiss, history
from shim_lsp.mcp.chat import Chat
from shim_lsp.mcp.face import Face
from shim_lsp.mcp.roots import Choice, not_a_project
from shim_lsp.metrics import recorder
from shim_lsp.settings import Settings

INSTRUCTIONS = """SHIM protects the work in this workspace: it checkpoints files into a local \
store, finds work left unsaved or unfinished by crashed editor windows and chats, and knows which \
files editor windows hold with unsaved edits. Call shim_session_status before editing files \
(do not write files it lists under filesWithUnsavedEdits), shim_check_recovery at the start of \
a chat, and shim_force_checkpoint before a risky change."""


NEEDS_WORKSPACE = ("notifications/initialized", "tools/call", "resources/read")
"""Messages after which the workspace must be known: the chat starts once initialized."""


class ShimServer(MCPServer[Any]):
    """The SDK's server, whose tools say in words why a file or a value could not serve.

    The SDK answers an exception it does not know with "Error executing tool X" alone (its
    text might hold what a tool should not send); SHIM's tools raise only ToolError on
    purpose, so an OSError or ValueError reaching here is a path or a value from the
    client that the file system or a library refused, and an sqlite3 error a store that
    failed: their own words are what the model needs.
    """

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"SHIM's tools are async: {fn.__name__}")

        @functools.wraps(fn)
        async def said(*a: Any, **kw: Any) -> Any:
            try:
                result = await fn(*a, **kw)
            except anyio.get_cancelled_exc_class():
                if self.face is not None:
                    self.face.cut_short = True
                raise
            except OSError as exc:
                where = f" ({exc.filename})" if exc.filename else ""
                raise ToolError(f"{exc.strerror or exc}{where}") from exc
            except sqlite3.Error as exc:
                raise ToolError(f"SHIM's store failed: {exc}") from exc
            except (ValueError, OverflowError) as exc:
                raise ToolError(str(exc) or type(exc).__name__) from exc
            if self.face is not None:
                self.face.cut_short = False
            return result

        super().add_tool(said, *args, **kwargs)

    async def argument_names(self) -> dict[str, set[str]]:
        """Each tool's argument names, as its schema lists them."""
        if self._names is None:
            self._names = {
                t.name: set((t.input_schema or {}).get("properties", {}))
                for t in await self.list_tools()
            }
        return self._names

    _names: dict[str, set[str]] | None = None
    face: Face | None = None
    """The chat's face, told when a tool call is cut short."""


def _unknown_arguments(params: Mapping[str, Any] | None, names: dict[str, set[str]]) -> str | None:
    """Why a tools/call is refused for naming arguments its tool does not take (a model
    that misspells `confirm` must not have the call run as if it had been left out)."""
    if not params or params.get("name") not in names:
        return None
    given = params.get("arguments") or {}
    if not isinstance(given, Mapping):
        return None
    known = names[params["name"]]
    extra = sorted(str(k) for k in given if k not in known)
    if not extra:
        return None
    takes = ", ".join(sorted(known)) or "no arguments"
    return f"{params['name']} takes no argument {', '.join(extra)} (it takes: {takes})"


def _is_error(result: Any) -> bool:
    """Whether a tool's answer is an error: the SDK hands the middleware the wire form (a
    dict with ``isError``), or a ``CallToolResult``."""
    if isinstance(result, dict):
        return bool(result.get("isError"))
    return bool(getattr(result, "is_error", False))


def build_server(face: Face) -> ShimServer:
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
        if ctx.method == "tools/call":
            refused = _unknown_arguments(ctx.params, await server.argument_names())
            if refused is not None:
                recorder.mcp_call(ok=False)
                return CallToolResult(
                    content=[TextContent(type="text", text=refused)], is_error=True
                )
        if ctx.method in NEEDS_WORKSPACE:
            await face.decide(ctx.session)
        if ctx.method != "tools/call":
            return await call_next(ctx)
        try:
            result = await call_next(ctx)
        except Exception:
            recorder.mcp_call(ok=False)
            raise
        recorder.mcp_call(ok=not _is_error(result))
        return result

    server = ShimServer(
        "shim",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        middleware=[workspace_first],
    )
    server.face = face
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
    face = _face(workspace, settings)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))  # uvicorn's own, over HTTP
    listening = None
    if http_port is not None:
        try:
            listening = listen(http_port)
        except OSError as exc:
            print(f"shim: cannot listen on {LOOPBACK}:{http_port}: {exc}", file=sys.stderr)
            return 2
    try:
        if face.choice is not None and face.choice.folder is not None:
            face.chat.start()
        server = build_server(face)
        if listening is None:
            signal.signal(signal.SIGTERM, partial(_terminated, face))
            server.run("stdio")
        else:
            anyio.run(serve_http, server, listening)
    finally:
        face.close()
    return 0


def _terminated(face: Face, _sig: int, _frame: object) -> None:
    """SIGTERM over stdio: end the chat cleanly (its last checkpoint, a clean end) and exit.
    Raising SystemExit instead lands wherever the event loop is: stdin's reader thread
    holds it, and the process outlived SIGTERM while the client kept stdin open."""
    try:
        face.close()
    finally:
        os._exit(0)


def _face(workspace: Path | None, settings: Settings) -> Face:
    """The chat's face; ``--workspace`` naming / or the home folder is refused as the
    client's roots are (the chat would checkpoint every file under it), and said at once."""
    if workspace is None:
        return Face(settings, Path.cwd())
    real = Path(os.path.realpath(workspace))
    if not_a_project(real):
        why = (
            f"shim mcp --workspace {workspace} names {real}, not a project (SHIM would"
            " checkpoint every file under it): give the project's folder"
        )
        print(f"shim mcp: {why}", file=sys.stderr)
        return Face(settings, Path.cwd(), choice=Choice(None, "--workspace", why))
    return Face(settings, Path.cwd(), Chat(workspace, settings))


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
