"""The test suite's own house rules: helpers import through pytest's configuration."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _sys_path_edits(source: Path) -> list[int]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]


def test_no_test_or_bench_file_touches_sys_path() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for folder in ("tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if ".cache" not in path.parts and (lines := _sys_path_edits(path))
    }
    assert found == {}
