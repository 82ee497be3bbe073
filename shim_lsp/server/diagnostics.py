"""Every feature's diagnostics for a document, kept by source and published together.

LSP replaces all of a document's diagnostics with each ``publishDiagnostics``: a feature that
published on its own (ruff's findings) would erase another's (the recovery notice, duplicate
code, type checks). Features hand their list for one source to ``Diagnostics.put``; this
publishes the union, and answers pull requests (``textDocument/diagnostic``) from the same
lists, so a client that pulls sees what a client that is pushed to sees.

A client that pulls and takes ``workspace/diagnostic/refresh`` is not pushed to as well: VS
Code (vscode-languageclient 10) keeps pulled and pushed diagnostics in two collections and
would show each twice. It is asked to pull again instead. Other clients are pushed to, as
``ruff server`` does (astral-sh/ruff#11092).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import attrs
from lsprotocol import types

from shim_lsp.metrics import recorder

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer


REFRESH_AFTER_S = 0.05


FINDINGS: dict[str, str] = {}
"""Source of diagnostics -> the metrics' analysis label; each analysis feature adds its own."""


@attrs.define
class _Part:
    version: int | None
    found: list[types.Diagnostic]


class Diagnostics:
    """Per canonical URI, per source: the newest list and the buffer version it is for."""

    def __init__(self, ls: ShimLanguageServer) -> None:
        self.ls = ls
        self._parts: dict[str, dict[str, _Part]] = {}
        self._result_ids: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._changed = asyncio.Event()
        """Set (and replaced) at each change: a waiting workspace pull answers."""
        self._refresh: asyncio.TimerHandle | None = None

    def put(
        self,
        uri: str,
        source: str,
        found: list[types.Diagnostic],
        version: int | None = None,
    ) -> None:
        """Replace ``source``'s diagnostics for ``uri`` and publish the document's union: to a
        client that is pushed to always (one waiting for the result of a check hears it even
        when it is empty); a client that pulls is asked to pull again when the union changed."""
        before = self.of(uri)
        parts = self._parts.setdefault(uri, {})
        if found:
            parts[source] = _Part(version, found)
        else:
            parts.pop(source, None)
        if not parts:
            del self._parts[uri]
        if (analysis := FINDINGS.get(source)) is not None:
            recorder.findings(analysis, self.count(source)[1])  # what the editor shows
        if self.pulled() and self.of(uri) == before:
            return  # nothing for the client to pull again (a check found what it had)
        self._result_ids[uri] = str(next(self._counter))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if self.pulled():
            self._ask_refresh()
            return
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=self.ls.client_uri(uri), version=self._version(uri), diagnostics=self.of(uri)
            )
        )

    def count(self, source: str) -> tuple[int, int]:
        """(documents, diagnostics) that ``source`` shows now, open or not."""
        lists = [parts[source].found for parts in self._parts.values() if source in parts]
        return len(lists), sum(len(found) for found in lists)

    def pulled(self) -> bool:
        """The client pulls diagnostics and can be told to pull again: it is not pushed to."""
        caps = self.ls.client_capabilities
        text, workspace = caps.text_document, caps.workspace
        return bool(
            text
            and text.diagnostic is not None
            and workspace
            and workspace.diagnostics
            and workspace.diagnostics.refresh_support
        )

    def _ask_refresh(self) -> None:
        """One ``workspace/diagnostic/refresh`` for a burst of changes (a workspace run)."""
        if self._refresh is None:
            self._refresh = asyncio.get_running_loop().call_later(REFRESH_AFTER_S, self._refreshed)

    def _refreshed(self) -> None:
        self._refresh = None
        self.ls.workspace_diagnostic_refresh(None)

    def report(self, uri: str, previous: str | None) -> types.DocumentDiagnosticReport:
        """The answer to ``textDocument/diagnostic``: unchanged since ``previous``, or all."""
        result_id = self.result_id(uri)
        if previous == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=self.of(uri), result_id=result_id)

    async def workspace_report(
        self, previous: Sequence[types.PreviousResultId]
    ) -> types.WorkspaceDiagnosticReport:
        """The answer to ``workspace/diagnostic``: every document not open whose diagnostics
        changed since the client's ``previous`` results (open ones are pulled one by one).
        When none did, it waits for a change, as the protocol lets a server hold it open."""
        known = {self.ls.canonical(p.uri): p.value for p in previous}
        while True:
            changed = self._changed
            items: list[
                types.WorkspaceFullDocumentDiagnosticReport
                | types.WorkspaceUnchangedDocumentDiagnosticReport
            ] = []
            for uri in sorted(set(self._parts) | set(known)):
                result_id = self.result_id(uri)
                if known.get(uri) == result_id or self.ls.document(uri) is not None:
                    continue
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(
                        uri=self.ls.client_uri(uri),
                        items=self.of(uri),
                        version=None,
                        result_id=result_id,
                    )
                )
            if items:
                return types.WorkspaceDiagnosticReport(items=items)
            await changed.wait()

    def clear(self, uri: str, source: str) -> None:
        """Take ``source``'s diagnostics off ``uri``; says nothing if it had none."""
        if source in self._parts.get(uri, {}):
            self.put(uri, source, [])

    def of(self, uri: str) -> list[types.Diagnostic]:
        """The document's diagnostics from every source, in source order."""
        parts = self._parts.get(uri, {})
        return [d for source in sorted(parts) for d in parts[source].found]

    def sources(self, uri: str) -> Iterator[str]:
        yield from self._parts.get(uri, {})

    def result_id(self, uri: str) -> str:
        """Changes whenever the document's diagnostics do (pull diagnostics' ``resultId``)."""
        found = self._result_ids.get(uri)
        if found is None:
            found = self._result_ids[uri] = str(next(self._counter))
        return found

    def uris(self) -> list[str]:
        return list(self._parts)

    def _version(self, uri: str) -> int | None:
        """The buffer version every part was computed for; None when they differ (the
        recovery notice is for no version) so that no client drops a mixed list as stale."""
        versions = {p.version for p in self._parts.get(uri, {}).values()}
        return versions.pop() if len(versions) == 1 else None
