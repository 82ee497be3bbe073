/**
 * Crashed work, offered back: a notification (Review, Restore All, Dismiss) and, until the
 * work is restored or dismissed, a status bar item ("Recover 2 files") that opens Review.
 * Review lists the files with what would come back (lines added and removed), each opening a
 * diff of the file (on disk, or the open editor) against the recovered text, with a restore
 * action and the way back to the list in the diff's title bar. The server does the restoring (an unsaved, undoable edit).
 */

import * as vscode from 'vscode';
import { ContextKey, ServerCommand, VsCommand } from '../commands';
import { ago, fileName, shortClock, lineChanges, lineChangesText, recoveryItemText, recoveryMessage } from '../format';
import type { RecoverableFile, RecoveryReport } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';
import { missingUri, parseVirtual, recoveredUri } from './documents';

export const REVIEW = 'Review';
export const RESTORE_ALL = 'Restore All';
export const DISMISS = 'Dismiss';

interface Restored {
  restored: string[];
  skipped: string[];
}

type Row = vscode.QuickPickItem & { file: RecoverableFile };

export class Recovery implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  /** Lasts while crashed work waits: the notification alone can be missed or closed. */
  private readonly item = vscode.window.createStatusBarItem('shim.recovery', vscode.StatusBarAlignment.Left, 49);
  private pending: RecoveryReport | undefined;
  private picker: vscode.QuickPick<Row> | undefined;

  constructor(private readonly server: ShimServer) {
    this.subscription = server.onRecoveryAvailable((report) => void this.offer(report));
    this.item.name = 'SHIM Recovery';
    this.item.command = VsCommand.reviewRecovery;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  /** "SHIM: Recover Unsaved Work...": the server looks again and, if there is work, tells us. */
  async check(): Promise<void> {
    await this.server.request(ServerCommand.checkRecovery, { prompt: true });
  }

  async offer(report: RecoveryReport): Promise<void> {
    this.show(report);
    if (report.offered.length === 0) {
      return;
    }
    const choice = await vscode.window.showWarningMessage(recoveryMessage(report, Date.now() / 1000), REVIEW, RESTORE_ALL, DISMISS);
    if (choice === RESTORE_ALL) {
      await this.restore({ action: 'restore' });
    } else if (choice === DISMISS) {
      await this.dismiss();
    } else if (choice === REVIEW) {
      await this.review();
    }
  }

  /**
   * The status bar item's click: Review what still waits. With `{ uri, session? }` (the
   * recovery notice's "Compare with recovered text"), the diff of that one file.
   */
  async review(args?: unknown): Promise<void> {
    if (isServerArgs(args) && typeof (args as { uri?: unknown }).uri === 'string') {
      const { uri, session } = args as { uri: string; session?: string };
      await this.showDiff(await this.server.request<Omit<RecoverableFile, 'chars'>>(ServerCommand.recoveredText, { uri, session }));
      return;
    }
    const files = this.pending?.offered ?? [];
    if (files.length === 0) {
      await this.check();
      return;
    }
    this.picker?.dispose();
    const picker = vscode.window.createQuickPick<Row>();
    this.picker = picker;
    const restoreButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('discard'), tooltip: 'Restore this file' };
    const restoreAll: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('check-all'), tooltip: 'Restore All' };
    const dismissAll: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('close-all'), tooltip: "Dismiss (kept in SHIM's history)" };
    picker.title = 'SHIM: Unsaved Work from Closed Windows';
    picker.placeholder = 'Choose a file to compare it with the recovered text';
    picker.ignoreFocusOut = true;
    picker.matchOnDescription = true;
    picker.buttons = [restoreAll, dismissAll];
    picker.busy = true;
    const now = Date.now() / 1000;
    picker.items = files.map((file) => ({
      label: `$(file) ${vscode.workspace.asRelativePath(vscode.Uri.parse(file.uri))}`,
      description: `edited ${ago(file.editedAt, now)}`,
      buttons: [restoreButton],
      file,
    }));
    picker.show();
    picker.onDidTriggerButton(async (button) => {
      picker.hide();
      if (button === restoreAll) {
        await this.restore({ action: 'restore' });
      } else {
        await this.dismiss();
      }
    });
    picker.onDidTriggerItemButton(async (e) => {
      await this.restore({ session: e.item.file.session, uris: [e.item.file.uri], action: 'restore' });
    });
    picker.onDidAccept(async () => {
      const chosen = picker.selectedItems[0];
      if (chosen !== undefined) {
        // The list would lie over the diff: it goes, and comes back from the diff's title bar
        // or the status bar item while work still waits.
        picker.hide();
        await this.showDiff(chosen.file);
      }
    });
    picker.onDidHide(() => {
      picker.dispose();
      if (this.picker === picker) {
        this.picker = undefined;
      }
    });
    const details = await Promise.all(files.map((file) => this.whatComesBack(file).catch(() => undefined)));
    picker.items = picker.items.map((item) => ({ ...item, detail: details[files.indexOf(item.file)] }));
    picker.busy = false;
  }

  /** "+3 −1 lines against the file on disk": what restoring would change, as lines. */
  private async whatComesBack(file: RecoverableFile): Promise<string> {
    const uri = vscode.Uri.parse(file.uri);
    const recovered = await this.server.request<{ text: string }>(ServerCommand.recoveredText, { uri: file.uri, session: file.session });
    const open = openDocument(uri);
    if (open !== undefined) {
      return `${lineChangesText(lineChanges(open.getText(), recovered.text))} against the open editor`;
    }
    if (!file.diskExists) {
      return `${lineChangesText(lineChanges('', recovered.text))}: the file is not on disk`;
    }
    const disk = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    return `${lineChangesText(lineChanges(disk, recovered.text))} against the file on disk${file.diskChanged ? ' (changed since)' : ''}`;
  }

  private async showDiff(file: Pick<RecoverableFile, 'uri' | 'session' | 'editedAt' | 'diskExists'>): Promise<void> {
    const uri = vscode.Uri.parse(file.uri);
    const name = fileName(file.uri);
    const open = openDocument(uri) !== undefined;
    const left = open || file.diskExists ? uri : missingUri(uri);
    const side = open ? 'open editor' : file.diskExists ? 'on disk' : 'not on disk';
    const title = `${name} (${side}) ↔ ${name} (recovered, edited ${shortClock(file.editedAt)})`;
    await vscode.commands.executeCommand('vscode.diff', left, recoveredUri(uri, file.session), title, { preview: false });
  }

  private async dismiss(): Promise<void> {
    await this.server.request(ServerCommand.recoverSession, { action: 'dismiss' });
    this.server.output.info("Recovery dismissed: the work stays in SHIM's history until cleared.");
    await this.refresh();
  }

  /**
   * `shim.recoverSession`: from the diff's title bar (a `shim-recovered:` URI), from the
   * review list, or with the server's own argument object.
   */
  async restore(args: unknown): Promise<string[]> {
    let request: object;
    const ref = args instanceof vscode.Uri ? parseVirtual(args) : undefined;
    if (ref !== undefined) {
      request = { session: ref.session, uris: [ref.file.toString()], action: 'restore' };
    } else if (isServerArgs(args)) {
      request = args;
    } else {
      await this.check();
      return [];
    }
    const result = await this.server.request<Restored | { dismissed: string[] }>(ServerCommand.recoverSession, request);
    if (!('restored' in result)) {
      await this.refresh();
      return [];
    }
    if (result.restored.length > 0) {
      void vscode.window.showInformationMessage(
        `SHIM restored unsaved work in ${result.restored.map(fileName).join(', ')}. ${
          result.restored.length === 1 ? 'It is an unsaved change: save it to keep it, or undo it.' : 'They are unsaved changes: save them to keep them, or undo them.'
        }`,
      );
      await this.bringForward(result.restored, ref !== undefined);
    }
    if (result.skipped.length > 0) {
      this.server.output.info(`Recovery left as they are: ${result.skipped.join(', ')}`);
    }
    await this.refresh();
    return result.restored;
  }

  /** Close the recovery diffs of restored files; show the restored file (from a diff: focused). */
  private async bringForward(restored: string[], fromDiff: boolean): Promise<void> {
    const done = new Set(restored);
    const diffs = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter((tab) => {
        const input = tab.input;
        const ref = input instanceof vscode.TabInputTextDiff ? parseVirtual(input.modified) : undefined;
        return ref?.session !== undefined && done.has(ref.file.toString());
      });
    if (diffs.length > 0) {
      await vscode.window.tabGroups.close(diffs);
    }
    if (fromDiff || restored.length === 1) {
      const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(restored[0]));
      await vscode.window.showTextDocument(document, { preview: false, preserveFocus: !fromDiff && this.picker !== undefined });
    }
  }

  /** Ask the server what still waits; update the status bar item and the open review list. */
  private async refresh(): Promise<void> {
    this.show(await this.server.request<RecoveryReport>(ServerCommand.checkRecovery, {}));
  }

  private show(report: RecoveryReport): void {
    this.pending = report;
    const count = report.offered.length;
    void vscode.commands.executeCommand('setContext', ContextKey.recoveryWaiting, count > 0);
    if (this.picker !== undefined) {
      const waiting = new Set(report.offered.map((f) => `${f.session} ${f.uri}`));
      this.picker.items = this.picker.items.filter((item) => waiting.has(`${item.file.session} ${item.file.uri}`));
      if (this.picker.items.length === 0) {
        this.picker.hide();
      }
    }
    if (count === 0) {
      this.item.hide();
      return;
    }
    this.item.text = recoveryItemText(count);
    this.item.tooltip = `${recoveryMessage(report, Date.now() / 1000)} Click to review.`;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.picker?.dispose();
    this.item.dispose();
  }
}

function openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
}
