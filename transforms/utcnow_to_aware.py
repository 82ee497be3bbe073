"""``datetime.utcnow()`` and ``utcfromtimestamp()`` to timezone-aware calls.

Both are deprecated since Python 3.12 because they return naive datetimes that many
libraries then take for local time; ruff flags them (DTZ003, DTZ004) but has no fix. The
replacements return aware datetimes: the same instant, with ``tzinfo=timezone.utc``.
Comparing one with a naive datetime raises, which is the class of bug this removes, so
review the diff where results are compared or stored.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import QualifiedNameProvider

NAMES = {
    "datetime.datetime.utcnow": "now",
    "datetime.datetime.utcfromtimestamp": "fromtimestamp",
}


class UtcnowToAwareCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Replace the deprecated datetime.utcnow() and utcfromtimestamp(ts) with "
        "now(timezone.utc) and fromtimestamp(ts, timezone.utc) (aware datetimes)."
    )
    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    @staticmethod
    def prefilter(**_args: object) -> list[str]:
        return ["utcnow", "utcfromtimestamp"]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)

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
        AddImportsVisitor.add_needed_import(self.context, "datetime", "timezone")
        utc = cst.Arg(cst.Attribute(value=cst.Name("timezone"), attr=cst.Name("utc")))
        args = [
            a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for a in updated_node.args
        ]
        return updated_node.with_changes(
            func=func.with_changes(attr=cst.Name(target)), args=[*args, utc]
        )
