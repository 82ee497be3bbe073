"""Running a codemod over many files, each in a worker process that may die or hang.

libcst's native parser can crash its process on pathological input, and a codemod can loop;
pebble's process pool gives every file a time limit and replaces a worker that died, so one
bad file is reported as failed while the run goes on. Workers parse bytes, so encodings,
BOMs and line endings come back exactly as they were. A result must still parse
(``ast.parse``) and read no name that nothing binds unless the original did too, or the file
is reported as failed and left as it was. A codemod whose changes go together
(``CHANGES_GO_TOGETHER``: a rename changes the definition and its importers) changes no file
when one fails, nor when a file it must change is not in the run (``must_include``: the
definition, when only importers were given).
"""

from __future__ import annotations

import ast
import importlib
import multiprocessing
import multiprocessing.context
import os
import re
import resource
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, TimeoutError, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pebble import ProcessExpired, ProcessPool

from shim_lsp.codemods.lossless import Lossy, keep_dropped
from shim_lsp.codemods.modules import begin_run, module_name_of
from shim_lsp.codemods.refused import Refused
from shim_lsp.codemods.text import mentions

Status = Literal["changed", "unchanged", "skipped", "failed", "not run"]
"""``not run``: a cancelled run stopped before this file was done."""

GENERATED_MARKERS = (b"@generated", b"@" + b"partially-generated")
"""The libcst CLI's markers of generated files, which codemods leave alone."""
MARKER_BYTES = 2048
NOT_PYTHON = "does not parse"
"""How the reason of a file that is not Python itself begins."""
PREFILTERED = "contains none of the strings the codemod needs; not parsed"
"""The reason of an unchanged file that the pre-filter kept from the workers."""


@dataclass(frozen=True)
class CodemodSpec:
    """What to run: a codemod class by module and name, with its arguments."""

    module: str
    cls: str
    args: dict[str, Any] = field(default_factory=dict)

    def together(self) -> bool:
        """Its changes to different files depend on each other (a rename: the definition
        and every importer), so a file that fails holds back the others."""
        return bool(getattr(load(self.module, self.cls), "CHANGES_GO_TOGETHER", False))

    def must_include(self, root: Path) -> dict[Path, str]:
        """Files of the project that a run changing anything must cover, each with why: a
        rename of the importers alone, without the definition, breaks every import."""
        files = getattr(load(self.module, self.cls), "must_include", None)
        return {} if files is None else dict(files(root, **self.args))

    def mentions_outside_python(self, root: Path) -> dict[Path, list[str]]:
        """Project files that are not Python (``pyproject.toml``'s entry points) mentioning
        what the run changes, each with what to tell the user: no codemod rewrites them."""
        found = getattr(load(self.module, self.cls), "mentions_outside_python", None)
        return {} if found is None else dict(found(root, **self.args))

    def prefilter_modules(self) -> tuple[str, ...]:
        """Modules whose files (and their submodules') are parsed whatever they contain."""
        modules = getattr(load(self.module, self.cls), "prefilter_modules", None)
        return () if modules is None else tuple(modules(**self.args))

    def needs_parsing(self) -> Callable[[Path, bytes | str], bool]:
        """Whether a file (its path and content) can be changed by the codemod: the files
        that cannot are left unchanged without a parse (``PREFILTERED``)."""
        words = self.prefilter()
        always = self.prefilter_modules()

        def needed(path: Path, source: bytes | str) -> bool:
            if not words:
                return True
            haystack = source.encode("utf-8", "replace") if isinstance(source, str) else source
            return mentions(haystack, *words) or _in(path, always)

        return needed

    def prefilter(self) -> tuple[str, ...]:
        """Strings one of which a file must contain for the codemod to change it."""
        codemod = load(self.module, self.cls)
        words = getattr(codemod, "prefilter", None)
        if words is None:
            return ()
        return tuple(words(**self.args))


@dataclass(frozen=True)
class FileResult:
    path: str
    status: Status
    reason: str = ""
    new: bytes | None = None
    """The transformed file content, when changed (for jobs read from disk)."""
    new_text: str | None = None
    """The transformed text, when changed (for jobs given as buffer text)."""
    warnings: tuple[str, ...] = ()
    old: bytes | None = None
    """The bytes the codemod read, when changed and read from disk: what may be overwritten."""


@dataclass
class Summary:
    results: list[FileResult] = field(default_factory=list)
    cancelled: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def line(self, *, written: bool = True) -> str:
        """The summary; ``written=False`` (a dry run, a diff) says what would change."""
        changed = "changed" if written else "would change"
        text = (
            f"{self.count('changed')} {changed}, {self.count('unchanged')} unchanged, "
            f"{self.count('skipped')} skipped, {self.count('failed')} failed"
        )
        if self.cancelled:
            text += f", {self.count('not run')} not run (cancelled)"
        return text

    def breakdown(self) -> list[str]:
        """Why files were not parsed or were skipped, one line per reason, most files first:
        the summary line's counts alone do not say whether a skip needs the user."""
        lines = []
        prefiltered = sum(1 for r in self.results if r.reason == PREFILTERED)
        if prefiltered:
            lines.append(
                f"{prefiltered} of the unchanged not parsed: "
                "they contain none of the strings the codemod needs"
            )
        reasons = Counter(
            re.sub(r"^line \d+: ", "", r.reason) for r in self.results if r.status == "skipped"
        )
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"{count} skipped: {reason}")
        return lines


_CACHE: dict[tuple[str, str], Any] = {}


def load(module: str, cls: str) -> Any:
    """The codemod class; imported once per process (work shared within a run)."""
    key = (module, cls)
    if key not in _CACHE:
        _CACHE[key] = getattr(importlib.import_module(module), cls)
    return _CACHE[key]


def transform_bytes(
    spec: CodemodSpec, path: str, source: bytes | str, module: str | None, run: object = None
) -> FileResult:
    """Apply one codemod to a file's bytes, or to a buffer's text. Never raises. ``run``
    names the run the file belongs to: what the project looked like in an earlier one is
    forgotten (None: forgotten now)."""
    import libcst as cst
    from libcst.codemod import CodemodContext, SkipFile

    begin_run(run)
    head = source[:MARKER_BYTES]
    head_bytes = head.encode("utf-8", "replace") if isinstance(head, str) else head
    if any(marker in head_bytes for marker in GENERATED_MARKERS):
        return FileResult(path, "skipped", "generated file")
    nul = _nul(source)
    if nul is not None:
        return FileResult(path, "failed", f"{NOT_PYTHON}: {nul}")
    try:
        tree = _parse_exactly(source)
    except cst.ParserSyntaxError as exc:
        return FileResult(path, "failed", f"{NOT_PYTHON}: {_syntax_error(source, exc)}")
    except Exception as exc:
        return FileResult(path, "failed", f"{NOT_PYTHON}: {exc}")
    context = CodemodContext(filename=path, full_module_name=module)
    try:
        codemod = load(spec.module, spec.cls)(context, **spec.args)
        new_tree = codemod.transform_module(tree)
    except SkipFile as exc:
        return FileResult(path, "skipped", str(exc) or "skipped by the codemod")
    except Refused as exc:
        return FileResult(path, "failed", str(exc))
    except Exception as exc:
        return FileResult(path, "failed", f"{type(exc).__name__}: {exc}")
    warnings = tuple(context.warnings)
    new: bytes | str = _written(new_tree, source)
    if new == source:
        return FileResult(path, "unchanged", warnings=warnings)
    written = _written(tree, source)  # only here: writing a tree costs a third of a parse
    if new == written:
        return FileResult(path, "unchanged", warnings=warnings)
    if written != source:
        try:
            new = keep_dropped(
                source, written, new, lambda text: _written(_parse_exactly(text), text)
            )
        except Lossy as exc:
            return FileResult(path, "skipped", f"{exc}; left as is", warnings=warnings)
    try:
        ast.parse(new, filename=path)
    except SyntaxError as exc:
        return FileResult(path, "failed", f"the result would not parse ({exc.msg}); left as is")
    from shim_lsp.codemods.names import introduced_unbound

    unbound = introduced_unbound(tree, new_tree)
    if unbound:
        names = ", ".join(sorted(unbound))
        return FileResult(
            path, "failed", f"the result would use undefined names ({names}); left as is"
        )
    if isinstance(new, str):
        return FileResult(path, "changed", new_text=new, warnings=warnings)
    return FileResult(path, "changed", new=new, warnings=warnings)


def _written(tree: Any, source: bytes | str) -> Any:
    """What libcst writes for ``tree``, as text or bytes like the ``source`` it came from."""
    return tree.code if isinstance(source, str) else tree.bytes


def _parse_exactly(source: bytes | str) -> Any:
    """The module of ``source``, written back byte for byte. libcst takes a file whose last
    line ends in a lone CR (old Mac line endings) for one without a final newline, and
    would drop that CR from every file it writes back."""
    import libcst as cst

    tree = cst.parse_module(source)
    last = source[-1:]
    if last in ("\r", b"\r") and not tree.has_trailing_newline:
        tree = tree.with_changes(has_trailing_newline=True)
    return tree


def _nul(source: bytes | str) -> str | None:
    """Where a NUL byte is, which Python refuses anywhere in a file (libcst accepts one in
    a comment): the file is not Python, whatever the codemod would make of it."""
    at = source.find(b"\0") if isinstance(source, bytes) else source.find("\0")
    if at < 0:
        return None
    before = source[:at]
    text = before.decode("latin-1") if isinstance(before, bytes) else before  # a byte a char
    lines = re.split(r"\r\n|\r|\n", text)
    return f"line {len(lines)}, column {len(lines[-1]) + 1}: a NUL byte, which Python refuses"


def _syntax_error(source: bytes | str, exc: Any) -> str:
    """Where a file does not parse, in SHIM's words. Python's own parser says where and why
    (libcst's line is one past it, its column and context often elsewhere); libcst's place
    serves only when Python itself accepts the file."""
    try:
        ast.parse(source)
    except SyntaxError as err:
        if err.lineno is None:
            return err.msg
        return f"line {err.lineno}, column {err.offset or 1}: {err.msg}"
    except ValueError:
        pass  # NUL bytes: Python will not even try
    found = re.match(r"(?:parser error: )?error at (\d+):(\d+): (.*)", exc.message, re.S)
    if found is None:
        where, message = f"line {exc.raw_line}, column {exc.raw_column + 1}", exc.message
    else:
        where = f"line {found[1]}, column {int(found[2]) + 1}"
        message = found[3]
    return f"{where}: {message} (Python itself accepts it; libcst cannot parse it)"


def _init_worker(megabytes: int) -> None:
    """An address-space cap, so a runaway parse fails instead of swapping."""
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: a worker stuck in a codemod is killed when its parent goes away."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _context(fork: bool = False) -> multiprocessing.context.BaseContext:
    """Workers come from a forkserver: forking a process with live threads (the server's
    event loop and journal writer) can copy a held lock into the child and hang it. A process
    with no other thread (the CLI) forks them itself: they start at once with what it has
    imported, instead of a forkserver importing libcst again (a second of a 3 s run)."""
    if fork:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["libcst", "shim_lsp.codemods.runner", "shim_lsp.codemods.registry"])
    return ctx


@dataclass(frozen=True)
class Job:
    path: Path
    source: bytes | str | None = None
    """An open buffer's text (or given bytes); None: read the file."""


Progress = Callable[[Summary, int], None]
"""Called after each file with the summary so far and the number of files in the run."""


def worker_pool(workers: int = 2, memory_mb: int = 2048, *, fork: bool = False) -> ProcessPool:
    """Worker processes that ``run`` can share between calls: an editor asks for code
    actions at every pause in typing, and a new pool per codemod per buffer version costs
    more than the codemods do. ``fork``: only from a process with no other thread."""
    return ProcessPool(
        max_workers=max(1, workers),
        initializer=_init_worker,
        initargs=(memory_mb,),
        context=_context(fork),
    )


def run(
    spec: CodemodSpec,
    jobs: Iterable[Job],
    *,
    workers: int = 2,
    timeout: float = 30.0,
    memory_mb: int = 2048,
    root: Path | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    pool: ProcessPool | None = None,
    fork: bool = False,
) -> Summary:
    """Run a codemod over files; cheap pre-filtering first, then the worker processes
    (``pool``'s, which stay up afterwards, or a pool of ``workers`` for this run, forked
    from the caller when ``fork``: see ``worker_pool``)."""
    summary = Summary()
    run_id = uuid.uuid4().hex
    begin_run(run_id)
    needed = spec.needs_parsing()
    todo: list[tuple[Job, bytes | str]] = []
    given: set[str] = set()
    """Every file of the run, however named (what ``must_include`` is checked against)."""
    for job in jobs:
        given.add(os.path.realpath(job.path))
        source = job.source
        if source is None:
            try:
                source = job.path.read_bytes()
            except OSError as exc:
                summary.results.append(FileResult(str(job.path), "failed", f"cannot read: {exc}"))
                continue
        if not needed(job.path, source):
            summary.results.append(FileResult(str(job.path), "unchanged", PREFILTERED))
            continue
        todo.append((job, source))
    total = len(summary.results) + len(todo)
    if progress is not None:
        progress(summary, total)
    if not todo:
        return summary
    lock = threading.Lock()
    owned = pool is None
    if pool is None:
        pool = worker_pool(min(workers, len(todo)), memory_mb, fork=fork)
    try:
        futures: list[tuple[Job, Future[FileResult]]] = []
        for job, source in todo:
            module = module_name_of(job.path)
            limit = time_limit(timeout, source)
            fut = pool.schedule(
                transform_bytes, args=(spec, str(job.path), source, module, run_id), timeout=limit
            )
            futures.append((job, fut))

            def done(
                f: Future[FileResult],
                job: Job = job,
                source: bytes | str = source,
                limit: float = limit,
            ) -> None:
                result = _outcome(job, f, limit)
                if result.status == "changed" and isinstance(source, bytes):
                    result = replace(result, old=source)
                with lock:
                    summary.results.append(result)
                    if progress is not None:
                        progress(summary, total)

            fut.add_done_callback(done)
        pending = {fut for _job, fut in futures}
        while pending:
            _done, pending = wait(pending, timeout=0.1)
            if cancel is not None and cancel.is_set() and pending:
                summary.cancelled = True
                for waiting in pending:
                    waiting.cancel()  # pebble stops the worker of one that is running
                if owned:
                    pool.stop()
                break
    finally:
        if owned:
            pool.close()
            pool.join()
    if spec.together():
        if root is not None and not summary.cancelled and summary.count("changed"):
            _left_out(summary, spec.must_include(root), given)
            for path, warnings in sorted(spec.mentions_outside_python(root).items()):
                summary.results.append(
                    FileResult(
                        _as_given(summary, path),
                        "unchanged",
                        "not Python",
                        warnings=tuple(warnings),
                    )
                )
        _hold_back(summary)
    return summary


def _left_out(summary: Summary, required: dict[Path, str], given: set[str]) -> None:
    """Each file the run must change but was not given fails, naming itself: the user
    widens the run (or the rename would break every import of what it renames)."""
    for path, why in sorted(required.items()):
        if os.path.realpath(path) in given:
            continue
        summary.results.append(
            FileResult(
                _as_given(summary, path),
                "failed",
                f"{why}, and is not among the files of this run: include it (nothing was changed)",
            )
        )


def _as_given(summary: Summary, path: Path) -> str:
    """A file the run adds to its results, shown as the run's files were given: relative to
    the current folder when they were."""
    relative = any(not Path(r.path).is_absolute() for r in summary.results)
    return os.path.relpath(path) if relative and path.is_relative_to(Path.cwd()) else str(path)


def _in(path: Path, modules: tuple[str, ...]) -> bool:
    """The file is one of the modules, or under one of them: by its path, since its own
    name may start lower than the importers' spelling (a package inside a namespace
    package: ``ns/sub/util.py`` is ``sub.util`` to itself, ``ns.sub.util`` to them)."""
    if not modules:
        return False
    parts = path.with_suffix("").parts
    for module in modules:
        wanted = tuple(module.split("."))
        if any(parts[i : i + len(wanted)] == wanted for i in range(len(parts))):
            return True
    return False


def _hold_back(summary: Summary) -> None:
    """No file changes when one that should have failed: half a rename breaks the project.
    A file that is not Python itself holds nothing back (it imports nothing)."""
    failed = sum(
        1 for r in summary.results if r.status == "failed" and not r.reason.startswith(NOT_PYTHON)
    )
    if not failed:
        return
    reason = (
        f"not changed: this codemod's changes go together, and {failed} "
        f"{'file' if failed == 1 else 'files'} failed"
    )
    summary.results[:] = [
        FileResult(r.path, "skipped", reason, warnings=r.warnings) if r.status == "changed" else r
        for r in summary.results
    ]


LINES_PER_LIMIT = 2000
"""A file of up to this many lines gets the run's time limit; a longer one, as much more in
proportion: libcst's time grows with the file (a 7,400-line test module takes 20-30 s), and
the limit is there to stop a file that does not finish, not one that is long."""

BYTES_PER_LIMIT = 100_000
"""The same by size, for a file of few long lines (a generated 2 MB table on one line takes
libcst 11 s to parse alone)."""


def time_limit(timeout: float, source: bytes | str) -> float:
    """The seconds a file may take: ``timeout`` per ``LINES_PER_LIMIT`` lines or
    ``BYTES_PER_LIMIT`` bytes, whichever gives more, at least ``timeout``."""
    data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    lines = data.count(b"\n") + 1
    return timeout * max(1.0, lines / LINES_PER_LIMIT, len(data) / BYTES_PER_LIMIT)


def _outcome(job: Job, fut: Future[FileResult], timeout: float) -> FileResult:
    path = str(job.path)
    if fut.cancelled():
        return FileResult(path, "not run", "the run was cancelled before this file was done")
    error = fut.exception()
    if error is None:
        return fut.result()
    if isinstance(error, TimeoutError):
        return FileResult(path, "failed", f"took longer than {timeout:.0f} s; stopped")
    if isinstance(error, ProcessExpired):
        return FileResult(
            path,
            "failed",
            f"its worker process died (exit {error.exitcode}): "
            "a crash in the parser or in the codemod",
        )
    if isinstance(error, MemoryError):
        return FileResult(path, "failed", "ran out of its memory limit")
    if isinstance(error, UnicodeEncodeError):
        text = error.object[error.start : error.end]
        return FileResult(
            path,
            "failed",
            f"the result cannot be written in the file's encoding ({error.encoding}): it has no"
            f" form for {text!r}; nothing was changed in this file",
        )
    return FileResult(path, "failed", f"{type(error).__name__}: {error}")


def workers_default() -> int:
    return max(1, (os.cpu_count() or 2))
