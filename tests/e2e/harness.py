"""A test editor: a pytest-lsp client that behaves like VS Code where SHIM relies on it.

It opens a document when asked by ``window/showDocument``, applies ``workspace/applyEdit`` to
its own copy of the buffer (refusing stale versions), and answers prompts from a script.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.protocol import default_converter
from pygls.workspace import TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from shim_lsp.textlines import LspTextDocument
from shim_lsp.workspace.paths import uri_to_path

CAPABILITIES = t.ClientCapabilities(
    workspace=t.WorkspaceClientCapabilities(
        apply_edit=True,
        configuration=True,
        workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True),
        did_change_watched_files=t.DidChangeWatchedFilesClientCapabilities(
            dynamic_registration=True
        ),
    ),
    window=t.WindowClientCapabilities(show_document=t.ShowDocumentClientCapabilities(support=True)),
)

NEOVIM_07 = t.ClientCapabilities(
    workspace=t.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=t.WorkspaceEditClientCapabilities(
            resource_operations=[
                t.ResourceOperationKind.Rename,
                t.ResourceOperationKind.Create,
                t.ResourceOperationKind.Delete,
            ]
        ),
    ),
    window=t.WindowClientCapabilities(
        work_done_progress=True, show_document=t.ShowDocumentClientCapabilities(support=False)
    ),
)
"""What Debian's Neovim 0.7.2 announces: no showDocument, no documentChanges, no watchers."""


@dataclass
class Editor:
    client: LanguageClient
    workspace: Path
    answers: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    docs: dict[str, TextDocument] = field(default_factory=dict)
    edits: list[t.ApplyWorkspaceEditParams] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    notifications: list[Any] = field(default_factory=list)
    """shim/recoveryAvailable, as a client with its own recovery UI receives it."""
    registrations: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    """URIs the server asked to show (``window/showDocument``)."""

    @property
    def pid(self) -> int:
        assert self.client._server is not None
        return self.client._server.pid

    @property
    def shown_messages(self) -> list[str]:
        """What the server told the user (``window/showMessage``)."""
        return [m.message for m in self.client.messages]

    def uri(self, name: str) -> str:
        return (self.workspace / name).as_uri()

    def open(self, name: str, text: str | None = None, uri: str | None = None) -> str:
        """Open a file by name; ``uri`` overrides how this editor spells its URI."""
        uri = uri or self.uri(name)
        if text is None:
            text = (self.workspace / name).read_bytes().decode("utf-8-sig")
        self.docs[uri] = LspTextDocument(uri, text, version=1)
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def type(self, uri: str, line: int, character: int, text: str) -> None:
        """Insert ``text`` at a position (UTF-16 units), as a keystroke would."""
        pos = t.Position(line=line, character=character)
        self.change(
            uri, t.TextDocumentContentChangePartial(range=t.Range(start=pos, end=pos), text=text)
        )

    def change(self, uri: str, change: t.TextDocumentContentChangeEvent) -> None:
        doc = self.docs[uri]
        doc.apply_change(change)
        doc.version = (doc.version or 0) + 1
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[change],
            )
        )

    def save(self, uri: str) -> None:
        path = uri_to_path(uri)
        assert path is not None
        path.write_text(self.docs[uri].source, newline="")
        self.client.text_document_did_save(
            t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri))
        )

    async def command(self, name: str, *args: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            t.ExecuteCommandParams(command=name, arguments=list(args) if args else None)
        )

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)


def as_json(value: Any) -> Any:
    """pygls hands a client unknown notifications as named tuples; tests read JSON."""
    if hasattr(value, "_asdict"):
        return {k: as_json(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


OWN = {
    t.WINDOW_SHOW_MESSAGE_REQUEST,
    t.WINDOW_SHOW_DOCUMENT,
    t.WORKSPACE_APPLY_EDIT,
    t.WORKSPACE_CONFIGURATION,
}


def _converter() -> Any:
    """pygls's converter, reading a code action that runs a command as a code action:
    lsprotocol takes any object with a ``command`` key for a Command (VS Code tells them
    apart by the type of ``command``: a string is a Command)."""
    converter = default_converter()

    def code_action(obj: Any, _type: Any) -> t.Command | t.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, t.Command)  # type: ignore[no-any-return]
        return converter.structure(obj, t.CodeAction)  # type: ignore[no-any-return]

    converter.register_structure_hook(t.Command | t.CodeAction, code_action)
    return converter


def _make_client() -> LanguageClient:
    """pytest-lsp's client with its defaults, except the editor behaviour defined here."""
    client = LanguageClient(converter_factory=_converter)
    register_lsp_features(
        client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m not in OWN}
    )
    return client


def server_command() -> list[str]:
    return [sys.executable, "-m", "shim_lsp"]


async def start_editor(
    workspace: Path,
    state_dir: Path,
    *,
    answers: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    process_id: int | None = None,
    capabilities: t.ClientCapabilities = CAPABILITIES,
    initialize: bool = True,
    refuse_show_document: bool = False,
    refuse_questions: bool = False,
    settings_delay: float = 0.0,
    initialization_options: Any = None,
) -> Editor:
    """``settings_delay``: the editor answers ``workspace/configuration`` that late, as a busy
    VS Code may. ``initialization_options``: settings sent with ``initialize`` as well."""
    config = ClientServerConfig(
        client_factory=_make_client,
        server_command=server_command(),
        server_env={**os.environ, "SHIM_STATE_DIR": str(state_dir)},
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    editor = Editor(client, workspace, answers=list(answers or []))
    client.set_configuration({"shim": settings or {}})

    @client.feature(t.WORKSPACE_CONFIGURATION)
    async def configuration(params: t.ConfigurationParams) -> list[Any]:
        if settings_delay:
            await asyncio.sleep(settings_delay)
        return [
            client.get_configuration(section=item.section, scope_uri=item.scope_uri)
            for item in params.items
        ]

    @client.feature(t.WINDOW_SHOW_MESSAGE_REQUEST)
    def message_request(params: t.ShowMessageRequestParams) -> t.MessageActionItem | None:
        editor.prompts.append(params.message)
        if refuse_questions:  # a client without the request answers with an error
            raise RuntimeError("window/showMessageRequest is not implemented here")
        if not editor.answers:
            return None
        return t.MessageActionItem(title=editor.answers.pop(0))

    @client.feature(t.WINDOW_SHOW_DOCUMENT)
    def show_document(params: t.ShowDocumentParams) -> t.ShowDocumentResult:
        editor.shown.append(params.uri)
        if refuse_show_document:  # a client that announces it, then answers with an error
            raise RuntimeError("window/showDocument is not implemented here")
        if params.uri not in editor.docs:
            path = uri_to_path(params.uri)
            assert path is not None
            text = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
            editor.open(str(path.relative_to(workspace)), text)
        return t.ShowDocumentResult(success=True)

    def last_first(edits: Sequence[Any]) -> list[Any]:
        """LSP places every edit of a document against its text before any of them: applied
        one at a time, from the last up, none moves another."""
        return sorted(
            edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
        )

    @client.feature(t.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
        for uri, edits in (params.edit.changes or {}).items():
            # Like Neovim: an edit by ``changes`` loads a file that is not open, then edits.
            if uri not in editor.docs:
                path = uri_to_path(uri)
                assert path is not None
                editor.open(str(path.relative_to(workspace)), path.read_bytes().decode("utf-8-sig"))
            for edit in last_first(edits):
                editor.change(
                    uri, t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                )
        for change in params.edit.document_changes or []:
            assert isinstance(change, t.TextDocumentEdit)
            doc = editor.docs.get(change.text_document.uri)
            if doc is None and change.text_document.version is None:
                # Like VS Code: a file the edit names is opened from disk, then edited.
                path = uri_to_path(change.text_document.uri)
                assert path is not None
                editor.open(str(path.relative_to(workspace)), path.read_bytes().decode("utf-8-sig"))
                doc = editor.docs[change.text_document.uri]
            if doc is None:
                return t.ApplyWorkspaceEditResult(applied=False, failure_reason="not open")
            if change.text_document.version not in (None, doc.version):
                return t.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            for text_edit in last_first(change.edits):
                assert isinstance(text_edit, t.TextEdit | t.AnnotatedTextEdit)
                editor.change(
                    doc.uri,
                    t.TextDocumentContentChangePartial(
                        range=text_edit.range, text=text_edit.new_text
                    ),
                )
        editor.edits.append(params)
        return t.ApplyWorkspaceEditResult(applied=True)

    @client.feature(t.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: t.RegistrationParams) -> None:
        editor.registrations.extend(r.method for r in params.registrations)

    @client.feature("shim/status")
    def status(params: Any) -> None:
        editor.statuses.append(params)

    @client.feature("shim/recoveryAvailable")
    def recovery_available(params: Any) -> None:
        editor.notifications.append(as_json(params))

    @client.feature("shim/riskAlarm")
    def risk_alarm(params: Any) -> None:
        editor.notifications.append(as_json(params))

    if initialize:
        try:
            await client.initialize_session(
                t.InitializeParams(
                    capabilities=capabilities,
                    process_id=process_id,
                    initialization_options=initialization_options,
                    workspace_folders=[
                        t.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)
                    ],
                )
            )
        except BaseException:
            await stop_editor(editor)
            raise
    return editor


async def stop_editor(editor: Editor, grace: float = 20.0) -> None:
    """Shut the server down cleanly; one that does not answer within ``grace`` seconds is
    killed by PID, since the client's ``stop()`` waits for the server process to end."""
    client = editor.client
    if client.stopped:
        return
    server = client._server
    try:
        if server is not None and server.returncode is None:
            await asyncio.wait_for(client.shutdown_session(), grace)
    finally:
        if server is not None and server.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.pid, signal.SIGKILL)
            await server.wait()
        await client.stop()


class Editors:
    """The test editors of one test (the ``editors`` fixture): at teardown, whether the test
    passed or failed, every server still running is shut down, or killed when it does not
    answer within ten seconds (a server ends at most 2 s after exit)."""

    def __init__(self, grace: float = 10.0) -> None:
        self.grace = grace
        self.started: list[Editor] = []

    async def start(self, workspace: Path, state_dir: Path, **options: Any) -> Editor:
        """``start_editor`` with the same arguments, remembered for teardown."""
        editor = await start_editor(workspace, state_dir, **options)
        self.started.append(editor)
        return editor

    async def close(self) -> None:
        errors: list[BaseException] = []
        for editor in self.started:
            try:
                await stop_editor(editor, self.grace)
            except Exception as error:  # every server is ended before the first error is told
                errors.append(error)
        if errors:
            raise errors[0]


async def journal_settled(editor: Editor) -> None:
    """Wait until the server says every journal record is on disk."""
    for _ in range(200):
        status = await editor.command("shim.sessionStatus")
        if int(status["journal"]["pending"]) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("journal never caught up")


async def crash_after_typing(
    workspace: Path, state_dir: Path, name: str, typed: str, before: str = "a = 1\n"
) -> str:
    """A window types unsaved text into a file, then its server is SIGKILLed; returns the
    buffer as it was (what recovery must bring back)."""
    (workspace / name).write_text(before)
    editor = await start_editor(workspace, state_dir)
    try:
        uri = editor.open(name)
        editor.type(uri, 1, 0, typed)
        await journal_settled(editor)
        return editor.docs[uri].source
    finally:
        editor.kill()
        await editor.client.stop()


async def kill_and_restore_all(
    first: Editor, editors: Editors, workspace: Path, state_dir: Path, uri: str
) -> None:
    """SIGKILL ``first``'s server; a new window on ``workspace`` answers "Restore all" and
    gets ``uri``'s buffer back as ``first`` had it."""
    expected = first.docs[uri].source
    first.kill()
    await first.client.stop()
    second = await editors.start(workspace, state_dir, answers=["Restore all"])
    await second.wait_for(lambda: bool(second.edits))
    assert second.docs[uri].source == expected
    await stop_editor(second)


async def two_windows_crash(workspace: Path, state_dir: Path) -> tuple[str, str]:
    """Two windows type different unsaved text into one file, then both servers die."""
    (workspace / "app.py").write_text("a = 1\n")
    windows = Editors()
    try:
        older = await windows.start(workspace, state_dir)
        uri = older.open("app.py")
        older.type(uri, 1, 0, "older = 'window one'\n")
        await journal_settled(older)
        await asyncio.sleep(0.05)
        newer = await windows.start(workspace, state_dir)
        newer.open("app.py")
        newer.type(uri, 1, 0, "newer = 'window two'\n")
        await journal_settled(newer)
        texts = older.docs[uri].source, newer.docs[uri].source
        for editor in (older, newer):
            editor.kill()
            await editor.client.stop()
        return texts
    finally:
        await windows.close()
