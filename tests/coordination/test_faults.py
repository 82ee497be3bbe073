"""What Redis and the group's other members may do wrong: go away, refuse the password,
send what is not a message of this workspace. A member keeps every local feature working,
says so in its status, and never lets it reach the editor as a wait or a crash."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from harness import Editor, Editors, as_json
from lsprotocol import types as t
from redis_rig import (
    RedisServer,
    RedisServers,
    coordinated,
    coordination,
    elsewhere,
    leads,
    wait_members,
    windows,
)

from shim_lsp.coordination.registry import Keys

QUICK_S = 1.0
"""An answer that did not wait on Redis comes well under redis-py's socket timeout (2 s);
1 s leaves room for a busy machine."""


async def answered_quickly(editor: Editor, uri: str) -> float:
    """A didChange, a codeAction and an executeCommand: the slowest answer's time."""
    started = time.monotonic()
    editor.type(uri, 0, 0, "#")
    await editor.client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=t.Range(
                start=t.Position(line=0, character=0), end=t.Position(line=0, character=1)
            ),
            context=t.CodeActionContext(diagnostics=[]),
        )
    )
    await editor.command("shim.sessionStatus")
    await editor.command("shim.windows")
    return time.monotonic() - started


async def test_redis_paused_past_the_timeouts_blocks_no_request_and_the_member_rejoins(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    await wait_members(one, 1)
    await one.wait_for(lambda: leads(one), timeout=10)
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    uri = one.open("app.py")
    two.type(two.open("app.py"), 0, 0, "kept_in_two = 1\n")
    await one.wait_for(lambda: bool(elsewhere(one, uri)), timeout=10)
    await answered_quickly(one, uri)  # the first code action loads the codemods
    assert await answered_quickly(one, uri) < QUICK_S
    redis_server.pause()
    # A save over two's unsaved file while Redis does not answer: the saver is told what is
    # known (two cannot have heard), and two hears of it once Redis is back.
    one.save(uri)
    await one.wait_for(lambda: any("you saved app.py" in m for m in one.shown_messages))
    (warned,) = [m for m in one.shown_messages if "you saved app.py" in m]
    assert "Redis has not answered, so that window will be told when Redis is back" in warned
    assert "has been told" not in warned
    slowest = 0.0
    deadline = time.monotonic() + 15
    while coordination(one).get("state") != "degraded":
        assert time.monotonic() < deadline, f"never degraded: {coordination(one)}"
        slowest = max(slowest, await answered_quickly(one, uri))
    assert "cannot be reached" in coordination(one)["problem"]
    status = coordination(one)
    assert "leader" not in status and status["leadLost"].startswith("no longer the leader: ")
    assert (await windows(one))["state"] == "degraded"
    slowest = max(slowest, await answered_quickly(one, uri))
    assert slowest < QUICK_S, f"a request waited {slowest:.2f} s while Redis was paused"
    redis_server.resume()
    await one.wait_for(lambda: coordination(one).get("state") == "connected", timeout=20)
    await one.wait_for(lambda: leads(one) != leads(two), timeout=10)  # one of them leads
    assert "leadLost" not in coordination(one) or not leads(one)
    await wait_members(one, 2)
    listed = await windows(one)
    assert [w["dirty"][0]["path"] for w in listed["windows"]] == ["app.py", "app.py"]
    await two.wait_for(
        lambda: any("app.py was saved in another window" in m for m in two.shown_messages),
        timeout=10,
    )
    # The save is state in one's record, not only a nudge a window may miss.
    session = (await one.command("shim.sessionStatus"))["session"]
    record = json.loads(redis_server.client().get(Keys("shim", "ws-test").member(session)) or b"{}")
    assert [s["path"] for s in record["saved"]] == ["app.py"]


async def test_a_wrong_password_refuses_to_coordinate_and_is_never_written_anywhere(
    redis_servers: RedisServers,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIM_LOG_LEVEL", "DEBUG")  # every log line the server can write
    server = redis_servers.start(password="right-Pa55word")
    wrong = "wr0ng-Pa55word-7f3a"
    settings = coordinated(server, redisUrl=server.url(password=wrong))
    one = await editors.start(workspace, tmp_path / "s1", settings=settings)
    await one.wait_for(lambda: "refused" in str(coordination(one).get("problem")), timeout=10)
    assert coordination(one)["state"] == "degraded"
    await one.wait_for(lambda: any("Redis" in m for m in one.shown_messages), timeout=10)
    (said,) = [m for m in one.shown_messages if "Redis" in m]
    assert said.startswith("SHIM: Redis at redis://:***@127.0.0.1:")
    assert "refused SHIM" in said and "does not coordinate until redisUrl is changed" in said
    listed = await windows(one)
    await editors.close()
    captured = capfd.readouterr()
    assert "refused SHIM" in captured.err, "the refusal is logged"
    for where, text in {
        "stderr": captured.err,
        "stdout": captured.out,
        "status": json.dumps([as_json(s) for s in one.statuses]),
        "messages": json.dumps(one.shown_messages),
        "shim.windows": json.dumps(listed),
    }.items():
        assert wrong not in text, f"the password is in {where}"


async def test_forged_oversized_and_foreign_messages_are_dropped_and_counted(
    redis_server: RedisServer,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    await wait_members(one, 1)
    keys = Keys("shim", "ws-test")
    r = redis_server.client()
    nudge = {"v": 1, "kind": "dirtied", "workspace": "ws-test", "session": "a" * 32, "at": 1.0}
    r.publish(keys.channel, b"\xff not json")
    r.publish(keys.channel, json.dumps({**nudge, "kind": "explode"}))
    r.publish(keys.channel, json.dumps({**nudge, "path": "../../etc/passwd"}))
    r.publish(keys.channel, json.dumps({**nudge, "workspace": "someone-else"}))
    r.publish(keys.channel, json.dumps({**nudge, "pad": "x" * 100_000}))
    # A forged registry record: a path outside the workspace, under a session id of its own.
    record = {
        "v": 1,
        "session": "forged",
        "workspace": "ws-test",
        "host": "evil",
        "pid": 1,
        "editor": "x",
        "startedAt": 0.0,
        "heartbeatAt": time.time(),
        "open": [],
        "dirty": [{"path": "/etc/passwd", "since": 0.0}],
    }
    r.set(keys.member("forged"), json.dumps(record), ex=60)
    r.zadd(keys.members, {"forged": time.time()})

    async def counted() -> dict[str, int]:
        return dict((await windows(one))["dropped"])

    deadline = time.monotonic() + 10
    while (await counted()).get("malformed", 0) < 4 or len(await counted()) < 3:
        assert time.monotonic() < deadline, await counted()
    dropped = await counted()
    assert dropped["oversized"] == 1 and dropped["foreign workspace"] >= 1, dropped
    assert dropped["malformed"] >= 4, dropped  # three nudges, and the record at each look
    listed = await windows(one)
    assert listed["state"] == "connected"
    assert [w["host"] for w in listed["windows"]] != ["evil"] and len(listed["windows"]) == 1
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    assert (await one.command("shim.sessionStatus"))["dirtyDocuments"] == 1
    assert not [d for d in one.client.diagnostics.get("file:///etc/passwd", [])]
    # Redis full (maxmemory, no eviction): said once and plainly, in the status and the log;
    # the job worker rests instead of asking ten times a second; the window serves on.
    await answered_quickly(one, uri)  # the first code action loads the codemods
    capfd.readouterr()
    r.config_set("maxmemory", "1")
    try:
        full = "is full (maxmemory reached): it refuses SHIM's writes"
        await one.wait_for(lambda: full in str(coordination(one).get("problem")), timeout=10)
        assert coordination(one)["state"] == "degraded"
        await asyncio.sleep(2)  # BullMQ alone would ask again, and warn, 20 times
        assert await answered_quickly(one, uri) < QUICK_S
    finally:
        r.config_set("maxmemory", "0")
    said = [line for line in capfd.readouterr().err.splitlines() if "maxmemory" in line]
    assert len([line for line in said if "job worker" in line]) <= 1, said
    assert all(full in line for line in said), said
