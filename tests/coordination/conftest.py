"""A real ``redis-server`` per test (``redis_servers.start(password=...)``, or the
``redis_server`` fixture), stopped by its pid when the test ends, passed or failed. Name it
before ``editors`` in a test's arguments: fixtures end in reverse order, so the servers
leave the group before Redis goes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_rig import RedisServer, RedisServers, stop


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[RedisServers]:
    servers = RedisServers(tmp_path)
    try:
        yield servers
    finally:
        for server in servers.started:
            stop(server)


@pytest.fixture
def redis_server(redis_servers: RedisServers) -> RedisServer:
    return redis_servers.start()
