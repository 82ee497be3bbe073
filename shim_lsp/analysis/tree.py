"""Ruff over whole folders or many files in one process: the workspace run of the server and
``shim analyze`` share this, so both find the same.

Ruff walks the folders itself, honouring the project's configuration and excludes; it does
not descend into linked folders, but it reads a linked file. So ruff runs in a sandbox that
reads nothing outside the roots (``sandbox``: Landlock, on Linux) while the links that resolve
outside are searched for beside it; where there is no sandbox, those links are found first and
excluded (``--extend-exclude``): either way nothing outside is read. Files named one by one
are checked to resolve inside before ruff sees them. What ruff could wait on for ever (a
FIFO) is kept from it as ``holds`` says.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shim_lsp.analysis import holds, ruff_command, sandbox
from shim_lsp.analysis.links import Found, LinkSearch
from shim_lsp.analysis.ruff_command import RuffFailure, RuffOptions, lossy, real_names
from shim_lsp.lazy_log import LazyLogger

if TYPE_CHECKING:
    from shim_lsp.analysis.findings import Finding
    from shim_lsp.workspace.scan import FileRules

log = LazyLogger(__name__)

TIMEOUT_S = 600.0
"""A whole tree takes ruff seconds (Django's 2,900 files: about one); this is a hang."""
HOLD_CHECK_S = 1.0
"""A sandboxed ``shim analyze`` starts ruff before any search (the search takes 15 to 25 ms
of a core on Django's tree, kept); one still running after this long is looked at for what
it could wait on for ever (``holds``): found, it is run again in the safe order."""

STALLED_S = 10.0
"""A ruff that has used no CPU time for this long waits on something that will not come (a
FIFO, a device, a settings file the search could not see): it is stopped, whatever
``TIMEOUT_S`` says. Ruff busy on a large tree uses a core all the time."""
_POLL_S = 1.0

PYTHON_SUFFIXES = (".py", ".pyi")
CANNOT_RUN = "cannot run ruff"
"""How a failure to start ruff begins (the ruff named is to blame, not what it checks)."""


class Unread(NamedTuple):
    """A Python file ruff could not read, so nothing was found in it because nothing was
    checked: a link leading nowhere or in a loop, a file SHIM may not read."""

    path: Path
    why: str
    """In plain words, after "was not analysed: "."""


def unread_note(shown: str, why: str) -> str:
    """What the user is told of a path left out unread (``shown``: as the face names it)."""
    return f"{shown} was not analysed: {why}"


def why_unread(path: Path, said: str = "") -> str:
    """Why ``path`` cannot be read, from what it is now (``said``: ruff's words, when the
    file system does not tell: a file that became readable since, say)."""
    try:
        os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            if exc.errno == errno.ELOOP:
                return "it is a link that leads round in a loop, to no file"
            if exc.errno == errno.ENOENT:
                target = holds.Said.path(os.readlink(path))
                return holds.Said("it is a link to ", target, ", which does not exist")
        if exc.errno == errno.EACCES:
            return "SHIM may not read it (permission denied)"
        return f"it cannot be read ({exc.strerror or exc})"
    if not os.access(path, os.R_OK):
        return "SHIM may not read it (permission denied)"
    return f"ruff could not read it ({said})" if said else "ruff could not read it"


class TreeFindings(NamedTuple):
    """What ruff found, by file as ruff named it (absolute); files without findings are not
    named."""

    found: dict[Path, list[Finding]]
    outside: tuple[Path, ...] = ()
    """Links under the roots that resolve outside them: excluded, never read."""
    skipped: tuple[Path, ...] = ()
    """Settings files below the roots that are links leading out of them: ruff is kept out
    of their folders (see ``skipped_note``)."""
    unread: tuple[Unread, ...] = ()
    """Python files under the roots (or named) that could not be read: no findings, as
    nothing was checked (ruff's E902 and its "Failed to lint" warnings, never findings)."""
    notes: tuple[str, ...] = ()
    """What else was left out, and why, one line each for the user (``holds.Plan``)."""


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == r or r in real.parents for r in roots)


RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
"""The files ruff reads its settings from in each folder it checks, whatever it excludes."""


def config_leading_out(
    roots: Sequence[Path], outside: Sequence[Path], files: Sequence[Path] = ()
) -> RuffFailure | None:
    """Why ruff must not run: a settings file that is a link leading out of the roots, in a
    root itself (ruff would read it, and quote it in its errors; one in a folder below is
    ``settings_leading_out``'s: that folder is left out). ``outside``: the links leading out
    of a whole-roots run; for ``files``, their folders up to the roots are looked at."""
    found = [p for p in outside if p.name in RUFF_CONFIGS and p.parent in roots]
    if files:
        real_roots = [Path(os.path.realpath(r)) for r in roots]
        folders = {f.parent for f in files}
        for folder in list(folders):
            folders.update(a for a in folder.parents if _inside(a, real_roots))
        for folder in sorted(folders):
            for name in RUFF_CONFIGS:
                candidate = folder / name
                if os.path.islink(candidate) and not _inside(candidate, real_roots):
                    found.append(candidate)
    if not found:
        return None
    return RuffFailure(
        holds.Said(
            found[0],
            " is a link leading outside the workspace, and ruff reads its settings from it:"
            " SHIM reads nothing outside the workspace, so ruff was not run (make it a file,"
            " or remove it)",
        )
    )


def settings_leading_out(roots: Sequence[Path], outside: Sequence[Path]) -> tuple[Path, ...]:
    """The settings files below the roots (not in a root itself) that are links leading out:
    ruff reads a folder's settings as it enters it, so their folders are excluded, which
    keeps ruff out (ruff 0.17: an excluded folder is skipped before its settings are read)."""
    return tuple(p for p in outside if p.name in RUFF_CONFIGS and p.parent not in roots)


def skipped_note(link: Path) -> str:
    """What the user is told of a folder left out for its settings file."""
    return holds.Said(
        link.parent,
        f" was not analysed: its {link.name} is a link leading outside the workspace, and"
        " ruff reads its settings from it; SHIM reads nothing outside the workspace (make it"
        " a file, or remove it)",
    )


def python_files(paths: Iterable[Path], roots: Sequence[Path]) -> list[Path]:
    """The Python files among ``paths`` that exist and resolve inside ``roots``."""
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    return [
        p for p in paths if p.suffix in PYTHON_SUFFIXES and p.is_file() and _inside(p, real_roots)
    ]


def _args(
    options: RuffOptions,
    outside: Sequence[Path],
    targets: Sequence[Path],
    plan: holds.Plan = holds.NOTHING,
) -> list[str]:
    excluded = [
        a for p in _kept_out(outside) for a in ("--extend-exclude", holds.ruff_glob(str(p)))
    ]
    lint = ruff_command.lint_args(options)
    return [*lint, *excluded, *plan.args(), "--", *(str(p) for p in targets)]


def _kept_out(outside: Sequence[Path]) -> list[Path]:
    """What ruff is told to leave out for the links leading out: each link, and the folder of
    one that is a settings file."""
    return [*outside, *(p.parent for p in outside if p.name in RUFF_CONFIGS)]


def _folders(roots: Sequence[Path], here: Path) -> list[Path]:
    """The folders ruff runs over and in, whose settings and ignore files (and those above)
    it reads."""
    return [*(r if r.is_dir() else r.parent for r in roots), here]


def _before_start(roots: Sequence[Path], here: Path) -> tuple[holds.Plan | RuffFailure, list[str]]:
    """``holds.before_start`` of the files ruff reads in and above the folders, and those
    files (the sandbox lets ruff read those above the roots)."""
    read = ruff_command.read_outside(_folders(roots, here))
    real_roots = [os.path.realpath(r) for r in roots if r.is_dir()]
    return holds.before_start(read, real_roots), read


def _here(roots: Sequence[Path], cwd: Path | None) -> Path:
    return cwd or (roots[0] if roots[0].is_dir() else roots[0].parent)


def _cwd_refused(roots: Sequence[Path], here: Path) -> RuffFailure | None:
    """Ruff also reads the settings of the folder it runs in, excluded or not: run from a
    folder under the roots whose settings (or an enclosing one's) lead out, it must not run."""
    real_roots = [Path(os.path.realpath(r)) for r in roots if r.is_dir()]
    if not _inside(here, real_roots):
        return None
    return config_leading_out(roots, [], [here / "-"])


def _file_targets_refused(roots: Sequence[Path], here: Path) -> RuffFailure | None:
    """A file named itself (``shim analyze sub/b.py``): ruff reads the settings of its folder
    and those above it. One of them, up to the folder run in (or the file's own folder when
    the file is elsewhere), that is a link leading out of that folder must not be read."""
    real_here = [Path(os.path.realpath(here))]
    for target in roots:
        if target.is_dir():
            continue
        base = here if _inside(target.parent, real_here) else target.parent
        refused = config_leading_out([base], [], [target])
        if refused is not None:
            return refused
    return None


class RealPaths:
    """Real paths of files and folders, each folder's resolved once and from its parent's:
    one ``lstat`` a folder and one a file, where ``os.path.realpath`` takes one for every
    part of every path (files with findings share folders, and folders their parents)."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}
        self._files: dict[str, str] = {}

    def folder(self, path: str) -> str:
        """The real path of the folder ``path`` (absolute)."""
        known = self._folders.get(path)
        if known is None:
            parent, name = os.path.split(path)
            if parent == path or name in ("", ".", "..") or os.path.islink(path):
                known = os.path.realpath(path)
            else:
                known = os.path.join(self.folder(parent), name)
            self._folders[path] = known
        return known

    def file(self, path: str) -> str:
        """The real path of the file ``path`` (absolute): a link resolved whole, another
        file its name in its folder's real path."""
        known = self._files.get(path)
        if known is None:
            if os.path.islink(path):
                known = os.path.realpath(path)
            else:
                folder, name = os.path.split(path)
                known = os.path.join(self.folder(folder), name)
            self._files[path] = known
        return known


def within(real: str, real_folder: str) -> bool:
    """Whether the real path ``real`` is ``real_folder`` or under it."""
    return real == real_folder or real.startswith(real_folder.rstrip("/") + "/")


def _found(
    binary: str,
    out: str,
    roots: Sequence[Path],
    here: Path,
    outside: Sequence[Path],
    real: RealPaths | None = None,
    err: bytes = b"",
) -> TreeFindings | RuffFailure:
    """Ruff's JSON as findings by absolute path, those of files resolving outside left out,
    and the files it could not read (from its JSON and its stderr, ``err``), but a link
    leading out that the sandbox refused it. ``real``: the real paths known so far (the
    caller's, to judge the same files after)."""
    from shim_lsp.analysis import ruff  # the findings: loaded while ruff works

    try:
        by_file = ruff.parse_by_file(out)
    except (ValueError, KeyError, TypeError) as exc:
        return RuffFailure(f"ruff ({binary}) answered output SHIM cannot read: {exc}", out[:300])
    real = real or RealPaths()
    real_roots = [os.path.realpath(r) for r in roots]
    found: dict[Path, list[Finding]] = {}
    failed: dict[Path, str] = {}
    unread_ambiguous: dict[Path, str] = {}
    for path, items in by_file.items():
        absolute, *others = real_names(path if path.is_absolute() else here / path)
        if others:
            # Two names read the same as ruff gives them (each byte that is not UTF-8 as
            # U+FFFD): which file's findings these are (a link to a secret's?) cannot be
            # told; none is shown, and each file is said.
            unread_ambiguous.update((p, AMBIGUOUS) for p in (absolute, *others))
            continue
        kept = [f for f in items if f.code != IO_ERROR]
        if len(kept) < len(items):  # ruff's E902: a file it could not read, not a finding
            failed[absolute] = next(f.message for f in items if f.code == IO_ERROR)
        resolved = real.file(str(absolute))
        if kept and any(within(resolved, r) for r in real_roots):
            found.setdefault(absolute, []).extend(kept)
    for name, said in _failed_to_lint(err):
        absolute, *others = real_names(here / name)
        if others:
            unread_ambiguous.update((p, AMBIGUOUS) for p in (absolute, *others))
        else:
            failed[absolute] = said
    failed.update((p, "") for p in outside if _broken(p))  # excluded, never given to ruff
    notes: list[str] = []
    for path in sorted(failed):
        what = holds.special(path)  # a socket ruff opened (a FIFO is kept from it)
        if what is not None and any(within(real.file(str(path)), r) for r in real_roots):
            del failed[path]
            notes.append(holds.left_out(path, what))
    unread = tuple(
        Unread(p, why_unread(p, said))
        for p, said in sorted(failed.items())
        if _broken(p) or any(within(real.file(str(p)), r) for r in real_roots)
    )
    unread += tuple(Unread(p, why) for p, why in sorted(unread_ambiguous.items()))
    return TreeFindings(found, tuple(outside), (), unread, tuple(notes))


AMBIGUOUS = (
    "ruff names it as it names another file beside it (each byte that is not UTF-8 as"
    " U+FFFD): SHIM cannot tell whose findings are whose, and shows none of them"
)


IO_ERROR = "E902"
"""Ruff's code for a file it could not read (when selected; else it warns on stderr)."""
_FAILED_LINE = re.compile(r"Failed to lint (?P<path>.+): (?P<said>[^:]+ \(os error \d+\))$")


def _failed_to_lint(err: bytes) -> list[tuple[str, str]]:
    """The files ruff says on stderr it could not read (``warning: Failed to lint a.py:
    Permission denied (os error 13)``), as it names them (relative to where it ran)."""
    lines = err.decode("utf-8", "replace").splitlines()
    found = (_FAILED_LINE.search(line.strip()) for line in lines)
    return [(m["path"], m["said"]) for m in found if m is not None]


def _broken(path: Path) -> bool:
    """A link that leads nowhere: to nothing, or round in a loop."""
    return os.path.islink(path) and not os.path.exists(path)


async def check_tree(
    binary: str,
    roots: Sequence[Path],
    options: RuffOptions,
    files: Sequence[Path] = (),
    timeout: float = TIMEOUT_S,
    cwd: Path | None = None,
    search: LinkSearch | None = None,
    secret: Callable[[str], bool] | None = None,
) -> TreeFindings | RuffFailure:
    """Ruff's findings in every Python file under ``roots`` (or in ``files`` only, which
    must be under them: see ``python_files``), from the files on disk, in one process run
    in ``cwd`` (default: the first root). Cancelled, ruff is killed. ``search``: the link
    search to ask (one that keeps what it listed), else a fresh one. Whole roots are run
    as ``shim analyze`` runs them (``TreeRun``)."""
    from shim_lsp.analysis import ruff

    if not files:
        here = _here(roots, cwd)
        return await _tree_run(binary, roots, options, here, timeout, search, secret)
    skipped: tuple[Path, ...] = ()
    kept = [f for f in files if config_leading_out(roots, [], [f]) is None]
    if len(kept) < len(files):  # those below a settings file leading out are left out
        skipped = tuple(sorted({_settings_link(roots, f) for f in files if f not in kept}))
        if not kept:
            return TreeFindings({}, (), skipped)
    here = _here(roots, cwd)
    refused = _cwd_refused(roots, here)
    if refused is not None:
        return refused
    plan, _read = _before_start(kept, here)  # ruff reads each file's folders' settings
    if isinstance(plan, RuffFailure):
        return plan
    args = _args(options, [], kept, plan)
    ran = await ruff.run_both(binary, args, None, roots[0], timeout, here, roots, secret)
    if isinstance(ran, RuffFailure):
        return ran
    found = _found(binary, ran[0], roots, here, [], err=ran[1])
    if isinstance(found, TreeFindings):
        return found._replace(skipped=skipped, notes=plan.merged_notes(found.notes).notes)
    return found


async def _tree_run(
    binary: str,
    roots: Sequence[Path],
    options: RuffOptions,
    here: Path,
    timeout: float,
    search: LinkSearch | None,
    secret: Callable[[str], bool] | None = None,
) -> TreeFindings | RuffFailure:
    """``TreeRun`` off the event loop, which the editor waits on (the link search alone is
    milliseconds to tens of them); cancelled, ruff is killed."""
    import asyncio

    start = TreeRun.start
    run = await _off_loop(start, binary, roots, options, here, timeout, search, True, secret)
    while isinstance(run, TreeRun):
        try:
            done = await asyncio.to_thread(run.outcome)
        except asyncio.CancelledError:
            _kill(run.proc)
            raise
        if done is not None:
            return done
        run = await _off_loop(run.again)
    return run


async def _off_loop(
    start: Callable[..., TreeRun | RuffFailure], *args: Any
) -> TreeRun | RuffFailure:
    """``start(*args)`` in a thread; cancelled meanwhile, the ruff it starts is killed."""
    import asyncio

    starting = asyncio.ensure_future(asyncio.to_thread(start, *args))

    def kill_started(done: asyncio.Future[TreeRun | RuffFailure]) -> None:
        if not done.cancelled() and done.exception() is None:
            started = done.result()
            if isinstance(started, TreeRun):
                _kill(started.proc)

    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        starting.add_done_callback(kill_started)
        raise


async def check_file(
    binary: str,
    roots: Sequence[Path],
    options: RuffOptions,
    path: Path,
    data: bytes,
    timeout: float = TIMEOUT_S,
    cwd: Path | None = None,
    secret: Callable[[str], bool] | None = None,
) -> TreeFindings | RuffFailure:
    """``check_tree`` of one file under ``roots`` (see ``python_files``) whose bytes the
    caller has read: they go to ruff's standard input as that file's, the bytes ruff would
    read itself (ruff 0.17.6 answers about 2 ms sooner than when it opens the file, out of
    the 10 ms a one-file run takes), and the caller places the findings in the same text."""
    from shim_lsp.analysis import ruff

    if config_leading_out(roots, [], [path]) is not None:
        return TreeFindings({}, (), (_settings_link(roots, path),))
    here = _here(roots, cwd)
    refused = _cwd_refused(roots, here)
    if refused is not None:
        return refused
    plan, _read = _before_start([path], here)  # ruff reads its folders' settings, blocking
    if isinstance(plan, RuffFailure):
        return plan
    items = await ruff.check_bytes(binary, data, path, options, timeout, here, roots, secret)
    if isinstance(items, RuffFailure):
        return items
    return TreeFindings({path: items} if items else {})


def _settings_link(roots: Sequence[Path], file: Path) -> Path:
    """The nearest settings file over ``file`` (up to the roots) that is a link leading out."""
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    for folder in (f for f in file.parents if _inside(f, real_roots)):
        for name in RUFF_CONFIGS:
            if os.path.islink(folder / name) and not _inside(folder / name, real_roots):
                return folder / name
    return file


class TreeRun(NamedTuple):
    """``check_tree`` over whole roots without an event loop, in two halves, for
    ``shim analyze``: started (ruff and the link search), the caller does its own work
    beside ruff, then ``finish`` waits for ruff's findings.

    Where Landlock is (``sandbox.available``) and every root is a folder, ruff starts first,
    in a sandbox that reads nothing outside the roots but what ruff's own settings discovery
    reads above them (``ruff_command.read_outside``), and the link search runs beside it:
    a link leading out is refused by the kernel, its findings dropped by the search's
    answer. Elsewhere, the safe order: the search, then ruff with the links excluded."""

    binary: str
    roots: tuple[Path, ...]
    here: Path
    outside: tuple[Path, ...]
    proc: subprocess.Popen[bytes]
    timeout: float
    search: LinkSearch
    options: RuffOptions = RuffOptions()
    sandboxed: bool = False
    """Ruff was started in the sandbox, before the search or without it."""
    searched: bool = True
    """``outside`` holds the search's answer (a sandboxed run may not have asked yet)."""
    plan: holds.Plan = holds.NOTHING
    """What ruff was kept from that it could wait on, and what the user is told of it."""
    secret: Callable[[str], bool] | None = None
    """Judges which files ruff may name are secrets, whose quotes are cut (None: SHIM's own
    patterns; see ``ruff_command.unshowable``)."""

    @classmethod
    def start(
        cls,
        binary: str,
        roots: Sequence[Path],
        options: RuffOptions,
        cwd: Path | None = None,
        timeout: float = TIMEOUT_S,
        search: LinkSearch | None = None,
        outside_wanted: bool = True,
        secret: Callable[[str], bool] | None = None,
    ) -> TreeRun | RuffFailure:
        """Ruff started over ``roots``, and the links leading out searched (before ruff,
        which would read a linked file, unless it runs sandboxed). The search's findings
        are kept by ``finish``. ``outside_wanted``: False when the answer need not name the
        links leading out (``TreeFindings.outside``): a sandboxed run then searches only if
        ruff says it was refused a file, as the sandbox alone keeps ruff inside, and the
        findings of files resolving outside are dropped whatever the search says."""
        search = search or LinkSearch()
        here = _here(roots, cwd)
        abi = sandbox.available()
        if abi and all(r.is_dir() for r in roots):
            refused = _cwd_refused(roots, here)
            if refused is not None:
                return refused
            plan, read = _before_start(roots, here)
            if isinstance(plan, RuffFailure):
                return plan
            try:
                proc = _popen(binary, _args(options, [], roots, plan), here, abi, roots, read)
            except OSError as exc:
                log.info("ruff cannot start sandboxed (%s): searching for links first", exc)
            else:
                run = (binary, tuple(roots), here)
                if not outside_wanted:
                    return cls(
                        *(*run, (), proc, timeout, search, options, True),
                        searched=False,
                        plan=plan,
                        secret=secret,
                    )
                try:
                    found = search.found(roots)
                except BaseException:
                    _kill(proc)
                    raise
                refused = config_leading_out(roots, found.outside) or holds.settings_refused(
                    roots, found.settings
                )
                if refused or settings_leading_out(roots, found.outside) or found.special:
                    # The safe order says no, or which folders (or files) ruff leaves out.
                    _kill(proc)
                    if refused is not None:
                        return refused
                    args = (binary, roots, options, here, timeout, search, found, secret)
                    return cls._started(*args)
                outside = tuple(found.outside)
                return cls(
                    *run, outside, proc, timeout, search, options, True, plan=plan, secret=secret
                )
        return cls._started(binary, roots, options, here, timeout, search, None, secret)

    @classmethod
    def _started(
        cls,
        binary: str,
        roots: Sequence[Path],
        options: RuffOptions,
        here: Path,
        timeout: float,
        search: LinkSearch,
        found: Found | None,
        secret: Callable[[str], bool] | None = None,
    ) -> TreeRun | RuffFailure:
        """Ruff started in the safe order: the links leading out and what ruff could wait
        on found (``found``, or searched now), then ruff run with them kept out."""
        if found is None:
            found = search.found(roots)
        outside = found.outside
        refused = (
            config_leading_out(roots, outside)
            or _cwd_refused(roots, here)
            or _file_targets_refused(roots, here)
        )
        if refused is not None:
            return refused
        plan, _read = _before_start(roots, here)
        if isinstance(plan, RuffFailure):
            return plan
        more = holds.from_search(roots, found.special, outside, True, found.settings)
        if isinstance(more, RuffFailure):
            return more
        plan = plan.merged(more).merged(holds.alike_left_out([*_kept_out(outside), *more.excluded]))
        try:
            proc = _popen(binary, _args(options, outside, roots, plan), here)
        except OSError as exc:
            return RuffFailure(f"{CANNOT_RUN} ({binary}): {exc.strerror or exc}")
        run = (binary, tuple(roots), here, tuple(outside), proc, timeout, search, options)
        return cls(*run, plan=plan, secret=secret)

    @property
    def skipped(self) -> tuple[Path, ...]:
        """Settings files leading out whose folders ruff is kept out of."""
        return settings_leading_out(self.roots, self.outside)

    def finish(self, real: RealPaths | None = None) -> TreeFindings | RuffFailure:
        """Ruff's findings, or why there are none; timed out or interrupted, ruff is killed.
        ``real``: as ``_found``'s. A sandboxed run that the sandbox got in the way of is
        run again in the safe order (see ``outcome``)."""
        run: TreeRun | RuffFailure = self
        while isinstance(run, TreeRun):
            done = run.outcome(real)
            if done is not None:
                return done
            run = run.again()
        return run

    def outcome(self, real: RealPaths | None = None) -> TreeFindings | RuffFailure | None:
        """``finish`` of this run alone: None when it ran sandboxed and the sandbox got in
        the way (ruff failed, or could not read a file other than a link leading out: a
        setting extended from outside, say), for ``again`` to run it in the safe order."""
        self.search.save()  # while ruff works
        found: Found | None = None
        try:
            if self.sandboxed and not self.searched:
                try:
                    out, err = self.proc.communicate(timeout=min(HOLD_CHECK_S, self.timeout))
                except subprocess.TimeoutExpired:
                    found = self.search.found(self.roots)  # ruff still runs: on a FIFO?
                    held = holds.settings_refused(self.roots, found.settings)
                    if held is not None:
                        return held
                    if found.special:
                        log.info("ruff could wait on %s: run again, safe order", found.special)
                        return None
                    out, err = communicate(self.proc, self.timeout - HOLD_CHECK_S)
            else:
                out, err = communicate(self.proc, self.timeout)
        except subprocess.TimeoutExpired:
            return ruff_command.timed_out(self.binary, self.timeout, self.roots[0])
        except Stalled:
            return stalled(self.binary, STALLED_S)
        finally:
            _kill(self.proc)
        outside = self.outside
        if self.sandboxed:
            refused = self.proc.returncode != 0
            if refused:
                unsafe = holds.extend_refused(err)
                if unsafe is not None:
                    return unsafe  # the safe order would open it, and wait for ever
            if not refused and (_DENIED in out or _DENIED in err):
                if not self.searched:  # which of the refusals were links leading out
                    found = found or self.search.found(self.roots)
                    outside = tuple(found.outside)
                    self.search.save()
                refused = bool(
                    config_leading_out(self.roots, outside)
                    or settings_leading_out(self.roots, outside)
                    or _denied_inside(out, err, outside, self.here)
                )
            if refused:
                log.info("the sandbox kept ruff from what it may read: run again, safe order")
                return None
        real_roots = [os.path.realpath(r) for r in self.roots]
        err = ruff_command.cut_outside(err, real_roots, self.secret)
        done = ruff_command.outcome(self.binary, self.proc.returncode, out, err, self.roots[0])
        if isinstance(done, RuffFailure):
            return done
        by_file = _found(self.binary, done, self.roots, self.here, outside, real, err)
        if isinstance(by_file, RuffFailure):
            return by_file
        skipped = settings_leading_out(self.roots, outside)
        if _ENTER_FAILED in err and not self.searched:  # which folders: ruff never says
            self.search.outside(self.roots)
        locked = self.search.unlisted if _ENTER_FAILED in err else ()
        unread = (*by_file.unread, *(Unread(p, LOCKED_FOLDER) for p in locked))
        notes = self.plan.merged_notes(by_file.notes).notes
        return by_file._replace(skipped=skipped, unread=unread, notes=notes)

    def again(self) -> TreeRun | RuffFailure:
        """This run started again in the safe order (the links and what ruff could wait on
        searched for again: the search keeps what it listed, so a second search only stats)."""
        args = (self.binary, self.roots, self.options, self.here, self.timeout, self.search)
        return self._started(*args, None, self.secret)


_ENTER_FAILED = b"Encountered error: Permission denied"
"""How ruff says it could not list a folder it walked into, without naming it."""
LOCKED_FOLDER = "SHIM may not list this folder (permission denied), nor any file in it"

_DENIED = b"(os error 13)"
"""How ruff says it could not read a file (EACCES): what the sandbox answers."""


_FAILED_TO_LINT = "Failed to lint "


def _denied_inside(out: bytes, err: bytes, outside: Sequence[Path], here: Path) -> bool:
    """Whether ruff says it could not read a file other than a link leading out (one the
    sandbox refused, as expected): in its JSON (E902, when selected), else on stderr
    (``warning: Failed to lint out.py: Permission denied (os error 13)``)."""
    import json

    # As ruff spells them: a name that is not UTF-8 with U+FFFD, unless another reads alike
    # (then which one ruff was refused is not known: the safe order leaves out both).
    named = {lossy(str(p)) for p in outside if not holds.alike(str(p))}
    denied = _DENIED.decode()
    for line in err.decode("utf-8", "replace").splitlines():
        if denied in line:
            said = line.partition(_FAILED_TO_LINT)[2].rpartition(": ")[0]
            if not said or lossy(str(here / said)) not in named:
                return True
    if _DENIED not in out:
        return False
    try:
        return any(
            denied in str(i.get("message"))
            and lossy(str(here / str(i.get("filename")))) not in named
            for i in json.loads(out)
        )
    except (ValueError, TypeError, AttributeError):
        return True


def _popen(
    binary: str,
    args: list[str],
    here: Path,
    abi: int = 0,
    roots: Sequence[Path] = (),
    read: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Ruff started (in the sandbox, reading ``roots`` and of ``read``, what is above them,
    when ``abi``). Raises OSError."""
    kwargs: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "cwd": here,
    }
    if not abi:
        return subprocess.Popen([binary, *args], **kwargs)
    # A file of ruff's discovery inside a root needs no rule of its own (the root's covers
    # it), and must get none: a rule follows a link, and one leading out would be granted.
    real_roots = [os.path.realpath(r) for r in roots]
    above = [p for p in read if not any(within(p, r) for r in real_roots)]
    return sandbox.popen(abi, [binary, *args], [*roots, *above], **kwargs)


def _cpu_ticks(pid: int) -> int | None:
    """The CPU time a process (all its threads) has used, in clock ticks; None where
    ``/proc`` does not tell (not Linux, or it has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (the 14th and 15th)
    except (OSError, IndexError, ValueError):
        return None


def stalled(binary: str, stall: float) -> RuffFailure:
    return RuffFailure(
        f"ruff ({binary}) used no CPU time for {stall:g} s: it waits on a file that will never"
        " answer (a FIFO or a device, perhaps named by a setting), so it was stopped and"
        " nothing was analysed (remove that file, or exclude it)"
    )


class Stalled(Exception):
    """Ruff used no CPU time for ``STALLED_S``."""


def communicate(
    proc: subprocess.Popen[bytes], timeout: float, stall: float | None = None
) -> tuple[bytes, bytes]:
    """``proc.communicate(timeout=timeout)`` that also gives up when the process has used no
    CPU time for ``stall`` seconds (default ``STALLED_S``: ``Stalled``). Raises
    ``subprocess.TimeoutExpired``."""
    import time

    stall = STALLED_S if stall is None else stall
    start = last_change = time.monotonic()
    ticks = _cpu_ticks(proc.pid)
    while True:
        now = time.monotonic()
        left = timeout - (now - start)
        if left <= 0:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        try:
            return proc.communicate(timeout=min(left, _POLL_S))  # retried: nothing is lost
        except subprocess.TimeoutExpired:
            pass
        now_ticks = _cpu_ticks(proc.pid)
        now = time.monotonic()
        if now_ticks is None or now_ticks != ticks:
            ticks, last_change = now_ticks, now
        elif now - last_change >= stall:
            raise Stalled


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.returncode is None:
        proc.kill()
        proc.wait()


class Readable(NamedTuple):
    """The Python files under a folder that SHIM may read, to hand a checker one by one
    (given the folder, mypy reads every file in it, links leading out and secrets too)."""

    files: tuple[Path, ...]
    """Regular files the rules keep (not excluded, not ignored, not secret)."""
    refused: tuple[Path, ...]
    """What an import could still reach that SHIM must not (or cannot) read: a secret
    Python file (by its name or by what a link leads to), a link leading out of the folder,
    a Python file SHIM may not read."""


def readable_python_files(rules: FileRules) -> Readable:
    """``Readable`` for the folder ``rules`` judge (``rules.root``), walked as a checkpoint
    walks it: excluded and ignored folders are not entered, links are not followed."""
    from shim_lsp.workspace.scan import kept_files, walk_folders  # mypy's path only

    root = rules.root
    real_root = [Path(os.path.realpath(root))]
    files, refused = [], []
    for listing in walk_folders(rules):
        kept = {rel for rel, _st, _dev in kept_files(rules, listing)}
        for name, st in listing.files:
            rel = listing.prefix + name
            path = root / rel
            python = name.endswith(PYTHON_SUFFIXES)
            if rel in kept:
                if python and os.access(path, os.R_OK):
                    files.append(path)
                elif python:  # said not analysed by ruff's run; mypy would stop on it
                    refused.append(path)
            elif stat.S_ISLNK(st.st_mode) and not _inside(path, real_root):
                refused.append(path)  # a folder's link too: a package to import
            elif python and rules.is_secret(path):
                refused.append(path)
    return Readable(tuple(sorted(files)), tuple(sorted(refused)))
