"""Running the server on stdio, and ending the session however the process ends."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

from shim_lsp.coordination.redact import redact_logs
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.factory import create_server
from shim_lsp.server.framing import FrameReader
from shim_lsp.server.lifecycle import end_process, exit_within
from shim_lsp.server.protocol import ShimProtocol

log = logging.getLogger(__name__)


EOF_GRACE_S = 10.0
"""How long a server whose client closed stdin may take to end by itself."""


def _end(server: ShimLanguageServer, reason: str) -> None:
    if server.engine is not None and server.engine.closed is None:
        server.engine.close(reason)


class _RoutineCancels(logging.Filter):
    """VS Code cancels requests that often have just been answered: pygls warns of each
    "unknown message id", a normal race, not a problem to show the user. Kept for debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        routine = str(record.msg).startswith("Cancel notification for unknown message id")
        return not routine or logging.getLogger().isEnabledFor(logging.DEBUG)


def quiet_routine_warnings() -> None:
    rpc = logging.getLogger("pygls.protocol.json_rpc")
    if not any(isinstance(f, _RoutineCancels) for f in rpc.filters):
        rpc.addFilter(_RoutineCancels())


LOG_LEVELS = ("debug", "info", "warning", "error")


def log_level(given: str | None) -> tuple[str, str | None]:
    """The logging level ``SHIM_LOG_LEVEL`` names (the editor's ``shim.server.logLevel``), and
    what was wrong with it: a level that does not exist must not stop the server (it would
    crash at every start, and nothing would be protected)."""
    if not given:
        return "WARNING", None
    if given.strip().lower() in LOG_LEVELS:
        return given.strip().upper(), None
    return "WARNING", (
        f"setting 'server.logLevel': {given!r} is not one of {', '.join(LOG_LEVELS)}; using warning"
    )


def serve() -> int:
    """Serve on stdio. Logging goes to stderr: stdout is the protocol channel."""
    level, problem = log_level(os.environ.get("SHIM_LOG_LEVEL"))
    logging.basicConfig(
        level=level, stream=sys.stderr, format="shim %(levelname)s %(name)s: %(message)s"
    )
    quiet_routine_warnings()
    redact_logs()
    server = create_server()
    if problem is not None:
        log.warning("%s", problem)
        server.setting_problem(problem)

    def on_term(signum: int, _frame: FrameType | None) -> None:
        # A terminated server did not get shutdown: its editor may have died with unsaved work.
        _end(server, "terminated")
        end_process(0 if server.shutdown_requested else 1)

    signal.signal(signal.SIGTERM, on_term)
    protocol = server.protocol
    assert isinstance(protocol, ShimProtocol)
    # pygls reads frames from this stream: only well-formed ones, whatever the client sent.
    protocol.frames = FrameReader(sys.stdin.buffer, protocol.answer_bad_frame)

    def finish() -> NoReturn:
        _end(server, "clean" if server.shutdown_requested else "client-gone")
        end_process(0 if server.shutdown_requested else 1)

    def client_closed() -> None:
        # Called from the reading thread once every frame the client sent has been handed
        # to its handler. The session ends here, on the event loop, as SIGTERM ends it:
        # asyncio.run's own ending would wait for every task, and one cancelled while it
        # starts a subprocess (a ruff server) waits forever (CPython gh-125502, in 3.11).
        # The watchdog covers a handler that holds the loop, and a client gone before
        # initialize (no loop known yet; nothing can be waiting then).
        loop = server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(finish)
        reason = "clean" if server.shutdown_requested else "client-gone"
        code = 0 if server.shutdown_requested else 1
        exit_within(EOF_GRACE_S, code, "its client closed stdin", lambda: _end(server, reason))

    protocol.frames.on_eof = client_closed
    try:
        server.start_io(stdin=protocol.frames)  # type: ignore[arg-type]  # readline, read
    finally:
        # stdin closed (or the loop failed) without exit: the client is gone; keep everything,
        # then end: a server whose client is gone must not linger.
        finish()
