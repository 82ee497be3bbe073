"""``shim analyze`` from a terminal: ruff's findings and complexity, a linter's exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_analysis_workspace import logging_ruff

from shim_lsp.analysis import sandbox

SELECT_F = '[tool.ruff.lint]\nselect = ["F"]\n'


def not_for_ruff(folder: Path, outside: Path, kind: str) -> None:
    """``o\\377.py`` in ``folder``, a name that is not UTF-8, which ruff must not read: a
    FIFO (``kind``), or a link to ``outside/outside.py`` (holding ``hunter2_outside``)."""
    (outside / "outside.py").write_text("x = hunter2_outside\n")
    odd = os.path.join(os.fsencode(folder), b"o\xff.py")
    if kind == "FIFO":
        os.mkfifo(odd)
    else:
        os.symlink(outside / "outside.py", odd)


def analyze(
    cwd: Path,
    *args: str,
    prefix: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``shim analyze`` in ``cwd``, its state folder (the link search's) beside it;
    ``prefix``: a command that runs it (``setpriv ...``)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "shim_lsp.cli", "analyze", *args],
        cwd=cwd,
        env={**os.environ, "SHIM_STATE_DIR": str(cwd.parent / "state"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
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
        said = "argument --complexity-threshold: must be a whole number from 1 to 1000"
        assert said in done.stderr, done.stderr
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
    assert missing.returncode == 1, "ruff's finding decides"
    assert "pkg/a.py:1:8: F401" in missing.stdout
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
    assert done.returncode == 1, "ruff's finding decides"
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
        assert "cfg.py" not in shown, (extra, shown)
        said = [line for line in shown.splitlines() if "settings.py" in line or "id_rsa" in line]
        assert said == [
            f"shim: {name}: 1 finding not shown: its name marks it as a secret file (.env,"
            " id_rsa*, *.pem...)"
            for name in ("id_rsa_old.py", "settings.py")
        ], (extra, shown)
        typed = "main.py:5:16: assignment Incompatible types in assignment (expression has type"
        assert typed in shown if extra else typed not in shown, shown
        assert done.returncode == 1, "the secret Python files' findings were withheld"
    # The file named itself: ruff would read its folder's settings, leading out: not run.
    named = analyze(root, "sub/b.py")
    assert named.returncode == 2 and "outside-toml" not in named.stdout + named.stderr, named
    assert f"{root / 'sub' / 'pyproject.toml'} is a link leading outside" in named.stderr, named
    # A link added after a search its state folder keeps: found all the same, and kept from
    # ruff (which would read it: its findings are left out after it, too).
    (root / "late.py").symlink_to(outside / "leak.py")
    ruff, runs = logging_ruff(tmp_path)
    done = analyze(root, "--ruff-path", str(ruff))
    assert done.returncode == 1 and "late.py" not in done.stdout + done.stderr, done
    assert f"--extend-exclude {root / 'late.py'}" in runs.read_text()


def test_the_findings_of_secret_python_files_in_a_folder_are_withheld_and_said(
    tmp_path: Path,
) -> None:
    """Ruff checks them, but their findings are never shown: each secret file with findings
    is one line, in ``--json`` too, counted in the summary, and the run is never clean; a
    secret folder's files are one line; a secret file ruff found nothing in is not said."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(SELECT_F)
    (root / "id_rsa.py").write_text('import os\nimport sys\nK = "SECRETPY"\n')
    (root / "innocent.py").symlink_to("id_rsa.py")
    (root / "id_rsa_clean.py").write_text('K = "CLEANSECRET"\n')
    (root / "ok.py").write_text("print(1)\n")
    (root / "keys.env" / "lib").mkdir(parents=True)
    (root / "keys.env" / "lib" / "x.py").write_text("import os\n")
    (root / "keys.env" / "y.py").write_text("import os\nimport re\n")
    why = "not shown: its name marks it as a secret file (.env, id_rsa*, *.pem...)"
    done = analyze(root)
    assert (done.returncode, done.stdout) == (1, ""), done
    assert done.stderr.splitlines() == [
        f"shim: id_rsa.py: 2 findings {why}",
        f"shim: innocent.py: 2 findings {why}",
        "shim: keys.env: 3 findings in its Python files not shown: its name marks it as a"
        " secret folder (.env, .ssh...)",
        "No findings shown; 7 findings in secret files not shown.",
    ], done.stderr
    listed = analyze(root, "--json", ".")
    assert listed.returncode == 1 and "SECRETPY" not in listed.stdout, listed
    assert [(f["path"], f["code"], f["message"]) for f in json.loads(listed.stdout)] == [
        ("id_rsa.py", "not-shown", f"2 findings {why}"),
        ("innocent.py", "not-shown", f"2 findings {why}"),
        (
            "keys.env",
            "not-shown",
            "3 findings in its Python files not shown: its name marks it as a secret folder"
            " (.env, .ssh...)",
        ),
    ]
    (root / "ok.py").write_text("import json\n")  # a finding shown beside those withheld
    both = analyze(root)
    assert both.stdout == "ok.py:1:8: F401 `json` imported but unused\n", both
    said = "Found 1 finding in 1 file; 7 findings in secret files not shown."
    assert both.stderr.splitlines()[-1] == said, both
    (root / "keys.env").rename(root / "keys")
    for name in ("id_rsa.py", "innocent.py", "ok.py"):
        (root / name).unlink()
    shown = analyze(root)  # the same files, no longer secret: checked and shown
    assert shown.stdout.splitlines() == [
        "keys/lib/x.py:1:8: F401 `os` imported but unused",
        "keys/y.py:1:8: F401 `os` imported but unused",
        "keys/y.py:2:8: F401 `re` imported but unused",
    ], shown
    assert shown.stderr == "Found 3 findings in 2 files.\n", shown
    (root / "keys").rename(root / "keys.env")
    for found in (root / "keys.env").rglob("*.py"):
        found.write_text("print(1)\n")
    clean = analyze(root)  # secret files with nothing found: nothing withheld, a clean run
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "All checks passed.\n")
    (root / "id_rsa.py").write_text("import os\n")
    one = analyze(root)
    assert one.stderr.splitlines()[-1] == "No findings shown; 1 finding in a secret file not shown."
    (root / "id_rsa.py").unlink()
    (root / "keys.env" / "y.py").write_text("import os\n")
    folder = analyze(root)
    said = "No findings shown; 1 finding in a secret folder not shown."
    assert folder.stderr.splitlines()[-1] == said, folder


def look_alike(folder: Path) -> None:
    """A link ``l\\377.py`` to a secret beside a file really named ``l\ufffd.py``: ruff
    names both ``l\ufffd.py``, and the secret's code (``undefined_SECRETSTRING``) would show
    under the other's name."""
    (folder / "id_rsa_tool.py").write_text("import os\nundefined_SECRETSTRING\n")
    os.symlink(b"id_rsa_tool.py", os.path.join(os.fsencode(folder), b"l\xff.py"))
    (folder / "l\ufffd.py").write_text("import sys\n")


@pytest.mark.parametrize("order", ["sandboxed", "safe order"])
def test_names_ruff_gives_alike_show_no_findings_and_each_is_said(
    tmp_path: Path, order: str
) -> None:
    """Tryout 12d, defect 1: the link's findings (the secret's) were printed as the real
    ``l\ufffd.py``'s. Whose they are cannot be told: none is shown, each file is said (its
    name quoted: the two stay apart), and counted."""
    env = _order(order)
    root = tmp_path / "p"
    root.mkdir()
    look_alike(root)
    done = analyze(root, env=env)
    assert (done.returncode, done.stdout) == (1, ""), done
    assert "SECRETSTRING" not in done.stderr
    why = "was not analysed: ruff names it as it names another file beside it (each byte"
    said = [line for line in done.stderr.splitlines() if why in line]
    assert [line.split(" was not")[0] for line in said] == [
        'shim: "l\\377.py"',
        "shim: l\ufffd.py",
    ], done.stderr
    assert done.stderr.splitlines()[-1].endswith("; 2 paths not analysed."), done.stderr
    listed = analyze(root, "--json", env=env)
    assert "SECRETSTRING" not in listed.stdout
    codes = sorted((f["path"], f["code"]) for f in json.loads(listed.stdout))
    assert codes == [
        ("id_rsa_tool.py", "not-shown"),
        ("l\ufffd.py", "not-analysed"),
        ("l\ufffd.py", "not-analysed"),
    ], codes
    # Both named: each said once (the link as a secret), counted once.
    named = analyze(root, os.fsdecode(b"l\xff.py"), "l\ufffd.py", env=env)
    assert named.stderr.count('"l\\377.py" was not analysed') == 1, named.stderr
    assert named.stderr.splitlines()[-1] == "No findings; 2 paths not analysed.", named.stderr


def test_odd_file_names_stay_one_finding_a_line_and_json_stays_valid_unicode(
    tmp_path: Path,
) -> None:
    """Ruff prints a newline in a name as it is (two lines for one finding) and U+FFFD for a
    byte that is not UTF-8: the text output quotes such a name as git does, with its bytes;
    ``--json`` keeps every name valid Unicode (U+FFFD there, as ruff's JSON)."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(SELECT_F)
    for name in ("new\nline.py", "sp ace.py", "é😀.py", 'q"uote.py'):
        (root / name).write_text("import os\n")
    with open(os.path.join(os.fsencode(root), b"b\xff.py"), "wb") as odd:
        odd.write(b"import os\n")
    done = analyze(root)
    assert done.returncode == 1, done
    said = " F401 `os` imported but unused"
    assert done.stdout.splitlines() == [
        f'"b\\377.py":1:8:{said}',
        f'"new\\nline.py":1:8:{said}',
        f'"q\\"uote.py":1:8:{said}',
        f"sp ace.py:1:8:{said}",
        f"é😀.py:1:8:{said}",
    ], done.stdout
    listed = analyze(root, "--json")
    assert sorted(f["path"] for f in json.loads(listed.stdout)) == sorted(
        ["b\ufffd.py", "new\nline.py", 'q"uote.py', "sp ace.py", "é😀.py"]
    )


def test_a_named_path_that_a_link_leads_outside_is_said_not_analysed_and_never_clean(
    tmp_path: Path,
) -> None:
    """Naming a link (or a path through one) does not make SHIM read outside the folder it
    runs in, as a folder run leaves the link out: nothing was checked there, so the run is
    never "All checks passed" (as a named secret)."""
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
        assert (done.returncode, done.stdout) == (1, ""), (named, said)
        assert done.stderr.splitlines() == [
            f"shim: {named} was not analysed: a link leads it outside the current folder,"
            " where SHIM does not read",
            "No findings; 1 path not analysed.",
        ], named
    all_three = analyze(root, "--json", "link.py", "ldir/inner.py", "ldir")
    assert all_three.returncode == 1 and "SUPERSECRET" not in all_three.stdout, all_three
    assert [(f["path"], f["code"]) for f in json.loads(all_three.stdout)] == [
        ("link.py", "not-analysed"),
        ("ldir/inner.py", "not-analysed"),
        ("ldir", "not-analysed"),
    ]
    # Beside a path that is inside, the link is said, the other checked.
    both = analyze(root, "link.py", "pkg")
    assert both.returncode == 1 and "F401" in both.stdout and "SUPERSECRET" not in both.stdout
    assert "Found 1 finding in 1 file; 1 path not analysed." in both.stderr, both


def unprivileged(unreadable: Path) -> tuple[str, ...]:
    """How to run SHIM so that ``unreadable`` (mode 000) cannot be read by it. Root reads
    any file (CAP_DAC_OVERRIDE): as root, SHIM runs without that capability and its
    directory-search twin (``setpriv``), staying root so everything else it reads stays
    reachable (``nobody`` could not reach an interpreter under root's 0700 home)."""
    unreadable.chmod(0)
    if os.geteuid() != 0:
        if os.access(unreadable, os.R_OK):
            pytest.skip("a file of mode 000 stays readable to this user (no permissions here)")
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, setpriv (util-linux) is needed to drop the read-any-file right")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def test_a_named_file_shim_cannot_read_or_a_secret_is_said_not_analysed_and_never_clean(
    tmp_path: Path,
) -> None:
    """Named, a file SHIM may not read, or whose name marks it secret, is one plain line
    (text and JSON), and the run exits 1 as ruff's E902 does: never "All checks passed"."""
    root = project(tmp_path / "p")
    (root / "pkg" / "locked.py").write_text("import sys\n")
    (root / ".env.py").write_text("TOKEN = ghp_named_secret_999\n")
    (root / "id_rsa_backup.py").write_text("KEY = id_rsa_named_material\n")
    prefix = unprivileged(root / "pkg" / "locked.py")
    done = analyze(root, "pkg/locked.py", prefix=prefix)
    assert (done.returncode, done.stdout) == (1, ""), done
    assert done.stderr.splitlines() == [
        "shim: pkg/locked.py was not analysed: SHIM may not read it (permission denied)",
        "No findings; 1 path not analysed.",
    ]
    both = analyze(root, "--json", "pkg/locked.py", "pkg/a.py", prefix=prefix)
    assert both.returncode == 1, both
    listed = {f["path"]: f for f in json.loads(both.stdout)}
    assert listed["pkg/a.py"]["code"] == "F401"
    assert listed["pkg/locked.py"]["code"] == "not-analysed"
    assert listed["pkg/locked.py"]["message"] == (
        "not analysed: SHIM may not read it (permission denied)"
    )
    assert "pkg/locked.py was not analysed" in both.stderr
    for secret in (".env.py", "id_rsa_backup.py"):
        told = analyze(root, secret, prefix=prefix)
        assert (told.returncode, told.stdout) == (1, ""), told
        assert told.stderr.startswith(
            f"shim: {secret} was not analysed: its name marks it as a secret file"
        ), told
        assert "All checks passed" not in told.stderr and "_named_" not in told.stderr
    # In a folder, the file left out is said the same way, beside the others' findings, and
    # so is a folder SHIM may not list (ruff says only "Permission denied", naming none).
    (root / "pkg" / "vault").mkdir()
    (root / "pkg" / "vault" / "v.py").write_text("import json\n")
    (root / "pkg" / "vault").chmod(0)
    whole = analyze(root, "pkg", prefix=prefix)
    assert whole.returncode == 1 and whole.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    assert whole.stderr.splitlines() == [
        "shim: pkg/locked.py was not analysed: SHIM may not read it (permission denied)",
        "shim: pkg/vault was not analysed: SHIM may not list this folder (permission denied),"
        " nor any file in it",
        "Found 1 finding in 1 file; 2 paths not analysed.",
    ], whole
    # Mypy is not given what SHIM cannot read (it would stop on it): its findings still come.
    (root / "pkg" / "t.py").write_text('n: int = "x"\n')
    typed = analyze(root, "--type-check", "pkg", prefix=prefix)
    assert typed.returncode == 1, typed
    assert "pkg/t.py:1:10: assignment Incompatible types" in typed.stdout, typed
    assert "mypy" not in typed.stderr and "pkg/locked.py was not analysed" in typed.stderr
    named = analyze(root, "pkg/vault", prefix=prefix)
    assert (named.returncode, named.stdout) == (1, ""), named
    assert "shim: pkg/vault was not analysed: SHIM may not list this folder" in named.stderr
    (root / "pkg" / "vault").chmod(0o755)  # for the temporary folder's removal


def test_a_named_path_shim_cannot_reach_is_said_not_analysed_never_a_traceback(
    tmp_path: Path,
) -> None:
    """A path named through a folder SHIM may not search (mode 000), through a loop of
    links, or too long for the system is one plain line each, as the walk says such a
    file, in both forms of output; the rest is still checked."""
    root = project(tmp_path / "p")
    (root / "ld").mkdir()
    (root / "ld" / "m.py").write_text("import sys\n")
    (root / "loop").symlink_to(root / "loop")
    long = "x" * 300 + ".py"
    prefix = unprivileged(root / "ld")
    try:
        done = analyze(root, "ld/m.py", "loop/x.py", long, "pkg/a.py", prefix=prefix)
        assert (done.returncode, done.stdout) == (
            1,
            "pkg/a.py:1:8: F401 `os` imported but unused\n",
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.splitlines() == [
            "shim: ld/m.py was not analysed: SHIM may not read it (permission denied)",
            "shim: loop/x.py was not analysed: it cannot be read (Too many levels of symbolic"
            " links)",
            f"shim: {long} was not analysed: it cannot be read (File name too long)",
            "Found 1 finding in 1 file; 3 paths not analysed.",
        ], done.stderr
        listed = analyze(root, "--json", "ld/m.py", prefix=prefix)
        assert listed.returncode == 1, listed
        assert json.loads(listed.stdout)[0]["message"] == (
            "not analysed: SHIM may not read it (permission denied)"
        )
    finally:
        (root / "ld").chmod(0o755)  # for the temporary folder's removal


def test_links_leading_nowhere_or_in_a_loop_are_one_plain_line_each_not_a_ruff_io_error(
    tmp_path: Path,
) -> None:
    """Whatever the rule selection (ruff's default includes E902, the project's here does
    not), a dangling link or a loop is said as left out, the same words as the server's."""
    root = project(tmp_path / "p")
    (root / "gone.py").symlink_to(root / "missing.py")
    (root / "far.py").symlink_to(tmp_path / "nowhere" / "x.py")
    (root / "pkg" / "loop.py").symlink_to(root / "pkg" / "loop.py")
    said = [
        f"shim: far.py was not analysed: it is a link to {tmp_path / 'nowhere' / 'x.py'},"
        " which does not exist",
        f"shim: gone.py was not analysed: it is a link to {root / 'missing.py'}, which does"
        " not exist",
        "shim: pkg/loop.py was not analysed: it is a link that leads round in a loop, to no file",
    ]
    for select in ((), ("--select", "E9,F")):
        done = analyze(root, *select)
        assert done.returncode == 1, done
        assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n", done
        assert done.stderr.splitlines() == [
            *said,
            "Found 1 finding in 1 file; 3 paths not analysed.",
        ], done
        assert "E902" not in done.stdout + done.stderr
    named = analyze(root, "--json", "pkg/loop.py", "gone.py")
    assert named.returncode == 1, named
    assert [(f["path"], f["code"]) for f in json.loads(named.stdout)] == [
        ("pkg/loop.py", "not-analysed"),
        ("gone.py", "not-analysed"),
    ]
    # Tryout 12e: a dangling link named without .py stopped the run ("no such file").
    (root / "dd").symlink_to("nowhere")
    beside = analyze(root, "pkg/a.py", "dd")
    assert (beside.returncode, beside.stdout) == (
        1,
        "pkg/a.py:1:8: F401 `os` imported but unused\n",
    )
    assert "shim: dd was not analysed: it is a link to nowhere, which does not exist" in (
        beside.stderr.splitlines()
    ), beside.stderr


def test_type_check_without_mypy_still_prints_ruffs_findings_and_says_why_in_one_line(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p")
    missing = str(tmp_path / "no" / "dmypy")
    done = analyze(root, "--type-check", "--type-checker-path", missing)
    assert done.returncode == 1, done
    assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    assert done.stderr.splitlines() == [
        f"shim: mypy's daemon not found: {missing} is not an executable file; ruff's findings only"
    ]
    listed = analyze(root, "--json", "--type-check", "--type-checker-path", missing)
    assert [f["code"] for f in json.loads(listed.stdout)] == ["F401"]
    # No finding, but the type check asked for did not run: not a clean run either.
    clean = analyze(root, "--type-check", "--type-checker-path", missing, "pkg/ok.py")
    assert (clean.returncode, clean.stdout) == (2, ""), clean
    assert "All checks passed" not in clean.stderr and "not an executable file" in clean.stderr


ORDERS = {"sandboxed": {}, "safe order": {sandbox.DISABLE_ENV: "1"}}


def _order(order: str) -> dict[str, str]:
    if order == "sandboxed" and not sandbox.available():
        pytest.skip("no Landlock on this kernel")
    return ORDERS[order]


@pytest.mark.parametrize("order", ORDERS)
def test_fifos_never_hold_the_run_what_is_left_out_is_said(tmp_path: Path, order: str) -> None:
    """Plain ``ruff check`` waits for ever on each of these FIFOs; ``shim analyze`` answers in
    seconds (bounded here: a hang is a failure) with the other files' findings."""
    env = _order(order)
    root = project(tmp_path / "p")
    os.mkfifo(root / "pipe.py")
    os.mkfifo(root / "pkg" / ".gitignore")
    done = analyze(root, env=env, timeout=30)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    assert f"shim: left out: {root / 'pipe.py'} is not a regular file (a FIFO)" in done.stderr
    assert "shim: ruff ran without ignore files (.gitignore, .ignore, git's excludes)" in (
        done.stderr
    )
    named = analyze(root, "pipe.py", env=env, timeout=30)
    assert (named.returncode, named.stdout) == (0, ""), named.stderr
    assert "shim: pipe.py: not a regular file, left out" in named.stderr
    # Settings extending a FIFO outside: sandboxed, refused at once; never opened after.
    (tmp_path / "outside").mkdir()
    os.mkfifo(tmp_path / "outside" / "fifo")
    (root / "ruff.toml").write_text('extend = "../outside/fifo"\n')
    done = analyze(root, env=env, timeout=30)
    assert done.returncode == 2, done.stderr
    assert f"{root / 'ruff.toml'} extends {tmp_path / 'outside' / 'fifo'}, which is a FIFO" in (
        done.stderr
    )


@pytest.mark.parametrize("order", ORDERS)
def test_outside_settings_and_ignore_files_are_never_shown_nor_read(
    tmp_path: Path, order: str
) -> None:
    env = _order(order)
    root = project(tmp_path / "p")
    outside = tmp_path / "outside"
    outside.mkdir()
    # An ignore file linked outside: its patterns (outside content) decide nothing.
    (outside / "gi").write_text("pkg/\n")
    (root / ".git").mkdir()
    (root / ".gitignore").symlink_to(outside / "gi")
    done = analyze(root, env=env, timeout=30)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "pkg/a.py:1:8: F401 `os` imported but unused\n"
    if order == "safe order":
        assert f"{root / '.gitignore'} is a link leading outside the workspace" in done.stderr
    # A broken TOML the settings extend from outside: named, never quoted.
    (root / ".gitignore").unlink()
    (outside / "base.toml").write_text('token = "outside-secret" [\n')
    (root / "ruff.toml").write_text('extend = "../outside/base.toml"\n')
    done = analyze(root, env=env, timeout=30)
    assert done.returncode == 2, done.stderr
    assert "outside-secret" not in done.stdout + done.stderr
    assert f"Failed to parse {outside / 'base.toml'}" in done.stderr


@pytest.mark.parametrize("order", ORDERS)
def test_a_socket_named_like_python_is_left_out_alike_in_both_orders(
    tmp_path: Path, order: str
) -> None:
    """Tryout 12b, defect 5: sandboxed, ruff's open of the socket failed (ENXIO) and it was
    "not analysed", exit 1; in the safe order the search left it out, exit 0. Now both say
    it is left out, as a FIFO is: it holds no source, so it is no finding and no failure."""
    import socket

    env = _order(order)
    root = tmp_path / "c_sock"
    root.mkdir()
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(root / "s.py"))
        done = analyze(root, env=env, timeout=30)
        listed = analyze(root, "--json", env=env, timeout=30)
    said = f"shim: left out: {root / 's.py'} is not a regular file (a socket)\n"
    assert (done.returncode, done.stdout, done.stderr) == (0, "", said + "All checks passed.\n")
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]"), listed.stderr


@pytest.mark.parametrize("target", ["inside", "outside"])
@pytest.mark.parametrize("order", ORDERS)
def test_a_subfolders_settings_extending_a_fifo_stop_the_run_in_seconds(
    tmp_path: Path, order: str, target: str
) -> None:
    """Tryout 12b, defect 1 (its ``repro_hang.sh in|out``): hung past 60 s in both orders
    (the outside FIFO: in the safe order). Now exit 2 at once, naming both files."""
    env = _order(order)
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "b.py").write_text("import os\n")
    (root / "sub" / "a.py").write_text("import os\n")
    fifo = (root / "f" if target == "inside" else tmp_path / "out") / "fifo"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    (root / "sub" / "ruff.toml").write_text(f'extend = "{os.path.relpath(fifo, root / "sub")}"\n')
    started = time.monotonic()
    done = analyze(root, env=env, timeout=30)
    assert time.monotonic() - started < 10
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    said = f"shim: {root / 'sub' / 'ruff.toml'} extends {fifo}, which is a FIFO, not a regular"
    assert done.stderr.startswith(said), done.stderr
    assert done.stderr.count("\n") == 1, "one line"


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
@pytest.mark.parametrize("order", ORDERS)
def test_an_ignore_file_linked_outside_is_said_to_lead_out_never_what_it_is(
    tmp_path: Path, order: str, target: str
) -> None:
    """Tryout 12b, defect 9: in the safe order a ``.gitignore`` linked to a FIFO or a device
    outside got two lines, the first naming the type of the file outside. One line now, in
    both orders, saying only that it leads outside."""
    env = _order(order)
    root = project(tmp_path / "p")
    (tmp_path / "outside").mkdir()
    if target == "fifo":
        os.mkfifo(tmp_path / "outside" / "fifo")
    (root / ".gitignore").symlink_to(tmp_path / "outside" / "fifo" if target == "fifo" else target)
    done = analyze(root, env=env, timeout=30)
    assert (done.returncode, done.stdout) == (1, "pkg/a.py:1:8: F401 `os` imported but unused\n")
    said = [line for line in done.stderr.splitlines() if line.startswith("shim: ")]
    assert said == [
        "shim: ruff ran without ignore files (.gitignore, .ignore, git's excludes), so files"
        f" they name were checked too: {root / '.gitignore'} is a link leading outside the"
        " workspace, which SHIM never reads (make it a file, or remove it)"
    ], done.stderr


def test_ruff_starts_before_what_shim_analyze_needs_only_after_it_loads(tmp_path: Path) -> None:
    """Ruff is the long pole: logging (and its traceback, tokenize), the settings, pathspec,
    attrs and the JSON reader load once ruff runs, beside it, and shutil (argparse's
    terminal width, loading zlib, bz2 and lzma) and sysconfig (ruff's finder) not at all;
    the log is set up all the same (a warning after is worded as every command's)."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.py").write_text("import os\n")
    late = ["logging", "traceback", "shim_lsp.settings", "pathspec", "attrs", "json", "shutil"]
    if sys.prefix != sys.base_prefix:  # ruff found in the venv's bin, without sysconfig
        late.append("sysconfig")
    code = f"""
import subprocess, sys
started = subprocess.Popen.__init__
def init(self, *args, **kwargs):
    if not hasattr(sys, "loaded_at_ruff"):
        sys.loaded_at_ruff = sorted(m for m in {late!r} if m in sys.modules)
    started(self, *args, **kwargs)
subprocess.Popen.__init__ = init
import atexit, os
from shim_lsp.cli import main
sys.argv = ["shim", "analyze", "."]
status = main()
import logging
logging.getLogger("shim_lsp.probe").warning("after the run")
print("loaded at ruff:", sys.loaded_at_ruff, file=sys.stderr)
sys.exit(status)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "F401" in done.stdout, done
    assert "loaded at ruff: []" in done.stderr, done.stderr
    assert "WARNING shim_lsp.probe: after the run" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "words",
    [["analyze"], ["analyze", "--json"], ["codemod", "--list"], ["codemod", "--list", "--json"]],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, words: list[str]
) -> None:
    """Tryout 12d: ``shim analyze >/dev/full`` ended in a traceback and exit 1 (a linter's
    "findings"). Now as ruff: one line naming the failure, exit 2."""
    root = project(tmp_path / "p")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "shim_lsp.cli", *words],
            cwd=root,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert "shim: cannot write the output: No space left on device" in done.stderr.splitlines()
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", [["analyze", "--help"], ["analyze", "--bogus"]])
def test_help_and_usage_fit_the_terminal(tmp_path: Path, command: list[str]) -> None:
    """Help and a usage error are wrapped to the terminal's width ($COLUMNS here), though
    the parser is built without reading it."""
    env = {**os.environ, "COLUMNS": "50"}
    done = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *command], capture_output=True, text=True, env=env
    )
    lines = (done.stdout + done.stderr).splitlines()
    assert "usage: shim" in lines[0] and len(lines) > 3, done
    long = [line for line in lines if len(line) > 50 and " " in line.strip()]
    assert not long, lines


@pytest.mark.parametrize("sub", ["sub", os.fsdecode(b"s\xff")])
@pytest.mark.parametrize("layout", ["extends", "linked", "in-secret-folder"])
def test_ruff_never_shows_what_it_quotes_of_a_secret_settings_file(
    tmp_path: Path, layout: str, sub: str
) -> None:
    """Ruff quotes the lines of a settings file it cannot parse: one that extends ``.env``,
    or is a link to it, or lies in a folder named ``.ssh``, would print a password. The file
    is named and said to be secret; nothing of it is shown. Tryout 12d: in a folder whose
    name is not UTF-8 (ruff names it with U+FFFD) the link was not judged, its quote shown."""
    root = tmp_path / "p"
    (root / sub).mkdir(parents=True)
    (root / ".env").write_text("PASS = hunter2-SECRET\n")
    (root / sub / "s.py").write_text("import os\n")
    if layout == "extends":
        (root / sub / "ruff.toml").write_text('extend = "../.env"\n')
    elif layout == "linked":
        (root / sub / "ruff.toml").symlink_to(root / ".env")
    else:
        (root / sub / ".ssh").mkdir()
        (root / sub / ".ssh" / "ruff.toml").write_text("PASS = hunter2-SECRET\n")
        (root / sub / ".ssh" / "k.py").write_text("import os\n")
    done = analyze(root)
    shown = done.stdout + done.stderr
    assert "hunter2" not in shown, shown
    assert done.returncode == 2, done
    assert "(what ruff quoted of it is not shown: its name marks it as a secret file)" in shown


def test_a_secret_folder_or_file_named_itself_is_judged_as_a_run_over_the_folder_above(
    tmp_path: Path,
) -> None:
    """``shim analyze .ssh`` or ``.ssh/conf.py``: the folder's name marks its files secret
    under the current folder, as a run from above finds them; never their findings."""
    root = tmp_path / "p"
    (root / ".ssh").mkdir(parents=True)
    (root / ".ssh" / "conf.py").write_text("def f():\n    hunter2_Password = 1\n")
    for named in (".ssh", ".ssh/conf.py", "."):
        done = analyze(root, named)
        shown = done.stdout + done.stderr
        assert "hunter2" not in shown and done.returncode == 1, (named, shown)
        assert "secret" in done.stderr, (named, shown)


NOTEBOOK = json.dumps(
    {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["import os\n"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1\n", "yy\n"]},
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
)


def test_a_notebooks_findings_keep_their_cells(tmp_path: Path) -> None:
    """Ruff places a notebook's findings in its cells: each line says which, as ruff's own
    output does, and ``--json`` gives the cell."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(SELECT_F)
    (root / "nb.ipynb").write_text(NOTEBOOK)
    done = analyze(root)
    assert done.stdout.splitlines() == [
        "nb.ipynb:cell 1:1:8: F401 `os` imported but unused",
        "nb.ipynb:cell 2:2:1: F821 Undefined name `yy`",
    ], done
    listed = json.loads(analyze(root, "--json", ".").stdout)
    assert [(f["cell"], f["line"], f["code"]) for f in listed] == [(1, 1, "F401"), (2, 2, "F821")]


@pytest.mark.parametrize("kind", ["link leading out", "FIFO"])
@pytest.mark.parametrize("order", ORDERS)
def test_a_name_not_in_utf8_that_ruff_must_not_read_leaves_the_rest_analysed(
    tmp_path: Path, order: str, kind: str
) -> None:
    """Tryout 12c, defect 4: ruff takes only UTF-8 arguments, so leaving out ``o\\377.py``
    by its name failed every whole-folder run ("invalid UTF-8 was detected"). Now it is
    left out by a pattern ruff takes (a link leading out: silently, as any such link), and
    what that pattern also matches (``o\\376.py``, never ``oa.py``) is said left out."""
    env = _order(order)
    root = project(tmp_path / "p")
    not_for_ruff(root, tmp_path, kind)
    (root / "oa.py").write_text("import re\n")
    found = [
        "oa.py:1:8: F401 `re` imported but unused",
        "pkg/a.py:1:8: F401 `os` imported but unused",
    ]
    fifo_said = f'shim: left out: "{root}/o\\377.py" is not a regular file (a FIFO)'
    alike_said = (
        f'shim: left out: "{root}/o\\376.py", whose name ruff cannot tell from that of'
        f' "{root}/o\\377.py" (not UTF-8), which is left out'
    )
    for alike in (False, True):
        if alike:
            with open(os.path.join(os.fsencode(root), b"o\xfe.py"), "wb") as file:
                file.write(b"import sys\n")
        started = time.monotonic()
        done = analyze(root, env=env, timeout=30)
        assert time.monotonic() - started < 10
        assert (done.returncode, done.stdout.splitlines()) == (1, found), done
        said = [line for line in done.stderr.splitlines() if line.startswith("shim: ")]
        expected = [fifo_said] if kind == "FIFO" else []
        assert said == expected + ([alike_said] if alike else []), done.stderr
        assert done.stderr.endswith("Found 2 findings in 2 files.\n"), done.stderr
        assert "hunter2" not in done.stdout + done.stderr


def test_every_path_on_a_line_of_shim_analyze_is_quoted_as_git_quotes_it(tmp_path: Path) -> None:
    """Tryout 12c, defect 5: a FIFO's name, a folder left out and a link's target reached
    the terminal raw (a newline splitting the line, an escape sequence colouring it), and a
    dangling link whose name is not UTF-8 was said to be unreadable. Each path is now one
    token, quoted as the findings' are."""
    root = project(tmp_path / "p")
    (tmp_path / "outside.toml").write_text("")
    os.mkfifo(root / "fi\nfo.py")
    (root / "dl.py").symlink_to("no\nwhere\x1b[31m.py")
    os.symlink("nowhere", os.path.join(os.fsencode(root), b"g\xff.py"))
    (root / "s\nub").mkdir()
    (root / "s\nub" / "ruff.toml").symlink_to(tmp_path / "outside.toml")
    for env in ORDERS.values():
        done = analyze(root, env=env, timeout=30)
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            f'shim: "{root}/s\\nub" was not analysed: its ruff.toml is a link leading outside'
            " the workspace, and ruff reads its settings from it; SHIM reads nothing outside"
            " the workspace (make it a file, or remove it)",
            f'shim: left out: "{root}/fi\\nfo.py" is not a regular file (a FIFO)',
            'shim: dl.py was not analysed: it is a link to "no\\nwhere\\033[31m.py", which does'
            " not exist",
            'shim: "g\\377.py" was not analysed: it is a link to nowhere, which does not exist',
            "Found 1 finding in 1 file; 2 paths not analysed.",
        ], done.stderr
        listed = analyze(root, "--json", env=env, timeout=30)
        said = {f["path"]: f["message"] for f in json.loads(listed.stdout) if f["code"]}
        assert (
            said["dl.py"]
            == "not analysed: it is a link to no\nwhere\x1b[31m.py, which does not exist"
        )
        assert said["g\ufffd.py"] == "not analysed: it is a link to nowhere, which does not exist"
    # SHIM's own failure names its paths the same way: one line.
    os.mkfifo(root / "ff")
    (root / "s\nub" / "ruff.toml").unlink()
    (root / "s\nub" / "ruff.toml").write_text('extend = "../ff"\n')
    failed = analyze(root, timeout=30)
    assert failed.returncode == 2, failed
    assert failed.stderr.startswith(f'shim: "{root}/s\\nub/ruff.toml" extends {root}/ff, which'), (
        failed
    )
    assert failed.stderr.count("\n") == 1, failed.stderr
