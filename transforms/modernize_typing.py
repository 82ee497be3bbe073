"""Modern annotations for a target Python: ``X | None``, ``list[int]``, and the future import.

Each rewrite is gated on the version where it also works at run time (``|`` from 3.10,
builtin generics from 3.9), since libraries such as pydantic evaluate annotations. Names are
matched by what they refer to (``typing.Optional``, ``t.Optional`` after
``import typing as t``), not by spelling; typing imports left unused are removed. Only
annotations are rewritten: elsewhere (``cast(Optional[T], x)``, a type alias, a converter
built at run time) ``Optional[t]`` may be evaluated with a string or another non-type, for
which ``t | None`` raises; so does ``None | None``, so ``Optional[None]`` stays. Stubs
(``.pyi``) never get the future import. ``List[int]`` stays where ``list`` is bound to
something else in the scope that evaluates the annotation. A module keeps its typing imports
when another file of its project imports it (``from a import Optional`` would break; a
package's ``__init__.py`` always keeps them), and so does an import inside a ``try`` (a
fallback, which would leave ``try: pass``). The rule is on the module, not the name: any
import statement that names the module, read as text, keeps them, which errs on keeping.
No future import below target 3.7, where it does not exist.

The future import (only when asked for: ``add_future_import``) turns every annotation into a
string, which ``typing.get_type_hints``
(and dataclasses, pydantic, singledispatch) resolves in the module's globals; it is not added,
with a warning, where an annotation that runs today reads a local or class-level name, or
calls something (which would no longer run when it is defined).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodCommand, CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    BuiltinAssignment,
    PositionProvider,
    ScopeProvider,
)

from ._names import imported_by_others, is_package_init, qualified_names, statements

BUILTIN_GENERICS = {
    "typing.List": "list",
    "typing.Dict": "dict",
    "typing.Set": "set",
    "typing.FrozenSet": "frozenset",
    "typing.Tuple": "tuple",
    "typing.Type": "type",
}


_REWRITTEN = re.compile(
    r"\b(?:Optional|Union|" + "|".join(n.rpartition(".")[2] for n in BUILTIN_GENERICS) + r")\b"
)


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


class ModernizeTypingCommand(CodemodCommand):
    TITLE = "Modernize type hints (X | None, list[int])"
    DESCRIPTION = (
        "Modernise type annotations for a target Python version: Optional[X] and Union[A, B] "
        "to X | None and A | B (3.10+), List[int] to list[int] (3.9+); on request, "
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
            default=False,
            help=(
                "Also add 'from __future__ import annotations' to files with annotations"
                " (every annotation becomes a string at run time: code that reads"
                " __annotations__ or dataclasses.fields() directly sees strings)."
            ),
        )

    def __init__(
        self, context: CodemodContext, target_version: str = "3.10", add_future_import: bool = False
    ) -> None:
        super().__init__(context)
        if re.fullmatch(r"[0-9]+\.[0-9]+", target_version) is None:
            raise ValueError(
                f"target_version must be MAJOR.MINOR, like 3.9, not {target_version!r}"
            )
        self.target_version = target_version
        self.add_future_import = add_future_import

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        filename = self.context.filename or ""
        stub = filename.endswith(".pyi")
        blocked = None
        future = (
            self.add_future_import
            and _version(self.target_version) >= (3, 7)
            # already there: asking for it again makes libcst walk the whole file for nothing
            and not _has_future_annotations(tree)
        )
        if future and not stub and m.findall(tree, m.Annotation()):
            check = _LazyAnnotations()
            tree.visit(check)  # on the tree as it was: positions are the file's
            blocked = check.blocked
            if blocked is None:
                AddImportsVisitor.add_needed_import(self.context, "__future__", "annotations")
            elif self.context.wrapper is not None:
                node, why = blocked
                line = self.context.wrapper.resolve(PositionProvider)[node].start.line
                self.warn(f"line {line}: 'from __future__ import annotations' not added: {why}")
        # Scope analysis is the costly part: only files that mention typing and a name it
        # rewrites need it (a file that only uses typing.NamedTuple does not).
        code = tree.code
        if "typing" in code and _REWRITTEN.search(code):
            keep = not stub and (
                # a package's __init__ may re-export what it imports from typing, and so
                # may any module another file imports (``from a import Optional``)
                is_package_init(filename)
                or imported_by_others(self.context.full_module_name, filename)
                # removed from a ``try``, a fallback import would leave ``try: pass``
                or any(isinstance(s, cst.Try) and _imports_typing(s.body) for s in statements(tree))
            )
            tree = _TypingRewriter(self.context, self.target_version, keep).transform_module(tree)
        return tree


def _has_future_annotations(tree: cst.Module) -> bool:
    """``from __future__ import annotations`` at the top, where future imports must be."""
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name):
                if small.module.value != "__future__":
                    return False
                if isinstance(small.names, Sequence) and any(
                    m.matches(alias.name, m.Name("annotations")) for alias in small.names
                ):
                    return True
            elif not m.matches(small, m.Expr(m.SimpleString() | m.ConcatenatedString())):
                return False
    return False


def _imports_typing(body: cst.BaseSuite) -> bool:
    typing = m.ImportFrom(module=m.Name("typing")) | m.ImportAlias(name=m.Name("typing"))
    return bool(m.findall(body, typing))


def _targets(node: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds: ``a``, ``(b, [c, *d])``."""
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, cst.Tuple | cst.List):
        return set().union(*(_targets(el.value) for el in node.elements))
    if isinstance(node, cst.StarredElement):
        return _targets(node.value)
    return set()


class _Bindings(cst.CSTVisitor):
    """The names a function or class body binds, its nested functions and classes by name
    only (their bodies are their own scopes)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names |= _targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names |= _targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names |= _targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.names |= _targets(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.names |= _targets(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.names |= _targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.Name | cst.Tuple | cst.List):
            self.names |= _targets(node.name)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.add((get_full_name_for_node(node.name) or "").split(".")[0])

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.names.add(node.name.value)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.names.add(node.name.value)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self.names.add(node.rest.value)


def _bound_in(node: cst.FunctionDef | cst.ClassDef) -> set[str]:
    bindings = _Bindings()
    node.body.visit(bindings)
    if isinstance(node, cst.FunctionDef):
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        bindings.names |= {p.name.value for p in every}
    return bindings.names


class _LazyAnnotations(cst.CSTVisitor):
    """Whether ``from __future__ import annotations`` keeps behaviour: every annotation that
    runs today (a signature's, a module's or class's variable) must read only module-level
    names, which is where typing.get_type_hints and its kin resolve the strings it makes,
    and must not call anything, which would no longer run when it is defined."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, set[str]]] = []
        """Enclosing functions and classes, innermost last: ("function" or "class", names)."""
        self.blocked: tuple[cst.CSTNode, str] | None = None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(("class", _bound_in(node)))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # a signature's annotations run where the def is, before its own scope exists
        for annotation in m.findall(node.params, m.Annotation()):
            self._check(cst.ensure_type(annotation, cst.Annotation))
        if node.returns is not None:
            self._check(node.returns)
        self.scopes.append(("function", _bound_in(node)))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self.scopes or self.scopes[-1][0] == "class":
            self._check(node.annotation)  # a function's local annotations never run

    def _check(self, annotation: cst.Annotation) -> None:
        if self.blocked is not None:
            return
        if m.findall(annotation, m.Call()):
            why = "this annotation calls, and would no longer run when it is defined"
            self.blocked = (annotation, why)
            return
        local: set[str] = set()
        for i, (kind, names) in enumerate(reversed(self.scopes)):
            if kind == "function" or i == 0:
                local |= names  # a class's names are seen only from its own body
        attrs = {id(a.attr) for a in _attributes(annotation)}
        for name in m.findall(annotation, m.Name()):
            value = cst.ensure_type(name, cst.Name).value
            if id(name) not in attrs and value in local:
                why = (
                    f"this annotation reads {value!r}, which is not a module-level name, so code"
                    " that evaluates annotations (typing.get_type_hints, dataclasses, pydantic)"
                    " would no longer find it"
                )
                self.blocked = (annotation, why)
                return


def _attributes(node: cst.CSTNode) -> list[cst.Attribute]:
    return [cst.ensure_type(a, cst.Attribute) for a in m.findall(node, m.Attribute())]


class _TypingRewriter(VisitorBasedCodemodCommand):
    """The rewrites that need to know what a name refers to (``t.Optional`` included)."""

    METADATA_DEPENDENCIES = (ScopeProvider,)
    """Qualified names are asked of the scope for the subscripts that need them
    (``qualified_names``): the provider would visit every node of the file."""

    def __init__(self, context: CodemodContext, target_version: str, keep_imports: bool) -> None:
        super().__init__(context)
        self.target = _version(target_version)
        self.keep_imports = keep_imports
        self.annotation_depth = 0

    def _unused(self, node: cst.CSTNode) -> None:
        if not self.keep_imports:
            self.remove_unused_import_by_node(node)

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self.annotation_depth += 1

    def leave_Annotation(
        self, original_node: cst.Annotation, updated_node: cst.Annotation
    ) -> cst.Annotation:
        self.annotation_depth -= 1
        return updated_node

    def _typing_name(self, node: cst.BaseExpression) -> str | None:
        for qn in qualified_names(self, node):
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
            if sum(m.matches(v, m.Name("None")) for v in values) > 1:
                return updated_node  # None | None too
            self._unused(original_node.value)
            result: cst.BaseExpression = values[0]
            for value in values[1:]:
                result = cst.BinaryOperation(left=result, operator=cst.BitOr(), right=value)
            return result
        if (
            self.target >= (3, 9)
            and name in BUILTIN_GENERICS
            and self._is_builtin_there(BUILTIN_GENERICS[name], original_node.value)
        ):
            self._unused(original_node.value)
            return updated_node.with_changes(value=cst.Name(BUILTIN_GENERICS[name]))
        return updated_node
