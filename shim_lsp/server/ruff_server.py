"""``ruff server``, ruff's own language server, kept running to lint the open buffers.

A ``ruff check`` per buffer version spends about 9 ms starting and reading its configuration
before it reads a line; ``ruff server`` keeps both and answers in about 3 ms. SHIM is its
client through pygls's ``LanguageClient``: a check sends the buffer's whole text (a ``didOpen``
or a ``didChange``) and pulls its diagnostics (``textDocument/diagnostic``); ruff handles
messages in order, so the answer is for the text sent just before it. Positions are asked in
UTF-32 (code points), as SHIM's findings count them.

Failures are values (``RuffFailure``): a ruff whose server cannot start or does not read UTF-32
or pull diagnostics, a server that dies or stops answering, or one that complains about its
settings (it would lint with its defaults instead). The caller then checks with ``ruff check``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from cattrs import Converter
from lsprotocol import types
from pygls.exceptions import JsonRpcException, PyglsError
from pygls.lsp.client import LanguageClient
from pygls.protocol import default_converter

from shim_lsp.analysis import holds, ruff, ruff_command
from shim_lsp.analysis.findings import Finding, Spot
from shim_lsp.analysis.links import LinkSearch
from shim_lsp.analysis.process import die_with_parent
from shim_lsp.analysis.ruff import RuffFailure, RuffOptions

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
"""A server that has not answered ``initialize`` by then is not used."""
STOP_TIMEOUT_S = 1.0
"""How long a server is given to leave after ``shutdown`` and ``exit`` before it is killed."""
HELP = "\n\nhelp: "
"""Ruff server appends its fix's title to the message; ``ruff check``'s JSON keeps it apart."""

CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
"""The files ruff reads its configuration from."""

_LIVE: set[asyncio.subprocess.Process] = set()
"""Every server started and not yet ended: ``kill_all`` ends them when SHIM exits."""


def kill_all() -> None:
    """End every ruff server now (SHIM is exiting; on Linux the kernel would end them too)."""
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    _LIVE.clear()


def _converter() -> Converter:
    """lsprotocol's converter, taught the optional notebook filter that ruff's ``initialize``
    answer holds (lsprotocol 2025.0.0 has a hook for the filter, not for it being optional)."""
    converter: Converter = default_converter()
    optional = attrs.fields(types.NotebookDocumentFilterWithCells).notebook.type
    required: Any = attrs.fields(types.NotebookDocumentFilterWithNotebook).notebook.type
    converter.register_structure_hook(
        optional, lambda value, _: None if value is None else converter.structure(value, required)
    )
    return converter


class _Client(LanguageClient):
    """pygls's client, telling its owner when the server process ends."""

    def __init__(self, on_exit: Callable[[int | None], None]) -> None:
        super().__init__("shim", "1", converter_factory=_converter)
        self._on_exit = on_exit

    async def server_exit(self, server: asyncio.subprocess.Process) -> None:
        _LIVE.discard(server)
        self._on_exit(server.returncode)


_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
"""How a record of ruff server's log begins (its time); the lines after it, to the next,
are the same record's."""


def _text(value: str) -> str:
    """A lone surrogate (an editor may hold one) becomes one "?", as ``ruff check`` gets it:
    JSON cannot carry it to ruff, and positions stay the same."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def finding(diagnostic: types.Diagnostic) -> Finding:
    """One of ruff server's diagnostics as the finding ``ruff check``'s JSON gives (without
    its fix and noqa line, which only code actions need)."""
    code = None if diagnostic.code is None else str(diagnostic.code)
    url = diagnostic.code_description.href if diagnostic.code_description else None
    message = diagnostic.message
    if HELP in message:
        message = message[: message.index(HELP)]
    start, end = diagnostic.range.start, diagnostic.range.end
    return ruff.finding(
        code=code,
        name=url.rstrip("/").rsplit("/", 1)[-1] if url else "",  # .../rules/unused-import
        message=message,
        start=Spot(start.line, start.character),
        end=Spot(end.line, end.character),
        url=url,
    )


PIPE_BYTES = 1 << 20
"""The pipe to ruff server, widened from Linux's 64 KiB: a check sends the whole buffer, and a
100 KB file (Django's ``query.py``) went over in many small writes as ruff read it (each one
moving the rest of asyncio's buffer): ~2 ms of SHIM's time a keystroke, measured by py-spy.
A user may not exceed ``/proc/sys/fs/pipe-max-size`` (1 MiB by default)."""


def _widen(stdin: asyncio.StreamWriter | None) -> None:
    """Widen the pipe behind ``stdin`` to ``PIPE_BYTES`` where the system allows it (Linux);
    elsewhere, or refused, it stays as it is: only slower."""
    pipe = stdin.get_extra_info("pipe") if stdin is not None else None
    if pipe is None:
        return
    try:
        import fcntl
    except ImportError:  # Windows
        return
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is not None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: ruff has ended
            fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)


class RuffServer:
    """One ``ruff server`` for a workspace's folders, with the rules SHIM's settings give."""

    def __init__(
        self,
        binary: str,
        folders: tuple[Path, ...],
        options: RuffOptions,
        on_exit: Callable[[RuffServer, int | None], None],
        search: LinkSearch | None = None,
        secret: Callable[[str], bool] | None = None,
    ) -> None:
        self.binary = binary
        self.secret = secret
        """Judges which files are secrets: what ruff quotes of one (a settings file that
        extends ``.env``) is cut from what it says (``ruff_command.unshowable``)."""
        self.search = search
        """The link search that finds what it could wait on (a fresh one when None)."""
        self._answered = False
        """It answered a check: until then, it may still be reading the workspace's settings
        (a first check waits ``START_TIMEOUT_S``, not ``ruff.TIMEOUT_S``)."""
        self.folders = folders
        self.options = options
        self.complaint: str | None = None
        """What the server said was wrong with its settings (it then lints with defaults)."""
        self.stopping = False
        self._on_exit = on_exit
        self._client = _Client(lambda code: self._exited(code))
        self._sent: dict[str, tuple[int, str]] = {}
        """uri -> (the version SHIM gave it, the text) as the server holds it."""
        self._said: asyncio.Task[None] | None = None

        @self._client.feature(types.WINDOW_SHOW_MESSAGE)
        def shown(_client: LanguageClient, params: types.ShowMessageParams) -> None:
            if params.type == types.MessageType.Error:
                lines = params.message.splitlines()
                cut = ruff_command.cut_lines(lines, self._unshowable())
                self.complaint = "\n".join(cut if cut is not None else lines)

    def alive(self) -> bool:
        proc = self._client._server
        return not self.stopping and proc is not None and proc.returncode is None

    @property
    def returncode(self) -> int | None:
        proc = self._client._server
        return proc.returncode if proc is not None else None

    @property
    def pid(self) -> int | None:
        proc = self._client._server  # pygls keeps the process it started there
        return proc.pid if proc is not None else None

    def _exited(self, code: int | None) -> None:
        if not self.stopping:
            self._on_exit(self, code)

    async def start(self) -> RuffFailure | None:
        """Start the server and shake hands; None once it serves. Settings or a configuration
        that ruff refuses are found first, by a ``ruff check`` of nothing: ruff server would
        only log them and lint with its defaults."""
        cwd = self.folders[0] if self.folders else Path.cwd()
        held = await asyncio.to_thread(self._held)
        if held is not None:
            return RuffFailure(held)
        probe = cwd / "shim-settings.py"
        refused = await ruff.check(
            self.binary, "", probe, self.options, roots=self.folders, secret=self.secret
        )
        if isinstance(refused, RuffFailure):
            self.complaint = refused.message
            return RuffFailure(f"ruff refuses these settings: {refused.message}")
        try:
            await self._client.start_io(
                self.binary,
                "server",
                cwd=str(cwd),
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as exc:
            return RuffFailure(f"cannot run ruff server ({self.binary}): {exc.strerror or exc}")
        proc = self._client._server
        assert proc is not None and proc.stderr is not None
        _LIVE.add(proc)
        _widen(proc.stdin)
        self._said = asyncio.ensure_future(self._log_stderr(proc.stderr))
        params = types.InitializeParams(
            capabilities=types.ClientCapabilities(
                general=types.GeneralClientCapabilities(
                    position_encodings=[types.PositionEncodingKind.Utf32]
                ),
                text_document=types.TextDocumentClientCapabilities(
                    diagnostic=types.DiagnosticClientCapabilities()
                ),
            ),
            process_id=os.getpid(),
            workspace_folders=[
                types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in self.folders
            ],
            initialization_options=ruff.server_options(self.options),
        )
        # A server that ends before it answers is not waited for (pygls fails only the
        # requests sent before it noticed the end).
        asked = asyncio.ensure_future(self._client.initialize_async(params))
        ended = asyncio.ensure_future(proc.wait())
        await asyncio.wait({asked, ended}, timeout=START_TIMEOUT_S, return_when="FIRST_COMPLETED")
        ended.cancel()
        if not asked.done() or asked.exception() is not None:
            asked.cancel()
            failure = asked.exception() if asked.done() else None
            await self.stop()
            if proc.returncode is not None:
                return RuffFailure(
                    f"ruff server ({self.binary}) ended with status {proc.returncode} as it started"
                )
            if failure is not None:
                return RuffFailure(f"ruff server ({self.binary}) could not start: {failure}")
            return RuffFailure(f"ruff server ({self.binary}) did not start in {START_TIMEOUT_S} s")
        answer = asked.result()
        caps = answer.capabilities
        utf32 = caps.position_encoding == types.PositionEncodingKind.Utf32
        if not utf32 or not caps.diagnostic_provider:
            await self.stop()
            return RuffFailure(
                f"ruff server ({self.binary}) answers neither in code points nor pulled"
                " diagnostics (an older ruff)"
            )
        self._client.initialized(types.InitializedParams())
        return None

    def _held(self) -> str | None:
        """What ruff server would wait on for ever as it reads the workspace's settings (an
        ignore file or a settings file that is a FIFO, say): then it is not started."""
        folders = [f for f in self.folders if f.is_dir()]
        if not folders:
            return None
        found = (self.search or LinkSearch()).found(folders)
        held = holds.server_held(folders, found.special, found.settings)
        if held is None:
            return None
        return (
            f"ruff server was not started: {held}, which it would wait on for ever as it reads"
            " the workspace's settings (make it a file, or remove it)"
        )

    def _unshowable(self) -> Callable[[str], str | None]:
        return ruff_command.unshowable([os.path.realpath(f) for f in self.folders], self.secret)

    async def _log_stderr(self, stream: asyncio.StreamReader) -> None:
        """What ruff server says on stderr goes to SHIM's log (and its pipe never fills),
        but what it quotes of a file outside the workspace or a secret one: a record is cut
        after the file's name, and its next lines (the quote) are dropped."""
        why = self._unshowable()
        cutting = False
        while line := await stream.readline():
            said = line.decode("utf-8", "replace").rstrip()
            if _RECORD.match(said):
                cutting = False
            elif cutting:
                continue
            cut = ruff_command.cut_lines([said], why)
            if cut is not None:
                said, cutting = cut[0], True
            log.info("ruff server said: %s", said)
            if " ERROR " in said:  # a configuration it cannot read: it lints with defaults
                self.complaint = said

    async def check(self, uri: str, text: str) -> list[Finding] | RuffFailure:
        """Ruff's findings in ``text``, the buffer's text at ``uri`` now."""
        if not self.alive():  # ended since it was handed out: nothing would answer
            return RuffFailure(f"ruff server ({self.binary}) is not running")
        text = _text(text)
        sent = self._sent.get(uri)
        if sent is None:
            self._sent[uri] = (1, text)
            self._client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="python", version=1, text=text
                    )
                )
            )
        elif sent[1] != text:
            version = sent[0] + 1
            self._sent[uri] = (version, text)
            self._client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
        asked = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri))
        bound = ruff.TIMEOUT_S if self._answered else START_TIMEOUT_S
        try:
            report = await asyncio.wait_for(
                self._client.text_document_diagnostic_async(asked), bound
            )
        except TimeoutError:
            await self.stop()
            first = "" if self._answered else " its first check"
            return RuffFailure(f"ruff server did not answer{first} within {bound:g} s")
        except (RuntimeError, JsonRpcException, PyglsError) as exc:
            return RuffFailure(f"ruff server failed: {exc}")
        self._answered = True
        if self.complaint is not None:
            return RuffFailure(f"ruff server: {self.complaint}")
        if not isinstance(report, types.RelatedFullDocumentDiagnosticReport):
            return RuffFailure(f"ruff server answered {type(report).__name__}")
        return [finding(d) for d in report.items]

    def configurations_changed(self, path: Path) -> None:
        """Ruff's configuration files that apply to ``path`` may have changed (``ruff check``
        reads them at each run): the server reads them again before its next answer."""
        changed = [
            types.FileEvent(uri=(folder / name).as_uri(), type=types.FileChangeType.Changed)
            for folder in path.parents
            if any(folder.is_relative_to(root) for root in self.folders)
            for name in CONFIGS
            if (folder / name).is_file()
        ]
        if changed and self.alive():
            self._client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(changes=changed)
            )

    def close(self, uri: str) -> None:
        """The buffer closed: the server forgets it."""
        if self._sent.pop(uri, None) is not None and not self.stopping:
            with contextlib.suppress(Exception):  # a server already gone has nothing to forget
                self._client.text_document_did_close(
                    types.DidCloseTextDocumentParams(
                        text_document=types.TextDocumentIdentifier(uri)
                    )
                )

    async def stop(self) -> None:
        """Ask the server to leave; killed when it does not within ``STOP_TIMEOUT_S``."""
        self.stopping = True
        proc = self._client._server
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(Exception):  # it may be gone, or not answering
                await asyncio.wait_for(self._client.shutdown_async(None), STOP_TIMEOUT_S)
                self._client.exit(None)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc is not None:
            _LIVE.discard(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.stop(), STOP_TIMEOUT_S)
        if self._said is not None:
            self._said.cancel()


def describe(server: RuffServer, code: int | None) -> str:
    """A server's unexpected end, worded for the log."""
    return f"ruff server ({server.binary}, pid {server.pid}) exited with status {code}"
