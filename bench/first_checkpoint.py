"""Where a first checkpoint's time goes at scale, beside git's first snapshot of the same tree.

    .venv/bin/python bench/first_checkpoint.py [--scale 10] [--rounds 3] [--tree DIR]
        [--variants "as is,nothing read,blake3"] [--no-floors] [--cold]

On one tree of ``scale`` copies of the Django release (as ``bench/run.py --scale`` builds it),
kept for all rounds (in the page cache throughout; with ``--cold``, its file contents are
dropped from it before each checkpoint), each round times, in an order that alternates:

- git: ``git add -A && git write-tree`` into a fresh repository and index (wall and CPU);
- SHIM's first checkpoint into a fresh store, the engine driven as ``bench/run.py`` drives
  it, in a process of its own: wall, CPU, peak RSS, the plan (walk, read, hash, compress,
  chunks handed to the writer) and the final transaction (manifest, stat cache, folders).
  As the code stands (``as is``), or with one part replaced (``--variants``):
  ``two readers``: batches read on two reader threads beside the walk (SHIM's way until
  this measurement); ``read inline``: on the checkpoint thread as the walk yields them
  (SHIM's way since); ``read after walk``, ``read after walk x2``: all once the walk is
  over, on 1 or 2 threads (every candidate held at once); ``blake3``: each file hashed
  from its path (``blake3().update_mmap``: open, read and hash with the GIL released), the
  bytes read again only for content not yet seen (a measurement, not SHIM's store format);
  ``nothing read``: no file opened, hashed, compressed or stored, every file named by one
  made-up blob: the floor of the walk, the bookkeeping and the final transaction;
- floors, single-threaded unless said: SHIM's walk alone (folders listed, files stat'ed and
  judged by the rules, nothing read), a bare walk (``os.scandir`` and a stat per file,
  nothing else), reading alone, reading and hashing with sha256, blake3 from the path on 1
  and 2 threads; and the walk with two threads reading and hashing every file beside it, as
  reader threads would (what the GIL's hand-overs cost).

Each figure is the median of the rounds, with its ratio to git's median.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from common import django_tree

Figures = dict[str, float]


def build_tree(into: Path, scale: int) -> Path:
    """``scale`` copies of the Django tree side by side, as ``bench/run.py --scale`` builds it."""
    tree = django_tree()
    ws = into / "ws"
    ws.mkdir()
    for i in range(scale):
        shutil.copytree(tree, ws / f"copy{i}")
    return ws


def _blake3() -> Any:
    """The blake3 package (PyPI, Rust), None when not installed: not a dependency of SHIM."""
    try:
        return importlib.import_module("blake3")
    except ImportError:
        return None


def files_of(ws: Path) -> list[tuple[str, int]]:
    found = []
    for folder, _dirs, names in os.walk(ws):
        for name in names:
            path = os.path.join(folder, name)
            found.append((path, os.lstat(path).st_size))
    return found


def git_first(ws: Path) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "GIT_DIR": f"{tmp}/git",
            "GIT_WORK_TREE": str(ws),
            "GIT_INDEX_FILE": f"{tmp}/index",
        }
        subprocess.run(["git", "init", "-q", "--bare", f"{tmp}/git"], check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        for args in (["add", "-A"], ["write-tree"]):
            subprocess.run(["git", *args], cwd=ws, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return {"git": wall, "git cpu": cpu}


def shim_first(ws: str, hash_kind: str) -> Figures:
    """SHIM's first checkpoint of ``ws`` into a fresh store (run in a process of its own)."""
    from shim_lsp.session import checkpointer, snapshot
    from shim_lsp.session.engine import SessionEngine
    from shim_lsp.settings import Settings

    marks: Figures = {}
    plan, write = snapshot.TreeState.plan, checkpointer._write_checkpoint

    def timed_plan(self: snapshot.TreeState, **kwargs: Any) -> snapshot.Plan:
        started = time.perf_counter()
        try:
            return plan(self, **kwargs)
        finally:
            marks["plan"] = time.perf_counter() - started

    def timed_write(conn: Any, plan: snapshot.Plan) -> int:
        started = time.perf_counter()
        try:
            return write(conn, plan)
        finally:
            marks["final tx"] = time.perf_counter() - started

    snapshot.TreeState.plan = timed_plan  # type: ignore[method-assign]
    checkpointer._write_checkpoint = timed_write
    if hash_kind == "blake3":
        snapshot.TreeState._load = _load_blake3  # type: ignore[method-assign]
    elif hash_kind == "nothing read":
        snapshot.TreeState._load = _load_nothing  # type: ignore[method-assign]
    elif hash_kind == "two readers":
        snapshot.TreeState._load_all = _load_on_two_readers  # type: ignore[method-assign]
    elif hash_kind == "read inline":

        def inline(
            self: snapshot.TreeState, batches: Iterator[list[Any]], started: int
        ) -> Iterator[list[Any]]:
            return map(partial(self._load_batch, started=started, prepared=set()), batches)

        snapshot.TreeState._load_all = inline  # type: ignore[method-assign]
    elif hash_kind.startswith("read after walk"):
        threads = 2 if hash_kind.endswith("x2") else 1

        def after_walk(
            self: snapshot.TreeState, batches: Iterator[list[Any]], started: int
        ) -> Iterator[list[Any]]:
            return _load_after_walk(self, batches, started, threads=threads)

        snapshot.TreeState._load_all = after_walk  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as state:
        engine = SessionEngine(Settings(state_dir=state), [Path(ws)], text_source=lambda _u: None)
        engine.start()
        engine.writer.wait_ready()
        cpu = time.process_time()
        started = time.perf_counter()
        result = engine.checkpoint(reason="interval").result()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        engine.close("clean")
    name = "shim" if hash_kind == "as is" else f"shim {hash_kind}"
    return {
        name: wall,
        f"{name}: cpu": cpu,
        f"{name}: plan": marks["plan"],
        f"{name}: final tx": marks["final tx"],
        f"{name}: files": float(result.files),
        f"{name}: new blobs": float(result.new_blobs),
        f"{name}: peak RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _load_on_two_readers(
    self: Any, batches: Iterator[list[Any]], started: int
) -> Iterator[list[Any]]:
    """``TreeState._load_all`` as it was until this measurement: batches loaded on two
    reader threads beside the walk, at most 8 in flight."""
    load = partial(self._load_batch, started=started, prepared=set())
    with ThreadPoolExecutor(2, thread_name_prefix="shim-read") as pool:
        pending: deque[Future[list[Any]]] = deque()
        for batch in batches:
            pending.append(pool.submit(load, batch))
            while len(pending) > 8 or (pending and pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _load_after_walk(
    self: Any, batches: Iterator[list[Any]], started: int, *, threads: int
) -> Iterator[list[Any]]:
    """``TreeState._load_all`` that reads once the walk is over, on ``threads`` threads
    (1: on the checkpoint thread), instead of beside it: no GIL hand-over between the walk
    and the readers, at the cost of every candidate held at once."""
    load = partial(self._load_batch, started=started, prepared=set())
    found = list(batches)
    if threads == 1:
        yield from map(load, found)
        return
    with ThreadPoolExecutor(threads) as pool:
        yield from pool.map(load, found)


def _load_nothing(self: Any, cand: Any, started: int, prepared: set[str]) -> Any:
    """``TreeState._load`` that reads nothing: every file named by one made-up blob, nothing
    hashed, compressed or stored. What is left is the floor of everything but the reading."""
    from shim_lsp.session.snapshot import _Loaded
    from shim_lsp.store import statcache
    from shim_lsp.store.checkpoints import DiskEntry

    st = cand.stat
    if st is None:
        return _Loaded(cand.uri, None, None)
    racy = not self.guard.trusted(st, cand.dev, started)
    entry = DiskEntry("0" * 64, st.size, st.mtime_ns)
    return _Loaded(cand.uri, entry, None, None if racy else (statcache.pack(st), entry.blob))


def _load_blake3(self: Any, cand: Any, started: int, prepared: set[str]) -> Any:
    """``TreeState._load`` hashing from the path, without the bytes in Python, and reading
    them only for content not seen yet (checked again after that read: the file may have
    changed in between). The stat is not checked against the bytes hashed (one more fstat):
    this is a measurement of the best case."""
    blake3 = importlib.import_module("blake3")
    from shim_lsp.session.snapshot import _Loaded, _read
    from shim_lsp.store import blobs, statcache
    from shim_lsp.store.checkpoints import DiskEntry

    st = cand.stat
    if st is None:
        return _Loaded(cand.uri, None, None)
    try:
        digest = blake3.blake3().update_mmap(cand.path).hexdigest()
    except FileNotFoundError:
        return _Loaded(cand.uri, None, None)
    except OSError:
        return _Loaded(cand.uri, None, None, failed=True)
    racy = not self.guard.trusted(st, cand.dev, started)
    old = self.entries.get(cand.uri)
    if (old is not None and old.blob == digest) or digest in prepared:
        entry = DiskEntry(digest, st.size, st.mtime_ns)
        return _Loaded(cand.uri, entry, None, None if racy else (statcache.pack(st), digest))
    data = _read(cand.path, st.size)
    again = blake3.blake3(data).hexdigest()
    if again != digest or len(data) != st.size:
        digest, racy = again, True
    prepared.add(digest)
    entry = DiskEntry(digest, len(data), st.mtime_ns)
    cached = None if racy else (statcache.pack(st), digest)
    return _Loaded(cand.uri, entry, blobs.prepare(data, digest), cached)


def _shim_walk(ws: str) -> int:
    """SHIM's walk as a first checkpoint does it, nothing read: the rules' verdicts, each
    folder's signature and kept listing, every kept file's stat."""
    from shim_lsp.session.snapshot import TreeState
    from shim_lsp.settings import Settings
    from shim_lsp.workspace.fsclock import TimestampGuard
    from shim_lsp.workspace.paths import Workspace
    from shim_lsp.workspace.scan import FileStat, kept_files, walk_folders

    tree = TreeState(Workspace.of([Path(ws)]), Settings())
    guard, started = TimestampGuard(), time.time_ns()

    def trusted(st: os.stat_result) -> bool:
        kept = FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        return guard.listing_trusted(kept, st.st_dev, started)

    count = 0
    for rules in tree.rules.values():
        for listing in walk_folders(rules, {}, trusted):
            count += sum(1 for _ in kept_files(rules, listing))
    return count


def walk_floors(ws: str) -> Figures:
    """The walk alone, a bare walk, and the walk with two threads hashing every file beside
    it (as a first checkpoint's readers do): what the GIL costs each side."""
    out: Figures = {}
    began = time.perf_counter()
    out["walk files"] = float(_shim_walk(ws))
    out["walk alone"] = time.perf_counter() - began
    began = time.perf_counter()
    out["bare walk files"] = float(_bare_walk(ws))
    out["bare walk (scandir, stat)"] = time.perf_counter() - began
    items = files_of(Path(ws))

    blake3 = _blake3()
    hashes = [("read + sha256", _sha256)]
    if blake3 is not None:
        hashes.append(("blake3 from path", _from_path))
    for name, fn in hashes:
        began = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            hashed = pool.map(fn, _chunks(items))
            _shim_walk(ws)
            out[f"walk beside 2 threads of {name}: walk"] = time.perf_counter() - began
            sum(hashed)
        out[f"walk beside 2 threads of {name}: both"] = time.perf_counter() - began
    return out


def _bare_walk(root: str) -> int:
    """The least a Python walk does: list each folder, stat each file (no rules, no
    records): the floor of any walk written in Python."""
    stack, files = [root], 0
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
                    files += 1
    return files


def _read(path: str, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, size + 1)
    finally:
        os.close(fd)


def _sha256(part: list[tuple[str, int]]) -> int:
    return sum(len(hashlib.sha256(_read(p, s)).hexdigest()) for p, s in part)


def _from_path(part: list[tuple[str, int]]) -> int:
    """blake3 of each file from its path (only called where the package is installed)."""
    make = _blake3().blake3
    return sum(len(make().update_mmap(p).hexdigest()) for p, _s in part)


def _chunks(items: list[tuple[str, int]], size: int = 64) -> Iterator[list[tuple[str, int]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _on_threads(fn: Callable[[list[tuple[str, int]]], int], threads: int) -> Callable[..., int]:
    def run(items: list[tuple[str, int]]) -> int:
        if threads == 1:
            return fn(items)
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(fn, _chunks(items)))

    return run


def read_floors(ws: str) -> Figures:
    """Reading alone, reading and hashing with sha256, and blake3 from the path."""
    items = files_of(Path(ws))

    def read_only(part: list[tuple[str, int]]) -> int:
        return sum(len(_read(p, s)) for p, s in part)

    blake3 = _blake3()
    cases = {
        "read alone": _on_threads(read_only, 1),
        "read + sha256": _on_threads(_sha256, 1),
        "read + sha256, 2 threads": _on_threads(_sha256, 2),
    }
    if blake3 is not None:
        cases["blake3 from path"] = _on_threads(_from_path, 1)
        cases["blake3 from path, 2 threads"] = _on_threads(_from_path, 2)
    out: Figures = {}
    for name, fn in cases.items():
        began = time.perf_counter()
        fn(items)
        out[name] = time.perf_counter() - began
    return out


def in_child(fn: Callable[..., Figures], *args: object) -> Figures:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


VARIANTS = (
    "as is",
    "two readers",
    "nothing read",
    "blake3",
    "read inline",
    "read after walk",
    "read after walk x2",
)


def evict(ws: Path) -> None:
    """Drop the tree's file contents from the page cache (``POSIX_FADV_DONTNEED``: this
    tree's pages only, nobody else's), so that the next run reads them from the disk."""
    for path, _size in files_of(ws):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def one_round(
    ws: Path, shim_goes_first: bool, variants: list[str], floors: bool, cold: bool = False
) -> Figures:
    figures: Figures = {}
    steps: list[Callable[[], Figures]] = [
        partial(in_child, shim_first, str(ws), kind)
        for kind in variants
        if kind != "blake3" or _blake3() is not None
    ]
    steps.append(partial(git_first, ws))
    for step in steps if shim_goes_first else steps[::-1]:
        if cold:
            evict(ws)
        figures.update(step())
    if floors:
        figures.update(in_child(walk_floors, str(ws)))
        figures.update(in_child(read_floors, str(ws)))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="an existing tree to use (else one is built)")
    parser.add_argument(
        "--variants",
        default="as is,nothing read,blake3",
        help=f"SHIM's first checkpoints to time, comma-separated, of: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--no-floors", action="store_true", help="time the checkpoints only")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="drop the tree's file contents from the page cache before each checkpoint",
    )
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; known: {', '.join(VARIANTS)}")
    if _blake3() is None:
        print("blake3 is not installed (pip install blake3): its rows are left out")
    with tempfile.TemporaryDirectory() as tmp:
        ws = args.tree or build_tree(Path(tmp), args.scale)
        os.sync()
        rounds = []
        for i in range(args.rounds):
            print(f"round {i + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
            rounds.append(one_round(ws, i % 2 == 0, variants, not args.no_floors, args.cold))
    git = statistics.median(r["git"] for r in rounds)
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        med = statistics.median(values)
        if key.endswith(("files", "blobs", "MB")):
            print(f"{key:32s} {med:10.0f}   ({', '.join(f'{v:.0f}' for v in values)})")
            continue
        each = ", ".join(f"{v:.3f}" for v in values)
        print(f"{key:32s} {med:8.3f} s  {med / git:5.2f}x git   ({each})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
