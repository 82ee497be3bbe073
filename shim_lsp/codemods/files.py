"""Which files a codemod run covers."""

from __future__ import annotations

from pathlib import Path

from shim_lsp.settings import Settings
from shim_lsp.workspace.scan import FileRules, walk


def python_files(paths: list[Path], excludes: list[str]) -> list[Path]:
    """Python files under the paths, minus .gitignore'd, excluded and generated folders."""
    settings = Settings(exclude_globs=excludes)
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"no such file or folder: {path}")
        rules = FileRules.from_settings(path.resolve(), settings)
        rules.max_file_size = 10**12  # size is the runner's business, not the walk's
        found.extend(path / rel for rel, _stat in walk(rules) if rel.endswith((".py", ".pyi")))
    return sorted(found)
