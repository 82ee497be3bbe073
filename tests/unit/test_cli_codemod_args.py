"""`shim codemod` takes options and paths in any order, and refuses an argument value the
codemod itself refuses before reading any file, in the CLI's words."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import shim_codemod

SOURCE = (
    "import unittest\n\n\nclass T(unittest.TestCase):\n"
    "    def test_a(self):\n        self.assertEqual(1, 1)\n"
)


def shim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return shim_codemod(*args, cwd=cwd)


def test_paths_may_follow_the_options_and_a_dry_run_says_what_would_change(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(SOURCE)
    out = shim("unittest_to_assert", "--dry-run", "test_a.py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 would change" in out.stderr
    out = shim(
        "--dry-run", "unittest_to_assert", "--jobs", "1", "test_a.py", "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["summary"] == "1 would change, 0 unchanged, 0 skipped, 0 failed"
    assert report["written"] is False
    assert report["files"] == [{"path": "test_a.py", "status": "would change", "reason": ""}]
    assert (tmp_path / "test_a.py").read_text() == SOURCE
    stray = shim("unittest_to_assert", "--bogus", "test_a.py", cwd=tmp_path)
    assert stray.returncode == 2 and "unrecognized arguments: --bogus" in stray.stderr


def test_a_value_the_codemod_refuses_is_said_before_any_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(SOURCE)
    out = shim(
        "rename_symbol", "--arg", "old_name=x", "--arg", "new_name=y", "test_a.py", cwd=tmp_path
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "shim: rename_symbol: old_name must be qualified, like package.module.Name"
    )


def test_timeouts_and_job_counts_that_cannot_work_are_refused(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(SOURCE)
    for option, value, words in (
        ("--timeout", "0", "shim: --timeout must be a number of seconds above 0, not 0"),
        ("--timeout", "-5", "shim: --timeout must be a number of seconds above 0, not -5"),
        ("--jobs", "-1", "shim: --jobs must be 0 (one per CPU) or more, not -1"),
    ):
        out = shim("unittest_to_assert", option, value, "test_a.py", cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.strip() == words
    assert (tmp_path / "test_a.py").read_text() == SOURCE


def test_a_file_that_does_not_parse_is_located_in_shims_words_nul_bytes_too(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("import unittest\nx = (1 +\nself.assertTrue(x)\n")
    # Python refuses a NUL byte anywhere; libcst takes one in a comment
    (tmp_path / "test_b.py").write_bytes(b"self.assertTrue(x)  # \x00\n")
    (tmp_path / "test_c.py").write_bytes(b"x = 1\r\n\x00self.assertTrue(x)\n")
    out = shim("unittest_to_assert", ".", cwd=tmp_path)
    assert out.returncode == 1
    assert [w for w in out.stderr.splitlines() if w.startswith("failed")] == [
        "failed test_a.py: does not parse: line 2, column 5: '(' was never closed",
        "failed test_b.py: does not parse: line 1, column 23: a NUL byte, which Python refuses",
        "failed test_c.py: does not parse: line 2, column 1: a NUL byte, which Python refuses",
    ]


@pytest.mark.parametrize(
    ("codemod", "args", "words"),
    [
        (
            "migrate_call",
            ["old_name=pkg.mod.fetch", "add_keywords=timeout=1)"],
            "add_keywords: timeout's value '1)' is not an expression",
        ),
        ("rename_symbol", ["old_name=pkg.mod.User", "new_name=class"], "new_name must be"),
        ("rename_symbol", ["old_name=pkg.mod.User", "new_name=None"], "new_name must be"),
        ("rename_symbol", ["old_name=pkg.class.User", "new_name=Account"], "old_name must be"),
        (
            "rename_symbol",
            ["old_name=pkg.mod.User", "new_name=User"],
            "new_name is the name it already has",
        ),
        ("migrate_call", ["old_name=pkg.mod.fetch", "new_name=class"], "new_name must be"),
        (
            "move_module",
            ["old_module=pkg.old", "new_module=pkg.class"],
            "new_module must be a dotted module name",
        ),
        ("move_module", ["old_module=pkg.old", "new_module=pkg.old"], "is old_module itself"),
        (
            "move_module",
            ["old_module=pkg.old", "new_module=pkg.old.sub"],
            "new_module cannot be inside old_module",
        ),
        (
            "move_module",
            ["old_module=pkg.old", "new_module=pkg.other"],
            "new_module pkg.other already exists",
        ),
        (
            "rename_symbol",
            ["old_name=pkg.old.fetch", "new_name=__builtins__"],
            "new_name cannot be '__builtins__'",
        ),
        ("modernize_typing", ["target_version=3.x"], "target_version must be"),
        ("modernize_typing", ["target_version=3.10.1"], "target_version must be"),
        (
            "migrate_call",
            ["old_name=mod.fetch", "positional=url", "rename_keywords=timeout=url"],
            "would give url twice in a call",
        ),
        ("migrate_call", ["old_name=mod.fetch", "positional=url,url"], "url given twice"),
        (
            "migrate_call",
            ["old_name=mod.fetch", "new_name=get", "positional=a,b", "new_positional=b,a,a"],
            "new_positional: a given twice",
        ),
        (
            "migrate_call",
            ["old_name=mod.fetch", "rename_keywords=timeout=class"],
            "'class' is not a parameter name",
        ),
        ("migrate_call", ["old_name=mod.fetch", "positional=1x"], "'1x' is not a parameter"),
        ("migrate_call", ["old_name=mod.fetch", "add_keywords=t=1,t=2"], "'t' is given twice"),
        ("migrate_call", ["old_name=mod.fetch", "new_name=fetch"], "the name it already has"),
        (
            "rename_symbol",
            ["old_name=pkg.old.Thing.method", "new_name=meth"],
            "pkg.old.Thing is not a module, and pkg.old binds no 'Thing' (a typo?)",
        ),
        (
            "rename_symbol",
            ["old_name=pkg.mod.User", "new_name=\uff35ser"],  # a fullwidth U: "User" to Python
            "new_name is the name it already has",
        ),
    ],
)
def test_argument_values_that_cannot_be_used_are_refused_before_any_file_is_read(
    tmp_path: Path, codemod: str, args: list[str], words: str
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "old.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "other.py").write_text("Y = 1\n")
    options = [word for arg in args for word in ("--arg", arg)]
    out = shim(codemod, *options, ".", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"shim: {codemod}: ") and words in line, line


@pytest.mark.parametrize(
    ("new_module", "line"), [("pkg.taken", "line 1 already binds 'taken'"), ("pkg.Y", "line 2")]
)
def test_a_move_onto_a_name_the_package_binds_is_refused(
    tmp_path: Path, new_module: str, line: str
) -> None:
    # pkg.taken would be the 1 or the module, depending on which was imported first
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("taken = 1\nfrom .other import Y\n")
    (tmp_path / "pkg" / "old.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "other.py").write_text("Y = 1\n")
    out = shim(
        "move_module",
        "--arg",
        "old_module=pkg.old",
        "--arg",
        f"new_module={new_module}",
        ".",
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    assert f"new_module {new_module} is taken: pkg/__init__.py {line}" in out.stderr
    assert (tmp_path / "pkg" / "old.py").read_text() == "X = 1\n"


@pytest.mark.parametrize(
    ("codemod", "args", "said"),
    [
        (
            "rename_symbol",
            ["old_name=pkg.old.fetsh", "new_name=get"],
            "nothing in the project is named pkg.old.fetsh (did you mean pkg.old.fetch?)",
        ),
        (
            "migrate_call",
            ["old_name=pkg.odl.fetch", "new_name=get"],
            "nothing in the project is named pkg.odl.fetch (did you mean pkg.old.fetch?)",
        ),
        (
            "move_module",
            ["old_module=pkg.odl", "new_module=pkg.new"],
            "nothing in the project is named pkg.odl (did you mean pkg.old",
        ),
    ],
)
def test_a_name_that_matches_nothing_is_said_with_the_nearest_names(
    tmp_path: Path, codemod: str, args: list[str], said: str
) -> None:
    # 0 changed is also what a second run of a rename that worked gives: exit status 0
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "old.py").write_text("def fetch(): ...\n")
    (tmp_path / "user.py").write_text("from pkg.old import fetch\nfetch()\n")
    options = [word for arg in args for word in ("--arg", arg)]
    out = shim(codemod, *options, ".", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"shim: {said}" in out.stderr, out.stderr
    assert "0 changed" in out.stderr


def test_an_argument_given_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def fetch(): ...\n")
    out = shim(
        "rename_symbol",
        "m.py",
        *("--arg", "old_name=m.fetch", "--arg", "new_name=get", "--arg", "new_name=load"),
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "shim: --arg new_name is given twice ('get' and 'load'); give it once"
    )
    assert (tmp_path / "m.py").read_text() == "def fetch(): ...\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to apply the patch")
def test_a_diff_applies_to_files_without_a_final_newline_or_with_cr_line_endings(
    tmp_path: Path,
) -> None:
    # difflib marks no last line without LF, and splitlines() splits at a lone CR, which
    # patch tools do not: git apply refused the patch
    body = ["import unittest", "", "", "class T(unittest.TestCase):", "    def test_a(self):"]
    last = "        self.assertEqual(1, 1)"
    files = {
        "test_nonl.py": "\n".join([*body, last]),
        "test_cr.py": "\r".join([*body, last, ""]),
        "test_crlf.py": "\r\n".join([*body, last]),
        "test_mixed.py": "\n".join(body) + "\r\n" + last + "\r",
    }
    patched, written = tmp_path / "patched", tmp_path / "written"
    for folder in (patched, written):
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_bytes(text.encode())
    diff = subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", "codemod", "unittest_to_assert", ".", "--diff"],
        capture_output=True,
        timeout=120,
        cwd=patched,
    )
    assert diff.returncode == 0, diff.stderr
    assert b"\\ No newline at end of file\n" in diff.stdout
    applied = subprocess.run(
        ["git", "apply", "-p0", "-"], input=diff.stdout, capture_output=True, cwd=patched
    )
    assert applied.returncode == 0, applied.stderr
    assert shim("unittest_to_assert", ".", cwd=written).returncode == 0
    for name in files:
        assert (patched / name).read_bytes() == (written / name).read_bytes(), name
        assert b"assert 1 == 1" in (written / name).read_bytes()


@pytest.mark.parametrize("folder", ["", "json"])
def test_renaming_a_name_the_project_does_not_hold_is_refused(tmp_path: Path, folder: str) -> None:
    # only the importers would be renamed: ``from json import Decoder`` fails at import; a
    # folder of the project named json (no __init__.py) holds no json module either
    if folder:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "script.py").write_text("x = 1\n")
    (tmp_path / "main.py").write_text("from json import JSONDecoder\n\nJSONDecoder()\n")
    out = shim(
        "rename_symbol",
        "--arg",
        "old_name=json.JSONDecoder",
        "--arg",
        "new_name=Decoder",
        ".",
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    assert "the project does not hold json, yet main.py imports json.JSONDecoder" in out.stderr
    assert "(nothing was changed)" in out.stderr
    assert (tmp_path / "main.py").read_text() == "from json import JSONDecoder\n\nJSONDecoder()\n"


@pytest.mark.parametrize("through", [False, True], ids=["views", "views-star-helpers"])
@pytest.mark.parametrize(("other", "new_name"), [("Account", "Account"), ("User", "Person")])
def test_a_package_that_star_imports_a_rival_of_the_symbol_refuses_the_rename(
    tmp_path: Path, other: str, new_name: str, through: bool
) -> None:
    # pkg.Account (or pkg.User) is whichever star import binds it last: renaming would switch
    # the class that `from pkg import ...` gets; views may bind it through its own star import
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from .models import *\nfrom .views import *\n")
    (tmp_path / "pkg" / "models.py").write_text("class User:\n    pass\n")
    rival = f"class {other}:\n    pass\n"
    (tmp_path / "pkg" / "views.py").write_text("from .helpers import *\n" if through else rival)
    (tmp_path / "pkg" / "helpers.py").write_text(rival)
    (tmp_path / "app.py").write_text("from pkg import User\n")
    out = shim(
        "rename_symbol",
        "--arg",
        "old_name=pkg.models.User",
        "--arg",
        f"new_name={new_name}",
        ".",
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    assert f"pkg star-imports pkg.views too, which binds {other!r}" in out.stderr
    assert (tmp_path / "app.py").read_text() == "from pkg import User\n"
