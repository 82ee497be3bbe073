"""One bad frame must not blind the server: it resynchronises on the next header, answers every
request id it can read, and keeps journaling."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shim_lsp.store.db import DB_NAME, connect

NO_ANSWER = object()


def frame(body: bytes, length: int | None = None, header: bytes = b"Content-Length") -> bytes:
    n = len(body) if length is None else length
    return header + b": %d\r\n\r\n" % n + body


def message(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def request(msg_id: int, method: str = "shim/unknownRequest", params: Any = None) -> bytes:
    return message({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params or {}})


class RawClient:
    """Speaks bytes to a real server; a thread collects what it sends back."""

    def __init__(self, workspace: Path, state_dir: Path, stderr: Path) -> None:
        self.err = stderr.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shim_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env={**os.environ, "SHIM_STATE_DIR": str(state_dir)},
        )
        self.stderr = stderr
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.send(
            frame(
                request(
                    0,
                    "initialize",
                    {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
                )
            )
        )
        assert "capabilities" in self.response(0)["result"]
        self.send(frame(message({"jsonrpc": "2.0", "method": "initialized", "params": {}})))

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line == b"\r\n":
                    break
            msg = json.loads(out.read(length))
            if "method" in msg and "id" in msg:  # a request of the server's: answer it
                self.send(frame(message({"jsonrpc": "2.0", "id": msg["id"], "result": None})))
            self.messages.put(msg)

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def response(self, msg_id: object, timeout: float = 10.0) -> Any:
        """The answer to ``msg_id`` (responses only), or NO_ANSWER after ``timeout``."""
        for msg in self.seen:
            if "method" not in msg and msg.get("id") == msg_id:
                self.seen.remove(msg)
                return msg
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if "method" not in msg and msg.get("id") == msg_id:
                return msg
            self.seen.append(msg)
        return NO_ANSWER

    def alive_and_answering(self, msg_id: int) -> bool:
        self.send(
            frame(request(msg_id, "workspace/executeCommand", {"command": "shim.sessionStatus"}))
        )
        answer = self.response(msg_id)
        return answer is not NO_ANSWER and "result" in answer

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.err.close()


@pytest.fixture
def client(workspace: Path, state_dir: Path, tmp_path: Path) -> Iterator[RawClient]:
    c = RawClient(workspace, state_dir, tmp_path / "stderr.log")
    try:
        yield c
    finally:
        c.close()


BAD_HEADERS = {
    "not a number": b"Content-Length: banana\r\n\r\n" + request(101),
    "negative": b"Content-Length: -5\r\n\r\n" + request(101),
    "missing": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + request(101),
    "garbage line": b"hello there\r\n" + frame(request(101)),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_header_is_skipped_and_the_next_frames_are_served(client: RawClient, case: str) -> None:
    client.send(BAD_HEADERS[case])
    assert client.alive_and_answering(1)
    assert client.alive_and_answering(2)


def test_lower_case_header_name_is_a_header(client: RawClient) -> None:
    client.send(
        frame(
            request(5, "workspace/executeCommand", {"command": "shim.sessionStatus"}),
            header=b"content-length",
        )
    )
    assert "result" in client.response(5)
    assert client.alive_and_answering(6)


def test_body_shorter_than_announced_gets_its_error_and_the_next_frame_is_served(
    client: RawClient,
) -> None:
    body = request(7)
    client.send(frame(body, length=len(body) + 40))
    client.send(frame(request(8, "workspace/executeCommand", {"command": "shim.sessionStatus"})))
    assert client.response(7)["error"]["code"] == -32600
    assert "result" in client.response(8)
    assert client.alive_and_answering(9)


def test_body_longer_than_announced_gets_its_error_and_the_next_frame_is_served(
    client: RawClient,
) -> None:
    body = request(10)
    client.send(frame(body, length=len(body) - 5))
    assert client.response(10)["error"]["code"] in (-32700, -32600)
    assert client.alive_and_answering(11)


@pytest.mark.parametrize("length", [10**15, 2**31])
def test_huge_content_length_is_refused_with_a_log_line(client: RawClient, length: int) -> None:
    client.send(frame(request(12), length=length))
    client.send(frame(request(13, "workspace/executeCommand", {"command": "shim.sessionStatus"})))
    assert client.response(12)["error"]["code"] == -32600
    assert "result" in client.response(13)
    assert client.alive_and_answering(14)
    log = client.stderr.read_text()
    assert f"Content-Length {length}" in log and "cap" in log


def test_deep_json_batch_and_missing_jsonrpc_each_get_an_answer(client: RawClient) -> None:
    deep = (
        b'{"jsonrpc": "2.0", "id": 20, "method": "shim/x", "params": '
        + b"[" * 10_000
        + b"]" * 10_000
        + b"}"
    )
    client.send(frame(deep))
    assert client.response(20)["error"]["code"] in (-32700, -32600)
    batch = b"[" + request(21) + b"," + request(22) + b"]"
    client.send(frame(batch))
    assert client.response(21)["error"]["code"] == -32600
    assert client.response(22)["error"]["code"] == -32600
    client.send(frame(message({"id": 23, "method": "shutdown"})))
    assert client.response(23)["error"]["code"] == -32600
    assert client.alive_and_answering(24)


def test_edits_after_garbage_are_still_journaled(
    client: RawClient, workspace: Path, state_dir: Path
) -> None:
    (workspace / "a.py").write_text("")
    uri = (workspace / "a.py").as_uri()
    for bad in BAD_HEADERS.values():
        client.send(bad)
    client.send(frame(request(30), length=10**15))
    body = request(31)
    client.send(frame(body, length=len(body) + 40))
    client.send(frame(body, length=len(body) - 5))
    doc = {"uri": uri, "languageId": "python", "version": 1, "text": ""}
    client.send(
        frame(
            message(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {"textDocument": doc},
                }
            )
        )
    )
    for i in range(50):
        change = {
            "textDocument": {"uri": uri, "version": i + 2},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": i, "character": 0},
                        "end": {"line": i, "character": 0},
                    },
                    "text": f"x{i}\n",
                }
            ],
        }
        client.send(
            frame(message({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": change}))
        )
    deadline = time.monotonic() + 15
    changes = 0
    while time.monotonic() < deadline:
        if (state_dir / DB_NAME).exists():
            # the file may be there before its tables are
            with (
                connect(state_dir / DB_NAME) as conn,
                contextlib.suppress(sqlite3.OperationalError),
            ):
                changes = conn.execute(
                    "SELECT COUNT(*) FROM journal WHERE kind='change'"
                ).fetchone()[0]
        if changes == 50:
            break
        time.sleep(0.1)
    assert changes == 50
