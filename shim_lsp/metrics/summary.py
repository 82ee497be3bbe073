"""``shim metrics`` for people who do not run Prometheus: the same figures, added up into what
one asks about (how many windows, how much unsaved work, how checkpoints and recoveries went),
as stable JSON keys and as a few readable lines.

A figure of the moment (a gauge) that no running window reports is 0, not missing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shim_lsp.metrics import exporter
from shim_lsp.metrics.families import (
    ANALYSES,
    CODEMOD_OUTCOMES,
    LOST_REASONS,
    RECOVERY_OUTCOMES,
)

Samples = list[tuple[str, dict[str, str], float]]
LEVELS = ("low", "elevated", "high")


def _total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v
        for n, ls, v in samples
        if n == name and all(ls.get(k) == want for k, want in labels.items())
    )


def _quantile(samples: Samples, family: str, q: float, **labels: str) -> float | None:
    """As PromQL's histogram_quantile: linear within the bucket that holds the rank."""
    buckets: dict[float, float] = {}
    for n, ls, v in samples:
        if n == f"{family}_bucket" and all(ls.get(k) == w for k, w in labels.items()):
            le = float(ls["le"])
            buckets[le] = buckets.get(le, 0.0) + v
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] == 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for le in bounds:
        if buckets[le] >= rank:
            if math.isinf(le):
                return lower
            inside = buckets[le] - below
            return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = le, buckets[le]
    return None


def report(folder: Path) -> dict[str, Any]:
    """Every window's figures of this machine, by subject (stable keys)."""
    s: Samples = list(exporter.samples(folder))

    def t(name: str, **labels: str) -> float:
        return _total(s, name, **labels)

    level = int(t("shim_risk_level"))
    return {
        "windows": {"live": int(t("shim_windows"))},
        "unsaved": {
            "bytes": int(t("shim_unsaved_bytes")),
            "oldestSeconds": t("shim_unsaved_age_seconds"),
            "uncheckpointedBytes": int(t("shim_unchecked_bytes")),
            "uncheckpointedOldestSeconds": t("shim_unchecked_age_seconds"),
        },
        "risk": {"score": t("shim_risk_score"), "level": LEVELS[min(level, 2)]},
        "journal": {
            "pendingEdits": int(t("shim_journal_pending_records")),
            "lagSeconds": t("shim_journal_lag_seconds"),
        },
        "checkpoints": {
            # The histogram's own count: the count and its percentiles come from one file read
            # at one moment, so they never disagree (a checkpoint ending between the reads of
            # the counter's and the histogram's files read as "0 (p50 18 ms)").
            "taken": int(t("shim_checkpoint_duration_seconds_count")),
            "failed": int(t("shim_checkpoints_total", outcome="failed")),
            "p50Seconds": _quantile(s, "shim_checkpoint_duration_seconds", 0.5),
            "p95Seconds": _quantile(s, "shim_checkpoint_duration_seconds", 0.95),
            "newestAt": t("shim_last_checkpoint_timestamp_seconds") or None,
        },
        "recoveries": {
            **{o: int(t("shim_recoveries_total", outcome=o)) for o in RECOVERY_OUTCOMES},
            "lostEdits": {
                r: int(t("shim_recovery_lost_edits_total", reason=r)) for r in LOST_REASONS
            },
        },
        "store": {
            "bytes": int(t("shim_store_size_bytes")),
            "errors": int(t("shim_store_errors_total")),
        },
        "codemods": {
            **{o: int(t("shim_codemod_runs_total", outcome=o)) for o in CODEMOD_OUTCOMES},
            "p50Seconds": _quantile(s, "shim_codemod_duration_seconds", 0.5),
        },
        "analysis": {
            a: {
                "runs": int(t("shim_analysis_duration_seconds_count", analysis=a)),
                "p50Seconds": _quantile(s, "shim_analysis_duration_seconds", 0.5, analysis=a),
                "findings": int(t("shim_analysis_findings", analysis=a)),
            }
            for a in ANALYSES
        },
        "coordination": {
            "connected": int(t("shim_coordination_up")),
            "degraded": int(t("shim_coordination_degraded")),
            "leading": int(t("shim_coordination_leader")),
            "queueWaiting": int(t("shim_coordination_queue_jobs", state="waiting")),
            "queueActive": int(t("shim_coordination_queue_jobs", state="active")),
            "jobsRetried": int(t("shim_coordination_jobs_total", event="retried")),
            "jobsFailed": int(t("shim_coordination_jobs_total", event="failed")),
        },
        "mcp": {
            "ok": int(t("shim_mcp_tool_calls_total", outcome="ok")),
            "failed": int(t("shim_mcp_tool_calls_total", outcome="failed")),
        },
        "memory": {"residentBytes": int(t("shim_process_resident_memory_bytes"))},
    }


def size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _counts(found: dict[str, Any], keys: Iterable[str]) -> str:
    return ", ".join(f"{k} {found[k]}" for k in keys)


def lines(r: dict[str, Any], now: float | None = None) -> list[str]:
    """The report as a person reads it, a subject a line."""
    u, c, rec = r["unsaved"], r["checkpoints"], r["recoveries"]
    newest = c["newestAt"]
    ago = f"newest {duration((now or time.time()) - newest)} ago" if newest else "none yet"
    lost = rec["lostEdits"]
    analysis = "; ".join(
        f"{name} {a['runs']} runs (p50 {duration(a['p50Seconds'])}), {a['findings']} findings"
        for name, a in r["analysis"].items()
    )
    co = r["coordination"]
    unsaved = f"{size(u['bytes'])}, oldest {duration(u['oldestSeconds'])}" if u["bytes"] else "none"
    unchecked = size(u["uncheckpointedBytes"]) if u["uncheckpointedBytes"] else "none"
    # The store's size is a figure of the moment, reported by running windows only.
    store = size(r["store"]["bytes"]) if r["windows"]["live"] else "no window open"
    return [
        f"Windows: {r['windows']['live']} live",
        f"Unsaved: {unsaved}; in no checkpoint yet: {unchecked}",
        f"Risk: {r['risk']['level']} (score {r['risk']['score']:.2f})",
        f"Journal: {r['journal']['pendingEdits']} edits queued,"
        f" lag {duration(r['journal']['lagSeconds'])}",
        f"Checkpoints: {c['taken']} (p50 {duration(c['p50Seconds'])},"
        f" p95 {duration(c['p95Seconds'])}), {c['failed']} failed, {ago}",
        f"Recoveries: {_counts(rec, RECOVERY_OUTCOMES)};"
        f" edits not given back {sum(lost.values())} ({_counts(lost, LOST_REASONS)})",
        f"Store: {store}, {r['store']['errors']} errors",
        f"Codemods: {_counts(r['codemods'], CODEMOD_OUTCOMES)}"
        f" (p50 {duration(r['codemods']['p50Seconds'])})",
        f"Analysis: {analysis}",
        f"Coordination: {co['connected']} connected, {co['degraded']} degraded,"
        f" {co['leading']} leading; queue {co['queueWaiting']} waiting,"
        f" {co['queueActive']} active; jobs {co['jobsRetried']} retried,"
        f" {co['jobsFailed']} failed",
        f"MCP tool calls: {r['mcp']['ok']} ok, {r['mcp']['failed']} failed",
        f"Memory: {size(r['memory']['residentBytes'])} resident",
    ]
