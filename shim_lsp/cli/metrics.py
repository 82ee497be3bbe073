"""``shim metrics``: every window's figures on this machine, as a summary or for Prometheus."""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
from pathlib import Path

from shim_lsp.cli import CliError
from shim_lsp.metrics import exporter, summary
from shim_lsp.metrics.recorder import metrics_dir, private_folder, refuse_odd
from shim_lsp.settings import Settings, resolve_state_dir

DEFAULT_PORT = 9464
"""The port OpenTelemetry's Prometheus exporter uses by convention; free on most machines."""


def _folder(args: argparse.Namespace) -> Path:
    state = Path(args.state_dir) if args.state_dir else resolve_state_dir(Settings())
    return metrics_dir(state)


def loopback(host: str) -> str:
    """The exporter listens on this machine only: the figures say what the user works on."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{host} is not a loopback address (127.0.0.1, ::1)")


def cmd_metrics(args: argparse.Namespace) -> int:
    folder = _folder(args)
    if args.action == "serve":
        return _serve(folder, args.host, args.port)
    try:
        refuse_odd(folder)
    except FileNotFoundError:
        pass  # no window yet: said below
    except OSError as exc:  # a link, a file, a FIFO: refused as `shim metrics serve` does
        raise CliError(f"cannot use {folder}: {exc}") from exc
    try:
        figures = summary.report(folder)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("\n".join(summary.lines(figures)))
    return 0


def url(host: str, port: int) -> str:
    """An IPv6 address is bracketed in a URL (http://[::1]:9464)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _serve(folder: Path, host: str, port: int) -> int:
    """Serve until stopped; the folder is made (private) if no window has made it yet, so the
    exporter may start before the first window."""
    try:
        private_folder(folder)
    except OSError as exc:
        raise CliError(f"cannot use {folder}: {exc}") from exc
    try:
        server, _thread = exporter.serve(folder, host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc}") from exc
    bound = server.server_address[1]
    print(f"SHIM metrics for Prometheus at {url(host, bound)}/metrics (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0
