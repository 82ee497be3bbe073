"""deploy/ as Prometheus's and Alertmanager's own tools read it: the configuration, the rules
and their unit tests (every alert fires when it should and stays quiet when it should not)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from prom_rig import AMTOOL, DEPLOY, PROMTOOL, need

HERE = Path(__file__).parent


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


def test_prometheus_configuration_and_rules_are_valid() -> None:
    need(PROMTOOL)
    for args in (
        ("check", "config", DEPLOY / "prometheus.yml"),
        ("check", "rules", DEPLOY / "shim-rules.yml"),
    ):
        out = run(PROMTOOL, *args)
        assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    need(PROMTOOL)
    out = run(PROMTOOL, "test", "rules", HERE / "shim-rules.test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    tests = (HERE / "shim-rules.test.yml").read_text()
    rules = (DEPLOY / "shim-rules.yml").read_text()
    alerts = [line.split(":")[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert len(alerts) == 7
    for alert in alerts:
        # each alert is tested at least twice: once expected to fire, once to stay quiet
        assert tests.count(f"alertname: {alert}\n") >= 2, alert


def test_alertmanager_configuration_is_valid() -> None:
    need(AMTOOL)
    out = run(AMTOOL, "check-config", DEPLOY / "alertmanager.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_grafana_is_provisioned_with_the_dashboard() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/shim.json").read_text())
    assert dashboard["uid"] == "shim"
    datasource = (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    assert "uid: prometheus" in datasource
    assert all(p["datasource"]["uid"] == "prometheus" for p in dashboard["panels"])
    assert "type: file" in (DEPLOY / "grafana/provisioning/dashboards/shim.yml").read_text()


def test_dashboard_counts_are_whole_numbers_and_each_series_has_its_own_unit() -> None:
    """increase() extrapolates (2 checkpoints read as 2.04): a count is rounded and shown
    without decimals. A series that is not in seconds never sits on a panel's seconds axis."""
    panels = json.loads((DEPLOY / "grafana/dashboards/shim.json").read_text())["panels"]
    for panel in panels:
        defaults = panel["fieldConfig"]["defaults"]
        own_unit = {
            o["matcher"]["options"]
            for o in panel["fieldConfig"]["overrides"]
            if any(p["id"] == "unit" for p in o["properties"])
        }
        for target in panel["targets"]:
            if "increase(" in target["expr"]:
                assert target["expr"].startswith("round("), (panel["title"], target["expr"])
                assert defaults.get("decimals") == 0, panel["title"]
            if defaults.get("unit") == "s" and "_seconds" not in target["expr"]:
                assert target["refId"] in own_unit, (panel["title"], target["expr"])
