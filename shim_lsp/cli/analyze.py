"""``shim analyze``: the server's analysis from a terminal, with a linter's exit status.

The same runner as the server's workspace run (``analysis.tree.check_tree``: one ruff process,
complexity included, the project's configuration honoured, nothing written), printed as ruff's
concise format or as JSON. Exit status as ruff's: 1 with findings, 0 without, 2 when it cannot
run (a usage error, ruff missing or failing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from shim_lsp.analysis.findings import Finding
from shim_lsp.analysis.ruff import COMPLEXITY_THRESHOLD, RuffFailure, RuffOptions, find_ruff
from shim_lsp.analysis.tree import PYTHON_SUFFIXES, check_tree
from shim_lsp.cli import CliError


def _rules(values: list[str]) -> tuple[str, ...]:
    """``--select F,E --select W`` as ruff takes them: repeated or comma-separated."""
    return tuple(r.strip() for v in values for r in v.split(",") if r.strip())


def _targets(paths: list[str]) -> list[Path]:
    """The paths to check: folders, and files that are Python (others are said and left)."""
    targets = []
    for given in paths or ["."]:
        path = Path(given)
        if not path.exists():
            raise CliError(f"{given}: no such file or folder")
        if path.is_file() and path.suffix not in PYTHON_SUFFIXES:
            print(f"shim: {given}: not a Python file (.py, .pyi), left out", file=sys.stderr)
            continue
        targets.append(path.absolute())
    return targets


def _shown(path: Path) -> str:
    """Relative to the current folder when under it, as ruff shows paths; else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _json(path: Path, f: Finding) -> dict[str, Any]:
    return {
        "path": _shown(path),
        "code": f.code,
        "message": f.message,
        "severity": f.severity,
        "line": f.start.line + 1,
        "column": f.start.column + 1,
        "end_line": f.end.line + 1,
        "end_column": f.end.column + 1,
        "url": f.url,
        "fixable": f.fix is not None and f.fix.applicability != "display-only",
    }


def cmd_analyze(args: argparse.Namespace) -> int:
    targets = _targets(args.paths)
    binary = find_ruff(args.ruff_path)
    if isinstance(binary, RuffFailure):
        raise CliError(binary.message)
    threshold = args.complexity_threshold or COMPLEXITY_THRESHOLD
    options = RuffOptions(
        select=_rules(args.select),
        ignore=_rules(args.ignore),
        complexity=None if args.no_complexity else threshold,
    )
    found: dict[Path, list[Finding]] = {}
    if targets:
        done = asyncio.run(check_tree(binary, targets, options, cwd=Path(os.getcwd())))
        if isinstance(done, RuffFailure):
            raise CliError(done.message)
        found = done.found
    rows = sorted(
        ((path, f) for path, items in found.items() for f in items),
        key=lambda pf: (_shown(pf[0]), pf[1].start),
    )
    if args.json:
        print(json.dumps([_json(path, f) for path, f in rows], indent=2))
    else:
        for path, f in rows:
            where = f"{_shown(path)}:{f.start.line + 1}:{f.start.column + 1}:"
            print(f"{where} {f.code} {f.message}" if f.code else f"{where} {f.message}")
        files = len({path for path, _f in rows})
        print(
            f"Found {len(rows)} finding{'s' * (len(rows) != 1)} in {files} file"
            f"{'s' * (files != 1)}."
            if rows
            else "All checks passed.",
            file=sys.stderr,
        )
    return 1 if rows else 0
