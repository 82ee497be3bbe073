"""The default identity of a workspace across machines: the same for every clone of one
repository at the same place inside it, read from ``.git/config`` without running git."""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _git_dir(start: Path) -> tuple[Path, Path] | None:
    """(the repository's top folder, its git folder), following a worktree's ``.git`` file."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not line.startswith("gitdir:"):
                return None
            git_dir = (folder / line.removeprefix("gitdir:").strip()).resolve()
            common = git_dir / "commondir"
            if common.is_file():  # a worktree: the config is the main repository's
                try:
                    git_dir = (git_dir / common.read_text(encoding="utf-8").strip()).resolve()
                except (OSError, UnicodeDecodeError):
                    return None
            return folder, git_dir
    return None


def _without_credentials(url: str) -> str:
    """A remote URL may carry a token (``https://user:token@host/…``, ``…?token=…``): the
    id keeps neither its userinfo nor its query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if not parts.scheme or not parts.netloc:  # scp-like ``git@host:path``: no userinfo
        return url.split("?", 1)[0].split("#", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host, query="", fragment=""))


def remote_url(git_dir: Path) -> str | None:
    """``origin``'s URL, else the first remote's, from the repository's config file."""
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(git_dir / "config", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    remotes = [s for s in config.sections() if s.startswith('remote "')]
    remotes.sort(key=lambda s: s != 'remote "origin"')
    for section in remotes:
        url = config.get(section, "url", fallback=None)
        if url:
            return _without_credentials(url.strip())
    return None


def default_workspace_id(folder: Path) -> str:
    """``git:<remote URL>:<path inside the repository>``, else ``path:<absolute path>``."""
    folder = Path(os.path.realpath(folder))
    found = _git_dir(folder)
    if found is not None:
        top, git_dir = found
        url = remote_url(git_dir)
        if url:
            inside = folder.relative_to(top).as_posix()
            return f"git:{url}:{'' if inside == '.' else inside}"
    return f"path:{folder}"
