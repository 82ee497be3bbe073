"""Which files a codemod run covers: each once, however the paths given overlap.

The folder walk skips links. A file named directly that is a link is followed to its target
when the target lies inside the project or the paths given (the target is what changes; the
link stays a link), and refused with its reason when it leads elsewhere. A named pipe,
socket or device is refused with what it is, never opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shim_lsp.settings import Settings
from shim_lsp.workspace.scan import FileRules, walk


@dataclass
class Selection:
    files: list[Path] = field(default_factory=list)
    """Each file once, sorted, as the paths given name it (a followed link: its target)."""
    refused: dict[Path, str] = field(default_factory=dict)
    """Files named on purpose that are left out, with why (a link leading elsewhere)."""


def _shown(target: Path, given: Path) -> Path:
    """A link's target as the user would write it: relative when the link was."""
    if not given.is_absolute():
        try:
            return target.relative_to(Path.cwd())
        except ValueError:
            pass
    return target


def _inside(path: Path, places: Iterable[Path]) -> bool:
    return any(path == place or path.is_relative_to(place) for place in places)


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(path: Path) -> str | None:
    """What a path that is neither a file nor a folder is, from its stat alone (opening a
    named pipe would wait for a writer); None when it is gone or a dangling link."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a file or a folder")


def select(paths: list[Path], excludes: list[str], within: Iterable[Path] = ()) -> Selection:
    """Python files under the paths, minus .gitignore'd, excluded and generated folders;
    ``within`` (the project) is where a named link may lead besides the paths given.

    A file is chosen only where it really is (links followed) inside the project or inside a
    path given without a link on the way: a path reached through a link to a folder elsewhere
    is refused like a link to a file elsewhere. A folder inside the project is judged by the
    project's rules (its .gitignore files and ``excludes`` read from the project's root), as
    a whole-project run would judge it."""
    settings = Settings(exclude_globs=excludes)
    roots = [Path(os.path.realpath(p)) for p in within if p.is_dir()]
    places = [
        *roots,
        *(
            Path(os.path.realpath(p))
            for p in paths
            if p.exists() and os.path.realpath(p) == os.path.abspath(p)  # no link on the way
        ),
    ]
    chosen = Selection()
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            chosen.files.append(path)

    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"no such file or folder: {path}")
        target = Path(os.path.realpath(path))
        if not _inside(target, places):
            how = "a link to" if path.is_symlink() else "reached through a link, at"
            chosen.refused[path] = (
                f"{how} {target}, outside the project and the paths given; not followed"
            )
            continue
        if path.is_symlink() and path.is_file():
            add(_shown(target, path))
            continue
        if path.is_file():
            add(path)
            continue
        if not path.is_dir():
            kind = _kind(path)
            if kind is None:
                raise FileNotFoundError(f"no such file or folder: {path}")
            chosen.refused[path] = f"not a regular file ({kind}); not read"
            continue
        root = next((r for r in roots if _inside(target, [r])), target)
        rules = FileRules.from_settings(root, settings)
        rules.max_file_size = 10**12  # size is the runner's business, not the walk's
        under = target.relative_to(root).as_posix()
        prefix = "" if under == "." else under + "/"
        for rel, _stat in walk(rules):
            if rel.endswith((".py", ".pyi")) and rel.startswith(prefix):
                add(path / rel[len(prefix) :])
    chosen.files.sort()
    return chosen


def python_files(paths: list[Path], excludes: list[str]) -> list[Path]:
    """The files of :func:`select`, for callers that name no links."""
    return select(paths, excludes).files
