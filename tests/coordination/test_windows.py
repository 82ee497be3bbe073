"""Two SHIM servers on one workspace, through a real redis-server: each sees the other, a
dirty buffer in one is flagged in the other, and a member that dies leaves the group."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from harness import Editor, Editors, as_json
from redis_rig import RedisServer

TTL = 1.5


def coordinated(redis: RedisServer, **more: Any) -> dict[str, Any]:
    return {"redisUrl": redis.url(), "coordinationTtl": TTL, "workspaceId": "ws-test", **more}


async def windows(editor: Editor) -> dict[str, Any]:
    answer: dict[str, Any] = await editor.command("shim.windows")
    return answer


async def members(editor: Editor) -> int:
    return len((await windows(editor))["windows"])


def elsewhere(editor: Editor, uri: str) -> list[str]:
    found = editor.client.diagnostics.get(uri, [])
    return [d.message for d in found if d.source == "SHIM windows"]


async def wait_members(editor: Editor, count: int, timeout: float = 15.0) -> None:
    seen: list[int] = []

    async def check() -> bool:
        seen.append(await members(editor))
        return seen[-1] == count

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"expected {count} members, saw {seen[-5:]}")
        await asyncio.sleep(0.05)


async def test_two_windows_on_one_workspace_list_each_other(
    editors: Editors, workspace: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    await wait_members(one, 2)
    await wait_members(two, 2)
    listed = await windows(one)
    assert listed["state"] == "connected"
    assert {w["pid"] for w in listed["windows"]} == {one.pid, two.pid}
    assert [w["this"] for w in listed["windows"] if w["pid"] == one.pid] == [True]
    await one.wait_for(lambda: bool(one.statuses) and _coordination(one) == (2, "connected"))


def _coordination(editor: Editor) -> tuple[int, str]:
    coordination = as_json(editor.statuses[-1])["coordination"]
    return coordination["members"], coordination["state"]


async def test_a_file_dirty_in_one_window_is_flagged_in_the_other_until_saved(
    editors: Editors, workspace: Path, tmp_path: Path, redis_server: RedisServer
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
    one.save(uri)
    await two.wait_for(lambda: not elsewhere(two, uri), timeout=5)


async def test_a_killed_window_leaves_the_group_within_one_ttl_and_its_flags_go(
    editors: Editors, workspace: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    await wait_members(two, 2)
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    await two.wait_for(lambda: bool(elsewhere(two, uri)), timeout=5)
    one.kill()
    killed = time.monotonic()
    await wait_members(two, 1, timeout=TTL * 3)
    gone_in = time.monotonic() - killed
    # One TTL for the record to expire, plus the survivor's next look (a third of it).
    assert gone_in <= TTL * 4 / 3 + 0.5, f"gone after {gone_in:.2f} s"
    await two.wait_for(lambda: not elsewhere(two, uri), timeout=2)
