"""Which files SHIM may touch: only those really inside a workspace folder.

Every path is resolved (symlinks followed) before the check, so a link inside the workspace
that points elsewhere is treated as outside.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse


def uri_to_path(uri: str) -> Path | None:
    """The local path of a ``file:`` URI (percent-decoded), else None (untitled, remote)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    if os.name == "nt":  # drive letters and backslashes; urllib.request is slow to import
        from urllib.request import url2pathname

        return Path(url2pathname(parsed.path))
    # A byte that is not UTF-8 (%FF) stays that byte of the name, as os.fsdecode keeps it:
    # decoded as U+FFFD it would name another file, or none.
    return Path(unquote(parsed.path, errors="surrogateescape"))


_SURROGATES = re.compile("[\udc80-\udcff]+|[\ud800-\udfff]")


def _valid(found: re.Match[str]) -> str:
    run = found.group()
    if len(run) == 1 and not "\udc80" <= run <= "\udcff":
        return "\ufffd"  # a lone surrogate of the client's text
    return run.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def valid_text(text: str) -> str:
    """``text`` as any JSON reader takes it: the bytes of a file name that are not UTF-8
    (kept by Python as lone surrogates) as U+FFFD, as ruff names such a file (``shim analyze
    --json``, the server's messages, the MCP tools); any other lone surrogate too."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub(_valid, text)
    return text


def path_to_uri(path: Path | str) -> str:
    """The canonical URI of an absolute path, percent-encoded as editors send it."""
    return Path(path).as_uri()


def stored_paths(paths: Iterable[str]) -> str:
    """Absolute paths as one text SQLite takes, a line each: one whose name holds a byte
    that is not UTF-8 (kept by Python as a lone surrogate, which SQLite's text cannot hold)
    as its ``file:`` URI, every other as it is (``paths_stored`` reads both)."""
    return "\n".join(p if valid_text(p) == p else path_to_uri(p) for p in paths)


def paths_stored(text: str) -> list[str]:
    """The paths ``stored_paths`` wrote (or a plain line each, as older rows hold them)."""
    return [
        str(uri_to_path(line)) if line.startswith("file:") else line for line in text.split("\n")
    ]


_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*\Z")
"""What ``quote`` leaves as it is: most paths, which then need no quoting call."""


def is_unquoted(rel: str) -> bool:
    """True when ``quote`` would leave ``rel`` as it is."""
    return _UNQUOTED.match(rel) is not None


def child_uri(folder_uri: str, rel: str) -> str:
    """The URI of ``rel`` (a posix path) under a folder's URI: path_to_uri without the cost."""
    return folder_uri.rstrip("/") + "/" + (rel if _UNQUOTED.match(rel) else quote(rel))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize_uri(uri: str) -> str:
    """One spelling per file, whatever percent-encoding the client chose.

    A lone surrogate (valid JSON, never a real file name) is percent-encoded like any other
    character a URI cannot hold, so that SHIM's spelling can always be stored.
    """
    if not uri.isascii():
        uri = _LONE_SURROGATE.sub(lambda m: quote(m.group(), errors="surrogatepass"), uri)
    path = uri_to_path(uri)
    return path_to_uri(path) if path is not None and path.is_absolute() else uri


@dataclass(frozen=True)
class Workspace:
    """The folders of one editor window, resolved; its key identifies it in the store."""

    folders: tuple[Path, ...]

    @classmethod
    def of(cls, folders: list[Path]) -> Workspace:
        resolved = sorted({Path(os.path.realpath(f)) for f in folders})
        return cls(tuple(resolved))

    @property
    def key(self) -> str:
        text = json.dumps([str(f) for f in self.folders])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def folder_of(self, path: Path, real: Path | None = None) -> Path | None:
        """The workspace folder that really contains ``path`` (after symlinks), else None;
        ``real``: its real path, when the caller has it."""
        real = real or Path(os.path.realpath(path))
        for folder in self.folders:
            if real == folder or folder in real.parents:
                return folder
        return None

    def shown(self, uri: str) -> str:
        """A file as the user names it in messages: its path within its workspace folder (the
        folder's name first when there are several), else the URI's path."""
        path = uri_to_path(uri)
        if path is None:
            return uri
        for folder in self.folders:
            if path == folder or folder in path.parents:
                rel = path.relative_to(folder).as_posix()
                return f"{folder.name}/{rel}" if len(self.folders) > 1 else rel
        return str(path)

    def contains(self, path: Path) -> bool:
        return self.folder_of(path) is not None

    def contains_lexically(self, path: Path) -> bool:
        """Whether ``path`` itself sits in the workspace (a link there may lead outside)."""
        return self.folder_of(path.parent) is not None

    def contains_uri(self, uri: str) -> bool:
        path = uri_to_path(uri)
        return path is not None and self.contains(path)
