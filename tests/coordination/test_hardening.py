"""What the tester of issue 13 found: credentials in every form redis-py reads never shown,
a URL that does not parse refused in one line, a revert clears the flag, a forged record
cannot flood a window, and ``shim windows`` finds its workspace from a subfolder."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import Editor, Editors, as_json
from lsprotocol import types as t
from redis_rig import (
    RedisServer,
    RedisServers,
    coordinated,
    coordination,
    elsewhere,
    make_tls,
    wait_members,
    windows,
)

from shim_lsp.coordination.connection import RedisTarget
from shim_lsp.coordination.redact import redact_urls
from shim_lsp.coordination.registry import Keys
from shim_lsp.coordination.workspace_id import default_workspace_id


async def wait_connected(editor: Editor) -> None:
    await editor.wait_for(lambda: coordination(editor).get("state") == "connected", timeout=10)


def shim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shim_lsp.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


async def test_a_query_string_password_is_never_shown_in_status_messages_logs_or_cli(
    redis_servers: RedisServers,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIM_LOG_LEVEL", "DEBUG")
    server = redis_servers.start(password="right-Pa55word")
    secret = "qs-Secret-9d2e"
    url = f"redis://127.0.0.1:{server.port}/0?username=default&password={secret}"
    one = await editors.start(
        workspace, tmp_path / "s1", settings=coordinated(server, redisUrl=url)
    )
    await one.wait_for(lambda: "refused" in str(coordination(one).get("problem")), timeout=10)
    assert "password=***" in coordination(one)["problem"]
    listed = await windows(one)
    cli = await asyncio.to_thread(shim, "windows", "--redis-url", url, "--workspace-id", "w")
    assert cli.returncode == 2 and "password=***" in cli.stderr, cli.stderr
    await editors.close()
    captured = capfd.readouterr()
    for where, text in {
        "stderr": captured.err,
        "status": json.dumps([as_json(s) for s in one.statuses]),
        "messages": json.dumps(one.shown_messages),
        "shim.windows": json.dumps(listed),
        "cli": cli.stdout + cli.stderr,
    }.items():
        assert secret not in text, f"the password is in {where}"


async def test_rediss_with_a_private_ca_joins_and_a_wrong_ca_is_refused_without_the_secret(
    redis_servers: RedisServers,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIM_LOG_LEVEL", "DEBUG")
    tls = await asyncio.to_thread(make_tls, tmp_path / "tls")
    secret = "tls-Secret-5e1f"
    server = redis_servers.start(password=secret, tls=tls)
    url = server.tls_url()
    trusted = coordinated(server, redisUrl=url, redisCaFile=str(tls.ca))
    one = await editors.start(workspace, tmp_path / "s1", settings=trusted)
    await wait_connected(one)
    await wait_members(one, 1)
    untrusted = coordinated(server, redisUrl=url, redisCaFile=str(tls.other_ca))
    two = await editors.start(workspace, tmp_path / "s2", settings=untrusted)
    await two.wait_for(lambda: "TLS certificate" in str(coordination(two).get("problem")))
    problem = coordination(two)["problem"]
    assert coordination(two)["state"] == "degraded"
    assert problem.startswith(f"Redis at rediss://:***@127.0.0.1:{server.tls_port}/0 presented")
    assert f"the CA in redisCaFile ({tls.other_ca}) does not vouch for" in problem
    assert problem.endswith("SHIM does not coordinate until redisUrl or redisCaFile is changed")
    await two.wait_for(lambda: any("TLS certificate" in m for m in two.shown_messages))
    assert len((await windows(one))["windows"]) == 1, "the refused window never joined"
    ask = ["windows", "--redis-url", url, "--workspace-id", "ws-test", "--redis-ca-file"]
    cli = await asyncio.to_thread(shim, *ask, str(tls.ca))
    assert cli.returncode == 0 and cli.stdout.startswith("1 window of workspace ws-test"), cli
    refused = await asyncio.to_thread(shim, *ask, str(tls.other_ca))
    assert refused.returncode == 2 and "does not vouch for" in refused.stderr, refused.stderr
    # TLS asked of the plain port, and plain asked of the TLS port: the likely cause is said.
    crossed = [
        f"rediss://:{secret}@127.0.0.1:{server.port}/0",
        f"redis://:{secret}@127.0.0.1:{server.tls_port}/0",
    ]
    tls_to_plain, plain_to_tls = await asyncio.gather(
        *(
            asyncio.to_thread(shim, "windows", "--redis-url", u, "--workspace-id", "w")
            for u in crossed
        )
    )
    assert tls_to_plain.returncode == 2, tls_to_plain
    assert "is this Redis serving TLS? rediss:// asks for TLS" in tls_to_plain.stderr
    assert plain_to_tls.returncode == 2, plain_to_tls
    assert "a Redis that serves TLS only closes" in plain_to_tls.stderr
    assert "if so, use rediss://" in plain_to_tls.stderr
    await editors.close()
    captured = capfd.readouterr()
    for where, text in {
        "stderr": captured.err,
        "status": json.dumps([as_json(s) for s in two.statuses]),
        "messages": json.dumps(two.shown_messages),
        "cli": "".join(p.stdout + p.stderr for p in (cli, refused, tls_to_plain, plain_to_tls)),
    }.items():
        assert secret not in text, f"the password is in {where}"


async def test_a_password_with_quotes_never_reaches_the_debug_log(
    redis_servers: RedisServers,
    editors: Editors,
    workspace: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIM_LOG_LEVEL", "DEBUG")
    secrets = {"it's-Apos-41": "s-Apos-41", 'dq"Quote-77': "Quote-77"}
    for n, secret in enumerate(secrets):
        server = redis_servers.start(password=secret)
        one = await editors.start(
            workspace, tmp_path / f"s{n}", settings=coordinated(server, redisUrl=server.url())
        )
        await wait_connected(one)
    await editors.close()
    err = capfd.readouterr().err
    assert "redisUrl" in err, "pygls logged the settings it received"
    for tail in secrets.values():  # JSON escapes the quote: look for what follows it
        assert tail not in err, tail


def test_redaction_goes_by_url_structure_not_by_the_passwords_letters() -> None:
    target = RedisTarget("redis://:a@127.0.0.1:1/0")
    assert target.redact("Connect call failed") == "Connect call failed"
    assert target.shown == "redis://:***@127.0.0.1:1/0"
    assert redact_urls("""{"u": "redis://:it\\"s@h:1/0", "v": 'redis://h/0?password=x'}""") == (
        """{"u": "redis://:***@h:1/0", "v": 'redis://h/0?password=***"""
    )
    assert RedisTarget("redis://h:1/0?db=1&Password=p&username=u").shown == (
        "redis://h:1/0?db=1&Password=***&username=***"
    )


async def test_a_url_that_does_not_parse_is_refused_in_one_line_in_status_windows_and_cli(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    bad = "redis://:x-Secret@[::1"
    one = await editors.start(
        workspace, tmp_path / "s1", settings=coordinated(redis_server, redisUrl=bad)
    )
    await one.wait_for(lambda: "not a URL" in str(coordination(one).get("problem")), timeout=10)
    status = coordination(one)
    assert status["state"] == "degraded"
    # The status is set before the message is sent: wait for the message, do not race it.
    await one.wait_for(lambda: any("not a URL" in m for m in one.shown_messages), timeout=10)
    listed = await windows(one)
    assert (listed["state"], listed.get("problem")) == (status["state"], status["problem"])
    assert "x-Secret" not in json.dumps(status) + json.dumps(one.shown_messages)
    for url in ("redis://[::1", bad):
        cli = await asyncio.to_thread(shim, "windows", "--redis-url", url, "--workspace-id", "w")
        assert cli.returncode == 2, cli.stderr
        assert len(cli.stderr.splitlines()) == 1 and "not a URL" in cli.stderr, cli.stderr
        assert "x-Secret" not in cli.stderr


async def test_a_reverted_file_is_no_longer_flagged_in_the_other_window(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    two = await editors.start(workspace, tmp_path / "s2", settings=coordinated(redis_server))
    uri = one.open("app.py")
    two.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    await two.wait_for(lambda: bool(elsewhere(two, uri)), timeout=5)
    whole = t.Range(start=t.Position(line=0, character=0), end=t.Position(line=2, character=0))
    one.change(uri, t.TextDocumentContentChangePartial(range=whole, text="a = 1\n"))  # Revert
    await two.wait_for(lambda: not elsewhere(two, uri), timeout=5)
    assert (await one.command("shim.sessionStatus"))["dirtyDocuments"] == 0


def _record(session: str, dirty: list[dict[str, Any]]) -> dict[str, Any]:
    now = time.time()
    return {
        "v": 1,
        "session": session,
        "workspace": "ws-test",
        "host": "evil",
        "pid": 1,
        "editor": "x",
        "startedAt": now,
        "heartbeatAt": now,
        "open": [],
        "dirty": dirty,
    }


async def test_a_forged_record_cannot_flood_a_window_or_flag_what_it_keeps_to_itself(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("a = 1\n")
    (workspace / "old.py").write_text("a = 1\n")
    (workspace / ".env").write_text("TOKEN=1\n")
    one = await editors.start(workspace, tmp_path / "s1", settings=coordinated(redis_server))
    keys = Keys("shim", "ws-test")
    r = redis_server.client()
    now = time.time()
    flood = [{"path": f"f{i}.py", "since": now} for i in range(20_000)]
    honest = [
        {"path": "app.py", "since": now - 5},
        {"path": ".env", "since": now - 5},
        {"path": "missing.py", "since": now - 5},
    ]
    flooding, honesty = "f" * 32, "a" * 32  # session ids as SHIM makes them (uuid4 hex)
    for session, dirty in {flooding: flood, honesty: honest}.items():
        r.set(keys.member(session), json.dumps(_record(session, dirty)), ex=60)
        r.zadd(keys.members, {session: now})
    for session, since in {"e" * 32: 0.0, "d" * 32: now + 86_400}.items():
        record = _record(session, [{"path": "old.py", "since": since}])
        r.set(keys.member(session), json.dumps(record), ex=60)
        r.zadd(keys.members, {session: now})
    # Names that would drive the terminal `shim windows` prints to (a title, a cleared
    # screen), reorder a diagnostic (bidi), fill it; a session id that is a path; no start.
    old = [{"path": "old.py", "since": now - 5}]
    forgeries: dict[str, dict[str, Any]] = {
        "b" * 32: {"host": "\x1b]0;PWNED\x07\x1b[31mRED\u202eevil"},
        "c" * 32: {"editor": "\x1b[2J"},
        "9" * 32: {"host": "h" * 900_000},
        "../../../../tmp/x": {},
        "8" * 32: {"startedAt": -1e308},
    }
    for session, forged in forgeries.items():
        record = {**_record(session, old), **forged}
        r.set(keys.member(session), json.dumps(record), ex=60)
        r.zadd(keys.members, {session: now})
    app, env = one.uri("app.py"), one.uri(".env")
    await one.wait_for(lambda: bool(elsewhere(one, app)), timeout=10)
    await asyncio.sleep(1.5)  # several looks at the records
    flagged = [
        u for u, ds in one.client.diagnostics.items() if any(d.source == "SHIM windows" for d in ds)
    ]
    assert flagged == [app], flagged
    assert not elsewhere(one, env)
    listed = await windows(one)
    assert len(listed["windows"]) == 2, "itself and the honest record"
    assert listed["dropped"].get("malformed") == 8, listed["dropped"]  # once per record
    assert "PWNED" not in json.dumps(listed) and "\x1b" not in json.dumps(listed)


def test_a_token_in_the_git_remote_is_not_in_the_workspace_id(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://me:tok3n@example.com/a/b.git?token=qs-tok3n#x\n'
    )
    found = default_workspace_id(tmp_path)
    assert found == "git:https://example.com/a/b.git:", found


async def test_a_coordination_ttl_too_short_is_a_settings_problem(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    settings = coordinated(redis_server, coordinationTtl=0.01)
    one = await editors.start(workspace, tmp_path / "s1", settings=settings)
    await one.wait_for(lambda: bool(one.statuses) and one.statuses[-1].settingsProblems)
    problems = one.statuses[-1].settingsProblems
    assert any("coordinationTtl" in p and "at least 1" in p for p in problems), problems


async def test_shim_windows_from_a_subfolder_finds_the_workspace_above(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    settings = coordinated(redis_server)
    del settings["workspaceId"]
    one = await editors.start(workspace, tmp_path / "s1", settings=settings)
    await one.wait_for(lambda: coordination(one).get("state") == "connected", timeout=10)
    sub = workspace / "pkg" / "sub"
    sub.mkdir(parents=True)
    url = ["--redis-url", redis_server.url()]
    out = await asyncio.to_thread(shim, "windows", *url, cwd=sub)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("1 window of workspace "), out.stdout
    assert "found above" in out.stderr
    nowhere = await asyncio.to_thread(shim, "windows", *url, cwd=tmp_path)
    assert nowhere.stdout.startswith("0 windows") and "--workspace" in nowhere.stderr


async def test_a_redis_py_that_cannot_be_loaded_is_said_and_the_window_works_alone(
    editors: Editors, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken install, as the .vsix once was on Debian 12's Python 3.11.2 (no async-timeout):
    # the status said nothing while the error went to the log only.
    broken = tmp_path / "broken" / "redis"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'async_timeout'\")\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))
    (workspace / "app.py").write_text("a = 1\n")
    one = await editors.start(
        workspace, tmp_path / "s1", settings={"redisUrl": "redis://127.0.0.1:9/0"}
    )
    await one.wait_for(lambda: coordination(one).get("state") == "degraded", timeout=10)
    problem = coordination(one)["problem"]
    assert problem.startswith("coordination needs redis-py, which cannot be loaded here")
    assert "async_timeout" in problem and problem.endswith("this window works alone")
    await one.wait_for(lambda: any("redis-py" in m for m in one.shown_messages), timeout=5)
    uri = one.open("app.py")
    one.type(uri, 1, 0, "b = 2\n")
    assert (await one.command("shim.sessionStatus"))["dirtyDocuments"] == 1
