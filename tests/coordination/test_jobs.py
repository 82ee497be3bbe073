"""A workspace codemod run shared through BullMQ: batches worked by the group's windows, the
same edits as a run alone, a killed worker's batch run again, and a cancel that reaches the
window doing the work."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import lsprotocol.types as t
import pytest
from harness import Editor, Editors
from redis_rig import RedisServer, coordinated, elsewhere, stop, wait_members

from shim_lsp.codemods.runner import CodemodSpec, transform_bytes
from shim_lsp.coordination.jobs import QUEUE, bull_prefix
from shim_lsp.coordination.registry import Keys
from shim_lsp.metrics import exporter

UNIT_TESTS = Path(__file__).resolve().parent.parent / "unit"
PROGRESS = t.ClientCapabilities(
    workspace=t.WorkspaceClientCapabilities(configuration=True, apply_edit=True),
    window=t.WindowClientCapabilities(
        work_done_progress=True, show_message=t.ShowMessageRequestClientCapabilities()
    ),
)


@pytest.fixture(autouse=True)
def bad_codemods_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets the servers import tests/unit/bad_codemods.py, named in codemodModules."""
    paths = [str(UNIT_TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))


def jobs_of(redis: RedisServer) -> list[dict[str, str]]:
    """Every job hash of the workspace's codemod queue, as BullMQ keeps them."""
    r = redis.client()
    base = f"{bull_prefix(Keys('shim', 'ws-test'))}:{QUEUE}:"
    found = []
    for key in r.scan_iter(match=f"{base}*"):
        rest = (key.decode() if isinstance(key, bytes) else key)[len(base) :]
        if rest.startswith("b") and ":" not in rest and r.type(key) == b"hash":
            fields: dict[bytes, bytes] = r.hgetall(key)  # type: ignore[assignment]
            found.append({k.decode(): v.decode() for k, v in fields.items()})
    return found


async def window(
    editors: Editors,
    workspace: Path,
    state: Path,
    redis: RedisServer,
    answers: list[str] | None = None,
    **more: Any,
) -> Editor:
    settings = coordinated(redis, codemodModules=["bad_codemods"], codemodJobs=1, **more)
    return await editors.start(
        workspace, state, settings=settings, capabilities=PROGRESS, answers=answers
    )


async def test_a_run_shared_by_two_windows_survives_a_killed_worker_and_edits_as_a_run_alone(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    # eight one-second batches: the helper finishes one and holds another while there is
    # still work, even when its worker starts seconds after the asker's on a loaded machine
    texts = {f"m{i}.py": f"x = {i}\n" for i in range(8)}
    for name, text in texts.items():
        (workspace / name).write_text(text)
    asker = await window(editors, workspace, tmp_path / "a", redis_server)
    helper = await window(editors, workspace, tmp_path / "b", redis_server)
    await wait_members(asker, 2)
    run = asyncio.ensure_future(
        asker.command("shim.runCodemod", {"name": "bad_codemods.SlowAddComment"})
    )
    # The helper is killed while it works a batch, after it finished one: BullMQ gives the
    # batch it held to the asker once its lock lapses.
    helper_id = session_of(redis_server, helper)
    r = redis_server.client()
    active = f"{bull_prefix(Keys('shim', 'ws-test'))}:{QUEUE}:active"

    def helper_busy() -> bool:
        finished = [
            json.loads(j["returnvalue"])["worker"]
            for j in jobs_of(redis_server)
            if j.get("returnvalue")
        ]
        return helper_id in finished and r.llen(active) == 2

    await asker.wait_for(helper_busy, timeout=30)
    helper.kill()
    result = await asyncio.wait_for(run, 60)
    assert result["summary"] == "8 changed, 0 unchanged, 0 skipped, 0 failed"
    assert result["applied"] is True
    spec = CodemodSpec("bad_codemods", "SlowAddComment")
    for name, text in texts.items():
        alone = transform_bytes(spec, name, text.encode(), None)
        assert asker.docs[asker.uri(name)].source == (alone.new or b"").decode()
    assert result["shared"] == {"batches": 8, "windows": 2, "filesHere": 0}
    assert any(int(j.get("ats", "0")) >= 2 for j in jobs_of(redis_server)), "no batch ran again"
    assert any(
        isinstance(r, t.WorkDoneProgressReport)
        for rs in asker.client.progress_reports.values()
        for r in rs
    )
    undone = await asker.command("shim.undoCodemod", {"batch": result["batch"]})
    assert len(undone["undone"]) == 8


def queue_depth(*states: Path) -> tuple[float, float]:
    """(waiting, active) group jobs as the windows' metrics say, summed over their state
    folders: the leader's sample, wherever it runs."""
    found = {"waiting": 0.0, "active": 0.0}
    for state in states:
        for name, labels, value in exporter.samples(state / "metrics"):
            if name == "shim_coordination_queue_jobs":
                found[labels["state"]] += value
    return found["waiting"], found["active"]


def session_of(redis: RedisServer, editor: Editor) -> str:
    """The session id a window works jobs under, from its record in the registry."""
    r = redis.client()
    for key in r.scan_iter(match="shim:ws:*:member:*"):
        record = json.loads(r.get(key) or b"{}")
        if record["pid"] == editor.pid:
            return str(record["session"])
    raise AssertionError(f"no member record of pid {editor.pid}")


async def test_cancel_reaches_the_window_doing_the_work_and_redis_gone_mid_run_means_local(
    redis_server: RedisServer, editors: Editors, workspace: Path, tmp_path: Path
) -> None:
    # The helper works another checkout of the same workspaceId: the files it shares, and
    # one that differs there.
    checkout = tmp_path / "checkout"
    checkout.mkdir()

    def write(name: str, text: str) -> None:
        for folder in (workspace, checkout):
            (folder / name).write_text(text)

    for i in range(3):
        write(f"slow{i}.py", "x = 'HANG'\n")
    asker = await window(editors, workspace, tmp_path / "a", redis_server, codemodBatchWorkers=0)
    helper = await window(editors, checkout, tmp_path / "b", redis_server, codemodTimeout=60)
    await wait_members(asker, 2)
    run = asyncio.ensure_future(
        asker.command("shim.runCodemod", {"name": "bad_codemods.HangOnMarker"})
    )
    r = redis_server.client()
    active = f"{bull_prefix(Keys('shim', 'ws-test'))}:{QUEUE}:active"
    await helper.wait_for(lambda: r.llen(active) > 0)
    # One batch in hand, two waiting for a worker: the group's leader samples that for the
    # metrics at its heartbeat.
    states = (tmp_path / "a", tmp_path / "b")
    await helper.wait_for(lambda: queue_depth(*states) == (2, 1), timeout=10)
    (token,) = asker.client.progress_reports
    asker.client.window_work_done_progress_cancel(t.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(run, 30)
    assert result["cancelled"] is True and result["applied"] is False
    assert result["summary"].endswith("3 not run (cancelled)")
    await helper.wait_for(lambda: r.llen(active) == 0)
    reasons = [j.get("failedReason", "") for j in jobs_of(redis_server)]
    assert "cancelled by the window that asked" in reasons
    await helper.wait_for(lambda: queue_depth(*states) == (0, 0), timeout=10)
    # A file unsaved in the helper is changed by the asker's run only when the user says so.
    write("g.py", "needle = 1\n")
    write("h.py", "needle = 2\n")
    held = helper.open("g.py")
    helper.type(held, 0, 0, "unsaved = 1\n")
    await asker.wait_for(lambda: bool(elsewhere(asker, asker.uri("g.py"))))
    asker.answers.append("Leave them")
    both = {"scope": "paths", "paths": ["g.py", "h.py"]}
    left = await asker.command(
        "shim.runCodemod", {"name": "bad_codemods.AddCommentTogether", **both}
    )
    assert "g.py (" in asker.prompts[-1] and "unsaved in another window" in asker.prompts[-1]
    assert left["applied"] is False and left["changed"] == []
    assert {s["path"].rsplit("/", 1)[1] for s in left["skipped"]} == {"g.py", "h.py"}
    assert all("unsaved in another window" in s["reason"] for s in left["skipped"])
    unanswered = await asker.command("shim.runCodemod", {"name": "bad_codemods.AddComment", **both})
    (skipped,) = unanswered["skipped"]
    assert skipped["path"].endswith("g.py") and skipped["reason"].endswith("not changed: no answer")
    assert [c.rsplit("/", 1)[1] for c in unanswered["changed"]] == ["h.py"]
    asker.answers.append("Change them")
    one = {"scope": "paths", "paths": ["g.py"]}
    changed = await asker.command("shim.runCodemod", {"name": "bad_codemods.AddComment", **one})
    assert changed["applied"] is True and changed["changed"] == [asker.uri("g.py")]
    assert len(asker.prompts) == 3
    # A file whose content differs in the helper's checkout is left by the helper to the
    # asker, which runs it itself: the run is complete.
    write("same.py", "needle = 's'\n")
    write("differs.py", "needle = 'd'\n")
    (checkout / "differs.py").write_text("needle = 'only in the helper'\n")
    pair = {"scope": "paths", "paths": ["same.py", "differs.py"]}
    whole = await asker.command("shim.runCodemod", {"name": "bad_codemods.AddComment", **pair})
    assert whole["summary"] == "2 changed, 0 unchanged, 0 skipped, 0 failed", whole
    assert whole["applied"] is True and whole["shared"]["filesHere"] == 1
    for name, text in (("same.py", "needle = 's'\n"), ("differs.py", "needle = 'd'\n")):
        assert asker.docs[asker.uri(name)].source == f"# seen\n{text}"
    assert (checkout / "differs.py").read_text() == "needle = 'only in the helper'\n"
    # Redis gone mid-run: the batches not finished run in the asking window, same edits.
    names = [f"f{i}.py" for i in range(3)]
    for name in names:
        write(name, "y = 1\n")
    run = asyncio.ensure_future(
        asker.command(
            "shim.runCodemod",
            {"name": "bad_codemods.SlowAddComment", "scope": "paths", "paths": names},
        )
    )

    def one_done() -> bool:
        found = jobs_of(redis_server)
        return any("SlowAddComment" in j["data"] and j.get("returnvalue") for j in found)

    await asker.wait_for(one_done)
    stop(redis_server)
    result = await asyncio.wait_for(run, 60)
    assert result["summary"] == "3 changed, 0 unchanged, 0 skipped, 0 failed"
    assert result["applied"] is True and result["shared"]["filesHere"] >= 1
    for name in names:
        assert asker.docs[asker.uri(name)].source == "# slow\ny = 1\n"
