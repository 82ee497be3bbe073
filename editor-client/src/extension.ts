/** SHIM for VS Code: starts the server and gives its commands a face. The server does the work. */

import * as vscode from 'vscode';
import { VsCommand, VsCommandId } from './commands';
import { onPythonInterpreterChange } from './python';
import { ServerNotRunning, ShimServer } from './server';
import { RESTART_SETTINGS, SECTION } from './settings';
import { Analysis } from './views/analysis';
import { Codemods } from './views/codemods';
import { VirtualDocuments } from './views/documents';
import { Duplicates } from './views/duplicates';
import { History } from './views/history';
import { HistoryTree } from './views/historyTree';
import { Recovery } from './views/recovery';
import { Session } from './views/session';
import { StatusBar } from './views/status';
import { Windows } from './views/windows';

let server: ShimServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('SHIM', { log: true });
  // Global storage is <user data>/User/globalStorage/<extension>.
  const userData = vscode.Uri.joinPath(context.globalStorageUri, '..', '..', '..').path;
  server = new ShimServer(
    output,
    context.asAbsolutePath('bundled'),
    context.asAbsolutePath('out/jscpd-runner.js'),
    userData,
  );
  const shim = server;
  const session = new Session(shim);
  const history = new History(shim);
  const recovery = new Recovery(shim);
  const codemods = new Codemods(shim);
  const duplicates = new Duplicates(shim);
  const analysis = new Analysis(shim);
  const windows = new Windows(shim);

  const handlers: Record<VsCommandId, (arg?: unknown) => Promise<unknown>> = {
    [VsCommand.checkpointNow]: (a) => session.forceCheckpoint(a),
    [VsCommand.showSessionStatus]: () => session.showStatus(),
    [VsCommand.showCrashRiskSignals]: () => session.showSignals(),
    [VsCommand.pauseAutoCheckpoints]: () => session.setAuto(false),
    [VsCommand.resumeAutoCheckpoints]: () => session.setAuto(true),
    [VsCommand.recoverUnsavedWork]: () => recovery.check(),
    [VsCommand.reviewRecovery]: (a) => recovery.review(a),
    [VsCommand.restoreRecoveredText]: (a) => recovery.restore(a),
    [VsCommand.browseCheckpoints]: (a) => history.browse(a),
    [VsCommand.compareWithCheckpoint]: (a) => history.compare(a),
    [VsCommand.restoreFromCheckpoint]: (a) => history.restore(a),
    [VsCommand.clearHistory]: (a) => session.clearState(a),
    [VsCommand.applyCodemod]: (a) => codemods.run(a),
    [VsCommand.undoLastCodemod]: (a) => codemods.undo(a),
    [VsCommand.showOutput]: async () => output.show(),
    [VsCommand.restartServer]: () => shim.restart(),
    [VsCommand.findDuplicateCode]: () => duplicates.find(),
    [VsCommand.goToDuplicate]: () => duplicates.goTo(),
    [VsCommand.analyseWorkspace]: () => analysis.analyseWorkspace(),
    [VsCommand.showWindows]: () => windows.show(),
  };
  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, (arg?: unknown) => reportErrors(output, id, () => handler(arg))));
  }

  context.subscriptions.push(
    shim,
    output,
    new StatusBar(shim),
    recovery,
    history,
    new HistoryTree(shim),
    VirtualDocuments.register(shim),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        output.info('SHIM server settings changed: restarting the server');
        void shim.restart();
      } else if (e.affectsConfiguration(SECTION)) {
        // The server pulls its settings again; vscode-languageclient follows shim.trace.server.
        shim.settingsChanged();
      }
    }),
  );
  const interpreterWatch = await onPythonInterpreterChange(() => {
    if (shim.interpreter?.source === 'Python extension' || shim.problem !== undefined) {
      output.info("The Python extension's interpreter changed: restarting the server");
      void shim.restart();
    }
  });
  if (interpreterWatch) {
    context.subscriptions.push(interpreterWatch);
  }
  // Not awaited: activation returns at once; the status bar shows the server coming up.
  void shim.restart();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}

/** A command's failure is shown to the user and logged, never lost. */
async function reportErrors(output: vscode.LogOutputChannel, id: string, run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output.error(`${id}: ${message}`);
    const actions = error instanceof ServerNotRunning ? ['Restart Server', 'Show Output'] : ['Show Output'];
    const choice = await vscode.window.showErrorMessage(`SHIM: ${message}`, ...actions);
    if (choice === 'Restart Server') {
      await vscode.commands.executeCommand(VsCommand.restartServer);
    } else if (choice === 'Show Output') {
      output.show();
    }
    return undefined;
  }
}
