"""Passwords in URLs never reach a log line. The editor sends ``redisUrl`` with its password
as a setting, and pygls logs what it receives at debug level: every line the server writes
goes through this filter. No redis-py here: the server installs it whether or not it
coordinates."""

from __future__ import annotations

import logging
import re

_URL_PASSWORD = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*):[^@\s'\"/]+@")


def redact_urls(text: str) -> str:
    """``scheme://user:secret@host`` becomes ``scheme://user:***@host``, anywhere in text."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


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
