"""A real ``redis-server`` for the coordination tests, on a free loopback port, with nothing
saved to disk; stopped by its pid (woken first if a test paused it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    password: str | None = None
    paused: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, password: str | None = None, user: str | None = None) -> str:
        secret = password if password is not None else self.password
        auth = f"{user or ''}:{secret}@" if secret is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=5)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(folder: Path, password: str | None) -> RedisServer:
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed (./scripts/test installs it)")
    port = _free_port()
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(folder), "--daemonize", "no"]
    if password is not None:
        args += ["--requirepass", password]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, process, password)
    deadline = time.monotonic() + 10
    while True:
        try:
            if server.client().ping():
                return server
        except redis.RedisError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(server)
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.05)


def stop(server: RedisServer) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGCONT)
        os.kill(server.pid, signal.SIGTERM)
    try:
        server.process.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(5)


class RedisServers:
    """Starts redis-servers for one test (``redis_servers.start(password=...)``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[RedisServer] = []

    def start(self, password: str | None = None) -> RedisServer:
        folder = self.folder / f"redis{len(self.started)}"
        folder.mkdir(parents=True)
        server = _start(folder, password)
        self.started.append(server)
        return server
