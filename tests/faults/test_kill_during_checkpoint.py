"""SIGKILL at any instant of checkpoint writing leaves a readable store with every
acknowledged checkpoint intact."""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from shim_lsp.store import checkpoints as cps
from shim_lsp.store.db import DB_NAME, open_store

WRITER = Path(__file__).with_name("checkpoint_writer.py")


def test_sigkill_during_checkpoints_loses_no_acknowledged_checkpoint(
    workspace: Path, state_dir: Path
) -> None:
    for i in range(40):
        (workspace / f"f{i}.py").write_text(f"content = {i}\n")
    acked: list[tuple[int, str, int]] = []
    rng = random.Random(7)
    for _round in range(8):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(workspace), str(state_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]  # writing has begun: kill at a random instant after
        reader = threading.Thread(target=lines.extend, args=(proc.stdout,))
        reader.start()
        time.sleep(rng.random() * 0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join()
        for line in filter(None, lines):
            ack_id, name, n = line.split()
            acked.append((int(ack_id), name, int(n)))

    assert len(acked) > 8
    # Before SHIM opens it (and could set a damaged file aside): the file itself is a sound
    # SQLite database that holds every acknowledged checkpoint.
    with contextlib.closing(sqlite3.connect(state_dir / DB_NAME)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in raw.execute("SELECT id FROM checkpoints")}
    assert {cid for cid, _, _ in acked} <= stored
    conn, report = open_store(state_dir)
    assert report.quarantined is None
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for cid, name, i in acked:
        found = cps.file_at(conn, cid, (workspace / name).as_uri())
        assert found is not None, f"checkpoint {cid} lost {name}"
        assert found[1].startswith(f"content = {i!r}\n".encode())
