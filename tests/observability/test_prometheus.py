"""A real Prometheus scrapes ``shim metrics serve`` while real SHIM servers come and go: what
the dashboard and the alerts query is there, and the figures are the ones the windows made.

One Prometheus for the module: windows exit, crash and recover, then every query is asked.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from pathlib import Path

from harness import Editors, crash_after_typing, journal_settled, stop_editor
from prom_rig import (
    DEPLOY,
    alertmanager,
    exporter,
    prometheus,
    query,
    value,
    wait_value,
    webhook,
)

from shim_lsp.metrics.families import CHECKPOINT_REASONS, OUTCOMES

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "shim.json"
RULES = DEPLOY / "shim-rules.yml"
OPERATORS = re.compile(r"\s(?:and|or|unless|>=|<=|==|!=|>|<)\s")
NAME = re.compile(r"\bshim_[a-z_]+")


def lowered_rules(folder: Path) -> Path:
    """deploy's rules with "no checkpoint for 30 minutes" lowered to 3 s, for 1 s."""
    text = RULES.read_text()
    assert "max by (instance) (shim_unchecked_age_seconds) > 1800" in text
    text = text.replace(
        "max by (instance) (shim_unchecked_age_seconds) > 1800",
        "max by (instance) (shim_unchecked_age_seconds) > 3",
    )
    text = text.replace("for: 1m", "for: 1s")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(text)
    return folder / "rules.yml"


def alertmanager_config(url: str) -> str:
    """deploy's Alertmanager configuration, sending to the test's webhook at once."""
    text = (DEPLOY / "alertmanager.yml").read_text()
    assert "http://127.0.0.1:5001/shim-alerts" in text
    text = text.replace("http://127.0.0.1:5001/shim-alerts", url)
    return text.replace("group_wait: 30s", "group_wait: 1s").replace(
        "group_wait: 10s", "group_wait: 1s"
    )


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def rule_queries() -> list[str]:
    """Each side of an alert's comparison: the alert itself is quiet here (nothing is wrong),
    but what it compares must be data, or it could never fire."""
    exprs = [
        line.split("expr:", 1)[1].strip()
        for line in RULES.read_text().splitlines()
        if "expr:" in line
    ]
    return [part for expr in exprs for part in OPERATORS.split(expr) if NAME.search(part)]


def exported_names(port: int) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE shim_")}


def family(name: str, exported: set[str]) -> str | None:
    """The exported family a sample name belongs to (``_bucket``, ``_total``... stripped)."""
    for candidate in (
        name,
        *(name.removesuffix(s) for s in ("_bucket", "_sum", "_count", "_total")),
    ):
        if candidate in exported:
            return candidate
    return None


async def test_prometheus_sees_every_window_and_every_panel_and_alert_has_data(
    tmp_path: Path, workspace: Path, state_dir: Path, editors: Editors
) -> None:
    rules = lowered_rules(tmp_path / "rules")
    with (
        webhook() as (hook, received),
        alertmanager(tmp_path / "am", alertmanager_config(hook)) as am,
        exporter(state_dir) as port,
        prometheus(tmp_path / "prom", port, [rules], am) as url,
    ):
        # Before any window runs, every counter is there at 0: a first event is an increase.
        declared = len(CHECKPOINT_REASONS) * len(OUTCOMES)
        assert wait_value(url, "count(shim_checkpoints_total == 0)", 10) == declared
        # A window edits, checkpoints, saves and exits cleanly: its counters stay, its gauges go.
        (workspace / "a.py").write_text("a = 1\n")
        first = await editors.start(workspace, state_dir)
        uri = first.open("a.py")
        first.type(uri, 1, 0, "b = 2\n")
        await first.command("shim.forceCheckpoint", {"label": "before"})
        (workspace / "a.py").write_text(first.docs[uri].source)
        first.save(uri)
        await journal_settled(first)
        await stop_editor(first)
        # Another is SIGKILLed with unsaved work; the next one is offered it and restores it.
        typed = await crash_after_typing(workspace, state_dir, "b.py", "lost = 'not lost'\n")
        # It takes no checkpoint of its own: the restored work waits in none.
        third = await editors.start(
            workspace, state_dir, answers=["Restore all"], settings={"autoCheckpoint": False}
        )
        b = third.uri("b.py")
        await third.wait_for(lambda: b in third.docs and third.docs[b].source == typed)
        await journal_settled(third)

        assert wait_value(url, 'sum(shim_recoveries_total{outcome="restored"}) > 0') == 1
        assert value(url, 'sum(shim_recoveries_total{outcome="offered"})') == 1
        assert value(url, 'sum(shim_checkpoints_total{reason="manual",outcome="ok"})') == 1
        assert value(url, "sum(shim_checkpoint_size_bytes_count)") == 1
        manual = 'shim_checkpoints_total{reason="manual",outcome="ok"}'
        assert value(url, f"round(sum(increase({manual}[10m])))") == 1
        # The size panel's median is near the real size of a small checkpoint (a few bytes).
        size = value(url, "sum(shim_checkpoint_size_bytes_sum)")
        buckets = "sum by (le) (shim_checkpoint_size_bytes_bucket)"
        median = value(url, f"histogram_quantile(0.5, {buckets})")
        assert size is not None and median is not None and size / 4 <= median <= size * 4
        # Only the third window is alive: the clean exit and the kill left no gauge behind.
        assert wait_value(url, "sum(shim_windows) == 1") == 1
        assert wait_value(url, f"sum(shim_unsaved_bytes) == {len(typed.encode())}") > 0
        assert value(url, "max(shim_last_checkpoint_timestamp_seconds) > 0") is not None

        exported = exported_names(port)
        queries = dashboard_queries() + rule_queries()
        named = {family(n, exported) for q in queries for n in NAME.findall(q)}
        assert None not in named, [
            q for q in queries if any(family(n, exported) is None for n in NAME.findall(q))
        ]
        assert named == exported, f"families without a panel or alert: {exported - named}"
        # Range queries need two scrapes of the same window.
        wait_value(url, "count_over_time(shim_windows[1m]) > 2")
        empty = [q for q in queries if not query(url, q)]
        assert not empty, f"queries that return no data: {empty}"

        # Unsaved work held past the (lowered) threshold reaches the webhook through
        # Alertmanager; nothing else is wrong, so no other alert comes.
        deadline = time.monotonic() + 60
        while not received:
            assert time.monotonic() < deadline, "no alert reached the webhook"
            await asyncio.sleep(0.25)
        alerts = [a for message in received for a in message["alerts"]]
        assert {a["labels"]["alertname"] for a in alerts} == {"ShimNoRecentCheckpoint"}
        assert alerts[0]["status"] == "firing"
        assert alerts[0]["annotations"]["summary"].startswith("Unsaved work has waited 30")

        # A store error mutes the missing checkpoints of its own machine only.
        posted = [
            {"labels": {"alertname": name, "instance": where, "severity": "warning"}}
            for name, where in [
                ("ShimStoreWriteErrors", "a:9464"),
                ("ShimNoRecentCheckpoint", "a:9464"),
                ("ShimNoRecentCheckpoint", "b:9464"),
            ]
        ]
        request = urllib.request.Request(
            f"http://{am}/api/v2/alerts",
            data=json.dumps(posted).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        assert await muted(am) == {"a:9464": True, "b:9464": False}


async def muted(am: str) -> dict[str, bool]:
    """Whether Alertmanager holds back each test machine's ShimNoRecentCheckpoint."""
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(f"http://{am}/api/v2/alerts", timeout=10) as r:
            alerts = json.load(r)
        found = {
            a["labels"]["instance"]: bool(a["status"]["inhibitedBy"])
            for a in alerts
            if a["labels"]["alertname"] == "ShimNoRecentCheckpoint"
            and a["labels"].get("instance") in ("a:9464", "b:9464")
        }
        if (len(found) == 2 and found["a:9464"]) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)
