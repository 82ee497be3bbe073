"""Hostile command arguments: a short, clear invalid-params answer naming what was sent, no
traceback in the log for the caller's mistake, and the server goes on serving."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _frame(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    length = 0
    while True:
        line = proc.stdout.readline()
        assert line, "server closed its output"
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        if line == b"\r\n":
            return dict(json.loads(proc.stdout.read(length)))


class Raw:
    """A client on the server's stdio that answers workspace/configuration itself."""

    def __init__(self, workspace: Path, state_dir: Path, log: Path) -> None:
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shim_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, "SHIM_STATE_DIR": str(state_dir), "SHIM_LOG_LEVEL": "WARNING"},
        )
        self.next_id = 1
        init = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": workspace.as_uri(),
                "capabilities": {"workspace": {"applyEdit": True}},
            },
        )
        assert "capabilities" in init["result"]
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_frame(obj))
        self.proc.stdin.flush()

    def request(self, method: str, params: Any) -> dict[str, Any]:
        msg_id, self.next_id = self.next_id, self.next_id + 1
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            msg = _read(self.proc)
            if "method" in msg and "id" in msg:  # the server asks: refuse edits, allow the rest
                result = (
                    {"applied": False, "failureReason": "refused by the test"}
                    if msg["method"] == "workspace/applyEdit"
                    else None
                )
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("id") == msg_id and "method" not in msg:
                return msg

    def command(self, name: str, arguments: Any) -> dict[str, Any]:
        return self.request("workspace/executeCommand", {"command": name, "arguments": arguments})

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture
def raw(workspace: Path, state_dir: Path, tmp_path: Path) -> Any:
    client = Raw(workspace, state_dir, tmp_path / "server.log")
    try:
        yield client
    finally:
        client.close()


def _invalid(answer: dict[str, Any]) -> str:
    assert answer.get("error", {}).get("code") == -32602, answer
    message = str(answer["error"]["message"])
    assert "Traceback" not in json.dumps(answer)
    return message


def test_huge_arguments_get_a_short_answer_and_no_huge_log(raw: Raw, tmp_path: Path) -> None:
    big = "x" * 2_000_000
    for name, args in [
        ("shim.forceCheckpoint", {"label": big}),
        ("shim.undoCodemod", {"batch": big}),
        ("shim.sessionStatus", {"bogusKey": big}),
    ]:
        message = _invalid(raw.command(name, [args]))
        assert message.startswith(f"{name}: ") and len(message) <= 300, message[:400]
    assert raw.command("shim.sessionStatus", [])["result"]["session"]
    assert (tmp_path / "server.log").stat().st_size < 20_000


def test_the_callers_mistakes_are_not_logged_as_bugs(raw: Raw, tmp_path: Path) -> None:
    _invalid(raw.command("shim.listCheckpoints", [{"limit": 0}]))
    _invalid(raw.command("shim.compareWithCheckpoint", [{"checkpoint": 9, "uri": "file:///x"}]))
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log, log


@pytest.mark.parametrize(
    ("name", "args", "said"),
    [
        ("shim.undoCodemod", {"batch": "\ud800"}, "$.batch"),
        ("shim.runCodemod", {"name": "to_fstring", "scope": "paths", "paths": ["\ud800"]}, "paths"),
        (
            "shim.runCodemod",
            {"name": "to_fstring", "scope": "paths", "paths": ["a\u0000b"]},
            "paths",
        ),
        (
            "shim.runCodemod",
            {"name": "rename_symbol", "args": {"old_name": "\ud800", "new_name": "y"}},
            "args.old_name",
        ),
        ("shim.runCodemod", {"name": "to_fstring", "scope": "bogus"}, "scope must be one of"),
        (
            "shim.runCodemod",
            {"name": "to_fstring", "scope": "paths", "paths": ["missing.py"]},
            "paths: no such file or folder",
        ),
        (
            "shim.runCodemod",
            {"name": "rename_symbol", "args": {"old_name": "", "new_name": "y"}},
            "old_name must be qualified",
        ),
        (
            "shim.runCodemod",
            {"name": "rename_symbol", "args": {"old_name": "a.b", "new_name": "1 bad"}},
            "new_name must be a plain identifier",
        ),
        ("shim.clearState", {}, "shim.clearState: say which"),
        ("shim.recoverSession", {"action": "explode"}, "shim.recoverSession: action must be"),
    ],
)
def test_each_bad_argument_is_named_as_the_editor_sent_it(
    raw: Raw, name: str, args: dict[str, Any], said: str
) -> None:
    message = _invalid(raw.command(name, [args]))
    assert said in message and message.startswith(f"{name}: "), message
    assert "--arg" not in message
    assert raw.command("shim.sessionStatus", [])["result"]["session"]


def test_arguments_that_are_not_an_array_are_refused_as_such(raw: Raw) -> None:
    for arguments in ({"label": "a"}, "label"):
        message = _invalid(raw.command("shim.forceCheckpoint", arguments))
        assert "arguments must be an array" in message
    assert raw.command("shim.sessionStatus", [])["result"]["session"]


def test_paths_may_be_uris_or_relative_to_the_workspace(raw: Raw, workspace: Path) -> None:
    (workspace / "m.py").write_text('print("%s" % 1)\n')
    for given in ["m.py", (workspace / "m.py").as_uri()]:
        answer = raw.command(
            "shim.runCodemod",
            [{"name": "to_fstring", "scope": "paths", "paths": [given], "preview": False}],
        )
        assert "error" not in answer, answer
        counts = [int(n) for n in re.findall(r"(\d+) \w+", answer["result"]["summary"])]
        assert sum(counts) == 1, answer  # the one file, found where the user meant
