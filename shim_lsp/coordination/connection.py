"""The connection to Redis: explicit timeouts, redis-py's retry with backoff, health checks,
and a URL whose password never leaves this module in words (logs, errors, status)."""

from __future__ import annotations

import os
import re
import ssl
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import attrs
from redis import exceptions as rx
from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from shim_lsp.coordination.redact import CREDENTIAL_PARAMS, redact_urls

CONNECT_TIMEOUT_S = 2.0
"""How long opening a connection may take: a Redis that is away is noticed in this time."""
SOCKET_TIMEOUT_S = 2.0
"""How long one command may wait for its answer (redis-py's default waits for ever)."""
HEALTH_CHECK_S = 5.0
"""An idle connection is PINGed before use after this long, so a dead one is not trusted."""
RETRIES = 2
"""redis-py retries a command this many times, with exponential backoff, before failing."""
BACKOFF = ExponentialBackoff(cap=2.0, base=0.05)
"""Between retries of a command, and (scaled up) between attempts to rejoin."""
REJOIN_BACKOFF = ExponentialBackoff(cap=10.0, base=0.25)
SCHEMES = ("redis", "rediss", "unix")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{0,19}://")


class CoordinationError(Exception):
    """Redis cannot be used as configured; the message is safe to show (no password)."""


class Full(CoordinationError):
    """Redis is at its ``maxmemory`` and refuses writes: it comes back by itself only when
    someone frees memory, so it is said once and retried slowly."""


class Refused(CoordinationError):
    """Redis refused SHIM's credentials or rights: retrying will not help until the settings
    change."""


@attrs.frozen
class RedisTarget:
    """Where Redis is, and how to show it without its secret."""

    url: str = attrs.field(repr=False)
    """The URL as configured, password included: handed to redis-py only."""
    ca_file: str | None = None
    """The CA that vouches for a rediss:// server (``redisCaFile``); None: the system's."""

    @property
    def password(self) -> str | None:
        """The password as redis-py reads it: the userinfo's, else the query's ``password=``."""
        try:
            parts = urlsplit(self.url)
        except ValueError:
            return None
        if parts.password:
            return unquote(parts.password)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "password" and value:
                return value
        return None

    @property
    def shown(self) -> str:
        """The URL with every credential redis-py reads blanked: the userinfo's password and
        the query's ``password=`` and ``username=`` (the userinfo's user name is kept: ACL
        users are not secret, and it tells which user Redis refused). A URL that does not
        parse is shown through the log filter, which works on its structure alone."""
        try:
            parts = urlsplit(self.url)
        except ValueError:
            return _blank_userinfo(redact_urls(self.url))
        if parts.scheme not in SCHEMES or (not parts.netloc and "@" in self.url):
            # Mistyped (`shim:pw@host`, `redis:/:pw@host`): no structure tells the password
            # apart, so whatever comes before the last @ is taken for one; a scheme written
            # as one (`http://`) is kept, so the error can say it is the wrong one.
            blank = _blank_userinfo(redact_urls(self.url))
            scheme = _SCHEME.match(self.url)
            return scheme.group(0) + blank if scheme and blank.startswith("***@") else blank
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _secret = userinfo.partition(":")
            netloc = f"{user}:***@{host}" if colon else netloc
        query = "&".join(
            f"{key}=***" if _is_credential(key) else piece
            for piece in parts.query.split("&")
            for key in [piece.partition("=")[0]]
        )
        if (netloc, query) == (parts.netloc, parts.query):
            return self.url
        shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit drops unix:///'s //
        return (
            shown
            + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else "")
        )

    def redact(self, text: str) -> str:
        """``text`` with this URL shown without its credentials, and any other URL's taken
        out by structure (never by replacing a password's letters wherever they occur: a
        one-letter password would blank every such letter of the sentence)."""
        if self.url:
            text = text.replace(self.url, self.shown)
        return redact_urls(text)


def _blank_userinfo(url: str) -> str:
    return f"***@{url.rpartition('@')[2]}" if "@" in url else url


def _is_credential(key: str) -> bool:
    return unquote_plus(key).strip().lower() in CREDENTIAL_PARAMS


def parse_target(url: str, ca_file: str | None = None) -> RedisTarget:
    """Check the URL's form before anything connects; the error never quotes the password."""
    target = RedisTarget(url.strip(), os.path.expanduser(ca_file) if ca_file else None)
    try:
        parts = urlsplit(target.url)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number
    except ValueError as exc:
        raise CoordinationError(
            f"redisUrl {target.shown!r} is not a URL: {target.redact(str(exc))}"
        ) from None
    if parts.scheme not in SCHEMES:
        written = _SCHEME.match(target.url)  # `user:pw@host` parses as scheme `user`
        given = f"its scheme is {written.group(0)}" if written else "it names no scheme"
        raise CoordinationError(
            f"redisUrl must start with redis://, rediss:// (TLS) or unix://, but {given}; got"
            f" {target.shown!r}"
        )
    if parts.scheme == "unix" and not parts.path:
        raise CoordinationError(f"redisUrl {target.shown!r} names no socket path")
    if parts.scheme != "unix" and not parts.hostname:
        raise CoordinationError(f"redisUrl {target.shown!r} names no host")
    if target.ca_file is not None:
        if parts.scheme != "rediss":
            raise CoordinationError(
                f"redisCaFile is for TLS, but redisUrl {target.shown!r} is not rediss://"
            )
        if not os.path.isfile(target.ca_file) or not os.access(target.ca_file, os.R_OK):
            raise CoordinationError(f"redisCaFile {target.ca_file!r} is not a file SHIM can read")
    return target


def client(target: RedisTarget, *, decode: bool = False, blocking_s: float = 0.0) -> Redis:
    """A redis-py client with every timeout explicit (none of the library's defaults).
    ``decode``: answers as str (what BullMQ expects of a client handed to it);
    ``blocking_s``: the longest a blocking command of this client waits on the server, added
    to the socket timeout (BullMQ's worker waits for jobs with BZPOPMIN)."""
    tls: dict[str, Any] = {} if target.ca_file is None else {"ssl_ca_certs": target.ca_file}
    return Redis.from_url(
        target.url,
        **tls,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S + blocking_s,
        health_check_interval=HEALTH_CHECK_S,
        retry=Retry(BACKOFF, RETRIES),
        retry_on_error=[rx.ConnectionError, rx.TimeoutError],
        decode_responses=decode,
    )


REFUSALS = (
    rx.AuthenticationError,
    rx.AuthenticationWrongNumberOfArgsError,
    rx.AuthorizationError,
    rx.NoPermissionError,
)
_AUTH_ANSWER = re.compile(r"WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username", re.I)


def _untrusted(exc: BaseException | None) -> bool:
    """A TLS certificate that could not be verified, however redis-py wraps the error."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _tls_hint(target: RedisTarget, exc: BaseException, answered: bool) -> str:
    """What a TLS mismatch looks like from here, said as the likely cause: a plain Redis never
    answers a TLS hello (the connect times out), and a TLS-only one resets a plain
    connection. Once Redis has answered on this URL, the scheme is right and a cut is a cut."""
    if answered:
        return ""
    scheme = urlsplit(target.url).scheme
    if scheme == "rediss" and "Timeout connecting" in str(exc):
        return (
            " (no TLS handshake: is this Redis serving TLS? rediss:// asks for TLS, redis://"
            " does not)"
        )
    said = str(exc)
    if scheme == "redis" and ("reset by peer" in said or "closed by server" in said):
        return " (a Redis that serves TLS only closes a plain connection so: if so, use rediss://)"
    return ""


_WORDLESS: dict[type[BaseException], str] = {
    TimeoutError: "it did not answer in time",  # asyncio's timeouts carry no words
}
"""What to say for an exception that says nothing itself."""


def explain(
    target: RedisTarget, exc: BaseException, *, answered: bool = False
) -> CoordinationError:
    """One sentence for a failure, safe to log and show: the URL without its password.
    ``answered``: Redis has answered on this URL before (no scheme mismatch is guessed)."""
    detail = target.redact(str(exc) or _WORDLESS.get(type(exc), type(exc).__name__))
    if isinstance(exc, rx.OutOfMemoryError) or (
        isinstance(exc, rx.ResponseError) and "maxmemory" in str(exc)
    ):
        return Full(
            f"Redis at {target.shown} is full (maxmemory reached): it refuses SHIM's writes,"
            " so this window works alone and tries again now and then; free memory in"
            " Redis or raise its maxmemory"
        )
    if isinstance(exc, REFUSALS) or (
        isinstance(exc, rx.ResponseError) and _AUTH_ANSWER.search(str(exc))
    ):
        return Refused(
            f"Redis at {target.shown} refused SHIM ({detail}); SHIM does not coordinate"
            " until redisUrl is changed"
        )
    if _untrusted(exc):
        vouch = (
            f"the CA in redisCaFile ({target.ca_file}) does not"
            if target.ca_file
            else "the system's CAs do not"
        )
        return Refused(
            f"Redis at {target.shown} presented a TLS certificate that {vouch} vouch"
            f" for ({detail}); SHIM does not coordinate until redisUrl or redisCaFile is changed"
        )
    if isinstance(exc, rx.TimeoutError | rx.ConnectionError | OSError | TimeoutError):
        return CoordinationError(
            f"Redis at {target.shown} cannot be reached: {detail}{_tls_hint(target, exc, answered)}"
        )
    if isinstance(exc, rx.RedisError):
        return CoordinationError(f"Redis at {target.shown} failed: {detail}")
    return CoordinationError(f"Redis at {target.shown}: {detail}")
