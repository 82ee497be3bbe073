"""``shim analyze`` from a terminal: ruff's findings and complexity, a linter's exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_analysis_workspace import logging_ruff

SELECT_F = '[tool.ruff.lint]\nselect = ["F"]\n'


def analyze(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``shim analyze`` in ``cwd``, its state folder (the link search's) beside it."""
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "analyze", *args],
        cwd=cwd,
        env={**os.environ, "SHIM_STATE_DIR": str(cwd.parent / "state")},
        capture_output=True,
        text=True,
        timeout=60,
    )


def project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(SELECT_F)
    (root / "pkg").mkdir()
    (root / "pkg" / "a.py").write_text("import os\n")
    (root / "pkg" / "ok.py").write_text("print(1)\n")
    return root


def test_findings_print_as_ruffs_concise_lines_and_exit_1(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    done = analyze(root)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    assert "Found 1 finding in 1 file." in done.stderr


def test_no_findings_exit_0(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    done = analyze(root, "pkg/ok.py")
    assert (done.returncode, done.stdout) == (0, "")


def test_json_has_the_complexity_score_and_select_narrows(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(3))
    (root / "pkg" / "c.py").write_text(f"def tangled(x):\n{body}    return -1\n")
    done = analyze(root, "--json", "--complexity-threshold", "2", "pkg")
    assert done.returncode == 1
    found = {(f["path"], f["code"]): f for f in json.loads(done.stdout)}
    assert set(found) == {("pkg/a.py", "F401"), ("pkg/c.py", "C901")}
    c901 = found["pkg/c.py", "C901"]
    assert c901["message"] == "`tangled` has a cyclomatic complexity of 4 (threshold 2)"
    assert (c901["severity"], c901["line"], c901["column"]) == ("information", 1, 5)
    only = analyze(root, "--json", "--select", "C901", "--complexity-threshold", "2", "pkg")
    assert [f["code"] for f in json.loads(only.stdout)] == ["C901"]


def test_a_path_outside_the_current_folder_is_analysed_with_its_own_configuration(
    tmp_path: Path,
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (here / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["E"]\n')
    other = project(tmp_path / "other")
    done = analyze(here, str(other / "pkg"))
    assert done.returncode == 1
    assert done.stdout == f"{other / 'pkg' / 'a.py'}:1:8: F401 `os` imported but unused\n"


def test_a_non_python_file_is_left_out_and_said(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "notes.txt").write_text("hello\n")
    done = analyze(root, "notes.txt")
    assert (done.returncode, done.stdout) == (0, "")
    assert "notes.txt: not a Python file" in done.stderr


def test_an_invalid_python_file_is_a_syntax_error_finding(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "bad.py").write_text("def f(:\n")
    done = analyze(root, "--json", "bad.py")
    assert done.returncode == 1
    found = json.loads(done.stdout)
    assert found and all(f["code"] is None and f["severity"] == "error" for f in found)
    assert all(f["message"].startswith("SyntaxError: ") for f in found)


def test_usage_errors_a_missing_path_and_a_missing_ruff_exit_2(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    assert analyze(root, "--no-such-option").returncode == 2
    missing = analyze(root, "nope.py")
    assert missing.returncode == 2 and "nope.py: no such file or folder" in missing.stderr
    no_ruff = analyze(root, "--ruff-path", str(tmp_path / "none"))
    assert no_ruff.returncode == 2 and "ruff not found" in no_ruff.stderr
    bad_rule = analyze(root, "--select", "NOPE999")
    assert bad_rule.returncode == 2 and "ruff" in bad_rule.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "pkg" / "many.py").write_text("".join(f"import m{i}\n" for i in range(3000)))
    shim = subprocess.Popen(
        [sys.executable, "-m", "shim_lsp.cli", "analyze"],
        cwd=root,
        env={**os.environ, "SHIM_STATE_DIR": str(tmp_path / "state")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert shim.stdout is not None and shim.stderr is not None
    shim.stdout.readline()
    shim.stdout.close()  # as `| head -1` does
    errors = shim.stderr.read().decode()
    assert shim.wait(timeout=60) == 1
    assert "Traceback" not in errors and "BrokenPipe" not in errors


def test_a_complexity_threshold_out_of_the_settings_bounds_is_a_usage_error(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p")
    for bad in ("-1", "0", "1001", "ten"):
        done = analyze(root, "--complexity-threshold", bad)
        assert done.returncode == 2
        assert "--complexity-threshold must be between 1 and 1000" in done.stderr
    assert analyze(root, "--complexity-threshold", "1000").returncode == 1


def test_type_check_adds_mypys_findings_under_the_projects_configuration(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    with (root / "pyproject.toml").open("a") as config:
        config.write("[tool.mypy]\ndisallow_untyped_defs = true\n")
    (root / "pkg" / "t.py").write_text('def f(x):\n    return x\n\n\nn: int = "\u00e9"\n')
    before = sorted(root.rglob("*"))
    done = analyze(root, "--type-check", "pkg")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "pkg/a.py:1:8: F401 `os` imported but unused",
        "pkg/t.py:1:1: no-untyped-def Function is missing a type annotation",
        'pkg/t.py:5:10: assignment Incompatible types in assignment (expression has type "str",'
        ' variable has type "int")',
    ]
    assert sorted(root.rglob("*")) == before  # no .dmypy.json, no .mypy_cache
    missing = analyze(root, "--type-check", "--type-checker-path", "no/dmypy", "pkg")
    assert missing.returncode == 2
    assert "no/dmypy is not an executable file" in missing.stderr
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# no Python here\n")
    nothing = analyze(root, "--type-check", "docs")
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "All checks passed.\n")


def test_a_failing_mypy_leaves_ruffs_findings_and_says_why_in_one_line(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    with (root / "pyproject.toml").open("a") as config:
        config.write('[tool.mypy]\nplugins = ["no_such_plugin_of_shim"]\n')
    done = analyze(root, "--type-check", "pkg")
    assert done.returncode == 2
    assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    [said] = done.stderr.splitlines()
    assert said.startswith("shim: mypy") and "no_such_plugin_of_shim" in said, said
    assert "{" not in said


def test_secrets_and_links_leading_outside_are_never_printed(tmp_path: Path) -> None:
    """Findings quote the code (``Undefined name `ghp_...```): a secret file (by its name or
    by what a link leads to) or a link leading out of the folder checked is left out, by
    ruff's findings and by mypy's alike, as the server leaves them out."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(SELECT_F)
    (root / "main.py").write_text(
        'import settings\nimport cfg\n\nprint(settings, cfg)\nchecked: int = "main"\n'
    )
    # Each file SHIM must not read stops mypy if it is read: none is Python (a shell line, a
    # key, a line cut short), so a read one is a blocking error, and main.py goes unchecked.
    (root / ".env").write_text("API_KEY = ghp_secretvalue999\nexport MODE=dev\n")
    (root / "settings.py").symlink_to(root / ".env")
    (root / "id_rsa_old.py").write_text("KEY = id_rsa_priv_material\n-----END KEY\n")
    outside = tmp_path / "out"
    outside.mkdir()
    (outside / "leak.py").write_text('PASSWORD: int = "outside-secret"\nx = outside_name\ny = (\n')
    (root / "cfg.py").symlink_to(outside / "leak.py")
    (root / "linkdir").symlink_to(outside)
    # Settings leading out in a subfolder: it is left out, said once; the rest is checked.
    (outside / "bad.toml").write_text('token = "outside-toml"\n[')
    (root / "sub").mkdir()
    (root / "sub" / "pyproject.toml").symlink_to(outside / "bad.toml")
    (root / "sub" / "b.py").write_text("import os\n")
    for extra in ((), ("--type-check",)):
        done = analyze(root, *extra)
        shown = done.stdout + done.stderr
        note = f"shim: {root / 'sub'} was not analysed: its pyproject.toml is a link leading"
        assert done.stderr.count(note) == 1 and "outside-toml" not in shown, shown
        assert "b.py" not in done.stdout, shown
        for secret in ("ghp_secretvalue999", "id_rsa_priv_material", "outside_name", "linkdir"):
            assert secret not in shown, (extra, shown)
        assert "cfg.py" not in shown and "settings.py" not in shown, (extra, shown)
        typed = "main.py:5:16: assignment Incompatible types in assignment (expression has type"
        assert (typed in shown, done.returncode) == ((True, 1) if extra else (False, 0)), shown
    # The file named itself: ruff would read its folder's settings, leading out: not run.
    named = analyze(root, "sub/b.py")
    assert named.returncode == 2 and "outside-toml" not in named.stdout + named.stderr, named
    assert f"{root / 'sub' / 'pyproject.toml'} is a link leading outside" in named.stderr, named
    # A link added after a search its state folder keeps: found all the same, and kept from
    # ruff (which would read it: its findings are left out after it, too).
    (root / "late.py").symlink_to(outside / "leak.py")
    ruff, runs = logging_ruff(tmp_path)
    done = analyze(root, "--ruff-path", str(ruff))
    assert done.returncode == 0 and "late.py" not in done.stdout + done.stderr, done
    assert f"--extend-exclude {root / 'late.py'}" in runs.read_text()


def test_a_named_path_that_a_link_leads_outside_is_left_out_and_said(tmp_path: Path) -> None:
    """Naming a link (or a path through one) does not make SHIM read outside the folder it
    runs in, as a folder run leaves the link out."""
    root = project(tmp_path / "p")
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.py").write_text("x = SUPERSECRET_outside_name\n")
    (outside / "dir" / "inner.py").write_text("y = SUPERSECRET_inner_name\n")
    (root / "link.py").symlink_to(outside / "secret.py")
    (root / "ldir").symlink_to(outside / "dir")
    for named in ("link.py", "ldir", "ldir/inner.py"):
        done = analyze(root, named)
        said = done.stdout + done.stderr
        assert "SUPERSECRET" not in said, (named, said)
        assert f"shim: {named}: a link leads it outside the current folder, left out" in said
        assert done.returncode == 0, (named, said)
    # Beside a path that is inside, only the link is left out.
    both = analyze(root, "link.py", "pkg")
    assert both.returncode == 1 and "F401" in both.stdout and "SUPERSECRET" not in both.stdout
