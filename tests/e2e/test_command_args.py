"""Command arguments that do not fit are invalid params, worded with their JSON names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import Editors, stop_editor
from pygls.exceptions import JsonRpcInvalidParams

from shim_lsp import commands as ids

BAD: list[tuple[str, dict[str, Any], str]] = [
    (ids.RECOVER_SESSION, {"uris": "abc"}, "expected a list, got str @ $.uris"),
    (ids.COMPARE_WITH_CHECKPOINT, {"checkpoint": 10**30, "uri": "file:///x.py"}, "$.checkpoint"),
    (ids.RESTORE_CHECKPOINT, {"checkpoint": -(10**30), "uri": "file:///x.py"}, "$.checkpoint"),
    (ids.LIST_CHECKPOINTS, {"limit": 1e300}, "$.limit"),
    (ids.LIST_CHECKPOINTS, {"limit": -1}, "limit must be at least 1, got -1"),
    (ids.LIST_CHECKPOINTS, {"limit": 0}, "limit must be at least 1, got 0"),
    (ids.FORCE_CHECKPOINT, {"label": ["a"]}, "expected str, got list @ $.label"),
    (ids.CHECK_RECOVERY, {"includeDismissed": "x"}, "expected bool, got str @ $.includeDismissed"),
    (ids.CLEAR_STATE, {"session": "a", "all": True}, "say which"),
    (ids.FORCE_CHECKPOINT, {"label": "  "}, "a checkpoint label cannot be blank"),
    (ids.COMPARE_WITH_CHECKPOINT, {"checkpoint": 5, "uri": "file:///x.py"}, "no checkpoint 5"),
    (ids.RECOVERED_TEXT, {"uri": "file:///x.py", "session": "zz"}, "left no unsaved work"),
    (ids.FORCE_CHECKPOINT, {"label": "one\ntwo"}, "one line of printable text"),
]


async def test_arguments_that_do_not_fit_are_invalid_params_named_as_sent(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    try:
        for command, args, expected in BAD:
            with pytest.raises(JsonRpcInvalidParams) as raised:
                await editor.command(command, args)
            assert expected in str(raised.value), (command, args, str(raised.value))
        assert await editor.command(ids.LIST_CHECKPOINTS, {"limit": 1}) == []
        assert await editor.command(ids.LIST_CHECKPOINTS, {"limit": 5.0}) == []
    finally:
        await stop_editor(editor)
