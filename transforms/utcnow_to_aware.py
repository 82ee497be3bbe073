"""``datetime.utcnow()`` and ``utcfromtimestamp()`` to timezone-aware calls.

Both are deprecated since Python 3.12 because they return naive datetimes that many
libraries then take for local time; ruff flags them (DTZ003, DTZ004) but has no fix. The
replacements return aware datetimes: the same instant, with ``tzinfo=timezone.utc``.
This changes behaviour where results meet naive datetimes: ``aware == naive`` is always
False (no error), ``aware < naive`` raises TypeError, and storing or serialising them adds
an offset. Review the diff where results are compared or stored.

``timezone`` is imported from ``datetime`` only where that name is free: where a module or a
function already uses it (``from django.utils import timezone``, a parameter), the import
gets a free alias instead.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ImportAssignment, QualifiedNameProvider, ScopeProvider

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
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider)

    @staticmethod
    def prefilter(**_args: object) -> list[str]:
        return ["utcnow", "utcfromtimestamp"]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.used: set[str] = set()
        self.star_import = False
        self.imported: str | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self.used = {cst.ensure_type(n, cst.Name).value for n in m.findall(node, m.Name())}
        self.star_import = bool(m.findall(node, m.ImportFrom(names=m.ImportStar())))

    def _timezone(self, call: cst.Call) -> str:
        """A name that means ``datetime.timezone`` where ``call`` runs, imported if need be."""
        if self.imported is not None:
            return self.imported  # a name no scope of the module used before
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            raise SkipFile("no scope information")
        for name in TIMEZONE_NAMES:
            assignments = scope[name]
            if assignments and all(_is_datetime_timezone(a, name) for a in assignments):
                return name
            if not assignments and name not in self.used:
                if self.star_import:
                    raise SkipFile("a star import may bind the name timezone")
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
        target = next((NAMES[qn.name] for qn in names if qn.name in NAMES), None)
        if target is None or any(a.star or a.keyword for a in updated_node.args):
            return updated_node
        expected = 0 if target == "now" else 1
        if len(updated_node.args) != expected:
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
