"""Every metric family SHIM exports, defined once.

Names follow Prometheus's conventions: ``shim_`` prefix, base units in the name, ``_total``
on counters. Labels take a few fixed values only (never a path or a session id), and each
labelled family starts with its known values at zero, so that a query returns data before the
first event. A gauge's multiprocess mode says how the windows of a machine add up: ``live*``
modes drop a window's value when it exits.
"""

from __future__ import annotations

from functools import partial
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CHECKPOINT_REASONS: Final = ("manual", "idle", "interval", "scan", "risk", "codemod", "other")
OUTCOMES: Final = ("ok", "failed")
RECOVERY_OUTCOMES: Final = ("offered", "restored", "dismissed", "failed", "unsupported")
"""unsupported: the editor cannot apply a server's edits (told to run `shim recover`): not
a failure, and not what the recovery-failed alert is about."""
LOST_REASONS: Final = ("dismissed", "failed", "unsupported")
"""Why crashed work was not given back: the user dismissed it, the editor failed or refused
the restore, or it cannot apply a server's edits (told to run `shim recover`)."""
QUEUE_STATES: Final = ("waiting", "active")
STORE_OPERATIONS: Final = ("journal", "checkpoint")
CODEMOD_OUTCOMES: Final = ("applied", "nothing", "cancelled", "failed")
ANALYSES: Final = ("ruff", "duplicates", "typecheck")
JOB_EVENTS: Final = ("retried", "failed")
SECONDS_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
BYTES_BUCKETS: Final = tuple(float(4**n * 16) for n in range(0, 15))
"""16 B to 4 GiB: a checkpoint of a few small buffers is tens of bytes."""


class Families:
    """The metric objects; built only once the value class (multiprocess or not) is chosen."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Registered nowhere by default: nothing in a window serves them (the exporter reads
        the files), and a window that turns metrics back on builds them anew."""
        g = partial(Gauge, registry=registry)
        c = partial(Counter, registry=registry)
        h = partial(Histogram, registry=registry)
        self.windows = g(
            "shim_windows",
            "SHIM servers running (editor windows and AI chats)",
            multiprocess_mode="livesum",
        )
        self.unsaved_bytes = g(
            "shim_unsaved_bytes", "Unsaved text in editor buffers", multiprocess_mode="livesum"
        )
        self.unsaved_age = g(
            "shim_unsaved_age_seconds",
            "Age of the oldest unsaved change",
            multiprocess_mode="livemax",
        )
        self.unchecked_bytes = g(
            "shim_unchecked_bytes",
            "Unsaved text that no checkpoint holds yet",
            multiprocess_mode="livesum",
        )
        self.unchecked_age = g(
            "shim_unchecked_age_seconds",
            "Age of the oldest unsaved change that no checkpoint holds yet",
            multiprocess_mode="livemax",
        )
        self.journal_lag = g(
            "shim_journal_lag_seconds",
            "Age of the oldest edit not yet committed to the journal",
            multiprocess_mode="livemax",
        )
        self.journal_pending = g(
            "shim_journal_pending_records",
            "Edits queued for the journal (its queue depth)",
            multiprocess_mode="livesum",
        )
        self.risk_score = g(
            "shim_risk_score", "Risk to unsaved work (1 = high)", multiprocess_mode="livemax"
        )
        self.risk_level = g(
            "shim_risk_level",
            "Risk level: 0 low, 1 elevated, 2 high",
            multiprocess_mode="livemax",
        )
        self.rss = g(
            "shim_process_resident_memory_bytes",
            "Resident memory of the SHIM servers",
            multiprocess_mode="livesum",
        )
        self.store_size = g(
            "shim_store_size_bytes",
            "Size of SHIM's SQLite store with its write-ahead log",
            multiprocess_mode="livemax",
        )
        self.last_checkpoint = g(
            "shim_last_checkpoint_timestamp_seconds",
            "When the newest checkpoint was taken (Unix time)",
            multiprocess_mode="max",
        )
        self.checkpoint_seconds = h(
            "shim_checkpoint_duration_seconds",
            "Time to take a checkpoint",
            ["reason"],
            buckets=SECONDS_BUCKETS,
        )
        self.checkpoint_bytes = h(
            "shim_checkpoint_size_bytes",
            "Bytes a checkpoint holds (files and buffers)",
            buckets=BYTES_BUCKETS,
        )
        self.checkpoints = c(
            "shim_checkpoints", "Checkpoints taken, by reason and outcome", ["reason", "outcome"]
        )
        self.recoveries = c(
            "shim_recoveries",
            "Crashed work offered, restored, dismissed, failed, or unsupported by the editor",
            ["outcome"],
        )
        self.lost_edits = c(
            "shim_recovery_lost_edits",
            "Edits of crashed work that recovery did not give back, by why",
            ["reason"],
        )
        self.store_errors = c(
            "shim_store_errors", "Store writes that failed, by operation", ["operation"]
        )
        self.codemod_runs = c("shim_codemod_runs", "Codemod runs by outcome", ["outcome"])
        self.codemod_seconds = h(
            "shim_codemod_duration_seconds", "Time a codemod run took", buckets=SECONDS_BUCKETS
        )
        self.analysis_seconds = h(
            "shim_analysis_duration_seconds",
            "Time an analysis pass took",
            ["analysis"],
            buckets=SECONDS_BUCKETS,
        )
        self.analysis_findings = g(
            "shim_analysis_findings",
            "Findings shown as diagnostics",
            ["analysis"],
            multiprocess_mode="livesum",
        )
        self.coordination_up = g(
            "shim_coordination_up",
            "Windows connected to their group's Redis",
            multiprocess_mode="livesum",
        )
        self.coordination_degraded = g(
            "shim_coordination_degraded",
            "Windows with a Redis configured but not reachable",
            multiprocess_mode="livesum",
        )
        self.coordination_leader = g(
            "shim_coordination_leader",
            "Windows leading their group",
            multiprocess_mode="livesum",
        )
        self.queue_jobs = g(
            "shim_coordination_queue_jobs",
            "Jobs in the workspace group's queue, by state (sampled by the group's leader)",
            ["state"],
            multiprocess_mode="livesum",
        )
        self.jobs = c("shim_coordination_jobs", "Group jobs retried or failed", ["event"])
        self.mcp_calls = c("shim_mcp_tool_calls", "MCP tool calls by outcome", ["outcome"])
        self._start_labels()

    def _start_labels(self) -> None:
        for reason in CHECKPOINT_REASONS:
            self.checkpoint_seconds.labels(reason)
            for outcome in OUTCOMES:
                self.checkpoints.labels(reason, outcome)
        for outcome in RECOVERY_OUTCOMES:
            self.recoveries.labels(outcome)
        for reason in LOST_REASONS:
            self.lost_edits.labels(reason)
        for operation in STORE_OPERATIONS:
            self.store_errors.labels(operation)
        for outcome in CODEMOD_OUTCOMES:
            self.codemod_runs.labels(outcome)
        for analysis in ANALYSES:
            self.analysis_seconds.labels(analysis)
            self.analysis_findings.labels(analysis)
        for state in QUEUE_STATES:
            self.queue_jobs.labels(state)
        for event in JOB_EVENTS:
            self.jobs.labels(event)
        for outcome in OUTCOMES:
            self.mcp_calls.labels(outcome)
