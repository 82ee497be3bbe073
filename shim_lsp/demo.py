"""``shim demo``: kill a real server mid-typing and show what comes back.

A real LSP client (pygls) starts ``python -P -m shim_lsp`` on a temporary workspace, types into
two files at about 20 edits a second without saving, SIGKILLs the server in the middle, starts
a new one, answers its recovery prompt with "Restore all", and compares the restored buffers
with what was typed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient
from pygls.workspace import TextDocument

from shim_lsp import notifications
from shim_lsp.textlines import LspTextDocument

EDIT_INTERVAL_S = 0.05
FILES = {
    "greeting.py": "def greet(name):\n    return 'hello ' + name\n",
    "notes.py": "# Notes\n",
}
LINE = "total = sum(x * 2 for x in range(10))  # ✓ typed, never saved\n"


class DemoEditor:
    """Just enough of an editor: its own buffers, applyEdit, showDocument, prompts."""

    def __init__(self, workspace: Path, state_dir: Path) -> None:
        self.workspace = workspace
        self.state_dir = state_dir
        self.client = LanguageClient("shim-demo", "1")
        self.docs: dict[str, TextDocument] = {}
        self.prompts: list[str] = []
        self.restored = asyncio.Event()
        c = self.client

        @c.feature(t.WINDOW_SHOW_MESSAGE_REQUEST)
        def prompt(params: t.ShowMessageRequestParams) -> t.MessageActionItem:
            self.prompts.append(params.message)
            return t.MessageActionItem(title="Restore all")

        @c.feature(t.WINDOW_SHOW_DOCUMENT)
        def show(params: t.ShowDocumentParams) -> t.ShowDocumentResult:
            if params.uri not in self.docs:
                name = params.uri.rsplit("/", 1)[-1]
                self.open(name, (workspace / name).read_text())
            return t.ShowDocumentResult(success=True)

        @c.feature(t.WORKSPACE_APPLY_EDIT)
        def apply(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
            for change in params.edit.document_changes or []:
                assert isinstance(change, t.TextDocumentEdit)
                for edit in change.edits:
                    assert isinstance(edit, t.TextEdit)
                    self.change(
                        change.text_document.uri,
                        t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text),
                    )
            self.restored.set()
            return t.ApplyWorkspaceEditResult(applied=True)

        for method in (t.CLIENT_REGISTER_CAPABILITY, t.WINDOW_SHOW_MESSAGE, t.WINDOW_LOG_MESSAGE):
            c.feature(method)(lambda _params: None)
        c.feature(notifications.STATUS_NOTIFICATION)(lambda _params: None)

    async def start(self) -> None:
        env = {**os.environ, "SHIM_STATE_DIR": str(self.state_dir)}
        await self.client.start_io(sys.executable, "-P", "-m", "shim_lsp", env=env)
        await self.client.initialize_async(
            t.InitializeParams(
                process_id=os.getpid(),
                capabilities=t.ClientCapabilities(
                    workspace=t.WorkspaceClientCapabilities(
                        apply_edit=True,
                        workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True),
                    ),
                    window=t.WindowClientCapabilities(
                        show_document=t.ShowDocumentClientCapabilities(support=True)
                    ),
                ),
                workspace_folders=[t.WorkspaceFolder(uri=self.workspace.as_uri(), name="demo")],
            )
        )
        self.client.initialized(t.InitializedParams())

    def open(self, name: str, text: str) -> str:
        uri = (self.workspace / name).as_uri()
        self.docs[uri] = LspTextDocument(uri, text, version=1)
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, change: t.TextDocumentContentChangePartial) -> None:
        doc = self.docs[uri]
        doc.apply_change(change)
        doc.version = (doc.version or 0) + 1
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[change],
            )
        )

    def type_char(self, uri: str, char: str) -> None:
        doc = self.docs[uri]
        lines = doc.lines
        line = len(lines)
        pos = t.Position(line=line, character=0)
        self.change(
            uri, t.TextDocumentContentChangePartial(range=t.Range(start=pos, end=pos), text=char)
        )

    def kill(self) -> None:
        server = self.client._server
        assert server is not None
        os.kill(server.pid, signal.SIGKILL)

    async def stop(self, clean: bool) -> None:
        if clean:
            await self.client.shutdown_async(None)
            self.client.exit(None)
        await self.client.stop()


def say(text: str) -> None:
    print(text, flush=True)


async def _one_round(workspace: Path, state_dir: Path, round_no: int, typed_s: float) -> int:
    editor = DemoEditor(workspace, state_dir)
    await editor.start()
    uris = [editor.open(name, (workspace / name).read_text()) for name in FILES]
    rate = 1 / EDIT_INTERVAL_S
    say(f"\n[{round_no}] typing into {len(uris)} files at ~{rate:.0f} edits/s, never saving...")
    history: dict[str, list[str]] = {u: [editor.docs[u].source] for u in uris}
    deadline = time.monotonic() + typed_s
    i = 0
    while time.monotonic() < deadline:
        uri = uris[i % len(uris)]
        editor.type_char(uri, LINE[(i // len(uris)) % len(LINE)])
        history[uri].append(editor.docs[uri].source)
        i += 1
        await asyncio.sleep(EDIT_INTERVAL_S)
    say(f"    {i} edits sent; SIGKILL the server now, mid-typing")
    editor.kill()
    await editor.stop(clean=False)

    after = DemoEditor(workspace, state_dir)
    await after.start()
    say("    new server started; it asks:")
    try:
        await asyncio.wait_for(after.restored.wait(), 20)
        await asyncio.sleep(0.5)
    except TimeoutError:
        say("    (no recovery prompt arrived)")
    for prompt in after.prompts:
        say(f"      > {prompt}")
    lost = 0
    for uri, texts in history.items():
        got = after.docs[uri].source if uri in after.docs else texts[0]
        if got in texts:
            missing = len(texts) - 1 - max(k for k, text in enumerate(texts) if text == got)
        else:
            missing = len(texts) - 1
        lost += missing
        name = uri.rsplit("/", 1)[-1]
        verdict = "identical to what was typed" if missing == 0 else f"{missing} edit(s) lost"
        say(f"    {name}: {len(texts) - 1} edits typed, restored text is {verdict}")
    # Save what came back, as a user would, so the next round starts from it.
    for uri, doc in after.docs.items():
        (workspace / uri.rsplit("/", 1)[-1]).write_text(doc.source)
    await after.stop(clean=True)
    return lost


async def _demo(kills: int) -> int:
    with tempfile.TemporaryDirectory(prefix="shim-demo-") as tmp:
        workspace = Path(tmp) / "workspace"
        workspace.mkdir()
        for name, text in FILES.items():
            (workspace / name).write_text(text)
        state_dir = Path(tmp) / "state"
        say(f"SHIM demo: workspace {workspace}, store {state_dir} (SQLite)")
        total = 0
        for round_no in range(1, kills + 1):
            total += await _one_round(workspace, state_dir, round_no, typed_s=3.0)
        edits_per_s = 1 / EDIT_INTERVAL_S
        say(
            f"\n{kills} SIGKILL(s): {total} edit(s) lost in all "
            f"(about {total / edits_per_s:.2f} s of typing)."
        )
        return 0


def run_demo(kills: int = 1) -> int:
    return asyncio.run(_demo(kills))
