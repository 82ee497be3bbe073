"""Passwords in URLs never reach a log line. The editor sends ``redisUrl`` with its password
as a setting, and pygls logs what it receives at debug level: every line the server writes
goes through this filter. No redis-py here: the server installs it whether or not it
coordinates.

The filter works on a URL's structure, not on the password's letters, and does not stop at
quotes: a password may hold ``'`` or ``"`` (escaped as ``\\"`` in the JSON pygls logs)."""

from __future__ import annotations

import logging
import re

CREDENTIAL_PARAMS = frozenset({"password", "username"})
"""Query parameters that redis-py reads as credentials (``redis://host/0?password=…``)."""

_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#\s]*)@")
"""A URL's userinfo: everything up to its last ``@`` before the path, query or a space (the
greedy match ends there, as ``urlsplit`` does), quotes included."""
_QUERY_CREDENTIAL = re.compile(r"([?&;](?:password|username)=)[^&#\s]*", re.IGNORECASE)
"""A ``password=``/``username=`` parameter, up to the next parameter or a space."""


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _secret = match.group(2).partition(":")
    return f"{match.group(1)}{user}:***@" if colon else match.group(0)


def redact_urls(text: str) -> str:
    """``scheme://user:secret@host`` becomes ``scheme://user:***@host``, and
    ``?password=secret`` (or ``username=``) ``?password=***``, anywhere in text."""
    return _QUERY_CREDENTIAL.sub(r"\1***", _USERINFO.sub(_userinfo, text))


class RedactUrlPasswords(logging.Filter):
    """Formats the record's message once, without any URL's password."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_logs() -> None:
    """Put the filter on every handler of the root logger (a logger's own filters do not see
    records propagated from its children; a handler's do)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactUrlPasswords) for f in handler.filters):
            handler.addFilter(RedactUrlPasswords())
