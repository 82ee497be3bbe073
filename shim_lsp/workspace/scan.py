"""What a checkpoint includes, and walking the tree to find it.

Rules come from pathspec (gitignore semantics): each folder's ``.gitignore`` applies below it,
then the configured excludes and secret patterns apply everywhere. Secret patterns ignore case
and match at any depth (``.aws/credentials`` anywhere in the tree). Walking only stats files;
contents are read later, and only for files whose stat changed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from shim_lsp.settings import DEFAULT_EXCLUDE_GLOBS, Settings


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime_ns: int


@dataclass
class FileRules:
    """Decides which paths are left out; built once per settings and folder."""

    root: Path
    excludes: pathspec.GitIgnoreSpec
    secrets: SecretPatterns
    max_file_size: int
    respect_gitignore: bool
    _gitignores: dict[Path, pathspec.GitIgnoreSpec | None] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, root: Path, settings: Settings) -> FileRules:
        excludes = [*DEFAULT_EXCLUDE_GLOBS, *settings.exclude_globs]
        return cls(
            root=root,
            excludes=pathspec.GitIgnoreSpec.from_lines(excludes),
            secrets=SecretPatterns(settings.secret_globs),
            max_file_size=settings.max_file_size,
            respect_gitignore=settings.respect_gitignore,
        )

    def is_secret(self, path: Path) -> bool:
        """True for a secret by the name it is opened under or by the file it really is: a link
        ``settings.txt`` to ``.env`` is ``.env``, and must be kept out just the same."""
        named = Path(os.path.realpath(path.parent)) / path.name
        return self._secret_at(named) or self._secret_at(Path(os.path.realpath(path)))

    def _secret_at(self, path: Path) -> bool:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:  # outside this folder (never stored): judge its whole path
            rel = path.as_posix().lstrip("/")
        return self.secrets.match(rel)

    def _rel(self, path: Path, is_dir: bool = False) -> str:
        rel = path.relative_to(self.root).as_posix()
        return rel + "/" if is_dir else rel

    def _gitignore(self, folder: Path) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._gitignores:
            spec = None
            try:
                lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
                spec = pathspec.GitIgnoreSpec.from_lines(lines.splitlines())
            except OSError:
                pass
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def excluded(self, path: Path, is_dir: bool) -> bool:
        """True when ``path`` (inside root) is left out by any rule."""
        rel = self._rel(path, is_dir)
        if self.excludes.match_file(rel) or (not is_dir and self.is_secret(path)):
            return True
        if not self.respect_gitignore:
            return False
        folder = path.parent
        while True:
            spec = self._gitignore(folder)
            if spec is not None:
                sub = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(sub):
                    return True
            if folder == self.root or folder == folder.parent:
                return False
            folder = folder.parent

    def forget_gitignore(self, folder: Path) -> None:
        self._gitignores.pop(folder, None)


class SecretPatterns:
    """Secret patterns, gitignore-style, that ignore case and match at any depth, even those
    naming a folder (``.ssh/*``), which gitignore would otherwise anchor at the root.

    A walk asks once per file, so patterns without negations are joined into one regex (a
    quarter of the cost of asking pathspec pattern by pattern); with a ``!`` pattern, order
    matters and pathspec decides.
    """

    def __init__(self, patterns: list[str]) -> None:
        lines = []
        for pattern in patterns:
            pattern = pattern.strip()
            if "/" in pattern.rstrip("/") and not pattern.startswith("**/"):
                pattern = "**/" + pattern.lstrip("/")
            lines.append(pattern)
        self.spec = pathspec.GitIgnoreSpec.from_lines([line.lower() for line in lines])
        used = [p for p in self.spec.patterns if p.include is not None and p.regex is not None]
        self.regex: re.Pattern[str] | None = None
        if all(p.include for p in used):
            # Named groups mark folders for pathspec's own ordering rules; here they would clash.
            parts = [_NAMED_GROUP.sub("(?:", p.regex.pattern) for p in used if p.regex]
            anywhere = [r[len(_ANY_DEPTH) :] for r in parts if r.startswith(_ANY_DEPTH)]
            alternatives = [r for r in parts if not r.startswith(_ANY_DEPTH)]
            if anywhere:  # one walk down the folders for all of them
                alternatives.append(_ANY_DEPTH + "(?:" + "|".join(anywhere) + ")")
            joined = "|".join(f"(?:{r})" for r in alternatives) or "(?!)"
            self.regex = re.compile(joined, re.IGNORECASE)

    def match(self, rel: str) -> bool:
        """True when ``rel`` (a root-relative posix path) is a secret."""
        if self.regex is not None:
            return self.regex.match(rel) is not None
        return bool(self.spec.match_file(rel.lower()))


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_DEPTH = "^(?:.+/)?"
"""How pathspec begins the regex of a pattern that matches at any depth."""


Specs = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]
"""(.gitignore folder as a root-relative prefix like "pkg/" or "", its patterns)."""


def walk(rules: FileRules) -> Iterator[tuple[str, FileStat]]:
    """Root-relative posix paths of the regular files the rules keep, with their stat.

    Links are skipped. Each folder's .gitignore is read once and carried down to the folders
    below it. Works on strings: this runs over every file of the workspace.
    """
    root = str(rules.root)
    stack: list[tuple[str, str, Specs]] = [(root, "", ())]
    excludes, secrets = rules.excludes, rules.secrets
    while stack:
        folder, prefix, inherited = stack.pop()
        specs = inherited
        if rules.respect_gitignore:
            own = rules._gitignore(Path(folder))
            if own is not None:
                specs = (*inherited, (prefix, own))
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                st = None if is_dir else entry.stat(follow_symlinks=False)
            except OSError:
                continue
            rel = prefix + entry.name
            if is_dir:
                rel_dir = rel + "/"
                if excludes.match_file(rel_dir) or any(
                    spec.match_file(rel_dir[len(base) :]) for base, spec in specs
                ):
                    continue
                stack.append((entry.path, rel_dir, specs))
                continue
            assert st is not None
            if not stat.S_ISREG(st.st_mode) or st.st_size > rules.max_file_size:
                continue
            if (
                excludes.match_file(rel)
                or secrets.match(rel)
                or any(spec.match_file(rel[len(base) :]) for base, spec in specs)
            ):
                continue
            yield rel, FileStat(st.st_size, st.st_mtime_ns)


def stat_file(rules: FileRules, path: Path) -> FileStat | None:
    """The stat of one file if a checkpoint should hold it, else None (gone or left out)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > rules.max_file_size:
        return None
    try:
        path.relative_to(rules.root)
    except ValueError:
        return None
    if rules.excluded(path, is_dir=False):
        return None
    for parent in path.parents:
        if parent == rules.root:
            break
        if rules.excluded(parent, is_dir=True):
            return None
    return FileStat(st.st_size, st.st_mtime_ns)
