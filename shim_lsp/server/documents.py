"""Document events in, journal records out. pygls has already updated its copy of the text."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from shim_lsp.journal.records import from_lsp_change
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.workspace.paths import uri_to_path


def register(server: ShimLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ShimLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        uri = ls.canonical(doc.uri)
        if ls.engine is not None:
            ls.engine.did_open(uri, doc.text, doc.version)
        ls.opened.setdefault(uri, asyncio.Event()).set()

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ShimLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        if ls.engine is None:
            return
        uri = ls.canonical(params.text_document.uri)
        doc = ls.document(uri)
        size = len(doc.source) if doc is not None else 0
        changes = [from_lsp_change(c) for c in params.content_changes]
        ls.engine.did_change(uri, params.text_document.version, changes, size)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ShimLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.engine is not None:
            ls.engine.did_save(ls.canonical(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ShimLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = ls.canonical(params.text_document.uri)
        if ls.engine is not None:
            ls.engine.did_close(uri)
        event = ls.opened.pop(uri, None)
        if event is not None:
            event.clear()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: ShimLanguageServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        if ls.engine is None:
            return
        paths = [uri_to_path(c.uri) for c in params.changes]
        ls.engine.files_changed([p for p in paths if p is not None])
