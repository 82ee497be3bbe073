"""What every codemod in transforms/ must do, checked on each of them."""

from __future__ import annotations

from typing import Any

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from shim_lsp.codemods.registry import discover

ARGS: dict[str, dict[str, Any]] = {
    "rename_symbol": {"old_name": "shop.models.User", "new_name": "Account"},
    "move_module": {"old_module": "shop.utils", "new_module": "shop.common"},
    "migrate_call": {"old_name": "net.client.fetch", "new_name": "request"},
}
UNTOUCHED = [
    b"\xef\xbb\xbfimport os\r\n\r\nvalue = os.sep\r\n",
    "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
    b"def f(a: int) -> int:\r\n    return a  # nothing to change here\r\n",
]
CODEMODS, _PROBLEMS = discover()


@pytest.mark.parametrize("name", sorted(CODEMODS))
@pytest.mark.parametrize("source", UNTOUCHED, ids=["bom-crlf", "latin-1", "annotated"])
def test_untouched_files_stay_identical_byte_for_byte(name: str, source: bytes) -> None:
    info = CODEMODS[name]
    if name == "modernize_typing" and b"->" in source:
        pytest.skip("adds the future import to annotated files by design")
    module = __import__(info.module, fromlist=[info.cls])
    command = getattr(module, info.cls)(CodemodContext(), **ARGS.get(name, {}))
    assert command.transform_module(cst.parse_module(source)).bytes == source


@pytest.mark.parametrize("name", sorted(CODEMODS))
def test_every_codemod_is_described_and_typed(name: str) -> None:
    info = CODEMODS[name]
    assert info.description and info.description != "No description."
    assert all(a.type in ("str", "int", "float", "bool") for a in info.args)
