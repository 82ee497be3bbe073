/**
 * The status bar item: SHIM's, with the time since the last checkpoint, paused automatic
 * checkpoints and the risk level, pushed by the server; its tooltip offers the actions.
 */

import * as vscode from 'vscode';
import { ContextKey, VsCommand } from '../commands';
import { riskMessage, STATUS_LINKS, statusView } from '../format';
import type { StatusNotification } from '../protocol';
import type { ShimServer } from '../server';

/** The "4 min ago" text ages by itself; this only re-renders it, it asks the server nothing. */
const RERENDER_MS = 30_000;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('shim.status', vscode.StatusBarAlignment.Left, 50);
  private last: StatusNotification | undefined;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly subscription: vscode.Disposable;
  private readonly alarms: vscode.Disposable;

  constructor(private readonly server: ShimServer) {
    this.item.name = 'SHIM';
    this.subscription = server.onStatus((status) => {
      this.last = status;
      void vscode.commands.executeCommand('setContext', ContextKey.autoCheckpointPaused, status?.autoCheckpoint === false);
      this.render();
    });
    this.alarms = server.onRiskAlarm(async (alarm) => {
      const choice = await vscode.window.showWarningMessage(riskMessage(alarm), 'Save All', 'Show Signals');
      if (choice === 'Save All') {
        await vscode.workspace.saveAll(false);
      } else if (choice === 'Show Signals') {
        await vscode.commands.executeCommand(VsCommand.showCrashRiskSignals);
      }
    });
    this.timer = setInterval(() => this.render(), RERENDER_MS);
    this.render();
    this.item.show();
  }

  private render(): void {
    if (this.last === undefined) {
      const problem = this.server.problem;
      this.item.text = problem ? '$(circle-slash) SHIM off' : '$(sync~spin) SHIM';
      this.item.tooltip = problem ? problem.message : 'SHIM is starting';
      this.item.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
      this.item.command = problem ? VsCommand.showOutput : undefined;
      return;
    }
    const view = statusView(this.last, Date.now() / 1000);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = { enabledCommands: STATUS_LINKS };
    this.item.tooltip = tooltip;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(`statusBarItem.${view.background}Background`) : undefined;
    this.item.command = VsCommand.showSessionStatus;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.subscription.dispose();
    this.alarms.dispose();
    this.item.dispose();
  }
}
