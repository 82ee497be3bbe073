"""``print(...)`` calls to a module logger, with lazy ``%s`` formatting.

Only the builtin ``print`` is touched (not a local function of that name), and only calls
whose meaning logging can keep: output to stdout or stderr, default ``end``, at least one
argument. Script entry points (``if __name__ == "__main__":``) are left alone by default:
there, print is usually the program's output, not a log line. The logger is a module-level
``logging.getLogger(__name__)`` under a name that no scope of the module uses (an existing
module logger is reused when it is bound above every print); a print that would see another
binding of that name stays a print.
String literals among the arguments are folded into the format string. A print with a
comment inside its parentheses stays as written (the call has no room for it), with a warning.
A new logger is a new module-level name: a file is skipped where a star import below it may
rebind it, or where another file star-imports the module (without ``__all__``), whose own
``logger`` it would overwrite.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    ImportAssignment,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from ._names import defines_all, star_imported_by_others

LEVELS = ("debug", "info", "warning", "error", "critical")
LOGGER_NAMES = ("logger", "log", "_logger", "_log", "logger_", "shim_logger")
MODULE_LOGGER = m.SimpleStatementLine(
    body=[
        m.Assign(
            targets=[m.AssignTarget(target=m.Name())],
            value=m.Call(func=m.Attribute(m.Name("logging"), m.Name("getLogger"))),
        )
    ]
)
PRINT_CALL = m.Call(func=m.Name("print"))
MAIN_GUARD = m.If(
    test=m.Comparison(
        left=m.Name("__name__"),
        comparisons=[m.ComparisonTarget(m.Equal(), comparator=m.SimpleString())],
    )
)


class PrintToLoggingCommand(VisitorBasedCodemodCommand):
    TITLE = "print() calls to logging"
    DESCRIPTION = (
        "Replace print(...) with calls to a module logger (logging.getLogger(__name__)), "
        "adding the import and the logger."
    )
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

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
        self.logger = "logger"
        self.module_scope: Scope | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self.module_scope = self.get_metadata(ScopeProvider, node, None)
        scope = self.module_scope
        first_print = next(
            (i for i, stmt in enumerate(node.body) if m.findall(stmt, PRINT_CALL)), len(node.body)
        )
        # a logger bound below a print is not bound yet when that print may run
        for stmt in node.body[:first_print]:
            if m.matches(stmt, MODULE_LOGGER):
                assign = cst.ensure_type(
                    cst.ensure_type(stmt, cst.SimpleStatementLine).body[0], cst.Assign
                )
                name = cst.ensure_type(assign.targets[0].target, cst.Name).value
                if scope is not None and len(scope.assignments[name]) == 1:
                    self.logger, self.has_logger = name, True
                    return
        used = {cst.ensure_type(n, cst.Name).value for n in m.findall(node, m.Name())}
        free = next((n for n in LOGGER_NAMES if n not in used), None)
        if free is None:
            raise SkipFile("no free name for a logger")
        self.logger = free

    def _sees_logger(self, node: cst.CSTNode) -> bool:
        """The name ``self.logger`` means the module logger where ``node`` runs."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        assignments = scope[self.logger]
        if self.has_logger:
            return all(a.scope is self.module_scope for a in assignments)
        return not assignments

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
        if not isinstance(original_node.func, cst.Name):
            return updated_node
        names = self.get_metadata(QualifiedNameProvider, original_node.func, set())
        if not any(qn.name == "builtins.print" for qn in names):
            return updated_node
        if any(a.star for a in updated_node.args):
            return updated_node
        level = self._level_for(updated_node)
        values = [a.value for a in updated_node.args if a.keyword is None]
        if level is None or not values:
            return updated_node
        if m.findall(updated_node.with_changes(lpar=[], rpar=[]), m.Comment()):
            return self._left(original_node, "a comment inside it would be lost")
        if not self._sees_logger(original_node):
            self.warn(f"a print left as is: {self.logger!r} means something else there")
            return updated_node
        if len(values) == 1 and m.matches(values[0], m.SimpleString() | m.FormattedString()):
            args = [cst.Arg(values[0])]
        else:
            args = _lazy_args(values)
        self.changed = True
        return cst.Call(
            lpar=updated_node.lpar,
            rpar=updated_node.rpar,
            func=cst.Attribute(value=cst.Name(self.logger), attr=cst.Name(level)),
            args=[
                a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                if i == len(args) - 1
                else a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                for i, a in enumerate(args)
            ],
        )

    def _left(self, node: cst.Call, why: str) -> cst.Call:
        line = self.get_metadata(PositionProvider, node).start.line
        self.warn(f"line {line}: a print left as is: {why}")
        return node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changed or self.has_logger:
            return updated_node
        if not self._logging_is_free():
            raise SkipFile("the name 'logging' means something else in this module")
        at = _after_imports(updated_node.body)
        if m.findall(cst.Module(body=updated_node.body[at:]), m.ImportFrom(names=m.ImportStar())):
            raise SkipFile(
                f"a star import below where {self.logger!r} would be defined may rebind it"
            )
        if not defines_all(updated_node) and star_imported_by_others(
            self.context.full_module_name, self.context.filename
        ):
            raise SkipFile(
                "another file star-imports this module (it has no __all__): the new names"
                f" {self.logger!r} and 'logging' would overwrite its own"
            )
        AddImportsVisitor.add_needed_import(self.context, "logging")
        logger = cst.parse_statement(f"{self.logger} = logging.getLogger(__name__)\n")
        rest = list(updated_node.body[at:])
        if rest and isinstance(rest[0], cst.FunctionDef | cst.ClassDef):
            # two blank lines between the new line and a def or class, as PEP 8 has it
            first = rest[0]
            blanks = 0
            for line in first.leading_lines:
                if line.comment is not None:
                    break
                blanks += 1
            padding = [cst.EmptyLine()] * max(0, 2 - blanks)
            rest[0] = first.with_changes(leading_lines=[*padding, *first.leading_lines])
        body = [*updated_node.body[:at], logger, *rest]
        return updated_node.with_changes(body=body)

    def _logging_is_free(self) -> bool:
        """``logging`` at module level is the logging module, or nothing yet."""
        if self.module_scope is None:
            return False
        for assignment in self.module_scope.assignments["logging"]:
            if not isinstance(assignment, ImportAssignment) or not isinstance(
                assignment.node, cst.Import
            ):
                return False
            if any(
                alias.asname is not None and alias.evaluated_alias == "logging"
                for alias in cst.ensure_type(assignment.node, cst.Import).names
            ):
                return False
        return True


def _text(expr: cst.BaseExpression) -> str | None:
    """The text a plain (not bytes, not f-) string literal prints."""
    if isinstance(expr, cst.SimpleString) and "b" not in expr.prefix.lower():
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _literal(text: str) -> cst.SimpleString:
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:
        quoted = '"' + quoted[1:-1].replace("\\'", "'") + '"'
    return cst.SimpleString(quoted)


def _lazy_args(values: list[cst.BaseExpression]) -> list[cst.Arg]:
    """``"processing", n, "items"`` as ``"processing %s items", n``."""
    texts = [_text(v) for v in values]
    rest = [v for v, t in zip(values, texts, strict=True) if t is None]
    if not rest:
        return [cst.Arg(_literal(" ".join(t for t in texts if t is not None)))]
    template = " ".join("%s" if t is None else t.replace("%", "%%") for t in texts)
    return [cst.Arg(_literal(template)), *(cst.Arg(v) for v in rest)]


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
