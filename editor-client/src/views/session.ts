/** The session: force a checkpoint, its status, the crash-risk signals, auto checkpoints, clearing. */

import * as vscode from 'vscode';
import { ServerCommand, VsCommand } from '../commands';
import { ago, clearedMessage, clock, openFilesText, plural, signalView, size, unprotectedText } from '../format';
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
    if (!vscode.workspace.workspaceFolders?.length) {
      // SHIM keeps the files of workspace folders only: a checkpoint here would hold nothing.
      void vscode.window.showInformationMessage('SHIM: no folder is open, so there is nothing to checkpoint. Open a folder to have SHIM protect its files.');
      return;
    }
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
      `SHIM saved a checkpoint${label ? ` "${label}"` : ''}: ${plural(result.files, 'file')}${result.buffers ? `, ${plural(result.buffers, 'with unsaved changes', 'with unsaved changes')}` : ''}.`,
    );
  }

  /** The status menu (also the status bar item's click): figures, then what can be done. */
  async showStatus(): Promise<void> {
    const status = await this.server.request<SessionStatus>(ServerCommand.sessionStatus);
    const now = Date.now() / 1000;
    const last = status.lastCheckpoint;
    const at = last?.createdAt ?? status.lastCheckpointAt;
    const unprotected = unprotectedText(status);
    const items: Action[] = [
      { label: 'Status', kind: vscode.QuickPickItemKind.Separator },
      {
        label:
          status.storeError !== null
            ? `$(error) SHIM cannot write its store: nothing new is protected until it can (${status.storeError})`
            : at === null
              ? '$(history) Last checkpoint: none yet, and what you type is journaled as you type'
              : `$(history) Last checkpoint: ${ago(at, now)}${last?.label ? ` "${last.label}"` : ''}`,
        detail: at === null ? undefined : [clock(at), ...(last ? [plural(last.files, 'file'), size(last.bytes)] : [])].join(' · '),
      },
      {
        label: `$(${status.riskLevel === 'low' ? 'shield' : 'warning'}) Risk of losing work: ${status.riskLevel}`,
        detail: 'Choose to see each crash-risk signal',
        run: () => this.showSignals(),
      },
      {
        label: `$(file) ${openFilesText(status.openDocuments, status.dirtyDocuments)}`,
        detail:
          status.dirtyDocuments > 0
            ? `${size(status.unsavedBytes)} unsaved${status.oldestUnsavedAt ? `, oldest change ${ago(status.oldestUnsavedAt, now)}` : ''}`
            : undefined,
      },
      ...(unprotected
        ? [
            {
              label: `$(warning) ${unprotected}`,
              detail: 'SHIM does not journal or checkpoint a buffer larger than maxFileSize: only saving keeps its changes. Choose to save all files.',
              run: () => vscode.workspace.saveAll(false),
            },
          ]
        : []),
      ...(status.storeError ? [{ label: `$(error) The store fails: ${status.storeError}` }] : []),
      {
        label: `$(${status.autoCheckpoint ? 'clock' : 'debug-pause'}) Automatic checkpoints: ${status.autoCheckpoint ? 'on' : 'paused'}`,
      },
      { label: 'Actions', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(save-all) Checkpoint Now\u2026', run: () => vscode.commands.executeCommand(VsCommand.checkpointNow) },
      { label: '$(list-unordered) Browse Checkpoints of This File\u2026', run: () => vscode.commands.executeCommand(VsCommand.browseCheckpoints) },
      {
        label: `$(${status.autoCheckpoint ? 'debug-pause' : 'play'}) ${status.autoCheckpoint ? 'Pause' : 'Resume'} Automatic Checkpoints`,
        run: () => this.setAuto(!status.autoCheckpoint),
      },
      { label: '$(info) Show Details', run: () => this.showDetails(status) },
      { label: '$(output) Show Output', run: () => vscode.commands.executeCommand(VsCommand.showOutput) },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'SHIM: Session Status' });
    await picked?.run?.();
  }

  /** What a bug report needs, kept out of the way: ids, process, journal, database. */
  private async showDetails(status: SessionStatus): Promise<void> {
    const items = [
      { label: `Session ${status.session}` },
      { label: `Server process ${status.pid}` },
      {
        label: `Journal: ${plural(status.journal.pending, 'change')} waiting, ${status.journal.lagSeconds.toFixed(2)} s behind`,
        detail: `${plural(status.journal.committed, 'change')} written`,
      },
      { label: `Database ${status.store}`, detail: status.storeReady ? 'ready' : 'not ready' },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'SHIM: Session Details', placeHolder: 'Choose a line to copy it' });
    if (picked !== undefined) {
      await vscode.env.clipboard.writeText(picked.label);
    }
  }

  async showSignals(): Promise<void> {
    const assessment = await this.server.request<Assessment>(ServerCommand.monitorSignals);
    const items = [...assessment.signals]
      .sort((a, b) => b.severity - a.severity)
      .map((s) => {
        const view = signalView(s);
        return {
          label: `${s.severity >= 1 ? '$(error)' : s.severity >= 0.5 ? '$(warning)' : '$(pass)'} ${view.label}`,
          description: view.description,
        };
      });
    await vscode.window.showQuickPick(items, {
      title: `SHIM: Crash-Risk Signals (risk ${assessment.level})`,
    });
  }

  /** "SHIM: Pause (or Resume) Automatic Checkpoints". */
  async setAuto(enabled: boolean): Promise<void> {
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
          { label: "This window's history", detail: "Forget this window's journal and checkpoints", request: { session: status.session } },
          {
            label: "This workspace's history",
            detail: "Forget this window's journal and checkpoints and those of every closed window of this workspace, unrecovered work included; other open windows keep theirs",
            request: { all: true },
          },
          {
            label: "Every workspace's history",
            detail: "The same for every workspace in SHIM's store",
            request: { all: true, everyWorkspace: true },
          },
        ],
        { title: 'SHIM: Clear History' },
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
    void vscode.window.showInformationMessage(clearedMessage(counts));
  }
}
