/** The session: force a checkpoint, its status, the crash-risk signals, auto checkpoints, clearing. */

import * as vscode from 'vscode';
import { ClientCommand, ServerCommand } from '../commands';
import { ago, clock, plural, size } from '../format';
import type { Assessment, SessionStatus } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';

interface CheckpointResult {
  id: number;
  files: number;
  buffers: number;
  seconds: number;
}

type Action = vscode.QuickPickItem & { run?: () => Thenable<unknown> };

export class Session {
  constructor(private readonly server: ShimServer) {}

  async forceCheckpoint(args?: unknown): Promise<void> {
    let label: string | undefined;
    if (isServerArgs(args)) {
      label = (args as { label?: string }).label;
    } else {
      label = await vscode.window.showInputBox({
        title: 'SHIM: Force Checkpoint',
        prompt: 'A label for this checkpoint (optional). Named checkpoints are kept until you clear them.',
        placeHolder: 'e.g. before refactor',
      });
      if (label === undefined) {
        return; // Escape: no checkpoint
      }
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'SHIM: checkpoint' },
      () => this.server.request<CheckpointResult>(ServerCommand.forceCheckpoint, label ? { label } : {}),
    );
    void vscode.window.showInformationMessage(
      `SHIM checkpoint ${result.id}${label ? ` "${label}"` : ''}: ${plural(result.files, 'file')}, ${plural(result.buffers, 'unsaved buffer')}.`,
    );
  }

  /** The status menu (also the status bar item's click): figures, then what can be done. */
  async showStatus(): Promise<void> {
    const status = await this.server.request<SessionStatus>(ServerCommand.sessionStatus);
    const now = Date.now() / 1000;
    const last = status.lastCheckpoint;
    const items: Action[] = [
      { label: 'Status', kind: vscode.QuickPickItemKind.Separator },
      {
        label: `$(history) Last checkpoint: ${last ? `${ago(last.createdAt, now)}${last.label ? ` "${last.label}"` : ''}` : 'none yet'}`,
        detail: last ? `${clock(last.createdAt)} · ${plural(last.files, 'file')} · ${size(last.bytes)}` : undefined,
      },
      {
        label: `$(${status.riskLevel === 'low' ? 'shield' : 'warning'}) Risk of losing work: ${status.riskLevel}`,
        detail: 'Choose to see each crash-risk signal',
        run: () => this.showSignals(),
      },
      {
        label: `$(file) ${status.openDocuments} open, ${status.dirtyDocuments} unsaved (${size(status.unsavedBytes)})`,
        detail: status.oldestUnsavedAt ? `oldest unsaved change ${ago(status.oldestUnsavedAt, now)}` : undefined,
      },
      {
        label: `$(database) Journal: ${status.journal.pending} pending, lag ${status.journal.lagSeconds.toFixed(2)} s`,
        detail: status.storeError ? `Store problem: ${status.storeError}` : status.store,
      },
      { label: 'Actions', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(save-all) Force Checkpoint...', run: () => vscode.commands.executeCommand(ServerCommand.forceCheckpoint) },
      { label: '$(list-unordered) Browse Checkpoints of This File', run: () => vscode.commands.executeCommand(ClientCommand.browseCheckpoints) },
      {
        label: `$(${status.autoCheckpoint ? 'debug-pause' : 'play'}) ${status.autoCheckpoint ? 'Pause' : 'Resume'} Automatic Checkpoints`,
        run: () => this.setAuto(!status.autoCheckpoint),
      },
      { label: '$(output) Show Output', run: () => vscode.commands.executeCommand(ClientCommand.showOutput) },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: `SHIM session ${status.session.slice(0, 8)} (server pid ${status.pid})` });
    await picked?.run?.();
  }

  async showSignals(): Promise<void> {
    const assessment = await this.server.request<Assessment>(ServerCommand.monitorSignals);
    const items = [...assessment.signals]
      .sort((a, b) => b.severity - a.severity)
      .map((s) => ({
        label: `${s.severity >= 1 ? '$(error)' : s.severity >= 0.5 ? '$(warning)' : '$(pass)'} ${s.name}`,
        description: `${Math.round(s.severity * 100)}% of its threshold`,
        detail: s.explanation,
      }));
    await vscode.window.showQuickPick(items, {
      title: `SHIM crash-risk signals: ${assessment.level}${assessment.reasons.length ? ` (${assessment.reasons.join('; ')})` : ''}`,
    });
  }

  /** "SHIM: Toggle Automatic Checkpoints", or `{enabled}` as the server takes it. */
  async toggleAuto(args?: unknown): Promise<void> {
    if (isServerArgs(args) && typeof (args as { enabled?: unknown }).enabled === 'boolean') {
      await this.setAuto((args as { enabled: boolean }).enabled);
      return;
    }
    const now = await this.server.request<{ enabled: boolean }>(ServerCommand.autoCheckpoint, {});
    await this.setAuto(!now.enabled);
  }

  private async setAuto(enabled: boolean): Promise<void> {
    const result = await this.server.request<{ enabled: boolean }>(ServerCommand.autoCheckpoint, { enabled });
    void vscode.window.showInformationMessage(
      result.enabled
        ? 'SHIM takes checkpoints automatically again.'
        : 'SHIM automatic checkpoints are paused for this window (the journal still records every change).',
    );
  }

  async clearState(args?: unknown): Promise<void> {
    let request: object;
    if (isServerArgs(args)) {
      request = args;
    } else {
      const status = await this.server.request<SessionStatus>(ServerCommand.sessionStatus);
      const scope = await vscode.window.showQuickPick(
        [
          { label: "This window's history", detail: "Forget this session's journal and checkpoints", request: { session: status.session } },
          {
            label: "This workspace's history",
            detail: 'Forget every session of this workspace that is not running, its journal, checkpoints and unrecovered work',
            request: { all: true },
          },
          {
            label: "Every workspace's history",
            detail: "Forget every session in SHIM's store that is not running, whatever its workspace",
            request: { all: true, everyWorkspace: true },
          },
        ],
        { title: 'SHIM: Clear State' },
      );
      if (scope === undefined) {
        return;
      }
      // Ask the server first what would go, so that unsaved work is named before it is lost.
      const would = await this.server.request<{ unsavedWorkForgotten: { folders: string[]; files: number }[] }>(
        ServerCommand.clearState,
        { ...scope.request, dryRun: true },
      );
      const lost = would.unsavedWorkForgotten.map((w) => `${w.folders.join(', ')}: ${plural(w.files, 'file')}`);
      const sure = await vscode.window.showWarningMessage(
        `Clear ${scope.label.toLowerCase()}? Checkpoints cannot be brought back.` +
          (lost.length ? ` Unsaved work of crashed sessions would be lost too: ${lost.join('; ')}.` : ''),
        { modal: true },
        'Clear',
      );
      if (sure !== 'Clear') {
        return;
      }
      request = scope.request;
    }
    const counts = await this.server.request<{ sessions: number; checkpoints: number; journal: number }>(ServerCommand.clearState, request);
    void vscode.window.showInformationMessage(
      `SHIM cleared ${plural(counts.sessions, 'session')}, ${plural(counts.checkpoints, 'checkpoint')} and ${plural(counts.journal, 'journal record')}.`,
    );
  }
}
