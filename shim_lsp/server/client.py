"""What the client can do, asked before every server-to-client request.

Editors differ: Neovim 0.7 announces ``window.showDocument`` with ``support: false`` and no
``documentChanges``; some clients answer a request they announced with an error. Every flow
that needs the client checks here first, and a request that fails is logged and turned into
"no" so that the flow goes on (a failed request never ends a recovery halfway).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types
from pygls.workspace import TextDocument

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer

log = logging.getLogger(__name__)
T = TypeVar("T")


def can_show_document(ls: ShimLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.show_document and window.show_document.support)


def can_apply_edit(ls: ShimLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.apply_edit)


def takes_document_changes(ls: ShimLanguageServer) -> bool:
    """Versioned edits (``documentChanges``); without them an edit goes by ``changes``."""
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes)


async def ask(request: Awaitable[T], what: str) -> T | None:
    """Await a server-to-client request; an error from the client is logged and is None."""
    try:
        return await request
    except Exception as exc:  # the client's error, whatever its type: the flow goes on
        log.warning("the editor could not %s: %s", what, exc)
        return None


def disk_document(ls: ShimLanguageServer, uri: str, text: str) -> TextDocument:
    """A document for a file that is not open, counting positions the negotiated way."""
    return TextDocument(uri, text, position_codec=ls.workspace.position_codec)


def whole_document_edit(doc: TextDocument, text: str) -> types.TextEdit:
    """Replace all of ``doc`` by ``text``, in the position encoding the client negotiated."""
    lines = doc.lines
    end = types.Position(line=0, character=0)
    if lines:
        last = lines[-1]
        if last.endswith(("\n", "\r")):
            end = types.Position(line=len(lines), character=0)
        else:
            units = doc.position_codec.client_num_units(last)
            end = types.Position(line=len(lines) - 1, character=units)
    return types.TextEdit(
        range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=text
    )


def workspace_edit(
    ls: ShimLanguageServer, uri: str, version: int | None, edits: list[types.TextEdit]
) -> types.WorkspaceEdit:
    """A versioned edit where the client takes ``documentChanges``, else by ``changes``."""
    client_uri = ls.client_uri(uri)
    if takes_document_changes(ls):
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=client_uri, version=version
                    ),
                    edits=list(edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={client_uri: list(edits)})
