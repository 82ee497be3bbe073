"""``print(...)`` calls to a module logger, with lazy ``%s`` formatting.

Only the builtin ``print`` is touched (not a local function of that name), and only calls
whose meaning logging can keep: output to stdout or stderr, default ``end``. Script entry
points (``if __name__ == "__main__":``) are left alone by default: there, print is usually
the program's output, not a log line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import QualifiedNameProvider

LEVELS = ("debug", "info", "warning", "error", "critical")
MAIN_GUARD = m.If(
    test=m.Comparison(
        left=m.Name("__name__"),
        comparisons=[m.ComparisonTarget(m.Equal(), comparator=m.SimpleString())],
    )
)


class PrintToLoggingCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Replace print(...) with calls to a module logger (logging.getLogger(__name__)), "
        "adding the import and the logger."
    )
    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--level", dest="level", default="info", help="Logger method for stdout prints."
        )
        arg_parser.add_argument(
            "--skip_main",
            dest="skip_main",
            default=True,
            help="Leave prints under 'if __name__ == \"__main__\":' alone.",
        )

    @staticmethod
    def prefilter(**_args: object) -> list[str]:
        return ["print("]

    def __init__(
        self, context: CodemodContext, level: str = "info", skip_main: bool = True
    ) -> None:
        super().__init__(context)
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.skip_main = skip_main
        self.main_depth = 0
        self.changed = False
        self.has_logger = False

    def visit_Module(self, node: cst.Module) -> None:
        self.has_logger = any(
            m.matches(
                stmt,
                m.SimpleStatementLine(
                    body=[m.Assign(targets=[m.AssignTarget(target=m.Name("logger"))])]
                ),
            )
            for stmt in node.body
        )

    def visit_If(self, node: cst.If) -> None:
        if m.matches(node, MAIN_GUARD):
            self.main_depth += 1

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        if m.matches(original_node, MAIN_GUARD):
            self.main_depth -= 1
        return updated_node

    def _level_for(self, call: cst.Call) -> str | None:
        """The logger method for this print, or None when logging cannot say the same."""
        level = self.level
        for arg in call.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key == "file":
                target = m.matches(arg.value, m.Attribute(m.Name("sys"), m.Name()))
                if not target:
                    return None
                stream = arg.value.attr.value  # type: ignore[attr-defined]
                if stream == "stderr":
                    level = "warning" if self.level in ("debug", "info") else self.level
                elif stream != "stdout":
                    return None
            elif key == "end":
                if not m.matches(arg.value, m.SimpleString('"\\n"') | m.SimpleString("'\\n'")):
                    return None
            elif key == "flush":
                continue
            else:  # sep
                return None
        return level

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.skip_main and self.main_depth:
            return updated_node
        names = self.get_metadata(QualifiedNameProvider, original_node.func, set())
        if not any(qn.name == "builtins.print" for qn in names):
            return updated_node
        if any(a.star for a in updated_node.args):
            return updated_node
        level = self._level_for(updated_node)
        if level is None:
            return updated_node
        values = [a.value for a in updated_node.args if a.keyword is None]
        if len(values) == 1 and m.matches(values[0], m.SimpleString() | m.FormattedString()):
            args = [cst.Arg(values[0])]
        else:
            template = cst.SimpleString('"' + " ".join(["%s"] * len(values)) + '"')
            args = [cst.Arg(template), *(cst.Arg(v) for v in values)]
        self.changed = True
        return cst.Call(
            func=cst.Attribute(value=cst.Name("logger"), attr=cst.Name(level)),
            args=[
                a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                if i == len(args) - 1
                else a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                for i, a in enumerate(args)
            ],
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changed or self.has_logger:
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "logging")
        logger = cst.parse_statement("logger = logging.getLogger(__name__)\n")
        at = _after_imports(updated_node.body)
        body = [*updated_node.body[:at], logger, *updated_node.body[at:]]
        return updated_node.with_changes(body=body)


def _after_imports(body: Sequence[cst.BaseStatement]) -> int:
    """Index after the module docstring and the leading imports."""
    at = 0
    for i, stmt in enumerate(body):
        is_import = m.matches(stmt, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()]))
        is_doc = i == 0 and m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(m.SimpleString())]))
        if is_import or is_doc:
            at = i + 1
        else:
            break
    return at
