"""The ``shim`` subcommands that work on SHIM's store when no editor is running."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from contextlib import closing as _closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shim_lsp.cli import RECOVERED_DIR, CliError
from shim_lsp.journal.replay import history, rebuild
from shim_lsp.recovery.chats import ChatWork, unfinished_chats
from shim_lsp.recovery.find import (
    RecoverableFile,
    SessionRow,
    WorkLeft,
    crashed_work,
    is_alive,
    resolve_file,
    sessions,
    sessions_above,
    state_of,
    work_left,
)
from shim_lsp.settings import Settings, resolve_state_dir
from shim_lsp.store import checkpoints as cps
from shim_lsp.store import retention
from shim_lsp.store.db import DB_NAME, connect, write_tx
from shim_lsp.workspace.encoding import Unencodable, to_file_bytes
from shim_lsp.workspace.files import read_bytes, write_atomic
from shim_lsp.workspace.paths import Workspace, path_to_uri, uri_to_path, valid_text


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


@dataclass(frozen=True)
class Scope:
    """The workspace a command works on: found from the start folder by walking up."""

    start: Path
    folder: Path
    rows: list[SessionRow]
    """Sessions whose folders include ``folder``, newest first."""
    workspace: Workspace

    @property
    def keys(self) -> set[str]:
        return {r.workspace for r in self.rows}


def _scope(conn: sqlite3.Connection, args: argparse.Namespace) -> Scope:
    """The nearest folder at or above --workspace (default: here) that SHIM has sessions for,
    as git finds a repository; said on stderr when it is not the folder the user is in."""
    start = Path(os.path.realpath(args.workspace))
    folder, rows = sessions_above(conn, start)
    folders = [Path(f) for f in rows[0].folder_paths] if rows else [folder]
    if not args.json:
        if not rows:
            print(f"shim: no SHIM sessions for {start} or a folder above it", file=sys.stderr)
        elif folder != start:
            print(f"shim: workspace {folder} (found above {start})", file=sys.stderr)
    return Scope(start, folder, rows, Workspace.of(folders))


def cmd_status(args: argparse.Namespace) -> int:
    conn = _reader(args)
    scope = _scope(conn, args)
    rows = scope.rows
    work = _work(conn, scope)
    keys = scope.keys
    checkpoints = [c for k in keys for c in cps.list_for(conn, k)]
    latest = max(checkpoints, key=lambda c: c.created_at, default=None)
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[state_of(r)] = by_state.get(state_of(r), 0) + 1
    data: dict[str, Any] = {
        "store": str(_state_dir(args) / DB_NAME),
        "storeBytes": retention.store_bytes(conn),
        "workspace": str(scope.folder),
        "sessions": by_state,
        "checkpoints": len(checkpoints),
        "lastCheckpointAt": latest.created_at if latest else None,
        "unrecoveredFiles": len({f.uri for _row, files in work for f in files}),
        "unrecoveredVersions": sum(len(files) for _row, files in work),
        "unfinishedChats": len(_chats(conn, scope)),
    }
    from shim_lsp.cli.windows import group_line, group_status

    group = group_status(args, scope.folder)
    if group is not None:
        data["group"] = group
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
            + (
                f" ({data['unrecoveredVersions']} versions from different windows)"
                if data["unrecoveredVersions"] > data["unrecoveredFiles"]
                else ""
            )
            + ("  -> run `shim recover`" if data["unrecoveredFiles"] else ""),
            *(
                [f"chats:        {data['unfinishedChats']} ended mid-way -> run `shim recover`"]
                if data["unfinishedChats"]
                else []
            ),
            *([group_line(group, time.time())] if group is not None else []),
        ],
    )
    return 0


def _chats(conn: sqlite3.Connection, scope: Scope, session: str | None = None) -> list[ChatWork]:
    """AI chats (``shim mcp``) of the scope that died with changes made; of one session,
    dismissed ones included."""
    return [
        w
        for key in scope.keys
        for w in unfinished_chats(
            conn, key, scope.workspace.contains, include_resolved=session is not None
        )
        if session is None or w.session.id == session
    ]


def _chat_lines(chats: list[ChatWork], diffs: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """What dead chats changed on disk: nothing to write back (it is on disk), but the user
    should know, and the text before each chat is in its first checkpoint."""
    data = [
        {
            "session": w.session.id,
            "startedAt": w.session.started_at,
            "checkpointBefore": w.first_checkpoint,
            "checkpointAfter": w.last_checkpoint,
            "codemodRunsCutOff": [{"batch": b, "codemod": n} for b, n in w.cut_off],
            "files": [
                {"uri": c.uri, "before": c.before, "after": c.after, "diff": c.diff()}
                for c in w.changes
            ],
        }
        for w in chats
    ]
    lines: list[str] = []
    for w in chats:
        lines.append(
            f"chat {w.session.id[:12]} (started {_when(w.session.started_at)}) ended mid-way,"
            f" having changed {len(w.changes)} file(s); before it: checkpoint"
            f" {w.first_checkpoint} (`shim checkpoints FILE`)"
        )
        for batch, name in w.cut_off:
            lines.append(
                f"  its {name} run (batch {batch}) may have been cut off while writing:"
                " a chat's shim_undo_codemod takes it back"
            )
        for c in w.changes:
            lines.append(f"  {c.uri}" if not diffs else c.diff())
    return data, lines


def _work(
    conn: sqlite3.Connection, scope: Scope, session: str | None = None
) -> list[tuple[SessionRow, list[RecoverableFile]]]:
    """Unsaved work of the scope's ended sessions; of one session, dismissed work included."""
    found = [
        item
        for key in scope.keys
        for item in crashed_work(
            conn, key, scope.workspace.contains, include_resolved=session is not None
        )
    ]
    return [(row, files) for row, files in found if session is None or row.id == session]


def cmd_sessions(args: argparse.Namespace) -> int:
    conn = _reader(args)
    rows = sessions(conn) if args.all else _scope(conn, args).rows
    data = [
        {
            "id": r.id,
            "kind": r.kind,
            "state": state_of(r),
            "host": r.host,
            "pid": r.pid,
            "startedAt": r.started_at,
            "endedAt": r.ended_at,
            "folders": [valid_text(f) for f in r.folder_paths],
            "resolution": r.resolution,
        }
        for r in rows
    ]
    lines = [f"{'session':<12} {'state':<12} {'started':<19}  {'ended':<19}  folders"]
    lines += [
        f"{r.id[:12]:<12} {state_of(r):<12} {_when(r.started_at):<19}  {_when(r.ended_at):<19}  "
        + ", ".join(valid_text(f) for f in r.folder_paths)
        for r in rows
    ]
    _emit(args, data, lines)
    return 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    conn = _reader(args)
    keys = _scope(conn, args).keys
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
    scope = _scope(conn, args)
    session = None
    if args.session:
        matches = [r.id for r in scope.rows if r.id.startswith(args.session)]
        if len(matches) != 1:
            raise CliError(
                f"{len(matches) or 'no'} sessions of {scope.folder} start with {args.session!r}"
                " (`shim sessions` lists them)"
            )
        session = matches[0]
    work = _work(conn, scope, session)
    chats, chat_lines = _chat_lines(_chats(conn, scope, session), diffs=args.print)
    if not work:
        _emit(
            args,
            {"workspace": str(scope.folder), "files": [], "unfinishedChats": chats},
            chat_lines or ["no unsaved work from crashed sessions"],
        )
        return 0
    out = None if args.print else _output_folder(args, scope)
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    pairs = [(row, f) for row, files in work for f in files]
    if args.in_place:  # one file, one place: its newest version goes there, and only that
        pairs.sort(key=lambda p: p[1].edited_at, reverse=True)
    in_place: dict[str, str] = {}
    for row, f in pairs:
        item: dict[str, Any] = {
            "session": row.id,
            "resolution": row.resolution,
            "uri": f.uri,
            "editedAt": f.edited_at,
            "diskChanged": f.disk_changed,
        }
        if out is None:
            item["text"] = f.text
            lines += [f"=== {f.uri} (session {row.id[:12]}, {_when(f.edited_at)})", f.text]
        elif args.in_place and f.uri in in_place:
            item["written"] = None
            item["refused"] = (
                f"a newer version of this file, from session {in_place[f.uri][:12]}, was "
                f"written in its place; this one stays in the store (`shim recover --session "
                f"{row.id[:12]} --print` shows it, without --in-place it is written aside)"
            )
            lines.append(f"refused {f.uri}: {item['refused']}")
        else:
            lines.append(_write_one(args, conn, scope, out, row, f, item))
            if item.get("written") and uri_to_path(f.uri) is not None:
                in_place[f.uri] = row.id
        results.append(item)
    _emit(
        args,
        {"workspace": str(scope.folder), "files": results, "unfinishedChats": chats},
        lines + chat_lines,
    )
    return 1 if any(r.get("refused") for r in results) else 0


def _output_folder(args: argparse.Namespace, scope: Scope) -> Path:
    """Where recovered text goes aside, resolved; a ``.shim-recovered`` that is a link (a
    cloned repository can ship one) would send it out of the workspace, so it is refused."""
    if args.out:
        return Path(os.path.realpath(args.out))
    default = scope.folder / RECOVERED_DIR
    if default.is_symlink():
        raise CliError(
            f"{default} is a symbolic link (to {os.readlink(default)}); SHIM writes recovered"
            " work only inside the workspace: remove the link, or choose a folder with --out"
        )
    return Path(os.path.realpath(default))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _write_one(
    args: argparse.Namespace,
    conn: sqlite3.Connection,
    scope: Scope,
    out: Path,
    row: SessionRow,
    f: RecoverableFile,
    item: dict[str, Any],
) -> str:
    """Write one file's recovered text where the flags say, or say why not; written work is
    marked recovered, so it is not offered again (``--session`` shows it still)."""
    path = uri_to_path(f.uri)
    note = ""
    if path is None:
        # An untitled buffer has no file of its own: it always goes aside.
        target = out / row.id[:12] / "untitled" / _untitled_name(f.uri)
        note = " (untitled: it has no file of its own)"
        in_place = False
    elif args.in_place:
        target, in_place = path, True
    else:
        target, in_place = out / row.id[:12] / _relative(scope.workspace, path), False
    real = Path(os.path.realpath(target))
    allowed = [*scope.workspace.folders] if in_place else [out]
    item["written"] = None
    if not any(_within(real, folder) for folder in allowed):
        where = "the workspace" if in_place else str(out)
        item["refused"] = f"it resolves to {real}, outside {where}"
        return f"refused {target}: {item['refused']}"
    original = read_bytes(path) if path is not None else None
    try:
        data = to_file_bytes(f.text, original, path)
    except Unencodable as exc:
        item["refused"] = f"{exc}; see it with --print"
        return f"refused {target}: {item['refused']}"
    existing = read_bytes(real)
    if existing == data:
        item["written"] = str(real)
        _resolved(conn, row, f, in_place)
        return f"already there: {real}{note}"
    why = _refusal(args, f, in_place, existing is not None)
    if why:
        item["refused"] = why
        return f"refused {target}: {why}"
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(real, data)
    except OSError as exc:
        item["refused"] = f"cannot be written: {exc.strerror or exc}"
        return f"refused {target}: {item['refused']}"
    item["written"] = str(real)
    _resolved(conn, row, f, in_place)
    return f"wrote {real}{note}"


def _resolved(
    conn: sqlite3.Connection, row: SessionRow, f: RecoverableFile, in_place: bool
) -> None:
    with write_tx(conn):
        resolve_file(conn, row.id, f.uri, "restored-by-cli" if in_place else "written-by-cli")


def _relative(ws: Workspace, path: Path) -> Path:
    """The file's path inside its workspace folder, as the session named it."""
    for folder in ws.folders:
        if _within(path, folder):
            return path.relative_to(folder)
    real_folder = ws.folder_of(path)
    if real_folder is not None:
        return Path(os.path.realpath(path)).relative_to(real_folder)
    return Path(path.name)


def _untitled_name(uri: str) -> str:
    name = uri.partition(":")[2].strip("/").replace("/", "_").replace("\\", "_")
    return name if name not in ("", ".", "..") else "untitled"


def _refusal(
    args: argparse.Namespace, f: RecoverableFile, in_place: bool, exists: bool
) -> str | None:
    if args.force:
        return None
    if in_place and f.disk_changed:
        return "the file changed on disk since the crashed session saw it (use --force)"
    if not in_place and exists:
        return "already exists (use --force to overwrite)"
    return None


def cmd_history(args: argparse.Namespace) -> int:
    """Every journaled instant of one file's buffer, across sessions; or its text at one."""
    conn = _reader(args)
    uri = path_to_uri(Path(args.file).resolve())
    rows = _scope(conn, args).rows
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
    found = sorted(
        ((ts, r.id, lseq, kind) for r in rows for lseq, kind, ts in history(conn, r.id, uri)),
        key=lambda item: (item[0], item[2]),
    )
    instants = [{"session": s, "instant": n, "kind": k, "at": ts} for ts, s, n, k in found]
    if not found:
        missing = "" if Path(args.file).exists() else " (and there is no such file)"
        _emit(args, instants, [f"no edits of {args.file} were journaled{missing}"])
        return 1
    lines = [f"{'when':<19}  {'session:instant':<20} event"] + [
        f"{_when(ts):<19}  {s[:12] + ':' + str(n):<20} {k}" for ts, s, n, k in found
    ]
    _emit(args, instants, lines)
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from shim_lsp.session.checkpointer import CheckpointProgress
    from shim_lsp.session.engine import SessionEngine

    settings = Settings(state_dir=str(_state_dir(args)))
    path = _state_dir(args) / DB_NAME
    folders = [Path(os.path.realpath(args.workspace))]
    if path.exists():
        with _closing(_reader(args)) as conn:
            folders = list(_scope(conn, args).workspace.folders)
    engine = SessionEngine(settings, folders, text_source=lambda _uri: None)
    engine.start()
    bar = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="file", desc="checkpoint", file=sys.stderr)

    def progress(p: CheckpointProgress) -> None:
        if bar is not None:
            bar.total = max(p.expected, p.looked)
            bar.n = p.looked
            bar.set_postfix(read=p.read, refresh=False)
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
    if args.all and args.session:
        raise CliError("--session ID and --all say different things: give one of them")
    if not args.all and not args.session:
        raise CliError("say what to clear: --session ID or --all")
    if not args.yes and not sys.stdin.isatty():
        raise CliError("stdin is not a terminal, so shim cannot ask: pass --yes to clear")
    conn = _reader(args)
    scope = _scope(conn, args)
    candidates = sessions(conn) if args.every_workspace else scope.rows
    where = "every workspace" if args.every_workspace else str(scope.folder)
    if args.session:
        ids = [r.id for r in candidates if r.id.startswith(args.session)]
        if len(ids) != 1:
            raise CliError(
                f"{len(ids) or 'no'} sessions of {where} start with {args.session!r}"
                + ("" if args.every_workspace else " (--every-workspace looks in all)")
            )
        what = f"session {ids[0][:12]}"
    else:
        ids = [r.id for r in candidates]
        what = f"SHIM's sessions and checkpoints of {where}"
    live = [r.id for r in sessions(conn) if is_alive(r)]
    lost = work_left(conn, set(ids) - set(live))
    if not args.yes:
        print("\n".join(_lost_lines(lost, "would be lost")))
        if input(f"Forget {what}? [y/N] ").strip().lower() != "y":
            return 1
    with write_tx(conn):
        counts = retention.clear(conn, ids, live=live)
    _emit(
        args,
        {
            **counts,
            "unsavedWorkForgotten": [{"folders": w.folders, "files": w.files} for w in lost],
        },
        [
            f"cleared {counts['sessions']} session(s), {counts['checkpoints']} checkpoint(s)",
            *_lost_lines(lost, "was forgotten"),
        ],
    )
    return 0


def _lost_lines(lost: list[WorkLeft], verb: str) -> list[str]:
    """Name unsaved work of ended sessions, workspace by workspace, before it goes."""
    if not lost:
        return []
    return [f"unsaved work of ended sessions that {verb}:"] + [
        f"  {', '.join(w.folders)}: {w.files} file(s)" for w in lost
    ]
