"""A real ``redis-server`` for the coordination tests, on a free loopback port, with nothing
saved to disk; stopped by its pid (woken first if a test paused it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from harness import Editor, as_json

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass(frozen=True)
class Tls:
    """A throwaway CA and the server's certificate for 127.0.0.1 (``make_tls``), and a CA
    that vouches for nothing here."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def make_tls(folder: Path) -> Tls:
    """Two CAs and a server certificate for 127.0.0.1 signed by the first (``openssl``)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other.pem")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in (tls.ca, tls.other_ca):
        _openssl(
            "req", "-x509", *ec, "-keyout", ca.with_suffix(".key"), "-out", ca, "-days", "1",
            "-subj", f"/CN=SHIM test {ca.stem} CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
    csr = folder / "server.csr"
    _openssl("req", *ec, "-keyout", tls.key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = folder / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "x509", "-req", "-in", csr, "-CA", tls.ca, "-CAkey", tls.ca.with_suffix(".key"),
        "-CAcreateserial", "-out", tls.cert, "-days", "1", "-extfile", ext,
    )  # fmt: skip
    return tls


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    password: str | None = None
    paused: bool = field(default=False)
    tls_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, password: str | None = None, user: str | None = None) -> str:
        secret = password if password is not None else self.password
        auth = f"{user or ''}:{secret}@" if secret is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def tls_url(self) -> str:
        """``rediss://`` to its TLS port (the plain one stays, for the tests' own client)."""
        assert self.tls_port is not None, "started without tls"
        auth = f":{self.password}@" if self.password is not None else ""
        return f"rediss://{auth}127.0.0.1:{self.tls_port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=5)

    def async_client(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(port=self.port, password=self.password, socket_timeout=5)

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


def _start(
    folder: Path, password: str | None, port: int | None = None, tls: Tls | None = None
) -> RedisServer:
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed (./scripts/test installs it)")
    port = port or _free_port()
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(folder), "--daemonize", "no"]
    if password is not None:
        args += ["--requirepass", password]
    tls_port = None
    if tls is not None:
        tls_port = _free_port()
        args += ["--tls-port", str(tls_port), "--tls-cert-file", str(tls.cert)]
        args += ["--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca)]
        args += ["--tls-auth-clients", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, process, password, tls_port=tls_port)
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

    def start(self, password: str | None = None, tls: Tls | None = None) -> RedisServer:
        folder = self.folder / f"redis{len(self.started)}"
        folder.mkdir(parents=True)
        server = _start(folder, password, tls=tls)
        self.started.append(server)
        return server

    def restart_empty(self, server: RedisServer) -> RedisServer:
        """Stop ``server`` and start an empty one on its port (nothing is saved to disk)."""
        stop(server)
        folder = self.folder / f"redis{len(self.started)}"
        folder.mkdir(parents=True)
        again = _start(folder, server.password, server.port)
        self.started.append(again)
        return again


# --- a SHIM server as a member of a group -------------------------------------------------

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


def leads(editor: Editor) -> bool:
    """Whether the editor's SHIM said, in its last status, that it leads its group."""
    return bool(coordination(editor).get("leader", {}).get("this"))


def coordination(editor: Editor) -> dict[str, Any]:
    """The ``coordination`` part of the last ``shim/status`` the editor was sent."""
    if not editor.statuses:
        return {}
    found: dict[str, Any] = as_json(editor.statuses[-1]).get("coordination") or {}
    return found
