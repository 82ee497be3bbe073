/** Analyse Workspace: the server's whole-workspace ruff run, with VS Code's progress and Cancel. */

import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import type { ShimServer } from '../server';

interface WorkspaceAnalysis {
  files: number;
  findings: number;
  cancelled: boolean;
  superseded?: boolean;
  error?: string;
}

export class Analysis {
  constructor(private readonly server: ShimServer) {}

  /** Findings of unopened files land in Problems; the message says how many. */
  async analyseWorkspace(): Promise<void> {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'SHIM: analysing the workspace', cancellable: true },
      (progress, cancellation) =>
        this.server.requestWithProgress<WorkspaceAnalysis>(
          ServerCommand.analyzeWorkspace,
          {},
          (value) => {
            if (value.kind !== 'end' && value.message) {
              progress.report({ message: value.message });
            }
          },
          cancellation,
        ),
    );
    if (result.superseded) {
      return; // a run with newer settings replaced it, and its own request says what it found
    }
    if (result.error) {
      void vscode.window.showErrorMessage(`SHIM: the workspace was not analysed: ${result.error}`);
    } else if (result.cancelled) {
      void vscode.window.showInformationMessage('SHIM: workspace analysis cancelled.');
    } else {
      void vscode.window.showInformationMessage(
        `SHIM: ${result.findings} finding${result.findings === 1 ? '' : 's'} in ${result.files} file${result.files === 1 ? '' : 's'}; see Problems.`,
      );
    }
  }
}
