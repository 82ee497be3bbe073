"""Ruff on a buffer's text: found, run as a subprocess reading stdin, its JSON read into
findings and its fixed text returned.

Ruff runs from the file's folder with ``--stdin-filename``, so the project's configuration
nearest to the file (``pyproject.toml``, ``ruff.toml``, ``.ruff.toml``) and its excludes
apply, and never writes a file: checks pass ``--no-fix``, fixes read stdin and answer on
stdout, whatever ``fix = true`` a configuration says. Failures are values (``RuffFailure``)
worded for the user, never exceptions.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shim_lsp.analysis.findings import Finding, Fix, Replacement, Severity, Spot, Tag
from shim_lsp.analysis.ruff_command import (
    COMPLEXITY,
    COMPLEXITY_THRESHOLD,
    COMPLEXITY_THRESHOLD_MAX,
    ORGANIZE_IMPORTS,
    RuffFailure,
    RuffOptions,
    check_args,
    cut_outside,
    find_ruff,
    fix_args,
    lint_args,
    outcome,
    server_options,
    timed_out,
)

__all__ = [  # what it found in ruff_command is still found here
    "COMPLEXITY",
    "COMPLEXITY_THRESHOLD",
    "COMPLEXITY_THRESHOLD_MAX",
    "ORGANIZE_IMPORTS",
    "TIMEOUT_S",
    "RuffFailure",
    "RuffOptions",
    "check",
    "check_args",
    "find_ruff",
    "finding",
    "fix_args",
    "fixed",
    "lint_args",
    "outcome",
    "parse",
    "parse_by_file",
    "run",
    "run_both",
    "server_options",
    "timed_out",
]

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0
"""A ruff run that takes longer is stopped (ruff checks a large file in well under 1 s)."""

_UNNECESSARY_ALSO = frozenset({"redefined-while-unused"})
_TOO_COMPLEX = re.compile(r"`(?P<name>.+)` is too complex \((?P<score>\d+) > (?P<limit>\d+)\)")


def _folder(path: Path) -> Path:
    """Where ruff runs: the file's folder, or its nearest existing ancestor (a new file)."""
    for folder in path.parents:
        if folder.is_dir():
            return folder
    return Path.cwd()


async def run(
    binary: str,
    args: list[str],
    data: bytes | None,
    path: Path,
    timeout: float,
    cwd: Path | None = None,
    roots: Sequence[Path] = (),
    secret: Callable[[str], bool] | None = None,
) -> str | RuffFailure:
    """Ruff's standard output, or why there is none. ``data`` goes to its standard input
    (none: ruff reads the files it is given); it runs in ``cwd``, else beside ``path``.
    ``roots``: nothing ruff quotes of a file outside them, nor of a secret one (as
    ``secret`` judges a path, else by SHIM's own patterns), is shown (``cut_outside``).
    Cancelled or timed out, the process is killed."""
    ran = await run_both(binary, args, data, path, timeout, cwd, roots, secret)
    return ran if isinstance(ran, RuffFailure) else ran[0]


async def run_both(
    binary: str,
    args: list[str],
    data: bytes | None,
    path: Path,
    timeout: float,
    cwd: Path | None = None,
    roots: Sequence[Path] = (),
    secret: Callable[[str], bool] | None = None,
) -> tuple[str, bytes] | RuffFailure:
    """``run``, with what ruff said on stderr besides (the files it could not read)."""
    # Here, not at the top: ``shim analyze`` runs ruff without an event loop, and asyncio
    # alone is a tenth of its start (about 30 ms).
    import asyncio

    from shim_lsp.analysis.process import reap

    try:
        proc = await asyncio.create_subprocess_exec(
            binary,
            *args,
            stdin=asyncio.subprocess.PIPE if data is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd or _folder(path),
        )
    except OSError as exc:
        return RuffFailure(f"cannot run ruff ({binary}): {exc.strerror or exc}")
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout)
    except TimeoutError:
        return timed_out(binary, timeout, path)
    finally:
        await reap(proc)
    if roots:
        err = cut_outside(err, [os.path.realpath(r) for r in roots], secret)
    done = outcome(binary, proc.returncode, out, err, path)
    return done if isinstance(done, RuffFailure) else (done, err)


async def check(
    binary: str,
    text: str,
    path: Path,
    options: RuffOptions,
    timeout: float = TIMEOUT_S,
    roots: Sequence[Path] = (),
    secret: Callable[[str], bool] | None = None,
) -> list[Finding] | RuffFailure:
    """Ruff's findings in ``text``, checked as the file at ``path``; ``roots``, ``secret``:
    as ``run``'s."""
    # A lone surrogate (an editor may hold one) becomes one "?": positions stay the same.
    data = text.encode("utf-8", "replace")
    return await check_bytes(binary, data, path, options, timeout, None, roots, secret)


async def check_bytes(
    binary: str,
    data: bytes,
    path: Path,
    options: RuffOptions,
    timeout: float = TIMEOUT_S,
    cwd: Path | None = None,
    roots: Sequence[Path] = (),
    secret: Callable[[str], bool] | None = None,
) -> list[Finding] | RuffFailure:
    """Ruff's findings in ``data`` (on its standard input), checked as the file at ``path``;
    ruff runs in ``cwd`` (default: the file's folder). ``roots``, ``secret``: as ``run``'s."""
    args = check_args(path, options)
    out = await run(binary, args, data, path, timeout, cwd=cwd, roots=roots, secret=secret)
    if isinstance(out, RuffFailure):
        return out
    try:
        return parse(out)
    except (ValueError, KeyError, TypeError) as exc:
        return RuffFailure(f"ruff ({binary}) answered output SHIM cannot read: {exc}", out[:300])


async def fixed(
    binary: str,
    text: str,
    path: Path,
    options: RuffOptions,
    only: Sequence[str] = (),
    timeout: float = TIMEOUT_S,
    roots: Sequence[Path] = (),
    secret: Callable[[str], bool] | None = None,
) -> str | RuffFailure:
    """``text`` with ruff's fixes applied (safe ones, and unsafe ones if the options say);
    ``roots``, ``secret``: as ``run``'s."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return RuffFailure(
            f"{path.name} holds a lone surrogate, which is not text ruff can fix; fix it first"
        )
    args = fix_args(path, options, only)
    return await run(binary, args, data, path, timeout, roots=roots, secret=secret)


def _spot(location: dict[str, Any]) -> Spot:
    return Spot(max(int(location["row"]) - 1, 0), max(int(location["column"]) - 1, 0))


@functools.cache
def _tags(name: str) -> frozenset[Tag]:
    """What ruff's rule name says: unused code fades, deprecated code is struck through."""
    tags: set[Tag] = set()
    if name.startswith("unused-") or name in _UNNECESSARY_ALSO:
        tags.add("unnecessary")
    if "deprecated" in name:
        tags.add("deprecated")
    return frozenset(tags)


def _fix(raw: dict[str, Any] | None) -> Fix | None:
    if not raw:
        return None
    applicability = str(raw.get("applicability", "")).lower()
    if applicability not in ("safe", "unsafe"):
        applicability = "display-only"
    return Fix(
        applicability,  # type: ignore[arg-type]
        raw.get("message"),
        tuple(
            Replacement(_spot(e["location"]), _spot(e["end_location"]), e["content"])
            for e in raw["edits"]
        ),
    )


def _complexity_message(said: str) -> str:
    """Ruff's "`f` is too complex (14 > 10)", said with what the numbers are."""
    m = _TOO_COMPLEX.fullmatch(said)
    if m is None:
        return said
    return f"`{m['name']}` has a cyclomatic complexity of {m['score']} (threshold {m['limit']})"


def parse(output: str) -> list[Finding]:
    """Ruff's ``--output-format json`` (rows and columns 1-based, columns in code points)."""
    return [_finding(item) for item in json.loads(output)]


def parse_by_file(output: str) -> dict[Path, list[Finding]]:
    """Ruff's JSON for many files: the findings of each file, as ruff named it."""
    found: dict[str, list[Finding]] = {}
    for item in json.loads(output):
        found.setdefault(str(item["filename"]), []).append(_finding(item))
    return {Path(name): items for name, items in found.items()}


def _finding(item: dict[str, Any]) -> Finding:
    noqa_row = item.get("noqa_row")
    cell = item.get("cell")
    found = finding(
        code=item.get("code"),
        name=str(item.get("name") or ""),
        message=str(item["message"]),
        start=_spot(item["location"]),
        end=_spot(item["end_location"]),
        url=item.get("url") or None,
        fix=_fix(item.get("fix")),
        noqa_line=None if noqa_row is None else int(noqa_row) - 1,
    )
    return found if cell is None else found._replace(cell=int(cell))


def finding(
    code: str | None,
    name: str,
    message: str,
    start: Spot,
    end: Spot,
    url: str | None,
    fix: Fix | None = None,
    noqa_line: int | None = None,
) -> Finding:
    """One of ruff's findings as SHIM shows it, whether ``ruff check``'s JSON or ``ruff
    server``'s diagnostics told it: syntax errors are errors without a code, C901 is
    information with its numbers said, every other rule a warning tagged by its name."""
    syntax_error = code in (None, "invalid-syntax") or name == "invalid-syntax"
    if syntax_error and not message.startswith("SyntaxError"):  # ruff 0.6 says it itself
        message = f"SyntaxError: {message}"
    severity: Severity = "error" if syntax_error else "warning"
    if code == COMPLEXITY:
        severity = "information"
        message = _complexity_message(message)
    return Finding(
        code=None if syntax_error else str(code),
        message=message,
        start=start,
        end=end,
        url=url,
        fix=fix,
        noqa_line=None if syntax_error else noqa_line,
        tags=_tags(name),
        severity=severity,
    )
