"""Garbage on the wire gets an error answer, and the server keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _msg(obj: dict[str, Any]) -> bytes:
    return _frame(json.dumps(obj).encode())


def _read(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    length = 0
    while True:
        line = proc.stdout.readline()
        assert line, "server closed its output"
        if line.startswith(b"Content-Length:"):
            length = int(line.split(b":")[1])
        if line == b"\r\n":
            return dict(json.loads(proc.stdout.read(length)))


def _response(proc: subprocess.Popen[bytes], msg_id: object) -> dict[str, Any]:
    while True:
        msg = _read(proc)
        if "method" not in msg and msg.get("id") == msg_id:
            return msg


def test_bad_headers_bad_json_and_bad_params_get_answers(workspace: Path, state_dir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "shim_lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SHIM_STATE_DIR": str(state_dir)},
    )
    assert proc.stdin is not None
    try:
        send = proc.stdin.write
        send(
            _msg(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": None,
                        "rootUri": workspace.as_uri(),
                        "capabilities": {},
                    },
                }
            )
        )
        proc.stdin.flush()
        assert "capabilities" in _response(proc, 1)["result"]
        send(_msg({"jsonrpc": "2.0", "method": "initialized", "params": {}}))

        send(b"Content-Length: banana\r\n\r\n{}\r\n")  # a header that is not a length
        send(_frame(b"{this is not json"))
        proc.stdin.flush()
        parse_error = _response(proc, None)
        assert parse_error["error"]["code"] == -32700

        send(_msg({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"x": 1}}))
        send(
            _msg(
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "workspace/executeCommand",
                    "params": {"command": "shim.forceCheckpoint", "arguments": [{"label": 42}]},
                }
            )
        )
        send(
            _msg(
                {
                    "jsonrpc": "2.0",
                    "id": 4,
                    "method": "workspace/executeCommand",
                    "params": {"command": "shim.sessionStatus"},
                }
            )
        )
        proc.stdin.flush()
        assert _response(proc, 2)["error"]["code"] == -32602
        bad_args = _response(proc, 3)["error"]
        assert bad_args["code"] == -32602 and "label" in bad_args["message"]
        status = _response(proc, 4)["result"]
        assert status["folders"] == [str(workspace.resolve())]
    finally:
        proc.kill()
        proc.wait()
