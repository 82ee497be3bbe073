"""Debian's Prometheus and SHIM's exporter, started by the tests on free loopback ports and
stopped by pid, whatever the test's outcome."""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def need(program: str) -> None:
    if not Path(program).exists():
        pytest.skip(f"{Path(program).name} is not installed (./scripts/test installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def exporter(state_dir: Path) -> Iterator[int]:
    """``shim metrics serve --port 0`` as a user runs it; yields the port it bound."""
    shim = [sys.executable, "-m", "shim_lsp.cli"]
    proc = subprocess.Popen(
        [*shim, "metrics", "serve", "--port", "0", "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("SHIM metrics for Prometheus at http://127.0.0.1:"), line
        yield int(line.split("127.0.0.1:")[1].split("/")[0])
    finally:
        stop(proc)


@contextlib.contextmanager
def prometheus(
    folder: Path, target_port: int, rules: list[Path], alertmanager: str | None = None
) -> Iterator[str]:
    """A Prometheus scraping the exporter every second and evaluating ``rules`` (alerts sent
    to ``alertmanager``, host:port); yields its URL."""
    need(PROMETHEUS)
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(r) for r in rules],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]
                    if alertmanager
                    else []
                },
                "scrape_configs": [
                    {
                        "job_name": "shim",
                        "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                    }
                ],
            }
        )
    )
    args = [
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(PROMETHEUS, args, folder / "prometheus.log", port) as url:
        yield url


@contextlib.contextmanager
def alertmanager(folder: Path, config: str) -> Iterator[str]:
    """An Alertmanager with ``config`` (YAML text), no cluster port; yields host:port."""
    need(ALERTMANAGER)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alertmanager.yml").write_text(config)
    port = free_port()
    args = [
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running(ALERTMANAGER, args, folder / "alertmanager.log", port):
        yield f"127.0.0.1:{port}"


@contextlib.contextmanager
def running(program: str, args: list[str], log: Path, port: int) -> Iterator[str]:
    """The program started, ready (``/-/ready``), and stopped by pid at the end."""
    proc = subprocess.Popen([program, *args], stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r,
            ):
                if r.status == 200:
                    break
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{program} never became ready"
            time.sleep(0.2)
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver (http.server on a free loopback port): its URL and what it got."""
    got: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/shim-alerts", got
    finally:
        server.shutdown()
        server.server_close()


def query(url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query through the HTTP API; its result vector (a scalar as one sample)."""
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", (expr, body)
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}]
    return list(data["result"])


def value(url: str, expr: str) -> float | None:
    found = query(url, expr)
    return float(found[0]["value"][1]) if found else None


def wait_value(url: str, expr: str, timeout: float = 30.0) -> float:
    """The query's value once it has one (scrapes come every second)."""
    deadline = time.monotonic() + timeout
    while (found := value(url, expr)) is None:
        assert time.monotonic() < deadline, f"{expr} never returned data"
        time.sleep(0.25)
    return found
