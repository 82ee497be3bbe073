"""Migrate calls to a function: its name, and its arguments renamed, dropped, added, reordered.

Calls are found by what the callee refers to (``pkg.mod.func`` however it was imported,
relative imports and re-exports included: a package's ``__init__`` or a ``compat.py`` that
imports it; in ``pkg/mod.py`` itself, its global ``func``), not by spelling. A module others
may import it from (a package's ``__init__``, a module another file imports the name from,
or one that imports it without using it) keeps
the old name and imports the new one beside it, so a file left unchanged still finds what it
imports; its ``__all__``, where it lists the old name, lists the new one too. A module that
re-exports the function by a star import (``from pkg.mod import *``) is followed, unless the
star import would not bring the new name (``pkg.mod``'s ``__all__`` leaves it out): then a file
importing through it is left unchanged. A call that cannot be migrated exactly
(``*args``/``**kwargs``, more positional arguments than ``positional`` names, a comment
between its arguments, which are written anew, an argument to drop that is not a literal or
a plain name (an attribute may be a property, an operator a method),
a name that may also be another binding such as a fallback ``def``) is left as written and
reported; when the function is also renamed, its whole file is left unchanged
(reported as skipped), since a renamed import would leave that call without its name.

Giving ``positional`` (the old positional parameter names) turns positional arguments into
keywords first, so renames and reorders apply to them too; ``new_positional`` then says
which parameters the new signature takes by position, in order. Only a call's leading
arguments that fill those positions with no gap are passed by position, the others by keyword
(``fetch("u1")`` becomes ``get(url="u1")`` when ``query`` comes first); arguments are moved
only when all are plain names or constants, else they keep their order and go by keyword.
The function used as a value (``f = fetch``) is reported: calls through it are not migrated
(when the function is also renamed, its file is left unchanged: the new function would get
the old arguments); so is a call that a star import of its module may bind.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Sequence
from keyword import iskeyword
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.metadata import ImportAssignment, PositionProvider, QualifiedNameProvider, ScopeProvider

from shim_lsp.codemods.modules import file_in

from ._names import (
    absolute,
    first_binding,
    follow_reexports,
    grown_all,
    import_from_module,
    is_package_init,
    lookup_start,
    name_below,
    name_imported_by_others,
    package_of,
    package_root,
    project_package_root,
    reexported_by,
    reexports,
    refuse_other_spelling,
    root_of,
    star_importer_binding,
    star_lacks,
)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in _names(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"expected name=value, got {item!r}")
        if key.strip() in pairs:
            raise ValueError(f"{key.strip()!r} is given twice")
        pairs[key.strip()] = value.strip()
    return pairs


def _identifiers(argument: str, names: list[str]) -> list[str]:
    """Parameter names as Python reads them, each once."""
    out = [unicodedata.normalize("NFKC", n) for n in names]
    for name in out:
        if not name.isidentifier() or iskeyword(name):
            raise ValueError(f"{argument}: {name!r} is not a parameter name")
    twice = sorted({n for n in out if out.count(n) > 1})
    if twice and argument in ("positional", "new_positional"):
        raise ValueError(f"{argument}: {', '.join(twice)} given twice")
    return out


def _expression(key: str, text: str) -> cst.BaseExpression:
    try:
        return cst.parse_expression(text)
    except cst.ParserSyntaxError as exc:
        raise ValueError(f"add_keywords: {key}'s value {text!r} is not an expression") from exc


def _plain(expr: cst.BaseExpression) -> bool:
    """Evaluating it earlier or later cannot change anything."""
    return isinstance(expr, cst.Name | cst.Integer | cst.Float | cst.Imaginary | cst.SimpleString)


_NUMBER = cst.Integer | cst.Float | cst.Imaginary


def _inert(expr: cst.BaseExpression) -> bool:
    """A literal or a plain name (or a display of them): evaluating it runs no code, so
    dropping it changes nothing. An attribute (a property), an operator (``__neg__``), a
    call or an f-string (``__format__``) may run code."""
    if isinstance(expr, cst.Name | _NUMBER | cst.SimpleString):
        return True
    if isinstance(expr, cst.ConcatenatedString):
        return _inert(expr.left) and _inert(expr.right)
    if isinstance(expr, cst.UnaryOperation):
        return isinstance(expr.operator, cst.Minus | cst.Plus) and isinstance(
            expr.expression, _NUMBER
        )
    if isinstance(expr, cst.Tuple | cst.List | cst.Set):
        return all(isinstance(e, cst.Element) and _inert(e.value) for e in expr.elements)
    if isinstance(expr, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _inert(e.key) and _inert(e.value)
            for e in expr.elements
        )
    return False


def _comments(args: Sequence[cst.Arg]) -> int:
    return sum(len(m.findall(arg, m.Comment())) for arg in args)


def _arg(name: str | None, value: cst.BaseExpression) -> cst.Arg:
    if name is None:
        return cst.Arg(value)
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


class MigrateCallCommand(VisitorBasedCodemodCommand):
    TITLE = "Migrate calls to a new function"
    DESCRIPTION = (
        "Migrate calls to a function: rename it, and rename, drop, add or reorder its "
        "arguments (a parametrised API migration)."
    )
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider, ScopeProvider)

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        a = arg_parser.add_argument
        a(
            "--old_name",
            dest="old_name",
            required=True,
            help="Qualified name of the function, e.g. mylib.client.fetch.",
        )
        a("--new_name", dest="new_name", default="", help="Its new name (same module).")
        a(
            "--positional",
            dest="positional",
            default="",
            help="Old positional parameter names in order, e.g. url,params.",
        )
        a(
            "--rename_keywords",
            dest="rename_keywords",
            default="",
            help="old=new pairs, e.g. params=query,verify=check_tls.",
        )
        a("--drop_keywords", dest="drop_keywords", default="", help="Arguments to drop.")
        a(
            "--add_keywords",
            dest="add_keywords",
            default="",
            help="name=expression pairs to add where missing, e.g. timeout=30.",
        )
        a(
            "--new_positional",
            dest="new_positional",
            default="",
            help="New positional parameter names in order, e.g. query,url.",
        )

    @staticmethod
    def prefilter(old_name: str, new_name: str = "", **_args: object) -> list[str]:
        return [old_name.rsplit(".", 1)[-1]]

    @staticmethod
    def check_project(root: Path, old_name: str, new_name: str = "", **_args: object) -> None:
        """Before any file is read: the new name must exist where the function is (the
        migrated imports read it there), and a package's ``__all__`` that would list it
        beside the old name must not be star-imported by a file binding that name itself
        (the star import would then replace that file's own)."""
        old_module, _, old_short = old_name.rpartition(".")
        new_name = unicodedata.normalize("NFKC", new_name)
        if not new_name or new_name == old_short or not old_module:
            return
        top_root = project_package_root(old_name, root)
        if top_root is None:
            return
        path = file_in(top_root, old_module)
        if (
            path is not None
            and first_binding(path, new_name) is None
            and first_binding(path, "__getattr__") is None
            and b"import *" not in path.read_bytes()
        ):
            raise ValueError(
                f"new_name {new_name!r}: {old_module} ({_shown(path, root)}) does not define"
                f" it, so the migrated code could not import or call it; add it first"
                " (nothing was changed)"
            )
        names = reexports(old_name, top_root)

        def grows(module: str) -> bool:
            """A module re-exporting the function (a package, a ``compat.py``) whose
            ``__all__`` the migration would make list the new name."""
            return (
                module != old_module
                and grown_all(module, old_short, new_name, top_root)
                and (
                    f"{module}.{old_short}" in names
                    or reexported_by(module, old_short, names, top_root)
                )
            )

        found = star_importer_binding(root, grows, new_name)
        if found is not None:
            where, line, module = found
            raise ValueError(
                f"new_name {new_name!r}: {_shown(where, root)} line {line} binds it and"
                f" star-imports {module}, whose __all__ would list {new_name!r} too (the star"
                " import would replace that file's own); pick another new_name or rename it"
                " there first (nothing was changed)"
            )

    def __init__(
        self,
        context: CodemodContext,
        old_name: str,
        new_name: str = "",
        positional: str = "",
        rename_keywords: str = "",
        drop_keywords: str = "",
        add_keywords: str = "",
        new_positional: str = "",
    ) -> None:
        super().__init__(context)
        if unicodedata.normalize("NFKC", old_name) != old_name:
            plain = unicodedata.normalize("NFKC", old_name)
            raise ValueError(
                f"old_name is {plain!r} to Python, spelled another way: give it as that"
            )
        if "." not in old_name:
            raise ValueError("old_name must be qualified, like package.module.function")
        if new_name and (not new_name.isidentifier() or iskeyword(new_name)):
            raise ValueError(
                f"new_name must be the function's new name in the same module, not {new_name!r}"
            )
        new_name = unicodedata.normalize("NFKC", new_name)
        self.old_name = old_name
        self.old_module, _, self.old_short = old_name.rpartition(".")
        if new_name == self.old_short:
            raise ValueError(f"new_name is the name it already has: {new_name!r}")
        self.new_short = new_name or self.old_short
        self.positional = _identifiers("positional", _names(positional))
        self.renames = _pairs(rename_keywords)
        _identifiers("rename_keywords", [*self.renames, *self.renames.values()])
        self.drops = set(_identifiers("drop_keywords", _names(drop_keywords)))
        self.adds = {k: _expression(k, v) for k, v in _pairs(add_keywords).items()}
        _identifiers("add_keywords", list(self.adds))
        self.new_positional = _identifiers("new_positional", _names(new_positional))
        # After the migration each keyword must be given once: a name a positional argument
        # becomes and a name a rename gives may not meet (fetch(url=2, url=3)).
        after = [self.renames.get(n, n) for n in self.positional] + [
            v for k, v in self.renames.items() if k not in self.positional
        ]
        twice = sorted({n for n in after if after.count(n) > 1})
        if twice:
            raise ValueError(
                f"positional and rename_keywords would give {', '.join(twice)} twice in a call"
            )
        own_root = root_of(context.full_module_name, context.filename)
        start = lookup_start(context.full_module_name, context.filename)
        top = old_name.split(".")[0]
        self.root = package_root(top, start) or own_root
        self.own_name = name_below(self.root, top, context.full_module_name, context.filename)
        """This file's module name as importers of the function spell it."""
        self.package = package_of(self.own_name, context.filename)
        self.names = set(reexports(old_name, self.root))
        """Every dotted name of the function: its own and its re-exports."""
        self.modules = {n.rpartition(".")[0] for n in self.names}
        self._changes_args = any(
            (self.positional, self.renames, self.drops, self.adds, self.new_positional)
        )
        self._star = False
        """The file star-imports the function's module: a free ``fetch`` may be it."""
        self._reexporting = False
        """The file re-exports the function (a star import or ``from X import fetch``) and
        can re-export the new one too: its ``__all__`` lists both."""
        self._not_values: set[int] = set()
        """ids of the references that are not the function used as a value (callees, defs)."""
        self._definitions: set[int] = set()
        """ids of the names that ``def`` and ``class`` statements bind."""
        self._here = self.own_name == self.old_module
        """This file is the function's own module, where calls name its global binding."""
        self._spelled: set[str] = {self.old_short, *self.old_module.split(".")}
        """The names this file must not spell another way."""
        if self.new_positional and self.new_short == self.old_short:
            raise ValueError(
                "reordering positional parameters needs a new_name: otherwise a second run "
                "could not tell migrated calls from old ones and would swap them back"
            )
        # a keyword a migrated call has that the migration also acts on: a second run could
        # not tell migrated calls from old ones (renamed again, dropped, or given twice)
        given = set(self.renames.values()) | set(self.adds)
        acted_on = set(self.renames) | self.drops
        again = sorted(given & acted_on)
        if again and self.new_short == self.old_short:
            raise ValueError(
                f"a migrated call has {', '.join(again)}, which the migration also renames or"
                " drops: that needs a new_name, otherwise a second run could not tell migrated"
                " calls from old ones and would migrate them again"
            )

    def _absolute(self, name: str) -> str:
        """A qualified name as a full dotted one; in the function's own module a bare
        ``fetch`` (its global binding) is ``pkg.client.fetch``."""
        return absolute(name, self.old_module if self._here else None, self.package)

    def _refers(self, node: cst.CSTNode) -> bool:
        if id(node) in self._definitions:
            return False  # ``def fetch``: the function itself, which the migration keeps
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return any(self._absolute(qn.name) in self.names for qn in names)

    def _ambiguous(self, node: cst.CSTNode) -> bool:
        """It may also be another binding (a fallback ``def`` after a failed import, a
        ``global`` rebinding), which takes the old arguments, or keeps the old name."""
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return any(self._absolute(qn.name) not in self.names for qn in names)

    def _untouched(self, original: cst.Call, updated: cst.Call, why: str) -> cst.Call:
        """Leave a call as written; with a rename, leave the file (its import would go)."""
        line = self.get_metadata(PositionProvider, original).start.line
        message = f"line {line}: a call to {self.old_name} left as written: {why}"
        if self.new_short != self.old_short:
            raise SkipFile(message + "; the file is left unchanged")
        self.warn(message)
        return updated

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if self.new_short == self.old_short or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        source = import_from_module(updated_node, self.package)
        if f"{source}.{self.old_short}" not in self.names:
            return updated_node
        self._refuse_if_lacking(source, original_node)
        imported = {cst.helpers.get_full_name_for_node(a.name) for a in updated_node.names}
        names: list[cst.ImportAlias] = []
        for alias in updated_node.names:
            if not (isinstance(alias.name, cst.Name) and alias.name.value == self.old_short):
                names.append(alias)
            elif alias.asname is None and self._reexports(original_node):
                # others may import the old name from here: it stays, the new one joins it
                names.append(
                    alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                )
                if self.new_short not in imported:
                    names.append(cst.ImportAlias(name=cst.Name(self.new_short)))
            elif alias.asname is None and self.new_short in imported:
                continue  # the new name is imported here already: once is enough
            else:
                names.append(alias.with_changes(name=cst.Name(self.new_short)))
        names[-1] = names[-1].with_changes(comma=updated_node.names[-1].comma)
        return updated_node.with_changes(names=names)

    def _refuse_if_lacking(self, module: str | None, node: cst.CSTNode) -> None:
        """``from pkg.star import fetch`` becomes ``... import get`` only where ``pkg.star``
        will have ``get``: its star import must bring it as it brings ``fetch``."""
        if module is None or self.root is None or self.new_short == self.old_short:
            return
        why = star_lacks(module, self.old_short, self.new_short, self.root)
        if why is not None:
            line = self.get_metadata(PositionProvider, node).start.line
            raise SkipFile(f"line {line}: {why}; the file is left unchanged")

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        """A module that re-exports the function and lists it in ``__all__`` lists the new
        name beside it, so that a star import of it brings both."""
        if (
            self.new_short == self.old_short
            or not self._reexporting
            or not m.matches(updated_node, m.Assign(targets=[m.AssignTarget(m.Name("__all__"))]))
            or not isinstance(updated_node.value, cst.List | cst.Tuple)
        ):
            return updated_node
        value = updated_node.value
        listed = [
            e.value.evaluated_value for e in value.elements if isinstance(e.value, cst.SimpleString)
        ]
        if self.old_short not in listed or self.new_short in listed:
            return updated_node
        elements: list[cst.BaseElement] = []
        for element in value.elements:
            elements.append(element)
            v = element.value
            if isinstance(v, cst.SimpleString) and v.evaluated_value == self.old_short:
                comma = element.comma
                elements[-1] = element.with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
                added = v.with_changes(value=v.prefix + v.quote + self.new_short + v.quote)
                elements.append(cst.Element(added, comma=comma))
        return updated_node.with_changes(value=value.with_changes(elements=elements))

    def _reexports(self, node: cst.ImportFrom) -> bool:
        """This import is there for other modules too: a package's ``__init__``, a module
        another file imports the name from, or one that never uses it itself."""
        context = self.context
        if is_package_init(context.filename) or name_imported_by_others(
            self.own_name, self.old_short, context.filename
        ):
            return True
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return False
        return not any(
            a.references
            for a in scope.assignments[self.old_short]
            if isinstance(a, ImportAssignment) and a.node is node
        )

    def visit_Name(self, node: cst.Name) -> None:
        refuse_other_spelling(node.value, self._spelled)

    def visit_Module(self, node: cst.Module) -> None:
        self.names = follow_reexports(node, self.old_short, self.package, self.names, self.root)
        self.modules = {n.rpartition(".")[0] for n in self.names}
        self._star = any(
            import_from_module(cst.ensure_type(star, cst.ImportFrom), self.package) in self.modules
            for star in m.findall(node, m.ImportFrom(names=m.ImportStar()))
        )
        own = self.own_name
        self._reexporting = bool(
            own
            and self.root is not None
            and own != self.old_module
            and not star_lacks(own, self.old_short, self.new_short, self.root)
            and (
                self._star
                or any(
                    f"{import_from_module(cst.ensure_type(i, cst.ImportFrom), self.package)}"
                    f".{self.old_short}" in self.names
                    for i in m.findall(node, m.ImportFrom())
                )
            )
        )

    def visit_Call(self, node: cst.Call) -> None:
        self._not_values.add(id(node.func))
        func = node.func
        if (
            self._star
            and isinstance(func, cst.Name)
            and func.value == self.old_short
            and not self.get_metadata(QualifiedNameProvider, func, set())
        ):
            line = self.get_metadata(PositionProvider, node).start.line
            self.warn(
                f"line {line}: {self.old_short} may come from the star import of "
                f"{self.old_module}: not migrated"
            )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._not_values.add(id(node.name))
        self._definitions.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._not_values.add(id(node.name))
        self._definitions.add(id(node.name))

    def visit_Import(self, node: cst.Import) -> bool:
        self._refuse_other_spellings(node)
        return False  # an import names the function; it does not use it as a value

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self._refuse_other_spellings(node)
        return False

    def _refuse_other_spellings(self, node: cst.Import | cst.ImportFrom) -> None:
        """The names of an import whose children the visit skips."""
        for name in m.findall(node, m.Name()):
            refuse_other_spelling(cst.ensure_type(name, cst.Name).value, self._spelled)

    def _used_as_value(self, node: cst.Name | cst.Attribute) -> None:
        """``f = fetch`` or ``map(fetch, urls)``: calls through it keep the old arguments."""
        if id(node) in self._not_values or not self._changes_args:
            return
        line = self.get_metadata(PositionProvider, node).start.line
        message = (
            f"line {line}: {self.old_name} used as a value, not called: "
            "calls through it are not migrated"
        )
        if self.new_short != self.old_short and not self._here:
            # renamed, it would be the new function called with the old arguments
            raise SkipFile(message + "; the file is left unchanged")
        self.warn(message)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old_short and self._refers(original_node):
            self._used_as_value(original_node)
            if self._here and id(original_node) not in self._not_values:
                return updated_node  # the function stays defined here: a value keeps it
            if self.new_short != self.old_short:
                if self._ambiguous(original_node):
                    line = self.get_metadata(PositionProvider, original_node).start.line
                    raise SkipFile(
                        f"line {line}: {self.old_short} may also be another function here;"
                        " the file is left unchanged"
                    )
                self._refuse_if_taken(original_node)
                return updated_node.with_changes(value=self.new_short)
        return updated_node

    def _refuse_if_taken(self, node: cst.Name) -> None:
        """new_name must not already mean something else where the function is called by its
        bare name (a local ``get = "x"`` would be called instead)."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or not scope[self.new_short]:
            return
        meant = scope.get_qualified_names_for(self.new_short)
        # resolved as absolute names, like the references are
        wanted = {f"{module}.{self.new_short}" for module in self.modules}
        if meant and all(self._absolute(q.name) in wanted for q in meant):
            return  # it is the new function already imported (from mylib import fetch, get)
        line = self.get_metadata(PositionProvider, node).start.line
        raise SkipFile(
            f"line {line}: {self.new_short!r} already names something else there;"
            " the file is left unchanged (pick another new_name)"
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        if original_node.attr.value == self.old_short and self._refers(original_node):
            self._used_as_value(original_node)
            if self.new_short != self.old_short:
                owner = self.get_metadata(QualifiedNameProvider, original_node.value, set())
                for qn in owner:
                    self._refuse_if_lacking(absolute(qn.name, None, self.package), original_node)
                return updated_node.with_changes(attr=cst.Name(self.new_short))
        return updated_node

    def _new_order(
        self, named: list[tuple[str | None, cst.BaseExpression]]
    ) -> list[tuple[str | None, cst.BaseExpression]]:
        """The arguments for the new signature: the leading ``new_positional`` parameters
        that are all present go by position, the others by keyword. Expressions move only
        when every one is a plain name or constant (moving a call moves when it runs);
        otherwise they keep their order and all but a matching prefix go by keyword."""
        by_name = dict(named)
        leading: list[str] = []
        for name in self.new_positional:
            if name not in by_name:
                break  # a gap: the ones after it cannot go by position
            leading.append(name)
        reordered: list[tuple[str | None, cst.BaseExpression]] = [
            (None, by_name[k]) for k in leading
        ]
        reordered += [(k, v) for k, v in named if k not in leading]
        same_order = [id(v) for _, v in reordered] == [id(v) for _, v in named]
        if same_order or all(_plain(v) for _, v in named):
            return reordered
        kept = 0
        while kept < len(named) and kept < len(leading) and named[kept][0] == leading[kept]:
            kept += 1
        kept_order: list[tuple[str | None, cst.BaseExpression]] = [
            (None, v) for _, v in named[:kept]
        ]
        return kept_order + named[kept:]

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = original_node.func
        # ``cached(c)(f)``: the outer call's callee is a call; its result is not the function.
        if not isinstance(func, cst.Name | cst.Attribute) or not self._refers(func):
            return updated_node
        if self._changes_args and self._ambiguous(func):
            return self._untouched(
                original_node, updated_node, f"{self.old_short} may also be another function here"
            )
        if self._changes_args and any(a.star for a in updated_node.args):
            return self._untouched(original_node, updated_node, "it passes *args or **kwargs")
        named: list[tuple[str | None, cst.BaseExpression]] = []
        for i, arg in enumerate(updated_node.args):
            if arg.keyword is not None:
                named.append((arg.keyword.value, arg.value))
            elif self.positional:
                if i >= len(self.positional):
                    return self._untouched(
                        original_node,
                        updated_node,
                        "more positional arguments than 'positional' names",
                    )
                named.append((self.positional[i], arg.value))
            else:
                named.append((None, arg.value))
        for key, value in named:
            if key in self.drops and not _inert(value):
                why = f"dropping {key} would no longer evaluate its value"
                return self._untouched(original_node, updated_node, why)
        named = [(self.renames.get(k, k) if k else k, v) for k, v in named if k not in self.drops]
        present = {k for k, _ in named}
        missing = [(k, v) for k, v in self.adds.items() if k not in present]
        if missing and any(k is None for k, _ in named):
            # fetch(2, 5) may already give timeout by position: fetch(2, 5, timeout=9) fails
            why = "an argument to add may already be given by position (name them: 'positional')"
            return self._untouched(original_node, updated_node, why)
        named += missing
        if self.new_positional:
            if any(k is None for k, _ in named):
                return self._untouched(
                    original_node, updated_node, "positional arguments without 'positional' names"
                )
            named = self._new_order(named)
        as_written = [(a.keyword.value if a.keyword else None, a.value) for a in updated_node.args]
        if named == as_written:
            return updated_node  # nothing to change: keep the call exactly as written
        moved = any(
            new is not old.value for (_, new), old in zip(named, updated_node.args, strict=False)
        ) or len(named) < len(updated_node.args)
        commented = any(
            isinstance(a.comma, cst.Comma) and m.findall(a.comma, m.Comment())
            for a in updated_node.args
        )
        if moved and commented:
            # a comment after a comma stays at its place: with the arguments moved it
            # would describe another one
            why = "a comment between its arguments would describe another argument"
            return self._untouched(original_node, updated_node, why)
        args = _laid_out([_arg(k, v) for k, v in named], updated_node)
        if _comments(args) < _comments(updated_node.args):
            why = "a comment between its arguments would be lost"
            return self._untouched(original_node, updated_node, why)
        return updated_node.with_changes(args=args)


def _laid_out(args: list[cst.Arg], call: cst.Call) -> list[cst.Arg]:
    """The new arguments laid out as the call was: the n-th comma keeps the n-th comma's
    spacing (one argument per line stays so), an added one takes the last separator's, and
    the last argument keeps the trailing comma the call had or had not. A comment after a
    comma stays after the argument it followed, never copied onto an added one."""
    old = list(call.args)
    separators = [a.comma for a in old[:-1] if isinstance(a.comma, cst.Comma)]
    trailing = old[-1].comma if old else cst.MaybeSentinel.DEFAULT
    if separators:
        between: cst.Comma = separators[-1]
    elif isinstance(trailing, cst.Comma) and isinstance(
        trailing.whitespace_after, cst.ParenthesizedWhitespace
    ):
        between = trailing.with_changes(whitespace_after=call.whitespace_before_args)
    else:
        between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    laid: list[cst.Arg] = []
    for i, arg in enumerate(args):
        if i == len(args) - 1:
            layout: cst.Comma | cst.MaybeSentinel = trailing
        else:
            layout = separators[i] if i < len(separators) else between
        said = old[i].comma if i < len(old) else cst.MaybeSentinel.DEFAULT
        laid.append(arg.with_changes(comma=_comma(layout, said)))
    return laid


def _comma(
    layout: cst.Comma | cst.MaybeSentinel, said: cst.Comma | cst.MaybeSentinel
) -> cst.Comma | cst.MaybeSentinel:
    """A comma placed as ``layout`` (the line break and indent before the next argument or
    the closing parenthesis) with the comment and blank lines of ``said``, the comma that
    followed this argument before (none for an added argument)."""
    if not isinstance(layout, cst.Comma):
        return layout
    after = layout.whitespace_after
    if not isinstance(after, cst.ParenthesizedWhitespace):
        return layout
    own = said.whitespace_after if isinstance(said, cst.Comma) else None
    if isinstance(own, cst.ParenthesizedWhitespace):
        after = after.with_changes(first_line=own.first_line, empty_lines=own.empty_lines)
    else:
        after = after.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return layout.with_changes(whitespace_after=after)


def _shown(path: Path, root: Path) -> str:
    """A path as the user gave the project: relative to its root where it can be."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
