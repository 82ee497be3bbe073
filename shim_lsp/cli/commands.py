"""The ``shim`` subcommands that work on SHIM's store when no editor is running."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from shim_lsp.cli import RECOVERED_DIR, CliError
from shim_lsp.journal.replay import history, rebuild
from shim_lsp.recovery.find import (
    RecoverableFile,
    SessionRow,
    crashed_work,
    is_alive,
    resolve_file,
    sessions,
    state_of,
)
from shim_lsp.settings import Settings, resolve_state_dir
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import retention
from shim_lsp.store.db import DB_NAME, connect, open_store, write_tx
from shim_lsp.workspace.encoding import Unencodable, to_file_bytes
from shim_lsp.workspace.files import read_bytes, write_atomic
from shim_lsp.workspace.paths import Workspace, path_to_uri, uri_to_path


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _emit(args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join(lines))


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else resolve_state_dir(Settings())


def _reader(args: argparse.Namespace) -> sqlite3.Connection:
    path = _state_dir(args) / DB_NAME
    if not path.exists():
        raise CliError(f"no SHIM store at {path} yet (has the server run with this state folder?)")
    return connect(path)


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.of([Path(args.workspace)])


def _sessions_of(conn: sqlite3.Connection, args: argparse.Namespace) -> list[SessionRow]:
    """Sessions whose folders include the workspace given on the command line."""
    if getattr(args, "all", False):
        return sessions(conn)
    folder = _workspace(args).folders[0]
    return [r for r in sessions(conn) if str(folder) in r.folders.split("\n")]


def cmd_status(args: argparse.Namespace) -> int:
    conn = _reader(args)
    rows = _sessions_of(conn, args)
    ws = _workspace(args)
    work = _work(conn, rows, ws)
    keys = {r.workspace for r in rows}
    checkpoints = [c for k in keys for c in cps.list_for(conn, k)]
    latest = max(checkpoints, key=lambda c: c.created_at, default=None)
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[state_of(r)] = by_state.get(state_of(r), 0) + 1
    data: dict[str, Any] = {
        "store": str(_state_dir(args) / DB_NAME),
        "storeBytes": retention.store_bytes(conn),
        "workspace": str(ws.folders[0]),
        "sessions": by_state,
        "checkpoints": len(checkpoints),
        "lastCheckpointAt": latest.created_at if latest else None,
        "unrecoveredFiles": sum(len(files) for _row, files in work),
    }
    _emit(
        args,
        data,
        [
            f"store:        {data['store']} ({data['storeBytes'] / 1e6:.1f} MB)",
            f"workspace:    {data['workspace']}",
            "sessions:     "
            + (", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"),
            f"checkpoints:  {data['checkpoints']} (last {_when(data['lastCheckpointAt'])})",
            f"unrecovered:  {data['unrecoveredFiles']} file(s)"
            + ("  -> run `shim recover`" if data["unrecoveredFiles"] else ""),
        ],
    )
    return 0


def _work(
    conn: sqlite3.Connection, rows: list[SessionRow], ws: Workspace
) -> list[tuple[SessionRow, list[RecoverableFile]]]:
    keys = {r.workspace for r in rows}
    return [item for key in keys for item in crashed_work(conn, key, ws.contains)]


def cmd_sessions(args: argparse.Namespace) -> int:
    conn = _reader(args)
    rows = _sessions_of(conn, args)
    data = [
        {
            "id": r.id,
            "state": state_of(r),
            "host": r.host,
            "pid": r.pid,
            "startedAt": r.started_at,
            "endedAt": r.ended_at,
            "folders": r.folders.split("\n"),
            "resolution": r.resolution,
        }
        for r in rows
    ]
    lines = [f"{'session':<12} {'state':<12} {'started':<19}  {'ended':<19}  folders"]
    lines += [
        f"{r.id[:12]:<12} {state_of(r):<12} {_when(r.started_at):<19}  {_when(r.ended_at):<19}  "
        + r.folders.replace("\n", ", ")
        for r in rows
    ]
    _emit(args, data, lines)
    return 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    conn = _reader(args)
    keys = {r.workspace for r in _sessions_of(conn, args)}
    if args.file:
        uri = path_to_uri(Path(args.file).resolve())
        versions = [v for k in keys for v in cps.file_history(conn, k, uri)]
        data: list[dict[str, Any]] = [v.to_json() for v in versions]
        lines = [f"{'id':>6}  {'created':<19}  {'kind':<7} {'size':>9}  label"] + [
            f"{d['id']:>6}  {_when(d['createdAt']):<19}  {d['kind']:<7} "
            f"{'deleted' if d['deleted'] else d['size']:>9}  {d['label'] or ''}"
            for d in data
        ]
    else:
        rows = sorted((c for k in keys for c in cps.list_for(conn, k)), key=lambda c: -c.created_at)
        data = [c.to_json() for c in rows]
        lines = [f"{'id':>6}  {'created':<19}  {'reason':<8} {'files':>6} {'MB':>8}  label"] + [
            f"{c.id:>6}  {_when(c.created_at):<19}  {c.reason:<8} {c.files:>6} "
            f"{c.bytes / 1e6:>8.2f}  {c.label or ''}"
            for c in rows
        ]
    _emit(args, data, lines)
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    conn = _reader(args)
    ws = _workspace(args)
    rows = _sessions_of(conn, args)
    if args.session:
        rows = [r for r in rows if r.id.startswith(args.session)]
        if not rows:
            raise CliError(f"no session starting with {args.session!r} for this workspace")
    work = _work(conn, rows, ws)
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    if not work:
        _emit(args, {"files": []}, ["no unsaved work from crashed sessions"])
        return 0
    out_root = Path(args.out) if args.out else ws.folders[0] / RECOVERED_DIR
    for row, files in work:
        for f in files:
            item: dict[str, Any] = {
                "session": row.id,
                "uri": f.uri,
                "editedAt": f.edited_at,
                "diskChanged": f.disk_changed,
            }
            path = uri_to_path(f.uri)
            if args.print:
                item["text"] = f.text
                lines += [f"=== {f.uri} (session {row.id[:12]}, {_when(f.edited_at)})", f.text]
            elif path is None:
                item["written"] = None
                lines.append(f"skipped {f.uri}: not a file on disk")
            else:
                target = path if args.in_place else _target(out_root, row, ws, path)
                item["written"] = str(target)
                try:
                    data = to_file_bytes(f.text, read_bytes(path), path)
                    why = _refusal(args, f, target, path)
                except Unencodable as exc:
                    data, why = b"", f"{exc}; see it with --print"
                if why:
                    item["written"], item["refused"] = None, why
                    lines.append(f"refused {target}: {why}")
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(target, data)
                    lines.append(f"wrote {target}")
                    if args.in_place:
                        with write_tx(conn):
                            resolve_file(conn, row.id, f.uri, "restored-by-cli")
            results.append(item)
    _emit(args, {"files": results}, lines)
    return 1 if any(r.get("refused") for r in results) else 0


def _target(root: Path, row: SessionRow, ws: Workspace, path: Path) -> Path:
    folder = ws.folder_of(path) or path.parent
    return root / row.id[:12] / path.relative_to(folder)


def _refusal(args: argparse.Namespace, f: RecoverableFile, target: Path, path: Path) -> str | None:
    if args.force:
        return None
    if args.in_place and f.disk_changed:
        return "the file changed on disk since the crashed session saw it (use --force)"
    if not args.in_place and target.exists():
        return "already exists (use --force to overwrite)"
    return None


def cmd_history(args: argparse.Namespace) -> int:
    """Every journaled instant of one file's buffer, across sessions; or its text at one."""
    conn = _reader(args)
    uri = path_to_uri(Path(args.file).resolve())
    rows = _sessions_of(conn, args)
    if args.at:
        session_prefix, _, lseq = args.at.partition(":")
        match = [r for r in rows if r.id.startswith(session_prefix)]
        if len(match) != 1 or not lseq.isdigit():
            raise CliError(
                f"--at takes SESSION:INSTANT as listed by `shim history FILE`, not {args.at!r}"
            )
        state = rebuild(conn, match[0].id, uri, int(lseq))
        if state is None:
            raise CliError(f"no buffer of {args.file} at {args.at}")
        if args.json:
            print(
                json.dumps(
                    {
                        "uri": uri,
                        "session": match[0].id,
                        "instant": state.lseq,
                        "text": state.text,
                        "version": state.version,
                        "at": state.ts,
                    }
                )
            )
        else:
            sys.stdout.write(state.text)
        return 0
    found = [(r.id, lseq, kind, ts) for r in rows for lseq, kind, ts in history(conn, r.id, uri)]
    instants = [{"session": s, "instant": n, "kind": k, "at": ts} for s, n, k, ts in found]
    lines = [f"{'session:instant':<20} {'when':<19}  event"] + [
        f"{s[:12] + ':' + str(n):<20} {_when(ts):<19}  {k}" for s, n, k, ts in found
    ]
    _emit(args, instants, lines)
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from shim_lsp.session.engine import SessionEngine

    settings = Settings(state_dir=str(_state_dir(args)))
    engine = SessionEngine(settings, [Path(args.workspace)], text_source=lambda _uri: None)
    engine.start()
    bar = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="file", desc="checkpoint", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        result = engine.checkpoint(args.label, "cli", progress=progress).result()
    finally:
        if bar is not None:
            bar.close()
        engine.close("clean")
    _emit(
        args,
        result.to_json(),
        [
            f"checkpoint {result.id}: {result.files} files, {result.bytes / 1e6:.2f} MB, "
            f"{result.read_files} read, {result.new_blobs} new blobs, {result.seconds:.2f} s"
        ],
    )
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    if not args.all and not args.session:
        raise CliError("say what to clear: --session ID or --all")
    if not args.yes and sys.stdin.isatty():
        what = "ALL of SHIM's sessions and checkpoints" if args.all else f"session {args.session}"
        if input(f"Forget {what}? [y/N] ").strip().lower() != "y":
            return 1
    conn, _report = open_store(_state_dir(args))
    ids = None
    if args.session:
        ids = [r.id for r in sessions(conn) if r.id.startswith(args.session)]
        if not ids:
            raise CliError(f"no session starting with {args.session!r}")
    live = [r.id for r in sessions(conn) if is_alive(r)]
    with write_tx(conn):
        counts = retention.clear(conn, ids, live=live)
    _emit(
        args,
        counts,
        [f"cleared {counts['sessions']} session(s), {counts['checkpoints']} checkpoint(s)"],
    )
    return 0
