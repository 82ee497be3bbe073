/**
 * The SHIM server process: which interpreter runs it, the check before starting it, the
 * `LanguageClient` that talks to it, and restarting it when its settings change.
 */

import * as os from 'node:os';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ProgressToken,
  ServerOptions,
  State,
  StaticFeature,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  type FeatureState,
} from 'vscode-languageclient/node';
import { CLIENT_CAPABILITY, Notification, ServerCommand, ServerCommandId } from './commands';
import { logLine, type LogLevel } from './format';
import type { RecoveryReport, RiskAlarm, StatusNotification } from './protocol';
import {
  clientSettingProblems,
  importStrategy,
  isEditorUserData,
  InterpreterChoice,
  interpreterCandidates,
  isLaunch,
  planLaunch,
  SECTION,
  serverSettings,
  StartProblem,
} from './settings';
import { pythonExtensionInterpreter } from './python';

/**
 * Tells the server that this client shows recovery and risk itself, and runs this extension's
 * commands from code actions (see shim_lsp/notifications.py).
 */
const recoveryUiFeature: StaticFeature = {
  fillClientCapabilities(capabilities) {
    capabilities.experimental = {
      ...(capabilities.experimental as object),
      [CLIENT_CAPABILITY]: { recoveryUi: true, riskUi: true, editorCommands: true },
    };
  },
  initialize() {},
  getState(): FeatureState {
    return { kind: 'static' };
  },
  clear() {},
};

export class ServerNotRunning extends Error {}

/** Said once a server that died runs again: what was lost, and what was not. */
export const SERVER_RESTARTED =
  'SHIM: its server stopped unexpectedly and was restarted. The journal is intact up to the moment it stopped, and the new server protects your open files again.';

/** Said when vscode-languageclient gives up restarting a server that keeps dying. */
const SERVER_GAVE_UP =
  "SHIM: its server stopped unexpectedly 5 times in 3 minutes and is not restarted again, so new changes are not journaled. What was journaled is kept. See \"SHIM: Show Output\", then \"SHIM: Restart Server\".";

/** How long a command waits for a server that is starting (vscode-languageclient's restart included). */
const START_WAIT_MS = 30_000;

/** The one connection to SHIM's server, surviving restarts; views subscribe to its events. */
export class ShimServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<StatusNotification | undefined>();
  private readonly recoveryEmitter = new vscode.EventEmitter<RecoveryReport>();
  private readonly riskEmitter = new vscode.EventEmitter<RiskAlarm>();
  /** The latest `shim/status`, or undefined while no server runs. */
  readonly onStatus = this.statusEmitter.event;
  readonly onRecoveryAvailable = this.recoveryEmitter.event;
  /** Work looked at risk and the server took a checkpoint: the client warns, with actions. */
  readonly onRiskAlarm = this.riskEmitter.event;
  interpreter: InterpreterChoice | undefined;
  problem: StartProblem | undefined;
  /** Problems with the settings the extension reads itself: listed with the server's. */
  private clientProblems: string[] = [];
  /** The server died and vscode-languageclient is starting a new one: said once it runs. */
  private crashed = false;

  /**
   * `bundledDir`: the server shipped in the .vsix (bundled/, built by bundle/build.py);
   * `jscpdRunner`: jscpd's detector with SHIM's runner in one file (out/jscpd-runner.js);
   * `userData`: the path of VS Code's user data folder (code-server's --user-data-dir), whose
   * files (settings, keybindings) are not handed to the server.
   */
  constructor(
    readonly output: vscode.LogOutputChannel,
    private readonly bundledDir: string,
    private readonly jscpdRunner: string,
    private readonly userData?: string,
  ) {}

  /** Start (or restart) the server; a problem is shown to the user, never thrown. */
  async restart(): Promise<void> {
    const previous = this.starting ?? Promise.resolve();
    this.starting = previous.then(() => this.doRestart());
    return this.starting;
  }

  private async doRestart(): Promise<void> {
    await this.stop();
    this.problem = undefined;
    this.statusEmitter.fire(undefined); // "starting" until the new server reports
    const folder = vscode.workspace.workspaceFolders?.[0];
    const config = vscode.workspace.getConfiguration(SECTION, folder);
    const candidates = interpreterCandidates({
      configured: config.get<string>('server.pythonPath'),
      fromPythonExtension: await pythonExtensionInterpreter(folder?.uri, this.output),
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
      platform: process.platform,
    });
    this.interpreter = candidates[0];
    const givenStrategy = config.get<unknown>('importStrategy');
    const strategy = importStrategy(givenStrategy);
    this.clientProblems = clientSettingProblems({ importStrategy: givenStrategy });
    for (const problem of this.clientProblems) {
      this.output.warn(`SHIM: ${problem}`);
      void vscode.window.showWarningMessage(`SHIM: ${problem}`);
    }
    const plan = await planLaunch(strategy, candidates, this.bundledDir);
    if (!isLaunch(plan)) {
      this.fail(plan);
      return;
    }
    const choice = plan.choice;
    this.interpreter = choice;
    const how = plan.bundled ? 'the bundled server' : 'shim_lsp from its environment';
    this.output.info(`Starting SHIM: ${how}, with ${choice.command} (from ${choice.source}; shim.importStrategy ${strategy})`);
    if (plan.notice !== undefined) {
      this.output.warn(plan.notice);
      void vscode.window.showWarningMessage(plan.notice);
    }
    // vscode-languageclient's own handler decides whether to restart a server that died (up
    // to 4 times in 3 minutes); SHIM words what the user is told, once the new one runs.
    let restarts: ErrorHandler | undefined;
    const errorHandler: ErrorHandler = {
      error: (error, message, count) => restarts?.error(error, message, count) ?? { action: ErrorAction.Shutdown },
      closed: async () => {
        const decided = (await restarts?.closed()) ?? { action: CloseAction.DoNotRestart };
        if (decided.action === CloseAction.Restart) {
          this.crashed = true;
          return { action: CloseAction.Restart, message: "SHIM's server stopped unexpectedly: starting it again", handled: true };
        }
        return { action: CloseAction.DoNotRestart, message: SERVER_GAVE_UP };
      },
    };
    const logLevel = config.get<string>('server.logLevel', 'warning');
    const serverOptions: ServerOptions = {
      command: choice.command,
      args: plan.args,
      transport: TransportKind.stdio,
      options: { env: { ...process.env, SHIM_LOG_LEVEL: logLevel, ...editorTools(this.jscpdRunner) }, cwd: folder?.uri.fsPath },
    };
    const clientOptions: LanguageClientOptions = {
      // Every file and untitled buffer: unsaved work is protected whatever its language.
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.output,
      // stdout is the LSP connection (stdio transport): only stderr carries the server's log.
      stdioOptions: { stdout: () => undefined, stderr: serverLog },
      initializationOptions: serverSettings(config),
      errorHandler,
      middleware: {
        // The editor's own files (user settings.json) are not the user's work: not sent.
        didOpen: (document, next) => (this.isUserData(document.uri) ? Promise.resolve() : next(document)),
        didChange: (event, next) => (this.isUserData(event.document.uri) ? Promise.resolve() : next(event)),
        didSave: (document, next) => (this.isUserData(document.uri) ? Promise.resolve() : next(document)),
        didClose: (document, next) => (this.isUserData(document.uri) ? Promise.resolve() : next(document)),
        workspace: {
          // The server pulls section `shim`; it gets its own settings, not the client's.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return answers.map((answer, i) => (params.items[i]?.section === SECTION ? serverSettings(answer) : answer));
          },
        },
      },
    };
    // vscode-languageclient registers each server command ID as a VS Code command that sends
    // it on as is (its ExecuteCommand feature); the extension's own commands have other IDs.
    const client = new LanguageClient(SECTION, 'SHIM', serverOptions, clientOptions);
    restarts = client.createDefaultErrorHandler();
    client.registerFeature(recoveryUiFeature);
    client.onNotification(Notification.status, (status: StatusNotification) =>
      this.statusEmitter.fire({ ...status, settingsProblems: [...this.clientProblems, ...(status.settingsProblems ?? [])] }),
    );
    client.onNotification(Notification.recoveryAvailable, (report: RecoveryReport) => this.recoveryEmitter.fire(report));
    client.onNotification(Notification.riskAlarm, (alarm: RiskAlarm) => this.riskEmitter.fire(alarm));
    let started = false;
    client.onDidChangeState((e) => {
      // Stopped, or restarting after a crash: the status bar says so until the server is back.
      if (e.newState !== State.Running) {
        this.statusEmitter.fire(undefined);
      } else if (started) {
        // vscode-languageclient restarted a server that died: name the new process.
        void this.serverPid(client).then((pid) => this.output.info(`SHIM server running again (pid ${pid})`));
        if (this.crashed) {
          this.crashed = false;
          void vscode.window.showWarningMessage(SERVER_RESTARTED, 'Show Output').then((choice) => choice && this.output.show());
        }
      }
    });
    this.client = client;
    try {
      await client.start();
      started = true;
      this.output.info(`SHIM server running (pid ${await this.serverPid(client)})`);
    } catch (error) {
      this.fail({ message: `SHIM's server failed to start: ${String(error)}. See "SHIM: Show Output".` });
    }
  }

  private isUserData(uri: vscode.Uri): boolean {
    return isEditorUserData(uri, this.userData);
  }

  /** The pid of the server `client` runs: asked of it directly, not through `request`, which
   * waits for the start that is asking. */
  private async serverPid(client: LanguageClient): Promise<string> {
    try {
      const status = (await client.sendRequest(ExecuteCommandRequest.type, { command: ServerCommand.sessionStatus, arguments: [] })) as {
        pid: number;
      };
      return String(status.pid);
    } catch {
      return 'unknown';
    }
  }


  private fail(problem: StartProblem): void {
    this.problem = problem;
    this.output.error(problem.message);
    this.statusEmitter.fire(undefined);
    const actions = problem.install ? ['Copy Install Command', 'Open Settings', 'Show Output'] : ['Open Settings', 'Show Output'];
    void vscode.window.showErrorMessage(problem.message, ...actions).then(async (choice) => {
      if (choice === 'Copy Install Command' && problem.install) {
        await vscode.env.clipboard.writeText(problem.install);
      } else if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'shim.server.pythonPath');
      } else if (choice === 'Show Output') {
        this.output.show();
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.warn(`Stopping the server: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
  }

  /** Tell the server its settings changed; it pulls them (`workspace/configuration`). */
  settingsChanged(): void {
    void this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  /**
   * The running client, once a start or a restart under way has ended (a command given while
   * the server starts waits for it, rather than failing with "not running").
   */
  private async readyClient(): Promise<LanguageClient> {
    await this.starting;
    const client = this.client;
    if (client !== undefined && client.state === State.Starting) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, START_WAIT_MS);
        const listening = client.onDidChangeState((e) => e.newState !== State.Starting && done());
        function done(): void {
          clearTimeout(timer);
          listening.dispose();
          resolve();
        }
      });
    }
    return this.requireClient();
  }

  /** Run one of the server's commands with its argument object. */
  async request<T>(command: ServerCommandId, args?: object, token?: vscode.CancellationToken): Promise<T> {
    const client = await this.readyClient();
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args === undefined ? [] : [args] }, token)) as T;
  }

  /**
   * Run a command with client-initiated progress: `onProgress` hears the server's reports,
   * and `cancel()` sends `window/workDoneProgress/cancel` for it.
   */
  async requestWithProgress<T>(
    command: ServerCommandId,
    args: object,
    onProgress: (value: { kind: string; message?: string; percentage?: number }) => void,
    cancellation: vscode.CancellationToken,
  ): Promise<T> {
    const client = await this.readyClient();
    const token: ProgressToken = `shim-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const listening = client.onProgress(WorkDoneProgress.type, token, onProgress);
    const cancelling = cancellation.onCancellationRequested(() => {
      void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
    });
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args], workDoneToken: token })) as T;
    } finally {
      listening.dispose();
      cancelling.dispose();
    }
  }

  private requireClient(): LanguageClient {
    if (this.client === undefined || this.client.state !== State.Running) {
      throw new ServerNotRunning(this.problem?.message ?? 'the server is not running. Try "SHIM: Restart Server".');
    }
    return this.client;
  }

  dispose(): void {
    void this.stop();
    this.statusEmitter.dispose();
    this.recoveryEmitter.dispose();
    this.riskEmitter.dispose();
  }
}

/**
 * What the server may run from the editor (shim_lsp/analysis/duplicates.py): VS Code's own
 * executable as Node.js (the server sets ELECTRON_RUN_AS_NODE for it) and the bundled jscpd
 * runner, so duplicate detection needs no Node.js or jscpd installed. A user's settings
 * (duplicatesNode, duplicatesJscpd) come first.
 */
function editorTools(jscpdRunner: string): Record<string, string> {
  return { SHIM_NODE: process.execPath, SHIM_JSCPD_RUNNER: jscpdRunner };
}

/**
 * The server's stderr, a line at a time, into the SHIM channel at each line's own level (its
 * logging format "shim LEVEL name: text"); a line of its own (a traceback's) goes on at the
 * level of the entry it belongs to. vscode-languageclient would log every line as an error.
 */
function serverLog(input: Readable, log: vscode.LogOutputChannel): void {
  let level: LogLevel = 'info';
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (text) => {
    if (text.trim() === '') {
      return;
    }
    const parsed = logLine(text);
    level = parsed?.level ?? level;
    log[level](parsed?.message ?? text);
  });
}
