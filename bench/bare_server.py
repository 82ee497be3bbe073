"""The baseline for didChange throughput: a pygls 2 server that only keeps its buffers."""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "1")


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    """pygls has already applied the change to its copy; a bare server does nothing more."""


if __name__ == "__main__":
    server.start_io()
