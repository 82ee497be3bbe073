"""Names a module reads but never binds: the check that a codemod introduced none.

A transform that writes ``logger.info`` without defining ``logger``, or ``pytest.raises``
without importing ``pytest``, still parses; it fails only when that line runs. Comparing
the unbound names before and after a change catches it (pyflakes' F821, from libcst's own
scope analysis, which the worker has loaded already).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider

BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__"}


def unbound_names(module: cst.Module) -> set[str] | None:
    """Names read with no binding in reach; None when a star import makes that unknowable."""
    if m.findall(module, m.ImportFrom(names=m.ImportStar())):
        return None
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    unbound: set[str] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if not access.referents and isinstance(access.node, cst.Name):
                unbound.add(access.node.value)
    return unbound


class _Identifiers(cst.CSTVisitor):
    """Every name a module spells as a variable (not attribute or keyword names), and the
    names its imports bind, at any depth."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.imported: set[str] = set()
        """Names an import binds anywhere (a function's ``import utils`` too)."""
        self._not_variables: set[int] = set()

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        self.imported.add((node.evaluated_alias or node.evaluated_name).split(".")[0])

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_variables.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_variables.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._not_variables:
            self.names.add(node.value)


def _identifiers(module: cst.Module) -> _Identifiers:
    visitor = _Identifiers()
    module.visit(visitor)
    return visitor


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return {n for el in target.elements for n in _target_names(el.value)}
    return set()


def module_bindings(body: Sequence[cst.BaseStatement | cst.BaseSmallStatement]) -> set[str]:
    """Names bound at module level (through top-level if/try/with/for blocks too)."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            names |= module_bindings(stmt.body)
        elif isinstance(stmt, cst.Import | cst.ImportFrom):
            if isinstance(stmt.names, cst.ImportStar):
                continue
            for alias in stmt.names:
                names.add((alias.evaluated_alias or alias.evaluated_name).split(".")[0])
        elif isinstance(stmt, cst.Assign):
            for t in stmt.targets:
                names |= _target_names(t.target)
        elif isinstance(stmt, cst.AnnAssign | cst.AugAssign):
            names |= _target_names(stmt.target)
        elif isinstance(stmt, cst.If | cst.For | cst.While | cst.With | cst.Try | cst.TryStar):
            names |= _block_bindings(stmt)
    return names


def _block_bindings(stmt: cst.BaseCompoundStatement) -> set[str]:
    names: set[str] = set()
    if isinstance(stmt, cst.For):
        names |= _target_names(stmt.target)
    if isinstance(stmt, cst.With):
        for item in stmt.items:
            if item.asname is not None:
                names |= _target_names(item.asname.name)
    blocks: list[cst.BaseSuite | None] = [stmt.body]
    if isinstance(stmt, cst.If | cst.For | cst.While):
        blocks.append(stmt.orelse.body if stmt.orelse is not None else None)
    if isinstance(stmt, cst.Try | cst.TryStar):
        blocks += [h.body for h in stmt.handlers]
        blocks += [stmt.orelse.body if stmt.orelse else None]
        blocks += [stmt.finalbody.body if stmt.finalbody else None]
    for block in blocks:
        if isinstance(block, cst.IndentedBlock | cst.SimpleStatementSuite):
            names |= module_bindings(block.body)
        elif isinstance(block, cst.If):  # elif
            names |= _block_bindings(block)
    return names


def introduced_unbound(before: cst.Module, after: cst.Module) -> set[str]:
    """Names unbound in ``after`` that were not unbound in ``before``.

    Scope analysis costs seconds on a large file, so it runs only when a name is new to the
    file, or lost its module-level binding or an import's (a function's ``import utils``
    rewritten to ``import pkg.utils``), and is not bound at module level now.
    """
    bound_after = module_bindings(after.body)
    seen_before, seen_after = _identifiers(before), _identifiers(after)
    names_after = seen_after.names
    new = names_after - seen_before.names
    lost = (
        (module_bindings(before.body) - bound_after) | (seen_before.imported - seen_after.imported)
    ) & names_after
    suspects = (new | lost) - bound_after - BUILTINS
    if not suspects:
        return set()
    unbound = unbound_names(after)
    return set() if unbound is None else unbound & suspects
