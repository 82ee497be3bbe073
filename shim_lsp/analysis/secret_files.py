"""Findings SHIM withholds for a file's secret name, and how that is said.

Ruff walks the folders itself and is not told SHIM's secret patterns: it checks a file named
``id_rsa_tool.py`` (or a link to a secret) like any other, and SHIM never shows what it found
there, as findings quote the code (``Undefined name `hunter2```). What is withheld is said,
never silently dropped: one line per secret file with findings, one per topmost secret folder
(a virtualenv named ``.env``) however many of its files had findings; the run's summary and
exit status count them as findings. Judged from ruff's findings alone, with no walk of SHIM's
own: a second walk of Django's tree beside ruff cost ``shim analyze`` ~33 ms of its ~390 (it
took ~100 ms of CPU from ruff, which keeps both cores busy), and a secret file in which ruff
found nothing has nothing withheld to say.

Standard library only: ``shim analyze`` loads it beside ruff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

SECRET_FILE = "its name marks it as a secret file (.env, id_rsa*, *.pem...)"
SECRET_FOLDER = "its name marks it as a secret folder (.env, .ssh...)"


class Withheld(NamedTuple):
    """A file's findings withheld: the secret file itself, or the topmost secret folder
    holding it (``folder``), and how many."""

    path: Path
    folder: bool
    findings: int


def secret_folder(root: Path, path: Path, match: Callable[[str], bool]) -> Path | None:
    """The topmost folder between ``root`` and ``path`` whose name ``match`` says is secret
    (``match`` takes a root-relative path, a folder's ending in a slash), if any."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        return None
    prefix = ""
    for part in parts:
        prefix += part + "/"
        if match(prefix):
            return root / prefix.rstrip("/")
    return None


class Withholding:
    """The findings withheld in a run, gathered file by file."""

    def __init__(self) -> None:
        self._counts: dict[tuple[Path, bool], int] = {}

    def add(self, root: Path, path: Path, count: int, match: Callable[[str], bool]) -> None:
        """``path``, under the folder ``root`` whose secret patterns ``match`` has, is a
        secret (by its name, a folder's or what a link leads to): its ``count`` findings are
        withheld."""
        folder = secret_folder(root, path, match)
        key = (path, False) if folder is None else (folder, True)
        self._counts[key] = self._counts.get(key, 0) + count

    def withheld(self) -> list[Withheld]:
        """By path, a folder before the files beside it of the same name."""
        return sorted(Withheld(path, folder, n) for (path, folder), n in self._counts.items())

    def count(self) -> int:
        return sum(self._counts.values())


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def message(item: Withheld) -> str:
    """What is said of ``item``, after its name."""
    found = plural(item.findings, "finding")
    if item.folder:
        return f"{found} in its Python files not shown: {SECRET_FOLDER}"
    return f"{found} not shown: {SECRET_FILE}"


def note(shown: str, item: Withheld) -> str:
    """The line the user is told of ``item`` (``shown``: its path as the face names it)."""
    return f"{shown}: {message(item)}"
