"""What ruff could wait on for ever, and what a whole-folder run does about it before ruff
starts: plain ``ruff check`` hangs on these too.

Ruff opens, blocking, every file it checks, every settings file on its way (and what it
``extend``s), and every ignore file (``.gitignore``, ``.ignore``, git's exclude files): a FIFO
among them waits for a writer for ever, a device reads for ever. The link search finds such
files under the roots (``links.Found.special``); the files ruff reads in and above the roots
are stat'ed here (``before_start``). Then:

- a file ruff would check is excluded (``--extend-exclude``), and said; so is a settings
  file below a root (ruff 0.17 takes a folder's settings only from a regular file, but
  would check a ``pyproject.toml`` for RUF200);
- a settings file in a root, or in or above the folder ruff runs in (ruff 0.17 opens those
  without looking), or one that a settings file ``extend``s: ruff is not run, and the
  file is named;
- an ignore file, wherever it is (ruff reads a folder's ignore files even when it excludes
  the folder): ruff runs without ignore files (``--no-respect-gitignore``), and that is
  said. So too, in the safe order, for an ignore file under the roots that is a link leading
  out of them (the sandbox refuses ruff such a link; without it ruff would read it).

Standard library only: ``shim analyze`` checks this before ruff starts.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from shim_lsp.analysis.ruff_command import RuffFailure, file_head

SETTINGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
"""The files ruff reads its settings from."""
IGNORES = (".gitignore", ".ignore")
"""The ignore files ruff reads in every folder it enters."""
NO_IGNORE_FILES = "--no-respect-gitignore"

_MAY_EXTEND = re.compile(rb"""extend["' \t]*=""")
"""A settings file that may set ``extend`` (``extend =``, ``"extend" =``, ``ruff.extend =``;
not ``extend-select``): only such a file is parsed (``tomllib`` costs a few ms to load)."""
_EXTENDS_MAX = 16
"""Extends followed from one settings file; a longer chain (or a loop) is ruff's to refuse."""


class Plan(NamedTuple):
    """What ruff is kept from, and what the user is told of it."""

    excluded: tuple[Path, ...] = ()
    """Files, and folders whose settings file is not regular, given as ``--extend-exclude``."""
    no_ignore_files: bool = False
    """Ruff runs with ``--no-respect-gitignore``: an ignore file could hold it."""
    notes: tuple[str, ...] = ()
    """One line each, for the user."""

    def merged(self, other: Plan) -> Plan:
        """Both plans' exclusions and notes."""
        return Plan(
            self.excluded + other.excluded,
            self.no_ignore_files or other.no_ignore_files,
            self.notes + tuple(n for n in other.notes if n not in self.notes),
        )

    def merged_notes(self, notes: Sequence[str]) -> Plan:
        """This plan with ``notes`` said too."""
        return self.merged(Plan(notes=tuple(notes)))

    def args(self) -> list[str]:
        """Ruff's arguments for this plan (after ``--force-exclude``, which makes an excluded
        path named on the command line excluded too)."""
        out = [NO_IGNORE_FILES] if self.no_ignore_files else []
        for path in self.excluded:
            out += ["--extend-exclude", ruff_glob(str(path))]
        return out


NOTHING = Plan()
"""Nothing kept from ruff."""


class Said(str):
    """A line for the user that names paths, each face showing them its own way (``shim
    analyze`` quotes one holding a control character or a byte that is not UTF-8, as git
    does); as a plain string, the paths as they are. Made of words (``str``) and paths (any
    ``os.PathLike``; ``Said.path`` for a path kept as spelled, a link's target say)."""

    _parts: tuple[tuple[bool, str], ...]

    def __new__(cls, *parts: str | os.PathLike[str]) -> Said:
        split = tuple((False, p) if isinstance(p, str) else (True, os.fspath(p)) for p in parts)
        said = super().__new__(cls, "".join(text for _path, text in split))
        said._parts = split
        return said

    @staticmethod
    def path(spelled: str) -> os.PathLike[str]:
        """``spelled`` as a path of a ``Said``, unchanged (a ``Path`` would normalise it)."""
        return _Spelled(spelled)

    def shown(self, name: Callable[[str], str]) -> str:
        """The line with each path as ``name`` shows it."""
        return "".join(name(text) if path else text for path, text in self._parts)


class _Spelled(NamedTuple):
    text: str

    def __fspath__(self) -> str:
        return self.text


def shown(text: str, name: Callable[[str], str]) -> str:
    """``text`` with its paths as ``name`` shows them, when it is a ``Said``."""
    return text.shown(name) if isinstance(text, Said) else text


_NOT_ASCII = "[!\x01-\x7f]"
"""A glob for one byte that is not ASCII. Ruff takes only UTF-8 arguments, and its globs
match a path's raw bytes (globset, on Unix; ``?`` would match an ASCII byte too): a byte of
a name that is not UTF-8 is given as this (ruff 0.17.6)."""


def _undecodable(path: str) -> bool:
    """Whether ``path`` holds a byte that is not UTF-8 (a lone surrogate, as Python keeps one)."""
    return any("\udc80" <= ch <= "\udcff" for ch in path)


def ruff_glob(path: str) -> str:
    """``path`` as a glob that ruff takes (valid UTF-8) and matches it: its magic characters
    escaped, a byte that is not UTF-8 as any byte that is not ASCII (``alike``: what else
    that matches)."""
    import glob

    if not _undecodable(path):
        return glob.escape(path)
    return "".join(_NOT_ASCII if "\udc80" <= ch <= "\udcff" else glob.escape(ch) for ch in path)


def _wild(part: bytes) -> list[bool]:
    """For each byte of a name, whether ``ruff_glob`` gives it as any byte that is not ASCII."""
    return [
        flag
        for ch in os.fsdecode(part)
        for flag in ([True] if "\udc80" <= ch <= "\udcff" else [False] * len(ch.encode()))
    ]


def _matches(name: bytes, part: bytes, wild: Sequence[bool]) -> bool:
    return len(name) == len(part) and all(
        n >= 0x80 if w else n == p for n, p, w in zip(name, part, wild, strict=True)
    )


def alike(path: str) -> list[str]:
    """The other paths there are now that ``ruff_glob(path)`` matches (``path`` absolute):
    names that differ from its own only in bytes that are not ASCII where its own are not
    UTF-8. Ruff would leave them out too."""
    if not _undecodable(path):
        return []
    raw = os.fsencode(path)
    parts = raw.split(b"/")
    found = [parts[0]]
    for part in parts[1:]:
        if not _undecodable(os.fsdecode(part)):
            found = [base + b"/" + part for base in found]
            continue
        wild = _wild(part)
        more = []
        for base in found:
            try:
                names = os.listdir(base or b"/")
            except OSError:
                names = [part]
            more += [base + b"/" + n for n in names if _matches(n, part, wild)]
        found = more
    return sorted(os.fsdecode(p) for p in found if p != raw)


def alike_left_out(paths: Iterable[Path]) -> Plan:
    """What the user is told of the files ruff leaves out beside ``paths``, whose names it
    cannot be told exactly (``alike``)."""
    notes = tuple(
        Said(
            "left out: ",
            Path(other),
            ", whose name ruff cannot tell from that of ",
            path,
            " (not UTF-8), which is left out",
        )
        for path in paths
        for other in alike(str(path))
    )
    return Plan(notes=notes)


def special(path: str | Path) -> str | None:
    """What ``path`` (followed, if a link) is when it is neither a folder nor a regular file
    ("a pipe (FIFO)", ...); None when it is one of those, or is not there."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _extend_setting(settings_file: str) -> str | None:
    """The ``extend`` a settings file sets (pyproject's ``[tool.ruff]``, a ruff.toml's top
    level); None for none, or for a file that is not valid TOML (ruff refuses it itself)."""
    text = file_head(settings_file, 1 << 20)
    if not text or _MAY_EXTEND.search(text) is None:
        return None
    import tomllib

    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    table: object = data
    if os.path.basename(settings_file) == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("ruff") if isinstance(tool, dict) else None
    named = table.get("extend") if isinstance(table, dict) else None
    return named if isinstance(named, str) else None


def extended(settings_file: str, within: Sequence[str] | None = None) -> list[str]:
    """The files a settings file ``extend``s, one after the other, as far as each is a
    regular file (ruff expands ``~`` and variables, and reads a relative path from the
    file's folder). Their text is only searched for that setting, never shown. ``within``:
    real folders outside which a file is named but not read (the chain stops there)."""
    chain: list[str] = []
    current = settings_file
    while len(chain) < _EXTENDS_MAX:
        if within is not None and not _within(current, within):
            break
        named = _extend_setting(current)
        if named is None:
            break
        target = os.path.expanduser(os.path.expandvars(named))
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
        if current in chain:
            break
        chain.append(current)
    return chain


def _within(path: str, real_folders: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in real_folders)


def not_run(path: str | Path, what: str) -> RuffFailure:
    """Ruff cannot run: it would read its settings from ``path``, which is ``what``."""
    return RuffFailure(
        Said(
            Path(path),
            f" is {what}, not a regular file, and ruff reads its settings from it (it would"
            " wait on it for ever): ruff was not run (make it a file, or remove it)",
        )
    )


def _extends_special(settings_file: str, within: Sequence[str] | None = None) -> RuffFailure | None:
    for target in extended(settings_file, within):
        what = special(target)
        if what is not None:
            return RuffFailure(
                Said(
                    Path(settings_file),
                    " extends ",
                    Said.path(target),
                    f", which is {what}, not a regular file (ruff would wait on it for ever):"
                    " ruff was not run (make it a file, or remove the setting)",
                )
            )
    return None


def left_out(path: str | Path, what: str) -> str:
    """What the user is told of a file ruff would check that is not a regular file."""
    return Said("left out: ", Path(path), f" is not a regular file ({what})")


def ignore_note(path: str | Path, why: str) -> str:
    return Said(
        "ruff ran without ignore files (.gitignore, .ignore, git's excludes), so files they"
        " name were checked too: ",
        Path(path),
        f" {why} (make it a file, or remove it)",
    )


def _ignore_special(path: str | Path, what: str) -> str:
    return ignore_note(path, f"is {what}, not a regular file, which ruff would wait on for ever")


def _leads_out(path: str, real_roots: Sequence[str]) -> bool:
    """A link in a root (or below) that resolves outside all of them."""
    return (
        bool(real_roots)
        and _within(os.path.dirname(path), real_roots)
        and os.path.islink(path)
        and not _within(path, real_roots)
    )


LEADS_OUT = "is a link leading outside the workspace, which SHIM never reads"


def before_start(read: Iterable[str], real_roots: Sequence[str] = ()) -> Plan | RuffFailure:
    """The files ruff reads in and above the folders it checks and runs in (``read``:
    ``ruff_command.read_outside`` of them): a settings file among them that is not a regular
    file, or extends one, stops the run; an ignore file (or git's configuration) that is not
    turns ignore files off. One in the roots (``real_roots``) that is a link leading out of
    them is said to lead out, never what it leads to (nothing outside is shown)."""
    plan = Plan()
    for path in read:
        name = os.path.basename(path)
        if _leads_out(path, real_roots):
            if name in SETTINGS:
                return RuffFailure(
                    Said(
                        Path(path),
                        f" {LEADS_OUT}, and ruff reads its settings from it: ruff was not run"
                        " (make it a file, or remove it)",
                    )
                )
            if not plan.no_ignore_files:
                plan = Plan((), True, (ignore_note(path, LEADS_OUT),))
            continue
        what = special(path)
        if name in SETTINGS:
            if what is not None:
                return not_run(path, what)
            refused = _extends_special(path)
            if refused is not None:
                return refused
        elif what is not None and not plan.no_ignore_files:
            plan = Plan((), True, (_ignore_special(path, what),))
    return plan


def settings_refused(
    roots: Sequence[Path], settings: Iterable[Path], root_too: bool = False
) -> RuffFailure | None:
    """Why ruff must not run: one of ``settings`` (found below ``roots``) ``extend``s a file
    that is not regular, which ruff opens as it enters that folder, excluded or not. The
    chain is read inside the roots only; a file outside is only stat'ed."""
    real_roots = [os.path.realpath(r) for r in roots]
    for path in settings:
        if path.parent not in roots or root_too:  # a root's own are ``before_start``'s
            refused = _extends_special(str(path), real_roots)
            if refused is not None:
                return refused
    return None


def server_held(
    roots: Sequence[Path], found_special: Iterable[Path], settings: Iterable[Path]
) -> str | None:
    """Why ``ruff server`` over ``roots`` would wait for ever as it starts, or None: it reads
    every settings file and ignore file of the workspace to index its settings (ruff 0.17
    walks it with the ``ignore`` crate, whatever it excludes), and one of them is not a
    regular file, or a settings file ``extend``s one. ``found_special`` and ``settings``:
    what the link search found under the roots."""
    for path in found_special:
        if path.name in SETTINGS or path.name in IGNORES:
            what = special(path) or "not a regular file"
            return f"{path} is {what}, not a regular file"
    in_roots = [r / n for r in roots for n in SETTINGS if os.path.isfile(r / n)]
    refused = settings_refused(roots, [*settings, *in_roots], root_too=True)
    return None if refused is None else refused.message.partition(" (ruff would")[0]


def from_search(
    roots: Sequence[Path],
    found_special: Iterable[Path],
    outside: Iterable[Path],
    safe: bool,
    settings: Iterable[Path] = (),
) -> Plan | RuffFailure:
    """What the link search found under ``roots`` that ruff could wait on (``found_special``)
    or must not read (``outside``: in the safe order, an ignore file linked out of them).
    ``settings``: the settings files it found below the roots: one that ``extend``s a file
    that is not regular stops the run (ruff opens it as it enters the folder, excluded or
    not); the chain is read inside the roots only, a file outside is only stat'ed."""
    refused = settings_refused(roots, settings)
    if refused is not None:
        return refused
    excluded: list[Path] = []
    notes: list[str] = []
    no_ignore = False
    for path in found_special:
        what = special(path) or "not a regular file"
        if path.name in SETTINGS and path.parent in roots:
            return not_run(path, what)
        if path.name in IGNORES:
            if not no_ignore:
                notes.append(_ignore_special(path, what))
            no_ignore = True
        else:
            excluded.append(path)
            notes.append(left_out(path, what))
    for link in outside if safe else ():
        if link.name in IGNORES and not no_ignore:
            no_ignore = True
            notes.append(ignore_note(link, LEADS_OUT))
    return Plan(tuple(excluded), no_ignore, tuple(notes))


_EXTEND_FAILED = re.compile(
    r"Failed to load extended configuration `([^`]+)`(?: \(`(?P<by>[^`]+)` extends `[^`]+`\))?"
)
"""Ruff 0.17: ``Failed to load extended configuration `T` (`S` extends `T`)``."""


def extend_refused(err: bytes) -> RuffFailure | None:
    """After a sandboxed run ruff failed: a settings file ``extend``s a file that is not
    regular (ruff names it), which the safe order must not open."""
    for named in _EXTEND_FAILED.finditer(err.decode("utf-8", "replace")):
        what = special(named[1])
        if what is not None:
            by = named["by"] or "the settings"
            return RuffFailure(
                f"{by} extends {named[1]}, which is {what}, not a regular file (ruff"
                " would wait on it for ever): ruff was not run (make it a file, or remove the"
                " setting)"
            )
    return None
