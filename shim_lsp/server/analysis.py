"""Analysis in the editor: ruff's findings on open buffers as diagnostics, and code actions
for them (a quick fix per fixable finding, fix all, organise imports, suppress with noqa).

Ruff checks the buffer's text, not the file on disk: on open and on save at once, on change
after a pause (``ruffDebounce``). One run per buffer version is shared by the diagnostics
and the code actions asked for that version; a result for a version the buffer has left is
dropped, never published over a newer one. Every edit is versioned for the text it was
computed from, so a fix offered for version N is refused once the buffer is at N+1.
A ruff that is missing or fails is one message; the rest of SHIM works on.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types

from shim_lsp.analysis import findings, noqa, ruff, tree
from shim_lsp.analysis.findings import Finding, Fix, Spot
from shim_lsp.analysis.links import LinkSearch
from shim_lsp.analysis.tree import config_leading_out
from shim_lsp.metrics import recorder
from shim_lsp.server import edits
from shim_lsp.server.app import ShimLanguageServer
from shim_lsp.server.diagnostics import FINDINGS
from shim_lsp.server.feature import Feature
from shim_lsp.server.ruff_server import RuffServer, describe
from shim_lsp.settings import Settings
from shim_lsp.workspace.paths import uri_to_path

if TYPE_CHECKING:
    from shim_lsp.workspace.scan import FileRules

log = logging.getLogger(__name__)

QUICK_FIX = types.CodeActionKind.QuickFix.value
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.shim"
ORGANIZE_IMPORTS = f"{types.CodeActionKind.SourceOrganizeImports.value}.shim"
SOURCE = "SHIM ruff"
FINDINGS[SOURCE] = "ruff"  # counted in the findings metric as shown
"""The diagnostics' source: told apart from ruff's own language server's."""
PYTHON_SUFFIXES = (".py", ".pyi")
RUFF_CONFIGS = frozenset({"pyproject.toml", "ruff.toml", ".ruff.toml"})
MAX_SERVER_DEATHS = 3
"""A ruff server that died this often is not started again until the settings change."""
_SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
}
_TAGS = {
    "unnecessary": types.DiagnosticTag.Unnecessary,
    "deprecated": types.DiagnosticTag.Deprecated,
}


@attrs.frozen
class Analysis:
    """Ruff's findings for one version of a buffer's text."""

    version: int | None
    text: str
    found: tuple[Finding, ...]
    ran: bool = True
    """False when ruff did not run (off, missing or failed): no action is offered."""
    detailed: bool = True
    """The findings carry their fixes and noqa lines (``ruff check``'s JSON); ruff server's
    diagnostics do not, and code actions ask ``ruff check`` for them."""


def _is_python(uri: str) -> bool:
    path = uri_to_path(uri)
    return path is not None and path.suffix in PYTHON_SUFFIXES


def ruff_options(settings: Settings) -> ruff.RuffOptions:
    return ruff.RuffOptions(
        select=tuple(settings.ruff_select),
        ignore=tuple(settings.ruff_ignore),
        unsafe_fixes=settings.ruff_unsafe_fixes,
        complexity=settings.complexity_threshold if settings.complexity_enabled else None,
    )


def _ruff_changed(old: Settings, new: Settings) -> bool:
    return any(
        getattr(old, f.name) != getattr(new, f.name)
        for f in attrs.fields(Settings)
        if f.name.startswith(("ruff_", "complexity_"))
    )


def _within(kind: str, kinds: Sequence[str]) -> bool:
    """``kind`` is one of ``kinds`` or below one (kinds are dotted hierarchies)."""
    return any(kind == k or kind.startswith(f"{k}.") for k in kinds if k)


def _on_lines(found: types.Range, asked: types.Range) -> bool:
    """A finding is offered on the lines of the cursor or selection it shares a line with."""
    return found.start.line <= asked.end.line and asked.start.line <= found.end.line


class ToolTrouble:
    """A tool that cannot run (ruff, mypy) is said once per distinct failure, in the log and
    on screen, naming what it turns off and the setting that points at the tool: everything
    else works on. Forgotten when the tool's settings change, so a new mistake is said."""

    def __init__(self, ls: ShimLanguageServer, off: str, setting: str | None) -> None:
        self.ls = ls
        self.off = off
        self.setting = setting
        self._told: set[str] = set()

    def say(self, message: str, detail: str, cause: str | None = None) -> None:
        """``cause``: what to fix, when it is not the setting that points at the tool (a
        rule selection, a configuration file)."""
        log.warning("%s%s", message, f"\n{detail}" if detail else "")
        if message in self._told:
            return
        self._told.add(message)
        shown = f"\n{detail.strip()}" if detail.strip() else ""
        self.ls.log_user(f"SHIM: {message}{shown}", types.MessageType.Error)
        cause = cause or (self.setting and f"setting {self.setting}")
        why = f" ({cause})" if cause else ""
        self.ls.tell_user(f"SHIM: {message}. {self.off}{why}; everything else works.")

    def forget(self) -> None:
        self._told.clear()


_IMPORTS = re.compile(r"^[ \t]*(?:import|from)[ \t\\]", re.MULTILINE)
"""A line that starts an import statement: without one, organising imports changes nothing."""
_RULE_FROM_CLI = re.compile(r"in `(select|ignore)` from the CLI")
_FROM_FILE = re.compile(r"from `([^`]+)`")
_UNPARSED = re.compile(r"Failed to parse (\S+?)(?:;|$)", re.MULTILINE)
_CUT = re.compile(r"(/\S+) (?:is invalid )?\(what ruff quoted of it is not shown")
"""A settings file whose text SHIM cut from ruff's complaint (``ruff_command.cut_lines``)."""


def ruff_cause(failure: ruff.RuffFailure, near: Path | None = None) -> str | None:
    """What ruff's complaint says to fix, when it is not the ruff itself: a rule selection
    setting, or the configuration file it names (found from ``near``, the file checked, when
    ruff names it relative to the folder it ran in); None: the ruff (setting ruffPath)."""
    said = f"{failure.message}\n{failure.detail}"
    if "is a link leading outside the workspace" in failure.message:
        return "the link named"
    rule = _RULE_FROM_CLI.search(said)
    if rule is not None:
        return f"setting {'ruffSelect' if rule[1] == 'select' else 'ruffIgnore'}"
    named = _FROM_FILE.search(said) or _UNPARSED.search(said) or _CUT.search(said)
    if named is None:
        return None
    config = Path(named[1])
    if not config.is_absolute() and near is not None:
        config = next((f / config for f in near.parents if (f / config).is_file()), config)
    return f"its configuration {config}"


class AnalysisFeature(Feature):
    name = "analysis"
    code_action_kinds = (QUICK_FIX, FIX_ALL, ORGANIZE_IMPORTS)

    def __init__(self, ls: ShimLanguageServer) -> None:
        super().__init__(ls)
        self._open: set[str] = set()
        self._runs: dict[str, tuple[int | None, asyncio.Task[Analysis]]] = {}
        """uri -> (buffer version, ruff's run on that version's text)."""
        self._details: dict[str, tuple[int | None, asyncio.Task[Analysis]]] = {}
        """uri -> (buffer version, ``ruff check`` on it, for code actions), where the
        diagnostics came from ruff server."""
        self._server: asyncio.Task[RuffServer | None] | None = None
        """The ruff server for the buffers, started (or failing to) with the first check."""
        self._server_off = False
        """Ruff server cannot serve these settings: every check is a ``ruff check``."""
        self._deaths = 0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._binary: str | None = None
        self._published: dict[str, Analysis] = {}
        """The run whose findings are published for each buffer (each published once)."""
        self.trouble = ToolTrouble(
            ls, "Ruff diagnostics and fixes are off until ruff runs", "ruffPath"
        )
        self.tree_trouble = ToolTrouble(ls, "The workspace's analysis did not run", None)
        """A whole-folder run that failed, ruff itself running: the buffers are still
        checked, and ruffPath is not to blame."""

    # Events

    def document_opened(self, uri: str, params: types.DidOpenTextDocumentParams) -> None:
        if _is_python(uri):
            self._open.add(uri)
            self._schedule(uri, 0.0)

    def document_changed(self, uri: str, params: types.DidChangeTextDocumentParams) -> None:
        if uri in self._open and self.ls.settings.ruff_enabled:
            self._schedule(uri, self.ls.settings.ruff_debounce)

    def document_saved(self, uri: str) -> None:
        path = uri_to_path(uri)
        if path is not None and path.name in RUFF_CONFIGS:
            self._refresh()
        elif uri in self._open:
            self._runs.pop(uri, None)  # the same text, but a configuration may have changed
            server = self._running_server()
            if server is not None and path is not None:
                server.configurations_changed(path)
            self._schedule(uri, 0.0)

    def document_closed(self, uri: str) -> None:
        if uri not in self._open:
            return
        self._open.discard(uri)
        self._runs.pop(uri, None)
        self._details.pop(uri, None)
        server = self._running_server()
        if server is not None:
            server.close(uri)
        self._published.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self.ls.diagnostics.clear(uri, SOURCE)

    def files_changed(self, paths: list[Path]) -> None:
        if any(p.name in RUFF_CONFIGS for p in paths):
            self._refresh()

    def settings_changed(self, old: Settings, new: Settings) -> None:
        if _ruff_changed(old, new):
            self._binary = None
            self.trouble.forget()
            self.tree_trouble.forget()
            self._stop_server()
            if self.ls.settings_known.is_set():  # before, every run waits for these settings
                self._refresh()

    def _refresh(self) -> None:
        """Check every open buffer again (the configuration or the settings changed): with a
        new ruff server, which reads the configuration again."""
        self._stop_server()
        self._runs.clear()
        self._details.clear()
        for uri in self._open:
            self._schedule(uri, 0.0)

    def _schedule(self, uri: str, delay: float) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if delay <= 0:
            self.ls.spawn(self._check_and_publish(uri))
        else:
            self._timers[uri] = asyncio.get_running_loop().call_later(
                delay, lambda: self.ls.spawn(self._check_and_publish(uri))
            )

    # Running ruff

    async def analysis(self, uri: str) -> Analysis | None:
        """Ruff's findings for the buffer's current version, run once per version."""
        doc = self.ls.document(uri)
        if doc is None:
            return None
        run = self._runs.get(uri)
        if run is None or run[0] != doc.version:
            task = asyncio.ensure_future(self._check(uri, doc.version, doc.source))
            run = self._runs[uri] = (doc.version, task)
        return await asyncio.shield(run[1])

    async def details(self, uri: str) -> Analysis | None:
        """The findings of the buffer's current version with their fixes and noqa lines."""
        found = await self.analysis(uri)
        if found is None or found.detailed or not found.ran:
            return found
        run = self._details.get(uri)
        if run is None or run[0] != found.version:
            task = asyncio.ensure_future(self._check(uri, found.version, found.text, detailed=True))
            run = self._details[uri] = (found.version, task)
        return await asyncio.shield(run[1])

    # Ruff server

    def _running_server(self) -> RuffServer | None:
        task = self._server
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    def _stop_server(self) -> None:
        """The settings or the configuration changed: the next check starts a new server."""
        task, self._server = self._server, None
        self._server_off = False
        self._deaths = 0
        if task is not None:
            self.ls.spawn(self._end(task))

    @staticmethod
    async def _end(task: asyncio.Task[RuffServer | None]) -> None:
        server = await task
        if server is not None:
            await server.stop()

    async def _ruff_server(self, binary: str) -> RuffServer | None:
        """The workspace's ruff server, started with the first check; None when ruff server
        cannot serve (each check is then a ``ruff check``)."""
        if self._server_off:
            return None
        if self._server is None:
            self._server = asyncio.ensure_future(self._start_server(binary))
        return await asyncio.shield(self._server)

    async def _start_server(self, binary: str) -> RuffServer | None:
        engine = self.ls.engine
        folders = engine.workspace.folders if engine is not None else ()
        search = LinkSearch(engine.state_dir) if engine is not None else None
        options = ruff_options(self.ls.settings)
        secret = self.quoted_from()[1]
        server = RuffServer(binary, folders, options, self._server_died, search, secret)
        failed = await server.start()
        if failed is not None:
            self._give_up_server(failed.message)
            return None
        log.info("ruff server (pid %s) lints the open buffers", server.pid)
        return server

    def _give_up_server(self, why: str) -> None:
        said = (
            f"{why}: each buffer version is checked by a ruff check of its own instead, until"
            " the ruff settings or configuration change"
        )
        log.warning("%s", said)
        self.ls.log_user(f"SHIM: {said}", types.MessageType.Warning)
        self._server_off = True

    def _server_died(self, server: RuffServer, code: int | None) -> None:
        if self._running_server() is not server:
            return
        self._server = None
        self._deaths += 1
        if self._deaths >= MAX_SERVER_DEATHS:
            self._give_up_server(f"{describe(server, code)}, {self._deaths} times")
        else:
            said = f"{describe(server, code)}; SHIM starts another with the next check"
            log.warning("%s", said)
            self.ls.log_user(f"SHIM: {said}", types.MessageType.Warning)

    async def shutting_down(self) -> None:
        task, self._server = self._server, None
        if task is not None:
            await self._end(task)

    def ruff_binary(self) -> str | None:
        """The ruff to run; None (the user told once) when there is none."""
        if self._binary is None:
            found = ruff.find_ruff(self.ls.settings.ruff_path)
            if isinstance(found, ruff.RuffFailure):
                self._failed(found)
                return None
            self._binary = found
        return self._binary

    async def _check(
        self, uri: str, version: int | None, text: str, detailed: bool = False
    ) -> Analysis:
        """Ruff server's findings in ``text``, or ``ruff check``'s when it cannot give them
        or when ``detailed`` findings (with fixes) are asked for."""
        await self.ls.settings_known.wait()  # ruffPath and the rules come with the settings
        path = uri_to_path(uri)
        if path is None or not self.may_show(path):
            return Analysis(version, text, (), ran=False)
        binary = self.ruff_binary() if self.ls.settings.ruff_enabled else None
        if binary is None or self._settings_lead_out(path):
            return Analysis(version, text, (), ran=False)
        server = None if detailed else await self._ruff_server(binary)
        if server is not None:
            served = await server.check(uri, text)
            if not isinstance(served, ruff.RuffFailure):
                return Analysis(version, text, tuple(served), detailed=False)
            if server.complaint is not None and self._running_server() is server:
                self._give_up_server(served.message)  # ruff check will say what is wrong
                self.ls.spawn(server.stop())
            else:
                log.warning("%s; ruff check checks this version", served.message)
                if not server.alive():
                    self._server_died(server, server.returncode)
        roots, secret = self.quoted_from()
        options = ruff_options(self.ls.settings)
        found = await ruff.check(binary, text, path, options, roots=roots, secret=secret)
        if isinstance(found, ruff.RuffFailure):
            self._failed(found, path)
            return Analysis(version, text, (), ran=False)
        return Analysis(version, text, tuple(found))

    async def _fixed(self, uri: str, text: str, only: Sequence[str]) -> str | None:
        """The text with ruff's fixes (``only`` these rules' if given); None if ruff failed."""
        path = uri_to_path(uri)
        binary = self.ruff_binary()
        if path is None or binary is None or self._settings_lead_out(path):
            return None
        roots, secret = self.quoted_from()
        options = ruff_options(self.ls.settings)
        done = await ruff.fixed(binary, text, path, options, only, roots=roots, secret=secret)
        if isinstance(done, ruff.RuffFailure):
            self._failed(done, path)
            return None
        return done

    def _failed(self, failure: ruff.RuffFailure, near: Path | None = None) -> None:
        """One message per distinct failure, in the log and on screen, naming what to fix
        (``near``: the file checked); the rest works on."""
        self._binary = None  # look for ruff again next time: it may be back
        self.trouble.say(failure.message, failure.detail, ruff_cause(failure, near))

    def tree_failed(self, failure: ruff.RuffFailure) -> None:
        """A whole-folder run failed: said as ``_failed`` says it when ruff could not be
        started, else naming what ruff or SHIM refused (the buffers' checks go on)."""
        if failure.message.startswith(tree.CANNOT_RUN):
            self._failed(failure)
        else:
            self.tree_trouble.say(failure.message, failure.detail, ruff_cause(failure))

    async def _check_and_publish(self, uri: str) -> None:
        self._timers.pop(uri, None)
        started = time.perf_counter()
        analysis = await self.analysis(uri)
        doc = self.ls.document(uri)
        if analysis is None or doc is None or doc.version != analysis.version:
            return  # the buffer moved on: the run for its new version publishes
        if uri not in self._open or self._published.get(uri) is analysis:
            return
        self._published[uri] = analysis
        recorder.analysis("ruff", time.perf_counter() - started)
        self.ls.diagnostics.put(
            uri, SOURCE, self.diagnostics_of(analysis.text, analysis.found), analysis.version
        )

    async def settled(self, uri: str) -> None:
        """Published for the buffer's current version (a pull waits for it, not for the
        debounce: the client asks right after the change)."""
        if uri not in self._open or not self.ls.settings.ruff_enabled:
            return
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        await self._check_and_publish(uri)

    async def all_settled(self) -> None:
        """Every open buffer's findings published for its current version: the workspace run
        counts them with its own, as Problems will show them (a buffer's first check waits
        for ruff server to start, and may end after a quick workspace run)."""
        await asyncio.gather(*(self.settled(uri) for uri in list(self._open)))

    def _settings_lead_out(self, path: Path) -> bool:
        """Whether ruff would read its settings for ``path`` from a link leading out of the
        workspace (a few lstat calls up the file's folders); said once when it would."""
        engine = self.ls.engine
        if engine is None:
            return True
        refused = config_leading_out(engine.workspace.folders, [], [path])
        if refused is not None:
            self._failed(refused)
        return refused is not None

    def may_show(self, path: Path, real_parent: Path | None = None) -> bool:
        """Findings quote the code (``Undefined name `hunter2```): a secret file, or a link to
        one or to a file outside the workspace, is not analysed, as it is never stored.
        ``real_parent``: as ``SessionEngine.may_read``'s."""
        engine = self.ls.engine
        return engine is not None and engine.may_read(path, real_parent)

    def quoted_from(self) -> tuple[tuple[Path, ...], Callable[[str], bool]]:
        """What ruff's errors may quote: the workspace folders, and a judge of which files
        in them are secrets by the user's patterns (ruff quotes a settings file it cannot
        parse: one that ``extend``s ``.env``, or is a link to it, would show a password)."""
        engine = self.ls.engine
        folders = engine.workspace.folders if engine is not None else ()
        return tuple(folders), lambda name: self.secret_under(Path(name)) is not None

    def secret_under(self, path: Path, real_parent: Path | None = None) -> FileRules | None:
        """The rules of the workspace folder under which ``path`` is a secret, if it is one:
        its findings are withheld, and said so."""
        engine = self.ls.engine
        return None if engine is None else engine.secret_under(path, real_parent)

    def diagnostics_of(
        self, text: str, found: Sequence[Finding], source: str = SOURCE
    ) -> list[types.Diagnostic]:
        """Findings in ``text`` as the client's diagnostics (another analyser's: its
        ``source``, the same conversion of positions)."""
        last = max((max(f.start.line, f.end.line) for f in found), default=0)
        if self._units_are_characters(text) and last <= text.count("\n"):
            # Every line named is in the text, and a character is one of the client's
            # units: ruff's positions are the client's, with no line split out (a workspace
            # run has megabytes of files with findings). A column past its line's end, which
            # a text changed since ruff read it could give, is the line's end to every
            # client (the protocol says so).
            return [self._diagnostic(None, f, source) for f in found]
        lines = findings.lines_of(text)
        return [self._diagnostic(lines, f, source) for f in found]

    # Positions: ruff's code points to the client's units, here and only here.

    def _units_are_characters(self, text: str) -> bool:
        """Whether each character of ``text`` is one unit of the client's position
        encoding: ASCII in every encoding; any text in UTF-32; in UTF-16 (VS Code's, the
        default) a text with no character past the Basic Multilingual Plane (an emoji is
        two units)."""
        if text.isascii():
            return True
        encoding = self.ls.workspace.position_codec.encoding
        if encoding == types.PositionEncodingKind.Utf32:
            return True
        if encoding != types.PositionEncodingKind.Utf16:
            return False
        # Its length in UTF-16 is twice its length when no character takes two units (one
        # encode in C: a search for such characters took eight times as long).
        return len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text)

    def _position(self, lines: list[str] | None, spot: Spot) -> types.Position:
        if lines is None:  # a unit a character, the line in the text: as ruff gave it
            return types.Position(line=spot.line, character=spot.column)
        if spot.line >= len(lines):  # past the end: the end (lines_of gives one line or more)
            spot = Spot(len(lines) - 1, len(lines[-1]))
        content = lines[spot.line].rstrip("\r\n")
        before = content[: spot.column]
        # ASCII is one unit a character in every encoding: pygls counts them one by one.
        units = (
            len(before)
            if before.isascii()
            else self.ls.workspace.position_codec.client_num_units(before)
        )
        return types.Position(line=spot.line, character=units)

    def _range(self, lines: list[str] | None, start: Spot, end: Spot) -> types.Range:
        return types.Range(start=self._position(lines, start), end=self._position(lines, end))

    def _diagnostic(
        self, lines: list[str] | None, f: Finding, source: str = SOURCE
    ) -> types.Diagnostic:
        tags = [_TAGS[t] for t in sorted(f.tags) if _TAGS[t] in self._tag_support()]
        return types.Diagnostic(
            range=self._range(lines, f.start, f.end),
            message=f.message,
            severity=_SEVERITIES[f.severity],
            code=f.code,
            code_description=types.CodeDescription(href=f.url) if f.url else None,
            source=source,
            tags=tags or None,
        )

    def _tag_support(self) -> list[types.DiagnosticTag]:
        text = self.ls.client_capabilities.text_document
        publish = text.publish_diagnostics if text else None
        support = publish.tag_support if publish else None
        return list(support.value_set) if support else []

    # Code actions

    def _kinds(self, only: Sequence[types.CodeActionKind | str] | None) -> list[str]:
        """The kinds this client takes as code action literals, narrowed to ``only``."""
        text = self.ls.client_capabilities.text_document
        caps = text.code_action if text else None
        literal = caps.code_action_literal_support if caps else None
        if literal is None:
            return []  # the client takes only commands
        known = [str(getattr(k, "value", k)) for k in literal.code_action_kind.value_set]
        asked = [str(getattr(k, "value", k)) for k in only or []]
        return [
            kind
            for kind in self.code_action_kinds
            if _within(kind, known) and (not asked or _within(kind, asked))
        ]

    def _resolves_edits(self) -> bool:
        text = self.ls.client_capabilities.text_document
        caps = text.code_action if text else None
        return bool(
            caps
            and caps.data_support
            and caps.resolve_support
            and "edit" in caps.resolve_support.properties
        )

    def _allowed(self, fix: Fix | None) -> bool:
        return fix is not None and (
            fix.applicability == "safe"
            or (fix.applicability == "unsafe" and self.ls.settings.ruff_unsafe_fixes)
        )

    def _offer(self, action: types.CodeAction, uri: str, analysis: Analysis, new: str) -> None:
        edits.offer(
            self.ls, action, [edits.file_edit(self.ls, uri, analysis.text, new, analysis.version)]
        )

    def _edit(self, uri: str, analysis: Analysis, new: str) -> types.WorkspaceEdit:
        return edits.workspace_edit(
            self.ls, [edits.file_edit(self.ls, uri, analysis.text, new, analysis.version)]
        )

    async def code_actions(
        self, uri: str, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        kinds = self._kinds(params.context.only)
        if not kinds or uri not in self._open or not self.ls.settings.ruff_enabled:
            return []
        analysis = await self.details(uri)
        doc = self.ls.document(uri)
        if analysis is None or doc is None or doc.version != analysis.version:
            return []  # typed meanwhile: the editor asks again
        if not analysis.ran:
            return []
        actions: list[types.CodeAction] = []
        if QUICK_FIX in kinds:
            actions += self._quick_fixes(uri, analysis, params.range)
        # Ruff fixes nothing in a file that does not parse, and sorts only what is imported.
        parses = not any(f.code is None for f in analysis.found)
        if FIX_ALL in kinds and parses and any(self._allowed(f.fix) for f in analysis.found):
            actions += await self._source_action(uri, analysis, FIX_ALL, "Fix all ruff findings")
        if ORGANIZE_IMPORTS in kinds and parses and _IMPORTS.search(analysis.text):
            actions += await self._source_action(
                uri, analysis, ORGANIZE_IMPORTS, "Organize imports (ruff)"
            )
        return actions

    def _quick_fixes(
        self, uri: str, analysis: Analysis, where: types.Range
    ) -> list[types.CodeAction]:
        lines = findings.lines_of(analysis.text)
        fixes, suppressions = [], []
        suppressed: set[tuple[int, str]] = set()
        for f in analysis.found:
            diagnostic = self._diagnostic(lines, f)
            if not _on_lines(diagnostic.range, where):
                continue
            if f.fix is not None and self._allowed(f.fix):
                unsafe = " (unsafe fix)" if f.fix.applicability == "unsafe" else ""
                fix = types.CodeAction(
                    title=f"Ruff {f.code}: {f.fix.message or 'fix'}{unsafe}",
                    kind=QUICK_FIX,
                    diagnostics=[diagnostic],
                    is_preferred=not unsafe,
                )
                self._offer(fix, uri, analysis, findings.apply(analysis.text, f.fix.replacements))
                fixes.append(fix)
            if f.code is None or f.noqa_line is None or (f.noqa_line, f.code) in suppressed:
                continue
            suppressed.add((f.noqa_line, f.code))
            new = noqa.with_noqa(analysis.text, f.noqa_line, f.code)
            if new != analysis.text:
                suppress = types.CodeAction(
                    title=f"Suppress with `# noqa: {f.code}`",
                    kind=QUICK_FIX,
                    diagnostics=[diagnostic],
                )
                self._offer(suppress, uri, analysis, new)
                suppressions.append(suppress)
        return fixes + suppressions

    async def _source_action(
        self, uri: str, analysis: Analysis, kind: str, title: str
    ) -> list[types.CodeAction]:
        """A whole-file action: resolved when chosen, where the client resolves edits;
        otherwise ruff runs now and the action is offered only if it changes something."""
        data = {"uri": uri, "version": analysis.version, "kind": kind}
        if self._resolves_edits():
            return [types.CodeAction(title=title, kind=kind, data=data)]
        new = await self._fixed(uri, analysis.text, self._only(kind))
        if new is None or new == analysis.text:
            return []
        action = types.CodeAction(title=title, kind=kind)
        self._offer(action, uri, analysis, new)
        return [action]

    @staticmethod
    def _only(kind: str) -> Sequence[str]:
        return ruff.ORGANIZE_IMPORTS if kind == ORGANIZE_IMPORTS else ()

    async def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        data: dict[str, Any] = action.data if isinstance(action.data, dict) else {}
        uri, version, kind = data.get("uri"), data.get("version"), data.get("kind")
        if (
            action.edit is not None
            or not isinstance(uri, str)
            or kind not in (FIX_ALL, ORGANIZE_IMPORTS)
        ):
            return action
        doc = self.ls.document(uri)
        if doc is None or doc.version != version:
            return self._refused(action)
        analysis = Analysis(doc.version, doc.source, ())
        new = await self._fixed(uri, analysis.text, self._only(kind))
        doc = self.ls.document(uri)
        if doc is None or doc.version != version:
            return self._refused(action)
        if new is not None and new != analysis.text:
            action.edit = self._edit(uri, analysis, new)
        elif new is not None:  # no edit and no word would look like a broken action
            done = "the imports are in order" if kind == ORGANIZE_IMPORTS else "nothing to fix"
            self.ls.tell_user(f"SHIM: {action.title}: {done}.", types.MessageType.Info)
        return action

    def _refused(self, action: types.CodeAction) -> types.CodeAction:
        """An action offered for an older version of the buffer changes nothing."""
        self.ls.tell_user(
            f"SHIM: {action.title!r} was offered for an older version of the file, which"
            " changed since; nothing was applied. Ask for it again.",
            types.MessageType.Info,
        )
        return action
