"""Qualified names as the codemods compare them: absolute, whatever the import style."""

from __future__ import annotations

import ast
import os
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.codemod import ContextAwareTransformer
from libcst.helpers import get_full_name_for_node
from libcst.metadata import PositionProvider, QualifiedName, ScopeProvider

from shim_lsp.codemods.modules import (
    file_in,
    import_root,
    module_name_of,
    per_run,
    source_folders,
)
from shim_lsp.codemods.refused import Refused
from shim_lsp.codemods.text import mentions

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def concatenated_texts(node: cst.ConcatenatedString) -> list[str]:
    """An implicit concatenation's whole value and each piece's (``"pkg.models" ".User"``):
    a name may be in the whole or in one piece, and no piece may be rewritten alone."""
    pieces = [node, *m.findall(node, m.SimpleString())]
    values = [
        p.evaluated_value
        for p in pieces
        if isinstance(p, cst.SimpleString | cst.ConcatenatedString)
    ]
    return [v for v in values if isinstance(v, str)]


def refuse_other_spelling(name: str, wanted: Collection[str]) -> None:
    """Fail the file where ``name`` spells one of ``wanted`` another way that Python reads
    as the same (NFKC: a ligature ``fi`` in ``find``, a fullwidth letter): the codemod
    compares names as written, so it would leave that spelling behind. Called on each name
    as the transform visits it: a walk of its own would cost as much as the parse."""
    if name.isascii() or name in wanted:
        return
    plain = unicodedata.normalize("NFKC", name)
    if plain in wanted:
        raise NameTaken(
            f"{name!r} is {plain!r} to Python, spelled another way, which the codemod cannot"
            " follow; write it plainly first (nothing was changed in this file)"
        )


class NameTaken(Refused):
    """Rewriting here would change which object the code uses (a new name is already bound
    there, or a symbol's own module binds its name twice): the file fails."""


def package_of(module: str | None, filename: str | None) -> str:
    """The package a module's relative imports start from."""
    if module is None:
        return ""
    if is_package_init(filename):
        return module
    return module.rpartition(".")[0]


def absolute(name: str, module: str | None, package: str) -> str:
    """``.mod.X`` and module-local ``X`` as full dotted names; others unchanged."""
    if name.startswith("."):
        level = len(name) - len(name.lstrip("."))
        parts = package.split(".") if package else []
        base = parts[: len(parts) - (level - 1)] if level > 1 else parts
        rest = name.lstrip(".")
        return ".".join([*base, rest]) if rest else ".".join(base)
    if module and "." not in name and "<locals>" not in name:
        return f"{module}.{name}"
    return name


def import_from_module(node: cst.ImportFrom, package: str) -> str | None:
    """The absolute module an ``from ... import`` statement reads from."""
    dots = "." * len(node.relative)
    tail = get_full_name_for_node(node.module) if node.module is not None else ""
    if not dots:
        return tail
    return absolute(dots + (tail or ""), None, package)


def is_package_init(filename: str | None) -> bool:
    """``__init__.py`` or, for stubs, ``__init__.pyi``."""
    if filename is None:
        return False
    return Path(filename.replace("\\", "/")).name in ("__init__.py", "__init__.pyi")


def root_of(module: str | None, filename: str | None) -> Path | None:
    """The folder a module's dotted name starts from (``src/`` for ``src/pkg/mod.py``)."""
    if not module or not filename:
        return None
    path = Path(filename).resolve()
    depth = len(module.split(".")) + (1 if is_package_init(filename) else 0)
    return path.parents[depth - 1] if depth <= len(path.parents) else None


def lookup_start(module: str | None, filename: str | None) -> Path | None:
    """Where a file's absolute imports are looked for first: its own folder when no package
    holds it (``python tool.py`` and pytest put that on ``sys.path``: a script in
    ``services/api/`` imports ``app`` from there, though its name starts higher, at the
    project's folder), else the folder its dotted name starts from."""
    own = root_of(module, filename)
    if filename is None:
        return own
    folder = Path(filename).resolve().parent
    if any((folder / name).is_file() for name in ("__init__.py", "__init__.pyi")):
        return own
    return folder


def package_root(top: str, start: Path | None) -> Path | None:
    """The folder the top-level package ``top`` is imported from, seen from a file whose
    module name starts at ``start``: that folder or one of its source folders (``src/``,
    ``pyproject.toml``'s package-dir), else the same for each folder above, up to the
    project's own (a ``tests/test_a.py`` imports ``shop`` from ``src/``)."""
    if start is None:
        return None
    portion: Path | None = None
    for folder in (start, *start.parents):
        for candidate in (folder, *source_folders(folder)):
            module = candidate / top
            if _init_of(top, candidate) is not None or any(
                module.with_suffix(ext).is_file() for ext in (".py", ".pyi")
            ):
                return candidate
            if portion is None and module.is_dir():
                portion = candidate
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            break
    # no regular package or module: a folder without ``__init__.py`` is a namespace
    # package, which Python imports only when nothing else has the name
    return portion


def name_below(root: Path | None, top: str, module: str | None, filename: str | None) -> str | None:
    """A file's module name as importers of ``top`` spell it, when ``top`` lives in ``root``:
    its path below ``root``, which differs from the name the runner gave it for a namespace
    package (``shop/models.py`` without ``shop/__init__.py`` is ``shop.models``, not
    ``models``); ``module`` unchanged for a file outside ``top``."""
    if root is None or filename is None:
        return module
    try:
        parts = Path(filename).resolve().relative_to((root / top).resolve()).with_suffix("").parts
    except ValueError:
        return module
    parts = parts[:-1] if parts and parts[-1] == "__init__" else parts
    if not all(part.isidentifier() for part in parts):
        return module
    return ".".join((top, *parts))


class AmbiguousPackage(ValueError):
    """The project holds a top-level package in more than one folder: which one a name
    means depends on what is on ``sys.path``, which no codemod can tell."""


def project_package_root(name: str, root: Path) -> Path | None:
    """The folder the top-level package of the dotted ``name`` is imported from in the
    project at ``root``: seen from ``root`` as a file there sees it (``package_root``), else
    found below it, as when ``root`` is the folder above the project (the command ran
    there). Several folders below ``root`` holding portions of one namespace package (two
    distributions of a monorepo sharing ``ns``) are one package to Python: the folder
    holding the most of ``name`` is meant. Raises ``AmbiguousPackage`` when that still
    leaves more than one."""
    top = name.split(".")[0]
    found = package_root(top, root)
    if found is not None:
        return found
    below: set[Path] = set()
    for path in _python_files(root):
        if top not in path.parts[:-1] and path.stem != top:
            continue
        module = module_name_of(path)
        if module is not None and module.split(".")[0] == top:
            below.add(import_root(path.resolve()))
    if len(below) > 1:
        depth = {folder: _depth_held(folder, name) for folder in below}
        deepest = max(depth.values())
        below = {folder for folder, held in depth.items() if held == deepest}
    if len(below) > 1:
        shown = ", ".join(sorted(str(p) for p in below))
        raise AmbiguousPackage(
            f"{top} is found in more than one folder below {root} ({shown}); pass --root the"
            f" project whose {top} you mean, and the other projects' folders as paths too if"
            f" their files import it (nothing was changed)"
        )
    return next(iter(below), None)


def _depth_held(folder: Path, name: str) -> int:
    """How many leading parts of the dotted ``name`` exist as packages or modules below
    ``folder``."""
    parts = name.split(".")
    for depth in range(len(parts), 0, -1):
        module = folder.joinpath(*parts[:depth])
        if module.is_dir() or any(module.with_suffix(ext).is_file() for ext in (".py", ".pyi")):
            return depth
    return 0


def _init_of(package: str, root: Path) -> Path | None:
    folder = root.joinpath(*package.split("."))
    for name in ("__init__.py", "__init__.pyi"):
        if (folder / name).is_file():
            return folder / name
    return None


def _exports(path: Path) -> tuple[list[tuple[str, str | None]], list[str] | None]:
    """A module's ``from X import name`` (as (module, name), ``*`` for star; a relative
    module with its dots) and its literal ``__all__`` (None when it has none)."""
    tree = _parsed(path)
    if tree is None:
        return [], None
    imports: list[tuple[str, str | None]] = []
    names: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            dots = "." * node.level
            for alias in node.names:
                if alias.asname is None or alias.asname == alias.name:
                    imports.append((dots + (node.module or ""), alias.name))
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, list | tuple):
                names = [str(v) for v in value]
    return imports, names


@per_run
@lru_cache(maxsize=64)
def reexports(qualified: str, root: Path | None) -> frozenset[str]:
    """Every dotted name that means ``qualified`` through its packages' ``__init__``:
    ``pkg.core.first`` is also ``pkg.first`` after ``from .core import first`` (or ``*``)."""
    found = {qualified}
    if root is None:
        return frozenset(found)
    module, _, short = qualified.rpartition(".")
    package = module.rpartition(".")[0]
    while package:
        init = _init_of(package, root)
        if init is not None:
            imports, _all = _exports(init)
            for source, name in imports:
                source = absolute(source, None, package) if source.startswith(".") else source
                if f"{source}.{short}" not in found:
                    continue
                if name == short or (name == "*" and _star_exports(source, short, root)):
                    found.add(f"{package}.{short}")
        package = package.rpartition(".")[0]
    return frozenset(found)


def reexport_source(qualified: str, root: Path) -> str | None:
    """``pkg.first`` where ``pkg`` binds ``first`` only by importing it (``from .core import
    first`` or ``*``): the name it imports, ``pkg.core.first``; None where it defines it."""
    module, _, short = qualified.rpartition(".")
    path = file_in(root, module)
    if path is None:
        return None
    tree = _parsed(path)
    if tree is None:
        return None
    bindings = _module_level_bindings(tree, short)
    if not bindings or not all(isinstance(b, ast.ImportFrom) for b in bindings):
        return None
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    for stmt in bindings:
        assert isinstance(stmt, ast.ImportFrom)
        source = absolute("." * stmt.level + (stmt.module or ""), None, package)
        for alias in stmt.names:
            if alias.name == "*":
                if file_in(root, source) is not None and _star_exports(source, short, root):
                    return f"{source}.{short}"
            elif (alias.asname or alias.name) == short and (
                file_in(root, f"{source}.{alias.name}") is None  # not a submodule
            ):
                return f"{source}.{alias.name}"
    return None


def star_binding(
    path: Path, package: str, name: str, find: Callable[[str], Path | None], depth: int = 0
) -> tuple[Path, int] | None:
    """Where a star import in ``path`` (a module of ``package``) brings ``name``: the file
    and line of the module it comes from that binds it (``find`` gives a module's file)."""
    tree = _parsed(path)
    if tree is None:
        return None
    for stmt in tree.body:
        if not isinstance(stmt, ast.ImportFrom) or [a.name for a in stmt.names] != ["*"]:
            continue
        source = absolute("." * stmt.level + (stmt.module or ""), None, package)
        found = find(source)
        if found is None or name.startswith("_"):
            continue
        _imports, names = _exports(found)
        if names is not None and name not in names:
            continue
        line = first_binding(found, name)
        if line is not None:
            return found, line
        inner = source if found.stem == "__init__" else source.rpartition(".")[0]
        deeper = star_binding(found, inner, name, find, depth + 1) if depth < 8 else None
        if deeper is not None:
            return deeper
    return None


def grown_all(module: str, old: str, new: str, root: Path) -> bool:
    """The literal ``__all__`` of ``module`` lists ``old`` and not ``new``: a migration that
    re-exports ``new`` beside ``old`` adds it there."""
    path = file_in(root, module)
    names = _exports(path)[1] if path is not None else None
    return names is not None and old in names and new not in names


def star_importer_binding(
    root: Path, grows: Callable[[str], bool], name: str
) -> tuple[Path, int, str] | None:
    """A file of the project (below ``root``) with ``from M import *`` where ``grows(M)``
    that binds ``name`` itself: its path, the line, and ``M``."""
    for path in _python_files(root):
        try:
            text = path.read_bytes()
        except OSError:
            continue
        if b"*" not in text or not mentions(text, name):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        module = module_name_of(path)
        package = package_of(module, str(path))
        for stmt in tree.body:
            if not isinstance(stmt, ast.ImportFrom) or [a.name for a in stmt.names] != ["*"]:
                continue
            source = absolute("." * stmt.level + (stmt.module or ""), None, package)
            if grows(source):
                line = first_binding(path, name)
                if line is not None:
                    return path, line, source
    return None


def files_importing(root: Path, modules: Collection[str], word: str) -> list[Path]:
    """Files of the project below ``root`` that import one of ``modules`` (``import M``,
    ``import M.sub``, ``from M import x``, ``from parent import leaf``; ``import pkg`` too,
    through which ``pkg.M`` may be read) and contain ``word``: those a rename or a move of
    something in ``modules`` may change. Read as text first, parsed only where ``word`` is
    and a module's last name is (every such import spells it, or is relative)."""
    found: list[Path] = []
    wanted = frozenset(modules)
    leaves = {m.rpartition(".")[2] for m in wanted} | {"from ."}
    for path in _python_files(root):
        try:
            text = path.read_bytes()
        except OSError:
            continue
        if not mentions(text, word) or not mentions(text, *leaves):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        packages = {package_of(module_name_of(path), str(path)), _folder_package(root, path)}
        if any(
            _imports_one_of(node, package, wanted)
            for node in ast.walk(tree)
            for package in packages
            if package is not None
        ):
            found.append(path)
    return found


def _folder_package(root: Path, path: Path) -> str | None:
    """The package a file's relative imports start from when its folders below ``root`` are
    namespace packages (no ``__init__.py``), which its own module name cannot tell."""
    if any((path.parent / name).is_file() for name in ("__init__.py", "__init__.pyi")):
        return None
    try:
        parts = path.parent.relative_to(root).parts
    except ValueError:
        return None
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def _imports_one_of(node: ast.AST, package: str, modules: frozenset[str]) -> bool:
    def at_or_below(name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in modules)

    if isinstance(node, ast.Import):
        # ``import shop`` binds the package, through which ``shop.models`` may be read
        return any(
            at_or_below(a.name) or any(m.startswith(a.name + ".") for m in modules)
            for a in node.names
        )
    if not isinstance(node, ast.ImportFrom):
        return False
    dotted = "." * node.level + (node.module or "")
    source = absolute(dotted, None, package) if node.level else dotted
    return at_or_below(source) or any(at_or_below(f"{source}.{a.name}") for a in node.names)


_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "__iadd__"})


def all_built_in_steps(path: Path) -> int | None:
    """The first line where the module in ``path`` builds ``__all__`` other than as one
    literal list (``+=``, ``.extend``, ``.append``, ``.insert``, ``.remove``,
    ``__all__ = __all__ + [...]``), which no rename follows."""
    tree = _parsed(path)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            and not isinstance(node.value, ast.List | ast.Tuple)
        ):
            return node.lineno
        if (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            return node.lineno
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "__all__"
            and node.func.attr in _MUTATORS
        ):
            return node.lineno
    return None


def has_literal_all(module: str, root: Path) -> bool:
    """The file of ``module`` has a literal ``__all__`` (so its star import may bring a
    private name)."""
    path = file_in(root, module)
    return path is not None and _exports(path)[1] is not None


def star_reexports(qualified: str, root: Path) -> list[tuple[str, str]]:
    """(package, module) where ``package/__init__`` re-exports ``qualified`` by ``from module
    import *`` and ``module`` has no literal ``__all__`` (its star brings public names only)."""
    found = reexports(qualified, root)
    module, _, short = qualified.rpartition(".")
    result = []
    package = module.rpartition(".")[0]
    while package:
        init = _init_of(package, root)
        if init is not None and f"{package}.{short}" in found:
            for source in _star_sources(package, init):
                if f"{source}.{short}" in found and not has_literal_all(source, root):
                    result.append((package, source))
        package = package.rpartition(".")[0]
    return result


def star_rivals(qualified: str, new_name: str, root: Path) -> list[tuple[str, str, str]]:
    """(package, module, name) where ``package/__init__`` re-exports ``qualified`` by a star
    import and also star-imports ``module``, which binds ``name`` (the symbol's own name or
    ``new_name``) itself: which of the two the package's name means depends on the order of
    the star imports, before or after the rename."""
    found = reexports(qualified, root)
    module, _, short = qualified.rpartition(".")
    result = []
    package = module.rpartition(".")[0]
    while package:
        init = _init_of(package, root)
        if init is not None and f"{package}.{short}" in found:
            stars = _star_sources(package, init)
            if any(f"{source}.{short}" in found for source in stars):
                for source in stars:
                    if f"{source}.{short}" in found:
                        continue
                    for name in (short, new_name):
                        if _star_binds(root, source, name, set()):
                            result.append((package, source, name))
        package = package.rpartition(".")[0]
    return result


def _star_binds(root: Path, module: str, name: str, seen: set[str]) -> bool:
    """Whether a star import of ``module`` brings ``name``: the module binds it, or a module
    it star-imports does (``views`` with ``from .helpers import *``); its literal
    ``__all__``, where it has one, decides what leaves it."""
    if module in seen:
        return False
    seen.add(module)
    path = file_in(root, module)
    if path is None:
        return False
    imports, names = _exports(path)
    if names is not None and name not in names:
        return False
    if names is None and name.startswith("_"):
        return False
    if bound_line(root, module, name) is not None:
        return True
    return any(
        _star_binds(root, source, name, seen) for source in _star_sources(module, path, imports)
    )


def _star_sources(
    module: str, path: Path, imports: list[tuple[str, str | None]] | None = None
) -> list[str]:
    """The modules that ``module`` (its file ``path``, whose ``_exports`` imports may be
    given) star-imports, as absolute names."""
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    found = _exports(path)[0] if imports is None else imports
    return [absolute(source, None, package) for source, name in found if name == "*"]


def _parsed(path: Path) -> ast.Module | None:
    """The module in ``path``; None when it cannot be read or parsed (it is then judged as
    absent, by each caller's own rule)."""
    try:
        return ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def _module_level_bindings(tree: ast.Module, name: str) -> list[ast.stmt]:
    """The statements that bind ``name`` in a module's namespace: at its top level or in
    its ``if``/``try``/``with``/``for`` blocks; any ``global name`` counts twice (a
    function may rebind it)."""
    found: list[ast.stmt] = []

    def binds(stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            return any(
                (a.asname or a.name.split(".")[0]) == name or a.name == "*" for a in stmt.names
            )
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return stmt.name == name
        return any(
            isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store | ast.Del)
            for n in ast.walk(stmt)
        )

    def stores(node: ast.AST | None) -> bool:
        return node is not None and any(
            isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
            for n in ast.walk(node)
        )

    def walk(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If | ast.Try | ast.With | ast.For | ast.While):
                headers: list[ast.AST | None] = []
                if isinstance(stmt, ast.For):
                    headers.append(stmt.target)
                elif isinstance(stmt, ast.With):
                    headers += [item.optional_vars for item in stmt.items]
                elif isinstance(stmt, ast.If | ast.While):
                    headers.append(stmt.test)
                if any(stores(h) for h in headers):
                    found.append(stmt)
                for field in ("body", "orelse", "finalbody"):
                    walk(getattr(stmt, field, []))
                for handler in getattr(stmt, "handlers", []):
                    if handler.name == name:
                        found.append(stmt)
                    walk(handler.body)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    if any(
                        (isinstance(p, ast.MatchAs | ast.MatchStar) and p.name == name)
                        or (isinstance(p, ast.MatchMapping) and p.rest == name)
                        for p in ast.walk(case.pattern)
                    ):
                        found.append(stmt)
                    walk(case.body)
            elif binds(stmt):
                found.append(stmt)

    walk(tree.body)
    declared = [n for n in ast.walk(tree) if isinstance(n, ast.Global) and name in n.names]
    if declared:
        found = found * 2 if found else [declared[0]]
    return found


@per_run
@lru_cache(maxsize=256)
def reexported_by(
    module: str, short: str, names: frozenset[str], root: Path, depth: int = 0
) -> bool:
    """``module`` (an ordinary module, like a package's ``compat.py``) imports the symbol
    under its own name with ``from X import short``, where ``X.short`` is one of ``names``,
    and binds ``short`` nowhere else: ``module.short`` is the symbol too."""
    path = file_in(root, module)
    if path is None:
        return False
    tree = _parsed(path)
    if tree is None:
        return False
    bindings = _module_level_bindings(tree, short)
    if len(bindings) != 1 or not isinstance(bindings[0], ast.ImportFrom):
        return False
    node = bindings[0]
    star = any(a.name == "*" for a in node.names)
    if not star and not any(a.name == short and a.asname in (None, short) for a in node.names):
        return False
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    source = absolute("." * node.level + (node.module or ""), None, package)
    if star and not _star_exports(source, short, root):
        return False
    if f"{source}.{short}" in names:
        return True
    return depth < 4 and reexported_by(source, short, names, root, depth + 1)


def star_doubt(module: str, short: str, names: frozenset[str], root: Path) -> str | None:
    """Why ``module.short`` cannot be followed: ``module`` star-imports the symbol's module
    but may bind ``short`` otherwise too (another star import, an assignment); else None."""
    path = file_in(root, module)
    if path is None:
        return None
    tree = _parsed(path)
    if tree is None:
        return None
    bindings = _module_level_bindings(tree, short)
    if len(bindings) < 2:
        return None
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    modules = {n.rpartition(".")[0] for n in names}
    for stmt in bindings:
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            source = absolute("." * stmt.level + (stmt.module or ""), None, package)
            if source in modules:
                return (
                    f"{module} star-imports {source} but {short!r} may also come from"
                    f" another of its bindings (line {bindings[0].lineno}"
                    f" or {bindings[1].lineno})"
                )
    return None


def star_lacks(module: str, short: str, new: str, root: Path) -> str | None:
    """Why ``from module import new`` would fail where ``module`` re-exports ``short`` by a
    star import whose source does not export ``new`` (its ``__all__`` leaves it out)."""
    path = file_in(root, module)
    if path is None:
        return None
    tree = _parsed(path)
    if tree is None:
        return None
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    for stmt in _module_level_bindings(tree, short):
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            source = absolute("." * stmt.level + (stmt.module or ""), None, package)
            if _star_exports(source, short, root) and not _star_exports(source, new, root):
                return (
                    f"{module} re-exports {short} by a star import of {source}, whose"
                    f" __all__ does not list {new}"
                )
    return None


def bound_line(root: Path, module: str, name: str) -> tuple[Path, int] | None:
    """The file of ``module`` and the first line where it binds ``name`` itself (a star
    import does not count): where a re-exported symbol renamed to ``name`` would collide."""
    path = file_in(root, module)
    line = first_binding(path, name) if path is not None else None
    return None if path is None or line is None else (path, line)


def first_binding(path: Path, name: str) -> int | None:
    """The first line where the module in ``path`` binds ``name`` itself, at module level
    (a star import does not count); None when it does not, or cannot be read."""
    tree = _parsed(path)
    if tree is None:
        return None
    for stmt in _module_level_bindings(tree, name):
        if isinstance(stmt, ast.ImportFrom) and all(a.name == "*" for a in stmt.names):
            continue
        return stmt.lineno
    return None


_BLOCKS = (
    cst.BaseSuite,
    cst.BaseCompoundStatement,
    cst.SimpleStatementLine,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


def statements(tree: cst.Module) -> Iterator[cst.CSTNode]:
    """Every statement of a module, compound and small, in nested blocks too, in order.
    Walks statements only, never into expressions: on a 7,000-line file, a tenth of what
    ``m.findall`` over every node costs."""
    stack: list[cst.CSTNode] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            yield from node.body
        else:
            yield node
            stack += reversed([c for c in node.children if isinstance(c, _BLOCKS)])


def import_statements(tree: cst.Module) -> list[cst.Import | cst.ImportFrom]:
    """Every ``import`` and ``from ... import`` of a module, in nested blocks too (an
    import is never inside an expression)."""
    return [s for s in statements(tree) if isinstance(s, cst.Import | cst.ImportFrom)]


def qualified_names(command: cst.MetadataDependent, node: cst.CSTNode) -> Collection[QualifiedName]:
    """What ``QualifiedNameProvider`` gives for ``node``, asked of its scope only for the
    nodes that need it: the provider visits every node of the file (seconds on a large
    one) to store the same lazy answer."""
    scope = command.get_metadata(ScopeProvider, node, None)
    return scope.get_qualified_names_for(node) if scope is not None else set()


def line_of(command: ContextAwareTransformer, node: cst.CSTNode) -> int:
    """The line of ``node``, with positions computed only when a message needs one."""
    wrapper = command.context.wrapper
    if wrapper is None:
        raise ValueError("positions need the codemod's metadata wrapper")
    return wrapper.resolve(PositionProvider)[node].start.line


def imported_modules(tree: cst.Module, short: str, package: str) -> set[str]:
    """The modules a file imports ``short`` from (``from X import short``) and the modules
    it imports (``import X``): where a re-export of a symbol named ``short`` may be read."""
    found: set[str] = set()
    for node in import_statements(tree):
        if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            source = import_from_module(node, package)
            if source and any(get_full_name_for_node(a.name) == short for a in node.names):
                found.add(source)
        elif isinstance(node, cst.Import):
            found |= {n for a in node.names if (n := get_full_name_for_node(a.name))}
    return found


def follow_reexports(
    tree: cst.Module, short: str, package: str, names: set[str], root: Path | None
) -> set[str]:
    """The names of the symbol (``names``) plus ``module.short`` for each module the file
    imports that re-exports it (``compat.py``: ``from pkg.mod import short``)."""
    if root is None:
        return names
    modules = {n.rpartition(".")[0] for n in names}
    frozen = frozenset(names)
    extra = {
        f"{module}.{short}"
        for module in imported_modules(tree, short, package) - modules
        if reexported_by(module, short, frozen, root)
    }
    return names | extra


def _star_exports(module: str, short: str, root: Path) -> bool:
    """``from module import *`` brings ``short``: public, and in ``__all__`` if there is one."""
    if short.startswith("_"):
        return False
    path = root.joinpath(*module.split("."))
    init = _init_of(module, root)
    source = init or next(
        (p for p in (path.with_suffix(".py"), path.with_suffix(".pyi")) if p.is_file()), None
    )
    if source is None:
        return True
    _imports, names = _exports(source)
    return names is None or short in names


BY_NAME = ("getattr", "hasattr", "setattr", "delattr")
"""Builtins that reach an attribute through a string."""
PATCH_OBJECT = frozenset({"unittest.mock.patch.object", "mock.patch.object"})
"""``mock.patch.object(owner, "name")``: replaces an attribute named by a string."""
METHODS_BY_NAME = ("setattr", "delattr")
"""Methods that do what the builtins do, as pytest's ``monkeypatch.setattr(owner, "name",
value)`` (whose fixture no qualified name follows)."""
NAMESPACE_READS = ("get", "pop", "setdefault")
"""Methods of a namespace dict that reach an attribute: ``vars(owner).get("name")``."""


@dataclass(frozen=True)
class ByString:
    """An attribute reached through a string, which no codemod can follow safely (the
    string may also be built elsewhere): reported, not rewritten."""

    spelled: str
    """How a warning shows it: ``getattr(..., 'User')``, ``vars(models)['User']``."""
    name: str
    owners: frozenset[str]
    """The qualified names of the object whose attribute it is."""
    string: cst.SimpleString


def _string(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    """The argument given at ``index`` or as ``keyword``."""
    for i, arg in enumerate(call.args):
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
        elif arg.star == "" and i == index:
            return arg.value
    return None


def _namespace(
    node: cst.BaseExpression, qualified: Callable[[cst.CSTNode], Collection[QualifiedName]]
) -> tuple[cst.BaseExpression, str] | None:
    """``vars(owner)`` or ``owner.__dict__``: the owner and how to show the namespace."""
    if isinstance(node, cst.Attribute) and node.attr.value == "__dict__":
        return node.value, f"{get_full_name_for_node(node.value) or '...'}.__dict__"
    if (
        isinstance(node, cst.Call)
        and len(node.args) == 1
        and isinstance(node.func, cst.Name)
        and node.func.value == "vars"
        and any(qn.name == "builtins.vars" for qn in qualified(node.func))
    ):
        owner = node.args[0].value
        return owner, f"vars({get_full_name_for_node(owner) or '...'})"
    return None


def attribute_by_string(
    node: cst.Call | cst.Subscript, qualified: Callable[[cst.CSTNode], Collection[QualifiedName]]
) -> ByString | None:
    """An attribute named by a string: ``getattr(owner, "name")`` (or ``hasattr``,
    ``setattr``, ``delattr``, the builtins), ``mock.patch.object(owner, "name")``,
    ``monkeypatch.setattr(owner, "name", ...)``, ``vars(owner)["name"]``,
    ``owner.__dict__["name"]`` or ``.get("name")``; else None."""
    owner: cst.BaseExpression | None
    string: cst.BaseExpression | None
    if isinstance(node, cst.Subscript):
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        found = _namespace(node.value, qualified)
        string = node.slice[0].slice.value
        name = _string(string)
        if found is None or name is None:
            return None
        owner, spelled = found[0], f"{found[1]}[{name!r}]"
    else:
        func = node.func
        dotted = get_full_name_for_node(func) or "..."
        if isinstance(func, cst.Attribute) and func.attr.value in NAMESPACE_READS:
            found = _namespace(func.value, qualified)
            if found is None:
                return None
            string = _argument(node, 0, "key")
            owner, spelled = found[0], f"{found[1]}.{func.attr.value}({{name!r}})"
        elif isinstance(func, cst.Name) and func.value in BY_NAME:
            if not any(qn.name == f"builtins.{func.value}" for qn in qualified(func)):
                return None
            owner, string = _argument(node, 0, ""), _argument(node, 1, "")
            spelled = f"{func.value}(..., {{name!r}})"
        elif any(qn.name in PATCH_OBJECT for qn in qualified(func)):
            owner, string = _argument(node, 0, "target"), _argument(node, 1, "attribute")
            spelled = f"{dotted}(..., {{name!r}})"
        elif isinstance(func, cst.Attribute) and func.attr.value in METHODS_BY_NAME:
            owner, string = _argument(node, 0, "target"), _argument(node, 1, "name")
            spelled = f"{dotted}(..., {{name!r}})"
        else:
            return None
        name = _string(string)
        if owner is None or name is None:
            return None
        spelled = spelled.format(name=name)
    assert isinstance(string, cst.SimpleString)
    owners = frozenset(qn.name for qn in qualified(owner))
    return ByString(spelled, name, owners, string)


_SKIPPED_FOLDERS = {"node_modules", "site-packages", "__pycache__", "venv", "env", "build", "dist"}
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([^#\n]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^#\n]+)", re.M)
_IMPORT_MODULE = re.compile(r"""import_module\(\s*[rbuRBU]?['"]([\w.]+)['"]""")
"""``importlib.import_module("pkg.mod")``: a module read by name, whose attributes (a
``List`` it imports from typing) may be used through the result."""
_IMPORT_MODULE_AS = re.compile(r"\bimport_module[ \t]+as[ \t]+(\w+)")
"""``import_module`` under another name, whose calls read a module by name too."""


def project_of(filename: str) -> Path | None:
    """The project a file belongs to: the nearest folder above it with a project marker
    (``pyproject.toml``, ``setup.py``, ``setup.cfg``, ``.git``)."""
    for folder in Path(filename).resolve().parents:
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return None


def _python_files(root: Path) -> list[Path]:
    """The project's Python files; a link leading out of it is not the project's, and is
    never read (folders linked are not walked into, as ``os.walk`` does)."""
    found: list[Path] = []
    inside = os.path.join(os.path.realpath(root), "")
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED_FOLDERS]
        for name in files:
            path = Path(folder, name)
            if not name.endswith((".py", ".pyi")):
                continue
            if path.is_symlink() and not os.path.realpath(path).startswith(inside):
                continue
            found.append(path)
        if len(found) > _MOST_FILES:
            break
    return found


@dataclass(frozen=True)
class _FileImports:
    """What one file's import statements name, read as text: absolute names as they are,
    relative ones (``..models``) to be resolved against the file's package of the run."""

    names: frozenset[str]
    stars: frozenset[str]
    relative: tuple[tuple[str, tuple[str, ...], bool], ...]
    """``(dots and module, the names imported, whether a star import)``."""


def _read_imports(text: str) -> _FileImports:
    found: set[str] = set()
    stars: set[str] = set()
    relative: list[tuple[str, tuple[str, ...], bool]] = []
    for dots, name, names in _FROM_IMPORT.findall(text):
        heads = tuple(
            head
            for alias in names.replace(")", "").split(",")
            if (head := alias.strip().split(" ")[0]).isidentifier()
        )
        star = names.strip().startswith("*")
        if dots:
            relative.append((dots + name, heads, star))
            continue
        found.add(name)
        if star:
            stars.add(name)
        found.update(f"{name}.{head}" for head in heads)
    dotted_names = [a.strip().split(" ")[0] for n in _IMPORT.findall(text) for a in n.split(",")]
    by_name = _IMPORT_MODULE.findall(text)
    for alias in set(_IMPORT_MODULE_AS.findall(text)):
        # ``from importlib import import_module as im`` then ``im("pkg.mod")``
        by_name += re.findall(rf"""\b{alias}\(\s*[rbuRBU]?['"]([\w.]+)['"]""", text)
    for dotted in dotted_names + by_name:
        parts = dotted.split(".")
        found |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    return _FileImports(frozenset(found), frozenset(stars), tuple(relative))


_READ: dict[Path, tuple[tuple[int, int], _FileImports]] = {}
"""Each file's imports with the stat they were read at: kept from run to run (a worker
process serves many), read again when the file's modification time or size changed."""
_NO_IMPORTS = _FileImports(frozenset(), frozenset(), ())


def _imports_of(path: Path) -> _FileImports | None:
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        known = _READ.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    read = _read_imports(text) if "import" in text else _NO_IMPORTS
    _READ[path] = (stamp, read)
    return read


@per_run
@lru_cache(maxsize=8)
def _import_index(project: Path) -> tuple[frozenset[str], ...]:
    """Every module an import statement of the project names (``from X import a`` counts
    ``X`` and ``X.a``, which may be a submodule), relative ones resolved; and the modules
    star-imported. Read as text, so an import in a string counts too: what it errs on is
    keeping an import, or leaving a file. Once per run: files read in an earlier run are
    read again only if they changed, and relative imports are resolved with this run's
    module names (an ``__init__.py`` added makes a folder a package)."""
    found: set[str] = set()
    stars: set[str] = set()
    files = _python_files(project)
    if len(files) > _MOST_FILES:
        return ()
    packages: dict[Path, str] = {}
    """A folder's package, which the relative imports of every file in it start from."""
    for path in files:
        read = _imports_of(path)
        if read is None:
            continue
        found |= read.names
        stars |= read.stars
        if not read.relative:
            continue
        if path.parent not in packages:
            packages[path.parent] = package_of(module_name_of(path), str(path))
        package = packages[path.parent]
        for name, heads, star in read.relative:
            source = absolute(name, None, package)
            found.add(source)
            if star:
                stars.add(source)
            found.update(f"{source}.{head}" for head in heads)
    return frozenset(found), frozenset(stars)


_MOST_FILES = 50_000
"""More Python files than this around a module: its importers are not looked for, and it is
taken as imported (keeping an import, leaving a file: the safe side)."""


def _importers(module: str | None, filename: str | None) -> tuple[frozenset[str], ...] | None:
    """The import index of the project around ``filename``: the nearest folder with a
    project marker, else the folder the module's name starts from. None when it cannot be
    told (no file, no module name); ``()`` when the project is too large to read."""
    if not module or not filename:
        return None
    project = project_of(filename)
    if project is None:
        start = root_of(module, filename)
        if start is None:
            return None
        # a ``src/`` layout with no project file: its tests sit beside src/, not in it
        project = start.parent if start in source_folders(start.parent) else start
    return _import_index(project)


def imported_by_others(module: str | None, filename: str | None) -> bool:
    """Another file of the project imports ``module``."""
    index = _importers(module, filename)
    return index is not None and (not index or module in index[0])


def name_imported_by_others(module: str | None, name: str, filename: str | None) -> bool:
    """Another file of the project has ``from module import name``."""
    index = _importers(module, filename)
    return index is not None and (not index or f"{module}.{name}" in index[0])


def star_imported_by_others(module: str | None, filename: str | None) -> bool:
    """Another file of the project has ``from module import *``."""
    index = _importers(module, filename)
    return index is not None and (not index or module in index[1])


def defines_all(tree: cst.Module) -> bool:
    """The module sets ``__all__``, which is then all that a star import of it takes."""
    return bool(m.findall(tree, m.AssignTarget(target=m.Name("__all__"))))
