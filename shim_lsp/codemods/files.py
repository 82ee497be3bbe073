"""Which files a codemod run covers: each once, however the paths given overlap.

The folder walk skips links. A file named directly that is a link is followed to its target
when the target lies inside the project or the paths given (the target is what changes; the
link stays a link), and refused with its reason when it leads elsewhere.
"""

from __future__ import annotations

import os
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


def select(paths: list[Path], excludes: list[str], within: Iterable[Path] = ()) -> Selection:
    """Python files under the paths, minus .gitignore'd, excluded and generated folders;
    ``within`` (the project) is where a named link may lead besides the paths given."""
    settings = Settings(exclude_globs=excludes)
    places = [
        Path(os.path.realpath(p))
        for p in [*within, *paths]
        if p.exists() and not (p.is_symlink() and p.is_file())  # a link is not a place
    ]
    chosen = Selection()
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            chosen.files.append(path)

    for path in paths:
        if path.is_symlink() and path.is_file():
            target = Path(os.path.realpath(path))
            if _inside(target, places):
                add(_shown(target, path))
            else:
                chosen.refused[path] = (
                    f"a link to {target}, outside the project and the paths given; not followed"
                )
            continue
        if path.is_file():
            add(path)
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"no such file or folder: {path}")
        rules = FileRules.from_settings(path.resolve(), settings)
        rules.max_file_size = 10**12  # size is the runner's business, not the walk's
        for rel, _stat in walk(rules):
            if rel.endswith((".py", ".pyi")):
                add(path / rel)
    chosen.files.sort()
    return chosen


def python_files(paths: list[Path], excludes: list[str]) -> list[Path]:
    """The files of :func:`select`, for callers that name no links."""
    return select(paths, excludes).files
