"""Two features' diagnostics on one document are published together, never one over the
other (LSP replaces a document's whole list with each publication)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from shim_lsp.server.diagnostics import Diagnostics


class Published:
    def __init__(self) -> None:
        self.sent: list[types.PublishDiagnosticsParams] = []
        self.client_capabilities = types.ClientCapabilities()
        """A client that does not pull: it is pushed to."""

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        self.sent.append(params)

    def client_uri(self, uri: str) -> str:
        return uri


def _diag(message: str, line: int = 0) -> types.Diagnostic:
    where = types.Range(types.Position(line, 0), types.Position(line, 1))
    return types.Diagnostic(range=where, message=message)


def _hub() -> tuple[Diagnostics, Published]:
    client = Published()
    hub: Any = Diagnostics(client)  # type: ignore[arg-type]
    return hub, client


def test_a_second_source_keeps_the_first_sources_diagnostics() -> None:
    hub, client = _hub()
    hub.put("file:///a.py", "SHIM ruff", [_diag("F401")], version=3)
    hub.put("file:///a.py", "SHIM recovery", [_diag("unsaved work")])
    assert [d.message for d in client.sent[-1].diagnostics] == ["unsaved work", "F401"]
    assert client.sent[-1].version is None  # the recovery notice is for no buffer version


def test_an_empty_list_takes_only_its_own_source_off() -> None:
    hub, client = _hub()
    hub.put("file:///a.py", "SHIM ruff", [_diag("F401")], version=3)
    hub.put("file:///a.py", "SHIM recovery", [_diag("unsaved work")])
    hub.put("file:///a.py", "SHIM ruff", [], version=4)
    assert [d.message for d in client.sent[-1].diagnostics] == ["unsaved work"]
    hub.clear("file:///a.py", "SHIM recovery")
    assert client.sent[-1].diagnostics == []
    count = len(client.sent)
    hub.clear("file:///a.py", "SHIM recovery")  # nothing there: nothing said
    assert len(client.sent) == count


def test_the_result_id_changes_with_the_diagnostics() -> None:
    hub, _client = _hub()
    first = hub.result_id("file:///a.py")
    assert hub.result_id("file:///a.py") == first
    hub.put("file:///a.py", "SHIM ruff", [_diag("F401")], version=1)
    assert hub.result_id("file:///a.py") != first
