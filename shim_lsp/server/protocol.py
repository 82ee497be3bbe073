"""pygls's protocol, answering malformed input instead of only logging it.

pygls logs a message it cannot decode and moves on; the client then waits forever for the
answer. Here a request whose parameters do not fit gets an InvalidParams error with its id; a
body that cannot be decoded (not JSON, nested too deeply) a ParseError; a malformed frame, a
batch or a message without ``"jsonrpc": "2.0"`` an InvalidRequest: each with the request's id
when it can be read, else id null (ParseError only), as JSON-RPC asks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from shim_lsp.server.framing import FrameReader, readable_id

log = logging.getLogger(__name__)


class ShimProtocol(LanguageServerProtocol):
    frames: FrameReader | None = None
    """The reader of the client's frames (stdio): what a failed message is answered from."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        if _arguments_not_array(data):
            # lsprotocol would iterate an object or a string into a list of keys or letters.
            error = JsonRpcInvalidParams("workspace/executeCommand: arguments must be an array")
            self._send_response(data["id"], error=error.to_response_error())
            raise error
        try:
            return super().structure_message(data)
        except JsonRpcException:
            msg_id = data.get("id") if isinstance(data, dict) else None
            if msg_id is not None and "method" in data:
                method = data.get("method")
                error = JsonRpcInvalidParams(f"invalid parameters for {method!r}")
                self._send_response(msg_id, error=error.to_response_error())
            raise

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:
        """pygls passes a command only its arguments; SHIM's progress-reporting commands also
        get the request's ``workDoneToken`` (client-initiated progress), inside their object."""
        token = params.work_done_token
        args = params.arguments
        if (
            token is not None
            and params.command in getattr(self._server, "progress_commands", ())
            and (not args or (len(args) == 1 and isinstance(args[0], dict | None)))
        ):
            given = (args[0] if args else None) or {}
            params.arguments = [{**given, "workDoneToken": token}]
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls's, over a copy of the pending requests: cancelling a running command (its
        future is a plain Future) calls back into the dict at once, and pygls's loop then
        failed with "dictionary changed size during iteration", answering ``shutdown`` with an
        error (pygls issue #606)."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        """A request with arguments that do not fit is the caller's mistake, answered with
        InvalidParams: pygls would log it as an error with a traceback, as if SHIM broke."""
        if future.done() and not future.cancelled():
            exc = future.exception()
            if isinstance(exc, JsonRpcInvalidParams):
                self._request_futures.pop(msg_id, None)
                log.info("request %s: %s", msg_id, exc)
                self._send_response(msg_id, error=exc.to_response_error())
                return
        super()._send_handler_result(future, msg_id=msg_id)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Callable[..., Any],
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """``$/cancelRequest`` cancels the request's outer future only; when a builtin handler
        (``workspace/executeCommand``) runs SHIM's coroutine inside it, cancel that too."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        outer = callback.keywords.get("result_future") if isinstance(callback, partial) else None
        inner = self._request_futures.get(msg_id)
        if isinstance(outer, Future) and inner is not None and inner is not outer:
            outer.add_done_callback(lambda done: inner.cancel() if done.cancelled() else None)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, list):
            for item in message:
                self._refuse(item, "batches are not part of LSP; send each message on its own")
            return
        if getattr(message, "jsonrpc", None) != self.VERSION:
            self._refuse(message, 'a message needs "jsonrpc": "2.0"')
            return
        super().handle_message(message)

    def _refuse(self, message: Any, why: str) -> None:
        if isinstance(message, dict):
            msg_id, method = message.get("id"), message.get("method")
        else:
            msg_id, method = getattr(message, "id", None), getattr(message, "method", None)
        log.error("refused a message: %s (id %r, method %r)", why, msg_id, method)
        if isinstance(msg_id, int | str) and method is not None:
            self._send_response(msg_id, error=JsonRpcInvalidRequest(why).to_response_error())

    def answer_bad_frame(self, reason: str, skipped: bytes) -> None:
        """A frame the reader skipped: its request, if an id can be read, gets an error.

        Called on the reader's thread: one response is one write to the stdout buffer, whose
        lock keeps it whole beside the event loop's writes.
        """
        msg_id = readable_id(skipped)
        log.error(
            "malformed frame: %s; skipped up to the next header%s",
            reason,
            f", answering request {msg_id!r} with an error" if msg_id is not None else "",
        )
        if msg_id is not None:
            error = JsonRpcInvalidRequest(f"malformed frame: {reason}")
            self._send_response(msg_id, error=error.to_response_error())

    def answer_undecodable(self, error: Exception) -> None:
        """Tell the client its message could not be decoded, with its id when readable."""
        body = self.frames.last_body if self.frames is not None else None
        why = (
            "message is nested too deeply"
            if isinstance(error, RecursionError)
            else f"message is not valid JSON: {error}"
        )
        response = types.ResponseErrorMessage(
            id=readable_id(body), error=JsonRpcParseError(why).to_response_error()
        )
        self._send_data(response)


def _arguments_not_array(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("method") != types.WORKSPACE_EXECUTE_COMMAND:
        return False
    params = data.get("params")
    return (
        isinstance(params, dict)
        and params.get("arguments") is not None
        and not isinstance(params.get("arguments"), list)
        and isinstance(data.get("id"), int | str)
    )


def is_parse_error(error: Exception) -> bool:
    return isinstance(error, json.JSONDecodeError | UnicodeDecodeError | RecursionError)
