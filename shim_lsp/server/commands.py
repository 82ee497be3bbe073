"""``workspace/executeCommand``: the table of SHIM's commands and their arguments.

Each command takes one camelCase object and returns JSON. The table is registered at
start-up (the client learns the command IDs from ``initialize``); the bodies live in
``command_handlers`` and are imported on first use, keeping the session machinery out of
the start-up path.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from shim_lsp import commands as ids
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.store.checkpoints import check_label
from shim_lsp.wire import ArgumentError, at_least, structure_args

if TYPE_CHECKING:
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)
A = TypeVar("A")


@attrs.define
class AutoCheckpointArgs:
    enabled: bool | None = None
    """Turn automatic checkpoints on (true) or off (false); omit to report."""


@attrs.define
class CheckRecoveryArgs:
    prompt: bool = False
    """Also show the recovery prompt now."""
    include_dismissed: bool = False
    """Also list work already dismissed or restored (never offered again by the prompt)."""


def _label(value: str | None) -> str | None:
    return check_label(value) if isinstance(value, str) else value


@attrs.define
class ForceCheckpointArgs:
    label: str | None = attrs.field(default=None, converter=_label)
    """A name: named checkpoints are kept until cleared."""


@attrs.define
class ClearStateArgs:
    session: str | None = None
    """One session of this workspace (its id, as ``shim.sessionStatus`` gives it)."""
    all: bool = False
    """Every session of this workspace that is not running in another window."""
    every_workspace: bool = False
    """With ``all``: every workspace's sessions; with ``session``: look in every workspace."""
    dry_run: bool = False
    """Forget nothing: answer which sessions and unsaved work would go, for a confirmation."""


@attrs.define
class ListCheckpointsArgs:
    uri: str | None = None
    """With a URI: that file's versions across checkpoints, deleted and renamed ones included."""
    limit: int = attrs.field(default=100, validator=at_least(1))
    """At most this many, newest first."""


@attrs.define
class CheckpointFileArgs:
    checkpoint: int
    uri: str


@attrs.define
class RecoverSessionArgs:
    session: str | None = None
    """A crashed session's id, dismissed work included; default: every crashed session of
    this workspace with work not yet restored or dismissed."""
    uris: list[str] | None = None
    action: str = "restore"
    """restore or dismiss."""


@attrs.define
class RecoveredTextArgs:
    uri: str
    session: str | None = None
    """A crashed session's id (dismissed work included); default: the newest unsaved text
    any crashed session left."""


@attrs.define
class NoArgs:
    pass


def _prepare(ls: ShimLanguageServer, name: str, args_type: type[A], args: Any) -> A:
    try:
        parsed = _canonical_uris(ls, structure_args(args_type, args))
    except ArgumentError as exc:
        raise JsonRpcInvalidParams(f"{name}: {exc}") from exc
    if ls.engine is None:
        raise JsonRpcInternalError(f"{name}: SHIM has no session yet (not initialized)")
    return parsed


def _failed(name: str, exc: Exception) -> JsonRpcInternalError | JsonRpcInvalidParams:
    """A checkpoint, session or file the arguments name that is not there is the caller's
    mistake (invalid params); a disk or store failure is an internal error, logged."""
    if isinstance(exc, LookupError):
        return JsonRpcInvalidParams(f"{name}: {exc}")
    log.exception("%s failed", name)
    return JsonRpcInternalError(f"{name}: {exc}")


EXPECTED = (OSError, ValueError, LookupError)
"""Failures that are the user's or the disk's, answered as errors; others are bugs, logged."""


def command(
    server: ShimLanguageServer, name: str, args_type: type[A]
) -> Callable[[Callable[[ShimLanguageServer, SessionEngine, A], Awaitable[Any]]], None]:
    """Register a command: structure its argument, require a session, turn errors into replies."""

    def decorate(fn: Callable[[ShimLanguageServer, SessionEngine, A], Awaitable[Any]]) -> None:
        # No functools.wraps: pygls reads the handler's signature to structure arguments.
        @server.command(name)
        async def handler(ls: ShimLanguageServer, *args: Any) -> Any:
            parsed = _prepare(ls, name, args_type, args)
            assert ls.engine is not None
            try:
                return await fn(ls, ls.engine, parsed)
            except EXPECTED as exc:
                raise _failed(name, exc) from exc

        del handler

    return decorate


def quick_command(
    server: ShimLanguageServer, name: str, args_type: type[A]
) -> Callable[[Callable[[ShimLanguageServer, SessionEngine, A], Any]], None]:
    """Like ``command``, for answers from memory: a plain handler, answered at once."""

    def decorate(fn: Callable[[ShimLanguageServer, SessionEngine, A], Any]) -> None:
        @server.command(name)
        def handler(ls: ShimLanguageServer, *args: Any) -> Any:
            parsed = _prepare(ls, name, args_type, args)
            assert ls.engine is not None
            try:
                return fn(ls, ls.engine, parsed)
            except EXPECTED as exc:
                raise _failed(name, exc) from exc

        del handler

    return decorate


def _canonical_uris(ls: ShimLanguageServer, args: A) -> A:
    """URIs in arguments get SHIM's one spelling, as document events do."""
    changes: dict[str, Any] = {}
    uri = getattr(args, "uri", None)
    if isinstance(uri, str):
        changes["uri"] = ls.canonical(uri)
    uris = getattr(args, "uris", None)
    if isinstance(uris, list):
        changes["uris"] = [ls.canonical(u) for u in uris]
    return attrs.evolve(args, **changes) if changes else args  # type: ignore[misc]


@cache
def _handlers() -> ModuleType:
    return importlib.import_module("shim_lsp.server.command_handlers")


TABLE: list[tuple[str, type[Any], str, bool]] = [
    (ids.SESSION_STATUS, NoArgs, "session_status", True),
    (ids.AUTO_CHECKPOINT, AutoCheckpointArgs, "auto_checkpoint", True),
    (ids.MONITOR_SIGNALS, NoArgs, "monitor_signals", False),
    (ids.FORCE_CHECKPOINT, ForceCheckpointArgs, "force_checkpoint", False),
    (ids.CHECK_RECOVERY, CheckRecoveryArgs, "check_recovery", False),
    (ids.RECOVER_SESSION, RecoverSessionArgs, "recover_session", False),
    (ids.LIST_CHECKPOINTS, ListCheckpointsArgs, "list_checkpoints", False),
    (ids.COMPARE_WITH_CHECKPOINT, CheckpointFileArgs, "compare_with_checkpoint", False),
    (ids.RESTORE_CHECKPOINT, CheckpointFileArgs, "restore_checkpoint", False),
    (ids.RECOVERED_TEXT, RecoveredTextArgs, "recovered_text", False),
    (ids.CLEAR_STATE, ClearStateArgs, "clear_state", False),
]
"""(command ID, argument class, handler in command_handlers, answered at once from memory)."""


def register(server: ShimLanguageServer) -> None:
    for name, args_type, handler, quick in TABLE:
        # Bind by default arguments: each lambda needs its own row of the table.
        def body(
            ls: ShimLanguageServer, engine: SessionEngine, a: Any, handler: str = handler
        ) -> Any:
            return getattr(_handlers(), handler)(ls, engine, a)

        (quick_command if quick else command)(server, name, args_type)(body)
