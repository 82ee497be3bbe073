"""``shim windows``: the live members of a workspace's group, read from Redis, no editor
needed (the same registry the servers' ``shim.windows`` reads)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from shim_lsp.cli import CliError
from shim_lsp.settings import REDIS_URL_ENV


def _age(seconds: float) -> str:
    from shim_lsp.coordination.words import age

    return age(seconds).removesuffix(" old")


GROUP_LOOK_S = 5.0
"""The longest ``shim status`` waits on Redis for the group: past it, it says so."""


def group_status(args: argparse.Namespace, folder: Path) -> dict[str, Any] | None:
    """The group of ``folder``'s workspace for ``shim status``: its members, leader and the
    files they hold unsaved; None when no Redis is configured (nothing is said), the problem
    in words when Redis cannot be asked (the rest of the status stands)."""
    from shim_lsp.coordination.connection import CoordinationError, parse_target
    from shim_lsp.coordination.group import first_group
    from shim_lsp.coordination.workspace_id import default_workspace_id

    url = args.redis_url or os.environ.get(REDIS_URL_ENV)
    if not url:
        return None
    workspace = args.workspace_id or default_workspace_id(folder)
    try:
        target = parse_target(url, args.redis_ca_file)
        group = asyncio.run(
            asyncio.wait_for(first_group(target, args.key_prefix, [workspace]), GROUP_LOOK_S)
        )
    except CoordinationError as exc:
        return {"workspaceId": workspace, "state": "unreachable", "problem": str(exc)}
    except TimeoutError:
        problem = f"Redis at {target.shown} did not answer in {GROUP_LOOK_S:.0f} s"
        return {"workspaceId": workspace, "state": "unreachable", "problem": problem}
    leader = next((m for m in group.members if m.session == group.leader), None)
    return {
        "workspaceId": workspace,
        "state": "connected",
        "members": len(group.members),
        "leader": None
        if leader is None
        else {"host": leader.host, "pid": leader.pid, "epoch": group.epoch},
        "unsaved": [
            {"path": d.path, "host": m.host, "pid": m.pid, "since": d.since}
            for m in group.members
            for d in m.dirty
        ],
    }


def group_line(group: dict[str, Any], now: float) -> str:
    """``shim status``'s line for the group."""
    if group["state"] != "connected":
        return f"group:        {group['problem']}"
    count = group["members"]
    said = f"{count} window{'' if count == 1 else 's'} of {group['workspaceId']}"
    leader = group["leader"]
    if leader is not None:
        said += f", leader {leader['host']} pid {leader['pid']} (epoch {leader['epoch']})"
    unsaved = ", ".join(
        f"{u['path']} ({u['host']} pid {u['pid']}, {_age(now - u['since'])})"
        for u in group["unsaved"]
    )
    return f"group:        {said}; unsaved: {unsaved or 'none'}"


def cmd_windows(args: argparse.Namespace) -> int:
    from shim_lsp.coordination.connection import CoordinationError, parse_target
    from shim_lsp.coordination.group import first_group
    from shim_lsp.coordination.workspace_id import default_workspace_id

    url = args.redis_url or os.environ.get(REDIS_URL_ENV)
    if not url:
        raise CliError(f"no Redis to ask: give --redis-url or set {REDIS_URL_ENV}")
    start = Path(os.path.realpath(args.workspace))
    if args.workspace_id:
        candidates = [args.workspace_id]
    else:  # the nearest folder at or above --workspace whose group has members
        candidates = list(dict.fromkeys(default_workspace_id(f) for f in (start, *start.parents)))
    try:
        target = parse_target(url, args.redis_ca_file)
        group = asyncio.run(first_group(target, args.key_prefix, candidates))
    except CoordinationError as exc:
        raise CliError(str(exc)) from None
    workspace, members = group.workspace, group.members
    if not args.json and not args.workspace_id:
        if not members:
            print(
                f"shim: no windows for {start} or a folder above it (workspace id {workspace});"
                " give --workspace <folder> or --workspace-id <id>",
                file=sys.stderr,
            )
        elif workspace != candidates[0]:
            print(f"shim: workspace {workspace} (found above {start})", file=sys.stderr)
    now = time.time()
    if args.json:
        from shim_lsp.wire import strict

        windows = [strict.unstructure(m) for m in members]
        for window in windows:
            for doc in window["dirty"]:
                doc.pop("text", None)
        for window in windows:
            window["leader"] = window["session"] == group.leader
        answer = {"workspace": workspace, "leader": group.leader, "epoch": group.epoch}
        print(json.dumps({**answer, "windows": windows}, indent=2))
        return 0
    plural = "" if len(members) == 1 else "s"
    print(f"{len(members)} window{plural} of workspace {workspace}")
    for m in members:
        unsaved = ", ".join(f"{d.path} ({_age(now - d.since)})" for d in m.dirty) or "none"
        up = _age(now - m.started_at)
        lead = f", leader at epoch {group.epoch}" if m.session == group.leader else ""
        print(
            f"  {m.host} pid {m.pid} {m.editor} (session {m.session[:8]}, up {up}{lead}):"
            f" {len(m.open)} open, unsaved: {unsaved}"
        )
    return 0
