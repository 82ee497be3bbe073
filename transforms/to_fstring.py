"""``%`` formatting and ``str.format()`` calls to f-strings, where that is exactly equivalent.

Composes libcst's own converters, which leave a call alone when converting would drop a
comment, need ``await`` inside the f-string, or change what is formatted. SHIM adds the
checks that keep behaviour: every argument is evaluated once and in its order (so an
expression used twice, an unused argument or fields out of order leave the call alone unless
the arguments are plain names or numbers); ``%s`` becomes ``{x!s}`` (``%`` calls ``str()``, a
field calls ``format()``) and only with a tuple on the right, since a lone value may itself
be a tuple; string literals among the arguments and ``{0[key]}`` fields (a string key, not a
variable) are left as written. A backslash inside an f-string expression, which Python before
3.12 rejects, is left alone too. An argument that a field reads ``.attr`` of is parenthesised
unless it is an atom (``"{0.real}".format(a + b)`` reads ``(a + b).real``).
"""

from __future__ import annotations

import re
import string

import libcst as cst
from libcst.codemod import CodemodCommand, CodemodContext
from libcst.codemod.commands.convert_format_to_fstring import ConvertFormatStringCommand
from libcst.codemod.commands.convert_percent_format_to_fstring import (
    ConvertPercentFormatStringCommand,
)

_CODE = cst.Module([])
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def _backslash_in_expression(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.FormattedString) and any(
        "\\" in _CODE.code_for_node(part.expression)
        for part in node.parts
        if isinstance(part, cst.FormattedStringExpression)
    )


def _plain(expr: cst.BaseExpression) -> bool:
    """Evaluating it twice, or in another order, cannot change anything."""
    return isinstance(expr, cst.Name | cst.Integer | cst.Float | cst.Imaginary)


def _has_string_literal(values: list[cst.BaseExpression]) -> bool:
    return any(isinstance(v, _STRINGS) for v in values)


def _atom(expr: cst.BaseExpression) -> bool:
    """``.attr`` written right after it applies to the whole of it."""
    return bool(expr.lpar) or isinstance(expr, cst.Name | cst.Attribute | cst.Call | cst.Subscript)


def _fields(template: str) -> list[str] | None:
    """The argument each replacement field reads (``"0"``, ``"name"``), in order of
    evaluation, nested specs included; None when a field is not safe to inline."""
    used = _field_names(template)
    return None if used is None else [head for head, _accessor in used]


def _accessed(template: str) -> set[str]:
    """The arguments a field applies ``.attr`` or ``[key]`` to."""
    return {head for head, accessor in _field_names(template) or [] if accessor}


def _field_names(template: str) -> list[tuple[str, bool]] | None:
    """Each field's argument and whether the field reads an attribute or item of it."""
    used: list[tuple[str, bool]] = []
    auto = 0

    def walk(text: str, depth: int) -> bool:
        nonlocal auto
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError:
            return False
        for _literal, field, spec, _conversion in parsed:
            if field is None:
                continue
            if "[" in field:
                return False  # {0[key]}: a string key, not the variable key
            head = re.split(r"[.\[]", field, maxsplit=1)[0]
            accessor = len(head) < len(field)
            if head == "":
                head = str(auto)
                auto += 1
            used.append((head, accessor))
            if spec and depth == 0 and not walk(spec, 1):
                return False
        return True

    return used if walk(template, 0) else None


def _format_is_safe(call: cst.Call) -> bool:
    """``"...".format(...)`` evaluates each argument once, in order, as an f-string would."""
    func = call.func
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.SimpleString)
        and func.attr.value == "format"
    ):
        return True  # not a format call: libcst's converter leaves it
    if any(arg.star for arg in call.args) or "\\N" in func.value.raw_value:
        return False
    used = _fields(func.value.raw_value)
    if used is None:
        return False
    keys = [arg.keyword.value if arg.keyword else str(i) for i, arg in enumerate(call.args)]
    values = dict(zip(keys, (arg.value for arg in call.args), strict=True))
    if set(used) != set(keys) or _has_string_literal(list(values.values())):
        return False  # an argument dropped (its side effects with it), or a literal inlined
    if all(_plain(v) for v in values.values()):
        return True
    if list(dict.fromkeys(used)) != keys:
        return False  # the fields would evaluate the arguments in another order
    return all(_plain(values[k]) for k in keys if used.count(k) > 1)


def _percent_values(node: cst.BinaryOperation) -> list[cst.BaseExpression] | None:
    """The values a ``"..%s.." % (a, b)`` formats, when the right side is a tuple literal."""
    right = node.right
    if not isinstance(right, cst.Tuple):
        return None  # a lone value may itself be a tuple at run time
    if any(isinstance(e, cst.StarredElement) for e in right.elements):
        return None
    return [e.value for e in right.elements]


class _PercentToFString(ConvertPercentFormatStringCommand):
    def leave_BinaryOperation(
        self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation
    ) -> cst.BaseExpression:
        if not isinstance(original_node.operator, cst.Modulo):
            return updated_node
        values = _percent_values(original_node)
        left = original_node.left
        if (
            values is None
            or not isinstance(left, cst.SimpleString)
            or left.raw_value.count("%s") != len(values)
            or _has_string_literal(values)
        ):
            return updated_node
        result = super().leave_BinaryOperation(original_node, updated_node)
        if not isinstance(result, cst.FormattedString) or _backslash_in_expression(result):
            return updated_node
        # %s is str(value); a bare field would be format(value), which a class may override.
        return result.with_changes(
            parts=[
                part.with_changes(conversion="s")
                if isinstance(part, cst.FormattedStringExpression)
                else part
                for part in result.parts
            ]
        )


def _parenthesise_accessed(call: cst.Call) -> cst.Call:
    """Wrap each argument that a field reads ``.attr`` of and that is not an atom:
    libcst's converter writes the field after the argument's code as it stands."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.SimpleString)):
        return call
    accessed = _accessed(func.value.raw_value)
    args = []
    for i, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword else str(i)
        if key in accessed and not _atom(arg.value):
            arg = arg.with_changes(
                value=arg.value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        args.append(arg)
    return call.with_changes(args=args)


class _FormatToFString(ConvertFormatStringCommand):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not _format_is_safe(updated_node):
            return updated_node
        result = super().leave_Call(original_node, _parenthesise_accessed(updated_node))
        return updated_node if _backslash_in_expression(result) else result


class ToFStringCommand(CodemodCommand):
    TITLE = "% and str.format() to f-strings"
    DESCRIPTION = "Turn '%' formatting and str.format() calls into f-strings where it is safe."

    @staticmethod
    def prefilter() -> list[str]:
        return ["%", ".format("]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree = _PercentToFString(self.context).transform_module(tree)
        return _FormatToFString(self.context).transform_module(tree)
