"""``datetime.utcnow()`` and ``utcfromtimestamp()`` to timezone-aware calls.

Both are deprecated since Python 3.12 because they return naive datetimes that many
libraries then take for local time; ruff flags them (DTZ003, DTZ004) but has no fix. The
replacements return aware datetimes: the same instant, with ``tzinfo=timezone.utc``.
This changes behaviour where results meet naive datetimes: ``aware == naive`` is always
False (no error), ``aware < naive`` raises TypeError, and storing or serialising them adds
an offset (``str()`` and ``isoformat()`` end in ``+00:00``), and ``.timestamp()`` of
``utcfromtimestamp(ts)`` read the naive value as local time, so under a non-UTC ``TZ`` it
changes (to the right answer). Review the diff where results are compared or stored.
``.utcnow()`` on a subclass defined in the module (it may override it), on a name only a star
import binds (``from datetime import *``), the function used as a value, and calls with other
arguments are left, with a warning naming the line. A module
that another file star-imports, without ``__all__``, is skipped where ``timezone`` would be a
new name in it: it would overwrite the importer's own.

``timezone`` is imported from ``datetime`` only where that name is free: where a module or a
function already uses it (``from django.utils import timezone``, a parameter), the import
gets a free alias instead. An alias the module already imports it under (``from datetime
import timezone as tz``) is used where it means that: ``tz.utc``.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    ImportAssignment,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from ._names import defines_all, star_imported_by_others

NAMES = {
    "datetime.datetime.utcnow": "now",
    "datetime.datetime.utcfromtimestamp": "fromtimestamp",
}
TIMEZONE_NAMES = ("timezone", "dt_timezone", "_timezone", "datetime_timezone")


class UtcnowToAwareCommand(VisitorBasedCodemodCommand):
    TITLE = "utcnow() to timezone-aware datetimes"
    DESCRIPTION = (
        "Replace the deprecated datetime.utcnow() and utcfromtimestamp(ts) with "
        "now(timezone.utc) and fromtimestamp(ts, timezone.utc) (aware datetimes)."
    )
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    @staticmethod
    def prefilter(**_args: object) -> list[str]:
        return ["utcnow", "utcfromtimestamp"]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.used: set[str] = set()
        self.star_import = False
        self.has_all = False
        self.imported: str | None = None
        self.aliases: list[str] = []
        """Names ``from datetime import timezone as ...`` binds somewhere in the module."""
        self.callees: set[int] = set()
        """ids of the expressions called, as opposed to used as values."""
        self.subclasses: set[str] = set()
        """Classes of this module that derive from ``datetime.datetime``."""

    def visit_Module(self, node: cst.Module) -> None:
        self.used = {cst.ensure_type(n, cst.Name).value for n in m.findall(node, m.Name())}
        self.star_import = bool(m.findall(node, m.ImportFrom(names=m.ImportStar())))
        self.has_all = defines_all(node)
        self.aliases = [
            alias.evaluated_alias
            for found in m.findall(node, m.ImportFrom(module=m.Name("datetime"), relative=[]))
            if not isinstance(names := cst.ensure_type(found, cst.ImportFrom).names, cst.ImportStar)
            for alias in names
            if alias.evaluated_name == "timezone" and alias.evaluated_alias is not None
        ]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            names = self.get_metadata(QualifiedNameProvider, base.value, set())
            if any(qn.name == "datetime.datetime" or qn.name in self.subclasses for qn in names):
                self.subclasses.add(node.name.value)

    def visit_Call(self, node: cst.Call) -> None:
        self.callees.add(id(node.func))

    def _left(self, node: cst.CSTNode, what: str) -> None:
        line = self.get_metadata(PositionProvider, node).start.line
        self.warn(f"line {line}: {what}")

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        if id(original_node) in self.callees or original_node.attr.value not in _SHORT:
            return updated_node
        names = self.get_metadata(QualifiedNameProvider, original_node, set())
        name = next((qn.name for qn in names if qn.name in NAMES), None)
        if name is not None:
            self._left(
                original_node,
                f"{name} used as a value, not called: left as written (what calls it still"
                " gets a naive datetime)",
            )
        return updated_node

    def _timezone(self, call: cst.Call) -> str:
        """A name that means ``datetime.timezone`` where ``call`` runs, imported if need be."""
        if self.imported is not None:
            return self.imported  # a name no scope of the module used before
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            raise SkipFile("no scope information")
        for name in self.aliases:
            assignments = scope[name]
            if assignments and all(_is_datetime_timezone(a, name) for a in assignments):
                return name  # ``from datetime import timezone as tz``: ``tz.utc``
        for name in TIMEZONE_NAMES:
            assignments = scope[name]
            if assignments and all(_is_datetime_timezone(a, name) for a in assignments):
                return name
            if not assignments and name not in self.used:
                if self.star_import:
                    raise SkipFile("a star import may bind the name timezone")
                if not self.has_all and star_imported_by_others(
                    self.context.full_module_name, self.context.filename
                ):
                    raise SkipFile(
                        "another file star-imports this module (it has no __all__): a new"
                        f" name {name!r} would overwrite its own"
                    )
                asname = None if name == "timezone" else name
                AddImportsVisitor.add_needed_import(self.context, "datetime", "timezone", asname)
                self.imported = name
                return name
        raise SkipFile("no free name for datetime.timezone")

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not isinstance(func, cst.Attribute):
            return updated_node
        names = self.get_metadata(QualifiedNameProvider, original_node.func, set())
        name = next((qn.name for qn in names if qn.name in NAMES), None)
        if name is None:
            self._subclass_call(original_node, func)
            return updated_node
        target = NAMES[name]
        expected = 0 if target == "now" else 1
        if len(updated_node.args) != expected or any(
            a.star or a.keyword for a in updated_node.args
        ):
            what = "no arguments" if target == "now" else "one plain timestamp"
            self._left(
                original_node,
                f"{name}(...) left as written: its arguments are not {what}",
            )
            return updated_node
        timezone = self._timezone(original_node)
        utc = cst.Arg(cst.Attribute(value=cst.Name(timezone), attr=cst.Name("utc")))
        args = [
            a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for a in updated_node.args
        ]
        return updated_node.with_changes(
            func=func.with_changes(attr=cst.Name(target)), args=[*args, utc]
        )

    def _subclass_call(self, call: cst.Call, func: cst.Attribute) -> None:
        """``MyDT.utcnow()`` on a subclass of datetime: it may override the method, so the
        aware call could do something else; left, and said. So is ``datetime.utcnow()``
        where only a star import binds ``datetime``: no qualified name follows it."""
        if func.attr.value not in _SHORT:
            return
        base = func.value
        while isinstance(base, cst.Attribute):
            base = base.value
        if self.star_import and isinstance(base, cst.Name):
            scope = self.get_metadata(ScopeProvider, call, None)
            if scope is not None and not scope[base.value]:
                spelled = cst.Module([]).code_for_node(func)
                self._left(
                    call,
                    f"{spelled}() left as written: {base.value} is bound only by a star"
                    " import, which SHIM does not follow (import it by name to convert it)",
                )
                return
        if not isinstance(func.value, cst.Name):
            return
        if func.value.value in self.subclasses:
            owner = func.value.value
            self._left(
                call,
                f"{owner}.{func.attr.value}() left as written: {owner} is a subclass of"
                " datetime, which may override it",
            )


_SHORT = {name.rpartition(".")[2] for name in NAMES}


def _is_datetime_timezone(assignment: object, name: str) -> bool:
    """``from datetime import timezone [as name]``."""
    if not isinstance(assignment, ImportAssignment):
        return False
    node = assignment.node
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return False
    if (
        node.relative
        or node.module is None
        or cst.helpers.get_full_name_for_node(node.module) != "datetime"
    ):
        return False
    return any(
        alias.evaluated_name == "timezone"
        and alias.evaluated_alias in (None, name)
        and (alias.evaluated_alias or alias.evaluated_name) == name
        for alias in node.names
    )
