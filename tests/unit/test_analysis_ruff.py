"""The analysis package without a server: ruff run on text, its findings, fixes and noqa."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shim_lsp.analysis import findings, noqa, ruff, ruff_command
from shim_lsp.analysis.findings import Replacement, Spot


def binary() -> str:
    found = ruff.find_ruff(None)
    assert isinstance(found, str), found
    return found


async def test_findings_count_columns_in_code_points_after_astral_characters(
    tmp_path: Path,
) -> None:
    text = 'x = "\U0001f600"; import os\n'
    found = await ruff.check(binary(), text, tmp_path / "a.py", ruff.RuffOptions(select=("F",)))
    assert isinstance(found, list)
    (unused,) = found
    assert unused.code == "F401"
    assert unused.start == Spot(0, text.index("os"))
    assert unused.end == Spot(0, text.index("os") + 2)
    assert unused.url is not None and unused.url.endswith("/unused-import")
    assert unused.tags == {"unnecessary"}
    assert unused.noqa_line == 0
    assert unused.fix is not None and unused.fix.applicability == "safe"


async def test_deprecated_rules_are_tagged_deprecated(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff]\ntarget-version = "py311"\n')
    found = await ruff.check(
        binary(), "import mock\n", tmp_path / "a.py", ruff.RuffOptions(select=("UP026",))
    )
    assert isinstance(found, list)
    assert [(f.code, set(f.tags)) for f in found] == [("UP026", {"deprecated"})]


async def test_the_nearest_project_configuration_decides_the_rules(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    nested = tmp_path / "pkg"
    nested.mkdir()
    (nested / "ruff.toml").write_text('[lint]\nselect = ["E741"]\n')
    text = "import os\nl = 1\n"
    top = await ruff.check(binary(), text, tmp_path / "a.py", ruff.RuffOptions())
    below = await ruff.check(binary(), text, nested / "b.py", ruff.RuffOptions())
    assert isinstance(top, list) and isinstance(below, list)
    assert [f.code for f in top] == ["F401"]
    assert [f.code for f in below] == ["E741"]


async def test_fix_true_in_the_configuration_never_rewrites_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nfix = true\n[tool.ruff.lint]\nselect = ["F", "I"]\n'
    )
    path = tmp_path / "a.py"
    path.write_text("import sys\nimport os\n")
    found = await ruff.check(binary(), "import sys\nimport os\n", path, ruff.RuffOptions())
    fixed = await ruff.fixed(binary(), "import sys\nimport os\n", path, ruff.RuffOptions())
    assert isinstance(found, list) and {f.code for f in found} == {"I001", "F401"}
    assert fixed == ""
    assert path.read_text() == "import sys\nimport os\n"
    assert not (tmp_path / ".ruff_cache").exists()


async def test_fixes_are_safe_unless_unsafe_ones_are_asked_for(tmp_path: Path) -> None:
    text = "def f():\n    unused = 1\n"
    path = tmp_path / "a.py"
    safe = await ruff.fixed(binary(), text, path, ruff.RuffOptions(select=("F841",)))
    unsafe = await ruff.fixed(
        binary(), text, path, ruff.RuffOptions(select=("F841",), unsafe_fixes=True)
    )
    assert safe == text
    assert unsafe == "def f():\n    pass\n"


async def test_organize_imports_sorts_even_where_the_project_does_not_select_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E"]\n')
    text = "import sys\nimport os\n\nprint(os, sys)\n"
    done = await ruff.fixed(
        binary(), text, tmp_path / "a.py", ruff.RuffOptions(), only=ruff.ORGANIZE_IMPORTS
    )
    assert done == "import os\nimport sys\n\nprint(os, sys)\n"


async def test_an_excluded_file_has_no_findings_and_fixes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff]\nexclude = ["gen.py"]\n')
    path = tmp_path / "gen.py"
    assert await ruff.check(binary(), "import os\n", path, ruff.RuffOptions()) == []
    assert await ruff.fixed(binary(), "import os\n", path, ruff.RuffOptions()) == "import os\n"


async def test_a_syntax_error_is_a_finding_without_code_or_noqa(tmp_path: Path) -> None:
    found = await ruff.check(binary(), "def f(:\n", tmp_path / "a.py", ruff.RuffOptions())
    assert isinstance(found, list) and found
    assert all(f.code is None and f.noqa_line is None for f in found)
    assert all(f.message.startswith("SyntaxError: ") for f in found)
    assert not any(f.message.startswith("SyntaxError: SyntaxError") for f in found)


def test_a_missing_configured_ruff_is_a_failure_naming_it(tmp_path: Path) -> None:
    found = ruff.find_ruff(str(tmp_path / "nope" / "ruff"))
    assert isinstance(found, ruff.RuffFailure)
    assert str(tmp_path / "nope" / "ruff") in found.message


async def test_a_ruff_that_fails_is_a_failure_with_what_it_said(tmp_path: Path) -> None:
    script = tmp_path / "ruff"
    script.write_text("#!/bin/sh\necho 'something broke' >&2\nexit 2\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    found = ruff.find_ruff(str(script))
    assert found == str(script)
    result = await ruff.check(found, "x = 1\n", tmp_path / "a.py", ruff.RuffOptions())
    assert isinstance(result, ruff.RuffFailure)
    assert "exit status 2" in result.message and "something broke" in result.message


async def test_an_unknown_rule_in_the_selection_is_a_failure(tmp_path: Path) -> None:
    result = await ruff.check(
        binary(), "x = 1\n", tmp_path / "a.py", ruff.RuffOptions(select=("NOPE1",))
    )
    assert isinstance(result, ruff.RuffFailure)
    assert "NOPE1" in result.message


async def test_a_ruff_that_hangs_is_stopped(tmp_path: Path) -> None:
    script = tmp_path / "ruff"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    result = await ruff.check(str(script), "", tmp_path / "a.py", ruff.RuffOptions(), timeout=0.5)
    assert isinstance(result, ruff.RuffFailure) and "more than 0.5 s" in result.message


def test_replacements_count_code_points_and_every_line_end() -> None:
    text = "a\r\n\U0001f600bc\rd\n"
    done = findings.apply(
        text,
        [Replacement(Spot(1, 1), Spot(1, 2), "B"), Replacement(Spot(2, 0), Spot(3, 0), "")],
    )
    assert done == "a\r\n\U0001f600Bc\r"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("import os\n", "import os  # noqa: F401\n"),
        ("import os  # a comment\n", "import os  # a comment  # noqa: F401\n"),
        ("import os  # noqa: E501\n", "import os  # noqa: E501, F401\n"),
        ("import os  #noqa:E501,W291 why\n", "import os  #noqa:E501,W291, F401 why\n"),
        ("import os  # noqa: F401\n", "import os  # noqa: F401\n"),
        ("import os  # noqa\n", "import os  # noqa\n"),
        ('s = "# noqa: E501"; import os\n', 's = "# noqa: E501"; import os  # noqa: F401\n'),
        ("import os", "import os  # noqa: F401"),
        ("import os   \r\n", "import os  # noqa: F401\r\n"),
    ],
)
def test_noqa_is_added_or_appended_to_the_comment_on_the_line(line: str, expected: str) -> None:
    assert noqa.with_noqa(f"x = 1\n{line}", 1, "F401") == f"x = 1\n{expected}"


def test_noqa_goes_after_a_multiline_string_on_its_last_line() -> None:
    text = 'x = """\n# noqa: E501\n"""; import os\n'
    assert (
        noqa.with_noqa(text, 2, "F401") == 'x = """\n# noqa: E501\n"""; import os  # noqa: F401\n'
    )


async def test_a_lone_surrogate_is_checked_in_place_but_never_fixed(tmp_path: Path) -> None:
    text = 's = "\ud800"; import os\n'  # an editor may hold one; UTF-8 cannot
    found = await ruff.check(binary(), text, tmp_path / "a.py", ruff.RuffOptions(select=("F",)))
    assert isinstance(found, list)
    assert [(f.code, f.start) for f in found] == [("F401", Spot(0, text.index("os")))]
    fixed = await ruff.fixed(binary(), text, tmp_path / "a.py", ruff.RuffOptions())
    assert isinstance(fixed, ruff.RuffFailure) and "surrogate" in fixed.message


def test_the_ruff_found_in_a_virtual_environment_is_the_one_ruffs_finder_gives() -> None:
    """Found without ruff's finder (sysconfig) where it can be: the same binary."""
    from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

    assert ruff.find_ruff(None) == str(find_ruff_bin())


def test_the_ruff_beside_the_imported_package_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the extension's bundle (a `pip install --target` layout) the binary sits in
    <libs>/bin beside the ruff package: that one, not a ruff the interpreter has elsewhere."""
    import ruff as ruff_package  # type: ignore[import-untyped]

    (tmp_path / "ruff").mkdir()
    (tmp_path / "bin").mkdir()
    bundled = tmp_path / "bin" / "ruff"
    bundled.write_text("#!/bin/sh\nexit 0\n")
    bundled.chmod(0o755)
    monkeypatch.setattr(ruff_package, "__file__", str(tmp_path / "ruff" / "__init__.py"))
    assert ruff.find_ruff(None) == str(bundled)
    bundled.chmod(0o644)
    assert ruff.find_ruff(None) != str(bundled), "not an executable: the installed one"


def test_rule_selections_reach_ruff_as_one_word_each_never_as_an_option() -> None:
    options = ruff.RuffOptions(select=("--fix",), ignore=("E501", "W"))
    assert ruff_command._selection(options) == ["--select=--fix", "--ignore=E501,W"]
