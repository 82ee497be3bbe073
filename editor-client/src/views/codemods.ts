/**
 * Codemods from the command palette: pick one, fill its arguments, pick the scope; the
 * server runs it with progress on a notification that can be cancelled, then sends one edit
 * that VS Code shows in its refactor preview before anything changes.
 */

import * as path from 'node:path';
import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import { codemodArgumentProblem, plural } from '../format';
import type { CodemodInfo, CodemodRun } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';

interface RunArgs {
  name: string;
  args: Record<string, unknown>;
  scope: 'document' | 'folder' | 'workspace';
  uri?: string;
  preview: boolean;
}

export class Codemods {
  /** Batches applied in this window, newest last: what "Undo Last Codemod" reverses. */
  private readonly batches: { batch: string; name: string }[] = [];

  constructor(private readonly server: ShimServer) {}

  async run(given?: unknown): Promise<void> {
    const args = isServerArgs(given) ? (given as RunArgs) : await this.ask();
    if (args === undefined) {
      return;
    }
    const result = await this.runWithProgress(args);
    await this.report(args.name, result);
  }

  private async ask(): Promise<RunArgs | undefined> {
    const listed = await this.server.request<{ codemods: CodemodInfo[]; problems: string[] }>(ServerCommand.listCodemods);
    for (const problem of listed.problems) {
      this.server.output.warn(`Codemods: ${problem}`);
    }
    const picked = await vscode.window.showQuickPick(
      listed.codemods.map((c) => ({
        label: c.name,
        detail: c.description,
        description: c.arguments.map((a) => (a.required ? a.name : `[${a.name}]`)).join(' '),
        codemod: c,
      })),
      { title: 'SHIM: Run Codemod', placeHolder: 'Choose a codemod', matchOnDetail: true },
    );
    if (picked === undefined) {
      return undefined;
    }
    const values: Record<string, unknown> = {};
    for (const arg of picked.codemod.arguments) {
      const raw = await vscode.window.showInputBox({
        title: `${picked.codemod.name}: ${arg.name}${arg.required ? '' : ' (optional)'}`,
        prompt: arg.help || `${arg.name} (${arg.type})`,
        placeHolder: arg.type,
        value: arg.default === null || arg.default === undefined ? '' : String(arg.default),
        ignoreFocusOut: true,
        validateInput: (text) => codemodArgumentProblem(arg, text),
      });
      if (raw === undefined) {
        return undefined;
      }
      // As text: the server parses it by the argument's type, as the CLI's --arg K=V.
      if (raw.trim() !== '') {
        values[arg.name] = raw.trim();
      }
    }
    const editor = vscode.window.activeTextEditor;
    const file = editor?.document.uri.scheme === 'file' ? editor.document.uri : undefined;
    const scopes: (vscode.QuickPickItem & { scope: RunArgs['scope'] })[] = [];
    if (file !== undefined) {
      scopes.push(
        { label: 'This file', description: vscode.workspace.asRelativePath(file), scope: 'document' },
        { label: "This file's folder", description: vscode.workspace.asRelativePath(path.dirname(file.fsPath)), scope: 'folder' },
      );
    }
    scopes.push({ label: 'The whole workspace', scope: 'workspace' });
    const scope = await vscode.window.showQuickPick(scopes, { title: `${picked.codemod.name}: where` });
    if (scope === undefined) {
      return undefined;
    }
    // VS Code's preview leaves edits that need confirmation unticked: right for a review,
    // tedious for hundreds of files, so the user chooses.
    const mode = await vscode.window.showQuickPick(
      [
        { label: 'Preview the changes', detail: "VS Code's Refactor Preview: tick the files to apply, then Apply", preview: true },
        { label: 'Apply now', detail: 'A checkpoint is taken first; Undo in the message that follows reverses the whole run', preview: false },
      ],
      { title: `${picked.codemod.name}: how` },
    );
    if (mode === undefined) {
      return undefined;
    }
    return { name: picked.codemod.name, args: values, scope: scope.scope, uri: file?.toString(), preview: mode.preview };
  }

  private runWithProgress(args: RunArgs): Promise<CodemodRun> {
    return new Promise<CodemodRun>((resolveRun, rejectRun) => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `SHIM: codemod ${args.name}`, cancellable: true },
        (progress, cancellation) =>
          // The notification goes when the server's progress ends: its edit then opens the preview.
          new Promise<void>((hide) => {
            let done = 0;
            const request = this.server.requestWithProgress<CodemodRun>(
              ServerCommand.runCodemod,
              args,
              (value) => {
                if (value.kind === 'end') {
                  hide();
                  return;
                }
                const percentage = value.percentage ?? done;
                progress.report({ message: value.message, increment: percentage - done });
                done = percentage;
              },
              cancellation,
            );
            request.then(resolveRun, rejectRun).finally(hide);
          }),
      );
    });
  }

  private async report(name: string, result: CodemodRun): Promise<void> {
    for (const failure of result.failed) {
      this.server.output.warn(`Codemod ${name} failed on ${failure.path}: ${failure.reason}`);
    }
    const failed = result.failed.length > 0 ? ['Show Failures'] : [];
    let choice: string | undefined;
    if (result.cancelled) {
      choice = await vscode.window.showInformationMessage(`SHIM: codemod ${name} cancelled; nothing was changed.`, ...failed);
    } else if (result.applied && result.batch) {
      this.batches.push({ batch: result.batch, name });
      choice = await vscode.window.showInformationMessage(
        `SHIM: codemod ${name}: ${result.summary}. Checkpoint ${result.checkpoint} holds the files as they were.`,
        'Undo',
        ...failed,
      );
    } else if (result.changed.length > 0) {
      choice = await vscode.window.showInformationMessage(`SHIM: codemod ${name} not applied (${result.reason ?? 'discarded'}).`, ...failed);
    } else {
      choice = await vscode.window.showInformationMessage(`SHIM: codemod ${name} changed nothing: ${result.summary}.`, ...failed);
    }
    if (choice === 'Undo') {
      await this.undo({ batch: result.batch });
    } else if (choice === 'Show Failures') {
      this.server.output.show();
    }
  }

  /** "SHIM: Undo Last Codemod", or `{batch}` as the server takes it. */
  async undo(given?: unknown): Promise<void> {
    let batch: string | undefined;
    if (isServerArgs(given)) {
      batch = (given as { batch?: string }).batch;
    } else {
      batch = this.batches[this.batches.length - 1]?.batch;
      if (batch === undefined) {
        void vscode.window.showInformationMessage('No codemod run in this window to undo.');
        return;
      }
    }
    const result = await this.server.request<{ undone: string[]; refused: { uri: string; reason: string }[]; applied: boolean }>(
      ServerCommand.undoCodemod,
      { batch },
    );
    const index = this.batches.findIndex((b) => b.batch === batch);
    if (result.applied && index >= 0) {
      this.batches.splice(index, 1);
    }
    const refused = result.refused.map((r) => `${vscode.workspace.asRelativePath(vscode.Uri.parse(r.uri))} (${r.reason})`);
    void vscode.window.showInformationMessage(
      `SHIM undid the codemod in ${plural(result.undone.length, 'file')}.` + (refused.length ? ` Left as they are: ${refused.join(', ')}.` : ''),
    );
  }
}
