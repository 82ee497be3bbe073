"""Analysis beyond one buffer's lint: complexity, the whole workspace (unopened files, progress,
cancel, re-analysis of what changed) and pull diagnostics."""

from __future__ import annotations

from pathlib import Path

from harness import Editors
from lsprotocol import types as t
from test_analysis import SELECT_F, VS_CODE, codes, published


def branchy(name: str, branches: int) -> str:
    """A function whose cyclomatic complexity is ``branches + 1``."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(branches))
    return f"def {name}(x):\n{body}    return -1\n"


async def test_a_function_over_the_threshold_gets_information_with_its_score(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(SELECT_F)
    editor = await editors.start(
        workspace, state_dir, capabilities=VS_CODE, settings={"complexityThreshold": 3}
    )
    uri = editor.open("a.py", branchy("tangled", 4) + "\n\n" + branchy("plain", 2))
    (found,) = await published(editor, uri, lambda c: c == ["C901"])
    assert found.severity == t.DiagnosticSeverity.Information
    assert found.message == "`tangled` has a cyclomatic complexity of 5 (threshold 3)"
    assert found.range.start == t.Position(line=0, character=4)


async def test_the_setting_wins_over_the_projects_mccabe_and_turning_it_off_keeps_the_projects(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / "pyproject.toml").write_text(
        '[tool.ruff.lint]\nselect = ["F", "C901"]\n[tool.ruff.lint.mccabe]\nmax-complexity = 20\n'
    )
    text = branchy("tangled", 12)
    on = await editors.start(workspace, state_dir, capabilities=VS_CODE)
    uri = on.open("a.py", text)
    (found,) = await published(on, uri, lambda c: c == ["C901"])
    assert found.message.endswith("of 13 (threshold 10)")
    off = await editors.start(
        workspace, state_dir / "off", capabilities=VS_CODE, settings={"complexityEnabled": False}
    )
    uri = off.open("a.py", text + "import os\n")
    await published(off, uri, lambda c: c == ["F401"])
    assert codes(off, uri) == ["F401"], "the project's threshold (20) is not reached"
