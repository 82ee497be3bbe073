"""Which folder a chat works in when ``shim mcp`` was given no ``--workspace``: the MCP
client's one root, else the current folder; never / or the home folder (a chat there would
checkpoint all of it: a try filled 1.9 GB of store from / before it was stopped)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shim_lsp.workspace.paths import uri_to_path


@dataclass(frozen=True)
class Choice:
    folder: Path | None
    """The chat's workspace; None: no tool can serve (``refused`` says why)."""
    source: str
    """Where the folder came from: --workspace, the client's root, or the current folder."""
    refused: str | None = None
    """Why every tool is refused."""
    writes_refused: str | None = None
    """Why the tools that write (files, or SHIM's store) are refused."""
    ignored: tuple[str, ...] = ()
    """The client's roots that are no local folder (another scheme, gone), each with why."""


def not_a_project(folder: Path) -> bool:
    return folder in (Path("/"), Path(os.path.realpath(Path.home())))


def _folders(roots: Sequence[str]) -> tuple[list[Path], tuple[str, ...]]:
    """The roots that are local folders, links followed, each once; and the others, each
    with why it is not one."""
    out: list[Path] = []
    ignored: list[str] = []
    for uri in roots:
        path = uri_to_path(uri)
        if path is None or not path.is_absolute():
            ignored.append(f"{uri}: not a file: URI of a local folder")
            continue
        real = Path(os.path.realpath(path))
        if not real.is_dir():
            ignored.append(f"{uri}: no such folder")
        elif real not in out:
            out.append(real)
    return out, tuple(ignored)


def choose(roots: Sequence[str] | None, cwd: Path) -> Choice:
    """``roots``: the client's roots as URIs, or None when it offers none (no roots
    capability, or asking failed)."""
    folders, ignored = _folders(roots or [])
    found = _choose(folders, Path(os.path.realpath(cwd)))
    if ignored and not folders and found.folder is not None:
        # The client named where to work, and it is no folder here: the folder SHIM was
        # started in is not what the user meant; reading it is harmless, writing is not.
        found = replace(
            found,
            writes_refused=f"the MCP client's roots are no local folder ({ignored[0]}):"
            " SHIM refuses the tools that write until they name one (or give --workspace)",
        )
    return replace(found, ignored=ignored) if ignored else found


def _choose(folders: list[Path], cwd: Path) -> Choice:
    if len(folders) == 1:
        (root,) = folders
        if not_a_project(root):
            return Choice(
                None,
                "root",
                f"the MCP client's root is {root}, not a project: give shim mcp --workspace"
                " PROJECT",
            )
        return Choice(root, "root")
    if len(folders) > 1:
        shown = ", ".join(str(f) for f in folders[:5]) + (" ..." if len(folders) > 5 else "")
        several = (
            f"the MCP client offers {len(folders)} roots ({shown}) and SHIM's chat works in one"
            " workspace: start shim mcp with --workspace naming the one to work in"
        )
        if not_a_project(cwd):
            return Choice(None, "current folder", several)
        return Choice(cwd, "current folder", writes_refused=several)
    if not_a_project(cwd):
        return Choice(
            None,
            "current folder",
            f"shim mcp was started in {cwd}, not a project, and the MCP client offers no root:"
            " give --workspace PROJECT",
        )
    return Choice(cwd, "current folder")
