"""What holds without settings: what SHIM leaves out of every checkpoint and never shows
(the settings only add to it), and where its state folder is. A module of its own, so that
``shim analyze`` finds both without loading the settings (cattrs: tens of milliseconds)."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "SHIM_STATE_DIR"

DEFAULT_SECRET_GLOBS = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".ssh/*",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    ".pgpass",
    ".aws/credentials",
    "*.keystore",
    "secrets.y*ml",
    "credentials.json",
    "*service?account*.json",
    "*serviceaccount*.json",
    "application_default_credentials.json",
    "client_secret*.json",
    "*-" + "[0-9a-f]" * 12 + ".json",
    "*.publishsettings",
)
"""Matched without regard to case, at any depth. The cloud keys: Google service-account keys
(downloaded as ``<project>-<12 hex digits>.json``), gcloud's application default credentials,
OAuth client secrets, Azure publish settings."""

DEFAULT_EXCLUDE_GLOBS = (
    ".git/",
    ".hg/",
    ".svn/",
    "__pycache__/",
    "*.py[co]",
    "node_modules/",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".pytest_cache/",
    ".shim-recovered/",
    "*.shim-tmp",  # SHIM's own staged writes (workspace/files.py), left only by a killed write
)


def default_state_dir() -> Path:
    """Where the store lives when no setting says: $SHIM_STATE_DIR, else the platform's state
    folder."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only here: a test or a user that sets the variable skips it

    return Path(platformdirs.user_state_dir("shim", appauthor=False))
