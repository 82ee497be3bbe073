"""Command IDs: defined once here, mirrored once in editor-client/src/commands.ts."""

from __future__ import annotations

AUTO_CHECKPOINT = "shim.autoCheckpoint"
CHECK_RECOVERY = "shim.checkRecovery"
MONITOR_SIGNALS = "shim.monitorSignals"
SESSION_STATUS = "shim.sessionStatus"
FORCE_CHECKPOINT = "shim.forceCheckpoint"
CLEAR_STATE = "shim.clearState"
LIST_CHECKPOINTS = "shim.listCheckpoints"
RESTORE_CHECKPOINT = "shim.restoreCheckpoint"
RECOVER_SESSION = "shim.recoverSession"
COMPARE_WITH_CHECKPOINT = "shim.compareWithCheckpoint"
RECOVERED_TEXT = "shim.recoveredText"
LIST_CODEMODS = "shim.listCodemods"
RUN_CODEMOD = "shim.runCodemod"
UNDO_CODEMOD = "shim.undoCodemod"

ALL = (
    AUTO_CHECKPOINT,
    CHECK_RECOVERY,
    MONITOR_SIGNALS,
    SESSION_STATUS,
    FORCE_CHECKPOINT,
    CLEAR_STATE,
    LIST_CHECKPOINTS,
    RESTORE_CHECKPOINT,
    RECOVER_SESSION,
    COMPARE_WITH_CHECKPOINT,
    RECOVERED_TEXT,
    LIST_CODEMODS,
    RUN_CODEMOD,
    UNDO_CODEMOD,
)

TAKES_WORK_DONE_TOKEN = frozenset({RUN_CODEMOD})
"""Commands that report progress on the client's ``workDoneToken`` when the request has one."""

STATUS_NOTIFICATION = "shim/status"
"""Server-to-client notification: checkpoint time and risk level, for status bars."""

RECOVERY_NOTIFICATION = "shim/recoveryAvailable"
"""Server-to-client notification: crashed work, for clients that show recovery themselves."""

RISK_NOTIFICATION = "shim/riskAlarm"
"""Server-to-client notification: work looked at risk and a checkpoint was taken, for clients
that warn about it themselves (with actions such as Save All)."""

CLIENT_CAPABILITY = "shim"
"""Key under the client's ``capabilities.experimental``: ``{"recoveryUi": true}`` means the
client shows its own recovery prompt (on ``shim/recoveryAvailable``) instead of SHIM's
``window/showMessageRequest`` questions; ``{"riskUi": true}``, its own risk warning (on
``shim/riskAlarm``) instead of SHIM's message."""
