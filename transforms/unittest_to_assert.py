"""unittest assertions to plain ``assert``, and ``assertRaises`` to ``pytest.raises``.

pytest rewrites plain asserts to show both sides on failure, so ``assert a == b`` reports
more than ``self.assertEqual(a, b)`` did. Calls that cannot be translated exactly (the
callable form of assertRaises, assertAlmostEqual with places, ``msg=`` of assertRaises and
assertRaisesRegex, a call whose comments the assert could not keep) are left alone, and so,
with a warning, are a message that calls or subscripts (unittest evaluates it even when the
assertion holds, an assert only when it fails), ``assertIsInstance`` where ``isinstance``
is rebound, and ``assertIs`` with a literal (``x is 1`` is a SyntaxWarning). A
``with self.assertRaises(E) as cm:`` is converted only when every binding of ``cm`` in its
scope is such a block and ``cm`` is only read as ``cm.exception`` (then ``cm.value``), nested
functions included.

Only methods of classes that derive from ``unittest.TestCase`` (or Django's test cases), directly
or through classes of the same module, are converted, and only for assert methods that the
class and those bases do not define themselves; a class with a base from elsewhere (a mixin that
may override ``assertEqual``) is left, unless that base comes after ``unittest.TestCase``, which
then precedes it in the MRO. A class that sets ``failureException`` (its asserts raise that,
not AssertionError) is left; so is ``assertEqual`` in a module that registers type equality
functions (``addTypeEqualityFunc``: assertEqual then calls them, not ``==``). A file where
``pytest`` names something other than the pytest module is skipped when it would need
``pytest.raises``.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Mapping, Sequence

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)

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
    cst.GeneratorExp,
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
    """An operand alone: parentheses only if it spans lines or is a bare generator."""
    if not expr.lpar and (isinstance(expr, cst.GeneratorExp) or "\n" in _CODE.code_for_node(expr)):
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


# Test case classes whose assert methods are unittest's own (Django adds others, overrides none).
TEST_CASES = {
    "unittest.TestCase",
    "unittest.case.TestCase",
    "unittest.IsolatedAsyncioTestCase",
    "unittest.async_case.IsolatedAsyncioTestCase",
    "django.test.TestCase",
    "django.test.SimpleTestCase",
    "django.test.TransactionTestCase",
    "django.test.LiveServerTestCase",
}


UNITTEST_TEST_CASE = {"unittest.TestCase", "unittest.case.TestCase"}
_UNITTEST: tuple[bool, set[str]] = (True, set())
"""unittest.TestCase itself: it defines every assert method this codemod converts."""


def _imports(module: cst.Module) -> dict[str, str]:
    """Module-level names bound by imports, to the dotted name they import."""
    names: dict[str, str] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef | cst.FunctionDef):
            continue
        for node in m.findall(stmt, m.Import() | m.ImportFrom()):
            if isinstance(node, cst.Import):
                for alias in node.names:
                    dotted = get_full_name_for_node(alias.name) or ""
                    if alias.asname is not None:
                        names[cst.ensure_type(alias.asname.name, cst.Name).value] = dotted
                    else:
                        head = dotted.split(".")[0]
                        names[head] = head
            elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
                source = get_full_name_for_node(node.module) if node.module else None
                for alias in node.names:
                    bound = alias.evaluated_alias or alias.evaluated_name
                    names[bound] = (
                        f"{source}.{alias.evaluated_name}" if source and not node.relative else ""
                    )
    return names


def _defined(cls: cst.ClassDef, on_self: set[str]) -> set[str]:
    """Every name the class body may bind: its methods, and any name in its other statements
    (attributes, imports, a def under an ``if``), and the attributes its methods set on
    ``self`` (``on_self``): over-approximated, so never missed."""
    names = set(on_self)
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            names.add(stmt.name.value)
        else:
            names.update(cst.ensure_type(n, cst.Name).value for n in m.findall(stmt, m.Name()))
    return names


class _ModuleFacts(cst.CSTVisitor):
    """What the whole module says about a few names, in one pass."""

    def __init__(self) -> None:
        self.isinstance_calls: set[int] = set()
        self.isinstance_names: list[int] = []
        self.type_equality = False
        """A type equality function makes assertEqual call it instead of ``==``."""
        self.on_self: dict[int, set[str]] = {}
        """By class id: the attributes its methods set on ``self`` (``self.assertTrue = ...``
        in setUp), which then are the instance's, not unittest's."""
        self._classes: list[int] = []

    @property
    def isinstance_free(self) -> bool:
        """Every ``isinstance`` in the module is a call: nothing binds another one."""
        return all(n in self.isinstance_calls for n in self.isinstance_names)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "isinstance":
            self.isinstance_calls.add(id(node.func))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "isinstance":
            self.isinstance_names.append(id(node))
        elif node.value == "addTypeEqualityFunc":
            self.type_equality = True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(id(node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def _assigns(self, target: cst.BaseExpression) -> None:
        if (
            self._classes
            and isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
        ):
            self.on_self.setdefault(self._classes[-1], set()).add(target.attr.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._assigns(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assigns(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assigns(node.target)


class _TestCases:
    """Which assert methods of ``self`` are unittest's own, class by class."""

    def __init__(self, module: cst.Module, facts: _ModuleFacts) -> None:
        self.imports = _imports(module)
        self.facts = facts
        self.defined: dict[int, set[str]] = {}
        """_defined of each class, by id: a class is asked about once per base it serves."""
        self.classes: dict[str, cst.ClassDef | None] = {}
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef):
                name = stmt.name.value
                # a name bound twice, or also imported, cannot be told apart: None
                twice = name in self.classes or name in self.imports
                self.classes[name] = None if twice else stmt

    def own_asserts_defined(
        self, cls: cst.ClassDef, seen: frozenset[str] = frozenset()
    ) -> set[str] | None:
        """The names the class and its in-module bases define, when it is a unittest test
        case; None when it is not, or when a base we cannot see may define assert methods."""
        found = self._walk(cls, seen)
        if found is None or not found[0] or "failureException" in found[1]:
            return None  # its asserts raise another exception than AssertionError
        if self.facts.type_equality:
            return found[1] | {"assertEqual", "assertEquals"}
        return found[1]

    def _walk(self, cls: cst.ClassDef, seen: frozenset[str]) -> tuple[bool, set[str]] | None:
        if id(cls) not in self.defined:
            self.defined[id(cls)] = _defined(cls, self.facts.on_self.get(id(cls), set()))
        defined = set(self.defined[id(cls)])
        is_test = after_unittest = False
        for arg in cls.bases:
            found = self._base(arg, seen)
            if found is None:
                if after_unittest:
                    # unittest.TestCase defines every assert method and precedes this base
                    # in the MRO (a TestCase subclass here would make the MRO fail)
                    continue
                return None
            is_test = is_test or found[0]
            defined |= found[1]
            after_unittest = after_unittest or found is _UNITTEST
        return is_test, defined

    def _base(self, arg: cst.Arg, seen: frozenset[str]) -> tuple[bool, set[str]] | None:
        """(is a test case, the names it defines) for one base, None when unknown."""
        dotted = None if arg.star else get_full_name_for_node(arg.value)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            full = self.imports[head] + ("." + rest if rest else "")
            if full in UNITTEST_TEST_CASE:
                return _UNITTEST
            return (True, set()) if full in TEST_CASES else None
        if dotted == "object":
            return False, set()
        base = self.classes.get(dotted)
        if base is None or dotted in seen:
            return None
        return self._walk(base, seen | {dotted})


class _Convertible(cst.CSTVisitor):
    """The ``self.assert*`` calls made in a unittest test case, of methods it does not define."""

    def __init__(self, cases: _TestCases) -> None:
        self.cases = cases
        self.stack: list[set[str] | None] = []
        self.calls: set[int] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(self.cases.own_asserts_defined(node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        method = _self_method(node)
        if method is None or not self.stack:
            return
        defined = self.stack[-1]
        if defined is not None and method not in defined:
            self.calls.add(id(node))


class _PytestUse(cst.CSTVisitor):
    """Whether every ``pytest`` in the module is the module: ``import pytest`` or a
    ``pytest.x`` read, never another binding (an alias, a parameter, an assignment)."""

    def __init__(self) -> None:
        self.free = True

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            if alias.asname is not None and alias.evaluated_alias == "pytest":
                self.free = False
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if isinstance(node.names, cst.ImportStar):
            self.free = False  # may bind anything, pytest included
            return False
        for alias in node.names:
            if (alias.evaluated_alias or alias.evaluated_name) == "pytest":
                self.free = False
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if not isinstance(node.value, cst.Name):
            node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # a keyword= binds nothing
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "pytest":
            self.free = False


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


def _raises_call(call: cst.BaseExpression) -> cst.Call | None:
    """``self.assertRaises(E)`` / ``assertRaisesRegex(E, r)`` as ``pytest.raises``, or None."""
    if not isinstance(call, cst.Call) or _self_method(call) not in RAISES:
        return None
    if any(arg.keyword is not None or arg.star for arg in call.args):
        return None  # msg= (pytest.raises has none) or an expected_regex= spelling
    method = _self_method(call)
    expected = 1 if method == "assertRaises" else 2
    if len(call.args) != expected:
        return None
    new_args = [call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    if expected == 2:
        new_args[0] = new_args[0].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
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
    return call.with_changes(
        func=cst.Attribute(value=cst.Name("pytest"), attr=cst.Name("raises")), args=new_args
    )


_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)
_EAGER = m.Call() | m.Subscript() | m.Await() | m.Yield() | m.NamedExpr()
"""What may run code, raise or bind in a message, which unittest evaluates on success too."""


def _why_not(
    method: str, args: Sequence[cst.BaseExpression], arity: int, isinstance_free: bool
) -> str | None:
    """Why ``self.method(*args)`` would not behave as its assert: None when it would."""
    if len(args) > arity and m.findall(args[arity], _EAGER):
        return "unittest evaluates its message even when the assertion holds"
    if method in ("assertIsInstance", "assertNotIsInstance") and not isinstance_free:
        return "the name 'isinstance' is bound to something else in this module"
    if method in ("assertIs", "assertIsNot") and any(isinstance(a, _LITERALS) for a in args[:2]):
        return "'is' with a literal is a SyntaxWarning and an identity Python does not promise"
    return None


def _reordered(call: cst.Call, names: Sequence[str]) -> str | None:
    """Keyword arguments given out of order (``second=f(), first=g()``): the assert would
    evaluate them in the parameters' order, which matters unless each is a name or a
    literal."""
    written = [
        arg.keyword.value if arg.keyword is not None else names[i]
        for i, arg in enumerate(call.args)
    ]
    if written == [n for n in names if n in written]:
        return None
    if all(isinstance(arg.value, (cst.Name, *_LITERALS)) for arg in call.args):
        return None
    return "its arguments would be evaluated in another order"


def _comments(node: cst.CSTNode) -> int:
    code = _CODE.code_for_node(node)
    return len(m.findall(node, m.Comment())) if "#" in code else 0


class _Survey(cst.CSTVisitor):
    """One cheap pass: the assertRaises blocks, and every ``x.exception`` read."""

    def __init__(self) -> None:
        self.raises: list[cst.WithItem] = []
        self.exception_reads: set[int] = set()
        """ids of the names read as ``name.exception``."""

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if _raises_call(node.item) is not None:
            self.raises.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "exception" and isinstance(node.value, cst.Name):
            self.exception_reads.add(id(node.value))


class UnittestToAssertCommand(VisitorBasedCodemodCommand):
    TITLE = "unittest assertions to plain assert"
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
        self._convert: set[int] = set()
        """ids of the with-items that become pytest.raises."""
        self._to_value: set[int] = set()
        """ids of the ``cm`` names whose ``.exception`` becomes ``.value``."""
        self._calls: set[int] = set()
        """ids of the ``self.assert*`` calls made where unittest's own method is meant."""
        self._isinstance_free = True

    def visit_Module(self, node: cst.Module) -> None:
        """Decide every ``with`` at once. A ``with ... as cm`` is converted with all the
        bindings of ``cm`` in its scope, only when every one is such a block and ``cm`` is
        only read as ``cm.exception``."""
        facts = _ModuleFacts()
        node.visit(facts)
        self._isinstance_free = facts.isinstance_free
        convertible = _Convertible(_TestCases(node, facts))
        node.visit(convertible)
        self._calls = convertible.calls
        survey = _Survey()
        node.visit(survey)
        raises = [i for i in survey.raises if id(i.item) in self._calls]
        if raises:
            uses = _PytestUse()
            node.visit(uses)
            if not uses.free:
                raise SkipFile("the name 'pytest' is bound to something other than the module")
        self._convert = {id(i) for i in raises if i.asname is None}
        named = {id(i) for i in raises if i.asname is not None}
        if not named:
            return
        # Scope analysis costs seconds on a large file: run it only on the top-level
        # statements (a test class, a function) that hold such blocks, on this very tree.
        for stmt in node.body:
            local = _Survey()
            stmt.visit(local)
            items = [i for i in local.raises if id(i) in named]
            if not items:
                continue
            whole = not isinstance(stmt, cst.ClassDef | cst.FunctionDef)
            part = node if whole else cst.Module(body=[stmt])
            scopes = MetadataWrapper(part, unsafe_skip_copy=True).resolve(ScopeProvider)
            self._decide(items, scopes, survey.exception_reads, allow_global=whole)

    def _decide(
        self,
        items: list[cst.WithItem],
        scopes: Mapping[cst.CSTNode, Scope | None],
        exception_reads: set[int],
        *,
        allow_global: bool,
    ) -> None:
        groups: dict[tuple[Scope, str], list[cst.WithItem]] = {}
        for item in items:
            target = cst.ensure_type(item.asname, cst.AsName).name
            scope = scopes.get(target) if isinstance(target, cst.Name) else None
            if scope is None or (isinstance(scope, GlobalScope) and not allow_global):
                continue  # a global cm (``global cm``) is read beyond this statement
            groups.setdefault((scope, cst.ensure_type(target, cst.Name).value), []).append(item)
        for (scope, name), grouped in groups.items():
            targets = {id(cst.ensure_type(i.asname, cst.AsName).name) for i in grouped}
            assignments = scope.assignments[name]
            if not all(id(getattr(a, "node", None)) in targets for a in assignments):
                continue  # cm is also bound some other way: leave these blocks as they are
            reads = [access.node for a in assignments for access in a.references]
            if all(id(read) in exception_reads for read in reads):
                self._convert.update(id(i) for i in grouped)
                self._to_value.update(id(read) for read in reads)

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.BaseSmallStatement:
        call = updated_node.value
        if not isinstance(call, cst.Call) or id(original_node.value) not in self._calls:
            return updated_node
        method = _self_method(call)
        if method not in ASSERTIONS:
            return updated_node
        arity, build = ASSERTIONS[method]
        names = ["first", "second", "msg"] if arity == 2 else ["expr", "msg"]
        args = _positional(call, names)
        if args is None or len(args) < arity:
            return updated_node
        why = _why_not(method, args, arity, self._isinstance_free) or _reordered(call, names)
        if why is not None:
            self.warn(f"line {self._line(original_node)}: self.{method} left as written: {why}")
            return updated_node
        test = build(args[:arity])
        msg = _spanning(args[arity]) if len(args) > arity else None
        result = cst.Assert(test=test, msg=msg)
        if _comments(result) != _comments(call):
            return updated_node  # a comment between the arguments would be lost
        try:
            ast.parse(_CODE.code_for_node(result).strip())
        except SyntaxError:
            return updated_node
        return result

    def _line(self, node: cst.CSTNode) -> int:
        """Positions only when a warning needs one: computing them costs a pass per file."""
        wrapper = self.context.wrapper
        if wrapper is None:
            return 0
        return wrapper.resolve(PositionProvider)[node].start.line

    def leave_WithItem(
        self, original_node: cst.WithItem, updated_node: cst.WithItem
    ) -> cst.WithItem:
        if id(original_node) not in self._convert:
            return updated_node
        call = _raises_call(updated_node.item)
        if call is None:
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "pytest")
        return updated_node.with_changes(item=call)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        if id(original_node.value) in self._to_value and original_node.attr.value == "exception":
            return updated_node.with_changes(attr=cst.Name("value"))
        return updated_node
