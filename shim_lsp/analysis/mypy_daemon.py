"""Mypy's daemon (``dmypy``) for one workspace folder: started when first needed, a child of
this process, asked to check saved files, and stopped with it.

The daemon runs in the folder (``cwd``), so mypy finds the project's own configuration as
``mypy`` does there (``mypy.ini``, ``.mypy.ini``, ``pyproject.toml``, ``setup.cfg``); SHIM adds
only output options, which the configuration cannot change findings with. Nothing is written
into the workspace: the status file and the daemon's log go into a temporary folder of
SHIM's, and ``--cache-dir /dev/null`` (the daemon keeps its state in memory anyway). Findings
come as mypy's JSON lines; columns are UTF-8 byte offsets in the line (Python's AST offsets),
turned into code points here. Failures are values (``MypyFailure``) worded for the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from shim_lsp.analysis.findings import Finding, Severity, Spot, lines_of
from shim_lsp.analysis.process import die_with_parent, kill_group, reap
from shim_lsp.workspace.files import decode

log = logging.getLogger(__name__)

CONFIG_FILES = frozenset({"mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"})
"""Files mypy reads its configuration from: a change restarts the daemon."""
DOCS = "https://mypy.rtfd.io/en/stable/_refs.html#code-"
"""Where mypy documents each error code (the link its ``--show-error-code-links`` gives)."""
START_TIMEOUT_S = 30.0
CHECK_TIMEOUT_S = 600.0
"""A first check follows every import of the project: minutes on a large one."""
FLAGS = (
    "--output",
    "json",
    "--show-absolute-path",
    "--no-error-summary",
    "--no-pretty",
    "--no-color-output",
    "--cache-dir",
    os.devnull,
)
"""How mypy answers; what it checks and how strictly is the project's configuration."""
FOLLOW_NO_IMPORT = "--follow-imports=skip"


def import_flags(refused: Sequence[Path]) -> list[str]:
    """Mypy's flags for checking files beside which SHIM ``refused`` some (a secret Python
    file, a link leading out): mypy then follows no import to a file it was not given, as it
    would read those (such a module is ``Any``, and is never read). The server's daemons and
    ``shim analyze`` both ask this."""
    return [FOLLOW_NO_IMPORT] if refused else []


CLASSIC_PARSER = "--no-native-parser"
"""Mypy 2's native parser gives wrong columns after a non-ASCII character (2.4.1 reports
twice the code points less the bytes); the classic one gives Python's AST offsets, which SHIM
converts exactly. A mypy that predates the option is started without it (it has only the
classic parser)."""
DIR_PREFIX = "shim-dmypy-"
"""A daemon's own temporary folder (its status file and log) starts with this."""
_SEVERITIES: dict[str, Severity] = {"error": "error", "note": "information"}

_LIVE: set[Daemon] = set()
"""Every daemon started and not yet stopped: ``kill_all`` ends them when SHIM exits."""


@attrs.frozen
class MypyFailure:
    """Mypy's daemon could not be found, started or asked, or answered what SHIM cannot read."""

    message: str
    """One line for the user."""
    detail: str = ""
    """What mypy said, for the log."""


@attrs.frozen
class MypyFinding:
    """One line of mypy's JSON output: 1-based lines, 0-based byte columns."""

    path: Path
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    code: str | None
    severity: Severity


def find_dmypy(configured: str | None) -> str | MypyFailure:
    """The ``dmypy`` to run: the one configured, else on PATH, else beside SHIM's Python."""
    if configured:
        found = shutil.which(str(Path(configured).expanduser()))
        if found is None:
            return MypyFailure(f"mypy's daemon not found: {configured} is not an executable file")
        return found
    beside = Path(sys.executable).parent / "dmypy"
    found = shutil.which("dmypy") or shutil.which(str(beside))
    if found is None:
        return MypyFailure(
            "mypy is not installed (no dmypy on PATH): install mypy, or name its dmypy"
        )
    return found


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_bytes()[-limit:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _said(text: str) -> str:
    """The last lines mypy said, as one plain line: a finding it printed as JSON (a plugin
    that cannot be imported is one, in the configuration file) as ``file:line: message``."""
    lines = [_plain(line.strip()) for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-3:])[:300]


def _plain(line: str) -> str:
    if not line.startswith("{"):
        return line
    try:
        item = json.loads(line)
        message = " ".join(str(item["message"]).split())
        return f"{Path(item['file']).name}:{int(item['line'])}: {message}"
    except (ValueError, KeyError, TypeError):
        return line


class Daemon:
    """One ``dmypy daemon`` serving one workspace folder, run in the foreground as a child of
    SHIM (``dmypy start`` would detach it, and it would outlive a killed SHIM)."""

    def __init__(self, binary: str, folder: Path, flags: Sequence[str] = ()) -> None:
        self.binary = binary
        self.folder = folder
        self.flags = [*FLAGS, *flags, CLASSIC_PARSER]
        self._dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._group: int | None = None
        """The daemon's process group until it is killed (once: its id may be reused after)."""

    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def _status_file(self) -> Path:
        assert self._dir is not None
        return self._dir / "dmypy.json"

    async def start(self) -> MypyFailure | None:
        """Start the daemon and wait until it serves; None once it does."""
        await asyncio.to_thread(sweep)
        self._dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        log_file = self._dir / "daemon.log"
        args = ["--status-file", str(self._status_file()), "daemon", "--", *self.flags]
        try:
            with log_file.open("wb") as out:
                self._proc = await asyncio.create_subprocess_exec(
                    self.binary,
                    *args,
                    cwd=self.folder,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
                    start_new_session=True,  # its group is killed whole: nothing it starts stays
                )
        except OSError as exc:
            self.stop()
            return MypyFailure(f"cannot run mypy's daemon ({self.binary}): {exc.strerror or exc}")
        self._group = self._proc.pid
        _LIVE.add(self)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not self._serving():
            if self._proc.returncode is not None:
                said = _tail(log_file)
                self.stop()
                if CLASSIC_PARSER in self.flags and CLASSIC_PARSER in said:
                    self.flags.remove(CLASSIC_PARSER)  # an older mypy: the classic parser only
                    return await self.start()
                return MypyFailure(
                    f"mypy's daemon ({self.binary}) could not start"
                    + (f": {_said(said)}" if said else f" (exit status {self._proc.returncode})"),
                    said,
                )
            if loop.time() > deadline:
                self.stop()
                return MypyFailure(
                    f"mypy's daemon ({self.binary}) did not start within {START_TIMEOUT_S:g} s"
                )
            await asyncio.sleep(0.05)
        log.info("mypy's daemon %s serves %s", self._proc.pid, self.folder)
        return None

    def _serving(self) -> bool:
        """The daemon wrote its status file (it does so once it listens)."""
        try:
            return "connection_name" in json.loads(self._status_file().read_text())
        except (OSError, ValueError):
            return False

    async def check(
        self, files: Sequence[Path], timeout: float = CHECK_TIMEOUT_S
    ) -> list[MypyFinding] | MypyFailure:
        """Mypy's findings in ``files`` (as saved on disk), starting the daemon if needed;
        a daemon that failed is stopped (the next check starts a new one)."""
        if not self.running():
            self.stop()
            failed = await self.start()
            if failed is not None:
                return failed
        args = ["--status-file", str(self._status_file()), "check", "--", *map(str, files)]
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary,
                *args,
                cwd=self.folder,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            self.stop()
            return MypyFailure(f"cannot run mypy's daemon ({self.binary}): {exc.strerror or exc}")
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            self.stop()
            return MypyFailure(f"mypy took more than {timeout:g} s to check {self.folder.name}")
        finally:
            if proc.returncode is None:  # what it started too (its id is not reused before)
                kill_group(proc.pid)
            await reap(proc)
        text = out.decode("utf-8", "replace")
        try:
            found = parse(text)
        except (ValueError, KeyError, TypeError) as exc:
            self.stop()
            return MypyFailure(f"mypy answered output SHIM cannot read: {exc}", text[:300])
        if proc.returncode not in (0, 1) and not found:
            said = (err.decode("utf-8", "replace") + "\n" + text).strip()
            self.stop()
            return MypyFailure(
                f"mypy ({self.binary}) failed with exit status {proc.returncode}"
                + (f": {_said(said)}" if said else ""),
                said,
            )
        return found

    def stop(self) -> None:
        """End the daemon now and remove its files (its socket too: killed, it cannot)."""
        _LIVE.discard(self)
        if self._group is not None:
            # The whole group, even after its leader ended: what it started ends too.
            kill_group(self._group, signal.SIGTERM)
            self._group = None
        if self._dir is not None:
            _remove_socket(self._status_file())
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def stopped(self, timeout: float = 1.0) -> None:
        """``stop``, then wait (a little) for the process to end."""
        proc = self._proc
        self.stop()
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                kill_group(proc.pid)


def _remove_socket(status_file: Path) -> None:
    """The socket the daemon listened on, and its folder, when they are what mypy made: a
    socket in a folder of the temporary folder."""
    try:
        socket = Path(json.loads(status_file.read_text())["connection_name"])
        if stat.S_ISSOCK(socket.lstat().st_mode) and socket.parent.parent == Path(
            tempfile.gettempdir()
        ):
            socket.unlink()
            socket.parent.rmdir()
    except (OSError, ValueError, KeyError, TypeError):
        pass


def sweep() -> None:
    """Remove the files of daemons that ended without SHIM (a SHIM that was killed cannot
    remove them): folders whose status file names a process that is gone."""
    import psutil  # only when a daemon starts: the server's start-up stays lean

    for folder in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        status = folder / "dmypy.json"
        try:
            pid = int(json.loads(status.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # starting, or not one of these
        if not psutil.pid_exists(pid):
            _remove_socket(status)
            shutil.rmtree(folder, ignore_errors=True)


def kill_all() -> None:
    """End every daemon this process started (SHIM is exiting: no daemon outlives it)."""
    for daemon in list(_LIVE):
        daemon.stop()


def parse(output: str) -> list[MypyFinding]:
    """Mypy's ``--output json``: one object a line (other lines, such as a crash's, are not
    findings and are left to the exit status)."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            found.append(_finding(json.loads(line)))
    return found


def _finding(item: dict[str, Any]) -> MypyFinding:
    message = str(item["message"])
    if item.get("hint"):
        message = f"{message}\n{item['hint']}"
    line, column = int(item["line"]), int(item["column"])
    end_line = item.get("end_line")
    end_column = item.get("end_column")
    return MypyFinding(
        path=Path(item["file"]),
        line=line,
        column=column,
        end_line=line if end_line is None else int(end_line),
        end_column=column if end_column is None else int(end_column),
        message=message,
        code=str(item["code"]) if item.get("code") else None,
        severity=_SEVERITIES.get(str(item.get("severity")), "error"),
    )


def _spot(lines: list[str], line: int, column: int) -> Spot:
    """A 1-based line and a byte column as SHIM's spot (0-based line, code points)."""
    index = max(line - 1, 0)
    if index >= len(lines):
        return Spot(index, 0)
    content = lines[index].rstrip("\r\n").encode("utf-8", "surrogatepass")
    return Spot(index, len(content[: max(column, 0)].decode("utf-8", "ignore")))


def findings_by_file(
    files: Iterable[Path], found: Sequence[MypyFinding]
) -> dict[Path, tuple[str, list[Finding]]]:
    """Mypy's findings in each of ``files`` (mypy names a file by its real path), with the
    saved text they are placed in (read now: mypy read the file, not a buffer); every file
    checked is named, with no finding too. Findings in the modules mypy followed are left
    out, and so is a file gone since. Reads files: off the event loop."""
    given = {Path(os.path.realpath(p)): p for p in files}
    by_file: dict[Path, list[MypyFinding]] = {real: [] for real in given}
    for f in found:
        items = by_file.get(Path(os.path.realpath(f.path)))
        if items is not None:
            items.append(f)
    out = {}
    for real, items in by_file.items():
        try:
            text = decode(real.read_bytes(), real)
        except OSError:
            continue
        out[given[real]] = (text, findings_in(text, items))
    return out


def findings_in(text: str, found: Sequence[MypyFinding]) -> list[Finding]:
    """Mypy's findings in the file whose saved text is ``text``, as SHIM's findings."""
    lines = lines_of(text)
    out = []
    for f in found:
        start = _spot(lines, f.line, f.column)
        end = max(start, _spot(lines, f.end_line, f.end_column))
        out.append(
            Finding(
                code=f.code,
                message=f.message,
                start=start,
                end=end,
                url=f"{DOCS}{f.code}" if f.code else None,
                severity=f.severity,
            )
        )
    return out
