"""Move a module: every import of it, and every reference through it, to its new name.

``import old.mod`` and ``old.mod.X`` become ``import new.place`` and ``new.place.X``; ``from
old.mod import X`` reads from ``new.place``; ``from old import mod`` becomes ``from new
import place as mod`` so the code below keeps its local name (``from old import mod, other``
is split in two, in the order the names came: ``from new import place as mod`` then ``from
old import other``; left with a warning where that would reorder the imports or lose a
comment); submodules move along; relative imports stay relative (``from .utils import x``
becomes ``from .common.text import x``) when the new place shares a package with the file,
and the moved files' own relative imports are rewritten to reach the same modules from the
new place (``from . import models`` in ``shop/utils.py`` moved to ``shop/common/text.py``
becomes ``from .. import models``). A top-level module's ``import utils`` keeps binding
``utils``, which the code below reads: ``from pkg import utils`` (``import os, pkg.utils as
utils`` in a statement that imports more). An import is added only where the file reached
the module without importing it (``import shop`` then ``shop.utils.x``). The file itself is
moved by the caller (``git mv``, or the editor's rename in a workspace run). Strings that
are exactly a dotted name under the old module (``mock.patch("shop.utils.slugify")``) are
rewritten, save a top-level module's bare name (``"utils"``) and file names
(``"utils.py"``); other strings and doctests that mention it, ``getattr(shop, "utils")`` and
its kin (``vars(shop)["utils"]``, ``mock.patch.object(shop, "utils")``), and
``__import__("shop.utils")`` (which returns the top package, read on through the old path)
are listed as warnings. Where the new top-level name already means something else in a file
(``newtop = "..."``, a parameter), the file fails with the line: ``newtop.mod.X`` would read
that.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Sequence
from keyword import iskeyword
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from shim_lsp.codemods.modules import file_in

from ._names import (
    AmbiguousPackage,
    ByString,
    NameTaken,
    absolute,
    attribute_by_string,
    concatenated_texts,
    files_importing,
    first_binding,
    import_from_module,
    lookup_start,
    name_below,
    package_of,
    package_root,
    project_package_root,
    refuse_other_spelling,
    star_binding,
)

__all__ = ["MoveModuleCommand", "NameTaken"]


def _dotted(name: str) -> cst.Attribute | cst.Name:
    expr = cst.parse_expression(name)
    assert isinstance(expr, cst.Attribute | cst.Name)
    return expr


def _imports_package(assignment: object, top: str) -> bool:
    """The binding is ``import top...``: the name is that package."""
    if not isinstance(assignment, ImportAssignment) or not isinstance(assignment.node, cst.Import):
        return False
    names = assignment.node.names
    aliased = any(
        isinstance(a.asname.name, cst.Name) and a.asname.name.value == top
        for a in names
        if a.asname is not None
    )
    plain = any(
        a.asname is None and (get_full_name_for_node(a.name) or "").split(".")[0] == top
        for a in names
    )
    return plain and not aliased


def _from(
    node: cst.ImportFrom, target: str, package: str
) -> tuple[list[cst.Dot], cst.Attribute | cst.Name | None]:
    """``from <target>`` in the style the statement had: relative stays relative when the
    target shares a package with the file, else absolute."""
    if not node.relative or not package:
        return [], _dotted(target)
    here, there = package.split("."), target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    if common == 0:
        return [], _dotted(target)
    dots = [cst.Dot() for _ in range(len(here) - common + 1)]
    rest = ".".join(there[common:])
    return dots, (_dotted(rest) if rest else None)


def module_file(name: str, root: Path) -> Path | None:
    """The file of the dotted module ``name`` in the project at ``root`` (or below it, when
    ``root`` is the folder above the project); raises ``AmbiguousPackage``."""
    base = project_package_root(name, root)
    return file_in(base, name) if base is not None else None


def _import_top_level(node: cst.ImportFrom, names: list[cst.ImportAlias]) -> cst.Import:
    """``from pkg import models as mm`` (or ``from . import models``) of a module moved to
    the top level: there is no package to import it from, so ``import models2 as mm``
    (``import models2 as models``), which binds the same local name to it."""
    last = len(names) - 1
    return cst.Import(
        names=[
            a.with_changes(comma=cst.MaybeSentinel.DEFAULT) if i == last else a
            for i, a in enumerate(names)
        ],
        semicolon=node.semicolon,
        whitespace_after_import=node.whitespace_after_from,
    )


class MoveModuleCommand(VisitorBasedCodemodCommand):
    TITLE = "Move module"
    DESCRIPTION = (
        "Move a module (old.mod -> new.place): rewrite its imports, plain and aliased, "
        "submodules included, and attribute access through it."
    )
    CHANGES_GO_TOGETHER = True
    """A file that fails holds back the others: half of it would break the imports."""
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider, ScopeProvider)

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--old_module",
            dest="old_module",
            required=True,
            help="The module's current dotted name, e.g. shop.utils.",
        )
        arg_parser.add_argument(
            "--new_module",
            dest="new_module",
            required=True,
            help="Its new dotted name, e.g. shop.common.text.",
        )

    @staticmethod
    def prefilter(old_module: str, **_args: object) -> list[str]:
        return [old_module.rsplit(".", 1)[-1]]

    @staticmethod
    def prefilter_modules(old_module: str, **_args: object) -> list[str]:
        # a moved file's relative imports change though it may never name the module
        return [old_module]

    @staticmethod
    def must_include(
        root: Path, old_module: str, new_module: str, **_args: object
    ) -> dict[Path, str]:
        """Every file that may import the module, and its own files (a package's, all of
        them) where they are still there (their relative imports change with it): an
        importer left out breaks once the file moves. A module of neither place in the
        project (``mock`` to ``unittest.mock``) stays where it is: nothing is required."""
        try:
            path = module_file(old_module, root)
            if path is None and module_file(new_module, root) is None:
                return {}
        except AmbiguousPackage:
            return {}  # refused by check_project before any file was read
        leaf = old_module.rpartition(".")[2]
        found = {
            importer: f"imports {old_module} or a package above it, so this move may change it"
            for importer in files_importing(root, {old_module}, leaf)
        }
        if path is None:
            return found  # moved already (``git mv`` first)
        if path.stem != "__init__":
            found[path] = "is the module this move renames"
            return found
        for p in sorted(path.parent.rglob("*.py*")):
            if p.suffix in (".py", ".pyi"):
                found[p] = f"is in the package this move renames ({old_module})"
        return found

    @staticmethod
    def check_project(root: Path, old_module: str, new_module: str, **_args: object) -> None:
        """Moving onto a module that exists (while the old one is still there) would merge
        two modules' importers into one."""
        new = module_file(new_module, root)
        if new is not None and module_file(old_module, root) is not None:
            raise ValueError(f"new_module {new_module} already exists ({new})")
        parent, _, name = new_module.rpartition(".")
        init = module_file(parent, root) if parent else None
        line = first_binding(init, name) if init is not None else None
        star = (
            star_binding(init, parent, name, lambda m: module_file(m, root))
            if init is not None and line is None
            else None
        )
        if init is not None and star is not None:
            where, star_line = star
            shown_star = (
                where.relative_to(root.resolve()) if where.is_relative_to(root.resolve()) else where
            )
            raise ValueError(
                f"new_module {new_module} is taken: {parent} binds {name!r} by a star import"
                f" ({shown_star} line {star_line} defines it; `{parent}.{name}` and `from"
                f" {parent} import {name}` would mean that, or the module, depending on import"
                " order); pick another new_module"
            )
        if init is not None and line is not None:
            shown = (
                init.relative_to(root.resolve()) if init.is_relative_to(root.resolve()) else init
            )
            raise ValueError(
                f"new_module {new_module} is taken: {shown} line {line} already binds {name!r}"
                f" in {parent} (`{parent}.{name}` and `from {parent} import {name}` would mean"
                " that, or the module, depending on import order); pick another new_module"
            )

    def __init__(self, context: CodemodContext, old_module: str, new_module: str) -> None:
        super().__init__(context)
        for arg, name in (("old_module", old_module), ("new_module", new_module)):
            if unicodedata.normalize("NFKC", name) != name:
                plain = unicodedata.normalize("NFKC", name)
                raise ValueError(
                    f"{arg} is {plain!r} to Python, spelled another way: give it as that"
                )
            if not all(p.isidentifier() and not iskeyword(p) for p in name.split(".")):
                raise ValueError(f"{arg} must be a dotted module name, not {name!r}")
        if new_module == old_module:
            raise ValueError(f"new_module is old_module itself: {new_module!r}")
        if new_module.startswith(old_module + "."):
            raise ValueError(f"new_module cannot be inside old_module: {new_module!r}")
        self.old = old_module
        self.new = new_module
        top = old_module.split(".")[0]
        start = lookup_start(context.full_module_name, context.filename)
        own_name = name_below(
            package_root(top, start), top, context.full_module_name, context.filename
        )
        self.package = package_of(own_name, context.filename)
        moved_here = self._moved(own_name)
        self.new_package = (
            self.package if moved_here is None else package_of(moved_here, context.filename)
        )
        """The package this file's relative imports start from once it has moved."""
        self.modules = {old_module}
        """Dotted names known to be modules: the old one and submodules this file imports."""
        self.imports_old = False
        """The file imports the old module itself somewhere (renamed in place)."""
        self.new_top = new_module.split(".")[0]
        self.checks_top = self.new_top != old_module.split(".")[0]
        """The new module's top-level name is not the old one's: it must be free."""
        self.dunder_imports: set[int] = set()
        """ids of the strings ``__import__`` reads: its result is the top package."""
        self._splits: dict[int, list[cst.ImportFrom | cst.Import]] = {}
        """ids of ``from pkg import models, other`` statements, with what replaces each."""
        self._lines: list[str] = []
        """The file's lines, to quote where a taken name is bound."""
        self._concatenated = 0
        """How deep in an implicit concatenation of strings the visit is."""
        self._spelled: set[str] = set(self.old.split("."))
        """The names this file must not spell another way."""

    def visit_Name(self, node: cst.Name) -> None:
        refuse_other_spelling(node.value, self._spelled)

    def visit_Module(self, node: cst.Module) -> None:
        self._lines = node.code.splitlines()
        for found in m.findall(node, m.Import()):
            for alias in cst.ensure_type(found, cst.Import).names:
                if alias.asname is None and self._moved(get_full_name_for_node(alias.name)):
                    self.imports_old = True

    def _moved(self, dotted: str | None) -> str | None:
        """The new name of a module at or under the old one, else None."""
        if dotted is None:
            return None
        if dotted == self.old:
            return self.new
        if dotted.startswith(self.old + "."):
            return self.new + dotted[len(self.old) :]
        return None

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = get_full_name_for_node(alias.name)
            if dotted is not None and self._moved(dotted) is not None:
                self.modules.add(dotted)

    def _refuse_if_taken(self, node: cst.CSTNode) -> None:
        """``import newtop.mod`` or ``newtop.mod.X`` written where ``newtop`` already means
        something other than that package (``newtop = "..."``, a parameter): the file
        fails, with the line."""
        if not self.checks_top:
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return
        for assignment in scope[self.new_top]:
            if _imports_package(assignment, self.new_top):
                continue
            line = self.get_metadata(PositionProvider, node).start.line
            where = Path(self.context.filename).name if self.context.filename else "this file"
            bound = ""
            if isinstance(assignment, Assignment):
                at = self.get_metadata(PositionProvider, assignment.node, None)
                if at is not None:
                    text = self._lines[at.start.line - 1].strip()
                    bound = f", bound at line {at.start.line}: `{text}`"
            raise NameTaken(
                f"{where} line {line}: the moved module would be reached there as {self.new},"
                f" but {self.new_top!r} already names something else{bound}; rename that or"
                " pick another new_module (nothing was changed in this file)"
            )

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.ImportFrom:
        names = []
        for alias in updated_node.names:
            dotted = get_full_name_for_node(alias.name)
            moved = self._moved(dotted)
            if moved and alias.asname is None and dotted == self.old and "." not in self.old:
                # ``import utils`` binds ``utils``, which the code below reads: it must still
                # mean the module, now ``from pkg import utils``
                if len(updated_node.names) == 1:
                    return self._bind_as_before(updated_node)
                alias = alias.with_changes(asname=cst.AsName(name=cst.Name(self.old)))
            elif moved and alias.asname is None:
                self._refuse_if_taken(original_node)
            names.append(alias.with_changes(name=_dotted(moved)) if moved else alias)
        return updated_node.with_changes(names=names)

    def _bind_as_before(self, node: cst.Import) -> cst.Import | cst.ImportFrom:
        """``import utils`` of the moved top-level module, as a statement that binds the
        same name to it at its new place: ``from pkg import utils`` (``from pkg.common
        import text as utils``; ``import helpers as utils`` at the top level)."""
        parent, _, leaf = self.new.rpartition(".")
        asname = cst.AsName(name=cst.Name(self.old)) if leaf != self.old else None
        if not parent:
            return node.with_changes(names=[cst.ImportAlias(_dotted(self.new), asname)])
        return cst.ImportFrom(
            module=_dotted(parent),
            names=[cst.ImportAlias(cst.Name(leaf), asname)],
            whitespace_after_from=node.whitespace_after_import,
            semicolon=node.semicolon,
        )

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.Import:
        source = import_from_module(updated_node, self.package)
        moved = self._moved(source)
        if moved is not None:
            dots, module = _from(updated_node, moved, self.new_package)
            return updated_node.with_changes(module=module, relative=dots)
        if not source:
            return updated_node  # relative beyond the top-level package: not ours to judge
        if updated_node.relative and self.new_package != self.package:
            # this file moves: "from . import models" must still reach shop.models
            dots, module = _from(updated_node, source, self.new_package)
            updated_node = updated_node.with_changes(module=module, relative=dots)
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        # ``from old import mod``: each imported name may itself be the moved module.
        targets = [
            self._moved(f"{source}.{get_full_name_for_node(a.name)}") for a in updated_node.names
        ]
        if all(t is None for t in targets):
            return updated_node
        parents = {t.rpartition(".")[0] if t else None for t in targets}
        if None in parents and len(parents) == 2:
            # ``from pkg import models, other``: ``other`` stays, ``models`` moves
            split = self._split(original_node, updated_node, targets)
            if split is not None:
                self._splits[id(original_node)] = split
                return updated_node
        if len(parents) != 1:
            line = self.get_metadata(PositionProvider, original_node).start.line
            why = (
                "splitting it would reorder the imports or lose a comment"
                if None in parents
                else "it mixes moved modules"
            )
            self.warn(f"line {line}: split 'from {source} import ...' by hand: {why}")
            return updated_node
        return self._moved_names(updated_node, list(updated_node.names), targets)

    def _moved_names(
        self,
        node: cst.ImportFrom,
        aliases: Sequence[cst.ImportAlias],
        targets: Sequence[str | None],
    ) -> cst.ImportFrom | cst.Import:
        """``node`` importing ``aliases``, each a moved module, from their new package."""
        names = []
        for alias, target in zip(aliases, targets, strict=True):
            assert target is not None
            leaf = target.rpartition(".")[2]
            local = alias.asname.name if alias.asname else alias.name
            asname = None
            if isinstance(local, cst.Name) and local.value != leaf:
                asname = cst.AsName(name=cst.Name(local.value))
            names.append(alias.with_changes(name=cst.Name(leaf), asname=asname))
        parent = targets[0].rpartition(".")[0] if targets[0] else ""
        if not parent:
            return _import_top_level(node, names)
        dots, module = _from(node, parent, self.new_package)
        return node.with_changes(module=module, relative=dots, names=names)

    def _split(
        self,
        original: cst.ImportFrom,
        node: cst.ImportFrom,
        targets: list[str | None],
    ) -> list[cst.ImportFrom | cst.Import] | None:
        """The statements that replace ``from pkg import models, other``, in the order the
        names were imported (``models`` moved first when it came first); None where a split
        could change what runs or lose a comment: the moved names between others (the
        import order would change) or a comment inside the statement."""
        assert not isinstance(node.names, cst.ImportStar)
        aliases = list(node.names)
        moved = [t is not None for t in targets]
        cut = moved.index(not moved[0])
        if any(m == moved[0] for m in moved[cut:]):
            return None  # interleaved: two statements would import in another order
        if "#" in cst.Module([]).code_for_node(original):
            return None
        last_comma = aliases[-1].comma
        head = [*aliases[: cut - 1], aliases[cut - 1].with_changes(comma=last_comma)]
        tail = aliases[cut:]
        groups = [(head, targets[:cut]), (tail, targets[cut:])]
        return [
            self._moved_names(node, group, group_targets)
            if group_targets[0] is not None
            else node.with_changes(names=group)
            for group, group_targets in groups
        ]

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        """A split import becomes two lines, each with the line's trailing comment (a
        ``# noqa`` holds for both); one that shares its line with another statement is
        left, with a warning."""
        splits = [self._splits.pop(id(n), None) for n in original_node.body]
        if not any(splits):
            return updated_node
        if len(original_node.body) != 1:
            line = self.get_metadata(PositionProvider, original_node).start.line
            self.warn(
                f"line {line}: split this import by hand: it shares its line with another statement"
            )
            return updated_node
        (split,) = splits
        assert split is not None
        first, second = (s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in split)
        return cst.FlattenSentinel(
            [
                updated_node.with_changes(body=[first]),
                updated_node.with_changes(body=[second], leading_lines=[]),
            ]
        )

    def visit_Call(self, node: cst.Call) -> None:
        """Calls that read the module by a name or a relative name: reported."""
        found = attribute_by_string(
            node, lambda n: self.get_metadata(QualifiedNameProvider, n, set())
        )
        names = self.get_metadata(QualifiedNameProvider, node.func, set())
        if any(qn.name == "builtins.__import__" for qn in names) and node.args:
            self.dunder_imports.add(id(node.args[0].value))
        if any(qn.name == "importlib.import_module" for qn in names) and len(node.args) > 1:
            self._relative_import_module(node)
        self._by_string(node, found)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        found = attribute_by_string(
            node, lambda n: self.get_metadata(QualifiedNameProvider, n, set())
        )
        self._by_string(node, found)

    def _by_string(self, node: cst.CSTNode, found: ByString | None) -> None:
        """``getattr(shop, "utils")``, ``vars(shop)["utils"]``, ``mock.patch.object(shop,
        "utils")`` and their kin read the module by a name no move can follow safely:
        reported, not rewritten."""
        parent, _, leaf = self.old.rpartition(".")
        if found is None or found.name != leaf:
            return
        if any(absolute(owner, None, self.package) == parent for owner in found.owners):
            line = self.get_metadata(PositionProvider, node).start.line
            self.warn(f"line {line}: {found.spelled} names {self.old} in a string; not rewritten")

    def _relative_import_module(self, node: cst.Call) -> None:
        """``importlib.import_module(".utils", "shop")`` reads the module by a relative name
        and a package: not rewritten (the two go together), reported."""
        name, package = node.args[0].value, node.args[1].value
        if not isinstance(name, cst.SimpleString) or not isinstance(name.evaluated_value, str):
            return
        text = name.evaluated_value
        if not text.startswith("."):
            return
        if isinstance(package, cst.SimpleString) and isinstance(package.evaluated_value, str):
            resolved = absolute(text, None, package.evaluated_value)
            if self._moved(resolved) is None:
                return
        elif self.old.rpartition(".")[2] not in text.lstrip(".").split("."):
            return
        line = self.get_metadata(PositionProvider, node).start.line
        spelled = cst.Module([]).code_for_node(node)
        self.warn(f"line {line}: {spelled} may read {self.old} by a relative name; not rewritten")

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        names = self.get_metadata(QualifiedNameProvider, original_node, set())
        dotted = get_full_name_for_node(original_node)
        for qn in names:
            full = absolute(qn.name, None, self.package)
            moved = self._moved(full) if full in self.modules else None
            if moved is not None and full == dotted:
                self._refuse_if_taken(original_node)
                if not self.imports_old:
                    AddImportsVisitor.add_needed_import(self.context, moved)
                return _dotted(moved)
            if moved is not None and dotted is not None:
                # ``sub.models`` where ``from . import sub`` (or ``import pkg.sub as s``)
                # names the package above the module: the tail is rewritten below it
                head, *tail = dotted.split(".")
                parts = full.split(".")
                if not tail or parts[-len(tail) :] != tail:
                    continue
                package = ".".join(parts[: -len(tail)])
                if moved.startswith(package + "."):
                    return _dotted(f"{head}.{moved[len(package) + 1 :]}")
                self._refuse_if_taken(original_node)
                AddImportsVisitor.add_needed_import(self.context, moved)
                return _dotted(moved)
        return updated_node

    def visit_Assign(self, node: cst.Assign) -> None:
        """``s = sub`` where ``sub`` is a package above the moved module: the module read
        through ``s`` cannot be followed."""
        if not isinstance(node.value, cst.Name | cst.Attribute):
            return
        for qn in self.get_metadata(QualifiedNameProvider, node.value, set()):
            full = absolute(qn.name, None, self.package)
            if self.old.startswith(full + "."):
                line = self.get_metadata(PositionProvider, node).start.line
                self.warn(
                    f"line {line}: {full} is reached through a variable, and {self.old}"
                    " through it is not rewritten"
                )
                return

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._concatenated += 1

    def leave_ConcatenatedString(
        self, original_node: cst.ConcatenatedString, updated_node: cst.ConcatenatedString
    ) -> cst.ConcatenatedString:
        """``"pkg.models" "_legacy"``: no part is the string, so none is rewritten; one that
        mentions the module, in part or whole, is listed."""
        self._concatenated -= 1
        if self._concatenated:
            return updated_node
        texts = concatenated_texts(original_node)
        mention = re.compile(rf"(?<![\w.]){re.escape(self.old)}\b")
        if any(mention.search(text) for text in texts):
            line = self.get_metadata(PositionProvider, original_node).start.line
            self.warn(f"line {line}: a string mentions {self.old}; not rewritten")
        return updated_node

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        text = updated_node.evaluated_value
        if not isinstance(text, str) or self.old not in text or self._concatenated:
            return updated_node
        moved = self._moved(text)
        if moved is not None and id(original_node) in self.dunder_imports:
            line = self.get_metadata(PositionProvider, original_node).start.line
            self.warn(
                f"line {line}: __import__({text!r}) left as written: the attributes read from"
                " what it returns would still follow the old path"
            )
            return updated_node
        if moved is not None and _not_a_module_name(self.old, text):
            moved = None
        if moved is not None and updated_node.raw_value == text:
            q = updated_node.quote
            return updated_node.with_changes(value=updated_node.prefix + q + moved + q)
        if re.search(rf"(?<![\w.]){re.escape(self.old)}\b", text):
            line = self.get_metadata(PositionProvider, original_node).start.line
            self.warn(f"line {line}: a string mentions {self.old}; not rewritten")
        return updated_node


_FILE_SUFFIXES = frozenset({"py", "pyi", "pyc", "pyo", "pyx", "pyd", "so"})


def _not_a_module_name(old: str, text: str) -> bool:
    """A string under the old name that may well mean something else: a top-level module's
    bare name (``"utils"``: a logger's name, a key) or a file name (``"utils.py"``)."""
    if text == old:
        return "." not in old
    return text.rpartition(".")[2] in _FILE_SUFFIXES
