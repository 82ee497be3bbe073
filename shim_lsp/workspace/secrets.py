"""Whether a file is a secret, judged by its path under a folder: the rule that checkpoints,
analysis and the CLI share. Standard library only: ``shim analyze`` judges its findings' files
by SHIM's own patterns beside ruff, where loading pathspec (and dataclasses, inspect and ast
with it) took 25 to 50 ms of CPU away from ruff on two cores.

The patterns are pathspec's (``workspace.scan.SecretPatterns``); SHIM's own, which hold
without settings, are kept here as the regular expression pathspec makes of them
(``DEFAULT_SECRET_REGEX``, checked against pathspec's by ``tests/unit/test_default_secrets.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol


class SecretMatcher(Protocol):
    def match(self, rel: str) -> bool:
        """True when ``rel`` (a root-relative posix path) is a secret."""
        ...


DEFAULT_SECRET_REGEX = (
    r"(?:^|(?<=/))(?:\.env(?:(?:/)|$)|\.env\.[^/]*(?:(?:/)|$)|[^/]*\.env(?:(?:/)|$)"
    r"|\.envrc(?:(?:/)|$)|[^/]*\.pem(?:(?:/)|$)|[^/]*\.key(?:(?:/)|$)|[^/]*\.p12(?:(?:/)|$)"
    r"|[^/]*\.pfx(?:(?:/)|$)|id_rsa[^/]*(?:(?:/)|$)|id_dsa[^/]*(?:(?:/)|$)"
    r"|id_ecdsa[^/]*(?:(?:/)|$)|id_ed25519[^/]*(?:(?:/)|$)|\.ssh/[^/]+(?:(?:/)|$)"
    r"|\.netrc(?:(?:/)|$)|\.pypirc(?:(?:/)|$)|\.npmrc(?:(?:/)|$)|\.git\-credentials(?:(?:/)|$)"
    r"|\.pgpass(?:(?:/)|$)|\.aws/credentials(?:(?:/)|$)|[^/]*\.keystore(?:(?:/)|$)"
    r"|secrets\.y[^/]*ml(?:(?:/)|$)|credentials\.json(?:(?:/)|$)"
    r"|[^/]*service[^/]account[^/]*\.json(?:(?:/)|$)|[^/]*serviceaccount[^/]*\.json(?:(?:/)|$)"
    r"|application_default_credentials\.json(?:(?:/)|$)|client_secret[^/]*\.json(?:(?:/)|$)"
    r"|[^/]*\-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
    r"[0-9a-f][0-9a-f]\.json(?:(?:/)|$)|[^/]*\.publishsettings(?:(?:/)|$))"
)
"""``workspace.defaults.DEFAULT_SECRET_GLOBS`` as pathspec matches them (lower-cased paths,
at any depth): what ``scan.fast_match`` builds of ``SecretPatterns(DEFAULT_SECRET_GLOBS)``."""


class DefaultSecrets:
    """SHIM's own secret patterns, as a server without settings has them."""

    def __init__(self) -> None:
        self._search = re.compile(DEFAULT_SECRET_REGEX).search

    def match(self, rel: str) -> bool:
        return self._search(rel.lower()) is not None


def is_secret(
    secrets: SecretMatcher, root: Path, path: Path, real_parent: Path | None = None
) -> bool:
    """``FileRules.is_secret`` by ``secrets`` alone, judged relative to ``root``;
    ``real_parent``: the real path of ``path``'s folder, when the caller has it."""
    folder = os.fspath(real_parent) if real_parent is not None else os.path.realpath(path.parent)
    under = os.fspath(root)
    if secret_at(secrets, under, os.path.join(folder, path.name)):
        return True
    # Only a link is another file than its name: one lstat, not a second realpath (a
    # workspace run judges every file with findings).
    return os.path.islink(path) and secret_at(secrets, under, os.path.realpath(path))


def secret_at(secrets: SecretMatcher, root: str, path: str) -> bool:
    """Whether the file at the real path ``path`` is secret by ``secrets``, judged relative
    to ``root`` (its whole path when it is outside, never stored). Strings, not ``Path``s:
    a workspace run judges every file with findings, a checkpoint every file."""
    prefix = root if root.endswith(os.sep) else root + os.sep
    rel = path[len(prefix) :] if path.startswith(prefix) else path.lstrip(os.sep)
    return secrets.match(rel if os.sep == "/" else rel.replace(os.sep, "/"))
