// SHIM in real VS Code (code-server 4.100.3 in headless Chromium): what a user sees.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as rig from './rig.mjs';

const ORIGINAL = "def greet():\n    return 'hi'\n";

const shared = rig.useBrowser();

rig.e2e('typed text survives a killed server and a lost window: the recovery prompt brings it back', async () => {
  const opened = await rig.openShim(shared, { 'app.py': ORIGINAL }, { editorBackups: false, open: 'app.py' });
  const { dirs, codeServer } = opened;
  let { page } = opened;
  const status = rig.statusItem(page);

  await rig.typeAtEnd(page, "print('typed in VS Code')\n");
  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'before the crash');
  await rig.toast(page, 'SHIM saved a checkpoint').filter({ hasText: '"before the crash"' }).waitFor();
  await rig.waitFor('the status bar to show the new checkpoint', async () => /SHIM: saved (just now|\d+ s ago)/.test(await status.innerText()));

  await rig.typeAtEnd(page, "x = 'after the checkpoint'\n");
  const typed = ORIGINAL + "print('typed in VS Code')\nx = 'after the checkpoint'\n";
  await rig.waitFor('the editor to hold the typed text', async () => (await rig.editorText(page)) === typed);

  const [killed] = await rig.shimServerPids(codeServer);
  process.kill(killed, 'SIGKILL');
  // VS Code restarts the server and hands it its buffers: the unsaved one is journaled as a
  // snapshot, whatever the killed server had not committed yet (at most one group commit).
  await rig.waitFor('the restarted server to hold the unsaved buffer', async () =>
    (await rig.shimCli(dirs, 'history', rig.path.join(dirs.workspace, 'app.py'))).some((i) => i.kind === 'snapshot'),
  );
  await rig.waitFor('the status bar to come back', async () => /SHIM: saved/.test(await status.innerText()));
  // SHIM's output channel names the new server, and only in words a user reads.
  await rig.waitFor('the restart in the output channel', async () => /SHIM server running again \(pid \d+\)/.test(rig.vscodeLogs(dirs)));
  assert.doesNotMatch(rig.vscodeLogs(dirs), /\[(info|warning|error)\] (true|false)$/m, 'no stray value logged on the restart');

  // The window goes; VS Code has no backup of its own of the unsaved editor.
  await rig.closeWindow(page, codeServer);
  page = await rig.openWorkbench(shared.browser, codeServer, dirs);
  await rig.openFile(page, 'app.py');
  assert.equal(await rig.editorText(page), ORIGINAL, 'VS Code itself no longer has the typed text');

  const prompt = rig.toast(page, 'Unsaved changes to 1 file');
  await prompt.waitFor({ timeout: 60_000 });
  assert.match(
    await prompt.innerText(),
    /Unsaved changes to 1 file \(app\.py\) from a window that closed unexpectedly (just now|\d+ s ago|\d+ min ago)\. Dismiss keeps them in SHIM's history\./,
  );
  for (const button of ['Review', 'Restore All', 'Dismiss']) {
    assert.equal(await prompt.locator('a.monaco-button', { hasText: button }).count(), 1, `the prompt offers ${button}`);
  }
  const recover = rig.recoveryItem(page);
  assert.match(await recover.innerText(), /Recover 1 file/);
  await rig.shot(page, 'recovery-prompt');
  await prompt.locator('a.monaco-button', { hasText: 'Restore All' }).click();
  await rig.waitFor('the typed text back in the editor', async () => (await rig.editorText(page)) === typed);
  await recover.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('.tab.active.dirty').count(), 1, 'restored as an unsaved change');
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), ORIGINAL, 'the file on disk is untouched');
});

rig.e2e('Review lists the files; each opens a diff of disk against the recovered text, with a restore action', async () => {
  const files = { 'app.py': ORIGINAL, 'other.py': 'y = 1\n', 'untouched.py': 'u = 1\n' };
  const opened = await rig.openShim(shared, files, { editorBackups: false, open: 'app.py' });
  const { dirs, codeServer } = opened;
  let { page } = opened;
  await rig.typeAtEnd(page, "z = 'only in the buffer'\n");
  await rig.openFile(page, 'other.py');
  await rig.typeAtEnd(page, "w = 'also unsaved'\n");
  // Keystrokes reach SHIM through VS Code's extension host: the window must not close before
  // they have arrived (what never reached SHIM, SHIM cannot keep).
  for (const [name, typed] of [['app.py', "z = 'only in the buffer'\n"], ['other.py', "w = 'also unsaved'\n"]]) {
    await rig.waitFor(`SHIM's journal to hold ${name} as typed`, async () => (await rig.journaledText(dirs, name))?.endsWith(typed));
  }
  await rig.closeWindow(page, codeServer);

  page = await rig.openWorkbench(shared.browser, codeServer, dirs);
  const prompt = rig.toast(page, 'Unsaved changes to 2 files');
  await prompt.waitFor({ timeout: 60_000 });
  // The notification closed without an answer: the status bar item still offers the work.
  await prompt.hover();
  await prompt.locator('.codicon-notifications-clear').click();
  await prompt.waitFor({ state: 'hidden' });
  const recover = rig.recoveryItem(page);
  assert.match(await recover.innerText(), /Recover 2 files/);
  await rig.shot(page, 'recovery-status-item');
  await recover.click();
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await rig.waitFor('what each file would get back, in lines', async () =>
    (await rows.allInnerTexts()).filter((t) => /\+1 line against the file on disk/.test(t)).length === 2,
  );
  assert.deepEqual(
    (await rows.allInnerTexts()).map((t) => t.match(/\w+\.py/)[0]).sort(),
    ['app.py', 'other.py'],
    'the files with unsaved work, and only those',
  );
  for (const title of ['Restore All', "Dismiss (kept in SHIM's history)"]) {
    assert.equal(await page.locator(`.quick-input-widget .quick-input-titlebar [aria-label="${title}"]`).count(), 1, `${title} in the title bar`);
  }
  await rig.shot(page, 'recovery-review');

  // A row's own button restores that file at once and takes it off the list.
  await rows.filter({ hasText: 'other.py' }).hover();
  await rows.filter({ hasText: 'other.py' }).locator('[aria-label="Restore this file"]').click();
  await rig.toast(page, 'SHIM restored unsaved work in other.py').waitFor();
  await rig.waitFor('other.py off the list', async () => (await rows.count()) === 1);
  await rig.waitFor('the status bar item to count what is left', async () => /Recover 1 file/.test(await recover.innerText()));
  // Escape loses nothing: the status bar item opens the rest of the list again.
  await page.keyboard.press('Escape');
  await rows.first().waitFor({ state: 'hidden' });
  await recover.click();
  await rows.filter({ hasText: 'app.py' }).waitFor();
  await page.locator('.quick-input-widget input').focus();
  await page.keyboard.press('Enter');

  // The file on the left (on disk here), the recovered text on the right.
  await page.locator('.tab.active', { hasText: /^app\.py \(on disk\) ↔ app\.py \(recovered, edited \d{2}:\d{2}\)$/ }).waitFor();
  await rig.waitFor('the diff to show both sides', async () =>
    (await rig.editorText(page, 'modified')).includes("z = 'only in the buffer'") &&
    (await rig.editorText(page, 'original')) === ORIGINAL,
  );
  // The list does not lie over the diff: the diff's title bar leads back to it.
  await rows.first().waitFor({ state: 'hidden' });
  assert.equal(await page.locator('.editor-actions [aria-label*="Review Unsaved Work from Closed Windows"]').count(), 1, 'the way back to the list');
  await rig.shot(page, 'recovery-diff');
  await page.locator('.editor-actions [aria-label*="Restore Recovered Text"]').first().click();
  await rig.toast(page, 'SHIM restored unsaved work in app.py').waitFor();
  // The diff closes; the restored file comes forward.
  await page.locator('.tab.active', { hasText: /^app\.py/ }).waitFor();
  await rig.waitFor('the recovery diff closed', async () => (await page.locator('.tab', { hasText: '↔' }).count()) === 0);
  await rig.waitFor('the recovered text in the editor', async () => (await rig.editorText(page)).includes("z = 'only in the buffer'"));
  await recover.waitFor({ state: 'hidden' });
  await page.locator('.tab', { hasText: /^other\.py/ }).first().click();
  await rig.waitFor('the other recovered text in its editor', async () => (await rig.editorText(page)).includes("w = 'also unsaved'"));
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), ORIGINAL, 'the file on disk is untouched');
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'other.py'), 'utf8'), files['other.py'], 'the file on disk is untouched');
});

rig.e2e("two windows through Redis: a file unsaved in one is flagged in the other; once closed, its unsaved work is a notice in Problems and on the file's first line, with Compare and Restore in its light bulb", async () => {
  const redis = await rig.startRedis();
  const settings = { 'shim.redisUrl': redis.url };
  const opened = await rig.openShim(shared, { 'app.py': ORIGINAL }, { editorBackups: false, open: 'app.py', settings });
  const { dirs, codeServer } = opened;
  let { page } = opened;
  // A second window on the same folder: its own extension host, so its own SHIM server, and
  // the two are one group through Redis.
  const other = await rig.openWorkbench(shared.browser, codeServer, dirs);
  await rig.waitFor('a SHIM server for each window', async () => (await rig.shimServerPids(codeServer)).length === 2, 60_000);
  for (const window of [page, other]) {
    await rig.waitFor('the status bar to show the group of two windows', async () => /SHIM: .* ·\s+2 windows/.test(await rig.statusItem(window).innerText()), 60_000);
  }
  await rig.typeAtEnd(page, "z = 'only in the buffer'\n");
  await other.keyboard.press('Control+Shift+M');
  const elsewhere = other.locator('.markers-panel .monaco-list-row', { hasText: 'Unsaved changes in another window' });
  await elsewhere.waitFor();
  assert.match(await elsewhere.innerText(), /Unsaved changes in another window \([^,]+, \d+ s old\)/);
  assert.equal(await other.locator('.markers-panel .monaco-list-row', { hasText: 'app.py' }).count(), 1, 'flagged on app.py, never opened in this window');
  await rig.waitFor('the status bar to count the file unsaved elsewhere', async () => /·\s+2 windows ·\s+1 unsaved elsewhere/.test(await rig.statusItem(other).innerText()));
  assert.doesNotMatch(await rig.statusItem(page).innerText(), /unsaved elsewhere/, 'a window does not count its own unsaved file');
  await rig.shot(other, 'unsaved-in-another-window');
  await other.context().close();
  await rig.waitFor("SHIM's journal to hold app.py as typed", async () => (await rig.journaledText(dirs, 'app.py'))?.endsWith("z = 'only in the buffer'\n"));
  await rig.closeWindow(page, codeServer);

  page = await rig.openWorkbench(shared.browser, codeServer, dirs);
  const prompt = rig.toast(page, 'Unsaved changes to 1 file');
  await prompt.waitFor({ timeout: 60_000 });
  await prompt.hover();
  await prompt.locator('.codicon-notifications-clear').click();

  // Problems lists the file before it is opened.
  await page.keyboard.press('Control+Shift+M');
  const notice = page.locator('.markers-panel .monaco-list-row', { hasText: 'Unsaved work from a session that ended' });
  await notice.waitFor();
  assert.match(await notice.innerText(), /Unsaved work from a session that ended \d\d:\d\d: \+1 line against the file on disk/);

  await rig.openFile(page, 'app.py');
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  const actions = page.locator('.action-widget .monaco-list-row');
  await rig.quickFix(page, 'Restore unsaved work');
  for (const title of ['Restore unsaved work', 'Compare with recovered text', 'Dismiss unsaved work in this file']) {
    await actions.filter({ hasText: title }).waitFor();
  }
  await rig.shot(page, 'recovery-light-bulb');
  await page.keyboard.press('Escape');

  await rig.chooseQuickFix(page, 'Compare with recovered text');
  await page.locator('.tab.active', { hasText: /^app\.py \(open editor\) ↔ app\.py \(recovered/ }).waitFor();
  await rig.waitFor('the diff to show the recovered text', async () => (await rig.editorText(page, 'modified')).includes("z = 'only in the buffer'"));
  await rig.shot(page, 'recovery-light-bulb-diff');
  await page.keyboard.press('Control+W');

  await rig.waitFor('the recovery diff closed', async () => (await page.locator('.tab', { hasText: '↔' }).count()) === 0);
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  await rig.chooseQuickFix(page, 'Restore unsaved work');
  await rig.waitFor('the recovered text in the editor', async () => (await rig.editorText(page)).includes("z = 'only in the buffer'"));
  await notice.waitFor({ state: 'hidden' });
  assert.equal(readFileSync(rig.path.join(dirs.workspace, 'app.py'), 'utf8'), ORIGINAL, 'the file on disk is untouched');
});
