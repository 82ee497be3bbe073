/**
 * A file's history: browse its versions across checkpoints (label, time, lines added and
 * removed), compare the editor's text with any checkpoint, and restore a version as an
 * unsaved, undoable change.
 */

import * as vscode from 'vscode';
import { ContextKey, Scheme, ServerCommand } from '../commands';
import { ago, checkpointFileChanges, checkpointTitle, clock, dayName, distinctVersions, fileName, plural, shortClock, versionChanges } from '../format';
import type { Checkpoint, FileVersion } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';
import { checkpointUri, parseVirtual, type VirtualRef } from './documents';

const LIMIT = 500;

export class History implements vscode.Disposable {
  private readonly watch: vscode.Disposable;

  constructor(private readonly server: ShimServer) {
    // The checkpoint is the diff's left side; the title bar only knows the right one's scheme.
    const update = () =>
      void vscode.commands.executeCommand('setContext', ContextKey.checkpointDiff, activeCheckpointDiff() !== undefined);
    this.watch = vscode.Disposable.from(vscode.window.tabGroups.onDidChangeTabs(update), vscode.window.tabGroups.onDidChangeTabGroups(update));
  }

  dispose(): void {
    this.watch.dispose();
  }

  /** "SHIM: Browse Checkpoints": the current file's distinct versions, newest first, each
   * with the lines it added and removed, as GitLens's file history shows them. */
  async browse(target?: unknown): Promise<void> {
    const file = fileOf(target);
    if (file === undefined) {
      return;
    }
    const version = await this.pickVersion(file, 'Choose a version to compare with the editor');
    if (version !== undefined) {
      await showDiff(file, version.id, checkpointTitle(version), version.createdAt);
    }
  }

  /** "SHIM: Compare with Checkpoint": any checkpoint of the workspace, against the editor. */
  async compare(target?: unknown): Promise<void> {
    if (isServerArgs(target) && !isFileOnly(target)) {
      await this.server.request(ServerCommand.compareWithCheckpoint, target);
      return;
    }
    const file = fileOf(target);
    if (file === undefined) {
      return;
    }
    const [checkpoints, versions] = await Promise.all([
      this.server.request<Checkpoint[]>(ServerCommand.listCheckpoints, { limit: LIMIT }),
      this.server.request<FileVersion[]>(ServerCommand.listCheckpoints, { uri: file.toString(), limit: LIMIT }),
    ]);
    if (checkpoints.length === 0) {
      void vscode.window.showInformationMessage('SHIM has no checkpoints of this workspace yet.');
      return;
    }
    const now = Date.now() / 1000;
    const name = fileName(file.toString());
    const picked = await vscode.window.showQuickPick(
      byDay(checkpoints, now, (c) => ({
        label: `$(history) ${checkpointTitle(c)} · ${ago(c.createdAt, now)}`,
        description: checkpointFileChanges(versions, c.id, name),
        detail: `${clock(c.createdAt)} · ${plural(c.files, 'file')}`,
        checkpoint: c,
      })),
      { title: `SHIM: Compare ${fileName(file.toString())} with a Checkpoint`, matchOnDetail: true },
    );
    if (picked?.checkpoint === undefined) {
      return;
    }
    // Ask first, so that a checkpoint without this file is a message, not a broken diff.
    await this.server.request(ServerCommand.compareWithCheckpoint, { checkpoint: picked.checkpoint.id, uri: file.toString() });
    const chosen = picked.checkpoint;
    await showDiff(file, chosen.id, checkpointTitle(chosen), chosen.createdAt);
  }

  /** "SHIM: Restore from Checkpoint": from a diff's title bar, a picker, or server arguments. */
  async restore(target?: unknown): Promise<void> {
    let args: { checkpoint: number; uri: string } | undefined;
    const active = activeCheckpointDiff();
    const ref =
      target instanceof vscode.Uri
        ? (parseVirtual(target) ?? (active?.file.toString() === target.toString() ? active : undefined))
        : undefined;
    if (ref?.checkpoint !== undefined) {
      args = { checkpoint: ref.checkpoint, uri: ref.file.toString() };
    } else if (isServerArgs(target) && !isFileOnly(target)) {
      args = target as { checkpoint: number; uri: string };
    } else {
      const file = fileOf(target);
      const version = file && (await this.pickVersion(file, 'Choose the version to put back into the editor'));
      if (file === undefined || version === undefined) {
        return;
      }
      args = { checkpoint: version.id, uri: file.toString() };
    }
    const result = await this.server.request<{ applied: boolean; detail: string }>(ServerCommand.restoreCheckpoint, args);
    const name = fileName(args.uri);
    if (result.applied) {
      void vscode.window.showInformationMessage(
        result.detail === 'already up to date'
          ? `${name} already has the checkpoint's text.`
          : `SHIM put the checkpoint's text of ${name} into the editor as an unsaved change (undo reverts it).`,
      );
    } else {
      void vscode.window.showWarningMessage(`SHIM could not restore ${name}: ${result.detail}`);
    }
  }

  private async pickVersion(file: vscode.Uri, placeholder: string): Promise<FileVersion | undefined> {
    const all = await this.server.request<FileVersion[]>(ServerCommand.listCheckpoints, { uri: file.toString(), limit: LIMIT });
    const versions = distinctVersions(all).filter((v) => !v.deleted);
    if (versions.length === 0) {
      void vscode.window.showInformationMessage(`SHIM has no checkpoint of ${fileName(file.toString())} yet.`);
      return undefined;
    }
    const now = Date.now() / 1000;
    const picked = await vscode.window.showQuickPick(
      byDay(versions, now, (v) => ({
        label: `$(history) ${checkpointTitle(v)} · ${ago(v.createdAt, now)}`,
        description: versionChanges(v),
        detail: `${clock(v.createdAt)} · ${v.kind === 'buffer' ? 'unsaved in the editor' : 'as saved on disk'}`,
        version: v,
      })),
      { title: `SHIM: Checkpoints of ${fileName(file.toString())}`, placeHolder: placeholder, matchOnDetail: true },
    );
    return picked?.version;
  }
}

/** Entries newest first under a separator per day, as VS Code's Timeline groups them. */
function byDay<T extends { createdAt: number }, I extends vscode.QuickPickItem>(
  entries: readonly T[],
  now: number,
  item: (entry: T) => I,
): (vscode.QuickPickItem & Partial<I>)[] {
  const out: (vscode.QuickPickItem & Partial<I>)[] = [];
  let day: string | undefined;
  for (const entry of entries) {
    const name = dayName(entry.createdAt, now);
    if (name !== day) {
      out.push({ label: name, kind: vscode.QuickPickItemKind.Separator } as vscode.QuickPickItem & Partial<I>);
      day = name;
    }
    out.push(item(entry));
  }
  return out;
}

/** Older on the left, newer on the right, as Local History and Git show it. */
async function showDiff(file: vscode.Uri, checkpoint: number, title: string, createdAt: number): Promise<void> {
  const name = fileName(file.toString());
  await vscode.commands.executeCommand(
    'vscode.diff',
    checkpointUri(file, checkpoint),
    file,
    `${name} (${title} · ${shortClock(createdAt)}) ↔ ${name}`,
    { preview: false },
  );
}

/** `{ uri }` with no checkpoint (a code action's argument): the file, the checkpoint to pick. */
function isFileOnly(target: object): target is { uri: string } {
  const args = target as { uri?: unknown; checkpoint?: unknown };
  return typeof args.uri === 'string' && args.checkpoint === undefined;
}

/** The file a command is about: the one it was invoked on (a URI, or `{ uri }` from a code
 * action), else the active editor's. */
function fileOf(target: unknown): vscode.Uri | undefined {
  let uri =
    target instanceof vscode.Uri
      ? target
      : isServerArgs(target) && isFileOnly(target)
        ? vscode.Uri.parse(target.uri)
        : vscode.window.activeTextEditor?.document.uri;
  if (uri !== undefined && (uri.scheme === Scheme.checkpoint || uri.scheme === Scheme.recovered)) {
    uri = parseVirtual(uri)?.file;
  }
  if (uri === undefined || (uri.scheme !== 'file' && uri.scheme !== 'untitled')) {
    void vscode.window.showInformationMessage('Open a file first: SHIM shows the history of the file in the editor.');
    return undefined;
  }
  return uri;
}

/** The checkpoint on the left of the active diff editor, if it shows one. */
function activeCheckpointDiff(): VirtualRef | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const ref = input instanceof vscode.TabInputTextDiff ? parseVirtual(input.original) : undefined;
  return ref?.checkpoint !== undefined ? ref : undefined;
}
