/**
 * SHIM's command IDs and notification names, mirrored once from the server: command IDs from the `@command` declarations of its features
 * (shim_lsp/server/factory.py `command_specs`), notification names from shim_lsp/notifications.py.
 * test/unit/commands.test.ts checks that the two lists agree. No `vscode` import: pure.
 */

/** Commands the server executes (`workspace/executeCommand`). */
export const ServerCommand = {
  autoCheckpoint: 'shim.autoCheckpoint',
  checkRecovery: 'shim.checkRecovery',
  monitorSignals: 'shim.monitorSignals',
  sessionStatus: 'shim.sessionStatus',
  forceCheckpoint: 'shim.forceCheckpoint',
  clearState: 'shim.clearState',
  listCheckpoints: 'shim.listCheckpoints',
  restoreCheckpoint: 'shim.restoreCheckpoint',
  recoverSession: 'shim.recoverSession',
  compareWithCheckpoint: 'shim.compareWithCheckpoint',
  recoveredText: 'shim.recoveredText',
  listCodemods: 'shim.listCodemods',
  runCodemod: 'shim.runCodemod',
  undoCodemod: 'shim.undoCodemod',
} as const;

export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];

/** Commands of the extension alone: they only show things or manage the server process. */
export const ClientCommand = {
  browseCheckpoints: 'shim.browseCheckpoints',
  showOutput: 'shim.showOutput',
  restartServer: 'shim.restartServer',
  pauseAutoCheckpoints: 'shim.pauseAutoCheckpoints',
  resumeAutoCheckpoints: 'shim.resumeAutoCheckpoints',
  reviewRecovery: 'shim.reviewRecovery',
} as const;

/** Context keys the extension sets, for `when` clauses in package.json. */
export const ContextKey = {
  autoCheckpointPaused: 'shim.autoCheckpointPaused',
  recoveryWaiting: 'shim.recoveryWaiting',
  /** The active editor is a diff of a checkpoint (left) against the file (right). */
  checkpointDiff: 'shim.checkpointDiff',
} as const;

export const Notification = {
  /** Last checkpoint time and risk level, pushed whenever either changes. */
  status: 'shim/status',
  /** Crashed work, sent instead of SHIM's own prompt to a client with a recovery UI. */
  recoveryAvailable: 'shim/recoveryAvailable',
  /** Work looked at risk (a checkpoint was taken), sent instead of SHIM's message to a client with a risk UI. */
  riskAlarm: 'shim/riskAlarm',
} as const;

/** Key under `capabilities.experimental` announcing what this client shows itself. */
export const CLIENT_CAPABILITY = 'shim';

/** Virtual document schemes: a checkpoint's version of a file, and a crashed session's text. */
export const Scheme = {
  checkpoint: 'shim-checkpoint',
  recovered: 'shim-recovered',
} as const;
