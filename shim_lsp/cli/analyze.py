"""``shim analyze``: the server's analysis from a terminal, with a linter's exit status.

The same run as the server's workspace run (``analysis.tree``: one ruff process, complexity
included, the project's configuration honoured, nothing written; here ``TreeRun``, which starts
ruff first and lets this command load and prepare the rest while ruff works), printed as ruff's
concise format or as JSON. With ``--type-check``, mypy's findings too, from a daemon of
the server's kind run in the current folder for this one check. Exit status as ruff's: 1 with
findings (those of a secret file withheld, and said), or a path not analysed (unreadable, a
link to nothing, a secret named, a named link leading out of the current folder: one line
each, never "All checks passed."), 0 without, 2
when it cannot run (a usage error, ruff missing or failing; a type check that did not run,
when nothing else was found).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shim_lsp.analysis import holds, secret_files, tree
from shim_lsp.analysis.links import LinkSearch
from shim_lsp.analysis.ruff_command import (
    COMPLEXITY_THRESHOLD,
    RuffFailure,
    RuffOptions,
    find_ruff,
)
from shim_lsp.analysis.tree import PYTHON_SUFFIXES
from shim_lsp.cli import CliError, configure_logging
from shim_lsp.workspace.defaults import default_state_dir

if TYPE_CHECKING:
    from shim_lsp.analysis import mypy_daemon
    from shim_lsp.analysis.findings import Finding
    from shim_lsp.workspace.secrets import SecretMatcher

# Ruff is the long pole of ``shim analyze``: only the standard library and SHIM's modules
# that need nothing else load before it starts (the link search, ruff's command line). The
# rest (the findings, the secret patterns, mypy's daemon, asyncio; never the settings,
# nor pathspec) loads once ruff is running, beside it.


def _rules(values: list[str]) -> tuple[str, ...]:
    """``--select F,E --select W`` as ruff takes them: repeated or comma-separated."""
    return tuple(r.strip() for v in values for r in v.split(",") if r.strip())


def _targets(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The paths to check: folders, and regular files that are Python (others are said and
    left), and those named that are not analysed, with why: a link leading nowhere, a path
    SHIM cannot reach (a folder on the way it may not search, a loop, a name too long), a
    secret file (never read: ruff is not given it), a path named under the current folder
    that a link leads out of it (as a folder run leaves such a link out: naming it does not
    make SHIM read there; a path named elsewhere, ``../other`` or absolute, is checked where
    it is)."""
    try:
        here = os.getcwd()
    except OSError as exc:
        raise CliError(f"the current folder cannot be found ({exc.strerror}): cd again") from exc
    real_here = os.path.realpath(here)
    targets = []
    unread: list[tuple[str, str]] = []
    for given in paths or ["."]:
        path = Path(given)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            gone = exc.errno == errno.ENOENT
            if gone and not os.path.lexists(path):
                raise CliError(f"{quoted(given)}: no such file or folder") from exc
            # A Python link to nothing, a folder on the way SHIM may not search, a loop, a
            # name too long: not analysed, said as a file the walk finds so is.
            unread.append((given, tree.why_unread(path)))
            continue
        if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):  # ruff would wait on a FIFO
            print(f"shim: {quoted(given)}: not a regular file, left out", file=sys.stderr)
            continue
        if stat.S_ISREG(mode) and path.suffix not in PYTHON_SUFFIXES:
            shown = quoted(given)
            print(f"shim: {shown}: not a Python file (.py, .pyi), left out", file=sys.stderr)
            continue
        if stat.S_ISREG(mode) and _secret(path.absolute()):
            unread.append((given, SECRET))
            continue
        named = os.path.abspath(given)
        if tree.within(named, here) and not tree.within(os.path.realpath(named), real_here):
            unread.append((given, LEADS_OUT))
            continue
        targets.append(path.absolute())
    return targets, unread


LEADS_OUT = "a link leads it outside the current folder, where SHIM does not read"

SECRET = "its name marks it as a secret file (.env, id_rsa*, *.pem...), which SHIM never reads"


def _secret(path: Path) -> bool:
    """A file is judged as ``_judge`` judges it: by its name, its folders' names under the
    current folder (the whole path outside it) and what a link leads to, by SHIM's own
    patterns: ``shim analyze .ssh/conf.py`` names a secret as a run over the folder above
    finds one."""
    from shim_lsp.workspace.secrets import DefaultSecrets, is_secret

    return is_secret(DefaultSecrets(), Path.cwd(), path)


def _judge(
    targets: list[Path], real: tree.RealPaths, secrets: SecretMatcher
) -> Callable[[Path], tuple[bool, Path | None]]:
    """Findings quote the code (``Undefined name `hunter2```): as the server does, a secret
    file (by its name, a folder's, or what a link leads to, judged under the current folder
    as a server judges under its workspace folder, the whole path outside it) and a link
    leading out of the folder checked (the current folder for a named file or an import) are
    never printed. For a file with findings: whether they may be printed, and the folder its
    secret name is judged under (whose findings are withheld, and said so), if it is one.
    ``secrets``: SHIM's own patterns, as a server without settings has them; ``real``: the
    real paths known."""
    from shim_lsp.workspace.secrets import secret_at

    cwd = Path.cwd()
    here = str(cwd)
    folders = {t: (str(t).rstrip("/") + "/", real.folder(str(t))) for t in targets if t.is_dir()}

    def judge(path: Path) -> tuple[bool, Path | None]:
        name = str(path)
        resolved = real.file(name)
        folder = next((t for t, (under, _) in folders.items() if name.startswith(under)), None)
        if folder is not None and not tree.within(resolved, folders[folder][1]):
            return False, None
        named = os.path.join(real.folder(os.path.dirname(name)), os.path.basename(name))
        # As ``is_secret``: by its name in its real folder, and a link by what it leads to.
        if secret_at(secrets, here, named) or (
            resolved != named and secret_at(secrets, here, resolved)
        ):
            return False, cwd
        return True, None

    return judge


_UNUSUAL = re.compile(r'[\x00-\x1f\x7f"\\\udc80-\udcff]')
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def quoted(name: str) -> str:
    """A path as one unambiguous token of a line, as git quotes one (``core.quotePath``
    off): as it is, unless it holds a control character, a byte that is not UTF-8 (kept by
    Python as a lone surrogate), a quote or a backslash; then in double quotes with C escapes
    (``"new\\nline.py"``, ``"b\\377.py"``). Ruff prints a newline as it is, and U+FFFD
    for a byte that is not UTF-8."""
    if not _UNUSUAL.search(name):
        return name
    out = []
    for ch in name:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\{code - 0xDC00:03o}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _json_name(name: str) -> str:
    """A path in ``--json``: valid Unicode for every reader, a byte that is not UTF-8 as
    U+FFFD (as ruff's JSON gives it; the text output has the bytes)."""
    return os.fsencode(name).decode("utf-8", "replace") if _UNUSUAL.search(name) else name


def _shown(path: Path, cwd: str) -> str:
    """Relative to the current folder (``cwd``, ending in a slash) when under it, as ruff
    shows paths; else absolute."""
    name = str(path)
    return name[len(cwd) :] if name.startswith(cwd) else name


def _readable(targets: list[Path]) -> tree.Readable:
    """The Python files mypy is given, one by one: those SHIM may read under each folder
    (its ``FileRules``), and the files named that are not secret."""
    from shim_lsp.settings import Settings
    from shim_lsp.workspace.scan import FileRules

    files: list[Path] = []
    refused: list[Path] = []
    for target in targets:
        rules = FileRules.from_settings(target if target.is_dir() else target.parent, Settings())
        if target.is_dir():
            found = tree.readable_python_files(rules)
            secret = {f for f in found.files if _secret(f)}  # a folder named .ssh, say
            files += [f for f in found.files if f not in secret]
            refused += [*found.refused, *secret]
        elif _secret(target) or not os.access(target, os.R_OK):
            refused.append(target)  # an unreadable one is said not analysed by ruff's run
        else:
            files.append(target)
    return tree.Readable(tuple(files), tuple(refused))


async def _type_check(
    binary: str, readable: tree.Readable
) -> dict[Path, list[Finding]] | mypy_daemon.MypyFailure:
    """Mypy's findings in the files it is given. Where an import could reach what SHIM must
    not read (a secret, a link leading out), mypy follows no import to a file it was not
    given (``--follow-imports=skip``): such a module is ``Any``, and is never read."""
    import asyncio

    from shim_lsp.analysis import mypy_daemon

    if not readable.files:
        return {}
    daemon = mypy_daemon.Daemon(
        binary, Path(os.getcwd()), mypy_daemon.import_flags(readable.refused)
    )
    try:
        done = await daemon.check(readable.files)
    finally:
        await daemon.stopped()
    if isinstance(done, mypy_daemon.MypyFailure):
        return done
    by_file = await asyncio.to_thread(mypy_daemon.findings_by_file, readable.files, done)
    return {path: items for path, (_text, items) in by_file.items() if items}


def _one_line(message: str) -> str:
    return " ".join(message.split())


def cmd_analyze(args: argparse.Namespace) -> int:
    targets, unread = _targets(args.paths)
    binary = find_ruff(args.ruff_path)
    if isinstance(binary, RuffFailure):
        raise CliError(binary.message)
    dmypy: str | None = None
    failed: mypy_daemon.MypyFailure | None = None
    if args.type_check:
        from shim_lsp.analysis import mypy_daemon

        checker = mypy_daemon.find_dmypy(args.type_checker_path)
        if isinstance(checker, mypy_daemon.MypyFailure):
            failed = checker  # said after ruff's findings, which are printed all the same
        else:
            dmypy = checker
    threshold = args.complexity_threshold or COMPLEXITY_THRESHOLD
    options = RuffOptions(
        select=_rules(args.select),
        ignore=_rules(args.ignore),
        complexity=None if args.no_complexity else threshold,
    )
    found: dict[Path, list[Finding]] = {}
    running = (
        tree.TreeRun.start(
            binary,
            targets,
            options,
            cwd=Path(os.getcwd()),
            search=LinkSearch(default_state_dir),  # found when first needed
            outside_wanted=False,  # never printed: sandboxed, searched only if ruff is refused
        )
        if targets
        else None
    )
    if isinstance(running, RuffFailure):
        raise CliError(holds.shown(running.message, quoted))
    real = tree.RealPaths()
    cwd = os.getcwd().rstrip("/") + "/"
    try:
        # Beside ruff: the log's setup, what reads ruff's JSON (the findings), and the secret
        # patterns. Nothing before logs above info (see ``configure_logging``).
        configure_logging()
        importlib.import_module("shim_lsp.analysis.ruff")
        from shim_lsp.workspace.secrets import DefaultSecrets

        secrets = DefaultSecrets()
        judge = _judge(targets, real, secrets)
    except BaseException:
        if running is not None:
            running.proc.kill()
        raise
    if running is not None:
        done = running.finish(real)
        if isinstance(done, RuffFailure):
            raise CliError(holds.shown(done.message, quoted))
        found = dict(done.found)
        for link in done.skipped:
            print(f"shim: {holds.shown(tree.skipped_note(link), quoted)}", file=sys.stderr)
        said = {shown for shown, _why in unread}  # a path named is said once, as named
        unread += [
            (shown, u.why)
            for u in sorted(done.unread)
            if (shown := _shown(u.path, cwd)) not in said
        ]
        for note in done.notes:
            print(f"shim: {holds.shown(note, quoted)}", file=sys.stderr)
        if dmypy is not None:
            import asyncio

            typed = asyncio.run(_type_check(dmypy, _readable(targets)))
            if isinstance(typed, dict):
                for path, items in typed.items():
                    found[path] = [*found.get(path, []), *items]
            else:
                failed = typed  # ruff's findings are printed all the same
    from shim_lsp.analysis.findings import finding_json

    named: dict[Path, str] = {}
    withholding = secret_files.Withholding()
    for path, items in found.items():
        showable, secret_under = judge(path)
        if showable:
            named[path] = _shown(path, cwd)
        elif secret_under is not None:
            withholding.add(secret_under, path, len(items), secrets.match)
    rows = sorted(
        ((named[path], f) for path, items in found.items() if path in named for f in items),
        key=lambda pf: (pf[0], pf[1].cell or 0, pf[1].start),
    )
    withheld = [(_shown(w.path, cwd), w) for w in withholding.withheld()]
    for shown, item in withheld:
        print(f"shim: {secret_files.note(quoted(shown), item)}", file=sys.stderr)
    for shown, why in unread:
        print(f"shim: {tree.unread_note(quoted(shown), holds.shown(why, quoted))}", file=sys.stderr)
    if args.json:
        listed = [finding_json(_json_name(name), f) for name, f in rows]
        listed += [
            _said_json(_json_name(shown), NOT_SHOWN, secret_files.message(item))
            for shown, item in withheld
        ]
        listed += [
            _said_json(
                _json_name(shown), NOT_ANALYSED, f"not analysed: {holds.shown(why, _json_name)}"
            )
            for shown, why in unread
        ]
        import json  # here: ruff starts before it loads

        # A finding a line, each by the C encoder (an indented dump is Python code: a third
        # of what this command does after ruff on Django's 240 findings).
        print("[\n" + ",\n".join(map(json.dumps, listed)) + "\n]" if listed else "[]")
    else:
        for name, f in rows:
            cell = f"cell {f.cell}:" if f.cell is not None else ""  # as ruff: in a notebook
            where = f"{quoted(name)}:{cell}{f.start.line + 1}:{f.start.column + 1}:"
            print(f"{where} {f.code} {f.message}" if f.code else f"{where} {f.message}")
        if failed is None:  # else the type check's line says what ran
            files = len({name for name, _f in rows})
            where = "secret files"  # or folders: as many as said above
            if len(withheld) == 1:
                where = "a secret folder" if withheld[0][1].folder else "a secret file"
            hidden = (withholding.count(), where)
            print(_summary(len(rows), files, hidden, len(unread)), file=sys.stderr)
    if failed is not None:
        print(f"shim: {_one_line(failed.message)}; ruff's findings only", file=sys.stderr)
    if rows or withheld or unread:
        return 1  # as ruff: a file it could not read is an error (E902), never a clean run
    return 0 if failed is None else 2  # no finding, but the type check asked did not run


def _summary(findings: int, files: int, hidden: tuple[int, str], unread: int) -> str:
    """The last line, as ruff's: never "All checks passed." when a finding was withheld
    (``hidden``: how many, and where) or a path was not read."""
    withheld, where = hidden
    plural = secret_files.plural
    said = f"Found {plural(findings, 'finding')} in {plural(files, 'file')}" if findings else ""
    if withheld or unread:
        said = said or ("No findings shown" if withheld else "No findings")
    if withheld:
        said += f"; {plural(withheld, 'finding')} in {where} not shown"
    if unread:
        said += f"; {plural(unread, 'path')} not analysed"
    return f"{said}." if said else "All checks passed."


def _said_json(shown: str, code: str, message: str) -> dict[str, object]:
    """What is said of a path in ``--json`` (findings withheld, a path not analysed), as ruff
    lists a file it cannot read (E902): an error at its start, with a code of SHIM's and the
    words said."""
    return {
        "path": shown,
        "code": code,
        "message": message,
        "severity": "error",
        "line": 1,
        "column": 1,
        "end_line": 1,
        "end_column": 1,
        "url": None,
        "fixable": False,
    }


NOT_ANALYSED = "not-analysed"
NOT_SHOWN = "not-shown"
