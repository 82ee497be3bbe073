"""What to tell a user whose codemod matched nothing: the name they gave names nothing in
the project, and the names nearest to it (a typo is the usual cause of "0 changed")."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from pathlib import Path

from shim_lsp.codemods.modules import module_name_of


def _top_level_names(path: Path) -> set[str]:
    """The names a module binds at its top level (definitions, assignments, imports)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias) and node.name != "*":
            names.add(node.asname or node.name.split(".")[0])
    return names


def unmatched(dotted: str, files: Iterable[Path], *, is_module: bool) -> str | None:
    """``"nothing in the project is named X (did you mean ...?)"`` when no module (or, for
    a name, no module binding it) of ``files`` is ``dotted``; None when one is."""
    modules: dict[str, Path] = {}
    for path in files:
        name = module_name_of(path)
        if name is not None:
            modules.setdefault(name, path)
    if is_module:
        if dotted in modules:
            return None
        close = difflib.get_close_matches(dotted, modules)
    else:
        module, _, short = dotted.rpartition(".")
        if module in modules:
            names = _top_level_names(modules[module])
            if short in names:
                return None
            close = [f"{module}.{n}" for n in difflib.get_close_matches(short, names)]
        else:
            near = difflib.get_close_matches(module, modules)
            close = [f"{m}.{short}" for m in near if short in _top_level_names(modules[m])]
            close = close or near
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"nothing in the project is named {dotted}{hint}"
