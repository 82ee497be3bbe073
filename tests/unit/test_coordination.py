"""The coordination package's pure parts: URLs shown without their password, message
schemas that refuse what is not theirs, and the default workspace id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from shim_lsp.coordination.connection import CoordinationError, explain, parse_target
from shim_lsp.coordination.messages import (
    NUDGE_MAX_BYTES,
    VERSION,
    DirtyDocument,
    Dropped,
    Nudge,
    decode_nudge,
    encode,
)
from shim_lsp.coordination.redact import RedactUrlPasswords, redact_urls
from shim_lsp.coordination.workspace_id import default_workspace_id


def test_a_url_is_shown_without_its_password_but_with_its_acl_user() -> None:
    target = parse_target("rediss://alice:p%40ss@redis.example:6380/2")
    assert target.shown == "rediss://alice:***@redis.example:6380/2"
    assert target.password == "p@ss"
    said = "auth rediss://alice:p%40ss@redis.example:6380/2 failed"
    assert target.redact(said) == "auth rediss://alice:***@redis.example:6380/2 failed"
    assert "p@ss" not in repr(target)
    assert parse_target("unix:///run/redis.sock").shown == "unix:///run/redis.sock"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://:hunter2@h:1", "but its scheme is http://; got 'http://***@h:1'"),
        ("redis://:hunter2@:1", "names no host"),
        ("redis://:hunter2@h:port", "is not a URL"),
        ("unix://", "names no socket path"),
        # Mistyped: no structure tells the password apart, so no part of it is quoted.
        ("shim:hunter2@127.0.0.1:6379/0", "but it names no scheme; got '***@127.0.0.1:6379/0'"),
        ("redis:/:hunter2@127.0.0.1:6379/0", "names no host"),
        ("redis//:hunter2@h:1/0", "must start with redis://, rediss:// (TLS) or unix://"),
        ("127.0.0.1:6379?password=hunter2", "got '127.0.0.1:6379?password=***'"),
    ],
)
def test_a_url_that_cannot_work_is_refused_without_quoting_its_password(
    url: str, said: str
) -> None:
    with pytest.raises(CoordinationError) as caught:
        parse_target(url)
    assert said in str(caught.value) and "hunter2" not in str(caught.value)


def test_log_lines_lose_any_urls_password() -> None:
    record = logging.LogRecord(
        "pygls", logging.DEBUG, "x", 1, "got %r", ({"redisUrl": "redis://u:s3cr3t@h:1/0"},), None
    )
    RedactUrlPasswords().filter(record)
    assert record.getMessage() == "got {'redisUrl': 'redis://u:***@h:1/0'}"
    assert redact_urls("https://tok:x-oauth@github.com/a/b") == "https://tok:***@github.com/a/b"


SESSION = "5e55" * 8


def nudge(**change: object) -> bytes:
    data = {"v": VERSION, "kind": "dirtied", "workspace": "w", "session": SESSION, "at": 1.0}
    return json.dumps({**data, **change}).encode()


def test_nudges_that_are_not_this_workspaces_well_formed_ones_are_dropped_and_counted() -> None:
    dropped = Dropped()
    good = decode_nudge(nudge(path="src/app.py"), "w", dropped)
    assert good == Nudge(VERSION, "dirtied", "w", SESSION, 1.0, "src/app.py")
    assert decode_nudge(encode(good), "w", dropped) == good
    for raw in (
        b"\xff",
        b"[]",
        nudge(v=2),
        nudge(kind="explode"),
        nudge(extra=1),
        nudge(path="../outside.py"),
        nudge(path="/etc/passwd"),
        nudge(path="a/../../b"),
        nudge(path="C:/x"),
        nudge(at="soon"),
        nudge(session="../../tmp/x"),
    ):
        assert decode_nudge(raw, "w", dropped) is None, raw
    assert decode_nudge(nudge(workspace="other"), "w", dropped) is None
    assert decode_nudge(nudge(path="a" * NUDGE_MAX_BYTES), "w", dropped) is None
    assert dropped.counts == {"malformed": 11, "foreign workspace": 1, "oversized": 1}


def test_a_dirty_document_must_name_a_path_inside_the_workspace() -> None:
    with pytest.raises(ValueError):
        DirtyDocument("../x.py", 1.0)
    assert DirtyDocument("pkg/x.py", 1.0).path == "pkg/x.py"


def test_the_default_workspace_id_is_the_remote_without_credentials_and_the_path_inside(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "clone"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://x/up.git\n'
        '[remote "origin"]\n\turl = https://bob:ghp_token@github.com/acme/shop.git\n'
        "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    )
    assert (
        default_workspace_id(repo / "src" / "pkg") == "git:https://github.com/acme/shop.git:src/pkg"
    )
    assert default_workspace_id(repo) == "git:https://github.com/acme/shop.git:"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert default_workspace_id(plain) == f"path:{plain.resolve()}"


def test_the_server_without_a_redis_url_never_imports_redis() -> None:
    code = "import sys, shim_lsp.server.factory; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_timeout_without_words_is_said_in_words() -> None:
    """asyncio's timeouts carry no message: the user reads that Redis did not answer, not
    the bare name of an exception class."""
    target = parse_target("redis://:sekret@127.0.0.1:6390/0")
    said = str(explain(target, TimeoutError(), answered=True))
    assert said == (
        "Redis at redis://:***@127.0.0.1:6390/0 cannot be reached: it did not answer in time"
    )
    assert "sekret" not in said
    said = str(explain(target, TimeoutError("Timeout reading from socket"), answered=True))
    assert said.endswith("cannot be reached: Timeout reading from socket")
