"""What counts as a module binding a name: a star import of it brings that name."""

from __future__ import annotations

from pathlib import Path

import pytest
from shim_transforms._names import first_binding


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("match 1:\n    case Account:\n        pass\n", 1),
        ("match {}:\n    case {**Account}:\n        pass\n", 1),
        ("def setup():\n    global Account\n    Account = 1\n\n\nsetup()\n", 2),
        ("Account = 1\n\n\ndef f():\n    global Account\n", 1),
        ("def f():\n    Account = 1\n", None),
    ],
    ids=["match-capture", "match-rest", "global-in-function", "global-and-binding", "local"],
)
def test_a_module_binds_a_name_by_match_patterns_and_global_statements(
    tmp_path: Path, source: str, line: int | None
) -> None:
    path = tmp_path / "views.py"
    path.write_text(source)
    assert first_binding(path, "Account") == line
