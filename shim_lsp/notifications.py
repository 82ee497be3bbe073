"""Names of the protocol beyond LSP: SHIM's notifications and its client capability key,
mirrored once in editor-client/src/commands.ts. Command IDs are declared beside their
handlers (``@command`` in the server's features)."""

from __future__ import annotations

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
``shim/riskAlarm``) instead of SHIM's message; ``{"editorCommands": true}``, it runs the SHIM
extension's own VS Code commands, which code actions may then name (the recovery notice's
Compare, the checkpoint source actions)."""
