/** The group of windows on this workspace (through Redis): who is there and what each holds unsaved. */

import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import { ago, plural } from '../format';
import type { GroupWindow, WindowsReport } from '../protocol';
import type { ShimServer } from '../server';

/** One row per member: host and editor, then its unsaved files and how old they are. */
export function windowItem(window: GroupWindow, nowSeconds: number): vscode.QuickPickItem {
  const unsaved = window.dirty.map((d) => `${d.path} (${ago(d.since, nowSeconds)})`).join(', ');
  return {
    label: `$(window) ${window.host} · ${window.editor}${window.this ? ' (this window)' : ''}${window.leader ? ' (leads)' : ''}`,
    description: `pid ${window.pid}`,
    detail: `${plural(window.open.length, 'file')} open · ${unsaved ? `unsaved: ${unsaved}` : 'nothing unsaved'}`,
  };
}

export class Windows {
  constructor(private readonly server: ShimServer) {}

  async show(): Promise<void> {
    const report = await this.server.request<WindowsReport>(ServerCommand.windows);
    if (report.state === 'off') {
      void vscode.window.showInformationMessage('SHIM does not coordinate this workspace with other windows: set shim.redisUrl to a Redis they share.');
      return;
    }
    if (report.state === 'degraded') {
      void vscode.window.showWarningMessage(`SHIM: coordination degraded: ${report.problem ?? 'Redis cannot be reached'}. Every local feature keeps working.`);
      return;
    }
    const now = Date.now() / 1000;
    await vscode.window.showQuickPick(
      report.windows.map((w) => windowItem(w, now)),
      { title: `SHIM: ${plural(report.windows.length, 'window')} on ${report.workspace ?? 'this workspace'}`, matchOnDetail: true },
    );
  }
}
