"""What the server writes to the editor's output channel at the default log level."""

from __future__ import annotations

import logging

import pytest

from shim_lsp.server.main import quiet_routine_warnings


def test_a_cancel_that_arrives_after_its_request_ended_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_routine_warnings()
    rpc = logging.getLogger("pygls.protocol.json_rpc")
    with caplog.at_level(logging.WARNING):
        rpc.warning('Cancel notification for unknown message id "%s"', 12)
        rpc.warning("something else")
    assert [r.getMessage() for r in caplog.records] == ["something else"]
