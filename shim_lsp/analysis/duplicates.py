"""Duplicate code across the workspace, found by jscpd's clone detector.

SHIM chooses and reads the files (each workspace folder walked with SHIM's rules: its
``.gitignore`` files, the excludes and the secret patterns, links never followed), and hands
their text to ``jscpd_runner.js`` on stdin, which runs jscpd's detector (``@jscpd/core`` and
``@jscpd/tokenizer``) on Node.js and answers in jscpd's own JSON report shape. jscpd never
walks the tree, so it reads no secret, no excluded file and nothing outside the workspace, and
an open buffer's unsaved text is what it sees. A missing or failing detector is a value
(``DuplicatesFailure``) worded for the user, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from shim_lsp.analysis.findings import Spot, lines_of
from shim_lsp.analysis.process import reap
from shim_lsp.settings import Settings
from shim_lsp.workspace.files import decode
from shim_lsp.workspace.scan import FileRules, walk

TIMEOUT_S = 300.0
"""A run that takes longer is stopped (Django's 885 files take about 10 s on a loaded
2-core machine)."""

MIN_TOKENS = 50
"""jscpd's default: a block shorter than this many tokens is no duplicate, however many lines."""

PYTHON_SUFFIXES = (".py", ".pyi")
RUNNER = Path(__file__).with_name("jscpd_runner.js")
"""Needs jscpd's package (``JSCPD_PACKAGE_DIR``); the VS Code extension ships it bundled."""
EDITOR_NODE_ENV = "SHIM_NODE"
"""Set by an editor that brings its own Node.js (VS Code: its own executable)."""
EDITOR_RUNNER_ENV = "SHIM_JSCPD_RUNNER"
"""Set by an editor that ships ``jscpd_runner.js`` bundled with jscpd (the VS Code extension)."""


@attrs.frozen
class DuplicatesFailure:
    """The detector could not be found or run, or answered what SHIM cannot read."""

    message: str
    """One line for the user."""
    detail: str = ""
    """What the detector said, for the log."""


@attrs.frozen
class Detector:
    node: str
    runner: str
    jscpd: str | None = None
    """jscpd's package folder, whose modules the runner loads; None for a bundled runner."""

    def command(self) -> list[str]:
        return [self.node, self.runner, *([self.jscpd] if self.jscpd else [])]


@attrs.frozen
class Source:
    """One file's text as the detector sees it, by its absolute path."""

    path: str
    text: str


@attrs.frozen
class Side:
    path: str
    start: Spot
    end: Spot
    """Exclusive; 0-based lines, code-point columns."""


@attrs.frozen
class Duplicate:
    """One block found twice: each side's place, and its length in lines."""

    first: Side
    second: Side
    lines: int


def _jscpd_package(given: Path) -> Path | None:
    """jscpd's package folder from the folder itself or its ``jscpd`` executable (a link
    into ``<package>/bin/``, as npm installs it)."""
    start = Path(os.path.realpath(given))
    for folder in [start, *start.parents][:4]:
        try:
            manifest = json.loads((folder / "package.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("name") == "jscpd":
            return folder
    return None


def find_detector(
    node: str | None, jscpd: str | None, environ: Mapping[str, str] = os.environ
) -> Detector | DuplicatesFailure:
    """Node.js: the setting, else the editor's own, else ``node`` on PATH. jscpd: the
    setting, else the runner the editor bundles, else ``jscpd`` on PATH."""
    if node:
        found = shutil.which(str(Path(node).expanduser()))
        if found is None:
            return DuplicatesFailure(
                f"Node.js not found: {node} is not an executable file (setting duplicatesNode)"
            )
    else:
        found = environ.get(EDITOR_NODE_ENV) or shutil.which("node")
        if not found:
            return DuplicatesFailure(
                "Node.js not found: duplicate code detection runs jscpd on Node.js; install"
                " Node.js or name it in the setting duplicatesNode"
            )
    if jscpd:
        package = _jscpd_package(Path(jscpd).expanduser())
        if package is None:
            return DuplicatesFailure(
                f"jscpd not found at {jscpd} (setting duplicatesJscpd): name jscpd's package"
                " folder or its jscpd executable"
            )
        return Detector(found, str(RUNNER), str(package))
    bundled = environ.get(EDITOR_RUNNER_ENV)
    if bundled and Path(bundled).is_file():
        return Detector(found, bundled)
    on_path = shutil.which("jscpd")
    package = _jscpd_package(Path(on_path)) if on_path else None
    if package is None:
        return DuplicatesFailure(
            "jscpd not found: install it (npm install -g jscpd@4) or name it in the setting"
            " duplicatesJscpd"
        )
    return Detector(found, str(RUNNER), str(package))


def python_files(folders: Iterable[Path], settings: Settings) -> list[Path]:
    """The Python files of the workspace folders that SHIM's rules keep (each once, however
    the folders nest); links are never followed, so nothing outside is named."""
    chosen: dict[str, Path] = {}
    for root in folders:
        rules = FileRules.from_settings(root, settings)
        for rel, _stat in walk(rules):
            if rel.endswith(PYTHON_SUFFIXES):
                path = root / rel
                chosen.setdefault(os.path.realpath(path), path)
    return sorted(chosen.values())


def read_sources(
    paths: Iterable[Path], roots: Iterable[Path], buffers: Mapping[str, str]
) -> list[Source]:
    """Each file's text: its buffer's where it is open (``buffers`` by path), else its
    bytes on disk, decoded; a file gone meanwhile or resolving outside ``roots`` is left out."""
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    sources = []
    for path in paths:
        key = str(path)
        if key in buffers:
            sources.append(Source(key, buffers[key]))
            continue
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(r) for r in real_roots):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        sources.append(Source(key, decode(data, path)))
    return sources


def _code_points(line: str, units: int) -> int:
    """A column counted in UTF-16 code units (JavaScript's) as code points."""
    if line.isascii():
        return min(units, len(line))
    encoded = line.encode("utf-16-le", "surrogatepass")[: 2 * units]
    return len(encoded.decode("utf-16-le", "surrogatepass"))


def _spot(location: Mapping[str, Any], lines: list[str] | None) -> Spot:
    line = max(int(location["line"]) - 1, 0)
    column = max(int(location.get("column") or 1) - 1, 0)
    if lines is not None and line < len(lines):
        column = _code_points(lines[line].rstrip("\r\n"), column)
    return Spot(line, column)


def _side(raw: Mapping[str, Any], lines: Mapping[str, list[str]]) -> Side:
    name = str(raw["name"])
    found = lines.get(name)
    return Side(name, _spot(raw["startLoc"], found), _spot(raw["endLoc"], found))


def parse(output: str, texts: Mapping[str, str] | None = None) -> list[Duplicate]:
    """jscpd's JSON report (``duplicates[]``, lines 1-based, columns 1-based in UTF-16 code
    units) as duplicates; columns become code points where the file's text is given."""
    report = json.loads(output)
    texts = texts or {}
    lines: dict[str, list[str]] = {}
    for item in report["duplicates"]:
        for key in ("firstFile", "secondFile"):
            name = str(item[key]["name"])
            if name in texts and name not in lines:
                lines[name] = lines_of(texts[name])
    found = []
    for item in report["duplicates"]:
        first, second = _side(item["firstFile"], lines), _side(item["secondFile"], lines)
        found.append(Duplicate(first, second, int(item.get("lines") or 0)))
    return found


def _said(err: str) -> str:
    """The first line of what the runner said (an error's message, before its stack)."""
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    return lines[0][:300] if lines else "no message"


async def detect(
    detector: Detector,
    sources: list[Source],
    min_lines: int,
    *,
    min_tokens: int = MIN_TOKENS,
    timeout: float = TIMEOUT_S,
    progress: Callable[[int, int], None] | None = None,
) -> list[Duplicate] | DuplicatesFailure:
    """Run the detector over ``sources``; stopped (the process killed) on timeout or when
    the caller is cancelled."""
    request = {
        "minLines": min_lines,
        "minTokens": min_tokens,
        "mode": "mild",
        "files": [{"id": s.path, "text": s.text} for s in sources],
    }
    data = json.dumps(request).encode("utf-8")
    # VS Code's own executable runs as plain Node.js with this; Node.js itself ignores it.
    env = {**os.environ, "ELECTRON_RUN_AS_NODE": "1"}
    try:
        proc = await asyncio.create_subprocess_exec(
            *detector.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        return DuplicatesFailure(f"cannot run Node.js ({detector.node}): {exc.strerror or exc}")
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    said: list[str] = []

    async def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
            stdin.close()

    async def listen() -> None:
        async for raw in stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            parts = line.split()
            if len(parts) == 3 and parts[0] == "progress" and parts[1].isdigit():
                if progress is not None:
                    progress(int(parts[1]), int(parts[2]))
            elif line:
                said.append(line)

    try:
        _fed, out, _heard, _status = await asyncio.wait_for(
            asyncio.gather(feed(), stdout.read(), listen(), proc.wait()), timeout
        )
    except TimeoutError:
        return DuplicatesFailure(f"jscpd took more than {timeout:g} s; stopped")
    finally:
        await reap(proc)
    if proc.returncode != 0:
        detail = "\n".join(said)
        return DuplicatesFailure(
            f"jscpd failed with exit status {proc.returncode}: {_said(detail)}", detail
        )
    try:
        return parse(out.decode("utf-8"), {s.path: s.text for s in sources})
    except (ValueError, KeyError, TypeError) as exc:
        return DuplicatesFailure(
            f"jscpd answered output SHIM cannot read: {exc}", out[:300].decode("utf-8", "replace")
        )
