"""initialize / initialized / shutdown / exit, settings, and watching the client's process.

pygls does not watch the client's ``processId``: if the editor dies without closing our stdin
(a killed window, a crashed extension host), SHIM notices here, flushes, ends its session as
"client-gone" and exits, so nothing typed is lost and the next start can offer recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from lsprotocol import types

from shim_lsp.analysis import mypy_daemon
from shim_lsp.notifications import RISK_NOTIFICATION
from shim_lsp.server import client, ruff_server
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.feature import call_features, gather_features
from shim_lsp.server.progress import CheckpointProgressDisplay
from shim_lsp.settings import SECTION, Settings, parse_settings
from shim_lsp.textlines import LspWorkspace
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.signals.model import Assessment

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
CONFIGURATION_WAIT_S = 5.0
"""How long document events wait, in memory, for the settings that say what is secret."""
SHUTDOWN_HOOKS_S = 2.0
"""How long a shutdown waits for the features' own goodbyes (leaving the group)."""
EXIT_GRACE_S = 2.0
"""After ``exit`` (the store closed): how long the process may take to end by itself."""


def _folders(params: types.InitializeParams) -> list[Path]:
    uris = [f.uri for f in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    paths = [uri_to_path(u) for u in uris]
    if not uris and params.root_path:
        paths = [Path(params.root_path)]
    return [p for p in paths if p is not None and p.is_dir()]


def _encoding(ls: ShimLanguageServer) -> str:
    kind = ls.workspace.position_encoding
    return str(getattr(kind, "value", kind) or "utf-16")


def register(server: ShimLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: ShimLanguageServer, params: types.InitializeParams) -> None:
        """Answer at once: the session starts in ``initialized``, off the start-up path."""
        # pygls made the workspace just before this handler, and nothing is open yet: its
        # documents count lines as LSP does (see shim_lsp.textlines).
        ls.workspace.__class__ = LspWorkspace
        ls.settings, problems = parse_settings(params.initialization_options)
        ls.init_params = params
        ls.loop = asyncio.get_running_loop()
        for problem in problems:
            log.warning("%s", problem)
        ls.settings_parsed(problems)

    @server.feature(types.INITIALIZED)
    def initialized(ls: ShimLanguageServer, _params: types.InitializedParams) -> None:
        # pygls handles messages in order, so no document event can arrive before this runs.
        from shim_lsp.session.engine import SessionEngine

        params = ls.init_params
        assert params is not None
        ls.engine = SessionEngine(
            ls.settings,
            _folders(params),
            text_source=lambda uri: _text_of(ls, uri),
            client_pid=params.process_id,
            position_encoding=_encoding(ls),
            notify=lambda msg: _notify_from_thread(ls, msg),
        )
        if _asks_configuration(ls):
            ls.engine.hold()  # which files are secret is known once the settings arrive
        ls.engine.start()
        ls.spawn(_start(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: ShimLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        ls.spawn(_pull_settings(ls, pushed=params.settings))

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: ShimLanguageServer, *_args: Any) -> None:
        ls.shutdown_requested = True
        try:
            await asyncio.wait_for(gather_features(ls, "shutting_down"), SHUTDOWN_HOOKS_S)
        except TimeoutError:
            log.warning("SHIM's features took over %s s to shut down", SHUTDOWN_HOOKS_S)
        if ls.engine is not None and not ls.engine.close("clean"):
            log.error("SHIM could not write everything before shutting down")

    @server.feature(types.EXIT)
    def exit_(ls: ShimLanguageServer, *_args: Any) -> None:
        if ls.engine is not None:
            ls.engine.close("clean" if ls.shutdown_requested else "client-gone")
        exit_within(EXIT_GRACE_S, 0 if ls.shutdown_requested else 1)


def exit_within(
    seconds: float,
    code: int,
    after: str = "exit",
    before: Callable[[], None] | None = None,
) -> None:
    """The process ends even when a worker thread is stuck (Python waits for every non-daemon
    thread at exit; a server that outlives ``exit`` holds the editor's restart up). The store
    is closed by now, or by ``before``: ending is as safe as a kill. The stuck threads are
    named in the log."""

    def watchdog() -> None:
        time.sleep(seconds)
        stuck = [t.name for t in threading.enumerate() if not t.daemon and t.is_alive()]
        log.warning(
            "SHIM was still running %s %.0f s after %s; ending it now",
            ", ".join(stuck) or "no thread",
            seconds,
            after,
        )
        if before is not None:
            before()
        end_process(code)

    threading.Thread(target=watchdog, name="shim-exit-watchdog", daemon=True).start()


def end_process(code: int) -> NoReturn:
    """End now, without waiting for worker threads (a codemod stuck in a pool, a checkpoint
    thread); only once everything is on disk. ``asyncio.run`` itself waits for every
    ``to_thread`` worker before it returns, which is why ``exit`` needs the watchdog."""
    mypy_daemon.kill_all()
    ruff_server.kill_all()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # the client closed its end
            stream.flush()
    os._exit(code)


def _text_of(ls: ShimLanguageServer, uri: str) -> tuple[str, int | None] | None:
    doc = ls.document(uri)
    return (doc.source, doc.version) if doc is not None else None


def _notify_from_thread(ls: ShimLanguageServer, message: str) -> None:
    """Problems found on the writer thread reach the user through the event loop. A sentence
    that does not start by naming SHIM gets the "SHIM: " prefix: the user must see whose it is."""
    log.warning("%s", message)
    if not message.startswith("SHIM"):
        message = f"SHIM: {message}"
    if ls.loop is not None and not ls.loop.is_closed():
        ls.loop.call_soon_threadsafe(ls.report_problem, message)


async def _start(ls: ShimLanguageServer) -> None:
    if ls.engine is not None:  # before any checkpoint, the tick loop's or a command's
        ls.engine.checkpoints.listener = CheckpointProgressDisplay(ls)
    try:
        ls.client_ready()
        await _pull_settings(ls)
    finally:
        if ls.engine is not None:
            ls.engine.release()
        ls.settings_known.set()
    await _watch_files(ls)
    ls.spawn(_tick_loop(ls))
    if ls.engine is not None and ls.engine.info.client_pid:
        ls.spawn(_watch_client(ls, ls.engine.info.client_pid))
    if await _store_ready(ls):
        await gather_features(ls, "ready")


async def _store_ready(ls: ShimLanguageServer) -> bool:
    """Wait until the store can be read: one that is unavailable at start (a full disk, a
    state folder that is not there yet) still has crashed work to offer once it is back."""
    engine = ls.engine
    if engine is None:
        return False
    await asyncio.to_thread(engine.writer.wait_ready)
    while not engine.writer.status().ready:
        if engine.closed is not None:
            return False
        await asyncio.sleep(TICK_SECONDS)
    return True


def _asks_configuration(ls: ShimLanguageServer) -> bool:
    caps = ls.client_capabilities.workspace
    return bool(caps is not None and caps.configuration)


async def _pull_settings(ls: ShimLanguageServer, pushed: Any = None) -> None:
    """Settings from ``workspace/configuration`` (section ``shim``) win over init options."""
    raw: Any = None
    if _asks_configuration(ls):
        result = await client.ask(
            asyncio.wait_for(
                ls.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                ),
                CONFIGURATION_WAIT_S,
            ),
            "give SHIM's settings (workspace/configuration)",
        )
        raw = result[0] if result else None
    elif isinstance(pushed, dict):
        raw = pushed.get(SECTION, pushed)
    if not raw:
        return
    settings, problems = parse_settings(raw)
    ls.settings_parsed(problems)
    _apply_settings(ls, settings)
    ls.push_status()


def _apply_settings(ls: ShimLanguageServer, settings: Settings) -> None:
    old, ls.settings = ls.settings, settings
    if ls.engine is not None:
        call_features(ls, "settings_changed", old, settings)


async def _watch_files(ls: ShimLanguageServer) -> None:
    """Ask the client for file events so checkpoints need not re-read the tree."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id=str(uuid.uuid4()),
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=types.DidChangeWatchedFilesRegistrationOptions(
                            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
                        ),
                    )
                ]
            )
        )
        ls.watching_files = True
        if ls.engine is not None:
            ls.engine.watching = True
    except Exception as exc:
        log.warning("could not register file watchers: %s", exc)


async def _tick_loop(ls: ShimLanguageServer) -> None:
    shown: dict[str, Any] | None = None
    warned: set[str] = set()
    """A risk checkpoint secures the work and lowers the risk, so a new episode can follow
    soon: the user is told once per session and cause, the checkpoints go on."""
    while ls.engine is not None and ls.engine.closed is None:
        await asyncio.sleep(TICK_SECONDS)
        engine = ls.engine
        reason, alarm = engine.tick()
        causes = {sig.name for sig in alarm.signals if sig.severity >= 1.0} if alarm else set()
        if alarm is not None and not causes <= warned:
            warned |= causes
            if client.shows(ls, "riskUi"):
                ls.protocol.notify(
                    RISK_NOTIFICATION,
                    {
                        "level": alarm.level,
                        "signals": [asdict(s) for s in alarm.signals if s.severity >= 1.0],
                        "dirtyDocuments": engine.buffers.unsaved().documents,
                        "checkpoint": alarm.measurements.store_error is None,
                    },
                )
            else:
                ls.tell_user(_alarm_message(alarm))
        if reason is not None:
            log.info("automatic checkpoint: %s", reason)
        # What a status bar shows is pushed when it changes, so clients never poll.
        summary = ls.status_summary()
        if summary != shown:
            shown = summary
            ls.push_status(summary)


def _alarm_message(alarm: Assessment) -> str:
    """What high risk means for the user: a checkpoint under way, or, when the store cannot
    be written, that no checkpoint can help and saving is what protects the work."""
    reasons = "; ".join(alarm.reasons)
    if alarm.measurements.store_error:
        return (
            f"SHIM: your unsaved work is at risk ({reasons}). No checkpoint can be written"
            " until the store is writable again: save your files."
        )
    return f"SHIM: your unsaved work looked at risk ({reasons}), so a checkpoint is being taken."


def _alive(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def _watch_client(ls: ShimLanguageServer, pid: int) -> None:
    while ls.engine is not None and ls.engine.closed is None:
        await asyncio.sleep(ls.settings.client_watch_interval)
        if not _alive(pid):
            log.warning("the editor process %s is gone; flushing and exiting", pid)
            ls.engine.close("client-gone")
            end_process(0)
