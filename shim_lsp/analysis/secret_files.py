"""The Python files a whole-folder run leaves unshown for their secret names.

Ruff walks the folders itself and is not told SHIM's secret patterns, so it checks a file
named ``id_rsa.py`` (or a link to it) like any other; SHIM never shows what it found there,
as findings quote the code. Such a file is said not analysed, one line each, as a file ruff
could not read is: found here as a checkpoint finds files (excluded and ignored folders not
entered, links not followed), by the same rules, without reading any of them. A folder whose
own name is secret (a virtualenv named ``.env``) is one note, however many files it holds,
and is not counted as a file not analysed: SHIM does not know ruff's own excludes, which
often leave such a folder out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from shim_lsp.analysis.tree import PYTHON_SUFFIXES, Unread, within

if TYPE_CHECKING:
    from shim_lsp.workspace.scan import FileRules

SECRET_FOUND = (
    "its name marks it as a secret file (.env, id_rsa*, *.pem...), whose findings SHIM never shows"
)


class Secrets(NamedTuple):
    files: list[Unread]
    """Secret Python files, and links to one, outside any secret folder."""
    folders: list[Path]
    """The topmost secret folders that hold Python files."""


def folder_note(folder: Path | str) -> str:
    """What the user is told of a secret folder (``folder``: as the face names it)."""
    return (
        f"the findings of the Python files in {folder} are not shown: its name marks it as a"
        " secret folder (.env, .ssh...)"
    )


def secret_python_files(rules: FileRules) -> Secrets:
    """The secret Python files and folders under ``rules.root`` that a run over it would
    check; a link leading out of it is not one of them (a run leaves it out, and says so
    where it says such links)."""
    from shim_lsp.workspace.scan import walk_folders

    root = rules.root
    real_root = os.path.realpath(root)
    excludes, secret = rules.matcher(rules.excludes), rules.secrets.match
    found: list[Unread] = []
    folders: set[Path] = set()
    tops: dict[str, str | None] = {"": None}
    """Per folder walked ("pkg/sub/"), the topmost secret folder it is in or is, if any."""
    for listing in walk_folders(rules):
        prefix = listing.prefix
        if prefix:
            parent = prefix[: prefix.rstrip("/").rfind("/") + 1]
            top = tops.get(parent)
            tops[prefix] = top if top is not None else (prefix if secret(prefix) else None)
        top = tops[prefix]
        for name, st in listing.files:
            if not name.endswith(PYTHON_SUFFIXES):
                continue
            rel = prefix + name
            link = stat.S_ISLNK(st.st_mode)
            if top is None and not link and not secret(rel):
                continue  # most files: one match of the name
            if excludes(rel) or any(match(rel[len(base) :]) for base, match in listing.specs):
                continue
            if top is not None:
                folders.add(root / top.rstrip("/"))
                break
            if not link or secret(rel):
                found.append(Unread(root / rel, SECRET_FOUND))
            else:
                path = root / rel
                if within(os.path.realpath(path), real_root) and rules.is_secret(path):
                    found.append(Unread(path, SECRET_FOUND))
    return Secrets(sorted(found), sorted(folders))


def default_rules(root: Path) -> FileRules:
    """The rules of a server without settings (``FileRules.from_settings(root, Settings())``),
    without loading the settings: ``shim analyze`` makes them beside ruff."""
    import pathspec

    from shim_lsp.workspace.defaults import DEFAULT_EXCLUDE_GLOBS, DEFAULT_SECRET_GLOBS
    from shim_lsp.workspace.scan import FileRules, SecretPatterns

    return FileRules(
        root=root,
        excludes=pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDE_GLOBS),
        secrets=SecretPatterns(list(DEFAULT_SECRET_GLOBS)),
        max_file_size=0,  # no size is judged: no file is read
        respect_gitignore=True,
    )
