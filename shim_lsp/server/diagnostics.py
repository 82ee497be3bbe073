"""Every feature's diagnostics for a document, kept by source and published together.

LSP replaces all of a document's diagnostics with each ``publishDiagnostics``: a feature that
published on its own (ruff's findings) would erase another's (the recovery notice, duplicate
code, type checks). Features hand their list for one source to ``Diagnostics.put``; this
publishes the union, and answers pull requests (``textDocument/diagnostic``) from the same
lists, so a client that pulls sees what a client that is pushed to sees.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs
from lsprotocol import types

if TYPE_CHECKING:
    from shim_lsp.server.app import ShimLanguageServer


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

    def put(
        self,
        uri: str,
        source: str,
        found: list[types.Diagnostic],
        version: int | None = None,
    ) -> None:
        """Replace ``source``'s diagnostics for ``uri`` and publish the document's union
        (always: a client waiting for the result of a check hears it even when it is empty)."""
        parts = self._parts.setdefault(uri, {})
        if found:
            parts[source] = _Part(version, found)
        else:
            parts.pop(source, None)
        if not parts:
            del self._parts[uri]
        self._result_ids[uri] = str(next(self._counter))
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=self.ls.client_uri(uri), version=self._version(uri), diagnostics=self.of(uri)
            )
        )

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
