/**
 * Codemods from the command palette: pick one, fill its arguments, pick the scope; the
 * server runs it with progress on a notification that can be cancelled, then sends one edit
 * that VS Code shows in its refactor preview before anything changes.
 */

import * as path from 'node:path';
import * as vscode from 'vscode';
import { ServerCommand } from '../commands';
import { codemodArgumentProblem, codemodOutcome, codemodTitle, plural, qualifiedName, shortClock } from '../format';
import type { CodemodInfo, CodemodRun } from '../protocol';
import type { ShimServer } from '../server';
import { isServerArgs } from './arguments';
import { checkpointUri } from './documents';

interface RunArgs {
  name: string;
  args: Record<string, unknown>;
  scope: 'document' | 'folder' | 'workspace';
  uri?: string;
  preview: boolean;
}

export class Codemods {
  /** Batches applied in this window, newest last: what "Undo Last Codemod" reverses. */
  private readonly batches: { batch: string; name: string; outcome: string }[] = [];

  /**
   * Batches whose Undo is spent: undone, or refused as a whole (when, and which files changed
   * after it). A message shown before still has its Undo button; this says what became of it.
   */
  private readonly ended = new Map<string, { outcome: string; undone: boolean; at: string; changed: string[] }>();

  /** Each codemod's title as the server lists it (its TITLE), by name. */
  private readonly titles = new Map<string, string>();

  constructor(private readonly server: ShimServer) {}

  private titleOf(name: string): string {
    return this.titles.get(name) ?? codemodTitle(name);
  }

  async run(given?: unknown): Promise<void> {
    const args = isServerArgs(given) ? (given as RunArgs) : await this.ask();
    if (args === undefined) {
      return;
    }
    const dirtyBefore = dirtyDocuments();
    const result = await this.runWithProgress(args);
    await this.report(args.name, args.args ?? {}, result, args.preview === true, dirtyBefore);
  }

  /** The module Python imports a file by, as the server finds it (packages, src/ layouts). */
  private async moduleOf(uri: vscode.Uri): Promise<string | undefined> {
    try {
      const found = await this.server.request<{ module: string | null }>(ServerCommand.moduleName, { uri: uri.toString() });
      return found.module ?? undefined;
    } catch {
      return undefined;
    }
  }

  private async ask(): Promise<RunArgs | undefined> {
    const listed = await this.server.request<{ codemods: CodemodInfo[]; problems: string[] }>(ServerCommand.listCodemods);
    for (const c of listed.codemods) {
      if (c.title) {
        this.titles.set(c.name, c.title);
      }
    }
    for (const problem of listed.problems) {
      this.server.output.warn(`Codemods: ${problem}`);
    }
    const picked = await pickCodemod(listed.codemods, (name) => this.titleOf(name));
    if (picked === undefined) {
      return undefined;
    }
    const title = this.titleOf(picked.codemod.name);
    const editor = vscode.window.activeTextEditor;
    const file = editor?.document.uri.scheme === 'file' ? editor.document.uri : undefined;
    const underCursor = await symbolUnderCursor(editor, (uri) => this.moduleOf(uri));
    const values: Record<string, unknown> = {};
    for (const [i, arg] of picked.codemod.arguments.entries()) {
      const raw = await vscode.window.showInputBox({
        title: `${title}: ${arg.name}${arg.required ? '' : ' (optional)'}`,
        // The first box shows the codemod's whole description: the list cuts it off.
        prompt: [i === 0 ? picked.codemod.description : '', arg.help].filter(Boolean).join(' \u2014 ') || arg.name,
        placeHolder: example(arg.name, arg.type),
        value: arg.default === null || arg.default === undefined ? (arg.name === 'old_name' ? underCursor : '') : String(arg.default),
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
    const scopes: (vscode.QuickPickItem & { scope: RunArgs['scope'] })[] = [];
    if (file !== undefined) {
      scopes.push({ label: 'This file', description: vscode.workspace.asRelativePath(file), scope: 'document' });
      const folder = vscode.Uri.file(path.dirname(file.fsPath));
      if (vscode.workspace.getWorkspaceFolder(folder)?.uri.fsPath !== folder.fsPath) {
        scopes.push({ label: "This file's folder", description: vscode.workspace.asRelativePath(folder), scope: 'folder' });
      }
    }
    const whole = { label: 'The whole workspace', scope: 'workspace' as const };
    // A rename or a move changes the imports of other files: the whole workspace comes first.
    const crossFile = picked.codemod.arguments.some((a) => a.required);
    if (crossFile) {
      scopes.unshift(whole);
    } else {
      scopes.push(whole);
    }
    const scope = await vscode.window.showQuickPick(scopes, { title: `${title}: where` });
    if (scope === undefined) {
      return undefined;
    }
    // VS Code's preview leaves edits that need confirmation unticked: right for a review,
    // tedious for hundreds of files, so the user chooses.
    const mode = await vscode.window.showQuickPick(
      [
        // VS Code's API cannot start its preview with the files ticked (edits that need
        // confirmation start unticked), so the preview asks for a tick per file.
        { label: 'Preview the changes', detail: "VS Code's Refactor Preview: tick the files to apply, then Apply", preview: true },
        { label: 'Apply now', detail: 'A checkpoint is taken first; Undo in the message that follows reverses the whole run', preview: false },
      ],
      { title: `${title}: how` },
    );
    if (mode === undefined) {
      return undefined;
    }
    return { name: picked.codemod.name, args: values, scope: scope.scope, uri: file?.toString(), preview: mode.preview };
  }

  private runWithProgress(args: RunArgs): Promise<CodemodRun> {
    return new Promise<CodemodRun>((resolveRun, rejectRun) => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `SHIM: ${this.titleOf(args.name)}`, cancellable: true },
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

  private async report(name: string, args: Record<string, unknown>, result: CodemodRun, preview: boolean, dirtyBefore: Set<string>): Promise<void> {
    for (const failure of result.failed) {
      this.server.output.warn(`Codemod ${name} failed on ${vscode.workspace.asRelativePath(failure.path)}: ${failure.reason}`);
    }
    const failed = result.failed.length > 0 ? ['Show Failures'] : [];
    let choice: string | undefined;
    const title = this.titleOf(name);
    if (result.cancelled) {
      choice = await vscode.window.showInformationMessage(`SHIM: ${title} cancelled; nothing was changed.`, ...failed);
    } else if (result.applied && result.batch) {
      const outcome = codemodOutcome(this.titleOf(name), name, args, result.changed.length, result.failed.length);
      this.batches.push({ batch: result.batch, name, outcome });
      if (!preview) {
        // "Apply now" applies to the files: none is left unsaved that was not unsaved before.
        await saveUnlessDirtyBefore(result.changed, dirtyBefore);
      }
      for (;;) {
        choice = await vscode.window.showInformationMessage(`SHIM: ${outcome}`, 'Undo', 'Show Changes', ...failed);
        if (choice !== 'Show Changes' || result.checkpoint === undefined) {
          break;
        }
        // The diff has no Undo of its own: the message comes back, so that Undo stays at hand.
        await showChanges(result.changed, result.checkpoint);
        if (this.ended.has(result.batch)) {
          return; // undone, or refused, from elsewhere meanwhile: its Undo would be stale
        }
      }
    } else if (result.changed.length > 0) {
      // VS Code answers "not applied" when the refactor preview was discarded or had nothing ticked.
      const why = preview ? 'discarded in the preview, or nothing was ticked' : (result.reason ?? 'discarded');
      choice = await vscode.window.showInformationMessage(`SHIM: ${title} not applied (${why}).`, ...failed);
    } else {
      choice = await vscode.window.showInformationMessage(
        `SHIM: ${title} changed nothing${result.failed.length ? `; ${plural(result.failed.length, 'file')} failed` : ''}.`,
        ...failed,
      );
    }
    if (choice === 'Undo') {
      await this.undo({ batch: result.batch, fromMessage: true });
    } else if (choice === 'Show Failures') {
      this.server.output.show();
    }
  }

  /** "SHIM: Undo Last Codemod", or `{batch}` (and `force`) as the server takes it. */
  async undo(given?: unknown): Promise<void> {
    let batch: string | undefined;
    let force = false;
    let fromMessage = false;
    if (isServerArgs(given)) {
      batch = (given as { batch?: string }).batch;
      force = (given as { force?: boolean }).force === true;
      fromMessage = (given as { fromMessage?: boolean }).fromMessage === true;
    } else {
      batch = this.batches[this.batches.length - 1]?.batch;
      if (batch === undefined) {
        void vscode.window.showInformationMessage('SHIM: no codemod run in this window to undo.');
        return;
      }
    }
    const ended = batch === undefined ? undefined : this.ended.get(batch);
    if (fromMessage && ended !== undefined && !force) {
      // The Undo of a message shown before: say what became of it rather than try again.
      if (ended.undone) {
        void vscode.window.showInformationMessage(`SHIM: ${ended.outcome} was already undone; this Undo has nothing left to do.`);
        return;
      }
      const rest = 'Undo the Others Anyway';
      const choice = await vscode.window.showWarningMessage(
        `SHIM: this Undo no longer applies. Undoing ${ended.outcome} was refused at ${ended.at}: ${ended.changed.join(', ')} changed after it. Nothing was undone.`,
        rest,
      );
      if (choice === rest) {
        await this.undo({ batch, force: true });
      }
      return;
    }
    const dirtyBefore = dirtyDocuments();
    const result = await this.server.request<{
      undone: string[];
      refused: { uri: string; reason: string }[];
      applied: boolean;
      reason?: string;
    }>(ServerCommand.undoCodemod, { batch, force });
    const index = this.batches.findIndex((b) => b.batch === batch);
    const entry = index >= 0 ? this.batches[index] : undefined;
    if (result.applied && index >= 0) {
      this.batches.splice(index, 1);
    }
    if (result.applied) {
      if (batch !== undefined && entry !== undefined) {
        this.ended.set(batch, { outcome: entry.outcome, undone: true, at: '', changed: [] });
      }
      await cleanWhereSaved(result.undone);
      // What the run saved, the undo saves: an editor unsaved only because of the undo is not left so.
      await saveUnlessDirtyBefore(result.undone, dirtyBefore);
    }
    const refused = result.refused.map((r) => `${vscode.workspace.asRelativePath(vscode.Uri.parse(r.uri))} (${r.reason})`);
    if (!result.applied && result.reason !== undefined) {
      // A change that goes together (a rename) is undone whole or not at all, unless asked.
      const rest = 'Undo the Others Anyway';
      const title = this.titleOf(entry?.name ?? '');
      const changed = result.refused.map((r) => vscode.workspace.asRelativePath(vscode.Uri.parse(r.uri)));
      if (batch !== undefined && entry !== undefined) {
        this.ended.set(batch, { outcome: entry.outcome, undone: false, at: shortClock(Date.now() / 1000), changed });
      }
      const choice = await vscode.window.showWarningMessage(
        `SHIM cannot undo ${title || 'the codemod'} as a whole: ${changed.join(', ')} changed after it, and undoing only the others would leave the project half changed. Nothing was undone.`,
        rest,
      );
      if (choice === rest) {
        await this.undo({ batch, force: true });
      }
      return;
    }
    void vscode.window.showInformationMessage(
      `SHIM undid the codemod in ${plural(result.undone.length, 'file')}.` + (refused.length ? ` Left as they are: ${refused.join(', ')}.` : ''),
    );
  }
}

/** The open files with unsaved changes, now (as URI strings). */
function dirtyDocuments(): Set<string> {
  return new Set(vscode.workspace.textDocuments.filter((d) => d.isDirty).map((d) => d.uri.toString()));
}

/**
 * Saves the changed files VS Code now holds unsaved that had no unsaved changes before: a file
 * the edit opened in the background, or an editor that was saved. An editor that held unsaved
 * work before keeps it unsaved, for the user to save.
 */
async function saveUnlessDirtyBefore(uris: string[], dirtyBefore: Set<string>): Promise<void> {
  for (const uri of uris) {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    if (document !== undefined && document.isDirty && document.uri.scheme === 'file' && !dirtyBefore.has(uri)) {
      await document.save();
    }
  }
}

type CodemodRow = vscode.QuickPickItem & { codemod: CodemodInfo };

/**
 * The list of codemods. A row cuts its description off; each row's info button (its tooltip,
 * and on a click a dialog) gives the whole description, and Run from there picks it.
 */
async function pickCodemod(codemods: CodemodInfo[], titleOf: (name: string) => string): Promise<CodemodRow | undefined> {
  const picker = vscode.window.createQuickPick<CodemodRow>();
  picker.title = 'SHIM: Run Codemod';
  picker.placeholder = 'Choose a codemod (the info button on a row says all it does)';
  picker.matchOnDescription = true;
  picker.matchOnDetail = true;
  // The description's dialog takes the focus: the list stays for the user to come back to.
  picker.ignoreFocusOut = true;
  picker.items = codemods.map((c) => ({
    label: titleOf(c.name),
    description: c.name,
    detail: c.description,
    buttons: [{ iconPath: new vscode.ThemeIcon('info'), tooltip: c.description }],
    codemod: c,
  }));
  return new Promise<CodemodRow | undefined>((resolve) => {
    let chosen: CodemodRow | undefined;
    picker.onDidAccept(() => {
      chosen = picker.selectedItems[0];
      picker.hide();
    });
    picker.onDidTriggerItemButton(async ({ item }) => {
      const run = 'Run…';
      const answer = await vscode.window.showInformationMessage(item.label, { modal: true, detail: item.codemod.description }, run);
      if (answer === run) {
        chosen = item;
        picker.hide();
      }
    });
    picker.onDidHide(() => {
      picker.dispose();
      resolve(chosen);
    });
    picker.show();
  });
}

/** "e.g. app.greet": an example in place of the argument's type name. */
function example(name: string, type: string): string {
  const known: Record<string, string> = {
    old_name: 'e.g. app.greet',
    new_name: 'e.g. welcome',
    old_module: 'e.g. app.helpers',
    new_module: 'e.g. app.util.helpers',
  };
  return known[name] ?? (type === 'int' ? 'e.g. 10' : type === 'bool' ? 'true or false' : type === 'float' ? 'e.g. 1.5' : '');
}

/**
 * The qualified name of the identifier under the cursor in a Python file, for old_name: where
 * a definition provider (the Python extension) points, else a definition on this line or the
 * module a `from ... import` line names; empty when it cannot tell.
 */
async function symbolUnderCursor(
  editor: vscode.TextEditor | undefined,
  moduleOf: (uri: vscode.Uri) => Promise<string | undefined>,
): Promise<string> {
  const named = async (uri: vscode.Uri, word: string): Promise<string> => {
    const module = await moduleOf(uri);
    return module ? `${module}.${word}` : qualifiedName(vscode.workspace.asRelativePath(uri, false), word);
  };
  if (editor === undefined || editor.document.uri.scheme !== 'file' || !/\.pyi?$/.test(editor.document.uri.path)) {
    return '';
  }
  const position = editor.selection.active;
  const range = editor.document.getWordRangeAtPosition(position, /[A-Za-z_][A-Za-z0-9_]*/);
  if (range === undefined) {
    return '';
  }
  const word = editor.document.getText(range);
  const found = await vscode.commands
    .executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', editor.document.uri, position)
    .then(
      (locations) => locations ?? [],
      () => [],
    );
  for (const location of found) {
    const uri = 'targetUri' in location ? location.targetUri : location.uri;
    if (uri.scheme === 'file' && /\.pyi?$/.test(uri.path) && vscode.workspace.getWorkspaceFolder(uri)) {
      return named(uri, word);
    }
  }
  const line = editor.document.lineAt(position.line).text;
  if (new RegExp(`^\\s*(async\\s+def|def|class)\\s+${word}\\b|^${word}\\s*[:=]`).test(line)) {
    return named(editor.document.uri, word);
  }
  const imported = line.match(/^\s*from\s+([A-Za-z_][\w.]*)\s+import\s+(.*)$/);
  if (imported && new RegExp(`\\b${word}\\b`).test(imported[2]) && range.start.character > line.indexOf(' import ')) {
    return `${imported[1]}.${word}`;
  }
  return '';
}

/**
 * An undo is an edit, so VS Code keeps an editor it touched dirty even when its text is the
 * file's again: such an editor is reverted (it reloads the very same text from disk), as VS
 * Code's own undo back to the saved state would leave it. An editor that differs from its file
 * in any way stays dirty: nothing typed is dropped.
 */
async function cleanWhereSaved(uris: string[]): Promise<void> {
  const active = vscode.window.activeTextEditor;
  let moved = false;
  for (const uri of uris) {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    if (document === undefined || !document.isDirty || document.uri.scheme !== 'file') {
      continue;
    }
    let disk: string;
    try {
      disk = new TextDecoder('utf-8', { fatal: true }).decode(await vscode.workspace.fs.readFile(document.uri));
    } catch {
      continue; // not UTF-8, or gone: leave it to the user
    }
    if (disk !== document.getText()) {
      continue;
    }
    // "Revert File" acts on the active editor only.
    await vscode.window.showTextDocument(document, { preview: false });
    moved = true;
    if (vscode.window.activeTextEditor?.document === document && document.getText() === disk) {
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  }
  if (moved && active !== undefined) {
    await vscode.window.showTextDocument(active.document, active.viewColumn);
  }
}

/** The changed files against the checkpoint taken before the run: older left, newer right. */
async function showChanges(changed: string[], checkpoint: number): Promise<void> {
  let chosen = changed[0];
  if (changed.length > 1) {
    const picked = await vscode.window.showQuickPick(
      changed.map((uri) => ({ label: vscode.workspace.asRelativePath(vscode.Uri.parse(uri)), uri })),
      { title: 'SHIM: Changed Files', placeHolder: 'Choose a file to see what the codemod changed' },
    );
    chosen = picked?.uri ?? '';
  }
  if (!chosen) {
    return;
  }
  const file = vscode.Uri.parse(chosen);
  const name = path.basename(file.path);
  await vscode.commands.executeCommand('vscode.diff', checkpointUri(file, checkpoint), file, `${name} (before the codemod) \u2194 ${name}`, {
    preview: false,
  });
}
