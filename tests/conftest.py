from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from harness import Editors
from redis_rig import RedisServer, RedisServers, stop

from shim_lsp.workspace import fsclock


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
async def editors() -> AsyncIterator[Editors]:
    """Starts test editors (``await editors.start(workspace, state_dir, ...)``) and ends every
    server they leave running when the test ends, passed or failed."""
    started = Editors()
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust files written a moment ago to the stat cache. The racy-timestamp guard would
    read them again for a clock tick (2 s where the filesystem is not known to be local);
    tests about what the stat cache saves, not about that guard (which has tests of its
    own), would otherwise have to wait it out."""
    monkeypatch.setattr(
        fsclock.TimestampGuard,
        "trusted",
        lambda _guard, st, _dev, started: max(st.mtime_ns, st.ctime_ns) < started,
    )


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[RedisServers]:
    """A real ``redis-server`` per test (``redis_servers.start(password=...)``), stopped by
    its pid when the test ends, passed or failed. Name it before ``editors`` in a test's
    arguments: fixtures end in reverse order, so the servers leave the group before Redis
    goes."""
    servers = RedisServers(tmp_path)
    try:
        yield servers
    finally:
        for server in servers.started:
            stop(server)


@pytest.fixture
def redis_server(redis_servers: RedisServers) -> RedisServer:
    return redis_servers.start()
