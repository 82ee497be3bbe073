"""pygls's protocol, answering malformed input instead of only logging it.

pygls logs a message it cannot decode and moves on; the client then waits forever for the
answer. Here a request whose parameters do not fit gets an InvalidParams error with its id,
and a body that is not JSON gets a ParseError (id null), as JSON-RPC asks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcParseError
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from shim_lsp.commands import TAKES_WORK_DONE_TOKEN

log = logging.getLogger(__name__)


class ShimProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
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
            and params.command in TAKES_WORK_DONE_TOKEN
            and (not args or (len(args) == 1 and isinstance(args[0], dict | None)))
        ):
            given = (args[0] if args else None) or {}
            params.arguments = [{**given, "workDoneToken": token}]
        return (yield from super().lsp_workspace__execute_command(params))

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

    def answer_parse_error(self, error: Exception) -> None:
        """Tell the client its message was not JSON; id is null because none could be read."""
        response = types.ResponseErrorMessage(
            id=None,
            error=JsonRpcParseError(f"message is not valid JSON: {error}").to_response_error(),
        )
        self._send_data(response)


def is_parse_error(error: Exception) -> bool:
    return isinstance(error, json.JSONDecodeError | UnicodeDecodeError)
