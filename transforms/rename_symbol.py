"""Rename a module-level symbol by its qualified name, across the workspace, scope-aware.

In the module that defines it: the definition and every reference to that global binding
(a parameter or local of the same name is a different binding and is left alone). In other
modules: imports of it (aliases kept), references through the module
(``mod.Thing``, ``pkg.mod.Thing``), re-exports in ``__all__``, and string annotations.
Names are compared by what they refer to, so relative imports and aliases are followed, and
so are re-exports: when ``pkg/__init__.py`` has ``from .mod import Thing`` (or ``*``), then
``pkg.Thing`` and ``from pkg import Thing`` are renamed too, since that ``__init__`` is.
``global Thing`` follows, and so does a ``Thing`` that only a star import of its module can
bind (with two star imports it may come from the other: a warning).
Strings that are exactly a dotted name of the symbol (``mock.patch("pkg.mod.Thing")``,
``"pkg.mod.Thing.method"``) are rewritten; other strings and doctests that mention it, and
``getattr(mod, "Thing")`` (or ``hasattr``, ``setattr``, ``delattr``) on its module, and
lookups by name (``"Thing"`` where the file's ``Thing`` is the symbol, as in
``globals()["Thing"]`` or Django's ``ForeignKey("Thing")``, and labels like ``"app.Thing"``)
are listed as warnings, not rewritten. Where the new name already means something (a local
variable, a parameter, another import), the file fails with the line: renaming there would
change which object the code uses. Where an importer binds the name twice (a ``try``/``except
ImportError`` fallback, a local class of that name), its import keeps the name (``from
pkg.mod import New as Thing``) and the references stay; a module that imports the symbol under
its name and binds it nowhere else re-exports it (``compat.py``). A module reached through a
variable or ``importlib`` is reported; a name below a class (``pkg.mod.Thing.method``) is
refused. A module that star-imports the symbol's (``star.py``: ``from pkg.mod import *``) is
followed like ``compat.py``; the file fails where that star import may not be what binds the
name, where a module bound by a fallback import (``impl``) may be another's, and where a
re-exporting module already binds the new name.
"""

from __future__ import annotations

import argparse
import builtins
import re
import unicodedata
from functools import lru_cache
from keyword import iskeyword
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    ScopeProvider,
)

from shim_lsp.codemods.modules import file_in

from ._names import (
    AmbiguousPackage,
    NameTaken,
    absolute,
    all_built_in_steps,
    attribute_by_string,
    bound_line,
    concatenated_texts,
    files_importing,
    first_binding,
    follow_reexports,
    has_literal_all,
    import_from_module,
    import_statements,
    imported_modules,
    line_of,
    lookup_start,
    name_below,
    package_of,
    package_root,
    project_package_root,
    qualified_names,
    reexport_source,
    reexported_by,
    reexports,
    refuse_other_spelling,
    root_of,
    star_doubt,
    star_reexports,
    star_rivals,
)


class RenameSymbolCommand(VisitorBasedCodemodCommand):
    TITLE = "Rename symbol"
    DESCRIPTION = (
        "Rename a symbol by qualified name (pkg.mod.Thing -> NewName) across the workspace: "
        "definition, imports, references, __all__ and string annotations, scope-aware."
    )
    CHANGES_GO_TOGETHER = True
    """A file that fails holds back the others: half of it would break the imports."""
    METADATA_DEPENDENCIES = (ScopeProvider,)
    """Qualified names are asked of the scope, and positions computed, only where needed
    (``qualified_names``, ``line_of``): each provider visits every node of the file."""

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--old_name",
            dest="old_name",
            required=True,
            help="Qualified name of the symbol, e.g. pkg.models.User.",
        )
        arg_parser.add_argument(
            "--new_name", dest="new_name", required=True, help="Its new name, e.g. Account."
        )

    @staticmethod
    def check_project(root: Path, old_name: str, new_name: str, **_args: object) -> None:
        """Before any file is read: a name below a class, where the project shows it; a
        package that re-exports the symbol and already binds the new name (the two would
        shadow each other there, whichever comes last)."""
        top_root = project_package_root(old_name, root)
        _refuse_below_a_module(old_name, top_root)
        module, _, short = old_name.rpartition(".")
        top = old_name.split(".")[0]
        namespace = top_root is not None and not any(
            (top_root / top / init).is_file() for init in ("__init__.py", "__init__.pyi")
        )
        if top_root is None or (namespace and file_in(top_root, module) is None):
            # not the project's (or another portion of a namespace package): its importers
            # alone would be renamed, and broken
            importers = files_importing(root, {module}, short)
            if importers:
                raise ValueError(
                    f"the project does not hold {module}, yet"
                    f" {_shown(importers[0], root)} imports {old_name}: renaming its importers"
                    " alone would break them (a library's name cannot be renamed here; for"
                    " calls to it use migrate_call) (nothing was changed)"
                )
            return
        source = reexport_source(old_name, top_root)
        if source is not None:
            raise ValueError(
                f"old_name {old_name} is a re-export of {source}: rename that (nothing was changed)"
            )
        names = reexports(old_name, top_root)
        for module in sorted({n.rpartition(".")[0] for n in names}):
            path = file_in(top_root, module)
            line = all_built_in_steps(path) if path is not None else None
            if path is not None and line is not None:
                raise ValueError(
                    f"{_shown(path, root)} line {line} builds __all__ in steps, which the"
                    f" rename cannot follow (what a star import of {module} brings);"
                    " rename it by hand or make __all__ one list (nothing was changed)"
                )
        for module in sorted({n.rpartition(".")[0] for n in names - {old_name}}):
            sub = _submodule(top_root, module, short)
            if sub is not None:
                raise ValueError(
                    f"{module} re-exports {old_name} as {short}, and {module}.{short} is also a"
                    f" submodule ({_shown(sub, root)}): which one {module}.{short} means depends"
                    " on what was imported before, which the rename cannot tell; rename by"
                    " hand (nothing was changed)"
                )
        for module in sorted({n.rpartition(".")[0] for n in names}):
            sub = _submodule(top_root, module, new_name)
            if sub is not None:
                raise ValueError(
                    f"new_name {new_name!r} is taken: {module}.{new_name} is a submodule"
                    f" ({_shown(sub, root)}), and {module} would bind {old_name} under that"
                    " name too; pick another new_name (nothing was changed)"
                )
        for package, source, name in star_rivals(old_name, new_name, top_root):
            means = f"{package}.{name} means whichever comes last" + (
                "" if name == new_name else f", which may not be {old_name}"
            )
            raise ValueError(
                f"{package} star-imports {source} too, which binds {name!r}: {means}, before"
                " or after the rename; re-export the symbol by name, or rename by hand"
                " (nothing was changed)"
            )
        if new_name.startswith("_"):
            for package, source in star_reexports(old_name, top_root):
                raise ValueError(
                    f"new_name {new_name!r} is private: {package} re-exports {old_name} by"
                    f" a star import of {source}, which does not export names starting with"
                    " '_'; pick a public new_name or re-export it by name (nothing was"
                    " changed)"
                )
        for name in sorted(names - {old_name}):
            module = name.rpartition(".")[0]
            taken = bound_line(top_root, module, new_name)
            if taken is not None:
                path, line = taken
                raise ValueError(
                    f"new_name {new_name!r} is taken: {_shown(path, root)} line {line} binds"
                    f" it, and {module} re-exports {old_name} too; pick another new_name"
                    " (nothing was changed)"
                )

    @staticmethod
    def mentions_outside_python(
        root: Path, old_name: str, **_args: object
    ) -> dict[Path, list[str]]:
        """Entry points in the project's packaging files (``pyproject.toml``'s
        ``[project.scripts]``, ``setup.cfg``'s ``console_scripts``) naming the symbol as
        ``module:Name``: installed scripts would break, and no codemod rewrites them."""
        try:
            top_root = project_package_root(old_name, root)
        except AmbiguousPackage:
            return {}
        names = reexports(old_name, top_root) if top_root is not None else {old_name}
        spelled = entry_points(frozenset(names), old_name.rpartition(".")[2])
        found: dict[Path, list[str]] = {}
        for name in ("pyproject.toml", "setup.cfg"):
            try:
                text = (root / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if spelled.search(line):
                    found.setdefault(root / name, []).append(
                        f"line {number}: an entry point names {old_name}; not rewritten"
                    )
        return found

    @staticmethod
    def must_include(root: Path, old_name: str, **_args: object) -> dict[Path, str]:
        """The file defining the symbol, where the project has it, and every file that may
        import it: a run over the importers alone (``tests/``) would leave them importing a
        name that no longer exists, one over the definition alone would break the others."""
        module, _, short = old_name.rpartition(".")
        try:
            top_root = project_package_root(old_name, root)
        except AmbiguousPackage:
            return {}  # refused by check_project before any file was read
        path = file_in(top_root, module) if top_root is not None else None
        if path is None:
            return {}
        modules = {n.rpartition(".")[0] for n in reexports(old_name, top_root)}
        found = {
            importer: f"imports {module} or a package above it and names {short}, so this"
            " rename may change it"
            for importer in files_importing(root, modules, short)
        }
        found[path] = f"defines {old_name}, which this rename changes with its importers"
        return found

    @staticmethod
    def prefilter(old_name: str, **_args: object) -> list[str]:
        # a star importer of the symbol's module may bind the new name without naming it
        return [old_name.rsplit(".", 1)[-1], "import *", "import*"]

    def __init__(self, context: CodemodContext, old_name: str, new_name: str) -> None:
        super().__init__(context)
        # Python reads identifiers NFKC-normalised: a fullwidth "fetch" is "fetch".
        new_name = unicodedata.normalize("NFKC", new_name)
        if unicodedata.normalize("NFKC", old_name) != old_name:
            plain = unicodedata.normalize("NFKC", old_name)
            raise ValueError(
                f"old_name is {plain!r} to Python, spelled another way: give it as that"
            )
        if "." not in old_name:
            raise ValueError("old_name must be qualified, like package.module.Name")
        if not all(part.isidentifier() and not iskeyword(part) for part in old_name.split(".")):
            raise ValueError(f"old_name must be a dotted name like pkg.mod.Name, not {old_name!r}")
        if not new_name.isidentifier() or iskeyword(new_name):
            raise ValueError(f"new_name must be a plain identifier, not {new_name!r}")
        if new_name == "__builtins__":
            # a module global Python itself reads: every builtin lookup would go through it
            raise ValueError("new_name cannot be '__builtins__', where Python finds builtins")
        if new_name == old_name.rpartition(".")[2]:
            raise ValueError(f"new_name is the name it already has: {new_name!r}")
        self.old_name = old_name
        self.target_module, _, self.short = old_name.rpartition(".")
        self.new = new_name
        self.current_module = context.full_module_name
        self.package = package_of(self.current_module, context.filename)
        own_root = root_of(self.current_module, context.filename)
        top = old_name.split(".")[0]
        start = lookup_start(self.current_module, context.filename)
        self.root = package_root(top, start) or own_root
        _refuse_below_a_module(old_name, package_root(top, own_root or Path.cwd()))
        self.current_module = name_below(self.root, top, self.current_module, context.filename)
        self.package = package_of(self.current_module, context.filename)
        self.names = set(reexports(old_name, self.root))
        """Every dotted name of the symbol: its own, its packages' re-exports, and the
        modules this file imports that re-export it."""
        self.modules = {n.rpartition(".")[0] for n in self.names}
        self.here = self.current_module == self.target_module
        self.bound_here = self.here
        """True when this file's global ``short`` means the symbol (defined or imported)."""
        self.star_source: str | None = None
        """The symbol's module (or a package re-exporting it) that a star import reads."""
        self.star_alone = False
        """That star import is the file's only one."""
        self._concatenated = 0
        """How deep in an implicit concatenation of strings the visit is."""
        self._explained: set[cst.CSTNode] = set()
        """Strings already reported (``getattr(models, "User")``), not to be reported twice."""
        self.module_aliases: set[str] = set()
        """Local spellings of the symbol's module (``m``, ``pkg.mod``), for string annotations."""
        self._spelled: set[str] = {self.short, *self.target_module.split(".")}
        """The names this file must not spell another way."""

    def visit_Name(self, node: cst.Name) -> None:
        refuse_other_spelling(node.value, self._spelled)

    def visit_Module(self, node: cst.Module) -> None:
        stars = [
            import_from_module(cst.ensure_type(star, cst.ImportFrom), self.package)
            for star in import_statements(node)
            if isinstance(star, cst.ImportFrom) and isinstance(star.names, cst.ImportStar)
        ]
        before = self.names
        if self.root is not None:
            # ``from pkg.star import *`` where star.py star-imports the symbol's module
            frozen = frozenset(self.names)
            self.names = self.names | {
                f"{s}.{self.short}"
                for s in stars
                if s and s not in self.modules and reexported_by(s, self.short, frozen, self.root)
            }
            self.modules = {n.rpartition(".")[0] for n in self.names}
        self.star_source = next((s for s in stars if s in self.modules), None)
        self.star_alone = len(stars) == 1
        scope = self.get_metadata(ScopeProvider, node, None)
        if self.star_source is not None and not self.here:
            self._refuse_star_changes(node, self.star_source, scope)
        if self.star_source and self.star_alone and scope is not None and not scope[self.short]:
            self.bound_here = True  # nothing else binds the name: the star import does
        bindings = scope.assignments[self.short] if scope is not None else set()
        if (
            self.here
            and len(bindings) > 1
            and any(isinstance(a, ImportAssignment) for a in bindings)
        ):
            line = min(line_of(self, a.node) for a in bindings if isinstance(a, Assignment))
            raise NameTaken(
                f"line {line}: {self.short!r} is bound more than once in its own module, by an"
                " import too (a fallback?); rename it by hand (nothing was changed in this file)"
            )
        # compat.py's ``from pkg.mod import Thing`` re-exports it: ``compat.Thing`` follows
        self.names = follow_reexports(node, self.short, self.package, self.names, self.root)
        self.modules = {n.rpartition(".")[0] for n in self.names}
        if self.root is None:
            return
        frozen = frozenset(self.names)
        for module in sorted(imported_modules(node, self.short, self.package) - self.modules):
            doubt = star_doubt(module, self.short, frozen, self.root)
            if doubt is not None:
                raise NameTaken(f"{doubt}; rename it by hand (nothing was changed in this file)")
        for name in sorted(self.names - before):
            module = name.rpartition(".")[0]
            taken = bound_line(self.root, module, self.new)
            if taken is not None:
                raise NameTaken(
                    f"{module} re-exports {self.old_name} and already binds {self.new!r}"
                    f" ({_shown(taken[0], self.root)} line {taken[1]}); pick another new_name"
                    " (nothing was changed in this file)"
                )

    def _refuse_star_changes(
        self, node: cst.Module, source: str, scope: cst.metadata.Scope | None
    ) -> None:
        """``from pkg import *`` of the symbol's module: after the rename it binds the new
        name (over the file's own one), and a private new name it does not bind at all."""
        if self.new.startswith("_") and self.root is not None:
            if not has_literal_all(source, self.root):
                raise NameTaken(
                    f"the star import of {source} does not bring a private name like"
                    f" {self.new!r} (it has no __all__); pick a public new_name (nothing was"
                    " changed in this file)"
                )
            return
        bindings = scope.assignments[self.new] if scope is not None else set()
        own = [a for a in bindings if isinstance(a, Assignment)]
        if own:
            line = min(line_of(self, a.node) for a in own)
            raise NameTaken(
                f"line {line}: {self.new!r} is bound here, and the star import of {source}"
                f" would bind it too after the rename; pick another new_name (nothing was"
                " changed in this file)"
            )
        # a read that nothing here binds: with this star import alone it reads the symbol's
        # module already (a second run), unless a builtin or another star import binds it
        if self.star_alone and not hasattr(builtins, self.new):
            return
        read = self._read_unbound(node, self.new)
        if read is not None:
            raise NameTaken(
                f"line {line_of(self, read)}: {self.new!r} is read here and nothing in the file"
                f" binds it (another star import or a builtin may), and the star import of"
                f" {source} would bind it after the rename; pick another new_name (nothing was"
                " changed in this file)"
            )

    def _read_unbound(self, node: cst.Module, name: str) -> cst.Name | None:
        """The first read of ``name`` that no binding in the file resolves."""
        for found in m.findall(node, m.Name(name)):
            scope = self.get_metadata(ScopeProvider, found, None)
            if scope is None or scope[name]:
                continue
            if any(access.node is found for access in scope.accesses[name]):
                return cst.ensure_type(found, cst.Name)
        return None

    def _from_star(self, node: cst.Name) -> bool:
        """``User`` that nothing in the file binds, read where a star import of the symbol's
        module is the only one that could bind it."""
        if self.star_source is None:
            return False
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or scope[node.value]:
            return False
        if not any(access.node is node for access in scope.accesses[node.value]):
            return False  # an attribute's name or a keyword, not a read of the name
        if not self.star_alone:
            # left as it is, it would name nothing once the definition is renamed
            raise NameTaken(
                f"line {line_of(self, node)}: {self.short!r} may come from the star import of"
                f" {self.star_source} or another, which the rename cannot tell apart; import it"
                " by name, or rename by hand (nothing was changed in this file)"
            )
        return True

    def _means_symbol(self, node: cst.CSTNode) -> bool:
        names = qualified_names(self, node)
        module = self.current_module if self.here else None
        return any(absolute(qn.name, module, self.package) in self.names for qn in names)

    # --- imports --------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = cst.helpers.get_full_name_for_node(alias.name)
            if dotted in self.modules:
                local = alias.asname.name if alias.asname else None
                self.module_aliases.add(
                    local.value if isinstance(local, cst.Name) else self.target_module
                )

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        source = import_from_module(updated_node, self.package)
        if source is not None:
            for alias in updated_node.names:
                name = cst.helpers.get_full_name_for_node(alias.name)
                if source + "." + str(name) in self.modules:
                    local = alias.asname.name if alias.asname else alias.name
                    if isinstance(local, cst.Name):
                        self.module_aliases.add(local.value)
        if source not in self.modules or f"{source}.{self.short}" not in self.names:
            return updated_node
        names = []
        for alias in updated_node.names:
            if isinstance(alias.name, cst.Name) and alias.name.value == self.short:
                if alias.asname is None and self._bound_twice(original_node):
                    # another import or definition may provide the name: keep it
                    alias = alias.with_changes(
                        name=cst.Name(self.new), asname=cst.AsName(name=cst.Name(self.short))
                    )
                    names.append(alias)
                    continue
                if alias.asname is None:
                    self.bound_here = True
                    self._refuse_if_taken(original_node)
                elif m.matches(
                    alias.asname, m.AsName(name=m.Name(self.short))
                ) and not self._bound_twice(original_node):
                    # ``User as User``, the explicit re-export of stubs and typed packages:
                    # its readers are renamed, so the name it exports is too
                    self.bound_here = True
                    self._refuse_if_taken(original_node)
                    exported = alias.asname.with_changes(name=cst.Name(self.new))
                    alias = alias.with_changes(asname=exported)
                alias = alias.with_changes(name=cst.Name(self.new))
            names.append(alias)
        return updated_node.with_changes(names=names)

    # --- references -----------------------------------------------------------------------

    def _bound_twice(self, node: cst.CSTNode) -> bool:
        """The symbol's name is bound more than once in the scope of ``node``'s import."""
        scope = self.get_metadata(ScopeProvider, node, None)
        return scope is not None and len(scope.assignments[self.short]) > 1

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value != self.short:
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node, None)
        if not self.here and scope is not None and len(scope[self.short]) > 1:
            return updated_node  # the import keeps this name (``import New as Old``)
        if self._means_symbol(original_node) or self._from_star(original_node):
            self._refuse_if_taken(original_node)
            return updated_node.with_changes(value=self.new)
        return updated_node

    def leave_Global(self, original_node: cst.Global, updated_node: cst.Global) -> cst.Global:
        """``global User`` where the module's ``User`` is the symbol: renamed with the
        references below it, or an assignment there would make a local."""
        if not self.bound_here:
            return updated_node
        return updated_node.with_changes(
            names=[
                item.with_changes(name=cst.Name(self.new))
                if item.name.value == self.short
                else item
                for item in updated_node.names
            ]
        )

    def _refuse_if_taken(self, node: cst.CSTNode) -> None:
        """The new name must not already mean something where the symbol is renamed (a local
        ``chunks = chunked(...)`` would become ``chunks = chunks(...)``)."""
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or not scope[self.new]:
            return
        line = line_of(self, node)
        bound = sorted(line_of(self, a.node) for a in scope[self.new] if isinstance(a, Assignment))
        where = " (a builtin)"
        if bound:
            text = self.module.code.splitlines()[bound[0] - 1].strip()
            where = f", bound at line {bound[0]}: `{text}`"
        raise NameTaken(
            f"line {line}: {self.new!r} already names something else there{where}; "
            "pick another new_name (nothing was changed in this file)"
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        if original_node.attr.value == self.short and self._means_symbol(original_node):
            self._refuse_if_ambiguous(original_node)
            return updated_node.with_changes(attr=cst.Name(self.new))
        return updated_node

    def _refuse_if_ambiguous(self, node: cst.Attribute) -> None:
        """``impl.Thing`` where ``impl`` is bound by more than one import (``try: import
        fast as impl`` / ``except ImportError: import pkg.mod as impl``): renaming it would
        break the other module's ``Thing``, keeping it would break this one's."""
        qualified = qualified_names(self, node)
        module = self.current_module if self.here else None
        others = sorted(
            qn.name for qn in qualified if absolute(qn.name, module, self.package) not in self.names
        )
        if not others:
            return
        line = line_of(self, node)
        spelled = cst.Module([]).code_for_node(node)
        raise NameTaken(
            f"line {line}: {spelled} may also be {', '.join(others)} (its module is bound more"
            " than once, a fallback import?); rename it by hand (nothing was changed in this"
            " file)"
        )

    def _unfollowed(self, node: cst.CSTNode, how: str) -> None:
        line = line_of(self, node)
        self.warn(f"line {line}: {how}; its {self.short} is not rewritten")

    def visit_Call(self, node: cst.Call) -> None:
        """``importlib.import_module("pkg.mod")``, whose result no rename follows, is
        reported; so are attributes reached by a string (``_by_string``)."""
        names = qualified_names(self, node.func)
        if node.args and any(qn.name == "importlib.import_module" for qn in names):
            first = node.args[0].value
            if isinstance(first, cst.SimpleString) and first.evaluated_value in self.modules:
                self._unfollowed(node, f"{first.evaluated_value} is reached through importlib")
        self._by_string(node)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self._by_string(node)

    def _by_string(self, node: cst.Call | cst.Subscript) -> None:
        """``getattr(models, "User")``, ``vars(models)["User"]``, ``mock.patch.object(models,
        "User")`` and their kin read the symbol by a name no rename can follow safely (the
        string may also be built elsewhere): reported, not rewritten."""
        found = attribute_by_string(node, lambda n: qualified_names(self, n))
        if found is None or found.name != self.short:
            return
        if any(absolute(owner, None, self.package) in self.modules for owner in found.owners):
            self._explained.add(found.string)
            line = line_of(self, node)
            self.warn(
                f"line {line}: {found.spelled} names {self.old_name} in a string; not rewritten"
            )

    # --- __all__ and string annotations ----------------------------------------------------

    _all_depth = 0
    """Inside an assignment to ``__all__``, whose strings are renamed as exports."""

    def visit_Assign(self, node: cst.Assign) -> None:
        if m.matches(node, m.Assign(targets=[m.AssignTarget(m.Name("__all__"))])):
            self._all_depth += 1
        if isinstance(node.value, cst.Name | cst.Attribute):
            names = qualified_names(self, node.value)
            module = next((qn.name for qn in names if qn.name in self.modules), None)
            if module is not None:
                self._unfollowed(node, f"{module} is reached through a variable")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if m.matches(node.target, m.Name("__all__")):
            self._all_depth += 1

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if not m.matches(updated_node, m.Assign(targets=[m.AssignTarget(m.Name("__all__"))])):
            return updated_node
        self._all_depth -= 1
        return updated_node.with_changes(value=self._rename_all(updated_node.value))

    def leave_AugAssign(
        self, original_node: cst.AugAssign, updated_node: cst.AugAssign
    ) -> cst.AugAssign:
        if not m.matches(updated_node.target, m.Name("__all__")):
            return updated_node
        self._all_depth -= 1
        return updated_node.with_changes(value=self._rename_all(updated_node.value))

    def _rename_all(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if not self.bound_here or not isinstance(value, (cst.List, cst.Tuple)):
            return value
        elements = []
        for el in value.elements:
            v = el.value
            if isinstance(v, cst.SimpleString) and v.evaluated_value == self.short:
                el = el.with_changes(
                    value=v.with_changes(value=v.prefix + v.quote + self.new + v.quote)
                )
            elements.append(el)
        return value.with_changes(elements=elements)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        if self.short not in updated_node.value or self._concatenated:
            return updated_node
        if not self._in_annotation:
            return self._dotted_string(original_node, updated_node)
        text = updated_node.evaluated_value
        if not isinstance(text, str):
            return updated_node
        try:
            expr = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return self._dotted_string(original_node, updated_node)
        renamed = expr.visit(_StringAnnotationRenamer(self))
        if not isinstance(renamed, cst.BaseExpression) or renamed.deep_equals(expr):
            # "pkg.mod.Thing" through a module this file does not import
            return self._dotted_string(original_node, updated_node)
        new_text = cst.Module([]).code_for_node(renamed)
        q = updated_node.quote
        return updated_node.with_changes(value=updated_node.prefix + q + new_text + q)

    def _entry_points(self) -> re.Pattern[str]:
        return entry_points(frozenset(self.names), self.short)

    def _mentions(self, text: str) -> bool:
        return any(name in text for name in self.names) or bool(self._entry_points().search(text))

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._concatenated += 1

    def leave_ConcatenatedString(
        self, original_node: cst.ConcatenatedString, updated_node: cst.ConcatenatedString
    ) -> cst.ConcatenatedString:
        """``"pkg.models" ".User"`` or ``"pkg.models.User" "Profile"``: no part is the string,
        so none is rewritten; one that mentions the symbol, in part or whole, is listed."""
        self._concatenated -= 1
        if self._concatenated:
            return updated_node
        texts = concatenated_texts(original_node)
        if any(self._mentions(text) for text in texts):
            line = line_of(self, original_node)
            self.warn(f"line {line}: a string mentions {self.old_name}; not rewritten")
        return updated_node

    def _dotted_string(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        """``"pkg.mod.Thing"`` (or ``.attr`` after it) renamed; a mere mention, a warning."""
        text = updated_node.evaluated_value
        if not isinstance(text, str):
            return updated_node
        for name in sorted(self.names, key=len, reverse=True):
            if text == name or text.startswith(name + "."):
                renamed = name.rpartition(".")[0] + "." + self.new + text[len(name) :]
                raw = updated_node.raw_value
                if raw == text:  # no escapes: the literal can be rewritten in place
                    q = updated_node.quote
                    return updated_node.with_changes(value=updated_node.prefix + q + renamed + q)
                break
        # an entry point or a setting's "pkg.models:User" (``module:attribute``)
        renamed = self._entry_points().sub(lambda found: found[1] + self.new, text)
        if renamed != text and updated_node.raw_value == text:
            q = updated_node.quote
            return updated_node.with_changes(value=updated_node.prefix + q + renamed + q)
        mentions = self._mentions(text) or (
            ">>>" in text and re.search(rf"\b{re.escape(self.short)}\b", text) is not None
        )
        if mentions:
            line = line_of(self, original_node)
            self.warn(f"line {line}: a string mentions {self.old_name}; not rewritten")
        elif (
            self._all_depth == 0
            and original_node not in self._explained
            and _may_name(text, self.short, bare=self.bound_here)
        ):
            # ForeignKey("User"), globals()["User"], "auth.User": a lookup by name, which no
            # rename can follow safely (the registry or the namespace is another's).
            line = line_of(self, original_node)
            self.warn(
                f"line {line}: the string {text!r} may name {self.old_name} (a lookup by"
                " name); not rewritten"
            )
        return updated_node

    _annotation_depth = 0

    @property
    def _in_annotation(self) -> bool:
        return self._annotation_depth > 0

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._annotation_depth += 1

    def leave_Annotation(
        self, original_node: cst.Annotation, updated_node: cst.Annotation
    ) -> cst.Annotation:
        self._annotation_depth -= 1
        return updated_node


def _shown(path: Path, root: Path) -> str:
    """A path as the user gave the project: relative to its root where it can be."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


@lru_cache(maxsize=16)
def entry_points(names: frozenset[str], short: str) -> re.Pattern[str]:
    """``module:short`` (spaces allowed around the colon) for the module of each dotted name
    of a symbol, as entry points write it; the first group is what comes before ``short``."""
    modules = sorted({n.rpartition(".")[0] for n in names}, key=len, reverse=True)
    spelled = "|".join(re.escape(module) for module in modules)
    return re.compile(rf"(?<![\w.])((?:{spelled})\s*:\s*){re.escape(short)}(?!\w)")


def _submodule(root: Path, package: str, name: str) -> Path | None:
    """``package/name.py`` or ``package/name/``: a submodule that ``package.name`` means
    once imported, which a symbol renamed to ``name`` and bound in ``package`` would shadow."""
    init = file_in(root, package)
    if init is None or init.stem != "__init__":
        return None
    folder = init.parent
    for candidate in (folder / f"{name}.py", folder / f"{name}.pyi", folder / name):
        if candidate.exists():
            return candidate
    return None


def _refuse_below_a_module(old_name: str, root: Path | None) -> None:
    """``pkg.mod.Thing.method`` names an attribute of a class, which this codemod cannot
    rename exactly (the definition and every call through an instance): refused."""
    module = old_name.rpartition(".")[0]
    parent = module.rpartition(".")[0]
    if root is None or not parent or file_in(root, module) is not None:
        return
    parent_file = file_in(root, parent)
    if parent_file is None:
        return
    leaf = module.rpartition(".")[2]
    if first_binding(parent_file, leaf) is None:
        raise ValueError(
            f"old_name {old_name}: {module} is not a module, and {parent} binds no {leaf!r}"
            " (a typo?); nothing in the project is named that"
        )
    raise ValueError(
        f"old_name {old_name}: {module} is not a module (a class?); rename_symbol"
        " renames module-level names only"
    )


_LABEL = re.compile(r"[A-Za-z_]\w*\.[A-Za-z_]\w*")


def _may_name(text: str, short: str, *, bare: bool) -> bool:
    """``"User"`` where the file's ``User`` is the symbol (``bare``), or a two-part label
    such as Django's ``"auth.User"`` (app label and model), anywhere."""
    if text == short:
        return bare
    return _LABEL.fullmatch(text) is not None and text.rpartition(".")[2] == short


class _StringAnnotationRenamer(cst.CSTTransformer):
    """Inside a string annotation: the symbol by its local name or through its module."""

    def __init__(self, outer: RenameSymbolCommand) -> None:
        super().__init__()
        self.outer = outer

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        head = cst.helpers.get_full_name_for_node(original_node.value)
        if original_node.attr.value == self.outer.short and head in self.outer.module_aliases:
            return updated_node.with_changes(attr=cst.Name(self.outer.new))
        return updated_node

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return False  # names inside a dotted chain are not the symbol's local name

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.outer.short and self.outer.bound_here:
            return updated_node.with_changes(value=self.outer.new)
        return updated_node
