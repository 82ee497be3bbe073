"""``%`` formatting and ``str.format()`` calls to f-strings, where that is exactly equivalent.

Composes libcst's own converters, which leave a call alone when converting would need
``await`` inside the f-string or change what is formatted. SHIM adds the checks that keep
behaviour: every argument is evaluated once and in its order (so an expression used twice,
an unused argument or fields out of order leave the call alone unless the arguments are plain
names or numbers); ``%s`` becomes ``{x!s}`` (``%`` calls ``str()``, a field calls
``format()``) and only with a tuple on the right, since a lone value may itself be a tuple;
string literals among the arguments and ``{0[key]}`` fields (a string key, not a variable)
are left as written, and so are byte strings, implicit concatenations and calls with a
comment inside (an f-string has no room for it). A backslash inside an f-string expression,
which Python before 3.12 rejects, is left alone too. An argument that a field reads ``.attr``
of is parenthesised unless it is an atom (``"{0.real}".format(a + b)`` reads
``(a + b).real``), and so are a lambda, a ``:=`` and a dict or set, which an f-string field
would read otherwise, and a generator expression, which Python 3.12's grammar refuses bare in
a field (3.11 took it). ``u"..."`` loses its ``u``, which means nothing in Python 3.

Last, every result is parsed again and compared with what the original formats: the same
literal text, and fields that evaluate the same expressions (as ``ast`` sees them) with the
same conversions and specs, each field parsing alone as 3.12 reads it. A conversion that is
not provably the same stays as written; so does one with a comment, a backslash, an
``await``, an f-string or a string in the template's quotes inside, and each is listed as a
warning with its line.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst import CSTLogicError, CSTValidationError, ParserSyntaxError
from libcst.codemod import CodemodCommand, CodemodContext
from libcst.codemod.commands.convert_format_to_fstring import ConvertFormatStringCommand
from libcst.codemod.commands.convert_percent_format_to_fstring import (
    ConvertPercentFormatStringCommand,
)
from libcst.metadata import PositionProvider

_CODE = cst.Module([])
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_REFUSALS = (CSTValidationError, CSTLogicError, ParserSyntaxError, ValueError, TypeError)
"""What libcst's converters raise on forms they do not handle: that expression stays."""


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


def _has_fstring(values: list[cst.BaseExpression]) -> bool:
    """An f-string inside a field must use other quotes before 3.12; libcst's ``%``
    converter only swaps the quotes of plain strings."""
    return any(m.findall(v, m.FormattedString()) for v in values)


def _atom(expr: cst.BaseExpression) -> bool:
    """``.attr`` written right after it applies to the whole of it."""
    return bool(expr.lpar) or isinstance(expr, cst.Name | cst.Attribute | cst.Call | cst.Subscript)


def _has_comment(node: cst.BaseExpression) -> bool:
    """A comment inside the expression (its own parentheses excepted, the result keeps
    them): an f-string has no room for it, and a comment is never dropped."""
    return bool(m.findall(node.with_changes(lpar=[], rpar=[]), m.Comment()))


def _text_prefix(node: cst.SimpleString) -> cst.SimpleString | None:
    """The literal without a ``u`` (meaningless in Python 3; ``fu""`` does not parse); None
    for bytes, which have no f-string."""
    prefix = node.prefix.lower()
    if "b" in prefix:
        return None
    if prefix == "u":
        return node.with_changes(value=node.value[1:])
    return node


# --- what the original formats, and what the f-string does ------------------------------


@dataclass(frozen=True)
class _Field:
    """A replacement field: the argument it reads, what it reads of it, and how."""

    head: str
    accessor: str
    conversion: str | None
    spec: tuple[str | _Field, ...]


_Pieces = tuple["str | _Field", ...]
_Token = tuple[object, ...]


def _parse_format(template: str) -> _Pieces | None:
    """``str.format``'s reading of a template (auto-numbered fields numbered); None when a
    field is not safe to inline or the template would raise."""
    auto = 0
    numbering: set[str] = set()

    def walk(text: str, depth: int) -> _Pieces | None:
        nonlocal auto
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError:
            return None
        pieces: list[str | _Field] = []
        for literal, field, spec, conversion in parsed:
            pieces.append(literal)
            if field is None:
                continue
            if "[" in field:
                return None  # {0[key]}: a string key, not the variable key
            head = re.split(r"[.\[]", field, maxsplit=1)[0]
            accessor = field[len(head) :]
            if head == "":
                numbering.add("auto")
                head = str(auto)
                auto += 1
            elif head.isdigit():
                numbering.add("manual")
            nested: _Pieces = ()
            if spec:
                if depth > 0:
                    return None  # a spec inside a spec: str.format refuses, libcst too
                inner = walk(spec, 1)
                if inner is None:
                    return None
                nested = inner
            pieces.append(_Field(head, accessor, conversion, nested))
        return tuple(pieces)

    pieces = walk(template, 0)
    if pieces is None or len(numbering) > 1:
        return None  # "{}{0}": switching numbering raises ValueError
    return pieces


def _fields_of(pieces: _Pieces) -> list[_Field]:
    """The fields in the order their arguments are read, nested specs included."""
    found: list[_Field] = []
    for piece in pieces:
        if isinstance(piece, _Field):
            found.append(piece)
            found.extend(_fields_of(piece.spec))
    return found


def _merged(tokens: list[_Token]) -> list[_Token]:
    """Adjacent literal text as one, empty text dropped: how both sides are compared."""
    out: list[_Token] = []
    for token in tokens:
        if token[0] == "text":
            if not token[1]:
                continue
            if out and out[-1][0] == "text":
                out[-1] = ("text", str(out[-1][1]) + str(token[1]))
                continue
        out.append(token)
    return out


def _dump(code: str) -> str | None:
    try:
        return ast.dump(ast.parse(code, mode="eval").body)
    except SyntaxError:
        return None


def _expected_format(pieces: _Pieces, args: dict[str, str]) -> list[_Token] | None:
    """What ``template.format(**args)`` formats: literal text, and for each field the
    expression it evaluates, its conversion and its spec."""
    tokens: list[_Token] = []
    for piece in pieces:
        if isinstance(piece, str):
            tokens.append(("text", piece))
            continue
        code = args.get(piece.head)
        value = None if code is None else _dump(f"({code}){piece.accessor}")
        spec = _expected_format(piece.spec, args)
        if value is None or spec is None:
            return None
        tokens.append(("field", value, piece.conversion, tuple(spec)))
    return _merged(tokens)


def _expected_percent(template: str, values: list[str]) -> list[_Token] | None:
    """What ``template % (values...)`` formats when every directive is ``%s``."""
    parts = template.split("%s")
    if len(parts) != len(values) + 1 or any("%" in part for part in parts):
        return None
    tokens: list[_Token] = [("text", parts[0])]
    for code, part in zip(values, parts[1:], strict=True):
        value = _dump(f"({code})")
        if value is None:
            return None
        tokens += [("field", value, "s", ()), ("text", part)]
    return _merged(tokens)


def _fstring_tokens(node: ast.JoinedStr) -> list[_Token]:
    tokens: list[_Token] = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            tokens.append(("text", value.value))
        elif isinstance(value, ast.FormattedValue):
            conversion = None if value.conversion == -1 else chr(value.conversion)
            spec = value.format_spec
            nested = _fstring_tokens(spec) if isinstance(spec, ast.JoinedStr) else []
            tokens.append(("field", ast.dump(value.value), conversion, tuple(nested)))
    return _merged(tokens)


def _field_parses_everywhere(expr: cst.BaseExpression) -> bool:
    """Python 3.12 reads a field as ``star_expressions`` (3.11 read it inside parentheses):
    the expression as written must parse on its own, and neither start with ``{`` nor be a
    bare lambda (3.12 refuses one)."""
    code = _CODE.code_for_node(expr)
    if code.startswith("{"):
        return False
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        return False
    return bool(expr.lpar) or not isinstance(tree.body, ast.Lambda)


def _fields(parts: Sequence[cst.BaseFormattedStringContent]) -> list[cst.BaseExpression]:
    found: list[cst.BaseExpression] = []
    for part in parts:
        if isinstance(part, cst.FormattedStringExpression):
            found.append(part.expression)
            found.extend(_fields(part.format_spec or ()))
    return found


def _formats_the_same(result: cst.BaseExpression, expected: list[_Token] | None) -> bool:
    """The f-string parses (with this Python, and each field as 3.12 reads it) and formats
    what the original did."""
    if expected is None or not isinstance(result, cst.FormattedString):
        return False
    if not all(_field_parses_everywhere(field) for field in _fields(result.parts)):
        return False
    try:
        tree = ast.parse(_CODE.code_for_node(result.with_changes(lpar=[], rpar=[])), mode="eval")
    except SyntaxError:
        return False
    return isinstance(tree.body, ast.JoinedStr) and _fstring_tokens(tree.body) == expected


def _needs_parentheses(expr: cst.BaseExpression) -> bool:
    """A field would read part of it as its spec (``:``) or its braces as an escape, or
    Python 3.12's grammar would not take it bare (a generator expression)."""
    if expr.lpar:
        return False
    if isinstance(expr, cst.Lambda | cst.NamedExpr | cst.GeneratorExp):
        return True
    if isinstance(expr, cst.IfExp) and m.findall(expr, m.Lambda()):
        return True
    code = _CODE.code_for_node(expr)
    return code.startswith("{") or code.endswith("}")


def _parenthesise_fields(node: cst.FormattedString) -> cst.FormattedString:
    def fix(
        parts: Sequence[cst.BaseFormattedStringContent],
    ) -> list[cst.BaseFormattedStringContent]:
        out: list[cst.BaseFormattedStringContent] = []
        for part in parts:
            if isinstance(part, cst.FormattedStringExpression):
                expr = part.expression
                if _needs_parentheses(expr):
                    expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
                spec = fix(part.format_spec) if part.format_spec else part.format_spec
                part = part.with_changes(expression=expr, format_spec=spec)
            out.append(part)
        return out

    return node.with_changes(parts=fix(node.parts))


# --- the two converters ------------------------------------------------------------------

_COMMENT = "a comment inside it would be lost"
_NOT_THE_SAME = "the f-string would not format exactly what it does"
_SAME_QUOTE = (
    "a string inside it has the template's quotes (an f-string cannot hold them before Python 3.12)"
)
_BACKSLASH = "a backslash inside it (an f-string cannot hold one before Python 3.12)"
_AWAIT = "an await inside it (an f-string cannot hold one before Python 3.7)"
_NESTED = "an f-string inside it"


def _left(
    command: CodemodCommand, original: cst.CSTNode, updated: cst.BaseExpression, why: str
) -> cst.BaseExpression:
    """Leave a conversion that is otherwise possible, and say why in the summary."""
    wrapper = command.context.wrapper
    line = wrapper.resolve(PositionProvider)[original].start.line if wrapper else 0
    command.warn(f"line {line}: left as written: {why}")
    return updated


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
        if not isinstance(updated_node.operator, cst.Modulo):
            return updated_node
        values = _percent_values(updated_node)
        left = updated_node.left
        if values is None or not isinstance(left, cst.SimpleString):
            return updated_node
        text = _text_prefix(left)
        if text is None:
            return updated_node
        template = text.evaluated_value
        if not isinstance(template, str) or template.count("%s") != len(values):
            return updated_node
        if _has_string_literal(values):
            return updated_node
        if _has_fstring(values):
            return _left(self, original_node, updated_node, _NESTED)
        if _has_comment(updated_node):
            return _left(self, original_node, updated_node, _COMMENT)
        node = updated_node.with_changes(left=text)
        try:
            # libcst's converter reads its first argument; the updated node keeps inner
            # conversions.
            result = super().leave_BinaryOperation(node, node)
        except _REFUSALS:
            return updated_node
        if not isinstance(result, cst.FormattedString):
            return updated_node
        if _backslash_in_expression(result):
            return _left(self, original_node, updated_node, _BACKSLASH)
        # %s is str(value); a bare field would be format(value), which a class may override.
        result = _parenthesise_fields(
            result.with_changes(
                parts=[
                    part.with_changes(conversion="s")
                    if isinstance(part, cst.FormattedStringExpression)
                    else part
                    for part in result.parts
                ]
            )
        )
        expected = _expected_percent(template, [_CODE.code_for_node(v) for v in values])
        if not _formats_the_same(result, expected):
            return _left(self, original_node, updated_node, _NOT_THE_SAME)
        return result.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)


def _format_pieces(literal: cst.SimpleString, call: cst.Call) -> _Pieces | None:
    """``literal.format(...)`` read as str.format would, when converting it evaluates each
    argument once, in order, as the f-string would; None otherwise."""
    if any(arg.star for arg in call.args) or "\\N" in literal.raw_value:
        return None
    template = literal.evaluated_value
    pieces = _parse_format(template) if isinstance(template, str) else None
    if pieces is None:
        return None
    used = [f.head for f in _fields_of(pieces)]
    keys = [arg.keyword.value if arg.keyword else str(i) for i, arg in enumerate(call.args)]
    values = dict(zip(keys, (arg.value for arg in call.args), strict=True))
    if set(used) != set(keys) or _has_string_literal(list(values.values())):
        return None  # an argument dropped (its side effects with it), or a literal inlined
    if all(_plain(v) for v in values.values()):
        return pieces
    if list(dict.fromkeys(used)) != keys:
        return None  # the fields would evaluate the arguments in another order
    if any(not _plain(values[k]) for k in keys if used.count(k) > 1):
        return None
    return pieces


def _parenthesise_accessed(call: cst.Call, pieces: _Pieces) -> cst.Call:
    """Wrap each argument that a field reads ``.attr`` of and that is not an atom:
    libcst's converter writes the field after the argument's code as it stands."""
    accessed = {f.head for f in _fields_of(pieces) if f.accessor}
    args = []
    for i, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword else str(i)
        if key in accessed and not _atom(arg.value):
            arg = arg.with_changes(
                value=arg.value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        args.append(arg)
    return call.with_changes(args=args)


class _StripNewlines(cst.CSTTransformer):
    """Line breaks inside an argument's brackets become spaces: a field is one line."""

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.BaseParenthesizableWhitespace | cst.MaybeSentinel:
        return cst.SimpleWhitespace(" ")


class _SwapQuotes(cst.CSTTransformer):
    """Strings in the template's quote character take the other one, where that reads the
    same."""

    def __init__(self, avoid: str) -> None:
        super().__init__()
        self.avoid = avoid
        self.other = '"' if avoid == "'" else "'"

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        if self.avoid not in updated_node.quote:
            return updated_node
        quote = updated_node.quote.replace(self.avoid, self.other)
        value = f"{updated_node.prefix}{quote}{updated_node.raw_value}{quote}"
        try:
            same = ast.literal_eval(value) == updated_node.evaluated_value
        except (SyntaxError, ValueError):
            return updated_node
        return updated_node.with_changes(value=value) if same else updated_node


class _FormatToFString(ConvertFormatStringCommand):
    """libcst's converter, with SHIM's reading of each field: the same checks, worded for
    the summary with their line, and plain transformers (libcst builds three
    matcher-decorated visitors for every field, which made a file's time grow faster than
    the file)."""

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.refusal: str | None = None
        self.strip_newlines = _StripNewlines()

    def _convert_token_to_fstring_expression(
        self,
        field_name: str,
        conversion: str | None,
        arguments: Sequence[cst.Arg],
        containing_string: cst.SimpleString,
    ) -> cst.FormattedStringExpression | None:
        head, _, rest = field_name.partition(".")
        values = {
            arg.keyword.value if arg.keyword else str(i): arg.value
            for i, arg in enumerate(arguments)
        }
        expr = values.get(head)
        if expr is None or any(arg.star for arg in arguments):
            return None
        for attr in rest.split(".") if rest else ():
            expr = cst.Attribute(value=expr, attr=cst.Name(attr))
        if m.findall(expr, m.Comment()):
            self.refusal = _COMMENT
        elif m.findall(expr, m.FormattedString()):
            self.refusal = _NESTED
        elif m.findall(expr, m.Await()):
            self.refusal = _AWAIT
        if self.refusal:
            return None
        quote = containing_string.quote[0]
        for transformer in (self.strip_newlines, _SwapQuotes(quote)):
            visited = expr.visit(transformer)
            if not isinstance(visited, cst.BaseExpression):
                return None
            expr = visited
        if "\\" in _CODE.code_for_node(expr):
            self.refusal = _BACKSLASH
            return None
        strings = m.findall(expr, m.SimpleString())
        if any(cst.ensure_type(s, cst.SimpleString).value[-1] == quote for s in strings):
            self.refusal = _SAME_QUOTE
            return None
        return cst.FormattedStringExpression(expression=expr, conversion=conversion)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.SimpleString)
            and func.attr.value == "format"
        ):
            return updated_node
        text = _text_prefix(func.value)
        if text is None:
            return updated_node
        pieces = _format_pieces(func.value, updated_node)
        if pieces is None:
            return updated_node
        if _has_comment(updated_node):
            return _left(self, original_node, updated_node, _COMMENT)
        call = _parenthesise_accessed(updated_node, pieces)
        call = call.with_changes(func=func.with_changes(value=text))
        self.refusal = None
        try:
            result = super().leave_Call(original_node, call)
        except _REFUSALS:
            return updated_node
        if self.refusal is not None:
            return _left(self, original_node, updated_node, self.refusal)
        if not isinstance(result, cst.FormattedString) or _backslash_in_expression(result):
            return updated_node
        result = _parenthesise_fields(result)
        args = {
            arg.keyword.value if arg.keyword else str(i): _CODE.code_for_node(arg.value)
            for i, arg in enumerate(updated_node.args)
        }
        if not _formats_the_same(result, _expected_format(pieces, args)):
            return _left(self, original_node, updated_node, _NOT_THE_SAME)
        return result.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)


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
