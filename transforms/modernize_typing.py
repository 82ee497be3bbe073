"""Modern annotations for a target Python: ``X | None``, ``list[int]``, and the future import.

Each rewrite is gated on the version where it also works at run time (``|`` from 3.10,
builtin generics from 3.9), since libraries such as pydantic evaluate annotations. Names are
matched by what they refer to (``typing.Optional``, ``t.Optional`` after
``import typing as t``), not by spelling; typing imports left unused are removed. Only
annotations are rewritten: elsewhere (``cast(Optional[T], x)``, a type alias, a converter
built at run time) ``Optional[t]`` may be evaluated with a string or another non-type, for
which ``t | None`` raises. Stubs (``.pyi``) never get the future import. ``List[int]`` stays
where ``list`` is bound to something else in the scope that evaluates the annotation.
"""

from __future__ import annotations

import argparse

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodCommand, CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import BuiltinAssignment, QualifiedNameProvider, ScopeProvider

BUILTIN_GENERICS = {
    "typing.List": "list",
    "typing.Dict": "dict",
    "typing.Set": "set",
    "typing.FrozenSet": "frozenset",
    "typing.Tuple": "tuple",
    "typing.Type": "type",
}


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


class ModernizeTypingCommand(CodemodCommand):
    TITLE = "Modernize type hints (X | None, list[int])"
    DESCRIPTION = (
        "Modernise type annotations for a target Python version: Optional[X] and Union[A, B] "
        "to X | None and A | B (3.10+), List[int] to list[int] (3.9+), and add "
        "'from __future__ import annotations'."
    )

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--target_version",
            dest="target_version",
            default="3.10",
            help="The oldest Python the code must run on, e.g. 3.9.",
        )
        arg_parser.add_argument(
            "--add_future_import",
            dest="add_future_import",
            default=True,
            help="Add 'from __future__ import annotations' to files with annotations.",
        )

    def __init__(
        self, context: CodemodContext, target_version: str = "3.10", add_future_import: bool = True
    ) -> None:
        super().__init__(context)
        self.target_version = target_version
        self.add_future_import = add_future_import

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        # Scope analysis is the costly part: only files that mention typing need it.
        if "typing" in tree.code:
            tree = _TypingRewriter(self.context, self.target_version).transform_module(tree)
        stub = (self.context.filename or "").endswith(".pyi")
        if self.add_future_import and not stub and m.findall(tree, m.Annotation()):
            AddImportsVisitor.add_needed_import(self.context, "__future__", "annotations")
        return tree


class _TypingRewriter(VisitorBasedCodemodCommand):
    """The rewrites that need to know what a name refers to (``t.Optional`` included)."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider)

    def __init__(self, context: CodemodContext, target_version: str) -> None:
        super().__init__(context)
        self.target = _version(target_version)
        self.annotation_depth = 0

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self.annotation_depth += 1

    def leave_Annotation(
        self, original_node: cst.Annotation, updated_node: cst.Annotation
    ) -> cst.Annotation:
        self.annotation_depth -= 1
        return updated_node

    def _typing_name(self, node: cst.BaseExpression) -> str | None:
        names = self.get_metadata(QualifiedNameProvider, node, set())
        for qn in names:
            if qn.name.startswith("typing."):
                return qn.name
        return None

    def _is_builtin_there(self, builtin: str, node: cst.CSTNode) -> bool:
        """``builtin`` names the builtin where ``node`` is evaluated (a class attribute or a
        method called ``type`` or ``list`` shadows it in that class's body)."""
        scope = self.get_metadata(ScopeProvider, node, None)
        return scope is not None and all(isinstance(a, BuiltinAssignment) for a in scope[builtin])

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        if not self.annotation_depth:
            return updated_node
        name = self._typing_name(original_node.value)
        if name is None:
            return updated_node
        elements = updated_node.slice
        if not all(isinstance(e.slice, cst.Index) for e in elements):
            return updated_node
        values = [e.slice.value for e in elements if isinstance(e.slice, cst.Index)]
        if self.target >= (3, 10) and name in ("typing.Optional", "typing.Union"):
            if name == "typing.Optional":
                if len(values) != 1:
                    return updated_node
                values = [values[0], cst.Name("None")]
            if len(values) < 2 or any(m.matches(v, m.SimpleString()) for v in values):
                return updated_node  # "A" | None would fail at run time
            self.remove_unused_import_by_node(original_node.value)
            result: cst.BaseExpression = values[0]
            for value in values[1:]:
                result = cst.BinaryOperation(left=result, operator=cst.BitOr(), right=value)
            return result
        if (
            self.target >= (3, 9)
            and name in BUILTIN_GENERICS
            and self._is_builtin_there(BUILTIN_GENERICS[name], original_node.value)
        ):
            self.remove_unused_import_by_node(original_node.value)
            return updated_node.with_changes(value=cst.Name(BUILTIN_GENERICS[name]))
        return updated_node
