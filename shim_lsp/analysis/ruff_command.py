"""What SHIM asks of ruff: its executable, and the command lines of its runs (a buffer's
check and fixes, a whole tree), whatever the project's configuration says never writing a
file; and what a finished run's exit status and output mean.

Standard library only: ``shim analyze`` starts ruff before anything else loads (attrs, the
findings), and loads those while ruff works. ``analysis.ruff`` runs ruff and reads its JSON.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from shim_lsp.lazy_log import LazyLogger

log = LazyLogger(__name__)

ORGANIZE_IMPORTS = ("I001",)
"""The rule whose fix sorts and formats an import block."""

COMPLEXITY = "C901"
"""Ruff's mccabe rule: a function whose cyclomatic complexity is over the threshold."""
COMPLEXITY_THRESHOLD = 10
"""The default threshold (mccabe's own advice), for the server's setting and the CLI."""
COMPLEXITY_THRESHOLD_MAX = 1000
"""The highest threshold taken (the setting's bound, and the CLI's)."""


class RuffOptions(NamedTuple):
    """What SHIM asks of ruff on top of the project's configuration."""

    select: tuple[str, ...] = ()
    """Rules to check instead of the project's selection; empty: the project decides."""
    ignore: tuple[str, ...] = ()
    """Rules left out, on top of the project's configuration."""
    unsafe_fixes: bool = False
    complexity: int | None = None
    """Also report functions whose cyclomatic complexity is over this (ruff's C901, with
    ``lint.mccabe.max-complexity`` set to it over the project's); None: only if the project
    selects C901, at its own threshold."""


class RuffFailure(NamedTuple):
    """Ruff could not be found or run, or answered what SHIM cannot read."""

    message: str
    """One line for the user."""
    detail: str = ""
    """What ruff said, for the log."""


def find_ruff(configured: str | None) -> str | RuffFailure:
    """The ruff executable: the one the user configured, else the one installed with SHIM
    (``<scripts>/ruff``, or ``<libs>/bin/ruff`` in the extension's bundle)."""
    if configured:
        import shutil  # here: it loads lzma and more, and most runs name no ruff

        found = shutil.which(str(Path(configured).expanduser()))
        if found is None:
            return RuffFailure(f"ruff not found: {configured} is not an executable file")
        return found
    exe = "ruff.exe" if os.name == "nt" else "ruff"
    # The binary that came with the ruff package SHIM imports (the bundle's, laid out as
    # `pip install --target` does) first: find_ruff_bin() would prefer one installed in the
    # interpreter's own scripts folder, another release than the one SHIM was built with.
    package = _ruff_package()
    if package is None:
        return RuffFailure("the ruff installed with SHIM is missing: reinstall SHIM or name a ruff")
    beside = os.path.join(os.path.dirname(os.path.dirname(package)), "bin", exe)
    if _executable(beside):
        return beside
    if sys.prefix != sys.base_prefix and os.name == "posix":
        # In a virtual environment ruff's own first choice, the scripts folder of the Python
        # running SHIM, is <venv>/bin: found so without sysconfig, which find_ruff_bin loads
        # (2 ms of ``shim analyze`` before ruff starts).
        scripts = os.path.join(sys.prefix, "bin", exe)
        if _executable(scripts):
            return scripts
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError) as exc:
        return RuffFailure(
            "the ruff installed with SHIM is missing: reinstall SHIM or name a ruff", str(exc)
        )


def _ruff_package() -> str | None:
    """The ``__init__.py`` of the ruff package SHIM would import, without importing it (its
    finder loads sysconfig); None when there is none."""
    loaded = sys.modules.get("ruff")
    if loaded is not None:
        return getattr(loaded, "__file__", None)
    from importlib.util import find_spec

    spec = find_spec("ruff")
    return None if spec is None else spec.origin


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _selection(options: RuffOptions) -> list[str]:
    args = []
    if options.select:
        args.append(f"--select={','.join(options.select)}")  # one word: never an option
    if options.ignore:
        args.append(f"--ignore={','.join(options.ignore)}")
    return args


def _complexity(options: RuffOptions) -> list[str]:
    if options.complexity is None:
        return []
    return [
        "--extend-select",
        COMPLEXITY,
        "--config",
        f"lint.mccabe.max-complexity={options.complexity}",
    ]


def lint_args(options: RuffOptions) -> list[str]:
    """Every finding as JSON, no fix made, whatever the configuration says: the arguments
    the buffers' checks, the workspace's run and ``shim analyze`` share."""
    return [
        "check",
        "--output-format",
        "json",
        "--no-fix",
        "--exit-zero",
        "--force-exclude",
        "--no-cache",
        *_selection(options),
        *_complexity(options),
    ]


def server_options(options: RuffOptions) -> dict[str, Any]:
    """What ``lint_args`` passes, as ``ruff server``'s initialization options. The editor's
    settings go over the project's configuration (``editorFirst``), as the command line's
    options go over it in ``ruff check``; ruff server never writes a file."""
    lint: dict[str, Any] = {}
    settings: dict[str, Any] = {"logLevel": "warn", "showSyntaxErrors": True, "lint": lint}
    if options.select:
        lint["select"] = list(options.select)
    if options.ignore:
        lint["ignore"] = list(options.ignore)
    if options.complexity is not None:
        lint["extendSelect"] = [COMPLEXITY]
        settings["configuration"] = {"lint": {"mccabe": {"max-complexity": options.complexity}}}
    return {"settings": settings}


def check_args(path: Path, options: RuffOptions) -> list[str]:
    """Lint stdin as the file at ``path``."""
    return [*lint_args(options), "--stdin-filename", str(path), "-"]


def fix_args(path: Path, options: RuffOptions, only: Sequence[str] = ()) -> list[str]:
    """Fix stdin as the file at ``path`` and print the fixed text: ruff's own fixer applies
    every fix until none is left. ``only``: these rules instead of the selection."""
    selection = [f"--select={','.join(only)}"] if only else _selection(options)
    return [
        "check",
        "--fix-only",
        "--exit-zero",
        "--force-exclude",
        "--no-cache",
        "--unsafe-fixes" if options.unsafe_fixes else "--no-unsafe-fixes",
        *selection,
        "--stdin-filename",
        str(path),
        "-",
    ]


def _said(err: bytes) -> str:
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines()]
    return "; ".join(line for line in lines if line)[:300]


def outcome(
    binary: str, returncode: int | None, out: bytes, err: bytes, path: Path
) -> str | RuffFailure:
    """What a finished ruff run gives: its standard output, or why there is none."""
    if returncode != 0:
        said = _said(err)
        return RuffFailure(
            f"ruff ({binary}) failed with exit status {returncode}" + (f": {said}" if said else ""),
            err.decode("utf-8", "replace"),
        )
    if err.strip():
        log.debug("ruff on %s said: %s", path, _said(err))
    return out.decode("utf-8")


_NAMED = re.compile(r"`(/[^`]+)`|Failed to parse (/.+?)\s*$")
"""The files ruff's error names: in backticks, or after "Failed to parse"."""
NOT_SHOWN = "(what ruff quoted of it is not shown: it is outside the workspace)"
SECRET_NOT_SHOWN = "(what ruff quoted of it is not shown: its name marks it as a secret file)"


def lossy(name: str) -> str:
    """``name`` as ruff spells it: a byte that is not UTF-8 as U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def real_names(path: Path) -> list[Path]:
    """The file ruff named: ruff gives a name that is not UTF-8 with U+FFFD for each such
    byte; the one entry of its folder that reads so is the file (which may be one really
    named with U+FFFD), else the name as ruff gave it. Where several entries read so, each
    (the name as it may be, its rest as ruff gave it): whose findings they are cannot be
    told. Every face judges (a secret by what a link leads to), reads and names the real
    file."""
    if "\ufffd" not in str(path):
        return [path]
    real = Path(path.anchor)
    parts = path.parts[1:]
    for at, part in enumerate(parts):
        if "\ufffd" in part:
            try:
                names = os.listdir(real)
            except OSError:
                return [path]
            same = sorted(n for n in names if lossy(n) == part)
            if len(same) > 1:
                return [real.joinpath(name, *parts[at + 1 :]) for name in same]
            if same:
                part = same[0]
        real = real / part
    return [real]


def unshowable(
    real_roots: Sequence[str], secret: Callable[[str], bool] | None = None
) -> Callable[[str], str | None]:
    """For a file ruff names, why what ruff quotes of it must not be shown (the note that
    says so), or None: a file outside ``real_roots``, or a secret one (by its name, a
    folder's or what a link leads to), as ``secret`` judges a path under the roots, else by
    SHIM's own patterns under the root that holds it. Ruff quotes the lines of a settings file
    it cannot parse: one ``extend``ed from ``.env``, or linked to it, holds a password."""
    from shim_lsp.workspace.secrets import DefaultSecrets, is_secret

    defaults = DefaultSecrets()

    def judged(name: str) -> str | None:
        real = os.path.realpath(name)
        root = next(
            (r for r in real_roots if real == r or real.startswith(r.rstrip("/") + "/")), None
        )
        if root is None:
            return NOT_SHOWN
        hidden = secret(name) if secret is not None else is_secret(defaults, Path(root), Path(name))
        return SECRET_NOT_SHOWN if hidden else None

    def why(name: str) -> str | None:
        # Ruff names a file whose name is not UTF-8 with U+FFFD: judged is the real file
        # (each that reads so, where several do).
        said = (judged(str(p)) for p in real_names(Path(name)))
        return next((s for s in said if s is not None), None)

    return why


def cut_outside(
    err: bytes, real_roots: Sequence[str], secret: Callable[[str], bool] | None = None
) -> bytes:
    """Ruff's error with nothing quoted from a file outside ``real_roots``, or a secret one
    (``unshowable``; a broken TOML that the settings ``extend``: ruff shows its lines, and an
    unknown setting or rule by name): the file is named and said to be invalid, the rest cut
    (in one short line: the user's message keeps 300 characters of it)."""
    text = err.decode("utf-8", "replace")
    if "/" not in text:
        return err
    kept = cut_lines(text.splitlines(), unshowable(real_roots, secret))
    return err if kept is None else ("\n".join(kept) + "\n").encode()


def cut_lines(lines: Sequence[str], why: Callable[[str], str | None]) -> list[str] | None:
    """``lines`` up to the first that names a file whose quote ``why`` says must not be
    shown, which is cut after the file's name and says why; None when none names one. Ruff
    check's error names such a file on a line of its own, then quotes it; ruff server's log
    says it all on one line."""
    kept: list[str] = []
    for i, line in enumerate(lines):
        names = (a or b for a, b in _NAMED.findall(line))
        note = next(((n, said) for n in names if (said := why(n)) is not None), None)
        if note is None:
            kept.append(line)
            continue
        name, said = note
        if "Failed to load extended configuration" in line and name in "".join(lines[i + 1 :]):
            continue  # said below, shorter
        if "Failed to parse " in line and line.lstrip().startswith("Cause:"):
            kept.append(f"  Cause: Failed to parse {name} {said}")
        elif line.lstrip().startswith("Cause:"):
            kept.append(f"  Cause: {name} is invalid {said}")
        else:
            end = line.index(name) + len(name)
            end += line[end : end + 1] == "`"
            kept.append(f"{line[:end]} {said}")
        return kept
    return None


def timed_out(binary: str, timeout: float, path: Path) -> RuffFailure:
    return RuffFailure(f"ruff ({binary}) took more than {timeout:g} s on {path.name}")


_DISCOVERED = ("pyproject.toml", "ruff.toml", ".ruff.toml", ".gitignore", ".ignore")
"""What ruff reads in the folders above those it checks: their settings, and (through the
``ignore`` crate) their ignore files."""
_EXCLUDES_FILE = re.compile(rb'(?im)^\s*excludesfile\s*=\s*"?\s*(\S+?)\s*"?\s*$')
"""How the ``ignore`` crate finds git's global ignore file in a git configuration."""


def file_head(path: str, limit: int = 65536) -> bytes | None:
    """The first ``limit`` bytes of a regular file; None for anything else (a pipe is never
    waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _git_dir_files(folder: str) -> list[str]:
    """What ruff reads of the git repository at ``folder``: its exclude file, and for a
    worktree (``.git`` a file naming the git folder) that file and its ``commondir``."""
    dot_git = os.path.join(folder, ".git")
    if os.path.isdir(dot_git):
        return [os.path.join(dot_git, "info", "exclude")]
    said = file_head(dot_git)
    if said is None:
        return []
    if not said.startswith(b"gitdir:"):
        return [dot_git]
    git_dir = os.path.join(folder, os.fsdecode(said[len(b"gitdir:") :].strip()))
    common = os.path.join(git_dir, "commondir")
    named = file_head(common)
    common_dir = git_dir if named is None else os.path.join(git_dir, os.fsdecode(named.strip()))
    return [
        dot_git,
        common,
        os.path.join(git_dir, "info", "exclude"),
        os.path.join(common_dir, "info", "exclude"),
    ]


def read_outside(folders: Sequence[Path]) -> list[str]:
    """The files outside ``folders`` that ruff reads when run over them (or from them): the
    settings and ignore files of every folder above, git's repository and global
    configuration as far as ignoring goes, and the user's own ruff settings. A sandbox
    that lets ruff read only the folders must let it read these too, or a run would quietly
    differ (an ignore file it cannot read is skipped without a word)."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    found = [os.path.join(xdg, "ruff", name) for name in _DISCOVERED[:3]]
    git_configs = [os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config")]
    found += [*git_configs, "/etc/gitconfig", os.path.join(xdg, "git", "ignore")]
    for config in git_configs:
        named = _EXCLUDES_FILE.search(file_head(config) or b"")
        if named is not None:
            found.append(os.path.expanduser(os.fsdecode(named[1])))
    seen: set[str] = set()
    for folder in folders:
        above = os.path.realpath(folder)
        while above not in seen:
            seen.add(above)
            found += [os.path.join(above, name) for name in _DISCOVERED]
            found += _git_dir_files(above)
            above = os.path.dirname(above)
    return found
