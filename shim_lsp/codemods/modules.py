"""A file's dotted module name, found the way Python and packaging tools find it.

A name depends on the file alone, never on where a command runs or which folder it is given
as the project: in a ``src/`` layout ``src/shop/models.py`` is ``shop.models`` seen from
the project, from its parent folder or from ``tests/``. A file inside regular packages
(folders with ``__init__.py``) is named from the folder above its top package, or from
higher up when the folders between are namespace packages of the project; other files
from the source folder a project above them declares (``src/``, ``[tool.setuptools]
package-dir``, or ``[tool.setuptools.packages.find] where`` in ``pyproject.toml``) when they
are under it, else from that project's folder (the nearest with ``pyproject.toml``,
``setup.py`` or ``setup.cfg``: ``ns/mod.py`` of a namespace package is ``ns.mod``), else,
outside any project, from their own folder, as pytest names a test file outside packages
(its "basedir", which it puts on ``sys.path``) and ``python script.py`` imports its
neighbours.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from keyword import iskeyword
from pathlib import Path
from typing import Protocol, TypeVar


class _Cache(Protocol):
    def cache_clear(self) -> None: ...


Cached = TypeVar("Cached", bound=_Cache)

_PER_RUN: list[_Cache] = []
_run: list[object] = [None]
"""The run whose files the caches were filled from."""


def per_run(cached: Cached) -> Cached:
    """An ``lru_cache``'d function whose answers hold for one codemod run: the server and
    its worker processes live through many, and an ``__init__.py``, a ``pyproject.toml`` or
    an import added between two runs must be seen by the second."""
    _PER_RUN.append(cached)
    return cached


def begin_run(run: object = None) -> None:
    """Forget what the caches hold, unless they were filled in ``run`` (a worker given
    the files of one run one by one keeps them between files); None: always forget."""
    if run is None or run != _run[0]:
        for cached in _PER_RUN:
            cached.cache_clear()
        _run[0] = run


@per_run
@lru_cache(maxsize=4096)
def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file() or (folder / "__init__.pyi").is_file()


@per_run
@lru_cache(maxsize=64)
def source_folders(root: Path) -> tuple[Path, ...]:
    """Where a project's top-level modules live, besides the root itself."""
    found: list[Path] = []
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    setuptools = config.get("tool", {}).get("setuptools", {})
    package_dir = setuptools.get("package-dir", {})
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        found.append(root / package_dir[""])
    packages = setuptools.get("packages", {})
    where = packages.get("find", {}).get("where", []) if isinstance(packages, dict) else []
    if isinstance(where, list):
        found.extend(root / w for w in where if isinstance(w, str) and w not in ("", "."))
    if (root / "src").is_dir():
        found.append(root / "src")
    return tuple(dict.fromkeys(p.resolve() for p in found if p.is_dir()))


PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
"""Files that mark a project's own folder, where looking for its source folders stops."""


def import_root(path: Path) -> Path:
    """The folder ``path``'s module name starts from (``path`` resolved)."""
    folder = path.parent
    if _is_package(folder):
        while _is_package(folder.parent) and folder.parent != folder:
            folder = folder.parent
        return _namespace_base(folder.parent, path)
    base = _project_base(path)
    return folder if base is None else base[0]


def _project_base(path: Path) -> tuple[Path, bool] | None:
    """The source folder of the project above ``path`` that holds it (True), else that
    project's folder (False); None outside any project."""
    for above in path.parents:
        # Only a project declares source folders: the ``src`` of ``~/src/project`` is none.
        if any((above / name).is_file() for name in PROJECT_FILES):
            for source in source_folders(above):
                if path.is_relative_to(source):
                    return source, True
            return above, False  # its folders without __init__.py may be namespace packages
    return None


def _namespace_base(folder: Path, path: Path) -> Path:
    """Where the name of a file in a regular package whose top sits in ``folder`` starts:
    ``folder``, or higher when the folders up to the project's source folder are namespace
    packages (no ``__init__.py``). Below a source folder (``src/``) they are: only it is on
    ``sys.path``, so ``src/ns/sub/`` is ``ns.sub``. Below a project's own folder a folder
    counts only when one of its modules imports relatively, which only a package may
    (Django's ``tests/`` holds packages that its runtests.py imports as top-level ones)."""
    found = _project_base(path)
    if found is None or not folder.is_relative_to(found[0]) or folder == found[0]:
        return folder
    base, is_source = found
    if not all(p.isidentifier() and not iskeyword(p) for p in folder.relative_to(base).parts):
        return folder  # a name Python cannot import: the package is only imported below it
    if is_source:
        return base
    while folder != base and _imports_relatively(folder):
        folder = folder.parent
    return folder


_RELATIVE_IMPORT = re.compile(rb"^[ \t]*from[ \t]+\.", re.MULTILINE)


@per_run
@lru_cache(maxsize=1024)
def _imports_relatively(folder: Path) -> bool:
    """Whether a module directly in ``folder`` has a relative import."""
    try:
        modules = [p for p in folder.iterdir() if p.suffix == ".py" and p.is_file()]
    except OSError:
        return False
    for module in modules:
        try:
            if _RELATIVE_IMPORT.search(module.read_bytes()):
                return True
        except OSError:
            continue
    return False


def module_name_of(path: Path) -> str | None:
    """The dotted module name of a file, wherever the command that asks runs."""
    path = path.resolve()
    parts = list(path.relative_to(import_root(path)).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


def file_in(base: Path, name: str) -> Path | None:
    """The file Python imports the dotted module ``name`` from below ``base``: a package's
    ``__init__`` first, as the import system looks, else the module's ``.py`` or ``.pyi``."""
    module = base.joinpath(*name.split("."))
    for candidate in (
        module / "__init__.py",
        module / "__init__.pyi",
        module.with_suffix(".py"),
        module.with_suffix(".pyi"),
    ):
        if candidate.is_file():
            return candidate
    return None
