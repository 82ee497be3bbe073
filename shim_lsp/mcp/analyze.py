"""Ruff's findings as a tool: the same run as ``shim analyze`` (``analysis.tree.check_tree``:
one ruff process, complexity included, the project's configuration honoured, nothing
written), for files or the workspace."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from shim_lsp.analysis import holds, secret_files, tree
from shim_lsp.analysis.findings import finding_json
from shim_lsp.analysis.ruff import RuffFailure, RuffOptions, find_ruff
from shim_lsp.analysis.ruff_command import lossy
from shim_lsp.mcp.face import Face
from shim_lsp.workspace.paths import valid_text

FINDINGS_MAX = 500
"""Findings returned at most (the count says how many there are)."""

Rule = Annotated[str, Field(pattern=r"^[A-Z]{1,10}[0-9]{0,4}$")]
"""A ruff rule code or prefix (``F``, ``E501``, ``ALL``): nothing else reaches ruff's
command line."""
RULES = Field(description="ruff rule codes or prefixes, e.g. ['F', 'E501']", max_length=100)


def register(server: MCPServer[Any], face: Face) -> None:
    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def shim_analyze(
        paths: Annotated[
            list[str] | None,
            Field(description="files or folders (relative to the workspace); none: all of it"),
        ] = None,
        select: Annotated[list[Rule] | None, RULES] = None,
        ignore: Annotated[list[Rule] | None, RULES] = None,
    ) -> dict[str, Any]:
        """Ruff's findings (lint rules, plus functions over SHIM's complexity threshold) in
        Python files of the workspace, as `shim analyze --json` gives them: path, line,
        column, rule code, message, severity, whether ruff can fix it. The project's ruff
        configuration applies unless select/ignore say otherwise. Nothing is changed."""
        chat = face.chat
        engine = chat.engine

        def named(path: str | Path) -> str:
            """As the chat sees it, valid Unicode (a byte that is not UTF-8 as U+FFFD)."""
            return lossy(chat.shown(path) or str(path))

        settings = engine.settings
        left: list[str] = []
        targets = []
        for given, target in zip(paths or [""], face.targets(paths), strict=True):
            try:
                mode = os.stat(target).st_mode
            except OSError as exc:
                # A link named that leads to nothing is said by its name, not its target's.
                link = chat.folder / given if given else target
                if not os.path.islink(link):
                    link = target
                if exc.errno == errno.ENOENT and not os.path.lexists(link):
                    raise ToolError(f"{chat.shown(target)}: no such file or folder") from exc
                # A link to nothing, a folder on the way SHIM may not search: as a run says.
                shown = chat.shown(link) or str(link)
                left.append(tree.unread_note(shown, tree.why_unread(link)))
                continue
            if stat.S_ISDIR(mode):
                targets.append(target)
            elif not stat.S_ISREG(mode):  # ruff would wait on a FIFO for ever
                what = holds.special(target) or "not a regular file"
                left.append(holds.left_out(chat.shown(target) or str(target), what))
            elif target.suffix in tree.PYTHON_SUFFIXES:
                targets.append(target)
        binary = find_ruff(settings.ruff_path)
        if isinstance(binary, RuffFailure):
            raise ToolError(binary.message)
        options = RuffOptions(
            select=tuple(select or ()),
            ignore=tuple(ignore or ()),
            complexity=settings.complexity_threshold,
        )
        if not targets:
            nothing: dict[str, Any] = {"findings": [], "count": 0, "files": 0}
            return {**nothing, "notAnalysed": [valid_text(x) for x in left]} if left else nothing
        done = await tree.check_tree(
            binary,
            targets,
            options,
            cwd=chat.folder,
            secret=lambda name: engine.secret_under(Path(name)) is not None,
        )
        if isinstance(done, RuffFailure):
            raise ToolError(done.message)
        withholding = secret_files.Withholding()
        rows = []
        for path, items in done.found.items():
            # Findings quote the code: never of a secret file (said), nor one outside.
            if not engine.workspace.contains(path):
                continue
            if engine.may_read(path):
                rows += [(named(path), f) for f in items]
            elif (rules := engine.secret_under(path)) is not None:
                withholding.add(rules.root, path, len(items), rules.secrets.match)
        rows.sort(key=lambda row: (row[0], row[1].start))
        result: dict[str, Any] = {
            "findings": [finding_json(shown, f) for shown, f in rows[:FINDINGS_MAX]],
            "count": len(rows),
            "files": len({shown for shown, _f in rows}),
        }
        withheld = [
            secret_files.note(chat.shown(w.path) or str(w.path), w) for w in withholding.withheld()
        ]
        if withheld:
            result["notShown"] = withheld
        left += [holds.shown(tree.skipped_note(p), named) for p in done.skipped]
        left += [tree.unread_note(named(u.path), holds.shown(u.why, lossy)) for u in done.unread]
        left += [holds.shown(note, named) for note in done.notes]
        if left:
            result["notAnalysed"] = [valid_text(line) for line in left]
        return result
