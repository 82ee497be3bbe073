"""``%`` formatting and ``str.format()`` calls to f-strings, where that is exactly equivalent.

Composes libcst's own converters, which leave a call alone when converting would drop a
comment, need ``await`` inside the f-string, or change what is formatted.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodCommand, CodemodContext
from libcst.codemod.commands.convert_format_to_fstring import ConvertFormatStringCommand
from libcst.codemod.commands.convert_percent_format_to_fstring import (
    ConvertPercentFormatStringCommand,
)


class ToFStringCommand(CodemodCommand):
    DESCRIPTION = "Turn '%' formatting and str.format() calls into f-strings where it is safe."

    @staticmethod
    def prefilter() -> list[str]:
        return ["%", ".format("]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree = ConvertPercentFormatStringCommand(self.context).transform_module(tree)
        return ConvertFormatStringCommand(self.context).transform_module(tree)
