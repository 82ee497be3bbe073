"""Command arguments that do not fit are invalid params, worded with their JSON names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import Editors, stop_editor
from pygls.exceptions import JsonRpcInvalidParams

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("shim.recoverSession", {"uris": "abc"}, "expected a list, got str @ $.uris"),
    ("shim.compareWithCheckpoint", {"checkpoint": 10**30, "uri": "file:///x.py"}, "$.checkpoint"),
    ("shim.restoreCheckpoint", {"checkpoint": -(10**30), "uri": "file:///x.py"}, "$.checkpoint"),
    ("shim.listCheckpoints", {"limit": 1e300}, "$.limit"),
    ("shim.listCheckpoints", {"limit": -1}, "limit must be at least 1, got -1"),
    ("shim.listCheckpoints", {"limit": 0}, "limit must be at least 1, got 0"),
    ("shim.forceCheckpoint", {"label": ["a"]}, "expected str, got list @ $.label"),
    (
        "shim.checkRecovery",
        {"includeDismissed": "x"},
        "expected bool, got str @ $.includeDismissed",
    ),
    ("shim.clearState", {"session": "a", "all": True}, "say which"),
    ("shim.forceCheckpoint", {"label": "  "}, "a checkpoint label cannot be blank"),
    ("shim.compareWithCheckpoint", {"checkpoint": 5, "uri": "file:///x.py"}, "no checkpoint 5"),
    ("shim.recoveredText", {"uri": "file:///x.py", "session": "zz"}, "left no unsaved work"),
    ("shim.forceCheckpoint", {"label": "one\ntwo"}, "one line of printable text"),
    ("shim.openDuplicate", {"uri": "file:///x.py", "line": -5}, "line must be a line number"),
    ("shim.openDuplicate", {"uri": "file:///x.py", "line": 2**31}, "from 0 to 2147483647"),
    ("shim.openDuplicate", {"uri": "file:///x.py", "line": 3, "endLine": 1}, "is before line"),
    ("shim.openDuplicate", {"uri": "file:///x.py", "line": "3"}, "expected int, got str"),
    (
        "shim.applyEdit",
        {"label": "x", "files": [{"uri": "file:///x.py", "version": 1, "edits": []}]},
        "x.py is not open",
    ),
]


def _inverted(uri: str) -> dict[str, Any]:
    """An edit whose range ends before it starts, for an open buffer at its version."""
    at = {"start": {"line": 1, "character": 0}, "end": {"line": 0, "character": 0}}
    edit = {"range": at, "newText": ""}
    return {"label": "x", "files": [{"uri": uri, "version": 1, "edits": [edit]}]}


async def test_arguments_that_do_not_fit_are_invalid_params_named_as_sent(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    editor = await editors.start(workspace, state_dir)
    try:
        for command, args, expected in BAD:
            with pytest.raises(JsonRpcInvalidParams) as raised:
                await editor.command(command, args)
            assert expected in str(raised.value), (command, args, str(raised.value))
        uri = editor.open("a.py", "x = 1\n")
        with pytest.raises(JsonRpcInvalidParams, match="invalid range: it ends"):
            await editor.command("shim.applyEdit", _inverted(uri))
        assert await editor.command("shim.listCheckpoints", {"limit": 1}) == []
        assert await editor.command("shim.listCheckpoints", {"limit": 5.0}) == []
    finally:
        await stop_editor(editor)
