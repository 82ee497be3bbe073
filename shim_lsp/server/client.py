"""What the client can do, asked before every server-to-client request.

Editors differ: Neovim 0.7 announces ``window.showDocument`` with ``support: false`` and no
``documentChanges``; some clients answer a request they announced with an error. Every flow
that needs the client checks here first, and a request that fails is logged and turned into
"no" so that the flow goes on (a failed request never ends a recovery halfway).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types

from shim_lsp.notifications import CLIENT_CAPABILITY
from shim_lsp.workspace.paths import valid_text

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer

log = logging.getLogger(__name__)
T = TypeVar("T")


def shows(ls: ShimLanguageServer, what: str) -> bool:
    """The client asked (``experimental.shim.<what>``) to show something its own way."""
    experimental = ls.client_capabilities.experimental
    ours = experimental.get(CLIENT_CAPABILITY) if isinstance(experimental, dict) else None
    return isinstance(ours, dict) and ours.get(what) is True


def can_show_document(ls: ShimLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.show_document and window.show_document.support)


def can_apply_edit(ls: ShimLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.apply_edit)


def can_preview(ls: ShimLanguageServer) -> bool:
    """Edits the user confirms first (change annotations needing confirmation)."""
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes and edit.change_annotation_support)


def takes_document_changes(ls: ShimLanguageServer) -> bool:
    """Versioned edits (``documentChanges``); without them an edit goes by ``changes``."""
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes)


def can_ask(ls: ShimLanguageServer) -> bool:
    """A question with answers (``window/showMessageRequest``), as the client declares it."""
    window = ls.client_capabilities.window
    return bool(window and window.show_message is not None)


async def ask(
    request: Awaitable[T], what: str, failed: Callable[[], None] | None = None
) -> T | None:
    """Await a server-to-client request; an error from the client is logged (then ``failed``
    is called) and is None."""
    try:
        return await request
    except Exception as exc:  # the client's error, whatever its type: the flow goes on
        log.warning("the editor could not %s: %s", what, exc)
        if failed is not None:
            failed()
        return None


async def choose(
    ls: ShimLanguageServer,
    kind: types.MessageType,
    message: str,
    titles: Sequence[str],
    what: str,
    instead: str | None = None,
) -> str | None:
    """The answer the user picked among ``titles`` (``window/showMessageRequest``); None when
    they closed the question or the client failed it (logged as "could not ``what``"). Not
    gated on ``window.showMessage``: clients older than LSP 3.16 (Neovim 0.7) answer the
    request without declaring it. ``instead``: what a client that failed the request is told
    by a plain message, which every client shows."""
    params = types.ShowMessageRequestParams(
        type=kind,
        message=valid_text(message),
        actions=[types.MessageActionItem(title=t) for t in titles],
    )
    failed = None if instead is None else partial(ls.tell_user, instead, kind)
    answer = await ask(ls.window_show_message_request_async(params), what, failed)
    return answer.title if answer is not None else None
