"""The ``shim`` command: the server, and SHIM's store when no editor is running.

The parser is all that loads at first; each subcommand imports what it needs, so that
``shim serve`` starts as fast as the server itself.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from shim_lsp import __version__

RECOVERED_DIR = ".shim-recovered"


class CliError(Exception):
    """A problem to print as one line, with exit status 2."""


class _Formatter(argparse.HelpFormatter):
    """argparse's help, whose width is the terminal's only when help (or an error) is
    printed: argparse also makes a formatter for every argument added, to check it, and the
    terminal's width loads ``shutil`` and with it zlib, bz2 and lzma, 5 ms of ``shim
    analyze`` before ruff starts."""

    building = False
    """Set while ``build_parser`` adds arguments: no formatter made then prints."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None and _Formatter.building:
            width = 80
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (its subcommands' too) whose help is ``_Formatter``'s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _label(value: str) -> str:
    from shim_lsp.store.checkpoints import check_label

    try:
        return check_label(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _lazy(module: str, name: str, store: bool = True) -> Callable[[argparse.Namespace], int]:
    """A subcommand whose module is imported only when it runs; ``store``: it reads SHIM's
    store, whose errors are worded here (one that does not, ``shim analyze``, is spared
    loading sqlite3 before its work)."""

    def run(args: argparse.Namespace) -> int:
        fn: Callable[[argparse.Namespace], Any] = getattr(importlib.import_module(module), name)
        if not store:
            return int(fn(args))
        import sqlite3

        from shim_lsp.store.db import StoreError

        try:
            return int(fn(args))
        except StoreError as exc:
            raise CliError(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise CliError(
                f"cannot read SHIM's store {_store_path(args)}: {exc} (the server moves a"
                " damaged store aside, keeping it, when it next starts)"
            ) from exc

    return run


def _store_path(args: argparse.Namespace) -> str:
    from shim_lsp.settings import Settings, resolve_state_dir
    from shim_lsp.store.db import DB_NAME

    state = getattr(args, "state_dir", None)
    return str((Path(state) if state else resolve_state_dir(Settings())) / DB_NAME)


def cmd_serve(args: argparse.Namespace) -> int:
    from shim_lsp.server.main import serve

    return serve()


def cmd_mcp(args: argparse.Namespace) -> int:
    """An MCP server on stdio for AI chat sessions, one workspace, the same store."""
    from shim_lsp.settings import Settings

    workspace = None
    if args.workspace is not None:
        # Without it, the MCP client's root (else the current folder, never / or home).
        workspace = Path(os.path.realpath(args.workspace))
        if not workspace.is_dir():
            raise CliError(f"--workspace {args.workspace} is not a folder")
    try:
        from shim_lsp.mcp.server import serve
    except ImportError as exc:
        raise CliError(f"shim mcp needs the MCP SDK ({exc}): pip install 'mcp>=2.3,<3'") from exc
    settings = Settings(
        state_dir=args.state_dir,
        redis_url=args.redis_url,
        redis_key_prefix=args.key_prefix,
        workspace_id=args.workspace_id,
    )
    return serve(workspace, settings, http_port=args.http)


def cmd_demo(args: argparse.Namespace) -> int:
    from shim_lsp.demo import run_demo

    return run_demo(kills=args.kills)


STORE = "shim_lsp.cli.commands"

COMMANDS = frozenset(
    {
        "serve",
        "status",
        "sessions",
        "checkpoints",
        "history",
        "recover",
        "checkpoint",
        "clear",
        "codemod",
        "analyze",
        "windows",
        "metrics",
        "mcp",
        "demo",
    }
)
"""The subcommands (``build_parser`` adds each)."""


def _group_options(
    p: argparse.ArgumentParser,
    url_help: str,
    *,
    workspace_from: str = "the workspace",
    ca_file: bool = True,
) -> None:
    """The options that name a workspace's group in Redis, alike for every command that reads
    it (``status``, ``windows``, ``mcp``)."""
    p.add_argument("--redis-url", help=url_help)
    if ca_file:
        p.add_argument(
            "--redis-ca-file", help="PEM of the CA that signed a rediss:// server's certificate"
        )
    p.add_argument("--key-prefix", default="shim", help="Redis key prefix (default: shim)")
    p.add_argument(
        "--workspace-id",
        help=f"the workspace's id in the group (default: from {workspace_from}, as the server"
        " does)",
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` (the one being run: building the
    others takes longer than ``shim analyze`` may spend before ruff starts)."""

    _Formatter.building = True
    try:
        return _build_parser(only)
    finally:
        _Formatter.building = False


def _build_parser(only: str | None) -> argparse.ArgumentParser:
    def wanted(name: str) -> bool:
        return only is None or only == name

    parser = _Parser(
        prog="shim", description="SHIM keeps every edit safe and brings work back after a crash."
    )
    parser.add_argument("--version", action="version", version=f"shim {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--state-dir", help="SHIM's state folder (default: $SHIM_STATE_DIR or the user state dir)"
    )
    common.add_argument(
        "--workspace",
        default=os.getcwd(),
        help="where to start looking for the workspace: the nearest folder at or above it"
        " that SHIM has sessions for (default: .)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True)
    if wanted("serve"):
        sub.add_parser("serve", help="run the language server on stdio").set_defaults(fn=cmd_serve)
    if wanted("status"):
        p = sub.add_parser("status", parents=[common], help="the store and this workspace")
        _group_options(
            p,
            "the Redis of the workspace's group, to show its windows (default: $SHIM_REDIS_URL,"
            " which keeps a password out of the process list; none: no group)",
        )
        p.set_defaults(fn=_lazy(STORE, "cmd_status"))
    if wanted("sessions"):
        p = sub.add_parser("sessions", parents=[common], help="editing sessions and how they ended")
        p.add_argument("--all", action="store_true", help="every workspace")
        p.set_defaults(fn=_lazy(STORE, "cmd_sessions"))
    if wanted("checkpoints"):
        p = sub.add_parser(
            "checkpoints", parents=[common], help="checkpoints, or one file's history"
        )
        p.add_argument("file", nargs="?", help="a file: its versions across checkpoints")
        p.set_defaults(fn=_lazy(STORE, "cmd_checkpoints"))
    if wanted("history"):
        p = sub.add_parser("history", parents=[common], help="a buffer at any journaled instant")
        p.add_argument("file", help="the file whose unsaved buffer history to show")
        p.add_argument("--at", help="SESSION:INSTANT (from the listing): print the text then")
        p.set_defaults(fn=_lazy(STORE, "cmd_history"))
    if wanted("recover"):
        p = sub.add_parser("recover", parents=[common], help="unsaved work of crashed sessions")
        p.add_argument(
            "--session", help="only this session (id prefix), its dismissed work included"
        )
        where = p.add_mutually_exclusive_group()
        where.add_argument(
            "--print", action="store_true", help="print the text instead of writing it"
        )
        where.add_argument(
            "--out", help=f"folder to write into (default: WORKSPACE/{RECOVERED_DIR})"
        )
        where.add_argument("--in-place", action="store_true", help="write over the original files")
        p.add_argument("--force", action="store_true", help="overwrite newer or existing files")
        p.set_defaults(fn=_lazy(STORE, "cmd_recover"))
    if wanted("checkpoint"):
        p = sub.add_parser(
            "checkpoint", parents=[common], help="take a checkpoint of the workspace now"
        )
        p.add_argument(
            "--label", type=_label, help="a name; named checkpoints are kept until cleared"
        )
        p.set_defaults(fn=_lazy(STORE, "cmd_checkpoint"))
    if wanted("clear"):
        p = sub.add_parser("clear", parents=[common], help="forget sessions and their checkpoints")
        p.add_argument("--session", help="a session id (prefix)")
        p.add_argument("--all", action="store_true", help="every session of this workspace")
        p.add_argument(
            "--every-workspace",
            action="store_true",
            help="with --all: every workspace's sessions; with --session: look in every workspace",
        )
        p.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
        p.set_defaults(fn=_lazy(STORE, "cmd_clear"))
    if wanted("codemod"):
        p = sub.add_parser("codemod", help="run a codemod over files (--list shows them)")
        p.add_argument("name", nargs="?", help="the codemod, as `shim codemod --list` names it")
        p.add_argument("paths", nargs="*", help="files or folders (default: .)")
        p.add_argument(
            "--arg",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an argument of the codemod; repeat for more",
        )
        p.add_argument(
            "--jobs", type=int, default=0, help="worker processes (default 0: one per CPU)"
        )
        p.add_argument(
            "--timeout",
            type=float,
            default=30.0,
            help="seconds allowed per file of up to 2,000 lines and 100 KB (more for a larger one)",
        )
        p.add_argument("--dry-run", action="store_true", help="write nothing")
        p.add_argument(
            "--diff",
            action="store_true",
            help="print a unified diff of each change and write nothing (as black and ruff do)",
        )
        p.add_argument(
            "--exclude",
            action="append",
            default=[],
            metavar="GLOB",
            help="gitignore-style pattern to leave out; repeat for more",
        )
        p.add_argument(
            "--root",
            help="the project: where the files a rename or move must change, .gitignore rules"
            " and .libcst.codemod.yaml are read (default: .); module names come from each file",
        )
        p.add_argument("--list", action="store_true", help="list the codemods and their arguments")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(fn=_lazy("shim_lsp.cli.codemod", "cmd_codemod"), positionals_anywhere=True)
    if wanted("analyze"):
        p = sub.add_parser(
            "analyze",
            help="ruff's findings and complexity, as the server finds them (exit 1 if any)",
        )
        p.add_argument("paths", nargs="*", help="files or folders (default: .)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument(
            "--select",
            action="append",
            default=[],
            metavar="RULES",
            help="rules instead of the"
            " project's selection (comma-separated or repeated, as ruff's --select)",
        )
        p.add_argument(
            "--ignore", action="append", default=[], metavar="RULES", help="rules left out"
        )
        p.add_argument(
            "--complexity-threshold",
            type=_threshold,
            metavar="N",
            help="report functions whose cyclomatic complexity is over N (default 10)",
        )
        p.add_argument("--no-complexity", action="store_true", help="add no complexity check")
        p.add_argument("--ruff-path", help="the ruff to run (default: the one installed with SHIM)")
        p.add_argument(
            "--type-check",
            action="store_true",
            help="also mypy's findings (its daemon, run here: the project's mypy configuration)",
        )
        p.add_argument(
            "--type-checker-path",
            metavar="DMYPY",
            help="the dmypy to run (default: on PATH, else beside SHIM's Python)",
        )
        p.set_defaults(
            fn=_lazy("shim_lsp.cli.analyze", "cmd_analyze", store=False),
            short_lived=True,
            logs_late=True,
        )
    if wanted("windows"):
        p = sub.add_parser("windows", help="the editor windows of a workspace's group (Redis)")
        _group_options(
            p,
            "the group's Redis (default: $SHIM_REDIS_URL, which keeps a password out of the"
            " process list)",
            workspace_from="--workspace",
        )
        p.add_argument("--workspace", default=os.getcwd(), help="the workspace folder (default: .)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(fn=_lazy("shim_lsp.cli.windows", "cmd_windows"))
    if wanted("metrics"):
        p = sub.add_parser(
            "metrics",
            help="every window's metrics: a summary, or `serve` for Prometheus (loopback)",
        )
        p.add_argument("action", nargs="?", choices=["serve"], help="run the Prometheus exporter")
        p.add_argument(
            "--port", type=_port, default=9464, help="with serve: the port (default 9464)"
        )
        p.add_argument(
            "--host", type=_loopback, default="127.0.0.1", help="with serve: a loopback address"
        )
        p.add_argument(
            "--state-dir",
            help="SHIM's state folder (default: $SHIM_STATE_DIR or the user state dir)",
        )
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(fn=_lazy("shim_lsp.cli.metrics", "cmd_metrics"))
    if wanted("mcp"):
        p = sub.add_parser("mcp", help="an MCP server on stdio: SHIM's tools for AI chat sessions")
        p.add_argument(
            "--workspace",
            help="the workspace folder the chat works in (default: the MCP client's root when it"
            " offers one, else the current folder; never / or your home folder)",
        )
        p.add_argument(
            "--state-dir",
            help="SHIM's state folder (default: $SHIM_STATE_DIR or the user state dir)",
        )
        _group_options(
            p,
            "the Redis of the workspace's group, to know the files its windows hold unsaved"
            " (default: $SHIM_REDIS_URL, which keeps a password out of the process list)",
            ca_file=False,
        )
        p.add_argument(
            "--http",
            nargs="?",
            const=0,
            type=_port,
            metavar="PORT",
            help="serve streamable HTTP on 127.0.0.1 instead of stdio (no PORT, or 0: one the"
            " system picks); the URL is printed on stderr",
        )
        p.set_defaults(fn=cmd_mcp)
    if wanted("demo"):
        p = sub.add_parser("demo", help="crash a real server mid-typing and show what comes back")
        p.add_argument("--kills", type=int, default=1, help="how many SIGKILLs to survive")
        p.set_defaults(fn=cmd_demo)
    return parser


def _loopback(value: str) -> str:
    from shim_lsp.cli.metrics import loopback

    return loopback(value)


def _port(value: str) -> int:
    """--http's port: 0 (any free one) to 65535."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def _threshold(value: str) -> int:
    """--complexity-threshold within the bounds of the server's complexityThreshold."""
    from shim_lsp.analysis.ruff_command import COMPLEXITY_THRESHOLD_MAX

    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= COMPLEXITY_THRESHOLD_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {COMPLEXITY_THRESHOLD_MAX}"
        )
    return number


def configure_logging() -> None:
    """Records from warnings up, on stderr, passwords in URLs redacted: before a command
    runs, or, for a command that logs nothing above info until then (``logs_late``: ``shim
    analyze``, which starts ruff first), as soon as it may."""
    import logging

    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    from shim_lsp.coordination.redact import redact_logs

    redact_logs()


class _Output:
    """Standard output (text, or its ``buffer``), whose own failures to write (a full disk,
    a device's error) are kept, to be told apart from the command's other OSErrors."""

    def __init__(self, stream: Any, failures: list[OSError]) -> None:
        self._stream = stream
        self.failures = failures

    def _kept(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except OSError as exc:
            self.failures.append(exc)
            raise

    def write(self, data: Any) -> Any:
        return self._kept(lambda: self._stream.write(data))

    def writelines(self, lines: Any) -> None:
        self._kept(lambda: self._stream.writelines(lines))

    def flush(self) -> None:
        self._kept(self._stream.flush)

    @property
    def buffer(self) -> _Output:
        return _Output(self._stream.buffer, self.failures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None, own_process: bool = False) -> int:
    """Run the command line ``argv`` (default: this process's). ``own_process``: the command
    owns the process (the ``shim`` executable), so a short-lived one (``shim analyze``) runs
    without the cyclic garbage collector and, once it has succeeded and its output is
    flushed, ends without the interpreter's teardown (as mypy's ``hard_exit``): 10 to 15 ms
    of freeing every module and object that the end of the process frees anyway."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args, extra = parser.parse_known_args(argv)
    short = own_process and getattr(args, "short_lived", False)
    if short:
        gc.disable()
    else:
        gc.enable()  # a server or an MCP session lives long: its cycles must be collected
    if getattr(args, "positionals_anywhere", False):
        # argparse takes a command's positionals in one run: `codemod NAME --arg k=v a.py`
        # would leave a.py unrecognized. Options and paths mix in any order, as in ruff.
        words = [e for e in extra if not e.startswith("-")]
        extra = [e for e in extra if e.startswith("-")]
        if args.name is None and words:
            args.name = words.pop(0)
        args.paths += words
    if extra:  # worded by the whole parser: its usage names every command
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "logs_late", False):
        configure_logging()
    real_stdout = sys.stdout
    output = _Output(real_stdout, [])
    sys.stdout = cast(TextIO, output)
    try:
        status = int(args.fn(args))
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at exit
    except CliError as exc:
        print(f"shim: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `shim analyze | head`: the reader has what it wanted. Quiet, as ruff is; exit 1 as
        # Python's recipe does (signal module docs, "Note on SIGPIPE"), since the lines cut
        # short were findings. Python's own flush at exit must find no broken pipe either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        if exc not in output.failures:
            raise
        # As ruff says it: one line, exit 2. What Python would flush at exit is dropped.
        os.dup2(os.open(os.devnull, os.O_WRONLY), real_stdout.fileno())
        print(f"shim: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = real_stdout
    if short and status in (0, 1):  # its work done and said: nothing is left to close
        sys.stderr.flush()
        os._exit(status)
    return status
