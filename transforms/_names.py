"""Qualified names as the codemods compare them: absolute, whatever the import style."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node


def package_of(module: str | None, filename: str | None) -> str:
    """The package a module's relative imports start from."""
    if module is None:
        return ""
    if filename is not None and filename.replace("\\", "/").endswith("/__init__.py"):
        return module
    return module.rpartition(".")[0]


def absolute(name: str, module: str | None, package: str) -> str:
    """``.mod.X`` and module-local ``X`` as full dotted names; others unchanged."""
    if name.startswith("."):
        level = len(name) - len(name.lstrip("."))
        parts = package.split(".") if package else []
        base = parts[: len(parts) - (level - 1)] if level > 1 else parts
        rest = name.lstrip(".")
        return ".".join([*base, rest]) if rest else ".".join(base)
    if module and "." not in name and "<locals>" not in name:
        return f"{module}.{name}"
    return name


def import_from_module(node: cst.ImportFrom, package: str) -> str | None:
    """The absolute module an ``from ... import`` statement reads from."""
    dots = "." * len(node.relative)
    tail = get_full_name_for_node(node.module) if node.module is not None else ""
    if not dots:
        return tail
    return absolute(dots + (tail or ""), None, package)
