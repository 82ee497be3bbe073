"""Which folder ``shim mcp`` without --workspace works in, from the client's roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from shim_lsp.mcp.roots import choose


def test_a_root_that_is_the_home_folder_or_slash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    project = tmp_path / "project"
    project.mkdir()
    for root in (tmp_path, Path("/")):
        choice = choose([root.as_uri()], project)
        assert choice.folder is None
        assert f"root is {root}, not a project" in (choice.refused or "")
    assert choose([project.as_uri(), "https://example.com/x"], tmp_path).folder == project
    assert choose(None, project).folder == project
    assert choose([], Path("/")).folder is None
