/**
 * Duplicate code from the command palette: "Find Duplicate Code" runs the server's workspace
 * run with progress that can be cancelled (findings appear in Problems, each linked to its
 * twin); "Go to Duplicate" opens the twin of the duplicate under the cursor, as the light
 * bulb's action does, through the server.
 */

import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import { plural } from '../format';
import type { ShimServer } from '../server';

/** The diagnostics' source and code, as shim_lsp/server/duplicates.py publishes them. */
export const DUPLICATES_SOURCE = 'SHIM duplicates';

interface FindResult {
  duplicates: number;
  files: number;
  seconds?: number;
  problem?: string;
  cancelled?: boolean;
}

export class Duplicates {
  constructor(private readonly server: ShimServer) {}

  async find(): Promise<void> {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'SHIM: Finding duplicate code', cancellable: true },
      (progress, cancellation) => {
        let done = 0;
        return this.server.requestWithProgress<FindResult>(
          ServerCommand.findDuplicates,
          {},
          (value) => {
            if (value.kind !== 'end') {
              const percentage = value.percentage ?? done;
              progress.report({ message: value.message, increment: percentage - done });
              done = percentage;
            }
          },
          cancellation,
        );
      },
    );
    if (result.cancelled) {
      return;
    }
    if (result.problem !== undefined) {
      return; // the server said it, once, with what to do
    }
    const blocks = result.duplicates === 1 ? '1 duplicated block' : `${result.duplicates} duplicated blocks`;
    void vscode.window.showInformationMessage(`SHIM: ${blocks} (${plural(result.files, 'file')} checked; see Problems).`);
  }

  async goTo(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const line = editor?.selection.active.line;
    const found = editor
      ? vscode.languages
          .getDiagnostics(editor.document.uri)
          .filter((d) => d.source === DUPLICATES_SOURCE && line !== undefined && d.range.start.line <= line && line <= d.range.end.line)
      : [];
    const twins = found.flatMap((d) => d.relatedInformation ?? []);
    if (twins.length === 0) {
      void vscode.window.showInformationMessage('SHIM: no duplicate code under the cursor (run "SHIM: Find Duplicate Code").');
      return;
    }
    const picked =
      twins.length === 1
        ? twins[0]
        : (
            await vscode.window.showQuickPick(
              twins.map((t) => ({ label: `${vscode.workspace.asRelativePath(t.location.uri)}:${t.location.range.start.line + 1}`, twin: t })),
              { title: 'SHIM: Go to Duplicate' },
            )
          )?.twin;
    if (picked !== undefined) {
      const at = picked.location;
      await this.server.request(ServerCommand.openDuplicate, { uri: at.uri.toString(), line: at.range.start.line, endLine: at.range.end.line });
    }
  }
}
