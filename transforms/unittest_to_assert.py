"""unittest assertions to plain ``assert``, and ``assertRaises`` to ``pytest.raises``.

pytest rewrites plain asserts to show both sides on failure, so ``assert a == b`` reports
more than ``self.assertEqual(a, b)`` did. Calls that cannot be translated exactly (the
callable form of assertRaises, assertAlmostEqual with places) are left alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor

Builder = Callable[[Sequence[cst.BaseExpression]], cst.BaseExpression]

# Operands that bind more loosely than a comparison, or chain with it, need parentheses.
_LOOSE = (
    cst.IfExp,
    cst.Lambda,
    cst.NamedExpr,
    cst.BooleanOperation,
    cst.Comparison,
    cst.UnaryOperation,
    cst.Yield,
    cst.Await,
)


_CODE = cst.Module([])


def _tight(expr: cst.BaseExpression) -> cst.BaseExpression:
    """Parenthesize operands that bind loosely, or span lines (legal inside the call's
    parentheses, not in a bare assert: implicit string concatenation, say)."""
    if expr.lpar:
        return expr
    if isinstance(expr, _LOOSE) or "\n" in _CODE.code_for_node(expr):
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


def _compare(op: cst.BaseCompOp) -> Builder:
    def build(args: Sequence[cst.BaseExpression]) -> cst.BaseExpression:
        return cst.Comparison(
            left=_tight(args[0]),
            comparisons=[cst.ComparisonTarget(operator=op, comparator=_tight(args[1]))],
        )

    return build


def _is(value: str, negate: bool) -> Builder:
    op: cst.BaseCompOp = cst.IsNot() if negate else cst.Is()
    return lambda args: cst.Comparison(
        left=_tight(args[0]),
        comparisons=[cst.ComparisonTarget(operator=op, comparator=cst.Name(value))],
    )


def _spanning(expr: cst.BaseExpression) -> cst.BaseExpression:
    """An operand alone: parentheses only if it spans lines."""
    if not expr.lpar and "\n" in _CODE.code_for_node(expr):
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


def _not(expr: cst.BaseExpression) -> cst.BaseExpression:
    return cst.UnaryOperation(operator=cst.Not(), expression=_tight(expr))


def _isinstance(args: Sequence[cst.BaseExpression]) -> cst.BaseExpression:
    return cst.Call(func=cst.Name("isinstance"), args=[cst.Arg(args[0]), cst.Arg(args[1])])


ASSERTIONS: dict[str, tuple[int, Builder]] = {
    "assertEqual": (2, _compare(cst.Equal())),
    "assertEquals": (2, _compare(cst.Equal())),
    "assertNotEqual": (2, _compare(cst.NotEqual())),
    "assertNotEquals": (2, _compare(cst.NotEqual())),
    "assertTrue": (1, lambda a: _spanning(a[0])),
    "assert_": (1, lambda a: _spanning(a[0])),
    "assertFalse": (1, lambda a: _not(a[0])),
    "assertIs": (2, _compare(cst.Is())),
    "assertIsNot": (2, _compare(cst.IsNot())),
    "assertIsNone": (1, _is("None", negate=False)),
    "assertIsNotNone": (1, _is("None", negate=True)),
    "assertIn": (2, _compare(cst.In())),
    "assertNotIn": (2, _compare(cst.NotIn())),
    "assertIsInstance": (2, _isinstance),
    "assertNotIsInstance": (2, lambda a: _not(_isinstance(a))),
    "assertGreater": (2, _compare(cst.GreaterThan())),
    "assertGreaterEqual": (2, _compare(cst.GreaterThanEqual())),
    "assertLess": (2, _compare(cst.LessThan())),
    "assertLessEqual": (2, _compare(cst.LessThanEqual())),
}
RAISES = {"assertRaises", "assertRaisesRegex", "assertRaisesRegexp"}


def _self_method(call: cst.Call) -> str | None:
    func = call.func
    if (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == "self"
    ):
        return func.attr.value
    return None


def _positional(call: cst.Call, names: Sequence[str]) -> list[cst.BaseExpression] | None:
    """The call's arguments in order of ``names`` (positional or keyword), else None."""
    values: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            return None
        key = (
            arg.keyword.value if arg.keyword is not None else (names[i] if i < len(names) else None)
        )
        if key is None or key not in names or key in values:
            return None
        values[key] = arg.value
    if not all(n in values for n in names[:-1]):
        return None
    return [values[n] for n in names if n in values]


class UnittestToAssertCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Turn unittest assertions (self.assertEqual(a, b), ...) into plain assert statements "
        "and assertRaises blocks into pytest.raises."
    )

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        pass

    @staticmethod
    def prefilter() -> list[str]:
        return ["self.assert"]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self._raises_names: list[set[str]] = [set()]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._raises_names.append(set())

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._raises_names.pop()
        return updated_node

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.BaseSmallStatement:
        call = updated_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        method = _self_method(call)
        if method not in ASSERTIONS:
            return updated_node
        arity, build = ASSERTIONS[method]
        names = ["first", "second", "msg"] if arity == 2 else ["expr", "msg"]
        args = _positional(call, names)
        if args is None or len(args) < arity:
            return updated_node
        test = build(args[:arity])
        msg = _spanning(args[arity]) if len(args) > arity else None
        return cst.Assert(test=test, msg=msg)

    def leave_WithItem(
        self, original_node: cst.WithItem, updated_node: cst.WithItem
    ) -> cst.WithItem:
        call = updated_node.item
        if not isinstance(call, cst.Call) or _self_method(call) not in RAISES:
            return updated_node
        if not call.args or call.args[0].keyword is not None:
            return updated_node
        method = _self_method(call)
        new_args = [call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        if method != "assertRaises":
            if len(call.args) < 2:
                return updated_node
            new_args.append(
                cst.Arg(
                    keyword=cst.Name("match"),
                    value=call.args[1].value,
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            )
        elif len(call.args) > 1:
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "pytest")
        if updated_node.asname is not None and isinstance(updated_node.asname.name, cst.Name):
            self._raises_names[-1].add(updated_node.asname.name.value)
        return updated_node.with_changes(
            item=call.with_changes(
                func=cst.Attribute(value=cst.Name("pytest"), attr=cst.Name("raises")),
                args=new_args,
            )
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        value = updated_node.value
        if (
            updated_node.attr.value == "exception"
            and isinstance(value, cst.Name)
            and value.value in self._raises_names[-1]
        ):
            return updated_node.with_changes(attr=cst.Name("value"))
        return updated_node
