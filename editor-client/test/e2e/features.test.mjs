// SHIM's other faces in real VS Code: a server that cannot start, history, codemods.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as rig from './rig.mjs';

const shared = rig.useBrowser();

/** "SHIM: Run Codemod" from the palette: rename app.greet to welcome over the workspace. */
async function renameGreetToWelcome(page, how) {
  await rig.runCommand(page, 'SHIM: Run Codemod…');
  await rig.pick(page, 'rename_symbol');
  await rig.answer(page, 'Rename symbol: old_name', 'app.greet');
  await rig.answer(page, 'Rename symbol: new_name', 'welcome');
  await rig.pick(page, 'The whole workspace');
  await rig.pick(page, how);
}

rig.e2e('a server that cannot start says why, and where to choose another Python', async () => {
  const dirs = await rig.makeHome({ 'app.py': 'a = 1\n' });
  const python = rig.path.join(dirs.root, 'no-such-venv', 'bin', 'python');
  rig.writeMachineSettings(dirs, { 'shim.server.pythonPath': python });
  const codeServer = await rig.startCodeServer(dirs);
  const page = await rig.openWorkbench(shared.browser, codeServer, dirs);

  const error = rig.toast(page, 'SHIM could not start its server');
  await error.waitFor({ timeout: 60_000 });
  assert.match(await error.innerText(), new RegExp(`"${python.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" \\(shim\\.server\\.pythonPath\\) was not found`));
  for (const button of ['Open Settings', 'Show Output']) {
    assert.equal(await error.locator('a.monaco-button', { hasText: button }).count(), 1, `the error offers ${button}`);
  }
  await rig.waitFor('the status bar to say SHIM is off', async () => /SHIM off/.test(await rig.statusItem(page).innerText()));
  assert.deepEqual(await rig.shimServerPids(codeServer), [], 'no server was started');
});

rig.e2e("Browse Checkpoints lists the file's versions, opens a diff, and restores one", async () => {
  const { dirs, page } = await rig.openShim(shared, { 'app.py': 'a = 1\n', 'other.py': 'o = 1\n' }, { open: 'app.py' });

  await rig.typeAtEnd(page, "b = 'kept in a checkpoint'\n");
  await rig.runCommand(page, 'SHIM: Force Checkpoint');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'first draft');
  await rig.toast(page, '"first draft"').waitFor();
  // One line changed (a = 1 to a = 2), two added: "+3 −1" against the first draft.
  await rig.typeAtEnd(page, "c = 'typed later'\nd = 4\n");
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('Shift+End');
  await page.keyboard.type('a = 2');
  await rig.runCommand(page, 'SHIM: Force Checkpoint');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'second draft');
  await rig.toast(page, '"second draft"').waitFor();

  await rig.runCommand(page, 'SHIM: Browse Checkpoints…');
  const row = (label) => page.locator('.quick-input-widget .monaco-list-row', { hasText: label });
  await row('first draft').waitFor();
  // Led by the label and the age, then the lines added and removed, grouped under the day.
  assert.match(await row('second draft').innerText(), /second draft · (just now|\d+ s ago)\s*\+3 \u22121\s*.* · unsaved in the editor/);
  assert.match(await row('first draft').innerText(), /first draft · (just now|\d+ s ago)\s*(2 lines, the oldest version|\+1)\s*.* · unsaved in the editor/);
  const rows = (await rig.quickPickRows(page)).join('\n');
  assert.match(rows, /Today/);
  assert.doesNotMatch(rows, /\d B\b|KB/, 'lines, not bytes');
  await rig.shot(page, 'browse-checkpoints');
  await rig.pick(page, 'first draft');
  // Older on the left, newer on the right: what was typed since shows as added.
  await page.locator('.tab.active', { hasText: /^app\.py \(first draft · \d{2}:\d{2}\) ↔ app\.py/ }).waitFor();
  await rig.waitFor('the diff of the checkpoint (left) against the editor (right)', async () =>
    (await rig.editorText(page, 'original')) === "a = 1\nb = 'kept in a checkpoint'\n" &&
    (await rig.editorText(page, 'modified')).includes("c = 'typed later'"),
  );
  await rig.shot(page, 'browse-checkpoints-diff');

  // The same versions in the Explorer's SHIM History, one click from the same diff.
  await page.locator('.tab', { hasText: /^app\.py$/ }).first().click();
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'SHIM History' }) });
  const header = pane.locator('.pane-header');
  if ((await header.getAttribute('aria-expanded')) !== 'true') {
    await header.click();
  }
  const entry = pane.locator('.monaco-list-row', { hasText: 'first draft' });
  await entry.waitFor();
  assert.match(await entry.innerText(), /first draft\s*(just now|\d+ s ago) · (2 lines, the oldest version|\+1)/);
  assert.match(await pane.locator('.monaco-list-row', { hasText: 'second draft' }).innerText(), /second draft\s*(just now|\d+ s ago) · \+3 \u22121/);
  await rig.shot(page, 'shim-history-view');
  // It follows the active file.
  await rig.openFile(page, 'other.py');
  await pane.locator('.pane-header .description', { hasText: 'other.py' }).waitFor();
  await rig.waitFor("other.py's one version", async () => {
    const rows = await pane.locator('.monaco-list-row').allInnerTexts();
    return rows.length === 1 && /draft\s*(just now|\d+ s ago) · 1 line, the oldest version/.test(rows[0]);
  });
  await page.locator('.tab', { hasText: '↔' }).first().click();
  await page.keyboard.press('Control+W');
  await rig.waitFor('the diff closed', async () => (await page.locator('.tab', { hasText: '↔' }).count()) === 0);
  // Both files have a version from "first draft": back to app.py's history before choosing.
  await page.locator('.tab', { hasText: /^app\.py$/ }).first().click();
  await pane.locator('.pane-header .description', { hasText: 'app.py' }).waitFor();
  // The rows follow the description: app.py's alone has a "second draft" version.
  await pane.locator('.monaco-list-row', { hasText: 'second draft' }).waitFor();
  await entry.click();
  await page.locator('.tab.active', { hasText: /^app\.py \(first draft · \d{2}:\d{2}\) ↔ app\.py/ }).waitFor();

  await page.locator('.editor-actions [aria-label*="Restore from Checkpoint"]').first().click();
  await rig.toast(page, 'into the editor as an unsaved change').waitFor();
  await page.locator('.tab', { hasText: /^app\.py$/ }).first().click();
  await rig.waitFor('the checkpoint text in the editor', async () => (await rig.editorText(page)) === "a = 1\nb = 'kept in a checkpoint'\n");
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), 'a = 1\n', 'restored as an unsaved change only');
});

rig.e2e('Run Codemod asks for its arguments, shows progress, previews the edit, applies it, and undoes it', async () => {
  const files = { 'app.py': 'def greet():\n    return "hi"\n', 'main.py': 'from app import greet\n\nprint(greet())\n' };
  const { dirs, page } = await rig.openShim(shared, files, { open: 'main.py' });

  // The cursor on `greet` in `from app import greet`: old_name comes filled in.
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await rig.runCommand(page, 'SHIM: Run Codemod…');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Rename symbol' }).waitFor();
  assert.match((await rig.quickPickRows(page)).join('\n'), /Rename symbol\s*rename_symbol/, 'a readable title, then the name');
  await rig.shot(page, 'run-codemod');
  // A row cuts the description off; its info button gives all of it, and the list stays.
  const unittestRow = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'unittest_to_assert' });
  await unittestRow.hover();
  await unittestRow.locator('.codicon-info').click();
  const about = page.locator('.monaco-dialog-box');
  await about.waitFor();
  assert.match(await about.innerText(), /assertRaises blocks into pytest\.raises\./, 'the whole description');
  await rig.shot(page, 'run-codemod-description');
  await about.locator('a.monaco-button', { hasText: 'Cancel' }).click();
  await about.waitFor({ state: 'hidden' });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'rename_symbol' }).waitFor();
  await rig.pick(page, 'rename_symbol');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Rename symbol: old_name' }).waitFor();
  assert.equal(await page.locator('.quick-input-widget input').inputValue(), 'app.greet');
  assert.match(await page.locator('.quick-input-widget .quick-input-message').innerText(), /Rename a symbol by qualified name .* scope-aware\./);
  await rig.shot(page, 'run-codemod-old-name');
  await page.keyboard.press('Enter');
  await rig.answer(page, 'Rename symbol: new_name', 'welcome');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Rename symbol: where' }).waitFor();
  const scopes = await rig.quickPickRows(page);
  assert.match(scopes[0], /The whole workspace/, 'a rename applies to the whole workspace first');
  assert.doesNotMatch(scopes.join('\n'), /This file's folder/, 'no folder choice when it is the workspace root');
  await rig.pick(page, 'The whole workspace');
  await rig.pick(page, 'Preview the changes');

  // VS Code's Refactor Preview: changes that need confirmation start unticked.
  const fileRow = (name) => page.locator(`.monaco-list-row[role="checkbox"][aria-label^="${name}, making text edits"]`);
  await fileRow('app.py').waitFor({ timeout: 60_000 });
  assert.equal(await rig.editorText(page), files['main.py'], 'nothing changes before the preview is applied');
  for (const name of ['app.py', 'main.py']) {
    await fileRow(name).locator('input.edit-checkbox').check();
  }
  await page.locator('.buttons a.monaco-button', { hasText: /^Apply$/ }).click();
  await rig.waitFor('the renamed call in the editor', async () => (await rig.editorText(page)).includes('from app import welcome'));
  const done = rig.toast(page, 'Renamed app.greet → welcome in 2 files');
  await done.waitFor();
  assert.doesNotMatch(await done.innerText(), /\b0 \w+/, 'no zero counters');
  assert.equal(await done.locator('a.monaco-button', { hasText: 'Show Changes' }).count(), 1);
  await rig.shot(page, 'run-codemod-result');

  await done.locator('a.monaco-button', { hasText: 'Undo' }).click();
  await rig.waitFor('the rename undone', async () => (await rig.editorText(page)).includes('from app import greet'));
  await rig.toast(page, 'SHIM undid the codemod in 2 files').waitFor();
  // Back as they were: the files on disk, and no editor left dirty with the file's own text.
  for (const [name, text] of Object.entries(files)) {
    assert.equal(readFileSync(rig.path.join(dirs.workspace, name), 'utf8'), text, `${name} on disk as before`);
  }
  await rig.waitFor('no editor dirty after the undo', async () => (await page.locator('.tab.dirty').count()) === 0);
  await page.locator('.tab.active', { hasText: /^main\.py/ }).waitFor();
});

rig.e2e('a long codemod run shows its progress in a notification, and Cancel stops it with nothing changed', async () => {
  const files = { 'app.py': 'def greet():\n    return "hi"\n' };
  for (let i = 0; i < 1500; i++) {
    files[`use_${i}.py`] = `from app import greet\n\n\ndef call_${i}():\n    return greet()\n`;
  }
  const { dirs, page } = await rig.openShim(shared, files);

  await renameGreetToWelcome(page, 'Apply now');

  const progress = rig.toast(page, 'SHIM: Rename symbol');
  await rig.waitFor('files counted in the progress notification', async () => /[1-9]\d*\/1501 files/.test(await progress.innerText()));
  await progress.locator('a.monaco-button', { hasText: 'Cancel' }).click();
  await rig.toast(page, 'SHIM: Rename symbol cancelled; nothing was changed').waitFor({ timeout: 60_000 });
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'use_7.py'), 'utf8'), files['use_7.py']);
  assert.equal(await page.locator('.tab.dirty').count(), 0, 'no editor was changed');
});

rig.e2e('clicking the status bar shows the session; server settings restart it, others apply at once', async () => {
  // A server command ID is a VS Code command of vscode-languageclient's: it sends its argument on as is.
  const keybindings = [{ key: 'ctrl+alt+shift+k', command: 'shim.forceCheckpoint', args: { label: 'from a keybinding' } }];
  const { codeServer, dirs, page } = await rig.openShim(shared, { 'app.py': 'a = 1\n' }, { open: 'app.py', keybindings });
  const item = rig.statusItem(page);
  assert.match((await item.innerText()).trim(), /^SHIM: protected$/, 'typed work is protected before any checkpoint');
  await rig.typeAtEnd(page, 'b = 2\n');
  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'lunch');
  await rig.toast(page, 'SHIM saved a checkpoint "lunch"').waitFor();
  await rig.waitFor('the status bar to say SHIM saved', async () => /^SHIM: saved (just now|\d+ s ago)$/.test((await item.innerText()).trim()));
  await item.hover();
  const tooltip = page.locator('.monaco-hover', { hasText: 'Checkpoint Now' });
  await tooltip.waitFor();
  assert.match(await tooltip.innerText(), /Browse Checkpoints[\s\S]*Pause Automatic/);
  await rig.shot(page, 'status-bar-tooltip');
  await page.mouse.move(700, 400);

  await item.click();
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await rows.filter({ hasText: 'Risk of losing work: low' }).waitFor();
  await rig.waitFor('the unsaved buffer in the status', async () =>
    (await rows.allInnerTexts()).some((t) => /1 file open, 1 with unsaved changes/.test(t)),
  );
  const shown = (await rows.allInnerTexts()).join('\n');
  assert.match(shown, /Last checkpoint: (just now|\d+ s ago) "lunch"/);
  assert.doesNotMatch(shown, /NaN|Invalid Date|session [0-9a-f]{8}|pid/);
  await rig.shot(page, 'session-status');
  await rig.pick(page, 'Risk of losing work');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Crash-Risk Signals' }).waitFor();
  const signals = (await rig.quickPickRows(page)).join('\n');
  assert.match(signals, /Server memory[\s\S]*\d+ MB, high at 1 GB/);
  assert.match(signals, /Editor process[\s\S]*running/);
  assert.doesNotMatch(signals, /%/);
  assert.match(signals, /Oldest change not in a checkpoint[\s\S]*(none|less than a minute old|\d+ min old), high at 30 min/);
  assert.doesNotMatch(signals, /\b0 min old|\d\.0 [KM]B/, 'no "0 min", no ".0"');
  await rig.shot(page, 'crash-risk-signals');
  await page.keyboard.press('Escape');

  await item.click();
  await rig.pick(page, 'Pause Automatic Checkpoints');
  await rig.toast(page, 'automatic checkpoints are paused').waitFor();
  await rig.waitFor('the status bar to show the pause', async () => /^SHIM: saved .* · paused$/.test((await item.innerText()).trim()));
  await rig.shot(page, 'status-bar-paused');
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill('>SHIM: Automatic Checkpoints');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Resume Automatic Checkpoints' }).waitFor();
  assert.doesNotMatch((await rig.quickPickRows(page)).join('\n'), /Pause Automatic|Toggle/, 'the palette shows the toggle as its state');
  await page.keyboard.press('Escape');

  // A server setting: SHIM starts a new server.
  const [before] = await rig.shimServerPids(codeServer);
  await rig.editUserSettings(page, { 'shim.server.logLevel': 'info' });
  await rig.waitFor('a new server after the change', async () => {
    const pids = await rig.shimServerPids(codeServer);
    return pids.length === 1 && pids[0] !== before;
  });
  await rig.waitFor('the status bar back', async () => /SHIM: (saved|protected)/.test(await rig.statusItem(page).innerText()));

  // Any other setting is pulled by the running server: no restart.
  let running;
  await rig.waitFor('the one server running', async () => {
    const pids = await rig.shimServerPids(codeServer);
    running = pids[0];
    return pids.length === 1;
  });
  await rig.editUserSettings(page, { 'shim.server.logLevel': 'info', 'shim.autoCheckpoint': false });
  await rig.statusItem(page).click();
  await rig.waitFor('the new setting in the status', async () => {
    const texts = await rows.allInnerTexts();
    if (texts.some((t) => t.includes('Resume Automatic Checkpoints'))) {
      return true;
    }
    await page.keyboard.press('Escape');
    await rig.statusItem(page).click();
    return false;
  });
  assert.deepEqual(await rig.shimServerPids(codeServer), [running], 'the same server');
  await page.keyboard.press('Escape');

  // A value SHIM cannot use: its message goes by; the status bar item says so until it is mended.
  await rig.editUserSettings(page, { 'shim.server.logLevel': 'info', 'shim.autoCheckpoint': false, 'shim.checkpointInterval': -5 });
  await rig.waitFor('the setting on the status bar', async () => /·\s*settings$/.test((await rig.statusItem(page).innerText()).trim()));
  await rig.statusItem(page).hover();
  const notApplied = page.locator('.monaco-hover', { hasText: 'not applied' });
  await notApplied.waitFor();
  assert.match(await notApplied.innerText(), /1 setting not applied[\s\S]*'checkpointInterval': -5 cannot be used[\s\S]*Open Settings/);
  await rig.shot(page, 'status-bar-settings');
  await page.mouse.move(700, 400);
  await rig.editUserSettings(page, { 'shim.server.logLevel': 'info', 'shim.autoCheckpoint': false });
  await rig.waitFor('the sign gone once mended', async () => !/settings/.test(await rig.statusItem(page).innerText()));

  // After two servers, the server's commands are still vscode-languageclient's, and never
  // claimed twice: the extension's commands have IDs of their own.
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Alt+Shift+K');
  await rig.waitFor('the checkpoint taken through the server command ID', async () =>
    (await rig.shimCli(dirs, 'checkpoints')).some((c) => c.label === 'from a keybinding'),
  );
  const logs = rig.vscodeLogs(dirs);
  assert.match(logs, /SHIM checkpoint 'from a keybinding'/, "the server's own log line, in SHIM's output channel");
  assert.doesNotMatch(logs, /already exists|already registered/i, 'no command registered twice');
});

rig.e2e('Compare with Checkpoint diffs against a named checkpoint; Clear State asks first, then forgets it', async () => {
  const { page } = await rig.openShim(shared, { 'app.py': 'a = 1\n' }, { open: 'app.py' });
  await rig.runCommand(page, 'SHIM: Recover Unsaved Work…');
  await rig.toast(page, 'SHIM: no unsaved work from crashed sessions').waitFor();

  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'release 1');
  await rig.toast(page, '"release 1"').waitFor();
  await rig.typeAtEnd(page, "b = 'since the release'\n");

  await rig.runCommand(page, 'SHIM: Compare with Checkpoint…');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'release 1' }).waitFor();
  const listed = (await rig.quickPickRows(page)).join('\n');
  assert.match(listed, /release 1 · (just now|\d+ s ago)\s*app\.py 1 line, the oldest version/, "what the checkpoint holds of the file, in lines");
  assert.match(listed, /Today/, 'grouped by day');
  await rig.shot(page, 'compare-with-checkpoint');
  await rig.pick(page, 'release 1');
  await page.locator('.tab.active', { hasText: /^app\.py \(release 1 · \d{2}:\d{2}\) ↔ app\.py/ }).waitFor();
  await rig.waitFor('the checkpoint (left) against the editor (right)', async () =>
    (await rig.editorText(page, 'original')) === 'a = 1\n' && (await rig.editorText(page, 'modified')).includes("b = 'since the release'"),
  );
  await rig.shot(page, 'compare-with-checkpoint-diff');

  await rig.runCommand(page, 'SHIM: Clear History…');
  await rig.pick(page, "This workspace's history");
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /cannot be brought back/);
  await dialog.locator('a.monaco-button', { hasText: /^Clear$/ }).click();
  await rig.toast(page, 'SHIM forgot').filter({ hasText: '1 checkpoint and' }).waitFor();

  await page.locator('.tab', { hasText: /^app\.py$/ }).first().click();
  await rig.runCommand(page, 'SHIM: Browse Checkpoints…');
  await rig.toast(page, 'SHIM has no checkpoint of app.py yet.').waitFor();

  // The output channel: one timestamp per line, counts that read right.
  await rig.runCommand(page, 'SHIM: Show Output');
  const output = page.locator('.panel .monaco-editor .view-lines');
  const outputText = async () => (await output.innerText()).replace(/\u00a0/g, ' ');
  await rig.waitFor('the checkpoint in the output', async () => /SHIM checkpoint 'release 1'/.test(await outputText()));
  const lines = (await outputText()).split('\n').filter((l) => l.trim() !== '');
  for (const line of lines) {
    assert.ok((line.match(/\d{1,2}:\d{2}:\d{2}/g) ?? []).length <= 1, `one timestamp: ${line}`);
  }
  assert.doesNotMatch(lines.join('\n'), /\b1 files\b|\b1 unsaved buffers\b|unknown message id/);
  assert.doesNotMatch(lines.join('\n'), /file:\/\/|checkpoint \d+/, 'workspace paths and labels, no URIs or store ids');
  await rig.shot(page, 'output-channel');
});

rig.e2e("a codemod's quick fix changes the line under the cursor, and is not offered where it changes nothing", async () => {
  const text = 'import unittest\n\n\nclass T(unittest.TestCase):\n    def test_one(self):\n        self.assertEqual(1, 1)\n\n    def test_two(self):\n        self.assertTrue(2)\n';
  const { page } = await rig.openShim(shared, { 'test_a.py': text }, { open: 'test_a.py' });
  const goToLine = async (line) => {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').fill(`:${line}:12`);
    await page.keyboard.press('Enter');
  };
  const codeActions = page.locator('.action-widget');
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();

  await goToLine(1);
  await page.keyboard.press('Control+.');
  await rig.waitFor('the code action menu, or its "none" message', async () =>
    (await codeActions.count()) > 0 || (await page.locator('.monaco-editor-overlaymessage').count()) > 0,
  );
  await page.waitForTimeout(1500); // actions computed late would show by now
  assert.equal(await page.locator('.action-widget', { hasText: 'Apply codemod' }).count(), 0, 'nothing offered on the import line');
  await page.keyboard.press('Escape');

  await goToLine(9);
  await rig.quickFix(page, 'Apply codemod: unittest assertions to plain assert');
  assert.equal(await page.locator('.action-widget .monaco-list-row', { hasText: 'whole file' }).count(), 0, 'the whole-file rewrite is a source action');
  await rig.shot(page, 'codemod-quick-fix');
  // The only row is focused; clicks on it are intercepted by the widget's pointer block.
  await page.keyboard.press('Enter');
  await rig.waitFor('line 9 rewritten, and only it', async () => {
    const now = await rig.editorText(page);
    return now.includes('assert 2') && now.includes('self.assertEqual(1, 1)');
  });
});

rig.e2e('Analyse Workspace lists a file never opened in Problems; a ruff quick fix from the light bulb; fix all on save; type checks turned on show mypy\'s error', async () => {
  // mypy's daemon beside the Python that has SHIM's test tools (the bundled server has none).
  const dmypy = rig.path.join(rig.path.dirname(rig.PYTHON), 'dmypy');
  const { dirs, page } = await rig.openShim(
    shared,
    { 'app.py': 'import os\n\nvalue = 1\n', 'unopened.py': 'print(undefined_name)\n', 'typed.py': 'count: int = "three"\n' },
    {
      open: 'app.py',
      settings: {
        'editor.codeActionsOnSave': { 'source.fixAll.shim': 'explicit' },
        'shim.typeCheckEnabled': true,
        'shim.typeCheckerPath': dmypy,
      },
    },
  );
  await rig.runCommand(page, 'SHIM: Analyse Workspace');
  await page.keyboard.press('Control+Shift+M');
  const never = page.locator('.markers-panel .monaco-list-row', { hasText: 'Undefined name `undefined_name`' });
  await never.waitFor();
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'unopened.py' }).first().waitFor();
  await rig.toast(page, 'SHIM: 2 findings in 2 files; see Problems').waitFor(); // as Problems counts
  await rig.shot(page, 'analyse-workspace-problems');

  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await rig.chooseQuickFix(page, 'Ruff F401: Remove unused import: `os`');
  await rig.waitFor('the import removed from the buffer', async () => !(await rig.editorText(page)).includes('import os'));
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), 'import os\n\nvalue = 1\n', 'a quick fix does not save');

  await rig.typeAtEnd(page, 'import re\n');
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active:not(.dirty)', { hasText: 'app.py' }).waitFor();
  const saved = readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8');
  assert.ok(!saved.includes('import') && saved.includes('value = 1'), `fixed on save: ${JSON.stringify(saved)}`);
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'unopened.py'), 'utf8'), 'print(undefined_name)\n', 'analysis writes nothing');

  // Type checks (on through the settings): mypy's error in the file opened, in Problems.
  await rig.openFile(page, 'typed.py');
  await page.keyboard.press('Control+Shift+M');
  const typed = page.locator('.markers-panel .monaco-list-row', { hasText: 'Incompatible types in assignment' });
  await typed.waitFor({ timeout: 90_000 });
  assert.match(await typed.innerText(), /expression has type "str", variable has type "int"[\s\S]*SHIM mypy/);
  await rig.shot(page, 'type-check-problems');
});

rig.e2e('work at risk: a plain warning that SHIM took a checkpoint, and Save All saves', async () => {
  const { dirs, page } = await rig.openShim(shared, { 'app.py': 'a = 1\n' }, { open: 'app.py', settings: { 'shim.riskUnsavedKb': 0.01 } });
  // One change (a paste): typing on past the risk checkpoint would keep the risk high until
  // the idle checkpoint, which this test does not wait for.
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText("b = 'enough unsaved text to be at risk'\n");
  const warning = rig.toast(page, 'Your unsaved work in 1 file was at risk');
  await warning.waitFor({ timeout: 60_000 });
  assert.match(await warning.innerText(), /\(unsaved text not in a checkpoint \d+ B, high at 10 B\)\. SHIM took a checkpoint of it\. Save your files/);
  await rig.shot(page, 'risk-warning');
  // The checkpoint holds the text: the risk falls, the status bar loses its colour.
  await rig.waitFor('the status bar back to its plain colour', async () => {
    const classes = (await rig.statusItem(page).getAttribute('class')) ?? '';
    return !/warning-kind|error-kind/.test(classes);
  });
  await warning.locator('a.monaco-button', { hasText: 'Save All' }).click();
  await rig.waitFor('the file saved', async () => readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8').includes('enough unsaved text'));
  await page.locator('.tab.active:not(.dirty)', { hasText: 'app.py' }).waitFor();
});

rig.e2e('Apply now saves what it changes except editors unsaved before; Show Changes keeps Undo; a spent Undo says so', async () => {
  const files = {
    'app.py': 'def greet():\n    return "hi"\n',
    'main.py': 'from app import greet\n\nprint(greet())\n',
    'util.py': 'from app import greet\n\nGREETING = greet()\n',
  };
  const { dirs, page } = await rig.openShim(shared, files, { open: 'util.py' });
  await rig.typeAtEnd(page, '# typed, not saved\n');
  await page.locator('.tab.dirty', { hasText: 'util.py' }).waitFor();
  await rig.openFile(page, 'main.py');

  await renameGreetToWelcome(page, 'Apply now');
  const done = rig.toast(page, 'Renamed app.greet → welcome in 3 files');
  await done.waitFor({ timeout: 60_000 });
  // app.py was not open: written, and not opened; main.py was clean: saved; util.py keeps its unsaved work.
  for (const name of ['app.py', 'main.py']) {
    await rig.waitFor(`${name} written`, async () => readFileSync(rig.path.join(dirs.workspace, name), 'utf8').includes('welcome'));
  }
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'util.py'), 'utf8'), files['util.py'], 'an editor unsaved before is not saved for the user');
  await rig.waitFor('only util.py left unsaved', async () => {
    const dirty = await page.locator('.tab.dirty').allInnerTexts();
    return dirty.length === 1 && dirty[0].includes('util.py');
  });
  assert.equal(await page.locator('.tab', { hasText: /^app\.py/ }).count(), 0, 'a file that was not open stays unopened');
  await rig.shot(page, 'codemod-apply-now');

  // Show Changes opens the diff, and the message comes back with its Undo.
  await done.locator('a.monaco-button', { hasText: 'Show Changes' }).click();
  await rig.pick(page, 'app.py');
  await page.locator('.tab.active', { hasText: /^app\.py \(before the codemod\) ↔ app\.py/ }).waitFor();
  const again = rig.toast(page, 'Renamed app.greet → welcome in 3 files');
  await again.waitFor();
  assert.equal(await again.locator('a.monaco-button', { hasText: 'Undo' }).count(), 1, 'Undo still one click away');
  await rig.shot(page, 'codemod-show-changes-undo');

  // main.py changes after the run: undoing the rename as a whole is refused, in words.
  await page.locator('.tab', { hasText: /^main\.py/ }).first().click();
  await rig.typeAtEnd(page, 'x = welcome()\n');
  await rig.runCommand(page, 'SHIM: Undo Last Codemod');
  const refused = rig.toast(page, 'cannot undo Rename symbol as a whole');
  await refused.waitFor();
  assert.match(await refused.innerText(), /main\.py changed after it, and undoing only the others would leave the project half changed\. Nothing was undone\./);
  assert.equal(await refused.locator('a.monaco-button', { hasText: 'Undo the Others Anyway' }).count(), 1);
  await rig.shot(page, 'codemod-undo-refused');
  await rig.dismissToast(refused);

  // The earlier message's Undo is spent: it says what happened instead of refusing again.
  await again.locator('a.monaco-button', { hasText: 'Undo' }).click();
  const stale = rig.toast(page, 'this Undo no longer applies');
  await stale.waitFor();
  assert.match(await stale.innerText(), /SHIM: this Undo no longer applies\. Undoing Renamed app\.greet → welcome in 3 files was refused at \d{2}:\d{2}: main\.py changed after it\. Nothing was undone\./);
  await rig.shot(page, 'codemod-stale-undo');
  assert.match(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), /def welcome/, 'nothing undone');
});

rig.e2e("an importStrategy that is no strategy is said and listed on the status bar; the editor's own settings.json brings no warning; a killed server is restarted, and said once", async () => {
  const { codeServer, page } = await rig.openShim(shared, { 'app.py': 'a = 1\n' }, { open: 'app.py', machineSettings: { 'shim.importStrategy': 'bundled' } });
  const warning = rig.toast(page, "setting 'importStrategy'");
  await warning.waitFor({ timeout: 60_000 });
  assert.match(
    await warning.innerText(),
    /SHIM: setting 'importStrategy': "bundled" cannot be used \(it must be "useBundled" or "fromEnvironment"\); using the default, "useBundled"/,
  );
  await rig.shot(page, 'import-strategy-warning');
  await rig.waitFor('the setting on the status bar', async () => /·\s*settings$/.test((await rig.statusItem(page).innerText()).trim()));
  await rig.statusItem(page).hover();
  const notApplied = page.locator('.monaco-hover', { hasText: 'not applied' });
  await notApplied.waitFor();
  assert.match(await notApplied.innerText(), /1 setting not applied[\s\S]*'importStrategy': "bundled" cannot be used/);
  await rig.shot(page, 'status-bar-import-strategy');
  await page.mouse.move(700, 400);
  await rig.dismissToast(warning);

  // The user settings.json lives in code-server's user data folder: not the user's work.
  await rig.editUserSettings(page, { 'editor.fontSize': 15 });
  await page.waitForTimeout(2000); // a warning would show by now
  const texts = await page.locator('.notification-toast').allInnerTexts();
  assert.ok(!texts.some((t) => /not protected/.test(t)), `no warning about settings.json: ${texts.join(' | ')}`);

  // The server dies: vscode-languageclient starts a new one, and the user is told once.
  const [first] = await rig.shimServerPids(codeServer);
  process.kill(first, 'SIGKILL');
  const restarted = rig.toast(page, 'its server stopped unexpectedly and was restarted');
  await restarted.waitFor({ timeout: 60_000 });
  assert.match(await restarted.innerText(), /^SHIM: its server stopped unexpectedly and was restarted\. The journal is intact/m);
  await rig.waitFor('the status bar back', async () => /SHIM: (saved|protected)/.test(await rig.statusItem(page).innerText()));
  const [second] = await rig.shimServerPids(codeServer);
  assert.notEqual(second, first, 'a new server runs');
  await rig.shot(page, 'server-restarted');
  await page.waitForTimeout(1500);
  assert.equal(await rig.toast(page, 'stopped unexpectedly').count(), 1, 'said once');
  assert.equal(await rig.toast(page, 'Connection to server got closed').count(), 0, "vscode-languageclient's own words are not shown");
});

rig.e2e('Force Checkpoint in a window with no folder says there is nothing to checkpoint', async () => {
  const dirs = await rig.makeHome({});
  const codeServer = await rig.startCodeServer(dirs, { folder: false });
  const page = await rig.openWorkbench(shared.browser, codeServer, dirs, { folder: false });
  await rig.waitFor('the status bar to say no folder is open', async () => /SHIM: no folder open/.test(await rig.statusItem(page).innerText()), 60_000);
  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  const told = rig.toast(page, 'SHIM: no folder is open, so there is nothing to checkpoint');
  await told.waitFor();
  assert.match(await told.innerText(), /Open a folder to have SHIM protect its files\./);
  assert.equal(await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Force Checkpoint' }).count(), 0, 'no label asked for');
  await rig.shot(page, 'force-checkpoint-no-folder');
});

rig.e2e('an unsaved file over maxFileSize is said not protected on the status bar and in Session Status', async () => {
  const big = 'x = 1\n'.repeat(2000); // 12 KB, over a 4 KB cap
  const { page } = await rig.openShim(shared, { 'big.py': big, 'small.py': 's = 1\n' }, { open: 'big.py', settings: { 'shim.maxFileSize': 4096 } });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.type('# typed\n');
  const told = rig.toast(page, 'big.py is not protected');
  await told.waitFor({ timeout: 60_000 });
  assert.match(await told.innerText(), /^SHIM: big\.py is not protected/m, "SHIM's, and says so");
  const item = rig.statusItem(page);
  await rig.waitFor('the status bar to say so', async () => /SHIM: 1 file not protected/.test(await item.innerText()));
  await item.hover();
  const tooltip = page.locator('.monaco-hover', { hasText: 'not protected' });
  await tooltip.waitFor();
  assert.match(await tooltip.innerText(), /1 file not protected \(over maxFileSize, 4 KB\): save it\./);
  assert.doesNotMatch(await tooltip.innerText(), /holds what you typed/, 'not counted as protected');
  await rig.shot(page, 'status-bar-not-protected');
  await page.mouse.move(700, 400);
  await item.click();
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await rows.filter({ hasText: 'not protected' }).waitFor();
  assert.match((await rows.allInnerTexts()).join('\n'), /1 file not protected \(over maxFileSize, 4 KB\): save it/);
  await rig.shot(page, 'session-status-not-protected');
  await page.keyboard.press('Escape');
});
