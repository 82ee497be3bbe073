"""The house's seams: features fanned out one by one, commands declared once, imports one way."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from shim_lsp.server.factory import FEATURES, command_specs, create_server
from shim_lsp.server.feature import Feature, call_features, gather_features

PACKAGE = Path(__file__).parents[2] / "shim_lsp"


class Broken(Feature):
    name = "broken"

    def document_saved(self, uri: str) -> None:
        raise RuntimeError("broken on purpose")

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        raise RuntimeError("broken on purpose")


class Listening(Feature):
    name = "listening"

    def __init__(self, ls: Any) -> None:
        super().__init__(ls)
        self.saved: list[str] = []

    def document_saved(self, uri: str) -> None:
        self.saved.append(uri)

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        return [types.CodeAction(title=f"act on {uri}")]


class Server:
    def __init__(self) -> None:
        self.features: list[Feature] = []
        self.listening: dict[str, list[Feature]] = {}


def test_one_failing_feature_never_stops_another(caplog: pytest.LogCaptureFixture) -> None:
    ls = Server()
    listening = Listening(ls)
    ls.features = [Broken(ls), listening]  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        call_features(ls, "document_saved", "file:///a.py")  # type: ignore[arg-type]
    assert listening.saved == ["file:///a.py"]
    assert "broken feature failed on document_saved" in caplog.text


async def test_code_actions_of_the_features_that_answered_are_kept() -> None:
    ls = Server()
    listening = Listening(ls)
    ls.features = [Broken(ls), listening]  # type: ignore[arg-type]
    found = await gather_features(ls, "code_actions", "file:///a.py", None)  # type: ignore[arg-type]
    assert [(f.name, [a.title for a in acts]) for f, acts in found] == [
        ("listening", ["act on file:///a.py"])
    ]


def test_a_hook_a_feature_does_not_override_is_not_called() -> None:
    ls = Server()
    plain = Feature(ls)  # type: ignore[arg-type]
    ls.features = [plain]
    call_features(ls, "document_saved", "file:///a.py")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):  # a hook the seam does not know is a bug, said loudly
        call_features(ls, "no_such_hook")  # type: ignore[arg-type]


def test_every_command_is_declared_once_and_announced_at_initialize() -> None:
    ids = [spec.id for spec in command_specs()]
    assert len(ids) == len(set(ids)), "a command ID declared twice"
    assert all(i.startswith("shim.") for i in ids)
    server = create_server()
    announced = server.protocol.fm.commands
    assert set(announced) == set(ids)
    assert server.progress_commands == {
        "shim.runCodemod",
        "shim.findDuplicates",
        "shim.analyzeWorkspace",
    }
    assert {f.name for f in server.features} == {f.name for f in FEATURES}


def _runtime_imports(path: Path) -> set[str]:
    """The shim_lsp modules a module imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("shim_lsp"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shim_lsp"):
            module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(
                    sub
                    if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                    or (PACKAGE.parent / sub.replace(".", "/")).is_dir()
                    else module
                )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def test_nothing_below_the_cli_imports_the_cli() -> None:
    faces = ("shim_lsp.cli", "shim_lsp.entry", "shim_lsp.__main__", "shim_lsp.mcp.__main__")
    offenders = {
        name: sorted(i for i in _runtime_imports(path) if i.startswith("shim_lsp.cli"))
        for name, path in _modules().items()
        if not name.startswith(faces)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_shim_lsp_modules_import_each_other_without_a_circle() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _runtime_imports(path) if i in modules and i != name}
        for name, path in modules.items()
    }
    # A package imports its own modules (its __init__ re-exports): not a circle of modules.
    for name in graph:
        graph[name] = {i for i in graph[name] if not name.startswith(i + ".")}
    cycles = []
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []
