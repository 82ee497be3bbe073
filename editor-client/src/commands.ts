/**
 * SHIM's server command IDs and notification names, mirrored once from the server (command IDs
 * from the `@command` declarations of its features, `command_specs` in
 * shim_lsp/server/factory.py; notification names from shim_lsp/notifications.py), and the
 * extension's own VS Code command IDs. test/unit/commands.test.ts checks the first against the
 * server and the second against package.json. No `vscode` import: pure.
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
  moduleName: 'shim.moduleName',
  runCodemod: 'shim.runCodemod',
  undoCodemod: 'shim.undoCodemod',
  findDuplicates: 'shim.findDuplicates',
  openDuplicate: 'shim.openDuplicate',
  analyzeWorkspace: 'shim.analyzeWorkspace',
  windows: 'shim.windows',
  applyEdit: 'shim.applyEdit',
} as const;

export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];

/**
 * VS Code's command IDs: the extension's, named after what the user does, never a server
 * command ID. vscode-languageclient registers each server command ID as a VS Code command that
 * sends it to the server as is (its ExecuteCommand feature); these put pickers, input boxes
 * and messages around them. Passed the server's argument object (a keybinding, another
 * extension), a command skips its questions.
 */
export const VsCommand = {
  checkpointNow: 'shim.checkpointNow',
  showSessionStatus: 'shim.showSessionStatus',
  showCrashRiskSignals: 'shim.showCrashRiskSignals',
  pauseAutoCheckpoints: 'shim.pauseAutoCheckpoints',
  resumeAutoCheckpoints: 'shim.resumeAutoCheckpoints',
  recoverUnsavedWork: 'shim.recoverUnsavedWork',
  reviewRecovery: 'shim.reviewRecovery',
  restoreRecoveredText: 'shim.restoreRecoveredText',
  browseCheckpoints: 'shim.browseCheckpoints',
  compareWithCheckpoint: 'shim.compareFileWithCheckpoint',
  restoreFromCheckpoint: 'shim.restoreFromCheckpoint',
  clearHistory: 'shim.clearHistory',
  applyCodemod: 'shim.applyCodemod',
  undoLastCodemod: 'shim.undoLastCodemod',
  showOutput: 'shim.showOutput',
  restartServer: 'shim.restartServer',
  findDuplicateCode: 'shim.findDuplicateCode',
  goToDuplicate: 'shim.goToDuplicate',
  analyseWorkspace: 'shim.analyseWorkspace',
  showWindows: 'shim.showWindows',
} as const;

export type VsCommandId = (typeof VsCommand)[keyof typeof VsCommand];

/**
 * The VS Code commands through which the user reaches each server command (the data ones
 * through the views that show their answers). test/unit/commands.test.ts checks that each
 * is contributed: no server command is left without a face, but those in CLIENT_ONLY.
 */
/**
 * Server commands that code actions run in other clients, never VS Code: shim.applyEdit
 * guards a fix for clients without versioned edits (Neovim 0.7); VS Code gets the edit.
 */
export const CLIENT_ONLY: ReadonlySet<ServerCommandId> = new Set([ServerCommand.applyEdit]);

export const REACHED_BY: Record<ServerCommandId, readonly VsCommandId[]> = {
  [ServerCommand.forceCheckpoint]: [VsCommand.checkpointNow],
  [ServerCommand.sessionStatus]: [VsCommand.showSessionStatus],
  [ServerCommand.monitorSignals]: [VsCommand.showCrashRiskSignals],
  [ServerCommand.autoCheckpoint]: [VsCommand.pauseAutoCheckpoints, VsCommand.resumeAutoCheckpoints],
  [ServerCommand.checkRecovery]: [VsCommand.recoverUnsavedWork, VsCommand.reviewRecovery],
  [ServerCommand.recoverSession]: [VsCommand.reviewRecovery, VsCommand.restoreRecoveredText],
  [ServerCommand.recoveredText]: [VsCommand.reviewRecovery],
  [ServerCommand.listCheckpoints]: [VsCommand.browseCheckpoints, VsCommand.compareWithCheckpoint],
  [ServerCommand.compareWithCheckpoint]: [VsCommand.compareWithCheckpoint],
  [ServerCommand.restoreCheckpoint]: [VsCommand.restoreFromCheckpoint],
  [ServerCommand.clearState]: [VsCommand.clearHistory],
  [ServerCommand.moduleName]: [VsCommand.applyCodemod],
  [ServerCommand.listCodemods]: [VsCommand.applyCodemod],
  [ServerCommand.runCodemod]: [VsCommand.applyCodemod],
  [ServerCommand.undoCodemod]: [VsCommand.undoLastCodemod],
  [ServerCommand.findDuplicates]: [VsCommand.findDuplicateCode],
  [ServerCommand.openDuplicate]: [VsCommand.goToDuplicate],
  [ServerCommand.analyzeWorkspace]: [VsCommand.analyseWorkspace],
  [ServerCommand.windows]: [VsCommand.showWindows],
  [ServerCommand.applyEdit]: [],
};

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
