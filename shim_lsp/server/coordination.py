"""The coordination feature: this window as a member of its workspace's group in Redis.

The glue only: the group's life is ``shim_lsp.coordination.group.Coordinator``, one background
task. Document events hand it changes without waiting; what it learns (members, their unsaved
files, Redis away) comes back as the status, ``shim.windows`` and "unsaved elsewhere"
diagnostics. Without a Redis URL nothing here runs and redis-py is never imported.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from shim_lsp.coordination.words import age
from shim_lsp.metrics import recorder
from shim_lsp.server.feature import Feature, NoArgs, command
from shim_lsp.session.checkpointer import RetentionTurn
from shim_lsp.settings import Settings, resolve_redis_url
from shim_lsp.workspace.paths import path_to_uri, uri_to_path

if TYPE_CHECKING:
    from shim_lsp.coordination.connection import RedisTarget
    from shim_lsp.coordination.group import Coordinator
    from shim_lsp.coordination.jobs import JobWorker
    from shim_lsp.coordination.messages import DirtyDocument, Member, Nudge, NudgeKind
    from shim_lsp.coordination.registry import Keys
    from shim_lsp.session.engine import SessionEngine

log = logging.getLogger(__name__)

SOURCE = "SHIM windows"
"""The diagnostics' source: this feature's own list in ``ls.diagnostics``."""
OFF: dict[str, Any] = {"state": "off", "members": 0}
CHECKPOINT_LOOK_S = 1.0
TOLD_WAIT_S = 1.0
"""How long the saver's warning waits to know the other window heard of the save."""
ELSEWHERE_NAMED = 10
"""How many of the files other windows hold unsaved the status names (all are counted)."""


def elsewhere_message(holders: list[tuple[str, float]], now: float) -> str:
    """What a window says of a file that other windows hold unsaved: (host, since) each."""
    held = held_text(holders, now)
    if len(holders) == 1:
        return f"Unsaved changes in another window ({held})"
    return f"Unsaved changes in {len(holders)} other windows ({held})"


def held_text(holders: list[tuple[str, float]], now: float) -> str:
    """The other windows holding a file unsaved, as a message names them: (host, since) each."""
    return "; ".join(f"{host}, {age(now - since)}" for host, since in holders)


CHANGE_ANYWAY = "Change them"
LEAVE_THEM = "Leave them"


async def confirm_held(ls: Any, uris: list[str], doing: str) -> dict[str, str]:
    """Of ``uris`` about to be changed, those another window holds unsaved, each with why it
    is left as it is (empty: change them all). The user is asked once
    (``window/showMessageRequest``, when the client declares it); no question, "Leave them",
    no answer or an error leave them all."""
    from shim_lsp.server import client

    try:
        coordination = ls.feature_of(CoordinationFeature)
    except LookupError:
        return {}
    held = {u: h for u in uris if (h := coordination.held_elsewhere(u))}
    if not held:
        return {}
    now = time.time()
    named = [f"{coordination.name_of(u)} ({held_text(h, now)})" for u, h in held.items()]
    answer = None
    if client.can_ask(ls):
        files = "file" if len(held) == 1 else "files"
        more = " ..." if len(named) > 5 else ""
        answer = await client.choose(
            ls,
            types.MessageType.Warning,
            f"SHIM: {doing} {len(held)} {files} unsaved in another window:"
            f" {', '.join(named[:5])}{more}. Change them here anyway (that"
            " window's text stays in its history)?",
            (CHANGE_ANYWAY, LEAVE_THEM),
            "ask about files unsaved in another window",
        )
    if answer == CHANGE_ANYWAY:
        return {}
    if not client.can_ask(ls):
        why = "this editor cannot ask (window.showMessage)"
    else:
        why = "the user left it" if answer is not None else "no answer"
    return {
        u: f"unsaved in another window ({held_text(h, now)}); not changed: {why}"
        for u, h in held.items()
    }


def store_id(host: str, db_path: Path) -> str:
    """Which store a member writes, without its path (a user name may be in it)."""
    where = f"{host}\0{os.path.realpath(db_path)}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(where).hexdigest()[:16]


def _settings_key(settings: Settings) -> tuple[Any, ...]:
    return (
        resolve_redis_url(settings),
        settings.redis_ca_file,
        settings.redis_key_prefix,
        settings.workspace_id,
        settings.publish_unsaved_text,
        settings.coordination_ttl,
        settings.codemod_batch_workers,
    )


class CoordinationFeature(Feature):
    name = "coordination"

    def __init__(self, ls: Any) -> None:
        super().__init__(ls)
        self.coordinator: Coordinator | None = None
        self.workspace_id: str | None = None
        self._dirty: set[str] = set()
        """URIs this member last said were dirty: only a change is worth a nudge."""
        self._marked: dict[str, str] = {}
        """URI -> the "unsaved elsewhere" message it carries now."""
        self._told: str | None = None
        self._idle: dict[str, Any] = OFF
        """The status without a coordinator (off, or why not): shim/status and shim.windows
        say the same."""
        self._ready = False
        self._led_with: int | None = None
        """The epoch this member last led with: a new one runs the leader's work."""
        self.jobs: JobWorker | None = None
        """This member's worker on the group's codemod queue (None: it works none)."""
        self._alive: dict[str, Member] = {}
        """Peers as last read while connected: one gone without saying ``left`` died."""
        self._left: set[str] = set()
        self._saves_seen: dict[tuple[str, str], float] = {}
        """(member, path) -> the latest of its saves this window has looked at."""

    # --- lifecycle ----------------------------------------------------------------------

    async def ready(self) -> None:
        self._ready = True
        self._join()

    def settings_changed(self, old: Settings, new: Settings) -> None:
        if self._ready and _settings_key(old) != _settings_key(new):
            self.ls.spawn(self._rejoin())

    async def shutting_down(self) -> None:
        await self._leave()

    async def _rejoin(self) -> None:
        await self._leave()
        self._join()

    async def _leave(self) -> None:
        coordinator, self.coordinator = self.coordinator, None
        jobs, self.jobs = self.jobs, None
        if jobs is not None:
            await jobs.stop()
        engine = self.ls.engine
        if engine is not None:
            engine.checkpoints.retention_turn = RetentionTurn
        if coordinator is not None:
            await coordinator.stop()
        self._show_peers([])
        self._alive = {}
        self._set_status(OFF)

    def _join(self) -> None:
        engine = self.ls.engine
        url = resolve_redis_url(self.ls.settings)
        if engine is None or url is None or self.coordinator is not None:
            return
        try:
            from shim_lsp.coordination.connection import CoordinationError, parse_target
            from shim_lsp.coordination.group import Coordinator, Identity
            from shim_lsp.coordination.messages import shown_name
        except ImportError as exc:  # a broken install: said, not only logged as a failure
            self._refuse(
                f"coordination needs redis-py, which cannot be loaded here ({exc}):"
                " this window works alone"
            )
            return
        from shim_lsp.coordination.workspace_id import default_workspace_id

        settings = self.ls.settings
        try:
            target = parse_target(url, settings.redis_ca_file)
        except CoordinationError as exc:
            self._refuse(str(exc))
            return
        folders = engine.workspace.folders
        if not folders:
            self._set_status({**OFF, "problem": "no workspace folder: nothing to coordinate"})
            return
        self.workspace_id = settings.workspace_id or default_workspace_id(folders[0])
        client = self.ls.init_params.client_info if self.ls.init_params else None
        editor = f"{client.name} {client.version or ''}".strip() if client else "unknown"
        me = Identity(
            session=engine.info.id,
            workspace=self.workspace_id,
            host=shown_name(engine.info.host),
            pid=os.getpid(),
            editor=shown_name(editor),
            started_at=engine.info.started_at,
            store=store_id(engine.info.host, engine.db_path),
        )
        self._dirty = set(self._dirty_uris(engine))
        self.coordinator = Coordinator(
            target,
            settings.redis_key_prefix,
            me,
            ttl=settings.coordination_ttl,
            snapshot=self._snapshot,
            on_change=self._changed,
            on_nudge=self._heard,
        )
        engine.checkpoints.retention_turn = self._retention_turn
        self.coordinator.start()  # the status changes once it has joined, or failed to
        self._work_jobs(self.coordinator)
        self.ls.spawn(self._watch_checkpoints(self.coordinator, engine))

    def _work_jobs(self, coordinator: Coordinator) -> None:
        """Work the group's codemod batches, as many at once as the setting says."""
        concurrency = self.ls.settings.codemod_batch_workers
        if concurrency == 0:
            log.info("coordination: this window works no codemod jobs (codemodBatchWorkers 0)")
            return
        from shim_lsp.coordination.jobs import Handle, JobWorker

        handles: list[Handle] = [
            h for f in self.ls.features if (h := getattr(f, "work_batch", None)) is not None
        ]
        if not handles:
            return
        handle = handles[0]  # the codemods feature's, found without importing it (a cycle)
        self.jobs = JobWorker(
            coordinator.target,
            coordinator.keys,
            coordinator.ttl,
            concurrency,
            handle,
            coordinator.me.session,
            answered=lambda: coordinator.answered,
        )
        self.jobs.start()

    def job_queue(self) -> tuple[RedisTarget, Keys] | None:
        """Where a codemod run's batches go: the group's queue while Redis answers."""
        coordinator = self.coordinator
        if coordinator is None or coordinator.state != "connected":
            return None
        return coordinator.target, coordinator.keys

    async def _watch_checkpoints(self, coordinator: Coordinator, engine: SessionEngine) -> None:
        """A checkpoint taken is a nudge too (other windows' recovery can read it); the
        checkpointer has no listener to spare, so its last result is looked at each second."""
        seen = engine.last_checkpoint
        while self.coordinator is coordinator and engine.closed is None:
            await asyncio.sleep(CHECKPOINT_LOOK_S)
            last = engine.last_checkpoint
            if last is not seen:
                seen = last
                coordinator.changed("checkpoint")

    def _refuse(self, problem: str) -> None:
        log.warning("coordination: %s", problem)
        self._set_status({"state": "degraded", "members": 0, "problem": problem})
        self._tell(problem)

    def _tell(self, problem: str) -> None:
        if self._told != problem:
            self._told = problem
            self.ls.tell_user(f"SHIM: {problem}")

    # --- document events: nudges, never a wait ---------------------------------------------

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        self._note(uri, opened=True)

    def document_changed(self, uri: str, params: types.DidChangeTextDocumentParams) -> None:
        self._note(uri)

    def document_saved(self, uri: str) -> None:
        held = self.held_elsewhere(uri)
        heard = self._note(uri, saved=True)
        if held and heard is not None:
            self.ls.spawn(self._warn_saver(uri, held, heard))

    def held_elsewhere(self, uri: str) -> list[tuple[str, float]]:
        """The other windows that hold ``uri`` unsaved, as last read: (host, since) each,
        oldest first."""
        coordinator = self.coordinator
        rel = self._relative(uri) if coordinator is not None else None
        if coordinator is None or rel is None:
            return []
        held = [(m.host, d.since) for m in coordinator.peers() for d in m.dirty if d.path == rel]
        return sorted(held, key=lambda h: h[1])

    def name_of(self, uri: str) -> str:
        """How a message names a file: its path in the workspace."""
        return self._relative(uri) or uri

    async def _warn_saver(
        self, uri: str, held: list[tuple[str, float]], heard: asyncio.Future[int]
    ) -> None:
        """Saving over a file another window holds unsaved: the saver is told, and told only
        what is known of the other window: the save is in this member's record, which that
        window reads on its next look at Redis (or when it is back)."""
        try:
            others = await asyncio.wait_for(asyncio.shield(heard), TOLD_WAIT_S)
        except TimeoutError:
            others = None
        one = len(held) == 1
        windows = "another window" if one else f"{len(held)} other windows"
        them = "that window" if one else "those windows"
        if others is None:
            told = f"Redis has not answered, so {them} will be told when Redis is back"
        elif others == 0:
            told = (
                f"{them} will be told when {'it next reaches' if one else 'they next reach'} Redis"
            )
        else:
            told = f"{them} {'has' if one else 'have'} been told"
        self.ls.tell_user(
            f"SHIM: you saved {self._relative(uri)} while {windows} holds unsaved changes to it"
            f" ({held_text(held, time.time())}); saving there would overwrite your version:"
            f" {told} (each version stays in SHIM's history)"
        )

    def _heard(self, nudge: Nudge) -> None:
        """A member that says it leaves did not die: its unsaved work is not adopted."""
        if nudge.kind == "left":
            self._left.add(nudge.session)

    def _learn_saves(self, coordinator: Coordinator) -> None:
        """Another member saved a file this window holds unsaved (its record says so, read
        after the "saved" nudge, or after Redis was away): this window's base changed, and
        the user is told once with a plain message (every client shows one)."""
        engine = self.ls.engine
        if engine is None:
            return
        for member in coordinator.peers():
            for saved in member.saved:
                key = (member.session, saved.path)
                if self._saves_seen.get(key, 0.0) >= saved.at:
                    continue
                self._saves_seen[key] = saved.at
                uri = self._uri_of(saved.path)
                buf = engine.buffers.buffers.get(uri) if uri is not None else None
                if buf is None or buf.dirty_since is None or buf.dirty_since >= saved.at:
                    continue  # not unsaved here, or made unsaved after that save
                self.ls.tell_user(
                    f"SHIM: {saved.path} was saved in another window on {member.host} while"
                    " you have unsaved changes to it here: the file on disk is no longer the"
                    " one you started from. Saving here overwrites that version; both stay"
                    " in SHIM's history"
                )

    def document_closed(self, uri: str) -> None:
        self._note(uri, closed=True)

    def _note(
        self, uri: str, *, opened: bool = False, saved: bool = False, closed: bool = False
    ) -> asyncio.Future[int] | None:
        """A dirty state that changed (or an open, a close, a save) rewrites this member's
        record at once; a keystroke in a buffer already dirty costs one set lookup."""
        coordinator, engine = self.coordinator, self.ls.engine
        if coordinator is None or engine is None:
            return None
        buf = engine.buffers.buffers.get(uri)
        dirty = buf is not None and buf.dirty_since is not None
        was = uri in self._dirty
        kind: NudgeKind | None = None
        if saved:
            kind = "saved"
        elif dirty and not was:
            kind = "dirtied"
        elif was and not dirty:
            kind = "cleaned"
        elif opened:
            kind = "opened"
        elif closed:
            kind = "closed"
        if dirty:
            self._dirty.add(uri)
        else:
            self._dirty.discard(uri)
        if kind is None:
            return None
        return coordinator.changed(kind, self._relative(uri))

    # --- what this member publishes -------------------------------------------------------

    def _relative(self, uri: str) -> str | None:
        """The path inside its workspace folder, for a file SHIM keeps (never a secret)."""
        engine = self.ls.engine
        path = uri_to_path(uri)
        if engine is None or path is None or not engine.may_read(path):
            return None
        folder = engine.workspace.folder_of(path)
        if folder is None:
            return None
        rel = Path(os.path.realpath(path)).relative_to(folder).as_posix()
        return rel if rel != "." else None

    def _dirty_uris(self, engine: SessionEngine) -> list[str]:
        return [b.uri for b in engine.buffers.dirty()]

    def _snapshot(self) -> tuple[list[str], list[DirtyDocument]]:
        from shim_lsp.coordination.messages import DIRTY_MAX, OPEN_MAX, DirtyDocument, fit_texts

        engine = self.ls.engine
        if engine is None:
            return [], []
        publish_text = self.ls.settings.publish_unsaved_text
        open_: list[str] = []
        dirty: list[DirtyDocument] = []
        for uri, buf in list(engine.buffers.buffers.items()):
            rel = self._relative(uri)
            if rel is None or len(open_) >= OPEN_MAX:
                continue
            open_.append(rel)
            if buf.dirty_since is None or len(dirty) >= DIRTY_MAX:
                continue
            text = None
            if publish_text:
                doc = self.ls.document(uri)
                text = doc.source if doc is not None else None
            dirty.append(DirtyDocument(rel, buf.dirty_since, text))
        return sorted(open_), fit_texts(dirty)

    # --- what this member learns ----------------------------------------------------------

    def _changed(self, coordinator: Coordinator) -> None:
        if coordinator is not self.coordinator:
            return
        if coordinator.refused and coordinator.problem:
            self._tell(coordinator.problem)
        epoch = coordinator.lead.epoch
        if epoch is not None and epoch != self._led_with:
            self._retain(epoch)
        self._led_with = epoch
        self._show_peers(coordinator.peers())
        self._learn_saves(coordinator)
        self._set_status(self._status())
        self._watch_deaths(coordinator)

    # --- a dead member's published unsaved text: crashed work offered here -----------------

    def _watch_deaths(self, coordinator: Coordinator) -> None:
        """A peer of another store gone from the registry (its record expired: it died) that
        had published unsaved text: after one more TTL without it, its text is kept in this
        store as a crashed session and offered by this window's recovery."""
        if coordinator.state != "connected":
            return  # members read as none while Redis is away: nobody died
        now = {m.session: m for m in coordinator.peers()}
        gone = [m for s, m in self._alive.items() if s not in now and s not in self._left]
        self._alive = now
        for member in gone:
            if member.store != coordinator.me.store and any(d.text for d in member.dirty):
                self.ls.spawn(self._adopt(coordinator, member))

    async def _adopt(self, coordinator: Coordinator, member: Member) -> None:
        await asyncio.sleep(coordinator.ttl)
        engine = self.ls.engine
        back = any(m.session == member.session for m in coordinator.members)
        if (
            engine is None
            or coordinator is not self.coordinator
            or coordinator.state != "connected"
            or back
            or member.session in self._left
        ):
            return
        from functools import partial

        from shim_lsp.recovery.find import PeerWork, adopt_peer_work
        from shim_lsp.server.recovery import offer_recovery

        files = [
            (uri, d.text, d.since)
            for d in member.dirty
            if d.text is not None and (uri := self._uri_of(d.path)) is not None
        ]
        work = PeerWork(
            member.session, member.host, member.pid, member.started_at, member.heartbeat_at, files
        )
        folders = [str(f) for f in engine.workspace.folders]
        adopt = partial(adopt_peer_work, work=work, workspace=engine.workspace.key, folders=folders)
        if await asyncio.wrap_future(engine.writer.submit(adopt)):
            log.info(
                "coordination: a window on %s died with %d unsaved file(s); offering them",
                member.host,
                len(files),
            )
            await offer_recovery(self.ls)

    # --- the leader's once-per-workspace work: the store's retention ----------------------

    def _retain(self, epoch: int) -> None:
        """A new leader thins and collects its store at once, under its epoch."""
        engine, workspace = self.ls.engine, self.workspace_id
        if engine is None or workspace is None:
            return
        done = engine.checkpoints.retain((workspace, epoch))
        loop = asyncio.get_running_loop()
        done.add_done_callback(lambda f: loop.call_soon_threadsafe(self._retained, epoch, f))

    def _retained(self, epoch: int, done: Any) -> None:
        """Refused as stale by a store that has seen a higher epoch (Redis lost its counter
        while no member lived to remember it): the leader takes an epoch above that one."""
        from shim_lsp.store.retention import Stale

        if done.exception() is not None:
            log.warning("coordination: retention at epoch %s failed: %s", epoch, done.exception())
            return
        result, coordinator = done.result(), self.coordinator
        if isinstance(result, Stale) and coordinator is not None:
            coordinator.outdated(result.seen)

    def _retention_turn(self) -> RetentionTurn:
        """Asked from the checkpoint thread before the hourly retention."""
        coordinator, workspace = self.coordinator, self.workspace_id
        if coordinator is None or workspace is None:
            return RetentionTurn()
        from shim_lsp.coordination.group import JOINING
        from shim_lsp.coordination.leader import retention_turn

        leader = coordinator.leader_member()
        return retention_turn(
            workspace,
            coordinator.lead.fence(),
            joining=coordinator.problem == JOINING,
            leader_store=leader.store if leader is not None else None,
            my_store=coordinator.me.store,
        )

    def _status(self) -> dict[str, Any]:
        coordinator = self.coordinator
        if coordinator is None:
            return self._idle
        status: dict[str, Any] = {
            "state": coordinator.state,
            "members": len(coordinator.members),
        }
        if coordinator.problem:
            status["problem"] = coordinator.problem
        if self._marked:
            names = sorted(self.name_of(u) for u in self._marked)
            status["unsavedElsewhere"] = {"count": len(names), "files": names[:ELSEWHERE_NAMED]}
        leader = coordinator.leader_member()
        if coordinator.lead.epoch is not None:
            status["leader"] = {"this": True, "host": coordinator.me.host, "pid": os.getpid()}
            status["epoch"] = coordinator.lead.epoch
        elif leader is not None and leader.session != coordinator.me.session:
            status["leader"] = {"this": False, "host": leader.host, "pid": leader.pid}
        if coordinator.lead.took_over is not None and coordinator.lead.epoch is not None:
            status["leaseBroken"] = coordinator.lead.took_over
        if coordinator.lead.lost is not None:
            status["leadLost"] = f"no longer the leader: {coordinator.lead.lost}"
        return status

    def _set_status(self, status: dict[str, Any]) -> None:
        if self.coordinator is None:
            self._idle = status
        leader = status.get("leader")
        recorder.coordination(
            configured=status.get("state", "off") != "off",
            connected=status.get("state") == "connected",
            leader=isinstance(leader, dict) and leader.get("this") is True,
        )
        if self.ls.coordination != status:
            self.ls.coordination = status
            self.ls.push_status()

    def _uri_of(self, rel: str) -> str | None:
        """A peer's workspace-relative path in this window's workspace (inside it, links
        resolved), or None: a peer's path never leads this window outside its folders, and
        names no file this window lacks or keeps to itself (a secret, an excluded file)."""
        engine = self.ls.engine
        if engine is None:
            return None
        folders = engine.workspace.folders
        candidates = [folder / rel for folder in folders]
        if len(candidates) > 1:
            candidates = [c for c in candidates if c.exists()] or candidates
        for candidate in candidates:
            if (
                engine.workspace.contains(candidate)
                and candidate.is_file()
                and engine.may_read(candidate)
            ):
                return self.ls.canonical(path_to_uri(candidate))
        return None

    def _show_peers(self, peers: list[Member]) -> None:
        """Each file dirty in another member carries one Information diagnostic; it goes
        when it is saved or cleaned there, or that member leaves or dies."""
        holders: dict[str, list[tuple[str, float]]] = {}
        for member in peers:
            for doc in member.dirty:
                uri = self._uri_of(doc.path)
                if uri is not None:
                    holders.setdefault(uri, []).append((member.host, doc.since))
        now = time.time()
        for uri in [u for u in self._marked if u not in holders]:
            del self._marked[uri]
            self.ls.diagnostics.clear(uri, SOURCE)
        for uri, held in holders.items():
            message = elsewhere_message(sorted(held, key=lambda h: h[1]), now)
            if self._marked.get(uri) == message:
                continue
            self._marked[uri] = message
            self.ls.diagnostics.put(
                uri,
                SOURCE,
                [
                    types.Diagnostic(
                        range=types.Range(
                            start=types.Position(line=0, character=0),
                            end=types.Position(line=0, character=0),
                        ),
                        message=message,
                        severity=types.DiagnosticSeverity.Information,
                        source=SOURCE,
                    )
                ],
            )

    # --- commands -------------------------------------------------------------------------

    @command("shim.windows", quick=True)
    def windows(self, engine: SessionEngine, _a: NoArgs) -> Any:
        """The live members of this workspace's group, as last read from Redis."""
        coordinator = self.coordinator
        status = self._status()
        if coordinator is None:
            return {**status, "workspace": self.workspace_id, "windows": []}
        return {
            **status,
            "workspace": self.workspace_id,
            "dropped": dict(coordinator.dropped.counts),
            "windows": [
                {
                    "session": m.session,
                    "this": m.session == coordinator.me.session,
                    "leader": m.session == coordinator.leader,
                    "host": m.host,
                    "pid": m.pid,
                    "editor": m.editor,
                    "startedAt": m.started_at,
                    "heartbeatAt": m.heartbeat_at,
                    "open": m.open,
                    "dirty": [
                        {"path": d.path, "since": d.since, "textPublished": d.text is not None}
                        for d in m.dirty
                    ],
                }
                for m in coordinator.members
            ],
        }
