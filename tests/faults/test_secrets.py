"""Secrets stay out of the store: by the name they are opened under, by the file they really
are, and by the usual names of credential files, whatever their case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import Editors, journal_settled, stop_editor

from shim_lsp.settings import Settings
from shim_lsp.store import blobs
from shim_lsp.store.db import DB_NAME, connect
from shim_lsp.workspace.scan import FileRules, walk

SECRET = "API_TOKEN=hunter2-do-not-store\n"


def _everything_stored(state_dir: Path) -> str:
    """The journal's text and every blob, decompressed: what the store would give away."""
    with connect(state_dir / DB_NAME) as conn:
        journal = [r[0] or "" for r in conn.execute("SELECT data FROM journal")]
        rows = conn.execute("SELECT codec, data FROM blobs").fetchall()
    stored = [blobs.decode(codec, data) for codec, data in rows]
    return "\n".join(journal) + "\n".join(b.decode("utf-8", "replace") for b in stored)


async def test_a_link_to_a_secret_opened_and_edited_stores_nothing_of_it(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    (workspace / ".env").write_text(SECRET)
    os.symlink(".env", workspace / "settings.txt")
    (workspace / "app.py").write_text("a = 1\n")

    editor = await editors.start(workspace, state_dir)
    link = editor.open("settings.txt", SECRET)
    editor.type(link, 1, 0, "DB_PASSWORD=typed-secret-too\n")
    editor.type(editor.open("app.py"), 1, 0, "b = 2\n")
    await editor.command("shim.forceCheckpoint", {"label": "with a linked secret open"})
    await journal_settled(editor)
    await stop_editor(editor)

    stored = _everything_stored(state_dir)
    assert "b = 2" in stored, "the ordinary file is protected"
    assert "hunter2" not in stored and "typed-secret-too" not in stored


async def test_links_whose_names_are_not_utf8_are_judged_by_the_file_they_really_are(
    workspace: Path, state_dir: Path, tmp_path: Path, editors: Editors
) -> None:
    """Tryout 12d: ``l%FDnk.py`` (a link to a secret) and ``o%FF.py`` (a link out) were read
    as ``l\ufffdnk.py`` and ``o\ufffd.py``, no file, so neither a link nor a secret: their
    text was journaled and analysed. The byte is the name's: the links are judged."""
    (workspace / "id_rsa_tool.py").write_text(f"KEY = '{SECRET.strip()}'\n")
    (tmp_path / "out.py").write_text("x = 'outside-text'\n")
    root = os.fsencode(workspace)
    os.symlink(b"id_rsa_tool.py", os.path.join(root, b"l\xfdnk.py"))
    os.symlink(os.fsencode(tmp_path / "out.py"), os.path.join(root, b"o\xff.py"))
    (workspace / "app.py").write_text("a = 1\n")

    editor = await editors.start(workspace, state_dir)
    secret = editor.open(os.fsdecode(b"l\xfdnk.py"), f"KEY = '{SECRET.strip()}'\n")
    out = editor.open(os.fsdecode(b"o\xff.py"), "x = 'outside-text'\n")
    assert secret.endswith("/l%FDnk.py") and out.endswith("/o%FF.py"), (secret, out)
    editor.type(secret, 1, 0, "DB_PASSWORD=typed-secret-too\n")
    editor.type(out, 1, 0, "typed = 'outside-typed'\n")
    editor.type(editor.open("app.py"), 1, 0, "b = 2\n")
    await editor.wait_for(lambda: any("is not protected" in m for m in editor.shown_messages))
    await editor.command("shim.forceCheckpoint", {"label": "odd links open"})
    await journal_settled(editor)
    told = [m for m in editor.shown_messages if "is not protected" in m]
    await stop_editor(editor)

    # Said in valid Unicode (U+FFFD for the byte, as ruff names it), not a lone surrogate.
    assert any("o\ufffd.py is not protected: it is a link to" in m for m in told), told
    assert not [m for m in told if any("\ud800" <= c <= "\udfff" for c in m)], told
    stored = _everything_stored(state_dir)
    assert "b = 2" in stored, "the ordinary file is protected"
    for text in ("hunter2", "typed-secret-too", "outside-text", "outside-typed"):
        assert text not in stored, text


SECRET_FILES = [
    ".env",
    "prod.env",
    "config/.env.local",
    ".envrc",
    ".aws/credentials",
    "home/.aws/credentials",
    ".npmrc",
    ".git-credentials",
    ".pgpass",
    ".ssh/config",
    "deploy/.ssh/id_deploy",
    "secrets.yaml",
    "k8s/secrets.yml",
    "SERVER.PEM",
    "Tls.Key",
    "ID_RSA",
    "my-project-123456-0a1b2c3d4e5f.json",
    "gcp-service-account.json",
    "service_account_key.json",
    "ServiceAccount.JSON",
    "application_default_credentials.json",
    "client_secret_1234.apps.googleusercontent.com.json",
    "prod.publishsettings",
]

ORDINARY_FILES = [
    "app.py",
    "environment.py",
    "env/README.md",
    "docs/secrets.md",
    "package.json",
    "settings.yaml",
    "ssh/notes.txt",
    "credentials.py",
]


@pytest.mark.parametrize("name", SECRET_FILES)
def test_default_secret_patterns_cover_common_credential_files(workspace: Path, name: str) -> None:
    rules = FileRules.from_settings(workspace, Settings())
    assert rules.is_secret(workspace / name)


@pytest.mark.parametrize("name", ORDINARY_FILES)
def test_default_secret_patterns_leave_ordinary_files_alone(workspace: Path, name: str) -> None:
    rules = FileRules.from_settings(workspace, Settings())
    assert not rules.is_secret(workspace / name)


def test_a_workspace_scan_leaves_every_default_secret_out(workspace: Path) -> None:
    for name in [*SECRET_FILES, *ORDINARY_FILES]:
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("x\n")
    kept = {rel for rel, _stat in walk(FileRules.from_settings(workspace, Settings()))}
    assert kept == set(ORDINARY_FILES)


def test_user_patterns_ignore_case_match_at_any_depth_and_honour_negation(
    workspace: Path,
) -> None:
    rules = FileRules.from_settings(
        workspace, Settings(secret_globs=["*.pem", "!public.pem", "Vault/*.TXT", "keys/"])
    )
    secret = ["a/B.PEM", "deep/vault/pass.txt", "VAULT/x.txt", "keys/one", "x/keys/two"]
    assert all(rules.is_secret(workspace / name) for name in secret)
    ordinary = ["a/public.pem", "PUBLIC.PEM", "vault/deeper/x.md", "keys", "vaults/x.txt"]
    assert not any(rules.is_secret(workspace / name) for name in ordinary)


async def test_a_checkpoint_asked_for_at_once_waits_for_the_settings_that_name_secrets(
    workspace: Path, state_dir: Path, editors: Editors
) -> None:
    """The user's secretGlobs arrive by workspace/configuration after initialized: a
    command sent at once must not checkpoint the files they name before they are known."""
    (workspace / "keys.secret").write_text(SECRET)
    (workspace / "app.py").write_text("a = 1\n")
    for run in range(3):
        state = state_dir / f"run{run}"
        editor = await editors.start(
            workspace, state, settings={"secretGlobs": ["*.secret"]}, settings_delay=0.5
        )
        taken = await editor.command("shim.forceCheckpoint", {})
        assert taken["files"] == 1, taken  # app.py alone
        await stop_editor(editor)
        assert "hunter2" not in _everything_stored(state)
