/**
 * Crashed work, offered back: a notification (Review, Restore all, Dismiss); Review lists the
 * files, each opening a diff of the file on disk against the recovered text, with a restore
 * action in the diff's title bar. The server does the restoring (an unsaved, undoable edit).
 */

import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import { ago, fileName, plural, recoveryMessage } from '../format';
import type { RecoverableFile, RecoveryReport } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';
import { missingUri, parseVirtual, recoveredUri } from './documents';

export const REVIEW = 'Review';
export const RESTORE_ALL = 'Restore all';
export const DISMISS = 'Dismiss';

interface Restored {
  restored: string[];
  skipped: string[];
}


export class Recovery implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;

  constructor(private readonly server: ShimServer) {
    this.subscription = server.onRecoveryAvailable((report) => void this.offer(report));
  }

  /** "SHIM: Check Recovery": the server looks again and, if there is work, tells us. */
  async check(): Promise<void> {
    await this.server.request(ServerCommand.checkRecovery, { prompt: true });
  }

  async offer(report: RecoveryReport): Promise<void> {
    const files = report.offered;
    if (files.length === 0) {
      return;
    }
    const choice = await vscode.window.showWarningMessage(recoveryMessage(report), REVIEW, RESTORE_ALL, DISMISS);
    if (choice === RESTORE_ALL) {
      await this.restore({ action: 'restore' });
    } else if (choice === DISMISS) {
      await this.server.request(ServerCommand.recoverSession, { action: 'dismiss' });
      this.server.output.info('Recovery dismissed: the work stays in the store until cleared.');
    } else if (choice === REVIEW) {
      await this.review(files);
    }
  }

  private async review(files: RecoverableFile[]): Promise<void> {
    const restoreButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('history'), tooltip: 'Restore this file' };
    const picker = vscode.window.createQuickPick<vscode.QuickPickItem & { file: RecoverableFile }>();
    picker.title = 'SHIM: unsaved work from crashed sessions';
    picker.placeholder = 'Choose a file to compare the file on disk with the recovered text';
    picker.ignoreFocusOut = true;
    const now = Date.now() / 1000;
    picker.items = files.map((file) => ({
      label: `$(file) ${vscode.workspace.asRelativePath(vscode.Uri.parse(file.uri))}`,
      description: `edited ${ago(file.editedAt, now)}`,
      detail: !file.diskExists ? 'not on disk' : file.diskChanged ? 'changed on disk since the crash' : plural(file.chars, 'character'),
      buttons: [restoreButton],
      file,
    }));
    picker.onDidTriggerItemButton(async (e) => {
      const restored = await this.restore({ session: e.item.file.session, uris: [e.item.file.uri], action: 'restore' });
      if (!restored.includes(e.item.file.uri)) {
        return; // left as it is (the user kept the file on disk): still on the list
      }
      picker.items = picker.items.filter((item) => item !== e.item);
      if (picker.items.length === 0) {
        picker.hide();
      }
    });
    picker.onDidAccept(async () => {
      const chosen = picker.selectedItems[0];
      if (chosen !== undefined) {
        await this.showDiff(chosen.file);
      }
    });
    picker.onDidHide(() => picker.dispose());
    picker.show();
  }

  private async showDiff(file: RecoverableFile): Promise<void> {
    const uri = vscode.Uri.parse(file.uri);
    const left = file.diskExists ? uri : missingUri(uri);
    const title = `${fileName(file.uri)}: on disk ↔ recovered (edited ${ago(file.editedAt, Date.now() / 1000)})`;
    await vscode.commands.executeCommand('vscode.diff', left, recoveredUri(uri, file.session), title, { preview: false });
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
    if ('restored' in result) {
      const names = result.restored.map(fileName).join(', ');
      if (result.restored.length > 0) {
        void vscode.window.showInformationMessage(
          `SHIM restored unsaved work in ${names}. It is an unsaved change: save it to keep it, or undo it.`,
        );
      }
      if (result.skipped.length > 0) {
        this.server.output.info(`Recovery left as they are: ${result.skipped.join(', ')}`);
      }
      return result.restored;
    }
    return [];
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
