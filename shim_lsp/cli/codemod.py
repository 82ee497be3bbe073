"""``shim codemod``: run a codemod over files from a terminal, like the libcst CLI."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shim_lsp.cli import CliError
from shim_lsp.codemods.args import CodemodArgError, check_args
from shim_lsp.codemods.files import select
from shim_lsp.codemods.registry import CodemodInfo, discover
from shim_lsp.codemods.runner import CodemodSpec, FileResult, Job, Summary, run
from shim_lsp.codemods.unmatched import unmatched
from shim_lsp.codemods.writes import write_changed


def codemod_args(info: CodemodInfo, pairs: list[str], root: Path | None = None) -> dict[str, Any]:
    """``--arg KEY=VALUE`` pairs, checked as every face checks them, worded for the CLI."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"--arg takes KEY=VALUE, got {pair!r}")
        if key in values:
            raise CliError(
                f"--arg {key} is given twice ({values[key]!r} and {value!r}); give it once"
            )
        values[key] = value
    try:
        return check_args(info, values, from_text=True, root=root)
    except CodemodArgError as exc:
        if exc.problem == "unknown":
            raise CliError(
                f"{info.name} has no argument {exc.names[0]!r} (it takes: {exc.known})"
            ) from exc
        if exc.problem == "missing":
            raise CliError(f"{info.name} needs --arg for: {', '.join(exc.names)}") from exc
        if not exc.names:
            raise CliError(f"{info.name}: {exc.detail}") from exc
        raise CliError(f"--arg {exc.names[0]}: {exc.detail}") from exc


_LINE = re.compile(rb"[^\n]*\n|[^\n]+")
"""A line as ``patch`` and ``git apply`` count them: up to a LF (a CR alone ends none)."""


def unified_diff(old: bytes, new: bytes, name: str) -> Iterator[bytes]:
    """A patch that ``git apply`` and ``patch`` take, of the bytes as they are (any
    encoding, any line endings): a last line without LF is marked ``\\ No newline at end
    of file``, which difflib leaves out (python/cpython#46395; black adds it the same way)."""
    label = os.fsencode(name)
    for line in difflib.diff_bytes(
        difflib.unified_diff, _LINE.findall(old), _LINE.findall(new), label, label
    ):
        yield line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n"


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


def _say_unmatched(spec: CodemodSpec, files: list[Path]) -> None:
    """Nothing changed, and the name the codemod looks for names nothing in the project:
    said, with the nearest names. The exit status stays 0, as ruff's does for "no Python
    files found" and libcst's codemod CLI's for no change: a second run of a codemod that
    worked (the old name gone) must not fail."""
    for key, is_module in (("old_name", False), ("old_module", True)):
        dotted = spec.args.get(key)
        if isinstance(dotted, str):
            hint = unmatched(dotted, files, is_module=is_module)
            if hint is not None:
                print(f"shim: {hint}", file=sys.stderr)


def cmd_codemod(args: argparse.Namespace) -> int:
    root = Path(args.root or os.getcwd()).resolve()
    if not root.is_dir():
        raise CliError(f"--root {args.root}: no such folder")
    codemods, problems = discover(roots=[root])
    for problem in problems:
        print(f"shim: {problem}", file=sys.stderr)
    if args.list or not args.name:
        return _list(codemods, args.json)
    info = codemods.get(args.name)
    if info is None:
        raise CliError(f"no codemod {args.name!r}; `shim codemod --list` shows them")
    if args.jobs < 0:
        raise CliError(f"--jobs must be 0 (one per CPU) or more, not {args.jobs}")
    if not 0 < args.timeout < float("inf"):
        raise CliError(f"--timeout must be a number of seconds above 0, not {args.timeout:g}")
    spec = CodemodSpec(info.module, info.cls, codemod_args(info, args.arg, root))
    try:
        chosen = select([Path(p) for p in args.paths or ["."]], args.exclude, within=[root])
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    files = chosen.files
    bar = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: the workers are forked from here

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
            workers=args.jobs or os.cpu_count() or 2,
            timeout=args.timeout,
            root=root,
            progress=progress,
            fork=threading.active_count() == 1,  # forking is safe with no other thread
        )
    finally:
        if bar is not None:
            bar.close()
    summary.results.extend(FileResult(str(p), "skipped", why) for p, why in chosen.refused.items())
    writes = not (args.dry_run or args.diff)
    if args.diff:
        sys.stdout.flush()
        out = sys.stdout.buffer
        for result in sorted(summary.results, key=lambda r: r.path):
            if result.status == "changed" and result.new is not None:
                old = result.old or Path(result.path).read_bytes()
                out.writelines(unified_diff(old, result.new, result.path))
        out.flush()
    held_back = write_changed(summary, together=spec.together()) if writes else 0
    for result in sorted(summary.results, key=lambda r: r.path):
        if result.status in ("failed", "skipped"):
            print(f"{result.status} {result.path}: {result.reason}", file=sys.stderr)
        for warning in result.warnings:
            print(f"warning {result.path}: {warning}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "summary": summary.line(written=writes),
                    "breakdown": summary.breakdown(),
                    "written": writes and summary.count("changed") > 0,
                    "files": [
                        {"path": r.path, "status": _status(r, writes), "reason": r.reason}
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
    if not any(summary.count(s) for s in ("changed", "failed")) and not any(
        r.warnings for r in summary.results
    ):
        _say_unmatched(spec, files)
    if held_back:
        print(
            f"shim: {info.name}: nothing was written ({held_back} of its changes): they go"
            " together, and a file could not take its change (see the files above)",
            file=sys.stderr,
        )
    return 1 if summary.count("failed") or held_back else 0


def _status(result: FileResult, written: bool) -> str:
    """A file's status as the summary line words it: a dry run's ``changed`` is a file
    that would change and was not written."""
    return "would change" if result.status == "changed" and not written else result.status
