"""Ruff's findings as a tool: the same run as ``shim analyze`` (``analysis.tree.check_tree``:
one ruff process, complexity included, the project's configuration honoured, nothing
written), for files or the workspace."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from shim_lsp.analysis import tree
from shim_lsp.analysis.findings import finding_json
from shim_lsp.analysis.ruff import RuffFailure, RuffOptions, find_ruff
from shim_lsp.mcp.face import Face

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
        settings = engine.settings
        targets = face.targets(paths)
        for target in targets:
            if not target.exists():
                raise ToolError(f"{chat.shown(target)}: no such file or folder")
        targets = [t for t in targets if t.is_dir() or t.suffix in tree.PYTHON_SUFFIXES]
        binary = find_ruff(settings.ruff_path)
        if isinstance(binary, RuffFailure):
            raise ToolError(binary.message)
        options = RuffOptions(
            select=tuple(select or ()),
            ignore=tuple(ignore or ()),
            complexity=settings.complexity_threshold,
        )
        if not targets:
            return {"findings": [], "count": 0, "files": 0}
        done = await tree.check_tree(binary, targets, options, cwd=chat.folder)
        if isinstance(done, RuffFailure):
            raise ToolError(done.message)
        rows = sorted(
            (
                (chat.shown(path) or str(path), f)
                for path, items in done.found.items()
                # Findings quote the code: never of a secret file, nor one outside.
                if engine.workspace.contains(path) and engine.may_read(path)
                for f in items
            ),
            key=lambda row: (row[0], row[1].start),
        )
        result: dict[str, Any] = {
            "findings": [finding_json(shown, f) for shown, f in rows[:FINDINGS_MAX]],
            "count": len(rows),
            "files": len({shown for shown, _f in rows}),
        }
        left = [tree.skipped_note(p) for p in done.skipped]
        left += [tree.unread_note(chat.shown(u.path) or str(u.path), u.why) for u in done.unread]
        left += list(done.notes)
        if left:
            result["notAnalysed"] = left
        return result
