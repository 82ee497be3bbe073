/**
 * "SHIM History" in the Explorer: the active file's versions, newest first, each one click
 * from a diff (the version on the left, the file on the right), as GitLens's File History.
 */

import * as vscode from 'vscode';
import { Scheme, ServerCommand } from '../commands';
import { ago, checkpointTitle, clock, distinctVersions, fileName, shortClock, versionChanges } from '../format';
import type { FileVersion } from '../protocol';
import type { ShimServer } from '../server';
import { checkpointUri, parseVirtual } from './documents';

export const HISTORY_VIEW = 'shim.history';
const LIMIT = 200;

export class HistoryTree implements vscode.TreeDataProvider<FileVersion>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private file: vscode.Uri | undefined;
  private lastCheckpointAt: number | null | undefined;
  private readonly subscriptions: vscode.Disposable[];
  private readonly view: vscode.TreeView<FileVersion>;

  constructor(private readonly server: ShimServer) {
    this.view = vscode.window.createTreeView(HISTORY_VIEW, { treeDataProvider: this });
    this.follow(vscode.window.activeTextEditor);
    this.subscriptions = [
      this.view,
      this.changed,
      vscode.window.onDidChangeActiveTextEditor((editor) => this.follow(editor)),
      // A new checkpoint: the list grows.
      server.onStatus((status) => {
        if (status !== undefined && status.lastCheckpointAt !== this.lastCheckpointAt) {
          this.lastCheckpointAt = status.lastCheckpointAt;
          this.changed.fire();
        }
      }),
    ];
  }

  /** The active editor's file (a diff of one of its versions keeps it). */
  private follow(editor: vscode.TextEditor | undefined): void {
    let uri = editor?.document.uri;
    if (uri?.scheme === Scheme.checkpoint || uri?.scheme === Scheme.recovered) {
      uri = parseVirtual(uri)?.file;
    }
    if (uri === undefined || (uri.scheme !== 'file' && uri.scheme !== 'untitled') || uri.toString() === this.file?.toString()) {
      return;
    }
    this.file = uri;
    this.view.description = fileName(uri.toString());
    this.changed.fire();
  }

  async getChildren(element?: FileVersion): Promise<FileVersion[]> {
    if (element !== undefined || this.file === undefined || this.server.problem !== undefined) {
      return [];
    }
    try {
      const all = await this.server.request<FileVersion[]>(ServerCommand.listCheckpoints, { uri: this.file.toString(), limit: LIMIT });
      const versions = distinctVersions(all).filter((v) => !v.deleted);
      this.view.message = versions.length === 0 ? `No checkpoint of ${fileName(this.file.toString())} yet.` : undefined;
      return versions;
    } catch {
      return []; // the server is starting: the status push refreshes the list
    }
  }

  getTreeItem(version: FileVersion): vscode.TreeItem {
    const file = this.file as vscode.Uri;
    const name = fileName(file.toString());
    const now = Date.now() / 1000;
    const item = new vscode.TreeItem(checkpointTitle(version));
    item.description = `${ago(version.createdAt, now)} · ${versionChanges(version)}`;
    item.tooltip = `${clock(version.createdAt)} · ${versionChanges(version)} · ${version.kind === 'buffer' ? 'unsaved in the editor' : 'as saved on disk'}`;
    item.iconPath = new vscode.ThemeIcon(version.label ? 'tag' : 'history');
    item.command = {
      title: 'Compare with the File',
      command: 'vscode.diff',
      arguments: [checkpointUri(file, version.id), file, `${name} (${checkpointTitle(version)} · ${shortClock(version.createdAt, now)}) ↔ ${name}`],
    };
    return item;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
  }
}
