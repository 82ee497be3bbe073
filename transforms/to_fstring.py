"""``%`` formatting and ``str.format()`` calls to f-strings, where that is exactly equivalent.

Composes libcst's own converters, which leave a call alone when converting would drop a
comment, need ``await`` inside the f-string, or change what is formatted. One more case is
left alone here: a backslash inside an f-string expression, which Python before 3.12 rejects
(libcst's converters produce it; running over Django found three).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodCommand, CodemodContext
from libcst.codemod.commands.convert_format_to_fstring import ConvertFormatStringCommand
from libcst.codemod.commands.convert_percent_format_to_fstring import (
    ConvertPercentFormatStringCommand,
)

_CODE = cst.Module([])


def _backslash_in_expression(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.FormattedString) and any(
        "\\" in _CODE.code_for_node(part.expression)
        for part in node.parts
        if isinstance(part, cst.FormattedStringExpression)
    )


class _PercentToFString(ConvertPercentFormatStringCommand):
    def leave_BinaryOperation(
        self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation
    ) -> cst.BaseExpression:
        result = super().leave_BinaryOperation(original_node, updated_node)
        return updated_node if _backslash_in_expression(result) else result


class _FormatToFString(ConvertFormatStringCommand):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        result = super().leave_Call(original_node, updated_node)
        return updated_node if _backslash_in_expression(result) else result


class ToFStringCommand(CodemodCommand):
    DESCRIPTION = "Turn '%' formatting and str.format() calls into f-strings where it is safe."

    @staticmethod
    def prefilter() -> list[str]:
        return ["%", ".format("]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree = _PercentToFString(self.context).transform_module(tree)
        return _FormatToFString(self.context).transform_module(tree)
