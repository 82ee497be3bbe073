"""SHIM's own secret patterns as ``shim analyze`` judges them, without pathspec, decide as
pathspec's do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shim_lsp.workspace.defaults import DEFAULT_SECRET_GLOBS
from shim_lsp.workspace.scan import SecretPatterns, match_regexes
from shim_lsp.workspace.secrets import DEFAULT_SECRET_REGEX, DefaultSecrets, is_secret


def test_the_kept_regex_is_what_pathspec_makes_of_the_default_patterns() -> None:
    made = match_regexes(SecretPatterns(list(DEFAULT_SECRET_GLOBS)).spec)
    assert made == [DEFAULT_SECRET_REGEX], f"set DEFAULT_SECRET_REGEX to {made}"


def test_default_secrets_judge_paths_as_the_pathspec_patterns_do(tmp_path: Path) -> None:
    paths = [
        ".env",
        "app/.env.local",
        "deploy/prod.env",
        "keys/Server.PEM",
        "home/.ssh/config",
        "pkg/id_rsa_tools.py",
        ".aws/credentials",
        "conf/secrets.yaml",
        "gcp/my-project-0123456789ab.json",
        "pkg/module.py",
        "pkg/environment.py",
        "docs/ssh/notes.py",
        "pkg/.env.py",
    ]
    pathspec_patterns = SecretPatterns(list(DEFAULT_SECRET_GLOBS))
    ours = DefaultSecrets()
    judged = {p: ours.match(p) for p in paths}
    assert judged == {p: pathspec_patterns.match(p) for p in paths}
    assert judged["pkg/.env.py"] and not judged["pkg/module.py"]
    (tmp_path / "pkg").mkdir()
    (tmp_path / ".env").write_text("TOKEN=1\n")
    (tmp_path / "pkg" / "settings.py").symlink_to(tmp_path / ".env")
    assert is_secret(ours, tmp_path, tmp_path / "pkg" / "settings.py")  # by what it leads to


def test_judging_by_the_default_patterns_loads_no_pathspec() -> None:
    code = (
        "import sys; from shim_lsp.workspace.secrets import DefaultSecrets;"
        "DefaultSecrets().match('a/.env'); print('pathspec' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
