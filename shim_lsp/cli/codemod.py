"""``shim codemod``: run a codemod over files from a terminal, like the libcst CLI."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any

from shim_lsp.cli import CliError
from shim_lsp.codemods.files import python_files
from shim_lsp.codemods.registry import ArgSpec, CodemodInfo, discover
from shim_lsp.codemods.runner import CodemodSpec, Job, Summary, run
from shim_lsp.workspace.files import decode, write_atomic


def _coerce(spec: ArgSpec, text: str) -> Any:
    if spec.type == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise CliError(f"--arg {spec.name}: expected true or false, got {text!r}")
    if spec.type in ("int", "float"):
        try:
            return int(text) if spec.type == "int" else float(text)
        except ValueError as exc:
            raise CliError(f"--arg {spec.name}: expected a number, got {text!r}") from exc
    return text


def codemod_args(info: CodemodInfo, pairs: list[str]) -> dict[str, Any]:
    specs = {a.name: a for a in info.args}
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"--arg takes KEY=VALUE, got {pair!r}")
        if key not in specs:
            known = ", ".join(specs) or "none"
            raise CliError(f"{info.name} has no argument {key!r} (it takes: {known})")
        args[key] = _coerce(specs[key], value)
    missing = [a.name for a in info.args if a.required and a.name not in args]
    if missing:
        raise CliError(f"{info.name} needs --arg for: {', '.join(missing)}")
    return args


def _list(codemods: dict[str, CodemodInfo], as_json: bool) -> int:
    if as_json:
        print(json.dumps([c.to_json() for c in codemods.values()], indent=2))
        return 0
    for info in codemods.values():
        print(f"{info.name}\n    {info.description}")
        for a in info.args:
            need = "required" if a.required else f"default {a.default!r}"
            print(f"    --arg {a.name}=<{a.type}>  ({need}) {a.help}".rstrip())
    return 0


def cmd_codemod(args: argparse.Namespace) -> int:
    root = Path(args.root or os.getcwd()).resolve()
    codemods, problems = discover(roots=[root])
    for problem in problems:
        print(f"shim: {problem}", file=sys.stderr)
    if args.list or not args.name:
        return _list(codemods, args.json)
    info = codemods.get(args.name)
    if info is None:
        raise CliError(f"no codemod {args.name!r}; `shim codemod --list` shows them")
    spec = CodemodSpec(info.module, info.cls, codemod_args(info, args.arg))
    try:
        files = python_files([Path(p) for p in args.paths or ["."]], args.exclude)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    bar = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc=info.name, file=sys.stderr)

    def progress(summary: Summary, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = len(summary.results)
            bar.set_postfix_str(summary.line(), refresh=True)

    try:
        summary = run(
            spec,
            [Job(f) for f in files],
            workers=args.jobs,
            timeout=args.timeout,
            root=root,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    writes = not (args.dry_run or args.diff)
    for result in sorted(summary.results, key=lambda r: r.path):
        if result.status in ("failed", "skipped"):
            print(f"{result.status} {result.path}: {result.reason}", file=sys.stderr)
        for warning in result.warnings:
            print(f"warning {result.path}: {warning}", file=sys.stderr)
        if result.status != "changed" or result.new is None:
            continue
        if args.diff:
            path = Path(result.path)
            old = decode(path.read_bytes(), path).splitlines(True)
            new = decode(result.new, path).splitlines(True)
            sys.stdout.writelines(difflib.unified_diff(old, new, result.path, result.path))
        if writes:
            write_atomic(Path(result.path), result.new)
    if args.json:
        print(
            json.dumps(
                {
                    "summary": summary.line(written=writes),
                    "breakdown": summary.breakdown(),
                    "files": [
                        {"path": r.path, "status": r.status, "reason": r.reason}
                        for r in summary.results
                        if r.status != "unchanged"
                    ],
                },
                indent=2,
            )
        )
    else:
        print(summary.line(written=writes), file=sys.stderr)
        for line in summary.breakdown():
            print(f"  {line}", file=sys.stderr)
    return 1 if summary.count("failed") else 0
