"""The chat's look at its workspace's Redis group when Redis cannot answer, and a member's
path that would lead outside the workspace; the live group is in tests/mcp."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from shim_lsp.mcp.group import Group
from shim_lsp.settings import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_redis_away_or_misconfigured_is_said_without_its_password(
    tmp_path: Path,
) -> None:
    def contains(p: Path) -> bool:
        return p.is_relative_to(tmp_path)

    url = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    away = await Group(Settings(redis_url=url), tmp_path).look(contains)
    assert away.state == "unreachable" and away.held == []
    assert "cannot be reached" in (away.problem or "") and "hunter2" not in (away.problem or "")
    wrong = await Group(Settings(redis_url="http://h:6379"), tmp_path).look(contains)
    assert wrong.state == "unreachable" and "must start with redis://" in (wrong.problem or "")
    assert (await Group(Settings(), tmp_path).look(contains)).to_json() == {"state": "off"}


def test_a_members_path_that_leads_outside_the_workspace_is_left_out(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("")
    (ws / "out.py").symlink_to(tmp_path / "secret.py")
    group = Group(Settings(), ws)

    def contains(p: Path) -> bool:
        return p.is_relative_to(ws)

    assert group._inside("a.py", contains) == Path(os.path.realpath(ws / "a.py"))
    assert group._inside("out.py", contains) is None
