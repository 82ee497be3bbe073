"""The store holds unsaved work: only its owner may read it, whatever the umask."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shim_lsp.journal.records import Record
from shim_lsp.journal.writer import JournalWriter, SessionInfo
from shim_lsp.store.db import DB_NAME


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _session() -> SessionInfo:
    return SessionInfo("s1", "ws", ["/ws"], "host", os.getpid(), None, None, "utf-16", time.time())


def _writing(state_dir: Path, problems: list[str]) -> JournalWriter:
    """A writer that has committed a record and is still open (the -wal and -shm exist)."""
    writer = JournalWriter(state_dir, _session(), on_problem=problems.append)
    writer.start()
    assert writer.wait_ready()
    writer.append(Record(1, "untitled:Untitled-1", "open", 1, time.time(), "unsaved work"))
    assert writer.flush()
    return writer


FILES = [f"{DB_NAME}{suffix}" for suffix in ("", "-wal", "-shm")]


def test_new_store_is_private_whatever_the_umask(state_dir: Path, loose_umask: None) -> None:
    problems: list[str] = []
    writer = _writing(state_dir, problems)
    try:
        assert _mode(state_dir) == 0o700
        assert {n: _mode(state_dir / n) for n in FILES} == {n: 0o600 for n in FILES}
    finally:
        assert writer.close("clean")
    assert problems == []


def test_existing_readable_store_is_tightened_once_and_said(
    state_dir: Path, loose_umask: None
) -> None:
    other = _writing(state_dir, [])  # another window keeps the -wal and -shm in place
    state_dir.chmod(0o755)
    for name in FILES:
        (state_dir / name).chmod(0o644)

    problems: list[str] = []
    writer = _writing(state_dir, problems)
    try:
        assert _mode(state_dir) == 0o700
        assert {n: _mode(state_dir / n) for n in FILES} == {n: 0o600 for n in FILES}
    finally:
        assert writer.close("clean")
    assert len(problems) == 1 and "other users" in problems[0] and str(state_dir) in problems[0]

    again: list[str] = []
    assert _writing(state_dir, again).close("clean")
    assert other.close("clean")
    assert again == []


def test_an_empty_folder_made_beforehand_is_made_private_without_a_word(
    state_dir: Path, loose_umask: None
) -> None:
    """A state folder created by hand or by a tool (mkdir, 0755) exposed nothing yet."""
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o755)
    problems: list[str] = []
    writer = _writing(state_dir, problems)
    try:
        assert _mode(state_dir) == 0o700
    finally:
        assert writer.close("clean")
    assert problems == []
