"""Two SHIM servers on one workspace, through a real redis-server: each sees the other, a
dirty buffer in one is flagged in the other, and a member that dies leaves the group."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import Editors, journal_settled, stop_editor
from redis_rig import (
    TTL,
    RedisServer,
    coordinated,
    coordination,
    elsewhere,
    leads,
    wait_members,
    windows,
)

from shim_lsp.coordination.registry import Keys


async def test_two_windows_on_one_workspace_list_each_other(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    await wait_members(one, 2)
    await wait_members(two, 2)
    listed = await windows(one)
    assert listed["state"] == "connected"
    assert {w["pid"] for w in listed["windows"]} == {one.pid, two.pid}
    assert [w["this"] for w in listed["windows"] if w["pid"] == one.pid] == [True]
    await one.wait_for(lambda: coordination(one).get("members") == 2)
    await one.wait_for(lambda: leads(one) != leads(two))  # exactly one of them leads
    (leader,) = [e for e in (one, two) if leads(e)]
    for editor in (one, two):
        status = coordination(editor)
        assert status["state"] == "connected" and status["leader"]["pid"] == leader.pid
    assert [w["pid"] for w in (await windows(two))["windows"] if w["leader"]] == [leader.pid]


async def test_a_file_dirty_in_one_window_is_flagged_in_the_other_until_saved(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    await wait_members(two, 2)
    uri = one.open("app.py")
    two.open("app.py")
    assert elsewhere(two, uri) == []
    one.type(uri, 1, 0, "b = 2\n")
    started = time.monotonic()
    await two.wait_for(lambda: bool(elsewhere(two, uri)), timeout=5)
    flagged_in = time.monotonic() - started
    (message,) = elsewhere(two, uri)
    assert message.startswith("Unsaved changes in another window (")
    assert message.endswith(" s old)")
    assert elsewhere(one, uri) == [], "a window does not flag its own unsaved file"
    assert flagged_in < 2.0, f"the other window heard of it after {flagged_in:.2f} s"
    # ...and its status says so (a line on the status bar).
    await two.wait_for(lambda: "unsavedElsewhere" in coordination(two), timeout=2)
    assert coordination(two)["unsavedElsewhere"] == {"count": 1, "files": ["app.py"]}
    assert "unsavedElsewhere" not in coordination(one)
    # Both hold it unsaved; one saves over two's changes: one is warned, two is told.
    two.type(uri, 0, 0, "kept_in_two = 3\n")
    await one.wait_for(lambda: bool(elsewhere(one, uri)), timeout=5)
    (two_host,) = [w["host"] for w in (await windows(one))["windows"] if w["pid"] == two.pid]
    one.save(uri)
    await one.wait_for(lambda: any("you saved app.py" in m for m in one.shown_messages))
    (warned,) = [m for m in one.shown_messages if "you saved app.py" in m]
    assert f"another window holds unsaved changes to it ({two_host}, " in warned
    assert " s old)" in warned and ": that window has been told (" in warned
    await two.wait_for(
        lambda: any("app.py was saved in another window" in m for m in two.shown_messages)
    )
    (told,) = [m for m in two.shown_messages if "was saved in another window" in m]
    assert "no longer the one you started from" in told
    await two.wait_for(lambda: not elsewhere(two, uri), timeout=5)
    await two.wait_for(lambda: "unsavedElsewhere" not in coordination(two), timeout=2)
    # A restore in one over two's unsaved file is left undone: one's editor cannot ask.
    checkpoint = await one.command("shim.forceCheckpoint")
    await one.wait_for(lambda: bool(elsewhere(one, uri)), timeout=5)
    restore = {"checkpoint": checkpoint["id"], "uri": uri}
    refused = await one.command("shim.restoreCheckpoint", restore)
    assert refused["applied"] is False
    assert refused["detail"].startswith(f"unsaved in another window ({two_host}, ")
    assert refused["detail"].endswith("not changed: this editor cannot ask (window.showMessage)")
    # No last-writer-wins: two's unsaved text stays in its store beside the file one saved.
    await journal_settled(two)
    with sqlite3.connect(tmp_path / "s2" / "shim.db") as conn:
        kept = [r[0] for r in conn.execute("SELECT data FROM journal WHERE data IS NOT NULL")]
    assert any("kept_in_two = 3" in d for d in kept), kept
    assert "kept_in_two" not in (workspace / "app.py").read_text()


async def test_a_killed_leader_on_another_host_is_succeeded_in_a_lease_and_its_work_offered(
    redis_server: RedisServer,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    monkeypatch.setenv("SHIM_HOST_ID", "other-host")  # its own host id and state folder
    settings = coordinated(redis_server, publishUnsavedText=True)
    one = await editors.start(workspace, tmp_path / "s1", settings=settings)
    monkeypatch.delenv("SHIM_HOST_ID")
    await one.wait_for(lambda: leads(one), timeout=10)  # the window killed below leads
    two = await editors.start(
        workspace,
        tmp_path / "s2",
        settings=coordinated(redis_server),
        answers=["Restore all", "Restore recovered text"],
    )
    await wait_members(two, 2)
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    await two.wait_for(lambda: bool(elsewhere(two, uri)), timeout=5)
    assert [w["host"] for w in (await windows(two))["windows"] if w["pid"] == one.pid] == [
        "other-host"
    ]
    one.kill()
    killed = time.monotonic()
    await two.wait_for(lambda: leads(two), timeout=TTL * 3)
    took = time.monotonic() - killed
    assert took <= TTL + 1.0, f"the survivor leads after {took:.2f} s (lease {TTL} s)"
    await wait_members(two, 1, timeout=TTL * 3)
    gone_in = time.monotonic() - killed
    # One TTL for the record to expire, plus the survivor's next look (a third of it).
    assert gone_in <= TTL * 4 / 3 + 0.5, f"gone after {gone_in:.2f} s"
    await two.wait_for(lambda: not elsewhere(two, uri), timeout=2)
    # Its published unsaved text is offered by the survivor's recovery, as a local crash is.
    await two.wait_for(lambda: len(two.prompts) == 2, timeout=TTL * 3)
    offer, base = two.prompts
    assert offer.startswith("SHIM found unsaved work in 1 file(s) from 1 editor session(s)")
    assert offer.endswith(": app.py")
    # Its base on the other host is not known here: the user chooses against this disk.
    assert base.startswith("app.py changed on disk after the crashed session last saw it.")
    await two.wait_for(lambda: two.docs.get(uri) is not None and "b = 2" in two.docs[uri].source)
    assert two.docs[uri].source == "a = 1\nb = 2\n"
    assert (workspace / "app.py").read_text() == "a = 1\n", "restored as unsaved, not written"


def shim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


async def test_shim_windows_lists_the_members_from_the_shell(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    await two.wait_for(lambda: bool(elsewhere(two, uri)), timeout=5)
    url = ["--redis-url", redis_server.url(), "--workspace-id", "ws-test"]
    out = await asyncio.to_thread(shim, "windows", *url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "2 windows of workspace ws-test"
    (mine,) = [line for line in lines if f" pid {one.pid} " in line]
    assert "1 open, unsaved: app.py (" in mine
    (leading,) = [line for line in lines if ", leader at epoch " in line]
    listed = json.loads((await asyncio.to_thread(shim, "windows", *url, "--json")).stdout)
    assert {w["pid"] for w in listed["windows"]} == {one.pid, two.pid}
    (leader,) = [w for w in listed["windows"] if w["leader"]]
    assert f" pid {leader['pid']} " in leading and listed["epoch"] >= 1
    # `shim status` shows the group too, its Redis from $SHIM_REDIS_URL (no password in ps).
    status = ["status", "--workspace", str(workspace), "--state-dir", str(tmp_path / "s1")]
    env = {"SHIM_REDIS_URL": redis_server.url()}
    said, as_json, quiet = await asyncio.gather(
        asyncio.to_thread(shim, *status, "--workspace-id", "ws-test", env=env),
        asyncio.to_thread(shim, *status, "--workspace-id", "ws-test", "--json", env=env),
        asyncio.to_thread(shim, *status, "--json", env={"SHIM_REDIS_URL": ""}),
    )
    assert said.returncode == 0, said.stderr
    (group,) = [line for line in said.stdout.splitlines() if line.startswith("group:")]
    assert group.startswith(f"group:        2 windows of ws-test, leader {leader['host']} pid")
    assert f"; unsaved: app.py ({mine.split()[0]} pid {one.pid}, " in group
    shown = json.loads(as_json.stdout)["group"]
    assert shown["members"] == 2 and shown["leader"]["pid"] == leader["pid"]
    assert [(u["path"], u["pid"]) for u in shown["unsaved"]] == [("app.py", one.pid)]
    assert "group" not in json.loads(quiet.stdout), "no Redis configured: nothing said"
    away = await asyncio.to_thread(
        shim, "windows", "--redis-url", "redis://:pa55-away@127.0.0.1:1/0", "--workspace-id", "w"
    )
    assert away.returncode == 2
    assert away.stderr.startswith("shim: Redis at redis://:***@127.0.0.1:1/0 cannot be reached")
    assert "pa55-away" not in away.stderr + away.stdout


async def test_a_window_that_shuts_down_leaves_the_group_and_hands_over_the_lead_at_once(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    settings = coordinated(redis_server, coordinationTtl=60)
    one = await editors.start(workspace, tmp_path / "s1", settings=settings)
    await one.wait_for(lambda: leads(one))
    two = await editors.start(workspace, tmp_path / "s2", settings=settings)
    await wait_members(two, 2)
    await two.wait_for(lambda: coordination(two).get("leader", {}).get("pid") == one.pid)
    await stop_editor(one)
    await wait_members(two, 1, timeout=3)  # not the TTL's 60 s: it said goodbye
    await two.wait_for(lambda: leads(two), timeout=3)  # nor the 60 s lease: it released it


async def test_nudges_say_what_changed_by_path_and_never_carry_text(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    (workspace / ".env").write_text("TOKEN=1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    await wait_members(one, 1)
    listener = redis_server.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    listener.subscribe(Keys("shim", "ws-test").channel)
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 'typed text'\n")
    secret = one.open(".env")
    one.type(secret, 0, 0, "SECRET=2\n")
    await one.command("shim.forceCheckpoint")
    one.save(uri)
    heard: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not any(n["kind"] == "checkpoint" for n in heard):
        assert time.monotonic() < deadline, heard
        message = await asyncio.to_thread(listener.get_message, timeout=0.2)
        if message is not None:
            assert b"typed text" not in message["data"] and b"SECRET" not in message["data"]
            heard.append(json.loads(message["data"]))
    kinds = [(n["kind"], n.get("path")) for n in heard]
    assert ("dirtied", "app.py") in kinds and ("checkpoint", None) in kinds, kinds
    assert not [k for k in kinds if k[1] == ".env"], "a secret file is never named"
    listed = await windows(one)
    assert listed["windows"][0]["open"] == ["app.py"]
    listener.close()


async def test_an_acl_user_limited_to_shims_keys_coordinates(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    rules = "on >acl-pw ~shim:* &shim:* +@read +@write +@pubsub +@transaction +@scripting +ping"
    redis_server.client().execute_command("ACL", "SETUSER", "shim", *rules.split())  # type: ignore[no-untyped-call]
    url = f"redis://shim:acl-pw@127.0.0.1:{redis_server.port}/0"
    one = await editors.start(
        workspace, tmp_path / "s1", settings=coordinated(redis_server, redisUrl=url)
    )
    await wait_members(one, 1)
    assert coordination(one)["state"] == "connected"


async def test_unsaved_text_is_published_only_when_asked_and_never_for_a_secret(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    (workspace / ".env").write_text("TOKEN=1\n")
    keys = Keys("shim", "ws-test")
    r = redis_server.client()
    for publish in (False, True):
        settings = coordinated(redis_server, publishUnsavedText=publish)
        one = await editors.start(workspace, tmp_path / f"s{publish}", settings=settings)
        uri = one.open("app.py")
        one.type(uri, 1, 0, "typed = 'unsaved'\n")
        one.type(one.open(".env"), 0, 0, "SECRET=2\n")
        session = (await one.command("shim.sessionStatus"))["session"]

        def record(session: str = session) -> dict[str, Any]:
            raw = r.get(keys.member(session))
            return json.loads(raw) if isinstance(raw, bytes) else {}

        await one.wait_for(lambda: bool(record().get("dirty")), timeout=5)
        (dirty,) = record()["dirty"]
        assert dirty["path"] == "app.py"
        assert dirty.get("text") == (one.docs[uri].source if publish else None)
        assert "SECRET" not in json.dumps(record()) and ".env" not in record()["open"]
        await stop_editor(one)
